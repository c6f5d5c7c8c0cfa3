//! The `Admin` operation: one XML command against the object configuration.
//!
//! Supported commands (one top-level element, each naming objects with `<user cn="..."/>`,
//! or `h323`/`e164` instead of `cn`):
//!
//! - `<show><user cn="X"/></show>`: the object with its groups (`<grp>`), devices
//!   (`<device>`) and forwards (`<cd type="cfu"><ep e164="..."/></cd>`);
//! - `<modify><user cn="X" dn=".." e164=".." h323=".." hide="true">...</user></modify>`:
//!   attributes given are replaced; `<grp>` children replace the groups, `<cd>` children
//!   replace every forward;
//! - `<add-attrib>` / `<del-attrib>` with `<cd>` (and `<grp>`) children: add or remove single
//!   forwards (groups);
//! - `<add><user cn=".." type="ep" .../></add>` and `<del><user cn=".."/></del>`.
//!
//! The result is `<ok/>`, the `<show>` output, or `<error reason="..."/>`. A configuration
//! change posts a UserInfo with `cfg=true` to every session that sees the object; group
//! changes move objects in or out of session scopes.

use std::fmt::Write as _;
use std::time::Duration;

use quick_xml::Reader;
use quick_xml::escape::escape;
use quick_xml::events::{BytesStart, Event};

use super::{Model, ObjectState, cause};
use crate::records::Group;
use crate::sim::directory::{
    DeviceConfig, DeviceKind, ForwardKind, Object, ObjectKind, derived_guid,
};

/// Deepest element nesting accepted in an Admin command.
const MAX_DEPTH: usize = 16;

#[derive(Debug, Default)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Self>,
}

impl Element {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn flag(&self, name: &str) -> Option<bool> {
        self.attribute(name)
            .map(|value| matches!(value, "true" | "1" | "on"))
    }

    fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Self> + 'a {
        self.children.iter().filter(move |child| child.name == name)
    }
}

fn parse(xml: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Element> = Vec::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|error| format!("malformed xml: {error}"))?;
        match event {
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err("xml nested too deeply".to_owned());
                }
                stack.push(element(&start)?);
            }
            Event::Empty(start) => {
                let done = element(&start)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Ok(done),
                }
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err("malformed xml: unbalanced end tag".to_owned());
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Ok(done),
                }
            }
            Event::Eof => {
                return Err(match stack.last() {
                    Some(open) => format!("malformed xml: <{}> is not closed", open.name),
                    None => "no command element".to_owned(),
                });
            }
            _ => {}
        }
    }
}

fn element(start: &BytesStart<'_>) -> Result<Element, String> {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|error| format!("malformed xml: {error}"))?;
        let key = String::from_utf8_lossy(attribute.key.local_name().as_ref()).into_owned();
        let value = attribute
            .unescape_value()
            .map_err(|error| format!("malformed xml: {error}"))?;
        attributes.push((key, value.into_owned()));
    }
    Ok(Element {
        name,
        attributes,
        children: Vec::new(),
    })
}

fn error(reason: &str) -> String {
    format!("<error reason=\"{}\"/>", escape(reason))
}

impl Model {
    /// `Admin`: executes one command; see the module documentation.
    pub fn admin(&mut self, xml: &str, now: Duration) -> String {
        let command = match parse(xml) {
            Ok(command) => command,
            Err(reason) => return error(&reason),
        };
        let Some(user) = command.children.first() else {
            return error("the command names no object");
        };
        let result = match command.name.as_str() {
            "show" => self.admin_show(user),
            "modify" => self.admin_modify(user),
            "add" => self.admin_add(user),
            "del" => self.admin_delete(user, now),
            "add-attrib" => self.admin_attributes(user, true),
            "del-attrib" => self.admin_attributes(user, false),
            other => Err(format!("unknown command `{other}`")),
        };
        self.settle();
        result.unwrap_or_else(|reason| error(&reason))
    }

