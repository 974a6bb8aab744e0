//! Resource limits reach the container's cgroup (seen from inside), the OOM killer's
//! work is reported as Docker reports it, and bad values are refused with Docker's
//! messages.

use std::process::Output;

use berth_tests::daemon::Daemon;

fn daemon() -> Option<Daemon> {
    let d = Daemon::start();
    d.load_busybox();
    d.docker(&["version"])?;
    Some(d)
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{:?}: {}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[test]
fn limits_apply_and_the_oom_killer_is_reported() {
    berth_tests::require_root!();
    let Some(d) = daemon() else { return };
    let v1 = std::path::Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists();
    if v1 {
        let read = |args: &[&str]| ok(d.docker(args).unwrap()).trim().to_string();
        assert_eq!(read(&["run", "--rm", "-m", "32m", "busybox", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]), "33554432");
        assert_eq!(read(&["run", "--rm", "--cpus", "0.5", "busybox", "cat", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"]), "50000");
        assert_eq!(read(&["run", "--rm", "--pids-limit", "20", "busybox", "cat", "/sys/fs/cgroup/pids/pids.max"]), "20");
    }
    let since = now_secs().to_string();
    let o = d.docker(&["run", "--name", "hog", "-m", "16m", "--memory-swap", "16m", "busybox", "sh", "-c", "tail /dev/zero"]).unwrap();
    assert_eq!(o.status.code(), Some(137));
    assert_eq!(ok(d.docker(&["inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}}", "hog"]).unwrap()).trim(), "true 137");
    let until = (now_secs() + 1).to_string();
    let events = ok(d.docker(&["events", "--since", &since, "--until", &until, "--filter", "container=hog", "--format", "{{.Action}}"]).unwrap());
    assert!(events.lines().any(|a| a == "oom"), "{events}");
    let o = d.docker(&["run", "--rm", "-m", "1m", "busybox", "true"]).unwrap();
    assert_eq!(o.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&o.stderr).contains("Minimum memory limit allowed is 6MB"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn stats_track_a_known_load() {
    berth_tests::require_root!();
    let Some(d) = daemon() else { return };
    ok(d.docker(&["run", "-d", "--name", "busy", "-m", "64m", "busybox", "sh", "-c", "while true; do :; done"]).unwrap());
    ok(d.docker(&["run", "-d", "--name", "idle", "busybox", "sleep", "1000"]).unwrap());
    std::thread::sleep(std::time::Duration::from_millis(500));
    let out = ok(d.docker(&["stats", "--no-stream", "--format", "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}"]).unwrap());
    let line = |name: &str| out.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{name}: {out}")).to_string();
    let busy: Vec<String> = line("busy").split_whitespace().map(String::from).collect();
    let cpu: f64 = busy[1].trim_end_matches('%').parse().unwrap();
    assert!(cpu > 50.0, "a spinning shell shows its CPU: {out}");
    assert_eq!((busy[4].as_str(), busy[5].as_str()), ("64MiB", "1"), "{out}");
    let idle: Vec<String> = line("idle").split_whitespace().map(String::from).collect();
    let cpu: f64 = idle[1].trim_end_matches('%').parse().unwrap();
    assert!(cpu < 5.0, "{out}");
    let json = ok(d.docker(&["stats", "--no-stream", "--format", "{{json .}}", "busy"]).unwrap());
    assert!(json.contains("\"Name\":\"busy\""), "{json}");
}
