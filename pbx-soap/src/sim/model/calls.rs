//! The call engine: calls, legs, routing, forwards and the phone-side and SOAP call control.
//!
//! A call is a set of legs sharing a conference id. A leg is one object's (or, for a trunk,
//! one external party's) side of the call; its state is PBX-centric: a leg the PBX
//! offers to a device is `outbound`. Each leg is seen by the user handles of its object
//! (filtered by device for `hw` handles), each through its own call handle.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rand::Rng;

use super::{CallRef, Model, ObjectState, Record, ScenarioError, UnknownSession, cause};
use crate::records::{CallInfo, CallPhase, CallState, Info, Msg, No, PartyRole};
use crate::sim::directory::{DeviceKind, ForwardKind, ObjectKind};

/// Most diversions (forwards, redirects) one call may take before it is refused as a loop.
const MAX_DIVERSIONS: u8 = 5;

/// Where a dialled number or a named destination leads.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(super) enum Target {
    /// An object of this PBX.
    Object(usize),
    /// An external number through a trunk object (the number without the trunk prefix).
    External { trunk: usize, number: String },
    /// A prefix of some number: more digits are needed.
    Incomplete,
    /// Nothing.
    Unallocated,
}

/// What a leg's peer is.
#[derive(Clone, Debug, Eq, PartialEq)]
enum Remote {
    /// Another leg of the call (which may have ended; its presentation is then frozen in
    /// `peer_display`).
    Leg(u64),
    /// A number only (what was dialled, before routing).
    Number(String),
    /// An object without a leg (a broadcast group while its members ring).
    Object(usize),
}

/// The role of a leg in its call.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum LegKind {
    /// A parked call waiting at a park position (state 8).
    Parked,
    /// A party of the call.
    Party,
    /// The view a transferring user keeps of a call it transferred away
    /// (`UserInitialize(xfer=true)`).
    Transferred,
}

/// One leg of a [`CallSnapshot`].
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct LegSnapshot {
    /// The object's long name.
    pub cn: String,
    /// The device the leg is at; `None` while it rings at every device.
    pub device: Option<String>,
    /// For a trunk leg, the external number.
    pub external: Option<String>,
    /// The leg's role.
    pub kind: LegKind,
    /// The state bitfield.
    pub state: CallState,
    /// The parties as the leg's records report them.
    pub parties: Vec<No>,
    /// The message of the leg's last record.
    pub msg: Msg,
}

/// One call of a [`super::SimSnapshot`].
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct CallSnapshot {
    /// The scenario reference.
    pub call: CallRef,
    /// The conference id shared by every leg.
    pub conf: String,
    /// The legs in creation order.
    pub legs: Vec<LegSnapshot>,
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
struct View {
    user: i32,
    call: i32,
}

#[derive(Debug)]
struct Call {
    conf: String,
    legs: BTreeSet<u64>,
}

#[derive(Clone, Debug)]
struct Leg {
    call: u64,
    object: usize,
    device: Option<String>,
    external: Option<String>,
    kind: LegKind,
    outbound: bool,
    phase: CallPhase,
    held: bool,
    held_by_peer: bool,
    peer: Remote,
    peer_display: Option<No>,
    shown_e164: Option<String>,
    extras: Vec<No>,
    cause: Option<i32>,
    last_msg: Msg,
    views: Vec<View>,
    pending: Option<Target>,
    obey_forwards: bool,
    diversions: u8,
    park_position: Option<i32>,
    alerting_since: Duration,
}

impl Leg {
    fn state(&self) -> CallState {
        CallState::new(self.phase, self.outbound)
            .with(CallState::HELD, self.held)
            .with(CallState::HELD_BY_PEER, self.held_by_peer)
    }

    fn set_peer(&mut self, peer: Remote) {
        self.peer = peer;
        self.peer_display = None;
    }

    fn set_extra(&mut self, no: No) {
        self.extras.retain(|extra| extra.kind != no.kind);
        self.extras.push(no);
    }

    fn extra(&self, role: &PartyRole) -> Option<&No> {
        self.extras.iter().find(|extra| &extra.kind == role)
    }

    fn ringing(&self) -> bool {
        self.kind == LegKind::Party
            && self.outbound
            && matches!(
                self.phase,
                CallPhase::Setup | CallPhase::CallProc | CallPhase::Alert
            )
    }

    fn early(&self) -> bool {
        matches!(
            self.phase,
            CallPhase::Setup | CallPhase::SetupAck | CallPhase::CallProc
        )
    }
}

/// What a new leg starts as.
struct LegSpec {
    object: usize,
    device: Option<String>,
    external: Option<String>,
    kind: LegKind,
    outbound: bool,
    phase: CallPhase,
    peer: Remote,
}

impl LegSpec {
    /// A party leg in setup; `outbound` when the PBX offers it to the device.
    fn party(object: usize, device: Option<String>, outbound: bool, peer: Remote) -> Self {
        Self {
            object,
            device,
            external: None,
            kind: LegKind::Party,
            outbound,
            phase: CallPhase::Setup,
            peer,
        }
    }
}

/// The call state of the model.
#[derive(Debug)]
pub(super) struct Calls {
    calls: BTreeMap<u64, Call>,
    legs: BTreeMap<u64, Leg>,
    handles: BTreeMap<i32, (i32, u64)>,
    timers: BTreeSet<(Duration, u64)>,
    next_call: u64,
    next_leg: u64,
    next_handle: i32,
}

impl Default for Calls {
    fn default() -> Self {
        Self {
            calls: BTreeMap::new(),
            legs: BTreeMap::new(),
            handles: BTreeMap::new(),
            timers: BTreeSet::new(),
            next_call: 1,
            next_leg: 1,
            next_handle: 1,
        }
    }
}

impl Calls {
    /// Forgets every call and restarts call handles from 1; call references keep counting so
    /// a reference never names two calls.
    pub(super) fn clear(&mut self) {
        self.calls.clear();
        self.legs.clear();
        self.handles.clear();
        self.timers.clear();
        self.next_handle = 1;
    }

    pub(super) fn allocate_handle(&mut self) -> i32 {
        let handle = self.next_handle;
        self.next_handle = self.next_handle.checked_add(1).unwrap_or(1);
        handle
    }

    pub(super) fn handle_owner(&self, call: i32) -> Option<i32> {
        self.handles.get(&call).map(|&(user, _)| user)
    }

    pub(super) fn next_timer(&self) -> Option<Duration> {
        self.timers.first().map(|&(at, _)| at)
    }

    /// Removes the views (call handles) of an ended user handle.
    pub(super) fn drop_views(&mut self, calls: &BTreeSet<i32>) {
        for call in calls {
            let Some((_, leg)) = self.handles.remove(call) else {
                continue;
            };
            if let Some(leg) = self.legs.get_mut(&leg) {
                leg.views.retain(|view| view.call != *call);
            }
        }
    }
}

fn cause_text(cause: i32) -> &'static str {
    match cause {
        cause::UNALLOCATED => "Unallocated (unassigned) number",
        cause::NO_ROUTE => "No route to destination",
        cause::NORMAL => "Normal call clearing",
        cause::BUSY => "User busy",
        cause::NO_ANSWER => "No answer from user (user alerted)",
        cause::ABSENT => "Subscriber absent",
        cause::NON_SELECTED => "Non-selected user clearing",
        cause::INVALID_NUMBER => "Invalid number format (address incomplete)",
        _ => "",
    }
}

/// A leg refused an action in its current state.
struct Refused;

// Lookups, presentation and record delivery.
impl Model {
    /// Resolves digits dialled in a node: an extension of the node, a full number
    /// (node prefix + extension), or a trunk prefix followed by an external number.
    pub(super) fn resolve_number(&self, node: usize, digits: &str) -> Target {
        if digits.is_empty() {
            return Target::Incomplete;
        }
        let local = self.by_number.get(&(node, digits.to_owned()));
        if let Some(&object) = local.or_else(|| self.by_full_number.get(digits)) {
            return Target::Object(object);
        }
        let trunk = self
            .objects
            .iter()
            .enumerate()
            .filter(|(_, o)| {
                !o.deleted
                    && o.config.kind == ObjectKind::Gateway
                    && !o.config.e164.is_empty()
                    && digits.starts_with(o.config.e164.as_str())
            })
            .max_by_key(|(_, o)| (o.config.e164.len(), o.config.node == node));
        if let Some((trunk, object)) = trunk {
            let number = &digits[object.config.e164.len()..];
            if number.is_empty() {
                return Target::Incomplete;
            }
            return Target::External {
                trunk,
                number: number.to_owned(),
            };
        }
        let incomplete = self
            .by_number
            .keys()
            .any(|(n, e164)| *n == node && e164.starts_with(digits))
            || self
                .by_full_number
                .keys()
                .any(|full| full.starts_with(digits));
        if incomplete {
            Target::Incomplete
        } else {
            Target::Unallocated
        }
    }

    /// Resolves a `UserCall`/`UserRedirect` destination: by long name, by `h323` name or by
    /// number in the node.
    fn resolve_destination(&self, node: usize, cn: &str, e164: &str, h323: &str) -> Target {
        if !cn.is_empty() {
            return self
                .live_object(cn)
                .map_or(Target::Unallocated, Target::Object);
        }
        if !h323.is_empty() {
            return self
                .object_by_h323(h323)
                .map_or(Target::Unallocated, Target::Object);
        }
        self.resolve_number(node, e164)
    }

