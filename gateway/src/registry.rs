//! The registry: the shared, always-current mirror of every PBX's lines and calls, and the bus
//! that carries their events to any number of subscribers.
//!
//! Each PBX link is the single writer of its own lines and calls: after applying a batch of PBX
//! records to its bridge it copies the lines and calls that changed into the registry and then
//! publishes the events, so that a subscriber that reacts to an event with a snapshot sees the
//! state the event describes.
//!
//! `DashMap` is used because reads (snapshots, access checks, routing of requests) come from
//! every connection task concurrently while writes come from a few link tasks, and every
//! critical section is a short map operation: sharded locks keep readers from contending, and
//! no guard is ever held across an `.await` (enforced by `clippy.toml`). The map type never
//! appears in a signature.
//!
//! The bus (see the `bus` module) hands each event only to the subscribers that watch its
//! device, each through its own bounded queue: a subscriber that falls behind loses the
//! deliveries that find its queue full and learns how many ([`Delivery::Lost`]), which the CSTA
//! server reports to its client; nobody else waits for it.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;
use tokio::sync::watch;

use crate::bridge::{Bridge, CallSnapshot, Line};
use crate::events::{CallId, DeviceEvent, DeviceId};

mod bus;

pub use bus::{Delivery, Events, SharedEvent, Subscription, Tag};

/// A line as published: the bridge's line plus the PBX it belongs to and its calls.
///
/// Built on each read; the registry itself keeps the bridge's shared line and the ids of its
/// calls, so that a line's data exists once in memory and a call's snapshot once per call.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct LineView {
    /// The PBX system's configured name.
    pub pbx: Arc<str>,
    /// The line.
    pub line: Line,
    /// Calls at the line, the line's own connection first in each.
    pub calls: Vec<CallSnapshot>,
}

/// The state of one PBX system's link.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct LinkStatus {
    /// Whether the master (or standby) session is up.
    pub up: bool,
    /// Whether start-up found every line (or the line-determination timeout passed).
    pub ready: bool,
    /// The URL of the PBX in use.
    pub url: String,
    /// Slave locations with a session up.
    pub slaves_up: Vec<String>,
    /// The last error, if the link is down.
    pub last_error: Option<String>,
}

/// The registry handle; cheap to clone.
#[derive(Clone, Debug)]
pub struct Registry {
    inner: Arc<Inner>,
}

/// A line as the registry keeps it.
#[derive(Clone, Debug)]
struct LineEntry {
    pbx: Arc<str>,
    /// The bridge's line, shared until the bridge changes it.
    line: Arc<Line>,
    /// The calls at the line, ordered; their snapshots are in `Inner::calls`.
    calls: Box<[CallId]>,
}

#[derive(Debug)]
struct Inner {
    lines: DashMap<DeviceId, LineEntry>,
    calls: DashMap<CallId, (Arc<str>, CallSnapshot)>,
    links: DashMap<Arc<str>, LinkStatus>,
    /// Signalled after every change of `links`, so that waiters need not poll.
    links_changed: watch::Sender<()>,
    bus: Arc<bus::Bus>,
    published: AtomicU64,
    lines_version: AtomicU64,
}

