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
    /// A failure a container's process reported back; it already says what failed.
    #[error("{0}")]
    Container(Failure),
    #[error("unknown signal {0:?}")]
    UnknownSignal(String),
}

/// What kind of failure a container's process met before it ran its program: callers
/// report a missing or unrunnable program as Docker does (127, 126).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// The program does not exist (not on PATH, or no such file).
    NotFound,
    /// The program exists but may not be run.
    PermissionDenied,
    /// Anything else: a mount, a capability, a hook …
    Other,
}

/// A failure as it crosses from a container's process to the runtime: its kind and
/// its words.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Failure {
    pub fn other(message: impl Into<String>) -> Failure {
        Failure { kind: FailureKind::Other, message: message.into() }
    }
}

impl Error {
    /// The failure to send across: a process's own keeps its kind.
    pub fn to_failure(&self) -> Failure {
        match self {
            Error::Container(f) => f.clone(),
            e => Failure::other(e.to_string()),
        }
    }

    /// What kind of failure this is, for callers that report Docker's exit codes.
    pub fn failure_kind(&self) -> FailureKind {
        match self {
            Error::Container(f) => f.kind,
            _ => FailureKind::Other,
        }
    }

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
