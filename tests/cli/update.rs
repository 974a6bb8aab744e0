//! `berth update` and `berth port` end to end, and the warnings `berth run` prints for
//! resource options, compared with the docker CLI against the same daemon where docker
//! is installed.

use std::time::Duration;

use berth_tests::daemon::Daemon;

use crate::support::{Ran, berth, berth_within, docker};

fn ok(r: Ran) -> String {
    assert_eq!(r.code, Some(0), "{r:?}");
    r.stdout
}

fn with_busybox() -> Daemon {
    let d = Daemon::start();
    d.load_busybox();
    d
}

fn run(d: &Daemon, args: &[&str]) -> Ran {
    berth_within(d, args, Duration::from_secs(60)).0
}

#[test]
fn update_prints_each_container_and_changes_the_record() {
    berth_tests::require_root!();
    let d = with_busybox();
    ok(run(&d, &["run", "-d", "--name", "one", "-m", "64m", "busybox", "sleep", "1000"]));
    ok(run(&d, &["create", "--name", "two", "busybox", "true"]));
    let r = berth(&d, &["update", "--memory", "96m", "--memory-swap", "192m", "--pids-limit", "30", "one", "two"]);
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (Some(0), "one\ntwo\n", ""), "{r:?}");
    for name in ["one", "two"] {
        let hc = ok(berth(&d, &["inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}", name]));
        assert_eq!(hc, "100663296 30\n", "{name}");
    }
    // The same with docker's CLI.
    if let Some(r) = docker(&d, &["update", "--cpu-shares", "512", "one", "two"]) {
        assert_eq!((r.code, r.stdout.as_str()), (Some(0), "one\ntwo\n"), "{r:?}");
    }
    assert_eq!(ok(berth(&d, &["inspect", "-f", "{{.HostConfig.CpuShares}}", "two"])), "512\n");

    // A failure is reported at the end; the others are still updated (exit 1).
    let r = berth(&d, &["update", "--restart", "always", "nosuch", "two"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(1), "two\n"), "{r:?}");
    assert_eq!(r.stderr, "Error response from daemon: No such container: nosuch\n");
    if let Some(dr) = docker(&d, &["update", "--restart", "always", "nosuch", "two"]) {
        assert_eq!((dr.code, dr.stdout.as_str(), dr.stderr.as_str()), (r.code, r.stdout.as_str(), r.stderr.as_str()));
    }
    assert_eq!(ok(berth(&d, &["inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}", "two"])), "always\n");
}

#[test]
fn update_without_flags_or_containers_fails_as_docker() {
    berth_tests::require_root!();
    let d = with_busybox();
    ok(run(&d, &["create", "--name", "idle", "busybox", "true"]));
    let r = berth(&d, &["update", "idle"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(1), ""), "{r:?}");
    assert_eq!(r.stderr, "you must provide one or more flags when using this command\n");
    let none = berth(&d, &["update", "--cpus", "1"]);
    assert_eq!(none.code, Some(1), "{none:?}");
    assert!(none.stderr.starts_with("berth: 'berth update' requires at least 1 argument\n\nUsage:  berth update [OPTIONS] CONTAINER [CONTAINER...]"), "{none:?}");
    let bad = berth(&d, &["update", "--cpu-period", "10", "idle"]);
    assert_eq!(bad.code, Some(1), "{bad:?}");
    assert_eq!(
        bad.stderr,
        "Error response from daemon: CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)\n"
    );
    for (args, ours) in [(vec!["update", "idle"], &r), (vec!["update", "--cpu-period", "10", "idle"], &bad)] {
        if let Some(theirs) = docker(&d, &args) {
            assert_eq!((theirs.code, &theirs.stdout, &theirs.stderr), (ours.code, &ours.stdout, &ours.stderr), "{args:?}");
        }
    }
}

#[test]
fn port_reads_the_published_ports() {
    berth_tests::require_root!();
    let d = with_busybox();
    ok(run(&d, &["create", "--name", "web", "busybox", "true"]));
    // Nothing is published until the network manager lands: nothing is printed.
    let r = berth(&d, &["port", "web"]);
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (Some(0), "", ""), "{r:?}");
    let r = berth(&d, &["port", "web", "80/tcp"]);
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (Some(1), "", "Error: No public port '80/tcp' published for web\n"));
    let bad = berth(&d, &["port", "web", "http"]);
    assert_eq!(bad.code, Some(1), "{bad:?}");
    let missing = berth(&d, &["port", "nosuch"]);
    assert_eq!((missing.code, missing.stderr.as_str()), (Some(1), "Error response from daemon: No such container: nosuch\n"));
    let arity = berth(&d, &["container", "port"]);
    assert_eq!(arity.code, Some(1), "{arity:?}");
    assert!(arity.stderr.starts_with("berth: 'berth container port' requires at least 1 and at most 2 arguments\n"), "{arity:?}");
    for (args, ours) in [
        (vec!["port", "web"], berth(&d, &["port", "web"])),
        (vec!["port", "web", "80/tcp"], r),
        (vec!["port", "web", "http"], bad),
        (vec!["port", "nosuch"], missing),
    ] {
        if let Some(theirs) = docker(&d, &args) {
            assert_eq!((theirs.code, &theirs.stdout, &theirs.stderr), (ours.code, &ours.stdout, &ours.stderr), "{args:?}");
        }
    }
}

#[test]
fn run_prints_the_daemon_s_resource_warnings() {
    berth_tests::require_root!();
    let d = with_busybox();
    let r = run(&d, &["run", "--rm", "--kernel-memory", "50m", "busybox", "true"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(
        r.stderr,
        "WARNING: Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.\n"
    );
    let r = run(&d, &["run", "--rm", "--cpus", "0.5", "--cpu-quota", "50000", "busybox", "true"]);
    assert_eq!(r.code, Some(125), "{r:?}");
    assert!(r.stderr.contains("Conflicting options: Nano CPUs and CPU Quota cannot both be set"), "{r:?}");
    let r = run(&d, &["run", "--rm", "--device-write-bps", "sda:1mb", "busybox", "true"]);
    assert_eq!(r.code, Some(125), "{r:?}");
    assert!(r.stderr.starts_with("invalid argument \"sda:1mb\" for \"--device-write-bps\" flag: bad format for device path: sda:1mb"), "{r:?}");
}
