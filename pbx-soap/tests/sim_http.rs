//! The simulator over real HTTP: request shapes of SOAP toolkits, authentication, bad input,
//! long-poll timing (paused time), session expiry, faults, the control endpoints, HTTPS and
//! master/slave locations.
#![cfg(feature = "sim")]

mod sim_support;

use std::collections::BTreeMap;
use std::time::Duration;

use pbx_soap::client::{Client, Config, TlsConfig};
use pbx_soap::envelope::{
    InitializeRequest, Operation, Request, Response, WsdlVersion, decode_response,
};
use pbx_soap::error::Error;
use pbx_soap::sim::{AuthMode, Directory, SimConfig, SimHandle, TlsPem};
use tokio::time::{Instant, timeout};

use sim_support::{Monitor, Raw, client, line, quick, start};

const SOAP: &str = "/PBX0/user.soap";
const ADMIN: Option<(&str, &str)> = Some(("admin", "ip800"));
/// Bound for waits on events that follow at once.
const PATIENCE: Duration = Duration::from_secs(10);

fn initialize_request() -> Request {
    Request::Initialize(InitializeRequest {
        user: "_TAPI_".into(),
        appl: "raw".into(),
        flags: Default::default(),
    })
}

/// A simulator with the given poll timeout and a session on one raw connection.
async fn raw_session(poll_timeout: Duration) -> (SimHandle, Raw, i32) {
    let config = SimConfig {
        poll_timeout,
        ..SimConfig::default()
    };
    let sim = start(config, Directory::demo()).await;
    let mut raw = Raw::connect(sim.addr()).await;
    let (session, _) = initialize_response(&raw.soap(&initialize_request()).await.body);
    (sim, raw, session)
}

fn initialize_response(body: &str) -> (i32, i32) {
    match decode_response(Operation::Initialize, body.as_bytes()) {
        Ok(Response::Initialize { session, key }) => (session, key),
        other => panic!("not an Initialize answer: {other:?}\n{body}"),
    }
}

fn int_response(operation: Operation, body: &str) -> i32 {
    match decode_response(operation, body.as_bytes()) {
        Ok(Response::Int(value)) => value,
        other => panic!("not an int answer: {other:?}\n{body}"),
    }
}

fn poll_response(body: &str) -> pbx_soap::records::AnyInfo {
    match decode_response(Operation::Poll, body.as_bytes()) {
        Ok(Response::Poll(any)) => any,
        other => panic!("not a Poll answer: {other:?}\n{body}"),
    }
}

const ENVELOPE_OPEN: &str = r#"<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="http://innovaphone.com/pbx" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" SOAP-ENV:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><SOAP-ENV:Body>"#;
const ENVELOPE_CLOSE: &str = "</SOAP-ENV:Body></SOAP-ENV:Envelope>";

fn rpc(body: &str) -> String {
    format!("{ENVELOPE_OPEN}{body}{ENVELOPE_CLOSE}")
}

