//! Table tests of the bridge: record sequences in, per-device event sequences out.

use std::time::{Duration, Instant};

use pbx_soap::records::{CallInfo, CallState, Device, Group, Info, Msg, No, PartyRole, UserInfo};

use super::*;
use crate::config::Numbering;
use crate::events::{Cause, DeviceEvent, EventKind, ForwardKind, LocalState, Party};

const ALICE: i32 = 1;
const BOB: i32 = 2;

fn user(cn: &str, e164: &str, kind: &str) -> UserInfo {
    UserInfo {
        active: true,
        cn: cn.to_owned(),
        dn: cn.to_owned(),
        kind: kind.to_owned(),
        e164: e164.to_owned(),
        h323: cn.to_lowercase(),
        state: 1,
        guid: format!("{e164:0>32}"),
        groups: vec![Group {
            group: "tapi".to_owned(),
            active: false,
        }],
        ..UserInfo::default()
    }
}

fn no(role: PartyRole, cn: &str, e164: &str) -> No {
    No {
        kind: role,
        cn: cn.to_owned(),
        dn: cn.to_owned(),
        e164: e164.to_owned(),
        h323: String::new(),
    }
}

struct Rec {
    user: i32,
    call: i32,
    state: i32,
    msg: &'static str,
    no: Vec<No>,
    conf: &'static str,
    cause: Option<i32>,
}

fn rec(
    user: i32,
    call: i32,
    state: i32,
    msg: &'static str,
    peer: (&str, &str),
    conf: &'static str,
) -> Rec {
    Rec {
        user,
        call,
        state,
        msg,
        no: vec![no(PartyRole::Peer, peer.0, peer.1)],
        conf,
        cause: None,
    }
}

impl Rec {
    fn with(mut self, role: PartyRole, cn: &str, e164: &str) -> Self {
        self.no.push(no(role, cn, e164));
        self
    }

    fn cause(mut self, q850: i32) -> Self {
        self.cause = Some(q850);
        self
    }

    fn record(&self) -> CallInfo {
        let mut info = vec![Info::string("conf", self.conf)];
        if let Some(cause) = self.cause {
            info.push(Info::new("cause", cause, "cause"));
        }
        let del = self.msg == "del";
        CallInfo {
            user: self.user,
            call: self.call,
            reg: 0,
            active: !del,
            state: CallState(self.state),
            no: self.no.clone(),
            msg: Msg::parse(self.msg),
            info,
        }
    }
}

struct Fixture {
    bridge: Bridge,
    now: Instant,
}

impl Fixture {
    fn new() -> Self {
        Self::with_settings(BridgeSettings::named("main"))
    }

    fn with_settings(settings: BridgeSettings) -> Self {
        let mut bridge = Bridge::new(settings, 0xabc);
        bridge.site_up(SiteId::MASTER);
        for info in [
            user("Alice", "201", "ep"),
            user("Bob", "202", "ep"),
            user("Carol", "203", "ep"),
            user("Trunk", "0", "gw"),
            user("_TAPI_", "", "ep"),
        ] {
            bridge.on_user_info(SiteId::MASTER, &info);
        }
        bridge.bind_handle(SiteId::MASTER, ALICE, DeviceId::new("201"));
        bridge.bind_handle(SiteId::MASTER, BOB, DeviceId::new("202"));
        bridge.bind_handle(SiteId::MASTER, 3, DeviceId::new("203"));
        Self {
            bridge,
            now: Instant::now(),
        }
    }

    fn feed(&mut self, records: &[Rec]) -> Vec<DeviceEvent> {
        let mut events = Vec::new();
        for record in records {
            self.now += Duration::from_millis(10);
            events.extend(
                self.bridge
                    .on_call_info(SiteId::MASTER, &record.record(), self.now),
            );
        }
        events.extend(self.bridge.finish_batch());
        events
    }
}

/// The events of one device, as (local state, kind) pairs.
fn at(events: &[DeviceEvent], device: &str) -> Vec<(LocalState, EventKind)> {
    events
        .iter()
        .filter(|event| event.device.as_str() == device)
        .map(|event| (event.local, event.kind.clone()))
        .collect()
}

fn d(id: &str) -> Party {
    Party::device(id)
}