    fn admin_target(&self, user: &Element) -> Result<usize, String> {
        let found = if let Some(cn) = user.attribute("cn") {
            self.live_object(cn)
        } else if let Some(h323) = user.attribute("h323") {
            self.object_by_h323(h323)
        } else if let Some(e164) = user.attribute("e164") {
            match self.resolve_number(0, e164) {
                super::calls::Target::Object(object) => Some(object),
                _ => None,
            }
        } else {
            return Err("the object needs a cn, h323 or e164 attribute".to_owned());
        };
        found.ok_or_else(|| "no such object".to_owned())
    }

    fn admin_show(&self, user: &Element) -> Result<String, String> {
        let object = self.admin_target(user)?;
        let config = &self.objects[object].config;
        let mut out = String::from("<show><user");
        let node = &self.nodes[config.node].name;
        for (name, value) in [
            ("cn", config.cn.as_str()),
            ("dn", &config.dn),
            ("e164", &config.e164),
            ("h323", &config.h323),
            ("guid", &config.guid),
            ("type", config.kind.as_str()),
            ("node", node),
            ("loc", &config.loc),
        ] {
            let _ = write!(out, " {name}=\"{}\"", escape(value));
        }
        if config.hidden {
            out.push_str(" hide=\"true\"");
        }
        out.push('>');
        for group in &config.groups {
            let mode = if group.active { "active" } else { "passive" };
            let _ = write!(
                out,
                "<grp name=\"{}\" mode=\"{mode}\"/>",
                escape(group.group.as_str())
            );
        }
        for device in &config.devices {
            let _ = write!(
                out,
                "<device hw=\"{}\" text=\"{}\"/>",
                escape(device.hw.as_str()),
                escape(device.text.as_str())
            );
        }
        for kind in ForwardKind::ALL {
            if let Some(target) = config.forwards.target(kind) {
                let _ = write!(
                    out,
                    "<cd type=\"{kind}\"><ep e164=\"{}\"/></cd>",
                    escape(target)
                );
            }
        }
        out.push_str("</user></show>");
        Ok(out)
    }

    fn admin_modify(&mut self, user: &Element) -> Result<String, String> {
        let object = self.admin_target(user)?;
        let forwards = parse_forwards(user)?;
        let groups = parse_groups(user);
        let new_cn = user.attribute("cn").map(str::to_owned);
        let config = &mut self.objects[object].config;
        for (name, field) in [
            ("dn", &mut config.dn),
            ("e164", &mut config.e164),
            ("h323", &mut config.h323),
        ] {
            if let Some(value) = user.attribute(name) {
                *field = value.to_owned();
            }
        }
        if let Some(cn) = new_cn {
            config.cn = cn;
        }
        if let Some(hide) = user.flag("hide") {
            config.hidden = hide;
        }
        if !forwards.is_empty() {
            for kind in ForwardKind::ALL {
                let target = forwards
                    .iter()
                    .find(|(k, _)| *k == kind)
                    .map(|(_, target)| target.as_str());
                config.forwards.set(kind, target);
            }
        }
        let regroup = !groups.is_empty();
        if regroup {
            config.groups = groups;
        }
        self.reindex();
        self.post_user(object, true);
        if regroup {
            self.rescope();
        }
        Ok("<ok/>".to_owned())
    }

    fn admin_attributes(&mut self, user: &Element, add: bool) -> Result<String, String> {
        let object = self.admin_target(user)?;
        let config = &mut self.objects[object].config;
        let mut regroup = false;
        for cd in user.children_named("cd") {
            let kind = forward_kind(cd)?;
            if add {
                let target =
                    forward_target(cd).ok_or_else(|| format!("cd type `{kind}` has no ep e164"))?;
                config.forwards.set(kind, Some(&target));
            } else {
                config.forwards.set(kind, None);
            }
        }
        for group in parse_groups(user) {
            regroup = true;
            config
                .groups
                .retain(|existing| existing.group != group.group);
            if add {
                config.groups.push(group);
            }
        }
        self.post_user(object, true);
        if regroup {
            self.rescope();
        }
        Ok("<ok/>".to_owned())
    }

