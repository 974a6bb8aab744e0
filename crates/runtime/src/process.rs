//! The last steps before the container's process runs, shared by init and exec:
//! rlimits, the user switch, capabilities, no_new_privs, seccomp, fd hygiene, execve.

use std::convert::Infallible;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Uid};
use oci_spec::runtime::{PosixRlimitType, Process};

use crate::error::{Error, Failure, FailureKind, Result};
use crate::{capabilities, seccomp};

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A program that is not there: Docker's 127.
pub fn not_found(name: &str) -> Error {
    process_failure(FailureKind::NotFound, format!("exec: {name:?}: executable file not found in $PATH"))
}

fn process_failure(kind: FailureKind, message: String) -> Error {
    Error::Container(Failure { kind, message })
}

/// Resolves args[0] against the process's own PATH, inside the container's root.
pub fn find_executable(process: &Process) -> Result<PathBuf> {
    let args = process.args().as_deref().unwrap_or_default();
    let name = args.first().ok_or_else(|| Error::InvalidSpec("process.args is empty".into()))?;
    let check = |p: &Path| -> Result<Option<PathBuf>> {
        match std::fs::metadata(p) {
            Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => Ok(Some(p.to_path_buf())),
            Ok(_) => Err(process_failure(
                FailureKind::PermissionDenied,
                format!("exec: {:?}: permission denied", p.display().to_string()),
            )),
            Err(_) => Ok(None),
        }
    };
    if name.contains('/') {
        let p = if Path::new(name).is_absolute() {
            PathBuf::from(name)
        } else {
            process.cwd().join(name)
        };
        return check(&p)?.ok_or_else(|| {
            process_failure(FailureKind::NotFound, format!("exec: {name:?}: no such file or directory"))
        });
    }
    let path = process
        .env()
        .iter()
        .flatten()
        .find_map(|kv| kv.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH)
        .to_string();
    let mut denied = None;
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        match check(&Path::new(dir).join(name)) {
            Ok(Some(p)) => return Ok(p),
            Ok(None) => {}
            Err(e) => denied = Some(e),
        }
    }
    Err(denied.unwrap_or_else(|| not_found(name)))
}

/// rlimits and oom_score_adj: done while the process still holds CAP_SYS_RESOURCE.
pub fn set_limits(process: &Process) -> Result<()> {
    for rl in process.rlimits().iter().flatten() {
        let resource = rlimit_resource(rl.typ());
        let lim = libc::rlimit { rlim_cur: rl.soft(), rlim_max: rl.hard() };
        // SAFETY: setrlimit reads a valid rlimit struct.
        if unsafe { libc::setrlimit(resource, &lim) } != 0 {
            return Err(Error::io(format!("setrlimit {:?}", rl.typ()))(std::io::Error::last_os_error()));
        }
    }
    if let Some(adj) = process.oom_score_adj() {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .map_err(Error::io("write oom_score_adj"))?;
    }
    Ok(())
}

