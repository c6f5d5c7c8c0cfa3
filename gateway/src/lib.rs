//! The cti-gateway daemon: innovaphone PBX state served as ECMA-323 CSTA XML over TCP/TLS.

pub mod config;
pub mod line_name;
pub mod numbers;
pub mod bridge;
pub mod events;
pub mod signal;
