//! The bridge: PBX records in, CSTA-shaped events out. Pure: no I/O, time is an argument.
//!
//! One [`Bridge`] holds the model of one PBX system (its master, standby and slaves): the
//! directory of objects, the lines made from them, and the calls with one leg per monitored
//! line. The PBX link feeds it every record of every session in order; each call returns the
//! events that the monitors of the affected devices must see, in order.
//!
//! Call ids are assigned by the bridge (one per PBX call, shared by every leg with the same
//! `conf` GUID) and never change for the life of the call; the `conf` GUID itself is exposed as
//! the global correlation id.
//!
//! Every operation on one record is independent of the number of lines: objects and lines are
//! found by key, an object knows its lines, legs are indexed by call, by line and by `conf`,
//! and trunks are kept apart from the directory. What changed is remembered (see
//! [`Bridge::take_touched`]) so that the registry copies exactly that.

mod calls;
mod lines;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

pub use calls::{CallSnapshot, ConnectionSnapshot, LegHandle};
pub use lines::{Line, LineChanges, LineKind, Object};

use crate::config::{Numbering, PbxConfig};
use crate::events::{CallId, DeviceId};
use crate::line_name::LineNamePattern;

/// A PBX session of one PBX system: the master (or its standby) or a slave location.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct SiteId(pub u32);

impl SiteId {
    /// The master (or the standby while it stands in).
    pub const MASTER: Self = Self(0);
}

/// The settings of a PBX system that shape what the bridge publishes.
#[derive(Clone, Debug)]
pub struct BridgeSettings {
    /// The PBX's configured name.
    pub pbx: String,
    /// The monitoring user (never a line itself).
    pub monitor_user: String,
    /// Prefix of every device id.
    pub device_prefix: String,
    /// Addresses without node prefix.
    pub pure_node_extensions: bool,
    /// Line name pattern.
    pub line_name: LineNamePattern,
    /// Object types that become lines.
    pub line_types: Vec<String>,
    /// One line per device.
    pub map_devices: bool,
    /// Presence lines.
    pub presence_lines: bool,
    /// Monitor slave-homed users on their slave.
    pub monitor_slaves: bool,
    /// Parked calls are not shown.
    pub hide_parked_calls: bool,
    /// External numbers in international form.
    pub full_e164: bool,
    /// Numbering plan for `full_e164`.
    pub numbering: Numbering,
    /// Calls to this number are hidden.
    pub recording_number: Option<String>,
    /// Report `leg2orig` instead of `leg2`.
    pub use_first_leg2: bool,
}

impl BridgeSettings {
    /// The settings of a configured PBX.
    pub fn from_config(config: &PbxConfig) -> Self {
        Self {
            pbx: config.name.clone(),
            monitor_user: config.monitor_user.clone(),
            device_prefix: config.device_prefix.clone(),
            pure_node_extensions: config.pure_node_extensions,
            line_name: config.line_name.clone(),
            line_types: config.line_types.clone(),
            map_devices: config.map_devices,
            presence_lines: config.presence_lines,
            monitor_slaves: config.monitor_slaves,
            hide_parked_calls: config.hide_parked_calls,
            full_e164: config.full_e164,
            numbering: config.numbering.clone(),
            recording_number: config.recording_number.clone(),
            use_first_leg2: config.use_first_leg2,
        }
    }

    /// Settings for tests and the demo: defaults of a PBX named `pbx`.
    pub fn named(pbx: &str) -> Self {
        Self {
            pbx: pbx.to_owned(),
            monitor_user: "_TAPI_".to_owned(),
            device_prefix: String::new(),
            pure_node_extensions: false,
            line_name: LineNamePattern::default(),
            line_types: ["ep", "waiting", "broadcast"].map(str::to_owned).to_vec(),
            map_devices: false,
            presence_lines: false,
            monitor_slaves: true,
            hide_parked_calls: false,
            full_e164: false,
            numbering: Numbering::default(),
            recording_number: None,
            use_first_leg2: false,
        }
    }
}

/// What changed in the model since the last [`Bridge::take_touched`]: the registry copies
/// exactly these lines and calls, so that it never keeps a call the bridge dropped or misses
/// one the bridge created without an event.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Touched {
    /// Lines whose state or calls changed, every line of a touched call included; ordered.
    pub lines: Vec<DeviceId>,
    /// Calls that appeared, changed or ended; ordered.
    pub calls: Vec<CallId>,
}

/// The model of one PBX system.
#[derive(Debug)]
pub struct Bridge {
    settings: BridgeSettings,
    /// Boxed: a large value would make every empty slot of the map as large.
    objects: HashMap<String, Box<Object>>,
    /// Object types and group sets, each kept once (see [`Object`]).
    kinds: HashSet<Arc<str>>,
    group_sets: HashSet<Arc<[String]>>,
    /// Shared with the registry, which keeps the same `Arc` until the line changes.
    lines: HashMap<DeviceId, Arc<Line>>,
    /// Long names of the gateway objects with a number (trunks), for [`Bridge::trunk_of`].
    trunks: BTreeSet<String>,
    /// User handle of a site's session → the line it monitors.
    handles: HashMap<(SiteId, i32), DeviceId>,
    /// The same bindings by line, for [`Bridge::user_handle`] and for unbinding a line.
    handles_by_line: BTreeSet<(DeviceId, SiteId, i32)>,
    sites_up: BTreeSet<SiteId>,
    locations: BTreeMap<String, SiteId>,
    /// Objects homed at each other location (`loc`), for [`Bridge::unmonitored_locations`].
    homes: BTreeMap<String, usize>,
    calls: calls::Calls,
}

