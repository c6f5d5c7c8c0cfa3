//! The gateway under test as a child process: started from a program that understands
//! `run --config FILE` (the `cti-gateway` binary, or the bench binary itself, which embeds the
//! same command line), observed through its JSON log, its admin endpoint and `/proc`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use procfs::process::Process;
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::warn;

use super::BenchError;

/// Gateway log lines forwarded to the bench's own log before the rest are only counted.
const FORWARDED_WARNINGS: u64 = 20;

/// Why the admin endpoint could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No TCP connection.
    #[error("cannot connect to the admin endpoint {address}")]
    Connect {
        /// The endpoint.
        address: SocketAddr,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// HTTP failed.
    #[error("HTTP to the admin endpoint failed")]
    Http(#[from] hyper::Error),
    /// The request could not be built.
    #[error("invalid admin request")]
    Request(#[from] http::Error),
    /// An answer other than 200.
    #[error("the admin endpoint answered {path} with {status}")]
    Status {
        /// The path asked for.
        path: &'static str,
        /// The HTTP status.
        status: u16,
    },
    /// `/status` is not the expected JSON.
    #[error("the admin endpoint's /status is not the expected JSON")]
    Json(#[from] serde_json::Error),
}

/// The parts of `/status` the bench reads.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Status {
    pub(crate) links: Vec<LinkState>,
    pub(crate) lines: usize,
    pub(crate) lines_in_service: usize,
    pub(crate) calls: usize,
    pub(crate) events_published: u64,
}

/// One PBX link of `/status`.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct LinkState {
    pub(crate) ready: bool,
}

/// A keep-alive HTTP/1.1 connection to the admin endpoint.
pub(crate) struct Admin {
    address: SocketAddr,
    sender: Option<SendRequest<Empty<Bytes>>>,
}

impl Admin {
    /// An admin client of `address`; connects on first use.
    pub(crate) fn new(address: SocketAddr) -> Self {
        Self {
            address,
            sender: None,
        }
    }

    async fn get(&mut self, path: &'static str) -> Result<String, AdminError> {
        let sender = match &mut self.sender {
            Some(sender) if !sender.is_closed() => sender,
            _ => {
                let stream = TcpStream::connect(self.address).await.map_err(|source| {
                    AdminError::Connect {
                        address: self.address,
                        source,
                    }
                })?;
                let (sender, connection) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
                // The connection task ends when the sender is dropped or the peer closes.
                tokio::spawn(connection);
                self.sender.insert(sender)
            }
        };
        sender.ready().await?;
        let request = http::Request::get(path)
            .header(http::header::HOST, self.address.to_string())
            .body(Empty::<Bytes>::new())?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if status != http::StatusCode::OK {
            return Err(AdminError::Status {
                path,
                status: status.as_u16(),
            });
        }
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// The gateway's `/status`.
    pub(crate) async fn status(&mut self) -> Result<Status, AdminError> {
        Ok(serde_json::from_str(&self.get("/status").await?)?)
    }

    /// Events the gateway dropped for slow clients (`/metrics`).
    pub(crate) async fn events_lost(&mut self) -> Result<u64, AdminError> {
        Ok(metric(&self.get("/metrics").await?, "cti_gateway_csta_events_lost").unwrap_or(0))
    }
}

/// The value of a counter or gauge in the Prometheus text format (`NAME` or `NAME_total`).
fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        let key = key.strip_prefix(name)?;
        (key.is_empty() || key == "_total")
            .then(|| value.trim().parse::<f64>().ok())
            .flatten()
            .map(|value| value as u64)
    })
}

/// What the bench learns from one line of the gateway's JSON log.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(crate) enum LogLine {
    /// A CSTA listener is bound.
    Listening {
        /// The listener's name.
        listener: String,
        /// The bound address.
        address: SocketAddr,
    },
    /// The PBX link put its lines in service, this long after its session started.
    InService {
        /// Milliseconds from `Initialize` to every line monitored.
        elapsed_ms: u64,
    },
    /// A warning or error, as text.
    Problem(String),
    /// Anything else.
    Other,
}

