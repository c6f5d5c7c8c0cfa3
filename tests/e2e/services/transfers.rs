//! Services on two calls of one device: consultation, alternate, reconnect, transfer,
//! single-step transfer and conference.

use csta::call_control::{
    AlternateCall, ConferenceCall, ConsultationCall, ReconnectCall, SingleStepTransferCall,
    TransferCall,
};
use csta::error_code::{CstaErrorCode, OperationError as Op, StateIncompatibilityError as State};
use csta::events::Event;
use csta::ids::{CallId, ConnectionId};
use csta::message::Message;
use gateway::client::CstaClient;
use pbx_soap::records::CallPhase;
use tests::SimGateway;

use super::{at, call_of, code, device, leg, leg_with, legs, talking, until};

fn consult(existing: ConnectionId, to: &str) -> Message {
    ConsultationCall {
        existing_call: existing,
        consulted_device: device(to),
        connection_reservation: None,
        account_code: None,
        auth_code: None,
        correlator_data: None,
        user_data: None,
        consult_options: None,
        extensions: None,
    }
    .into()
}

fn alternate(held: ConnectionId, active: ConnectionId) -> Message {
    AlternateCall {
        held_call: held,
        active_call: active,
        connection_reservation: None,
        consult_options: None,
        extensions: None,
    }
    .into()
}

fn transfer(held: ConnectionId, active: ConnectionId) -> Message {
    TransferCall {
        held_call: held,
        active_call: active,
        extensions: None,
    }
    .into()
}

fn conference(held: ConnectionId, active: ConnectionId) -> Message {
    ConferenceCall {
        held_call: held,
        active_call: active,
        extensions: None,
    }
    .into()
}

/// As [`consultation`], and 203 answers.
async fn answered_consultation(setup: &SimGateway, client: &mut CstaClient) -> (CallId, CallId) {
    let calls = consultation(setup, client).await;
    let consulted = setup.sim.snapshot().calls[1].call;
    setup.sim.answer(consulted, "Clara Hoffmann").unwrap();
    until(client, "EstablishedEvent").await;
    calls
}

/// The call ids of a transfer's or conference's primary and secondary old calls.
fn old_calls<'a>(
    primary: &'a ConnectionId,
    secondary: Option<&'a ConnectionId>,
) -> (Option<&'a CallId>, Option<&'a CallId>) {
    (
        primary.call.as_ref(),
        secondary.and_then(|connection| connection.call.as_ref()),
    )
}

/// 202 calls 201 and 201 answers; then 201 consults 203. Returns the two call ids.
async fn consultation(setup: &SimGateway, client: &mut CstaClient) -> (CallId, CallId) {
    let sim_call = setup.sim.dial("Ben Fischer", "201").unwrap();
    until(client, "DeliveredEvent").await;
    setup.sim.answer(sim_call, "Anna Becker").unwrap();
    let established = until(client, "EstablishedEvent").await;
    let first = call_of(&established.last().unwrap().event).unwrap().clone();
    let Message::ConsultationCallResponse(consulting) = client
        .request(consult(at(&first, "201"), "203"))
        .await
        .unwrap()
    else {
        panic!("no ConsultationCallResponse");
    };
    let second = consulting.initiated_call.call.clone().unwrap();
    assert_ne!(first, second, "the consultation is a call of its own");
    assert_eq!(
        consulting
            .initiated_call
            .device
            .as_ref()
            .map(|device| device.as_str()),
        Some("201")
    );
    let pbx = setup.sim.snapshot();
    assert!(leg_with(&pbx, "Anna Becker", "Ben Fischer").state.held());
    assert_eq!(
        leg_with(&pbx, "Clara Hoffmann", "Anna Becker")
            .state
            .phase(),
        CallPhase::Alert,
        "203 rings"
    );
    // Wait until the gateway knows the consultation rings.
    loop {
        let events = until(client, "DeliveredEvent").await;
        if call_of(&events.last().unwrap().event) == Some(&second) {
            break;
        }
    }
    (first, second)
}