impl Bridge {
    /// An empty model. `call_id_seed` makes call ids of this instance distinct from those of
    /// earlier runs (pass something random).
    pub fn new(settings: BridgeSettings, call_id_seed: u32) -> Self {
        Self {
            settings,
            objects: HashMap::new(),
            kinds: HashSet::new(),
            group_sets: HashSet::new(),
            lines: HashMap::new(),
            trunks: BTreeSet::new(),
            handles: HashMap::new(),
            handles_by_line: BTreeSet::new(),
            sites_up: BTreeSet::new(),
            locations: BTreeMap::new(),
            homes: BTreeMap::new(),
            calls: calls::Calls::new(call_id_seed),
        }
    }

    /// Binds a user handle (from `UserInitialize` on a site's session) to a line.
    pub fn bind_handle(&mut self, site: SiteId, handle: i32, device: DeviceId) {
        if let Some(previous) = self.handles.insert((site, handle), device.clone()) {
            self.handles_by_line.remove(&(previous, site, handle));
        }
        self.handles_by_line.insert((device, site, handle));
    }

    /// The session user handle that monitors a line: what `UserCall` and `UserPickup` act as.
    /// A line monitored on two sessions (it moved to a slave) acts on the site it belongs to.
    pub fn user_handle(&self, device: &DeviceId) -> Option<(SiteId, i32)> {
        let home = self.lines.get(device).map(|line| line.site);
        let mut bound = self.handles_of(device);
        let first = bound.next()?;
        if Some(first.0) == home {
            return Some(first);
        }
        Some(bound.find(|(site, _)| Some(*site) == home).unwrap_or(first))
    }

    /// Forgets every handle of a site (its session ended).
    pub fn unbind_site(&mut self, site: SiteId) {
        self.handles
            .retain(|(handle_site, _), _| *handle_site != site);
        self.handles_by_line
            .retain(|(_, handle_site, _)| *handle_site != site);
    }

    /// Forgets every handle of a line (the line is gone).
    fn unbind_line(&mut self, device: &DeviceId) {
        let bound: Vec<(SiteId, i32)> = self.handles_of(device).collect();
        for (site, handle) in bound {
            self.handles.remove(&(site, handle));
            self.handles_by_line.remove(&(device.clone(), site, handle));
        }
    }

    /// The handles bound to a line, by site.
    fn handles_of(&self, device: &DeviceId) -> impl Iterator<Item = (SiteId, i32)> + '_ {
        let first = (device.clone(), SiteId(0), i32::MIN);
        let last = (device.clone(), SiteId(u32::MAX), i32::MAX);
        self.handles_by_line
            .range(first..=last)
            .map(|(_, site, handle)| (*site, *handle))
    }

    /// The settings.
    pub fn settings(&self) -> &BridgeSettings {
        &self.settings
    }

    /// A line by device id.
    pub fn line(&self, device: &DeviceId) -> Option<&Line> {
        self.lines.get(device).map(|line| &**line)
    }

    /// A line by device id, shared: the registry keeps this instead of a copy.
    pub fn shared_line(&self, device: &DeviceId) -> Option<Arc<Line>> {
        self.lines.get(device).cloned()
    }

    /// All lines, ordered by device id.
    pub fn lines(&self) -> impl Iterator<Item = &Line> {
        let mut lines: Vec<&Line> = self.lines.values().map(|line| &**line).collect();
        lines.sort_unstable_by(|a, b| a.device.cmp(&b.device));
        lines.into_iter()
    }

    /// The number of lines.
    pub fn line_count(&self) -> usize {
        self.lines.len()
    }

    /// An object by long name.
    pub fn object(&self, cn: &str) -> Option<&Object> {
        self.objects.get(cn).map(|object| &**object)
    }

    /// All objects, ordered by long name.
    pub fn objects(&self) -> impl Iterator<Item = &Object> {
        let mut objects: Vec<&Object> = self.objects.values().map(|object| &**object).collect();
        objects.sort_unstable_by(|a, b| a.cn.cmp(&b.cn));
        objects.into_iter()
    }

    /// The sites whose sessions are up.
    pub fn sites_up(&self) -> &BTreeSet<SiteId> {
        &self.sites_up
    }

    /// The call ids known for a conf GUID.
    pub fn call_of_conf(&self, conf: &str) -> Option<&CallId> {
        self.calls.call_of_conf(conf)
    }

    /// The lines and calls that changed since the last call, and forgets them. A touched
    /// call brings every line it has a leg at.
    pub fn take_touched(&mut self) -> Touched {
        let (calls, mut lines) = self.calls.take_touched();
        let mut calls: Vec<CallId> = calls.into_iter().collect();
        for call in &calls {
            lines.extend(self.calls.lines_in(call));
        }
        let mut lines: Vec<DeviceId> = lines.into_iter().collect();
        lines.sort_unstable();
        calls.sort_unstable();
        Touched { lines, calls }
    }
}

#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;
