//! The cti-gateway daemon: innovaphone PBX state served as ECMA-323 CSTA XML over TCP/TLS.

pub mod admin;
pub mod backoff;
pub mod bridge;
pub mod cli;
pub mod client;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod events;
pub mod line_name;
pub mod metrics;
pub mod numbers;
pub mod pbx;
pub mod registry;
pub mod server;
pub mod signal;