#[tokio::test]
async fn consultation_alternate_and_transfer() {
    let setup = SimGateway::start("").await;
    let mut client = setup.client().await;
    client.monitor("201").await.unwrap();
    assert_eq!(
        code(
            client
                .request(consult(
                    at(&CallId::new("nosuchcall").unwrap(), "201"),
                    "203"
                ))
                .await
        ),
        CstaErrorCode::Operation(Op::InvalidConnectionID)
    );
    let (first, second) = answered_consultation(&setup, &mut client).await;

    // Swap: the consultation is held, the first call is active again; then back.
    let wrong_held = CstaErrorCode::StateIncompatibility(State::InvalidHeldConnectionState);
    assert_eq!(
        code(
            client
                .request(alternate(at(&second, "201"), at(&first, "201")))
                .await
        ),
        wrong_held,
        "roles swapped: the 'held' call is active"
    );
    assert_eq!(
        code(
            client
                .request(alternate(at(&first, "201"), at(&second, "203")))
                .await
        ),
        CstaErrorCode::Operation(Op::NotSameDevice)
    );
    client
        .request(alternate(at(&first, "201"), at(&second, "201")))
        .await
        .unwrap();
    let pbx = setup.sim.snapshot();
    assert!(talking(leg_with(&pbx, "Anna Becker", "Ben Fischer")));
    assert!(leg_with(&pbx, "Anna Becker", "Clara Hoffmann").state.held());
    let swapped = until(&mut client, "RetrievedEvent").await;
    assert!(swapped.iter().any(|e| matches!(e.event, Event::Held(_))));
    client
        .request(alternate(at(&second, "201"), at(&first, "201")))
        .await
        .unwrap();
    let pbx = setup.sim.snapshot();
    assert!(leg_with(&pbx, "Anna Becker", "Ben Fischer").state.held());
    assert!(talking(leg_with(&pbx, "Anna Becker", "Clara Hoffmann")));
    until(&mut client, "RetrievedEvent").await;

    // Transfer: 202 and 203 talk, 201 is out of both calls.
    assert_eq!(
        code(
            client
                .request(transfer(at(&second, "201"), at(&first, "201")))
                .await
        ),
        wrong_held
    );
    let Message::TransferCallResponse(transferred) = client
        .request(transfer(at(&first, "201"), at(&second, "201")))
        .await
        .unwrap()
    else {
        panic!("no TransferCallResponse");
    };
    assert_eq!(transferred.transferred_call.call, Some(first.clone()));
    let pbx = setup.sim.snapshot();
    assert!(legs(&pbx, "Anna Becker").is_empty());
    assert!(talking(leg_with(&pbx, "Ben Fischer", "Clara Hoffmann")));
    assert!(talking(leg_with(&pbx, "Clara Hoffmann", "Ben Fischer")));
    // One TransferedEvent ends both of 201's connections.
    let after = until(&mut client, "TransferedEvent").await;
    let Event::Transfered(event) = &after.last().unwrap().event else {
        unreachable!()
    };
    assert_eq!(
        old_calls(&event.primary_old_call, event.secondary_old_call.as_ref()),
        (Some(&first), Some(&second))
    );
    assert_eq!(
        event.local_connection_info,
        Some(csta::types::LocalConnectionState::Null)
    );
    assert_eq!(
        code(
            client
                .request(transfer(at(&first, "201"), at(&second, "201")))
                .await
        ),
        CstaErrorCode::Operation(Op::InvalidConnectionID),
        "201 has left both calls"
    );
    let ben = setup.sim.snapshot().calls[0].call;
    setup.sim.hangup(ben, "Ben Fischer").unwrap();
}

