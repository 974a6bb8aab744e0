//! Human-readable sizes, durations and ids exactly as docker prints them
//! (go-units' `HumanSize`, `BytesSize` and `HumanDuration`, moby's container
//! status line, `stringid.TruncateID` and the formatter's `Ellipsis`).

use chrono::{DateTime, Utc};

use super::gofmt;
use super::table::display_width;

const DECIMAL: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

fn scale(mut size: f64, base: f64, units: &[&'static str]) -> (f64, &'static str) {
    let mut i = 0;
    while size >= base && i < units.len() - 1 {
        size /= base;
        i += 1;
    }
    (size, units[i])
}

/// go-units' `HumanSizeWithPrecision`: decimal units, `precision` significant
/// digits (Go's `%.*g`).
pub fn human_size_with_precision(size: f64, precision: usize) -> String {
    let (n, unit) = scale(size, 1000.0, &DECIMAL);
    format!("{}{unit}", gofmt::format_g(n, Some(precision), false, false))
}

/// go-units' `HumanSize` (`docker ps -s`, `docker images`): `"4.86MB"`,
/// `"7.1kB"`, `"0B"`, decimal base, 4 significant digits.
pub fn human_size(size: f64) -> String {
    human_size_with_precision(size, 4)
}

/// go-units' `BytesSize` (`docker stats`, `docker info`): `"1.5MiB"`, binary
/// base, 4 significant digits.
pub fn bytes_size(size: f64) -> String {
    let (n, unit) = scale(size, 1024.0, &BINARY);
    format!("{}{unit}", gofmt::format_g(n, Some(4), false, false))
}

pub use api::time::human_duration;

/// The time from `then` to `now` (zero if `then` is later).
fn since(then: DateTime<Utc>, now: DateTime<Utc>) -> std::time::Duration {
    (now - then).to_std().unwrap_or_default()
}

/// `"2 hours ago"` (ps' CREATED column, `RunningFor`).
pub fn time_ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("{} ago", human_duration(since(then, now)))
}

/// Go's `time.Time.String()` of a local time (`CreatedAt` columns):
/// `2023-11-14 22:13:20 +0000 UTC`. The zone's abbreviation is `UTC` at offset
/// zero; other zones are written as Go writes a zone without a name (`+0100`).
pub fn go_time_string(t: DateTime<Utc>) -> String {
    use chrono::{Local, Offset, Timelike};
    let local = t.with_timezone(&Local);
    let offset = local.offset().fix().local_minus_utc();
    let frac = match local.nanosecond() {
        0 => String::new(),
        n => format!(".{n:09}").trim_end_matches('0').to_string(),
    };
    let numeric = local.format("%z").to_string();
    let zone = if offset == 0 { "UTC".to_string() } else { numeric.clone() };
    format!("{}{frac} {numeric} {zone}", local.format("%Y-%m-%d %H:%M:%S"))
}

/// What a container's status line is computed from (moby's `State`).
#[derive(Debug, Clone, Default)]
pub struct StateSummary {
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
    pub removing: bool,
    pub dead: bool,
    pub exit_code: i64,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `starting`, `healthy`, `unhealthy` (none without a healthcheck).
    pub health: Option<String>,
}

/// Docker's container status: "Up 5 minutes", "Up 2 hours (Paused)",
/// "Up 3 seconds (health: starting)", "Restarting (1) 4 seconds ago",
/// "Exited (0) 2 hours ago", "Created", "Dead", "Removal In Progress".
pub fn container_status(s: &StateSummary, now: DateTime<Utc>) -> String {
    let up = || human_duration(s.started_at.map(|t| since(t, now)).unwrap_or_default());
    let ago = || human_duration(s.finished_at.map(|t| since(t, now)).unwrap_or_default());
    if s.running {
        if s.paused {
            return format!("Up {} (Paused)", up());
        }
        if s.restarting {
            return format!("Restarting ({}) {} ago", s.exit_code, ago());
        }
        return match s.health.as_deref() {
            Some("starting") => format!("Up {} (health: starting)", up()),
            Some(h) if !h.is_empty() && h != "none" => format!("Up {} ({h})", up()),
            _ => format!("Up {}", up()),
        };
    }
    if s.removing {
        return "Removal In Progress".to_string();
    }
    if s.dead {
        return "Dead".to_string();
    }
    if s.started_at.is_none() {
        return "Created".to_string();
    }
    if s.finished_at.is_none() {
        return String::new();
    }
    format!("Exited ({}) {} ago", s.exit_code, ago())
}

/// Docker's 12-character short id; anything up to a `:` (`sha256:`) is dropped.
pub fn short_id(id: &str) -> &str {
    let id = id.split_once(':').map_or(id, |(_, rest)| rest);
    match id.char_indices().nth(12) {
        Some((i, _)) => &id[..i],
        None => id,
    }
}

/// The id as shown: full with `--no-trunc`, else [`short_id`].
pub fn display_id(id: &str, no_trunc: bool) -> &str {
    if no_trunc { id } else { short_id(id) }
}

