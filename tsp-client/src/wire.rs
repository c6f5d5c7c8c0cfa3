//! `csta` messages ⇄ the model's narrow view, and the gateway's private device data.
//!
//! The gateway names its lines in the private data of `SwitchingFunctionDevices`:
//!
//! ```xml
//! <extensions><privateData><private>
//!   <cti:devices xmlns:cti="urn:cti-gateway:1">
//!     <cti:device id="201" name="Alice (201)" key="pbx1/7f3c.../" inService="true"/>
//!   </cti:devices>
//! </private></privateData></extensions>
//! ```
//!
//! `id` is the `deviceID` of a listed device, `name` its display name, `key` the stable line
//! key the permanent line id derives from and `inService` whether the gateway can serve it
//! now. Without that data a device's id serves as name and key and the device counts as in
//! service.

use std::collections::BTreeMap;
use std::fmt;

use csta::call_control::{
    AlternateCall, AnswerCall, ClearConnection, ConferenceCall, DeflectCall, GenerateDigits,
    HoldCall, MakeCall, RetrieveCall, SingleStepTransferCall, TransferCall,
};
use csta::error_code::{OperationError, StateIncompatibilityError};
use csta::events::{CstaEvent, Event};
use csta::logical::{
    ForwardListItem, GetDoNotDisturb, GetForwarding, SetDoNotDisturb, SetForwarding,
};
use csta::message::Message;
use csta::monitoring::{MonitorStart, MonitorStop};
use csta::session::{
    Credentials, Reason, ResetApplicationSessionTimer, SessionEndReason, StartApplicationSession,
    StartSessionError, StopApplicationSession,
};
use csta::snapshot::{SnapshotDevice, SnapshotDeviceResponseInfo, SnapshotResult};
use csta::system::{
    GetSwitchingFunctionDevices, SwFunctionDevicesChangedResponse, SwitchingFunctionDevices,
    SystemStatusResponse,
};
use csta::types::{
    ConnectionListItem, DeviceRef, Endpoint, EventCause, ForwardingType, RedirectionDevice,
    SystemStatusValue,
};
use csta::{
    CallId, ConnectionId, CstaErrorCode, DeviceId, Edition, InvokeId, MonitorCrossRefId, SessionId,
    ValueError,
};

use crate::connection::SESSION_INVOKES;
use crate::model::{
    CallEvent, Cause, Connection, ConnectionMove, Device, DeviceEvent, ErrorClass, ForwardKind,
    LocalState, Party, Request, Response, SnapshotCall,
};

/// The namespace of the gateway's private data.
pub const PRIVATE_NAMESPACE: &str = "urn:cti-gateway:1";
/// `applicationID` of the provider's session.
const APPLICATION_ID: &str = "cti-gateway-tsp";

/// An open ECMA-354 session.
#[derive(Clone, Debug)]
pub struct Session {
    /// `sessionID`.
    pub id: SessionId,
    /// The CSTA edition the gateway chose.
    pub edition: Edition,
    /// Granted session duration in seconds.
    pub duration: u32,
}

/// Why the gateway refused the login (`StartApplicationSessionNegResponse/errorCode`).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct LoginRefusal(pub Reason<StartSessionError>);

impl fmt::Display for LoginRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Reason::Defined(defined) => write!(f, "{defined:?}"),
            Reason::Text(text) => write!(f, "{text:?}"),
        }
    }
}

/// Session-level messages for the supervisor.
#[derive(Debug)]
pub enum Incoming {
    /// StartApplicationSessionPosResponse.
    LoggedIn(Session),
    /// StartApplicationSessionNegResponse.
    LoginRejected(LoginRefusal),
    /// ResetApplicationSessionTimerPosResponse.
    TimerReset,
    /// The gateway ended the session (ApplicationSessionTerminated, a refused keep-alive).
    SessionEnded,
    /// The gateway's device set changed (`SwFunctionDevicesChanged`) or change notices may
    /// have been lost: the device list is asked for again.
    DevicesChanged,
}

/// Where a received message goes.
#[derive(Debug)]
pub enum Routed {
    /// To the supervisor.
    Session(Incoming),
    /// A frame to send back (the answer to a server request).
    Reply(Vec<u8>),
    /// `SwFunctionDevicesChanged`: send the answer, then ask for the device list again.
    DevicesChanged(Vec<u8>),
    /// `SystemStatus messagesLost`: send the answer, then resynchronise lines and calls.
    MessagesLost(Vec<u8>),
    /// The complete device list.
    Devices(Vec<Device>),
    /// The answer to a model request.
    Response(u16, Response),
    /// A call event of a monitor.
    CallEvent(String, CallEvent),
    /// A device event of a monitor.
    DeviceEvent(String, DeviceEvent),
    /// Nothing to do.
    Nothing,
}

/// Decodes frames and keeps what spans several of them (device list segments).
#[derive(Debug, Default)]
pub struct Router {
    /// The `serviceCrossRefID` of the list being collected, and its devices so far.
    segments: Option<(String, Vec<Device>)>,
}

