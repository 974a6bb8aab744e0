//! The content store: immutable blobs addressed by digest under `<root>/content/`.
//!
//! Layout: `blobs/<alg>/<hex>` holds committed blobs (read-only files); `ingest/<dir>/`
//! holds one partial write each (`data`, plus `ref` and `expected` for resumable ones).
//! A blob only ever appears in `blobs/` by an atomic rename after its size and digest
//! were checked and its bytes fsynced, so a reader never sees a partial or wrong blob,
//! even after a crash. The store knows nothing about what blobs mean (manifests,
//! layers): that is the formats' and the image metadata's business.
//!
//! Writers hold an exclusive `flock` on their ingest's `data` file for their whole life,
//! which is what lets [`ContentStore::clean_stale_ingests`] (and a second writer with
//! the same ref) tell a live ingest from one a crash left behind.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use nix::fcntl::{Flock, FlockArg};

use crate::digest::{Algorithm, Digest, Hasher};

/// How long a resumable ingest nobody is writing survives before
/// [`ContentStore::open`] removes it: long enough to resume an interrupted pull.
pub const DEFAULT_INGEST_EXPIRY: Duration = Duration::from_secs(24 * 60 * 60);
/// Anonymous ingests (from [`ContentStore::writer`]) can never be resumed, so once no
/// writer holds them they are garbage; this only covers the instant between creating
/// the directory and locking the file.
const ANONYMOUS_INGEST_EXPIRY: Duration = Duration::from_secs(60);
const ANONYMOUS_PREFIX: &str = "tmp-";
/// Longest caller-chosen ingest ref we accept (it is stored, not used as a file name).
const MAX_REF_LEN: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("blob {0} is not in the content store; pull or load the image again")]
    NotFound(Digest),
    #[error(
        "content digest mismatch: expected {expected}, got {actual}; the data is corrupt or not what was asked for, and was discarded"
    )]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error(
        "content size mismatch for {digest}: expected {expected} bytes, got {actual}; the transfer was cut short or the descriptor is wrong"
    )]
    SizeMismatch {
        digest: String,
        expected: u64,
        actual: u64,
    },
    #[error(
        "ingest {ref_key:?} is being written by another writer; wait for it to finish or use another ref"
    )]
    Locked { ref_key: String },
    #[error("invalid ingest ref {0:?}: must be 1 to {MAX_REF_LEN} bytes")]
    InvalidRef(String),
    #[error("content store: {op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io { op, path, source }
}

/// A handle on `<root>/content/`. Cheap to clone; all state is on disk.
#[derive(Debug, Clone)]
pub struct ContentStore {
    root: PathBuf,
}

impl ContentStore {
    /// Opens (creating if needed) the store under `<root>/content/`, and removes
    /// ingests a crash left behind (anonymous ones at once, resumable ones after
    /// [`DEFAULT_INGEST_EXPIRY`]).
    pub fn open(root: impl AsRef<Path>) -> Result<ContentStore> {
        let store = ContentStore {
            root: root.as_ref().join("content"),
        };
        for dir in [
            store.root.join("blobs").join(Algorithm::Sha256.name()),
            store.root.join("blobs").join(Algorithm::Sha512.name()),
            store.root.join("ingest"),
        ] {
            fs::create_dir_all(&dir).map_err(io_err("create directory", &dir))?;
        }
        store.clean_stale_ingests(DEFAULT_INGEST_EXPIRY)?;
        Ok(store)
    }

