//! The container manager: every container berthd knows, by id and by name, each with
//! its record (the config and state of [`record`]), a lock that serialises operations
//! on it, and a channel that tells waiters when it starts, exits or is removed.
//!
//! - [`create`](create::create) merges the config over the image's, prepares the
//!   writable snapshot and the container's files, and records it;
//! - [`ops`]: start (mount, bundle, shim), stop, kill, pause, restart, rename, remove;
//! - [`monitor`]: one task per running container waits on its shim for the exit, then
//!   cleans up and applies `--rm` and the restart policy; and live restore at start;
//! - [`health`]: the healthcheck's monitor, one task per running container that has one;
//! - [`view`]: inspect, `ps` and their filters; [`logs`]; [`attach`].
//!
//! On disk: `<data-root>/containers/<id>/` holds `container.json`, the json-file log,
//! `hostname`, `hosts`, `resolv.conf` and `rootfs/` (the mount point);
//! `<exec-root>/containers/<id>/` holds `bundle/config.json` and `shim/` (the shim's
//! sockets and exit record); `<exec-root>/runtime` is the runtime's state root.

pub mod attach;
pub mod create;
pub mod devices;
pub mod diff;
pub mod engine;
pub mod exec;
pub mod export;
pub mod health;
pub mod lifecycle;
pub mod logs;
pub mod merge;
pub mod monitor;
pub mod names;
pub mod ops;
pub mod record;
pub mod resources;
pub mod seccomp;
pub mod security_opts;
pub mod spec;
pub mod stats;
pub mod top;
pub mod update;
pub mod user;
pub mod view;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::watch;

use crate::error::{Error, Result};
use record::{Record, Status};

/// Where a container's files live.
#[derive(Debug, Clone)]
pub struct Paths {
    /// `<data-root>/containers`.
    pub data: PathBuf,
    /// `<exec-root>/containers`.
    pub exec: PathBuf,
    /// The runtime's state root, `<exec-root>/runtime`.
    pub runtime_root: PathBuf,
    /// `<exec-root>/s`: the shims' directories.
    pub shims: PathBuf,
    /// `<exec-root>/runtimes`: state roots of runtime binaries (runc, crun).
    pub runtimes: PathBuf,
}

impl Paths {
    pub fn new(data_root: &Path, exec_root: &Path) -> Paths {
        Paths {
            data: data_root.join("containers"),
            exec: exec_root.join("containers"),
            runtime_root: exec_root.join("runtime"),
            shims: exec_root.join("s"),
            runtimes: exec_root.join("runtimes"),
        }
    }
    pub fn dir(&self, id: &str) -> PathBuf {
        self.data.join(id)
    }

