//! Tests of layer apply and diff against the real kernel (they need root: chown,
//! mknod, trusted.* xattrs, overlay mounts). Every test works in its own temp dir,
//! removed on drop; every mount is held by a guard that unmounts it on drop.

mod apply_tests;
mod attacks;
mod diff;

use std::io::Write;
use std::path::Path;

use super::{ApplyOptions, ApplyStats, Compression, Result, WhiteoutMode};

pub(crate) fn apply_tar(tar: &[u8], dir: &Path, opts: &ApplyOptions) -> Result<ApplyStats> {
    super::apply(tar, Compression::None, dir, opts)
}

pub(crate) fn delete_mode() -> ApplyOptions {
    ApplyOptions { whiteouts: WhiteoutMode::Delete, ..ApplyOptions::default() }
}

pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

pub(crate) fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 3).expect("zstd")
}
