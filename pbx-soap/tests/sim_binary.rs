//! The `pbx-sim` program as a black box: its readiness line, one SOAP request, its exit codes.
#![cfg(feature = "sim")]

use std::process::Stdio;
use std::time::Duration;

use pbx_soap::client::{Client, Config, TlsConfig};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::timeout;

/// Bound for the program to start or stop.
const PATIENCE: Duration = Duration::from_secs(30);

fn pbx_sim(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pbx-sim"));
    command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Starts the program and returns it with the URL from its `listening on` line.
async fn spawn(args: &[&str]) -> (Child, String) {
    let mut child = pbx_sim(args).spawn().expect("pbx-sim starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    timeout(PATIENCE, BufReader::new(stdout).read_line(&mut line))
        .await
        .expect("ready in time")
        .expect("read");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("readiness line: {line:?}"))
        .to_owned();
    (child, url)
}

#[tokio::test]
async fn serves_soap_until_killed() {
    let (mut child, url) = spawn(&["--listen", "127.0.0.1:0", "--poll-timeout", "1"]).await;
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/PBX0/user.soap"),
        "{url}"
    );
    let client =
        Client::new(Config::new(url.parse().expect("url"), "admin", "ip800")).expect("client");
    let session = client
        .initialize("_TAPI_", "smoke")
        .await
        .expect("initialize");
    let dump = client.poll(session.handle).await.expect("poll");
    assert!(
        dump.user.iter().any(|user| user.e164 == "201"),
        "the demo directory is served"
    );
    child.kill().await.expect("kill");
}

#[cfg(unix)]
#[tokio::test]
async fn stops_cleanly_on_sigterm() {
    let (mut child, _) = spawn(&["--listen", "127.0.0.1:0", "--traffic", "5", "--seed", "3"]).await;
    let pid = child.id().expect("pid").to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill -TERM");
    assert!(sent.success());
    let status = timeout(PATIENCE, child.wait())
        .await
        .expect("stops in time")
        .expect("status");
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test]
async fn serves_https_with_a_generated_certificate_and_a_directory_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("pbx.toml");
    std::fs::write(
        &path,
        "[[object]]\ncn = \"_TAPI_\"\n[[object]]\ncn = \"Solo\"\ne164 = \"7\"\n",
    )
    .expect("write");
    let path = path.to_str().expect("utf-8 path");
    let (mut child, url) = spawn(&[
        "--tls",
        "--directory",
        path,
        "--admin-password",
        "secret",
        "--location",
        "branch",
    ])
    .await;
    assert!(url.starts_with("https://"), "{url}");
    let mut config = Config::new(url.parse().expect("url"), "admin", "secret");
    config.tls = TlsConfig {
        ca_file: None,
        danger_accept_invalid_certs: true,
    };
    let client = Client::new(config).expect("client");
    assert_eq!(client.version().await.expect("version").location, "branch");
    let users = client.find_all_users().await.expect("find");
    assert_eq!(
        users
            .iter()
            .map(|user| user.cn.as_str())
            .collect::<Vec<_>>(),
        ["_TAPI_", "Solo"]
    );
    child.kill().await.expect("kill");
}

#[tokio::test]
async fn bad_arguments_and_files_exit_with_64() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[[object]]\ncn = \"A\"\ncolour = \"red\"\n").expect("write");
    for args in [
        vec!["--directory", broken.to_str().expect("utf-8")],
        vec!["--directory", "does-not-exist.toml"],
        vec!["--cert", "missing.pem", "--key", "missing.pem"],
    ] {
        let status = timeout(PATIENCE, pbx_sim(&args).status())
            .await
            .expect("exits")
            .expect("status");
        assert_eq!(status.code(), Some(64), "{args:?}");
    }
    let status = timeout(
        PATIENCE,
        pbx_sim(&["--poll-timeout", "soon"])
            .stderr(Stdio::null())
            .status(),
    )
    .await
    .expect("exits")
    .expect("status");
    assert_eq!(status.code(), Some(2), "clap rejects unusable arguments");
}