#[tokio::test]
async fn reconnect_call_drops_the_consultation_and_takes_the_held_call_back() {
    let setup = SimGateway::start("").await;
    let mut client = setup.client().await;
    client.monitor("201").await.unwrap();
    let (first, second) = consultation(&setup, &mut client).await;
    let reconnect = |active: &CallId, held: &CallId| -> Message {
        ReconnectCall {
            active_call: at(active, "201"),
            held_call: at(held, "201"),
            extensions: None,
        }
        .into()
    };
    assert_eq!(
        code(client.request(reconnect(&first, &second)).await),
        CstaErrorCode::StateIncompatibility(State::InvalidHeldConnectionState),
        "roles swapped"
    );
    assert!(matches!(
        client.request(reconnect(&second, &first)).await.unwrap(),
        Message::ReconnectCallResponse(_)
    ));
    let pbx = setup.sim.snapshot();
    assert!(
        legs(&pbx, "Clara Hoffmann").is_empty(),
        "the consultation is gone"
    );
    assert!(talking(leg(&pbx, "Anna Becker")));
    assert!(talking(leg(&pbx, "Ben Fischer")));
    until(&mut client, "RetrievedEvent").await;
    let ben = setup.sim.snapshot().calls[0].call;
    setup.sim.hangup(ben, "Ben Fischer").unwrap();
}

#[tokio::test]
async fn single_step_transfer_moves_the_far_end_to_a_new_destination() {
    let setup = SimGateway::start("").await;
    let mut client = setup.client().await;
    client.monitor("201").await.unwrap();
    client.monitor("203").await.unwrap();
    let sim_call = setup.sim.dial("Ben Fischer", "201").unwrap();
    setup.sim.answer(sim_call, "Anna Becker").unwrap();
    let established = until(&mut client, "EstablishedEvent").await;
    let call = call_of(&established.last().unwrap().event).unwrap().clone();
    let single_step = |to: &str| -> Message {
        SingleStepTransferCall {
            active_call: at(&call, "201"),
            transferred_to: device(to),
            account_code: None,
            auth_code: None,
            correlator_data: None,
            user_data: None,
            extensions: None,
        }
        .into()
    };
    assert_eq!(
        code(client.request(single_step("xyz")).await),
        CstaErrorCode::Operation(Op::InvalidDestinationDeviceID)
    );
    let Message::SingleStepTransferCallResponse(moved) =
        client.request(single_step("203")).await.unwrap()
    else {
        panic!("no SingleStepTransferCallResponse");
    };
    assert_eq!(moved.transferred_call.call, Some(call.clone()));
    let pbx = setup.sim.snapshot();
    assert!(legs(&pbx, "Anna Becker").is_empty(), "201 left the call");
    let clara = leg_with(&pbx, "Clara Hoffmann", "Ben Fischer");
    assert_eq!(clara.state.phase(), CallPhase::Alert, "203 rings for 202");
    let ringing = loop {
        let events = until(&mut client, "DeliveredEvent").await;
        if let Event::Delivered(delivered) = &events.last().unwrap().event
            && delivered
                .alerting_device
                .device_id()
                .is_some_and(|d| d.as_str() == "203")
        {
            break events;
        }
    };
    assert_eq!(
        call_of(&ringing.last().unwrap().event),
        Some(&call),
        "the call keeps its id"
    );
    setup.sim.hangup(sim_call, "Ben Fischer").unwrap();
}