impl Router {
    /// Routes one frame body received with `invoke`.
    pub fn route(&mut self, invoke: u16, body: &[u8]) -> Routed {
        let model_request = invoke != InvokeId::EVENT.value() && !SESSION_INVOKES.contains(&invoke);
        let decoded = match Message::decode(body) {
            Ok(decoded) => decoded,
            Err(error) => {
                tracing::warn!(invoke, %error, "undecodable message from the gateway");
                // A broken answer still answers: the request fails instead of hanging.
                return if model_request {
                    Routed::Response(invoke, Response::Error(ErrorClass::Failed))
                } else {
                    Routed::Nothing
                };
            }
        };
        let edition = decoded.edition.unwrap_or_default();
        match decoded.message {
            Message::StartApplicationSessionPosResponse(response) => {
                let edition =
                    Edition::from_namespace(&response.actual_protocol_version).unwrap_or(edition);
                Routed::Session(Incoming::LoggedIn(Session {
                    id: response.session_id,
                    edition,
                    duration: response.actual_session_duration,
                }))
            }
            Message::StartApplicationSessionNegResponse(response) => {
                Routed::Session(Incoming::LoginRejected(LoginRefusal(response.error_code)))
            }
            Message::ResetApplicationSessionTimerPosResponse(_) => {
                Routed::Session(Incoming::TimerReset)
            }
            Message::ResetApplicationSessionTimerNegResponse(_)
            | Message::ApplicationSessionTerminated(_) => Routed::Session(Incoming::SessionEnded),
            Message::SystemStatus(status) => {
                let reply = answer(invoke, SystemStatusResponse::default().into(), &edition);
                match (status.system_status, reply) {
                    (SystemStatusValue::MessagesLost, Some(reply)) => {
                        tracing::warn!("the gateway lost events for this session; resynchronising");
                        Routed::MessagesLost(reply)
                    }
                    (_, Some(reply)) => Routed::Reply(reply),
                    (_, None) => Routed::Nothing,
                }
            }
            Message::SwFunctionDevicesChanged(_) => {
                let reply = answer(
                    invoke,
                    SwFunctionDevicesChangedResponse::default().into(),
                    &edition,
                );
                match reply {
                    Some(reply) => Routed::DevicesChanged(reply),
                    None => Routed::Nothing,
                }
            }
            Message::SwitchingFunctionDevices(segment) => {
                let cross_ref = segment.service_cross_ref_id.as_str().to_owned();
                // A segment of another list starts over: the earlier one will not be finished.
                let mut devices = match self.segments.take() {
                    Some((collecting, devices)) if collecting == cross_ref => devices,
                    _ => Vec::new(),
                };
                devices.extend(devices_of(&segment));
                if segment.last_segment {
                    Routed::Devices(devices)
                } else {
                    self.segments = Some((cross_ref, devices));
                    Routed::Nothing
                }
            }
            Message::SnapshotDeviceResponse(response) => {
                match response.cross_ref_id_or_snapshot_data {
                    SnapshotResult::Data(items) => Routed::Response(
                        invoke,
                        Response::Snapshot(items.iter().filter_map(snapshot_call).collect()),
                    ),
                    SnapshotResult::ServiceCrossRef(_) => {
                        // Segmented snapshots are not used by the gateway; nothing to introduce.
                        tracing::debug!(invoke, "segmented device snapshot ignored");
                        Routed::Response(invoke, Response::Snapshot(Vec::new()))
                    }
                }
            }
            Message::GetForwardingResponse(response) => Routed::Response(
                invoke,
                Response::Forwards(
                    response
                        .forwarding_list
                        .iter()
                        .flatten()
                        .filter_map(forward_of)
                        .collect(),
                ),
            ),
            Message::GetDoNotDisturbResponse(response) => {
                Routed::Response(invoke, Response::DoNotDisturb(response.do_not_disturb_on))
            }
            Message::MonitorStartResponse(response) => Routed::Response(
                invoke,
                Response::MonitorStarted {
                    cross_ref: response.monitor_cross_ref_id.as_str().to_owned(),
                },
            ),
            Message::MakeCallResponse(response) => {
                Routed::Response(invoke, call_response(&response.calling_device))
            }
            Message::ConferenceCallResponse(response) => {
                Routed::Response(invoke, call_response(&response.conference_call))
            }
            Message::AnswerCallResponse(_)
            | Message::ClearConnectionResponse(_)
            | Message::ClearCallResponse(_)
            | Message::HoldCallResponse(_)
            | Message::RetrieveCallResponse(_)
            | Message::AlternateCallResponse(_)
            | Message::TransferCallResponse(_)
            | Message::SingleStepTransferCallResponse(_)
            | Message::DeflectCallResponse(_)
            | Message::GenerateDigitsResponse(_)
            | Message::SetForwardingResponse(_)
            | Message::SetDoNotDisturbResponse(_)
            | Message::MonitorStopResponse(_) => Routed::Response(invoke, Response::Done),
            Message::CstaErrorCode(code) if model_request => {
                Routed::Response(invoke, Response::Error(classify(&code)))
            }
            Message::CstaErrorCode(code) => {
                tracing::warn!(
                    invoke,
                    category = code.category(),
                    value = code.value(),
                    "the gateway refused a session request"
                );
                Routed::Nothing
            }
            Message::Event(event) => route_event(event),
            other => {
                tracing::debug!(invoke, message = other.name(), "message ignored");
                Routed::Nothing
            }
        }
    }
}

