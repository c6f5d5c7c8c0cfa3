//! decode(encode(x)) == x for every message type, in several editions, and the properties of
//! the encoded bytes (declaration, namespace, ASCII only).

mod common;

use std::collections::BTreeSet;

use csta::call_control::{DeflectCall, MakeCallResponse};
use csta::events::ServiceInitiatedEvent;
use csta::logical::SetForwarding;
use csta::types::{CallLinkageData, CallLinkageId, DeviceRef, EventCause, LocalConnectionState};
use csta::{AvayaProtocol, CstaEvent, ECMA_354_NAMESPACE, Edition, Message, MonitorCrossRefId};

use common::*;

fn editions() -> Vec<Edition> {
    let mut editions = Edition::STANDARD.to_vec();
    editions.push(Edition::Avaya(AvayaProtocol::new(3, 5).unwrap()));
    editions
}

#[test]
fn every_message_type_round_trips_in_every_edition() {
    for edition in editions() {
        for message in every_message() {
            let bytes = message.to_bytes(&edition);
            let decoded = Message::decode(&bytes)
                .unwrap_or_else(|error| panic!("{}: {error}\n{}", message.name(), show(&bytes)));
            assert_eq!(decoded.message, message, "{}", show(&bytes));
            let expected = match &message {
                Message::Keepalive => None,
                _ if bytes
                    .windows(ECMA_354_NAMESPACE.len())
                    .any(|w| w == ECMA_354_NAMESPACE.as_bytes()) =>
                {
                    None
                }
                _ => Some(edition),
            };
            assert_eq!(decoded.edition, expected, "{}", message.name());
        }
    }
}

#[test]
fn the_sample_set_covers_every_root_element() {
    let names: BTreeSet<&str> = every_message().iter().map(Message::name).collect();
    // 10 ECMA-354 messages, 69 CSTA services and responses, 19 events, CSTAErrorCode,
    // keepalive.
    assert_eq!(names.len(), 10 + 69 + 19 + 1 + 1, "{names:?}");
}