    /// Closes the containers' directories to other users: a mounted rootfs below them
    /// holds whatever setuid binary a container made (as Docker's 0710 overlay2 root).
    /// With remapping, the remapped root's group may traverse the run directories (the
    /// container's init resolves its mounts there).
    pub fn restrict(&self, remap_gid: Option<u32>) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&self.data, std::fs::Permissions::from_mode(0o700))?;
        match remap_gid {
            None => std::fs::set_permissions(&self.exec, std::fs::Permissions::from_mode(0o700)),
            Some(gid) => {
                std::os::unix::fs::chown(&self.exec, Some(0), Some(gid))?;
                std::fs::set_permissions(&self.exec, std::fs::Permissions::from_mode(0o710))
            }
        }
    }
    /// `<exec-root>/containers/<id>`: what one run needs and a reboot forgets (the
    /// bundle, the rootfs mount point, hostname, hosts and resolv.conf, written at
    /// each start). On tmpfs, so a run makes and frees no inodes on the data-root's disk.
    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.exec.join(id)
    }
    pub fn rootfs(&self, id: &str) -> PathBuf {
        self.run_dir(id).join("rootfs")
    }
    /// Where releases before the rootfs moved to the exec-root mounted it; a container
    /// started by one of them may still be running across an upgrade.
    pub fn legacy_rootfs(&self, id: &str) -> PathBuf {
        self.data.join(id).join("rootfs")
    }

    /// Where a running container's rootfs is mounted: [`Self::rootfs`], or the legacy
    /// path for one an older berthd started.
    pub fn live_rootfs(&self, id: &str) -> PathBuf {
        let legacy = self.legacy_rootfs(id);
        if ops::is_mounted(&legacy) { legacy } else { self.rootfs(id) }
    }
    pub fn log(&self, id: &str) -> PathBuf {
        self.data.join(id).join(format!("{id}-json.log"))
    }
    pub fn bundle(&self, id: &str) -> PathBuf {
        self.run_dir(id).join("bundle")
    }
    /// The shim's directory, kept short (`<exec-root>/s/<short id>`): its sockets'
    /// paths must fit in a sockaddr_un (108 bytes) under any reasonable exec-root.
    /// Short ids are unique among the containers of a daemon (see `create`).
    pub fn shim(&self, id: &str) -> PathBuf {
        self.shims.join(&id[..id.len().min(12)])
    }
    /// The engine a container runs on.
    pub fn engine(&self, r: &Record, config: &crate::config::Config) -> engine::Engine {
        engine::Engine::named(&r.host_config.runtime, config, self)
    }

    /// The running container `r`, driven through its shim.
    pub fn task(&self, r: &Record, config: &crate::config::Config) -> engine::Task {
        engine::Task::new(&r.id, self.shim(&r.id), self.engine(r, config))
    }

    pub fn runtime(&self) -> runtime::Runtime {
        runtime::Runtime {
            store: runtime::state::Store::new(&self.runtime_root),
            systemd_cgroup: false,
        }
    }
}

/// What waiters watch: counters that only grow, so no change is missed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changes {
    /// A start began: the shim's attach socket is about to appear.
    pub starting: u64,
    /// Starts that completed (the container runs).
    pub started: u64,
    /// Exits recorded (state and exit code; waiters may answer).
    pub exits: u64,
    /// Exits whose resources (shim, runtime state, rootfs mount) are released; a new
    /// start or a removal waits until this catches up with `exits`.
    pub cleanups: u64,
    /// A start attempt failed.
    pub failed_starts: u64,
    pub removed: bool,
}

pub struct Container {
    pub id: String,
    record: Mutex<Record>,
    /// Serialises operations on this container (held across awaits).
    op: Arc<tokio::sync::Mutex<()>>,
    changes: watch::Sender<Changes>,
    /// Attach clients waiting for the container to start; the shim then holds the
    /// start until the first of them is connected, so none of the output is lost.
    attach_waiting: AtomicUsize,
    /// The restart policy's current back-off.
    backoff: Mutex<std::time::Duration>,
    /// A `restart` is stopping it: its exit must not remove an `--rm` container.
    restarting_by_hand: std::sync::atomic::AtomicBool,
    /// The healthcheck's monitor while one runs.
    health: Mutex<Option<health::Monitor>>,
}

impl Container {
    fn new(record: Record) -> Container {
        Container {
            id: record.id.clone(),
            record: Mutex::new(record),
            op: Arc::new(tokio::sync::Mutex::new(())),
            changes: watch::Sender::new(Changes::default()),
            restarting_by_hand: std::sync::atomic::AtomicBool::new(false),
            attach_waiting: AtomicUsize::new(0),
            backoff: Mutex::new(std::time::Duration::ZERO),
            health: Mutex::new(None),
        }
    }

    /// Waits for the container's other operations to finish; this one runs until the
    /// guard drops.
    pub async fn operation(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.op.clone().lock_owned().await
    }

