//! ECMA-323 CSTA XML and ECMA-354 application-session messages: a typed model, a lenient
//! decoder, an exact encoder and the 8-byte TCP framing.
//!
//! This crate does no I/O: it has no sockets, no async runtime and no clock. Callers feed it
//! bytes and get messages, or give it messages and get bytes:
//!
//! ```
//! use csta::call_control::MakeCall;
//! use csta::{frame, DeviceId, Edition, InvokeId, Message};
//!
//! let request = Message::from(MakeCall::new(
//!     DeviceId::new("201").unwrap(),
//!     DeviceId::new("+4970319876543").unwrap(),
//! ));
//! let mut wire = Vec::new();
//! frame::encode_message(InvokeId::new(1).unwrap(), &request, &Edition::Ed3, &mut wire).unwrap();
//!
//! let frame = frame::decode(&wire, frame::MAX_FRAME_LEN).unwrap().unwrap();
//! let decoded = Message::decode(frame.body).unwrap();
//! assert_eq!(decoded.message, request);
//! assert_eq!(decoded.edition, Some(Edition::Ed3));
//! ```
//!
//! What it does not do: sessions, monitors, timers, or any policy — those belong to the
//! application (the gateway, the TSP). It models the services and events a PBX gateway
//! needs, not all 399 root elements of the schema; unknown roots decode to
//! [`Error::UnknownMessage`], unknown child elements are ignored.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[macro_use]
mod macros;

pub mod call_control;
pub mod edition;
pub mod error;
pub mod error_code;
pub mod escape;
pub mod events;
pub mod frame;
pub mod ids;
pub mod logical;
pub mod message;
pub mod monitoring;
pub mod session;
pub mod snapshot;
pub mod system;
pub mod types;
mod xml;

pub use edition::{AvayaProtocol, ECMA_354_NAMESPACE, Edition};
pub use error::{Error, FrameError, ValueError, ValueKind};
pub use error_code::CstaErrorCode;
pub use events::{CstaEvent, Event, encode_event};
pub use ids::{
    CallId, ConnectionId, DeviceId, InvokeId, LocalDeviceId, MonitorCrossRefId, SessionId,
};
pub use message::{Decoded, Message};
