//! `pbx-sim`: the PBX simulator as a standalone program.

fn main() {}
