//! The bus: device events from the PBX links to the subscribers that watch each device.
//!
//! An index from device to subscribers decides who gets an event, so publishing costs one map
//! lookup per event plus one route per subscriber that watches the event's device; an event at
//! a device nobody watches costs nothing more. A link publishes the events of one PBX poll as a
//! batch, and each subscriber gets its share of the batch as one queued delivery, so the queue
//! operations, the wake-ups and the reference counting are per batch, not per event.
//!
//! A subscriber watches each device with a [`Tag`] of its own choosing, which comes back with
//! every event of the device: a CSTA connection uses it to find the event's monitors by index
//! instead of hashing the device per delivery.
//!
//! Each subscriber has its own bounded queue, counted in deliveries (an event, a notice), and
//! gets its events in the order they were published. The publisher, a PBX link's task, never
//! waits: what finds the queue full is dropped and counted, and after a loss nothing reaches the
//! subscriber before [`Delivery::Lost`] with the count, so its client can be told.
//!
//! The events of a batch are shared by every subscriber that watches their devices, with their
//! encodings: the first subscriber that needs an event in a CSTA edition encodes it; the others
//! copy its bytes.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use csta::edition::Edition;
use csta::error::FrameError;
use csta::frame::EventTemplate;
use dashmap::DashMap;
use tokio::sync::mpsc;

use crate::events::{DeviceEvent, DeviceId};

/// A subscriber's own label for a device it watches, handed back with each of the device's
/// events.
pub type Tag = u64;

/// What a subscriber receives, in publishing order.
#[derive(Clone, Debug)]
pub enum Delivery {
    /// Events at devices the subscriber watches, from one published batch.
    Events(Events),
    /// The set of lines of a PBX changed (lines added, removed or renamed).
    LinesChanged {
        /// The PBX system.
        pbx: Arc<str>,
    },
    /// The subscriber's queue was full: this many deliveries were dropped since the previous
    /// delivery.
    Lost(u64),
}

impl Delivery {
    /// The room the delivery takes in a queue: one per event, one for anything else.
    fn weight(&self) -> usize {
        match self {
            Self::Events(events) => events.len(),
            Self::LinesChanged { .. } | Self::Lost(_) => 1,
        }
    }
}

/// A subscriber's share of one published batch: the events at the devices it watches, in
/// publishing order, each with the tag the device is watched with.
#[derive(Clone, Debug)]
pub struct Events {
    batch: Arc<Batch>,
    /// The subscriber's routes in `batch.routes`.
    start: usize,
    end: usize,
}

impl Events {
    /// The events with their tags, in publishing order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&SharedEvent, Tag)> + '_ {
        let batch = &*self.batch;
        batch.routes[self.start..self.end]
            .iter()
            .map(|route| (&*batch.events[route.event], route.tag))
    }

    /// The number of events.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether there are no events (never, as delivered).
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// One published batch: its events, and who gets which, grouped by subscriber.
///
/// A queued delivery keeps its batch alive. So that a subscriber that stopped reading holds
/// little more than its own share, a share much smaller than the batch gets a batch of its
/// own events (the same shared events, so encodings are still shared); see [`OWN_BATCH`].
#[derive(Debug)]
struct Batch {
    events: Box<[Arc<SharedEvent>]>,
    routes: Box<[Route]>,
}

/// A subscriber whose share of a batch is less than this fraction (1 / `OWN_BATCH`) of the
/// batch's events gets a batch of its own: a queued delivery then keeps at most `OWN_BATCH`
/// events alive per event it counts against the queue's bound.
const OWN_BATCH: usize = 8;

/// An event of a batch for one watcher of its device.
#[derive(Clone, Copy, Debug)]
struct Route {
    /// The index of the event in its batch.
    event: usize,
    tag: Tag,
}

