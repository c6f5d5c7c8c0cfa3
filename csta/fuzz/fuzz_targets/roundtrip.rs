//! Whatever decodes, encodes (as ASCII) to a document that decodes to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let first = match csta::Message::decode(data) {
        Ok(first) => first,
        Err(_) => return,
    };
    let edition = first.edition.unwrap_or_default();
    let encoded = first.message.to_bytes(&edition);
    assert!(encoded.is_ascii());
    let second = csta::Message::decode(&encoded).expect("re-encoded message must decode");
    assert_eq!(second.message, first.message);
});
