//! The PBX side at scale and its bookkeeping: the registry holds exactly the PBX's calls
//! (nothing left behind by a transfer, a MakeCall's call known at once), and a start-up that
//! monitors many lines at a time loses nothing that happens meanwhile.

use std::time::Duration;

use csta::call_control::ClearConnection;
use csta::error_code::{CstaErrorCode, OperationError};
use csta::events::{CstaEvent, Event};
use csta::ids::{CallId, ConnectionId, DeviceId};
use csta::message::Message;
use csta::snapshot::SnapshotCall;
use gateway::client::{ClientError, CstaClient};
use gateway::registry::Registry;
use pbx_soap::sim::{Directory, Sim, SimConfig};
use tests::{SimGateway, TestGateway, sim_gateway_config};

const WAIT: Duration = Duration::from_secs(10);

/// Events up to and including the first named `name`.
async fn until(client: &mut CstaClient, name: &str) -> Vec<CstaEvent> {
    let mut events = Vec::new();
    loop {
        let Some(event) = client.next_event(WAIT).await else {
            let names: Vec<&str> = events.iter().map(|e: &CstaEvent| e.event.name()).collect();
            panic!("no {name} in {names:?}");
        };
        let found = event.event.name() == name;
        events.push(event);
        if found {
            return events;
        }
    }
}

fn call_of(event: &Event) -> CallId {
    event
        .connection()
        .and_then(|connection| connection.call.clone())
        .expect("the event names a call")
}

fn at(call: &CallId, device: &str) -> ConnectionId {
    ConnectionId::call_at(
        call.clone(),
        DeviceId::new(device).expect("valid device id"),
    )
}

