//! The CSTA XML over TCP framing ("without SOAP") as pure functions over byte slices.
//!
//! Every message is prefixed by an 8-byte header: a big-endian `u16` format indicator
//! (`0x0000`), a big-endian `u16` total length *including* the header, and the invoke id as
//! four ASCII digits (`9999` for events). [`decode`] handles partial input (returns `Ok(None)`)
//! and several frames in one buffer (call it again after `len` bytes). A [`FrameError`] means
//! the stream is broken and the connection must be closed; a body that fails to decode is a
//! separate, recoverable matter ([`crate::Error`]).

use crate::edition::Edition;
use crate::error::FrameError;
use crate::events::{Event, encode_event, write_event};
use crate::ids::{InvokeId, MonitorCrossRefId};
use crate::message::Message;
use crate::xml::Writer;

/// Length of the frame header.
pub const HEADER_LEN: usize = 8;
/// The largest frame the 16-bit length field allows; callers may configure a lower maximum.
pub const MAX_FRAME_LEN: usize = 65_535;
/// The largest body one frame can carry.
pub const MAX_BODY_LEN: usize = MAX_FRAME_LEN - HEADER_LEN;
/// The format indicator of plain XML frames.
pub const FORMAT_XML: u16 = 0x0000;

/// One complete frame inside a receive buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The invoke id of the header.
    pub invoke_id: InvokeId,
    /// The XML document.
    pub body: &'a [u8],
    /// Bytes the frame occupies in the buffer, header included: drop them before the next call.
    pub len: usize,
}

/// Finds the frame at the start of `buf`.
///
/// Returns `Ok(None)` while the buffer holds less than a whole frame; header errors are
/// reported as soon as the bytes that show them have arrived. `max_len` (at most
/// [`MAX_FRAME_LEN`]) bounds the total frame length, so a peer cannot make the caller buffer
/// more than that.
pub fn decode(buf: &[u8], max_len: usize) -> Result<Option<Frame<'_>>, FrameError> {
    if buf.len() >= 2 {
        let format = u16::from_be_bytes([buf[0], buf[1]]);
        if format != FORMAT_XML {
            return Err(FrameError::BadFormat { format });
        }
    }
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    if len < HEADER_LEN {
        return Err(FrameError::TooShort { len });
    }
    let max = max_len.min(MAX_FRAME_LEN);
    if len > max {
        return Err(FrameError::TooLong { len, max });
    }
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let digits = [buf[4], buf[5], buf[6], buf[7]];
    let invoke_id =
        InvokeId::from_ascii(digits).ok_or(FrameError::BadInvokeId { bytes: digits })?;
    match buf.get(HEADER_LEN..len) {
        Some(body) => Ok(Some(Frame {
            invoke_id,
            body,
            len,
        })),
        None => Ok(None),
    }
}

/// Appends a frame carrying `body`.
pub fn encode(invoke_id: InvokeId, body: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
    let len = frame_len(body.len())?;
    out.reserve(len);
    out.extend_from_slice(&header(invoke_id, len));
    out.extend_from_slice(body);
    Ok(())
}

/// Appends `message` as one frame, encoding it in place (no intermediate buffer). On error
/// `out` is left as it was.
pub fn encode_message(
    invoke_id: InvokeId,
    message: &Message,
    edition: &Edition,
    out: &mut Vec<u8>,
) -> Result<(), FrameError> {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_LEN]);
    message.encode(edition, out);
    patch(start, invoke_id, out)
}

/// Appends `event` for `monitor_cross_ref_id` as one frame with invoke id 9999. On error `out`
/// is left as it was.
pub fn encode_event_frame(
    monitor_cross_ref_id: &MonitorCrossRefId,
    event: &Event,
    edition: &Edition,
    out: &mut Vec<u8>,
) -> Result<(), FrameError> {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_LEN]);
    encode_event(monitor_cross_ref_id, event, edition, out);
    patch(start, InvokeId::EVENT, out)
}

