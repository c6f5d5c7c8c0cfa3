//! The client over real HTTP and HTTPS against a fake PBX: a hyper server on 127.0.0.1:0 that
//! answers with encoded envelopes and records every request with the TCP connection it came on.
//! For byte-level misbehaviour (silent closes, chunked floods) a raw TCP server is used.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{StatusCode, Uri};
use http_body_util::{BodyExt as _, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use pbx_soap::client::{Client, Config, Destination, PickupTarget, Session, TlsConfig};
use pbx_soap::envelope::{
    ArrayNaming, Dialect, Fault, Operation, Request, Response, UserCallRequest, VersionInfo,
    WsdlVersion, decode_request, encode_fault, encode_response,
};
use pbx_soap::error::{ConfigError, DecodeError, Error, Origin};
use pbx_soap::records::{AnyInfo, CallInfo, CallState, Msg, UserInfo};

const USER: &str = "gateway";
const PASSWORD: &str = "s3cret:with colon";
const DIGEST_CHALLENGE: &str =
    "Digest realm=\"PBX\", nonce=\"4f2d8a51c0e9\", qop=\"auth\", algorithm=MD5";

/// One request as the fake PBX saw it.
#[derive(Clone, Debug)]
struct Seen {
    /// The client's TCP port: one value per connection.
    connection: u16,
    method: String,
    path: String,
    content_type: Option<String>,
    soap_action: Option<String>,
    authorization: Option<String>,
    body: Vec<u8>,
    request: Option<Request>,
}

impl Seen {
    fn operation(&self) -> Option<Operation> {
        self.request.as_ref().map(Request::operation)
    }
}

/// What the fake PBX answers.
struct Reply {
    status: StatusCode,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    /// Answer only after this is notified.
    gate: Option<Arc<Notify>>,
    /// Never answer.
    hang: bool,
}

impl Reply {
    fn response(operation: Operation, response: &Response) -> Self {
        Self::dialect(operation, response, Dialect::RpcEncoded)
    }

    fn dialect(operation: Operation, response: &Response, dialect: Dialect) -> Self {
        let mut body = Vec::new();
        encode_response(
            operation,
            response,
            dialect,
            ArrayNaming::Observed,
            &mut body,
        );
        Self::status(StatusCode::OK, body)
    }

    fn status(status: StatusCode, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
            gate: None,
            hang: false,
        }
    }

    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    fn gated(mut self, gate: &Arc<Notify>) -> Self {
        self.gate = Some(gate.clone());
        self
    }
}

/// A sensible answer for every operation, so tests only script what they look at.
fn default_reply(seen: &Seen) -> Reply {
    let Some(request) = &seen.request else {
        return Reply::status(StatusCode::BAD_REQUEST, "not SOAP");
    };
    let operation = request.operation();
    let response = match request {
        Request::Version => Response::Version(VersionInfo {
            wsdl_version: 1000,
            gatekeeper_id: "pbx.test".into(),
            location: "master".into(),
            firmware_version: "13r2".into(),
            serial_number: "00-90-33-00-00-01".into(),
        }),
        Request::Initialize(_) => Response::Initialize {
            session: 3,
            key: 77,
        },
        Request::Echo { key, .. } => Response::Int(i32::from(*key == 77)),
        Request::Poll { .. } => Response::Poll(AnyInfo::default()),
        Request::UserInitialize { .. }
        | Request::UserCall(_)
        | Request::UserPickup { .. }
        | Request::UserPark { .. }
        | Request::UserMessage { .. }
        | Request::SetPresence { .. } => Response::Int(21),
        Request::UserRedirect { .. }
        | Request::UserReroute { .. }
        | Request::UserLicense { .. } => Response::Bool(true),
        Request::Admin { .. }
        | Request::License { .. }
        | Request::LocationUrl { .. }
        | Request::UserLocalNum { .. } => Response::String("<ok/>".into()),
        Request::FindUser(_) => Response::FindUser(Vec::new()),
        _ => Response::Void,
    };
    Reply::response(operation, &response)
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// The fake PBX; the server stops when it is dropped.
struct FakePbx {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: JoinHandle<()>,
}

impl FakePbx {
    async fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
        Self::serve(Arc::new(handler), None).await
    }

    async fn serve(handler: Handler, tls: Option<TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, peer)) = listener.accept().await {
                let (handler, log, tls) = (handler.clone(), log.clone(), tls.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        answer(request, peer.port(), handler.clone(), log.clone())
                    });
                    let _ = match tls {
                        None => {
                            http1::Builder::new()
                                .serve_connection(TokioIo::new(tcp), service)
                                .await
                        }
                        Some(acceptor) => {
                            let Ok(stream) = acceptor.accept(tcp).await else {
                                return;
                            };
                            http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await
                        }
                    };
                });
            }
        });
        Self { addr, seen, task }
    }

    fn url(&self, scheme: &str) -> Uri {
        format!("{scheme}://{}/PBX0/user.soap", self.addr)
            .parse()
            .unwrap()
    }

    fn config(&self) -> Config {
        Config::new(self.url("http"), USER, PASSWORD)
    }

    fn client(&self) -> Client {
        Client::new(self.config()).unwrap()
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for FakePbx {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    request: hyper::Request<hyper::body::Incoming>,
    connection: u16,
    handler: Handler,
    log: Arc<Mutex<Vec<Seen>>>,
) -> Result<hyper::Response<Full<Bytes>>, hyper::Error> {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap_or("<binary>").to_owned())
    };
    let mut seen = Seen {
        connection,
        method: request.method().to_string(),
        path: request.uri().to_string(),
        content_type: header("content-type"),
        soap_action: header("soapaction"),
        authorization: header("authorization"),
        body: Vec::new(),
        request: None,
    };
    seen.body = request.into_body().collect().await?.to_bytes().to_vec();
    seen.request = decode_request(&seen.body).ok();
    log.lock().unwrap().push(seen.clone());
    let reply = handler(&seen);
    if reply.hang {
        std::future::pending::<()>().await;
    }
    if let Some(gate) = &reply.gate {
        gate.notified().await;
    }
    let mut response = hyper::Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = reply.status;
    response
        .headers_mut()
        .insert("content-type", "text/xml; charset=utf-8".parse().unwrap());
    for (name, value) in reply.headers {
        response.headers_mut().append(name, value.parse().unwrap());
    }
    Ok(response)
}

