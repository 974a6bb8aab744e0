//! berth's image store, as three small parts that never reach into each other
//! (containerd's split): the *content store* (blobs by digest), the *snapshotter*
//! (unpacked layers keyed by chain id, overlayfs, shared), and *image metadata*
//! (references → manifests). Formats, layer apply/diff and archives sit between.
//!
//! Each module has its own error enum and `Result`.

pub mod digest;
pub mod reference;

pub use digest::{Digest, chain_ids};