    /// `<root>/content`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a committed blob lives (whether or not it exists).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.blob_dir(digest.algorithm()).join(digest.hex())
    }

    fn blob_dir(&self, alg: Algorithm) -> PathBuf {
        self.root.join("blobs").join(alg.name())
    }

    fn ingest_root(&self) -> PathBuf {
        self.root.join("ingest")
    }

    /// A one-shot writer: hashes with the expected digest's algorithm (sha256 without
    /// one); [`Writer::commit`] checks `expected` when given. Dropping it uncommitted
    /// removes its partial data.
    pub fn writer(&self, expected: Option<(Digest, u64)>) -> Result<Writer> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let name = format!(
            "{ANONYMOUS_PREFIX}{}-{}-{nanos}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let dir = self.ingest_root().join(name);
        fs::create_dir(&dir).map_err(io_err("create ingest", &dir))?;
        let opened = open_locked(&dir.join("data"), Open::CreateNew).and_then(|f| {
            f.ok_or_else(|| Error::Locked {
                ref_key: dir.display().to_string(),
            })
        });
        let file = match opened {
            Ok(f) => f,
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        Ok(Writer::new(self, dir, file, None, expected))
    }

    /// A resumable writer keyed by `ref_key` (e.g. `pull-<layer digest>`): if an earlier
    /// writer with the same key was interrupted (crash, dropped connection), writing
    /// continues after the bytes already on disk, which are re-hashed first. Partial
    /// data recorded for a *different* `expected` is discarded. Fails with
    /// [`Error::Locked`] while another writer holds the same key.
    pub fn resume(&self, ref_key: &str, expected: Option<(Digest, u64)>) -> Result<Writer> {
        if ref_key.is_empty() || ref_key.len() > MAX_REF_LEN {
            return Err(Error::InvalidRef(ref_key.to_string()));
        }
        // The key is caller-chosen text: hash it so it can never form a path.
        let dir = self
            .ingest_root()
            .join(Digest::sha256_of(ref_key.as_bytes()).hex());
        fs::create_dir_all(&dir).map_err(io_err("create ingest", &dir))?;
        let data = dir.join("data");
        let mut file = open_locked(&data, Open::Create)?.ok_or_else(|| Error::Locked {
            ref_key: ref_key.to_string(),
        })?;

        let expected_text = match &expected {
            Some((d, size)) => format!("{d} {size}\n"),
            None => String::new(),
        };
        let expected_path = dir.join("expected");
        let recorded = fs::read_to_string(&expected_path).unwrap_or_default();
        let mut restart = recorded != expected_text;
        let len = file.metadata().map_err(io_err("stat", &data))?.len();
        if let Some((_, size)) = &expected
            && len > *size
        {
            // More bytes than the blob has: whatever wrote them was not this blob.
            restart = true;
        }
        let mut hasher = expected_algorithm(&expected).hasher();
        let mut written = 0;
        let ref_path = dir.join("ref");
        if restart || !ref_path.exists() {
            // `ref` is for people looking at the directory; `expected` guards resumes.
            fs::write(&ref_path, ref_key).map_err(io_err("write", &ref_path))?;
        }
        if restart {
            file.set_len(0).map_err(io_err("truncate", &data))?;
            fs::write(&expected_path, &expected_text).map_err(io_err("write", &expected_path))?;
        } else {
            // Re-hash what is there: the hasher state died with the previous writer.
            file.seek(SeekFrom::Start(0))
                .map_err(io_err("seek", &data))?;
            written = io::copy(&mut (&mut *file).take(len), &mut hasher)
                .map_err(io_err("read partial ingest", &data))?;
        }
        file.seek(SeekFrom::Start(written))
            .map_err(io_err("seek", &data))?;
        let mut w = Writer::new(self, dir, file, Some(ref_key.to_string()), expected);
        w.hasher = Some(hasher);
        w.written = written;
        Ok(w)
    }

    /// The blob, opened for streaming.
    pub fn reader(&self, digest: &Digest) -> Result<File> {
        let path = self.blob_path(digest);
        File::open(&path).map_err(|e| self.not_found_or(e, digest, "open", &path))
    }

    /// The whole blob in memory: for manifests and configs, not layers.
    pub fn read_bytes(&self, digest: &Digest) -> Result<Vec<u8>> {
        let path = self.blob_path(digest);
        fs::read(&path).map_err(|e| self.not_found_or(e, digest, "read", &path))
    }

    /// The blob's size in bytes.
    pub fn info(&self, digest: &Digest) -> Result<u64> {
        let path = self.blob_path(digest);
        fs::metadata(&path)
            .map(|m| m.len())
            .map_err(|e| self.not_found_or(e, digest, "stat", &path))
    }

    pub fn exists(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// Removes a blob; [`Error::NotFound`] if it is not there.
    pub fn delete(&self, digest: &Digest) -> Result<()> {
        let path = self.blob_path(digest);
        fs::remove_file(&path).map_err(|e| self.not_found_or(e, digest, "remove", &path))
    }

    /// Every committed blob, sorted. Stray files that are not digests are ignored.
    pub fn list(&self) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        for alg in [Algorithm::Sha256, Algorithm::Sha512] {
            let dir = self.blob_dir(alg);
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err("list", &dir)(e)),
            };
            for entry in entries {
                let entry = entry.map_err(io_err("list", &dir))?;
                let name = entry.file_name();
                if let Some(d) = name
                    .to_str()
                    .and_then(|n| format!("{}:{n}", alg.name()).parse::<Digest>().ok())
                {
                    out.push(d);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Removes ingests no writer holds whose data was last written more than
    /// `older_than` ago (anonymous ones after at most a minute, since nothing can
    /// resume them). Returns how many were removed.
    pub fn clean_stale_ingests(&self, older_than: Duration) -> Result<usize> {
        let root = self.ingest_root();
        let entries = match fs::read_dir(&root) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(io_err("list", &root)(e)),
        };
        let now = SystemTime::now();
        let mut removed = 0;
        for entry in entries {
            let entry = entry.map_err(io_err("list", &root))?;
            let dir = entry.path();
            let name = entry.file_name();
            let limit = if name.to_string_lossy().starts_with(ANONYMOUS_PREFIX) {
                older_than.min(ANONYMOUS_INGEST_EXPIRY)
            } else {
                older_than
            };
            let data = dir.join("data");
            // Holding the lock while removing keeps a writer from resuming it meanwhile.
            let _lock = match open_locked(&data, Open::Existing) {
                Ok(Some(lock)) => Some(lock),
                Ok(None) => continue, // a live writer
                Err(_) => None,       // no data file yet (or not a directory): judge by age
            };
            let modified = fs::metadata(&data)
                .or_else(|_| fs::symlink_metadata(&dir))
                .and_then(|m| m.modified())
                .unwrap_or(now);
            if now.duration_since(modified).unwrap_or_default() < limit {
                continue;
            }
            let result = if dir.is_dir() {
                fs::remove_dir_all(&dir)
            } else {
                fs::remove_file(&dir)
            };
            match result {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("remove stale ingest", &dir)(e)),
            }
        }
        Ok(removed)
    }

    /// Stores `data` as a sha256 blob (a no-op if it is already there).
    pub fn put_bytes(&self, data: &[u8]) -> Result<Digest> {
        let digest = Digest::sha256_of(data);
        if self.exists(&digest) {
            return Ok(digest);
        }
        let mut w = self.writer(Some((digest, data.len() as u64)))?;
        w.write_all(data).map_err(io_err("write", &w.dir))?;
        w.commit()
    }

    fn not_found_or(&self, e: io::Error, digest: &Digest, op: &'static str, path: &Path) -> Error {
        if e.kind() == io::ErrorKind::NotFound {
            Error::NotFound(digest.clone())
        } else {
            io_err(op, path)(e)
        }
    }
}

