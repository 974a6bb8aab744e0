//! The daemon process: its directories and pid file, the unix sockets it listens on
//! (mode 0660, group `berth` when that group exists), API-version prefixes, and a
//! clean shutdown on SIGTERM/SIGINT that leaves no socket or pid file behind.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use crate::config::Config;
use crate::services::Daemon;
use crate::error::Error;
use crate::events::Events;

/// The state every route shares.
/// The full HTTP surface: versioned (`/v1.44/...`) and unversioned paths, Docker's
/// JSON errors for unknown paths.
pub fn app(daemon: Arc<Daemon>) -> Router {
    let inner =
        crate::routes::router(daemon).fallback(|| async { Error::not_found("page not found") });
    // Strip the version prefix before the inner router matches the path.
    Router::new()
        .fallback_service(inner)
        .layer(middleware::from_fn(strip_version))
}

async fn strip_version(mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let (version, rest) = match api::version::split_version_prefix(&path) {
        Ok(v) => v,
        // A client older than the API's JSON errors (1.24) reads its error as text,
        // as dockerd writes it.
        Err(e @ api::version::VersionError::TooOld { .. }) => {
            let text = [(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")];
            return (axum::http::StatusCode::BAD_REQUEST, text, format!("{e}\n")).into_response();
        }
        Err(e) => return Error::invalid(e.to_string()).into_response(),
    };
    // `rm --link /parent/alias` names the link with its slashes
    // (`DELETE /containers//parent/alias?link=1`): one path segment for the router.
    let link = (req.method() == axum::http::Method::DELETE)
        .then(|| rest.strip_prefix("/containers/").filter(|name| name.contains('/')))
        .flatten()
        .map(|name| format!("/containers/{}", name.replace('/', "%2F")));
    if version.is_some() || link.is_some() {
        if let Some(v) = version {
            // Handlers that answer older clients as older daemons did read it.
            req.extensions_mut().insert(v);
        }
        let rest = link.as_deref().unwrap_or(rest);
        let rest = match req.uri().query() {
            Some(q) => format!("{rest}?{q}"),
            None => rest.to_string(),
        };
        match rest.parse() {
            Ok(uri) => *req.uri_mut() = uri,
            Err(_) => {
                return Error::invalid(format!("invalid path {path:?}")).into_response();
            }
        }
    }
    next.run(req).await
}

pub async fn run(config: Config) -> anyhow::Result<()> {
    for dir in [&config.data_root, &config.exec_root] {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o711)
            .create(dir)
            .with_context(|| format!("create {}", dir.display()))?;
    }
    if let Some(remap) = &config.remap {
        remap.check_traversable(&config.exec_root)?;
        tracing::info!("user namespaces: containers' ids map to the subordinate ids of {}", remap.name);
    }
    // Before anything can answer: a SIGTERM from then on is a clean shutdown.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let pidfile = PidFile::create(&config.pidfile)?;
    // The composition root: each service from its configuration and the handles it needs.
    let shared_config = Arc::new(config.clone());
    let events = Arc::new(Events::default());
    let images = Arc::new(
        image::store::Store::open(&config.data_root)
            .with_context(|| format!("open the image store in {}", config.data_root.display()))?,
    );
    let networks = Arc::new(
        crate::networks::Networks::open(&config, events.clone()).with_context(|| format!("open the networks in {}", config.exec_root.display()))?,
    );
    let volumes = Arc::new(
        volume::Store::open(&config.data_root.join("volumes")).with_context(|| format!("open the volumes in {}", config.data_root.display()))?,
    );
    let (containers, loaded) = crate::containers::Containers::open(shared_config.clone(), events.clone(), images.clone(), networks.clone(), volumes.clone())
        .with_context(|| format!("open the containers in {}", config.data_root.display()))?;
    containers
        .paths
        .restrict(config.remap.as_ref().map(|r| r.root_gid()))
        .context("restrict the containers' directories")?;
    let registries = Arc::new(dist::Client::new(dist::Settings { insecure: config.insecure_registries.clone(), certs_dir: Some(config.certs_dir.clone()), mirrors: config.registry_mirrors.clone() }));
    let daemon = Arc::new(Daemon { config: shared_config, events, images, networks, volumes, containers: Arc::new(containers), registries });
    crate::containers::restore::restore(&daemon.containers, loaded).await;
    let d = daemon.clone();
    tokio::task::spawn_blocking(move || d.containers.fill_spare());
    let mut servers = tokio::task::JoinSet::new();
    let mut sockets = Vec::new();
    for path in &config.sockets {
        let listener = bind(path)?;
        sockets.push(SocketFile(path.clone()));
        let app = app(daemon.clone());
        servers.spawn(async move { axum::serve(listener, app).await });
    }
    tracing::info!(
        "API listening on {}",
        config
            .sockets
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
        r = servers.join_next() => {
            if let Some(Ok(Err(e))) = r {
                bail!("API server failed: {e}");
            }
        }
    }
    // No new requests from here on.
    servers.abort_all();
    drop(sockets);
    if !config.live_restore {
        // A second signal ends the wait (dockerd's way out of a stop that hangs).
        tokio::select! {
            _ = crate::containers::restore::shutdown(&daemon.containers) => {}
            _ = term.recv() => tracing::warn!("shutdown cut short: containers may be left running"),
            _ = int.recv() => tracing::warn!("shutdown cut short: containers may be left running"),
        }
    }
    drop(pidfile);
    Ok(())
}

/// Binds a unix socket, replacing a stale socket file (nobody answering on it) but
/// never stealing one a live daemon serves.
fn bind(path: &Path) -> anyhow::Result<tokio::net::UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!("{} is in use by another daemon", path.display());
        }
        std::fs::remove_file(path)
            .with_context(|| format!("remove stale socket {}", path.display()))?;
    }
    let listener = tokio::net::UnixListener::bind(path)
        .with_context(|| format!("listen on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    if let Ok(Some(group)) = nix::unistd::Group::from_name("berth") {
        nix::unistd::chown(path, None, Some(group.gid))
            .with_context(|| format!("chown {}", path.display()))?;
    }
    Ok(listener)
}

struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The pid file, refused when another live berthd holds it; removed on drop.
struct PidFile(PathBuf);

impl PidFile {
    fn create(path: &Path) -> anyhow::Result<PidFile> {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse::<i32>()
            && pid != std::process::id() as i32
            && Path::new(&format!("/proc/{pid}")).exists()
        {
            bail!(
                "pid file found, ensure berthd is not running or delete {}",
                path.display()
            );
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, std::process::id().to_string())?;
        std::fs::rename(&tmp, path).with_context(|| format!("write {}", path.display()))?;
        Ok(PidFile(path.to_path_buf()))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
