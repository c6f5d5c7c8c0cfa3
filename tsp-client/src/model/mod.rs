//! The line and call model: CSTA in, TAPI out, as a pure state machine.
//!
//! [`Model`] owns every line and call the provider knows. Its methods take what happened (a
//! TAPI request, a CSTA response or event, the link going down) and return the [`Output`]s to
//! perform in order: TAPI callbacks for the dispatcher thread and CSTA requests for the writer.
//! It does no I/O and reads no clock, so the whole CSTA → TAPI mapping is table-tested.
//!
//! The CSTA side is described by this module's own narrow types ([`CallEvent`],
//! [`DeviceEvent`], [`Request`], [`Response`]); `wire` converts them from and to `csta`
//! messages.

mod events;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use crate::config::LineFilter;
use crate::line_ids::LineIds;
use crate::tapi::{self, call_state, dev_state, err, info_state, msg};

/// A line as the gateway reports it.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Device {
    /// CSTA device id: the line's address.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Stable line key (survives renumbering); the permanent line id derives from it.
    pub key: String,
    /// Whether the gateway can serve the line now (registered phone, PBX link up).
    pub in_service: bool,
}

/// A party of a call as CSTA describes it.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Party {
    /// The device id (number) is known.
    Known(String),
    /// The party suppressed its number.
    Restricted,
    /// Nothing is known.
    NotKnown,
}

/// Why an event happened (the CSTA `cause` values the mapping distinguishes).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Cause {
    /// Anything else, including `normal`, `newCall` and `makeCall`.
    Normal,
    /// `consultation`: a hold that starts a consultation.
    Consultation,
    /// `transfer` or `singleStepTransfer`.
    Transfer,
    /// `conference` or `singleStepConference`.
    Conference,
    /// `callPickup`.
    Pickup,
    /// `redirected` (deflection).
    Redirected,
    /// `callForwardImmediate` or plain `callForward`.
    ForwardImmediate,
    /// `callForwardBusy`.
    ForwardBusy,
    /// `callForwardNoAnswer`.
    ForwardNoAnswer,
    /// `doNotDisturb`.
    DoNotDisturb,
    /// `busy`.
    Busy,
    /// `callNotAnswered`.
    NoAnswer,
    /// `callCancelled`.
    Cancelled,
    /// `destNotObtainable`, `numberUnallocated`, `invalidNumberFormat`.
    BadAddress,
    /// `networkCongestion`, `trunksBusy`, `resourcesNotAvailable`.
    Congestion,
    /// `incompatibleDestination`.
    Incompatible,
    /// `blocked`, `reorderTone` and other rejections.
    Rejected,
}

/// One old → new connection of a transfer or conference (`connectionListItem`).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct ConnectionMove {
    /// Call id before.
    pub old_call: Option<String>,
    /// Call id after.
    pub new_call: Option<String>,
    /// The party's device.
    pub device: Option<String>,
}

/// A CSTA call event as seen by the monitor of one line (ECMA-323 §6 fields the mapping uses).
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum CallEvent {
    /// The device went off-hook or a MakeCall started.
    ServiceInitiated {
        /// Call id.
        call: String,
    },
    /// The device dialled.
    Originated {
        /// Call id.
        call: String,
        /// The dialled party.
        called: Party,
    },
    /// A device is alerted.
    Delivered {
        /// Call id.
        call: String,
        /// The alerting device.
        alerting: Party,
        /// The caller.
        calling: Party,
        /// The original destination.
        called: Party,
        /// Who redirected the call last.
        last_redirection: Party,
        /// Why.
        cause: Cause,
    },
    /// A device answered.
    Established {
        /// Call id.
        call: String,
        /// The answering device.
        answering: Party,
        /// The caller.
        calling: Party,
        /// The original destination.
        called: Party,
        /// Why.
        cause: Cause,
    },
    /// A device put the call on hold.
    Held {
        /// Call id.
        call: String,
        /// The holding device.
        holding: Party,
        /// Why.
        cause: Cause,
    },
    /// A device took the call back from hold.
    Retrieved {
        /// Call id.
        call: String,
        /// The retrieving device.
        retrieving: Party,
    },
    /// A connection left the call.
    ConnectionCleared {
        /// Call id.
        call: String,
        /// The device of the connection that left (`droppedConnection`).
        dropped: Party,
        /// The device that caused it.
        releasing: Party,
        /// Why.
        cause: Cause,
    },
    /// The whole call ended.
    CallCleared {
        /// Call id.
        call: String,
    },
    /// The call moved away from a device (deflection, forwarding, pickup).
    Diverted {
        /// Call id.
        call: String,
        /// The device the call left.
        diverting: Party,
        /// Where it went.
        new_destination: Party,
        /// Why.
        cause: Cause,
    },
    /// Two calls were joined and the transferring device left.
    Transferred {
        /// The held call.
        primary_old: String,
        /// The active call (absent for single-step transfers).
        secondary_old: Option<String>,
        /// The device that transferred.
        transferring: Party,
        /// The device the call was transferred to.
        transferred_to: Party,
        /// How old connections map to the surviving call.
        connections: Vec<ConnectionMove>,
    },
    /// Two calls were joined into a conference.
    Conferenced {
        /// The held call.
        primary_old: String,
        /// The active call.
        secondary_old: Option<String>,
        /// The device that set up the conference.
        conferencing: Party,
        /// The party added.
        added: Party,
        /// How old connections map to the conference call.
        connections: Vec<ConnectionMove>,
    },
    /// The call could not be completed.
    Failed {
        /// Call id.
        call: String,
        /// Why.
        cause: Cause,
    },
    /// The call waits in a queue.
    Queued {
        /// Call id.
        call: String,
    },
    /// An outgoing call left the switch.
    NetworkReached {
        /// Call id.
        call: String,
    },
}

/// A CSTA event about the device itself.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum DeviceEvent {
    /// A forwarding changed.
    Forwarding {
        /// Which forwarding.
        kind: ForwardKind,
        /// On or off.
        on: bool,
        /// Destination.
        to: Option<String>,
    },
    /// Do-not-disturb changed.
    DoNotDisturb {
        /// On or off.
        on: bool,
    },
    /// The device cannot be used (PBX link down, phone unregistered).
    OutOfService,
    /// The device can be used again.
    BackInService,
}

/// The kinds of forwarding TAPI and CSTA share.
#[derive(Clone, Copy, Debug, Eq, Ord, PartialEq, PartialOrd)]
pub enum ForwardKind {
    /// Unconditional.
    Immediate,
    /// On busy.
    Busy,
    /// On no answer.
    NoAnswer,
}

