//! `berth events` (and `berth system events`): streams the daemon's events
//! until `--until` passes (or forever), one line each, in docker's format
//! (`2026-11-23T12:00:00.123456789Z container start 1234… (image=busybox,
//! name=x)`) or by `--format` on docker's `events.Message`.
//!
//! `--since`/`--until` are converted here as docker's client converts them:
//! durations count back from now, dates without a zone are local time, unix
//! timestamps pass through.

use api::Filters;
use api::events::EventMessage;
use chrono::{DateTime, FixedOffset, Local, NaiveDate, Offset, TimeZone, Utc};

use crate::cli::EventsArgs;
use crate::context::Cli;
use crate::error::{CliError, Result};
use crate::format::{Struct, Template, Value};

/// Docker's `events.Message`, as templates see it.
pub fn message_value(e: &EventMessage) -> Value {
    Struct::new("*events.Message")
        .field_omitempty("status", &e.status)
        .field_omitempty("id", &e.id)
        .field_omitempty("from", &e.from)
        .field("Type", &e.r#type)
        .field("Action", &e.action)
        .field(
            "Actor",
            Struct::new("events.Actor").field("ID", &e.actor.id).field("Attributes", e.actor.attributes.clone()),
        )
        .field_omitempty("scope", &e.scope)
        .field_omitempty("time", e.time)
        .field_omitempty("timeNano", e.time_nano)
        .into()
}

/// Go's `2006-01-02T15:04:05.000000000Z07:00` in local time.
fn fixed_nano(t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&Local);
    let offset = local.offset().fix().local_minus_utc();
    let zone = if offset == 0 {
        "Z".to_string()
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        format!("{sign}{:02}:{:02}", offset.abs() / 3600, offset.abs() % 3600 / 60)
    };
    format!("{}{zone}", local.format("%Y-%m-%dT%H:%M:%S%.9f"))
}

/// Docker's default event line (without the newline).
pub fn pretty(e: &EventMessage) -> String {
    let mut s = String::new();
    let time = if e.time_nano != 0 {
        Some(DateTime::from_timestamp_nanos(e.time_nano))
    } else if e.time != 0 {
        DateTime::from_timestamp(e.time, 0)
    } else {
        None
    };
    if let Some(t) = time {
        s.push_str(&fixed_nano(t));
        s.push(' ');
    }
    s.push_str(&format!("{} {} {}", e.r#type, e.action, e.actor.id));
    if !e.actor.attributes.is_empty() {
        let mut attrs: Vec<(&String, &String)> = e.actor.attributes.iter().collect();
        attrs.sort();
        let attrs: Vec<String> = attrs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        s.push_str(&format!(" ({})", attrs.join(", ")));
    }
    s
}

/// Parses `[+-]` Go durations (`90s`, `1h30m`, `-5m`); `None` if not one.
fn go_duration(s: &str) -> Option<chrono::Duration> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let d =
        if body == "0" { chrono::Duration::zero() } else { api::time::parse_go_duration(&body.replace('μ', "µ"))? };
    Some(if neg { -d } else { d })
}

/// Date and time parts of an RFC 3339-like value: `2006-01-02`,
/// `2006-01-02T15`, `…T15:04`, `…T15:04:05`, `…T15:04:05.999999999`, each
/// optionally followed by `Z` or `±07:00`.
fn parse_datetime(value: &str, local: FixedOffset) -> std::result::Result<DateTime<FixedOffset>, String> {
    let bad = || format!("parsing time \"{value}\": cannot parse");
    let (date, rest) = value.split_at(value.find('T').unwrap_or(value.len()).min(value.len()));
    let (date, mut zone) = match date.len() {
        10 => (date, &date[10..]),
        n if n > 10 && rest.is_empty() => (&date[..10], &date[10..]),
        _ => return Err(bad()),
    };
    let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|e| {
        if e.kind() == chrono::format::ParseErrorKind::OutOfRange {
            format!("parsing time \"{value}\": month out of range")
        } else {
            bad()
        }
    })?;
    let mut time = rest.strip_prefix('T').unwrap_or("");
    if let Some(i) = time.find(['Z', 'z', '+', '-']) {
        zone = &time[i..];
        time = &time[..i];
    }
    let mut parts = time.split(':').filter(|p| !p.is_empty());
    let mut num = |max: u32| -> std::result::Result<u32, String> {
        match parts.next() {
            None => Ok(0),
            Some(p) if p.len() == 2 => p.parse().ok().filter(|n| *n <= max).ok_or_else(bad),
            Some(_) => Err(bad()),
        }
    };
    let (h, m) = (num(23)?, num(59)?);
    let (secs, frac) = match parts.next() {
        None => ("0", ""),
        Some(s) => s.split_once('.').unwrap_or((s, "")),
    };
    let s: u32 = secs.parse().ok().filter(|n| *n <= 59).ok_or_else(bad)?;
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").get(..9).and_then(|f| f.parse().ok()).ok_or_else(bad)?
    };
    let naive = d.and_hms_nano_opt(h, m, s, nanos).ok_or_else(bad)?;
    let offset = match zone {
        "" => local,
        "Z" | "z" => FixedOffset::east_opt(0).ok_or_else(bad)?,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (zh, zm) = z[1..].split_once(':').ok_or_else(bad)?;
            let secs = zh.parse::<i32>().map_err(|_| bad())? * 3600 + zm.parse::<i32>().map_err(|_| bad())? * 60;
            FixedOffset::east_opt(sign * secs).ok_or_else(bad)?
        }
    };
    offset.from_local_datetime(&naive).single().ok_or_else(bad)
}

