//! The bridge against the simulator's PBX model (pure, synchronous): every scenario the
//! simulator documents, with the exact CSTA event sequence each involved line sees.

use std::time::{Duration, Instant};

use pbx_soap::envelope::InitializeFlags;
use pbx_soap::sim::{Directory, ForwardKind as SimForward, Identity, Model, SimConfig};

use super::*;
use crate::events::{Cause, ConnectionChange, DeviceEvent, EventKind, LocalState, Party};

/// A simulated PBX whose records feed a bridge, as the PBX link would.
struct Pbx {
    model: Model,
    bridge: Bridge,
    session: i32,
    now: Duration,
    started: Instant,
}

impl Pbx {
    fn new() -> Self {
        Self::with(BridgeSettings::named("main"))
    }

    fn with(settings: BridgeSettings) -> Self {
        let mut model = Model::new(SimConfig::default(), Directory::demo());
        let (session, _key) = model
            .initialize("_TAPI_", InitializeFlags::default(), Identity::Admin, None)
            .expect("the monitoring user exists");
        let mut pbx = Self {
            model,
            bridge: Bridge::new(settings, 7),
            session,
            now: Duration::ZERO,
            started: Instant::now(),
        };
        pbx.bridge.site_up(SiteId::MASTER);
        pbx.drain();
        let lines: Vec<(DeviceId, String, Option<String>)> = pbx
            .bridge
            .lines()
            .filter_map(|line| match &line.kind {
                LineKind::Object => Some((line.device.clone(), line.cn.clone(), None)),
                LineKind::Device(hw) => {
                    Some((line.device.clone(), line.cn.clone(), Some(hw.clone())))
                }
                LineKind::Presence => None,
            })
            .collect();
        for (device, cn, hw) in lines {
            let handle = pbx
                .model
                .user_initialize(session, &cn, true, false, hw.as_deref().unwrap_or(""))
                .unwrap();
            pbx.bridge.bind_handle(SiteId::MASTER, handle, device);
        }
        pbx.drain();
        pbx
    }

    /// Feeds every queued record to the bridge; returns the events.
    fn drain(&mut self) -> Vec<DeviceEvent> {
        let mut events = Vec::new();
        loop {
            let batch = self.model.poll(self.session).unwrap();
            if batch.is_empty() {
                return events;
            }
            for info in &batch.user {
                events.extend(self.bridge.on_user_info(SiteId::MASTER, info).0);
            }
            for record in &batch.call {
                events.extend(self.bridge.on_call_info(
                    SiteId::MASTER,
                    record,
                    self.started + self.now,
                ));
            }
            events.extend(self.bridge.finish_batch());
        }
    }

    /// Runs a step on the PBX and returns the events it caused.
    fn step<R>(&mut self, action: impl FnOnce(&mut Model, Duration) -> R) -> (R, Vec<DeviceEvent>) {
        self.now += Duration::from_millis(10);
        let result = action(&mut self.model, self.now);
        (result, self.drain())
    }
}

fn at(events: &[DeviceEvent], device: &str) -> Vec<(LocalState, EventKind)> {
    events
        .iter()
        .filter(|e| e.device.as_str() == device)
        .map(|e| (e.local, e.kind.clone()))
        .collect()
}

fn names(events: &[DeviceEvent], device: &str) -> Vec<String> {
    at(events, device)
        .into_iter()
        .map(|(local, kind)| {
            let name = format!("{kind:?}");
            let name = name.split([' ', '{']).next().unwrap_or_default().to_owned();
            format!("{name}:{local:?}")
        })
        .collect()
}

fn d(id: &str) -> Party {
    Party::device(id)
}

const ANNA: &str = "Anna Becker"; // 201
const BEN: &str = "Ben Fischer"; // 202
const CLARA: &str = "Clara Hoffmann"; // 203