    pub(super) fn counters(&self, object: &ObjectState) -> (i32, i32) {
        let mut channel = 0;
        let mut alert = 0;
        for leg in object
            .legs
            .iter()
            .filter_map(|id| self.calls_state.legs.get(id))
        {
            if leg.kind == LegKind::Party {
                channel += 1;
                if leg.outbound && leg.phase == CallPhase::Alert {
                    alert += 1;
                }
            }
        }
        (channel, alert)
    }

    /// An object as a party, numbered as seen from `viewer_node` (`None`: from outside, with
    /// the node prefix).
    fn object_no(&self, object: usize, viewer_node: Option<usize>, role: PartyRole) -> No {
        let config = &self.objects[object].config;
        No {
            kind: role,
            cn: config.cn.clone(),
            dn: config.dn.clone(),
            e164: self.numbered(config.node, &config.e164, viewer_node),
            h323: config.h323.clone(),
        }
    }

    fn numbered(&self, node: usize, e164: &str, viewer_node: Option<usize>) -> String {
        if e164.is_empty() || viewer_node == Some(node) {
            e164.to_owned()
        } else {
            format!("{}{e164}", self.nodes[node].num)
        }
    }

    /// The node a leg's records number parties from; trunk legs see full numbers.
    fn viewer_node(&self, leg: &Leg) -> Option<usize> {
        leg.external
            .is_none()
            .then(|| self.objects[leg.object].config.node)
    }

    /// How a leg's endpoint appears to a leg viewing it from `viewer_node`.
    fn endpoint_no(&self, leg: &Leg, viewer_node: Option<usize>, role: PartyRole) -> No {
        if let Some(number) = &leg.external {
            let trunk = &self.objects[leg.object].config;
            let e164 = match viewer_node {
                Some(node) if !number.starts_with('+') => {
                    format!(
                        "{}{number}",
                        self.numbered(trunk.node, &trunk.e164, Some(node))
                    )
                }
                _ => number.clone(),
            };
            return No {
                kind: role,
                e164,
                ..No::default()
            };
        }
        match &leg.shown_e164 {
            Some(shown) if shown.starts_with(['r', 'R']) => No {
                kind: role,
                ..No::default()
            },
            Some(shown) => {
                let node = self.objects[leg.object].config.node;
                No {
                    e164: self.numbered(node, shown, viewer_node),
                    ..self.object_no(leg.object, viewer_node, role)
                }
            }
            None => self.object_no(leg.object, viewer_node, role),
        }
    }

    fn record(&self, leg: &Leg, msg: Msg, active: bool, extra: &[Info]) -> CallInfo {
        let viewer = self.viewer_node(leg);
        let this = match &leg.external {
            Some(number) => No {
                kind: PartyRole::This,
                e164: number.clone(),
                ..No::default()
            },
            None => self.object_no(leg.object, viewer, PartyRole::This),
        };
        let peer: Option<No> = match (&leg.peer_display, &leg.peer) {
            (Some(display), _) => Some(display.clone()),
            (None, Remote::Leg(peer)) => self
                .calls_state
                .legs
                .get(peer)
                .map(|peer| self.endpoint_no(peer, viewer, PartyRole::Peer)),
            (None, Remote::Object(object)) => {
                Some(self.object_no(*object, viewer, PartyRole::Peer))
            }
            (None, Remote::Number(number)) => Some(No {
                kind: PartyRole::Peer,
                e164: number.clone(),
                ..No::default()
            }),
        };
        let mut no = vec![this];
        no.extend(peer);
        no.extend(leg.extras.iter().cloned());
        let conf = self
            .calls_state
            .calls
            .get(&leg.call)
            .map(|call| call.conf.clone())
            .unwrap_or_default();
        let mut info = vec![Info::string("conf", conf)];
        if let Some(cause) = leg.cause {
            info.push(Info::new("cause", cause, cause_text(cause)));
        }
        info.extend(extra.iter().cloned());
        CallInfo {
            user: 0,
            call: 0,
            reg: 0,
            active,
            state: leg.state(),
            no,
            msg,
            info,
        }
    }

    fn deliver(&mut self, views: &[View], template: &CallInfo) {
        for view in views {
            let Some(handle) = self.handles.get(&view.user) else {
                continue;
            };
            let session = handle.session;
            let mut info = template.clone();
            info.user = view.user;
            info.call = view.call;
            self.push(session, Record::Call(info));
        }
    }

    /// Reports a leg's current state with a message to every handle that sees it.
    fn emit(&mut self, leg: u64, msg: Msg, extra: &[Info]) {
        let Some(state) = self.calls_state.legs.get_mut(&leg) else {
            return;
        };
        state.last_msg = msg.clone();
        // Every state change is emitted, so this is where counters may change.
        self.dirty.insert(state.object);
        let Some(state) = self.calls_state.legs.get(&leg) else {
            return;
        };
        let template = self.record(state, msg, true, extra);
        let views = state.views.clone();
        self.deliver(&views, &template);
    }

    /// Sends the final `del` record and forgets the leg. Legs whose peer it was keep showing
    /// it as their peer.
    fn finish(&mut self, leg: u64) {
        let Some(gone) = self.calls_state.legs.get(&leg) else {
            return;
        };
        let call = gone.call;
        let watchers: Vec<u64> = self.call_legs(call);
        for other in watchers {
            let Some(state) = self.leg(other) else {
                continue;
            };
            if state.peer != Remote::Leg(leg) || state.peer_display.is_some() {
                continue;
            }
            let Some(gone) = self.leg(leg) else { continue };
            let shown = self.endpoint_no(gone, self.viewer_node(state), PartyRole::Peer);
            if let Some(state) = self.leg_mut(other) {
                state.peer_display = Some(shown);
            }
        }
        let Some(state) = self.calls_state.legs.remove(&leg) else {
            return;
        };
        let template = self.record(&state, Msg::Del, false, &[]);
        self.deliver(&state.views, &template);
        self.forget_views(&state.views);
        if let Some(object) = self.objects.get_mut(state.object) {
            object.legs.remove(&leg);
        }
        self.dirty.insert(state.object);
        self.calls_state.timers.retain(|&(_, timer)| timer != leg);
        if let Some(call) = self.calls_state.calls.get_mut(&state.call) {
            call.legs.remove(&leg);
        }
    }

    fn forget_views(&mut self, views: &[View]) {
        for view in views {
            self.calls_state.handles.remove(&view.call);
            if let Some(handle) = self.handles.get_mut(&view.user) {
                handle.calls.remove(&view.call);
            }
        }
    }

    /// Whether handle `user` sees legs of its object at `device` (`None`: every device).
    fn handle_sees(&self, user: i32, object: usize, device: Option<&str>) -> bool {
        let Some(handle) = self.handles.get(&user) else {
            return false;
        };
        match (&handle.hw, device) {
            (None, _) => true,
            (Some(hw), Some(device)) => hw == device,
            (Some(hw), None) => self.objects[object]
                .config
                .devices
                .iter()
                .any(|d| &d.hw == hw && d.registered),
        }
    }

    fn add_view(&mut self, leg: u64, user: i32) -> i32 {
        let call = self.calls_state.allocate_handle();
        self.calls_state.handles.insert(call, (user, leg));
        if let Some(handle) = self.handles.get_mut(&user) {
            handle.calls.insert(call);
        }
        if let Some(state) = self.calls_state.legs.get_mut(&leg) {
            state.views.push(View { user, call });
        }
        call
    }

    fn new_call(&mut self) -> u64 {
        let id = self.calls_state.next_call;
        self.calls_state.next_call += 1;
        let conf = format!("{:032x}", self.rng.random::<u128>());
        self.calls_state.calls.insert(
            id,
            Call {
                conf,
                legs: BTreeSet::new(),
            },
        );
        id
    }

    fn new_leg(&mut self, call: u64, spec: LegSpec, now: Duration) -> u64 {
        let id = self.calls_state.next_leg;
        self.calls_state.next_leg += 1;
        let LegSpec {
            object,
            device,
            external,
            kind,
            outbound,
            phase,
            peer,
        } = spec;
        self.calls_state.legs.insert(
            id,
            Leg {
                call,
                object,
                device: device.clone(),
                external,
                kind,
                outbound,
                phase,
                held: false,
                held_by_peer: false,
                peer,
                peer_display: None,
                shown_e164: None,
                extras: Vec::new(),
                cause: None,
                last_msg: Msg::None,
                views: Vec::new(),
                pending: None,
                obey_forwards: true,
                diversions: 0,
                park_position: None,
                alerting_since: now,
            },
        );
        if let Some(state) = self.calls_state.calls.get_mut(&call) {
            state.legs.insert(id);
        }
        self.objects[object].legs.insert(id);
        self.dirty.insert(object);
        if kind == LegKind::Transferred {
            return id;
        }
        let watchers: Vec<i32> = self.objects[object]
            .handles
            .iter()
            .copied()
            .filter(|&user| self.handle_sees(user, object, device.as_deref()))
            .collect();
        for user in watchers {
            self.add_view(id, user);
        }
        id
    }

