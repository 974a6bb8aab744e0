//! The registry client's errors, worded as Docker words them where users see them.

/// An error a registry answered with: its code (`MANIFEST_UNKNOWN`) and message, shown
/// as the distribution client shows it (`manifest unknown: manifest unknown`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = self.code.replace('_', " ").to_lowercase();
        match (code.is_empty(), self.message.is_empty()) {
            (true, _) => write!(f, "unexpected status from the registry: {}", self.status),
            (false, true) => f.write_str(&code),
            (false, false) => write!(f, "{code}: {}", self.message),
        }
    }
}

impl RegistryError {
    /// The first error of a registry's error body (`{"errors": [...]}`), or the status
    /// alone when the body is not one.
    pub(crate) fn from_body(status: u16, body: &[u8]) -> RegistryError {
        #[derive(serde::Deserialize)]
        struct Body {
            #[serde(default)]
            errors: Vec<Item>,
        }
        #[derive(serde::Deserialize)]
        struct Item {
            #[serde(default)]
            code: String,
            #[serde(default)]
            message: String,
        }
        let first = serde_json::from_slice::<Body>(body).ok().and_then(|b| b.errors.into_iter().next());
        match first {
            Some(i) => RegistryError { status, code: i.code, message: i.message },
            None => {
                let code = match status {
                    401 => "UNAUTHORIZED",
                    403 => "DENIED",
                    _ => "",
                };
                RegistryError { status, code: code.into(), message: String::new() }
            }
        }
    }
}

/// Why a pull (or a request to a registry) failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidReference(String),
    /// The tag or digest is not in the repository.
    #[error("manifest for {reference} not found: {cause}")]
    ManifestUnknown { reference: String, cause: RegistryError },
    #[error("repository {name} not found: {cause}")]
    NameUnknown { name: String, cause: RegistryError },
    #[error("pull access denied for {name}, repository does not exist or may require 'docker login': {cause}")]
    Denied { name: String, cause: RegistryError },
    #[error("{0}")]
    Unauthorized(RegistryError),
    #[error("{what}: {cause}")]
    Registry { what: String, cause: RegistryError },
    /// The registry could not be reached or the connection broke, after the retries.
    #[error("{what}: {reason}")]
    Transport { what: String, reason: String },
    /// What the registry sent is not what it should be (a digest, a size, a format).
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("no matching manifest for {wanted} in the manifest list entries: {source}")]
    NoMatchingPlatform { wanted: String, source: image::manifest::Error },
    #[error("{0}")]
    Store(String),
    /// A push of a tag the store does not have.
    #[error("An image does not exist locally with the tag: {0}")]
    NotLocal(String),
}

impl Error {
    /// Whether the thing asked for is not there (the API's 404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::ManifestUnknown { .. } | Error::NameUnknown { .. } | Error::Denied { .. } | Error::NoMatchingPlatform { .. } | Error::NotLocal(_))
    }

    /// Whether the client's input was wrong (the API's 400).
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, Error::InvalidReference(_))
    }

    pub fn is_unauthorized(&self) -> bool {
        matches!(self, Error::Unauthorized(_))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_errors_read_as_docker_shows_them() {
        let e = RegistryError::from_body(404, br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"nope"}}]}"#);
        assert_eq!(e.to_string(), "manifest unknown: manifest unknown");
        let e = Error::ManifestUnknown { reference: "127.0.0.1:5000/bb:nope".into(), cause: e };
        assert_eq!(e.to_string(), "manifest for 127.0.0.1:5000/bb:nope not found: manifest unknown: manifest unknown");
        assert_eq!(RegistryError::from_body(401, b"<html>").to_string(), "unauthorized");
        assert_eq!(RegistryError::from_body(502, b"").to_string(), "unexpected status from the registry: 502");
    }
}
