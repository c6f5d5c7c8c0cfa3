//! Record sequences of every scenario, per user handle. These sequences are the contract the
//! README's simulator tables document.

use std::time::Duration;

use super::*;
use crate::records::{Msg, PartyRole, PresenceStatus};

const DIRECTORY: &str = r#"
[[node]]
name = "root"
[[node]]
name = "branch"
num = "8"

[[object]]
cn = "_TAPI_"
h323 = "_TAPI_"
password = "tapi"
groups = [{ name = "g", active = true }]

[[object]]
cn = "A"
e164 = "201"
h323 = "a"
groups = [{ name = "g" }, { name = "team" }]
devices = [{ hw = "a-phone" }]

[[object]]
cn = "B"
e164 = "202"
h323 = "b"
groups = [{ name = "g" }, { name = "team" }]
devices = [{ hw = "b-phone" }]

[[object]]
cn = "C"
e164 = "203"
h323 = "c"
groups = [{ name = "g" }, { name = "team" }]
devices = [{ hw = "c-phone" }]

[[object]]
cn = "D"
e164 = "204"
h323 = "d"
groups = [{ name = "g" }]
devices = [{ hw = "d1" }, { hw = "d2" }]

[[object]]
cn = "E"
e164 = "205"
h323 = "e"
groups = [{ name = "g" }]
devices = [{ hw = "e-sip", kind = "third-party" }]

[[object]]
cn = "Off"
e164 = "206"
groups = [{ name = "g" }]
devices = [{ hw = "off", registered = false }]

[[object]]
cn = "Remote"
e164 = "207"
loc = "slave"
groups = [{ name = "g" }]
devices = [{ hw = "r" }]

[[object]]
cn = "Outsider"
e164 = "208"
h323 = "outsider"
password = "secret"
devices = [{ hw = "o" }]

[[object]]
cn = "Trunk"
type = "gw"
e164 = "0"
groups = [{ name = "g" }]

[[object]]
cn = "Queue"
type = "waiting"
e164 = "250"
groups = [{ name = "g" }]

[[object]]
cn = "Group"
type = "broadcast"
e164 = "260"
groups = [{ name = "g" }]
members = ["B", "C"]

[[object]]
cn = "F"
e164 = "301"
node = "branch"
groups = [{ name = "g" }]
devices = [{ hw = "f-phone" }]
"#;

/// A model with one monitoring session; records are collected per handle.
struct Pbx {
    model: Model,
    session: i32,
    now: Duration,
    calls: Vec<CallInfo>,
    users: Vec<UserInfo>,
    last_call: BTreeMap<i32, i32>,
}

impl Pbx {
    fn new() -> Self {
        Self::with(SimConfig::default())
    }

    fn with(config: SimConfig) -> Self {
        let directory = Directory::from_toml(DIRECTORY).expect("test directory");
        let mut model = Model::new(config, directory);
        let (session, _) = model
            .initialize("_TAPI_", InitializeFlags::default(), Identity::Admin, None)
            .expect("session");
        let mut pbx = Self {
            model,
            session,
            now: Duration::ZERO,
            calls: Vec::new(),
            users: Vec::new(),
            last_call: BTreeMap::new(),
        };
        pbx.drain();
        pbx.users.clear();
        pbx
    }

    fn watch(&mut self, cn: &str) -> i32 {
        self.watch_with(cn, false, false, "")
    }

    fn watch_with(&mut self, cn: &str, xfer: bool, disc: bool, hw: &str) -> i32 {
        let handle = self
            .model
            .user_initialize(self.session, cn, xfer, disc, hw)
            .expect("session");
        assert_ne!(handle, 0, "{cn}");
        handle
    }

    fn drain(&mut self) {
        loop {
            let batch = self.model.poll(self.session).expect("session");
            if batch.is_empty() {
                return;
            }
            for info in &batch.call {
                self.last_call.insert(info.user, info.call);
            }
            self.calls.extend(batch.call);
            self.users.extend(batch.user);
        }
    }
    /// The records of one handle, formatted, since the last call; all are consumed.
    fn lines(&mut self, handle: i32) -> Vec<String> {
        self.records(handle).iter().map(line).collect()
    }

    /// Every record of a handle, raw.
    fn records(&mut self, handle: i32) -> Vec<CallInfo> {
        self.drain();
        let (mine, rest): (Vec<CallInfo>, Vec<CallInfo>) = std::mem::take(&mut self.calls)
            .into_iter()
            .partition(|info| info.user == handle);
        self.calls = rest;
        mine
    }
    /// (channel, alert) of every UserInfo posted for `cn` since the last call.
    fn counters(&mut self, cn: &str) -> Vec<(i32, i32)> {
        self.user_infos(cn)
            .iter()
            .map(|info| (info.channel, info.alert))
            .collect()
    }

    fn user_infos(&mut self, cn: &str) -> Vec<UserInfo> {
        self.drain();
        let (mine, rest): (Vec<UserInfo>, Vec<UserInfo>) = std::mem::take(&mut self.users)
            .into_iter()
            .partition(|info| info.cn == cn);
        self.users = rest;
        mine
    }

    fn assert_quiet(&mut self) {
        self.drain();
        assert!(
            self.calls.is_empty(),
            "unexpected records: {:#?}",
            self.calls.iter().map(line).collect::<Vec<_>>()
        );
        self.calls.clear();
    }

    /// The call handle in the latest record of a user handle.
    fn call_handle(&mut self, user: i32) -> i32 {
        self.drain();
        self.last_call
            .get(&user)
            .copied()
            .expect("the handle saw a call")
    }

    fn dial(&mut self, from: &str, to: &str) -> CallRef {
        self.model.dial(from, to, self.now).expect("dial")
    }
}

/// [`record_line`], checking on the way that only `del` is inactive.
fn line(info: &CallInfo) -> String {
    if !info.active {
        assert_eq!(info.msg, Msg::Del, "only del is inactive");
    }
    record_line(info)
}

fn conf_of(records: &[CallInfo]) -> String {
    let confs: BTreeSet<&str> = records.iter().filter_map(CallInfo::conf).collect();
    assert_eq!(confs.len(), 1, "one conf per leg: {confs:?}");
    confs.into_iter().next().unwrap_or_default().to_owned()
}

#[test]
fn initialize_dumps_the_scope_and_ends_with_an_empty_record() {
    let directory = Directory::from_toml(DIRECTORY).expect("directory");
    let config = SimConfig {
        poll_batch: 5,
        ..SimConfig::default()
    };
    let mut model = Model::new(config, directory);
    let (session, key) = model
        .initialize("_TAPI_", InitializeFlags::default(), Identity::Admin, None)
        .expect("session");
    assert_eq!(session, 1);
    assert_ne!(key, 0);
    let mut batches = Vec::new();
    loop {
        let batch = model.poll(session).expect("session");
        if batch.is_empty() {
            break;
        }
        assert!(batch.user.len() <= 5);
        batches.push(batch.user.iter().map(|u| u.cn.clone()).collect::<Vec<_>>());
    }
    let all: Vec<String> = batches.concat();
    assert_eq!(
        all,
        [
            "_TAPI_", "A", "B", "C", "D", "E", "Off", "Remote", "Trunk", "Queue", "Group", "F", ""
        ],
        "the dump lists the scope (not Outsider) in directory order"
    );
    assert_eq!(batches.len(), 3, "13 records in batches of 5");
    assert_eq!(model.poll(99), Err(UnknownSession { session: 99 }));
}

