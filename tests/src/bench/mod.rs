//! The benchmark driver: the PBX simulator with N lines, the gateway as its own process, M
//! CSTA clients over TCP or TLS, seeded call traffic, and every figure the project claims
//! (start-up, throughput, loss, end-to-end and request latency, CPU and memory, and the
//! same-run limit). `src/bin/bench.rs` is its command line; `e2e/bench_smoke.rs` runs it small.
//!
//! How a run goes:
//!
//! 1. The simulator starts in this process with `Directory::generated(N)`; the gateway starts
//!    as a child process with a generated configuration (a listener on port 0, an admin
//!    endpoint) and is observed through its JSON log, its admin endpoint and `/proc`, so its
//!    CPU and memory figures are its own.
//! 2. The last two lines are kept for request probes; the clients share the others (see
//!    `fleet::Assignment`): every monitored line has the same number of monitors, and the
//!    traffic runs on the monitored lines only, so the clients must read exactly
//!    `monitors per line × events the gateway published` (probe events left out).
//! 3. The simulator's traffic generator starts `rate × duration` calls and reports every step
//!    with its instant; each client timestamps every event it reads. The latency of an event is
//!    measured from the step that caused it (see the `latency` module).
//! 4. Meanwhile a probe client times `MakeCall` (then clears the call) and `SnapshotDevice`.
//! 5. After the counts settle, the limit is measured with a sample of the delivered events
//!    (see the `limit` module).

mod fleet;
mod latency;
mod limit;
mod process;
mod report;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use csta::events::Event;
use csta::ids::{CallId, ConnectionId, DeviceId, MonitorCrossRefId};
use csta::message::Message;
use gateway::client::{ClientConfig, ClientError, ClientTls, CstaClient};
use pbx_soap::sim::{
    Directory, ObjectKind, Sim, SimConfig, SimError, SimHandle, TrafficConfig, TrafficStats,
};
use procfs::Current;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::TestCertificates;
use fleet::{Assignment, ClientLog, Fleet};
pub use latency::Percentiles;
use latency::{Cause, Matcher, StepRecorder};
pub use limit::Limit;
pub use process::AdminError;
use process::{GatewayProcess, Status, Usage};
pub use report::{
    Latency, Machine, Report, Requests, Resources, Setup, Startup, Traffic, sweep_table,
};

/// Lines kept out of the traffic for the `MakeCall` probe.
const PROBE_LINES: usize = 2;
/// Steps reported by the generator that may wait for the recorder.
const STEP_QUEUE: usize = 1 << 16;
/// Events kept from the run to replay in the limit measurement.
const LIMIT_SAMPLE: usize = 1024;
/// How long the gateway must publish nothing new before its backlog is taken as done.
const STILL: Duration = Duration::from_millis(300);
/// How long the counts must stay unchanged before a loss is taken as final.
const QUIET: Duration = Duration::from_secs(1);

/// What to run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Lines (PBX users, each with a phone).
    pub lines: usize,
    /// CSTA clients.
    pub clients: usize,
    /// Share of the lines each client monitors; `None`: `1 / clients` (each line once).
    pub share: Option<f64>,
    /// CSTA over TLS.
    pub tls: bool,
    /// New calls per second.
    pub rate: f64,
    /// How long new calls are started (the calls then run to their end).
    pub duration: Duration,
    /// Mean ring time of a call.
    pub ring_time: Duration,
    /// Mean talk time of a call.
    pub talk_time: Duration,
    /// Seed of the traffic and the probes.
    pub seed: u64,
    /// Most records the simulator returns per `Poll`.
    pub poll_batch: usize,
    /// Time between two probes (`MakeCall` + `ClearConnection`, `SnapshotDevice`).
    pub probe_interval: Duration,
    /// How long the limit writers write.
    pub limit_duration: Duration,
    /// A program that runs the gateway with `run --config FILE --log-format json`.
    pub gateway_program: PathBuf,
    /// Longest wait for the gateway to listen and to put every line in service.
    pub start_timeout: Duration,
    /// Longest wait, after the traffic, for the delivered events to reach the expected count.
    pub settle_timeout: Duration,
}

