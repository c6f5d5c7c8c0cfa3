//! The pure PBX model: directory state, sessions, user handles, calls and event queues.
//!
//! Everything here is synchronous and deterministic: no I/O, no clock, no tokio. Every
//! operation takes the current time (`now`, the time since the simulator started) where the
//! outcome depends on it, and queues the records it causes on the sessions concerned. The HTTP
//! shell asks [`Model::take_woken`] which sessions got records after each operation, and
//! [`Model::next_deadline`] when to call [`Model::tick`] next (no-answer forwards, session
//! expiry).
//!
//! The record sequences each scenario produces are the contract documented in the crate
//! README ("Simulator"); the unit tests assert them record by record.

mod admin;
mod calls;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt::{self, Write as _};
use std::str::FromStr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::envelope::{FindUserRequest, InitializeFlags};
use crate::records::{AnyInfo, CallInfo, Device, Info, PartyRole, Presence, UserInfo};
use crate::sim::config::SimConfig;
use crate::sim::directory::{Directory, ForwardKind, Forwards, Node, Object, ObjectKind};

pub use calls::{CallSnapshot, LegKind, LegSnapshot};

/// Q.850 causes the model uses.
pub(crate) mod cause {
    /// Unallocated (unassigned) number.
    pub(crate) const UNALLOCATED: i32 = 1;
    /// No route to destination (loops, objects homed at another PBX).
    pub(crate) const NO_ROUTE: i32 = 3;
    /// Normal call clearing.
    pub(crate) const NORMAL: i32 = 16;
    /// User busy.
    pub(crate) const BUSY: i32 = 17;
    /// No answer from user (user alerted).
    pub(crate) const NO_ANSWER: i32 = 19;
    /// Subscriber absent (no registered device).
    pub(crate) const ABSENT: i32 = 20;
    /// Non-selected user clearing (answered elsewhere, picked up).
    pub(crate) const NON_SELECTED: i32 = 26;
    /// Invalid number format (incomplete number).
    pub(crate) const INVALID_NUMBER: i32 = 28;
}

/// One call record in the notation of the README's record tables:
/// `msg state parties... cause=N extra=...` with the state in hex and each party other than
/// `this` as `role=number` (or its name, or `-`), e.g. `x-alert 0x4 peer=202`. Tests compare
/// record sequences in this form.
pub fn record_line(info: &CallInfo) -> String {
    let mut out = format!("{} {:#x}", info.msg, info.state.0);
    for no in info.no.iter().filter(|no| no.kind != PartyRole::This) {
        let id = [&no.e164, &no.cn, &no.h323]
            .into_iter()
            .find(|value| !value.is_empty());
        let _ = write!(out, " {}={}", no.kind, id.map_or("-", String::as_str));
    }
    if let Some(cause) = info.info("cause") {
        let _ = write!(out, " cause={}", cause.vali);
    }
    for extra in info
        .info
        .iter()
        .filter(|i| i.kind != "conf" && i.kind != "cause")
    {
        let _ = write!(out, " {}={}", extra.kind, extra.vals);
    }
    out
}

/// Who an HTTP request authenticated as.
///
/// Exhaustive: the PBX knows these two kinds of login.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Identity {
    /// The administrator: every operation, any session user.
    Admin,
    /// A user object (by index) logged in with its `h323` name: sessions only as itself,
    /// `FindUser` only within its scope, no `Admin`.
    User(usize),
}

/// A reference to one call (all legs sharing a conference id) for the scenario API.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct CallRef(pub(crate) u64);

impl CallRef {
    /// The numeric id (as used by the `/sim/...` HTTP endpoints).
    pub fn id(self) -> u64 {
        self.0
    }
}

impl fmt::Display for CallRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for CallRef {
    type Err = std::num::ParseIntError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse().map(Self)
    }
}