#[test]
fn user_info_fields_follow_the_session_version() {
    let directory = Directory::from_toml(DIRECTORY).expect("directory");
    let mut model = Model::new(SimConfig::default(), directory);
    let pbx800 = crate::envelope::WsdlVersion::Pbx800.flags();
    let (old, _) = model
        .initialize("_TAPI_", pbx800, Identity::Admin, None)
        .expect("session");
    let (new, _) = model
        .initialize("_TAPI_", InitializeFlags::default(), Identity::Admin, None)
        .expect("session");
    let dump = |model: &mut Model, session: i32| model.poll(session).expect("session").user;
    let find =
        |dump: &[UserInfo], cn: &str| dump.iter().find(|u| u.cn == cn).cloned().expect("record");
    let (old_dump, new_dump) = (dump(&mut model, old), dump(&mut model, new));
    let a_old = find(&old_dump, "A");
    let a_new = find(&new_dump, "A");
    assert!(a_old.presence.is_some() && a_new.presence.is_some());
    assert_eq!(a_new.domain, "sim.pbx.example");
    assert!(a_old.domain.is_empty());
    assert_eq!(
        (
            a_new.state,
            a_new.kind.as_str(),
            a_new.node.as_str(),
            a_new.nodenum.as_str()
        ),
        (1, "ep", "root", "")
    );
    assert_eq!(a_new.guid.len(), 32);
    let pbx700 = InitializeFlags {
        v800: false,
        vx1000: false,
        ..InitializeFlags::default()
    };
    let (oldest, _) = model
        .initialize("_TAPI_", pbx700, Identity::Admin, None)
        .expect("session");
    assert!(
        find(&dump(&mut model, oldest), "A").presence.is_none(),
        "no presence before pbx800"
    );
    let f = find(&new_dump, "F");
    assert_eq!((f.node.as_str(), f.nodenum.as_str()), ("branch", "8"));
    let remote = find(&new_dump, "Remote");
    assert_eq!(remote.loc, "slave");
    let off = find(&new_dump, "Off");
    assert_eq!(off.state, 0);
    let trunk = find(&new_dump, "Trunk");
    assert_eq!((trunk.kind.as_str(), trunk.state), ("gw", 1));
}

#[test]
fn sessions_check_identity_keys_and_restart() {
    let directory = Directory::from_toml(DIRECTORY).expect("directory");
    let mut model = Model::new(SimConfig::default(), directory);
    assert_eq!(
        model.initialize("Nobody", InitializeFlags::default(), Identity::Admin, None),
        None
    );
    let outsider = model
        .authenticate("outsider", "secret")
        .expect("user login");
    assert_eq!(model.authenticate("outsider", "wrong"), None);
    assert_eq!(model.authenticate("admin", "ip800"), Some(Identity::Admin));
    assert_eq!(
        model.initialize("A", InitializeFlags::default(), outsider, None),
        None,
        "only as itself"
    );
    let (own, _) = model
        .initialize("Outsider", InitializeFlags::default(), outsider, None)
        .expect("own session");
    let dump = model.poll(own).expect("session");
    assert_eq!(
        dump.user.iter().map(|u| u.cn.as_str()).collect::<Vec<_>>(),
        ["Outsider", ""],
        "scope is itself"
    );

    let (session, key) = model
        .initialize("_TAPI_", InitializeFlags::default(), Identity::Admin, None)
        .expect("session");
    assert_eq!(model.echo(session, key), 1);
    assert_eq!(model.echo(session, key.wrapping_add(1)), 0);
    let handle = model
        .user_initialize(session, "A", false, false, "")
        .expect("session");
    model.restart();
    assert_eq!(model.echo(session, key), 0, "restart ends every session");
    assert_eq!(model.session_count(), 0);
    let woken = model.take_woken();
    assert!(
        woken.contains(&session),
        "pending polls learn that the session is gone"
    );
    let (again, new_key) = model
        .initialize("_TAPI_", InitializeFlags::default(), Identity::Admin, None)
        .expect("session");
    assert_eq!(again, 1, "handles are issued from 1 again");
    assert_ne!(new_key, key);
    assert_eq!(
        model
            .user_initialize(again, "A", false, false, "")
            .expect("session"),
        handle
    );
    model.end(again);
    assert_eq!(model.echo(again, new_key), 0);
    assert_eq!(
        model.user_initialize(again, "A", false, false, ""),
        Err(UnknownSession { session: again })
    );
}

#[test]
fn sessions_expire_after_their_last_connection_closes() {
    let directory = Directory::from_toml(DIRECTORY).expect("directory");
    let config = SimConfig {
        session_expiry: Duration::from_secs(5),
        ..SimConfig::default()
    };
    let mut model = Model::new(config, directory);
    let (session, key) = model
        .initialize(
            "_TAPI_",
            InitializeFlags::default(),
            Identity::Admin,
            Some(1),
        )
        .expect("session");
    model.attach(session, 2);
    model.connection_closed(1, Duration::from_secs(1));
    assert_eq!(model.next_deadline(), None, "connection 2 still carries it");
    model.connection_closed(2, Duration::from_secs(2));
    assert_eq!(model.next_deadline(), Some(Duration::from_secs(7)));
    model.tick(Duration::from_secs(6));
    assert_eq!(model.echo(session, key), 1);
    model.attach(session, 3);
    assert_eq!(model.next_deadline(), None, "a new connection rescues it");
    model.connection_closed(3, Duration::from_secs(10));
    model.tick(Duration::from_secs(15));
    assert_eq!(model.echo(session, key), 0);
}

#[test]
fn internal_call_answered_and_cleared_by_the_caller() {
    let mut pbx = Pbx::new();
    let (a, b) = (pbx.watch("A"), pbx.watch("B"));
    let call = pbx.dial("A", "202");
    let a_records = pbx.records(a);
    assert_eq!(
        a_records.iter().map(line).collect::<Vec<_>>(),
        [
            "r-setup 0x1 peer=202",
            "x-call-proc 0x3 peer=202",
            "x-alert 0x4 peer=202"
        ]
    );
    let b_records = pbx.records(b);
    assert_eq!(
        b_records.iter().map(line).collect::<Vec<_>>(),
        ["x-setup 0x81 peer=201", "r-alert 0x84 peer=201"]
    );
    assert_eq!(
        conf_of(&a_records),
        conf_of(&b_records),
        "both legs share the conference id"
    );
    assert_eq!(conf_of(&a_records), pbx.model.conf(call).expect("call"));
    assert_ne!(
        a_records[0].call, b_records[0].call,
        "each handle has its own call handle"
    );
    let this = a_records[0].party(&PartyRole::This).expect("this");
    assert_eq!(
        (this.cn.as_str(), this.e164.as_str(), this.h323.as_str()),
        ("A", "201", "a")
    );
    let peer = b_records[0].party(&PartyRole::Peer).expect("peer");
    assert_eq!((peer.cn.as_str(), peer.dn.as_str()), ("A", "A"));
    assert_eq!(pbx.counters("A"), [(1, 0)]);
    assert_eq!(pbx.counters("B"), [(1, 1)]);

    pbx.model.answer(call, "B", pbx.now).expect("answer");
    assert_eq!(pbx.lines(b), ["r-conn 0x85 peer=201"]);
    assert_eq!(pbx.lines(a), ["x-conn 0x5 peer=202"]);
    assert_eq!(pbx.counters("B"), [(1, 0)]);

    pbx.model.hangup(call, "A", pbx.now).expect("hangup");
    assert_eq!(
        pbx.lines(a),
        ["r-rel 0x6 peer=202 cause=16", "del 0x6 peer=202 cause=16"]
    );
    assert_eq!(
        pbx.lines(b),
        ["x-rel 0x87 peer=201 cause=16", "del 0x87 peer=201 cause=16"]
    );
    assert_eq!(pbx.counters("A"), [(0, 0)]);
    assert_eq!(pbx.counters("B"), [(0, 0)]);
    assert!(!pbx.model.has_call(call));
    assert_eq!(
        pbx.model.hangup(call, "A", pbx.now),
        Err(ScenarioError::UnknownCall { call })
    );
}

#[test]
fn callee_clears_and_caller_abandons() {
    let mut pbx = Pbx::new();
    let (a, b) = (pbx.watch("A"), pbx.watch("B"));
    let call = pbx.dial("A", "202");
    pbx.model.answer(call, "B", pbx.now).expect("answer");
    pbx.lines(a);
    pbx.lines(b);
    pbx.model.hangup(call, "B", pbx.now).expect("hangup");
    assert_eq!(
        pbx.lines(b),
        ["r-rel 0x86 peer=201 cause=16", "del 0x86 peer=201 cause=16"]
    );
    assert_eq!(
        pbx.lines(a),
        ["x-rel 0x7 peer=202 cause=16", "del 0x7 peer=202 cause=16"]
    );

    let call = pbx.dial("A", "202");
    pbx.lines(a);
    pbx.lines(b);
    pbx.model.hangup(call, "A", pbx.now).expect("abandon");
    assert_eq!(
        pbx.lines(a),
        ["r-rel 0x6 peer=202 cause=16", "del 0x6 peer=202 cause=16"]
    );
    assert_eq!(
        pbx.lines(b),
        ["x-rel 0x87 peer=201 cause=16", "del 0x87 peer=201 cause=16"]
    );
    assert_eq!(pbx.model.call_count(), 0);
}

