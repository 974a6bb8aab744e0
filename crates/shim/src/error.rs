//! The library's error type: every variant says what failed and on what.

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// A peer sent something that is not the protocol.
    #[error("invalid message: {0}")]
    Protocol(String),
    /// The shim answered `{"error": …}`.
    #[error("shim: {0}")]
    Refused(String),
    /// A multiplexed stream that is not validly framed.
    #[error("invalid frame: {0}")]
    Frame(String),
}

impl Error {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }
}
