//! The daemonized shim from birth to exit: detaching from the launcher's stdio,
//! claiming the state directory (shim.pid, sockets), creating and starting the
//! container, reporting to the launcher, serving, and removing its files at the end.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use runtime::Runtime;
use runtime::state::Store;
use shim::logfile::{LogFile, Rotation};
use shim::protocol::{ATTACH_SOCKET, CONTROL_SOCKET, PID_FILE, SHIM_LOG, WAIT_ATTACH_TIMEOUT_SECS};

use crate::StartArgs;
use crate::container::{self, Wiring};
use crate::server::{Endpoints, Options, Shim};
use crate::container::Engine;
use crate::sys::{self, note};

/// Runs the shim in the daemonized grandchild; never returns.
pub fn run(a: &StartArgs, report: OwnedFd) -> ! {
    sys::close_inherited_fds(report.as_raw_fd());
    detach(&a.state_dir);
    let mut report = Some(std::fs::File::from(report));
    let res = serve(a, &mut report);
    // Before the report: once the launcher returns, the shim's files are gone.
    remove_files(&a.state_dir);
    match res {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            note(format!("{e:#}"));
            if let Some(mut r) = report.take() {
                let failed = shim::StartReport::Failed { error: format!("{e:#}"), code: container::failure_code(&e) };
                let _ = r.write_all(failed.to_line().as_bytes());
            }
            std::process::exit(1)
        }
    }
}

/// stdin and stdout on /dev/null, stderr (panics included) on shim.log, cwd "/".
fn detach(state_dir: &Path) {
    let _ = std::env::set_current_dir("/");
    let _ = sys::open_notes(&state_dir.join(SHIM_LOG));
    if let Ok(null) = sys::dev_null() {
        let err = sys::fd_of_notes().map_or(null.as_raw_fd(), |f| f.as_raw_fd());
        for (target, fd) in [(0, null.as_raw_fd()), (1, null.as_raw_fd()), (2, err)] {
            let _ = sys::dup_onto(fd, target);
        }
    }
}

fn serve(a: &StartArgs, report: &mut Option<std::fs::File>) -> Result<()> {
    // SAFETY: prctl with constant arguments.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error()).context("become a child subreaper");
    }
    let pid_file = a.state_dir.join(PID_FILE);
    runtime::state::write_atomic(&pid_file, std::process::id().to_string().as_bytes())?;
    let ep = endpoints(a)?;
    let rt = match &a.runtime_binary {
        None => Engine::Library(Runtime { store: Store::new(&a.runtime_root), systemd_cgroup: false }),
        Some(path) => Engine::Binary {
            path: path.clone(),
            args: a.runtime_arg.clone(),
            root: a.runtime_root.clone(),
            state_dir: a.state_dir.clone(),
        },
    };
    let wiring = Wiring { tty: a.tty, stdin: a.stdin, size: a.console_height.zip(a.console_width) };
    let (pid, stdio) =
        container::create(&rt, &a.id, &a.bundle, &wiring).with_context(|| format!("create container {}", a.id))?;
    let opts = Options { stdin_once: a.stdin_once, linger: Duration::from_secs(a.linger) };
    let mut shim = Shim::new(&a.id, rt, a.state_dir.clone(), pid, stdio, ep, opts);
    if a.wait_attach {
        shim.wait_first_attach(Duration::from_secs(WAIT_ATTACH_TIMEOUT_SECS));
    }
    container::start(shim.runtime(), &a.id).with_context(|| format!("start container {}", a.id))?;
    shim.set_started();
    note(format!("container {} started, init pid {pid}", a.id));
    if let Some(mut r) = report.take() {
        let _ = r.write_all(shim::StartReport::Started { pid }.to_line().as_bytes());
    }
    // The start's transient memory (the bundle's spec, the seccomp program) is freed
    // but still held by the allocator: given back, so that each of thousands of idle
    // shims keeps only what serving its container needs.
    // SAFETY: malloc_trim only returns free heap memory to the kernel; no pointer the
    // shim holds is affected.
    unsafe { libc::malloc_trim(0) };
    shim.run();
    Ok(())
}

/// Signals, both sockets (0600) and the log, all before the container exists.
fn endpoints(a: &StartArgs) -> Result<Endpoints> {
    let signals = sys::signals().context("signalfd")?;
    let bind = |name: &str| -> Result<UnixListener> {
        let path = a.state_dir.join(name);
        // Bound and listening under a temporary name, then renamed: the name never
        // refers to a socket that refuses connections (between bind and listen).
        let tmp = a.state_dir.join(format!(".{name}.tmp"));
        let _ = std::fs::remove_file(&tmp);
        // Born 0600: no moment where another user could connect.
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
        let l = UnixListener::bind(&tmp);
        nix::sys::stat::umask(old);
        let l = l.with_context(|| format!("listen on {}", path.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("publish {}", path.display()))?;
        l.set_nonblocking(true).context("non-blocking listener")?;
        Ok(l)
    };
    let attach = bind(ATTACH_SOCKET)?;
    let control = bind(CONTROL_SOCKET)?;
    let rotation = a.log_max_size.map(|max_size| Rotation { max_size, max_files: a.log_max_file.unwrap_or(1) });
    let log = LogFile::open(&a.log_path, rotation)?;
    Ok(Endpoints { signals, attach, control, log })
}

/// What the shim made in the state directory, but exit.json and shim.log.
fn remove_files(state_dir: &Path) {
    for name in [ATTACH_SOCKET, CONTROL_SOCKET, PID_FILE] {
        let _ = std::fs::remove_file(state_dir.join(name));
    }
}