/// Shortens `s` to `max` display columns, ending in `…` when cut (docker
/// truncates the COMMAND column this way).
pub fn ellipsis(s: &str, max: usize) -> String {
    if max == 0 {
        return String::new();
    }
    if display_width(s) <= max {
        return s.to_string();
    }
    if max == 1 {
        return s.chars().next().map(String::from).unwrap_or_default();
    }
    let mut out = String::new();
    let mut width = 0;
    for c in s.chars() {
        let w = display_width(c.encode_utf8(&mut [0; 4]));
        if width + w > max - 1 {
            break;
        }
        width += w;
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn human_sizes() {
        for (n, want) in [
            (0.0, "0B"),
            (999.0, "999B"),
            (1000.0, "1kB"),
            (7100.0, "7.1kB"),
            (1024.0, "1.024kB"),
            (4_860_000.0, "4.86MB"),
            (1_234_567.0, "1.235MB"),
            (999_999.0, "1000kB"),
            (1e9, "1GB"),
            (3.5e12, "3.5TB"),
            (1e27, "1000YB"),
        ] {
            assert_eq!(human_size(n), want, "{n}");
        }
        assert_eq!(human_size_with_precision(1_234_567.0, 3), "1.23MB");
    }

    #[test]
    fn bytes_sizes() {
        for (n, want) in [
            (0.0, "0B"),
            (1023.0, "1023B"),
            (1024.0, "1KiB"),
            (1536.0 * 1024.0, "1.5MiB"),
            (25_275_138_048.0, "23.54GiB"),
            (1024.0 * 1024.0 * 1024.0 * 1024.0, "1TiB"),
        ] {
            assert_eq!(bytes_size(n), want, "{n}");
        }
    }

    #[test]
    fn human_durations_at_the_boundaries() {
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        for (d, want) in [
            (ms(0), "Less than a second"),
            (ms(999), "Less than a second"),
            (s(1), "1 second"),
            (ms(1999), "1 second"),
            (s(2), "2 seconds"),
            (s(59), "59 seconds"),
            (s(60), "About a minute"),
            (s(119), "About a minute"),
            (s(120), "2 minutes"),
            (s(59 * 60 + 59), "59 minutes"),
            (s(3600), "About an hour"),
            (s(3600 + 29 * 60), "About an hour"),
            (s(3600 + 30 * 60), "2 hours"),
            (s(47 * 3600), "47 hours"),
            (s(48 * 3600 - 1800), "2 days"),
            (s(13 * 86400), "13 days"),
            (s(14 * 86400), "2 weeks"),
            (s(59 * 86400), "8 weeks"),
            (s(60 * 86400), "2 months"),
            (s(729 * 86400), "24 months"),
            (s(730 * 86400), "2 years"),
            (s(3650 * 86400), "10 years"),
        ] {
            assert_eq!(human_duration(d), want, "{d:?}");
        }
    }

    #[test]
    fn statuses() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).expect("valid");
        let ago = |secs: i64| Some(now - chrono::Duration::seconds(secs));
        let running = StateSummary { running: true, started_at: ago(300), ..Default::default() };
        assert_eq!(container_status(&running, now), "Up 5 minutes");
        let paused = StateSummary { paused: true, ..running.clone() };
        assert_eq!(container_status(&paused, now), "Up 5 minutes (Paused)");
        let healthy = StateSummary { health: Some("healthy".into()), ..running.clone() };
        assert_eq!(container_status(&healthy, now), "Up 5 minutes (healthy)");
        let starting = StateSummary { health: Some("starting".into()), ..running };
        assert_eq!(container_status(&starting, now), "Up 5 minutes (health: starting)");
        let exited = StateSummary { started_at: ago(9000), finished_at: ago(7200), ..Default::default() };
        assert_eq!(container_status(&exited, now), "Exited (0) 2 hours ago");
        assert_eq!(container_status(&StateSummary::default(), now), "Created");
        assert_eq!(time_ago(now - chrono::Duration::seconds(61), now), "About a minute ago");
        assert_eq!(time_ago(now + chrono::Duration::seconds(5), now), "Less than a second ago");
    }

    #[test]
    fn go_time_strings() {
        let t = DateTime::from_timestamp(1_700_000_000, 0).expect("valid");
        let s = go_time_string(t);
        if chrono::Local::now().offset().to_string() == "+00:00" {
            assert_eq!(s, "2023-11-14 22:13:20 +0000 UTC");
        }
        assert!(go_time_string(t + chrono::Duration::milliseconds(250)).contains(":20.25 "), "{s}");
    }

    #[test]
    fn ids_and_ellipsis() {
        let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(short_id(id), "0123456789ab");
        assert_eq!(short_id(&format!("sha256:{id}")), "0123456789ab");
        assert_eq!(short_id("abc"), "abc");
        assert_eq!(display_id(id, true), id);
        assert_eq!(ellipsis("\"sleep 3600\"", 20), "\"sleep 3600\"");
        assert_eq!(ellipsis("\"/docker-entrypoint.sh nginx\"", 20), "\"/docker-entrypoint…");
        assert_eq!(ellipsis("日本語のテキスト", 5), "日本…");
        assert_eq!(ellipsis("abc", 0), "");
    }
}
