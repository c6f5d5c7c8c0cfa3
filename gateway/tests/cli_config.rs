//! The operator commands of the real `cti-gateway` binary that deployments rely on:
//! `check-config` (exit 0 or 64 with every problem listed), `hash-password` (argon2 PHC hash of
//! a password read from standard input) and `run` (configuration from `CTI_GATEWAY_CONFIG`,
//! JSON logs, a clean exit on SIGTERM; exit 64 for a bad configuration, which the systemd
//! unit and the Windows service wrapper treat as "do not restart").

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use argon2::{Argon2, PasswordHash, PasswordVerifier};

const BINARY: &str = env!("CARGO_BIN_EXE_cti-gateway");

/// The exit code for a bad configuration or usage.
const EXIT_USAGE: i32 = 64;

/// A command with none of the caller's `CTI_GATEWAY*` variables, so that the developer's or
/// CI's environment cannot change the outcome.
fn gateway() -> Command {
    let mut command = Command::new(BINARY);
    for (key, _) in std::env::vars() {
        if key.starts_with("CTI_GATEWAY") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    command.env("NO_COLOR", "1");
    command
}

fn minimal_example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/config/minimal.toml")
}

/// A temporary directory holding `gateway.toml` with the given text.
fn config_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, text).expect("write the configuration");
    (dir, path)
}

/// `cti-gateway check-config PATH` with extra environment variables.
fn check_config(path: &Path, env: &[(&str, &str)]) -> Output {
    gateway()
        .envs(env.iter().copied())
        .arg("check-config")
        .arg(path)
        .output()
        .expect("the binary runs")
}

/// `cti-gateway hash-password` with `input` on standard input.
fn hash_password(input: &str) -> Output {
    let mut child = gateway()
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stdin = child.stdin.take().expect("piped");
    stdin.write_all(input.as_bytes()).expect("write stdin");
    drop(stdin);
    child.wait_with_output().expect("the binary ends")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Exit status 0; what the command printed.
fn success_stdout(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// Exit status 64, nothing on stdout, and `needle` in the explanation on stderr.
fn assert_usage_error(output: &Output, needle: &str) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(EXIT_USAGE), "stderr: {stderr}");
    assert!(output.stdout.is_empty(), "stdout: {}", text(&output.stdout));
    assert!(stderr.contains(needle), "no {needle:?} in:\n{stderr}");
}

#[test]
fn check_config_accepts_a_valid_file() {
    let example = std::fs::read_to_string(minimal_example()).expect("minimal.toml");
    let (_dir, path) = config_file(&example);
    let output = check_config(&path, &[]);
    let stdout = success_stdout(&output);
    assert!(stdout.contains("valid"), "{stdout}");
    assert!(
        stdout.contains("1 PBX system, 1 listener, 1 user"),
        "{stdout}"
    );
    assert!(
        output.stderr.is_empty(),
        "nothing on stderr: {}",
        text(&output.stderr)
    );
}

#[test]
fn check_config_lists_every_problem_with_its_key() {
    let (_dir, path) = config_file(
        r#"
        [pbx.main]
        url = "ftp://pbx.example.com"
        password = "x"
        poll_timeout = "30s"

        [listener.csta]
        address = "localhost"
        anonymous_user = "nobody"

        [user.crm]
        password_hash = "plain text"

        [sessions]
        queue = 1
        "#,
    );
    let output = check_config(&path, &[]);
    assert_usage_error(&output, &path.display().to_string());
    assert_usage_error(&output, "configuration errors:");
    for key in [
        "pbx.main.url",
        "pbx.main.poll_timeout",
        "listener.csta.address",
        "user.crm.password_hash",
        "sessions.queue",
    ] {
        assert_usage_error(&output, &format!("{key}:"));
    }
}

#[test]
fn check_config_applies_environment_overrides() {
    let example = std::fs::read_to_string(minimal_example()).expect("minimal.toml");
    let (_dir, path) = config_file(&example);
    let output = check_config(
        &path,
        &[("CTI_GATEWAY__LISTENER__CSTA__ADDRESS", "not-an-address")],
    );
    assert_usage_error(&output, "listener.csta.address:");
}

#[test]
fn check_config_names_a_missing_or_broken_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert_usage_error(
        &check_config(&dir.path().join("absent.toml"), &[]),
        "cannot read",
    );
    let (_dir, broken) = config_file("[pbx.main\nurl = ");
    assert_usage_error(&check_config(&broken, &[]), &broken.display().to_string());
}

#[test]
fn hash_password_prints_a_verifiable_argon2_hash() {
    let mut hashes = Vec::new();
    for input in ["demo\n", "demo\r\n", "demo"] {
        let stdout = success_stdout(&hash_password(input));
        let hash = stdout.trim_end();
        assert_eq!(stdout.lines().count(), 1, "one line: {stdout:?}");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        let parsed = PasswordHash::new(hash).expect("a PHC string");
        assert!(
            Argon2::default().verify_password(b"demo", &parsed).is_ok(),
            "{input:?}: the line break is not part of the password"
        );
        assert!(
            Argon2::default()
                .verify_password(b"wrong", &parsed)
                .is_err()
        );
        hashes.push(hash.to_owned());
    }
    hashes.dedup();
    assert_eq!(hashes.len(), 3, "every hash has its own salt");
}

#[test]
fn hash_password_refuses_an_empty_password() {
    for input in ["", "\n", "\r\n"] {
        assert_usage_error(&hash_password(input), "empty password");
    }
}

#[test]
fn run_with_an_invalid_configuration_exits_64() {
    let (_dir, path) = config_file("[listener.csta]\naddress = \"127.0.0.1:0\"\n");
    let output = gateway()
        .args(["run", "--config"])
        .arg(&path)
        .output()
        .expect("runs");
    assert_usage_error(&output, "[pbx.NAME]");
}

