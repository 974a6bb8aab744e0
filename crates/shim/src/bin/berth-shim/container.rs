//! The container as the shim makes it: its stdio wired to pipes (stdout, stderr and,
//! with --stdin, stdin) or to a pty whose master the runtime sends back over a
//! socket, then created and started through the runtime library — or through another
//! OCI runtime's command line (runc, crun) when the container asks for one. The
//! library forks the init from the shim; a runtime binary's init is reparented to the
//! shim (a child subreaper) when the runtime exits. Either way the shim reaps it.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use anyhow::{Context, Result};
use runtime::console::Console;
use runtime::{CreateOptions, Runtime};
use shim::frame::Stream;

/// A runtime binary's failure, in its own words (its log's last message).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BinaryFailure(pub String);

/// What kind of failure ended a start: the runtime library says so; a runtime
/// binary (runc, crun) only has words, read here and nowhere else.
pub fn failure_code(e: &anyhow::Error) -> shim::FailureCode {
    use shim::FailureCode;
    for cause in e.chain() {
        if let Some(rt) = cause.downcast_ref::<runtime::Error>() {
            return match rt.failure_kind() {
                runtime::error::FailureKind::NotFound => FailureCode::NotFound,
                runtime::error::FailureKind::PermissionDenied => FailureCode::PermissionDenied,
                runtime::error::FailureKind::Other => FailureCode::Other,
            };
        }
        if let Some(BinaryFailure(words)) = cause.downcast_ref::<BinaryFailure>() {
            // crun capitalises what runc does not ("No such file or directory").
            let words = words.to_lowercase();
            return if words.contains("executable file not found") || words.contains("no such file or directory") {
                FailureCode::NotFound
            } else if words.contains("permission denied") {
                FailureCode::PermissionDenied
            } else {
                FailureCode::Other
            };
        }
    }
    FailureCode::Other
}

/// How the shim drives the OCI runtime.
pub enum Engine {
    /// berth's own runtime, as a library: no exec at all.
    Library(Runtime),
    /// A runc-compatible binary (`runc`, `crun`): `--root R create|start|delete`.
    Binary { path: std::path::PathBuf, args: Vec<String>, root: std::path::PathBuf, state_dir: std::path::PathBuf },
}

impl Engine {
    /// The runtime binary's command line for `op`, its log in the state directory.
    pub fn binary_command(&self, op: &str) -> std::process::Command {
        let Engine::Binary { path, args, root, state_dir } = self else { unreachable!("binary engine only") };
        // Each command's own log: the last error read from it is this command's.
        let _ = std::fs::write(state_dir.join("runtime.log"), b"");
        let mut c = std::process::Command::new(path);
        c.args(args).arg("--root").arg(root).arg("--log").arg(state_dir.join("runtime.log")).arg(op);
        c
    }