impl LogLine {
    /// Reads one line of `--log-format json` output.
    pub(crate) fn parse(line: &str) -> Self {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
            return Self::Other;
        };
        let fields = &value["fields"];
        let message = fields["message"].as_str().unwrap_or_default();
        if message == "listening" {
            let address = fields["address"]
                .as_str()
                .and_then(|text| text.parse().ok());
            if let (Some(listener), Some(address)) = (fields["listener"].as_str(), address) {
                return Self::Listening {
                    listener: listener.to_owned(),
                    address,
                };
            }
        }
        if message == "PBX lines in service"
            && fields["site"].as_u64() == Some(0)
            && let Some(elapsed_ms) = fields["elapsed_ms"].as_u64()
        {
            return Self::InService { elapsed_ms };
        }
        match value["level"].as_str() {
            Some("WARN" | "ERROR") => Self::Problem(format!("{message} {fields}")),
            _ => Self::Other,
        }
    }
}

/// CPU time and memory of a process.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub(crate) struct Usage {
    /// User plus system CPU time of every thread, ended ones included.
    pub(crate) cpu: Duration,
    /// Resident set size, KiB.
    pub(crate) rss_kib: u64,
    /// Peak resident set size, KiB.
    pub(crate) peak_rss_kib: u64,
}

impl Usage {
    /// The usage of process `pid` now.
    pub(crate) fn of(pid: i32) -> Result<Self, BenchError> {
        let process = Process::new(pid).map_err(BenchError::Proc)?;
        let stat = process.stat().map_err(BenchError::Proc)?;
        let status = process.status().map_err(BenchError::Proc)?;
        Ok(Self {
            cpu: ticks(stat.utime + stat.stime),
            rss_kib: status.vmrss.unwrap_or_default(),
            peak_rss_kib: status.vmhwm.unwrap_or_default(),
        })
    }

    /// The CPU time of this process's threads whose name starts with `prefix`.
    pub(crate) fn threads_cpu(prefix: &str) -> Result<Duration, BenchError> {
        let process = Process::myself().map_err(BenchError::Proc)?;
        let mut total = 0;
        for task in process.tasks().map_err(BenchError::Proc)? {
            // Threads may end while they are listed.
            let Ok(stat) = task.and_then(|task| task.stat()) else {
                continue;
            };
            if stat.comm.starts_with(prefix) {
                total += stat.utime + stat.stime;
            }
        }
        Ok(ticks(total))
    }
}

fn ticks(ticks: u64) -> Duration {
    Duration::from_secs_f64(ticks as f64 / procfs::ticks_per_second().max(1) as f64)
}

/// The gateway child process.
pub(crate) struct GatewayProcess {
    child: Child,
    pid: i32,
    /// Where CSTA clients connect.
    pub(crate) csta: SocketAddr,
    /// The admin endpoint.
    pub(crate) admin: Admin,
    /// When the process was started.
    pub(crate) spawned: Instant,
    in_service: watch::Receiver<Option<u64>>,
    problems: watch::Receiver<u64>,
}