fn basic() -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
    )
}

// ---- requests, keep-alive and the poll connection ----------------------------------------------

#[tokio::test]
async fn commands_share_one_keep_alive_connection_with_preemptive_basic() {
    let pbx = FakePbx::start(default_reply).await;
    let client = pbx.client();

    let version = client.version().await.unwrap();
    assert_eq!(version.wsdl_version, 1000);
    assert_eq!(version.serial_number, "00-90-33-00-00-01");
    let session = client.initialize("_TAPI_", "gateway").await.unwrap();
    assert_eq!(session, Session { handle: 3, key: 77 });
    assert!(client.echo(session).await.unwrap());
    let call = client
        .user_call(21, &Destination::E164("0301234".into()), 0, "")
        .await
        .unwrap();
    assert_eq!(call, 21);
    client.user_end(21).await.unwrap();

    let seen = pbx.seen();
    assert_eq!(seen.len(), 5);
    for request in &seen {
        assert_eq!(request.connection, seen[0].connection, "keep-alive reuse");
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/PBX0/user.soap");
        assert_eq!(
            request.content_type.as_deref(),
            Some("text/xml; charset=utf-8")
        );
        assert_eq!(
            request.authorization.as_deref(),
            Some(basic().as_str()),
            "preemptive Basic"
        );
    }
    assert_eq!(
        seen[0].soap_action.as_deref(),
        Some("\"http://innovaphone.com/pbx#Version\"")
    );
    assert_eq!(
        seen[4].soap_action.as_deref(),
        Some("\"capeconnect:pbx:pbxPortType#UserEnd\"")
    );
    let Some(Request::Initialize(initialize)) = &seen[1].request else {
        panic!("{seen:?}")
    };
    assert_eq!(initialize.user, "_TAPI_");
    assert_eq!(initialize.flags, WsdlVersion::Pbx1000.flags());
    assert_eq!(
        seen[3].request,
        Some(Request::UserCall(UserCallRequest {
            user: 21,
            e164: "0301234".into(),
            ..UserCallRequest::default()
        }))
    );
}

