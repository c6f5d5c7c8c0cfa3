//! Snapshot services (ECMA-323 clause 5.2): the current calls of a device, the current
//! connections of a call.

use crate::error::Error;
use crate::ids::{ConnectionId, DeviceId, ServiceCrossRefId};
use crate::types::{
    CallLinkageData, DeviceRef, Extensions, LocalCallState, LocalConnectionState,
    ServicesPermitted, UserData,
};
use crate::xml::{El, Field, ListItem, Writer};

body! {
    /// `SnapshotDevice`: which calls a device has now.
    pub struct SnapshotDevice {
        /// `snapshotObject`.
        pub snapshot_object: DeviceId = "snapshotObject",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

record! {
    /// One call at the device (`snapshotDeviceResponseInfo`).
    pub struct SnapshotDeviceResponseInfo {
        /// `connectionIdentifier`: the device's connection to the call.
        pub connection_identifier: ConnectionId = "connectionIdentifier",
        /// `endpointDevice`: the other party, if the switch reports it.
        pub endpoint_device: Option<DeviceRef> = "endpointDevice",
        /// `localCallState`.
        pub local_call_state: LocalCallState = "localCallState",
        /// `servicesPermitted`.
        pub services_permitted: Option<ServicesPermitted> = "servicesPermitted",
        /// `callLinkageData`.
        pub call_linkage_data: Option<CallLinkageData> = "callLinkageData",
    }
}

impl ListItem for SnapshotDeviceResponseInfo {
    const ITEM: &'static str = "snapshotDeviceResponseInfo";
}

/// Snapshot data inline, or a cross reference when it follows in separate messages
/// (`crossRefIDorSnapshotData`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotResult<T> {
    /// `serviceCrossRefID`: the data follows in `SnapshotDeviceData`/`SnapshotCallData`.
    ServiceCrossRef(ServiceCrossRefId),
    /// `snapshotData`: the data itself (empty for an idle device).
    Data(Vec<T>),
}

impl<T: ListItem> Field for SnapshotResult<T> {
    fn read(element: El<'_, '_>, name: &'static str) -> Result<Self, Error> {
        if let Some(data) = element.child(&["snapshotData"]) {
            return Vec::read(data, "snapshotData").map(Self::Data);
        }
        match element.child(&["serviceCrossRefID"]) {
            Some(id) => ServiceCrossRefId::read(id, "serviceCrossRefID").map(Self::ServiceCrossRef),
            None => Err(Error::MissingElement {
                parent: name.to_owned(),
                element: "snapshotData",
            }),
        }
    }

    fn write(&self, writer: &mut Writer<'_>, name: &str) {
        writer.open(name);
        match self {
            Self::ServiceCrossRef(id) => id.write(writer, "serviceCrossRefID"),
            Self::Data(items) => items.write(writer, "snapshotData"),
        }
        writer.close(name);
    }
}

body! {
    /// `SnapshotDeviceResponse`.
    pub struct SnapshotDeviceResponse {
        /// `crossRefIDorSnapshotData`.
        pub cross_ref_id_or_snapshot_data: SnapshotResult<SnapshotDeviceResponseInfo> =
            "crossRefIDorSnapshotData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `SnapshotCall`: which connections a call has now.
    pub struct SnapshotCall {
        /// `snapshotObject`.
        pub snapshot_object: ConnectionId = "snapshotObject",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

record! {
    /// One connection of the call (`snapshotCallResponseInfo`).
    pub struct SnapshotCallResponseInfo {
        /// `deviceOnCall`.
        pub device_on_call: Option<DeviceRef> = "deviceOnCall",
        /// `callIdentifier`.
        pub call_identifier: Option<ConnectionId> = "callIdentifier",
        /// `localConnectionInfo`.
        pub local_connection_info: Option<LocalConnectionState> = "localConnectionInfo",
        /// `servicesPermitted`.
        pub services_permitted: Option<ServicesPermitted> = "servicesPermitted",
    }
}

impl ListItem for SnapshotCallResponseInfo {
    const ITEM: &'static str = "snapshotCallResponseInfo";
}

body! {
    /// `SnapshotCallResponse`.
    pub struct SnapshotCallResponse {
        /// `crossRefIDorSnapshotData`.
        pub cross_ref_id_or_snapshot_data: SnapshotResult<SnapshotCallResponseInfo> =
            "crossRefIDorSnapshotData",
        /// `callingDevice`.
        pub calling_device: Option<DeviceRef> = "callingDevice",
        /// `calledDevice`.
        pub called_device: Option<DeviceRef> = "calledDevice",
        /// `associatedCallingDevice`.
        pub associated_calling_device: Option<DeviceRef> = "associatedCallingDevice",
        /// `associatedCalledDevice`.
        pub associated_called_device: Option<DeviceRef> = "associatedCalledDevice",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `callLinkageData`.
        pub call_linkage_data: Option<CallLinkageData> = "callLinkageData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}
