//! The figures of a run, as JSON (serde) and as text tables.

use std::fmt::Write as _;

use serde::Serialize;

use super::latency::Percentiles;
use super::limit::Limit;

/// Every figure of one run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// What was run.
    pub setup: Setup,
    /// Where it ran.
    pub machine: Machine,
    /// Start-up.
    pub startup: Startup,
    /// Event throughput and loss.
    pub traffic: Traffic,
    /// End-to-end latency.
    pub latency: Latency,
    /// Request latency.
    pub requests: Requests,
    /// The gateway process's CPU and memory.
    pub gateway: Resources,
    /// CPU time of the bench process (simulator and clients) during the traffic.
    pub bench_cpu_s: f64,
    /// The same-run limit (`None` when no event was delivered to take a sample from).
    pub limit: Option<Limit>,
    /// Gateway/limit: the limit writers' CPU per delivered event divided by the gateway's, i.e.
    /// the share of the limit's throughput the gateway reaches per CPU-second (both saturate
    /// the same CPUs).
    pub ratio: Option<f64>,
    /// Delivered events per second divided by the limit's: how much of the limit the run's
    /// traffic asked for; the gateway's share only when the gateway was saturated.
    pub offered_ratio: Option<f64>,
}

/// The settings of a run.
#[derive(Clone, Debug, Serialize)]
pub struct Setup {
    /// Lines on the PBX (all monitored by the gateway).
    pub lines: usize,
    /// CSTA clients.
    pub clients: usize,
    /// Share of the lines each client monitors.
    pub share: f64,
    /// Monitors started by the clients.
    pub monitors: usize,
    /// Clients monitoring each monitored line.
    pub multiplicity: u64,
    /// Lines the traffic runs on (the monitored ones).
    pub traffic_lines: usize,
    /// CSTA over TLS.
    pub tls: bool,
    /// New calls per second.
    pub rate_per_s: f64,
    /// Time new calls are started for, seconds.
    pub duration_s: f64,
    /// Mean ring time, milliseconds.
    pub ring_ms: u64,
    /// Mean talk time, milliseconds.
    pub talk_ms: u64,
    /// Seed of the traffic.
    pub seed: u64,
    /// The program run as the gateway.
    pub gateway_program: String,
}

/// The machine and its load.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// CPU model.
    pub cpu: String,
    /// Logical CPUs.
    pub cpus: usize,
    /// Memory, GiB.
    pub memory_gib: f64,
    /// One-minute load average before the run.
    pub load_before: f32,
    /// One-minute load average after the traffic.
    pub load_after: f32,
}

/// Start-up figures.
#[derive(Clone, Debug, Serialize)]
pub struct Startup {
    /// From starting the gateway process until every line was in service, milliseconds.
    pub in_service_ms: f64,
    /// The link's own figure: from `Initialize` to every line monitored, milliseconds.
    pub link_sync_ms: Option<u64>,
    /// Connecting the clients and starting every monitor, milliseconds.
    pub monitors_ms: f64,
}

/// Throughput and loss.
#[derive(Clone, Debug, Serialize)]
pub struct Traffic {
    /// From the first step until the last event was read, seconds.
    pub window_s: f64,
    /// Calls (scripts) the generator started.
    pub calls: u64,
    /// Steps performed.
    pub steps: u64,
    /// Steps the simulator refused (their calls were ended early).
    pub refused_steps: u64,
    /// Arrivals skipped because too few lines were free.
    pub skipped_arrivals: u64,
    /// Events the gateway's links published for traffic lines.
    pub published: u64,
    /// Registry update throughput: `published / window_s`.
    pub published_per_s: f64,
    /// Events the clients should have read: monitors per line times `published`.
    pub expected: u64,
    /// Events the clients read.
    pub delivered: u64,
    /// Events delivered per second.
    pub delivered_per_s: f64,
    /// `expected - delivered` when positive.
    pub lost: u64,
    /// `delivered - expected` when positive (duplicates; should never happen).
    pub surplus: u64,
    /// `SystemStatus messagesLost` notices the clients got.
    pub loss_notices: u64,
    /// Events the gateway counted as dropped for slow clients.
    pub gateway_events_lost: u64,
    /// Warnings and errors in the gateway's log.
    pub gateway_warnings: u64,
    /// Whether the simulator ended every call and the clients read every expected event.
    pub settled: bool,
    /// Calls the gateway still showed when the counts settled (0 unless one was missed).
    pub calls_left: usize,
    /// PBX records the gateway had not polled yet when the counts settled (or the wait
    /// ended): a gateway slower than the offered load leaves them behind.
    pub backlog: usize,
}

