//! Images through the API, backed by the image store: list, inspect, history, tag,
//! remove, prune, load (`POST /images/load`) and save (`GET /images/get`,
//! `/images/{name}/get`). Names may
//! contain `/`, so `/images/{name}/…` is matched by hand under one wildcard route.
//! The store is synchronous: each call runs on the blocking pool.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use image::metadata;
use serde::Deserialize;

use crate::body::{BodyReader, BodyWriter};
use crate::error::{Error, Result};
use crate::services::Daemon;

type S = Arc<Daemon>;

pub fn routes() -> Router<S> {
    Router::new()
        .route("/images/json", get(list))
        .route("/images/load", post(load))
        .route("/images/get", get(save))
        .route("/images/prune", post(prune))
        .route("/images/create", post(create))
        .route("/commit", post(commit))
        .route("/images/{*rest}", any(by_name))
}

fn store_err(e: metadata::Error) -> Error {
    match e {
        metadata::Error::NotFound(_) => Error::not_found(e.to_string()),
        metadata::Error::Conflict(_) => Error::conflict(e.to_string()),
        metadata::Error::Ambiguous { .. }
        | metadata::Error::Reference(_)
        | metadata::Error::TagWithDigest(_)
        | metadata::Error::InvalidFilter(_) => Error::invalid(e.to_string()),
        other => Error::internal(other.to_string()),
    }
}

/// The `repo` and `tag` parameters as one reference; none without a repository
/// (a tag alone names nothing: Docker ignores it).
fn repo_tag(q: &api::query::Query) -> Result<Option<image::Reference>> {
    let (repo, tag) = (q.get("repo").unwrap_or(""), q.get("tag").unwrap_or(""));
    let reference = match (repo.is_empty(), tag.is_empty()) {
        (true, _) => return Ok(None),
        (false, true) => image::Reference::parse(repo),
        (false, false) => image::Reference::parse(&format!("{repo}:{tag}")),
    };
    reference.map(Some).map_err(|e| Error::invalid(e.to_string()))
}

/// `POST /commit`: a container's changes as a new image (201 with its ID).
async fn commit(State(d): State<S>, req: axum::extract::Request) -> Result<Response> {
    let q = api::query::Query::parse(req.uri().query().unwrap_or("")).map_err(|e| Error::invalid(e.to_string()))?;
    let name = q.get("container").unwrap_or("").to_string();
    let request = crate::containers::commit::Request {
        reference: repo_tag(&q)?,
        comment: q.get("comment").unwrap_or("").to_string(),
        author: q.get("author").unwrap_or("").to_string(),
        pause: q.get_bool_or("pause", true),
        changes: q.get_all("changes").map(String::from).collect(),
        config: super::json_body(req.into_body(), 1 << 20).await?,
    };
    let c = d.containers.get(&name)?;
    let id = crate::containers::commit::commit(&d.containers, &c, request).await?;
    let mut resp = axum::Json(serde_json::json!({ "Id": id })).into_response();
    *resp.status_mut() = StatusCode::CREATED;
    Ok(resp)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("image store task: {e}")))?
}

#[derive(Deserialize, Default)]
struct ListQuery {
    filters: Option<String>,
}

async fn list(State(d): State<S>, version: Option<axum::Extension<api::version::ApiVersion>>, Query(q): Query<ListQuery>) -> Result<Response> {
    // `VirtualSize` (the size again) went with API 1.44; older clients still read it.
    let virtual_size = version.is_some_and(|v| v.0 < api::version::ApiVersion::new(1, 44));
    blocking(move || {
        let filters = match q.filters.as_deref().filter(|f| !f.is_empty()) {
            Some(f) => metadata::Filters::from_docker_json(f).map_err(store_err)?,
            None => metadata::Filters::default(),
        };
        let store = &d.images;
        let sizes = store
            .image_sizes()
            .map_err(|e| Error::internal(e.to_string()))?;
        let rows: Vec<serde_json::Value> = store
            .images()
            .list(&filters)
            .map_err(store_err)?
            .into_iter()
            .map(|img| {
                let size = sizes.get(&img.id).map(|s| s.size).unwrap_or(img.size);
                let created = img.created_time().map(|t| t.timestamp()).unwrap_or(0);
                let mut row = serde_json::json!({
                    "Id": img.id.to_string(),
                    "ParentId": "",
                    "RepoTags": img.familiar_tags(),
                    "RepoDigests": img.familiar_digests(),
                    "Created": created,
                    "Size": size,
                    "SharedSize": -1,
                    "Labels": img.labels,
                    "Containers": -1,
                });
                if virtual_size {
                    row["VirtualSize"] = size.into();
                }
                row
            })
            .collect();
        Ok(axum::Json(rows).into_response())
    })
    .await
}

