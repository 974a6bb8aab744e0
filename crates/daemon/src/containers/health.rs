//! Health checks as Docker judges them: the probe a config asks for (with Docker's
//! defaults), and how each result folds into `State.Health`: the last five results,
//! the failing streak and the status (`starting`, then `healthy` on a success,
//! `unhealthy` after `Retries` failures in a row; failures in the start period do not
//! count while the container is still starting). Pure rules: [`super::probe`] runs the
//! probes, the container's owner folds their results in.
//!
//! Monitoring stops when the container stops, exits or is paused, and the status
//! becomes `unhealthy` (Docker's rule); a start resets it to `starting` (the log
//! stays); an unpause or a daemon restart resumes monitoring where it was.

use std::time::Duration;

use api::containers::{ContainerConfig, Health, HealthConfig, HealthcheckResult};

use super::record::Record;
use crate::error::{Error, Result};

pub const STARTING: &str = "starting";
pub const HEALTHY: &str = "healthy";
pub const UNHEALTHY: &str = "unhealthy";
/// What the `health` filter calls a container without a healthcheck.
pub const NONE: &str = "none";

const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_RETRIES: i64 = 3;
/// Results kept in `State.Health.Log`.
const LOG_ENTRIES: usize = 5;
/// Docker's smallest non-zero duration in a healthcheck.
const MINIMUM_DURATION_NANOS: i64 = 1_000_000;

/// A container's healthcheck, resolved: the command to exec and Docker's defaults for
/// what the config leaves at zero.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub command: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub retries: i64,
    pub start_period: Duration,
    pub start_interval: Duration,
}

impl Probe {
    /// The probe of `config`; none without a healthcheck, with `NONE`, or with a test
    /// type Docker does not know (which it ignores too).
    pub fn of(config: &ContainerConfig) -> Option<Probe> {
        let h = config.healthcheck.as_ref()?;
        let (kind, rest) = h.test.split_first()?;
        let command = match kind.as_str() {
            "CMD" => rest.to_vec(),
            "CMD-SHELL" => {
                let shell = match config.shell.as_deref() {
                    Some(s) if !s.is_empty() => s.to_vec(),
                    _ => vec!["/bin/sh".into(), "-c".into()],
                };
                shell.into_iter().chain(rest.iter().cloned()).collect()
            }
            "NONE" => return None,
            other => {
                tracing::warn!("unknown healthcheck type '{other}' (expected 'CMD'); the healthcheck is ignored");
                return None;
            }
        };
        let or = |nanos: i64, default: Duration| if nanos > 0 { Duration::from_nanos(nanos as u64) } else { default };
        Some(Probe {
            command,
            interval: or(h.interval, DEFAULT_INTERVAL),
            timeout: or(h.timeout, DEFAULT_TIMEOUT),
            retries: if h.retries > 0 { h.retries } else { DEFAULT_RETRIES },
            start_period: or(h.start_period, Duration::ZERO),
            start_interval: or(h.start_interval, DEFAULT_START_INTERVAL),
        })
    }

    /// The wait before the next probe, `since_start` after the container started: the
    /// start interval while it is still starting in its start period, the interval
    /// otherwise; never past the end of the start period, so the first probe that
    /// counts runs as soon as it ends.
    pub fn next_wait(&self, since_start: Duration, starting: bool) -> Duration {
        let Some(left) = self.start_period.checked_sub(since_start).filter(|l| !l.is_zero()) else {
            return self.interval;
        };
        let every = if starting { self.start_interval } else { self.interval };
        every.min(left)
    }
}

/// Docker's checks of a healthcheck's values (at create, on the user's config).
pub fn validate(h: Option<&HealthConfig>) -> Result<()> {
    let Some(h) = h else { return Ok(()) };
    let too_small = |nanos: i64| nanos != 0 && nanos < MINIMUM_DURATION_NANOS;
    for (name, nanos) in [("Interval", h.interval), ("Timeout", h.timeout)] {
        if too_small(nanos) {
            return Err(Error::invalid(format!("{name} in Healthcheck cannot be less than 1ms")));
        }
    }
    if h.retries < 0 {
        return Err(Error::invalid("Retries in Healthcheck cannot be negative"));
    }
    for (name, nanos) in [("StartPeriod", h.start_period), ("StartInterval", h.start_interval)] {
        if too_small(nanos) {
            return Err(Error::invalid(format!("{name} in Healthcheck cannot be less than 1ms")));
        }
    }
    Ok(())
}

