//! Timestamps as the Engine API writes and reads them: RFC 3339 with trimmed
//! nanoseconds (Go's `RFC3339Nano`), Docker's zero time, and the `since`/`until`
//! query values (unix seconds, RFC 3339, or a duration back from now).

use chrono::{DateTime, Duration, TimeZone, Utc};

/// How Docker writes an unset time (`FinishedAt` of a running container).
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Formats like Go's `time.RFC3339Nano` in UTC: `2024-05-01T10:00:00.5Z`.
pub fn format_rfc3339_nano(t: DateTime<Utc>) -> String {
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos == 0 {
        return format!("{base}Z");
    }
    let frac = format!("{nanos:09}");
    format!("{base}.{}Z", frac.trim_end_matches('0'))
}

/// Parses an RFC 3339 timestamp into UTC.
pub fn parse_rfc3339(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// Error for a `since`/`until` value that is none of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp {0:?}: want unix seconds, RFC 3339, or a duration like 10m")]
pub struct TimestampError(pub String);

/// Parses a `since`/`until` query value: `1700000000`, `1700000000.5`, RFC 3339,
/// or a Go-style duration (`90s`, `1h30m`) meaning that long before `now`.
pub fn parse_query_timestamp(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, TimestampError> {
    let err = || TimestampError(s.to_string());
    if s.is_empty() {
        return Err(err());
    }
    if let Some(t) = parse_rfc3339(s) {
        return Ok(t);
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
        let secs: i64 = secs.parse().map_err(|_| err())?;
        let mut nanos: u32 = 0;
        if !frac.is_empty() {
            if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            nanos = format!("{frac:0<9}").parse().map_err(|_| err())?;
        }
        return Utc.timestamp_opt(secs, nanos).single().ok_or_else(err);
    }
    let d = parse_go_duration(s).ok_or_else(err)?;
    now.checked_sub_signed(d).ok_or_else(err)
}

/// Parses a Go duration string such as `1h30m`, `2.5s`, `300ms` (no sign).
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    if s.is_empty() {
        return None;
    }
    let mut total_nanos: f64 = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_end == 0 {
            return None;
        }
        let value: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total_nanos += value * scale;
    }
    if !total_nanos.is_finite() || total_nanos > i64::MAX as f64 {
        return None;
    }
    Some(Duration::nanoseconds(total_nanos as i64))
}

/// go-units' `HumanDuration`: "Less than a second", "1 second", "N seconds",
/// "About a minute", "N minutes", "About an hour", "N hours", "N days",
/// "N weeks", "N months", "N years".
pub fn human_duration(d: std::time::Duration) -> String {
    let secs = d.as_secs_f64();
    let seconds = secs as i64;
    let minutes = (secs / 60.0) as i64;
    let hours = (secs / 3600.0 + 0.5) as i64;
    if seconds < 1 {
        "Less than a second".to_string()
    } else if seconds == 1 {
        "1 second".to_string()
    } else if seconds < 60 {
        format!("{seconds} seconds")
    } else if minutes == 1 {
        "About a minute".to_string()
    } else if minutes < 60 {
        format!("{minutes} minutes")
    } else if hours == 1 {
        "About an hour".to_string()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if hours < 24 * 7 * 2 {
        format!("{} days", hours / 24)
    } else if hours < 24 * 30 * 2 {
        format!("{} weeks", hours / 24 / 7)
    } else if hours < 24 * 365 * 2 {
        format!("{} months", hours / 24 / 30)
    } else {
        format!("{} years", (secs / 3600.0) as i64 / 24 / 365)
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        let t = Utc.timestamp_opt(1_700_000_000, 500_000_000).single().expect("valid");
        assert_eq!(format_rfc3339_nano(t), "2023-11-14T22:13:20.5Z");
        let t = Utc.timestamp_opt(1_700_000_000, 0).single().expect("valid");
        assert_eq!(format_rfc3339_nano(t), "2023-11-14T22:13:20Z");
        let z = parse_rfc3339(ZERO_TIME).expect("zero time parses");
        assert_eq!(format_rfc3339_nano(z), ZERO_TIME);
    }

    #[test]
    fn query_timestamps() {
        let now = Utc.timestamp_opt(1_700_000_000, 0).single().expect("valid");
        let t = parse_query_timestamp("1600000000.25", now).expect("unix");
        assert_eq!(t.timestamp(), 1_600_000_000);
        assert_eq!(t.timestamp_subsec_nanos(), 250_000_000);
        let t = parse_query_timestamp("1h30m", now).expect("duration");
        assert_eq!(now.timestamp() - t.timestamp(), 5400);
        let t = parse_query_timestamp("2023-11-14T22:13:20Z", now).expect("rfc3339");
        assert_eq!(t, now);
        assert!(parse_query_timestamp("yesterday", now).is_err());
        assert!(parse_query_timestamp("", now).is_err());
        assert!(parse_query_timestamp("10x", now).is_err());
    }
}