#[test]
fn busy_unallocated_absent_and_self_calls_fail_with_their_cause() {
    let mut pbx = Pbx::new();
    let (a, b) = (pbx.watch("A"), pbx.watch("B"));
    let call = pbx.dial("A", "202");
    pbx.lines(a);
    pbx.lines(b);
    pbx.model.busy(call, "B", pbx.now).expect("busy");
    assert_eq!(
        pbx.lines(b),
        ["r-rel 0x86 peer=201 cause=17", "del 0x86 peer=201 cause=17"]
    );
    assert_eq!(
        pbx.lines(a),
        ["x-rel 0x7 peer=202 cause=17", "del 0x7 peer=202 cause=17"]
    );

    pbx.dial("A", "299");
    assert_eq!(
        pbx.lines(a),
        [
            "r-setup 0x1 peer=299",
            "x-call-proc 0x3 peer=299",
            "x-rel 0x7 peer=299 cause=1",
            "del 0x7 peer=299 cause=1"
        ]
    );
    pbx.dial("A", "20");
    assert_eq!(
        pbx.lines(a)[2],
        "x-rel 0x7 peer=20 cause=28",
        "a prefix of numbers is incomplete"
    );
    pbx.dial("A", "206");
    assert_eq!(
        pbx.lines(a)[2],
        "x-rel 0x7 peer=206 cause=20",
        "no registered device"
    );
    pbx.dial("A", "201");
    assert_eq!(
        pbx.lines(a)[2],
        "x-rel 0x7 peer=201 cause=17",
        "calling oneself is busy"
    );
    pbx.dial("A", "207");
    assert_eq!(
        pbx.lines(a)[2],
        "x-rel 0x7 peer=207 cause=3",
        "homed at another PBX"
    );
    assert_eq!(pbx.model.call_count(), 0);
    assert_eq!(
        pbx.model.dial("Remote", "201", pbx.now),
        Err(ScenarioError::Foreign {
            who: "Remote".into(),
            loc: "slave".into()
        })
    );
    assert_eq!(
        pbx.model.dial("Off", "201", pbx.now),
        Err(ScenarioError::NotRegistered { who: "Off".into() })
    );
    assert_eq!(
        pbx.model.dial("Nobody", "201", pbx.now),
        Err(ScenarioError::UnknownObject {
            name: "Nobody".into()
        })
    );
}

#[test]
fn hold_and_retrieve_flag_both_legs() {
    let mut pbx = Pbx::new();
    let (a, b) = (pbx.watch("A"), pbx.watch("B"));
    let call = pbx.dial("A", "202");
    pbx.model.answer(call, "B", pbx.now).expect("answer");
    pbx.lines(a);
    pbx.lines(b);
    pbx.model.hold(call, "A").expect("hold");
    assert_eq!(pbx.lines(a), ["r-fty 0x105 peer=202"]);
    assert_eq!(pbx.lines(b), ["x-fty 0x285 peer=201"]);
    assert!(matches!(
        pbx.model.hold(call, "A"),
        Err(ScenarioError::InvalidState { state: 0x105, .. })
    ));
    pbx.model.retrieve(call, "A").expect("retrieve");
    assert_eq!(pbx.lines(a), ["r-fty 0x5 peer=202"]);
    assert_eq!(pbx.lines(b), ["x-fty 0x85 peer=201"]);
    pbx.model.hold(call, "B").expect("the callee holds");
    assert_eq!(pbx.lines(b), ["r-fty 0x185 peer=201"]);
    assert_eq!(pbx.lines(a), ["x-fty 0x205 peer=202"]);
}

#[test]
fn remote_control_code_4_toggles_a_three_party_conference() {
    let mut pbx = Pbx::new();
    let (a, b, c) = (pbx.watch("A"), pbx.watch("B"), pbx.watch("C"));
    let first = pbx.dial("B", "201");
    pbx.model.answer(first, "A", pbx.now).expect("answer");
    pbx.model.hold(first, "A").expect("hold");
    let second = pbx.dial("A", "203");
    pbx.model.answer(second, "C", pbx.now).expect("answer");
    let active = pbx.records(a).last().expect("records").call;
    pbx.lines(b);
    pbx.lines(c);
    pbx.model.user_rc(active, 4);
    assert_eq!(pbx.lines(a), ["r-fty 0x85 peer=202"], "the held call joins");
    assert_eq!(pbx.lines(b), ["x-fty 0x5 peer=201"]);
    assert!(pbx.lines(c).is_empty());
    pbx.model.user_rc(active, 4);
    assert_eq!(
        pbx.lines(a),
        ["r-fty 0x185 peer=202"],
        "the other call is held again"
    );
    pbx.model.user_rc(active, 8);
    assert!(pbx.lines(a).is_empty(), "other codes leave no records");
}

#[test]
fn consultation_transfer_connects_the_peers() {
    let mut pbx = Pbx::new();
    let (a, b, c) = (pbx.watch("A"), pbx.watch("B"), pbx.watch("C"));
    let first = pbx.dial("B", "201");
    pbx.model.answer(first, "A", pbx.now).expect("answer");
    pbx.model.hold(first, "A").expect("hold");
    let second = pbx.dial("A", "203");
    pbx.model.answer(second, "C", pbx.now).expect("answer");
    let b_conf = conf_of(&pbx.records(b));
    pbx.lines(a);
    pbx.lines(c);
    pbx.model
        .transfer(first, second, "A", pbx.now)
        .expect("transfer");
    assert_eq!(
        pbx.lines(b),
        ["r-ct 0x5 peer=203 ct=201"],
        "B (the held caller) now talks to C"
    );
    let c_records = pbx.records(c);
    assert_eq!(
        c_records.iter().map(line).collect::<Vec<_>>(),
        ["r-ct 0x85 peer=202 ct=201"]
    );
    assert_eq!(
        conf_of(&c_records),
        b_conf,
        "C's leg joins the first call's conference"
    );
    assert_eq!(
        pbx.lines(a),
        [
            "r-rel 0x186 peer=202",
            "del 0x186 peer=202",
            "r-rel 0x6 peer=203",
            "del 0x6 peer=203"
        ],
        "the transferring user leaves both calls"
    );
    assert!(
        !pbx.model.has_call(second),
        "the calls merged into the first"
    );
    pbx.model.hangup(first, "C", pbx.now).expect("hangup");
    assert_eq!(
        pbx.lines(c),
        [
            "r-rel 0x86 peer=202 ct=201 cause=16",
            "del 0x86 peer=202 ct=201 cause=16"
        ]
    );
    assert_eq!(
        pbx.lines(b),
        [
            "x-rel 0x7 peer=203 ct=201 cause=16",
            "del 0x7 peer=203 ct=201 cause=16"
        ]
    );
    pbx.assert_quiet();
}

