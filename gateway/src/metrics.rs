//! Prometheus metrics of the daemon: counters updated by the server and the links, gauges read
//! from the registry when scraped.

use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry as MetricRegistry;

use crate::registry::Registry;

/// The daemon's metrics; cheap to clone.
#[derive(Clone, Debug)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    metrics: MetricRegistry,
    connections_opened: Counter,
    connections_closed: Counter,
    tls_failures: Counter,
    monitors_started: Counter,
    events_lost: Counter,
    events_published: Gauge,
    lines: Gauge,
    lines_in_service: Gauge,
    calls: Gauge,
    links_up: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut metrics = MetricRegistry::with_prefix("cti_gateway");
        let connections_opened = Counter::default();
        metrics.register(
            "csta_connections_opened",
            "CSTA connections accepted",
            connections_opened.clone(),
        );
        let connections_closed = Counter::default();
        metrics.register(
            "csta_connections_closed",
            "CSTA connections closed",
            connections_closed.clone(),
        );
        let tls_failures = Counter::default();
        metrics.register(
            "csta_tls_handshake_failures",
            "TLS handshakes that failed or timed out",
            tls_failures.clone(),
        );
        let monitors_started = Counter::default();
        metrics.register(
            "csta_monitors_started",
            "MonitorStart requests granted",
            monitors_started.clone(),
        );
        let events_lost = Counter::default();
        metrics.register(
            "csta_events_lost",
            "Events dropped for clients that did not read fast enough",
            events_lost.clone(),
        );
        let events_published = Gauge::default();
        metrics.register(
            "events_published",
            "Device events published by the PBX links",
            events_published.clone(),
        );
        let lines = Gauge::default();
        metrics.register("lines", "Lines known", lines.clone());
        let lines_in_service = Gauge::default();
        metrics.register(
            "lines_in_service",
            "Lines in service",
            lines_in_service.clone(),
        );
        let calls = Gauge::default();
        metrics.register("calls", "Calls in progress", calls.clone());
        let links_up = Gauge::default();
        metrics.register(
            "pbx_links_up",
            "PBX systems whose master or standby session is up",
            links_up.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                metrics,
                connections_opened,
                connections_closed,
                tls_failures,
                monitors_started,
                events_lost,
                events_published,
                lines,
                lines_in_service,
                calls,
                links_up,
            }),
        }
    }
}

impl Metrics {
    /// A connection was accepted.
    pub fn connection_opened(&self) {
        self.inner.connections_opened.inc();
    }

    /// A connection ended.
    pub fn connection_closed(&self) {
        self.inner.connections_closed.inc();
    }

    /// A TLS handshake failed.
    pub fn tls_failure(&self) {
        self.inner.tls_failures.inc();
    }

    /// A monitor was started.
    pub fn monitor_started(&self) {
        self.inner.monitors_started.inc();
    }

    /// Events were dropped for a slow client.
    pub fn events_lost(&self, count: u64) {
        self.inner.events_lost.inc_by(count);
    }

    /// The metrics in the Prometheus text format, with the gauges read from the registry now.
    pub fn render(&self, registry: &Registry) -> String {
        let inner = &self.inner;
        inner
            .events_published
            .set(i64::try_from(registry.published()).unwrap_or(i64::MAX));
        inner
            .lines
            .set(i64::try_from(registry.line_count()).unwrap_or(i64::MAX));
        inner
            .lines_in_service
            .set(i64::try_from(registry.lines_in_service()).unwrap_or(i64::MAX));
        inner
            .calls
            .set(i64::try_from(registry.call_count()).unwrap_or(i64::MAX));
        let up = registry
            .links()
            .iter()
            .filter(|(_, status)| status.up)
            .count();
        inner.links_up.set(i64::try_from(up).unwrap_or(i64::MAX));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &inner.metrics);
        text
    }
}
