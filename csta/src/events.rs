//! Event reports (ECMA-323 clause 6): one struct per event and the [`Event`] enum.
//!
//! The `monitorCrossRefID` every event carries is kept apart, in [`CstaEvent`], so a server
//! can encode one event for many monitors without cloning it ([`encode_event`]).
//!
//! `lastRedirectionDevice` is mandatory in the schema for the call events that have it; it is
//! optional here so that events from clients that leave it out still decode. Servers write
//! [`RedirectionDevice::NotRequired`] when a call was not redirected.

use crate::edition::Edition;
use crate::error::Error;
use crate::ids::{ConnectionId, DeviceId, MonitorCrossRefId};
use crate::types::{
    CallLinkageData, CallLinkageDataList, CallOrigination, ConnectionListItem, DeviceRef,
    EventCause, Extensions, ForwardDefault, ForwardingType, LocalConnectionState,
    RedirectionDevice, ServicesPermitted, UserData,
};
use crate::xml::{Body, El, Field, Writer};

body! {
    /// `ServiceInitiatedEvent`: a device went off-hook or a service started a call there.
    pub struct ServiceInitiatedEvent {
        /// `initiatedConnection`.
        pub initiated_connection: ConnectionId = "initiatedConnection",
        /// `initiatingDevice`.
        pub initiating_device: DeviceRef = "initiatingDevice",
        /// `calledDevice` (edition 6 only).
        pub called_device: Option<DeviceRef> = "calledDevice", if ed6,
        /// `localConnectionInfo`.
        pub local_connection_info: Option<LocalConnectionState> = "localConnectionInfo",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `cause`.
        pub cause: EventCause = "cause",
        /// `servicesPermitted`.
        pub services_permitted: Option<ServicesPermitted> = "servicesPermitted",
        /// `networkCallingDevice`.
        pub network_calling_device: Option<DeviceRef> = "networkCallingDevice",
        /// `networkCalledDevice`.
        pub network_called_device: Option<DeviceRef> = "networkCalledDevice",
        /// `associatedCallingDevice`.
        pub associated_calling_device: Option<DeviceRef> = "associatedCallingDevice",
        /// `callLinkageData`.
        pub call_linkage_data: Option<CallLinkageData> = "callLinkageData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `OriginatedEvent`: a call left the originating device towards its destination.
    pub struct OriginatedEvent {
        /// `originatedConnection`.
        pub originated_connection: ConnectionId = "originatedConnection",
        /// `callingDevice`.
        pub calling_device: DeviceRef = "callingDevice",
        /// `calledDevice`.
        pub called_device: DeviceRef = "calledDevice",
        /// `originatingDevice`.
        pub originating_device: Option<DeviceId> = "originatingDevice",
        /// `localConnectionInfo`.
        pub local_connection_info: Option<LocalConnectionState> = "localConnectionInfo",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `cause`.
        pub cause: EventCause = "cause",
        /// `servicesPermitted`.
        pub services_permitted: Option<ServicesPermitted> = "servicesPermitted",
        /// `networkCallingDevice`.
        pub network_calling_device: Option<DeviceRef> = "networkCallingDevice",
        /// `networkCalledDevice`.
        pub network_called_device: Option<DeviceRef> = "networkCalledDevice",
        /// `associatedCallingDevice`.
        pub associated_calling_device: Option<DeviceRef> = "associatedCallingDevice",
        /// `associatedCalledDevice`.
        pub associated_called_device: Option<DeviceRef> = "associatedCalledDevice",
        /// `callLinkageData`.
        pub call_linkage_data: Option<CallLinkageData> = "callLinkageData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `DeliveredEvent`: a call is alerting at a device.
    pub struct DeliveredEvent {
        /// `connection`: the alerting connection.
        pub connection: ConnectionId = "connection",
        /// `alertingDevice`.
        pub alerting_device: DeviceRef = "alertingDevice",
        /// `callingDevice`.
        pub calling_device: DeviceRef = "callingDevice",
        /// `calledDevice`.
        pub called_device: DeviceRef = "calledDevice",
        /// `lastRedirectionDevice`.
        pub last_redirection_device: Option<RedirectionDevice> = "lastRedirectionDevice",
        /// `originatingNIDConnection`.
        pub originating_nid_connection: Option<ConnectionId> = "originatingNIDConnection",
        /// `localConnectionInfo`.
        pub local_connection_info: Option<LocalConnectionState> = "localConnectionInfo",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `userData`.
        pub user_data: Option<UserData> = "userData",
        /// `cause`.
        pub cause: EventCause = "cause",
        /// `servicesPermitted`.
        pub services_permitted: Option<ServicesPermitted> = "servicesPermitted",
        /// `networkCallingDevice`.
        pub network_calling_device: Option<DeviceRef> = "networkCallingDevice",
        /// `networkCalledDevice`.
        pub network_called_device: Option<DeviceRef> = "networkCalledDevice",
        /// `associatedCallingDevice`.
        pub associated_calling_device: Option<DeviceRef> = "associatedCallingDevice",
        /// `associatedCalledDevice`.
        pub associated_called_device: Option<DeviceRef> = "associatedCalledDevice",
        /// `callLinkageData`.
        pub call_linkage_data: Option<CallLinkageData> = "callLinkageData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `EstablishedEvent`: a call was answered.
    pub struct EstablishedEvent {
        /// `establishedConnection`: the answering connection.
        pub established_connection: ConnectionId = "establishedConnection",
        /// `answeringDevice`.
        pub answering_device: DeviceRef = "answeringDevice",
        /// `callingDevice`.
        pub calling_device: DeviceRef = "callingDevice",
        /// `calledDevice`.
        pub called_device: DeviceRef = "calledDevice",
        /// `lastRedirectionDevice`.
        pub last_redirection_device: Option<RedirectionDevice> = "lastRedirectionDevice",
        /// `originatinNIDConnection` (schema spelling; `originatingNIDConnection` is read too).
        pub originating_nid_connection: Option<ConnectionId> = "originatinNIDConnection"
            | "originatingNIDConnection",
        /// `localConnectionInfo`.
        pub local_connection_info: Option<LocalConnectionState> = "localConnectionInfo",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `userData`.
        pub user_data: Option<UserData> = "userData",
        /// `cause`.
        pub cause: EventCause = "cause",
        /// `servicesPermitted`.
        pub services_permitted: Option<ServicesPermitted> = "servicesPermitted",
        /// `networkCallingDevice`.
        pub network_calling_device: Option<DeviceRef> = "networkCallingDevice",
        /// `networkCalledDevice`.
        pub network_called_device: Option<DeviceRef> = "networkCalledDevice",
        /// `associatedCallingDevice`.
        pub associated_calling_device: Option<DeviceRef> = "associatedCallingDevice",
        /// `associatedCalledDevice`.
        pub associated_called_device: Option<DeviceRef> = "associatedCalledDevice",
        /// `callLinkageData`.
        pub call_linkage_data: Option<CallLinkageData> = "callLinkageData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `HeldEvent`: a connection was put on hold.
    pub struct HeldEvent {
        /// `heldConnection`.
        pub held_connection: ConnectionId = "heldConnection",
        /// `holdingDevice`.
        pub holding_device: DeviceRef = "holdingDevice",
        /// `localConnectionInfo`.
        pub local_connection_info: Option<LocalConnectionState> = "localConnectionInfo",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `cause`.
        pub cause: EventCause = "cause",
        /// `servicesPermitted`.
        pub services_permitted: Option<ServicesPermitted> = "servicesPermitted",
        /// `callLinkageData`.
        pub call_linkage_data: Option<CallLinkageData> = "callLinkageData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `RetrievedEvent`: a held connection was taken back.
    pub struct RetrievedEvent {
        /// `retrievedConnection`.
        pub retrieved_connection: ConnectionId = "retrievedConnection",
        /// `retrievingDevice`.
        pub retrieving_device: DeviceRef = "retrievingDevice",
        /// `localConnectionInfo`.
        pub local_connection_info: Option<LocalConnectionState> = "localConnectionInfo",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `cause`.
        pub cause: EventCause = "cause",
        /// `servicesPermitted`.
        pub services_permitted: Option<ServicesPermitted> = "servicesPermitted",
        /// `callLinkageData`.
        pub call_linkage_data: Option<CallLinkageData> = "callLinkageData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `ConnectionClearedEvent`: a device left a call.
    pub struct ConnectionClearedEvent {
        /// `droppedConnection`.
        pub dropped_connection: ConnectionId = "droppedConnection",
        /// `releasingDevice`.
        pub releasing_device: DeviceRef = "releasingDevice",
        /// `localConnectionInfo`.
        pub local_connection_info: Option<LocalConnectionState> = "localConnectionInfo",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `userData`.
        pub user_data: Option<UserData> = "userData",
        /// `cause`.
        pub cause: EventCause = "cause",
        /// `servicesPermitted`.
        pub services_permitted: Option<ServicesPermitted> = "servicesPermitted",
        /// `callLinkageData`.
        pub call_linkage_data: Option<CallLinkageData> = "callLinkageData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `CallClearedEvent`: a whole call ended.
    pub struct CallClearedEvent {
        /// `clearedCall`.
        pub cleared_call: ConnectionId = "clearedCall",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `userData`.
        pub user_data: Option<UserData> = "userData",
        /// `cause`.
        pub cause: EventCause = "cause",
        /// `callLinkageData`.
        pub call_linkage_data: Option<CallLinkageData> = "callLinkageData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `DivertedEvent`: a call left a device for another one (deflection, forwarding,
    /// pickup).
    pub struct DivertedEvent {
        /// `connection`: the connection that was redirected.
        pub connection: ConnectionId = "connection",
        /// `divertingDevice`.
        pub diverting_device: DeviceRef = "divertingDevice",
        /// `newDestination`.
        pub new_destination: DeviceRef = "newDestination",
        /// `callingDevice`.
        pub calling_device: Option<DeviceRef> = "callingDevice",
        /// `calledDevice`.
        pub called_device: Option<DeviceRef> = "calledDevice",
        /// `lastRedirectionDevice`.
        pub last_redirection_device: Option<RedirectionDevice> = "lastRedirectionDevice",
        /// `localConnectionInfo`.
        pub local_connection_info: Option<LocalConnectionState> = "localConnectionInfo",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `userData`.
        pub user_data: Option<UserData> = "userData",
        /// `cause`.
        pub cause: EventCause = "cause",
        /// `servicesPermitted`.
        pub services_permitted: Option<ServicesPermitted> = "servicesPermitted",
        /// `networkCallingDevice`.
        pub network_calling_device: Option<DeviceRef> = "networkCallingDevice",
        /// `networkCalledDevice`.
        pub network_called_device: Option<DeviceRef> = "networkCalledDevice",
        /// `associatedCallingDevice`.
        pub associated_calling_device: Option<DeviceRef> = "associatedCallingDevice",
        /// `associatedCalledDevice`.
        pub associated_called_device: Option<DeviceRef> = "associatedCalledDevice",
        /// `callLinkageData`.
        pub call_linkage_data: Option<CallLinkageData> = "callLinkageData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `TransferedEvent` (schema spelling; `TransferredEvent` is read too): two calls were
    /// joined and the transferring device left.
    pub struct TransferedEvent {
        /// `primaryOldCall`: usually the held call.
        pub primary_old_call: ConnectionId = "primaryOldCall",
        /// `secondaryOldCall`: usually the active call (absent for single-step transfers).
        pub secondary_old_call: Option<ConnectionId> = "secondaryOldCall",
        /// `transferringDevice`.
        pub transferring_device: DeviceRef = "transferringDevice",
        /// `transferredToDevice`.
        pub transferred_to_device: DeviceRef = "transferredToDevice",
        /// `transferredConnections`: how the old connections map to the resulting call.
        pub transferred_connections: Vec<ConnectionListItem> = "transferredConnections",
        /// `localConnectionInfo`.
        pub local_connection_info: Option<LocalConnectionState> = "localConnectionInfo",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `userData`.
        pub user_data: Option<UserData> = "userData",
        /// `cause`.
        pub cause: EventCause = "cause",
        /// `servicesPermitted`.
        pub services_permitted: Option<ServicesPermitted> = "servicesPermitted",
        /// `callLinkageDataList`.
        pub call_linkage_data_list: Option<CallLinkageDataList> = "callLinkageDataList",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `ConferencedEvent`: two calls were joined into a conference.
    pub struct ConferencedEvent {
        /// `primaryOldCall`.
        pub primary_old_call: ConnectionId = "primaryOldCall",
        /// `secondaryOldCall`.
        pub secondary_old_call: Option<ConnectionId> = "secondaryOldCall",
        /// `conferencingDevice`.
        pub conferencing_device: DeviceRef = "conferencingDevice",
        /// `addedParty`.
        pub added_party: DeviceRef = "addedParty",
        /// `conferenceConnections`.
        pub conference_connections: Vec<ConnectionListItem> = "conferenceConnections",
        /// `localConnectionInfo`.
        pub local_connection_info: Option<LocalConnectionState> = "localConnectionInfo",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `userData`.
        pub user_data: Option<UserData> = "userData",
        /// `cause`.
        pub cause: EventCause = "cause",
        /// `servicesPermitted`.
        pub services_permitted: Option<ServicesPermitted> = "servicesPermitted",
        /// `callLinkageDataList`.
        pub call_linkage_data_list: Option<CallLinkageDataList> = "callLinkageDataList",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `FailedEvent`: a call could not be completed (busy, unobtainable, ...).
    pub struct FailedEvent {
        /// `failedConnection`.
        pub failed_connection: ConnectionId = "failedConnection",
        /// `failingDevice`.
        pub failing_device: DeviceRef = "failingDevice",
        /// `callingDevice`.
        pub calling_device: DeviceRef = "callingDevice",
        /// `calledDevice`.
        pub called_device: DeviceRef = "calledDevice",
        /// `lastRedirectionDevice`.
        pub last_redirection_device: Option<RedirectionDevice> = "lastRedirectionDevice",
        /// `originatingNIDConnection`.
        pub originating_nid_connection: Option<ConnectionId> = "originatingNIDConnection",
        /// `localConnectionInfo`.
        pub local_connection_info: Option<LocalConnectionState> = "localConnectionInfo",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `userData`.
        pub user_data: Option<UserData> = "userData",
        /// `cause`.
        pub cause: EventCause = "cause",
        /// `servicesPermitted`.
        pub services_permitted: Option<ServicesPermitted> = "servicesPermitted",
        /// `networkCallingDevice`.
        pub network_calling_device: Option<DeviceRef> = "networkCallingDevice",
        /// `networkCalledDevice`.
        pub network_called_device: Option<DeviceRef> = "networkCalledDevice",
        /// `associatedCallingDevice`.
        pub associated_calling_device: Option<DeviceRef> = "associatedCallingDevice",
        /// `associatedCalledDevice`.
        pub associated_called_device: Option<DeviceRef> = "associatedCalledDevice",
        /// `callLinkageData`.
        pub call_linkage_data: Option<CallLinkageData> = "callLinkageData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `QueuedEvent`: a call waits in a queue (ACD, hunt group).
    pub struct QueuedEvent {
        /// `queuedConnection`.
        pub queued_connection: ConnectionId = "queuedConnection",
        /// `queue`.
        pub queue: DeviceRef = "queue",
        /// `callingDevice`.
        pub calling_device: DeviceRef = "callingDevice",
        /// `calledDevice`.
        pub called_device: DeviceRef = "calledDevice",
        /// `lastRedirectionDevice`.
        pub last_redirection_device: Option<RedirectionDevice> = "lastRedirectionDevice",
        /// `numberQueued`.
        pub number_queued: Option<u32> = "numberQueued",
        /// `callsInFront`.
        pub calls_in_front: Option<u32> = "callsInFront",
        /// `localConnectionInfo`.
        pub local_connection_info: Option<LocalConnectionState> = "localConnectionInfo",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `userData`.
        pub user_data: Option<UserData> = "userData",
        /// `cause`.
        pub cause: EventCause = "cause",
        /// `servicesPermitted`.
        pub services_permitted: Option<ServicesPermitted> = "servicesPermitted",
        /// `networkCallingDevice`.
        pub network_calling_device: Option<DeviceRef> = "networkCallingDevice",
        /// `networkCalledDevice`.
        pub network_called_device: Option<DeviceRef> = "networkCalledDevice",
        /// `associatedCallingDevice`.
        pub associated_calling_device: Option<DeviceRef> = "associatedCallingDevice",
        /// `associatedCalledDevice`.
        pub associated_called_device: Option<DeviceRef> = "associatedCalledDevice",
        /// `callLinkageData`.
        pub call_linkage_data: Option<CallLinkageData> = "callLinkageData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `NetworkReachedEvent`: a call left the switching domain over a trunk.
    pub struct NetworkReachedEvent {
        /// `outboundConnection`.
        pub outbound_connection: ConnectionId = "outboundConnection",
        /// `networkInterfaceUsed`.
        pub network_interface_used: DeviceRef = "networkInterfaceUsed",
        /// `callingDevice`.
        pub calling_device: DeviceRef = "callingDevice",
        /// `calledDevice`.
        pub called_device: DeviceRef = "calledDevice",
        /// `lastRedirectionDevice`.
        pub last_redirection_device: Option<RedirectionDevice> = "lastRedirectionDevice",
        /// `originatingNIDConnection` (`originatingNIDConneciton`, the ASN.1 spelling, is read
        /// too).
        pub originating_nid_connection: Option<ConnectionId> = "originatingNIDConnection"
            | "originatingNIDConneciton",
        /// `localConnectionInfo`.
        pub local_connection_info: Option<LocalConnectionState> = "localConnectionInfo",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `userData`.
        pub user_data: Option<UserData> = "userData",
        /// `cause`.
        pub cause: EventCause = "cause",
        /// `servicesPermitted`.
        pub services_permitted: Option<ServicesPermitted> = "servicesPermitted",
        /// `networkCallingDevice`.
        pub network_calling_device: Option<DeviceRef> = "networkCallingDevice",
        /// `networkCalledDevice`.
        pub network_called_device: Option<DeviceRef> = "networkCalledDevice",
        /// `associatedCallingDevice`.
        pub associated_calling_device: Option<DeviceRef> = "associatedCallingDevice",
        /// `callLinkageData`.
        pub call_linkage_data: Option<CallLinkageData> = "callLinkageData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `DigitsDialedEvent`: digits dialled during call setup.
    pub struct DigitsDialedEvent {
        /// `dialingConnection`.
        pub dialing_connection: ConnectionId = "dialingConnection",
        /// `dialingDevice`.
        pub dialing_device: DeviceRef = "dialingDevice",
        /// `dialingSequence`.
        pub dialing_sequence: DeviceId = "dialingSequence",
        /// `localConnectionInfo`.
        pub local_connection_info: Option<LocalConnectionState> = "localConnectionInfo",
        /// `correlatorData`.
        pub correlator_data: Option<UserData> = "correlatorData",
        /// `cause`.
        pub cause: EventCause = "cause",
        /// `servicesPermitted`.
        pub services_permitted: Option<ServicesPermitted> = "servicesPermitted",
        /// `networkCallingDevice`.
        pub network_calling_device: Option<DeviceRef> = "networkCallingDevice",
        /// `networkCalledDevice`.
        pub network_called_device: Option<DeviceRef> = "networkCalledDevice",
        /// `associatedCallingDevice`.
        pub associated_calling_device: Option<DeviceRef> = "associatedCallingDevice",
        /// `associatedCalledDevice`.
        pub associated_called_device: Option<DeviceRef> = "associatedCalledDevice",
        /// `callLinkageData`.
        pub call_linkage_data: Option<CallLinkageData> = "callLinkageData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `ForwardingEvent`: a forwarding of a device changed.
    pub struct ForwardingEvent {
        /// `device`.
        pub device: DeviceRef = "device",
        /// `forwardingType`.
        pub forwarding_type: Option<ForwardingType> = "forwardingType",
        /// `forwardStatus`: whether it is now on.
        pub forward_status: bool = "forwardStatus",
        /// `forwardTo`.
        pub forward_to: Option<DeviceId> = "forwardTo",
        /// `forwardDefault`.
        pub forward_default: Option<ForwardDefault> = "forwardDefault",
        /// `ringCount`.
        pub ring_count: Option<u32> = "ringCount",
        /// `ringDuration` in seconds (edition 6 only).
        pub ring_duration: Option<u32> = "ringDuration", if ed6,
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `DoNotDisturbEvent`: do-not-disturb of a device changed.
    pub struct DoNotDisturbEvent {
        /// `device`.
        pub device: DeviceRef = "device",
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

body! {
    /// `BackInServiceEvent`: a device can be used again (for a phone: it registered).
    pub struct BackInServiceEvent {
        /// `device`.
        pub device: DeviceRef = "device",
        /// `cause`.
        pub cause: Option<EventCause> = "cause",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

body! {
    /// `OutOfServiceEvent`: a device cannot be used (for a phone: its registration was lost).
    pub struct OutOfServiceEvent {
        /// `device`.
        pub device: DeviceRef = "device",
        /// `cause`.
        pub cause: Option<EventCause> = "cause",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

macro_rules! events {
    ($($variant:ident($ty:ident) = $root:literal $(| $alt:literal)*;)+) => {
        /// An event report without its `monitorCrossRefID`.
        #[derive(Clone, Debug, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum Event {
            $(#[doc = concat!("`", $root, "`")] $variant($ty),)+
        }

        impl Event {
            /// The root element name written on the wire.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => $root,)+
                }
            }

            /// Decodes the event whose root element is `root`, if it names an event.
            pub(crate) fn read(root: El<'_, '_>) -> Option<Result<Self, Error>> {
                Some(match root.name() {
                    $($root $(| $alt)* => $ty::read(root).map(Self::$variant),)+
                    _ => return None,
                })
            }

            fn write_body(&self, writer: &mut Writer<'_>) {
                match self {
                    $(Self::$variant(event) => event.write(writer),)+
                }
            }
        }

        $(
            impl From<$ty> for Event {
                fn from(event: $ty) -> Self {
                    Self::$variant(event)
                }
            }
        )+
    };
}

events! {
    ServiceInitiated(ServiceInitiatedEvent) = "ServiceInitiatedEvent";
    Originated(OriginatedEvent) = "OriginatedEvent";
    Delivered(DeliveredEvent) = "DeliveredEvent";
    Established(EstablishedEvent) = "EstablishedEvent";
    Held(HeldEvent) = "HeldEvent";
    Retrieved(RetrievedEvent) = "RetrievedEvent";
    ConnectionCleared(ConnectionClearedEvent) = "ConnectionClearedEvent";
    CallCleared(CallClearedEvent) = "CallClearedEvent";
    Diverted(DivertedEvent) = "DivertedEvent";
    Transfered(TransferedEvent) = "TransferedEvent" | "TransferredEvent";
    Conferenced(ConferencedEvent) = "ConferencedEvent";
    Failed(FailedEvent) = "FailedEvent";
    Queued(QueuedEvent) = "QueuedEvent";
    NetworkReached(NetworkReachedEvent) = "NetworkReachedEvent";
    DigitsDialed(DigitsDialedEvent) = "DigitsDialedEvent";
    Forwarding(ForwardingEvent) = "ForwardingEvent";
    DoNotDisturb(DoNotDisturbEvent) = "DoNotDisturbEvent";
    BackInService(BackInServiceEvent) = "BackInServiceEvent";
    OutOfService(OutOfServiceEvent) = "OutOfServiceEvent";
}

/// The call events, with the connection each one is about; the device-feature events
/// (forwarding, do not disturb, service state) have none.
macro_rules! call_event_accessors {
    ($($variant:ident => $connection:ident,)+) => {
        impl Event {
            /// The connection the event is about (for a transfer or conference, the old call
            /// that survives); `None` for device-feature events.
            pub fn connection(&self) -> Option<&ConnectionId> {
                match self {
                    $(Self::$variant(event) => Some(&event.$connection),)+
                    Self::CallCleared(event) => Some(&event.cleared_call),
                    _ => None,
                }
            }

            /// The monitored device's connection state after the event, where the event
            /// carries it.
            pub fn local_connection_info(&self) -> Option<LocalConnectionState> {
                match self {
                    $(Self::$variant(event) => event.local_connection_info,)+
                    _ => None,
                }
            }

            /// The services the event's connection permits now, where the event carries them.
            pub fn services_permitted(&self) -> Option<&ServicesPermitted> {
                match self {
                    $(Self::$variant(event) => event.services_permitted.as_ref(),)+
                    _ => None,
                }
            }
        }
    };
}

call_event_accessors! {
    ServiceInitiated => initiated_connection,
    Originated => originated_connection,
    Delivered => connection,
    Established => established_connection,
    Held => held_connection,
    Retrieved => retrieved_connection,
    ConnectionCleared => dropped_connection,
    Diverted => connection,
    Transfered => primary_old_call,
    Conferenced => primary_old_call,
    Failed => failed_connection,
    Queued => queued_connection,
    NetworkReached => outbound_connection,
    DigitsDialed => dialing_connection,
}

/// An event report as received: the monitor it belongs to and the event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CstaEvent {
    /// `monitorCrossRefID`.
    pub monitor_cross_ref_id: MonitorCrossRefId,
    /// The event.
    pub event: Event,
}

impl CstaEvent {
    /// Decodes an event root; `None` if the root names no event.
    pub(crate) fn read(root: El<'_, '_>) -> Option<Result<Self, Error>> {
        let event = Event::read(root)?;
        Some(event.and_then(|event| {
            let monitor_cross_ref_id = MonitorCrossRefId::read(
                root.required(&["monitorCrossRefID"])?,
                "monitorCrossRefID",
            )?;
            Ok(Self {
                monitor_cross_ref_id,
                event,
            })
        }))
    }
}

/// Appends one event document for `monitor_cross_ref_id` in the namespace of `edition`.
pub fn encode_event(
    monitor_cross_ref_id: &MonitorCrossRefId,
    event: &Event,
    edition: &Edition,
    out: &mut Vec<u8>,
) {
    write_event(event, edition, monitor_cross_ref_id.as_str(), out);
}

/// Appends the event document with `cross_ref` as the text of `monitorCrossRefID`; returns
/// the offset in `out` where that text starts, so a template can splice other ids in there.
pub(crate) fn write_event(
    event: &Event,
    edition: &Edition,
    cross_ref: &str,
    out: &mut Vec<u8>,
) -> usize {
    let name = event.name();
    let mut writer = Writer::new(out, edition.is_ed6());
    writer.declaration();
    writer.open_start(name);
    writer.attribute("xmlns", edition.namespace());
    writer.open_end();
    writer.open("monitorCrossRefID");
    let at = writer.len();
    writer.escaped(cross_ref);
    writer.close("monitorCrossRefID");
    event.write_body(&mut writer);
    writer.close(name);
    at
}
