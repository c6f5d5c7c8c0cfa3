//! A small scripted CSTA XML server on 127.0.0.1 for testing `tsp-client` without the gateway.
//!
//! It speaks the gateway's side of the protocol as far as the provider uses it: ECMA-354 login,
//! the device list with the gateway's private names and keys, device monitors, call control
//! services with the events a PBX would report, forwarding and do-not-disturb. Tests (and the
//! `scripted-gateway` binary that the Wine harness talks to) drive it: ring a line, hang up the
//! far end, change the device list, take a line out of service, restart (drop every connection).
//!
//! It is a test fixture, not a CSTA server: one thread per connection, plain or TLS, requests
//! decoded with `csta`, events written as ECMA-323 XML.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use csta::frame;
use csta::message::Message;
use csta::session::Credentials;
use csta::{ConnectionId, InvokeId};

/// The CSTA edition the scripted gateway speaks.
const NAMESPACE: &str = "http://www.ecma-international.org/standards/ecma-323/csta/ed6";
/// The ECMA-354 namespace.
const SESSION_NAMESPACE: &str = "http://www.ecma-international.org/standards/ecma-354/appl_session";

/// A line of the scripted gateway.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Line {
    /// Device id (extension).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Stable line key.
    pub key: String,
    /// Whether the list says the line is in service.
    pub in_service: bool,
}

impl Line {
    /// A line in service whose name and key derive from its extension.
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            name: format!("Line {id}"),
            key: format!("pbx1/{id}-guid/"),
            in_service: true,
        }
    }
}

/// What the scripted gateway serves.
#[derive(Clone, Debug)]
pub struct Script {
    /// The device list.
    pub lines: Vec<Line>,
    /// Login user ("" accepts any login).
    pub user: String,
    /// Login password.
    pub password: String,
    /// Whether the called party answers a MakeCall at once.
    pub auto_answer: bool,
}

impl Script {
    /// Lines 201, 202 and 203, login `tsp`/`secret`, called parties answer.
    pub fn standard() -> Self {
        Self {
            lines: vec![Line::new("201"), Line::new("202"), Line::new("203")],
            user: "tsp".to_owned(),
            password: "secret".to_owned(),
            auto_answer: true,
        }
    }
}

/// A running scripted gateway.
pub struct ScriptedGateway {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    tls: Option<Arc<rustls::ServerConfig>>,
}

struct State {
    script: Script,
    clients: BTreeMap<u32, Arc<Client>>,
    next_client: u32,
    next_call: u32,
    calls: BTreeMap<String, Vec<String>>,
    /// (call, device) → localConnectionState, for SnapshotDevice.
    states: BTreeMap<(String, String), &'static str>,
    log: Vec<String>,
    logins: u32,
    stopping: bool,
}

/// One client connection.
struct Client {
    tcp: Mutex<TcpStream>,
    tls: Option<Mutex<rustls::ServerConnection>>,
    /// Device → monitor cross reference id.
    monitors: Mutex<BTreeMap<String, String>>,
    logged_in: Mutex<bool>,
}

impl ScriptedGateway {
    /// Starts a plain TCP gateway on 127.0.0.1 with a free port.
    pub fn start(script: Script) -> io::Result<Self> {
        Self::spawn(script, None)
    }

    /// Starts a TLS gateway with the certificate chain and key from PEM files.
    pub fn start_tls(script: Script, cert: &Path, key: &Path) -> io::Result<Self> {
        let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
        let certs = rustls_pemfile::certs(&mut BufReader::new(File::open(cert)?))?
            .into_iter()
            .map(rustls::Certificate)
            .collect();
        let key = rustls_pemfile::pkcs8_private_keys(&mut BufReader::new(File::open(key)?))?
            .into_iter()
            .next()
            .ok_or_else(|| invalid("no PKCS#8 key"))?;
        let config = rustls::ServerConfig::builder()
            .with_safe_defaults()
            .with_no_client_auth()
            .with_single_cert(certs, rustls::PrivateKey(key))
            .map_err(|_| invalid("certificate and key do not match"))?;
        Self::spawn(script, Some(Arc::new(config)))
    }

