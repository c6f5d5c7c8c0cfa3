//! The gateway's event model and snapshots in CSTA types.

use csta::events::{
    BackInServiceEvent, CallClearedEvent, ConferencedEvent, ConnectionClearedEvent, DeliveredEvent,
    DigitsDialedEvent, DivertedEvent, DoNotDisturbEvent, EstablishedEvent, Event, FailedEvent,
    ForwardingEvent, HeldEvent, NetworkReachedEvent, OriginatedEvent, OutOfServiceEvent,
    QueuedEvent, RetrievedEvent, ServiceInitiatedEvent, TransferedEvent,
};
use csta::ids::{CallId as CstaCallId, ConnectionId, DeviceId as CstaDeviceId};
use csta::types::{
    CallAssociatedService, CallAssociatedServices, CallControlService, CallControlServices,
    CallLinkageData, CallLinkageId, ConnectionListItem, DeviceRef, Endpoint, EventCause,
    ForwardingType, LocalConnectionState, RedirectionDevice, ServicesPermitted,
};

use crate::events::{
    CallId, Cause, ConnectionChange, DeviceEvent, DeviceId, EventKind, ForwardKind, LocalState,
    Party,
};

/// A CSTA device id from a gateway id. Gateway ids are built from PBX data that `csta`
/// accepts; an id it would refuse (empty, control characters) is replaced by `?`.
pub fn device_id(id: &str) -> CstaDeviceId {
    CstaDeviceId::new(id).unwrap_or_else(|_| {
        // "?" is non-empty, printable and unpadded: a valid identifier.
        CstaDeviceId::new("?").expect("\"?\" is a valid device id")
    })
}

/// A CSTA call id from a gateway call id (bridge ids are short hexadecimal strings).
pub fn call_id(id: &CallId) -> CstaCallId {
    CstaCallId::new(id.as_str()).unwrap_or_else(|_| {
        // "0" is non-empty, printable and unpadded: a valid identifier.
        CstaCallId::new("0").expect("\"0\" is a valid call id")
    })
}

/// The connection of a call at a device.
pub fn connection(call: &CallId, device: &str) -> ConnectionId {
    ConnectionId::call_at(call_id(call), device_id(device))
}

fn party_connection(call: &CallId, party: &Party) -> ConnectionId {
    match party {
        Party::Device(id) => connection(call, id.as_str()),
        Party::Restricted | Party::NotKnown => ConnectionId {
            call: Some(call_id(call)),
            device: None,
        },
    }
}

/// A party as an event's device wrapper.
pub fn device_ref(party: &Party) -> DeviceRef {
    match party {
        Party::Device(id) => DeviceRef::Identifier(device_id(id.as_str())),
        Party::Restricted => DeviceRef::Restricted,
        Party::NotKnown => DeviceRef::NotKnown,
    }
}

fn redirection(party: &Option<Party>) -> Option<RedirectionDevice> {
    Some(match party {
        None => RedirectionDevice::NotRequired,
        Some(Party::Device(id)) => RedirectionDevice::NumberDialed(device_id(id.as_str())),
        Some(Party::Restricted) => RedirectionDevice::Restricted,
        Some(Party::NotKnown) => RedirectionDevice::NotKnown,
    })
}

fn endpoint(party: &Party) -> Endpoint {
    match party {
        Party::Device(id) => Endpoint::Device(device_id(id.as_str())),
        Party::Restricted => Endpoint::Restricted,
        Party::NotKnown => Endpoint::NotKnown,
    }
}

/// The local connection state in CSTA terms.
pub fn local_state(state: LocalState) -> LocalConnectionState {
    match state {
        LocalState::Null => LocalConnectionState::Null,
        LocalState::Initiated => LocalConnectionState::Initiated,
        LocalState::Alerting => LocalConnectionState::Alerting,
        LocalState::Connected => LocalConnectionState::Connected,
        LocalState::Hold => LocalConnectionState::Hold,
        LocalState::Queued => LocalConnectionState::Queued,
        LocalState::Fail => LocalConnectionState::Fail,
    }
}

