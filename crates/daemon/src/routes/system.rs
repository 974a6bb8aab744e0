//! `/_ping`, `/version`, `/info`, `/events`.

use std::sync::Arc;

use api::events::EventMessage;
use api::filters::Filters;
use api::version::API_VERSION;
use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::{Error, Result};
use crate::services::Daemon;

type S = Arc<Daemon>;

pub fn routes() -> Router<S> {
    Router::new()
        .route("/_ping", get(ping).head(ping))
        .route("/version", get(version))
        .route("/info", get(info))
        .route("/events", get(events))
        .route("/system/df", get(disk_usage))
}

/// Docker's ping: the headers clients read to negotiate, and "OK".
async fn ping(method: Method) -> Response {
    let mut headers = HeaderMap::new();
    for (k, v) in [
        ("Api-Version", API_VERSION.to_string()),
        ("Ostype", "linux".to_string()),
        ("Builder-Version", "1".to_string()),
        ("Docker-Experimental", "false".to_string()),
        ("Swarm", "inactive".to_string()),
        (
            "Cache-Control",
            "no-cache, no-store, must-revalidate".to_string(),
        ),
        ("Pragma", "no-cache".to_string()),
    ] {
        headers.insert(k, HeaderValue::from_str(&v).expect("ascii header"));
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from("OK")
    };
    (headers, body).into_response()
}

async fn version() -> impl IntoResponse {
    axum::Json(crate::system::version())
}

async fn info(State(d): State<S>) -> impl IntoResponse {
    let overlay = d.images.snapshots().driver() == image::snapshot::Driver::Overlay;
    let storage = crate::system::storage(&d.config.data_root, overlay);
    axum::Json(crate::system::info(
        &d.config,
        d.counts(),
        d.events.listeners(),
        storage,
    ))
}

#[derive(serde::Deserialize)]
struct EventsQuery {
    since: Option<String>,
    until: Option<String>,
    filters: Option<String>,
}

/// Streams events as JSON lines: the history since `since`, then live ones until
/// `until` (or until the client goes away).
async fn events(State(d): State<S>, Query(q): Query<EventsQuery>) -> Result<Response> {
    let now = chrono::Utc::now();
    let ts = |s: &Option<String>| -> Result<Option<i64>> {
        s.as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                api::time::parse_query_timestamp(s, now)
                    .map(|t| t.timestamp_nanos_opt().unwrap_or(0))
            })
            .transpose()
            .map_err(|e| Error::invalid(e.to_string()))
    };
    let since = ts(&q.since)?;
    let until = ts(&q.until)?;
    let filters = match q.filters.as_deref().filter(|f| !f.is_empty()) {
        Some(f) => Filters::parse(f).map_err(|e| Error::invalid(e.to_string()))?,
        None => Filters::default(),
    };
    for key in filters.keys() {
        if ![
            "type",
            "event",
            "action",
            "container",
            "image",
            "label",
            "volume",
            "network",
            "daemon",
            "scope",
        ]
        .contains(&key)
        {
            return Err(Error::invalid(format!("invalid filter '{key}'")));
        }
    }
    let (history, mut live) = d.events.subscribe();
    let keep =
        move |e: &EventMessage| matches(e, &filters) && since.is_none_or(|s| e.time_nano >= s);
    let past: Vec<EventMessage> = history
        .into_iter()
        .filter(|e| keep(e) && until.is_none_or(|u| e.time_nano <= u))
        .collect();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(64);
    tokio::spawn(async move {
        for e in past {
            if tx.send(Ok(line(&e))).await.is_err() {
                return;
            }
        }
        let deadline = until.map(|u| {
            let wait = (u - chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)).max(0) as u64;
            tokio::time::Instant::now() + std::time::Duration::from_nanos(wait)
        });
        loop {
            let next = match deadline {
                Some(d) => match tokio::time::timeout_at(d, live.recv()).await {
                    Ok(r) => r,
                    Err(_) => return,
                },
                None => live.recv().await,
            };
            match next {
                Ok(e) if keep(&e) => {
                    if tx.send(Ok(line(&e))).await.is_err() {
                        return;
                    }
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return,
            }
        }
    });
    let stream = crate::body::ChunkStream(rx);
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response())
}

