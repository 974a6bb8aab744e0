//! `docker exec`: a process started in a running container through the container's
//! runtime (`berth-runtime exec`, or runc/crun's), with the container's process
//! settings (user, env, cwd, capabilities, no_new_privs, seccomp) under the exec's
//! own command, user, env and working directory. Its stdio is piped (or a pty from the
//! runtime's console socket) and joined to the client's hijacked connection; its exit
//! code is kept for `GET /exec/{id}/json`.
//!
//! The exec's process is the container's shim's child, not berthd's: it outlives a
//! daemon restart as its container does. The shim hands berthd the client's ends of
//! its stdio and keeps its exit; an exec's record (`exec-<id>.record.json` in the
//! shim's directory) lets the next berthd answer `exec inspect` for it.

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex};

use api::exec::{ExecCreateBody, ExecInspect, ExecProcessConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{Container, names, user};
use crate::error::{Error, Result};
use super::Containers;

#[derive(Debug, Default, Clone)]
struct State {
    started: bool,
    running: bool,
    pid: i32,
    exit_code: Option<i64>,
}

pub struct Exec {
    pub id: String,
    pub container: Arc<Container>,
    pub config: ExecCreateBody,
    state: Mutex<State>,
    /// The pty master while a tty exec runs, for resizes.
    tty: Mutex<Option<OwnedFd>>,
}

#[derive(Default)]
pub struct Execs {
    map: Mutex<BTreeMap<String, Arc<Exec>>>,
}

impl Execs {
    pub fn get(&self, id: &str) -> Result<Arc<Exec>> {
        self.map
            .lock()
            .expect("execs lock")
            .get(id)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("No such exec instance: {id}")))
    }

    /// Forgets an exec nobody will inspect (a health probe's, once its result is kept),
    /// its files in the shim's directory with it.
    pub fn forget(&self, paths: &super::Paths, e: &Exec) {
        self.map.lock().expect("execs lock").remove(&e.id);
        let dir = paths.shim(&e.container.id);
        for what in ["record.json", "exit.json"] {
            let _ = std::fs::remove_file(dir.join(shim::protocol::exec_file(&e.id, what)));
        }
    }

    /// The execs of a container that have not ended, created or running (inspect's
    /// `ExecIDs`, as dockerd keeps them).
    pub fn of(&self, container: &str) -> Vec<String> {
        self.map
            .lock()
            .expect("execs lock")
            .values()
            .filter(|e| e.container.id == container && e.state.lock().expect("exec lock").exit_code.is_none())
            .map(|e| e.id.clone())
            .collect()
    }
}

/// `POST /containers/{id}/exec`.
pub fn create(d: &Containers, c: &Arc<Container>, body: ExecCreateBody) -> Result<String> {
    super::lifecycle::admit(super::lifecycle::Command::Exec, super::lifecycle::Subject::of(&c.record()))?;
    if body.cmd.as_ref().is_none_or(|c| c.is_empty()) {
        return Err(Error::invalid("No exec command specified"));
    }
    let id = names::new_id();
    let exec = Exec { id: id.clone(), container: c.clone(), config: body, state: Mutex::default(), tty: Mutex::default() };
    let action = format!("exec_create: {}", exec_command(&exec));
    d.execs.map.lock().expect("execs lock").insert(id.clone(), Arc::new(exec));
    let mut attrs = super::view::event_attributes(&c.record());
    attrs.insert("execID".into(), id.clone());
    d.events.publish("container", &action, &c.id, attrs);
    Ok(id)
}

fn exec_command(e: &Exec) -> String {
    e.config.cmd.clone().unwrap_or_default().join(" ")
}

/// `GET /exec/{id}/json`.
pub fn inspect(e: &Exec) -> ExecInspect {
    let st = e.state.lock().expect("exec lock").clone();
    let cmd = e.config.cmd.clone().unwrap_or_default();
    ExecInspect {
        can_remove: false,
        detach_keys: e.config.detach_keys.clone(),
        id: e.id.clone(),
        running: st.running,
        exit_code: st.exit_code.or(if st.started { None } else { Some(0) }).filter(|_| !st.running),
        process_config: ExecProcessConfig {
            privileged: e.config.privileged,
            user: e.config.user.clone(),
            tty: e.config.tty,
            entrypoint: cmd.first().cloned().unwrap_or_default(),
            arguments: cmd.iter().skip(1).cloned().collect(),
        },
        open_stdin: e.config.attach_stdin,
        open_stderr: e.config.attach_stderr,
        open_stdout: e.config.attach_stdout,
        container_id: e.container.id.clone(),
        pid: st.pid as i64,
    }
}