/// An event encoded once, framed for any number of monitors.
///
/// The document of an event differs between the monitors it goes to only in the text of
/// `monitorCrossRefID` (and the frame length), so a server that fans one event out to many
/// monitors encodes it once per edition and copies bytes per monitor:
/// [`EventTemplate::write_frame`] produces exactly what [`encode_event_frame`] does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventTemplate {
    /// The document with an empty `monitorCrossRefID`.
    body: Vec<u8>,
    /// Where the cross-reference id's text goes in `body`.
    split: usize,
}

impl EventTemplate {
    /// Encodes `event` in the namespace of `edition`. Fails when the document is too large for
    /// a frame even without an id.
    pub fn new(event: &Event, edition: &Edition) -> Result<Self, FrameError> {
        let mut body = Vec::with_capacity(1024);
        let split = write_event(event, edition, "", &mut body);
        frame_len(body.len())?;
        body.shrink_to_fit();
        Ok(Self { body, split })
    }

    /// Appends the frame of the event for `monitor_cross_ref_id` with invoke id 9999. Fails
    /// when the id makes the document too large for a frame; `out` is then left as it was.
    pub fn write_frame(
        &self,
        monitor_cross_ref_id: &MonitorCrossRefId,
        out: &mut Vec<u8>,
    ) -> Result<(), FrameError> {
        let start = out.len();
        let id = monitor_cross_ref_id.as_str();
        out.reserve(HEADER_LEN + self.body.len() + id.len());
        out.extend_from_slice(&[0; HEADER_LEN]);
        out.extend_from_slice(&self.body[..self.split]);
        // The edition flag only matters for event fields, which are already written.
        Writer::new(out, false).escaped(id);
        out.extend_from_slice(&self.body[self.split..]);
        patch(start, InvokeId::EVENT, out)
    }

    /// The length of the document without an id, in bytes.
    pub fn body_len(&self) -> usize {
        self.body.len()
    }
}

fn frame_len(body_len: usize) -> Result<usize, FrameError> {
    if body_len > MAX_BODY_LEN {
        return Err(FrameError::BodyTooLarge {
            len: body_len,
            max: MAX_BODY_LEN,
        });
    }
    Ok(body_len + HEADER_LEN)
}

fn header(invoke_id: InvokeId, len: usize) -> [u8; HEADER_LEN] {
    // `len` was checked against MAX_FRAME_LEN, so it fits in u16.
    let len = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
    let digits = invoke_id.to_ascii();
    let format = FORMAT_XML.to_be_bytes();
    [
        format[0], format[1], len[0], len[1], digits[0], digits[1], digits[2], digits[3],
    ]
}