/// A CSTA request the model wants sent; connections are (call id, device id).
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Request {
    /// MonitorStart on a device.
    MonitorStart {
        /// Device id.
        device: String,
    },
    /// GetForwarding: the forwardings a device has now.
    GetForwarding {
        /// Device id.
        device: String,
    },
    /// GetDoNotDisturb: whether do-not-disturb is on now.
    GetDoNotDisturb {
        /// Device id.
        device: String,
    },
    /// SnapshotDevice: the calls a device has now.
    SnapshotDevice {
        /// Device id.
        device: String,
    },
    /// MonitorStop.
    MonitorStop {
        /// Cross-reference id from MonitorStartResponse.
        cross_ref: String,
    },
    /// MakeCall.
    MakeCall {
        /// The calling line.
        from: String,
        /// The number to call.
        to: String,
    },
    /// AnswerCall.
    AnswerCall(Connection),
    /// ClearConnection.
    ClearConnection(Connection),
    /// HoldCall.
    HoldCall(Connection),
    /// RetrieveCall.
    RetrieveCall(Connection),
    /// AlternateCall.
    AlternateCall {
        /// The held connection to retrieve.
        held: Connection,
        /// The active connection to hold.
        active: Connection,
    },
    /// TransferCall.
    TransferCall {
        /// Held connection.
        held: Connection,
        /// Active connection.
        active: Connection,
    },
    /// ConferenceCall.
    ConferenceCall {
        /// Held connection.
        held: Connection,
        /// Active connection.
        active: Connection,
    },
    /// SingleStepTransferCall.
    SingleStepTransfer {
        /// The connection to transfer.
        active: Connection,
        /// Destination.
        to: String,
    },
    /// DeflectCall.
    DeflectCall {
        /// The alerting connection.
        call: Connection,
        /// Destination.
        to: String,
    },
    /// GenerateDigits.
    GenerateDigits {
        /// The connection.
        call: Connection,
        /// DTMF digits.
        digits: String,
    },
    /// SetForwarding.
    SetForwarding {
        /// Device id.
        device: String,
        /// Which forwarding.
        kind: ForwardKind,
        /// Activate or deactivate.
        on: bool,
        /// Destination.
        to: Option<String>,
    },
    /// SetDoNotDisturb.
    SetDoNotDisturb {
        /// Device id.
        device: String,
        /// On or off.
        on: bool,
    },
}

/// A CSTA connection id.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Connection {
    /// Call id.
    pub call: String,
    /// Device id.
    pub device: String,
}

/// A CSTA answer to a request.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Response {
    /// A positive response without data the model needs.
    Done,
    /// MonitorStartResponse.
    MonitorStarted {
        /// `monitorCrossRefID`.
        cross_ref: String,
    },
    /// A response naming the resulting call (MakeCall, Conference).
    Call {
        /// The new call id.
        call: String,
    },
    /// SnapshotDeviceResponse with its data.
    Snapshot(Vec<SnapshotCall>),
    /// GetForwardingResponse: the forwardings that are on, with their destinations.
    Forwards(Vec<(ForwardKind, String)>),
    /// GetDoNotDisturbResponse.
    DoNotDisturb(bool),
    /// `CSTAErrorCode`, classified.
    Error(ErrorClass),
}

/// One call of a device snapshot.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct SnapshotCall {
    /// Call id.
    pub call: String,
    /// The state of the device's own connection.
    pub state: LocalState,
    /// The other party, when the gateway names it.
    pub other: Party,
}

/// A CSTA local connection state (`localConnectionInfo`), without `null`.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum LocalState {
    /// Off-hook or dialling.
    Initiated,
    /// Ringing.
    Alerting,
    /// Talking (also the caller while the far end rings).
    Connected,
    /// On hold.
    Hold,
    /// Waiting in a queue.
    Queued,
    /// Failed (busy, unobtainable).
    Fail,
}

/// What a CSTA error means for TAPI.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum ErrorClass {
    /// A device or number is invalid.
    InvalidAddress,
    /// A call or connection id is unknown.
    InvalidCall,
    /// The call is in the wrong state.
    InvalidState,
    /// The service or a parameter is not supported.
    NotSupported,
    /// The switch lacks resources or is out of service.
    ResourceUnavailable,
    /// Anything else.
    Failed,
}

impl ErrorClass {
    /// The `LINEERR_*` completion code.
    pub fn code(self) -> i32 {
        match self {
            Self::InvalidAddress => err::INVALADDRESS,
            Self::InvalidCall => err::INVALCALLHANDLE,
            Self::InvalidState => err::INVALCALLSTATE,
            Self::NotSupported => err::OPERATIONUNAVAIL,
            Self::ResourceUnavailable => err::RESOURCEUNAVAIL,
            Self::Failed => err::OPERATIONFAILED,
        }
    }
}

/// What the provider must do, in order.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Output {
    /// `ASYNC_COMPLETION(request, result)`.
    Complete {
        /// TAPI's `dwRequestID`.
        request: u32,
        /// 0 or a `LINEERR_*`.
        result: i32,
    },
    /// A LINEEVENT; `call` and `param2_call` are driver call handles the dispatcher maps to
    /// TAPI's `htCall`.
    Event {
        /// TAPI's line handle.
        ht_line: usize,
        /// Driver call handle, if the event is about a call.
        call: Option<usize>,
        /// `dwMsg`.
        msg: u32,
        /// `dwParam1`.
        param1: usize,
        /// `dwParam2`.
        param2: usize,
        /// `dwParam3`.
        param3: usize,
        /// When set, `dwParam2` is this call's TAPI handle (CONFERENCED names its parent).
        param2_call: Option<usize>,
    },
    /// `LINE_NEWCALL` for a call the provider discovered; the dispatcher records TAPI's handle.
    NewCall {
        /// TAPI's line handle.
        ht_line: usize,
        /// Driver call handle.
        call: usize,
    },
    /// The TAPI handle of a call TAPI created (lineMakeCall, conference), valid from now on.
    BindCall {
        /// Driver call handle.
        call: usize,
        /// TAPI's call handle.
        ht_call: usize,
    },
    /// TAPI closed the call; the dispatcher forgets its handle.
    ForgetCall {
        /// Driver call handle.
        call: usize,
    },
    /// `LINE_CREATE` for a new line.
    CreateLine {
        /// Temporary device id for `TSPI_providerCreateLineDevice`.
        temp_id: usize,
    },
    /// `LINE_REMOVE`.
    RemoveLine {
        /// TAPI device id.
        device_id: u32,
    },
    /// Ask for the gateway's device list again; the answer comes to [`Model::set_devices`].
    ListDevices,
    /// Send a CSTA request with this invoke id.
    Send {
        /// Invoke id (1..=8999).
        invoke: u16,
        /// The request.
        request: Request,
    },
}

/// A TAPI forward entry (LINEFORWARD) reduced to what CSTA can do.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum ForwardEntry {
    /// Forward calls of this kind to a number.
    Forward {
        /// Which forwarding.
        kind: ForwardKind,
        /// Destination.
        to: String,
    },
    /// Do not disturb (a LINEFORWARD without destination).
    DoNotDisturb,
}

/// The permanent data of a line for LINEDEVCAPS/LINEADDRESSCAPS.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct LineView {
    /// Permanent line id.
    pub permanent_id: u32,
    /// Line name.
    pub name: String,
    /// Address (CSTA device id).
    pub address: String,
    /// TAPI device id.
    pub device_id: u32,
    /// Whether the gateway serves the line right now.
    pub in_service: bool,
    /// Number of calls not idle.
    pub active_calls: u32,
    /// Number of calls on hold.
    pub held_calls: u32,
    /// Active forwardings.
    pub forwards: Vec<(ForwardKind, String)>,
    /// Do-not-disturb is on.
    pub dnd: bool,
}

/// What TAPI may read about a call (LINECALLINFO/LINECALLSTATUS).
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct CallView {
    /// TAPI device id of the line.
    pub device_id: u32,
    /// LINECALLSTATE_*.
    pub state: u32,
    /// State mode.
    pub mode: u32,
    /// LINECALLFEATURE_* possible now.
    pub features: u32,
    /// Provider call id (stable for the life of the TAPI call).
    pub call_id: u32,
    /// Related call id (consultation partner, conference parent).
    pub related_call_id: u32,
    /// LINECALLORIGIN_*.
    pub origin: u32,
    /// LINECALLREASON_*.
    pub reason: u32,
    /// Caller.
    pub caller: Option<Party>,
    /// Original destination.
    pub called: Option<Party>,
    /// Who is on the line.
    pub connected: Option<Party>,
    /// Where an outgoing call was redirected to.
    pub redirection: Option<Party>,
    /// Who redirected an incoming call to us.
    pub redirecting: Option<Party>,
    /// Application data (lineSetAppSpecific).
    pub app_specific: u32,
}

