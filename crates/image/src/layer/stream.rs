//! The streaming plumbing around a layer's tar: decompressors and compressors for each
//! [`Compression`], and pass-through readers/writers that hash and count bytes so the
//! digests come out of the same single pass that applies or produces the layer.

use std::cell::Cell;
use std::io::{self, BufReader, Read, Write};
use std::rc::Rc;

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

use super::Compression;
use crate::digest::{Algorithm, Digest, Hasher};

/// A byte count shared between a wrapper deep inside a reader chain and its owner.
#[derive(Clone, Default)]
pub(crate) struct Counter(Rc<Cell<u64>>);

impl Counter {
    pub(crate) fn get(&self) -> u64 {
        self.0.get()
    }

    fn add(&self, n: usize) {
        self.0.set(self.0.get() + n as u64);
    }
}

pub(crate) struct Counting<R> {
    inner: R,
    count: Counter,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.add(n);
        Ok(n)
    }
}

/// The decompressed tar stream of a layer blob.
pub(crate) enum Decoder<R: Read> {
    Plain(Counting<R>),
    // Multi-member: a gzip layer may be several concatenated gzip streams.
    Gzip(Box<MultiGzDecoder<Counting<R>>>),
    // zstd's reader decodes every concatenated frame.
    Zstd(Box<zstd::stream::read::Decoder<'static, BufReader<Counting<R>>>>),
}

impl<R: Read> Decoder<R> {
    /// The decoder, and a counter of the compressed bytes it consumed.
    pub(crate) fn new(reader: R, compression: Compression) -> io::Result<(Self, Counter)> {
        let count = Counter::default();
        let raw = Counting { inner: reader, count: count.clone() };
        let d = match compression {
            Compression::None => Decoder::Plain(raw),
            Compression::Gzip => Decoder::Gzip(Box::new(MultiGzDecoder::new(raw))),
            Compression::Zstd => Decoder::Zstd(Box::new(zstd::stream::read::Decoder::new(raw)?)),
        };
        Ok((d, count))
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(r) => r.read(buf),
            Decoder::Zstd(r) => r.read(buf),
        }
    }
}

/// Hashes (sha256) and counts everything read through it.
pub(crate) struct Hashing<R> {
    inner: R,
    hasher: Hasher,
    count: u64,
}

impl<R> Hashing<R> {
    pub(crate) fn new(inner: R) -> Self {
        Hashing { inner, hasher: Algorithm::Sha256.hasher(), count: 0 }
    }

    pub(crate) fn finish(self) -> (Digest, u64) {
        (self.hasher.finish(), self.count)
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// Hashes (sha256) and counts everything written through it.
pub(crate) struct HashingWriter<W> {
    inner: W,
    hasher: Hasher,
    count: u64,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        HashingWriter { inner, hasher: Algorithm::Sha256.hasher(), count: 0 }
    }

    pub(crate) fn finish(self) -> (W, Digest, u64) {
        (self.inner, self.hasher.finish(), self.count)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A compressor writing the blob to `W`.
pub(crate) enum Encoder<W: Write> {
    Plain(W),
    Gzip(GzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    pub(crate) fn new(out: W, compression: Compression) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Encoder::Plain(out),
            Compression::Gzip => Encoder::Gzip(GzEncoder::new(out, flate2::Compression::default())),
            // Level 3: zstd's own default, what other engines use for layers.
            Compression::Zstd => Encoder::Zstd(zstd::stream::write::Encoder::new(out, 3)?),
        })
    }

    /// Writes the compressed stream's trailer and returns the sink.
    pub(crate) fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Plain(w) => Ok(w),
            Encoder::Gzip(w) => w.finish(),
            Encoder::Zstd(w) => w.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Plain(w) => w.write(buf),
            Encoder::Gzip(w) => w.write(buf),
            Encoder::Zstd(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Plain(w) => w.flush(),
            Encoder::Gzip(w) => w.flush(),
            Encoder::Zstd(w) => w.flush(),
        }
    }
}
