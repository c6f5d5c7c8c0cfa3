//! The connection to the gateway: blocking std TCP or TLS, no async runtime.
//!
//! A supervisor thread connects, runs the TLS handshake, logs in (ECMA-354
//! StartApplicationSession), asks for the device list, keeps the session alive with
//! ResetApplicationSessionTimer, and reconnects with backoff when anything fails. While a link
//! is up a writer thread sends frames in the order they were queued and a reader thread decodes
//! frames and hands responses and events to [`LinkEvents`]. Requests the supervisor sends
//! itself use invoke ids from [`SESSION_INVOKES`]; the model uses the ids below.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use csta::frame;
use csta::{Edition, InvokeId};
use thiserror::Error;

use crate::config::{BackoffConfig, Config, TlsConfig};
use crate::model::{CallEvent, Device, DeviceEvent, Request, Response};
use crate::wire::{self, Incoming};

/// Invoke ids of the connection's own requests (login, keep-alive, device list).
pub const SESSION_INVOKES: std::ops::RangeInclusive<u16> = 9000..=9998;
/// How long connecting, the TLS handshake and the login may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);
/// Session duration asked for; the keep-alive runs at half of what the gateway grants.
const SESSION_SECONDS: u32 = 120;
/// How long a keep-alive may stay unanswered before the link counts as dead.
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(15);
/// A write that the gateway does not take within this time ends the link.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a blocked read looks whether the link is being closed. std offers no way to wake
/// a blocking socket read on Windows (shutdown does not reliably do it there), so the reader
/// wakes this often to notice a shutdown; it costs one system call per second.
const STOP_CHECK: Duration = Duration::from_secs(1);
/// Largest frame accepted from the gateway.
const MAX_FRAME: usize = frame::MAX_FRAME_LEN;

/// Receives what happens on the link; implemented by the provider.
pub trait LinkEvents: Send + Sync {
    /// Logged in: requests can be sent through `link`.
    fn link_up(&self, link: LinkSender);
    /// The (complete) device list.
    fn devices(&self, devices: Vec<Device>);
    /// The answer to a request the model sent.
    fn response(&self, invoke: u16, response: Response);
    /// A call event of a monitor.
    fn call_event(&self, cross_ref: &str, event: CallEvent);
    /// A device event of a monitor.
    fn device_event(&self, cross_ref: &str, event: DeviceEvent);
    /// The gateway lost events for this session (`SystemStatus messagesLost`).
    fn messages_lost(&self);
    /// The link is gone (after `link_up`).
    fn link_down(&self);
}

/// Sends model requests on the current link, encoded for the negotiated CSTA edition.
#[derive(Clone, Debug)]
pub struct LinkSender {
    writer: Sender<Write_>,
    edition: Edition,
    /// The supervisor, which sends the session's own requests (the device list).
    control: Sender<Control>,
    /// The link's number, so that a request meant for it never reaches a later link.
    number: u64,
}

impl LinkSender {
    /// Queues a request for the writer thread.
    pub fn send(&self, invoke: u16, request: &Request) -> Result<(), LinkError> {
        let message = wire::request(request)?;
        let invoke = InvokeId::new(invoke).map_err(|_| LinkError::InvokeId(invoke))?;
        let mut bytes = Vec::new();
        frame::encode_message(invoke, &message, &self.edition, &mut bytes)
            .map_err(LinkError::Frame)?;
        self.writer
            .send(Write_::Frame(bytes))
            .map_err(|_| LinkError::Closed)
    }

    /// Asks for the device list again (its answer arrives through [`LinkEvents::devices`]).
    pub fn list_devices(&self) -> Result<(), LinkError> {
        self.control
            .send(Control::Session(self.number, Incoming::DevicesChanged))
            .map_err(|_| LinkError::Closed)
    }
}

