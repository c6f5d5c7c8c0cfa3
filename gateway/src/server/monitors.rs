//! The monitors of one connection (or parked session): which devices, which events.

use std::collections::HashMap;

use csta::ids::MonitorCrossRefId;
use csta::types::{
    CallControlFilterItem as Cc, LogicalDeviceFeatureFilterItem as Ld, MaintenanceFilterItem as Mt,
    MonitorFilter,
};

use crate::events::{DeviceId, EventKind};

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

/// The monitors of a connection, by device (what every delivery looks up) and by
/// cross-reference id (what `MonitorStop` names).
#[derive(Clone, Debug, Default)]
pub(super) struct Monitors {
    /// The monitors of each device, in the order they were started.
    by_device: HashMap<DeviceId, Vec<Monitor>>,
    /// The device of each monitor.
    devices: HashMap<String, DeviceId>,
}

impl Monitors {
    /// Adds a monitor.
    pub(super) fn add(&mut self, monitor: Monitor) {
        self.devices.insert(
            monitor.cross_ref.as_str().to_owned(),
            monitor.device.clone(),
        );
        self.by_device
            .entry(monitor.device.clone())
            // Most devices have one monitor: no room for more until needed.
            .or_insert_with(|| Vec::with_capacity(1))
            .push(monitor);
    }

    /// Removes a monitor by cross-reference id.
    pub(super) fn remove(&mut self, cross_ref: &str) -> Option<Monitor> {
        let device = self.devices.remove(cross_ref)?;
        let monitors = self.by_device.get_mut(&device)?;
        let index = monitors
            .iter()
            .position(|monitor| monitor.cross_ref.as_str() == cross_ref)?;
        let monitor = monitors.remove(index);
        if monitors.is_empty() {
            self.by_device.remove(&device);
        }
        Some(monitor)
    }

    /// The monitors of a device.
    pub(super) fn of_device<'a>(
        &'a self,
        device: &DeviceId,
    ) -> impl Iterator<Item = &'a Monitor> + 'a {
        self.by_device.get(device).into_iter().flatten()
    }

    /// The devices some monitor covers.
    pub(super) fn devices(&self) -> impl Iterator<Item = &DeviceId> {
        self.by_device.keys()
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

    #[test]
    fn monitors_are_found_by_device_and_removed_by_reference() {
        let mut monitors = Monitors::default();
        monitors.add(monitor("1", "201"));
        monitors.add(monitor("2", "201"));
        monitors.add(monitor("3", "202"));
        let refs: Vec<&str> = monitors
            .of_device(&DeviceId::new("201"))
            .map(|monitor| monitor.cross_ref.as_str())
            .collect();
        assert_eq!(refs, ["1", "2"], "in the order they were started");
        assert!(monitors.remove("1").is_some());
        assert!(monitors.remove("1").is_none());
        assert_eq!(monitors.of_device(&DeviceId::new("201")).count(), 1);
        monitors.remove("2");
        assert!(!monitors.covers(&DeviceId::new("201")));
        assert_eq!(monitors.len(), 1);
        let devices: Vec<&DeviceId> = monitors.devices().collect();
        assert_eq!(devices, [&DeviceId::new("202")]);
        assert!(monitors.remove("3").is_some());
        assert_eq!((monitors.len(), monitors.devices().count()), (0, 0));
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
