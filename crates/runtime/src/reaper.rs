//! berth's init (`docker run --init`): when the spec's annotation
//! [`INIT_ANNOTATION`] is `"true"`, the container's first process forks right before
//! exec. The child execs the user's command; the parent stays as PID 1 of the
//! container and does what a shell-less PID 1 must: it reaps every orphan that the
//! kernel reparents to it (no zombies pile up), forwards the signals it receives to
//! the command (a PID 1 ignores signals it has no handler for, so `docker stop` would
//! otherwise wait for the timeout), and exits with the command's status (128 + the
//! signal when it was killed), as tini does. It is a copy of the runtime's process,
//! so nothing needs to be mounted into the container.

use std::convert::Infallible;

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::wait::{WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::error::{Error, Result};

/// The spec annotation that asks for berth's init.
pub const INIT_ANNOTATION: &str = "org.berth.init";

/// Forks: returns in the child (which goes on to exec); the parent never returns.
pub fn fork_into_reaper() -> Result<()> {
    // Blocked before the fork, so no signal arrives between fork and sigwait; the
    // child's mask is reset right before its exec.
    let all = SigSet::all();
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&all), None).map_err(Error::sys("block signals"))?;
    // SAFETY: the container's init is single-threaded; the parent only makes raw
    // system calls from here on.
    match unsafe { libc::fork() } {
        -1 => Err(Error::io("fork the init")(std::io::Error::last_os_error())),
        0 => Ok(()),
        child => reap(Pid::from_raw(child)).map(|never| match never {}),
    }
}

fn reap(child: Pid) -> Result<Infallible> {
    // Keep nothing of the runtime: the sync and state descriptors must close as if
    // this process had exec'd too.
    // SAFETY: close_range on fds this process owns; 0 = close them.
    unsafe {
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
    }
    let all = SigSet::all();
    loop {
        let Ok(sig) = all.wait() else { continue };
        if sig != Signal::SIGCHLD {
            let _ = nix::sys::signal::kill(child, sig);
            continue;
        }
        loop {
            match nix::sys::wait::waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == child => exit(code),
                Ok(WaitStatus::Signaled(pid, s, _)) if pid == child => exit(128 + s as i32),
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    }
}

fn exit(code: i32) -> ! {
    // SAFETY: _exit ends the process without running anything of the runtime.
    unsafe { libc::_exit(code) }
}