/// Why a scenario step (a phone-side action) could not be performed.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The object is homed at another location; its calls happen on that PBX.
    #[error("`{who}` is homed at location `{loc}`; its calls happen on that PBX")]
    Foreign {
        /// The object.
        who: String,
        /// Its location.
        loc: String,
    },
    /// The party's leg is not in a state that allows the action.
    #[error("`{who}` cannot {action} in call {call} in state {state:#x}")]
    InvalidState {
        /// The call.
        call: CallRef,
        /// The party as given.
        who: String,
        /// What was attempted.
        action: &'static str,
        /// The leg's state bitfield.
        state: i32,
    },
    /// The PBX has no trunk (`gw` object with a prefix) for external calls.
    #[error("the directory has no trunk for external calls")]
    NoTrunk,
    /// The party has no leg in the call.
    #[error("`{who}` has no leg in call {call}")]
    NotInCall {
        /// The call.
        call: CallRef,
        /// The party as given.
        who: String,
    },
    /// The object has no registered device to act with.
    #[error("`{who}` has no registered device")]
    NotRegistered {
        /// The object.
        who: String,
    },
    /// The park position is taken.
    #[error("park position {position} at `{at}` is taken")]
    ParkPositionTaken {
        /// The park object.
        at: String,
        /// The position.
        position: i32,
    },
    /// The call does not exist (any more).
    #[error("no call {call}")]
    UnknownCall {
        /// The call.
        call: CallRef,
    },
    /// The object has no such device.
    #[error("object `{who}` has no device `{device}`")]
    UnknownDevice {
        /// The object.
        who: String,
        /// The hardware id.
        device: String,
    },
    /// The name matches no object.
    #[error("no object `{name}` in the directory")]
    UnknownObject {
        /// The name as given.
        name: String,
    },
}

/// A session handle that is not (or no longer) valid.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
#[error("no session {session}")]
pub struct UnknownSession {
    /// The handle as sent.
    pub session: i32,
}

/// One object of a [`SimSnapshot`].
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct ObjectSnapshot {
    /// Long name.
    pub cn: String,
    /// Extension.
    pub e164: String,
    /// Object type.
    pub kind: ObjectKind,
    /// Object-level registration (`UserInfo.state`).
    pub registered: bool,
    /// Registration of each device.
    pub devices: Vec<(String, bool)>,
    /// Presence.
    pub presence: Presence,
    /// Call forwards.
    pub forwards: Forwards,
    /// Current calls (`UserInfo.channel`).
    pub channel: i32,
    /// Alerting calls (`UserInfo.alert`).
    pub alert: i32,
}

/// The PBX's own truth at one instant, for model-based tests.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct SimSnapshot {
    /// Every object in configuration order.
    pub objects: Vec<ObjectSnapshot>,
    /// Every call in creation order.
    pub calls: Vec<CallSnapshot>,
    /// Number of sessions.
    pub sessions: usize,
}

impl SimSnapshot {
    /// The object with the given long name.
    pub fn object(&self, cn: &str) -> Option<&ObjectSnapshot> {
        self.objects.iter().find(|object| object.cn == cn)
    }

    /// The call with the given reference.
    pub fn call(&self, call: CallRef) -> Option<&CallSnapshot> {
        self.calls.iter().find(|snapshot| snapshot.call == call)
    }
}

#[derive(Clone, Debug)]
enum Record {
    Call(CallInfo),
    User(Box<UserInfo>),
}

#[derive(Debug)]
struct Session {
    object: usize,
    key: i32,
    flags: InitializeFlags,
    scope: BTreeSet<usize>,
    queue: VecDeque<Record>,
    handles: BTreeSet<i32>,
    connections: BTreeSet<u64>,
    orphaned_since: Option<Duration>,
}

#[derive(Debug)]
struct UserHandle {
    session: i32,
    object: usize,
    hw: Option<String>,
    xfer: bool,
    disc: bool,
    calls: BTreeSet<i32>,
}

#[derive(Debug)]
struct ObjectState {
    config: Object,
    deleted: bool,
    legs: BTreeSet<u64>,
    handles: BTreeSet<i32>,
    posted: (i32, i32),
}

/// The simulated PBX. See the module documentation.
#[derive(Debug)]
pub struct Model {
    config: SimConfig,
    own_url: String,
    nodes: Vec<Node>,
    objects: Vec<ObjectState>,
    sessions: BTreeMap<i32, Session>,
    handles: BTreeMap<i32, UserHandle>,
    calls_state: calls::Calls,
    next_session: i32,
    next_user: i32,
    rng: StdRng,
    woken: BTreeSet<i32>,
    dirty: BTreeSet<usize>,
    by_cn: HashMap<String, usize>,
    by_h323: HashMap<String, usize>,
    by_number: HashMap<(usize, String), usize>,
    by_full_number: HashMap<String, usize>,
    /// Live objects in `FindUser` order: (lower-case name, name, index), by cn and by h323.
    cn_order: Vec<(String, String, usize)>,
    h323_order: Vec<(String, String, usize)>,
}

