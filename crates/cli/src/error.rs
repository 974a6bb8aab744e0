//! What a command can fail with, how it is printed on stderr and the exit
//! status it gives, as docker does: an unreachable daemon is "Cannot connect to
//! the berth daemon at …. Is the berth daemon running?" (exit 1), daemon errors
//! are "Error response from daemon: …" (exit 1), usage errors exit 125, and a
//! command may choose its own status ([`CliError::Status`], docker's
//! `StatusError`, e.g. 64 for a bad `--format` of `version`/`info`/`events`).

use crate::format::{FormatError, TemplateError};

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A message (may be empty: nothing is printed) and an exit status.
    #[error("{message}")]
    Status { code: u8, message: String },
    #[error("Cannot connect to the berth daemon at {host}. Is the berth daemon running?")]
    Connect { host: String },
    #[error(transparent)]
    Client(api::ClientError),
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A local failure of `cp`, in docker's words.
    #[error(transparent)]
    Copy(#[from] crate::commands::container::cp::CopyError),
    /// Any other failure, already worded.
    #[error("{0}")]
    Other(String),
}

impl From<api::ClientError> for CliError {
    fn from(e: api::ClientError) -> Self {
        match e {
            api::ClientError::Connect { path, .. } => CliError::Connect { host: format!("unix://{}", path.display()) },
            other => CliError::Client(other),
        }
    }
}

impl CliError {
    /// A failure with a specific exit status.
    pub fn status(code: u8, message: impl Into<String>) -> Self {
        CliError::Status { code, message: message.into() }
    }

    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Status { code, .. } => *code,
            _ => 1,
        }
    }

    /// Whether this is stdout going away (`berth events | head -1`), which ends
    /// a command quietly.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CliError::Io(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;
