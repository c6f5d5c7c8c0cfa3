//! Calls: `CallInfo` records of the monitored lines' legs turned into CSTA events.
//!
//! Each monitored line has one leg per call (keyed by the session's user and call handles).
//! Legs with the same `conf` GUID form one call with one call id. Events are derived from
//! transitions of the leg's state bitfield and parties, with `msg` telling who released; the
//! PBX's message vocabulary is larger than documented, so unknown messages only update state.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pbx_soap::records::{CallInfo, CallPhase, Msg, No, PartyRole};

use super::{Bridge, SiteId};
use crate::events::{
    CallId, Cause, ConnectionChange, DeviceEvent, DeviceId, EventKind, LocalState, Party,
};
use crate::numbers;

/// How long a MakeCall waits to claim the next outgoing call of its line.
const MAKE_CALL_WINDOW: Duration = Duration::from_secs(10);

/// The PBX handles of one leg: what call-control operations address.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct LegHandle {
    /// The session the leg is reported on.
    pub site: SiteId,
    /// The user handle.
    pub user: i32,
    /// The call handle (0 for a leg known only from a `Calls` snapshot).
    pub call: i32,
}

/// One connection of a call in a snapshot.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct ConnectionSnapshot {
    /// The connection's device (a line, another internal party or an external number).
    pub device: Party,
    /// The monitored line, when the connection is one.
    pub line: Option<DeviceId>,
    /// The connection's state.
    pub local: LocalState,
    /// The PBX handles, for monitored lines.
    pub handle: Option<LegHandle>,
}

/// A call as the bridge knows it.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct CallSnapshot {
    /// The call id.
    pub id: CallId,
    /// The PBX's conf GUID (global correlation id).
    pub conf: Option<String>,
    /// Connections: monitored lines first, then far parties that are not lines.
    pub connections: Vec<ConnectionSnapshot>,
}

#[derive(Clone, Debug)]
struct Leg {
    handle: LegHandle,
    line: DeviceId,
    call_id: CallId,
    conf: Option<Arc<str>>,
    /// The call comes in to the line (PBX-centric "outbound" bit).
    incoming: bool,
    /// Started by a MakeCall of this gateway.
    make_call: bool,
    phase: CallPhase,
    held: bool,
    held_by_peer: bool,
    local: LocalState,
    peer: Party,
    calling: Party,
    called: Party,
    redirection: Option<Party>,
    originated: bool,
    delivered: bool,
    established: bool,
    own_cleared: bool,
    peer_cleared: bool,
    cause: Cause,
    /// Reported before a session restart and not confirmed since.
    stale: bool,
    /// A call to the hidden recording number: no events.
    hidden: bool,
}

#[derive(Clone, Debug)]
struct CallEntry {
    conf: Option<String>,
    legs: BTreeSet<LegHandle>,
}

/// All calls of one PBX system.
#[derive(Debug)]
pub(super) struct Calls {
    legs: HashMap<LegHandle, Leg>,
    calls: HashMap<CallId, CallEntry>,
    confs: HashMap<String, CallId>,
    pending_make_calls: HashMap<DeviceId, Instant>,
    seed: u32,
    next: u64,
}

impl Calls {
    pub(super) fn new(seed: u32) -> Self {
        Self {
            legs: HashMap::new(),
            calls: HashMap::new(),
            confs: HashMap::new(),
            pending_make_calls: HashMap::new(),
            seed,
            next: 0,
        }
    }

    pub(super) fn call_of_conf(&self, conf: &str) -> Option<&CallId> {
        self.confs.get(conf)
    }

    fn new_call_id(&mut self, conf: Option<&str>) -> CallId {
        self.next += 1;
        let id = CallId::new(&format!("{:08x}{:04x}", self.seed, self.next));
        if let Some(conf) = conf {
            self.confs.insert(conf.to_owned(), id.clone());
        }
        self.calls.insert(
            id.clone(),
            CallEntry {
                conf: conf.map(str::to_owned),
                legs: BTreeSet::new(),
            },
        );
        id
    }

