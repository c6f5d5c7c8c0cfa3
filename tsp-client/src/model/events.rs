//! CSTA call events → TAPI call states and call info.

use super::{
    CallEvent, CallView, Cause, ConnectionMove, INFO_PARTIES, LocalState, Model, Output, Party,
    SnapshotCall,
};
use crate::tapi::{call_state, disconnect_mode, info_state, origin, reason, state_mode};

/// Which party field of a call an event updates.
#[derive(Clone, Copy, Eq, PartialEq)]
enum Field {
    Caller,
    Called,
    Connected,
    Redirection,
    Redirecting,
}

impl Model {
    /// Whether the event is about a call the line already has (or creates none).
    pub(super) fn knows_call(&self, slot: usize, event: &CallEvent) -> bool {
        match event {
            CallEvent::Transferred {
                primary_old,
                secondary_old,
                ..
            }
            | CallEvent::Conferenced {
                primary_old,
                secondary_old,
                ..
            } => {
                self.find(slot, primary_old).is_some()
                    || secondary_old
                        .as_ref()
                        .map_or(false, |old| self.find(slot, old).is_some())
            }
            CallEvent::ServiceInitiated { call }
            | CallEvent::Originated { call, .. }
            | CallEvent::Delivered { call, .. }
            | CallEvent::Established { call, .. }
            | CallEvent::Held { call, .. }
            | CallEvent::Retrieved { call, .. }
            | CallEvent::ConnectionCleared { call, .. }
            | CallEvent::CallCleared { call }
            | CallEvent::Diverted { call, .. }
            | CallEvent::Failed { call, .. }
            | CallEvent::Queued { call }
            | CallEvent::NetworkReached { call } => self.find(slot, call).is_some(),
        }
    }

