//! Image metadata: which images exist (by ID = config digest), what they were pulled
//! as (target and resolved manifest digests), and the references (tags, repo digests)
//! that name them. Stored under `<root>/images/`, one JSON record per image, each
//! written atomically (temp file, fsync, rename, fsync directory).
//!
//! Everything is loaded once at [`ImageStore::open`] into an in-memory index (by ID,
//! by ID hex for prefix lookups, by tag, by repo digest), so resolving and listing
//! never read files; only changes write, and only the records they touch. One process
//! (the daemon) owns a store; within it, an internal lock serialises changes.
//!
//! Blobs are read from the [`ContentStore`] only for what records do not cache
//! (inspect and history read the config). Nothing here unpacks or mounts.

mod filter;
mod inspect;
mod remove;
mod state;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::content::{self, ContentStore};
use crate::digest::Digest;
use crate::manifest::{self, Config};
use crate::reference::{self, Reference};

pub use filter::{BadPattern, Filters, glob_match, labels_match, reference_matches};
pub use inspect::HistoryEntry;
pub use remove::{Deleted, PruneReport, UsedBy};

use state::{State, io_err, normalise_ref, record_path};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Docker's wording, which clients match on.
    #[error("No such image: {0}")]
    NotFound(String),
    #[error("image ID prefix {prefix:?} matches {count} images; give more characters of the ID")]
    Ambiguous { prefix: String, count: usize },
    #[error(transparent)]
    Reference(#[from] reference::Error),
    #[error("refusing to create a tag with a digest reference ({0}); give name:tag")]
    TagWithDigest(String),
    /// A `docker rmi` conflict, worded as Docker words it.
    #[error("{0}")]
    Conflict(String),
    #[error("image {id}: {source}")]
    Content {
        id: Digest,
        #[source]
        source: content::Error,
    },
    #[error("image {id}: {source}")]
    Format {
        id: Digest,
        #[source]
        source: manifest::Error,
    },
    #[error("invalid filter {0:?}")]
    InvalidFilter(String),
    #[error("image store: {op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("image store: {}: {reason}", path.display())]
    Store { path: PathBuf, reason: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What an image was pulled or loaded as: a manifest, or an index / manifest list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
}

/// What a puller or loader hands to [`ImageStore::add`].
#[derive(Debug, Clone)]
pub struct NewImage {
    /// The config digest: Docker's image ID. Its blob must be in the content store.
    pub id: Digest,
    pub target: Target,
    /// The platform manifest resolved from `target` (equal to it for a plain manifest).
    pub manifest: Digest,
    /// Bytes the image takes (the caller's choice: usually unpacked layer sizes).
    pub size: u64,
}

/// One image's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub id: Digest,
    pub target: Target,
    pub manifest: Digest,
    #[serde(default)]
    pub repo_tags: Vec<Reference>,
    #[serde(default)]
    pub repo_digests: Vec<Reference>,
    /// When this record was created (metadata, not the image's build time).
    pub created_at: DateTime<Utc>,
    /// When a tag was last added: Docker's `Metadata.LastTagTime`.
    #[serde(default)]
    pub last_tag_time: Option<DateTime<Utc>>,
    pub size: u64,
    /// The config's `created` (Docker's `Created`), cached for listing and filters.
    #[serde(default)]
    pub image_created: Option<String>,
    /// The config's labels, cached for the `label` filter.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl Image {
    /// No tag names it (it may still have repo digests), as `docker images -f dangling=true`.
    pub fn is_dangling(&self) -> bool {
        self.repo_tags.is_empty()
    }

    /// Tags as Docker prints them (`busybox:latest`), in Docker's order.
    pub fn familiar_tags(&self) -> Vec<String> {
        familiar_sorted(&self.repo_tags)
    }

    /// Repo digests as Docker prints them (`busybox@sha256:…`), in Docker's order.
    pub fn familiar_digests(&self) -> Vec<String> {
        familiar_sorted(&self.repo_digests)
    }

    /// The image's build time, if its config has a valid one.
    pub fn created_time(&self) -> Option<DateTime<Utc>> {
        parse_time(self.image_created.as_deref()?)
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Docker orders references by their full name, then prints them familiar.
fn familiar_sorted(refs: &[Reference]) -> Vec<String> {
    let mut v: Vec<&Reference> = refs.iter().collect();
    v.sort_by_key(|r| r.full());
    v.into_iter().map(Reference::familiar).collect()
}

/// Docker's short ID: 12 hex characters without the algorithm.
pub fn short_id(id: &Digest) -> String {
    id.hex()[..12].to_string()
}

/// The image metadata store. See the module docs.
pub struct ImageStore {
    content: ContentStore,
    state: RwLock<State>,
    skipped: Vec<(PathBuf, String)>,
}

impl ImageStore {
    /// Opens `<root>/images/` (creating it), loading every record. Unreadable records
    /// are skipped and reported by [`skipped`](Self::skipped) rather than making the
    /// whole store unusable; leftover temp files from a crash are removed.
    pub fn open(root: impl AsRef<Path>, content: ContentStore) -> Result<ImageStore> {
        let dir = root.as_ref().join("images");
        fs::create_dir_all(&dir).map_err(io_err("create directory", &dir))?;
        let mut state = State {
            dir: dir.clone(),
            images: HashMap::new(),
            by_id_text: BTreeMap::new(),
            tags: HashMap::new(),
            digests: HashMap::new(),
        };
        let mut skipped = Vec::new();
        let mut records = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_err("list", &dir))? {
            let path = entry.map_err(io_err("list", &dir))?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with('.') && name.contains(".tmp-") {
                let _ = fs::remove_file(&path);
                continue;
            }
            if !name.ends_with(".json") {
                continue;
            }
            let parsed = fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<Image>(&b).map_err(|e| e.to_string()));
            match parsed {
                Ok(img) if record_path(&dir, &img.id) == path => records.push(img),
                Ok(_) => skipped.push((path, "record's id does not match its file name".into())),
                Err(e) => skipped.push((path, e)),
            }
        }
        // Oldest tag time first, so when a crash left one tag on two records (a move
        // writes the new owner first), the newer owner ends up with it.
        records.sort_by_key(|i| i.last_tag_time);
        for img in records {
            for r in img.repo_tags.iter().chain(&img.repo_digests) {
                let index = if r.digest().is_some() {
                    &mut state.digests
                } else {
                    &mut state.tags
                };
                if let Some(old) = index.insert(r.clone(), img.id.clone())
                    && old != img.id
                {
                    state.drop_ref(&old, r);
                    let old_img = state.images[&old].clone();
                    state.persist(&old_img)?;
                }
            }
            state.by_id_text.insert(img.id.to_string(), img.id.clone());
            state.images.insert(img.id.clone(), img);
        }
        Ok(ImageStore {
            content,
            state: RwLock::new(state),
            skipped,
        })
    }

    /// Records that could not be loaded at open, with why.
    pub fn skipped(&self) -> &[(PathBuf, String)] {
        &self.skipped
    }

    pub fn content(&self) -> &ContentStore {
        &self.content
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way
        // that matters more than refusing service would; keep going.
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an image, or updates what an existing one was pulled as (keeping its
    /// references). Reads the config from the content store to cache its build time
    /// and labels.
    pub fn add(&self, new: NewImage) -> Result<Image> {
        let config = self.read_config(&new.id)?;
        let mut st = self.write();
        let img = match st.images.get(&new.id) {
            Some(old) => Image {
                target: new.target,
                manifest: new.manifest,
                size: new.size,
                ..old.clone()
            },
            None => Image {
                id: new.id.clone(),
                target: new.target,
                manifest: new.manifest,
                repo_tags: Vec::new(),
                repo_digests: Vec::new(),
                created_at: Utc::now(),
                last_tag_time: None,
                size: new.size,
                image_created: config.parsed().created.clone(),
                labels: config.parsed().labels(),
            },
        };
        st.persist(&img)?;
        st.by_id_text.insert(img.id.to_string(), img.id.clone());
        st.images.insert(img.id.clone(), img.clone());
        Ok(img)
    }

    /// The record for exactly this ID.
    pub fn get(&self, id: &Digest) -> Option<Image> {
        self.read().images.get(id).cloned()
    }

    /// Every image, in no particular order.
    pub fn all(&self) -> Vec<Image> {
        self.read().images.values().cloned().collect()
    }

    /// Runs `f` on every record while changes (add, tag, delete…) wait; reads may go
    /// on. Garbage collection uses this so no image appears between its mark and its
    /// sweep. `f` must not call back into this store.
    pub fn with_frozen<R>(&self, f: impl FnOnce(&[&Image]) -> R) -> R {
        let st = self.read();
        let images: Vec<&Image> = st.images.values().collect();
        f(&images)
    }

    /// Points `reference` (a name with a tag; a bare name means `:latest`) at image
    /// `id`. A tag on another image moves: that image loses it (and is dangling if
    /// it was its last tag), as `docker tag` does.
    pub fn tag(&self, reference: &Reference, id: &Digest) -> Result<()> {
        if reference.digest().is_some() {
            return Err(Error::TagWithDigest(reference.familiar()));
        }
        let reference = match reference.tag() {
            Some(_) => reference.clone(),
            None => reference.with_tag(reference::DEFAULT_TAG)?,
        };
        let mut st = self.write();
        let mut img = st
            .images
            .get(id)
            .cloned()
            .ok_or_else(|| Error::NotFound(id.to_string()))?;
        if !img.repo_tags.contains(&reference) {
            img.repo_tags.push(reference.clone());
        }
        img.last_tag_time = Some(Utc::now());
        // The new owner is written first: after a crash between the two writes the
        // loader gives the tag to the record with the newer tag time, which is this one.
        st.persist(&img)?;
        let previous = st.tags.insert(reference.clone(), id.clone());
        st.images.insert(id.clone(), img);
        if let Some(old) = previous.filter(|old| old != id) {
            st.drop_ref(&old, &reference);
            let old_img = st.images[&old].clone();
            st.persist(&old_img)?;
        }
        Ok(())
    }

    /// Records `reference` (`repo@digest`) as a repo digest of image `id`.
    pub fn add_repo_digest(&self, reference: &Reference, id: &Digest) -> Result<()> {
        let Some(d) = reference.digest() else {
            return Err(Error::Store {
                path: PathBuf::from(reference.full()),
                reason: "a repo digest needs name@digest".into(),
            });
        };
        let reference = reference.repository_only().with_digest(d.clone());
        let mut st = self.write();
        let mut img = st
            .images
            .get(id)
            .cloned()
            .ok_or_else(|| Error::NotFound(id.to_string()))?;
        if !img.repo_digests.contains(&reference) {
            img.repo_digests.push(reference.clone());
        }
        st.persist(&img)?;
        let previous = st.digests.insert(reference.clone(), id.clone());
        st.images.insert(id.clone(), img);
        if let Some(old) = previous.filter(|old| old != id) {
            st.drop_ref(&old, &reference);
            let old_img = st.images[&old].clone();
            st.persist(&old_img)?;
        }
        Ok(())
    }

    /// Removes a tag (or a `name@digest` repo digest); returns the image it named.
    /// The image itself stays, dangling if that was its last tag.
    pub fn untag(&self, reference: &Reference) -> Result<Digest> {
        let mut st = self.write();
        let key = normalise_ref(reference)?;
        let id = st
            .lookup_ref(&key)
            .ok_or_else(|| Error::NotFound(key.familiar()))?;
        st.drop_ref(&id, &key);
        let img = st.images[&id].clone();
        st.persist(&img)?;
        Ok(id)
    }

    /// Updates the size recorded for an image (e.g. once its layers are unpacked).
    pub fn set_size(&self, id: &Digest, size: u64) -> Result<()> {
        let mut st = self.write();
        let mut img = st
            .images
            .get(id)
            .cloned()
            .ok_or_else(|| Error::NotFound(id.to_string()))?;
        img.size = size;
        st.persist(&img)?;
        st.images.insert(id.clone(), img);
        Ok(())
    }

    /// Finds an image the way `docker image inspect` does: as a reference first
    /// (`busybox`, `busybox:1.36`, `docker.io/library/busybox:latest`, `name@digest`),
    /// then as a full ID (`sha256:…` or 64 hex) or a unique ID prefix.
    pub fn resolve(&self, name_or_id: &str) -> Result<Image> {
        let st = self.read();
        st.resolve(name_or_id).map(|id| st.images[&id].clone())
    }

    fn read_config(&self, id: &Digest) -> Result<Config> {
        let raw = self
            .content
            .read_bytes(id)
            .map_err(|source| Error::Content {
                id: id.clone(),
                source,
            })?;
        Config::parse_as(raw, id).map_err(|source| Error::Format {
            id: id.clone(),
            source,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    pub(crate) struct Fixture {
        pub dir: tempfile::TempDir,
        pub store: ImageStore,
    }

    pub(crate) fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let content = ContentStore::open(dir.path()).unwrap();
        let store = ImageStore::open(dir.path(), content).unwrap();
        Fixture { dir, store }
    }

    /// Adds an image whose config is `{"created": …, "labels"…}` made unique by `n`.
    pub(crate) fn add_image(
        s: &ImageStore,
        n: u32,
        created: &str,
        labels: &[(&str, &str)],
    ) -> Digest {
        let labels: BTreeMap<_, _> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let config = serde_json::json!({
            "architecture": "amd64", "os": "linux", "created": created,
            "config": {"Labels": labels, "Env": [format!("N={n}")]},
            "rootfs": {"type": "layers", "diff_ids": [Digest::sha256_of(&n.to_be_bytes()).to_string()]},
            "history": [{"created": created, "created_by": format!("layer {n}")}, {"created_by": "CMD", "empty_layer": true}],
        });
        let id = s
            .content()
            .put_bytes(&serde_json::to_vec(&config).unwrap())
            .unwrap();
        let manifest = Digest::sha256_of(format!("manifest {n}").as_bytes());
        s.add(NewImage {
            id: id.clone(),
            target: Target {
                media_type: manifest::OCI_MANIFEST.into(),
                digest: manifest.clone(),
                size: 1,
            },
            manifest,
            size: 1000 + u64::from(n),
        })
        .unwrap();
        id
    }

    pub(crate) fn r(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    #[test]
    fn tags_resolve_by_every_name_and_survive_reopen() {
        let f = fixture();
        let s = &f.store;
        let id = add_image(s, 1, "2024-01-01T00:00:00Z", &[]);
        s.tag(&r("busybox"), &id).unwrap();
        s.tag(&r("localhost:5000/x/y:t"), &id).unwrap();
        for name in [
            "busybox",
            "busybox:latest",
            "docker.io/library/busybox",
            "docker.io/library/busybox:latest",
            "localhost:5000/x/y:t",
            &id.to_string(),
            id.hex(),
            &id.hex()[..12],
            &format!("sha256:{}", &id.hex()[..5]),
        ] {
            assert_eq!(s.resolve(name).unwrap().id, id, "{name}");
        }
        let img = s.resolve("busybox").unwrap();
        assert_eq!(
            img.familiar_tags(),
            vec!["busybox:latest", "localhost:5000/x/y:t"]
        );
        assert!(img.last_tag_time.is_some());
        assert_eq!(img.image_created.as_deref(), Some("2024-01-01T00:00:00Z"));
        assert!(matches!(s.resolve("busybox:1.0"), Err(Error::NotFound(n)) if n == "busybox:1.0"));
        assert_eq!(
            s.resolve("nope").unwrap_err().to_string(),
            "No such image: nope"
        );
        assert!(matches!(
            s.resolve("Bad/Name"),
            Err(Error::NotFound(_)) | Err(Error::Reference(_))
        ));
        assert!(matches!(s.resolve("UPPER"), Err(Error::Reference(_))));

        let reopened =
            ImageStore::open(f.dir.path(), ContentStore::open(f.dir.path()).unwrap()).unwrap();
        assert!(reopened.skipped().is_empty());
        assert_eq!(reopened.resolve("busybox").unwrap(), img);
    }

    #[test]
    fn moving_a_tag_leaves_the_old_image_dangling() {
        let f = fixture();
        let s = &f.store;
        let a = add_image(s, 1, "2024-01-01T00:00:00Z", &[]);
        let b = add_image(s, 2, "2024-01-02T00:00:00Z", &[]);
        s.tag(&r("app:1"), &a).unwrap();
        s.tag(&r("app:1"), &b).unwrap();
        assert_eq!(s.resolve("app:1").unwrap().id, b);
        assert!(s.get(&a).unwrap().is_dangling());
        assert!(!s.get(&b).unwrap().is_dangling());
        // Still there, by ID.
        assert_eq!(s.resolve(a.hex()).unwrap().id, a);
        // And the move is on disk.
        let reopened =
            ImageStore::open(f.dir.path(), ContentStore::open(f.dir.path()).unwrap()).unwrap();
        assert!(reopened.get(&a).unwrap().is_dangling());
        assert_eq!(reopened.resolve("app:1").unwrap().id, b);
    }

    #[test]
    fn a_tag_on_two_records_after_a_crash_goes_to_the_newer() {
        let f = fixture();
        let s = &f.store;
        let a = add_image(s, 1, "2024-01-01T00:00:00Z", &[]);
        let b = add_image(s, 2, "2024-01-02T00:00:00Z", &[]);
        s.tag(&r("app"), &a).unwrap();
        let stale_a = s.get(&a).unwrap();
        s.tag(&r("app"), &b).unwrap();
        // Simulate the crash: a's old record (still holding the tag) is back on disk.
        let st = s.read();
        st.persist(&stale_a).unwrap();
        drop(st);
        let reopened =
            ImageStore::open(f.dir.path(), ContentStore::open(f.dir.path()).unwrap()).unwrap();
        assert_eq!(reopened.resolve("app").unwrap().id, b);
        assert!(reopened.get(&a).unwrap().is_dangling());
    }

    #[test]
    fn untag_and_digest_references() {
        let f = fixture();
        let s = &f.store;
        let id = add_image(s, 1, "2024-01-01T00:00:00Z", &[]);
        let target = s.get(&id).unwrap().target.digest;
        s.tag(&r("busybox:1"), &id).unwrap();
        // Pulled by tag: `name@<target digest>` resolves even without a repo digest.
        assert_eq!(s.resolve(&format!("busybox@{target}")).unwrap().id, id);
        assert!(s.resolve(&format!("other@{target}")).is_err());
        s.add_repo_digest(&r("busybox").with_digest(target.clone()), &id)
            .unwrap();
        assert_eq!(
            s.get(&id).unwrap().familiar_digests(),
            vec![format!("busybox@{target}")]
        );
        assert_eq!(
            s.resolve(&format!("busybox:whatever@{target}")).unwrap().id,
            id
        );
        assert!(matches!(
            s.tag(&r("busybox").with_digest(target.clone()), &id),
            Err(Error::TagWithDigest(_))
        ));

        assert_eq!(s.untag(&r("busybox:1")).unwrap(), id);
        assert!(s.get(&id).unwrap().is_dangling());
        assert!(matches!(s.untag(&r("busybox:1")), Err(Error::NotFound(n)) if n == "busybox:1"));
        assert_eq!(s.untag(&r("busybox").with_digest(target)).unwrap(), id);
        assert!(s.get(&id).unwrap().repo_digests.is_empty());
    }

    #[test]
    fn ambiguous_prefixes_say_so() {
        let f = fixture();
        let s = &f.store;
        let ids: Vec<Digest> = (0..40)
            .map(|n| add_image(s, n, "2024-01-01T00:00:00Z", &[]))
            .collect();
        // With 40 ids, some share their first hex digit.
        let first = &ids[0].hex()[..1];
        let count = ids.iter().filter(|i| i.hex().starts_with(first)).count();
        if count > 1 {
            match s.resolve(first) {
                Err(e @ Error::Ambiguous { .. }) => {
                    assert!(
                        e.to_string().contains(&format!("matches {count} images")),
                        "{e}"
                    )
                }
                other => panic!("{other:?}"),
            }
        }
        for id in &ids {
            assert_eq!(s.resolve(&id.hex()[..12]).unwrap().id, *id);
        }
    }

    #[test]
    fn corrupt_records_are_skipped_and_reported() {
        let f = fixture();
        let id = add_image(&f.store, 1, "2024-01-01T00:00:00Z", &[]);
        let bad = f.dir.path().join("images/sha256-bad.json");
        fs::File::create(&bad)
            .unwrap()
            .write_all(b"{not json")
            .unwrap();
        let tmp = f.dir.path().join("images/.x.json.tmp-1-2");
        fs::write(&tmp, b"partial").unwrap();
        let reopened =
            ImageStore::open(f.dir.path(), ContentStore::open(f.dir.path()).unwrap()).unwrap();
        assert_eq!(reopened.skipped().len(), 1);
        assert_eq!(reopened.skipped()[0].0, bad);
        assert!(reopened.get(&id).is_some());
        assert!(!tmp.exists());
    }

    #[test]
    fn add_needs_the_config_blob() {
        let f = fixture();
        let missing = Digest::sha256_of(b"no such config");
        let err = f
            .store
            .add(NewImage {
                id: missing.clone(),
                target: Target {
                    media_type: manifest::OCI_MANIFEST.into(),
                    digest: missing.clone(),
                    size: 1,
                },
                manifest: missing,
                size: 0,
            })
            .unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Content {
                    source: content::Error::NotFound(_),
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn real_image_round_trip() {
        let img = fixture::Image::busybox().unwrap();
        let f = fixture();
        let s = &f.store;
        let id = s.content().put_bytes(img.config()).unwrap();
        let manifest: Digest = img.manifest_digest().parse().unwrap();
        s.add(NewImage {
            id: id.clone(),
            target: Target {
                media_type: manifest::OCI_MANIFEST.into(),
                digest: manifest.clone(),
                size: img.manifest_size(),
            },
            manifest,
            size: img.layer_tar().len() as u64,
        })
        .unwrap();
        s.tag(&r("busybox"), &id).unwrap();
        assert_eq!(s.resolve("busybox").unwrap().id.to_string(), img.image_id());
        assert_eq!(
            s.resolve("busybox").unwrap().image_created.as_deref(),
            Some(fixture::CREATED)
        );
    }
}
