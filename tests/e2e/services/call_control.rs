//! Call control at one call: make, answer, clear, hold, retrieve, deflect, digits, pickup, park.

use std::time::Duration;

use csta::call_control::{
    AnswerCall, ClearCall, ClearConnection, DeflectCall, DirectedPickupCall, GenerateDigits,
    GroupPickupCall, HoldCall, MakeCall, ParkCall, RetrieveCall,
};
use csta::error_code::{
    CstaErrorCode, OperationError as Op, StateIncompatibilityError as State,
    SystemResourceAvailabilityError as Resource,
};
use csta::ids::{CallId, ConnectionId, LocalDeviceId};
use csta::message::Message;
use pbx_soap::client::{Client, Config};
use pbx_soap::records::CallPhase;
use pbx_soap::sim::LegKind;
use tests::SimGateway;

use super::{
    WAIT, at, call_id, call_of, code, device, leg, leg_with, legs, limited_user, talking, until,
};

fn answer(connection: ConnectionId) -> Message {
    AnswerCall {
        call_to_be_answered: connection,
        correlator_data: None,
        user_data: None,
        extensions: None,
    }
    .into()
}

fn clear(connection: ConnectionId) -> Message {
    ClearConnection {
        connection_to_be_cleared: connection,
        correlator_data: None,
        user_data: None,
        extensions: None,
    }
    .into()
}

fn hold(connection: ConnectionId) -> Message {
    HoldCall {
        call_to_be_held: connection,
        connection_reservation: None,
        extensions: None,
    }
    .into()
}

fn retrieve(connection: ConnectionId) -> Message {
    RetrieveCall {
        call_to_be_retrieved: connection,
        extensions: None,
    }
    .into()
}

fn make_call(from: &str, to: &str) -> Message {
    MakeCall::new(device(from), device(to)).into()
}

fn device_only(id: &str) -> ConnectionId {
    ConnectionId::new(None, Some(LocalDeviceId::Static(device(id)))).unwrap()
}

/// The call id of the last event.
fn last_call(events: &[csta::events::CstaEvent]) -> CallId {
    call_of(&events.last().expect("an event").event)
        .expect("a call event")
        .clone()
}

#[tokio::test]
async fn make_call_answer_call_and_clear_connection() {
    let setup = SimGateway::start(&limited_user()).await;
    let mut caller = setup.client().await;
    let mut callee = setup.client().await;
    caller.monitor("201").await.unwrap();
    callee.monitor("202").await.unwrap();

    let Message::MakeCallResponse(made) = caller.request(make_call("201", "202")).await.unwrap()
    else {
        panic!("no MakeCallResponse");
    };
    let call = made.calling_device.call.clone().expect("a call id");
    assert_eq!(
        made.calling_device
            .device
            .as_ref()
            .map(LocalDeviceId::as_str),
        Some("201")
    );
    // The PBX placed it: 201 hears ringback, 202 rings.
    let pbx = setup.sim.snapshot();
    assert_eq!(pbx.calls.len(), 1);
    let anna = leg(&pbx, "Anna Becker");
    assert_eq!(
        (anna.state.phase(), anna.state.outbound()),
        (CallPhase::Alert, false)
    );
    let ben = leg(&pbx, "Ben Fischer");
    assert_eq!(
        (ben.state.phase(), ben.state.outbound()),
        (CallPhase::Alert, true)
    );
    let ringing = until(&mut callee, "DeliveredEvent").await;
    assert_eq!(
        last_call(&ringing),
        call,
        "the answer's call id is the events' one"
    );

    // Answering the caller's side, an unknown call or a connection without call id fails.
    let no_call = CstaErrorCode::StateIncompatibility(State::NoCallToAnswer);
    assert_eq!(
        code(caller.request(answer(at(&call, "201"))).await),
        no_call
    );
    let invalid = CstaErrorCode::Operation(Op::InvalidConnectionID);
    assert_eq!(
        code(
            caller
                .request(answer(at(&call_id("nosuchcall"), "202")))
                .await
        ),
        invalid
    );
    assert_eq!(
        code(caller.request(answer(device_only("202"))).await),
        invalid
    );
    assert_eq!(
        code(caller.request(answer(at(&call, "299"))).await),
        invalid,
        "an unknown device in the connection"
    );

    assert!(matches!(
        caller.request(answer(at(&call, "202"))).await.unwrap(),
        Message::AnswerCallResponse(_)
    ));
    let pbx = setup.sim.snapshot();
    assert!(talking(leg(&pbx, "Ben Fischer")) && talking(leg(&pbx, "Anna Becker")));
    until(&mut callee, "EstablishedEvent").await;
    assert_eq!(
        code(caller.request(answer(at(&call, "202"))).await),
        no_call,
        "an answered call cannot be answered again"
    );

    // The limited user controls 201 only.
    let limited = setup.gateway.login("login", "limited", "secret").await;
    let denied = CstaErrorCode::Operation(Op::PrivilegeViolationSpecifiedDevice);
    assert_eq!(code(limited.request(clear(at(&call, "202"))).await), denied);
    assert_eq!(setup.sim.call_count(), 1, "nothing cleared");

    assert!(matches!(
        caller.request(clear(at(&call, "202"))).await.unwrap(),
        Message::ClearConnectionResponse(_)
    ));
    assert_eq!(setup.sim.call_count(), 0, "202 hung up: the call is over");
    // 202 released first; the call ends with 201's connection.
    until(&mut callee, "ConnectionClearedEvent").await;
    until(&mut caller, "CallClearedEvent").await;
    assert_eq!(
        code(caller.request(clear(at(&call, "202"))).await),
        invalid,
        "the connection is gone"
    );
}