/// StartApplicationSession with the plain `<user>`/`<password>` login, asking for CSTA
/// edition 6, then 4 and 3.
pub fn login(user: &str, password: &str, duration: u32) -> Message {
    let mut request = if user.is_empty() {
        StartApplicationSession {
            application_info: csta::session::ApplicationInfo {
                application_id: APPLICATION_ID.to_owned(),
                application_specific_info: None,
            },
            requested_protocol_versions: Vec::new(),
            requested_session_duration: None,
            extensions: None,
        }
    } else {
        let credentials = Credentials {
            user: user.to_owned(),
            password: password.to_owned(),
            session_cleanup_delay: None,
            session_id: None,
        };
        StartApplicationSession::with_login(APPLICATION_ID, &credentials, false)
    };
    request.requested_protocol_versions = [Edition::Ed6, Edition::Ed4, Edition::Ed3]
        .iter()
        .map(|edition| edition.namespace().to_owned())
        .collect();
    request.requested_session_duration = Some(duration);
    request.into()
}

/// ResetApplicationSessionTimer.
pub fn reset_timer(session: &Session, duration: u32) -> Message {
    ResetApplicationSessionTimer {
        session_id: session.id.clone(),
        requested_session_duration: Some(duration),
        extensions: None,
    }
    .into()
}

/// StopApplicationSession (normal end).
pub fn stop_session(session: &Session) -> Message {
    StopApplicationSession {
        session_id: session.id.clone(),
        session_end_reason: Reason::Defined(SessionEndReason::Normal),
        extensions: None,
    }
    .into()
}

/// GetSwitchingFunctionDevices for every device.
pub fn get_devices() -> Message {
    GetSwitchingFunctionDevices::default().into()
}

/// Encodes a model request.
pub fn request(request: &Request) -> Result<Message, ValueError> {
    Ok(match request {
        Request::MonitorStart { device } => {
            MonitorStart::device(DeviceId::new(device.as_str())?).into()
        }
        Request::GetForwarding { device } => GetForwarding {
            device: DeviceId::new(device.as_str())?,
            extensions: None,
        }
        .into(),
        Request::GetDoNotDisturb { device } => GetDoNotDisturb {
            device: DeviceId::new(device.as_str())?,
            extensions: None,
        }
        .into(),
        Request::SnapshotDevice { device } => SnapshotDevice {
            snapshot_object: DeviceId::new(device.as_str())?,
            extensions: None,
        }
        .into(),
        Request::MonitorStop { cross_ref } => MonitorStop {
            monitor_cross_ref_id: MonitorCrossRefId::new(cross_ref.as_str())?,
            extensions: None,
        }
        .into(),
        Request::MakeCall { from, to } => {
            MakeCall::new(DeviceId::new(from.as_str())?, DeviceId::new(to.as_str())?).into()
        }
        Request::AnswerCall(call) => AnswerCall {
            call_to_be_answered: connection(call)?,
            correlator_data: None,
            user_data: None,
            extensions: None,
        }
        .into(),
        Request::ClearConnection(call) => ClearConnection {
            connection_to_be_cleared: connection(call)?,
            correlator_data: None,
            user_data: None,
            extensions: None,
        }
        .into(),
        Request::HoldCall(call) => HoldCall {
            call_to_be_held: connection(call)?,
            connection_reservation: None,
            extensions: None,
        }
        .into(),
        Request::RetrieveCall(call) => RetrieveCall {
            call_to_be_retrieved: connection(call)?,
            extensions: None,
        }
        .into(),
        Request::AlternateCall { held, active } => AlternateCall {
            held_call: connection(held)?,
            active_call: connection(active)?,
            connection_reservation: None,
            consult_options: None,
            extensions: None,
        }
        .into(),
        Request::TransferCall { held, active } => TransferCall {
            held_call: connection(held)?,
            active_call: connection(active)?,
            extensions: None,
        }
        .into(),
        Request::ConferenceCall { held, active } => ConferenceCall {
            held_call: connection(held)?,
            active_call: connection(active)?,
            extensions: None,
        }
        .into(),
        Request::SingleStepTransfer { active, to } => SingleStepTransferCall {
            active_call: connection(active)?,
            transferred_to: DeviceId::new(to.as_str())?,
            account_code: None,
            auth_code: None,
            correlator_data: None,
            user_data: None,
            extensions: None,
        }
        .into(),
        Request::DeflectCall { call, to } => DeflectCall {
            call_to_be_diverted: connection(call)?,
            new_destination: DeviceId::new(to.as_str())?,
            correlator_data: None,
            user_data: None,
            extensions: None,
        }
        .into(),
        Request::GenerateDigits { call, digits } => GenerateDigits {
            connection_to_send_digits: connection(call)?,
            digit_mode: None,
            characters_to_send: digits.clone(),
            tone_duration: None,
            pulse_rate: None,
            pause_duration: None,
            extensions: None,
        }
        .into(),
        Request::SetForwarding {
            device,
            kind,
            on,
            to,
        } => SetForwarding {
            device: DeviceId::new(device.as_str())?,
            forwarding_type: Some(match kind {
                ForwardKind::Immediate => ForwardingType::ForwardImmediate,
                ForwardKind::Busy => ForwardingType::ForwardBusy,
                ForwardKind::NoAnswer => ForwardingType::ForwardNoAns,
            }),
            activate_forward: *on,
            forward_dn: to.as_deref().map(DeviceId::new).transpose()?,
            ring_count: None,
            ring_duration: None,
            extensions: None,
        }
        .into(),
        Request::SetDoNotDisturb { device, on } => SetDoNotDisturb {
            device: DeviceId::new(device.as_str())?,
            do_not_disturb_on: *on,
            call_origination: None,
            calling_device_list: None,
            extensions: None,
        }
        .into(),
    })
}

