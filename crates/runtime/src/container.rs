//! The container lifecycle as the runc command line exposes it: create, start, state,
//! kill, delete, pause, resume, ps, list. Each operation loads the container's state,
//! checks the status it needs, acts, and saves.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::init::{self, Setup};
use crate::namespaces::Plan;
use crate::spec::Bundle;
use crate::state::{self, ContainerState, Status, Store};
use crate::sync::{self, Msg};
use crate::{cgroup, console, hooks, seccomp};

pub struct Runtime {
    pub store: Store,
    pub systemd_cgroup: bool,
}

#[derive(Default)]
pub struct CreateOptions {
    pub pid_file: Option<PathBuf>,
    pub console: Option<console::Console>,
    pub no_pivot: bool,
    pub preserve_fds: i32,
}

/// Undoes a half-made container when create fails at any step.
struct CreateGuard<'a> {
    store: &'a Store,
    id: &'a str,
    cgroup: Option<cgroups::Cgroup>,
    pids: Vec<i32>,
    armed: bool,
}

impl Drop for CreateGuard<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        for pid in &self.pids {
            let _ = nix::sys::signal::kill(Pid::from_raw(*pid), Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(Pid::from_raw(*pid), None);
        }
        if let Some(cg) = &self.cgroup {
            let _ = kill_all(cg, Signal::SIGKILL);
            let _ = cg.destroy();
        }
        let _ = self.store.remove(self.id);
    }
}

impl Runtime {
    /// Compiled seccomp programs, shared by every container of this state root (a
    /// dot-directory: never taken for a container, whose directories hold a state file).
    pub(crate) fn seccomp_cache(&self) -> std::path::PathBuf {
        self.store.root().join(".seccomp")
    }

    /// Sets the container up and leaves its init waiting for `start`. Returns init's pid.
    pub fn create(&self, id: &str, bundle_dir: &Path, opts: &CreateOptions) -> Result<i32> {
        state::validate_id(id)?;
        let bundle = Bundle::load(bundle_dir)?;
        let spec = &bundle.spec;
        let linux = spec.linux().as_ref().expect("validated");
        let process = spec.process().as_ref().expect("validated");
        if process.terminal().unwrap_or(false) && opts.console.is_none() {
            return Err(Error::InvalidSpec("process.terminal is true: --console-socket is required".into()));
        }
        if !linux.namespaces().iter().flatten().any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::Mount) {
            return Err(Error::InvalidSpec("a mount namespace is required".into()));
        }
        // Everything that can be checked without side effects is checked first.
        let filter = linux.seccomp().as_ref().map(|p| seccomp::compile(p, Some(&self.seccomp_cache()))).transpose()?;
        let plan = Plan::new(linux.namespaces().as_deref().unwrap_or_default())?;
        let console = opts.console.as_ref().map(console::Console::connect).transpose()?;
        let cg_path = cgroups::parse_cgroups_path(
            linux.cgroups_path().as_deref().and_then(|p| p.to_str()),
            id,
            self.systemd_cgroup,
        )?;

        let dir = self.store.create_dir(id)?;
        let mut guard = CreateGuard { store: &self.store, id, cgroup: None, pids: Vec::new(), armed: true };
        let mut state = ContainerState {
            id: id.to_string(),
            bundle: bundle.dir.clone(),
            rootfs: bundle.rootfs.clone(),
            pid: 0,
            pid_start_time: 0,
            started: false,
            created: chrono::Utc::now(),
            owner: nix::unistd::User::from_uid(nix::unistd::geteuid())
                .ok()
                .flatten()
                .map(|u| u.name)
                .unwrap_or_default(),
            cgroup_path: cg_path.to_string(),
            systemd_cgroup: self.systemd_cgroup,
            annotations: spec.annotations().clone().unwrap_or_default(),
            poststart_hooks: Some(
                spec.hooks().as_ref().and_then(|h| h.poststart().as_ref()).is_some_and(|p| !p.is_empty()),
            ),
        };
        self.store.save(&state)?;