/// End-to-end latency.
#[derive(Clone, Debug, Serialize)]
pub struct Latency {
    /// From the simulator queuing a step's records to a client reading each resulting event.
    pub end_to_end: Percentiles,
    /// Events no step could be matched to.
    pub unmatched: u64,
    /// Events of calls the generator ended early (not measured).
    pub cut_off: u64,
}

/// Request latency (from sending the request to reading its answer).
#[derive(Clone, Debug, Serialize)]
pub struct Requests {
    /// `MakeCall` (the gateway waits for the PBX's `UserCall`).
    pub make_call: Percentiles,
    /// Failed `MakeCall`s.
    pub make_call_errors: u64,
    /// `SnapshotDevice` (served from the gateway's memory).
    pub snapshot: Percentiles,
    /// Failed `SnapshotDevice`s.
    pub snapshot_errors: u64,
}

/// CPU and memory of the gateway process.
#[derive(Clone, Debug, Serialize)]
pub struct Resources {
    /// CPU time during the traffic (until the counts settled), seconds.
    pub cpu_s: f64,
    /// `cpu_s` per second of the traffic window, percent of one CPU.
    pub cpu_percent: f64,
    /// CPU per delivered event, microseconds.
    pub cpu_us_per_event: f64,
    /// Resident set once every line was in service, KiB.
    pub rss_lines_kib: u64,
    /// Resident set once every monitor was started (idle), KiB.
    pub rss_idle_kib: u64,
    /// Resident set after the traffic, KiB.
    pub rss_end_kib: u64,
    /// Peak resident set, KiB.
    pub peak_rss_kib: u64,
    /// `rss_idle_kib` per line (the whole process, fixed costs included), bytes.
    pub rss_per_line_bytes: f64,
    /// What starting the monitors added, per monitor, bytes.
    pub rss_per_monitor_bytes: f64,
}

