//! Monitors (ids, stop, filters, fan-out of events) and snapshots served from the registry.

use std::collections::BTreeSet;

use csta::error_code::{
    CstaErrorCode, OperationError as Op, SubscribedResourceAvailabilityError as Subscribed,
};
use csta::events::{CstaEvent, Event};
use csta::ids::{ConnectionId, MonitorCrossRefId};
use csta::message::Message;
use csta::monitoring::{MonitorObject, MonitorStart, MonitorStop};
use csta::snapshot::{SnapshotCall, SnapshotDevice, SnapshotResult};
use csta::types::{
    CallControlFilter, CallControlFilterItem as Cc, CallControlService, LocalCallState,
    LocalConnectionState, LogicalDeviceFeatureFilter, LogicalDeviceFeatureFilterItem as Ld,
    MaintenanceFilter, MaintenanceFilterItem as Mt, MonitorFilter,
};
use gateway::client::CstaClient;
use pbx_soap::records::{Presence, PresenceStatus};
use pbx_soap::sim::ForwardKind;
use tests::SimGateway;

use super::{at, call_id, call_of, code, device, events, limited_user, names, until};

fn stop(cross_ref: &MonitorCrossRefId) -> Message {
    MonitorStop {
        monitor_cross_ref_id: cross_ref.clone(),
        extensions: None,
    }
    .into()
}

#[tokio::test]
async fn monitor_ids_are_unique_and_a_stopped_monitor_reports_nothing() {
    let setup = SimGateway::start(&format!("max_monitors = 4\n{}", limited_user())).await;
    let mut client = setup.client().await;
    let other = setup.client().await;
    let first = client.monitor("201").await.unwrap();
    let second = client.monitor("201").await.unwrap();
    let third = client.monitor("202").await.unwrap();
    let elsewhere = other.monitor("201").await.unwrap();
    let ids: BTreeSet<&str> = [&first, &second, &third, &elsewhere]
        .iter()
        .map(|id| id.as_str())
        .collect();
    assert_eq!(ids.len(), 4, "unique ids: {ids:?}");

    let invalid = CstaErrorCode::Operation(Op::InvalidMonitorCrossRefID);
    assert_eq!(
        code(other.request(stop(&first)).await),
        invalid,
        "another session's monitor cannot be stopped"
    );
    assert!(matches!(
        client.request(stop(&first)).await.unwrap(),
        Message::MonitorStopResponse(_)
    ));
    assert_eq!(code(client.request(stop(&first)).await), invalid, "twice");
    assert_eq!(
        code(
            client
                .request(stop(&MonitorCrossRefId::new("no-such-monitor").unwrap()))
                .await
        ),
        invalid
    );
    client.request(stop(&second)).await.unwrap();

    // 201 is no longer monitored by this client: the first event it gets is 202 ringing.
    let call = setup.sim.dial("Anna Becker", "202").unwrap();
    let event = client.next_event(super::WAIT).await.unwrap();
    assert_eq!(event.monitor_cross_ref_id, third);
    assert_eq!(event.event.name(), "DeliveredEvent");
    setup.sim.hangup(call, "Anna Becker").unwrap();

    // Objects that cannot be monitored.
    let call_monitor = MonitorStart {
        monitor_object: MonitorObject::Call(at(&call_id("1"), "201")),
        requested_monitor_filter: None,
        monitor_type: None,
        extensions: None,
    };
    assert_eq!(
        code(client.request(call_monitor.into()).await),
        CstaErrorCode::Operation(Op::InvalidMonitorObject),
        "call monitors are not offered"
    );
    assert_eq!(
        code(client.monitor("299").await),
        CstaErrorCode::Operation(Op::InvalidDeviceID)
    );
    let limited = setup.gateway.login("login", "limited", "secret").await;
    assert_eq!(
        code(limited.monitor("202").await),
        CstaErrorCode::Operation(Op::PrivilegeViolationSpecifiedDevice),
        "view is not monitor"
    );

    // The per-connection limit counts live monitors only.
    for id in ["203", "204", "205"] {
        client.monitor(id).await.unwrap();
    }
    assert_eq!(
        code(client.monitor("206").await),
        CstaErrorCode::SubscribedResourceAvailability(Subscribed::ObjectMonitorLimitExceeded)
    );
    client.request(stop(&third)).await.unwrap();
    client
        .monitor("206")
        .await
        .expect("room again after a stop");
}