        let cg = cgroup::open(&cg_path)?;
        cg.create()?;
        guard.cgroup = Some(cg);
        let cg = guard.cgroup.as_ref().expect("just set");
        cg.apply(&with_default_devices(linux))?;
        let exec_fifo = make_fifo(&dir.join(state::EXEC_FIFO))?;
        let status_fifo = make_fifo(&dir.join(state::STATUS_FIFO))?;
        let self_join = (cg.version() == cgroups::CgroupVersion::V1 && !plan.new_user).then_some(cg);
        let setup = Setup {
            spec,
            rootfs: &bundle.rootfs,
            cgroup_mount: cgroup::mount_plan(cg, plan.new_cgroup)?,
            plan,
            exec_fifo,
            status_fifo,
            console,
            filter,
            no_pivot: opts.no_pivot,
            preserve_fds: opts.preserve_fds,
            // A v1 init joins by itself, which the kernel does without an RCU grace
            // period; inside a new user namespace it may lack the right to, so the
            // parent moves it then.
            self_join,
        };

        let (parent, child) = sync::pair()?;
        // SAFETY: the runtime is single-threaded here, so the child may run any code.
        let intermediate = match unsafe { nix::unistd::fork() }.map_err(Error::sys("fork"))? {
            nix::unistd::ForkResult::Child => {
                drop(parent);
                init::intermediate(&setup, &child)
            }
            nix::unistd::ForkResult::Parent { child: pid } => pid,
        };
        drop(child);
        guard.pids.push(intermediate.as_raw());
        if setup.plan.new_user {
            parent.expect(Msg::UsernsReady, "creating the user namespace")?;
            write_id_maps(intermediate.as_raw(), linux)?;
            parent.send(&Msg::MappingsWritten)?;
        }
        let pid = match parent.recv("creating namespaces")? {
            Msg::InitPid(pid) => pid,
            Msg::Failed(e) => return Err(Error::Container(e)),
            other => return Err(Error::Init(format!("unexpected {other:?}"))),
        };
        let _ = nix::sys::wait::waitpid(intermediate, None);
        guard.pids = vec![pid];
        if setup.self_join.is_none() {
            cg.add_process(pid)?;
        }
        parent.send(&Msg::CgroupJoined)?;
        parent.expect(Msg::RootfsMounted, "mounting the root filesystem")?;

        state.pid = pid;
        state.pid_start_time = state::start_time(pid).unwrap_or(0);
        let oci = state.oci_state(Status::Created);
        let hooks = spec.hooks().as_ref();
        let mut oci_creating = oci.clone();
        oci_creating["status"] = "creating".into();
        hooks::run_all(hooks.and_then(|h| h.prestart().as_ref()), &oci_creating)?;
        hooks::run_all(hooks.and_then(|h| h.create_runtime().as_ref()), &oci_creating)?;
        parent.send(&Msg::HooksDone(oci_creating.to_string()))?;
        parent.expect(Msg::Created, "setting up the container")?;

