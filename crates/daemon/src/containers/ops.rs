//! Operations on one container, each under the container's operation lock so that
//! two never interleave: start (mount the snapshot, write the bundle, launch the
//! shim), stop, kill, pause, unpause, restart, rename and remove, with Docker's state
//! rules and messages.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use nix::sys::signal::Signal;

use super::record::{Record, Status};
use super::lifecycle::{self, Admission, Command as Op, Subject};
use super::{Container, Paths, engine, health, monitor, spec, user};
use crate::error::{Error, ErrorKind, Result};
use super::Containers;

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("container task: {e}")))
}

/// `KILL`, `SIGKILL`, `sigkill`, `9` → the signal (the runtime's table); Docker's
/// message otherwise.
pub fn parse_signal(s: &str) -> Result<Signal> {
    runtime::signal::parse(s).map_err(|_| Error::invalid(format!("Invalid signal: {s}")))
}

/// The signal `stop` sends first: the container's StopSignal or SIGTERM.
fn stop_signal(r: &Record) -> Signal {
    parse_signal(&r.config.stop_signal).unwrap_or(Signal::SIGTERM)
}

/// Whether `path` is the root of a mount: one statx, where reading mountinfo would
/// cost a line per mount on the host (every running container has one).
pub fn is_mounted(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: an all-zero statx is a valid value of this plain C struct.
    let mut st: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: `c_path` is NUL-terminated and `st` is a valid, writable statx buffer.
    let rc = unsafe {
        libc::statx(libc::AT_FDCWD, c_path.as_ptr(), libc::AT_SYMLINK_NOFOLLOW, libc::STATX_BASIC_STATS, &mut st)
    };
    if rc != 0 {
        return false;
    }
    if st.stx_attributes_mask & libc::STATX_ATTR_MOUNT_ROOT as u64 != 0 {
        return st.stx_attributes & libc::STATX_ATTR_MOUNT_ROOT as u64 != 0;
    }
    // Before Linux 5.8 statx does not tell: an overlay (or any other file system)
    // mounted there has a device of its own.
    use std::os::unix::fs::MetadataExt;
    let dev = |p: &Path| std::fs::symlink_metadata(p).map(|m| m.dev());
    match (dev(path), path.parent().map(dev)) {
        (Ok(a), Some(Ok(b))) => a != b,
        _ => false,
    }
}

/// Unmounts everything stacked on `path`, lazily: the container's processes are gone,
/// so nothing holds the mount, and a detach returns without waiting for the
/// filesystem to settle.
pub fn unmount_all(path: &Path) {
    let flags = nix::mount::MntFlags::MNT_DETACH | nix::mount::MntFlags::UMOUNT_NOFOLLOW;
    while nix::mount::umount2(path, flags).is_ok() {}
}

/// Why a start failed: the message and the exit code Docker records for it.
struct StartError {
    message: String,
    exit_code: i64,
    kind: ErrorKind,
}

impl StartError {
    fn internal(message: impl Into<String>) -> StartError {
        StartError {
            message: message.into(),
            exit_code: 128,
            kind: ErrorKind::Internal,
        }
    }

    /// The runtime's own words, in the shape Docker users (and their scripts) know,
    /// with the exit code Docker records for the kind of failure the shim reported.
    fn runtime(id: &str, error: &str, code: shim::FailureCode) -> StartError {
        let line = error.trim().trim_start_matches("berth-shim: ");
        let line = line.strip_prefix(&format!("create container {id}: ")).unwrap_or(line);
        let line = line.strip_prefix(&format!("start container {id}: ")).unwrap_or(line);
        let message = format!("failed to create task for container: OCI runtime create failed: {line}: unknown");
        let (exit_code, kind) = match code {
            shim::FailureCode::NotFound => (127, ErrorKind::Invalid),
            shim::FailureCode::PermissionDenied => (126, ErrorKind::Invalid),
            shim::FailureCode::Other => (128, ErrorKind::Internal),
        };
        StartError { message, exit_code, kind }
    }
}