#[test]
fn lines_come_from_the_user_dump() {
    let fixture = Fixture::new();
    let devices: Vec<&str> = fixture
        .bridge
        .lines()
        .map(|line| line.device.as_str())
        .collect();
    assert_eq!(
        devices,
        ["201", "202", "203"],
        "gw objects and the monitoring user are no lines"
    );
    let alice = fixture.bridge.line(&DeviceId::new("201")).unwrap();
    assert_eq!(alice.name, "Alice (201)");
    assert_eq!(alice.key, format!("main/{:0>32}", "201"));
    assert!(alice.in_service);
}

#[test]
fn only_arriving_objects_and_registrations_are_applied_before_the_calls_of_a_poll() {
    let mut fixture = Fixture::new();
    let bridge = &fixture.bridge;
    assert!(bridge.user_info_precedes_calls(&user("Dave", "204", "ep")));
    let mut dnd = user("Alice", "201", "ep");
    dnd.presence = Some(pbx_soap::records::Presence {
        activity: Some("dnd".to_owned()),
        ..Default::default()
    });
    assert!(
        !bridge.user_info_precedes_calls(&dnd),
        "presence of a known line"
    );
    let mut gone = user("Alice", "201", "ep");
    gone.active = false;
    assert!(!bridge.user_info_precedes_calls(&gone), "removal");
    let mut unregistered = user("Alice", "201", "ep");
    unregistered.state = 0;
    assert!(!bridge.user_info_precedes_calls(&unregistered));
    fixture.bridge.on_user_info(SiteId::MASTER, &unregistered);
    assert!(
        fixture
            .bridge
            .user_info_precedes_calls(&user("Alice", "201", "ep")),
        "a registration comes before the calls it makes possible"
    );
    assert!(
        !fixture
            .bridge
            .user_info_precedes_calls(&UserInfo::default())
    );
}

#[test]
fn internal_call_answered_and_hung_up_by_the_caller() {
    let mut fixture = Fixture::new();
    let events = fixture.feed(&[
        rec(BOB, 10, 0x01, "r-setup", ("Alice", "201"), "c1"),
        rec(BOB, 10, 0x04, "x-alert", ("Alice", "201"), "c1"),
        rec(ALICE, 20, 0x81, "x-setup", ("Bob", "202"), "c1"),
        rec(ALICE, 20, 0x84, "r-alert", ("Bob", "202"), "c1"),
        rec(ALICE, 20, 0x85, "r-conn", ("Bob", "202"), "c1"),
        rec(BOB, 10, 0x05, "x-conn", ("Alice", "201"), "c1"),
        rec(BOB, 10, 0x07, "r-rel", ("Alice", "201"), "c1").cause(16),
        rec(BOB, 10, 0x07, "del", ("Alice", "201"), "c1"),
        rec(ALICE, 20, 0x86, "x-rel", ("Bob", "202"), "c1").cause(16),
        rec(ALICE, 20, 0x86, "del", ("Bob", "202"), "c1"),
    ]);
    assert_eq!(
        at(&events, "202"),
        [
            (
                LocalState::Initiated,
                EventKind::ServiceInitiated {
                    cause: Cause::NewCall
                }
            ),
            (
                LocalState::Connected,
                EventKind::Originated {
                    calling: d("202"),
                    called: d("201"),
                    cause: Cause::NewCall
                }
            ),
            (
                LocalState::Connected,
                EventKind::Delivered {
                    alerting: d("201"),
                    calling: d("202"),
                    called: d("201"),
                    last_redirection: None,
                    cause: Cause::NewCall
                }
            ),
            (
                LocalState::Connected,
                EventKind::Established {
                    answering: d("201"),
                    calling: d("202"),
                    called: d("201"),
                    last_redirection: None,
                    cause: Cause::NewCall
                }
            ),
            (
                LocalState::Null,
                EventKind::ConnectionCleared {
                    dropped: d("202"),
                    releasing: d("202"),
                    cause: Cause::NormalClearing
                }
            ),
        ]
    );
    assert_eq!(
        at(&events, "201"),
        [
            (
                LocalState::Alerting,
                EventKind::Delivered {
                    alerting: d("201"),
                    calling: d("202"),
                    called: d("201"),
                    last_redirection: None,
                    cause: Cause::NewCall
                }
            ),
            (
                LocalState::Connected,
                EventKind::Established {
                    answering: d("201"),
                    calling: d("202"),
                    called: d("201"),
                    last_redirection: None,
                    cause: Cause::NewCall
                }
            ),
            (
                LocalState::Connected,
                EventKind::ConnectionCleared {
                    dropped: d("202"),
                    releasing: d("202"),
                    cause: Cause::NormalClearing
                }
            ),
            (
                LocalState::Null,
                EventKind::ConnectionCleared {
                    dropped: d("201"),
                    releasing: d("202"),
                    cause: Cause::NormalClearing
                }
            ),
            (
                LocalState::Null,
                EventKind::CallCleared {
                    cause: Cause::NormalClearing
                }
            ),
        ]
    );
    let ids: Vec<_> = events
        .iter()
        .filter_map(|event| event.call.clone())
        .collect();
    assert!(
        ids.windows(2).all(|pair| pair[0] == pair[1]),
        "one call id for both lines: {ids:?}"
    );
    assert!(
        fixture.bridge.call_ids().is_empty(),
        "nothing left after del"
    );
}