#[test]
fn blind_transfer_with_xfer_keeps_the_transferring_handle_informed() {
    let mut pbx = Pbx::new();
    let (b, c) = (pbx.watch("B"), pbx.watch("C"));
    let a = pbx.watch_with("A", true, false, "");
    let a_plain = pbx.watch("A");
    let first = pbx.dial("B", "201");
    pbx.model.answer(first, "A", pbx.now).expect("answer");
    pbx.model.hold(first, "A").expect("hold");
    let second = pbx.dial("A", "203");
    for handle in [a, a_plain, b, c] {
        pbx.lines(handle);
    }
    pbx.model
        .transfer(first, second, "A", pbx.now)
        .expect("transfer while C rings");
    assert_eq!(pbx.lines(b), ["r-ct 0x5 peer=203 ct=201"]);
    assert_eq!(pbx.lines(c), ["r-ct 0x84 peer=202 ct=201"]);
    assert_eq!(
        pbx.lines(a),
        [
            "r-ct 0x84 peer=202 xfer=203",
            "r-rel 0x6 peer=203",
            "del 0x6 peer=203"
        ],
        "with xfer the first call stays visible, marked with the xfer target"
    );
    assert_eq!(
        pbx.lines(a_plain),
        [
            "r-rel 0x186 peer=202",
            "del 0x186 peer=202",
            "r-rel 0x6 peer=203",
            "del 0x6 peer=203"
        ]
    );
    pbx.model
        .answer(first, "C", pbx.now)
        .expect("C answers the transferred call");
    assert_eq!(pbx.lines(c), ["r-conn 0x85 peer=202 ct=201"]);
    assert_eq!(pbx.lines(b), ["x-conn 0x5 peer=203 ct=201"]);
    assert_eq!(pbx.lines(a), ["x-conn 0x85 peer=202 xfer=203"]);
    pbx.model.hangup(first, "B", pbx.now).expect("hangup");
    assert_eq!(
        pbx.lines(b),
        [
            "r-rel 0x6 peer=203 ct=201 cause=16",
            "del 0x6 peer=203 ct=201 cause=16"
        ]
    );
    assert_eq!(
        pbx.lines(c),
        [
            "x-rel 0x87 peer=202 ct=201 cause=16",
            "del 0x87 peer=202 ct=201 cause=16"
        ]
    );
    assert_eq!(
        pbx.lines(a),
        [
            "x-rel 0x87 peer=202 xfer=203 cause=16",
            "del 0x87 peer=202 xfer=203 cause=16"
        ]
    );
    assert_eq!(pbx.model.call_count(), 0);
    pbx.assert_quiet();
}

#[test]
fn forwards_apply_with_leg2_parties() {
    let mut pbx = Pbx::new();
    let (a, b, c) = (pbx.watch("A"), pbx.watch("B"), pbx.watch("C"));
    pbx.model
        .set_forward("B", ForwardKind::Unconditional, Some("203"))
        .expect("cfu");
    pbx.dial("A", "202");
    assert_eq!(
        pbx.lines(b),
        Vec::<String>::new(),
        "cfu: B is not offered the call"
    );
    assert_eq!(
        pbx.lines(c),
        [
            "x-setup 0x81 peer=201 leg2orig=202 leg2=202",
            "r-alert 0x84 peer=201 leg2orig=202 leg2=202"
        ]
    );
    assert_eq!(
        pbx.lines(a),
        [
            "r-setup 0x1 peer=202",
            "x-call-proc 0x3 peer=202",
            "x-alert 0x4 peer=203 leg2orig=202 leg2=202"
        ]
    );
    let mut pbx = Pbx::new();
    let (a, c, d) = (pbx.watch("A"), pbx.watch("C"), pbx.watch("D"));
    // A chain: B cfu → C, C cfu → D.
    pbx.model
        .set_forward("B", ForwardKind::Unconditional, Some("203"))
        .expect("cfu");
    pbx.model
        .set_forward("C", ForwardKind::Unconditional, Some("204"))
        .expect("cfu");
    pbx.dial("A", "202");
    assert_eq!(pbx.lines(c), Vec::<String>::new());
    assert_eq!(
        pbx.lines(d)[0],
        "x-setup 0x81 peer=201 leg2orig=202 leg2=203"
    );
    assert_eq!(
        pbx.lines(a)[2],
        "x-alert 0x4 peer=204 leg2orig=202 leg2=203"
    );
    // A loop is cut after five diversions.
    pbx.model
        .set_forward("D", ForwardKind::Unconditional, Some("202"))
        .expect("cfu");
    pbx.dial("A", "202");
    assert_eq!(
        pbx.lines(a)[2],
        "x-rel 0x7 peer=202 leg2orig=202 leg2=203 cause=3",
        "B, C, D, B, C: the sixth diversion is refused"
    );
}

#[test]
fn busy_and_no_answer_forwards() {
    let mut pbx = Pbx::with(SimConfig {
        no_answer: Duration::from_secs(15),
        ..SimConfig::default()
    });
    let (a, b, c) = (pbx.watch("A"), pbx.watch("B"), pbx.watch("C"));
    pbx.model
        .set_forward("B", ForwardKind::Busy, Some("203"))
        .expect("cfb");
    pbx.model
        .set_forward("B", ForwardKind::NoAnswer, Some("203"))
        .expect("cfnr");
    let call = pbx.dial("A", "202");
    pbx.lines(a);
    pbx.lines(b);
    pbx.model.busy(call, "B", pbx.now).expect("reject");
    assert_eq!(
        pbx.lines(b),
        ["r-rel 0x86 peer=201 cause=17", "del 0x86 peer=201 cause=17"]
    );
    assert_eq!(pbx.lines(a), ["x-alert 0x4 peer=203 leg2orig=202 leg2=202"]);
    assert_eq!(
        pbx.lines(c),
        [
            "x-setup 0x81 peer=201 leg2orig=202 leg2=202",
            "r-alert 0x84 peer=201 leg2orig=202 leg2=202"
        ]
    );
    pbx.model.hangup(call, "A", pbx.now).expect("hangup");
    for handle in [a, b, c] {
        pbx.lines(handle);
    }

    pbx.now = Duration::from_secs(100);
    let call = pbx.dial("A", "202");
    pbx.lines(a);
    pbx.lines(b);
    assert_eq!(pbx.model.next_deadline(), Some(Duration::from_secs(115)));
    pbx.model.tick(Duration::from_secs(114));
    pbx.assert_quiet();
    pbx.model.tick(Duration::from_secs(115));
    assert_eq!(
        pbx.lines(b),
        ["x-rel 0x87 peer=201 cause=19", "del 0x87 peer=201 cause=19"]
    );
    assert_eq!(pbx.lines(a), ["x-alert 0x4 peer=203 leg2orig=202 leg2=202"]);
    assert_eq!(pbx.lines(c).len(), 2);
    pbx.model.answer(call, "C", pbx.now).expect("answer");
    assert_eq!(
        pbx.model.next_deadline(),
        None,
        "no timer for C, which has no cfnr"
    );
    pbx.lines(a);

    // cfnr also applies when no device is registered.
    pbx.model
        .set_forward("Off", ForwardKind::NoAnswer, Some("202"))
        .expect("cfnr");
    pbx.model
        .set_forward("B", ForwardKind::NoAnswer, None)
        .expect("clear");
    pbx.dial("A", "206");
    assert_eq!(
        pbx.lines(a)[2],
        "x-alert 0x4 peer=202 leg2orig=206 leg2=206"
    );
}

#[test]
fn busy_on_busy_and_dnd_reject_new_calls() {
    let mut pbx = Pbx::new();
    let a = pbx.watch("A");
    pbx.model
        .set_presence(
            "B",
            Presence {
                activity: Some("dnd".into()),
                ..Presence::default()
            },
        )
        .expect("dnd");
    pbx.dial("A", "202");
    assert_eq!(pbx.lines(a)[2], "x-rel 0x7 peer=202 cause=17");
    let b = pbx.user_infos("B");
    assert_eq!(b.len(), 1);
    assert!(b[0].presence.as_ref().is_some_and(Presence::dnd));
}

#[test]
fn phone_side_forward_changes_post_cfg_except_clearing() {
    let mut pbx = Pbx::new();
    pbx.model
        .set_forward("B", ForwardKind::Unconditional, Some("203"))
        .expect("set");
    let infos = pbx.user_infos("B");
    assert_eq!(infos.len(), 1);
    assert!(infos[0].cfg);
    pbx.model
        .set_forward("B", ForwardKind::Unconditional, None)
        .expect("clear");
    assert!(
        pbx.user_infos("B").is_empty(),
        "clearing on the phone posts nothing"
    );
    let mut pbx = Pbx::with(SimConfig {
        phone_clear_posts_cfg: true,
        ..SimConfig::default()
    });
    pbx.model
        .set_forward("B", ForwardKind::Busy, None)
        .expect("clear");
    assert_eq!(pbx.user_infos("B").len(), 1);
}

