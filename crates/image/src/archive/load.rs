//! `docker load`: reads a `docker save` tarball (classic `manifest.json` +
//! `<id>/layer.tar` + `<config>.json`, legacy symlinked layers included, or Docker
//! 25+'s OCI layout with `manifest.json`) or an OCI archive (`oci-layout`,
//! `index.json`, `blobs/`), told apart by what they contain.
//!
//! Three phases. **Ingest**: one pass over the tar; each regular entry streams into
//! the content store while it is hashed (entries named `blobs/<alg>/<hex>` are
//! verified against their name), small metadata files are kept in memory, links are
//! recorded. Every committed blob is leased at once, so a concurrent GC cannot take
//! it. **Plan**: the manifests and configs are read and every layer is checked
//! against the config's `rootfs.diff_ids` (compressed layers are decompressed for
//! it, in parallel); docker-save images get a synthesized, deterministic OCI manifest.
//! **Commit**: image records are added, then tagged. Any failure before the commit
//! tags nothing; the blobs it stored are unreferenced and go at the next GC.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::paths::{self, MAX_PATH};
use super::tarball::{self, BUF, detect_compression, diff_id_of};
use super::{Error, Result, json, to_json};
use crate::content::ContentStore;
use crate::digest::Digest;
use crate::gc::Lease;
use crate::layer::Compression;
use crate::manifest::{self, Config, Index, Kind, Manifest, Platform};
use crate::metadata::{NewImage, Target};
use crate::reference::Reference;
use crate::store::Store;

/// Metadata files held in memory may be at most this large.
const MAX_METADATA: u64 = 16 << 20;
/// Most entries an archive may have.
const MAX_ENTRIES: usize = 1_000_000;
/// How long a load's lease protects its blobs if the process dies mid-load.
const LEASE_TTL: Duration = Duration::from_secs(6 * 60 * 60);

/// One image a load added: its ID and the tags it now has from the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub id: Digest,
    pub tags: Vec<Reference>,
}

/// A regular entry stored as a blob.
#[derive(Debug, Clone)]
struct Stored {
    digest: Digest,
    size: u64,
}

/// What the ingest pass saw.
#[derive(Default)]
struct Files {
    blobs: BTreeMap<String, Stored>,
    small: BTreeMap<String, Vec<u8>>,
    links: BTreeMap<String, String>,
}

/// A `manifest.json` item.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerItem {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Vec<String>,
    /// Foreign layers: diff_id → where to fetch them (their files are absent).
    #[serde(default)]
    layer_sources: Option<BTreeMap<Digest, SourceDesc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SourceDesc {
    media_type: String,
    size: u64,
    digest: Digest,
    #[serde(default)]
    urls: Option<Vec<String>>,
}

/// A descriptor as the synthesized manifest writes it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Desc {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
}

/// A minimal OCI image manifest, fields in a fixed order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OciManifest {
    pub schema_version: u32,
    pub media_type: &'static str,
    pub config: Desc,
    pub layers: Vec<Desc>,
}

/// An image ready to be added.
struct Planned {
    new: NewImage,
    tags: Vec<Reference>,
}

/// A compressed layer whose diff_id must be computed to be checked.
struct Check {
    image: Digest,
    path: String,
    index: usize,
    digest: Digest,
    compression: Compression,
    expected: Digest,
}

/// Loads every image in the archive read from `reader`; see the module docs.
pub fn load(store: &Store, reader: impl Read) -> Result<Vec<Loaded>> {
    let lease = store.leases().create("load", LEASE_TTL)?;
    let files = ingest(store.content(), &lease, reader)?;
    let mut plan = Plan { store, lease: &lease, files: &files, images: Vec::new(), checks: Vec::new() };
    if files.small.contains_key("index.json") {
        plan.oci()?;
    } else if files.small.contains_key("manifest.json") {
        plan.docker()?;
    } else {
        return Err(Error::NotAnArchive);
    }
    let Plan { images, checks, .. } = plan;
    verify(store.content(), checks)?;

    // Commit: records first, then tags, so a crash in between leaves untagged images.
    let mut out = Vec::with_capacity(images.len());
    for p in &images {
        store.images().add(p.new.clone())?;
    }
    for p in images {
        for t in &p.tags {
            store.images().tag(t, &p.new.id)?;
        }
        out.push(Loaded { id: p.new.id, tags: p.tags });
    }
    // Everything is referenced by image records now; a failure to remove the lease
    // file only delays collection until it expires.
    let _ = lease.release();
    Ok(out)
}