#[tokio::test]
async fn a_blocked_poll_never_delays_a_command() {
    let release = Arc::new(Notify::new());
    let arrived = Arc::new(Notify::new());
    let event = CallInfo {
        user: 21,
        call: 5,
        active: true,
        state: CallState(0x81),
        msg: Msg::XSetup,
        ..CallInfo::default()
    };
    let pbx = {
        let (release, arrived, event) = (release.clone(), arrived.clone(), event.clone());
        FakePbx::start(move |seen| match seen.operation() {
            Some(Operation::Poll) => {
                arrived.notify_one();
                let any = AnyInfo {
                    call: vec![event.clone()],
                    ..AnyInfo::default()
                };
                Reply::response(Operation::Poll, &Response::Poll(any)).gated(&release)
            }
            _ => default_reply(seen),
        })
        .await
    };
    let client = pbx.client();
    client.version().await.unwrap();

    let poller = client.clone();
    let poll = tokio::spawn(async move { poller.poll(3).await });
    arrived.notified().await;
    // The PBX holds the poll; commands still complete.
    client.user_hold(5, false).await.unwrap();
    client.user_retrieve(5).await.unwrap();
    assert!(!poll.is_finished());
    release.notify_one();
    let any = poll.await.unwrap().unwrap();
    assert_eq!(any.call, vec![event]);

    // The next poll reuses the poll connection, the next command the command connection.
    release.notify_one();
    client.poll(3).await.unwrap();
    client.user_connect(5).await.unwrap();

    let seen = pbx.seen();
    let connection = |operation| {
        seen.iter()
            .filter(|request| request.operation() == Some(operation))
            .map(|request| request.connection)
            .collect::<Vec<_>>()
    };
    let commands = connection(Operation::Version);
    let polls = connection(Operation::Poll);
    assert_eq!(polls.len(), 2);
    assert_eq!(polls[0], polls[1], "the poll connection is kept alive");
    assert_ne!(polls[0], commands[0], "poll has its own connection");
    assert_eq!(connection(Operation::UserHold), commands);
    assert_eq!(connection(Operation::UserConnect), commands);
}

#[tokio::test]
async fn concurrent_commands_use_separate_pooled_connections() {
    let release = Arc::new(Notify::new());
    let arrived = Arc::new(Notify::new());
    let pbx = {
        let (release, arrived) = (release.clone(), arrived.clone());
        FakePbx::start(move |seen| match seen.operation() {
            Some(Operation::UserCall) => {
                arrived.notify_one();
                default_reply(seen).gated(&release)
            }
            _ => default_reply(seen),
        })
        .await
    };
    let client = pbx.client();
    let caller = client.clone();
    let call = tokio::spawn(async move {
        caller
            .user_call(1, &Destination::Cn("Bob".into()), 0, "")
            .await
    });
    arrived.notified().await;
    client.user_clear(9, 16).await.unwrap();
    release.notify_one();
    assert_eq!(call.await.unwrap().unwrap(), 21);
    let seen = pbx.seen();
    assert_ne!(seen[0].connection, seen[1].connection);
}

#[tokio::test]
async fn one_command_connection_serialises_commands() {
    let pbx = FakePbx::start(default_reply).await;
    let mut config = pbx.config();
    config.command_connections = 1;
    let client = Client::new(config).unwrap();
    let (a, b, c) = tokio::join!(
        client.user_connect(1),
        client.user_connect(2),
        client.user_connect(3)
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    let seen = pbx.seen();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter()
            .all(|request| request.connection == seen[0].connection)
    );
}

#[tokio::test]
async fn pbx11_client_speaks_doc_literal() {
    let pbx = FakePbx::start(|seen| match &seen.request {
        Some(Request::Poll { .. }) => {
            let any = AnyInfo {
                user: vec![UserInfo {
                    cn: "Alice".into(),
                    ..UserInfo::default()
                }],
                ..AnyInfo::default()
            };
            Reply::dialect(Operation::Poll, &Response::Poll(any), Dialect::DocLiteral)
        }
        _ => default_reply(seen),
    })
    .await;
    let mut config = pbx.config();
    config.wsdl = WsdlVersion::Pbx1100;
    let client = Client::new(config).unwrap();
    let session = client.initialize("_TAPI_", "gw").await.unwrap();
    let any = client.poll(session.handle).await.unwrap();
    assert_eq!(any.user[0].cn, "Alice");
    let seen = pbx.seen();
    assert_eq!(
        seen[0].soap_action.as_deref(),
        Some("\"http://innovaphone.com/pbx/Initialize\"")
    );
    let body = String::from_utf8_lossy(&seen[0].body);
    assert!(
        body.contains("<vx1100>true</vx1100>") && !body.contains("xsi:type"),
        "{body}"
    );
}