#[test]
fn redirect_deflects_without_the_targets_forwards() {
    let mut pbx = Pbx::new();
    let (a, b, c) = (pbx.watch("A"), pbx.watch("B"), pbx.watch("C"));
    pbx.model
        .set_forward("C", ForwardKind::Unconditional, Some("204"))
        .expect("cfu");
    pbx.lines(c);
    let call = pbx.dial("A", "202");
    pbx.lines(a);
    pbx.lines(b);
    pbx.model
        .redirect(call, "B", "203", pbx.now)
        .expect("redirect");
    assert_eq!(pbx.lines(b), ["x-rel 0x87 peer=201", "del 0x87 peer=201"]);
    assert_eq!(
        pbx.lines(c),
        [
            "x-setup 0x81 peer=201 leg2orig=202 leg2=202",
            "r-alert 0x84 peer=201 leg2orig=202 leg2=202"
        ]
    );
    assert_eq!(pbx.lines(a), ["x-alert 0x4 peer=203 leg2orig=202 leg2=202"]);
    assert!(
        pbx.model.redirect(call, "C", "299", pbx.now).is_err(),
        "an unallocated target is refused"
    );
    // UserReroute obeys C's cfu.
    let handle = pbx.call_handle(c);
    assert!(
        pbx.model
            .user_redirect(handle, "", "202", "", true, pbx.now)
    );
    assert_eq!(
        pbx.lines(c),
        [
            "x-rel 0x87 peer=201 leg2orig=202 leg2=202",
            "del 0x87 peer=201 leg2orig=202 leg2=202"
        ]
    );
    assert_eq!(
        pbx.lines(b)[0],
        "x-setup 0x81 peer=201 leg2orig=202 leg2=203"
    );
}

#[test]
fn park_and_unpark() {
    let mut pbx = Pbx::new();
    let (a, b, c) = (pbx.watch("A"), pbx.watch("B"), pbx.watch("C"));
    let call = pbx.dial("A", "202");
    pbx.model.answer(call, "B", pbx.now).expect("answer");
    let b_handle = pbx.call_handle(b);
    pbx.lines(a);
    pbx.lines(b);
    let parked = pbx.model.user_park(b_handle, "", -1, pbx.now);
    assert_ne!(parked, 0);
    assert_eq!(
        pbx.lines(b),
        [
            "x-fty 0x8 peer=201",
            "r-rel 0x86 peer=201 parked-to=202",
            "del 0x86 peer=201 parked-to=202"
        ],
        "B parks A at itself: a parked leg (state 8) appears, B's leg is released with parked-to"
    );
    assert_eq!(
        pbx.lines(a),
        ["x-fty 0x205 peer=202"],
        "A is held by the park position"
    );
    assert_eq!(
        pbx.user_infos("B").last().map(|u| u.channel),
        Some(0),
        "a parked call is no channel"
    );
    // C un-parks it with UserPickup on the handle UserPark returned.
    let picked = pbx.model.user_pickup(c, "", parked, "", pbx.now);
    assert_ne!(picked, 0);
    assert_eq!(
        pbx.lines(c),
        [
            "r-setup 0x1 peer=201 picking=- ct=202",
            "x-conn 0x5 peer=201 picking=- ct=202"
        ]
    );
    assert_eq!(
        pbx.lines(b),
        ["x-rel 0x7 peer=201 cause=26", "del 0x7 peer=201 cause=26"]
    );
    assert_eq!(pbx.lines(a), ["r-ct 0x5 peer=203"]);
    assert_eq!(pbx.model.user_park(picked, "Nobody", -1, pbx.now), 0);
    // Park at another object and position, then the position is taken.
    pbx.model
        .park(call, "C", Some("Queue"), 3, pbx.now)
        .expect("park at the queue");
    let call2 = pbx.dial("B", "201");
    pbx.model.answer(call2, "A", pbx.now).expect("answer");
    assert_eq!(
        pbx.model.park(call2, "A", Some("Queue"), 3, pbx.now),
        Err(ScenarioError::ParkPositionTaken {
            at: "Queue".into(),
            position: 3
        })
    );
    pbx.model
        .pickup(call, "B", pbx.now)
        .expect("B un-parks from the queue");
    assert_eq!(
        pbx.model.snapshot().call(call).map(|c| c
            .legs
            .iter()
            .map(|l| l.cn.clone())
            .collect::<Vec<_>>()),
        Some(vec!["A".to_owned(), "B".to_owned()])
    );
}

#[test]
fn pickup_takes_a_ringing_call() {
    let mut pbx = Pbx::new();
    let (a, b, c) = (pbx.watch("A"), pbx.watch("B"), pbx.watch("C"));
    let call = pbx.dial("A", "202");
    pbx.lines(a);
    pbx.lines(b);
    let picked = pbx.model.user_pickup(c, "", 0, "team", pbx.now);
    assert_ne!(picked, 0, "group pickup finds B's ringing call");
    assert_eq!(
        pbx.lines(c),
        [
            "r-setup 0x1 peer=201 picking=- ct=202",
            "x-conn 0x5 peer=201 picking=- ct=202"
        ]
    );
    assert_eq!(
        pbx.lines(b),
        ["x-rel 0x87 peer=201 cause=26", "del 0x87 peer=201 cause=26"]
    );
    assert_eq!(pbx.lines(a), ["x-conn 0x5 peer=203"]);
    pbx.model.hangup(call, "C", pbx.now).expect("hangup");
    assert_eq!(
        pbx.model.user_pickup(c, "", 0, "", pbx.now),
        0,
        "nothing rings"
    );
    let call = pbx.dial("A", "202");
    pbx.model
        .pickup(call, "C", pbx.now)
        .expect("scenario pickup");
    assert_eq!(
        pbx.model.snapshot().call(call).map(|c| c.legs.len()),
        Some(2)
    );
}

#[test]
fn dtmf_and_info_items() {
    let mut pbx = Pbx::new();
    let (a, b) = (pbx.watch("A"), pbx.watch("B"));
    let call = pbx.dial("A", "202");
    pbx.model.answer(call, "B", pbx.now).expect("answer");
    pbx.lines(a);
    pbx.lines(b);
    pbx.model.dtmf(call, "A", "12#").expect("dtmf");
    assert_eq!(pbx.lines(a), ["r-info 0x5 peer=202 dtmf=12#"]);
    assert_eq!(pbx.lines(b), ["x-info 0x85 peer=201 dtmf=12#"]);
    let a_call = pbx.call_handle(a);
    pbx.model
        .user_send_info(a_call, true, &[Info::string("uui", "hello")]);
    assert_eq!(pbx.lines(a), ["x-info 0x5 peer=202 uui=hello"]);
    pbx.assert_quiet();
}