    /// The runtime binary's last error, from its log (`--log`), for the report.
    pub fn last_error(&self) -> String {
        let Engine::Binary { path, state_dir, .. } = self else { return String::new() };
        let log = std::fs::read_to_string(state_dir.join("runtime.log")).unwrap_or_default();
        let msg = log
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok().and_then(|v| v["msg"].as_str().map(String::from)))
            .or_else(|| log.lines().last().map(String::from))
            .unwrap_or_default();
        format!("{}: {msg}", path.display())
    }

    fn create(&self, id: &str, bundle: &Path, opts: &CreateOptions) -> Result<i32> {
        match self {
            Engine::Library(rt) => Ok(rt.create(id, bundle, opts)?),
            Engine::Binary { state_dir, .. } => {
                let pid_file = state_dir.join("init.pid");
                let mut c = self.binary_command("create");
                c.arg("--bundle").arg(bundle).arg("--pid-file").arg(&pid_file);
                // The console socket's peer: a listener the runtime connects to.
                let console = match &opts.console {
                    Some(Console::Connected(peer)) => {
                        let path = state_dir.join("console.sock");
                        let _ = std::fs::remove_file(&path);
                        let listener = std::os::unix::net::UnixListener::bind(&path).context("console socket")?;
                        c.arg("--console-socket").arg(&path);
                        let peer = peer.try_clone().context("console socket")?;
                        Some((listener, peer, path))
                    }
                    _ => None,
                };
                c.arg(id);
                let mut child = c.spawn().with_context(|| format!("run {:?}", c.get_program()))?;
                // Forward the pty master the runtime sends to our side of the pair.
                let relay = console.map(|(listener, peer, path)| {
                    std::thread::spawn(move || -> Result<()> {
                        let (conn, _) = listener.accept().context("accept the console socket")?;
                        let master = runtime::console::recv_fd(conn.as_raw_fd())?;
                        runtime::console::send_fd(peer.as_raw_fd(), master.as_raw_fd(), "console")?;
                        let _ = std::fs::remove_file(path);
                        Ok(())
                    })
                });
                let status = child.wait().context("wait for the runtime")?;
                if !status.success() {
                    return Err(BinaryFailure(self.last_error()).into());
                }
                if let Some(r) = relay {
                    r.join().map_err(|_| anyhow::anyhow!("console relay panicked"))??;
                }
                let pid = std::fs::read_to_string(&pid_file).context("the runtime's pid file")?;
                pid.trim().parse().context("the runtime's pid file")
            }
        }
    }

    fn start(&self, id: &str) -> Result<()> {
        match self {
            Engine::Library(rt) => Ok(rt.start(id)?),
            Engine::Binary { .. } => {
                let status = self.binary_command("start").arg(id).status().context("run the runtime")?;
                if !status.success() {
                    return Err(BinaryFailure(self.last_error()).into());
                }
                Ok(())
            }
        }
    }

    /// Runs the runtime binary with `args` (after its global options); its error
    /// output is the error.
    fn run_binary(&self, args: &[&str], input: Option<&[u8]>) -> Result<Vec<u8>, String> {
        use std::io::Write;
        let Engine::Binary { path, args: extra, root, .. } = self else { unreachable!("binary engine only") };
        let mut child = std::process::Command::new(path)
            .args(extra)
            .arg("--root")
            .arg(root)
            .args(args)
            .stdin(if input.is_some() { std::process::Stdio::piped() } else { std::process::Stdio::null() })
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("run {}: {e}", path.display()))?;
        if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
            stdin.write_all(bytes).map_err(|e| format!("{} {}: {e}", path.display(), args[0]))?;
        }
        let out = child.wait_with_output().map_err(|e| format!("{} {}: {e}", path.display(), args[0]))?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(format!("{} {}: {}", path.display(), args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
        }
    }

    /// Sends `signal` to the init (`all`: to every process), then thaws a paused
    /// container so that the signal is delivered.
    pub fn kill(&self, id: &str, signal: i32, all: bool) -> Result<(), String> {
        let sig = nix::sys::signal::Signal::try_from(signal).map_err(|_| format!("invalid signal {signal}"))?;
        match self {
            Engine::Library(rt) => {
                rt.kill(id, sig, all).map_err(|e| e.to_string())?;
                if let Ok((st, runtime::state::Status::Paused)) = rt.load(id)
                    && let Ok(cg) = rt.cgroup_of(&st)
                {
                    let _ = cg.thaw();
                }
                Ok(())
            }
            Engine::Binary { .. } => {
                let n = signal.to_string();
                let r = if all { self.run_binary(&["kill", "--all", id, &n], None) } else { self.run_binary(&["kill", id, &n], None) };
                let _ = self.run_binary(&["resume", id], None);
                r.map(|_| ())
            }
        }
    }

    pub fn pause(&self, id: &str) -> Result<(), String> {
        match self {
            Engine::Library(rt) => rt.pause(id).map_err(|e| e.to_string()),
            Engine::Binary { .. } => self.run_binary(&["pause", id], None).map(|_| ()),
        }
    }

    pub fn resume(&self, id: &str) -> Result<(), String> {
        match self {
            Engine::Library(rt) => rt.resume(id).map_err(|e| e.to_string()),
            Engine::Binary { .. } => self.run_binary(&["resume", id], None).map(|_| ()),
        }
    }

    /// Writes `resources` to the container's cgroup: through the cgroups library, or
    /// with the binary's `update --resources -`.
    pub fn update(&self, id: &str, resources: &oci_spec::runtime::LinuxResources) -> Result<(), String> {
        match self {
            Engine::Library(rt) => {
                let (st, _) = rt.load(id).map_err(|e| e.to_string())?;
                let cg = rt.cgroup_of(&st).map_err(|e| e.to_string())?;
                cg.apply(resources).map_err(|e| memory_limit_refused(&cg, resources, e))
            }
            Engine::Binary { .. } => {
                let json = serde_json::to_vec(resources).map_err(|e| e.to_string())?;
                self.run_binary(&["update", "--resources", "-", id], Some(&json)).map(|_| ())
            }
        }
    }

    /// Host pids of every process of the container.
    pub fn pids(&self, id: &str) -> Result<Vec<i32>, String> {
        match self {
            Engine::Library(rt) => rt.pids(id).map_err(|e| e.to_string()),
            Engine::Binary { path, .. } => {
                let out = self.run_binary(&["ps", "--format", "json", id], None)?;
                serde_json::from_slice(&out).map_err(|e| format!("{} ps: {e}", path.display()))
            }
        }
    }

    /// The usage of the container's cgroup: berth's runtime knows it; of a runtime
    /// binary's container it is found through its init (`pid`), as runtimes put a
    /// container at one path in every hierarchy.
    pub fn stats(&self, id: &str, pid: i32) -> Result<cgroups::Stats, String> {
        let cg = match self {
            Engine::Library(rt) => {
                let (st, _) = rt.load(id).map_err(|e| e.to_string())?;
                rt.cgroup_of(&st).map_err(|e| e.to_string())?
            }
            Engine::Binary { .. } => cgroup_of_process(pid)?,
        };
        cg.stats().map_err(|e| e.to_string())
    }

    fn delete(&self, id: &str) {
        match self {
            Engine::Library(rt) => {
                let _ = rt.delete(id, true);
            }
            Engine::Binary { .. } => {
                let _ = self.binary_command("delete").arg("--force").arg(id).status();
            }
        }
    }
}

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
pub fn create(rt: &Engine, id: &str, bundle: &Path, w: &Wiring) -> Result<(i32, Stdio)> {
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
                rt.delete(id);
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
pub fn start(rt: &Engine, id: &str) -> Result<()> {
    if let Err(e) = rt.start(id) {
        rt.delete(id);
        return Err(e);
    }
    Ok(())
}

/// Removes the container's runtime state and cgroup (it has exited).
pub fn delete(rt: &Engine, id: &str) {
    rt.delete(id);
}

/// Whether the kernel's OOM killer killed anything in the container's cgroup.
pub fn oom_killed(rt: &Engine, id: &str) -> bool {
    // A runtime binary's state is its own; only berth's runtime is asked.
    let Engine::Library(rt) = rt else { return false };
    let Ok((st, _)) = rt.load(id) else { return false };
    let Ok(cg) = rt.cgroup_of(&st) else { return false };
    cg.stats().ok().and_then(|s| s.memory).and_then(|m| m.oom_kill).is_some_and(|n| n > 0)
}

/// runc's message when the kernel refuses a memory limit (EBUSY on cgroup v1: the usage
/// cannot be reclaimed below it), with the usage that explains why; other errors as
/// they are.
fn memory_limit_refused(cg: &cgroups::Cgroup, r: &oci_spec::runtime::LinuxResources, e: cgroups::Error) -> String {
    let busy = matches!(&e, cgroups::Error::Write { path, source, .. }
        if path.ends_with("memory.limit_in_bytes") && source.raw_os_error() == Some(libc::EBUSY));
    let limit = r.memory().as_ref().and_then(|m| m.limit());
    match (busy, limit, cg.stats().ok().and_then(|s| s.memory)) {
        (true, Some(limit), Some(m)) => format!(
            "unable to set memory limit to {limit} (current usage: {}, peak usage: {})",
            m.usage,
            m.max_usage.unwrap_or(m.usage)
        ),
        _ => e.to_string(),
    }
}

/// The cgroup `pid` is in: its memory controller's (v1), else its unified one (v2).
fn cgroup_of_process(pid: i32) -> Result<cgroups::Cgroup, String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).map_err(|e| format!("the container's cgroup: {e}"))?;
    let entries: Vec<(&str, &str)> = text
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let _ = parts.next()?;
            Some((parts.next()?, parts.next()?))
        })
        .collect();
    let path = entries
        .iter()
        .find(|(controllers, _)| controllers.split(',').any(|c| c == "memory"))
        .or_else(|| entries.iter().find(|(controllers, _)| controllers.is_empty()))
        .map(|(_, path)| *path)
        .ok_or_else(|| format!("no cgroup in /proc/{pid}/cgroup"))?;
    let path = cgroups::parse_cgroups_path(Some(path), "container", false).map_err(|e| e.to_string())?;
    cgroups::detect().and_then(|h| h.cgroup(&path)).map_err(|e| e.to_string())
}
