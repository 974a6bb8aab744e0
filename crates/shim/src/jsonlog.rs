//! Docker's json-file log format, byte for byte: one JSON object per line,
//! `{"log":"hello\n","stream":"stdout","time":"2026-11-23T12:00:00.123456789Z"}`, keys
//! in that order, the string escaped as Docker's encoder does (`<`, `>`, `&`, U+2028,
//! U+2029 and control characters as `\u00xx`, invalid UTF-8 as `\ufffd`), and the time
//! in Go's RFC 3339 with nanoseconds (UTC, trailing zeros of the fraction dropped).
//! Also how output is cut into records: at each newline (kept in the record), and a
//! partial line as its own record once [`MAX_RECORD`] bytes are pending or the stream
//! ends.

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// The longest record; longer lines are split into several (Docker's 16 KiB).
pub const MAX_RECORD: usize = 16 * 1024;

/// One record, as a reader of the log (the daemon's `logs`) sees it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Record {
    pub log: String,
    pub stream: String,
    pub time: String,
}

/// Go's `time.RFC3339Nano` of a UTC time: `2026-11-23T12:00:00.1234Z`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    let mut s = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    // chrono puts a leap second's extra second in the nanoseconds.
    let nanos = t.timestamp_subsec_nanos().min(999_999_999);
    if nanos != 0 {
        let frac = format!(".{nanos:09}");
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Appends one record, newline included, to `out`.
pub fn encode_record(out: &mut Vec<u8>, log: &[u8], stream: &str, time: &str) {
    out.extend_from_slice(b"{\"log\":\"");
    escape_into(out, log);
    out.extend_from_slice(b"\",\"stream\":\"");
    escape_into(out, stream.as_bytes());
    out.extend_from_slice(b"\",\"time\":\"");
    out.extend_from_slice(time.as_bytes());
    out.extend_from_slice(b"\"}\n");
}

fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                c if (c as u32) < 0x20 || matches!(c, '<' | '>' | '&') => {
                    let b = c as u8;
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[(b >> 4) as usize]);
                    out.push(HEX[(b & 0xf) as usize]);
                }
                '\u{2028}' => out.extend_from_slice(b"\\u2028"),
                '\u{2029}' => out.extend_from_slice(b"\\u2029"),
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        // Go decodes an invalid sequence one byte at a time: one U+FFFD per byte.
        for _ in chunk.invalid() {
            out.extend_from_slice(b"\\ufffd");
        }
    }
}

/// Cuts one stream's output into records.
#[derive(Debug, Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    pub fn new() -> LineSplitter {
        LineSplitter::default()
    }

    /// Adds output; calls `emit` with each complete record.
    pub fn push(&mut self, mut data: &[u8], mut emit: impl FnMut(&[u8])) {
        while !data.is_empty() {
            let room = MAX_RECORD - self.pending.len();
            let window = &data[..data.len().min(room)];
            match window.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let line = &data[..=i];
                    if self.pending.is_empty() {
                        emit(line);
                    } else {
                        self.pending.extend_from_slice(line);
                        emit(&self.pending);
                        self.pending.clear();
                    }
                    data = &data[i + 1..];
                }
                None => {
                    self.pending.extend_from_slice(window);
                    data = &data[window.len()..];
                    if self.pending.len() == MAX_RECORD {
                        emit(&self.pending);
                        self.pending.clear();
                    }
                }
            }
        }
    }

    /// The stream ended: a pending partial line becomes a record.
    pub fn finish(&mut self, mut emit: impl FnMut(&[u8])) {
        if !self.pending.is_empty() {
            emit(&self.pending);
            self.pending.clear();
        }
        self.pending.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn record(log: &[u8]) -> String {
        let mut out = Vec::new();
        encode_record(&mut out, log, "stdout", "T");
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn docker_record_layout_and_escapes() {
        assert_eq!(record(b"hello\n"), "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"T\"}\n");
        assert_eq!(record(b"a\"b\\c\t\r"), r#"{"log":"a\"b\\c\t\r","stream":"stdout","time":"T"}"#.to_string() + "\n");
        assert_eq!(record(b"<&>\x1b\x08"), r#"{"log":"\u003c\u0026\u003e\u001b\u0008","stream":"stdout","time":"T"}"#.to_string() + "\n");
        assert_eq!(record("é\u{2028}".as_bytes()), "{\"log\":\"é\\u2028\",\"stream\":\"stdout\",\"time\":\"T\"}\n");
        assert_eq!(record(b"x\xff\xe2\x82y"), r#"{"log":"x\ufffd\ufffd\ufffdy","stream":"stdout","time":"T"}"#.to_string() + "\n");
        // Whatever the escaping, it is JSON that decodes to the same text.
        let r: Record = serde_json::from_str(&record(b"<tab>\t\"q\"\n")).unwrap();
        assert_eq!(r.log, "<tab>\t\"q\"\n");
    }

    #[test]
    fn go_rfc3339_nano() {
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        assert_eq!(timestamp(t), "2026-11-23T12:00:00Z");
        assert_eq!(timestamp(t + chrono::Duration::nanoseconds(123_456_789)), "2026-11-23T12:00:00.123456789Z");
        assert_eq!(timestamp(t + chrono::Duration::nanoseconds(120_000_000)), "2026-11-23T12:00:00.12Z");
    }

    fn split(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut s = LineSplitter::new();
        let mut out = Vec::new();
        for c in chunks {
            s.push(c, |r| out.push(r.to_vec()));
        }
        s.finish(|r| out.push(r.to_vec()));
        out
    }

    #[test]
    fn records_end_at_newlines_and_partials_flush_at_the_end() {
        assert_eq!(split(&[b"a\nb", b"c\nd"]), vec![b"a\n".to_vec(), b"bc\n".to_vec(), b"d".to_vec()]);
        assert_eq!(split(&[b"\n\n"]), vec![b"\n".to_vec(), b"\n".to_vec()]);
    }

    #[test]
    fn long_lines_are_cut_at_16k() {
        let long = vec![b'x'; MAX_RECORD * 2 + 5];
        let mut input = long.clone();
        input.push(b'\n');
        let out = split(&[&input[..100], &input[100..]]);
        assert_eq!(out.iter().map(Vec::len).collect::<Vec<_>>(), vec![MAX_RECORD, MAX_RECORD, 6]);
        assert_eq!(out.concat(), input);
    }
}
