//! Event fan-out: an event reaches exactly the connections that monitor its device, every
//! monitor of such a connection, and a slow connection costs nobody else an event.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use csta::events::{CstaEvent, Event};
use csta::ids::MonitorCrossRefId;
use csta::message::Message;
use csta::monitoring::MonitorStop;
use csta::system::SystemStatus;
use csta::types::SystemStatusValue;
use gateway::client::CstaClient;
use gateway::registry::Registry;
use tests::SimGateway;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(5);

/// Waits until `condition` holds. The gateway signals nothing when a connection task has
/// ended, so this polls, for at most five seconds.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..500 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never: {what}");
}

async fn stop(client: &CstaClient, cross_ref: &MonitorCrossRefId) {
    let stop = MonitorStop {
        monitor_cross_ref_id: cross_ref.clone(),
        extensions: None,
    };
    let answer = client.request(stop.into()).await.unwrap();
    assert!(
        matches!(answer, Message::MonitorStopResponse(_)),
        "{answer:?}"
    );
}

fn ends_a_leg(event: &Event) -> bool {
    matches!(event, Event::ConnectionCleared(_) | Event::CallCleared(_))
}

/// The events of one call at a device, read until the device's leg ended.
async fn one_call(client: &mut CstaClient) -> Vec<CstaEvent> {
    read_until(client, ends_a_leg).await
}

/// The events at a device up to the first that `last` accepts.
async fn read_until(client: &mut CstaClient, last: impl Fn(&Event) -> bool) -> Vec<CstaEvent> {
    let mut events = Vec::new();
    loop {
        let event = client
            .next_event(WAIT)
            .await
            .unwrap_or_else(|| panic!("the call did not end: {events:#?}"));
        let done = last(&event.event);
        events.push(event);
        if done {
            return events;
        }
    }
}

/// Places a call that `from` hangs up, and reads the events up to the first that `last`
/// accepts: all for `monitor`.
async fn call_seen_by(
    setup: &SimGateway,
    client: &mut CstaClient,
    (from, to): (&str, &str),
    monitor: &MonitorCrossRefId,
    last: impl Fn(&Event) -> bool,
) -> Vec<CstaEvent> {
    let call = setup.sim.dial(from, to).unwrap();
    setup.sim.hangup(call, from).unwrap();
    let events = read_until(client, last).await;
    assert!(
        events
            .iter()
            .all(|event| &event.monitor_cross_ref_id == monitor),
        "{events:#?}"
    );
    events
}

/// Reads whole messages from a raw socket until nothing arrives for 300 ms (at most 20 s).
async fn read_until_quiet(
    socket: &mut tokio::net::TcpStream,
    buffer: &mut Vec<u8>,
) -> Vec<Message> {
    let mut chunk = vec![0u8; 64 * 1024];
    let mut messages = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::time::Instant::now() < deadline {
        let Ok(read) =
            tokio::time::timeout(Duration::from_millis(300), socket.read(&mut chunk)).await
        else {
            break;
        };
        let count = read.expect("the socket works");
        assert!(count > 0, "the server closed the connection");
        buffer.extend_from_slice(&chunk[..count]);
        while let Ok(Some(frame)) = csta::frame::decode(buffer, csta::frame::MAX_FRAME_LEN) {
            let len = frame.len;
            messages.push(
                Message::decode(frame.body)
                    .expect("the server sends valid XML")
                    .message,
            );
            buffer.drain(..len);
        }
    }
    messages
}

fn watchers(registry: &Registry, devices: &[&str]) -> Vec<usize> {
    devices
        .iter()
        .map(|device| registry.watchers(device))
        .collect()
}