    fn spawn(script: Script, tls: Option<Arc<rustls::ServerConfig>>) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                script,
                clients: BTreeMap::new(),
                next_client: 1,
                next_call: 1,
                calls: BTreeMap::new(),
                states: BTreeMap::new(),
                log: Vec::new(),
                logins: 0,
                stopping: false,
            }),
            changed: Condvar::new(),
            tls,
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || accept_loop(&listener, &shared))
        };
        Ok(Self {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, as `Name` or `Name:detail`, in order.
    pub fn log(&self) -> Vec<String> {
        self.shared.lock().log.clone()
    }

    /// Successful logins so far.
    pub fn logins(&self) -> u32 {
        self.shared.lock().logins
    }

    /// Waits until `done` holds for the state, at most `limit`; true when it does.
    pub fn wait_until(&self, limit: Duration, done: impl Fn(&Self) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        let mut state = self.shared.lock();
        loop {
            drop(state);
            if done(self) {
                return true;
            }
            state = self.shared.lock();
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = match self.shared.changed.wait_timeout(state, left) {
                Ok((state, _)) => state,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// Whether some client monitors `device`.
    pub fn monitored(&self, device: &str) -> bool {
        let state = self.shared.lock();
        let monitored = state
            .clients
            .values()
            .any(|client| lock(&client.monitors).contains_key(device));
        monitored
    }

    /// An external or internal caller rings `device`; returns the call id.
    pub fn ring(&self, device: &str, caller: &str) -> String {
        let mut state = self.shared.lock();
        let call = state.new_call();
        state
            .calls
            .insert(call.clone(), vec![device.to_owned(), caller.to_owned()]);
        state.set(&call, device, "alerting");
        state.set(&call, caller, "connected");
        let event = delivered(&call, device, caller, device);
        state.notify(&[device], &event);
        if state.is_line(caller) {
            state.notify(&[caller], &delivered(&call, device, caller, device));
        }
        call
    }

    /// The far end `party` of `call` hangs up.
    pub fn hang_up(&self, call: &str, party: &str) {
        let mut state = self.shared.lock();
        state.clear(call, party);
    }

    /// Sends OutOfServiceEvent (false) or BackInServiceEvent (true) for `device`.
    pub fn set_in_service(&self, device: &str, in_service: bool) {
        let state = self.shared.lock();
        let name = if in_service {
            "BackInServiceEvent"
        } else {
            "OutOfServiceEvent"
        };
        let body = format!("<device><deviceIdentifier>{device}</deviceIdentifier></device>");
        state.notify(&[device], &(name.to_owned(), body));
    }

    /// Replaces the device list and pushes it to every logged-in client.
    pub fn set_lines(&self, lines: Vec<Line>) {
        let mut state = self.shared.lock();
        state.script.lines = lines;
        let frame = state.devices_frame(9999);
        for client in state.clients.values() {
            if *lock(&client.logged_in) {
                client.send(&frame);
            }
        }
    }

    /// Replaces the device list and tells every logged-in client with
    /// `SwFunctionDevicesChanged`, as the gateway does; clients ask for the list again.
    pub fn announce_lines(&self, lines: Vec<Line>) {
        let mut state = self.shared.lock();
        state.script.lines = lines;
        let frame = frame_of(
            8000,
            &format!("<SwFunctionDevicesChanged xmlns=\"{NAMESPACE}\"/>"),
        );
        for client in state.clients.values() {
            if *lock(&client.logged_in) {
                client.send(&frame);
            }
        }
    }

    /// Tells every logged-in client that events were lost (`SystemStatus messagesLost`), as
    /// the gateway does after a client's queue overflowed.
    pub fn lose_messages(&self) {
        let state = self.shared.lock();
        let frame = frame_of(
            8001,
            &format!(
                "<SystemStatus xmlns=\"{NAMESPACE}\"><systemStatus>messagesLost</systemStatus></SystemStatus>"
            ),
        );
        for client in state.clients.values() {
            if *lock(&client.logged_in) {
                client.send(&frame);
            }
        }
    }

    /// The far end of `call` answers: the call is connected at both parties, with no event.
    /// (Events lost in an overflow are what `lose_messages` is about.)
    pub fn connect_silently(&self, call: &str) {
        let mut state = self.shared.lock();
        let parties = state.calls.get(call).cloned().unwrap_or_default();
        for party in parties {
            state.set(call, &party, "connected");
        }
    }

    /// Ends every session with ApplicationSessionTerminated (session timer expired); the
    /// connections stay open.
    pub fn terminate_sessions(&self) {
        let state = self.shared.lock();
        let frame = frame_of(
            9999,
            &format!(
                "<ApplicationSessionTerminated xmlns=\"{SESSION_NAMESPACE}\"><sessionID>s1</sessionID>\
                 <sessionTermReason><definedTermReason>sessionTimerExpired</definedTermReason>\
                 </sessionTermReason></ApplicationSessionTerminated>"
            ),
        );
        for client in state.clients.values() {
            client.send(&frame);
        }
    }

    /// Drops every client connection, as a gateway restart would.
    pub fn disconnect_all(&self) {
        let mut state = self.shared.lock();
        for client in state.clients.values() {
            client.close();
        }
        state.clients.clear();
        self.shared.changed.notify_all();
    }

    /// Restarts with another device list: every connection drops and clients that come back
    /// get `lines` (a gateway that has just started may not know its lines yet).
    pub fn restart_with(&self, lines: Vec<Line>) {
        let mut state = self.shared.lock();
        state.script.lines = lines;
        for client in state.clients.values() {
            client.close();
        }
        state.clients.clear();
        self.shared.changed.notify_all();
    }

    /// Stops accepting and closes every connection.
    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        {
            let mut state = self.shared.lock();
            state.stopping = true;
            for client in state.clients.values() {
                client.close();
            }
            state.clients.clear();
        }
        // Wakes the acceptor blocked in accept().
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

impl Drop for ScriptedGateway {
    fn drop(&mut self) {
        if self.acceptor.is_some() {
            self.stop_now();
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Client {
    fn send(&self, frame: &[u8]) {
        match &self.tls {
            None => {
                let _ = lock(&self.tcp).write_all(frame);
            }
            Some(tls) => {
                let mut connection = lock(tls);
                let _ = connection.writer().write_all(frame);
                let mut out = Vec::new();
                while connection.wants_write() {
                    if connection.write_tls(&mut out).is_err() {
                        break;
                    }
                }
                let _ = lock(&self.tcp).write_all(&out);
            }
        }
    }

    fn close(&self) {
        let _ = lock(&self.tcp).shutdown(Shutdown::Both);
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    let mut handlers = Vec::new();
    for stream in listener.incoming() {
        if shared.lock().stopping {
            break;
        }
        let stream = match stream {
            Ok(stream) => stream,
            Err(_) => continue,
        };
        let shared = Arc::clone(shared);
        handlers.push(thread::spawn(move || serve(stream, &shared)));
    }
    for handler in handlers {
        let _ = handler.join();
    }
}

fn serve(mut tcp: TcpStream, shared: &Arc<Shared>) {
    let _ = tcp.set_nodelay(true);
    let mut early = Vec::new();
    let tls = match &shared.tls {
        None => None,
        Some(config) => {
            let mut connection = match rustls::ServerConnection::new(Arc::clone(config)) {
                Ok(connection) => connection,
                Err(_) => return,
            };
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
            while connection.is_handshaking() {
                if connection.complete_io(&mut tcp).is_err() {
                    return;
                }
            }
            let _ = tcp.set_read_timeout(None);
            // The client's first request may have arrived with its last handshake message.
            if let Ok(state) = connection.process_new_packets() {
                early.resize(state.plaintext_bytes_to_read(), 0);
                if connection.reader().read_exact(&mut early).is_err() {
                    return;
                }
            }
            Some(Mutex::new(connection))
        }
    };
    let write_half = match tcp.try_clone() {
        Ok(write_half) => write_half,
        Err(_) => return,
    };
    let client = Arc::new(Client {
        tcp: Mutex::new(write_half),
        tls,
        monitors: Mutex::new(BTreeMap::new()),
        logged_in: Mutex::new(false),
    });
    let id = {
        let mut state = shared.lock();
        let id = state.next_client;
        state.next_client += 1;
        state.clients.insert(id, Arc::clone(&client));
        id
    };
    let mut buffer = early;
    let mut raw = vec![0_u8; 16 * 1024];
    'read: loop {
        // Frames already buffered first: the handshake may have brought the login along.
        loop {
            let (len, invoke, message) = match frame::decode(&buffer, frame::MAX_FRAME_LEN) {
                Err(_) => break 'read,
                Ok(None) => break,
                Ok(Some(found)) => (found.len, found.invoke_id, Message::decode(found.body)),
            };
            buffer.drain(..len);
            let mut state = shared.lock();
            match message {
                Ok(decoded) => state.handle(&client, invoke, decoded.message),
                Err(_) => {
                    state.log.push("Undecodable".to_owned());
                    client.send(&error_frame(invoke, "operation", "invalidParameterValue"));
                }
            }
            shared.changed.notify_all();
        }
        let count = match tcp.read(&mut raw) {
            Ok(0) | Err(_) => break,
            Ok(count) => count,
        };
        match &client.tls {
            None => buffer.extend_from_slice(&raw[..count]),
            Some(tls) => {
                let mut connection = lock(tls);
                let mut received = &raw[..count];
                while !received.is_empty() {
                    if connection.read_tls(&mut received).is_err() {
                        break 'read;
                    }
                    let state = match connection.process_new_packets() {
                        Ok(state) => state,
                        Err(_) => break 'read,
                    };
                    let start = buffer.len();
                    buffer.resize(start + state.plaintext_bytes_to_read(), 0);
                    if connection
                        .reader()
                        .read_exact(&mut buffer[start..])
                        .is_err()
                    {
                        break 'read;
                    }
                }
            }
        }
    }
    let mut state = shared.lock();
    state.clients.remove(&id);
    shared.changed.notify_all();
}

impl State {
    fn new_call(&mut self) -> String {
        let call = format!("c{}", self.next_call);
        self.next_call += 1;
        call
    }

    fn is_line(&self, device: &str) -> bool {
        self.script.lines.iter().any(|line| line.id == device)
    }

    fn handle(&mut self, client: &Client, invoke: InvokeId, message: Message) {
        let name = message.name();
        match message {
            Message::StartApplicationSession(request) => {
                let accepted = self.script.user.is_empty()
                    || request.credentials()
                        == Some(Credentials {
                            user: self.script.user.clone(),
                            password: self.script.password.clone(),
                            session_cleanup_delay: None,
                            session_id: None,
                        });
                self.log.push(format!(
                    "{name}:{}",
                    if accepted { "ok" } else { "refused" }
                ));
                if accepted {
                    self.logins += 1;
                    *lock(&client.logged_in) = true;
                    client.send(&session_frame(
                        invoke,
                        "StartApplicationSessionPosResponse",
                        &format!(
                            "<sessionID>s{}</sessionID><actualProtocolVersion>{NAMESPACE}</actualProtocolVersion>\
                             <actualSessionDuration>60</actualSessionDuration>",
                            self.logins
                        ),
                    ));
                } else {
                    client.send(&session_frame(
                        invoke,
                        "StartApplicationSessionNegResponse",
                        "<errorCode><definedError>invalidApplicationInfo</definedError></errorCode>",
                    ));
                }
                return;
            }
            Message::ResetApplicationSessionTimer(_) => {
                self.log.push(name.to_owned());
                client.send(&session_frame(
                    invoke,
                    "ResetApplicationSessionTimerPosResponse",
                    "<actualSessionDuration>60</actualSessionDuration>",
                ));
                return;
            }
            Message::StopApplicationSession(_) => {
                self.log.push(name.to_owned());
                client.send(&session_frame(
                    invoke,
                    "StopApplicationSessionPosResponse",
                    "",
                ));
                return;
            }
            _ => {}
        }
        if !*lock(&client.logged_in) {
            self.log.push(format!("{name}:before-login"));
            client.send(&error_frame(invoke, "security", "securityInfoViolated"));
            return;
        }
        match message {
            Message::SwFunctionDevicesChangedResponse(_) | Message::SystemStatusResponse(_) => {
                self.log.push(name.to_owned());
            }
            Message::GetSwitchingFunctionDevices(_) => {
                self.log.push(name.to_owned());
                client.send(&csta_frame(
                    invoke,
                    "GetSwitchingFunctionDevicesResponse",
                    "<serviceCrossRefID>1</serviceCrossRefID>",
                ));
                client.send(&self.devices_frame(9999));
            }
            Message::MonitorStart(request) => {
                let device = match request.monitor_object {
                    csta::monitoring::MonitorObject::Device(device) => device.as_str().to_owned(),
                    csta::monitoring::MonitorObject::Call(_) => String::new(),
                };
                self.log.push(format!("{name}:{device}"));
                if self.is_line(&device) {
                    let cross_ref = format!("m{device}");
                    lock(&client.monitors).insert(device, cross_ref.clone());
                    client.send(&csta_frame(
                        invoke,
                        "MonitorStartResponse",
                        &format!("<monitorCrossRefID>{cross_ref}</monitorCrossRefID>"),
                    ));
                } else {
                    client.send(&error_frame(invoke, "operation", "invalidDeviceID"));
                }
            }
            Message::SnapshotDevice(request) => {
                let device = request.snapshot_object.as_str().to_owned();
                self.log.push(format!("{name}:{device}"));
                let mut items = String::new();
                for ((call, party), state) in &self.states {
                    if *party != device {
                        continue;
                    }
                    let other = self
                        .calls
                        .get(call)
                        .and_then(|parties| parties.iter().find(|p| **p != device))
                        .map(|other| {
                            format!(
                                "<endpointDevice><deviceIdentifier>{other}</deviceIdentifier></endpointDevice>"
                            )
                        })
                        .unwrap_or_default();
                    items.push_str(&format!(
                        "<snapshotDeviceResponseInfo>{}{other}<localCallState><compoundCallState>\
                         <localConnectionState>{state}</localConnectionState></compoundCallState>\
                         </localCallState></snapshotDeviceResponseInfo>",
                        connection("connectionIdentifier", call, &device)
                    ));
                }
                client.send(&csta_frame(
                    invoke,
                    "SnapshotDeviceResponse",
                    &format!(
                        "<crossRefIDorSnapshotData><snapshotData>{items}</snapshotData></crossRefIDorSnapshotData>"
                    ),
                ));
            }
            Message::MonitorStop(request) => {
                let cross_ref = request.monitor_cross_ref_id.as_str().to_owned();
                self.log.push(format!("{name}:{cross_ref}"));
                lock(&client.monitors).retain(|_, monitor| *monitor != cross_ref);
                client.send(&csta_frame(invoke, "MonitorStopResponse", ""));
            }
            Message::MakeCall(request) => {
                let from = request.calling_device.as_str().to_owned();
                let to = request.called_directory_number.as_str().to_owned();
                self.log.push(format!("{name}:{from}->{to}"));
                if to == "999" {
                    client.send(&error_frame(invoke, "operation", "invalidCalledDeviceID"));
                    return;
                }
                let call = self.new_call();
                self.calls
                    .insert(call.clone(), vec![from.clone(), to.clone()]);
                // A PBX reports the new call before the service answer arrives.
                self.notify(
                    &[&from],
                    &(
                        "ServiceInitiatedEvent".to_owned(),
                        format!(
                            "{}<initiatingDevice><deviceIdentifier>{from}</deviceIdentifier></initiatingDevice>\
                             <localConnectionInfo>initiated</localConnectionInfo><cause>makeCall</cause>",
                            connection("initiatedConnection", &call, &from)
                        ),
                    ),
                );
                client.send(&csta_frame(
                    invoke,
                    "MakeCallResponse",
                    &connection("callingDevice", &call, &from),
                ));
                self.notify(
                    &[&from],
                    &(
                        "OriginatedEvent".to_owned(),
                        format!(
                            "{}<callingDevice><deviceIdentifier>{from}</deviceIdentifier></callingDevice>\
                             <calledDevice><deviceIdentifier>{to}</deviceIdentifier></calledDevice>\
                             <localConnectionInfo>connected</localConnectionInfo><cause>newCall</cause>",
                            connection("originatedConnection", &call, &from)
                        ),
                    ),
                );
                self.notify(&[&from, &to], &delivered(&call, &to, &from, &to));
                self.set(&call, &from, "connected");
                self.set(&call, &to, "alerting");
                if self.script.auto_answer {
                    self.set(&call, &to, "connected");
                    self.notify(&[&from, &to], &established(&call, &to, &from, &to));
                }
            }
            Message::AnswerCall(request) => {
                let (call, device) = parts(&request.call_to_be_answered);
                self.log.push(format!("{name}:{call}@{device}"));
                match self.calls.get(&call).cloned() {
                    Some(parties) => {
                        client.send(&csta_frame(invoke, "AnswerCallResponse", ""));
                        let caller = parties
                            .iter()
                            .find(|party| **party != device)
                            .cloned()
                            .unwrap_or_default();
                        let targets: Vec<&str> = parties.iter().map(String::as_str).collect();
                        self.notify(&targets, &established(&call, &device, &caller, &device));
                        for party in &parties {
                            self.set(&call, party, "connected");
                        }
                    }
                    None => client.send(&error_frame(invoke, "operation", "invalidCallID")),
                }
            }
            Message::ClearConnection(request) => {
                let (call, device) = parts(&request.connection_to_be_cleared);
                self.log.push(format!("{name}:{call}@{device}"));
                if self.calls.contains_key(&call) {
                    client.send(&csta_frame(invoke, "ClearConnectionResponse", ""));
                    self.clear(&call, &device);
                } else {
                    client.send(&error_frame(invoke, "operation", "invalidConnectionID"));
                }
            }
            Message::HoldCall(request) => {
                let (call, device) = parts(&request.call_to_be_held);
                self.log.push(format!("{name}:{call}@{device}"));
                client.send(&csta_frame(invoke, "HoldCallResponse", ""));
                self.set(&call, &device, "hold");
                self.call_notify(
                    &call,
                    "HeldEvent",
                    &format!(
                        "{}<holdingDevice><deviceIdentifier>{device}</deviceIdentifier></holdingDevice>\
                         <localConnectionInfo>hold</localConnectionInfo><cause>normal</cause>",
                        connection("heldConnection", &call, &device)
                    ),
                );
            }
            Message::RetrieveCall(request) => {
                let (call, device) = parts(&request.call_to_be_retrieved);
                self.log.push(format!("{name}:{call}@{device}"));
                client.send(&csta_frame(invoke, "RetrieveCallResponse", ""));
                self.set(&call, &device, "connected");
                self.call_notify(
                    &call,
                    "RetrievedEvent",
                    &format!(
                        "{}<retrievingDevice><deviceIdentifier>{device}</deviceIdentifier></retrievingDevice>\
                         <localConnectionInfo>connected</localConnectionInfo><cause>normal</cause>",
                        connection("retrievedConnection", &call, &device)
                    ),
                );
            }
            Message::SingleStepTransferCall(request) => {
                let (call, device) = parts(&request.active_call);
                let to = request.transferred_to.as_str().to_owned();
                self.log.push(format!("{name}:{call}@{device}->{to}"));
                client.send(&csta_frame(
                    invoke,
                    "SingleStepTransferCallResponse",
                    &connection("transferredCall", &call, &to),
                ));
                self.call_notify(
                    &call,
                    "TransferedEvent",
                    &format!(
                        "{}<transferringDevice><deviceIdentifier>{device}</deviceIdentifier></transferringDevice>\
                         <transferredToDevice><deviceIdentifier>{to}</deviceIdentifier></transferredToDevice>\
                         <transferredConnections/><localConnectionInfo>null</localConnectionInfo>\
                         <cause>singleStepTransfer</cause>",
                        connection("primaryOldCall", &call, &device)
                    ),
                );
                if let Some(parties) = self.calls.get_mut(&call) {
                    parties.retain(|party| *party != device);
                    parties.push(to.clone());
                }
                self.states.remove(&(call.clone(), device));
                self.set(&call, &to, "alerting");
            }
            Message::TransferCall(request) => {
                let (held, device) = parts(&request.held_call);
                let (active, _) = parts(&request.active_call);
                self.log.push(format!("{name}:{held}+{active}@{device}"));
                client.send(&csta_frame(
                    invoke,
                    "TransferCallResponse",
                    &connection("transferredCall", &held, &device),
                ));
                let body = format!(
                    "{}{}<transferringDevice><deviceIdentifier>{device}</deviceIdentifier></transferringDevice>\
                     <transferredToDevice><notKnown/></transferredToDevice><transferredConnections/>\
                     <localConnectionInfo>null</localConnectionInfo><cause>transfer</cause>",
                    connection("primaryOldCall", &held, &device),
                    connection("secondaryOldCall", &active, &device)
                );
                self.call_notify(&held, "TransferedEvent", &body);
            }
            Message::ConferenceCall(request) => {
                let (held, device) = parts(&request.held_call);
                let (active, _) = parts(&request.active_call);
                self.log.push(format!("{name}:{held}+{active}@{device}"));
                let conference = self.new_call();
                let mut parties: Vec<String> = Vec::new();
                let mut items = String::new();
                for old in [&held, &active] {
                    for party in self.calls.get(old).cloned().unwrap_or_default() {
                        items.push_str(&format!(
                            "<connectionListItem>{}{}</connectionListItem>",
                            connection("newConnection", &conference, &party),
                            connection("oldConnection", old, &party)
                        ));
                        if !parties.contains(&party) {
                            parties.push(party);
                        }
                    }
                }
                let added = self
                    .calls
                    .get(&active)
                    .and_then(|call| call.iter().find(|party| **party != device).cloned())
                    .unwrap_or_default();
                let body = format!(
                    "{}{}<conferencingDevice><deviceIdentifier>{device}</deviceIdentifier></conferencingDevice>\
                     <addedParty><deviceIdentifier>{added}</deviceIdentifier></addedParty>\
                     <conferenceConnections>{items}</conferenceConnections>\
                     <localConnectionInfo>connected</localConnectionInfo><cause>conference</cause>",
                    connection("primaryOldCall", &held, &device),
                    connection("secondaryOldCall", &active, &device)
                );
                // Like a PBX that reports first and answers after.
                let targets: Vec<&str> = parties.iter().map(String::as_str).collect();
                self.notify(&targets, &("ConferencedEvent".to_owned(), body));
                client.send(&csta_frame(
                    invoke,
                    "ConferenceCallResponse",
                    &connection("conferenceCall", &conference, &device),
                ));
                self.calls.remove(&held);
                self.calls.remove(&active);
                self.states
                    .retain(|(call, _), _| *call != held && *call != active);
                for party in &parties {
                    self.set(&conference, party, "connected");
                }
                self.calls.insert(conference, parties);
            }
            Message::DeflectCall(request) => {
                let (call, device) = parts(&request.call_to_be_diverted);
                let to = request.new_destination.as_str().to_owned();
                self.log.push(format!("{name}:{call}@{device}->{to}"));
                client.send(&csta_frame(invoke, "DeflectCallResponse", ""));
                self.call_notify(
                    &call,
                    "DivertedEvent",
                    &format!(
                        "{}<divertingDevice><deviceIdentifier>{device}</deviceIdentifier></divertingDevice>\
                         <newDestination><deviceIdentifier>{to}</deviceIdentifier></newDestination>\
                         <localConnectionInfo>null</localConnectionInfo><cause>redirected</cause>",
                        connection("connection", &call, &device)
                    ),
                );
            }
            Message::GenerateDigits(request) => {
                self.log
                    .push(format!("{name}:{}", request.characters_to_send));
                client.send(&csta_frame(invoke, "GenerateDigitsResponse", ""));
            }
            Message::SetForwarding(request) => {
                let device = request.device.as_str().to_owned();
                let kind = request
                    .forwarding_type
                    .map(|kind| kind.as_str().to_owned())
                    .unwrap_or_default();
                let to = request
                    .forward_dn
                    .map(|to| to.as_str().to_owned())
                    .unwrap_or_default();
                self.log.push(format!(
                    "{name}:{device}:{kind}:{}:{to}",
                    request.activate_forward
                ));
                client.send(&csta_frame(invoke, "SetForwardingResponse", ""));
                let forward_to = if to.is_empty() {
                    String::new()
                } else {
                    format!("<forwardTo>{to}</forwardTo>")
                };
                self.notify(
                    &[&device],
                    &(
                        "ForwardingEvent".to_owned(),
                        format!(
                            "<device><deviceIdentifier>{device}</deviceIdentifier></device>\
                             <forwardingType>{kind}</forwardingType><forwardStatus>{}</forwardStatus>{forward_to}",
                            request.activate_forward
                        ),
                    ),
                );
            }
            Message::SetDoNotDisturb(request) => {
                let device = request.device.as_str().to_owned();
                self.log
                    .push(format!("{name}:{device}:{}", request.do_not_disturb_on));
                client.send(&csta_frame(invoke, "SetDoNotDisturbResponse", ""));
                self.notify(
                    &[&device],
                    &(
                        "DoNotDisturbEvent".to_owned(),
                        format!(
                            "<device><deviceIdentifier>{device}</deviceIdentifier></device>\
                             <doNotDisturbOn>{}</doNotDisturbOn>",
                            request.do_not_disturb_on
                        ),
                    ),
                );
            }
            other => {
                self.log.push(other.name().to_owned());
                client.send(&error_frame(invoke, "operation", "serviceNotSupported"));
            }
        }
    }

    /// `party` leaves `call`; a two-party call then ends for the other party too.
    fn clear(&mut self, call: &str, party: &str) {
        let parties = match self.calls.remove(call) {
            Some(parties) => parties,
            None => return,
        };
        self.states.retain(|(state_call, _), _| state_call != call);
        let targets: Vec<&str> = parties.iter().map(String::as_str).collect();
        self.notify(&targets, &cleared(call, party));
        for other in parties.iter().filter(|other| *other != party) {
            self.notify(&targets, &cleared(call, other));
        }
    }

    fn set(&mut self, call: &str, device: &str, state: &'static str) {
        self.states
            .insert((call.to_owned(), device.to_owned()), state);
    }

    fn call_notify(&self, call: &str, name: &str, body: &str) {
        let parties = self.calls.get(call).cloned().unwrap_or_default();
        let targets: Vec<&str> = parties.iter().map(String::as_str).collect();
        self.notify(&targets, &(name.to_owned(), body.to_owned()));
    }

    /// Sends an event to every monitor of the devices.
    fn notify(&self, devices: &[&str], (name, body): &(String, String)) {
        for client in self.clients.values() {
            let monitors = lock(&client.monitors).clone();
            for device in devices {
                if let Some(cross_ref) = monitors.get(*device) {
                    let xml = format!(
                        "<{name} xmlns=\"{NAMESPACE}\"><monitorCrossRefID>{cross_ref}</monitorCrossRefID>{body}</{name}>"
                    );
                    client.send(&frame_of(9999, &xml));
                }
            }
        }
    }

    fn devices_frame(&self, invoke: u16) -> Vec<u8> {
        let mut list = String::new();
        let mut private = String::from("<cti:devices xmlns:cti=\"urn:cti-gateway:1\">");
        for line in &self.script.lines {
            list.push_str(&format!(
                "<device><deviceID>{}</deviceID><deviceCategory>station</deviceCategory></device>",
                line.id
            ));
            private.push_str(&format!(
                "<cti:device id=\"{}\" name=\"{}\" key=\"{}\" inService=\"{}\"/>",
                escape(&line.id),
                escape(&line.name),
                escape(&line.key),
                line.in_service
            ));
        }
        private.push_str("</cti:devices>");
        let xml = format!(
            "<SwitchingFunctionDevices xmlns=\"{NAMESPACE}\"><serviceCrossRefID>1</serviceCrossRefID>\
             <segmentID>1</segmentID><lastSegment>true</lastSegment><deviceList>{list}</deviceList>\
             <extensions><privateData><private>{private}</private></privateData></extensions>\
             </SwitchingFunctionDevices>"
        );
        frame_of(invoke, &xml)
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn parts(connection: &ConnectionId) -> (String, String) {
    (
        connection
            .call
            .as_ref()
            .map(|call| call.as_str().to_owned())
            .unwrap_or_default(),
        connection
            .device
            .as_ref()
            .map(|device| device.as_str().to_owned())
            .unwrap_or_default(),
    )
}

fn connection(element: &str, call: &str, device: &str) -> String {
    format!("<{element}><callID>{call}</callID><deviceID>{device}</deviceID></{element}>")
}

fn delivered(call: &str, alerting: &str, calling: &str, called: &str) -> (String, String) {
    (
        "DeliveredEvent".to_owned(),
        format!(
            "{}<alertingDevice><deviceIdentifier>{alerting}</deviceIdentifier></alertingDevice>\
             <callingDevice><deviceIdentifier>{calling}</deviceIdentifier></callingDevice>\
             <calledDevice><deviceIdentifier>{called}</deviceIdentifier></calledDevice>\
             <lastRedirectionDevice><notRequired/></lastRedirectionDevice>\
             <localConnectionInfo>alerting</localConnectionInfo><cause>newCall</cause>",
            connection("connection", call, alerting)
        ),
    )
}

fn established(call: &str, answering: &str, calling: &str, called: &str) -> (String, String) {
    (
        "EstablishedEvent".to_owned(),
        format!(
            "{}<answeringDevice><deviceIdentifier>{answering}</deviceIdentifier></answeringDevice>\
             <callingDevice><deviceIdentifier>{calling}</deviceIdentifier></callingDevice>\
             <calledDevice><deviceIdentifier>{called}</deviceIdentifier></calledDevice>\
             <lastRedirectionDevice><notRequired/></lastRedirectionDevice>\
             <localConnectionInfo>connected</localConnectionInfo><cause>newCall</cause>",
            connection("establishedConnection", call, answering)
        ),
    )
}

fn cleared(call: &str, releasing: &str) -> (String, String) {
    (
        "ConnectionClearedEvent".to_owned(),
        format!(
            "{}<releasingDevice><deviceIdentifier>{releasing}</deviceIdentifier></releasingDevice>\
             <localConnectionInfo>null</localConnectionInfo><cause>normalClearing</cause>",
            connection("droppedConnection", call, releasing)
        ),
    )
}

fn frame_of(invoke: u16, xml: &str) -> Vec<u8> {
    let body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{xml}");
    let mut out = Vec::new();
    // Invoke ids here are 0..=9999 and bodies far below the frame limit.
    if let Ok(invoke) = InvokeId::new(invoke) {
        let _ = frame::encode(invoke, body.as_bytes(), &mut out);
    }
    out
}

fn csta_frame(invoke: InvokeId, name: &str, body: &str) -> Vec<u8> {
    frame_of(
        invoke.value(),
        &format!("<{name} xmlns=\"{NAMESPACE}\">{body}</{name}>"),
    )
}

fn session_frame(invoke: InvokeId, name: &str, body: &str) -> Vec<u8> {
    frame_of(
        invoke.value(),
        &format!("<{name} xmlns=\"{SESSION_NAMESPACE}\">{body}</{name}>"),
    )
}

fn error_frame(invoke: InvokeId, category: &str, value: &str) -> Vec<u8> {
    csta_frame(
        invoke,
        "CSTAErrorCode",
        &format!("<{category}>{value}</{category}>"),
    )
}
