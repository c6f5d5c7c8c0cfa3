//! Identifiers. Each one validates when it is constructed, so a value of these types is always
//! something that can be written back on the wire unchanged.

use std::fmt;

use crate::error::{Error, ValueError, ValueKind};
use crate::xml::{El, Field, ListItem, Writer, invalid, is_xml_char};

/// The 4-digit invoke id of a frame: `0..=9999`, where 9999 marks unsolicited events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InvokeId(u16);

impl InvokeId {
    /// The invoke id every event report carries.
    pub const EVENT: Self = Self(9999);
    /// The largest invoke id a request may use (9999 is reserved for events).
    pub const MAX_REQUEST: Self = Self(9998);

    /// Accepts `0..=9999`.
    pub fn new(value: u16) -> Result<Self, ValueError> {
        if value <= 9999 {
            Ok(Self(value))
        } else {
            Err(ValueError::OutOfRange)
        }
    }

    /// The numeric value.
    pub fn value(self) -> u16 {
        self.0
    }

    /// The next id a client or server uses for its own requests: cycles through `1..=9998`,
    /// skipping 0 (some vendors reserve it for keep-alives) and 9999 (events).
    #[must_use]
    pub fn next_request(self) -> Self {
        if self.0 >= Self::MAX_REQUEST.0 {
            Self(1)
        } else {
            Self(self.0 + 1)
        }
    }

    /// The four ASCII digits of the frame header.
    pub fn to_ascii(self) -> [u8; 4] {
        let value = self.0;
        // Each digit is below 10, so the casts cannot truncate.
        [
            b'0' + (value / 1000) as u8,
            b'0' + (value / 100 % 10) as u8,
            b'0' + (value / 10 % 10) as u8,
            b'0' + (value % 10) as u8,
        ]
    }

    /// Parses the four ASCII digits of a frame header.
    pub fn from_ascii(bytes: [u8; 4]) -> Option<Self> {
        bytes
            .iter()
            .try_fold(0u16, |value, byte| {
                byte.is_ascii_digit()
                    .then(|| value * 10 + u16::from(byte - b'0'))
            })
            .map(Self)
    }
}

impl fmt::Display for InvokeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.0)
    }
}

/// Checks the text of an identifier: not empty, at most `max` characters, no control
/// characters, no surrounding whitespace.
fn check(text: &str, max: usize) -> Result<(), ValueError> {
    if text.is_empty() {
        return Err(ValueError::Empty);
    }
    if text.len() > max && text.chars().count() > max {
        return Err(ValueError::TooLong { max });
    }
    if text.chars().any(|c| c.is_control() || !is_xml_char(c)) {
        return Err(ValueError::ControlChar);
    }
    if text.starts_with(char::is_whitespace) || text.ends_with(char::is_whitespace) {
        return Err(ValueError::Whitespace);
    }
    Ok(())
}

/// Checks an XML name (attribute names of [`DeviceId`]).
fn check_xml_name(name: &str) -> Result<(), ValueError> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .map_or(false, |c| c.is_ascii_alphabetic() || c == '_' || c == ':');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-' | '.'));
    if first_ok && rest_ok {
        Ok(())
    } else {
        Err(ValueError::NotXmlName)
    }
}

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident, $max:expr, $kind:expr) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The longest identifier accepted, in characters.
            pub const MAX_LEN: usize = $max;

            /// Accepts a non-empty text of at most [`Self::MAX_LEN`] characters without control
            /// characters or surrounding whitespace.
            pub fn new(text: impl Into<String>) -> Result<Self, ValueError> {
                let text = text.into();
                check(&text, Self::MAX_LEN)?;
                Ok(Self(text))
            }

            /// The identifier text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Field for $name {
            fn read(element: El<'_, '_>, name: &'static str) -> Result<Self, Error> {
                let text = element.text();
                Self::new(text).map_err(|reason| invalid(name, text, $kind, reason))
            }

            fn write(&self, writer: &mut Writer<'_>, name: &str) {
                writer.leaf(name, &self.0);
            }
        }
    };
}

