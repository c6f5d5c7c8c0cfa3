//! The edition of answers and events: the one negotiated with ECMA-354, else the namespace of
//! the client's last request that named one.

use csta::call_control::{DeflectCall, MakeCall};
use csta::edition::{AvayaProtocol, Edition};
use csta::message::Message;
use csta::monitoring::MonitorStart;
use csta::session::{Credentials, StartApplicationSession};
use csta::system::{GetCstaFeatures, RequestSystemStatus};
use pbx_soap::records::CallPhase;
use tests::SimGateway;

use super::{Raw, at, call_of, device, leg};

fn login(avaya: bool, versions: &[&str]) -> Message {
    let credentials = Credentials {
        user: "crm".into(),
        password: "secret".into(),
        session_cleanup_delay: None,
        session_id: None,
    };
    let mut start = StartApplicationSession::with_login("e2e", &credentials, avaya);
    start.requested_protocol_versions = versions.iter().map(|v| (*v).to_owned()).collect();
    start.requested_session_duration = Some(60);
    start.into()
}

fn monitor(id: &str) -> Message {
    MonitorStart::device(device(id)).into()
}

#[tokio::test]
async fn an_ecma_354_session_fixes_the_edition_of_every_answer_and_event() {
    let setup = SimGateway::start("").await;
    let mut raw = Raw::connect(setup.gateway.addr("login")).await;
    raw.send(1, &login(false, &[Edition::Ed4.namespace()]), &Edition::Ed3)
        .await;
    let Message::StartApplicationSessionPosResponse(started) = raw.answer().await.message else {
        panic!("no session");
    };
    assert_eq!(started.actual_protocol_version, Edition::Ed4.namespace());
    // Requests in other namespaces do not change the negotiated edition.
    for (invoke, edition) in [(2, Edition::Ed6), (3, Edition::Ed3)] {
        raw.send(invoke, &GetCstaFeatures::default().into(), &edition)
            .await;
        let answer = raw.answer().await;
        assert_eq!(
            (answer.invoke, answer.edition),
            (invoke, Some(Edition::Ed4))
        );
    }
    raw.send(4, &monitor("201"), &Edition::Ed6).await;
    assert_eq!(raw.answer().await.edition, Some(Edition::Ed4));
    setup.sim.dial("Anna Becker", "202").unwrap();
    let event = raw.event().await;
    assert_eq!(
        (event.invoke, event.edition),
        (9999, Some(Edition::Ed4)),
        "events too"
    );
}

#[tokio::test]
async fn without_a_session_answers_follow_the_namespace_of_the_requests() {
    let setup = SimGateway::start("").await;
    let mut raw = Raw::connect(setup.gateway.addr("csta")).await;
    raw.send(10, &RequestSystemStatus::default().into(), &Edition::Ed6)
        .await;
    assert_eq!(raw.answer().await.edition, Some(Edition::Ed6));
    raw.send(11, &monitor("202"), &Edition::Ed6).await;
    assert_eq!(raw.answer().await.edition, Some(Edition::Ed6));
    let sim_call = setup.sim.dial("Anna Becker", "202").unwrap();
    let ringing = raw.event().await;
    assert_eq!(ringing.edition, Some(Edition::Ed6));
    let Message::Event(event) = &ringing.message else {
        unreachable!()
    };
    let call = call_of(&event.event).unwrap().clone();

    // A request without a namespace, or in a foreign one, keeps the edition: the root's local
    // name decides what it is (lenient, as clients in the field send both).
    raw.send_body(12, b"<RequestSystemStatus/>").await;
    assert_eq!(raw.answer().await.edition, Some(Edition::Ed6));
    raw.send_body(13, b"<RequestSystemStatus xmlns=\"urn:example:other\"/>")
        .await;
    let foreign = raw.answer().await;
    assert!(
        matches!(foreign.message, Message::RequestSystemStatusResponse(_)),
        "{foreign:?}"
    );
    assert_eq!(foreign.edition, Some(Edition::Ed6));

    // Edition 6 DeflectCall: the destination as a list of devices.
    let deflect = DeflectCall {
        call_to_be_diverted: at(&call, "202"),
        new_destination: device("206"),
        correlator_data: None,
        user_data: None,
        extensions: None,
    };
    let mut body = Vec::new();
    Message::from(deflect).encode(&Edition::Ed6, &mut body);
    let text = String::from_utf8(body.clone()).unwrap();
    assert!(
        text.contains("<newDestination><device>206</device></newDestination>"),
        "{text}"
    );
    raw.send_body(14, &body).await;
    let deflected = raw.answer().await;
    assert!(
        matches!(deflected.message, Message::DeflectCallResponse(_)),
        "{deflected:?}"
    );
    assert_eq!(
        leg(&setup.sim.snapshot(), "Felix Schulz").state.phase(),
        CallPhase::Alert
    );

    // Now in edition 3: answers and the events of what happens from then on follow.
    raw.send(15, &monitor("205"), &Edition::Ed3).await;
    let started = raw.answer().await;
    assert_eq!(started.edition, Some(Edition::Ed3));
    let Message::MonitorStartResponse(started) = started.message else {
        panic!("no MonitorStartResponse");
    };
    setup.sim.hangup(sim_call, "Anna Becker").unwrap();
    setup.sim.dial("Clara Hoffmann", "205").unwrap();
    loop {
        let frame = raw.event().await;
        let Message::Event(event) = &frame.message else {
            unreachable!()
        };
        if event.monitor_cross_ref_id == started.monitor_cross_ref_id {
            assert_eq!(frame.edition, Some(Edition::Ed3));
            break;
        }
    }
}

#[tokio::test]
async fn an_avaya_login_gets_its_private_protocol_namespace() {
    let setup = SimGateway::start("").await;
    let priv5 = Edition::Avaya(AvayaProtocol::new(3, 5).unwrap());
    let mut raw = Raw::connect(setup.gateway.addr("login")).await;
    raw.send(1, &login(true, &[priv5.namespace()]), &Edition::Ed3)
        .await;
    let Message::StartApplicationSessionPosResponse(started) = raw.answer().await.message else {
        panic!("no session");
    };
    assert_eq!(started.actual_protocol_version, priv5.namespace());
    raw.send(2, &monitor("201"), &Edition::Ed3).await;
    let answer = raw.answer().await;
    assert_eq!((answer.invoke, answer.edition), (2, Some(priv5)));
    raw.send(
        3,
        &MakeCall::new(device("201"), device("202")).into(),
        &Edition::Ed3,
    )
    .await;
    let made = raw.answer().await;
    assert!(
        matches!(made.message, Message::MakeCallResponse(_)),
        "{made:?}"
    );
    assert_eq!(made.edition, Some(priv5));
    assert_eq!(raw.event().await.edition, Some(priv5));
}
