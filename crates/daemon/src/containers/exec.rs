//! `docker exec`: a process started in a running container through the container's
//! runtime (`berth-runtime exec`, or runc/crun's), with the container's process
//! settings (user, env, cwd, capabilities, no_new_privs, seccomp) under the exec's
//! own command, user, env and working directory. Its stdio is piped (or a pty from the
//! runtime's console socket) and joined to the client's hijacked connection; its exit
//! code is kept for `GET /exec/{id}/json`.
//!
//! The exec's process is a child of berthd: unlike the container, it does not survive
//! a daemon restart.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use api::exec::{ExecCreateBody, ExecInspect, ExecProcessConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{Container, engine, names, user};
use crate::error::{Error, Result};
use crate::server::Daemon;

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
    map: Mutex<HashMap<String, Arc<Exec>>>,
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

    /// Forgets an exec nobody will inspect (a health probe's, once its result is kept).
    pub fn remove(&self, id: &str) {
        self.map.lock().expect("execs lock").remove(id);
    }

    /// The execs of a container (inspect's `ExecIDs`), running ones.
    pub fn of(&self, container: &str) -> Vec<String> {
        self.map
            .lock()
            .expect("execs lock")
            .values()
            .filter(|e| e.container.id == container && e.state.lock().expect("exec lock").running)
            .map(|e| e.id.clone())
            .collect()
    }
}

