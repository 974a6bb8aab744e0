//! Attach clients: one connection each on attach.sock. A client first sends its
//! request line; from then on it receives output (frames, or raw bytes with a tty)
//! through a bounded queue that never blocks the shim, and what it sends is stdin.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

use shim::frame::{self, Stream};
use shim::protocol::{ATTACH_BUFFER_LIMIT, AttachRequest, MAX_REQUEST_LINE};

use crate::sys::note;

pub struct AttachClient {
    stream: UnixStream,
    pub request: Option<AttachRequest>,
    line: Vec<u8>,
    out: Vec<u8>,
    sent: usize,
    /// The client shut down its writing side (or never will send more).
    pub input_done: bool,
    /// The container is gone: send what is queued, then close.
    pub closing: bool,
    pub dead: bool,
}

/// What a read from a client gave.
pub enum Input {
    Nothing,
    /// Bytes for the container's stdin (sent after the request line).
    Data(Vec<u8>),
    /// The client will send nothing more.
    End,
}

impl AttachClient {
    pub fn new(stream: UnixStream) -> AttachClient {
        AttachClient {
            stream,
            request: None,
            line: Vec::new(),
            out: Vec::new(),
            sent: 0,
            input_done: false,
            closing: false,
            dead: false,
        }
    }

    pub fn fd(&self) -> i32 {
        self.stream.as_raw_fd()
    }

    /// Whether this client gets `stream`'s output.
    pub fn wants(&self, stream: Stream) -> bool {
        let Some(r) = self.request.filter(|_| !self.dead && !self.closing) else { return false };
        match stream {
            Stream::Stdout => r.stdout,
            Stream::Stderr => r.stderr,
            Stream::Stdin => false,
        }
    }

    pub fn wants_stdin(&self) -> bool {
        self.request.is_some_and(|r| r.stdin)
    }

    /// poll events: input while it is the request or stdin that can be taken, output
    /// while some is queued.
    pub fn events(&self, stdin_has_room: bool) -> i16 {
        let mut ev = 0;
        if !self.input_done && !self.closing && (self.request.is_none() || stdin_has_room || !self.wants_stdin()) {
            ev |= libc::POLLIN;
        }
        if self.sent < self.out.len() {
            ev |= libc::POLLOUT;
        }
        ev
    }

    pub fn has_pending_output(&self) -> bool {
        self.sent < self.out.len()
    }

    /// Queues output (raw, or as a frame of `stream`) and sends what the socket takes.
    pub fn send(&mut self, stream: Option<Stream>, data: &[u8]) {
        if self.dead {
            return;
        }
        match stream {
            Some(s) => frame::encode_into(&mut self.out, s, data),
            None => self.out.extend_from_slice(data),
        }
        self.flush();
        if self.out.len() - self.sent > ATTACH_BUFFER_LIMIT {
            note("dropping an attach client that does not keep up with the output");
            self.dead = true;
        }
    }

    /// Writes queued output until the socket would block.
    pub fn flush(&mut self) {
        while self.sent < self.out.len() && !self.dead {
            match self.stream.write(&self.out[self.sent..]) {
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => self.dead = true,
            }
        }
        if self.sent == self.out.len() {
            self.out.clear();
            self.sent = 0;
            if self.out.capacity() > 64 * 1024 {
                self.out.shrink_to(64 * 1024);
            }
        } else if self.sent > 64 * 1024 {
            self.out.drain(..self.sent);
            self.sent = 0;
        }
    }

    pub fn read(&mut self, buf: &mut [u8]) -> Input {
        let n = match self.stream.read(buf) {
            Ok(0) => {
                self.input_done = true;
                return Input::End;
            }
            Ok(n) => n,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted) => {
                return Input::Nothing;
            }
            Err(_) => {
                self.input_done = true;
                self.dead = true;
                return Input::End;
            }
        };
        if self.request.is_some() {
            return Input::Data(buf[..n].to_vec());
        }
        self.line.extend_from_slice(&buf[..n]);
        let Some(end) = self.line.iter().position(|&b| b == b'\n') else {
            if self.line.len() > MAX_REQUEST_LINE {
                note("dropping an attach client: no request line");
                self.dead = true;
            }
            return Input::Nothing;
        };
        match serde_json::from_slice::<AttachRequest>(&self.line[..end]) {
            Ok(r) if r.logs => {
                note("refusing an attach request with logs: the daemon replays the log");
                self.dead = true;
                Input::Nothing
            }
            Ok(r) => {
                self.request = Some(r);
                let rest = self.line.split_off(end + 1);
                self.line = Vec::new();
                if rest.is_empty() { Input::Nothing } else { Input::Data(rest) }
            }
            Err(e) => {
                note(format!("dropping an attach client: bad request: {e}"));
                self.dead = true;
                Input::Nothing
            }
        }
    }
}
