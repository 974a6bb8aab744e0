//! The daemon's domain error: what failed, in words a user can act on, and its
//! [`ErrorKind`], the class of failure. Services return it and know nothing of HTTP;
//! the routes turn a kind into a status code in one place
//! ([`crate::routes::status_of`]), as dockerd maps its error classes.

/// The class of a failure: what a client may do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No such container, image, exec …
    NotFound,
    /// The thing is in a state (or has a name) that forbids the request.
    Conflict,
    /// Never allowed, whatever the state (removing a predefined network …).
    Forbidden,
    /// The request itself is wrong: a bad parameter, body or value.
    Invalid,
    /// Nothing to do: started already, stopped already.
    NotModified,
    /// Asked of a feature berth does not have (or not with this configuration).
    NotImplemented,
    /// A service the request needs is not there now; the same request may work later.
    Unavailable,
    /// A registry refused the credentials.
    Unauthorized,
    /// berth or the system failed.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into() }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Invalid, message)
    }

    pub fn not_found(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::NotFound, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Forbidden, message)
    }

    pub fn conflict(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Conflict, message)
    }

    /// Docker's "already started" / "already stopped": no message, nothing changed.
    pub fn not_modified() -> Error {
        Error::new(ErrorKind::NotModified, "")
    }

    pub fn not_implemented(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::NotImplemented, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Unavailable, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Unauthorized, message)
    }

    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Internal, message)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
