//! A `tokio_util` decoder over `csta::frame`: bytes in, whole frames out.
//!
//! Framing errors end the stream (the position in it is lost); whether a frame's body is a
//! valid message is decided later, so a bad body only costs that one request.

use bytes::{Buf, Bytes, BytesMut};
use csta::error::FrameError;
use csta::ids::InvokeId;
use tokio_util::codec::Decoder;

/// One received frame.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct RawFrame {
    /// The invoke id of the header.
    pub invoke_id: InvokeId,
    /// The XML document.
    pub body: Bytes,
}

/// Why the stream of frames ended badly.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The peer sent bytes that are not a frame.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The decoder; `max_frame` bounds how much a peer can make the connection buffer.
#[derive(Clone, Copy, Debug)]
pub struct CstaCodec {
    /// The largest frame accepted, header included.
    pub max_frame: usize,
}

impl Decoder for CstaCodec {
    type Item = RawFrame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<RawFrame>, CodecError> {
        let Some(frame) = csta::frame::decode(src, self.max_frame)? else {
            src.reserve(csta::frame::HEADER_LEN);
            return Ok(None);
        };
        let (invoke_id, len) = (frame.invoke_id, frame.len);
        let mut bytes = src.split_to(len);
        bytes.advance(csta::frame::HEADER_LEN);
        Ok(Some(RawFrame {
            invoke_id,
            body: bytes.freeze(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(invoke: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let len = u16::try_from(body.len() + 8).unwrap().to_be_bytes();
        let mut bytes = vec![0, 0, len[0], len[1]];
        bytes.extend_from_slice(invoke);
        bytes.extend_from_slice(body);
        bytes
    }

    #[test]
    fn splits_partial_and_joined_frames() {
        let mut codec = CstaCodec { max_frame: 1024 };
        let mut wire = frame(b"0001", b"<a/>");
        wire.extend(frame(b"9999", b"<bb/>"));
        let mut buffer = BytesMut::new();
        buffer.extend_from_slice(&wire[..5]);
        assert_eq!(codec.decode(&mut buffer).unwrap(), None);
        buffer.extend_from_slice(&wire[5..]);
        let first = codec.decode(&mut buffer).unwrap().unwrap();
        assert_eq!(
            (first.invoke_id.value(), &first.body[..]),
            (1, &b"<a/>"[..])
        );
        let second = codec.decode(&mut buffer).unwrap().unwrap();
        assert_eq!(
            (second.invoke_id.value(), &second.body[..]),
            (9999, &b"<bb/>"[..])
        );
        assert_eq!(codec.decode(&mut buffer).unwrap(), None);
    }

    #[test]
    fn broken_headers_are_fatal() {
        let mut codec = CstaCodec { max_frame: 100 };
        let mut too_long = BytesMut::from(&[0u8, 0, 0x10, 0x00, b'0', b'0', b'0', b'1'][..]);
        assert!(matches!(
            codec.decode(&mut too_long),
            Err(CodecError::Frame(FrameError::TooLong { .. }))
        ));
        let mut too_short = BytesMut::from(&[0u8, 0, 0, 4][..]);
        assert!(matches!(
            codec.decode(&mut too_short),
            Err(CodecError::Frame(FrameError::TooShort { .. }))
        ));
        let mut letters = BytesMut::from(&frame(b"00x1", b"<a/>")[..]);
        assert!(matches!(
            codec.decode(&mut letters),
            Err(CodecError::Frame(FrameError::BadInvokeId { .. }))
        ));
        let mut soap = BytesMut::from(&[0u8, 1, 0, 12][..]);
        assert!(matches!(
            codec.decode(&mut soap),
            Err(CodecError::Frame(FrameError::BadFormat { .. }))
        ));
    }
}
