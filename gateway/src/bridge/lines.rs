//! PBX objects and the lines made from them.
//!
//! Every `UserInfo` updates the directory of objects; objects of the configured types become
//! lines (one per object, one per device when devices are mapped, plus a presence line when
//! configured). A line's device id is its address (node prefix + extension unless pure node
//! extensions are configured), prefixed with the PBX's device prefix.

use std::collections::BTreeMap;
use std::sync::Arc;

use pbx_soap::records::{Device, Presence, UserInfo};

use super::{Bridge, SiteId};
use crate::events::{DeviceEvent, DeviceId, EventKind, ForwardKind, LocalState};
use crate::line_name::LineFields;
use crate::numbers;

/// A PBX object as the directory knows it.
///
/// Kept for every user of the PBX, so values that many objects share (the type, the set of
/// groups) are shared rather than copied.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Object {
    /// Long name (the key of every per-user SOAP operation).
    pub cn: String,
    /// Display name.
    pub dn: String,
    /// Object type (`ep`, `gw`, `waiting`, `broadcast`, ...).
    pub kind: Arc<str>,
    /// Extension.
    pub e164: String,
    /// H.323 name.
    pub h323: String,
    /// Object GUID.
    pub guid: String,
    /// Node name.
    pub node: String,
    /// Node number.
    pub nodenum: String,
    /// The location the object is homed at (empty: this PBX).
    pub loc: String,
    /// Groups the object is a member of.
    pub groups: Arc<[String]>,
    /// Whether its terminal is registered.
    pub registered: bool,
    /// Presence.
    pub presence: Option<Presence>,
    /// Configured devices (when devices are mapped to lines).
    pub devices: Vec<Device>,
    /// The site whose session reported the object.
    pub site: SiteId,
    /// The lines made from the object: its index into the bridge's lines.
    lines: Vec<DeviceId>,
}

/// What a line stands for.
#[derive(Clone, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum LineKind {
    /// The object (all its devices).
    Object,
    /// One device (`hw`) of the object.
    Device(String),
    /// The object's presence.
    Presence,
}

/// A line: a monitored device published through CSTA.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Line {
    /// CSTA device id.
    pub device: DeviceId,
    /// Stable key that survives renumbering: `{pbx}/{guid}[/{hw}|/presence]`.
    pub key: String,
    /// Display name from the configured pattern.
    pub name: String,
    /// What the line stands for.
    pub kind: LineKind,
    /// The object's long name.
    pub cn: String,
    /// The object's type.
    pub object_kind: String,
    /// Address (extension with node prefix unless pure node extensions).
    pub address: String,
    /// Full international number, when the numbering is configured.
    pub international: Option<String>,
    /// Groups of the object (for access control by group).
    pub groups: Vec<String>,
    /// The site (PBX session) the line is monitored on.
    pub site: SiteId,
    /// Whether the object's terminal is registered.
    pub registered: bool,
    /// Whether the line is usable: its PBX session is up and (for endpoints) it is registered.
    pub in_service: bool,
    /// Do-not-disturb (presence activity `dnd`).
    pub dnd: bool,
    /// Forwarding destinations by kind.
    pub forwards: BTreeMap<ForwardKind, String>,
}

/// How the set of lines changed.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct LineChanges {
    /// Lines that appeared.
    pub added: Vec<DeviceId>,
    /// Lines that disappeared.
    pub removed: Vec<DeviceId>,
    /// Lines whose name, address or groups changed.
    pub changed: Vec<DeviceId>,
}

impl LineChanges {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// Adds later changes to these.
    pub fn extend(&mut self, later: Self) {
        self.added.extend(later.added);
        self.removed.extend(later.removed);
        self.changed.extend(later.changed);
    }
}

impl Object {
    fn from_user_info(
        info: &UserInfo,
        site: SiteId,
        kind: Arc<str>,
        groups: Arc<[String]>,
    ) -> Self {
        Self {
            cn: info.cn.clone(),
            dn: info.dn.clone(),
            kind,
            e164: info.e164.clone(),
            h323: info.h323.clone(),
            guid: info.guid.clone(),
            node: info.node.clone(),
            nodenum: info.nodenum.clone(),
            loc: info.loc.clone(),
            groups,
            registered: info.registered(),
            presence: info.presence.clone(),
            devices: Vec::new(),
            site,
            lines: Vec::new(),
        }
    }

