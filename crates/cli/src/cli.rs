//! The command-line grammar (clap derive): berth's global options and
//! commands, named and shaped like docker's (`-H`, `-D`, `-l` before the
//! command; `version`, `info`, `events`, `system info|events`).

use clap::{ArgMatches, Args, FromArgMatches, Parser, Subcommand};

mod image;
pub use image::*;
pub mod container;
pub mod network;
pub mod values;
pub mod volume;

/// A command's arguments, declared to clap only when that command is parsed or its
/// help shown (`Command::defer`): building docker's whole tree of flags cost a
/// millisecond of every invocation.
#[derive(Debug)]
pub struct Deferred<T>(pub T);

impl<T> std::ops::Deref for Deferred<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: FromArgMatches> FromArgMatches for Deferred<T> {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(m).map(Deferred)
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(m)
    }
}

impl<T: Args> Args for Deferred<T> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.defer(declare::<T, false>)
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        cmd.defer(declare::<T, true>)
    }
}

/// Declares `T`'s arguments, keeping the command's description (the variant's doc
/// comment), which `T`'s own would replace now that it comes last.
fn declare<T: Args, const FOR_UPDATE: bool>(cmd: clap::Command) -> clap::Command {
    let (about, long_about) = (cmd.get_about().cloned(), cmd.get_long_about().cloned());
    let cmd = if FOR_UPDATE { T::augment_args_for_update(cmd) } else { T::augment_args(cmd) };
    match about {
        Some(about) => cmd.about(about).long_about(match long_about {
            Some(long) => clap::builder::Resettable::Value(long),
            None => clap::builder::Resettable::Reset,
        }),
        None => cmd,
    }
}

/// The whole command line.
#[derive(Debug, Parser)]
#[command(
    name = "berth",
    about = "A self-sufficient runtime for containers",
    disable_version_flag = true,
    subcommand_value_name = "COMMAND",
    after_help = "Run 'berth COMMAND --help' for more information on a command."
)]
pub struct Opts {
    /// Daemon socket to connect to (default: $BERTH_HOST, $DOCKER_HOST, unix:///run/berth/berth.sock)
    #[arg(short = 'H', long = "host", value_name = "HOST")]
    pub host: Option<String>,
    /// Enable debug mode
    #[arg(short = 'D', long = "debug")]
    pub debug: bool,
    /// Set the logging level ("debug", "info", "warn", "error", "fatal")
    #[arg(short = 'l', long = "log-level", value_name = "LEVEL", default_value = "info")]
    pub log_level: String,
    /// Print version information and quit
    #[arg(short = 'v', long = "version")]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the berth version information
    Version(Deferred<VersionArgs>),
    /// Display system-wide information
    Info(Deferred<InfoArgs>),
    /// Get real time events from the server
    Events(Deferred<EventsArgs>),
    /// Manage berth
    System(Deferred<SystemArgs>),
    /// Manage images
    Image(Deferred<ImageArgs>),
    /// List images
    Images(Deferred<ImagesArgs>),
    /// Show the history of an image
    History(Deferred<HistoryArgs>),
    /// Import the contents from a tarball to create a filesystem image
    Import(Deferred<ImportArgs>),
    /// Load an image from a tar archive or STDIN
    Load(Deferred<LoadArgs>),
    /// Download an image from a registry
    Pull(Deferred<PullArgs>),
    /// Upload an image to a registry
    Push(Deferred<PushArgs>),
    /// Search Docker Hub (or another registry) for images
    Search(Deferred<SearchArgs>),
    /// Authenticate to a registry
    Login(Deferred<LoginArgs>),
    /// Log out from a registry
    Logout(Deferred<LogoutArgs>),
    /// Remove one or more images
    Rmi(Deferred<RmiArgs>),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(Deferred<SaveArgs>),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(Deferred<TagArgs>),
    /// Manage containers
    Container(Deferred<container::ContainerArgs>),
    /// Manage networks
    Network(Deferred<network::NetworkArgs>),
    /// Manage volumes
    Volume(Deferred<volume::VolumeArgs>),
    /// Create and run a new container from an image
    Run(Deferred<container::RunArgs>),
    /// Create a new container
    Create(Deferred<container::CreateArgs>),
    /// Start one or more stopped containers
    Start(Deferred<container::StartArgs>),
    /// Stop one or more running containers
    Stop(Deferred<container::StopArgs>),
    /// Kill one or more running containers
    Kill(Deferred<container::KillArgs>),
    /// Restart one or more containers
    Restart(Deferred<container::RestartArgs>),
    /// Pause all processes within one or more containers
    Pause(Deferred<container::PauseArgs>),
    /// Unpause all processes within one or more containers
    Unpause(Deferred<container::UnpauseArgs>),
    /// Remove one or more containers
    Rm(Deferred<container::RmArgs>),
    /// Rename a container
    Rename(Deferred<container::RenameArgs>),
    /// Display the running processes of a container
    Top(Deferred<container::TopArgs>),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(Deferred<container::DiffArgs>),
    /// Block until one or more containers stop, then print their exit codes
    Wait(Deferred<container::WaitArgs>),
    /// Attach local standard input, output, and error streams to a running container
    Attach(Deferred<container::AttachArgs>),
    /// Execute a command in a running container
    Exec(Deferred<container::ExecArgs>),
    /// Fetch the logs of a container
    Logs(Deferred<container::LogsArgs>),
    /// List containers
    Ps(Deferred<container::PsArgs>),
    /// Return low-level information on Docker objects
    Inspect(Deferred<container::InspectArgs>),
    /// Export a container's filesystem as a tar archive
    Export(Deferred<container::ExportArgs>),
    /// Copy files/folders between a container and the local filesystem
    Cp(Deferred<container::CpArgs>),
    /// Create a new image from a container's changes
    Commit(Deferred<container::CommitArgs>),
    /// Display a live stream of container(s) resource usage statistics
    Stats(Deferred<container::StatsArgs>),
    /// Update configuration of one or more containers
    Update(Deferred<container::UpdateArgs>),
    /// List port mappings or a specific mapping for the container
    Port(Deferred<container::PortArgs>),
}