fn expected_algorithm(expected: &Option<(Digest, u64)>) -> Algorithm {
    expected
        .as_ref()
        .map_or(Algorithm::Sha256, |(d, _)| d.algorithm())
}

#[derive(Clone, Copy, PartialEq)]
enum Open {
    /// A new anonymous ingest: the file must not exist yet.
    CreateNew,
    /// A resumable ingest: create it or continue the existing one.
    Create,
    /// Only look at an existing ingest (the cleaner): never create anything.
    Existing,
}

/// Opens `path` read-write and takes an exclusive non-blocking flock; `Ok(None)` when
/// another writer holds it. Retries when the file was replaced or removed between open
/// and lock (a concurrent cleaner), so the lock held is always on the file the path
/// names.
fn open_locked(path: &Path, mode: Open) -> Result<Option<Flock<File>>> {
    loop {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(mode == Open::Create)
            .create_new(mode == Open::CreateNew)
            .open(path)
            .map_err(io_err("open ingest", path))?;
        let locked = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(l) => l,
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => return Ok(None),
            Err((_, errno)) => return Err(io_err("lock", path)(io::Error::from(errno))),
        };
        let held = locked.metadata().map_err(io_err("stat", path))?;
        match fs::metadata(path) {
            Ok(now) if now.ino() == held.ino() && now.dev() == held.dev() => {
                return Ok(Some(locked));
            }
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound && mode == Open::Create => {
                // The cleaner removed the whole ingest meanwhile: recreate and retry.
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent).map_err(io_err("create ingest", parent))?;
                }
            }
            Err(e) => return Err(io_err("stat", path)(e)),
        }
    }
}