    /// A gateway object with a number: a trunk that external numbers are reached through.
    fn is_trunk(&self) -> bool {
        &*self.kind == "gw" && !self.e164.is_empty()
    }
}

impl Bridge {
    /// The address of an object: node prefix + extension, or the extension alone with pure
    /// node extensions; the H.323 name for objects without a number.
    pub(crate) fn address_of(&self, object: &Object) -> String {
        if object.e164.is_empty() {
            return object.h323.clone();
        }
        if self.settings.pure_node_extensions || object.nodenum.is_empty() {
            return object.e164.clone();
        }
        format!("{}{}", object.nodenum, object.e164)
    }

    /// The device id of an address.
    pub(crate) fn device_id(&self, address: &str) -> DeviceId {
        if self.settings.device_prefix.is_empty() {
            DeviceId::new(address)
        } else {
            DeviceId::new(&format!("{}{address}", self.settings.device_prefix))
        }
    }

    /// Applies a `UserInfo` from a site's session. Returns the events for monitors and how the
    /// set of lines changed.
    ///
    /// The master's records define the objects; a slave's records update only the registration
    /// and presence of the objects homed on that slave.
    pub fn on_user_info(
        &mut self,
        site: SiteId,
        info: &UserInfo,
    ) -> (Vec<DeviceEvent>, LineChanges) {
        if info.is_end_of_dump() {
            return (Vec::new(), LineChanges::default());
        }
        if site != SiteId::MASTER {
            let Some(object) = self.objects.get_mut(&info.cn) else {
                return (Vec::new(), LineChanges::default());
            };
            if object.site != site || !info.active {
                return (Vec::new(), LineChanges::default());
            }
            object.registered = info.registered();
            object.presence = info.presence.clone();
            let events = self.refresh_line_state(&info.cn);
            return (events, LineChanges::default());
        }
        if !info.active {
            self.trunks.remove(&info.cn);
            let Some(removed) = self.objects.remove(&info.cn) else {
                return (Vec::new(), LineChanges::default());
            };
            self.leave_home(&removed.loc);
            return (Vec::new(), self.rebuild_lines(&info.cn, removed.lines));
        }
        let owner = self.owner_of(&info.loc);
        let kind = self.shared_kind(&info.kind);
        let groups = self.shared_groups(info);
        let mut object = Box::new(Object::from_user_info(info, owner, kind, groups));
        let mut existing = Vec::new();
        if !info.loc.is_empty() {
            *self.homes.entry(info.loc.clone()).or_default() += 1;
        }
        if let Some(previous) = self.objects.get_mut(&info.cn) {
            let home = std::mem::take(&mut previous.loc);
            // Devices come from `Devices`, not from UserInfo.
            object.devices = std::mem::take(&mut previous.devices);
            existing = std::mem::take(&mut previous.lines);
            if owner != SiteId::MASTER {
                // The slave reports registration and presence of its own objects.
                object.registered = previous.registered;
                object.presence = previous.presence.take();
            }
            self.leave_home(&home);
        }
        if object.is_trunk() {
            self.trunks.insert(info.cn.clone());
        } else {
            self.trunks.remove(&info.cn);
        }
        self.objects.insert(info.cn.clone(), object);
        let changes = self.rebuild_lines(&info.cn, existing);
        let events = self.refresh_line_state(&info.cn);
        (events, changes)
    }

    /// Whether a UserInfo of a poll answer is applied before the answer's CallInfos.
    ///
    /// A poll answer carries its UserInfos and CallInfos in two separate lists, so the
    /// order between a user change and a call event is not on the wire. An object that
    /// appears or whose terminal registers must exist before its calls; every other change
    /// (presence, do not disturb, unregistration, removal) is taken as the latest news and
    /// applied after the calls.
    pub fn user_info_precedes_calls(&self, info: &UserInfo) -> bool {
        if info.is_end_of_dump() || !info.active {
            return false;
        }
        match self.objects.get(&info.cn) {
            None => true,
            Some(object) => !object.registered && info.registered(),
        }
    }