#[tokio::test]
async fn every_monitor_of_a_device_gets_the_same_events_in_order_with_one_call_id() {
    let setup = SimGateway::start("").await;
    let mut caller = setup.client().await;
    let mut both = setup.client().await;
    let mut callee = setup.client().await;
    caller.monitor("201").await.unwrap();
    let both_201 = both.monitor("201").await.unwrap();
    let both_202 = both.monitor("202").await.unwrap();
    callee.monitor("202").await.unwrap();

    let connection = caller.make_call("201", "202").await.unwrap();
    let call = connection.call.clone().unwrap();
    let mut at_caller = events(&mut caller, 3).await;
    assert_eq!(
        names(&at_caller),
        ["ServiceInitiatedEvent", "OriginatedEvent", "DeliveredEvent"]
    );
    // The caller is `connected` while 202 rings, but the call is not answered yet.
    let calling = &at_caller[2]
        .event
        .services_permitted()
        .unwrap()
        .call_control;
    assert!(calling.contains(CallControlService::ClearConnection));
    assert!(!calling.contains(CallControlService::HoldCall));
    let mut at_callee = until(&mut callee, "DeliveredEvent").await;
    let Event::Delivered(ringing) = &at_callee[0].event else {
        panic!("{at_callee:?}")
    };
    assert_eq!(
        ringing.local_connection_info,
        Some(LocalConnectionState::Alerting)
    );
    let offered = &ringing.services_permitted.as_ref().unwrap().call_control;
    assert!(offered.contains(CallControlService::AnswerCall));
    assert!(offered.contains(CallControlService::DeflectCall));
    assert!(!offered.contains(CallControlService::HoldCall));

    let sim_call = setup.sim.snapshot().calls[0].call;
    setup.sim.answer(sim_call, "Ben Fischer").unwrap();
    at_caller.extend(until(&mut caller, "EstablishedEvent").await);
    at_callee.extend(until(&mut callee, "EstablishedEvent").await);
    let Event::Established(talking) = &at_caller.last().unwrap().event else {
        unreachable!()
    };
    let offered = &talking.services_permitted.as_ref().unwrap().call_control;
    assert!(offered.contains(CallControlService::HoldCall));
    assert!(offered.contains(CallControlService::ConsultationCall));
    assert!(!offered.contains(CallControlService::AnswerCall));

    setup.sim.hangup(sim_call, "Anna Becker").unwrap();
    at_caller.extend(until(&mut caller, "ConnectionClearedEvent").await);
    at_callee.extend(until(&mut callee, "CallClearedEvent").await);

    // The client with both monitors saw exactly the events of the two others, in their order.
    let mut at_both = events(&mut both, at_caller.len() + at_callee.len()).await;
    let of = |events: &[CstaEvent], cross_ref: &MonitorCrossRefId| -> Vec<Event> {
        events
            .iter()
            .filter(|event| &event.monitor_cross_ref_id == cross_ref)
            .map(|event| event.event.clone())
            .collect()
    };
    let plain = |events: &[CstaEvent]| -> Vec<Event> {
        events.iter().map(|event| event.event.clone()).collect()
    };
    assert_eq!(of(&at_both, &both_201), plain(&at_caller));
    assert_eq!(of(&at_both, &both_202), plain(&at_callee));
    at_both.extend(at_caller);
    at_both.extend(at_callee);
    for event in &at_both {
        assert_eq!(
            call_of(&event.event),
            Some(&call),
            "one call id everywhere: {event:?}"
        );
        if !matches!(event.event, Event::CallCleared(_)) {
            assert!(event.event.services_permitted().is_some(), "{event:?}");
            assert!(event.event.local_connection_info().is_some(), "{event:?}");
        }
    }
}

