//! One CSTA client connection: frames in, requests answered in order, events out.
//!
//! The connection task reads frames, answers requests (services run inline, so answers keep
//! the order of requests) and writes the events of its monitors. Its subscription to the
//! registry's bus watches each monitored device with the tag of the device's monitors and
//! queues their events (a bounded queue, one entry per published batch): the task takes
//! whatever is queued at once, finds each event's monitors by its tag, frames the event for
//! every monitor that wants it from one encoding shared by all connections, and writes the lot
//! with one `write`. A client
//! that does not read only slows its own connection: its queue fills, further events are
//! dropped, and the client is told with `SystemStatus messagesLost` before the next event that
//! finds room.
//!
//! Requests are read by the local name of their root element. The namespace only chooses the
//! edition of what the connection sends: the one negotiated with ECMA-354 if any, else the CSTA
//! namespace of the client's last request that named one. A root in no namespace or in a
//! foreign one (`urn:example:other`) is accepted as the request it names and answered in the
//! current edition: clients in the field send no, wrong and mixed namespaces.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use csta::edition::Edition;
use csta::error_code::{
    CstaErrorCode, OperationError, SecurityError, SystemResourceAvailabilityError,
};
use csta::frame::EventTemplate;
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
use csta::system::{GetSwitchingFunctionDevices, SystemStatus};
use csta::types::SystemStatusValue;
use futures_util::{FutureExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::FramedRead;
use tracing::{debug, info, warn};

use super::codec::{CodecError, CstaCodec, RawFrame};
use super::convert::{self, EventContext};
use super::monitors::{self, Monitor, Monitors};
use super::services::Reply;
use super::session::{Parked, ReattachError};
use super::{Shared, auth};
use crate::config::{ListenerConfig, UserConfig};
use crate::registry::{Delivery, SharedEvent, Subscription, Tag};

/// Deliveries taken from the queue at once (at least; a published batch is taken whole), and so
/// written with one `write` (about 45 KiB of frames with one monitor per device).
const BATCH: usize = 64;

/// Device lists a connection may have held back at once (see [`Connection::hold_list`]); more
/// are refused with `resourceBusy`, as answering them would only repeat the same list.
const MAX_HELD_LISTS: usize = 8;
/// Output buffer capacity kept between writes: what a batch usually needs, so that a busy
/// connection does not reallocate per write; a larger one (many monitors per device, long
/// answers) is released.
const OUT_KEEP: usize = 128 * 1024;

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
    monitors: Monitors,
    /// The bus subscription: watches the monitored devices.
    subscription: Subscription,
    /// Frames not yet written.
    out: Vec<u8>,
    next_invoke: InvokeId,
    /// The `sysStatRegisterID` given to the client's `SystemRegister`.
    pub(super) sys_stat_register_id: Option<csta::ids::SysStatRegisterId>,
    /// The client listed the devices or registered: tell it when they change.
    pub(super) wants_device_changes: bool,
    /// Device lists asked for before every PBX link finished its first sync, answered when
    /// the links settle or at `held_until` (see [`Connection::hold_list`]).
    held_lists: VecDeque<(InvokeId, GetSwitchingFunctionDevices)>,
    held_until: Option<tokio::time::Instant>,
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
        let subscription = shared.registry.subscribe(shared.sessions_config.queue);
        let mut connection = Self {
            shared,
            listener: listener.clone(),
            peer,
            identity,
            session: None,
            edition: Edition::Ed3,
            negotiated: false,
            monitors: Monitors::default(),
            subscription,
            out: Vec::with_capacity(4096),
            next_invoke: InvokeId::new(0).unwrap_or(InvokeId::EVENT),
            sys_stat_register_id: None,
            wants_device_changes: false,
            held_lists: VecDeque::new(),
            held_until: None,
        };
        let mut frames = FramedRead::new(
            stream,
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
        connection.subscription.unwatch_all();
        let lost = connection.subscription.take_lost();
        if lost > 0 {
            connection.shared.metrics.events_lost(lost);
        }
        // What is still pending (an answer, the session's termination) goes out before the
        // close, unless the daemon stops and the client does not read.
        let stream = frames.get_mut();
        if connection.flush(stream).await.is_ok() {
            let _ = stream.shutdown().await;
        }
    }

    async fn run<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        frames: &mut FramedRead<S, CstaCodec>,
    ) -> Close {
        if self.listener.system_status_first {
            let status = SystemStatus {
                sys_stat_register_id: None,
                system_status: self.system_status(),
                extensions: None,
            };
            if let Err(close) = self.request(status.into()) {
                return close;
            }
        }
        let idle = self.listener.idle_timeout;
        let mut last_input = tokio::time::Instant::now();
        let shutdown = self.shared.shutdown.clone();
        let mut deliveries = Vec::with_capacity(BATCH);
        loop {
            if let Err(close) = self.flush(frames.get_mut()).await {
                return close;
            }
            let session_deadline = self.session.as_ref().map(|session| session.deadline);
            let idle_deadline = idle.map(|idle| last_input + idle);
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return Close::Shutdown,
                // Before the frames and events, which can keep a busy connection occupied.
                () = self.shared.registry.links_settled(), if !self.held_lists.is_empty() => {
                    if let Err(close) = self.answer_held_list() {
                        return close;
                    }
                }
                () = sleep_until(self.held_until) => {
                    info!(peer = %self.peer, "listing the devices before every PBX link finished its first sync");
                    if let Err(close) = self.answer_held_list() {
                        return close;
                    }
                }
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
                _ = self.subscription.recv_many(&mut deliveries, BATCH) => {
                    if let Err(close) = self.on_deliveries(&mut deliveries) {
                        return close;
                    }
                }
                () = sleep_until(session_deadline) => {
                    self.terminate_session();
                    return Close::SessionExpired;
                }
                () = sleep_until(idle_deadline) => {
                    debug!(peer = %self.peer, "idle timeout");
                    return Close::Gone;
                }
            }
        }
    }

    /// Writes every pending frame with one `write` (TLS: one flush). Gives up when the daemon
    /// stops while the client does not read.
    async fn flush<W: AsyncWrite + Unpin>(&mut self, writer: &mut W) -> Result<(), Close> {
        if self.out.is_empty() {
            return Ok(());
        }
        let out = &self.out;
        let written = tokio::select! {
            biased;
            written = async {
                writer.write_all(out).await?;
                writer.flush().await
            } => written,
            () = self.shared.shutdown.cancelled() => return Err(Close::Shutdown),
        };
        self.out.clear();
        if self.out.capacity() > OUT_KEEP {
            self.out.shrink_to(OUT_KEEP);
        }
        written.map_err(|_| Close::Gone)
    }

    async fn on_frame(&mut self, frame: RawFrame) -> Result<(), Close> {
        let invoke = frame.invoke_id;
        let decoded = match Message::decode(&frame.body) {
            Ok(decoded) => decoded,
            Err(error) => {
                debug!(peer = %self.peer, invoke = invoke.value(), %error, "undecodable request");
                return self.reply(invoke, Message::CstaErrorCode(error.error_code()));
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
            Message::StopApplicationSession(request) => self.stop_session(invoke, request),
            Message::ResetApplicationSessionTimer(request) => self.reset_timer(invoke, request),
            Message::Keepalive
            | Message::SystemStatusResponse(_)
            | Message::SwFunctionDevicesChangedResponse(_)
            | Message::SwitchingFunctionDevices(_)
            | Message::ApplicationSessionTerminated(_)
            | Message::CstaErrorCode(_) => Ok(()),
            Message::Event(_) => {
                let error = CstaErrorCode::Operation(OperationError::ServiceNotSupported);
                self.reply(invoke, Message::CstaErrorCode(error))
            }
            message => {
                if self.identity.user().is_none() {
                    let error = CstaErrorCode::Security(SecurityError::SecurityInfoViolated);
                    return self.reply(invoke, Message::CstaErrorCode(error));
                }
                match message {
                    Message::GetSwitchingFunctionDevices(request) if self.list_must_wait() => {
                        self.hold_list(invoke, request)
                    }
                    message => self.answer(invoke, message).await,
                }
            }
        }
    }

    /// Carries out a service request and queues its answer.
    async fn answer(&mut self, invoke: InvokeId, message: Message) -> Result<(), Close> {
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
        self.queue_outcome(invoke, outcome)
    }

    /// Queues a service's answer (and the requests that follow it) or its error.
    fn queue_outcome(
        &mut self,
        invoke: InvokeId,
        outcome: Result<Reply, CstaErrorCode>,
    ) -> Result<(), Close> {
        match outcome {
            Ok(reply) => {
                self.reply(invoke, reply.response)?;
                for message in reply.then {
                    self.request(message)?;
                }
                Ok(())
            }
            Err(error) => self.reply(invoke, Message::CstaErrorCode(error)),
        }
    }

    /// Whether a device list asked for now must wait: a PBX link is still in its first sync,
    /// or earlier lists wait (answers keep the order of the requests).
    fn list_must_wait(&self) -> bool {
        !self.held_lists.is_empty()
            || self
                .shared
                .registry
                .links_settled()
                .now_or_never()
                .is_none()
    }

    /// Holds back a device list asked for while a PBX link is still in its first sync: that
    /// list would be short or empty, and TAPI and CRM clients take it for "no lines". It is
    /// answered when every link is ready or has failed its first attempt, at the latest after
    /// the longest `line_determination_timeout` of the PBX systems (what start-up grants a PBX
    /// to report its lines). The connection serves everything else meanwhile.
    fn hold_list(
        &mut self,
        invoke: InvokeId,
        request: GetSwitchingFunctionDevices,
    ) -> Result<(), Close> {
        if self.held_lists.len() >= MAX_HELD_LISTS {
            let busy = CstaErrorCode::SystemResourceAvailability(
                SystemResourceAvailabilityError::ResourceBusy,
            );
            return self.reply(invoke, Message::CstaErrorCode(busy));
        }
        if self.held_until.is_none() {
            let bound = self
                .shared
                .links
                .values()
                .map(|link| link.config().line_determination_timeout)
                .max()
                .unwrap_or_default();
            let now = tokio::time::Instant::now();
            // A bound too large for the clock is no bound.
            self.held_until = now
                .checked_add(bound)
                .or(Some(now + Duration::from_secs(86_400 * 365)));
        }
        debug!(peer = %self.peer, invoke = invoke.value(), "device list held until the PBX links settle");
        self.held_lists.push_back((invoke, request));
        Ok(())
    }

    /// Answers the first held device list; the others follow in later rounds of the
    /// connection's loop, each after the previous one was written.
    fn answer_held_list(&mut self) -> Result<(), Close> {
        let next = self.held_lists.pop_front();
        if self.held_lists.is_empty() {
            self.held_until = None;
        }
        let Some((invoke, request)) = next else {
            return Ok(());
        };
        let outcome = self.device_list(&request);
        self.queue_outcome(invoke, outcome)
    }

    /// Queues an answer; it is written before the connection waits for anything else.
    pub(super) fn reply(&mut self, invoke: InvokeId, message: Message) -> Result<(), Close> {
        let start = self.out.len();
        let Err(error) =
            csta::frame::encode_message(invoke, &message, &self.edition, &mut self.out)
        else {
            return Ok(());
        };
        warn!(peer = %self.peer, %error, message = message.name(), "answer too large for one frame");
        self.out.truncate(start);
        let error = CstaErrorCode::Operation(OperationError::Generic);
        csta::frame::encode_message(
            invoke,
            &Message::CstaErrorCode(error),
            &self.edition,
            &mut self.out,
        )
        .map_err(|_| Close::Gone)
    }

    /// Queues a request of our own (server-initiated) with the next invoke id.
    pub(super) fn request(&mut self, message: Message) -> Result<(), Close> {
        self.next_invoke = self.next_invoke.next_request();
        let invoke = self.next_invoke;
        self.reply(invoke, message)
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

    /// Adds a monitor and watches its device.
    pub(super) fn add_monitor(&mut self, monitor: Monitor) {
        let device = monitor.device.clone();
        if let Some(tag) = self.monitors.add(monitor) {
            self.subscription.watch(&device, tag);
        }
    }

    /// Removes a monitor; its device is no longer watched once no other monitor covers it.
    pub(super) fn remove_monitor(&mut self, cross_ref: &str) -> Option<Monitor> {
        let monitor = self.monitors.remove(cross_ref)?;
        if !self.monitors.covers(&monitor.device) {
            self.subscription.unwatch(&monitor.device);
        }
        Some(monitor)
    }

    /// Replaces every monitor (with none, or with a re-attached session's); returns the old
    /// ones.
    fn replace_monitors(&mut self, mut monitors: Monitors) -> Monitors {
        self.subscription.unwatch_all();
        for (device, tag) in monitors.succeed(&self.monitors) {
            self.subscription.watch(&device, tag);
        }
        std::mem::replace(&mut self.monitors, monitors)
    }

    /// The number of monitors.
    pub(super) fn monitor_count(&self) -> usize {
        self.monitors.len()
    }

    /// Tells the client when the set of devices changes (it listed them or registered).
    pub(super) fn watch_device_changes(&mut self) {
        self.wants_device_changes = true;
        self.subscription.watch_device_changes();
    }

    fn on_deliveries(&mut self, deliveries: &mut Vec<Delivery>) -> Result<(), Close> {
        for delivery in deliveries.drain(..) {
            match delivery {
                Delivery::Events(events) => {
                    for (shared, tag) in events.iter() {
                        self.on_event(shared, tag);
                    }
                }
                Delivery::LinesChanged { .. } => self.on_lines_changed()?,
                Delivery::Lost(count) => self.report_loss(count)?,
            }
        }
        Ok(())
    }

    /// Frames an event for every monitor its tag names that wants it, from the encoding all
    /// connections share.
    fn on_event(&mut self, shared: &SharedEvent, tag: Tag) {
        let event = shared.event();
        let mut wanted = self
            .monitors
            .tagged(tag)
            .filter(|monitor| monitors::wants(&monitor.filter, &event.kind))
            .peekable();
        if wanted.peek().is_none() {
            return;
        }
        let template = shared.template(self.edition, || {
            let context = EventContext {
                conf: event.conf.as_deref(),
                conference: self.conference_offered(&event.device),
            };
            EventTemplate::new(&convert::event(event, context), &self.edition)
        });
        let template = match template {
            Ok(template) => template,
            Err(error) => {
                warn!(peer = %self.peer, device = %event.device, %error, "event too large for one frame");
                return;
            }
        };
        for monitor in wanted {
            if let Err(error) = template.write_frame(&monitor.cross_ref, &mut self.out) {
                warn!(peer = %self.peer, device = %event.device, %error, "event too large for one frame");
            }
        }
    }

    /// Tells a client that listed the devices (or registered for system status) that the set
    /// changed, so it lists them again.
    fn on_lines_changed(&mut self) -> Result<(), Close> {
        if !self.wants_device_changes {
            return Ok(());
        }
        let changed = csta::system::SwFunctionDevicesChanged {
            sys_stat_register_id: self.sys_stat_register_id.clone(),
            extensions: None,
        };
        self.request(changed.into())
    }

    /// Tells the client that events were lost because it did not read fast enough. A notice
    /// that the device list changed may have been among the losses, so a client that follows
    /// the list is told to read it again, right after the loss.
    fn report_loss(&mut self, lost: u64) -> Result<(), Close> {
        warn!(peer = %self.peer, lost, "a slow client lost events");
        self.shared.metrics.events_lost(lost);
        let status = SystemStatus {
            sys_stat_register_id: None,
            system_status: SystemStatusValue::MessagesLost,
            extensions: None,
        };
        self.request(status.into())?;
        self.on_lines_changed()
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
            return self.reply(invoke, negative(StartSessionError::InvalidApplicationInfo));
        }
        // The protocol: the first requested version we speak, else the edition seen so far.
        let edition = if request.requested_protocol_versions.is_empty() {
            Some(self.edition)
        } else {
            request.requested_editions().next()
        };
        let Some(edition) = edition else {
            return self.reply(
                invoke,
                negative(StartSessionError::RequestedProtocolVersionNotSupported),
            );
        };
        let credentials = request.credentials();
        let user = match &credentials {
            Some(credentials) => {
                match auth::verify(&self.shared, &credentials.user, &credentials.password).await {
                    Some(user) => user,
                    None => {
                        warn!(peer = %self.peer, user = %credentials.user, "login refused");
                        return self
                            .reply(invoke, negative(StartSessionError::InvalidApplicationInfo));
                    }
                }
            }
            None => match self.identity.user() {
                Some(user) => user.clone(),
                None => {
                    info!(peer = %self.peer, "session without credentials refused");
                    return self.reply(invoke, negative(StartSessionError::InvalidApplicationInfo));
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
                    self.replace_monitors(parked.monitors);
                    self.edition = parked.edition;
                    duration = parked.duration;
                    SessionId::new(old).map_err(|_| Close::Gone)?
                }
                Err(error @ (ReattachError::Unknown | ReattachError::WrongUser)) => {
                    info!(peer = %self.peer, session = %old, %error, "re-attach refused");
                    return self.reply(invoke, negative(StartSessionError::InvalidApplicationInfo));
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
        self.reply(invoke, response.into())
    }

    fn stop_session(
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
            return self.reply(invoke, response.into());
        }
        self.session = None;
        self.replace_monitors(Monitors::default());
        self.reply(invoke, StopApplicationSessionPosResponse::default().into())
    }

    fn reset_timer(
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
            return self.reply(invoke, response.into());
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
        self.reply(invoke, response.into())
    }

    fn terminate_session(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        let terminated = ApplicationSessionTerminated {
            session_id: session.id,
            session_term_reason: Reason::Defined(SessionTermReason::SessionTimerExpired),
            extensions: None,
        };
        self.replace_monitors(Monitors::default());
        let _ = self.request(terminated.into());
    }

    /// Keeps a session and its monitors for the cleanup delay after the connection dropped.
    fn park_session(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        let Some(user) = self.identity.user().map(|user| user.name.clone()) else {
            return;
        };
        let delay = self.shared.sessions_config.cleanup_delay;
        if delay.is_zero() {
            return;
        }
        let monitors = self.replace_monitors(Monitors::default());
        self.shared.store.park(
            session.id.as_str().to_owned(),
            Parked {
                user,
                edition: self.edition,
                duration: session.duration,
                monitors,
                expires: Instant::now() + delay,
            },
            Instant::now(),
        );
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