impl Model {
    /// A PBX with the given configuration and directory, freshly started.
    pub fn new(config: SimConfig, directory: Directory) -> Self {
        let (nodes, objects) = directory.into_parts();
        let objects = objects
            .into_iter()
            .map(|config| ObjectState {
                config,
                deleted: false,
                legs: BTreeSet::new(),
                handles: BTreeSet::new(),
                posted: (0, 0),
            })
            .collect();
        let rng = StdRng::seed_from_u64(config.seed);
        let mut model = Self {
            config,
            own_url: String::new(),
            nodes,
            objects,
            sessions: BTreeMap::new(),
            handles: BTreeMap::new(),
            calls_state: calls::Calls::default(),
            next_session: 1,
            next_user: 1,
            rng,
            woken: BTreeSet::new(),
            dirty: BTreeSet::new(),
            by_cn: HashMap::new(),
            by_h323: HashMap::new(),
            by_number: HashMap::new(),
            by_full_number: HashMap::new(),
            cn_order: Vec::new(),
            h323_order: Vec::new(),
        };
        model.reindex();
        model
    }

    /// Sets the URL `LocationUrl` reports for this PBX's own location (known once bound).
    pub fn set_own_url(&mut self, url: String) {
        self.own_url = url;
    }

    /// Simulates a PBX restart: every session, handle and call is gone without a record,
    /// handles are issued from 1 again and new sessions get new keys. Configuration
    /// (registrations, forwards, presence) survives.
    pub fn restart(&mut self) {
        self.woken.extend(self.sessions.keys().copied());
        self.sessions.clear();
        self.handles.clear();
        self.calls_state.clear();
        for object in &mut self.objects {
            object.legs.clear();
            object.handles.clear();
            object.posted = (0, 0);
        }
        self.next_session = 1;
        self.next_user = 1;
        self.dirty.clear();
    }

    /// `Initialize`: opens a session for the object `user` (long name) and queues the
    /// initial UserInfo dump of its scope, ending with an empty record. `None` is the PBX's
    /// failure result 0 (unknown user, or a user login asking for another user).
    pub fn initialize(
        &mut self,
        user: &str,
        flags: InitializeFlags,
        identity: Identity,
        connection: Option<u64>,
    ) -> Option<(i32, i32)> {
        let object = self.live_object(user)?;
        if let Identity::User(own) = identity
            && own != object
        {
            return None;
        }
        let scope = self.scope_of(object);
        let mut queue: VecDeque<Record> = scope
            .iter()
            .map(|&member| Record::User(Box::new(self.user_info(member, flags, false))))
            .collect();
        queue.push_back(Record::User(Box::default()));
        let session = self.next_session;
        self.next_session = self.next_session.checked_add(1).unwrap_or(1);
        let key = self.rng.random_range(1..=i32::MAX);
        self.sessions.insert(
            session,
            Session {
                object,
                key,
                flags,
                scope,
                queue,
                handles: BTreeSet::new(),
                connections: connection.into_iter().collect(),
                orphaned_since: None,
            },
        );
        self.woken.insert(session);
        Some((session, key))
    }

    /// `Echo`: non-zero while the session exists and the key matches.
    pub fn echo(&self, session: i32, key: i32) -> i32 {
        match self.sessions.get(&session) {
            Some(state) if state.key == key => 1,
            _ => 0,
        }
    }

    /// `End`: closes the session and every user handle of it. Ending an unknown session is
    /// accepted silently (the operation is void).
    pub fn end(&mut self, session: i32) {
        let Some(state) = self.sessions.remove(&session) else {
            return;
        };
        for handle in state.handles {
            self.drop_handle(handle);
        }
        self.woken.insert(session);
    }

    /// `Poll`: takes up to the batch size of queued records; empty when nothing is queued
    /// (the shell then waits for [`Model::take_woken`] or the poll timeout).
    pub fn poll(&mut self, session: i32) -> Result<AnyInfo, UnknownSession> {
        let batch = self.config.poll_batch.max(1);
        let state = self
            .sessions
            .get_mut(&session)
            .ok_or(UnknownSession { session })?;
        let mut result = AnyInfo::default();
        for record in state.queue.drain(..batch.min(state.queue.len())) {
            match record {
                Record::Call(call) => result.call.push(call),
                Record::User(user) => result.user.push(*user),
            }
        }
        Ok(result)
    }