/// The whole line and call state of the provider.
#[derive(Debug)]
pub struct Model {
    lines: Vec<Line>,
    calls: BTreeMap<usize, Call>,
    pending: BTreeMap<u16, Pending>,
    forward_groups: BTreeMap<u16, ForwardGroup>,
    ids: LineIds,
    ids_changed: bool,
    filter: LineFilter,
    /// Every device the gateway reported (id → name), also those the filter hides.
    gateway_devices: BTreeMap<String, String>,
    /// Line keys the gateway listed in the current session: only these can be removed.
    session_keys: BTreeSet<String>,
    /// The device list was asked for again and has not come yet.
    relisting: bool,
    link_up: bool,
    next_handle: usize,
    next_invoke: u16,
    next_call_id: u32,
    next_temp_id: usize,
}

#[derive(Debug)]
struct Line {
    device: Device,
    permanent_id: u32,
    tapi_id: Option<u32>,
    temp_id: Option<usize>,
    removed: bool,
    /// In the gateway's latest device list of this session: only then is it monitored.
    listed: bool,
    in_service: bool,
    open: Option<OpenLine>,
    forwards: BTreeMap<ForwardKind, String>,
    dnd: bool,
    held_back: Vec<CallEvent>,
}

#[derive(Debug)]
struct OpenLine {
    handle: usize,
    ht_line: usize,
    monitor: Monitor,
}

#[derive(Clone, Debug, Eq, PartialEq)]
enum Monitor {
    Stopped,
    Starting,
    Active(String),
}

#[derive(Debug)]
struct Call {
    slot: usize,
    csta: Option<String>,
    state: u32,
    mode: u32,
    /// LINE_NEWCALL sent or the completion reported success: events may be sent.
    introduced: bool,
    /// Created by lineMakeCall/lineCompleteTransfer and not yet completed: never announced.
    awaiting_completion: bool,
    view: CallView,
    /// For a conference parent: its participants.
    participants: Vec<usize>,
    /// For a participant: its conference parent.
    parent: Option<usize>,
}

/// The CSTA requests of one lineForward, completed together.
#[derive(Debug)]
struct ForwardGroup {
    request: Option<u32>,
    slot: usize,
    remaining: usize,
    error: Option<i32>,
}

#[derive(Debug)]
struct Pending {
    request: Option<u32>,
    slot: usize,
    kind: PendingKind,
}

#[derive(Debug)]
enum PendingKind {
    Plain,
    MakeCall { call: usize, ht_call: usize },
    Conference { call: usize, ht_call: usize },
    ForwardPart { group: u16 },
    Digits { call: usize, end_to_end: u32 },
    MonitorStart,
    MonitorStop,
    Snapshot,
    Forwards,
    DoNotDisturb,
}

impl Model {
    /// A model with the lines known from earlier runs (filtered), numbered from TAPI's
    /// `dwLineDeviceIDBase` later by [`Model::set_device_id_base`].
    pub fn new(ids: LineIds, filter: LineFilter) -> Self {
        let lines = ids
            .lines()
            .iter()
            .filter(|known| filter.allows(&known.device, &known.key))
            .map(|known| {
                Line::new(
                    Device {
                        id: known.device.clone(),
                        name: known.name.clone(),
                        key: known.key.clone(),
                        in_service: false,
                    },
                    known.permanent_id,
                )
            })
            .collect();
        Self {
            lines,
            calls: BTreeMap::new(),
            pending: BTreeMap::new(),
            forward_groups: BTreeMap::new(),
            ids,
            ids_changed: false,
            filter,
            gateway_devices: BTreeMap::new(),
            session_keys: BTreeSet::new(),
            relisting: false,
            link_up: false,
            next_handle: 0x1000,
            next_invoke: 1,
            next_call_id: 1,
            next_temp_id: 1,
        }
    }

    /// Number of lines reported to `TSPI_providerEnumDevices`.
    pub fn line_count(&self) -> usize {
        self.lines.len()
    }

    /// Numbers the initial lines `base..base+count` (from `TSPI_providerInit`).
    pub fn set_device_id_base(&mut self, base: u32) {
        for (index, line) in self.lines.iter_mut().enumerate() {
            if line.temp_id.is_none() {
                line.tapi_id = Some(base.wrapping_add(u32::try_from(index).unwrap_or(0)));
            }
        }
    }

    /// The gateway's device list arrived (after login or when it changed): adds lines with
    /// LINE_CREATE, renames, takes the service state, starts monitors, and removes with
    /// LINE_REMOVE the lines that an earlier list of the same session had.
    ///
    /// A known line missing from the lists of a new session only goes out of service: a
    /// gateway that has just started lists its lines as its PBX links come up (and says so
    /// with `SwFunctionDevicesChanged`), so a short list right after login says nothing about
    /// lines deleted at the PBX, while LINE_REMOVE would close the line under every
    /// application.
    pub fn set_devices(&mut self, devices: Vec<Device>) -> Vec<Output> {
        let mut out = Vec::new();
        self.relisting = false;
        self.gateway_devices = devices
            .iter()
            .map(|device| (device.id.clone(), device.name.clone()))
            .collect();
        let wanted: Vec<Device> = devices
            .into_iter()
            .filter(|device| self.filter.allows(&device.id, &device.key))
            .collect();
        let stored = self.ids.encode();
        for device in &wanted {
            let permanent_id = self.ids.assign(&device.key, &device.id, &device.name);
            let existing = self
                .lines
                .iter()
                .position(|line| line.device.key == device.key && !line.removed);
            match existing {
                Some(slot) => {
                    let renumbered = self.lines[slot].device.id != device.id;
                    if renumbered {
                        // The monitor watches the old number: restart it on the new one.
                        self.stop_monitor(slot, &mut out);
                    }
                    let line = &mut self.lines[slot];
                    line.device = device.clone();
                    line.listed = true;
                    // An open line waiting for its monitor learns its state from the answer.
                    let awaits_monitor = line
                        .open
                        .as_ref()
                        .map_or(false, |open| !matches!(open.monitor, Monitor::Active(_)));
                    if !awaits_monitor {
                        self.set_in_service(slot, device.in_service, &mut out);
                    }
                }
                None => {
                    let temp_id = self.next_temp_id;
                    self.next_temp_id += 1;
                    let mut line = Line::new(device.clone(), permanent_id);
                    line.temp_id = Some(temp_id);
                    line.listed = true;
                    line.in_service = device.in_service;
                    self.lines.push(line);
                    out.push(Output::CreateLine { temp_id });
                }
            }
        }
        for slot in 0..self.lines.len() {
            let line = &self.lines[slot];
            let gone = !line.removed && !wanted.iter().any(|device| device.key == line.device.key);
            if !gone {
                continue;
            }
            if self.session_keys.contains(&line.device.key) {
                self.remove_line(slot, &mut out);
            } else {
                self.lines[slot].listed = false;
                self.stop_monitor(slot, &mut out);
                self.set_in_service(slot, false, &mut out);
            }
        }
        self.session_keys
            .extend(wanted.iter().map(|device| device.key.clone()));
        // Persist only real changes: a new line, a new address or a new name.
        self.ids_changed |= self.ids.encode() != stored;
        if self.link_up {
            for slot in 0..self.lines.len() {
                self.start_monitor(slot, &mut out);
            }
        }
        out
    }

