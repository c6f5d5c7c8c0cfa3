//! Simulator speed with a large PBX (`Directory::generated(20_000)`, every user monitored by
//! one session): the pure model's call cycle and initial dump, and one call step delivered
//! over HTTP to a long-polling client, and the client's Poll throughput over HTTP. Throughput is printed per call (`elem/s`) or per
//! record. Targets: the model runs at least 10,000 full call cycles/s, and the HTTP path adds
//! well under a millisecond per record batch, so the simulator never limits the gateway's
//! benchmarks.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use pbx_soap::client::{Client, Config};
use pbx_soap::envelope::InitializeFlags;
use pbx_soap::sim::{Directory, Identity, Model, Sim, SimConfig};

const USERS: usize = 20_000;

/// A model with every user monitored by one session (as the gateway does).
fn monitored_model() -> (Model, i32) {
    let mut model = Model::new(SimConfig::default(), Directory::generated(USERS));
    let (session, _) = model
        .initialize("_TAPI_", InitializeFlags::default(), Identity::Admin, None)
        .expect("session");
    for index in 1..=USERS {
        let handle = model
            .user_initialize(session, &format!("User {index:05}"), false, false, "")
            .expect("session");
        assert_ne!(handle, 0);
    }
    drain(&mut model, session);
    (model, session)
}

fn drain(model: &mut Model, session: i32) -> usize {
    let mut records = 0;
    loop {
        let batch = model.poll(session).expect("session");
        if batch.is_empty() {
            return records;
        }
        records += batch.user.len() + batch.call.len();
    }
}

fn model(c: &mut Criterion) {
    let mut group = c.benchmark_group("model");
    group.measurement_time(Duration::from_secs(5));
    let (mut model, session) = monitored_model();
    let mut index = 0_usize;
    group.throughput(Throughput::Elements(1));
    group.bench_function("call_cycle_20k_monitored", |b| {
        b.iter(|| {
            // Dial, answer, hang up between changing pairs: 11 call records and 5 UserInfos.
            let from = 10_001 + index % (USERS - 1);
            let to = from + 1;
            index += 2;
            let now = Duration::ZERO;
            let call = model
                .dial(&from.to_string(), &to.to_string(), now)
                .expect("dial");
            model.answer(call, &to.to_string(), now).expect("answer");
            model.hangup(call, &from.to_string(), now).expect("hangup");
            black_box(drain(&mut model, session))
        });
    });
    group.throughput(Throughput::Elements(USERS as u64 + 3));
    group.sample_size(10);
    group.bench_function("initialize_dump_20k", |b| {
        b.iter(|| {
            let (new, _) = model
                .initialize("_TAPI_", InitializeFlags::default(), Identity::Admin, None)
                .expect("session");
            let records = drain(&mut model, new);
            model.end(new);
            black_box(records)
        });
    });
    group.finish();
}

fn http(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (sim, client, session) = runtime.block_on(async {
        let sim = Sim::start(SimConfig::default(), Directory::generated(USERS))
            .await
            .expect("simulator");
        let client = Client::new(Config::new(
            sim.url().parse().expect("url"),
            "admin",
            "ip800",
        ))
        .expect("client");
        let session = client
            .initialize("_TAPI_", "bench")
            .await
            .expect("initialize");
        for index in 1..=100 {
            client
                .user_initialize(
                    session.handle,
                    &format!("User {index:05}"),
                    false,
                    false,
                    "",
                )
                .await
                .expect("handle");
        }
        while !client.poll(session.handle).await.expect("poll").is_empty() {}
        (sim, client, session)
    });
    let mut group = c.benchmark_group("http");
    group.throughput(Throughput::Elements(1));
    group.bench_function("step_to_polled_records", |b| {
        b.iter(|| {
            runtime.block_on(async {
                // One phone-side step and the long poll that delivers its records.
                let call = sim.dial("10001", "10002").expect("dial");
                let mut records = client.poll(session.handle).await.expect("poll").call.len();
                sim.hangup(call, "10001").expect("hangup");
                records += client.poll(session.handle).await.expect("poll").call.len();
                black_box(records)
            })
        });
    });
    // Poll throughput: calls made while nobody polls, then drained by back-to-back Polls over
    // HTTP (decode included); only the draining is timed.
    let cycle = |sim: &pbx_soap::sim::SimHandle, index: usize| {
        let from = 10_001 + (index * 2) % 98;
        let (from, to) = (from.to_string(), (from + 1).to_string());
        let call = sim.dial(&from, &to).expect("dial");
        sim.answer(call, &to).expect("answer");
        sim.hangup(call, &from).expect("hangup");
    };
    cycle(&sim, 0);
    let per_cycle = sim.queued_records();
    runtime.block_on(async {
        let mut left = per_cycle;
        while left > 0 {
            let batch = client.poll(session.handle).await.expect("poll");
            left = left.saturating_sub(batch.call.len() + batch.user.len());
        }
    });
    const CYCLES: usize = 200;
    group.throughput(Throughput::Elements((CYCLES * per_cycle) as u64));
    group.sample_size(20);
    group.bench_function("poll_throughput", |b| {
        b.iter_custom(|iterations| {
            let mut timed = Duration::ZERO;
            for _ in 0..iterations {
                for index in 0..CYCLES {
                    cycle(&sim, index);
                }
                let expected = sim.queued_records();
                let started = std::time::Instant::now();
                runtime.block_on(async {
                    let mut received = 0;
                    while received < expected {
                        let batch = client.poll(session.handle).await.expect("poll");
                        received += black_box(batch.call.len() + batch.user.len());
                    }
                });
                timed += started.elapsed();
            }
            timed
        });
    });
    group.finish();
    runtime.block_on(sim.shutdown());
}

criterion_group!(benches, model, http);
criterion_main!(benches);
