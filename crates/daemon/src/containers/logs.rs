//! `GET /containers/{id}/logs`: the json-file log (and its rotated files, oldest
//! first) read back with Docker's options — streams, `tail`, `since`/`until`,
//! timestamps — as multiplexed frames (or raw bytes for a tty), and with `follow`
//! the records appended after, across rotations, until the container stops.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use shim::jsonlog::Record as LogRecord;
use tokio::sync::mpsc;

/// How often a follower looks for new records.
const FOLLOW_POLL: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub stdout: bool,
    pub stderr: bool,
    pub follow: bool,
    pub timestamps: bool,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Only the last N records (`None`: all).
    pub tail: Option<usize>,
    /// Raw bytes (a tty) instead of frames.
    pub raw: bool,
}

/// Parses a record line and turns it into output, if the options keep it.
fn render(line: &[u8], o: &Options) -> Option<(Bytes, DateTime<Utc>)> {
    let rec: LogRecord = serde_json::from_slice(line).ok()?;
    let stream = match rec.stream.as_str() {
        "stdout" if o.stdout => api::stream::StreamType::Stdout,
        "stderr" if o.stderr => api::stream::StreamType::Stderr,
        _ => return None,
    };
    let t = api::time::parse_rfc3339(&rec.time)?;
    if o.since.is_some_and(|s| t < s) || o.until.is_some_and(|u| t > u) {
        return None;
    }
    let mut text = Vec::with_capacity(rec.log.len() + 32);
    if o.timestamps {
        text.extend_from_slice(api::time::format_rfc3339_nano(t).as_bytes());
        text.push(b' ');
    }
    text.extend_from_slice(rec.log.as_bytes());
    let out = if o.raw {
        text
    } else {
        api::stream::encode_frame(stream, &text)
    };
    Some((Bytes::from(out), t))
}

/// The log's files, oldest first: `log.N` … `log.1`, `log`.
fn files(path: &Path) -> Vec<PathBuf> {
    let mut rotated: Vec<(u32, PathBuf)> = Vec::new();
    for n in 1..=1024u32 {
        let p = shim::logfile::rotated(path, n);
        if !p.exists() {
            break;
        }
        rotated.push((n, p));
    }
    rotated.sort_by_key(|r| std::cmp::Reverse(r.0));
    let mut out: Vec<PathBuf> = rotated.into_iter().map(|(_, p)| p).collect();
    out.push(path.to_path_buf());
    out
}

/// Streams the log into `tx`. `running` says whether the container may still write.
pub async fn stream(
    path: PathBuf,
    o: Options,
    tx: mpsc::Sender<Bytes>,
    running: impl Fn() -> bool + Send + 'static,
) {
    // Existing records (bounded by `tail`), read off the async threads.
    let (path2, o2) = (path.clone(), o.clone());
    let first = tokio::task::spawn_blocking(move || read_existing(&path2, &o2)).await;
    let Ok((chunks, position)) = first else {
        return;
    };
    for c in chunks {
        if tx.send(c).await.is_err() {
            return;
        }
    }
    if !o.follow {
        return;
    }
    let mut follower = match position {
        Some((ino, offset)) => Follower::at(&path, ino, offset),
        None => Follower::at(&path, 0, 0),
    };
    loop {
        let still_running = running();
        let (chunks, past_until) = follower.read_new(&o);
        for c in chunks {
            if tx.send(c).await.is_err() {
                return;
            }
        }
        if past_until || !still_running {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(FOLLOW_POLL) => {}
            _ = tx.closed() => return,
        }
    }
}

/// Reads every file once; returns the output and where the current file ended
/// (its inode and size) for a follower.
fn read_existing(path: &Path, o: &Options) -> (Vec<Bytes>, Option<(u64, u64)>) {
    let mut kept: VecDeque<Bytes> = VecDeque::new();
    let mut all: Vec<Bytes> = Vec::new();
    let mut position = None;
    if o.tail == Some(0) {
        if let Ok(f) = File::open(path)
            && let Ok(m) = f.metadata()
        {
            position = Some((m.ino(), m.len()));
        }
        return (all, position);
    }
    for p in files(path) {
        let Ok(f) = File::open(&p) else { continue };
        let meta = f.metadata().ok();
        let mut r = BufReader::new(f);
        let mut line = Vec::new();
        let mut consumed: u64 = 0;
        loop {
            line.clear();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    // A partial last line is the shim mid-write: the follower reads it whole.
                    if line.last() != Some(&b'\n') {
                        break;
                    }
                    consumed += n as u64;
                    if let Some((b, _)) = render(&line, o) {
                        match o.tail {
                            Some(n) => {
                                if kept.len() == n {
                                    kept.pop_front();
                                }
                                kept.push_back(b);
                            }
                            None => all.push(b),
                        }
                    }
                }
            }
        }
        if p == path {
            position = meta.map(|m| (m.ino(), consumed));
        }
    }
    if o.tail.is_some() {
        all = kept.into_iter().collect();
    }
    (all, position)
}

