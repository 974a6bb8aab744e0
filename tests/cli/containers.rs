//! The container commands end to end: `berth run`, `create`, `start`, `stop`,
//! `kill`, `rm`, `wait`, `rename`, `pause`/`unpause`, `logs`, `ps`,
//! `inspect` and `export` against a private berthd running real containers,
//! with docker's output and exit statuses.

use std::time::Duration;

use berth_tests::daemon::Daemon;

use crate::support::{Ran, berth, berth_within, docker};

fn ok(r: Ran) -> String {
    assert_eq!(r.code, Some(0), "{r:?}");
    r.stdout
}

/// A daemon with busybox:latest loaded by `berth load -i`.
fn with_busybox() -> Daemon {
    let d = Daemon::start();
    let archive = d.dir.path().join("busybox.tar");
    fixture::write_docker_archive(&archive, "busybox:latest").expect("archive");
    assert_eq!(ok(berth(&d, &["load", "-i", archive.to_str().expect("utf-8")])), "Loaded image: busybox:latest\n");
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

/// `berth ARGS` that must finish within 60 s.
fn run(d: &Daemon, args: &[&str]) -> Ran {
    berth_within(d, args, Duration::from_secs(60)).0
}

#[test]
fn run_prints_output_and_exits_with_the_container_status() {
    berth_tests::require_root!();
    let d = with_busybox();
    let r = run(&d, &["run", "--rm", "busybox", "echo", "hi"]);
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (Some(0), "hi\n", ""), "{r:?}");
    // --rm removed it.
    assert_eq!(ok(berth(&d, &["ps", "-aq"])), "");

    let _c = Cleanup(&d, vec!["three"]);
    let r = run(&d, &["run", "--name", "three", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (Some(3), "out\n", "err\n"), "{r:?}");
    assert_eq!(ok(berth(&d, &["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "three"])), "exited 3\n");
    assert_eq!(ok(berth(&d, &["wait", "three"])), "3\n");

    // The command's own flags after the image are its arguments.
    let r = run(&d, &["run", "--rm", "busybox", "ls", "-d", "/etc"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(0), "/etc\n"), "{r:?}");
    // -e and -w reach the container.
    let r =
        run(&d, &["run", "--rm", "-e", "GREETING=hello", "-w", "/tmp", "busybox", "sh", "-c", "echo $GREETING $PWD"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(0), "hello /tmp\n"), "{r:?}");
}

#[test]
fn run_failures_have_docker_s_statuses() {
    berth_tests::require_root!();
    let d = with_busybox();
    let r = run(&d, &["run", "--rm", "nosuchimage"]);
    assert_eq!(r.code, Some(125), "{r:?}");
    assert!(r.stderr.starts_with("Unable to find image 'nosuchimage:latest' locally\nberth: "), "{r:?}");
    assert!(r.stderr.ends_with("\n\nRun 'berth run --help' for more information\n"), "{r:?}");
    assert_eq!(r.stdout, "");

    let _c = Cleanup(&d, vec!["nocmd"]);
    let r = run(&d, &["run", "--name", "nocmd", "busybox", "nonexistent-cmd"]);
    assert_eq!(r.code, Some(127), "{r:?}");
    assert!(r.stderr.starts_with("berth: Error response from daemon: "), "{r:?}");

    let r = run(&d, &["run", "--rm", "--restart", "always", "busybox"]);
    assert_eq!(r.code, Some(125), "{r:?}");
    assert_eq!(
        r.stderr,
        "berth: conflicting options: cannot specify both --restart and --rm\n\nRun 'berth run --help' for more information\n"
    );
    let r = run(&d, &["run", "-m", "1x", "busybox"]);
    assert_eq!(r.code, Some(125), "{r:?}");
    assert!(r.stderr.starts_with("invalid argument \"1x\" for \"-m, --memory\" flag: invalid suffix: 'x'\n"), "{r:?}");
    if let Some(want) = docker(&d, &["run", "--rm", "--restart", "always", "busybox"]) {
        assert_eq!((r.code, want.code), (Some(125), Some(125)));
    }
}

#[test]
fn detached_containers_logs_stop_and_rm() {
    berth_tests::require_root!();
    let d = with_busybox();
    let _c = Cleanup(&d, vec!["bg"]);
    let id = ok(run(&d, &["run", "-d", "--name", "bg", "busybox", "sh", "-c", "echo started; exec sleep 300"]));
    let id = id.trim();
    assert_eq!(id.len(), 64, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");

    let mut logs = String::new();
    for _ in 0..100 {
        logs = ok(berth(&d, &["logs", "bg"]));
        if !logs.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(logs, "started\n");

    let ps = ok(berth(&d, &["ps"]));
    let lines: Vec<&str> = ps.lines().collect();
    assert_eq!(lines.len(), 2, "{ps}");
    assert!(lines[0].starts_with("CONTAINER ID   IMAGE     COMMAND                  CREATED"), "{ps}");
    assert!(lines[1].starts_with(&format!("{}   busybox   \"sh -c ", &id[..12])), "{ps}");
    assert!(lines[1].ends_with("   bg"), "{ps}");
    assert_eq!(ok(berth(&d, &["ps", "--format", "{{.Names}} {{.State}}"])), "bg running\n");
    assert_eq!(ok(berth(&d, &["ps", "-q", "--no-trunc"])), format!("{id}\n"));
    assert_eq!(ok(berth(&d, &["inspect", "-f", "{{.State.Status}}", "bg"])), "running\n");
    assert_eq!(ok(berth(&d, &["container", "inspect", "--format", "{{.Name}} {{.Id}}", "bg"])), format!("/bg {id}\n"));

    // rm of a running container without -f is refused in docker's words.
    let r = berth(&d, &["rm", "bg"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.starts_with("Error response from daemon: "), "{r:?}");
    assert!(r.stderr.contains("stop the container before removing or force remove"), "{r:?}");

    assert_eq!(ok(run(&d, &["stop", "-t", "1", "bg"])), "bg\n");
    assert_eq!(ok(berth(&d, &["inspect", "-f", "{{.State.Running}}", "bg"])), "false\n");
    let all = ok(berth(&d, &["ps", "-a", "--format", "{{.Names}} {{.Status}}"]));
    assert!(all.starts_with("bg Exited (137) ") || all.starts_with("bg Exited (143) "), "{all}");
    assert_eq!(ok(berth(&d, &["rm", "bg"])), "bg\n");
    assert_eq!(ok(berth(&d, &["ps", "-a", "-q"])), "");
}

#[test]
fn create_start_attach_wait_rename_pause() {
    berth_tests::require_root!();
    let d = with_busybox();
    let _c = Cleanup(&d, vec!["made", "renamed", "sleeper"]);
    let id =
        ok(berth(&d, &["create", "--name", "made", "-l", "k=v", "busybox", "sh", "-c", "echo from-start; exit 4"]));
    assert_eq!(id.trim().len(), 64, "{id}");
    assert_eq!(ok(berth(&d, &["ps", "-a", "--format", "{{.Names}} {{.State}} {{.Label \"k\"}}"])), "made created v\n");
    let r = run(&d, &["start", "-a", "made"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(4), "from-start\n"), "{r:?}");
    assert_eq!(ok(berth(&d, &["rename", "made", "renamed"])), "");
    assert_eq!(ok(berth(&d, &["inspect", "-f", "{{.Name}}", "renamed"])), "/renamed\n");
    let r = berth(&d, &["inspect", "made"]);
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (Some(1), "[]\n", "Error: No such object: made\n"));

    ok(run(&d, &["run", "-d", "--name", "sleeper", "busybox", "sleep", "300"]));
    assert_eq!(ok(berth(&d, &["pause", "sleeper"])), "sleeper\n");
    assert_eq!(ok(berth(&d, &["inspect", "-f", "{{.State.Status}}", "sleeper"])), "paused\n");
    assert_eq!(ok(berth(&d, &["unpause", "sleeper"])), "sleeper\n");
    assert_eq!(ok(berth(&d, &["inspect", "-f", "{{.State.Status}}", "sleeper"])), "running\n");
    assert_eq!(ok(berth(&d, &["kill", "sleeper"])), "sleeper\n");
    assert_eq!(ok(run(&d, &["wait", "sleeper"])), "137\n");

    // Several containers: each is handled, the failures reported, status 1.
    let r = berth(&d, &["stop", "nosuch", "sleeper"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(1), "sleeper\n"), "{r:?}");
    assert_eq!(r.stderr, "Error response from daemon: No such container: nosuch\n");
    // rm -f of a missing container only reports it (docker 25+).
    let r = berth(&d, &["rm", "-f", "nosuch"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(0), ""), "{r:?}");
    assert_eq!(r.stderr, "Error response from daemon: No such container: nosuch\n");
}

#[test]
fn inspect_prints_docker_s_json() {
    berth_tests::require_root!();
    let d = with_busybox();
    let _c = Cleanup(&d, vec!["inspected"]);
    ok(berth(&d, &["create", "--name", "inspected", "busybox", "true"]));
    let out = ok(berth(&d, &["inspect", "inspected"]));
    assert!(out.starts_with("[\n    {\n        \"Id\": \""), "{out}");
    assert!(out.ends_with("\n    }\n]\n"), "{out}");
    let parsed: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(parsed[0]["Name"], "/inspected");
    assert_eq!(parsed[0]["Config"]["Cmd"], serde_json::json!(["true"]));
    let json = ok(berth(&d, &["inspect", "-f", "{{json .Config.Cmd}}", "inspected"]));
    assert_eq!(json, "[\"true\"]\n");
    // An image by the same command.
    assert_eq!(ok(berth(&d, &["inspect", "--type", "image", "-f", "{{.Os}}", "busybox"])), "linux\n");
    if let Some(want) = docker(&d, &["inspect", "inspected"]) {
        assert_eq!(out, want.stdout);
    }
    let r = berth(&d, &["container", "inspect", "nosuch"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(1), "[]\n"), "{r:?}");
    assert_eq!(r.stderr, "Error response from daemon: No such container: nosuch\n");
}

#[test]
fn export_writes_the_filesystem() {
    berth_tests::require_root!();
    let d = with_busybox();
    let _c = Cleanup(&d, vec!["exported"]);
    ok(berth(&d, &["create", "--name", "exported", "busybox", "true"]));
    let out = d.dir.path().join("fs.tar");
    assert_eq!(ok(berth(&d, &["export", "-o", out.to_str().expect("utf-8"), "exported"])), "");
    let names = tar_entries(&std::fs::read(&out).expect("read export"));
    assert!(names.iter().any(|n| n.trim_start_matches("./") == "bin/busybox"), "{names:?}");
}

/// The entry names of an uncompressed tar archive.
fn tar_entries(data: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    let mut off = 0;
    while off + 512 <= data.len() {
        let header = &data[off..off + 512];
        if header.iter().all(|b| *b == 0) {
            break;
        }
        let name = String::from_utf8_lossy(&header[..100]).trim_end_matches('\0').to_string();
        let size_field = String::from_utf8_lossy(&header[124..136]).trim_matches(['\0', ' ']).to_string();
        let size = usize::from_str_radix(&size_field, 8).unwrap_or(0);
        names.push(name);
        off += 512 + size.div_ceil(512) * 512;
    }
    names
}

#[test]
fn run_it_under_a_terminal_and_attach_with_detach_keys() {
    berth_tests::require_root!();
    let d = with_busybox();
    let _c = Cleanup(&d, vec!["tty-shell"]);
    let mut cmd = crate::support::berth_cmd();
    cmd.env("DOCKER_HOST", d.host()).args(["run", "-it", "--rm", "busybox", "sh"]);
    let mut t = berth_tests::pty::Pty::spawn(cmd, 30, 100);
    t.expect("/ # ", Duration::from_secs(10));
    t.send(b"echo sum-$((40+2)); stty size\r");
    t.expect("sum-42", Duration::from_secs(5));
    t.expect("30 100", Duration::from_secs(5));
    t.send(b"exit 7\r");
    assert_eq!(t.wait(Duration::from_secs(10)), 7);

    // Detached with a terminal, attached, detached again with ctrl-p ctrl-q: still running.
    ok(berth(&d, &["run", "-dit", "--name", "tty-shell", "busybox", "sh"]));
    let mut cmd = crate::support::berth_cmd();
    cmd.env("DOCKER_HOST", d.host()).args(["attach", "tty-shell"]);
    let mut t = berth_tests::pty::Pty::spawn(cmd, 24, 80);
    std::thread::sleep(Duration::from_millis(300));
    t.send(b"echo attached-$((1+1))\r");
    t.expect("attached-2", Duration::from_secs(10));
    t.send(b"\x10\x11");
    t.wait(Duration::from_secs(10));
    assert!(t.screen.contains("read escape sequence"), "{:?}", t.screen);
    assert_eq!(ok(berth(&d, &["inspect", "-f", "{{.State.Status}}", "tty-shell"])).trim(), "running");
}

#[test]
fn top_prints_the_containers_processes_as_docker() {
    berth_tests::require_root!();
    let d = with_busybox();
    let _c = Cleanup(&d, vec!["topped"]);
    ok(berth(&d, &["run", "-d", "--name", "topped", "busybox", "sleep", "1000"]));
    let out = ok(berth(&d, &["top", "topped", "-o", "pid,comm"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("PID") && lines[0].ends_with("COMMAND"), "{out}");
    assert!(lines[1].ends_with("sleep"), "{out}");
    if let Some(want) = docker(&d, &["top", "topped", "-o", "pid,comm"]) {
        assert_eq!(out, want.stdout);
    }
    let r = berth(&d, &["top"]);
    assert_eq!(r.code, Some(1), "{r:?}");
}

#[test]
fn diff_shows_the_writable_layers_changes_as_docker() {
    berth_tests::require_root!();
    let d = with_busybox();
    let _c = Cleanup(&d, vec!["changed"]);
    ok(berth(&d, &["run", "--name", "changed", "busybox", "sh", "-c", "echo x > /etc/new-file; rm /bin/ls; mkdir -p /data/sub"]));
    let out = ok(berth(&d, &["diff", "changed"]));
    for line in ["C /etc", "A /etc/new-file", "C /bin", "D /bin/ls", "A /data", "A /data/sub"] {
        assert!(out.lines().any(|l| l == line), "{line} missing: {out}");
    }
    if let Some(want) = docker(&d, &["diff", "changed"]) {
        assert_eq!(out, want.stdout);
    }
}
