//! Resource limits reach the container's cgroup (seen from inside), the OOM killer's
//! work is reported as Docker reports it, and bad values are refused with Docker's
//! messages.

use std::process::Output;

use berth_tests::daemon::Daemon;

fn daemon() -> Option<Daemon> {
    Daemon::with_busybox_for_docker()
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
    // Loosely: other tests may be keeping the two cores busy at the same time.
    assert!(cpu > 20.0, "a spinning shell shows its CPU: {out}");
    assert_eq!((busy[4].as_str(), busy[5].as_str()), ("64MiB", "1"), "{out}");
    let idle: Vec<String> = line("idle").split_whitespace().map(String::from).collect();
    let cpu: f64 = idle[1].trim_end_matches('%').parse().unwrap();
    assert!(cpu < 5.0, "{out}");
    let json = ok(d.docker(&["stats", "--no-stream", "--format", "{{json .}}", "busy"]).unwrap());
    assert!(json.contains("\"Name\":\"busy\""), "{json}");
}

/// Whether this host has cgroup v1 hierarchies (the file names below are v1's).
fn v1() -> bool {
    std::path::Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists()
}

/// A file of container `id`'s cgroup in the v1 `controller` hierarchy, read from the host.
fn cgroup_file(d: &Daemon, controller: &str, id: &str, file: &str) -> String {
    let path = format!("/sys/fs/cgroup/{controller}{}/{id}/{file}", d.cgroup_parent());
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}")).trim().to_string()
}

/// `docker ARGS` that must fail with exit status `code`; its stderr.
fn fails(d: &Daemon, args: &[&str], code: i32) -> String {
    let o = d.docker(args).unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(code), "{args:?}: {stderr}");
    stderr
}

#[test]
fn a_pids_limit_stops_a_fork_bomb() {
    berth_tests::require_root!();
    let Some(d) = daemon() else { return };
    // Bounded: 40 sleepers of 5 s at most, in a container limited to 20 tasks.
    let o = d
        .docker(&[
            "run", "--rm", "--pids-limit", "20", "busybox", "sh", "-c",
            // The bomb runs in a child shell (ash gives up at the first failed fork);
            // the outer one reads the counters with builtins, which need no fork.
            "sh -c 'for i in $(seq 40); do sleep 5 & done'; read c < /sys/fs/cgroup/pids/pids.current; read m < /sys/fs/cgroup/pids/pids.max; echo $c; echo $m",
        ])
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("can't fork"), "the forks past the limit fail: {stderr}");
    if v1() {
        let out = String::from_utf8_lossy(&o.stdout);
        let lines: Vec<&str> = out.lines().collect();
        let current: u32 = lines[0].parse().unwrap();
        assert!(current <= 20, "{out}");
        assert_eq!(lines[1], "20");
    }
}

#[test]
fn a_cpu_quota_caps_measured_usage() {
    berth_tests::require_root!();
    if !v1() {
        return;
    }
    let Some(d) = daemon() else { return };
    let id = ok(d.docker(&["run", "-d", "--cpus", "0.5", "busybox", "sh", "-c", "while :; do :; done"]).unwrap());
    let id = id.trim();
    assert_eq!(cgroup_file(&d, "cpu", id, "cpu.cfs_quota_us"), "50000");
    let usage = || cgroup_file(&d, "cpuacct", id, "cpuacct.usage").parse::<u64>().unwrap();
    let (u0, t0) = (usage(), std::time::Instant::now());
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let (u1, elapsed) = (usage(), t0.elapsed());
    let share = (u1 - u0) as f64 / elapsed.as_nanos() as f64;
    // Half a core, loosely: well under the full core a spinning shell would take.
    assert!(share < 0.75, "used {share:.2} of a CPU under --cpus 0.5");
    assert!(share > 0.2, "the shell did run: {share:.2}");
}

#[test]
fn cpuset_cpus_pins_the_container() {
    berth_tests::require_root!();
    let Some(d) = daemon() else { return };
    let out = ok(d.docker(&["run", "--rm", "--cpuset-cpus", "0", "busybox", "grep", "Cpus_allowed_list", "/proc/self/status"]).unwrap());
    assert_eq!(out.split_whitespace().collect::<Vec<_>>(), ["Cpus_allowed_list:", "0"]);
}