/// A blob being written. Write the bytes (it implements [`Write`]), then
/// [`commit`](Self::commit). Dropping an uncommitted writer keeps a resumable
/// ingest's data for [`ContentStore::resume`] and removes an anonymous one.
pub struct Writer {
    blobs: PathBuf,
    dir: PathBuf,
    file: Option<Flock<File>>,
    hasher: Option<Hasher>,
    written: u64,
    expected: Option<(Digest, u64)>,
    ref_key: Option<String>,
    /// The ingest directory is gone (committed or discarded): never touch it again,
    /// since a new writer with the same ref may have created it anew.
    removed: bool,
}

impl Writer {
    fn new(
        store: &ContentStore,
        dir: PathBuf,
        file: Flock<File>,
        ref_key: Option<String>,
        expected: Option<(Digest, u64)>,
    ) -> Writer {
        Writer {
            blobs: store.root.join("blobs"),
            dir,
            file: Some(file),
            hasher: Some(expected_algorithm(&expected).hasher()),
            written: 0,
            expected,
            ref_key,
            removed: false,
        }
    }

    /// Bytes written so far, including those recovered by [`ContentStore::resume`]:
    /// where a resumed download should continue (an HTTP `Range` start).
    pub fn offset(&self) -> u64 {
        self.written
    }

    /// The resumable ref, or `None` for an anonymous writer.
    /// The bytes written so far, read from the start: what a resumed download
    /// already has, for a consumer that needs the whole stream.
    pub fn read_back(&self) -> io::Result<File> {
        File::open(self.dir.join("data"))
    }

    pub fn ref_key(&self) -> Option<&str> {
        self.ref_key.as_deref()
    }

