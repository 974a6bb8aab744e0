//! berth's image store, as three small parts that never reach into each other
//! (containerd's split): the *content store* (blobs by digest), the *snapshotter*
//! (unpacked layers keyed by chain id, overlayfs, shared), and *image metadata*
//! (references → manifests). Formats, layer apply/diff and archives sit between;
//! [`store::Store`] opens all of them under one data root and does what needs more
//! than one (unpacking an image, sizes, container snapshots, collecting garbage), and
//! [`archive`] moves images in and out as `docker save`/OCI archives and tarballs.
//!
//! Each module has its own error enum and `Result`.

pub mod archive;
pub mod content;
pub mod digest;
pub mod gc;
pub mod layer;
pub mod manifest;
pub mod metadata;
pub mod reference;
pub mod snapshot;
pub mod store;

pub use content::ContentStore;
pub use digest::{Digest, chain_ids};
pub use metadata::ImageStore;
pub use reference::Reference;
pub use snapshot::Snapshotter;
pub use store::Store;
