//! Attached streams (docker's `hijackedIOStreamer`) and `berth attach`.
//!
//! `POST /containers/{id}/attach` is upgraded to a raw connection: the
//! container's output arrives multiplexed in frames (raw with a TTY) and is
//! written to stdout/stderr; stdin is copied the other way, and its end is
//! sent as a half-close so the container sees EOF. With a TTY the local
//! terminal is put in raw mode, resized with the container's, and watched
//! for the detach keys. Signals received meanwhile are forwarded to the
//! container (`--sig-proxy`).
//!
//! The container's exit status comes from a `POST /containers/{id}/wait`
//! sent before the container starts (see [`WaitTask`]).

use std::io::Read;
use std::time::Duration;

use api::containers::ContainerWaitResponse;
use api::{Client, FrameDecoder, StreamType, UpgradedStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::terminal::{self, Escape, EscapeProxy, RawMode};
use super::{Invocation, path_segment};
use crate::cli::container::AttachArgs;
use crate::context::Cli;
use crate::error::{CliError, Result};

/// Which streams are attached, and how.
#[derive(Debug, Clone, Default)]
pub struct Streams {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
    /// `--detach-keys` as given ("" for docker's default).
    pub detach_keys: String,
}

/// How an attached session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The container's output ended (it exited, or the daemon closed).
    Output,
    /// The user typed the detach keys.
    Detached,
}

/// `POST /containers/{id}/attach?stream=1&…` upgraded to a raw stream.
pub async fn attach_stream(client: &Client, id: &str, s: &Streams) -> Result<UpgradedStream> {
    let mut query = vec![("stream", "1")];
    for (on, key) in [(s.stdin, "stdin"), (s.stdout, "stdout"), (s.stderr, "stderr")] {
        if on {
            query.push((key, "1"));
        }
    }
    if !s.detach_keys.is_empty() {
        query.push(("detachKeys", s.detach_keys.as_str()));
    }
    Ok(client.post_upgrade(&format!("/containers/{}/attach", path_segment(id)), &query, None).await?)
}

/// A `POST /containers/{id}/wait` running in the background.
pub struct WaitTask {
    handle: Option<JoinHandle<std::result::Result<ContainerWaitResponse, String>>>,
}

impl WaitTask {
    /// Sends the wait request and returns once the daemon has answered its
    /// headers (it does so when the wait is registered), so a container
    /// started afterwards cannot exit unseen; gives up waiting for the
    /// headers after a second.
    pub async fn spawn(client: &Client, id: &str, condition: Option<&str>) -> WaitTask {
        let client = client.clone();
        let path = format!("/containers/{}/wait", path_segment(id));
        let condition = condition.map(str::to_string);
        let (ready_tx, ready_rx) = oneshot::channel();
        let handle = tokio::spawn(async move {
            let query: Vec<(&str, &str)> = condition.iter().map(|c| ("condition", c.as_str())).collect();
            let mut stream = client.post_stream(&path, &query, None).await.map_err(|e| e.to_string())?;
            let _ = ready_tx.send(());
            let mut body = Vec::new();
            while let Some(chunk) = stream.chunk().await {
                body.extend_from_slice(&chunk.map_err(|e| e.to_string())?);
            }
            serde_json::from_slice::<ContainerWaitResponse>(&body).map_err(|e| format!("decoding wait reply: {e}"))
        });
        let _ = tokio::time::timeout(Duration::from_secs(1), ready_rx).await;
        WaitTask { handle: Some(handle) }
    }

    /// The reply, once the condition is met.
    pub async fn result(mut self) -> std::result::Result<ContainerWaitResponse, String> {
        match self.handle.take() {
            Some(h) => h.await.unwrap_or_else(|e| Err(e.to_string())),
            None => Err("wait already finished".to_string()),
        }
    }

    /// Docker's `waitExitOrRemoved` status: the exit code, or 125 (with the
    /// error on stderr) when waiting failed.
    pub async fn status(self, cli: &mut Cli<'_>) -> i64 {
        match self.result().await {
            Ok(r) => match r.error {
                Some(e) if !e.message.is_empty() => {
                    let _ = writeln!(cli.err, "Error waiting for container: {}", e.message);
                    125
                }
                _ => r.status_code,
            },
            Err(e) => {
                let _ = writeln!(cli.err, "error waiting for container: {e}");
                125
            }
        }
    }

    fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(JoinHandle::is_finished)
    }
}

impl Drop for WaitTask {
    fn drop(&mut self) {
        if let Some(h) = &self.handle {
            h.abort();
        }
    }
}

/// A status for the process to exit with: the container's code, which the
/// OS truncates to 8 bits.
pub fn exit_status(code: i64) -> Result<()> {
    if code == 0 { Ok(()) } else { Err(CliError::status((code & 0xff) as u8, "")) }
}