#[test]
fn a_release_without_cause_that_is_no_transfer_is_the_far_end_hanging_up() {
    let mut fixture = Fixture::new();
    fixture.feed(&[
        rec(BOB, 10, 0x01, "r-setup", ("Alice", "201"), "c1"),
        rec(ALICE, 20, 0x81, "x-setup", ("Bob", "202"), "c1"),
        rec(ALICE, 20, 0x85, "r-conn", ("Bob", "202"), "c1"),
        rec(BOB, 10, 0x05, "x-conn", ("Alice", "201"), "c1"),
    ]);
    let events = fixture.feed(&[
        rec(ALICE, 20, 0x86, "x-rel", ("Bob", "202"), "c1"),
        rec(ALICE, 20, 0x86, "del", ("Bob", "202"), "c1"),
        rec(BOB, 10, 0x07, "r-rel", ("Alice", "201"), "c1").cause(16),
        rec(BOB, 10, 0x07, "del", ("Alice", "201"), "c1"),
    ]);
    assert_eq!(
        at(&events, "201"),
        [
            (
                LocalState::Connected,
                EventKind::ConnectionCleared {
                    dropped: d("202"),
                    releasing: d("202"),
                    cause: Cause::NormalClearing
                }
            ),
            (
                LocalState::Null,
                EventKind::ConnectionCleared {
                    dropped: d("201"),
                    releasing: d("202"),
                    cause: Cause::NormalClearing
                }
            ),
            (
                LocalState::Null,
                EventKind::CallCleared {
                    cause: Cause::NormalClearing
                }
            ),
        ]
    );
    assert!(fixture.bridge.call_ids().is_empty());
}

#[test]
fn busy_destination_fails_the_call() {
    let mut fixture = Fixture::new();
    let events = fixture.feed(&[
        rec(ALICE, 5, 0x01, "r-setup", ("Bob", "202"), "c2"),
        rec(ALICE, 5, 0x06, "x-rel", ("Bob", "202"), "c2").cause(17),
        rec(ALICE, 5, 0x06, "del", ("Bob", "202"), "c2"),
    ]);
    let kinds = at(&events, "201");
    assert_eq!(
        kinds[0].1,
        EventKind::ServiceInitiated {
            cause: Cause::NewCall
        }
    );
    assert_eq!(
        kinds[1],
        (
            LocalState::Fail,
            EventKind::Failed {
                failing: d("202"),
                calling: d("201"),
                called: d("202"),
                cause: Cause::Busy
            }
        )
    );
    assert_eq!(
        kinds[2],
        (
            LocalState::Null,
            EventKind::ConnectionCleared {
                dropped: d("201"),
                releasing: d("202"),
                cause: Cause::Busy
            }
        )
    );
    assert_eq!(
        kinds[3],
        (
            LocalState::Null,
            EventKind::CallCleared { cause: Cause::Busy }
        )
    );
    assert_eq!(kinds.len(), 4);
}

