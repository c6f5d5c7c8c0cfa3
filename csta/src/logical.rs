//! Logical device features (ECMA-323 clause 5.4): forwarding and do-not-disturb.

use crate::ids::DeviceId;
use crate::types::{CallOrigination, Extensions, ForwardDefault, ForwardingType};
use crate::xml::ListItem;

body! {
    /// `SetForwarding`: switch a forwarding of a device on or off.
    pub struct SetForwarding {
        /// `device`.
        pub device: DeviceId = "device",
        /// `forwardingType`.
        pub forwarding_type: Option<ForwardingType> = "forwardingType",
        /// `activateForward`.
        pub activate_forward: bool = "activateForward",
        /// `forwardDN`: the destination.
        pub forward_dn: Option<DeviceId> = "forwardDN",
        /// `ringCount` (no-answer forwarding).
        pub ring_count: Option<u32> = "ringCount",
        /// `ringDuration` in seconds (edition 6 only).
        pub ring_duration: Option<u32> = "ringDuration", if ed6,
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `GetForwarding`: the forwardings of a device.
    pub struct GetForwarding {
        /// `device`.
        pub device: DeviceId = "device",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

record! {
    /// One forwarding of a device (`forwardListItem`).
    pub struct ForwardListItem {
        /// `forwardingType`.
        pub forwarding_type: Option<ForwardingType> = "forwardingType",
        /// `forwardStatus`: whether it is on.
        pub forward_status: bool = "forwardStatus",
        /// `forwardDN`.
        pub forward_dn: Option<DeviceId> = "forwardDN",
        /// `forwardDefault`.
        pub forward_default: Option<ForwardDefault> = "forwardDefault",
        /// `ringCount`.
        pub ring_count: Option<u32> = "ringCount",
        /// `ringDuration` in seconds (edition 6 only).
        pub ring_duration: Option<u32> = "ringDuration", if ed6,
    }
}

impl ListItem for ForwardListItem {
    const ITEM: &'static str = "forwardListItem";
}

body! {
    /// `GetForwardingResponse`.
    pub struct GetForwardingResponse {
        /// `forwardingList`.
        pub forwarding_list: Option<Vec<ForwardListItem>> = "forwardingList",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `SetDoNotDisturb`: switch do-not-disturb of a device on or off.
    pub struct SetDoNotDisturb {
        /// `device`.
        pub device: DeviceId = "device",
        /// `doNotDisturbOn`.
        pub do_not_disturb_on: bool = "doNotDisturbOn",
        /// `callOrigination`: which calls it applies to.
        pub call_origination: Option<CallOrigination> = "callOrigination",
        /// `callingDeviceList`: callers that still get through.
        pub calling_device_list: Option<Vec<DeviceId>> = "callingDeviceList",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `GetDoNotDisturb`.
    pub struct GetDoNotDisturb {
        /// `device`.
        pub device: DeviceId = "device",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `GetDoNotDisturbResponse`.
    pub struct GetDoNotDisturbResponse {
        /// `doNotDisturbOn`.
        pub do_not_disturb_on: bool = "doNotDisturbOn",
        /// `callOrigination`.
        pub call_origination: Option<CallOrigination> = "callOrigination",
        /// `callingDeviceList`.
        pub calling_device_list: Option<Vec<DeviceId>> = "callingDeviceList",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

empty_body! {
    /// `SetForwardingResponse`.
    SetForwardingResponse;
    /// `SetDoNotDisturbResponse`.
    SetDoNotDisturbResponse;
}
