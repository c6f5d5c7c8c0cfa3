//! Every fixture in `tests/fixtures/` decodes to the value its shape describes
//! (see `tests/fixtures/README.md`).

mod common;

use std::path::PathBuf;

use csta::call_control::{ClearConnection, DeflectCall, MakeCall};
use csta::error_code::SystemResourceAvailabilityError;
use csta::events::{EstablishedEvent, Event, TransferedEvent};
use csta::ids::TypeOfNumber;
use csta::monitoring::{MonitorObject, MonitorStart};
use csta::session::{Credentials, StartApplicationSessionPosResponse};
use csta::snapshot::{SnapshotDeviceResponse, SnapshotResult};
use csta::system::RequestSystemStatus;
use csta::types::*;
use csta::{
    AvayaProtocol, CallId, ConnectionId, CstaErrorCode, Decoded, Edition, LocalDeviceId, Message,
};

use common::*;

fn fixture(name: &str) -> Decoded {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", name]
        .iter()
        .collect();
    let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    Message::decode(&bytes).unwrap_or_else(|error| panic!("{name}: {error}"))
}

fn avaya() -> Edition {
    Edition::Avaya(AvayaProtocol::new(3, 5).unwrap())
}

#[test]
fn avaya_login() {
    let decoded = fixture("avaya_start_application_session.xml");
    assert_eq!(decoded.edition, None);
    let Message::StartApplicationSession(start) = decoded.message else {
        panic!("{:?}", decoded.message)
    };
    assert_eq!(start.application_info.application_id, "RecorderAgent");
    assert_eq!(
        start.requested_protocol_versions,
        [avaya().namespace().to_owned()]
    );
    assert_eq!(start.requested_session_duration, Some(180));
    assert_eq!(
        start.credentials(),
        Some(Credentials {
            user: "cti_user".into(),
            password: "Pa55&word".into(),
            session_cleanup_delay: Some(60),
            session_id: None,
        })
    );
}

#[test]
fn avaya_monitor_start_with_private_filter() {
    let decoded = fixture("avaya_monitor_start.xml");
    assert_eq!(decoded.edition, Some(avaya()));
    let Message::MonitorStart(start) = decoded.message else {
        panic!("{:?}", decoded.message)
    };
    let MonitorObject::Device(device) = &start.monitor_object else {
        panic!("{:?}", start.monitor_object)
    };
    assert_eq!(device.as_str(), "4711:CM1:10.0.0.5:0");
    assert_eq!(device.type_of_number(), Some(&TypeOfNumber::OtherPlan));
    assert_eq!(device.attribute("mediaClass"), Some("notKnown"));
    let filter = start.requested_monitor_filter.clone().unwrap();
    let call_control = filter.call_control.unwrap();
    // `doNotDisturb` is not a call control event: it is ignored, not an error.
    assert_eq!(
        call_control.iter().collect::<Vec<_>>(),
        [CallControlFilterItem::Offered]
    );
    assert!(
        filter
            .physical_device_feature
            .unwrap()
            .contains(PhysicalDeviceFeatureFilterItem::ButtonInformation)
    );
    let private = start.extensions.as_ref().unwrap().private_xml().unwrap();
    assert!(
        private
            .as_str()
            .contains("<invertFilter>true</invertFilter>")
    );
    // Written back in the client's namespace, the private data is unchanged.
    let again = Message::MonitorStart(start.clone()).to_bytes(&avaya());
    assert_eq!(
        Message::decode(&again).unwrap().message,
        Message::MonitorStart(start)
    );
}

#[test]
fn avaya_connection_with_device_first() {
    let decoded = fixture("avaya_clear_connection.xml");
    let expected_device = device("4711:CM1:10.0.0.5:0")
        .with_type_of_number(TypeOfNumber::OtherPlan)
        .with_attribute("mediaClass", "notKnown")
        .unwrap();
    assert_eq!(
        decoded.message,
        Message::ClearConnection(ClearConnection {
            connection_to_be_cleared: ConnectionId::call_at(
                CallId::new("812").unwrap(),
                expected_device
            ),
            correlator_data: None,
            user_data: None,
            extensions: None,
        })
    );
}