/// Everything of a start that blocks: rootfs, user, spec, bundle, shim. Returns the
/// init's pid.
fn launch(d: &Containers, c: &Container, wait_attach: bool) -> Result<i32, StartError> {
    let r = c.record();
    let paths = &d.paths;
    let id = &r.id;
    let rootfs = paths.rootfs(id);
    if !is_mounted(&rootfs) {
        let mounts = match d.images.snapshots().mounts(id) {
            // The snapshot index does not fsync containers' layers: after a power loss
            // one may be missing. It is prepared again, empty, as the writes it held
            // (never synced either) are gone anyway.
            Err(image::snapshot::Error::NotFound(_)) => r
                .image_id
                .parse::<image::Digest>()
                .ok()
                .and_then(|dg| d.images.images().get(&dg))
                .ok_or_else(|| StartError::internal(format!("the image {} of this container is gone", r.image_id)))
                .and_then(|img| {
                    d.images
                        .container_snapshot(id, &img)
                        .map_err(|e| StartError::internal(format!("container filesystem: {e}")))
                }),
            other => other.map_err(|e| StartError::internal(format!("container filesystem: {e}"))),
        }?;
        std::fs::create_dir_all(&rootfs)
            .map_err(|e| StartError::internal(format!("create {}: {e}", rootfs.display())))?;
        tracing::debug!(container = %id, rootfs = %rootfs.display(), layers = mounts.len(), "start: mount the rootfs");
        // In a user namespace the layers are seen through it (idmapped), so that the
        // image's files stay root's inside and the disk keeps host ids.
        match crate::userns::for_container(d.config.remap.as_deref(), &r.host_config) {
            Some(remap) => image::snapshot::mount_all_idmapped(&mounts, &rootfs, &remap.idmap()),
            None => image::snapshot::mount_all(&mounts, &rootfs),
        }
        .map_err(|e| StartError::internal(format!("mount the container's filesystem: {e}")))?;
    }
    let result = launch_mounted(d, paths, &r, &rootfs, wait_attach);
    if result.is_err() {
        unmount_all(&rootfs);
    }
    result
}

