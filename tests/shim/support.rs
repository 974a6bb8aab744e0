//! A shim under test: a bundle, a private runtime root, state directory and log path,
//! small clients for the shim's sockets, and a guard that leaves nothing behind — on
//! drop it asks the shim to shut down, kills every process of this test's shim by pid,
//! and (through the runtime guard) force-deletes the container.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_tests::runtime::{Bundle, Ran, Runtime};
use serde_json::{Value, json};

pub const TIMEOUT: Duration = Duration::from_secs(30);

pub struct ShimTest {
    pub state: PathBuf,
    pub log: PathBuf,
    pub b: Bundle,
    // Dropped after `drop` below ran: force-deletes the container, removes the dirs.
    pub rt: Runtime,
}

impl ShimTest {
    pub fn new(args: &[&str], edit: impl FnOnce(&mut Value)) -> ShimTest {
        let rt = Runtime::new();
        let b = rt.bundle(args, edit);
        let state = rt.path(&format!("{}.state", b.id));
        let log = rt.path(&format!("{}-json.log", b.id));
        ShimTest { state, log, b, rt }
    }

    /// `berth-shim start` with this test's paths and `extra` flags, not waited for.
    pub fn start_cmd(&self, extra: &[&str]) -> Command {
        let mut c = Command::new(berth_tests::bin("berth-shim"));
        c.arg("start")
            .args(["--id", &self.b.id])
            .arg("--bundle")
            .arg(&self.b.dir)
            .arg("--runtime-root")
            .arg(self.rt.root.path())
            .arg("--state-dir")
            .arg(&self.state)
            .arg("--log-path")
            .arg(&self.log)
            .args(extra)
            .stdin(Stdio::null());
        c
    }

    pub fn start(&self, extra: &[&str]) -> Ran {
        self.start_cmd(extra).output().expect("spawn berth-shim").into()
    }

    /// Starts and returns the init pid the launcher printed.
    #[track_caller]
    pub fn start_ok(&self, extra: &[&str]) -> i32 {
        let r = self.start(extra);
        r.ok();
        r.stdout.trim().parse().unwrap_or_else(|_| panic!("start printed {:?}", r.stdout))
    }

    /// One control request on a fresh connection, and its reply.
    pub fn control(&self, req: Value) -> Value {
        let s = UnixStream::connect(self.state.join("control.sock")).expect("connect control.sock");
        s.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut w = s.try_clone().unwrap();
        writeln!(w, "{req}").unwrap();
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).expect("control reply");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("reply {line:?}: {e}"))
    }

    pub fn wait(&self) -> Value {
        self.control(json!({"op": "wait"}))
    }

    /// Connects to attach.sock and sends the request line.
    pub fn attach(&self, req: Value) -> UnixStream {
        let mut s = UnixStream::connect(self.state.join("attach.sock")).expect("connect attach.sock");
        s.set_read_timeout(Some(TIMEOUT)).unwrap();
        writeln!(s, "{req}").unwrap();
        s
    }

    pub fn shim_pid(&self) -> i32 {
        berth_tests::runtime::read(self.state.join("shim.pid")).trim().parse().expect("shim.pid")
    }

    pub fn exit_json(&self) -> Value {
        serde_json::from_str(&berth_tests::runtime::read(self.state.join("exit.json"))).expect("exit.json")
    }

    /// The json-file log's records, each line parsed.
    pub fn records(&self, path: &Path) -> Vec<Value> {
        berth_tests::runtime::read(path)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("log line {l:?}: {e}")))
            .collect()
    }

    /// Pids of this test's berth-shim processes (launcher or shim), by command line.
    pub fn shim_processes(&self) -> Vec<i32> {
        let state = self.state.to_string_lossy().into_owned();
        let mut pids = Vec::new();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<i32>().ok()) else { continue };
            let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) else { continue };
            let args: Vec<String> =
                cmdline.split(|&b| b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
            if args.first().is_some_and(|a| a.ends_with("berth-shim")) && args.contains(&state) && alive(pid) {
                pids.push(pid);
            }
        }
        pids
    }
}

impl Drop for ShimTest {
    fn drop(&mut self) {
        if let Ok(s) = UnixStream::connect(self.state.join("control.sock")) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = (&s).write_all(b"{\"op\":\"shutdown\"}\n");
            let _ = (&s).read(&mut [0u8; 256]);
        }
        let mut pids = self.shim_processes();
        // The shim by its pid file too, if that pid still is a berth-shim.
        if let Ok(text) = std::fs::read_to_string(self.state.join("shim.pid"))
            && let Ok(pid) = text.trim().parse::<i32>()
            && std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "berth-shim")
            && !pids.contains(&pid)
        {
            pids.push(pid);
        }
        for pid in pids {
            kill(pid, libc::SIGKILL);
            wait_gone(pid, Duration::from_secs(5));
        }
    }
}

