//! Errors: [`Error`] for a body that cannot be decoded (recoverable: answer it and go on) and
//! [`FrameError`] for a broken byte stream (fatal: close the connection).

use crate::error_code::{CstaErrorCode, OperationError};

/// Why a message body could not be decoded.
///
/// Every variant is recoverable: the frame around the body was sound, so a server answers with
/// [`Error::error_code`] and keeps the connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The body is not UTF-8 (the only encoding CSTA XML uses).
    #[error("body is not valid UTF-8 (first bad byte at offset {offset})")]
    NotUtf8 {
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// The body is not well-formed XML.
    #[error("malformed XML at byte {offset}: {source}")]
    Xml {
        /// Byte offset where the parser stopped.
        offset: usize,
        /// What the XML parser reported.
        source: quick_xml::Error,
    },
    /// The body holds no element at all.
    #[error("body holds no XML element")]
    NoRoot,
    /// The body ends inside an element.
    #[error("XML document ends before its root element is closed")]
    Truncated,
    /// An entity other than the five predefined ones or a character reference.
    #[error("unknown XML entity &{name};")]
    UnknownEntity {
        /// The entity name.
        name: String,
    },
    /// A character that XML 1.0 does not allow (for example a control character).
    #[error("character U+{code:04X} at byte {offset} is not allowed in XML")]
    IllegalChar {
        /// The Unicode scalar value.
        code: u32,
        /// Byte offset of the text that holds it.
        offset: usize,
    },
    /// The root element names no message this crate knows.
    #[error("unknown message <{name}>")]
    UnknownMessage {
        /// Local name of the root element.
        name: String,
    },
    /// A mandatory child element is missing.
    #[error("<{parent}> lacks the mandatory element <{element}>")]
    MissingElement {
        /// Local name of the element that should contain it.
        parent: String,
        /// Schema name of the missing element.
        element: &'static str,
    },
    /// An element or attribute holds a value its type does not allow.
    #[error("<{element}> holds {value:?}, which is {reason}")]
    InvalidValue {
        /// Schema name of the element or attribute.
        element: &'static str,
        /// The offending value (at most 64 characters of it).
        value: String,
        /// Which kind of value was expected.
        kind: ValueKind,
        /// What is wrong with it.
        reason: ValueError,
    },
}

impl Error {
    /// The `CSTAErrorCode` a server answers this request with.
    ///
    /// An unknown root is `operation/serviceNotSupported`; a bad identifier is the matching
    /// `operation/invalid…ID`; everything else is `operation/invalidParameterValue`.
    pub fn error_code(&self) -> CstaErrorCode {
        let operation = match self {
            Self::UnknownMessage { .. } => OperationError::ServiceNotSupported,
            Self::InvalidValue { kind, .. } => match kind {
                ValueKind::DeviceId => OperationError::InvalidDeviceID,
                ValueKind::CallId => OperationError::InvalidCallID,
                ValueKind::ConnectionId => OperationError::InvalidConnectionID,
                ValueKind::MonitorCrossRefId => OperationError::InvalidMonitorCrossRefID,
                ValueKind::CrossRefId => OperationError::InvalidCrossRefID,
                ValueKind::SessionId | ValueKind::InvokeId | ValueKind::Other => {
                    OperationError::InvalidParameterValue
                }
            },
            _ => OperationError::InvalidParameterValue,
        };
        CstaErrorCode::Operation(operation)
    }
}

/// Which kind of value an [`Error::InvalidValue`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueKind {
    /// A device identifier.
    DeviceId,
    /// A call identifier.
    CallId,
    /// A connection identifier (call and/or device).
    ConnectionId,
    /// A monitor cross reference identifier.
    MonitorCrossRefId,
    /// Another cross reference identifier (service, system status registration, escape).
    CrossRefId,
    /// An ECMA-354 session identifier.
    SessionId,
    /// A 4-digit invoke identifier.
    InvokeId,
    /// Any other value (boolean, number, enumeration, name).
    Other,
}