string_id!(
    /// A call identifier, assigned by the switching function and stable for the life of a call.
    CallId,
    128,
    ValueKind::CallId
);
string_id!(
    /// The identifier a `MonitorStart` answer assigns; every event of that monitor carries it.
    MonitorCrossRefId,
    128,
    ValueKind::MonitorCrossRefId
);
string_id!(
    /// An ECMA-354 application session identifier.
    SessionId,
    256,
    ValueKind::SessionId
);
string_id!(
    /// The identifier that ties segmented answers (`SwitchingFunctionDevices`, snapshot data)
    /// to the request that caused them.
    ServiceCrossRefId,
    128,
    ValueKind::CrossRefId
);
string_id!(
    /// A system status registration identifier (`SystemRegister`).
    SysStatRegisterId,
    128,
    ValueKind::CrossRefId
);
string_id!(
    /// A dynamic device identifier: a device of a connection that has no diallable number.
    DynamicDeviceId,
    256,
    ValueKind::DeviceId
);

open_wire_enum! {
    /// The `typeOfNumber` attribute of a device identifier. Vendors use values outside the
    /// schema (`deviceID`), which are kept as `Other`.
    pub enum TypeOfNumber {
        DialingNumber = "dialingNumber",
        DeviceNumber = "deviceNumber",
        ImplicitPublic = "implicitPublic",
        ExplicitPublicUnknown = "explicitPublic:unknown",
        ExplicitPublicInternational = "explicitPublic:international",
        ExplicitPublicNational = "explicitPublic:national",
        ExplicitPublicNetworkSpecific = "explicitPublic:networkspecific",
        ExplicitPublicSubscriber = "explicitPublic:subscriber",
        ExplicitPublicAbbreviated = "explicitPublic:abbreviated",
        ImplicitPrivate = "implicitPrivate",
        ExplicitPrivateUnknown = "explicitPrivate:unknown",
        ExplicitPrivateLevel3RegionalNumber = "explicitPrivate:level3RegionalNumber",
        ExplicitPrivateLevel2RegionalNumber = "explicitPrivate:level2RegionalNumber",
        ExplicitPrivateLevel1RegionalNumber = "explicitPrivate:level1RegionalNumber",
        ExplicitPrivatePtnSpecificNumber = "explicitPrivate:pTNSpecificNumber",
        ExplicitPrivateLocalNumber = "explicitPrivate:localNumber",
        ExplicitPrivateAbbreviated = "explicitPrivate:abbreviated",
        OtherPlan = "other",
    }
}

/// A device identifier (`DeviceID`): the identifier text plus its optional attributes.
///
/// The text is kept exactly as received (bare digits, `+E.164`, `tel:`/`sip:` URIs, `N<...>`
/// forms); normalising it is the application's business.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DeviceId {
    text: String,
    type_of_number: Option<TypeOfNumber>,
    attributes: Vec<(String, String)>,
}

impl DeviceId {
    /// The longest identifier accepted, in characters.
    pub const MAX_LEN: usize = 256;

    /// Accepts a non-empty text of at most [`Self::MAX_LEN`] characters without control
    /// characters or surrounding whitespace.
    pub fn new(text: impl Into<String>) -> Result<Self, ValueError> {
        let text = text.into();
        check(&text, Self::MAX_LEN)?;
        Ok(Self {
            text,
            type_of_number: None,
            attributes: Vec::new(),
        })
    }

    /// Sets the `typeOfNumber` attribute.
    #[must_use]
    pub fn with_type_of_number(mut self, type_of_number: TypeOfNumber) -> Self {
        self.type_of_number = Some(type_of_number);
        self
    }

    /// Adds another attribute (`mediaClass`, `privateNumber`, ...), written after
    /// `typeOfNumber` in the order added.
    pub fn with_attribute(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, ValueError> {
        let name = name.into();
        check_xml_name(&name)?;
        if name == "typeOfNumber" || name.starts_with("xmlns") {
            return Err(ValueError::NotXmlName);
        }
        let value = value.into();
        if !value.chars().all(is_xml_char) {
            return Err(ValueError::ControlChar);
        }
        self.attributes.push((name, value));
        Ok(self)
    }

    /// The identifier text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The `typeOfNumber` attribute, if present.
    pub fn type_of_number(&self) -> Option<&TypeOfNumber> {
        self.type_of_number.as_ref()
    }

    /// The value of another attribute, by name.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every attribute other than `typeOfNumber`, in order.
    pub fn attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attributes
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }

