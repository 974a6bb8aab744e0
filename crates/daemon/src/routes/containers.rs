//! The container endpoints: create, list, inspect, the lifecycle actions, wait,
//! attach (hijacked with `101 Upgrade: tcp`), resize, logs, export and prune. The
//! work is in [`crate::containers`]; this module reads requests and shapes replies.

use std::sync::Arc;

use api::containers::{
    ContainerCreateBody, ContainerCreateResponse, ContainerPruneResponse, ContainerWaitResponse,
    WaitExitError,
};
use api::query::Query;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::Utc;
use hyper_util::rt::TokioIo;

use crate::body::{BodyWriter, ChunkStream};
use crate::containers::record::Status;
use crate::containers::{Container, attach, create, logs, ops, view};
use crate::error::{Error, Result};
use crate::services::Daemon;

type S = Arc<Daemon>;

pub fn routes() -> Router<S> {
    Router::new()
        .route("/containers/create", post(create_container))
        .route("/containers/json", get(list))
        .route("/containers/prune", post(prune))
        .route("/containers/{id}/json", get(inspect))
        .route("/containers/{id}/start", post(start))
        .route("/containers/{id}/stop", post(stop))
        .route("/containers/{id}/kill", post(kill))
        .route("/containers/{id}/restart", post(restart))
        .route("/containers/{id}/pause", post(pause))
        .route("/containers/{id}/unpause", post(unpause))
        .route("/containers/{id}/rename", post(rename))
        .route("/containers/{id}/update", post(update_container))
        .route("/containers/{id}/wait", post(wait))
        .route("/containers/{id}/attach", post(attach_container))
        .route("/containers/{id}/resize", post(resize))
        .route("/containers/{id}/logs", get(logs_of))
        .route("/containers/{id}/export", get(export))
        .route("/containers/{id}/top", get(top_of))
        .route("/containers/{id}/changes", get(changes_of))
        .route("/containers/{id}/stats", get(stats_of))
        .route("/containers/{id}", delete(remove))
}

fn query(req_query: Option<&str>) -> Result<Query> {
    Query::parse(req_query.unwrap_or("")).map_err(|e| Error::invalid(e.to_string()))
}

fn int(q: &Query, key: &str) -> Result<Option<i64>> {
    q.get_i64(key)
        .map_err(|e| Error::invalid(e.to_string()))
}

/// Runs an operation to its end even when the client goes away meanwhile (axum drops
/// a handler's future on disconnect; a start or removal cut in half would leave the
/// container unmonitored or stuck), as Docker does with an uncancellable context.
async fn detached<T: Send + 'static>(f: impl Future<Output = Result<T>> + Send + 'static) -> Result<T> {
    tokio::spawn(f).await.map_err(|e| Error::internal(format!("container operation: {e}")))?
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

async fn create_container(State(d): State<S>, req: Request) -> Result<Response> {
    let q = query(req.uri().query())?;
    let version = req.extensions().get::<api::version::ApiVersion>().copied();
    let mut body: ContainerCreateBody = super::json_body(req.into_body(), 16 << 20)
        .await?
        .ok_or_else(|| Error::invalid("config cannot be empty in order to create a container"))?;
    // StartInterval came with API 1.44: older clients' values are not theirs.
    if version.is_some_and(|v| v < api::version::ApiVersion::new(1, 44))
        && let Some(h) = &mut body.config.healthcheck
    {
        h.start_interval = 0;
    }
    if let Some(p) = q.get("platform").filter(|p| !p.is_empty())
        && !p.starts_with("linux")
    {
        return Err(Error::invalid(format!(
            "unsupported platform {p:?}: berth runs linux containers"
        )));
    }
    let name = q.get("name").map(String::from);
    let (id, warnings) = detached(async move { create::create(&d.containers, name.as_deref(), body).await }).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ContainerCreateResponse { id, warnings }),
    )
        .into_response())
}

fn list_filter(d: &Daemon, q: &Query) -> Result<view::ListFilter> {
    let filters = q
        .filters()
        .map_err(|e| Error::invalid(e.to_string()))?;
    view::ListFilter::new(
        filters,
        |name| d.containers.get(name).map(|c| c.record().created),
        |image| {
            d.images
                .images()
                .resolve(image)
                .ok()
                .map(|i| i.id.to_string())
        },
    )
}