    /// Gives a new user handle views of the calls its object is in, reporting each leg's
    /// current state once (when configured).
    pub(super) fn watch_existing_calls(&mut self, user: i32) {
        let Some(handle) = self.handles.get(&user) else {
            return;
        };
        let object = handle.object;
        let legs: Vec<u64> = self.objects[object].legs.iter().copied().collect();
        for leg in legs {
            let Some(state) = self.calls_state.legs.get(&leg) else {
                continue;
            };
            if state.kind == LegKind::Transferred
                || !self.handle_sees(user, object, state.device.as_deref())
            {
                continue;
            }
            let call = self.add_view(leg, user);
            if self.config.report_existing_calls {
                let Some(state) = self.calls_state.legs.get(&leg) else {
                    continue;
                };
                let template = self.record(state, state.last_msg.clone(), true, &[]);
                self.deliver(&[View { user, call }], &template);
            }
        }
    }

    /// The legs of a call (none when it is gone).
    fn call_legs(&self, call: u64) -> Vec<u64> {
        self.calls_state
            .calls
            .get(&call)
            .map(|c| c.legs.iter().copied().collect())
            .unwrap_or_default()
    }

    fn leg(&self, leg: u64) -> Option<&Leg> {
        self.calls_state.legs.get(&leg)
    }

    fn leg_mut(&mut self, leg: u64) -> Option<&mut Leg> {
        self.calls_state.legs.get_mut(&leg)
    }

    fn peer_leg(&self, leg: u64) -> Option<u64> {
        match self.leg(leg)?.peer {
            Remote::Leg(peer) if self.calls_state.legs.contains_key(&peer) => Some(peer),
            _ => None,
        }
    }

    /// Legs whose peer is `leg` other than its own peer: the alternatives still ringing for a
    /// caller (broadcast members), or the legs attached to it.
    fn attached(&self, leg: u64) -> Vec<u64> {
        let Some(state) = self.leg(leg) else {
            return Vec::new();
        };
        let Some(call) = self.calls_state.calls.get(&state.call) else {
            return Vec::new();
        };
        call.legs
            .iter()
            .copied()
            .filter(|&other| {
                other != leg && self.leg(other).is_some_and(|o| o.peer == Remote::Leg(leg))
            })
            .collect()
    }

    fn first_registered_device(&self, object: usize) -> Option<String> {
        self.objects[object]
            .config
            .devices
            .iter()
            .find(|d| d.registered)
            .map(|d| d.hw.clone())
    }

    fn device_kind(&self, object: usize, device: Option<&str>) -> DeviceKind {
        let devices = &self.objects[object].config.devices;
        device
            .and_then(|hw| devices.iter().find(|d| d.hw == hw))
            .or_else(|| devices.iter().find(|d| d.registered))
            .map_or(DeviceKind::Phone, |d| d.kind)
    }

    fn remove_call_if_done(&mut self, call: u64) {
        let Some(state) = self.calls_state.calls.get(&call) else {
            return;
        };
        let live = state.legs.iter().any(|leg| {
            self.leg(*leg)
                .is_some_and(|l| l.kind != LegKind::Transferred)
        });
        if live {
            return;
        }
        let observers: Vec<u64> = state.legs.iter().copied().collect();
        for observer in observers {
            self.clear_towards(observer, None);
        }
        self.calls_state.calls.remove(&call);
    }
    /// The PBX releases a leg towards its device (`x-rel`, phase 7) and forgets it.
    fn clear_towards(&mut self, leg: u64, cause_value: Option<i32>) {
        if let Some(state) = self.leg_mut(leg) {
            state.phase = CallPhase::DisconnectReceived;
            state.cause = cause_value.or(state.cause);
        }
        self.emit(leg, Msg::XRel, &[]);
        self.finish(leg);
    }

    /// Reports a step of the call to the transferring users still watching it.
    fn update_observers(&mut self, call: u64, phase: CallPhase, msg: &Msg) {
        let Some(state) = self.calls_state.calls.get(&call) else {
            return;
        };
        let observers: Vec<u64> = state
            .legs
            .iter()
            .copied()
            .filter(|leg| {
                self.leg(*leg)
                    .is_some_and(|l| l.kind == LegKind::Transferred)
            })
            .collect();
        for observer in observers {
            if let Some(state) = self.leg_mut(observer) {
                state.phase = phase;
            }
            self.emit(observer, msg.clone(), &[]);
        }
    }

    pub(super) fn call_snapshots(&self) -> Vec<CallSnapshot> {
        self.calls_state
            .calls
            .iter()
            .map(|(&id, call)| CallSnapshot {
                call: CallRef(id),
                conf: call.conf.clone(),
                legs: call
                    .legs
                    .iter()
                    .filter_map(|leg| self.leg(*leg))
                    .map(|leg| LegSnapshot {
                        cn: self.objects[leg.object].config.cn.clone(),
                        device: leg.device.clone(),
                        external: leg.external.clone(),
                        kind: leg.kind,
                        state: leg.state(),
                        parties: self.record(leg, Msg::None, true, &[]).no,
                        msg: leg.last_msg.clone(),
                    })
                    .collect(),
            })
            .collect()
    }

    pub(super) fn fire_timers(&mut self, now: Duration) {
        while let Some(&(at, leg)) = self.calls_state.timers.first() {
            if at > now {
                break;
            }
            self.calls_state.timers.remove(&(at, leg));
            self.no_answer(leg, now);
        }
    }
}

// The call engine: each step emits its records in the order documented in the README.
impl Model {
    /// A device of `object` (or, with `external`, the caller behind a trunk) starts a call:
    /// `r-setup`, optionally `x-call-proc`, then routing; the peer of `spec` is shown until
    /// routed. Returns the call and the leg (gone already when the call failed at once).
    fn start_call(
        &mut self,
        spec: LegSpec,
        shown_e164: Option<String>,
        target: Target,
        now: Duration,
    ) -> (u64, u64) {
        let call = self.new_call();
        let leg = self.new_leg(call, spec, now);
        if let Some(state) = self.leg_mut(leg) {
            state.shown_e164 = shown_e164;
        }
        self.emit(leg, Msg::RSetup, &[]);
        self.proceed(leg);
        self.route(leg, target, true, now);
        (call, leg)
    }

    fn proceed(&mut self, leg: u64) {
        if let Some(msg) = self.config.vocabulary.call_proc.clone() {
            if let Some(state) = self.leg_mut(leg) {
                state.phase = CallPhase::CallProc;
            }
            self.emit(leg, msg, &[]);
        }
    }

    /// The PBX first calls the user's (third-party) device; the destination is called once
    /// the device answers.
    fn call_back(
        &mut self,
        spec: LegSpec,
        shown_e164: Option<String>,
        target: Target,
        now: Duration,
    ) -> u64 {
        let call = self.new_call();
        let leg = self.new_leg(call, spec, now);
        if let Some(state) = self.leg_mut(leg) {
            state.pending = Some(target);
            state.shown_e164 = shown_e164;
        }
        self.ring(leg, now);
        leg
    }

    /// `x-setup`, then the device rings: `r-alert`.
    fn ring(&mut self, leg: u64, now: Duration) {
        self.emit(leg, Msg::XSetup, &[]);
        if let Some(state) = self.leg_mut(leg) {
            state.phase = CallPhase::Alert;
            state.alerting_since = now;
        }
        self.emit(leg, Msg::RAlert, &[]);
    }

    /// A leg offered to `spec.object` for `caller`'s call, carrying the caller's diversion
    /// parties (and `extra`): it rings, or, for an object the PBX answers itself, connects.
    fn offer_leg(
        &mut self,
        caller: u64,
        spec: LegSpec,
        extra: Option<No>,
        answer: bool,
        now: Duration,
    ) -> Option<u64> {
        let call = self.leg(caller)?.call;
        let leg = self.new_leg(call, spec, now);
        self.inherit_diversions(caller, leg);
        if let (Some(extra), Some(state)) = (extra, self.leg_mut(leg)) {
            state.set_extra(extra);
        }
        if answer {
            self.emit(leg, Msg::XSetup, &[]);
            if let Some(state) = self.leg_mut(leg) {
                state.phase = CallPhase::Connected;
            }
            self.emit(leg, Msg::RConn, &[]);
        } else {
            self.ring(leg, now);
        }
        Some(leg)
    }

    /// Offers the call of `caller` to a target.
    fn route(&mut self, caller: u64, target: Target, obey: bool, now: Duration) {
        match target {
            Target::Unallocated => self.release_remote(caller, cause::UNALLOCATED),
            Target::Incomplete => self.release_remote(caller, cause::INVALID_NUMBER),
            Target::External { trunk, number } => {
                let spec = LegSpec {
                    external: Some(number),
                    ..LegSpec::party(trunk, None, true, Remote::Leg(caller))
                };
                if let Some(leg) = self.offer_leg(caller, spec, None, false, now) {
                    self.caller_alerting(caller, Remote::Leg(leg));
                }
            }
            Target::Object(object) => self.offer(caller, object, obey, now),
        }
    }

