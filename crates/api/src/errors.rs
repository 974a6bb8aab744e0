//! The Engine API's error body, `{"message": "…"}`, sent with every 4xx/5xx reply.

use serde::{Deserialize, Serialize};

/// Docker's error reply body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorResponse {
    #[serde(deserialize_with = "crate::de::null_default")]
    pub message: String,
}

impl ErrorResponse {
    /// An error body carrying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        ErrorResponse { message: message.into() }
    }

    /// Reads an error message from a reply body: the JSON `message` if present,
    /// else the trimmed body text, else `None` for an empty body.
    pub fn message_from_body(body: &[u8]) -> Option<String> {
        if let Ok(e) = serde_json::from_slice::<ErrorResponse>(body)
            && !e.message.is_empty()
        {
            return Some(e.message);
        }
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_string())
    }
}

impl std::fmt::Display for ErrorResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_from_body() {
        assert_eq!(
            ErrorResponse::message_from_body(br#"{"message":"No such container: x"}"#).as_deref(),
            Some("No such container: x")
        );
        assert_eq!(ErrorResponse::message_from_body(b"page not found\n").as_deref(), Some("page not found"));
        assert_eq!(ErrorResponse::message_from_body(b""), None);
        let json = serde_json::to_string(&ErrorResponse::new("boom")).expect("serialises");
        assert_eq!(json, r#"{"message":"boom"}"#);
    }
}
