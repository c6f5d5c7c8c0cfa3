//! The simulated PBX's configuration: numbering nodes and objects, loaded from TOML.
//!
//! The TOML shape (every field but `cn` is optional):
//!
//! ```toml
//! [[node]]
//! name = "root"          # the first node is the root node
//! num = ""               # node prefix, dialled from other nodes
//!
//! [[object]]
//! cn = "Alice Smith"     # long name, the key of UserInitialize, Admin, ...
//! dn = "Alice Smith"     # display name (defaults to cn)
//! e164 = "201"           # extension inside its node
//! h323 = "alice"         # name; with `password` it is also an HTTP login
//! type = "ep"            # ep, gw (trunk: its e164 is the line prefix), waiting, broadcast
//! node = "root"
//! loc = ""               # location (PBX) the object is homed at, empty = this PBX
//! groups = [{ name = "tapi", active = false }]
//! devices = [{ hw = "alice-phone", text = "IP112", kind = "phone", registered = true }]
//! forwards = { cfu = "", cfb = "", cfnr = "" }
//! presence = { status = "open", activity = "", note = "" }
//! ```
//!
//! Validation reports every problem of a file at once, so a hand-written directory can be
//! fixed in one go.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::records::{Group, Presence, PresenceStatus};

/// The built-in demo directory (see the README's simulator section).
const DEMO: &str = include_str!("demo.toml");

/// A numbering node: objects of a node dial each other by extension, other nodes by prefix.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Node {
    /// Node name (`UserInfo.node`).
    pub name: String,
    /// Node prefix (`UserInfo.nodenum`); empty for the root node.
    pub num: String,
}

/// The type of a PBX object (`UserInfo.type`).
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
#[non_exhaustive]
pub enum ObjectKind {
    /// `broadcast`: a group object whose calls ring every registered member.
    Broadcast,
    /// `ep`: an endpoint (user with phones).
    Endpoint,
    /// `gw`: a gateway; with an `e164` it is a trunk whose number is the line prefix.
    Gateway,
    /// `waiting`: a waiting queue; the PBX answers its calls itself.
    Waiting,
}

impl ObjectKind {
    /// The wire value of `UserInfo.type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Broadcast => "broadcast",
            Self::Endpoint => "ep",
            Self::Gateway => "gw",
            Self::Waiting => "waiting",
        }
    }

    /// The configured object type reported in `UserInfo.object`.
    pub fn object_type(self) -> &'static str {
        match self {
            Self::Broadcast => "broadcast",
            Self::Endpoint => "user",
            Self::Gateway => "gateway",
            Self::Waiting => "waiting",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        match value {
            "broadcast" => Some(Self::Broadcast),
            "ep" => Some(Self::Endpoint),
            "gw" => Some(Self::Gateway),
            "waiting" => Some(Self::Waiting),
            _ => None,
        }
    }
}

/// How a device behaves when the PBX places a `UserCall` for it.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum DeviceKind {
    /// An innovaphone phone: it dials the destination itself on a remote-control request, and
    /// honours `UserConnect`.
    #[default]
    Phone,
    /// Any other device: the PBX first calls the device and, once it is answered, calls the
    /// destination; `UserConnect` is ignored.
    ThirdParty,
}

/// A device (registration) of an object.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct DeviceConfig {
    /// Hardware id, the key of `UserInitialize(hw)`.
    pub hw: String,
    /// Description reported by `Devices`.
    pub text: String,
    /// Behaviour for `UserCall` and `UserConnect`.
    pub kind: DeviceKind,
    /// Whether the device is registered when the PBX starts.
    pub registered: bool,
}

/// The kinds of call forward (`<cd type="...">`).
///
/// Exhaustive: the PBX has exactly these three.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum ForwardKind {
    /// `cfb`: forward when busy.
    Busy,
    /// `cfnr`: forward on no answer (after the configured no-answer time) or when no device is
    /// registered.
    NoAnswer,
    /// `cfu`: forward unconditionally.
    Unconditional,
}

impl ForwardKind {
    /// Every kind, in the order the PBX evaluates them.
    pub const ALL: [Self; 3] = [Self::Unconditional, Self::Busy, Self::NoAnswer];

