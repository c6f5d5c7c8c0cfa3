//! Permanent line ids that never renumber.
//!
//! TAPI applications store `dwPermanentLineID`, so a line must keep its id across gateway
//! restarts, PBX renumbering and lines coming and going. The id is derived from the gateway's
//! stable line key (FNV-1a, so even a lost store gives the same ids in most cases) and the
//! assignment is persisted together with the line's last address and name, which also lets
//! the provider report its known lines before the gateway answers.

use std::fs;
use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// One known line as persisted.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct KnownLine {
    /// The gateway's stable line key.
    pub key: String,
    /// The permanent line id handed to TAPI.
    pub permanent_id: u32,
    /// The line's address (CSTA device id) when it was last seen.
    pub device: String,
    /// The line's display name when it was last seen.
    pub name: String,
}

/// The persisted assignment of permanent ids to line keys.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct LineIds {
    lines: Vec<KnownLine>,
}

impl LineIds {
    /// Parses the text written by [`LineIds::encode`].
    pub fn decode(text: &str) -> Result<Self, LineIdsError> {
        let mut ids = Self::default();
        for (index, line) in text.lines().enumerate() {
            if line.is_empty() {
                continue;
            }
            let number = index + 1;
            let fields: Vec<&str> = line.split('\t').collect();
            if fields.len() != 4 {
                return Err(LineIdsError::FieldCount {
                    line: number,
                    found: fields.len(),
                });
            }
            let permanent_id = fields[0]
                .parse::<u32>()
                .ok()
                .filter(|id| valid_id(*id))
                .ok_or(LineIdsError::BadId { line: number })?;
            let key = unescape(fields[1]).ok_or(LineIdsError::BadEscape { line: number })?;
            if ids
                .lines
                .iter()
                .any(|known| known.permanent_id == permanent_id || known.key == key)
            {
                return Err(LineIdsError::Duplicate { line: number });
            }
            ids.lines.push(KnownLine {
                key,
                permanent_id,
                device: unescape(fields[2]).ok_or(LineIdsError::BadEscape { line: number })?,
                name: unescape(fields[3]).ok_or(LineIdsError::BadEscape { line: number })?,
            });
        }
        Ok(ids)
    }

    /// Returns the permanent id of `key`, assigning and recording a new one for a new key;
    /// `device` and `name` are updated to the gateway's current view.
    pub fn assign(&mut self, key: &str, device: &str, name: &str) -> u32 {
        if let Some(known) = self.lines.iter_mut().find(|known| known.key == key) {
            known.device = device.to_owned();
            known.name = name.to_owned();
            return known.permanent_id;
        }
        let mut id = fnv1a(key);
        while !valid_id(id) || self.lines.iter().any(|known| known.permanent_id == id) {
            id = id.wrapping_add(1);
        }
        self.lines.push(KnownLine {
            key: key.to_owned(),
            permanent_id: id,
            device: device.to_owned(),
            name: name.to_owned(),
        });
        id
    }

    /// The serialised form: one line per entry, tab-separated, `\t`, `\n` and `\\` escaped.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        for known in &self.lines {
            text.push_str(&format!(
                "{}\t{}\t{}\t{}\n",
                known.permanent_id,
                escape(&known.key),
                escape(&known.device),
                escape(&known.name)
            ));
        }
        text
    }

    /// Every known line, in the order they were first seen.
    pub fn lines(&self) -> &[KnownLine] {
        &self.lines
    }
}

/// Where [`LineIds`] are kept: the registry on Windows, a file in tests.
pub trait LineIdStore: Send {
    /// Reads the stored text, `None` when nothing was stored yet.
    fn load(&self) -> Result<Option<String>, LineIdsError>;
    /// Replaces the stored text.
    fn save(&self, text: &str) -> Result<(), LineIdsError>;
}

/// A [`LineIdStore`] in a plain file.
#[derive(Clone, Debug)]
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    /// A store in `path` (created on the first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl LineIdStore for FileStore {
    fn load(&self) -> Result<Option<String>, LineIdsError> {
        match fs::read_to_string(&self.path) {
            Ok(text) => Ok(Some(text)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(LineIdsError::Io(error.kind())),
        }
    }

    fn save(&self, text: &str) -> Result<(), LineIdsError> {
        // Write then rename, so a crash never leaves half a file behind.
        let temporary = self.path.with_extension("tmp");
        fs::write(&temporary, text).map_err(|error| LineIdsError::Io(error.kind()))?;
        fs::rename(&temporary, &self.path).map_err(|error| LineIdsError::Io(error.kind()))
    }
}