#[derive(Deserialize, Default)]
struct NameQuery {
    force: Option<String>,
    repo: Option<String>,
    tag: Option<String>,
}

fn truthy(v: &Option<String>) -> bool {
    matches!(v.as_deref(), Some("1" | "true" | "True" | "yes"))
}

/// `/images/{name}/json`, `/history`, `/tag`, `/get`, and `DELETE /images/{name}`.
async fn by_name(
    State(d): State<S>,
    method: Method,
    version: Option<axum::Extension<api::version::ApiVersion>>,
    Path(rest): Path<String>,
    Query(q): Query<NameQuery>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
    headers: axum::http::HeaderMap,
) -> Result<Response> {
    let virtual_size = version.is_some_and(|v| v.0 < api::version::ApiVersion::new(1, 44));
    let (name, action) = match rest.rsplit_once('/') {
        Some((n, a @ ("json" | "history" | "tag" | "push" | "get"))) => {
            (n.to_string(), a.to_string())
        }
        _ => (rest.clone(), String::new()),
    };
    // `docker save` of one image, as `GET /images/get?names=` saves several.
    if method == Method::GET && action == "get" {
        return save_names(d, vec![name]).await;
    }
    if method == Method::POST && action == "push" {
        let query = api::query::Query::parse(raw.as_deref().unwrap_or("")).map_err(|e| Error::invalid(e.to_string()))?;
        return super::distribution::push(d, name, &query, &headers).await;
    }
    if method == Method::DELETE {
        d.containers.settled().await;
    }
    blocking(move || {
        let images = d.images.images();
        match (method, action.as_str()) {
            (Method::GET, "json") => {
                let mut shown = images.inspect(&name).map_err(store_err)?;
                // Removed in API 1.44; older clients still read it.
                if virtual_size {
                    shown["VirtualSize"] = shown["Size"].clone();
                }
                Ok(axum::Json(shown).into_response())
            }
            (Method::GET, "history") => {
                Ok(axum::Json(images.history(&name).map_err(store_err)?).into_response())
            }
            (Method::POST, "tag") => {
                let repo = q.repo.clone().filter(|r| !r.is_empty()).ok_or_else(|| {
                    Error::invalid("repository name must have at least one component")
                })?;
                let target = match q.tag.as_deref().filter(|t| !t.is_empty()) {
                    Some(t) => format!("{repo}:{t}"),
                    None => repo,
                };
                let reference = image::Reference::parse(&target)
                    .map_err(|e| Error::invalid(e.to_string()))?;
                let img = images.resolve(&name).map_err(store_err)?;
                images.tag(&reference, &img.id).map_err(store_err)?;
                d.events.publish(
                    "image",
                    "tag",
                    &img.id.to_string(),
                    [("name".to_string(), reference.familiar())].into(),
                );
                Ok(StatusCode::CREATED.into_response())
            }
            (Method::DELETE, "") => {
                let deleted = images
                    .delete(&name, truthy(&q.force), &|id| {
                        d.containers.using_image(&id.to_string())
                    })
                    .map_err(store_err)?;
                for item in &deleted {
                    let (action, id) = match item {
                        metadata::Deleted::Untagged(r) => ("untag", r),
                        metadata::Deleted::Deleted(id) => ("delete", id),
                    };
                    d.events.publish("image", action, id, Default::default());
                }
                if deleted.iter().any(|i| matches!(i, metadata::Deleted::Deleted(_))) {
                    collect_garbage(&d);
                }
                Ok(axum::Json(deleted).into_response())
            }
            _ => Err(Error::not_found("page not found")),
        }
    })
    .await
}

