//! Model-based test: random call traffic on the simulator; whenever the PBX is quiet, the
//! gateway's registry must show exactly the calls the PBX itself has, in the same states.

use std::collections::BTreeMap;
use std::time::Duration;

use gateway::events::LocalState;
use pbx_soap::records::CallPhase;
use pbx_soap::sim::{CallRef, LegKind, SimSnapshot};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tests::SimGateway;

/// line → sorted local states of its calls, as the PBX has them.
fn pbx_view(snapshot: &SimSnapshot) -> BTreeMap<String, Vec<String>> {
    let mut view: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for call in &snapshot.calls {
        for leg in &call.legs {
            let Some(object) = snapshot.object(&leg.cn) else {
                continue;
            };
            if object.e164.is_empty() || object.e164 == "0" || leg.kind != LegKind::Party {
                continue;
            }
            let state = leg.state;
            let local = match state.phase() {
                CallPhase::DisconnectSent | CallPhase::DisconnectReceived | CallPhase::Idle => {
                    continue;
                }
                _ if state.held() => LocalState::Hold,
                CallPhase::Connected => LocalState::Connected,
                CallPhase::Alert if state.outbound() => LocalState::Alerting,
                CallPhase::Setup if state.outbound() => LocalState::Alerting,
                CallPhase::Setup => LocalState::Initiated,
                _ => LocalState::Connected,
            };
            view.entry(object.e164.clone())
                .or_default()
                .push(format!("{local:?}"));
        }
    }
    for states in view.values_mut() {
        states.sort();
    }
    view
}

/// line → sorted local states of its calls, as the gateway has them.
fn gateway_view(registry: &gateway::registry::Registry) -> BTreeMap<String, Vec<String>> {
    let mut view: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in registry.lines() {
        for call in &line.calls {
            if let Some(own) = call
                .connections
                .iter()
                .find(|c| c.line.as_ref() == Some(&line.line.device))
            {
                view.entry(line.line.device.to_string())
                    .or_default()
                    .push(format!("{:?}", own.local));
            }
        }
    }
    for states in view.values_mut() {
        states.sort();
    }
    view
}

async fn converge(setup: &SimGateway, round: usize) -> usize {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let expected = pbx_view(&setup.sim.snapshot());
        let actual = gateway_view(setup.gateway.gateway.registry());
        if expected == actual {
            return expected.values().map(Vec::len).sum();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "round {round}: the registry does not mirror the PBX\n pbx:     {expected:?}\n gateway: {actual:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn random_traffic_is_mirrored_exactly() {
    let setup = SimGateway::start("").await;
    let users: Vec<String> = (201..=212).map(|n| n.to_string()).collect();
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut calls: Vec<(CallRef, String, String)> = Vec::new();
    let mut compared = 0;
    for round in 0..240 {
        let choice = rng.random_range(0..10);
        match choice {
            0..=2 => {
                let from = users[rng.random_range(0..users.len())].clone();
                let to = users[rng.random_range(0..users.len())].clone();
                if let Ok(call) = setup.sim.dial(&from, &to) {
                    calls.push((call, from, to));
                }
            }
            _ if calls.is_empty() => {}
            3..=4 => {
                let (call, _, to) = &calls[rng.random_range(0..calls.len())];
                let _ = setup.sim.answer(*call, to);
            }
            5 => {
                let (call, from, _) = &calls[rng.random_range(0..calls.len())];
                let _ = setup.sim.hold(*call, from);
            }
            6 => {
                let (call, from, _) = &calls[rng.random_range(0..calls.len())];
                let _ = setup.sim.retrieve(*call, from);
            }
            7 => {
                let (call, _, to) = &calls[rng.random_range(0..calls.len())];
                let _ = setup.sim.busy(*call, to);
            }
            _ => {
                let index = rng.random_range(0..calls.len());
                let (call, from, to) = calls.swap_remove(index);
                let who = if rng.random_bool(0.5) { from } else { to };
                let _ = setup.sim.hangup(call, &who);
            }
        }
        calls.retain(|(call, _, _)| setup.sim.snapshot().call(*call).is_some());
        if round % 20 == 19 {
            compared += converge(&setup, round).await;
        }
    }
    for (call, from, _) in calls {
        let _ = setup.sim.hangup(call, &from);
    }
    assert!(
        compared > 20,
        "the checks compared calls in progress ({compared} connections)"
    );
    converge(&setup, 240).await;
    assert_eq!(
        setup.gateway.gateway.registry().call_count(),
        0,
        "no phantom calls at the end"
    );
}