fn rlimit_resource(t: PosixRlimitType) -> libc::__rlimit_resource_t {
    use PosixRlimitType::*;
    match t {
        RlimitCpu => libc::RLIMIT_CPU,
        RlimitFsize => libc::RLIMIT_FSIZE,
        RlimitData => libc::RLIMIT_DATA,
        RlimitStack => libc::RLIMIT_STACK,
        RlimitCore => libc::RLIMIT_CORE,
        RlimitRss => libc::RLIMIT_RSS,
        RlimitNproc => libc::RLIMIT_NPROC,
        RlimitNofile => libc::RLIMIT_NOFILE,
        RlimitMemlock => libc::RLIMIT_MEMLOCK,
        RlimitAs => libc::RLIMIT_AS,
        RlimitLocks => libc::RLIMIT_LOCKS,
        RlimitSigpending => libc::RLIMIT_SIGPENDING,
        RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        RlimitNice => libc::RLIMIT_NICE,
        RlimitRtprio => libc::RLIMIT_RTPRIO,
        RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

/// Becomes the spec's user with its capabilities, then execs (under berth's init, a
/// forked PID 1 that reaps and forwards signals, when `init`). Seccomp goes in as
/// late as it can: after the user switch when no_new_privs is set (so the filter need
/// not allow setuid/capset), before it otherwise (loading needs CAP_SYS_ADMIN then).
pub fn finalize_and_exec(
    process: &Process,
    executable: &Path,
    filter: Option<&seccomp::Filter>,
    preserve_fds: i32,
    init: bool,
) -> Result<Infallible> {
    let nnp = process.no_new_privileges().unwrap_or(false);
    if let Some(f) = filter
        && !nnp
    {
        seccomp::load(f)?;
    }
    capabilities::drop_bounding(process.capabilities().as_ref())?;
    switch_user(process)?;
    capabilities::apply(process.capabilities().as_ref())?;
    if nnp {
        // SAFETY: prctl with constant arguments.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(Error::io("set no_new_privs")(std::io::Error::last_os_error()));
        }
        if let Some(f) = filter {
            seccomp::load(f)?;
        }
    }
    if init {
        // As late as possible: the init keeps exactly the user's privileges.
        crate::reaper::fork_into_reaper()?;
    }
    exec(process, executable, preserve_fds)
}

fn switch_user(process: &Process) -> Result<()> {
    let user = process.user();
    if let Some(mask) = user.umask() {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    // Keep the permitted set across setuid; the spec's sets are applied right after.
    // SAFETY: prctl with constant arguments.
    unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) };
    let groups: Vec<Gid> = user.additional_gids().iter().flatten().map(|g| Gid::from_raw(*g)).collect();
    match nix::unistd::setgroups(&groups) {
        // A user namespace with setgroups denied cannot change groups at all; an empty
        // list asks for nothing, so that is fine.
        Err(nix::Error::EPERM) if groups.is_empty() => {}
        r => r.map_err(Error::sys("setgroups"))?,
    }
    let gid = Gid::from_raw(user.gid());
    let uid = Uid::from_raw(user.uid());
    nix::unistd::setresgid(gid, gid, gid).map_err(Error::sys(format!("setgid {gid}")))?;
    nix::unistd::setresuid(uid, uid, uid).map_err(Error::sys(format!("setuid {uid}")))?;
    // SAFETY: prctl with constant arguments.
    unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0) };
    Ok(())
}

fn exec(process: &Process, executable: &Path, preserve_fds: i32) -> Result<Infallible> {
    // Nothing of the runtime may leak into the container: every fd past stdio and the
    // ones the caller asked to pass is closed at exec (CVE-2024-21626 was such a leak).
    // SAFETY: close_range on a range of fds with the CLOEXEC flag changes only flags.
    unsafe {
        libc::syscall(libc::SYS_close_range, 3 + preserve_fds.max(0) as u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC);
    }
    // Ignored signals stay ignored across exec, and Rust starts with SIGPIPE ignored:
    // give the container every disposition at its default, as a fresh process has.
    // The raw syscall also reaches the real-time signals glibc keeps for itself.
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: u64,
        restorer: usize,
        mask: u64,
    }
    let default = KernelSigaction { handler: 0 /* SIG_DFL */, flags: 0, restorer: 0, mask: 0 };
    for sig in 1..=64 {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            // SAFETY: rt_sigaction with a valid kernel sigaction of SIG_DFL and no old-action
            // pointer; 8 is the size of the kernel's sigset.
            unsafe {
                libc::syscall(libc::SYS_rt_sigaction, sig, &default as *const KernelSigaction, 0usize, 8usize);
            }
        }
    }
    nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&nix::sys::signal::SigSet::empty()),
        None,
    )
    .map_err(Error::sys("reset signal mask"))?;
    let to_c = |s: &str| CString::new(s).map_err(|_| Error::InvalidSpec(format!("NUL byte in {s:?}")));
    let args: Vec<CString> = process.args().iter().flatten().map(|a| to_c(a)).collect::<Result<_>>()?;
    let env: Vec<CString> = process.env().iter().flatten().map(|e| to_c(e)).collect::<Result<_>>()?;
    let path = CString::new(executable.as_os_str().as_bytes()).map_err(|_| Error::InvalidSpec("NUL in path".into()))?;
    let e = nix::unistd::execve(&path, &args, &env).unwrap_err();
    let kind = match e {
        nix::Error::ENOENT => FailureKind::NotFound,
        nix::Error::EACCES | nix::Error::EPERM => FailureKind::PermissionDenied,
        _ => FailureKind::Other,
    };
    Err(process_failure(kind, format!("exec {}: {e}", executable.display())))
}