#[tokio::test]
async fn two_monitors_of_a_device_on_one_connection_get_every_event_and_leave_nothing_behind() {
    let setup = SimGateway::start("").await;
    let registry = setup.gateway.gateway.registry();
    let mut client = setup.client().await;
    let first = client.monitor("201").await.unwrap();
    let second = client.monitor("201").await.unwrap();
    assert_ne!(first, second);
    assert_eq!(registry.watchers("201"), 1, "one connection watches once");
    let other = setup.client().await;
    other.monitor("201").await.unwrap();
    other.monitor("202").await.unwrap();
    assert_eq!(watchers(registry, &["201", "202"]), [2, 1]);

    // Each event comes once per monitor, in monitor order, before the next event.
    let call = setup.sim.dial("201", "202").unwrap();
    setup.sim.hangup(call, "201").unwrap();
    let mut pairs = 0;
    loop {
        let a = client.next_event(WAIT).await.expect("an event");
        let b = client.next_event(WAIT).await.expect("the same event again");
        assert_eq!(
            (&a.monitor_cross_ref_id, &b.monitor_cross_ref_id),
            (&first, &second)
        );
        assert_eq!(a.event, b.event);
        pairs += 1;
        if ends_a_leg(&a.event) {
            break;
        }
    }
    assert!(pairs >= 2, "a call shows more than its end");

    // The device stays watched while one monitor of the connection is left.
    stop(&client, &first).await;
    assert_eq!(watchers(registry, &["201", "202"]), [2, 1]);
    call_seen_by(&setup, &mut client, ("201", "202"), &second, ends_a_leg).await;
    stop(&client, &second).await;
    assert_eq!(watchers(registry, &["201", "202"]), [1, 1]);

    // A connection that ends takes its watches along.
    drop(other);
    eventually("the closed connection watches nothing", || {
        watchers(registry, &["201", "202"]) == [0, 0]
    })
    .await;
}

#[tokio::test]
async fn a_device_monitored_after_another_stopped_gets_its_own_events_and_no_others() {
    let setup = SimGateway::start("").await;
    let mut client = setup.client().await;
    let stopped = client.monitor("201").await.unwrap();
    let kept = client.monitor("202").await.unwrap();
    stop(&client, &stopped).await;
    // 203 takes the place 201 had among the connection's monitors.
    let next = client.monitor("203").await.unwrap();
    let mut reference = setup.client().await;
    reference.monitor("203").await.unwrap();

    let cleared = |event: &Event| matches!(event, Event::CallCleared(_));
    let events = call_seen_by(&setup, &mut client, ("201", "203"), &next, cleared).await;
    let expected = read_until(&mut reference, cleared).await;
    assert_eq!(
        events.iter().map(|event| &event.event).collect::<Vec<_>>(),
        expected
            .iter()
            .map(|event| &event.event)
            .collect::<Vec<_>>(),
        "exactly 203's events"
    );

    call_seen_by(&setup, &mut client, ("202", "204"), &kept, ends_a_leg).await;
}

