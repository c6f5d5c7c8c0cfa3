//! Black-box smoke test of `cti-gateway demo`: the built binary starts the simulator and the
//! gateway on ports the system picks, prints where CSTA clients connect, and serves them.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use gateway::client::{ClientConfig, CstaClient};

const BINARY: &str = env!("CARGO_BIN_EXE_cti-gateway");

/// Upper bound for start-up and for every step after it.
const WAIT: Duration = Duration::from_secs(30);

/// The banner line that names the CSTA address.
const CSTA_LINE: &str = "CSTA (no login)";

/// Kills the demo when the test ends, also when it fails.
struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the demo on port 0 and returns it with the CSTA address from its banner.
fn start() -> (Demo, SocketAddr) {
    let mut command = Command::new(BINARY);
    for (key, _) in std::env::vars() {
        if key.starts_with("CTI_GATEWAY") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    let mut child = command
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--admin",
            "127.0.0.1:0",
            "--rate",
            "0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("piped");
    let demo = Demo(child);
    let (lines, banner) = mpsc::channel();
    // The reader ends with the process (end of its stdout).
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = banner
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no CSTA address line within {WAIT:?}: {seen:#?}"));
        if let Some(rest) = line.trim().strip_prefix(CSTA_LINE) {
            let address = rest.split_whitespace().next().unwrap_or_default();
            let address: SocketAddr = address
                .parse()
                .unwrap_or_else(|_| panic!("no address in {line:?}"));
            assert_ne!(
                address.port(),
                0,
                "the banner shows the bound port: {line:?}"
            );
            assert!(
                line.contains("25 lines in service"),
                "every demo line in service: {line:?}"
            );
            return (demo, address);
        }
        seen.push(line);
    }
}

#[tokio::test]
async fn the_demo_on_port_zero_lists_its_lines_and_reports_a_call() {
    let (_demo, address) = tokio::task::spawn_blocking(start).await.unwrap();
    let mut config = ClientConfig::new(address.to_string());
    config.timeout = WAIT;
    let mut client = tokio::time::timeout(WAIT, CstaClient::connect(&config))
        .await
        .expect("connects in time")
        .expect("connects");
    let devices = client.devices().await.expect("device list");
    assert_eq!(devices.len(), 25, "{devices:#?}");
    assert!(devices.iter().any(|device| device.id == "201"));

    client.monitor("201").await.expect("monitor");
    let connection = client.make_call("201", "202").await.expect("make call");
    let event = client
        .next_event(WAIT)
        .await
        .expect("an event after MakeCall");
    let csta::events::Event::ServiceInitiated(initiated) = &event.event else {
        panic!("the first event of a MakeCall is ServiceInitiated: {event:?}");
    };
    assert_eq!(initiated.initiated_connection.call, connection.call);
}
