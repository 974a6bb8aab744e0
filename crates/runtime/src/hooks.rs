//! Lifecycle hooks: each runs with the container's state JSON on stdin, its own
//! args and env, and is killed when its timeout passes.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;

use crate::error::{Error, Result};

/// Runs `hooks` in order; the first failure stops the rest and is returned.
pub fn run_all(hooks: Option<&Vec<Hook>>, state: &serde_json::Value) -> Result<()> {
    for hook in hooks.into_iter().flatten() {
        run(hook, state)?;
    }
    Ok(())
}

/// For poststart and poststop, where the spec says a failure is only a warning.
pub fn run_all_warn(hooks: Option<&Vec<Hook>>, state: &serde_json::Value) {
    for hook in hooks.into_iter().flatten() {
        if let Err(e) = run(hook, state) {
            eprintln!("berth-runtime: warning: {e}");
        }
    }
}

pub fn run(hook: &Hook, state: &serde_json::Value) -> Result<()> {
    let fail = |reason: String| Error::Hook { path: hook.path().clone(), reason };
    let args = hook.args().clone().unwrap_or_default();
    let mut cmd = Command::new(hook.path());
    if let Some((argv0, rest)) = args.split_first() {
        cmd.arg0(argv0).args(rest);
    }
    cmd.env_clear();
    for kv in hook.env().iter().flatten() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped()).stdout(Stdio::inherit()).stderr(Stdio::inherit());
    let mut child = cmd.spawn().map_err(|e| fail(format!("cannot run: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that ignores its stdin and exits early closes the pipe: not an error.
        let _ = stdin.write_all(state.to_string().as_bytes());
    }
    let deadline = hook
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| Instant::now() + Duration::from_secs(t as u64));
    let mut nap = Duration::from_micros(200);
    loop {
        if let Some(status) = child.try_wait().map_err(|e| fail(format!("wait: {e}")))? {
            return if status.success() {
                Ok(())
            } else {
                Err(fail(format!("failed: {status}")))
            };
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(fail(format!("timed out after {}s", hook.timeout().unwrap_or(0))));
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(10));
    }
}