    /// The wire value (`cfu`, `cfb`, `cfnr`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Busy => "cfb",
            Self::NoAnswer => "cfnr",
            Self::Unconditional => "cfu",
        }
    }

    /// Parses a wire value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "cfb" => Some(Self::Busy),
            "cfnr" => Some(Self::NoAnswer),
            "cfu" => Some(Self::Unconditional),
            _ => None,
        }
    }
}

impl fmt::Display for ForwardKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The call forwards of an object: a destination number per kind.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Forwards {
    /// `cfu` destination.
    pub unconditional: Option<String>,
    /// `cfb` destination.
    pub busy: Option<String>,
    /// `cfnr` destination.
    pub no_answer: Option<String>,
}

impl Forwards {
    /// The destination of one kind.
    pub fn target(&self, kind: ForwardKind) -> Option<&str> {
        match kind {
            ForwardKind::Busy => self.busy.as_deref(),
            ForwardKind::NoAnswer => self.no_answer.as_deref(),
            ForwardKind::Unconditional => self.unconditional.as_deref(),
        }
    }

    /// Sets or clears one kind; an empty destination clears it.
    pub fn set(&mut self, kind: ForwardKind, target: Option<&str>) {
        let value = target
            .filter(|target| !target.is_empty())
            .map(str::to_owned);
        match kind {
            ForwardKind::Busy => self.busy = value,
            ForwardKind::NoAnswer => self.no_answer = value,
            ForwardKind::Unconditional => self.unconditional = value,
        }
    }
}

/// A PBX object as configured.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Object {
    /// Long name (unique).
    pub cn: String,
    /// Display name.
    pub dn: String,
    /// Extension inside the object's node (for a trunk: the line prefix).
    pub e164: String,
    /// Name / H.323 alias; with a password also an HTTP login name.
    pub h323: String,
    /// Object GUID, 32 lower-case hex characters.
    pub guid: String,
    /// Object type.
    pub kind: ObjectKind,
    /// Index into [`Directory::nodes`].
    pub node: usize,
    /// Location the object is homed at; empty when it is homed at this PBX.
    pub loc: String,
    /// Group memberships.
    pub groups: Vec<Group>,
    /// Devices.
    pub devices: Vec<DeviceConfig>,
    /// Password for HTTP logins with the object's `h323` name.
    pub password: Option<String>,
    /// Presence.
    pub presence: Presence,
    /// Call forwards.
    pub forwards: Forwards,
    /// Hidden from LDAP: `FindUser` lists it only with `nohide`.
    pub hidden: bool,
    /// Email addresses (pbx10).
    pub email: Vec<String>,
    /// Configured "Send Number".
    pub fake: String,
    /// Reject a second call with "busy" (and apply `cfb`) instead of call waiting.
    pub busy_on_busy: bool,
    /// Members (long names) of a broadcast object.
    pub members: Vec<String>,
    /// Registration state of an object without devices (trunks, queues, groups).
    pub registered: bool,
}

/// The objects and nodes of a simulated PBX.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Directory {
    nodes: Vec<Node>,
    objects: Vec<Object>,
}

impl Directory {
    /// Parses and validates a TOML directory.
    pub fn from_toml(text: &str) -> Result<Self, DirectoryError> {
        let raw: RawDirectory = toml::from_str(text).map_err(DirectoryError::Toml)?;
        raw.validate()
    }

    /// Reads a TOML directory file.
    pub fn from_file(path: &Path) -> Result<Self, DirectoryError> {
        let text = std::fs::read_to_string(path).map_err(|source| DirectoryError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text)
    }

    /// The built-in demo PBX: users 201–220 on the root node (each a passive member of the
    /// group `tapi` in which the monitoring user `_TAPI_` is active), a trunk with prefix `0`,
    /// a waiting queue, a broadcast group and a second node `berlin` (prefix `8`).
    pub fn demo() -> Self {
        // The embedded file is checked by the tests, so a failure here is a build defect.
        Self::from_toml(DEMO)
            .unwrap_or_else(|error| panic!("the demo directory is invalid: {error}"))
    }

