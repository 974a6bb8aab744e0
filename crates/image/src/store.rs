//! The image store facade: one data root holding the content store (`content/`),
//! image metadata (`images/`), the snapshotter (`snapshots/`) and GC leases
//! (`leases/`), plus the operations that need more than one of them: unpacking an
//! image's layers into snapshots, image sizes as `docker images` / `docker system df`
//! report them, a container's writable snapshot, and garbage collection of blobs
//! *and* snapshots.
//!
//! The snapshot driver is detected once, on the first open of a root, and recorded in
//! `<root>/store.json`: snapshots written by one driver are unreadable to the other,
//! so a root never switches drivers behind its own back.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::content::{self, ContentStore};
use crate::digest::{Digest, chain_ids};
use crate::gc::{self, Leases};
use crate::manifest::{self, Config, Manifest, Platform};
use crate::metadata::{self, Image, ImageStore};
use crate::snapshot::{self, ChainId, Driver, Kind, Layer, Mount, Snapshotter, Unpacked};

const STORE_FILE: &str = "store.json";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Content(#[from] content::Error),
    #[error(transparent)]
    Images(#[from] metadata::Error),
    #[error(transparent)]
    Snapshot(#[from] snapshot::Error),
    #[error(transparent)]
    Gc(#[from] gc::Error),
    #[error("image {id}: {what}: {source}")]
    Format {
        id: Digest,
        what: &'static str,
        #[source]
        source: manifest::Error,
    },
    #[error(
        "image {id} is built for {image}, but this host runs {host}; berth does not emulate other platforms"
    )]
    Platform { id: Digest, image: String, host: String },
    #[error(
        "image {id}: layer {index} ({digest}, {media_type}) is a foreign (non-distributable) layer and is not in the content store; fetch it from {urls} and load it, or pull the image on its own platform"
    )]
    ForeignLayer {
        id: Digest,
        index: usize,
        digest: Digest,
        media_type: String,
        urls: String,
    },
    #[error("image {id}: layer {index} ({digest}) is missing from the content store; pull or load the image again")]
    MissingLayer { id: Digest, index: usize, digest: Digest },
    #[error("image {id}: the manifest lists {manifest} layers but the config's rootfs has {config} diff_ids")]
    LayerCount { id: Digest, manifest: usize, config: usize },
    #[error("image store {}: {reason}", path.display())]
    Root { path: PathBuf, reason: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What `<root>/store.json` records.
#[derive(Serialize, Deserialize)]
struct StoreFile {
    driver: Driver,
}

/// An image's disk use, as `docker system df -v` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSize {
    pub id: Digest,
    /// Bytes of every layer of the image's chain: unpacked size for layers that are
    /// unpacked, the compressed blob size for those that are not (yet).
    pub size: u64,
    /// Bytes of those layers that other images use too (the same chain id).
    pub shared_size: u64,
    /// Every layer is unpacked.
    pub unpacked: bool,
}

/// What [`Store::gc`] did.
#[derive(Debug, Clone, Default)]
pub struct GcReport {
    pub content: gc::Report,
    /// Committed snapshots removed (chain ids no image uses and no container sits on).
    pub removed_snapshots: Vec<String>,
    pub snapshot_bytes_freed: u64,
}

/// The store under one data root. See the module docs.
pub struct Store {
    root: PathBuf,
    content: ContentStore,
    images: ImageStore,
    snapshots: Snapshotter,
    leases: Leases,
    /// Config digest → chain ids: configs are immutable, so this never goes stale.
    chains: Mutex<HashMap<Digest, Vec<ChainId>>>,
}

impl Store {
    /// Opens (creating) the store under `data_root`, with the snapshot driver recorded
    /// for it, or detected (overlay where it works) on first use.
    pub fn open(data_root: impl AsRef<Path>) -> Result<Store> {
        Store::open_inner(data_root.as_ref(), None)
    }

    /// Like [`open`](Self::open) with a chosen driver; refused if the root already
    /// records another one.
    pub fn open_with_driver(data_root: impl AsRef<Path>, driver: Driver) -> Result<Store> {
        Store::open_inner(data_root.as_ref(), Some(driver))
    }

