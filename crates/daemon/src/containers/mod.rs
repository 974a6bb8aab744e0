//! The container service: every container berthd knows, by id and by name. Each
//! container has one owner, a task that alone changes its record (the config and
//! state of [`record`]); readers see the record it last published, and waiters the
//! changes it counts (starts, exits, removal).
//!
//! - [`create`](create::create) merges the config over the image's, prepares the
//!   writable snapshot and the container's files, records it and starts its owner;
//! - [`machine`]: the owner's transitions, one pure function of (state, input) to
//!   (state, effects), made of Docker's rules in [`lifecycle`] and [`health`];
//! - [`owner`]: the task that carries the effects out; [`run`] what a run holds and
//!   how it is launched and released; [`monitor`] waits for a run's exit; [`probe`]
//!   runs the healthcheck;
//! - [`ops`]: the commands as clients give them; [`restore`]: live restore at daemon
//!   start and the stop at a shutdown without it;
//! - [`view`]: inspect, `ps` and their filters; [`logs`]; [`attach`].
//!
//! On disk: `<data-root>/containers/<id>/` holds `container.json`, the json-file log,
//! `hostname`, `hosts`, `resolv.conf` and `rootfs/` (the mount point);
//! `<exec-root>/containers/<id>/` holds `bundle/config.json` and `shim/` (the shim's
//! sockets and exit record); `<exec-root>/runtime` is the runtime's state root.

pub mod archive;
pub mod attach;
pub mod commit;
pub mod create;
pub mod devices;
pub mod diff;
pub mod engine;
pub mod etc;
pub mod exec;
pub mod export;
pub mod fsview;
pub mod health;
pub mod image_mounts;
pub mod lifecycle;
pub mod links;
pub mod logs;
pub mod machine;
pub mod merge;
pub mod monitor;
pub mod names;
pub mod ops;
pub mod owner;
pub mod probe;
pub mod record;
pub mod resources;
pub mod restore;
pub mod run;
pub mod seccomp;
pub mod security_opts;
pub mod spec;
pub mod stats;
pub mod top;
pub mod update;
pub mod user;
pub mod view;
pub mod volumes;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::{mpsc, watch};

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
    /// `<exec-root>/fsview`: an empty directory a stopped container's filesystem is
    /// mounted over, in a private mount namespace, for the archive endpoints.
    pub fsview: PathBuf,
}

impl Paths {
    pub fn new(data_root: &Path, exec_root: &Path) -> Paths {
        Paths {
            data: data_root.join("containers"),
            exec: exec_root.join("containers"),
            runtime_root: exec_root.join("runtime"),
            shims: exec_root.join("s"),
            runtimes: exec_root.join("runtimes"),
            fsview: exec_root.join("fsview"),
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
        if run::is_mounted(&legacy) { legacy } else { self.rootfs(id) }
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
    /// A start attempt failed.
    pub failed_starts: u64,
    pub removed: bool,
}

impl Changes {
    fn count(&mut self, change: machine::Change) {
        use machine::Change;
        match change {
            Change::Starting => self.starting += 1,
            Change::Started => self.started += 1,
            Change::FailedStart => self.failed_starts += 1,
            Change::Exited => self.exits += 1,
            Change::Removed => self.removed = true,
        }
    }
}

/// What readers see of a container: its record as its owner last published it, and
/// the changes so far, always consistent with each other.
#[derive(Debug, Clone)]
pub struct Published {
    pub record: Arc<Record>,
    pub changes: Changes,
}

/// How the owner answers a command.
pub type Reply = tokio::sync::oneshot::Sender<Result<()>>;
pub type Message = machine::Input<Reply>;

/// A container's mailbox, read by its owner task ([`owner`]).
pub struct Mailbox(mpsc::UnboundedReceiver<Message>);

impl Mailbox {
    pub async fn recv(&mut self) -> Option<Message> {
        self.0.recv().await
    }
}

/// A handle on one container: what readers see, and the mailbox of the task that
/// owns it. Nothing else changes a container.
pub struct Container {
    pub id: String,
    published: watch::Sender<Published>,
    mailbox: mpsc::UnboundedSender<Message>,
    /// Attach clients waiting for the container to start; the shim then holds the
    /// start until the first of them is connected, so none of the output is lost.
    attach_waiting: AtomicUsize,
}

impl Container {
    /// The handle, and the mailbox its owner reads.
    pub fn new(record: Record) -> (Arc<Container>, Mailbox) {
        let (tx, rx) = mpsc::unbounded_channel();
        let c = Container {
            id: record.id.clone(),
            published: watch::Sender::new(Published { record: Arc::new(record), changes: Changes::default() }),
            mailbox: tx,
            attach_waiting: AtomicUsize::new(0),
        };
        (Arc::new(c), Mailbox(rx))
    }

    /// Asks the owner to carry out `command`; answers when it is done (or refused).
    pub async fn ask(&self, command: machine::Command) -> Result<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(machine::Input::Command(command, Some(tx)));
        rx.await.unwrap_or_else(|_| Err(Error::not_found(format!("No such container: {}", self.id))))
    }

    /// Live restore: tells the owner what berthd found; answers once it acted on it.
    pub async fn restore(&self, found: machine::Found) -> Result<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(machine::Input::Restore(found, Some(tx)));
        rx.await.unwrap_or(Ok(()))
    }

