//! Envelope decode (and encode) speed: a Poll answer carrying many `CallInfo` records, and a
//! Poll answer carrying a typical initial `UserInfo` dump. Throughput is printed in records
//! per second (`elem/s`). Target: at least 100,000 `CallInfo` records/s decoded on one core.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use pbx_soap::envelope::{
    ArrayNaming, Dialect, Operation, Response, decode_response, encode_response,
};
use pbx_soap::records::{
    AnyInfo, CallInfo, CallState, Group, Info, Msg, No, PartyRole, Presence, PresenceStatus,
    UserInfo,
};

/// A call leg as the PBX reports it while ringing: two parties and the conference id.
fn call(index: i32) -> CallInfo {
    CallInfo {
        user: 1 + index % 500,
        call: 1000 + index,
        reg: 0,
        active: true,
        state: CallState(0x84),
        no: vec![
            No {
                kind: PartyRole::This,
                cn: format!("User {index}"),
                dn: format!("User Number {index}"),
                e164: format!("{}", 2000 + index),
                h323: format!("user{index}"),
            },
            No {
                kind: PartyRole::Peer,
                cn: String::new(),
                dn: "External Caller".into(),
                e164: format!("0049301234{index:04}"),
                h323: String::new(),
            },
        ],
        msg: Msg::RAlert,
        info: vec![Info::string("conf", format!("{index:032x}"))],
    }
}

/// A monitored user as it appears in the initial dump.
fn user(index: i32) -> UserInfo {
    UserInfo {
        active: true,
        cn: format!("User {index}"),
        dn: format!("User Number {index}"),
        kind: "ep".into(),
        e164: format!("{}", 2000 + index),
        h323: format!("user{index}"),
        state: index % 2,
        channel: 0,
        alert: 0,
        guid: format!("{index:032x}"),
        groups: vec![
            Group {
                group: "tapi".into(),
                active: false,
            },
            Group {
                group: format!("team{}", index % 7),
                active: false,
            },
        ],
        node: "root".into(),
        nodenum: "4930".into(),
        object: "user".into(),
        presence: Some(Presence {
            status: Some(PresenceStatus::Open),
            activity: None,
            note: Some(String::new()),
        }),
        domain: "pbx.example.com".into(),
        email: vec![format!("user{index}@example.com")],
        info: vec![Info::string("fake", format!("4930{}", 2000 + index))],
        ..UserInfo::default()
    }
}

fn encoded(any: AnyInfo, dialect: Dialect) -> Vec<u8> {
    let mut out = Vec::new();
    encode_response(
        Operation::Poll,
        &Response::Poll(any),
        dialect,
        ArrayNaming::Observed,
        &mut out,
    );
    out
}

fn poll_with_calls(criterion: &mut Criterion) {
    const CALLS: i32 = 1000;
    let any = AnyInfo {
        call: (0..CALLS).map(call).collect(),
        ..AnyInfo::default()
    };
    let mut group = criterion.benchmark_group("poll_calls");
    group.throughput(Throughput::Elements(u64::from(CALLS.unsigned_abs())));
    for (name, dialect) in [("rpc", Dialect::RpcEncoded), ("doc", Dialect::DocLiteral)] {
        let body = encoded(any.clone(), dialect);
        group.bench_function(format!("decode_{name}"), |bench| {
            bench.iter(|| decode_response(Operation::Poll, black_box(&body)))
        });
    }
    group.bench_function("encode_rpc", |bench| {
        let response = Response::Poll(any.clone());
        let mut out = Vec::with_capacity(1 << 20);
        bench.iter(|| {
            out.clear();
            encode_response(
                Operation::Poll,
                &response,
                Dialect::RpcEncoded,
                ArrayNaming::Observed,
                &mut out,
            );
            black_box(out.len())
        })
    });
    group.finish();
}

fn user_info_dump(criterion: &mut Criterion) {
    const USERS: i32 = 200;
    let mut users: Vec<UserInfo> = (0..USERS).map(user).collect();
    // The empty record that ends the dump.
    users.push(UserInfo {
        active: true,
        ..UserInfo::default()
    });
    let body = encoded(
        AnyInfo {
            user: users,
            ..AnyInfo::default()
        },
        Dialect::RpcEncoded,
    );
    let mut group = criterion.benchmark_group("user_dump");
    group.throughput(Throughput::Elements(u64::from(USERS.unsigned_abs()) + 1));
    group.bench_function("decode_rpc", |bench| {
        bench.iter(|| decode_response(Operation::Poll, black_box(&body)))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = poll_with_calls, user_info_dump
}
criterion_main!(benches);