/// Waits (bounded) until the registry holds `calls` calls: the link applies a poll's records
/// right after the PBX answers, a moment after the events that tell a client about them.
async fn registry_settles(registry: &Registry, calls: usize) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while registry.call_count() != calls {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the registry holds {} calls, the PBX {calls}",
            registry.call_count()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_consultation_transfer_leaves_no_call_behind() {
    let setup = SimGateway::start("").await;
    let registry = setup.gateway.gateway.registry();
    let mut anna = setup.client().await;
    anna.monitor("201").await.unwrap();
    let mut clara = setup.client().await;
    clara.monitor("203").await.unwrap();

    let first = setup.sim.dial("Ben Fischer", "201").unwrap();
    setup.sim.answer(first, "Anna Becker").unwrap();
    let answered = until(&mut anna, "EstablishedEvent").await;
    let first_call = call_of(&answered.last().unwrap().event);
    setup.sim.hold(first, "Anna Becker").unwrap();
    until(&mut anna, "HeldEvent").await;
    let second = setup.sim.dial("Anna Becker", "203").unwrap();
    setup.sim.answer(second, "Clara Hoffmann").unwrap();
    let answered = until(&mut clara, "EstablishedEvent").await;
    let second_call = call_of(&answered.last().unwrap().event);
    assert_ne!(first_call, second_call);
    registry_settles(registry, 2).await;

    setup.sim.transfer(first, second, "Anna Becker").unwrap();
    until(&mut anna, "TransferedEvent").await;
    until(&mut clara, "TransferedEvent").await;
    assert_eq!(setup.sim.call_count(), 1, "Ben and Clara talk");
    registry_settles(registry, 1).await;

    // The PBX call that remains is one of the two; the other is gone everywhere.
    let remaining_conf = setup.sim.snapshot().calls[0].conf.clone();
    let (dead, dead_at) = [(&first_call, "201"), (&second_call, "203")]
        .into_iter()
        .find(|(call, _)| {
            registry
                .call(call.as_str())
                .is_none_or(|(_, snapshot)| snapshot.conf.as_deref() != Some(&remaining_conf))
        })
        .expect("one of the two calls ended");
    assert!(registry.call(dead.as_str()).is_none(), "{dead:?} is left");
    for device in [dead_at, "201", "203"] {
        let answer = anna
            .request(
                SnapshotCall {
                    snapshot_object: at(dead, device),
                    extensions: None,
                }
                .into(),
            )
            .await;
        match answer {
            Err(ClientError::Csta { code, .. }) => assert_eq!(
                code,
                CstaErrorCode::Operation(OperationError::InvalidCallID),
                "SnapshotCall of the ended call at {device}"
            ),
            other => panic!("SnapshotCall of the ended call at {device}: {other:?}"),
        }
    }
    for line in registry.lines() {
        assert!(
            line.calls
                .iter()
                .all(|call| call.id.as_str() != dead.as_str()),
            "{} still shows the ended call",
            line.line.device
        );
    }
}

#[tokio::test]
async fn clear_connection_right_after_make_call_ends_the_call() {
    let setup = SimGateway::start("").await;
    let mut client = setup.client().await;
    client.monitor("201").await.unwrap();
    client.monitor("202").await.unwrap();
    // The PBX's first records of the call stay unpolled: the gateway knows the call only from
    // its own MakeCall.
    setup.sim.faults().stall_polls(true);
    let connection = client.make_call("201", "202").await.unwrap();
    let call = connection
        .call
        .clone()
        .expect("the MakeCall names its call");
    let cleared = client
        .request(
            ClearConnection {
                connection_to_be_cleared: connection,
                correlator_data: None,
                user_data: None,
                extensions: None,
            }
            .into(),
        )
        .await;
    assert!(
        matches!(cleared, Ok(Message::ClearConnectionResponse(_))),
        "{cleared:?}"
    );
    let registry = setup.gateway.gateway.registry();
    assert!(
        registry.call(call.as_str()).is_some(),
        "the claimed call is in the registry before the PBX reported it"
    );
    setup.sim.faults().stall_polls(false);
    tokio::time::timeout(WAIT, setup.sim.wait_for(|sim| sim.call_count() == 0))
        .await
        .expect("the PBX call ends");
    let events = until(&mut client, "CallClearedEvent").await;
    assert!(
        events
            .iter()
            .filter_map(|event| event.event.connection())
            .all(|connection| connection.call.as_ref() == Some(&call)),
        "one call id from MakeCall to the end: {events:#?}"
    );
    registry_settles(registry, 0).await;
}

#[tokio::test]
async fn calls_that_start_while_lines_are_being_monitored_are_mirrored() {
    const USERS: usize = 600;
    let sim_config = SimConfig {
        poll_timeout: Duration::from_secs(2),
        ..SimConfig::default()
    };
    let sim = Sim::start(sim_config, Directory::generated(USERS))
        .await
        .unwrap();
    // Slow answers stretch the start-up so that the calls below start in the middle of it.
    sim.faults().set_latency(Duration::from_millis(5));
    let gateway = TestGateway::start(&sim_gateway_config(&sim.url(), ""), None).await;
    let registry = gateway.gateway.registry().clone();
    tokio::time::timeout(
        WAIT,
        sim.wait_for(|sim| sim.with_model(|model, _| model.session_of_user(50).is_some())),
    )
    .await
    .expect("the gateway monitors its first lines");
    let (first, last) = sim.with_model(|model, _| {
        (
            model.session_of_user(1),
            model.session_of_user(USERS as i32),
        )
    });
    assert!(
        first.is_some() && last.is_none(),
        "in the middle of the start-up"
    );
    assert_eq!(
        registry.lines_in_service(),
        0,
        "no line is in service before every line is monitored"
    );
    // Between two lines monitored already, and between one monitored already and one not yet.
    let early = sim.dial("User 00001", "10002").unwrap();
    sim.answer(early, "User 00002").unwrap();
    sim.dial("User 00003", &(10_000 + USERS).to_string())
        .unwrap();
    sim.faults().set_latency(Duration::ZERO);
    assert!(
        gateway
            .gateway
            .wait_in_service(Duration::from_secs(30))
            .await,
        "every line in service: {} of {}",
        registry.lines_in_service(),
        registry.line_count()
    );
    assert_eq!(registry.line_count(), USERS);
    registry_settles(&registry, 2).await;
    let states = |device: &str| -> Vec<String> {
        let line = registry.line(device).expect("a line");
        line.calls
            .iter()
            .filter_map(|call| {
                call.connections
                    .iter()
                    .find(|c| c.line.as_ref() == Some(&line.line.device))
            })
            .map(|connection| format!("{:?}", connection.local))
            .collect()
    };
    assert_eq!(states("10001"), ["Connected"]);
    assert_eq!(states("10002"), ["Connected"]);
    assert_eq!(states("10003"), ["Connected"], "the caller while it rings");
    assert_eq!(states(&(10_000 + USERS).to_string()), ["Alerting"]);
    assert_eq!(registry.call_count(), sim.call_count());
}
