//! Waiting for a run's exit: from its shim (`wait` on its control socket), else from
//! the exit record the shim left, else from the init's disappearance. The exit goes to
//! the container's owner as an event.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use shim::ExitStatus;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::Container;
use super::lifecycle::Exit;
use super::machine::Input;

/// Starts the task that waits for the exit of `c`'s run (its init is `pid`, its shim
/// in `shim_dir`) and reports it to `c`'s owner.
pub fn watch(c: Arc<Container>, shim_dir: std::path::PathBuf, pid: i32) {
    tokio::spawn(async move {
        let status = wait_exit(&shim_dir, pid, &c.id).await;
        let finished_at: DateTime<Utc> = api::time::parse_rfc3339(&status.finished_at).unwrap_or_else(Utc::now);
        c.send(Input::Exited(Exit { exit_code: status.exit_code as i64, oom_killed: status.oom_killed, finished_at }));
    });
}

/// The exit status from the shim (`wait` on its control socket); if the shim is gone,
/// from its exit record; if it left none, once the init is gone (status unknown: 255).
async fn wait_exit(shim_dir: &Path, pid: i32, id: &str) -> ExitStatus {
    if let Ok(mut s) = tokio::net::UnixStream::connect(shim_dir.join(shim::CONTROL_SOCKET)).await
        && s.write_all(shim::ControlRequest::Wait.to_line().as_bytes())
            .await
            .is_ok()
    {
        let mut line = String::new();
        if BufReader::new(&mut s).read_line(&mut line).await.is_ok()
            && let Ok(status) = shim::protocol::parse_reply::<ExitStatus>(line.trim_end())
        {
            return status;
        }
    }
    if let Some(status) = exit_record(shim_dir) {
        return status;
    }
    while pid > 0 && is_container_process(pid, id) && !is_zombie(pid) {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    exit_record(shim_dir).unwrap_or(ExitStatus {
        exit_code: 255,
        signal: None,
        oom_killed: false,
        finished_at: api::time::format_rfc3339_nano(Utc::now()),
    })
}

/// Whether `pid` is still the container's process: alive and in a cgroup named after
/// the container (after a reboot the pid may belong to anything).
pub(crate) fn is_container_process(pid: i32, id: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup")).is_ok_and(|c| c.contains(id))
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

fn exit_record(shim_dir: &Path) -> Option<ExitStatus> {
    serde_json::from_slice(&std::fs::read(shim_dir.join(shim::EXIT_FILE)).ok()?).ok()
}