    fn call_for_conf(&mut self, conf: Option<&str>) -> CallId {
        match conf.and_then(|conf| self.confs.get(conf)) {
            Some(id) => id.clone(),
            None => self.new_call_id(conf),
        }
    }

    fn attach(&mut self, leg: Leg) {
        let entry = self
            .calls
            .entry(leg.call_id.clone())
            .or_insert_with(|| CallEntry {
                conf: leg.conf.as_deref().map(str::to_owned),
                legs: BTreeSet::new(),
            });
        entry.legs.insert(leg.handle);
        self.legs.insert(leg.handle, leg);
    }

    /// Removes a leg; returns whether its call has no legs left (and is gone).
    fn detach(&mut self, handle: LegHandle) -> Option<(Leg, bool)> {
        let leg = self.legs.remove(&handle)?;
        let mut last = false;
        if let Some(entry) = self.calls.get_mut(&leg.call_id) {
            entry.legs.remove(&handle);
            if entry.legs.is_empty() {
                last = true;
                if let Some(conf) = &entry.conf {
                    self.confs.remove(conf);
                }
                self.calls.remove(&leg.call_id);
            }
        }
        Some((leg, last))
    }

    /// Moves a leg to another call (transfer/conference joined two PBX calls).
    fn move_leg(&mut self, handle: LegHandle, to: &CallId) {
        let Some(leg) = self.legs.get(&handle) else {
            return;
        };
        let from = leg.call_id.clone();
        if &from == to {
            return;
        }
        if let Some(entry) = self.calls.get_mut(&from) {
            entry.legs.remove(&handle);
            if entry.legs.is_empty() {
                if let Some(conf) = &entry.conf {
                    self.confs.insert(conf.clone(), to.clone());
                }
                self.calls.remove(&from);
            }
        }
        if let Some(entry) = self.calls.get_mut(to) {
            entry.legs.insert(handle);
        }
        if let Some(leg) = self.legs.get_mut(&handle) {
            leg.call_id = to.clone();
        }
    }
}

/// What the parties of a record say.
struct Parties {
    peer: Party,
    redirection: Option<Party>,
    first_redirection: Option<Party>,
    transferred_by: Option<Party>,
    transfer_target: Option<Party>,
    parked_to: Option<Party>,
    picking: bool,
}

impl Bridge {
    /// Remembers that a MakeCall is about to start a call at `line`, so that the line's next
    /// outgoing call carries the cause `makeCall`.
    pub fn expect_make_call(&mut self, line: &DeviceId, now: Instant) {
        self.calls.pending_make_calls.insert(line.clone(), now);
    }

    /// The call id of a leg, creating the leg ahead of its first record when a MakeCall got its
    /// call handle before the PBX reported the call.
    pub fn claim_make_call(&mut self, handle: LegHandle) -> Option<CallId> {
        if let Some(leg) = self.calls.legs.get(&handle) {
            return Some(leg.call_id.clone());
        }
        let line = self.handles.get(&(handle.site, handle.user))?.clone();
        let call_id = self.calls.new_call_id(None);
        let leg = Leg::new(handle, line, call_id.clone(), None, false, true);
        self.calls.attach(leg);
        Some(call_id)
    }

    /// Applies one `CallInfo` record of a site's session and returns the resulting events.
    pub fn on_call_info(
        &mut self,
        site: SiteId,
        record: &CallInfo,
        now: Instant,
    ) -> Vec<DeviceEvent> {
        let Some(line) = self.handles.get(&(site, record.user)).cloned() else {
            tracing::debug!(
                ?site,
                user = record.user,
                "call record for an unknown user handle"
            );
            return Vec::new();
        };
        let handle = LegHandle {
            site,
            user: record.user,
            call: record.call,
        };
        let mut events = Vec::new();
        if !record.active || record.msg == Msg::Del {
            self.leg_gone(handle, &mut events);
            return events;
        }
        let parties = self.parties(record);
        let conf = record.conf();
        if !self.calls.legs.contains_key(&handle) {
            self.create_leg(handle, &line, record, &parties, conf, now, &mut events);
        } else if let Some(conf) = conf {
            self.join_conf(handle, conf, &parties, &mut events);
        }
        self.advance(handle, record, parties, &mut events);
        events
    }

