//! The benchmark driver, run small: it produces every figure, and the clients read exactly the
//! events the gateway published for their lines. Figures are printed, never compared with
//! times.

use std::path::PathBuf;
use std::time::Duration;

use tests::bench::{self, Report, Settings};

/// Small settings; the gateway process is the bench binary (it embeds `cti-gateway run`).
fn small(lines: usize, clients: usize) -> Settings {
    let mut settings = Settings::new(PathBuf::from(env!("CARGO_BIN_EXE_bench")));
    settings.lines = lines;
    settings.clients = clients;
    settings.rate = 20.0;
    settings.duration = Duration::from_secs(2);
    settings.ring_time = Duration::from_millis(200);
    settings.talk_time = Duration::from_millis(400);
    settings.probe_interval = Duration::from_millis(100);
    settings.limit_duration = Duration::from_millis(300);
    settings.start_timeout = Duration::from_secs(60);
    settings.settle_timeout = Duration::from_secs(20);
    settings
}

async fn run(settings: &Settings) -> Report {
    tests::subscribe();
    let report = tokio::time::timeout(Duration::from_secs(120), bench::run(settings))
        .await
        .expect("the run ends by itself")
        .unwrap_or_else(|error| panic!("the run failed: {error}"));
    println!("{}", report.table());
    report
}

/// What every run must show, whatever the machine.
fn assert_complete(report: &Report) {
    let traffic = &report.traffic;
    assert!(
        traffic.calls > 0 && traffic.steps >= traffic.calls,
        "{traffic:?}"
    );
    assert!(traffic.published > 0, "{traffic:?}");
    assert_eq!(
        traffic.expected,
        traffic.published * report.setup.multiplicity,
        "{traffic:?}"
    );
    assert_eq!(traffic.delivered, traffic.expected, "{traffic:?}");
    assert_eq!((traffic.lost, traffic.surplus), (0, 0), "{traffic:?}");
    assert_eq!(
        (traffic.loss_notices, traffic.gateway_events_lost),
        (0, 0),
        "{traffic:?}"
    );
    assert!(traffic.settled, "{traffic:?}");
    assert_eq!(
        traffic.backlog, 0,
        "every PBX record was polled: {traffic:?}"
    );
    assert!(traffic.delivered_per_s > 0.0 && traffic.published_per_s > 0.0);

    let latency = &report.latency;
    assert_eq!(
        latency.end_to_end.samples as u64 + latency.unmatched + latency.cut_off,
        traffic.delivered,
        "every event is accounted for: {latency:?}"
    );
    assert_eq!(latency.cut_off, 0, "the generator ended by itself");
    // The generator stamps each step before the PBX has its records, so every event has a
    // step at or before the instant it was read.
    assert_eq!(
        latency.unmatched, 0,
        "every event is matched to the step that caused it: {latency:?}"
    );
    let e2e = &latency.end_to_end;
    assert!(e2e.p50_us <= e2e.p90_us && e2e.p90_us <= e2e.p99_us && e2e.p99_us <= e2e.max_us);

    let requests = &report.requests;
    assert!(requests.make_call.samples > 0, "{requests:?}");
    assert!(requests.snapshot.samples > 0, "{requests:?}");
    assert_eq!(
        (requests.make_call_errors, requests.snapshot_errors),
        (0, 0),
        "{requests:?}"
    );

    assert!(report.startup.in_service_ms > 0.0);
    assert!(
        report.startup.link_sync_ms.is_some(),
        "the link logs its sync time"
    );
    let gateway = &report.gateway;
    assert!(
        gateway.cpu_s > 0.0 && gateway.cpu_us_per_event > 0.0,
        "{gateway:?}"
    );
    assert!(gateway.rss_idle_kib > 0 && gateway.peak_rss_kib >= gateway.rss_end_kib);
    assert!(gateway.rss_per_line_bytes > 0.0);

    let limit = report.limit.as_ref().expect("the limit is measured");
    assert_eq!(limit.connections, report.setup.clients);
    assert!(limit.events > 0 && limit.events_per_s > 0.0, "{limit:?}");
    assert_eq!(limit.multiplicity, report.setup.multiplicity, "{limit:?}");
    assert!(limit.writer_cpu_us_per_event > 0.0, "{limit:?}");
    let expected_ratio = limit.writer_cpu_us_per_event / gateway.cpu_us_per_event;
    assert!(
        report
            .ratio
            .is_some_and(|ratio| (ratio - expected_ratio).abs() < 1e-9),
        "gateway/limit compares CPU per delivered event: {:?}",
        report.ratio
    );
    assert!(report.offered_ratio.is_some_and(|ratio| ratio > 0.0));
    assert_eq!(report.targets().len(), 4);

    let json = serde_json::to_value(report).expect("JSON");
    for key in [
        "setup", "machine", "startup", "traffic", "latency", "requests", "gateway", "limit",
    ] {
        assert!(json.get(key).is_some(), "JSON without {key}: {json}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_run_over_tcp_delivers_every_event_once() {
    let report = run(&small(200, 5)).await;
    assert_eq!(
        (report.setup.monitors, report.setup.multiplicity),
        (198, 1),
        "the two probe lines are left out"
    );
    assert!(!report.setup.tls);
    assert_complete(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_monitors_over_tls_deliver_every_event_to_each() {
    let mut settings = small(100, 4);
    settings.share = Some(0.5);
    settings.tls = true;
    let report = run(&settings).await;
    assert_eq!(report.setup.multiplicity, 2, "each line has two monitors");
    assert!(report.setup.tls);
    assert_complete(&report);
}