/// A cause in CSTA terms.
pub fn cause(cause: Cause) -> EventCause {
    match cause {
        Cause::NewCall => EventCause::NewCall,
        Cause::MakeCall => EventCause::MakeCall,
        Cause::NormalClearing => EventCause::NormalClearing,
        Cause::Consultation => EventCause::Consultation,
        Cause::Transfer => EventCause::Transfer,
        Cause::SingleStepTransfer => EventCause::SingleStepTransfer,
        Cause::Conference => EventCause::Conference,
        Cause::Alternate => EventCause::Alternate,
        Cause::CallPickup => EventCause::CallPickup,
        Cause::Redirected => EventCause::Redirected,
        Cause::CallForwardImmediate => EventCause::CallForwardImmediate,
        Cause::CallForwardBusy => EventCause::CallForwardBusy,
        Cause::CallForwardNoAnswer => EventCause::CallForwardNoAnswer,
        Cause::CallForward => EventCause::CallForward,
        Cause::Busy => EventCause::Busy,
        Cause::CallNotAnswered => EventCause::CallNotAnswered,
        Cause::CallCancelled => EventCause::CallCancelled,
        Cause::DestNotObtainable => EventCause::DestNotObtainable,
        Cause::NumberUnallocated => EventCause::NumberUnallocated,
        Cause::IncompatibleDestination => EventCause::IncompatibleDestination,
        Cause::NetworkCongestion => EventCause::NetworkCongestion,
        Cause::ResourcesNotAvailable => EventCause::ResourcesNotAvailable,
        Cause::EnteringDistribution => EventCause::EnteringDistribution,
        Cause::Park => EventCause::Park,
        Cause::DoNotDisturb => EventCause::DoNotDisturb,
        Cause::Maintenance => EventCause::Maintenance,
        Cause::Normal => EventCause::Normal,
    }
}

/// The CSTA forwarding type of a forward kind.
pub fn forwarding_type(kind: ForwardKind) -> ForwardingType {
    match kind {
        ForwardKind::Immediate => ForwardingType::ForwardImmediate,
        ForwardKind::Busy => ForwardingType::ForwardBusy,
        ForwardKind::NoAnswer => ForwardingType::ForwardNoAns,
    }
}

/// The forward kind of a CSTA forwarding type (internal/external variants map to their base).
pub fn forward_kind(kind: &ForwardingType) -> Option<ForwardKind> {
    match kind {
        ForwardingType::ForwardImmediate
        | ForwardingType::ForwardImmInt
        | ForwardingType::ForwardImmExt => Some(ForwardKind::Immediate),
        ForwardingType::ForwardBusy
        | ForwardingType::ForwardBusyInt
        | ForwardingType::ForwardBusyExt => Some(ForwardKind::Busy),
        ForwardingType::ForwardNoAns
        | ForwardingType::ForwardNoAnsInt
        | ForwardingType::ForwardNoAnsExt => Some(ForwardKind::NoAnswer),
        _ => None,
    }
}