    /// A large generated PBX for benchmarks: `users` endpoints `User 00001`, ... with
    /// extensions from 10000 up, one registered phone each, a trunk with prefix `0` and the
    /// monitoring user `_TAPI_` (password `tapi`) active in the group every user is in.
    pub fn generated(users: usize) -> Self {
        let group = |active| {
            vec![Group {
                group: "tapi".to_owned(),
                active,
            }]
        };
        let mut objects = Vec::with_capacity(users + 2);
        let mut monitor = Object::new("_TAPI_", ObjectKind::Endpoint);
        monitor.h323 = "_TAPI_".to_owned();
        monitor.password = Some("tapi".to_owned());
        monitor.groups = group(true);
        monitor.hidden = true;
        objects.push(monitor);
        let mut trunk = Object::new("Trunk", ObjectKind::Gateway);
        trunk.e164 = "0".to_owned();
        trunk.h323 = "trunk".to_owned();
        trunk.groups = group(false);
        objects.push(trunk);
        for index in 1..=users {
            let mut user = Object::new(&format!("User {index:05}"), ObjectKind::Endpoint);
            user.e164 = (10_000 + index).to_string();
            user.h323 = format!("user{index:05}");
            user.groups = group(false);
            user.devices = vec![DeviceConfig {
                hw: format!("phone-{index:05}"),
                text: "innovaphone IP112".to_owned(),
                kind: DeviceKind::Phone,
                registered: true,
            }];
            objects.push(user);
        }
        Self {
            nodes: vec![Node {
                name: "root".to_owned(),
                num: String::new(),
            }],
            objects,
        }
    }

    /// The numbering nodes; the first one is the root node.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The objects in configuration order.
    pub fn objects(&self) -> &[Object] {
        &self.objects
    }

    /// The object with the given long name.
    pub fn object(&self, cn: &str) -> Option<&Object> {
        self.objects.iter().find(|object| object.cn == cn)
    }

    pub(crate) fn into_parts(self) -> (Vec<Node>, Vec<Object>) {
        (self.nodes, self.objects)
    }
}

impl Object {
    /// A new object with defaults for everything but its long name and type.
    pub fn new(cn: &str, kind: ObjectKind) -> Self {
        Self {
            cn: cn.to_owned(),
            dn: cn.to_owned(),
            e164: String::new(),
            h323: String::new(),
            guid: derived_guid(cn),
            kind,
            node: 0,
            loc: String::new(),
            groups: Vec::new(),
            devices: Vec::new(),
            password: None,
            presence: Presence::default(),
            forwards: Forwards::default(),
            hidden: false,
            email: Vec::new(),
            fake: String::new(),
            busy_on_busy: false,
            members: Vec::new(),
            registered: kind != ObjectKind::Endpoint,
        }
    }

    /// Whether the object is registered: one of its devices is, or, without devices, the
    /// configured state.
    pub fn is_registered(&self) -> bool {
        if self.devices.is_empty() {
            self.registered
        } else {
            self.devices.iter().any(|device| device.registered)
        }
    }
}