impl Settings {
    /// The command line's defaults, with the gateway run by `gateway_program`.
    pub fn new(gateway_program: PathBuf) -> Self {
        Self {
            lines: 10_000,
            clients: 100,
            share: None,
            tls: false,
            rate: 500.0,
            duration: Duration::from_secs(30),
            ring_time: Duration::from_millis(500),
            talk_time: Duration::from_millis(1500),
            seed: 1,
            poll_batch: SimConfig::default().poll_batch,
            probe_interval: Duration::from_millis(100),
            limit_duration: Duration::from_secs(3),
            gateway_program,
            start_timeout: Duration::from_secs(300),
            settle_timeout: Duration::from_secs(30),
        }
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// Too few lines for probes and traffic.
    #[error("at least {min} lines are needed, {lines} were asked for")]
    TooFewLines {
        /// Lines asked for.
        lines: usize,
        /// The minimum.
        min: usize,
    },
    /// The simulator did not start.
    #[error("the PBX simulator did not start")]
    Sim(#[from] SimError),
    /// A file of the gateway's configuration could not be written.
    #[error("cannot write the gateway configuration {path}")]
    Config {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The gateway program could not be started.
    #[error("cannot start the gateway program {program}")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The gateway ended before it was ready.
    #[error("the gateway process ended early (exit code {status:?}); its log is above")]
    GatewayExited {
        /// Its exit code, if it exited.
        status: Option<i32>,
    },
    /// The gateway logged no CSTA listener address.
    #[error("the gateway logged no listening CSTA address within {after:?}")]
    NoListener {
        /// The wait.
        after: Duration,
    },
    /// Not every line came into service.
    #[error("{in_service} of {lines} lines in service after {after:?}")]
    NotInService {
        /// Lines in service.
        in_service: usize,
        /// Lines.
        lines: usize,
        /// The wait.
        after: Duration,
    },
    /// The admin endpoint failed.
    #[error(transparent)]
    Admin(#[from] AdminError),
    /// A CSTA client failed.
    #[error("CSTA client {request} failed")]
    Client {
        /// What the client did.
        request: &'static str,
        /// The error.
        #[source]
        source: ClientError,
    },
    /// A device id of the directory is not a valid CSTA device id.
    #[error("the directory number {number:?} is no valid CSTA device id")]
    DeviceId {
        /// The number.
        number: String,
    },
    /// `/proc` could not be read.
    #[error("cannot read /proc")]
    Proc(#[source] procfs::ProcError),
    /// A bench task panicked or was cancelled.
    #[error("a bench task failed")]
    Task(#[source] tokio::task::JoinError),
    /// The limit's runtime could not be built.
    #[error("cannot build the limit writers' runtime")]
    Runtime(#[source] std::io::Error),
    /// A loopback socket for the limit or the admin port failed.
    #[error("loopback socket failed")]
    Bind(#[source] std::io::Error),
    /// The test certificate PEM files cannot be read.
    #[error("cannot read the test certificates")]
    Pem(#[source] rustls_pki_types::pem::Error),
    /// rustls refused the test certificate.
    #[error("TLS set-up of the limit measurement failed")]
    Tls(#[source] rustls::Error),
}

/// Runs one benchmark.
pub async fn run(settings: &Settings) -> Result<Report, BenchError> {
    let min = PROBE_LINES + 3;
    if settings.lines < min {
        return Err(BenchError::TooFewLines {
            lines: settings.lines,
            min,
        });
    }
    let load_before = load();
    let directory = Directory::generated(settings.lines);
    // (long name, number) of every line, in directory order; the number is the device id.
    let lines: Vec<(String, String)> = directory
        .objects()
        .iter()
        .filter(|object| object.kind == ObjectKind::Endpoint && !object.e164.is_empty())
        .map(|object| (object.cn.clone(), object.e164.clone()))
        .collect();
    let sim_config = SimConfig {
        poll_batch: settings.poll_batch,
        ..SimConfig::default()
    };
    let sim = Sim::start(sim_config, directory).await?;
    let files = tempfile::tempdir().map_err(|source| BenchError::Config {
        path: std::env::temp_dir(),
        source,
    })?;
    let certificates = settings.tls.then(TestCertificates::generate);
    let admin = free_port()?;
    let config_path = files.path().join("gateway.toml");
    let config = gateway_config(&sim.url(), settings, certificates.as_ref(), admin);
    std::fs::write(&config_path, config).map_err(|source| BenchError::Config {
        path: config_path.clone(),
        source,
    })?;

    let mut gateway = GatewayProcess::spawn(
        &settings.gateway_program,
        &config_path,
        admin,
        settings.start_timeout,
    )
    .await?;
    gateway
        .wait_in_service(settings.lines, settings.start_timeout)
        .await?;
    let in_service = gateway.spawned.elapsed();
    info!(
        lines = settings.lines,
        elapsed_ms = in_service.as_millis() as u64,
        "lines in service"
    );
    let with_lines = gateway.usage()?;

    let clients = settings.clients.max(1);
    let share = settings.share.unwrap_or(1.0 / clients as f64);
    let assignment = Assignment::new(settings.lines - PROBE_LINES, clients, share);
    let devices: Arc<Vec<String>> =
        Arc::new(lines.iter().map(|(_, number)| number.clone()).collect());
    let client_config = client_config(gateway.csta, certificates.as_ref());
    let monitoring = Instant::now();
    let fleet = Fleet::start(&client_config, &assignment.per_client, &devices).await?;
    let probe_lines: Vec<u32> = (settings.lines - PROBE_LINES..settings.lines)
        .map(|line| line as u32)
        .collect();
    let probe = Probe::start(
        &client_config,
        Arc::clone(&devices),
        [probe_lines[0], probe_lines[1]],
    )
    .await?;
    let probe_events = Arc::clone(&probe.events);
    let monitors_ms = monitoring.elapsed();
    info!(
        monitors = assignment.monitors(),
        elapsed_ms = monitors_ms.as_millis() as u64,
        "monitors started"
    );

    let idle = gateway.usage()?;
    let before = gateway.admin.status().await?;
    let bench_before = Usage::of(std::process::id() as i32)?;
    let driven = drive(&sim, settings, &assignment, &lines, probe).await?;
    let traffic_started = driven.started;
    let stopped = driven.stopped;
    let traffic_stats = driven.stats;
    let requests = driven.requests;

    let settled = settle(
        &sim,
        &mut gateway,
        &fleet,
        &probe_events,
        &before,
        assignment.multiplicity,
        settings.settle_timeout,
    )
    .await?;
    driven.probe_finish.cancel();
    driven.draining.await.map_err(BenchError::Task)?;
    let after = gateway.usage()?;
    let bench_after = Usage::of(std::process::id() as i32)?;
    let load_after = load();
    let gateway_events_lost = gateway.admin.events_lost().await?;
    let gateway_warnings = gateway.problems();
    let link_sync_ms = gateway.sync_ms();
    let logs = fleet.finish().await?;
    let recorder = driven.recording.await.map_err(BenchError::Task)?;
    let matched = Matched::new(
        &logs,
        &Matcher::new(&recorder.marks, stopped),
        traffic_started,
    );
    let window = matched
        .last_read
        .duration_since(traffic_started)
        .as_secs_f64()
        .max(1e-3);
    let delivered = settled.delivered;
    let loss_notices = logs.iter().map(|log| log.loss_notices).sum();
    let sample = Arc::new(sample(logs));

    let limit = if sample.is_empty() {
        None
    } else {
        Some(
            limit::measure(
                Arc::clone(&sample),
                clients,
                assignment.multiplicity,
                &client_config,
                certificates.as_ref(),
                settings.limit_duration,
            )
            .await?,
        )
    };
    gateway.stop().await;
    sim.shutdown().await;

    let delivered_per_s = delivered as f64 / window;
    let cpu = after.cpu.saturating_sub(idle.cpu).as_secs_f64();
    let cpu_us_per_event = if delivered > 0 {
        cpu * 1e6 / delivered as f64
    } else {
        0.0
    };
    // Both sides as CPU time per delivered event: what each would deliver per CPU-second.
    let ratio = limit
        .as_ref()
        .filter(|limit| cpu_us_per_event > 0.0 && limit.writer_cpu_us_per_event > 0.0)
        .map(|limit| limit.writer_cpu_us_per_event / cpu_us_per_event);
    let offered_ratio = limit
        .as_ref()
        .filter(|limit| limit.events_per_s > 0.0)
        .map(|limit| delivered_per_s / limit.events_per_s);
    Ok(Report {
        setup: Setup {
            lines: settings.lines,
            clients,
            share,
            monitors: assignment.monitors(),
            multiplicity: assignment.multiplicity,
            traffic_lines: assignment.lines.len(),
            tls: settings.tls,
            rate_per_s: settings.rate,
            duration_s: settings.duration.as_secs_f64(),
            ring_ms: settings.ring_time.as_millis() as u64,
            talk_ms: settings.talk_time.as_millis() as u64,
            seed: settings.seed,
            gateway_program: settings.gateway_program.display().to_string(),
        },
        machine: machine(load_before, load_after),
        startup: Startup {
            in_service_ms: in_service.as_secs_f64() * 1000.0,
            link_sync_ms,
            monitors_ms: monitors_ms.as_secs_f64() * 1000.0,
        },
        traffic: Traffic {
            window_s: window,
            calls: traffic_stats.scripts,
            steps: traffic_stats.steps,
            refused_steps: traffic_stats.failures,
            skipped_arrivals: traffic_stats.skipped,
            published: settled.published,
            published_per_s: settled.published as f64 / window,
            expected: settled.expected,
            delivered,
            delivered_per_s,
            lost: settled.expected.saturating_sub(delivered),
            surplus: delivered.saturating_sub(settled.expected),
            loss_notices,
            gateway_events_lost,
            gateway_warnings,
            settled: settled.complete,
            calls_left: settled.calls_left,
            backlog: settled.backlog,
        },
        latency: Latency {
            end_to_end: Percentiles::of(&matched.latencies),
            unmatched: matched.unmatched,
            cut_off: matched.cut_off,
        },
        requests: Requests {
            make_call: Percentiles::of(&requests.make_call),
            make_call_errors: requests.make_call_errors,
            snapshot: Percentiles::of(&requests.snapshot),
            snapshot_errors: requests.snapshot_errors,
        },
        gateway: Resources {
            cpu_s: cpu,
            cpu_percent: cpu / window * 100.0,
            cpu_us_per_event,
            rss_lines_kib: with_lines.rss_kib,
            rss_idle_kib: idle.rss_kib,
            rss_end_kib: after.rss_kib,
            peak_rss_kib: after.peak_rss_kib,
            rss_per_line_bytes: idle.rss_kib as f64 * 1024.0 / settings.lines as f64,
            rss_per_monitor_bytes: (idle.rss_kib as f64 - with_lines.rss_kib as f64) * 1024.0
                / assignment.monitors().max(1) as f64,
        },
        bench_cpu_s: bench_after
            .cpu
            .saturating_sub(bench_before.cpu)
            .as_secs_f64(),
        limit,
        ratio,
        offered_ratio,
    })
}

/// The traffic phase as it ended; the probe still reads the events of its last calls.
struct Driven {
    started: Instant,
    /// When the generator was stopped before it started every call.
    stopped: Option<Instant>,
    stats: TrafficStats,
    requests: RequestTimes,
    recording: JoinHandle<StepRecorder>,
    draining: JoinHandle<()>,
    probe_finish: CancellationToken,
}

/// Plays the traffic on the assigned lines while the probe runs; returns when every call
/// ended (or the generator had to be stopped).
async fn drive(
    sim: &SimHandle,
    settings: &Settings,
    assignment: &Assignment,
    lines: &[(String, String)],
    probe: Probe,
) -> Result<Driven, BenchError> {
    let names: HashMap<String, u32> = lines
        .iter()
        .enumerate()
        .flat_map(|(index, (cn, number))| {
            [(cn.clone(), index as u32), (number.clone(), index as u32)]
        })
        .collect();
    let (steps, mut reported) = mpsc::channel(STEP_QUEUE);
    let recording = tokio::spawn(async move {
        let mut recorder = StepRecorder::new(names);
        while let Some(step) = reported.recv().await {
            recorder.record(&step);
        }
        recorder
    });
    let calls = (settings.rate * settings.duration.as_secs_f64())
        .round()
        .max(1.0) as u64;
    let started = Instant::now();
    let mut traffic = sim.start_traffic(TrafficConfig {
        rate_per_sec: settings.rate,
        seed: settings.seed,
        steps: Some(steps),
        max_calls: Some(calls),
        ring_time: settings.ring_time,
        talk_time: settings.talk_time,
        users: assignment
            .lines
            .iter()
            .map(|line| lines[*line as usize].0.clone())
            .collect(),
        ..TrafficConfig::default()
    });
    let probe_stop = CancellationToken::new();
    let probing = tokio::spawn(probe.run(
        assignment.lines.clone(),
        settings.probe_interval,
        settings.seed,
        probe_stop.clone(),
    ));
    // Arrivals that find too few free lines are skipped, which stretches the run; past this
    // the generator is stopped and the calls it cut short are left out of the latency.
    let longest = settings.duration * 3 + (settings.ring_time + settings.talk_time) * 4;
    let stopped = tokio::select! {
        () = traffic.finished() => None,
        () = tokio::time::sleep(longest) => Some(Instant::now()),
    };
    let stats = if stopped.is_some() {
        warn!(after = ?longest, "stopping the traffic generator before it started every call");
        traffic.stop().await
    } else {
        traffic.stats()
    };
    probe_stop.cancel();
    let (requests, mut probe) = probing.await.map_err(BenchError::Task)?;
    hang_up_probe_calls(sim, &lines[lines.len() - PROBE_LINES..]);
    let probe_finish = CancellationToken::new();
    let finish = probe_finish.clone();
    let draining = tokio::spawn(async move {
        tokio::select! {
            () = probe.drain() => {}
            () = finish.cancelled() => {}
        }
    });
    Ok(Driven {
        started,
        stopped,
        stats,
        requests,
        recording,
        draining,
        probe_finish,
    })
}

/// The clients' events matched to the steps that caused them.
struct Matched {
    latencies: Vec<Duration>,
    unmatched: u64,
    cut_off: u64,
    /// When the last event was read (`since` if none was).
    last_read: Instant,
}

impl Matched {
    fn new(logs: &[ClientLog], matcher: &Matcher, since: Instant) -> Self {
        let mut matched = Self {
            latencies: Vec::new(),
            unmatched: 0,
            cut_off: 0,
            last_read: since,
        };
        for receipt in logs.iter().flat_map(|log| &log.receipts) {
            matched.last_read = matched.last_read.max(receipt.at);
            match matcher.cause(receipt) {
                Cause::Step(latency) => matched.latencies.push(latency),
                Cause::Unfinished => matched.cut_off += 1,
                Cause::Unknown => matched.unmatched += 1,
            }
        }
        matched
    }
}

/// Runs one benchmark per line count and client count (lines outer), each with the base
/// settings' calls per second per line and `1 / clients` as the share.
pub async fn sweep(
    base: &Settings,
    lines: &[usize],
    clients: &[usize],
) -> Result<Vec<Report>, BenchError> {
    let per_line = base.rate / base.lines.max(1) as f64;
    let mut reports = Vec::with_capacity(lines.len() * clients.len());
    for &count in lines {
        for &clients in clients {
            let settings = Settings {
                lines: count,
                clients,
                share: None,
                rate: per_line * count as f64,
                ..base.clone()
            };
            info!(lines = count, clients, rate = settings.rate, "sweep point");
            reports.push(run(&settings).await?);
        }
    }
    Ok(reports)
}

/// The counts once the traffic's events have all arrived (or stopped arriving).
struct Settled {
    backlog: usize,
    calls_left: usize,
    published: u64,
    expected: u64,
    delivered: u64,
    complete: bool,
}

/// Waits until the simulator has no call left and no record waiting for a `Poll`, the gateway
/// published nothing new for [`STILL`] (the last batch is through) and the clients have read
/// every expected event; or until nothing changed for [`QUIET`] (events were lost), or the
/// timeout passed.
async fn settle(
    sim: &SimHandle,
    gateway: &mut GatewayProcess,
    fleet: &Fleet,
    probe_events: &AtomicU64,
    before: &Status,
    multiplicity: u64,
    timeout: Duration,
) -> Result<Settled, BenchError> {
    let deadline = Instant::now() + timeout;
    let mut last = (u64::MAX, u64::MAX);
    let mut changed = Instant::now();
    loop {
        let status = gateway.admin.status().await?;
        let delivered = fleet.delivered();
        // Every probe event went to the one probe monitor of its line.
        let published = status
            .events_published
            .saturating_sub(before.events_published)
            .saturating_sub(probe_events.load(Ordering::Relaxed));
        let expected = published * multiplicity;
        let now = Instant::now();
        if (status.events_published, delivered) != last {
            last = (status.events_published, delivered);
            changed = now;
        }
        let backlog = sim.queued_records();
        let complete = sim.call_count() == 0 && backlog == 0 && delivered >= expected;
        let done = complete && now.duration_since(changed) >= STILL;
        if done || now.duration_since(changed) >= QUIET || now >= deadline {
            return Ok(Settled {
                backlog,
                calls_left: status.calls,
                published,
                expected,
                delivered,
                complete,
            });
        }
        // Counters of another process: nothing to wait on but the clock.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Request timings of the probe, and the events it read on its own lines.
#[derive(Debug, Default)]
struct RequestTimes {
    make_call: Vec<Duration>,
    make_call_errors: u64,
    snapshot: Vec<Duration>,
    snapshot_errors: u64,
}

/// The request probe: a client monitoring the probe lines that, every `interval`, places a
/// call between them (alternating), clears it once the gateway reported it, and snapshots a
/// random traffic line. It counts every event of the probe lines in `events`.
struct Probe {
    client: CstaClient,
    devices: Arc<Vec<String>>,
    lines: [u32; 2],
    events: Arc<AtomicU64>,
}

impl Probe {
    async fn start(
        config: &ClientConfig,
        devices: Arc<Vec<String>>,
        lines: [u32; 2],
    ) -> Result<Self, BenchError> {
        let client = CstaClient::connect(config)
            .await
            .map_err(|source| BenchError::Client {
                request: "connect",
                source,
            })?;
        for line in lines {
            client
                .monitor(&devices[line as usize])
                .await
                .map_err(|source| BenchError::Client {
                    request: "MonitorStart",
                    source,
                })?;
        }
        Ok(Self {
            client,
            devices,
            lines,
            events: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Probes until `stop`; returns the timings and the probe, which still has to read the
    /// events of its last calls.
    async fn run(
        mut self,
        traffic_lines: Vec<u32>,
        interval: Duration,
        seed: u64,
        stop: CancellationToken,
    ) -> (RequestTimes, Self) {
        let mut times = RequestTimes::default();
        let mut rng = StdRng::seed_from_u64(seed ^ 0x9e37_79b9);
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for round in 0_usize.. {
            tokio::select! {
                _ = ticks.tick() => {}
                () = self.drain() => {}
                () = stop.cancelled() => break,
            }
            let (from, to) = if round % 2 == 0 {
                (self.lines[0], self.lines[1])
            } else {
                (self.lines[1], self.lines[0])
            };
            let started = Instant::now();
            match self
                .client
                .make_call(self.device(from), self.device(to))
                .await
            {
                Ok(connection) => {
                    times.make_call.push(started.elapsed());
                    self.clear(connection).await;
                }
                Err(error) => {
                    if times.make_call_errors == 0 {
                        warn!(%error, "probe MakeCall failed");
                    }
                    times.make_call_errors += 1;
                }
            }
            let line = traffic_lines[rng.random_range(0..traffic_lines.len())];
            let Ok(snapshot_object) = DeviceId::new(self.device(line)) else {
                times.snapshot_errors += 1;
                continue;
            };
            let request = csta::snapshot::SnapshotDevice {
                snapshot_object,
                extensions: None,
            };
            let started = Instant::now();
            match self.client.request(request.into()).await {
                Ok(Message::SnapshotDeviceResponse(_)) => times.snapshot.push(started.elapsed()),
                Ok(_) | Err(_) => times.snapshot_errors += 1,
            }
        }
        (times, self)
    }

    fn device(&self, line: u32) -> &str {
        &self.devices[line as usize]
    }

    /// Reads events until the connection closes.
    async fn drain(&mut self) {
        while let Some(message) = self.client.next_incoming().await {
            if matches!(message, Message::Event(_)) {
                self.events.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Clears the new call once an event of it arrived (before that, the gateway may not know
    /// the connection yet).
    async fn clear(&mut self, connection: ConnectionId) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let Some(event) = self.client.next_event(remaining).await else {
                warn!("the probe call was not reported within 5 s");
                return;
            };
            self.events.fetch_add(1, Ordering::Relaxed);
            if connection.call.is_some() && first_call(&event.event) == connection.call.as_ref() {
                break;
            }
        }
        let clear = csta::call_control::ClearConnection {
            connection_to_be_cleared: connection,
            correlator_data: None,
            user_data: None,
            extensions: None,
        };
        if let Err(error) = self.client.request(clear.into()).await {
            warn!(%error, "probe ClearConnection failed");
        }
    }
}

/// The call of the events that start a call.
fn first_call(event: &Event) -> Option<&CallId> {
    match event {
        Event::ServiceInitiated(e) => e.initiated_connection.call.as_ref(),
        Event::Originated(e) => e.originated_connection.call.as_ref(),
        Event::Delivered(e) => e.connection.call.as_ref(),
        _ => None,
    }
}

/// Ends probe calls a failed `ClearConnection` left behind, as the phones would.
fn hang_up_probe_calls(sim: &SimHandle, probes: &[(String, String)]) {
    for call in sim.snapshot().calls {
        let probe_leg = call
            .legs
            .iter()
            .find(|leg| probes.iter().any(|(cn, _)| *cn == leg.cn));
        if let Some(leg) = probe_leg
            && let Err(error) = sim.hangup(call.call, &leg.cn)
        {
            warn!(%error, "cannot end a probe call");
        }
    }
}

/// Up to [`LIMIT_SAMPLE`] delivered events, taken evenly from the clients.
fn sample(logs: Vec<ClientLog>) -> Vec<(MonitorCrossRefId, Event)> {
    let mut samples: Vec<std::vec::IntoIter<(MonitorCrossRefId, Event)>> =
        logs.into_iter().map(|log| log.sample.into_iter()).collect();
    let mut sample = Vec::new();
    while sample.len() < LIMIT_SAMPLE {
        let before = sample.len();
        sample.extend(samples.iter_mut().filter_map(Iterator::next));
        if sample.len() == before {
            break;
        }
    }
    sample.truncate(LIMIT_SAMPLE);
    sample
}

/// The gateway's configuration: one CSTA listener (TLS with the test certificates if given)
/// whose anonymous user may do everything, the admin endpoint, and fast reconnects.
fn gateway_config(
    sim_url: &str,
    settings: &Settings,
    certificates: Option<&TestCertificates>,
    admin: SocketAddr,
) -> String {
    let tls = certificates.map_or(String::new(), |certificates| {
        format!(
            "tls.cert_file = \"{}\"\ntls.key_file = \"{}\"\n",
            certificates.server_cert.display(),
            certificates.server_key.display()
        )
    });
    format!(
        r#"[pbx.main]
url = "{sim_url}"
password = "ip800"
reconnect_min = "100ms"
reconnect_max = "1s"

[listener.csta]
address = "127.0.0.1:0"
anonymous_user = "bench"
max_connections = {connections}
{tls}
[user.bench]
view = ["*"]
monitor = ["*"]
control = ["*"]

[sessions]
max_monitors = {monitors}

[admin]
address = "{admin}"
"#,
        connections = (settings.clients + 8).max(1024),
        monitors = settings.lines.max(20_000),
    )
}

fn client_config(address: SocketAddr, certificates: Option<&TestCertificates>) -> ClientConfig {
    let mut config = ClientConfig::new(address.to_string());
    config.timeout = Duration::from_secs(30);
    config.tls = certificates.map(|certificates| ClientTls {
        ca_file: Some(certificates.ca.clone()),
        server_name: Some("localhost".to_owned()),
        ..ClientTls::default()
    });
    config
}

/// A loopback port that is free now, for the admin endpoint (the gateway does not log the
/// admin endpoint's address, so port 0 cannot be used there).
fn free_port() -> Result<SocketAddr, BenchError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(BenchError::Bind)
}

fn load() -> f32 {
    procfs::LoadAverage::current().map_or(0.0, |load| load.one)
}

fn machine(load_before: f32, load_after: f32) -> Machine {
    let cpu = procfs::CpuInfo::current().ok();
    Machine {
        cpu: cpu
            .as_ref()
            .and_then(|cpu| cpu.model_name(0).map(str::to_owned))
            .unwrap_or_default(),
        cpus: cpu.as_ref().map_or(0, procfs::CpuInfo::num_cores),
        memory_gib: procfs::Meminfo::current()
            .map_or(0.0, |memory| memory.mem_total as f64 / f64::from(1 << 30)),
        load_before,
        load_after,
    }
}
