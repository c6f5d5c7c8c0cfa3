//! Which ECMA-323 edition (XML namespace) a session speaks.
//!
//! Decoding accepts every edition and namespace spelling seen in the field; encoding writes the
//! namespace of the edition the caller chose (the one the client used). ECMA-354 session
//! messages always use [`ECMA_354_NAMESPACE`], whatever the edition.

use std::fmt;

/// The namespace of ECMA-354 application session messages.
pub const ECMA_354_NAMESPACE: &str =
    "http://www.ecma-international.org/standards/ecma-354/appl_session";

/// An ECMA-323 edition, or an Avaya AES protocol version that doubles as a namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Edition {
    /// Edition 2 (`http://www.ecma.ch/standards/ecma-323/csta/ed2`).
    Ed2,
    /// Edition 3.
    Ed3,
    /// Edition 4.
    Ed4,
    /// Edition 5.
    Ed5,
    /// Edition 6.
    Ed6,
    /// An Avaya private protocol version based on edition 2 or 3 (`.../csta/ed3/priv5`).
    Avaya(AvayaProtocol),
}

/// An Avaya AES protocol namespace `.../ecma-323/csta/ed{2,3}/priv{1-9,A-F}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AvayaProtocol {
    index: u8,
}

const AVAYA_NAMESPACES: [&str; 30] = [
    "http://www.ecma-international.org/standards/ecma-323/csta/ed2/priv1",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed2/priv2",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed2/priv3",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed2/priv4",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed2/priv5",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed2/priv6",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed2/priv7",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed2/priv8",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed2/priv9",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed2/privA",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed2/privB",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed2/privC",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed2/privD",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed2/privE",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed2/privF",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv1",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv2",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv3",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv4",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv5",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv6",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv7",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv8",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv9",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed3/privA",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed3/privB",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed3/privC",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed3/privD",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed3/privE",
    "http://www.ecma-international.org/standards/ecma-323/csta/ed3/privF",
];

impl AvayaProtocol {
    /// The protocol `.../csta/ed{base}/priv{level}`; `base` is 2 or 3, `level` 1 to 15.
    pub fn new(base: u8, level: u8) -> Option<Self> {
        let base_index = match base {
            2 => 0,
            3 => 15,
            _ => return None,
        };
        (1..=15).contains(&level).then(|| Self {
            index: base_index + level - 1,
        })
    }

    /// The edition the protocol is based on (2 or 3).
    pub fn base(self) -> u8 {
        if self.index < 15 { 2 } else { 3 }
    }

    /// The private level (1 to 15).
    pub fn level(self) -> u8 {
        self.index % 15 + 1
    }
}

impl Edition {
    /// Every edition without the Avaya variants, oldest first.
    pub const STANDARD: [Self; 5] = [Self::Ed2, Self::Ed3, Self::Ed4, Self::Ed5, Self::Ed6];

    /// The namespace written on the root element of CSTA messages.
    pub fn namespace(&self) -> &'static str {
        match self {
            Self::Ed2 => "http://www.ecma.ch/standards/ecma-323/csta/ed2",
            Self::Ed3 => "http://www.ecma-international.org/standards/ecma-323/csta/ed3",
            Self::Ed4 => "http://www.ecma-international.org/standards/ecma-323/csta/ed4",
            Self::Ed5 => "http://www.ecma-international.org/standards/ecma-323/csta/ed5",
            Self::Ed6 => "http://www.ecma-international.org/standards/ecma-323/csta/ed6",
            Self::Avaya(protocol) => AVAYA_NAMESPACES[usize::from(protocol.index)],
        }
    }

    /// Recognises a CSTA namespace: the `ecma.ch` and `ecma-international.org` hosts, the
    /// `ecmainternational` typo, `http` or `https`, a trailing slash, and Avaya `privN`
    /// suffixes. Returns `None` for anything else (including the ECMA-354 namespace).
    pub fn from_namespace(namespace: &str) -> Option<Self> {
        let namespace = namespace.trim().trim_end_matches('/');
        let rest = namespace
            .strip_prefix("http://")
            .or_else(|| namespace.strip_prefix("https://"))?;
        let rest = rest.strip_prefix("www.").unwrap_or(rest);
        let path = ["ecma-international.org", "ecmainternational.org", "ecma.ch"]
            .iter()
            .find_map(|host| rest.strip_prefix(host))?;
        let path = path.strip_prefix("/standards/ecma-323/csta/")?;
        let (edition, private) = match path.split_once('/') {
            Some((edition, private)) => (edition, Some(private)),
            None => (path, None),
        };
        let number = match edition {
            "ed2" => 2,
            "ed3" => 3,
            "ed4" => 4,
            "ed5" => 5,
            "ed6" => 6,
            _ => return None,
        };
        match private {
            None => Some(Self::STANDARD[number - 2]),
            Some(private) => {
                let level = private.strip_prefix("priv")?;
                let mut digits = level.chars();
                let level = digits.next()?.to_digit(16)?;
                if digits.next().is_some() {
                    return None;
                }
                let base = u8::try_from(number).ok()?;
                AvayaProtocol::new(base, u8::try_from(level).ok()?).map(Self::Avaya)
            }
        }
    }

    /// Whether fields that exist only in edition 6 are written.
    pub fn is_ed6(&self) -> bool {
        matches!(self, Self::Ed6)
    }
}

impl Default for Edition {
    /// Edition 3: the most widely understood namespace.
    fn default() -> Self {
        Self::Ed3
    }
}

impl fmt::Display for Edition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.namespace())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_namespace() {
        for edition in Edition::STANDARD {
            assert_eq!(Edition::from_namespace(edition.namespace()), Some(edition));
        }
        for base in [2, 3] {
            for level in 1..=15 {
                let edition = Edition::Avaya(AvayaProtocol::new(base, level).unwrap());
                assert_eq!(Edition::from_namespace(edition.namespace()), Some(edition));
            }
        }
    }

    #[test]
    fn accepts_field_spellings() {
        assert_eq!(
            Edition::from_namespace("http://www.ecmainternational.org/standards/ecma-323/csta/ed5"),
            Some(Edition::Ed5)
        );
        assert_eq!(
            Edition::from_namespace("http://www.ecma.ch/standards/ecma-323/csta/ed3/"),
            Some(Edition::Ed3)
        );
        let avaya = Edition::from_namespace(
            "http://www.ecma-international.org/standards/ecma-323/csta/ed3/privA",
        )
        .unwrap();
        assert_eq!(avaya, Edition::Avaya(AvayaProtocol::new(3, 10).unwrap()));
        assert!(!avaya.is_ed6());
        assert_eq!(Edition::from_namespace(ECMA_354_NAMESPACE), None);
        assert_eq!(Edition::from_namespace("urn:other"), None);
        assert_eq!(
            Edition::from_namespace(
                "http://www.ecma-international.org/standards/ecma-323/csta/ed7"
            ),
            None
        );
    }
}