fn is_metadata(path: &str) -> bool {
    match path.split_once('/') {
        None => matches!(path, "manifest.json" | "index.json" | "oci-layout" | "repositories"),
        // A legacy layer directory's v1 `json` and `VERSION`.
        Some((_, name)) => !name.contains('/') && (name == "json" || name == "VERSION"),
    }
}

/// The digest an entry named `blobs/<alg>/<hex>` must have.
fn named_digest(path: &str) -> Option<Digest> {
    let rest = path.strip_prefix("blobs/")?;
    let (alg, hex) = rest.split_once('/')?;
    format!("{alg}:{hex}").parse().ok()
}

fn ingest(content: &ContentStore, lease: &Lease, reader: impl Read) -> Result<Files> {
    let mut files = Files::default();
    let mut archive = tar::Archive::new(reader);
    let mut buf = vec![0u8; BUF];
    let mut count = 0usize;
    for entry in archive.entries().map_err(Error::Read)? {
        let mut entry = entry.map_err(Error::Read)?;
        count += 1;
        if count > MAX_ENTRIES {
            return Err(Error::TooManyEntries(MAX_ENTRIES));
        }
        let raw = entry.path_bytes().into_owned();
        if raw.len() > MAX_PATH {
            return Err(Error::BadPath {
                path: String::from_utf8_lossy(&raw[..64]).into_owned() + "…",
                reason: format!("the name is longer than {MAX_PATH} bytes"),
            });
        }
        let path = paths::normalize(&raw)?;
        let kind = entry.header().entry_type();
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = entry.link_name_bytes().map(|t| t.into_owned()).unwrap_or_default();
                let to = paths::link_target(&path, &target, kind == tar::EntryType::Symlink)?;
                if path.is_empty() {
                    return Err(Error::BadLink { path, reason: "the archive root cannot be a link".into() });
                }
                files.blobs.remove(&path);
                files.small.remove(&path);
                files.links.insert(path, to);
                continue;
            }
            // Directories, devices, fifos: nothing a loader reads.
            _ => continue,
        }
        if path.is_empty() {
            return Err(Error::BadPath { path, reason: "a file cannot name the archive root".into() });
        }
        let size = entry.size();
        files.links.remove(&path);
        if is_metadata(&path) {
            if size > MAX_METADATA {
                return Err(Error::TooLarge { path, size, limit: MAX_METADATA });
            }
            let mut data = Vec::with_capacity(size as usize);
            entry.read_to_end(&mut data).map_err(Error::Read)?;
            files.blobs.remove(&path);
            files.small.insert(path, data);
            continue;
        }
        let expected = named_digest(&path).map(|d| (d, size));
        let mut w = content.writer(expected)?;
        tarball::copy(&mut entry, &mut w, &mut buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => Error::Invalid { file: path.clone(), reason: e.to_string() },
            _ => Error::Read(e),
        })?;
        let digest = w.commit().map_err(|e| Error::Invalid { file: path.clone(), reason: e.to_string() })?;
        lease.add(&digest)?;
        files.small.remove(&path);
        files.blobs.insert(path, Stored { digest, size });
    }
    Ok(files)
}

struct Plan<'a> {
    store: &'a Store,
    lease: &'a Lease,
    files: &'a Files,
    images: Vec<Planned>,
    checks: Vec<Check>,
}