fn line(e: &EventMessage) -> String {
    let mut s = serde_json::to_string(e).expect("event serialises");
    s.push('\n');
    s
}

fn matches(e: &EventMessage, f: &Filters) -> bool {
    let any =
        |key: &str, value: &str| f.get(key).is_empty() || f.get(key).iter().any(|v| v == value);
    let attr = |k: &str| e.actor.attributes.get(k).map(String::as_str).unwrap_or("");
    let id_or_name = |key: &str| {
        f.get(key).is_empty()
            || f.get(key).iter().any(|v| {
                e.actor.id.starts_with(v.as_str()) || attr("name") == v || attr("image") == v
            })
    };
    let labels = f.get("label").iter().all(|l| match l.split_once('=') {
        Some((k, v)) => attr(k) == v,
        None => e.actor.attributes.contains_key(l),
    });
    any("type", &e.r#type)
        && (any("event", &e.action) || any("event", e.action.split(':').next().unwrap_or("")))
        && (e.r#type != "container" || id_or_name("container"))
        && (f.get("container").is_empty() || e.r#type == "container")
        && (f.get("image").is_empty() || id_or_name("image"))
        && labels
}

/// `GET /system/df`: images (with how many containers use each), containers with
/// their writable layer's size, and the total of the unpacked layers.
async fn disk_usage(State(d): State<S>) -> Result<Response> {
    let d2 = d.clone();
    let v = tokio::task::spawn_blocking(move || -> Result<serde_json::Value> {
        let now = chrono::Utc::now();
        let sizes = d2
            .images
            .image_sizes()
            .map_err(|e| Error::internal(e.to_string()))?;
        let records: Vec<_> = d2
            .containers
            .all()
            .into_iter()
            .map(|c| c.record())
            .collect();
        let images: Vec<serde_json::Value> = d2
            .images
            .images()
            .all()
            .into_iter()
            .map(|img| {
                let id = img.id.to_string();
                let s = sizes.get(&img.id);
                let users = records.iter().filter(|r| r.image_id == id).count();
                serde_json::json!({
                    "Id": id,
                    "ParentId": "",
                    "RepoTags": img.familiar_tags(),
                    "RepoDigests": img.familiar_digests(),
                    "Created": img.created_time().map(|t| t.timestamp()).unwrap_or(0),
                    "Size": s.map(|s| s.size).unwrap_or(img.size),
                    "SharedSize": s.map(|s| s.shared_size).unwrap_or(0),
                    "Labels": img.labels,
                    "Containers": users,
                })
            })
            .collect();
        let containers: Vec<api::containers::ContainerSummary> = records
            .iter()
            .map(|r| {
                let rw = d2
                    .images
                    .snapshots()
                    .usage(&r.id)
                    .map(|u| u.size as i64)
                    .unwrap_or(0);
                let image = r
                    .image_id
                    .parse::<image::Digest>()
                    .ok()
                    .and_then(|id| sizes.get(&id))
                    .map(|s| s.size as i64)
                    .unwrap_or(0);
                crate::containers::view::summary(r, now, Some((rw, rw + image)))
            })
            .collect();
        let layers = d2.images.layers_size().map_err(|e| Error::internal(e.to_string()))?;
        let volumes: Vec<api::volumes::Volume> = d2.volumes.list().iter().map(|v| super::volumes::shown(&d2, v, true)).collect();
        Ok(serde_json::json!({
            "LayersSize": layers,
            "Images": images,
            "Containers": containers,
            "Volumes": volumes,
            "BuildCache": [],
        }))
    })
    .await
    .map_err(|e| Error::internal(e.to_string()))??;
    Ok(axum::Json(v).into_response())
}