    /// An attach client waits for the start (`true`) or has gone (`false`).
    pub fn attach_waits(&self, waiting: bool) {
        use std::sync::atomic::Ordering;
        if waiting {
            self.attach_waiting.fetch_add(1, Ordering::SeqCst);
        } else {
            self.attach_waiting.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Whether a start should wait for an attach client.
    pub fn attach_waiting(&self) -> bool {
        self.attach_waiting.load(std::sync::atomic::Ordering::SeqCst) > 0
    }

    /// A user's start: the restart policy's back-off begins again.
    pub fn reset_backoff(&self) {
        *self.backoff.lock().expect("backoff lock") = std::time::Duration::ZERO;
    }

    /// The wait before the policy's next restart, after a run that lasted `ran`.
    pub fn next_backoff(&self, ran: std::time::Duration) -> std::time::Duration {
        let mut b = self.backoff.lock().expect("backoff lock");
        *b = lifecycle::next_backoff(*b, ran);
        *b
    }

    /// A user's `restart` is stopping it (its exit keeps an `--rm` container).
    pub fn set_restarting_by_hand(&self, on: bool) {
        self.restarting_by_hand.store(on, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn restarting_by_hand(&self) -> bool {
        self.restarting_by_hand.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The healthcheck's monitor, replaced (`Some`) or taken away (`None`); the one it
    /// held is returned.
    fn swap_health(&self, monitor: Option<health::Monitor>) -> Option<health::Monitor> {
        std::mem::replace(&mut *self.health.lock().expect("health lock"), monitor)
    }

    /// A copy of the record.
    pub fn record(&self) -> Record {
        self.record.lock().expect("record lock").clone()
    }

    pub fn status(&self) -> Status {
        self.record.lock().expect("record lock").state.status
    }

    pub fn name(&self) -> String {
        self.record.lock().expect("record lock").name.clone()
    }

    /// Changes the record in memory and on disk (atomically); returns the new record.
    pub fn update(&self, paths: &Paths, f: impl FnOnce(&mut Record)) -> Result<Record> {
        let mut r = self.record.lock().expect("record lock");
        let mut next = r.clone();
        f(&mut next);
        next.save(&paths.dir(&self.id)).map_err(|e| {
            Error::internal(format!("save the state of container {}: {e}", self.id))
        })?;
        *r = next.clone();
        Ok(next)
    }

    pub fn subscribe(&self) -> watch::Receiver<Changes> {
        self.changes.subscribe()
    }

    pub fn notify(&self, f: impl FnOnce(&mut Changes)) {
        self.changes.send_modify(f);
    }

    /// Waits until the last exit's clean-up is done.
    pub async fn cleaned_up(&self) {
        let _ = self.subscribe().wait_for(|ch| ch.cleanups >= ch.exits).await;
    }
}

#[derive(Default)]
struct Index {
    by_id: HashMap<String, Arc<Container>>,
    /// Name (without `/`) → id. A name is reserved here before its container exists.
    names: HashMap<String, String>,
}

/// The container service: every container berthd knows, and the handles it works
/// with (the daemon's configuration, the event bus, the image store), given to it by
/// berthd's composition root. Routes call it; it knows nothing of HTTP or of them.
pub struct Containers {
    pub config: Arc<crate::config::Config>,
    pub events: Arc<crate::events::Events>,
    pub images: Arc<image::store::Store>,
    pub paths: Paths,
    index: RwLock<Index>,
    /// The `berth-shim` executable.
    pub shim: PathBuf,
    pub execs: exec::Execs,
    /// Removed containers whose snapshot and directories are still being freed.
    releasing: watch::Sender<usize>,
    /// A shim started ahead of time (`berth-shim spare`), for the next start.
    spare: Mutex<Option<tokio::process::Child>>,
    /// berthd stops its containers on its way out (no live restore): exits then
    /// restart nothing.
    pub shutting_down: std::sync::atomic::AtomicBool,
}

/// One removal finishing in the background; counted until dropped.
pub struct Releasing<'a>(&'a watch::Sender<usize>);

impl Drop for Releasing<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

impl Containers {
    /// Loads every container record under the data root. Directories without a
    /// readable record are the leftovers of a create that crashed: returned for repair.
    pub fn open(
        config: Arc<crate::config::Config>,
        events: Arc<crate::events::Events>,
        images: Arc<image::store::Store>,
    ) -> std::io::Result<(Containers, Vec<String>)> {
        let paths = Paths::new(&config.data_root, &config.exec_root);
        std::fs::create_dir_all(&paths.data)?;
        std::fs::create_dir_all(&paths.exec)?;
        for dir in [&paths.data, &paths.exec, &paths.shims] {
            empty_trash(dir);
        }
        let mut index = Index::default();
        let mut broken = Vec::new();
        for entry in std::fs::read_dir(&paths.data)? {
            let entry = entry?;
            let Some(id) = entry.file_name().to_str().map(String::from) else {
                continue;
            };
            if id.starts_with('.') {
                continue;
            }
            match Record::load(&entry.path()) {
                Ok(r) if r.id == id => {
                    // A container being removed gave its name up already (an --rm one
                    // at its exit): a newer container holding it keeps it.
                    if r.state.status == Status::Removing {
                        index.names.entry(r.name.clone()).or_insert_with(|| id.clone());
                    } else {
                        index.names.insert(r.name.clone(), id.clone());
                    }
                    index.by_id.insert(id, Arc::new(Container::new(r)));
                }
                // No record: a create that crashed before writing it; its leftovers go.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => broken.push(id),
                // A record that cannot be read is kept, untouched, for a human to look at.
                Ok(_) => tracing::warn!("{}: the record names another container; skipped", entry.path().display()),
                Err(e) => tracing::warn!("{}: unreadable container record ({e}); skipped", entry.path().display()),
            }
        }
        Ok((
            Containers {
                config,
                events,
                images,
                paths,
                index: RwLock::new(index),
                shim: shim_path(),
                execs: exec::Execs::default(),
                releasing: watch::Sender::new(0),
                spare: Mutex::new(None),
                shutting_down: std::sync::atomic::AtomicBool::new(false),
            },
            broken,
        ))
    }

    pub fn all(&self) -> Vec<Arc<Container>> {
        self.index
            .read()
            .expect("index lock")
            .by_id
            .values()
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.index.read().expect("index lock").by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Finds a container by full id, name (with or without `/`) or unique id prefix,
    /// in Docker's order.
    pub fn get(&self, name_or_id: &str) -> Result<Arc<Container>> {
        let idx = self.index.read().expect("index lock");
        let not_found = || Error::not_found(format!("No such container: {name_or_id}"));
        if name_or_id.is_empty() {
            return Err(not_found());
        }
        if let Some(c) = idx.by_id.get(name_or_id) {
            return Ok(c.clone());
        }
        let bare = name_or_id.strip_prefix('/').unwrap_or(name_or_id);
        if let Some(c) = idx.names.get(bare).and_then(|id| idx.by_id.get(id)) {
            return Ok(c.clone());
        }
        let mut found = idx
            .by_id
            .iter()
            .filter(|(id, _)| id.starts_with(name_or_id));
        match (found.next(), found.next()) {
            (Some((_, c)), None) => Ok(c.clone()),
            (Some(_), Some(_)) => Err(Error::invalid(format!(
                "multiple IDs found with provided prefix: {name_or_id}"
            ))),
            _ => Err(not_found()),
        }
    }

    /// Reserves `name` for `id`; Docker's conflict message when taken.
    pub fn reserve_name(&self, name: &str, id: &str) -> Result<()> {
        let mut idx = self.index.write().expect("index lock");
        if let Some(owner) = idx.names.get(name) {
            return Err(Error::conflict(format!(
                "Conflict. The container name \"/{name}\" is already in use by container \"{owner}\". You have to remove (or rename) that container to be able to reuse that name."
            )));
        }
        idx.names.insert(name.to_string(), id.to_string());
        Ok(())
    }

    pub fn release_name(&self, name: &str, id: &str) {
        let mut idx = self.index.write().expect("index lock");
        if idx.names.get(name).is_some_and(|owner| owner == id) {
            idx.names.remove(name);
        }
    }

    /// Whether an id's 12-digit short form is already some container's.
    pub fn short_id_taken(&self, id: &str) -> bool {
        self.index
            .read()
            .expect("index lock")
            .by_id
            .keys()
            .any(|k| k[..12] == id[..12])
    }

    fn insert(&self, record: Record) -> Arc<Container> {
        let c = Arc::new(Container::new(record));
        self.index
            .write()
            .expect("index lock")
            .by_id
            .insert(c.id.clone(), c.clone());
        c
    }

    /// Starts a spare shim unless one waits already. Blocking (a process start), in
    /// the runtime's context: once it serves a container, the shim is berthd's child,
    /// reaped by tokio when it exits.
    pub fn fill_spare(&self) {
        let mut slot = self.spare.lock().expect("spare lock");
        if slot.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None))) {
            return;
        }
        *slot = self.new_spare().ok();
    }

    /// A new `berth-shim spare`, waiting for a start's arguments on its stdin.
    pub fn new_spare(&self) -> std::io::Result<tokio::process::Child> {
        tokio::process::Command::new(&self.shim)
            .arg("spare")
            // Room for the id `ps` shows once the spare serves a container.
            .arg("_".repeat(64))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
    }

    /// The spare shim, if one is alive; the caller sends it its arguments.
    pub fn take_spare(&self) -> Option<tokio::process::Child> {
        let mut spare = self.spare.lock().expect("spare lock").take()?;
        match spare.try_wait() {
            Ok(None) => Some(spare),
            _ => None,
        }
    }

    pub fn begin_release(&self) -> Releasing<'_> {
        self.releasing.send_modify(|n| *n += 1);
        Releasing(&self.releasing)
    }

    /// Waits (a while at most) until the background removals are done: an image
    /// removal right after `run --rm` must not find the container's snapshot still there.
    pub async fn settled(&self) {
        let mut rx = self.releasing.subscribe();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), rx.wait_for(|n| *n == 0)).await;
    }

    fn forget(&self, c: &Container) {
        let mut idx = self.index.write().expect("index lock");
        idx.by_id.remove(&c.id);
        idx.names.retain(|_, id| *id != c.id);
    }

    /// The containers using image `image_id`, for `rmi`.
    pub fn using_image(&self, image_id: &str) -> Option<image::metadata::UsedBy> {
        let idx = self.index.read().expect("index lock");
        let mut users: Vec<(String, bool)> = idx
            .by_id
            .values()
            .filter_map(|c| {
                let r = c.record.lock().expect("record lock");
                (r.image_id == image_id).then(|| (r.id.clone(), r.state.status.is_live()))
            })
            .collect();
        // A running user is reported first: it is what makes even `-f` refuse.
        users.sort_by_key(|(_, running)| !running);
        users
            .into_iter()
            .next()
            .map(|(container, running)| image::metadata::UsedBy { container, running })
    }
}

/// Moves `dir` aside as `.trash-<name>` in its parent and deletes it on another
/// thread. Directories whose names start with `.` are never containers.
pub fn trash(dir: &Path) -> std::io::Result<()> {
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return std::fs::remove_dir_all(dir);
    };
    let aside = parent.join(format!(".trash-{}-{}", name.to_string_lossy(), names::new_id()));
    std::fs::rename(dir, &aside)?;
    std::thread::spawn(move || {
        let _ = std::fs::remove_dir_all(&aside);
    });
    Ok(())
}

/// Deletes what `trash` left behind when berthd stopped before it finished.
fn empty_trash(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with(".trash-") {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// `berth-shim` beside the daemon's executable (how berth installs and how cargo
/// builds it), else from `PATH`.
fn shim_path() -> PathBuf {
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        let p = dir.join("berth-shim");
        if p.exists() {
            return p;
        }
    }
    PathBuf::from("berth-shim")
}
