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
