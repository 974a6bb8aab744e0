//! The few system-level pieces the shim needs around its event loop: its diagnostic
//! log, file-descriptor plumbing (non-blocking mode, swapping stdio while the
//! container is forked), the signals it handles through a signalfd, and poll(2).

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

static NOTES: OnceLock<File> = OnceLock::new();

/// Sends later [`note`]s to `path` (the state directory's shim.log), appending.
pub fn open_notes(path: &Path) -> std::io::Result<()> {
    let f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    let _ = NOTES.set(f);
    Ok(())
}

/// The shim's own diagnostics: one timestamped line in shim.log. Never fails.
pub fn note(msg: impl std::fmt::Display) {
    if let Some(mut f) = NOTES.get() {
        let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let _ = writeln!(f, "{time} berth-shim[{}]: {msg}", std::process::id());
    }
}

/// shim.log's descriptor, for putting it on stderr.
pub fn fd_of_notes() -> Option<BorrowedFd<'static>> {
    use std::os::fd::AsFd;
    NOTES.get().map(|f| f.as_fd())
}

pub fn dev_null() -> std::io::Result<File> {
    std::fs::OpenOptions::new().read(true).write(true).open("/dev/null")
}

pub fn set_nonblocking(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on an fd the caller owns; no memory is passed.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// dup2 `from` onto `to` (stdio numbers).
pub fn dup_onto(from: RawFd, to: RawFd) -> std::io::Result<()> {
    // SAFETY: dup2 between descriptors; `to` is one of our stdio fds, replaced on purpose.
    if unsafe { libc::dup2(from, to) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A pipe, both ends close-on-exec: (read end, write end).
pub fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(std::io::Error::from)
}

/// Puts other files on fds 0, 1 and 2 for as long as it lives (the container's
/// processes are forked meanwhile and inherit them), then puts the old ones back.
pub struct StdioSwap {
    saved: Vec<OwnedFd>,
}

impl StdioSwap {
    pub fn install(fds: [RawFd; 3]) -> std::io::Result<StdioSwap> {
        let mut saved = Vec::with_capacity(3);
        for target in 0..3 {
            // SAFETY: F_DUPFD_CLOEXEC duplicates our own stdio fd to a new number.
            let copy = unsafe { libc::fcntl(target, libc::F_DUPFD_CLOEXEC, 3) };
            if copy < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // SAFETY: the kernel just gave us this new fd.
            saved.push(unsafe { OwnedFd::from_raw_fd(copy) });
        }
        let swap = StdioSwap { saved };
        for (target, fd) in fds.into_iter().enumerate() {
            dup_onto(fd, target as RawFd)?;
        }
        Ok(swap)
    }
}

impl Drop for StdioSwap {
    fn drop(&mut self) {
        for (target, fd) in self.saved.iter().enumerate() {
            let _ = dup_onto(fd.as_raw_fd(), target as RawFd);
        }
    }
}

/// Closes every descriptor the shim inherited past stdio but `keep`: whatever its
/// starter leaked must not be held open for the container's lifetime.
pub fn close_inherited_fds(keep: RawFd) {
    for (first, last) in [(3, keep - 1), (keep + 1, RawFd::MAX)] {
        if first <= last {
            // SAFETY: close_range closes descriptors only; none of them is in use by
            // Rust code at this point (the shim has opened nothing else yet).
            unsafe { libc::syscall(libc::SYS_close_range, first as libc::c_uint, last as libc::c_uint, 0) };
        }
    }
}

/// Signals the shim takes through a signalfd: SIGCHLD (reap), SIGTERM, SIGINT and
/// SIGHUP (ignored while the container runs), SIGPIPE (swallowed). Blocking them
/// rather than ignoring them matters: ignored dispositions would survive the
/// container's exec, while the runtime resets the blocked mask before it. SIGPIPE gets
/// its default disposition back for the same reason (Rust starts with it ignored);
/// blocked, a write to a closed pipe or socket just fails with EPIPE. All of them get
/// the default disposition: an ignored SIGCHLD inherited from the starter would make
/// the kernel reap the container's init before the shim could read its status.
pub fn signals() -> nix::Result<SignalFd> {
    const HANDLED: [Signal; 5] = [Signal::SIGCHLD, Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP, Signal::SIGPIPE];
    let mut set = SigSet::empty();
    for s in HANDLED {
        // SAFETY: installs the default disposition; no handler code is involved.
        unsafe { nix::sys::signal::signal(s, nix::sys::signal::SigHandler::SigDfl) }?;
        set.add(s);
    }
    set.thread_block()?;
    SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
}

/// poll(2) over raw fds until `deadline` (forever without one); EINTR counts as
/// "nothing ready".
pub fn poll(fds: &mut [libc::pollfd], deadline: Option<Instant>) {
    let timeout = match deadline {
        None => -1,
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            // Round up so we do not wake a hair early and spin.
            left.as_millis().saturating_add(u128::from(left.subsec_nanos() % 1_000_000 != 0)).min(i32::MAX as u128)
                as i32
        }
    };
    // SAFETY: fds is a valid, exclusively borrowed array of pollfd of the given length.
    unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
}

/// The outcome of a non-blocking read or write.
pub enum Io {
    Done(usize),
    /// Nothing now (EAGAIN, EINTR).
    Later,
    /// End of file, or EIO from a pty whose other side is gone.
    Closed,
    Failed(std::io::Error),
}

pub fn read(fd: RawFd, buf: &mut [u8]) -> Io {
    // SAFETY: buf is valid for writes of buf.len() bytes.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    classify(n)
}

pub fn write(fd: RawFd, buf: &[u8]) -> Io {
    // SAFETY: buf is valid for reads of buf.len() bytes.
    let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
    classify(n)
}

fn classify(n: isize) -> Io {
    if n > 0 {
        return Io::Done(n as usize);
    }
    if n == 0 {
        return Io::Closed;
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EAGAIN | libc::EINTR) => Io::Later,
        Some(libc::EIO) => Io::Closed,
        _ => Io::Failed(e),
    }
}
