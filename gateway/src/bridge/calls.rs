//! Calls: `CallInfo` records of the monitored lines' legs turned into CSTA events.
//!
//! Each monitored line has one leg per call (keyed by the session's user and call handles).
//! Legs with the same `conf` GUID form one call with one call id. Events are derived from
//! transitions of the leg's state bitfield and parties, with `msg` telling who released; the
//! PBX's message vocabulary is larger than documented, so unknown messages only update state.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::Hash;
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
    /// Records seen on this leg.
    records: u32,
    /// A parked call waiting at this line (state 8).
    parked: bool,
    /// The leg stands for a call this line picked up.
    pickup: bool,
    /// The line whose ringing call this leg picked up.
    picked_from: Option<Party>,
    /// The line transferred this call away; later records are the PBX's courtesy view.
    transferred_away: bool,
    /// Report nothing more for this leg (its end is covered by an earlier event).
    silent: bool,
    /// The last `ct` party a transfer was reported for.
    transfer_reported: Option<Party>,
    /// The last diverting party seen on this (outgoing) leg.
    redirection_seen: Option<Party>,
    /// The leg was released by the PBX without a cause; the next records of the batch tell
    /// what happened (see [`Bridge::finish_batch`]).
    pending_end: Option<PendingEnd>,
    /// The peer took over the call by a single-step transfer and still rings: its answer is
    /// reported.
    awaiting_transfer_answer: Option<Party>,
    /// The call rang here because of a single-step transfer.
    single_step_transfer: bool,
}

/// What a release without a cause may turn out to be once the batch is read.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum PendingEnd {
    /// A ringing line lost the call: a deflection (or the caller gave up).
    Divert,
    /// An answered call left this line: a single-step transfer (or the peer hung up).
    SingleStepTransfer,
}

/// A ringing line's release that waits for the end of the batch to tell a deflection from an
/// abandoned call.
#[derive(Clone, Debug)]
struct PendingRelease {
    line: DeviceId,
    call_id: CallId,
    conf: Option<Arc<str>>,
    peer: Party,
    kind: PendingEnd,
    cause: Cause,
}

#[derive(Clone, Debug)]
struct CallEntry {
    conf: Option<String>,
    legs: BTreeSet<LegHandle>,
}

/// All calls of one PBX system.
///
/// Legs are indexed by call (`calls`), by line (`by_line`) and by `conf` (`by_conf`), so that
/// applying a record looks only at the legs of its call and its lines. Every change to a leg
/// goes through the methods below, which keep the indexes and note what was touched.
#[derive(Debug)]
pub(super) struct Calls {
    legs: HashMap<LegHandle, Leg>,
    calls: HashMap<CallId, CallEntry>,
    confs: HashMap<String, CallId>,
    by_line: HashMap<DeviceId, Vec<LegHandle>>,
    by_conf: HashMap<Arc<str>, Vec<LegHandle>>,
    pending_make_calls: HashMap<DeviceId, Instant>,
    pending_releases: Vec<PendingRelease>,
    touched_calls: HashSet<CallId>,
    touched_lines: HashSet<DeviceId>,
    /// The latest legs that ended, oldest first, so that a MakeCall whose call ended before
    /// its `UserCall` answer was read still names that call.
    ended: VecDeque<(LegHandle, CallId)>,
    seed: u32,
    next: u64,
    /// The last call handle given to a leg known only from a `Calls` snapshot (negative).
    last_snapshot_call: i32,
}

impl Calls {
    pub(super) fn new(seed: u32) -> Self {
        Self {
            legs: HashMap::new(),
            calls: HashMap::new(),
            confs: HashMap::new(),
            by_line: HashMap::new(),
            by_conf: HashMap::new(),
            pending_make_calls: HashMap::new(),
            pending_releases: Vec::new(),
            touched_calls: HashSet::new(),
            touched_lines: HashSet::new(),
            ended: VecDeque::new(),
            seed,
            next: 0,
            last_snapshot_call: 0,
        }
    }

    pub(super) fn call_of_conf(&self, conf: &str) -> Option<&CallId> {
        self.confs.get(conf)
    }

    /// Notes that a line's state or calls changed.
    pub(super) fn touch_line(&mut self, line: &DeviceId) {
        if !self.touched_lines.contains(line) {
            self.touched_lines.insert(line.clone());
        }
    }

    fn touch(&mut self, call: &CallId, line: &DeviceId) {
        if !self.touched_calls.contains(call) {
            self.touched_calls.insert(call.clone());
        }
        self.touch_line(line);
    }

    /// The touched calls and lines, forgotten.
    pub(super) fn take_touched(&mut self) -> (HashSet<CallId>, HashSet<DeviceId>) {
        (
            std::mem::take(&mut self.touched_calls),
            std::mem::take(&mut self.touched_lines),
        )
    }