impl GatewayProcess {
    /// Starts `program run --config CONFIG` and waits until its CSTA listener is bound.
    pub(crate) async fn spawn(
        program: &Path,
        config: &Path,
        admin: SocketAddr,
        timeout: Duration,
    ) -> Result<Self, BenchError> {
        let spawned = Instant::now();
        let mut child = Command::new(program)
            .arg("run")
            .arg("--config")
            .arg(config)
            .arg("--log-format")
            .arg("json")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| BenchError::Spawn {
                program: program.to_owned(),
                source,
            })?;
        let pid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .ok_or(BenchError::GatewayExited { status: None })?;
        let Some(stderr) = child.stderr.take() else {
            return Err(BenchError::GatewayExited { status: None });
        };
        let (listening_tx, mut listening) = mpsc::channel(4);
        let (in_service_tx, in_service) = watch::channel(None);
        let (problems_tx, problems) = watch::channel(0);
        // Reads the log until the process closes it; a full pipe would stall the gateway.
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut count = 0;
            while let Ok(Some(line)) = lines.next_line().await {
                match LogLine::parse(&line) {
                    LogLine::Listening { listener, address } => {
                        let _ = listening_tx.send((listener, address)).await;
                    }
                    LogLine::InService { elapsed_ms } => {
                        let _ = in_service_tx.send(Some(elapsed_ms));
                    }
                    LogLine::Problem(text) => {
                        count += 1;
                        if count <= FORWARDED_WARNINGS {
                            warn!(gateway = %text, "gateway log");
                        }
                        let _ = problems_tx.send(count);
                    }
                    LogLine::Other => {}
                }
            }
        });
        let deadline = spawned + timeout;
        let csta = loop {
            tokio::select! {
                listening = listening.recv() => match listening {
                    Some((listener, address)) if listener == "csta" => break address,
                    Some(_) => {}
                    None => {
                        let status = child.wait().await.ok().and_then(|status| status.code());
                        return Err(BenchError::GatewayExited { status });
                    }
                },
                () = tokio::time::sleep_until(deadline) => {
                    return Err(BenchError::NoListener { after: timeout });
                }
            }
        };
        Ok(Self {
            child,
            pid,
            csta,
            admin: Admin::new(admin),
            spawned,
            in_service,
            problems,
        })
    }

    /// The process's CPU time and memory now.
    pub(crate) fn usage(&self) -> Result<Usage, BenchError> {
        Usage::of(self.pid)
    }

    /// The link's own start-up time (from `Initialize` to every line monitored), once logged.
    pub(crate) fn sync_ms(&self) -> Option<u64> {
        *self.in_service.borrow()
    }

    /// Warnings and errors the gateway logged so far.
    pub(crate) fn problems(&self) -> u64 {
        *self.problems.borrow()
    }

    /// Waits until every line is in service (the link logs it), then confirms it on the admin
    /// endpoint; returns the status that showed it.
    pub(crate) async fn wait_in_service(
        &mut self,
        lines: usize,
        timeout: Duration,
    ) -> Result<Status, BenchError> {
        let deadline = Instant::now() + timeout;
        let mut logged = self.in_service.clone();
        tokio::select! {
            // A closed log means the process ended; `try_wait` below tells.
            _ = logged.wait_for(Option::is_some) => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
        loop {
            if let Ok(Some(exit)) = self.child.try_wait() {
                return Err(BenchError::GatewayExited {
                    status: exit.code(),
                });
            }
            let status = self.admin.status().await?;
            let ready = !status.links.is_empty() && status.links.iter().all(|link| link.ready);
            if ready && status.lines == lines && status.lines_in_service == lines {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err(BenchError::NotInService {
                    in_service: status.lines_in_service,
                    lines,
                    after: timeout,
                });
            }
            // The link logs before every line is confirmed only if it logs early (or not at
            // all): then another process's state leaves nothing to wait on but the clock.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Stops the process.
    pub(crate) async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_log_gives_addresses_sync_times_and_problems() {
        let listening = r#"{"timestamp":"t","level":"INFO","fields":{"message":"listening","listener":"csta","address":"127.0.0.1:4711"},"target":"gateway::daemon"}"#;
        assert_eq!(
            LogLine::parse(listening),
            LogLine::Listening {
                listener: "csta".to_owned(),
                address: "127.0.0.1:4711".parse().unwrap(),
            }
        );
        let ready = r#"{"level":"INFO","fields":{"message":"PBX lines in service","site":0,"lines":2000,"elapsed_ms":812}}"#;
        assert_eq!(
            LogLine::parse(ready),
            LogLine::InService { elapsed_ms: 812 }
        );
        let slave = r#"{"level":"INFO","fields":{"message":"PBX lines in service","site":1,"lines":20,"elapsed_ms":5}}"#;
        assert_eq!(LogLine::parse(slave), LogLine::Other);
        let warning =
            r#"{"level":"WARN","fields":{"message":"a slow client lost events","lost":3}}"#;
        assert!(
            matches!(LogLine::parse(warning), LogLine::Problem(text) if text.contains("lost events"))
        );
        assert_eq!(LogLine::parse("not json"), LogLine::Other);
        let bad_address = r#"{"level":"INFO","fields":{"message":"listening","listener":"csta","address":"nowhere"}}"#;
        assert_eq!(LogLine::parse(bad_address), LogLine::Other);
    }

    #[test]
    fn counters_are_read_with_or_without_the_total_suffix() {
        let text = "# HELP x\ncti_gateway_csta_events_lost_total 17\ncti_gateway_calls 3\n";
        assert_eq!(metric(text, "cti_gateway_csta_events_lost"), Some(17));
        assert_eq!(metric(text, "cti_gateway_calls"), Some(3));
        assert_eq!(metric(text, "cti_gateway_lines"), None);
    }

    #[test]
    fn this_process_has_a_cpu_time_and_a_resident_set() {
        let usage = Usage::of(std::process::id() as i32).unwrap();
        assert!(
            usage.rss_kib > 0 && usage.peak_rss_kib >= usage.rss_kib,
            "{usage:?}"
        );
    }
}