#[derive(Deserialize, Default)]
struct LoadQuery {
    quiet: Option<String>,
}

/// `docker load`: the body is a docker-save or OCI archive; the answer is Docker's
/// JSON message stream ("Loaded image: …"). An archive that cannot be loaded is
/// answered as dockerd answers it: 200, the error inside the stream (clients raise
/// their load error from there).
async fn load(State(d): State<S>, Query(q): Query<LoadQuery>, body: Body) -> Result<Response> {
    // quiet only silences progress bars (none are sent): the result lines always go.
    let _ = q.quiet;
    let reader = BodyReader::spawn(body);
    let loaded = blocking(move || {
        let mut reader = reader;
        let loaded = match image::archive::load(&d.images, &mut reader) {
            Ok(l) => l,
            Err(e) => {
                // Drain the rest so the client reads this answer, not a broken pipe.
                let _ = std::io::copy(&mut reader, &mut std::io::sink());
                // The archive's bytes may be in the message: no control character of
                // theirs reaches a client's terminal.
                let shown: String = e.to_string().chars().flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect();
                return Ok(Err(shown));
            }
        };
        for l in &loaded {
            d.events
                .publish("image", "load", &l.id.to_string(), Default::default());
        }
        Ok(Ok(loaded))
    })
    .await?;
    let mut messages = Vec::new();
    match loaded {
        Ok(loaded) => {
            for l in loaded {
                if l.tags.is_empty() {
                    messages.push(serde_json::json!({"stream": format!("Loaded image ID: {}\n", l.id)}));
                }
                for t in &l.tags {
                    messages.push(serde_json::json!({"stream": format!("Loaded image: {}\n", t.familiar())}));
                }
            }
        }
        Err(e) => messages.push(serde_json::json!({"errorDetail": {"message": e}, "error": e})),
    }
    let out: String = messages.iter().map(|m| format!("{m}\n")).collect();
    Ok(([(header::CONTENT_TYPE, "application/json")], out).into_response())
}

/// `docker save`: a docker-save tarball of the named images.
async fn save(
    State(d): State<S>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<Response> {
    let query = api::query::Query::parse(raw.as_deref().unwrap_or(""))
        .map_err(|e| Error::invalid(e.to_string()))?;
    let names: Vec<String> = query.get_all("names").map(String::from).collect();
    if names.is_empty() {
        return Err(Error::invalid("no image names given"));
    }
    save_names(d, names).await
}

/// The images `names` as one docker-save archive, streamed.
async fn save_names(d: S, names: Vec<String>) -> Result<Response> {
    // Unknown names fail before any byte is sent, with a proper status.
    let check = d.clone();
    let checked = names.clone();
    blocking(move || {
        for n in &checked {
            check.images.images().resolve(n).map_err(store_err)?;
        }
        Ok(())
    })
    .await?;
    let (writer, body) = BodyWriter::new();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut writer = writer;
        if let Err(e) = image::archive::save(
            &d.images,
            &refs,
            image::archive::Format::Docker,
            &mut writer,
        ) {
            writer.fail(std::io::Error::other(e.to_string()));
        }
    });
    Ok(([(header::CONTENT_TYPE, "application/x-tar")], body).into_response())
}