    /// Number of records waiting in a session's queue.
    pub fn queued(&self, session: i32) -> Option<usize> {
        self.sessions.get(&session).map(|state| state.queue.len())
    }

    /// Number of records waiting in every session's queue together (not yet polled).
    pub fn queued_total(&self) -> usize {
        self.sessions.values().map(|state| state.queue.len()).sum()
    }

    /// Whether the session exists.
    pub fn has_session(&self, session: i32) -> bool {
        self.sessions.contains_key(&session)
    }

    /// The version flags a session announced.
    pub fn session_flags(&self, session: i32) -> Option<InitializeFlags> {
        self.sessions.get(&session).map(|state| state.flags)
    }

    /// The session a user handle belongs to.
    pub fn session_of_user(&self, user: i32) -> Option<i32> {
        self.handles.get(&user).map(|handle| handle.session)
    }

    /// The session a call handle belongs to.
    pub fn session_of_call(&self, call: i32) -> Option<i32> {
        let user = self.calls_state.handle_owner(call)?;
        self.session_of_user(user)
    }

    /// Number of open sessions.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Records that an HTTP connection carried a request of the session: the session lives
    /// while at least one such connection is open.
    pub fn attach(&mut self, session: i32, connection: u64) {
        if let Some(state) = self.sessions.get_mut(&session) {
            state.connections.insert(connection);
            state.orphaned_since = None;
        }
    }

    /// Records that an HTTP connection closed; sessions left without a connection expire
    /// after the configured delay.
    pub fn connection_closed(&mut self, connection: u64, now: Duration) {
        for state in self.sessions.values_mut() {
            if state.connections.remove(&connection) && state.connections.is_empty() {
                state.orphaned_since = Some(now);
            }
        }
    }

    /// Runs what is due at `now`: no-answer forwards and session expiry.
    pub fn tick(&mut self, now: Duration) {
        let expiry = self.config.session_expiry;
        let expired: Vec<i32> = self
            .sessions
            .iter()
            .filter(|(_, state)| {
                state
                    .orphaned_since
                    .is_some_and(|since| since + expiry <= now)
            })
            .map(|(&session, _)| session)
            .collect();
        for session in expired {
            self.end(session);
        }
        self.fire_timers(now);
        self.settle();
    }

    /// When [`Model::tick`] has work next.
    pub fn next_deadline(&self) -> Option<Duration> {
        let expiry = self.config.session_expiry;
        let sessions = self
            .sessions
            .values()
            .filter_map(|state| state.orphaned_since.map(|since| since + expiry));
        sessions.chain(self.calls_state.next_timer()).min()
    }

    /// Sessions that got records (or ended) since the last call.
    pub fn take_woken(&mut self) -> Vec<i32> {
        std::mem::take(&mut self.woken).into_iter().collect()
    }

    /// `UserInitialize`: a new handle reporting the calls of object `user` (optionally only
    /// those at device `hw`). 0 when the object does not exist; a valid handle even when the
    /// device does not.
    pub fn user_initialize(
        &mut self,
        session: i32,
        user: &str,
        xfer: bool,
        disc: bool,
        hw: &str,
    ) -> Result<i32, UnknownSession> {
        if !self.sessions.contains_key(&session) {
            return Err(UnknownSession { session });
        }
        let Some(object) = self.live_object(user) else {
            return Ok(0);
        };
        let handle = self.next_user;
        self.next_user = self.next_user.checked_add(1).unwrap_or(1);
        let hw = Some(hw.to_owned()).filter(|hw| !hw.is_empty());
        self.handles.insert(
            handle,
            UserHandle {
                session,
                object,
                hw,
                xfer,
                disc,
                calls: BTreeSet::new(),
            },
        );
        self.objects[object].handles.insert(handle);
        if let Some(state) = self.sessions.get_mut(&session) {
            state.handles.insert(handle);
        }
        self.watch_existing_calls(handle);
        self.settle();
        Ok(handle)
    }

    /// `UserEnd`: no more records for the handle. Unknown handles are ignored.
    pub fn user_end(&mut self, user: i32) {
        let Some(handle) = self.handles.get(&user) else {
            return;
        };
        let session = handle.session;
        if let Some(state) = self.sessions.get_mut(&session) {
            state.handles.remove(&user);
        }
        self.drop_handle(user);
    }

