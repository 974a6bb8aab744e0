//! `berth exec` end to end: commands run in a running busybox container with
//! their output, exit statuses, user, working directory, environment, piped
//! stdin, detached, and under a terminal; its failures worded as docker's,
//! and compared with the docker CLI's against the same daemon where docker
//! is installed.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use berth_tests::daemon::Daemon;

use crate::support::{Ran, berth, berth_cmd, berth_within, docker};

fn ok(r: Ran) -> String {
    assert_eq!(r.code, Some(0), "{r:?}");
    r.stdout
}

/// `berth ARGS` that must finish within 60 s.
fn run(d: &Daemon, args: &[&str]) -> Ran {
    berth_within(d, args, Duration::from_secs(60)).0
}

/// A daemon with busybox:latest loaded and a container `name` running `sleep 300`.
fn with_running(name: &str) -> Daemon {
    let d = Daemon::start();
    let archive = d.dir.path().join("busybox.tar");
    fixture::write_docker_archive(&archive, "busybox:latest").expect("archive");
    assert_eq!(ok(berth(&d, &["load", "-i", archive.to_str().expect("utf-8")])), "Loaded image: busybox:latest\n");
    ok(run(&d, &["run", "-d", "--name", name, "busybox", "sleep", "300"]));
    d
}

/// Removes the named containers when the test ends, passed or failed.
struct Cleanup<'a>(&'a Daemon, Vec<&'a str>);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for name in &self.1 {
            let _ = berth(self.0, &["rm", "-f", name]);
        }
    }
}

#[test]
fn exec_prints_output_and_exits_with_the_command_s_status() {
    berth_tests::require_root!();
    let d = with_running("ex");
    let _c = Cleanup(&d, vec!["ex"]);
    let r = run(&d, &["exec", "ex", "echo", "hi"]);
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (Some(0), "hi\n", ""), "{r:?}");
    let r = run(&d, &["exec", "ex", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (Some(3), "out\n", "err\n"), "{r:?}");
    // The command's own flags are its arguments; `berth container exec` is the same command.
    let r = run(&d, &["container", "exec", "ex", "ls", "-d", "/etc"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(0), "/etc\n"), "{r:?}");
    let r = run(&d, &["exec", "ex", "nonexistent"]);
    assert_eq!(r.code, Some(127), "{r:?}");

    // User, working directory and environment (a bare KEY from berth's own environment).
    let r = berth_within_env(&d, &["exec", "-u", "nobody", "-w", "/tmp", "-e", "X=1", "-e", "FROM_CLIENT", "ex"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(0), "nobody /tmp 1 yes\n"), "{r:?}");

    if let Some(want) = docker(&d, &["exec", "ex", "sh", "-c", "echo out; exit 3"]) {
        let r = run(&d, &["exec", "ex", "sh", "-c", "echo out; exit 3"]);
        assert_eq!((r.code, r.stdout.as_str()), (want.code, want.stdout.as_str()), "{r:?} {want:?}");
    }
    if let Some(want) = docker(&d, &["exec", "ex", "nonexistent"]) {
        assert_eq!(want.code, Some(127), "{want:?}");
    }
}

/// `berth exec … sh -c 'id -un; pwd; echo $X $FROM_CLIENT'` with `FROM_CLIENT=yes` set for berth.
fn berth_within_env(d: &Daemon, args: &[&str]) -> Ran {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["sh", "-c", "echo $(id -un) $PWD $X $FROM_CLIENT"]);
    berth_cmd().env("DOCKER_HOST", d.host()).env("FROM_CLIENT", "yes").args(&all).output().expect("run berth").into()
}