#[derive(Debug, Args)]
#[command(subcommand_value_name = "COMMAND")]
pub struct SystemArgs {
    #[command(subcommand)]
    pub command: Option<SystemCommand>,
}

#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Display system-wide information
    Info(InfoArgs),
    /// Get real time events from the server
    Events(EventsArgs),
    /// Show berth disk usage
    Df(DfArgs),
    /// Remove unused data
    Prune(SystemPruneArgs),
}

/// `berth system prune`: its switches take Go's `=value` forms too
/// (`--volumes=false`), as docker's.
#[derive(Debug, Args)]
#[command(override_usage = "[OPTIONS]", help_template = container::HELP_TEMPLATE)]
pub struct SystemPruneArgs {
    /// Remove all unused images not just dangling ones
    #[arg(
        short = 'a',
        long = "all",
        value_name = "bool",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        default_value = "false",
        hide_default_value = true,
        value_parser = values::go_bool
    )]
    pub all: bool,
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long = "filter", value_name = "filter", value_parser = values::filter_opt)]
    pub filter: Vec<Option<(String, String)>>,
    /// Do not prompt for confirmation
    #[arg(
        short = 'f',
        long = "force",
        value_name = "bool",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        default_value = "false",
        hide_default_value = true,
        value_parser = values::go_bool
    )]
    pub force: bool,
    /// Prune anonymous volumes
    #[arg(
        long = "volumes",
        value_name = "bool",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        default_value = "false",
        hide_default_value = true,
        value_parser = values::go_bool
    )]
    pub volumes: bool,
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Format output using a custom template: 'json' or a Go template
    #[arg(short = 'f', long = "format", value_name = "string", allow_hyphen_values = true)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Format output using a custom template: 'json' or a Go template
    #[arg(short = 'f', long = "format", value_name = "string", allow_hyphen_values = true)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "filter", value_parser = parse_filter)]
    pub filter: Vec<(String, String)>,
    /// Format output using a custom template: 'json' or a Go template
    #[arg(long = "format", value_name = "string", allow_hyphen_values = true)]
    pub format: Option<String>,
    /// Show all events created since timestamp
    #[arg(long = "since", value_name = "string", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long = "until", value_name = "string", allow_hyphen_values = true)]
    pub until: Option<String>,
}

/// `key=value` of `--filter`, with docker's message for anything else.
pub fn parse_filter(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_lowercase(), v.to_string())),
        _ => Err("bad format of filter (expected name=value)".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_shaped_command_lines() {
        let o = Opts::try_parse_from(["berth", "-H", "unix:///x.sock", "-D", "version", "-f", "{{.Server.Os}}"])
            .expect("parses");
        assert_eq!(o.host.as_deref(), Some("unix:///x.sock"));
        assert!(o.debug);
        assert!(
            matches!(o.command, Some(Command::Version(Deferred(VersionArgs { format: Some(ref f) }))) if f == "{{.Server.Os}}")
        );
        let o = Opts::try_parse_from([
            "berth",
            "events",
            "--since",
            "0",
            "-f",
            "type=container",
            "--filter",
            "event=start",
        ])
        .expect("parses");
        let Some(Command::Events(e)) = o.command else { panic!("events") };
        assert_eq!(e.filter, vec![("type".into(), "container".into()), ("event".into(), "start".into())]);
        assert_eq!(e.since.as_deref(), Some("0"));
        let o = Opts::try_parse_from(["berth", "system", "info"]).expect("parses");
        assert!(matches!(o.command, Some(Command::System(Deferred(SystemArgs { command: Some(SystemCommand::Info(_)) })))));
        let prune = |args: &[&str]| {
            let o = Opts::try_parse_from(args).expect("parses");
            let Some(Command::System(Deferred(SystemArgs { command: Some(SystemCommand::Prune(p)) }))) = o.command else {
                panic!("system prune")
            };
            (p.all, p.volumes, p.force, p.filter)
        };
        assert_eq!(prune(&["berth", "system", "prune"]), (false, false, false, vec![]));
        assert_eq!(
            prune(&["berth", "system", "prune", "-af", "--volumes", "--filter", " Label = a=b ", "--filter", ""]),
            (true, true, true, vec![Some(("label".into(), "a=b".into())), None])
        );
        assert_eq!(prune(&["berth", "system", "prune", "--volumes=false", "-a=1"]), (true, false, false, vec![]));
        assert!(Opts::try_parse_from(["berth", "system", "prune", "--filter", "bad"]).is_err());
        assert!(Opts::try_parse_from(["berth", "events", "-f", "bad"]).is_err());
        assert!(Opts::try_parse_from(["berth", "version", "-H", "x"]).is_err());
    }
}