/// `POST /exec/{id}/resize`.
pub fn resize(e: &Exec, height: u16, width: u16) -> Result<()> {
    let tty = e.tty.lock().expect("exec lock");
    let Some(master) = tty.as_ref() else { return Ok(()) };
    runtime::console::set_size(master.as_raw_fd(), height, width)
        .map_err(|err| Error::internal(format!("resize exec {}: {err}", e.id)))
}

/// The process to run: the container's, with the exec's command, env, cwd and user.
pub fn process_spec(d: &Containers, e: &Exec) -> Result<serde_json::Value> {
    let paths = &d.paths;
    let c = &e.container;
    let bundle = std::fs::read(paths.bundle(&c.id).join("config.json"))
        .map_err(|err| Error::internal(format!("read the container's bundle: {err}")))?;
    let spec: serde_json::Value = serde_json::from_slice(&bundle).map_err(|err| Error::internal(err.to_string()))?;
    let mut p = spec["process"].clone();
    let cfg = &e.config;
    p["args"] = serde_json::json!(cfg.cmd.clone().unwrap_or_default());
    p["terminal"] = serde_json::json!(cfg.tty);
    if let Some(env) = p["env"].as_array().cloned() {
        let base: Vec<String> = env.iter().filter_map(|v| v.as_str().map(String::from)).collect();
        p["env"] = serde_json::json!(super::merge::merge_env(&base, &cfg.env));
    }
    if !cfg.working_dir.is_empty() {
        p["cwd"] = serde_json::json!(cfg.working_dir);
    }
    if !cfg.user.is_empty() {
        // The container's --group-add holds for an exec's own user too, as in Docker.
        let group_add = c.record().host_config.group_add.clone();
        let u = user::resolve(&paths.live_rootfs(&c.id), &cfg.user, &group_add).map_err(Error::invalid)?;
        p["user"] = serde_json::json!({"uid": u.uid, "gid": u.gid, "additionalGids": u.additional_gids});
    }
    if cfg.privileged {
        let all: Vec<String> = caps::all().into_iter().map(|c| c.to_string()).collect();
        p["capabilities"] = serde_json::json!({"bounding": all, "effective": all, "permitted": all});
    }
    if let Some([h, w]) = cfg.console_size.filter(|_| cfg.tty)
        && h > 0
        && w > 0
    {
        p["consoleSize"] = serde_json::json!({"height": h, "width": w});
    } else if let Some(o) = p.as_object_mut() {
        o.remove("consoleSize");
    }
    Ok(p)
}

/// What the next berthd needs to know of an exec started before it: kept in the
/// shim's directory, so it goes with the run.
#[derive(serde::Serialize, serde::Deserialize)]
struct ExecRecord {
    id: String,
    config: ExecCreateBody,
}

/// The exit code Docker gives an exec whose process could not start.
fn failed_exit_code(code: shim::FailureCode) -> i64 {
    match code {
        shim::FailureCode::NotFound => 127,
        shim::FailureCode::PermissionDenied | shim::FailureCode::Other => 126,
    }
}

/// Tells a client its exec could not start, as Docker words it on the stream.
async fn refuse_on_stream<C: AsyncWrite + Unpin>(conn: Option<C>, framing: Framing, why: &str) {
    let Some(mut conn) = conn else { return };
    let msg = format!("OCI runtime exec failed: exec failed: {why}: unknown\n");
    let bytes = framing.frame(api::stream::StreamType::Stderr, msg.as_bytes());
    let _ = conn.write_all(&bytes).await;
    let _ = conn.shutdown().await;
}

/// How an attached exec's output reaches its client. dockerd decides it by the `Tty`
/// of the start request, not the create's (which decides whether the process gets a
/// terminal): a client may start a terminal exec and read frames, or the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// The bytes as they come (`application/vnd.docker.raw-stream`).
    Raw,
    /// Each chunk in a frame that says its stream (`…multiplexed-stream`).
    Multiplexed,
}

impl Framing {
    /// As the start request's `Tty` asks.
    pub fn of_start(tty: bool) -> Framing {
        if tty { Framing::Raw } else { Framing::Multiplexed }
    }

    fn frame(self, stream: api::stream::StreamType, bytes: &[u8]) -> Vec<u8> {
        match self {
            Framing::Raw => bytes.to_vec(),
            Framing::Multiplexed => api::stream::encode_frame(stream, bytes),
        }
    }
}

