//! What a container may not do by default, and what the matching option allows: the
//! root filesystem read-only on request (with tmpfs mounts beside), mounts only with
//! CAP_SYS_ADMIN, a dropped capability really gone, /proc/sys read-only, device nodes
//! made but not opened (the device cgroup), host processes neither seen nor signalled.

use std::process::Output;

use berth_tests::daemon::Daemon;

fn run(d: &Daemon, args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["run", "--rm"];
    all.extend_from_slice(args);
    let o: Output = d.docker(&all).expect("docker CLI");
    let text = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    (o.status.code(), text)
}

#[test]
fn a_container_is_confined_by_default_and_options_open_it_up() {
    berth_tests::require_root!();
    let d = Daemon::start();
    d.load_busybox();
    if d.docker(&["version"]).is_none() {
        return;
    }
    assert_eq!(run(&d, &["busybox", "sh", "-c", "touch /x && echo ok"]), (Some(0), "ok\n".into()));
    let (code, out) = run(&d, &["--read-only", "busybox", "touch", "/x"]);
    assert!(code != Some(0) && out.contains("Read-only file system"), "{out}");
    assert_eq!(run(&d, &["--read-only", "--tmpfs", "/data", "busybox", "sh", "-c", "touch /data/x && echo ok"]).1, "ok\n");

    let (code, out) = run(&d, &["busybox", "mount", "-t", "tmpfs", "none", "/tmp"]);
    assert!(code != Some(0) && out.contains("permission denied"), "{out}");
    assert_eq!(run(&d, &["--cap-add", "SYS_ADMIN", "busybox", "sh", "-c", "mount -t tmpfs none /tmp && echo mounted"]).1, "mounted\n");

    assert_eq!(run(&d, &["busybox", "sh", "-c", "chown 1 /etc/passwd && echo chowned"]).1, "chowned\n");
    let (code, out) = run(&d, &["--cap-drop", "CHOWN", "busybox", "chown", "1", "/etc/passwd"]);
    assert!(code != Some(0) && out.contains("Operation not permitted"), "{out}");

    let (code, out) = run(&d, &["busybox", "sh", "-c", "echo x > /proc/sys/kernel/domainname"]);
    assert!(code != Some(0) && out.contains("Read-only file system"), "{out}");

    // CAP_MKNOD makes the node; the device cgroup refuses opening a disk.
    let (code, out) = run(&d, &["busybox", "sh", "-c", "mknod /tmp/sda b 8 0 && head -c1 /tmp/sda"]);
    assert!(code != Some(0) && out.contains("Operation not permitted"), "{out}");

    // Its own pid namespace: only its processes, and the host's are out of reach.
    // (ls alone: in a pipeline its neighbour may or may not be forked yet.) sh and ls.
    assert_eq!(run(&d, &["busybox", "sh", "-c", "ls /proc > /tmp/procs; grep -c '^[0-9]' /tmp/procs"]).1.trim(), "2");
    let host_pid = std::process::id().to_string();
    let (code, out) = run(&d, &["busybox", "kill", "-0", &host_pid]);
    assert!(code != Some(0) && out.contains("No such process"), "{out}");
}

/// The syscall probe, built static into a directory of its own (removed on drop) that
/// containers bind at /probe.
struct Probe {
    dir: tempfile::TempDir,
}

impl Probe {
    /// `None`, with a note, when there is no C compiler to build it.
    fn build() -> Option<Probe> {
        let dir = tempfile::Builder::new().prefix("berth-probe").tempdir().expect("tempdir");
        let src = dir.path().join("probe.c");
        std::fs::write(&src, include_str!("security_probe.c")).unwrap();
        let built = std::process::Command::new("cc")
            .args(["-static", "-O2", "-o"])
            .arg(dir.path().join("probe"))
            .arg(&src)
            .status();
        match built {
            Ok(s) if s.success() => Some(Probe { dir }),
            Ok(s) => panic!("cc failed ({s}) building the probe"),
            Err(e) => {
                berth_tests::skip(&format!("no C compiler for the syscall probe ({e}); scripts/install-deps.sh installs gcc"));
                None
            }
        }
    }