/// A store of permanent line ids that cannot be read or written.
#[derive(Clone, Debug, Eq, Error, PartialEq)]
pub enum LineIdsError {
    /// An entry does not have the four tab-separated fields.
    #[error("line {line}: expected 4 tab-separated fields, found {found}")]
    FieldCount {
        /// 1-based line number.
        line: usize,
        /// Fields found.
        found: usize,
    },
    /// The permanent id is not a number in 1..=0xFFFFFFFE.
    #[error("line {line}: the permanent id is not a number in 1..=4294967294")]
    BadId {
        /// 1-based line number.
        line: usize,
    },
    /// A field has an unknown escape sequence.
    #[error("line {line}: bad escape sequence")]
    BadEscape {
        /// 1-based line number.
        line: usize,
    },
    /// An id or key appears twice.
    #[error("line {line}: permanent id or key already used by an earlier line")]
    Duplicate {
        /// 1-based line number.
        line: usize,
    },
    /// The file could not be read or written.
    #[error("line id store: {0}")]
    Io(io::ErrorKind),
    /// The registry value could not be read or written (Win32 error code).
    #[error("line id store: registry error {0}")]
    Registry(u32),
}

/// 0 means "no line" to several applications; 0xFFFFFFFF is TAPI's "any/none".
fn valid_id(id: u32) -> bool {
    id != 0 && id != u32::MAX
}

fn fnv1a(key: &str) -> u32 {
    key.bytes().fold(0x811C_9DC5, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '\\' => escaped.push_str("\\\\"),
            '\t' => escaped.push_str("\\t"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            other => escaped.push(other),
        }
    }
    escaped
}

fn unescape(text: &str) -> Option<String> {
    let mut plain = String::with_capacity(text.len());
    let mut characters = text.chars();
    while let Some(character) = characters.next() {
        if character != '\\' {
            plain.push(character);
            continue;
        }
        plain.push(match characters.next()? {
            '\\' => '\\',
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            _ => return None,
        });
    }
    Some(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_survive_a_round_trip() {
        let mut ids = LineIds::default();
        let alice = ids.assign("pbx1/7f3c/", "201", "Alice (201)");
        let bob = ids.assign("pbx1/8a00/", "202", "Bob\tB");
        assert_ne!(alice, bob);
        assert_eq!(alice, fnv1a("pbx1/7f3c/"));
        let mut reloaded = LineIds::decode(&ids.encode()).unwrap();
        assert_eq!(reloaded, ids);
        // Renumbered extension, same key: same id, new address.
        assert_eq!(reloaded.assign("pbx1/7f3c/", "301", "Alice (301)"), alice);
        assert_eq!(reloaded.lines()[0].device, "301");
        assert_eq!(reloaded.lines()[1].name, "Bob\tB");
    }

    #[test]
    fn collisions_get_the_next_free_id() {
        let mut ids = LineIds::decode(&format!("{}\tother\t1\tx\n", fnv1a("k"))).unwrap();
        assert_eq!(ids.assign("k", "2", "y"), fnv1a("k").wrapping_add(1));
    }

    #[test]
    fn malformed_store_gives_specific_errors() {
        assert_eq!(
            LineIds::decode("1\tk\t201\n"),
            Err(LineIdsError::FieldCount { line: 1, found: 3 })
        );
        assert_eq!(
            LineIds::decode("0\tk\t2\tn\n"),
            Err(LineIdsError::BadId { line: 1 })
        );
        assert_eq!(
            LineIds::decode("x\tk\t2\tn\n"),
            Err(LineIdsError::BadId { line: 1 })
        );
        assert_eq!(
            LineIds::decode("\n5\tk\\q\t2\tn\n"),
            Err(LineIdsError::BadEscape { line: 2 })
        );
        assert_eq!(
            LineIds::decode("5\tk\t2\tn\n5\tj\t3\tm\n"),
            Err(LineIdsError::Duplicate { line: 2 })
        );
        assert_eq!(
            LineIds::decode("5\tk\t2\tn\n6\tk\t3\tm\n"),
            Err(LineIdsError::Duplicate { line: 2 })
        );
    }

    #[test]
    fn file_store_round_trip_and_missing_file() {
        let dir = std::env::temp_dir().join(format!("tsp-line-ids-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let store = FileStore::new(dir.join("lines.txt"));
        assert_eq!(store.load(), Ok(None));
        store.save("1\tk\t2\tn\n").unwrap();
        assert_eq!(store.load().unwrap().as_deref(), Some("1\tk\t2\tn\n"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
