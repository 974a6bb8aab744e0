//! Docker's multiplexed stream, as attach clients of a container without a tty
//! receive it: frames of an 8-byte header `[stream, 0, 0, 0, length (u32 big-endian)]`
//! followed by `length` bytes. Encoding, and a decoder for bytes arriving in pieces.

use crate::error::{Error, Result};

pub const HEADER_LEN: usize = 8;

/// The stream a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Stream {
    Stdin = 0,
    Stdout = 1,
    Stderr = 2,
}

impl Stream {
    /// The name the json-file log uses.
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdin => "stdin",
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

impl TryFrom<u8> for Stream {
    type Error = Error;

    fn try_from(b: u8) -> Result<Stream> {
        match b {
            0 => Ok(Stream::Stdin),
            1 => Ok(Stream::Stdout),
            2 => Ok(Stream::Stderr),
            other => Err(Error::Frame(format!("unknown stream {other}"))),
        }
    }
}

pub fn header(stream: Stream, len: u32) -> [u8; HEADER_LEN] {
    let l = len.to_be_bytes();
    [stream as u8, 0, 0, 0, l[0], l[1], l[2], l[3]]
}

/// Appends `data` to `out` as frames (one, unless longer than 4 GiB).
pub fn encode_into(out: &mut Vec<u8>, stream: Stream, data: &[u8]) {
    out.reserve(data.len() + HEADER_LEN);
    for chunk in data.chunks(u32::MAX as usize) {
        // chunks() bounds the length: the cast is lossless.
        out.extend_from_slice(&header(stream, chunk.len() as u32));
        out.extend_from_slice(chunk);
    }
}

/// Collects bytes and hands out whole frames.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next whole frame, or `None` until more bytes arrive.
    pub fn next_frame(&mut self) -> Result<Option<(Stream, Vec<u8>)>> {
        if self.buf.len() < HEADER_LEN {
            return Ok(None);
        }
        let stream = Stream::try_from(self.buf[0])?;
        let len = u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize;
        if self.buf.len() < HEADER_LEN + len {
            return Ok(None);
        }
        let data = self.buf[HEADER_LEN..HEADER_LEN + len].to_vec();
        self.buf.drain(..HEADER_LEN + len);
        Ok(Some((stream, data)))
    }

    /// Bytes received but not yet part of a whole frame.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let mut out = Vec::new();
        encode_into(&mut out, Stream::Stderr, b"hi");
        assert_eq!(out, [2, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
    }

    #[test]
    fn decodes_bytes_arriving_one_by_one() {
        let mut wire = Vec::new();
        encode_into(&mut wire, Stream::Stdout, b"got:abc\n");
        encode_into(&mut wire, Stream::Stderr, &[7; 300]);
        let mut d = Decoder::new();
        let mut frames = Vec::new();
        for b in &wire {
            d.push(std::slice::from_ref(b));
            while let Some(f) = d.next_frame().unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(frames, vec![(Stream::Stdout, b"got:abc\n".to_vec()), (Stream::Stderr, vec![7; 300])]);
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn rejects_unknown_streams() {
        let mut d = Decoder::new();
        d.push(&[9, 0, 0, 0, 0, 0, 0, 0]);
        assert!(d.next_frame().is_err());
    }
}
