//! The shim's life: it outlives its launcher and whoever started it, shrugs off
//! SIGTERM while the container runs, fails cleanly, records kills, shuts down on
//! request only after the exit, and its own death leaves the container running.

use std::time::Duration;

use berth_tests::require_root;
use berth_tests::runtime::v1_cgroup_dirs;
use serde_json::json;

use crate::support::{KillOnDrop, ShimTest, alive, kill, proc_stat, wait_gone, wait_until};

fn runtime_status(t: &ShimTest) -> String {
    t.rt.state(&t.b.id)["status"].as_str().unwrap_or_default().to_string()
}

#[test]
fn the_shim_outlives_its_launcher_and_parent_and_ignores_sigterm() {
    require_root!();
    let t = ShimTest::new(&["sleep", "1000"], |_| {});
    // The "daemon": a shell that starts the shim, reports, and stays.
    let start = format!("{:?}", t.start_cmd(&[]));
    let mut parent = KillOnDrop(
        std::process::Command::new("sh")
            .args(["-c", &format!(
                "exec 7>{0}/leaked; {start} > {0}/pid.out; echo started > {0}/done; exec sleep 1000",
                t.rt.work.path().display()
            )])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let done = t.rt.work.path().join("done");
    assert!(wait_until(Duration::from_secs(30), || done.exists()), "the launcher never returned");
    let init: i32 = berth_tests::runtime::read(t.rt.work.path().join("pid.out")).trim().parse().expect("init pid");
    let shim = t.shim_pid();
    let stat = proc_stat(shim).expect("the shim runs");
    assert_ne!(stat[1].parse::<i32>().unwrap(), parent.0.id() as i32, "the shim is not its starter's child");
    assert_ne!(stat[3], proc_stat(std::process::id() as i32).unwrap()[3], "the shim has its own session");

    // Nothing of the shim leaks into the container: its init has stdio only.
    let mut fds: Vec<String> = std::fs::read_dir(format!("/proc/{init}/fd"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    fds.sort();
    assert_eq!(fds, ["0", "1", "2"], "the container's init holds more than its stdio");

    // Nor its signal handling: nothing ignored (SIGPIPE!) or blocked in the container.
    let status = berth_tests::runtime::read(format!("/proc/{init}/status"));
    let mask = |name: &str| {
        let hex = status.lines().find_map(|l| l.strip_prefix(name)).expect(name).trim();
        u64::from_str_radix(hex, 16).unwrap()
    };
    assert_eq!(mask("SigIgn:") & (1 << (libc::SIGPIPE - 1)), 0, "SIGPIPE is ignored in the container");
    assert_eq!(mask("SigBlk:"), 0, "signals are blocked in the container");
    // Nor does the shim keep what its starter leaked to it (fd 7 here).
    let leaked = t.rt.work.path().join("leaked");
    for e in std::fs::read_dir(format!("/proc/{shim}/fd")).unwrap() {
        assert_ne!(std::fs::read_link(e.unwrap().path()).ok().as_deref(), Some(leaked.as_path()), "the shim kept an inherited fd");
    }

    parent.0.kill().unwrap();
    parent.0.wait().unwrap();
    kill(shim, libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(500));
    assert!(alive(shim), "SIGTERM or the parent's death stopped the shim");
    assert!(alive(init), "the container stopped");
    assert_eq!(runtime_status(&t), "running");
    let state = t.control(json!({"op": "state"}));
    assert_eq!((&state["status"], &state["pid"], &state["exit_code"]), (&json!("running"), &json!(init), &json!(null)));

    // Shutdown waits for the exit; after it, the shim cleans up and leaves.
    assert!(t.control(json!({"op": "shutdown"}))["error"].is_string());
    t.rt.run(&["kill", &t.b.id, "KILL"]).ok();
    assert_eq!(t.wait()["exit_code"], 137);
    assert_eq!(t.control(json!({"op": "shutdown"})), json!({"ok": true}));
    assert!(wait_gone(shim, Duration::from_secs(10)), "the shim did not exit after shutdown");
    for f in ["shim.pid", "attach.sock", "control.sock"] {
        assert!(!t.state.join(f).exists(), "{f} was left");
    }
    assert!(t.state.join("exit.json").exists(), "exit.json stays for the daemon");
    assert_eq!(runtime_status(&t), "stopped", "the shim does not delete the container");
}

#[test]
fn a_missing_executable_fails_start_and_leaves_nothing() {
    require_root!();
    let t = ShimTest::new(&["no-such-command"], |_| {});
    let r = t.start(&[]);
    assert_eq!(r.code, Some(1), "stdout={:?} stderr={:?}", r.stdout, r.stderr);
    assert!(r.stderr.contains("executable file not found"), "{:?}", r.stderr);
    assert!(r.stdout.is_empty(), "{:?}", r.stdout);
    assert!(!t.rt.root.path().join(&t.b.id).exists(), "the runtime's state was left");
    for dir in v1_cgroup_dirs(&t.b.id) {
        assert!(!dir.exists(), "{} was left", dir.display());
    }
    assert!(wait_until(Duration::from_secs(5), || t.shim_processes().is_empty()), "a shim process was left");
    for f in ["shim.pid", "attach.sock", "control.sock", "exit.json"] {
        assert!(!t.state.join(f).exists(), "{f} was left");
    }
    let shim_log = berth_tests::runtime::read(t.state.join("shim.log"));
    assert!(shim_log.contains("executable file not found"), "{shim_log}");
}

#[test]
fn bad_arguments_fail_before_anything_is_made() {
    require_root!();
    let t = ShimTest::new(&["sh"], |s| s["process"]["terminal"] = true.into());
    let r = t.start(&[]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("--tty"), "{:?}", r.stderr);
    let r = t.start(&["--stdin-once"]);
    assert_eq!(r.code, Some(2), "clap: --stdin-once requires --stdin: {:?}", r.stderr);
    assert!(!t.rt.root.path().join(&t.b.id).exists());
    assert!(t.shim_processes().is_empty());
}

#[test]
fn a_container_killed_with_sigkill_exits_137_with_signal_9() {
    require_root!();
    let t = ShimTest::new(&["sleep", "1000"], |_| {});
    t.start_ok(&[]);
    t.rt.run(&["kill", &t.b.id, "KILL"]).ok();
    let w = t.wait();
    assert_eq!((&w["exit_code"], &w["signal"], &w["oom_killed"]), (&json!(137), &json!(9), &json!(false)), "{w}");
    assert_eq!(t.exit_json(), w);
}

#[test]
fn a_shim_killed_with_sigkill_leaves_the_container_running() {
    require_root!();
    let t = ShimTest::new(&["sleep", "1000"], |_| {});
    let init = t.start_ok(&[]);
    let shim = t.shim_pid();
    kill(shim, libc::SIGKILL);
    assert!(wait_gone(shim, Duration::from_secs(5)));
    std::thread::sleep(Duration::from_millis(200));
    assert!(alive(init), "the container died with its shim");
    assert_eq!(runtime_status(&t), "running");
}

#[test]
fn an_idle_shim_is_small() {
    require_root!();
    let t = ShimTest::new(&["sleep", "1000"], |_| {});
    t.start_ok(&["--stdin"]);
    let _client = t.attach(json!({"stdin": true, "stdout": true, "stderr": true}));
    assert_eq!(t.control(json!({"op": "state"}))["status"], "running");
    let status = berth_tests::runtime::read(format!("/proc/{}/status", t.shim_pid()));
    let field = |name: &str| -> String {
        status.lines().find_map(|l| l.strip_prefix(name)).unwrap_or_else(|| panic!("{name} in {status}")).trim().to_string()
    };
    let kib = |name: &str| -> u64 { field(name).trim_end_matches("kB").trim().parse().expect("a size in kB") };
    let (rss, anon) = (kib("VmRSS:"), kib("RssAnon:"));
    eprintln!("idle shim: VmRSS {rss} KiB, of which anonymous {anon} KiB");
    assert_eq!(field("Threads:"), "1", "the shim is single-threaded");
    // Debug builds included (their code pages are most of VmRSS, shared by all shims).
    assert!(rss < 16 * 1024, "an idle shim uses {rss} KiB");
    assert!(anon < 4 * 1024, "an idle shim has {anon} KiB of its own memory");
}

#[test]
fn a_container_killed_by_the_oom_killer_is_reported_oom_killed() {
    require_root!();
    // tail keeps a line that never ends in memory: 16 MiB are not enough.
    let t = ShimTest::new(&["sh", "-c", "head -c 200000000 /dev/zero | tail -n 1"], |s| {
        s["linux"]["resources"] = json!({"memory": {"limit": 16 << 20, "swap": 16 << 20}});
    });
    t.start_ok(&[]);
    let w = t.wait();
    assert_eq!(w["oom_killed"], true, "{w}");
    assert_eq!(t.exit_json(), w);
}

#[test]
fn after_the_exit_the_shim_leaves_on_sigterm_or_after_its_linger_time() {
    require_root!();
    let lingering = ShimTest::new(&["true"], |_| {});
    lingering.start_ok(&["--linger", "1"]);
    let termed = ShimTest::new(&["true"], |_| {});
    termed.start_ok(&[]);
    let (a, b) = (lingering.shim_pid(), termed.shim_pid());
    assert_eq!(lingering.wait()["exit_code"], 0);
    assert_eq!(termed.wait()["exit_code"], 0);
    kill(b, libc::SIGTERM);
    assert!(wait_gone(b, Duration::from_secs(5)), "SIGTERM after the exit did not end the shim");
    assert!(wait_gone(a, Duration::from_secs(10)), "the shim outstayed --linger");
    for t in [&lingering, &termed] {
        assert!(!t.state.join("control.sock").exists());
        assert_eq!(t.exit_json()["exit_code"], 0);
    }
}

#[test]
fn a_spare_becomes_the_shim_of_the_container_it_is_sent_and_leaves_quietly_without_one() {
    require_root!();
    use std::io::{BufRead, Write};
    use std::process::{Command, Stdio};
    // No arguments: stdin ends, the spare exits 0 and starts nothing.
    let idle = Command::new(berth_tests::bin("berth-shim"))
        .arg("spare")
        .stdin(Stdio::null())
        .output()
        .expect("spawn berth-shim spare");
    assert!(idle.status.success() && idle.stdout.is_empty(), "{idle:?}");

    let t = ShimTest::new(&["sh", "-c", "echo from-spare"], |_| {});
    let cmd = t.start_cmd(&[]);
    let args: Vec<&str> = cmd.get_args().skip(1).map(|a| a.to_str().unwrap()).collect();
    let mut spare = KillOnDrop(
        Command::new(berth_tests::bin("berth-shim"))
            .arg("spare")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn berth-shim spare"),
    );
    // It waits, loaded, until its arguments come.
    std::thread::sleep(Duration::from_millis(100));
    assert!(spare.0.try_wait().unwrap().is_none(), "the spare left before its work");
    let mut stdin = spare.0.stdin.take().unwrap();
    writeln!(stdin, "{}", serde_json::to_string(&args).unwrap()).unwrap();
    drop(stdin);
    let mut report = String::new();
    std::io::BufReader::new(spare.0.stdout.take().unwrap()).read_line(&mut report).unwrap();
    let report: serde_json::Value = serde_json::from_str(&report).expect("a JSON report");
    assert!(report["pid"].as_i64().is_some_and(|p| p > 0), "{report}");
    // The spare itself is the shim: same pid.
    assert_eq!(t.shim_pid(), spare.0.id() as i32);
    assert_eq!(t.wait()["exit_code"], 0);
    assert!(t.records(&t.log).iter().any(|r| r["log"] == "from-spare\n"));

    // Arguments that are not a JSON array: refused with a reason, nothing started.
    let bad = Command::new(berth_tests::bin("berth-shim"))
        .arg("spare")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(b"{\"id\": 1}\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("JSON array"), "{bad:?}");
}