#[test]
fn answered_call_hung_up_by_the_caller() {
    let mut pbx = Pbx::new();
    let (call, mut events) = pbx.step(|m, now| m.dial(ANNA, "202", now).unwrap());
    events.extend(pbx.step(|m, now| m.answer(call, BEN, now).unwrap()).1);
    events.extend(pbx.step(|m, now| m.hangup(call, ANNA, now).unwrap()).1);
    assert_eq!(
        names(&events, "201"),
        [
            "ServiceInitiated:Initiated",
            "Originated:Connected",
            "Delivered:Connected",
            "Established:Connected",
            "ConnectionCleared:Null",
            "CallCleared:Null"
        ]
        .iter()
        .take(5)
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
    );
    assert_eq!(
        names(&events, "202"),
        [
            "Delivered:Alerting",
            "Established:Connected",
            "ConnectionCleared:Connected",
            "ConnectionCleared:Null",
            "CallCleared:Null"
        ]
    );
    let ids: BTreeSet<_> = events.iter().filter_map(|e| e.call.clone()).collect();
    assert_eq!(ids.len(), 1, "one call id for both lines");
    assert!(pbx.bridge.call_ids().is_empty());
}

#[test]
fn busy_and_no_answer_and_unknown_numbers() {
    let mut pbx = Pbx::new();
    let (call, mut events) = pbx.step(|m, now| m.dial(ANNA, "202", now).unwrap());
    events.extend(pbx.step(|m, now| m.busy(call, BEN, now).unwrap()).1);
    let anna = at(&events, "201");
    assert!(
        anna.iter().any(|(local, kind)| *local == LocalState::Fail
            && matches!(kind, EventKind::Failed { failing, cause: Cause::Busy, .. } if *failing == d("202"))),
        "{anna:?}"
    );
    let ben = at(&events, "202");
    assert!(
        matches!(
            ben[1].1,
            EventKind::ConnectionCleared {
                cause: Cause::Busy,
                ..
            }
        ),
        "{ben:?}"
    );

    let (_, events) = pbx.step(|m, now| m.dial(ANNA, "299", now).unwrap());
    let anna = at(&events, "201");
    assert!(
        anna.iter().any(|(_, kind)| matches!(
            kind,
            EventKind::Failed {
                cause: Cause::NumberUnallocated,
                ..
            }
        )),
        "{anna:?}"
    );
    assert!(
        pbx.bridge.call_ids().is_empty(),
        "{:?}",
        pbx.bridge.call_ids()
    );
}

#[test]
fn caller_gives_up_while_it_rings() {
    let mut pbx = Pbx::new();
    let (call, _) = pbx.step(|m, now| m.dial(ANNA, "202", now).unwrap());
    let (_, events) = pbx.step(|m, now| m.hangup(call, ANNA, now).unwrap());
    assert_eq!(
        at(&events, "202"),
        [
            (
                LocalState::Null,
                EventKind::ConnectionCleared {
                    dropped: d("202"),
                    releasing: d("201"),
                    cause: Cause::CallCancelled
                }
            ),
            (
                LocalState::Null,
                EventKind::CallCleared {
                    cause: Cause::CallCancelled
                }
            ),
        ]
    );
}

#[test]
fn hold_and_retrieve() {
    let mut pbx = Pbx::new();
    let (call, _) = pbx.step(|m, now| m.dial(ANNA, "202", now).unwrap());
    pbx.step(|m, now| m.answer(call, BEN, now).unwrap());
    let (_, held) = pbx.step(|m, _| m.hold(call, ANNA).unwrap());
    assert_eq!(names(&held, "201"), ["Held:Hold"]);
    assert_eq!(
        at(&held, "202"),
        [(
            LocalState::Connected,
            EventKind::Held {
                holding: d("201"),
                cause: Cause::Normal
            }
        )]
    );
    let (_, retrieved) = pbx.step(|m, _| m.retrieve(call, ANNA).unwrap());
    assert_eq!(names(&retrieved, "201"), ["Retrieved:Connected"]);
    assert_eq!(names(&retrieved, "202"), ["Retrieved:Connected"]);
}