#[tokio::test]
async fn make_call_refuses_bad_devices_with_specific_errors() {
    let setup = SimGateway::start(&limited_user()).await;
    let mut client = setup.client().await;
    assert_eq!(
        code(client.request(make_call("299", "202")).await),
        CstaErrorCode::Operation(Op::InvalidDeviceID)
    );
    for called in ["xyz", "tel:", "N<>"] {
        assert_eq!(
            code(client.request(make_call("201", called)).await),
            CstaErrorCode::Operation(Op::InvalidCalledDeviceID),
            "{called}"
        );
    }
    let limited = setup.gateway.login("login", "limited", "secret").await;
    assert_eq!(
        code(limited.request(make_call("202", "201")).await),
        CstaErrorCode::Operation(Op::PrivilegeViolationSpecifiedDevice)
    );
    // A phone that is not registered cannot call.
    client.monitor("205").await.unwrap();
    setup.sim.register("Emma Wagner", None, false).unwrap();
    until(&mut client, "OutOfServiceEvent").await;
    assert_eq!(
        code(client.request(make_call("205", "201")).await),
        CstaErrorCode::SystemResourceAvailability(Resource::DeviceOutOfService)
    );
    assert_eq!(setup.sim.call_count(), 0);
    // Other spellings of both devices are accepted.
    client
        .request(make_call("tel:201", "sip:202@pbx.example.com"))
        .await
        .expect("tel: and sip: forms");
    assert!(legs(&setup.sim.snapshot(), "Ben Fischer").len() == 1);
}

#[tokio::test]
async fn clear_call_checks_every_party_first_then_releases_them_all() {
    let setup = SimGateway::start(&limited_user()).await;
    let mut client = setup.client().await;
    client.monitor("202").await.unwrap();
    let sim_call = setup.sim.dial("Anna Becker", "202").unwrap();
    setup.sim.answer(sim_call, "Ben Fischer").unwrap();
    let call = last_call(&until(&mut client, "EstablishedEvent").await);

    let clear_call = |connection: ConnectionId| -> Message {
        ClearCall {
            call_to_be_cleared: connection,
            user_data: None,
            extensions: None,
        }
        .into()
    };
    // The limited user controls 201 but not 202: nothing is cleared.
    let limited = setup.gateway.login("login", "limited", "secret").await;
    assert_eq!(
        code(limited.request(clear_call(at(&call, "201"))).await),
        CstaErrorCode::Operation(Op::PrivilegeViolationSpecifiedDevice)
    );
    let pbx = setup.sim.snapshot();
    assert!(talking(leg(&pbx, "Anna Becker")) && talking(leg(&pbx, "Ben Fischer")));

    let invalid = CstaErrorCode::Operation(Op::InvalidCallID);
    assert_eq!(
        code(
            client
                .request(clear_call(at(&call_id("nosuchcall"), "201")))
                .await
        ),
        invalid
    );
    assert_eq!(
        code(client.request(clear_call(device_only("201"))).await),
        invalid
    );
    assert!(matches!(
        client.request(clear_call(at(&call, "201"))).await.unwrap(),
        Message::ClearCallResponse(_)
    ));
    assert_eq!(setup.sim.call_count(), 0);
    until(&mut client, "CallClearedEvent").await;
    assert_eq!(
        code(client.request(clear_call(at(&call, "201"))).await),
        invalid
    );
}