    fn offer(&mut self, caller: u64, object: usize, obey: bool, now: Duration) {
        let config = &self.objects[object].config;
        if !self.is_local(config) {
            return self.release_remote(caller, cause::NO_ROUTE);
        }
        if self
            .leg(caller)
            .is_some_and(|l| l.object == object && l.external.is_none())
        {
            return self.release_remote(caller, cause::BUSY);
        }
        let forward = |kind| {
            config
                .forwards
                .target(kind)
                .filter(|_| obey)
                .map(str::to_owned)
        };
        if let Some(target) = forward(ForwardKind::Unconditional) {
            return self.divert(caller, object, &target, now);
        }
        let peer = Remote::Leg(caller);
        match config.kind {
            ObjectKind::Gateway => self.release_remote(caller, cause::INVALID_NUMBER),
            ObjectKind::Waiting => {
                let spec = LegSpec::party(object, None, true, peer);
                if let Some(leg) = self.offer_leg(caller, spec, None, true, now) {
                    self.caller_connected(caller, leg);
                }
            }
            ObjectKind::Broadcast => {
                let members: Vec<usize> = config
                    .members
                    .iter()
                    .filter_map(|member| self.live_object(member))
                    .filter(|&member| {
                        let state = &self.objects[member];
                        state.config.kind == ObjectKind::Endpoint
                            && state.config.is_registered()
                            && !self.is_busy(member)
                            && self.leg(caller).is_none_or(|l| l.object != member)
                    })
                    .collect();
                if members.is_empty() {
                    return self.release_remote(caller, cause::BUSY);
                }
                for member in members {
                    let spec = LegSpec::party(
                        member,
                        self.single_registered_device(member),
                        true,
                        peer.clone(),
                    );
                    let group = self.object_no(
                        object,
                        Some(self.objects[member].config.node),
                        PartyRole::Leg2,
                    );
                    self.offer_leg(caller, spec, Some(group), false, now);
                }
                self.caller_alerting(caller, Remote::Object(object));
            }
            ObjectKind::Endpoint => {
                if self.is_busy(object) {
                    return match forward(ForwardKind::Busy) {
                        Some(target) => self.divert(caller, object, &target, now),
                        None => self.release_remote(caller, cause::BUSY),
                    };
                }
                let no_answer = forward(ForwardKind::NoAnswer);
                if !config.is_registered() {
                    return match no_answer {
                        Some(target) => self.divert(caller, object, &target, now),
                        None => self.release_remote(caller, cause::ABSENT),
                    };
                }
                let spec =
                    LegSpec::party(object, self.single_registered_device(object), true, peer);
                let Some(leg) = self.offer_leg(caller, spec, None, false, now) else {
                    return;
                };
                if let Some(state) = self.leg_mut(leg) {
                    state.obey_forwards = obey;
                }
                if no_answer.is_some() {
                    self.calls_state
                        .timers
                        .insert((now + self.config.no_answer, leg));
                }
                self.caller_alerting(caller, Remote::Leg(leg));
            }
        }
    }

    /// The device to put on a new leg: the only registered one, or `None` to ring them all.
    fn single_registered_device(&self, object: usize) -> Option<String> {
        let mut registered = self.objects[object]
            .config
            .devices
            .iter()
            .filter(|d| d.registered);
        match (registered.next(), registered.next()) {
            (Some(device), None) => Some(device.hw.clone()),
            _ => None,
        }
    }

    /// Busy for new calls: presence `dnd`, or busy-on-busy with a call in progress.
    fn is_busy(&self, object: usize) -> bool {
        let state = &self.objects[object];
        state.config.presence.dnd() || (state.config.busy_on_busy && self.counters(state).0 > 0)
    }

    fn inherit_diversions(&mut self, from: u64, to: u64) {
        let Some(source) = self.leg(from) else { return };
        let extras: Vec<No> = source
            .extras
            .iter()
            .filter(|no| matches!(no.kind, PartyRole::Leg2 | PartyRole::Leg2Orig))
            .cloned()
            .collect();
        let diversions = source.diversions;
        if let Some(target) = self.leg_mut(to) {
            for extra in extras {
                target.set_extra(extra);
            }
            target.diversions = diversions;
        }
    }

    fn caller_alerting(&mut self, caller: u64, peer: Remote) {
        let Some(state) = self.leg_mut(caller) else {
            return;
        };
        state.set_peer(peer);
        if state.early() {
            state.phase = CallPhase::Alert;
        }
        self.emit(caller, Msg::XAlert, &[]);
    }

    fn caller_connected(&mut self, caller: u64, callee: u64) {
        let Some(state) = self.leg_mut(caller) else {
            return;
        };
        state.set_peer(Remote::Leg(callee));
        state.phase = CallPhase::Connected;
        let call = state.call;
        self.emit(caller, Msg::XConn, &[]);
        self.update_observers(call, CallPhase::Connected, &Msg::XConn);
    }

    /// Diverts the call of `caller` away from `diverting` to a number dialled in the diverting
    /// object's node; `leg2`/`leg2orig` record who diverted.
    fn divert(&mut self, caller: u64, diverting: usize, number: &str, now: Duration) {
        let node = self.objects[diverting].config.node;
        let target = self.resolve_number(node, number);
        self.divert_to(caller, diverting, target, true, now);
    }

    fn divert_to(
        &mut self,
        caller: u64,
        diverting: usize,
        target: Target,
        obey: bool,
        now: Duration,
    ) {
        let Some(state) = self.leg(caller) else {
            return;
        };
        if state.diversions >= MAX_DIVERSIONS {
            return self.release_remote(caller, cause::NO_ROUTE);
        }
        let viewer = self.viewer_node(state);
        let leg2 = self.object_no(diverting, viewer, PartyRole::Leg2);
        let orig = No {
            kind: PartyRole::Leg2Orig,
            ..leg2.clone()
        };
        let Some(state) = self.leg_mut(caller) else {
            return;
        };
        state.diversions += 1;
        if state.extra(&PartyRole::Leg2Orig).is_none() {
            state.set_extra(orig);
        }
        state.set_extra(leg2);
        self.route(caller, target, obey, now);
    }

    /// The far end released: `x-rel` and `del`, or, for a phone watched with `disc`, `x-disc`
    /// and the leg stays until the user hangs up.
    fn release_remote(&mut self, leg: u64, cause: i32) {
        let Some(state) = self.leg(leg) else { return };
        let object = state.object;
        let wait = state.kind == LegKind::Party
            && state.external.is_none()
            && self.device_kind(object, state.device.as_deref()) == DeviceKind::Phone
            && self.objects[object]
                .handles
                .iter()
                .any(|h| self.handles.get(h).is_some_and(|h| h.disc));
        let call = state.call;
        let Some(state) = self.leg_mut(leg) else {
            return;
        };
        state.phase = CallPhase::DisconnectReceived;
        state.cause = Some(cause);
        state.held = false;
        state.held_by_peer = false;
        self.calls_state.timers.retain(|&(_, timer)| timer != leg);
        if wait {
            self.emit(leg, Msg::XDisc, &[]);
        } else {
            self.emit(leg, Msg::XRel, &[]);
            self.finish(leg);
        }
        self.remove_call_if_done(call);
    }

    /// The leg's own device released (hang-up, reject): `r-rel`, `del`, then the legs attached
    /// to it are released remotely, or, for a busy reject, the caller follows `cfb`.
    fn release_local(&mut self, leg: u64, cause_value: i32, now: Duration) {
        let Some(state) = self.leg_mut(leg) else {
            return;
        };
        let busy_forward = cause_value == cause::BUSY && state.ringing() && state.obey_forwards;
        state.phase = CallPhase::DisconnectSent;
        state.cause = Some(cause_value);
        let (call, object) = (state.call, state.object);
        let caller = match state.peer {
            Remote::Leg(caller) => Some(caller),
            _ => None,
        };
        let caller = caller.filter(|caller| self.calls_state.legs.contains_key(caller));
        self.emit(leg, Msg::RRel, &[]);
        self.finish(leg);
        for other in self.attached_to_gone(call, leg) {
            if Some(other) != caller {
                self.release_remote(other, cause_value);
            }
        }
        if let Some(caller) = caller {
            self.after_peer_gone(caller, leg, object, cause_value, busy_forward, now);
        }
        self.remove_call_if_done(call);
    }

    /// Legs of a call whose peer was the (now gone) leg.
    fn attached_to_gone(&self, call: u64, gone: u64) -> Vec<u64> {
        let Some(state) = self.calls_state.calls.get(&call) else {
            return Vec::new();
        };
        state
            .legs
            .iter()
            .copied()
            .filter(|&l| self.leg(l).is_some_and(|l| l.peer == Remote::Leg(gone)))
            .collect()
    }

    /// The peer leg of `leg` ended: `leg` is released too, unless the peer was one of several
    /// ringing alternatives, or a busy reject sends the call on to `cfb`.
    fn after_peer_gone(
        &mut self,
        leg: u64,
        gone: u64,
        gone_object: usize,
        cause_value: i32,
        busy_forward: bool,
        now: Duration,
    ) {
        let Some(state) = self.leg(leg) else { return };
        match state.peer {
            Remote::Object(_) if self.alternatives(leg).is_empty() => {
                self.release_remote(leg, cause_value)
            }
            Remote::Leg(peer) if peer == gone => {
                let cfb = self.objects[gone_object]
                    .config
                    .forwards
                    .target(ForwardKind::Busy)
                    .map(str::to_owned);
                match cfb {
                    Some(target) if busy_forward => self.divert(leg, gone_object, &target, now),
                    _ => self.release_remote(leg, cause_value),
                }
            }
            _ => {}
        }
    }

