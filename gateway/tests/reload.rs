//! Black-box test of the reload signal: the built `cti-gateway run` reads its CSTA users again
//! on SIGHUP, keeps them when the file has errors, and still stops cleanly on SIGTERM.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use gateway::client::{ClientConfig, ClientError, CstaClient, Login};

const BINARY: &str = env!("CARGO_BIN_EXE_cti-gateway");

/// Upper bound for start-up and for every step after it.
const WAIT: Duration = Duration::from_secs(30);

/// An argon2 hash of the password "demo".
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$M8nBwqSvui8GswW8KBb6vA$y80cSRTHmxhiYtCsvptwjFFkfvYdJIt0FF6mlOq1j78";

/// A gateway whose PBX refuses connections (logins do not need it) and which knows the user
/// `ops` and, with `crm`, the user `crm` too.
fn config(crm: bool) -> String {
    let mut text = format!(
        r#"
[pbx.main]
url = "http://127.0.0.1:9/PBX0/user.soap"
password = "pw"

[listener.csta]
address = "127.0.0.1:0"

[user.ops]
password_hash = "{HASH}"
view = ["*"]
"#
    );
    if crm {
        text.push_str(&format!(
            "\n[user.crm]\npassword_hash = \"{HASH}\"\nview = [\"2*\"]\n"
        ));
    }
    text
}

/// Stops the gateway when the test ends, also when it fails.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Daemon {
    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.0.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name}");
    }
}

/// The gateway's log lines, as they come.
struct Log(mpsc::Receiver<String>);

impl Log {
    /// The next line that contains `needle`.
    fn until(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.0.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("no log line with {needle:?}"),
            }
        }
    }
}

fn start(path: &Path) -> (Daemon, Log, SocketAddr) {
    let mut command = Command::new(BINARY);
    for (key, _) in std::env::vars() {
        if key.starts_with("CTI_GATEWAY") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    let mut child = command
        .args(["--log-format", "json", "run", "--config"])
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stderr = child.stderr.take().expect("piped");
    let daemon = Daemon(child);
    let (lines, log) = mpsc::channel();
    // The reader ends with the process (end of its stderr).
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let log = Log(log);
    let line = log.until("\"listening\"");
    let record: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    let address = record["fields"]["address"]
        .as_str()
        .and_then(|address| address.parse().ok())
        .unwrap_or_else(|| panic!("an address in {line}"));
    (daemon, log, address)
}

async fn login(address: SocketAddr, user: &str) -> Result<CstaClient, ClientError> {
    let mut config = ClientConfig::new(address.to_string());
    config.timeout = WAIT;
    config.login = Some(Login {
        user: user.to_owned(),
        password: "demo".to_owned(),
        avaya: false,
        duration: 180,
    });
    CstaClient::connect(&config).await
}

#[tokio::test]
async fn sighup_replaces_the_users_and_an_invalid_file_changes_nothing() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, config(false)).expect("written");
    let (daemon, log, address) = start(&path);

    assert!(login(address, "ops").await.is_ok(), "ops logs in");
    let refused = login(address, "crm").await.err();
    assert!(
        matches!(refused, Some(ClientError::SessionRefused { .. })),
        "crm is unknown yet: {refused:?}"
    );
    // A session of the old users outlives the reload.
    let session = login(address, "ops").await.expect("ops logs in");

    std::fs::write(&path, config(true)).expect("written");
    daemon.signal("HUP");
    let line = log.until("configuration read again");
    assert!(line.contains("\"users\":2"), "{line}");
    assert!(
        login(address, "crm").await.is_ok(),
        "crm logs in after the reload"
    );

    std::fs::write(&path, "[pbx.main]\nurl = 42\n").expect("written");
    daemon.signal("HUP");
    log.until("configuration not read again");
    assert!(
        login(address, "crm").await.is_ok(),
        "an invalid file leaves the users as they were"
    );
    assert!(
        session
            .request(csta::system::RequestSystemStatus::default().into())
            .await
            .is_ok(),
        "the earlier session still works"
    );

    daemon.signal("TERM");
    let mut daemon = daemon;
    let status = daemon.0.wait().expect("the gateway stops");
    assert!(status.success(), "a clean stop: {status:?}");
}
