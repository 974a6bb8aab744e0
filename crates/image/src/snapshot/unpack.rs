//! Unpacking an image's layers into committed snapshots, each at most once: layers
//! whose chain id is already committed are skipped (and shared), the others are
//! extracted into temp directories and installed bottom-up under the index lock.
//! With overlay every layer is its own directory, independent of the layers below,
//! so missing layers are extracted in parallel, the largest first (by the blob size
//! the caller may give), so that the longest extraction is not the last to start;
//! the copying driver needs the tree below each layer and goes one by one.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use nix::fcntl::{Flock, FlockArg};

use super::index::Locked;
use super::{ChainId, Driver, Error, Kind, Result, Snapshotter, copy};
use crate::digest::{Digest, chain_ids};
use crate::layer::{self, ApplyOptions, ApplyStats, Compression, WhiteoutMode};

pub(super) const TEMP_PREFIX: &str = ".tmp-";

type Opener<'a> = Box<dyn FnOnce() -> io::Result<Box<dyn Read + 'a>> + Send + 'a>;

/// One layer of an image, bottom first: its diff_id from the image config, its
/// compression, and how to open its blob (called at most once, on a worker thread,
/// only if the layer is not unpacked yet).
pub struct Layer<'a> {
    pub diff_id: Digest,
    pub compression: Compression,
    /// The blob's size, if known: only orders the parallel extraction.
    pub size_hint: u64,
    open: Opener<'a>,
}