    /// The link is up and logged in; monitors of open lines are started once the device list
    /// of the new session arrives ([`Model::set_devices`]).
    pub fn link_up(&mut self) {
        self.link_up = true;
        self.relisting = false;
        self.session_keys.clear();
        for line in &mut self.lines {
            line.listed = false;
        }
    }

    /// The gateway lost events for this session (`SystemStatus messagesLost`): every
    /// monitored line reads its state again — a snapshot, which introduces, corrects and ends
    /// its calls, and its forwardings and do-not-disturb.
    pub fn resync(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        for slot in 0..self.lines.len() {
            let monitored = matches!(
                self.lines[slot].open.as_ref().map(|open| &open.monitor),
                Some(Monitor::Active(_))
            );
            if monitored && self.link_up {
                self.read_line_state(slot, &mut out);
            }
        }
        out
    }

    /// Asks the gateway for a line's calls, forwardings and do-not-disturb: at the start of
    /// its monitor and after lost events, as no event tells what was there before.
    fn read_line_state(&mut self, slot: usize, out: &mut Vec<Output>) {
        let device = self.lines[slot].device.id.clone();
        let invoke = self.track(None, slot, PendingKind::Snapshot);
        out.push(Output::Send {
            invoke,
            request: Request::SnapshotDevice {
                device: device.clone(),
            },
        });
        let invoke = self.track(None, slot, PendingKind::Forwards);
        out.push(Output::Send {
            invoke,
            request: Request::GetForwarding {
                device: device.clone(),
            },
        });
        let invoke = self.track(None, slot, PendingKind::DoNotDisturb);
        out.push(Output::Send {
            invoke,
            request: Request::GetDoNotDisturb { device },
        });
    }

    /// The link to the gateway is lost: pending requests fail, calls end, open lines go out of
    /// service until the link and their monitors are back.
    pub fn link_down(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        self.link_up = false;
        let pending = std::mem::take(&mut self.pending);
        for (_, pending) in pending {
            self.fail_pending(pending, err::OPERATIONFAILED, &mut out);
        }
        self.fail_forward_groups(None, &mut out);
        let handles: Vec<usize> = self.calls.keys().copied().collect();
        for handle in handles {
            if self.calls[&handle].state != call_state::IDLE && self.calls[&handle].state != 0 {
                self.set_state(
                    handle,
                    call_state::DISCONNECTED,
                    tapi::disconnect_mode::UNAVAIL,
                    &mut out,
                );
                self.set_state(handle, call_state::IDLE, 0, &mut out);
            }
        }
        for slot in 0..self.lines.len() {
            if let Some(open) = &mut self.lines[slot].open {
                open.monitor = Monitor::Stopped;
            }
            self.set_in_service(slot, false, &mut out);
        }
        out
    }

    /// Takes the line ids if they changed since the last call (to persist them).
    pub fn take_changed_ids(&mut self) -> Option<String> {
        if !self.ids_changed {
            return None;
        }
        self.ids_changed = false;
        Some(self.ids.encode())
    }

    /// `TSPI_providerCreateLineDevice`: TAPI assigned `device_id` to the line announced with
    /// `temp_id`.
    pub fn create_line(&mut self, temp_id: usize, device_id: u32) -> Result<(), i32> {
        let line = self
            .lines
            .iter_mut()
            .find(|line| line.temp_id == Some(temp_id) && line.tapi_id.is_none())
            .ok_or(err::BADDEVICEID)?;
        line.tapi_id = Some(device_id);
        Ok(())
    }

    /// `TSPI_lineOpen`.
    pub fn open_line(
        &mut self,
        device_id: u32,
        ht_line: usize,
    ) -> Result<(usize, Vec<Output>), i32> {
        let slot = self.slot_of_device(device_id).ok_or(err::BADDEVICEID)?;
        if self.lines[slot].open.is_some() {
            return Err(err::ALLOCATED);
        }
        let handle = self.new_handle();
        self.lines[slot].open = Some(OpenLine {
            handle,
            ht_line,
            monitor: Monitor::Stopped,
        });
        let mut out = Vec::new();
        self.start_monitor(slot, &mut out);
        Ok((handle, out))
    }

    /// `TSPI_lineClose`: stops the monitor, forgets the line's calls and fails its pending
    /// requests.
    pub fn close_line(&mut self, line: usize) -> Result<Vec<Output>, i32> {
        let slot = self.slot_of_line(line).ok_or(err::INVALLINEHANDLE)?;
        let mut out = Vec::new();
        let invokes: Vec<u16> = self
            .pending
            .iter()
            .filter(|(_, pending)| pending.slot == slot && pending.request.is_some())
            .map(|(invoke, _)| *invoke)
            .collect();
        for invoke in invokes {
            if let Some(pending) = self.pending.get_mut(&invoke) {
                if let Some(request) = pending.request.take() {
                    out.push(Output::Complete {
                        request,
                        result: err::OPERATIONFAILED,
                    });
                }
            }
        }
        self.fail_forward_groups(Some(slot), &mut out);
        let calls: Vec<usize> = self
            .calls
            .iter()
            .filter(|(_, call)| call.slot == slot)
            .map(|(handle, _)| *handle)
            .collect();
        for call in calls {
            self.calls.remove(&call);
            out.push(Output::ForgetCall { call });
        }
        let open = self.lines[slot].open.take();
        self.lines[slot].held_back.clear();
        if let Some(OpenLine {
            monitor: Monitor::Active(cross_ref),
            ..
        }) = open
        {
            if self.link_up {
                let invoke = self.track(None, slot, PendingKind::MonitorStop);
                out.push(Output::Send {
                    invoke,
                    request: Request::MonitorStop { cross_ref },
                });
            }
        }
        Ok(out)
    }

    /// `TSPI_lineCloseCall`: TAPI is done with the call.
    pub fn close_call(&mut self, call: usize) -> Result<Vec<Output>, i32> {
        let removed = self.calls.remove(&call).ok_or(err::INVALCALLHANDLE)?;
        for other in self.calls.values_mut() {
            other
                .participants
                .retain(|participant| *participant != call);
            if other.parent == Some(call) {
                other.parent = None;
            }
        }
        drop(removed);
        Ok(vec![Output::ForgetCall { call }])
    }

    /// `TSPI_lineMakeCall`: returns the driver handle of the new call. No event is sent for it
    /// before the completion succeeded; events for unknown calls on the line are held back
    /// meanwhile, because the gateway may report the call before it answers MakeCall.
    pub fn make_call(
        &mut self,
        request: u32,
        line: usize,
        ht_call: usize,
        to: &str,
    ) -> Result<(usize, Vec<Output>), i32> {
        let slot = self.slot_of_line(line).ok_or(err::INVALLINEHANDLE)?;
        let to = to.trim();
        if to.is_empty() {
            return Err(err::INVALADDRESS);
        }
        self.require_link(slot)?;
        let call = self.new_call(slot, 0);
        if let Some(created) = self.calls.get_mut(&call) {
            created.awaiting_completion = true;
            created.view.origin = tapi::origin::OUTBOUND;
            created.view.called = Some(Party::Known(to.to_owned()));
        }
        let invoke = self.track(Some(request), slot, PendingKind::MakeCall { call, ht_call });
        let from = self.lines[slot].device.id.clone();
        Ok((
            call,
            vec![Output::Send {
                invoke,
                request: Request::MakeCall {
                    from,
                    to: to.to_owned(),
                },
            }],
        ))
    }

    /// `TSPI_lineAnswer`.
    pub fn answer(&mut self, request: u32, call: usize) -> Result<Vec<Output>, i32> {
        let connection = self.connection_in(call, &[call_state::OFFERING, call_state::ACCEPTED])?;
        self.plain(request, call, Request::AnswerCall(connection))
    }