    /// Checks size and digest, makes the bytes durable and moves them into
    /// `blobs/` atomically. If the blob is already there (another writer won the race)
    /// the data is dropped and the commit still succeeds. On a digest mismatch nothing
    /// becomes visible and the partial data is removed.
    pub fn commit(mut self) -> Result<Digest> {
        let data = self.dir.join("data");
        let (Some(file), Some(hasher)) = (self.file.take(), self.hasher.take()) else {
            unreachable!("a writer's file and hasher live until commit or drop");
        };
        let actual = hasher.finish();
        let expected = self.expected.clone();
        if let Some((digest, size)) = &expected
            && self.written != *size
        {
            if self.written > *size {
                self.remove_ingest();
            }
            // Fewer bytes: a resumable ingest stays for a later resume.
            return Err(Error::SizeMismatch {
                digest: digest.to_string(),
                expected: *size,
                actual: self.written,
            });
        }
        if let Some((expected, _)) = &expected
            && *expected != actual
        {
            drop(file);
            self.remove_ingest();
            return Err(Error::DigestMismatch {
                expected: expected.clone(),
                actual,
            });
        }
        file.sync_all().map_err(io_err("fsync", &data))?;
        let dir = self.blobs.join(actual.algorithm().name());
        let target = dir.join(actual.hex());
        if !target.exists() {
            // Blobs are immutable: read-only makes an accidental in-place edit fail loudly.
            fs::set_permissions(&data, fs::Permissions::from_mode(0o444))
                .map_err(io_err("chmod", &data))?;
            // rename() replaces atomically, so two writers of the same blob racing here
            // both succeed and readers see one complete copy or the other.
            fs::rename(&data, &target).map_err(io_err("rename into place", &target))?;
            fsync_dir(&dir)?;
        }
        drop(file);
        self.remove_ingest();
        Ok(actual)
    }

    /// Gives up: removes the partial data, even of a resumable ingest.
    pub fn abort(mut self) {
        self.file = None;
        self.remove_ingest();
    }

    fn remove_ingest(&mut self) {
        // Best effort: a leftover is only garbage that clean_stale_ingests removes later.
        if !self.removed {
            let _ = fs::remove_dir_all(&self.dir);
            self.removed = true;
        }
    }
}

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some((_, size)) = &self.expected
            && self.written + buf.len() as u64 > *size
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("more data than the expected {size} bytes"),
            ));
        }
        let (Some(file), Some(hasher)) = (self.file.as_mut(), self.hasher.as_mut()) else {
            return Err(io::Error::other("writer already finished"));
        };
        let n = file.write(buf)?;
        hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Anonymous ingests can never be resumed; a resumable one is kept.
        self.file = None;
        if self.ref_key.is_none() {
            self.remove_ingest();
        }
    }
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("dir", &self.dir)
            .field("ref_key", &self.ref_key)
            .field("written", &self.written)
            .field("expected", &self.expected)
            .finish()
    }
}

/// Makes a directory's entries (a rename, a new file) durable.
pub(crate) fn fsync_dir(dir: &Path) -> Result<()> {
    atomic_file::sync_dir(dir).map_err(io_err("fsync directory", dir))
}

