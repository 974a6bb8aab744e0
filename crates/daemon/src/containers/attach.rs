//! Attach: joins a client's hijacked connection to the container's shim. Output from
//! the shim (frames, or raw bytes with a tty) goes to the client as it is; the
//! client's input goes to the container's stdin, watched for the detach keys; the
//! client's half-close ends the input. Attaching to a container that is not running
//! yet waits for its start, and the shim holds that start until the client is
//! connected, so an attached `run` loses no output.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UnixStream;

use super::Container;
use super::Containers;

/// Docker's default: ctrl-p, ctrl-q.
pub const DEFAULT_DETACH_KEYS: &[u8] = api::detach::DEFAULT_KEYS;

/// Parses Docker's `detachKeys` syntax, with the daemon's message for a bad one.
pub fn parse_detach_keys(s: &str) -> Result<Vec<u8>, String> {
    api::detach::parse(s).map_err(|_| format!("Invalid detach keys ({s}) provided"))
}

/// Finds the detach sequence in a stream of input chunks, across chunk boundaries
/// (no keys: never).
pub struct DetachScanner {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachScanner {
    pub fn new(keys: Vec<u8>) -> DetachScanner {
        DetachScanner { keys, matched: 0 }
    }

    /// The bytes of `chunk` to pass on, and whether the sequence completed (the rest
    /// of the chunk is then dropped). Bytes of a partial match are held back until
    /// the match fails, when they are passed on after all.
    pub fn scan(&mut self, chunk: &[u8]) -> (Vec<u8>, bool) {
        if self.keys.is_empty() {
            return (chunk.to_vec(), false);
        }
        let mut out = Vec::with_capacity(chunk.len());
        for &b in chunk {
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return (out, true);
                }
            } else {
                out.extend_from_slice(&self.keys[..self.matched]);
                self.matched = 0;
                if b == self.keys[0] {
                    self.matched = 1;
                    if self.keys.len() == 1 {
                        return (out, true);
                    }
                } else {
                    out.push(b);
                }
            }
        }
        (out, false)
    }

    /// The bytes of a partial match held back, to pass on when the input ends.
    pub fn held(&self) -> &[u8] {
        &self.keys[..self.matched]
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub detach_keys: Vec<u8>,
}

/// An attach client registered with its container: taken when the request arrives,
/// before the reply, so a start that the client sends right after the reply already
/// knows to wait for it (and a start that comes first is seen by `connect`).
pub struct Registration {
    c: Arc<Container>,
    seen: super::Changes,
    live: bool,
}

impl Registration {
    pub fn new(c: &Arc<Container>) -> Registration {
        c.attach_waits(true);
        let mut seen = c.subscribe().borrow().changes;
        // A start already under way (begun, not yet done or failed) counts as the
        // one to attach to.
        if seen.starting > seen.started + seen.failed_starts {
            seen.starting -= 1;
        }
        Registration { c: c.clone(), seen, live: c.status().is_live() }
    }

    /// Connects to the shim, waiting for the container's start when it was not
    /// running. `None` when the container is gone or its start failed.
    pub async fn connect(self, d: &Arc<Containers>) -> Option<UnixStream> {
        let c = &self.c;
        let sock = d.paths.shim(&c.id).join(shim::ATTACH_SOCKET);
        if self.live {
            return UnixStream::connect(&sock).await.ok();
        }
        let mut rx = c.subscribe();
        let seen = self.seen;
        // The shim binds its socket right after a start begins.
        rx.wait_for(|p| p.changes.starting > seen.starting || p.changes.removed || p.changes.failed_starts > seen.failed_starts)
            .await
            .ok()?;
        // The socket appears a millisecond or two later; tokio's timers tick in whole
        // milliseconds, so a blocking thread polls at a finer grain (this is on the
        // path of every attached `run`).
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (poll_sock, poll_stop) = (sock.clone(), stop.clone());
        let poll = tokio::task::spawn_blocking(move || {
            while !poll_stop.load(Ordering::Relaxed) {
                if let Ok(s) = std::os::unix::net::UnixStream::connect(&poll_sock) {
                    return Some(s);
                }
                std::thread::sleep(Duration::from_micros(100));
            }
            None
        });
        let failed = async {
            // The guard `wait_for` yields is not Send: dropped here, not held in the select.
            let _ = rx.wait_for(|p| p.changes.removed || p.changes.failed_starts > seen.failed_starts || p.changes.exits > seen.exits).await;
        };
        tokio::pin!(poll);
        let stream = tokio::select! {
            s = &mut poll => s.ok().flatten(),
            _ = failed => {
                stop.store(true, Ordering::Relaxed);
                poll.await.ok().flatten()
            }
        };
        let stream = stream?;
        stream.set_nonblocking(true).ok()?;
        UnixStream::from_std(stream).ok()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.c.attach_waits(false);
    }
}

