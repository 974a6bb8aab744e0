//! The runtime's error type: every variant says what failed and on what.

use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid container id {0:?}: use 1-1024 characters from [A-Za-z0-9_+.-], not \".\" or \"..\"")]
    InvalidId(String),
    #[error("container with id {0:?} already exists")]
    AlreadyExists(String),
    #[error("container {0:?} does not exist")]
    NotFound(String),
    #[error("container {id:?} is {status}; {action} needs it {wanted}")]
    WrongState { id: String, status: String, action: &'static str, wanted: &'static str },
    #[error("bundle {0}: config.json not found")]
    MissingConfig(PathBuf),
    #[error("{path}: invalid config: {reason}")]
    InvalidConfig { path: PathBuf, reason: String },
    #[error("invalid spec: {0}")]
    InvalidSpec(String),
    #[error("{context}: {source}")]
    Io { context: String, #[source] source: std::io::Error },
    #[error("{context}: {source}")]
    Sys { context: String, #[source] source: nix::Error },
    #[error("cgroup: {0}")]
    Cgroup(#[from] cgroups::Error),
    #[error("seccomp: {0}")]
    Seccomp(String),
    #[error("capabilities: {0}")]
    Capabilities(String),
    #[error("hook {path}: {reason}")]
    Hook { path: PathBuf, reason: String },
    #[error("state of container {id:?}: {reason}")]
    CorruptState { id: String, reason: String },
    #[error("container init: {0}")]
    Init(String),
    /// An error a container's process reported back; it already says what failed.
    #[error("{0}")]
    Container(String),
    #[error("unknown signal {0:?}")]
    UnknownSignal(String),
}

impl Error {
    /// Wraps an I/O error with what was being done, for messages like
    /// `create cgroup /sys/fs/cgroup/memory/x: Permission denied`.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }

    pub fn sys(context: impl Into<String>) -> impl FnOnce(nix::Error) -> Error {
        let context = context.into();
        move |source| Error::Sys { context, source }
    }
}
