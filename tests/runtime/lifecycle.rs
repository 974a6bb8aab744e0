//! create/start/state/kill/delete, exit statuses and signals, pause/resume, list, ps.

use std::time::{Duration, Instant};

use berth_tests::require_root;
use berth_tests::runtime::{Runtime, v1_cgroup_dirs};

#[test]
fn foreground_run_prints_and_exits_with_the_container_status() {
    require_root!();
    let rt = Runtime::new();
    let b = rt.bundle(&["sh", "-c", "echo hello from $$; exit 3"], |_| {});
    let r = rt.run_bundle(&b);
    assert_eq!(r.stdout, "hello from 1\n", "stderr: {}", r.stderr);
    assert_eq!(r.code, Some(3));
    // A foreground run leaves nothing behind.
    assert!(rt.run(&["list", "-q"]).stdout.trim().is_empty());
    for d in v1_cgroup_dirs(&b.id) {
        assert!(!d.exists(), "{} left behind", d.display());
    }
}

#[test]
fn create_start_state_kill_delete() {
    require_root!();
    let rt = Runtime::new();
    let b = rt.bundle(&["sleep", "1000"], |_| {});
    let bundle = b.dir.to_str().unwrap();
    rt.create(&b);
    let st = rt.state(&b.id);
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], b.id.as_str());
    assert_eq!(st["bundle"], bundle);
    let pid = st["pid"].as_i64().unwrap();
    assert!(pid > 1);
    // Still the runtime's code, waiting: not yet the user's process.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(!cmdline.starts_with(b"sleep"));

    rt.run(&["start", &b.id]).ok();
    assert_eq!(rt.state(&b.id)["status"], "running");
    assert_eq!(std::fs::read(format!("/proc/{pid}/cmdline")).unwrap(), b"sleep\x001000\x00");
    // Starting twice is refused.
    assert_ne!(rt.run(&["start", &b.id]).code, Some(0));
    // Deleting a running container needs --force.
    let r = rt.run(&["delete", &b.id]);
    assert_ne!(r.code, Some(0));
    assert!(r.stderr.contains("running"), "{}", r.stderr);

    let list = rt.run(&["list"]);
    assert!(list.stdout.starts_with("ID"), "{}", list.stdout);
    assert!(list.stdout.contains(&b.id) && list.stdout.contains("running"));

    rt.run(&["kill", &b.id, "KILL"]).ok();
    wait_for(|| rt.state(&b.id)["status"] == "stopped");
    assert_eq!(rt.state(&b.id)["pid"], 0);
    // kill of a stopped container is an error.
    let r = rt.run(&["kill", &b.id, "TERM"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("stopped"), "{}", r.stderr);
    rt.run(&["delete", &b.id]).ok();
    assert_eq!(rt.run(&["state", &b.id]).code, Some(1));
    for d in v1_cgroup_dirs(&b.id) {
        assert!(!d.exists(), "{} left behind", d.display());
    }
}

#[test]
fn signals_are_forwarded_and_reported_as_128_plus_n() {
    require_root!();
    let rt = Runtime::new();
    // pid 1 of a namespace only gets signals it handles: trap TERM.
    let b = rt.bundle(&["sh", "-c", "trap 'exit 42' TERM; echo ready; while true; do sleep 0.05; done"], |_| {});
    let mut child = rt
        .cmd()
        .args(["run", "--bundle", b.dir.to_str().unwrap(), &b.id])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut buf = [0u8; 6];
    std::io::Read::read_exact(&mut out, &mut buf).unwrap();
    assert_eq!(&buf, b"ready\n");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(42));

    let b = rt.bundle(&["sleep", "1000"], |_| {});
    let mut child = rt.cmd().args(["run", "--bundle", b.dir.to_str().unwrap(), &b.id]).spawn().unwrap();
    wait_for(|| rt.run(&["state", &b.id]).stdout.contains("running"));
    rt.run(&["kill", &b.id, "9"]).ok();
    assert_eq!(child.wait().unwrap().code(), Some(137));
}

#[test]
fn pause_freezes_and_resume_thaws() {
    require_root!();
    let rt = Runtime::new();
    let b = rt.bundle(&["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /dev/shm/count; done"], |_| {});
    rt.run_detached(&b);
    let pid = rt.pid(&b.id);
    let counter = format!("/proc/{pid}/root/dev/shm/count");
    let read = || std::fs::read_to_string(&counter).unwrap_or_default().trim().parse::<u64>().unwrap_or(0);
    wait_for(|| read() > 0);
    rt.run(&["pause", &b.id]).ok();
    assert_eq!(rt.state(&b.id)["status"], "paused");
    assert_eq!(std::fs::read_to_string(format!("/sys/fs/cgroup/freezer/{}/freezer.state", b.id)).unwrap().trim(), "FROZEN");
    let frozen = read();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(read(), frozen, "a paused container kept counting");
    // A paused container cannot be paused again.
    assert_ne!(rt.run(&["pause", &b.id]).code, Some(0));
    rt.run(&["resume", &b.id]).ok();
    assert_eq!(rt.state(&b.id)["status"], "running");
    wait_for(|| read() > frozen);
    rt.run(&["delete", "--force", &b.id]).ok();
}

#[test]
fn ps_lists_the_container_processes() {
    require_root!();
    let rt = Runtime::new();
    let b = rt.bundle(&["sh", "-c", "sleep 1000 & sleep 1001"], |_| {});
    rt.run_detached(&b);
    wait_for(|| {
        let r = rt.run(&["ps", "--format", "json", &b.id]);
        serde_json::from_str::<Vec<i32>>(&r.stdout).map(|p| p.len() >= 2).unwrap_or(false)
    });
    let table = rt.run(&["ps", &b.id]);
    assert!(table.stdout.contains("sleep 1000") && table.stdout.contains("sleep 1001"), "{}", table.stdout);
    // --all reaches every process, not just init.
    rt.run(&["kill", "--all", &b.id, "KILL"]).ok();
    wait_for(|| rt.state(&b.id)["status"] == "stopped");
}

#[test]
fn spec_writes_a_config_that_runs() {
    require_root!();
    let rt = Runtime::new();
    let b = rt.bundle(&["true"], |_| {});
    std::fs::remove_file(b.dir.join("config.json")).unwrap();
    rt.cmd().args(["spec", "--bundle", b.dir.to_str().unwrap()]).output().unwrap();
    let mut spec: serde_json::Value = serde_json::from_slice(&std::fs::read(b.dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(spec["process"]["terminal"], true);
    // A second spec refuses to overwrite.
    assert_ne!(rt.run(&["spec", "--bundle", b.dir.to_str().unwrap()]).code, Some(0));
    spec["process"]["terminal"] = false.into();
    spec["process"]["args"] = serde_json::json!(["sh", "-c", "echo spec works"]);
    std::fs::write(b.dir.join("config.json"), spec.to_string()).unwrap();
    let r = rt.run_bundle(&b);
    assert_eq!(r.stdout, "spec works\n", "{}", r.stderr);
}

#[test]
fn features_reports_namespaces_and_cgroups() {
    let rt = Runtime::new();
    let r = rt.run(&["features"]);
    let f: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(f["ociVersionMax"], "1.2.0");
    assert!(f["linux"]["namespaces"].as_array().unwrap().contains(&"user".into()));
    assert_eq!(f["linux"]["cgroup"]["v2"], true);
}

pub fn wait_for(mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting");
        std::thread::sleep(Duration::from_millis(10));
    }
}
