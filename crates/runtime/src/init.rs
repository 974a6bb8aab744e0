//! The processes that become a container. The runtime forks an *intermediate*, which
//! creates the user namespace (so the runtime can write its id maps), joins and
//! unshares the other namespaces, then clones *init* with CLONE_PARENT: init is in
//! the new pid namespace as pid 1, yet it is the runtime's child, so `run` can wait
//! for it and no zombie is left to the host's init. The intermediate then exits.
//!
//! Init is made non-dumpable before it does anything: while it runs the runtime's
//! code inside the container, /proc/1/exe (the host's berth-runtime binary) must not
//! be reachable from the container (CVE-2019-5736).

use std::convert::Infallible;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::sched::CloneFlags;
use oci_spec::runtime::{Process, Spec};

use crate::error::{Error, Result};
use crate::namespaces::Plan;
use crate::rootfs::{self, CgroupMount, Rootfs};
use crate::sync::{Channel, Msg};
use crate::{console, hooks, process};

/// Everything the container's processes need, prepared by the runtime before forking.
pub struct Setup<'a> {
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub plan: Plan,
    pub cgroup_mount: CgroupMount,
    pub exec_fifo: OwnedFd,
    pub status_fifo: OwnedFd,
    pub console: Option<UnixStream>,
    pub filter: Option<crate::seccomp::Filter>,
    pub no_pivot: bool,
    pub preserve_fds: i32,
    /// The init moves itself into this cgroup (the fast way on cgroup v1) instead of
    /// being moved by the parent.
    pub self_join: Option<&'a cgroups::Cgroup>,
}

/// clone(CLONE_PARENT): like fork, but the child's parent is our parent. Returns 0
/// in the child.
pub fn clone_sibling(extra: CloneFlags) -> Result<i32> {
    let flags = (CloneFlags::CLONE_PARENT | extra).bits() as libc::c_ulong | libc::SIGCHLD as libc::c_ulong;
    // SAFETY: a raw clone without CLONE_VM and with a null stack behaves as fork: the
    // child gets a copy of this single-threaded process and returns 0 here.
    let pid = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
    if pid < 0 {
        return Err(Error::io("clone")(std::io::Error::last_os_error()));
    }
    Ok(pid as i32)
}

pub fn set_non_dumpable() {
    // SAFETY: prctl with constant arguments.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
}

/// Runs in the intermediate process: never returns; exits 0 once init is cloned.
pub fn intermediate(setup: &Setup, ch: &Channel) -> ! {
    let res = (|| -> Result<i32> {
        if setup.plan.new_user {
            nix::sched::unshare(CloneFlags::CLONE_NEWUSER).map_err(Error::sys("create user namespace"))?;
            ch.send(&Msg::UsernsReady)?;
            ch.expect(Msg::MappingsWritten, "waiting for id maps")?;
            become_root()?;
        }
        setup.plan.join_all()?;
        nix::sched::unshare(setup.plan.unshare).map_err(Error::sys("create namespaces"))?;
        write_time_offsets(setup.spec)?;
        let pid = clone_sibling(CloneFlags::empty())?;
        if pid == 0 {
            init(setup, ch);
        }
        Ok(pid)
    })();
    match res {
        Ok(pid) => {
            let _ = ch.send(&Msg::InitPid(pid));
            // SAFETY: _exit skips atexit handlers and buffers that belong to the parent.
            unsafe { libc::_exit(0) }
        }
        Err(e) => fail(ch, e),
    }
}

fn fail(ch: &Channel, e: Error) -> ! {
    let _ = ch.send(&Msg::Failed(e.to_failure()));
    // SAFETY: as above.
    unsafe { libc::_exit(1) }
}

fn become_root() -> Result<()> {
    let root_u = nix::unistd::Uid::from_raw(0);
    let root_g = nix::unistd::Gid::from_raw(0);
    nix::unistd::setresgid(root_g, root_g, root_g).map_err(Error::sys("setgid 0 in user namespace"))?;
    nix::unistd::setresuid(root_u, root_u, root_u).map_err(Error::sys("setuid 0 in user namespace"))
}

fn write_time_offsets(spec: &Spec) -> Result<()> {
    let Some(offsets) = spec.linux().as_ref().and_then(|l| l.time_offsets().as_ref()) else { return Ok(()) };
    let mut text = String::new();
    for (clock, off) in offsets {
        text.push_str(&format!("{clock} {} {}\n", off.secs().unwrap_or(0), off.nanosecs().unwrap_or(0)));
    }
    std::fs::write("/proc/self/timens_offsets", text).map_err(Error::io("write time namespace offsets"))
}

fn init(setup: &Setup, ch: &Channel) -> ! {
    set_non_dumpable();
    let err = match prepare(setup, ch) {
        Ok((exe, state)) => {
            let _ = ch.send(&Msg::Created);
            match wait_and_exec(setup, &exe, &state) {
                Ok(never) => match never {},
                Err(e) => {
                    // The runtime that created us is gone; `start` reads this.
                    let failure = serde_json::to_vec(&e.to_failure()).unwrap_or_default();
                    let _ = nix::unistd::write(&setup.status_fifo, &failure);
                    // SAFETY: as above.
                    unsafe { libc::_exit(1) }
                }
            }
        }
        Err(e) => e,
    };
    fail(ch, err)
}