/// Reads what is appended to the log, following it to the new file on rotation.
struct Follower {
    path: PathBuf,
    file: Option<File>,
    ino: u64,
    pending: Vec<u8>,
}

impl Follower {
    fn at(path: &Path, ino: u64, offset: u64) -> Follower {
        let mut file = File::open(path).ok();
        let mut actual_ino = 0;
        if let Some(f) = &mut file {
            actual_ino = f.metadata().map(|m| m.ino()).unwrap_or(0);
            // The file we read was rotated away meanwhile: start the new one at 0.
            let start = if actual_ino == ino { offset } else { 0 };
            let _ = f.seek(SeekFrom::Start(start));
        }
        Follower {
            path: path.to_path_buf(),
            file,
            ino: actual_ino,
            pending: Vec::new(),
        }
    }

    /// New output, and whether a record past `until` was seen.
    /// Reads the open file to its end and renders the complete records.
    fn drain(&mut self, o: &Options, out: &mut Vec<Bytes>, past_until: &mut bool) {
        let Some(f) = &mut self.file else { return };
        let mut buf = Vec::new();
        let _ = f.read_to_end(&mut buf);
        self.pending.extend_from_slice(&buf);
        while let Some(nl) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=nl).collect();
            if let Ok(rec) = serde_json::from_slice::<LogRecord>(&line)
                && let (Some(u), Some(t)) = (o.until, api::time::parse_rfc3339(&rec.time))
                && t > u
            {
                *past_until = true;
                continue;
            }
            if let Some((b, _)) = render(&line, o) {
                out.push(b);
            }
        }
    }

    /// New output, and whether a record past `until` was seen.
    fn read_new(&mut self, o: &Options) -> (Vec<Bytes>, bool) {
        let mut out = Vec::new();
        let mut past_until = false;
        self.drain(o, &mut out, &mut past_until);
        // Truncated in place (rotation with a single file): start over from its top.
        if let Some(f) = &mut self.file
            && let (Ok(pos), Ok(meta)) = (f.stream_position(), f.metadata())
            && meta.len() < pos
        {
            let _ = f.seek(SeekFrom::Start(0));
            self.pending.clear();
            self.drain(o, &mut out, &mut past_until);
        }
        // Rotated: the path names a new file. Whatever reached the old one after the
        // read above is read first, then the new file from its start.
        let current = std::fs::metadata(&self.path).map(|m| m.ino()).unwrap_or(0);
        if current != 0 && current != self.ino {
            self.drain(o, &mut out, &mut past_until);
            self.file = File::open(&self.path).ok();
            self.ino = current;
            self.pending.clear();
            self.drain(o, &mut out, &mut past_until);
        }
        (out, past_until)
    }
}

