//! Table tests of the CSTA → TAPI mapping: each scenario feeds CSTA events to a line and
//! compares the TAPI callbacks, rendered as short text, with the expected sequence.

use std::collections::BTreeMap;

use super::*;
use crate::tapi::{call_state, dev_state, disconnect_mode, origin, reason};

const HT_LINE: usize = 0x1_0000_0001;

struct Fixture {
    model: Model,
    line: usize,
    cross_ref: String,
    names: BTreeMap<usize, String>,
}

fn device(id: &str) -> Device {
    Device {
        id: id.to_owned(),
        name: format!("Line {id}"),
        key: format!("pbx/{id}/"),
        in_service: true,
    }
}

fn known(id: &str) -> Party {
    Party::Known(id.to_owned())
}

impl Fixture {
    /// Line 201 open and monitored; 202 and 203 exist at the gateway too.
    fn new() -> Self {
        let mut model = Model::new(LineIds::default(), LineFilter::default());
        model.link_up();
        let out = model.set_devices(vec![device("201"), device("202"), device("203")]);
        assert_eq!(out.len(), 3, "three LINE_CREATE: {out:?}");
        for temp_id in 1..=3 {
            model
                .create_line(temp_id, 10 + u32::try_from(temp_id).unwrap())
                .unwrap();
        }
        let (line, out) = model.open_line(11, HT_LINE).unwrap();
        let invoke = match out.as_slice() {
            [
                Output::Send {
                    invoke,
                    request: Request::MonitorStart { device },
                },
            ] if device == "201" => *invoke,
            other => panic!("expected MonitorStart, got {other:?}"),
        };
        let out = model.response(
            invoke,
            Response::MonitorStarted {
                cross_ref: "m1".to_owned(),
            },
        );
        // The line was in service already; the monitor asks for the calls that exist and for
        // the forwardings and do-not-disturb set before.
        let (snapshot, forwards, dnd) = line_state_requests(&out);
        assert!(
            model
                .response(snapshot, Response::Snapshot(Vec::new()))
                .is_empty()
        );
        assert!(
            model
                .response(forwards, Response::Forwards(Vec::new()))
                .is_empty()
        );
        assert!(
            model
                .response(dnd, Response::DoNotDisturb(false))
                .is_empty()
        );
        Self {
            model,
            line,
            cross_ref: "m1".to_owned(),
            names: BTreeMap::new(),
        }
    }

    fn event(&mut self, event: CallEvent) -> Vec<String> {
        let out = self.model.call_event(&self.cross_ref.clone(), event);
        self.render(out)
    }

    fn render(&mut self, out: Vec<Output>) -> Vec<String> {
        out.into_iter()
            .map(|output| self.render_one(output))
            .collect()
    }

    fn name(&mut self, call: usize) -> String {
        let next = format!("c{}", self.names.len() + 1);
        self.names.entry(call).or_insert(next).clone()
    }

    fn handle(&self, name: &str) -> usize {
        *self.names.iter().find(|(_, n)| *n == name).unwrap().0
    }

    fn render_one(&mut self, output: Output) -> String {
        match output {
            Output::NewCall { ht_line, call } => {
                assert_eq!(ht_line, HT_LINE);
                format!("NEWCALL {}", self.name(call))
            }
            Output::Event {
                ht_line,
                call,
                msg,
                param1,
                param2,
                param3,
                param2_call,
            } => {
                assert_eq!(ht_line, HT_LINE);
                let call = call.map(|call| self.name(call)).unwrap_or_default();
                match msg {
                    msg::CALLSTATE => {
                        assert_eq!(param3, 4, "media mode interactive voice");
                        let state = state_name(u32::try_from(param1).unwrap());
                        match param2_call {
                            Some(parent) => {
                                format!("STATE {call} {state} parent={}", self.name(parent))
                            }
                            None => format!("STATE {call} {state}/{param2:#x}"),
                        }
                    }
                    msg::CALLINFO => format!("INFO {call} {param1:#x}"),
                    msg::LINEDEVSTATE => format!("DEVSTATE {param1:#x}"),
                    msg::ADDRESSSTATE => format!("ADDRESSSTATE {param2:#x}"),
                    msg::GENERATE => format!("GENERATE {call} {param1} {param2} {param3}"),
                    other => format!("MSG {other}"),
                }
            }
            Output::Complete { request, result } => format!("COMPLETE {request} {result:#x}"),
            Output::BindCall { call, ht_call } => format!("BIND {} {ht_call:#x}", self.name(call)),
            Output::ForgetCall { call } => format!("FORGET {}", self.name(call)),
            Output::CreateLine { temp_id } => format!("CREATE {temp_id}"),
            Output::RemoveLine { device_id } => format!("REMOVE {device_id}"),
            Output::ListDevices => "LIST".to_owned(),
            Output::Send { request, .. } => format!("SEND {request:?}"),
        }
    }

    fn state(&self, name: &str) -> (u32, u32) {
        let view = self.model.call(self.handle(name)).unwrap();
        (view.state, view.mode)
    }

    /// Puts an incoming call c1 from `caller` in OFFERING.
    fn offer(&mut self, caller: &str) {
        self.event(CallEvent::Delivered {
            call: "x1".to_owned(),
            alerting: known("201"),
            calling: known(caller),
            called: known("201"),
            last_redirection: Party::NotKnown,
            cause: Cause::Normal,
        });
    }

    fn connect(&mut self, caller: &str) {
        self.offer(caller);
        self.event(CallEvent::Established {
            call: "x1".to_owned(),
            answering: known("201"),
            calling: known(caller),
            called: known("201"),
            cause: Cause::Normal,
        });
    }

    /// c1 (x1) with 202 held for `cause`, c2 (x2) connected to 203: ready to transfer or
    /// conference.
    fn consult(&mut self, cause: Cause) {
        self.connect("202");
        self.event(CallEvent::Held {
            call: "x1".to_owned(),
            holding: known("201"),
            cause,
        });
        self.event(CallEvent::ServiceInitiated {
            call: "x2".to_owned(),
        });
        self.event(CallEvent::Established {
            call: "x2".to_owned(),
            answering: known("203"),
            calling: known("201"),
            called: known("203"),
            cause: Cause::Normal,
        });
    }

    fn send_invoke(out: &[Output]) -> u16 {
        match out {
            [Output::Send { invoke, .. }] => *invoke,
            other => panic!("expected one Send, got {other:?}"),
        }
    }
}

