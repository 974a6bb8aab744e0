//! The snapshotter: unpacked layers and container filesystems, containerd-style.
//!
//! Layout under `<root>/snapshots/`: one directory per snapshot, named by a short
//! number (`<n>/fs`, plus `<n>/work` for an active overlay snapshot) so that many
//! lower layers still fit overlay's mount options; `index.json` maps keys to them.
//! A *committed* snapshot is keyed by its chain id and is immutable: one unpacked
//! layer shared by every image and container above it. An *active* snapshot is a
//! writable layer on top of a committed parent (a container's rootfs, a build step);
//! a *view* is a read-only look at a committed snapshot.
//!
//! Two drivers: [`Driver::Overlay`] stores each layer as its own directory and stacks
//! them with overlayfs; [`Driver::Copy`], for filesystems without overlay, stores the
//! full tree in every snapshot (a child starts as a copy of its parent).
//!
//! Crash safety: new snapshots are built in `.tmp-*` directories (each held under an
//! `flock` while in use) and renamed into place under the index lock, so a snapshot is
//! either fully there and indexed or not visible at all; [`Snapshotter::new`] removes
//! abandoned temp directories and unindexed snapshot directories.

mod copy;
mod idmap;
mod index;
mod mount;
mod unpack;

#[cfg(test)]
mod tests;

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::layer::{self, Compression, DiffStats};
pub use copy::Usage;
use index::{Index, Locked, Record};
pub use idmap::{Idmap, mount_all_idmapped};
pub use mount::{Mount, mount_all, read_only_view, unmount};
pub use unpack::{Layer, Unpacked};

/// A chain id (OCI image spec): the name of a committed snapshot.
pub type ChainId = Digest;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("snapshot {0:?} does not exist")]
    NotFound(String),
    #[error("snapshot {0:?} already exists")]
    AlreadyExists(String),
    #[error("snapshot {key:?} is {actual:?}, not {expected:?}")]
    WrongKind { key: String, actual: Kind, expected: Kind },
    #[error("snapshot {key:?} still has children {children:?}; remove them first")]
    HasChildren { key: String, children: Vec<String> },
    #[error("invalid snapshot key {0:?}: it must be non-empty, without NUL")]
    InvalidKey(String),
    #[error("snapshot root {0}: overlayfs mount options cannot carry a path containing ',' or ':'")]
    UnusableRoot(PathBuf),
    #[error("layer {index} does not match the image config: diff_id is {actual}, config says {expected}")]
    DiffIdMismatch { index: usize, expected: Digest, actual: Digest },
    #[error("layer {index} ({diff_id}): {source}")]
    Layer {
        index: usize,
        diff_id: Digest,
        #[source]
        source: layer::Error,
    },
    #[error("opening layer {index} ({diff_id}): {source}")]
    OpenLayer {
        index: usize,
        diff_id: Digest,
        #[source]
        source: io::Error,
    },
    #[error("{op} on {}: {source}", target.display())]
    Mount {
        target: PathBuf,
        op: String,
        #[source]
        source: io::Error,
    },
    #[error("an image needs at least one layer")]
    NoLayers,
    #[error("diff of snapshot {key:?}: {source}")]
    Diff {
        key: String,
        #[source]
        source: layer::Error,
    },
    #[error("corrupt snapshot index: {0}")]
    CorruptIndex(String),
    #[error("{op}: {source}")]
    Io {
        op: String,
        #[source]
        source: io::Error,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(op: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
        let op = op.into();
        move |source| Error::Io { op, source }
    }
}

/// How snapshots are stored and stacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    Overlay,
    Copy,
}

impl Driver {
    /// Overlay if an overlay mount with its upper dir under `root` works (it does not
    /// on some filesystems, e.g. overlay itself as upper, or without privileges).
    pub fn detect(root: &Path) -> Driver {
        if overlay_works(root).unwrap_or(false) { Driver::Overlay } else { Driver::Copy }
    }
}

/// Removes a probe directory when dropped.
struct Probe(PathBuf);

