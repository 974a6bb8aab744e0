//! Swarm mode's endpoints, answered as a dockerd that is in no swarm answers them:
//! 503 with its words. Clients (and test suites' teardowns) take that 503 to mean
//! "no swarm here" and go on; a 404 would be a failure to them. berth runs no swarm,
//! so `swarm init` and `swarm join` are refused the same way, saying so.

use axum::Router;
use axum::http::Method;
use axum::routing::any;

use crate::error::{Error, Result};

/// What dockerd says to a request for a manager's data when it is in no swarm.
const NOT_A_MANAGER: &str =
    "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.";

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let mut r = Router::new()
        .route("/swarm", any(not_a_manager))
        .route("/swarm/leave", any(leave))
        .route("/swarm/init", any(join))
        .route("/swarm/join", any(join))
        .route("/swarm/{*rest}", any(not_a_manager));
    for resource in ["services", "nodes", "tasks", "secrets", "configs"] {
        r = r.route(&format!("/{resource}"), any(not_a_manager)).route(&format!("/{resource}/{{*rest}}"), any(not_a_manager));
    }
    r
}

async fn not_a_manager() -> Result<()> {
    Err(Error::unavailable(NOT_A_MANAGER))
}

async fn leave() -> Result<()> {
    Err(Error::unavailable("This node is not part of a swarm"))
}

async fn join(method: Method) -> Result<()> {
    if method != Method::POST {
        return Err(Error::unavailable(NOT_A_MANAGER));
    }
    Err(Error::unavailable("berth does not run swarm mode: this node stays out of any swarm"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    async fn status_and_message(app: Router, method: &str, uri: &str) -> (StatusCode, String) {
        let resp = app.oneshot(Request::builder().method(method).uri(uri).body(Body::empty()).unwrap()).await.unwrap();
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        (status, v["message"].as_str().unwrap_or_default().to_string())
    }

    #[tokio::test]
    async fn every_swarm_endpoint_says_there_is_no_swarm() {
        let app = routes::<()>;
        for (method, uri) in [
            ("GET", "/swarm"),
            ("GET", "/swarm/unlockkey"),
            ("POST", "/swarm/update"),
            ("GET", "/services"),
            ("POST", "/services/create"),
            ("GET", "/services/x/logs"),
            ("DELETE", "/services/x"),
            ("GET", "/nodes"),
            ("GET", "/tasks"),
            ("GET", "/secrets"),
            ("POST", "/secrets/create"),
            ("GET", "/configs/abc"),
        ] {
            let (status, message) = status_and_message(app(), method, uri).await;
            assert_eq!((status, message.as_str()), (StatusCode::SERVICE_UNAVAILABLE, NOT_A_MANAGER), "{method} {uri}");
        }
        let (status, message) = status_and_message(app(), "POST", "/swarm/leave").await;
        assert_eq!((status, message.as_str()), (StatusCode::SERVICE_UNAVAILABLE, "This node is not part of a swarm"));
        let (status, message) = status_and_message(app(), "POST", "/swarm/init").await;
        assert!(status == StatusCode::SERVICE_UNAVAILABLE && message.contains("does not run swarm"), "{message}");
    }
}