#[test]
fn hold_and_retrieve_are_seen_by_both_parties() {
    let mut fixture = Fixture::new();
    fixture.feed(&[
        rec(ALICE, 5, 0x05, "x-conn", ("Bob", "202"), "c3"),
        rec(BOB, 6, 0x85, "r-conn", ("Alice", "201"), "c3"),
    ]);
    let events = fixture.feed(&[
        rec(ALICE, 5, 0x105, "r-fty", ("Bob", "202"), "c3"),
        rec(BOB, 6, 0x285, "x-fty", ("Alice", "201"), "c3"),
        rec(ALICE, 5, 0x005, "r-fty", ("Bob", "202"), "c3"),
        rec(BOB, 6, 0x085, "x-fty", ("Alice", "201"), "c3"),
    ]);
    assert_eq!(
        at(&events, "201"),
        [
            (
                LocalState::Hold,
                EventKind::Held {
                    holding: d("201"),
                    cause: Cause::Normal
                }
            ),
            (
                LocalState::Connected,
                EventKind::Retrieved {
                    retrieving: d("201"),
                    cause: Cause::Normal
                }
            ),
        ]
    );
    assert_eq!(
        at(&events, "202"),
        [
            (
                LocalState::Connected,
                EventKind::Held {
                    holding: d("201"),
                    cause: Cause::Normal
                }
            ),
            (
                LocalState::Connected,
                EventKind::Retrieved {
                    retrieving: d("201"),
                    cause: Cause::Normal
                }
            ),
        ]
    );
}

#[test]
fn external_caller_is_shown_in_international_form_when_configured() {
    let mut settings = BridgeSettings::named("main");
    settings.full_e164 = true;
    settings.numbering = Numbering {
        country_code: "49".into(),
        area_code: "30".into(),
        subscriber: "555".into(),
        trunk_prefix: "0".into(),
        international_prefix: "00".into(),
        national_prefix: "0".into(),
    };
    let mut fixture = Fixture::with_settings(settings);
    let events = fixture.feed(&[rec(ALICE, 7, 0x81, "x-setup", ("", "00891234"), "c4")]);
    let EventKind::Delivered { calling, .. } = &at(&events, "201")[0].1 else {
        panic!("{events:?}")
    };
    assert_eq!(calling, &d("+49891234"));
}

#[test]
fn calls_to_the_recording_number_are_hidden() {
    let mut settings = BridgeSettings::named("main");
    settings.recording_number = Some("299".to_owned());
    let mut fixture = Fixture::with_settings(settings);
    let events = fixture.feed(&[
        rec(ALICE, 8, 0x01, "r-setup", ("", "299"), "c5"),
        rec(ALICE, 8, 0x05, "x-conn", ("", "299"), "c5"),
        rec(ALICE, 8, 0x07, "r-rel", ("", "299"), "c5"),
        rec(ALICE, 8, 0x07, "del", ("", "299"), "c5"),
    ]);
    assert!(events.is_empty(), "{events:?}");
    assert!(fixture.bridge.calls_at(&DeviceId::new("201")).is_empty());
}

#[test]
fn resync_keeps_surviving_calls_and_clears_vanished_ones() {
    let mut fixture = Fixture::new();
    fixture.feed(&[
        rec(ALICE, 5, 0x05, "x-conn", ("Bob", "202"), "keep"),
        rec(ALICE, 6, 0x81, "x-setup", ("Carol", "203"), "gone"),
    ]);
    let kept = fixture.bridge.call_of_conf("keep").cloned().unwrap();
    let events = fixture.bridge.site_down(SiteId::MASTER);
    assert_eq!(
        at(&events, "201"),
        [(LocalState::Null, EventKind::OutOfService)]
    );
    // The session comes back with new handles.
    fixture.bridge.unbind_site(SiteId::MASTER);
    fixture
        .bridge
        .bind_handle(SiteId::MASTER, 11, DeviceId::new("201"));
    fixture.bridge.begin_resync(SiteId::MASTER);
    let snapshot = [rec(99, 77, 0x05, "x-conn", ("Bob", "202"), "keep").record()];
    let mut events = fixture
        .bridge
        .resync_line(SiteId::MASTER, 11, &snapshot, fixture.now);
    events.extend(fixture.bridge.finish_resync(SiteId::MASTER));
    events.extend(fixture.bridge.site_up(SiteId::MASTER));
    let alice = at(&events, "201");
    assert!(
        matches!(
            &alice[..],
            [
                (_, EventKind::ConnectionCleared { .. }),
                (_, EventKind::CallCleared { .. }),
                (_, EventKind::BackInService)
            ]
        ),
        "vanished call cleared, surviving call not re-announced: {alice:?}"
    );
    assert_eq!(fixture.bridge.call_ids(), std::slice::from_ref(&kept));
    // Live records on the new handle continue the same call.
    let events = fixture.feed(&[Rec {
        user: 11,
        ..rec(11, 78, 0x07, "r-rel", ("Bob", "202"), "keep")
    }]);
    assert_eq!(events[0].call.as_ref(), Some(&kept));
}

