//! End-to-end tests: the gateway in-process, the PBX simulator over HTTP, CSTA clients over
//! real TCP and TLS sockets.

mod bench_smoke;
mod calls;
mod fanout;
mod framing;
mod links;
mod model;
mod resilience;
mod scale;
mod services;
mod sessions;
mod startup_list;
mod tls;