#[test]
fn output_is_ascii_with_declaration_and_namespace() {
    for message in every_message() {
        let bytes = message.to_bytes(&Edition::Ed4);
        assert!(bytes.is_ascii(), "{}", show(&bytes));
        assert!(bytes.starts_with(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><"));
        let text = show(&bytes);
        if !matches!(message, Message::Keepalive) {
            let namespace = if text.contains("ApplicationSession") {
                ECMA_354_NAMESPACE
            } else {
                Edition::Ed4.namespace()
            };
            let root = format!("<{} xmlns=\"{namespace}\">", message.name());
            assert!(text.contains(&root), "{text}");
        }
    }
}

#[test]
fn non_ascii_text_is_written_as_character_references() {
    let message = Message::Event(CstaEvent {
        monitor_cross_ref_id: monitor("m1"),
        event: delivered().into(),
    });
    let text = show(&message.to_bytes(&Edition::Ed3));
    assert!(text.contains("Empfang M&#252;ller"), "{text}");
}

#[test]
fn edition_6_fields_are_written_only_for_edition_6() {
    let event = ServiceInitiatedEvent {
        initiated_connection: connection("c1", "201"),
        initiating_device: DeviceRef::Identifier(device("201")),
        called_device: Some(DeviceRef::Identifier(device("202"))),
        local_connection_info: Some(LocalConnectionState::Initiated),
        correlator_data: None,
        cause: EventCause::MakeCall,
        services_permitted: None,
        network_calling_device: None,
        network_called_device: None,
        associated_calling_device: None,
        call_linkage_data: None,
        extensions: None,
    };
    let message = Message::Event(CstaEvent {
        monitor_cross_ref_id: MonitorCrossRefId::new("7").unwrap(),
        event: event.into(),
    });
    let ed6 = show(&message.to_bytes(&Edition::Ed6));
    assert!(ed6.contains("<calledDevice><deviceIdentifier>202</deviceIdentifier></calledDevice>"));
    assert_eq!(Message::decode(ed6.as_bytes()).unwrap().message, message);
    let ed3 = show(&message.to_bytes(&Edition::Ed3));
    assert!(!ed3.contains("calledDevice"), "{ed3}");

    let deflect = Message::from(DeflectCall {
        call_to_be_diverted: connection("c1", "201"),
        new_destination: device("205"),
        correlator_data: None,
        user_data: None,
        extensions: None,
    });
    let ed6 = show(&deflect.to_bytes(&Edition::Ed6));
    assert!(
        ed6.contains("<newDestination><device>205</device></newDestination>"),
        "{ed6}"
    );
    let ed3 = show(&deflect.to_bytes(&Edition::Ed3));
    assert!(
        ed3.contains("<newDestination>205</newDestination>"),
        "{ed3}"
    );
    assert_eq!(Message::decode(ed3.as_bytes()).unwrap().message, deflect);

    let forwarding = Message::from(SetForwarding {
        device: device("201"),
        forwarding_type: None,
        activate_forward: true,
        forward_dn: Some(device("202")),
        ring_count: Some(3),
        ring_duration: Some(20),
        extensions: None,
    });
    assert!(show(&forwarding.to_bytes(&Edition::Ed6)).contains("<ringDuration>20</ringDuration>"));
    assert!(!show(&forwarding.to_bytes(&Edition::Ed5)).contains("ringDuration"));

    let response = Message::from(MakeCallResponse {
        calling_device: connection("c1", "201"),
        call_linkage_data: Some(CallLinkageData {
            switching_sub_domain_name: None,
            linkage_id: CallLinkageId::SubDomain("01".into()),
        }),
        extensions: None,
    });
    assert!(show(&response.to_bytes(&Edition::Ed6)).contains("callLinkageData"));
    assert!(!show(&response.to_bytes(&Edition::Ed3)).contains("callLinkageData"));
}

#[test]
fn session_messages_always_use_the_ecma_354_namespace() {
    for message in every_message().into_iter().take(10) {
        let text = show(&message.to_bytes(&Edition::Ed6));
        let root = format!("<{} xmlns=\"{ECMA_354_NAMESPACE}\">", message.name());
        assert!(text.contains(&root), "{text}");
    }
}

#[test]
fn private_data_survives_byte_for_byte() {
    let inner = "<cti:devices xmlns:cti=\"urn:cti-gateway:1\">\n  <cti:device id='201' \
                 name=\"A &amp; B\"/><!-- kept -->\n</cti:devices>";
    let body = format!(
        "<SwitchingFunctionDevices xmlns=\"http://www.ecma-international.org/standards/\
         ecma-323/csta/ed3\"><serviceCrossRefID>1</serviceCrossRefID><lastSegment>true\
         </lastSegment><extensions><privateData><private>{inner}</private></privateData>\
         </extensions></SwitchingFunctionDevices>"
    );
    let decoded = Message::decode(body.as_bytes()).unwrap().message;
    let Message::SwitchingFunctionDevices(devices) = &decoded else {
        panic!("wrong message {decoded:?}");
    };
    let private = devices.extensions.as_ref().unwrap().private_xml().unwrap();
    assert_eq!(private.as_str(), inner);
    let again = show(&decoded.to_bytes(&Edition::Ed3));
    assert!(
        again.contains(&format!("<private>{inner}</private>")),
        "{again}"
    );
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_call_event_names_its_connection_and_every_feature_event_none() {
    let mut with_connection = 0;
    for message in every_message() {
        let Message::Event(event) = message else {
            continue;
        };
        let event = event.event;
        let feature = matches!(
            event.name(),
            "ForwardingEvent" | "DoNotDisturbEvent" | "BackInServiceEvent" | "OutOfServiceEvent"
        );
        assert_eq!(event.connection().is_none(), feature, "{}", event.name());
        if feature {
            assert_eq!(event.local_connection_info(), None);
            assert!(event.services_permitted().is_none());
        } else {
            with_connection += 1;
        }
    }
    assert!(
        with_connection >= 15,
        "every call event is among the samples"
    );
    let delivered = csta::Event::Delivered(delivered());
    assert_eq!(delivered.connection(), Some(&connection("c4711", "201")));
    assert_eq!(
        delivered.local_connection_info(),
        Some(LocalConnectionState::Alerting)
    );
    assert_eq!(delivered.services_permitted(), Some(&services()));
    let transfer = transfered();
    let old_call = transfer.primary_old_call.clone();
    assert_eq!(
        csta::Event::Transfered(transfer).connection(),
        Some(&old_call),
        "a transfer is about the call that survives"
    );
}

#[test]
fn event_templates_splice_any_monitor_into_every_event_and_edition() {
    let mut every_edition = Edition::STANDARD.to_vec();
    for base in [2, 3] {
        for level in 1..=15 {
            every_edition.push(Edition::Avaya(AvayaProtocol::new(base, level).unwrap()));
        }
    }
    let ids =
        ["1", "4294967295", "mon&<1>", "caf\u{e9}"].map(|id| MonitorCrossRefId::new(id).unwrap());
    let mut events = 0;
    for message in every_message() {
        let Message::Event(sample) = message else {
            continue;
        };
        events += 1;
        for edition in &every_edition {
            let template = csta::frame::EventTemplate::new(&sample.event, edition).unwrap();
            for id in &ids {
                let mut spliced = Vec::new();
                template.write_frame(id, &mut spliced).unwrap();
                let mut encoded = Vec::new();
                csta::frame::encode_event_frame(id, &sample.event, edition, &mut encoded).unwrap();
                assert_eq!(spliced, encoded, "{} {edition:?} {id}", sample.event.name());
                let frame = csta::frame::decode(&spliced, csta::frame::MAX_FRAME_LEN)
                    .unwrap()
                    .unwrap();
                assert_eq!(frame.len, spliced.len());
                assert_eq!(frame.invoke_id, csta::InvokeId::EVENT);
                let decoded = Message::decode(frame.body).unwrap();
                assert_eq!(decoded.edition, Some(*edition));
                assert_eq!(
                    decoded.message,
                    Message::Event(CstaEvent {
                        monitor_cross_ref_id: id.clone(),
                        event: sample.event.clone(),
                    }),
                    "{}",
                    show(frame.body)
                );
            }
        }
    }
    assert_eq!(events, 19, "every event type is spliced");
}
