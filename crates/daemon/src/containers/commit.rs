//! `POST /commit` (`docker commit`): a container's writable layer made the top layer
//! of a new image, its configuration (or the one the request gives, with the
//! container's for what it leaves unset) with the `--change` instructions applied.
//! A running container is paused meanwhile unless asked not to be (its files hold
//! still), and held: no start, stop or removal until the layer is written.

use std::sync::Arc;

use super::{Container, Containers, ops, view};
use crate::error::{Error, Result};

/// What a commit asks for.
pub struct Request {
    pub reference: Option<image::Reference>,
    pub comment: String,
    pub author: String,
    pub pause: bool,
    pub changes: Vec<String>,
    /// The request body's configuration, if it gave one.
    pub config: Option<api::containers::ContainerConfig>,
}

/// Files berth binds over the image's, made empty in the writable layer when the image
/// lacks them: not the container's changes.
const STUBS: &[&str] = &["etc/hosts", "etc/hostname", "etc/resolv.conf"];

/// Commits `c`; the new image's ID.
pub async fn commit(d: &Arc<Containers>, c: &Arc<Container>, req: Request) -> Result<String> {
    let pause = req.pause && c.record().state.status == super::record::Status::Running;
    if pause {
        ops::pause(c).await?;
    }
    let committed = commit_held(d, c, req).await.map(|(id, reference, comment)| {
        // Announced before the container resumes, as dockerd does.
        let mut attrs = view::event_attributes(&c.record());
        attrs.insert("comment".into(), comment);
        attrs.insert("imageID".into(), id.clone());
        attrs.insert("imageRef".into(), reference);
        d.events.publish("container", "commit", &c.id, attrs);
        id
    });
    if pause {
        ops::unpause(c).await?;
    }
    committed
}

async fn commit_held(d: &Arc<Containers>, c: &Arc<Container>, req: Request) -> Result<(String, String, String)> {
    let hold = super::export::hold(c).await?;
    let r = c.record();
    let config = image_config(&r.config, req.config.as_ref(), &req.changes)?;
    let parent = match r.image_id.as_str() {
        "" => None,
        id => {
            let id = id.parse().map_err(|e| Error::internal(format!("the container's image id: {e}")))?;
            Some(d.images.images().get(&id).ok_or_else(|| Error::conflict(format!("the image of container {} is gone", c.name())))?)
        }
    };
    let created_by = r.config.cmd.as_deref().unwrap_or_default().join(" ");
    let (d2, id) = (d.clone(), c.id.clone());
    let img = tokio::task::spawn_blocking(move || {
        let _hold = hold;
        let new = image::archive::Commit {
            config,
            author: &req.author,
            comment: &req.comment,
            created_by,
            stubs: STUBS,
            reference: req.reference.as_ref(),
        };
        image::archive::commit(&d2.images, &id, parent.as_ref(), new)
            .map(|img| (img, req.reference.map(|r| r.to_string()).unwrap_or_default(), req.comment))
    })
    .await
    .map_err(|e| Error::internal(e.to_string()))?;
    let (img, reference, comment) = img.map_err(|e| Error::internal(format!("commit: {e}")))?;
    Ok((img.id.to_string(), reference, comment))
}

/// The new image's configuration: the request's (its unset fields the container's),
/// else the container's, with `changes` applied.
fn image_config(
    container: &api::containers::ContainerConfig,
    given: Option<&api::containers::ContainerConfig>,
    changes: &[String],
) -> Result<image::manifest::ContainerConfig> {
    let as_map = |c: &api::containers::ContainerConfig| match serde_json::to_value(c) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let base = as_map(container);
    let mut wanted = match given {
        Some(g) => as_map(g),
        None => base.clone(),
    };
    // Docker's merge: what the request leaves empty comes from the container.
    let is_empty = |v: &serde_json::Value| match v {
        serde_json::Value::Null => true,
        serde_json::Value::String(s) => s.is_empty(),
        serde_json::Value::Array(a) => a.is_empty(),
        serde_json::Value::Object(o) => o.is_empty(),
        _ => false,
    };
    for (k, v) in base {
        if wanted.get(&k).is_none_or(is_empty) {
            wanted.insert(k, v);
        }
    }
    let mut config: image::manifest::ContainerConfig =
        serde_json::from_value(serde_json::Value::Object(wanted)).map_err(|e| Error::invalid(e.to_string()))?;
    image::archive::apply_changes(&mut config, changes).map_err(|e| Error::invalid(e.to_string()))?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_config_is_completed_from_the_container_and_changed() {
        let container = api::containers::ContainerConfig {
            cmd: Some(vec!["sh".into()]),
            env: vec!["A=1".into()],
            working_dir: "/w".into(),
            ..Default::default()
        };
        let given = api::containers::ContainerConfig { cmd: Some(vec!["top".into()]), ..Default::default() };
        let c = image_config(&container, Some(&given), &["ENV B=2".into(), "EXPOSE 80".into()]).unwrap();
        assert_eq!(c.cmd, Some(vec!["top".to_string()]));
        assert_eq!(c.working_dir.as_deref(), Some("/w"));
        assert_eq!(c.env, Some(vec!["A=1".to_string(), "B=2".to_string()]));
        assert!(c.exposed_ports.unwrap().contains_key("80/tcp"));
        assert!(image_config(&container, None, &["BOGUS x".into()]).is_err());
    }
}