/// Writes `bytes` to `path` so that after a crash (or a power loss) the file holds
/// either the old or the new content.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    atomic_file::write(path, bytes, atomic_file::Durability::Durable).map_err(io_err("write", path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    fn store() -> (tempfile::TempDir, ContentStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = ContentStore::open(dir.path()).unwrap();
        (dir, store)
    }

    fn ingest_count(s: &ContentStore) -> usize {
        fs::read_dir(s.ingest_root()).unwrap().count()
    }

    #[test]
    fn put_read_list_delete() {
        let (_t, s) = store();
        let d = s.put_bytes(b"hello").unwrap();
        assert_eq!(d, Digest::sha256_of(b"hello"));
        assert_eq!(s.blob_path(&d), s.root().join("blobs/sha256").join(d.hex()));
        assert!(s.exists(&d));
        assert_eq!(s.info(&d).unwrap(), 5);
        assert_eq!(s.read_bytes(&d).unwrap(), b"hello");
        let mut text = String::new();
        s.reader(&d).unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "hello");
        assert_eq!(s.put_bytes(b"hello").unwrap(), d);
        let e = s.put_bytes(b"world").unwrap();
        let mut want = vec![d.clone(), e.clone()];
        want.sort();
        assert_eq!(s.list().unwrap(), want);
        s.delete(&d).unwrap();
        assert!(!s.exists(&d));
        assert!(matches!(s.delete(&d), Err(Error::NotFound(x)) if x == d));
        assert!(matches!(s.reader(&d), Err(Error::NotFound(_))));
        assert!(matches!(s.info(&d), Err(Error::NotFound(_))));
        assert_eq!(s.list().unwrap(), vec![e]);
        assert_eq!(ingest_count(&s), 0);
    }

    #[test]
    fn wrong_digest_is_refused_and_nothing_becomes_visible() {
        let (_t, s) = store();
        let claimed = Digest::sha256_of(b"what the registry promised");
        let mut w = s.writer(Some((claimed.clone(), 8))).unwrap();
        w.write_all(b"tampered").unwrap();
        let err = w.commit().unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("digest mismatch") && msg.contains("discarded"),
            "{msg}"
        );
        let tampered = Digest::sha256_of(b"tampered");
        assert!(
            matches!(err, Error::DigestMismatch { expected, actual } if expected == claimed && actual == tampered)
        );
        assert!(s.list().unwrap().is_empty());
        assert!(!s.exists(&claimed));
        assert_eq!(ingest_count(&s), 0);
    }

    #[test]
    fn size_is_checked() {
        let (_t, s) = store();
        let d = Digest::sha256_of(b"abcd");
        let mut w = s.writer(Some((d.clone(), 4))).unwrap();
        w.write_all(b"abc").unwrap();
        assert!(matches!(
            w.commit(),
            Err(Error::SizeMismatch {
                expected: 4,
                actual: 3,
                ..
            })
        ));
        let mut w = s.writer(Some((d.clone(), 4))).unwrap();
        assert!(w.write_all(b"abcde").is_err());
        drop(w);
        assert!(s.list().unwrap().is_empty());
        assert_eq!(ingest_count(&s), 0);
    }

    #[test]
    fn unverified_writer_reports_what_it_stored() {
        let (_t, s) = store();
        let mut w = s.writer(None).unwrap();
        w.write_all(b"some ").unwrap();
        w.write_all(b"bytes").unwrap();
        assert_eq!(w.offset(), 10);
        let d = w.commit().unwrap();
        assert_eq!(d, Digest::sha256_of(b"some bytes"));
        assert_eq!(s.read_bytes(&d).unwrap(), b"some bytes");
        // Committed blobs are read-only.
        let mode = fs::metadata(s.blob_path(&d)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o444);
    }

    #[test]
    fn sha512_is_verified() {
        let (_t, s) = store();
        let data = b"sha512 content";
        let mut h = Algorithm::Sha512.hasher();
        h.update(data);
        let d = h.finish();
        let mut w = s.writer(Some((d.clone(), data.len() as u64))).unwrap();
        w.write_all(data).unwrap();
        assert_eq!(w.commit().unwrap(), d);
        assert_eq!(s.blob_path(&d), s.root().join("blobs/sha512").join(d.hex()));
        assert_eq!(s.read_bytes(&d).unwrap(), data);
        assert_eq!(s.list().unwrap(), vec![d.clone()]);

        let mut w = s.writer(Some((d, data.len() as u64))).unwrap();
        w.write_all(b"sha512 CONTENT").unwrap();
        let err = w.commit().unwrap_err();
        assert!(
            matches!(&err, Error::DigestMismatch { actual, .. } if actual.algorithm() == Algorithm::Sha512),
            "{err}"
        );
    }

    #[test]
    fn resume_after_a_crash_continues_and_rehashes() {
        let (t, s) = store();
        let data: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let d = Digest::sha256_of(&data);
        let expected = Some((d.clone(), data.len() as u64));
        let key = "pull docker.io/library/busybox layer 1";

        let mut w = s.resume(key, expected.clone()).unwrap();
        assert_eq!(w.offset(), 0);
        assert_eq!(w.ref_key(), Some(key));
        w.write_all(&data[..150_000]).unwrap();
        drop(w); // the "crash": the process goes away without committing

        // A fresh store on the same root, as after a restart, keeps the young ingest.
        let s = ContentStore::open(t.path()).unwrap();
        assert!(s.list().unwrap().is_empty());
        let mut w = s.resume(key, expected.clone()).unwrap();
        assert_eq!(w.offset(), 150_000);
        w.write_all(&data[150_000..]).unwrap();
        assert_eq!(w.commit().unwrap(), d);
        assert_eq!(s.read_bytes(&d).unwrap(), data);
        assert_eq!(ingest_count(&s), 0);

        // A different expectation for the same key starts over.
        let other = Digest::sha256_of(b"other");
        let mut w = s.resume("k", Some((d.clone(), data.len() as u64))).unwrap();
        w.write_all(&data[..10]).unwrap();
        drop(w);
        let mut w = s.resume("k", Some((other.clone(), 5))).unwrap();
        assert_eq!(w.offset(), 0);
        w.write_all(b"other").unwrap();
        assert_eq!(w.commit().unwrap(), other);
    }

    #[test]
    fn one_writer_per_ref_and_abort_discards() {
        let (_t, s) = store();
        let w = s.resume("k", None).unwrap();
        assert!(matches!(s.resume("k", None), Err(Error::Locked { ref_key }) if ref_key == "k"));
        w.abort();
        let w = s.resume("k", None).unwrap();
        assert_eq!(w.offset(), 0);
        drop(w);
        assert!(matches!(s.resume("", None), Err(Error::InvalidRef(_))));
    }

    #[test]
    fn stale_ingests_are_cleaned_but_live_ones_kept() {
        let (_t, s) = store();
        let mut w = s.resume("crashed", None).unwrap();
        w.write_all(b"partial").unwrap();
        drop(w);
        let mut live = s.resume("live", None).unwrap();
        live.write_all(b"in progress").unwrap();
        let anon = s.writer(None).unwrap();
        assert_eq!(ingest_count(&s), 3);
        // Young resumable ingests survive the default expiry.
        assert_eq!(s.clean_stale_ingests(DEFAULT_INGEST_EXPIRY).unwrap(), 0);
        assert_eq!(s.clean_stale_ingests(Duration::ZERO).unwrap(), 1);
        assert_eq!(ingest_count(&s), 2);
        live.write_all(b", done").unwrap();
        assert_eq!(
            live.commit().unwrap(),
            Digest::sha256_of(b"in progress, done")
        );
        drop(anon);
        assert_eq!(ingest_count(&s), 0);
    }

    #[test]
    fn concurrent_writers_of_the_same_blob_both_succeed() {
        let (_t, s) = store();
        let data = vec![7u8; 1 << 20];
        let d = Digest::sha256_of(&data);
        let barrier = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (s, data, d, barrier) = (s.clone(), data.clone(), d.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let mut w = s.writer(Some((d, data.len() as u64))).unwrap();
                    barrier.wait();
                    for chunk in data.chunks(4096) {
                        w.write_all(chunk).unwrap();
                    }
                    w.commit()
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap().unwrap(), d);
        }
        assert_eq!(s.list().unwrap(), vec![d.clone()]);
        assert_eq!(s.read_bytes(&d).unwrap(), data);
        assert_eq!(ingest_count(&s), 0);
    }

    #[test]
    fn write_atomic_replaces_whole_files() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("f.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 1);
    }

    #[test]
    fn real_image_blobs_round_trip() {
        let image = fixture::Image::busybox().unwrap();
        let (_t, s) = store();
        let layer: Digest = image.layer_digest().parse().unwrap();
        let mut w = s.writer(Some((layer.clone(), image.layer_size()))).unwrap();
        io::copy(&mut image.layer(), &mut w).unwrap();
        assert_eq!(w.commit().unwrap(), layer);
        assert_eq!(
            s.put_bytes(image.config()).unwrap().to_string(),
            image.config_digest()
        );
        assert_eq!(s.info(&layer).unwrap(), image.layer_size());
    }
}
