//! The volume endpoints: list (with Docker's filters), create, inspect, remove and
//! prune, over the volume store; which containers use a volume is the container
//! service's to say. The store is synchronous: its calls run on the blocking pool,
//! but for those that are a rename or the read of one small file (a create from a
//! spare, a removal, an inspect), done in place: the hop to another thread and back
//! would cost more than the work.

use std::sync::Arc;

use api::volumes::{Volume, VolumeCreateBody, VolumeListResponse, VolumePruneResponse, VolumeUsageData};
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::containers::volumes::{store_error, users};
use crate::error::{Error, Result};
use crate::services::Daemon;

type S = Arc<Daemon>;

pub fn routes() -> Router<S> {
    Router::new()
        .route("/volumes", get(list))
        .route("/volumes/create", post(create))
        .route("/volumes/prune", post(prune))
        .route("/volumes/{name}", get(inspect).delete(remove))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::internal(format!("volume task: {e}")))?
}

fn query(req: &Request) -> Result<api::query::Query> {
    api::query::Query::parse(req.uri().query().unwrap_or("")).map_err(|e| Error::invalid(e.to_string()))
}


/// A volume as the Engine API shows it; its usage only when asked (it walks the data).
pub(super) fn shown(d: &Daemon, v: &volume::Volume, usage: bool) -> Volume {
    Volume {
        name: v.name.clone(),
        driver: "local".into(),
        mountpoint: d.volumes.data(&v.name).display().to_string(),
        created_at: v.created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        status: None,
        labels: v.labels.clone(),
        scope: "local".into(),
        options: v.options.clone(),
        usage_data: usage.then(|| VolumeUsageData { size: d.volumes.size(&v.name) as i64, ref_count: users(&d.containers, &v.name).len() as i64 }),
    }
}

/// `GET /volumes`: `name` a substring, `driver` exactly, `label`, `dangling` (no
/// container mounts it).
async fn list(State(d): State<S>, req: Request) -> Result<Response> {
    let f = super::filters(&req, &["name", "driver", "label", "dangling"])?;
    let dangling = f.get_bool("dangling").map_err(|e| Error::invalid(e.to_string()))?;
    blocking(move || {
        let any = |key: &str, test: &dyn Fn(&str) -> bool| f.get(key).is_empty() || f.get(key).iter().any(|v| test(v));
        let volumes = d
            .volumes
            .list()
            .into_iter()
            .filter(|v| {
                any("name", &|n| v.name.contains(n))
                    && any("driver", &|dr| dr == "local")
                    && f.match_labels("label", &v.labels)
                    && dangling.is_none_or(|want| want == users(&d.containers, &v.name).is_empty())
            })
            .map(|v| shown(&d, &v, false))
            .collect();
        Ok(axum::Json(VolumeListResponse { volumes, warnings: Vec::new() }).into_response())
    })
    .await
}

/// `POST /volumes/create`: the local driver only; a name that exists is that volume.
async fn create(State(d): State<S>, req: Request) -> Result<Response> {
    let body: VolumeCreateBody = super::json_body(req.into_body(), 1 << 20).await?.unwrap_or_default();
    if !matches!(body.driver.as_str(), "" | "local") {
        return Err(Error::not_found(format!("create {}: error looking up volume plugin {}: plugin \"{}\" not found", body.name, body.driver, body.driver)));
    }
    let from_spare = d.volumes.has_spare();
    let make = move || {
        // One made without a name is anonymous, as dockerd 23+ makes it: prune takes it.
        let anonymous = body.name.is_empty();
        let name = if anonymous { crate::containers::names::new_id() } else { body.name.clone() };
        let (v, made) = d.volumes.create(&name, body.labels, body.driver_opts, anonymous).map_err(store_error)?;
        if made {
            d.events.publish("volume", "create", &name, [("driver".to_string(), "local".to_string())].into());
        }
        Ok((StatusCode::CREATED, axum::Json(shown(&d, &v, false))).into_response())
    };
    // From a spare it makes no inode; one made from nothing waits on the disk.
    match from_spare {
        true => make(),
        false => blocking(make).await,
    }
}

async fn inspect(State(d): State<S>, Path(name): Path<String>) -> Result<Response> {
    let v = d.volumes.get(&name).map_err(store_error)?;
    Ok(axum::Json(shown(&d, &v, false)).into_response())
}

/// `DELETE /volumes/{name}`: refused while a container mounts it, as Docker refuses;
/// `force` makes a missing volume no error.
async fn remove(State(d): State<S>, Path(name): Path<String>, req: Request) -> Result<Response> {
    let force = query(&req)?.get_bool("force");
    // A rename: its files go in the store's background.
    if let Err(e) = d.volumes.get(&name) {
        return match force {
            true => Ok(StatusCode::NO_CONTENT.into_response()),
            false => Err(store_error(e)),
        };
    }
    let using = users(&d.containers, &name);
    if !using.is_empty() {
        return Err(Error::conflict(format!("remove {name}: volume is in use - [{}]", using.join(", "))));
    }
    d.volumes.remove(&name).map_err(store_error)?;
    d.events.publish("volume", "destroy", &name, [("driver".to_string(), "local".to_string())].into());
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /volumes/prune`: the volumes no container mounts; anonymous ones only, as
/// Docker since 23, unless the `all` filter asks for named ones too; `label` and
/// `label!` narrow it.
async fn prune(State(d): State<S>, req: Request) -> Result<Response> {
    let f = super::filters(&req, &["label", "label!", "all"])?;
    let all = f.get_bool("all").map_err(|e| Error::invalid(e.to_string()))?.unwrap_or(false);
    blocking(move || {
        let mut out = VolumePruneResponse::default();
        for v in d.volumes.list() {
            let excluded = f.any_label("label!", &v.labels);
            if (!all && !v.anonymous) || !f.match_labels("label", &v.labels) || excluded || !users(&d.containers, &v.name).is_empty() {
                continue;
            }
            let size = d.volumes.size(&v.name);
            match d.volumes.remove(&v.name) {
                Ok(()) => {
                    d.events.publish("volume", "destroy", &v.name, [("driver".to_string(), "local".to_string())].into());
                    out.volumes_deleted.push(v.name.clone());
                    out.space_reclaimed += size;
                }
                Err(e) => tracing::warn!(volume = %v.name, "prune: {e}"),
            }
        }
        Ok(axum::Json(out).into_response())
    })
    .await
}