/// What is wrong with a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The value is empty.
    #[error("empty")]
    Empty,
    /// The value is longer than allowed.
    #[error("longer than {max} characters")]
    TooLong {
        /// The maximum length in characters.
        max: usize,
    },
    /// The value contains a control character.
    #[error("containing a control character")]
    ControlChar,
    /// The value starts or ends with whitespace.
    #[error("padded with whitespace")]
    Whitespace,
    /// Not `true`, `false`, `1` or `0`.
    #[error("not a boolean")]
    NotBoolean,
    /// Not an unsigned decimal integer that fits.
    #[error("not an unsigned integer")]
    NotInteger,
    /// Not one of the values the schema lists.
    #[error("not a value the schema lists")]
    UnknownValue,
    /// A number outside its allowed range.
    #[error("out of range")]
    OutOfRange,
    /// Not a valid XML name.
    #[error("not an XML name")]
    NotXmlName,
    /// Not well-formed XML content.
    #[error("not well-formed XML")]
    NotXml,
    /// A connection identifier with neither call nor device.
    #[error("a connection without callID and deviceID")]
    EmptyConnection,
}

/// Why the byte stream cannot be framed. Always fatal: after it the stream position is
/// unknown, so the connection must be closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The format indicator is not `0x0000` (plain XML without SOAP).
    #[error("unsupported frame format indicator {format:#06x}")]
    BadFormat {
        /// The indicator received.
        format: u16,
    },
    /// The length field is smaller than the 8-byte header itself.
    #[error("frame length {len} is shorter than the 8-byte header")]
    TooShort {
        /// The length received.
        len: usize,
    },
    /// The length field exceeds the configured maximum.
    #[error("frame length {len} exceeds the maximum of {max}")]
    TooLong {
        /// The length received.
        len: usize,
        /// The maximum in force.
        max: usize,
    },
    /// The invoke id field is not four ASCII digits.
    #[error("invoke id field {bytes:?} is not four ASCII digits")]
    BadInvokeId {
        /// The four bytes received.
        bytes: [u8; 4],
    },
    /// An outgoing body does not fit the 16-bit length field.
    #[error("body of {len} bytes does not fit in one frame (at most {max} bytes)")]
    BodyTooLarge {
        /// The body length.
        len: usize,
        /// The largest body a frame can carry.
        max: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_errors_to_the_csta_answer() {
        let unknown = Error::UnknownMessage {
            name: "Foo".to_owned(),
        };
        assert_eq!(
            unknown.error_code(),
            CstaErrorCode::Operation(OperationError::ServiceNotSupported)
        );
        let missing = Error::MissingElement {
            parent: "MakeCall".to_owned(),
            element: "callingDevice",
        };
        assert_eq!(
            missing.error_code(),
            CstaErrorCode::Operation(OperationError::InvalidParameterValue)
        );
        let bad_device = Error::InvalidValue {
            element: "callingDevice",
            value: String::new(),
            kind: ValueKind::DeviceId,
            reason: ValueError::Empty,
        };
        assert_eq!(
            bad_device.error_code(),
            CstaErrorCode::Operation(OperationError::InvalidDeviceID)
        );
        let bad_monitor = Error::InvalidValue {
            element: "monitorCrossRefID",
            value: String::new(),
            kind: ValueKind::MonitorCrossRefId,
            reason: ValueError::Empty,
        };
        assert_eq!(
            bad_monitor.error_code(),
            CstaErrorCode::Operation(OperationError::InvalidMonitorCrossRefID)
        );
    }

    #[test]
    fn messages_name_the_cause() {
        let error = Error::MissingElement {
            parent: "MakeCall".to_owned(),
            element: "calledDirectoryNumber",
        };
        assert_eq!(
            error.to_string(),
            "<MakeCall> lacks the mandatory element <calledDirectoryNumber>"
        );
        let frame = FrameError::TooLong {
            len: 70000,
            max: 65535,
        };
        assert_eq!(
            frame.to_string(),
            "frame length 70000 exceeds the maximum of 65535"
        );
    }
}
