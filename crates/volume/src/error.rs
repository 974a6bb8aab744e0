//! The volume store's errors.

/// Why a volume operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no such volume: {0}")]
    NotFound(String),
    #[error("create {0}: {0:?} includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path")]
    InvalidName(String),
    #[error("invalid option key: {0:?}")]
    InvalidOption(String),
    #[error("missing required option: {0:?}")]
    MissingOption(String),
    #[error("error while mounting volume '{path}': {reason}")]
    Mount { path: String, reason: String },
    #[error("volume {0}: {1}")]
    Io(String, std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
