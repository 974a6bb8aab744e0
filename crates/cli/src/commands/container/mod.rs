//! The container commands: `berth container …` and the same commands at the
//! top level (`berth run`, `berth ps` …), with docker's behaviour, output
//! and exit statuses.
//!
//! - [`opts`] and [`spec`]: `run`/`create` flags → the create body;
//! - [`run`]: `run`, `create`, `start`; [`attach`]: attached streams and
//!   `attach`; [`exec`]: `exec`; [`terminal`]: raw mode, sizes and detach keys;
//! - [`lifecycle`]: `stop`, `kill`, `restart`, `pause`, `unpause`, `rm`,
//!   `rename`, `wait`, `prune`;
//! - [`list`]: `ps`; [`inspect`]: `inspect`; [`logs`]; [`export`]; [`cp`]; [`commit`]; [`stats`];
//!   [`update`]: live resource and restart-policy changes; [`port`]: published ports.

pub mod attach;
pub mod commit;
pub mod cp;
pub mod exec;
pub mod export;
pub mod inspect;
pub mod lifecycle;
pub mod list;
pub mod logs;
pub mod opts;
pub mod port;
pub mod run;
pub mod spec;
pub mod stats;
pub mod terminal;
pub mod update;

use clap::CommandFactory;

use crate::cli::Opts;
use crate::cli::container::{self as grammar, ContainerArgs, ContainerCommand};
use crate::context::Cli;
use crate::error::{CliError, Result};

/// `berth container` with a subcommand, or its help.
pub async fn run(cli: &mut Cli<'_>, args: ContainerArgs) -> Result<()> {
    match args.command {
        Some(c) => dispatch(cli, c, "berth container").await,
        None => {
            let mut root = Opts::command();
            root.build();
            if let Some(c) = root.find_subcommand_mut("container") {
                write!(cli.out, "{}", c.render_help())?;
            }
            Ok(())
        }
    }
}

/// Runs a container command reached through `parent` (`berth` or
/// `berth container`), which error messages name as docker does.
pub async fn dispatch(cli: &mut Cli<'_>, command: ContainerCommand, parent: &str) -> Result<()> {
    let cmd = |name: &str, usage: &'static str| Invocation { path: format!("{parent} {name}"), usage };
    match command {
        ContainerCommand::Run(a) => run::run(cli, a, &cmd("run", grammar::RUN_USAGE)).await,
        ContainerCommand::Create(a) => run::create(cli, a, &cmd("create", grammar::CREATE_USAGE)).await,
        ContainerCommand::Start(a) => run::start(cli, a, &cmd("start", grammar::START_USAGE)).await,
        ContainerCommand::Attach(a) => attach::run(cli, a, &cmd("attach", grammar::ATTACH_USAGE)).await,
        ContainerCommand::Exec(a) => exec::run(cli, a, &cmd("exec", grammar::EXEC_USAGE)).await,
        ContainerCommand::Stop(a) => lifecycle::stop(cli, a, &cmd("stop", grammar::STOP_USAGE)).await,
        ContainerCommand::Kill(a) => lifecycle::kill(cli, a, &cmd("kill", grammar::KILL_USAGE)).await,
        ContainerCommand::Restart(a) => lifecycle::restart(cli, a, &cmd("restart", grammar::RESTART_USAGE)).await,
        ContainerCommand::Pause(a) => lifecycle::pause(cli, a, &cmd("pause", grammar::PAUSE_USAGE)).await,
        ContainerCommand::Unpause(a) => lifecycle::unpause(cli, a, &cmd("unpause", grammar::UNPAUSE_USAGE)).await,
        ContainerCommand::Rm(a) => lifecycle::rm(cli, a, &cmd("rm", grammar::RM_USAGE)).await,
        ContainerCommand::Rename(a) => lifecycle::rename(cli, a, &cmd("rename", grammar::RENAME_USAGE)).await,
        ContainerCommand::Top(a) => lifecycle::top(cli, a, &cmd("top", grammar::TOP_USAGE)).await,
        ContainerCommand::Diff(a) => lifecycle::diff(cli, a, &cmd("diff", grammar::DIFF_USAGE)).await,
        ContainerCommand::Wait(a) => lifecycle::wait(cli, a, &cmd("wait", grammar::WAIT_USAGE)).await,
        ContainerCommand::Prune(a) => lifecycle::prune(cli, a).await,
        ContainerCommand::Logs(a) => logs::run(cli, a, &cmd("logs", grammar::LOGS_USAGE)).await,
        ContainerCommand::Ls(a) => list::run(cli, a).await,
        ContainerCommand::Inspect(a) => {
            inspect::run_containers(cli, a, &cmd("inspect", grammar::CONTAINER_INSPECT_USAGE)).await
        }
        ContainerCommand::Export(a) => export::run(cli, a, &cmd("export", grammar::EXPORT_USAGE)).await,
        ContainerCommand::Cp(a) => cp::run(cli, a, &cmd("cp", grammar::CP_USAGE)).await,
        ContainerCommand::Commit(a) => commit::run(cli, a, &cmd("commit", grammar::COMMIT_USAGE)).await,
        ContainerCommand::Stats(a) => stats::run(cli, a, &cmd("stats", grammar::STATS_USAGE)).await,
        ContainerCommand::Update(a) => update::run(cli, a, &cmd("update", grammar::UPDATE_USAGE)).await,
        ContainerCommand::Port(a) => port::run(cli, a, &cmd("port", grammar::PORT_USAGE)).await,
    }
}