#[test]
fn make_call_claims_the_next_outgoing_call() {
    let mut fixture = Fixture::new();
    let alice = DeviceId::new("201");
    fixture.bridge.expect_make_call(&alice, fixture.now);
    let claimed = fixture.bridge.claim_make_call(LegHandle {
        site: SiteId::MASTER,
        user: ALICE,
        call: 40,
    });
    let events = fixture.feed(&[rec(ALICE, 40, 0x01, "r-setup", ("Bob", "202"), "c6")]);
    assert_eq!(events[0].call, claimed);
    assert_eq!(
        events[0].kind,
        EventKind::ServiceInitiated {
            cause: Cause::MakeCall
        }
    );
    assert_eq!(fixture.bridge.call_of_conf("c6"), claimed.as_ref());
}

#[test]
fn a_make_call_that_ended_before_its_answer_was_read_names_the_ended_call() {
    let mut fixture = Fixture::new();
    let alice = DeviceId::new("201");
    fixture.bridge.expect_make_call(&alice, fixture.now);
    // The PBX reports the whole failed call before the gateway reads the UserCall answer.
    let events = fixture.feed(&[
        rec(ALICE, 50, 0x01, "r-setup", ("", "999"), "c9"),
        rec(ALICE, 50, 0x07, "x-rel", ("", "999"), "c9").cause(1),
        rec(ALICE, 50, 0x07, "del", ("", "999"), "c9"),
    ]);
    assert_eq!(
        events[0].kind,
        EventKind::ServiceInitiated {
            cause: Cause::MakeCall
        }
    );
    let claimed = fixture.bridge.claim_make_call(LegHandle {
        site: SiteId::MASTER,
        user: ALICE,
        call: 50,
    });
    assert_eq!(
        claimed, events[0].call,
        "the answer names the call the events named"
    );
    assert!(
        fixture.bridge.call_ids().is_empty(),
        "no leg is made up for the ended call"
    );
}

#[test]
fn a_refused_make_call_leaves_the_next_call_a_plain_one() {
    let mut fixture = Fixture::new();
    let alice = DeviceId::new("201");
    fixture.bridge.expect_make_call(&alice, fixture.now);
    fixture.bridge.cancel_make_call(&alice);
    let events = fixture.feed(&[rec(ALICE, 41, 0x01, "r-setup", ("Bob", "202"), "c7")]);
    assert_eq!(
        events[0].kind,
        EventKind::ServiceInitiated {
            cause: Cause::NewCall
        }
    );
}

#[test]
fn forwarded_call_names_the_diverting_line() {
    let mut fixture = Fixture::new();
    // Bob calls Alice, whose immediate forward sends the call to Carol.
    let events = fixture.feed(&[
        rec(BOB, 10, 0x01, "r-setup", ("Alice", "201"), "fw"),
        rec(3, 30, 0x81, "x-setup", ("Bob", "202"), "fw").with(PartyRole::Leg2, "Alice", "201"),
        rec(BOB, 10, 0x04, "x-alert", ("Carol", "203"), "fw").with(PartyRole::Leg2, "Alice", "201"),
    ]);
    let carol = at(&events, "203");
    assert_eq!(
        carol[0].1,
        EventKind::Delivered {
            alerting: d("203"),
            calling: d("202"),
            called: d("201"),
            last_redirection: Some(d("201")),
            cause: Cause::CallForward,
        }
    );
    let bob = at(&events, "202");
    let EventKind::Delivered {
        alerting,
        last_redirection,
        ..
    } = &bob.last().unwrap().1
    else {
        panic!("{bob:?}")
    };
    assert_eq!((alerting, last_redirection), (&d("203"), &Some(d("201"))));
}

