//! Registries: `POST /images/create?fromImage=…` (a pull) and `POST
//! /images/{name}/push`, their progress streamed as Docker's JSON messages (what the
//! docker CLI draws its bars from). One that fails before its first message (an
//! unknown tag, refused credentials) answers with an error status, as dockerd does;
//! a later failure ends the stream with an `errorDetail` message.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::routing::post;
use axum::response::{IntoResponse, Response};
use dist::Progress;
use serde_json::json;

use crate::body::BodyWriter;
use crate::error::{Error, Result};
use crate::services::Daemon;

pub fn routes() -> Router<Arc<Daemon>> {
    Router::new()
        .route("/auth", post(auth))
        .route("/distribution/{*rest}", axum::routing::get(distribution))
        .route("/images/search", axum::routing::get(search))
}

/// `GET /images/search?term=&limit=&filters=`: the registry's `/v1/search`, with
/// Docker's filters (`stars`, `is-official`, `is-automated`) applied here.
async fn search(State(d): State<Arc<Daemon>>, req: axum::extract::Request) -> Result<axum::response::Response> {
    let query = api::query::Query::parse(req.uri().query().unwrap_or("")).map_err(|e| Error::invalid(e.to_string()))?;
    let term = query.get("term").unwrap_or("").to_string();
    if term.is_empty() {
        return Err(Error::invalid("term is required"));
    }
    let limit = match query.get("limit").filter(|l| !l.is_empty()) {
        None => 25,
        Some(l) => match l.parse::<u32>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => return Err(Error::invalid(format!("limit {l} is outside the range of [1, 100]"))),
        },
    };
    let f = super::filters(&req, &["stars", "is-official", "is-automated"])?;
    let stars = match f.get("stars").first() {
        Some(s) => Some(s.parse::<u64>().map_err(|_| Error::invalid(format!("invalid filter 'stars={s}'")))?),
        None => None,
    };
    let official = f.get_bool("is-official").map_err(|e| Error::invalid(e.to_string()))?;
    let automated = f.get_bool("is-automated").map_err(|e| Error::invalid(e.to_string()))?;
    let credentials = credentials(req.headers())?;
    let results = tokio::task::spawn_blocking(move || dist::pull::search(&d.registries, &term, limit, credentials.as_ref()))
        .await
        .map_err(|e| Error::internal(e.to_string()))?
        .map_err(|e| api_error(&e))?;
    let kept: Vec<api::images::ImageSearchResult> = results
        .into_iter()
        .filter(|r| stars.is_none_or(|s| r.star_count >= s) && official.is_none_or(|o| r.is_official == o) && automated.is_none_or(|a| r.is_automated == a))
        .take(limit as usize)
        .map(|r| api::images::ImageSearchResult {
            description: r.description,
            is_official: r.is_official,
            is_automated: r.is_automated,
            name: r.name,
            star_count: r.star_count as i64,
        })
        .collect();
    Ok(axum::Json(kept).into_response())
}

/// `GET /distribution/{name}/json`: what the name is in its registry (descriptor and
/// platforms), nothing pulled.
async fn distribution(State(d): State<Arc<Daemon>>, axum::extract::Path(rest): axum::extract::Path<String>, headers: HeaderMap) -> Result<axum::response::Response> {
    let name = rest.strip_suffix("/json").ok_or_else(|| Error::not_found("page not found"))?;
    let reference = image::Reference::parse(name).map_err(|e| Error::invalid(e.to_string()))?;
    let credentials = credentials(&headers)?;
    let found = tokio::task::spawn_blocking(move || dist::pull::inspect(&d.registries, &reference, credentials.as_ref()))
        .await
        .map_err(|e| Error::internal(e.to_string()))?
        .map_err(|e| match e.is_unauthorized() {
            true => Error::unauthorized(e.to_string()),
            false => api_error(&e),
        })?;
    let platforms: Vec<serde_json::Value> = found
        .platforms
        .iter()
        .map(|p| {
            let mut v = json!({ "architecture": p.architecture, "os": p.os });
            if let Some(variant) = &p.variant {
                v["variant"] = json!(variant);
            }
            v
        })
        .collect();
    Ok(axum::Json(json!({
        "Descriptor": { "mediaType": found.media_type, "digest": found.digest.to_string(), "size": found.size },
        "Platforms": platforms,
    }))
    .into_response())
}