/// The invoke ids of the requests that read line 201's state (snapshot, forwardings,
/// do-not-disturb), which must be all of `out`.
fn line_state_requests(out: &[Output]) -> (u16, u16, u16) {
    match out {
        [
            Output::Send {
                invoke: snapshot,
                request: Request::SnapshotDevice { device },
            },
            Output::Send {
                invoke: forwards,
                request:
                    Request::GetForwarding {
                        device: forwards_of,
                    },
            },
            Output::Send {
                invoke: dnd,
                request: Request::GetDoNotDisturb { device: dnd_of },
            },
        ] if [device, forwards_of, dnd_of].iter().all(|d| *d == "201") => {
            (*snapshot, *forwards, *dnd)
        }
        other => panic!("expected SnapshotDevice, GetForwarding, GetDoNotDisturb, got {other:?}"),
    }
}

fn state_name(state: u32) -> &'static str {
    match state {
        call_state::IDLE => "IDLE",
        call_state::OFFERING => "OFFERING",
        call_state::ACCEPTED => "ACCEPTED",
        call_state::DIALTONE => "DIALTONE",
        call_state::DIALING => "DIALING",
        call_state::RINGBACK => "RINGBACK",
        call_state::BUSY => "BUSY",
        call_state::CONNECTED => "CONNECTED",
        call_state::PROCEEDING => "PROCEEDING",
        call_state::ONHOLD => "ONHOLD",
        call_state::CONFERENCED => "CONFERENCED",
        call_state::ONHOLDPENDCONF => "ONHOLDPENDCONF",
        call_state::ONHOLDPENDTRANSFER => "ONHOLDPENDTRANSFER",
        call_state::DISCONNECTED => "DISCONNECTED",
        _ => "?",
    }
}

#[test]
fn incoming_external_call_offered_answered_and_cleared_by_far_end() {
    let mut f = Fixture::new();
    let table: Vec<(CallEvent, Vec<&str>)> = vec![
        (
            CallEvent::Delivered {
                call: "x1".to_owned(),
                alerting: known("201"),
                calling: known("+4970319876543"),
                called: known("201"),
                last_redirection: Party::NotKnown,
                cause: Cause::Normal,
            },
            vec!["NEWCALL c1", "STATE c1 OFFERING/0x1"],
        ),
        (
            CallEvent::Established {
                call: "x1".to_owned(),
                answering: known("201"),
                calling: known("+4970319876543"),
                called: known("201"),
                cause: Cause::Normal,
            },
            vec!["STATE c1 CONNECTED/0x1", "INFO c1 0x20000"],
        ),
        (
            CallEvent::ConnectionCleared {
                call: "x1".to_owned(),
                dropped: known("+4970319876543"),
                releasing: known("+4970319876543"),
                cause: Cause::Normal,
            },
            vec!["STATE c1 DISCONNECTED/0x1"],
        ),
        (
            CallEvent::ConnectionCleared {
                call: "x1".to_owned(),
                dropped: known("201"),
                releasing: known("201"),
                cause: Cause::Normal,
            },
            vec!["STATE c1 IDLE/0x0"],
        ),
        (
            CallEvent::CallCleared {
                call: "x1".to_owned(),
            },
            vec![],
        ),
    ];
    for (event, expected) in table {
        assert_eq!(f.event(event.clone()), expected, "after {event:?}");
    }
    let view = f.model.call(f.handle("c1")).unwrap();
    assert_eq!(view.caller, Some(known("+4970319876543")));
    assert_eq!(view.called, Some(known("201")));
    assert_eq!(view.connected, Some(known("+4970319876543")));
    assert_eq!(view.origin, origin::EXTERNAL);
    assert_eq!(view.reason, reason::DIRECT);
    assert_eq!(view.device_id, 11);
    assert_eq!(f.model.close_call(f.handle("c1")).unwrap().len(), 1);
    assert_eq!(f.model.call(f.handle("c1")), None);
}

#[test]
fn internal_forwarded_call_has_reason_and_redirecting_party() {
    let mut f = Fixture::new();
    let out = f.event(CallEvent::Delivered {
        call: "x1".to_owned(),
        alerting: known("201"),
        calling: known("203"),
        called: known("202"),
        last_redirection: known("202"),
        cause: Cause::ForwardNoAnswer,
    });
    assert_eq!(out, ["NEWCALL c1", "STATE c1 OFFERING/0x1"]);
    let view = f.model.call(f.handle("c1")).unwrap();
    assert_eq!(view.origin, origin::INTERNAL);
    assert_eq!(view.reason, reason::FWDNOANSWER);
    assert_eq!(view.redirecting, Some(known("202")));
    assert_eq!(view.called, Some(known("202")));
}

#[test]
fn restricted_caller_is_inbound_and_abandoned_call_is_missed() {
    let mut f = Fixture::new();
    f.event(CallEvent::Delivered {
        call: "x1".to_owned(),
        alerting: known("201"),
        calling: Party::Restricted,
        called: known("201"),
        last_redirection: Party::NotKnown,
        cause: Cause::Normal,
    });
    let view = f.model.call(f.handle("c1")).unwrap();
    assert_eq!(view.origin, origin::INBOUND);
    assert_eq!(view.caller, Some(Party::Restricted));
    let out = f.event(CallEvent::ConnectionCleared {
        call: "x1".to_owned(),
        dropped: Party::Restricted,
        releasing: Party::Restricted,
        cause: Cause::Normal,
    });
    assert_eq!(
        out,
        [format!(
            "STATE c1 DISCONNECTED/{:#x}",
            disconnect_mode::NOANSWER
        )]
    );
}

#[test]
fn outgoing_call_from_the_phone() {
    let mut f = Fixture::new();
    let table: Vec<(CallEvent, Vec<&str>)> = vec![
        (
            CallEvent::ServiceInitiated {
                call: "x9".to_owned(),
            },
            vec!["NEWCALL c1", "STATE c1 DIALTONE/0x1"],
        ),
        (
            CallEvent::Originated {
                call: "x9".to_owned(),
                called: known("0711555"),
            },
            vec!["STATE c1 DIALING/0x0", "INFO c1 0x10000"],
        ),
        (
            CallEvent::NetworkReached {
                call: "x9".to_owned(),
            },
            vec!["STATE c1 PROCEEDING/0x0"],
        ),
        (
            CallEvent::Delivered {
                call: "x9".to_owned(),
                alerting: known("0711555"),
                calling: known("201"),
                called: known("0711555"),
                last_redirection: Party::NotKnown,
                cause: Cause::Normal,
            },
            vec!["STATE c1 RINGBACK/0x0"],
        ),
        (
            CallEvent::Established {
                call: "x9".to_owned(),
                answering: known("0711555"),
                calling: known("201"),
                called: known("0711555"),
                cause: Cause::Normal,
            },
            vec!["STATE c1 CONNECTED/0x1", "INFO c1 0x20000"],
        ),
        (
            CallEvent::Held {
                call: "x9".to_owned(),
                holding: known("0711555"),
                cause: Cause::Normal,
            },
            vec!["STATE c1 CONNECTED/0x4"],
        ),
        (
            CallEvent::Retrieved {
                call: "x9".to_owned(),
                retrieving: known("0711555"),
            },
            vec!["STATE c1 CONNECTED/0x1"],
        ),
        (
            CallEvent::ConnectionCleared {
                call: "x9".to_owned(),
                dropped: known("201"),
                releasing: known("201"),
                cause: Cause::Normal,
            },
            vec!["STATE c1 IDLE/0x0"],
        ),
    ];
    for (event, expected) in table {
        assert_eq!(f.event(event.clone()), expected, "after {event:?}");
    }
    let view = f.model.call(f.handle("c1")).unwrap();
    assert_eq!(view.origin, origin::OUTBOUND);
    assert_eq!(view.connected, Some(known("0711555")));
}