/// A loop device over a sparse file, detached when dropped (even when the test fails).
struct LoopDevice(String);

impl LoopDevice {
    fn attach(backing: &std::path::Path) -> Option<LoopDevice> {
        let f = std::fs::File::create(backing).unwrap();
        f.set_len(32 << 20).unwrap();
        let o = std::process::Command::new("losetup").args(["--find", "--show"]).arg(backing).output().ok()?;
        if !o.status.success() {
            berth_tests::skip(&format!("losetup: {}", String::from_utf8_lossy(&o.stderr)));
            return None;
        }
        Some(LoopDevice(String::from_utf8_lossy(&o.stdout).trim().to_string()))
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let _ = std::process::Command::new("losetup").args(["-d", &self.0]).status();
    }
}

#[test]
fn a_blkio_throttle_slows_a_write() {
    berth_tests::require_root!();
    let Some(d) = daemon() else { return };
    let Some(dev) = LoopDevice::attach(&d.dir.path().join("disk.img")) else { return };
    let rule = format!("{}:1mb", dev.0);
    let start = std::time::Instant::now();
    let out = ok(d
        .docker(&[
            "run", "--rm", "--device-write-bps", &rule, "--device", &dev.0, "busybox", "sh", "-c",
            &format!("dd if=/dev/zero of={} bs=1M count=3 oflag=direct 2>/dev/null && cat /sys/fs/cgroup/blkio/blkio.throttle.write_bps_device", dev.0),
        ])
        .unwrap());
    let took = start.elapsed();
    let meta = std::fs::metadata(&dev.0).unwrap();
    let rdev = std::os::unix::fs::MetadataExt::rdev(&meta);
    if v1() {
        let want = format!("{}:{} 1048576", nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev));
        assert!(out.lines().any(|l| l == want), "{want} in {out}");
    }
    // 3 MiB at 1 MiB/s: loosely, at least two seconds.
    assert!(took >= std::time::Duration::from_millis(1800), "took {took:?}");
    let stderr = fails(&d, &["run", "--rm", "--device-write-bps", "/dev/null:1mb", "busybox", "true"], 125);
    assert!(stderr.contains("/dev/null is not a block device"), "{stderr}");
    // docker run's status for a "no such file or directory" from the daemon.
    let stderr = fails(&d, &["run", "--rm", "--device-read-iops", "/dev/berth-no-such-disk:10", "busybox", "true"], 127);
    assert!(stderr.contains("stat /dev/berth-no-such-disk: no such file or directory"), "{stderr}");
}