/// The registry host a login's `serveraddress` names: a URL's host (Docker Hub's
/// `https://index.docker.io/v1/` is `docker.io`), or a host as it is.
pub fn registry_host(address: &str) -> String {
    let host = address.split("://").last().unwrap_or(address);
    let host = host.split('/').next().unwrap_or(host);
    match host {
        "" | "index.docker.io" | "registry-1.docker.io" | "docker.io" => image::reference::DEFAULT_DOMAIN.to_string(),
        h => h.to_string(),
    }
}

/// `POST /auth`: checks the credentials with the registry, as dockerd does; the
/// client keeps them.
async fn auth(State(d): State<Arc<Daemon>>, req: axum::extract::Request) -> Result<axum::response::Response> {
    let body: api::system::AuthConfig = super::json_body(req.into_body(), 1 << 20).await?.unwrap_or_default();
    let host = registry_host(&body.serveraddress);
    let (mut username, mut password) = (body.username, body.password);
    // `auth`: base64 of user:password, as config.json keeps it.
    if username.is_empty()
        && let Some((u, p)) = base64_pair(&body.auth)
    {
        (username, password) = (u, p);
    }
    let creds = dist::Credentials { username, password, identity_token: body.identitytoken, registry_token: body.registrytoken };
    tokio::task::spawn_blocking(move || {
        let registry = d.registries.registry(&host).map_err(|e| api_error(&e))?;
        registry.login(&creds).map_err(|e| match e.is_unauthorized() {
            true => Error::unauthorized(e.to_string()),
            false => api_error(&e),
        })
    })
    .await
    .map_err(|e| Error::internal(e.to_string()))??;
    Ok(axum::Json(json!({ "Status": "Login Succeeded", "IdentityToken": "" })).into_response())
}

/// The client's `X-Registry-Auth`, if it sent any.
fn credentials(headers: &HeaderMap) -> Result<Option<dist::Credentials>> {
    match headers.get("x-registry-auth").and_then(|v| v.to_str().ok()) {
        Some(v) => dist::Credentials::from_header(v).map_err(Error::invalid),
        None => Ok(None),
    }
}

/// `user:password` from its base64.
fn base64_pair(auth: &str) -> Option<(String, String)> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(auth.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// What the pull asks for, from the query and headers.
pub(super) struct Request {
    pub reference: image::Reference,
    /// No tag asked for: every tag of the repository (`pull -a`).
    pub all_tags: bool,
    pub platform: Option<image::manifest::Platform>,
    pub credentials: Option<dist::Credentials>,
}

impl Request {
    /// `fromImage` with `tag` (a tag, or a digest) added when it names none.
    pub(super) fn parse(query: &api::query::Query, headers: &HeaderMap) -> Result<Request> {
        let from = query.get("fromImage").unwrap_or("");
        let tag = query.get("tag").unwrap_or("");
        let all_tags = tag.is_empty() && image::Reference::parse_named(from).is_ok_and(|r| r.tag().is_none() && r.digest().is_none());
        let text = match tag {
            "" => from.to_string(),
            t if t.contains(':') => format!("{from}@{t}"),
            t => format!("{from}:{t}"),
        };
        let reference = image::Reference::parse_named(&text).map_err(|e| Error::invalid(e.to_string()))?;
        let platform = match query.get("platform").filter(|p| !p.is_empty()) {
            Some(p) => Some(image::manifest::Platform::parse(p).map_err(|e| Error::invalid(e.to_string()))?),
            None => None,
        };
        let credentials = credentials(headers)?;
        Ok(Request { reference, all_tags, platform, credentials })
    }
}

/// The stream's state, shared by the pull's threads: the body, and the answer the
/// route waits for until the first message.
struct Stream {
    body: BodyWriter,
    first: Option<tokio::sync::oneshot::Sender<Result<()>>>,
}

impl Stream {
    fn send(&mut self, message: serde_json::Value) {
        if let Some(first) = self.first.take() {
            let _ = first.send(Ok(()));
        }
        // The client gone: the pull still ends, whole, for the next one.
        let _ = self.body.write_all(format!("{message}\n").as_bytes());
    }
}

/// Runs `work` on the blocking pool with a stream to report on; answers once it has
/// said something, or failed first.
async fn streamed(work: impl FnOnce(&Mutex<Stream>) -> std::result::Result<(), Error> + Send + 'static) -> Result<Response> {
    let (body_writer, body) = BodyWriter::new();
    let (first_tx, first_rx) = tokio::sync::oneshot::channel();
    tokio::task::spawn_blocking(move || {
        let stream = Mutex::new(Stream { body: body_writer, first: Some(first_tx) });
        let outcome = work(&stream);
        let mut stream = stream.into_inner().unwrap_or_else(PoisonError::into_inner);
        if let Err(error) = outcome {
            match stream.first.take() {
                Some(first) => {
                    let _ = first.send(Err(error));
                }
                None => stream.send(json!({ "errorDetail": { "message": error.message }, "error": error.message })),
            }
        }
    });
    match first_rx.await {
        Ok(Ok(())) => Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response()),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(Error::internal("the work ended without a word")),
    }
}