/// Docker's client-side `since`/`until` conversion (`GetTimestamp`).
pub fn get_timestamp(value: &str, now: DateTime<Local>) -> std::result::Result<String, String> {
    if value != "0"
        && let Some(d) = go_duration(value)
    {
        return Ok((now - d).timestamp().to_string());
    }
    match parse_datetime(value, now.offset().fix()) {
        Ok(t) => Ok(format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos())),
        Err(e) if value.contains('-') => Err(e),
        Err(_) => {
            let (secs, frac) = value.split_once('.').unwrap_or((value, ""));
            let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
            if !secs.is_empty() && digits(secs) && digits(frac) && secs.parse::<i64>().is_ok() {
                Ok(value.to_string())
            } else {
                Err(format!("failed to parse value as time or duration: \"{value}\""))
            }
        }
    }
}

pub async fn run(cli: &mut Cli<'_>, args: EventsArgs) -> Result<()> {
    let template = match args.format.as_deref() {
        None | Some("") => None,
        Some("json") => Some("{{json .}}"),
        Some(f) => Some(f),
    };
    let template = template
        .map(|f| {
            let t = Template::parse(f)?;
            t.render(&message_value(&EventMessage::default()))?;
            Ok::<_, crate::format::TemplateError>(t)
        })
        .transpose()
        .map_err(|e| CliError::status(64, format!("Error parsing format: {e}")))?;

    let now = Local::now();
    let mut query: Vec<(&str, String)> = Vec::new();
    if let Some(s) = args.since.as_deref().filter(|s| !s.is_empty()) {
        query.push(("since", get_timestamp(s, now).map_err(CliError::Other)?));
    }
    if let Some(u) = args.until.as_deref().filter(|s| !s.is_empty()) {
        query.push(("until", get_timestamp(u, now).map_err(CliError::Other)?));
    }
    let mut filters = Filters::new();
    for (k, v) in &args.filter {
        filters.add(k.clone(), v.clone());
    }
    if !filters.is_empty() {
        query.push(("filters", filters.to_json()));
    }
    let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut stream = cli.client().await?.get_stream("/events", &pairs).await?;
    while let Some(event) = stream.next_json::<EventMessage>().await? {
        let line = match &template {
            None => pretty(&event),
            Some(t) => t.render(&message_value(&event))?,
        };
        writeln!(cli.out, "{line}")?;
        cli.out.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn event() -> EventMessage {
        let attrs =
            BTreeMap::from([("name".to_string(), "x".to_string()), ("image".to_string(), "busybox".to_string())]);
        EventMessage::new("container", "start", "1234abcd", attrs, 1_795_435_200_123_456_789)
    }

    #[test]
    fn default_line_and_template_data() {
        let line = pretty(&event());
        assert!(line.ends_with(" container start 1234abcd (image=busybox, name=x)"), "{line}");
        assert_eq!(fixed_nano(DateTime::from_timestamp_nanos(1_795_435_200_000_000_500)).len(), 29 + zone_len());
        let t =
            Template::parse("{{.Type}} {{.Status}} {{.ID}} {{.Actor.Attributes.name}} {{.TimeNano}}").expect("parses");
        assert_eq!(
            t.render(&message_value(&event())).expect("renders"),
            "container start 1234abcd x 1795435200123456789"
        );
        let json = message_value(&event()).to_json();
        assert!(json.starts_with(r#"{"status":"start","id":"1234abcd","from":"busybox","Type":"container","Action":"start","Actor":{"ID":"1234abcd","Attributes":{"image":"busybox","name":"x"}},"scope":"local","time":1795435200,"timeNano":1795435200123456789}"#), "{json}");
        let bare = message_value(&EventMessage::default()).to_json();
        assert_eq!(bare, r#"{"Type":"","Action":"","Actor":{"ID":"","Attributes":{}}}"#);
    }

    fn zone_len() -> usize {
        let off = Local::now().offset().fix().local_minus_utc();
        if off == 0 { 1 } else { 6 }
    }

    #[test]
    fn timestamps_like_docker() {
        let now = Local.timestamp_opt(1_700_000_000, 0).single().expect("valid");
        assert_eq!(get_timestamp("0", now).as_deref(), Ok("0"));
        assert_eq!(get_timestamp("1s", now).as_deref(), Ok("1699999999"));
        assert_eq!(get_timestamp("1h30m", now).as_deref(), Ok("1699994600"));
        assert_eq!(get_timestamp("-10m", now).as_deref(), Ok("1700000600"));
        assert_eq!(get_timestamp("1600000000.5", now).as_deref(), Ok("1600000000.5"));
        assert_eq!(get_timestamp("2023-11-14T22:13:20Z", now).as_deref(), Ok("1700000000.000000000"));
        assert_eq!(get_timestamp("2023-11-14T22:13:20.25+01:00", now).as_deref(), Ok("1699996400.250000000"));
        assert_eq!(get_timestamp("2023-11-14Z", now).as_deref(), Ok("1699920000.000000000"));
        let local_midnight = get_timestamp("2023-11-14", now).expect("date");
        let off = now.offset().fix().local_minus_utc() as i64;
        assert_eq!(local_midnight, format!("{}.000000000", 1_699_920_000 - off));
        assert_eq!(
            get_timestamp("bogus", now),
            Err("failed to parse value as time or duration: \"bogus\"".to_string())
        );
        assert_eq!(
            get_timestamp("2026-13-01", now),
            Err("parsing time \"2026-13-01\": month out of range".to_string())
        );
    }
}
