//! `cti-gateway demo`: the PBX simulator with its demo directory and random calls, and a
//! gateway in front of it, all on loopback.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use pbx_soap::sim::{Directory, Sim, SimConfig, TrafficConfig};

use crate::cli::EXIT_UNAVAILABLE;
use crate::config::{Config, Sources};
use crate::daemon::Gateway;

/// Settings of the demo.
#[derive(Clone, Debug)]
pub struct DemoSettings {
    /// Where CSTA clients connect.
    pub listen: SocketAddr,
    /// Where the admin endpoint listens (`None`: off).
    pub admin: Option<SocketAddr>,
    /// Random calls per second (0: none).
    pub rate: f64,
    /// Seed of the random calls.
    pub seed: u64,
}

/// The gateway configuration of the demo: the simulator as PBX, one listener that needs no
/// login (loopback only) and grants every right.
pub fn config(sim_url: &str, settings: &DemoSettings) -> String {
    let admin = settings
        .admin
        .map(|address| format!("[admin]\naddress = \"{address}\"\n"))
        .unwrap_or_default();
    format!(
        r#"
[pbx.demo]
url = "{sim_url}"
username = "admin"
password = "ip800"
monitor_user = "_TAPI_"
reconnect_min = "200ms"
reconnect_max = "5s"

[listener.csta]
address = "{listen}"
anonymous_user = "demo"

[user.demo]
view = ["*"]
monitor = ["*"]
control = ["*"]
forward = ["*"]

{admin}
"#,
        listen = settings.listen,
    )
}

/// Runs the demo until Ctrl-C.
pub async fn run(settings: DemoSettings) -> ExitCode {
    let signal = match crate::signal::ShutdownSignal::install() {
        Ok(signal) => signal,
        Err(error) => {
            eprintln!("cannot install signal handlers: {error}");
            return ExitCode::FAILURE;
        }
    };
    let sim = match Sim::start(SimConfig::default(), Directory::demo()).await {
        Ok(sim) => sim,
        Err(error) => {
            eprintln!("cannot start the PBX simulator: {error}");
            return ExitCode::from(EXIT_UNAVAILABLE);
        }
    };
    let config = match Config::load(&Sources::from_toml(&config(&sim.url(), &settings))) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("demo configuration: {errors}");
            return ExitCode::FAILURE;
        }
    };
    let gateway = match Gateway::start(config).await {
        Ok(gateway) => gateway,
        Err(error) => {
            eprintln!("cannot start the gateway: {error}");
            sim.shutdown().await;
            return ExitCode::from(EXIT_UNAVAILABLE);
        }
    };
    let in_service = gateway.wait_in_service(Duration::from_secs(30)).await;
    let address = gateway
        .csta_address()
        .map_or_else(String::new, |address| address.to_string());
    println!("cti-gateway demo");
    println!("  PBX simulator   {}", sim.url());
    println!(
        "  CSTA (no login) {address}   {} lines{}",
        gateway.registry().line_count(),
        if in_service {
            " in service"
        } else {
            " (not all in service yet)"
        }
    );
    if let Some(admin) = gateway.admin_address() {
        println!("  admin           http://{admin}/  (/healthz /readyz /metrics /status)");
    }
    println!("try, in another terminal:");
    println!("  cti-gateway devices -g {address}");
    println!("  cti-gateway monitor 201 202 -g {address}");
    println!("  cti-gateway call 201 202 -g {address}");
    println!("  cti-gateway answer 202 -g {address}");
    println!("  cti-gateway hangup 201 -g {address}");
    let traffic = (settings.rate > 0.0).then(|| {
        println!(
            "random calls: {} per second (seed {})",
            settings.rate, settings.seed
        );
        sim.start_traffic(TrafficConfig {
            rate_per_sec: settings.rate,
            seed: settings.seed,
            ..TrafficConfig::default()
        })
    });
    println!("Ctrl-C stops the demo.");
    let clean = gateway.run_until(signal.recv()).await;
    if let Some(traffic) = traffic {
        traffic.stop().await;
    }
    sim.shutdown().await;
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