fn launch_mounted(
    d: &Containers,
    paths: &Paths,
    r: &Record,
    rootfs: &Path,
    wait_attach: bool,
) -> Result<i32, StartError> {
    let id = &r.id;
    let user = user::resolve(rootfs, &r.config.user, &r.host_config.group_add).map_err(|e| {
        StartError {
            message: e,
            exit_code: 128,
            kind: ErrorKind::Invalid,
        }
    })?;
    // As Docker: a missing source of a `-v` bind is created as a directory.
    for b in r.host_config.binds.iter().filter_map(|b| api::binds::Bind::parse(b).ok()) {
        if b.is_host_path() && !Path::new(&b.source).exists() {
            let src = &b.source;
            std::fs::create_dir_all(src).map_err(|e| StartError::internal(format!("create bind source {src}: {e}")))?;
        }
    }
    let run_dir = paths.run_dir(id);
    super::create::write_etc_files(&run_dir, r).map_err(|e| StartError::internal(e.message))?;
    let userns = crate::userns::for_container(d.config.remap.as_deref(), &r.host_config);
    if let Some(remap) = userns {
        // As Docker: the container's root owns them, and may edit them.
        for name in ["hostname", "hosts", "resolv.conf"] {
            let file = run_dir.join(name);
            std::os::unix::fs::chown(&file, Some(remap.root_uid()), Some(remap.root_gid()))
                .map_err(|e| StartError::internal(format!("chown {}: {e}", file.display())))?;
        }
    }
    let input = spec::Input {
        record: r,
        rootfs,
        user: &user,
        etc: spec::EtcFiles {
            hostname: &run_dir.join("hostname"),
            hosts: &run_dir.join("hosts"),
            resolv_conf: &run_dir.join("resolv.conf"),
        },
        cgroup_parent: if r.host_config.resources.cgroup_parent.is_empty() {
            &d.config.cgroup_parent
        } else {
            &r.host_config.resources.cgroup_parent
        },
        default_ulimits: &d.config.default_ulimits,
        userns,
        cgroup_v2: cgroup_v2(),
    };
    let spec = spec::build(&input).map_err(|e| StartError {
        message: e,
        exit_code: 128,
        kind: ErrorKind::Invalid,
    })?;
    let bundle = paths.bundle(id);
    let shim_dir = paths.shim(id);
    tracing::debug!(container = %id, bundle = %bundle.display(), "start: write the bundle");
    let io = |what: String| move |e: std::io::Error| StartError::internal(format!("{what}: {e}"));
    std::fs::create_dir_all(&bundle).map_err(io(format!("create {}", bundle.display())))?;
    let bytes = serde_json::to_vec(&spec).map_err(|e| StartError::internal(e.to_string()))?;
    // Rewritten at every start, on the exec root's tmpfs: atomic, no fsync.
    // 0600: it holds the container's environment, secrets included.
    atomic_file::write_mode(&bundle.join("config.json"), &bytes, 0o600, atomic_file::Durability::Volatile)
        .map_err(|e| StartError::internal(format!("write the bundle: {e}")))?;
    // A previous run's shim files (its exit record above all) must not be mistaken for this run's.
    let _ = std::fs::remove_dir_all(&shim_dir);
    let engine = paths.engine(r, &d.config);
    engine.delete(id);
    let mut cmd = Command::new(&d.shim);
    cmd.arg("start")
        .arg("--id")
        .arg(id)
        .arg("--bundle")
        .arg(&bundle)
        .arg("--runtime-root")
        .arg(engine.root())
        .args(engine.shim_args())
        .arg("--state-dir")
        .arg(&shim_dir);
    let log = &r.host_config.log_config;
    if log.r#type == "none" {
        cmd.arg("--log-path").arg("/dev/null");
    } else {
        cmd.arg("--log-path").arg(paths.log(id));
        let opt = |k: &str| log.config.get(k).or_else(|| d.config.log_opts.get(k));
        if let Some(size) = opt("max-size").and_then(|s| super::create::log_max_size(s).ok()) {
            cmd.arg("--log-max-size").arg(size.to_string());
            if let Some(n) = opt("max-file") {
                cmd.arg("--log-max-file").arg(n);
            }
        }
    }
    if r.config.tty {
        cmd.arg("--tty");
        if let Some([h, w]) = r.host_config.console_size
            && h > 0
            && w > 0
        {
            cmd.arg("--console-width")
                .arg(w.min(u16::MAX as u32).to_string());
            cmd.arg("--console-height")
                .arg(h.min(u16::MAX as u32).to_string());
        }
    }
    if r.config.open_stdin {
        cmd.arg("--stdin");
        // As Docker: the end of an attached client's input closes the container's
        // stdin only without a terminal (detaching from `run -it` must not end the shell).
        if r.config.stdin_once && !r.config.tty {
            cmd.arg("--stdin-once");
        }
    }
    if wait_attach {
        cmd.arg("--wait-attach");
    }
    let reported = hand_to_shim(d, id, &cmd, &engine);
    tracing::debug!(container = %id, "start: the shim reported {:?}", reported.as_ref().map_err(|e| &e.message));
    reported
}

/// Whether the host runs cgroup v2: looked up once (it reads mountinfo), as it cannot
/// change under a running daemon.
fn cgroup_v2() -> bool {
    static V2: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *V2.get_or_init(|| cgroups::detect().is_ok_and(|h| h.version() == cgroups::CgroupVersion::V2))
}

