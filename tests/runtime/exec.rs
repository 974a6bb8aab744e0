//! exec joins the running container: its namespaces, cgroup, user and limits.

use berth_tests::require_root;
use berth_tests::runtime::Runtime;

#[test]
fn exec_joins_namespaces_and_cgroup_and_returns_its_status() {
    require_root!();
    let rt = Runtime::new();
    let b = rt.bundle(&["sleep", "1000"], |_| {});
    rt.run_detached(&b);
    let r = rt.run(&["exec", &b.id, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; hostname; cat /proc/self/cgroup | grep memory"]);
    r.ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "sleep 1000 ");
    assert_eq!(lines[1], "berth");
    assert!(lines[2].ends_with("memory:/") || lines[2].ends_with(&b.id), "{}", lines[2]);
    // The exec'd process is in the container's cgroup as seen from the host.
    let procs = std::fs::read_to_string(format!("/sys/fs/cgroup/memory/{}/cgroup.procs", b.id)).unwrap();
    assert_eq!(procs.lines().count(), 1, "exec process left in the cgroup: {procs}");

    assert_eq!(rt.run(&["exec", &b.id, "sh", "-c", "exit 7"]).code, Some(7));
    let r = rt.run(&["exec", "--user", "1000:1000", "--env", "GREETING=hi", "--cwd", "/tmp", &b.id, "sh", "-c", "id -u; echo $GREETING; pwd"]);
    assert_eq!(r.stdout, "1000\nhi\n/tmp\n", "{}", r.stderr);
    // A missing command fails with runc's message.
    let r = rt.run(&["exec", &b.id, "no-such-command"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("executable file not found"), "{}", r.stderr);
}

#[test]
fn exec_detached_writes_its_pid_and_a_paused_container_refuses_exec() {
    require_root!();
    let rt = Runtime::new();
    let b = rt.bundle(&["sleep", "1000"], |_| {});
    rt.run_detached(&b);
    let pid_file = rt.path("exec.pid");
    let status = rt
        .cmd()
        .args(["exec", "-d", "--pid-file", pid_file.to_str().unwrap(), &b.id, "sleep", "999"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    assert_eq!(std::fs::read(format!("/proc/{pid}/cmdline")).unwrap(), b"sleep\x00999\x00");
    rt.run(&["pause", &b.id]).ok();
    let r = rt.run(&["exec", &b.id, "true"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("paused"), "{}", r.stderr);
    rt.run(&["resume", &b.id]).ok();
}