impl<'a> Layer<'a> {
    pub fn new<R, F>(diff_id: Digest, compression: Compression, open: F) -> Layer<'a>
    where
        R: Read + 'a,
        F: FnOnce() -> io::Result<R> + Send + 'a,
    {
        Layer {
            diff_id,
            compression,
            size_hint: 0,
            open: Box::new(move || open().map(|r| Box::new(r) as Box<dyn Read + 'a>)),
        }
    }

    /// The same layer with its blob size, so a parallel unpack starts it in order
    /// of size (largest first).
    pub fn with_size_hint(mut self, bytes: u64) -> Layer<'a> {
        self.size_hint = bytes;
        self
    }
}

/// The result of [`Snapshotter::unpack`].
#[derive(Debug, Clone)]
pub struct Unpacked {
    /// The chain id of each layer; the last names the image's top snapshot.
    pub chain_ids: Vec<ChainId>,
    /// For each layer, its apply statistics if this call unpacked and installed it
    /// (`None`: it was already there, or a concurrent unpack installed it first).
    pub layers: Vec<Option<ApplyStats>>,
}

impl Unpacked {
    /// The top layer's chain id: the parent for `prepare`.
    pub fn chain_id(&self) -> &ChainId {
        &self.chain_ids[self.chain_ids.len() - 1]
    }
}

/// A snapshot under construction: `<snapshots>/.tmp-*`, flock-ed while alive so
/// `Snapshotter::new` in any process can tell it from a crash's leftover. Removed on
/// drop unless installed.
pub(super) struct TempSnapshot {
    path: PathBuf,
    _lock: Flock<File>,
    installed: bool,
    /// Bytes used by `fs/`, when measured already (on the unpacking worker, so
    /// installing under the index lock does not walk the tree).
    pub(super) size: Option<u64>,
}

static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

impl TempSnapshot {
    /// Created and locked under the index lock, so a concurrent cleanup never sees
    /// it unlocked.
    pub(super) fn new(s: &Snapshotter) -> Result<TempSnapshot> {
        let _index = Locked::acquire(&s.dir)?;
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let seq = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
        let path = s.dir.join(format!("{TEMP_PREFIX}{}-{nanos}-{seq}", std::process::id()));
        let err = |op: &str| Error::io(format!("{op} {}", path.display()));
        fs::create_dir(&path).map_err(err("create"))?;
        let dir = File::open(&path).map_err(err("open"))?;
        let lock = match Flock::lock(dir, FlockArg::LockExclusiveNonblock) {
            Ok(l) => l,
            Err((_, e)) => {
                let _ = fs::remove_dir_all(&path);
                return Err(err("lock")(e.into()));
            }
        };
        let fs_err = err("create fs in");
        let temp = TempSnapshot { path: path.clone(), _lock: lock, installed: false, size: None };
        fs::create_dir(temp.fs()).map_err(fs_err)?;
        Ok(temp)
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn fs(&self) -> PathBuf {
        self.path.join("fs")
    }

    /// Renames it to `dest` (a fresh `<snapshots>/<n>`): atomic, so the snapshot
    /// appears whole or not at all.
    pub(super) fn install(mut self, dest: &Path) -> Result<()> {
        fs::rename(&self.path, dest).map_err(Error::io(format!("rename {} to {}", self.path.display(), dest.display())))?;
        self.installed = true;
        Ok(())
    }
}

impl Drop for TempSnapshot {
    fn drop(&mut self) {
        if !self.installed {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

type Extracted = Result<(TempSnapshot, ApplyStats)>;

impl Snapshotter {
    /// Makes every layer of `layers` (bottom first) a committed snapshot keyed by its
    /// chain id, unpacking only those not already there, and checks each unpacked
    /// layer's diff_id against the config's. Safe against concurrent unpacks of the
    /// same layers, in this process or another: the first to install a chain id
    /// wins, the others discard their copy.
    pub fn unpack(&self, layers: Vec<Layer<'_>>) -> Result<Unpacked> {
        self.unpack_with(layers, std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// [`unpack`](Self::unpack) with up to `workers` layers at once (with overlay):
    /// more than the CPUs when opening a layer waits on something else (a download).
    pub fn unpack_with(&self, layers: Vec<Layer<'_>>, workers: usize) -> Result<Unpacked> {
        if layers.is_empty() {
            return Err(Error::NoLayers);
        }
        let diff_ids: Vec<Digest> = layers.iter().map(|l| l.diff_id.clone()).collect();
        let chain = chain_ids(&diff_ids);
        let present = self.locked(|idx, _| {
            chain
                .iter()
                .map(|c| match idx.snapshots.get(&c.to_string()) {
                    None => Ok(false),
                    Some(r) if r.kind == Kind::Committed => Ok(true),
                    Some(r) => Err(Error::WrongKind { key: c.to_string(), actual: r.kind, expected: Kind::Committed }),
                })
                .collect::<Result<Vec<bool>>>()
        })?;
        let jobs: Vec<(usize, Layer<'_>)> = layers.into_iter().enumerate().filter(|(i, _)| !present[*i]).collect();
        let mut out = Unpacked { chain_ids: chain.clone(), layers: vec![None; chain.len()] };
        match self.driver {
            Driver::Overlay => self.unpack_parallel(jobs, workers, &chain, &mut out)?,
            Driver::Copy => {
                for (i, layer) in jobs {
                    // The tree below this layer, as committed just before.
                    let base = match i {
                        0 => None,
                        _ => Some(self.locked(|idx, _| Ok(self.fs_path(super::committed(idx, &chain[i - 1].to_string())?.id)))?),
                    };
                    let (temp, stats) = self.extract(i, layer, base.as_deref())?;
                    self.install_layer(temp, stats, i, &chain, &mut out)?;
                }
            }
        }
        Ok(out)
    }

    fn unpack_parallel(&self, mut jobs: Vec<(usize, Layer<'_>)>, workers: usize, chain: &[ChainId], out: &mut Unpacked) -> Result<()> {
        let order: Vec<usize> = jobs.iter().map(|(i, _)| *i).collect();
        // Longest first: the total time is bounded by the last job to finish.
        jobs.sort_by_key(|(i, l)| (std::cmp::Reverse(l.size_hint), *i));
        let workers = workers.min(jobs.len()).max(1);
        let queue = Mutex::new(jobs.into_iter());
        let failed = AtomicBool::new(false);
        let done: Mutex<BTreeMap<usize, Extracted>> = Mutex::new(BTreeMap::new());
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    loop {
                        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).next();
                        let Some((i, layer)) = next else { break };
                        // After a failure the image cannot be completed: skip the rest.
                        if failed.load(Ordering::Relaxed) {
                            continue;
                        }
                        let r = self.extract(i, layer, None);
                        if r.is_err() {
                            failed.store(true, Ordering::Relaxed);
                        }
                        done.lock().unwrap_or_else(PoisonError::into_inner).insert(i, r);
                    }
                });
            }
        });
        let mut done = done.into_inner().unwrap_or_else(PoisonError::into_inner);
        // Install bottom-up, so each layer's parent is committed before it.
        for i in order {
            match done.remove(&i) {
                Some(Ok((temp, stats))) => self.install_layer(temp, stats, i, chain, out)?,
                Some(Err(e)) => return Err(e),
                // Skipped after another layer failed: report that failure.
                None => {
                    let first_err = std::mem::take(&mut done).into_values().find_map(|r| r.err());
                    return Err(first_err.unwrap_or(Error::NoLayers));
                }
            }
        }
        Ok(())
    }

    fn install_layer(&self, temp: TempSnapshot, stats: ApplyStats, i: usize, chain: &[ChainId], out: &mut Unpacked) -> Result<()> {
        let parent = i.checked_sub(1).map(|p| chain[p].to_string());
        if self.install(temp, &chain[i].to_string(), Kind::Committed, parent)? {
            out.layers[i] = Some(stats);
        }
        Ok(())
    }

    /// Layer `i` applied into a new temp snapshot: onto a copy of `base` (copying
    /// driver, whiteouts delete) or into an empty dir (overlay, whiteouts as devices).
    fn extract(&self, i: usize, layer: Layer<'_>, base: Option<&Path>) -> Extracted {
        let temp = TempSnapshot::new(self)?;
        if let Some(base) = base {
            copy::copy_tree(base, &temp.fs())
                .map_err(Error::io(format!("copy {} to {}", base.display(), temp.fs().display())))?;
        }
        let whiteouts = match self.driver {
            Driver::Overlay => WhiteoutMode::Overlay,
            Driver::Copy => WhiteoutMode::Delete,
        };
        let diff_id = layer.diff_id;
        let reader = (layer.open)().map_err(|source| Error::OpenLayer { index: i, diff_id: diff_id.clone(), source })?;
        let opts = ApplyOptions { whiteouts, ..self.apply.clone() };
        let stats = layer::apply(reader, layer.compression, &temp.fs(), &opts)
            .map_err(|source| Error::Layer { index: i, diff_id: diff_id.clone(), source })?;
        if stats.diff_id != diff_id {
            return Err(Error::DiffIdMismatch { index: i, expected: diff_id, actual: stats.diff_id });
        }
        let mut temp = temp;
        temp.size = Some(copy::usage(&temp.fs()).map_err(Error::io("measure snapshot"))?.size);
        Ok((temp, stats))
    }
}