/// Folds one probe's result into `h`; returns the new status when it changed.
/// `in_start_period`: the probe began within the start period.
pub fn apply(h: &mut Health, result: HealthcheckResult, retries: i64, in_start_period: bool) -> Option<String> {
    let before = status_of(h).to_string();
    let success = result.exit_code == 0;
    h.log.push(result);
    if h.log.len() > LOG_ENTRIES {
        h.log.drain(..h.log.len() - LOG_ENTRIES);
    }
    if success {
        h.failing_streak = 0;
        h.status = HEALTHY.into();
    } else if !(before == STARTING && in_start_period) {
        // Before the first success, failures in the start period are the container
        // still starting up; they count once it is over (or once it was healthy).
        h.failing_streak += 1;
        if h.failing_streak >= retries {
            h.status = UNHEALTHY.into();
        }
    }
    let after = status_of(h);
    (after != before).then(|| after.to_string())
}

/// The status as Docker reports it: one never set reads as `unhealthy`.
pub fn status_of(h: &Health) -> &str {
    if h.status.is_empty() { UNHEALTHY } else { &h.status }
}

/// The `health` filter's value for a container.
pub fn filter_value(r: &Record) -> &str {
    r.state.health.as_ref().map_or(NONE, status_of)
}

/// The status part of `ps`'s "Up 5 seconds (healthy)".
pub fn summary(h: &Health) -> String {
    match status_of(h) {
        STARTING => "health: starting".into(),
        other => other.into(),
    }
}

/// At a start (in the same record update): the status starts over, the log stays.
pub fn reset_for_start(r: &mut Record) {
    if Probe::of(&r.config).is_some() {
        let h = r.state.health.get_or_insert_with(Health::default);
        h.status = STARTING.into();
        h.failing_streak = 0;
    }
}

/// When monitoring stops (stop, exit, pause): `unhealthy`, as Docker reports it.
pub fn mark_unmonitored(r: &mut Record) {
    if let Some(h) = &mut r.state.health {
        h.status = UNHEALTHY.into();
    }
}