async fn list(State(d): State<S>, req: Request) -> Result<Response> {
    let q = query(req.uri().query())?;
    let filter = list_filter(&d, &q)?;
    let limit = int(&q, "limit")?.filter(|l| *l > 0);
    let all = q.get_bool("all") || limit.is_some() || filter.wants_stopped();
    let with_size = q.get_bool("size");
    let d2 = d.clone();
    let rows = tokio::task::spawn_blocking(move || {
        let now = Utc::now();
        let mut records: Vec<_> = d2
            .containers
            .all()
            .into_iter()
            .map(|c| c.record())
            .filter(|r| all || r.state.status.is_live() || r.state.status == Status::Restarting)
            .filter(|r| filter.matches(r))
            .collect();
        records.sort_by_key(|r| std::cmp::Reverse(r.created));
        if let Some(l) = limit {
            records.truncate(l as usize);
        }
        records
            .iter()
            .map(|r| view::summary(r, now, with_size.then(|| view::sizes(&d2.containers, &r.image_id, &r.id))))
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| Error::internal(e.to_string()))?;
    Ok(axum::Json(rows).into_response())
}

async fn inspect(State(d): State<S>, Path(id): Path<String>, req: Request) -> Result<Response> {
    let q = query(req.uri().query())?;
    let version = req.extensions().get::<api::version::ApiVersion>().copied();
    let c = d.containers.get(&id)?;
    let r = c.record();
    let size = match q.get_bool("size") {
        // The size walks the writable layer: off the async workers.
        true => {
            let (d2, image_id, id) = (d.clone(), r.image_id.clone(), r.id.clone());
            let sizes = tokio::task::spawn_blocking(move || view::sizes(&d2.containers, &image_id, &id));
            Some(sizes.await.map_err(|e| Error::internal(e.to_string()))?)
        }
        false => None,
    };
    // A stopped container has no execs to show, as dockerd's (its unstarted ones
    // cannot start any more).
    let exec_ids = if r.state.status.is_live() { d.containers.execs.of(&r.id) } else { Vec::new() };
    let mut shown = view::inspect(&r, &d.containers.paths, size, exec_ids);
    // Its layers, as dockerd's overlay2 shows them (tools read them to find the files).
    if let Ok(mounts) = d.images.snapshots().mounts(&r.id)
        && let Some(m) = mounts.first().filter(|m| m.fstype == "overlay")
    {
        let opt = |key: &str| m.options.iter().find_map(|o| o.strip_prefix(key).map(String::from));
        for (key, option) in [("LowerDir", "lowerdir="), ("UpperDir", "upperdir="), ("WorkDir", "workdir=")] {
            if let Some(v) = opt(option) {
                shown.graph_driver.data.insert(key.to_string(), v);
            }
        }
    }
    // Before API 1.45 a user network's aliases held the container's short id (clients
    // of that time, compose 1.29 among them, look for it there).
    if version.is_some_and(|v| v < api::version::ApiVersion::new(1, 45)) {
        for (name, ep) in shown.network_settings.networks.iter_mut() {
            if !matches!(name.as_str(), "bridge" | "host" | "none") && !ep.aliases.contains(&r.id[..12].to_string()) {
                ep.aliases.push(r.id[..12].to_string());
            }
        }
    }
    Ok(axum::Json(shown).into_response())
}

async fn start(State(d): State<S>, Path(id): Path<String>) -> Result<Response> {
    let c = d.containers.get(&id)?;
    ops::start(&c).await?;
    Ok(no_content())
}

async fn stop(State(d): State<S>, Path(id): Path<String>, req: Request) -> Result<Response> {
    let q = query(req.uri().query())?;
    let c = d.containers.get(&id)?;
    let (signal, t) = (q.get("signal").map(String::from), int(&q, "t")?);
    ops::stop(&c, signal.as_deref(), t).await?;
    Ok(no_content())
}

async fn kill(State(d): State<S>, Path(id): Path<String>, req: Request) -> Result<Response> {
    let q = query(req.uri().query())?;
    let c = d.containers.get(&id)?;
    let signal = q.get("signal").map(String::from);
    ops::kill(&c, signal.as_deref()).await?;
    Ok(no_content())
}

async fn restart(State(d): State<S>, Path(id): Path<String>, req: Request) -> Result<Response> {
    let q = query(req.uri().query())?;
    let c = d.containers.get(&id)?;
    let (signal, t) = (q.get("signal").map(String::from), int(&q, "t")?);
    ops::restart(&c, signal.as_deref(), t).await?;
    Ok(no_content())
}

async fn pause(State(d): State<S>, Path(id): Path<String>) -> Result<Response> {
    let c = d.containers.get(&id)?;
    ops::pause(&c).await?;
    Ok(no_content())
}

async fn unpause(State(d): State<S>, Path(id): Path<String>) -> Result<Response> {
    let c = d.containers.get(&id)?;
    ops::unpause(&c).await?;
    Ok(no_content())
}

async fn rename(State(d): State<S>, Path(id): Path<String>, req: Request) -> Result<Response> {
    let q = query(req.uri().query())?;
    let c = d.containers.get(&id)?;
    let name = q.get("name").unwrap_or("");
    let name = name.to_string();
    ops::rename(&c, &name).await?;
    Ok(no_content())
}

/// `POST /containers/{id}/update`: Docker's UpdateConfig; replies `{"Warnings": […]}`.
async fn update_container(State(d): State<S>, Path(id): Path<String>, req: Request) -> Result<Response> {
    let body: api::containers::ContainerUpdateBody = super::json_body(req.into_body(), 1 << 20).await?.unwrap_or_default();
    let c = d.containers.get(&id)?;
    let warnings = ops::update(&c, body).await?;
    Ok(axum::Json(api::containers::ContainerUpdateResponse { warnings }).into_response())
}

async fn remove(State(d): State<S>, Path(id): Path<String>, req: Request) -> Result<Response> {
    let q = query(req.uri().query())?;
    if q.get_bool("link") {
        ops::unlink(&d.containers, &id).await?;
        return Ok(no_content());
    }
    let c = d.containers.get(&id)?;
    let force = q.get_bool("force");
    let volumes = c.record().volumes.clone();
    ops::remove(&c, force).await?;
    // `rm -v`: its anonymous volumes go with it.
    if q.get_bool("v") {
        let d = d.clone();
        tokio::task::spawn_blocking(move || crate::containers::volumes::drop_anonymous(&d.containers, &volumes))
            .await
            .map_err(|e| Error::internal(e.to_string()))?;
    }
    Ok(no_content())
}

/// The wait body once the condition holds.
fn wait_reply(c: &Container) -> Bytes {
    let r = c.record();
    let error = (!r.state.error.is_empty()).then(|| WaitExitError {
        message: r.state.error.clone(),
    });
    let body = ContainerWaitResponse {
        status_code: r.state.exit_code,
        error,
    };
    let mut bytes = serde_json::to_vec(&body).expect("plain struct");
    bytes.push(b'\n');
    Bytes::from(bytes)
}

/// `POST /containers/{id}/wait`: the headers go out at once (clients rely on it to
/// know the wait is registered before they start the container); the body when the
/// condition holds.
async fn wait(State(d): State<S>, Path(id): Path<String>, req: Request) -> Result<Response> {
    let q = query(req.uri().query())?;
    let condition = q
        .get("condition")
        .filter(|c| !c.is_empty())
        .unwrap_or("not-running")
        .to_string();
    if !matches!(condition.as_str(), "not-running" | "next-exit" | "removed") {
        return Err(Error::invalid(format!(
            "invalid condition: {condition:?}"
        )));
    }
    let c = d.containers.get(&id)?;
    // Subscribed before the state is read, so an exit in between is not missed.
    let mut rx = c.subscribe();
    let (seen, status) = {
        let now = rx.borrow();
        (now.changes, now.record.state.status)
    };
    let (tx, body_rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    tokio::spawn(async move {
        let condition_met = async {
            match condition.as_str() {
                "not-running" if !status.is_live() && status != Status::Restarting => true,
                "removed" => rx.wait_for(|p| p.changes.removed).await.is_ok(),
                _ => rx.wait_for(|p| p.changes.exits > seen.exits || p.changes.removed).await.is_ok(),
            }
        };
        // A client that hangs up stops the wait: nothing piles up on long-lived containers.
        tokio::select! {
            ready = condition_met => {
                if ready {
                    let _ = tx.send(Ok(wait_reply(&c))).await;
                }
            }
            _ = tx.closed() => {}
        }
    });
    let mut resp = Response::new(Body::from_stream(ChunkStream(body_rx)));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

async fn attach_container(
    State(d): State<S>,
    Path(id): Path<String>,
    mut req: Request,
) -> Result<Response> {
    let q = query(req.uri().query())?;
    let c = d.containers.get(&id)?;
    let r = c.record();
    let detach_keys = match q.get("detachKeys").filter(|k| !k.is_empty()) {
        Some(k) => attach::parse_detach_keys(k).map_err(Error::invalid)?,
        None => attach::DEFAULT_DETACH_KEYS.to_vec(),
    };
    let o = attach::Options {
        stdin: q.get_bool("stdin") && r.config.open_stdin,
        stdout: q.get_bool("stdout"),
        stderr: q.get_bool("stderr"),
        // Docker watches for the detach keys on a terminal only: piped binary input
        // passes untouched.
        detach_keys: if r.config.tty { detach_keys } else { Vec::new() },
    };
    let replay = q.get_bool("logs");
    let stream = q.get_bool("stream");
    if !stream && !replay {
        return Err(Error::invalid(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let tty = r.config.tty;
    let content_type = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    let upgrade = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("tcp"));
    let log_opts = logs::Options {
        stdout: o.stdout,
        stderr: o.stderr,
        raw: tty,
        ..Default::default()
    };
    let log_path = d.containers.paths.log(&c.id);
    d.events
        .publish("container", "attach", &c.id, view::event_attributes(&r));
    let registration = stream.then(|| attach::Registration::new(&c));
    if !upgrade {
        // An old client without the upgrade: output only, as a streamed body.
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
        tokio::spawn(async move {
            if replay {
                let (ltx, mut lrx) = tokio::sync::mpsc::channel(16);
                tokio::spawn(logs::stream(log_path, log_opts, ltx, || false));
                while let Some(b) = lrx.recv().await {
                    let _ = tx.send(Ok(b)).await;
                }
            }
            if let Some(reg) = registration
                && let Some(shim) = reg.connect(&d.containers).await
            {
                attach::output_only(shim, &o, |bytes| {
                    let tx = tx.clone();
                    async move { tx.send(Ok(bytes)).await.is_ok() }
                })
                .await;
            }
        });
        let mut resp = Response::new(Body::from_stream(ChunkStream(rx)));
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        return Ok(resp);
    }
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let mut io = TokioIo::new(upgraded);
        if replay {
            use tokio::io::AsyncWriteExt;
            let (ltx, mut lrx) = tokio::sync::mpsc::channel(16);
            tokio::spawn(logs::stream(log_path, log_opts, ltx, || false));
            while let Some(b) = lrx.recv().await {
                if io.write_all(&b).await.is_err() {
                    return;
                }
            }
        }
        let Some(reg) = registration else { return };
        if let Some(shim) = reg.connect(&d.containers).await {
            attach::pump(io, shim, o).await;
        }
    });
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
    Ok(resp)
}

async fn resize(State(d): State<S>, Path(id): Path<String>, req: Request) -> Result<Response> {
    let q = query(req.uri().query())?;
    let c = d.containers.get(&id)?;
    let (h, w) = (int(&q, "h")?.unwrap_or(0), int(&q, "w")?.unwrap_or(0));
    if !(0..=u16::MAX as i64).contains(&h) || !(0..=u16::MAX as i64).contains(&w) {
        return Err(Error::invalid("invalid terminal size"));
    }
    if !c.status().is_live() {
        return Err(Error::conflict(format!(
            "Container {} is not running",
            c.id
        )));
    }
    if !c.record().config.tty {
        // Docker ignores a resize of a container without a terminal.
        return Ok(StatusCode::OK.into_response());
    }
    attach::resize(&d.containers, &c, h as u16, w as u16).await?;
    Ok(StatusCode::OK.into_response())
}

async fn logs_of(State(d): State<S>, Path(id): Path<String>, req: Request) -> Result<Response> {
    let q = query(req.uri().query())?;
    let c = d.containers.get(&id)?;
    let r = c.record();
    if r.log.driver == crate::containers::record::LogDriver::None {
        return Err(Error::not_implemented(
            "configured logging driver does not support reading",
        ));
    }
    let (stdout, stderr) = (q.get_bool("stdout"), q.get_bool("stderr"));
    if !stdout && !stderr {
        return Err(Error::invalid(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let now = Utc::now();
    let time = |key: &str| -> Result<Option<chrono::DateTime<Utc>>> {
        match q.get(key).filter(|v| !v.is_empty() && *v != "0") {
            Some(v) => api::time::parse_query_timestamp(v, now)
                .map(Some)
                .map_err(|e| Error::invalid(format!("invalid value for \"{key}\": {e}"))),
            None => Ok(None),
        }
    };
    let tail = match q.get("tail").filter(|t| !t.is_empty() && *t != "all") {
        Some(t) => Some(
            t.parse::<i64>()
                .map_err(|_| Error::invalid(format!("invalid tail {t:?}")))?
                .max(0) as usize,
        ),
        None => None,
    };
    let o = logs::Options {
        stdout,
        stderr,
        follow: q.get_bool("follow"),
        timestamps: q.get_bool("timestamps"),
        since: time("since")?,
        until: time("until")?,
        tail,
        raw: r.config.tty,
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    let c2 = c.clone();
    tokio::spawn(logs::stream(
        d.containers.paths.log(&c.id),
        o,
        tx,
        move || c2.status().is_live() || c2.status() == Status::Restarting,
    ));
    let (btx, brx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    tokio::spawn(async move {
        while let Some(b) = rx.recv().await {
            if btx.send(Ok(b)).await.is_err() {
                break;
            }
        }
    });
    let content_type = if r.config.tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    let mut resp = Response::new(Body::from_stream(ChunkStream(brx)));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(resp)
}

/// `GET /containers/{id}/export`: the container's filesystem as a tar stream, mounted
/// for the export when the container is not running.
async fn export(State(d): State<S>, Path(id): Path<String>) -> Result<Response> {
    let c = d.containers.get(&id)?;
    let export = crate::containers::export::Export::prepare(&d.containers, &c).await?;
    let (writer, body) = BodyWriter::new();
    tokio::task::spawn_blocking(move || export.write_to(writer));
    let mut resp = Response::new(body);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-tar"),
    );
    Ok(resp)
}

async fn prune(State(d): State<S>, req: Request) -> Result<Response> {
    let q = query(req.uri().query())?;
    let filter = list_filter(&d, &q)?;
    let (deleted, reclaimed) = ops::prune(&d.containers, &filter).await;
    d.events.publish(
        "container",
        "prune",
        "",
        [("reclaimed".to_string(), reclaimed.to_string())].into(),
    );
    Ok(axum::Json(ContainerPruneResponse {
        containers_deleted: deleted,
        space_reclaimed: reclaimed,
    })
    .into_response())
}

async fn top_of(State(d): State<S>, Path(id): Path<String>, req: Request) -> Result<Response> {
    let q = query(req.uri().query())?;
    let c = d.containers.get(&id)?;
    let t = crate::containers::top::of(&d.containers, &c, q.get("ps_args").unwrap_or("")).await?;
    Ok(axum::Json(t).into_response())
}

async fn changes_of(State(d): State<S>, Path(id): Path<String>) -> Result<Response> {
    let c = d.containers.get(&id)?;
    let changes = crate::containers::diff::of(&d.containers, &c).await?;
    Ok(axum::Json(changes).into_response())
}

/// `GET /containers/{id}/stats`: one sample (`stream=false`; with `precpu_stats` from a
/// sample 50 ms before unless `one-shot`: short, so `stats --no-stream` of many
/// containers stays quick), or a sample each second.
async fn stats_of(State(d): State<S>, Path(id): Path<String>, req: Request) -> Result<Response> {
    let q = query(req.uri().query())?;
    let c = d.containers.get(&id)?;
    let stream = q.get_bool_or("stream", true);
    let one_shot = q.get_bool("one-shot");
    let r = c.record();
    let take = crate::containers::stats::sampler(&d.containers, &r);
    let (rid, rname) = (r.id.clone(), format!("/{}", r.name));
    // Times never empty: Go clients parse them (zero time, as Docker sends for a
    // stopped container or the first sample's `preread`).
    const ZERO_TIME: &str = "0001-01-01T00:00:00Z";
    let empty = move || api::stats::ContainerStats {
        id: rid.clone(),
        name: rname.clone(),
        read: ZERO_TIME.into(),
        preread: ZERO_TIME.into(),
        ..Default::default()
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    tokio::spawn(async move {
        let mut pre: Option<api::stats::ContainerStats> = None;
        if !stream && !one_shot {
            let t = take.clone();
            pre = tokio::task::spawn_blocking(t).await.ok().flatten();
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        loop {
            let t = take.clone();
            let mut s = tokio::task::spawn_blocking(t).await.ok().flatten().unwrap_or_else(&empty);
            match &pre {
                Some(p) => {
                    s.precpu_stats = p.cpu_stats.clone();
                    s.preread = p.read.clone();
                }
                None => s.preread = ZERO_TIME.into(),
            }
            let mut line = serde_json::to_vec(&s).unwrap_or_default();
            line.push(b'\n');
            if tx.send(Ok(Bytes::from(line))).await.is_err() || !stream {
                return;
            }
            pre = Some(s);
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                _ = tx.closed() => return,
            }
        }
    });
    let mut resp = Response::new(Body::from_stream(ChunkStream(rx)));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(resp)
}
