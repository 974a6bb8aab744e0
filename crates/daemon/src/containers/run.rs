//! What one run of a container holds, and how it is taken and given back: the launch
//! (mount the writable snapshot, write the bundle, hand the start to a shim), the end
//! of a run (the shim, the runtime's state, the rootfs mount) and the release of
//! everything a removed container held. All of it blocks: the container's owner runs
//! it off the async workers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::machine::{StartFailure, Started};
use super::record::Record;
use super::{Containers, Paths, engine, spec, user};
use crate::error::{Error, ErrorKind, Result};

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

impl StartFailure {
    fn internal(message: impl Into<String>) -> StartFailure {
        StartFailure {
            message: message.into(),
            exit_code: 128,
            kind: ErrorKind::Internal,
        }
    }

    /// The runtime's own words, in the shape Docker users (and their scripts) know,
    /// with the exit code Docker records for the kind of failure the shim reported.
    fn runtime(id: &str, error: &str, code: shim::FailureCode) -> StartFailure {
        let line = error.trim().trim_start_matches("berth-shim: ");
        let line = line.strip_prefix(&format!("create container {id}: ")).unwrap_or(line);
        let line = line.strip_prefix(&format!("start container {id}: ")).unwrap_or(line);
        let message = format!("failed to create task for container: OCI runtime create failed: {line}: unknown");
        let (exit_code, kind) = match code {
            shim::FailureCode::NotFound => (127, ErrorKind::Invalid),
            shim::FailureCode::PermissionDenied => (126, ErrorKind::Invalid),
            shim::FailureCode::Other => (128, ErrorKind::Internal),
        };
        StartFailure { message, exit_code, kind }
    }
}

/// Everything of a start that blocks: rootfs, user, spec, bundle, shim. Returns the
/// init's pid.
pub fn launch(d: &Containers, r: &Record, wait_attach: bool) -> Result<Started, StartFailure> {
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
                .ok_or_else(|| StartFailure::internal(format!("the image {} of this container is gone", r.image_id)))
                .and_then(|img| {
                    d.images
                        .container_snapshot(id, &img)
                        .map_err(|e| StartFailure::internal(format!("container filesystem: {e}")))
                }),
            other => other.map_err(|e| StartFailure::internal(format!("container filesystem: {e}"))),
        }?;
        std::fs::create_dir_all(&rootfs)
            .map_err(|e| StartFailure::internal(format!("create {}: {e}", rootfs.display())))?;
        tracing::debug!(container = %id, rootfs = %rootfs.display(), layers = mounts.len(), "start: mount the rootfs");
        // In a user namespace the layers are seen through it (idmapped), so that the
        // image's files stay root's inside and the disk keeps host ids.
        match crate::userns::for_container(d.config.remap.as_deref(), &r.host_config) {
            Some(remap) => image::snapshot::mount_all_idmapped(&mounts, &rootfs, &remap.idmap()),
            None => image::snapshot::mount_all(&mounts, &rootfs),
        }
        .map_err(|e| StartFailure::internal(format!("mount the container's filesystem: {e}")))?;
    }
    let result = launch_mounted(d, paths, r, &rootfs, wait_attach);
    if result.is_err() {
        d.networks.detach(id);
        unmount_all(&rootfs);
    }
    result
}

/// How the network service is to connect a run of `r`.
/// `remapped`: the run has a user namespace of its own.
fn attachment(d: &Containers, r: &Record, remapped: bool) -> Result<crate::networks::Join, StartFailure> {
    use super::record::{NetworkMode, Status};
    use crate::networks::{Attachment, Join};
    if let NetworkMode::Container(other) = &r.network {
        // Its init's namespace, whatever made it: it must run.
        let target = d.get(other).map(|c| c.record()).ok().filter(|t| matches!(t.state.status, Status::Running | Status::Paused) && t.state.pid > 0);
        return match target {
            Some(t) => Ok(Join::Namespace(PathBuf::from(format!("/proc/{}/ns/net", t.state.pid)))),
            None => Err(StartFailure {
                message: format!("cannot join network of a non running container: {other}"),
                exit_code: 128,
                kind: ErrorKind::Conflict,
            }),
        };
    }
    Ok(Join::Attach(if r.network.is_host() {
        Attachment::Host
    } else if remapped {
        Attachment::ByRuntime
    } else if r.networks.is_empty() {
        Attachment::Isolated
    } else {
        Attachment::Networks(r.networks.clone())
    }))
}

