//! The healthcheck's monitor: one task per running container whose config has a
//! healthcheck. Every interval it runs the probe inside the container as an exec (the
//! container's user, env and working directory, as Docker's probes), with a timeout,
//! and hands the result to the container's owner, which folds it into the record
//! ([`super::health::apply`]).

use std::sync::Arc;
use std::time::Duration;

use api::containers::HealthcheckResult;
use api::exec::ExecCreateBody;
use chrono::Utc;
use tokio::io::AsyncReadExt;
use tokio::sync::watch;

use super::health::{Probe, STARTING, go_duration, status_of};
use super::machine::Input;
use super::record::Status;
use super::{Container, Containers, exec};
use crate::error::Result;

/// Bytes of a probe's output kept; more is cut and marked with `...`.
const OUTPUT_LIMIT: usize = 4096;
/// How long a killed probe may take to be reaped before the monitor gives up on it.
const KILLED_PROBE_GRACE: Duration = Duration::from_secs(10);

/// The handle of a container's running monitor.
pub struct Monitor {
    stop: watch::Sender<bool>,
}

impl Monitor {
    /// Stops the monitor and kills its probe in flight.
    pub fn stop(self) {
        self.stop.send_replace(true);
    }
}

/// Starts monitoring `c` (running, with a healthcheck), as the owner's monitor of
/// generation `generation`; none without a healthcheck.
pub fn watch(d: &Arc<Containers>, c: &Arc<Container>, generation: u64) -> Option<Monitor> {
    let r = c.record();
    let probe = Probe::of(&r.config)?;
    let (tx, rx) = watch::channel(false);
    let started = r.state.started_at.unwrap_or_else(Utc::now);
    tokio::spawn(monitor(d.clone(), c.clone(), probe, started, generation, rx));
    Some(Monitor { stop: tx })
}

async fn monitor(
    d: Arc<Containers>,
    c: Arc<Container>,
    probe: Probe,
    started: chrono::DateTime<Utc>,
    generation: u64,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if !matches!(c.status(), Status::Running | Status::Paused) {
            return;
        }
        let starting = c.record().state.health.as_ref().is_some_and(|h| status_of(h) == STARTING);
        let since_start = (Utc::now() - started).to_std().unwrap_or_default();
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(probe.next_wait(since_start, starting)) => {}
        }
        let Some(result) = run_probe(&d, &c, &probe, &mut stop).await else { return };
        c.send(Input::Health { monitor: generation, result: Box::new(result) });
    }
}

/// Runs the probe once as an exec of the container. None when the monitor was
/// stopped meanwhile (the probe is killed).
async fn run_probe(d: &Arc<Containers>, c: &Arc<Container>, probe: &Probe, stop: &mut watch::Receiver<bool>) -> Option<HealthcheckResult> {
    let start = Utc::now();
    let result = |exit_code: i64, output: String| HealthcheckResult {
        start: api::time::format_rfc3339_nano(start),
        end: api::time::format_rfc3339_nano(Utc::now()),
        exit_code,
        output,
    };
    let body = ExecCreateBody {
        cmd: Some(probe.command.clone()),
        attach_stdout: true,
        attach_stderr: true,
        ..Default::default()
    };
    let e = match exec::create(d, c, body).and_then(|id| d.execs.get(&id)) {
        Ok(e) => e,
        Err(err) => return Some(result(-1, err.message)),
    };
    let output = Arc::new(std::sync::Mutex::new(Output::default()));
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let run = {
        let (d, e, output) = (d.clone(), e.clone(), output.clone());
        async move {
            let (started, ()) = tokio::join!(exec::start(d, e, Some(theirs), exec::Framing::Multiplexed), collect(ours, &output));
            started
        }
    };
    tokio::pin!(run);
    enum End {
        Done(Result<()>),
        TimedOut,
        Stopped,
    }
    let end = tokio::select! {
        r = &mut run => End::Done(r),
        _ = tokio::time::sleep(probe.timeout) => End::TimedOut,
        _ = stop.wait_for(|s| *s) => End::Stopped,
    };
    if !matches!(end, End::Done(_)) {
        // Killed and waited for, so that dying probes do not pile up.
        kill(d, &e, &mut run).await;
    }
    d.execs.forget(&d.paths, &e);
    let out = output.lock().expect("probe output lock").text();
    match end {
        End::Stopped => None,
        End::TimedOut => {
            let limit = go_duration(probe.timeout);
            Some(result(
                -1,
                if out.is_empty() {
                    format!("Health check exceeded timeout ({limit})")
                } else {
                    format!("Health check exceeded timeout ({limit}): {out}")
                },
            ))
        }
        End::Done(Err(err)) => Some(result(-1, err.message)),
        End::Done(Ok(())) => match exec::inspect(&e).exit_code {
            Some(code) => Some(result(code, out)),
            None => Some(result(-1, format!("healthcheck for container {} has no exit code", c.id))),
        },
    }
}

/// SIGKILLs the probe's process until its exec ends (the runtime writes the pid a
/// moment after it starts), for at most [`KILLED_PROBE_GRACE`].
async fn kill(d: &Containers, e: &exec::Exec, run: &mut (impl std::future::Future<Output = Result<()>> + Unpin)) {
    let deadline = tokio::time::Instant::now() + KILLED_PROBE_GRACE;
    loop {
        exec::signal(d, e, nix::sys::signal::Signal::SIGKILL).await;
        tokio::select! {
            _ = &mut *run => return,
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
        if tokio::time::Instant::now() >= deadline {
            return;
        }
    }
}

/// A probe's stdout and stderr together, the first [`OUTPUT_LIMIT`] bytes of them.
#[derive(Default)]
struct Output {
    bytes: Vec<u8>,
    truncated: bool,
}

impl Output {
    fn push(&mut self, data: &[u8]) {
        let keep = OUTPUT_LIMIT.saturating_sub(self.bytes.len()).min(data.len());
        self.bytes.extend_from_slice(&data[..keep]);
        self.truncated |= keep < data.len();
    }

    fn text(&self) -> String {
        let mut s = String::from_utf8_lossy(&self.bytes).into_owned();
        if self.truncated {
            s.push_str("...");
        }
        s
    }
}

/// Reads the exec's multiplexed stream to its end, keeping what fits: the probe must
/// never block on a full pipe because its output is no longer wanted.
async fn collect(mut stream: tokio::io::DuplexStream, output: &std::sync::Mutex<Output>) {
    let mut frames = api::stream::FrameDecoder::new();
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
        frames.push(&buf[..n]);
        while let Ok(Some(f)) = frames.next_frame() {
            output.lock().expect("probe output lock").push(&f.data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_cut_at_4096_bytes() {
        let mut o = Output::default();
        o.push(&[b'a'; 4000]);
        o.push(&[b'b'; 200]);
        let t = o.text();
        assert_eq!(t.len(), 4096 + 3);
        assert!(t.ends_with("bbb..."));
    }

}
