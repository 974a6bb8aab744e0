//! `docker save`: one or more images, named by tag, repository or ID, written as
//!
//! * [`Format::Docker`]: the classic layout Docker 20.10's `docker load` reads —
//!   `manifest.json` (Config, RepoTags, Layers), `repositories`, `<config hex>.json`
//!   and per layer `<layer id>/{VERSION,json,layer.tar}` with the layer *uncompressed*
//!   (gzip and zstd blobs are decompressed while streaming, after a first pass that
//!   measures them and checks their diff_id). A layer directory is named by the
//!   layer's chain id, so layers shared between saved images are written once.
//! * [`Format::Oci`]: an OCI image layout (`oci-layout`, `index.json`, `blobs/`), the
//!   blobs copied verbatim, so digests survive a load → save → load.
//!
//! Output is deterministic: entries sorted by name, fixed owner, modes and mtime.
//! A bare repository name saves every tag of it; a tag saves that tag; an ID saves
//! the image without tags (as Docker does).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use serde::Serialize;

use super::tarball::{TarOut, decoder, diff_id_of};
use super::{Error, Result, to_json};
use crate::content::ContentStore;
use crate::digest::{Digest, chain_ids};
use crate::layer::Compression;
use crate::manifest::{self, Index, Kind, Manifest, Platform};
use crate::metadata::Image;
use crate::reference::Reference;
use crate::store::Store;

/// The archive layout [`save`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Docker,
    Oci,
}

/// What goes into the archive at one name.
enum Source {
    Dir,
    Bytes(Vec<u8>),
    /// A stored blob, decompressed with `compression`, `size` bytes once decompressed.
    Blob { digest: Digest, compression: Compression, size: u64 },
}

/// Writes `names`' images to `out` in `format`; see the module docs.
pub fn save(store: &Store, names: &[&str], format: Format, out: impl Write) -> Result<()> {
    let selection = select(store, names)?;
    let entries = match format {
        Format::Docker => docker_entries(store, &selection)?,
        Format::Oci => oci_entries(store, &selection)?,
    };
    let mut tar = TarOut::new(out);
    for (path, source) in entries {
        match source {
            Source::Dir => tar.dir(&path)?,
            Source::Bytes(b) => tar.bytes(&path, &b)?,
            Source::Blob { digest, compression, size } => {
                let file = store.content().reader(&digest)?;
                let mut r = decoder(file, compression).map_err(Error::Read)?;
                tar.stream(&path, size, &mut r)?;
            }
        }
    }
    tar.finish()?;
    Ok(())
}