#[test]
fn update_changes_limits_live_and_keeps_them() {
    berth_tests::require_root!();
    let Some(d) = daemon() else { return };
    let id = ok(d.docker(&["run", "-d", "--name", "upd", "-m", "64m", "--cpus", "0.5", "--pids-limit", "50", "busybox", "sleep", "1000"]).unwrap());
    let id = id.trim().to_string();
    let file = |c: &str, f: &str| cgroup_file(&d, c, &id, f);
    if v1() {
        assert_eq!(file("memory", "memory.limit_in_bytes"), "67108864");
        // Docker's default: as much swap again as memory.
        assert_eq!(file("memory", "memory.memsw.limit_in_bytes"), "134217728");
        assert_eq!(file("pids", "pids.max"), "50");
    }
    let out = ok(d.docker(&["update", "-m", "128m", "--memory-swap", "256m", "--cpus", "1", "--pids-limit", "10", "upd"]).unwrap());
    assert_eq!(out, "upd\n");
    if v1() {
        assert_eq!(file("memory", "memory.limit_in_bytes"), "134217728");
        assert_eq!(file("memory", "memory.memsw.limit_in_bytes"), "268435456");
        assert_eq!(file("cpu", "cpu.cfs_quota_us"), "100000");
        assert_eq!(file("pids", "pids.max"), "10");
    }
    let hc = ok(d.docker(&["inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}", "upd"]).unwrap());
    assert_eq!(hc.trim(), "134217728 268435456 1000000000 10");
    // A process inside meets the new pids limit.
    let o = d.docker(&["exec", "upd", "sh", "-c", "for i in $(seq 20); do sleep 3 & done; wait"]).unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("can't fork"), "{}", String::from_utf8_lossy(&o.stderr));
    // A restart keeps what the update set.
    ok(d.docker(&["restart", "-t", "0", "upd"]).unwrap());
    if v1() {
        assert_eq!(file("pids", "pids.max"), "10");
        assert_eq!(file("memory", "memory.limit_in_bytes"), "134217728");
    }
    // Docker's rules: a memory limit above the swap limit in place, NanoCpus against a
    // quota, a memory limit below what the container uses.
    let stderr = fails(&d, &["update", "-m", "512m", "upd"], 1);
    assert!(stderr.contains("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"), "{stderr}");
    let stderr = fails(&d, &["update", "--cpu-quota", "20000", "upd"], 1);
    assert!(stderr.contains("CPU Quota cannot be updated as NanoCPUs has already been set"), "{stderr}");
    if v1() {
        // The shell keeps its 30 MB: `sleep` is not its last command, so it is not
        // exec'd in the shell's place. Room for the buffer growing by copies.
        let hog = ok(d.docker(&["run", "-d", "-m", "256m", "busybox", "sh", "-c", "x=$(head -c 30000000 /dev/zero | tr '\\0' a); sleep 1000; echo ${#x}"]).unwrap());
        let hog = hog.trim().to_string();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while cgroup_file(&d, "memory", &hog, "memory.usage_in_bytes").parse::<u64>().unwrap() < 30_000_000 {
            assert!(std::time::Instant::now() < deadline, "the shell did not fill its memory");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let stderr = fails(&d, &["update", "-m", "8m", "--memory-swap", "8m", &hog], 1);
        assert!(stderr.contains(&format!("Cannot update container {hog}: unable to set memory limit to 8388608")), "{stderr}");
        // Refused changes leave the record as it was.
        let mem = ok(d.docker(&["inspect", "-f", "{{.HostConfig.Memory}}", &hog]).unwrap());
        assert_eq!(mem.trim(), "268435456");
    }
}

#[test]
fn update_of_the_restart_policy_and_of_stopped_containers() {
    berth_tests::require_root!();
    let Some(d) = daemon() else { return };
    ok(d.docker(&["create", "--name", "stopped", "busybox", "true"]).unwrap());
    ok(d.docker(&["update", "--restart", "on-failure:3", "-m", "32m", "--memory-swap", "64m", "stopped"]).unwrap());
    let out = ok(d.docker(&["inspect", "-f", "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}} {{.HostConfig.Memory}}", "stopped"]).unwrap());
    assert_eq!(out.trim(), "on-failure 3 33554432");
    // The next start applies what the record holds.
    if v1() {
        ok(d.docker(&["create", "--name", "s2", "busybox", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]).unwrap());
        ok(d.docker(&["update", "-m", "48m", "--memory-swap", "96m", "s2"]).unwrap());
        assert_eq!(ok(d.docker(&["start", "-a", "s2"]).unwrap()).trim(), "50331648");
    }
    ok(d.docker(&["run", "-d", "--rm", "--name", "auto", "busybox", "sleep", "1000"]).unwrap());
    let stderr = fails(&d, &["update", "--restart", "always", "auto"], 1);
    assert!(stderr.contains("Restart policy cannot be updated because AutoRemove is enabled for the container"), "{stderr}");
    let stderr = fails(&d, &["update", "--restart", "sometimes", "stopped"], 1);
    assert!(stderr.contains("invalid restart policy"), "{stderr}");
    // `always` takes effect: the container comes back after its process exits.
    ok(d.docker(&["run", "-d", "--name", "back", "busybox", "sh", "-c", "sleep 1; exit 3"]).unwrap());
    ok(d.docker(&["update", "--restart", "always", "back"]).unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let n = ok(d.docker(&["inspect", "-f", "{{.RestartCount}}", "back"]).unwrap());
        if n.trim() != "0" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not restarted");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn bad_resource_values_get_docker_s_messages() {
    berth_tests::require_root!();
    let Some(d) = daemon() else { return };
    let ncpu = unsafe_free_ncpu();
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap().trim().to_string();
    let too_many = (ncpu + 1).to_string();
    let cases: Vec<(Vec<&str>, String)> = vec![
        (vec!["--cpus", &too_many], format!("Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available")),
        (vec!["--cpus", "0.5", "--cpu-period", "50000"], "Conflicting options: Nano CPUs and CPU Period cannot both be set".into()),
        (vec!["--cpu-period", "500"], "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)".into()),
        (vec!["--cpu-quota", "500"], "CPU cfs quota can not be less than 1ms (i.e. 1000)".into()),
        (vec!["--cpuset-cpus", "0-511"], format!("Requested CPUs are not available - requested 0-511, available: {online}")),
        (vec!["--oom-score-adj", "1001"], "Invalid value 1001, range for oom score adj is [-1000, 1000]".into()),
        (vec!["--memory-reservation", "1m"], "Minimum memory reservation allowed is 6MB".into()),
        (vec!["-m", "32m", "--memory-reservation", "64m"], "Minimum memory limit can not be less than memory reservation limit, see usage".into()),
    ];
    for (flags, message) in cases {
        let mut args = vec!["run", "--rm"];
        args.extend(flags.iter().copied());
        args.extend(["busybox", "true"]);
        let stderr = fails(&d, &args, 125);
        assert!(stderr.contains(&message), "{flags:?}: {stderr}");
    }
    // Refused by the CLI, before the daemon.
    let stderr = fails(&d, &["run", "--rm", "--ulimit", "nofile=200:100", "busybox", "true"], 125);
    assert!(stderr.contains("ulimit soft limit must be less than or equal to hard limit: 200 > 100"), "{stderr}");
    // Nothing was left behind.
    assert_eq!(ok(d.docker(&["ps", "-aq"]).unwrap()), "");
}

/// The CPUs this process may use (Go's `runtime.NumCPU`, which the daemon reports).
fn unsafe_free_ncpu() -> usize {
    let set = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).unwrap();
    (0..nix::sched::CpuSet::count()).filter(|i| set.is_set(*i).unwrap_or(false)).count()
}