    /// `TSPI_lineDrop`.
    pub fn drop_call(&mut self, request: u32, call: usize) -> Result<Vec<Output>, i32> {
        let connection = self.connection(call)?;
        if self.calls[&call].state == call_state::IDLE {
            return Err(err::INVALCALLSTATE);
        }
        self.plain(request, call, Request::ClearConnection(connection))
    }

    /// `TSPI_lineHold`.
    pub fn hold(&mut self, request: u32, call: usize) -> Result<Vec<Output>, i32> {
        let connection = self.connection_in(call, &[call_state::CONNECTED])?;
        self.plain(request, call, Request::HoldCall(connection))
    }

    /// `TSPI_lineUnhold`.
    pub fn unhold(&mut self, request: u32, call: usize) -> Result<Vec<Output>, i32> {
        let connection = self.connection_in(call, HELD_STATES)?;
        self.plain(request, call, Request::RetrieveCall(connection))
    }

    /// `TSPI_lineSwapHold`: CSTA AlternateCall.
    pub fn swap_hold(
        &mut self,
        request: u32,
        active: usize,
        held: usize,
    ) -> Result<Vec<Output>, i32> {
        let active_connection = self.connection_in(active, &[call_state::CONNECTED])?;
        let held_connection = self.connection_in(held, HELD_STATES)?;
        self.plain(
            request,
            active,
            Request::AlternateCall {
                held: held_connection,
                active: active_connection,
            },
        )
    }

    /// `TSPI_lineBlindTransfer`: SingleStepTransferCall.
    pub fn blind_transfer(
        &mut self,
        request: u32,
        call: usize,
        to: &str,
    ) -> Result<Vec<Output>, i32> {
        let active = self.connection_in(
            call,
            &[
                call_state::CONNECTED,
                call_state::ONHOLD,
                call_state::OFFERING,
            ],
        )?;
        let to = non_empty(to)?;
        self.plain(request, call, Request::SingleStepTransfer { active, to })
    }

    /// `TSPI_lineRedirect`: DeflectCall of an offering call.
    pub fn redirect(&mut self, request: u32, call: usize, to: &str) -> Result<Vec<Output>, i32> {
        let connection = self.connection_in(call, &[call_state::OFFERING, call_state::ACCEPTED])?;
        let to = non_empty(to)?;
        self.plain(
            request,
            call,
            Request::DeflectCall {
                call: connection,
                to,
            },
        )
    }

    /// `TSPI_lineDial` on a connected call sends the digits as DTMF.
    pub fn dial(&mut self, request: u32, call: usize, digits: &str) -> Result<Vec<Output>, i32> {
        let connection = self.connection_in(call, &[call_state::CONNECTED])?;
        let digits = non_empty(digits)?;
        self.plain(
            request,
            call,
            Request::GenerateDigits {
                call: connection,
                digits,
            },
        )
    }

    /// `TSPI_lineCompleteTransfer` in the TRANSFERHELD/TRANSFERMAKE model: TransferCall or
    /// ConferenceCall of the two calls, whichever of them is the held one. For a conference,
    /// returns the driver handle of the new conference call.
    pub fn complete_transfer(
        &mut self,
        request: u32,
        call: usize,
        consult: usize,
        conference: Option<usize>,
    ) -> Result<(Option<usize>, Vec<Output>), i32> {
        let first = self.connection(call)?;
        let second = self.connection(consult)?;
        if call == consult || self.calls[&call].slot != self.calls[&consult].slot {
            return Err(err::INVALCALLHANDLE);
        }
        let first_held = HELD_STATES.contains(&self.calls[&call].state);
        let second_held = HELD_STATES.contains(&self.calls[&consult].state);
        let (held, active) = match (first_held, second_held) {
            (true, false) => (first, second),
            (false, true) => (second, first),
            _ => return Err(err::INVALCALLSTATE),
        };
        let slot = self.calls[&call].slot;
        self.require_link(slot)?;
        match conference {
            None => {
                let invoke = self.track(Some(request), slot, PendingKind::Plain);
                Ok((
                    None,
                    vec![Output::Send {
                        invoke,
                        request: Request::TransferCall { held, active },
                    }],
                ))
            }
            Some(ht_call) => {
                let parent = self.new_call(slot, 0);
                let participants = vec![call, consult];
                if let Some(created) = self.calls.get_mut(&parent) {
                    created.awaiting_completion = true;
                    created.view.origin = tapi::origin::CONFERENCE;
                    created.participants = participants;
                }
                let invoke = self.track(
                    Some(request),
                    slot,
                    PendingKind::Conference {
                        call: parent,
                        ht_call,
                    },
                );
                Ok((
                    Some(parent),
                    vec![Output::Send {
                        invoke,
                        request: Request::ConferenceCall { held, active },
                    }],
                ))
            }
        }
    }

    /// `TSPI_lineGenerateDigits` (synchronous start; LINE_GENERATE reports the end).
    pub fn generate_digits(
        &mut self,
        call: usize,
        end_to_end: u32,
        digits: &str,
    ) -> Result<Vec<Output>, i32> {
        let connection = self.connection_in(call, &[call_state::CONNECTED])?;
        let digits = non_empty(digits)?;
        let slot = self.calls[&call].slot;
        self.require_link(slot)?;
        let invoke = self.track(None, slot, PendingKind::Digits { call, end_to_end });
        Ok(vec![Output::Send {
            invoke,
            request: Request::GenerateDigits {
                call: connection,
                digits,
            },
        }])
    }

    /// `TSPI_lineForward`: the new list replaces the old one; `None` or an empty list cancels
    /// every forwarding and do-not-disturb.
    pub fn forward(
        &mut self,
        request: u32,
        line: usize,
        entries: Option<Vec<ForwardEntry>>,
    ) -> Result<Vec<Output>, i32> {
        let slot = self.slot_of_line(line).ok_or(err::INVALLINEHANDLE)?;
        self.require_link(slot)?;
        let device = self.lines[slot].device.id.clone();
        let entries = entries.unwrap_or_default();
        let mut requests = Vec::new();
        let dnd = entries.contains(&ForwardEntry::DoNotDisturb);
        for kind in [
            ForwardKind::Immediate,
            ForwardKind::Busy,
            ForwardKind::NoAnswer,
        ] {
            let to = entries.iter().find_map(|entry| match entry {
                ForwardEntry::Forward { kind: wanted, to } if *wanted == kind => Some(to.clone()),
                _ => None,
            });
            let active = self.lines[slot].forwards.contains_key(&kind);
            if to.is_some() || active {
                requests.push(Request::SetForwarding {
                    device: device.clone(),
                    kind,
                    on: to.is_some(),
                    to,
                });
            }
        }
        if dnd || self.lines[slot].dnd {
            requests.push(Request::SetDoNotDisturb { device, on: dnd });
        }
        if requests.is_empty() {
            return Ok(vec![Output::Complete { request, result: 0 }]);
        }
        let group = ForwardGroup {
            request: Some(request),
            slot,
            remaining: requests.len(),
            error: None,
        };
        let mut out = Vec::new();
        let mut group_id = None;
        for csta in requests {
            let invoke = self.next_free_invoke();
            let id = *group_id.get_or_insert(invoke);
            self.pending.insert(
                invoke,
                Pending {
                    request: None,
                    slot,
                    kind: PendingKind::ForwardPart { group: id },
                },
            );
            out.push(Output::Send {
                invoke,
                request: csta,
            });
        }
        if let Some(id) = group_id {
            self.forward_groups.insert(id, group);
        }
        Ok(out)
    }