#[test]
fn exec_reads_piped_stdin_with_i_and_detaches_with_d() {
    berth_tests::require_root!();
    let d = with_running("exin");
    let _c = Cleanup(&d, vec!["exin"]);
    let mut child = berth_cmd()
        .env("DOCKER_HOST", d.host())
        .args(["exec", "-i", "exin", "sh", "-c", "tr a-z A-Z; echo end"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn berth");
    child.stdin.take().expect("stdin").write_all(b"hello\nworld\n").expect("write stdin");
    let r: Ran = child.wait_with_output().expect("output").into();
    assert_eq!((r.code, r.stdout.as_str()), (Some(0), "HELLO\nWORLD\nend\n"), "{r:?}");
    // Without -i the command's stdin is empty.
    let r = run(&d, &["exec", "exin", "sh", "-c", "cat; echo done"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(0), "done\n"), "{r:?}");

    let r = run(&d, &["exec", "-d", "exin", "sh", "-c", "echo detached > /tmp/marker"]);
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (Some(0), "", ""), "{r:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = run(&d, &["exec", "exin", "cat", "/tmp/marker"]);
        if r.code == Some(0) && r.stdout == "detached\n" {
            break;
        }
        assert!(Instant::now() < deadline, "the detached exec did not run: {r:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn exec_it_under_a_terminal() {
    berth_tests::require_root!();
    let d = with_running("extty");
    let _c = Cleanup(&d, vec!["extty"]);
    let mut cmd = berth_cmd();
    cmd.env("DOCKER_HOST", d.host()).args(["exec", "-it", "extty", "sh"]);
    let mut t = berth_tests::pty::Pty::spawn(cmd, 30, 100);
    t.expect("/ # ", Duration::from_secs(10));
    t.send(b"echo sum-$((40+2)); stty size\r");
    t.expect("sum-42", Duration::from_secs(5));
    t.expect("30 100", Duration::from_secs(5));
    t.send(b"exit 4\r");
    assert_eq!(t.wait(Duration::from_secs(10)), 4);

    // The detach keys end the session (docker reports it, status 1); the container runs on.
    let mut cmd = berth_cmd();
    cmd.env("DOCKER_HOST", d.host()).args(["exec", "-it", "--detach-keys", "ctrl-a,a", "extty", "sh"]);
    let mut t = berth_tests::pty::Pty::spawn(cmd, 24, 80);
    t.expect("/ # ", Duration::from_secs(10));
    t.send(b"\x01a");
    assert_eq!(t.wait(Duration::from_secs(10)), 1);
    assert!(t.screen.contains("read escape sequence"), "{:?}", t.screen);
    assert_eq!(ok(berth(&d, &["inspect", "-f", "{{.State.Status}}", "extty"])).trim(), "running");
    if let Some(docker) =
        ["/usr/local/bin/docker", "/usr/bin/docker"].into_iter().find(|p| std::path::Path::new(p).exists())
    {
        let mut cmd = std::process::Command::new(docker);
        cmd.env("DOCKER_HOST", d.host()).env("DOCKER_CONFIG", d.dir.path().join("docker-config")).args([
            "exec",
            "-it",
            "--detach-keys",
            "ctrl-a,a",
            "extty",
            "sh",
        ]);
        let mut t = berth_tests::pty::Pty::spawn(cmd, 24, 80);
        t.expect("/ # ", Duration::from_secs(10));
        t.send(b"\x01a");
        assert_eq!(t.wait(Duration::from_secs(10)), 1, "{:?}", t.screen);
        assert!(t.screen.contains("read escape sequence"), "{:?}", t.screen);
    }

    // -it without a terminal on stdin is refused before anything is created.
    let r = run(&d, &["exec", "-it", "extty", "sh"]);
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (Some(1), "", "the input device is not a TTY\n"));
    if let Some(want) = docker(&d, &["exec", "-it", "extty", "sh"]) {
        assert_eq!((r.code, r.stderr.as_str()), (want.code, want.stderr.as_str()), "{want:?}");
    }
}

#[test]
fn exec_failures_like_docker() {
    berth_tests::require_root!();
    let d = with_running("exrun");
    let _c = Cleanup(&d, vec!["exrun", "exstopped"]);
    let r = run(&d, &["exec", "nosuch", "true"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(1), ""), "{r:?}");
    assert_eq!(r.stderr, "Error response from daemon: No such container: nosuch\n");
    if let Some(want) = docker(&d, &["exec", "nosuch", "true"]) {
        assert_eq!((r.code, r.stderr.as_str()), (want.code, want.stderr.as_str()), "{want:?}");
    }

    let id = ok(berth(&d, &["create", "--name", "exstopped", "busybox", "true"]));
    let r = run(&d, &["exec", "exstopped", "true"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(1), ""), "{r:?}");
    assert_eq!(r.stderr, format!("Error response from daemon: Container {} is not running\n", id.trim()), "{r:?}");
    if let Some(want) = docker(&d, &["exec", "exstopped", "true"]) {
        assert_eq!((r.code, r.stderr.as_str()), (want.code, want.stderr.as_str()), "{want:?}");
    }

    let r = run(&d, &["exec", "exrun"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(
        r.stderr,
        "berth: 'berth exec' requires at least 2 arguments\n\nUsage:  berth exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\nSee 'berth exec --help' for more information\n"
    );
    if let Some(want) = docker(&d, &["exec", "exrun"]) {
        assert_eq!((r.code, r.stderr.as_str()), (want.code, want.stderr.as_str()), "{want:?}");
    }
}
