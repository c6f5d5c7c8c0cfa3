//! One CSTA client connection: frames in, requests answered in order, events out.
//!
//! The connection task reads frames, answers requests (services run inline, so answers keep
//! the order of requests) and forwards the events of its monitors. Outgoing frames go through
//! a bounded queue to a writer task: answers wait for room (a client that does not read only
//! slows itself), events are dropped when the queue is full and the loss is reported with
//! `SystemStatus messagesLost` once there is room again. A lagging subscription to the
//! registry is reported the same way.
//!
//! Requests are read by the local name of their root element. The namespace only chooses the
//! edition of what the connection sends: the one negotiated with ECMA-354 if any, else the CSTA
//! namespace of the client's last request that named one. A root in no namespace or in a
//! foreign one (`urn:example:other`) is accepted as the request it names and answered in the
//! current edition: clients in the field send no, wrong and mixed namespaces.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use csta::edition::Edition;
use csta::error_code::{CstaErrorCode, OperationError, SecurityError};
use csta::ids::{InvokeId, SessionId};
use csta::message::Message;
use csta::session::{
    ApplicationSessionTerminated, Reason, ResetApplicationSessionTimer,
    ResetApplicationSessionTimerNegResponse, ResetApplicationSessionTimerPosResponse,
    ResetTimerError, SessionTermReason, StartApplicationSession,
    StartApplicationSessionNegResponse, StartApplicationSessionPosResponse, StartSessionError,
    StopApplicationSession, StopApplicationSessionNegResponse, StopApplicationSessionPosResponse,
    StopSessionError,
};
use csta::system::SystemStatus;
use csta::types::SystemStatusValue;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{broadcast, mpsc};
use tokio_util::codec::FramedRead;
use tracing::{debug, info, warn};

use super::codec::{CodecError, CstaCodec, RawFrame};
use super::convert::{self, EventContext};
use super::monitors::{self, Monitors};
use super::session::{Parked, ReattachError};
use super::{Shared, auth};
use crate::config::{ListenerConfig, UserConfig};
use crate::registry::Published;

/// How a connection was authenticated.
#[derive(Clone, Debug)]
pub(super) enum Identity {
    /// Not yet.
    None,
    /// With the listener's anonymous user.
    Anonymous(Arc<UserConfig>),
    /// With a client certificate mapped to a user.
    Certificate(Arc<UserConfig>),
    /// With ECMA-354 credentials.
    Login(Arc<UserConfig>),
}

impl Identity {
    pub(super) fn user(&self) -> Option<&Arc<UserConfig>> {
        match self {
            Self::None => None,
            Self::Anonymous(user) | Self::Certificate(user) | Self::Login(user) => Some(user),
        }
    }
}

/// Why the connection ends.
#[derive(Debug)]
pub(super) enum Close {
    /// The peer went away or the writer failed.
    Gone,
    /// The session timer ran out.
    SessionExpired,
    /// The peer broke the framing.
    Framing(csta::error::FrameError),
    /// The daemon shuts down.
    Shutdown,
}

/// An ECMA-354 session attached to the connection.
#[derive(Debug)]
pub(super) struct AttachedSession {
    pub(super) id: SessionId,
    pub(super) duration: Duration,
    pub(super) deadline: tokio::time::Instant,
}

/// The state of one connection.
pub(super) struct Connection {
    pub(super) shared: Arc<Shared>,
    pub(super) listener: Arc<ListenerConfig>,
    pub(super) peer: SocketAddr,
    pub(super) identity: Identity,
    pub(super) session: Option<AttachedSession>,
    pub(super) edition: Edition,
    /// The edition was fixed by an ECMA-354 negotiation.
    pub(super) negotiated: bool,
    pub(super) monitors: Monitors,
    pub(super) out: mpsc::Sender<Bytes>,
    events: Option<broadcast::Receiver<Arc<Published>>>,
    lost: u64,
    next_invoke: InvokeId,
    pub(super) registered: bool,
    /// The `sysStatRegisterID` given to the client's `SystemRegister`.
    pub(super) sys_stat_register_id: Option<csta::ids::SysStatRegisterId>,
    /// The client listed the devices or registered: tell it when they change.
    pub(super) wants_device_changes: bool,
    scratch: Vec<u8>,
}