/// Runs one attach session over `client` until the container's output ends, the
/// client goes away or it types the detach keys.
pub async fn pump<C>(client: C, mut shim: UnixStream, o: Options)
where
    C: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let req = shim::AttachRequest {
        stdin: o.stdin,
        stdout: o.stdout,
        stderr: o.stderr,
        logs: false,
    };
    if shim.write_all(req.to_line().as_bytes()).await.is_err() {
        return;
    }
    let (mut client_r, mut client_w) = tokio::io::split(client);
    let (mut shim_r, mut shim_w) = shim.into_split();
    let output = async {
        let _ = tokio::io::copy(&mut shim_r, &mut client_w).await;
        let _ = client_w.shutdown().await;
    };
    let input = async {
        let mut scanner = DetachScanner::new(o.detach_keys.clone());
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match client_r.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    // End of the client's input: the container's stdin ends too
                    // (the shim closes it when the container was run with StdinOnce).
                    if o.stdin {
                        let _ = shim_w.write_all(scanner.held()).await;
                        let _ = shim_w.shutdown().await;
                    }
                    // Keep streaming output to a half-closed client.
                    std::future::pending::<()>().await;
                }
                Ok(n) if o.stdin => {
                    let (pass, detached) = scanner.scan(&buf[..n]);
                    if !pass.is_empty() && shim_w.write_all(&pass).await.is_err() {
                        std::future::pending::<()>().await;
                    }
                    if detached {
                        return;
                    }
                }
                Ok(_) => {}
            }
        }
    };
    tokio::select! {
        _ = output => {}
        _ = input => {}
    }
}

/// `POST /containers/{id}/resize`: the terminal's new size, to the shim that holds the
/// pty; ignored for a container without a terminal, as Docker does.
pub async fn resize(d: &Arc<Containers>, c: &Container, height: u16, width: u16) -> crate::error::Result<()> {
    use crate::error::Error;
    if !c.status().is_live() {
        return Err(Error::conflict(format!("Container {} is not running", c.id)));
    }
    if !c.record().config.tty {
        return Ok(());
    }
    let shim_dir = d.paths.shim(&c.id);
    tokio::task::spawn_blocking(move || {
        shim::client::Control::connect(&shim_dir)
            .and_then(|mut s| s.request::<shim::OkReply>(&shim::ControlRequest::Resize { width, height }))
    })
    .await
    .map_err(|e| Error::internal(e.to_string()))?
    .map(|_| ())
    .map_err(|e| Error::internal(format!("resize: {e}")))
}

/// Output only, for a client without the upgrade: the shim's stream, chunk by chunk,
/// to `send` until it refuses one or the stream ends.
pub async fn output_only<F, Fut>(mut shim: UnixStream, o: &Options, send: F)
where
    F: Fn(bytes::Bytes) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let req = shim::AttachRequest { stdin: false, stdout: o.stdout, stderr: o.stderr, logs: false };
    if shim.write_all(req.to_line().as_bytes()).await.is_err() {
        return;
    }
    let mut buf = vec![0u8; 32 * 1024];
    while let Ok(n) = shim.read(&mut buf).await {
        if n == 0 || !send(bytes::Bytes::copy_from_slice(&buf[..n])).await {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_parse_as_docker() {
        assert_eq!(
            parse_detach_keys("ctrl-p,ctrl-q").unwrap(),
            vec![0x10, 0x11]
        );
        assert_eq!(
            parse_detach_keys("a,ctrl-@,ctrl-[").unwrap(),
            vec![b'a', 0, 27]
        );
        assert_eq!(
            parse_detach_keys("ctrl-").unwrap_err(),
            "Invalid detach keys (ctrl-) provided"
        );
        assert!(parse_detach_keys("abc").is_err());
        assert!(parse_detach_keys("ctrl-1").is_err());
    }

    #[test]
    fn the_scanner_finds_the_sequence_across_chunks_and_passes_false_starts() {
        let mut s = DetachScanner::new(vec![0x10, 0x11]);
        assert_eq!(s.scan(b"ab\x10"), (b"ab".to_vec(), false));
        assert_eq!(s.scan(b"c"), (b"\x10c".to_vec(), false));
        assert_eq!(s.scan(b"x\x10"), (b"x".to_vec(), false));
        assert_eq!(s.scan(b"\x11rest"), (Vec::new(), true));
        let mut s = DetachScanner::new(vec![0x10, 0x11]);
        assert_eq!(s.scan(b"\x10\x10\x11"), (b"\x10".to_vec(), true));
        let mut s = DetachScanner::new(vec![0x10, 0x11]);
        assert_eq!(s.scan(b"a\x10"), (b"a".to_vec(), false));
        assert_eq!(s.held(), b"\x10");
        let mut none = DetachScanner::new(Vec::new());
        assert_eq!(none.scan(b"\x10\x11"), (b"\x10\x11".to_vec(), false));
    }
}
