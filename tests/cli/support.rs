//! Running `berth` (and docker) against a test daemon and reading the result.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use berth_tests::daemon::Daemon;

/// What a command printed and how it exited.
#[derive(Debug)]
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Ran {
    fn from(o: Output) -> Ran {
        Ran {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// `berth` with no host from the environment.
pub fn berth_cmd() -> Command {
    let mut c = Command::new(berth_tests::bin("berth"));
    c.env_remove("BERTH_HOST").env_remove("DOCKER_HOST").stdin(Stdio::null());
    c
}

/// `berth ARGS` against `d` (through `$DOCKER_HOST`, as docker users set it).
pub fn berth(d: &Daemon, args: &[&str]) -> Ran {
    berth_cmd().env("DOCKER_HOST", d.host()).args(args).output().expect("run berth").into()
}

/// `berth ARGS` that must end within `limit`; returns the result and how long it took.
pub fn berth_within(d: &Daemon, args: &[&str], limit: Duration) -> (Ran, Duration) {
    let start = Instant::now();
    let mut child = berth_cmd()
        .env("DOCKER_HOST", d.host())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn berth");
    loop {
        if child.try_wait().expect("wait").is_some() {
            return (child.wait_with_output().expect("output").into(), start.elapsed());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out: Ran = child.wait_with_output().expect("output").into();
            panic!("berth {args:?} still running after {limit:?}: {out:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The docker CLI's result for the same command, with its product name
/// replaced by berth's, when docker is installed.
pub fn docker(d: &Daemon, args: &[&str]) -> Option<Ran> {
    let mut r: Ran = d.docker(args)?.into();
    for s in [&mut r.stdout, &mut r.stderr] {
        *s = s.replace("docker", "berth").replace("Docker", "berth").replace("berth Root Dir", "Docker Root Dir");
    }
    Some(r)
}

/// `berth ARGS` with `input` on its stdin (an archive, a prompt's answer).
pub fn berth_stdin(d: &Daemon, args: &[&str], input: &[u8]) -> Ran {
    use std::io::Write;
    let mut child = berth_cmd()
        .env("DOCKER_HOST", d.host())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn berth");
    let mut stdin = child.stdin.take().expect("stdin");
    // The daemon may answer (and berth exit) before reading it all.
    let _ = stdin.write_all(input);
    drop(stdin);
    child.wait_with_output().expect("output").into()
}

/// The docker CLI's result with only its error text naming berth: its stdout is
/// data that may say "docker" in its own right (`com.docker.…` options).
pub fn docker_errors_renamed(d: &Daemon, args: &[&str]) -> Option<Ran> {
    let mut r: Ran = d.docker(args)?.into();
    r.stderr = r.stderr.replace("docker", "berth");
    Some(r)
}

/// Runs each command with berth and, where docker is installed, docker, and
/// requires the same status, stdout and stderr.
pub fn same_as_docker(d: &Daemon, commands: &[&[&str]]) {
    for args in commands {
        let r = berth(d, args);
        if let Some(want) = docker_errors_renamed(d, args) {
            assert_eq!((r.code, &r.stdout, &r.stderr), (want.code, &want.stdout, &want.stderr), "{args:?}");
        }
    }
}

/// The text from the line `Server:` on.
pub fn server_section(s: &str) -> &str {
    s.find("\nServer:").map_or("", |i| &s[i + 1..])
}
