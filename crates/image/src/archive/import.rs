//! `docker import`: a root filesystem tarball (plain, gzip or zstd) becomes a
//! one-layer image. One streaming pass decompresses the input, checks it is a tar
//! whose names stay inside the root, hashes it (the layer's diff_id) and re-compresses
//! it with gzip into the content store. The config gets the host's OS and
//! architecture, the `--change` instructions, and a history entry with the message
//! as its comment and an empty `created_by`, as Docker writes.

use std::io::{self, Read, Write};
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use flate2::write::GzEncoder;

use super::changes::apply_changes;
use super::load::{Desc, OciManifest};
use super::tarball::{BUF, copy, decoder};
use super::{Error, Result, to_json};
use crate::content::Writer;
use crate::digest::{Algorithm, Hasher};
use crate::layer::Compression;
use crate::manifest::{self, ContainerConfig, History, ImageConfig, Platform, RootFs};
use crate::metadata::{Image, NewImage, Target};
use crate::reference::Reference;
use crate::store::Store;

const LEASE_TTL: Duration = Duration::from_secs(6 * 60 * 60);

/// Everything read through it is hashed and written to the compressor; a write
/// failure is kept and reported as the read error.
struct Tee<R> {
    inner: R,
    hasher: Hasher,
    size: u64,
    out: GzEncoder<Writer>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        self.out.write_all(&buf[..n]).map_err(|e| io::Error::other(format!("storing the layer: {e}")))?;
        Ok(n)
    }
}

/// Imports `rootfs_tar` (compressed with `compression`) as a new image; see the
/// module docs. `changes` are applied in order; `reference`, if given, tags it.
pub fn import(
    store: &Store,
    rootfs_tar: impl Read,
    compression: Compression,
    changes: &[String],
    message: &str,
    reference: Option<&Reference>,
) -> Result<Image> {
    // Refuse bad changes before reading (and storing) anything.
    let mut container = ContainerConfig::default();
    apply_changes(&mut container, changes)?;
    let content = store.content();
    let lease = store.leases().create("import", LEASE_TTL)?;

    let writer = content.writer(None)?;
    let input = decoder(rootfs_tar, compression).map_err(Error::Read)?;
    let mut tee = Tee {
        inner: io::BufReader::with_capacity(BUF, input),
        hasher: Algorithm::Sha256.hasher(),
        size: 0,
        out: GzEncoder::new(writer, flate2::Compression::default()),
    };
    check_tar(&mut tee)?;
    let Tee { hasher, size, out, .. } = tee;
    let diff_id = hasher.finish();
    let writer = out.finish().map_err(Error::Write)?;
    let layer_size = writer.offset();
    let layer = writer.commit()?;
    lease.add(&layer)?;

    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true);
    let host = Platform::host();
    let comment = (!message.is_empty()).then(|| message.to_string());
    let config = ImageConfig {
        created: Some(now.clone()),
        architecture: host.architecture,
        variant: host.variant,
        os: host.os,
        config: Some(container),
        rootfs: RootFs { diff_ids: vec![diff_id], ..RootFs::default() },
        history: vec![History {
            created: Some(now),
            created_by: Some(String::new()),
            comment: comment.clone(),
            ..History::default()
        }],
        comment,
        ..ImageConfig::default()
    };
    let layers = vec![Desc { media_type: manifest::OCI_LAYER_GZIP.into(), digest: layer, size: layer_size, urls: Vec::new() }];
    add_image(store, lease, &config, layers, size, reference)
}

/// Stores `config` and an OCI manifest of it and `layers` (their blobs already in the
/// content store, under `lease`), adds the image (`size` bytes) and tags it; the
/// lease ends once the image's record references everything.
pub(super) fn add_image(
    store: &Store,
    lease: crate::gc::Lease,
    config: &ImageConfig,
    layers: Vec<Desc>,
    size: u64,
    reference: Option<&Reference>,
) -> Result<Image> {
    let content = store.content();
    let config_bytes = to_json(config);
    let id = content.put_bytes(&config_bytes)?;
    lease.add(&id)?;
    let m = OciManifest {
        schema_version: 2,
        media_type: manifest::OCI_MANIFEST,
        config: Desc { media_type: manifest::OCI_CONFIG.into(), digest: id.clone(), size: config_bytes.len() as u64, urls: Vec::new() },
        layers,
    };
    let manifest_bytes = to_json(&m);
    let manifest = content.put_bytes(&manifest_bytes)?;
    lease.add(&manifest)?;
    let target = Target { media_type: manifest::OCI_MANIFEST.into(), digest: manifest.clone(), size: manifest_bytes.len() as u64 };
    let mut img = store.images().add(NewImage { id: id.clone(), target, manifest, size })?;
    if let Some(r) = reference {
        store.images().tag(r, &id)?;
        img = store.images().get(&id).unwrap_or(img);
    }
    // The record references everything now; see load.
    let _ = lease.release();
    Ok(img)
}

/// Reads the whole tar (entries, their data, the end-of-archive padding) so all of
/// it passes through the tee, refusing what is not a tar or names a path outside the
/// root.
fn check_tar<R: Read>(tee: &mut Tee<R>) -> Result<()> {
    let mut buf = vec![0u8; BUF];
    {
        let mut archive = tar::Archive::new(&mut *tee);
        let not_tar = |e: io::Error| Error::Invalid { file: "the imported tarball".into(), reason: format!("not a valid tar: {e}") };
        for entry in archive.entries().map_err(not_tar)? {
            let mut entry = entry.map_err(not_tar)?;
            let path = entry.path_bytes().into_owned();
            crate::layer::apply::clean(&path).map_err(|reason| Error::BadPath {
                path: String::from_utf8_lossy(&path).into_owned(),
                reason,
            })?;
            copy(&mut entry, &mut io::sink(), &mut buf).map_err(not_tar)?;
        }
    }
    copy(tee, &mut io::sink(), &mut buf).map_err(Error::Read)?;
    Ok(())
}
