//! `HEAD`, `GET` and `PUT /containers/{id}/archive` (`docker cp`): a path's stat in
//! the `X-Docker-Container-Path-Stat` header, a path as a tar stream, a tar stream
//! extracted into a directory. The work is in [`crate::containers::archive`], done in
//! the container's own filesystem view.

use std::sync::Arc;

use api::containers::PathStat;
use api::query::Query;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;
use axum::routing::get;

use crate::body::{BodyReader, BodyWriter};
use crate::containers::archive::{self, Extract};
use crate::containers::view;
use crate::error::{Error, Result};
use crate::services::Daemon;

type S = Arc<Daemon>;

pub fn routes() -> Router<S> {
    Router::new().route("/containers/{id}/archive", get(get_archive).head(head_archive).put(put_archive))
}

/// The `path` parameter, which every archive request needs.
fn path_of(req: &Request) -> Result<(Query, String)> {
    path_in(req.uri().query())
}

fn path_in(query: Option<&str>) -> Result<(Query, String)> {
    let q = Query::parse(query.unwrap_or("")).map_err(|e| Error::invalid(e.to_string()))?;
    match q.get("path").filter(|p| !p.is_empty()) {
        Some(p) => {
            let p = p.to_string();
            Ok((q, p))
        }
        None => Err(Error::invalid("bad parameter: path cannot be empty")),
    }
}

fn with_stat(mut resp: Response, stat: &PathStat) -> Response {
    if let Ok(v) = HeaderValue::from_str(&stat.encode()) {
        resp.headers_mut().insert(HeaderName::from_static("x-docker-container-path-stat"), v);
    }
    resp
}

async fn head_archive(State(d): State<S>, Path(id): Path<String>, req: Request) -> Result<Response> {
    let (_, path) = path_of(&req)?;
    let c = d.containers.get(&id)?;
    let fs = archive::view(&d.containers, &c).await?;
    let stat = fs.run(move |root| archive::stat(root, &path, &id)).await??;
    Ok(with_stat(Response::new(Body::empty()), &stat))
}

async fn get_archive(State(d): State<S>, Path(id): Path<String>, req: Request) -> Result<Response> {
    let (_, path) = path_of(&req)?;
    let c = d.containers.get(&id)?;
    let fs = archive::view(&d.containers, &c).await?;
    let (stat, packer) = fs.run(move |root| archive::archive(root, &path, &id)).await??;
    let (mut writer, body) = BodyWriter::new();
    fs.spawn(move |_| {
        if let Err(e) = packer.write_to(&mut writer) {
            // Headers are out: the client sees the stream cut, as from dockerd.
            tracing::warn!("archive: {e}");
            writer.fail(std::io::Error::other(e.to_string()));
        }
    });
    d.events.publish("container", "archive-path", &c.id, view::event_attributes(&c.record()));
    let mut resp = Response::new(body);
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-tar"));
    Ok(with_stat(resp, &stat))
}

/// What a PUT needs before it reads the upload.
async fn prepare_put(d: &S, id: &str, query: Option<String>) -> Result<(Arc<crate::containers::Container>, crate::containers::fsview::View, String, Extract)> {
    let (q, path) = path_in(query.as_deref())?;
    let how = Extract {
        no_overwrite_dir_non_dir: q.get_bool("noOverwriteDirNonDir"),
        copy_uid_gid: q.get_bool("copyUIDGID"),
    };
    let c = d.containers.get(id)?;
    let fs = archive::view(&d.containers, &c).await?;
    Ok((c, fs, path, how))
}

/// An upload refused before it was read is read this far (dockerd reads 256 KiB), so
/// that a client still sending it reads the refusal instead of a broken pipe.
const DRAINED: u64 = 64 << 20;

async fn put_archive(State(d): State<S>, Path(id): Path<String>, req: Request) -> Result<Response> {
    let (parts, body) = req.into_parts();
    let (c, fs, path, how) = match prepare_put(&d, &id, parts.uri.query().map(String::from)).await {
        Ok(v) => v,
        Err(e) => {
            let mut body = BodyReader::spawn(body);
            let _ = tokio::task::spawn_blocking(move || std::io::copy(&mut std::io::Read::take(&mut body, DRAINED), &mut std::io::sink())).await;
            return Err(e);
        }
    };
    let mut body = BodyReader::spawn(body);
    let r = c.record();
    fs.run(move |root| {
        let extracted = archive::extract(root, &r, &path, how, &mut body);
        if extracted.is_err() {
            let _ = std::io::copy(&mut std::io::Read::take(&mut body, DRAINED), &mut std::io::sink());
        }
        extracted
    })
    .await??;
    d.events.publish("container", "extract-to-dir", &c.id, view::event_attributes(&c.record()));
    Ok(Response::new(Body::empty()))
}
