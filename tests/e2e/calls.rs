//! Calls on the simulated PBX as CSTA monitors see them.

use std::time::Duration;

use csta::events::{CstaEvent, Event};
use csta::message::Message;
use csta::types::{DeviceRef, LocalConnectionState};
use gateway::client::CstaClient;
use tests::SimGateway;

const WAIT: Duration = Duration::from_secs(5);

/// `(event name, local state)` of the next `count` events.
async fn next(
    client: &mut CstaClient,
    count: usize,
) -> Vec<(&'static str, Option<LocalConnectionState>, Event)> {
    let mut events = Vec::new();
    while events.len() < count {
        let Some(CstaEvent { event, .. }) = client.next_event(WAIT).await else {
            panic!("only {} of {count} events: {events:#?}", events.len());
        };
        let local = event.local_connection_info();
        events.push((event.name(), local, event));
    }
    events
}

fn names(
    events: &[(&'static str, Option<LocalConnectionState>, Event)],
) -> Vec<(&'static str, Option<&'static str>)> {
    events
        .iter()
        .map(|(name, local, _)| (*name, local.map(LocalConnectionState::as_str)))
        .collect()
}

fn id(device: &DeviceRef) -> &str {
    device.device_id().map_or("?", |id| id.as_str())
}

#[tokio::test]
async fn the_demo_directory_is_mirrored_at_start_up() {
    let setup = SimGateway::start("").await;
    let mut client = setup.client().await;
    let devices = client.devices().await.unwrap();
    let ids: Vec<&str> = devices.iter().map(|device| device.id.as_str()).collect();
    assert_eq!(ids.len(), 25, "{ids:?}");
    assert!(
        ids.contains(&"201") && ids.contains(&"250") && ids.contains(&"8301"),
        "{ids:?}"
    );
    let anna = devices.iter().find(|device| device.id == "201").unwrap();
    assert_eq!(anna.name.as_deref(), Some("Anna Becker (201)"));
    assert_eq!(
        anna.key.as_deref(),
        Some("main/d0000000000000000000000000000201")
    );
    assert_eq!(anna.in_service, Some(true));
    let snapshot = setup.sim.snapshot();
    let endpoints = snapshot
        .objects
        .iter()
        .filter(|object| !object.e164.is_empty() && object.e164 != "0")
        .count();
    assert_eq!(
        devices.len(),
        endpoints,
        "every numbered object but the trunk is a line"
    );
}

#[tokio::test]
async fn a_call_made_through_csta_as_two_monitors_see_it() {
    let setup = SimGateway::start("").await;
    let mut a = setup.client().await;
    let mut b = setup.client().await;
    a.monitor("201").await.unwrap();
    b.monitor("202").await.unwrap();
    let connection = a.make_call("201", "202").await.unwrap();
    let call = connection.call.clone().unwrap();
    let caller = next(&mut a, 3).await;
    assert_eq!(
        names(&caller),
        [
            ("ServiceInitiatedEvent", Some("initiated")),
            ("OriginatedEvent", Some("connected")),
            ("DeliveredEvent", Some("connected")),
        ]
    );
    let callee = next(&mut b, 1).await;
    assert_eq!(names(&callee), [("DeliveredEvent", Some("alerting"))]);
    let Event::Delivered(delivered) = &callee[0].2 else {
        unreachable!()
    };
    assert_eq!(
        delivered.connection.call.as_ref(),
        Some(&call),
        "one call id for every monitor"
    );
    assert_eq!(
        (
            id(&delivered.calling_device),
            id(&delivered.alerting_device)
        ),
        ("201", "202")
    );

    // 202 answers from the phone; both see Established.
    let sim_call = setup.sim.snapshot().calls.last().unwrap().call;
    setup.sim.answer(sim_call, "202").unwrap();
    assert_eq!(
        names(&next(&mut a, 1).await),
        [("EstablishedEvent", Some("connected"))]
    );
    assert_eq!(
        names(&next(&mut b, 1).await),
        [("EstablishedEvent", Some("connected"))]
    );

    // HoldCall and RetrieveCall through CSTA.
    let hold = csta::call_control::HoldCall {
        call_to_be_held: connection.clone(),
        connection_reservation: None,
        extensions: None,
    };
    assert!(matches!(
        a.request(hold.into()).await.unwrap(),
        Message::HoldCallResponse(_)
    ));
    assert_eq!(names(&next(&mut a, 1).await), [("HeldEvent", Some("hold"))]);
    assert_eq!(
        names(&next(&mut b, 1).await),
        [("HeldEvent", Some("connected"))]
    );
    let retrieve = csta::call_control::RetrieveCall {
        call_to_be_retrieved: connection.clone(),
        extensions: None,
    };
    a.request(retrieve.into()).await.unwrap();
    assert_eq!(
        names(&next(&mut a, 1).await),
        [("RetrievedEvent", Some("connected"))]
    );
    assert_eq!(
        names(&next(&mut b, 1).await),
        [("RetrievedEvent", Some("connected"))]
    );

    // 202 hangs up through CSTA.
    let clear = csta::call_control::ClearConnection {
        connection_to_be_cleared: csta::ids::ConnectionId::call_at(
            call.clone(),
            csta::ids::DeviceId::new("202").unwrap(),
        ),
        correlator_data: None,
        user_data: None,
        extensions: None,
    };
    a.request(clear.into()).await.unwrap();
    assert_eq!(
        names(&next(&mut b, 1).await),
        [("ConnectionClearedEvent", Some("null"))]
    );
    let caller_end = next(&mut a, 3).await;
    assert_eq!(
        names(&caller_end),
        [
            ("ConnectionClearedEvent", Some("connected")),
            ("ConnectionClearedEvent", Some("null")),
            ("CallClearedEvent", None),
        ]
    );
    let Event::ConnectionCleared(first) = &caller_end[0].2 else {
        unreachable!()
    };
    assert_eq!(id(&first.releasing_device), "202");
    setup.sim.wait_for(|sim| sim.call_count() == 0).await;
    assert_eq!(
        setup.gateway.gateway.registry().call_count(),
        0,
        "no phantom call"
    );
}

#[tokio::test]
async fn an_external_caller_through_the_trunk() {
    let setup = SimGateway::start("").await;
    let mut client = setup.client().await;
    client.monitor("203").await.unwrap();
    let call = setup.sim.external_call("0301234567", "203").unwrap();
    let delivered = next(&mut client, 1).await;
    let Event::Delivered(event) = &delivered[0].2 else {
        panic!("{delivered:?}")
    };
    assert_eq!(id(&event.alerting_device), "203");
    assert_ne!(
        id(&event.calling_device),
        "?",
        "the external number is shown"
    );
    setup.sim.answer(call, "203").unwrap();
    assert_eq!(
        names(&next(&mut client, 1).await),
        [("EstablishedEvent", Some("connected"))]
    );
    setup.sim.hangup(call, "203").unwrap();
    let end = next(&mut client, 2).await;
    assert_eq!(names(&end)[0], ("ConnectionClearedEvent", Some("null")));
}

#[tokio::test]
async fn one_pbx_event_fans_out_to_fifty_monitors() {
    let setup = SimGateway::start("").await;
    let mut clients = Vec::new();
    for _ in 0..50 {
        let client = setup.client().await;
        client.monitor("205").await.unwrap();
        clients.push(client);
    }
    let call = setup.sim.dial("Anna Becker", "205").unwrap();
    for client in &mut clients {
        assert_eq!(
            names(&next(client, 1).await),
            [("DeliveredEvent", Some("alerting"))]
        );
    }
    setup.sim.hangup(call, "Anna Becker").unwrap();
    for client in &mut clients {
        let events = next(client, 2).await;
        assert_eq!(events[0].0, "ConnectionClearedEvent");
    }
}