#[test]
fn busy_and_failed_outgoing_calls() {
    let cases = [
        (Cause::Busy, "STATE c1 BUSY/0x1".to_owned()),
        (
            Cause::BadAddress,
            format!("STATE c1 DISCONNECTED/{:#x}", disconnect_mode::BADADDRESS),
        ),
        (
            Cause::Congestion,
            format!("STATE c1 DISCONNECTED/{:#x}", disconnect_mode::CONGESTION),
        ),
        (
            Cause::Rejected,
            format!("STATE c1 DISCONNECTED/{:#x}", disconnect_mode::REJECT),
        ),
    ];
    for (cause, expected) in cases {
        let mut f = Fixture::new();
        f.event(CallEvent::ServiceInitiated {
            call: "x1".to_owned(),
        });
        assert_eq!(
            f.event(CallEvent::Failed {
                call: "x1".to_owned(),
                cause
            }),
            [expected.as_str()],
            "{cause:?}"
        );
    }
}

#[test]
fn hold_retrieve_and_consultation_hold() {
    let mut f = Fixture::new();
    f.connect("202");
    let held = |cause| CallEvent::Held {
        call: "x1".to_owned(),
        holding: known("201"),
        cause,
    };
    assert_eq!(f.event(held(Cause::Normal)), ["STATE c1 ONHOLD/0x0"]);
    let retrieved = CallEvent::Retrieved {
        call: "x1".to_owned(),
        retrieving: known("201"),
    };
    assert_eq!(f.event(retrieved), ["STATE c1 CONNECTED/0x1"]);
    assert_eq!(
        f.event(held(Cause::Consultation)),
        ["STATE c1 ONHOLDPENDTRANSFER/0x0"]
    );
}

#[test]
fn diverted_away_and_picked_up_elsewhere() {
    for (cause, mode) in [
        (Cause::Redirected, disconnect_mode::FORWARDED),
        (Cause::Pickup, disconnect_mode::PICKUP),
    ] {
        let mut f = Fixture::new();
        f.offer("203");
        let out = f.event(CallEvent::Diverted {
            call: "x1".to_owned(),
            diverting: known("201"),
            new_destination: known("202"),
            cause,
        });
        assert_eq!(
            out,
            [
                format!("STATE c1 DISCONNECTED/{mode:#x}"),
                "STATE c1 IDLE/0x0".to_owned()
            ]
        );
    }
}

#[test]
fn transferred_as_remaining_party_follows_the_new_call_id() {
    let mut f = Fixture::new();
    f.connect("202");
    // 202 transfers us to 203; the surviving call is "x7".
    let out = f.event(CallEvent::Transferred {
        primary_old: "x1".to_owned(),
        secondary_old: Some("x2".to_owned()),
        transferring: known("202"),
        transferred_to: known("203"),
        connections: vec![
            ConnectionMove {
                old_call: Some("x1".to_owned()),
                new_call: Some("x7".to_owned()),
                device: Some("201".to_owned()),
            },
            ConnectionMove {
                old_call: Some("x2".to_owned()),
                new_call: Some("x7".to_owned()),
                device: Some("203".to_owned()),
            },
        ],
    });
    assert_eq!(out, ["INFO c1 0xa0000"]);
    let view = f.model.call(f.handle("c1")).unwrap();
    assert_eq!(view.connected, Some(known("203")));
    assert_eq!(view.redirecting, Some(known("202")));
    // Later events use the new id and reach the same TAPI call.
    let out = f.event(CallEvent::ConnectionCleared {
        call: "x7".to_owned(),
        dropped: known("201"),
        releasing: known("201"),
        cause: Cause::Normal,
    });
    assert_eq!(out, ["STATE c1 IDLE/0x0"]);
}

#[test]
fn transferring_device_loses_both_calls() {
    let mut f = Fixture::new();
    f.consult(Cause::Consultation);
    let out = f.event(CallEvent::Transferred {
        primary_old: "x1".to_owned(),
        secondary_old: Some("x2".to_owned()),
        transferring: known("201"),
        transferred_to: known("203"),
        connections: vec![],
    });
    assert_eq!(out, ["STATE c1 IDLE/0x0", "STATE c2 IDLE/0x0"]);
}

#[test]
fn conference_set_up_at_the_phone_creates_a_parent_call() {
    let mut f = Fixture::new();
    f.consult(Cause::Normal);
    let out = f.event(CallEvent::Conferenced {
        primary_old: "x1".to_owned(),
        secondary_old: Some("x2".to_owned()),
        conferencing: known("201"),
        added: known("203"),
        connections: vec![ConnectionMove {
            old_call: Some("x1".to_owned()),
            new_call: Some("conf1".to_owned()),
            device: Some("201".to_owned()),
        }],
    });
    assert_eq!(
        out,
        [
            "NEWCALL c3",
            "STATE c3 CONNECTED/0x1",
            "STATE c1 CONFERENCED parent=c3",
            "INFO c1 0x80",
            "STATE c2 CONFERENCED parent=c3",
            "INFO c2 0x80",
        ]
    );
    assert_eq!(
        f.model.call(f.handle("c3")).unwrap().origin,
        origin::CONFERENCE
    );
    // One party leaves: its participant call goes idle; then the conference ends.
    let out = f.event(CallEvent::ConnectionCleared {
        call: "conf1".to_owned(),
        dropped: known("203"),
        releasing: known("203"),
        cause: Cause::Normal,
    });
    assert_eq!(out, ["STATE c2 IDLE/0x0"]);
    let out = f.event(CallEvent::ConnectionCleared {
        call: "conf1".to_owned(),
        dropped: known("201"),
        releasing: known("201"),
        cause: Cause::Normal,
    });
    assert_eq!(out, ["STATE c3 IDLE/0x0", "STATE c1 IDLE/0x0"]);
}