/// The trunk an external call from Alice to `number` is reported through.
fn trunk_of_call(
    fixture: &mut Fixture,
    call: i32,
    conf: &'static str,
    number: &str,
) -> Option<Party> {
    let events = fixture.feed(&[rec(ALICE, call, 0x04, "x-alert", ("", number), conf)]);
    events.iter().find_map(|event| match &event.kind {
        EventKind::NetworkReached { trunk, .. } => Some(trunk.clone()),
        _ => None,
    })
}

#[test]
fn a_renumbered_object_takes_its_line_forwards_and_handle_along() {
    let mut fixture = Fixture::new();
    let old = DeviceId::new("201");
    let new = DeviceId::new("211");
    fixture.bridge.take_touched();
    let (_, changes) = fixture
        .bridge
        .on_user_info(SiteId::MASTER, &user("Alice", "211", "ep"));
    assert_eq!(changes.removed, std::slice::from_ref(&old));
    assert_eq!(changes.added, std::slice::from_ref(&new));
    assert!(fixture.bridge.line(&old).is_none());
    assert_eq!(fixture.bridge.line(&new).unwrap().cn, "Alice");
    assert_eq!(
        fixture.bridge.monitored_devices("Alice"),
        [(new.clone(), None)]
    );
    assert_eq!(
        fixture.bridge.user_handle(&old),
        None,
        "the removed line's handle is unbound"
    );
    let touched = fixture.bridge.take_touched();
    assert_eq!(touched.lines, [old, new.clone()]);
    // Records of the old handle belong to no line any more.
    assert!(
        fixture
            .feed(&[rec(ALICE, 1, 0x81, "x-setup", ("Bob", "202"), "r1")])
            .is_empty()
    );
    let forwards = BTreeMap::from([(ForwardKind::Immediate, "202".to_owned())]);
    let events = fixture.bridge.set_forwards("Alice", forwards.clone());
    assert_eq!(
        events.iter().map(|e| e.device.as_str()).collect::<Vec<_>>(),
        ["211"]
    );
    assert_eq!(fixture.bridge.line(&new).unwrap().forwards, forwards);
    assert!(
        fixture.bridge.set_forwards("Alice", forwards).is_empty(),
        "unchanged forwards are no news"
    );
    // The other objects' lines are untouched.
    assert_eq!(
        fixture.bridge.monitored_devices("Bob"),
        [(DeviceId::new("202"), None)]
    );
}

#[test]
fn a_removed_object_takes_its_lines_handles_and_trunk_along() {
    let mut fixture = Fixture::new();
    let mut gone = user("Bob", "202", "ep");
    gone.active = false;
    let (_, changes) = fixture.bridge.on_user_info(SiteId::MASTER, &gone);
    assert_eq!(changes.removed, [DeviceId::new("202")]);
    assert!(fixture.bridge.object("Bob").is_none());
    assert_eq!(fixture.bridge.user_handle(&DeviceId::new("202")), None);
    assert!(fixture.bridge.monitored_devices("Bob").is_empty());
    // A second removal changes nothing.
    let (events, changes) = fixture.bridge.on_user_info(SiteId::MASTER, &gone);
    assert!(events.is_empty() && changes.is_empty());

    // Trunks: the longest matching prefix wins, a removed or renumbered one no longer does.
    assert_eq!(
        trunk_of_call(&mut fixture, 60, "t0", "0301234"),
        Some(d("0"))
    );
    fixture
        .bridge
        .on_user_info(SiteId::MASTER, &user("City", "03", "gw"));
    assert_eq!(
        trunk_of_call(&mut fixture, 61, "t1", "0301234"),
        Some(d("03"))
    );
    fixture
        .bridge
        .on_user_info(SiteId::MASTER, &user("City", "04", "gw"));
    assert_eq!(
        trunk_of_call(&mut fixture, 62, "t2", "0301234"),
        Some(d("0"))
    );
    let mut city = user("City", "04", "gw");
    city.active = false;
    fixture.bridge.on_user_info(SiteId::MASTER, &city);
    let mut trunk = user("Trunk", "0", "gw");
    trunk.active = false;
    fixture.bridge.on_user_info(SiteId::MASTER, &trunk);
    assert_eq!(trunk_of_call(&mut fixture, 63, "t3", "0301234"), None);
    // An endpoint is never a trunk, even with a matching number.
    fixture
        .bridge
        .on_user_info(SiteId::MASTER, &user("Zero", "0", "ep"));
    assert_eq!(trunk_of_call(&mut fixture, 64, "t4", "0301234"), None);
}

