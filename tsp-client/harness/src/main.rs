//! Plays TAPISRV for `cti-gateway.tsp` under Wine and checks the TSPI rules.
//!
//! Usage: `tsp-harness <path of the .tsp> <CSTA port> <control port>` against the
//! `scripted-gateway` program on 127.0.0.1. It writes the provider's configuration to the
//! registry (password protected with DPAPI), loads the DLL, runs TAPISRV's start-up sequence,
//! opens a line and drives calls in both directions, transfer, forwarding and a gateway
//! restart, then shuts down, unloads and starts again to see the permanent line ids survive.
//!
//! Checked on every callback: completions exactly once per request that returned its id, none
//! for refused requests, no event for a call TAPI created before its successful completion,
//! callbacks never concurrent, none after `TSPI_providerShutdown`, and TAPI handles above
//! 4 GiB passed back unchanged. Structure rules are checked with sentinels. Any violation
//! ends the program with a message and exit code 1.

#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(windows)]
#[macro_use]
mod tapisrv;
#[cfg(windows)]
mod scripted;

fn main() {
    #[cfg(windows)]
    {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let code = scripted::main(&args);
        std::process::exit(code);
    }
    #[cfg(not(windows))]
    {
        eprintln!("tsp-harness runs on Windows (or under wine64) only");
        std::process::exit(2);
    }
}
