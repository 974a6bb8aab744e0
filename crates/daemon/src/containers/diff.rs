//! `GET /containers/{id}/changes` (`docker diff`): the container's writable layer
//! compared with its image's layers. Every entry of the overlay's upper directory is
//! a change: a whiteout (a 0/0 character device) is a deletion, an entry the image
//! also has is a modification, any other an addition. The image's layers are looked
//! up with openat2(RESOLVE_IN_ROOT), so a symlink in a layer never leads outside it.

use std::os::fd::OwnedFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use api::containers::ContainerChange;

/// The changes of a container's filesystem against its image (blocking work off the
/// async workers).
pub async fn of(d: &std::sync::Arc<super::Containers>, c: &super::Container) -> crate::error::Result<Vec<ContainerChange>> {
    use crate::error::Error;
    let (d, id) = (d.clone(), c.id.clone());
    tokio::task::spawn_blocking(move || {
        let mounts = d.images.snapshots().mounts(&id).map_err(|e| Error::internal(e.to_string()))?;
        let (upper, lowers) = layers_of(&mounts).map_err(Error::internal)?;
        changes(&upper, &lowers).map_err(Error::internal)
    })
    .await
    .map_err(|e| Error::internal(e.to_string()))?
}

/// The upper directory and the lower layers (top first) of an overlay mount.
pub fn layers_of(mounts: &[image::snapshot::Mount]) -> Result<(PathBuf, Vec<PathBuf>), String> {
    let m = mounts.first().ok_or("the container has no filesystem")?;
    if m.fstype != "overlay" {
        return Err("changes are only known for containers on the overlay driver".into());
    }
    let opt = |key: &str| m.options.iter().find_map(|o| o.strip_prefix(key).map(String::from));
    let upper = opt("upperdir=").ok_or("the container's overlay has no upper directory")?;
    let lowers = opt("lowerdir=").map(|l| l.split(':').map(PathBuf::from).collect()).unwrap_or_default();
    Ok((PathBuf::from(upper), lowers))
}

fn in_lower(lowers: &[OwnedFd], rel: &Path) -> bool {
    lowers.iter().any(|root| {
        runtime::rootfs::open_in_root(root, rel, libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC, 0).is_ok()
    })
}

/// The changes, sorted by path.
pub fn changes(upper: &Path, lowers: &[PathBuf]) -> Result<Vec<ContainerChange>, String> {
    let roots: Vec<OwnedFd> = lowers
        .iter()
        .map(|l| std::fs::File::open(l).map(OwnedFd::from).map_err(|e| format!("open {}: {e}", l.display())))
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    walk(upper, Path::new("/"), &roots, &mut out)?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(without_mount_points(out))
}

/// Files berth binds over the image's (created in the writable layer when the image
/// lacks them) are not the container's changes: Docker keeps them in a layer of its
/// own. Nor is a directory that changed only because of them.
fn without_mount_points(changes: Vec<ContainerChange>) -> Vec<ContainerChange> {
    const MOUNT_POINTS: &[&str] = &["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"];
    let skipped = |c: &ContainerChange| c.kind == ContainerChange::ADDED && MOUNT_POINTS.contains(&c.path.as_str());
    let parents: Vec<String> = changes
        .iter()
        .filter(|c| skipped(c))
        .filter_map(|c| Path::new(&c.path).parent().map(|p| p.to_string_lossy().into_owned()))
        .collect();
    let kept: Vec<ContainerChange> = changes.into_iter().filter(|c| !skipped(c)).collect();
    let has_child = |dir: &str| kept.iter().any(|c| c.path.starts_with(&format!("{dir}/")));
    kept.iter()
        .filter(|c| !(c.kind == ContainerChange::MODIFIED && parents.contains(&c.path) && !has_child(&c.path)))
        .cloned()
        .collect()
}

fn walk(dir: &Path, rel: &Path, lowers: &[OwnedFd], out: &mut Vec<ContainerChange>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("read {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let meta = entry.metadata().map_err(|e| e.to_string())?;
        let path = rel.join(entry.file_name());
        let display = path.to_string_lossy().into_owned();
        if meta.file_type().is_char_device() && meta.rdev() == 0 {
            out.push(ContainerChange { path: display, kind: ContainerChange::DELETED });
            continue;
        }
        let kind = if in_lower(lowers, &path) { ContainerChange::MODIFIED } else { ContainerChange::ADDED };
        out.push(ContainerChange { path: display, kind });
        if meta.is_dir() {
            walk(&entry.path(), &path, lowers, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berths_mount_points_are_not_changes() {
        let c = |p: &str, k| ContainerChange { path: p.into(), kind: k };
        let got = without_mount_points(vec![
            c("/etc", ContainerChange::MODIFIED),
            c("/etc/hostname", ContainerChange::ADDED),
            c("/etc/resolv.conf", ContainerChange::ADDED),
        ]);
        assert!(got.is_empty(), "{got:?}");
        let got = without_mount_points(vec![
            c("/etc", ContainerChange::MODIFIED),
            c("/etc/hostname", ContainerChange::ADDED),
            c("/etc/mine", ContainerChange::ADDED),
        ]);
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn additions_modifications_and_whiteouts() {
        let lower = tempfile::tempdir().unwrap();
        let upper = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(lower.path().join("etc")).unwrap();
        std::fs::write(lower.path().join("etc/passwd"), "x").unwrap();
        std::fs::write(lower.path().join("gone"), "x").unwrap();
        // A symlink in the image that points outside: looked up inside the layer only.
        std::os::unix::fs::symlink("/", lower.path().join("escape")).unwrap();
        std::fs::create_dir_all(upper.path().join("etc")).unwrap();
        std::fs::write(upper.path().join("etc/passwd"), "y").unwrap();
        std::fs::write(upper.path().join("etc/new"), "n").unwrap();
        // /escape/tmp: resolved in the layer, /escape is its root, which has no tmp
        // (the host's /tmp, reached by following the link, must not count).
        std::fs::create_dir_all(upper.path().join("escape/tmp")).unwrap();
        nix::sys::stat::mknod(&upper.path().join("gone"), nix::sys::stat::SFlag::S_IFCHR, nix::sys::stat::Mode::empty(), 0).unwrap();
        let got: Vec<(String, u8)> = changes(upper.path(), &[lower.path().to_path_buf()])
            .unwrap()
            .into_iter()
            .map(|c| (c.path, c.kind))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/escape".into(), ContainerChange::MODIFIED),
                ("/escape/tmp".into(), ContainerChange::ADDED),
                ("/etc".into(), ContainerChange::MODIFIED),
                ("/etc/new".into(), ContainerChange::ADDED),
                ("/etc/passwd".into(), ContainerChange::MODIFIED),
                ("/gone".into(), ContainerChange::DELETED),
            ]
        );
    }
}