        self.store.save(&state)?;
        if let Some(pid_file) = &opts.pid_file {
            state::write_atomic(&std::path::absolute(pid_file).map_err(Error::io("pid file"))?, pid.to_string().as_bytes())?;
        }
        guard.armed = false;
        Ok(pid)
    }

    /// Releases a created container's init to exec the user's process.
    pub fn start(&self, id: &str) -> Result<()> {
        let mut st = self.store.load(id)?;
        let status = st.status(None);
        if status != Status::Created {
            return Err(wrong(id, status, "start", "created"));
        }
        let dir = self.store.dir(id);
        // Open the status FIFO first: init holds its only writer, so EOF means it
        // exec'd (close-on-exec) and a message means it failed.
        let status_fifo = open_fifo(&dir.join(state::STATUS_FIFO), OFlag::O_RDONLY | OFlag::O_NONBLOCK)?;
        let exec_fifo = open_fifo(&dir.join(state::EXEC_FIFO), OFlag::O_WRONLY | OFlag::O_NONBLOCK)
            .map_err(|_| wrong(id, Status::Stopped, "start", "created"))?;
        nix::unistd::write(&exec_fifo, &[0]).map_err(Error::sys("write exec fifo"))?;
        drop(exec_fifo);
        // Recorded once init has its byte: `state` says running only when a kill can no
        // longer come between (it would end init before the write, failing the start).
        st.started = true;
        self.store.save(&st)?;
        nix::fcntl::fcntl(&status_fifo, nix::fcntl::FcntlArg::F_SETFL(OFlag::empty())).map_err(Error::sys("status fifo"))?;
        let mut msg = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match nix::unistd::read(&status_fifo, &mut buf) {
                Ok(0) => break,
                Ok(n) => msg.extend_from_slice(&buf[..n]),
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err(Error::sys("read status fifo")(e)),
            }
        }
        let _ = std::fs::remove_file(dir.join(state::EXEC_FIFO));
        if !msg.is_empty() {
            // The init's failure as it wrote it (JSON); plain text from an older init.
            let failure = serde_json::from_slice(&msg)
                .unwrap_or_else(|_| crate::error::Failure::other(String::from_utf8_lossy(&msg)));
            return Err(Error::Container(failure));
        }
        // The bundle is read again only for poststart hooks: a start otherwise pays
        // for parsing a spec it does not need.
        let spec =
            (st.poststart_hooks != Some(false)).then(|| Bundle::load(&st.bundle).map(|b| b.spec).ok()).flatten();
        if let Some(h) = spec.as_ref().and_then(|s| s.hooks().as_ref()) {
            hooks::run_all_warn(h.poststart().as_ref(), &st.oci_state(Status::Running));
        }
        Ok(())
    }

    pub fn load(&self, id: &str) -> Result<(ContainerState, Status)> {
        let st = self.store.load(id)?;
        let cg = self.cgroup_of(&st).ok();
        let status = st.status(cg.as_ref());
        Ok((st, status))
    }

    pub fn state(&self, id: &str) -> Result<serde_json::Value> {
        let (st, status) = self.load(id)?;
        Ok(st.oci_state(status))
    }

    pub fn kill(&self, id: &str, signal: Signal, all: bool) -> Result<()> {
        let (st, status) = self.load(id)?;
        if matches!(status, Status::Stopped | Status::Creating) {
            return Err(wrong(id, status, "kill", "created, running or paused"));
        }
        if all {
            let cg = self.cgroup_of(&st)?;
            return kill_all(&cg, signal);
        }
        signal_process(st.pid, st.pid_start_time, signal)
    }

    /// Removes a stopped (or, with `force`, any) container: its processes, cgroup and
    /// state. poststop hooks run last.
    pub fn delete(&self, id: &str, force: bool) -> Result<()> {
        let st = match self.store.load(id) {
            Err(Error::CorruptState { .. }) if force => return self.store.remove(id),
            r => r?,
        };
        let cg = self.cgroup_of(&st).ok();
        let status = st.status(cg.as_ref());
        match status {
            Status::Stopped | Status::Creating => {}
            Status::Created => {
                // A created container never ran the user's process: remove it freely.
                let _ = signal_process(st.pid, st.pid_start_time, Signal::SIGKILL);
            }
            _ if force => {
                if let Some(cg) = &cg {
                    let _ = cg.thaw();
                    let _ = kill_all(cg, Signal::SIGKILL);
                }
                let _ = signal_process(st.pid, st.pid_start_time, Signal::SIGKILL);
            }
            _ => return Err(wrong(id, status, "delete", "stopped (or use --force)")),
        }
        wait_gone(st.pid, st.pid_start_time, Duration::from_secs(10));
        if let Some(cg) = &cg {
            if status != Status::Stopped || !cg.pids().unwrap_or_default().is_empty() {
                let _ = kill_all(cg, Signal::SIGKILL);
            }
            destroy_cgroup(cg)?;
        }
        let spec = Bundle::load(&st.bundle).map(|b| b.spec).ok();
        self.store.remove(id)?;
        if let Some(h) = spec.as_ref().and_then(|s| s.hooks().as_ref()) {
            hooks::run_all_warn(h.poststop().as_ref(), &st.oci_state(Status::Stopped));
        }
        Ok(())
    }

    pub fn pause(&self, id: &str) -> Result<()> {
        let (st, status) = self.load(id)?;
        if status != Status::Running {
            return Err(wrong(id, status, "pause", "running"));
        }
        Ok(self.cgroup_of(&st)?.freeze()?)
    }

    pub fn resume(&self, id: &str) -> Result<()> {
        let (st, status) = self.load(id)?;
        if status != Status::Paused {
            return Err(wrong(id, status, "resume", "paused"));
        }
        Ok(self.cgroup_of(&st)?.thaw()?)
    }

    /// Host pids of every process in the container's cgroup.
    pub fn pids(&self, id: &str) -> Result<Vec<i32>> {
        let (st, status) = self.load(id)?;
        if status == Status::Stopped {
            return Ok(Vec::new());
        }
        Ok(self.cgroup_of(&st)?.pids()?)
    }

    pub fn list(&self) -> Result<Vec<(ContainerState, Status)>> {
        let mut out = Vec::new();
        for id in self.store.list()? {
            if let Ok(entry) = self.load(&id) {
                out.push(entry);
            }
        }
        Ok(out)
    }

    pub fn cgroup_of(&self, st: &ContainerState) -> Result<cgroups::Cgroup> {
        let path = cgroups::parse_cgroups_path(Some(&st.cgroup_path), &st.id, false)?;
        cgroup::open(&path)
    }
}

