//! Call forwarding through the PBX's `Admin` operation: the XML commands and the parsing of
//! `show` output. Pure.
//!
//! Forwards are `cd` elements of the user object: `<cd type="cfu|cfb|cfnr"><ep e164=".."/></cd>`.
//! Setting a forward first removes every forward of that kind (the innovaphone TSP's "clear
//! forward on set"), so an object never ends up with two destinations of one kind.

use std::collections::BTreeMap;

use quick_xml::events::Event;

use crate::events::ForwardKind;

/// The `type` attribute of a forward kind.
pub fn kind_name(kind: ForwardKind) -> &'static str {
    match kind {
        ForwardKind::Immediate => "cfu",
        ForwardKind::Busy => "cfb",
        ForwardKind::NoAnswer => "cfnr",
    }
}

fn kind_of(name: &str) -> Option<ForwardKind> {
    match name {
        "cfu" => Some(ForwardKind::Immediate),
        "cfb" => Some(ForwardKind::Busy),
        "cfnr" => Some(ForwardKind::NoAnswer),
        _ => None,
    }
}

fn escape(value: &str) -> String {
    quick_xml::escape::escape(value).into_owned()
}

/// The command that shows a user object's configuration.
pub fn show(cn: &str) -> String {
    format!("<show><user cn=\"{}\"/></show>", escape(cn))
}

/// The command that removes every forward of a kind.
pub fn clear(cn: &str, kind: ForwardKind) -> String {
    format!(
        "<del-attrib><user cn=\"{}\"><cd type=\"{}\"/></user></del-attrib>",
        escape(cn),
        kind_name(kind)
    )
}

/// The command that adds a forward of a kind to a number.
pub fn set(cn: &str, kind: ForwardKind, e164: &str) -> String {
    format!(
        "<add-attrib><user cn=\"{}\"><cd type=\"{}\"><ep e164=\"{}\"/></cd></user></add-attrib>",
        escape(cn),
        kind_name(kind),
        escape(e164)
    )
}

/// Whether an `Admin` answer reports success (`<ok/>`).
pub fn is_ok(answer: &str) -> bool {
    answer.contains("<ok")
}

/// The forwards in a `show` answer, by kind (the first destination of each kind).
pub fn forwards(show_output: &str) -> BTreeMap<ForwardKind, String> {
    let mut reader = quick_xml::Reader::from_str(show_output);
    let mut forwards = BTreeMap::new();
    let mut current: Option<ForwardKind> = None;
    loop {
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(event) => event,
        };
        match event {
            Event::Start(element) | Event::Empty(element) => {
                let name = element.local_name();
                let attribute = |wanted: &str| {
                    element
                        .attributes()
                        .flatten()
                        .find(|attribute| attribute.key.local_name().as_ref() == wanted.as_bytes())
                        .and_then(|attribute| {
                            attribute.unescape_value().ok().map(|v| v.into_owned())
                        })
                };
                match name.as_ref() {
                    b"cd" => {
                        current = attribute("type").as_deref().and_then(kind_of);
                        if let (Some(kind), Some(e164)) = (current, attribute("e164")) {
                            forwards.entry(kind).or_insert(e164);
                        }
                    }
                    b"ep" => {
                        if let Some(kind) = current {
                            let target = attribute("e164")
                                .filter(|value| !value.is_empty())
                                .or_else(|| attribute("h323"))
                                .or_else(|| attribute("cn"));
                            if let Some(target) = target.filter(|value| !value.is_empty()) {
                                forwards.entry(kind).or_insert(target);
                            }
                        }
                    }
                    _ => {}
                }
            }
            Event::End(element) if element.local_name().as_ref() == b"cd" => current = None,
            _ => {}
        }
    }
    forwards
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_escaped() {
        assert_eq!(show("A&B"), "<show><user cn=\"A&amp;B\"/></show>");
        assert_eq!(
            set("Alice", ForwardKind::Busy, "202"),
            "<add-attrib><user cn=\"Alice\"><cd type=\"cfb\"><ep e164=\"202\"/></cd></user></add-attrib>"
        );
        assert_eq!(
            clear("Alice", ForwardKind::NoAnswer),
            "<del-attrib><user cn=\"Alice\"><cd type=\"cfnr\"/></user></del-attrib>"
        );
    }

    #[test]
    fn forwards_are_read_from_show_output() {
        let output = r#"<user cn="Alice" e164="201"><grp name="tapi"/>
            <cd type="cfu"><ep e164="202"/></cd>
            <cd type="cfnr"><ep h323="bob"/><ep e164="203"/></cd>
            <cd type="xyz"><ep e164="999"/></cd></user>"#;
        let forwards = forwards(output);
        assert_eq!(
            forwards.get(&ForwardKind::Immediate).map(String::as_str),
            Some("202")
        );
        assert_eq!(
            forwards.get(&ForwardKind::NoAnswer).map(String::as_str),
            Some("bob")
        );
        assert_eq!(forwards.get(&ForwardKind::Busy), None);
        assert!(super::forwards("<user cn=\"Alice\"/>").is_empty());
        assert!(super::forwards("not xml <<<").is_empty());
        assert!(is_ok("<ok/>"));
        assert!(!is_ok("<error reason=\"x\"/>"));
    }
}