#[test]
fn openscape_service_initiated() {
    let decoded = fixture("openscape_service_initiated.xml");
    assert_eq!(decoded.edition, Some(Edition::Ed4));
    let Message::Event(event) = decoded.message else {
        panic!("{:?}", decoded.message)
    };
    assert_eq!(event.monitor_cross_ref_id.as_str(), "2203340011");
    let Event::ServiceInitiated(initiated) = event.event else {
        panic!("{:?}", event.event)
    };
    assert_eq!(
        initiated.initiated_connection,
        connection("FF0001000000000051A2C3D40E210000", "493055512001")
    );
    assert_eq!(
        initiated.initiating_device,
        DeviceRef::Identifier(device("N<493055512001>;noa=nk"))
    );
    assert_eq!(
        initiated.local_connection_info,
        Some(LocalConnectionState::Initiated)
    );
    assert_eq!(initiated.cause, EventCause::MakeCall);
    let services = initiated.services_permitted.unwrap();
    assert_eq!(
        services.call_control.iter().collect::<Vec<_>>(),
        [CallControlService::ClearConnection]
    );
    assert!(services.voice.is_empty());
    let private = initiated.extensions.unwrap();
    assert_eq!(
        private.private_xml().unwrap().as_str(),
        "<scx:extendedServicesPermitted/>"
    );
}

#[test]
fn openscape_delivered() {
    let decoded = fixture("openscape_delivered.xml");
    let Message::Event(event) = decoded.message else {
        panic!("{:?}", decoded.message)
    };
    let Event::Delivered(delivered) = event.event else {
        panic!("{:?}", event.event)
    };
    assert_eq!(
        delivered.alerting_device,
        DeviceRef::Identifier(device("N<493055512002>Reception;displayNumber=12002"))
    );
    assert_eq!(
        delivered.last_redirection_device,
        Some(RedirectionDevice::NotRequired)
    );
    assert_eq!(
        delivered.local_connection_info,
        Some(LocalConnectionState::Alerting)
    );
    assert_eq!(delivered.cause, EventCause::NewCall);
    assert_eq!(delivered.services_permitted, None);
}

#[test]
fn osbiz_plain_login() {
    let Message::StartApplicationSession(start) =
        fixture("osbiz_start_application_session.xml").message
    else {
        panic!("wrong message")
    };
    let credentials = start.credentials().unwrap();
    assert_eq!(
        (credentials.user.as_str(), credentials.password.as_str()),
        ("crm", "secret")
    );
    assert_eq!(start.requested_session_duration, Some(120));
}

#[test]
fn osv_unqualified_pos_response() {
    let decoded = fixture("osv_start_pos_response_unqualified_root.xml");
    assert_eq!(decoded.edition, None);
    assert_eq!(
        decoded.message,
        Message::StartApplicationSessionPosResponse(StartApplicationSessionPosResponse {
            session_id: csta::SessionId::new("ZPf7c2Q1").unwrap(),
            actual_protocol_version: Edition::Ed4.namespace().into(),
            actual_session_duration: 600,
            extensions: Some(raw("<actualHBT>0</actualHBT>")),
        })
    );
}

#[test]
fn rcc_requests() {
    let decoded = fixture("rcc_make_call.xml");
    assert_eq!(decoded.edition, Some(Edition::Ed3));
    assert_eq!(
        decoded.message,
        Message::MakeCall(MakeCall {
            auto_originate: Some(AutoOriginate::DoNotPrompt),
            ..MakeCall::new(
                device("tel:+493055512001;phone-context=dialstring"),
                device("tel:+4930555129;phone-context=dialstring")
            )
        })
    );
    let decoded = fixture("rcc_request_system_status.xml");
    let Message::RequestSystemStatus(RequestSystemStatus {
        sys_stat_register_id: None,
        extensions: Some(extensions),
    }) = decoded.message
    else {
        panic!("{:?}", decoded.message)
    };
    assert!(
        extensions
            .private_xml()
            .unwrap()
            .as_str()
            .contains(">tel:+493055512001</lcs:line>")
    );
}

#[test]
fn no_namespace_and_prefixes() {
    let decoded = fixture("no_namespace_monitor_start.xml");
    assert_eq!(decoded.edition, None);
    assert_eq!(
        decoded.message,
        Message::MonitorStart(MonitorStart::device(
            device("212700").with_type_of_number(TypeOfNumber::DialingNumber)
        ))
    );
    let decoded = fixture("prefixed_make_call.xml");
    assert_eq!(decoded.edition, Some(Edition::Ed6));
    assert_eq!(
        decoded.message,
        Message::MakeCall(MakeCall::new(device("201"), device("0301234567")))
    );
}