#[test]
fn make_call_events_are_held_back_until_the_completion() {
    let mut f = Fixture::new();
    let (call, out) = f.model.make_call(42, f.line, 0x2_0000_0007, "202").unwrap();
    f.names.insert(call, "c1".to_owned());
    let invoke = Fixture::send_invoke(&out);
    assert_eq!(
        f.render(out),
        ["SEND MakeCall { from: \"201\", to: \"202\" }"]
    );
    // The gateway reports the call before it answers MakeCall.
    assert!(
        f.event(CallEvent::ServiceInitiated {
            call: "x5".to_owned()
        })
        .is_empty()
    );
    assert!(
        f.event(CallEvent::Originated {
            call: "x5".to_owned(),
            called: known("202"),
        })
        .is_empty()
    );
    let out = f.model.response(
        invoke,
        Response::Call {
            call: "x5".to_owned(),
        },
    );
    assert_eq!(
        f.render(out),
        [
            "BIND c1 0x200000007",
            "COMPLETE 42 0x0",
            "STATE c1 DIALTONE/0x1",
            "STATE c1 DIALING/0x0",
        ]
    );
    let out = f.event(CallEvent::Delivered {
        call: "x5".to_owned(),
        alerting: known("202"),
        calling: known("201"),
        called: known("202"),
        last_redirection: Party::NotKnown,
        cause: Cause::Normal,
    });
    assert_eq!(out, ["STATE c1 RINGBACK/0x0"]);
}

#[test]
fn make_call_that_rings_the_own_phone_first_is_proceeding_not_offered() {
    let mut f = Fixture::new();
    let (call, out) = f.model.make_call(42, f.line, 0x2_0000_0007, "202").unwrap();
    f.names.insert(call, "c1".to_owned());
    let invoke = Fixture::send_invoke(&out);
    f.model.response(
        invoke,
        Response::Call {
            call: "x5".to_owned(),
        },
    );
    let out = f.event(CallEvent::Delivered {
        call: "x5".to_owned(),
        alerting: known("201"),
        calling: known("201"),
        called: known("202"),
        last_redirection: Party::NotKnown,
        cause: Cause::Normal,
    });
    assert_eq!(out, ["STATE c1 PROCEEDING/0x0"]);
    let view = f.model.call(call).unwrap();
    assert_eq!(view.origin, origin::OUTBOUND);
    assert_eq!(view.caller, None);
}

#[test]
fn failed_make_call_completes_with_the_mapped_error_and_replays_other_calls() {
    let mut f = Fixture::new();
    let (_, out) = f.model.make_call(7, f.line, 0x2_0000_0001, "999").unwrap();
    let invoke = Fixture::send_invoke(&out);
    // An unrelated incoming call arrives while MakeCall is pending.
    f.offer("202");
    let out = f
        .model
        .response(invoke, Response::Error(ErrorClass::InvalidAddress));
    assert_eq!(
        f.render(out),
        [
            format!("COMPLETE 7 {:#x}", err::INVALADDRESS),
            "NEWCALL c1".to_owned(),
            "STATE c1 OFFERING/0x1".to_owned(),
        ]
    );
}

#[test]
fn requests_map_to_csta_services_with_one_completion_each() {
    let mut f = Fixture::new();
    f.connect("202");
    let c1 = f.handle("c1");
    let connection = Connection {
        call: "x1".to_owned(),
        device: "201".to_owned(),
    };
    let out = f.model.hold(1, c1).unwrap();
    let invoke = Fixture::send_invoke(&out);
    assert_eq!(
        out[0],
        Output::Send {
            invoke,
            request: Request::HoldCall(connection)
        }
    );
    assert_eq!(
        f.model.response(invoke, Response::Done),
        [Output::Complete {
            request: 1,
            result: 0
        }]
    );
    // A late duplicate answer completes nothing.
    assert!(f.model.response(invoke, Response::Done).is_empty());

    let out = f.model.blind_transfer(2, c1, " 203 ").unwrap();
    assert!(matches!(
        &out[0],
        Output::Send { request: Request::SingleStepTransfer { to, .. }, .. } if to == "203"
    ));
    let out = f.model.drop_call(3, c1).unwrap();
    let invoke = Fixture::send_invoke(&out);
    let out = f
        .model
        .response(invoke, Response::Error(ErrorClass::InvalidState));
    assert_eq!(
        out,
        [Output::Complete {
            request: 3,
            result: err::INVALCALLSTATE
        }]
    );
}

#[test]
fn requests_in_the_wrong_state_or_with_bad_handles_are_refused() {
    let mut f = Fixture::new();
    f.offer("202");
    let c1 = f.handle("c1");
    assert_eq!(f.model.hold(1, c1), Err(err::INVALCALLSTATE));
    assert_eq!(f.model.unhold(1, c1), Err(err::INVALCALLSTATE));
    assert_eq!(f.model.answer(1, 0xdead), Err(err::INVALCALLHANDLE));
    assert_eq!(f.model.redirect(1, c1, "  "), Err(err::INVALADDRESS));
    assert!(f.model.make_call(1, 0xdead, 1, "202").is_err());
    assert_eq!(f.model.make_call(1, f.line, 1, ""), Err(err::INVALADDRESS));
    assert_eq!(f.model.open_line(11, 5).map(|_| ()), Err(err::ALLOCATED));
    assert_eq!(f.model.open_line(99, 5).map(|_| ()), Err(err::BADDEVICEID));
    assert_eq!(f.model.close_call(0xdead), Err(err::INVALCALLHANDLE));
    assert!(f.model.answer(4, c1).is_ok());
}

#[test]
fn complete_transfer_uses_the_held_call_whichever_argument_it_is() {
    let mut f = Fixture::new();
    f.consult(Cause::Normal);
    let (c1, c2) = (f.handle("c1"), f.handle("c2"));
    let (conference, out) = f.model.complete_transfer(9, c2, c1, None).unwrap();
    assert_eq!(conference, None);
    match &out[..] {
        [
            Output::Send {
                request: Request::TransferCall { held, active },
                ..
            },
        ] => {
            assert_eq!(held.call, "x1");
            assert_eq!(active.call, "x2");
        }
        other => panic!("{other:?}"),
    }
    // Conference mode creates the parent call, introduced by the completion.
    let (parent, out) = f
        .model
        .complete_transfer(10, c1, c2, Some(0x3_0000_0000))
        .unwrap();
    let parent = parent.unwrap();
    f.names.insert(parent, "c3".to_owned());
    let invoke = Fixture::send_invoke(&out);
    let out = f.model.response(
        invoke,
        Response::Call {
            call: "conf".to_owned(),
        },
    );
    assert_eq!(
        f.render(out),
        [
            "BIND c3 0x300000000",
            "COMPLETE 10 0x0",
            "STATE c1 CONFERENCED parent=c3",
            "STATE c2 CONFERENCED parent=c3",
            "STATE c3 CONNECTED/0x1",
        ]
    );
}