/// Why a link could not be set up or ended.
#[derive(Debug, Error)]
pub enum LinkError {
    /// The gateway's name did not resolve.
    #[error("cannot resolve {server}: {kind}")]
    Resolve {
        /// Configured server.
        server: String,
        /// I/O error kind.
        kind: io::ErrorKind,
    },
    /// No address of the gateway accepted the connection.
    #[error("cannot connect: {0}")]
    Connect(io::ErrorKind),
    /// The CA file could not be read or holds no certificate.
    #[error("cannot use the CA file {path}: {kind}")]
    CaFile {
        /// Configured path.
        path: String,
        /// I/O error kind (`InvalidData` when it holds no certificate).
        kind: io::ErrorKind,
    },
    /// `TlsServerName` is not a valid DNS name or IP address.
    #[error("{0:?} is not a valid TLS server name")]
    ServerName(String),
    /// TLS failed (handshake, certificate, record).
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
    /// Reading or writing the socket failed.
    #[error("socket: {0}")]
    Io(io::ErrorKind),
    /// The gateway sent a broken frame.
    #[error("framing: {0}")]
    Frame(csta::FrameError),
    /// The gateway closed the connection.
    #[error("the gateway closed the connection")]
    Closed,
    /// The gateway did not answer the login or a keep-alive in time.
    #[error("the gateway did not answer in time")]
    Timeout,
    /// The gateway ended the session (ApplicationSessionTerminated, refused keep-alive).
    #[error("the gateway ended the session")]
    SessionEnded,
    /// The gateway refused the login (credentials, protocol version).
    #[error("the gateway refused the login: {0}")]
    LoginRejected(wire::LoginRefusal),
    /// A request could not be encoded (for example a destination that is no device id).
    #[error("cannot encode the request: {0}")]
    Encode(#[from] csta::ValueError),
    /// An invoke id outside 0..=9999.
    #[error("invoke id {0} is out of range")]
    InvokeId(u16),
}

/// Reconnect delays: doubling from `min` to `max`, back to `min` after a good session.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    config: BackoffConfig,
    next: Duration,
}

impl Backoff {
    /// Starts at the minimum delay.
    pub fn new(config: BackoffConfig) -> Self {
        Self {
            config,
            next: config.min,
        }
    }

    /// The delay before the next attempt; doubles the one after.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.config.max);
        delay
    }

    /// A session worked: the next failure waits the minimum again.
    pub fn reset(&mut self) {
        self.next = self.config.min;
    }
}

/// The supervisor thread and its control channel.
pub struct Connection {
    control: Sender<Control>,
    supervisor: Option<JoinHandle<()>>,
}

impl Connection {
    /// Starts connecting in the background; never blocks.
    pub fn spawn(config: &Config, events: Arc<dyn LinkEvents>) -> Self {
        let (control, inbox) = mpsc::channel();
        let supervisor = {
            let config = config.clone();
            let control = control.clone();
            thread::Builder::new()
                .name("tsp-link".to_owned())
                .spawn(move || supervise(&config, &events, &control, &inbox))
                .map_err(|error| tracing::error!(%error, "cannot start the connection thread"))
                .ok()
        };
        Self {
            control,
            supervisor,
        }
    }

    /// Ends the session, closes the socket and joins every connection thread.
    pub fn shutdown(mut self) {
        // Fails only if the supervisor already ended.
        let _ = self.control.send(Control::Shutdown);
        if let Some(supervisor) = self.supervisor.take() {
            if supervisor.join().is_err() {
                tracing::warn!("the connection thread panicked");
            }
        }
    }
}

/// Connects once and runs the TLS handshake, then closes: checks address, port, CA file and
/// server name of a configuration without logging in.
pub fn check_reachable(config: &Config) -> Result<(), LinkError> {
    let tls = config.tls.as_ref().map(tls_config).transpose()?;
    let socket = connect(config, tls.as_ref())?;
    let _ = socket.tcp.shutdown(Shutdown::Both);
    Ok(())
}

/// Messages to the supervisor. Link messages carry the number of the link that sent them,
/// so a late message from the threads of an earlier link cannot end the current one.
enum Control {
    Shutdown,
    Session(u64, Incoming),
    Lost(u64, LinkError),
}

/// Keep-alive timing of a logged-in session: ResetApplicationSessionTimer at half the
/// granted duration, and the link counts as dead when an answer does not come in time.
#[derive(Debug)]
struct Keepalive {
    period: Duration,
    next_send: Instant,
    answer_by: Option<Instant>,
}

