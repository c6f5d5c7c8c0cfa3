//! Bad requests: each gets its specific error under its own invoke id, and the connection (and
//! everybody else) carries on. Framing errors are in `framing.rs`, session errors in
//! `sessions.rs`.

use std::time::Duration;

use csta::call_control::{AnswerCall, HoldCall, MakeCall};
use csta::edition::Edition;
use csta::error_code::{CstaErrorCode, OperationError as Op};
use csta::ids::MonitorCrossRefId;
use csta::logical::SetForwarding;
use csta::message::Message;
use csta::monitoring::MonitorStop;
use csta::snapshot::SnapshotCall;
use csta::system::RequestSystemStatus;
use csta::types::ForwardingType;
use tests::SimGateway;
use tokio::io::AsyncWriteExt;

use super::{Raw, at, call_id, device, legs, until};

fn error(op: Op) -> Option<CstaErrorCode> {
    Some(CstaErrorCode::Operation(op))
}

/// The error code of an answer, `None` for a positive answer.
fn outcome(message: &Message) -> Option<CstaErrorCode> {
    match message {
        Message::CstaErrorCode(code) => Some(code.clone()),
        _ => None,
    }
}

#[tokio::test]
async fn every_error_answer_carries_the_invoke_id_of_its_request() {
    let setup = SimGateway::start("").await;
    let mut raw = Raw::connect(setup.gateway.addr("csta")).await;
    let ed3 = Edition::Ed3;
    let requests: Vec<(u16, Message, Option<CstaErrorCode>)> = vec![
        (
            17,
            MonitorStop {
                monitor_cross_ref_id: MonitorCrossRefId::new("none").unwrap(),
                extensions: None,
            }
            .into(),
            error(Op::InvalidMonitorCrossRefID),
        ),
        (
            4711,
            MakeCall::new(device("299"), device("202")).into(),
            error(Op::InvalidDeviceID),
        ),
        (
            9998,
            AnswerCall {
                call_to_be_answered: at(&call_id("nosuchcall"), "202"),
                correlator_data: None,
                user_data: None,
                extensions: None,
            }
            .into(),
            error(Op::InvalidConnectionID),
        ),
        (
            0,
            SnapshotCall {
                snapshot_object: at(&call_id("nosuchcall"), "201"),
                extensions: None,
            }
            .into(),
            error(Op::InvalidCallID),
        ),
        (1, RequestSystemStatus::default().into(), None),
        (
            22,
            SetForwarding {
                device: device("201"),
                forwarding_type: Some(ForwardingType::ForwardDnd),
                activate_forward: true,
                forward_dn: Some(device("204")),
                ring_count: None,
                ring_duration: None,
                extensions: None,
            }
            .into(),
            error(Op::InvalidForwardingType),
        ),
        (
            23,
            HoldCall {
                call_to_be_held: at(&call_id("nosuchcall"), "201"),
                connection_reservation: None,
                extensions: None,
            }
            .into(),
            error(Op::InvalidConnectionID),
        ),
    ];
    for (invoke, message, _) in &requests {
        raw.send(*invoke, message, &ed3).await;
    }
    // Bodies that are no request at all, in good frames.
    raw.send_body(30, b"<FlyToTheMoon/>").await;
    raw.send_body(31, b"<MakeCall><callingDevice>201").await;
    // A well-formed event: clients send requests, not events.
    let event = csta::events::CstaEvent {
        monitor_cross_ref_id: MonitorCrossRefId::new("1").unwrap(),
        event: csta::events::BackInServiceEvent {
            device: csta::types::DeviceRef::Identifier(device("201")),
            cause: None,
            extensions: None,
        }
        .into(),
    };
    raw.send(32, &event.into(), &ed3).await;
    let mut expected: Vec<(u16, Option<CstaErrorCode>)> = requests
        .into_iter()
        .map(|(invoke, _, outcome)| (invoke, outcome))
        .collect();
    expected.extend([
        (30, error(Op::ServiceNotSupported)),
        (31, error(Op::InvalidParameterValue)),
        (32, error(Op::ServiceNotSupported)),
    ]);
    let mut answers = Vec::new();
    while answers.len() < expected.len() {
        let answer = raw.answer().await;
        answers.push((answer.invoke, outcome(&answer.message)));
    }
    assert_eq!(
        answers, expected,
        "in request order, each with its invoke id"
    );
}