    /// The lines a call has legs at.
    pub(super) fn lines_in(&self, call: &CallId) -> impl Iterator<Item = DeviceId> + '_ {
        self.call_legs(call).map(|leg| leg.line.clone())
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
        self.touched_calls.insert(id.clone());
        id
    }

    fn call_for_conf(&mut self, conf: Option<&str>) -> CallId {
        match conf.and_then(|conf| self.confs.get(conf)) {
            Some(id) => id.clone(),
            None => self.new_call_id(conf),
        }
    }

    /// A call handle for a leg known only from a snapshot, unique among such legs.
    fn snapshot_call_handle(&mut self) -> i32 {
        self.last_snapshot_call = self.last_snapshot_call.checked_sub(1).unwrap_or(-1);
        self.last_snapshot_call
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
        index_insert(&mut self.by_line, &leg.line, leg.handle);
        if let Some(conf) = &leg.conf {
            index_insert(&mut self.by_conf, conf, leg.handle);
        }
        self.touch(&leg.call_id, &leg.line);
        self.legs.insert(leg.handle, leg);
    }

    /// Removes a leg; returns whether its call has no legs left (and is gone).
    fn detach(&mut self, handle: LegHandle) -> Option<(Leg, bool)> {
        let leg = self.legs.remove(&handle)?;
        if self.ended.len() == ENDED_LEGS_KEPT {
            self.ended.pop_front();
        }
        self.ended.push_back((handle, leg.call_id.clone()));
        index_remove(&mut self.by_line, &leg.line, handle);
        if let Some(conf) = &leg.conf {
            index_remove(&mut self.by_conf, conf, handle);
        }
        self.touch(&leg.call_id, &leg.line);
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

    /// Gives a leg another handle (a snapshot leg got its real one, or a session restarted).
    fn rekey(&mut self, old: LegHandle, new: LegHandle) -> Option<&mut Leg> {
        let mut leg = self.legs.remove(&old)?;
        if let Some(entry) = self.calls.get_mut(&leg.call_id) {
            entry.legs.remove(&old);
            entry.legs.insert(new);
        }
        index_remove(&mut self.by_line, &leg.line, old);
        index_insert(&mut self.by_line, &leg.line, new);
        if let Some(conf) = &leg.conf {
            index_remove(&mut self.by_conf, conf, old);
            index_insert(&mut self.by_conf, conf, new);
        }
        self.touch(&leg.call_id, &leg.line);
        leg.handle = new;
        self.legs.insert(new, leg);
        self.legs.get_mut(&new)
    }

    /// Sets the `conf` GUID a leg reports.
    fn set_conf(&mut self, handle: LegHandle, conf: &str) {
        let Some(leg) = self.legs.get_mut(&handle) else {
            return;
        };
        if let Some(previous) = &leg.conf {
            index_remove(&mut self.by_conf, previous, handle);
        }
        let conf: Arc<str> = Arc::from(conf);
        index_insert(&mut self.by_conf, &conf, handle);
        leg.conf = Some(conf);
        let (call, line) = (leg.call_id.clone(), leg.line.clone());
        self.touch(&call, &line);
    }

    /// A leg to change: its call and line count as touched.
    fn leg_mut(&mut self, handle: LegHandle) -> Option<&mut Leg> {
        let leg = self.legs.get_mut(&handle)?;
        if !self.touched_calls.contains(&leg.call_id) {
            self.touched_calls.insert(leg.call_id.clone());
        }
        if !self.touched_lines.contains(&leg.line) {
            self.touched_lines.insert(leg.line.clone());
        }
        Some(leg)
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
        let line = leg.line.clone();
        self.touch(&from, &line);
        self.touch(to, &line);
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

    /// The legs of a call.
    fn call_legs(&self, call: &CallId) -> impl Iterator<Item = &Leg> + '_ {
        self.resolve(self.calls.get(call).map(|entry| &entry.legs))
    }

    /// The legs at a line.
    fn line_legs(&self, line: &DeviceId) -> impl Iterator<Item = &Leg> + '_ {
        self.resolve(self.by_line.get(line))
    }

    /// The legs that report a `conf` GUID.
    fn conf_legs(&self, conf: &str) -> impl Iterator<Item = &Leg> + '_ {
        self.resolve(self.by_conf.get(conf))
    }

    /// The legs an index entry names.
    fn resolve<'a, I>(&'a self, handles: Option<I>) -> impl Iterator<Item = &'a Leg> + 'a
    where
        I: IntoIterator<Item = &'a LegHandle> + 'a,
    {
        handles
            .into_iter()
            .flatten()
            .filter_map(|handle| self.legs.get(handle))
    }
}

/// Adds a leg to an index entry.
fn index_insert<K: Clone + Eq + Hash>(
    index: &mut HashMap<K, Vec<LegHandle>>,
    key: &K,
    handle: LegHandle,
) {
    match index.get_mut(key) {
        Some(handles) => {
            if !handles.contains(&handle) {
                handles.push(handle);
            }
        }
        None => {
            index.insert(key.clone(), vec![handle]);
        }
    }
}

/// Removes a leg from an index entry; an entry left empty goes, so idle lines cost nothing.
fn index_remove<K: Eq + Hash>(index: &mut HashMap<K, Vec<LegHandle>>, key: &K, handle: LegHandle) {
    let Some(handles) = index.get_mut(key) else {
        return;
    };
    handles.retain(|other| *other != handle);
    if handles.is_empty() {
        index.remove(key);
    }
}

/// What the parties of a record say.
struct Parties {
    peer: Party,
    /// The PBX object type of the peer, for internal peers.
    peer_kind: Option<Arc<str>>,
    redirection: Option<Party>,
    first_redirection: Option<Party>,
    transferred_by: Option<Party>,
    transfer_target: Option<Party>,
    parked_to: Option<Party>,
    picking: bool,
    /// The trunk an external peer is reached through.
    trunk: Option<Party>,
}