    /// Legs still ringing for a caller (broadcast members, or its one callee).
    fn alternatives(&self, caller: u64) -> Vec<u64> {
        self.attached(caller)
            .into_iter()
            .filter(|&leg| self.leg(leg).is_some_and(Leg::ringing))
            .collect()
    }

    /// The `cfnr` time ran out: the ringing leg is released (cause 19) and the call diverted.
    fn no_answer(&mut self, leg: u64, now: Duration) {
        let Some(state) = self.leg(leg) else { return };
        if !state.ringing() {
            return;
        }
        let object = state.object;
        let Remote::Leg(caller) = state.peer else {
            return;
        };
        let Some(target) = self.objects[object]
            .config
            .forwards
            .target(ForwardKind::NoAnswer)
            .map(str::to_owned)
        else {
            return;
        };
        self.clear_towards(leg, Some(cause::NO_ANSWER));
        self.divert(caller, object, &target, now);
    }

    /// The leg's device answers: `r-conn`; devices of the object that did not answer are
    /// withdrawn from `hw` handles, other ringing alternatives are cleared (cause 26), and the
    /// caller gets `x-conn` (or, for a third-party call-back, the destination is called).
    fn connect(&mut self, leg: u64, device: Option<String>, now: Duration) -> Result<(), Refused> {
        let Some(state) = self.leg(leg) else {
            return Err(Refused);
        };
        if !state.ringing() {
            return Err(Refused);
        }
        let object = state.object;
        let device = device
            .or_else(|| state.device.clone())
            .or_else(|| self.first_registered_device(object));
        self.calls_state.timers.retain(|&(_, timer)| timer != leg);
        let Some(state) = self.leg_mut(leg) else {
            return Err(Refused);
        };
        let ringing_everywhere = state.device.is_none();
        state.device = device.clone();
        state.phase = CallPhase::Connected;
        let pending = state.pending.take();
        if ringing_everywhere && device.is_some() {
            self.withdraw_other_devices(leg, device.as_deref());
        }
        self.emit(leg, Msg::RConn, &[]);
        if let Some(target) = pending {
            self.route(leg, target, true, now);
            return Ok(());
        }
        let Some(Remote::Leg(caller)) = self.leg(leg).map(|l| l.peer.clone()) else {
            return Ok(());
        };
        for other in self.alternatives(caller) {
            if other != leg {
                self.clear_towards(other, Some(cause::NON_SELECTED));
            }
        }
        self.caller_connected(caller, leg);
        Ok(())
    }

    /// Tells `hw` handles of other devices that the call went away from them (`x-rel`, cause
    /// 26, `del`), and stops reporting the leg to them.
    fn withdraw_other_devices(&mut self, leg: u64, device: Option<&str>) {
        let Some(state) = self.leg(leg) else { return };
        let (keep, drop): (Vec<View>, Vec<View>) = state.views.iter().partition(|view| {
            self.handles
                .get(&view.user)
                .is_none_or(|h| h.hw.is_none() || h.hw.as_deref() == device)
        });
        if drop.is_empty() {
            return;
        }
        let mut gone = state.clone();
        gone.phase = CallPhase::DisconnectReceived;
        gone.cause = Some(cause::NON_SELECTED);
        let release = self.record(&gone, Msg::XRel, true, &[]);
        let del = self.record(&gone, Msg::Del, false, &[]);
        self.deliver(&drop, &release);
        self.deliver(&drop, &del);
        self.forget_views(&drop);
        if let Some(state) = self.leg_mut(leg) {
            state.views = keep;
        }
    }

    fn hold_leg(&mut self, leg: u64, on: bool) -> Result<(), Refused> {
        let Some(state) = self.leg(leg) else {
            return Err(Refused);
        };
        if state.kind != LegKind::Party || state.phase != CallPhase::Connected || state.held == on {
            return Err(Refused);
        }
        let peer = self.peer_leg(leg);
        if let Some(state) = self.leg_mut(leg) {
            state.held = on;
        }
        let hold = self.config.vocabulary.hold.clone();
        self.emit(leg, hold, &[]);
        if let Some(peer) = peer {
            if let Some(state) = self.leg_mut(peer) {
                state.held_by_peer = on;
            }
            let held = self.config.vocabulary.held.clone();
            self.emit(peer, held, &[]);
        }
        Ok(())
    }

    /// Connects the peers of two legs of one object; the object leaves both calls. Handles
    /// with `xfer` keep watching the resulting call through a `Transferred` leg.
    fn transfer_legs(&mut self, a: u64, b: u64, now: Duration) -> Result<(), Refused> {
        let (Some(first), Some(second)) = (self.leg(a), self.leg(b)) else {
            return Err(Refused);
        };
        let usable = |leg: &Leg| {
            leg.kind == LegKind::Party
                && matches!(
                    leg.phase,
                    CallPhase::Alert | CallPhase::Connected | CallPhase::CallProc
                )
        };
        if a == b || first.object != second.object || !usable(first) || !usable(second) {
            return Err(Refused);
        }
        let (Some(peer_a), Some(peer_b)) = (self.peer_leg(a), self.peer_leg(b)) else {
            return Err(Refused);
        };
        let object = first.object;
        let (call_a, call_b) = (first.call, second.call);
        // Move every leg of the second call into the first.
        if call_a != call_b {
            let moved: Vec<u64> = self.call_legs(call_b);
            for leg in moved {
                if let Some(state) = self.leg_mut(leg) {
                    state.call = call_a;
                }
                if let Some(call) = self.calls_state.calls.get_mut(&call_a) {
                    call.legs.insert(leg);
                }
            }
            self.calls_state.calls.remove(&call_b);
        }
        let observer = self.split_xfer_views(a, peer_a, peer_b, now);
        for (leg, peer) in [(peer_a, peer_b), (peer_b, peer_a)] {
            let viewer = self.leg(leg).and_then(|l| self.viewer_node(l));
            let ct = self.object_no(object, viewer, PartyRole::Ct);
            if let Some(state) = self.leg_mut(leg) {
                state.set_peer(Remote::Leg(peer));
                state.held_by_peer = false;
                state.set_extra(ct);
            }
        }
        // A connected party whose new peer still rings hears the ringing: it stays connected.
        let transferred = self.config.vocabulary.transferred.clone();
        self.emit(peer_a, transferred.clone(), &[]);
        self.emit(peer_b, transferred.clone(), &[]);
        if let Some(observer) = observer {
            self.emit(observer, transferred, &[]);
        }
        for leg in [a, b] {
            if let Some(state) = self.leg_mut(leg) {
                state.phase = CallPhase::DisconnectSent;
            }
            self.emit(leg, Msg::RRel, &[]);
            self.finish(leg);
        }
        Ok(())
    }

    fn split_xfer_views(&mut self, leg: u64, peer: u64, target: u64, now: Duration) -> Option<u64> {
        let state = self.leg(leg)?;
        let (xfer, keep): (Vec<View>, Vec<View>) = state
            .views
            .iter()
            .partition(|view| self.handles.get(&view.user).is_some_and(|h| h.xfer));
        if xfer.is_empty() {
            return None;
        }
        let (call, object, outbound, phase) =
            (state.call, state.object, state.outbound, state.phase);
        let viewer = self.viewer_node(state);
        let target_no = self
            .leg(target)
            .map(|t| self.endpoint_no(t, viewer, PartyRole::Xfer))?;
        let target_phase = self.leg(target).map_or(phase, |t| {
            if t.phase == CallPhase::Connected {
                CallPhase::Connected
            } else {
                CallPhase::Alert
            }
        });
        let spec = LegSpec {
            kind: LegKind::Transferred,
            phase: target_phase,
            ..LegSpec::party(object, None, outbound, Remote::Leg(peer))
        };
        let observer = self.new_leg(call, spec, now);
        // The xfer views move over from the transferring leg with their call handles.
        for view in &xfer {
            self.calls_state
                .handles
                .insert(view.call, (view.user, observer));
        }
        if let Some(state) = self.leg_mut(observer) {
            state.views = xfer;
            state.set_extra(target_no);
        }
        if let Some(state) = self.leg_mut(leg) {
            state.views = keep;
        }
        Some(observer)
    }

    /// Deflects a ringing or connected leg: the leg is cleared (`x-rel`, `del`) and its caller
    /// diverted to the target (forwards of the target obeyed only for a reroute).
    fn deflect(
        &mut self,
        leg: u64,
        target: Target,
        obey: bool,
        now: Duration,
    ) -> Result<(), Refused> {
        let Some(state) = self.leg(leg) else {
            return Err(Refused);
        };
        if state.kind != LegKind::Party
            || !matches!(
                state.phase,
                CallPhase::Setup | CallPhase::CallProc | CallPhase::Alert | CallPhase::Connected
            )
        {
            return Err(Refused);
        }
        if matches!(target, Target::Unallocated | Target::Incomplete) {
            return Err(Refused);
        }
        let Some(caller) = self.peer_leg(leg) else {
            return Err(Refused);
        };
        let object = state.object;
        let mut cleared = self.alternatives(caller);
        if !cleared.contains(&leg) {
            cleared.push(leg);
        }
        for other in cleared {
            let cause_value = (other != leg).then_some(cause::NON_SELECTED);
            self.clear_towards(other, cause_value);
        }
        self.divert_to(caller, object, target, obey, now);
        Ok(())
    }