/// Go's `time.Duration` text (`500ms`, `1.5s`, `1m30s`), as Docker's messages print it.
pub fn go_duration(d: Duration) -> String {
    fn decimal(n: u128, unit: u128, digits: usize) -> String {
        let (whole, frac) = (n / unit, n % unit);
        if frac == 0 {
            whole.to_string()
        } else {
            let f = format!("{frac:0digits$}");
            format!("{whole}.{}", f.trim_end_matches('0'))
        }
    }
    let n = d.as_nanos();
    match n {
        0 => "0s".into(),
        1..=999 => format!("{n}ns"),
        1_000..=999_999 => format!("{}µs", decimal(n, 1_000, 3)),
        1_000_000..=999_999_999 => format!("{}ms", decimal(n, 1_000_000, 6)),
        _ => {
            let secs = n / 1_000_000_000;
            let (h, m) = (secs / 3600, secs / 60 % 60);
            let mut out = String::new();
            if h > 0 {
                out.push_str(&format!("{h}h"));
            }
            if h > 0 || m > 0 {
                out.push_str(&format!("{m}m"));
            }
            out.push_str(&decimal(n % 60_000_000_000, 1_000_000_000, 9));
            out.push('s');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(test: &[&str]) -> ContainerConfig {
        ContainerConfig {
            healthcheck: Some(HealthConfig { test: test.iter().map(|s| s.to_string()).collect(), ..Default::default() }),
            ..Default::default()
        }
    }

    fn outcome(code: i64) -> HealthcheckResult {
        HealthcheckResult { exit_code: code, ..Default::default() }
    }

    fn starting() -> Health {
        Health { status: STARTING.into(), ..Default::default() }
    }

    #[test]
    fn probes_are_execs_of_the_test() {
        let p = Probe::of(&config(&["CMD-SHELL", "test -e /tmp/ok"])).unwrap();
        assert_eq!(p.command, ["/bin/sh", "-c", "test -e /tmp/ok"]);
        assert_eq!((p.interval, p.timeout, p.retries, p.start_period), (DEFAULT_INTERVAL, DEFAULT_TIMEOUT, 3, Duration::ZERO));
        assert_eq!(Probe::of(&config(&["CMD", "cat", "/x"])).unwrap().command, ["cat", "/x"]);
        let mut c = config(&["CMD-SHELL", "x"]);
        c.shell = Some(vec!["/bin/bash".into(), "-ec".into()]);
        assert_eq!(Probe::of(&c).unwrap().command, ["/bin/bash", "-ec", "x"]);
        for none in [&["NONE"][..], &[], &["HTTP", "x"]] {
            assert_eq!(Probe::of(&config(none)), None, "{none:?}");
        }
        assert_eq!(Probe::of(&ContainerConfig::default()), None);
    }

    #[test]
    fn a_success_is_healthy_and_retries_failures_unhealthy() {
        let mut h = starting();
        assert_eq!(apply(&mut h, outcome(0), 2, false), Some(HEALTHY.into()));
        assert_eq!(apply(&mut h, outcome(1), 2, false), None);
        assert_eq!((h.status.as_str(), h.failing_streak), (HEALTHY, 1));
        assert_eq!(apply(&mut h, outcome(1), 2, false), Some(UNHEALTHY.into()));
        assert_eq!(apply(&mut h, outcome(7), 2, false), None);
        assert_eq!(h.failing_streak, 3);
        assert_eq!(apply(&mut h, outcome(0), 2, false), Some(HEALTHY.into()));
        assert_eq!(h.failing_streak, 0);
        // A timeout (-1) is a failure like any other.
        let mut h = starting();
        assert_eq!(apply(&mut h, outcome(-1), 1, false), Some(UNHEALTHY.into()));
    }

    #[test]
    fn start_period_failures_count_only_once_healthy() {
        let mut h = starting();
        for _ in 0..5 {
            assert_eq!(apply(&mut h, outcome(1), 1, true), None);
        }
        assert_eq!((h.status.as_str(), h.failing_streak), (STARTING, 0));
        // A success ends the start period's leniency at once.
        assert_eq!(apply(&mut h, outcome(0), 1, true), Some(HEALTHY.into()));
        assert_eq!(apply(&mut h, outcome(1), 1, true), Some(UNHEALTHY.into()));
        // Past the start period, a starting container's failures count.
        let mut h = starting();
        assert_eq!(apply(&mut h, outcome(1), 2, false), None);
        assert_eq!(apply(&mut h, outcome(1), 2, false), Some(UNHEALTHY.into()));
    }

    #[test]
    fn the_log_keeps_the_last_five() {
        let mut h = starting();
        for code in 0..8 {
            apply(&mut h, outcome(code), 100, false);
        }
        let codes: Vec<i64> = h.log.iter().map(|r| r.exit_code).collect();
        assert_eq!(codes, [3, 4, 5, 6, 7]);
    }

    #[test]
    fn waits_follow_the_start_interval_in_the_start_period() {
        let ms = Duration::from_millis;
        let p = Probe {
            command: vec![],
            interval: ms(1000),
            timeout: ms(1000),
            retries: 3,
            start_period: ms(3000),
            start_interval: ms(100),
        };
        assert_eq!(p.next_wait(ms(0), true), ms(100));
        assert_eq!(p.next_wait(ms(0), false), ms(1000));
        assert_eq!(p.next_wait(ms(2500), false), ms(500));
        assert_eq!(p.next_wait(ms(2950), true), ms(50));
        assert_eq!(p.next_wait(ms(3000), true), ms(1000));
        let no_period = Probe { start_period: Duration::ZERO, ..p };
        assert_eq!(no_period.next_wait(ms(0), true), ms(1000));
    }

    #[test]
    fn values_are_checked_with_dockers_messages() {
        let h = |f: fn(&mut HealthConfig)| {
            let mut h = HealthConfig::default();
            f(&mut h);
            validate(Some(&h)).err().map(|e| e.message)
        };
        assert_eq!(h(|_| {}), None);
        assert_eq!(h(|h| h.interval = -10_000_000).as_deref(), Some("Interval in Healthcheck cannot be less than 1ms"));
        assert_eq!(h(|h| h.interval = 500_000).as_deref(), Some("Interval in Healthcheck cannot be less than 1ms"));
        assert_eq!(h(|h| h.timeout = -1).as_deref(), Some("Timeout in Healthcheck cannot be less than 1ms"));
        assert_eq!(h(|h| h.retries = -1).as_deref(), Some("Retries in Healthcheck cannot be negative"));
        assert_eq!(h(|h| h.start_period = 1).as_deref(), Some("StartPeriod in Healthcheck cannot be less than 1ms"));
        assert_eq!(h(|h| h.start_interval = 1).as_deref(), Some("StartInterval in Healthcheck cannot be less than 1ms"));
    }

    #[test]
    fn durations_print_as_go() {
        let ms = Duration::from_millis;
        assert_eq!(go_duration(ms(200)), "200ms");
        assert_eq!(go_duration(ms(1500)), "1.5s");
        assert_eq!(go_duration(ms(30_000)), "30s");
        assert_eq!(go_duration(ms(90_000)), "1m30s");
        assert_eq!(go_duration(ms(3_600_000)), "1h0m0s");
        assert_eq!(go_duration(Duration::from_micros(1500)), "1.5ms");
        assert_eq!(go_duration(Duration::ZERO), "0s");
    }
}
