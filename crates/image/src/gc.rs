//! Garbage collection of content blobs no image needs, and the set of layer chain IDs
//! images still use (for the snapshotter to prune its snapshots; GC only reports it).
//!
//! **Mark**: from every image record — its target (index or manifest), resolved
//! manifest and config — follow indexes to the manifests present locally and manifests
//! to their config and layers. **Sweep**: delete every other blob, except
//!
//! - blobs named by an unexpired [`Lease`] (a pull leases each digest *before* it
//!   writes or reuses the blob, and releases the lease only *after* the image record
//!   is added), and
//! - blobs committed less than `grace` before the collection started (a safety net
//!   for writers that take no lease).
//!
//! The image store is frozen (changes wait, reads go on) from before marking until
//! the sweep ends, and leases are read inside that window. So for any pull, either its
//! image was added before the freeze (and is marked), or its lease is still held when
//! the sweep looks (and protects everything it listed). A lease whose holder crashed
//! stops protecting anything once it expires, and its file is removed.
//!
//! If a referenced manifest, index or config cannot be read or parsed, collection
//! stops with an error rather than guess what it points at.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::content::{self, ContentStore};
use crate::digest::{Digest, chain_ids};
use crate::manifest::{self, Config, Document, Kind};
use crate::metadata::{Image, ImageStore};

/// A sane default for [`collect`]'s `grace`: blobs younger than this are never swept.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("garbage collection: {0}")]
    Content(#[from] content::Error),
    #[error(
        "garbage collection stopped: {what} {digest} is unreadable ({source}); nothing was deleted past this point"
    )]
    Format {
        what: &'static str,
        digest: Digest,
        #[source]
        source: manifest::Error,
    },
    #[error(
        "garbage collection stopped: lease {} is unreadable ({reason}); remove it if no pull is running",
        path.display()
    )]
    Lease { path: PathBuf, reason: String },
    #[error("garbage collection: {op} {}: {source}", path.display())]
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

/// Where leases live: `<root>/leases/`, one JSON file per lease, so a pull in another
/// process protects its blobs too.
#[derive(Debug, Clone)]
pub struct Leases {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct LeaseFile {
    name: String,
    /// Unix seconds after which the lease protects nothing.
    expires: u64,
    digests: BTreeSet<Digest>,
}

impl Leases {
    pub fn open(root: impl AsRef<Path>) -> Result<Leases> {
        let dir = root.as_ref().join("leases");
        fs::create_dir_all(&dir).map_err(io_err("create directory", &dir))?;
        Ok(Leases { dir })
    }

    /// A new lease, valid for `ttl` (renewable). `name` is for people reading the file
    /// (e.g. the reference being pulled).
    pub fn create(&self, name: &str, ttl: Duration) -> Result<Lease> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let id = format!(
            "{}-{}-{nanos}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let lease = Lease {
            path: self.dir.join(format!("{id}.json")),
            state: Mutex::new(LeaseFile {
                name: name.to_string(),
                expires: expiry(ttl),
                digests: BTreeSet::new(),
            }),
        };
        lease.save(&lease.lock())?;
        Ok(lease)
    }

