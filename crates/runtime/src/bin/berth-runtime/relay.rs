//! A foreground container with a terminal and no --console-socket: the runtime holds
//! the pty master itself, puts the user's terminal in raw mode, copies bytes both
//! ways and passes window-size changes on, as runc does.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::termios::{self, SetArg, Termios};
use runtime::Error;

pub struct Relay {
    pub ours: UnixStream,
    pub theirs: UnixStream,
}

impl Relay {
    pub fn new() -> Result<Relay, Error> {
        let (ours, theirs) = UnixStream::pair().map_err(Error::io("socketpair for the console"))?;
        Ok(Relay { ours, theirs })
    }
}

/// Restores the user's terminal settings when dropped.
pub struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    pub fn enter() -> RawMode {
        let stdin = std::io::stdin();
        let Ok(saved) = termios::tcgetattr(stdin.as_fd()) else { return RawMode { saved: None } };
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        RawMode { saved: Some(saved) }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, t);
        }
    }
}

/// Copies the user's window size onto the container's terminal.
pub fn copy_size(master: &OwnedFd) {
    let mut ws: libc::winsize = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes a winsize into a valid pointer.
    if unsafe { libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) } == 0 {
        let _ = runtime::console::set_size(master.as_raw_fd(), ws.ws_row, ws.ws_col);
    }
}

/// Moves whatever is ready between stdin → master and master → stdout. Returns false
/// once the master has no more to give (the container's side is closed).
pub fn pump(master: &OwnedFd, sig: BorrowedFd, stdin_open: &mut bool) -> bool {
    let stdin = std::io::stdin();
    let mut fds = vec![PollFd::new(master.as_fd(), PollFlags::POLLIN), PollFd::new(sig, PollFlags::POLLIN)];
    if *stdin_open {
        fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
    }
    if poll(&mut fds, PollTimeout::NONE).is_err() {
        return true;
    }
    let master_ready = fds[0].revents().is_some_and(|r| !r.is_empty());
    let stdin_ready = fds.get(2).and_then(|f| f.revents()).is_some_and(|r| !r.is_empty());
    let mut buf = [0u8; 8192];
    if stdin_ready {
        match nix::unistd::read(stdin.as_fd(), &mut buf) {
            Ok(0) | Err(_) => *stdin_open = false,
            Ok(n) => {
                let _ = write_all(master.as_fd(), &buf[..n]);
            }
        }
    }
    if master_ready {
        match nix::unistd::read(master.as_fd(), &mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => {
                let _ = write_all(std::io::stdout().as_fd(), &buf[..n]);
            }
        }
    }
    true
}

/// Drains what the container wrote before it exited.
pub fn drain(master: &OwnedFd) {
    let _ = nix::fcntl::fcntl(master, nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK));
    let mut buf = [0u8; 8192];
    while let Ok(n) = nix::unistd::read(master.as_fd(), &mut buf) {
        if n == 0 || write_all(std::io::stdout().as_fd(), &buf[..n]).is_err() {
            break;
        }
    }
}

fn write_all(fd: BorrowedFd, mut data: &[u8]) -> nix::Result<()> {
    while !data.is_empty() {
        let n = nix::unistd::write(fd, data)?;
        data = &data[n..];
    }
    Ok(())
}
