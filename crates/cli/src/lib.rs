//! berth's command line, `berth`: docker's commands, flags, output formats and
//! exit codes, talking to berthd over its unix socket.
//!
//! - [`cli`]: the grammar (clap); [`usage`]: docker-worded usage errors;
//! - [`context`]: the per-run state (host, flags, streams, API client);
//! - [`commands`]: one module per command family;
//! - [`format`]: `--format` templates, tables, human-readable values;
//! - [`jsonmessage`]: the JSON-message streams of load, import (and pull, push, build);
//! - [`error`]: failures, their messages and exit statuses.

pub mod cli;
pub mod commands;
pub mod context;
pub mod error;
pub mod format;
pub mod credentials;
pub mod jsonmessage;
pub mod usage;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

pub use context::Cli;
pub use error::CliError;

/// Runs the command line `args` (program name first) on the process's stdout
/// and stderr.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let code = run_with(args, &mut stdout.lock(), &mut stderr.lock());
    ExitCode::from(code)
}

/// Runs the command line `args` writing to `out` and `err`; returns the exit
/// status.
pub fn run_with<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // The command tree is large (docker's flags): built once for matching, and again
    // only when an error or the help needs it.
    let opts = match cli::Opts::command().try_get_matches_from(&args).and_then(|m| cli::Opts::from_arg_matches(&m)) {
        Ok(o) => o,
        Err(e) => {
            let u = usage::from_clap(&e, &cli::Opts::command(), &args);
            let stream: &mut dyn Write = if u.stdout { out } else { err };
            let _ = stream.write_all(u.text.as_bytes());
            return u.code;
        }
    };
    if !["debug", "info", "warn", "error", "fatal"].contains(&opts.log_level.to_lowercase().as_str()) {
        let _ = writeln!(err, "Unable to parse logging level: {}", opts.log_level);
        return 1;
    }
    if opts.version {
        let _ = writeln!(out, "berth version {}, build {}", context::VERSION, context::GIT_COMMIT);
        return 0;
    }
    let Some(command) = opts.command else {
        let _ = write!(out, "{}", cli::Opts::command().render_help());
        return 0;
    };
    let env = |k: &str| std::env::var(k).ok();
    let host = context::resolve_host(opts.host.as_deref(), env("BERTH_HOST").as_deref(), env("DOCKER_HOST").as_deref());
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "cannot start: {e}");
            return 1;
        }
    };
    let mut cli = Cli::new(host, opts.debug, out, err);
    let result = runtime.block_on(commands::run(&mut cli, command));
    let _ = cli.out.flush();
    match result {
        Ok(()) => 0,
        Err(e) if e.is_broken_pipe() => 0,
        Err(e) => {
            let msg = e.to_string();
            if !msg.is_empty() {
                let _ = writeln!(cli.err, "{msg}");
            }
            e.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_args(args: &[&str]) -> (u8, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run_with(args.iter().copied(), &mut out, &mut err);
        (code, String::from_utf8_lossy(&out).into_owned(), String::from_utf8_lossy(&err).into_owned())
    }

    #[test]
    fn in_process_runs() {
        let (code, out, err) =
            run_args(&["berth", "-H", "unix:///nonexistent/berth.sock", "version", "--format", "{{.Client.Version}}"]);
        assert_eq!(code, 1);
        assert_eq!(out, format!("{}\n", context::VERSION));
        assert_eq!(
            err,
            "Cannot connect to the berth daemon at unix:///nonexistent/berth.sock. Is the berth daemon running?\n"
        );
        let (code, out, _) = run_args(&["berth", "-v"]);
        assert_eq!((code, out.starts_with("berth version ")), (0, true));
        let (code, _, err) = run_args(&["berth", "info", "--nope"]);
        assert_eq!(code, 125);
        assert!(err.starts_with("unknown flag: --nope\n\nUsage:  berth info [OPTIONS]\n"), "{err}");
        let (code, _, err) = run_args(&["berth", "-l", "loud", "info"]);
        assert_eq!((code, err.as_str()), (1, "Unable to parse logging level: loud\n"));
        let (code, _, err) = run_args(&["berth", "-H", "tcp://127.0.0.1:2375", "info", "--format", "{{.ID}}"]);
        assert_eq!(code, 1);
        assert!(err.contains("only unix:// sockets are supported"), "{err}");
        let (code, out, err) = run_args(&["berth", "version", "--format", "{{.Client.Nope"]);
        assert_eq!((code, out.as_str()), (64, ""));
        assert_eq!(err, "template parsing error: template: version:1: unclosed action\n");
    }
}