    /// `Devices`: the configured devices of an object (empty for an unknown object).
    pub fn devices(&self, session: i32, user: &str) -> Result<Vec<Device>, UnknownSession> {
        if !self.sessions.contains_key(&session) {
            return Err(UnknownSession { session });
        }
        let Some(object) = self.live_object(user) else {
            return Ok(Vec::new());
        };
        Ok(self.objects[object]
            .config
            .devices
            .iter()
            .map(|device| Device {
                hw: device.hw.clone(),
                text: device.text.clone(),
            })
            .collect())
    }

    /// `FindUser`: objects in alphabetical order from a start string.
    pub fn find_user(&self, query: &FindUserRequest, identity: Identity) -> Vec<UserInfo> {
        let count = usize::try_from(query.count)
            .unwrap_or(0)
            .min(self.config.max_find_count);
        let scope = match identity {
            Identity::Admin => None,
            Identity::User(object) => Some(self.scope_of(object)),
        };
        let visible = |index: &usize| {
            let object = &self.objects[*index];
            !object.deleted
                && (query.nohide || !object.config.hidden)
                && scope.as_ref().is_none_or(|scope| scope.contains(index))
        };
        if !query.e164.is_empty() {
            let node = self
                .live_object(&query.cn)
                .map_or(0, |object| self.objects[object].config.node);
            return match self.resolve_number(node, &query.e164) {
                calls::Target::Object(object) if visible(&object) && count > 0 => {
                    vec![self.user_info(object, query.flags, false)]
                }
                _ => Vec::new(),
            };
        }
        let by_h323 = query.cn.is_empty() && !query.h323.is_empty();
        let (order, start) = if by_h323 {
            (&self.h323_order, &query.h323)
        } else {
            (&self.cn_order, &query.cn)
        };
        let folded_start = start.to_lowercase();
        let first = order.partition_point(|(folded, _, _)| folded.as_str() < folded_start.as_str());
        order[first..]
            .iter()
            .filter(|(_, name, index)| visible(index) && !(query.next && name == start))
            .take(count)
            .map(|(_, _, index)| self.user_info(*index, query.flags, false))
            .collect()
    }

    /// `LocationUrl`: the SOAP URL of a location (`""` when unknown); with `tls` the https
    /// form of the configured URL.
    pub fn location_url(&self, loc: &str, tls: bool) -> String {
        let url = if loc.is_empty() || loc == self.config.location {
            self.own_url.clone()
        } else {
            self.config.locations.get(loc).cloned().unwrap_or_default()
        };
        match url.strip_prefix("http://") {
            Some(rest) if tls => format!("https://{rest}"),
            _ => url,
        }
    }

    /// `UserLocalNum`: a node-qualified number as dialled from the user's node.
    pub fn user_local_num(&self, user: i32, num: &str) -> String {
        let Some(handle) = self.handles.get(&user) else {
            return String::new();
        };
        let prefix = &self.nodes[self.objects[handle.object].config.node].num;
        match num.strip_prefix(prefix.as_str()) {
            Some(local) if !prefix.is_empty() && !local.is_empty() => local.to_owned(),
            _ => num.to_owned(),
        }
    }

    /// `UserFindDestination`: whether the number is incomplete, and the object it reaches.
    pub fn user_find_destination(&self, user: i32, e164: &str, h323: &str) -> (bool, UserInfo) {
        let Some(handle) = self.handles.get(&user) else {
            return (false, UserInfo::default());
        };
        let flags = self.session_flags(handle.session).unwrap_or_default();
        if !h323.is_empty() {
            let found = self.object_by_h323(h323);
            return (
                false,
                found
                    .map(|o| self.user_info(o, flags, false))
                    .unwrap_or_default(),
            );
        }
        match self.resolve_number(self.objects[handle.object].config.node, e164) {
            calls::Target::Object(object) => (false, self.user_info(object, flags, false)),
            calls::Target::External { trunk, .. } => (false, self.user_info(trunk, flags, false)),
            calls::Target::Incomplete => (true, UserInfo::default()),
            calls::Target::Unallocated => (false, UserInfo::default()),
        }
    }

    /// `SetPresence`: 1 when the object (by `guid`, or by `h323` when the guid is `*` or
    /// empty) exists; posts a UserInfo with the new presence.
    pub fn set_presence_by_id(&mut self, presence: Presence, guid: &str, h323: &str) -> i32 {
        let found = if guid.is_empty() || guid == "*" {
            self.object_by_h323(h323)
        } else {
            self.objects
                .iter()
                .position(|o| !o.deleted && o.config.guid.eq_ignore_ascii_case(guid))
        };
        let Some(object) = found else { return 0 };
        self.objects[object].config.presence = presence;
        self.post_user(object, false);
        1
    }