#[test]
fn mapped_devices_get_a_line_each_and_lose_it_with_the_device() {
    let mut fixture = Fixture::with_settings(BridgeSettings {
        map_devices: true,
        ..BridgeSettings::named("main")
    });
    let device = |hw: &str| Device {
        hw: hw.to_owned(),
        text: format!("phone {hw}"),
    };
    let changes = fixture
        .bridge
        .set_devices("Alice", vec![device("desk"), device("soft")]);
    let desk = DeviceId::new("201:desk");
    let soft = DeviceId::new("201:soft");
    assert_eq!(changes.removed, [DeviceId::new("201")]);
    assert_eq!(changes.added, [desk.clone(), soft.clone()]);
    assert_eq!(
        fixture.bridge.monitored_devices("Alice"),
        [
            (desk.clone(), Some("desk".to_owned())),
            (soft.clone(), Some("soft".to_owned()))
        ]
    );
    fixture.bridge.bind_handle(SiteId::MASTER, 21, desk.clone());
    fixture.bridge.bind_handle(SiteId::MASTER, 22, soft.clone());
    assert_eq!(
        fixture.bridge.user_handle(&soft),
        Some((SiteId::MASTER, 22))
    );
    let changes = fixture.bridge.set_devices("Alice", vec![device("desk")]);
    assert_eq!(changes.removed, std::slice::from_ref(&soft));
    assert!(changes.added.is_empty());
    assert_eq!(fixture.bridge.user_handle(&soft), None);
    assert_eq!(
        fixture.bridge.user_handle(&desk),
        Some((SiteId::MASTER, 21))
    );
    // A UserInfo keeps the devices: the lines stay as they are.
    let (_, changes) = fixture
        .bridge
        .on_user_info(SiteId::MASTER, &user("Alice", "201", "ep"));
    assert!(changes.is_empty(), "{changes:?}");
    assert_eq!(
        fixture.bridge.monitored_devices("Alice"),
        [(desk, Some("desk".to_owned()))]
    );
}

#[test]
fn a_slave_site_takes_the_lines_homed_there_and_acts_for_them() {
    let mut fixture = Fixture::new();
    let mut dora = user("Dora", "204", "ep");
    dora.loc = "branch".to_owned();
    fixture.bridge.on_user_info(SiteId::MASTER, &dora);
    let mut erik = user("Erik", "205", "ep");
    erik.loc = "branch".to_owned();
    fixture.bridge.on_user_info(SiteId::MASTER, &erik);
    assert_eq!(fixture.bridge.unmonitored_locations(), ["branch"]);
    let line = DeviceId::new("204");
    fixture.bridge.bind_handle(SiteId::MASTER, 40, line.clone());
    let (site, moved) = fixture.bridge.add_site("branch");
    assert_eq!(moved, [line.clone(), DeviceId::new("205")]);
    assert!(fixture.bridge.unmonitored_locations().is_empty());
    assert_eq!(fixture.bridge.line(&line).unwrap().site, site);
    fixture.bridge.bind_handle(site, 7, line.clone());
    assert_eq!(
        fixture.bridge.user_handle(&line),
        Some((site, 7)),
        "the line acts on the site it is homed at"
    );
    fixture.bridge.unbind_site(site);
    assert_eq!(
        fixture.bridge.user_handle(&line),
        Some((SiteId::MASTER, 40))
    );
    // The slave reports registration of its own objects only.
    fixture.bridge.site_up(site);
    let mut registered = erik.clone();
    registered.state = 1;
    let (events, _) = fixture.bridge.on_user_info(site, &registered);
    assert_eq!(
        at(&events, "205"),
        [(LocalState::Null, EventKind::BackInService)]
    );
    let (events, _) = fixture
        .bridge
        .on_user_info(site, &user("Alice", "201", "ep"));
    assert!(events.is_empty(), "Alice is the master's");
    // A location nobody is homed at any more is not wanted.
    erik.loc = String::new();
    fixture.bridge.on_user_info(SiteId::MASTER, &erik);
    let mut gone = dora;
    gone.active = false;
    fixture.bridge.on_user_info(SiteId::MASTER, &gone);
    let mut other = user("Finn", "206", "ep");
    other.loc = "harbour".to_owned();
    fixture.bridge.on_user_info(SiteId::MASTER, &other);
    assert_eq!(fixture.bridge.unmonitored_locations(), ["harbour"]);
}