    /// Marks every leg of a site stale before the site's calls are re-read after a restart.
    pub fn begin_resync(&mut self, site: SiteId) {
        for leg in self
            .calls
            .legs
            .values_mut()
            .filter(|leg| leg.handle.site == site)
        {
            leg.stale = true;
        }
    }

    /// Applies the `Calls` snapshot of one line after a session restart: legs that still exist
    /// are confirmed (and their changes reported), new ones announced.
    pub fn resync_line(
        &mut self,
        site: SiteId,
        user: i32,
        snapshot: &[CallInfo],
        now: Instant,
    ) -> Vec<DeviceEvent> {
        let Some(line) = self.handles.get(&(site, user)).cloned() else {
            return Vec::new();
        };
        let mut events = Vec::new();
        for record in snapshot.iter().filter(|record| record.active) {
            let Some(conf) = record.conf() else { continue };
            let existing = self
                .calls
                .legs
                .values()
                .find(|leg| leg.line == line && leg.conf.as_deref() == Some(conf))
                .map(|leg| leg.handle);
            // Snapshot handles are meaningless: key the leg by the new user handle and call 0
            // until the first live record carries its real call handle.
            let handle = LegHandle {
                site,
                user,
                call: -(self.calls.legs.len() as i32) - 1,
            };
            let parties = self.parties(record);
            match existing {
                Some(old) => {
                    let mut leg = match self.calls.legs.remove(&old) {
                        Some(leg) => leg,
                        None => continue,
                    };
                    if let Some(entry) = self.calls.calls.get_mut(&leg.call_id) {
                        entry.legs.remove(&old);
                        entry.legs.insert(handle);
                    }
                    leg.handle = handle;
                    leg.stale = false;
                    self.calls.legs.insert(handle, leg);
                }
                None => {
                    self.create_leg(
                        handle,
                        &line,
                        record,
                        &parties,
                        Some(conf),
                        now,
                        &mut events,
                    );
                }
            }
            self.advance(handle, record, parties, &mut events);
        }
        events
    }

    /// Ends the resync of a site: legs not confirmed are gone (the call ended while the session
    /// was down) and are cleared.
    pub fn finish_resync(&mut self, site: SiteId) -> Vec<DeviceEvent> {
        let stale: Vec<LegHandle> = self
            .calls
            .legs
            .values()
            .filter(|leg| leg.handle.site == site && leg.stale)
            .map(|leg| leg.handle)
            .collect();
        let mut events = Vec::new();
        for handle in stale {
            self.leg_gone(handle, &mut events);
        }
        events
    }

    /// A snapshot of a call.
    pub fn call(&self, id: &CallId) -> Option<CallSnapshot> {
        let entry = self.calls.calls.get(id)?;
        let legs: Vec<&Leg> = entry
            .legs
            .iter()
            .filter_map(|handle| self.calls.legs.get(handle))
            .filter(|leg| !leg.hidden && !leg.own_cleared)
            .collect();
        let mut connections: Vec<ConnectionSnapshot> = legs
            .iter()
            .map(|leg| ConnectionSnapshot {
                device: Party::Device(leg.line.clone()),
                line: Some(leg.line.clone()),
                local: leg.local,
                handle: Some(leg.handle),
            })
            .collect();
        for leg in &legs {
            let known = connections
                .iter()
                .any(|connection| connection.device == leg.peer);
            if !known && !leg.peer_cleared {
                connections.push(ConnectionSnapshot {
                    device: leg.peer.clone(),
                    line: None,
                    local: far_state(leg),
                    handle: None,
                });
            }
        }
        Some(CallSnapshot {
            id: id.clone(),
            conf: entry.conf.clone(),
            connections,
        })
    }

