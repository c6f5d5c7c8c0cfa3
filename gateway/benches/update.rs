//! Registry update throughput: PBX records through the bridge into the registry, as a PBX
//! link applies them, with no subscriber and no I/O.
//!
//! The records come from the simulator's pure model with 10,000 monitored users: each
//! measured step is one call cycle between changing pairs of users (dial, answer, hang up),
//! polled from the model as a link would poll it. The model runs outside the measurement; the
//! measured part is what a link does with a poll answer: every `CallInfo` through the
//! bridge, the batch's events, copying the touched lines and calls into the registry and
//! publishing the events. Throughput is printed per `CallInfo` record.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use gateway::bridge::{Bridge, BridgeSettings, SiteId};
use gateway::registry::Registry;
use pbx_soap::envelope::InitializeFlags;
use pbx_soap::records::AnyInfo;
use pbx_soap::sim::{Directory, Identity, Model, SimConfig};

const USERS: usize = 10_000;

/// The simulated PBX and its monitoring session.
struct Pbx {
    model: Model,
    session: i32,
    /// The next call cycle's first user (its index among the users).
    next: usize,
}

/// The gateway's side: a bridge and the registry it feeds.
struct Mirror {
    bridge: Bridge,
    registry: Registry,
    pbx: Arc<str>,
}

/// The start-up of a link: the user dump, one `UserInitialize` per line, every line in
/// service and copied into the registry.
fn start() -> (Pbx, Mirror) {
    let mut model = Model::new(SimConfig::default(), Directory::generated(USERS));
    let (session, _) = model
        .initialize("_TAPI_", InitializeFlags::default(), Identity::Admin, None)
        .expect("session");
    let mut bridge = Bridge::new(BridgeSettings::named("bench"), 1);
    for batch in drain(&mut model, session) {
        for info in &batch.user {
            bridge.on_user_info(SiteId::MASTER, info);
        }
    }
    let objects: Vec<String> = bridge.objects().map(|object| object.cn.clone()).collect();
    for cn in objects {
        for (device, hw) in bridge.monitored_devices(&cn) {
            let handle = model
                .user_initialize(session, &cn, false, false, hw.as_deref().unwrap_or(""))
                .expect("session");
            bridge.bind_handle(SiteId::MASTER, handle, device);
        }
    }
    assert_eq!(bridge.line_count(), USERS, "every user is a line");
    let mut mirror = Mirror {
        bridge,
        registry: Registry::new(4096),
        pbx: Arc::from("bench"),
    };
    for batch in drain(&mut model, session) {
        mirror.apply(&batch, Instant::now());
    }
    mirror.bridge.site_up(SiteId::MASTER);
    mirror.bridge.take_touched();
    mirror.registry.sync_all(&mirror.pbx, &mirror.bridge);
    let pbx = Pbx {
        model,
        session,
        next: 0,
    };
    (pbx, mirror)
}

impl Pbx {
    /// The poll answers of the next call cycle.
    fn call_cycle(&mut self) -> Vec<AnyInfo> {
        let from = (10_001 + self.next % (USERS - 1)).to_string();
        let to = (10_002 + self.next % (USERS - 1)).to_string();
        self.next += 2;
        let now = Duration::ZERO;
        let call = self.model.dial(&from, &to, now).expect("dial");
        let mut batches = drain(&mut self.model, self.session);
        self.model.answer(call, &to, now).expect("answer");
        batches.extend(drain(&mut self.model, self.session));
        self.model.hangup(call, &from, now).expect("hang up");
        batches.extend(drain(&mut self.model, self.session));
        batches
    }
}

impl Mirror {
    /// What a link does with one poll answer; returns the number of events.
    fn apply(&mut self, batch: &AnyInfo, now: Instant) -> usize {
        let mut events = Vec::new();
        for info in &batch.user {
            events.extend(self.bridge.on_user_info(SiteId::MASTER, info).0);
        }
        for record in &batch.call {
            events.extend(self.bridge.on_call_info(SiteId::MASTER, record, now));
        }
        events.extend(self.bridge.finish_batch());
        let touched = self.bridge.take_touched();
        let count = events.len();
        self.registry
            .sync_from(&self.pbx, &self.bridge, &touched.lines, &touched.calls);
        self.registry.publish(events);
        count
    }
}

/// Every poll answer the model has for the session now.
fn drain(model: &mut Model, session: i32) -> Vec<AnyInfo> {
    let mut batches = Vec::new();
    loop {
        let batch = model.poll(session).expect("session");
        if batch.is_empty() {
            return batches;
        }
        batches.push(batch);
    }
}

fn update(c: &mut Criterion) {
    let (mut pbx, mut mirror) = start();
    let first = pbx.call_cycle();
    let records: usize = first.iter().map(|batch| batch.call.len()).sum();
    let events: usize = first
        .iter()
        .map(|batch| mirror.apply(batch, Instant::now()))
        .sum();
    assert!(
        records > 0 && events > 0,
        "a call cycle produces records and events"
    );
    let mut group = c.benchmark_group("registry");
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(records as u64));
    group.bench_function("call_cycle_10k_lines", |b| {
        b.iter_batched(
            || pbx.call_cycle(),
            |batches| {
                let now = Instant::now();
                let mut events = 0;
                for batch in &batches {
                    events += mirror.apply(batch, now);
                }
                black_box(events)
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
    assert_eq!(
        mirror.registry.call_count(),
        0,
        "every call cycle ends its call"
    );
}

criterion_group!(benches, update);
criterion_main!(benches);
