//! Plays TAPISRV for `cti-gateway.tsp` under Wine and checks the TSPI rules.
//!
//! Usage:
//!
//! - `tsp-harness <path of the .tsp> <CSTA port> <control port> [--tls <CA file>]` against the
//!   `scripted-gateway` program on 127.0.0.1 (module `scripted`): every scenario it can play,
//!   a gateway restart, bad inputs, shutdown, unload and a second start.
//! - `tsp-harness --real <path of the .tsp> <CSTA port> <simulator port>` against a real
//!   `cti-gateway` whose PBX is the simulator `pbx-sim` (module `real`): calls driven at the
//!   far end through the simulator's `/sim/` endpoints, and a gateway restart that the test
//!   script performs when the harness asks for it on stdout (it answers on stdin).
//!
//! Both write the provider's configuration to the registry (password protected with DPAPI),
//! load the DLL and run TAPISRV's start-up sequence. Checked on every callback: completions
//! exactly once per request that returned its id, none for refused requests, no event for a
//! call TAPI does not know (before its successful completion, after lineCloseCall), callbacks
//! never concurrent, none after `TSPI_providerShutdown`, and TAPI handles above 4 GiB passed
//! back unchanged. Structure rules are checked with sentinels. Any violation ends the program
//! with a message and exit code 1.

#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(windows)]
#[macro_use]
mod tapisrv;
#[cfg(windows)]
mod real;
#[cfg(windows)]
mod scripted;

fn main() {
    #[cfg(windows)]
    {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let code = match args.first().map(String::as_str) {
            Some("--real") => real::main(&args[1..]),
            _ => scripted::main(&args),
        };
        std::process::exit(code);
    }
    #[cfg(not(windows))]
    {
        eprintln!("tsp-harness runs on Windows (or under wine64) only");
        std::process::exit(2);
    }
}