/// `POST /exec/{id}/start`: the container's shim runs the process; with a connection,
/// its stdio is joined to it, in `framing`, until the process ends (or the client
/// detaches on a terminal).
pub async fn start<C>(d: Arc<Containers>, e: Arc<Exec>, conn: Option<C>, framing: Framing) -> Result<()>
where
    C: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    {
        let mut st = e.state.lock().expect("exec lock");
        if st.started {
            return Err(Error::conflict(format!("Exec {} has already been started", e.id)));
        }
        st.started = true;
    }
    let c = e.container.clone();
    super::lifecycle::admit(super::lifecycle::Command::Exec, super::lifecycle::Subject::of(&c.record()))?;
    let tty = e.config.tty;
    // Recorded before the stream ends: the client inspects the exec right then.
    let failed = |code: i64| e.state.lock().expect("exec lock").exit_code = Some(code);
    let process = match process_spec(&d, &e) {
        Ok(p) => p,
        // As Docker: the exec fails with status 126 and says why on its stream.
        Err(err) => {
            failed(126);
            refuse_on_stream(conn, framing, &err.message).await;
            return Ok(());
        }
    };
    let dir = d.paths.shim(&c.id);
    let process_file = dir.join(shim::protocol::exec_file(&e.id, "json"));
    let record = ExecRecord { id: e.id.clone(), config: e.config.clone() };
    let written = serde_json::to_vec(&record)
        .map_err(std::io::Error::other)
        .and_then(|r| atomic_file::write(&dir.join(shim::protocol::exec_file(&e.id, "record.json")), &r, atomic_file::Durability::Volatile))
        .and_then(|()| atomic_file::write_mode(&process_file, process.to_string().as_bytes(), 0o600, atomic_file::Durability::Volatile));
    if let Err(err) = written {
        failed(126);
        return Err(Error::internal(format!("write the exec's process: {err}")));
    }
    let attached = conn.is_some();
    let request = shim::ControlRequest::Exec {
        id: e.id.clone(),
        process: process_file.clone(),
        tty,
        stdin: attached && e.config.attach_stdin && !tty,
    };
    let mut attrs = super::view::event_attributes(&c.record());
    attrs.insert("execID".into(), e.id.clone());
    d.events.publish("container", &format!("exec_start: {}", exec_command(&e)), &c.id, attrs);
    let shim_dir = dir.clone();
    let asked = tokio::task::spawn_blocking(move || shim::client::exec(&shim_dir, &request))
        .await
        .map_err(|err| Error::internal(err.to_string()))?;
    let _ = std::fs::remove_file(&process_file);
    let record_file = dir.join(shim::protocol::exec_file(&e.id, "record.json"));
    let (pid, fds, owner) = match asked {
        Ok((shim::protocol::ExecReply::Started { pid }, fds, owner)) => (pid, fds, owner),
        Ok((shim::protocol::ExecReply::Failed { error, code }, _, _)) => {
            let _ = std::fs::remove_file(&record_file);
            failed(failed_exit_code(code));
            refuse_on_stream(conn, framing, &error).await;
            return Ok(());
        }
        Err(err) => {
            let _ = std::fs::remove_file(&record_file);
            failed(126);
            return Err(Error::internal(format!("exec in container {}: {err}", c.id)));
        }
    };
    {
        let mut st = e.state.lock().expect("exec lock");
        st.running = true;
        st.pid = pid;
    }
    let (e2, d2) = (e.clone(), d.clone());
    let run = async move {
        // The owner connection is kept while berthd serves the exec's stdio; once it
        // closes, the shim drains what is left.
        let mut conn_w = None;
        match conn {
            Some(conn) if tty => {
                let master = fds.into_iter().next();
                if let Some(m) = master {
                    *e2.tty.lock().expect("exec lock") = m.try_clone().ok();
                    conn_w = Some(pump_tty(conn, m, framing, e2.config.attach_stdin, &e2.config.detach_keys).await);
                }
            }
            Some(conn) => conn_w = Some(pump_pipes(conn, fds, framing).await),
            None => drop(fds),
        }
        drop(owner);
        let code = wait_exit(&d2, &e2).await;
        finish(&d2, &e2, code);
        // The client's connection ends only once the exit code is recorded: clients
        // inspect the exec as soon as the stream ends.
        if let Some(mut w) = conn_w {
            let _ = w.shutdown().await;
        }
    };
    if attached {
        run.await;
    } else {
        tokio::spawn(run);
    }
    Ok(())
}