/// A published device event, shared by every subscriber that watches its device, with its
/// encodings: encoding is per event and edition, not per subscriber.
#[derive(Debug)]
pub struct SharedEvent {
    event: DeviceEvent,
    /// The encodings in the first editions asked for; nearly always one edition is used.
    templates: [OnceLock<(Edition, Result<EventTemplate, FrameError>)>; CACHED_EDITIONS],
}

/// Editions whose encoding of an event is kept; others are encoded per subscriber.
const CACHED_EDITIONS: usize = 2;

impl SharedEvent {
    fn new(event: DeviceEvent) -> Self {
        Self {
            event,
            templates: Default::default(),
        }
    }

    /// The event.
    pub fn event(&self) -> &DeviceEvent {
        &self.event
    }

    /// The event encoded in `edition`: by `encode` for the first subscriber that asks, read
    /// without a lock for the others (who wait while it is being encoded rather than encode it
    /// twice).
    pub fn template(
        &self,
        edition: Edition,
        encode: impl Fn() -> Result<EventTemplate, FrameError>,
    ) -> Result<Cow<'_, EventTemplate>, FrameError> {
        for slot in &self.templates {
            let (known, template) = slot.get_or_init(|| (edition, encode()));
            if *known == edition {
                return template.as_ref().map(Cow::Borrowed).map_err(|error| *error);
            }
        }
        encode().map(Cow::Owned)
    }
}

/// The bus shared by the registry and every subscription.
#[derive(Debug)]
pub(super) struct Bus {
    /// The most deliveries a subscriber's queue holds.
    capacity: usize,
    watchers: DashMap<DeviceId, Vec<Watcher>>,
    /// Subscribers told when a PBX's set of lines changes.
    device_changes: Mutex<Vec<Arc<Subscriber>>>,
    next_id: AtomicU64,
    /// Deliveries offered to subscriber queues (including those dropped as lost).
    deliveries: AtomicU64,
}

/// A subscriber of a device, with its tag for the device.
#[derive(Debug)]
struct Watcher {
    subscriber: Arc<Subscriber>,
    tag: Tag,
}

/// The publisher's end of one subscription.
#[derive(Debug)]
struct Subscriber {
    id: u64,
    queue: mpsc::UnboundedSender<Delivery>,
    /// The most deliveries queued at once.
    capacity: usize,
    /// Deliveries queued and not yet taken by the subscription: the bound of the queue.
    queued: AtomicUsize,
    /// Deliveries dropped since the last `Lost` notice was queued.
    lost: AtomicU64,
    /// Held while offering: several PBX links may publish to one subscriber at once, and the
    /// loss notice must reach the queue before any delivery that was offered after the loss.
    offering: Mutex<()>,
}

