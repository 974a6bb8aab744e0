//! Terminals: the container's pty is opened inside the container (so its slave lives in
//! the container's devpts), made the process's controlling terminal, and its master is
//! sent to whoever listens on `--console-socket`, as runc does.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, unlockpt};
use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};

use crate::error::{Error, Result};

/// Where the pty master goes: a listener's socket path (`--console-socket`), or a
/// socket the caller already holds the other end of (the runtime relaying a
/// foreground terminal itself).
pub enum Console {
    Socket(std::path::PathBuf),
    Connected(UnixStream),
}

impl Console {
    pub fn connect(&self) -> Result<UnixStream> {
        match self {
            Console::Socket(path) => UnixStream::connect(path)
                .map_err(Error::io(format!("connect console socket {}", path.display()))),
            Console::Connected(s) => s.try_clone().map_err(Error::io("console socket")),
        }
    }
}

/// Opens a new pty in the current mount namespace, sets its size, makes the slave the
/// process's stdio and controlling terminal, bind-mounts it at /dev/console, and
/// returns the master.
pub fn setup(console_size: Option<(u16, u16)>, mount_console: bool) -> Result<OwnedFd> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(Error::sys("open /dev/ptmx"))?;
    grantpt(&master).map_err(Error::sys("grantpt"))?;
    unlockpt(&master).map_err(Error::sys("unlockpt"))?;
    let slave_name = nix::pty::ptsname_r(&master).map_err(Error::sys("ptsname"))?;
    if let Some((rows, cols)) = console_size {
        set_size(master.as_raw_fd(), rows, cols)?;
    }
    let slave = nix::fcntl::open(slave_name.as_str(), OFlag::O_RDWR | OFlag::O_NOCTTY, nix::sys::stat::Mode::empty())
        .map_err(Error::sys(format!("open {slave_name}")))?;
    if mount_console {
        let console = Path::new("/dev/console");
        if !console.exists() {
            std::fs::File::create(console).map_err(Error::io("create /dev/console"))?;
        }
        nix::mount::mount(Some(slave_name.as_str()), console, None::<&str>, nix::mount::MsFlags::MS_BIND, None::<&str>)
            .map_err(Error::sys("bind /dev/console"))?;
    }
    nix::unistd::setsid().map_err(Error::sys("setsid"))?;
    // SAFETY: TIOCSCTTY on a valid tty fd with arg 0 (do not steal).
    if unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) } != 0 {
        return Err(Error::io("make the pty the controlling terminal")(std::io::Error::last_os_error()));
    }
    for target in 0..=2 {
        // SAFETY: dup2 onto stdio, which this process owns; the old fds are replaced.
        if unsafe { libc::dup2(slave.as_raw_fd(), target) } < 0 {
            return Err(Error::io("dup pty onto stdio")(std::io::Error::last_os_error()));
        }
    }
    // SAFETY: into_raw_fd hands over sole ownership of the master's fd.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(master)) })
}

pub fn set_size(fd: RawFd, rows: u16, cols: u16) -> Result<()> {
    let ws = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCSWINSZ reads a winsize from a valid pointer.
    if unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) } != 0 {
        return Err(Error::io("set terminal size")(std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Sends `fd` over a unix socket with SCM_RIGHTS; the payload is the pty's name, as
/// runc sends it.
pub fn send_fd(sock: RawFd, fd: RawFd, name: &str) -> Result<()> {
    let fds = [fd];
    let iov = [IoSlice::new(name.as_bytes())];
    sendmsg::<()>(sock, &iov, &[ControlMessage::ScmRights(&fds)], MsgFlags::empty(), None)
        .map_err(Error::sys("send pty master over the console socket"))?;
    Ok(())
}

pub fn recv_fd(sock: RawFd) -> Result<OwnedFd> {
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(sock, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
        .map_err(Error::sys("receive pty master"))?;
    for c in msg.cmsgs().map_err(Error::sys("read control message"))? {
        if let ControlMessageOwned::ScmRights(fds) = c
            && let Some(&fd) = fds.first()
        {
            // SAFETY: the kernel just installed fd in our table for us.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
    }
    Err(Error::Init("console socket message carried no file descriptor".into()))
}