/// The exec's exit code, from its shim, or from the exit record the shim left (255
/// if neither tells).
async fn wait_exit(d: &Containers, e: &Exec) -> i64 {
    let (dir, id) = (d.paths.shim(&e.container.id), e.id.clone());
    tokio::task::spawn_blocking(move || {
        shim::client::Control::connect(&dir)
            .and_then(|mut c| c.request::<shim::ExitStatus>(&shim::ControlRequest::ExecWait { id: id.clone() }))
            .ok()
            .or_else(|| exit_record(&dir, &id))
            .map_or(255, |x| x.exit_code as i64)
    })
    .await
    .unwrap_or(255)
}

/// The exit the shim recorded for exec `id`, if it did.
fn exit_record(shim_dir: &std::path::Path, id: &str) -> Option<shim::ExitStatus> {
    serde_json::from_slice(&std::fs::read(shim_dir.join(shim::protocol::exec_file(id, "exit.json"))).ok()?).ok()
}

/// Records the exit and tells the world.
fn finish(d: &Containers, e: &Exec, code: i64) {
    {
        let mut st = e.state.lock().expect("exec lock");
        st.running = false;
        st.exit_code = Some(code);
    }
    *e.tty.lock().expect("exec lock") = None;
    let mut attrs = super::view::event_attributes(&e.container.record());
    attrs.insert("execID".into(), e.id.clone());
    attrs.insert("exitCode".into(), code.to_string());
    d.events.publish("container", "exec_die", &e.container.id, attrs);
}

/// The execs a berthd before this one started in `c` (found by their records in the
/// shim's directory): known again, their state from the shim, and watched to their end.
pub fn restore(d: &Arc<Containers>, c: &Arc<Container>) {
    let dir = d.paths.shim(&c.id);
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("exec-") && name.ends_with(".record.json")) {
            continue;
        }
        let Ok(record) = std::fs::read(entry.path()).map_err(|_| ()).and_then(|b| serde_json::from_slice::<ExecRecord>(&b).map_err(|_| ())) else {
            continue;
        };
        // A shim that hangs must not hold berthd's start.
        let state = shim::client::Control::connect_with_timeout(&dir, std::time::Duration::from_secs(5))
            .and_then(|mut s| s.request::<shim::protocol::ExecState>(&shim::ControlRequest::ExecState { id: record.id.clone() }));
        let st = match (&state, exit_record(&dir, &record.id)) {
            (Ok(s), _) => State {
                started: true,
                running: s.exit.is_none(),
                pid: s.pid,
                exit_code: s.exit.as_ref().map(|x| x.exit_code as i64),
            },
            // The shim is gone, or forgot it: its exit record tells how it ended.
            (Err(_), Some(exit)) => State { started: true, running: false, pid: 0, exit_code: Some(exit.exit_code as i64) },
            (Err(_), None) => continue,
        };
        let running = st.running;
        let exec = Arc::new(Exec { id: record.id, container: c.clone(), config: record.config, state: Mutex::new(st), tty: Mutex::default() });
        d.execs.map.lock().expect("execs lock").insert(exec.id.clone(), exec.clone());
        if running {
            let d = d.clone();
            tokio::spawn(async move {
                let code = wait_exit(&d, &exec).await;
                finish(&d, &exec, code);
            });
        }
    }
}