impl Keepalive {
    fn new(now: Instant, granted_seconds: u32) -> Self {
        let period = Duration::from_secs(u64::from(granted_seconds.max(2) / 2));
        Self {
            period,
            next_send: now + period,
            answer_by: None,
        }
    }

    fn wake(&self) -> Instant {
        self.answer_by
            .map_or(self.next_send, |answer_by| answer_by.min(self.next_send))
    }

    fn sent(&mut self, now: Instant) {
        self.next_send = now + self.period;
        self.answer_by = Some(now + KEEPALIVE_TIMEOUT.min(self.period));
    }
}

/// Messages to the writer.
#[derive(Debug)]
enum Write_ {
    Frame(Vec<u8>),
    /// TLS wants to send something (alert, key update) on its own.
    Flush,
    Stop,
}

/// A connected socket, with TLS state when TLS is on.
struct Socket {
    tcp: TcpStream,
    tls: Option<Arc<Mutex<rustls::ClientConnection>>>,
    /// Plaintext that arrived together with the end of the TLS handshake.
    early: Vec<u8>,
}

enum Ended {
    Shutdown,
    Lost(LinkError),
}

fn supervise(
    config: &Config,
    events: &Arc<dyn LinkEvents>,
    control: &Sender<Control>,
    inbox: &Receiver<Control>,
) {
    let mut backoff = Backoff::new(config.backoff);
    let mut links: u64 = 0;
    let tls = match config.tls.as_ref().map(tls_config).transpose() {
        Ok(tls) => tls,
        Err(error) => {
            tracing::error!(%error, "TLS is misconfigured; the provider stays offline");
            // Wait for shutdown only: retrying cannot fix the configuration.
            while !matches!(inbox.recv(), Ok(Control::Shutdown) | Err(_)) {}
            return;
        }
    };
    loop {
        let ended = match connect(config, tls.as_ref()) {
            Ok(socket) => {
                links += 1;
                run_link(
                    links,
                    socket,
                    config,
                    events,
                    (control, inbox),
                    &mut backoff,
                )
            }
            Err(error) => Ended::Lost(error),
        };
        match ended {
            Ended::Shutdown => return,
            Ended::Lost(error) => {
                let delay = backoff.next_delay();
                tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "gateway link down");
                if wait_for_shutdown(inbox, delay) {
                    return;
                }
            }
        }
    }
}

/// Waits `delay`; true when a shutdown arrived meanwhile.
fn wait_for_shutdown(inbox: &Receiver<Control>, delay: Duration) -> bool {
    let deadline = Instant::now() + delay;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match inbox.recv_timeout(left) {
            Ok(Control::Shutdown) | Err(RecvTimeoutError::Disconnected) => return true,
            Ok(_) => continue,
            Err(RecvTimeoutError::Timeout) => return false,
        }
    }
}

fn tls_config(
    tls: &TlsConfig,
) -> Result<(Arc<rustls::ClientConfig>, rustls::ServerName), LinkError> {
    let ca_error = |kind| LinkError::CaFile {
        path: tls.ca_file.display().to_string(),
        kind,
    };
    let file = File::open(&tls.ca_file).map_err(|error| ca_error(error.kind()))?;
    let certs =
        rustls_pemfile::certs(&mut BufReader::new(file)).map_err(|error| ca_error(error.kind()))?;
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(&certs);
    if added == 0 {
        return Err(ca_error(io::ErrorKind::InvalidData));
    }
    let config = rustls::ClientConfig::builder()
        .with_safe_defaults()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::ServerName::try_from(tls.server_name.as_str())
        .map_err(|_| LinkError::ServerName(tls.server_name.clone()))?;
    Ok((Arc::new(config), name))
}

