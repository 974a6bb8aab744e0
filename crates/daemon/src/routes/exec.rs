//! The exec endpoints: create in a container, start (hijacked as attach is, or
//! detached), inspect and resize. The work is in [`crate::containers::exec`].

use std::sync::Arc;

use api::exec::{ExecCreateBody, ExecStartBody};
use api::query::Query;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::TokioIo;

use crate::containers::exec;
use crate::error::{Error, Result};
use crate::services::Daemon;

type S = Arc<Daemon>;

pub fn routes() -> Router<S> {
    Router::new()
        .route("/containers/{id}/exec", post(create))
        .route("/exec/{id}/start", post(start))
        .route("/exec/{id}/json", get(inspect))
        .route("/exec/{id}/resize", post(resize))
}

async fn json_body<T: api::decode::Body + Default>(req: Request) -> Result<T> {
    Ok(super::json_body(req.into_body(), 1 << 20).await?.unwrap_or_default())
}

async fn create(State(d): State<S>, Path(id): Path<String>, req: Request) -> Result<Response> {
    let c = d.containers.get(&id)?;
    let body: ExecCreateBody = json_body(req).await?;
    let exec_id = exec::create(&d.containers, &c, body)?;
    Ok((StatusCode::CREATED, axum::Json(serde_json::json!({ "Id": exec_id }))).into_response())
}

async fn start(State(d): State<S>, Path(id): Path<String>, mut req: Request) -> Result<Response> {
    let e = d.containers.execs.get(&id)?;
    let upgrade = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("tcp"));
    let on_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
    let body: ExecStartBody = json_body(req).await?;
    if !e.container.status().is_live() {
        return Err(Error::conflict(format!("Container {} is not running", e.container.id)));
    }
    if body.detach {
        exec::start::<TokioIo<hyper::upgrade::Upgraded>>(d.containers.clone(), e, None, exec::Framing::Multiplexed).await?;
        return Ok(StatusCode::OK.into_response());
    }
    let Some(on_upgrade) = on_upgrade else {
        return Err(Error::invalid("exec start without detach needs a connection upgrade (Upgrade: tcp)"));
    };
    // Framed as the start asks, whatever the create asked (as dockerd frames it).
    let framing = exec::Framing::of_start(body.tty);
    tokio::spawn(async move {
        if let Ok(upgraded) = on_upgrade.await {
            let _ = exec::start(d.containers.clone(), e, Some(TokioIo::new(upgraded)), framing).await;
        }
    });
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    let content_type = match framing {
        exec::Framing::Raw => "application/vnd.docker.raw-stream",
        exec::Framing::Multiplexed => "application/vnd.docker.multiplexed-stream",
    };
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
    Ok(resp)
}

async fn inspect(State(d): State<S>, Path(id): Path<String>) -> Result<Response> {
    let e = d.containers.execs.get(&id)?;
    Ok(axum::Json(exec::inspect(&e)).into_response())
}

async fn resize(State(d): State<S>, Path(id): Path<String>, req: Request) -> Result<Response> {
    let q = Query::parse(req.uri().query().unwrap_or("")).map_err(|e| Error::invalid(e.to_string()))?;
    let e = d.containers.execs.get(&id)?;
    let size = |k: &str| -> Result<u16> {
        q.get_i64(k)
            .map_err(|e| Error::invalid(e.to_string()))?
            .unwrap_or(0)
            .try_into()
            .map_err(|_| Error::invalid("invalid terminal size"))
    };
    exec::resize(&e, size("h")?, size("w")?)?;
    Ok(StatusCode::OK.into_response())
}