#[tokio::test]
async fn filters_suppress_exactly_the_filtered_events() {
    let setup = SimGateway::start("").await;
    let mut client = setup.client().await;
    let everything = client.monitor("201").await.unwrap();
    let filter = MonitorFilter {
        call_control: Some(
            CallControlFilter::empty()
                .with(Cc::ServiceInitiated)
                .with(Cc::Originated)
                .with(Cc::Established),
        ),
        logical_device_feature: Some(LogicalDeviceFeatureFilter::empty().with(Ld::Forwarding)),
        maintenance: Some(MaintenanceFilter::empty().with(Mt::BackInService)),
        ..MonitorFilter::default()
    };
    let request = MonitorStart {
        monitor_object: MonitorObject::Device(device("201")),
        requested_monitor_filter: Some(filter.clone()),
        monitor_type: None,
        extensions: None,
    };
    let Message::MonitorStartResponse(started) = client.request(request.into()).await.unwrap()
    else {
        panic!("no MonitorStartResponse");
    };
    assert_eq!(started.actual_monitor_filter, Some(filter));
    let filtered = started.monitor_cross_ref_id;

    // A call, a forward, do-not-disturb, and the phone unregistering and coming back; each
    // step waits for the last one's events (the link reports a poll's user records before its
    // call records).
    let call = setup.sim.dial("Anna Becker", "202").unwrap();
    setup.sim.answer(call, "Ben Fischer").unwrap();
    setup.sim.hangup(call, "Ben Fischer").unwrap();
    let mut seen = until_on(&mut client, &everything, "CallClearedEvent").await;
    setup
        .sim
        .set_forward("Anna Becker", ForwardKind::Unconditional, Some("204"))
        .unwrap();
    seen.extend(until_on(&mut client, &everything, "ForwardingEvent").await);
    let dnd = Presence {
        status: Some(PresenceStatus::Open),
        activity: Some("dnd".into()),
        note: None,
    };
    setup.sim.set_presence("Anna Becker", dnd).unwrap();
    seen.extend(until_on(&mut client, &everything, "DoNotDisturbEvent").await);
    setup.sim.register("Anna Becker", None, false).unwrap();
    seen.extend(until_on(&mut client, &everything, "OutOfServiceEvent").await);
    setup.sim.register("Anna Becker", None, true).unwrap();
    seen.extend(until_on(&mut client, &everything, "BackInServiceEvent").await);

    let all: Vec<&str> = seen
        .iter()
        .filter(|event| event.monitor_cross_ref_id == everything)
        .map(|event| event.event.name())
        .collect();
    assert_eq!(
        all,
        [
            "ServiceInitiatedEvent",
            "OriginatedEvent",
            "DeliveredEvent",
            "EstablishedEvent",
            "ConnectionClearedEvent",
            "ConnectionClearedEvent",
            "CallClearedEvent",
            "ForwardingEvent",
            "DoNotDisturbEvent",
            "OutOfServiceEvent",
            "BackInServiceEvent",
        ]
    );
    let suppressed = [
        "ServiceInitiatedEvent",
        "OriginatedEvent",
        "EstablishedEvent",
        "ForwardingEvent",
        "BackInServiceEvent",
    ];
    // Each event of the filtered monitor directly follows the same event of the other one;
    // the last BackInService of the unfiltered monitor has no twin.
    let mut expected = Vec::new();
    for event in seen
        .iter()
        .filter(|event| event.monitor_cross_ref_id == everything)
    {
        expected.push((everything.clone(), event.event.clone()));
        if !suppressed.contains(&event.event.name()) {
            expected.push((filtered.clone(), event.event.clone()));
        }
    }
    let actual: Vec<(MonitorCrossRefId, Event)> = seen
        .into_iter()
        .map(|event| (event.monitor_cross_ref_id, event.event))
        .collect();
    assert_eq!(actual, expected);
}

/// Events up to and including the first named `name` on monitor `cross_ref`.
async fn until_on(
    client: &mut CstaClient,
    cross_ref: &MonitorCrossRefId,
    name: &str,
) -> Vec<CstaEvent> {
    let mut events = Vec::new();
    loop {
        let Some(event) = client.next_event(super::WAIT).await else {
            panic!("no {name} on {cross_ref:?} in {:?}", names(&events));
        };
        let found = &event.monitor_cross_ref_id == cross_ref && event.event.name() == name;
        events.push(event);
        if found {
            return events;
        }
    }
}