#[tokio::test]
async fn hold_and_retrieve_follow_the_connection_state() {
    let setup = SimGateway::start("").await;
    let mut client = setup.client().await;
    client.monitor("201").await.unwrap();
    client.monitor("202").await.unwrap();
    let sim_call = setup.sim.dial("Anna Becker", "202").unwrap();
    let call = last_call(&until(&mut client, "DeliveredEvent").await);
    until(&mut client, "DeliveredEvent").await;
    let wrong_state = CstaErrorCode::StateIncompatibility(State::InvalidConnectionState);
    assert_eq!(
        code(client.request(hold(at(&call, "202"))).await),
        wrong_state,
        "a ringing call cannot be held"
    );
    assert_eq!(
        code(client.request(hold(at(&call, "201"))).await),
        wrong_state,
        "nor can the caller hold a call that is not answered"
    );
    assert!(!leg(&setup.sim.snapshot(), "Anna Becker").state.held());

    setup.sim.answer(sim_call, "Ben Fischer").unwrap();
    until(&mut client, "EstablishedEvent").await;
    until(&mut client, "EstablishedEvent").await;
    let no_held = CstaErrorCode::StateIncompatibility(State::NoHeldCall);
    assert_eq!(
        code(client.request(retrieve(at(&call, "201"))).await),
        no_held
    );

    assert!(matches!(
        client.request(hold(at(&call, "201"))).await.unwrap(),
        Message::HoldCallResponse(_)
    ));
    let pbx = setup.sim.snapshot();
    assert!(leg(&pbx, "Anna Becker").state.held());
    assert!(leg(&pbx, "Ben Fischer").state.held_by_peer());
    until(&mut client, "HeldEvent").await;
    until(&mut client, "HeldEvent").await;
    assert_eq!(
        code(client.request(hold(at(&call, "201"))).await),
        wrong_state,
        "held twice"
    );
    assert_eq!(
        code(client.request(retrieve(at(&call, "202"))).await),
        no_held,
        "202 is held, it did not hold"
    );

    assert!(matches!(
        client.request(retrieve(at(&call, "201"))).await.unwrap(),
        Message::RetrieveCallResponse(_)
    ));
    let pbx = setup.sim.snapshot();
    assert!(talking(leg(&pbx, "Anna Becker")));
    assert!(!leg(&pbx, "Ben Fischer").state.held_by_peer());
    until(&mut client, "RetrievedEvent").await;
    setup.sim.hangup(sim_call, "Anna Becker").unwrap();
}

/// A second SOAP session on the simulator that watches one user, as the PBX reports it.
struct Observer {
    client: Client,
    session: i32,
}

impl Observer {
    async fn watch(setup: &SimGateway, cn: &str) -> Self {
        let config = Config::new(setup.sim.url().parse().expect("URL"), "admin", "ip800");
        let client = Client::new(config).expect("client");
        let session = client.initialize("_TAPI_", "e2e-observer").await.unwrap();
        client
            .user_initialize(session.handle, cn, false, false, "")
            .await
            .unwrap();
        Self {
            client,
            session: session.handle,
        }
    }

    /// The DTMF digits of the next call record that carries some.
    async fn digits(&self) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let batch = tokio::time::timeout_at(deadline, self.client.poll(self.session))
                .await
                .expect("DTMF in time")
                .unwrap();
            if let Some(info) = batch.call.iter().find_map(|record| record.info("dtmf")) {
                return info.vals.clone();
            }
        }
    }
}

#[tokio::test]
async fn generate_digits_reach_the_far_end_as_dtmf() {
    let setup = SimGateway::start("").await;
    let mut client = setup.client().await;
    client.monitor("201").await.unwrap();
    let observer = Observer::watch(&setup, "Ben Fischer").await;
    let sim_call = setup.sim.dial("Anna Becker", "202").unwrap();
    let call = last_call(&until(&mut client, "DeliveredEvent").await);
    let digits = |text: &str| -> Message {
        GenerateDigits {
            connection_to_send_digits: at(&call, "201"),
            digit_mode: None,
            characters_to_send: text.to_owned(),
            tone_duration: None,
            pulse_rate: None,
            pause_duration: None,
            extensions: None,
        }
        .into()
    };
    assert_eq!(
        code(client.request(digits("12#")).await),
        CstaErrorCode::StateIncompatibility(State::InvalidConnectionState),
        "no digits before the call is answered"
    );
    setup.sim.answer(sim_call, "Ben Fischer").unwrap();
    until(&mut client, "EstablishedEvent").await;
    for bad in ["", "12x", "1 2"] {
        assert_eq!(
            code(client.request(digits(bad)).await),
            CstaErrorCode::Operation(Op::InvalidParameterValue),
            "{bad:?}"
        );
    }
    assert!(matches!(
        client.request(digits("12#*9")).await.unwrap(),
        Message::GenerateDigitsResponse(_)
    ));
    assert_eq!(
        observer.digits().await,
        "12#*9",
        "202's leg receives the tones"
    );
    setup.sim.hangup(sim_call, "Anna Becker").unwrap();
}