fn connect(
    config: &Config,
    tls: Option<&(Arc<rustls::ClientConfig>, rustls::ServerName)>,
) -> Result<Socket, LinkError> {
    let addresses = (config.server.as_str(), config.port)
        .to_socket_addrs()
        .map_err(|error| LinkError::Resolve {
            server: config.server.clone(),
            kind: error.kind(),
        })?;
    let mut last = io::ErrorKind::NotFound;
    let mut tcp = None;
    for address in addresses {
        match TcpStream::connect_timeout(&address, SETUP_TIMEOUT) {
            Ok(stream) => {
                tcp = Some(stream);
                break;
            }
            Err(error) => last = error.kind(),
        }
    }
    let mut tcp = tcp.ok_or(LinkError::Connect(last))?;
    let mut early = Vec::new();
    let io_error = |error: io::Error| LinkError::Io(error.kind());
    tcp.set_nodelay(true).map_err(io_error)?;
    tcp.set_write_timeout(Some(WRITE_TIMEOUT))
        .map_err(io_error)?;
    let tls = match tls {
        None => None,
        Some((client_config, name)) => {
            let mut connection =
                rustls::ClientConnection::new(Arc::clone(client_config), name.clone())?;
            tcp.set_read_timeout(Some(SETUP_TIMEOUT))
                .map_err(io_error)?;
            while connection.is_handshaking() {
                connection.complete_io(&mut tcp).map_err(|error| {
                    // rustls reports certificate and protocol failures as InvalidData.
                    match error
                        .get_ref()
                        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                    {
                        Some(tls_error) => LinkError::Tls(tls_error.clone()),
                        None if error.kind() == io::ErrorKind::WouldBlock
                            || error.kind() == io::ErrorKind::TimedOut =>
                        {
                            LinkError::Timeout
                        }
                        None => LinkError::Io(error.kind()),
                    }
                })?;
            }
            tcp.set_read_timeout(None).map_err(io_error)?;
            let state = connection.process_new_packets()?;
            early.resize(state.plaintext_bytes_to_read(), 0);
            connection
                .reader()
                .read_exact(&mut early)
                .map_err(io_error)?;
            Some(Arc::new(Mutex::new(connection)))
        }
    };
    Ok(Socket { tcp, tls, early })
}