#[tokio::test]
async fn every_operation_reaches_the_pbx_as_its_request() {
    let pbx = FakePbx::start(default_reply).await;
    let client = pbx.client();
    let presence = pbx_soap::records::Presence {
        note: Some("away".into()),
        ..Default::default()
    };
    client.end(3).await.unwrap();
    assert_eq!(client.admin("<show/>").await.unwrap(), "<ok/>");
    assert_eq!(
        client
            .user_initialize(3, "Alice", true, false, "hw1")
            .await
            .unwrap(),
        21
    );
    client.devices(3, "Alice").await.unwrap();
    client.calls(3, "Alice").await.unwrap();
    client.user_find_destination(21, "12", "").await.unwrap();
    assert_eq!(client.location_url("branch", true).await.unwrap(), "<ok/>");
    assert_eq!(client.user_local_num(21, "4930201").await.unwrap(), "<ok/>");
    assert!(
        client
            .set_presence(&presence, false, "", "*", "alice")
            .await
            .unwrap()
    );
    assert_eq!(client.license(3, "x").await.unwrap(), "<ok/>");
    assert!(client.user_license("g", "t").await.unwrap());
    client.user_transfer(1, 2).await.unwrap();
    client.user_media_transfer(1, 2, true, false).await.unwrap();
    assert!(
        client
            .user_redirect(1, &Destination::H323("bob".into()), 0)
            .await
            .unwrap()
    );
    assert!(
        client
            .user_reroute(1, &Destination::Cn("Bob".into()))
            .await
            .unwrap()
    );
    assert_eq!(
        client
            .user_pickup(21, &PickupTarget::Group("g".into()))
            .await
            .unwrap(),
        21
    );
    assert_eq!(client.user_park(1, "", -1).await.unwrap(), 21);
    client.user_ct_complete(1, "12", "").await.unwrap();
    client.user_rc(1, 4).await.unwrap();
    client.user_dtmf(1, false, "12#").await.unwrap();
    client.user_uui(1, true, "abc").await.unwrap();
    client.user_info(1, false, "5", "", "").await.unwrap();
    assert_eq!(
        client
            .user_message(21, "12", "", "hi", "", "")
            .await
            .unwrap(),
        21
    );

    let seen: Vec<Request> = pbx
        .seen()
        .into_iter()
        .filter_map(|seen| seen.request)
        .collect();
    assert_eq!(seen.len(), 23);
    assert_eq!(
        seen[2],
        Request::UserInitialize {
            session: 3,
            user: "Alice".into(),
            xfer: true,
            disc: false,
            hw: "hw1".into()
        }
    );
    assert_eq!(
        seen[6],
        Request::LocationUrl {
            flags: pbx_soap::envelope::InitializeFlags {
                v: false,
                ..WsdlVersion::Pbx1000.flags()
            },
            loc: "branch".into(),
            tls: true
        }
    );
    assert_eq!(
        seen[8],
        Request::SetPresence {
            presence,
            im: false,
            contact: String::new(),
            guid: "*".into(),
            h323: "alice".into()
        }
    );
    assert_eq!(
        seen[15],
        Request::UserPickup {
            user: 21,
            cn: String::new(),
            call: 0,
            group: "g".into()
        }
    );
    assert_eq!(
        seen[19],
        Request::UserDtmf {
            call: 1,
            recv: false,
            dtmf: "12#".into()
        }
    );
    assert_eq!(
        seen[22],
        Request::UserMessage {
            user: 21,
            e164: "12".into(),
            h323: String::new(),
            msg: "hi".into(),
            src_e164: String::new(),
            src_h323: String::new()
        }
    );
}

/// A directory of `size` users named `user000`...; a PBX that honours `next` skips the start
/// entry, one that does not repeats it.
async fn directory_pbx(size: usize, honours_next: bool) -> (FakePbx, Vec<String>) {
    let directory: Vec<String> = (0..size).map(|index| format!("user{index:03}")).collect();
    let names = directory.clone();
    let pbx = FakePbx::start(move |seen| {
        let Some(Request::FindUser(query)) = &seen.request else {
            return default_reply(seen);
        };
        let start = names.partition_point(|cn| cn.as_str() < query.cn.as_str());
        let skip = usize::from(honours_next && query.next && names.get(start) == Some(&query.cn));
        let page = names
            .iter()
            .skip(start + skip)
            .take(usize::try_from(query.count).unwrap())
            .map(|cn| UserInfo {
                cn: cn.clone(),
                ..UserInfo::default()
            })
            .collect();
        Reply::response(Operation::FindUser, &Response::FindUser(page))
    })
    .await;
    (pbx, directory)
}

fn names(users: &[UserInfo]) -> Vec<String> {
    users.iter().map(|user| user.cn.clone()).collect()
}

#[tokio::test]
async fn find_all_users_walks_the_directory_in_pages_of_50() {
    let (pbx, directory) = directory_pbx(120, true).await;
    let users = pbx.client().find_all_users().await.unwrap();
    assert_eq!(names(&users), directory);
    let starts: Vec<(String, bool, i32)> = pbx
        .seen()
        .into_iter()
        .filter_map(|seen| match seen.request {
            Some(Request::FindUser(query)) => Some((query.cn, query.next, query.count)),
            _ => None,
        })
        .collect();
    let expected = [
        ("", false),
        ("user049", true),
        ("user099", true),
        ("user119", true),
    ];
    assert_eq!(starts, expected.map(|(cn, next)| (cn.to_owned(), next, 50)));
}