    /// `UserLicense`: whether an object with the GUID exists.
    pub fn user_license(&self, guid: &str) -> bool {
        self.objects
            .iter()
            .any(|o| !o.deleted && o.config.guid.eq_ignore_ascii_case(guid))
    }

    /// `UserMessage`: a positive handle when the destination is an object, else 0. Message
    /// calls are not reported as CallInfo.
    pub fn user_message(&mut self, user: i32, e164: &str, h323: &str) -> i32 {
        let Some(handle) = self.handles.get(&user) else {
            return 0;
        };
        let node = self.objects[handle.object].config.node;
        let target = if h323.is_empty() {
            self.resolve_number(node, e164)
        } else {
            self.object_by_h323(h323)
                .map_or(calls::Target::Unallocated, calls::Target::Object)
        };
        match target {
            calls::Target::Object(_) => self.calls_state.allocate_handle(),
            _ => 0,
        }
    }

    /// `Version`.
    pub fn identity(&self) -> &crate::sim::config::PbxIdentity {
        &self.config.identity
    }

    /// The configured location name.
    pub fn location(&self) -> &str {
        &self.config.location
    }

    /// Checks HTTP credentials: the administrator, or an object's `h323` name with its
    /// password.
    pub fn authenticate(&self, name: &str, password: &str) -> Option<Identity> {
        let (identity, expected) = self.credentials(name)?;
        (expected == password).then_some(identity)
    }

    /// The identity and password of an HTTP login name (Digest authentication needs the
    /// password itself).
    pub fn credentials(&self, name: &str) -> Option<(Identity, &str)> {
        if name == self.config.admin_user {
            return Some((Identity::Admin, &self.config.admin_password));
        }
        let index = self.object_by_h323(name)?;
        let password = self.objects[index].config.password.as_deref()?;
        Some((Identity::User(index), password))
    }

    /// Sets a call forward as if from the phone: `cfg` is posted when a forward is set;
    /// clearing posts nothing unless configured.
    pub fn set_forward(
        &mut self,
        cn: &str,
        kind: ForwardKind,
        target: Option<&str>,
    ) -> Result<(), ScenarioError> {
        let object = self.object_named(cn)?;
        self.objects[object].config.forwards.set(kind, target);
        let set = target.is_some_and(|target| !target.is_empty());
        if set || self.config.phone_clear_posts_cfg {
            self.post_user(object, true);
        }
        Ok(())
    }

    /// Sets the presence of an object as its user would; posts a UserInfo.
    pub fn set_presence(&mut self, cn: &str, presence: Presence) -> Result<(), ScenarioError> {
        let object = self.object_named(cn)?;
        self.objects[object].config.presence = presence;
        self.post_user(object, false);
        Ok(())
    }

    /// Registers or unregisters one device (or every device with `None`); a UserInfo is posted
    /// when the object's registration state changes.
    pub fn register(
        &mut self,
        cn: &str,
        device: Option<&str>,
        registered: bool,
    ) -> Result<(), ScenarioError> {
        let object = self.object_named(cn)?;
        let config = &mut self.objects[object].config;
        let before = config.is_registered();
        match device {
            None if config.devices.is_empty() => config.registered = registered,
            None => config
                .devices
                .iter_mut()
                .for_each(|d| d.registered = registered),
            Some(hw) => {
                let Some(found) = config.devices.iter_mut().find(|d| d.hw == hw) else {
                    return Err(ScenarioError::UnknownDevice {
                        who: cn.to_owned(),
                        device: hw.to_owned(),
                    });
                };
                found.registered = registered;
            }
        }
        if config.is_registered() != before {
            self.post_user(object, false);
        }
        Ok(())
    }

    /// The PBX's own view of objects and calls.
    pub fn snapshot(&self) -> SimSnapshot {
        let objects = self
            .objects
            .iter()
            .filter(|object| !object.deleted)
            .map(|object| {
                let (channel, alert) = self.counters(object);
                ObjectSnapshot {
                    cn: object.config.cn.clone(),
                    e164: object.config.e164.clone(),
                    kind: object.config.kind,
                    registered: object.config.is_registered(),
                    devices: object
                        .config
                        .devices
                        .iter()
                        .map(|d| (d.hw.clone(), d.registered))
                        .collect(),
                    presence: object.config.presence.clone(),
                    forwards: object.config.forwards.clone(),
                    channel,
                    alert,
                }
            })
            .collect();
        SimSnapshot {
            objects,
            calls: self.call_snapshots(),
            sessions: self.sessions.len(),
        }
    }

