//! Docker's multiplexed stdout/stderr stream (attach, logs and exec without a TTY):
//! each frame is an 8-byte header `[stream, 0, 0, 0, len (u32 big-endian)]` then
//! `len` bytes of payload. Encoding, and an incremental decoder for split reads.

use bytes::{Buf, Bytes, BytesMut};

/// `Content-Type` of a multiplexed stream (API ≥ 1.42).
pub const MULTIPLEXED_CONTENT_TYPE: &str = "application/vnd.docker.multiplexed-stream";
/// `Content-Type` of a raw (TTY) stream.
pub const RAW_CONTENT_TYPE: &str = "application/vnd.docker.raw-stream";

const HEADER_LEN: usize = 8;

/// Which stream a frame belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum StreamType {
    Stdin = 0,
    Stdout = 1,
    Stderr = 2,
    /// Daemon-side errors (Docker's `Systemerr`).
    System = 3,
}

impl TryFrom<u8> for StreamType {
    type Error = FrameError;

    fn try_from(b: u8) -> Result<Self, FrameError> {
        match b {
            0 => Ok(StreamType::Stdin),
            1 => Ok(StreamType::Stdout),
            2 => Ok(StreamType::Stderr),
            3 => Ok(StreamType::System),
            other => Err(FrameError::InvalidStream(other)),
        }
    }
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub stream: StreamType,
    pub data: Bytes,
}

/// A stream that is not validly framed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("invalid stream type {0} in frame header")]
    InvalidStream(u8),
    #[error("stream ended inside a frame ({0} bytes left over)")]
    Truncated(usize),
}

/// The 8-byte header for a frame of `len` bytes.
pub fn frame_header(stream: StreamType, len: u32) -> [u8; HEADER_LEN] {
    let l = len.to_be_bytes();
    [stream as u8, 0, 0, 0, l[0], l[1], l[2], l[3]]
}

/// Frames `data` (split into several frames if longer than `u32::MAX`).
pub fn encode_frame(stream: StreamType, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + HEADER_LEN);
    let mut chunks = data.chunks(u32::MAX as usize).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&frame_header(stream, 0));
    }
    for chunk in chunks {
        // chunks() bounds the length, so the cast is lossless.
        out.extend_from_slice(&frame_header(stream, chunk.len() as u32));
        out.extend_from_slice(chunk);
    }
    out
}

/// Incremental decoder: [`push`](FrameDecoder::push) bytes as they arrive, then
/// take whole frames with [`next_frame`](FrameDecoder::next_frame).
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: BytesMut,
}

impl FrameDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes buffered but not yet returned as a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next whole frame, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if self.buf.len() < HEADER_LEN {
            return Ok(None);
        }
        let stream = StreamType::try_from(self.buf[0])?;
        let len = u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize;
        if self.buf.len() < HEADER_LEN + len {
            self.buf.reserve(HEADER_LEN + len - self.buf.len());
            return Ok(None);
        }
        self.buf.advance(HEADER_LEN);
        let data = self.buf.split_to(len).freeze();
        Ok(Some(Frame { stream, data }))
    }

    /// Checks the stream ended on a frame boundary.
    pub fn finish(&self) -> Result<(), FrameError> {
        match self.buf.len() {
            0 => Ok(()),
            n => Err(FrameError::Truncated(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(d: &mut FrameDecoder) -> Vec<Frame> {
        let mut out = Vec::new();
        while let Some(f) = d.next_frame().expect("valid frame") {
            out.push(f);
        }
        out
    }

    #[test]
    fn header_layout() {
        assert_eq!(frame_header(StreamType::Stderr, 0x0102_0304), [2, 0, 0, 0, 1, 2, 3, 4]);
        assert_eq!(encode_frame(StreamType::Stdout, b"hi"), [1, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
        assert_eq!(encode_frame(StreamType::Stdout, b""), [1, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn joined_frames_in_one_push() {
        let mut wire = encode_frame(StreamType::Stdout, b"hello\n");
        wire.extend(encode_frame(StreamType::Stderr, b"oops\n"));
        wire.extend(encode_frame(StreamType::Stdout, b""));
        let mut d = FrameDecoder::new();
        d.push(&wire);
        let frames = drain(&mut d);
        assert_eq!(frames.len(), 3);
        assert_eq!((frames[0].stream, &frames[0].data[..]), (StreamType::Stdout, &b"hello\n"[..]));
        assert_eq!((frames[1].stream, &frames[1].data[..]), (StreamType::Stderr, &b"oops\n"[..]));
        assert!(frames[2].data.is_empty());
        assert_eq!(d.finish(), Ok(()));
    }

    #[test]
    fn split_at_every_byte() {
        let mut wire = encode_frame(StreamType::Stderr, b"abc");
        wire.extend(encode_frame(StreamType::Stdout, &[7u8; 300]));
        let mut d = FrameDecoder::new();
        let mut frames = Vec::new();
        for b in &wire {
            d.push(std::slice::from_ref(b));
            frames.extend(drain(&mut d));
        }
        assert_eq!(frames.len(), 2);
        assert_eq!(&frames[0].data[..], b"abc");
        assert_eq!(frames[1].data.len(), 300);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn errors() {
        let mut d = FrameDecoder::new();
        d.push(&[9, 0, 0, 0, 0, 0, 0, 1, b'x']);
        assert_eq!(d.next_frame(), Err(FrameError::InvalidStream(9)));
        let mut d = FrameDecoder::new();
        d.push(&encode_frame(StreamType::Stdout, b"abcdef")[..10]);
        assert_eq!(d.next_frame(), Ok(None));
        assert_eq!(d.finish(), Err(FrameError::Truncated(10)));
    }
}