impl Drop for Probe {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn overlay_works(root: &Path) -> io::Result<bool> {
    fs::create_dir_all(root)?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let probe = Probe(root.join(format!(".detect-{}-{nanos}", std::process::id())));
    fs::create_dir(&probe.0)?;
    let p = &probe.0;
    let (lower, upper, work, merged) = (p.join("lower"), p.join("upper"), p.join("work"), p.join("merged"));
    for d in [&lower, &upper, &work, &merged] {
        fs::create_dir(d)?;
    }
    fs::write(lower.join("probe"), b"")?;
    let data = format!("lowerdir={},upperdir={},workdir={}", lower.display(), upper.display(), work.display());
    let flags = nix::mount::MsFlags::empty();
    if nix::mount::mount(Some("overlay"), &merged, Some("overlay"), flags, Some(data.as_str())).is_err() {
        return Ok(false);
    }
    let ok = merged.join("probe").exists();
    let _ = nix::mount::umount2(&merged, nix::mount::MntFlags::MNT_DETACH);
    Ok(ok)
}

/// Whether a snapshot is committed (immutable, keyed by chain id), active (writable)
/// or a view (read-only look at a committed snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Committed,
    Active,
    View,
}

/// A snapshot, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub key: String,
    pub kind: Kind,
    pub parent: Option<String>,
    /// Bytes on disk, for committed snapshots.
    pub size: Option<u64>,
    pub created: DateTime<Utc>,
}

impl Info {
    fn new(key: &str, r: &Record) -> Info {
        Info { key: key.to_string(), kind: r.kind, parent: r.parent.clone(), size: r.size, created: r.created }
    }
}

pub struct Snapshotter {
    /// `<root>/snapshots`
    dir: PathBuf,
    driver: Driver,
    /// How layers are applied (the whiteout mode always follows the driver).
    apply: layer::ApplyOptions,
    /// The index as last read or written, with its generation (see
    /// [`Locked::generation`]): a container's create consults the index several
    /// times, and parsing it each time grew with the number of containers.
    cached: std::sync::Mutex<Option<(u64, Index)>>,
}

impl Snapshotter {
    /// Opens (creating if needed) the snapshots under `<root>/snapshots`, removing
    /// what a crash left behind: temp directories no live process holds, and
    /// snapshot directories the index does not list.
    pub fn new(root: &Path, driver: Driver) -> Result<Snapshotter> {
        let dir = root.join("snapshots");
        fs::create_dir_all(&dir).map_err(Error::io(format!("create {}", dir.display())))?;
        let dir = fs::canonicalize(&dir).map_err(Error::io(format!("resolve {}", dir.display())))?;
        // Layers hold setuid binaries and device nodes that must stay out of reach of
        // unprivileged host users: only root may traverse the snapshots.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
            .map_err(Error::io(format!("chmod {}", dir.display())))?;
        if driver == Driver::Overlay && dir.to_string_lossy().contains([',', ':']) {
            return Err(Error::UnusableRoot(dir));
        }
        let s = Snapshotter { dir, driver, apply: layer::ApplyOptions::default(), cached: Default::default() };
        s.cleanup()?;
        Ok(s)
    }

    /// Layer apply options for [`Snapshotter::unpack`]: e.g. no device nodes, or an
    /// id remap for user namespaces. Their whiteout mode is ignored: the driver
    /// decides it.
    pub fn with_apply_options(mut self, opts: layer::ApplyOptions) -> Snapshotter {
        self.apply = opts;
        self
    }

    pub fn driver(&self) -> Driver {
        self.driver
    }