    /// The long name of an object by index.
    pub fn object_cn(&self, object: usize) -> Option<&str> {
        self.objects
            .get(object)
            .filter(|o| !o.deleted)
            .map(|o| o.config.cn.as_str())
    }

    /// Long names of the registered endpoints homed at this PBX (for traffic generation).
    pub fn local_endpoints(&self) -> Vec<String> {
        self.objects
            .iter()
            .filter(|o| {
                !o.deleted
                    && o.config.kind == ObjectKind::Endpoint
                    && !o.config.e164.is_empty()
                    && o.config.is_registered()
                    && self.is_local(&o.config)
            })
            .map(|o| o.config.cn.clone())
            .collect()
    }

    /// The number an object is dialled with from the root node (node prefix + extension).
    pub fn full_number(&self, cn: &str) -> Option<String> {
        let config = &self.objects[self.live_object(cn)?].config;
        (!config.e164.is_empty()).then(|| format!("{}{}", self.nodes[config.node].num, config.e164))
    }
    /// The line prefix of the first local trunk, if there is one.
    pub fn trunk_prefix(&self) -> Option<String> {
        self.local_trunk()
            .map(|trunk| self.objects[trunk].config.e164.clone())
    }

    /// The first trunk (`gw` object with a line prefix) homed at this PBX.
    fn local_trunk(&self) -> Option<usize> {
        self.objects.iter().position(|o| {
            !o.deleted
                && o.config.kind == ObjectKind::Gateway
                && !o.config.e164.is_empty()
                && self.is_local(&o.config)
        })
    }

    fn live_object(&self, cn: &str) -> Option<usize> {
        self.by_cn.get(cn).copied()
    }

    fn object_by_h323(&self, h323: &str) -> Option<usize> {
        self.by_h323.get(h323).copied()
    }

    /// Rebuilds the lookup tables after the set of objects or their names changed (rare:
    /// start and `Admin` changes), so lookups and `FindUser` pages need no scan or sort.
    fn reindex(&mut self) {
        self.by_cn.clear();
        self.by_h323.clear();
        self.by_number.clear();
        self.by_full_number.clear();
        self.cn_order.clear();
        self.h323_order.clear();
        for (index, object) in self.objects.iter().enumerate() {
            let config = &object.config;
            if object.deleted {
                continue;
            }
            self.by_cn.insert(config.cn.clone(), index);
            self.cn_order
                .push((config.cn.to_lowercase(), config.cn.clone(), index));
            self.h323_order
                .push((config.h323.to_lowercase(), config.h323.clone(), index));
            if !config.h323.is_empty() {
                self.by_h323.insert(config.h323.clone(), index);
            }
            if !config.e164.is_empty() && config.kind != ObjectKind::Gateway {
                self.by_number
                    .insert((config.node, config.e164.clone()), index);
                let full = format!("{}{}", self.nodes[config.node].num, config.e164);
                self.by_full_number.entry(full).or_insert(index);
            }
        }
        self.cn_order.sort();
        self.h323_order.sort();
    }

    /// Finds an object by long name, `h323` name or number (from the root node).
    fn object_named(&self, name: &str) -> Result<usize, ScenarioError> {
        let found = self.live_object(name).or_else(|| self.object_by_h323(name));
        let found = found.or_else(|| match self.resolve_number(0, name) {
            calls::Target::Object(object) => Some(object),
            _ => None,
        });
        found.ok_or_else(|| ScenarioError::UnknownObject {
            name: name.to_owned(),
        })
    }

    fn is_local(&self, object: &Object) -> bool {
        object.loc.is_empty() || object.loc == self.config.location
    }

    /// The session scope of an object: every member of the groups it is active in, and itself.
    fn scope_of(&self, object: usize) -> BTreeSet<usize> {
        let active: BTreeSet<&str> = self.objects[object]
            .config
            .groups
            .iter()
            .filter(|group| group.active)
            .map(|group| group.group.as_str())
            .collect();
        let mut scope: BTreeSet<usize> = self
            .objects
            .iter()
            .enumerate()
            .filter(|(_, other)| {
                !other.deleted
                    && other
                        .config
                        .groups
                        .iter()
                        .any(|group| active.contains(group.group.as_str()))
            })
            .map(|(index, _)| index)
            .collect();
        scope.insert(object);
        scope
    }

