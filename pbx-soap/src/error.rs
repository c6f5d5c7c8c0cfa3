//! Errors of the PBX client and the envelope codec.
//!
//! [`Error`] is what every client call returns. Each variant says which side failed (see
//! [`Error::origin`]) and whether trying again on a new connection or session can help (see
//! [`Error::is_transient`]), so the gateway can choose between reconnecting and reporting.
//! [`DecodeError`] is the envelope codec's own error: the PBX (or, on the simulator side, the
//! client) sent XML that cannot be read as the expected SOAP message.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::envelope::{Fault, Operation};

/// An error of a PBX SOAP call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client configuration is unusable; nothing was sent.
    #[error("invalid PBX client configuration")]
    Config(#[from] ConfigError),
    /// The TCP connection to the PBX could not be opened (DNS, refused, unreachable, or the
    /// connect timeout ran out).
    #[error("cannot connect to the PBX at {authority}")]
    Connect {
        /// `host:port` that was dialled.
        authority: String,
        /// What the operating system reported.
        #[source]
        source: io::Error,
    },
    /// The TLS handshake with the PBX failed (untrusted or invalid certificate, protocol
    /// mismatch, or the connection broke during the handshake).
    #[error("TLS handshake with the PBX at {authority} failed")]
    Tls {
        /// `host:port` that was dialled.
        authority: String,
        /// The handshake error; a certificate problem carries a [`rustls::Error`] inside.
        #[source]
        source: io::Error,
    },
    /// An established connection failed while the request was sent or the response was read.
    #[error("the connection to the PBX failed during {operation}")]
    Connection {
        /// The operation in flight.
        operation: Operation,
        /// The HTTP layer's error.
        #[source]
        source: hyper::Error,
    },
    /// The operation did not complete in time. For `Poll` this means the PBX did not even send
    /// its empty answer after its own long-poll timeout.
    #[error("{operation} timed out after {after:?}")]
    Timeout {
        /// The operation that timed out.
        operation: Operation,
        /// The configured limit that ran out.
        after: Duration,
    },
    /// The PBX answered with an HTTP status other than 200 (and other than 401, see
    /// [`Error::Unauthorized`]) and without a SOAP fault.
    #[error("the PBX answered HTTP {status}")]
    Http {
        /// The status received.
        status: http::StatusCode,
    },
    /// The PBX refused the credentials (HTTP 401, also after answering a Digest challenge).
    #[error("the PBX refused the credentials (HTTP 401)")]
    Unauthorized,
    /// The PBX answered with a SOAP fault.
    #[error("the PBX answered with SOAP fault {}: {}", .0.code, .0.string)]
    Fault(Fault),
    /// The PBX's answer is not the expected SOAP message.
    #[error("cannot decode the PBX's answer")]
    Decode(#[from] DecodeError),
    /// The PBX's answer is larger than the client accepts.
    #[error("the PBX's answer exceeds {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The PBX returned the documented failure value (handle 0) of an operation, for example
    /// `Initialize` for an unknown user or one without the needed rights.
    #[error("the PBX rejected {operation} (it returned 0)")]
    Rejected {
        /// The rejected operation.
        operation: Operation,
    },
}

impl Error {
    /// Whether the same call may succeed on a new connection or after a new `Initialize`:
    /// network failures, timeouts and HTTP 5xx/408/429. Credentials, faults, undecodable
    /// answers and rejections need a change on one side first.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connect { .. } | Self::Connection { .. } | Self::Timeout { .. } => true,
            // A certificate the client does not trust stays untrusted; a broken handshake
            // (reset, EOF) may not.
            Self::Tls { source, .. } => !source
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>()),
            Self::Http { status } => {
                status.is_server_error()
                    || *status == http::StatusCode::REQUEST_TIMEOUT
                    || *status == http::StatusCode::TOO_MANY_REQUESTS
            }
            Self::Config(_)
            | Self::Unauthorized
            | Self::Fault(_)
            | Self::Decode(_)
            | Self::BodyTooLarge { .. }
            | Self::Rejected { .. } => false,
        }
    }

    /// Which side the error comes from.
    pub fn origin(&self) -> Origin {
        match self {
            Self::Config(_) => Origin::Local,
            Self::Connect { .. }
            | Self::Tls { .. }
            | Self::Connection { .. }
            | Self::Timeout { .. } => Origin::Network,
            Self::Http { .. }
            | Self::Unauthorized
            | Self::Fault(_)
            | Self::Decode(_)
            | Self::BodyTooLarge { .. }
            | Self::Rejected { .. } => Origin::Pbx,
        }
    }
}