    /// Reads the text and attributes of `element`; `typeOfNumber` is returned apart.
    fn read_parts(element: El<'_, '_>, name: &'static str) -> Result<Self, Error> {
        let text = element.text();
        let mut id =
            Self::new(text).map_err(|reason| invalid(name, text, ValueKind::DeviceId, reason))?;
        for (key, value) in element.attributes() {
            if !value.chars().all(is_xml_char) {
                return Err(invalid(
                    name,
                    &value,
                    ValueKind::DeviceId,
                    ValueError::ControlChar,
                ));
            }
            if key == "typeOfNumber" {
                id.type_of_number = Some(TypeOfNumber::parse(value.trim()));
            } else if !key.starts_with("xmlns") && check_xml_name(key).is_ok() {
                id.attributes.push((key.to_owned(), value.into_owned()));
            }
        }
        Ok(id)
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Field for DeviceId {
    fn read(element: El<'_, '_>, name: &'static str) -> Result<Self, Error> {
        Self::read_parts(element, name)
    }

    fn write(&self, writer: &mut Writer<'_>, name: &str) {
        writer.open_start(name);
        if let Some(type_of_number) = &self.type_of_number {
            writer.attribute("typeOfNumber", type_of_number.as_str());
        }
        for (key, value) in &self.attributes {
            writer.attribute(key, value);
        }
        writer.open_end();
        writer.escaped(&self.text);
        writer.close(name);
    }
}

impl ListItem for DeviceId {
    const ITEM: &'static str = "deviceID";
}

/// The device of a connection: a static device identifier or a dynamic one
/// (`typeOfNumber="dynamic"`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LocalDeviceId {
    /// A static device identifier.
    Static(DeviceId),
    /// A dynamic identifier for a device without a number.
    Dynamic(DynamicDeviceId),
}

impl LocalDeviceId {
    /// The identifier text.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Static(id) => id.as_str(),
            Self::Dynamic(id) => id.as_str(),
        }
    }
}

impl Field for LocalDeviceId {
    fn read(element: El<'_, '_>, name: &'static str) -> Result<Self, Error> {
        let dynamic = element
            .attribute("typeOfNumber")
            .map_or(false, |value| value.trim() == "dynamic");
        if dynamic {
            DynamicDeviceId::read(element, name).map(Self::Dynamic)
        } else {
            DeviceId::read(element, name).map(Self::Static)
        }
    }

    fn write(&self, writer: &mut Writer<'_>, name: &str) {
        match self {
            Self::Static(id) => id.write(writer, name),
            Self::Dynamic(id) => {
                writer.open_start(name);
                writer.attribute("typeOfNumber", "dynamic");
                writer.open_end();
                writer.escaped(id.as_str());
                writer.close(name);
            }
        }
    }
}

/// A connection (`ConnectionID`): a call at a device. At least one of the two is present.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConnectionId {
    /// The call.
    pub call: Option<CallId>,
    /// The device.
    pub device: Option<LocalDeviceId>,
}

impl ConnectionId {
    /// A connection from an optional call and an optional device; one of them is required.
    pub fn new(call: Option<CallId>, device: Option<LocalDeviceId>) -> Result<Self, ValueError> {
        if call.is_none() && device.is_none() {
            return Err(ValueError::EmptyConnection);
        }
        Ok(Self { call, device })
    }

    /// The usual connection: a call at a static device.
    pub fn call_at(call: CallId, device: DeviceId) -> Self {
        Self {
            call: Some(call),
            device: Some(LocalDeviceId::Static(device)),
        }
    }
}