    fn volume(&self) -> String {
        format!("{}:/probe:ro", self.dir.path().display())
    }
}

/// The probe's answer for `syscall` in a new container with `opts`.
fn probe(d: &Daemon, p: &Probe, opts: &[&str], syscall: &str) -> String {
    let volume = p.volume();
    let mut args = vec!["-v", volume.as_str()];
    args.extend_from_slice(opts);
    args.extend_from_slice(&["busybox", "/probe/probe", syscall]);
    let (code, out) = run(d, &args);
    assert_eq!(code, Some(0), "probe {syscall} {opts:?}: {out}");
    out.trim().to_string()
}

#[test]
fn the_default_seccomp_profile_refuses_what_docker_refuses() {
    berth_tests::require_root!();
    let d = Daemon::start();
    d.load_busybox();
    if d.docker(&["version"]).is_none() {
        return;
    }
    let Some(p) = Probe::build() else { return };
    let unconfined = ["--security-opt", "seccomp=unconfined"];
    // User namespaces: the filter refuses them; without it the kernel lets anyone make one.
    assert_eq!(probe(&d, &p, &[], "unshare-user"), "EPERM");
    assert_eq!(probe(&d, &p, &unconfined, "unshare-user"), "ok");
    assert_eq!(probe(&d, &p, &["--cap-add", "SYS_ADMIN"], "unshare-user"), "ok");
    // The kernel keyring is not namespaced.
    assert_eq!(probe(&d, &p, &[], "keyctl"), "EPERM");
    assert_eq!(probe(&d, &p, &[], "add_key"), "EPERM");
    assert_eq!(probe(&d, &p, &unconfined, "keyctl"), "ok");
    for refused in ["init_module", "finit_module", "reboot"] {
        assert_eq!(probe(&d, &p, &[], refused), "EPERM", "{refused}");
    }
    // clone3 answers ENOSYS (libc falls back to clone, whose flags the filter can read).
    assert_eq!(probe(&d, &p, &[], "clone3"), "ENOSYS");
    assert_eq!(probe(&d, &p, &unconfined, "clone3"), "ok");
    assert_eq!(probe(&d, &p, &["--cap-add", "SYS_ADMIN"], "clone3"), "ok");
    // personality: the query and the listed personas only.
    assert_eq!(probe(&d, &p, &[], "personality-query"), "ok");
    assert_eq!(probe(&d, &p, &[], "personality-no-aslr"), "EPERM");
    assert_eq!(probe(&d, &p, &unconfined, "personality-no-aslr"), "ok");
    // Ptrace of a process that is not ours to trace needs CAP_SYS_PTRACE.
    assert_eq!(probe(&d, &p, &[], "ptrace"), "EPERM");
    assert_eq!(probe(&d, &p, &["--cap-add", "SYS_PTRACE"], "ptrace"), "ok");
    // Raw sockets and device nodes follow their capabilities.
    assert_eq!(probe(&d, &p, &[], "raw-socket"), "ok");
    assert_eq!(probe(&d, &p, &["--cap-drop", "NET_RAW"], "raw-socket"), "EPERM");
    assert_eq!(probe(&d, &p, &[], "mknod"), "ok");
    assert_eq!(probe(&d, &p, &["--cap-drop", "MKNOD"], "mknod"), "EPERM");
    // Masked kernel files (/proc/kcore where the kernel has one) read as empty.
    for masked in ["/proc/kcore", "/proc/timer_list", "/proc/keys"].into_iter().filter(|p| std::path::Path::new(p).exists()) {
        assert_eq!(run(&d, &["busybox", "sh", "-c", &format!("head -c 16 {masked} | wc -c")]).1, "0\n", "{masked}");
    }

    // An exec runs under the container's filter.
    let volume = p.volume();
    let o = d.docker(&["run", "-d", "--name", "probed", "-v", &volume, "busybox", "sleep", "60"]).unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = d.docker(&["exec", "probed", "/probe/probe", "keyctl"]).unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "EPERM");
    let o = d.docker(&["exec", "-u", "1000", "probed", "/probe/probe", "clone3"]).unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "ENOSYS");
}