impl Report {
    /// The figures as a two-column table, then the targets.
    pub fn table(&self) -> String {
        let s = &self.setup;
        let mut rows: Vec<(String, String)> = vec![
            (
                "setup".into(),
                format!(
                    "{} lines, {} clients ({}), {} monitors ({} per line), {} calls/s for {:.0} s (ring {} ms, talk {} ms), seed {}",
                    s.lines,
                    s.clients,
                    if s.tls { "TLS" } else { "TCP" },
                    s.monitors,
                    s.multiplicity,
                    s.rate_per_s,
                    s.duration_s,
                    s.ring_ms,
                    s.talk_ms,
                    s.seed
                ),
            ),
            (
                "machine".into(),
                format!(
                    "{}, {} CPUs, {:.0} GiB; load {:.2} before, {:.2} after",
                    self.machine.cpu,
                    self.machine.cpus,
                    self.machine.memory_gib,
                    self.machine.load_before,
                    self.machine.load_after
                ),
            ),
            (
                "start-up: all lines in service".into(),
                format!(
                    "{:.0} ms (link sync {})",
                    self.startup.in_service_ms,
                    self.startup
                        .link_sync_ms
                        .map_or_else(|| "?".to_owned(), |ms| format!("{ms} ms"))
                ),
            ),
            (
                "start-up: clients and monitors".into(),
                format!("{:.0} ms", self.startup.monitors_ms),
            ),
        ];
        let t = &self.traffic;
        rows.extend([
            (
                "traffic".into(),
                format!(
                    "{} calls, {} steps in {:.1} s ({} refused, {} arrivals skipped)",
                    t.calls, t.steps, t.window_s, t.refused_steps, t.skipped_arrivals
                ),
            ),
            (
                "registry updates (published)".into(),
                format!("{} events, {:.0}/s", t.published, t.published_per_s),
            ),
            (
                "events delivered".into(),
                format!(
                    "{} of {} expected, {:.0}/s",
                    t.delivered, t.expected, t.delivered_per_s
                ),
            ),
            (
                "events lost".into(),
                format!(
                    "{} (surplus {}, messagesLost notices {}, gateway count {}; {} calls left, {} PBX records not polled{})",
                    t.lost,
                    t.surplus,
                    t.loss_notices,
                    t.gateway_events_lost,
                    t.calls_left,
                    t.backlog,
                    if t.settled { "" } else { ", NOT SETTLED" }
                ),
            ),
            (
                "end-to-end latency".into(),
                format!(
                    "{} ({} unmatched, {} cut off)",
                    percentiles(&self.latency.end_to_end),
                    self.latency.unmatched,
                    self.latency.cut_off
                ),
            ),
            (
                "MakeCall".into(),
                format!(
                    "{} ({} errors)",
                    percentiles(&self.requests.make_call),
                    self.requests.make_call_errors
                ),
            ),
            (
                "SnapshotDevice".into(),
                format!(
                    "{} ({} errors)",
                    percentiles(&self.requests.snapshot),
                    self.requests.snapshot_errors
                ),
            ),
        ]);
        let g = &self.gateway;
        rows.extend([
            (
                "gateway CPU".into(),
                format!(
                    "{:.2} s = {:.0} % of one CPU, {:.1} us per delivered event",
                    g.cpu_s, g.cpu_percent, g.cpu_us_per_event
                ),
            ),
            (
                "gateway RSS".into(),
                format!(
                    "{} KiB with lines, {} KiB idle with monitors, {} KiB after, peak {} KiB",
                    g.rss_lines_kib, g.rss_idle_kib, g.rss_end_kib, g.peak_rss_kib
                ),
            ),
            (
                "RSS per line / per monitor".into(),
                format!(
                    "{:.0} B per line (whole process), {:.0} B per monitor",
                    g.rss_per_line_bytes, g.rss_per_monitor_bytes
                ),
            ),
            (
                "bench process CPU (simulator, clients)".into(),
                format!("{:.2} s", self.bench_cpu_s),
            ),
        ]);
        match &self.limit {
            Some(limit) => rows.extend([
                (
                    "limit (encode, frame, write)".into(),
                    format!(
                        "{:.0} events/s to {} sockets (one encoding per {} deliveries), {:.2} us writer CPU per event",
                        limit.events_per_s,
                        limit.connections,
                        limit.multiplicity,
                        limit.writer_cpu_us_per_event,
                    ),
                ),
                (
                    "gateway/limit".into(),
                    format!(
                        "{:.1} % (CPU per delivered event: limit {:.2} us, gateway {:.1} us); this run delivered {:.1} % of the limit's rate",
                        self.ratio.unwrap_or_default() * 100.0,
                        limit.writer_cpu_us_per_event,
                        g.cpu_us_per_event,
                        self.offered_ratio.unwrap_or_default() * 100.0
                    ),
                ),
            ]),
            None => rows.push(("limit".into(), "not measured (no event delivered)".into())),
        }
        let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
        let mut text = String::new();
        for (name, value) in rows {
            let _ = writeln!(text, "{name:<width$}  {value}");
        }
        text.push_str("\ntargets (2-CPU machine)\n");
        for (target, met) in self.targets() {
            let _ = writeln!(text, "  [{}] {target}", if met { "met" } else { "MISSED" });
        }
        text
    }

    /// The project's performance targets, each with whether this run met it.
    pub fn targets(&self) -> Vec<(String, bool)> {
        let t = &self.traffic;
        let latency = &self.latency.end_to_end;
        vec![
            (
                format!(
                    "{} lines in service in under 2 s (target for 10,000): {:.0} ms",
                    self.setup.lines, self.startup.in_service_ms
                ),
                self.startup.in_service_ms < 2000.0,
            ),
            (
                format!(
                    "5,000 events/s to 100 clients, p99 under 10 ms, none lost: {:.0}/s to {} clients, p99 {:.1} ms, {} lost",
                    t.delivered_per_s,
                    self.setup.clients,
                    latency.p99_us as f64 / 1000.0,
                    t.lost
                ),
                t.delivered_per_s >= 5000.0
                    && self.setup.clients >= 100
                    && latency.p99_us < 10_000
                    && t.lost == 0,
            ),
            (
                format!(
                    "RSS under 4 KiB per idle monitored line: {:.0} B",
                    self.gateway.rss_per_line_bytes
                ),
                self.gateway.rss_per_line_bytes < 4096.0,
            ),
            (
                format!(
                    "throughput at least 30 % of the same-run limit (CPU per delivered event): {:.1} %",
                    self.ratio.unwrap_or_default() * 100.0
                ),
                self.ratio.is_some_and(|ratio| ratio >= 0.3),
            ),
        ]
    }
}