/// A PBX that ignores `next` repeats the start entry; it is not reported twice.
#[tokio::test]
async fn find_all_users_tolerates_a_pbx_that_ignores_next() {
    let (pbx, directory) = directory_pbx(60, false).await;
    let users = pbx.client().find_all_users().await.unwrap();
    assert_eq!(names(&users), directory);
    assert_eq!(pbx.seen().len(), 3);
}

// ---- authentication --------------------------------------------------------------------------

fn verify_digest(seen: &Seen) -> bool {
    let Some(header) = &seen.authorization else {
        return false;
    };
    let Ok(answer) = digest_auth::AuthorizationHeader::parse(header) else {
        return false;
    };
    let mut challenge = digest_auth::parse(DIGEST_CHALLENGE).unwrap();
    challenge.nc = answer.nc - 1;
    let mut context =
        digest_auth::AuthContext::new_post(USER, PASSWORD, &answer.uri, Some(&seen.body));
    if let Some(cnonce) = &answer.cnonce {
        context.set_custom_cnonce(cnonce.clone());
    }
    let expected = challenge.respond(&context).unwrap();
    answer.username == USER
        && answer.uri == "/PBX0/user.soap"
        && answer.response == expected.response
}

#[tokio::test]
async fn digest_challenge_is_answered_and_then_used_preemptively() {
    let pbx = FakePbx::start(|seen| {
        if verify_digest(seen) {
            default_reply(seen)
        } else {
            Reply::status(StatusCode::UNAUTHORIZED, "").header("www-authenticate", DIGEST_CHALLENGE)
        }
    })
    .await;
    let client = pbx.client();
    client.version().await.unwrap();
    client.user_connect(4).await.unwrap();
    let seen = pbx.seen();
    assert_eq!(seen.len(), 3, "{seen:#?}");
    assert_eq!(seen[0].authorization.as_deref(), Some(basic().as_str()));
    let digest = |index: usize| {
        digest_auth::AuthorizationHeader::parse(seen[index].authorization.as_deref().unwrap())
            .unwrap()
    };
    assert_eq!(digest(1).nc, 1);
    assert_eq!(
        digest(2).nc,
        2,
        "later requests answer the stored challenge"
    );
    assert_eq!(seen[2].operation(), Some(Operation::UserConnect));
}

/// The PBX may close the connection after its 401; the answer goes out on a new one.
#[tokio::test]
async fn digest_retry_survives_a_closed_connection() {
    let pbx = FakePbx::start(|seen| {
        if verify_digest(seen) {
            default_reply(seen)
        } else {
            Reply::status(StatusCode::UNAUTHORIZED, "")
                .header("www-authenticate", DIGEST_CHALLENGE)
                .header("connection", "close")
        }
    })
    .await;
    pbx.client().user_rc(1, 4).await.unwrap();
    let seen = pbx.seen();
    assert_eq!(seen.len(), 2);
    assert_ne!(seen[0].connection, seen[1].connection);
    assert!(verify_digest(&seen[1]));
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized() {
    let basic_only = FakePbx::start(|_| {
        Reply::status(StatusCode::UNAUTHORIZED, "")
            .header("www-authenticate", "Basic realm=\"PBX\"")
    })
    .await;
    let error = basic_only.client().version().await.unwrap_err();
    assert!(matches!(error, Error::Unauthorized), "{error:?}");
    assert!(!error.is_transient());
    assert_eq!(error.origin(), Origin::Pbx);
    assert_eq!(basic_only.seen().len(), 1);

    let digest = FakePbx::start(|_| {
        Reply::status(StatusCode::UNAUTHORIZED, "").header("www-authenticate", DIGEST_CHALLENGE)
    })
    .await;
    let error = digest.client().version().await.unwrap_err();
    assert!(matches!(error, Error::Unauthorized), "{error:?}");
    assert_eq!(
        digest.seen().len(),
        2,
        "one answer to the challenge, no loop"
    );
}

// ---- answers that are errors ----------------------------------------------------------------------

#[tokio::test]
async fn faults_http_errors_and_garbage_are_typed() {
    let pbx = FakePbx::start(|seen| match &seen.request {
        Some(Request::Echo { .. }) => {
            let mut body = Vec::new();
            encode_fault(
                &Fault {
                    code: "SOAP-ENV:Server".into(),
                    string: "no session".into(),
                },
                &mut body,
            );
            Reply::status(StatusCode::INTERNAL_SERVER_ERROR, body)
        }
        Some(Request::End { .. }) => {
            Reply::status(StatusCode::INTERNAL_SERVER_ERROR, "<html>oops</html>")
        }
        Some(Request::UserEnd { .. }) => Reply::status(StatusCode::SERVICE_UNAVAILABLE, ""),
        Some(Request::Poll { .. }) => Reply::status(StatusCode::OK, "garbage, not XML"),
        Some(Request::Admin { .. }) => Reply::status(StatusCode::NOT_FOUND, ""),
        _ => default_reply(seen),
    })
    .await;
    let client = pbx.client();
    let error = client
        .echo(Session { handle: 1, key: 2 })
        .await
        .unwrap_err();
    let Error::Fault(fault) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        (fault.code.as_str(), fault.string.as_str()),
        ("SOAP-ENV:Server", "no session")
    );
    assert!(!error.is_transient());

    let error = client.end(1).await.unwrap_err();
    assert!(
        matches!(error, Error::Http { status } if status == 500),
        "{error:?}"
    );
    assert!(error.is_transient());
    let error = client.user_end(1).await.unwrap_err();
    assert!(
        matches!(error, Error::Http { status } if status == 503),
        "{error:?}"
    );
    let error = client.admin("<x/>").await.unwrap_err();
    assert!(
        matches!(error, Error::Http { status } if status == 404),
        "{error:?}"
    );
    assert!(!error.is_transient());
    let error = client.poll(1).await.unwrap_err();
    assert!(
        matches!(error, Error::Decode(DecodeError::NoRootElement)),
        "{error:?}"
    );
    // None of this broke the command connection.
    let seen = pbx.seen();
    let mut commands = seen
        .iter()
        .filter(|request| request.operation() != Some(Operation::Poll));
    assert!(
        commands.clone().count() == 4
            && commands.all(|request| request.connection == seen[0].connection)
    );
}

