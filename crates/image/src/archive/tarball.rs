//! Streaming plumbing for archives: decompressors by [`Compression`], the diff_id of
//! a stored layer blob, a large-buffer copy, and a deterministic tar writer (fixed
//! owner, modes and mtime; entries written in the order given, data checked against
//! the size in its header).

use std::io::{self, Read, Write};
use std::sync::Mutex;

use tar::{EntryType, Header};

use super::{Error, Result};
use crate::content::ContentStore;
use crate::digest::{Algorithm, Digest};
use crate::layer::Compression;

/// Copy buffer: large, so multi-hundred-megabyte layers cost few syscalls.
pub(super) const BUF: usize = 1 << 20;
/// The mtime of every entry an archive writer produces (the Unix epoch), so that
/// saving the same images twice gives the same bytes.
const MTIME: u64 = 0;

/// The decompressed stream of a blob.
pub(super) fn decoder<'a, R: Read + 'a>(r: R, c: Compression) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match c {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(io::BufReader::with_capacity(BUF, r))),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(r)?),
    })
}

/// The compression a blob starts with, by magic number (gzip, zstd, else none).
pub fn detect_compression(prefix: &[u8]) -> Compression {
    match prefix {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
        _ => Compression::None,
    }
}

/// Copies `r` to `w` through one reused buffer; returns the bytes copied.
pub(super) fn copy(r: &mut dyn Read, w: &mut dyn Write, buf: &mut [u8]) -> io::Result<u64> {
    let mut n = 0u64;
    loop {
        let k = match r.read(buf) {
            Ok(0) => return Ok(n),
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        w.write_all(&buf[..k])?;
        n += k as u64;
    }
}

/// sha256 and length of the uncompressed tar inside blob `digest`.
pub(super) fn diff_id_of(content: &ContentStore, digest: &Digest, c: Compression) -> Result<(Digest, u64)> {
    let file = content.reader(digest)?;
    let mut r = decoder(file, c).map_err(Error::Read)?;
    let mut h = Algorithm::Sha256.hasher();
    let mut buf = vec![0u8; BUF];
    let n = copy(&mut r, &mut h, &mut buf).map_err(|e| Error::Invalid {
        file: digest.to_string(),
        reason: format!("cannot decompress the layer: {e}"),
    })?;
    Ok((h.finish(), n))
}

/// Runs `f` on every item on up to `available_parallelism` threads; the first error
/// (in item order) wins. Results come back in item order.
pub(super) fn parallel<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> Result<R> + Sync) -> Result<Vec<R>> {
    let n = items.len();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(n).max(1);
    let queue = Mutex::new(items.into_iter().enumerate());
    let results: Mutex<Vec<Option<Result<R>>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                    let Some((i, item)) = next else { break };
                    let r = f(item);
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(Error::Io { op: "worker".into(), source: io::Error::other("no result") })))
        .collect()
}

/// A deterministic tar writer.
pub(super) struct TarOut<W: Write> {
    b: tar::Builder<W>,
    buf: Vec<u8>,
}

fn header(kind: EntryType, mode: u32, size: u64) -> Header {
    let mut h = Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(MTIME);
    h.set_size(size);
    h
}

impl<W: Write> TarOut<W> {
    pub(super) fn new(out: W) -> Self {
        TarOut { b: tar::Builder::new(out), buf: vec![0u8; BUF] }
    }

    pub(super) fn dir(&mut self, path: &str) -> Result<()> {
        let mut h = header(EntryType::Directory, 0o755, 0);
        self.b.append_data(&mut h, format!("{path}/"), io::empty()).map_err(Error::Write)
    }

    pub(super) fn bytes(&mut self, path: &str, data: &[u8]) -> Result<()> {
        let mut h = header(EntryType::Regular, 0o644, data.len() as u64);
        self.b.append_data(&mut h, path, data).map_err(Error::Write)
    }

    /// A file of exactly `size` bytes read from `data`; a reader that gives more or
    /// fewer fails instead of producing a corrupt archive.
    pub(super) fn stream(&mut self, path: &str, size: u64, data: &mut dyn Read) -> Result<()> {
        let mut h = header(EntryType::Regular, 0o644, size);
        h.set_path(path).map_err(Error::Write)?;
        h.set_cksum();
        let out = self.b.get_mut();
        out.write_all(h.as_bytes()).map_err(Error::Write)?;
        let n = copy(&mut data.take(size), out, &mut self.buf).map_err(Error::Read)?;
        let mut probe = [0u8; 1];
        let extra = loop {
            match data.read(&mut probe) {
                Ok(k) => break k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::Read(e)),
            }
        };
        if n != size || extra != 0 {
            return Err(Error::Invalid {
                file: path.to_string(),
                reason: format!("expected {size} bytes of data, the source had {}", if extra != 0 { "more".to_string() } else { n.to_string() }),
            });
        }
        let pad = (512 - size % 512) % 512;
        out.write_all(&[0u8; 512][..pad as usize]).map_err(Error::Write)?;
        Ok(())
    }

    pub(super) fn finish(self) -> Result<W> {
        let mut w = self.b.into_inner().map_err(Error::Write)?;
        w.flush().map_err(Error::Write)?;
        Ok(w)
    }
}