/// Hands the start (its arguments in `cmd`) to a spare shim, the one waiting or a
/// new one, which becomes the container's shim and reports how the start went
/// ([`shim::StartReport`]). Once the arguments are sent, every failure is this start's.
fn hand_to_shim(d: &Containers, id: &str, cmd: &Command, engine: &engine::Engine) -> Result<i32, StartError> {
    use std::io::Write;
    let args: Vec<&str> = cmd
        .get_args()
        .skip(1)
        .map(|a| a.to_str())
        .collect::<Option<_>>()
        .ok_or_else(|| StartError::internal("a start argument is not UTF-8"))?;
    let mut line = serde_json::to_vec(&args).map_err(|e| StartError::internal(e.to_string()))?;
    line.push(b'\n');
    // The spare waiting, else a new one (the first start, or a spare that died).
    let mut taken = None;
    for _ in 0..2 {
        let Some(mut spare) = d.take_spare().or_else(|| d.new_spare().ok()) else { break };
        let stdin = spare.stdin.take().and_then(|s| s.into_owned_fd().ok());
        if stdin.is_some_and(|fd| std::fs::File::from(fd).write_all(&line).is_ok()) {
            taken = Some(spare);
            break;
        }
        let _ = spare.start_kill();
    }
    let mut spare = taken
        .ok_or_else(|| StartError::internal(format!("no shim took the start ({})", d.shim.display())))?;
    let report = spare_report(&mut spare);
    if report.is_err() {
        // A shim that died or hung before its report: it and what it made go.
        let _ = spare.start_kill();
        engine.delete(id);
    }
    // Dropped unwaited: tokio reaps the shim when it leaves.
    drop(spare);
    match shim::StartReport::parse(&report?) {
        Ok(shim::StartReport::Started { pid }) => Ok(pid),
        Ok(shim::StartReport::Failed { error, code }) => Err(StartError::runtime(id, &error, code)),
        Err(e) => Err(StartError::internal(e.to_string())),
    }
}

/// The spare shim's one-line report. Read with a deadline and while the shim lives:
/// the container's init holds a copy of the pipe until it execs, so a shim that dies
/// early never brings end-of-file.
fn spare_report(spare: &mut tokio::process::Child) -> Result<String, StartError> {
    use std::io::Read;
    use std::os::fd::AsFd;
    let stdout = spare
        .stdout
        .take()
        .and_then(|s| s.into_owned_fd().ok())
        .ok_or_else(|| StartError::internal("the spare shim has no report pipe"))?;
    // Longer than the shim's own wait for the first attach client.
    let deadline = std::time::Instant::now() + Duration::from_secs(shim::WAIT_ATTACH_TIMEOUT_SECS + 60);
    let mut report = Vec::new();
    let mut file = std::fs::File::from(stdout);
    loop {
        let mut fds = [nix::poll::PollFd::new(file.as_fd(), nix::poll::PollFlags::POLLIN)];
        let ready = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(100u16)).unwrap_or(0);
        if ready > 0 {
            let mut buf = [0u8; 4096];
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    report.extend_from_slice(&buf[..n]);
                    if report.contains(&b'\n') {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(StartError::internal(format!("read the shim's report: {e}"))),
            }
        } else if !matches!(spare.try_wait(), Ok(None)) {
            return Err(StartError::internal("the shim exited before it reported"));
        } else if std::time::Instant::now() > deadline {
            return Err(StartError::internal("the shim did not report in time"));
        }
    }
    let line = String::from_utf8_lossy(&report);
    let line = line.lines().next().unwrap_or_default().to_string();
    if line.is_empty() {
        return Err(StartError::internal("the shim exited before it reported"));
    }
    Ok(line)
}
/// A user's start: the restart policy's count and back-off begin again (Docker's rule).
pub async fn start(d: &Arc<Containers>, c: &Arc<Container>) -> Result<()> {
    let _op = c.operation().await;
    reset_restarts(d, c)?;
    start_locked(d, c).await
}

fn reset_restarts(d: &Containers, c: &Container) -> Result<()> {
    c.reset_backoff();
    if c.record().state.restart_count != 0 && !c.status().is_live() {
        c.update(&d.paths, |r| r.state.restart_count = 0)?;
    }
    Ok(())
}