    pub(super) fn apply_call_event(
        &mut self,
        slot: usize,
        event: CallEvent,
        out: &mut Vec<Output>,
    ) {
        match event {
            CallEvent::ServiceInitiated { call } => {
                let handle = self.ensure(slot, &call, origin::OUTBOUND);
                self.advance(
                    handle,
                    call_state::DIALTONE,
                    state_mode::DIALTONE_NORMAL,
                    out,
                );
            }
            CallEvent::Originated { call, called } => {
                let handle = self.ensure(slot, &call, origin::OUTBOUND);
                let bits = self.set_party(handle, Field::Called, called);
                self.advance(handle, call_state::DIALING, 0, out);
                self.call_info_changed(handle, bits, out);
            }
            CallEvent::NetworkReached { call } => {
                if let Some(handle) = self.find(slot, &call) {
                    self.advance(handle, call_state::PROCEEDING, 0, out);
                }
            }
            CallEvent::Queued { call } => {
                if let Some(handle) = self.find(slot, &call) {
                    self.advance(handle, call_state::PROCEEDING, 0, out);
                }
            }
            CallEvent::Delivered {
                call,
                alerting,
                calling,
                called,
                last_redirection,
                cause,
            } => {
                let outgoing = self
                    .find(slot, &call)
                    .filter(|handle| self.calls[handle].view.origin == origin::OUTBOUND);
                if let (true, Some(handle)) = (self.is_me(slot, &alerting), outgoing) {
                    // MakeCall with prompting rings the caller's own phone first: the call is
                    // still being set up, not offered.
                    self.advance(handle, call_state::PROCEEDING, 0, out);
                } else if self.is_me(slot, &alerting) {
                    self.offered(slot, &call, calling, called, last_redirection, cause, out);
                } else {
                    let handle = self.ensure(slot, &call, origin::OUTBOUND);
                    let mut bits = self.set_party(handle, Field::Called, called);
                    if let Party::Known(_) = last_redirection {
                        bits |= self.set_party(handle, Field::Redirection, alerting);
                    }
                    self.advance(handle, call_state::RINGBACK, 0, out);
                    self.call_info_changed(handle, bits, out);
                }
            }
            CallEvent::Established {
                call,
                answering,
                calling,
                called,
                cause,
            } => {
                let me = self.is_me(slot, &answering);
                let handle = match self.find(slot, &call) {
                    Some(handle) => handle,
                    None if me => {
                        // Answered here without an offer seen (pickup, call found on open).
                        let handle = self.ensure(slot, &call, self.origin_of(&calling));
                        self.set_party(handle, Field::Caller, calling.clone());
                        self.set_party(handle, Field::Called, called);
                        self.set_reason(handle, reason_of(cause, &Party::NotKnown));
                        handle
                    }
                    None => self.ensure(slot, &call, origin::OUTBOUND),
                };
                let other = if me { calling } else { answering };
                let bits = self.set_party(handle, Field::Connected, other);
                self.advance(
                    handle,
                    call_state::CONNECTED,
                    state_mode::CONNECTED_ACTIVE,
                    out,
                );
                self.call_info_changed(handle, bits, out);
            }
            CallEvent::Held {
                call,
                holding,
                cause,
            } => {
                if let Some(handle) = self.find(slot, &call) {
                    if self.is_me(slot, &holding) {
                        let state = if cause == Cause::Consultation {
                            call_state::ONHOLDPENDTRANSFER
                        } else {
                            call_state::ONHOLD
                        };
                        self.advance(handle, state, 0, out);
                    } else {
                        self.advance(
                            handle,
                            call_state::CONNECTED,
                            state_mode::CONNECTED_ACTIVEHELD,
                            out,
                        );
                    }
                }
            }
            CallEvent::Retrieved { call, .. } => {
                if let Some(handle) = self.find(slot, &call) {
                    self.advance(
                        handle,
                        call_state::CONNECTED,
                        state_mode::CONNECTED_ACTIVE,
                        out,
                    );
                }
            }
            CallEvent::ConnectionCleared {
                call,
                dropped,
                releasing,
                cause,
            } => {
                let handle = match self.find(slot, &call) {
                    Some(handle) => handle,
                    None => return,
                };
                // The dropped connection says who left; a gateway that leaves it out still
                // names the releasing device.
                let left = match dropped {
                    Party::Known(_) => dropped,
                    _ => releasing.clone(),
                };
                let offered = self.calls[&handle].state == call_state::OFFERING
                    || self.calls[&handle].state == call_state::ACCEPTED;
                // Who ended a call that was not ours to end: an abandoned offer is missed
                // (NOANSWER unless the cause says more), anything else uses the cause.
                let mode = match cause {
                    Cause::Normal if offered => disconnect_mode::NOANSWER,
                    other => disconnect_mode_of(other),
                };
                if self.is_me(slot, &left) {
                    // Dropped here by someone else (the far end, the switch): TAPI hears that
                    // the call was disconnected before it goes idle.
                    let by_other =
                        matches!(&releasing, Party::Known(_)) && !self.is_me(slot, &releasing);
                    if by_other && self.calls[&handle].state != call_state::DISCONNECTED {
                        self.advance(handle, call_state::DISCONNECTED, mode, out);
                    }
                    self.end(handle, out);
                } else if !self.calls[&handle].participants.is_empty() {
                    // A party left the conference: its participant call ends.
                    let participant = self.calls[&handle].participants.iter().copied().find(|p| {
                        self.calls.get(p).and_then(|c| c.view.connected.clone())
                            == Some(left.clone())
                    });
                    if let Some(participant) = participant {
                        self.end(participant, out);
                    }
                } else {
                    self.advance(handle, call_state::DISCONNECTED, mode, out);
                }
            }
            CallEvent::CallCleared { call } => {
                while let Some(handle) = self.find(slot, &call) {
                    self.end(handle, out);
                }
            }
            CallEvent::Diverted {
                call,
                diverting,
                new_destination,
                cause,
            } => {
                if let Some(handle) = self.find(slot, &call) {
                    if self.is_me(slot, &diverting) {
                        let mode = match cause {
                            Cause::Pickup => disconnect_mode::PICKUP,
                            _ => disconnect_mode::FORWARDED,
                        };
                        self.advance(handle, call_state::DISCONNECTED, mode, out);
                        self.end(handle, out);
                    } else {
                        let bits = self.set_party(handle, Field::Redirection, new_destination);
                        self.call_info_changed(handle, bits, out);
                    }
                }
            }
            CallEvent::Transferred {
                primary_old,
                secondary_old,
                transferring,
                transferred_to,
                connections,
            } => {
                let olds: Vec<String> = std::iter::once(primary_old).chain(secondary_old).collect();
                if self.is_me(slot, &transferring) {
                    for old in &olds {
                        while let Some(handle) = self.find(slot, old) {
                            self.end(handle, out);
                        }
                    }
                    return;
                }
                // The new far end: another device of the resulting call, else the device the
                // call went to, unless that is this line (the consulted party, whose far end
                // the event may not name): then it is unknown, and the transferring device
                // is certainly not it any more.
                let far_end = far_end(&connections, self.me(slot), &transferring).or_else(|| {
                    Some(transferred_to.clone()).filter(|party| !self.is_me(slot, party))
                });
                for old in &olds {
                    if let Some(handle) = self.find(slot, old) {
                        self.follow(slot, handle, old, &connections);
                        let connected = match &far_end {
                            Some(party) => self.set_party(handle, Field::Connected, party.clone()),
                            None => self.forget_party(handle, Field::Connected),
                        };
                        let bits = connected
                            | self.set_party(handle, Field::Redirecting, transferring.clone());
                        self.call_info_changed(handle, bits, out);
                    }
                }
            }
            CallEvent::Conferenced {
                primary_old,
                secondary_old,
                conferencing,
                connections,
                ..
            } => self.conferenced(
                slot,
                primary_old,
                secondary_old,
                &conferencing,
                &connections,
                out,
            ),
            CallEvent::Failed { call, cause } => {
                if let Some(handle) = self.find(slot, &call) {
                    if cause == Cause::Busy {
                        self.advance(handle, call_state::BUSY, state_mode::BUSY_STATION, out);
                    } else {
                        self.advance(
                            handle,
                            call_state::DISCONNECTED,
                            disconnect_mode_of(cause),
                            out,
                        );
                    }
                }
            }
        }
    }

