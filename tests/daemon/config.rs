//! berthd's configuration is checked at start: a bad flag or daemon.json stops it
//! with one clear line, and two daemons with their own roots run side by side.

use std::process::Command;

use berth_tests::daemon::Daemon;

fn refused(args: &[&str], daemon_json: &str, want: &str) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("daemon.json");
    std::fs::write(&cfg, daemon_json).unwrap();
    let sock = format!("unix://{}", dir.path().join("s.sock").display());
    let out = Command::new(berth_tests::bin("berthd"))
        .args(["--data-root", dir.path().join("d").to_str().unwrap(), "--exec-root", dir.path().join("e").to_str().unwrap()])
        .args(["--config-file", cfg.to_str().unwrap(), "-H", &sock])
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?} {daemon_json}: {err}");
    assert!(err.contains(want), "{err:?} lacks {want:?}");
    assert!(!dir.path().join("s.sock").exists());
}

#[test]
fn bad_configuration_is_refused() {
    refused(&[], r#"{"no-such-option": true}"#, "don't match any configuration option: no-such-option");
    refused(&[], r#"{"data-root": "/tmp/x"}"#, "both as a flag and in the configuration file: data-root");
    refused(&[], r#"{"live-restore": "sometimes"}"#, "invalid configuration file");
    refused(&["--log-level", "loud"], "{}", "unable to parse logging level");
    refused(&["--default-runtime", "ghost"], "{}", "not a configured runtime");
    refused(&["-H", "tcp://127.0.0.1:2375"], "{}", "unix sockets only");
}

#[test]
fn two_daemons_run_side_by_side_and_a_second_on_the_same_socket_is_refused() {
    let a = Daemon::start();
    let b = Daemon::start();
    assert_ne!(a.socket, b.socket);
    let out = Command::new(berth_tests::bin("berthd")).args(a.args()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pid file found") || err.contains("in use"), "{err}");
    // The refused daemon did not take the first one's socket away.
    assert!(std::os::unix::net::UnixStream::connect(&a.socket).is_ok());
}

fn docker_ok(d: &Daemon, args: &[&str]) -> String {
    let out = d.docker(args).expect("docker CLI");
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn pid_alive(pid: i32) -> bool {
    pid > 0 && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

#[test]
fn the_log_level_decides_what_berthd_logs() {
    berth_tests::require_root!();
    for (level, shows_steps) in [("debug", true), ("info", false)] {
        let Some(d) = Daemon::with_busybox_for_docker_and(&["--log-level", level]) else { return };
        assert_eq!(docker_ok(&d, &["run", "--rm", "busybox", "echo", "hi"]), "hi");
        let log = d.log();
        for step in ["start: mount the rootfs", "start: write the bundle", "start: running"] {
            assert_eq!(log.contains(step), shows_steps, "--log-level {level}: {step:?} in\n{log}");
        }
        // Every level shows what berthd tells at start.
        assert!(log.contains("API listening on"), "{log}");
    }
}

#[test]
fn without_live_restore_a_clean_shutdown_stops_the_containers() {
    berth_tests::require_root!();
    let Some(mut d) = Daemon::with_busybox_for_docker_and(&["--live-restore=false"]) else { return };
    // Exits 3 on SIGTERM: the stop's signal, not the timeout's SIGKILL, ends it.
    let script = "trap 'exit 3' TERM; while :; do sleep 0.1; done";
    let plain = docker_ok(&d, &["run", "-d", "busybox", "sh", "-c", script]);
    let comes_back = docker_ok(&d, &["run", "-d", "--restart", "unless-stopped", "busybox", "sh", "-c", script]);
    let pid_of = |d: &Daemon, id: &str| docker_ok(d, &["inspect", "-f", "{{.State.Pid}}", id]).parse::<i32>().unwrap();
    let pids = [pid_of(&d, &plain), pid_of(&d, &comes_back)];
    assert!(pids.iter().all(|p| pid_alive(*p)));
    let status = d.stop().expect("berthd ran");
    assert!(status.success(), "{status}: {}", d.log());
    assert!(!pids.iter().any(|p| pid_alive(*p)), "containers outlived berthd without live restore");
    // Nor did a restart policy bring one back while berthd went down: no shim is left.
    for shim in std::fs::read_dir(d.dir.path().join("exec/s")).into_iter().flatten().flatten() {
        let pid = std::fs::read_to_string(shim.path().join("shim.pid")).unwrap_or_default();
        let pid: i32 = pid.trim().parse().unwrap_or(0);
        assert!(!pid_alive(pid), "shim {pid} of {} outlived berthd", shim.path().display());
    }
    d.start_again(&["--live-restore=false"]);
    assert_eq!(docker_ok(&d, &["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", &plain]), "exited 3");
    // Stopped by the shutdown, not by a user: its policy brings it back.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while docker_ok(&d, &["inspect", "-f", "{{.State.Status}}", &comes_back]) != "running" {
        assert!(std::time::Instant::now() < deadline, "unless-stopped container did not come back");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn with_live_restore_the_default_containers_outlive_a_clean_shutdown() {
    berth_tests::require_root!();
    let Some(mut d) = Daemon::with_busybox_for_docker() else { return };
    let id = docker_ok(&d, &["run", "-d", "busybox", "sleep", "1000"]);
    let pid = docker_ok(&d, &["inspect", "-f", "{{.State.Pid}}", &id]).parse::<i32>().unwrap();
    assert!(d.stop().expect("berthd ran").success());
    assert!(pid_alive(pid), "the container died with berthd");
    d.start_again(&[]);
    assert_eq!(docker_ok(&d, &["inspect", "-f", "{{.State.Status}} {{.State.Pid}}", &id]), format!("running {pid}"));
    assert_eq!(docker_ok(&d, &["info", "-f", "{{.LiveRestoreEnabled}}"]), "true");
}