#[tokio::test]
async fn snapshots_of_devices_and_calls_follow_the_pbx() {
    let setup = SimGateway::start(&limited_user()).await;
    let mut client = setup.client().await;
    client.monitor("202").await.unwrap();
    let snapshot_device = |id: &str| -> Message {
        SnapshotDevice {
            snapshot_object: device(id),
            extensions: None,
        }
        .into()
    };
    let snapshot_call = |connection: ConnectionId| -> Message {
        SnapshotCall {
            snapshot_object: connection,
            extensions: None,
        }
        .into()
    };
    let device_items = |answer: Message| match answer {
        Message::SnapshotDeviceResponse(response) => match response.cross_ref_id_or_snapshot_data {
            SnapshotResult::Data(items) => items,
            other => panic!("not inline: {other:?}"),
        },
        other => panic!("{other:?}"),
    };
    let idle = device_items(client.request(snapshot_device("201")).await.unwrap());
    assert!(idle.is_empty(), "an idle device has no calls: {idle:?}");

    let sim_call = setup.sim.dial("Anna Becker", "202").unwrap();
    let delivered = until(&mut client, "DeliveredEvent").await;
    let call = call_of(&delivered.last().unwrap().event).unwrap().clone();
    let ringing = device_items(client.request(snapshot_device("202")).await.unwrap());
    assert_eq!(ringing.len(), 1, "{ringing:?}");
    assert_eq!(ringing[0].connection_identifier, at(&call, "202"));
    assert_eq!(
        ringing[0]
            .endpoint_device
            .as_ref()
            .and_then(|d| d.device_id())
            .map(|d| d.as_str()),
        Some("201")
    );
    assert_eq!(
        ringing[0].local_call_state,
        LocalCallState::Compound(vec![
            LocalConnectionState::Alerting,
            LocalConnectionState::Connected
        ]),
        "this device first, then the caller"
    );
    assert!(
        ringing[0]
            .services_permitted
            .as_ref()
            .unwrap()
            .call_control
            .contains(CallControlService::AnswerCall)
    );
    let Message::SnapshotCallResponse(whole) = client
        .request(snapshot_call(at(&call, "202")))
        .await
        .unwrap()
    else {
        panic!("no SnapshotCallResponse");
    };
    let SnapshotResult::Data(parties) = &whole.cross_ref_id_or_snapshot_data else {
        panic!("not inline");
    };
    let mut states: Vec<(String, Option<LocalConnectionState>)> = parties
        .iter()
        .map(|party| {
            let id = party
                .device_on_call
                .as_ref()
                .and_then(|d| d.device_id())
                .map_or_else(String::new, |d| d.as_str().to_owned());
            (id, party.local_connection_info)
        })
        .collect();
    states.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        states,
        [
            ("201".to_owned(), Some(LocalConnectionState::Connected)),
            ("202".to_owned(), Some(LocalConnectionState::Alerting)),
        ]
    );
    let conf = setup.sim.conf(sim_call).unwrap();
    assert_eq!(
        whole.call_linkage_data.map(|data| data.linkage_id),
        Some(csta::types::CallLinkageId::GloballyUnique(conf)),
        "the PBX's conf id is the global call id"
    );

    // Answered and held at 201: the snapshot follows.
    setup.sim.answer(sim_call, "Ben Fischer").unwrap();
    setup.sim.hold(sim_call, "Anna Becker").unwrap();
    until(&mut client, "HeldEvent").await;
    let held = device_items(client.request(snapshot_device("201")).await.unwrap());
    assert_eq!(
        held[0].local_call_state,
        LocalCallState::Compound(vec![
            LocalConnectionState::Hold,
            LocalConnectionState::Connected
        ])
    );

    // Errors: unknown device or call, a call id missing, rights.
    assert_eq!(
        code(client.request(snapshot_device("299")).await),
        CstaErrorCode::Operation(Op::InvalidDeviceID)
    );
    assert_eq!(
        code(
            client
                .request(snapshot_call(at(&call_id("nosuchcall"), "201")))
                .await
        ),
        CstaErrorCode::Operation(Op::InvalidCallID)
    );
    let device_only =
        ConnectionId::new(None, Some(csta::ids::LocalDeviceId::Static(device("201")))).unwrap();
    assert_eq!(
        code(client.request(snapshot_call(device_only)).await),
        CstaErrorCode::Operation(Op::InvalidCallID)
    );
    let limited = setup.gateway.login("login", "limited", "secret").await;
    let denied = CstaErrorCode::Operation(Op::PrivilegeViolationSpecifiedDevice);
    assert_eq!(code(limited.request(snapshot_device("203")).await), denied);
    limited
        .request(snapshot_call(at(&call, "201")))
        .await
        .expect("limited may view 201 and 202");
    let mut watcher = setup.client().await;
    watcher.monitor("204").await.unwrap();
    let other = setup.sim.dial("Clara Hoffmann", "204").unwrap();
    let ringing = until(&mut watcher, "DeliveredEvent").await;
    let other_call = call_of(&ringing.last().unwrap().event).unwrap().clone();
    assert_eq!(
        code(limited.request(snapshot_call(at(&other_call, "204"))).await),
        denied,
        "a call between devices the user may not view"
    );
    setup.sim.hangup(other, "Clara Hoffmann").unwrap();
}

#[tokio::test]
async fn events_of_one_poll_keep_the_order_of_the_pbx() {
    let setup = SimGateway::start("").await;
    let mut client = setup.client().await;
    client.monitor("201").await.unwrap();
    // Everything below reaches the gateway in one poll answer.
    setup.sim.faults().stall_polls(true);
    let call = setup.sim.dial("Anna Becker", "202").unwrap();
    setup.sim.hangup(call, "Anna Becker").unwrap();
    let dnd = Presence {
        status: Some(PresenceStatus::Open),
        activity: Some("dnd".into()),
        note: None,
    };
    setup.sim.set_presence("Anna Becker", dnd).unwrap();
    setup.sim.faults().stall_polls(false);
    let seen = until(&mut client, "DoNotDisturbEvent").await;
    assert_eq!(
        names(&seen).last(),
        Some(&"DoNotDisturbEvent"),
        "the call's events first"
    );
    assert_eq!(
        names(&seen)[0],
        "ServiceInitiatedEvent",
        "{:?}",
        names(&seen)
    );
}