impl Plan<'_> {
    fn content(&self) -> &ContentStore {
        self.store.content()
    }

    /// The blob at archive name `path` (following links), storing an in-memory
    /// metadata file on demand; `None` if the archive has no such file.
    fn blob(&self, path: &str) -> Result<Option<Stored>> {
        let real = paths::resolve(&self.files.links, &paths::normalize(path.as_bytes())?)?;
        if let Some(s) = self.files.blobs.get(&real) {
            return Ok(Some(s.clone()));
        }
        if let Some(bytes) = self.files.small.get(&real) {
            let digest = self.content().put_bytes(bytes)?;
            self.lease.add(&digest)?;
            return Ok(Some(Stored { digest, size: bytes.len() as u64 }));
        }
        Ok(None)
    }

    fn small(&self, name: &str) -> Option<&[u8]> {
        self.files.small.get(name).map(Vec::as_slice)
    }

    fn add(&mut self, new: NewImage, tags: Vec<Reference>) {
        if let Some(p) = self.images.iter_mut().find(|p| p.new.id == new.id) {
            for t in tags {
                if !p.tags.contains(&t) {
                    p.tags.push(t);
                }
            }
            return;
        }
        self.images.push(Planned { new, tags });
    }

    fn config(&self, digest: &Digest, file: &str) -> Result<Config> {
        let raw = self.content().read_bytes(digest)?;
        Config::parse_as(raw, digest).map_err(|source| Error::Format { what: format!("image config {file}"), source })
    }

    fn items(&self) -> Result<Vec<DockerItem>> {
        match self.small("manifest.json") {
            Some(raw) => json("manifest.json", raw),
            None => Ok(Vec::new()),
        }
    }

    /// A `docker save` archive: `manifest.json` names each image's files.
    fn docker(&mut self) -> Result<()> {
        for item in self.items()? {
            let missing = |path: &str| Error::MissingFile { path: path.to_string(), referenced_by: "manifest.json".into() };
            let cfg = self.blob(&item.config)?.ok_or_else(|| missing(&item.config))?;
            let config = self.config(&cfg.digest, &item.config)?;
            let diff_ids = &config.parsed().rootfs.diff_ids;
            if diff_ids.len() != item.layers.len() {
                return Err(Error::Invalid {
                    file: "manifest.json".into(),
                    reason: format!(
                        "image {} lists {} layers but its config has {} diff_ids",
                        cfg.digest,
                        item.layers.len(),
                        diff_ids.len()
                    ),
                });
            }
            let mut layers = Vec::with_capacity(diff_ids.len());
            let mut size = 0;
            for (index, (path, diff_id)) in item.layers.iter().zip(diff_ids).enumerate() {
                let Some(blob) = self.blob(path)? else {
                    // A foreign layer is not in the archive; its source is recorded.
                    match item.layer_sources.as_ref().and_then(|s| s.get(diff_id)) {
                        Some(src) if manifest::is_non_distributable(&src.media_type) => {
                            layers.push(Desc {
                                media_type: src.media_type.clone(),
                                digest: src.digest.clone(),
                                size: src.size,
                                urls: src.urls.clone().unwrap_or_default(),
                            });
                            continue;
                        }
                        _ => return Err(missing(path)),
                    }
                };
                size += blob.size;
                let compression = if blob.digest == *diff_id {
                    Compression::None
                } else {
                    let mut head = [0u8; 4];
                    let mut r = self.content().reader(&blob.digest)?;
                    let n = r.read(&mut head).map_err(Error::Read)?;
                    let c = detect_compression(&head[..n]);
                    if c == Compression::None {
                        return Err(Error::LayerMismatch(Box::new(super::Mismatch {
                            image: cfg.digest.clone(),
                            path: path.clone(),
                            index,
                            expected: diff_id.clone(),
                            actual: blob.digest.clone(),
                        })));
                    }
                    self.checks.push(Check {
                        image: cfg.digest.clone(),
                        path: path.clone(),
                        index,
                        digest: blob.digest.clone(),
                        compression: c,
                        expected: diff_id.clone(),
                    });
                    c
                };
                let media_type = match compression {
                    Compression::None => manifest::OCI_LAYER,
                    Compression::Gzip => manifest::OCI_LAYER_GZIP,
                    Compression::Zstd => manifest::OCI_LAYER_ZSTD,
                };
                layers.push(Desc { media_type: media_type.into(), digest: blob.digest, size: blob.size, urls: Vec::new() });
            }
            let manifest = OciManifest {
                schema_version: 2,
                media_type: manifest::OCI_MANIFEST,
                config: Desc { media_type: manifest::OCI_CONFIG.into(), digest: cfg.digest.clone(), size: cfg.size, urls: Vec::new() },
                layers,
            };
            let bytes = to_json(&manifest);
            let digest = self.content().put_bytes(&bytes)?;
            self.lease.add(&digest)?;
            let tags = parse_tags(item.repo_tags.as_deref().unwrap_or_default())?;
            let target = Target { media_type: manifest::OCI_MANIFEST.into(), digest: digest.clone(), size: bytes.len() as u64 };
            self.add(NewImage { id: cfg.digest, target, manifest: digest, size }, tags);
        }
        Ok(())
    }

    /// An OCI image layout: `index.json` names the images; Docker 25+ archives also
    /// carry `manifest.json`, whose RepoTags are added to the images they name.
    fn oci(&mut self) -> Result<()> {
        if let Some(raw) = self.small("oci-layout") {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Layout {
                image_layout_version: String,
            }
            let layout: Layout = json("oci-layout", raw)?;
            if !layout.image_layout_version.starts_with("1.") {
                return Err(Error::Invalid {
                    file: "oci-layout".into(),
                    reason: format!("image layout version {:?} is not supported (1.x is)", layout.image_layout_version),
                });
            }
        }
        let raw = self.small("index.json").unwrap_or_default().to_vec();
        let index = Index::parse(raw).map_err(|source| Error::Format { what: "index.json".into(), source })?;
        let mut docker_tags: HashMap<Digest, Vec<Reference>> = HashMap::new();
        for item in self.items()? {
            if let Some(cfg) = self.blob(&item.config)? {
                docker_tags.entry(cfg.digest).or_default().extend(parse_tags(item.repo_tags.as_deref().unwrap_or_default())?);
            }
        }
        let mut loaded = 0;
        for desc in index.manifests() {
            let Some(kind) = Kind::from_media_type(&desc.media_type) else { continue };
            let manifest_desc = if kind.is_index() {
                let nested = Index::parse_as(self.read(&desc.digest, "index.json")?, &desc.digest)
                    .map_err(|source| Error::Format { what: format!("index {}", desc.digest), source })?;
                let present: Vec<manifest::Descriptor> =
                    nested.manifests().iter().filter(|m| self.content().exists(&m.digest)).cloned().collect();
                manifest::platform::select_from(&present, &Platform::host())
                    .map_err(|source| Error::Format { what: format!("index {}", desc.digest), source })?
                    .clone()
            } else {
                desc.clone()
            };
            let m = Manifest::parse_as(self.read(&manifest_desc.digest, "index.json")?, &manifest_desc.digest)
                .map_err(|source| Error::Format { what: format!("manifest {}", manifest_desc.digest), source })?;
            let size = self.check_manifest(&m)?;
            let mut tags = names(&desc.annotations)?;
            for t in docker_tags.get(&m.config().digest).cloned().unwrap_or_default() {
                if !tags.contains(&t) {
                    tags.push(t);
                }
            }
            let target = Target { media_type: desc.media_type.clone(), digest: desc.digest.clone(), size: desc.size };
            self.add(NewImage { id: m.config().digest.clone(), target, manifest: m.digest().clone(), size }, tags);
            loaded += 1;
        }
        if loaded == 0 {
            return Err(Error::Invalid { file: "index.json".into(), reason: "it names no image manifest".into() });
        }
        Ok(())
    }

    /// A blob the archive (or the store) must have.
    fn read(&self, digest: &Digest, referenced_by: &str) -> Result<Vec<u8>> {
        if !self.content().exists(digest) {
            return Err(Error::MissingFile { path: blob_name(digest), referenced_by: referenced_by.into() });
        }
        Ok(self.content().read_bytes(digest)?)
    }

    /// Checks an OCI manifest's config and layers are present with the right sizes
    /// and queues the diff_id checks; returns the layers' total size.
    fn check_manifest(&mut self, m: &Manifest) -> Result<u64> {
        let by = format!("manifest {}", m.digest());
        let cfg = m.config();
        let config = Config::parse_as(self.read(&cfg.digest, &by)?, &cfg.digest)
            .map_err(|source| Error::Format { what: format!("image config {}", cfg.digest), source })?;
        let diff_ids = &config.parsed().rootfs.diff_ids;
        if diff_ids.len() != m.layers().len() {
            return Err(Error::Invalid {
                file: blob_name(m.digest()),
                reason: format!("the manifest lists {} layers but the config has {} diff_ids", m.layers().len(), diff_ids.len()),
            });
        }
        let mut total = 0;
        for (index, (l, diff_id)) in m.layers().iter().zip(diff_ids).enumerate() {
            if !self.content().exists(&l.digest) && manifest::is_non_distributable(&l.media_type) {
                continue;
            }
            let size = match self.content().info(&l.digest) {
                Ok(s) => s,
                Err(crate::content::Error::NotFound(_)) => {
                    return Err(Error::MissingFile { path: blob_name(&l.digest), referenced_by: by });
                }
                Err(e) => return Err(e.into()),
            };
            if size != l.size {
                return Err(Error::Invalid {
                    file: blob_name(&l.digest),
                    reason: format!("{by} says it has {} bytes, it has {size}", l.size),
                });
            }
            total += size;
            let compression = manifest::layer_compression(&l.media_type)
                .map_err(|source| Error::Format { what: format!("layer {index} of {by}"), source })?;
            if compression == Compression::None {
                if l.digest != *diff_id {
                    return Err(Error::LayerMismatch(Box::new(super::Mismatch {
                        image: cfg.digest.clone(),
                        path: blob_name(&l.digest),
                        index,
                        expected: diff_id.clone(),
                        actual: l.digest.clone(),
                    })));
                }
            } else {
                self.checks.push(Check {
                    image: cfg.digest.clone(),
                    path: blob_name(&l.digest),
                    index,
                    digest: l.digest.clone(),
                    compression,
                    expected: diff_id.clone(),
                });
            }
        }
        Ok(total)
    }
}