/// Reads this process's stdin on a thread (blocking reads cannot be
/// cancelled; the thread ends with the process), chunk by chunk; the
/// channel closes at EOF.
fn stdin_reader() -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel(4);
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 32 * 1024];
        let mut stdin = std::io::stdin();
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
    });
    rx
}

/// The signals forwarded to the container by `--sig-proxy`, by docker's
/// names (`POST /containers/{id}/kill?signal=INT`).
const PROXIED_SIGNALS: [(i32, &str); 6] = [
    (libc::SIGINT, "INT"),
    (libc::SIGTERM, "TERM"),
    (libc::SIGHUP, "HUP"),
    (libc::SIGQUIT, "QUIT"),
    (libc::SIGUSR1, "USR1"),
    (libc::SIGUSR2, "USR2"),
];

/// Catches the proxied signals (so they no longer end berth) and reports
/// each by name on the returned channel.
fn catch_signals() -> (mpsc::UnboundedReceiver<&'static str>, Vec<JoinHandle<()>>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for (num, name) in PROXIED_SIGNALS {
        let Ok(mut sig) = signal(SignalKind::from_raw(num)) else { continue };
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            while sig.recv().await.is_some() {
                if tx.send(name).is_err() {
                    break;
                }
            }
        }));
    }
    (rx, tasks)
}

/// `/containers/{id}`, under which a container's terminal is resized.
pub fn container_base(id: &str) -> String {
    format!("/containers/{}", path_segment(id))
}

/// `POST /containers/{id}/resize` to the local terminal's size (plus
/// `grow`, which `attach` uses to force a redraw); failures are ignored.
pub async fn resize(client: &Client, id: &str, grow: u16) -> bool {
    resize_at(client, &container_base(id), grow).await
}

/// [`resize`] of the terminal under `base` (`/containers/{id}` or
/// `/exec/{id}`): `POST {base}/resize?h=&w=`.
pub async fn resize_at(client: &Client, base: &str, grow: u16) -> bool {
    let (h, w) = terminal::stdout_size();
    if h == 0 && w == 0 {
        return true;
    }
    let (h, w) = ((h + grow).to_string(), (w + grow).to_string());
    client.post(&format!("{base}/resize"), &[("h", &h), ("w", &w)], None).await.is_ok()
}

/// Sizes the container's terminal like the local one, retrying briefly while
/// the container is still starting (docker's `initTtySize`).
pub async fn init_size(cli: &mut Cli<'_>, client: &Client, id: &str) {
    init_size_at(cli, client, &container_base(id)).await
}

/// [`init_size`] of the terminal under `base` (see [`resize_at`]).
pub async fn init_size_at(cli: &mut Cli<'_>, client: &Client, base: &str) {
    for attempt in 0..=10u64 {
        if resize_at(client, base, 0).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis((attempt + 1) * 10)).await;
    }
    let _ = writeln!(cli.err, "failed to resize tty, using default size");
}

/// What [`pump`] does besides copying.
pub struct PumpOptions<'a> {
    /// Forward signals to the container.
    pub proxy_signals: bool,
    /// Follow local terminal size changes (SIGWINCH).
    pub monitor_size: bool,
    /// Ends the session when the wait finishes while no output is attached.
    pub wait: Option<&'a WaitTask>,
    /// Where SIGWINCH resizes go (`/exec/{id}` for an exec): `{base}/resize`;
    /// `None` for the container's own terminal (`/containers/{id}`).
    pub resize_base: Option<String>,
}

