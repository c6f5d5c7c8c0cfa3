//! The thin HTTP(S) shell around the model: one task per connection, the model behind a
//! `std::sync::Mutex` that is never held across `.await`, long polls waiting on a
//! `tokio::sync::Notify` per session, and a timer task for the model's deadlines.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rand::Rng;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

use crate::envelope::{
    Dialect, Fault, Request, Response, VersionInfo, decode_request, encode_fault, encode_response,
};
use crate::records::Info;
use crate::sim::config::{AuthMode, SimConfig};
use crate::sim::control;
use crate::sim::model::{Identity, Model, UnknownSession};

/// How long a TLS handshake may take before the connection is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How many Digest nonces stay valid (the most recent ones).
const DIGEST_NONCES: usize = 256;
/// Pause after a failed `accept` (e.g. out of file descriptors) before the next one.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

pub(crate) type HttpResponse = http::Response<Full<Bytes>>;

/// The connection is closed without an answer (the `drop` fault).
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by an injected fault")]
pub(crate) struct DroppedByFault;

/// The model and what the shell keeps next to it, under one lock.
pub(crate) struct State {
    pub(crate) model: Model,
    notifiers: HashMap<i32, Arc<Notify>>,
    /// The model's next deadline as the timer task last learned it.
    deadline: Option<Duration>,
}

/// Counters of injected faults; each applies to the next requests.
#[derive(Default)]
pub(crate) struct FaultCounters {
    pub(crate) latency_ms: AtomicU64,
    pub(crate) drop_next: AtomicU32,
    pub(crate) fail_next: AtomicU32,
    pub(crate) malformed_next: AtomicU32,
}

impl FaultCounters {
    /// Takes one from a counter if it is above zero.
    fn take(counter: &AtomicU32) -> bool {
        counter
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// Everything the simulator's tasks share.
pub(crate) struct Shared {
    pub(crate) config: SimConfig,
    pub(crate) url: String,
    pub(crate) addr: SocketAddr,
    state: Mutex<State>,
    start: Instant,
    pub(crate) shutdown: CancellationToken,
    pub(crate) tracker: TaskTracker,
    timer: Notify,
    pub(crate) stall: watch::Sender<bool>,
    /// Bumped after every request, connection change and timer run, for [`Shared::changes`].
    changes: watch::Sender<u64>,
    pub(crate) faults: FaultCounters,
    connections: Mutex<HashMap<u64, CancellationToken>>,
    next_connection: AtomicU64,
    nonces: Mutex<VecDeque<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while the lock was held leaves the model as the panicking operation left it; the
    // simulator keeps serving rather than failing every later request.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(config: SimConfig, model: Model, url: String, addr: SocketAddr) -> Self {
        Self {
            config,
            url,
            addr,
            state: Mutex::new(State {
                model,
                notifiers: HashMap::new(),
                deadline: None,
            }),
            start: Instant::now(),
            shutdown: CancellationToken::new(),
            tracker: TaskTracker::new(),
            timer: Notify::new(),
            stall: watch::Sender::new(false),
            changes: watch::Sender::new(0),
            faults: FaultCounters::default(),
            connections: Mutex::new(HashMap::new()),
            next_connection: AtomicU64::new(1),
            nonces: Mutex::new(VecDeque::new()),
        }
    }

    /// Time since the simulator started, the model's clock.
    pub(crate) fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// Runs `f` on the model under the lock, then wakes the polls of sessions that got records
    /// and, when the model's next deadline moved, the timer task.
    pub(crate) fn with_model<R>(&self, f: impl FnOnce(&mut Model, Duration) -> R) -> R {
        let now = self.now();
        let mut state = lock(&self.state);
        let result = f(&mut state.model, now);
        let State {
            model,
            notifiers,
            deadline,
        } = &mut *state;
        for session in model.take_woken() {
            if let Some(notify) = notifiers.get(&session) {
                notify.notify_one();
            }
            if !model.has_session(session) {
                notifiers.remove(&session);
            }
        }
        let next = model.next_deadline();
        let moved = next != *deadline;
        *deadline = next;
        drop(state);
        if moved {
            self.timer.notify_one();
        }
        result
    }

    /// Observes outside events: requests answered, connections opened or closed, timers run.
    pub(crate) fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn changed(&self) {
        self.changes
            .send_modify(|count| *count = count.wrapping_add(1));
    }

    /// Closes every connection but `except` (the one asking for it).
    pub(crate) fn drop_connections(&self, except: Option<u64>) {
        for (id, token) in lock(&self.connections).iter() {
            if Some(*id) != except {
                token.cancel();
            }
        }
    }

    /// Number of open connections.
    pub(crate) fn connection_count(&self) -> usize {
        lock(&self.connections).len()
    }

    /// A PBX restart: every session and call is gone, every connection closed.
    pub(crate) fn restart(&self, except: Option<u64>) {
        self.with_model(|model, _| model.restart());
        self.drop_connections(except);
    }
}

/// Accepts connections until shutdown; each is served by its own task.
pub(crate) async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shared.shutdown.cancelled() => return,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                warn!(%error, "accepting a connection failed");
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    () = shared.shutdown.cancelled() => return,
                }
            }
        };
        let id = shared.next_connection.fetch_add(1, Ordering::Relaxed);
        let token = shared.shutdown.child_token();
        lock(&shared.connections).insert(id, token.clone());
        shared.changed();
        let task = Arc::clone(&shared);
        let tls = tls.clone();
        shared.tracker.spawn(async move {
            debug!(connection = id, %peer, "connection opened");
            serve_connection(&task, stream, tls, id, &token).await;
            lock(&task.connections).remove(&id);
            task.with_model(|model, now| model.connection_closed(id, now));
            task.changed();
            debug!(connection = id, %peer, "connection closed");
        });
    }
}

