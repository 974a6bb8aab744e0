//! The Engine API's routes, one module per resource. A route parses the request,
//! calls a service and shapes the reply; a service's error becomes Docker's
//! `{"message": …}` with the status of its kind, here and only here.

pub mod archive;
pub mod containers;
pub mod exec;
pub mod images;
pub mod networks;
mod distribution;
pub mod swarm;
pub mod system;
pub mod volumes;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::{Error, ErrorKind};
use crate::services::Daemon;

pub fn router(daemon: Arc<Daemon>) -> Router {
    Router::new()
        .merge(system::routes())
        .merge(containers::routes())
        .merge(archive::routes())
        .merge(exec::routes())
        .merge(images::routes())
        .merge(distribution::routes())
        .merge(networks::routes())
        .merge(swarm::routes())
        .merge(volumes::routes())
        .with_state(daemon)
}

/// A request body of at most `limit` bytes, read as dockerd reads one (its keys
/// matched to the type's fields whatever their case); `None` when it is empty. It is
/// read whole before anything can fail: a keep-alive client (docker's) sends its next
/// request on the connection, which an unread body would corrupt.
pub async fn json_body<T: api::decode::Body>(body: axum::body::Body, limit: usize) -> Result<Option<T>, Error> {
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| Error::invalid(format!("read the request body: {e}")))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    api::decode::from_slice(&bytes).map(Some).map_err(|e| Error::invalid(format!("invalid JSON: {e}")))
}

/// The request's `filters` query parameter, with only the `allowed` keys.
pub fn filters(req: &axum::extract::Request, allowed: &[&str]) -> Result<api::filters::Filters, Error> {
    let q = api::query::Query::parse(req.uri().query().unwrap_or("")).map_err(|e| Error::invalid(e.to_string()))?;
    let f = match q.get("filters").filter(|f| !f.is_empty()) {
        Some(f) => api::filters::Filters::parse(f).map_err(|e| Error::invalid(e.to_string()))?,
        None => api::filters::Filters::default(),
    };
    f.validate(allowed).map_err(|e| Error::invalid(e.to_string()))?;
    Ok(f)
}

/// The status code dockerd answers for each class of error.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::NotModified => StatusCode::NOT_MODIFIED,
        ErrorKind::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = status_of(self.kind());
        // 304 carries no body (Docker's "already started/stopped").
        if status == StatusCode::NOT_MODIFIED {
            return status.into_response();
        }
        let body = serde_json::json!({ "message": self.message }).to_string();
        (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn reply(e: Error) -> (StatusCode, Option<String>, String) {
        let resp = e.into_response();
        let status = resp.status();
        let ctype = resp
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string());
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap();
        (status, ctype, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn each_kind_answers_with_dockers_status_and_json_message() {
        let cases = [
            (Error::not_found("No such container: x"), 404),
            (Error::conflict("is running"), 409),
            (Error::invalid("bad"), 400),
            (Error::not_implemented("no"), 501),
            (Error::unavailable("later"), 503),
            (Error::internal("broke"), 500),
        ];
        for (e, want) in cases {
            let message = e.message.clone();
            let (status, ctype, body) = reply(e).await;
            assert_eq!(status.as_u16(), want, "{message}");
            assert_eq!(ctype.as_deref(), Some("application/json"));
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["message"], message);
        }
    }

    #[tokio::test]
    async fn not_modified_has_no_body() {
        let (status, _, body) = reply(Error::not_modified()).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert!(body.is_empty());
    }
}
