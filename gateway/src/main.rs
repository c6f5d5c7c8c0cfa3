//! The `cti-gateway` binary.

fn main() {}