fn run_link(
    number: u64,
    socket: Socket,
    config: &Config,
    events: &Arc<dyn LinkEvents>,
    (control, inbox): (&Sender<Control>, &Receiver<Control>),
    backoff: &mut Backoff,
) -> Ended {
    let (writer_tx, writer_rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let threads = match spawn_io(
        number,
        &socket,
        (&writer_tx, writer_rx),
        control,
        events,
        &stop,
    ) {
        Ok(threads) => threads,
        Err(error) => return Ended::Lost(error),
    };
    let mut link = Link {
        number,
        writer: writer_tx,
        next_invoke: *SESSION_INVOKES.start(),
        session: None,
        up: false,
    };
    let ended = link.drive(config, &**events, (control, inbox));
    if let Some(session) = &link.session {
        if matches!(ended, Ended::Shutdown) {
            link.send_session(wire::stop_session(session));
        }
    }
    // The writer sends what is queued (StopApplicationSession) and stops; then the socket is
    // shut and the reader notices within STOP_CHECK at the latest.
    let _ = link.writer.send(Write_::Stop);
    let _ = threads.writer.join();
    stop.store(true, Ordering::SeqCst);
    let _ = socket.tcp.shutdown(Shutdown::Both);
    let _ = threads.reader.join();
    // On shutdown the provider completes what is pending itself; no link-down noise.
    if link.up && matches!(ended, Ended::Lost(_)) {
        events.link_down();
    }
    if link.up {
        backoff.reset();
    }
    ended
}

struct IoThreads {
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

fn spawn_io(
    number: u64,
    socket: &Socket,
    (writer_tx, writer_rx): (&Sender<Write_>, Receiver<Write_>),
    control: &Sender<Control>,
    events: &Arc<dyn LinkEvents>,
    stop: &Arc<AtomicBool>,
) -> Result<IoThreads, LinkError> {
    let io_error = |error: io::Error| LinkError::Io(error.kind());
    let read_half = socket.tcp.try_clone().map_err(io_error)?;
    read_half
        .set_read_timeout(Some(STOP_CHECK))
        .map_err(io_error)?;
    let write_half = socket.tcp.try_clone().map_err(io_error)?;
    let writer = {
        let tls = socket.tls.clone();
        let control = control.clone();
        thread::Builder::new()
            .name("tsp-writer".to_owned())
            .spawn(move || {
                if let Err(error) = write_loop(write_half, tls.as_deref(), &writer_rx) {
                    let _ = control.send(Control::Lost(number, error));
                }
            })
            .map_err(io_error)?
    };
    let reader = {
        let tls = socket.tls.clone();
        let early = socket.early.clone();
        let control = control.clone();
        let writer = writer_tx.clone();
        let events = Arc::clone(events);
        let stop = Arc::clone(stop);
        thread::Builder::new()
            .name("tsp-reader".to_owned())
            .spawn(move || {
                let error = read_loop(
                    read_half,
                    early,
                    tls.as_deref(),
                    &Io {
                        number,
                        writer: &writer,
                        control: &control,
                        events: &*events,
                        stop: &stop,
                    },
                );
                let _ = control.send(Control::Lost(number, error));
            })
            .map_err(io_error)?
    };
    Ok(IoThreads { reader, writer })
}

/// The supervisor's view of one link.
struct Link {
    /// Counts the links of this connection.
    number: u64,
    writer: Sender<Write_>,
    next_invoke: u16,
    session: Option<wire::Session>,
    up: bool,
}

impl Link {
    fn drive(
        &mut self,
        config: &Config,
        events: &dyn LinkEvents,
        (control, inbox): (&Sender<Control>, &Receiver<Control>),
    ) -> Ended {
        self.send_session(wire::login(&config.user, &config.password, SESSION_SECONDS));
        let login_deadline = Instant::now() + SETUP_TIMEOUT;
        let mut keepalive: Option<Keepalive> = None;
        loop {
            let now = Instant::now();
            let wake = match &keepalive {
                None => login_deadline,
                Some(keepalive) => keepalive.wake(),
            };
            let received = inbox.recv_timeout(wake.saturating_duration_since(now));
            let now = Instant::now();
            match received {
                Ok(Control::Shutdown) | Err(RecvTimeoutError::Disconnected) => {
                    return Ended::Shutdown;
                }
                Ok(Control::Lost(link, error)) if link == self.number => {
                    return Ended::Lost(error);
                }
                Ok(Control::Session(link, incoming)) if link == self.number => match incoming {
                    Incoming::LoggedIn(session) => {
                        keepalive = Some(Keepalive::new(now, session.duration));
                        let edition = session.edition;
                        self.session = Some(session);
                        self.up = true;
                        events.link_up(LinkSender {
                            writer: self.writer.clone(),
                            edition,
                            control: control.clone(),
                            number: self.number,
                        });
                        self.send_session(wire::get_devices());
                    }
                    Incoming::LoginRejected(refusal) => {
                        tracing::error!(%refusal, "the gateway refused the login; check User and Password");
                        return Ended::Lost(LinkError::LoginRejected(refusal));
                    }
                    Incoming::TimerReset => {
                        if let Some(keepalive) = &mut keepalive {
                            keepalive.answer_by = None;
                        }
                    }
                    Incoming::SessionEnded => return Ended::Lost(LinkError::SessionEnded),
                    Incoming::DevicesChanged => {
                        if self.session.is_some() {
                            self.send_session(wire::get_devices());
                        }
                    }
                },
                // From the threads of an earlier link: already handled.
                Ok(Control::Session(..)) | Ok(Control::Lost(..)) => {}
                Err(RecvTimeoutError::Timeout) => {}
            }
            match &mut keepalive {
                None if now >= login_deadline => return Ended::Lost(LinkError::Timeout),
                None => {}
                Some(state) => {
                    if state.answer_by.map_or(false, |answer_by| now >= answer_by) {
                        return Ended::Lost(LinkError::Timeout);
                    }
                    if now >= state.next_send {
                        state.sent(now);
                        if let Some(session) = &self.session {
                            let message = wire::reset_timer(session, SESSION_SECONDS);
                            self.send_session(message);
                        }
                    }
                }
            }
        }
    }

    fn send_session(&mut self, message: csta::message::Message) {
        let invoke = self.next_invoke;
        self.next_invoke = if invoke >= *SESSION_INVOKES.end() {
            *SESSION_INVOKES.start()
        } else {
            invoke + 1
        };
        let edition = self
            .session
            .as_ref()
            .map_or_else(Edition::default, |session| session.edition);
        let mut bytes = Vec::new();
        let encoded = InvokeId::new(invoke)
            .map_err(|_| LinkError::InvokeId(invoke))
            .and_then(|id| {
                frame::encode_message(id, &message, &edition, &mut bytes).map_err(LinkError::Frame)
            });
        match encoded {
            Ok(()) => {
                let _ = self.writer.send(Write_::Frame(bytes));
            }
            Err(error) => tracing::warn!(%error, "cannot encode a session request"),
        }
    }
}

fn write_loop(
    mut tcp: TcpStream,
    tls: Option<&Mutex<rustls::ClientConnection>>,
    inbox: &Receiver<Write_>,
) -> Result<(), LinkError> {
    let io_error = |error: io::Error| LinkError::Io(error.kind());
    while let Ok(job) = inbox.recv() {
        let plain = match job {
            Write_::Stop => return Ok(()),
            Write_::Frame(bytes) => Some(bytes),
            Write_::Flush => None,
        };
        match tls {
            None => {
                if let Some(bytes) = plain {
                    tcp.write_all(&bytes).map_err(io_error)?;
                }
            }
            Some(tls) => {
                // Encrypt and collect under the lock, write after it: records leave in the
                // order the TLS state produced them because only this thread drains it.
                let mut out = Vec::new();
                {
                    let mut connection = tls.lock().map_err(|_| LinkError::Closed)?;
                    if let Some(bytes) = plain {
                        connection.writer().write_all(&bytes).map_err(io_error)?;
                    }
                    while connection.wants_write() {
                        connection.write_tls(&mut out).map_err(io_error)?;
                    }
                }
                tcp.write_all(&out).map_err(io_error)?;
            }
        }
    }
    Ok(())
}

/// What the reader thread hands its messages to.
struct Io<'a> {
    number: u64,
    writer: &'a Sender<Write_>,
    control: &'a Sender<Control>,
    events: &'a dyn LinkEvents,
    stop: &'a AtomicBool,
}

fn read_loop(
    mut tcp: TcpStream,
    mut buffer: Vec<u8>,
    tls: Option<&Mutex<rustls::ClientConnection>>,
    io: &Io<'_>,
) -> LinkError {
    let mut raw = vec![0_u8; 16 * 1024];
    let mut router = wire::Router::default();
    loop {
        // Frames already buffered first: the handshake may have brought some along.
        loop {
            let (consumed, routed) = match frame::decode(&buffer, MAX_FRAME) {
                Err(error) => return LinkError::Frame(error),
                Ok(None) => break,
                Ok(Some(found)) => (found.len, router.route(found.invoke_id.value(), found.body)),
            };
            buffer.drain(..consumed);
            if let Err(error) = deliver(routed, io) {
                return error;
            }
        }
        let count = match tcp.read(&mut raw) {
            Ok(0) => return LinkError::Closed,
            Ok(count) => count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error)
                if error.kind() == io::ErrorKind::WouldBlock
                    || error.kind() == io::ErrorKind::TimedOut =>
            {
                if io.stop.load(Ordering::SeqCst) {
                    return LinkError::Closed;
                }
                continue;
            }
            Err(error) => return LinkError::Io(error.kind()),
        };
        match tls {
            None => buffer.extend_from_slice(&raw[..count]),
            Some(tls) => {
                if let Err(error) = decrypt(tls, &raw[..count], &mut buffer, io.writer) {
                    return error;
                }
            }
        }
    }
}

