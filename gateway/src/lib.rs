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

/// An error with its chain of causes on one line (`outer: inner: root`), for logs and the
/// command line.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