    /// Digests protected by unexpired leases; expired lease files are removed.
    fn active(&self) -> Result<BTreeSet<Digest>> {
        let now = expiry(Duration::ZERO);
        let mut out = BTreeSet::new();
        for entry in fs::read_dir(&self.dir).map_err(io_err("list", &self.dir))? {
            let path = entry.map_err(io_err("list", &self.dir))?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with('.') || !name.ends_with(".json") {
                continue; // a lease being written (write_atomic's temp file)
            }
            let bytes = match fs::read(&path) {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue, // just released
                Err(e) => return Err(io_err("read", &path)(e)),
            };
            let lease: LeaseFile = serde_json::from_slice(&bytes).map_err(|e| Error::Lease {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            if lease.expires <= now {
                let _ = fs::remove_file(&path);
                continue;
            }
            out.extend(lease.digests);
        }
        Ok(out)
    }
}

fn expiry(ttl: Duration) -> u64 {
    (SystemTime::now() + ttl)
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Protection for blobs a pull is writing or about to reference. Add each digest
/// before writing (or deciding to reuse) its blob; drop or [`release`](Self::release)
/// the lease after the image record exists. Safe to share between threads.
#[derive(Debug)]
pub struct Lease {
    path: PathBuf,
    state: Mutex<LeaseFile>,
}

impl std::fmt::Debug for LeaseFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseFile")
            .field("name", &self.name)
            .field("expires", &self.expires)
            .field("digests", &self.digests.len())
            .finish()
    }
}

impl Lease {
    fn lock(&self) -> std::sync::MutexGuard<'_, LeaseFile> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn save(&self, state: &LeaseFile) -> Result<()> {
        let bytes = serde_json::to_vec(state).map_err(|e| Error::Lease {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        content::write_atomic(&self.path, &bytes)?;
        Ok(())
    }

    /// Protects `digest`; durable when this returns.
    pub fn add(&self, digest: &Digest) -> Result<()> {
        let mut st = self.lock();
        if st.digests.insert(digest.clone()) {
            self.save(&st)?;
        }
        Ok(())
    }

    /// Extends the lease to `ttl` from now (for long pulls).
    pub fn renew(&self, ttl: Duration) -> Result<()> {
        let mut st = self.lock();
        st.expires = expiry(ttl);
        self.save(&st)
    }

    pub fn digests(&self) -> BTreeSet<Digest> {
        self.lock().digests.clone()
    }

    /// Ends the protection now, reporting a failure to remove the file.
    pub fn release(self) -> Result<()> {
        // Drop then finds the file gone, which it ignores.
        match fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("remove lease", &self.path)(e)),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Best effort: a leftover lease only delays collection until it expires.
        let _ = fs::remove_file(&self.path);
    }
}

/// What a collection did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Blobs deleted.
    pub removed: Vec<Digest>,
    pub bytes_freed: u64,
    /// Unreferenced blobs kept because a lease names them.
    pub kept_leased: usize,
    /// Unreferenced blobs kept because they are younger than the grace period.
    pub kept_recent: usize,
    /// Blobs image records need that are not in the store (the image is broken).
    pub missing: Vec<Digest>,
    /// Chain IDs of every image's layer stack (each prefix): snapshots not in this
    /// set belong to no image.
    pub live_chain_ids: BTreeSet<Digest>,
}