impl Connection {
    /// Serves one accepted (and, for TLS, handshaken) stream until it ends.
    pub(super) async fn serve<S>(
        shared: Arc<Shared>,
        listener: Arc<ListenerConfig>,
        peer: SocketAddr,
        identity: Identity,
        stream: S,
    ) where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (reader, writer) = tokio::io::split(stream);
        let (out, queue) = mpsc::channel(shared.sessions_config.queue);
        let writer = tokio::spawn(write_frames(writer, queue));
        let mut connection = Self {
            shared,
            listener: listener.clone(),
            peer,
            identity,
            session: None,
            edition: Edition::Ed3,
            negotiated: false,
            monitors: Monitors::default(),
            out,
            events: None,
            lost: 0,
            next_invoke: InvokeId::new(0).unwrap_or(InvokeId::EVENT),
            registered: false,
            sys_stat_register_id: None,
            wants_device_changes: false,
            scratch: Vec::with_capacity(2048),
        };
        let mut frames = FramedRead::new(
            reader,
            CstaCodec {
                max_frame: listener.max_frame,
            },
        );
        let end = connection.run(&mut frames).await;
        match &end {
            Close::Framing(error) => {
                warn!(peer = %peer, %error, "closing a connection that broke the framing");
            }
            Close::SessionExpired => info!(peer = %peer, "session timer expired"),
            Close::Gone | Close::Shutdown => {
                debug!(peer = %peer, reason = ?end, "connection closed")
            }
        }
        connection.park_session();
        drop(connection);
        // The writer ends once every queued frame is written (or the socket failed).
        let _ = writer.await;
    }

    async fn run<R: AsyncRead + Unpin>(&mut self, frames: &mut FramedRead<R, CstaCodec>) -> Close {
        if self.listener.system_status_first {
            let status = SystemStatus {
                sys_stat_register_id: None,
                system_status: self.system_status(),
                extensions: None,
            };
            if self.request(status.into()).await.is_err() {
                return Close::Gone;
            }
        }
        let idle = self.listener.idle_timeout;
        let mut last_input = tokio::time::Instant::now();
        let shutdown = self.shared.shutdown.clone();
        loop {
            let session_deadline = self.session.as_ref().map(|session| session.deadline);
            let idle_deadline = idle.map(|idle| last_input + idle);
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return Close::Shutdown,
                frame = frames.next() => {
                    last_input = tokio::time::Instant::now();
                    match frame {
                        Some(Ok(frame)) => {
                            if let Err(close) = self.on_frame(frame).await {
                                return close;
                            }
                        }
                        Some(Err(CodecError::Frame(error))) => return Close::Framing(error),
                        Some(Err(CodecError::Io(_))) | None => return Close::Gone,
                    }
                }
                event = next_event(&mut self.events) => {
                    if let Err(close) = self.on_published(event) {
                        return close;
                    }
                }
                () = sleep_until(session_deadline) => {
                    self.terminate_session().await;
                    return Close::SessionExpired;
                }
                () = sleep_until(idle_deadline) => {
                    debug!(peer = %self.peer, "idle timeout");
                    return Close::Gone;
                }
            }
        }
    }

    async fn on_frame(&mut self, frame: RawFrame) -> Result<(), Close> {
        let invoke = frame.invoke_id;
        let decoded = match Message::decode(&frame.body) {
            Ok(decoded) => decoded,
            Err(error) => {
                debug!(peer = %self.peer, invoke = invoke.value(), %error, "undecodable request");
                return self
                    .reply(invoke, Message::CstaErrorCode(error.error_code()))
                    .await;
            }
        };
        if let Some(edition) = decoded.edition
            && !self.negotiated
        {
            self.edition = edition;
        }
        // Any message keeps an ECMA-354 session alive (clients differ in what they send).
        if let Some(session) = &mut self.session {
            session.deadline = tokio::time::Instant::now() + session.duration;
        }
        match decoded.message {
            Message::StartApplicationSession(request) => self.start_session(invoke, request).await,
            Message::StopApplicationSession(request) => self.stop_session(invoke, request).await,
            Message::ResetApplicationSessionTimer(request) => {
                self.reset_timer(invoke, request).await
            }
            Message::Keepalive
            | Message::SystemStatusResponse(_)
            | Message::SwFunctionDevicesChangedResponse(_)
            | Message::SwitchingFunctionDevices(_)
            | Message::ApplicationSessionTerminated(_)
            | Message::CstaErrorCode(_) => Ok(()),
            Message::Event(_) => {
                let error = CstaErrorCode::Operation(OperationError::ServiceNotSupported);
                self.reply(invoke, Message::CstaErrorCode(error)).await
            }
            message => {
                if self.identity.user().is_none() {
                    let error = CstaErrorCode::Security(SecurityError::SecurityInfoViolated);
                    return self.reply(invoke, Message::CstaErrorCode(error)).await;
                }
                let started = Instant::now();
                let name = message.name();
                let outcome = self.service(message).await;
                debug!(
                    peer = %self.peer,
                    service = name,
                    invoke = invoke.value(),
                    ok = outcome.is_ok(),
                    elapsed_us = started.elapsed().as_micros() as u64,
                    "request"
                );
                match outcome {
                    Ok(reply) => {
                        self.reply(invoke, reply.response).await?;
                        for message in reply.then {
                            self.request(message).await?;
                        }
                        Ok(())
                    }
                    Err(error) => self.reply(invoke, Message::CstaErrorCode(error)).await,
                }
            }
        }
    }

    /// Sends an answer; waits for room in the queue.
    pub(super) async fn reply(&mut self, invoke: InvokeId, message: Message) -> Result<(), Close> {
        let frame = self.encode(invoke, &message)?;
        self.out.send(frame).await.map_err(|_| Close::Gone)
    }

    /// Sends a request of our own (server-initiated) with the next invoke id.
    pub(super) async fn request(&mut self, message: Message) -> Result<(), Close> {
        self.next_invoke = self.next_invoke.next_request();
        let invoke = self.next_invoke;
        self.reply(invoke, message).await
    }

    fn encode(&mut self, invoke: InvokeId, message: &Message) -> Result<Bytes, Close> {
        self.scratch.clear();
        match csta::frame::encode_message(invoke, message, &self.edition, &mut self.scratch) {
            Ok(()) => Ok(Bytes::copy_from_slice(&self.scratch)),
            Err(error) => {
                warn!(peer = %self.peer, %error, message = message.name(), "answer too large for one frame");
                let error = CstaErrorCode::Operation(OperationError::Generic);
                self.scratch.clear();
                csta::frame::encode_message(
                    invoke,
                    &Message::CstaErrorCode(error),
                    &self.edition,
                    &mut self.scratch,
                )
                .map_err(|_| Close::Gone)?;
                Ok(Bytes::copy_from_slice(&self.scratch))
            }
        }
    }

    /// The system status a client should see: normal while every PBX link is up.
    pub(super) fn system_status(&self) -> SystemStatusValue {
        let links = self.shared.registry.links();
        if links.iter().all(|(_, status)| status.up) {
            SystemStatusValue::Normal
        } else if links.iter().any(|(_, status)| status.up) {
            SystemStatusValue::PartiallyDisabled
        } else {
            SystemStatusValue::Disabled
        }
    }

    /// Starts the event subscription when the first monitor appears.
    pub(super) fn ensure_subscribed(&mut self) {
        if self.events.is_none() {
            self.events = Some(self.shared.registry.subscribe());
        }
    }

    /// Ends the event subscription when the last monitor is gone.
    pub(super) fn release_subscription(&mut self) {
        if self.monitors.is_empty() && !self.registered && !self.wants_device_changes {
            self.events = None;
        }
    }

    fn on_published(
        &mut self,
        event: Result<Arc<Published>, broadcast::error::RecvError>,
    ) -> Result<(), Close> {
        let published = match event {
            Ok(published) => published,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                self.lost += missed;
                return self.report_loss();
            }
            Err(broadcast::error::RecvError::Closed) => return Err(Close::Shutdown),
        };
        match &*published {
            Published::Device(event) => {
                if !self.monitors.covers(&event.device) {
                    return Ok(());
                }
                if self.lost > 0 {
                    self.report_loss()?;
                }
                let context = EventContext {
                    conf: event.conf.as_deref(),
                    conference: self.conference_offered(&event.device),
                };
                let csta_event = convert::event(event, context);
                let matching: Vec<csta::ids::MonitorCrossRefId> = self
                    .monitors
                    .of_device(&event.device)
                    .filter(|monitor| monitors::wants(&monitor.filter, &event.kind))
                    .map(|monitor| monitor.cross_ref.clone())
                    .collect();
                for cross_ref in matching {
                    self.scratch.clear();
                    if let Err(error) = csta::frame::encode_event_frame(
                        &cross_ref,
                        &csta_event,
                        &self.edition,
                        &mut self.scratch,
                    ) {
                        warn!(peer = %self.peer, %error, "event too large for one frame");
                        continue;
                    }
                    match self.out.try_send(Bytes::copy_from_slice(&self.scratch)) {
                        Ok(()) => {}
                        Err(mpsc::error::TrySendError::Full(_)) => self.lost += 1,
                        Err(mpsc::error::TrySendError::Closed(_)) => return Err(Close::Gone),
                    }
                }
                Ok(())
            }
            Published::LinesChanged { .. } => self.on_lines_changed(),
        }
    }

    /// Tells a client that listed the devices (or registered for system status) that the set
    /// changed, so it lists them again.
    fn on_lines_changed(&mut self) -> Result<(), Close> {
        if !self.wants_device_changes {
            return Ok(());
        }
        self.next_invoke = self.next_invoke.next_request();
        let changed = csta::system::SwFunctionDevicesChanged {
            sys_stat_register_id: self.sys_stat_register_id.clone(),
            extensions: None,
        };
        let frame = self.encode(self.next_invoke, &changed.into())?;
        match self.out.try_send(frame) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.lost += 1;
                Ok(())
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(Close::Gone),
        }
    }

    /// Tells the client that events were lost, once the queue has room again.
    fn report_loss(&mut self) -> Result<(), Close> {
        if self.lost == 0 || self.out.capacity() < 2 {
            return Ok(());
        }
        warn!(peer = %self.peer, lost = self.lost, "a slow client lost events");
        self.next_invoke = self.next_invoke.next_request();
        let status = SystemStatus {
            sys_stat_register_id: None,
            system_status: SystemStatusValue::MessagesLost,
            extensions: None,
        };
        let frame = self.encode(self.next_invoke, &status.into())?;
        match self.out.try_send(frame) {
            Ok(()) => {
                self.shared.metrics.events_lost(self.lost);
                self.lost = 0;
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(_)) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(Close::Gone),
        }
    }

    async fn start_session(
        &mut self,
        invoke: InvokeId,
        request: StartApplicationSession,
    ) -> Result<(), Close> {
        let negative = |error| {
            Message::StartApplicationSessionNegResponse(StartApplicationSessionNegResponse {
                error_code: Reason::Defined(error),
                extensions: None,
            })
        };
        if self.session.is_some() {
            return self
                .reply(invoke, negative(StartSessionError::InvalidApplicationInfo))
                .await;
        }
        // The protocol: the first requested version we speak, else the edition seen so far.
        let edition = if request.requested_protocol_versions.is_empty() {
            Some(self.edition)
        } else {
            request.requested_editions().next()
        };
        let Some(edition) = edition else {
            return self
                .reply(
                    invoke,
                    negative(StartSessionError::RequestedProtocolVersionNotSupported),
                )
                .await;
        };
        let credentials = request.credentials();
        let user = match &credentials {
            Some(credentials) => {
                match auth::verify(&self.shared, &credentials.user, &credentials.password).await {
                    Some(user) => user,
                    None => {
                        warn!(peer = %self.peer, user = %credentials.user, "login refused");
                        return self
                            .reply(invoke, negative(StartSessionError::InvalidApplicationInfo))
                            .await;
                    }
                }
            }
            None => match self.identity.user() {
                Some(user) => user.clone(),
                None => {
                    info!(peer = %self.peer, "session without credentials refused");
                    return self
                        .reply(invoke, negative(StartSessionError::InvalidApplicationInfo))
                        .await;
                }
            },
        };
        let config = &self.shared.sessions_config;
        let requested = request
            .requested_session_duration
            .map_or(config.default_duration, |seconds| {
                Duration::from_secs(u64::from(seconds))
            });
        let mut duration = requested.clamp(config.min_duration, config.max_duration);
        let reattach = credentials
            .as_ref()
            .and_then(|c| c.session_id.clone())
            .filter(|id| !id.is_empty());
        let id = match reattach {
            Some(old) => match self.shared.store.reattach(&old, &user.name, Instant::now()) {
                Ok(parked) => {
                    info!(peer = %self.peer, session = %old, monitors = parked.monitors.len(), "session re-attached");
                    self.monitors = parked.monitors;
                    self.edition = parked.edition;
                    duration = parked.duration;
                    if !self.monitors.is_empty() {
                        self.ensure_subscribed();
                    }
                    SessionId::new(old).map_err(|_| Close::Gone)?
                }
                Err(error @ (ReattachError::Unknown | ReattachError::WrongUser)) => {
                    info!(peer = %self.peer, session = %old, %error, "re-attach refused");
                    return self
                        .reply(invoke, negative(StartSessionError::InvalidApplicationInfo))
                        .await;
                }
            },
            None => new_session_id(),
        };
        let actual_protocol_version = request
            .requested_protocol_versions
            .iter()
            .find(|version| Edition::from_namespace(version.trim()).as_ref() == Some(&edition))
            .cloned()
            .unwrap_or_else(|| edition.namespace().to_owned());
        self.edition = edition;
        self.negotiated = true;
        self.identity = Identity::Login(user);
        self.session = Some(AttachedSession {
            id: id.clone(),
            duration,
            deadline: tokio::time::Instant::now() + duration,
        });
        let seconds = u32::try_from(duration.as_secs()).unwrap_or(u32::MAX);
        let response = StartApplicationSessionPosResponse {
            session_id: id,
            actual_protocol_version,
            actual_session_duration: seconds,
            extensions: None,
        };
        self.reply(invoke, response.into()).await
    }

    async fn stop_session(
        &mut self,
        invoke: InvokeId,
        request: StopApplicationSession,
    ) -> Result<(), Close> {
        let matches = self
            .session
            .as_ref()
            .is_some_and(|session| session.id == request.session_id);
        if !matches {
            let response = StopApplicationSessionNegResponse {
                error_code: Reason::Defined(StopSessionError::InvalidSessionId),
                extensions: None,
            };
            return self.reply(invoke, response.into()).await;
        }
        self.session = None;
        self.monitors = Monitors::default();
        self.release_subscription();
        self.reply(invoke, StopApplicationSessionPosResponse::default().into())
            .await
    }

    async fn reset_timer(
        &mut self,
        invoke: InvokeId,
        request: ResetApplicationSessionTimer,
    ) -> Result<(), Close> {
        let config = &self.shared.sessions_config;
        let Some(session) = self
            .session
            .as_mut()
            .filter(|session| session.id == request.session_id)
        else {
            let response = ResetApplicationSessionTimerNegResponse {
                error_code: Reason::Defined(ResetTimerError::InvalidSessionId),
                extensions: None,
            };
            return self.reply(invoke, response.into()).await;
        };
        if let Some(seconds) = request.requested_session_duration {
            session.duration = Duration::from_secs(u64::from(seconds))
                .clamp(config.min_duration, config.max_duration);
        }
        session.deadline = tokio::time::Instant::now() + session.duration;
        let response = ResetApplicationSessionTimerPosResponse {
            actual_session_duration: u32::try_from(session.duration.as_secs()).unwrap_or(u32::MAX),
            extensions: None,
        };
        self.reply(invoke, response.into()).await
    }

    async fn terminate_session(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        let terminated = ApplicationSessionTerminated {
            session_id: session.id,
            session_term_reason: Reason::Defined(SessionTermReason::SessionTimerExpired),
            extensions: None,
        };
        self.monitors = Monitors::default();
        let _ = self.request(terminated.into()).await;
    }

    /// Keeps a session and its monitors for the cleanup delay after the connection dropped.
    fn park_session(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        let Some(user) = self.identity.user() else {
            return;
        };
        let delay = self.shared.sessions_config.cleanup_delay;
        if delay.is_zero() {
            return;
        }
        self.shared.store.park(
            session.id.as_str().to_owned(),
            Parked {
                user: user.name.clone(),
                edition: self.edition,
                duration: session.duration,
                monitors: std::mem::take(&mut self.monitors),
                expires: Instant::now() + delay,
            },
            Instant::now(),
        );
    }
}

async fn next_event(
    events: &mut Option<broadcast::Receiver<Arc<Published>>>,
) -> Result<Arc<Published>, broadcast::error::RecvError> {
    match events {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn new_session_id() -> SessionId {
    let id = format!(
        "{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    );
    // 32 hexadecimal digits: always a valid session id.
    SessionId::new(id).expect("hexadecimal session ids are valid")
}

/// Writes queued frames until the queue closes or the socket fails; flushes whenever the
/// queue runs empty.
async fn write_frames<W: AsyncWrite + Unpin>(writer: W, mut queue: mpsc::Receiver<Bytes>) {
    let mut writer = tokio::io::BufWriter::with_capacity(64 * 1024, writer);
    while let Some(frame) = queue.recv().await {
        if writer.write_all(&frame).await.is_err() {
            return;
        }
        while let Ok(frame) = queue.try_recv() {
            if writer.write_all(&frame).await.is_err() {
                return;
            }
        }
        if writer.flush().await.is_err() {
            return;
        }
    }
    let _ = writer.shutdown().await;
}