/// The services that make sense for a connection in a state: what clients grey out buttons
/// by. `answered` says whether the call is answered (a caller is `connected` while the far
/// end still rings, and may then only clear or transfer the call); `conference` whether the
/// PBX offers ConferenceCall. The server refuses what is not offered here.
pub fn services_permitted(
    state: LocalState,
    answered: bool,
    conference: bool,
) -> ServicesPermitted {
    use CallControlService as S;
    let call_control: CallControlServices = match state {
        LocalState::Null => [].into_iter().collect(),
        LocalState::Initiated => [S::ClearConnection, S::ClearCall].into_iter().collect(),
        LocalState::Connected if !answered => [S::ClearConnection, S::ClearCall, S::TransferCall]
            .into_iter()
            .collect(),
        LocalState::Alerting => [
            S::AnswerCall,
            S::ClearConnection,
            S::DeflectCall,
            S::ClearCall,
        ]
        .into_iter()
        .collect(),
        LocalState::Connected => {
            let mut set: CallControlServices = [
                S::ClearConnection,
                S::ClearCall,
                S::HoldCall,
                S::ConsultationCall,
                S::SingleStepTransfer,
                S::TransferCall,
                S::AlternateCall,
                S::ParkCall,
            ]
            .into_iter()
            .collect();
            if conference {
                set.insert(S::ConferenceCall);
            }
            set
        }
        LocalState::Hold => {
            let mut set: CallControlServices = [
                S::RetrieveCall,
                S::ClearConnection,
                S::ClearCall,
                S::TransferCall,
                S::AlternateCall,
                S::ReconnectCall,
            ]
            .into_iter()
            .collect();
            if conference {
                set.insert(S::ConferenceCall);
            }
            set
        }
        LocalState::Queued | LocalState::Fail => [S::ClearConnection].into_iter().collect(),
    };
    let call_associated: CallAssociatedServices = if state == LocalState::Connected && answered {
        [CallAssociatedService::GenerateDigits]
            .into_iter()
            .collect()
    } else {
        CallAssociatedServices::empty()
    };
    ServicesPermitted {
        call_control,
        call_associated,
        ..ServicesPermitted::default()
    }
}

/// Whether the call of an event is answered, as far as the event tells: after Established,
/// hold, retrieve, conference and transfer it is; while it is set up, delivered, diverted or
/// queued it is not.
fn answered(kind: &EventKind) -> bool {
    match kind {
        EventKind::Established { .. }
        | EventKind::Held { .. }
        | EventKind::Retrieved { .. }
        | EventKind::Conferenced { .. }
        | EventKind::Transferred { .. }
        | EventKind::ConnectionCleared { .. }
        | EventKind::DigitsDialed { .. } => true,
        EventKind::ServiceInitiated { .. }
        | EventKind::Originated { .. }
        | EventKind::Delivered { .. }
        | EventKind::Diverted { .. }
        | EventKind::Failed { .. }
        | EventKind::Queued { .. }
        | EventKind::NetworkReached { .. }
        | EventKind::CallCleared { .. }
        | EventKind::Forwarding { .. }
        | EventKind::DoNotDisturb { .. }
        | EventKind::BackInService
        | EventKind::OutOfService => false,
    }
}

/// The global call data of a call: the PBX's conf GUID when known.
pub fn linkage(conf: Option<&str>) -> Option<CallLinkageData> {
    let conf = conf?;
    let hex: String = conf
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(32)
        .collect();
    if hex.is_empty() {
        return None;
    }
    Some(CallLinkageData {
        switching_sub_domain_name: None,
        linkage_id: CallLinkageId::GloballyUnique(hex),
    })
}

fn change_items(changes: &[ConnectionChange]) -> Vec<ConnectionListItem> {
    changes
        .iter()
        .map(|change| ConnectionListItem {
            new_connection: Some(party_connection(&change.new_call, &change.device)),
            old_connection: Some(party_connection(&change.old_call, &change.device)),
            endpoint: Some(endpoint(&change.device)),
            associated_nid: None,
        })
        .collect()
}

/// Options that shape every event.
#[derive(Clone, Copy, Debug)]
pub struct EventContext<'a> {
    /// The PBX's conf GUID of the call, if known.
    pub conf: Option<&'a str>,
    /// Whether ConferenceCall is offered.
    pub conference: bool,
}