pub(crate) async fn start_locked(d: &Arc<Containers>, c: &Arc<Container>) -> Result<()> {
    lifecycle::admit(Op::Start, Subject::of(&c.record()))?;
    // The previous run's mount and runtime state must be gone first.
    c.cleaned_up().await;
    let wait_attach = c.attach_waiting();
    c.notify(|ch| ch.starting += 1);
    let (d2, c2) = (d.clone(), c.clone());
    let launched = blocking(move || launch(&d2, &c2, wait_attach)).await?;
    // The next start's launcher, made while this one's reply goes out.
    let d3 = d.clone();
    tokio::task::spawn_blocking(move || d3.fill_spare());
    let paths = &d.paths;
    match launched {
        Ok(pid) => {
            crate::crash::point("start:launched");
            tracing::debug!(container = %c.id, pid, "start: running");
            let r = c.update(paths, |r| {
                lifecycle::on_started(&mut r.state, pid, Utc::now());
                health::reset_for_start(r);
            })?;
            d.events.publish(
                "container",
                "start",
                &c.id,
                super::view::event_attributes(&r),
            );
            c.notify(|ch| ch.started += 1);
            // Health first: an exit handled at once then stops its monitor.
            health::watch(d, c);
            monitor::watch(d.clone(), c.clone());
            Ok(())
        }
        Err(e) => {
            let _ = c.update(paths, |r| lifecycle::on_start_failed(&mut r.state, &e.message, e.exit_code));
            c.notify(|ch| ch.failed_starts += 1);
            // Docker removes an AutoRemove container whose start failed (`run --rm`
            // clients wait for that removal).
            if c.record().host_config.auto_remove {
                let (d, c) = (d.clone(), c.clone());
                tokio::spawn(async move {
                    let _ = remove(&d, &c, true).await;
                });
            }
            Err(Error::new(e.kind, e.message))
        }
    }
}

/// Waits until the container's exit has been handled (counter past `exits0`), at most
/// `limit` (forever when `None`). Returns whether it was.
pub async fn wait_exited(c: &Container, exits0: u64, limit: Option<Duration>) -> bool {
    let mut rx = c.subscribe();
    let done = rx.wait_for(|ch| ch.exits > exits0 || ch.removed);
    match limit {
        Some(l) => matches!(tokio::time::timeout(l, done).await, Ok(Ok(_))),
        None => done.await.is_ok(),
    }
}

fn kill_init(d: &Containers, r: &Record, sig: Signal, all: bool) -> Result<()> {
    d.paths
        .task(r, &d.config)
        .kill(sig, all)
        .map_err(|e| Error::internal(format!("kill container {}: {e}", r.id)))
}

pub async fn stop(
    d: &Arc<Containers>,
    c: &Arc<Container>,
    signal: Option<&str>,
    timeout: Option<i64>,
) -> Result<()> {
    let _op = c.operation().await;
    stop_locked(d, c, signal, timeout).await
}

pub(crate) async fn stop_locked(
    d: &Arc<Containers>,
    c: &Arc<Container>,
    signal: Option<&str>,
    timeout: Option<i64>,
) -> Result<()> {
    let paths = &d.paths;
    // Read before the state: an exit handled in between is then not waited for twice.
    let exits0 = c.subscribe().borrow().exits;
    let r = c.record();
    match lifecycle::admit(Op::Stop, Subject::of(&r))? {
        Admission::CancelRestart => {
            // Cancels the pending restart: the restart task finds it no longer restarting.
            let r = c.update(paths, |r| lifecycle::on_restart_cancelled(&mut r.state))?;
            // Its exit was recorded before the back-off; waiters that came during the
            // back-off are answered now.
            c.notify(|ch| {
                ch.exits += 1;
                ch.cleanups += 1;
            });
            d.events.publish("container", "stop", &c.id, super::view::event_attributes(&r));
            return Ok(());
        }
        Admission::Live => {}
        Admission::Idle => return Err(Error::not_modified()),
    }
    let sig = match signal.filter(|s| !s.is_empty()) {
        Some(s) => parse_signal(s)?,
        None => stop_signal(&r),
    };
    let timeout = timeout.or(r.config.stop_timeout).unwrap_or(10);
    // As Docker: no probes while the container stops.
    health::stop(c);
    c.update(paths, |r| {
        lifecycle::on_stopped_by_hand(&mut r.state);
        health::mark_unmonitored(r);
    })?;
    let mut attrs = super::view::event_attributes(&r);
    attrs.insert("signal".into(), (sig as i32).to_string());
    d.events.publish("container", "kill", &c.id, attrs);
    let (d2, r2) = (d.clone(), r.clone());
    let sent = blocking(move || kill_init(&d2, &r2, sig, false)).await?;
    crate::crash::point("stop:signalled");
    let limit = (timeout >= 0).then(|| Duration::from_secs(timeout as u64));
    if sent.is_err() || !wait_exited(c, exits0, limit).await {
        let (d2, r2) = (d.clone(), r.clone());
        let _ = blocking(move || kill_init(&d2, &r2, Signal::SIGKILL, true)).await?;
        if !wait_exited(c, exits0, Some(Duration::from_secs(30))).await {
            return Err(Error::internal(format!(
                "container {} did not exit after SIGKILL",
                c.id
            )));
        }
    }
    d.events.publish(
        "container",
        "stop",
        &c.id,
        super::view::event_attributes(&c.record()),
    );
    Ok(())
}