#[test]
fn conference_events_before_the_answer_wait_for_the_completion() {
    let mut f = Fixture::new();
    f.consult(Cause::Normal);
    let (c1, c2) = (f.handle("c1"), f.handle("c2"));
    let (parent, out) = f
        .model
        .complete_transfer(10, c1, c2, Some(0x3_0000_0000))
        .unwrap();
    f.names.insert(parent.unwrap(), "c3".to_owned());
    let invoke = Fixture::send_invoke(&out);
    // The gateway reports the conference before it answers ConferenceCall.
    let early = f.event(CallEvent::Conferenced {
        primary_old: "x1".to_owned(),
        secondary_old: Some("x2".to_owned()),
        conferencing: known("201"),
        added: known("203"),
        connections: vec![ConnectionMove {
            old_call: Some("x1".to_owned()),
            new_call: Some("conf".to_owned()),
            device: Some("201".to_owned()),
        }],
    });
    assert!(early.is_empty(), "held back: {early:?}");
    let out = f.model.response(
        invoke,
        Response::Call {
            call: "conf".to_owned(),
        },
    );
    let rendered = f.render(out);
    assert_eq!(&rendered[..2], ["BIND c3 0x300000000", "COMPLETE 10 0x0"]);
    assert!(
        !rendered.iter().any(|line| line.starts_with("NEWCALL")),
        "the conference call is TAPI's, never LINE_NEWCALL: {rendered:?}"
    );
    assert_eq!(f.state("c3").0, call_state::CONNECTED);
    assert_eq!(f.state("c1").0, call_state::CONFERENCED);
}