    fn open_inner(root: &Path, wanted: Option<Driver>) -> Result<Store> {
        let root_err = |reason: String| Error::Root { path: root.to_path_buf(), reason };
        fs::create_dir_all(root).map_err(|e| root_err(format!("create: {e}")))?;
        let content = ContentStore::open(root)?;
        let images = ImageStore::open(root, content.clone())?;
        let leases = Leases::open(root)?;
        let file = root.join(STORE_FILE);
        let recorded = match fs::read(&file) {
            Ok(b) => Some(
                serde_json::from_slice::<StoreFile>(&b)
                    .map_err(|e| root_err(format!("{STORE_FILE} is unreadable: {e}")))?
                    .driver,
            ),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(root_err(format!("read {STORE_FILE}: {e}"))),
        };
        let driver = match (recorded, wanted) {
            (Some(r), Some(w)) if r != w => {
                return Err(root_err(format!(
                    "its snapshots use the {r:?} driver, not {w:?}; use another data root"
                )));
            }
            (Some(r), _) => r,
            (None, w) => {
                let d = w.unwrap_or_else(|| Driver::detect(&root.join("snapshots")));
                let bytes = serde_json::to_vec(&StoreFile { driver: d })
                    .map_err(|e| root_err(format!("encode {STORE_FILE}: {e}")))?;
                content::write_atomic(&file, &bytes)?;
                d
            }
        };
        let snapshots = Snapshotter::new(root, driver)?;
        Ok(Store {
            root: root.to_path_buf(),
            content,
            images,
            snapshots,
            leases,
            chains: Mutex::new(HashMap::new()),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn content(&self) -> &ContentStore {
        &self.content
    }

    pub fn images(&self) -> &ImageStore {
        &self.images
    }

    pub fn snapshots(&self) -> &Snapshotter {
        &self.snapshots
    }

    pub fn leases(&self) -> &Leases {
        &self.leases
    }

    /// The image's platform manifest, read from the content store.
    pub fn manifest(&self, image: &Image) -> Result<Manifest> {
        let raw = self.content.read_bytes(&image.manifest)?;
        Manifest::parse_as(raw, &image.manifest).map_err(|source| Error::Format {
            id: image.id.clone(),
            what: "manifest",
            source,
        })
    }

    /// The image's config, read from the content store.
    pub fn config(&self, image: &Image) -> Result<Config> {
        let raw = self.content.read_bytes(&image.id)?;
        Config::parse_as(raw, &image.id).map_err(|source| Error::Format {
            id: image.id.clone(),
            what: "config",
            source,
        })
    }

    /// Chain ids of the image's layers, base first (cached: configs never change).
    pub fn chain_ids(&self, image: &Image) -> Result<Vec<ChainId>> {
        let cache = |c: &Mutex<HashMap<Digest, Vec<ChainId>>>| {
            c.lock().unwrap_or_else(PoisonError::into_inner).get(&image.id).cloned()
        };
        if let Some(c) = cache(&self.chains) {
            return Ok(c);
        }
        let chain = chain_ids(&self.config(image)?.parsed().rootfs.diff_ids);
        self.chains
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(image.id.clone(), chain.clone());
        Ok(chain)
    }

    /// Unpacks every layer of `image` not unpacked yet (in parallel with overlay) and
    /// returns the chain id of its top layer: the parent of its containers.
    pub fn unpack(&self, image: &Image) -> Result<ChainId> {
        Ok(self.unpack_layers(image)?.chain_id().clone())
    }

    /// [`unpack`](Self::unpack) with per-layer statistics. Checks the image is for
    /// this host's platform, maps each layer's media type to its compression, and
    /// refuses clearly when a foreign (non-distributable) layer is absent. Records the
    /// unpacked size as the image's size.
    pub fn unpack_layers(&self, image: &Image) -> Result<Unpacked> {
        let manifest = self.manifest(image)?;
        let config = self.config(image)?;
        let parsed = config.parsed();
        check_platform(&image.id, parsed)?;
        let diff_ids = &parsed.rootfs.diff_ids;
        if manifest.layers().len() != diff_ids.len() {
            return Err(Error::LayerCount {
                id: image.id.clone(),
                manifest: manifest.layers().len(),
                config: diff_ids.len(),
            });
        }
        let mut layers = Vec::with_capacity(diff_ids.len());
        for (index, (desc, diff_id)) in manifest.layers().iter().zip(diff_ids).enumerate() {
            let compression =
                manifest::layer_compression(&desc.media_type).map_err(|source| Error::Format {
                    id: image.id.clone(),
                    what: "layer",
                    source,
                })?;
            if !self.content.exists(&desc.digest) {
                let chain = chain_ids(&diff_ids[..=index]);
                let present = self
                    .snapshots
                    .stat(&chain[index].to_string())
                    .is_ok_and(|i| i.kind == Kind::Committed);
                if !present {
                    if manifest::is_non_distributable(&desc.media_type) {
                        return Err(Error::ForeignLayer {
                            id: image.id.clone(),
                            index,
                            digest: desc.digest.clone(),
                            media_type: desc.media_type.clone(),
                            urls: if desc.urls.is_empty() {
                                "its descriptor's urls (none given)".into()
                            } else {
                                desc.urls.join(", ")
                            },
                        });
                    }
                    return Err(Error::MissingLayer {
                        id: image.id.clone(),
                        index,
                        digest: desc.digest.clone(),
                    });
                }
            }
            let (content, digest) = (&self.content, desc.digest.clone());
            layers.push(
                Layer::new(diff_id.clone(), compression, move || content.reader(&digest).map_err(io::Error::other))
                    .with_size_hint(desc.size),
            );
        }
        let unpacked = self.snapshots.unpack(layers)?;
        self.record_size(image, &unpacked.chain_ids)?;
        Ok(unpacked)
    }

    /// Records as `image`'s size the sum of its snapshots (`chain`, all unpacked).
    pub fn record_size(&self, image: &Image, chain: &[ChainId]) -> Result<u64> {
        let sizes = self.snapshot_sizes()?;
        let size: u64 = chain.iter().map(|c| sizes.get(&c.to_string()).copied().unwrap_or(0)).sum();
        if size != image.size {
            self.images.set_size(&image.id, size)?;
        }
        Ok(size)
    }

    /// Committed snapshot sizes by key.
    fn snapshot_sizes(&self) -> Result<HashMap<String, u64>> {
        Ok(self
            .snapshots
            .list()?
            .into_iter()
            .filter(|i| i.kind == Kind::Committed)
            .map(|i| (i.key, i.size.unwrap_or(0)))
            .collect())
    }

    /// Bytes of every distinct layer of every image, each counted once: unpacked size
    /// where unpacked, the compressed blob otherwise (Docker's `LayersSize`).
    pub fn layers_size(&self) -> Result<u64> {
        let snapshots = self.snapshot_sizes()?;
        let mut seen: HashMap<ChainId, u64> = HashMap::new();
        for img in self.images.all() {
            let chain = self.chain_ids(&img)?;
            let mut compressed: Option<Vec<u64>> = None;
            for (i, c) in chain.iter().enumerate() {
                if seen.contains_key(c) {
                    continue;
                }
                let size = match snapshots.get(&c.to_string()) {
                    Some(s) => *s,
                    None => {
                        let sizes = compressed.get_or_insert_with(|| match self.manifest(&img) {
                            Ok(m) => m.layers().iter().map(|l| l.size).collect(),
                            Err(_) => Vec::new(),
                        });
                        sizes.get(i).copied().unwrap_or(0)
                    }
                };
                seen.insert(c.clone(), size);
            }
        }
        Ok(seen.values().sum())
    }

    /// Size and shared size of every image (see [`ImageSize`]), by image id.
    pub fn image_sizes(&self) -> Result<BTreeMap<Digest, ImageSize>> {
        let images = self.images.all();
        let snapshots = self.snapshot_sizes()?;
        let mut chains: Vec<(Image, Vec<ChainId>)> = Vec::with_capacity(images.len());
        let mut users: HashMap<ChainId, usize> = HashMap::new();
        for img in images {
            let chain = self.chain_ids(&img)?;
            for c in chain.iter().collect::<BTreeSet<_>>() {
                *users.entry(c.clone()).or_default() += 1;
            }
            chains.push((img, chain));
        }
        let mut out = BTreeMap::new();
        for (img, chain) in chains {
            let mut compressed: Option<Vec<u64>> = None;
            let (mut size, mut shared, mut unpacked) = (0, 0, true);
            for (i, c) in chain.iter().enumerate() {
                let layer = match snapshots.get(&c.to_string()) {
                    Some(s) => *s,
                    None => {
                        unpacked = false;
                        if compressed.is_none() {
                            compressed = Some(match self.manifest(&img) {
                                Ok(m) => m.layers().iter().map(|l| l.size).collect(),
                                Err(_) => Vec::new(),
                            });
                        }
                        compressed.as_ref().and_then(|v| v.get(i).copied()).unwrap_or(0)
                    }
                };
                size += layer;
                if users.get(c).copied().unwrap_or(0) > 1 {
                    shared += layer;
                }
            }
            let id = img.id.clone();
            out.insert(id.clone(), ImageSize { id, size, shared_size: shared, unpacked });
        }
        Ok(out)
    }

    /// A new writable snapshot `container_key` on top of the image's unpacked chain
    /// (unpacking it first if needed); returns the mounts of its root filesystem.
    pub fn container_snapshot(&self, container_key: &str, image: &Image) -> Result<Vec<Mount>> {
        // Almost always the image is unpacked already: its top layer's snapshot is
        // committed, and checking that is all a container's create needs.
        let unpacked = self.chain_ids(image)?.pop().filter(|top| {
            self.snapshots.stat(&top.to_string()).is_ok_and(|i| i.kind == Kind::Committed)
        });
        let parent = match unpacked {
            Some(top) => top,
            None => self.unpack(image)?,
        };
        Ok(self.snapshots.prepare(container_key, Some(&parent))?)
    }

    /// [`gc_with_grace`](Self::gc_with_grace) with [`gc::DEFAULT_GRACE`].
    pub fn gc(&self) -> Result<GcReport> {
        self.gc_with_grace(gc::DEFAULT_GRACE)
    }

    /// Removes blobs no image needs (see [`gc::collect`]), then committed snapshots
    /// whose chain id no image uses, that are no parent of an active snapshot or view
    /// (a container's or a build's), and that are older than `grace` (an unpack for an
    /// image being added right now). Children go before their parents.
    pub fn gc_with_grace(&self, grace: Duration) -> Result<GcReport> {
        let start = SystemTime::now();
        let content = gc::collect(&self.content, &self.images, &self.leases, grace)?;
        let cutoff = chrono::DateTime::<chrono::Utc>::from(start.checked_sub(grace).unwrap_or(start));
        let list = self.snapshots.list()?;
        let by_key: HashMap<&str, &snapshot::Info> = list.iter().map(|i| (i.key.as_str(), i)).collect();
        let live: BTreeSet<String> = content.live_chain_ids.iter().map(|c| c.to_string()).collect();
        let mut keep: BTreeSet<&str> = BTreeSet::new();
        for info in &list {
            let protected = info.kind != Kind::Committed || live.contains(&info.key) || info.created >= cutoff;
            if !protected {
                continue;
            }
            // The snapshot and every ancestor.
            let mut cur = Some(info.key.as_str());
            while let Some(k) = cur {
                if !keep.insert(k) {
                    break;
                }
                cur = by_key.get(k).and_then(|i| i.parent.as_deref());
            }
        }
        let depth = |key: &str| {
            let (mut d, mut cur) = (0usize, by_key.get(key).and_then(|i| i.parent.as_deref()));
            while let Some(k) = cur {
                d += 1;
                if d > list.len() {
                    break;
                }
                cur = by_key.get(k).and_then(|i| i.parent.as_deref());
            }
            d
        };
        let mut doomed: Vec<(usize, &snapshot::Info)> = list
            .iter()
            .filter(|i| i.kind == Kind::Committed && !keep.contains(i.key.as_str()))
            .map(|i| (depth(&i.key), i))
            .collect();
        doomed.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.key.cmp(&b.1.key)));
        let mut report = GcReport { content, ..GcReport::default() };
        for (_, info) in doomed {
            match self.snapshots.remove(&info.key) {
                Ok(()) => {
                    report.snapshot_bytes_freed += info.size.unwrap_or(0);
                    report.removed_snapshots.push(info.key.clone());
                }
                // Something started using it meanwhile, or another gc removed it.
                Err(snapshot::Error::HasChildren { .. } | snapshot::Error::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(report)
    }
}

/// Refuses an image for another OS or architecture (variants may differ: an older
/// variant runs on a newer CPU, and configs often leave it out).
fn check_platform(id: &Digest, config: &manifest::ImageConfig) -> Result<()> {
    if config.os.is_empty() || config.architecture.is_empty() {
        return Ok(());
    }
    let host = Platform::host();
    let image = Platform::new(&config.os, &config.architecture, config.variant.as_deref());
    if image.os != host.os || image.architecture != host.architecture {
        return Err(Error::Platform { id: id.clone(), image: image.to_string(), host: host.to_string() });
    }
    Ok(())
}