    /// The site that monitors objects homed at `loc` (empty: this PBX).
    fn owner_of(&self, loc: &str) -> SiteId {
        if loc.is_empty() || !self.settings.monitor_slaves {
            return SiteId::MASTER;
        }
        self.locations.get(loc).copied().unwrap_or(SiteId::MASTER)
    }

    /// Registers the session for a slave location and moves the objects homed there to it.
    /// Returns the lines that moved (they must be initialised on the new site).
    pub fn add_site(&mut self, location: &str) -> (SiteId, Vec<DeviceId>) {
        if let Some(site) = self.locations.get(location) {
            return (*site, Vec::new());
        }
        let site = SiteId(u32::try_from(self.locations.len() + 1).unwrap_or(u32::MAX));
        self.locations.insert(location.to_owned(), site);
        if !self.settings.monitor_slaves {
            return (site, Vec::new());
        }
        let mut moved = Vec::new();
        for object in self
            .objects
            .values_mut()
            .filter(|object| object.loc == location)
        {
            object.site = site;
            object.registered = false;
            for device in &object.lines {
                let Some(line) = self.lines.get_mut(device) else {
                    continue;
                };
                if line.site != site {
                    Arc::make_mut(line).site = site;
                    self.calls.touch_line(device);
                    moved.push(device.clone());
                }
            }
        }
        moved.sort_unstable();
        (site, moved)
    }

    /// The locations of objects that are homed on another PBX and not yet monitored there,
    /// ordered.
    pub fn unmonitored_locations(&self) -> Vec<String> {
        self.homes
            .keys()
            .filter(|location| !self.locations.contains_key(*location))
            .cloned()
            .collect()
    }

    /// The object type, shared by every object of that type.
    fn shared_kind(&mut self, kind: &str) -> Arc<str> {
        if let Some(shared) = self.kinds.get(kind) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(kind);
        self.kinds.insert(shared.clone());
        shared
    }

    /// The groups of a `UserInfo`, shared by every object in exactly these groups.
    fn shared_groups(&mut self, info: &UserInfo) -> Arc<[String]> {
        let groups: Vec<String> = info.groups.iter().map(|g| g.group.clone()).collect();
        if let Some(shared) = self.group_sets.get(groups.as_slice()) {
            return shared.clone();
        }
        let shared: Arc<[String]> = Arc::from(groups);
        self.group_sets.insert(shared.clone());
        shared
    }

    /// An object homed at `location` left it (it is gone or moved).
    fn leave_home(&mut self, location: &str) {
        let Some(count) = self.homes.get_mut(location) else {
            return;
        };
        *count -= 1;
        if *count == 0 {
            self.homes.remove(location);
        }
    }

    /// Records the configured devices of an object (from `Devices`).
    pub fn set_devices(&mut self, cn: &str, devices: Vec<Device>) -> LineChanges {
        let Some(object) = self.objects.get_mut(cn) else {
            return LineChanges::default();
        };
        object.devices = devices;
        let existing = std::mem::take(&mut object.lines);
        self.rebuild_lines(cn, existing)
    }

    /// Records the forwarding of an object (from `Admin show`), returning Forwarding events for
    /// what changed.
    pub fn set_forwards(
        &mut self,
        cn: &str,
        forwards: BTreeMap<ForwardKind, String>,
    ) -> Vec<DeviceEvent> {
        let Self {
            objects,
            lines,
            calls,
            ..
        } = self;
        let Some(object) = objects.get(cn) else {
            return Vec::new();
        };
        let mut events = Vec::new();
        for device in &object.lines {
            let Some(line) = lines.get_mut(device) else {
                continue;
            };
            if line.kind == LineKind::Presence || line.forwards == forwards {
                continue;
            }
            for kind in [
                ForwardKind::Immediate,
                ForwardKind::Busy,
                ForwardKind::NoAnswer,
            ] {
                let old = line.forwards.get(&kind);
                let new = forwards.get(&kind);
                if old == new {
                    continue;
                }
                events.push(line_event(
                    &line.device,
                    EventKind::Forwarding {
                        kind,
                        on: new.is_some(),
                        to: new.cloned(),
                    },
                ));
            }
            Arc::make_mut(line).forwards = forwards.clone();
            calls.touch_line(device);
        }
        events
    }

