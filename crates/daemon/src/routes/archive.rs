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
    let q = Query::parse(req.uri().query().unwrap_or("")).map_err(|e| Error::invalid(e.to_string()))?;
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

async fn put_archive(State(d): State<S>, Path(id): Path<String>, req: Request) -> Result<Response> {
    let (q, path) = path_of(&req)?;
    let how = Extract {
        no_overwrite_dir_non_dir: q.get_bool("noOverwriteDirNonDir"),
        copy_uid_gid: q.get_bool("copyUIDGID"),
    };
    let c = d.containers.get(&id)?;
    let fs = archive::view(&d.containers, &c).await?;
    let body = BodyReader::spawn(req.into_body());
    let r = c.record();
    fs.run(move |root| archive::extract(root, &r, &path, how, body)).await??;
    d.events.publish("container", "extract-to-dir", &c.id, view::event_attributes(&c.record()));
    Ok(Response::new(Body::empty()))
}
