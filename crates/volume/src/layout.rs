//! The names inside a volume's directory, shared by the store and its spares.

/// The volume's record.
pub(crate) const RECORD: &str = "volume.json";
/// What containers mount.
pub(crate) const DATA: &str = "_data";