async fn serve_connection(
    shared: &Arc<Shared>,
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    id: u64,
    token: &CancellationToken,
) {
    // Nagle would delay the small SOAP answers behind the client's delayed ACKs.
    let _ = stream.set_nodelay(true);
    let Some(acceptor) = tls else {
        return serve_http(shared, TokioIo::new(stream), id, token).await;
    };
    let handshake = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream));
    let stream = tokio::select! {
        stream = handshake => stream,
        () = token.cancelled() => return,
    };
    match stream {
        Ok(Ok(stream)) => serve_http(shared, TokioIo::new(stream), id, token).await,
        Ok(Err(error)) => debug!(connection = id, %error, "TLS handshake failed"),
        Err(_) => debug!(connection = id, "TLS handshake timed out"),
    }
}

async fn serve_http<I>(shared: &Arc<Shared>, io: I, id: u64, token: &CancellationToken)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let doc_literal = Arc::new(AtomicBool::new(false));
    let task = Arc::clone(shared);
    let service = service_fn(move |request| {
        let shared = Arc::clone(&task);
        let doc_literal = Arc::clone(&doc_literal);
        async move {
            let response = Arc::clone(&shared).handle(request, id, &doc_literal).await;
            shared.changed();
            response
        }
    });
    let connection = http1::Builder::new().serve_connection(io, service);
    tokio::select! {
        result = connection => {
            if let Err(error) = result {
                debug!(connection = id, %error, "connection ended with an error");
            }
        }
        () = token.cancelled() => {}
    }
}