/// The daemon itself; Linux only, because it reads the signal mask from `/proc`.
#[cfg(target_os = "linux")]
mod daemon {
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Command, Stdio};
    use std::sync::mpsc;
    use std::time::Duration;

    use csta::system::GetSwitchingFunctionDevices;
    use gateway::client::{ClientConfig, ClientError, CstaClient};

    use super::{config_file, gateway, minimal_example};

    /// Upper bound for the daemon to log a line or to exit.
    const WAIT: Duration = Duration::from_secs(30);

    /// Kills the daemon if a test fails before it stopped it.
    struct Daemon(Child);

    impl Drop for Daemon {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// Whether the process has a handler for SIGTERM (signal 15: bit 14 of `SigCgt`).
    fn catches_sigterm(pid: u32) -> bool {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            return false;
        };
        status
            .lines()
            .find_map(|line| line.strip_prefix("SigCgt:"))
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
            .is_some_and(|mask| mask & (1 << 14) != 0)
    }

    #[test]
    fn text_logs_into_a_pipe_carry_no_colour_codes() {
        let example = std::fs::read_to_string(minimal_example()).expect("minimal.toml");
        let (_dir, path) = config_file(&example);
        let dead = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a loopback port");
        let mut daemon = Daemon(
            gateway()
                .args(["--log-format", "text", "run"])
                .env("CTI_GATEWAY_CONFIG", &path)
                .env(
                    "CTI_GATEWAY__PBX__MAIN__URL",
                    format!("http://{dead}/PBX0/user.soap"),
                )
                .env("CTI_GATEWAY__LISTENER__CSTA__ADDRESS", "127.0.0.1:0")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("the daemon starts"),
        );
        let stderr = daemon.0.stderr.take().expect("piped");
        let (lines_tx, lines) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        while !seen.iter().any(|line: &String| line.contains("listening")) {
            let line = lines
                .recv_timeout(WAIT)
                .unwrap_or_else(|_| panic!("no `listening` line: {seen:#?}"));
            seen.push(line);
        }
        assert!(
            seen.iter().all(|line| !line.contains('\u{1b}')),
            "no escape sequences: {seen:#?}"
        );
    }

    #[test]
    fn run_serves_with_json_logs_and_stops_cleanly_on_sigterm() {
        let example = std::fs::read_to_string(minimal_example()).expect("minimal.toml");
        let (_dir, path) = config_file(&example);
        // Nothing listens on this port: the PBX link keeps retrying, the CSTA listener serves.
        let dead = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a loopback port");
        let mut daemon = Daemon(
            gateway()
                .args(["--log-format", "json", "run"])
                .env("CTI_GATEWAY_CONFIG", &path)
                .env(
                    "CTI_GATEWAY__PBX__MAIN__URL",
                    format!("http://{dead}/PBX0/user.soap"),
                )
                .env("CTI_GATEWAY__LISTENER__CSTA__ADDRESS", "127.0.0.1:0")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("the daemon starts"),
        );
        let stderr = daemon.0.stderr.take().expect("piped");
        let (lines_tx, lines) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let next_record = || -> serde_json::Value {
            let line = lines.recv_timeout(WAIT).expect("the daemon logs in time");
            serde_json::from_str(&line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"))
        };

        let mut address = None;
        for _ in 0..100 {
            let record = next_record();
            if record["fields"]["message"] == "listening" {
                assert_eq!(record["fields"]["listener"], "csta");
                address = record["fields"]["address"].as_str().map(str::to_owned);
                break;
            }
        }
        let address = address.expect("a `listening` record with the address");
        // A CSTA exchange: the listener answers; without a login the request is refused.
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let answer = runtime.block_on(async {
            let client = CstaClient::connect(&ClientConfig::new(address.clone()))
                .await
                .expect("the CSTA listener accepts");
            let request = GetSwitchingFunctionDevices {
                requested_device_id: None,
                requested_device_category: None,
                extensions: None,
            };
            client.request(request.into()).await
        });
        assert!(
            matches!(answer, Err(ClientError::Csta { .. })),
            "refused without login: {answer:?}"
        );

        // The daemon logs `listening` before it installs its SIGTERM handler, and a signal in
        // between would kill it outright. Wait until the kernel reports the handler installed;
        // nothing else announces it.
        let pid = daemon.0.id();
        let handled = (0..1000).any(|_| {
            let caught = catches_sigterm(pid);
            if !caught {
                std::thread::sleep(Duration::from_millis(10));
            }
            caught
        });
        assert!(handled, "the daemon never installed a SIGTERM handler");

        let status = Command::new("kill")
            .args(["-TERM", &daemon.0.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let mut stopped = false;
        let mut seen = Vec::new();
        for _ in 0..100 {
            let Ok(line) = lines.recv_timeout(WAIT) else {
                break;
            };
            if line.contains("\"stopped\"") {
                stopped = true;
                break;
            }
            seen.push(line);
        }
        // Dying without any record means SIGTERM arrived before the daemon listened for it,
        // i.e. it announced `listening` before installing its signal handlers.
        assert!(stopped, "a `stopped` record after SIGTERM; saw {seen:#?}");
        // Standard error closes when the process ends, so `wait` below returns at once.
        let closed = (0..1000).any(|_| match lines.recv_timeout(WAIT) {
            Ok(_) => false,
            Err(mpsc::RecvTimeoutError::Disconnected) => true,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("the daemon did not exit"),
        });
        assert!(closed, "the daemon keeps logging after `stopped`");
        let status = daemon.0.wait().expect("wait works");
        assert_eq!(status.code(), Some(0), "a clean stop exits 0");
    }
}
