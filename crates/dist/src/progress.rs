//! What a pull reports as it goes, in Docker's steps: the daemon turns each into a
//! line of the Engine API's JSON message stream, the CLI into a bar.

/// One step of a pull. `id` is a layer's short id: the first 12 hex digits of its
/// blob's digest, as Docker shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The manifest is resolved: pulling `repository` (its familiar name) for `tag`
    /// (or the digest asked for).
    Resolved { tag: String, repository: String },
    /// This layer is unpacked already (by another image).
    AlreadyExists { id: String },
    /// This layer is to be fetched.
    PullingFsLayer { id: String },
    /// Queued behind the layers being fetched.
    Waiting { id: String },
    Downloading { id: String, current: u64, total: u64 },
    /// A broken download is tried again (`attempt` of the most), from where it broke.
    Retrying { id: String, attempt: u32, reason: String },
    VerifyingChecksum { id: String },
    DownloadComplete { id: String },
    /// Unpacked and installed as a snapshot.
    PullComplete { id: String },
}

/// A layer's short id, from its digest.
pub fn short_id(digest: &image::Digest) -> String {
    digest.hex().chars().take(12).collect()
}
