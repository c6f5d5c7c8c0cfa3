//! Device identifiers and numbers: what CSTA clients send, what the PBX expects, and how
//! external numbers are shown.
//!
//! Input accepts bare digits, `+E.164`, `tel:` and `sip:` URIs and the ECMA-269
//! switching-function form `N<number>name;param=value`. Output is one canonical form: the
//! line's address for internal devices and, with `full_e164`, `+E.164` for external numbers.

use std::fmt;

use crate::config::Numbering;

/// A destination as the PBX's `UserCall`/`UserRedirect` take it.
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub enum Destination {
    /// A number, dialled in the context of the calling user (`e164`).
    Number(String),
    /// A name (H.323 alias / SIP user part, `h323`).
    Name(String),
}

impl Destination {
    /// The number, if this is one.
    pub fn number(&self) -> Option<&str> {
        match self {
            Self::Number(number) => Some(number),
            Self::Name(_) => None,
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(number) => f.write_str(number),
            Self::Name(name) => f.write_str(name),
        }
    }
}

/// Why a device identifier could not be understood.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
pub enum NumberError {
    /// Nothing left after removing the URI scheme and parameters.
    #[error("empty device identifier")]
    Empty,
    /// A character that cannot be dialled.
    #[error("device identifier {input:?} contains {character:?}, which cannot be dialled")]
    NotDiallable {
        /// The identifier as received.
        input: String,
        /// The offending character.
        character: char,
    },
    /// `N<` without the closing `>`.
    #[error("device identifier {input:?} has no closing '>'")]
    Unterminated {
        /// The identifier as received.
        input: String,
    },
}

/// Parses a device identifier or dialled number as CSTA clients send it.
///
/// Dialling characters other than digits (`*`, `#`, `+`, `A`-`D`) are kept; visual separators
/// (space, `-`, `.`, `/`, `(`, `)`) are removed.
pub fn parse_destination(input: &str) -> Result<Destination, NumberError> {
    let trimmed = input.trim();
    let (rest, allow_name) = if let Some(rest) = strip_prefix_ignore_case(trimmed, "tel:") {
        (rest, false)
    } else if let Some(rest) = strip_prefix_ignore_case(trimmed, "sips:")
        .or_else(|| strip_prefix_ignore_case(trimmed, "sip:"))
    {
        let user = rest.split_once('@').map_or(rest, |(user, _)| user);
        (user, true)
    } else if let Some(rest) = trimmed.strip_prefix("N<") {
        let Some((number, _)) = rest.split_once('>') else {
            return Err(NumberError::Unterminated {
                input: input.to_owned(),
            });
        };
        (number, false)
    } else {
        (trimmed, false)
    };
    // URI and N-form parameters (`;phone-context=...`, `;noa=...`) carry nothing to dial.
    let core = rest.split(';').next().unwrap_or_default();
    let digits: String = core.chars().filter(|c| !" -./()".contains(*c)).collect();
    if digits.is_empty() {
        return Err(NumberError::Empty);
    }
    if let Some(character) = digits.chars().find(|c| !is_dialable(*c)) {
        if allow_name {
            return Ok(Destination::Name(core.to_owned()));
        }
        return Err(NumberError::NotDiallable {
            input: input.to_owned(),
            character,
        });
    }
    Ok(Destination::Number(digits))
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn is_dialable(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '*' | '#' | '+' | 'A'..='D' | 'a'..='d')
}

/// Converts a number as the PBX reports it for an external party into international form
/// (`+4930...`), or returns `None` when the configured numbering cannot tell.
///
/// External numbers arrive with the trunk access prefix the PBX needs to call them back
/// (`0` + `0049...`, `0` + `030...`, `0` + `555...`).
pub fn to_international(number: &str, numbering: &Numbering) -> Option<String> {
    if number.starts_with('+') {
        return Some(number.to_owned());
    }
    if numbering.country_code.is_empty() {
        return None;
    }
    let outside = number.strip_prefix(numbering.trunk_prefix.as_str())?;
    if outside.is_empty() {
        return None;
    }
    if let Some(international) = outside.strip_prefix(numbering.international_prefix.as_str())
        && !numbering.international_prefix.is_empty()
    {
        return (!international.is_empty()).then(|| format!("+{international}"));
    }
    if let Some(national) = outside.strip_prefix(numbering.national_prefix.as_str())
        && !numbering.national_prefix.is_empty()
    {
        return (!national.is_empty()).then(|| format!("+{}{national}", numbering.country_code));
    }
    if numbering.area_code.is_empty() {
        return None;
    }
    Some(format!(
        "+{}{}{outside}",
        numbering.country_code, numbering.area_code
    ))
}