#[tokio::test]
async fn deflect_call_sends_a_ringing_call_elsewhere() {
    let setup = SimGateway::start("").await;
    let mut client = setup.client().await;
    client.monitor("202").await.unwrap();
    let sim_call = setup.sim.dial("Anna Becker", "202").unwrap();
    let call = last_call(&until(&mut client, "DeliveredEvent").await);
    let deflect = |to: &str| -> Message {
        DeflectCall {
            call_to_be_diverted: at(&call, "202"),
            new_destination: device(to),
            correlator_data: None,
            user_data: None,
            extensions: None,
        }
        .into()
    };
    assert_eq!(
        code(client.request(deflect("xyz")).await),
        CstaErrorCode::Operation(Op::InvalidDestinationDeviceID)
    );
    assert!(matches!(
        client.request(deflect("206")).await.unwrap(),
        Message::DeflectCallResponse(_)
    ));
    let pbx = setup.sim.snapshot();
    assert!(
        legs(&pbx, "Ben Fischer").is_empty(),
        "202 is out of the call"
    );
    let felix = leg(&pbx, "Felix Schulz");
    assert_eq!(felix.state.phase(), CallPhase::Alert, "206 rings instead");
    let events = until(&mut client, "DivertedEvent").await;
    assert_eq!(last_call(&events), call);

    // Only a ringing call can be deflected.
    client.monitor("206").await.unwrap();
    setup.sim.answer(sim_call, "Felix Schulz").unwrap();
    until(&mut client, "EstablishedEvent").await;
    let answered = DeflectCall {
        call_to_be_diverted: at(&call, "206"),
        new_destination: device("203"),
        correlator_data: None,
        user_data: None,
        extensions: None,
    };
    assert_eq!(
        code(client.request(answered.into()).await),
        CstaErrorCode::StateIncompatibility(State::InvalidConnectionState)
    );
    assert!(talking(leg(&setup.sim.snapshot(), "Felix Schulz")));
    setup.sim.hangup(sim_call, "Anna Becker").unwrap();
}

#[tokio::test]
async fn group_and_directed_pickup_take_ringing_calls() {
    let setup = SimGateway::start("").await;
    let mut client = setup.client().await;
    for id in ["202", "203", "204", "205"] {
        client.monitor(id).await.unwrap();
    }
    let group_pickup = |by: &str| -> Message {
        GroupPickupCall {
            new_destination: device(by),
            pick_group: None,
            correlator_data: None,
            user_data: None,
            extensions: None,
        }
        .into()
    };
    assert_eq!(
        code(client.request(group_pickup("205")).await),
        CstaErrorCode::StateIncompatibility(State::NoCallToAnswer),
        "nothing rings in the group"
    );

    // 204 rings; 205 is in the same pickup group (sales) and takes the call.
    let first = setup.sim.dial("Anna Becker", "204").unwrap();
    until(&mut client, "DeliveredEvent").await;
    assert!(matches!(
        client.request(group_pickup("205")).await.unwrap(),
        Message::GroupPickupCallResponse(_)
    ));
    let pbx = setup.sim.snapshot();
    assert!(legs(&pbx, "David Klein").is_empty());
    assert!(talking(leg_with(&pbx, "Emma Wagner", "Anna Becker")));
    until(&mut client, "EstablishedEvent").await;
    setup.sim.hangup(first, "Anna Becker").unwrap();

    // 202 rings; 203 picks up that very call.
    let second = setup.sim.dial("Anna Becker", "202").unwrap();
    let events = loop {
        let events = until(&mut client, "DeliveredEvent").await;
        if let csta::events::Event::Delivered(delivered) = &events.last().unwrap().event
            && delivered
                .alerting_device
                .device_id()
                .is_some_and(|d| d.as_str() == "202")
        {
            break events;
        }
    };
    let call = last_call(&events);
    let directed = |victim: ConnectionId, by: &str| -> Message {
        DirectedPickupCall {
            call_to_be_picked_up: victim,
            requesting_device: device(by),
            correlator_data: None,
            user_data: None,
            extensions: None,
        }
        .into()
    };
    assert_eq!(
        code(client.request(directed(at(&call, "202"), "299")).await),
        CstaErrorCode::Operation(Op::InvalidDeviceID)
    );
    assert_eq!(
        code(
            client
                .request(directed(at(&call_id("nosuchcall"), "299x"), "203"))
                .await
        ),
        CstaErrorCode::Operation(Op::InvalidConnectionID)
    );
    let Message::DirectedPickupCallResponse(picked) = client
        .request(directed(at(&call, "202"), "203"))
        .await
        .unwrap()
    else {
        panic!("no DirectedPickupCallResponse");
    };
    assert_eq!(picked.picked_call, Some(at(&call, "203")));
    let pbx = setup.sim.snapshot();
    assert!(legs(&pbx, "Ben Fischer").is_empty());
    assert!(talking(leg_with(&pbx, "Clara Hoffmann", "Anna Becker")));
    // 203 now talks: its call cannot be picked up.
    let established = until(&mut client, "EstablishedEvent").await;
    assert_eq!(
        last_call(&established),
        call,
        "the picked call keeps its id"
    );
    assert_eq!(
        code(client.request(directed(at(&call, "203"), "204")).await),
        CstaErrorCode::StateIncompatibility(State::InvalidConnectionState)
    );
    setup.sim.hangup(second, "Anna Becker").unwrap();
}