/// The images to save, in the order first named, each with the tags to record.
fn select(store: &Store, names: &[&str]) -> Result<Vec<(Image, Vec<Reference>)>> {
    let images = store.images();
    let mut out: Vec<(Image, Vec<Reference>)> = Vec::new();
    let mut push = |img: Image, tag: Option<Reference>| {
        let i = match out.iter().position(|(o, _)| o.id == img.id) {
            Some(i) => i,
            None => {
                out.push((img, Vec::new()));
                out.len() - 1
            }
        };
        if let Some(t) = tag
            && !out[i].1.contains(&t)
        {
            out[i].1.push(t);
        }
    };
    for name in names {
        let named = Reference::parse_named(name).ok();
        // A bare repository name: every tag in it.
        if let Some(r) = named.as_ref().filter(|r| r.tag().is_none() && r.digest().is_none()) {
            let repo = r.repository();
            let mut tagged: Vec<(Reference, Image)> = images
                .all()
                .into_iter()
                .flat_map(|img| {
                    img.repo_tags.iter().filter(|t| t.repository() == repo).map(|t| (t.clone(), img.clone())).collect::<Vec<_>>()
                })
                .collect();
            if !tagged.is_empty() {
                tagged.sort_by_key(|(t, _)| t.full());
                for (t, img) in tagged {
                    push(img, Some(t));
                }
                continue;
            }
        }
        let img = images.resolve(name)?;
        let tag = named
            .filter(|r| r.tag().is_some() && r.digest().is_none())
            .filter(|r| img.repo_tags.contains(r));
        push(img, tag);
    }
    Ok(out)
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerItem {
    config: String,
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

#[derive(Serialize)]
struct V1Json<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<&'a str>,
    created: &'a str,
    os: &'a str,
}

fn docker_entries(store: &Store, selection: &[(Image, Vec<Reference>)]) -> Result<BTreeMap<String, Source>> {
    let content = store.content();
    let mut entries: BTreeMap<String, Source> = BTreeMap::new();
    let mut items = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (img, tags) in selection {
        let config = store.config(img)?;
        let manifest = store.manifest(img)?;
        let parsed = config.parsed();
        let diff_ids = &parsed.rootfs.diff_ids;
        if diff_ids.len() != manifest.layers().len() {
            return Err(store_err(crate::store::Error::LayerCount {
                id: img.id.clone(),
                manifest: manifest.layers().len(),
                config: diff_ids.len(),
            }));
        }
        let created = parsed.created.as_deref().unwrap_or("1970-01-01T00:00:00Z");
        let ids: Vec<String> = chain_ids(diff_ids).iter().map(|c| c.hex().to_string()).collect();
        let mut layer_files = Vec::with_capacity(ids.len());
        for (i, (desc, diff_id)) in manifest.layers().iter().zip(diff_ids).enumerate() {
            let id = &ids[i];
            let file = format!("{id}/layer.tar");
            layer_files.push(file.clone());
            if entries.contains_key(&file) {
                continue;
            }
            let source = layer_source(content, &img.id, i, desc, diff_id)?;
            let v1 = V1Json { id, parent: i.checked_sub(1).map(|p| ids[p].as_str()), created, os: &parsed.os };
            entries.insert(id.clone(), Source::Dir);
            entries.insert(format!("{id}/VERSION"), Source::Bytes(b"1.0".to_vec()));
            entries.insert(format!("{id}/json"), Source::Bytes(to_json(&v1)));
            entries.insert(file, source);
        }
        let config_file = format!("{}.json", img.id.hex());
        entries.insert(config_file.clone(), Source::Bytes(config.raw().to_vec()));
        let mut familiar: Vec<&Reference> = tags.iter().collect();
        familiar.sort_by_key(|t| t.full());
        if let Some(top) = ids.last() {
            for t in &familiar {
                if let Some(tag) = t.tag() {
                    repositories.entry(t.familiar_repository()).or_default().insert(tag.to_string(), top.clone());
                }
            }
        }
        let repo_tags: Vec<String> = familiar.iter().map(|t| t.familiar()).collect();
        items.push(DockerItem {
            config: config_file,
            repo_tags: (!repo_tags.is_empty()).then_some(repo_tags),
            layers: layer_files,
        });
    }
    entries.insert("manifest.json".into(), Source::Bytes(to_json(&items)));
    if !repositories.is_empty() {
        entries.insert("repositories".into(), Source::Bytes(to_json(&repositories)));
    }
    Ok(entries)
}

fn store_err(e: crate::store::Error) -> Error {
    e.into()
}

/// How layer `i` is written as an uncompressed `layer.tar`, after checking that it
/// really is the layer the config names.
fn layer_source(
    content: &ContentStore,
    image: &Digest,
    i: usize,
    desc: &manifest::Descriptor,
    diff_id: &Digest,
) -> Result<Source> {
    if !content.exists(&desc.digest) {
        let e = if manifest::is_non_distributable(&desc.media_type) {
            crate::store::Error::ForeignLayer {
                id: image.clone(),
                index: i,
                digest: desc.digest.clone(),
                media_type: desc.media_type.clone(),
                urls: desc.urls.join(", "),
            }
        } else {
            crate::store::Error::MissingLayer { id: image.clone(), index: i, digest: desc.digest.clone() }
        };
        return Err(store_err(e));
    }
    let compression = manifest::layer_compression(&desc.media_type)
        .map_err(|source| Error::Format { what: format!("layer {i} of image {image}"), source })?;
    let (actual, size) = match compression {
        // The blob's digest is its diff_id: checked when it was committed.
        Compression::None => (desc.digest.clone(), content.info(&desc.digest)?),
        c => diff_id_of(content, &desc.digest, c)?,
    };
    if actual != *diff_id {
        return Err(Error::LayerMismatch(Box::new(super::Mismatch {
            image: image.clone(),
            path: format!("layer {i} ({})", desc.digest),
            index: i,
            expected: diff_id.clone(),
            actual,
        })));
    }
    Ok(Source::Blob { digest: desc.digest.clone(), compression, size })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IndexJson {
    schema_version: u32,
    media_type: &'static str,
    manifests: Vec<IndexEntry>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct IndexEntry {
    media_type: String,
    digest: Digest,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform: Option<Platform>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

fn oci_entries(store: &Store, selection: &[(Image, Vec<Reference>)]) -> Result<BTreeMap<String, Source>> {
    let content = store.content();
    let mut blobs: BTreeSet<Digest> = BTreeSet::new();
    let mut manifests = Vec::new();
    for (img, tags) in selection {
        let (entry, needed) = oci_target(store, img)?;
        blobs.extend(needed);
        let mut sorted: Vec<&Reference> = tags.iter().collect();
        sorted.sort_by_key(|t| t.full());
        if sorted.is_empty() {
            manifests.push(entry);
            continue;
        }
        for t in sorted {
            let annotations = BTreeMap::from([
                ("io.containerd.image.name".to_string(), t.full()),
                ("org.opencontainers.image.ref.name".to_string(), t.tag().unwrap_or("latest").to_string()),
            ]);
            manifests.push(IndexEntry { annotations, ..entry.clone() });
        }
    }
    let mut entries = BTreeMap::new();
    entries.insert("blobs".to_string(), Source::Dir);
    for d in &blobs {
        entries.insert(format!("blobs/{}", d.algorithm().name()), Source::Dir);
        let size = content.info(d)?;
        entries.insert(
            format!("blobs/{}/{}", d.algorithm().name(), d.hex()),
            Source::Blob { digest: d.clone(), compression: Compression::None, size },
        );
    }
    let index = IndexJson { schema_version: 2, media_type: manifest::OCI_INDEX, manifests };
    entries.insert("index.json".into(), Source::Bytes(to_json(&index)));
    entries.insert("oci-layout".into(), Source::Bytes(OCI_LAYOUT.to_vec()));
    Ok(entries)
}

/// The index entry for an image and every blob it needs: its pulled index when every
/// manifest that index names is here in full, else its platform manifest alone.
fn oci_target(store: &Store, img: &Image) -> Result<(IndexEntry, Vec<Digest>)> {
    let content = store.content();
    let manifest = store.manifest(img)?;
    if Kind::from_media_type(&img.target.media_type).is_some_and(Kind::is_index)
        && let Ok(raw) = content.read_bytes(&img.target.digest)
        && let Ok(index) = Index::parse_as(raw, &img.target.digest)
    {
        let mut needed = vec![img.target.digest.clone()];
        let mut complete = true;
        for child in index.manifests() {
            match content.read_bytes(&child.digest).ok().and_then(|raw| Manifest::parse_as(raw, &child.digest).ok()) {
                Some(m) if manifest_blobs(content, &m).is_some() => {
                    needed.push(child.digest.clone());
                    needed.extend(manifest_blobs(content, &m).unwrap_or_default());
                }
                _ => {
                    complete = false;
                    break;
                }
            }
        }
        if complete {
            let entry = IndexEntry {
                media_type: img.target.media_type.clone(),
                digest: img.target.digest.clone(),
                size: content.info(&img.target.digest)?,
                platform: None,
                annotations: BTreeMap::new(),
            };
            return Ok((entry, needed));
        }
    }
    let mut needed = vec![manifest.digest().clone()];
    match manifest_blobs(content, &manifest) {
        Some(b) => needed.extend(b),
        None => {
            let missing = manifest
                .layers()
                .iter()
                .enumerate()
                .find(|(_, l)| !content.exists(&l.digest))
                .map(|(i, l)| (i, l.digest.clone()))
                .unwrap_or((0, manifest.config().digest.clone()));
            return Err(store_err(crate::store::Error::MissingLayer { id: img.id.clone(), index: missing.0, digest: missing.1 }));
        }
    }
    let config = store.config(img)?;
    let p = config.parsed();
    let platform = (!p.os.is_empty() && !p.architecture.is_empty()).then(|| Platform {
        os: p.os.clone(),
        architecture: p.architecture.clone(),
        variant: p.variant.clone(),
    });
    let entry = IndexEntry {
        media_type: manifest.media_type().to_string(),
        digest: manifest.digest().clone(),
        size: manifest.raw().len() as u64,
        platform,
        annotations: BTreeMap::new(),
    };
    Ok((entry, needed))
}

/// A manifest's config and layers, if all are in the store.
fn manifest_blobs(content: &ContentStore, m: &Manifest) -> Option<Vec<Digest>> {
    let all: Vec<Digest> = std::iter::once(m.config()).chain(m.layers()).map(|d| d.digest.clone()).collect();
    all.iter().all(|d| content.exists(d)).then_some(all)
}
