//! Exact bytes of a few frames, checked against hand-computed values.

use csta::events::{CallClearedEvent, Event};
use csta::monitoring::MonitorStartResponse;
use csta::types::EventCause;
use csta::{CallId, ConnectionId, Edition, InvokeId, Message, MonitorCrossRefId, frame};

const ED3: &str = "http://www.ecma-international.org/standards/ecma-323/csta/ed3";

#[test]
fn worked_example_of_the_reference() {
    // A MonitorStartResponse in the ed3 namespace with monitorCrossRefID 17: 156 bytes of XML
    // (without declaration), so the frame is 164 = 0xa4 bytes with invoke id "0042".
    let body = format!(
        "<MonitorStartResponse xmlns=\"{ED3}\"><monitorCrossRefID>17</monitorCrossRefID>\
         </MonitorStartResponse>"
    );
    assert_eq!(body.len(), 156);
    let mut out = Vec::new();
    frame::encode(InvokeId::new(42).unwrap(), body.as_bytes(), &mut out).unwrap();
    assert_eq!(&out[..8], &[0x00, 0x00, 0x00, 0xa4, 0x30, 0x30, 0x34, 0x32]);
    assert_eq!(&out[8..], body.as_bytes());
    let frame = frame::decode(&out, frame::MAX_FRAME_LEN).unwrap().unwrap();
    assert_eq!(frame.len, 164);
    let decoded = Message::decode(frame.body).unwrap();
    assert_eq!(decoded.edition, Some(Edition::Ed3));
}

#[test]
fn encoded_message_frame_has_declaration_length_and_invoke_id() {
    let message = Message::from(MonitorStartResponse {
        monitor_cross_ref_id: MonitorCrossRefId::new("17").unwrap(),
        actual_monitor_filter: None,
        monitor_existing_calls: None,
        extensions: None,
    });
    let mut out = vec![0xEE];
    frame::encode_message(
        InvokeId::new(42).unwrap(),
        &message,
        &Edition::Ed3,
        &mut out,
    )
    .unwrap();
    // 38 bytes of declaration + the 156 bytes above = 194 = 0xc2; with header 202 = 0xca.
    let expected_body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><MonitorStartResponse xmlns=\"{ED3}\">\
         <monitorCrossRefID>17</monitorCrossRefID></MonitorStartResponse>"
    );
    assert_eq!(expected_body.len(), 194);
    assert_eq!(out[0], 0xEE, "bytes already in the buffer are kept");
    assert_eq!(&out[1..9], b"\x00\x00\x00\xca0042");
    assert_eq!(&out[9..], expected_body.as_bytes());
}

#[test]
fn event_frames_carry_9999() {
    let event = Event::CallCleared(CallClearedEvent {
        cleared_call: ConnectionId::new(Some(CallId::new("7").unwrap()), None).unwrap(),
        correlator_data: None,
        user_data: None,
        cause: EventCause::NormalClearing,
        call_linkage_data: None,
        extensions: None,
    });
    let mut out = Vec::new();
    let monitor = MonitorCrossRefId::new("m1").unwrap();
    frame::encode_event_frame(&monitor, &event, &Edition::Ed3, &mut out).unwrap();
    let expected_body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CallClearedEvent xmlns=\"{ED3}\">\
         <monitorCrossRefID>m1</monitorCrossRefID><clearedCall><callID>7</callID></clearedCall>\
         <cause>normalClearing</cause></CallClearedEvent>"
    );
    // 38 (declaration) + 88 (root start tag with the 61-byte namespace) + 41 + 45 + 29 + 19
    // (end tag) = 260 bytes of XML; with the header 268 = 0x010c.
    assert_eq!(expected_body.len() + 8, 0x010c);
    assert_eq!(&out[..8], b"\x00\x00\x01\x0c9999");
    assert_eq!(&out[8..], expected_body.as_bytes());
}

#[test]
fn keepalive_frame() {
    let mut out = Vec::new();
    frame::encode_message(
        InvokeId::new(0).unwrap(),
        &Message::Keepalive,
        &Edition::Ed3,
        &mut out,
    )
    .unwrap();
    let body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><keepalive/>";
    assert_eq!(body.len() + 8, 0x3a);
    assert_eq!(&out[..8], b"\x00\x00\x00\x3a0000");
    assert_eq!(&out[8..], body);
}