#[test]
fn external_calls_through_the_trunk() {
    let mut pbx = Pbx::new();
    let (a, trunk) = (pbx.watch("A"), pbx.watch("Trunk"));
    let call = pbx
        .model
        .external_call("0301234567", "201", pbx.now)
        .expect("incoming");
    assert_eq!(
        pbx.lines(trunk),
        [
            "r-setup 0x1 peer=201",
            "x-call-proc 0x3 peer=201",
            "x-alert 0x4 peer=201"
        ]
    );
    let records = pbx.records(a);
    assert_eq!(
        records.iter().map(line).collect::<Vec<_>>(),
        [
            "x-setup 0x81 peer=00301234567",
            "r-alert 0x84 peer=00301234567"
        ]
    );
    let peer = records[0].party(&PartyRole::Peer).expect("peer");
    assert!(peer.cn.is_empty(), "external parties have no name");
    pbx.model.answer(call, "A", pbx.now).expect("answer");
    pbx.lines(a);
    assert_eq!(pbx.lines(trunk), ["x-conn 0x5 peer=201"]);
    pbx.model
        .hangup(call, "0301234567", pbx.now)
        .expect("the external party hangs up");
    assert_eq!(
        pbx.lines(trunk),
        ["r-rel 0x6 peer=201 cause=16", "del 0x6 peer=201 cause=16"]
    );
    assert_eq!(
        pbx.lines(a),
        [
            "x-rel 0x87 peer=00301234567 cause=16",
            "del 0x87 peer=00301234567 cause=16"
        ]
    );

    let call = pbx.dial("A", "0030555");
    assert_eq!(
        pbx.lines(a),
        [
            "r-setup 0x1 peer=0030555",
            "x-call-proc 0x3 peer=0030555",
            "x-alert 0x4 peer=0030555"
        ]
    );
    let records = pbx.records(trunk);
    assert_eq!(
        records.iter().map(line).collect::<Vec<_>>(),
        ["x-setup 0x81 peer=201", "r-alert 0x84 peer=201"]
    );
    assert_eq!(
        records[0]
            .party(&PartyRole::This)
            .map(|no| no.e164.as_str()),
        Some("030555")
    );
    pbx.model
        .answer(call, "030555", pbx.now)
        .expect("the far end answers");
    assert_eq!(pbx.lines(trunk), ["r-conn 0x85 peer=201"]);
    assert_eq!(pbx.lines(a), ["x-conn 0x5 peer=0030555"]);
    let unused = pbx
        .model
        .external_call("+4930", "299", pbx.now)
        .expect("call to nowhere");
    assert!(!pbx.model.has_call(unused));
    assert_eq!(pbx.lines(trunk)[2], "x-rel 0x7 peer=299 cause=1");
}

#[test]
fn user_call_on_phones_and_third_party_devices() {
    let mut pbx = Pbx::new();
    let (a, b, e) = (pbx.watch("A"), pbx.watch("B"), pbx.watch("E"));
    let call = pbx.model.user_call(a, "", "202", "", "", pbx.now);
    assert_ne!(call, 0);
    let records = pbx.records(a);
    assert_eq!(
        records[0].call, call,
        "the returned handle is the one in the records"
    );
    assert_eq!(
        records.iter().map(line).collect::<Vec<_>>(),
        [
            "r-setup 0x1 peer=202",
            "x-call-proc 0x3 peer=202",
            "x-alert 0x4 peer=202"
        ]
    );
    let b_call = pbx.call_handle(b);
    pbx.lines(b);
    pbx.model.user_connect(b_call, pbx.now);
    assert_eq!(pbx.lines(b), ["r-conn 0x85 peer=201"]);
    pbx.model.user_clear(call, 0, pbx.now);
    assert_eq!(
        pbx.lines(a),
        [
            "x-conn 0x5 peer=202",
            "r-rel 0x6 peer=202 cause=16",
            "del 0x6 peer=202 cause=16"
        ]
    );
    pbx.lines(b);

    // A third-party device is called first; the destination once it answers.
    let call = pbx.model.user_call(e, "B", "", "", "", pbx.now);
    assert_ne!(call, 0);
    assert_eq!(
        pbx.lines(e),
        ["x-setup 0x81 peer=202", "r-alert 0x84 peer=202"]
    );
    assert!(pbx.lines(b).is_empty());
    pbx.model.user_connect(call, pbx.now);
    assert!(
        pbx.lines(e).is_empty(),
        "third-party devices ignore UserConnect"
    );
    let reference = pbx.model.call_of_handle(call).expect("call");
    pbx.model
        .answer(reference, "E", pbx.now)
        .expect("the user picks up the handset");
    assert_eq!(
        pbx.lines(e),
        ["r-conn 0x85 peer=202", "x-alert 0x85 peer=202"]
    );
    assert_eq!(
        pbx.lines(b),
        ["x-setup 0x81 peer=205", "r-alert 0x84 peer=205"]
    );
    pbx.model.answer(reference, "B", pbx.now).expect("answer");
    assert_eq!(pbx.lines(e), ["x-conn 0x85 peer=202"]);
    assert_ne!(
        pbx.model.user_call(e, "", "", "", "", pbx.now),
        0,
        "an empty destination is placed and fails"
    );
    assert_eq!(
        pbx.model.user_call(999, "", "202", "", "", pbx.now),
        0,
        "unknown handle"
    );
    let off = pbx.watch("Off");
    assert_eq!(
        pbx.model.user_call(off, "", "202", "", "", pbx.now),
        0,
        "no registered device"
    );
}

#[test]
fn srce164_and_clir_change_the_callers_number() {
    let mut pbx = Pbx::new();
    let (a, b) = (pbx.watch("A"), pbx.watch("B"));
    pbx.model.user_call(a, "", "202", "", "299", pbx.now);
    assert_eq!(pbx.lines(b)[0], "x-setup 0x81 peer=299");
    pbx.lines(a);
    let c = pbx.watch("C");
    pbx.model.user_call(c, "", "202", "", "R", pbx.now);
    assert_eq!(
        pbx.lines(b)[0],
        "x-setup 0x81 peer=-",
        "CLIR hides the caller"
    );
}

#[test]
fn devices_ring_together_and_hw_handles_see_their_device() {
    let mut pbx = Pbx::new();
    let a = pbx.watch("A");
    let all = pbx.watch("D");
    let d1 = pbx.watch_with("D", false, false, "d1");
    let d2 = pbx.watch_with("D", false, false, "d2");
    let ghost = pbx.watch_with("D", false, false, "nonexistent");
    let call = pbx.dial("A", "204");
    pbx.lines(a);
    for handle in [all, d1, d2] {
        assert_eq!(
            pbx.lines(handle),
            ["x-setup 0x81 peer=201", "r-alert 0x84 peer=201"]
        );
    }
    pbx.model
        .answer_at(call, "D", Some("d2"), pbx.now)
        .expect("answer at d2");
    assert_eq!(pbx.lines(all), ["r-conn 0x85 peer=201"]);
    assert_eq!(pbx.lines(d2), ["r-conn 0x85 peer=201"]);
    assert_eq!(
        pbx.lines(d1),
        ["x-rel 0x87 peer=201 cause=26", "del 0x87 peer=201 cause=26"]
    );
    assert!(
        pbx.lines(ghost).is_empty(),
        "a handle for a missing device sees nothing"
    );
    assert_eq!(
        pbx.model.devices(pbx.session, "D").expect("session").len(),
        2
    );
    assert_eq!(
        pbx.model
            .snapshot()
            .call(call)
            .and_then(|c| c.legs[1].device.clone())
            .as_deref(),
        Some("d2")
    );
    assert_eq!(
        pbx.model.answer_at(call, "D", Some("d9"), pbx.now),
        Err(ScenarioError::UnknownDevice {
            who: "D".into(),
            device: "d9".into()
        })
    );
}

#[test]
fn broadcast_groups_ring_their_members() {
    let mut pbx = Pbx::new();
    let (a, b, c) = (pbx.watch("A"), pbx.watch("B"), pbx.watch("C"));
    let call = pbx.dial("A", "260");
    assert_eq!(
        pbx.lines(a),
        [
            "r-setup 0x1 peer=260",
            "x-call-proc 0x3 peer=260",
            "x-alert 0x4 peer=260"
        ]
    );
    assert_eq!(
        pbx.lines(b),
        [
            "x-setup 0x81 peer=201 leg2=260",
            "r-alert 0x84 peer=201 leg2=260"
        ]
    );
    assert_eq!(
        pbx.lines(c),
        [
            "x-setup 0x81 peer=201 leg2=260",
            "r-alert 0x84 peer=201 leg2=260"
        ]
    );
    pbx.model.answer(call, "C", pbx.now).expect("answer");
    assert_eq!(pbx.lines(c), ["r-conn 0x85 peer=201 leg2=260"]);
    assert_eq!(
        pbx.lines(b),
        [
            "x-rel 0x87 peer=201 leg2=260 cause=26",
            "del 0x87 peer=201 leg2=260 cause=26"
        ]
    );
    assert_eq!(pbx.lines(a), ["x-conn 0x5 peer=203"]);
    pbx.model.hangup(call, "A", pbx.now).expect("hangup");
    pbx.lines(a);
    pbx.lines(c);
    // Every member rejecting ends the call.
    let call = pbx.dial("A", "260");
    pbx.lines(a);
    pbx.model.busy(call, "B", pbx.now).expect("reject");
    assert!(pbx.lines(a).is_empty(), "C still rings");
    pbx.model.busy(call, "C", pbx.now).expect("reject");
    assert_eq!(
        pbx.lines(a),
        ["x-rel 0x7 peer=260 cause=17", "del 0x7 peer=260 cause=17"]
    );
}