/// The spec's resources with the device rules runc always adds after them: the
/// default devices, the pty devices and mknod of anything, so the container can use
/// the /dev it is always given whatever the spec's rules say.
fn with_default_devices(linux: &oci_spec::runtime::Linux) -> oci_spec::runtime::LinuxResources {
    use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};
    let mut resources = linux.resources().clone().unwrap_or_default();
    let mut rules = resources.devices().clone().unwrap_or_default();
    let rule = |typ: LinuxDeviceType, major: Option<i64>, minor: Option<i64>, access: &str| {
        let mut r = LinuxDeviceCgroup::default();
        r.set_allow(true);
        r.set_typ(Some(typ));
        r.set_major(major);
        r.set_minor(minor);
        r.set_access(Some(access.to_string()));
        r
    };
    rules.push(rule(LinuxDeviceType::C, None, None, "m"));
    rules.push(rule(LinuxDeviceType::B, None, None, "m"));
    for (major, minor) in [(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 1), (5, 2)] {
        rules.push(rule(LinuxDeviceType::C, Some(major), Some(minor), "rwm"));
    }
    rules.push(rule(LinuxDeviceType::C, Some(136), None, "rwm"));
    // Not the `linux.devices` nodes: their access is the spec's rules' to grant (as in
    // runc), so a device given read-only (`--device /dev/x:/dev/x:r`) stays so.
    resources.set_devices(Some(rules));
    resources
}

fn wrong(id: &str, status: Status, action: &'static str, wanted: &'static str) -> Error {
    Error::WrongState { id: id.to_string(), status: status.to_string(), action, wanted }
}

/// Signals the recorded init only if it still is that process (not a recycled pid):
/// a pidfd pins the process between the check and the signal.
fn signal_process(pid: i32, start_time: u64, signal: Signal) -> Result<()> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(Error::Init(format!("process {pid} is gone")));
    }
    // SAFETY: fd was just returned by pidfd_open.
    let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as i32) };
    if !state::process_is(pid, start_time) {
        return Err(Error::Init(format!("process {pid} is gone")));
    }
    use std::os::fd::AsRawFd;
    // SAFETY: a valid pidfd, a signal number, no siginfo, no flags.
    let rc = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, fd.as_raw_fd(), signal as i32, 0usize, 0) };
    if rc != 0 {
        return Err(Error::io(format!("signal {signal} to {pid}"))(std::io::Error::last_os_error()));
    }
    Ok(())
}

fn kill_all(cg: &cgroups::Cgroup, signal: Signal) -> Result<()> {
    for pid in cg.pids()? {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), signal);
    }
    Ok(())
}

fn wait_gone(pid: i32, start_time: u64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let mut nap = Duration::from_micros(100);
    while pid > 0 && state::process_is(pid, start_time) && Instant::now() < deadline {
        // Our own child (run in the foreground) must be reaped to stop being a zombie.
        let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), Some(nix::sys::wait::WaitPidFlag::WNOHANG));
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
    }
}

/// A cgroup can only be removed once empty; processes killed a moment ago may still
/// be exiting.
fn destroy_cgroup(cg: &cgroups::Cgroup) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match cg.destroy() {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() >= deadline => return Err(e.into()),
            Err(_) => {
                let _ = kill_all(cg, Signal::SIGKILL);
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

fn make_fifo(path: &Path) -> Result<OwnedFd> {
    nix::unistd::mkfifo(path, Mode::from_bits_truncate(0o600)).map_err(Error::sys(format!("mkfifo {}", path.display())))?;
    // O_RDWR: opening never blocks, and the holder counts as both a reader and a writer.
    open_fifo(path, OFlag::O_RDWR)
}

fn open_fifo(path: &Path, flags: OFlag) -> Result<OwnedFd> {
    nix::fcntl::open(path, flags | OFlag::O_CLOEXEC, Mode::empty()).map_err(Error::sys(format!("open {}", path.display())))
}

fn write_id_maps(pid: i32, linux: &oci_spec::runtime::Linux) -> Result<()> {
    let fmt = |maps: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| {
        maps.iter()
            .flatten()
            .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
            .collect::<String>()
    };
    for (file, maps) in [("uid_map", linux.uid_mappings()), ("gid_map", linux.gid_mappings())] {
        let path = format!("/proc/{pid}/{file}");
        std::fs::write(&path, fmt(maps)).map_err(Error::io(format!("write {path}")))?;
    }
    Ok(())
}
