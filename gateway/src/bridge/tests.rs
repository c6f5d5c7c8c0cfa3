//! Table tests of the bridge: record sequences in, per-device event sequences out.

use std::time::{Duration, Instant};

use pbx_soap::records::{CallInfo, CallState, Group, Info, Msg, No, PartyRole, UserInfo};

use super::*;
use crate::config::Numbering;
use crate::events::{Cause, DeviceEvent, EventKind, LocalState, Party};

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