/// Classifies a `CSTAErrorCode` for the TAPI completion.
pub fn classify(code: &CstaErrorCode) -> ErrorClass {
    match code {
        CstaErrorCode::Operation(operation) => match operation {
            OperationError::InvalidDeviceID
            | OperationError::InvalidCalledDeviceID
            | OperationError::InvalidCallingDeviceID
            | OperationError::InvalidDestination
            | OperationError::InvalidDestinationDeviceID
            | OperationError::InvalidForwardingDestination => ErrorClass::InvalidAddress,
            OperationError::InvalidCallID
            | OperationError::InvalidConnectionID
            | OperationError::InvalidActiveConnectionID
            | OperationError::InvalidHeldConnectionID => ErrorClass::InvalidCall,
            OperationError::ServiceNotSupported | OperationError::ParameterNotSupported => {
                ErrorClass::NotSupported
            }
            _ => ErrorClass::Failed,
        },
        CstaErrorCode::StateIncompatibility(state) => match state {
            StateIncompatibilityError::Generic | StateIncompatibilityError::InvalidObjectState => {
                ErrorClass::InvalidState
            }
            _ => ErrorClass::InvalidState,
        },
        CstaErrorCode::SystemResourceAvailability(_)
        | CstaErrorCode::SubscribedResourceAvailability(_)
        | CstaErrorCode::PerformanceManagement(_) => ErrorClass::ResourceUnavailable,
        _ => ErrorClass::Failed,
    }
}

/// What the gateway's private data says about one device.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct PrivateDevice {
    /// Display name.
    pub name: String,
    /// Stable line key.
    pub key: String,
    /// Whether the gateway can serve the device now.
    pub in_service: bool,
}

/// Reads the gateway's `<cti:device>` entries by device id.
pub fn private_devices(xml: &str) -> BTreeMap<String, PrivateDevice> {
    let mut devices = BTreeMap::new();
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        let element = match reader.read_event() {
            Ok(quick_xml::events::Event::Empty(element))
            | Ok(quick_xml::events::Event::Start(element)) => element,
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => continue,
            Err(error) => {
                tracing::warn!(%error, "malformed private device data ignored from here on");
                break;
            }
        };
        if element.local_name().as_ref() != b"device" {
            continue;
        }
        let (mut id, mut name, mut key, mut in_service) = (None, None, None, true);
        for attribute in element.attributes().flatten() {
            let value = match attribute.unescape_value() {
                Ok(value) => value.into_owned(),
                Err(_) => continue,
            };
            match attribute.key.local_name().as_ref() {
                b"id" => id = Some(value),
                b"name" => name = Some(value),
                b"key" => key = Some(value),
                b"inService" => in_service = value != "false" && value != "0",
                _ => {}
            }
        }
        if let Some(id) = id {
            let name = name.unwrap_or_else(|| id.clone());
            let key = key
                .filter(|key| !key.is_empty())
                .unwrap_or_else(|| id.clone());
            devices.insert(
                id,
                PrivateDevice {
                    name,
                    key,
                    in_service,
                },
            );
        }
    }
    devices
}

/// The private data the gateway sends with a device list (used by tests and the scripted
/// gateway, and the reference for the gateway's encoder).
pub fn private_devices_xml(devices: &[Device]) -> String {
    let mut xml = format!("<cti:devices xmlns:cti=\"{PRIVATE_NAMESPACE}\">");
    for device in devices {
        xml.push_str(&format!(
            "<cti:device id=\"{}\" name=\"{}\" key=\"{}\" inService=\"{}\"/>",
            quick_xml::escape::escape(device.id.as_str()),
            quick_xml::escape::escape(device.name.as_str()),
            quick_xml::escape::escape(device.key.as_str()),
            device.in_service
        ));
    }
    xml.push_str("</cti:devices>");
    xml
}

fn devices_of(segment: &SwitchingFunctionDevices) -> Vec<Device> {
    let private = segment
        .extensions
        .as_ref()
        .and_then(|extensions| extensions.private_xml())
        .map(|xml| private_devices(xml.as_str()))
        .unwrap_or_default();
    segment
        .device_list
        .iter()
        .flatten()
        .map(|item| {
            let id = item.device_id.as_str().to_owned();
            match private.get(&id) {
                Some(found) => Device {
                    name: found.name.clone(),
                    key: found.key.clone(),
                    in_service: found.in_service,
                    id,
                },
                None => Device {
                    name: id.clone(),
                    key: id.clone(),
                    in_service: true,
                    id,
                },
            }
        })
        .collect()
}

