//! Image archives in and out of the [`Store`]: `docker load` ([`load`]) of `docker
//! save` tarballs (the classic layout and Docker 25+'s OCI-layout variant) and of OCI
//! archives; `docker save` ([`save`]) in the classic Docker layout or as an OCI image
//! layout; `docker import` ([`import`]) of a root filesystem tarball as a one-layer
//! image with Dockerfile-style changes; and `docker export` ([`export`]) of a
//! container's mounted filesystem.
//!
//! Archives are untrusted and streamed: every entry goes straight into the content
//! store while being hashed (only small metadata files are held in memory), and
//! archive paths are only ever keys in a map, never filesystem paths, so an entry
//! named `../x` cannot reach anything. Nothing is tagged before every blob an image
//! needs is committed and verified.

mod changes;
mod commit;
mod export;
mod import;
mod load;
mod paths;
mod save;
mod tarball;
mod url;

#[cfg(test)]
mod tests;


use std::io;

use crate::digest::Digest;
use crate::{content, gc, layer, manifest, metadata, reference, store};

pub use changes::{Change, apply_changes, parse_change};
pub use commit::{Commit, commit};
pub use export::export;
pub use import::import;
pub use load::{Loaded, load};
pub use save::{Format, save};
pub use tarball::detect_compression;
pub use url::fetch;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "not an image archive: it has neither manifest.json (docker save) nor index.json (OCI image layout)"
    )]
    NotAnArchive,
    #[error("archive entry {path:?} refused: {reason}")]
    BadPath { path: String, reason: String },
    #[error("archive entry {path:?} is {size} bytes; metadata files may be at most {limit} bytes")]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error("the archive has more than {0} entries")]
    TooManyEntries(usize),
    #[error("{referenced_by} references {path:?}, which is not in the archive")]
    MissingFile { path: String, referenced_by: String },
    #[error("archive link {path:?}: {reason}")]
    BadLink { path: String, reason: String },
    #[error("{file}: invalid JSON: {source}")]
    Json {
        file: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{file}: {reason}")]
    Invalid { file: String, reason: String },
    #[error(
        "layer {:?} of image {} does not match its config: its diff_id is {}, the config's rootfs.diff_ids[{}] is {}; the archive is corrupt, nothing was tagged",
        .0.path, .0.image, .0.actual, .0.index, .0.expected
    )]
    LayerMismatch(Box<Mismatch>),
    #[error("{what}: {source}")]
    Format {
        what: String,
        #[source]
        source: manifest::Error,
    },
    #[error("import from {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("{0} is not a valid change command")]
    InvalidChange(String),
    #[error("invalid change {change:?}: {reason}")]
    BadChange { change: String, reason: String },
    #[error(transparent)]
    Content(#[from] content::Error),
    #[error(transparent)]
    Images(#[from] metadata::Error),
    #[error(transparent)]
    Store(Box<store::Error>),
    #[error(transparent)]
    Gc(#[from] gc::Error),
    #[error(transparent)]
    Snapshot(#[from] crate::snapshot::Error),
    #[error(transparent)]
    Reference(#[from] reference::Error),
    #[error("exporting the filesystem: {0}")]
    Layer(#[from] layer::Error),
    #[error("reading the archive: {0}")]
    Read(#[source] io::Error),
    #[error("writing the archive: {0}")]
    Write(#[source] io::Error),
    #[error("{op}: {source}")]
    Io {
        op: String,
        #[source]
        source: io::Error,
    },
}

/// A layer whose content is not the one its image config names.
#[derive(Debug)]
pub struct Mismatch {
    pub image: Digest,
    /// The archive entry (or blob) holding the layer.
    pub path: String,
    pub index: usize,
    pub expected: Digest,
    pub actual: Digest,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<store::Error> for Error {
    fn from(e: store::Error) -> Error {
        Error::Store(Box::new(e))
    }
}

fn json<T: serde::de::DeserializeOwned>(file: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|source| Error::Json { file: file.to_string(), source })
}

/// Plain data (strings, maps, lists) always encodes.
fn to_json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}
