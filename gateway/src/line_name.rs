//! Line display names from a pattern with the innovaphone TSP's placeholders.
//!
//! | placeholder | expands to |
//! |---|---|
//! | `%c` | long name (`cn`) |
//! | `%C` | long name, else display name, else H.323 name |
//! | `%d` | display name (`dn`) |
//! | `%D` | display name, else long name |
//! | `%h` | H.323 name |
//! | `%H` | H.323 name, else long name |
//! | `%t` | object type as the PBX reports it (`ep`, `waiting`, ...) |
//! | `%T` | object type in words (`User`, `Waiting queue`, ...) |
//! | `%e` | extension without node prefix |
//! | `%E` | the full international number (`+4930...`) when numbering is configured, else `%e` |
//! | `%n` | node name |
//! | `%N` | node number (prefix) |
//! | `%p` | the PBX's name in the configuration |
//! | `%P` | the PBX location the object is homed at (`loc`), else `%p` |
//! | `%u` | device (`hw`) when devices are mapped to lines, else empty |
//! | `%U` | device description, else device, else empty |
//! | `%x` | the line's address (extension with node prefix unless pure node extensions) |
//! | `%X` | the full international number when known, else `%x` |
//! | `%%` | a literal `%` |
//!
//! The default pattern is `%C (%x)`, e.g. `Alice Smith (201)`.

use std::fmt;

/// A parsed line-name pattern.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct LineNamePattern {
    source: String,
    parts: Vec<Part>,
}

#[derive(Clone, Debug, Eq, PartialEq)]
enum Part {
    Literal(String),
    Field(char),
}

/// A placeholder that the pattern syntax does not know.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[error("unknown placeholder %{placeholder} in line name pattern (known: {KNOWN})")]
pub struct PatternError {
    /// The character after `%`, or `' '` for a `%` at the end of the pattern.
    pub placeholder: char,
}

const KNOWN: &str = "%c %C %d %D %h %H %t %T %e %E %n %N %p %P %u %U %x %X %%";

/// The values a pattern is expanded from.
#[derive(Clone, Copy, Debug, Default)]
pub struct LineFields<'a> {
    /// Long name.
    pub cn: &'a str,
    /// Display name.
    pub dn: &'a str,
    /// H.323 name.
    pub h323: &'a str,
    /// Object type (`ep`, `gw`, `waiting`, `broadcast`, ...).
    pub kind: &'a str,
    /// Extension without node prefix.
    pub e164: &'a str,
    /// Full international number, empty when unknown.
    pub international: &'a str,
    /// Node name.
    pub node: &'a str,
    /// Node number.
    pub nodenum: &'a str,
    /// The PBX's configured name.
    pub pbx: &'a str,
    /// The location the object is homed at, empty when local.
    pub location: &'a str,
    /// Device hardware id (devices mapped to lines only).
    pub device: &'a str,
    /// Device description.
    pub device_text: &'a str,
    /// The line's address.
    pub address: &'a str,
}

impl LineNamePattern {
    /// Parses a pattern; unknown placeholders are an error.
    pub fn parse(source: &str) -> Result<Self, PatternError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = source.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                literal.push(c);
                continue;
            }
            let Some(field) = chars.next() else {
                return Err(PatternError { placeholder: ' ' });
            };
            if field == '%' {
                literal.push('%');
                continue;
            }
            if !"cCdDhHtTeEnNpPuUxX".contains(field) {
                return Err(PatternError { placeholder: field });
            }
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal)));
            }
            parts.push(Part::Field(field));
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Self {
            source: source.to_owned(),
            parts,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Expands the pattern. Surrounding white space and empty brackets left by empty fields
    /// (`Alice ()`) are trimmed.
    pub fn expand(&self, fields: &LineFields<'_>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Field(field) => out.push_str(field_value(*field, fields)),
            }
        }
        let out = out.replace("()", "").replace("[]", "");
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

impl Default for LineNamePattern {
    fn default() -> Self {
        // The literal is a valid pattern; parsing it cannot fail.
        Self {
            source: "%C (%x)".to_owned(),
            parts: vec![
                Part::Field('C'),
                Part::Literal(" (".to_owned()),
                Part::Field('x'),
                Part::Literal(")".to_owned()),
            ],
        }
    }
}

impl fmt::Display for LineNamePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn field_value<'a>(field: char, fields: &LineFields<'a>) -> &'a str {
    fn first<'a>(candidates: &[&'a str]) -> &'a str {
        candidates
            .iter()
            .copied()
            .find(|value| !value.is_empty())
            .unwrap_or("")
    }
    match field {
        'c' => fields.cn,
        'C' => first(&[fields.cn, fields.dn, fields.h323]),
        'd' => fields.dn,
        'D' => first(&[fields.dn, fields.cn]),
        'h' => fields.h323,
        'H' => first(&[fields.h323, fields.cn]),
        't' => fields.kind,
        'T' => match fields.kind {
            "ep" => "User",
            "gw" => "Gateway",
            "waiting" => "Waiting queue",
            "broadcast" => "Group",
            "executive" => "Executive",
            other => other,
        },
        'e' => fields.e164,
        'E' => first(&[fields.international, fields.e164]),
        'n' => fields.node,
        'N' => fields.nodenum,
        'p' => fields.pbx,
        'P' => first(&[fields.location, fields.pbx]),
        'u' => fields.device,
        'U' => first(&[fields.device_text, fields.device]),
        'x' => fields.address,
        'X' => first(&[fields.international, fields.address]),
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> LineFields<'static> {
        LineFields {
            cn: "Alice Smith",
            dn: "Alice",
            h323: "alice",
            kind: "ep",
            e164: "201",
            international: "+4930555201",
            node: "root",
            nodenum: "",
            pbx: "main",
            location: "",
            device: "phone-1",
            device_text: "IP232 desk",
            address: "201",
        }
    }

    #[test]
    fn default_pattern_is_long_name_and_address() {
        assert_eq!(
            LineNamePattern::default(),
            LineNamePattern::parse("%C (%x)").unwrap()
        );
        assert_eq!(
            LineNamePattern::default().expand(&alice()),
            "Alice Smith (201)"
        );
    }

    #[test]
    fn every_placeholder_expands() {
        let pattern =
            LineNamePattern::parse("%c|%C|%d|%D|%h|%H|%t|%T|%e|%E|%n|%N|%p|%P|%u|%U|%x|%X|%%")
                .unwrap();
        assert_eq!(
            pattern.expand(&alice()),
            "Alice Smith|Alice Smith|Alice|Alice|alice|alice|ep|User|201|+4930555201|root||main|\
             main|phone-1|IP232 desk|201|+4930555201|%"
        );
    }

    #[test]
    fn fallbacks_apply_when_fields_are_empty() {
        let fields = LineFields {
            cn: "",
            dn: "Queue",
            h323: "q",
            address: "200",
            ..alice()
        };
        assert_eq!(
            LineNamePattern::parse("%C/%H/%D").unwrap().expand(&fields),
            "Queue/q/Queue"
        );
        let fields = LineFields {
            international: "",
            device: "",
            device_text: "",
            ..alice()
        };
        assert_eq!(
            LineNamePattern::parse("%X %E [%U]")
                .unwrap()
                .expand(&fields),
            "201 201"
        );
    }

    #[test]
    fn unknown_placeholders_are_rejected() {
        assert_eq!(
            LineNamePattern::parse("%C (%q)"),
            Err(PatternError { placeholder: 'q' })
        );
        assert_eq!(
            LineNamePattern::parse("%C %"),
            Err(PatternError { placeholder: ' ' })
        );
    }
}
