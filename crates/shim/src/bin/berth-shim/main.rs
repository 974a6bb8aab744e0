//! berth-shim: the per-container process between berthd and a container (see the
//! `shim` library's documentation for the protocol). This file is the command line
//! and the launcher: the foreground `start` process forks the shim away (double fork +
//! setsid) and waits on a pipe for its report, so it exits 0 with the init pid only
//! once the container runs, or 1 with the error.
//!
//! `spare` is a shim started ahead of time, so that starting and loading a process is
//! off the path of a container's start: it waits for `start`'s arguments on stdin (one
//! JSON array of strings), then becomes that container's shim itself (no fork: its
//! parent, berthd, reaps it) and writes its one-line report on stdout, `{"pid": N}`
//! or `{"error": "…"}`. It leaves quietly when stdin ends without arguments (its
//! berthd is gone).

mod attach;
mod container;
mod control;
mod daemon;
mod server;
mod sys;

use std::io::BufRead;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "berth-shim", version, about = "berth's per-container shim")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create and start a container under a new, daemonized shim; print its init pid
    Start(Box<StartArgs>),
    /// Wait for `start`'s arguments on stdin (a JSON array of strings), then become
    /// that container's shim; report on stdout
    Spare,
}

#[derive(clap::Args, Clone, Debug)]
pub struct StartArgs {
    /// Container id (as the runtime knows it)
    #[arg(long)]
    pub id: String,
    /// OCI bundle directory
    #[arg(long)]
    pub bundle: PathBuf,
    /// The runtime's state root (berth-runtime --root)
    #[arg(long)]
    pub runtime_root: PathBuf,
    /// The shim's directory: shim.pid, attach.sock, control.sock, exit.json, shim.log
    #[arg(long)]
    pub state_dir: PathBuf,
    /// The container's json-file log
    #[arg(long)]
    pub log_path: PathBuf,
    /// Give the container a terminal (the bundle's process.terminal should be true)
    #[arg(long)]
    pub tty: bool,
    /// Keep the container's stdin open for attach clients
    #[arg(long)]
    pub stdin: bool,
    /// Close the container's stdin when an attached stdin client ends its input
    #[arg(long, requires = "stdin")]
    pub stdin_once: bool,
    /// Rotate the log once it reaches this many bytes
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub log_max_size: Option<u64>,
    /// Log files kept when rotating, the current one included
    #[arg(long, requires = "log_max_size", value_parser = clap::value_parser!(u32).range(1..))]
    pub log_max_file: Option<u32>,
    /// Terminal columns
    #[arg(long, requires_all = ["tty", "console_height"])]
    pub console_width: Option<u16>,
    /// Terminal rows
    #[arg(long, requires_all = ["tty", "console_width"])]
    pub console_height: Option<u16>,
    /// Start the container only once the first attach client has sent its request
    #[arg(long)]
    pub wait_attach: bool,
    /// Create the container with this runc-compatible binary instead of berth's runtime
    #[arg(long)]
    pub runtime_binary: Option<PathBuf>,
    /// An argument for the runtime binary, before its command (repeatable)
    #[arg(long, requires = "runtime_binary", allow_hyphen_values = true)]
    pub runtime_arg: Vec<String>,
    /// Seconds the shim stays after the container exited without a shutdown request
    #[arg(long, default_value_t = shim::DEFAULT_LINGER_SECS)]
    pub linger: u64,
}