fn launch_mounted(
    d: &Containers,
    paths: &Paths,
    r: &Record,
    rootfs: &Path,
    wait_attach: bool,
) -> Result<Started, StartFailure> {
    let id = &r.id;
    let user = user::resolve(rootfs, &r.config.user, &r.host_config.group_add).map_err(|e| {
        StartFailure {
            message: e,
            exit_code: 128,
            kind: ErrorKind::Invalid,
        }
    })?;
    // As Docker: a missing source of a `-v` bind is created as a directory.
    for b in &r.binds {
        if b.is_host_path() && !Path::new(&b.source).exists() {
            let src = &b.source;
            std::fs::create_dir_all(src).map_err(|e| StartFailure::internal(format!("create bind source {src}: {e}")))?;
        }
    }
    let volumes = super::volumes::attach(&d.volumes, id, &r.volumes).map_err(|e| StartFailure { exit_code: 128, kind: e.kind, message: e.message })?;
    // Docker's copy-up: a volume still empty gets the image's content at its path.
    super::volumes::copy_up(&d.volumes, &r.volumes, rootfs).map_err(|e| StartFailure::internal(format!("fill a volume from the image: {e}")))?;
    let mut binds = r.all_binds();
    binds.extend(super::volumes::binds(&d.volumes, &r.volumes));
    let run_dir = paths.run_dir(id);
    super::volumes::unstage_subpaths(&r.volumes, &run_dir);
    let failed = |e: Error| StartFailure { exit_code: 128, kind: e.kind, message: e.message };
    binds.extend(super::volumes::stage_subpaths(&d.volumes, &r.volumes, &run_dir).map_err(failed)?);
    super::image_mounts::unstage(d, id, r.image_mounts.len(), &run_dir);
    binds.extend(super::image_mounts::stage(d, id, &r.image_mounts, &run_dir).map_err(failed)?);
    let userns = crate::userns::for_container(d.config.remap.as_deref(), &r.host_config);
    let ports = r.wanted_ports().map_err(StartFailure::internal)?;
    let member = crate::networks::Member { id, name: &r.name, dns: &r.host_config.dns };
    let joined = d.networks.attach(member, attachment(d, r, userns.is_some())?, &ports).map_err(|e| StartFailure {
        exit_code: 128,
        kind: e.kind,
        message: e.message,
    })?;
    let linked = super::links::resolve(d, r).map_err(|message| StartFailure { message, exit_code: 128, kind: ErrorKind::Conflict })?;
    write_etc(d, r, &joined.endpoints, &linked.hosts).map_err(|e| StartFailure::internal(e.message))?;
    if let Some(remap) = userns {
        // As Docker: the container's root owns them, and may edit them.
        for name in ["hostname", "hosts", "resolv.conf"] {
            let file = run_dir.join(name);
            std::os::unix::fs::chown(&file, Some(remap.root_uid()), Some(remap.root_gid()))
                .map_err(|e| StartFailure::internal(format!("chown {}: {e}", file.display())))?;
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
        netns: joined.netns.as_deref(),
        cgroup_v2: cgroup_v2(),
        link_env: &linked.env,
        binds: &binds,
    };
    let spec = spec::build(&input).map_err(|e| StartFailure {
        message: e,
        exit_code: 128,
        kind: ErrorKind::Invalid,
    })?;
    let bundle = paths.bundle(id);
    let shim_dir = paths.shim(id);
    tracing::debug!(container = %id, bundle = %bundle.display(), "start: write the bundle");
    let io = |what: String| move |e: std::io::Error| StartFailure::internal(format!("{what}: {e}"));
    std::fs::create_dir_all(&bundle).map_err(io(format!("create {}", bundle.display())))?;
    let bytes = serde_json::to_vec(&spec).map_err(|e| StartFailure::internal(e.to_string()))?;
    // Rewritten at every start, on the exec root's tmpfs: atomic, no fsync.
    // 0600: it holds the container's environment, secrets included.
    atomic_file::write_mode(&bundle.join("config.json"), &bytes, 0o600, atomic_file::Durability::Volatile)
        .map_err(|e| StartFailure::internal(format!("write the bundle: {e}")))?;
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
    let log = &r.log;
    if log.driver == super::record::LogDriver::None {
        cmd.arg("--log-path").arg("/dev/null");
    } else {
        cmd.arg("--log-path").arg(paths.log(id));
        // The container's options, else the daemon's.
        let daemon = |k: &str| d.config.log_opts.get(k);
        let max_size = log.max_size.or_else(|| daemon("max-size").and_then(|s| super::logs::log_max_size(s).ok()));
        if let Some(size) = max_size {
            cmd.arg("--log-max-size").arg(size.to_string());
            if let Some(n) = log.max_file.map(|n| n.to_string()).or_else(|| daemon("max-file").cloned()) {
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
    let reported = hand_to_shim(d, id, &cmd, &engine).map(|pid| Started { pid, endpoints: joined.endpoints, ports: joined.ports });
    if reported.is_ok() {
        volumes.keep();
    }
    tracing::debug!(container = %id, "start: the shim reported {:?}", reported.as_ref().map_err(|e| &e.message));
    reported
}

/// Whether the host runs cgroup v2: looked up once (it reads mountinfo), as it cannot
/// change under a running daemon.
pub(super) fn cgroup_v2() -> bool {
    static V2: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *V2.get_or_init(|| cgroups::detect().is_ok_and(|h| h.version() == cgroups::CgroupVersion::V2))
}

/// Hands the start (its arguments in `cmd`) to a spare shim, the one waiting or a
/// new one, which becomes the container's shim and reports how the start went
/// ([`shim::StartReport`]). Once the arguments are sent, every failure is this start's.
fn hand_to_shim(d: &Containers, id: &str, cmd: &Command, engine: &engine::Engine) -> Result<i32, StartFailure> {
    use std::io::Write;
    let args: Vec<&str> = cmd
        .get_args()
        .skip(1)
        .map(|a| a.to_str())
        .collect::<Option<_>>()
        .ok_or_else(|| StartFailure::internal("a start argument is not UTF-8"))?;
    let mut line = serde_json::to_vec(&args).map_err(|e| StartFailure::internal(e.to_string()))?;
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
        .ok_or_else(|| StartFailure::internal(format!("no shim took the start ({})", d.shim.display())))?;
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
        Ok(shim::StartReport::Failed { error, code }) => Err(StartFailure::runtime(id, &error, code)),
        Err(e) => Err(StartFailure::internal(e.to_string())),
    }
}

/// The spare shim's one-line report. Read with a deadline and while the shim lives:
/// the container's init holds a copy of the pipe until it execs, so a shim that dies
/// early never brings end-of-file.
fn spare_report(spare: &mut tokio::process::Child) -> Result<String, StartFailure> {
    use std::io::Read;
    use std::os::fd::AsFd;
    let stdout = spare
        .stdout
        .take()
        .and_then(|s| s.into_owned_fd().ok())
        .ok_or_else(|| StartFailure::internal("the spare shim has no report pipe"))?;
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
                Err(e) => return Err(StartFailure::internal(format!("read the shim's report: {e}"))),
            }
        } else if !matches!(spare.try_wait(), Ok(None)) {
            return Err(StartFailure::internal("the shim exited before it reported"));
        } else if std::time::Instant::now() > deadline {
            return Err(StartFailure::internal("the shim did not report in time"));
        }
    }
    let line = String::from_utf8_lossy(&report);
    let line = line.lines().next().unwrap_or_default().to_string();
    if line.is_empty() {
        return Err(StartFailure::internal("the shim exited before it reported"));
    }
    Ok(line)
}
/// Tells a shim to leave (once its container exited): it removes its container's
/// runtime state first. Returns whether it did; a shim that does not answer is ended
/// by its pid (and its container's state is then the caller's to remove).
/// Writes the run's hostname, hosts and resolv.conf for its `endpoints` (in place:
/// a running container sees them change, as when it is connected to a network).
fn write_etc(d: &Containers, r: &Record, endpoints: &[super::record::Endpoint], links: &str) -> Result<()> {
    // The host, at an address of it this run surely reaches: its first network's
    // gateway (Docker's default bridge may not be up here).
    let host_gateway = endpoints.first().map_or_else(|| d.networks.host_gateway(), |e| e.gateway);
    let names = super::etc::Names { nameserver: d.networks.names_served(endpoints), default_dns: &d.config.dns, links, host_gateway };
    super::etc::write_etc_files(&d.paths.run_dir(&r.id), r, endpoints, &names)
}