/// One snapshot entry: the call and the state of the device's own connection (the first
/// state of a compound state; simple states by what they say about the device).
/// The model's kind of a CSTA forwarding type (do-not-disturb types are not forwardings).
fn forward_kind(kind: Option<ForwardingType>) -> ForwardKind {
    match kind {
        Some(ForwardingType::ForwardBusy)
        | Some(ForwardingType::ForwardBusyInt)
        | Some(ForwardingType::ForwardBusyExt) => ForwardKind::Busy,
        Some(ForwardingType::ForwardNoAns)
        | Some(ForwardingType::ForwardNoAnsInt)
        | Some(ForwardingType::ForwardNoAnsExt) => ForwardKind::NoAnswer,
        _ => ForwardKind::Immediate,
    }
}

/// A forwarding that is on, with its destination, from a `GetForwardingResponse`.
fn forward_of(item: &ForwardListItem) -> Option<(ForwardKind, String)> {
    let dnd = matches!(
        item.forwarding_type,
        Some(ForwardingType::ForwardDnd)
            | Some(ForwardingType::ForwardDndInt)
            | Some(ForwardingType::ForwardDndExt)
    );
    if !item.forward_status || dnd {
        return None;
    }
    let to = item.forward_dn.as_ref()?;
    Some((forward_kind(item.forwarding_type), to.as_str().to_owned()))
}

fn snapshot_call(item: &SnapshotDeviceResponseInfo) -> Option<SnapshotCall> {
    use csta::types::{LocalCallState, LocalConnectionState as Local, SimpleCallState as Simple};
    let call = item
        .connection_identifier
        .call
        .as_ref()?
        .as_str()
        .to_owned();
    let state = match &item.local_call_state {
        LocalCallState::Compound(states) => match states.first()? {
            Local::Initiated => LocalState::Initiated,
            Local::Alerting => LocalState::Alerting,
            Local::Connected => LocalState::Connected,
            Local::Hold => LocalState::Hold,
            Local::Queued => LocalState::Queued,
            Local::Fail => LocalState::Fail,
            _ => return None,
        },
        LocalCallState::Simple(simple) => match simple {
            Simple::CallOriginated | Simple::CallPending => LocalState::Initiated,
            Simple::CallReceived | Simple::CallReceivedOnHold => LocalState::Alerting,
            Simple::CallDelivered | Simple::CallEstablished | Simple::CallEstablishedOnHold => {
                LocalState::Connected
            }
            Simple::CallDeliveredHeld | Simple::CallEstablishedHeld | Simple::CallQueuedHeld => {
                LocalState::Hold
            }
            Simple::CallQueued => LocalState::Queued,
            Simple::CallFailed | Simple::CallFailedHeld | Simple::CallBlocked => LocalState::Fail,
            _ => return None,
        },
        _ => return None,
    };
    let other = item.endpoint_device.as_ref().map_or(Party::NotKnown, party);
    Some(SnapshotCall { call, state, other })
}

/// The frame answering a server request, in the gateway's edition.
fn answer(invoke: u16, reply: Message, edition: &Edition) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let id = InvokeId::new(invoke).ok()?;
    csta::frame::encode_message(id, &reply, edition, &mut out).ok()?;
    Some(out)
}

fn connection(call: &Connection) -> Result<ConnectionId, ValueError> {
    Ok(ConnectionId::call_at(
        CallId::new(call.call.as_str())?,
        DeviceId::new(call.device.as_str())?,
    ))
}

fn call_response(connection: &ConnectionId) -> Response {
    match &connection.call {
        Some(call) => Response::Call {
            call: call.as_str().to_owned(),
        },
        None => Response::Error(ErrorClass::Failed),
    }
}

