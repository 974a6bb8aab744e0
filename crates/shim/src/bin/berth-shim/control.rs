//! Control clients: one connection each on control.sock, carrying JSON-line requests
//! and replies. This module does the connection's I/O and framing into lines; what a
//! request does is the shim's (see `server::Shim::handle_control`).

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use serde::Serialize;
use shim::protocol::{ControlRequest, ErrorReply, MAX_REQUEST_LINE};

pub struct ControlClient {
    /// This connection among all the shim has accepted (an exec's owner is named so).
    pub serial: u64,
    stream: UnixStream,
    input: Vec<u8>,
    out: Vec<u8>,
    /// A `wait` (or, with `waiting_exec`, an `exec_wait`) is pending: later requests
    /// wait behind it.
    pub waiting: bool,
    pub waiting_exec: Option<String>,
    pub input_done: bool,
    pub dead: bool,
}

impl ControlClient {
    pub fn new(serial: u64, stream: UnixStream) -> ControlClient {
        ControlClient {
            serial,
            stream,
            input: Vec::new(),
            out: Vec::new(),
            waiting: false,
            waiting_exec: None,
            input_done: false,
            dead: false,
        }
    }

    pub fn fd(&self) -> i32 {
        self.stream.as_raw_fd()
    }

    pub fn events(&self) -> i16 {
        let mut ev = 0;
        if !self.input_done && !self.waiting {
            ev |= libc::POLLIN;
        }
        if !self.out.is_empty() {
            ev |= libc::POLLOUT;
        }
        ev
    }

    /// Done with: nothing more to read, answer or send.
    pub fn finished(&self) -> bool {
        self.dead || (self.input_done && !self.waiting && self.out.is_empty() && self.next_line_end().is_none())
    }

    pub fn read(&mut self, buf: &mut [u8]) {
        match self.stream.read(buf) {
            Ok(0) => self.input_done = true,
            Ok(n) => {
                self.input.extend_from_slice(&buf[..n]);
                if self.input.len() > MAX_REQUEST_LINE && self.next_line_end().is_none() {
                    self.dead = true;
                }
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted) => {}
            Err(_) => self.dead = true,
        }
    }

    fn next_line_end(&self) -> Option<usize> {
        self.input.iter().position(|&b| b == b'\n')
    }

    /// The next complete request line, parsed; `Some(Err(reply))` for a bad one.
    pub fn next_request(&mut self) -> Option<Result<ControlRequest, String>> {
        let end = self.next_line_end()?;
        let line: Vec<u8> = self.input.drain(..=end).collect();
        let line = &line[..end];
        if line.iter().all(u8::is_ascii_whitespace) {
            return self.next_request();
        }
        Some(serde_json::from_slice(line).map_err(|e| format!("invalid request: {e}")))
    }

    pub fn reply(&mut self, value: &impl Serialize) {
        let mut line = serde_json::to_vec(value).expect("replies serialize");
        line.push(b'\n');
        self.out.extend_from_slice(&line);
        self.flush();
    }

    /// A reply with descriptors attached to its first byte (SCM_RIGHTS). Sent at once:
    /// what is queued before it goes first, waiting a second at most.
    pub fn reply_with_fds(&mut self, value: &impl Serialize, fds: &[std::os::fd::RawFd]) {
        use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
        if self.dead {
            return;
        }
        let _ = self.stream.set_nonblocking(false);
        let _ = self.stream.set_write_timeout(Some(Duration::from_secs(1)));
        let mut line = serde_json::to_vec(value).expect("replies serialize");
        line.push(b'\n');
        let sent = self.stream.write_all(&std::mem::take(&mut self.out)).is_ok()
            && match sendmsg::<()>(self.stream.as_raw_fd(), &[std::io::IoSlice::new(&line)], &[ControlMessage::ScmRights(fds)], MsgFlags::empty(), None) {
                Ok(n) => self.stream.write_all(&line[n..]).is_ok(),
                Err(_) => false,
            };
        if !sent || self.stream.set_nonblocking(true).is_err() {
            self.dead = true;
        }
    }

    pub fn reply_error(&mut self, msg: impl Into<String>) {
        self.reply(&ErrorReply { error: msg.into() });
    }

    pub fn flush(&mut self) {
        while !self.out.is_empty() && !self.dead {
            match self.stream.write(&self.out) {
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => self.dead = true,
            }
        }
    }

    /// Sends what is queued even if the socket is full, waiting a second at most (the
    /// shim is about to exit).
    pub fn flush_before_exit(&mut self) {
        if self.out.is_empty() || self.dead {
            return;
        }
        let _ = self.stream.set_nonblocking(false);
        let _ = self.stream.set_write_timeout(Some(Duration::from_secs(1)));
        let _ = self.stream.write_all(&self.out);
        self.out.clear();
    }
}
