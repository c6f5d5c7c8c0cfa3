//! The cti-gateway TAPI service provider (`cti-gateway.tsp`).
//!
//! A remote client of the cti-gateway: it keeps one CSTA XML connection (TCP or TLS) to the
//! gateway and maps the gateway's lines and calls onto TAPI 2.x/3.0 lines and calls. It holds
//! no PBX logic. Everything except `ffi` is safe, platform-neutral Rust tested natively; `ffi`
//! holds the `TSPI_*` exports and is only built for Windows.
//!
//! It does not implement phones, media streams (MSP), call hubs, agents, parking or pickup,
//! and never blocks a TSPI call on the network.
#![deny(unsafe_code)]
#![warn(missing_docs, unreachable_pub, rust_2018_idioms, unused_qualifications)]
#![warn(
    clippy::uninlined_format_args,
    clippy::redundant_clone,
    clippy::dbg_macro
)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod config;
pub mod connection;
#[cfg(windows)]
#[allow(unsafe_code)]
mod ffi;
pub mod line_ids;
pub mod model;
pub mod provider;
pub mod structs;
pub mod tapi;
pub mod wire;