#[test]
fn typo_namespace_and_corrected_transferred_spelling() {
    let decoded = fixture("typo_namespace_transferred_event.xml");
    assert_eq!(decoded.edition, Some(Edition::Ed5));
    let Message::Event(event) = decoded.message else {
        panic!("{:?}", decoded.message)
    };
    let own = "sip:201@pbx.example:5060";
    assert_eq!(
        event.event,
        Event::Transfered(TransferedEvent {
            primary_old_call: connection("12", own),
            secondary_old_call: Some(connection("13", own)),
            transferring_device: DeviceRef::Identifier(device(own)),
            transferred_to_device: DeviceRef::Identifier(device("tel:203")),
            transferred_connections: vec![ConnectionListItem {
                new_connection: Some(connection("13", "tel:203")),
                old_connection: Some(connection("12", "tel:203")),
                endpoint: None,
                associated_nid: None,
            }],
            local_connection_info: Some(LocalConnectionState::Null),
            correlator_data: None,
            user_data: None,
            cause: EventCause::Transfer,
            services_permitted: None,
            call_linkage_data_list: None,
            extensions: None,
        })
    );
    // Written back with the schema spelling.
    let again = Message::Event(event).to_bytes(&Edition::Ed5);
    assert!(
        String::from_utf8(again)
            .unwrap()
            .contains("<TransferedEvent xmlns=")
    );
}

#[test]
fn corrected_originating_spelling_in_any_order() {
    let decoded = fixture("corrected_spelling_established.xml");
    let Message::Event(event) = decoded.message else {
        panic!("{:?}", decoded.message)
    };
    assert_eq!(event.monitor_cross_ref_id.as_str(), "17");
    assert_eq!(
        event.event,
        Event::Established(EstablishedEvent {
            established_connection: connection("99", "201"),
            answering_device: DeviceRef::Identifier(device("201")),
            calling_device: DeviceRef::Restricted,
            called_device: DeviceRef::Identifier(device("201")),
            last_redirection_device: Some(RedirectionDevice::NotKnown),
            originating_nid_connection: Some(connection("99", "trunk7")),
            local_connection_info: Some(LocalConnectionState::Connected),
            correlator_data: None,
            user_data: None,
            cause: EventCause::NewCall,
            services_permitted: None,
            network_calling_device: None,
            network_called_device: None,
            associated_calling_device: None,
            associated_called_device: None,
            call_linkage_data: None,
            extensions: None,
        })
    );
    // Written back with the schema spelling.
    let again = String::from_utf8(Message::Event(event).to_bytes(&Edition::Ed3)).unwrap();
    assert!(again.contains("<originatinNIDConnection>"), "{again}");
}

#[test]
fn deflect_destination_in_both_editions() {
    let expected = Message::DeflectCall(DeflectCall {
        call_to_be_diverted: connection("4", "201"),
        new_destination: device("tel:+4930555129"),
        correlator_data: None,
        user_data: None,
        extensions: None,
    });
    assert_eq!(
        fixture("ed6_deflect_call_device_list.xml").message,
        expected
    );
    assert_eq!(fixture("ed3_deflect_call_text.xml").message, expected);
}

#[test]
fn corrected_error_category() {
    assert_eq!(
        fixture("corrected_spelling_error_code.xml").message,
        Message::CstaErrorCode(CstaErrorCode::SystemResourceAvailability(
            SystemResourceAvailabilityError::ResourceBusy
        ))
    );
}

#[test]
fn keepalive_idle_snapshot_and_unknown_type_of_number() {
    assert_eq!(fixture("zultys_keepalive.xml").message, Message::Keepalive);
    assert_eq!(
        fixture("osv_snapshot_device_idle.xml").message,
        Message::SnapshotDeviceResponse(SnapshotDeviceResponse {
            cross_ref_id_or_snapshot_data: SnapshotResult::Data(Vec::new()),
            extensions: None,
        })
    );
    let Message::SnapshotDevice(snapshot) = fixture("zultys_unknown_type_of_number.xml").message
    else {
        panic!("wrong message")
    };
    assert_eq!(
        snapshot.snapshot_object.type_of_number(),
        Some(&TypeOfNumber::Other("deviceID".into()))
    );
}

#[test]
fn every_fixture_is_tested() {
    let dir: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures"]
        .iter()
        .collect();
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    let this = include_str!("fixtures.rs");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".xml") {
            assert!(
                readme.contains(&format!("`{name}`")),
                "{name} is not described"
            );
            assert!(
                this.contains(&format!("\"{name}\"")),
                "{name} is not decoded by a test"
            );
        }
    }
    // A dynamic device id is a different value from a static one with the same text.
    assert_ne!(
        LocalDeviceId::Static(device("x")),
        LocalDeviceId::Dynamic(csta::ids::DynamicDeviceId::new("x").unwrap())
    );
}
