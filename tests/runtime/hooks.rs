//! Lifecycle hooks run in order, each with the state JSON on stdin; a hook that times
//! out fails the create and leaves nothing behind.

use berth_tests::require_root;
use berth_tests::runtime::{Runtime, read};
use serde_json::json;

#[test]
fn hooks_run_in_order_with_state_on_stdin() {
    require_root!();
    let rt = Runtime::new();
    let log_dir = rt.path("hooklog");
    std::fs::create_dir_all(&log_dir).unwrap();
    let host_log = log_dir.join("log");
    let hook = |name: &str, file: &str| {
        json!({"path": "/bin/sh", "args": ["sh", "-c", format!("read -r state; echo \"{name} $state\" >> {file}")]})
    };
    let host_log_s = host_log.to_str().unwrap().to_string();
    let b = rt.bundle(&["sh", "-c", "echo process >> /hooklog/log"], |s| {
        s["mounts"].as_array_mut().unwrap().push(json!({"destination": "/hooklog", "type": "bind", "source": log_dir, "options": ["bind"]}));
        s["hooks"] = json!({
            "prestart": [hook("prestart", &host_log_s)],
            "createRuntime": [hook("createRuntime", &host_log_s)],
            // Runs in the container's namespaces before pivot_root: host paths still resolve.
            "createContainer": [hook("createContainer", &host_log_s)],
            // Runs inside the container after pivot_root: the container's paths.
            "startContainer": [hook("startContainer", "/hooklog/log")],
            "poststop": [hook("poststop", &host_log_s)]
        });
    });
    let bundle = b.dir.to_str().unwrap();
    rt.create(&b);
    let pid = rt.pid(&b.id);
    rt.run(&["start", &b.id]).ok();
    super::lifecycle::wait_for(|| rt.state(&b.id)["status"] == "stopped");
    rt.run(&["delete", &b.id]).ok();
    let log = read(&host_log);
    let names: Vec<&str> = log.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(names, ["prestart", "createRuntime", "createContainer", "startContainer", "process", "poststop"], "{log}");
    let state: serde_json::Value = serde_json::from_str(log.lines().next().unwrap().split_once(' ').unwrap().1).unwrap();
    assert_eq!(state["id"], b.id.as_str());
    assert_eq!(state["pid"], pid);
    assert_eq!(state["bundle"], bundle);
    let last: serde_json::Value = serde_json::from_str(log.lines().last().unwrap().split_once(' ').unwrap().1).unwrap();
    assert_eq!(last["status"], "stopped");
}

#[test]
fn a_hook_timeout_fails_create_and_leaves_nothing() {
    require_root!();
    let rt = Runtime::new();
    let b = rt.bundle(&["true"], |s| {
        s["hooks"] = json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]});
    });
    let r = rt.run(&["create", "--bundle", b.dir.to_str().unwrap(), &b.id]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("timed out"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(!rt.root.path().join(&b.id).exists());
    assert!(!std::path::Path::new("/sys/fs/cgroup/memory").join(&b.id).exists());
}