/// The CSTA event for a gateway event.
pub fn event(event: &DeviceEvent, context: EventContext<'_>) -> Event {
    let device: &DeviceId = &event.device;
    let me = device.as_str();
    let fallback_call = CallId::default();
    let call = event.call.as_ref().unwrap_or(&fallback_call);
    let own = || connection(call, me);
    let local = Some(local_state(event.local));
    let permitted = Some(services_permitted(
        event.local,
        answered(&event.kind),
        context.conference,
    ));
    let linkage = linkage(context.conf);
    match &event.kind {
        EventKind::ServiceInitiated { cause: why } => ServiceInitiatedEvent {
            initiated_connection: own(),
            initiating_device: DeviceRef::Identifier(device_id(me)),
            called_device: None,
            local_connection_info: local,
            correlator_data: None,
            cause: cause(*why),
            services_permitted: permitted,
            network_calling_device: None,
            network_called_device: None,
            associated_calling_device: None,
            call_linkage_data: linkage,
            extensions: None,
        }
        .into(),
        EventKind::Originated {
            calling,
            called,
            cause: why,
        } => OriginatedEvent {
            originated_connection: own(),
            calling_device: device_ref(calling),
            called_device: device_ref(called),
            originating_device: None,
            local_connection_info: local,
            correlator_data: None,
            cause: cause(*why),
            services_permitted: permitted,
            network_calling_device: None,
            network_called_device: None,
            associated_calling_device: None,
            associated_called_device: None,
            call_linkage_data: linkage,
            extensions: None,
        }
        .into(),
        EventKind::Delivered {
            alerting,
            calling,
            called,
            last_redirection,
            cause: why,
        } => DeliveredEvent {
            connection: party_connection(call, alerting),
            alerting_device: device_ref(alerting),
            calling_device: device_ref(calling),
            called_device: device_ref(called),
            last_redirection_device: redirection(last_redirection),
            originating_nid_connection: None,
            local_connection_info: local,
            correlator_data: None,
            user_data: None,
            cause: cause(*why),
            services_permitted: permitted,
            network_calling_device: None,
            network_called_device: None,
            associated_calling_device: None,
            associated_called_device: None,
            call_linkage_data: linkage,
            extensions: None,
        }
        .into(),
        EventKind::Established {
            answering,
            calling,
            called,
            last_redirection,
            cause: why,
        } => EstablishedEvent {
            established_connection: party_connection(call, answering),
            answering_device: device_ref(answering),
            calling_device: device_ref(calling),
            called_device: device_ref(called),
            last_redirection_device: redirection(last_redirection),
            originating_nid_connection: None,
            local_connection_info: local,
            correlator_data: None,
            user_data: None,
            cause: cause(*why),
            services_permitted: permitted,
            network_calling_device: None,
            network_called_device: None,
            associated_calling_device: None,
            associated_called_device: None,
            call_linkage_data: linkage,
            extensions: None,
        }
        .into(),
        EventKind::Held {
            holding,
            cause: why,
        } => HeldEvent {
            held_connection: party_connection(call, holding),
            holding_device: device_ref(holding),
            local_connection_info: local,
            correlator_data: None,
            cause: cause(*why),
            services_permitted: permitted,
            call_linkage_data: linkage,
            extensions: None,
        }
        .into(),
        EventKind::Retrieved {
            retrieving,
            cause: why,
        } => RetrievedEvent {
            retrieved_connection: party_connection(call, retrieving),
            retrieving_device: device_ref(retrieving),
            local_connection_info: local,
            correlator_data: None,
            cause: cause(*why),
            services_permitted: permitted,
            call_linkage_data: linkage,
            extensions: None,
        }
        .into(),
        EventKind::ConnectionCleared {
            dropped,
            releasing,
            cause: why,
        } => ConnectionClearedEvent {
            dropped_connection: party_connection(call, dropped),
            releasing_device: device_ref(releasing),
            local_connection_info: local,
            correlator_data: None,
            user_data: None,
            cause: cause(*why),
            services_permitted: permitted,
            call_linkage_data: linkage,
            extensions: None,
        }
        .into(),
        EventKind::CallCleared { cause: why } => CallClearedEvent {
            cleared_call: ConnectionId {
                call: Some(call_id(call)),
                device: None,
            },
            correlator_data: None,
            user_data: None,
            cause: cause(*why),
            call_linkage_data: linkage,
            extensions: None,
        }
        .into(),
        EventKind::Diverted {
            diverting,
            new_destination,
            cause: why,
        } => DivertedEvent {
            connection: party_connection(call, diverting),
            diverting_device: device_ref(diverting),
            new_destination: device_ref(new_destination),
            calling_device: None,
            called_device: None,
            last_redirection_device: None,
            local_connection_info: local,
            correlator_data: None,
            user_data: None,
            cause: cause(*why),
            services_permitted: permitted,
            network_calling_device: None,
            network_called_device: None,
            associated_calling_device: None,
            associated_called_device: None,
            call_linkage_data: linkage,
            extensions: None,
        }
        .into(),
        EventKind::Transferred {
            primary_old,
            secondary_old,
            transferring,
            transferred_to,
            connections,
            cause: why,
        } => TransferedEvent {
            primary_old_call: party_connection(primary_old, transferring),
            secondary_old_call: secondary_old
                .as_ref()
                .map(|call| party_connection(call, transferring)),
            transferring_device: device_ref(transferring),
            transferred_to_device: device_ref(transferred_to),
            transferred_connections: change_items(connections),
            local_connection_info: local,
            correlator_data: None,
            user_data: None,
            cause: cause(*why),
            services_permitted: permitted,
            call_linkage_data_list: None,
            extensions: None,
        }
        .into(),
        EventKind::Conferenced {
            primary_old,
            secondary_old,
            conferencing,
            added,
            connections,
            cause: why,
        } => ConferencedEvent {
            primary_old_call: party_connection(primary_old, conferencing),
            secondary_old_call: secondary_old
                .as_ref()
                .map(|call| party_connection(call, conferencing)),
            conferencing_device: device_ref(conferencing),
            added_party: device_ref(added),
            conference_connections: change_items(connections),
            local_connection_info: local,
            correlator_data: None,
            user_data: None,
            cause: cause(*why),
            services_permitted: permitted,
            call_linkage_data_list: None,
            extensions: None,
        }
        .into(),
        EventKind::Failed {
            failing,
            calling,
            called,
            cause: why,
        } => FailedEvent {
            failed_connection: party_connection(call, failing),
            failing_device: device_ref(failing),
            calling_device: device_ref(calling),
            called_device: device_ref(called),
            last_redirection_device: Some(RedirectionDevice::NotRequired),
            originating_nid_connection: None,
            local_connection_info: local,
            correlator_data: None,
            user_data: None,
            cause: cause(*why),
            services_permitted: permitted,
            network_calling_device: None,
            network_called_device: None,
            associated_calling_device: None,
            associated_called_device: None,
            call_linkage_data: linkage,
            extensions: None,
        }
        .into(),
        EventKind::Queued {
            queue,
            calling,
            called,
            cause: why,
        } => QueuedEvent {
            queued_connection: own(),
            queue: device_ref(queue),
            calling_device: device_ref(calling),
            called_device: device_ref(called),
            last_redirection_device: Some(RedirectionDevice::NotRequired),
            number_queued: None,
            calls_in_front: None,
            local_connection_info: local,
            correlator_data: None,
            user_data: None,
            cause: cause(*why),
            services_permitted: permitted,
            network_calling_device: None,
            network_called_device: None,
            associated_calling_device: None,
            associated_called_device: None,
            call_linkage_data: linkage,
            extensions: None,
        }
        .into(),
        EventKind::NetworkReached {
            trunk,
            calling,
            called,
            cause: why,
        } => NetworkReachedEvent {
            outbound_connection: own(),
            network_interface_used: device_ref(trunk),
            calling_device: device_ref(calling),
            called_device: device_ref(called),
            last_redirection_device: Some(RedirectionDevice::NotRequired),
            originating_nid_connection: None,
            local_connection_info: local,
            correlator_data: None,
            user_data: None,
            cause: cause(*why),
            services_permitted: permitted,
            network_calling_device: None,
            network_called_device: None,
            associated_calling_device: None,
            call_linkage_data: linkage,
            extensions: None,
        }
        .into(),
        EventKind::DigitsDialed { digits } => DigitsDialedEvent {
            dialing_connection: own(),
            dialing_device: DeviceRef::Identifier(device_id(me)),
            dialing_sequence: device_id(digits),
            local_connection_info: local,
            correlator_data: None,
            cause: EventCause::Normal,
            services_permitted: permitted,
            network_calling_device: None,
            network_called_device: None,
            associated_calling_device: None,
            associated_called_device: None,
            call_linkage_data: linkage,
            extensions: None,
        }
        .into(),
        EventKind::Forwarding { kind, on, to } => ForwardingEvent {
            device: DeviceRef::Identifier(device_id(me)),
            forwarding_type: Some(forwarding_type(*kind)),
            forward_status: *on,
            forward_to: to.as_deref().map(device_id),
            forward_default: None,
            ring_count: None,
            ring_duration: None,
            extensions: None,
        }
        .into(),
        EventKind::DoNotDisturb { on } => DoNotDisturbEvent {
            device: DeviceRef::Identifier(device_id(me)),
            do_not_disturb_on: *on,
            call_origination: None,
            calling_device_list: None,
            extensions: None,
        }
        .into(),
        EventKind::BackInService => BackInServiceEvent {
            device: DeviceRef::Identifier(device_id(me)),
            cause: Some(EventCause::Normal),
            extensions: None,
        }
        .into(),
        EventKind::OutOfService => OutOfServiceEvent {
            device: DeviceRef::Identifier(device_id(me)),
            cause: Some(EventCause::Maintenance),
            extensions: None,
        }
        .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control(state: LocalState, answered: bool, conference: bool) -> CallControlServices {
        services_permitted(state, answered, conference).call_control
    }

    #[test]
    fn a_caller_waiting_for_an_answer_may_only_clear_or_transfer() {
        use CallControlService as S;
        let waiting = control(LocalState::Connected, false, true);
        assert_eq!(
            waiting.iter().collect::<Vec<_>>(),
            [S::ClearCall, S::ClearConnection, S::TransferCall]
        );
        assert!(
            services_permitted(LocalState::Connected, false, true)
                .call_associated
                .is_empty(),
            "no digits before the answer"
        );
        let talking = control(LocalState::Connected, true, false);
        assert!(talking.contains(S::HoldCall) && talking.contains(S::ConsultationCall));
        assert!(
            !talking.contains(S::ConferenceCall),
            "the PBX offers no conference"
        );
        assert!(control(LocalState::Connected, true, true).contains(S::ConferenceCall));
        assert!(control(LocalState::Hold, true, true).contains(S::RetrieveCall));
        assert!(control(LocalState::Alerting, false, true).contains(S::AnswerCall));
        assert!(control(LocalState::Null, false, true).is_empty());
    }

    #[test]
    fn events_offer_what_the_call_state_allows() {
        let device = DeviceId::new("201");
        let at = |kind: EventKind| DeviceEvent {
            device: device.clone(),
            call: Some(CallId::new("c1")),
            local: LocalState::Connected,
            kind,
            conf: None,
        };
        let context = EventContext {
            conf: None,
            conference: true,
        };
        let permitted = |event: &DeviceEvent| match super::event(event, context) {
            Event::Delivered(e) => e.services_permitted,
            Event::Established(e) => e.services_permitted,
            other => panic!("{other:?}"),
        };
        let ringing_elsewhere = at(EventKind::Delivered {
            alerting: Party::device("202"),
            calling: Party::device("201"),
            called: Party::device("202"),
            last_redirection: None,
            cause: Cause::NewCall,
        });
        let answered = at(EventKind::Established {
            answering: Party::device("202"),
            calling: Party::device("201"),
            called: Party::device("202"),
            last_redirection: None,
            cause: Cause::NewCall,
        });
        let hold = CallControlService::HoldCall;
        assert!(
            !permitted(&ringing_elsewhere)
                .unwrap()
                .call_control
                .contains(hold)
        );
        assert!(permitted(&answered).unwrap().call_control.contains(hold));
    }
}