impl Field for ConnectionId {
    fn read(element: El<'_, '_>, name: &'static str) -> Result<Self, Error> {
        let mut connection = Self {
            call: None,
            device: None,
        };
        // The schema puts callID first; Avaya clients send deviceID first: accept any order.
        for child in element.children() {
            match child.name() {
                "callID" if !child.text().is_empty() => {
                    connection.call = Some(CallId::read(child, "callID")?);
                }
                "deviceID" if !child.text().is_empty() => {
                    connection.device = Some(LocalDeviceId::read(child, "deviceID")?);
                }
                _ => {}
            }
        }
        if connection.call.is_none() && connection.device.is_none() {
            return Err(invalid(
                name,
                "",
                ValueKind::ConnectionId,
                ValueError::EmptyConnection,
            ));
        }
        Ok(connection)
    }

    fn write(&self, writer: &mut Writer<'_>, name: &str) {
        writer.open(name);
        if let Some(call) = &self.call {
            call.write(writer, "callID");
        }
        if let Some(device) = &self.device {
            device.write(writer, "deviceID");
        }
        writer.close(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Doc;

    #[test]
    fn invoke_ids_are_four_digits() {
        assert!(InvokeId::new(10_000).is_err());
        let id = InvokeId::new(42).unwrap();
        assert_eq!(id.to_ascii(), *b"0042");
        assert_eq!(InvokeId::from_ascii(*b"0042"), Some(id));
        assert_eq!(InvokeId::from_ascii(*b"9999"), Some(InvokeId::EVENT));
        assert_eq!(InvokeId::from_ascii(*b"00a2"), None);
        assert_eq!(InvokeId::MAX_REQUEST.next_request().value(), 1);
        assert_eq!(InvokeId::new(0).unwrap().next_request().value(), 1);
        assert_eq!(id.to_string(), "0042");
    }

    #[test]
    fn identifiers_validate() {
        assert_eq!(DeviceId::new(""), Err(ValueError::Empty));
        assert_eq!(DeviceId::new(" 201"), Err(ValueError::Whitespace));
        assert_eq!(DeviceId::new("2\u{1}01"), Err(ValueError::ControlChar));
        assert_eq!(
            DeviceId::new("1".repeat(257)),
            Err(ValueError::TooLong { max: 256 })
        );
        assert!(DeviceId::new("N<3021061290002>;noa=nk").is_ok());
        assert!(CallId::new("FF000100000000002D65C85C1C750000").is_ok());
        assert_eq!(CallId::new(""), Err(ValueError::Empty));
        assert!(
            DeviceId::new("201")
                .unwrap()
                .with_attribute("1bad", "x")
                .is_err()
        );
        assert!(ConnectionId::new(None, None).is_err());
    }

    #[test]
    fn connection_ids_accept_any_child_order_and_dynamic_devices() {
        let doc = Doc::parse(
            "<c><deviceID typeOfNumber=\"dynamic\">x17</deviceID><callID>4711</callID></c>",
        )
        .unwrap();
        let connection = ConnectionId::read(doc.root(), "connection").unwrap();
        assert_eq!(connection.call.as_ref().unwrap().as_str(), "4711");
        assert_eq!(
            connection.device,
            Some(LocalDeviceId::Dynamic(DynamicDeviceId::new("x17").unwrap()))
        );
        let doc = Doc::parse("<c><callID></callID><deviceID></deviceID></c>").unwrap();
        let error = ConnectionId::read(doc.root(), "connection").unwrap_err();
        assert!(matches!(
            error,
            Error::InvalidValue {
                kind: ValueKind::ConnectionId,
                ..
            }
        ));
    }

    #[test]
    fn device_ids_keep_attributes() {
        let doc = Doc::parse(
            "<d typeOfNumber=\"other\" mediaClass=\"notKnown\" xmlns:x=\"u\">201:S8300::0</d>",
        )
        .unwrap();
        let id = DeviceId::read(doc.root(), "deviceID").unwrap();
        assert_eq!(id.as_str(), "201:S8300::0");
        assert_eq!(id.type_of_number(), Some(&TypeOfNumber::OtherPlan));
        assert_eq!(id.attribute("mediaClass"), Some("notKnown"));
        assert_eq!(id.attributes().count(), 1);
        let doc = Doc::parse("<d typeOfNumber=\"deviceID\">7</d>").unwrap();
        let id = DeviceId::read(doc.root(), "deviceID").unwrap();
        assert_eq!(
            id.type_of_number(),
            Some(&TypeOfNumber::Other("deviceID".into()))
        );
    }
}
