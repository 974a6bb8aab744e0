//! `docker export`: the container's filesystem as a tar stream. A running container's
//! mounted rootfs is read as it is; a stopped one's snapshot is mounted for the export
//! (and a remapped one's layers are read through a plain read-only view, so the tar
//! has the ids on disk, not the idmapped ones).

use std::path::PathBuf;
use std::sync::Arc;

use super::machine::{Command, Input};
use super::{Container, names, run};
use crate::error::{Error, Result};
use super::Containers;

/// A filesystem ready to be written out; what was mounted for it is released when the
/// export ends.
pub struct Export {
    id: String,
    dir: PathBuf,
    /// Mounted for this export (else the live rootfs).
    own_mount: bool,
    /// Held until the export ends: no start, mount or removal of the same snapshot meanwhile.
    _hold: Hold,
}

/// The container's owner holds it still until this drops (asked or not: a request
/// given up while it waited its turn never holds).
pub struct Hold(Arc<Container>, u64);

/// Waits for the container's owner to hold it still: no start, stop or removal until
/// the hold drops.
pub async fn hold(c: &Arc<Container>) -> Result<Hold> {
    let lease = LEASES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let hold = Hold(c.clone(), lease);
    c.ask(Command::Hold { lease }).await?;
    Ok(hold)
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.0.send(Input::Unhold { lease: self.1 });
    }
}

/// Each hold's own number.
static LEASES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Export {
    /// Mounts what the export reads (a failure is an error reply, not a cut stream) and
    /// publishes the `export` event.
    pub async fn prepare(d: &Arc<Containers>, c: &Arc<Container>) -> Result<Export> {
        let hold = hold(c).await?;
        let r = c.record();
        let (d2, c2) = (d.clone(), c.clone());
        let (dir, own_mount) = tokio::task::spawn_blocking(move || mount_for_export(&d2, &c2))
            .await
            .map_err(|e| Error::internal(e.to_string()))??;
        d.events.publish("container", "export", &c.id, super::view::event_attributes(&r));
        Ok(Export { id: c.id.clone(), dir, own_mount, _hold: hold })
    }

    /// Writes the tar stream (blocking), then releases the export's mount.
    pub fn write_to(self, out: impl std::io::Write) {
        if let Err(e) = image::archive::export(&self.dir, out) {
            tracing::warn!(container = %self.id, "export: {e}");
        }
        if self.own_mount {
            run::unmount_all(&self.dir);
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}

fn mount_for_export(d: &Containers, c: &Container) -> Result<(PathBuf, bool)> {
    let r = c.record();
    let live_rootfs = d.paths.live_rootfs(&c.id);
    let live = run::is_mounted(&live_rootfs);
    let remapped = crate::userns::for_container(d.config.remap.as_deref(), &r.host_config).is_some();
    if live && !remapped {
        return Ok((live_rootfs, false));
    }
    let dir = d.paths.dir(&c.id).join(format!("export-{}", names::new_id()));
    let mounts = d.images.snapshots().mounts(&c.id).map_err(|e| Error::internal(e.to_string()))?;
    let mounts = if live { image::snapshot::read_only_view(&mounts) } else { mounts };
    std::fs::create_dir_all(&dir).map_err(|e| Error::internal(e.to_string()))?;
    if let Err(e) = image::snapshot::mount_all(&mounts, &dir) {
        let _ = std::fs::remove_dir(&dir);
        return Err(Error::internal(format!("mount the container's filesystem: {e}")));
    }
    Ok((dir, true))
}
