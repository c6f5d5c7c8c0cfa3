//! The monitors of one connection (or parked session): which devices, which events.

use std::collections::HashMap;

use csta::ids::MonitorCrossRefId;
use csta::types::{
    CallControlFilterItem as Cc, LogicalDeviceFeatureFilterItem as Ld, MaintenanceFilterItem as Mt,
    MonitorFilter,
};

use crate::events::{DeviceId, EventKind};
use crate::registry::Tag;

/// A device monitor.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(super) struct Monitor {
    /// The cross-reference id every event of the monitor carries.
    pub(super) cross_ref: MonitorCrossRefId,
    /// The monitored device.
    pub(super) device: DeviceId,
    /// Events the client does not want (`true` = filtered out).
    pub(super) filter: MonitorFilter,
}

/// The monitors of a connection, grouped by device in slots.
///
/// Every delivery names its monitors by the tag its device is watched with: the slot's index
/// and the slot's generation, so that finding them is an index, not a hash of the device, and
/// an event queued for a device before its slot was given to another is not taken for the new
/// device's. `MonitorStop` finds a monitor by cross-reference id.
#[derive(Clone, Debug, Default)]
pub(super) struct Monitors {
    slots: Vec<Slot>,
    /// Slots with no device, used again before the list grows.
    free: Vec<usize>,
    /// The slot of each monitored device.
    by_device: HashMap<DeviceId, usize>,
    /// The device of each monitor.
    devices: HashMap<String, DeviceId>,
    /// The generation the next slot given to a device gets.
    next_generation: u32,
}

/// The monitors of one device, in the order they were started; none in a free slot.
///
/// The first monitor is kept in the slot itself, next to the generation: nearly every device
/// has one monitor per connection, and a delivery then reads one place in memory, not two.
#[derive(Clone, Debug, Default)]
struct Slot {
    generation: u32,
    first: Option<Monitor>,
    more: Vec<Monitor>,
}

impl Slot {
    fn monitors(&self) -> impl Iterator<Item = &Monitor> {
        self.first.iter().chain(&self.more)
    }
}

impl Monitors {
    /// Adds a monitor; returns the tag to watch its device with when no monitor covered the
    /// device before.
    pub(super) fn add(&mut self, monitor: Monitor) -> Option<Tag> {
        self.devices.insert(
            monitor.cross_ref.as_str().to_owned(),
            monitor.device.clone(),
        );
        if let Some(&index) = self.by_device.get(&monitor.device) {
            self.slots[index].more.push(monitor);
            return None;
        }
        let index = self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot::default());
            self.slots.len() - 1
        });
        self.by_device.insert(monitor.device.clone(), index);
        let generation = self.next_generation;
        self.next_generation = generation.wrapping_add(1);
        let slot = &mut self.slots[index];
        slot.generation = generation;
        slot.first = Some(monitor);
        Some(tag(index, generation))
    }

    /// Removes a monitor by cross-reference id.
    pub(super) fn remove(&mut self, cross_ref: &str) -> Option<Monitor> {
        let device = self.devices.remove(cross_ref)?;
        let index = *self.by_device.get(&device)?;
        let slot = &mut self.slots[index];
        let position = slot
            .monitors()
            .position(|monitor| monitor.cross_ref.as_str() == cross_ref)?;
        let monitor = match position {
            // The next one, if any, moves up: the order of the others stays.
            0 => {
                let next = (!slot.more.is_empty()).then(|| slot.more.remove(0));
                std::mem::replace(&mut slot.first, next)?
            }
            _ => slot.more.remove(position - 1),
        };
        if slot.first.is_none() {
            slot.more = Vec::new();
            self.by_device.remove(&device);
            self.free.push(index);
        }
        Some(monitor)
    }

    /// Gives every device a slot generation newer than any of `before`'s, so that events still
    /// queued under `before`'s tags are not taken for these monitors; returns the devices with
    /// their new tags, to watch them with.
    pub(super) fn succeed(&mut self, before: &Self) -> Vec<(DeviceId, Tag)> {
        self.next_generation = self.next_generation.max(before.next_generation);
        let mut tags = Vec::with_capacity(self.by_device.len());
        for (device, &index) in &self.by_device {
            let generation = self.next_generation;
            self.next_generation = generation.wrapping_add(1);
            self.slots[index].generation = generation;
            tags.push((device.clone(), tag(index, generation)));
        }
        tags
    }

    /// The monitors a delivery's tag names: none when their device's slot has changed hands
    /// since the tag was given.
    pub(super) fn tagged(&self, tag: Tag) -> impl Iterator<Item = &Monitor> {
        // The low half is the index, the high half the generation (see `tag`).
        let (index, generation) = ((tag & u64::from(u32::MAX)) as usize, (tag >> 32) as u32);
        self.slots
            .get(index)
            .filter(|slot| slot.generation == generation)
            .into_iter()
            .flat_map(Slot::monitors)
    }

    /// The monitors of a device.
    #[cfg(test)]
    fn of_device(&self, device: &DeviceId) -> Vec<&Monitor> {
        self.by_device
            .get(device)
            .map_or(Vec::new(), |&index| self.slots[index].monitors().collect())
    }

    /// Whether some monitor covers the device.
    pub(super) fn covers(&self, device: &DeviceId) -> bool {
        self.by_device.contains_key(device)
    }

    /// The number of monitors.
    pub(super) fn len(&self) -> usize {
        self.devices.len()
    }
}