    /// The calls at a line, with the line's connection first in each.
    pub fn calls_at(&self, line: &DeviceId) -> Vec<CallSnapshot> {
        let mut ids: Vec<&CallId> = self
            .calls
            .legs
            .values()
            .filter(|leg| &leg.line == line && !leg.hidden && !leg.own_cleared)
            .map(|leg| &leg.call_id)
            .collect();
        ids.sort();
        ids.dedup();
        ids.into_iter()
            .filter_map(|id| self.call(id))
            .map(|mut call| {
                call.connections
                    .sort_by_key(|c| c.line.as_ref() != Some(line));
                call
            })
            .collect()
    }

    /// The leg of a line in a call: what call control addresses.
    pub fn leg(&self, line: &DeviceId, call: &CallId) -> Option<(LegHandle, LocalState)> {
        self.calls
            .legs
            .values()
            .find(|leg| &leg.line == line && &leg.call_id == call && !leg.own_cleared)
            .map(|leg| (leg.handle, leg.local))
    }

    /// Every call id currently known.
    pub fn call_ids(&self) -> Vec<CallId> {
        let mut ids: Vec<CallId> = self.calls.calls.keys().cloned().collect();
        ids.sort();
        ids
    }

    fn parties(&self, record: &CallInfo) -> Parties {
        let find = |role: PartyRole| record.party(&role);
        let peer_no = find(PartyRole::Peer);
        let leg2 = find(PartyRole::Leg2);
        let leg2orig = find(PartyRole::Leg2Orig);
        let (redirection, first_redirection) = match (leg2, leg2orig) {
            (Some(_), Some(first)) if self.settings.use_first_leg2 => {
                (Some(self.party(first)), Some(self.party(first)))
            }
            (Some(last), Some(first)) => (Some(self.party(last)), Some(self.party(first))),
            // One diversion: the first diverting party is the last one.
            (Some(last), None) => (Some(self.party(last)), Some(self.party(last))),
            (None, Some(first)) => (Some(self.party(first)), Some(self.party(first))),
            (None, None) => (None, None),
        };
        Parties {
            peer: peer_no.map(|no| self.party(no)).unwrap_or_default(),
            redirection,
            first_redirection,
            transferred_by: find(PartyRole::Ct).map(|no| self.party(no)),
            transfer_target: find(PartyRole::Xfer).map(|no| self.party(no)),
            parked_to: find(PartyRole::ParkedTo).map(|no| self.party(no)),
            picking: find(PartyRole::Picking).is_some(),
        }
    }

    /// A PBX party as a CSTA party: internal objects by their address, external numbers as
    /// reported (or in international form).
    fn party(&self, no: &No) -> Party {
        if !no.cn.is_empty()
            && let Some(object) = self.objects.get(&no.cn)
        {
            let address = self.address_of(object);
            if !address.is_empty() {
                return Party::Device(self.device_id(&address));
            }
        }
        if no.e164.is_empty() {
            if !no.h323.is_empty() {
                return Party::device(&no.h323);
            }
            return Party::NotKnown;
        }
        if self.settings.full_e164
            && let Some(international) =
                numbers::to_international(&no.e164, &self.settings.numbering)
        {
            return Party::device(&international);
        }
        Party::device(&no.e164)
    }

