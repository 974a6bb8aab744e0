//! `docker export`: a tar of a container's merged filesystem (a mounted snapshot),
//! every file as it is seen there: no whiteouts, no overlay attributes. It is layer
//! diff's compare mode against an empty tree, so the output is deterministic (names
//! sorted bytewise, parents first) and streams without holding any file in memory.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Error, Result};
use crate::layer::{self, Compression, DiffStats};

/// An empty directory, removed on drop.
struct EmptyDir(PathBuf);

impl Drop for EmptyDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Writes the tree at `mounted_rootfs_dir` to `out` as an uncompressed tar.
pub fn export(mounted_rootfs_dir: &Path, out: impl Write) -> Result<DiffStats> {
    let template = std::env::temp_dir().join("berth-export-XXXXXX");
    let empty = nix::unistd::mkdtemp(&template)
        .map_err(|e| Error::Io { op: format!("create a temp directory in {}", std::env::temp_dir().display()), source: e.into() })?;
    let empty = EmptyDir(empty);
    Ok(layer::diff(mounted_rootfs_dir, Some(&empty.0), out, Compression::None)?)
}