#[tokio::test]
async fn zero_handles_are_rejections() {
    let pbx = FakePbx::start(|seen| match &seen.request {
        Some(Request::Initialize(_)) => Reply::response(
            Operation::Initialize,
            &Response::Initialize { session: 0, key: 0 },
        ),
        Some(request) if request.operation() != Operation::SetPresence => {
            Reply::response(request.operation(), &Response::Int(0))
        }
        _ => Reply::response(Operation::SetPresence, &Response::Int(0)),
    })
    .await;
    let client = pbx.client();
    let rejected = |result: Result<i32, Error>| match result {
        Err(Error::Rejected { operation }) => operation,
        other => panic!("{other:?}"),
    };
    let error = client.initialize("nobody", "gw").await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Rejected {
                operation: Operation::Initialize
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        rejected(client.user_initialize(1, "x", false, false, "").await),
        Operation::UserInitialize
    );
    assert_eq!(
        rejected(
            client
                .user_call(1, &Destination::E164("1".into()), 0, "")
                .await
        ),
        Operation::UserCall
    );
    assert_eq!(
        rejected(client.user_pickup(1, &PickupTarget::Implicit).await),
        Operation::UserPickup
    );
    assert_eq!(
        rejected(client.user_park(1, "", -1).await),
        Operation::UserPark
    );
    assert_eq!(
        rejected(client.user_message(1, "1", "", "m", "", "").await),
        Operation::UserMessage
    );
    assert!(
        !client.echo(Session { handle: 1, key: 1 }).await.unwrap(),
        "echo 0 is not an error"
    );
    assert!(
        !client
            .set_presence(&Default::default(), false, "", "*", "")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn oversized_answers_are_refused() {
    let pbx = FakePbx::start(|seen| {
        Reply::status(StatusCode::OK, vec![b' '; 64 * 1024])
            .header("x-op", &format!("{:?}", seen.operation()))
    })
    .await;
    let mut config = pbx.config();
    config.max_response_bytes = 16 * 1024;
    let error = Client::new(config).unwrap().version().await.unwrap_err();
    assert!(
        matches!(error, Error::BodyTooLarge { limit: 16384 }),
        "{error:?}"
    );

    // Without a Content-Length, the limit applies while reading.
    let raw = RawPbx::start(vec![RawAnswer::chunked_flood(64)]).await;
    let mut config = Config::new(raw.url(), USER, PASSWORD);
    config.max_response_bytes = 16 * 1024;
    let error = Client::new(config).unwrap().version().await.unwrap_err();
    assert!(matches!(error, Error::BodyTooLarge { .. }), "{error:?}");
}

// ---- time limits (paused clock) --------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_silent_pbx_times_out_commands_and_polls() {
    let pbx = FakePbx::start(|seen| Reply {
        hang: true,
        ..default_reply(seen)
    })
    .await;
    let client = pbx.client();
    let error = client.user_hold(1, true).await.unwrap_err();
    assert!(
        matches!(error, Error::Timeout { operation: Operation::UserHold, after } if after == Duration::from_secs(10)),
        "{error:?}"
    );
    assert!(error.is_transient());
    let error = client.poll(1).await.unwrap_err();
    assert!(
        matches!(error, Error::Timeout { operation: Operation::Poll, after } if after == Duration::from_secs(75)),
        "{error:?}"
    );
}

/// A poll that the PBX answers after its ~60 s long-poll is not cut short by the command
/// timeout.
#[tokio::test(start_paused = true)]
async fn a_long_poll_outlives_the_command_timeout() {
    let release = Arc::new(Notify::new());
    let pbx = {
        let release = release.clone();
        FakePbx::start(move |seen| default_reply(seen).gated(&release)).await
    };
    let client = pbx.client();
    let poll = tokio::spawn(async move { client.poll(1).await });
    tokio::time::sleep(Duration::from_secs(60)).await;
    release.notify_one();
    assert!(poll.await.unwrap().unwrap().is_empty());
}

// ---- connection failures -----------------------------------------------------------------------------

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = Client::new(Config::new(
        format!("http://{addr}/PBX0/user.soap").parse().unwrap(),
        USER,
        PASSWORD,
    ))
    .unwrap();
    let error = client.version().await.unwrap_err();
    let Error::Connect { authority, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(authority, &addr.to_string());
    assert!(error.is_transient());
    assert_eq!(error.origin(), Origin::Network);
}

#[tokio::test]
async fn a_pooled_connection_closed_by_the_pbx_is_replaced() {
    let mut answer = Vec::new();
    encode_response(
        Operation::UserConnect,
        &Response::Void,
        Dialect::RpcEncoded,
        ArrayNaming::Observed,
        &mut answer,
    );
    let raw = RawPbx::start(vec![
        RawAnswer::then_close(&answer),
        RawAnswer::then_close(&answer),
    ])
    .await;
    let client = Client::new(Config::new(raw.url(), USER, PASSWORD)).unwrap();
    client.user_connect(1).await.unwrap();
    client.user_connect(2).await.unwrap();
    assert_eq!(raw.requests(), 2, "no request was sent twice");
    assert_eq!(raw.connections(), 2);
}

#[tokio::test]
async fn a_connection_lost_mid_answer_is_a_connection_error() {
    let raw = RawPbx::start(vec![RawAnswer {
        bytes: b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n<Envelope>".to_vec(),
        close: true,
    }])
    .await;
    let error = Client::new(Config::new(raw.url(), USER, PASSWORD))
        .unwrap()
        .version()
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Connection {
                operation: Operation::Version,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_transient());
}

#[test]
fn configuration_errors() {
    let config = |url: &str| Config::new(url.parse().unwrap(), USER, PASSWORD);
    let error = Client::new(config("ftp://pbx/PBX0/user.soap")).unwrap_err();
    assert!(
        matches!(&error, Error::Config(ConfigError::UnsupportedScheme { scheme }) if scheme == "ftp"),
        "{error:?}"
    );
    assert!(matches!(
        Client::new(config("/PBX0/user.soap")).unwrap_err(),
        Error::Config(ConfigError::UnsupportedScheme { .. })
    ));

    let dir = tempfile::tempdir().unwrap();
    let mut https = config("https://pbx.example.com/PBX0/user.soap");
    https.tls.ca_file = Some(dir.path().join("missing.pem"));
    let error = Client::new(https.clone()).unwrap_err();
    assert!(
        matches!(error, Error::Config(ConfigError::CaFile { .. })),
        "{error:?}"
    );
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "no certificates here\n").unwrap();
    https.tls.ca_file = Some(empty);
    let error = Client::new(https).unwrap_err();
    assert!(
        matches!(error, Error::Config(ConfigError::NoCertificates { .. })),
        "{error:?}"
    );
    assert_eq!(error.origin(), Origin::Local);

    let shown = format!("{:?}", config("http://pbx/PBX0/user.soap"));
    assert!(!shown.contains(PASSWORD), "{shown}");
}

