//! Errors of the PBX client and the envelope codec.