fn decrypt(
    tls: &Mutex<rustls::ClientConnection>,
    mut received: &[u8],
    plain: &mut Vec<u8>,
    writer: &Sender<Write_>,
) -> Result<(), LinkError> {
    let mut connection = tls.lock().map_err(|_| LinkError::Closed)?;
    while !received.is_empty() {
        connection
            .read_tls(&mut received)
            .map_err(|error| LinkError::Io(error.kind()))?;
        let state = connection.process_new_packets()?;
        let available = state.plaintext_bytes_to_read();
        let start = plain.len();
        plain.resize(start + available, 0);
        connection
            .reader()
            .read_exact(&mut plain[start..])
            .map_err(|error| LinkError::Io(error.kind()))?;
        if state.peer_has_closed() {
            return Err(LinkError::Closed);
        }
    }
    if connection.wants_write() {
        let _ = writer.send(Write_::Flush);
    }
    Ok(())
}

/// What the reader does with one routed message.
fn deliver(routed: wire::Routed, io: &Io<'_>) -> Result<(), LinkError> {
    match routed {
        wire::Routed::Session(session) => io
            .control
            .send(Control::Session(io.number, session))
            .map_err(|_| LinkError::Closed),
        wire::Routed::Reply(bytes) => io
            .writer
            .send(Write_::Frame(bytes))
            .map_err(|_| LinkError::Closed),
        wire::Routed::DevicesChanged(reply) => {
            io.writer
                .send(Write_::Frame(reply))
                .map_err(|_| LinkError::Closed)?;
            io.control
                .send(Control::Session(io.number, Incoming::DevicesChanged))
                .map_err(|_| LinkError::Closed)
        }
        wire::Routed::MessagesLost(reply) => {
            io.writer
                .send(Write_::Frame(reply))
                .map_err(|_| LinkError::Closed)?;
            io.events.messages_lost();
            // Line changes may have been lost with the events.
            io.control
                .send(Control::Session(io.number, Incoming::DevicesChanged))
                .map_err(|_| LinkError::Closed)
        }
        wire::Routed::Devices(devices) => {
            io.events.devices(devices);
            Ok(())
        }
        wire::Routed::Response(invoke, response) => {
            io.events.response(invoke, response);
            Ok(())
        }
        wire::Routed::CallEvent(cross_ref, event) => {
            io.events.call_event(&cross_ref, event);
            Ok(())
        }
        wire::Routed::DeviceEvent(cross_ref, event) => {
            io.events.device_event(&cross_ref, event);
            Ok(())
        }
        wire::Routed::Nothing => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_ceiling_and_resets() {
        let mut backoff = Backoff::new(BackoffConfig {
            min: Duration::from_millis(500),
            max: Duration::from_secs(3),
        });
        let delays: Vec<u128> = (0..5).map(|_| backoff.next_delay().as_millis()).collect();
        assert_eq!(delays, [500, 1000, 2000, 3000, 3000]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(500));
    }

    #[test]
    fn keepalive_runs_at_half_the_session_and_expects_an_answer() {
        let start = Instant::now();
        let mut keepalive = Keepalive::new(start, 60);
        assert_eq!(keepalive.wake(), start + Duration::from_secs(30));
        let sent_at = start + Duration::from_secs(30);
        keepalive.sent(sent_at);
        assert_eq!(keepalive.answer_by, Some(sent_at + KEEPALIVE_TIMEOUT));
        assert_eq!(keepalive.wake(), sent_at + KEEPALIVE_TIMEOUT);
        // A short session answers within its own period.
        let mut short = Keepalive::new(start, 4);
        short.sent(start);
        assert_eq!(short.answer_by, Some(start + Duration::from_secs(2)));
        // A granted duration of 0 still keeps a period of one second.
        assert_eq!(
            Keepalive::new(start, 0).wake(),
            start + Duration::from_secs(1)
        );
    }

    #[test]
    fn unreadable_ca_files_and_bad_names_are_reported() {
        let missing = TlsConfig {
            ca_file: "no-such-ca.pem".into(),
            server_name: "gw".to_owned(),
        };
        assert!(matches!(
            tls_config(&missing),
            Err(LinkError::CaFile {
                kind: io::ErrorKind::NotFound,
                ..
            })
        ));
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let not_a_ca = TlsConfig {
            ca_file: fixtures.join("gateway.key"),
            server_name: "gw".to_owned(),
        };
        assert!(matches!(
            tls_config(&not_a_ca),
            Err(LinkError::CaFile {
                kind: io::ErrorKind::InvalidData,
                ..
            })
        ));
        let bad_name = TlsConfig {
            ca_file: fixtures.join("ca.pem"),
            server_name: "not a name".to_owned(),
        };
        assert!(matches!(
            tls_config(&bad_name),
            Err(LinkError::ServerName(_))
        ));
    }
}