    /// `TSPI_lineSetAppSpecific`.
    pub fn set_app_specific(&mut self, call: usize, value: u32) -> Result<Vec<Output>, i32> {
        let found = self.calls.get_mut(&call).ok_or(err::INVALCALLHANDLE)?;
        found.view.app_specific = value;
        let mut out = Vec::new();
        self.call_info_changed(call, 0x20, &mut out);
        Ok(out)
    }

    /// A CSTA response with the invoke id of a request the model sent.
    pub fn response(&mut self, invoke: u16, response: Response) -> Vec<Output> {
        let mut out = Vec::new();
        let pending = match self.pending.remove(&invoke) {
            Some(pending) => pending,
            None => return out,
        };
        let result = match &response {
            Response::Error(class) => class.code(),
            _ => 0,
        };
        match pending.kind {
            PendingKind::Plain => {
                if let Some(request) = pending.request {
                    out.push(Output::Complete { request, result });
                }
            }
            PendingKind::MakeCall { call, ht_call } => {
                self.complete_new_call(
                    pending.request,
                    pending.slot,
                    call,
                    ht_call,
                    &response,
                    &mut out,
                );
            }
            PendingKind::Conference { call, ht_call } => {
                self.complete_new_call(
                    pending.request,
                    pending.slot,
                    call,
                    ht_call,
                    &response,
                    &mut out,
                );
                if result == 0 {
                    let participants = self
                        .calls
                        .get(&call)
                        .map(|parent| parent.participants.clone())
                        .unwrap_or_default();
                    for participant in participants {
                        if let Some(found) = self.calls.get_mut(&participant) {
                            found.parent = Some(call);
                        }
                        self.set_state(participant, call_state::CONFERENCED, 0, &mut out);
                    }
                    self.set_state(call, call_state::CONNECTED, 0x1, &mut out);
                }
            }
            PendingKind::ForwardPart { group } => {
                let finished = match self.forward_groups.get_mut(&group) {
                    Some(found) => {
                        if result != 0 && found.error.is_none() {
                            found.error = Some(result);
                        }
                        found.remaining -= 1;
                        found.remaining == 0
                    }
                    None => false,
                };
                if finished {
                    if let Some(found) = self.forward_groups.remove(&group) {
                        if let Some(request) = found.request {
                            out.push(Output::Complete {
                                request,
                                result: found.error.unwrap_or(0),
                            });
                        }
                    }
                }
            }
            PendingKind::Digits { call, end_to_end } => {
                if let Some(found) = self.calls.get(&call) {
                    if found.introduced && found.state != call_state::IDLE {
                        let term = if result == 0 {
                            tapi::misc::GENERATETERM_DONE
                        } else {
                            tapi::misc::GENERATETERM_CANCEL
                        };
                        let ht_line = self.ht_line(found.slot);
                        if let Some(ht_line) = ht_line {
                            // dwParam3 (the tick count) is filled in by the dispatcher when it calls TAPI.
                            out.push(line_event(
                                ht_line,
                                Some(call),
                                msg::GENERATE,
                                term,
                                end_to_end,
                                0,
                            ));
                        }
                    }
                }
            }
            PendingKind::MonitorStart => {
                let slot = pending.slot;
                match response {
                    Response::MonitorStarted { cross_ref } => {
                        if let Some(open) = &mut self.lines[slot].open {
                            open.monitor = Monitor::Active(cross_ref);
                            let listed_in_service = self.lines[slot].device.in_service;
                            self.set_in_service(slot, listed_in_service, &mut out);
                            // The list may be older than the monitor: a line that came into
                            // service in between sends no event to it. A list asked for now
                            // is newer than the monitor, and later changes are events.
                            if !listed_in_service && !self.relisting {
                                self.relisting = true;
                                out.push(Output::ListDevices);
                            }
                            // Calls that exist already (line opened during a call, or after a
                            // reconnect) are introduced from a snapshot; forwardings set
                            // before are read.
                            self.read_line_state(slot, &mut out);
                        } else {
                            // Closed meanwhile: stop the monitor that just started.
                            let invoke = self.track(None, slot, PendingKind::MonitorStop);
                            out.push(Output::Send {
                                invoke,
                                request: Request::MonitorStop { cross_ref },
                            });
                        }
                    }
                    _ => {
                        if let Some(open) = &mut self.lines[slot].open {
                            open.monitor = Monitor::Stopped;
                        }
                        self.set_in_service(slot, false, &mut out);
                    }
                }
            }
            PendingKind::MonitorStop => {}
            PendingKind::Snapshot => {
                if let Response::Snapshot(calls) = response {
                    self.apply_snapshot(pending.slot, calls, &mut out);
                }
            }
            PendingKind::Forwards => {
                if let Response::Forwards(forwards) = response {
                    let forwards: BTreeMap<ForwardKind, String> = forwards.into_iter().collect();
                    if self.lines[pending.slot].forwards != forwards {
                        self.lines[pending.slot].forwards = forwards;
                        self.address_state_changed(pending.slot, &mut out);
                    }
                }
            }
            PendingKind::DoNotDisturb => {
                if let Response::DoNotDisturb(on) = response {
                    if self.lines[pending.slot].dnd != on {
                        self.lines[pending.slot].dnd = on;
                        self.address_state_changed(pending.slot, &mut out);
                    }
                }
            }
        }
        out
    }

    /// Tells TAPI that a line's forwarding (or do-not-disturb) changed.
    fn address_state_changed(&self, slot: usize, out: &mut Vec<Output>) {
        if let Some(ht_line) = self.ht_line(slot) {
            out.push(line_event(
                ht_line,
                None,
                msg::ADDRESSSTATE,
                0,
                tapi::address_state::FORWARD,
                0,
            ));
        }
    }

    /// A CSTA call event for the monitor `cross_ref`.
    pub fn call_event(&mut self, cross_ref: &str, event: CallEvent) -> Vec<Output> {
        let mut out = Vec::new();
        let slot = match self.slot_of_monitor(cross_ref) {
            Some(slot) => slot,
            None => return out,
        };
        let making = self.pending.values().any(|pending| {
            pending.slot == slot && matches!(pending.kind, PendingKind::MakeCall { .. })
        });
        // A conference call TAPI created must not be reported before its completion, and the
        // gateway may report the conference first: the whole line waits for the answer.
        let conferencing = self.pending.values().any(|pending| {
            pending.slot == slot && matches!(pending.kind, PendingKind::Conference { .. })
        });
        if conferencing || (making && !self.knows_call(slot, &event)) {
            self.lines[slot].held_back.push(event);
            return out;
        }
        self.apply_call_event(slot, event, &mut out);
        out
    }

    /// A CSTA device event for the monitor `cross_ref`.
    pub fn device_event(&mut self, cross_ref: &str, event: DeviceEvent) -> Vec<Output> {
        let mut out = Vec::new();
        let slot = match self.slot_of_monitor(cross_ref) {
            Some(slot) => slot,
            None => return out,
        };
        let changed = match event {
            DeviceEvent::Forwarding { kind, on, to } => {
                let forwards = &mut self.lines[slot].forwards;
                let before = forwards.get(&kind).cloned();
                match (on, to) {
                    (true, Some(to)) => forwards.insert(kind, to),
                    _ => forwards.remove(&kind),
                };
                before != self.lines[slot].forwards.get(&kind).cloned()
            }
            DeviceEvent::DoNotDisturb { on } => {
                let changed = self.lines[slot].dnd != on;
                self.lines[slot].dnd = on;
                changed
            }
            DeviceEvent::OutOfService => {
                self.lines[slot].device.in_service = false;
                self.set_in_service(slot, false, &mut out);
                false
            }
            DeviceEvent::BackInService => {
                self.lines[slot].device.in_service = true;
                self.set_in_service(slot, true, &mut out);
                false
            }
        };
        if changed {
            self.address_state_changed(slot, &mut out);
        }
        out
    }