/// What other legs of the call tell about this record (computed before the leg is stepped).
#[derive(Default)]
struct Context {
    /// The call's leg merged into another call with this record (the old call id).
    joined_from: Option<CallId>,
    /// Another leg of the call shows that the call left this line for this party.
    diverted_to: Option<Party>,
    /// The call the new peer had before a transfer joined it here (when the peer is a line).
    peer_old_call: Option<CallId>,
    /// This line has another leg in the same call standing for the parked call.
    parked_elsewhere_here: bool,
    /// Another line picked up the call ringing here.
    picked_by: Option<Party>,
    /// The line is a waiting queue.
    queue_line: bool,
}

impl Bridge {
    /// Remembers that a MakeCall is about to start a call at `line`, so that the line's next
    /// outgoing call carries the cause `makeCall`.
    pub fn expect_make_call(&mut self, line: &DeviceId, now: Instant) {
        self.calls.pending_make_calls.insert(line.clone(), now);
    }

    /// Forgets an expected MakeCall at `line` (the PBX refused to place the call).
    pub fn cancel_make_call(&mut self, line: &DeviceId) {
        self.calls.pending_make_calls.remove(line);
    }

    /// The call id of a leg, creating the leg ahead of its first record when a MakeCall got its
    /// call handle before the PBX reported the call.
    pub fn claim_make_call(&mut self, handle: LegHandle) -> Option<CallId> {
        if let Some(leg) = self.calls.legs.get(&handle) {
            return Some(leg.call_id.clone());
        }
        // The PBX may report a call that fails at once (an unknown number) completely before
        // the `UserCall` answer is read: the call has ended under its id.
        if let Some((_, call_id)) = self.calls.ended.iter().rev().find(|(h, _)| *h == handle) {
            return Some(call_id.clone());
        }
        let line = self.handles.get(&(handle.site, handle.user))?.clone();
        self.calls.pending_make_calls.remove(&line);
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
        let mut context = Context::default();
        if self.calls.legs.contains_key(&handle) {
            if let Some(conf) = conf {
                context.joined_from = self.join_conf(handle, conf);
            }
        } else {
            self.create_leg(handle, &line, record, &parties, conf, now);
        }
        self.fill_context(handle, &parties, &mut context);
        self.mark_single_step_transfer(handle, &parties);
        if let Some(target) = &parties.transfer_target {
            self.transferred_away(handle, target, &mut events);
        }
        let was_held = self.calls.legs.get(&handle).is_some_and(|leg| leg.held);
        self.advance(handle, record, &parties, &context, &mut events);
        if was_held && !record.state.held() {
            self.detect_conference(handle, &mut events);
        }
        events
    }

    /// A retrieved call while another call of the same line is connected and not held: the
    /// phone mixes both (its three-party conference).
    fn detect_conference(&self, handle: LegHandle, events: &mut Vec<DeviceEvent>) {
        let Some(joined) = self.calls.legs.get(&handle) else {
            return;
        };
        if !joined.visible() || !joined.established {
            return;
        }
        let Some(active) = self.calls.line_legs(&joined.line).find(|other| {
            other.handle != handle
                && other.call_id != joined.call_id
                && other.visible()
                && other.established
                && !other.held
        }) else {
            return;
        };
        events.push(joined.event(EventKind::Conferenced {
            primary_old: joined.call_id.clone(),
            secondary_old: Some(active.call_id.clone()),
            conferencing: joined.me(),
            added: joined.peer.clone(),
            connections: vec![
                ConnectionChange {
                    device: joined.peer.clone(),
                    old_call: joined.call_id.clone(),
                    new_call: active.call_id.clone(),
                },
                ConnectionChange {
                    device: active.peer.clone(),
                    old_call: active.call_id.clone(),
                    new_call: active.call_id.clone(),
                },
            ],
            cause: Cause::Conference,
        }));
    }