#[test]
fn a_claimed_make_call_is_touched_at_once() {
    let mut fixture = Fixture::new();
    let alice = DeviceId::new("201");
    fixture.bridge.take_touched();
    let handle = LegHandle {
        site: SiteId::MASTER,
        user: ALICE,
        call: 90,
    };
    let call = fixture.bridge.claim_make_call(handle).unwrap();
    let touched = fixture.bridge.take_touched();
    assert_eq!(touched.calls, std::slice::from_ref(&call));
    assert_eq!(touched.lines, std::slice::from_ref(&alice));
    assert_eq!(
        fixture.bridge.call_ids_at(&alice),
        std::slice::from_ref(&call)
    );
    assert_eq!(
        fixture.bridge.leg(&alice, &call),
        Some((handle, LocalState::Null))
    );
    assert_eq!(fixture.bridge.take_touched(), Touched::default());
    // The call ends before its first record: it leaves, and is touched once more.
    let events = fixture.feed(&[rec(ALICE, 90, 0x01, "del", ("Bob", "202"), "m1")]);
    assert!(matches!(
        events.last().map(|e| &e.kind),
        Some(EventKind::CallCleared { .. })
    ));
    let touched = fixture.bridge.take_touched();
    assert_eq!(touched.calls, std::slice::from_ref(&call));
    assert!(fixture.bridge.call(&call).is_none());
    assert!(fixture.bridge.call_ids_at(&alice).is_empty());
}

#[test]
fn legs_are_found_by_line_and_call_when_calls_join_and_end() {
    let mut fixture = Fixture::new();
    let alice = DeviceId::new("201");
    let bob = DeviceId::new("202");
    fixture.feed(&[
        rec(ALICE, 1, 0x05, "x-conn", ("Bob", "202"), "j1"),
        rec(BOB, 2, 0x85, "x-conn", ("Alice", "201"), "j1"),
        rec(ALICE, 3, 0x05, "x-conn", ("Carol", "203"), "j2"),
    ]);
    let first = fixture.bridge.call_of_conf("j1").cloned().unwrap();
    let second = fixture.bridge.call_of_conf("j2").cloned().unwrap();
    let mut both = vec![first.clone(), second.clone()];
    both.sort();
    assert_eq!(fixture.bridge.call_ids_at(&alice), both);
    assert_eq!(
        fixture.bridge.call_ids_at(&bob),
        std::slice::from_ref(&first)
    );
    fixture.bridge.take_touched();
    // Bob's leg joins the second call: the first is gone from every index.
    fixture.feed(&[
        rec(ALICE, 1, 0x05, "del", ("Bob", "202"), "j1"),
        rec(BOB, 2, 0x85, "x-conn", ("Carol", "203"), "j2"),
    ]);
    assert!(fixture.bridge.call(&first).is_none());
    assert_eq!(
        fixture.bridge.call_ids_at(&bob),
        std::slice::from_ref(&second)
    );
    assert_eq!(
        fixture.bridge.call_ids_at(&alice),
        std::slice::from_ref(&second)
    );
    assert!(fixture.bridge.leg(&bob, &first).is_none());
    assert!(fixture.bridge.leg(&bob, &second).is_some());
    let touched = fixture.bridge.take_touched();
    assert!(touched.calls.contains(&first) && touched.calls.contains(&second));
    assert_eq!(touched.lines, [alice.clone(), bob.clone()]);
    fixture.feed(&[
        rec(ALICE, 3, 0x05, "del", ("Carol", "203"), "j2"),
        rec(BOB, 2, 0x85, "del", ("Carol", "203"), "j2"),
    ]);
    assert!(fixture.bridge.call_ids().is_empty());
    assert!(fixture.bridge.call_ids_at(&alice).is_empty());
    assert!(fixture.bridge.call_ids_at(&bob).is_empty());
}