    /// Completes every pending TAPI request with an error (provider shutdown).
    pub fn fail_all(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        let pending = std::mem::take(&mut self.pending);
        for (_, pending) in pending {
            self.fail_pending(pending, err::OPERATIONFAILED, &mut out);
        }
        self.fail_forward_groups(None, &mut out);
        out
    }

    /// LINEDEVCAPS data of a TAPI device id.
    pub fn line_by_device(&self, device_id: u32) -> Option<LineView> {
        self.slot_of_device(device_id)
            .map(|slot| self.line_view(slot))
    }

    /// Data of an open line.
    pub fn line_by_handle(&self, line: usize) -> Option<LineView> {
        self.slot_of_line(line).map(|slot| self.line_view(slot))
    }

    /// LINECALLINFO/LINECALLSTATUS data of a call.
    pub fn call(&self, call: usize) -> Option<CallView> {
        let found = self.calls.get(&call)?;
        let mut view = found.view.clone();
        view.device_id = self.lines[found.slot].tapi_id.unwrap_or(0);
        view.state = found.state;
        view.mode = found.mode;
        view.features = features_in(found.state);
        Some(view)
    }

    /// Display names of the gateway's devices by device id (party names in LINECALLINFO).
    pub fn device_names(&self) -> BTreeMap<String, String> {
        self.gateway_devices.clone()
    }

    /// The driver handle of the line a call belongs to.
    pub fn line_of_call(&self, call: usize) -> Option<usize> {
        let found = self.calls.get(&call)?;
        self.lines[found.slot].open.as_ref().map(|open| open.handle)
    }

    fn line_view(&self, slot: usize) -> LineView {
        let line = &self.lines[slot];
        let calls = self
            .calls
            .values()
            .filter(|call| call.slot == slot && call.introduced);
        let (mut active, mut held) = (0, 0);
        for call in calls {
            if HELD_STATES.contains(&call.state) {
                held += 1;
            } else if call.state != call_state::IDLE && call.state != 0 {
                active += 1;
            }
        }
        LineView {
            permanent_id: line.permanent_id,
            name: line.device.name.clone(),
            address: line.device.id.clone(),
            device_id: line.tapi_id.unwrap_or(0),
            in_service: line.in_service && self.link_up,
            active_calls: active,
            held_calls: held,
            forwards: line
                .forwards
                .iter()
                .map(|(kind, to)| (*kind, to.clone()))
                .collect(),
            dnd: line.dnd,
        }
    }

    fn complete_new_call(
        &mut self,
        request: Option<u32>,
        slot: usize,
        call: usize,
        ht_call: usize,
        response: &Response,
        out: &mut Vec<Output>,
    ) {
        let held_back = std::mem::take(&mut self.lines[slot].held_back);
        match (request, response) {
            (Some(request), Response::Call { call: csta }) if self.calls.contains_key(&call) => {
                if let Some(created) = self.calls.get_mut(&call) {
                    created.csta = Some(csta.clone());
                    created.introduced = true;
                    created.awaiting_completion = false;
                }
                out.push(Output::BindCall { call, ht_call });
                out.push(Output::Complete { request, result: 0 });
            }
            (request, response) => {
                self.calls.remove(&call);
                if let Some(request) = request {
                    let result = match response {
                        Response::Error(class) => class.code(),
                        _ => err::OPERATIONFAILED,
                    };
                    out.push(Output::Complete { request, result });
                }
            }
        }
        for event in held_back {
            self.apply_call_event(slot, event, out);
        }
    }

    fn plain(&mut self, request: u32, call: usize, csta: Request) -> Result<Vec<Output>, i32> {
        let slot = self.calls[&call].slot;
        self.require_link(slot)?;
        let invoke = self.track(Some(request), slot, PendingKind::Plain);
        Ok(vec![Output::Send {
            invoke,
            request: csta,
        }])
    }

    fn connection(&self, call: usize) -> Result<Connection, i32> {
        let found = self.calls.get(&call).ok_or(err::INVALCALLHANDLE)?;
        if !found.introduced {
            return Err(err::INVALCALLHANDLE);
        }
        let csta = found.csta.clone().ok_or(err::INVALCALLSTATE)?;
        Ok(Connection {
            call: csta,
            device: self.lines[found.slot].device.id.clone(),
        })
    }

    fn connection_in(&self, call: usize, states: &[u32]) -> Result<Connection, i32> {
        let connection = self.connection(call)?;
        if !states.contains(&self.calls[&call].state) {
            return Err(err::INVALCALLSTATE);
        }
        Ok(connection)
    }

    /// Requests need the link and a monitor that is started or starting: the gateway answers
    /// MonitorStart before it handles a later request, so its events are recognised.
    fn require_link(&self, slot: usize) -> Result<(), i32> {
        let monitored = matches!(
            self.lines[slot].open.as_ref().map(|open| &open.monitor),
            Some(Monitor::Active(_)) | Some(Monitor::Starting)
        );
        if self.link_up && monitored {
            Ok(())
        } else {
            Err(err::RESOURCEUNAVAIL)
        }
    }

    fn track(&mut self, request: Option<u32>, slot: usize, kind: PendingKind) -> u16 {
        let invoke = self.next_free_invoke();
        self.pending.insert(
            invoke,
            Pending {
                request,
                slot,
                kind,
            },
        );
        invoke
    }

    /// Invoke ids cycle through 1..=8999, skipping those still pending; 9000..=9998 belong to
    /// the connection's session requests and 9999 marks events.
    fn next_free_invoke(&mut self) -> u16 {
        loop {
            let invoke = self.next_invoke;
            self.next_invoke = if invoke >= LAST_INVOKE { 1 } else { invoke + 1 };
            if !self.pending.contains_key(&invoke) {
                return invoke;
            }
        }
    }

    fn fail_pending(&mut self, pending: Pending, result: i32, out: &mut Vec<Output>) {
        match pending.kind {
            PendingKind::MakeCall { call, .. } | PendingKind::Conference { call, .. } => {
                self.calls.remove(&call);
                self.lines[pending.slot].held_back.clear();
            }
            PendingKind::MonitorStart => {
                if let Some(open) = &mut self.lines[pending.slot].open {
                    open.monitor = Monitor::Stopped;
                }
            }
            _ => {}
        }
        if let Some(request) = pending.request {
            out.push(Output::Complete { request, result });
        }
    }

    /// Completes lineForward requests (of one line, or all) that still wait for answers.
    fn fail_forward_groups(&mut self, slot: Option<usize>, out: &mut Vec<Output>) {
        for group in self.forward_groups.values_mut() {
            if slot.map_or(true, |slot| slot == group.slot) {
                if let Some(request) = group.request.take() {
                    out.push(Output::Complete {
                        request,
                        result: err::OPERATIONFAILED,
                    });
                }
            }
        }
        if slot.is_none() {
            self.forward_groups.clear();
        }
    }

    fn start_monitor(&mut self, slot: usize, out: &mut Vec<Output>) {
        if !self.link_up || self.lines[slot].removed || !self.lines[slot].listed {
            return;
        }
        let needs_start = matches!(
            self.lines[slot].open.as_ref().map(|open| &open.monitor),
            Some(Monitor::Stopped)
        );
        if !needs_start {
            return;
        }
        if let Some(open) = &mut self.lines[slot].open {
            open.monitor = Monitor::Starting;
        }
        let device = self.lines[slot].device.id.clone();
        let invoke = self.track(None, slot, PendingKind::MonitorStart);
        out.push(Output::Send {
            invoke,
            request: Request::MonitorStart { device },
        });
    }

