//! What a process sees from inside: its pid, hostname, mounts, masked and read-only
//! paths, devices, user and groups, capabilities, and its seccomp filter.

use berth_tests::require_root;
use berth_tests::runtime::Runtime;
use serde_json::json;

fn run_sh(rt: &Runtime, script: &str, edit: impl FnOnce(&mut serde_json::Value)) -> berth_tests::runtime::Ran {
    let b = rt.bundle(&["sh", "-c", script], edit);
    rt.run_bundle(&b)
}

#[test]
fn pid_namespace_hostname_and_domainname() {
    require_root!();
    let rt = Runtime::new();
    let r = run_sh(&rt, "echo $$; hostname; cat /proc/sys/kernel/domainname; ps -o pid,comm | wc -l", |s| {
        s["domainname"] = "example.test".into();
    });
    r.ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "1");
    assert_eq!(lines[1], "berth");
    assert_eq!(lines[2], "example.test");
    // Only the container's own processes are visible: header + sh + ps + wc at most.
    assert!(lines[3].parse::<u32>().unwrap() <= 4, "{}", r.stdout);
}

#[test]
fn mounts_masked_and_readonly_paths() {
    require_root!();
    let rt = Runtime::new();
    let r = run_sh(
        &rt,
        "cat /proc/mounts; echo ---; wc -c < /proc/timer_list; ls /proc/acpi 2>&1 | wc -l; \
         echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo sys-writable || echo sys-readonly; \
         touch /newfile 2>/dev/null && echo root-writable || echo root-readonly; \
         touch /dev/shm/ok && echo shm-writable",
        |_| {},
    );
    r.ok();
    let (mounts, rest) = r.stdout.split_once("---\n").unwrap();
    for want in ["proc /proc proc", "tmpfs /dev tmpfs", "devpts /dev/pts devpts", "shm /dev/shm tmpfs", "mqueue /dev/mqueue mqueue", "sysfs /sys sysfs ro"] {
        assert!(mounts.contains(want), "no {want:?} in {mounts}");
    }
    assert!(mounts.lines().any(|l| l.starts_with("/dev/") && l.contains(" / ") && l.contains(" ro,")) || mounts.lines().any(|l| l.split(' ').nth(1) == Some("/") && l.split(' ').nth(3).unwrap().starts_with("ro")), "root not ro: {mounts}");
    // /sys/fs/cgroup holds the container's cgroups read-only.
    assert!(mounts.contains("/sys/fs/cgroup/memory"), "{mounts}");
    let lines: Vec<&str> = rest.lines().collect();
    assert_eq!(lines, ["0", "0", "sys-readonly", "root-readonly", "shm-writable"], "{rest}");
}

#[test]
fn default_devices_and_links() {
    require_root!();
    let rt = Runtime::new();
    let r = run_sh(&rt, "ls -l /dev | grep -v total | awk '{print $1, $NF}' | sort; echo x > /dev/null && head -c 4 /dev/zero | wc -c", |_| {});
    r.ok();
    for want in ["crw-rw-rw- null", "crw-rw-rw- zero", "crw-rw-rw- full", "crw-rw-rw- random", "crw-rw-rw- urandom", "crw-rw-rw- tty",
        "lrwxrwxrwx /proc/self/fd", "lrwxrwxrwx pts/ptmx"] {
        assert!(r.stdout.contains(want), "no {want:?} in {}", r.stdout);
    }
    assert!(r.stdout.trim_end().ends_with('4'));
}