pub async fn kill(d: &Arc<Containers>, c: &Arc<Container>, signal: Option<&str>) -> Result<()> {
    let _op = c.operation().await;
    let paths = &d.paths;
    // Read before the state: an exit handled in between is then not waited for twice.
    let exits0 = c.subscribe().borrow().exits;
    let r = c.record();
    let sig = match signal.filter(|s| !s.is_empty()) {
        Some(s) => parse_signal(s)?,
        None => Signal::SIGKILL,
    };
    // A paused container is thawed after the signal (the engine does it).
    lifecycle::admit(Op::Kill, Subject::of(&r))?;
    c.update(paths, |r| lifecycle::on_stopped_by_hand(&mut r.state))?;
    let mut attrs = super::view::event_attributes(&r);
    attrs.insert("signal".into(), (sig as i32).to_string());
    d.events.publish("container", "kill", &c.id, attrs);
    let (d2, r2) = (d.clone(), r.clone());
    blocking(move || kill_init(&d2, &r2, sig, false)).await??;
    if sig == Signal::SIGKILL {
        // Docker's kill returns once a SIGKILLed container is gone.
        wait_exited(c, exits0, Some(Duration::from_secs(10))).await;
    }
    Ok(())
}

pub async fn pause(d: &Arc<Containers>, c: &Arc<Container>) -> Result<()> {
    let _op = c.operation().await;
    lifecycle::admit(Op::Pause, Subject::of(&c.record()))?;
    let task = d.paths.task(&c.record(), &d.config);
    blocking(move || task.pause())
        .await?
        .map_err(|e| Error::internal(format!("pause: {e}")))?;
    health::stop(c);
    let r = c.update(&d.paths, |r| {
        r.state.status = Status::Paused;
        health::mark_unmonitored(r);
    })?;
    d.events.publish(
        "container",
        "pause",
        &c.id,
        super::view::event_attributes(&r),
    );
    Ok(())
}

pub async fn unpause(d: &Arc<Containers>, c: &Arc<Container>) -> Result<()> {
    let _op = c.operation().await;
    lifecycle::admit(Op::Unpause, Subject::of(&c.record()))?;
    let task = d.paths.task(&c.record(), &d.config);
    blocking(move || task.resume())
        .await?
        .map_err(|e| Error::internal(format!("unpause: {e}")))?;
    let r = c.update(&d.paths, |r| r.state.status = Status::Running)?;
    health::watch(d, c);
    d.events.publish(
        "container",
        "unpause",
        &c.id,
        super::view::event_attributes(&r),
    );
    Ok(())
}