/// A running container's /etc files again, after a network connect or disconnect:
/// its resolv.conf names the server of a user network it joined, its hosts file its
/// addresses. Blocking.
pub(crate) fn rewrite_etc(d: &Containers, r: &Record) -> Result<()> {
    let links = super::links::resolve(d, r).map(|l| l.hosts).unwrap_or_default();
    write_etc(d, r, &r.state.endpoints, &links)
}

pub fn stop_shim(shim_dir: &Path) -> bool {
    // A shim that accepts but never answers must not hold the clean-up: a few seconds,
    // then it is ended by its pid.
    let asked = shim::client::Control::connect_with_timeout(shim_dir, Duration::from_secs(5))
        .and_then(|mut c| {
            c.request::<shim::OkReply>(&shim::ControlRequest::Delete)?;
            c.request::<shim::OkReply>(&shim::ControlRequest::Shutdown)
        })
        .is_ok();
    if !asked
        && let Ok(text) = std::fs::read_to_string(shim_dir.join(shim::PID_FILE))
        && let Ok(pid) = text.trim().parse::<i32>()
        && pid > 1
        && is_shim(pid)
    {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    asked
}

/// Guards against a recycled pid: only a process running berth-shim is ended.
fn is_shim(pid: i32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            c.split(|b| *b == 0)
                .next()
                .is_some_and(|a| a.ends_with(b"berth-shim"))
        })
        .unwrap_or(false)
}

