//! Execs: processes started in the running container at berthd's request, as the
//! shim's own children (the runtime library clones them from here; a runtime binary's
//! `exec --detach` leaves them to the shim, their subreaper). So an exec outlives
//! berthd as its container does: the shim reaps it and keeps its exit.
//!
//! The client's ends of the exec's stdio go to berthd with the reply. The shim keeps
//! a copy of the output ends and drains them once berthd's connection is gone, so a
//! process whose reader died never blocks on a full pipe or dies of SIGPIPE.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use anyhow::{Context, Result};
use runtime::ExecOptions;
use runtime::console::Console;

use crate::container::{BinaryFailure, Engine};
use crate::sys;

/// An exec as it starts.
pub struct Started {
    pub pid: i32,
    /// For berthd: the terminal's master; or stdout, stderr and (if asked) stdin.
    pub client: Vec<OwnedFd>,
    /// The shim's copies of the output ends, drained once berthd is gone.
    pub outputs: Vec<OwnedFd>,
}

/// Starts `process` (an OCI process JSON file) in container `id`.
pub fn start(rt: &Engine, id: &str, process: &Path, tty: bool, stdin: bool, state_dir: &Path) -> Result<Started> {
    let text = std::fs::read(process).with_context(|| format!("read {}", process.display()))?;
    let spec: oci_spec::runtime::Process = serde_json::from_slice(&text).context("the exec's process")?;
    let null = sys::dev_null().context("open /dev/null")?;
    if tty {
        let (pid, master) = match rt {
            Engine::Library(lib) => {
                let (ours, theirs) = UnixStream::pair().context("socketpair for the console")?;
                let opts = ExecOptions { process: spec, console: Some(Console::Connected(theirs)), pid_file: None, preserve_fds: 0 };
                let n = null.as_raw_fd();
                let pid = {
                    let _swap = sys::StdioSwap::install([n, n, n]).context("redirect stdio")?;
                    lib.exec(id, &opts)?
                };
                drop(opts);
                match runtime::console::recv_fd(ours.as_raw_fd()) {
                    Ok(master) => (pid, master),
                    Err(e) => {
                        // Started, but unreachable: it goes rather than run untracked.
                        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
                        return Err(e.into());
                    }
                }
            }
            Engine::Binary { .. } => binary_exec(rt, id, process, state_dir, None)?,
        };
        let keep = master.try_clone().context("dup the terminal")?;
        return Ok(Started { pid, client: vec![master], outputs: vec![keep] });
    }
    let (out_r, out_w) = sys::pipe().context("stdout pipe")?;
    let (err_r, err_w) = sys::pipe().context("stderr pipe")?;
    let input = if stdin { Some(sys::pipe().context("stdin pipe")?) } else { None };
    let in_fd = input.as_ref().map_or(null.as_raw_fd(), |(r, _)| r.as_raw_fd());
    let pid = match rt {
        Engine::Library(lib) => {
            let opts = ExecOptions { process: spec, console: None, pid_file: None, preserve_fds: 0 };
            let _swap = sys::StdioSwap::install([in_fd, out_w.as_raw_fd(), err_w.as_raw_fd()]).context("redirect stdio")?;
            lib.exec(id, &opts)?
        }
        Engine::Binary { .. } => {
            let in_fd = input.as_ref().map_or(null.as_fd(), |(r, _)| r.as_fd());
            binary_exec(rt, id, process, state_dir, Some([in_fd, out_w.as_fd(), err_w.as_fd()]))?.0
        }
    };
    // Only the process holds the other ends now.
    drop((out_w, err_w));
    let outputs = vec![out_r.try_clone().context("dup stdout")?, err_r.try_clone().context("dup stderr")?];
    let mut client = vec![out_r, err_r];
    if let Some((_, w)) = input {
        client.push(w);
    }
    Ok(Started { pid, client, outputs })
}

/// `RUNTIME exec --detach` of a runc-compatible binary: with `stdio` (the process
/// inherits them), or with a terminal whose master comes back over a console socket.
fn binary_exec(
    rt: &Engine,
    id: &str,
    process: &Path,
    state_dir: &Path,
    stdio: Option<[BorrowedFd<'_>; 3]>,
) -> Result<(i32, OwnedFd)> {
    let pid_file = process.with_extension("pid");
    let mut c = rt.binary_command("exec");
    c.arg("--detach").arg("--process").arg(process).arg("--pid-file").arg(&pid_file);
    let console = match stdio {
        Some(_) => None,
        None => {
            let path = state_dir.join(format!("{}.console", process.file_stem().and_then(|s| s.to_str()).unwrap_or("exec")));
            let _ = std::fs::remove_file(&path);
            let listener = UnixListener::bind(&path).context("console socket")?;
            c.arg("--console-socket").arg(&path);
            Some((listener, path))
        }
    };
    c.arg(id);
    // The runtime passes its stdio on to the process (the terminal replaces them).
    match stdio {
        Some([stdin, stdout, stderr]) => {
            let own = |fd: BorrowedFd<'_>| fd.try_clone_to_owned().map(std::process::Stdio::from).context("dup stdio");
            c.stdin(own(stdin)?).stdout(own(stdout)?).stderr(own(stderr)?);
        }
        None => {
            c.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        }
    }
    let mut child = c.spawn().with_context(|| format!("run {:?}", c.get_program()))?;
    // Our copies of the process's ends go now: only it holds them.
    drop(c);
    let master = match console {
        Some((listener, path)) => {
            let conn = accept_while_running(&listener, &mut child);
            let _ = std::fs::remove_file(path);
            match conn {
                Some(conn) => Some(runtime::console::recv_fd(conn.as_raw_fd())?),
                None => None,
            }
        }
        None => None,
    };
    let status = child.wait().context("wait for the runtime")?;
    let pid = std::fs::read_to_string(&pid_file).ok().and_then(|p| p.trim().parse::<i32>().ok());
    let _ = std::fs::remove_file(&pid_file);
    if !status.success() {
        return Err(BinaryFailure(rt.last_error()).into());
    }
    let pid = pid.context("the runtime's pid file")?;
    if stdio.is_none() && master.is_none() {
        // Started, but unreachable: it goes rather than run untracked.
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        anyhow::bail!("the runtime sent no terminal for the exec");
    }
    // Without a terminal the master is never used: /dev/null stands in.
    let master = match master {
        Some(m) => m,
        None => OwnedFd::from(sys::dev_null().context("open /dev/null")?),
    };
    Ok((pid, master))
}

/// The runtime's connection to the console socket; `None` if it exited without one.
fn accept_while_running(listener: &UnixListener, child: &mut std::process::Child) -> Option<UnixStream> {
    if listener.set_nonblocking(true).is_err() {
        return None;
    }
    loop {
        match listener.accept() {
            Ok((conn, _)) => return conn.set_nonblocking(false).ok().map(|()| conn),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if !matches!(child.try_wait(), Ok(None)) {
                    // One last look: it may have connected just before it left.
                    return listener.accept().ok().and_then(|(c, _)| c.set_nonblocking(false).ok().map(|()| c));
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(_) => return None,
        }
    }
}