    fn remove_line(&mut self, slot: usize, out: &mut Vec<Output>) {
        self.lines[slot].removed = true;
        self.lines[slot].in_service = false;
        if let Some(device_id) = self.lines[slot].tapi_id {
            out.push(Output::RemoveLine { device_id });
        }
        self.stop_monitor(slot, out);
    }

    /// Stops an active monitor of an open line (the line stays open).
    fn stop_monitor(&mut self, slot: usize, out: &mut Vec<Output>) {
        if let Some(OpenLine {
            monitor: Monitor::Active(cross_ref),
            ..
        }) = &self.lines[slot].open
        {
            if self.link_up {
                let request = Request::MonitorStop {
                    cross_ref: cross_ref.clone(),
                };
                let invoke = self.track(None, slot, PendingKind::MonitorStop);
                out.push(Output::Send { invoke, request });
            }
        }
        if let Some(open) = &mut self.lines[slot].open {
            open.monitor = Monitor::Stopped;
        }
    }

    fn set_in_service(&mut self, slot: usize, in_service: bool, out: &mut Vec<Output>) {
        let line = &mut self.lines[slot];
        if line.in_service == in_service || line.removed {
            line.in_service = in_service && !line.removed;
            return;
        }
        line.in_service = in_service;
        if let Some(open) = &line.open {
            let state = if in_service {
                dev_state::INSERVICE
            } else {
                dev_state::OUTOFSERVICE
            };
            out.push(line_event(
                open.ht_line,
                None,
                msg::LINEDEVSTATE,
                state,
                0,
                0,
            ));
        }
    }

    fn new_handle(&mut self) -> usize {
        let handle = self.next_handle;
        self.next_handle += 1;
        handle
    }

    fn new_call(&mut self, slot: usize, state: u32) -> usize {
        let handle = self.new_handle();
        let call_id = self.next_call_id;
        self.next_call_id = self.next_call_id.wrapping_add(1).max(1);
        self.calls.insert(
            handle,
            Call {
                slot,
                csta: None,
                state,
                mode: 0,
                introduced: false,
                awaiting_completion: false,
                view: CallView {
                    call_id,
                    origin: tapi::origin::UNKNOWN,
                    reason: tapi::reason::UNKNOWN,
                    ..CallView::default()
                },
                participants: Vec::new(),
                parent: None,
            },
        );
        handle
    }

    fn ht_line(&self, slot: usize) -> Option<usize> {
        self.lines[slot].open.as_ref().map(|open| open.ht_line)
    }

    fn slot_of_device(&self, device_id: u32) -> Option<usize> {
        self.lines
            .iter()
            .position(|line| line.tapi_id == Some(device_id) && !line.removed)
    }

    fn slot_of_line(&self, handle: usize) -> Option<usize> {
        self.lines
            .iter()
            .position(|line| line.open.as_ref().map(|open| open.handle) == Some(handle))
    }

    fn slot_of_monitor(&self, cross_ref: &str) -> Option<usize> {
        self.lines.iter().position(|line| {
            matches!(&line.open, Some(OpenLine { monitor: Monitor::Active(active), .. }) if active == cross_ref)
        })
    }

    /// Sets a call's state and reports it (first LINE_NEWCALL if the call is new to TAPI).
    fn set_state(&mut self, call: usize, state: u32, mode: u32, out: &mut Vec<Output>) {
        let found = match self.calls.get_mut(&call) {
            Some(found) => found,
            None => return,
        };
        if found.state == call_state::IDLE || (found.state == state && found.mode == mode) {
            return;
        }
        found.state = state;
        found.mode = mode;
        let parent = found.parent;
        let slot = found.slot;
        let introduced = found.introduced;
        if found.awaiting_completion {
            // TAPI created this call and learns about it from the completion only.
            return;
        }
        let ht_line = match self.ht_line(slot) {
            Some(ht_line) => ht_line,
            None => return,
        };
        if !introduced {
            if let Some(found) = self.calls.get_mut(&call) {
                found.introduced = true;
            }
            out.push(Output::NewCall { ht_line, call });
        }
        let param2_call = if state == call_state::CONFERENCED {
            parent
        } else {
            None
        };
        out.push(Output::Event {
            ht_line,
            call: Some(call),
            msg: msg::CALLSTATE,
            param1: state as usize,
            param2: mode as usize,
            param3: tapi::misc::MEDIAMODE_INTERACTIVEVOICE as usize,
            param2_call,
        });
    }

    fn call_info_changed(&self, call: usize, bits: u32, out: &mut Vec<Output>) {
        let found = match self.calls.get(&call) {
            Some(found) => found,
            None => return,
        };
        if bits == 0 || !found.introduced || found.state == call_state::IDLE {
            return;
        }
        if let Some(ht_line) = self.ht_line(found.slot) {
            out.push(line_event(ht_line, Some(call), msg::CALLINFO, bits, 0, 0));
        }
    }
}

impl Line {
    fn new(device: Device, permanent_id: u32) -> Self {
        Self {
            device,
            permanent_id,
            tapi_id: None,
            temp_id: None,
            removed: false,
            listed: false,
            in_service: false,
            open: None,
            forwards: BTreeMap::new(),
            dnd: false,
            held_back: Vec::new(),
        }
    }
}

/// The last invoke id the model uses.
const LAST_INVOKE: u16 = 8999;

/// Call states in which a call is on hold at the line.
const HELD_STATES: &[u32] = &[
    call_state::ONHOLD,
    call_state::ONHOLDPENDTRANSFER,
    call_state::ONHOLDPENDCONF,
];

/// LINECALLSTATUS.dwCallFeatures: what an application may do in each state.
fn features_in(state: u32) -> u32 {
    use tapi::call_feature as feature;
    match state {
        call_state::OFFERING | call_state::ACCEPTED => {
            feature::ANSWER | feature::DROP | feature::REDIRECT | feature::BLINDTRANSFER
        }
        call_state::CONNECTED => {
            feature::DROP
                | feature::HOLD
                | feature::BLINDTRANSFER
                | feature::GENERATEDIGITS
                | feature::COMPLETETRANSF
                | feature::SWAPHOLD
        }
        call_state::ONHOLD | call_state::ONHOLDPENDTRANSFER | call_state::ONHOLDPENDCONF => {
            feature::DROP | feature::UNHOLD | feature::COMPLETETRANSF | feature::SWAPHOLD
        }
        call_state::DIALTONE
        | call_state::DIALING
        | call_state::RINGBACK
        | call_state::PROCEEDING
        | call_state::BUSY
        | call_state::DISCONNECTED
        | call_state::CONFERENCED => feature::DROP,
        _ => 0,
    }
}

fn non_empty(text: &str) -> Result<String, i32> {
    let text = text.trim();
    if text.is_empty() {
        Err(err::INVALADDRESS)
    } else {
        Ok(text.to_owned())
    }
}

fn line_event(
    ht_line: usize,
    call: Option<usize>,
    msg: u32,
    param1: u32,
    param2: u32,
    param3: u32,
) -> Output {
    Output::Event {
        ht_line,
        call,
        msg,
        param1: param1 as usize,
        param2: param2 as usize,
        param3: param3 as usize,
        param2_call: None,
    }
}

/// Bits of LINE_CALLINFO used by the event mapping.
pub(crate) const INFO_PARTIES: u32 = info_state::CALLERID
    | info_state::CALLEDID
    | info_state::CONNECTEDID
    | info_state::REDIRECTIONID
    | info_state::REDIRECTINGID;
