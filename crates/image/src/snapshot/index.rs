//! The snapshotter's on-disk index (`<root>/snapshots/index.json`) and the lock
//! that serialises every change to it. The lock is an `flock` on
//! `<root>/snapshots/.lock`, taken through a fresh open file description per call, so
//! it excludes other threads of this process and other processes alike; the index
//! is rewritten atomically (temp file, rename), so a crash leaves either the old or
//! the new index, never a torn one. A change to a committed snapshot (a layer) is
//! also made durable (fsync of the file and the directory); a change that touches only
//! active snapshots and views (containers' writable layers) is not: after a power loss
//! their owner reconciles (berthd prepares a lost one again and removes orphans).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use super::{Error, Kind, Result};

pub(super) const INDEX: &str = "index.json";
const INDEX_TMP: &str = "index.json.tmp";
const LOCK: &str = ".lock";

/// One snapshot as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Record {
    pub kind: Kind,
    pub parent: Option<String>,
    /// Its directory: `<root>/snapshots/<id>`.
    pub id: u64,
    /// Bytes used on disk, computed when committed.
    pub size: Option<u64>,
    pub created: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Index {
    pub version: u32,
    pub next_id: u64,
    pub snapshots: BTreeMap<String, Record>,
}

impl Default for Index {
    fn default() -> Self {
        Index { version: 1, next_id: 1, snapshots: BTreeMap::new() }
    }
}

impl Index {
    /// A fresh directory id: above every id ever handed out and every directory
    /// present (an orphan left by a crash is never reused).
    pub fn allocate(&mut self, dir: &Path) -> u64 {
        let mut id = self.next_id.max(1);
        while dir.join(id.to_string()).exists() || self.snapshots.values().any(|r| r.id == id) {
            id += 1;
        }
        self.next_id = id + 1;
        id
    }

    /// Keys of the snapshots whose parent is `key`.
    pub fn children(&self, key: &str) -> Vec<String> {
        self.snapshots.iter().filter(|(_, r)| r.parent.as_deref() == Some(key)).map(|(k, _)| k.clone()).collect()
    }

    /// `key` and its ancestors, nearest first.
    pub fn chain(&self, key: &str) -> Result<Vec<(String, Record)>> {
        let mut out = Vec::new();
        let mut cur = Some(key.to_string());
        while let Some(k) = cur {
            let r = self.snapshots.get(&k).ok_or_else(|| Error::NotFound(k.clone()))?;
            if out.len() > self.snapshots.len() {
                return Err(Error::CorruptIndex(format!("parent cycle through {k:?}")));
            }
            cur = r.parent.clone();
            out.push((k, r.clone()));
        }
        Ok(out)
    }
}

/// The exclusive lock over `dir`'s index, held while alive.
pub(super) struct Locked {
    _lock: Flock<File>,
    dir: PathBuf,
}

impl Locked {
    pub fn acquire(dir: &Path) -> Result<Locked> {
        let path = dir.join(LOCK);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(Error::io(format!("open {}", path.display())))?;
        let lock = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, e)| Error::io(format!("lock {}", path.display()))(e.into()))?;
        Ok(Locked { _lock: lock, dir: dir.to_path_buf() })
    }

    /// The index's generation, counted in the lock file (its first 8 bytes, 0 when
    /// empty): every save under the lock bumps it, so a copy of the index read at
    /// the same generation is the index.
    pub fn generation(&self) -> u64 {
        use std::os::unix::fs::FileExt;
        let mut buf = [0u8; 8];
        match self._lock.read_at(&mut buf, 0) {
            Ok(8) => u64::from_le_bytes(buf),
            _ => 0,
        }
    }

    pub fn load(&self) -> Result<Index> {
        let path = self.dir.join(INDEX);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::CorruptIndex(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Index::default()),
            Err(e) => Err(Error::io(format!("read {}", path.display()))(e)),
        }
    }

    /// Replaces the index; returns its new generation.
    pub fn save(&self, index: &Index, durable: bool) -> Result<u64> {
        use std::os::unix::fs::FileExt;
        let tmp = self.dir.join(INDEX_TMP);
        let path = self.dir.join(INDEX);
        // Bumped first: a crash before the rename costs others a needless reread.
        let generation = self.generation().wrapping_add(1);
        self._lock
            .write_at(&generation.to_le_bytes(), 0)
            .map_err(Error::io(format!("write {}", self.dir.join(LOCK).display())))?;
        let bytes = serde_json::to_vec(index).map_err(|e| Error::CorruptIndex(e.to_string()))?;
        let write = || -> std::io::Result<()> {
            let mut f = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
            f.write_all(&bytes)?;
            if durable {
                f.sync_all()?;
            }
            fs::rename(&tmp, &path)?;
            // The rename is durable only once the directory entry is.
            if durable {
                File::open(&self.dir)?.sync_all()?;
            }
            Ok(())
        };
        write().map_err(Error::io(format!("write {}", path.display())))?;
        Ok(generation)
    }
}
