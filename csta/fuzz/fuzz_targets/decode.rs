//! Whatever bytes arrive, neither the deframer nor the decoder panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = csta::frame::decode(data, csta::frame::MAX_FRAME_LEN);
    let _ = csta::frame::decode(data, 512);
    let _ = csta::Message::decode(data);
});