/// The tag of a slot: its index in the low half, its generation in the high half.
fn tag(index: usize, generation: u32) -> Tag {
    (u64::from(generation) << 32) | index as u64
}

/// Whether a monitor with `filter` reports an event of `kind` (ECMA-269: a filter flag set to
/// `true` suppresses the event; no filter reports everything).
pub(super) fn wants(filter: &MonitorFilter, kind: &EventKind) -> bool {
    let call = |item: Cc| !filter.call_control.is_some_and(|set| set.contains(item));
    let logical = |item: Ld| {
        !filter
            .logical_device_feature
            .is_some_and(|set| set.contains(item))
    };
    let maintenance = |item: Mt| !filter.maintenance.is_some_and(|set| set.contains(item));
    match kind {
        EventKind::ServiceInitiated { .. } => call(Cc::ServiceInitiated),
        EventKind::Originated { .. } => call(Cc::Originated),
        EventKind::Delivered { .. } => call(Cc::Delivered),
        EventKind::Established { .. } => call(Cc::Established),
        EventKind::Held { .. } => call(Cc::Held),
        EventKind::Retrieved { .. } => call(Cc::Retrieved),
        EventKind::ConnectionCleared { .. } => call(Cc::ConnectionCleared),
        EventKind::CallCleared { .. } => call(Cc::CallCleared),
        EventKind::Diverted { .. } => call(Cc::Diverted),
        EventKind::Transferred { .. } => call(Cc::Transferred),
        EventKind::Conferenced { .. } => call(Cc::Conferenced),
        EventKind::Failed { .. } => call(Cc::Failed),
        EventKind::Queued { .. } => call(Cc::Queued),
        EventKind::NetworkReached { .. } => call(Cc::NetworkReached),
        EventKind::DigitsDialed { .. } => call(Cc::DigitsDialed),
        EventKind::Forwarding { .. } => logical(Ld::Forwarding),
        EventKind::DoNotDisturb { .. } => logical(Ld::DoNotDisturb),
        EventKind::BackInService => maintenance(Mt::BackInService),
        EventKind::OutOfService => maintenance(Mt::OutOfService),
    }
}

#[cfg(test)]
mod tests {
    use csta::types::CallControlFilter;

    use super::*;
    use crate::events::Cause;

    fn monitor(cross_ref: &str, device: &str) -> Monitor {
        Monitor {
            cross_ref: MonitorCrossRefId::new(cross_ref).unwrap(),
            device: DeviceId::new(device),
            filter: MonitorFilter::default(),
        }
    }