#[tokio::test]
async fn request_shapes_of_soap_toolkits_are_accepted() {
    let sim = start(quick(), Directory::demo()).await;
    let mut raw = Raw::connect(sim.addr()).await;
    // PHP SoapClient / gSOAP: prefixed operation, typed unqualified parts, pbx800 flags.
    let answer = raw
        .post(
            SOAP,
            ADMIN,
            rpc(r#"<ns1:Initialize><user xsi:type="xsd:string">_TAPI_</user><appl xsi:type="xsd:string">php</appl><v xsi:type="xsd:boolean">1</v><v501 xsi:type="xsd:boolean">1</v501><v700 xsi:type="xsd:boolean">1</v700><v800 xsi:type="xsd:boolean">1</v800></ns1:Initialize>"#),
        )
        .await;
    let (session, key) = initialize_response(&answer.body);
    assert!(session > 0 && key != 0);
    assert!(
        answer.body.contains("SOAP-ENC") || answer.body.contains("xsi:type"),
        "rpc/encoded answer: {}",
        answer.body
    );
    // .NET-style: operation in a default-less namespace prefix, a nil part, an omitted part.
    let answer = raw
        .post(
            SOAP,
            ADMIN,
            format!(
                r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Body><q1:UserInitialize xmlns:q1="http://innovaphone.com/pbx"><session xsi:type="xsd:int">{session}</session><user xsi:type="xsd:string">Anna Becker</user><xfer xsi:nil="true"/></q1:UserInitialize></soap:Body></soap:Envelope>"#
            ),
        )
        .await;
    let handle = int_response(Operation::UserInitialize, &answer.body);
    assert!(handle > 0, "{}", answer.body);
    // An undeclared prefix and no types at all (what a hand-written client sent).
    let answer = raw
        .post(SOAP, ADMIN, format!("<Envelope><Body><inno:Echo><session>{session}</session><key>{key}</key></inno:Echo></Body></Envelope>"))
        .await;
    assert_eq!(int_response(Operation::Echo, &answer.body), 1);
    // UserEnd in the rpc WSDL's odd binding namespace.
    let answer = raw
        .post(SOAP, ADMIN, rpc(&format!(r#"<b:UserEnd xmlns:b="http://innovaphone/binding"><user>{handle}</user></b:UserEnd>"#)))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    // Doc/literal (pbx11_00): qualified children, vx1100; the session answers flattened.
    let answer = raw
        .post(
            SOAP,
            ADMIN,
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:pbx="http://innovaphone.com/pbx"><soapenv:Body><pbx:Initialize><pbx:user>_TAPI_</pbx:user><pbx:appl>java</pbx:appl><pbx:v>true</pbx:v><pbx:v501>true</pbx:v501><pbx:v700>true</pbx:v700><pbx:v800>true</pbx:v800><pbx:vx1100>true</pbx:vx1100></pbx:Initialize></soapenv:Body></soapenv:Envelope>"#,
        )
        .await;
    let (literal, _) = initialize_response(&answer.body);
    let answer = raw
        .post(SOAP, ADMIN, format!(r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><p:Poll xmlns:p="http://innovaphone.com/pbx"><p:session>{literal}</p:session></p:Poll></e:Body></e:Envelope>"#))
        .await;
    assert!(
        !answer.body.contains("arrayType"),
        "doc/literal arrays are flattened: {}",
        &answer.body[..300]
    );
    let dump = poll_response(&answer.body);
    assert_eq!(dump.user.first().map(|u| u.cn.as_str()), Some("_TAPI_"));
    // The rpc session is still answered in rpc/encoded.
    let answer = raw
        .post(
            SOAP,
            ADMIN,
            rpc(&format!(
                "<ns1:Poll><session>{session}</session></ns1:Poll>"
            )),
        )
        .await;
    assert!(
        answer.body.contains("arrayType"),
        "rpc arrays carry SOAP-ENC:arrayType"
    );
    let rpc_dump = poll_response(&answer.body);
    assert_eq!(rpc_dump.user.len(), dump.user.len());
    assert!(
        rpc_dump.user[1].presence.is_some(),
        "pbx800 sessions get presence"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_answer_and_the_server_keeps_serving() {
    let config = SimConfig {
        max_body: 4096,
        ..quick()
    };
    let sim = start(config, Directory::demo()).await;
    let mut good = Raw::connect(sim.addr()).await;
    let answer = good.soap(&initialize_request()).await;
    let (session, key) = initialize_response(&answer.body);
    let echo = Request::Echo { session, key };

    let mut bad = Raw::connect(sim.addr()).await;
    let answer = bad.post(SOAP, None, rpc("<ns1:Version/>")).await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer
            .headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some(r#"Basic realm="PBX""#)
    );
    assert_eq!(
        bad.post(SOAP, Some(("admin", "wrong")), rpc("<ns1:Version/>"))
            .await
            .status,
        401
    );
    assert_eq!(
        bad.post(SOAP, Some(("nobody", "ip800")), rpc("<ns1:Version/>"))
            .await
            .status,
        401
    );
    for (body, expected) in [
        (
            rpc("<ns1:Poll><session>4242</session></ns1:Poll>"),
            "no session 4242",
        ),
        (
            rpc(
                "<ns1:UserInitialize><session>4242</session><user>Anna Becker</user></ns1:UserInitialize>",
            ),
            "no session 4242",
        ),
        (
            rpc("<ns1:Calls><session>4242</session><user>Anna Becker</user></ns1:Calls>"),
            "no session 4242",
        ),
        (rpc("<ns1:Frobnicate/>"), "unknown operation <Frobnicate>"),
        (
            rpc("<ns1:Poll><session>one</session></ns1:Poll>"),
            "not a 32-bit integer",
        ),
        ("<Envelope><Body><Poll>".to_owned(), "ends inside"),
        ("this is not xml".to_owned(), "no XML element"),
        (
            "<html><body/></html>".to_owned(),
            "expected a SOAP Envelope",
        ),
    ] {
        let answer = bad.post(SOAP, ADMIN, body.clone()).await;
        assert_eq!(answer.status, 500, "{body}: {}", answer.body);
        match decode_response(Operation::Poll, answer.body.as_bytes()) {
            Err(Error::Fault(fault)) => {
                assert!(fault.string.contains(expected), "{body}: {}", fault.string)
            }
            other => panic!("{body}: expected a fault, got {other:?}"),
        }
        assert_eq!(
            int_response(Operation::Echo, &good.soap(&echo).await.body),
            1,
            "the session survives"
        );
    }
    assert_eq!(
        int_response(
            Operation::Echo,
            &bad.soap(&Request::Echo {
                session: 4242,
                key: 1
            })
            .await
            .body
        ),
        0,
        "Echo of an unknown session is 0"
    );
    let answer = bad
        .post(
            SOAP,
            ADMIN,
            rpc(&format!(
                "<ns1:Admin><xml>{}</xml></ns1:Admin>",
                "x".repeat(8000)
            )),
        )
        .await;
    assert_eq!(answer.status, 413, "oversized body");
    let mut bad = Raw::connect(sim.addr()).await;
    assert_eq!(
        bad.try_send("GET", SOAP, ADMIN, "").await.map(|a| a.status),
        Some(http::StatusCode::METHOD_NOT_ALLOWED)
    );
    assert_eq!(
        bad.post("/PBX1/user.soap", ADMIN, rpc("<ns1:Version/>"))
            .await
            .status,
        404
    );
    // A user login may not administer.
    let answer = bad.post(SOAP, Some(("_TAPI_", "tapi")), rpc("<ns1:Admin><xml>&lt;show&gt;&lt;user cn=\"Anna Becker\"/&gt;&lt;/show&gt;</xml></ns1:Admin>")).await;
    assert_eq!(answer.status, 500);
    assert!(answer.body.contains("administrator"), "{}", answer.body);
    assert_eq!(
        int_response(Operation::Echo, &good.soap(&echo).await.body),
        1
    );
    assert_eq!(sim.session_count(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn user_logins_are_limited_to_their_own_scope() {
    let sim = start(quick(), Directory::demo()).await;
    let mut config = Config::new(sim.url().parse().expect("url"), "_TAPI_", "tapi");
    config.wsdl = WsdlVersion::Pbx1000;
    let tapi = Client::new(config).expect("client");
    let session = tapi
        .initialize("_TAPI_", "own login")
        .await
        .expect("as itself");
    let dump = tapi.poll(session.handle).await.expect("dump");
    assert_eq!(
        dump.user.len(),
        28,
        "the monitoring user sees the whole group and the end marker"
    );
    assert!(matches!(
        tapi.initialize("Anna Becker", "other").await,
        Err(Error::Rejected { .. })
    ));
    let everyone = tapi.find_all_users().await.expect("find");
    assert_eq!(
        everyone.len(),
        26,
        "a user login finds its scope (hidden objects excepted)"
    );
    let mut config = Config::new(sim.url().parse().expect("url"), "_TAPI_", "wrong");
    config.wsdl = WsdlVersion::Pbx1000;
    assert!(matches!(
        Client::new(config).expect("client").version().await,
        Err(Error::Unauthorized)
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn digest_mode_challenges_with_digest_and_refuses_basic() {
    let config = SimConfig {
        auth: AuthMode::Digest,
        realm: "innovaphone".into(),
        ..quick()
    };
    let sim = start(config, Directory::demo()).await;
    let mut raw = Raw::connect(sim.addr()).await;
    let answer = raw.post(SOAP, ADMIN, rpc("<ns1:Version/>")).await;
    assert_eq!(answer.status, 401, "Basic is refused");
    let challenge = answer
        .headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .expect("challenge")
        .to_owned();
    assert!(
        challenge.starts_with("Digest realm=\"innovaphone\""),
        "{challenge}"
    );
    // The real client answers the Digest challenge itself.
    let client = client(&sim, WsdlVersion::Pbx1000);
    let version = client.version().await.expect("digest login");
    assert_eq!(version.location, "master");
    let session = client
        .initialize("_TAPI_", "digest")
        .await
        .expect("initialize");
    assert!(client.echo(session).await.expect("echo"));
    let mut config = Config::new(sim.url().parse().expect("url"), "admin", "wrong");
    config.wsdl = WsdlVersion::Pbx1000;
    assert!(matches!(
        Client::new(config).expect("client").version().await,
        Err(Error::Unauthorized)
    ));
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn poll_waits_the_configured_time_then_answers_empty() {
    let (sim, mut raw, session) = raw_session(Duration::from_secs(60)).await;
    let dump = poll_response(&raw.soap(&Request::Poll { session }).await.body);
    assert!(!dump.is_empty(), "the dump comes at once");
    let started = Instant::now();
    let empty = poll_response(&raw.soap(&Request::Poll { session }).await.body);
    assert!(empty.is_empty());
    assert_eq!(
        started.elapsed().as_secs(),
        60,
        "an idle poll answers after the poll timeout"
    );
    // A record ends a waiting poll at once.
    let dialer = sim.clone();
    let started = Instant::now();
    let call = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(7)).await;
        dialer.dial("201", "202").expect("dial")
    });
    let records = poll_response(&raw.soap(&Request::Poll { session }).await.body);
    assert_eq!(started.elapsed().as_secs(), 7);
    assert!(!records.call.is_empty() || !records.user.is_empty());
    call.await.expect("dial task");
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn stalled_polls_neither_answer_nor_time_out() {
    let (sim, mut raw, session) = raw_session(Duration::from_secs(60)).await;
    sim.faults().stall_polls(true);
    let waiting = sim.queued_records();
    assert!(waiting > 0, "the user dump waits to be polled");
    let started = Instant::now();
    let faults = sim.faults();
    let lift = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(300)).await;
        faults.stall_polls(false);
    });
    let dump = poll_response(&raw.soap(&Request::Poll { session }).await.body);
    assert_eq!(
        started.elapsed().as_secs(),
        300,
        "the poll hung until the stall was lifted"
    );
    assert!(!dump.user.is_empty(), "then it delivers what was queued");
    assert_eq!(
        sim.queued_records(),
        waiting - dump.user.len() - dump.call.len(),
        "what the poll took left the queue"
    );
    lift.await.expect("task");
    sim.shutdown().await;
}

#[tokio::test]
async fn sessions_expire_after_their_last_connection_closes() {
    let config = SimConfig {
        session_expiry: Duration::from_millis(300),
        ..quick()
    };
    let sim = start(config, Directory::demo()).await;
    let mut first = Raw::connect(sim.addr()).await;
    let (session, key) = initialize_response(&first.soap(&initialize_request()).await.body);
    let mut second = Raw::connect(sim.addr()).await;
    assert_eq!(
        int_response(
            Operation::Echo,
            &second.soap(&Request::Echo { session, key }).await.body
        ),
        1
    );
    drop(first);
    timeout(PATIENCE, sim.wait_for(|sim| sim.connection_count() == 1))
        .await
        .expect("first connection closed");
    assert_eq!(
        sim.session_count(),
        1,
        "the second connection still carries the session"
    );
    let closed = Instant::now();
    drop(second);
    timeout(PATIENCE, sim.wait_for(|sim| sim.session_count() == 0))
        .await
        .expect("the session expires");
    assert!(
        closed.elapsed() >= Duration::from_millis(300),
        "not before the expiry delay"
    );
    let mut third = Raw::connect(sim.addr()).await;
    assert_eq!(
        int_response(
            Operation::Echo,
            &third.soap(&Request::Echo { session, key }).await.body
        ),
        0
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn initial_dump_spreads_over_several_polls() {
    let config = SimConfig {
        poll_batch: 7,
        ..quick()
    };
    let sim = start(config, Directory::demo()).await;
    let client = client(&sim, WsdlVersion::Pbx1000);
    let session = client
        .initialize("_TAPI_", "dump")
        .await
        .expect("initialize");
    let mut names = Vec::new();
    let mut polls = 0;
    while !names.last().is_some_and(String::is_empty) {
        let batch = client.poll(session.handle).await.expect("poll");
        assert!(batch.user.len() <= 7);
        names.extend(batch.user.into_iter().map(|u| u.cn));
        polls += 1;
        assert!(polls <= 10, "the dump ends");
    }
    assert_eq!(names.len(), 28);
    assert_eq!(polls, 4, "28 records in batches of 7");
    assert!(names.contains(&"Anna Becker".to_owned()) && names.contains(&"Trunk".to_owned()));
    sim.shutdown().await;
}

#[tokio::test]
async fn restart_is_detected_by_echo() {
    let sim = start(quick(), Directory::demo()).await;
    let before = client(&sim, WsdlVersion::Pbx1000);
    let session = before
        .initialize("_TAPI_", "restart")
        .await
        .expect("initialize");
    let handle = before
        .user_initialize(session.handle, "Anna Becker", false, false, "")
        .await
        .expect("handle");
    assert!(before.echo(session).await.expect("echo"));
    sim.faults().restart();
    timeout(PATIENCE, sim.wait_for(|sim| sim.connection_count() == 0))
        .await
        .expect("connections closed");
    let after = client(&sim, WsdlVersion::Pbx1000);
    assert!(
        !after.echo(session).await.expect("echo after restart"),
        "Echo(old) is 0"
    );
    let again = after
        .initialize("_TAPI_", "restart")
        .await
        .expect("initialize");
    assert_eq!(again.handle, 1, "session handles restart from 1");
    assert_ne!(again.key, session.key);
    assert_eq!(
        after
            .user_initialize(again.handle, "Anna Becker", false, false, "")
            .await
            .expect("handle"),
        handle
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn injected_faults_reach_the_client() {
    let sim = start(quick(), Directory::demo()).await;
    let client = client(&sim, WsdlVersion::Pbx1000);
    client.version().await.expect("healthy");
    sim.faults().fail_next(1);
    assert!(matches!(client.version().await, Err(Error::Http { status }) if status == 500));
    sim.faults().malformed_next(1);
    assert!(matches!(client.version().await, Err(Error::Decode(_))));
    sim.faults().drop_next(1);
    let dropped = client.version().await.expect_err("dropped");
    assert!(dropped.is_transient(), "{dropped}");
    client.version().await.expect("healthy again");
    sim.faults().set_latency(Duration::from_millis(150));
    let started = Instant::now();
    client.version().await.expect("slow");
    assert!(started.elapsed() >= Duration::from_millis(150));
    sim.faults().set_latency(Duration::ZERO);
    // A waiting poll loses its connection when connections are dropped.
    let session = client
        .initialize("_TAPI_", "drop")
        .await
        .expect("initialize");
    client.poll(session.handle).await.expect("dump");
    let config = SimConfig {
        poll_timeout: Duration::from_secs(30),
        ..quick()
    };
    let slow = start(config, Directory::demo()).await;
    let slow_client = sim_support::client(&slow, WsdlVersion::Pbx1000);
    let session = slow_client
        .initialize("_TAPI_", "drop")
        .await
        .expect("initialize");
    slow_client.poll(session.handle).await.expect("dump");
    let poll = tokio::spawn({
        let slow_client = slow_client.clone();
        async move { slow_client.poll(session.handle).await }
    });
    timeout(PATIENCE, slow.wait_for(|sim| sim.connection_count() >= 1))
        .await
        .expect("poll connected");
    slow.faults().drop_connections();
    let result = timeout(PATIENCE, poll)
        .await
        .expect("the poll ends")
        .expect("task");
    assert!(
        result.is_err_and(|error| error.is_transient()),
        "a dropped poll is a transient error"
    );
    slow.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn control_endpoints_drive_scenarios_and_faults() {
    let sim = start(quick(), Directory::demo()).await;
    let mut monitor = Monitor::start(&sim, WsdlVersion::Pbx1000).await;
    let anna = monitor.watch("Anna Becker").await;
    let mut raw = Raw::connect(sim.addr()).await;
    assert_eq!(
        raw.post("/sim/call?from=201&to=202", None, "").await.status,
        401
    );
    assert_eq!(
        raw.post("/sim/call?from=201&to=202", Some(("_TAPI_", "tapi")), "")
            .await
            .status,
        403
    );
    let answer = raw
        .post("/sim/call?from=Anna%20Becker&to=202", ADMIN, "")
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let id = answer
        .body
        .trim()
        .strip_prefix("call ")
        .expect("call id")
        .to_owned();
    assert_eq!(
        monitor.lines(anna, 3).await,
        [
            "r-setup 0x1 peer=202",
            "x-call-proc 0x3 peer=202",
            "x-alert 0x4 peer=202"
        ]
    );
    for step in [
        format!("answer?call={id}&who=ben"),
        format!("hold?call={id}&who=201"),
        format!("retrieve?call={id}&who=201"),
        format!("dtmf?call={id}&who=201&digits=5"),
        format!("hangup?call={id}&who=202"),
    ] {
        let answer = raw.post(&format!("/sim/{step}"), ADMIN, "").await;
        assert_eq!(
            (answer.status.as_u16(), answer.body.as_str()),
            (200, "ok\n"),
            "{step}"
        );
    }
    assert_eq!(
        monitor.lines(anna, 6).await,
        [
            "x-conn 0x5 peer=202",
            "r-fty 0x105 peer=202",
            "r-fty 0x5 peer=202",
            "r-info 0x5 peer=202 dtmf=5",
            "x-rel 0x7 peer=202 cause=16",
            "del 0x7 peer=202 cause=16",
        ]
    );
    for (step, status, reason) in [
        ("answer?who=201", 400, "missing parameter `call`"),
        (
            "answer?call=x&who=201",
            400,
            "parameter `call` has an invalid value `x`",
        ),
        ("answer?call=999&who=201", 400, "no call 999"),
        ("call?from=Nobody&to=201", 400, "no object `Nobody`"),
        (
            "fault/latency?ms=soon",
            400,
            "parameter `ms` has an invalid value",
        ),
        (
            "forward?cn=201&kind=cfx",
            400,
            "parameter `kind` has an invalid value `cfx`",
        ),
        ("teleport", 404, "no endpoint /sim/teleport"),
    ] {
        let answer = raw.post(&format!("/sim/{step}"), ADMIN, "").await;
        assert_eq!(answer.status.as_u16(), status, "{step}: {}", answer.body);
        assert!(answer.body.contains(reason), "{step}: {}", answer.body);
    }
    monitor.clear().await;
    assert_eq!(
        raw.post("/sim/forward?cn=201&kind=cfu&to=203", ADMIN, "")
            .await
            .status,
        200
    );
    assert!(monitor.user_infos("Anna Becker", 1).await[0].cfg);
    assert_eq!(
        raw.post("/sim/register?cn=201&on=false", ADMIN, "")
            .await
            .status,
        200
    );
    assert_eq!(monitor.user_infos("Anna Becker", 1).await[0].state, 0);
    assert_eq!(
        raw.post("/sim/fault/http500?count=1", ADMIN, "")
            .await
            .status,
        200
    );
    assert!(matches!(
        monitor.client.version().await,
        Err(Error::Http { .. })
    ));
    let status = raw.post("/sim/status", ADMIN, "").await;
    assert!(
        status.body.starts_with("sessions 1\ncalls 0\n"),
        "{}",
        status.body
    );
    assert_eq!(
        raw.post("/sim/fault/restart", ADMIN, "").await.body,
        "ok\n",
        "the asking connection gets its answer"
    );
    assert_eq!(
        raw.post("/sim/status", ADMIN, "").await.body.lines().next(),
        Some("sessions 0")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn https_with_a_self_signed_certificate() {
    let pem = TlsPem::self_signed(&["localhost", "127.0.0.1"]).expect("certificate");
    let config = SimConfig {
        tls: Some(pem.clone()),
        ..quick()
    };
    let sim = start(config, Directory::demo()).await;
    assert!(sim.url().starts_with("https://127.0.0.1:"), "{}", sim.url());
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = dir.path().join("pbx.pem");
    std::fs::write(&ca, &pem.cert_chain).expect("write ca");
    let mut config = Config::new(sim.url().parse().expect("url"), "admin", "ip800");
    config.tls = TlsConfig {
        ca_file: Some(ca),
        danger_accept_invalid_certs: false,
    };
    let client = Client::new(config).expect("client");
    let session = client
        .initialize("_TAPI_", "tls")
        .await
        .expect("initialize over TLS");
    assert_eq!(
        client.poll(session.handle).await.expect("poll").user.len(),
        28
    );
    let handle = client
        .user_initialize(session.handle, "Anna Becker", false, false, "")
        .await
        .expect("handle");
    sim.dial("201", "202").expect("dial");
    let records = client.poll(session.handle).await.expect("poll");
    assert_eq!(
        records
            .call
            .iter()
            .filter(|c| c.user == handle)
            .map(line)
            .next()
            .as_deref(),
        Some("r-setup 0x1 peer=202")
    );
    // A client that does not trust the certificate fails the handshake, and the server goes on.
    let untrusting = Client::new(Config::new(
        sim.url().parse().expect("url"),
        "admin",
        "ip800",
    ))
    .expect("client");
    assert!(matches!(
        untrusting.version().await,
        Err(Error::Tls { .. }) | Err(Error::Config(_))
    ));
    assert!(client.echo(session).await.expect("echo"));
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_certificates_are_refused_at_start() {
    let pem = TlsPem::self_signed(&["localhost"]).expect("certificate");
    let no_cert = SimConfig {
        tls: Some(TlsPem {
            cert_chain: String::new(),
            private_key: pem.private_key.clone(),
        }),
        ..quick()
    };
    assert!(matches!(
        pbx_soap::sim::Sim::start(no_cert, Directory::demo()).await,
        Err(pbx_soap::sim::SimError::NoCertificate)
    ));
    let no_key = SimConfig {
        tls: Some(TlsPem {
            cert_chain: pem.cert_chain.clone(),
            private_key: "garbage".into(),
        }),
        ..quick()
    };
    assert!(
        pbx_soap::sim::Sim::start(no_key, Directory::demo())
            .await
            .is_err()
    );
    let taken = start(quick(), Directory::demo()).await;
    let clash = SimConfig {
        listen: taken.addr(),
        ..quick()
    };
    assert!(matches!(
        pbx_soap::sim::Sim::start(clash, Directory::demo()).await,
        Err(pbx_soap::sim::SimError::Bind { .. })
    ));
    taken.shutdown().await;
}

const TWO_SITES: &str = r#"
[[object]]
cn = "_TAPI_"
h323 = "_TAPI_"
groups = [{ name = "g", active = true }]
[[object]]
cn = "Here"
e164 = "10"
groups = [{ name = "g" }]
devices = [{ hw = "here" }]
[[object]]
cn = "There"
e164 = "20"
loc = "slave"
groups = [{ name = "g" }]
devices = [{ hw = "there" }]
"#;

#[tokio::test]
async fn users_of_another_location_are_monitored_on_their_own_pbx() {
    let directory = Directory::from_toml(TWO_SITES).expect("directory");
    let slave = start(
        SimConfig {
            location: "slave".into(),
            ..quick()
        },
        directory.clone(),
    )
    .await;
    let locations = BTreeMap::from([("slave".to_owned(), slave.url())]);
    let master = start(
        SimConfig {
            location: "master".into(),
            locations,
            ..quick()
        },
        directory,
    )
    .await;
    let mut on_master = Monitor::start(&master, WsdlVersion::Pbx1000).await;
    let master_client = &on_master.client;
    let found = master_client.find_all_users().await.expect("find");
    let there = found.iter().find(|u| u.cn == "There").expect("There");
    assert_eq!(
        there.loc, "slave",
        "homed elsewhere: reported with its location"
    );
    assert_eq!(
        found
            .iter()
            .find(|u| u.cn == "Here")
            .map(|u| u.loc.as_str()),
        Some("")
    );
    let url = master_client
        .location_url(&there.loc, false)
        .await
        .expect("location url");
    assert_eq!(url, slave.url());
    assert_eq!(
        master_client
            .location_url("slave", true)
            .await
            .expect("tls url"),
        slave.url().replacen("http://", "https://", 1)
    );
    assert_eq!(
        master_client
            .location_url("master", false)
            .await
            .expect("own url"),
        master.url()
    );
    assert_eq!(
        master_client
            .location_url("elsewhere", false)
            .await
            .expect("unknown"),
        ""
    );
    // Calls of "There" happen on the slave only.
    let on_master_there = on_master.watch("There").await;
    assert!(matches!(
        master.dial("There", "10"),
        Err(pbx_soap::sim::ScenarioError::Foreign { .. })
    ));
    let mut on_slave = Monitor::start(&slave, WsdlVersion::Pbx1000).await;
    let there_handle = on_slave.watch("There").await;
    slave
        .dial("There", "10")
        .expect("a local call on the slave");
    assert_eq!(
        on_slave.lines(there_handle, 3).await[0],
        "r-setup 0x1 peer=10"
    );
    on_master.quiet(on_master_there).await;
    master.shutdown().await;
    slave.shutdown().await;
}
