//! attach.sock: framed output and stdin without a tty, raw bytes and resize with one,
//! StdinOnce, several clients, a client that does not read, --wait-attach.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

use berth_tests::require_root;
use serde_json::json;

use crate::support::{KillOnDrop, ShimTest, read_frames, read_until, stream_text, take_frames};

#[test]
fn attach_with_stdin_sends_input_and_gets_framed_output() {
    require_root!();
    let t = ShimTest::new(&["sh", "-c", "read line; echo got:$line; echo bye >&2"], |_| {});
    t.start_ok(&["--stdin"]);
    let mut s = t.attach(json!({"stdin": true, "stdout": true, "stderr": true, "logs": false}));
    s.write_all(b"abc\n").unwrap();
    // The stream ends (EOF) once the container exited and its output was sent.
    let sent = Instant::now();
    let frames = read_frames(&mut s, |_| false);
    assert!(sent.elapsed() < Duration::from_secs(5), "the stream ended {:?} after the input", sent.elapsed());
    assert!(frames.contains(&(1, b"got:abc\n".to_vec())), "{frames:?}");
    assert_eq!(stream_text(&frames, 2), "bye\n");
    assert_eq!(t.wait()["exit_code"], 0);
}

#[test]
fn stdin_once_closes_stdin_when_the_client_half_closes() {
    require_root!();
    let t = ShimTest::new(&["sh", "-c", "cat; echo done"], |_| {});
    t.start_ok(&["--stdin", "--stdin-once"]);
    let mut s = t.attach(json!({"stdin": true, "stdout": true, "stderr": false}));
    s.write_all(b"one\ntwo\n").unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let frames = read_frames(&mut s, |_| false);
    assert_eq!(stream_text(&frames, 1), "one\ntwo\ndone\n");
    assert_eq!(t.wait()["exit_code"], 0);
}

#[test]
fn without_stdin_once_stdin_stays_open_for_the_next_client() {
    require_root!();
    let t = ShimTest::new(&["sh", "-c", "read a; read b; echo $a-$b"], |_| {});
    t.start_ok(&["--stdin"]);
    let mut first = t.attach(json!({"stdin": true, "stdout": true}));
    first.write_all(b"one\n").unwrap();
    first.shutdown(Shutdown::Write).unwrap();
    // A request for the log's replay is refused: the connection just ends.
    let mut replay = t.attach(json!({"stdout": true, "logs": true}));
    assert_eq!(replay.read(&mut [0u8; 16]).unwrap(), 0);
    let mut second = t.attach(json!({"stdin": true, "stdout": true}));
    second.write_all(b"two\n").unwrap();
    let frames = read_frames(&mut second, |_| false);
    assert_eq!(stream_text(&frames, 1), "one-two\n");
    assert_eq!(stream_text(&read_frames(&mut first, |_| false), 1), "one-two\n", "half-closed clients still get output");
}

#[test]
fn tty_attach_is_raw_and_resize_changes_the_terminal_size() {
    require_root!();
    let t = ShimTest::new(&["sh"], |s| s["process"]["terminal"] = true.into());
    t.start_ok(&["--tty", "--stdin", "--console-width", "80", "--console-height", "24"]);
    let mut s = t.attach(json!({"stdin": true, "stdout": true, "stderr": true}));
    let mut seen = Vec::new();
    s.write_all(b"stty size\n").unwrap();
    assert!(read_until(&mut s, &mut seen, "24 80"), "{:?}", String::from_utf8_lossy(&seen));
    assert_ne!(seen.get(..4), Some(&[1u8, 0, 0, 0][..]), "raw bytes, not frames");

    assert_eq!(t.control(json!({"op": "resize", "width": 100, "height": 30})), json!({"ok": true}));
    s.write_all(b"stty size\n").unwrap();
    assert!(read_until(&mut s, &mut seen, "30 100"), "{:?}", String::from_utf8_lossy(&seen));

    s.write_all(b"exit 7\n").unwrap();
    assert_eq!(t.wait()["exit_code"], 7);
    let records = t.records(&t.log);
    assert!(records.iter().all(|r| r["stream"] == "stdout"), "a tty is one stream");
    let logged: String = records.iter().map(|r| r["log"].as_str().unwrap()).collect();
    assert!(logged.contains("30 100"), "{logged:?}");
    // Once the container has exited there is no terminal to resize.
    let err = t.control(json!({"op": "resize", "width": 1, "height": 1}));
    assert!(err["error"].is_string(), "{err}");
}

#[test]
fn wait_attach_starts_the_container_once_a_client_is_attached() {
    require_root!();
    let t = ShimTest::new(&["sh", "-c", "echo early; echo e2 >&2"], |_| {});
    let mut launcher =
        KillOnDrop(t.start_cmd(&["--wait-attach"]).stdout(std::process::Stdio::null()).spawn().expect("spawn berth-shim"));
    let sock = t.state.join("attach.sock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !sock.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut s = t.attach(json!({"stdout": true, "stderr": true}));
    assert!(launcher.0.wait().unwrap().success(), "start failed");
    let frames = read_frames(&mut s, |_| false);
    assert_eq!(stream_text(&frames, 1), "early\n");
    assert_eq!(stream_text(&frames, 2), "e2\n");
}

#[test]
fn a_client_that_does_not_read_blocks_neither_the_container_nor_other_clients() {
    require_root!();
    let line = "x".repeat(500);
    let script = format!("read go; yes {line} | head -n 4000");
    let t = ShimTest::new(&["sh", "-c", &script], |_| {});
    t.start_ok(&["--stdin"]);
    let _stuck = t.attach(json!({"stdout": true}));
    let mut reader = t.attach(json!({"stdin": true, "stdout": true}));
    reader.write_all(b"go\n").unwrap();
    let reading = std::thread::spawn(move || {
        let mut all = Vec::new();
        reader.read_to_end(&mut all).map(|_| all)
    });
    let started = Instant::now();
    assert_eq!(t.wait()["exit_code"], 0);
    assert!(started.elapsed() < Duration::from_secs(20), "the container was held up");
    let records = t.records(&t.log);
    assert_eq!(records.len(), 4000);
    let mut all = reading.join().unwrap().expect("read the healthy client's stream");
    let mut frames = Vec::new();
    take_frames(&mut all, &mut frames);
    assert!(all.is_empty(), "the stream ended on a frame boundary");
    assert_eq!(stream_text(&frames, 1).lines().count(), 4000, "the reading client got everything");
}