    /// Hands the owner an event; dropped when the owner is gone.
    pub fn send(&self, input: Message) {
        let _ = self.mailbox.send(input);
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

    /// The record as last published.
    pub fn record(&self) -> Arc<Record> {
        self.published.borrow().record.clone()
    }

    pub fn status(&self) -> Status {
        self.published.borrow().record.state.status
    }

    pub fn name(&self) -> String {
        self.published.borrow().record.name.clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Published> {
        self.published.subscribe()
    }

    /// The owner publishes the record (and a change, if one happened).
    fn publish(&self, record: &Record, change: Option<machine::Change>) {
        self.published.send_modify(|p| {
            p.record = Arc::new(record.clone());
            if let Some(ch) = change {
                p.changes.count(ch);
            }
        });
    }
}

#[derive(Default)]
struct Index {
    by_id: BTreeMap<String, Arc<Container>>,
    /// Name (without `/`) → id. A name is reserved here before its container exists.
    names: BTreeMap<String, String>,
}

/// The container service: every container berthd knows, and the handles it works
/// with (the daemon's configuration, the event bus, the image store), given to it by
/// berthd's composition root. Routes call it; it knows nothing of HTTP or of them.
pub struct Containers {
    pub config: Arc<crate::config::Config>,
    pub events: Arc<crate::events::Events>,
    pub images: Arc<image::store::Store>,
    pub networks: Arc<crate::networks::Networks>,
    pub volumes: Arc<volume::Store>,
    pub paths: Paths,
    index: RwLock<Index>,
    /// The `berth-shim` executable.
    pub shim: PathBuf,
    pub execs: exec::Execs,
    /// Removed containers whose snapshot and directories are still being freed.
    releasing: watch::Sender<usize>,
    /// A shim started ahead of time (`berth-shim spare`), for the next start.
    spare: Mutex<Option<tokio::process::Child>>,
}

/// One removal finishing in the background; counted until dropped.
pub struct Releasing(watch::Sender<usize>);

impl Drop for Releasing {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

impl Containers {
    /// Loads every container record under the data root. Directories without a
    /// readable record are the leftovers of a create that crashed: returned for repair,
    /// with the loaded containers' mailboxes for their owners ([`restore`]).
    pub fn open(
        config: Arc<crate::config::Config>,
        events: Arc<crate::events::Events>,
        images: Arc<image::store::Store>,
        networks: Arc<crate::networks::Networks>,
        volumes: Arc<volume::Store>,
    ) -> std::io::Result<(Containers, restore::Loaded)> {
        let paths = Paths::new(&config.data_root, &config.exec_root);
        std::fs::create_dir_all(&paths.data)?;
        std::fs::create_dir_all(&paths.exec)?;
        for dir in [&paths.data, &paths.exec, &paths.shims] {
            empty_trash(dir);
        }
        let mut index = Index::default();
        let mut broken = Vec::new();
        let mut owners = Vec::new();
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
                    let (c, mailbox) = Container::new(r);
                    index.by_id.insert(id, c.clone());
                    owners.push((c, mailbox));
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
                networks,
                volumes,
                paths,
                index: RwLock::new(index),
                shim: shim_path(),
                execs: exec::Execs::default(),
                releasing: watch::Sender::new(0),
                spare: Mutex::new(None),
            },
            restore::Loaded { broken, owners },
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

    fn insert(&self, c: Arc<Container>) {
        self.index.write().expect("index lock").by_id.insert(c.id.clone(), c);
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

    pub fn begin_release(&self) -> Releasing {
        self.releasing.send_modify(|n| *n += 1);
        Releasing(self.releasing.clone())
    }

    /// Waits (a while at most) until the background removals are done: an image
    /// removal right after `run --rm` must not find the container's snapshot still there.
    pub async fn settled(&self) {
        let mut rx = self.releasing.subscribe();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), rx.wait_for(|n| *n == 0)).await;
    }

    fn forget(&self, id: &str) {
        let mut idx = self.index.write().expect("index lock");
        idx.by_id.remove(id);
        idx.names.retain(|_, owner| owner != id);
    }

    /// The containers using image `image_id`, for `rmi`.
    pub fn using_image(&self, image_id: &str) -> Option<image::metadata::UsedBy> {
        let idx = self.index.read().expect("index lock");
        let mut users: Vec<(String, bool)> = idx
            .by_id
            .values()
            .filter_map(|c| {
                let r = c.record();
                let uses = r.image_id == image_id || r.image_mounts.iter().any(|m| m.image_id == image_id);
                uses.then(|| (r.id.clone(), r.state.status.is_live()))
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