/// Which side an [`Error`] comes from.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Origin {
    /// This side: the client's configuration.
    Local,
    /// The path to the PBX: DNS, TCP, TLS, timeouts.
    Network,
    /// The PBX answered, but not with what was asked for.
    Pbx,
}

/// Why a client [`Config`](crate::client::Config) is unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The URL scheme is neither `http` nor `https`.
    #[error("unsupported URL scheme {scheme:?} (expected http or https)")]
    UnsupportedScheme {
        /// The scheme found (empty when the URL has none).
        scheme: String,
    },
    /// The URL has no host.
    #[error("the PBX URL has no host")]
    MissingHost,
    /// The host is not a valid TLS server name.
    #[error("{host:?} is not a valid TLS server name")]
    InvalidServerName {
        /// The host from the URL.
        host: String,
    },
    /// The credentials cannot be sent in an HTTP header (control characters).
    #[error("the PBX credentials contain characters that cannot be sent in an HTTP header")]
    InvalidCredentials,
    /// The CA file cannot be read or is not PEM.
    #[error("cannot read the CA file {path}")]
    CaFile {
        /// The configured path.
        path: PathBuf,
        /// The read or PEM error.
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    /// The CA file holds no usable certificate.
    #[error("the CA file {path} contains no usable certificate")]
    NoCertificates {
        /// The configured path.
        path: PathBuf,
    },
    /// No trusted root certificate could be loaded from the operating system.
    #[error("no trusted root certificates found on this system; configure a CA file")]
    NoSystemRoots,
    /// rustls refused the TLS settings.
    #[error("cannot build the TLS configuration")]
    Tls(#[source] rustls::Error),
}

/// Why a SOAP message cannot be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes are not well-formed XML.
    #[error("malformed XML at byte {position}")]
    Xml {
        /// Byte offset where the parser stopped.
        position: u64,
        /// The parser's error.
        #[source]
        source: quick_xml::Error,
    },
    /// The document ends inside an element.
    #[error("the XML document ends inside <{element}>")]
    Truncated {
        /// Local name of the innermost open element.
        element: String,
    },
    /// The text uses an entity other than the five predefined ones or a character reference.
    #[error("unknown XML entity &{name};")]
    UnknownEntity {
        /// The entity name.
        name: String,
    },
    /// The document holds no element at all (empty or plain text).
    #[error("the document holds no XML element")]
    NoRootElement,
    /// The root element is not a SOAP `Envelope`.
    #[error("expected a SOAP Envelope, found <{root}>")]
    NotAnEnvelope {
        /// Local name of the root element.
        root: String,
    },
    /// The envelope has no `Body`.
    #[error("the SOAP envelope has no Body")]
    MissingBody,
    /// The `Body` holds no element.
    #[error("the SOAP Body is empty")]
    EmptyBody,
    /// A request names an operation the API does not have.
    #[error("unknown operation <{name}>")]
    UnknownOperation {
        /// Local name of the body's first element.
        name: String,
    },
    /// A response element does not belong to the operation that was called.
    #[error("expected <{expected}>, found <{found}>")]
    UnexpectedResponse {
        /// The expected local name, e.g. `PollResponse`.
        expected: String,
        /// The local name found.
        found: String,
    },
    /// An `xsd:int` value is not a 32-bit integer.
    #[error("<{element}> holds {value:?}, not a 32-bit integer")]
    InvalidInteger {
        /// Local name of the element.
        element: String,
        /// The text found.
        value: String,
    },
    /// An `xsd:boolean` value is none of `true`, `false`, `1`, `0`.
    #[error("<{element}> holds {value:?}, not a boolean")]
    InvalidBoolean {
        /// Local name of the element.
        element: String,
        /// The text found.
        value: String,
    },
}