    /// Marks a site's lines out of service (its PBX session failed).
    pub fn site_down(&mut self, site: SiteId) -> Vec<DeviceEvent> {
        self.sites_up.remove(&site);
        self.refresh_site(site)
    }

    /// Marks a site up (its session is initialised); lines come back in service as their
    /// objects are reported.
    pub fn site_up(&mut self, site: SiteId) -> Vec<DeviceEvent> {
        self.sites_up.insert(site);
        self.refresh_site(site)
    }

    /// Recomputes the state of every line of a site, in the order of the objects' long names.
    fn refresh_site(&mut self, site: SiteId) -> Vec<DeviceEvent> {
        let mut cns: Vec<String> = self
            .objects
            .values()
            .filter(|o| o.site == site)
            .map(|o| o.cn.clone())
            .collect();
        cns.sort_unstable();
        let mut events = Vec::new();
        for cn in cns {
            events.extend(self.refresh_line_state(&cn));
        }
        events
    }

    /// The lines of an object that a session must `UserInitialize`, with the device (`hw`) to
    /// monitor, if any.
    pub fn monitored_devices(&self, cn: &str) -> Vec<(DeviceId, Option<String>)> {
        let Some(object) = self.objects.get(cn) else {
            return Vec::new();
        };
        object
            .lines
            .iter()
            .filter_map(|device| self.lines.get(device))
            .filter_map(|line| line.monitored_device())
            .collect()
    }

    fn wanted_lines(&self, object: &Object) -> Vec<Line> {
        if !self
            .settings
            .line_types
            .iter()
            .any(|kind| **kind == *object.kind)
        {
            return Vec::new();
        }
        if object.cn == self.settings.monitor_user {
            return Vec::new();
        }
        let address = self.address_of(object);
        if address.is_empty() {
            return Vec::new();
        }
        let international = numbers::extension_international(&address, &self.settings.numbering);
        let base_key = format!("{}/{}", self.settings.pbx, guid_or_cn(object));
        let location = if object.loc.is_empty() {
            ""
        } else {
            object.loc.as_str()
        };
        let name = |device_text: &str, device: &str| -> String {
            self.settings.line_name.expand(&LineFields {
                cn: &object.cn,
                dn: &object.dn,
                h323: &object.h323,
                kind: &object.kind,
                e164: &object.e164,
                international: international.as_deref().unwrap_or_default(),
                node: &object.node,
                nodenum: &object.nodenum,
                pbx: &self.settings.pbx,
                location,
                device,
                device_text,
                address: &address,
            })
        };
        let line = |device: DeviceId, key: String, name: String, kind: LineKind| Line {
            device,
            key,
            name,
            kind,
            cn: object.cn.clone(),
            object_kind: object.kind.to_string(),
            address: address.clone(),
            international: international.clone(),
            groups: object.groups.to_vec(),
            site: object.site,
            registered: false,
            in_service: false,
            dnd: false,
            forwards: BTreeMap::new(),
        };
        let mut lines = Vec::new();
        if self.settings.map_devices && !object.devices.is_empty() {
            for device in &object.devices {
                let id = self.device_id(&format!("{address}:{}", device.hw));
                let key = format!("{base_key}/{}", device.hw);
                let name = name(&device.text, &device.hw);
                lines.push(line(id, key, name, LineKind::Device(device.hw.clone())));
            }
        } else {
            lines.push(line(
                self.device_id(&address),
                base_key.clone(),
                name("", ""),
                LineKind::Object,
            ));
        }
        if self.settings.presence_lines && &*object.kind == "ep" {
            let id = self.device_id(&format!("{address}:presence"));
            let name = format!("{} presence", name("", ""));
            lines.push(line(
                id,
                format!("{base_key}/presence"),
                name,
                LineKind::Presence,
            ));
        }
        lines
    }