pub async fn restart(
    d: &Arc<Containers>,
    c: &Arc<Container>,
    signal: Option<&str>,
    timeout: Option<i64>,
) -> Result<()> {
    let _op = c.operation().await;
    // Only the stop's exit is the restart's: the new run's own exit (however soon)
    // removes an --rm container again. stop_locked returns once that exit is handled.
    c.set_restarting_by_hand(true);
    let stopped = if c.status().is_live() || c.status() == Status::Restarting {
        match stop_locked(d, c, signal, timeout).await {
            Err(e) if e.kind() == ErrorKind::NotModified => Ok(()),
            r => r,
        }
    } else {
        Ok(())
    };
    c.set_restarting_by_hand(false);
    stopped?;
    crate::crash::point("restart:stopped");
    reset_restarts(d, c)?;
    start_locked(d, c).await?;
    d.events.publish(
        "container",
        "restart",
        &c.id,
        super::view::event_attributes(&c.record()),
    );
    Ok(())
}

pub async fn rename(d: &Arc<Containers>, c: &Arc<Container>, new_name: &str) -> Result<()> {
    let _op = c.operation().await;
    let new_name = super::names::validate(new_name).map_err(Error::invalid)?;
    let old = c.name();
    if new_name == old {
        return Err(Error::invalid(
            "Renaming a container with the same name as its current name",
        ));
    }
    d.reserve_name(&new_name, &c.id)?;
    let r = match c.update(&d.paths, |r| r.name = new_name.clone()) {
        Ok(r) => r,
        Err(e) => {
            d.release_name(&new_name, &c.id);
            return Err(e);
        }
    };
    d.release_name(&old, &c.id);
    let mut attrs = super::view::event_attributes(&r);
    attrs.insert("oldName".into(), format!("/{old}"));
    d.events.publish("container", "rename", &c.id, attrs);
    Ok(())
}

pub async fn remove(d: &Arc<Containers>, c: &Arc<Container>, force: bool) -> Result<()> {
    let _op = c.operation().await;
    // Read before the state: an exit handled in between is then not waited for twice.
    let exits0 = c.subscribe().borrow().exits;
    let r = c.record();
    lifecycle::admit(Op::Remove { force }, Subject::of(&r))?;
    let live = r.state.status.is_live();
    // Checked again under the record's lock: the container's own exit may have sent
    // an --rm container to its removal since (handle_exit takes no op lock).
    let mut already = false;
    let saved = c.update(&d.paths, |r| {
        already = r.state.status == Status::Removing;
        r.state.status = Status::Removing;
    });
    if already {
        return Err(Error::conflict(format!("removal of container {} is already in progress", r.id)));
    }
    saved?;
    crate::crash::point("remove:marked");
    if live {
        let (d2, r2) = (d.clone(), r.clone());
        let _ = blocking(move || kill_init(&d2, &r2, Signal::SIGKILL, true)).await?;
        wait_exited(c, exits0, Some(Duration::from_secs(30))).await;
    }
    finish_removal(d, c, &r).await
}

/// `container prune`: removes the stopped containers `filter` matches; returns their
/// ids and the space their writable layers held.
pub async fn prune(d: &Arc<Containers>, filter: &super::view::ListFilter) -> (Vec<String>, u64) {
    let mut deleted = Vec::new();
    let mut reclaimed: u64 = 0;
    for c in d.all() {
        let r = c.record();
        if !matches!(r.state.status, Status::Exited | Status::Dead | Status::Created) || !filter.matches(&r) {
            continue;
        }
        let (d2, id) = (d.clone(), c.id.clone());
        let size = tokio::task::spawn_blocking(move || d2.images.snapshots().usage(&id).map(|u| u.size).unwrap_or(0))
            .await
            .unwrap_or(0);
        if remove(d, &c, false).await.is_ok() {
            deleted.push(c.id.clone());
            reclaimed += size;
        }
    }
    (deleted, reclaimed)
}

/// The end of a removal, once nothing runs: the run's leftovers, the snapshot, the
/// record; then the container is forgotten.
async fn finish_removal(d: &Arc<Containers>, c: &Arc<Container>, r: &Record) -> Result<()> {
    // A shim that never answers must not hold the removal forever.
    let _ = tokio::time::timeout(Duration::from_secs(30), c.cleaned_up()).await;
    let (d2, id) = (d.clone(), c.id.clone());
    if let Err(e) = blocking(move || release(&d2, &id)).await? {
        // As Docker: a removal that failed leaves the container dead, and `rm -f` may retry.
        let _ = c.update(&d.paths, |r| r.state.status = Status::Dead);
        return Err(e);
    }
    gone(d, c, r);
    Ok(())
}

