//! berthd dies (as a `kill -9` would) at named points of an operation, and the next
//! berthd repairs what it finds: nothing lost, nothing left behind.

use std::time::{Duration, Instant};

use berth_tests::daemon::Daemon;

fn crashing_at(point: &str) -> Option<Daemon> {
    berth_tests::require_root!(None);
    let d = Daemon::start_with_env(&[], &[("BERTH_CRASH_AT", point)]);
    d.load_busybox();
    if d.docker(&["version"]).is_none() {
        berth_tests::skip("no docker CLI");
        return None;
    }
    Some(d)
}

fn docker(d: &Daemon, args: &[&str]) -> (bool, String) {
    let out = d.docker(args).expect("docker CLI");
    let text = if out.status.success() { out.stdout } else { out.stderr };
    (out.status.success(), String::from_utf8_lossy(&text).trim().to_string())
}

/// Waits (10 s at most) until `done` holds; `what` says what never happened.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('Z')))
        .unwrap_or(true)
}

fn alive(pid: i32) -> bool {
    pid > 0 && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

#[test]
fn a_start_handed_to_its_shim_before_the_crash_is_adopted_running() {
    let Some(mut d) = crashing_at("start:launched") else { return };
    assert!(docker(&d, &["create", "--name", "adopted", "busybox", "sleep", "1000"]).0);
    let (started, out) = docker(&d, &["start", "adopted"]);
    assert!(!started, "berthd should have died mid-start: {out}");
    d.wait_crash_and_restart();
    let (_, state) = docker(&d, &["inspect", "-f", "{{.State.Status}} {{.State.Pid}}", "adopted"]);
    let (status, pid) = state.split_once(' ').unwrap();
    assert_eq!(status, "running", "{}", d.log());
    let pid: i32 = pid.parse().unwrap();
    assert!(alive(pid), "the adopted pid {pid} is not the container's");
    // Managed as any other: it stops, and its exit is recorded.
    assert!(docker(&d, &["stop", "-t", "1", "adopted"]).0);
    assert!(!alive(pid));
    assert_eq!(docker(&d, &["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "adopted"]).1, "exited 137");
    assert!(docker(&d, &["rm", "adopted"]).0);
}

#[test]
fn a_removal_cut_by_the_crash_is_finished_at_the_next_start() {
    let Some(mut d) = crashing_at("remove:marked") else { return };
    let (ok, id) = docker(&d, &["run", "-d", "--name", "removed", "busybox", "sleep", "1000"]);
    assert!(ok, "{id}");
    let pid: i32 = docker(&d, &["inspect", "-f", "{{.State.Pid}}", "removed"]).1.parse().unwrap();
    assert!(!docker(&d, &["rm", "-f", "removed"]).0);
    d.wait_crash_and_restart();
    let (found, out) = docker(&d, &["inspect", "removed"]);
    assert!(!found && out.contains("No such"), "{out}");
    eventually("the removed container's process lives on", || !alive(pid));
    // Its directories and name are free: the name is taken again at once.
    assert!(!d.dir.path().join("data/containers").join(&id).exists());
    assert!(docker(&d, &["run", "--rm", "--name", "removed", "busybox", "true"]).0);
}

#[test]
fn a_create_cut_after_its_snapshot_leaves_nothing_and_frees_the_name() {
    let Some(mut d) = crashing_at("create:snapshot") else { return };
    assert!(!docker(&d, &["create", "--name", "halfmade", "busybox", "true"]).0);
    d.wait_crash_and_restart();
    assert_eq!(docker(&d, &["ps", "-aq"]).1, "");
    // Neither its directory nor its writable layer is left.
    let dirs: Vec<_> = std::fs::read_dir(d.dir.path().join("data/containers")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(dirs.is_empty(), "{dirs:?}");
    let (ok, id) = docker(&d, &["create", "--name", "halfmade", "busybox", "true"]);
    assert!(ok, "{id}");
    assert!(docker(&d, &["rm", "halfmade"]).0);
}

#[test]
fn a_stop_cut_after_its_signal_is_recorded_at_the_next_start() {
    let Some(mut d) = crashing_at("stop:signalled") else { return };
    assert!(docker(&d, &["run", "-d", "--name", "stopping", "busybox", "sh", "-c", "trap 'exit 9' TERM; while :; do sleep 0.1; done"]).0);
    let pid: i32 = docker(&d, &["inspect", "-f", "{{.State.Pid}}", "stopping"]).1.parse().unwrap();
    assert!(!docker(&d, &["stop", "stopping"]).0);
    d.wait_crash_and_restart();
    eventually("the stop's exit (9) was not recorded", || {
        docker(&d, &["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "stopping"]).1 == "exited 9"
    });
    assert!(!alive(pid));
    assert!(docker(&d, &["rm", "stopping"]).0);
}

#[test]
fn a_restart_cut_between_its_stop_and_start_leaves_a_startable_container() {
    let Some(mut d) = crashing_at("restart:stopped") else { return };
    let (ok, id) = docker(&d, &["run", "-d", "--name", "restarting", "busybox", "sleep", "1000"]);
    assert!(ok, "{id}");
    let shim: i32 = std::fs::read_to_string(d.dir.path().join("exec/s").join(&id[..12]).join("shim.pid")).unwrap().trim().parse().unwrap();
    assert!(!docker(&d, &["restart", "-t", "1", "restarting"]).0);
    d.wait_crash_and_restart();
    // The first run's shim, left lingering by the crash, is gone once berthd is back.
    eventually(&format!("the first run's shim {shim} lingers on"), || !alive(shim) || is_zombie(shim));
    eventually("the stopped container was not recorded exited", || {
        docker(&d, &["inspect", "-f", "{{.State.Status}}", "restarting"]).1 == "exited"
    });
    assert!(docker(&d, &["start", "restarting"]).0);
    assert_eq!(docker(&d, &["inspect", "-f", "{{.State.Status}}", "restarting"]).1, "running");
    assert!(docker(&d, &["rm", "-f", "restarting"]).0);
}

#[test]
fn a_container_whose_shim_died_is_still_stopped_and_removed() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    let (ok, id) = docker(&d, &["run", "-d", "--name", "orphaned", "busybox", "sleep", "1000"]);
    assert!(ok, "{id}");
    let pid: i32 = docker(&d, &["inspect", "-f", "{{.State.Pid}}", "orphaned"]).1.parse().unwrap();
    let shim: i32 = std::fs::read_to_string(d.dir.path().join("exec/s").join(&id[..12]).join("shim.pid")).unwrap().trim().parse().unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(shim), nix::sys::signal::Signal::SIGKILL).unwrap();
    // Nobody answers on the shim's socket now: berthd drives the runtime itself.
    assert!(docker(&d, &["rm", "-f", "orphaned"]).0);
    eventually("the container's process outlived its removal", || !alive(pid));
}
