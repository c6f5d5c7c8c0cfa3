//! ECMA-323 CSTA XML and ECMA-354 application-session messages.
//!
//! This crate does no I/O: it has no sockets, no async runtime and no clock.
#![forbid(unsafe_code)]