/// Runs the model's timers (no-answer forwards, session expiry).
pub(crate) async fn timer_loop(shared: Arc<Shared>) {
    loop {
        let deadline = {
            let mut state = lock(&shared.state);
            state.deadline = state.model.next_deadline();
            state.deadline
        };
        let sleep = async {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(shared.start + deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = sleep => {
                shared.with_model(|model, now| model.tick(now));
                shared.changed();
            }
            () = shared.timer.notified() => {}
            () = shared.shutdown.cancelled() => return,
        }
    }
}

pub(crate) fn text(status: StatusCode, body: impl Into<Bytes>) -> HttpResponse {
    let mut response = http::Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn soap(status: StatusCode, body: Vec<u8>) -> HttpResponse {
    let mut response = http::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    response
}

fn fault(code: &str, string: impl Into<String>) -> Fault {
    Fault {
        code: code.to_owned(),
        string: string.into(),
    }
}

fn client_fault(string: impl Into<String>) -> Fault {
    fault("SOAP-ENV:Client", string)
}

fn session_fault(error: UnknownSession) -> Fault {
    client_fault(error.to_string())
}

/// What a SOAP request produced: the response and, when the request tells, the dialect.
struct Answer {
    response: Response,
    dialect: Option<Dialect>,
}

impl Shared {
    async fn handle(
        self: Arc<Self>,
        request: http::Request<Incoming>,
        connection: u64,
        doc_literal: &AtomicBool,
    ) -> Result<HttpResponse, DroppedByFault> {
        if FaultCounters::take(&self.faults.drop_next) {
            debug!(connection, "dropping the connection (injected fault)");
            return Err(DroppedByFault);
        }
        let latency = self.faults.latency_ms.load(Ordering::Relaxed);
        if latency > 0 {
            // Injected latency: the delay itself is what is being simulated.
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        let path = request.uri().path().to_owned();
        if path.starts_with("/sim/") {
            return Ok(control::handle(&self, request, connection).await);
        }
        if path != self.config.path {
            return Ok(text(StatusCode::NOT_FOUND, "no such endpoint\n"));
        }
        if request.method() != Method::POST {
            let mut response = text(
                StatusCode::METHOD_NOT_ALLOWED,
                "the SOAP endpoint takes POST\n",
            );
            response
                .headers_mut()
                .insert(http::header::ALLOW, HeaderValue::from_static("POST"));
            return Ok(response);
        }
        let Some(identity) = self.authenticate(request.headers()) else {
            return Ok(self.challenge());
        };
        let body = match self.read_body(request).await {
            Ok(body) => body,
            Err(response) => return Ok(response),
        };
        if FaultCounters::take(&self.faults.fail_next) {
            return Ok(text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal server error (injected fault)\n",
            ));
        }
        let fallback = if doc_literal.load(Ordering::Relaxed) {
            Dialect::DocLiteral
        } else {
            Dialect::RpcEncoded
        };
        let request = match decode_request(&body) {
            Ok(request) => request,
            Err(error) => {
                debug!(connection, %error, "undecodable request");
                return Ok(self.fault_response(&client_fault(error.to_string())));
            }
        };
        let operation = request.operation();
        let answer = match request {
            Request::Poll { session } => self.poll(session, connection).await,
            request => self.dispatch(request, identity, connection),
        };
        let answer = match answer {
            Ok(answer) => answer,
            Err(fault) => {
                debug!(connection, %operation, fault = %fault.string, "answering with a fault");
                return Ok(self.fault_response(&fault));
            }
        };
        let dialect = answer.dialect.unwrap_or(fallback);
        doc_literal.store(dialect == Dialect::DocLiteral, Ordering::Relaxed);
        let mut out = Vec::with_capacity(1024);
        encode_response(
            operation,
            &answer.response,
            dialect,
            self.config.naming,
            &mut out,
        );
        if FaultCounters::take(&self.faults.malformed_next) {
            out.truncate(out.len() / 2);
        }
        Ok(soap(StatusCode::OK, out))
    }

    fn fault_response(&self, fault: &Fault) -> HttpResponse {
        let mut out = Vec::with_capacity(256);
        encode_fault(fault, &mut out);
        // SOAP 1.1 §6.2: a fault goes with HTTP 500.
        soap(StatusCode::INTERNAL_SERVER_ERROR, out)
    }

    async fn read_body(&self, request: http::Request<Incoming>) -> Result<Bytes, HttpResponse> {
        let too_large = || {
            text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body exceeds {} bytes\n", self.config.max_body),
            )
        };
        let declared = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.config.max_body as u64) {
            return Err(too_large());
        }
        match Limited::new(request.into_body(), self.config.max_body)
            .collect()
            .await
        {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(too_large()),
            Err(error) => {
                debug!(%error, "reading the request body failed");
                Err(text(StatusCode::BAD_REQUEST, "unreadable request body\n"))
            }
        }
    }

    /// Checks the `Authorization` header: Basic (unless Digest is required) or Digest.
    pub(crate) fn authenticate(&self, headers: &HeaderMap) -> Option<Identity> {
        let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
        let (scheme, credentials) = value.split_once(' ')?;
        let state = lock(&self.state);
        if scheme.eq_ignore_ascii_case("basic") {
            if self.config.auth == AuthMode::Digest {
                return None;
            }
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(credentials.trim())
                .ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (user, password) = decoded.split_once(':')?;
            return state.model.authenticate(user, password);
        }
        if !scheme.eq_ignore_ascii_case("digest") {
            return None;
        }
        let mut header = digest_auth::AuthorizationHeader::parse(value).ok()?;
        if header.realm != self.config.realm || !lock(&self.nonces).contains(&header.nonce) {
            return None;
        }
        let (identity, password) = state.model.credentials(&header.username)?;
        let sent = std::mem::take(&mut header.response);
        let context = digest_auth::AuthContext::new_with_method(
            header.username.clone(),
            password,
            header.uri.clone(),
            Option::<&[u8]>::None,
            digest_auth::HttpMethod::POST,
        );
        header.digest(&context);
        (header.response == sent).then_some(identity)
    }

    /// HTTP 401 with the configured challenge.
    pub(crate) fn challenge(&self) -> HttpResponse {
        let realm = &self.config.realm;
        let value = match self.config.auth {
            AuthMode::Basic => format!("Basic realm=\"{realm}\""),
            AuthMode::Digest => {
                let nonce = format!("{:032x}", rand::rng().random::<u128>());
                let mut nonces = lock(&self.nonces);
                if nonces.len() == DIGEST_NONCES {
                    nonces.pop_front();
                }
                nonces.push_back(nonce.clone());
                format!(
                    "Digest realm=\"{realm}\", qop=\"auth\", algorithm=MD5, nonce=\"{nonce}\", opaque=\"{:016x}\"",
                    rand::rng().random::<u64>()
                )
            }
        };
        let mut response = text(StatusCode::UNAUTHORIZED, "authentication required\n");
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
        }
        response
    }

    /// `Poll`: the queued records, or, when there are none, a wait for records until the poll
    /// timeout (an empty answer). A stalled poll neither answers nor times out until the stall
    /// is lifted.
    async fn poll(&self, session: i32, connection: u64) -> Result<Answer, Fault> {
        let deadline = Instant::now() + self.config.poll_timeout;
        let mut stall = self.stall.subscribe();
        loop {
            let stalled = *stall.borrow_and_update();
            let (records, notify, dialect) = {
                let mut state = lock(&self.state);
                let dialect = state
                    .model
                    .session_flags(session)
                    .map(|flags| flags.dialect());
                state.model.attach(session, connection);
                let records = if stalled {
                    state
                        .model
                        .queued(session)
                        .map(|_| Default::default())
                        .ok_or(UnknownSession { session })
                } else {
                    state.model.poll(session)
                };
                let notify = Arc::clone(state.notifiers.entry(session).or_default());
                (records.map_err(session_fault)?, notify, dialect)
            };
            if !records.is_empty() {
                return Ok(Answer {
                    response: Response::Poll(records),
                    dialect,
                });
            }
            tokio::select! {
                () = notify.notified() => {}
                changed = stall.changed() => {
                    if changed.is_err() {
                        return Err(fault("SOAP-ENV:Server", "the PBX is shutting down"));
                    }
                }
                () = tokio::time::sleep_until(deadline), if !stalled => {
                    return Ok(Answer { response: Response::Poll(Default::default()), dialect });
                }
            }
        }
    }

    /// Every operation but `Poll`, synchronously on the model.
    fn dispatch(
        &self,
        request: Request,
        identity: Identity,
        connection: u64,
    ) -> Result<Answer, Fault> {
        let config = &self.config;
        self.with_model(|model, now| {
            // The session a request belongs to decides the dialect, and the connection keeps
            // the session alive.
            let session = match &request {
                Request::Echo { session, .. }
                | Request::End { session }
                | Request::License { session, .. }
                | Request::UserInitialize { session, .. }
                | Request::Devices { session, .. }
                | Request::Calls { session, .. } => Some(*session),
                Request::UserEnd { user }
                | Request::UserFindDestination { user, .. }
                | Request::UserLocalNum { user, .. }
                | Request::UserPickup { user, .. }
                | Request::UserMessage { user, .. } => model.session_of_user(*user),
                Request::UserCall(call) => model.session_of_user(call.user),
                Request::UserClear { call, .. }
                | Request::UserConnect { call }
                | Request::UserHold { call, .. }
                | Request::UserRetrieve { call }
                | Request::UserRedirect { call, .. }
                | Request::UserReroute { call, .. }
                | Request::UserPark { call, .. }
                | Request::UserCtComplete { call, .. }
                | Request::UserRc { call, .. }
                | Request::UserDtmf { call, .. }
                | Request::UserUui { call, .. }
                | Request::UserInfo { call, .. } => model.session_of_call(*call),
                Request::UserTransfer { a, .. } | Request::UserMediaTransfer { a, .. } => {
                    model.session_of_call(*a)
                }
                _ => None,
            };
            let mut dialect = session
                .and_then(|session| model.session_flags(session))
                .map(|flags| flags.dialect());
            if let Some(session) = session {
                model.attach(session, connection);
            }
            let response = match request {
                Request::Version => {
                    let identity = model.identity();
                    Response::Version(VersionInfo {
                        wsdl_version: identity.wsdl_version,
                        gatekeeper_id: identity.gatekeeper_id.clone(),
                        location: config.location.clone(),
                        firmware_version: identity.firmware.clone(),
                        serial_number: identity.serial.clone(),
                    })
                }
                Request::Initialize(initialize) => {
                    dialect = Some(initialize.flags.dialect());
                    let (session, key) = model
                        .initialize(
                            &initialize.user,
                            initialize.flags,
                            identity,
                            Some(connection),
                        )
                        .unwrap_or((0, 0));
                    Response::Initialize { session, key }
                }
                Request::Echo { session, key } => Response::Int(model.echo(session, key)),
                Request::End { session } => {
                    model.end(session);
                    Response::Void
                }
                Request::Poll { session } => {
                    Response::Poll(model.poll(session).map_err(session_fault)?)
                }
                Request::License { session, .. } => {
                    if !model.has_session(session) {
                        return Err(session_fault(UnknownSession { session }));
                    }
                    Response::String(String::new())
                }
                Request::Admin { xml } => {
                    if identity != Identity::Admin {
                        return Err(client_fault("Admin needs the administrator's credentials"));
                    }
                    Response::String(model.admin(&xml, now))
                }
                Request::UserInitialize {
                    session,
                    user,
                    xfer,
                    disc,
                    hw,
                } => Response::Int(
                    model
                        .user_initialize(session, &user, xfer, disc, &hw)
                        .map_err(session_fault)?,
                ),
                Request::UserEnd { user } => {
                    model.user_end(user);
                    Response::Void
                }
                Request::Devices { session, user } => {
                    Response::Devices(model.devices(session, &user).map_err(session_fault)?)
                }
                Request::Calls { session, user } => {
                    Response::Calls(model.calls(session, &user).map_err(session_fault)?)
                }
                Request::FindUser(find) => {
                    dialect = Some(find.flags.dialect());
                    Response::FindUser(model.find_user(&find, identity))
                }
                Request::UserFindDestination { user, e164, h323 } => {
                    let (incomplete, found) = model.user_find_destination(user, &e164, &h323);
                    let user = (!found.cn.is_empty()).then_some(found);
                    Response::UserFindDestination { incomplete, user }
                }
                Request::LocationUrl { flags, loc, tls } => {
                    dialect = Some(flags.dialect());
                    Response::String(model.location_url(&loc, tls))
                }
                Request::UserLocalNum { user, num } => {
                    Response::String(model.user_local_num(user, &num))
                }
                Request::SetPresence {
                    presence,
                    guid,
                    h323,
                    ..
                } => Response::Int(model.set_presence_by_id(presence, &guid, &h323)),
                Request::UserLicense { guid, .. } => Response::Bool(model.user_license(&guid)),
                Request::UserCall(call) => Response::Int(model.user_call(
                    call.user,
                    &call.cn,
                    &call.e164,
                    &call.h323,
                    &call.srce164,
                    now,
                )),
                Request::UserClear { call, cause } => {
                    model.user_clear(call, cause, now);
                    Response::Void
                }
                Request::UserConnect { call } => {
                    model.user_connect(call, now);
                    Response::Void
                }
                Request::UserHold { call, .. } => {
                    model.user_hold(call, true);
                    Response::Void
                }
                Request::UserRetrieve { call } => {
                    model.user_hold(call, false);
                    Response::Void
                }
                Request::UserTransfer { a, b } => {
                    model.user_transfer(a, b, now);
                    Response::Void
                }
                Request::UserRedirect {
                    call,
                    cn,
                    e164,
                    h323,
                    ..
                } => Response::Bool(model.user_redirect(call, &cn, &e164, &h323, false, now)),
                Request::UserReroute {
                    call,
                    cn,
                    e164,
                    h323,
                } => Response::Bool(model.user_redirect(call, &cn, &e164, &h323, true, now)),
                Request::UserPickup {
                    user,
                    cn,
                    call,
                    group,
                } => Response::Int(model.user_pickup(user, &cn, call, &group, now)),
                Request::UserPark { call, cn, position } => {
                    Response::Int(model.user_park(call, &cn, position, now))
                }
                Request::UserCtComplete { call, e164, h323 } => {
                    model.user_ct_complete(call, &e164, &h323);
                    Response::Void
                }
                // Media cross-connects and remote-control codes change nothing the API reports.
                Request::UserMediaTransfer { .. } => Response::Void,
                Request::UserRc { call, rc } => {
                    model.user_rc(call, rc);
                    Response::Void
                }
                Request::UserDtmf { call, recv, dtmf } => {
                    model.user_send_info(call, recv, &[Info::string("dtmf", dtmf)]);
                    Response::Void
                }
                Request::UserUui { call, recv, uui } => {
                    model.user_send_info(call, recv, &[Info::string("uui", uui)]);
                    Response::Void
                }
                Request::UserInfo {
                    call,
                    recv,
                    cdpn,
                    key,
                    dsp,
                } => {
                    let items: Vec<Info> = [("cdpn", cdpn), ("key", key), ("dsp", dsp)]
                        .into_iter()
                        .filter(|(_, value)| !value.is_empty())
                        .map(|(kind, value)| Info::string(kind, value))
                        .collect();
                    model.user_send_info(call, recv, &items);
                    Response::Void
                }
                Request::UserMessage {
                    user, e164, h323, ..
                } => Response::Int(model.user_message(user, &e164, &h323)),
            };
            Ok(Answer { response, dialect })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_counters_count_down_to_zero() {
        let counters = FaultCounters::default();
        counters.fail_next.store(2, Ordering::Relaxed);
        assert!(FaultCounters::take(&counters.fail_next));
        assert!(FaultCounters::take(&counters.fail_next));
        assert!(!FaultCounters::take(&counters.fail_next));
        assert_eq!(counters.fail_next.load(Ordering::Relaxed), 0);
    }
}
