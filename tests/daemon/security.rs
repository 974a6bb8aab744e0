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
    assert_eq!(run(&d, &["busybox", "sh", "-c", "ls /proc | grep -c '^[0-9]'"]).1.trim(), "3");
    let host_pid = std::process::id().to_string();
    let (code, out) = run(&d, &["busybox", "kill", "-0", &host_pid]);
    assert!(code != Some(0) && out.contains("No such process"), "{out}");
}