    fn refs<'a>(monitors: impl IntoIterator<Item = &'a Monitor>) -> Vec<&'a str> {
        monitors
            .into_iter()
            .map(|monitor| monitor.cross_ref.as_str())
            .collect()
    }

    #[test]
    fn monitors_are_found_by_device_and_removed_by_reference() {
        let mut monitors = Monitors::default();
        assert!(monitors.add(monitor("1", "201")).is_some());
        assert_eq!(monitors.add(monitor("2", "201")), None, "201 is watched");
        assert!(monitors.add(monitor("3", "202")).is_some());
        assert_eq!(
            refs(monitors.of_device(&DeviceId::new("201"))),
            ["1", "2"],
            "in the order they were started"
        );
        assert!(monitors.remove("1").is_some());
        assert!(monitors.remove("1").is_none());
        assert_eq!(monitors.of_device(&DeviceId::new("201")).len(), 1);
        monitors.remove("2");
        assert!(!monitors.covers(&DeviceId::new("201")));
        assert_eq!(monitors.len(), 1);
        assert!(monitors.covers(&DeviceId::new("202")));
        assert!(monitors.remove("3").is_some());
        assert_eq!((monitors.len(), monitors.by_device.len()), (0, 0));
    }

    #[test]
    fn a_tag_names_the_monitors_of_its_device_until_the_slot_changes_hands() {
        let mut monitors = Monitors::default();
        let first = monitors.add(monitor("1", "201")).unwrap();
        monitors.add(monitor("2", "201"));
        monitors.add(monitor("3", "201"));
        let other = monitors.add(monitor("4", "202")).unwrap();
        assert_ne!(first, other);
        assert_eq!(refs(monitors.tagged(first)), ["1", "2", "3"]);
        assert_eq!(refs(monitors.tagged(other)), ["4"]);
        monitors.remove("2");
        assert_eq!(refs(monitors.tagged(first)), ["1", "3"]);

        // 201's slot is freed and given to 203: 201's queued events find no monitor there.
        monitors.add(monitor("7", "201"));
        monitors.remove("1");
        assert_eq!(
            refs(monitors.tagged(first)),
            ["3", "7"],
            "the next moves up"
        );
        monitors.remove("7");
        monitors.remove("3");
        assert_eq!(monitors.tagged(first).count(), 0);
        let reused = monitors.add(monitor("5", "203")).unwrap();
        assert_eq!(reused & u64::from(u32::MAX), first & u64::from(u32::MAX));
        assert_ne!(reused, first);
        assert_eq!(monitors.tagged(first).count(), 0);
        assert_eq!(refs(monitors.tagged(reused)), ["5"]);
        // A device monitored anew gets a new tag, too.
        monitors.remove("4");
        let again = monitors.add(monitor("6", "202")).unwrap();
        assert_ne!(again, other);
        assert_eq!(monitors.tagged(other).count(), 0);
        assert_eq!(refs(monitors.tagged(again)), ["6"]);
        assert_eq!(
            monitors.tagged(u64::from(u32::MAX)).count(),
            0,
            "no such slot"
        );
        assert_eq!(monitors.slots.len(), 2, "free slots are used again");
    }

    #[test]
    fn monitors_that_succeed_others_take_none_of_their_tags() {
        let mut old = Monitors::default();
        let old_tags = [
            old.add(monitor("1", "201")).unwrap(),
            old.add(monitor("2", "202")).unwrap(),
        ];
        let mut parked = Monitors::default();
        parked.add(monitor("7", "201"));
        parked.add(monitor("8", "203"));
        let mut tags = parked.succeed(&old);
        tags.sort();
        assert_eq!(tags.len(), 2);
        for tag in old_tags {
            assert_eq!(parked.tagged(tag).count(), 0, "{tag:x}");
        }
        let found: Vec<Vec<&str>> = tags
            .iter()
            .map(|(_, tag)| refs(parked.tagged(*tag)))
            .collect();
        let devices: Vec<&str> = tags.iter().map(|(device, _)| device.as_str()).collect();
        assert_eq!(devices, ["201", "203"]);
        assert_eq!(found, [["7"], ["8"]]);
    }

    #[test]
    fn true_flags_filter_events_out() {
        let mut filter = MonitorFilter::default();
        let held = EventKind::Held {
            holding: crate::events::Party::NotKnown,
            cause: Cause::Normal,
        };
        assert!(wants(&filter, &held));
        filter.call_control = Some(CallControlFilter::empty().with(Cc::Held));
        assert!(!wants(&filter, &held));
        assert!(wants(
            &filter,
            &EventKind::CallCleared {
                cause: Cause::Normal
            }
        ));
        assert!(wants(&filter, &EventKind::BackInService));
    }
}
