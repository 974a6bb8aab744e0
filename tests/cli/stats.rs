//! `berth stats` end to end: a busy and an idle container on a private berthd,
//! shown with docker's table, figures and `--format`, and compared with the
//! real docker CLI's `stats` against the same daemon where docker is installed.

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use berth_tests::daemon::Daemon;

use crate::support::{Ran, berth_cmd, berth_within, docker};

fn ok(r: Ran) -> String {
    assert_eq!(r.code, Some(0), "{r:?}");
    r.stdout
}

/// `berth ARGS` that must finish within 60 s.
fn run(d: &Daemon, args: &[&str]) -> Ran {
    berth_within(d, args, Duration::from_secs(60)).0
}

/// The table's rows as columns split on runs of 2+ spaces, by name.
fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .skip(1)
        .map(|l| l.split("   ").map(str::trim).filter(|c| !c.is_empty()).map(str::to_string).collect())
        .collect()
}

fn percent(cell: &str) -> f64 {
    cell.strip_suffix('%').and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("not a percentage: {cell:?}"))
}

/// A daemon with a spinning container `spin` (64 MiB limit) and an idle `nap`.
fn with_two() -> Daemon {
    let d = Daemon::start();
    d.load_busybox();
    ok(run(&d, &["run", "-d", "--name", "spin", "-m", "64m", "busybox", "sh", "-c", "while true; do :; done"]));
    ok(run(&d, &["run", "-d", "--name", "nap", "busybox", "sleep", "1000"]));
    d
}

#[test]
fn no_stream_shows_running_containers_like_docker() {
    berth_tests::require_root!();
    let d = with_two();
    // Let the spinner use a full sample period.
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    let out = ok(run(&d, &["stats", "--no-stream"]));
    let took = start.elapsed();
    let first = out.lines().next().unwrap_or_default();
    assert!(first.starts_with("CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT"), "{out}");
    // Docker's columns (their widths follow the values, NET I/O's included).
    let columns: Vec<&str> = first.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
    assert_eq!(columns, ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"], "{out}");
    let table = rows(&out);
    assert_eq!(table.len(), 2, "{out}");
    let spin = table.iter().find(|r| r[1] == "spin").unwrap_or_else(|| panic!("no spin row: {out}"));
    let nap = table.iter().find(|r| r[1] == "nap").unwrap_or_else(|| panic!("no nap row: {out}"));
    for r in [spin, nap] {
        assert_eq!(r.len(), 8, "{out}");
        assert_eq!(r[0].len(), 12, "{out}");
        assert!(r[0].bytes().all(|b| b.is_ascii_hexdigit()), "{out}");
        assert_eq!(r[7], "1", "{out}");
        assert!(r[3].contains(" / "), "{out}");
        assert!(r[5].contains(" / ") && r[6].contains(" / "), "{out}");
    }
    assert!(percent(&spin[2]) > 50.0, "{out}");
    assert!(percent(&nap[2]) < 50.0, "{out}");
    assert!(spin[3].ends_with(" / 64MiB"), "{out}");
    assert!(percent(&spin[4]) < 100.0, "{out}");
    // Both samples (each ~100 ms in the daemon) were taken at once.
    assert!(took < Duration::from_secs(2), "{took:?}");

    // --format, and the ids in full with --no-trunc.
    let out = ok(run(&d, &["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}"]));
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    assert_eq!(lines, ["nap 1", "spin 1"], "{out}");
    let out = ok(run(&d, &["container", "stats", "--no-stream", "--no-trunc", "--format", "{{.ID}}", "nap"]));
    assert_eq!(out.trim().len(), 64, "{out}");
    let out = ok(run(&d, &["stats", "--no-stream", "--format", "{{json .}}", "spin"]));
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(
        (v["Container"].as_str(), v["Name"].as_str(), v["PIDs"].as_str()),
        (Some("spin"), Some("spin"), Some("1"))
    );

    // The real docker CLI against the same daemon: the same header and containers.
    if let Some(want) = docker(&d, &["stats", "--no-stream"]) {
        assert_eq!(want.code, Some(0), "{want:?}");
        let got = ok(run(&d, &["stats", "--no-stream"]));
        // Column widths follow the values, which move between two samples.
        let header = |t: &str| t.lines().next().unwrap_or_default().split("  ").map(str::trim).filter(|c| !c.is_empty()).map(String::from).collect::<Vec<_>>();
        assert_eq!(header(&want.stdout), header(&got), "docker:\n{}\nberth:\n{got}", want.stdout);
        let names = |t: &str| {
            let mut n: Vec<String> = rows(t).into_iter().map(|r| r[1].clone()).collect();
            n.sort();
            n
        };
        assert_eq!(names(&want.stdout), names(&got), "docker:\n{}\nberth:\n{got}", want.stdout);
    }

    // A stopped container listed with -a shows zeros; without -a it is left out.
    ok(run(&d, &["stop", "-t", "0", "nap"]));
    let out = ok(run(&d, &["stats", "--no-stream", "--format", "{{.Name}}"]));
    assert_eq!(out, "spin\n");
    let out = ok(run(&d, &["stats", "-a", "--no-stream", "--format", "{{.Name}} {{.CPUPerc}} {{.PIDs}}"]));
    assert!(out.lines().any(|l| l == "nap 0.00% 0"), "{out}");
}

#[test]
fn named_containers_errors_and_streaming() {
    berth_tests::require_root!();
    let d = with_two();
    let r = run(&d, &["stats", "--no-stream", "nosuch"]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (Some(1), "", "Error response from daemon: No such container: nosuch\n"),
        "{r:?}"
    );
    if let Some(want) = docker(&d, &["stats", "--no-stream", "nosuch"]) {
        assert_eq!((want.code, want.stderr.as_str()), (r.code, r.stderr.as_str()), "{want:?}");
    }
    // Named containers in the order given, each once.
    let out =
        ok(run(&d, &["stats", "--no-stream", "--format", "table {{.Container}}\t{{.Name}}", "nap", "spin", "nap"]));
    assert_eq!(out, "CONTAINER   NAME\nnap         nap\nspin        spin\n");
    let out = ok(run(&d, &["stats", "--no-stream", "--format", "{{.Name}}\t{{.CPUPerc}}", "spin"]));
    assert!(out.starts_with("spin\t") && percent(out.trim().split('\t').nth(1).unwrap_or("")) > 50.0, "{out}");

    // Streaming to a pipe: a table each second, no screen clearing, until killed.
    let mut child = berth_cmd()
        .env("DOCKER_HOST", d.host())
        .args(["stats", "spin", "nap"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn berth stats");
    std::thread::sleep(Duration::from_millis(3500));
    assert!(child.try_wait().expect("wait").is_none(), "berth stats ended early");
    let _ = child.kill();
    let _ = child.wait();
    let mut out = String::new();
    child.stdout.take().expect("stdout").read_to_string(&mut out).expect("read");
    let tables = out.lines().filter(|l| l.starts_with("CONTAINER ID")).count();
    assert!((2..=5).contains(&tables), "{tables} tables: {out}");
    assert!(!out.contains('\x1b'), "{out:?}");
    let last: Vec<&str> = out.lines().rev().take(2).collect();
    assert!(last.iter().any(|l| l.contains("   spin   ")), "{out}");
    assert!(last.iter().any(|l| l.contains("   nap   ")), "{out}");
    assert!(out.starts_with("CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT"), "{out}");
}