/// The container is no more for clients: forgotten (its name free), `destroy`
/// published, waiters for its removal answered.
pub(crate) fn gone(d: &Containers, c: &Container, r: &Record) {
    d.forget(c);
    d.events.publish("container", "destroy", &c.id, super::view::event_attributes(r));
    c.notify(|ch| ch.removed = true);
}

/// Releases what one run held: the shim, the runtime's state (and cgroup), the rootfs
/// mount. Safe to repeat.
pub(crate) fn end_run(d: &Containers, id: &str, runtime: &str) {
    let paths = &d.paths;
    if !monitor::stop_shim(&paths.shim(id)) {
        // No shim removed it: whatever runtime state the run left goes here.
        engine::Engine::named(runtime, &d.config, paths).delete(id);
    }
    unmount_all(&paths.rootfs(id));
    unmount_all(&paths.legacy_rootfs(id));
}

/// Frees everything a container holds, the record last (so a crash in between leaves
/// a record in state `removing`, which the next start finishes).
pub(crate) fn release(d: &Containers, id: &str) -> Result<()> {
    let runtime = d.get(id).map(|c| c.record().host_config.runtime).unwrap_or_default();
    release_run(d, id, &runtime)
}

/// [`release`] of a container that ran on `runtime`.
pub(crate) fn release_run(d: &Containers, id: &str, runtime: &str) -> Result<()> {
    let paths = &d.paths;
    end_run(d, id, runtime);
    match d.images.snapshots().remove(id) {
        Ok(()) | Err(image::snapshot::Error::NotFound(_)) => {}
        Err(e) => {
            return Err(Error::internal(format!(
                "remove the container's filesystem: {e}"
            )));
        }
    }
    // The directories go to the trash (a rename each: the container is gone at once)
    // and are deleted in the background; a crash leaves `.trash-*`, which the next
    // start deletes.
    for dir in [paths.exec.join(id), paths.shim(id)] {
        let _ = super::trash(&dir);
    }
    let dir = paths.dir(id);
    match super::trash(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::internal(format!("remove {}: {e}", dir.display())))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_in_every_docker_spelling() {
        for s in ["KILL", "SIGKILL", "sigkill", "9"] {
            assert_eq!(parse_signal(s).unwrap(), Signal::SIGKILL, "{s}");
        }
        assert_eq!(parse_signal("hup").unwrap(), Signal::SIGHUP);
        assert_eq!(
            parse_signal("NOPE").unwrap_err().message,
            "Invalid signal: NOPE"
        );
        assert!(parse_signal("99").is_err());
    }

    #[test]
    fn mount_roots_are_told_from_plain_directories() {
        assert!(is_mounted(Path::new("/proc")));
        assert!(!is_mounted(Path::new("/proc/self")));
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_mounted(dir.path()));
        assert!(!is_mounted(&dir.path().join("missing")));
    }

    #[test]
    fn runtime_errors_keep_dockers_shape_and_exit_codes() {
        let id = "abc";
        let e = StartError::runtime(
            id,
            "berth-shim: create container abc: exec: \"nope\": executable file not found in $PATH\n",
            shim::FailureCode::NotFound,
        );
        assert_eq!(e.exit_code, 127);
        assert_eq!(
            e.message,
            "failed to create task for container: OCI runtime create failed: exec: \"nope\": executable file not found in $PATH: unknown"
        );
        assert_eq!(StartError::runtime(id, "open /x: permission denied", shim::FailureCode::PermissionDenied).exit_code, 126);
        // The kind decides, not the words.
        assert_eq!(StartError::runtime(id, "mount /x: no such file or directory", shim::FailureCode::Other).exit_code, 128);
    }
}