/// A GUID derived from the long name, stable across releases (two FNV-1a-64 passes with
/// different offsets), so line ids derived from it never change for the same directory.
pub(crate) fn derived_guid(cn: &str) -> String {
    let pass = |offset: u64| {
        cn.bytes().fold(offset, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    format!(
        "{:016x}{:016x}",
        pass(0xcbf2_9ce4_8422_2325),
        pass(0x8422_2325_cbf2_9ce4)
    )
}

/// Why a directory could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DirectoryError {
    /// The TOML parsed but describes an inconsistent PBX.
    #[error("invalid directory: {}", DisplayProblems(problems))]
    Invalid {
        /// Every problem found.
        problems: Vec<DirectoryProblem>,
    },
    /// The file could not be read.
    #[error("cannot read directory file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The text is not TOML of the expected shape.
    #[error("invalid directory TOML")]
    Toml(#[source] toml::de::Error),
}

/// One consistency problem of a directory.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DirectoryProblem {
    /// Two objects share a long name.
    #[error("duplicate cn `{cn}`")]
    DuplicateCn {
        /// The long name.
        cn: String,
    },
    /// Two objects share an `h323` name.
    #[error("objects `{first}` and `{second}` share h323 name `{h323}`")]
    DuplicateH323 {
        /// The name.
        h323: String,
        /// The object configured first.
        first: String,
        /// The object configured second.
        second: String,
    },
    /// Two nodes share a name.
    #[error("duplicate node `{name}`")]
    DuplicateNode {
        /// The node name.
        name: String,
    },
    /// Two objects of one node share an extension.
    #[error("objects `{first}` and `{second}` share number `{e164}` in node `{node}`")]
    DuplicateNumber {
        /// The node name.
        node: String,
        /// The extension.
        e164: String,
        /// The object configured first.
        first: String,
        /// The object configured second.
        second: String,
    },
    /// An object has an empty long name.
    #[error("an object has an empty cn")]
    EmptyCn,
    /// A device's hardware id is empty or used twice.
    #[error("object `{cn}`: device hw `{hw}` is empty or used twice")]
    InvalidDevice {
        /// The object.
        cn: String,
        /// The hardware id.
        hw: String,
    },
    /// A GUID is not 32 hex characters.
    #[error("object `{cn}`: guid `{guid}` is not 32 hex characters")]
    InvalidGuid {
        /// The object.
        cn: String,
        /// The value.
        guid: String,
    },
    /// An unknown device kind.
    #[error("object `{cn}`: unknown device kind `{kind}` (phone, third-party)")]
    UnknownDeviceKind {
        /// The object.
        cn: String,
        /// The value.
        kind: String,
    },
    /// A broadcast member that is not an object.
    #[error("object `{cn}`: member `{member}` is not an object")]
    UnknownMember {
        /// The broadcast object.
        cn: String,
        /// The missing member.
        member: String,
    },
    /// An object refers to a node that does not exist.
    #[error("object `{cn}`: unknown node `{node}`")]
    UnknownNode {
        /// The object.
        cn: String,
        /// The node name.
        node: String,
    },
    /// An unknown presence status.
    #[error("object `{cn}`: unknown presence status `{status}` (open, closed)")]
    UnknownPresenceStatus {
        /// The object.
        cn: String,
        /// The value.
        status: String,
    },
    /// An unknown object type.
    #[error("object `{cn}`: unknown type `{kind}` (ep, gw, waiting, broadcast)")]
    UnknownType {
        /// The object.
        cn: String,
        /// The value.
        kind: String,
    },
}

struct DisplayProblems<'a>(&'a [DirectoryProblem]);