    /// `<root>/snapshots`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn cleanup(&self) -> Result<()> {
        let lock = Locked::acquire(&self.dir)?;
        let index = lock.load()?;
        let entries = fs::read_dir(&self.dir).map_err(Error::io(format!("list {}", self.dir.display())))?;
        for e in entries {
            let e = e.map_err(Error::io(format!("list {}", self.dir.display())))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            let stale = if name.starts_with(unpack::TEMP_PREFIX) {
                // In use by a live unpack iff its directory lock is held.
                match fs::File::open(&path) {
                    Ok(f) => Flock::lock(f, FlockArg::LockExclusiveNonblock).is_ok(),
                    Err(_) => false,
                }
            } else if let Ok(id) = name.parse::<u64>() {
                !index.snapshots.values().any(|r| r.id == id)
            } else {
                false
            };
            if stale {
                fs::remove_dir_all(&path).map_err(Error::io(format!("remove stale {}", path.display())))?;
            }
        }
        Ok(())
    }

    /// Runs `f` on the index under the lock, saving it if `f` changed it.
    fn locked<T>(&self, f: impl FnOnce(&mut Index, &Path) -> Result<T>) -> Result<T> {
        let lock = Locked::acquire(&self.dir)?;
        let mut index = self.load(&lock)?;
        let before = index.clone();
        let out = f(&mut index, &self.dir)?;
        if index != before {
            let generation = lock.save(&index, touches_committed(&before, &index))?;
            *self.cached.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((generation, index));
        }
        Ok(out)
    }

    /// The index under `lock`: the cached copy while no one (this process or another)
    /// saved since it was read, else read from the file.
    fn load(&self, lock: &Locked) -> Result<Index> {
        let generation = lock.generation();
        let mut cached = self.cached.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((g, index)) = cached.as_ref()
            && *g == generation
        {
            return Ok(index.clone());
        }
        let index = lock.load()?;
        *cached = Some((generation, index.clone()));
        Ok(index)
    }

    fn path(&self, id: u64) -> PathBuf {
        self.dir.join(id.to_string())
    }

    fn fs_path(&self, id: u64) -> PathBuf {
        self.path(id).join("fs")
    }

    /// Creates the active snapshot `key` on top of committed `parent` (or empty) and
    /// returns the mounts that make its root filesystem.
    pub fn prepare(&self, key: &str, parent: Option<&ChainId>) -> Result<Vec<Mount>> {
        check_key(key)?;
        let parent = parent.map(|p| p.to_string());
        // Fail early, before copying anything.
        self.locked(|idx, _| {
            if idx.snapshots.contains_key(key) {
                return Err(Error::AlreadyExists(key.to_string()));
            }
            parent.as_deref().map(|p| committed(idx, p)).transpose().map(drop)
        })?;
        let temp = unpack::TempSnapshot::new(self)?;
        match self.driver {
            Driver::Overlay => fs::create_dir(temp.path().join("work"))
                .map_err(Error::io(format!("create {}", temp.path().display())))?,
            Driver::Copy => {
                if let Some(p) = &parent {
                    let src = self.locked(|idx, _| Ok(self.fs_path(committed(idx, p)?.id)))?;
                    copy::copy_tree(&src, &temp.fs())
                        .map_err(Error::io(format!("copy {} to {}", src.display(), temp.fs().display())))?;
                }
            }
        }
        self.install(temp, key, Kind::Active, parent)?;
        self.mounts(key)
    }

    /// Creates the read-only view `key` of committed `parent` and returns its mounts.
    pub fn view(&self, key: &str, parent: &ChainId) -> Result<Vec<Mount>> {
        check_key(key)?;
        let parent = parent.to_string();
        self.locked(|idx, dir| {
            if idx.snapshots.contains_key(key) {
                return Err(Error::AlreadyExists(key.to_string()));
            }
            committed(idx, &parent)?;
            // A view owns no directory: it mounts its parent's layers read-only.
            let id = idx.allocate(dir);
            let record = Record { kind: Kind::View, parent: Some(parent.clone()), id, size: None, created: Utc::now() };
            idx.snapshots.insert(key.to_string(), record);
            Ok(())
        })?;
        self.mounts(key)
    }

    /// Moves a finished temp dir into place as snapshot `key`, under the lock. Loses
    /// (returns false, the temp dir is discarded) if `key` appeared meanwhile.
    fn install(&self, temp: unpack::TempSnapshot, key: &str, kind: Kind, parent: Option<String>) -> Result<bool> {
        let size = match (kind, temp.size) {
            (Kind::Committed, Some(size)) => Some(size),
            (Kind::Committed, None) => Some(copy::usage(&temp.fs()).map_err(Error::io("measure snapshot"))?.size),
            _ => None,
        };
        let lost = self.locked(|idx, dir| {
            if idx.snapshots.contains_key(key) {
                return match kind {
                    // Another unpack installed the same layer first: discard ours.
                    Kind::Committed => Ok(Some(temp)),
                    _ => Err(Error::AlreadyExists(key.to_string())),
                };
            }
            if let Some(p) = &parent {
                committed(idx, p)?;
            }
            let id = idx.allocate(dir);
            temp.install(&self.path(id))?;
            idx.snapshots.insert(key.to_string(), Record { kind, parent, id, size, created: Utc::now() });
            Ok(None)
        })?;
        // Dropped (removed) outside the lock: deleting a large tree would stall others.
        Ok(lost.is_none())
    }

    /// Commits active snapshot `key` as the immutable `chain_id`. Its mounts must be
    /// unmounted first.
    pub fn commit(&self, key: &str, chain_id: &ChainId) -> Result<Info> {
        let name = chain_id.to_string();
        let id = self.locked(|idx, _| {
            if idx.snapshots.contains_key(&name) {
                return Err(Error::AlreadyExists(name.clone()));
            }
            Ok(expect_kind(idx, key, Kind::Active)?.id)
        })?;
        let work = self.path(id).join("work");
        if work.exists() {
            fs::remove_dir_all(&work).map_err(Error::io(format!("remove {}", work.display())))?;
        }
        let size = copy::usage(&self.fs_path(id)).map_err(Error::io("measure snapshot"))?.size;
        self.locked(|idx, _| {
            if idx.snapshots.contains_key(&name) {
                return Err(Error::AlreadyExists(name.clone()));
            }
            let mut r = expect_kind(idx, key, Kind::Active)?.clone();
            idx.snapshots.remove(key);
            r.kind = Kind::Committed;
            r.size = Some(size);
            r.created = Utc::now();
            let info = Info::new(&name, &r);
            idx.snapshots.insert(name.clone(), r);
            Ok(info)
        })
    }

    /// The mounts that assemble snapshot `key`: for overlay, `lowerdir` lists the
    /// parent layers top to bottom; a single layer is a bind mount.
    pub fn mounts(&self, key: &str) -> Result<Vec<Mount>> {
        let chain = self.locked(|idx, _| idx.chain(key))?;
        let (_, me) = &chain[0];
        let layers: Vec<PathBuf> = match me.kind {
            Kind::Committed => chain.iter().map(|(_, r)| self.fs_path(r.id)).collect(),
            _ => chain[1..].iter().map(|(_, r)| self.fs_path(r.id)).collect(),
        };
        let active = me.kind == Kind::Active;
        Ok(match (self.driver, active) {
            // The copying driver: every snapshot holds its full tree.
            (Driver::Copy, true) => vec![Mount::bind(&self.fs_path(me.id), false)],
            (Driver::Copy, false) => vec![Mount::bind(&layers[0], true)],
            (Driver::Overlay, true) if layers.is_empty() => vec![Mount::bind(&self.fs_path(me.id), false)],
            (Driver::Overlay, true) => {
                let mut o = mount::overlay_base_options();
                o.push(format!("lowerdir={}", join_lowers(&layers)));
                o.push(format!("upperdir={}", self.fs_path(me.id).display()));
                o.push(format!("workdir={}", self.path(me.id).join("work").display()));
                vec![Mount::overlay(o)]
            }
            (Driver::Overlay, false) if layers.len() == 1 => vec![Mount::bind(&layers[0], true)],
            (Driver::Overlay, false) => {
                // Without an upper dir overlay is read-only by construction.
                let mut o = mount::overlay_base_options();
                o.push(format!("lowerdir={}", join_lowers(&layers)));
                o.push("ro".into());
                vec![Mount::overlay(o)]
            }
        })
    }

    /// Removes snapshot `key`; refused while any snapshot has it as parent.
    pub fn remove(&self, key: &str) -> Result<()> {
        let id = self.locked(|idx, _| {
            let r = idx.snapshots.get(key).ok_or_else(|| Error::NotFound(key.to_string()))?;
            let children = idx.children(key);
            if !children.is_empty() {
                return Err(Error::HasChildren { key: key.to_string(), children });
            }
            let id = r.id;
            idx.snapshots.remove(key);
            Ok(id)
        })?;
        // Unindexed first: a crash here leaves an orphan directory, removed on open.
        let path = self.path(id);
        match fs::remove_dir_all(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io(format!("remove {}", path.display()))(e)),
            _ => Ok(()),
        }
    }

    pub fn stat(&self, key: &str) -> Result<Info> {
        self.locked(|idx, _| {
            idx.snapshots.get(key).map(|r| Info::new(key, r)).ok_or_else(|| Error::NotFound(key.to_string()))
        })
    }

    /// Every snapshot, by key.
    pub fn list(&self) -> Result<Vec<Info>> {
        self.locked(|idx, _| Ok(idx.snapshots.iter().map(|(k, r)| Info::new(k, r)).collect()))
    }

    /// Disk usage of snapshot `key`'s own directory (a view has none).
    pub fn usage(&self, key: &str) -> Result<Usage> {
        let r = self.locked(|idx, _| idx.snapshots.get(key).cloned().ok_or_else(|| Error::NotFound(key.to_string())))?;
        if r.kind == Kind::View {
            return Ok(Usage::default());
        }
        copy::usage(&self.fs_path(r.id)).map_err(Error::io(format!("measure {key}")))
    }

    /// The directory holding snapshot `key`'s own files: with overlay its layer (the
    /// upper dir of an active snapshot), with the copying driver its full tree.
    pub fn layer_dir(&self, key: &str) -> Result<PathBuf> {
        let r = self.locked(|idx, _| idx.snapshots.get(key).cloned().ok_or_else(|| Error::NotFound(key.to_string())))?;
        match r.kind {
            Kind::View => Err(Error::WrongKind { key: key.to_string(), actual: Kind::View, expected: Kind::Active }),
            _ => Ok(self.fs_path(r.id)),
        }
    }

    /// The layer of active snapshot `key`: what it changed on top of its parent,
    /// written to `out` as a layer blob. Unmount it first (or at least stop writers).
    pub fn diff(&self, key: &str, out: impl Write, compression: Compression) -> Result<DiffStats> {
        self.diff_with(key, out, compression, &[])
    }

    /// [`Snapshotter::diff`] without the empty files at `stubs` ([`layer::diff_with`]).
    pub fn diff_with(&self, key: &str, out: impl Write, compression: Compression, stubs: &[&str]) -> Result<DiffStats> {
        let (me, parent) = self.locked(|idx, _| {
            let me = expect_kind(idx, key, Kind::Active)?.clone();
            let parent = me.parent.as_deref().map(|p| committed(idx, p).cloned()).transpose()?;
            Ok((me, parent))
        })?;
        let upper = self.fs_path(me.id);
        let lower = match (self.driver, parent) {
            (Driver::Copy, Some(p)) => Some(self.fs_path(p.id)),
            _ => None,
        };
        layer::diff_with(&upper, lower.as_deref(), out, compression, stubs).map_err(|source| Error::Diff { key: key.to_string(), source })
    }
}

/// Whether a change of the index adds, removes or alters a committed snapshot: only
/// those need to survive a power loss (see the index module).
fn touches_committed(before: &Index, after: &Index) -> bool {
    let keys: std::collections::BTreeSet<&String> = before.snapshots.keys().chain(after.snapshots.keys()).collect();
    keys.into_iter().any(|k| {
        let (b, a) = (before.snapshots.get(k), after.snapshots.get(k));
        b != a && [b, a].into_iter().flatten().any(|r| r.kind == Kind::Committed)
    })
}

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.contains('\0') {
        return Err(Error::InvalidKey(key.to_string()));
    }
    Ok(())
}

fn expect_kind<'i>(idx: &'i Index, key: &str, kind: Kind) -> Result<&'i Record> {
    let r = idx.snapshots.get(key).ok_or_else(|| Error::NotFound(key.to_string()))?;
    if r.kind != kind {
        return Err(Error::WrongKind { key: key.to_string(), actual: r.kind, expected: kind });
    }
    Ok(r)
}

fn committed<'i>(idx: &'i Index, key: &str) -> Result<&'i Record> {
    expect_kind(idx, key, Kind::Committed)
}

fn join_lowers(layers: &[PathBuf]) -> String {
    layers.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(":")
}