#[test]
fn user_groups_umask_and_cwd() {
    require_root!();
    let rt = Runtime::new();
    let r = run_sh(&rt, "grep -E '^(Uid|Gid|Groups):' /proc/self/status; umask; pwd", |s| {
        s["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [1001], "umask": 23});
        s["process"]["cwd"] = "/home/berth".into();
    });
    r.ok();
    assert_eq!(r.stdout, "Uid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nGroups:\t1001 \n0027\n/home/berth\n");
}

#[test]
fn capabilities_are_exactly_the_spec_sets() {
    require_root!();
    let rt = Runtime::new();
    let r = run_sh(&rt, "grep ^Cap /proc/self/status; grep NoNewPrivs /proc/self/status", |_| {});
    r.ok();
    // CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29).
    let set = format!("{:016x}", (1u64 << 5) | (1 << 10) | (1 << 29));
    for line in ["CapEff", "CapPrm", "CapBnd"] {
        assert!(r.stdout.contains(&format!("{line}:\t{set}")), "{line} in {}", r.stdout);
    }
    assert!(r.stdout.contains("CapInh:\t0000000000000000"));
    assert!(r.stdout.contains("CapAmb:\t0000000000000000"));
    assert!(r.stdout.contains("NoNewPrivs:\t1"));

    // Ambient capabilities survive exec into a non-root user.
    let r = run_sh(&rt, "grep ^CapAmb /proc/self/status; grep ^Uid /proc/self/status", |s| {
        let c = json!(["CAP_NET_BIND_SERVICE"]);
        s["process"]["capabilities"] = json!({"bounding": c, "effective": c, "permitted": c, "inheritable": c, "ambient": c});
        s["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    });
    r.ok();
    assert!(r.stdout.contains(&format!("CapAmb:\t{:016x}", 1u64 << 10)), "{}", r.stdout);
}

#[test]
fn no_signal_is_ignored_or_blocked() {
    require_root!();
    let rt = Runtime::new();
    // The runtime's own dispositions (Rust ignores SIGPIPE) must not leak into the
    // container's process.
    let b = rt.bundle(&["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"], |_| {});
    let r = rt.run_bundle(&b);
    r.ok();
    assert_eq!(r.stdout, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

#[test]
fn seccomp_blocks_with_the_configured_errno() {
    require_root!();
    let rt = Runtime::new();
    let profile = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18},
            // Only uname(…) with a zero-size argument list is fine; argument filtering:
            // block personality(0xffffffff) (query) but allow others.
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [{"index": 0, "value": 4294967295u64, "op": "SCMP_CMP_EQ"}]}
        ]
    });
    let script = "mkdir /dev/shm/x; echo mkdir=$?";
    let r = run_sh(&rt, script, |s| s["linux"]["seccomp"] = profile.clone());
    // EXDEV (18) is what the filter answers, not what the filesystem would.
    assert!(r.stderr.contains("Invalid cross-device link") || r.stdout.contains("mkdir=1"), "{} / {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("Invalid cross-device link"), "{}", r.stderr);
    // The same script without the filter succeeds.
    let r = run_sh(&rt, script, |_| {});
    assert_eq!(r.stdout, "mkdir=0\n", "{}", r.stderr);
}

#[test]
fn rlimits_and_sysctl() {
    require_root!();
    let rt = Runtime::new();
    let r = run_sh(&rt, "ulimit -n; ulimit -s; cat /proc/sys/net/ipv4/ip_forward", |s| {
        s["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "hard": 512, "soft": 256}, {"type": "RLIMIT_STACK", "hard": 8388608, "soft": 4194304}]);
        s["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
    });
    r.ok();
    assert_eq!(r.stdout, "256\n4096\n1\n");
}

#[test]
fn bind_mounts_with_options_and_symlinks_stay_inside() {
    require_root!();
    let rt = Runtime::new();
    let host = rt.path("shared");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("hello"), "from host\n").unwrap();
    let b = rt.bundle(&["sh", "-c", "cat /data/hello; touch /data/x 2>/dev/null || echo ro; cat /evil/hello; ls /etc/passwd-from-host 2>&1 | wc -l"], |s| {
        s["mounts"].as_array_mut().unwrap().push(json!({"destination": "/data", "type": "bind", "source": host, "options": ["rbind", "ro"]}));
        // A symlink in the image pointing at an absolute host path: the mount lands
        // inside the rootfs, never on the host's /tmp.
        s["mounts"].as_array_mut().unwrap().push(json!({"destination": "/evil", "type": "bind", "source": host, "options": ["bind"]}));
    });
    let evil_target = rt.path("outside-target");
    std::os::unix::fs::symlink(&evil_target, b.dir.join("rootfs/evil")).unwrap();
    let r = rt.run_bundle(&b);
    r.ok();
    assert_eq!(r.stdout, "from host\nro\nfrom host\n1\n");
    assert!(!evil_target.exists(), "a mount followed a symlink out of the rootfs");
}