#[test]
fn waiting_queues_answer_themselves() {
    let mut pbx = Pbx::new();
    let (a, queue) = (pbx.watch("A"), pbx.watch("Queue"));
    pbx.dial("A", "250");
    assert_eq!(
        pbx.lines(queue),
        ["x-setup 0x81 peer=201", "r-conn 0x85 peer=201"]
    );
    assert_eq!(
        pbx.lines(a),
        [
            "r-setup 0x1 peer=250",
            "x-call-proc 0x3 peer=250",
            "x-conn 0x5 peer=250"
        ]
    );
}

#[test]
fn disc_handles_keep_the_leg_until_the_phone_hangs_up() {
    let mut pbx = Pbx::new();
    let a = pbx.watch_with("A", false, true, "");
    let b = pbx.watch("B");
    let call = pbx.dial("A", "202");
    pbx.model.answer(call, "B", pbx.now).expect("answer");
    pbx.lines(a);
    pbx.lines(b);
    pbx.model.hangup(call, "B", pbx.now).expect("hangup");
    assert_eq!(pbx.lines(a), ["x-disc 0x7 peer=202 cause=16"]);
    assert!(pbx.model.has_call(call));
    pbx.model.hangup(call, "A", pbx.now).expect("on-hook");
    assert_eq!(
        pbx.lines(a),
        ["r-rel 0x6 peer=202 cause=16", "del 0x6 peer=202 cause=16"]
    );
    assert!(!pbx.model.has_call(call));
}

#[test]
fn new_handles_learn_calls_in_progress() {
    let mut pbx = Pbx::new();
    let call = pbx.dial("A", "202");
    pbx.model.answer(call, "B", pbx.now).expect("answer");
    let b = pbx.watch("B");
    assert_eq!(pbx.lines(b), ["r-conn 0x85 peer=201"]);
    let calls = pbx.model.calls(pbx.session, "A").expect("session");
    assert_eq!(
        calls.iter().map(line).collect::<Vec<_>>(),
        ["x-conn 0x5 peer=202"]
    );
    assert_eq!(
        pbx.model.calls(77, "A"),
        Err(UnknownSession { session: 77 })
    );
    let mut quiet = Pbx::with(SimConfig {
        report_existing_calls: false,
        ..SimConfig::default()
    });
    let call = quiet.dial("A", "202");
    let b = quiet.watch("B");
    assert!(quiet.lines(b).is_empty());
    quiet.model.hangup(call, "A", quiet.now).expect("hangup");
    assert_eq!(
        quiet.lines(b).len(),
        2,
        "but it reports the rest of the call"
    );
}

#[test]
fn user_end_stops_records() {
    let mut pbx = Pbx::new();
    let a = pbx.watch("A");
    pbx.model.user_end(a);
    pbx.dial("A", "202");
    assert!(pbx.lines(a).is_empty());
    pbx.model.user_end(12345);
}

#[test]
fn numbers_between_nodes() {
    let mut pbx = Pbx::new();
    let (a, f) = (pbx.watch("A"), pbx.watch("F"));
    let call = pbx.dial("A", "8301");
    assert_eq!(pbx.lines(a)[2], "x-alert 0x4 peer=8301");
    assert_eq!(pbx.lines(f)[0], "x-setup 0x81 peer=201");
    pbx.model.hangup(call, "A", pbx.now).expect("hangup");
    pbx.lines(f);
    pbx.dial("F", "202");
    assert_eq!(
        pbx.lines(f)[2],
        "x-alert 0x4 peer=202",
        "the root node has no prefix"
    );
    let handle = pbx.watch("F");
    assert_eq!(pbx.model.user_local_num(handle, "8302"), "302");
    assert_eq!(pbx.model.user_local_num(handle, "202"), "202");
    assert!(pbx.model.user_find_destination(a, "20", "").0);
    let (incomplete, found) = pbx.model.user_find_destination(a, "8301", "");
    assert!(!incomplete);
    assert_eq!(found.cn, "F");
    assert_eq!(pbx.model.user_find_destination(a, "", "b").1.cn, "B");
    assert_eq!(pbx.model.user_find_destination(a, "999", "").1.cn, "");
}

#[test]
fn find_user_pages_alphabetically() {
    let pbx = Pbx::new();
    let query = |cn: &str, count: i32, next: bool| FindUserRequest {
        cn: cn.into(),
        count,
        next,
        ..FindUserRequest::default()
    };
    let names = |found: Vec<UserInfo>| found.into_iter().map(|u| u.cn).collect::<Vec<_>>();
    let first = names(pbx.model.find_user(&query("", 4, false), Identity::Admin));
    assert_eq!(first, ["_TAPI_", "A", "B", "C"]);
    let next = names(pbx.model.find_user(&query("C", 4, true), Identity::Admin));
    assert_eq!(
        next,
        ["D", "E", "F", "Group"],
        "next skips the exact match; order ignores case"
    );
    assert_eq!(
        names(pbx.model.find_user(&query("C", 2, false), Identity::Admin)),
        ["C", "D"]
    );
    assert_eq!(
        names(pbx.model.find_user(&query("q", 10, false), Identity::Admin)),
        ["Queue", "Remote", "Trunk"]
    );
    assert!(
        pbx.model
            .find_user(&query("", 0, false), Identity::Admin)
            .is_empty()
    );
    let by_number = FindUserRequest {
        e164: "8301".into(),
        count: 1,
        ..FindUserRequest::default()
    };
    assert_eq!(
        names(pbx.model.find_user(&by_number, Identity::Admin)),
        ["F"]
    );
    let in_node = FindUserRequest {
        e164: "301".into(),
        cn: "F".into(),
        count: 1,
        ..FindUserRequest::default()
    };
    assert_eq!(names(pbx.model.find_user(&in_node, Identity::Admin)), ["F"]);
    let by_h323 = FindUserRequest {
        h323: "d".into(),
        count: 2,
        ..FindUserRequest::default()
    };
    assert_eq!(
        names(pbx.model.find_user(&by_h323, Identity::Admin)),
        ["D", "E"]
    );
    let outsider = pbx.model.authenticate("outsider", "secret").expect("login");
    assert_eq!(
        names(pbx.model.find_user(&query("", 50, false), outsider)),
        ["Outsider"],
        "a user login sees its scope"
    );
}