    /// Parks the peer of `leg` at object `at`: a `Parked` leg (state 8) appears there, the
    /// peer is held, and `leg` is released with a `parked-to` party.
    fn park_leg(
        &mut self,
        leg: u64,
        at: usize,
        position: i32,
        now: Duration,
    ) -> Result<u64, Refused> {
        let Some(state) = self.leg(leg) else {
            return Err(Refused);
        };
        if state.kind != LegKind::Party || state.phase != CallPhase::Connected {
            return Err(Refused);
        }
        let Some(peer) = self.peer_leg(leg) else {
            return Err(Refused);
        };
        let call = state.call;
        let viewer = self.viewer_node(state);
        let taken: BTreeSet<i32> = self.objects[at]
            .legs
            .iter()
            .filter_map(|l| self.leg(*l))
            .filter(|l| l.kind == LegKind::Parked)
            .filter_map(|l| l.park_position)
            .collect();
        let position = if position < 0 {
            (0..).find(|p| !taken.contains(p)).unwrap_or(0)
        } else {
            position
        };
        if taken.contains(&position) {
            return Err(Refused);
        }
        let spec = LegSpec {
            kind: LegKind::Parked,
            phase: CallPhase::Parked,
            ..LegSpec::party(at, None, false, Remote::Leg(peer))
        };
        let parked = self.new_leg(call, spec, now);
        if let Some(state) = self.leg_mut(parked) {
            state.park_position = Some(position);
        }
        let parked_msg = self.config.vocabulary.parked.clone();
        self.emit(parked, parked_msg, &[]);
        if let Some(state) = self.leg_mut(peer) {
            state.set_peer(Remote::Leg(parked));
            state.held_by_peer = true;
        }
        let held = self.config.vocabulary.held.clone();
        self.emit(peer, held, &[]);
        let parked_to = self.object_no(at, viewer, PartyRole::ParkedTo);
        if let Some(state) = self.leg_mut(leg) {
            state.set_extra(parked_to);
            state.phase = CallPhase::DisconnectSent;
        }
        self.emit(leg, Msg::RRel, &[]);
        self.finish(leg);
        Ok(parked)
    }

    /// `picker` takes a ringing or parked leg: its new leg reports `r-setup` then `x-conn`
    /// with `picking` and `ct` (where it was picked from); the victim leg is cleared.
    fn pick_up(
        &mut self,
        picker: usize,
        device: Option<String>,
        victim: u64,
        now: Duration,
    ) -> Result<u64, Refused> {
        let Some(state) = self.leg(victim) else {
            return Err(Refused);
        };
        let parked = state.kind == LegKind::Parked;
        if !parked && !state.ringing() {
            return Err(Refused);
        }
        let Some(peer) = self.peer_leg(victim) else {
            return Err(Refused);
        };
        let (call, from) = (state.call, state.object);
        let leg = self.new_leg(
            call,
            LegSpec::party(picker, device, false, Remote::Leg(peer)),
            now,
        );
        let viewer = self.objects[picker].config.node;
        let ct = self.object_no(from, Some(viewer), PartyRole::Ct);
        if let Some(state) = self.leg_mut(leg) {
            state.set_extra(No {
                kind: PartyRole::Picking,
                ..No::default()
            });
            state.set_extra(ct);
        }
        self.emit(leg, Msg::RSetup, &[]);
        if let Some(state) = self.leg_mut(leg) {
            state.phase = CallPhase::Connected;
        }
        self.emit(leg, Msg::XConn, &[]);
        let victims = if parked {
            vec![victim]
        } else {
            self.alternatives(peer)
        };
        for other in victims.into_iter().filter(|&other| other != leg) {
            self.clear_towards(other, Some(cause::NON_SELECTED));
        }
        if parked {
            if let Some(state) = self.leg_mut(peer) {
                state.set_peer(Remote::Leg(leg));
                state.held_by_peer = false;
            }
            let transferred = self.config.vocabulary.transferred.clone();
            self.emit(peer, transferred, &[]);
        } else {
            self.caller_connected(peer, leg);
        }
        Ok(leg)
    }

    /// DTMF or INFO: from the user's device (`r-info` on its leg, `x-info` on the peer's) or,
    /// with `towards_user`, to it (`x-info` on its leg).
    fn send_info(&mut self, leg: u64, items: &[Info], towards_user: bool) -> Result<(), Refused> {
        let Some(state) = self.leg(leg) else {
            return Err(Refused);
        };
        if state.kind != LegKind::Party
            || matches!(
                state.phase,
                CallPhase::DisconnectSent | CallPhase::DisconnectReceived
            )
        {
            return Err(Refused);
        }
        let (sent, received) = (
            self.config.vocabulary.info_sent.clone(),
            self.config.vocabulary.info_received.clone(),
        );
        if towards_user {
            self.emit(leg, received, items);
            return Ok(());
        }
        let peer = self.peer_leg(leg);
        self.emit(leg, sent, items);
        if let Some(peer) = peer {
            self.emit(peer, received, items);
        }
        Ok(())
    }
}

// SOAP call control: call handles in, results as the PBX reports them (0/false/void).
impl Model {
    fn handle_leg(&self, call: i32) -> Option<(i32, u64)> {
        self.calls_state.handles.get(&call).copied()
    }

    fn view_of(&self, leg: u64, user: i32) -> Option<i32> {
        self.leg(leg)?
            .views
            .iter()
            .find(|view| view.user == user)
            .map(|view| view.call)
    }

    /// The call handle `user` has (or gets, without records) for a leg.
    fn handle_for(&mut self, leg: u64, user: i32) -> i32 {
        if let Some(call) = self.view_of(leg, user) {
            return call;
        }
        let call = self.calls_state.allocate_handle();
        self.calls_state.handles.insert(call, (user, leg));
        if let Some(handle) = self.handles.get_mut(&user) {
            handle.calls.insert(call);
        }
        call
    }

    /// `UserCall`: innovaphone phones dial themselves; third-party devices are called first.
    /// Returns the caller's call handle, 0 when the handle is unknown, the user homed
    /// elsewhere or without a registered device.
    #[allow(clippy::too_many_arguments)] // mirrors the operation's parameters
    pub fn user_call(
        &mut self,
        user: i32,
        cn: &str,
        e164: &str,
        h323: &str,
        srce164: &str,
        now: Duration,
    ) -> i32 {
        let Some(handle) = self.handles.get(&user) else {
            return 0;
        };
        let object = handle.object;
        let device = match &handle.hw {
            Some(hw) => self.objects[object]
                .config
                .devices
                .iter()
                .find(|d| &d.hw == hw && d.registered)
                .map(|d| d.hw.clone()),
            None => self.first_registered_device(object),
        };
        let config = &self.objects[object].config;
        let Some(device) =
            device.filter(|_| self.is_local(config) && config.kind == ObjectKind::Endpoint)
        else {
            return 0;
        };
        let target = self.resolve_destination(config.node, cn, e164, h323);
        let shown = match &target {
            Target::Object(object) if !cn.is_empty() || !h323.is_empty() => Remote::Object(*object),
            _ => Remote::Number(e164.to_owned()),
        };
        let kind = self.device_kind(object, Some(&device));
        let srce164 = Some(srce164.to_owned()).filter(|s| !s.is_empty());
        let leg = match kind {
            DeviceKind::Phone => {
                let spec = LegSpec::party(object, Some(device), false, shown);
                self.start_call(spec, srce164, target, now).1
            }
            DeviceKind::ThirdParty => {
                let spec = LegSpec::party(object, Some(device), true, shown);
                self.call_back(spec, srce164, target, now)
            }
        };
        let call = self.handle_for(leg, user);
        self.settle();
        call
    }

    /// `UserClear`: the user's side hangs up (or rejects) with a Q.850 cause (0 ⇒ 16).
    pub fn user_clear(&mut self, call: i32, cause_value: i32, now: Duration) {
        let Some((_, leg)) = self.handle_leg(call) else {
            return;
        };
        let cause_value = if cause_value <= 0 {
            cause::NORMAL
        } else {
            cause_value & 0x7f
        };
        self.hang_up(leg, cause_value, now);
        self.settle();
    }

    /// `UserConnect`: an innovaphone phone accepts the offered call; other devices ignore it.
    pub fn user_connect(&mut self, call: i32, now: Duration) {
        let Some((_, leg)) = self.handle_leg(call) else {
            return;
        };
        let Some(state) = self.leg(leg) else { return };
        let kind = self.device_kind(state.object, state.device.as_deref());
        if kind == DeviceKind::Phone {
            let _ = self.connect(leg, None, now);
        }
        self.settle();
    }

    /// `UserHold` / `UserRetrieve`.
    pub fn user_hold(&mut self, call: i32, on: bool) {
        if let Some((_, leg)) = self.handle_leg(call) {
            let _ = self.hold_leg(leg, on);
        }
        self.settle();
    }

    /// `UserTransfer`: both handles must be calls of the same user.
    pub fn user_transfer(&mut self, a: i32, b: i32, now: Duration) {
        if let (Some((_, a)), Some((_, b))) = (self.handle_leg(a), self.handle_leg(b)) {
            let _ = self.transfer_legs(a, b, now);
        }
        self.settle();
    }