pub(super) async fn pull(d: Arc<Daemon>, req: Request) -> Result<Response> {
    streamed(move |stream| {
        let opts = dist::pull::Options { platform: req.platform.clone(), credentials: req.credentials.clone(), ..Default::default() };
        let progress = |p: Progress| stream.lock().unwrap_or_else(PoisonError::into_inner).send(message(&p));
        let references = match req.all_tags {
            false => vec![req.reference.clone()],
            true => {
                let tags = dist::pull::tags(&d.registries, &req.reference, req.credentials.as_ref()).map_err(|e| api_error(&e))?;
                tags.iter().map(|t| req.reference.with_tag(t).map_err(|e| Error::internal(e.to_string()))).collect::<Result<Vec<_>>>()?
            }
        };
        let mut up_to_date = true;
        for reference in &references {
            let pulled = dist::pull::pull(&d.registries, &d.images, reference, &opts, &progress).map_err(|e| api_error(&e))?;
            d.events.publish("image", "pull", &reference.familiar(), Default::default());
            stream.lock().unwrap_or_else(PoisonError::into_inner).send(json!({ "status": format!("Digest: {}", pulled.digest) }));
            up_to_date &= pulled.up_to_date;
        }
        let shown = match req.all_tags {
            true => req.reference.familiar_repository(),
            false => req.reference.familiar(),
        };
        let status = match up_to_date {
            true => format!("Status: Image is up to date for {shown}"),
            false => format!("Status: Downloaded newer image for {shown}"),
        };
        stream.lock().unwrap_or_else(PoisonError::into_inner).send(json!({ "status": status }));
        Ok(())
    })
    .await
}

/// `POST /images/{name}/push?tag=`: that tag, or every tag of the repository when
/// none is given (`push -a`).
pub(super) async fn push(d: Arc<Daemon>, name: String, query: &api::query::Query, headers: &HeaderMap) -> Result<Response> {
    let tag = query.get("tag").unwrap_or("").to_string();
    let repository = image::Reference::parse(&name).map_err(|e| Error::invalid(e.to_string()))?.repository_only();
    let credentials = credentials(headers)?;
    let tags: Vec<image::Reference> = match tag.as_str() {
        "" => {
            let mut all: Vec<image::Reference> = d.images.images().all().into_iter().flat_map(|i| i.repo_tags).filter(|r| r.repository_only() == repository).collect();
            all.sort_by_key(|r| r.full());
            if all.is_empty() {
                return Err(Error::not_found(format!("An image does not exist locally with the tag: {}", repository.familiar())));
            }
            all
        }
        t => vec![repository.with_tag(t).map_err(|e| Error::invalid(e.to_string()))?],
    };
    streamed(move |stream| {
        let opts = dist::push::Options { credentials };
        let progress = |p: dist::push::PushProgress| stream.lock().unwrap_or_else(PoisonError::into_inner).send(push_message(&p));
        for reference in &tags {
            let pushed = dist::push::push(&d.registries, &d.images, reference, &opts, &progress).map_err(|e| api_error(&e))?;
            d.events.publish("image", "push", &reference.familiar(), Default::default());
            let mut stream = stream.lock().unwrap_or_else(PoisonError::into_inner);
            stream.send(json!({ "status": format!("{}: digest: {} size: {}", pushed.tag, pushed.digest, pushed.size) }));
            stream.send(json!({ "progressDetail": {}, "aux": { "Tag": pushed.tag, "Digest": pushed.digest.to_string(), "Size": pushed.size } }));
        }
        Ok(())
    })
    .await
}