/// Marks and sweeps; see the module docs. `grace` protects blobs committed shortly
/// before the start ([`DEFAULT_GRACE`] is a sane value; tests use zero).
pub fn collect(
    content: &ContentStore,
    images: &ImageStore,
    leases: &Leases,
    grace: Duration,
) -> Result<Report> {
    let start = SystemTime::now();
    let cutoff = start.checked_sub(grace).unwrap_or(UNIX_EPOCH);
    images.with_frozen(|records| {
        let mut report = Report::default();
        let live = mark(content, records, &mut report)?;
        let leased = leases.active()?;
        for digest in content.list()? {
            if live.contains(&digest) {
                continue;
            }
            if leased.contains(&digest) {
                report.kept_leased += 1;
                continue;
            }
            let path = content.blob_path(&digest);
            let meta = match fs::metadata(&path) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err("stat", &path)(e)),
            };
            // ctime moves on the commit's chmod and rename, so it is the commit time
            // even when the data was written long before.
            let changed =
                UNIX_EPOCH + Duration::new(meta.ctime().max(meta.mtime()).max(0) as u64, 0);
            if changed >= cutoff {
                report.kept_recent += 1;
                continue;
            }
            match content.delete(&digest) {
                Ok(()) => {
                    report.bytes_freed += meta.len();
                    report.removed.push(digest);
                }
                Err(content::Error::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(report)
    })
}

/// Everything reachable from the records; fills `missing` and `live_chain_ids`.
fn mark(
    content: &ContentStore,
    records: &[&Image],
    report: &mut Report,
) -> Result<BTreeSet<Digest>> {
    let mut live = BTreeSet::new();
    let mut missing = BTreeSet::new();
    for img in records {
        // (digest, media type if known, required): index entries for platforms that
        // were never pulled are not required.
        let mut stack: Vec<(Digest, Option<String>, bool)> = vec![
            (
                img.target.digest.clone(),
                Some(img.target.media_type.clone()),
                true,
            ),
            (img.manifest.clone(), None, true),
            (img.id.clone(), Some(manifest::OCI_CONFIG.to_string()), true),
        ];
        while let Some((digest, media_type, required)) = stack.pop() {
            if !live.insert(digest.clone()) {
                continue;
            }
            let is_document = match media_type.as_deref() {
                None => true,
                Some(mt) => Kind::from_media_type(mt).is_some(),
            };
            if !content.exists(&digest) {
                if required {
                    missing.insert(digest);
                }
                continue;
            }
            if !is_document {
                continue;
            }
            let raw = content.read_bytes(&digest)?;
            let doc = Document::parse(raw, Some(&digest)).map_err(|source| Error::Format {
                what: "manifest",
                digest: digest.clone(),
                source,
            })?;
            let from_index = matches!(doc, Document::Index(_));
            for child in doc.children() {
                stack.push((
                    child.digest.clone(),
                    Some(child.media_type.clone()),
                    required && !from_index,
                ));
            }
        }
        if content.exists(&img.id) {
            let raw = content.read_bytes(&img.id)?;
            let config = Config::parse_as(raw, &img.id).map_err(|source| Error::Format {
                what: "image config",
                digest: img.id.clone(),
                source,
            })?;
            report
                .live_chain_ids
                .extend(chain_ids(&config.parsed().rootfs.diff_ids));
        }
    }
    // The resolved manifest is required even when reached through its index first.
    for img in records {
        if !content.exists(&img.manifest) {
            missing.insert(img.manifest.clone());
        }
    }
    report.missing = missing.into_iter().collect();
    Ok(live)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::{NewImage, Target};
    use crate::reference::Reference;
    use std::io::Write;

    struct World {
        _dir: tempfile::TempDir,
        content: ContentStore,
        images: ImageStore,
        leases: Leases,
    }

    fn world() -> World {
        let dir = tempfile::tempdir().unwrap();
        let content = ContentStore::open(dir.path()).unwrap();
        let images = ImageStore::open(dir.path(), content.clone()).unwrap();
        let leases = Leases::open(dir.path()).unwrap();
        World {
            _dir: dir,
            content,
            images,
            leases,
        }
    }

    /// Stores the busybox fixture's blobs, plus an index naming its manifest and a
    /// manifest for another platform that was never pulled. Returns (image id, index).
    fn pull_busybox(w: &World, with_index: bool) -> (Digest, Digest) {
        let img = fixture::Image::busybox().unwrap();
        let id = w.content.put_bytes(img.config()).unwrap();
        let manifest = w.content.put_bytes(img.manifest()).unwrap();
        let layer = w.content.put_bytes(img.layer()).unwrap();
        assert_eq!(layer.to_string(), img.layer_digest());
        let absent = Digest::sha256_of(b"arm manifest never pulled");
        let index_json = serde_json::json!({
            "schemaVersion": 2, "mediaType": manifest::OCI_INDEX,
            "manifests": [
                {"mediaType": manifest::OCI_MANIFEST, "digest": manifest.to_string(), "size": img.manifest_size(),
                 "platform": {"os": "linux", "architecture": img.architecture()}},
                {"mediaType": manifest::OCI_MANIFEST, "digest": absent.to_string(), "size": 10,
                 "platform": {"os": "linux", "architecture": "s390x"}},
            ]
        });
        let index = w
            .content
            .put_bytes(&serde_json::to_vec(&index_json).unwrap())
            .unwrap();
        let target = if with_index {
            Target {
                media_type: manifest::OCI_INDEX.into(),
                digest: index.clone(),
                size: 1,
            }
        } else {
            Target {
                media_type: manifest::OCI_MANIFEST.into(),
                digest: manifest.clone(),
                size: 1,
            }
        };
        w.images
            .add(NewImage {
                id: id.clone(),
                target,
                manifest,
                size: 1,
            })
            .unwrap();
        w.images
            .tag(&Reference::parse("busybox").unwrap(), &id)
            .unwrap();
        (id, index)
    }

    #[test]
    fn unreferenced_blobs_go_and_image_blobs_stay() {
        let w = world();
        let (id, index) = pull_busybox(&w, true);
        let junk = w.content.put_bytes(b"orphan").unwrap();
        let before = w.content.list().unwrap();
        assert_eq!(before.len(), 5);

        let report = collect(&w.content, &w.images, &w.leases, Duration::ZERO).unwrap();
        assert_eq!(report.removed, vec![junk.clone()]);
        assert_eq!(report.bytes_freed, 6);
        assert!(report.missing.is_empty(), "{:?}", report.missing);
        assert!(!w.content.exists(&junk));
        assert!(w.content.exists(&index) && w.content.exists(&id));
        let img = fixture::Image::busybox().unwrap();
        let diff_id: Digest = img.diff_id().parse().unwrap();
        assert_eq!(report.live_chain_ids, BTreeSet::from([diff_id]));

        // Once the image is gone, everything it used goes too.
        w.images.delete("busybox", false, &|_| None).unwrap();
        let report = collect(&w.content, &w.images, &w.leases, Duration::ZERO).unwrap();
        assert_eq!(report.removed.len(), 4);
        assert!(w.content.list().unwrap().is_empty());
        assert!(report.live_chain_ids.is_empty());
    }

    #[test]
    fn leased_and_recent_blobs_survive() {
        let w = world();
        let lease = w
            .leases
            .create("pull busybox", Duration::from_secs(600))
            .unwrap();
        let data = b"layer being pulled";
        let d = Digest::sha256_of(data);
        // The pull leases first, then writes.
        lease.add(&d).unwrap();
        let mut writer = w
            .content
            .writer(Some((d.clone(), data.len() as u64)))
            .unwrap();
        writer.write_all(data).unwrap();
        writer.commit().unwrap();
        let fresh = w.content.put_bytes(b"fresh, no lease").unwrap();

        let report = collect(&w.content, &w.images, &w.leases, Duration::from_secs(3600)).unwrap();
        assert!(report.removed.is_empty());
        assert_eq!((report.kept_leased, report.kept_recent), (1, 1));

        let report = collect(&w.content, &w.images, &w.leases, Duration::ZERO).unwrap();
        assert_eq!(report.removed, vec![fresh]);
        assert!(w.content.exists(&d));
        assert_eq!(lease.digests(), BTreeSet::from([d.clone()]));

        lease.release().unwrap();
        let report = collect(&w.content, &w.images, &w.leases, Duration::ZERO).unwrap();
        assert_eq!(report.removed, vec![d]);
    }

    #[test]
    fn expired_leases_protect_nothing() {
        let w = world();
        let lease = w.leases.create("crashed pull", Duration::ZERO).unwrap();
        let d = w.content.put_bytes(b"left behind").unwrap();
        lease.add(&d).unwrap();
        std::mem::forget(lease); // the holder crashed
        let report = collect(&w.content, &w.images, &w.leases, Duration::ZERO).unwrap();
        assert_eq!(report.removed, vec![d]);
        assert_eq!(fs::read_dir(&w.leases.dir).unwrap().count(), 0);

        let lease = w.leases.create("renewed", Duration::ZERO).unwrap();
        let d = w.content.put_bytes(b"kept").unwrap();
        lease.add(&d).unwrap();
        lease.renew(Duration::from_secs(600)).unwrap();
        let report = collect(&w.content, &w.images, &w.leases, Duration::ZERO).unwrap();
        assert_eq!(report.kept_leased, 1);
        drop(lease);
        assert_eq!(fs::read_dir(&w.leases.dir).unwrap().count(), 0);
    }

    #[test]
    fn missing_blobs_are_reported_and_corrupt_manifests_stop_collection() {
        let w = world();
        let (_, _) = pull_busybox(&w, false);
        let img = fixture::Image::busybox().unwrap();
        let layer: Digest = img.layer_digest().parse().unwrap();
        w.content.delete(&layer).unwrap();
        let junk = w.content.put_bytes(b"junk").unwrap();
        let report = collect(&w.content, &w.images, &w.leases, Duration::ZERO).unwrap();
        assert_eq!(report.missing, vec![layer]);
        // The index is unreferenced here (the image was added by manifest).
        assert_eq!(report.removed.len(), 2);
        assert!(report.removed.contains(&junk));

        // An image whose manifest is not a manifest: nothing is deleted.
        let bogus = w.content.put_bytes(b"{\"neither\": true}").unwrap();
        let id = w.content.put_bytes(img.config()).unwrap();
        w.images
            .add(NewImage {
                id,
                target: Target {
                    media_type: manifest::OCI_MANIFEST.into(),
                    digest: bogus.clone(),
                    size: 1,
                },
                manifest: bogus.clone(),
                size: 1,
            })
            .unwrap();
        let orphan = w.content.put_bytes(b"orphan").unwrap();
        let err = collect(&w.content, &w.images, &w.leases, Duration::ZERO)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&bogus.to_string()) && err.contains("stopped"),
            "{err}"
        );
        assert!(w.content.exists(&orphan));
    }

    #[test]
    fn shared_layers_give_every_chain_prefix() {
        let w = world();
        let a = Digest::sha256_of(b"a");
        let b = Digest::sha256_of(b"b");
        let config = serde_json::json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [a.to_string(), b.to_string()]}});
        let id = w
            .content
            .put_bytes(&serde_json::to_vec(&config).unwrap())
            .unwrap();
        let manifest_json = serde_json::json!({"schemaVersion": 2, "mediaType": manifest::OCI_MANIFEST,
            "config": {"mediaType": manifest::OCI_CONFIG, "digest": id.to_string(), "size": 1}, "layers": []});
        let m = w
            .content
            .put_bytes(&serde_json::to_vec(&manifest_json).unwrap())
            .unwrap();
        w.images
            .add(NewImage {
                id,
                target: Target {
                    media_type: manifest::OCI_MANIFEST.into(),
                    digest: m.clone(),
                    size: 1,
                },
                manifest: m,
                size: 1,
            })
            .unwrap();
        let report = collect(&w.content, &w.images, &w.leases, Duration::ZERO).unwrap();
        assert_eq!(
            report.live_chain_ids,
            chain_ids(&[a, b]).into_iter().collect()
        );
    }
}