    /// A device snapshot: calls the line does not know yet are introduced in their current
    /// state, known calls whose state contradicts the snapshot take its state (events were
    /// lost), and known calls the gateway no longer has end.
    pub(super) fn apply_snapshot(
        &mut self,
        slot: usize,
        calls: Vec<SnapshotCall>,
        out: &mut Vec<Output>,
    ) {
        let known: Vec<(usize, String)> = self
            .calls
            .iter()
            .filter(|(_, call)| {
                call.slot == slot && call.introduced && call.state != call_state::IDLE
            })
            .filter_map(|(handle, call)| call.csta.clone().map(|csta| (*handle, csta)))
            .collect();
        for (handle, csta) in known {
            if !calls.iter().any(|call| call.call == csta) {
                self.end(handle, out);
            }
        }
        for call in calls {
            let known = self.find(slot, &call.call);
            let (state, mode, field, call_origin) = match call.state {
                LocalState::Initiated => (
                    call_state::DIALTONE,
                    state_mode::DIALTONE_NORMAL,
                    Field::Called,
                    origin::OUTBOUND,
                ),
                LocalState::Alerting => (
                    call_state::OFFERING,
                    state_mode::OFFERING_ACTIVE,
                    Field::Caller,
                    self.origin_of(&call.other),
                ),
                LocalState::Connected => (
                    call_state::CONNECTED,
                    state_mode::CONNECTED_ACTIVE,
                    Field::Connected,
                    origin::UNKNOWN,
                ),
                LocalState::Hold => (call_state::ONHOLD, 0, Field::Connected, origin::UNKNOWN),
                LocalState::Queued => (call_state::PROCEEDING, 0, Field::Called, origin::OUTBOUND),
                LocalState::Fail => (
                    call_state::BUSY,
                    state_mode::BUSY_UNKNOWN,
                    Field::Called,
                    origin::OUTBOUND,
                ),
            };
            match known {
                Some(handle) => {
                    if !agrees(call.state, self.calls[&handle].state) {
                        self.advance(handle, state, mode, out);
                    }
                }
                None => {
                    let handle = self.ensure(slot, &call.call, call_origin);
                    self.set_party(handle, field, call.other);
                    self.advance(handle, state, mode, out);
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn offered(
        &mut self,
        slot: usize,
        call: &str,
        calling: Party,
        called: Party,
        last_redirection: Party,
        cause: Cause,
        out: &mut Vec<Output>,
    ) {
        let existing = self.find(slot, call);
        let handle = existing.unwrap_or_else(|| self.ensure(slot, call, self.origin_of(&calling)));
        // A call first seen in a snapshot learns from the event why it came.
        let mut bits = 0;
        if self.calls[&handle].view.reason == reason::UNKNOWN {
            self.set_reason(handle, reason_of(cause, &last_redirection));
            bits |= info_state::REASON;
        }
        bits |= self.set_party(handle, Field::Caller, calling)
            | self.set_party(handle, Field::Called, called)
            | self.set_party(handle, Field::Redirecting, last_redirection);
        self.advance(
            handle,
            call_state::OFFERING,
            state_mode::OFFERING_ACTIVE,
            out,
        );
        if existing.is_some() {
            self.call_info_changed(handle, bits, out);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn conferenced(
        &mut self,
        slot: usize,
        primary_old: String,
        secondary_old: Option<String>,
        conferencing: &Party,
        connections: &[ConnectionMove],
        out: &mut Vec<Output>,
    ) {
        let me = self.me(slot).to_owned();
        let new_call = connections
            .iter()
            .find(|item| item.device.as_deref() == Some(me.as_str()))
            .and_then(|item| item.new_call.clone())
            .or_else(|| connections.iter().find_map(|item| item.new_call.clone()));
        let olds: Vec<String> = std::iter::once(primary_old).chain(secondary_old).collect();
        let members: Vec<usize> = olds.iter().filter_map(|old| self.find(slot, old)).collect();
        if !self.is_me(slot, conferencing) {
            // We are a party: the call goes on under the conference's call id.
            for handle in members {
                if let (Some(new_call), Some(found)) = (&new_call, self.calls.get_mut(&handle)) {
                    found.csta = Some(new_call.clone());
                }
                let bits = self.set_party(handle, Field::Connected, conferencing.clone());
                self.call_info_changed(handle, bits, out);
            }
            return;
        }
        // Our own conference: reuse the parent lineCompleteTransfer created, else make one.
        let parent = self
            .calls
            .iter()
            .find(|(_, call)| {
                call.slot == slot
                    && !call.participants.is_empty()
                    && call.participants.iter().all(|p| members.contains(p))
            })
            .map(|(handle, _)| *handle);
        let parent = match parent {
            Some(parent) => parent,
            None => {
                let parent = self.new_call(slot, 0);
                if let Some(created) = self.calls.get_mut(&parent) {
                    created.view.origin = origin::CONFERENCE;
                    created.participants = members.clone();
                }
                parent
            }
        };
        if let Some(found) = self.calls.get_mut(&parent) {
            found.csta = new_call;
        }
        let parent_id = self.calls[&parent].view.call_id;
        for handle in &members {
            if let Some(found) = self.calls.get_mut(handle) {
                found.parent = Some(parent);
                found.csta = None;
                found.view.related_call_id = parent_id;
            }
        }
        self.advance(
            parent,
            call_state::CONNECTED,
            state_mode::CONNECTED_ACTIVE,
            out,
        );
        for handle in members {
            self.advance(handle, call_state::CONFERENCED, 0, out);
            self.call_info_changed(handle, info_state::RELATEDCALLID, out);
        }
    }

    /// Moves a call to the new call id a transfer gave it (CSTA ids change, TAPI's stay).
    fn follow(&mut self, slot: usize, handle: usize, old: &str, connections: &[ConnectionMove]) {
        let me = self.me(slot).to_owned();
        let new_call = connections
            .iter()
            .find(|item| {
                item.device.as_deref() == Some(me.as_str())
                    && item.old_call.as_deref().map_or(true, |call| call == old)
            })
            .or_else(|| {
                connections
                    .iter()
                    .find(|item| item.old_call.as_deref() == Some(old))
            })
            .and_then(|item| item.new_call.clone());
        if let (Some(new_call), Some(found)) = (new_call, self.calls.get_mut(&handle)) {
            found.csta = Some(new_call);
        }
    }

    /// Sets a state unless the call is already idle.
    fn advance(&mut self, handle: usize, state: u32, mode: u32, out: &mut Vec<Output>) {
        self.set_state(handle, state, mode, out);
    }

    /// The call ends at this line: IDLE, and a conference takes its participants along.
    fn end(&mut self, handle: usize, out: &mut Vec<Output>) {
        let participants = self
            .calls
            .get(&handle)
            .map(|call| call.participants.clone())
            .unwrap_or_default();
        self.set_state(handle, call_state::IDLE, 0, out);
        if let Some(found) = self.calls.get_mut(&handle) {
            found.csta = None;
        }
        for participant in participants {
            self.set_state(participant, call_state::IDLE, 0, out);
            if let Some(found) = self.calls.get_mut(&participant) {
                found.csta = None;
            }
        }
    }

    fn me(&self, slot: usize) -> &str {
        &self.lines[slot].device.id
    }

    fn is_me(&self, slot: usize, party: &Party) -> bool {
        matches!(party, Party::Known(id) if *id == self.lines[slot].device.id)
    }

    fn origin_of(&self, calling: &Party) -> u32 {
        match calling {
            Party::Known(id) if self.gateway_devices.contains_key(id) => origin::INTERNAL,
            Party::Known(_) => origin::EXTERNAL,
            _ => origin::INBOUND,
        }
    }

    /// The live (not idle) call of a line with this CSTA call id.
    fn find(&self, slot: usize, csta: &str) -> Option<usize> {
        self.calls
            .iter()
            .find(|(_, call)| {
                call.slot == slot
                    && call.csta.as_deref() == Some(csta)
                    && call.state != call_state::IDLE
            })
            .map(|(handle, _)| *handle)
    }

    fn ensure(&mut self, slot: usize, csta: &str, call_origin: u32) -> usize {
        if let Some(handle) = self.find(slot, csta) {
            return handle;
        }
        let handle = self.new_call(slot, 0);
        if let Some(found) = self.calls.get_mut(&handle) {
            found.csta = Some(csta.to_owned());
            found.view.origin = call_origin;
            if call_origin == origin::OUTBOUND {
                found.view.reason = reason::DIRECT;
            }
        }
        handle
    }

    fn set_reason(&mut self, handle: usize, value: u32) {
        if let Some(found) = self.calls.get_mut(&handle) {
            found.view.reason = value;
        }
    }

    /// Empties a party field; returns the LINECALLINFOSTATE bit if it held a party.
    fn forget_party(&mut self, handle: usize, field: Field) -> u32 {
        let found = match self.calls.get_mut(&handle) {
            Some(found) => found,
            None => return 0,
        };
        let (slot, bit) = field.of(&mut found.view);
        match slot.take() {
            Some(_) => bit,
            None => 0,
        }
    }

    /// Updates a party field; returns the LINECALLINFOSTATE bit if it changed.
    fn set_party(&mut self, handle: usize, field: Field, party: Party) -> u32 {
        let found = match self.calls.get_mut(&handle) {
            Some(found) => found,
            None => return 0,
        };
        if party == Party::NotKnown && field != Field::Caller {
            return 0;
        }
        let (slot, bit) = field.of(&mut found.view);
        if slot.as_ref() == Some(&party) {
            return 0;
        }
        *slot = Some(party);
        bit
    }
}

impl Field {
    /// The field in a call's view and its LINECALLINFOSTATE bit.
    fn of(self, view: &mut CallView) -> (&mut Option<Party>, u32) {
        let (slot, bit) = match self {
            Self::Caller => (&mut view.caller, info_state::CALLERID),
            Self::Called => (&mut view.called, info_state::CALLEDID),
            Self::Connected => (&mut view.connected, info_state::CONNECTEDID),
            Self::Redirection => (&mut view.redirection, info_state::REDIRECTIONID),
            Self::Redirecting => (&mut view.redirecting, info_state::REDIRECTINGID),
        };
        (slot, bit & INFO_PARTIES)
    }
}

/// Whether a TAPI call state can stand for the device's CSTA connection state: the caller of
/// a ringing call, for one, is `connected` in CSTA and RINGBACK in TAPI.
fn agrees(local: LocalState, state: u32) -> bool {
    let states: &[u32] = match local {
        LocalState::Initiated => &[call_state::DIALTONE, call_state::DIALING],
        LocalState::Alerting => &[call_state::OFFERING, call_state::ACCEPTED],
        LocalState::Connected => &[
            call_state::CONNECTED,
            call_state::DIALING,
            call_state::RINGBACK,
            call_state::PROCEEDING,
            call_state::BUSY,
            call_state::DISCONNECTED,
            call_state::CONFERENCED,
        ],
        LocalState::Hold => &[
            call_state::ONHOLD,
            call_state::ONHOLDPENDTRANSFER,
            call_state::ONHOLDPENDCONF,
        ],
        LocalState::Queued => &[call_state::PROCEEDING, call_state::RINGBACK],
        LocalState::Fail => &[call_state::BUSY, call_state::DISCONNECTED],
    };
    states.contains(&state)
}

/// The party a remaining device now talks to after a transfer.
fn far_end(connections: &[ConnectionMove], me: &str, transferring: &Party) -> Option<Party> {
    connections
        .iter()
        .filter_map(|item| item.device.as_deref())
        .find(|device| *device != me && Some(*device) != known(transferring))
        .map(|device| Party::Known(device.to_owned()))
}

fn known(party: &Party) -> Option<&str> {
    match party {
        Party::Known(id) => Some(id),
        _ => None,
    }
}

/// LINECALLINFO.dwReason of an offered call.
fn reason_of(cause: Cause, last_redirection: &Party) -> u32 {
    match cause {
        Cause::ForwardImmediate => reason::FWDUNCOND,
        Cause::ForwardBusy => reason::FWDBUSY,
        Cause::ForwardNoAnswer => reason::FWDNOANSWER,
        Cause::Pickup => reason::PICKUP,
        Cause::Transfer => reason::TRANSFER,
        Cause::Redirected => reason::REDIRECT,
        _ if matches!(last_redirection, Party::Known(_)) => reason::REDIRECT,
        _ => reason::DIRECT,
    }
}

/// LINEDISCONNECTMODE of a call the far end or the switch ended.
fn disconnect_mode_of(cause: Cause) -> u32 {
    match cause {
        Cause::Busy => disconnect_mode::BUSY,
        Cause::NoAnswer => disconnect_mode::NOANSWER,
        Cause::Cancelled => disconnect_mode::CANCELLED,
        Cause::BadAddress => disconnect_mode::BADADDRESS,
        Cause::Congestion => disconnect_mode::CONGESTION,
        Cause::Incompatible => disconnect_mode::INCOMPATIBLE,
        Cause::Rejected => disconnect_mode::REJECT,
        Cause::DoNotDisturb => disconnect_mode::DONOTDISTURB,
        Cause::Pickup => disconnect_mode::PICKUP,
        Cause::ForwardImmediate
        | Cause::ForwardBusy
        | Cause::ForwardNoAnswer
        | Cause::Redirected => disconnect_mode::FORWARDED,
        Cause::Normal | Cause::Consultation | Cause::Transfer | Cause::Conference => {
            disconnect_mode::NORMAL
        }
    }
}