    /// Makes the line set of one object match what it should be; `existing` are the lines the
    /// object had.
    fn rebuild_lines(&mut self, cn: &str, existing: Vec<DeviceId>) -> LineChanges {
        let wanted = match self.objects.get(cn) {
            Some(object) => self.wanted_lines(object),
            None => Vec::new(),
        };
        let mut changes = LineChanges::default();
        for device in existing {
            if wanted.iter().any(|line| line.device == device) {
                continue;
            }
            self.lines.remove(&device);
            self.unbind_line(&device);
            self.calls.touch_line(&device);
            changes.removed.push(device);
        }
        let mut owned = Vec::with_capacity(wanted.len());
        for mut line in wanted {
            let device = line.device.clone();
            match self.lines.get_mut(&device) {
                Some(current) if current.cn != cn => {
                    tracing::warn!(
                        device = %device,
                        first = %current.cn,
                        second = %cn,
                        "two PBX objects have the same address; the second gets no line"
                    );
                    continue;
                }
                Some(current) => {
                    line.registered = current.registered;
                    line.in_service = current.in_service;
                    line.dnd = current.dnd;
                    line.forwards = current.forwards.clone();
                    if **current == line {
                        owned.push(device);
                        continue;
                    }
                    if current.name != line.name
                        || current.key != line.key
                        || current.groups != line.groups
                        || current.site != line.site
                    {
                        changes.changed.push(device.clone());
                    }
                    *current = Arc::new(line);
                }
                None => {
                    changes.added.push(device.clone());
                    self.lines.insert(device.clone(), Arc::new(line));
                }
            }
            self.calls.touch_line(&device);
            owned.push(device);
        }
        if let Some(object) = self.objects.get_mut(cn) {
            object.lines = owned;
        }
        changes
    }

    /// Recomputes registration, service and DND of an object's lines, returning the events.
    fn refresh_line_state(&mut self, cn: &str) -> Vec<DeviceEvent> {
        let Self {
            objects,
            lines,
            calls,
            sites_up,
            ..
        } = self;
        let Some(object) = objects.get(cn) else {
            return Vec::new();
        };
        let site_up = sites_up.contains(&object.site);
        let registered = object.registered || &*object.kind != "ep";
        let presence_open = object
            .presence
            .as_ref()
            .and_then(|presence| presence.status)
            .is_none_or(|status| status == pbx_soap::records::PresenceStatus::Open);
        let dnd = object.presence.as_ref().is_some_and(Presence::dnd);
        let mut events = Vec::new();
        for device in &object.lines {
            let Some(shared) = lines.get_mut(device) else {
                continue;
            };
            let in_service = site_up
                && match shared.kind {
                    LineKind::Presence => presence_open,
                    LineKind::Object | LineKind::Device(_) => registered,
                };
            let dnd_changes = shared.dnd != dnd && site_up;
            if shared.registered == registered && shared.in_service == in_service && !dnd_changes {
                continue;
            }
            calls.touch_line(device);
            let line = Arc::make_mut(shared);
            line.registered = registered;
            if line.in_service != in_service {
                line.in_service = in_service;
                events.push(line_event(
                    &line.device,
                    if in_service {
                        EventKind::BackInService
                    } else {
                        EventKind::OutOfService
                    },
                ));
            }
            if dnd_changes {
                line.dnd = dnd;
                events.push(line_event(
                    &line.device,
                    EventKind::DoNotDisturb { on: dnd },
                ));
            }
        }
        events
    }
}

impl Line {
    /// What a session must `UserInitialize` for this line: the line's device and the device
    /// (`hw`) to monitor, if any; `None` for presence lines, which have no calls.
    pub fn monitored_device(&self) -> Option<(DeviceId, Option<String>)> {
        match &self.kind {
            LineKind::Object => Some((self.device.clone(), None)),
            LineKind::Device(hw) => Some((self.device.clone(), Some(hw.clone()))),
            LineKind::Presence => None,
        }
    }
}

/// An event at a line outside any call.
fn line_event(device: &DeviceId, kind: EventKind) -> DeviceEvent {
    DeviceEvent {
        device: device.clone(),
        call: None,
        local: LocalState::Null,
        conf: None,
        kind,
    }
}

fn guid_or_cn(object: &Object) -> &str {
    if object.guid.is_empty() {
        &object.cn
    } else {
        &object.guid
    }
}
