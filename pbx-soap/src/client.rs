//! The async PBX client.