impl Bus {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            watchers: DashMap::new(),
            device_changes: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
            deliveries: AtomicU64::new(0),
        }
    }

    /// Hands each subscriber, as one delivery, the events of the batch at the devices it
    /// watches, in order.
    pub(super) fn publish(&self, events: Vec<DeviceEvent>) {
        let mut routed: Vec<(Arc<Subscriber>, Route)> = Vec::new();
        for (index, event) in events.iter().enumerate() {
            if let Some(watchers) = self.watchers.get(&event.device) {
                routed.extend(watchers.iter().map(|watcher| {
                    let route = Route {
                        event: index,
                        tag: watcher.tag,
                    };
                    (Arc::clone(&watcher.subscriber), route)
                }));
            }
        }
        if routed.is_empty() {
            return;
        }
        // A stable sort: each subscriber's routes together, still in publishing order.
        routed.sort_by_key(|(subscriber, _)| subscriber.id);
        let batch = Arc::new(Batch {
            events: events
                .into_iter()
                .map(|event| Arc::new(SharedEvent::new(event)))
                .collect(),
            routes: routed.iter().map(|(_, route)| *route).collect(),
        });
        self.deliveries
            .fetch_add(routed.len() as u64, Ordering::Relaxed);
        let mut start = 0;
        for run in routed.chunk_by(|a, b| a.0.id == b.0.id) {
            let end = start + run.len();
            let share = if run.len() * OWN_BATCH < batch.events.len() {
                let own = Batch {
                    events: run
                        .iter()
                        .map(|(_, route)| Arc::clone(&batch.events[route.event]))
                        .collect(),
                    routes: run
                        .iter()
                        .enumerate()
                        .map(|(event, (_, route))| Route {
                            event,
                            tag: route.tag,
                        })
                        .collect(),
                };
                (Arc::new(own), 0)
            } else {
                (Arc::clone(&batch), start)
            };
            run[0].0.offer(run.len(), |count| {
                Delivery::Events(Events {
                    batch: share.0,
                    start: share.1,
                    end: share.1 + count,
                })
            });
            start = end;
        }
    }

    /// Tells every subscriber that watches device changes that a PBX's lines changed.
    pub(super) fn publish_lines_changed(&self, pbx: &Arc<str>) {
        let subscribers = self.lock_device_changes();
        for subscriber in subscribers.iter() {
            subscriber.offer(1, |_| Delivery::LinesChanged { pbx: pbx.clone() });
        }
        self.deliveries
            .fetch_add(subscribers.len() as u64, Ordering::Relaxed);
    }

    pub(super) fn deliveries(&self) -> u64 {
        self.deliveries.load(Ordering::Relaxed)
    }

    /// How many subscribers watch `device`.
    pub(super) fn watchers(&self, device: &str) -> usize {
        self.watchers
            .get(device)
            .map_or(0, |watchers| watchers.len())
    }

    fn unwatch(&self, device: &DeviceId, id: u64) {
        if let Some(mut watchers) = self.watchers.get_mut(device) {
            watchers.retain(|watcher| watcher.subscriber.id != id);
        }
        // A separate step: removing while the entry above is held would deadlock its shard.
        self.watchers
            .remove_if(device, |_, watchers| watchers.is_empty());
    }

    fn lock_device_changes(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Subscriber>>> {
        // The critical sections only push or retain; a poisoned list is still consistent.
        self.device_changes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Subscriber {
    /// Queues up to `count` deliveries as the one made by `delivery` (given how many fit)
    /// without waiting; what finds no room is dropped and counted. After a loss the notice
    /// goes first, and nothing is queued until there is room for it and a delivery behind it.
    fn offer(&self, count: usize, delivery: impl FnOnce(usize) -> Delivery) {
        // The critical section holds no other lock and never waits; a poisoned lock guards
        // nothing that could be inconsistent.
        let _offering = self.offering.lock().unwrap_or_else(PoisonError::into_inner);
        let notice = usize::from(self.lost.load(Ordering::Relaxed) > 0);
        let granted = self.reserve(count + notice, 1 + notice);
        if granted == 0 {
            self.lost.fetch_add(count as u64, Ordering::Relaxed);
            return;
        }
        if notice == 1 {
            match self.lost.swap(0, Ordering::Relaxed) {
                // The subscription took the count meanwhile: it ends.
                0 => {
                    self.queued.fetch_sub(1, Ordering::Relaxed);
                }
                lost => self.send(Delivery::Lost(lost)),
            }
        }
        let taken = granted - notice;
        self.send(delivery(taken));
        if taken < count {
            self.lost
                .fetch_add((count - taken) as u64, Ordering::Relaxed);
        }
    }

    /// Takes room for up to `want` deliveries, and at least `least`; returns how many were
    /// granted (none when fewer than `least` fit).
    ///
    /// An empty queue takes a whole offer however large, so that one batch (every line of a
    /// PBX going out of service at once, say) is never cut short for a subscriber that keeps
    /// up; the bound is then the larger of the capacity and one batch's share.
    fn reserve(&self, want: usize, least: usize) -> usize {
        let mut queued = self.queued.load(Ordering::Relaxed);
        loop {
            let room = if queued == 0 {
                want.max(self.capacity)
            } else {
                self.capacity.saturating_sub(queued)
            };
            if room < least {
                return 0;
            }
            let granted = want.min(room);
            match self.queued.compare_exchange_weak(
                queued,
                queued + granted,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return granted,
                Err(now) => queued = now,
            }
        }
    }

    fn send(&self, delivery: Delivery) {
        // Fails only once the subscription is gone, and with it the need to deliver.
        let _ = self.queue.send(delivery);
    }
}

/// A subscriber's end of the bus: its queue and the devices it watches. Dropping it removes
/// every trace of it from the bus.
#[derive(Debug)]
pub struct Subscription {
    bus: Arc<Bus>,
    subscriber: Arc<Subscriber>,
    queue: mpsc::UnboundedReceiver<Delivery>,
    /// The devices watched, with their tags.
    watched: HashMap<DeviceId, Tag>,
    device_changes: bool,
}

impl Subscription {
    pub(super) fn new(bus: Arc<Bus>, capacity: usize) -> Self {
        let (sender, queue) = mpsc::unbounded_channel();
        let subscriber = Arc::new(Subscriber {
            id: bus.next_id.fetch_add(1, Ordering::Relaxed),
            queue: sender,
            capacity: capacity.clamp(1, bus.capacity),
            queued: AtomicUsize::new(0),
            lost: AtomicU64::new(0),
            offering: Mutex::new(()),
        });
        Self {
            bus,
            subscriber,
            queue,
            watched: HashMap::new(),
            device_changes: false,
        }
    }

    /// Receives the events of `device` from now on, each with `tag`; watching a device again
    /// only replaces its tag (for events published from then on).
    pub fn watch(&mut self, device: &DeviceId, tag: Tag) {
        match self.watched.entry(device.clone()) {
            Entry::Occupied(mut known) => {
                if *known.get() != tag {
                    known.insert(tag);
                    let id = self.subscriber.id;
                    if let Some(mut watchers) = self.bus.watchers.get_mut(device) {
                        for watcher in watchers.iter_mut().filter(|w| w.subscriber.id == id) {
                            watcher.tag = tag;
                        }
                    }
                }
            }
            Entry::Vacant(new) => {
                new.insert(tag);
                self.bus
                    .watchers
                    .entry(device.clone())
                    // Most devices have one watcher: no room for more until needed.
                    .or_insert_with(|| Vec::with_capacity(1))
                    .push(Watcher {
                        subscriber: Arc::clone(&self.subscriber),
                        tag,
                    });
            }
        }
    }

    /// Stops receiving the events of `device` (events already queued stay queued).
    pub fn unwatch(&mut self, device: &DeviceId) {
        if self.watched.remove(device).is_some() {
            self.bus.unwatch(device, self.subscriber.id);
        }
    }

    /// Stops receiving device events.
    pub fn unwatch_all(&mut self) {
        for (device, _) in std::mem::take(&mut self.watched) {
            self.bus.unwatch(&device, self.subscriber.id);
        }
    }

    /// Receives [`Delivery::LinesChanged`] from now on.
    pub fn watch_device_changes(&mut self) {
        if !self.device_changes {
            self.device_changes = true;
            self.bus
                .lock_device_changes()
                .push(Arc::clone(&self.subscriber));
        }
    }

    /// Waits for deliveries and moves them into `buffer` until they hold at least `limit`
    /// events and notices (or the queue is empty); returns how many they hold. Cancel-safe.
    pub async fn recv_many(&mut self, buffer: &mut Vec<Delivery>, limit: usize) -> usize {
        // The subscription holds a sender itself, so the queue never closes.
        let Some(first) = self.queue.recv().await else {
            return 0;
        };
        let mut taken = first.weight();
        buffer.push(first);
        while taken < limit {
            match self.queue.try_recv() {
                Ok(delivery) => {
                    taken += delivery.weight();
                    buffer.push(delivery);
                }
                Err(_) => break,
            }
        }
        self.subscriber.queued.fetch_sub(taken, Ordering::Relaxed);
        taken
    }

    /// Takes the count of dropped deliveries not yet announced by [`Delivery::Lost`].
    pub fn take_lost(&self) -> u64 {
        self.subscriber.lost.swap(0, Ordering::Relaxed)
    }

    /// The number of devices watched.
    pub fn watched(&self) -> usize {
        self.watched.len()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.unwatch_all();
        if self.device_changes {
            let id = self.subscriber.id;
            self.bus
                .lock_device_changes()
                .retain(|subscriber| subscriber.id != id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use csta::events::{BackInServiceEvent, Event};
    use csta::types::DeviceRef;
    use futures_util::FutureExt;

    use super::*;
    use crate::events::{EventKind, LocalState};

    fn event(device: &str) -> DeviceEvent {
        DeviceEvent {
            device: DeviceId::new(device),
            call: None,
            local: LocalState::Null,
            kind: EventKind::BackInService,
            conf: None,
        }
    }

    fn batch(devices: &[&str]) -> Vec<DeviceEvent> {
        devices.iter().map(|device| event(device)).collect()
    }

    fn watch(subscription: &mut Subscription, device: &str) {
        subscription.watch(&DeviceId::new(device), 0);
    }

    /// Everything queued, taken as the connection takes it.
    fn drain(subscription: &mut Subscription) -> Vec<Delivery> {
        let mut deliveries = Vec::new();
        subscription
            .recv_many(&mut deliveries, usize::MAX)
            .now_or_never();
        deliveries
    }

    /// One entry per event or notice.
    fn devices(deliveries: &[Delivery]) -> Vec<String> {
        deliveries
            .iter()
            .flat_map(|delivery| match delivery {
                Delivery::Events(events) => events
                    .iter()
                    .map(|(shared, _)| shared.event().device.to_string())
                    .collect(),
                Delivery::LinesChanged { pbx } => vec![format!("lines of {pbx}")],
                Delivery::Lost(count) => vec![format!("lost {count}")],
            })
            .collect()
    }

    fn tagged(deliveries: &[Delivery]) -> Vec<Vec<(String, Tag)>> {
        deliveries
            .iter()
            .map(|delivery| match delivery {
                Delivery::Events(events) => events
                    .iter()
                    .map(|(shared, tag)| (shared.event().device.to_string(), tag))
                    .collect(),
                other => panic!("not events: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn only_watchers_of_a_device_get_its_events_in_order() {
        let bus = Arc::new(Bus::new(1024));
        let mut first = Subscription::new(bus.clone(), 64);
        let mut second = Subscription::new(bus.clone(), 64);
        watch(&mut first, "201");
        watch(&mut first, "202");
        watch(&mut second, "202");
        for device in ["201", "202", "203", "201"] {
            bus.publish(vec![event(device)]);
        }
        assert_eq!(devices(&drain(&mut first)), ["201", "202", "201"]);
        assert_eq!(devices(&drain(&mut second)), ["202"]);
        assert_eq!(
            bus.deliveries(),
            4,
            "the event at 203 was offered to nobody"
        );
    }

    #[test]
    fn a_batch_is_one_delivery_per_subscriber_in_order_with_its_tags() {
        let bus = Arc::new(Bus::new(1024));
        let mut first = Subscription::new(bus.clone(), 64);
        let mut second = Subscription::new(bus.clone(), 64);
        let mut idle = Subscription::new(bus.clone(), 64);
        first.watch(&DeviceId::new("201"), 7);
        first.watch(&DeviceId::new("202"), 9);
        second.watch(&DeviceId::new("202"), 1);
        idle.watch(&DeviceId::new("209"), 3);
        bus.publish(batch(&["201", "202", "203", "201", "202"]));
        let tag = |device: &str, tag| (device.to_owned(), tag);
        assert_eq!(
            tagged(&drain(&mut first)),
            [vec![
                tag("201", 7),
                tag("202", 9),
                tag("201", 7),
                tag("202", 9)
            ]]
        );
        assert_eq!(
            tagged(&drain(&mut second)),
            [vec![tag("202", 1), tag("202", 1)]]
        );
        assert!(drain(&mut idle).is_empty());
        assert_eq!(bus.deliveries(), 6);
        bus.publish(Vec::new());
        bus.publish(batch(&["203"]));
        assert_eq!(bus.deliveries(), 6, "nothing for nobody");
    }

    #[test]
    fn watching_again_replaces_the_tag_for_later_events() {
        let bus = Arc::new(Bus::new(1024));
        let mut subscription = Subscription::new(bus.clone(), 64);
        let device = DeviceId::new("201");
        subscription.watch(&device, 1);
        bus.publish(batch(&["201"]));
        subscription.watch(&device, 2);
        bus.publish(batch(&["201"]));
        let deliveries = drain(&mut subscription);
        let tags: Vec<Tag> = tagged(&deliveries)
            .into_iter()
            .flatten()
            .map(|(_, tag)| tag)
            .collect();
        assert_eq!(tags, [1, 2], "the queued event keeps its tag");
        assert_eq!((bus.watchers("201"), subscription.watched()), (1, 1));
    }

    #[test]
    fn an_event_nobody_watches_costs_no_delivery() {
        let bus = Arc::new(Bus::new(1024));
        let mut subscription = Subscription::new(bus.clone(), 64);
        watch(&mut subscription, "201");
        bus.publish(batch(&["202"]));
        assert_eq!(bus.deliveries(), 0);
        assert!(drain(&mut subscription).is_empty());
        assert_eq!(bus.watchers.len(), 1);
    }

    #[test]
    fn unwatching_and_dropping_leave_no_subscriber_behind() {
        let bus = Arc::new(Bus::new(1024));
        let mut subscription = Subscription::new(bus.clone(), 64);
        let mut other = Subscription::new(bus.clone(), 64);
        let device = DeviceId::new("201");
        subscription.watch(&device, 0);
        subscription.watch(&device, 0);
        other.watch(&device, 0);
        assert_eq!((bus.watchers("201"), subscription.watched()), (2, 1));
        subscription.unwatch(&device);
        assert_eq!(bus.watchers("201"), 1);
        subscription.unwatch(&device);
        assert_eq!(
            bus.watchers("201"),
            1,
            "unwatching twice removes nobody else"
        );
        subscription.watch(&device, 0);
        watch(&mut subscription, "202");
        subscription.watch_device_changes();
        other.watch_device_changes();
        drop(subscription);
        assert_eq!((bus.watchers("201"), bus.watchers("202")), (1, 0));
        assert_eq!(bus.lock_device_changes().len(), 1);
        drop(other);
        assert!(bus.watchers.is_empty());
        assert!(bus.lock_device_changes().is_empty());
    }

    #[test]
    fn a_full_queue_drops_and_announces_the_loss_before_the_next_delivery() {
        let bus = Arc::new(Bus::new(1024));
        let mut slow = Subscription::new(bus.clone(), 4);
        let mut fast = Subscription::new(bus.clone(), 64);
        watch(&mut slow, "201");
        watch(&mut fast, "201");
        for _ in 0..10 {
            bus.publish(batch(&["201"]));
        }
        assert_eq!(
            devices(&drain(&mut fast)).len(),
            10,
            "the fast subscriber lost nothing"
        );
        assert_eq!(devices(&drain(&mut slow)), ["201"; 4]);
        bus.publish(batch(&["201"]));
        assert_eq!(devices(&drain(&mut slow)), ["lost 6", "201"]);
        assert_eq!(slow.take_lost(), 0);
        // Lost again, and the subscriber ends before the next event: the count is still known.
        for _ in 0..6 {
            bus.publish(batch(&["201"]));
        }
        assert_eq!(slow.take_lost(), 2);
        assert_eq!(bus.deliveries(), 2 * 17);
    }

    #[test]
    fn a_batch_that_partly_fits_delivers_its_first_events() {
        let bus = Arc::new(Bus::new(1024));
        let mut slow = Subscription::new(bus.clone(), 4);
        for device in ["201", "202", "203", "204", "205"] {
            watch(&mut slow, device);
        }
        bus.publish(batch(&["201", "202", "203"]));
        bus.publish(batch(&["204", "205"]));
        assert_eq!(devices(&drain(&mut slow)), ["201", "202", "203", "204"]);
        // The notice and an event take two places; the first two of three events fill the
        // other two.
        bus.publish(batch(&["201"]));
        bus.publish(batch(&["202", "203", "204"]));
        assert_eq!(devices(&drain(&mut slow)), ["lost 1", "201", "202", "203"]);
        assert_eq!(slow.take_lost(), 1);
    }

    #[test]
    fn an_empty_queue_takes_a_whole_batch_however_large() {
        let bus = Arc::new(Bus::new(1024));
        let mut subscription = Subscription::new(bus.clone(), 4);
        watch(&mut subscription, "201");
        bus.publish(batch(&["201"; 10]));
        assert_eq!(devices(&drain(&mut subscription)), ["201"; 10]);
        assert_eq!(subscription.take_lost(), 0);
        // Behind it, the bound holds again.
        bus.publish(batch(&["201"; 3]));
        bus.publish(batch(&["201"; 3]));
        assert_eq!(devices(&drain(&mut subscription)), ["201"; 4]);
        assert_eq!(subscription.take_lost(), 2);
    }

    #[test]
    fn a_small_share_of_a_large_batch_keeps_only_its_own_events() {
        let bus = Arc::new(Bus::new(1024));
        let mut small = Subscription::new(bus.clone(), 64);
        let mut large = Subscription::new(bus.clone(), 64);
        watch(&mut small, "201");
        let devices: Vec<String> = (0..20).map(|n| format!("{}", 300 + n)).collect();
        for device in &devices {
            watch(&mut large, device);
        }
        watch(&mut large, "201");
        let mut published: Vec<&str> = devices.iter().map(String::as_str).collect();
        published.insert(7, "201");
        bus.publish(batch(&published));
        let mut small_deliveries = Vec::new();
        small.recv_many(&mut small_deliveries, 64).now_or_never();
        let mut large_deliveries = Vec::new();
        large.recv_many(&mut large_deliveries, 64).now_or_never();
        let [Delivery::Events(small_events)] = small_deliveries.as_slice() else {
            panic!("one delivery: {small_deliveries:?}");
        };
        let [Delivery::Events(large_events)] = large_deliveries.as_slice() else {
            panic!("one delivery: {large_deliveries:?}");
        };
        assert_eq!(small_events.batch.events.len(), 1, "its own batch");
        assert_eq!(large_events.batch.events.len(), 21, "the shared batch");
        // The same event, encoded once for both.
        let (mine, _) = small_events.iter().next().expect("an event");
        let (theirs, _) = large_events.iter().nth(7).expect("an event");
        assert!(std::ptr::eq(mine, theirs));
    }

    #[test]
    fn nothing_passes_a_loss_until_the_notice_fits_with_a_delivery() {
        let bus = Arc::new(Bus::new(1024));
        let mut slow = Subscription::new(bus.clone(), 2);
        watch(&mut slow, "201");
        watch(&mut slow, "202");
        for _ in 0..3 {
            bus.publish(batch(&["201"]));
        }
        let mut taken = Vec::new();
        assert_eq!(slow.recv_many(&mut taken, 1).now_or_never(), Some(1));
        // One place free: the notice needs two, so the event is dropped too.
        bus.publish(batch(&["202"]));
        assert_eq!(devices(&drain(&mut slow)), ["201"]);
        bus.publish(batch(&["202"]));
        assert_eq!(devices(&drain(&mut slow)), ["lost 2", "202"]);
    }

    #[test]
    fn lines_changes_reach_only_those_that_asked() {
        let bus = Arc::new(Bus::new(1024));
        let mut lister = Subscription::new(bus.clone(), 8);
        let mut monitor = Subscription::new(bus.clone(), 8);
        lister.watch_device_changes();
        lister.watch_device_changes();
        watch(&mut monitor, "201");
        bus.publish_lines_changed(&Arc::from("pbx"));
        assert_eq!(devices(&drain(&mut lister)), ["lines of pbx"]);
        assert!(drain(&mut monitor).is_empty());
    }

    #[test]
    fn queues_are_bounded_by_the_bus() {
        let bus = Arc::new(Bus::new(3));
        let mut subscription = Subscription::new(bus.clone(), 100);
        watch(&mut subscription, "201");
        for _ in 0..5 {
            bus.publish(batch(&["201"]));
        }
        assert_eq!(devices(&drain(&mut subscription)).len(), 3);
        assert_eq!(subscription.take_lost(), 2);
    }

    #[tokio::test]
    async fn recv_many_takes_deliveries_up_to_the_limit_and_frees_their_room() {
        let bus = Arc::new(Bus::new(1024));
        let mut subscription = Subscription::new(bus.clone(), 6);
        watch(&mut subscription, "201");
        for _ in 0..5 {
            bus.publish(batch(&["201"]));
        }
        let mut buffer = Vec::new();
        assert_eq!(subscription.recv_many(&mut buffer, 3).await, 3);
        assert_eq!(subscription.recv_many(&mut buffer, 3).await, 2);
        assert_eq!(buffer.len(), 5);
        // A batch is taken whole, even past the limit; its room is free again afterwards.
        bus.publish(batch(&["201"; 6]));
        buffer.clear();
        assert_eq!(subscription.recv_many(&mut buffer, 3).await, 6);
        assert_eq!(buffer.len(), 1);
        bus.publish(batch(&["201"; 6]));
        assert_eq!(devices(&drain(&mut subscription)), ["201"; 6]);
        assert_eq!(subscription.take_lost(), 0);
    }

    #[test]
    fn each_edition_is_encoded_once() {
        let shared = SharedEvent::new(event("201"));
        let encoded = AtomicUsize::new(0);
        let encode = || {
            encoded.fetch_add(1, Ordering::Relaxed);
            EventTemplate::new(
                &Event::BackInService(BackInServiceEvent {
                    device: DeviceRef::Identifier(csta::ids::DeviceId::new("201").unwrap()),
                    cause: None,
                    extensions: None,
                }),
                &Edition::Ed3,
            )
        };
        let first = shared.template(Edition::Ed3, encode).unwrap();
        let again = shared.template(Edition::Ed3, encode).unwrap();
        assert!(
            matches!((&first, &again), (Cow::Borrowed(a), Cow::Borrowed(b)) if std::ptr::eq(*a, *b))
        );
        assert_eq!(encoded.load(Ordering::Relaxed), 1);
        shared.template(Edition::Ed5, encode).unwrap();
        shared.template(Edition::Ed5, encode).unwrap();
        assert_eq!(encoded.load(Ordering::Relaxed), 2);
        // A third edition for one event is rare: encoded each time, still correct.
        let third = shared.template(Edition::Ed2, encode).unwrap();
        shared.template(Edition::Ed2, encode).unwrap();
        assert!(matches!(third, Cow::Owned(_)));
        assert_eq!(encoded.load(Ordering::Relaxed), 4);

        let too_large = FrameError::BodyTooLarge { len: 1, max: 0 };
        let refused = SharedEvent::new(event("201"));
        assert_eq!(
            refused.template(Edition::Ed3, || Err(too_large)),
            Err(too_large)
        );
        assert_eq!(
            refused.template(Edition::Ed3, || unreachable!("cached")),
            Err(too_large)
        );
    }
}