/// `POST /containers/{id}/exec`.
pub fn create(d: &Daemon, c: &Arc<Container>, body: ExecCreateBody) -> Result<String> {
    super::lifecycle::admit(super::lifecycle::Command::Exec, super::lifecycle::Subject::of(&c.record()))?;
    if body.cmd.as_ref().is_none_or(|c| c.is_empty()) {
        return Err(Error::invalid("No exec command specified"));
    }
    let id = names::new_id();
    let exec = Exec { id: id.clone(), container: c.clone(), config: body, state: Mutex::default(), tty: Mutex::default() };
    let action = format!("exec_create: {}", exec_command(&exec));
    d.containers.execs.map.lock().expect("execs lock").insert(id.clone(), Arc::new(exec));
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
pub fn process_spec(d: &Daemon, e: &Exec) -> Result<serde_json::Value> {
    let paths = &d.containers.paths;
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

/// The runtime's command line for an exec of `process.json`.
fn runtime_command(d: &Daemon, c: &Container, process: &std::path::Path) -> tokio::process::Command {
    let r = c.record();
    let eng = d.containers.paths.engine(&r, &d.config);
    let (path, args) = match &eng {
        engine::Engine::Berth(_) => {
            let rt = d.config.runtimes.get(engine::BERTH).map(|r| r.path.clone()).unwrap_or_else(|| "berth-runtime".into());
            (rt, Vec::new())
        }
        engine::Engine::Binary { path, args, .. } => (path.clone(), args.clone()),
    };
    let mut cmd = tokio::process::Command::new(path);
    cmd.args(args).arg("--root").arg(eng.root()).arg("exec").arg("--process").arg(process);
    cmd
}

/// Where a failed start of the exec's process says why: Docker's codes for a command
/// that cannot run.
fn failed_exit_code(log: &str) -> Option<i64> {
    if log.contains("executable file not found") || log.contains("no such file or directory") {
        Some(127)
    } else if log.contains("permission denied") {
        Some(126)
    } else {
        None
    }
}

/// `POST /exec/{id}/start`: runs the process; with a connection, joins its stdio to
/// it until the process ends (or the client detaches on a terminal).
pub async fn start<C>(d: Arc<Daemon>, e: Arc<Exec>, conn: Option<C>) -> Result<()>
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
    if !c.status().is_live() {
        return Err(Error::conflict(format!("Container {} is not running", c.id)));
    }
    let process = match process_spec(&d, &e) {
        Ok(p) => p,
        // As Docker: the exec fails with status 126 and says why on its stream.
        Err(err) => {
            // Recorded before the stream ends: the client inspects the exec right then.
            e.state.lock().expect("exec lock").exit_code = Some(126);
            let msg = format!("OCI runtime exec failed: exec failed: {}: unknown\n", err.message);
            if let Some(mut conn) = conn {
                let bytes = if e.config.tty {
                    msg.into_bytes()
                } else {
                    api::stream::encode_frame(api::stream::StreamType::Stderr, msg.as_bytes())
                };
                let _ = conn.write_all(&bytes).await;
                let _ = conn.shutdown().await;
            }
            return Ok(());
        }
    };
    let dir = d.containers.paths.shim(&c.id);
    let short = &e.id[..12];
    let process_file = dir.join(format!("exec-{short}.json"));
    let log_file = dir.join(format!("exec-{short}.log"));
    let pid_file = pid_file(&d, &e);
    let failed = |msg: String| {
        // Recorded before the client's stream is dropped: it inspects the exec then.
        e.state.lock().expect("exec lock").exit_code = Some(126);
        Error::internal(msg)
    };
    std::fs::write(&process_file, process.to_string()).map_err(|err| failed(format!("write the exec's process: {err}")))?;
    let mut cmd = runtime_command(&d, &c, &process_file);
    cmd.arg("--log").arg(&log_file).arg("--log-format").arg("json");
    cmd.arg("--pid-file").arg(&pid_file);
    let tty = e.config.tty;
    let console = if tty {
        let sock = dir.join(format!("exec-{short}.sock"));
        let _ = std::fs::remove_file(&sock);
        let l = tokio::net::UnixListener::bind(&sock).map_err(|err| failed(format!("console socket: {err}")))?;
        cmd.arg("--console-socket").arg(&sock);
        Some((l, sock))
    } else {
        None
    };
    cmd.arg(&c.id);
    let attached = conn.is_some();
    cmd.stdin(if attached && e.config.attach_stdin && !tty { Stdio::piped() } else { Stdio::null() });
    cmd.stdout(if attached && !tty { Stdio::piped() } else { Stdio::null() });
    cmd.stderr(if attached && !tty { Stdio::piped() } else { Stdio::null() });
    let mut attrs = super::view::event_attributes(&c.record());
    attrs.insert("execID".into(), e.id.clone());
    d.events.publish("container", &format!("exec_start: {}", exec_command(&e)), &c.id, attrs);
    let mut child = cmd.spawn().map_err(|err| failed(format!("run the runtime: {err}")))?;
    {
        let mut st = e.state.lock().expect("exec lock");
        st.running = true;
        st.pid = child.id().map(|p| p as i32).unwrap_or(0);
    }
    let mut master = None;
    if let Some((listener, sock)) = console {
        let accepted = tokio::select! {
            a = listener.accept() => a.ok(),
            _ = child.wait() => None,
        };
        let _ = std::fs::remove_file(&sock);
        if let Some((stream, _)) = accepted {
            // Blocking again: the runtime may send the master a moment after connecting.
            let stream = stream.into_std().ok().filter(|s| s.set_nonblocking(false).is_ok());
            master = tokio::task::spawn_blocking(move || stream.and_then(|s| runtime::console::recv_fd(s.as_raw_fd()).ok()))
                .await
                .ok()
                .flatten();
        }
        if let Some(m) = &master {
            *e.tty.lock().expect("exec lock") = m.try_clone().ok();
        }
    }
    let e2 = e.clone();
    let d2 = d.clone();
    let run = async move {
        // The client's connection ends only once the exit code is recorded: clients
        // inspect the exec as soon as the stream ends.
        let mut conn_w = None;
        if let Some(conn) = conn {
            conn_w = Some(if let Some(m) = master {
                pump_tty(conn, m, e2.config.attach_stdin, &e2.config.detach_keys).await
            } else {
                pump_pipes(conn, &mut child).await
            });
        }
        let status = child.wait().await.ok();
        let code = status.map_or(255, |s| {
            use std::os::unix::process::ExitStatusExt;
            s.code().map_or_else(|| 128 + s.signal().unwrap_or(0) as i64, |c| c as i64)
        });
        let log = std::fs::read_to_string(&log_file).unwrap_or_default();
        let code = if code != 0 { failed_exit_code(&log).unwrap_or(code) } else { code };
        let _ = std::fs::remove_file(&process_file);
        let _ = std::fs::remove_file(&log_file);
        let _ = std::fs::remove_file(&pid_file);
        {
            let mut st = e2.state.lock().expect("exec lock");
            st.running = false;
            st.exit_code = Some(code);
        }
        *e2.tty.lock().expect("exec lock") = None;
        let mut attrs = super::view::event_attributes(&e2.container.record());
        attrs.insert("execID".into(), e2.id.clone());
        attrs.insert("exitCode".into(), code.to_string());
        d2.events.publish("container", "exec_die", &e2.container.id, attrs);
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

/// Where the runtime writes the host pid of the exec's process.
fn pid_file(d: &Daemon, e: &Exec) -> std::path::PathBuf {
    d.containers.paths.shim(&e.container.id).join(format!("exec-{}.pid", &e.id[..12]))
}

/// Sends `sig` to the exec's process itself (not to the runtime waiting on it, which
/// cannot forward SIGKILL). Only while the runtime still waits on it, so the pid is
/// not yet reaped and cannot have been reused; and only if it is still in the
/// container's cgroup.
pub fn signal(d: &Daemon, e: &Exec, sig: nix::sys::signal::Signal) -> bool {
    if !e.state.lock().expect("exec lock").running {
        return false;
    }
    let Some(pid) = std::fs::read_to_string(pid_file(d, e)).ok().and_then(|p| p.trim().parse::<i32>().ok()) else {
        return false;
    };
    pid > 1
        && super::monitor::is_container_process(pid, &e.container.id)
        && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).is_ok()
}

/// Without a terminal: stdout and stderr as frames, the client's input to stdin.
async fn pump_pipes<C>(conn: C, child: &mut tokio::process::Child) -> Box<dyn AsyncWrite + Unpin + Send>
where
    C: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut conn_r, conn_w) = tokio::io::split(conn);
    let conn_w = Arc::new(tokio::sync::Mutex::new(conn_w));
    let forward = |mut from: Box<dyn AsyncRead + Unpin + Send>, stream: api::stream::StreamType| {
        let w = conn_w.clone();
        async move {
            let mut buf = vec![0u8; 32 * 1024];
            while let Ok(n) = from.read(&mut buf).await {
                if n == 0 || w.lock().await.write_all(&api::stream::encode_frame(stream, &buf[..n])).await.is_err() {
                    break;
                }
            }
        }
    };
    let out = child.stdout.take().map(|o| forward(Box::new(o), api::stream::StreamType::Stdout));
    let err = child.stderr.take().map(|o| forward(Box::new(o), api::stream::StreamType::Stderr));
    if let Some(mut stdin) = child.stdin.take() {
        tokio::spawn(async move {
            let _ = tokio::io::copy(&mut conn_r, &mut stdin).await;
            let _ = stdin.shutdown().await;
        });
    }
    tokio::join!(async { if let Some(o) = out { o.await } }, async { if let Some(e) = err { e.await } });
    // Both forwarders are done: the write half is ours alone again.
    match Arc::try_unwrap(conn_w) {
        Ok(w) => Box::new(w.into_inner()),
        Err(_) => Box::new(tokio::io::sink()),
    }
}

/// With a terminal: raw bytes both ways, the detach keys watched on the input.
async fn pump_tty<C>(conn: C, master: OwnedFd, stdin: bool, detach_keys: &str) -> Box<dyn AsyncWrite + Unpin + Send>
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
            if n == 0 || conn_w.write_all(&buf[..n]).await.is_err() {
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
        assert_eq!(failed_exit_code(r#"{"msg":"exec: \"nope\": executable file not found in $PATH"}"#), Some(127));
        assert_eq!(failed_exit_code("open /x: permission denied"), Some(126));
        assert_eq!(failed_exit_code(""), None);
    }
}