/// The json-file driver's `max-size` in bytes: Docker's decimal units (`10m` is
/// 10,000,000 bytes), and positive.
pub fn log_max_size(s: &str) -> std::result::Result<u64, String> {
    match api::units::from_human_size(s)? {
        n if n > 0 => Ok(n as u64),
        _ => Err("max-size must be a positive number".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_sizes_parse_like_docker() {
        assert_eq!(log_max_size("10m"), Ok(10_000_000));
        assert_eq!(log_max_size("1k"), Ok(1000));
        assert_eq!(log_max_size("100"), Ok(100));
        assert_eq!(log_max_size("0"), Err("max-size must be a positive number".into()));
        assert_eq!(log_max_size("ten"), Err("invalid size: 'ten'".into()));
    }


    fn write_log(path: &Path, records: &[(&str, &str, &str)]) {
        let mut out = Vec::new();
        for (log, stream, time) in records {
            shim::jsonlog::encode_record(&mut out, log.as_bytes(), stream, time);
        }
        std::fs::write(path, out).unwrap();
    }

    fn opts() -> Options {
        Options {
            stdout: true,
            stderr: true,
            raw: true,
            ..Default::default()
        }
    }

    fn text(chunks: &[Bytes]) -> String {
        chunks
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect()
    }

    #[test]
    fn reads_rotated_files_in_order_with_tail_streams_and_times() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("c-json.log");
        write_log(
            &shim::logfile::rotated(&log, 2),
            &[("one\n", "stdout", "2026-01-01T00:00:01Z")],
        );
        write_log(
            &shim::logfile::rotated(&log, 1),
            &[("two\n", "stderr", "2026-01-01T00:00:02Z")],
        );
        write_log(&log, &[("three\n", "stdout", "2026-01-01T00:00:03.5Z")]);
        assert_eq!(text(&read_existing(&log, &opts()).0), "one\ntwo\nthree\n");
        assert_eq!(
            text(
                &read_existing(
                    &log,
                    &Options {
                        tail: Some(2),
                        ..opts()
                    }
                )
                .0
            ),
            "two\nthree\n"
        );
        assert_eq!(
            text(
                &read_existing(
                    &log,
                    &Options {
                        stderr: false,
                        ..opts()
                    }
                )
                .0
            ),
            "one\nthree\n"
        );
        let since = api::time::parse_rfc3339("2026-01-01T00:00:02Z");
        assert_eq!(
            text(&read_existing(&log, &Options { since, ..opts() }).0),
            "two\nthree\n"
        );
        let until = api::time::parse_rfc3339("2026-01-01T00:00:02Z");
        assert_eq!(
            text(&read_existing(&log, &Options { until, ..opts() }).0),
            "one\ntwo\n"
        );
        assert_eq!(
            text(
                &read_existing(
                    &log,
                    &Options {
                        timestamps: true,
                        tail: Some(1),
                        ..opts()
                    }
                )
                .0
            ),
            "2026-01-01T00:00:03.5Z three\n"
        );
        assert!(
            read_existing(
                &log,
                &Options {
                    tail: Some(0),
                    ..opts()
                }
            )
            .0
            .is_empty()
        );
    }

    #[test]
    fn frames_carry_the_stream() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("l");
        write_log(&log, &[("err\n", "stderr", "2026-01-01T00:00:01Z")]);
        let (chunks, _) = read_existing(
            &log,
            &Options {
                raw: false,
                ..opts()
            },
        );
        assert_eq!(&chunks[0][..8], &[2, 0, 0, 0, 0, 0, 0, 4]);
        assert_eq!(&chunks[0][8..], b"err\n");
    }

    #[test]
    fn a_follower_starts_over_when_the_log_is_truncated_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("l");
        write_log(&log, &[("a long first line\n", "stdout", "2026-01-01T00:00:01Z")]);
        let (_, pos) = read_existing(&log, &opts());
        let (ino, off) = pos.unwrap();
        let mut f = Follower::at(&log, ino, off);
        // One file kept: the shim truncates the same inode and writes on.
        let mut rec = Vec::new();
        shim::jsonlog::encode_record(&mut rec, b"b\n", "stdout", "2026-01-01T00:00:02Z");
        std::fs::OpenOptions::new().write(true).truncate(true).open(&log).unwrap();
        use std::io::Write;
        std::fs::OpenOptions::new().append(true).open(&log).unwrap().write_all(&rec).unwrap();
        assert_eq!(text(&f.read_new(&opts()).0), "b\n");
    }

    #[test]
    fn a_follower_sees_appends_and_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("l");
        write_log(&log, &[("a\n", "stdout", "2026-01-01T00:00:01Z")]);
        let (_, pos) = read_existing(&log, &opts());
        let (ino, off) = pos.unwrap();
        let mut f = Follower::at(&log, ino, off);
        assert!(f.read_new(&opts()).0.is_empty());
        let mut rec = Vec::new();
        shim::jsonlog::encode_record(&mut rec, b"b\n", "stdout", "2026-01-01T00:00:02Z");
        use std::io::Write;
        std::fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .unwrap()
            .write_all(&rec)
            .unwrap();
        assert_eq!(text(&f.read_new(&opts()).0), "b\n");
        std::fs::rename(&log, shim::logfile::rotated(&log, 1)).unwrap();
        write_log(&log, &[("c\n", "stdout", "2026-01-01T00:00:03Z")]);
        assert_eq!(text(&f.read_new(&opts()).0), "c\n");
    }
}
