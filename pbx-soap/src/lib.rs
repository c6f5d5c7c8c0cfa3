//! The innovaphone PBX SOAP API (`/PBX0/user.soap`).
//!
//! - [`records`]: the typed records (`UserInfo`, `CallInfo`, ...).
//! - [`envelope`]: pure SOAP envelope encoding and decoding (both dialects), no I/O.
//! - [`client`]: an async client (hyper + rustls) with one typed method per operation.
//! - `sim` (feature `sim`): a PBX simulator serving the same API over HTTP(S).
//!
//! The crate spawns no background tasks of its own except inside the simulator, whose tasks
//! end with its handle.

pub mod client;
pub mod envelope;
pub mod error;
pub mod records;
#[cfg(feature = "sim")]
pub mod sim;