async fn prune(State(d): State<S>, Query(q): Query<ListQuery>) -> Result<Response> {
    let filters = match q.filters.as_deref().filter(|f| !f.is_empty()) {
        Some(f) => {
            api::filters::Filters::parse(f).map_err(|e| Error::invalid(e.to_string()))?
        }
        None => api::filters::Filters::default(),
    };
    // `docker image prune -a` sends dangling=false: every unused image, not only untagged ones.
    let all = filters
        .get_bool("dangling")
        .map_err(|e| Error::invalid(e.to_string()))?
        == Some(false);
    let now = chrono::Utc::now();
    let until = match filters.get("until").first() {
        Some(t) => Some(api::time::parse_query_timestamp(t, now).map_err(|e| Error::invalid(e.to_string()))?),
        None => None,
    };
    d.containers.settled().await;
    blocking(move || {
        // Docker's prune filters: made before `until`, labels as asked.
        let wanted = |img: &image::metadata::Image| {
            let created = img.image_created.as_deref().and_then(api::time::parse_rfc3339);
            until.is_none_or(|u| created.is_some_and(|c| c < u))
                && filters.match_labels("label", &img.labels)
                && !filters.any_label("label!", &img.labels)
        };
        let in_use = |id: &image::Digest| d.containers.using_image(&id.to_string());
        let report = d.images.images().prune(all, &in_use, &wanted).map_err(store_err)?;
        // The blobs and unpacked layers no image needs any more go with them (their
        // bytes are the images' sizes, counted already).
        if !report.deleted.is_empty() {
            collect_garbage(&d);
        }
        Ok(axum::Json(report).into_response())
    })
    .await
}

/// Removes the blobs and unpacked layers no image, container or pull in progress
/// needs (Docker removes an image's layers with it). A
/// failure is logged: the image is gone either way, and the next collection retries.
fn collect_garbage(d: &Daemon) {
    if let Err(e) = d.images.gc() {
        tracing::warn!("collect unused image data: {e}");
    }
}

/// `POST /images/create`: `fromImage` pulls from a registry ([`super::pull`]);
/// `fromSrc` imports a root-filesystem tarball (the request body for `-`, else an
/// http:// URL) as a one-layer image.
async fn create(
    State(d): State<S>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
    headers: axum::http::HeaderMap,
    body: Body,
) -> Result<Response> {
    let query = api::query::Query::parse(raw.as_deref().unwrap_or(""))
        .map_err(|e| Error::invalid(e.to_string()))?;
    if query.get("fromImage").is_some_and(|f| !f.is_empty()) {
        let request = super::distribution::Request::parse(&query, &headers)?;
        return super::distribution::pull(d, request).await;
    }
    let Some(src) = query
        .get("fromSrc")
        .filter(|f| !f.is_empty())
        .map(String::from)
    else {
        return Err(Error::invalid(
            "either fromImage or fromSrc is required",
        ));
    };
    let message = query.get("message").unwrap_or("").to_string();
    let changes: Vec<String> = query.get_all("changes").map(String::from).collect();
    let reference = repo_tag(&query)?;
    let reader: Box<dyn std::io::Read + Send> = if src == "-" {
        Box::new(BodyReader::spawn(body))
    } else {
        Box::new(std::io::empty())
    };
    let img = blocking(move || {
        let input: Box<dyn std::io::Read + Send> = if src == "-" {
            reader
        } else {
            image::archive::fetch(&src).map_err(|e| Error::invalid(e.to_string()))?
        };
        let mut input = std::io::BufReader::with_capacity(1 << 20, input);
        let compression = image::archive::detect_compression(
            std::io::BufRead::fill_buf(&mut input)
                .map_err(|e| Error::invalid(format!("read the tarball: {e}")))?,
        );
        let img = match image::archive::import(
            &d.images,
            &mut input,
            compression,
            &changes,
            &message,
            reference.as_ref(),
        ) {
            Ok(img) => img,
            Err(e) => {
                // Read what the client still sends, so it gets this answer rather than
                // a broken pipe.
                let _ = std::io::copy(&mut input, &mut std::io::sink());
                return Err(Error::invalid(e.to_string()));
            }
        };
        d.events
            .publish("image", "import", &img.id.to_string(), Default::default());
        Ok(img)
    })
    .await?;
    let line = serde_json::json!({"status": img.id.to_string()}).to_string() + "\n";
    Ok(([(header::CONTENT_TYPE, "application/json")], line).into_response())
}
