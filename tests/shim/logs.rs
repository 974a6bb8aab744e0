//! The json-file log: Docker's records, partial lines, rotation; and the exit record.

use berth_tests::require_root;
use serde_json::json;

use crate::support::{ShimTest, assert_recent};

#[test]
fn output_goes_to_the_json_log_and_the_exit_status_is_recorded() {
    require_root!();
    let t = ShimTest::new(&["sh", "-c", "echo hello; echo err >&2; exit 3"], |_| {});
    let pid = t.start_ok(&[]);
    assert!(pid > 0);
    for sock in ["attach.sock", "control.sock"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(t.state.join(sock)).expect(sock).permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{sock} mode {mode:o}");
    }
    let w = t.wait();
    assert_eq!(w["exit_code"], 3, "{w}");
    assert_eq!(w["oom_killed"], false, "{w}");
    assert!(w.get("signal").is_none(), "{w}");
    assert_recent(w["finished_at"].as_str().expect("finished_at"));

    let mut records = t.records(&t.log);
    records.sort_by_key(|r| r["stream"].as_str().unwrap_or_default().to_string());
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!((&records[0]["log"], &records[0]["stream"]), (&json!("err\n"), &json!("stderr")));
    assert_eq!((&records[1]["log"], &records[1]["stream"]), (&json!("hello\n"), &json!("stdout")));
    for r in &records {
        assert_recent(r["time"].as_str().expect("time"));
    }
    // Docker's exact layout: keys in order log, stream, time, nothing else.
    let text = berth_tests::runtime::read(&t.log);
    for line in text.lines() {
        assert!(line.starts_with("{\"log\":\"") && line.contains("\",\"stream\":\"") && line.contains("\",\"time\":\""), "{line}");
        assert!(line.ends_with("Z\"}"), "{line}");
    }

    let exit = t.exit_json();
    assert_eq!(exit, w, "exit.json and the wait reply agree");
    let state = t.control(json!({"op": "state"}));
    assert_eq!((&state["status"], &state["exit_code"], &state["pid"]), (&json!("exited"), &json!(3), &json!(pid)));
}

#[test]
fn a_partial_line_is_its_own_record_and_long_lines_are_cut() {
    require_root!();
    // 20000 bytes without a newline, then "tail" without one either.
    let t = ShimTest::new(&["sh", "-c", "head -c 20000 /dev/zero | tr '\\0' x; echo; printf tail"], |_| {});
    t.start_ok(&[]);
    assert_eq!(t.wait()["exit_code"], 0);
    let records = t.records(&t.log);
    let logs: Vec<&str> = records.iter().map(|r| r["log"].as_str().unwrap()).collect();
    let joined: String = logs.concat();
    assert_eq!(joined, format!("{}\ntail", "x".repeat(20000)));
    assert!(logs.iter().all(|l| l.len() <= 16 * 1024), "records are cut at 16 KiB");
    assert_eq!(logs.first().map(|l| l.len()), Some(16 * 1024), "{:?}", logs.iter().map(|l| l.len()).collect::<Vec<_>>());
    assert_eq!(logs.last(), Some(&"tail"));
}

#[test]
fn the_log_rotates_at_max_size_keeping_max_file_files() {
    require_root!();
    let t = ShimTest::new(
        &["sh", "-c", "i=0; while [ $i -lt 200 ]; do echo line-$i-abcdefghijklmnopqrstuvwxyz; i=$((i+1)); done"],
        |_| {},
    );
    t.start_ok(&["--log-max-size", "1024", "--log-max-file", "3"]);
    assert_eq!(t.wait()["exit_code"], 0);
    let rotated = |n: u32| std::path::PathBuf::from(format!("{}.{n}", t.log.display()));
    assert!(rotated(1).exists() && rotated(2).exists(), "two rotated files");
    assert!(!rotated(3).exists(), "no more than max-file files");
    let mut all = Vec::new();
    for path in [rotated(2), rotated(1), t.log.clone()] {
        let size = std::fs::metadata(&path).unwrap().len();
        // Rotation happens before a write once the file reached max-size: one
        // record (~90 bytes) over at most.
        assert!(size < 1024 + 200, "{} is {size} bytes", path.display());
        all.extend(t.records(&path));
    }
    let lines: Vec<String> = all.iter().map(|r| r["log"].as_str().unwrap().to_string()).collect();
    // The newest lines, in order, ending with the last one.
    assert_eq!(lines.last().map(String::as_str), Some("line-199-abcdefghijklmnopqrstuvwxyz\n"));
    let first: usize = lines[0].trim_start_matches("line-").split('-').next().unwrap().parse().unwrap();
    for (k, l) in lines.iter().enumerate() {
        assert_eq!(l, &format!("line-{}-abcdefghijklmnopqrstuvwxyz\n", first + k));
    }
    assert!(first > 0, "older lines were rotated away");
}