#[tokio::test]
async fn park_call_parks_and_a_pickup_takes_the_parked_call() {
    let setup = SimGateway::start("").await;
    let mut client = setup.client().await;
    client.monitor("201").await.unwrap();
    client.monitor("203").await.unwrap();
    let sim_call = setup.sim.dial("Ben Fischer", "201").unwrap();
    let call = last_call(&until(&mut client, "DeliveredEvent").await);
    let park = |to: &str| -> Message {
        ParkCall {
            parking: at(&call, "201"),
            park_to: device(to),
            correlator_data: None,
            extensions: None,
        }
        .into()
    };
    assert_eq!(
        code(client.request(park("201")).await),
        CstaErrorCode::StateIncompatibility(State::InvalidConnectionState),
        "a ringing call cannot be parked"
    );
    setup.sim.answer(sim_call, "Anna Becker").unwrap();
    until(&mut client, "EstablishedEvent").await;
    assert_eq!(
        code(client.request(park("299")).await),
        CstaErrorCode::Operation(Op::InvalidParkToDeviceID)
    );
    let Message::ParkCallResponse(parked) = client.request(park("201")).await.unwrap() else {
        panic!("no ParkCallResponse");
    };
    assert_eq!(parked.parked_to, Some(at(&call, "201")));
    let pbx = setup.sim.snapshot();
    let at_anna: Vec<LegKind> = pbx
        .calls
        .iter()
        .flat_map(|call| &call.legs)
        .filter(|leg| leg.cn == "Anna Becker")
        .map(|leg| leg.kind)
        .collect();
    assert_eq!(at_anna, [LegKind::Parked], "201 holds the parked call only");
    until(&mut client, "HeldEvent").await;

    // 203 takes the parked call from 201's park position.
    let unpark = DirectedPickupCall {
        call_to_be_picked_up: at(&call, "201"),
        requesting_device: device("203"),
        correlator_data: None,
        user_data: None,
        extensions: None,
    };
    client.request(unpark.into()).await.unwrap();
    let pbx = setup.sim.snapshot();
    assert!(talking(leg_with(&pbx, "Clara Hoffmann", "Ben Fischer")));
    assert!(
        pbx.calls
            .iter()
            .flat_map(|call| &call.legs)
            .all(|leg| leg.cn != "Anna Becker"),
        "the park position is empty"
    );
    setup.sim.hangup(sim_call, "Ben Fischer").unwrap();
    tokio::time::timeout(
        Duration::from_secs(5),
        setup.sim.wait_for(|sim| sim.call_count() == 0),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn the_victim_of_a_pickup_sees_its_call_diverted() {
    let setup = SimGateway::start("").await;
    let mut victim = setup.client().await;
    victim.monitor("202").await.unwrap();
    let sim_call = setup.sim.dial("Anna Becker", "202").unwrap();
    until(&mut victim, "DeliveredEvent").await;
    let pickup = GroupPickupCall {
        new_destination: device("203"),
        pick_group: None,
        correlator_data: None,
        user_data: None,
        extensions: None,
    };
    victim.request(pickup.into()).await.unwrap();
    let event = victim.next_event(WAIT).await.expect("an event at 202");
    let csta::events::Event::Diverted(diverted) = &event.event else {
        panic!("expected a DivertedEvent: {event:?}");
    };
    assert_eq!(diverted.cause, csta::types::EventCause::CallPickup);
    assert_eq!(
        diverted.new_destination.device_id().map(|id| id.as_str()),
        Some("203")
    );
    setup.sim.hangup(sim_call, "Anna Becker").unwrap();
}
