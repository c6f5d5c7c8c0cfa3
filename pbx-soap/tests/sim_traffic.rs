//! The random traffic generator against a running simulator, in paused time: deterministic
//! for a seed, bounded, and every call it starts ends with `del` on every leg.
#![cfg(feature = "sim")]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use pbx_soap::envelope::InitializeFlags;
use pbx_soap::records::{CallInfo, Msg};
use pbx_soap::sim::{
    Directory, Identity, Sim, SimConfig, SimHandle, TrafficAction, TrafficConfig, TrafficStep,
};
use tokio::sync::mpsc;

/// What one run produced: the steps (time, action, call, conf) and every call record.
struct Run {
    steps: Vec<(Duration, TrafficAction, u64, String)>,
    records: Vec<CallInfo>,
    failures: u64,
}

/// A session on the model that watches every endpoint and the trunk.
fn watch_everything(sim: &SimHandle) -> i32 {
    sim.with_model(|model, _| {
        let (session, _) = model
            .initialize("_TAPI_", InitializeFlags::default(), Identity::Admin, None)
            .expect("session");
        let mut names = model.local_endpoints();
        names.push("Trunk".to_owned());
        for name in names {
            assert_ne!(
                model
                    .user_initialize(session, &name, false, false, "")
                    .expect("session"),
                0
            );
        }
        session
    })
}

fn drain(sim: &SimHandle, session: i32) -> Vec<CallInfo> {
    let mut records = Vec::new();
    loop {
        let batch = sim
            .with_model(|model, _| model.poll(session))
            .expect("session");
        if batch.is_empty() {
            return records;
        }
        records.extend(batch.call);
    }
}

async fn run(seed: u64, max_calls: u64) -> Run {
    let sim = Sim::start(SimConfig::default(), Directory::demo())
        .await
        .expect("simulator");
    let session = watch_everything(&sim);
    let (sender, mut receiver) = mpsc::channel::<TrafficStep>(16);
    let started = tokio::time::Instant::now();
    let config = TrafficConfig {
        rate_per_sec: 2.0,
        seed,
        max_calls: Some(max_calls),
        steps: Some(sender),
        ..TrafficConfig::default()
    };
    let mut traffic = sim.start_traffic(config);
    let mut steps = Vec::new();
    while let Some(step) = receiver.recv().await {
        steps.push((
            step.at - started,
            step.step.action.clone(),
            step.call.id(),
            step.conf.clone(),
        ));
    }
    traffic.finished().await;
    let stats = traffic.stats();
    assert_eq!(stats.steps, steps.len() as u64);
    assert_eq!(sim.call_count(), 0, "every generated call ended");
    let records = drain(&sim, session);
    sim.shutdown().await;
    Run {
        steps,
        records,
        failures: stats.failures,
    }
}

/// Every leg (user handle, call handle) ends with exactly one `del`, its last record.
fn assert_every_leg_ends(records: &[CallInfo]) {
    let mut legs: BTreeMap<(i32, i32), Vec<&CallInfo>> = BTreeMap::new();
    for record in records {
        legs.entry((record.user, record.call))
            .or_default()
            .push(record);
    }
    assert!(!legs.is_empty());
    for ((user, call), leg) in &legs {
        let dels = leg.iter().filter(|record| record.msg == Msg::Del).count();
        assert_eq!(dels, 1, "leg {user}/{call} has one del");
        let last = leg.last().expect("records");
        assert!(
            last.msg == Msg::Del && !last.active,
            "leg {user}/{call} ends with del"
        );
        let confs: BTreeSet<&str> = leg.iter().filter_map(|record| record.conf()).collect();
        assert!(
            confs.len() <= 2,
            "a leg changes its conference at most by one transfer"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn traffic_is_deterministic_for_a_seed_and_every_call_ends() {
    let first = run(5, 40).await;
    let again = run(5, 40).await;
    let other = run(6, 40).await;
    assert_eq!(
        first.steps, again.steps,
        "same seed, same steps at the same (virtual) times"
    );
    assert_ne!(
        first.steps.iter().map(|s| &s.1).collect::<Vec<_>>(),
        other.steps.iter().map(|s| &s.1).collect::<Vec<_>>()
    );
    assert_eq!(first.failures, 0, "the PBX accepted every planned step");
    let calls: BTreeSet<u64> = first.steps.iter().map(|step| step.2).collect();
    assert!(
        calls.len() >= 40,
        "forty scripts, transfers add consultation calls: {}",
        calls.len()
    );
    let kinds: BTreeSet<&str> = first
        .steps
        .iter()
        .map(|step| match step.1 {
            TrafficAction::Dial { .. } => "dial",
            TrafficAction::ExternalCall { .. } => "external",
            TrafficAction::Answer { .. } => "answer",
            TrafficAction::Busy { .. } => "busy",
            TrafficAction::Hold { .. } => "hold",
            TrafficAction::Retrieve { .. } => "retrieve",
            TrafficAction::Transfer { .. } => "transfer",
            TrafficAction::Hangup { .. } => "hangup",
            _ => "other",
        })
        .collect();
    assert!(kinds.len() >= 6, "a mix of scenarios: {kinds:?}");
    assert_every_leg_ends(&first.records);
    let step_confs: BTreeSet<&str> = first
        .steps
        .iter()
        .map(|step| step.3.as_str())
        .filter(|c| !c.is_empty())
        .collect();
    let record_confs: BTreeSet<&str> = first.records.iter().filter_map(CallInfo::conf).collect();
    assert!(
        step_confs.is_subset(&record_confs),
        "steps name the conference ids the records carry"
    );
}

#[tokio::test(start_paused = true)]
async fn stopping_ends_the_calls_in_progress() {
    let sim = Sim::start(SimConfig::default(), Directory::demo())
        .await
        .expect("simulator");
    let session = watch_everything(&sim);
    let (sender, mut receiver) = mpsc::channel::<TrafficStep>(64);
    let traffic = sim.start_traffic(TrafficConfig {
        rate_per_sec: 20.0,
        seed: 9,
        steps: Some(sender),
        ..TrafficConfig::default()
    });
    let mut seen = 0;
    while seen < 30 {
        receiver.recv().await.expect("steps keep coming");
        seen += 1;
    }
    assert!(sim.call_count() > 0, "calls are in progress");
    let stats = traffic.stop().await;
    assert!(stats.scripts > 0 && stats.steps >= 30);
    assert_eq!(sim.call_count(), 0, "stopping hung up what was going on");
    assert_every_leg_ends(&drain(&sim, session));
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn dropping_the_handle_or_the_simulator_stops_the_generator() {
    let sim = Sim::start(SimConfig::default(), Directory::demo())
        .await
        .expect("simulator");
    let (sender, mut receiver) = mpsc::channel::<TrafficStep>(64);
    let traffic = sim.start_traffic(TrafficConfig {
        rate_per_sec: 20.0,
        seed: 2,
        steps: Some(sender),
        ..TrafficConfig::default()
    });
    receiver.recv().await.expect("a step");
    drop(traffic);
    while receiver.recv().await.is_some() {}
    assert_eq!(sim.call_count(), 0);
    let (sender, mut receiver) = mpsc::channel::<TrafficStep>(64);
    let _traffic = sim.start_traffic(TrafficConfig {
        rate_per_sec: 20.0,
        seed: 3,
        steps: Some(sender),
        ..TrafficConfig::default()
    });
    receiver.recv().await.expect("a step");
    sim.shutdown().await;
    assert!(
        receiver.recv().await.is_none(),
        "the generator ended with the simulator"
    );
}
