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
mod exec;
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
    Spare {
        /// Room in the argument area for the container's id, which `ps` then shows
        #[arg(hide = true)]
        title_room: Option<String>,
    },
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
        Command::Spare { .. } => return spare(),
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
    retitle(&args.id);
    let report = match std::io::stdout().as_fd().try_clone_to_owned() {
        Ok(fd) => fd,
        Err(e) => {
            eprintln!("berth-shim: report: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = prepare(&mut args) {
        print!("{}", shim::StartReport::Failed { error: format!("{e:#}"), code: shim::FailureCode::Other }.to_line());
        return ExitCode::from(1);
    }
    daemon::run(&args, report)
}

/// Shows the container's id in `ps` in place of the spare's arguments: the argument
/// area is rewritten where it is (through /proc/self/mem, as setproctitle does), the
/// program's path kept first. Cut to the room the spare was started with.
fn retitle(id: &str) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return };
    // After the command's closing parenthesis come fields 3 on; arg_start and
    // arg_end are fields 48 and 49.
    let Some((_, rest)) = stat.rsplit_once(')') else { return };
    let field = |n: usize| rest.split_whitespace().nth(n - 3).and_then(|v| v.parse::<u64>().ok());
    let (Some(start), Some(end)) = (field(48), field(49)) else { return };
    let Ok(cmdline) = std::fs::read("/proc/self/cmdline") else { return };
    let Some(program_len) = cmdline.iter().position(|b| *b == 0) else { return };
    let room = (end.saturating_sub(start) as usize).saturating_sub(program_len + 2);
    let mut title = cmdline[..=program_len].to_vec();
    title.extend_from_slice(&id.as_bytes()[..id.len().min(room)]);
    title.resize((end - start) as usize, 0);
    use std::io::{Seek, Write};
    if let Ok(mut mem) = std::fs::OpenOptions::new().write(true).open("/proc/self/mem")
        && mem.seek(std::io::SeekFrom::Start(start)).is_ok()
    {
        let _ = mem.write_all(&title);
    }
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
        Command::Spare { .. } => unreachable!("parsed as start"),
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

/// The shim's one-line report ([`shim::StartReport`]).
fn read_report(fd: OwnedFd, state_dir: &Path) -> Result<i32> {
    let mut line = String::new();
    std::io::BufReader::new(std::fs::File::from(fd)).read_line(&mut line).context("read the shim's report")?;
    if line.is_empty() {
        bail!("the shim exited without reporting (see {})", state_dir.join(shim::SHIM_LOG).display());
    }
    match shim::StartReport::parse(&line)? {
        shim::StartReport::Started { pid } => Ok(pid),
        shim::StartReport::Failed { error, .. } => bail!("{error}"),
    }
}