fn patch(start: usize, invoke_id: InvokeId, out: &mut Vec<u8>) -> Result<(), FrameError> {
    let body_len = out.len() - start - HEADER_LEN;
    match frame_len(body_len) {
        Ok(len) => {
            out[start..start + HEADER_LEN].copy_from_slice(&header(invoke_id, len));
            Ok(())
        }
        Err(error) => {
            out.truncate(start);
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_whole_frames_and_splits_several() {
        let mut stream = Vec::new();
        encode(InvokeId::new(1).unwrap(), b"<a/>", &mut stream).unwrap();
        encode(InvokeId::EVENT, b"<b/>", &mut stream).unwrap();
        for cut in 0..12 {
            assert_eq!(
                decode(&stream[..cut], MAX_FRAME_LEN),
                Ok(None),
                "cut at {cut}"
            );
        }
        let first = decode(&stream, MAX_FRAME_LEN).unwrap().unwrap();
        assert_eq!(
            (first.invoke_id.value(), first.body, first.len),
            (1, &b"<a/>"[..], 12)
        );
        let second = decode(&stream[first.len..], MAX_FRAME_LEN)
            .unwrap()
            .unwrap();
        assert_eq!(
            (second.invoke_id, second.body),
            (InvokeId::EVENT, &b"<b/>"[..])
        );
        assert_eq!(first.len + second.len, stream.len());
    }

    #[test]
    fn reports_broken_headers_as_soon_as_visible() {
        assert_eq!(
            decode(&[0x00, 0x01], MAX_FRAME_LEN),
            Err(FrameError::BadFormat { format: 1 })
        );
        assert_eq!(
            decode(&[0, 0, 0, 7], MAX_FRAME_LEN),
            Err(FrameError::TooShort { len: 7 })
        );
        assert_eq!(
            decode(&[0, 0, 0x10, 0x00], 1024),
            Err(FrameError::TooLong {
                len: 4096,
                max: 1024
            })
        );
        assert_eq!(
            decode(b"\x00\x00\x00\x0812x4", MAX_FRAME_LEN),
            Err(FrameError::BadInvokeId { bytes: *b"12x4" })
        );
        let empty = decode(b"\x00\x00\x00\x080007", MAX_FRAME_LEN)
            .unwrap()
            .unwrap();
        assert_eq!((empty.body, empty.len), (&b""[..], 8));
    }

    /// A forwarding event whose private data is `padding` bytes long.
    fn forwarding(padding: usize) -> Event {
        use crate::events::ForwardingEvent;
        use crate::ids::DeviceId;
        use crate::types::{DeviceRef, Extensions, ForwardingType, RawXml};
        Event::Forwarding(ForwardingEvent {
            device: DeviceRef::Identifier(DeviceId::new("201").unwrap()),
            forwarding_type: Some(ForwardingType::ForwardImmediate),
            forward_status: true,
            forward_to: Some(DeviceId::new("202").unwrap()),
            forward_default: None,
            ring_count: None,
            ring_duration: None,
            extensions: Some(Extensions::private(
                RawXml::new(format!("<a>{}</a>", "x".repeat(padding))).unwrap(),
            )),
        })
    }

    #[test]
    fn templates_frame_like_the_encoder_for_any_id() {
        let event = forwarding(3);
        for edition in Edition::STANDARD {
            let template = EventTemplate::new(&event, &edition).unwrap();
            for id in ["1", "1169730059", "a<b&\"c>", "caf\u{e9}"] {
                let id = MonitorCrossRefId::new(id).unwrap();
                let mut expected = vec![7];
                encode_event_frame(&id, &event, &edition, &mut expected).unwrap();
                let mut spliced = vec![7];
                template.write_frame(&id, &mut spliced).unwrap();
                assert_eq!(spliced, expected, "{edition:?} {id}");
                assert!(template.body_len() < expected.len() - 1 - HEADER_LEN);
            }
        }
    }

    #[test]
    fn templates_refuse_ids_that_overflow_the_frame() {
        let small = EventTemplate::new(&forwarding(3), &Edition::Ed3).unwrap();
        let padding = MAX_BODY_LEN - small.body_len() - 3;
        let event = forwarding(3 + padding);
        let template = EventTemplate::new(&event, &Edition::Ed3).unwrap();
        assert_eq!(template.body_len(), MAX_BODY_LEN - 3);
        let mut out = vec![1, 2];
        template
            .write_frame(&MonitorCrossRefId::new("123").unwrap(), &mut out)
            .unwrap();
        assert_eq!(out.len(), 2 + MAX_FRAME_LEN);
        let mut out = vec![1, 2];
        assert_eq!(
            template.write_frame(&MonitorCrossRefId::new("1234").unwrap(), &mut out),
            Err(FrameError::BodyTooLarge {
                len: MAX_BODY_LEN + 1,
                max: MAX_BODY_LEN
            })
        );
        assert_eq!(out, [1, 2]);
        assert_eq!(
            EventTemplate::new(&forwarding(3 + padding + 4), &Edition::Ed3),
            Err(FrameError::BodyTooLarge {
                len: MAX_BODY_LEN + 1,
                max: MAX_BODY_LEN
            })
        );
    }

    #[test]
    fn refuses_bodies_larger_than_a_frame() {
        let mut out = vec![1, 2, 3];
        let body = vec![b'x'; MAX_BODY_LEN + 1];
        assert_eq!(
            encode(InvokeId::EVENT, &body, &mut out),
            Err(FrameError::BodyTooLarge {
                len: MAX_BODY_LEN + 1,
                max: MAX_BODY_LEN
            })
        );
        assert_eq!(out, [1, 2, 3]);
        encode(InvokeId::EVENT, &body[1..], &mut out).unwrap();
        assert_eq!(&out[3..7], &[0x00, 0x00, 0xff, 0xff]);
    }
}
