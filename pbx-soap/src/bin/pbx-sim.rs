//! `pbx-sim`: the PBX simulator as a standalone program.
//!
//! Prints one line `listening on <SOAP URL>` on stdout once it accepts connections, logs to
//! stderr, and runs until Ctrl-C or SIGTERM. Exit codes: 0 after a clean stop, 64 for unusable
//! arguments or files, 1 when the server cannot start.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use pbx_soap::envelope::ArrayNaming;
use pbx_soap::sim::{AuthMode, Directory, Sim, SimConfig, TlsPem, TrafficConfig};
use tracing::{error, info};
use tracing_subscriber::EnvFilter;

/// Exit code for bad arguments or files (BSD `EX_USAGE`).
const EXIT_USAGE: u8 = 64;

/// A simulated innovaphone PBX serving the SOAP API (`/PBX0/user.soap`).
#[derive(Debug, Parser)]
#[command(name = "pbx-sim", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Directory TOML file; the built-in demo PBX without it.
    #[arg(long)]
    directory: Option<PathBuf>,
    /// Path of the SOAP endpoint.
    #[arg(long, default_value = "/PBX0/user.soap")]
    path: String,
    /// This PBX's location name.
    #[arg(long, default_value = "master")]
    location: String,
    /// SOAP URL of another location, for LocationUrl (repeatable).
    #[arg(long = "location-url", value_name = "NAME=URL", value_parser = parse_location)]
    location_urls: Vec<(String, String)>,
    /// Administrator login.
    #[arg(long, default_value = "admin")]
    admin_user: String,
    /// Administrator password.
    #[arg(
        long,
        env = "PBX_SIM_ADMIN_PASSWORD",
        default_value = "ip800",
        hide_env_values = true
    )]
    admin_password: String,
    /// Challenge with HTTP Digest instead of Basic (Basic is then refused).
    #[arg(long)]
    digest: bool,
    /// Serve HTTPS with a fresh self-signed certificate (unless --cert/--key are given).
    #[arg(long)]
    tls: bool,
    /// PEM certificate chain for HTTPS.
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
    /// Seconds a Poll waits for records before it returns empty.
    #[arg(long, default_value = "60", value_parser = parse_seconds)]
    poll_timeout: Duration,
    /// Most records one Poll returns.
    #[arg(long, default_value_t = 100)]
    poll_batch: usize,
    /// Seconds a session outlives its last HTTP connection.
    #[arg(long, default_value = "10", value_parser = parse_seconds)]
    session_expiry: Duration,
    /// Seconds a call rings before a no-answer forward applies.
    #[arg(long, default_value = "20", value_parser = parse_seconds)]
    no_answer: Duration,
    /// Array member names in rpc/encoded answers.
    #[arg(long, value_enum, default_value = "observed")]
    naming: Naming,
    /// Generate random calls at this rate (calls per second).
    #[arg(long, value_name = "CALLS_PER_SEC")]
    traffic: Option<f64>,
    /// Seed of the traffic generator and of session keys.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Naming {
    /// Member names as observed on real PBXs.
    Observed,
    /// Every member named `item`, as the WSDL declares.
    Item,
}

fn parse_seconds(value: &str) -> Result<Duration, String> {
    let seconds: f64 = value
        .parse()
        .map_err(|_| format!("`{value}` is not a number of seconds"))?;
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("`{value}` is not a usable number of seconds"))
}

fn parse_location(value: &str) -> Result<(String, String), String> {
    let (name, url) = value
        .split_once('=')
        .ok_or_else(|| format!("`{value}` is not NAME=URL"))?;
    if name.is_empty() || url.is_empty() {
        return Err(format!("`{value}` is not NAME=URL"));
    }
    Ok((name.to_owned(), url.to_owned()))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours only at a terminal, and not when `NO_COLOR` is set (no-color.org).
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty()),
        )
        .init();
    let directory = match &args.directory {
        Some(path) => match Directory::from_file(path) {
            Ok(directory) => directory,
            Err(error) => {
                error!(error = %error, cause = ?std::error::Error::source(&error).map(ToString::to_string), "cannot load the directory");
                return ExitCode::from(EXIT_USAGE);
            }
        },
        None => Directory::demo(),
    };
    let tls = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => {
            match (std::fs::read_to_string(cert), std::fs::read_to_string(key)) {
                (Ok(cert_chain), Ok(private_key)) => Some(TlsPem {
                    cert_chain,
                    private_key,
                }),
                (Err(error), _) | (_, Err(error)) => {
                    error!(%error, "cannot read the certificate or key file");
                    return ExitCode::from(EXIT_USAGE);
                }
            }
        }
        _ if args.tls => {
            match TlsPem::self_signed(&["localhost", "127.0.0.1", &args.listen.ip().to_string()]) {
                Ok(pem) => Some(pem),
                Err(error) => {
                    error!(%error, "cannot generate a certificate");
                    return ExitCode::FAILURE;
                }
            }
        }
        _ => None,
    };
    let config = SimConfig {
        listen: args.listen,
        path: args.path,
        location: args.location,
        locations: args.location_urls.into_iter().collect::<BTreeMap<_, _>>(),
        admin_user: args.admin_user,
        admin_password: args.admin_password,
        auth: if args.digest {
            AuthMode::Digest
        } else {
            AuthMode::Basic
        },
        poll_timeout: args.poll_timeout,
        poll_batch: args.poll_batch.max(1),
        session_expiry: args.session_expiry,
        naming: match args.naming {
            Naming::Observed => ArrayNaming::Observed,
            Naming::Item => ArrayNaming::Item,
        },
        tls,
        no_answer: args.no_answer,
        seed: args.seed,
        ..SimConfig::default()
    };
    let sim = match Sim::start(config, directory).await {
        Ok(sim) => sim,
        Err(error) => {
            error!(%error, cause = ?std::error::Error::source(&error).map(ToString::to_string), "cannot start the simulator");
            return ExitCode::FAILURE;
        }
    };
    let mut signals = match Signals::install() {
        Ok(signals) => signals,
        Err(error) => {
            error!(%error, "cannot install signal handlers");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    // The line is the readiness signal for scripts; if stdout is gone nobody is waiting.
    let _ = writeln!(stdout, "listening on {}", sim.url()).and_then(|()| stdout.flush());
    drop(stdout);
    let traffic = args.traffic.map(|rate| {
        info!(rate, seed = args.seed, "starting random traffic");
        sim.start_traffic(TrafficConfig {
            rate_per_sec: rate,
            seed: args.seed,
            ..TrafficConfig::default()
        })
    });
    signals.recv().await;
    info!("stopping");
    if let Some(traffic) = traffic {
        traffic.stop().await;
    }
    sim.shutdown().await;
    ExitCode::SUCCESS
}

/// Ctrl-C, and SIGTERM on Unix, registered before the readiness line so that a signal sent
/// right after it is never lost.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Resolves when a stop signal arrives.
    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        if let Err(error) = tokio::signal::ctrl_c().await {
            error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    }
}