/// One push step as Docker's JSON message.
fn push_message(p: &dist::push::PushProgress) -> serde_json::Value {
    use dist::push::PushProgress as P;
    let step = |status: &str, id: &str| json!({ "status": status, "progressDetail": {}, "id": id });
    match p {
        P::Refers { repository } => json!({ "status": format!("The push refers to repository [{repository}]") }),
        P::Preparing { id } => step("Preparing", id),
        P::Waiting { id } => step("Waiting", id),
        P::Pushing { id, current, total } => json!({
            "status": "Pushing",
            "progressDetail": { "current": current, "total": total },
            "progress": bar(*current, *total),
            "id": id,
        }),
        P::Pushed { id } => step("Pushed", id),
        P::AlreadyExists { id } => step("Layer already exists", id),
        P::MountedFrom { id, repository } => step(&format!("Mounted from {repository}"), id),
    }
}

/// A pull's or push's failure as the API's error. A registry's refusal of the
/// credentials is a 500 there, as dockerd answers it (a 401 makes the docker CLI
/// prompt for a login); `POST /auth` answers 401 itself.
fn api_error(e: &dist::Error) -> Error {
    match e {
        e if e.is_not_found() => Error::not_found(e.to_string()),
        e if e.is_invalid_input() => Error::invalid(e.to_string()),
        e => Error::internal(e.to_string()),
    }
}

/// One progress step as Docker's JSON message.
fn message(p: &Progress) -> serde_json::Value {
    let step = |status: &str, id: &str| json!({ "status": status, "progressDetail": {}, "id": id });
    match p {
        Progress::Resolved { tag, repository } => json!({ "status": format!("Pulling from {repository}"), "id": tag }),
        Progress::AlreadyExists { id } => step("Already exists", id),
        Progress::PullingFsLayer { id } => step("Pulling fs layer", id),
        Progress::Waiting { id } => step("Waiting", id),
        Progress::Downloading { id, current, total } => json!({
            "status": "Downloading",
            "progressDetail": { "current": current, "total": total },
            "progress": bar(*current, *total),
            "id": id,
        }),
        Progress::Retrying { id, attempt, .. } => step(&format!("Retrying (attempt {attempt})"), id),
        Progress::VerifyingChecksum { id } => step("Verifying Checksum", id),
        Progress::DownloadComplete { id } => step("Download complete", id),
        Progress::PullComplete { id } => step("Pull complete", id),
    }
}

/// Docker's progress text: a 50-wide bar, then `current/total` in SI units.
fn bar(current: u64, total: u64) -> String {
    let filled = if total > 0 { ((current as f64 / total as f64 * 100.0) as usize / 2).min(50) } else { 0 };
    let arrow = format!("[{}>{}] ", "=".repeat(filled), " ".repeat(50 - filled));
    format!("{arrow}{:>8}/{}", human(current), human(total))
}

/// Sizes as Docker's `HumanSize`: decimal units, four significant digits.
fn human(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < units.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    let digits = if size >= 1000.0 { 0 } else if size >= 100.0 { 1 } else if size >= 10.0 { 2 } else { 3 };
    let text = format!("{size:.digits$}");
    let text = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text };
    format!("{text}{}", units[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reads_as_dockers() {
        assert_eq!(human(772_800), "772.8kB");
        assert_eq!(human(2_100_000), "2.1MB");
        assert_eq!(human(512), "512B");
        assert_eq!(human(1_234_567_890), "1.235GB");
        assert_eq!(bar(772_800, 772_800), format!("[{}>]  772.8kB/772.8kB", "=".repeat(50)));
        assert_eq!(bar(0, 10), format!("[>{}]       0B/10B", " ".repeat(50)));
        let m = message(&Progress::Resolved { tag: "latest".into(), repository: "library/busybox".into() });
        assert_eq!(m, json!({"status": "Pulling from library/busybox", "id": "latest"}));
    }
}