/// Sends `sig` to the exec's process while it runs: the shim does it, as only it
/// knows the process is not reaped yet (so its pid cannot be another's).
pub async fn signal(d: &Containers, e: &Exec, sig: nix::sys::signal::Signal) -> bool {
    if !e.state.lock().expect("exec lock").running {
        return false;
    }
    let req = shim::ControlRequest::ExecKill { id: e.id.clone(), signal: sig as i32 };
    let dir = d.paths.shim(&e.container.id);
    tokio::task::spawn_blocking(move || {
        shim::client::Control::connect_with_timeout(&dir, std::time::Duration::from_secs(5))
            .and_then(|mut c| c.request::<shim::OkReply>(&req))
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

/// Without a terminal: stdout and stderr as frames, the client's input to stdin.
/// `fds` are the exec's stdout, stderr and (if asked) stdin, as the shim sent them.
async fn pump_pipes<C>(conn: C, fds: Vec<OwnedFd>, framing: Framing) -> Box<dyn AsyncWrite + Unpin + Send>
where
    C: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut fds = fds.into_iter();
    let (stdout, stderr, stdin) = (fds.next(), fds.next(), fds.next());
    let (mut conn_r, conn_w) = tokio::io::split(conn);
    let conn_w = Arc::new(tokio::sync::Mutex::new(conn_w));
    // A client that went away ends both forwarders: the exec's output is then the
    // shim's to drain (the owner connection closes after this), never a full pipe.
    let client_gone = Arc::new(tokio::sync::Notify::new());
    let forward = |mut from: Box<dyn AsyncRead + Unpin + Send>, stream: api::stream::StreamType| {
        let (w, gone) = (conn_w.clone(), client_gone.clone());
        async move {
            let mut buf = vec![0u8; 32 * 1024];
            while let Ok(n) = from.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                if w.lock().await.write_all(&framing.frame(stream, &buf[..n])).await.is_err() {
                    gone.notify_one();
                    break;
                }
            }
        }
    };
    let receiver = |fd: OwnedFd| tokio::net::unix::pipe::Receiver::from_owned_fd(fd).ok();
    let out = stdout.and_then(receiver).map(|o| forward(Box::new(o), api::stream::StreamType::Stdout));
    let err = stderr.and_then(receiver).map(|o| forward(Box::new(o), api::stream::StreamType::Stderr));
    if let Some(mut stdin) = stdin.and_then(|fd| tokio::net::unix::pipe::Sender::from_owned_fd(fd).ok()) {
        tokio::spawn(async move {
            let _ = tokio::io::copy(&mut conn_r, &mut stdin).await;
            let _ = stdin.shutdown().await;
        });
    }
    tokio::select! {
        _ = async { tokio::join!(async { if let Some(o) = out { o.await } }, async { if let Some(e) = err { e.await } }) } => {}
        _ = client_gone.notified() => {}
    }
    // Both forwarders are done (or dropped): the write half is ours alone again.
    match Arc::try_unwrap(conn_w) {
        Ok(w) => Box::new(w.into_inner()),
        Err(_) => Box::new(tokio::io::sink()),
    }
}

/// With a terminal: raw bytes both ways, the detach keys watched on the input.
async fn pump_tty<C>(conn: C, master: OwnedFd, framing: Framing, stdin: bool, detach_keys: &str) -> Box<dyn AsyncWrite + Unpin + Send>
where
    C: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let keys = if detach_keys.is_empty() {
        super::attach::DEFAULT_DETACH_KEYS.to_vec()
    } else {
        super::attach::parse_detach_keys(detach_keys).unwrap_or_else(|_| super::attach::DEFAULT_DETACH_KEYS.to_vec())
    };
    // The runtime may hand the master over non-blocking; these reads and writes block
    // (on tokio's blocking threads).
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let fd = master.as_raw_fd();
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    let Ok(reader) = master.try_clone() else { return Box::new(tokio::io::sink()) };
    let (mut conn_r, mut conn_w) = tokio::io::split(conn);
    let mut pty_r = tokio::fs::File::from_std(std::fs::File::from(reader));
    let mut pty_w = tokio::fs::File::from_std(std::fs::File::from(master));
    let output = async {
        let mut buf = vec![0u8; 32 * 1024];
        // EIO once every holder of the terminal's slave side is gone: the process ended.
        loop {
            let r = pty_r.read(&mut buf).await;
            let Ok(n) = r else { break };
            if n == 0 || conn_w.write_all(&framing.frame(api::stream::StreamType::Stdout, &buf[..n])).await.is_err() {
                break;
            }
        }
    };
    let input = async {
        let mut scanner = super::attach::DetachScanner::new(keys);
        let mut buf = vec![0u8; 4096];
        loop {
            match conn_r.read(&mut buf).await {
                Ok(n) if n > 0 && stdin => {
                    let (pass, detached) = scanner.scan(&buf[..n]);
                    if pty_w.write_all(&pass).await.is_err() || pty_w.flush().await.is_err() || detached {
                        return;
                    }
                }
                Ok(n) if n > 0 => {}
                _ => std::future::pending::<()>().await,
            }
        }
    };
    let detached = tokio::select! {
        _ = output => false,
        _ = input => true,
    };
    // A client that detached goes now; the process runs on without it.
    if detached {
        let _ = conn_w.shutdown().await;
    }
    Box::new(conn_w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_that_cannot_run_get_dockers_codes() {
        assert_eq!(failed_exit_code(shim::FailureCode::NotFound), 127);
        assert_eq!(failed_exit_code(shim::FailureCode::PermissionDenied), 126);
        assert_eq!(failed_exit_code(shim::FailureCode::Other), 126);
    }
}