/// Releases what one run held: the shim, the runtime's state (and cgroup), the rootfs
/// mount. Safe to repeat.
pub(crate) fn end_run(d: &Containers, id: &str, runtime: &str, r: Option<&Record>) {
    let paths = &d.paths;
    if !stop_shim(&paths.shim(id)) {
        // No shim removed it: whatever runtime state the run left goes here.
        engine::Engine::named(runtime, &d.config, paths).delete(id);
    }
    // A container that shares this one's namespace (`container:`) keeps it alive:
    // its interfaces are then taken off the networks one by one, or they would stay
    // on the bridges with addresses given to others.
    let shared = d.all().iter().any(|c| {
        let r = c.record();
        c.id != id && r.state.status.is_live() && r.network == super::record::NetworkMode::Container(id.to_string())
    });
    if shared {
        d.networks.unplug(id);
    }
    d.networks.detach(id);
    unmount_all(&paths.rootfs(id));
    unmount_all(&paths.legacy_rootfs(id));
    if let Some(r) = r {
        super::volumes::unstage_subpaths(&r.volumes, &paths.run_dir(id));
        super::image_mounts::unstage(d, id, r.image_mounts.len(), &paths.run_dir(id));
        super::volumes::detach(&d.volumes, id, &r.volumes);
    }
}

/// Frees everything a container holds, the record last (so a crash in between leaves
/// a record in state `removing`, which the next start finishes).
pub(crate) fn release(d: &Containers, id: &str) -> Result<()> {
    let r = d.get(id).ok().map(|c| c.record());
    let runtime = r.as_ref().map(|r| r.host_config.runtime.clone()).unwrap_or_default();
    release_run(d, id, &runtime, r.as_deref())
}

/// [`release`] of a container that ran on `runtime`.
pub(crate) fn release_run(d: &Containers, id: &str, runtime: &str, r: Option<&Record>) -> Result<()> {
    let paths = &d.paths;
    end_run(d, id, runtime, r);
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
        let e = StartFailure::runtime(
            id,
            "berth-shim: create container abc: exec: \"nope\": executable file not found in $PATH\n",
            shim::FailureCode::NotFound,
        );
        assert_eq!(e.exit_code, 127);
        assert_eq!(
            e.message,
            "failed to create task for container: OCI runtime create failed: exec: \"nope\": executable file not found in $PATH: unknown"
        );
        assert_eq!(StartFailure::runtime(id, "open /x: permission denied", shim::FailureCode::PermissionDenied).exit_code, 126);
        // The kind decides, not the words.
        assert_eq!(StartFailure::runtime(id, "mount /x: no such file or directory", shim::FailureCode::Other).exit_code, 128);
    }
}
