//! The PBX simulator (feature `sim`).

pub mod directory;
pub mod model;
