//! `exec`: a new process in a running container. It joins every namespace of the
//! container's init that differs from ours, the container's cgroup, and gets the same
//! capabilities, no_new_privs and seccomp profile as the container's process (or the
//! ones the caller's process.json says).

use std::os::fd::AsRawFd;
use std::path::PathBuf;

use oci_spec::runtime::Process;

use crate::container::Runtime;
use crate::error::{Error, Result};
use crate::init::{clone_sibling, set_non_dumpable};
use crate::namespaces::Plan;
use crate::spec::Bundle;
use crate::state::Status;
use crate::sync::{self, Channel, Msg};
use crate::{console, init, process, seccomp};

pub struct ExecOptions {
    pub process: Process,
    pub console: Option<console::Console>,
    pub pid_file: Option<PathBuf>,
    pub preserve_fds: i32,
}

impl Runtime {
    /// Starts the process and returns its host pid once it has exec'd (the process is
    /// our child: CLONE_PARENT from the namespace-joining intermediate).
    pub fn exec(&self, id: &str, opts: &ExecOptions) -> Result<i32> {
        let (st, status) = self.load(id)?;
        if !matches!(status, Status::Running | Status::Created) {
            return Err(Error::WrongState {
                id: id.to_string(),
                status: status.to_string(),
                action: "exec",
                wanted: "running",
            });
        }
        let bundle = Bundle::load(&st.bundle)?;
        let filter = bundle
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.seccomp().as_ref())
            .map(|p| seccomp::compile(p, Some(&self.seccomp_cache())))
            .transpose()?;
        if opts.process.terminal().unwrap_or(false) && opts.console.is_none() {
            return Err(Error::InvalidSpec("terminal exec needs --console-socket".into()));
        }
        let console = opts.console.as_ref().map(console::Console::connect).transpose()?;
        let plan = Plan::of_process(st.pid)?;
        let cg = self.cgroup_of(&st)?;
        // On cgroup v1 the intermediate joins the cgroup itself, while it still sees the
        // host's cgroup mounts and before it forks the process (born inside, then): the
        // kernel does that without the RCU grace period a write of another pid costs.
        let self_join = cg.version() == cgroups::CgroupVersion::V1;
        let (parent, child) = sync::pair()?;
        // SAFETY: single-threaded here; the child runs only this crate's code, then execs.
        let intermediate = match unsafe { nix::unistd::fork() }.map_err(Error::sys("fork"))? {
            nix::unistd::ForkResult::Child => {
                drop(parent);
                let res = (|| -> Result<i32> {
                    set_non_dumpable();
                    if self_join {
                        cg.join_self()?;
                    }
                    plan.join_all()?;
                    let pid = clone_sibling(nix::sched::CloneFlags::empty())?;
                    if pid == 0 {
                        let e = run_process(&child, opts, console.as_ref(), filter.as_ref()).unwrap_err();
                        let _ = child.send(&Msg::Failed(e.to_failure()));
                        // SAFETY: leave without running the runtime's exit handlers.
                        unsafe { libc::_exit(1) }
                    }
                    Ok(pid)
                })();
                let msg = match res {
                    Ok(pid) => Msg::InitPid(pid),
                    Err(e) => Msg::Failed(e.to_failure()),
                };
                let code = i32::from(!matches!(msg, Msg::InitPid(_)));
                let _ = child.send(&msg);
                // SAFETY: as above.
                unsafe { libc::_exit(code) }
            }
            nix::unistd::ForkResult::Parent { child: pid } => pid,
        };
        drop(child);
        let got = parent.recv("joining the container's namespaces");
        let _ = nix::sys::wait::waitpid(intermediate, None);
        let pid = match got? {
            Msg::InitPid(pid) => pid,
            Msg::Failed(e) => return Err(Error::Container(e)),
            other => return Err(Error::Init(format!("unexpected {other:?}"))),
        };
        let joined = if self_join { Ok(()) } else { cg.add_process(pid).map_err(Error::from) };
        if let Err(e) = joined {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
            return Err(e);
        }
        parent.send(&Msg::CgroupJoined)?;
        // The child's end is close-on-exec: end-of-file means the exec happened.
        match parent.recv("starting the process") {
            Err(Error::Init(_)) => {}
            Ok(Msg::Failed(e)) => {
                let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
                return Err(Error::Container(e));
            }
            Ok(other) => return Err(Error::Init(format!("unexpected {other:?}"))),
            Err(e) => return Err(e),
        }
        if let Some(pid_file) = &opts.pid_file {
            crate::state::write_atomic(&std::path::absolute(pid_file).map_err(Error::io("pid file"))?, pid.to_string().as_bytes())?;
        }
        Ok(pid)
    }
}

fn run_process(
    ch: &Channel,
    opts: &ExecOptions,
    console: Option<&std::os::unix::net::UnixStream>,
    filter: Option<&seccomp::Filter>,
) -> Result<std::convert::Infallible> {
    set_non_dumpable();
    ch.expect(Msg::CgroupJoined, "joining the cgroup")?;
    let process = &opts.process;
    if let Some(sock) = console {
        let size = process.console_size().as_ref().map(|b| (b.height() as u16, b.width() as u16));
        let master = console::setup(size, false)?;
        console::send_fd(sock.as_raw_fd(), master.as_raw_fd(), "console")?;
    }
    init::chdir(process)?;
    process::set_limits(process)?;
    let exe = process::find_executable(process)?;
    process::finalize_and_exec(process, &exe, filter, opts.preserve_fds, false)
}