fn blob_name(d: &Digest) -> String {
    format!("blobs/{}/{}", d.algorithm().name(), d.hex())
}

fn parse_tags(tags: &[String]) -> Result<Vec<Reference>> {
    let mut out: Vec<Reference> = Vec::new();
    for t in tags {
        let r = Reference::parse(t)?;
        if r.digest().is_some() {
            return Err(Error::Invalid { file: "manifest.json".into(), reason: format!("RepoTags entry {t:?} is a digest reference") });
        }
        if !out.contains(&r) {
            out.push(r);
        }
    }
    Ok(out)
}

/// The name an OCI index entry gives its image: `io.containerd.image.name` (a full
/// reference), else `org.opencontainers.image.ref.name` when it is a whole reference
/// (`name:tag`) rather than a bare tag, which names no repository.
fn names(annotations: &BTreeMap<String, String>) -> Result<Vec<Reference>> {
    let full = annotations.get("io.containerd.image.name");
    let ref_name = annotations.get("org.opencontainers.image.ref.name");
    let chosen = match (full, ref_name) {
        (Some(f), _) => Some(f),
        (None, Some(r)) if r.contains([':', '/']) => Some(r),
        _ => None,
    };
    match chosen {
        None => Ok(Vec::new()),
        Some(n) => {
            let r = Reference::parse(n)?;
            Ok(if r.tag().is_some() && r.digest().is_none() { vec![r] } else { Vec::new() })
        }
    }
}

/// Runs the queued diff_id checks in parallel, each layer once.
fn verify(content: &ContentStore, mut checks: Vec<Check>) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    checks.retain(|c| seen.insert((c.digest.clone(), c.expected.clone())));
    tarball::parallel(checks, |c| {
        let (actual, _) = diff_id_of(content, &c.digest, c.compression)?;
        if actual != c.expected {
            return Err(Error::LayerMismatch(Box::new(super::Mismatch {
                image: c.image,
                path: c.path,
                index: c.index,
                expected: c.expected,
                actual,
            })));
        }
        Ok(())
    })?;
    Ok(())
}
