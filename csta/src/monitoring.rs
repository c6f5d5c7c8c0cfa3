//! Monitoring services (ECMA-323 clause 5.1): subscriptions to the events of a device or call.

use crate::error::Error;
use crate::ids::{ConnectionId, DeviceId, MonitorCrossRefId};
use crate::types::{Extensions, MonitorFilter, MonitorType};
use crate::xml::{El, Field, Writer};

/// What a monitor watches (`monitorObject`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MonitorObject {
    /// `deviceObject`: every call at a device.
    Device(DeviceId),
    /// `callObject`: one call.
    Call(ConnectionId),
}

impl Field for MonitorObject {
    fn read(element: El<'_, '_>, name: &'static str) -> Result<Self, Error> {
        if let Some(device) = element.child(&["deviceObject"]) {
            return DeviceId::read(device, "deviceObject").map(Self::Device);
        }
        if let Some(call) = element.child(&["callObject"]) {
            return ConnectionId::read(call, "callObject").map(Self::Call);
        }
        Err(Error::MissingElement {
            parent: name.to_owned(),
            element: "deviceObject",
        })
    }

    fn write(&self, writer: &mut Writer<'_>, name: &str) {
        writer.open(name);
        match self {
            Self::Device(device) => device.write(writer, "deviceObject"),
            Self::Call(call) => call.write(writer, "callObject"),
        }
        writer.close(name);
    }
}

body! {
    /// `MonitorStart`: start reporting the events of a device or call.
    pub struct MonitorStart {
        /// `monitorObject`.
        pub monitor_object: MonitorObject = "monitorObject",
        /// `requestedMonitorFilter`: events not to report.
        pub requested_monitor_filter: Option<MonitorFilter> = "requestedMonitorFilter",
        /// `monitorType`.
        pub monitor_type: Option<MonitorType> = "monitorType",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

impl MonitorStart {
    /// A device monitor for `device` with no filter.
    pub fn device(device: DeviceId) -> Self {
        Self {
            monitor_object: MonitorObject::Device(device),
            requested_monitor_filter: None,
            monitor_type: None,
            extensions: None,
        }
    }
}

body! {
    /// `MonitorStartResponse`.
    pub struct MonitorStartResponse {
        /// `monitorCrossRefID`: carried by every event of the monitor.
        pub monitor_cross_ref_id: MonitorCrossRefId = "monitorCrossRefID",
        /// `actualMonitorFilter`: the filter in force.
        pub actual_monitor_filter: Option<MonitorFilter> = "actualMonitorFilter",
        /// `monitorExistingCalls`: whether events for calls already in progress follow.
        pub monitor_existing_calls: Option<bool> = "monitorExistingCalls",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `MonitorStop`.
    pub struct MonitorStop {
        /// `monitorCrossRefID` of the monitor to end.
        pub monitor_cross_ref_id: MonitorCrossRefId = "monitorCrossRefID",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

empty_body! {
    /// `MonitorStopResponse`.
    MonitorStopResponse;
}