    #[allow(clippy::too_many_arguments)]
    fn create_leg(
        &mut self,
        handle: LegHandle,
        line: &DeviceId,
        record: &CallInfo,
        parties: &Parties,
        conf: Option<&str>,
        now: Instant,
        events: &mut Vec<DeviceEvent>,
    ) {
        // A leg known from a snapshot (negative call handle) gets its real handle.
        let snapshot_leg = self
            .calls
            .legs
            .values()
            .find(|leg| {
                leg.line == *line
                    && leg.handle.call < 0
                    && leg.handle.site == handle.site
                    && conf.is_some()
                    && leg.conf.as_deref() == conf
            })
            .map(|leg| leg.handle);
        if let Some(old) = snapshot_leg {
            if let Some(mut leg) = self.calls.legs.remove(&old) {
                if let Some(entry) = self.calls.calls.get_mut(&leg.call_id) {
                    entry.legs.remove(&old);
                    entry.legs.insert(handle);
                }
                leg.handle = handle;
                self.calls.legs.insert(handle, leg);
            }
            return;
        }
        let make_call = self
            .calls
            .pending_make_calls
            .get(line)
            .is_some_and(|since| now.saturating_duration_since(*since) < MAKE_CALL_WINDOW);
        if make_call {
            self.calls.pending_make_calls.remove(line);
        }
        let call_id = self.calls.call_for_conf(conf);
        let mut leg = Leg::new(
            handle,
            line.clone(),
            call_id,
            conf,
            record.state.outbound(),
            make_call,
        );
        leg.hidden = self.is_recording(&parties.peer);
        if leg.incoming {
            leg.calling = parties.peer.clone();
            leg.called = parties
                .first_redirection
                .clone()
                .unwrap_or_else(|| Party::Device(line.clone()));
            leg.redirection = parties.redirection.clone();
        } else {
            leg.calling = Party::Device(line.clone());
        }
        leg.peer = parties.peer.clone();
        let _ = events;
        self.calls.attach(leg);
    }

    fn is_recording(&self, party: &Party) -> bool {
        match (&self.settings.recording_number, party.id()) {
            (Some(number), Some(id)) => id.as_str() == number,
            _ => false,
        }
    }

    /// A leg's record carries another conf than its call: two PBX calls were joined (transfer).
    fn join_conf(
        &mut self,
        handle: LegHandle,
        conf: &str,
        parties: &Parties,
        events: &mut Vec<DeviceEvent>,
    ) {
        let Some(leg) = self.calls.legs.get(&handle) else {
            return;
        };
        if leg.conf.as_deref() == Some(conf) {
            return;
        }
        let old_call = leg.call_id.clone();
        let line = leg.line.clone();
        let Some(new_call) = self.calls.confs.get(conf).cloned() else {
            // First sight of this conf: the leg's call simply takes it on.
            if let Some(entry) = self.calls.calls.get_mut(&old_call) {
                if let Some(previous) = entry.conf.replace(conf.to_owned()) {
                    self.calls.confs.remove(&previous);
                }
            }
            self.calls.confs.insert(conf.to_owned(), old_call);
            if let Some(leg) = self.calls.legs.get_mut(&handle) {
                leg.conf = Some(Arc::from(conf));
            }
            return;
        };
        if new_call == old_call {
            return;
        }
        self.calls.move_leg(handle, &new_call);
        if let Some(leg) = self.calls.legs.get_mut(&handle) {
            leg.conf = Some(Arc::from(conf));
            leg.peer = parties.peer.clone();
        }
        let transferring = parties.transferred_by.clone().unwrap_or_default();
        let local = self
            .calls
            .legs
            .get(&handle)
            .map_or(LocalState::Null, |leg| leg.local);
        events.push(DeviceEvent {
            device: line.clone(),
            call: Some(new_call.clone()),
            local,
            conf: Some(Arc::from(conf)),
            kind: EventKind::Transferred {
                primary_old: new_call.clone(),
                secondary_old: Some(old_call.clone()),
                transferring,
                transferred_to: Party::Device(line.clone()),
                connections: vec![ConnectionChange {
                    device: Party::Device(line),
                    old_call,
                    new_call,
                }],
                cause: Cause::Transfer,
            },
        });
    }

    fn advance(
        &mut self,
        handle: LegHandle,
        record: &CallInfo,
        parties: Parties,
        events: &mut Vec<DeviceEvent>,
    ) {
        let cause_info = record.info("cause").map(|info| info.vali);
        let Some(mut leg) = self.calls.legs.remove(&handle) else {
            return;
        };
        let mut out = Vec::new();
        step(&mut leg, record, &parties, cause_info, &mut out);
        let hidden = leg.hidden;
        self.calls.legs.insert(handle, leg);
        if !hidden {
            events.extend(out);
        }
    }

