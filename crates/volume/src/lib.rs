//! Named volumes of the local driver: data that outlives containers.
//!
//! - [`store`]: the volumes on disk, `<root>/<name>/_data` with the volume's record
//!   beside it, made and removed so that a crash at any moment leaves either the
//!   whole volume or nothing a user sees; a removed volume's directory is emptied
//!   and kept, a spare for the next create;
//! - [`copy_up`]: a new, empty volume filled with the image's content at the path it
//!   is mounted on (Docker's copy-up), ownership, modes and links kept, never
//!   following a link out of either tree;
//! - [`mounts`]: a volume made with mount options (tmpfs, a bind, a device, NFS)
//!   mounted on its data directory while containers use it;
//! - [`subpath`]: a path inside a volume, resolved so that it never leads out of it.

mod background;
pub mod copy_up;
mod error;
mod layout;
pub mod mounts;
mod spares;
pub mod store;
pub mod subpath;

pub use error::{Error, Result};
pub use store::{Store, Volume};
