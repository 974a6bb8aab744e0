//! `--mount type=image,source=IMAGE,target=/path[,image-subpath=dir]` (Docker 28):
//! an image's filesystem mounted read-only in the container. The image is resolved at
//! create (it must be here) and its id kept; at each start a read-only view of its
//! layers is mounted on a staging path under the run's directory (a subpath resolved
//! beneath it, never through a link out of it), and bound into the container from
//! there; the run's end unmounts and forgets the view.

use std::path::Path;

use api::binds::{Bind, Propagation};

use super::Containers;
use super::record::ImageMount;
use crate::error::{Error, Result};

/// The image mounts a create asks for, each image resolved.
pub fn wanted(images: &image::store::Store, mounts: &[api::hostconfig::Mount]) -> Result<Vec<ImageMount>> {
    mounts
        .iter()
        .filter(|m| m.r#type == "image")
        .map(|m| {
            // Invalid, not missing: a 404 would send the client to pull the
            // container's own image.
            let img = images.images().resolve(&m.source).map_err(|e| match e {
                image::metadata::Error::NotFound(_) | image::metadata::Error::Reference(_) => {
                    Error::invalid(format!("invalid mount config for type \"image\": No such image: {}", m.source))
                }
                other => Error::internal(other.to_string()),
            })?;
            Ok(ImageMount {
                source: m.source.clone(),
                image_id: img.id.to_string(),
                destination: m.target.clone(),
                subpath: m.image_options.clone().unwrap_or_default().subpath,
            })
        })
        .collect()
}

fn view_key(id: &str, i: usize) -> String {
    format!("{id}-image-{i}")
}

/// Mounts each image read-only under `staging` (the run's directory); the binds
/// that bring them into the container.
pub fn stage(d: &Containers, id: &str, mounts: &[ImageMount], staging: &Path) -> Result<Vec<Bind>> {
    let mut out = Vec::new();
    for (i, m) in mounts.iter().enumerate() {
        let internal = |what: &str| {
            let what = what.to_string();
            move |e: String| Error::internal(format!("mount image {}: {what}: {e}", m.source))
        };
        let digest: image::Digest = m.image_id.parse().map_err(|e| internal("its id")(format!("{e}")))?;
        let img = d.images.images().get(&digest).ok_or_else(|| Error::not_found(format!("No such image: {}", m.source)))?;
        let chain = d.images.unpack(&img).map_err(|e| internal("unpack")(e.to_string()))?;
        let key = view_key(id, i);
        let _ = d.images.snapshots().remove(&key);
        let layers = d.images.snapshots().view(&key, &chain).map_err(|e| internal("view")(e.to_string()))?;
        let at = staging.join(format!("image-{i}"));
        std::fs::create_dir_all(&at).map_err(|e| internal("staging")(e.to_string()))?;
        image::snapshot::mount_all(&layers, &at).map_err(|e| internal("mount")(e.to_string()))?;
        let source = match m.subpath.as_str() {
            "" => at,
            sub => {
                let fd = volume::subpath::open(&at, sub).map_err(|e| Error::not_found(e.to_string()))?;
                let is_dir = nix::sys::stat::fstat(&fd).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR);
                let part = staging.join(format!("image-{i}-sub"));
                let made = if is_dir { std::fs::create_dir_all(&part) } else { std::fs::File::create(&part).map(drop) };
                made.map_err(|e| internal("staging")(e.to_string()))?;
                let flags = nix::mount::MsFlags::MS_BIND | nix::mount::MsFlags::MS_REC;
                nix::mount::mount(Some(&runtime::rootfs::fd_path(&fd)), &part, None::<&str>, flags, None::<&str>)
                    .map_err(|e| internal("subpath")(e.to_string()))?;
                part
            }
        };
        out.push(Bind {
            source: source.display().to_string(),
            destination: m.destination.clone(),
            mode: String::new(),
            read_only: true,
            propagation: Propagation::RPrivate,
            nocopy: true,
        });
    }
    Ok(out)
}

/// Undoes [`stage`] of `count` image mounts (at the end of a run). Safe to repeat.
pub fn unstage(d: &Containers, id: &str, count: usize, staging: &Path) {
    for i in 0..count {
        // A subpath's bind before the view it is in.
        for p in [staging.join(format!("image-{i}-sub")), staging.join(format!("image-{i}"))] {
            let _ = nix::mount::umount2(&p, nix::mount::MntFlags::MNT_DETACH);
            let _ = std::fs::remove_dir(&p).or_else(|_| std::fs::remove_file(&p));
        }
        let _ = d.images.snapshots().remove(&view_key(id, i));
    }
}
