//! The network endpoints: list (with Docker's filters), inspect, create, remove,
//! prune, and connect/disconnect of containers. The network service is synchronous
//! (netlink, nftables): each call runs on the blocking pool.

use std::sync::Arc;

use api::filters::Filters;
use api::networks::{Network, NetworkConnectRequest, NetworkCreateRequest, NetworkCreateResponse, NetworkDisconnectRequest, NetworkPruneResponse};
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;

use crate::error::{Error, Result};
use crate::services::Daemon;

type S = Arc<Daemon>;

pub fn routes() -> Router<S> {
    Router::new()
        .route("/networks", get(list))
        .route("/networks/create", post(create))
        .route("/networks/prune", post(prune))
        .route("/networks/{id}", get(inspect).delete(remove))
        .route("/networks/{id}/connect", post(connect))
        .route("/networks/{id}/disconnect", post(disconnect))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::internal(format!("network task: {e}")))?
}


async fn json_body<T: api::decode::Body>(req: Request) -> Result<T> {
    super::json_body(req.into_body(), 1 << 20).await?.ok_or_else(|| Error::invalid("the request body must not be empty"))
}

/// `GET /networks` filters, as Docker matches them: `name` a substring, `id` a
/// prefix, `driver` exactly, `label`, `type` (custom or builtin), `scope`, `dangling`.
fn matches(f: &Filters, n: &Network, predefined: bool) -> Result<bool> {
    let any = |key: &str, test: &dyn Fn(&str) -> bool| f.get(key).is_empty() || f.get(key).iter().any(|v| test(v));
    for t in f.get("type") {
        if !matches!(t.as_str(), "custom" | "builtin") {
            return Err(Error::invalid(format!("invalid filter: 'type'='{t}'")));
        }
    }
    let dangling = f.get_bool("dangling").map_err(|e| Error::invalid(e.to_string()))?;
    Ok(any("name", &|v| n.name.contains(v))
        && any("id", &|v| n.id.starts_with(v))
        && any("driver", &|v| n.driver == v)
        && any("scope", &|v| n.scope == v)
        && any("type", &|v| (v == "builtin") == predefined)
        && f.match_labels("label", &n.labels)
        && dangling.is_none_or(|d| d == (!predefined && n.containers.is_empty())))
}

async fn list(State(d): State<S>, req: Request) -> Result<Response> {
    let f = super::filters(&req, &["name", "id", "driver", "label", "type", "scope", "dangling"])?;
    let mut out = Vec::new();
    for (mut n, predefined) in d.networks.list() {
        if matches(&f, &n, predefined)? {
            // Listed without their containers, as Docker lists them.
            n.containers.clear();
            out.push(n);
        }
    }
    Ok(axum::Json(out).into_response())
}

async fn inspect(State(d): State<S>, Path(id): Path<String>) -> Result<Response> {
    Ok(axum::Json(d.networks.inspect(&id)?).into_response())
}

async fn create(State(d): State<S>, req: Request) -> Result<Response> {
    let body: NetworkCreateRequest = json_body(req).await?;
    let d2 = d.clone();
    let id = blocking(move || d2.networks.create(&body)).await?;
    Ok((StatusCode::CREATED, axum::Json(NetworkCreateResponse { id, warning: String::new() })).into_response())
}

async fn remove(State(d): State<S>, Path(id): Path<String>) -> Result<Response> {
    blocking(move || d.networks.remove(&id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /networks/prune`: the user's networks no running container is on, but for
/// those `until` and `label` keep.
async fn prune(State(d): State<S>, req: Request) -> Result<Response> {
    let f = super::filters(&req, &["until", "label", "label!"])?;
    let until = match f.get("until").first() {
        Some(v) => Some(api::time::parse_query_timestamp(v, Utc::now()).map_err(|e| Error::invalid(format!("invalid filter 'until={v}': {e}")))?),
        None => None,
    };
    let deleted = blocking(move || {
        Ok(d.networks.prune(|n| {
            let created = chrono::DateTime::parse_from_rfc3339(&n.created).map(|t| t.with_timezone(&Utc)).ok();
            let too_new = until.is_some_and(|u| created.is_none_or(|c| c >= u));
            let unlabelled = !f.match_labels("label", &n.labels);
            let excluded = f.any_label("label!", &n.labels);
            too_new || unlabelled || excluded
        }))
    })
    .await?;
    Ok(axum::Json(NetworkPruneResponse { networks_deleted: deleted }).into_response())
}

async fn connect(State(d): State<S>, Path(id): Path<String>, req: Request) -> Result<Response> {
    let body: NetworkConnectRequest = json_body(req).await?;
    let c = d.containers.get(&body.container)?;
    crate::containers::ops::connect(&d.containers, &c, &id, body.endpoint_config.unwrap_or_default()).await?;
    Ok(StatusCode::OK.into_response())
}

async fn disconnect(State(d): State<S>, Path(id): Path<String>, req: Request) -> Result<Response> {
    let body: NetworkDisconnectRequest = json_body(req).await?;
    let c = d.containers.get(&body.container)?;
    crate::containers::ops::disconnect(&d.containers, &c, &id, body.force).await?;
    Ok(StatusCode::OK.into_response())
}