    /// `UserRedirect` (forwards of the destination ignored) and `UserReroute` (obeyed).
    #[allow(clippy::too_many_arguments)] // mirrors the operation's parameters
    pub fn user_redirect(
        &mut self,
        call: i32,
        cn: &str,
        e164: &str,
        h323: &str,
        obey_forwards: bool,
        now: Duration,
    ) -> bool {
        let Some((_, leg)) = self.handle_leg(call) else {
            return false;
        };
        let Some(state) = self.leg(leg) else {
            return false;
        };
        let target =
            self.resolve_destination(self.objects[state.object].config.node, cn, e164, h323);
        let done = self.deflect(leg, target, obey_forwards, now).is_ok();
        self.settle();
        done
    }

    /// `UserPickup`: the victim by call handle, by object (`cn`), by group, or any call
    /// ringing in a group of the user; un-parks when the handle is a parked call. Returns the
    /// user's new call handle, 0 when nothing can be picked.
    pub fn user_pickup(
        &mut self,
        user: i32,
        cn: &str,
        call: i32,
        group: &str,
        now: Duration,
    ) -> i32 {
        let Some(handle) = self.handles.get(&user) else {
            return 0;
        };
        let picker = handle.object;
        let device = handle
            .hw
            .clone()
            .or_else(|| self.first_registered_device(picker));
        if device.is_none() {
            return 0;
        }
        let victim = if call != 0 {
            self.handle_leg(call).map(|(_, leg)| leg)
        } else if !cn.is_empty() {
            self.live_object(cn)
                .and_then(|object| self.ringing_leg(|o| o == object))
        } else {
            let groups: BTreeSet<String> = if group.is_empty() {
                self.objects[picker]
                    .config
                    .groups
                    .iter()
                    .map(|g| g.group.clone())
                    .collect()
            } else {
                BTreeSet::from([group.to_owned()])
            };
            self.ringing_leg(|object| {
                object != picker
                    && self.objects[object]
                        .config
                        .groups
                        .iter()
                        .any(|g| groups.contains(&g.group))
            })
        };
        let Some(victim) = victim else { return 0 };
        let Ok(leg) = self.pick_up(picker, device, victim, now) else {
            return 0;
        };
        let call = self.handle_for(leg, user);
        self.settle();
        call
    }

    /// The longest-ringing leg of an object matching the filter.
    fn ringing_leg(&self, matches: impl Fn(usize) -> bool) -> Option<u64> {
        self.calls_state
            .legs
            .iter()
            .filter(|(_, leg)| leg.ringing() && leg.pending.is_none() && matches(leg.object))
            .min_by_key(|(id, leg)| (leg.alerting_since, **id))
            .map(|(&id, _)| id)
    }

    /// `UserPark`: parks the call's peer at object `cn` (or the user's own object) at
    /// `position` (−1: the first free one). Returns the parked call's handle for the user.
    pub fn user_park(&mut self, call: i32, cn: &str, position: i32, now: Duration) -> i32 {
        let Some((user, leg)) = self.handle_leg(call) else {
            return 0;
        };
        let Some(state) = self.leg(leg) else { return 0 };
        let at = if cn.is_empty() {
            Some(state.object)
        } else {
            self.live_object(cn)
        };
        let Some(at) = at else { return 0 };
        let Ok(parked) = self.park_leg(leg, at, position, now) else {
            return 0;
        };
        let handle = self.handle_for(parked, user);
        self.settle();
        handle
    }

    /// `UserRc`: remote-control codes for innovaphone phones. Code 4 toggles the phone's
    /// three-party conference of the user's active call and one held call: with one call
    /// held and one active, the held one is retrieved and the phone mixes both (both legs
    /// connected, neither held); in a conference, the other call is held again. Other codes
    /// (and phones that are not innovaphone's) leave no trace in the records.
    pub fn user_rc(&mut self, call: i32, rc: i32) {
        const THREE_PARTY: i32 = 4;
        if rc != THREE_PARTY {
            return;
        }
        let Some((_, leg)) = self.handle_leg(call) else {
            return;
        };
        let Some(object) = self.leg(leg).map(|state| state.object) else {
            return;
        };
        let connected: Vec<(u64, bool)> = self.objects[object]
            .legs
            .iter()
            .filter_map(|l| self.leg(*l).map(|state| (*l, state)))
            .filter(|(_, state)| {
                state.kind == LegKind::Party && state.phase == CallPhase::Connected
            })
            .map(|(l, state)| (l, state.held))
            .collect();
        if connected.len() != 2 {
            return;
        }
        match connected.iter().filter(|(_, held)| *held).count() {
            // One held, one active: join them.
            1 => {
                if let Some((held, _)) = connected.iter().find(|(_, held)| *held) {
                    let _ = self.hold_leg(*held, false);
                }
            }
            // In conference: hold the other call again.
            0 => {
                if let Some((other, _)) = connected.iter().find(|(l, _)| *l != leg) {
                    let _ = self.hold_leg(*other, true);
                }
            }
            _ => {}
        }
        self.settle();
    }

    /// `UserCtComplete`: the device is told its peer changed (display only, `x-ct`).
    pub fn user_ct_complete(&mut self, call: i32, e164: &str, h323: &str) {
        let Some((_, leg)) = self.handle_leg(call) else {
            return;
        };
        if let Some(state) = self.leg_mut(leg) {
            state.peer_display = Some(No {
                kind: PartyRole::Peer,
                e164: e164.to_owned(),
                h323: h323.to_owned(),
                ..No::default()
            });
        }
        let msg = self.config.vocabulary.ct_complete.clone();
        self.emit(leg, msg, &[]);
    }

    /// `UserDTMF`, `UserUUI` and the `UserInfo` operation: info items (`dtmf`, `uui`, `cdpn`,
    /// `key`, `dsp`) from the user's side or, with `recv`, towards it.
    pub fn user_send_info(&mut self, call: i32, recv: bool, items: &[Info]) {
        if let Some((_, leg)) = self.handle_leg(call) {
            let _ = self.send_info(leg, items, recv);
        }
    }

    /// `Calls`: the object's current legs (the call handles in it are meaningless; the model
    /// reports 0).
    pub fn calls(&self, session: i32, user: &str) -> Result<Vec<CallInfo>, UnknownSession> {
        if !self.sessions.contains_key(&session) {
            return Err(UnknownSession { session });
        }
        let Some(object) = self.live_object(user) else {
            return Ok(Vec::new());
        };
        Ok(self.objects[object]
            .legs
            .iter()
            .filter_map(|leg| self.leg(*leg))
            .filter(|leg| leg.kind != LegKind::Transferred)
            .map(|leg| self.record(leg, leg.last_msg.clone(), true, &[]))
            .collect())
    }

    pub(super) fn hang_up(&mut self, leg: u64, cause_value: i32, now: Duration) {
        let Some(state) = self.leg(leg) else { return };
        match state.kind {
            LegKind::Transferred => {}
            LegKind::Parked => {
                let peer = self.peer_leg(leg);
                if let Some(state) = self.leg_mut(leg) {
                    state.phase = CallPhase::DisconnectSent;
                    state.cause = Some(cause_value);
                }
                let call = self.leg(leg).map(|l| l.call);
                self.emit(leg, Msg::RRel, &[]);
                self.finish(leg);
                if let Some(peer) = peer {
                    self.release_remote(peer, cause_value);
                }
                if let Some(call) = call {
                    self.remove_call_if_done(call);
                }
            }
            LegKind::Party => self.release_local(leg, cause_value, now),
        }
    }
}

// The scenario API: phone-side actions named by call reference and party.
impl Model {
    fn registered_device(
        &self,
        object: usize,
        who: &str,
        device: Option<&str>,
    ) -> Result<String, ScenarioError> {
        let config = &self.objects[object].config;
        if !self.is_local(config) {
            return Err(ScenarioError::Foreign {
                who: who.to_owned(),
                loc: config.loc.clone(),
            });
        }
        match device {
            Some(hw) => {
                let found = config.devices.iter().find(|d| d.hw == hw);
                let found = found.ok_or_else(|| ScenarioError::UnknownDevice {
                    who: who.to_owned(),
                    device: hw.to_owned(),
                })?;
                if found.registered {
                    Ok(found.hw.clone())
                } else {
                    Err(ScenarioError::NotRegistered {
                        who: who.to_owned(),
                    })
                }
            }
            None => {
                self.first_registered_device(object)
                    .ok_or_else(|| ScenarioError::NotRegistered {
                        who: who.to_owned(),
                    })
            }
        }
    }

    /// The leg of `who` (long name, `h323`, number, or a trunk leg's external number) in a
    /// call: its party leg, else its parked leg.
    fn party_leg(&self, call: CallRef, who: &str) -> Result<u64, ScenarioError> {
        let state = self
            .calls_state
            .calls
            .get(&call.0)
            .ok_or(ScenarioError::UnknownCall { call })?;
        let object = self.object_named(who).ok();
        let matches = |leg: &Leg| {
            leg.external.as_deref() == Some(who)
                || (Some(leg.object) == object && leg.external.is_none())
        };
        let legs: Vec<(u64, &Leg)> = state
            .legs
            .iter()
            .filter_map(|id| self.leg(*id).map(|leg| (*id, leg)))
            .collect();
        legs.iter()
            .find(|(_, leg)| leg.kind == LegKind::Party && matches(leg))
            .or_else(|| {
                legs.iter()
                    .find(|(_, leg)| leg.kind == LegKind::Parked && matches(leg))
            })
            .map(|(id, _)| *id)
            .ok_or_else(|| ScenarioError::NotInCall {
                call,
                who: who.to_owned(),
            })
    }

