//! The bus: device events from the PBX links to the subscribers that watch each device.
//!
//! An index from device to subscribers decides who gets an event, so publishing costs one map
//! lookup per event plus one queue push per subscriber that watches the event's device; an event
//! at a device nobody watches costs nothing more. Each subscriber (a CSTA connection) has its
//! own bounded queue and gets its events in the order they were published. The publisher, a PBX
//! link's task, never waits: when a queue is full the delivery is dropped and counted, and the
//! subscriber's next delivery is preceded by [`Delivery::Lost`] with the count, so its client
//! can be told.
//!
//! One [`SharedEvent`] goes to every subscriber of the event's device. The first subscriber that
//! needs the event in a CSTA edition encodes it; the others copy its bytes.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use csta::edition::Edition;
use csta::error::FrameError;
use csta::frame::EventTemplate;
use dashmap::DashMap;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::events::{DeviceEvent, DeviceId};

/// What a subscriber receives, in publishing order.
#[derive(Clone, Debug)]
pub enum Delivery {
    /// An event at a device the subscriber watches.
    Device(Arc<SharedEvent>),
    /// The set of lines of a PBX changed (lines added, removed or renamed).
    LinesChanged {
        /// The PBX system.
        pbx: Arc<str>,
    },
    /// The subscriber's queue was full: this many deliveries were dropped since the previous
    /// delivery.
    Lost(u64),
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
    watchers: DashMap<DeviceId, Vec<Arc<Subscriber>>>,
    /// Subscribers told when a PBX's set of lines changes.
    device_changes: Mutex<Vec<Arc<Subscriber>>>,
    next_id: AtomicU64,
    /// Deliveries offered to subscriber queues (including those dropped as lost).
    deliveries: AtomicU64,
}

/// The publisher's end of one subscription.
#[derive(Debug)]
struct Subscriber {
    id: u64,
    queue: mpsc::Sender<Delivery>,
    /// Deliveries dropped since the last `Lost` notice was queued.
    lost: AtomicU64,
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

    /// Hands `event` to every subscriber that watches its device.
    pub(super) fn publish(&self, event: DeviceEvent) {
        let Some(watchers) = self.watchers.get(&event.device) else {
            return;
        };
        let shared = Arc::new(SharedEvent::new(event));
        for subscriber in watchers.iter() {
            subscriber.offer(Delivery::Device(Arc::clone(&shared)));
        }
        self.deliveries
            .fetch_add(watchers.len() as u64, Ordering::Relaxed);
    }