/// A child of the test, killed and reaped however the test ends.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn kill(pid: i32, sig: i32) {
    // SAFETY: kill with a pid and a signal number.
    unsafe { libc::kill(pid, sig) };
}

/// Alive and not a zombie.
pub fn alive(pid: i32) -> bool {
    proc_stat(pid).is_some_and(|f| f[0] != "Z" && f[0] != "X")
}

/// /proc/pid/stat's fields after the command name (state first).
pub fn proc_stat(pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    Some(rest.split(' ').map(str::to_string).collect())
}

pub fn wait_gone(pid: i32, timeout: Duration) -> bool {
    wait_until(timeout, || !alive(pid))
}

pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// Reads multiplexed frames until end of stream or until `done` says so.
pub fn read_frames(s: &mut UnixStream, mut done: impl FnMut(&[(u8, Vec<u8>)]) -> bool) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        take_frames(&mut buf, &mut frames);
        if done(&frames) {
            return frames;
        }
        match s.read(&mut chunk) {
            Ok(0) => {
                assert!(buf.is_empty(), "stream ended inside a frame: {buf:?}");
                return frames;
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => panic!("read attach stream: {e}; frames so far: {frames:?}"),
        }
    }
}

/// Moves the whole frames at the start of `buf` to `frames`.
pub fn take_frames(buf: &mut Vec<u8>, frames: &mut Vec<(u8, Vec<u8>)>) {
    let mut at = 0;
    while buf.len() - at >= 8 {
        let h = &buf[at..at + 8];
        let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
        if buf.len() - at < 8 + len {
            break;
        }
        assert!(matches!(h[0], 1 | 2) && h[1..4] == [0, 0, 0], "frame header {h:?}");
        frames.push((h[0], buf[at + 8..at + 8 + len].to_vec()));
        at += 8 + len;
    }
    buf.drain(..at);
}

/// The bytes of one stream (1 stdout, 2 stderr) of some frames, as text.
pub fn stream_text(frames: &[(u8, Vec<u8>)], stream: u8) -> String {
    let bytes: Vec<u8> = frames.iter().filter(|(s, _)| *s == stream).flat_map(|(_, d)| d.clone()).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Reads raw bytes until `needle` shows up (or the stream ends / times out).
pub fn read_until(s: &mut UnixStream, seen: &mut Vec<u8>, needle: &str) -> bool {
    let mut chunk = [0u8; 4096];
    loop {
        if String::from_utf8_lossy(seen).contains(needle) {
            return true;
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => seen.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Parses Go's RFC 3339 (UTC, "Z", optional 1-9 digit fraction): seconds since the
/// epoch and nanoseconds, or None if it is not that format.
pub fn parse_utc(t: &str) -> Option<(i64, u32)> {
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| t.get(r)?.parse::<i64>().ok();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if *b.last()? != b'Z' {
        return None;
    }
    let (y, mo, d, h, mi, s) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    let frac = &t[19..t.len() - 1];
    let nanos = if frac.is_empty() {
        0
    } else {
        let digits = frac.strip_prefix('.')?;
        if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|c| c.is_ascii_digit()) || digits.ends_with('0') {
            return None;
        }
        format!("{digits:0<9}").parse::<u32>().ok()?
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let (yy, m) = if mo <= 2 { (y - 1, mo + 9) } else { (y, mo - 3) };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + mi * 60 + s, nanos))
}

/// Asserts `t` is a Go RFC 3339 UTC timestamp within a few minutes of now.
#[track_caller]
pub fn assert_recent(t: &str) {
    let (secs, _) = parse_utc(t).unwrap_or_else(|| panic!("not an RFC 3339 UTC timestamp: {t:?}"));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((now - secs).abs() < 600, "timestamp {t} is not recent (now {now})");
}

#[test]
fn timestamp_parser() {
    assert_eq!(parse_utc("1970-01-01T00:00:01Z"), Some((1, 0)));
    assert_eq!(parse_utc("2000-03-01T00:00:00.5Z"), Some((951_868_800, 500_000_000)));
    assert_eq!(parse_utc("2026-11-23T12:00:00.123456789Z").map(|t| t.1), Some(123_456_789));
    assert_eq!(parse_utc("2026-11-23T12:00:00.120Z"), None, "Go trims trailing zeros");
    assert_eq!(parse_utc("2026-11-23 12:00:00Z"), None);
    assert_eq!(parse_utc("2026-11-23T12:00:00+01:00"), None);
}