    fn refused(&self, call: CallRef, who: &str, leg: u64, action: &'static str) -> ScenarioError {
        let state = self.leg(leg).map_or(0, |l| l.state().0);
        ScenarioError::InvalidState {
            call,
            who: who.to_owned(),
            action,
            state,
        }
    }

    fn call_ref(&self, leg: u64) -> CallRef {
        CallRef(self.leg(leg).map_or(0, |l| l.call))
    }

    /// `from` (long name, `h323` or number) dials `to` on its first registered device.
    pub fn dial(&mut self, from: &str, to: &str, now: Duration) -> Result<CallRef, ScenarioError> {
        self.dial_at(from, None, to, now)
    }

    /// `from` dials `to` on a given device (`None`: its first registered device).
    pub fn dial_at(
        &mut self,
        from: &str,
        device: Option<&str>,
        to: &str,
        now: Duration,
    ) -> Result<CallRef, ScenarioError> {
        let object = self.object_named(from)?;
        let device = self.registered_device(object, from, device)?;
        let target = self.resolve_number(self.objects[object].config.node, to);
        let spec = LegSpec::party(object, Some(device), false, Remote::Number(to.to_owned()));
        let (call, _) = self.start_call(spec, None, target, now);
        self.settle();
        Ok(CallRef(call))
    }

    /// An external caller (`from_number`, as the carrier sends it) calls `to` (an extension
    /// or number of the trunk's node) through the first trunk.
    pub fn external_call(
        &mut self,
        from_number: &str,
        to: &str,
        now: Duration,
    ) -> Result<CallRef, ScenarioError> {
        let trunk = self.local_trunk().ok_or(ScenarioError::NoTrunk)?;
        let target = self.resolve_number(self.objects[trunk].config.node, to);
        let spec = LegSpec {
            external: Some(from_number.to_owned()),
            ..LegSpec::party(trunk, None, false, Remote::Number(to.to_owned()))
        };
        let (call, _) = self.start_call(spec, None, target, now);
        self.settle();
        Ok(CallRef(call))
    }

    /// `who` answers a call ringing at it (for a trunk leg: the external party answers).
    pub fn answer(&mut self, call: CallRef, who: &str, now: Duration) -> Result<(), ScenarioError> {
        self.answer_at(call, who, None, now)
    }

    /// `who` answers at a given device.
    pub fn answer_at(
        &mut self,
        call: CallRef,
        who: &str,
        device: Option<&str>,
        now: Duration,
    ) -> Result<(), ScenarioError> {
        let leg = self.party_leg(call, who)?;
        let Some(state) = self.leg(leg) else {
            return Err(ScenarioError::UnknownCall { call });
        };
        let device = match state.external {
            Some(_) => None,
            None => Some(self.registered_device(state.object, who, device)?),
        };
        let result = self
            .connect(leg, device, now)
            .map_err(|Refused| self.refused(call, who, leg, "answer"));
        self.settle();
        result
    }

    /// `who` hangs up (normal clearing).
    pub fn hangup(&mut self, call: CallRef, who: &str, now: Duration) -> Result<(), ScenarioError> {
        let leg = self.party_leg(call, who)?;
        self.hang_up(leg, cause::NORMAL, now);
        self.settle();
        Ok(())
    }

    /// `who` rejects a call ringing at it as busy (cause 17); `cfb` applies.
    pub fn busy(&mut self, call: CallRef, who: &str, now: Duration) -> Result<(), ScenarioError> {
        let leg = self.party_leg(call, who)?;
        if !self.leg(leg).is_some_and(Leg::ringing) {
            return Err(self.refused(call, who, leg, "reject"));
        }
        self.release_local(leg, cause::BUSY, now);
        self.settle();
        Ok(())
    }

    /// `who` puts its peer on hold.
    pub fn hold(&mut self, call: CallRef, who: &str) -> Result<(), ScenarioError> {
        let leg = self.party_leg(call, who)?;
        self.hold_leg(leg, true)
            .map_err(|Refused| self.refused(call, who, leg, "hold"))
    }

    /// `who` retrieves its held peer.
    pub fn retrieve(&mut self, call: CallRef, who: &str) -> Result<(), ScenarioError> {
        let leg = self.party_leg(call, who)?;
        self.hold_leg(leg, false)
            .map_err(|Refused| self.refused(call, who, leg, "retrieve"))
    }

    /// `who` connects its peers in two calls and drops out; the result is call `a`.
    pub fn transfer(
        &mut self,
        a: CallRef,
        b: CallRef,
        who: &str,
        now: Duration,
    ) -> Result<(), ScenarioError> {
        let first = self.party_leg(a, who)?;
        let second = self.party_leg(b, who)?;
        let result = self
            .transfer_legs(first, second, now)
            .map_err(|Refused| self.refused(b, who, second, "transfer"));
        self.settle();
        result
    }

    /// `who` deflects a call ringing (or connected) at it to `to` (forwards of `to` ignored).
    pub fn redirect(
        &mut self,
        call: CallRef,
        who: &str,
        to: &str,
        now: Duration,
    ) -> Result<(), ScenarioError> {
        let leg = self.party_leg(call, who)?;
        let node = self
            .leg(leg)
            .map_or(0, |l| self.objects[l.object].config.node);
        let target = self.resolve_number(node, to);
        let result = self
            .deflect(leg, target, false, now)
            .map_err(|Refused| self.refused(call, who, leg, "redirect"));
        self.settle();
        result
    }

    /// `who` parks its peer at object `at` (its own object when `None`), at `position`
    /// (−1: the first free one).
    pub fn park(
        &mut self,
        call: CallRef,
        who: &str,
        at: Option<&str>,
        position: i32,
        now: Duration,
    ) -> Result<(), ScenarioError> {
        let leg = self.party_leg(call, who)?;
        let at_object = match at {
            Some(name) => self.object_named(name)?,
            None => self.leg(leg).map_or(0, |l| l.object),
        };
        let result = self
            .park_leg(leg, at_object, position, now)
            .map(|_| ())
            .map_err(|Refused| {
                if position >= 0
                    && self
                        .leg(leg)
                        .is_some_and(|l| l.phase == CallPhase::Connected)
                {
                    let at = self.objects[at_object].config.cn.clone();
                    ScenarioError::ParkPositionTaken { at, position }
                } else {
                    self.refused(call, who, leg, "park")
                }
            });
        self.settle();
        result
    }

    /// `who` picks up the call: its parked leg, or the leg ringing elsewhere.
    pub fn pickup(&mut self, call: CallRef, who: &str, now: Duration) -> Result<(), ScenarioError> {
        let picker = self.object_named(who)?;
        let device = self.registered_device(picker, who, None)?;
        let state = self
            .calls_state
            .calls
            .get(&call.0)
            .ok_or(ScenarioError::UnknownCall { call })?;
        let legs: Vec<u64> = state.legs.iter().copied().collect();
        let victim = legs
            .iter()
            .copied()
            .find(|l| self.leg(*l).is_some_and(|l| l.kind == LegKind::Parked))
            .or_else(|| {
                legs.iter().copied().find(|l| {
                    self.leg(*l)
                        .is_some_and(|l| l.ringing() && l.object != picker)
                })
            })
            .ok_or_else(|| ScenarioError::InvalidState {
                call,
                who: who.to_owned(),
                action: "pick up",
                state: 0,
            })?;
        let result = self
            .pick_up(picker, Some(device), victim, now)
            .map(|_| ())
            .map_err(|Refused| self.refused(call, who, victim, "pick up"));
        self.settle();
        result
    }

    /// `who` sends DTMF digits to its peer.
    pub fn dtmf(&mut self, call: CallRef, who: &str, digits: &str) -> Result<(), ScenarioError> {
        let leg = self.party_leg(call, who)?;
        self.send_info(leg, &[Info::string("dtmf", digits)], false)
            .map_err(|Refused| self.refused(call, who, leg, "send DTMF"))
    }

    /// Ends a call whatever its state: its parties hang up one after the other (normal
    /// clearing) until no leg is left.
    pub fn end_call(&mut self, call: CallRef, now: Duration) {
        while let Some(leg) = self.calls_state.calls.get(&call.0).and_then(|state| {
            state.legs.iter().copied().find(|leg| {
                self.leg(*leg)
                    .is_some_and(|l| l.kind != LegKind::Transferred)
            })
        }) {
            self.hang_up(leg, cause::NORMAL, now);
        }
        self.remove_call_if_done(call.0);
        self.settle();
    }

    /// The conference id of a call.
    pub fn conf(&self, call: CallRef) -> Option<&str> {
        self.calls_state.calls.get(&call.0).map(|c| c.conf.as_str())
    }

    /// Whether the call still exists.
    pub fn has_call(&self, call: CallRef) -> bool {
        self.calls_state.calls.contains_key(&call.0)
    }

    /// Number of calls in progress.
    pub fn call_count(&self) -> usize {
        self.calls_state.calls.len()
    }

    /// The call a call handle belongs to.
    pub fn call_of_handle(&self, call: i32) -> Option<CallRef> {
        let (_, leg) = self.handle_leg(call)?;
        Some(self.call_ref(leg))
    }
}