/// Everything `create` does inside the container, up to waiting for `start`.
fn prepare(setup: &Setup, ch: &Channel) -> Result<(std::path::PathBuf, serde_json::Value)> {
    let spec = setup.spec;
    let process = spec.process().as_ref().expect("validated");
    ch.expect(Msg::CgroupJoined, "waiting to join the cgroup")?;
    if let Some(cg) = setup.self_join {
        cg.join_self()?;
    }
    // After joining the cgroup, so the namespace's root is the container's cgroup.
    if setup.plan.new_cgroup {
        nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP).map_err(Error::sys("create cgroup namespace"))?;
    }
    let rootfs = Rootfs {
        path: setup.rootfs,
        spec,
        in_userns: setup.plan.new_user || setup.plan.join.iter().any(|(t, _)| *t == oci_spec::runtime::LinuxNamespaceType::User),
        cgroup: &setup.cgroup_mount,
    };
    if setup.plan.new_mount {
        rootfs.mount_all()?;
    }
    ch.send(&Msg::RootfsMounted)?;
    let state = match ch.recv("waiting for prestart hooks")? {
        Msg::HooksDone(state) => serde_json::from_str::<serde_json::Value>(&state).unwrap_or_default(),
        Msg::Failed(e) => return Err(Error::Container(e)),
        other => return Err(Error::Init(format!("unexpected {other:?}"))),
    };
    hooks::run_all(spec.hooks().as_ref().and_then(|h| h.create_container().as_ref()), &state)?;
    if setup.plan.new_mount {
        rootfs::pivot(setup.rootfs, setup.no_pivot)?;
    }
    if let Some(sysctl) = spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()) {
        for (key, value) in sysctl {
            let path = format!("/proc/sys/{}", key.replace('.', "/"));
            std::fs::write(&path, value).map_err(Error::io(format!("sysctl {key}={value}")))?;
        }
    }
    if setup.plan.new_uts {
        if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
            nix::unistd::sethostname(h).map_err(Error::sys(format!("set hostname {h:?}")))?;
        }
        if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
            let c = std::ffi::CString::new(d).map_err(|_| Error::InvalidSpec("NUL in domainname".into()))?;
            // SAFETY: c is a valid buffer of the length passed.
            if unsafe { libc::setdomainname(c.as_ptr(), d.len()) } != 0 {
                return Err(Error::io("set domainname")(std::io::Error::last_os_error()));
            }
        }
    }
    if setup.plan.new_mount {
        rootfs::mask_and_protect(spec)?;
        if spec.root().as_ref().and_then(|r| r.readonly()).unwrap_or(false) {
            rootfs::readonly_root()?;
        }
        rootfs::root_propagation(spec)?;
    }
    if let Some(sock) = &setup.console {
        let size = process.console_size().as_ref().map(|b| (b.height() as u16, b.width() as u16));
        let master = console::setup(size, setup.plan.new_mount)?;
        console::send_fd(sock.as_raw_fd(), master.as_raw_fd(), "console")?;
    }
    chdir(process)?;
    process::set_limits(process)?;
    Ok((process::find_executable(process)?, state))
}

pub fn chdir(process: &Process) -> Result<()> {
    let cwd = process.cwd();
    if !cwd.exists() {
        std::fs::create_dir_all(cwd).map_err(Error::io(format!("create cwd {}", cwd.display())))?;
    }
    nix::unistd::chdir(cwd.as_path()).map_err(Error::sys(format!("chdir {}", cwd.display())))
}

/// Blocks until `start` writes to the exec FIFO, runs startContainer hooks, execs.
/// startContainer hooks run inside the container, where the runtime's state directory
/// is not visible: they get the state the runtime passed at creation.
fn wait_and_exec(setup: &Setup, exe: &Path, state: &serde_json::Value) -> Result<Infallible> {
    let mut byte = [0u8; 1];
    loop {
        match nix::unistd::read(&setup.exec_fifo, &mut byte) {
            Err(nix::Error::EINTR) => continue,
            Ok(1) => break,
            Ok(_) => return Err(Error::Init("exec fifo closed before start".into())),
            Err(e) => return Err(Error::sys("read exec fifo")(e)),
        }
    }
    let spec = setup.spec;
    let mut state = state.clone();
    state["status"] = "running".into();
    hooks::run_all(spec.hooks().as_ref().and_then(|h| h.start_container().as_ref()), &state)?;
    let process = spec.process().as_ref().expect("validated");
    let init = spec
        .annotations()
        .as_ref()
        .and_then(|a| a.get(crate::reaper::INIT_ANNOTATION))
        .is_some_and(|v| v == "true");
    process::finalize_and_exec(process, exe, setup.filter.as_ref(), setup.preserve_fds, init)
}