impl fmt::Display for DisplayProblems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDirectory {
    #[serde(default)]
    node: Vec<RawNode>,
    #[serde(default)]
    object: Vec<RawObject>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    name: String,
    #[serde(default)]
    num: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObject {
    cn: String,
    dn: Option<String>,
    #[serde(default)]
    e164: String,
    #[serde(default)]
    h323: String,
    guid: Option<String>,
    #[serde(rename = "type", default = "default_type")]
    kind: String,
    node: Option<String>,
    #[serde(default)]
    loc: String,
    #[serde(default)]
    groups: Vec<RawGroup>,
    #[serde(default)]
    devices: Vec<RawDevice>,
    password: Option<String>,
    #[serde(default)]
    presence: RawPresence,
    #[serde(default)]
    forwards: RawForwards,
    #[serde(default)]
    hide: bool,
    #[serde(default)]
    email: Vec<String>,
    #[serde(default)]
    fake: String,
    #[serde(default)]
    busy_on_busy: bool,
    #[serde(default)]
    members: Vec<String>,
    registered: Option<bool>,
}

fn default_type() -> String {
    "ep".to_owned()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    name: String,
    #[serde(default)]
    active: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDevice {
    hw: String,
    #[serde(default)]
    text: String,
    #[serde(default = "default_device_kind")]
    kind: String,
    #[serde(default = "default_true")]
    registered: bool,
}

fn default_device_kind() -> String {
    "phone".to_owned()
}

fn default_true() -> bool {
    true
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPresence {
    status: Option<String>,
    activity: Option<String>,
    note: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForwards {
    cfu: Option<String>,
    cfb: Option<String>,
    cfnr: Option<String>,
}

impl RawDirectory {
    fn validate(self) -> Result<Directory, DirectoryError> {
        let mut problems = Vec::new();
        let mut nodes = Vec::new();
        for raw in self.node {
            if nodes.iter().any(|node: &Node| node.name == raw.name) {
                problems.push(DirectoryProblem::DuplicateNode { name: raw.name });
                continue;
            }
            nodes.push(Node {
                name: raw.name,
                num: raw.num,
            });
        }
        if nodes.is_empty() {
            nodes.push(Node {
                name: "root".to_owned(),
                num: String::new(),
            });
        }
        let cns: BTreeSet<&str> = self
            .object
            .iter()
            .map(|object| object.cn.as_str())
            .collect();
        let mut objects: Vec<Object> = Vec::with_capacity(self.object.len());
        let mut numbers: BTreeMap<(usize, String), String> = BTreeMap::new();
        let mut names: BTreeMap<String, String> = BTreeMap::new();
        for raw in &self.object {
            if let Some(object) = raw.to_object(&nodes, &cns, &mut problems) {
                if objects.iter().any(|other| other.cn == object.cn) {
                    problems.push(DirectoryProblem::DuplicateCn {
                        cn: object.cn.clone(),
                    });
                }
                if !object.e164.is_empty() {
                    let key = (object.node, object.e164.clone());
                    if let Some(first) = numbers.get(&key) {
                        problems.push(DirectoryProblem::DuplicateNumber {
                            node: nodes[object.node].name.clone(),
                            e164: object.e164.clone(),
                            first: first.clone(),
                            second: object.cn.clone(),
                        });
                    } else {
                        numbers.insert(key, object.cn.clone());
                    }
                }
                if !object.h323.is_empty() {
                    if let Some(first) = names.get(&object.h323) {
                        problems.push(DirectoryProblem::DuplicateH323 {
                            h323: object.h323.clone(),
                            first: first.clone(),
                            second: object.cn.clone(),
                        });
                    } else {
                        names.insert(object.h323.clone(), object.cn.clone());
                    }
                }
                objects.push(object);
            }
        }
        if problems.is_empty() {
            Ok(Directory { nodes, objects })
        } else {
            Err(DirectoryError::Invalid { problems })
        }
    }
}

impl RawObject {
    fn to_object(
        &self,
        nodes: &[Node],
        cns: &BTreeSet<&str>,
        problems: &mut Vec<DirectoryProblem>,
    ) -> Option<Object> {
        let before = problems.len();
        let cn = self.cn.clone();
        if cn.is_empty() {
            problems.push(DirectoryProblem::EmptyCn);
        }
        let kind = ObjectKind::parse(&self.kind);
        if kind.is_none() {
            problems.push(DirectoryProblem::UnknownType {
                cn: cn.clone(),
                kind: self.kind.clone(),
            });
        }
        let node = match &self.node {
            None => Some(0),
            Some(name) => {
                let index = nodes.iter().position(|node| &node.name == name);
                if index.is_none() {
                    problems.push(DirectoryProblem::UnknownNode {
                        cn: cn.clone(),
                        node: name.clone(),
                    });
                }
                index
            }
        };
        let guid = match &self.guid {
            None => derived_guid(&cn),
            Some(guid) => {
                if guid.len() != 32 || !guid.bytes().all(|byte| byte.is_ascii_hexdigit()) {
                    problems.push(DirectoryProblem::InvalidGuid {
                        cn: cn.clone(),
                        guid: guid.clone(),
                    });
                }
                guid.to_ascii_lowercase()
            }
        };
        let mut devices: Vec<DeviceConfig> = Vec::new();
        for raw in &self.devices {
            if raw.hw.is_empty() || devices.iter().any(|device| device.hw == raw.hw) {
                problems.push(DirectoryProblem::InvalidDevice {
                    cn: cn.clone(),
                    hw: raw.hw.clone(),
                });
            }
            let kind = match raw.kind.as_str() {
                "phone" => DeviceKind::Phone,
                "third-party" => DeviceKind::ThirdParty,
                other => {
                    problems.push(DirectoryProblem::UnknownDeviceKind {
                        cn: cn.clone(),
                        kind: other.to_owned(),
                    });
                    DeviceKind::Phone
                }
            };
            devices.push(DeviceConfig {
                hw: raw.hw.clone(),
                text: raw.text.clone(),
                kind,
                registered: raw.registered,
            });
        }
        let status = match &self.presence.status {
            None => None,
            Some(status) => {
                let parsed = PresenceStatus::parse(status);
                if parsed.is_none() {
                    problems.push(DirectoryProblem::UnknownPresenceStatus {
                        cn: cn.clone(),
                        status: status.clone(),
                    });
                }
                parsed
            }
        };
        for member in &self.members {
            if !cns.contains(member.as_str()) {
                problems.push(DirectoryProblem::UnknownMember {
                    cn: cn.clone(),
                    member: member.clone(),
                });
            }
        }
        if problems.len() > before {
            return None;
        }
        let kind = kind?;
        let mut forwards = Forwards::default();
        forwards.set(ForwardKind::Unconditional, self.forwards.cfu.as_deref());
        forwards.set(ForwardKind::Busy, self.forwards.cfb.as_deref());
        forwards.set(ForwardKind::NoAnswer, self.forwards.cfnr.as_deref());
        let empty_to_none = |value: &Option<String>| value.clone().filter(|text| !text.is_empty());
        Some(Object {
            dn: self.dn.clone().unwrap_or_else(|| cn.clone()),
            e164: self.e164.clone(),
            h323: self.h323.clone(),
            guid,
            kind,
            node: node?,
            loc: self.loc.clone(),
            groups: self
                .groups
                .iter()
                .map(|group| Group {
                    group: group.name.clone(),
                    active: group.active,
                })
                .collect(),
            devices,
            password: self.password.clone(),
            presence: Presence {
                status,
                activity: empty_to_none(&self.presence.activity),
                note: empty_to_none(&self.presence.note),
            },
            forwards,
            hidden: self.hide,
            email: self.email.clone(),
            fake: self.fake.clone(),
            busy_on_busy: self.busy_on_busy,
            members: self.members.clone(),
            registered: self.registered.unwrap_or(kind != ObjectKind::Endpoint),
            cn,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_directory_is_complete() {
        let directory = Directory::demo();
        let monitor = directory.object("_TAPI_").expect("monitoring user");
        assert!(monitor.groups.iter().any(|group| group.active));
        assert!(monitor.password.is_some());
        let group = &monitor.groups[0].group;
        for extension in 201..=220 {
            let object = directory
                .objects()
                .iter()
                .find(|object| object.e164 == extension.to_string() && object.node == 0)
                .unwrap_or_else(|| panic!("extension {extension}"));
            assert_eq!(object.kind, ObjectKind::Endpoint);
            assert!(object.is_registered(), "{}", object.cn);
            assert!(
                object.groups.iter().any(|g| &g.group == group && !g.active),
                "{}",
                object.cn
            );
        }
        let kinds: BTreeSet<ObjectKind> = directory.objects().iter().map(|o| o.kind).collect();
        assert_eq!(kinds.len(), 4);
        assert_eq!(directory.nodes().len(), 2);
        assert!(directory.objects().iter().any(|object| object.node == 1));
        assert!(
            directory
                .objects()
                .iter()
                .any(|object| object.devices.len() > 1)
        );
        assert!(
            directory
                .objects()
                .iter()
                .flat_map(|object| &object.devices)
                .any(|device| device.kind == DeviceKind::ThirdParty)
        );
    }

    #[test]
    fn generated_directory_scales() {
        let directory = Directory::generated(20_000);
        assert_eq!(directory.objects().len(), 20_002);
        let last = directory.object("User 20000").expect("last user");
        assert_eq!(last.e164, "30000");
        assert_eq!(last.guid.len(), 32);
        let guids: BTreeSet<&str> = directory
            .objects()
            .iter()
            .map(|o| o.guid.as_str())
            .collect();
        assert_eq!(guids.len(), 20_002);
    }

    #[test]
    fn parses_every_field() {
        let directory = Directory::from_toml(
            r#"
            [[node]]
            name = "root"
            [[node]]
            name = "branch"
            num = "8"
            [[object]]
            cn = "Alice"
            dn = "Alice A."
            e164 = "201"
            h323 = "alice"
            guid = "00112233445566778899AABBCCDDEEFF"
            node = "branch"
            loc = "slave"
            groups = [{ name = "g", active = true }]
            devices = [{ hw = "a1", text = "IP112" }, { hw = "a2", kind = "third-party", registered = false }]
            password = "pw"
            presence = { status = "closed", activity = "dnd", note = "away" }
            forwards = { cfu = "202", cfb = "", cfnr = "0301" }
            hide = true
            email = ["alice@example.com"]
            fake = "200"
            busy_on_busy = true
            [[object]]
            cn = "Group"
            type = "broadcast"
            members = ["Alice"]
            "#,
        )
        .expect("valid directory");
        let alice = directory.object("Alice").expect("Alice");
        assert_eq!(alice.dn, "Alice A.");
        assert_eq!(alice.guid, "00112233445566778899aabbccddeeff");
        assert_eq!(alice.node, 1);
        assert_eq!(alice.loc, "slave");
        assert_eq!(alice.devices[1].kind, DeviceKind::ThirdParty);
        assert!(!alice.devices[1].registered);
        assert!(alice.is_registered());
        assert_eq!(alice.presence.status, Some(PresenceStatus::Closed));
        assert!(alice.presence.dnd());
        assert_eq!(
            alice.forwards.target(ForwardKind::Unconditional),
            Some("202")
        );
        assert_eq!(alice.forwards.target(ForwardKind::Busy), None);
        assert_eq!(alice.forwards.target(ForwardKind::NoAnswer), Some("0301"));
        assert!(alice.hidden && alice.busy_on_busy);
        let group = directory.object("Group").expect("Group");
        assert_eq!(group.kind, ObjectKind::Broadcast);
        assert!(group.is_registered());
        assert_eq!(group.dn, "Group");
    }

    #[test]
    fn reports_every_problem() {
        let error = Directory::from_toml(
            r#"
            [[node]]
            name = "root"
            [[node]]
            name = "root"
            [[object]]
            cn = "A"
            e164 = "1"
            h323 = "x"
            type = "phone"
            [[object]]
            cn = "B"
            e164 = "1"
            h323 = "x"
            guid = "xyz"
            node = "nowhere"
            [[object]]
            cn = "C"
            e164 = "1"
            h323 = "y"
            devices = [{ hw = "" }, { hw = "d", kind = "fax" }]
            presence = { status = "maybe" }
            members = ["Z"]
            [[object]]
            cn = "D"
            e164 = "1"
            [[object]]
            cn = "D"
            [[object]]
            cn = ""
            "#,
        )
        .expect_err("invalid directory");
        let DirectoryError::Invalid { problems } = &error else {
            panic!("{error}")
        };
        let expected = [
            DirectoryProblem::DuplicateNode {
                name: "root".into(),
            },
            DirectoryProblem::UnknownType {
                cn: "A".into(),
                kind: "phone".into(),
            },
            DirectoryProblem::UnknownNode {
                cn: "B".into(),
                node: "nowhere".into(),
            },
            DirectoryProblem::InvalidGuid {
                cn: "B".into(),
                guid: "xyz".into(),
            },
            DirectoryProblem::InvalidDevice {
                cn: "C".into(),
                hw: String::new(),
            },
            DirectoryProblem::UnknownDeviceKind {
                cn: "C".into(),
                kind: "fax".into(),
            },
            DirectoryProblem::UnknownPresenceStatus {
                cn: "C".into(),
                status: "maybe".into(),
            },
            DirectoryProblem::UnknownMember {
                cn: "C".into(),
                member: "Z".into(),
            },
            DirectoryProblem::DuplicateCn { cn: "D".into() },
            DirectoryProblem::EmptyCn,
        ];
        assert_eq!(problems, &expected[..], "{error}");
        // D's duplicate number with nothing else wrong is reported once the others are fixed.
        let error = Directory::from_toml(
            "[[object]]\ncn = \"A\"\ne164 = \"1\"\nh323 = \"x\"\n\
             [[object]]\ncn = \"B\"\ne164 = \"1\"\nh323 = \"x\"\n",
        )
        .expect_err("duplicates");
        assert_eq!(
            error.to_string(),
            "invalid directory: objects `A` and `B` share number `1` in node `root`; \
             objects `A` and `B` share h323 name `x`"
        );
    }

    #[test]
    fn rejects_unknown_fields_and_bad_toml() {
        let error =
            Directory::from_toml("[[object]]\ncn = \"A\"\ncolour = \"red\"\n").expect_err("field");
        assert!(matches!(error, DirectoryError::Toml(_)), "{error}");
        assert!(matches!(
            Directory::from_toml("[[object]"),
            Err(DirectoryError::Toml(_))
        ));
        let missing = Directory::from_file(Path::new("does-not-exist.toml")).expect_err("missing");
        assert!(matches!(missing, DirectoryError::Read { .. }), "{missing}");
    }

    #[test]
    fn derived_guids_are_stable() {
        assert_eq!(derived_guid("Alice"), derived_guid("Alice"));
        assert_ne!(derived_guid("Alice"), derived_guid("alice"));
        assert_eq!(derived_guid(""), "cbf29ce48422232584222325cbf29ce4");
    }
}