    /// Tells every subscriber that watches device changes that a PBX's lines changed.
    pub(super) fn publish_lines_changed(&self, pbx: &Arc<str>) {
        let subscribers = self.lock_device_changes();
        for subscriber in subscribers.iter() {
            subscriber.offer(Delivery::LinesChanged { pbx: pbx.clone() });
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
            watchers.retain(|subscriber| subscriber.id != id);
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
    /// Queues a delivery without waiting; a full queue drops it and counts the loss.
    fn offer(&self, delivery: Delivery) {
        // The notice goes first once there is room for it and the delivery behind it.
        if self.lost.load(Ordering::Relaxed) > 0 && self.queue.capacity() >= 2 {
            let lost = self.lost.swap(0, Ordering::Relaxed);
            if lost > 0 && self.queue.try_send(Delivery::Lost(lost)).is_err() {
                self.lost.fetch_add(lost, Ordering::Relaxed);
            }
        }
        match self.queue.try_send(delivery) {
            Ok(()) | Err(TrySendError::Closed(_)) => {}
            Err(TrySendError::Full(_)) => {
                self.lost.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// A subscriber's end of the bus: its queue and the devices it watches. Dropping it removes
/// every trace of it from the bus.
#[derive(Debug)]
pub struct Subscription {
    bus: Arc<Bus>,
    subscriber: Arc<Subscriber>,
    queue: mpsc::Receiver<Delivery>,
    watched: HashSet<DeviceId>,
    device_changes: bool,
}

impl Subscription {
    pub(super) fn new(bus: Arc<Bus>, capacity: usize) -> Self {
        let (sender, queue) = mpsc::channel(capacity.clamp(1, bus.capacity));
        let subscriber = Arc::new(Subscriber {
            id: bus.next_id.fetch_add(1, Ordering::Relaxed),
            queue: sender,
            lost: AtomicU64::new(0),
        });
        Self {
            bus,
            subscriber,
            queue,
            watched: HashSet::new(),
            device_changes: false,
        }
    }

    /// Receives the events of `device` from now on; watching a device twice changes nothing.
    pub fn watch(&mut self, device: &DeviceId) {
        if self.watched.insert(device.clone()) {
            self.bus
                .watchers
                .entry(device.clone())
                // Most devices have one watcher: no room for more until needed.
                .or_insert_with(|| Vec::with_capacity(1))
                .push(Arc::clone(&self.subscriber));
        }
    }

    /// Stops receiving the events of `device` (events already queued stay queued).
    pub fn unwatch(&mut self, device: &DeviceId) {
        if self.watched.remove(device) {
            self.bus.unwatch(device, self.subscriber.id);
        }
    }

    /// Stops receiving device events.
    pub fn unwatch_all(&mut self) {
        for device in std::mem::take(&mut self.watched) {
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

    /// Waits for deliveries and moves up to `limit` of them into `buffer`; returns how many.
    /// Cancel-safe.
    pub async fn recv_many(&mut self, buffer: &mut Vec<Delivery>, limit: usize) -> usize {
        // The subscription holds a sender itself, so the queue never closes and `recv_many`
        // returns 0 only for a zero limit.
        self.queue.recv_many(buffer, limit.max(1)).await
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

    fn drain(subscription: &mut Subscription) -> Vec<Delivery> {
        let mut deliveries = Vec::new();
        while let Ok(delivery) = subscription.queue.try_recv() {
            deliveries.push(delivery);
        }
        deliveries
    }

    fn devices(deliveries: &[Delivery]) -> Vec<String> {
        deliveries
            .iter()
            .map(|delivery| match delivery {
                Delivery::Device(shared) => shared.event().device.to_string(),
                Delivery::LinesChanged { pbx } => format!("lines of {pbx}"),
                Delivery::Lost(count) => format!("lost {count}"),
            })
            .collect()
    }

    #[test]
    fn only_watchers_of_a_device_get_its_events_in_order() {
        let bus = Arc::new(Bus::new(1024));
        let mut first = Subscription::new(bus.clone(), 64);
        let mut second = Subscription::new(bus.clone(), 64);
        first.watch(&DeviceId::new("201"));
        first.watch(&DeviceId::new("202"));
        second.watch(&DeviceId::new("202"));
        for device in ["201", "202", "203", "201"] {
            bus.publish(event(device));
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
    fn an_event_nobody_watches_costs_no_delivery() {
        let bus = Arc::new(Bus::new(1024));
        let mut subscription = Subscription::new(bus.clone(), 64);
        subscription.watch(&DeviceId::new("201"));
        bus.publish(event("202"));
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
        subscription.watch(&device);
        subscription.watch(&device);
        other.watch(&device);
        assert_eq!((bus.watchers("201"), subscription.watched()), (2, 1));
        subscription.unwatch(&device);
        assert_eq!(bus.watchers("201"), 1);
        subscription.unwatch(&device);
        assert_eq!(
            bus.watchers("201"),
            1,
            "unwatching twice removes nobody else"
        );
        subscription.watch(&device);
        subscription.watch(&DeviceId::new("202"));
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
        slow.watch(&DeviceId::new("201"));
        fast.watch(&DeviceId::new("201"));
        for _ in 0..10 {
            bus.publish(event("201"));
        }
        assert_eq!(
            drain(&mut fast).len(),
            10,
            "the fast subscriber lost nothing"
        );
        assert_eq!(devices(&drain(&mut slow)), ["201"; 4]);
        bus.publish(event("201"));
        assert_eq!(devices(&drain(&mut slow)), ["lost 6", "201"]);
        assert_eq!(slow.take_lost(), 0);
        // Lost again, and the subscriber ends before the next event: the count is still known.
        for _ in 0..6 {
            bus.publish(event("201"));
        }
        assert_eq!(slow.take_lost(), 2);
        assert_eq!(bus.deliveries(), 2 * 17);
    }

    #[test]
    fn the_notice_waits_for_room_for_itself_and_the_next_delivery() {
        let bus = Arc::new(Bus::new(1024));
        let mut slow = Subscription::new(bus.clone(), 2);
        slow.watch(&DeviceId::new("201"));
        for _ in 0..3 {
            bus.publish(event("201"));
        }
        assert_eq!(slow.queue.try_recv().map(|_| ()), Ok(()));
        // One slot free: the event takes it, the notice waits.
        bus.publish(event("201"));
        assert_eq!(devices(&drain(&mut slow)), ["201", "201"]);
        bus.publish(event("201"));
        assert_eq!(devices(&drain(&mut slow)), ["lost 1", "201"]);
    }

    #[test]
    fn lines_changes_reach_only_those_that_asked() {
        let bus = Arc::new(Bus::new(1024));
        let mut lister = Subscription::new(bus.clone(), 8);
        let mut monitor = Subscription::new(bus.clone(), 8);
        lister.watch_device_changes();
        lister.watch_device_changes();
        monitor.watch(&DeviceId::new("201"));
        bus.publish_lines_changed(&Arc::from("pbx"));
        assert_eq!(devices(&drain(&mut lister)), ["lines of pbx"]);
        assert!(drain(&mut monitor).is_empty());
    }

    #[test]
    fn queues_are_bounded_by_the_bus() {
        let bus = Arc::new(Bus::new(3));
        let mut subscription = Subscription::new(bus.clone(), 100);
        subscription.watch(&DeviceId::new("201"));
        for _ in 0..5 {
            bus.publish(event("201"));
        }
        assert_eq!(drain(&mut subscription).len(), 3);
        assert_eq!(subscription.take_lost(), 2);
    }

    #[tokio::test]
    async fn recv_many_takes_what_is_queued_up_to_the_limit() {
        let bus = Arc::new(Bus::new(1024));
        let mut subscription = Subscription::new(bus.clone(), 64);
        subscription.watch(&DeviceId::new("201"));
        for _ in 0..5 {
            bus.publish(event("201"));
        }
        let mut buffer = Vec::new();
        assert_eq!(subscription.recv_many(&mut buffer, 3).await, 3);
        assert_eq!(subscription.recv_many(&mut buffer, 3).await, 2);
        assert_eq!(buffer.len(), 5);
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