#[tokio::test]
async fn malformed_bodies_get_errors_and_the_connection_stays() {
    let setup = SimGateway::start("").await;
    let mut raw = Raw::connect(setup.gateway.addr("csta")).await;
    let deep = format!(
        "<MakeCall>{}{}</MakeCall>",
        "<a>".repeat(8000),
        "</a>".repeat(8000)
    );
    let long_device = format!(
        "<MakeCall><callingDevice>{}</callingDevice><calledDirectoryNumber>202</calledDirectoryNumber></MakeCall>",
        "2".repeat(300)
    );
    let cases: Vec<(&str, Vec<u8>, CstaErrorCode)> = vec![
        (
            "not UTF-8",
            b"<MakeCall><callingDevice>\xff\xfe</callingDevice></MakeCall>".to_vec(),
            CstaErrorCode::Operation(Op::InvalidParameterValue),
        ),
        (
            "empty",
            Vec::new(),
            CstaErrorCode::Operation(Op::InvalidParameterValue),
        ),
        (
            "no element",
            b"hello".to_vec(),
            CstaErrorCode::Operation(Op::InvalidParameterValue),
        ),
        (
            "entity declarations",
            b"<!DOCTYPE m [<!ENTITY a \"aaaa\">]><MonitorStart><monitorObject><deviceObject>&a;</deviceObject></monitorObject></MonitorStart>".to_vec(),
            CstaErrorCode::Operation(Op::InvalidParameterValue),
        ),
        (
            "nested 8000 deep, mandatory elements missing",
            deep.into_bytes(),
            CstaErrorCode::Operation(Op::InvalidParameterValue),
        ),
        (
            "not a boolean",
            b"<SetForwarding><device>201</device><activateForward>maybe</activateForward></SetForwarding>".to_vec(),
            CstaErrorCode::Operation(Op::InvalidParameterValue),
        ),
        (
            "mandatory element missing",
            b"<MakeCall><callingDevice>201</callingDevice></MakeCall>".to_vec(),
            CstaErrorCode::Operation(Op::InvalidParameterValue),
        ),
        (
            "empty device id",
            b"<MakeCall><callingDevice></callingDevice><calledDirectoryNumber>202</calledDirectoryNumber></MakeCall>".to_vec(),
            CstaErrorCode::Operation(Op::InvalidDeviceID),
        ),
        (
            "device id too long",
            long_device.into_bytes(),
            CstaErrorCode::Operation(Op::InvalidDeviceID),
        ),
        (
            "unknown enumeration value",
            b"<SetForwarding><device>201</device><forwardingType>forwardSometimes</forwardingType><activateForward>true</activateForward><forwardDN>204</forwardDN></SetForwarding>".to_vec(),
            CstaErrorCode::Operation(Op::InvalidParameterValue),
        ),
    ];
    for (index, (what, body, expected)) in cases.iter().enumerate() {
        let invoke = 100 + u16::try_from(index).unwrap();
        raw.send_body(invoke, body).await;
        let answer = raw.answer().await;
        assert_eq!(answer.invoke, invoke, "{what}");
        assert_eq!(
            answer.message,
            Message::CstaErrorCode(expected.clone()),
            "{what}"
        );
    }
    // Content after the root element is ignored (the csta decoder's documented leniency).
    raw.send_body(150, b"<RequestSystemStatus/><MakeCall/>")
        .await;
    let answer = raw.answer().await;
    assert_eq!(answer.invoke, 150);
    assert!(
        matches!(answer.message, Message::RequestSystemStatusResponse(_)),
        "{answer:?}"
    );
    // Nothing was placed or changed, and the connection still serves.
    let pbx = setup.sim.snapshot();
    assert_eq!(pbx.calls.len(), 0);
    assert_eq!(
        pbx.object("Anna Becker").unwrap().forwards.unconditional,
        None
    );
    raw.send(200, &RequestSystemStatus::default().into(), &Edition::Ed3)
        .await;
    let answer = raw.answer().await;
    assert!(
        matches!(answer.message, Message::RequestSystemStatusResponse(_)),
        "{answer:?}"
    );
    // A root in a foreign namespace is read by its local name (clients in the field
    // send no, wrong or mixed namespaces); a MakeCall is a MakeCall.
    raw.send_body(
        201,
        b"<MakeCall xmlns=\"urn:example:other\"><callingDevice>203</callingDevice><calledDirectoryNumber>204</calledDirectoryNumber></MakeCall>",
    )
    .await;
    let answer = raw.answer().await;
    assert!(
        matches!(answer.message, Message::MakeCallResponse(_)),
        "{answer:?}"
    );
    assert_eq!(legs(&setup.sim.snapshot(), "David Klein").len(), 1);
}

#[tokio::test]
async fn a_client_that_vanishes_mid_request_harms_nobody() {
    let setup = SimGateway::start("").await;
    let mut watcher = setup.client().await;
    watcher.monitor("201").await.unwrap();
    let mut vanishing = Raw::connect(setup.gateway.addr("csta")).await;
    vanishing
        .send(
            1,
            &MakeCall::new(device("201"), device("202")).into(),
            &Edition::Ed3,
        )
        .await;
    vanishing.stream.shutdown().await.unwrap();
    drop(vanishing);

    // The request reached the server before the close, so it is carried out; nobody gets an
    // answer for it, and everyone else is served.
    tokio::time::timeout(
        Duration::from_secs(5),
        setup
            .sim
            .wait_for(|sim| !legs(&sim.snapshot(), "Anna Becker").is_empty()),
    )
    .await
    .expect("the call of the vanished client is placed");
    let events = until(&mut watcher, "DeliveredEvent").await;
    assert_eq!(events[0].event.name(), "ServiceInitiatedEvent");
    let other = setup.client().await;
    other
        .request(RequestSystemStatus::default().into())
        .await
        .expect("others are served");
    other.make_call("203", "204").await.expect("and can call");
    let call = setup.sim.snapshot().calls[0].call;
    setup.sim.hangup(call, "Anna Becker").unwrap();
    until(&mut watcher, "ConnectionClearedEvent").await;
}

#[tokio::test]
async fn a_broken_frame_after_a_request_closes_the_connection_after_its_answer() {
    let setup = SimGateway::start("").await;
    let mut raw = Raw::connect(setup.gateway.addr("csta")).await;
    let mut bytes = Vec::new();
    csta::frame::encode_message(
        csta::ids::InvokeId::new(5).unwrap(),
        &RequestSystemStatus::default().into(),
        &Edition::Ed3,
        &mut bytes,
    )
    .unwrap();
    bytes.extend_from_slice(&[0, 0, 0, 4, b'0', b'0', b'0', b'6']);
    raw.stream.write_all(&bytes).await.unwrap();
    let answer = raw.next().await.expect("the good request is answered");
    assert_eq!(answer.invoke, 5);
    assert!(matches!(
        answer.message,
        Message::RequestSystemStatusResponse(_)
    ));
    assert!(raw.next().await.is_none(), "then the connection closes");
    let other = setup.client().await;
    other
        .request(RequestSystemStatus::default().into())
        .await
        .expect("others are served");
}