#[test]
fn process_limits_are_seen_inside() {
    berth_tests::require_root!();
    let Some(d) = daemon() else { return };
    let run = |args: &[&str]| {
        let mut all = vec!["run", "--rm"];
        all.extend_from_slice(args);
        ok(d.docker(&all).unwrap())
    };
    assert_eq!(run(&["--ulimit", "nofile=100:200", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn"]), "100\n200\n");
    let df = run(&["--shm-size", "32m", "busybox", "df", "-k", "/dev/shm"]);
    assert_eq!(df.lines().nth(1).and_then(|l| l.split_whitespace().nth(1)), Some("32768"), "{df}");
    assert_eq!(run(&["--oom-score-adj", "500", "busybox", "cat", "/proc/self/oom_score_adj"]), "500\n");
    if v1() {
        let out = run(&[
            "-m", "32m", "--memory-reservation", "16m", "--memory-swappiness", "10", "--oom-kill-disable", "busybox", "cat",
            "/sys/fs/cgroup/memory/memory.soft_limit_in_bytes", "/sys/fs/cgroup/memory/memory.swappiness", "/sys/fs/cgroup/memory/memory.oom_control",
        ]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(&lines[..3], ["16777216", "10", "oom_kill_disable 1"], "{out}");
    }
}

#[test]
fn kernel_memory_and_oom_kill_disable_warn_as_docker() {
    berth_tests::require_root!();
    let Some(d) = daemon() else { return };
    // The docker CLI no longer sends KernelMemory (API 1.42+): ask the API directly.
    let client = api::Client::new(&d.host()).unwrap();
    let body = serde_json::json!({"Image": "busybox", "Cmd": ["true"], "HostConfig": {"KernelMemory": 50 << 20}});
    let created: api::containers::ContainerCreateResponse =
        berth_tests::daemon::block_on(client.post_json("/containers/create", &[], &body)).unwrap();
    assert_eq!(
        created.warnings,
        ["Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded."]
    );
    let o = d.docker(&["create", "--oom-kill-disable", "busybox", "true"]).unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    if v1() {
        assert!(
            stderr.contains("WARNING: OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources."),
            "{stderr}"
        );
    }
}
