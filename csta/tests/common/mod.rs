//! Sample values of every message type, shared by the integration tests.

#![allow(dead_code)]

use csta::call_control::*;
use csta::error_code::{OperationError, SystemResourceAvailabilityError};
use csta::escape::{Escape, EscapeResponse};
use csta::events::*;
use csta::logical::*;
use csta::monitoring::*;
use csta::session::*;
use csta::snapshot::*;
use csta::system::*;
use csta::types::*;
use csta::{
    CallId, ConnectionId, CstaErrorCode, CstaEvent, DeviceId, Message, MonitorCrossRefId, SessionId,
};

pub(crate) fn device(text: &str) -> DeviceId {
    DeviceId::new(text).unwrap()
}

pub(crate) fn connection(call: &str, at: &str) -> ConnectionId {
    ConnectionId::call_at(CallId::new(call).unwrap(), device(at))
}

pub(crate) fn monitor(id: &str) -> MonitorCrossRefId {
    MonitorCrossRefId::new(id).unwrap()
}

pub(crate) fn raw(xml: &str) -> RawXml {
    RawXml::new(xml).unwrap()
}

pub(crate) fn private(xml: &str) -> Option<Extensions> {
    Some(Extensions::private(raw(xml)))
}

pub(crate) fn services() -> ServicesPermitted {
    ServicesPermitted {
        call_control: [
            CallControlService::ClearConnection,
            CallControlService::HoldCall,
        ]
        .into_iter()
        .collect(),
        call_associated: CallAssociatedServices::empty()
            .with(CallAssociatedService::GenerateDigits),
        ..ServicesPermitted::default()
    }
}

pub(crate) fn linkage() -> CallLinkageData {
    CallLinkageData {
        switching_sub_domain_name: Some("pbx-a".into()),
        linkage_id: CallLinkageId::GloballyUnique("0123456789ABCDEF0123456789ABCDEF".into()),
    }
}

pub(crate) fn connection_list() -> Vec<ConnectionListItem> {
    vec![
        ConnectionListItem {
            new_connection: Some(connection("c2", "202")),
            old_connection: Some(connection("c1", "202")),
            endpoint: Some(Endpoint::Device(device("202"))),
            associated_nid: None,
        },
        ConnectionListItem {
            new_connection: Some(connection("c2", "203")),
            old_connection: None,
            endpoint: Some(Endpoint::Restricted),
            associated_nid: Some(device("trunk1")),
        },
    ]
}

pub(crate) fn delivered() -> DeliveredEvent {
    DeliveredEvent {
        connection: connection("c4711", "201"),
        alerting_device: DeviceRef::Identifier(device("201")),
        calling_device: DeviceRef::Identifier(device("+4970319876543")),
        called_device: DeviceRef::Identifier(device("201")),
        last_redirection_device: Some(RedirectionDevice::NotRequired),
        originating_nid_connection: None,
        local_connection_info: Some(LocalConnectionState::Alerting),
        correlator_data: None,
        user_data: Some(UserData::String("4142".into())),
        cause: EventCause::NewCall,
        services_permitted: Some(services()),
        network_calling_device: Some(DeviceRef::Identifier(device("+4970319876543"))),
        network_called_device: None,
        associated_calling_device: None,
        associated_called_device: None,
        call_linkage_data: Some(linkage()),
        extensions: private(
            "<cti:line xmlns:cti=\"urn:cti-gateway:1\">Empfang M\u{fc}ller</cti:line>",
        ),
    }
}

pub(crate) fn established() -> EstablishedEvent {
    EstablishedEvent {
        established_connection: connection("c4711", "201"),
        answering_device: DeviceRef::Identifier(device("201")),
        calling_device: DeviceRef::Restricted,
        called_device: DeviceRef::Identifier(device("201")),
        last_redirection_device: Some(RedirectionDevice::NumberDialed(device("200"))),
        originating_nid_connection: Some(connection("c4711", "trunk1")),
        local_connection_info: Some(LocalConnectionState::Connected),
        correlator_data: Some(UserData::Private(raw("<x>1</x>"))),
        user_data: None,
        cause: EventCause::NewCall,
        services_permitted: None,
        network_calling_device: None,
        network_called_device: Some(DeviceRef::NotKnown),
        associated_calling_device: None,
        associated_called_device: None,
        call_linkage_data: None,
        extensions: None,
    }
}