    /// Ends a batch of records: releases that waited for the rest of the batch are reported,
    /// as a diversion when another leg of the call now names the released line as the party
    /// that diverted it, else as an abandoned call.
    pub fn finish_batch(&mut self) -> Vec<DeviceEvent> {
        let pending = std::mem::take(&mut self.calls.pending_releases);
        let mut events = Vec::new();
        for release in pending {
            let me = Party::Device(release.line.clone());
            // The legs of the released call, and those that report its conf.
            let related = || {
                self.calls.call_legs(&release.call_id).chain(
                    release
                        .conf
                        .iter()
                        .flat_map(|conf| self.calls.conf_legs(conf)),
                )
            };
            let call_alive = self.calls.calls.contains_key(&release.call_id);
            let event = |kind| DeviceEvent {
                device: release.line.clone(),
                call: Some(release.call_id.clone()),
                local: LocalState::Null,
                kind,
                conf: release.conf.clone(),
            };
            match release.kind {
                PendingEnd::Divert => {
                    let destination = related().find_map(|leg| {
                        if leg.incoming && leg.redirection.as_ref() == Some(&me) {
                            Some(leg.me())
                        } else if leg.redirection_seen.as_ref() == Some(&me) && leg.peer != me {
                            Some(leg.peer.clone())
                        } else {
                            None
                        }
                    });
                    events.push(event(match destination {
                        Some(to) => EventKind::Diverted {
                            diverting: me.clone(),
                            new_destination: to,
                            cause: Cause::Redirected,
                        },
                        None => EventKind::ConnectionCleared {
                            dropped: me.clone(),
                            releasing: release.peer.clone(),
                            cause: Cause::CallCancelled,
                        },
                    }));
                }
                PendingEnd::SingleStepTransfer => {
                    // The remaining party's leg now names this line as the diverting party.
                    let remaining = related()
                        .find(|leg| leg.redirection_seen.as_ref() == Some(&me) && leg.peer != me);
                    match remaining {
                        Some(remaining) => events.push(event(EventKind::Transferred {
                            primary_old: release.call_id.clone(),
                            secondary_old: None,
                            transferring: me.clone(),
                            transferred_to: remaining.peer.clone(),
                            connections: single_step_connections(
                                &release.call_id,
                                remaining.me(),
                                remaining.peer.clone(),
                            ),
                            cause: Cause::SingleStepTransfer,
                        })),
                        None => {
                            events.push(DeviceEvent {
                                local: LocalState::Connected,
                                ..event(EventKind::ConnectionCleared {
                                    dropped: release.peer.clone(),
                                    releasing: release.peer.clone(),
                                    cause: release.cause,
                                })
                            });
                            events.push(event(EventKind::ConnectionCleared {
                                dropped: me.clone(),
                                releasing: release.peer.clone(),
                                cause: release.cause,
                            }));
                        }
                    }
                }
            }
            if !call_alive {
                let cause = match release.kind {
                    PendingEnd::Divert => Cause::CallCancelled,
                    PendingEnd::SingleStepTransfer => release.cause,
                };
                events.push(event(EventKind::CallCleared { cause }));
            }
        }
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
                .line_legs(&line)
                .find(|leg| leg.conf.as_deref() == Some(conf))
                .map(|leg| leg.handle);
            // Snapshot handles are meaningless: key the leg by the new user handle and a
            // negative call handle until the first live record carries its real one.
            let call = self.calls.snapshot_call_handle();
            let handle = LegHandle { site, user, call };
            let parties = self.parties(record);
            match existing {
                Some(old) => {
                    let Some(leg) = self.calls.rekey(old, handle) else {
                        continue;
                    };
                    leg.stale = false;
                }
                None => self.create_leg(handle, &line, record, &parties, Some(conf), now),
            }
            let mut context = Context::default();
            self.fill_context(handle, &parties, &mut context);
            self.advance(handle, record, &parties, &context, &mut events);
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
            .filter(|leg| leg.visible())
            .collect();
        let mut connections: Vec<ConnectionSnapshot> = Vec::new();
        for leg in &legs {
            if connections
                .iter()
                .any(|c| c.line.as_ref() == Some(&leg.line))
            {
                continue;
            }
            connections.push(ConnectionSnapshot {
                device: Party::Device(leg.line.clone()),
                line: Some(leg.line.clone()),
                local: leg.local,
                handle: Some(leg.handle),
            });
        }
        for leg in &legs {
            let known = connections
                .iter()
                .any(|connection| connection.device == leg.peer);
            if !known && !leg.peer_cleared && leg.peer != Party::NotKnown {
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
        self.call_ids_at(line)
            .iter()
            .filter_map(|id| self.call(id))
            .map(|mut call| {
                call.connections
                    .sort_by_key(|c| c.line.as_ref() != Some(line));
                call
            })
            .collect()
    }

    /// The ids of the calls at a line, ordered.
    pub fn call_ids_at(&self, line: &DeviceId) -> Vec<CallId> {
        let mut ids: Vec<CallId> = self
            .calls
            .line_legs(line)
            .filter(|leg| leg.visible())
            .map(|leg| leg.call_id.clone())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The leg of a line in a call: what call control addresses.
    pub fn leg(&self, line: &DeviceId, call: &CallId) -> Option<(LegHandle, LocalState)> {
        self.calls
            .call_legs(call)
            .find(|leg| &leg.line == line && leg.visible())
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
        let peer_kind = peer_no
            .filter(|no| !no.cn.is_empty())
            .and_then(|no| self.objects.get(&no.cn))
            .map(|object| object.kind.clone());
        let trunk = peer_no
            .filter(|no| no.cn.is_empty() && !no.e164.is_empty())
            .and_then(|no| self.trunk_of(&no.e164));
        Parties {
            peer: peer_no.map(|no| self.party(no)).unwrap_or_default(),
            peer_kind,
            redirection,
            first_redirection,
            transferred_by: find(PartyRole::Ct).map(|no| self.party(no)),
            transfer_target: find(PartyRole::Xfer).map(|no| self.party(no)),
            parked_to: find(PartyRole::ParkedTo).map(|no| self.party(no)),
            picking: find(PartyRole::Picking).is_some(),
            trunk,
        }
    }

    /// The trunk (gateway object) whose number prefixes an external number.
    fn trunk_of(&self, number: &str) -> Option<Party> {
        self.trunks
            .iter()
            .filter_map(|cn| self.objects.get(cn))
            .filter(|object| number.starts_with(&object.e164))
            .max_by_key(|object| object.e164.len())
            .map(|object| Party::Device(self.device_id(&self.address_of(object))))
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

    fn create_leg(
        &mut self,
        handle: LegHandle,
        line: &DeviceId,
        record: &CallInfo,
        parties: &Parties,
        conf: Option<&str>,
        now: Instant,
    ) {
        // A leg known from a snapshot (negative call handle) gets its real handle.
        let snapshot_leg = conf.and_then(|conf| {
            self.calls
                .line_legs(line)
                .find(|leg| {
                    leg.handle.call < 0
                        && leg.handle.site == handle.site
                        && leg.conf.as_deref() == Some(conf)
                })
                .map(|leg| leg.handle)
        });
        if let Some(old) = snapshot_leg {
            self.calls.rekey(old, handle);
            return;
        }
        let make_call = !parties.picking
            && record.state.phase() != CallPhase::Parked
            && self
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
        leg.hidden = self.is_recording(&parties.peer)
            || (self.settings.hide_parked_calls && record.state.phase() == CallPhase::Parked);
        self.calls.attach(leg);
    }

    fn is_recording(&self, party: &Party) -> bool {
        match (&self.settings.recording_number, party.id()) {
            (Some(number), Some(id)) => id.as_str() == number,
            _ => false,
        }
    }

    /// A leg's record carries another conf than its call: a transfer joined it to another
    /// call. Moves the leg and returns the call it left.
    fn join_conf(&mut self, handle: LegHandle, conf: &str) -> Option<CallId> {
        let leg = self.calls.legs.get(&handle)?;
        if leg.conf.as_deref() == Some(conf) {
            return None;
        }
        let old_call = leg.call_id.clone();
        let Some(new_call) = self.calls.confs.get(conf).cloned() else {
            // First sight of this conf: the leg's call simply takes it on.
            if let Some(entry) = self.calls.calls.get_mut(&old_call)
                && let Some(previous) = entry.conf.replace(conf.to_owned())
            {
                self.calls.confs.remove(&previous);
            }
            self.calls.confs.insert(conf.to_owned(), old_call);
            self.calls.set_conf(handle, conf);
            return None;
        };
        if new_call == old_call {
            return None;
        }
        self.calls.move_leg(handle, &new_call);
        self.calls.set_conf(handle, conf);
        Some(old_call)
    }

    /// What the other legs of the call say about this record.
    fn fill_context(&self, handle: LegHandle, parties: &Parties, context: &mut Context) {
        let Some(leg) = self.calls.legs.get(&handle) else {
            return;
        };
        let me = leg.me();
        context.queue_line = self
            .line(&leg.line)
            .is_some_and(|line| line.object_kind == "waiting");
        let others = || {
            self.calls
                .call_legs(&leg.call_id)
                .filter(|other| other.handle != handle)
        };
        // A diversion: another leg of this call (the caller's) now names this line as the
        // last diverting party and rings someone else.
        context.diverted_to = others()
            .find(|other| other.redirection_seen.as_ref() == Some(&me) && other.peer != me)
            .map(|other| other.peer.clone());
        // A transfer: the call the new peer (a line) was in before it joined this call.
        if let Some(peer) = parties.peer.id() {
            context.peer_old_call = self
                .calls
                .line_legs(peer)
                .find(|other| other.call_id != leg.call_id && other.visible())
                .map(|other| other.call_id.clone());
        }
        context.parked_elsewhere_here =
            others().any(|other| other.line == leg.line && other.parked);
        context.picked_by = others()
            .find(|other| other.pickup && other.picked_from.as_ref() == Some(&me))
            .map(Leg::me);
    }

    /// A new leg that rings because the diverting line just handed its answered call on.
    fn mark_single_step_transfer(&mut self, handle: LegHandle, parties: &Parties) {
        let Some(from) = &parties.redirection else {
            return;
        };
        let Some(leg) = self.calls.legs.get(&handle) else {
            return;
        };
        if leg.records > 0 {
            return;
        }
        let transferred = self.calls.pending_releases.iter().any(|release| {
            release.kind == PendingEnd::SingleStepTransfer
                && Party::Device(release.line.clone()) == *from
                && (release.call_id == leg.call_id
                    || (release.conf.is_some() && release.conf == leg.conf))
        });
        if transferred && let Some(leg) = self.calls.leg_mut(handle) {
            leg.single_step_transfer = true;
        }
    }

    /// This line transferred the call (the record names the transfer target): both of the
    /// line's legs in the transfer end with one TransferedEvent.
    fn transferred_away(
        &mut self,
        handle: LegHandle,
        target: &Party,
        events: &mut Vec<DeviceEvent>,
    ) {
        let Some(leg) = self.calls.legs.get(&handle) else {
            return;
        };
        if leg.transferred_away || leg.hidden {
            return;
        }
        let line = leg.line.clone();
        let primary = leg.call_id.clone();
        let consultation = self
            .calls
            .line_legs(&line)
            .find(|other| other.handle != handle && &other.peer == target && other.visible())
            .map(|other| (other.handle, other.call_id.clone()));
        let mut connections = Vec::new();
        if let Some((_, secondary)) = &consultation {
            connections.push(ConnectionChange {
                device: target.clone(),
                old_call: secondary.clone(),
                new_call: primary.clone(),
            });
        }
        let Some(leg) = self.calls.leg_mut(handle) else {
            return;
        };
        leg.transferred_away = true;
        leg.own_cleared = true;
        leg.silent = true;
        leg.local = LocalState::Null;
        events.push(leg.event(EventKind::Transferred {
            primary_old: primary,
            secondary_old: consultation.as_ref().map(|(_, call)| call.clone()),
            transferring: leg.me(),
            transferred_to: target.clone(),
            connections,
            cause: Cause::Transfer,
        }));
        if let Some((consultation, _)) = consultation
            && let Some(other) = self.calls.leg_mut(consultation)
        {
            other.own_cleared = true;
            other.silent = true;
            other.local = LocalState::Null;
        }
    }

    fn advance(
        &mut self,
        handle: LegHandle,
        record: &CallInfo,
        parties: &Parties,
        context: &Context,
        events: &mut Vec<DeviceEvent>,
    ) {
        let cause_info = record.info("cause").map(|info| info.vali);
        if self.calls.leg_mut(handle).is_none() {
            return;
        }
        let Some(mut leg) = self.calls.legs.remove(&handle) else {
            return;
        };
        let mut out = Vec::new();
        step(&mut leg, record, parties, context, cause_info, &mut out);
        let quiet = leg.hidden
            || (leg.silent
                && out
                    .iter()
                    .all(|e| !matches!(e.kind, EventKind::Transferred { .. })));
        self.calls.legs.insert(handle, leg);
        if !quiet {
            events.extend(out);
        }
    }

    fn leg_gone(&mut self, handle: LegHandle, events: &mut Vec<DeviceEvent>) {
        let Some((leg, last)) = self.calls.detach(handle) else {
            return;
        };
        if leg.hidden || leg.silent {
            return;
        }
        if let Some(kind) = leg.pending_end {
            self.calls.pending_releases.push(PendingRelease {
                line: leg.line.clone(),
                call_id: leg.call_id.clone(),
                conf: leg.conf.clone(),
                peer: leg.peer,
                kind,
                cause: leg.cause,
            });
            return;
        }
        // Another leg of this line still stands for the call (it was parked here): the
        // line's connection continues.
        let continues = self
            .calls
            .call_legs(&leg.call_id)
            .any(|other| other.line == leg.line && other.visible());
        let event = |kind, local| DeviceEvent {
            device: leg.line.clone(),
            call: Some(leg.call_id.clone()),
            local,
            kind,
            conf: leg.conf.clone(),
        };
        if !leg.own_cleared && !continues {
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
            records: 0,
            parked: false,
            pickup: false,
            picked_from: None,
            transferred_away: false,
            silent: false,
            transfer_reported: None,
            redirection_seen: None,
            pending_end: None,
            awaiting_transfer_answer: None,
            single_step_transfer: false,
        }
    }

    /// Whether the leg still stands for a connection of its line.
    fn visible(&self) -> bool {
        !self.hidden && !self.own_cleared && !self.silent
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
        3 | 20 | 21 | 22 | 27 | 28 | 38 => Cause::DestNotObtainable,
        17 => Cause::Busy,
        18 | 19 | 102 => Cause::CallNotAnswered,
        34 | 42 => Cause::NetworkCongestion,
        41 | 44 | 47 => Cause::ResourcesNotAvailable,
        88 => Cause::IncompatibleDestination,
        _ => Cause::NormalClearing,
    }
}

/// The connections of a call after a single-step transfer: the remaining party and the party
/// it was transferred to, both in the same call.
fn single_step_connections(
    call: &CallId,
    remaining: Party,
    transferred_to: Party,
) -> Vec<ConnectionChange> {
    [remaining, transferred_to]
        .into_iter()
        .map(|device| ConnectionChange {
            device,
            old_call: call.clone(),
            new_call: call.clone(),
        })
        .collect()
}

/// How many ended legs are remembered for a late MakeCall answer (a few seconds of traffic).
const ENDED_LEGS_KEPT: usize = 1024;

/// Q.850 26, "non-selected user clearing": the call was answered or picked up elsewhere.
const ANSWERED_ELSEWHERE: i32 = 26;
/// Q.850 19, "no answer from user": a no-answer forward took the call away.
const NO_ANSWER: i32 = 19;

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
    context: &Context,
    q850: Option<i32>,
    out: &mut Vec<DeviceEvent>,
) {
    let state = record.state;
    let phase = state.phase();
    let first = leg.records == 0;
    leg.records += 1;
    if let Some(q850) = q850 {
        leg.cause = cause_of(q850);
    }
    if leg.transferred_away || leg.silent {
        leg.phase = phase;
        return;
    }

    // Parties: the far end may change (forwarding at the far end, transfer, pickup).
    let previous_peer = leg.peer.clone();
    if parties.peer != Party::NotKnown {
        leg.peer = parties.peer.clone();
    }
    let peer_changed = previous_peer != Party::NotKnown && previous_peer != leg.peer;
    if parties.redirection.is_some() {
        leg.redirection_seen = parties.redirection.clone();
    }
    let outgoing = !leg.incoming || leg.make_call;
    if outgoing && !leg.originated {
        leg.called = leg.peer.clone();
    }

    if first {
        if phase == CallPhase::Parked {
            // A call parked at this line. When the line parked it itself, its other leg of
            // the call ends next and the connection simply continues as the parked call.
            leg.parked = true;
            leg.local = LocalState::Hold;
            leg.phase = phase;
            out.push(leg.event(EventKind::Held {
                holding: leg.me(),
                cause: Cause::Park,
            }));
            return;
        }
        if parties.picking {
            leg.pickup = true;
            leg.picked_from = parties.transferred_by.clone();
        } else if leg.incoming && !leg.make_call {
            leg.calling = leg.peer.clone();
            leg.called = parties
                .first_redirection
                .clone()
                .unwrap_or_else(|| leg.me());
            leg.redirection = parties.redirection.clone();
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

    // A transfer seen by a remaining party: the PBX names who transferred (`ct`) and this
    // leg's peer changed, or the leg joined the surviving call.
    if let Some(transferring) = &parties.transferred_by
        && !leg.pickup
        && (peer_changed || context.joined_from.is_some())
        && leg.transfer_reported.as_ref() != Some(transferring)
    {
        leg.transfer_reported = Some(transferring.clone());
        let (secondary, transferred_to, connections) = match &context.joined_from {
            // This line was the consulted party: its call joined the held one, whose far
            // end is now its peer.
            Some(old) => (
                Some(old.clone()),
                leg.me(),
                vec![
                    ConnectionChange {
                        device: leg.peer.clone(),
                        old_call: leg.call_id.clone(),
                        new_call: leg.call_id.clone(),
                    },
                    ConnectionChange {
                        device: leg.me(),
                        old_call: old.clone(),
                        new_call: leg.call_id.clone(),
                    },
                ],
            ),
            None => {
                let mut connections = vec![ConnectionChange {
                    device: leg.me(),
                    old_call: leg.call_id.clone(),
                    new_call: leg.call_id.clone(),
                }];
                if let Some(old) = &context.peer_old_call {
                    connections.push(ConnectionChange {
                        device: leg.peer.clone(),
                        old_call: old.clone(),
                        new_call: leg.call_id.clone(),
                    });
                }
                (context.peer_old_call.clone(), leg.peer.clone(), connections)
            }
        };
        out.push(leg.event(EventKind::Transferred {
            primary_old: leg.call_id.clone(),
            secondary_old: secondary,
            transferring: transferring.clone(),
            transferred_to,
            connections,
            cause: Cause::Transfer,
        }));
    }

    // A single-step transfer seen by the remaining party: its answered call now goes to a new
    // peer, and the PBX names the old peer as the diverting party.
    if leg.established
        && peer_changed
        && !leg.pickup
        && parties.transferred_by.is_none()
        && parties.redirection.as_ref() == Some(&previous_peer)
        && leg.transfer_reported.as_ref() != Some(&previous_peer)
    {
        leg.transfer_reported = Some(previous_peer.clone());
        out.push(leg.event(EventKind::Transferred {
            primary_old: leg.call_id.clone(),
            secondary_old: None,
            transferring: previous_peer.clone(),
            transferred_to: leg.peer.clone(),
            connections: single_step_connections(&leg.call_id, leg.me(), leg.peer.clone()),
            cause: Cause::SingleStepTransfer,
        }));
        if record.msg != Msg::XConn && record.msg != Msg::RConn {
            leg.awaiting_transfer_answer = Some(previous_peer.clone());
        }
    } else if record.msg == Msg::XConn
        && let Some(transferring) = leg.awaiting_transfer_answer.take()
    {
        out.push(leg.event(EventKind::Established {
            answering: leg.peer.clone(),
            calling: if outgoing {
                leg.me()
            } else {
                leg.calling.clone()
            },
            called: leg.peer.clone(),
            last_redirection: Some(transferring),
            cause: Cause::SingleStepTransfer,
        }));
    }

    if leg.pickup {
        if phase == CallPhase::Connected && !leg.established {
            leg.established = true;
            leg.delivered = true;
            leg.local = LocalState::Connected;
            out.push(leg.event(EventKind::Established {
                answering: leg.me(),
                calling: leg.peer.clone(),
                called: parties.transferred_by.clone().unwrap_or_else(|| leg.me()),
                last_redirection: parties.transferred_by.clone(),
                cause: Cause::CallPickup,
            }));
        }
    } else if leg.make_call && leg.incoming {
        // A third-party device called first for a MakeCall: it rings (prompt), its user
        // answers (`r-conn`), then the PBX calls the destination (`x-alert`, `x-conn`).
        match &record.msg {
            Msg::RConn if !leg.originated => {
                leg.originated = true;
                leg.local = LocalState::Connected;
                leg.called = leg.peer.clone();
                out.push(leg.event(EventKind::Originated {
                    calling: leg.me(),
                    called: leg.peer.clone(),
                    cause: Cause::MakeCall,
                }));
            }
            Msg::XAlert if leg.originated && !leg.delivered => {
                leg.delivered = true;
                out.push(leg.event(EventKind::Delivered {
                    alerting: leg.peer.clone(),
                    calling: leg.me(),
                    called: leg.called.clone(),
                    last_redirection: parties.redirection.clone(),
                    cause: Cause::NewCall,
                }));
            }
            Msg::XConn if leg.originated && !leg.established => {
                leg.established = true;
                leg.delivered = true;
                out.push(leg.event(EventKind::Established {
                    answering: leg.peer.clone(),
                    calling: leg.me(),
                    called: leg.called.clone(),
                    last_redirection: parties.redirection.clone(),
                    cause: Cause::NewCall,
                }));
            }
            _ => {}
        }
    } else if outgoing {
        // Diversion at the far end before answer: the ringing party changed.
        if peer_changed && !leg.established && leg.delivered && parties.transferred_by.is_none() {
            out.push(leg.event(EventKind::Diverted {
                diverting: previous_peer,
                new_destination: leg.peer.clone(),
                cause: if parties.redirection.is_some() {
                    Cause::CallForward
                } else {
                    Cause::CallPickup
                },
            }));
            leg.delivered = false;
        }
        let dialled = matches!(
            phase,
            CallPhase::CallProc | CallPhase::Alert | CallPhase::Connected
        ) || (phase == CallPhase::SetupAck && leg.peer != Party::NotKnown);
        if !leg.originated && dialled {
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
            if let Some(trunk) = &parties.trunk {
                out.push(leg.event(EventKind::NetworkReached {
                    trunk: trunk.clone(),
                    calling: leg.me(),
                    called: leg.peer.clone(),
                    cause: Cause::NewCall,
                }));
            }
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
            if parties.peer_kind.as_deref() == Some("waiting") {
                out.push(leg.event(EventKind::Queued {
                    queue: leg.peer.clone(),
                    calling: leg.me(),
                    called: leg.called.clone(),
                    cause: Cause::EnteringDistribution,
                }));
            } else {
                out.push(leg.event(EventKind::Established {
                    answering: leg.peer.clone(),
                    calling: leg.me(),
                    called: leg.called.clone(),
                    last_redirection: parties.redirection.clone(),
                    cause: Cause::NewCall,
                }));
            }
        }
    } else if context.queue_line {
        // A call waiting in this queue (answered by the PBX's announcement).
        if !leg.delivered {
            leg.delivered = true;
            leg.established = true;
            leg.local = LocalState::Queued;
            out.push(leg.event(EventKind::Queued {
                queue: leg.me(),
                calling: leg.calling.clone(),
                called: leg.me(),
                cause: Cause::EnteringDistribution,
            }));
        }
    } else {
        if !leg.delivered {
            leg.delivered = true;
            leg.local = LocalState::Alerting;
            let cause = if leg.single_step_transfer {
                Cause::SingleStepTransfer
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
                cause: Cause::NewCall,
            }));
        }
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
            if leg.established {
                leg.local = LocalState::Connected;
            }
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

    release(leg, record, parties, context, q850, outgoing, out);
    leg.phase = phase;
}

/// Who released is told by the message direction: `r-` the device, `x-` the PBX towards it.
fn release(
    leg: &mut Leg,
    record: &CallInfo,
    parties: &Parties,
    context: &Context,
    q850: Option<i32>,
    outgoing: bool,
    out: &mut Vec<DeviceEvent>,
) {
    match &record.msg {
        Msg::RRel | Msg::RDisc if !leg.own_cleared => {
            leg.own_cleared = true;
            leg.local = LocalState::Null;
            if parties.parked_to.is_some() {
                leg.cause = Cause::Park;
                if context.parked_elsewhere_here {
                    // The line parked the call at itself: the parked leg carries on.
                    leg.silent = true;
                    return;
                }
            }
            out.push(leg.event(EventKind::ConnectionCleared {
                dropped: leg.me(),
                releasing: leg.me(),
                cause: leg.cause,
            }));
        }
        Msg::XRel | Msg::XDisc if !leg.own_cleared && !leg.peer_cleared => {
            if leg.parked {
                // The parked call was taken (un-parked or picked up) or ended.
                leg.own_cleared = true;
                leg.local = LocalState::Null;
                let cause = if q850 == Some(ANSWERED_ELSEWHERE) {
                    Cause::CallPickup
                } else {
                    leg.cause
                };
                out.push(leg.event(EventKind::ConnectionCleared {
                    dropped: leg.me(),
                    releasing: leg.me(),
                    cause,
                }));
            } else if outgoing && !leg.established && is_failure(leg.cause) {
                leg.peer_cleared = true;
                leg.local = LocalState::Fail;
                out.push(leg.event(EventKind::Failed {
                    failing: leg.peer.clone(),
                    calling: leg.me(),
                    called: leg.called.clone(),
                    cause: leg.cause,
                }));
            } else if !outgoing && !leg.established {
                // The call left this ringing line.
                leg.own_cleared = true;
                leg.local = LocalState::Null;
                if let Some(to) = &context.diverted_to {
                    let cause = if q850 == Some(NO_ANSWER) {
                        Cause::CallForwardNoAnswer
                    } else {
                        Cause::Redirected
                    };
                    out.push(leg.event(EventKind::Diverted {
                        diverting: leg.me(),
                        new_destination: to.clone(),
                        cause,
                    }));
                } else if q850 == Some(NO_ANSWER) {
                    out.push(leg.event(EventKind::Diverted {
                        diverting: leg.me(),
                        new_destination: Party::NotKnown,
                        cause: Cause::CallForwardNoAnswer,
                    }));
                } else if q850.is_none() {
                    // No cause: the PBX moved the call on (a deflection); the records that
                    // follow in the batch name the new destination.
                    leg.pending_end = Some(PendingEnd::Divert);
                } else if let Some(picker) = context
                    .picked_by
                    .as_ref()
                    .filter(|_| q850 == Some(ANSWERED_ELSEWHERE))
                {
                    leg.cause = Cause::CallPickup;
                    out.push(leg.event(EventKind::Diverted {
                        diverting: leg.me(),
                        new_destination: picker.clone(),
                        cause: Cause::CallPickup,
                    }));
                } else if q850 == Some(ANSWERED_ELSEWHERE) {
                    leg.cause = Cause::Normal;
                    out.push(leg.event(EventKind::ConnectionCleared {
                        dropped: leg.me(),
                        releasing: leg.me(),
                        cause: Cause::Normal,
                    }));
                } else {
                    leg.cause = if is_failure(leg.cause) {
                        leg.cause
                    } else {
                        Cause::CallCancelled
                    };
                    leg.peer_cleared = true;
                    out.push(leg.event(EventKind::ConnectionCleared {
                        dropped: leg.me(),
                        releasing: leg.peer.clone(),
                        cause: leg.cause,
                    }));
                }
            } else if q850.is_none() && leg.established {
                // No cause on an answered call: this line may have handed the call on with a
                // single-step transfer; the far end's records in the batch tell.
                leg.own_cleared = true;
                leg.local = LocalState::Null;
                leg.pending_end = Some(PendingEnd::SingleStepTransfer);
            } else {
                leg.peer_cleared = true;
                out.push(leg.event(EventKind::ConnectionCleared {
                    dropped: leg.peer.clone(),
                    releasing: leg.peer.clone(),
                    cause: leg.cause,
                }));
            }
        }
        _ => {}
    }
}
