//! `exec` through berthd with the docker CLI: output and exit codes, Docker's codes for
//! commands that cannot run, user/workdir/env, piped stdin, detached execs, a terminal
//! under a pty, and a paused container refused.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use berth_tests::daemon::Daemon;
use berth_tests::pty::Pty;

fn daemon() -> Option<Daemon> {
    Daemon::with_busybox_for_docker()
}

fn docker(d: &Daemon, args: &[&str]) -> Output {
    d.docker(args).expect("docker CLI")
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{:?}: {}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn docker_cmd(d: &Daemon) -> Command {
    let mut c = Command::new("/usr/local/bin/docker");
    c.env("DOCKER_HOST", d.host()).env("DOCKER_CONFIG", d.dir.path().join("docker-config"));
    c
}

#[test]
fn exec_runs_in_the_container_with_dockers_exit_codes() {
    berth_tests::require_root!();
    let Some(d) = daemon() else { return };
    ok(docker(&d, &["run", "-d", "--name", "host", "-e", "FROM_RUN=1", "busybox", "sleep", "1000"]));
    assert_eq!(ok(docker(&d, &["exec", "host", "sh", "-c", "echo $FROM_RUN $$ $(hostname)"])).split(' ').next(), Some("1"));
    let o = docker(&d, &["exec", "host", "sh", "-c", "echo err >&2; exit 5"]);
    assert_eq!((o.status.code(), String::from_utf8_lossy(&o.stderr).as_ref()), (Some(5), "err\n"));
    assert_eq!(docker(&d, &["exec", "host", "no-such-command"]).status.code(), Some(127));
    let o = docker(&d, &["exec", "-u", "nosuch", "host", "true"]);
    assert_eq!(o.status.code(), Some(126));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unable to find user nosuch"));
    assert_eq!(ok(docker(&d, &["exec", "-u", "nobody", "-w", "/tmp", "-e", "X=7", "host", "sh", "-c", "echo $X $(id -u) $(pwd)"])), "7 65534 /tmp\n");
    // The exec joins the container's namespaces: it sees the container's processes.
    assert!(ok(docker(&d, &["exec", "host", "ps", "-o", "comm"])).contains("sleep"));
    let mut child = docker_cmd(&d).args(["exec", "-i", "host", "tr", "a-z", "A-Z"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"piped in\n").unwrap();
    assert_eq!(String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout), "PIPED IN\n");
    // Detached: returns at once; its effect shows later.
    ok(docker(&d, &["exec", "-d", "host", "sh", "-c", "sleep 0.2; touch /made-by-exec"]));
    std::thread::sleep(Duration::from_millis(800));
    ok(docker(&d, &["exec", "host", "test", "-f", "/made-by-exec"]));
    // A paused container is refused, as Docker refuses it.
    ok(docker(&d, &["pause", "host"]));
    let o = docker(&d, &["exec", "host", "true"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is paused, unpause the container before exec"));
    ok(docker(&d, &["unpause", "host"]));
    ok(docker(&d, &["rm", "-f", "host"]));
    let o = docker(&d, &["exec", "host", "true"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("No such container: host"));
}

#[test]
fn exec_it_gets_a_terminal_of_the_clients_size() {
    berth_tests::require_root!();
    let Some(d) = daemon() else { return };
    ok(docker(&d, &["run", "-d", "--name", "tty-host", "busybox", "sleep", "1000"]));
    let mut cmd = docker_cmd(&d);
    cmd.args(["exec", "-it", "tty-host", "sh"]);
    let mut t = Pty::spawn(cmd, 33, 111);
    t.expect("/ # ", Duration::from_secs(10));
    t.send(b"echo in-exec-$((2+3)); stty size\r");
    t.expect("in-exec-5", Duration::from_secs(5));
    t.expect("33 111", Duration::from_secs(5));
    t.send(b"exit 4\r");
    assert_eq!(t.wait(Duration::from_secs(10)), 4);
    ok(docker(&d, &["rm", "-f", "tty-host"]));
}

#[test]
fn top_lists_the_containers_processes() {
    berth_tests::require_root!();
    let Some(d) = daemon() else { return };
    ok(docker(&d, &["run", "-d", "--name", "topped", "busybox", "sh", "-c", "sleep 1000 & sleep 999"]));
    std::thread::sleep(Duration::from_millis(300));
    let out = ok(docker(&d, &["top", "topped"]));
    let mut lines = out.lines();
    assert!(lines.next().unwrap().split_whitespace().any(|t| t == "PID"), "{out}");
    let rows: Vec<&str> = lines.collect();
    // sh execs its last command: two processes.
    assert_eq!(rows.len(), 2, "{out}");
    assert!(rows.iter().any(|r| r.ends_with("sleep 1000")) && rows.iter().any(|r| r.ends_with("sleep 999")), "{out}");
    let out = ok(docker(&d, &["top", "topped", "-o", "pid,comm"]));
    assert_eq!(out.lines().next().unwrap().split_whitespace().collect::<Vec<_>>(), ["PID", "COMMAND"]);
    ok(docker(&d, &["stop", "-t", "1", "topped"]));
    let o = docker(&d, &["top", "topped"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not running"), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `GET /exec/{id}/json` through the API.
fn exec_inspect(d: &Daemon, id: &str) -> serde_json::Value {
    let client = api::Client::new(&d.host()).unwrap();
    berth_tests::daemon::block_on(client.get_json::<serde_json::Value>(&format!("/exec/{id}/json"), &[])).unwrap()
}

#[test]
fn an_exec_outlives_a_daemon_kill_and_reports_its_exit_after_it() {
    berth_tests::require_root!();
    let Some(mut d) = daemon() else { return };
    ok(docker(&d, &["run", "-d", "--name", "host", "busybox", "sleep", "1000"]));
    // Writes a line every 50 ms for 2 s: long after its client and berthd are gone, so
    // a process that lost its reader would die of SIGPIPE (141) instead of exiting 7.
    let script = "i=0; while [ $i -lt 40 ]; do echo line $i; i=$((i+1)); sleep 0.05; done; exit 7";
    let mut client = docker_cmd(&d).args(["exec", "host", "sh", "-c", script]).stdout(Stdio::piped()).spawn().unwrap();
    // The exec runs: its id is among the container's execs (created ones too, as
    // dockerd lists them), and it has a process.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (exec_id, pid) = loop {
        let ids = ok(docker(&d, &["inspect", "-f", "{{json .ExecIDs}}", "host"]));
        if let Ok(ids) = serde_json::from_str::<Vec<String>>(ids.trim())
            && let Some(id) = ids.into_iter().next()
        {
            let e = exec_inspect(&d, &id);
            if e["Running"] == true && e["Pid"].as_i64().is_some_and(|p| p > 0) {
                break (id, e["Pid"].as_i64().unwrap());
            }
        }
        assert!(std::time::Instant::now() < deadline, "the exec never showed as running");
        std::thread::sleep(Duration::from_millis(20));
    };
    d.kill9_and_restart();
    let _ = client.kill();
    let _ = client.wait();
    // Known again after the restart, with the same process, then its exit code.
    let after = exec_inspect(&d, &exec_id);
    assert_eq!(after["Pid"].as_i64(), Some(pid), "{after}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let e = exec_inspect(&d, &exec_id);
        if e["Running"] == false {
            assert_eq!(e["ExitCode"], 7, "{e}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the exec never ended: {e}");
        std::thread::sleep(Duration::from_millis(50));
    }
    ok(docker(&d, &["rm", "-f", "host"]));
}