#[test]
fn seccomp_profiles_and_security_options_are_read_as_docker_does() {
    berth_tests::require_root!();
    let d = Daemon::start();
    d.load_busybox();
    if d.docker(&["version"]).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("no-mkdir.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let (code, out) = run(&d, &["--security-opt", &opt, "busybox", "mkdir", "/tmp/x"]);
    assert!(code != Some(0) && out.contains("Operation not permitted"), "{out}");
    // The same profile lets what the default refuses.
    assert_eq!(run(&d, &["--security-opt", &opt, "busybox", "sh", "-c", "touch /tmp/y && echo ok"]).1, "ok\n");

    // Valid JSON, not a profile: the daemon refuses the create.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"defaultAction": 5}"#).unwrap();
    let (code, out) = run(&d, &["--security-opt", &format!("seccomp={}", bad.display()), "busybox", "true"]);
    assert_eq!(code, Some(125), "{out}");
    assert!(out.contains("Error response from daemon: Decoding seccomp profile failed"), "{out}");

    let (code, out) = run(&d, &["--security-opt", "foo=bar", "busybox", "true"]);
    assert_eq!(code, Some(125), "{out}");
    assert!(out.contains(r#"invalid --security-opt 2: "foo=bar""#), "{out}");

    let nnp = |opts: &[&str]| {
        let mut args = opts.to_vec();
        args.extend_from_slice(&["busybox", "grep", "NoNewPrivs", "/proc/self/status"]);
        run(&d, &args).1.split_whitespace().last().unwrap_or_default().to_string()
    };
    assert_eq!(nnp(&[]), "0");
    assert_eq!(nnp(&["--security-opt", "no-new-privileges"]), "1");
    assert_eq!(nnp(&["--security-opt", "no-new-privileges:true"]), "1");
    assert_eq!(nnp(&["--security-opt", "no-new-privileges=false"]), "0");
    // SELinux and AppArmor options are accepted, and have nothing to apply here.
    assert_eq!(run(&d, &["--security-opt", "label=disable", "--security-opt", "apparmor=unconfined", "busybox", "echo", "ok"]).1, "ok\n");
}

#[test]
fn devices_sysctls_and_groups_are_added() {
    berth_tests::require_root!();
    let d = Daemon::start();
    d.load_busybox();
    if d.docker(&["version"]).is_none() {
        berth_tests::skip("no docker CLI");
        return;
    }
    // The node is made with the host node's mode and owner (not necessarily root's:
    // some hosts give /dev/null to another user).
    let host = std::fs::metadata("/dev/null").unwrap();
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let bits = host.permissions().mode();
    let rwx: String = (0..9).map(|i| if bits & (0o400 >> i) != 0 { b"rwxrwxrwx"[i] as char } else { '-' }).collect();
    assert_eq!(
        run(&d, &["--device", "/dev/null:/dev/mynull", "busybox", "sh", "-c", "echo x > /dev/mynull && ls -ln /dev/mynull"]).1.split_whitespace().take(5).collect::<Vec<_>>(),
        [format!("c{rwx}"), "1".into(), host.uid().to_string(), host.gid().to_string(), "1,".into()]
    );
    // Read-only in the device cgroup: opening for writing is refused. (loop-control,
    // as it is harmless: it has neither read nor write, only ioctls for CAP_SYS_ADMIN.)
    let open_both = "(: < /dev/lc) && echo read-open; echo x > /dev/lc";
    let (code, out) = run(&d, &["--device", "/dev/loop-control:/dev/lc:r", "busybox", "sh", "-c", open_both]);
    assert!(code != Some(0) && out.starts_with("read-open\n") && out.contains("Operation not permitted"), "{out}");
    let (code, out) = run(&d, &["--device", "/dev/loop-control:/dev/lc:rw", "busybox", "sh", "-c", open_both]);
    assert!(code != Some(0) && out.starts_with("read-open\n") && out.contains("Invalid argument"), "{out}");
    // A cgroup rule allows a class of devices without making a node.
    let own_node = "mknod /tmp/lc c 10 237 && (: < /tmp/lc) && echo opened";
    assert_eq!(run(&d, &["--device-cgroup-rule", "c 10:* r", "busybox", "sh", "-c", own_node]).1, "opened\n");
    let (code, out) = run(&d, &["busybox", "sh", "-c", own_node]);
    assert!(code != Some(0) && out.contains("Operation not permitted"), "{out}");
    // The create is refused; the docker CLI exits 127, not 125, on "no such file or directory".
    let (code, out) = run(&d, &["--device", "/dev/no-such-device", "busybox", "true"]);
    assert_eq!(code, Some(127), "{out}");
    assert!(
        out.contains(r#"error gathering device information while adding custom device "/dev/no-such-device": no such file or directory"#),
        "{out}"
    );

    assert_eq!(run(&d, &["--sysctl", "net.ipv4.ip_forward=1", "busybox", "cat", "/proc/sys/net/ipv4/ip_forward"]).1, "1\n");
    assert_eq!(run(&d, &["--sysctl", "kernel.shmmni=1000", "busybox", "cat", "/proc/sys/kernel/shmmni"]).1, "1000\n");
    let (code, out) = run(&d, &["--sysctl", "kernel.core_pattern=x", "busybox", "true"]);
    assert_eq!(code, Some(125), "{out}");
    assert!(out.contains("sysctl 'kernel.core_pattern=x' is not allowed"), "{out}");
    let (code, out) = run(&d, &["--network", "host", "--sysctl", "net.ipv4.ip_forward=1", "busybox", "true"]);
    assert_eq!(code, Some(125), "{out}");
    assert!(out.contains("not allowed in host network namespace"), "{out}");

    // Names from the image's /etc/group, or numbers; for an exec's own user too.
    assert_eq!(run(&d, &["--group-add", "daemon", "--group-add", "4242", "busybox", "id", "-G"]).1, "0 1 4242\n");
    let (code, out) = run(&d, &["--group-add", "no-such-group", "busybox", "true"]);
    assert!(code != Some(0) && out.contains("unable to find group no-such-group"), "{out}");
    let o = d.docker(&["run", "-d", "--name", "grouped", "--group-add", "daemon", "busybox", "sleep", "60"]).unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = d.docker(&["exec", "-u", "berth", "grouped", "id", "-G"]).unwrap();
    // The kernel keeps supplementary groups sorted.
    assert_eq!(String::from_utf8_lossy(&o.stdout), "1000 1 1001\n");
}

#[test]
fn privileged_containers_get_every_capability_the_host_allows_and_no_filter() {
    berth_tests::require_root!();
    let d = Daemon::start();
    d.load_busybox();
    if d.docker(&["version"]).is_none() {
        return;
    }
    let status = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["busybox", "grep", "-E", "^(Seccomp|CapEff|NoNewPrivs):", "/proc/self/status"]);
        run(&d, &all)
    };
    let (code, confined) = status(&[]);
    assert_eq!(code, Some(0), "{confined}");
    assert!(confined.contains("Seccomp:\t2"), "{confined}");
    let (code, privileged) = status(&["--privileged"]);
    assert_eq!(code, Some(0), "{privileged}");
    assert!(privileged.contains("Seccomp:\t0"), "{privileged}");
    // Everything in berthd's own bounding set (a host may withhold some).
    let host_bounding = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:").map(|v| v.trim().to_string()))
        .unwrap();
    assert!(privileged.contains(&format!("CapEff:\t{host_bounding}")), "{privileged} vs {host_bounding}");
    // Mounts allowed, and the host's devices there (one this host has, as an example).
    assert_eq!(
        run(&d, &["--privileged", "busybox", "sh", "-c", "mount -t tmpfs none /tmp && echo ok"]),
        (Some(0), "ok\n".into())
    );
    if std::path::Path::new("/dev/loop-control").exists() {
        assert_eq!(run(&d, &["--privileged", "busybox", "ls", "/dev/loop-control"]), (Some(0), "/dev/loop-control\n".into()));
        let (code, out) = run(&d, &["busybox", "ls", "/dev/loop-control"]);
        assert!(code != Some(0), "{out}");
    }
}
