//! `docker commit`: a container's writable layer becomes the top layer of a new image
//! whose other layers are its image's. The layer is the snapshot's diff (whiteouts
//! for deletions, opaque directories, xattrs, hard links), streamed once into the
//! content store uncompressed, as Docker keeps a committed layer (it is compressed
//! when pushed); no second pass unpacks it, the snapshot is unpacked from the blob
//! only when the image is first run somewhere the container's layer is not.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};

use super::Result;
use super::load::Desc;
use crate::layer::Compression;
use crate::manifest::{self, ContainerConfig, History, ImageConfig, Platform};
use crate::metadata::Image;
use crate::reference::Reference;
use crate::store::Store;

const LEASE_TTL: Duration = Duration::from_secs(6 * 60 * 60);

/// sha256 of an empty layer (the tar end marker alone): an image history entry with
/// no layer, as Docker records a commit that changed nothing.
const EMPTY_LAYER: &str = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

/// What the new image says about itself.
pub struct Commit<'a> {
    /// The container's configuration (with the changes applied): the image's config.
    pub config: ContainerConfig,
    pub author: &'a str,
    pub comment: &'a str,
    /// The container's command, as its history entry records it.
    pub created_by: String,
    /// Empty files in the writable layer that are not changes ([`crate::layer::diff_with`]).
    pub stubs: &'a [&'a str],
    pub reference: Option<&'a Reference>,
}

/// Commits snapshot `key` (whose parent is `parent`'s top layer, or nothing) as a
/// new image; see the module docs.
pub fn commit(store: &Store, key: &str, parent: Option<&Image>, new: Commit<'_>) -> Result<Image> {
    let content = store.content();
    let lease = store.leases().create("commit", LEASE_TTL)?;
    let writer = content.writer(None)?;
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, writer);
    let stats = store.snapshots().diff_with(key, &mut writer, Compression::None, new.stubs)?;
    let writer = writer.into_inner().map_err(|e| super::Error::Write(e.into_error()))?;
    let layer = writer.commit()?;
    lease.add(&layer)?;

    let (mut config, mut layers, parent_size) = match parent {
        Some(p) => {
            let m = store.manifest(p)?;
            let layers = m.layers().iter().map(|l| Desc { media_type: l.media_type.clone(), digest: l.digest.clone(), size: l.size, urls: l.urls.clone() }).collect();
            (store.config(p)?.parsed().clone(), layers, p.size)
        }
        None => {
            let host = Platform::host();
            let config = ImageConfig { architecture: host.architecture, variant: host.variant, os: host.os, ..ImageConfig::default() };
            (config, Vec::new(), 0)
        }
    };
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true);
    let empty = stats.diff_id.to_string() == EMPTY_LAYER;
    if !empty {
        config.rootfs.diff_ids.push(stats.diff_id.clone());
        layers.push(Desc { media_type: manifest::OCI_LAYER.into(), digest: layer, size: stats.size, urls: Vec::new() });
    }
    let text = |s: &str| (!s.is_empty()).then(|| s.to_string());
    config.history.push(History {
        created: Some(now.clone()),
        created_by: Some(new.created_by),
        author: text(new.author),
        comment: text(new.comment),
        empty_layer: empty,
        ..History::default()
    });
    config.created = Some(now);
    config.author = text(new.author);
    config.comment = text(new.comment);
    config.config = Some(new.config);
    // What the parent's builder recorded about itself is not this image's.
    config.extra.remove("container");
    config.extra.remove("container_config");
    let size = parent_size + if empty { 0 } else { stats.tar_size };
    super::import::add_image(store, lease, &config, layers, size, new.reference)
}