    /// Recomputes every session's scope after a configuration change; objects leaving a scope
    /// get a final `active=false` UserInfo there, objects entering it a UserInfo.
    fn rescope(&mut self) {
        let sessions: Vec<i32> = self.sessions.keys().copied().collect();
        for session in sessions {
            let Some(state) = self.sessions.get(&session) else {
                continue;
            };
            let scope = self.scope_of(state.object);
            let flags = state.flags;
            let left: Vec<usize> = state.scope.difference(&scope).copied().collect();
            let entered: Vec<usize> = scope.difference(&state.scope).copied().collect();
            let mut records = Vec::new();
            for object in left {
                let mut info = self.user_info(object, flags, false);
                info.active = false;
                records.push(Record::User(Box::new(info)));
            }
            for object in entered {
                records.push(Record::User(Box::new(self.user_info(object, flags, false))));
            }
            if let Some(state) = self.sessions.get_mut(&session) {
                state.scope = scope;
                state.queue.extend(records);
                self.woken.insert(session);
            }
        }
    }

    /// A UserInfo of an object as a session with the given version flags sees it: presence
    /// from pbx800, domain, email and the `fake` info from pbx10_00, `fake` itself in pbx11_00.
    fn user_info(&self, object: usize, flags: InitializeFlags, cfg: bool) -> UserInfo {
        let state = &self.objects[object];
        let config = &state.config;
        let node = &self.nodes[config.node];
        let (channel, alert) = self.counters(state);
        let level = flags.level();
        let modern = level >= 1000;
        let mut info = Vec::new();
        if modern && !config.fake.is_empty() {
            info.push(Info::string("fake", config.fake.clone()));
        }
        UserInfo {
            active: !state.deleted,
            cn: config.cn.clone(),
            dn: config.dn.clone(),
            kind: config.kind.as_str().to_owned(),
            e164: config.e164.clone(),
            h323: config.h323.clone(),
            state: i32::from(config.is_registered()),
            channel,
            alert,
            guid: config.guid.clone(),
            groups: config.groups.clone(),
            loc: if self.is_local(config) {
                String::new()
            } else {
                config.loc.clone()
            },
            node: node.name.clone(),
            object: config.kind.object_type().to_owned(),
            nodenum: node.num.clone(),
            cfg,
            presence: (level >= 800).then(|| config.presence.clone()),
            domain: if modern {
                self.config.identity.gatekeeper_id.clone()
            } else {
                String::new()
            },
            h323email: false,
            email: if modern {
                config.email.clone()
            } else {
                Vec::new()
            },
            fake: if level >= 1100 {
                config.fake.clone()
            } else {
                String::new()
            },
            info,
        }
    }

    /// Queues a UserInfo of the object on every session whose scope holds it.
    fn post_user(&mut self, object: usize, cfg: bool) {
        let targets: Vec<(i32, InitializeFlags)> = self
            .sessions
            .iter()
            .filter(|(_, state)| state.scope.contains(&object))
            .map(|(&session, state)| (session, state.flags))
            .collect();
        for (session, flags) in targets {
            let info = self.user_info(object, flags, cfg);
            self.push(session, Record::User(Box::new(info)));
        }
    }

    fn push(&mut self, session: i32, record: Record) {
        if let Some(state) = self.sessions.get_mut(&session) {
            state.queue.push_back(record);
            self.woken.insert(session);
        }
    }

    /// Posts UserInfos for objects whose channel/alert counters changed during an operation.
    fn settle(&mut self) {
        let dirty = std::mem::take(&mut self.dirty);
        for object in dirty {
            let Some(state) = self.objects.get(object) else {
                continue;
            };
            let counters = self.counters(state);
            if counters != state.posted {
                self.objects[object].posted = counters;
                self.post_user(object, false);
            }
        }
    }

    fn drop_handle(&mut self, user: i32) {
        let Some(handle) = self.handles.remove(&user) else {
            return;
        };
        if let Some(object) = self.objects.get_mut(handle.object) {
            object.handles.remove(&user);
        }
        self.calls_state.drop_views(&handle.calls);
    }
}