impl Registry {
    /// An empty registry whose bus queues at most `capacity` deliveries per subscriber.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                lines: DashMap::new(),
                calls: DashMap::new(),
                links: DashMap::new(),
                links_changed: watch::Sender::new(()),
                bus: Arc::new(bus::Bus::new(capacity)),
                published: AtomicU64::new(0),
                lines_version: AtomicU64::new(0),
            }),
        }
    }

    /// A subscription with a queue of `capacity` deliveries (at most the registry's); it
    /// receives the events of the devices it watches from then on.
    pub fn subscribe(&self, capacity: usize) -> Subscription {
        Subscription::new(Arc::clone(&self.inner.bus), capacity)
    }

    /// Copies the given lines and calls from a PBX's bridge: lines and calls the bridge no
    /// longer has are removed. Calls go first, so that a line never names a call the registry
    /// does not know yet.
    pub fn sync_from(
        &self,
        pbx: &Arc<str>,
        bridge: &Bridge,
        devices: &[DeviceId],
        calls: &[CallId],
    ) {
        for call in calls {
            match bridge.call(call) {
                Some(snapshot) => {
                    self.inner
                        .calls
                        .insert(call.clone(), (pbx.clone(), snapshot));
                }
                None => {
                    self.inner.calls.remove(call);
                }
            }
        }
        for device in devices {
            match bridge.shared_line(device) {
                Some(line) => {
                    if let Some(other) = self.inner.lines.get(device).map(|entry| entry.pbx.clone())
                        && &other != pbx
                    {
                        tracing::warn!(
                            device = %device,
                            pbx = %pbx,
                            other = %other,
                            "two PBX systems publish the same device id; give them distinct \
                             device prefixes"
                        );
                        continue;
                    }
                    let entry = LineEntry {
                        pbx: pbx.clone(),
                        line,
                        calls: bridge.call_ids_at(device).into_boxed_slice(),
                    };
                    self.inner.lines.insert(device.clone(), entry);
                }
                None => {
                    self.inner
                        .lines
                        .remove_if(device, |_, entry| &entry.pbx == pbx);
                }
            }
        }
    }

    /// Replaces every line and call of a PBX with the bridge's (after start-up or a resync).
    pub fn sync_all(&self, pbx: &Arc<str>, bridge: &Bridge) {
        let devices: Vec<DeviceId> = bridge.lines().map(|line| line.device.clone()).collect();
        let calls = bridge.call_ids();
        let known_devices: HashSet<&DeviceId> = devices.iter().collect();
        let known_calls: HashSet<&CallId> = calls.iter().collect();
        self.inner
            .lines
            .retain(|device, entry| &entry.pbx != pbx || known_devices.contains(device));
        self.inner
            .calls
            .retain(|id, (owner, _)| owner != pbx || known_calls.contains(id));
        self.sync_from(pbx, bridge, &devices, &calls);
    }

    /// Publishes a batch of events in order, each to the subscribers that watch its device;
    /// never waits. Each subscriber gets its share of the batch as one delivery, so a link
    /// publishes what one PBX poll yields at once.
    pub fn publish(&self, events: impl IntoIterator<Item = DeviceEvent>) {
        let events: Vec<DeviceEvent> = events.into_iter().collect();
        self.inner
            .published
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        self.inner.bus.publish(events);
    }

    /// Tells subscribers that watch device changes that a PBX's set of lines changed.
    pub fn publish_lines_changed(&self, pbx: &Arc<str>) {
        self.inner.lines_version.fetch_add(1, Ordering::Relaxed);
        self.inner.bus.publish_lines_changed(pbx);
    }

    /// Deliveries handed to subscriber queues since start (an event counts once per
    /// subscriber that watches its device).
    pub fn deliveries(&self) -> u64 {
        self.inner.bus.deliveries()
    }

    /// The number of subscribers that watch `device`.
    pub fn watchers(&self, device: &str) -> usize {
        self.inner.bus.watchers(device)
    }

    /// Records the state of a PBX link.
    pub fn set_link(&self, pbx: &Arc<str>, status: LinkStatus) {
        self.inner.links.insert(pbx.clone(), status);
        self.inner.links_changed.send_replace(());
    }

    /// Waits until every PBX link has settled: finished its first sync (`ready`) or failed an
    /// attempt (`last_error`). Until then the lines are incomplete, and a client that lists
    /// them would take a PBX still starting for one without lines. Returns at once when no
    /// link is known; callers bound the wait.
    pub async fn links_settled(&self) {
        let settled = |_: &()| {
            self.inner
                .links
                .iter()
                .all(|entry| entry.ready || entry.last_error.is_some())
        };
        // The sender lives as long as `self`, so the wait ends only when the links settle.
        let _ = self.inner.links_changed.subscribe().wait_for(settled).await;
    }

    /// A line by device id.
    pub fn line(&self, device: &str) -> Option<LineView> {
        let entry = self.inner.lines.get(device)?.clone();
        Some(self.view(entry))
    }

    /// Every line, ordered by device id.
    pub fn lines(&self) -> Vec<LineView> {
        let mut entries: Vec<LineEntry> =
            self.inner.lines.iter().map(|entry| entry.clone()).collect();
        entries.sort_unstable_by(|a, b| a.line.device.cmp(&b.line.device));
        entries.into_iter().map(|entry| self.view(entry)).collect()
    }

    /// The published form of a line: its calls with the line's own connection first.
    fn view(&self, entry: LineEntry) -> LineView {
        let device = &entry.line.device;
        let calls = entry
            .calls
            .iter()
            .filter_map(|id| self.inner.calls.get(id).map(|call| call.1.clone()))
            .map(|mut call| {
                call.connections
                    .sort_by_key(|connection| connection.line.as_ref() != Some(device));
                call
            })
            .collect();
        LineView {
            pbx: entry.pbx,
            line: Line::clone(&entry.line),
            calls,
        }
    }

    /// The number of lines.
    pub fn line_count(&self) -> usize {
        self.inner.lines.len()
    }

    /// The number of lines in service.
    pub fn lines_in_service(&self) -> usize {
        self.inner
            .lines
            .iter()
            .filter(|entry| entry.line.in_service)
            .count()
    }

    /// A call by id, with the PBX it belongs to.
    pub fn call(&self, id: &str) -> Option<(Arc<str>, CallSnapshot)> {
        self.inner.calls.get(id).map(|entry| entry.clone())
    }

    /// The number of calls.
    pub fn call_count(&self) -> usize {
        self.inner.calls.len()
    }

    /// The state of every PBX link, ordered by name.
    pub fn links(&self) -> Vec<(Arc<str>, LinkStatus)> {
        let mut links: Vec<(Arc<str>, LinkStatus)> = self
            .inner
            .links
            .iter()
            .map(|entry| (entry.key().clone(), entry.value().clone()))
            .collect();
        links.sort_by(|a, b| a.0.cmp(&b.0));
        links
    }

    /// Events published since start.
    pub fn published(&self) -> u64 {
        self.inner.published.load(Ordering::Relaxed)
    }

    /// A counter that grows whenever some PBX's set of lines changes.
    pub fn lines_version(&self) -> u64 {
        self.inner.lines_version.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn status(ready: bool, last_error: Option<&str>) -> LinkStatus {
        LinkStatus {
            up: ready,
            ready,
            url: "http://127.0.0.1:1".to_owned(),
            slaves_up: Vec::new(),
            last_error: last_error.map(str::to_owned),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn links_settle_when_each_is_ready_or_has_failed() {
        let registry = Registry::new(16);
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        registry.links_settled().await;
        registry.set_link(&a, status(false, None));
        registry.set_link(&b, status(false, None));
        let wait = Duration::from_secs(60);
        let mut settled = std::pin::pin!(registry.links_settled());
        assert!(
            tokio::time::timeout(wait, &mut settled).await.is_err(),
            "both links are still starting"
        );
        registry.set_link(&a, status(true, None));
        assert!(tokio::time::timeout(wait, &mut settled).await.is_err());
        registry.set_link(&b, status(false, Some("connection refused")));
        tokio::time::timeout(Duration::ZERO, &mut settled)
            .await
            .expect("one link is ready, the other failed its attempt");
    }
}
