//! Layer tarballs ↔ directories. This module owns the two conversions between an OCI
//! layer (a tar stream, optionally gzip- or zstd-compressed) and a directory on disk:
//!
//! * [`apply()`] unpacks one layer into a snapshot's directory, treating the tarball as
//!   hostile: every path is resolved *inside* the target with `openat2(RESOLVE_IN_ROOT)`
//!   and every file is created with `*at()` syscalls relative to that resolved parent,
//!   so no entry can create, modify or chmod anything outside the target. OCI whiteouts
//!   become overlayfs whiteouts, or deletions for the copying snapshotter.
//! * [`diff()`] turns an overlay upper directory (or a full tree compared against its
//!   lower tree) back into a deterministic OCI layer tar.
//!
//! Both compute the layer's `diff_id` (sha256 of the uncompressed tar) while streaming;
//! neither ever holds a whole layer in memory.

pub mod apply;
pub mod diff;
mod entries;
mod stream;
pub(crate) mod sys;
mod whiteout;
mod writer;

#[cfg(test)]
pub(crate) mod testutil;
#[cfg(test)]
mod tests;

use std::io;

use serde::{Deserialize, Serialize};

pub use apply::{ApplyOptions, ApplyStats, IdRemap, WhiteoutMode, apply, apply_in};
pub use diff::{DiffStats, PackStats, diff, diff_with, pack};

/// How a layer blob is compressed. The caller maps OCI media types to this
/// (`…tar` → `None`, `…tar+gzip` → `Gzip`, `…tar+zstd` → `Zstd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// Errors of layer apply and diff. Every error about one tar entry names the entry.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The entry is unsafe or malformed and was not applied; the whole apply stops and
    /// the caller discards the partial directory.
    #[error("layer entry {entry:?} refused: {reason}")]
    Refused { entry: String, reason: String },
    /// A syscall failed while applying one entry.
    #[error("layer entry {entry:?}: {op}: {source}")]
    Entry {
        entry: String,
        op: String,
        #[source]
        source: io::Error,
    },
    /// The layer stream itself could not be read (decompression, tar framing).
    #[error("reading layer stream: {0}")]
    Stream(#[source] io::Error),
    /// Writing the produced layer failed.
    #[error("writing layer stream: {0}")]
    Write(#[source] io::Error),
    /// Any other filesystem error, with what was being done.
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
