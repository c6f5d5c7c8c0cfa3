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

/// Runs a client command of the binary against the demo; returns its exit code, stdout and
/// stderr.
fn command(address: SocketAddr, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(BINARY)
        .args(args)
        .args(["--gateway", &address.to_string()])
        .env_remove("CTI_GATEWAY_ADDRESS")
        .env_remove("CTI_GATEWAY_USER")
        .env_remove("CTI_GATEWAY_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs a client command that must succeed and returns its stdout.
fn ok(address: SocketAddr, args: &[&str]) -> String {
    let (code, stdout, stderr) = command(address, args);
    assert_eq!(code, 0, "{args:?}: {stdout}{stderr}");
    stdout
}

/// Reads JSON event lines of a `monitor --json` process until one is a `name` event.
fn until_event(
    events: &mpsc::Receiver<serde_json::Value>,
    seen: &mut Vec<serde_json::Value>,
    name: &str,
) -> serde_json::Value {
    loop {
        let event = events
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("no {name} event within {WAIT:?}: {seen:#?}"));
        seen.push(event.clone());
        if event["event"] == name {
            return event;
        }
    }
}

#[test]
fn the_client_commands_control_calls_and_print_events() {
    let (_demo, address) = start();
    let devices = ok(address, &["devices"]);
    assert!(devices.contains("201"), "{devices}");
    assert!(devices.trim_end().ends_with("25 devices"), "{devices}");

    let mut monitor = Demo(
        Command::new(BINARY)
            .args([
                "monitor",
                "201",
                "--json",
                "--gateway",
                &address.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("monitor starts"),
    );
    let stdout = monitor.0.stdout.take().expect("piped");
    let (sender, events) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let event: serde_json::Value =
                serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
            if sender.send(event).is_err() {
                break;
            }
        }
    });
    // The monitor is in place once it prints an event: set a forward until one shows.
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let forward = ok(address, &["forward", "201", "--to", "204"]);
        assert!(forward.contains("204"), "{forward}");
        if let Ok(event) = events.recv_timeout(Duration::from_millis(200)) {
            assert_eq!(event["event"], "Forwarding", "{event}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the monitor prints nothing"
        );
    }
    ok(address, &["forward", "201", "--off"]);
    until_event(&events, &mut seen, "Forwarding");

    let called = ok(address, &["call", "201", "202"]);
    assert!(called.starts_with("call "), "{called}");
    assert!(called.contains("from 201 to 202"), "{called}");
    let call = called["call ".len()..]
        .split('@')
        .next()
        .unwrap()
        .to_owned();
    until_event(&events, &mut seen, "Delivered");
    assert!(ok(address, &["answer", "202"]).starts_with("answered "));
    let established = until_event(&events, &mut seen, "Established");
    assert_eq!(established["call"], call.as_str(), "{established}");
    assert!(ok(address, &["hold", "201"]).starts_with("held "));
    until_event(&events, &mut seen, "Held");
    assert!(ok(address, &["retrieve", "201"]).starts_with("retrieved "));
    until_event(&events, &mut seen, "Retrieved");
    let transferred = ok(address, &["transfer", "202", "203"]);
    assert!(transferred.contains("to 203"), "{transferred}");
    let transfer = until_event(&events, &mut seen, "Transfered");
    assert_eq!(transfer["call"], call.as_str(), "{transfer}");
    assert_eq!(transfer["cause"], "singleStepTransfer", "{transfer}");
    assert!(ok(address, &["hangup", "201"]).starts_with("cleared "));
    until_event(&events, &mut seen, "ConnectionCleared");

    // Failures: a specific error, and no answer from a closed port.
    let (code, _, stderr) = command(address, &["answer", "205"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(!stderr.trim().is_empty(), "the error is printed");
    let (code, _, stderr) = command(address, &["hold", "299"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("invalidDeviceID"), "{stderr}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_address = closed.local_addr().unwrap();
    drop(closed);
    let (code, _, stderr) = command(closed_address, &["devices"]);
    assert_eq!(code, 69, "unavailable: {stderr}");
}