    fn admin_add(&mut self, user: &Element) -> Result<String, String> {
        let cn = user
            .attribute("cn")
            .filter(|cn| !cn.is_empty())
            .ok_or("the new object needs a cn")?;
        if self.live_object(cn).is_some() {
            return Err(format!("object `{cn}` exists"));
        }
        let kind = match user.attribute("type").unwrap_or("ep") {
            "ep" => ObjectKind::Endpoint,
            "gw" => ObjectKind::Gateway,
            "waiting" => ObjectKind::Waiting,
            "broadcast" => ObjectKind::Broadcast,
            other => return Err(format!("unknown type `{other}`")),
        };
        let mut object = Object::new(cn, kind);
        if let Some(node) = user.attribute("node") {
            object.node = self
                .nodes
                .iter()
                .position(|n| n.name == node)
                .ok_or_else(|| format!("unknown node `{node}`"))?;
        }
        for (name, field) in [
            ("dn", &mut object.dn),
            ("e164", &mut object.e164),
            ("h323", &mut object.h323),
            ("loc", &mut object.loc),
        ] {
            if let Some(value) = user.attribute(name) {
                *field = value.to_owned();
            }
        }
        object.guid = user
            .attribute("guid")
            .map_or_else(|| derived_guid(cn), str::to_ascii_lowercase);
        object.password = user.attribute("pwd").map(str::to_owned);
        object.hidden = user.flag("hide").unwrap_or(false);
        object.groups = parse_groups(user);
        for (kind, target) in parse_forwards(user)? {
            object.forwards.set(kind, Some(&target));
        }
        for device in user.children_named("device") {
            let hw = device
                .attribute("hw")
                .filter(|hw| !hw.is_empty())
                .ok_or("a device needs a hw")?;
            object.devices.push(DeviceConfig {
                hw: hw.to_owned(),
                text: device.attribute("text").unwrap_or_default().to_owned(),
                kind: match device.attribute("kind") {
                    Some("third-party") => DeviceKind::ThirdParty,
                    _ => DeviceKind::Phone,
                },
                registered: device.flag("registered").unwrap_or(true),
            });
        }
        self.objects.push(ObjectState {
            config: object,
            deleted: false,
            legs: Default::default(),
            handles: Default::default(),
            posted: (0, 0),
        });
        self.reindex();
        self.rescope();
        Ok("<ok/>".to_owned())
    }

    fn admin_delete(&mut self, user: &Element, now: Duration) -> Result<String, String> {
        let object = self.admin_target(user)?;
        let legs: Vec<u64> = self.objects[object].legs.iter().copied().collect();
        for leg in legs {
            self.hang_up(leg, cause::NORMAL, now);
        }
        self.rescope_without(object);
        Ok("<ok/>".to_owned())
    }

    fn rescope_without(&mut self, object: usize) {
        self.objects[object].deleted = true;
        self.reindex();
        self.rescope();
    }
}

fn forward_kind(cd: &Element) -> Result<ForwardKind, String> {
    let kind = cd.attribute("type").unwrap_or_default();
    ForwardKind::parse(kind).ok_or_else(|| format!("unknown cd type `{kind}` (cfu, cfb, cfnr)"))
}

fn forward_target(cd: &Element) -> Option<String> {
    let ep = cd.children_named("ep").next()?;
    ep.attribute("e164")
        .or_else(|| ep.attribute("h323"))
        .filter(|target| !target.is_empty())
        .map(str::to_owned)
}

fn parse_forwards(user: &Element) -> Result<Vec<(ForwardKind, String)>, String> {
    user.children_named("cd")
        .map(|cd| {
            let kind = forward_kind(cd)?;
            let target =
                forward_target(cd).ok_or_else(|| format!("cd type `{kind}` has no ep e164"))?;
            Ok((kind, target))
        })
        .collect()
}

fn parse_groups(user: &Element) -> Vec<Group> {
    user.children_named("grp")
        .filter_map(|grp| {
            let name = grp.attribute("name")?;
            Some(Group {
                group: name.to_owned(),
                active: grp.attribute("mode") == Some("active"),
            })
        })
        .collect()
}
