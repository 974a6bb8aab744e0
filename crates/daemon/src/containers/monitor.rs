//! Watching running containers: one task per container waits on its shim for the
//! exit, then records it, releases what the run held (shim, runtime state, rootfs
//! mount) and applies `--rm` and the restart policy with Docker's back-off. And live
//! restore: at daemon start, containers that were running are found again through
//! their shims, and whatever a crash left half-done is finished.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use shim::ExitStatus;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::record::{Record, Status};
use super::{Container, health, ops};
use crate::server::Daemon;

/// Docker's restart back-off: 100 ms, doubled after each quick exit, at most a minute,
/// back to the start once a run lasted 10 s.
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
const BACKOFF_RESET_AFTER: Duration = Duration::from_secs(10);

/// Starts the task that waits for `c`'s exit.
pub fn watch(d: Arc<Daemon>, c: Arc<Container>) {
    tokio::spawn(async move {
        let shim_dir = d.containers.paths.shim(&c.id);
        let pid = c.record().state.pid;
        let status = wait_exit(&shim_dir, pid, &c.id).await;
        handle_exit(&d, &c, status).await;
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

/// Tells a shim to leave (once its container exited); a shim that does not answer
/// is ended by its pid.
pub fn stop_shim(shim_dir: &Path) {
    // A shim that accepts but never answers must not hold the clean-up: a few seconds,
    // then it is ended by its pid.
    let asked = shim::client::Control::connect_with_timeout(shim_dir, Duration::from_secs(5))
        .and_then(|mut c| c.request::<shim::OkReply>(&shim::ControlRequest::Shutdown))
        .is_ok();
    if !asked
        && let Ok(text) = std::fs::read_to_string(shim_dir.join(shim::PID_FILE))
        && let Ok(pid) = text.trim().parse::<i32>()
        && pid > 1
        && is_shim(pid)
    {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// Guards against a recycled pid: only a process running berth-shim is ended.
fn is_shim(pid: i32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            c.split(|b| *b == 0)
                .next()
                .is_some_and(|a| a.ends_with(b"berth-shim"))
        })
        .unwrap_or(false)
}

/// Records the exit (waiters answer at once), then releases the run's resources;
/// then `--rm` or the restart policy.
pub async fn handle_exit(d: &Arc<Daemon>, c: &Arc<Container>, status: ExitStatus) {
    let finished = api::time::parse_rfc3339(&status.finished_at).unwrap_or_else(Utc::now);
    // Started again if and when the container is.
    health::stop(c);
    // An `--rm` container goes straight to `removing`: one record write fewer on the
    // path of every `run --rm`, and a crash before its removal is finished at restart.
    let restarting_by_hand = c.restarting_by_hand.load(std::sync::atomic::Ordering::SeqCst);
    let mut auto_removing = false;
    let r = c.update(&d.containers.paths, |r| {
        health::mark_unmonitored(r);
        if r.state.status != Status::Removing {
            auto_removing = r.host_config.auto_remove && !restarting_by_hand;
            r.state.status = if auto_removing { Status::Removing } else { Status::Exited };
        }
        r.state.pid = 0;
        r.state.exit_code = status.exit_code as i64;
        r.state.oom_killed = status.oom_killed;
        r.state.finished_at = Some(finished);
    });
    if let Ok(r) = &r {
        let mut attrs = super::view::event_attributes(r);
        if status.oom_killed {
            d.events.publish("container", "oom", &c.id, attrs.clone());
        }
        attrs.insert("exitCode".into(), status.exit_code.to_string());
        d.events.publish("container", "die", &c.id, attrs);
    }
    c.notify(|ch| ch.exits += 1);
    if auto_removing && let Ok(r) = &r {
        // Gone for clients at once (the name is free, `run --rm` returns); what the
        // container held is freed right after. A crash before that ends leaves its
        // `removing` record, which the next start finishes.
        let releasing = d.containers.begin_release();
        ops::gone(d, c, r);
        let (d2, id, runtime) = (d.clone(), c.id.clone(), r.host_config.runtime.clone());
        let released = tokio::task::spawn_blocking(move || ops::release_run(&d2, &id, &runtime)).await;
        c.notify(|ch| ch.cleanups += 1);
        if let Ok(Err(e)) = released {
            eprintln!("berthd: removing --rm container {}: {}; the next start retries", c.id, e.message);
        }
        drop(releasing);
        return;
    }
    let (d2, rec) = (d.clone(), c.record());
    let _ = tokio::task::spawn_blocking(move || ops::end_run(&d2, &rec.id, &rec.host_config.runtime))
    .await;
    c.notify(|ch| ch.cleanups += 1);
    if r.is_ok() {
        after_exit(d, c);
    }
}

/// A restart policy that says so schedules a restart (`--rm` containers were sent to
/// their removal already, but when a `restart` stopped them).
fn after_exit(d: &Arc<Daemon>, c: &Arc<Container>) {
    // Decided on the current state: a removal or a stop may have come during the clean-up.
    let r = &c.record();
    if r.state.status != Status::Exited || r.host_config.auto_remove {
        return;
    }
    if !should_restart(r) {
        return;
    }
    let ran = match (r.state.started_at, r.state.finished_at) {
        (Some(s), Some(f)) => (f - s).to_std().unwrap_or_default(),
        _ => Duration::ZERO,
    };
    let delay = {
        let mut b = c.backoff.lock().expect("backoff lock");
        *b = if ran >= BACKOFF_RESET_AFTER || b.is_zero() {
            BACKOFF_START
        } else {
            (*b * 2).min(BACKOFF_MAX)
        };
        *b
    };
    let mut restarting = false;
    let _ = c.update(&d.containers.paths, |r| {
        if r.state.status == Status::Exited && should_restart(r) {
            r.state.status = Status::Restarting;
            restarting = true;
        }
    });
    if !restarting {
        return;
    }
    let (d, c) = (d.clone(), c.clone());
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let _op = c.op.lock().await;
        // A stop or a removal in the meantime cancels the restart.
        if c.status() != Status::Restarting {
            return;
        }
        let _ = c.update(&d.containers.paths, |r| r.state.restart_count += 1);
        if ops::start_locked(&d, &c).await.is_err() {
            let _ = c.update(&d.containers.paths, |r| r.state.status = Status::Exited);
        }
    });
}

/// Docker's rule: `always` and `unless-stopped` unless stopped by hand; `on-failure`
/// after a non-zero exit while retries remain.
pub fn should_restart(r: &Record) -> bool {
    let p = &r.host_config.restart_policy;
    match p.name.as_str() {
        "always" | "unless-stopped" => !r.state.manually_stopped,
        "on-failure" => {
            r.state.exit_code != 0
                && !r.state.manually_stopped
                && (p.maximum_retry_count == 0 || r.state.restart_count < p.maximum_retry_count)
        }
        _ => false,
    }
}

/// Live restore, run once at daemon start: reconnects to running containers, records
/// the exits that happened while berthd was away, finishes interrupted removals and
/// creates, and restarts containers whose policy says so.
pub async fn restore(d: &Arc<Daemon>, broken: Vec<String>) {
    let paths = d.containers.paths.clone();
    // Leftovers of a create that crashed before its record was written.
    for id in broken {
        let d2 = d.clone();
        let _ = tokio::task::spawn_blocking(move || ops::release(&d2, &id)).await;
    }
    // Writable layers of containers that no longer exist (a removal whose index update a
    // power loss undid): keyed by a container id that no record has.
    let d2 = d.clone();
    let _ = tokio::task::spawn_blocking(move || {
        let snapshots = d2.images.snapshots();
        for info in snapshots.list().unwrap_or_default() {
            let container_key = info.key.len() == 64 && info.key.bytes().all(|b| b.is_ascii_hexdigit());
            if info.kind == image::snapshot::Kind::Active && container_key && d2.containers.get(&info.key).is_err() {
                let _ = snapshots.remove(&info.key);
            }
        }
    })
    .await;
    for c in d.containers.all() {
        let r = c.record();
        match r.state.status {
            Status::Removing => {
                let (d2, id) = (d.clone(), c.id.clone());
                if matches!(
                    tokio::task::spawn_blocking(move || ops::release(&d2, &id)).await,
                    Ok(Ok(()))
                ) {
                    d.containers.forget(&c);
                }
            }
            Status::Running | Status::Paused | Status::Restarting => {
                let shim_dir = paths.shim(&c.id);
                let state = tokio::task::spawn_blocking(move || {
                    shim::client::Control::connect(&shim_dir)
                        .and_then(|mut s| s.request::<shim::StateReply>(&shim::ControlRequest::State))
                        .ok()
                })
                .await
                .ok()
                .flatten();
                if r.state.status == Status::Restarting {
                    // The restart was pending when berthd went away: apply the policy now.
                    if let Some(st) = state.filter(|s| s.status != shim::Status::Exited) {
                        // It had been started again already: running, under its new pid.
                        let _ = c.update(&paths, |r| {
                            r.state.status = Status::Running;
                            r.state.pid = st.pid;
                        });
                        health::watch(d, &c);
                        watch(d.clone(), c.clone());
                    } else {
                        let _ = c.update(&paths, |r| r.state.status = Status::Exited);
                        if should_restart(&c.record()) {
                            let _ = ops::start(d, &c).await;
                        }
                    }
                    continue;
                }
                // Health monitoring resumes where it was (a paused container has none),
                // before the watcher: an exit it finds at once then stops the monitor.
                if r.state.status == Status::Running {
                    health::watch(d, &c);
                }
                // Connected or not, the watcher finds the exit (shim, exit record, or the
                // init's disappearance) and handles it.
                watch(d.clone(), c.clone());
            }
            Status::Created | Status::Exited | Status::Dead => {
                let rootfs = [paths.rootfs(&c.id), paths.legacy_rootfs(&c.id)];
                let _ = tokio::task::spawn_blocking(move || rootfs.iter().for_each(|p| ops::unmount_all(p))).await;
                if r.state.status == Status::Exited && r.host_config.auto_remove {
                    // Exited while berthd was away (or berthd died removing it).
                    let _ = ops::remove(d, &c, true).await;
                    continue;
                }
                // Docker's rule at daemon start: `always` even after a manual stop.
                let always = r.host_config.restart_policy.name == "always";
                if r.state.status == Status::Exited && (always || should_restart(&r)) {
                    let _ = ops::start(d, &c).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::containers::{ContainerConfig, HostConfig, RestartPolicy};

    fn record(policy: &str, max: i64, exit: i64, manual: bool, count: i64) -> Record {
        let mut r = Record {
            id: "x".into(),
            name: "x".into(),
            created: Utc::now(),
            image_id: String::new(),
            image_name: String::new(),
            path: "true".into(),
            args: vec![],
            config: ContainerConfig::default(),
            host_config: HostConfig::default(),
            state: Default::default(),
        };
        r.host_config.restart_policy = RestartPolicy {
            name: policy.into(),
            maximum_retry_count: max,
        };
        r.state.exit_code = exit;
        r.state.manually_stopped = manual;
        r.state.restart_count = count;
        r
    }

    #[test]
    fn restart_policies_decide_as_docker() {
        assert!(!should_restart(&record("no", 0, 1, false, 0)));
        assert!(!should_restart(&record("", 0, 1, false, 0)));
        assert!(should_restart(&record("always", 0, 0, false, 5)));
        assert!(!should_restart(&record("always", 0, 0, true, 0)));
        assert!(!should_restart(&record("unless-stopped", 0, 1, true, 0)));
        assert!(should_restart(&record("on-failure", 0, 1, false, 9)));
        assert!(!should_restart(&record("on-failure", 0, 0, false, 0)));
        assert!(should_restart(&record("on-failure", 2, 1, false, 1)));
        assert!(!should_restart(&record("on-failure", 2, 1, false, 2)));
    }
}
