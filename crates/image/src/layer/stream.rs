//! The streaming plumbing around a layer's tar: decompressors and compressors for each
//! [`Compression`], pass-through readers/writers that hash and count bytes so the
//! digests come out of the same single pass that applies or produces the layer, and
//! [`pipelined`], which splits that pass over two threads (decompress and hash on one,
//! consume on the other) through a short queue of reused buffers.

use std::cell::Cell;
use std::io::{self, BufReader, Read, Write};
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};

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

/// Bytes per chunk handed from the decompressing thread to the consumer.
const CHUNK: usize = 256 * 1024;
/// Chunks in flight: at most `(DEPTH + 2) * CHUNK` bytes are buffered, whatever the
/// layer's size.
const DEPTH: usize = 8;

/// The consumer's end of [`pipelined`]: reads the chunks in order; a read error on
/// the producer's side arrives here as that error.
pub(crate) struct ChunkReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    recycle: Sender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(Ok(next)) => {
                    let done = std::mem::replace(&mut self.cur, next);
                    // The producer may be gone (it finished): then the buffer is dropped.
                    let _ = self.recycle.send(done);
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(mpsc::RecvError) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads `reader` to its end on this thread, hashing (sha256) and counting what it
/// reads, while `consume` runs on a scoped thread reading the same bytes through a
/// [`ChunkReader`]. Returns what `consume` returned and, if the whole stream was read,
/// its digest and length. When `consume` returns before the end (an error), reading
/// stops; `consume` must read to the end to get the digest of everything.
pub(crate) fn pipelined<R: Read, T: Send>(
    mut reader: R,
    consume: impl FnOnce(&mut ChunkReader) -> T + Send,
) -> (T, io::Result<(Digest, u64)>) {
    let (tx, rx): (SyncSender<io::Result<Vec<u8>>>, _) = mpsc::sync_channel(DEPTH);
    let (recycle, reuse) = mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            let mut input = ChunkReader { rx, recycle, cur: Vec::new(), pos: 0 };
            consume(&mut input)
        });
        let mut hasher = Algorithm::Sha256.hasher();
        let mut count = 0u64;
        let mut outcome = Ok(());
        loop {
            let mut buf = reuse.try_recv().unwrap_or_default();
            buf.resize(CHUNK, 0);
            match fill(&mut reader, &mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    hasher.update(&buf);
                    count += n as u64;
                    if tx.send(Ok(buf)).is_err() {
                        outcome = Err(io::Error::other("the consumer stopped before the end of the stream"));
                        break;
                    }
                }
                Err(e) => {
                    let shown = io::Error::new(e.kind(), e.to_string());
                    let _ = tx.send(Err(e));
                    outcome = Err(shown);
                    break;
                }
            }
        }
        drop(tx);
        let out = match worker.join() {
            Ok(out) => out,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        (out, outcome.map(|()| (hasher.finish(), count)))
    })
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn fill(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
