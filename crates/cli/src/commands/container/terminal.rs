//! The local terminal: whether stdin/stdout are terminals, their size, raw
//! mode for `-it` (restored when the guard drops, even on error), and the
//! detach key sequence (`ctrl-p,ctrl-q`).

use std::io::IsTerminal;

/// Whether this process's stdin is a terminal.
pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// Whether this process's stdout is a terminal.
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// The size of the terminal on stdout as (rows, columns); (0, 0) when stdout
/// is not a terminal.
pub fn stdout_size() -> (u16, u16) {
    let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the valid, owned `ws`.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    if rc != 0 { (0, 0) } else { (ws.ws_row, ws.ws_col) }
}

/// Puts stdin in raw mode (no echo, no line editing, no signal keys) until
/// dropped, so keys reach the container's terminal as typed.
pub struct RawMode {
    saved: libc::termios,
}

impl RawMode {
    /// Raw mode on stdin, or `None` when stdin is not a terminal.
    pub fn enable() -> Option<RawMode> {
        if !stdin_is_terminal() {
            return None;
        }
        // SAFETY: termios is plain old data; an all-zero value is valid and
        // is overwritten by tcgetattr below.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: tcgetattr fills the valid, owned `saved` for fd 0.
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut saved) } != 0 {
            return None;
        }
        let mut raw = saved;
        // SAFETY: cfmakeraw only edits the termios value it is given.
        unsafe { libc::cfmakeraw(&mut raw) };
        // SAFETY: tcsetattr reads the valid `raw` value for fd 0.
        if unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw) } != 0 {
            return None;
        }
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the attributes read in `enable` on the same fd.
        unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved) };
    }
}

/// Docker's default detach sequence: ctrl-p, ctrl-q.
pub const DEFAULT_DETACH_KEYS: [u8; 2] = [16, 17];

/// Parses a detach key sequence such as `ctrl-p,ctrl-q` or `ctrl-a,a`
/// (moby/term's `ToBytes`).
pub fn detach_keys(keys: &str) -> Result<Vec<u8>, String> {
    api::detach::parse(keys).map_err(|bad| format!("Unknown character: '{bad}'"))
}

/// Watches the bytes typed for the detach sequence. Bytes that might start
/// it are held back; when the sequence breaks off they are released ahead
/// of what follows.
#[derive(Debug)]
pub struct EscapeProxy {
    keys: Vec<u8>,
    matched: usize,
}

/// What to send on after [`EscapeProxy::feed`].
#[derive(Debug, PartialEq, Eq)]
pub enum Escape {
    Forward(Vec<u8>),
    Detach,
}

impl EscapeProxy {
    pub fn new(keys: Vec<u8>) -> Self {
        EscapeProxy { keys, matched: 0 }
    }

    pub fn feed(&mut self, data: &[u8]) -> Escape {
        if self.keys.is_empty() {
            return Escape::Forward(data.to_vec());
        }
        let mut out = Vec::with_capacity(data.len());
        for &b in data {
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return Escape::Detach;
                }
                continue;
            }
            out.extend_from_slice(&self.keys[..self.matched]);
            self.matched = 0;
            if b == self.keys[0] {
                self.matched = 1;
            } else {
                out.push(b);
            }
        }
        Escape::Forward(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_detach_keys() {
        assert_eq!(detach_keys("ctrl-p,ctrl-q"), Ok(DEFAULT_DETACH_KEYS.to_vec()));
        assert_eq!(detach_keys("ctrl-a,a,ctrl-@,ctrl-_"), Ok(vec![1, b'a', 0, 31]));
        assert!(detach_keys("ctrl-1").is_err());
        assert!(detach_keys("ab").is_err());
    }

    #[test]
    fn escape_proxy_holds_back_a_partial_sequence() {
        let mut p = EscapeProxy::new(DEFAULT_DETACH_KEYS.to_vec());
        assert_eq!(p.feed(b"ls\r"), Escape::Forward(b"ls\r".to_vec()));
        assert_eq!(p.feed(&[16]), Escape::Forward(Vec::new()));
        assert_eq!(p.feed(b"x"), Escape::Forward(vec![16, b'x']));
        assert_eq!(p.feed(&[16, 16]), Escape::Forward(vec![16]));
        assert_eq!(p.feed(&[17]), Escape::Detach);
        let mut none = EscapeProxy::new(Vec::new());
        assert_eq!(none.feed(&[16, 17]), Escape::Forward(vec![16, 17]));
    }
}