#[test]
fn hidden_objects_need_nohide() {
    let mut pbx = Pbx::new();
    assert_eq!(
        pbx.model
            .admin(r#"<modify><user cn="B" hide="true"/></modify>"#, pbx.now),
        "<ok/>"
    );
    let visible = pbx.model.find_user(
        &FindUserRequest {
            cn: "B".into(),
            count: 1,
            ..FindUserRequest::default()
        },
        Identity::Admin,
    );
    assert_eq!(visible[0].cn, "C");
    let all = pbx.model.find_user(
        &FindUserRequest {
            cn: "B".into(),
            count: 1,
            nohide: true,
            ..FindUserRequest::default()
        },
        Identity::Admin,
    );
    assert_eq!(all[0].cn, "B");
}

#[test]
fn location_urls() {
    let mut locations = BTreeMap::new();
    locations.insert(
        "slave".to_owned(),
        "http://127.0.0.1:9/PBX0/user.soap".to_owned(),
    );
    let mut pbx = Pbx::with(SimConfig {
        locations,
        ..SimConfig::default()
    });
    pbx.model
        .set_own_url("http://127.0.0.1:8/PBX0/user.soap".into());
    assert_eq!(
        pbx.model.location_url("slave", false),
        "http://127.0.0.1:9/PBX0/user.soap"
    );
    assert_eq!(
        pbx.model.location_url("slave", true),
        "https://127.0.0.1:9/PBX0/user.soap"
    );
    assert_eq!(
        pbx.model.location_url("master", false),
        "http://127.0.0.1:8/PBX0/user.soap"
    );
    assert_eq!(
        pbx.model.location_url("", false),
        "http://127.0.0.1:8/PBX0/user.soap"
    );
    assert_eq!(pbx.model.location_url("elsewhere", false), "");
}

#[test]
fn admin_commands_edit_forwards_and_post_cfg() {
    let mut pbx = Pbx::new();
    let shown = pbx.model.admin(r#"<show><user cn="A"/></show>"#, pbx.now);
    assert!(
        shown.starts_with(r#"<show><user cn="A" dn="A" e164="201" h323="a""#),
        "{shown}"
    );
    assert!(
        shown.contains(r#"<grp name="g" mode="passive"/>"#)
            && shown.contains(r#"<device hw="a-phone" text=""/>"#),
        "{shown}"
    );
    assert!(!shown.contains("<cd"));
    let added = pbx.model.admin(
        r#"<add-attrib><user cn="A"><cd type="cfu"><ep e164="202"/></cd></user></add-attrib>"#,
        pbx.now,
    );
    assert_eq!(added, "<ok/>");
    let infos = pbx.user_infos("A");
    assert!(infos.len() == 1 && infos[0].cfg, "cfg posted: {infos:?}");
    assert!(
        pbx.model
            .admin(r#"<show><user e164="201"/></show>"#, pbx.now)
            .contains(r#"<cd type="cfu"><ep e164="202"/></cd>"#)
    );
    assert_eq!(
        pbx.model
            .snapshot()
            .object("A")
            .and_then(|a| a
                .forwards
                .target(ForwardKind::Unconditional)
                .map(str::to_owned))
            .as_deref(),
        Some("202")
    );
    pbx.model.admin(r#"<modify><user cn="A"><cd type="cfnr"><ep e164="203"/></cd><cd type="cfb"><ep h323="c"/></cd></user></modify>"#, pbx.now);
    let forwards = pbx
        .model
        .snapshot()
        .object("A")
        .map(|a| a.forwards.clone())
        .expect("A");
    assert_eq!(
        (
            forwards.unconditional,
            forwards.busy.as_deref(),
            forwards.no_answer.as_deref()
        ),
        (None, Some("c"), Some("203"))
    );
    pbx.model.admin(
        r#"<del-attrib><user h323="a"><cd type="cfnr"/></user></del-attrib>"#,
        pbx.now,
    );
    assert_eq!(
        pbx.model
            .snapshot()
            .object("A")
            .map(|a| a.forwards.no_answer.clone()),
        Some(None)
    );
    assert_eq!(pbx.user_infos("A").iter().filter(|u| u.cfg).count(), 2);
    for (xml, reason) in [
        ("<show>", "malformed xml"),
        ("<show/>", "the command names no object"),
        (r#"<show><user cn="Nobody"/></show>"#, "no such object"),
        (r#"<drop><user cn="A"/></drop>"#, "unknown command `drop`"),
        (
            r#"<add-attrib><user cn="A"><cd type="cfx"/></user></add-attrib>"#,
            "unknown cd type `cfx`",
        ),
        (
            r#"<add-attrib><user cn="A"><cd type="cfu"/></user></add-attrib>"#,
            "cd type `cfu` has no ep e164",
        ),
        (r#"<show><user/></show>"#, "the object needs a cn"),
        (r#"<add><user cn="A"/></add>"#, "object `A` exists"),
        (
            r#"<add><user cn="Z" type="fax"/></add>"#,
            "unknown type `fax`",
        ),
        ("", "no command element"),
    ] {
        let result = pbx.model.admin(xml, pbx.now);
        assert!(
            result.starts_with("<error reason=\"") && result.contains(reason),
            "{xml}: {result}"
        );
    }
}

#[test]
fn admin_add_and_delete_change_scopes() {
    let mut pbx = Pbx::new();
    let a = pbx.watch("A");
    let added = pbx.model.admin(
        r#"<add><user cn="New" e164="230" h323="new" pwd="pw"><grp name="g" mode="passive"/><device hw="n1"/></user></add>"#,
        pbx.now,
    );
    assert_eq!(added, "<ok/>");
    let infos = pbx.user_infos("New");
    assert!(
        infos.len() == 1 && infos[0].active && infos[0].state == 1,
        "{infos:?}"
    );
    assert_eq!(
        pbx.model.authenticate("new", "pw"),
        Some(Identity::User(pbx.model.live_object("New").expect("new")))
    );
    let call = pbx.dial("A", "230");
    pbx.lines(a);
    assert_eq!(
        pbx.model.admin(r#"<del><user cn="New"/></del>"#, pbx.now),
        "<ok/>"
    );
    assert_eq!(
        pbx.lines(a),
        ["x-rel 0x7 peer=230 cause=16", "del 0x7 peer=230 cause=16"],
        "its calls end"
    );
    let infos = pbx.user_infos("New");
    assert!(
        infos.last().is_some_and(|u| !u.active),
        "leaves the scope: {infos:?}"
    );
    assert!(!pbx.model.has_call(call));
    pbx.dial("A", "230");
    assert_eq!(pbx.lines(a)[2], "x-rel 0x7 peer=230 cause=1");
    // Leaving the monitoring group removes an object from the scope.
    pbx.model.admin(
        r#"<modify><user cn="B"><grp name="other"/></user></modify>"#,
        pbx.now,
    );
    let infos = pbx.user_infos("B");
    assert_eq!(
        infos.iter().map(|u| (u.cfg, u.active)).collect::<Vec<_>>(),
        [(true, true), (false, false)]
    );
}

#[test]
fn set_presence_by_guid_or_name() {
    let mut pbx = Pbx::new();
    let guid = pbx.model.objects[1].config.guid.clone();
    let presence = Presence {
        status: Some(PresenceStatus::Closed),
        activity: Some("away".into()),
        note: None,
    };
    assert_eq!(pbx.model.set_presence_by_id(presence.clone(), &guid, ""), 1);
    assert_eq!(pbx.user_infos("A")[0].presence.as_ref(), Some(&presence));
    assert_eq!(pbx.model.set_presence_by_id(presence.clone(), "*", "b"), 1);
    assert_eq!(pbx.model.set_presence_by_id(presence, "*", "nobody"), 0);
    assert!(pbx.model.user_license(&guid));
    assert!(!pbx.model.user_license("0"));
}

#[test]
fn registration_changes_post_user_info() {
    let mut pbx = Pbx::new();
    pbx.model
        .register("D", Some("d1"), false)
        .expect("unregister d1");
    assert!(
        pbx.user_infos("D").is_empty(),
        "D is still registered through d2"
    );
    pbx.model
        .register("D", None, false)
        .expect("unregister all");
    assert_eq!(
        pbx.user_infos("D")
            .iter()
            .map(|u| u.state)
            .collect::<Vec<_>>(),
        [0]
    );
    pbx.model
        .register("D", Some("d2"), true)
        .expect("register d2");
    assert_eq!(
        pbx.user_infos("D")
            .iter()
            .map(|u| u.state)
            .collect::<Vec<_>>(),
        [1]
    );
    assert!(pbx.model.register("D", Some("d7"), true).is_err());
}

#[test]
fn user_message_returns_a_handle_without_records() {
    let mut pbx = Pbx::new();
    let a = pbx.watch("A");
    assert_ne!(pbx.model.user_message(a, "202", ""), 0);
    assert_ne!(pbx.model.user_message(a, "", "c"), 0);
    assert_eq!(pbx.model.user_message(a, "299", ""), 0);
    assert_eq!(pbx.model.user_message(999, "202", ""), 0);
    pbx.assert_quiet();
}

#[test]
fn ct_complete_changes_only_the_display() {
    let mut pbx = Pbx::new();
    let a = pbx.watch("A");
    let call = pbx.dial("A", "202");
    pbx.model.answer(call, "B", pbx.now).expect("answer");
    let handle = pbx.records(a)[0].call;
    pbx.model.user_ct_complete(handle, "555", "");
    assert_eq!(pbx.lines(a), ["x-ct 0x5 peer=555"]);
}