/// One row per run of a sweep, and the marginal cost between consecutive line counts.
pub fn sweep_table(reports: &[Report]) -> String {
    let header = [
        "lines",
        "clients",
        "monitors",
        "in service ms",
        "sync ms",
        "published/s",
        "delivered/s",
        "lost",
        "p50 ms",
        "p99 ms",
        "max ms",
        "MakeCall p99 ms",
        "Snapshot p99 ms",
        "CPU %",
        "us/event",
        "RSS idle MiB",
        "B/line",
        "peak MiB",
        "limit/s",
        "ratio %",
    ];
    let mut rows = vec![header.map(str::to_owned).to_vec()];
    let ms = |us: u64| format!("{:.2}", us as f64 / 1000.0);
    let mib = |kib: u64| format!("{:.1}", kib as f64 / 1024.0);
    for report in reports {
        rows.push(vec![
            report.setup.lines.to_string(),
            report.setup.clients.to_string(),
            report.setup.monitors.to_string(),
            format!("{:.0}", report.startup.in_service_ms),
            report
                .startup
                .link_sync_ms
                .map_or_else(|| "?".to_owned(), |ms| ms.to_string()),
            format!("{:.0}", report.traffic.published_per_s),
            format!("{:.0}", report.traffic.delivered_per_s),
            report.traffic.lost.to_string(),
            ms(report.latency.end_to_end.p50_us),
            ms(report.latency.end_to_end.p99_us),
            ms(report.latency.end_to_end.max_us),
            ms(report.requests.make_call.p99_us),
            ms(report.requests.snapshot.p99_us),
            format!("{:.0}", report.gateway.cpu_percent),
            format!("{:.1}", report.gateway.cpu_us_per_event),
            mib(report.gateway.rss_idle_kib),
            format!("{:.0}", report.gateway.rss_per_line_bytes),
            mib(report.gateway.peak_rss_kib),
            report.limit.as_ref().map_or_else(
                || "-".to_owned(),
                |limit| format!("{:.0}", limit.events_per_s),
            ),
            report
                .ratio
                .map_or_else(|| "-".to_owned(), |ratio| format!("{:.1}", ratio * 100.0)),
        ]);
    }
    let mut text = markdown(&rows);
    let marginal = marginal_rss(reports);
    if !marginal.is_empty() {
        text.push_str("\nmarginal RSS per line (idle, same client count)\n");
        for (clients, from, to, bytes) in marginal {
            let _ = writeln!(
                text,
                "  {clients} clients, {from} -> {to} lines: {bytes:.0} B per line"
            );
        }
    }
    text
}

/// `(clients, from lines, to lines, bytes per added line)` between runs that differ only in
/// their line count.
fn marginal_rss(reports: &[Report]) -> Vec<(usize, usize, usize, f64)> {
    let mut marginal = Vec::new();
    for (index, to) in reports.iter().enumerate() {
        let from = reports[..index].iter().rev().find(|from| {
            from.setup.clients == to.setup.clients && from.setup.lines < to.setup.lines
        });
        if let Some(from) = from {
            let added = (to.setup.lines - from.setup.lines) as f64;
            let bytes = (to.gateway.rss_idle_kib as f64 - from.gateway.rss_idle_kib as f64)
                * 1024.0
                / added;
            marginal.push((to.setup.clients, from.setup.lines, to.setup.lines, bytes));
        }
    }
    marginal
}

/// A Markdown table (the first row is the header), columns padded to their widest cell.
fn markdown(rows: &[Vec<String>]) -> String {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            rows.iter()
                .map(|row| row.get(column).map_or(0, String::len))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |row: &[String]| {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:>width$}"))
            .collect();
        format!("| {} |\n", cells.join(" | "))
    };
    let mut text = String::new();
    for (index, row) in rows.iter().enumerate() {
        text.push_str(&line(row));
        if index == 0 {
            let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
            text.push_str(&format!("|-{}-|\n", rule.join("-|-")));
        }
    }
    text
}

fn percentiles(p: &Percentiles) -> String {
    let ms = |us: u64| us as f64 / 1000.0;
    format!(
        "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {}",
        ms(p.p50_us),
        ms(p.p90_us),
        ms(p.p99_us),
        ms(p.max_us),
        p.samples
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_tables_pad_every_column() {
        let rows = vec![
            vec!["a".to_owned(), "long header".to_owned()],
            vec!["12345".to_owned(), "1".to_owned()],
        ];
        assert_eq!(
            markdown(&rows),
            "|     a | long header |\n|-------|-------------|\n| 12345 |           1 |\n"
        );
    }
}