fn main() -> ExitCode {
    let args = match Cli::parse().command {
        Command::Start(args) => *args,
        Command::Spare => return spare(),
    };
    match launch(args) {
        Ok(pid) => {
            println!("{pid}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("berth-shim: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// A spare's life: its arguments, then the shim's (see the module's documentation).
fn spare() -> ExitCode {
    // A session of its own, as a launched shim has: nothing sent to berthd's terminal
    // or process group reaches it.
    let _ = nix::unistd::setsid();
    runtime::warm_up();
    let mut args = match spare_args() {
        Ok(Some(args)) => args,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berth-shim: {e:#}");
            return ExitCode::from(2);
        }
    };
    let report = match std::io::stdout().as_fd().try_clone_to_owned() {
        Ok(fd) => fd,
        Err(e) => {
            eprintln!("berth-shim: report: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = prepare(&mut args) {
        println!("{}", serde_json::json!({ "error": format!("{e:#}") }));
        return ExitCode::from(1);
    }
    daemon::run(&args, report)
}

/// A spare's `start` arguments, read from stdin; `None` when it closes without any.
fn spare_args() -> Result<Option<StartArgs>> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("read the start arguments")?;
    if line.trim().is_empty() {
        return Ok(None);
    }
    let args: Vec<String> = serde_json::from_str(&line).context("the start arguments (a JSON array of strings)")?;
    let argv = ["berth-shim".to_string(), "start".to_string()].into_iter().chain(args);
    match Cli::try_parse_from(argv)?.command {
        Command::Start(a) => Ok(Some(*a)),
        Command::Spare => unreachable!("parsed as start"),
    }
}

/// Checks the arguments, forks the shim away and returns what it reported.
fn launch(mut a: StartArgs) -> Result<i32> {
    prepare(&mut a)?;
    let (report_r, report_w) = sys::pipe().context("report pipe")?;
    // SAFETY: the launcher is single-threaded, so the child may run any code.
    match unsafe { nix::unistd::fork() }.context("fork")? {
        nix::unistd::ForkResult::Child => {
            drop(report_r);
            let _ = nix::unistd::setsid();
            // SAFETY: still single-threaded (a fresh child of a single-threaded process).
            match unsafe { nix::unistd::fork() } {
                Ok(nix::unistd::ForkResult::Child) => daemon::run(&a, report_w),
                // The shim's parent leaves at once: the shim is nobody's child but
                // init's (or a subreaper's) and not a session leader.
                // SAFETY: _exit skips the launcher's atexit handlers and buffers.
                _ => unsafe { libc::_exit(0) },
            }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(report_w);
            let _ = nix::sys::wait::waitpid(child, None);
            read_report(report_r, &a.state_dir)
        }
    }
}

/// What a shim needs before it starts: absolute paths, a valid id, a terminal setting
/// that agrees with the bundle, its directories, and no other shim serving them.
fn prepare(a: &mut StartArgs) -> Result<()> {
    for p in [&mut a.bundle, &mut a.runtime_root, &mut a.state_dir, &mut a.log_path] {
        *p = std::path::absolute(&*p).with_context(|| format!("path {}", p.display()))?;
    }
    runtime::state::validate_id(&a.id)?;
    check_terminal(a)?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&a.state_dir)
        .with_context(|| format!("create {}", a.state_dir.display()))?;
    if let Some(dir) = a.log_path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    if UnixStream::connect(a.state_dir.join(shim::CONTROL_SOCKET)).is_ok() {
        bail!("a shim already serves {}", a.state_dir.display());
    }
    Ok(())
}

/// --tty and the bundle's process.terminal must agree (the runtime would otherwise
/// ask for a console socket, which the shim's users never pass). A bundle that cannot
/// be read is left for the runtime to report.
fn check_terminal(a: &StartArgs) -> Result<()> {
    let Ok(text) = std::fs::read(a.bundle.join("config.json")) else { return Ok(()) };
    let Ok(spec) = serde_json::from_slice::<serde_json::Value>(&text) else { return Ok(()) };
    let terminal = spec["process"]["terminal"].as_bool().unwrap_or(false);
    match (terminal, a.tty) {
        (true, false) => bail!("the bundle's process.terminal is true: start the shim with --tty"),
        (false, true) => bail!("--tty needs the bundle's process.terminal to be true"),
        _ => Ok(()),
    }
}

/// The shim's one-line report: `{"pid": N}` or `{"error": "…"}`.
fn read_report(fd: OwnedFd, state_dir: &Path) -> Result<i32> {
    let mut line = String::new();
    std::io::BufReader::new(std::fs::File::from(fd)).read_line(&mut line).context("read the shim's report")?;
    if line.is_empty() {
        bail!("the shim exited without reporting (see {})", state_dir.join(shim::SHIM_LOG).display());
    }
    let v: serde_json::Value = serde_json::from_str(&line).context("the shim's report")?;
    if let Some(e) = v.get("error").and_then(|e| e.as_str()) {
        bail!("{e}");
    }
    v.get("pid")
        .and_then(|p| p.as_i64())
        .map(|p| p as i32)
        .with_context(|| format!("the shim's report {line:?} has no pid"))
}
