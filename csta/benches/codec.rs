//! Throughput of the codec on the two messages a gateway handles most: a typical
//! `DeliveredEvent` (about 600 bytes) and a `MakeCall` request, and the fan-out path (an
//! event framed per monitor from a template instead of encoded again). Criterion prints the
//! figures as elements (messages) per second.

// Benchmarks are built by the current toolchain only, never by the Rust 1.63 Windows build.
#![allow(clippy::incompatible_msrv)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use csta::call_control::MakeCall;
use csta::events::{DeliveredEvent, Event};
use csta::types::*;
use csta::{CallId, ConnectionId, DeviceId, Edition, InvokeId, Message, MonitorCrossRefId, frame};

fn device(text: &str) -> DeviceId {
    DeviceId::new(text).unwrap()
}

/// A typical event (`full` adds `servicesPermitted` and the network calling device).
fn delivered(full: bool) -> Event {
    Event::Delivered(DeliveredEvent {
        connection: ConnectionId::call_at(
            CallId::new("FF0001000000000051A2C3D40E210000").unwrap(),
            device("201"),
        ),
        alerting_device: DeviceRef::Identifier(device("201")),
        calling_device: DeviceRef::Identifier(device("+4970319876543")),
        called_device: DeviceRef::Identifier(device("201")),
        last_redirection_device: Some(RedirectionDevice::NotRequired),
        originating_nid_connection: None,
        local_connection_info: Some(LocalConnectionState::Alerting),
        correlator_data: None,
        user_data: None,
        cause: EventCause::NewCall,
        services_permitted: full.then(|| ServicesPermitted {
            call_control: [
                CallControlService::AnswerCall,
                CallControlService::DeflectCall,
            ]
            .into_iter()
            .collect(),
            ..ServicesPermitted::default()
        }),
        network_calling_device: full.then(|| DeviceRef::Identifier(device("+4970319876543"))),
        network_called_device: None,
        associated_calling_device: None,
        associated_called_device: None,
        call_linkage_data: None,
        extensions: None,
    })
}

fn codec(c: &mut Criterion) {
    let edition = Edition::Ed3;
    let monitor = MonitorCrossRefId::new("1169730059").unwrap();
    let event = delivered(false);
    let mut event_bytes = Vec::new();
    csta::encode_event(&monitor, &event, &edition, &mut event_bytes);
    let full_event = delivered(true);
    let mut full_event_bytes = Vec::new();
    csta::encode_event(&monitor, &full_event, &edition, &mut full_event_bytes);
    let make_call = Message::from(MakeCall::new(device("201"), device("+4970319876543")));
    let make_call_bytes = make_call.to_bytes(&edition);
    println!(
        "DeliveredEvent: {} bytes, full DeliveredEvent: {} bytes, MakeCall: {} bytes",
        event_bytes.len(),
        full_event_bytes.len(),
        make_call_bytes.len()
    );

    let mut group = c.benchmark_group("csta");
    group.throughput(Throughput::Elements(1));
    group.bench_function("decode DeliveredEvent", |b| {
        b.iter(|| Message::decode(black_box(&event_bytes)).unwrap())
    });
    group.bench_function("decode full DeliveredEvent", |b| {
        b.iter(|| Message::decode(black_box(&full_event_bytes)).unwrap())
    });
    let mut out = Vec::with_capacity(1024);
    group.bench_function("encode DeliveredEvent (framed)", |b| {
        b.iter(|| {
            out.clear();
            frame::encode_event_frame(&monitor, black_box(&event), &edition, &mut out).unwrap();
        })
    });
    // Fan-out: one event to many monitors costs one template plus a copy per monitor.
    let template = frame::EventTemplate::new(&full_event, &edition).unwrap();
    group.bench_function("frame full DeliveredEvent from a template", |b| {
        b.iter(|| {
            out.clear();
            template.write_frame(black_box(&monitor), &mut out).unwrap();
        })
    });
    group.bench_function("encode full DeliveredEvent (framed)", |b| {
        b.iter(|| {
            out.clear();
            frame::encode_event_frame(&monitor, black_box(&full_event), &edition, &mut out)
                .unwrap();
        })
    });
    group.bench_function("template of full DeliveredEvent", |b| {
        b.iter(|| frame::EventTemplate::new(black_box(&full_event), &edition).unwrap())
    });
    group.bench_function("decode MakeCall", |b| {
        b.iter(|| Message::decode(black_box(&make_call_bytes)).unwrap())
    });
    group.bench_function("encode MakeCall (framed)", |b| {
        b.iter(|| {
            out.clear();
            let invoke_id = InvokeId::new(1).unwrap();
            frame::encode_message(invoke_id, black_box(&make_call), &edition, &mut out).unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
