//! Blocking clients of a shim's sockets, for the daemon and tools: a control connection
//! that sends requests and parses replies, and opening an attach stream.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::protocol::{ATTACH_SOCKET, AttachRequest, CONTROL_SOCKET, ControlRequest, parse_reply};

/// A connection to `S/control.sock`.
pub struct Control {
    reader: BufReader<UnixStream>,
}

impl Control {
    pub fn connect(state_dir: &Path) -> Result<Control> {
        let path = state_dir.join(CONTROL_SOCKET);
        let stream = UnixStream::connect(&path).map_err(Error::io(format!("connect {}", path.display())))?;
        Ok(Control { reader: BufReader::new(stream) })
    }

    /// Like [`Control::connect`], with replies awaited at most `timeout` each.
    pub fn connect_with_timeout(state_dir: &Path, timeout: std::time::Duration) -> Result<Control> {
        let c = Control::connect(state_dir)?;
        let s = c.reader.get_ref();
        s.set_read_timeout(Some(timeout)).map_err(Error::io("set a timeout"))?;
        s.set_write_timeout(Some(timeout)).map_err(Error::io("set a timeout"))?;
        Ok(c)
    }

    /// Sends `req` and waits for its reply (for `wait`, until the container exits).
    pub fn request<T: DeserializeOwned>(&mut self, req: &ControlRequest) -> Result<T> {
        self.reader
            .get_mut()
            .write_all(req.to_line().as_bytes())
            .map_err(Error::io("send control request"))?;
        let mut line = String::new();
        if self.reader.read_line(&mut line).map_err(Error::io("read control reply"))? == 0 {
            return Err(Error::Protocol("the shim closed the control connection".into()));
        }
        parse_reply(line.trim_end())
    }
}

/// Starts an exec (`req` is a [`ControlRequest::Exec`]) on a connection of its own,
/// which owns the exec: keep it (for `exec_wait`) while the exec's stdio is served.
/// Returns the reply, the stdio descriptors that came with it, and the connection.
pub fn exec(state_dir: &Path, req: &ControlRequest) -> Result<(crate::protocol::ExecReply, Vec<std::os::fd::OwnedFd>, Control)> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let mut c = Control::connect(state_dir)?;
    c.reader.get_mut().write_all(req.to_line().as_bytes()).map_err(Error::io("send control request"))?;
    // The reply is read with recvmsg, past the (empty) buffer: the descriptors come
    // with its first bytes.
    let fd = c.reader.get_ref().as_raw_fd();
    let mut line = Vec::new();
    let mut fds = Vec::new();
    while !line.contains(&b'\n') {
        let mut buf = [0u8; 4096];
        let mut space = nix::cmsg_space!([std::os::fd::RawFd; 4]);
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let msg = nix::sys::socket::recvmsg::<()>(fd, &mut iov, Some(&mut space), nix::sys::socket::MsgFlags::MSG_CMSG_CLOEXEC)
            .map_err(|e| Error::io("read the exec reply")(std::io::Error::from(e)))?;
        for cmsg in msg.cmsgs().map_err(|e| Error::io("read the exec reply")(std::io::Error::from(e)))? {
            if let nix::sys::socket::ControlMessageOwned::ScmRights(raw) = cmsg {
                // SAFETY: the kernel just installed these descriptors in this process
                // for us; nothing else owns them.
                fds.extend(raw.into_iter().map(|r| unsafe { OwnedFd::from_raw_fd(r) }));
            }
        }
        let n = msg.bytes;
        if n == 0 {
            return Err(Error::Protocol("the shim closed the control connection".into()));
        }
        line.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&line);
    let reply = serde_json::from_str(text.trim_end()).map_err(|e| Error::Protocol(format!("exec reply {text:?}: {e}")))?;
    Ok((reply, fds, c))
}

/// Connects to `S/attach.sock` and sends `req`; the stream then carries the output
/// (frames, or raw bytes with a tty) and takes stdin.
pub fn attach(state_dir: &Path, req: &AttachRequest) -> Result<UnixStream> {
    let path = state_dir.join(ATTACH_SOCKET);
    let mut stream = UnixStream::connect(&path).map_err(Error::io(format!("connect {}", path.display())))?;
    stream.write_all(req.to_line().as_bytes()).map_err(Error::io("send attach request"))?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::UnixListener;

    use super::*;
    use crate::protocol::{AttachRequest, ExitStatus, StateReply, Status};

    #[test]
    fn control_requests_and_replies_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let listener = UnixListener::bind(dir.path().join(CONTROL_SOCKET)).unwrap();
        let server = std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut w = s;
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            assert_eq!(line, "{\"op\":\"state\"}\n");
            w.write_all(b"{\"pid\":42,\"status\":\"exited\",\"exit_code\":3}\n").unwrap();
            line.clear();
            r.read_line(&mut line).unwrap();
            assert_eq!(line, "{\"op\":\"shutdown\"}\n");
            w.write_all(b"{\"error\":\"still running\"}\n").unwrap();
        });
        let mut c = Control::connect(dir.path()).unwrap();
        let s: StateReply = c.request(&ControlRequest::State).unwrap();
        assert_eq!(s, StateReply { pid: 42, status: Status::Exited, exit_code: Some(3), protocol: 1 });
        match c.request::<ExitStatus>(&ControlRequest::Shutdown) {
            Err(Error::Refused(m)) => assert_eq!(m, "still running"),
            other => panic!("{other:?}"),
        }
        server.join().unwrap();
    }

    #[test]
    fn attach_sends_the_request_line() {
        let dir = tempfile::tempdir().unwrap();
        let listener = UnixListener::bind(dir.path().join(ATTACH_SOCKET)).unwrap();
        let req = AttachRequest { stdin: true, stdout: true, stderr: false, logs: false };
        let _client = attach(dir.path(), &req).unwrap();
        let (s, _) = listener.accept().unwrap();
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).unwrap();
        assert_eq!(line, "{\"stdin\":true,\"stdout\":true,\"stderr\":false,\"logs\":false}\n");
    }
}