#[test]
fn forward_sends_one_request_per_kind_and_completes_once() {
    let mut f = Fixture::new();
    let entries = vec![
        ForwardEntry::Forward {
            kind: ForwardKind::Immediate,
            to: "300".to_owned(),
        },
        ForwardEntry::Forward {
            kind: ForwardKind::Busy,
            to: "301".to_owned(),
        },
    ];
    let out = f.model.forward(5, f.line, Some(entries)).unwrap();
    let invokes: Vec<u16> = out
        .iter()
        .map(|output| match output {
            Output::Send {
                invoke,
                request: Request::SetForwarding { on: true, .. },
            } => *invoke,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(invokes.len(), 2);
    assert!(
        f.model
            .response(invokes[0], Response::Error(ErrorClass::InvalidAddress))
            .is_empty()
    );
    assert_eq!(
        f.model.response(invokes[1], Response::Done),
        [Output::Complete {
            request: 5,
            result: err::INVALADDRESS
        }]
    );
    // The gateway confirms; LINE_ADDRESSSTATE(FORWARD) follows and the status shows it.
    let out = f.model.device_event(
        "m1",
        DeviceEvent::Forwarding {
            kind: ForwardKind::Immediate,
            on: true,
            to: Some("300".to_owned()),
        },
    );
    assert_eq!(f.render(out), ["ADDRESSSTATE 0x40"]);
    let view = f.model.line_by_handle(f.line).unwrap();
    assert_eq!(view.forwards, [(ForwardKind::Immediate, "300".to_owned())]);
    // Cancelling switches off exactly what is on.
    let out = f.model.forward(6, f.line, None).unwrap();
    assert_eq!(out.len(), 1);
    assert!(matches!(
        &out[0],
        Output::Send {
            request: Request::SetForwarding {
                kind: ForwardKind::Immediate,
                on: false,
                ..
            },
            ..
        }
    ));
    // Nothing on, nothing to cancel: immediate success.
    let mut g = Fixture::new();
    assert_eq!(
        g.model.forward(8, g.line, None).unwrap(),
        [Output::Complete {
            request: 8,
            result: 0
        }]
    );
}

#[test]
fn link_loss_fails_pending_requests_ends_calls_and_goes_out_of_service() {
    let mut f = Fixture::new();
    f.connect("202");
    let c1 = f.handle("c1");
    f.model.hold(1, c1).unwrap();
    let (made, _) = f.model.make_call(2, f.line, 0x5, "203").unwrap();
    let out = f.model.link_down();
    assert_eq!(
        f.render(out),
        [
            format!("COMPLETE 1 {:#x}", err::OPERATIONFAILED),
            format!("COMPLETE 2 {:#x}", err::OPERATIONFAILED),
            format!("STATE c1 DISCONNECTED/{:#x}", disconnect_mode::UNAVAIL),
            "STATE c1 IDLE/0x0".to_owned(),
            "DEVSTATE 0x80".to_owned(),
        ]
    );
    assert_eq!(f.model.call(made), None, "the unconfirmed call is gone");
    assert_eq!(
        f.model.make_call(3, f.line, 0x6, "203"),
        Err(err::RESOURCEUNAVAIL)
    );
    // Back: the device list restarts the monitor, whose answer puts the line in service.
    f.model.link_up();
    let out = f
        .model
        .set_devices(vec![device("201"), device("202"), device("203")]);
    let invoke = Fixture::send_invoke(&out);
    let out = f.model.response(
        invoke,
        Response::MonitorStarted {
            cross_ref: "m2".to_owned(),
        },
    );
    assert_eq!(
        f.render(out),
        [
            "DEVSTATE 0x40",
            "SEND SnapshotDevice { device: \"201\" }",
            "SEND GetForwarding { device: \"201\" }",
            "SEND GetDoNotDisturb { device: \"201\" }"
        ]
    );
}

#[test]
fn snapshot_reintroduces_calls_and_ends_vanished_ones() {
    let mut f = Fixture::new();
    f.connect("202");
    f.model.link_down();
    f.model.link_up();
    let out = f
        .model
        .set_devices(vec![device("201"), device("202"), device("203")]);
    let invoke = Fixture::send_invoke(&out);
    let out = f.model.response(
        invoke,
        Response::MonitorStarted {
            cross_ref: "m2".to_owned(),
        },
    );
    let snapshot = match out.as_slice() {
        [_, Output::Send { invoke, .. }, _, _] => *invoke,
        other => panic!("{other:?}"),
    };
    f.cross_ref = "m2".to_owned();
    let calls = vec![
        SnapshotCall {
            call: "x1".to_owned(),
            state: LocalState::Connected,
            other: known("202"),
        },
        SnapshotCall {
            call: "x2".to_owned(),
            state: LocalState::Alerting,
            other: known("+4971112"),
        },
    ];
    let out = f.model.response(snapshot, Response::Snapshot(calls));
    // c1 ended with the link; the calls the gateway still has come back as new TAPI calls.
    assert_eq!(
        f.render(out),
        [
            "NEWCALL c2",
            "STATE c2 CONNECTED/0x1",
            "NEWCALL c3",
            "STATE c3 OFFERING/0x1"
        ]
    );
    let view = f.model.call(f.handle("c3")).unwrap();
    assert_eq!(view.caller, Some(known("+4971112")));
    assert_eq!(view.origin, origin::EXTERNAL);
    // A later snapshot without x2 ends it.
    let mut out = Vec::new();
    f.model.apply_snapshot(
        0,
        vec![SnapshotCall {
            call: "x1".to_owned(),
            state: LocalState::Connected,
            other: known("202"),
        }],
        &mut out,
    );
    assert_eq!(f.render(out), ["STATE c3 IDLE/0x0"]);
}

#[test]
fn renumbered_open_line_moves_its_monitor() {
    let mut f = Fixture::new();
    let mut renumbered = device("201");
    renumbered.id = "301".to_owned();
    let out = f
        .model
        .set_devices(vec![renumbered, device("202"), device("203")]);
    assert_eq!(
        f.render(out),
        [
            "SEND MonitorStop { cross_ref: \"m1\" }",
            "SEND MonitorStart { device: \"301\" }"
        ]
    );
    assert_eq!(f.model.line_by_handle(f.line).unwrap().address, "301");
}

#[test]
fn device_list_changes_create_and_remove_lines_with_stable_ids() {
    let mut f = Fixture::new();
    let id_202 = f.model.line_by_device(12).unwrap().permanent_id;
    let out = f
        .model
        .set_devices(vec![device("201"), device("202"), device("204")]);
    assert_eq!(f.render(out), ["CREATE 4", "REMOVE 13"]);
    assert_eq!(f.model.line_by_device(13), None);
    assert_eq!(f.model.create_line(4, 14), Ok(()));
    assert_eq!(f.model.create_line(4, 15), Err(err::BADDEVICEID));
    assert_eq!(f.model.line_by_device(14).unwrap().address, "204");
    // Ids persist: a new model from the saved text knows every line under the same id.
    let saved = f.model.take_changed_ids().unwrap();
    assert_eq!(f.model.take_changed_ids(), None);
    // The same list again changes nothing that needs saving.
    f.model
        .set_devices(vec![device("201"), device("202"), device("204")]);
    assert_eq!(f.model.take_changed_ids(), None);
    let mut restarted = Model::new(LineIds::decode(&saved).unwrap(), LineFilter::default());
    restarted.set_device_id_base(0);
    assert_eq!(restarted.line_count(), 4, "201, 202, 203 and 204 are known");
    assert_eq!(restarted.line_by_device(1).unwrap().permanent_id, id_202);
    assert!(
        !restarted.line_by_device(1).unwrap().in_service,
        "out of service until the link is up"
    );
}

#[test]
fn line_filter_hides_other_lines() {
    let mut model = Model::new(LineIds::default(), LineFilter::parse("202"));
    model.link_up();
    let out = model.set_devices(vec![device("201"), device("202")]);
    assert_eq!(out, [Output::CreateLine { temp_id: 1 }]);
    model.create_line(1, 0).unwrap();
    assert_eq!(model.line_by_device(0).unwrap().address, "202");
}

#[test]
fn closing_a_line_completes_its_pending_requests_exactly_once() {
    let mut f = Fixture::new();
    f.connect("202");
    let out = f.model.hold(1, f.handle("c1")).unwrap();
    let invoke = Fixture::send_invoke(&out);
    let out = f.model.close_line(f.line).unwrap();
    let rendered = f.render(out);
    assert_eq!(
        rendered[0],
        format!("COMPLETE 1 {:#x}", err::OPERATIONFAILED)
    );
    assert!(rendered.contains(&"FORGET c1".to_owned()));
    assert!(rendered.last().unwrap().starts_with("SEND MonitorStop"));
    assert!(
        f.model.response(invoke, Response::Done).is_empty(),
        "no second completion"
    );
}

#[test]
fn generate_digits_reports_line_generate() {
    let mut f = Fixture::new();
    f.connect("202");
    let out = f.model.generate_digits(f.handle("c1"), 77, "12#").unwrap();
    let invoke = Fixture::send_invoke(&out);
    let out = f.model.response(invoke, Response::Done);
    assert_eq!(f.render(out), ["GENERATE c1 1 77 0"]);
}

#[test]
fn out_of_service_device_events_and_unknown_monitors() {
    let mut f = Fixture::new();
    let out = f.model.device_event("m1", DeviceEvent::OutOfService);
    assert_eq!(f.render(out), ["DEVSTATE 0x80"]);
    let out = f.model.device_event("m1", DeviceEvent::BackInService);
    assert_eq!(f.render(out), ["DEVSTATE 0x40"]);
    assert!(
        f.model
            .device_event("nope", DeviceEvent::OutOfService)
            .is_empty()
    );
    assert!(
        f.model
            .call_event(
                "nope",
                CallEvent::ServiceInitiated {
                    call: "x".to_owned()
                }
            )
            .is_empty()
    );
}

#[test]
fn call_features_follow_the_state() {
    let mut f = Fixture::new();
    f.offer("202");
    let view = f.model.call(f.handle("c1")).unwrap();
    assert_ne!(view.features & tapi::call_feature::ANSWER, 0);
    assert_eq!(view.features & tapi::call_feature::HOLD, 0);
    assert_eq!(f.state("c1"), (call_state::OFFERING, 1));
}

#[test]
fn invoke_ids_stay_below_the_session_range_and_wrap() {
    let mut model = Model::new(LineIds::default(), LineFilter::default());
    model.next_invoke = 8999;
    assert_eq!(model.next_free_invoke(), 8999);
    assert_eq!(model.next_free_invoke(), 1);
    assert!(!crate::connection::SESSION_INVOKES.contains(&8999));
}

/// The gateway's own sequences (see its bridge): the far end hanging up drops the far end's
/// connection first (the line's is still connected), then the line's own with the far end as
/// releasing device, then clears the call.
#[test]
fn far_end_hang_up_as_the_gateway_reports_it() {
    let mut f = Fixture::new();
    f.connect("202");
    let cleared = |dropped: &str, releasing: &str| CallEvent::ConnectionCleared {
        call: "x1".to_owned(),
        dropped: known(dropped),
        releasing: known(releasing),
        cause: Cause::Normal,
    };
    assert_eq!(
        f.event(cleared("202", "202")),
        ["STATE c1 DISCONNECTED/0x1"]
    );
    assert_eq!(f.event(cleared("201", "202")), ["STATE c1 IDLE/0x0"]);
    assert!(
        f.event(CallEvent::CallCleared {
            call: "x1".to_owned()
        })
        .is_empty()
    );
    // A caller who gives up: only the line's own connection is dropped, by the caller; TAPI
    // sees a missed call.
    let mut g = Fixture::new();
    g.offer("202");
    assert_eq!(
        g.event(CallEvent::ConnectionCleared {
            call: "x1".to_owned(),
            dropped: known("201"),
            releasing: known("202"),
            cause: Cause::Cancelled,
        }),
        [
            format!("STATE c1 DISCONNECTED/{:#x}", disconnect_mode::CANCELLED),
            "STATE c1 IDLE/0x0".to_owned()
        ]
    );
}

#[test]
fn own_hang_up_without_a_dropped_device_falls_back_to_the_releasing_one() {
    let mut f = Fixture::new();
    f.connect("202");
    let out = f.event(CallEvent::ConnectionCleared {
        call: "x1".to_owned(),
        dropped: Party::NotKnown,
        releasing: known("201"),
        cause: Cause::Normal,
    });
    assert_eq!(out, ["STATE c1 IDLE/0x0"]);
}

/// Lines 201-203 known from an earlier run, the provider started with line 201 open.
fn restarted_with_201_open() -> (Model, usize) {
    let mut first = Model::new(LineIds::default(), LineFilter::default());
    first.link_up();
    first.set_devices(vec![device("201"), device("202"), device("203")]);
    let saved = first.take_changed_ids().unwrap();
    let mut model = Model::new(LineIds::decode(&saved).unwrap(), LineFilter::default());
    model.set_device_id_base(0);
    let (line, out) = model.open_line(0, HT_LINE).unwrap();
    assert!(out.is_empty(), "no link, no monitor: {out:?}");
    (model, line)
}

#[test]
fn a_short_list_after_login_keeps_known_lines_out_of_service() {
    let (mut model, line) = restarted_with_201_open();
    model.link_up();
    // A gateway that has just started knows no line yet.
    assert!(model.set_devices(Vec::new()).is_empty(), "no LINE_REMOVE");
    assert!(!model.line_by_handle(line).unwrap().in_service);
    assert_eq!(model.line_by_device(2).unwrap().address, "203");
    // Its PBX link came up and it said so: the lines are back, the open one is monitored.
    let out = model.set_devices(vec![device("201"), device("202"), device("203")]);
    let invoke = match out.as_slice() {
        [
            Output::Send {
                invoke,
                request: Request::MonitorStart { device },
            },
        ] if device == "201" => *invoke,
        other => panic!("expected MonitorStart only, got {other:?}"),
    };
    let out = model.response(
        invoke,
        Response::MonitorStarted {
            cross_ref: "m1".to_owned(),
        },
    );
    assert!(matches!(
        out.as_slice(),
        [
            Output::Event {
                msg: msg::LINEDEVSTATE,
                param1,
                ..
            },
            Output::Send {
                request: Request::SnapshotDevice { .. },
                ..
            },
            Output::Send {
                request: Request::GetForwarding { .. },
                ..
            },
            Output::Send {
                request: Request::GetDoNotDisturb { .. },
                ..
            },
        ] if *param1 == dev_state::INSERVICE as usize
    ));
    // Within the session a line that disappears was deleted at the gateway: LINE_REMOVE.
    let out = model.set_devices(vec![device("201"), device("202")]);
    assert_eq!(out, [Output::RemoveLine { device_id: 2 }]);
}

#[test]
fn a_line_missing_after_login_is_not_monitored_until_it_is_listed() {
    let (mut model, line) = restarted_with_201_open();
    model.link_up();
    let out = model.set_devices(vec![device("202")]);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(
        model.make_call(1, line, 0x5, "202"),
        Err(err::RESOURCEUNAVAIL)
    );
    // A new session starts over: a list without 201 still does not remove it.
    model.link_down();
    model.link_up();
    assert!(model.set_devices(vec![device("202")]).is_empty());
    assert!(model.line_by_handle(line).is_some());
}

#[test]
fn the_listed_service_state_is_reported_for_open_lines() {
    let mut f = Fixture::new();
    let mut unregistered = device("201");
    unregistered.in_service = false;
    let out = f
        .model
        .set_devices(vec![unregistered, device("202"), device("203")]);
    assert_eq!(f.render(out), ["DEVSTATE 0x80"]);
    assert!(!f.model.line_by_handle(f.line).unwrap().in_service);
    // Reopened while unregistered: the monitor starts, the line stays out of service.
    f.model.close_line(f.line).unwrap();
    let (line, out) = f.model.open_line(11, HT_LINE).unwrap();
    let invoke = Fixture::send_invoke(&out);
    let out = f.model.response(
        invoke,
        Response::MonitorStarted {
            cross_ref: "m2".to_owned(),
        },
    );
    assert_eq!(
        f.render(out),
        [
            "LIST",
            "SEND SnapshotDevice { device: \"201\" }",
            "SEND GetForwarding { device: \"201\" }",
            "SEND GetDoNotDisturb { device: \"201\" }"
        ]
    );
    assert!(!f.model.line_by_handle(line).unwrap().in_service);
    // The phone registers: BackInService, and a later list agrees without a second event.
    f.cross_ref = "m2".to_owned();
    let out = f.model.device_event("m2", DeviceEvent::BackInService);
    assert_eq!(f.render(out), ["DEVSTATE 0x40"]);
    let out = f
        .model
        .set_devices(vec![device("201"), device("202"), device("203")]);
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn lost_messages_resynchronise_calls_from_snapshots() {
    let mut f = Fixture::new();
    f.offer("202");
    f.event(CallEvent::ServiceInitiated {
        call: "x2".to_owned(),
    });
    f.event(CallEvent::Delivered {
        call: "x2".to_owned(),
        alerting: known("203"),
        calling: known("201"),
        called: known("203"),
        last_redirection: Party::NotKnown,
        cause: Cause::Normal,
    });
    f.event(CallEvent::ServiceInitiated {
        call: "x3".to_owned(),
    });
    let out = f.model.resync();
    let (invoke, forwards, dnd) = line_state_requests(&out);
    // A forwarding set and do-not-disturb switched on while events were lost: each tells TAPI
    // once; the same answers again tell nothing.
    let out = f.model.response(
        forwards,
        Response::Forwards(vec![(ForwardKind::Immediate, "204".to_owned())]),
    );
    assert_eq!(f.render(out), ["ADDRESSSTATE 0x40"]);
    let out = f.model.response(dnd, Response::DoNotDisturb(true));
    assert_eq!(f.render(out), ["ADDRESSSTATE 0x40"]);
    let line = f.model.line_by_handle(f.line).unwrap();
    assert_eq!(line.forwards, [(ForwardKind::Immediate, "204".to_owned())]);
    assert!(line.dnd);
    let calls = vec![
        // Answered meanwhile.
        SnapshotCall {
            call: "x1".to_owned(),
            state: LocalState::Connected,
            other: known("202"),
        },
        // Still ringing at 203: CSTA's `connected` is TAPI's RINGBACK.
        SnapshotCall {
            call: "x2".to_owned(),
            state: LocalState::Connected,
            other: known("203"),
        },
        // New.
        SnapshotCall {
            call: "x4".to_owned(),
            state: LocalState::Hold,
            other: known("204"),
        },
    ];
    let out = f.model.response(invoke, Response::Snapshot(calls));
    assert_eq!(
        f.render(out),
        [
            "STATE c3 IDLE/0x0",
            "STATE c1 CONNECTED/0x1",
            "NEWCALL c4",
            "STATE c4 ONHOLD/0x0",
        ]
    );
    assert_eq!(f.state("c2").0, call_state::RINGBACK);
    // Without a monitor there is nothing to ask.
    f.model.link_down();
    assert!(f.model.resync().is_empty());
}

/// A consultation transfer as the gateway reports it to the consulted party: the transferring
/// device, the party itself as transferred-to device, and only its own connection moved to the
/// held call's id. The far end is not named: the transferring device is no longer shown as
/// connected, and the new call id is followed.
#[test]
fn consulted_party_of_a_transfer_follows_the_call_without_naming_a_wrong_far_end() {
    let mut f = Fixture::new();
    f.connect("202");
    let out = f.event(CallEvent::Transferred {
        primary_old: "x9".to_owned(),
        secondary_old: Some("x1".to_owned()),
        transferring: known("202"),
        transferred_to: known("201"),
        connections: vec![ConnectionMove {
            old_call: Some("x1".to_owned()),
            new_call: Some("x9".to_owned()),
            device: Some("201".to_owned()),
        }],
    });
    assert_eq!(out, ["INFO c1 0xa0000"]);
    let view = f.model.call(f.handle("c1")).unwrap();
    assert_eq!(view.connected, None);
    assert_eq!(view.redirecting, Some(known("202")));
    let out = f.event(CallEvent::ConnectionCleared {
        call: "x9".to_owned(),
        dropped: known("201"),
        releasing: known("201"),
        cause: Cause::Normal,
    });
    assert_eq!(out, ["STATE c1 IDLE/0x0"]);
}

/// A ringing call found by the snapshot of a monitor that started while it rang: the
/// Delivered event that follows fills in the reason and the called party.
#[test]
fn an_offer_seen_first_in_a_snapshot_learns_its_reason_from_the_event() {
    let mut f = Fixture::new();
    let mut out = Vec::new();
    f.model.apply_snapshot(
        0,
        vec![SnapshotCall {
            call: "x1".to_owned(),
            state: LocalState::Alerting,
            other: known("203"),
        }],
        &mut out,
    );
    assert_eq!(f.render(out), ["NEWCALL c1", "STATE c1 OFFERING/0x1"]);
    assert_eq!(
        f.model.call(f.handle("c1")).unwrap().reason,
        reason::UNKNOWN
    );
    let out = f.event(CallEvent::Delivered {
        call: "x1".to_owned(),
        alerting: known("201"),
        calling: known("203"),
        called: known("202"),
        last_redirection: known("202"),
        cause: Cause::ForwardBusy,
    });
    assert_eq!(out, ["INFO c1 0x90200"]);
    let view = f.model.call(f.handle("c1")).unwrap();
    assert_eq!(view.reason, reason::FWDBUSY);
    assert_eq!(view.called, Some(known("202")));
}

/// A gateway that has just started lists a line before its phone is known to be registered;
/// the line comes into service before the provider's monitor starts, so no event tells the
/// monitor. The provider asks for the list once more after the monitor started, once for all
/// lines that started out of service.
#[test]
fn a_stale_out_of_service_entry_is_checked_again_after_the_monitor_started() {
    let (mut model, line) = restarted_with_201_open();
    let (other, _) = model.open_line(1, 0x1_0000_0002).unwrap();
    model.link_up();
    let not_yet = |id| Device {
        in_service: false,
        ..device(id)
    };
    let out = model.set_devices(vec![not_yet("201"), not_yet("202"), device("203")]);
    let invokes: Vec<u16> = out
        .iter()
        .map(|output| match output {
            Output::Send {
                invoke,
                request: Request::MonitorStart { .. },
            } => *invoke,
            other => panic!("expected MonitorStart, got {other:?}"),
        })
        .collect();
    let started = |model: &mut Model, invoke: u16, cross_ref: &str| {
        model.response(
            invoke,
            Response::MonitorStarted {
                cross_ref: cross_ref.to_owned(),
            },
        )
    };
    let out = started(&mut model, invokes[0], "m1");
    assert!(
        matches!(
            out.as_slice(),
            [
                Output::ListDevices,
                Output::Send {
                    request: Request::SnapshotDevice { .. },
                    ..
                },
                Output::Send {
                    request: Request::GetForwarding { .. },
                    ..
                },
                Output::Send {
                    request: Request::GetDoNotDisturb { .. },
                    ..
                }
            ]
        ),
        "{out:?}"
    );
    let out = started(&mut model, invokes[1], "m2");
    assert!(
        !out.contains(&Output::ListDevices),
        "one list at a time: {out:?}"
    );
    // The newer list says in service: both open lines tell TAPI.
    let out = model.set_devices(vec![device("201"), device("202"), device("203")]);
    let in_service: Vec<usize> = out
        .iter()
        .filter_map(|output| match output {
            Output::Event {
                ht_line,
                msg: msg::LINEDEVSTATE,
                param1,
                ..
            } if *param1 == dev_state::INSERVICE as usize => Some(*ht_line),
            _ => None,
        })
        .collect();
    assert_eq!(in_service, [HT_LINE, 0x1_0000_0002], "{out:?}");
    assert!(model.line_by_handle(line).unwrap().in_service);
    assert!(model.line_by_handle(other).unwrap().in_service);
}