/// The command as typed (`berth container run`) and its usage line after the
/// path, for docker's argument-count errors.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub path: String,
    pub usage: &'static str,
}

impl Invocation {
    /// Docker's `RequiresMinArgs`: `berth: 'berth run' requires at least 1
    /// argument` (exit 1).
    pub fn require_min(&self, args: &[String], min: usize) -> Result<()> {
        if args.len() >= min {
            return Ok(());
        }
        Err(CliError::status(
            1,
            format!(
                "berth: '{path}' requires at least {min} {noun}\n\nUsage:  {path} {usage}\n\nSee '{path} --help' for more information",
                path = self.path,
                noun = if min == 1 { "argument" } else { "arguments" },
                usage = self.usage
            ),
        ))
    }

    /// Docker's `RequiresRangeArgs`: `berth: 'berth port' requires at least 1 and at
    /// most 2 arguments` (exit 1).
    pub fn require_range(&self, args: &[String], min: usize, max: usize) -> Result<()> {
        if (min..=max).contains(&args.len()) {
            return Ok(());
        }
        Err(CliError::status(
            1,
            format!(
                "berth: '{path}' requires at least {min} and at most {max} {noun}\n\nUsage:  {path} {usage}\n\nRun '{path} --help' for more information",
                path = self.path,
                noun = if max == 1 { "argument" } else { "arguments" },
                usage = self.usage
            ),
        ))
    }

    /// Docker's `ExactArgs`: `berth: 'berth rename' requires 2 arguments`.
    pub fn require_exact(&self, args: &[String], n: usize) -> Result<()> {
        if args.len() == n {
            return Ok(());
        }
        Err(CliError::status(
            1,
            format!(
                "berth: '{path}' requires {n} {noun}\n\nUsage:  {path} {usage}\n\nRun '{path} --help' for more information",
                path = self.path,
                noun = if n == 1 { "argument" } else { "arguments" },
                usage = self.usage
            ),
        ))
    }
}

/// A container name or id as a URL path segment.
pub fn path_segment(name: &str) -> String {
    api::query::percent_encode(name)
}

/// Several failures, one per line, as docker's `errors.Join` prints them
/// (exit status 1); `None` when there were none.
pub fn joined(errors: Vec<String>) -> Result<()> {
    if errors.is_empty() { Ok(()) } else { Err(CliError::status(1, errors.join("\n"))) }
}
