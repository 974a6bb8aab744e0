//! cgroup limits enforced by the kernel (v1 on this host; v2 is unit-tested on a fake
//! cgroupfs in the cgroups crate).

use berth_tests::require_root;
use berth_tests::runtime::{Runtime, read};
use serde_json::json;

#[test]
fn memory_limit_oom_kills_a_process_over_it() {
    require_root!();
    let rt = Runtime::new();
    let limit = 32 * 1024 * 1024;
    // dd allocates and fills a 64 MiB buffer: twice the limit.
    let hog = ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"];
    let b = rt.bundle(&hog, |s| {
        s["linux"]["resources"]["memory"] = json!({"limit": limit, "swap": limit});
    });
    let r = rt.run_bundle(&b);
    assert_eq!(r.code, Some(137), "not OOM-killed: {} {}", r.stdout, r.stderr);
    // The same process fits without the limit.
    let b = rt.bundle(&hog, |_| {});
    rt.run_bundle(&b).ok();
}

#[test]
fn limits_are_written_to_the_cgroup() {
    require_root!();
    let rt = Runtime::new();
    let b = rt.bundle(&["sleep", "1000"], |s| {
        s["linux"]["resources"] = json!({
            "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}],
            "memory": {"limit": 64 << 20, "reservation": 32 << 20},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
            "pids": {"limit": 42}
        });
    });
    rt.run_detached(&b);
    let cg = |c: &str, f: &str| read(format!("/sys/fs/cgroup/{c}/{}/{f}", b.id)).trim().to_string();
    assert_eq!(cg("memory", "memory.limit_in_bytes"), (64u64 << 20).to_string());
    assert_eq!(cg("memory", "memory.soft_limit_in_bytes"), (32u64 << 20).to_string());
    assert_eq!(cg("cpu", "cpu.shares"), "512");
    assert_eq!(cg("cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(cg("cpuset", "cpuset.cpus"), "0");
    assert_eq!(cg("pids", "pids.max"), "42");
    // The spec's allow rule, plus the default devices runc also always allows.
    let devices = cg("devices", "devices.list");
    assert!(devices.lines().any(|l| l == "c 1:3 rwm"), "{devices}");
    assert!(!devices.lines().any(|l| l == "a *:* rwm"), "{devices}");
    let pid = rt.pid(&b.id).to_string();
    assert!(cg("memory", "cgroup.procs").lines().any(|l| l == pid));
    // The container sees its own cgroup as the root of /sys/fs/cgroup (cgroup ns).
    let self_cg = read(format!("/proc/{pid}/cgroup"));
    assert!(self_cg.contains(&format!("memory:/{}", b.id)), "{self_cg}");
}

#[test]
fn pids_limit_stops_a_fork_bomb() {
    require_root!();
    let rt = Runtime::new();
    let bomb = ["sh", "-c", "for i in $(seq 1 30); do sleep 5 & done; echo all-started; kill $(jobs -p) 2>/dev/null"];
    let b = rt.bundle(&bomb, |s| s["linux"]["resources"]["pids"] = json!({"limit": 10}));
    let r = rt.run_bundle(&b);
    assert!(r.stderr.contains("can't fork: Resource temporarily unavailable"), "pids limit not enforced: {} / {}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("all-started"));
    let b = rt.bundle(&bomb, |_| {});
    let r = rt.run_bundle(&b);
    assert!(r.stdout.contains("all-started"), "{}", r.stderr);
}

#[test]
fn device_cgroup_denies_what_is_not_allowed() {
    require_root!();
    let rt = Runtime::new();
    // The node can be made (mknod is allowed) but the cgroup refuses to open it.
    let script = "mknod /dev/loopy b 7 0 && echo made; head -c1 /dev/loopy 2>&1 >/dev/null | grep -o 'Operation not permitted'; head -c1 /dev/zero | wc -c";
    let b = rt.bundle(&["sh", "-c", script], |s| {
        for set in ["bounding", "effective", "permitted"] {
            s["process"]["capabilities"][set].as_array_mut().unwrap().push("CAP_MKNOD".into());
        }
    });
    let r = rt.run_bundle(&b);
    assert_eq!(r.stdout, "made\nOperation not permitted\n1\n", "{}", r.stderr);
}
