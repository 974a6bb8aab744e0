//! The container as the shim makes it: its stdio wired to pipes (stdout, stderr and,
//! with --stdin, stdin) or to a pty whose master the runtime sends back over a
//! socketpair, then created and started through the runtime library. The container's
//! init is forked from the shim and stays the shim's child, so the shim reaps it.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use anyhow::{Context, Result};
use runtime::console::Console;
use runtime::{CreateOptions, Runtime};
use shim::frame::Stream;

use crate::sys;

/// The shim's ends of the container's stdio.
pub struct Stdio {
    /// Where output arrives: the stdout and stderr pipes, or the pty master (one
    /// stream, "stdout"). Non-blocking.
    pub outputs: Vec<(OwnedFd, Stream)>,
    /// Where stdin goes (with --stdin): a pipe, or a duplicate of the pty master.
    pub stdin: Option<OwnedFd>,
    /// The pty master, for resizing.
    pub tty: Option<OwnedFd>,
}

pub struct Wiring {
    pub tty: bool,
    pub stdin: bool,
    /// (rows, columns) of the terminal.
    pub size: Option<(u16, u16)>,
}

/// Creates the container; returns its init pid and the shim's ends of its stdio. On
/// error nothing of the container is left.
pub fn create(rt: &Runtime, id: &str, bundle: &Path, w: &Wiring) -> Result<(i32, Stdio)> {
    let null = sys::dev_null().context("open /dev/null")?;
    if w.tty {
        let (ours, theirs) = UnixStream::pair().context("socketpair for the console")?;
        let opts = CreateOptions { console: Some(Console::Connected(theirs)), ..Default::default() };
        let pid = {
            // The pty replaces them before exec; until then nothing of the shim's.
            let n = null.as_raw_fd();
            let _swap = sys::StdioSwap::install([n, n, n]).context("redirect stdio")?;
            rt.create(id, bundle, &opts)?
        };
        drop(opts);
        let master = runtime::console::recv_fd(ours.as_raw_fd()).and_then(|m| {
            if let Some((rows, cols)) = w.size {
                runtime::console::set_size(m.as_raw_fd(), rows, cols)?;
            }
            Ok(m)
        });
        let master = match master {
            Ok(m) => m,
            Err(e) => {
                let _ = rt.delete(id, true);
                return Err(e.into());
            }
        };
        sys::set_nonblocking(master.as_raw_fd()).context("pty master")?;
        let stdin = if w.stdin { Some(master.try_clone().context("dup pty master")?) } else { None };
        let tty = Some(master.try_clone().context("dup pty master")?);
        return Ok((pid, Stdio { outputs: vec![(master, Stream::Stdout)], stdin, tty }));
    }
    let (out_r, out_w) = sys::pipe().context("stdout pipe")?;
    let (err_r, err_w) = sys::pipe().context("stderr pipe")?;
    let stdin = if w.stdin { Some(sys::pipe().context("stdin pipe")?) } else { None };
    let stdin_fd = stdin.as_ref().map_or(null.as_raw_fd(), |(r, _)| r.as_raw_fd());
    let pid = {
        let _swap = sys::StdioSwap::install([stdin_fd, out_w.as_raw_fd(), err_w.as_raw_fd()])
            .context("redirect stdio")?;
        rt.create(id, bundle, &CreateOptions::default())?
    };
    // Only the container holds the other ends now: end of file means it closed them.
    drop((out_w, err_w));
    let stdin = stdin.map(|(_, w)| w);
    for fd in [Some(&out_r), Some(&err_r), stdin.as_ref()].into_iter().flatten() {
        sys::set_nonblocking(fd.as_raw_fd()).context("non-blocking stdio")?;
    }
    Ok((pid, Stdio { outputs: vec![(out_r, Stream::Stdout), (err_r, Stream::Stderr)], stdin, tty: None }))
}

/// Starts the created container; on error removes it (nothing is left behind).
pub fn start(rt: &Runtime, id: &str) -> Result<()> {
    if let Err(e) = rt.start(id) {
        let _ = rt.delete(id, true);
        return Err(e.into());
    }
    Ok(())
}

/// Whether the kernel's OOM killer killed anything in the container's cgroup.
pub fn oom_killed(rt: &Runtime, id: &str) -> bool {
    let Ok((st, _)) = rt.load(id) else { return false };
    let Ok(cg) = rt.cgroup_of(&st) else { return false };
    cg.stats().ok().and_then(|s| s.memory).and_then(|m| m.oom_kill).is_some_and(|n| n > 0)
}