    fn leg_gone(&mut self, handle: LegHandle, events: &mut Vec<DeviceEvent>) {
        let Some((leg, last)) = self.calls.detach(handle) else {
            return;
        };
        if leg.hidden {
            return;
        }
        let event = |kind, local| DeviceEvent {
            device: leg.line.clone(),
            call: Some(leg.call_id.clone()),
            local,
            kind,
            conf: leg.conf.clone(),
        };
        if !leg.own_cleared {
            let releasing = if leg.peer_cleared {
                leg.peer.clone()
            } else {
                Party::Device(leg.line.clone())
            };
            events.push(event(
                EventKind::ConnectionCleared {
                    dropped: Party::Device(leg.line.clone()),
                    releasing,
                    cause: leg.cause,
                },
                LocalState::Null,
            ));
        }
        if last {
            events.push(event(
                EventKind::CallCleared { cause: leg.cause },
                LocalState::Null,
            ));
        }
    }
}

impl Leg {
    fn new(
        handle: LegHandle,
        line: DeviceId,
        call_id: CallId,
        conf: Option<&str>,
        incoming: bool,
        make_call: bool,
    ) -> Self {
        Self {
            handle,
            line,
            call_id,
            conf: conf.map(Arc::from),
            incoming,
            make_call,
            phase: CallPhase::Idle,
            held: false,
            held_by_peer: false,
            local: LocalState::Null,
            peer: Party::NotKnown,
            calling: Party::NotKnown,
            called: Party::NotKnown,
            redirection: None,
            originated: false,
            delivered: false,
            established: false,
            own_cleared: false,
            peer_cleared: false,
            cause: Cause::NormalClearing,
            stale: false,
            hidden: false,
        }
    }

    fn event(&self, kind: EventKind) -> DeviceEvent {
        DeviceEvent {
            device: self.line.clone(),
            call: Some(self.call_id.clone()),
            local: self.local,
            kind,
            conf: self.conf.clone(),
        }
    }

    fn me(&self) -> Party {
        Party::Device(self.line.clone())
    }
}

/// The state of the far party's connection, as far as one leg tells.
fn far_state(leg: &Leg) -> LocalState {
    if leg.held_by_peer {
        return LocalState::Hold;
    }
    match (leg.incoming, leg.phase) {
        (_, CallPhase::Connected) => LocalState::Connected,
        (false, CallPhase::Alert) => LocalState::Alerting,
        (true, _) => LocalState::Connected,
        (false, _) => LocalState::Null,
    }
}

/// Q.850 cause values to CSTA causes.
fn cause_of(q850: i32) -> Cause {
    match q850 {
        1 => Cause::NumberUnallocated,
        3 | 21 | 22 | 27 | 28 | 38 => Cause::DestNotObtainable,
        17 => Cause::Busy,
        18 | 19 | 102 => Cause::CallNotAnswered,
        34 | 42 => Cause::NetworkCongestion,
        41 | 44 | 47 => Cause::ResourcesNotAvailable,
        88 => Cause::IncompatibleDestination,
        _ => Cause::NormalClearing,
    }
}

fn is_failure(cause: Cause) -> bool {
    !matches!(
        cause,
        Cause::NormalClearing | Cause::Normal | Cause::CallCancelled
    )
}