fn route_event(event: CstaEvent) -> Routed {
    let cross_ref = event.monitor_cross_ref_id.as_str().to_owned();
    let call = |connection: &ConnectionId| {
        connection
            .call
            .as_ref()
            .map(|call| call.as_str().to_owned())
    };
    let call_event = match event.event {
        Event::ServiceInitiated(event) => {
            call(&event.initiated_connection).map(|call| CallEvent::ServiceInitiated { call })
        }
        Event::Originated(event) => {
            call(&event.originated_connection).map(|call| CallEvent::Originated {
                call,
                called: party(&event.called_device),
            })
        }
        Event::Delivered(event) => call(&event.connection).map(|call| CallEvent::Delivered {
            call,
            alerting: party(&event.alerting_device),
            calling: party(&event.calling_device),
            called: party(&event.called_device),
            last_redirection: redirection(event.last_redirection_device.as_ref()),
            cause: cause(&event.cause),
        }),
        Event::Established(event) => {
            call(&event.established_connection).map(|call| CallEvent::Established {
                call,
                answering: party(&event.answering_device),
                calling: party(&event.calling_device),
                called: party(&event.called_device),
                cause: cause(&event.cause),
            })
        }
        Event::Held(event) => call(&event.held_connection).map(|call| CallEvent::Held {
            call,
            holding: party(&event.holding_device),
            cause: cause(&event.cause),
        }),
        Event::Retrieved(event) => {
            call(&event.retrieved_connection).map(|call| CallEvent::Retrieved {
                call,
                retrieving: party(&event.retrieving_device),
            })
        }
        Event::ConnectionCleared(event) => {
            call(&event.dropped_connection).map(|call| CallEvent::ConnectionCleared {
                call,
                dropped: event
                    .dropped_connection
                    .device
                    .as_ref()
                    .map_or(Party::NotKnown, |device| {
                        Party::Known(device.as_str().to_owned())
                    }),
                releasing: party(&event.releasing_device),
                cause: cause(&event.cause),
            })
        }
        Event::CallCleared(event) => {
            call(&event.cleared_call).map(|call| CallEvent::CallCleared { call })
        }
        Event::Diverted(event) => call(&event.connection).map(|call| CallEvent::Diverted {
            call,
            diverting: party(&event.diverting_device),
            new_destination: party(&event.new_destination),
            cause: cause(&event.cause),
        }),
        Event::Transfered(event) => {
            call(&event.primary_old_call).map(|primary_old| CallEvent::Transferred {
                primary_old,
                secondary_old: event.secondary_old_call.as_ref().and_then(call),
                transferring: party(&event.transferring_device),
                transferred_to: party(&event.transferred_to_device),
                connections: moves(&event.transferred_connections),
            })
        }
        Event::Conferenced(event) => {
            call(&event.primary_old_call).map(|primary_old| CallEvent::Conferenced {
                primary_old,
                secondary_old: event.secondary_old_call.as_ref().and_then(call),
                conferencing: party(&event.conferencing_device),
                added: party(&event.added_party),
                connections: moves(&event.conference_connections),
            })
        }
        Event::Failed(event) => call(&event.failed_connection).map(|call| CallEvent::Failed {
            call,
            cause: cause(&event.cause),
        }),
        Event::Queued(event) => {
            call(&event.queued_connection).map(|call| CallEvent::Queued { call })
        }
        Event::NetworkReached(event) => {
            call(&event.outbound_connection).map(|call| CallEvent::NetworkReached { call })
        }
        Event::Forwarding(event) => {
            let device_event = match event.forwarding_type {
                Some(ForwardingType::ForwardDnd)
                | Some(ForwardingType::ForwardDndInt)
                | Some(ForwardingType::ForwardDndExt) => DeviceEvent::DoNotDisturb {
                    on: event.forward_status,
                },
                other => DeviceEvent::Forwarding {
                    kind: forward_kind(other),
                    on: event.forward_status,
                    to: event.forward_to.map(|to| to.as_str().to_owned()),
                },
            };
            return Routed::DeviceEvent(cross_ref, device_event);
        }
        Event::DoNotDisturb(event) => {
            return Routed::DeviceEvent(
                cross_ref,
                DeviceEvent::DoNotDisturb {
                    on: event.do_not_disturb_on,
                },
            );
        }
        Event::OutOfService(_) => return Routed::DeviceEvent(cross_ref, DeviceEvent::OutOfService),
        Event::BackInService(_) => {
            return Routed::DeviceEvent(cross_ref, DeviceEvent::BackInService);
        }
        _ => None,
    };
    match call_event {
        Some(event) => Routed::CallEvent(cross_ref, event),
        None => Routed::Nothing,
    }
}

fn party(device: &DeviceRef) -> Party {
    match device {
        DeviceRef::Identifier(id) => Party::Known(id.as_str().to_owned()),
        DeviceRef::Restricted => Party::Restricted,
        _ => Party::NotKnown,
    }
}

fn redirection(device: Option<&RedirectionDevice>) -> Party {
    match device {
        Some(RedirectionDevice::NumberDialed(id)) => Party::Known(id.as_str().to_owned()),
        Some(RedirectionDevice::Restricted) => Party::Restricted,
        _ => Party::NotKnown,
    }
}

fn moves(items: &[ConnectionListItem]) -> Vec<ConnectionMove> {
    let call_of = |connection: &Option<ConnectionId>| {
        connection
            .as_ref()
            .and_then(|connection| connection.call.as_ref())
            .map(|call| call.as_str().to_owned())
    };
    let device_of = |connection: &Option<ConnectionId>| {
        connection
            .as_ref()
            .and_then(|connection| connection.device.as_ref())
            .map(|device| device.as_str().to_owned())
    };
    items
        .iter()
        .map(|item| ConnectionMove {
            old_call: call_of(&item.old_connection),
            new_call: call_of(&item.new_connection),
            device: device_of(&item.new_connection)
                .or_else(|| device_of(&item.old_connection))
                .or_else(|| match &item.endpoint {
                    Some(Endpoint::Device(device)) => Some(device.as_str().to_owned()),
                    _ => None,
                }),
        })
        .collect()
}

