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
use super::lifecycle::{self, AfterExit, RestartPolicy};
use super::{Container, health, ops};
use super::Containers;

/// Starts the task that waits for `c`'s exit.
pub fn watch(d: Arc<Containers>, c: Arc<Container>) {
    tokio::spawn(async move {
        let shim_dir = d.paths.shim(&c.id);
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

/// Tells a shim to leave (once its container exited): it removes its container's
/// runtime state first. Returns whether it did; a shim that does not answer is ended
/// by its pid (and its container's state is then the caller's to remove).
pub fn stop_shim(shim_dir: &Path) -> bool {
    // A shim that accepts but never answers must not hold the clean-up: a few seconds,
    // then it is ended by its pid.
    let asked = shim::client::Control::connect_with_timeout(shim_dir, Duration::from_secs(5))
        .and_then(|mut c| {
            c.request::<shim::OkReply>(&shim::ControlRequest::Delete)?;
            c.request::<shim::OkReply>(&shim::ControlRequest::Shutdown)
        })
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
    asked
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
pub async fn handle_exit(d: &Arc<Containers>, c: &Arc<Container>, status: ExitStatus) {
    let finished = api::time::parse_rfc3339(&status.finished_at).unwrap_or_else(Utc::now);
    // Started again if and when the container is.
    health::stop(c);
    // An `--rm` container goes straight to `removing`: one record write fewer on the
    // path of every `run --rm`, and a crash before its removal is finished at restart.
    let restarting_by_hand = c.restarting_by_hand();
    let exit = lifecycle::Exit { exit_code: status.exit_code as i64, oom_killed: status.oom_killed, finished_at: finished };
    let mut after = AfterExit::Exited;
    let r = c.update(&d.paths, |r| {
        health::mark_unmonitored(r);
        after = lifecycle::on_exit(&mut r.state, r.host_config.auto_remove, restarting_by_hand, exit);
    });
    let auto_removing = after == AfterExit::Remove;
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
        let releasing = d.begin_release();
        ops::gone(d, c, r);
        let (d2, id, runtime) = (d.clone(), c.id.clone(), r.host_config.runtime.clone());
        let released = tokio::task::spawn_blocking(move || ops::release_run(&d2, &id, &runtime)).await;
        c.notify(|ch| ch.cleanups += 1);
        if let Ok(Err(e)) = released {
            tracing::warn!(container = %c.id, "removing an --rm container: {}; the next start retries", e.message);
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
fn after_exit(d: &Arc<Containers>, c: &Arc<Container>) {
    // Decided on the current state: a removal or a stop may have come during the clean-up.
    // A daemon going down without live restore stops containers; none comes back.
    if d.shutting_down.load(std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    // Asked of the record first: most exits restart nothing, and need no write.
    let r = c.record();
    if !lifecycle::restart_due(&mut r.state.clone(), r.host_config.auto_remove, RestartPolicy::of(&r.host_config.restart_policy)) {
        return;
    }
    let mut restarting = false;
    let mut ran = Duration::ZERO;
    let _ = c.update(&d.paths, |r| {
        ran = lifecycle::ran_for(&r.state);
        let policy = RestartPolicy::of(&r.host_config.restart_policy);
        restarting = lifecycle::restart_due(&mut r.state, r.host_config.auto_remove, policy);
    });
    if !restarting {
        return;
    }
    let delay = c.next_backoff(ran);
    let (d, c) = (d.clone(), c.clone());
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let _op = c.operation().await;
        // A stop or a removal in the meantime cancels the restart.
        if c.status() != Status::Restarting {
            return;
        }
        let _ = c.update(&d.paths, |r| r.state.restart_count += 1);
        if ops::start_locked(&d, &c).await.is_err() {
            let _ = c.update(&d.paths, |r| r.state.status = Status::Exited);
        }
    });
}

/// Whether the record's restart policy brings it back after its last exit.
pub fn should_restart(r: &Record) -> bool {
    RestartPolicy::of(&r.host_config.restart_policy).restarts(&r.state)
}

/// Without live restore, berthd's clean shutdown stops its containers, as dockerd's
/// does: each with its stop signal and timeout, all at once. A container stopped so
/// is not stopped by hand: its restart policy brings it back at the next start.
pub async fn shutdown(d: &Arc<Containers>) {
    d.shutting_down.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut stops = tokio::task::JoinSet::new();
    for c in d.all() {
        if !matches!(c.status(), Status::Running | Status::Paused | Status::Restarting) {
            continue;
        }
        let d = d.clone();
        stops.spawn(async move {
            tracing::debug!(container = %c.id, "stop at shutdown");
            match ops::stop(&d, &c, None, None).await {
                Ok(()) => {
                    let _ = c.update(&d.paths, |r| r.state.manually_stopped = false);
                }
                Err(e) => tracing::warn!(container = %c.id, "stop at shutdown: {}", e.message),
            }
        });
    }
    while stops.join_next().await.is_some() {}
}

/// What the container's shim says of it, if a shim answers in `shim_dir`.
async fn shim_state(shim_dir: std::path::PathBuf) -> Option<shim::StateReply> {
    tokio::task::spawn_blocking(move || {
        shim::client::Control::connect(&shim_dir)
            .and_then(|mut s| s.request::<shim::StateReply>(&shim::ControlRequest::State))
            .ok()
    })
    .await
    .ok()
    .flatten()
}

/// Live restore, run once at daemon start: reconnects to running containers, records
/// the exits that happened while berthd was away, finishes interrupted removals and
/// creates, and restarts containers whose policy says so.
pub async fn restore(d: &Arc<Containers>, broken: Vec<String>) {
    let paths = d.paths.clone();
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
            if info.kind == image::snapshot::Kind::Active && container_key && d2.get(&info.key).is_err() {
                let _ = snapshots.remove(&info.key);
            }
        }
    })
    .await;
    for c in d.all() {
        let r = c.record();
        match r.state.status {
            Status::Removing => {
                let (d2, id) = (d.clone(), c.id.clone());
                if matches!(
                    tokio::task::spawn_blocking(move || ops::release(&d2, &id)).await,
                    Ok(Ok(()))
                ) {
                    d.forget(&c);
                }
            }
            Status::Running | Status::Paused | Status::Restarting => {
                let state = shim_state(paths.shim(&c.id)).await;
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
                // Execs started before berthd went away are known again.
                let (d2, c2) = (d.clone(), c.clone());
                let _ = tokio::task::spawn_blocking(move || super::exec::restore(&d2, &c2)).await;
                // Connected or not, the watcher finds the exit (shim, exit record, or the
                // init's disappearance) and handles it.
                watch(d.clone(), c.clone());
            }
            Status::Created | Status::Exited | Status::Dead => {
                // A start handed to its shim just before berthd went away: the shim
                // runs the container (or ran it) while the record still says created.
                // The shim's word is the truth; the watcher then finds any exit.
                // (A stat first: a daemon start with thousands of created containers
                // must not pay a blocking task each.)
                if r.state.status == Status::Created
                    && paths.shim(&c.id).join(shim::CONTROL_SOCKET).exists()
                    && let Some(st) = shim_state(paths.shim(&c.id)).await
                {
                    tracing::info!(container = %c.id, pid = st.pid, "adopting a container its shim started while berthd was away");
                    let _ = c.update(&paths, |r| {
                        lifecycle::on_started(&mut r.state, st.pid, Utc::now());
                        health::reset_for_start(r);
                    });
                    health::watch(d, &c);
                    watch(d.clone(), c.clone());
                    continue;
                }
                // A run whose end berthd did not see through (it died between the exit
                // and the clean-up) left its shim lingering: it goes now, with what the
                // run held.
                let shim_dir = paths.shim(&c.id);
                let lingering = shim_dir.join(shim::CONTROL_SOCKET).exists();
                let rootfs = [paths.rootfs(&c.id), paths.legacy_rootfs(&c.id)];
                let (d2, id, runtime) = (d.clone(), c.id.clone(), r.host_config.runtime.clone());
                let _ = tokio::task::spawn_blocking(move || {
                    if lingering {
                        ops::end_run(&d2, &id, &runtime);
                    }
                    rootfs.iter().for_each(|p| ops::unmount_all(p))
                })
                .await;
                if r.state.status == Status::Exited && r.host_config.auto_remove {
                    // Exited while berthd was away (or berthd died removing it).
                    let _ = ops::remove(d, &c, true).await;
                    continue;
                }
                let policy = RestartPolicy::of(&r.host_config.restart_policy);
                if r.state.status == Status::Exited && policy.restarts_at_daemon_start(&r.state) {
                    let _ = ops::start(d, &c).await;
                }
            }
        }
    }
}