/// One record applied to one leg: the transitions and their events.
fn step(
    leg: &mut Leg,
    record: &CallInfo,
    parties: &Parties,
    cause: Option<i32>,
    out: &mut Vec<DeviceEvent>,
) {
    let state = record.state;
    let phase = state.phase();
    let first = leg.phase == CallPhase::Idle && !leg.delivered && !leg.originated;
    if let Some(q850) = cause {
        leg.cause = cause_of(q850);
    }

    // Parties: the far end may change (forwarding at the far end, transfer, pickup).
    let previous_peer = leg.peer.clone();
    if parties.peer != Party::NotKnown {
        leg.peer = parties.peer.clone();
    }
    let peer_changed = previous_peer != Party::NotKnown && previous_peer != leg.peer;
    let outgoing = !leg.incoming || leg.make_call;
    if outgoing && !leg.originated {
        leg.called = leg.peer.clone();
    }
    if leg.incoming && parties.redirection.is_some() && !leg.delivered {
        leg.redirection = parties.redirection.clone();
        if let Some(first) = &parties.first_redirection {
            leg.called = first.clone();
        }
    }

    if first {
        if leg.incoming && !leg.make_call {
            leg.calling = leg.peer.clone();
        } else {
            leg.local = LocalState::Initiated;
            let cause = if leg.make_call {
                Cause::MakeCall
            } else {
                Cause::NewCall
            };
            out.push(leg.event(EventKind::ServiceInitiated { cause }));
        }
    }

    // Transfer seen by a remaining party: the peer changed and the PBX names who transferred.
    if peer_changed && leg.established {
        if let Some(transferring) = &parties.transferred_by {
            out.push(leg.event(EventKind::Transferred {
                primary_old: leg.call_id.clone(),
                secondary_old: None,
                transferring: transferring.clone(),
                transferred_to: leg.peer.clone(),
                connections: vec![ConnectionChange {
                    device: leg.me(),
                    old_call: leg.call_id.clone(),
                    new_call: leg.call_id.clone(),
                }],
                cause: Cause::Transfer,
            }));
        }
    }

    if outgoing {
        // A 3rd-party device called first for a MakeCall rings (prompt) before it dials.
        if leg.make_call && leg.incoming && phase == CallPhase::Alert && !leg.established {
            leg.local = LocalState::Alerting;
        }
        // Diversion at the far end before answer: the ringing party changed.
        if peer_changed && !leg.established && leg.delivered {
            let cause = if parties.picking || parties.transferred_by.is_some() {
                Cause::CallPickup
            } else {
                Cause::CallForward
            };
            out.push(leg.event(EventKind::Diverted {
                diverting: previous_peer.clone(),
                new_destination: leg.peer.clone(),
                cause,
            }));
            leg.delivered = false;
        }
        let dialled = matches!(
            phase,
            CallPhase::CallProc | CallPhase::Alert | CallPhase::Connected
        ) || (phase == CallPhase::SetupAck && leg.peer != Party::NotKnown)
            || (leg.make_call && leg.peer != Party::NotKnown && leg.peer != leg.me());
        if !leg.originated
            && dialled
            && !(leg.make_call
                && leg.incoming
                && phase != CallPhase::Connected
                && !leg.delivered
                && leg.peer == Party::NotKnown)
        {
            leg.originated = true;
            leg.local = LocalState::Connected;
            let cause = if leg.make_call {
                Cause::MakeCall
            } else {
                Cause::NewCall
            };
            leg.called = leg.peer.clone();
            out.push(leg.event(EventKind::Originated {
                calling: leg.me(),
                called: leg.peer.clone(),
                cause,
            }));
        }
        if phase == CallPhase::Alert && !leg.delivered && leg.originated {
            leg.delivered = true;
            out.push(leg.event(EventKind::Delivered {
                alerting: leg.peer.clone(),
                calling: leg.me(),
                called: leg.called.clone(),
                last_redirection: parties.redirection.clone(),
                cause: if parties.redirection.is_some() {
                    Cause::CallForward
                } else {
                    Cause::NewCall
                },
            }));
        }
        if phase == CallPhase::Connected && !leg.established && leg.originated {
            leg.established = true;
            leg.delivered = true;
            leg.local = LocalState::Connected;
            out.push(leg.event(EventKind::Established {
                answering: leg.peer.clone(),
                calling: leg.me(),
                called: leg.called.clone(),
                last_redirection: parties.redirection.clone(),
                cause: Cause::NewCall,
            }));
        }
    } else {
        if !leg.delivered && phase != CallPhase::Parked {
            leg.delivered = true;
            leg.local = LocalState::Alerting;
            let cause = if parties.picking {
                Cause::CallPickup
            } else if leg.redirection.is_some() {
                Cause::CallForward
            } else {
                Cause::NewCall
            };
            out.push(leg.event(EventKind::Delivered {
                alerting: leg.me(),
                calling: leg.calling.clone(),
                called: leg.called.clone(),
                last_redirection: leg.redirection.clone(),
                cause,
            }));
        }
        if phase == CallPhase::Connected && !leg.established {
            leg.established = true;
            leg.local = LocalState::Connected;
            out.push(leg.event(EventKind::Established {
                answering: leg.me(),
                calling: leg.calling.clone(),
                called: leg.called.clone(),
                last_redirection: leg.redirection.clone(),
                cause: if parties.picking {
                    Cause::CallPickup
                } else {
                    Cause::NewCall
                },
            }));
        }
    }

    // Parking: the leg now stands for a parked call.
    if phase == CallPhase::Parked && leg.phase != CallPhase::Parked {
        leg.local = LocalState::Hold;
        out.push(leg.event(EventKind::Held {
            holding: leg.me(),
            cause: Cause::Park,
        }));
    }

    // Hold by this side and by the peer.
    if state.held() != leg.held {
        leg.held = state.held();
        if leg.held {
            leg.local = LocalState::Hold;
            out.push(leg.event(EventKind::Held {
                holding: leg.me(),
                cause: Cause::Normal,
            }));
        } else {
            leg.local = if leg.established {
                LocalState::Connected
            } else {
                leg.local
            };
            out.push(leg.event(EventKind::Retrieved {
                retrieving: leg.me(),
                cause: Cause::Normal,
            }));
        }
    }
    if state.held_by_peer() != leg.held_by_peer {
        leg.held_by_peer = state.held_by_peer();
        let kind = if leg.held_by_peer {
            EventKind::Held {
                holding: leg.peer.clone(),
                cause: Cause::Normal,
            }
        } else {
            EventKind::Retrieved {
                retrieving: leg.peer.clone(),
                cause: Cause::Normal,
            }
        };
        out.push(leg.event(kind));
    }

    // Release: who released is told by the message direction.
    match &record.msg {
        Msg::RRel | Msg::RDisc if !leg.own_cleared => {
            let cause = if parties.parked_to.is_some() {
                Cause::Park
            } else if parties.transfer_target.is_some() {
                Cause::Transfer
            } else {
                leg.cause
            };
            if let Some(target) = &parties.transfer_target {
                out.push(leg.event(EventKind::Transferred {
                    primary_old: leg.call_id.clone(),
                    secondary_old: None,
                    transferring: leg.me(),
                    transferred_to: target.clone(),
                    connections: Vec::new(),
                    cause: Cause::Transfer,
                }));
            }
            leg.own_cleared = true;
            leg.local = LocalState::Null;
            leg.cause = cause;
            out.push(leg.event(EventKind::ConnectionCleared {
                dropped: leg.me(),
                releasing: leg.me(),
                cause,
            }));
        }
        Msg::XRel | Msg::XDisc if !leg.own_cleared && !leg.peer_cleared => {
            leg.peer_cleared = true;
            if parties.transfer_target.is_some() {
                // This user transferred the call away: the transfer ends its connection.
                leg.own_cleared = true;
                leg.local = LocalState::Null;
                leg.cause = Cause::Transfer;
                out.push(leg.event(EventKind::Transferred {
                    primary_old: leg.call_id.clone(),
                    secondary_old: None,
                    transferring: leg.me(),
                    transferred_to: parties.transfer_target.clone().unwrap_or_default(),
                    connections: Vec::new(),
                    cause: Cause::Transfer,
                }));
            } else if outgoing && !leg.established && is_failure(leg.cause) {
                leg.local = LocalState::Fail;
                out.push(leg.event(EventKind::Failed {
                    failing: leg.peer.clone(),
                    calling: leg.me(),
                    called: leg.called.clone(),
                    cause: leg.cause,
                }));
            } else {
                if !outgoing && !leg.established && !is_failure(leg.cause) {
                    leg.cause = Cause::CallCancelled;
                }
                out.push(leg.event(EventKind::ConnectionCleared {
                    dropped: leg.peer.clone(),
                    releasing: leg.peer.clone(),
                    cause: leg.cause,
                }));
            }
        }
        _ => {}
    }
    leg.phase = phase;
}