/// The international number of an internal extension (`+49 30 555 201`), if the PBX's own
/// number is configured.
pub fn extension_international(extension: &str, numbering: &Numbering) -> Option<String> {
    if numbering.country_code.is_empty()
        || numbering.area_code.is_empty()
        || numbering.subscriber.is_empty()
        || extension.is_empty()
    {
        return None;
    }
    Some(format!(
        "+{}{}{}{extension}",
        numbering.country_code, numbering.area_code, numbering.subscriber
    ))
}

/// Turns an international number (`+4930...`) into what the PBX dials (trunk access +
/// national or international prefix), using the configured numbering.
pub fn international_to_dialable(number: &str, numbering: &Numbering) -> String {
    let Some(rest) = number.strip_prefix('+') else {
        return number.to_owned();
    };
    if !numbering.country_code.is_empty()
        && let Some(national) = rest.strip_prefix(numbering.country_code.as_str())
    {
        if !numbering.area_code.is_empty()
            && let Some(local) = national.strip_prefix(numbering.area_code.as_str())
        {
            if !numbering.subscriber.is_empty()
                && let Some(extension) = local.strip_prefix(numbering.subscriber.as_str())
                && !extension.is_empty()
            {
                return extension.to_owned();
            }
            return format!("{}{local}", numbering.trunk_prefix);
        }
        return format!(
            "{}{}{national}",
            numbering.trunk_prefix, numbering.national_prefix
        );
    }
    format!(
        "{}{}{rest}",
        numbering.trunk_prefix, numbering.international_prefix
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin() -> Numbering {
        Numbering {
            country_code: "49".into(),
            area_code: "30".into(),
            subscriber: "555".into(),
            trunk_prefix: "0".into(),
            international_prefix: "00".into(),
            national_prefix: "0".into(),
        }
    }

    #[test]
    fn destinations_in_every_client_shape() {
        let number = |n: &str| Ok(Destination::Number(n.to_owned()));
        assert_eq!(parse_destination("201"), number("201"));
        assert_eq!(
            parse_destination(" +49 (30) 555-201 "),
            number("+4930555201")
        );
        assert_eq!(
            parse_destination("tel:+4930555201;phone-context=dialstring"),
            number("+4930555201")
        );
        assert_eq!(parse_destination("TEL:202"), number("202"));
        assert_eq!(parse_destination("sip:202@pbx.example.com"), number("202"));
        assert_eq!(
            parse_destination("sip:alice@pbx.example.com"),
            Ok(Destination::Name("alice".into()))
        );
        assert_eq!(
            parse_destination("N<3021061290002>;noa=nk"),
            number("3021061290002")
        );
        assert_eq!(
            parse_destination("N<7868772298>Line71001;displayNumber=1"),
            number("7868772298")
        );
        assert_eq!(parse_destination("*21#"), number("*21#"));
    }

    #[test]
    fn bad_identifiers_are_named() {
        assert_eq!(parse_destination(""), Err(NumberError::Empty));
        assert_eq!(parse_destination("tel:;x=y"), Err(NumberError::Empty));
        assert!(matches!(
            parse_destination("20x1"),
            Err(NumberError::NotDiallable { character: 'x', .. })
        ));
        assert!(matches!(
            parse_destination("N<201"),
            Err(NumberError::Unterminated { .. })
        ));
    }

    #[test]
    fn external_numbers_become_international() {
        let numbering = berlin();
        assert_eq!(
            to_international("00044207946", &numbering).as_deref(),
            Some("+44207946")
        );
        assert_eq!(
            to_international("0089123456", &numbering).as_deref(),
            Some("+4989123456")
        );
        assert_eq!(
            to_international("0777888", &numbering).as_deref(),
            Some("+4930777888")
        );
        assert_eq!(
            to_international("+331234", &numbering).as_deref(),
            Some("+331234")
        );
        assert_eq!(
            to_international("201", &numbering),
            None,
            "internal numbers stay internal"
        );
        assert_eq!(to_international("0", &numbering), None);
        assert_eq!(to_international("0777", &Numbering::default()), None);
    }

    #[test]
    fn international_numbers_become_dialable() {
        let numbering = berlin();
        assert_eq!(
            international_to_dialable("+44207946", &numbering),
            "00044207946"
        );
        assert_eq!(
            international_to_dialable("+4989123456", &numbering),
            "0089123456"
        );
        assert_eq!(
            international_to_dialable("+4930777888", &numbering),
            "0777888"
        );
        assert_eq!(international_to_dialable("+4930555201", &numbering), "201");
        assert_eq!(international_to_dialable("201", &numbering), "201");
        assert_eq!(
            extension_international("201", &numbering).as_deref(),
            Some("+4930555201")
        );
        assert_eq!(extension_international("201", &Numbering::default()), None);
    }
}