// ---- HTTPS ---------------------------------------------------------------------------------------------

/// A CA and a server certificate for 127.0.0.1 signed by it.
struct Pki {
    ca_pem: String,
    server: TlsAcceptor,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let server = server_params.signed_by(&server_key, &issuer).unwrap();
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![server.der().clone()], key)
    .unwrap();
    Pki {
        ca_pem: ca.pem(),
        server: TlsAcceptor::from(Arc::new(config)),
    }
}

async fn https_pbx(pki: &Pki) -> FakePbx {
    FakePbx::serve(Arc::new(default_reply), Some(pki.server.clone())).await
}

fn https_client(pbx: &FakePbx, tls: TlsConfig) -> Result<Client, Error> {
    let mut config = Config::new(pbx.url("https"), USER, PASSWORD);
    config.tls = tls;
    Client::new(config)
}

fn write_pem(dir: &Path, name: &str, pem: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pem).unwrap();
    path
}

#[tokio::test]
async fn https_with_a_configured_ca_file() {
    let pki = pki();
    let pbx = https_pbx(&pki).await;
    let dir = tempfile::tempdir().unwrap();
    let tls = TlsConfig {
        ca_file: Some(write_pem(dir.path(), "ca.pem", &pki.ca_pem)),
        ..TlsConfig::default()
    };
    let client = https_client(&pbx, tls).unwrap();
    assert_eq!(client.version().await.unwrap().gatekeeper_id, "pbx.test");
    client.user_connect(1).await.unwrap();
    let seen = pbx.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[0].connection, seen[1].connection,
        "keep-alive over TLS"
    );
}

