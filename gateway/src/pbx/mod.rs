//! PBX links: one supervised link per configured PBX system.
//!
//! A link runs one session on the master (or, while the master is unreachable, on the
//! standby) and one on every slave location whose users it monitors. Each session
//! `Initialize`s as the monitoring user, drains the user dump, `UserInitialize`s its lines,
//! then keeps exactly one `Poll` outstanding on its own connection while commands use others,
//! with an `Echo` heartbeat. On any failure the session's lines go out of service at once, the
//! session is rebuilt with capped exponential backoff, and the calls are reconciled: calls
//! that vanished are cleared, surviving ones continue under the same call id.

pub mod admin;
mod link;

pub use link::{Link, LinkError, SiteSession};