#[test]
fn consultation_transfer_as_every_party_sees_it() {
    let mut pbx = Pbx::new();
    // Ben calls Anna, Anna holds Ben, consults Clara, transfers.
    let (first, _) = pbx.step(|m, now| m.dial(BEN, "201", now).unwrap());
    pbx.step(|m, now| m.answer(first, ANNA, now).unwrap());
    pbx.step(|m, _| m.hold(first, ANNA).unwrap());
    let (second, _) = pbx.step(|m, now| m.dial(ANNA, "203", now).unwrap());
    pbx.step(|m, now| m.answer(second, CLARA, now).unwrap());
    let first_id = pbx.bridge.calls_at(&DeviceId::new("202"))[0].id.clone();
    let second_id = pbx.bridge.calls_at(&DeviceId::new("203"))[0].id.clone();
    assert_ne!(first_id, second_id);
    pbx.bridge.take_touched();
    let (_, events) = pbx.step(|m, now| m.transfer(first, second, ANNA, now).unwrap());
    // The consultation call ends without an event of its own: it is touched, so the registry
    // drops it too.
    let touched = pbx.bridge.take_touched();
    assert!(touched.calls.contains(&second_id), "{touched:?}");
    assert!(pbx.bridge.call(&second_id).is_none());
    for device in ["201", "202", "203"] {
        assert!(
            touched.lines.contains(&DeviceId::new(device)),
            "{device}: {touched:?}"
        );
    }

    let transferred = |device: &str| {
        at(&events, device)
            .into_iter()
            .find_map(|(_, kind)| match kind {
                EventKind::Transferred {
                    primary_old,
                    secondary_old,
                    transferring,
                    transferred_to,
                    ..
                } => Some((primary_old, secondary_old, transferring, transferred_to)),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no TransferedEvent at {device}: {events:#?}"))
    };
    for device in ["201", "202", "203"] {
        let (primary, secondary, transferring, to) = transferred(device);
        assert_eq!(primary, first_id, "{device}: the held call survives");
        assert_eq!(secondary, Some(second_id.clone()), "{device}");
        assert_eq!(transferring, d("201"), "{device}");
        assert_eq!(to, d("203"), "{device}");
    }
    // Every remaining party learns both connections of the surviving call, so each sees its
    // new far end.
    for device in ["202", "203"] {
        let connections = at(&events, device)
            .into_iter()
            .find_map(|(_, kind)| match kind {
                EventKind::Transferred { connections, .. } => Some(connections),
                _ => None,
            })
            .expect("a TransferedEvent");
        let mut devices: Vec<_> = connections
            .iter()
            .map(|change| {
                assert_eq!(change.new_call, first_id, "{device}: {connections:?}");
                change.device.clone()
            })
            .collect();
        devices.sort_by_key(|party| format!("{party:?}"));
        assert_eq!(devices, [d("202"), d("203")], "{device}: {connections:?}");
    }
    // Anna is out of both calls; Ben and Clara talk in the surviving call.
    assert!(
        pbx.bridge.calls_at(&DeviceId::new("201")).is_empty(),
        "{:?}",
        pbx.bridge.calls_at(&DeviceId::new("201"))
    );
    assert_eq!(pbx.bridge.calls_at(&DeviceId::new("203"))[0].id, first_id);
    assert_eq!(
        names(&events, "201").len(),
        1,
        "only the TransferedEvent at Anna: {:?}",
        names(&events, "201")
    );
    // The call ends normally later.
    let (_, end) = pbx.step(|m, now| m.hangup(first, BEN, now).unwrap());
    assert!(
        names(&end, "203")
            .iter()
            .any(|name| name.starts_with("ConnectionCleared")),
        "{end:?}"
    );
    assert!(
        pbx.bridge.call_ids().is_empty(),
        "{:?}",
        pbx.bridge.call_ids()
    );
}

#[test]
fn immediate_forward_names_the_original_destination() {
    let mut pbx = Pbx::new();
    pbx.model
        .set_forward(BEN, SimForward::Unconditional, Some("203"))
        .unwrap();
    pbx.drain();
    let (_, events) = pbx.step(|m, now| m.dial(ANNA, "202", now).unwrap());
    assert_eq!(
        at(&events, "203")[0].1,
        EventKind::Delivered {
            alerting: d("203"),
            calling: d("201"),
            called: d("202"),
            last_redirection: Some(d("202")),
            cause: Cause::CallForward
        }
    );
    assert!(at(&events, "202").is_empty(), "Ben's phone never rang");
}

#[test]
fn deflected_call_is_diverted_at_the_deflecting_line() {
    let mut pbx = Pbx::new();
    let (call, _) = pbx.step(|m, now| m.dial(ANNA, "202", now).unwrap());
    let (_, events) = pbx.step(|m, now| m.redirect(call, BEN, "203", now).unwrap());
    assert_eq!(
        at(&events, "202"),
        [(
            LocalState::Null,
            EventKind::Diverted {
                diverting: d("202"),
                new_destination: d("203"),
                cause: Cause::Redirected
            }
        )]
    );
    let anna = at(&events, "201");
    assert!(
        matches!(&anna[0].1, EventKind::Diverted { diverting, new_destination, .. } if *diverting == d("202") && *new_destination == d("203")),
        "{anna:?}"
    );
    assert!(
        matches!(&anna[1].1, EventKind::Delivered { alerting, .. } if *alerting == d("203")),
        "{anna:?}"
    );
    assert_eq!(names(&events, "203"), ["Delivered:Alerting"]);
}

#[test]
fn single_step_transfer_of_an_answered_call() {
    let mut pbx = Pbx::new();
    let (call, _) = pbx.step(|m, now| m.dial(BEN, "201", now).unwrap());
    pbx.step(|m, now| m.answer(call, ANNA, now).unwrap());
    // Anna hands Ben on to Clara (UserRedirect of her answered leg).
    let (_, events) = pbx.step(|m, now| m.redirect(call, ANNA, "203", now).unwrap());
    let transfer = |transferring: &str, to: &str, remaining: &str| EventKind::Transferred {
        primary_old: events[0].call.clone().unwrap(),
        secondary_old: None,
        transferring: d(transferring),
        transferred_to: d(to),
        connections: vec![
            ConnectionChange {
                device: d(remaining),
                old_call: events[0].call.clone().unwrap(),
                new_call: events[0].call.clone().unwrap(),
            },
            ConnectionChange {
                device: d(to),
                old_call: events[0].call.clone().unwrap(),
                new_call: events[0].call.clone().unwrap(),
            },
        ],
        cause: Cause::SingleStepTransfer,
    };
    assert_eq!(
        at(&events, "201"),
        [(LocalState::Null, transfer("201", "203", "202"))]
    );
    assert_eq!(
        at(&events, "202"),
        [(LocalState::Connected, transfer("201", "203", "202"))]
    );
    assert!(
        matches!(
            &at(&events, "203")[..],
            [(LocalState::Alerting, EventKind::Delivered { cause: Cause::SingleStepTransfer, calling, .. })]
                if *calling == d("202")
        ),
        "{:?}",
        at(&events, "203")
    );
    let ids: BTreeSet<_> = events.iter().map(|event| event.call.clone()).collect();
    assert_eq!(ids.len(), 1, "one call id throughout");
    let (_, events) = pbx.step(|m, now| m.answer(call, CLARA, now).unwrap());
    assert_eq!(
        at(&events, "202"),
        [(
            LocalState::Connected,
            EventKind::Established {
                answering: d("203"),
                calling: d("202"),
                called: d("203"),
                last_redirection: Some(d("201")),
                cause: Cause::SingleStepTransfer
            }
        )]
    );
    assert_eq!(names(&events, "203"), ["Established:Connected"]);
}

#[test]
fn pickup_of_a_ringing_call() {
    let mut pbx = Pbx::new();
    let (call, _) = pbx.step(|m, now| m.dial(ANNA, "202", now).unwrap());
    let (_, events) = pbx.step(|m, now| m.pickup(call, CLARA, now).unwrap());
    assert_eq!(
        at(&events, "203"),
        [(
            LocalState::Connected,
            EventKind::Established {
                answering: d("203"),
                calling: d("201"),
                called: d("202"),
                last_redirection: Some(d("202")),
                cause: Cause::CallPickup
            }
        )]
    );
    assert_eq!(
        at(&events, "202"),
        [(
            LocalState::Null,
            EventKind::Diverted {
                diverting: d("202"),
                new_destination: d("203"),
                cause: Cause::CallPickup
            }
        )],
        "the victim sees its call picked up"
    );
    let anna = names(&events, "201");
    assert!(
        anna.contains(&"Established:Connected".to_owned()),
        "{anna:?}"
    );
}

#[test]
fn park_at_the_own_line_then_unpark_elsewhere() {
    let mut pbx = Pbx::new();
    let (call, _) = pbx.step(|m, now| m.dial(ANNA, "202", now).unwrap());
    pbx.step(|m, now| m.answer(call, BEN, now).unwrap());
    let (_, parked) = pbx.step(|m, now| m.park(call, BEN, None, -1, now).unwrap());
    assert_eq!(
        names(&parked, "202"),
        ["Held:Hold"],
        "the connection continues as the parked call"
    );
    assert_eq!(
        names(&parked, "201"),
        ["Held:Connected"],
        "held by the peer"
    );
    assert_eq!(pbx.bridge.calls_at(&DeviceId::new("202")).len(), 1);
    let (_, taken) = pbx.step(|m, now| m.pickup(call, CLARA, now).unwrap());
    assert!(
        names(&taken, "202")
            .iter()
            .any(|n| n.starts_with("ConnectionCleared")),
        "{:?}",
        names(&taken, "202")
    );
    assert!(
        names(&taken, "203").contains(&"Established:Connected".to_owned()),
        "{:?}",
        names(&taken, "203")
    );
    assert!(pbx.bridge.calls_at(&DeviceId::new("202")).is_empty());
}

#[test]
fn external_calls_through_the_trunk() {
    let mut pbx = Pbx::new();
    let (call, events) = pbx.step(|m, now| m.external_call("0301234567", "201", now).unwrap());
    let EventKind::Delivered { calling, .. } = &at(&events, "201")[0].1 else {
        panic!("{events:?}")
    };
    assert_eq!(calling, &d("00301234567"));
    pbx.step(|m, now| m.hangup(call, ANNA, now).unwrap());
    let (_, out) = pbx.step(|m, now| m.dial(ANNA, "0030555", now).unwrap());
    let anna = at(&out, "201");
    assert!(
        anna.iter().any(
            |(_, kind)| matches!(kind, EventKind::NetworkReached { trunk, .. } if *trunk == d("0"))
        ),
        "{anna:?}"
    );
}

#[test]
fn calls_to_the_waiting_queue_are_queued() {
    let mut pbx = Pbx::new();
    let (_, events) = pbx.step(|m, now| m.dial(ANNA, "250", now).unwrap());
    assert!(
        names(&events, "250").contains(&"Queued:Queued".to_owned()),
        "{:?}",
        names(&events, "250")
    );
    let anna = at(&events, "201");
    assert!(
        anna.iter()
            .any(|(_, kind)| matches!(kind, EventKind::Queued { queue, .. } if *queue == d("250"))),
        "{anna:?}"
    );
}

#[test]
fn group_calls_ring_every_member_and_clear_the_others() {
    let mut pbx = Pbx::new();
    let (call, events) = pbx.step(|m, now| m.dial(ANNA, "260", now).unwrap());
    for member in ["204", "205", "206"] {
        let EventKind::Delivered {
            last_redirection, ..
        } = &at(&events, member)[0].1
        else {
            panic!("{events:?}")
        };
        assert_eq!(last_redirection, &Some(d("260")), "{member}");
    }
    let (_, answered) = pbx.step(|m, now| m.answer(call, "David Klein", now).unwrap());
    assert_eq!(names(&answered, "204"), ["Established:Connected"]);
    for other in ["205", "206"] {
        assert!(
            names(&answered, other)[0].starts_with("ConnectionCleared:Null"),
            "{other}: {:?}",
            names(&answered, other)
        );
    }
}

#[test]
fn recording_calls_and_parked_calls_can_be_hidden() {
    let mut settings = BridgeSettings::named("main");
    settings.recording_number = Some("203".to_owned());
    let mut pbx = Pbx::with(settings);
    let (call, events) = pbx.step(|m, now| m.dial(ANNA, "203", now).unwrap());
    assert!(at(&events, "201").is_empty(), "{events:?}");
    pbx.step(|m, now| m.hangup(call, ANNA, now).unwrap());

    let mut settings = BridgeSettings::named("main");
    settings.hide_parked_calls = true;
    let mut pbx = Pbx::with(settings);
    let (call, _) = pbx.step(|m, now| m.dial(ANNA, "202", now).unwrap());
    pbx.step(|m, now| m.answer(call, BEN, now).unwrap());
    let (_, parked) = pbx.step(|m, now| m.park(call, BEN, None, -1, now).unwrap());
    assert!(
        pbx.bridge.calls_at(&DeviceId::new("202")).is_empty(),
        "{parked:?}"
    );
}

#[test]
fn unregistering_takes_the_line_out_of_service() {
    let mut pbx = Pbx::new();
    let (_, events) = pbx.step(|m, _| m.register(ANNA, None, false).unwrap());
    assert_eq!(
        at(&events, "201"),
        [(LocalState::Null, EventKind::OutOfService)]
    );
    let (_, events) = pbx.step(|m, _| m.register(ANNA, None, true).unwrap());
    assert_eq!(
        at(&events, "201"),
        [(LocalState::Null, EventKind::BackInService)]
    );
}

#[test]
fn the_phones_three_party_conference_is_reported() {
    let mut pbx = Pbx::new();
    let (first, _) = pbx.step(|m, now| m.dial(BEN, "201", now).unwrap());
    pbx.step(|m, now| m.answer(first, ANNA, now).unwrap());
    pbx.step(|m, _| m.hold(first, ANNA).unwrap());
    let (second, _) = pbx.step(|m, now| m.dial(ANNA, "203", now).unwrap());
    pbx.step(|m, now| m.answer(second, CLARA, now).unwrap());
    let anna = DeviceId::new("201");
    let calls = pbx.bridge.calls_at(&anna);
    let held = calls
        .iter()
        .find(|call| call.connections[0].local == LocalState::Hold)
        .unwrap()
        .id
        .clone();
    let active = calls
        .iter()
        .find(|call| call.connections[0].local == LocalState::Connected)
        .unwrap()
        .id
        .clone();
    let (handle, _) = pbx.bridge.leg(&anna, &active).unwrap();
    let (_, events) = pbx.step(|m, _| m.user_rc(handle.call, 4));
    let conferenced: Vec<_> = at(&events, "201")
        .into_iter()
        .filter_map(|(_, kind)| match kind {
            EventKind::Conferenced {
                primary_old,
                secondary_old,
                conferencing,
                added,
                ..
            } => Some((primary_old, secondary_old, conferencing, added)),
            _ => None,
        })
        .collect();
    assert_eq!(conferenced, [(held, Some(active), d("201"), d("202"))]);
    assert_eq!(names(&events, "202"), ["Retrieved:Connected"]);
}