#[tokio::test]
async fn https_with_an_untrusted_certificate_fails_with_tls() {
    let pki = pki();
    let pbx = https_pbx(&pki).await;
    let dir = tempfile::tempdir().unwrap();
    let other = self::pki();
    let tls = TlsConfig {
        ca_file: Some(write_pem(dir.path(), "other.pem", &other.ca_pem)),
        ..TlsConfig::default()
    };
    let error = https_client(&pbx, tls)
        .unwrap()
        .version()
        .await
        .unwrap_err();
    let Error::Tls { source, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(
        source
            .get_ref()
            .is_some_and(|inner| inner.is::<rustls::Error>()),
        "{source:?}"
    );
    assert!(
        !error.is_transient(),
        "an untrusted certificate stays untrusted"
    );
    assert!(pbx.seen().is_empty());
}

#[tokio::test]
async fn https_accepting_invalid_certificates_when_told_to() {
    let pki = pki();
    let pbx = https_pbx(&pki).await;
    let tls = TlsConfig {
        danger_accept_invalid_certs: true,
        ..TlsConfig::default()
    };
    let client = https_client(&pbx, tls).unwrap();
    assert_eq!(client.version().await.unwrap().wsdl_version, 1000);
    assert_eq!(
        pbx.seen()[0].authorization.as_deref(),
        Some(basic().as_str())
    );
}

// ---- raw server for byte-level misbehaviour ----------------------------------------------------------

struct RawAnswer {
    bytes: Vec<u8>,
    /// Close the connection after writing, without saying so in the headers.
    close: bool,
}

impl RawAnswer {
    fn then_close(body: &[u8]) -> Self {
        let mut bytes = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        bytes.extend_from_slice(body);
        Self { bytes, close: true }
    }

    /// A chunked answer of `kib` KiB of spaces.
    fn chunked_flood(kib: usize) -> Self {
        let mut bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..kib {
            bytes.extend_from_slice(b"400\r\n");
            bytes.extend(std::iter::repeat_n(b' ', 1024));
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"0\r\n\r\n");
        Self {
            bytes,
            close: false,
        }
    }
}

/// Answers the n-th request (over all connections) with the n-th scripted answer.
struct RawPbx {
    addr: SocketAddr,
    requests: Arc<Mutex<usize>>,
    connections: Arc<Mutex<usize>>,
    task: JoinHandle<()>,
}

impl RawPbx {
    async fn start(answers: Vec<RawAnswer>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(0));
        let connections = Arc::new(Mutex::new(0));
        let (counted, opened) = (requests.clone(), connections.clone());
        let task = tokio::spawn(async move {
            let mut answers = answers.into_iter();
            while let Ok((mut tcp, _)) = listener.accept().await {
                *opened.lock().unwrap() += 1;
                loop {
                    if !read_request(&mut tcp).await {
                        break;
                    }
                    *counted.lock().unwrap() += 1;
                    let Some(answer) = answers.next() else { return };
                    if tcp.write_all(&answer.bytes).await.is_err() || answer.close {
                        break;
                    }
                }
            }
        });
        Self {
            addr,
            requests,
            connections,
            task,
        }
    }

    fn url(&self) -> Uri {
        format!("http://{}/PBX0/user.soap", self.addr)
            .parse()
            .unwrap()
    }

    fn requests(&self) -> usize {
        *self.requests.lock().unwrap()
    }

    fn connections(&self) -> usize {
        *self.connections.lock().unwrap()
    }
}

impl Drop for RawPbx {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request (head and Content-Length body); false at EOF.
async fn read_request(tcp: &mut TcpStream) -> bool {
    let mut data = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        if let Some(end) = data.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                return true;
            }
        }
        match tcp.read(&mut buffer).await {
            Ok(0) | Err(_) => return false,
            Ok(read) => data.extend_from_slice(&buffer[..read]),
        }
    }
}
