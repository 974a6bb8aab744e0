//! Networking through berthd, driven by the real docker CLI: a container's own
//! network namespace has its loopback up (127.0.0.1 and ::1, as Docker gives every
//! container), on the `none` network and by default; `host` shares the host's; and a
//! run leaves no namespace behind.

use std::process::Output;

use berth_tests::daemon::Daemon;

fn ok(o: Output) -> String {
    assert!(o.status.success(), "status {:?}, stderr: {}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn docker(d: &Daemon, args: &[&str]) -> Output {
    d.docker(args).expect("docker CLI")
}

/// The namespaces berthd holds for running containers.
fn held(d: &Daemon) -> Vec<String> {
    std::fs::read_dir(d.dir.path().join("exec/netns"))
        .map(|dir| dir.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

/// [`held`] once it is `want` (a run's end is released right after its exit is
/// reported, so a client may see the exit first), or as it is after 10 s.
fn held_settles(d: &Daemon, want: &[&str]) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let now = held(d);
        if now == want || std::time::Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_containers_loopback_is_up_and_its_namespace_goes_with_its_run() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    // What programs that bind localhost need: lo up, with its addresses.
    for network in [&["--network", "none"][..], &[]] {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(network);
        // A server on localhost, and a client that reaches it.
        let script = "ip -o addr show lo; ip -o link show lo; nc -l -p 7000 > /tmp/got & sleep 0.3; echo over-lo | nc -w 2 127.0.0.1 7000; sleep 0.2; cat /tmp/got";
        args.extend(["busybox", "sh", "-c", script]);
        let out = ok(docker(&d, &args));
        assert!(out.contains("inet 127.0.0.1/8"), "{network:?}: {out}");
        assert!(out.contains("LOWER_UP") || out.contains(",UP"), "{network:?}: {out}");
        assert!(out.ends_with("over-lo\n"), "{network:?}: {out}");
        // Nothing but lo.
        let links = ok(docker(&d, &["run", "--rm", "--network", "none", "busybox", "sh", "-c", "ls /sys/class/net"]));
        assert_eq!(links.split_whitespace().collect::<Vec<_>>(), ["lo"], "{links}");
    }
    // A running container holds its namespace: one of its own, not the host's.
    ok(docker(&d, &["run", "-d", "--name", "held", "busybox", "sleep", "600"]));
    let id = ok(docker(&d, &["inspect", "-f", "{{.Id}}", "held"])).trim().to_string();
    assert_eq!(held_settles(&d, &[&id]), std::slice::from_ref(&id));
    let pid = ok(docker(&d, &["inspect", "-f", "{{.State.Pid}}", "held"])).trim().to_string();
    let theirs = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    assert_ne!(theirs, std::fs::read_link("/proc/self/ns/net").unwrap());
    // `host` shares the host's and makes none.
    let host_links = ok(docker(&d, &["run", "--rm", "--network", "host", "busybox", "ls", "/sys/class/net"]));
    assert!(host_links.split_whitespace().count() >= 1);
    assert_eq!(held_settles(&d, &[&id]), std::slice::from_ref(&id));
    // Stopped or removed, nothing is left.
    ok(docker(&d, &["stop", "-t", "0", "held"]));
    assert_eq!(held_settles(&d, &[]), Vec::<String>::new());
    ok(docker(&d, &["start", "held"]));
    assert_eq!(held_settles(&d, &[&id]), std::slice::from_ref(&id));
    ok(docker(&d, &["rm", "-f", "held"]));
    assert_eq!(held_settles(&d, &[]), Vec::<String>::new());
}

/// berthd killed with -9 while a container runs: the restarted daemon keeps the
/// running container's namespace, and removes one whose run ended while it was away.
#[test]
fn namespaces_are_reconciled_after_a_crash() {
    berth_tests::require_root!();
    let Some(mut d) = Daemon::with_busybox_for_docker() else { return };
    ok(docker(&d, &["run", "-d", "--name", "stays", "busybox", "sleep", "600"]));
    ok(docker(&d, &["run", "-d", "--name", "ends", "busybox", "sleep", "600"]));
    let stays = ok(docker(&d, &["inspect", "-f", "{{.Id}}", "stays"])).trim().to_string();
    let ends_pid = ok(docker(&d, &["inspect", "-f", "{{.State.Pid}}", "ends"])).trim().parse::<i32>().unwrap();
    d.kill9();
    // Its run ends while berthd is away, and a namespace of no container at all is left.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(ends_pid), nix::sys::signal::Signal::SIGKILL).unwrap();
    std::fs::write(d.dir.path().join("exec/netns/0000"), "").unwrap();
    d.start_again(&[]);
    assert_eq!(held_settles(&d, &[&stays]), std::slice::from_ref(&stays));
    assert_eq!(ok(docker(&d, &["exec", "stays", "sh", "-c", "ip -o addr show lo | grep -c 127.0.0.1"])).trim(), "1");
}