/// Copies between the attached connection and the local streams until the
/// output ends (or, with no output attached, stdin ends or the container
/// exits), or the user detaches.
pub async fn pump(
    cli: &mut Cli<'_>,
    client: &Client,
    id: &str,
    conn: UpgradedStream,
    s: &Streams,
    opts: PumpOptions<'_>,
) -> Result<Ended> {
    let (mut rd, mut wr) = tokio::io::split(conn.io);
    let output_attached = s.stdout || s.stderr;
    let mut stdin_rx = if s.stdin { Some(stdin_reader()) } else { None };
    if stdin_rx.is_none() {
        // Nothing to send: say so at once, as docker does.
        let _ = wr.shutdown().await;
    }
    let mut raw = if s.tty && s.stdin { RawMode::enable() } else { None };
    let keys = if s.detach_keys.is_empty() {
        terminal::DEFAULT_DETACH_KEYS.to_vec()
    } else {
        terminal::detach_keys(&s.detach_keys).unwrap_or_else(|e| {
            let _ = writeln!(cli.err, "invalid detach escape keys, using default: {e}");
            terminal::DEFAULT_DETACH_KEYS.to_vec()
        })
    };
    let mut escape = EscapeProxy::new(if s.tty && s.stdin { keys } else { Vec::new() });
    let (mut signals, signal_tasks) =
        if opts.proxy_signals { catch_signals() } else { (mpsc::unbounded_channel().1, Vec::new()) };
    let mut winch = if opts.monitor_size { signal(SignalKind::window_change()).ok() } else { None };
    let watch_wait = !output_attached && opts.wait.is_some();
    let resize_base = opts.resize_base.clone().unwrap_or_else(|| container_base(id));

    let mut decoder = FrameDecoder::new();
    let mut buf = vec![0u8; 32 * 1024];
    let ended = loop {
        tokio::select! {
            r = rd.read(&mut buf) => {
                let n = r?;
                if n == 0 {
                    raw.take();
                    break Ended::Output;
                }
                if s.tty {
                    if s.stdout {
                        cli.out.write_all(&buf[..n])?;
                        cli.out.flush()?;
                    }
                    continue;
                }
                decoder.push(&buf[..n]);
                while let Some(frame) = decoder.next_frame().map_err(api::ClientError::from)? {
                    match frame.stream {
                        StreamType::Stdout if s.stdout => {
                            cli.out.write_all(&frame.data)?;
                            cli.out.flush()?;
                        }
                        StreamType::Stderr | StreamType::System if s.stderr => {
                            cli.err.write_all(&frame.data)?;
                            cli.err.flush()?;
                        }
                        _ => {}
                    }
                }
            }
            chunk = recv(&mut stdin_rx), if stdin_rx.is_some() => match chunk {
                Some(data) => match escape.feed(&data) {
                    Escape::Detach => break Ended::Detached,
                    Escape::Forward(d) => {
                        if !d.is_empty() && wr.write_all(&d).await.and(wr.flush().await).is_err() {
                            stdin_rx = None;
                        }
                    }
                },
                None => {
                    stdin_rx = None;
                    raw.take();
                    let _ = wr.shutdown().await;
                    if !output_attached {
                        break Ended::Output;
                    }
                }
            },
            Some(name) = signals.recv() => {
                let path = format!("/containers/{}/kill", path_segment(id));
                let _ = client.post(&path, &[("signal", name)], None).await;
            }
            Some(_) = recv_winch(&mut winch), if winch.is_some() => {
                resize_at(client, &resize_base, 0).await;
            }
            _ = tokio::time::sleep(Duration::from_millis(50)), if watch_wait => {
                if opts.wait.is_some_and(WaitTask::is_finished) {
                    break Ended::Output;
                }
            }
        }
    };
    for t in signal_tasks {
        t.abort();
    }
    drop(raw);
    Ok(ended)
}

async fn recv(rx: &mut Option<mpsc::Receiver<Vec<u8>>>) -> Option<Vec<u8>> {
    match rx {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

async fn recv_winch(s: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match s {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

/// Docker's `inspectContainerAndCheckState`: only a running, unpaused
/// container can be attached to.
async fn inspect_running(client: &Client, id: &str) -> Result<api::containers::ContainerInspect> {
    let c: api::containers::ContainerInspect =
        client.get_json(&format!("/containers/{}/json", path_segment(id)), &[]).await?;
    let msg = if !c.state.running {
        "You cannot attach to a stopped container, start it first"
    } else if c.state.paused {
        "You cannot attach to a paused container, unpause it first"
    } else if c.state.restarting {
        "You cannot attach to a restarting container, wait until it is running"
    } else {
        return Ok(c);
    };
    Err(CliError::Other(msg.to_string()))
}

/// `berth attach CONTAINER`.
pub async fn run(cli: &mut Cli<'_>, args: AttachArgs, inv: &Invocation) -> Result<()> {
    inv.require_exact(&args.containers, 1)?;
    let name = &args.containers[0];
    let client = cli.client().await?.clone();
    let wait = WaitTask::spawn(&client, name, None).await;
    let c = inspect_running(&client, name).await?;
    let tty = c.config.tty;
    if tty && !args.no_stdin && !terminal::stdin_is_terminal() {
        return Err(CliError::Other("the input device is not a TTY".to_string()));
    }
    let streams = Streams {
        stdin: !args.no_stdin && c.config.open_stdin,
        stdout: true,
        stderr: true,
        tty,
        detach_keys: args.detach_keys.clone(),
    };
    let conn = attach_stream(&client, name, &streams).await?;
    inspect_running(&client, name).await?;
    let monitor_size = tty && terminal::stdout_is_terminal();
    if monitor_size {
        resize(&client, name, 1).await;
        init_size(cli, &client, name).await;
    }
    let opts = PumpOptions {
        proxy_signals: args.sig_proxy.unwrap_or(true) && !tty,
        monitor_size,
        wait: Some(&wait),
        resize_base: None,
    };
    if pump(cli, &client, name, conn, &streams, opts).await? == Ended::Detached {
        // docker's attach reports the detach as its error (status 1); `run` does not.
        return Err(CliError::Other("read escape sequence".into()));
    }
    match wait.result().await {
        Ok(r) => match r.error {
            Some(e) if !e.message.is_empty() => Err(CliError::Other(e.message)),
            _ => exit_status(r.status_code),
        },
        Err(e) => Err(CliError::Other(e)),
    }
}