pub(crate) fn transfered() -> TransferedEvent {
    TransferedEvent {
        primary_old_call: connection("c1", "201"),
        secondary_old_call: Some(connection("c2", "201")),
        transferring_device: DeviceRef::Identifier(device("201")),
        transferred_to_device: DeviceRef::Identifier(device("203")),
        transferred_connections: connection_list(),
        local_connection_info: Some(LocalConnectionState::Null),
        correlator_data: None,
        user_data: None,
        cause: EventCause::Transfer,
        services_permitted: None,
        call_linkage_data_list: Some(CallLinkageDataList {
            new: linkage(),
            old: CallLinkageData {
                switching_sub_domain_name: None,
                linkage_id: CallLinkageId::SubDomain("0A0B".into()),
            },
        }),
        extensions: None,
    }
}

fn event(event: impl Into<Event>) -> Message {
    Message::Event(CstaEvent {
        monitor_cross_ref_id: monitor("m17"),
        event: event.into(),
    })
}

/// One value of every message variant, with optional fields filled in.
pub(crate) fn every_message() -> Vec<Message> {
    let login = Credentials {
        user: "crm".into(),
        password: "secret".into(),
        session_cleanup_delay: Some(60),
        session_id: None,
    };
    let mut start = StartApplicationSession::with_login("CRM connector", &login, true);
    start.requested_protocol_versions = vec![
        "http://www.ecma-international.org/standards/ecma-323/csta/ed6".into(),
        "http://www.ecma-international.org/standards/ecma-323/csta/ed3".into(),
    ];
    start.requested_session_duration = Some(180);
    let session = SessionId::new("5A3F-0001").unwrap();
    let filter = MonitorFilter {
        call_control: Some(CallControlFilter::empty().with(CallControlFilterItem::Offered)),
        maintenance: Some(MaintenanceFilter::empty()),
        ..MonitorFilter::default()
    };
    let snapshot_info = SnapshotDeviceResponseInfo {
        connection_identifier: connection("c1", "201"),
        endpoint_device: Some(DeviceRef::Identifier(device("202"))),
        local_call_state: LocalCallState::Compound(vec![
            LocalConnectionState::Connected,
            LocalConnectionState::Alerting,
        ]),
        services_permitted: Some(services()),
        call_linkage_data: Some(linkage()),
    };
    let forward_item = ForwardListItem {
        forwarding_type: Some(ForwardingType::ForwardImmediate),
        forward_status: true,
        forward_dn: Some(device("tel:+4930123")),
        forward_default: Some(ForwardDefault::ForwardingTypeAndForwardDn),
        ring_count: Some(5),
        ring_duration: None,
    };
    vec![
        start.into(),
        StartApplicationSessionPosResponse {
            session_id: session.clone(),
            actual_protocol_version:
                "http://www.ecma-international.org/standards/ecma-323/csta/ed3".into(),
            actual_session_duration: 120,
            extensions: Some(raw("<actualHBT>0</actualHBT>")),
        }
        .into(),
        StartApplicationSessionNegResponse {
            error_code: Reason::Defined(StartSessionError::InvalidApplicationInfo),
            extensions: None,
        }
        .into(),
        StopApplicationSession {
            session_id: session.clone(),
            session_end_reason: Reason::Text("shutting down".into()),
            extensions: None,
        }
        .into(),
        StopApplicationSessionPosResponse::default().into(),
        StopApplicationSessionNegResponse {
            error_code: Reason::Defined(StopSessionError::InvalidSessionId),
            extensions: None,
        }
        .into(),
        ResetApplicationSessionTimer {
            session_id: session.clone(),
            requested_session_duration: Some(180),
            extensions: None,
        }
        .into(),
        ResetApplicationSessionTimerPosResponse {
            actual_session_duration: 180,
            extensions: None,
        }
        .into(),
        ResetApplicationSessionTimerNegResponse {
            error_code: Reason::Text("no such session".into()),
            extensions: None,
        }
        .into(),
        ApplicationSessionTerminated {
            session_id: session,
            session_term_reason: Reason::Defined(SessionTermReason::SessionTimerExpired),
            extensions: None,
        }
        .into(),
        SystemRegister {
            request_types: RequestTypes::empty().with(RequestType::SystemStatus),
            requested_status_filter: Some(
                StatusFilter::empty().with(StatusFilterItem::MessageLost),
            ),
            extensions: None,
        }
        .into(),
        SystemRegisterResponse {
            sys_stat_register_id: csta::ids::SysStatRegisterId::new("reg1").unwrap(),
            actual_status_filter: None,
            extensions: None,
        }
        .into(),
        SystemStatus {
            sys_stat_register_id: None,
            system_status: SystemStatusValue::Normal,
            extensions: None,
        }
        .into(),
        SystemStatusResponse::default().into(),
        SwFunctionDevicesChanged {
            sys_stat_register_id: Some(csta::ids::SysStatRegisterId::new("reg1").unwrap()),
            extensions: None,
        }
        .into(),
        SwFunctionDevicesChangedResponse::default().into(),
        RequestSystemStatus::default().into(),
        RequestSystemStatusResponse {
            system_status: SystemStatusValue::MessagesLost,
            extensions: None,
        }
        .into(),
        GetSwitchingFunctionDevices {
            requested_device_id: None,
            requested_device_category: Some(DeviceCategory::Station),
            extensions: None,
        }
        .into(),
        GetSwitchingFunctionDevicesResponse {
            service_cross_ref_id: csta::ids::ServiceCrossRefId::new("sfd1").unwrap(),
            extensions: None,
        }
        .into(),
        SwitchingFunctionDevices {
            service_cross_ref_id: csta::ids::ServiceCrossRefId::new("sfd1").unwrap(),
            segment_id: Some(1),
            last_segment: true,
            device_list: Some(vec![
                DeviceListItem {
                    device_id: device("201"),
                    device_category: Some(DeviceCategory::Station),
                    device_model_name: Some("IP232".into()),
                },
                DeviceListItem {
                    device_id: device("800"),
                    device_category: Some(DeviceCategory::GroupHunt),
                    device_model_name: None,
                },
            ]),
            extensions: private(
                "<cti:devices xmlns:cti=\"urn:cti-gateway:1\"><cti:device id=\"201\" \
                 name=\"J\u{fc}rgen\" key=\"a1b2\"/></cti:devices>",
            ),
        }
        .into(),
        GetCstaFeatures::default().into(),
        GetCstaFeaturesResponse {
            supported_services: vec![FeatureList {
                group: FeatureGroup::CallControlServList,
                features: vec![
                    Feature {
                        name: "makeCall".into(),
                        parameters: vec!["correlatorData".into()],
                    },
                    Feature {
                        name: "clearConnection".into(),
                        parameters: vec![],
                    },
                ],
            }],
            supported_events: vec![FeatureList {
                group: FeatureGroup::CallControlEvtsList,
                features: vec![Feature {
                    name: "delivered".into(),
                    parameters: vec![],
                }],
            }],
            extensions: None,
        }
        .into(),
        GetPhysicalDeviceInformation {
            device: device("201"),
            extensions: None,
        }
        .into(),
        GetPhysicalDeviceInformationResponse {
            device_category: Some(DeviceCategory::Station),
            has_logical_element: Some(true),
            device_model_name: Some("IP232".into()),
            max_displays: Some(1),
            max_buttons: None,
            max_lamps: None,
            max_ring_patterns: None,
            extensions: private("<x/>"),
        }
        .into(),
        GetLogicalDeviceInformation {
            device: device("201"),
            extensions: None,
        }
        .into(),
        GetLogicalDeviceInformationResponse {
            device_category: Some(DeviceCategory::Station),
            short_form_device_id: Some(device("201")),
            has_physical_element: Some(true),
            max_active_calls: Some(1),
            max_held_calls: Some(1),
            max_devices_in_conf: Some(3),
            extensions: private("<x/>"),
        }
        .into(),
        Escape {
            escape_register_id: None,
            private_data: PrivateData::Private(raw(
                "<cti:reload xmlns:cti=\"urn:cti-gateway:1\"/>",
            )),
            extensions: None,
        }
        .into(),
        EscapeResponse {
            extensions: private("<cti:done xmlns:cti=\"urn:cti-gateway:1\"/>"),
        }
        .into(),
        MonitorStart {
            monitor_object: MonitorObject::Device(device("201")),
            requested_monitor_filter: Some(filter.clone()),
            monitor_type: Some(MonitorType::Device),
            extensions: None,
        }
        .into(),
        MonitorStartResponse {
            monitor_cross_ref_id: monitor("m17"),
            actual_monitor_filter: Some(filter),
            monitor_existing_calls: Some(true),
            extensions: private("<y/>"),
        }
        .into(),
        MonitorStop {
            monitor_cross_ref_id: monitor("m17"),
            extensions: None,
        }
        .into(),
        MonitorStopResponse::default().into(),
        SnapshotDevice {
            snapshot_object: device("201"),
            extensions: None,
        }
        .into(),
        SnapshotDeviceResponse {
            cross_ref_id_or_snapshot_data: SnapshotResult::Data(vec![snapshot_info]),
            extensions: private("<z/>"),
        }
        .into(),
        SnapshotCall {
            snapshot_object: connection("c1", "201"),
            extensions: None,
        }
        .into(),
        SnapshotCallResponse {
            cross_ref_id_or_snapshot_data: SnapshotResult::Data(vec![SnapshotCallResponseInfo {
                device_on_call: Some(DeviceRef::Identifier(device("201"))),
                call_identifier: Some(connection("c1", "201")),
                local_connection_info: Some(LocalConnectionState::Hold),
                services_permitted: None,
            }]),
            calling_device: Some(DeviceRef::Identifier(device("201"))),
            called_device: Some(DeviceRef::NotKnown),
            associated_calling_device: None,
            associated_called_device: None,
            correlator_data: None,
            call_linkage_data: Some(linkage()),
            extensions: private("<z/>"),
        }
        .into(),
        MakeCall {
            account_code: Some("0102".into()),
            auto_originate: Some(AutoOriginate::DoNotPrompt),
            correlator_data: Some(UserData::String("00FF".into())),
            ..MakeCall::new(device("201"), device("+4970319876543"))
        }
        .into(),
        MakeCallResponse {
            calling_device: connection("c1", "201"),
            call_linkage_data: None,
            extensions: None,
        }
        .into(),
        AnswerCall {
            call_to_be_answered: connection("c1", "201"),
            correlator_data: None,
            user_data: None,
            extensions: None,
        }
        .into(),
        AnswerCallResponse::default().into(),
        ClearConnection {
            connection_to_be_cleared: connection("c1", "201"),
            correlator_data: None,
            user_data: None,
            extensions: None,
        }
        .into(),
        ClearConnectionResponse::default().into(),
        ClearCall {
            call_to_be_cleared: ConnectionId::new(Some(CallId::new("c1").unwrap()), None).unwrap(),
            user_data: None,
            extensions: None,
        }
        .into(),
        ClearCallResponse::default().into(),
        HoldCall {
            call_to_be_held: connection("c1", "201"),
            connection_reservation: Some(false),
            extensions: None,
        }
        .into(),
        HoldCallResponse::default().into(),
        RetrieveCall {
            call_to_be_retrieved: connection("c1", "201"),
            extensions: None,
        }
        .into(),
        RetrieveCallResponse::default().into(),
        AlternateCall {
            held_call: connection("c1", "201"),
            active_call: connection("c2", "201"),
            connection_reservation: None,
            consult_options: Some(ConsultOptions::Unrestricted),
            extensions: None,
        }
        .into(),
        AlternateCallResponse::default().into(),
        ReconnectCall {
            active_call: connection("c2", "201"),
            held_call: connection("c1", "201"),
            extensions: None,
        }
        .into(),
        ReconnectCallResponse::default().into(),
        ConsultationCall {
            existing_call: connection("c1", "201"),
            consulted_device: device("203"),
            connection_reservation: None,
            account_code: None,
            auth_code: Some("99".into()),
            correlator_data: None,
            user_data: None,
            consult_options: Some(ConsultOptions::TransferOnly),
            extensions: None,
        }
        .into(),
        ConsultationCallResponse {
            initiated_call: connection("c2", "201"),
            call_linkage_data: None,
            extensions: None,
        }
        .into(),
        TransferCall {
            held_call: connection("c1", "201"),
            active_call: connection("c2", "201"),
            extensions: None,
        }
        .into(),
        TransferCallResponse {
            transferred_call: connection("c2", "202"),
            connections: Some(connection_list()),
            call_linkage_data_list: None,
            extensions: None,
        }
        .into(),
        SingleStepTransferCall {
            active_call: connection("c1", "201"),
            transferred_to: device("204"),
            account_code: None,
            auth_code: None,
            correlator_data: None,
            user_data: None,
            extensions: None,
        }
        .into(),
        SingleStepTransferCallResponse {
            transferred_call: connection("c1", "204"),
            connections: None,
            call_linkage_data_list: None,
            extensions: None,
        }
        .into(),
        ConferenceCall {
            held_call: connection("c1", "201"),
            active_call: connection("c2", "201"),
            extensions: None,
        }
        .into(),
        ConferenceCallResponse {
            conference_call: connection("c1", "201"),
            connections: Some(connection_list()),
            call_linkage_data_list: None,
            extensions: None,
        }
        .into(),
        DeflectCall {
            call_to_be_diverted: connection("c1", "201"),
            new_destination: device("205"),
            correlator_data: None,
            user_data: None,
            extensions: None,
        }
        .into(),
        DeflectCallResponse::default().into(),
        GenerateDigits {
            connection_to_send_digits: connection("c1", "201"),
            digit_mode: Some(DigitMode::Dtmf),
            characters_to_send: "12#*".into(),
            tone_duration: Some(100),
            pulse_rate: None,
            pause_duration: Some(50),
            extensions: None,
        }
        .into(),
        GenerateDigitsResponse::default().into(),
        GroupPickupCall {
            new_destination: device("201"),
            pick_group: Some(device("880")),
            correlator_data: None,
            user_data: None,
            extensions: None,
        }
        .into(),
        GroupPickupCallResponse {
            picked_call: Some(connection("c9", "201")),
            extensions: None,
        }
        .into(),
        DirectedPickupCall {
            call_to_be_picked_up: connection("c9", "202"),
            requesting_device: device("201"),
            correlator_data: None,
            user_data: None,
            extensions: None,
        }
        .into(),
        DirectedPickupCallResponse::default().into(),
        ParkCall {
            parking: connection("c1", "201"),
            park_to: device("900"),
            correlator_data: None,
            extensions: None,
        }
        .into(),
        ParkCallResponse {
            parked_to: Some(connection("c1", "900")),
            extensions: None,
        }
        .into(),
        SetForwarding {
            device: device("201"),
            forwarding_type: Some(ForwardingType::ForwardNoAns),
            activate_forward: true,
            forward_dn: Some(device("202")),
            ring_count: Some(4),
            ring_duration: None,
            extensions: None,
        }
        .into(),
        SetForwardingResponse::default().into(),
        GetForwarding {
            device: device("201"),
            extensions: None,
        }
        .into(),
        GetForwardingResponse {
            forwarding_list: Some(vec![forward_item]),
            extensions: None,
        }
        .into(),
        SetDoNotDisturb {
            device: device("201"),
            do_not_disturb_on: true,
            call_origination: Some(CallOrigination::empty().with(CallOriginationItem::External)),
            calling_device_list: Some(vec![device("100"), device("101")]),
            extensions: None,
        }
        .into(),
        SetDoNotDisturbResponse::default().into(),
        GetDoNotDisturb {
            device: device("201"),
            extensions: None,
        }
        .into(),
        GetDoNotDisturbResponse {
            do_not_disturb_on: false,
            call_origination: None,
            calling_device_list: None,
            extensions: None,
        }
        .into(),
        event(ServiceInitiatedEvent {
            initiated_connection: connection("c1", "201"),
            initiating_device: DeviceRef::Identifier(device("201")),
            called_device: None,
            local_connection_info: Some(LocalConnectionState::Initiated),
            correlator_data: None,
            cause: EventCause::MakeCall,
            services_permitted: Some(services()),
            network_calling_device: None,
            network_called_device: None,
            associated_calling_device: None,
            call_linkage_data: Some(linkage()),
            extensions: None,
        }),
        event(OriginatedEvent {
            originated_connection: connection("c1", "201"),
            calling_device: DeviceRef::Identifier(device("201")),
            called_device: DeviceRef::Identifier(device("202")),
            originating_device: Some(device("201")),
            local_connection_info: Some(LocalConnectionState::Connected),
            correlator_data: None,
            cause: EventCause::NewCall,
            services_permitted: None,
            network_calling_device: None,
            network_called_device: None,
            associated_calling_device: None,
            associated_called_device: None,
            call_linkage_data: None,
            extensions: None,
        }),
        event(delivered()),
        event(established()),
        event(HeldEvent {
            held_connection: connection("c1", "201"),
            holding_device: DeviceRef::Identifier(device("201")),
            local_connection_info: Some(LocalConnectionState::Hold),
            correlator_data: None,
            cause: EventCause::Consultation,
            services_permitted: None,
            call_linkage_data: None,
            extensions: None,
        }),
        event(RetrievedEvent {
            retrieved_connection: connection("c1", "201"),
            retrieving_device: DeviceRef::Identifier(device("201")),
            local_connection_info: Some(LocalConnectionState::Connected),
            correlator_data: None,
            cause: EventCause::Alternate,
            services_permitted: None,
            call_linkage_data: None,
            extensions: None,
        }),
        event(ConnectionClearedEvent {
            dropped_connection: connection("c1", "202"),
            releasing_device: DeviceRef::Identifier(device("202")),
            local_connection_info: Some(LocalConnectionState::Null),
            correlator_data: None,
            user_data: None,
            cause: EventCause::NormalClearing,
            services_permitted: None,
            call_linkage_data: None,
            extensions: None,
        }),
        event(CallClearedEvent {
            cleared_call: ConnectionId::new(Some(CallId::new("c1").unwrap()), None).unwrap(),
            correlator_data: None,
            user_data: None,
            cause: EventCause::NormalClearing,
            call_linkage_data: Some(linkage()),
            extensions: None,
        }),
        event(DivertedEvent {
            connection: connection("c1", "201"),
            diverting_device: DeviceRef::Identifier(device("201")),
            new_destination: DeviceRef::Identifier(device("205")),
            calling_device: Some(DeviceRef::Identifier(device("+4930999"))),
            called_device: Some(DeviceRef::Identifier(device("201"))),
            last_redirection_device: Some(RedirectionDevice::NumberDialed(device("201"))),
            local_connection_info: Some(LocalConnectionState::Null),
            correlator_data: None,
            user_data: None,
            cause: EventCause::CallForwardNoAnswer,
            services_permitted: None,
            network_calling_device: None,
            network_called_device: None,
            associated_calling_device: None,
            associated_called_device: None,
            call_linkage_data: None,
            extensions: None,
        }),
        event(transfered()),
        event(ConferencedEvent {
            primary_old_call: connection("c1", "201"),
            secondary_old_call: Some(connection("c2", "201")),
            conferencing_device: DeviceRef::Identifier(device("201")),
            added_party: DeviceRef::Identifier(device("203")),
            conference_connections: connection_list(),
            local_connection_info: Some(LocalConnectionState::Connected),
            correlator_data: None,
            user_data: None,
            cause: EventCause::Conference,
            services_permitted: None,
            call_linkage_data_list: None,
            extensions: None,
        }),
        event(FailedEvent {
            failed_connection: connection("c1", "202"),
            failing_device: DeviceRef::Identifier(device("202")),
            calling_device: DeviceRef::Identifier(device("201")),
            called_device: DeviceRef::Identifier(device("202")),
            last_redirection_device: Some(RedirectionDevice::NotKnown),
            originating_nid_connection: None,
            local_connection_info: Some(LocalConnectionState::Fail),
            correlator_data: None,
            user_data: None,
            cause: EventCause::Busy,
            services_permitted: None,
            network_calling_device: None,
            network_called_device: None,
            associated_calling_device: None,
            associated_called_device: None,
            call_linkage_data: None,
            extensions: None,
        }),
        event(QueuedEvent {
            queued_connection: connection("c1", "800"),
            queue: DeviceRef::Identifier(device("800")),
            calling_device: DeviceRef::Identifier(device("+4930999")),
            called_device: DeviceRef::Identifier(device("800")),
            last_redirection_device: Some(RedirectionDevice::NotRequired),
            number_queued: Some(3),
            calls_in_front: Some(2),
            local_connection_info: Some(LocalConnectionState::Queued),
            correlator_data: None,
            user_data: None,
            cause: EventCause::EnteringDistribution,
            services_permitted: None,
            network_calling_device: None,
            network_called_device: None,
            associated_calling_device: None,
            associated_called_device: None,
            call_linkage_data: None,
            extensions: None,
        }),
        event(NetworkReachedEvent {
            outbound_connection: connection("c1", "trunk1"),
            network_interface_used: DeviceRef::Identifier(device("trunk1")),
            calling_device: DeviceRef::Identifier(device("201")),
            called_device: DeviceRef::Identifier(device("+4930999")),
            last_redirection_device: Some(RedirectionDevice::NotRequired),
            originating_nid_connection: None,
            local_connection_info: Some(LocalConnectionState::Connected),
            correlator_data: None,
            user_data: None,
            cause: EventCause::NewCall,
            services_permitted: None,
            network_calling_device: None,
            network_called_device: None,
            associated_calling_device: None,
            call_linkage_data: None,
            extensions: None,
        }),
        event(DigitsDialedEvent {
            dialing_connection: connection("c1", "201"),
            dialing_device: DeviceRef::Identifier(device("201")),
            dialing_sequence: device("0301"),
            local_connection_info: Some(LocalConnectionState::Initiated),
            correlator_data: None,
            cause: EventCause::Other("digitsCollected".into()),
            services_permitted: None,
            network_calling_device: None,
            network_called_device: None,
            associated_calling_device: None,
            associated_called_device: None,
            call_linkage_data: None,
            extensions: None,
        }),
        event(ForwardingEvent {
            device: DeviceRef::Identifier(device("201")),
            forwarding_type: Some(ForwardingType::ForwardImmediate),
            forward_status: true,
            forward_to: Some(device("202")),
            forward_default: None,
            ring_count: None,
            ring_duration: None,
            extensions: None,
        }),
        event(DoNotDisturbEvent {
            device: DeviceRef::Identifier(device("201")),
            do_not_disturb_on: true,
            call_origination: Some(CallOrigination::all()),
            calling_device_list: None,
            extensions: None,
        }),
        event(BackInServiceEvent {
            device: DeviceRef::Identifier(device("201")),
            cause: Some(EventCause::Maintenance),
            extensions: None,
        }),
        event(OutOfServiceEvent {
            device: DeviceRef::Identifier(device("201")),
            cause: None,
            extensions: private(
                "<cti:reason xmlns:cti=\"urn:cti-gateway:1\">unregistered</cti:reason>",
            ),
        }),
        CstaErrorCode::Operation(OperationError::InvalidDeviceID).into(),
        CstaErrorCode::SystemResourceAvailability(
            SystemResourceAvailabilityError::ResourceOutOfService,
        )
        .into(),
        CstaErrorCode::PrivateErrorCode("URM Denied".into()).into(),
        CstaErrorCode::Unspecified.into(),
        Message::Keepalive,
    ]
}