#[tokio::test]
async fn an_event_at_an_unmonitored_device_costs_no_delivery() {
    let setup = SimGateway::start("").await;
    let registry = setup.gateway.gateway.registry();
    let mut client = setup.client().await;
    let cross_ref = client.monitor("201").await.unwrap();
    let (published, deliveries) = (registry.published(), registry.deliveries());

    let unwatched = setup.sim.dial("203", "204").unwrap();
    setup.sim.hangup(unwatched, "203").unwrap();
    let watched = setup.sim.dial("201", "205").unwrap();
    setup.sim.hangup(watched, "201").unwrap();
    let mut received = one_call(&mut client).await.len() as u64;

    // Events are published in order: the unwatched call's are all out by now, and every
    // delivery since then was one of 201's, read by the only subscriber.
    let delivered = registry.deliveries() - deliveries;
    while received < delivered {
        let event = client
            .next_event(WAIT)
            .await
            .unwrap_or_else(|| panic!("{received} of {delivered} deliveries read"));
        assert_eq!(event.monitor_cross_ref_id, cross_ref);
        received += 1;
    }
    assert!(
        registry.published() - published > delivered,
        "events at 203, 204 and 205 were published ({} in all) but not delivered ({delivered})",
        registry.published() - published
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_told_while_a_fast_one_on_the_same_devices_loses_nothing() {
    let setup = SimGateway::start("queue = 512").await;
    let registry = setup.gateway.gateway.registry();
    let devices: Vec<String> = (201..=209).map(|n| n.to_string()).collect();

    // The slow client: a tiny receive buffer, the device list (so it follows the list's
    // changes), ten monitors per device, and it does not read.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut slow = socket.connect(setup.gateway.addr("csta")).await.unwrap();
    let mut frame = Vec::new();
    csta::frame::encode_message(
        csta::ids::InvokeId::new(1000).unwrap(),
        &csta::system::GetSwitchingFunctionDevices::default().into(),
        &csta::edition::Edition::Ed3,
        &mut frame,
    )
    .unwrap();
    slow.write_all(&frame).await.unwrap();
    let mut invoke = 0;
    for device in &devices {
        for _ in 0..10 {
            invoke += 1;
            let start = csta::monitoring::MonitorStart::device(
                csta::ids::DeviceId::new(device.as_str()).unwrap(),
            );
            let mut frame = Vec::new();
            csta::frame::encode_message(
                csta::ids::InvokeId::new(invoke).unwrap(),
                &start.into(),
                &csta::edition::Edition::Ed3,
                &mut frame,
            )
            .unwrap();
            slow.write_all(&frame).await.unwrap();
        }
    }
    // The fast client monitors each device once and reads all the time.
    let mut fast = setup.client().await;
    for device in &devices {
        fast.monitor(device).await.unwrap();
    }
    eventually("both clients watch every device", || {
        devices.iter().all(|device| registry.watchers(device) == 2)
    })
    .await;
    let published = registry.published();
    let read = Arc::new(AtomicU64::new(0));
    let notices = Arc::new(AtomicU64::new(0));
    let reader = {
        let (read, notices) = (Arc::clone(&read), Arc::clone(&notices));
        tokio::spawn(async move {
            while let Some(message) = fast.next_incoming().await {
                match message {
                    Message::Event(_) => {
                        read.fetch_add(1, Ordering::Relaxed);
                    }
                    Message::SystemStatus(SystemStatus {
                        system_status: SystemStatusValue::MessagesLost,
                        ..
                    }) => {
                        notices.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
            }
        })
    };

    // Calls between the monitored devices only: every event published is one the fast client
    // must read. Far more event bytes for the slow client than the sockets buffer.
    for round in 0..400 {
        let from = &devices[round % 9];
        let to = &devices[(round + 4) % 9];
        let call = setup.sim.dial(from, to).unwrap();
        setup.sim.hangup(call, from).unwrap();
    }
    let mut settled = false;
    for _ in 0..2000 {
        let expected = registry.published() - published;
        if setup.sim.queued_records() == 0 && read.load(Ordering::Relaxed) == expected {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        settled,
        "the fast client read {} of {} events",
        read.load(Ordering::Relaxed),
        registry.published() - published
    );
    assert_eq!(
        notices.load(Ordering::Relaxed),
        0,
        "the fast client lost nothing"
    );

    // The slow client reads what was queued for it; the next event that finds room comes
    // after the loss report.
    let mut buffer = Vec::new();
    let backlog = read_until_quiet(&mut slow, &mut buffer).await;
    let expected = (registry.published() - published) * 10;
    let read_first = backlog
        .iter()
        .filter(|message| matches!(message, Message::Event(_)))
        .count() as u64;
    assert!(
        read_first < expected,
        "the slow client lost events: {read_first} of {expected} read"
    );
    let call = setup.sim.dial("201", "202").unwrap();
    setup.sim.hangup(call, "201").unwrap();
    let after = read_until_quiet(&mut slow, &mut buffer).await;
    assert!(
        matches!(
            after.first(),
            Some(Message::SystemStatus(SystemStatus {
                system_status: SystemStatusValue::MessagesLost,
                ..
            }))
        ),
        "the loss report comes first: {:?}",
        after.first()
    );
    assert!(
        matches!(after.get(1), Some(Message::SwFunctionDevicesChanged(_))),
        "then the advice to list the devices again (a change may have been lost): {:?}",
        after.get(1)
    );
    assert!(
        after.len() > 2
            && after[2..]
                .iter()
                .all(|message| matches!(message, Message::Event(_))),
        "then the new call's events"
    );
    reader.abort();
}