fn cause(cause: &EventCause) -> Cause {
    match cause {
        EventCause::Consultation => Cause::Consultation,
        EventCause::Transfer | EventCause::SingleStepTransfer => Cause::Transfer,
        EventCause::Conference | EventCause::SingleStepConference => Cause::Conference,
        EventCause::CallPickup => Cause::Pickup,
        EventCause::Redirected => Cause::Redirected,
        EventCause::CallForward | EventCause::CallForwardImmediate => Cause::ForwardImmediate,
        EventCause::CallForwardBusy => Cause::ForwardBusy,
        EventCause::CallForwardNoAnswer => Cause::ForwardNoAnswer,
        EventCause::DoNotDisturb => Cause::DoNotDisturb,
        EventCause::Busy => Cause::Busy,
        EventCause::CallNotAnswered => Cause::NoAnswer,
        EventCause::CallCancelled => Cause::Cancelled,
        EventCause::DestNotObtainable
        | EventCause::NumberUnallocated
        | EventCause::InvalidNumberFormat => Cause::BadAddress,
        EventCause::NetworkCongestion
        | EventCause::TrunksBusy
        | EventCause::ResourcesNotAvailable => Cause::Congestion,
        EventCause::IncompatibleDestination => Cause::Incompatible,
        EventCause::Blocked | EventCause::ReorderTone => Cause::Rejected,
        _ => Cause::Normal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(xml: &str) -> Vec<u8> {
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{xml}").into_bytes()
    }

    const ED6: &str = "http://www.ecma-international.org/standards/ecma-323/csta/ed6";

    #[test]
    fn delivered_event_becomes_a_call_event() {
        let xml = format!(
            "<DeliveredEvent xmlns=\"{ED6}\"><monitorCrossRefID>m17</monitorCrossRefID>\
             <connection><callID>c4711</callID><deviceID>201</deviceID></connection>\
             <alertingDevice><deviceIdentifier>201</deviceIdentifier></alertingDevice>\
             <callingDevice><restricted/></callingDevice>\
             <calledDevice><deviceIdentifier>201</deviceIdentifier></calledDevice>\
             <lastRedirectionDevice><numberDialed>202</numberDialed></lastRedirectionDevice>\
             <localConnectionInfo>alerting</localConnectionInfo>\
             <cause>callForwardBusy</cause></DeliveredEvent>"
        );
        match Router::default().route(9999, &body(&xml)) {
            Routed::CallEvent(cross_ref, event) => {
                assert_eq!(cross_ref, "m17");
                assert_eq!(
                    event,
                    CallEvent::Delivered {
                        call: "c4711".to_owned(),
                        alerting: Party::Known("201".to_owned()),
                        calling: Party::Restricted,
                        called: Party::Known("201".to_owned()),
                        last_redirection: Party::Known("202".to_owned()),
                        cause: Cause::ForwardBusy,
                    }
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn device_list_segments_are_joined_with_private_names_and_keys() {
        let devices = vec![Device {
            id: "201".to_owned(),
            name: "Alice & Co <201>".to_owned(),
            key: "pbx1/7f3c/".to_owned(),
            in_service: false,
        }];
        let first = format!(
            "<SwitchingFunctionDevices xmlns=\"{ED6}\"><serviceCrossRefID>7</serviceCrossRefID>\
             <segmentID>1</segmentID><lastSegment>false</lastSegment>\
             <deviceList><device><deviceID>201</deviceID></device></deviceList>\
             <extensions><privateData><private>{}</private></privateData></extensions>\
             </SwitchingFunctionDevices>",
            private_devices_xml(&devices)
        );
        let last = format!(
            "<SwitchingFunctionDevices xmlns=\"{ED6}\"><serviceCrossRefID>7</serviceCrossRefID>\
             <segmentID>2</segmentID><lastSegment>true</lastSegment>\
             <deviceList><device><deviceID>202</deviceID></device></deviceList>\
             </SwitchingFunctionDevices>"
        );
        let mut router = Router::default();
        assert!(matches!(router.route(12, &body(&first)), Routed::Nothing));
        match router.route(13, &body(&last)) {
            Routed::Devices(list) => assert_eq!(
                list,
                [
                    devices[0].clone(),
                    Device {
                        id: "202".to_owned(),
                        name: "202".to_owned(),
                        key: "202".to_owned(),
                        in_service: true,
                    }
                ]
            ),
            other => panic!("{other:?}"),
        }
        // A list that stops in the middle is dropped when the segments of another begin.
        let unfinished = first.replace(">7<", ">8<");
        assert!(matches!(
            router.route(14, &body(&unfinished)),
            Routed::Nothing
        ));
        match router.route(15, &body(&last)) {
            Routed::Devices(list) => assert_eq!(list.len(), 1, "{list:?}"),
            other => panic!("{other:?}"),
        }
    }

    /// The message and invoke id of a frame the router wants sent.
    fn reply_of(frame: &[u8]) -> (u16, Message) {
        let found = csta::frame::decode(frame, csta::frame::MAX_FRAME_LEN)
            .unwrap()
            .unwrap();
        assert_eq!(found.len, frame.len());
        (
            found.invoke_id.value(),
            Message::decode(found.body).unwrap().message,
        )
    }

    #[test]
    fn devices_changed_is_answered_with_the_request_invoke_id() {
        let xml = format!("<SwFunctionDevicesChanged xmlns=\"{ED6}\"/>");
        match Router::default().route(42, &body(&xml)) {
            Routed::DevicesChanged(reply) => {
                let (invoke, message) = reply_of(&reply);
                assert_eq!(invoke, 42);
                assert!(
                    matches!(message, Message::SwFunctionDevicesChangedResponse(_)),
                    "{message:?}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn system_status_is_answered_and_lost_messages_ask_for_a_resync() {
        let status = |value: &str| {
            format!(
                "<SystemStatus xmlns=\"{ED6}\"><systemStatus>{value}</systemStatus></SystemStatus>"
            )
        };
        match Router::default().route(17, &body(&status("messagesLost"))) {
            Routed::MessagesLost(reply) => {
                let (invoke, message) = reply_of(&reply);
                assert_eq!(invoke, 17);
                assert!(matches!(message, Message::SystemStatusResponse(_)));
            }
            other => panic!("{other:?}"),
        }
        match Router::default().route(18, &body(&status("normal"))) {
            Routed::Reply(reply) => assert_eq!(reply_of(&reply).0, 18),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn connection_cleared_names_the_dropped_connection_and_the_releasing_device() {
        // The far end hung up: the gateway drops the line's own connection with the far end
        // as releasing device.
        let xml = format!(
            "<ConnectionClearedEvent xmlns=\"{ED6}\"><monitorCrossRefID>m1</monitorCrossRefID>\
             <droppedConnection><callID>c9</callID><deviceID>201</deviceID></droppedConnection>\
             <releasingDevice><deviceIdentifier>202</deviceIdentifier></releasingDevice>\
             <localConnectionInfo>null</localConnectionInfo><cause>normalClearing</cause>\
             </ConnectionClearedEvent>"
        );
        match Router::default().route(9999, &body(&xml)) {
            Routed::CallEvent(_, event) => assert_eq!(
                event,
                CallEvent::ConnectionCleared {
                    call: "c9".to_owned(),
                    dropped: Party::Known("201".to_owned()),
                    releasing: Party::Known("202".to_owned()),
                    cause: Cause::Normal,
                }
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_of_model_requests_are_classified_and_garbage_fails_the_request() {
        let xml = format!(
            "<CSTAErrorCode xmlns=\"{ED6}\"><operation>invalidCalledDeviceID</operation></CSTAErrorCode>"
        );
        assert!(matches!(
            Router::default().route(5, &body(&xml)),
            Routed::Response(5, Response::Error(ErrorClass::InvalidAddress))
        ));
        assert!(matches!(
            Router::default().route(6, b"<notxml"),
            Routed::Response(6, Response::Error(ErrorClass::Failed))
        ));
        assert!(matches!(
            Router::default().route(9999, b"<notxml"),
            Routed::Nothing
        ));
        assert!(matches!(
            Router::default().route(9001, &body(&xml)),
            Routed::Nothing
        ));
    }

    #[test]
    fn forwarding_and_do_not_disturb_answers_become_line_state() {
        let xml = format!(
            "<GetForwardingResponse xmlns=\"{ED6}\"><forwardingList>\
             <forwardListItem><forwardingType>forwardBusy</forwardingType>\
             <forwardStatus>true</forwardStatus><forwardDN>204</forwardDN></forwardListItem>\
             <forwardListItem><forwardingType>forwardImmediate</forwardingType>\
             <forwardStatus>false</forwardStatus><forwardDN>205</forwardDN></forwardListItem>\
             <forwardListItem><forwardingType>forwardNoAns</forwardingType>\
             <forwardStatus>true</forwardStatus></forwardListItem>\
             </forwardingList></GetForwardingResponse>"
        );
        match Router::default().route(7, &body(&xml)) {
            Routed::Response(7, Response::Forwards(forwards)) => {
                assert_eq!(forwards, [(ForwardKind::Busy, "204".to_owned())]);
            }
            other => panic!("{other:?}"),
        }
        let xml = format!(
            "<GetDoNotDisturbResponse xmlns=\"{ED6}\"><doNotDisturbOn>true</doNotDisturbOn>\
             </GetDoNotDisturbResponse>"
        );
        assert!(matches!(
            Router::default().route(8, &body(&xml)),
            Routed::Response(8, Response::DoNotDisturb(true))
        ));
        for request in [
            Request::GetForwarding {
                device: "201".to_owned(),
            },
            Request::GetDoNotDisturb {
                device: "201".to_owned(),
            },
        ] {
            let bytes = super::request(&request).unwrap().to_bytes(&Edition::Ed6);
            let decoded = Message::decode(&bytes).unwrap().message;
            assert!(
                matches!(
                    decoded,
                    Message::GetForwarding(_) | Message::GetDoNotDisturb(_)
                ),
                "{decoded:?}"
            );
        }
    }

    #[test]
    fn requests_round_trip_through_csta() {
        let call = Connection {
            call: "c1".to_owned(),
            device: "201".to_owned(),
        };
        let message = request(&Request::HoldCall(call)).unwrap();
        let bytes = message.to_bytes(&Edition::Ed6);
        assert!(matches!(
            Message::decode(&bytes).unwrap().message,
            Message::HoldCall(_)
        ));
        assert!(
            request(&Request::MakeCall {
                from: "201".to_owned(),
                to: " bad".to_owned()
            })
            .is_err()
        );
    }

    #[test]
    fn malformed_private_data_keeps_what_was_read() {
        let devices = private_devices("<a><device id=\"1\" name=\"x\"/><device id=\"2\"/><broken");
        let entry = |name: &str, key: &str, in_service| PrivateDevice {
            name: name.to_owned(),
            key: key.to_owned(),
            in_service,
        };
        assert_eq!(devices.get("1"), Some(&entry("x", "1", true)));
        assert_eq!(devices.get("2"), Some(&entry("2", "2", true)));
        let devices = private_devices(
            "<devices><device id=\"3\" inService=\"false\"/><device id=\"4\" inService=\"true\"/></devices>",
        );
        assert_eq!(devices.get("3"), Some(&entry("3", "3", false)));
        assert_eq!(devices.get("4"), Some(&entry("4", "4", true)));
    }
}