#[tokio::test]
async fn conference_call_asks_the_phone_for_its_three_party_conference() {
    let setup = SimGateway::start("").await;
    let mut client = setup.client().await;
    client.monitor("201").await.unwrap();
    let (first, second) = answered_consultation(&setup, &mut client).await;
    assert_eq!(
        code(
            client
                .request(conference(at(&second, "201"), at(&first, "201")))
                .await
        ),
        CstaErrorCode::StateIncompatibility(State::InvalidHeldConnectionState)
    );
    let Message::ConferenceCallResponse(joined) = client
        .request(conference(at(&first, "201"), at(&second, "201")))
        .await
        .unwrap()
    else {
        panic!("no ConferenceCallResponse");
    };
    assert_eq!(joined.conference_call.call, Some(second.clone()));
    // The phone mixes both calls: the held one is retrieved, nobody is on hold.
    let pbx = setup.sim.snapshot();
    assert!(talking(leg_with(&pbx, "Anna Becker", "Ben Fischer")));
    assert!(talking(leg_with(&pbx, "Anna Becker", "Clara Hoffmann")));
    assert!(
        !leg_with(&pbx, "Ben Fischer", "Anna Becker")
            .state
            .held_by_peer()
    );
    let events = until(&mut client, "ConferencedEvent").await;
    let Event::Conferenced(conferenced) = &events.last().unwrap().event else {
        unreachable!()
    };
    assert_eq!(
        old_calls(
            &conferenced.primary_old_call,
            conferenced.secondary_old_call.as_ref()
        ),
        (Some(&first), Some(&second))
    );
    // In conference nothing is held: a second request (which would toggle the conference
    // off on the phone) is refused.
    assert_eq!(
        code(
            client
                .request(conference(at(&first, "201"), at(&second, "201")))
                .await
        ),
        CstaErrorCode::StateIncompatibility(State::InvalidHeldConnectionState)
    );
    assert!(talking(leg_with(
        &setup.sim.snapshot(),
        "Anna Becker",
        "Clara Hoffmann"
    )));
}

#[tokio::test]
async fn a_pbx_without_three_party_conference_refuses_conference_call() {
    let setup = super::sim_gateway_tweaked(|pbx| pbx.no_3pty = true).await;
    let mut client = setup.client().await;
    client.monitor("201").await.unwrap();
    let (first, second) = consultation(&setup, &mut client).await;
    assert_eq!(
        code(
            client
                .request(conference(at(&first, "201"), at(&second, "201")))
                .await
        ),
        CstaErrorCode::Operation(Op::ServiceNotSupported)
    );
    let Message::GetCstaFeaturesResponse(features) = client
        .request(csta::system::GetCstaFeatures::default().into())
        .await
        .unwrap()
    else {
        panic!("no features");
    };
    assert!(
        features
            .supported_services
            .iter()
            .flat_map(|list| &list.features)
            .all(|feature| feature.name != "conferenceCall")
    );
}

#[tokio::test]
async fn single_step_transfer_is_reported_as_a_transfer_to_every_party() {
    let setup = SimGateway::start("").await;
    let mut transferring = setup.client().await;
    let mut remaining = setup.client().await;
    transferring.monitor("201").await.unwrap();
    remaining.monitor("202").await.unwrap();
    let sim_call = setup.sim.dial("Ben Fischer", "201").unwrap();
    setup.sim.answer(sim_call, "Anna Becker").unwrap();
    let established = until(&mut transferring, "EstablishedEvent").await;
    let call = call_of(&established.last().unwrap().event).unwrap().clone();
    until(&mut remaining, "EstablishedEvent").await;
    let request = SingleStepTransferCall {
        active_call: at(&call, "201"),
        transferred_to: device("203"),
        account_code: None,
        auth_code: None,
        correlator_data: None,
        user_data: None,
        extensions: None,
    };
    transferring.request(request.into()).await.unwrap();
    for client in [&mut transferring, &mut remaining] {
        let event = client
            .next_event(super::WAIT)
            .await
            .expect("an event about the transfer");
        let Event::Transfered(transfered) = &event.event else {
            panic!("expected a TransferedEvent: {event:?}");
        };
        assert_eq!(
            transfered.cause,
            csta::types::EventCause::SingleStepTransfer
        );
        assert_eq!(transfered.primary_old_call.call.as_ref(), Some(&call));
        assert_eq!(
            transfered
                .transferred_to_device
                .device_id()
                .map(|id| id.as_str()),
            Some("203")
        );
    }
    setup.sim.hangup(sim_call, "Ben Fischer").unwrap();
}
