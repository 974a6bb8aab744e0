//! The grammar of `berth volume create|inspect|ls|prune|rm`, with docker's
//! flags, value names and usage lines.
//!
//! Docker hides its swarm-only flags on a daemon that is no swarm manager;
//! berth has no swarm, so of them only `ls --cluster` is kept (hidden), which
//! docker accepts there and answers with an empty cluster table.

use clap::{Args, Subcommand};

use super::container::HELP_TEMPLATE;
use super::{parse_filter, values};

/// Docker's `Use` of `volume`, which its usage errors print (`network` has none).
pub const VOLUME_USAGE: &str = "COMMAND";
pub const CREATE_USAGE: &str = "[OPTIONS] [VOLUME]";
pub const INSPECT_USAGE: &str = "[OPTIONS] VOLUME [VOLUME...]";
pub const LS_USAGE: &str = "[OPTIONS]";
pub const PRUNE_USAGE: &str = "[OPTIONS]";
pub const RM_USAGE: &str = "[OPTIONS] VOLUME [VOLUME...]";
/// `rm --help` opens with docker's longer description, kept out of clap's
/// `long_about`, which would switch the help to its long layout.
const RM_HELP_TEMPLATE: &str = "Remove one or more volumes. You cannot remove a volume that is in use by a container.\n\nUsage:  {bin} {usage}\n\n{all-args}{after-help}";

/// `berth volume …`.
#[derive(Debug, Args)]
#[command(subcommand_value_name = "COMMAND", override_usage = VOLUME_USAGE, help_template = HELP_TEMPLATE)]
pub struct VolumeArgs {
    #[command(subcommand)]
    pub command: Option<VolumeCommand>,
}

#[derive(Debug, Subcommand)]
pub enum VolumeCommand {
    /// Create a volume
    Create(VolumeCreateArgs),
    /// Display detailed information on one or more volumes
    Inspect(VolumeInspectArgs),
    /// List volumes
    #[command(alias = "list")]
    Ls(VolumeLsArgs),
    /// Remove unused local volumes
    Prune(VolumePruneArgs),
    /// Remove one or more volumes
    #[command(alias = "remove")]
    Rm(VolumeRmArgs),
}

/// `berth volume create`.
#[derive(Debug, Args)]
#[command(override_usage = CREATE_USAGE, help_template = HELP_TEMPLATE)]
pub struct VolumeCreateArgs {
    #[arg(value_name = "VOLUME")]
    pub volume: Option<String>,
    /// Specify volume name
    #[arg(long = "name", value_name = "string", default_value = "", hide = true)]
    pub name: String,
    /// Specify volume driver name
    #[arg(short = 'd', long = "driver", value_name = "string", default_value = "local")]
    pub driver: String,
    /// Set metadata for a volume
    #[arg(long = "label", value_name = "list", value_parser = values::label)]
    pub label: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt", value_name = "map")]
    pub opt: Vec<String>,
}

/// `berth volume ls`.
#[derive(Debug, Args)]
#[command(override_usage = LS_USAGE, help_template = HELP_TEMPLATE)]
pub struct VolumeLsArgs {
    /// Provide filter values (e.g. "dangling=true")
    #[arg(short = 'f', long = "filter", value_name = "filter", value_parser = parse_filter)]
    pub filter: Vec<(String, String)>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template
    #[arg(
        long = "format",
        value_name = "string",
        default_value = "",
        hide_default_value = true,
        allow_hyphen_values = true
    )]
    pub format: String,
    /// Only display volume names
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Display only cluster volumes, and use cluster volume list formatting
    #[arg(long = "cluster", hide = true)]
    pub cluster: bool,
}

/// `berth volume inspect`.
#[derive(Debug, Args)]
#[command(override_usage = INSPECT_USAGE, help_template = HELP_TEMPLATE)]
pub struct VolumeInspectArgs {
    #[arg(value_name = "VOLUME", required = true)]
    pub names: Vec<String>,
    /// Format output using a custom template: 'json' or a Go template
    #[arg(
        short = 'f',
        long = "format",
        value_name = "string",
        default_value = "",
        hide_default_value = true,
        allow_hyphen_values = true
    )]
    pub format: String,
}

/// `berth volume rm`.
#[derive(Debug, Args)]
#[command(override_usage = RM_USAGE, help_template = RM_HELP_TEMPLATE)]
pub struct VolumeRmArgs {
    #[arg(value_name = "VOLUME", required = true)]
    pub names: Vec<String>,
    /// Force the removal of one or more volumes
    #[arg(short = 'f', long = "force")]
    pub force: bool,
}

/// `berth volume prune`.
#[derive(Debug, Args)]
#[command(override_usage = PRUNE_USAGE, help_template = HELP_TEMPLATE)]
pub struct VolumePruneArgs {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Provide filter values (e.g. "label=<label>")
    #[arg(long = "filter", value_name = "filter", value_parser = parse_filter)]
    pub filter: Vec<(String, String)>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long = "force")]
    pub force: bool,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Command, Deferred, Opts};

    fn parse(args: &[&str]) -> VolumeCommand {
        let mut argv = vec!["berth", "volume"];
        argv.extend_from_slice(args);
        match Opts::try_parse_from(argv).expect("parses").command {
            Some(Command::Volume(Deferred(VolumeArgs { command: Some(c) }))) => c,
            other => panic!("not a volume command: {other:?}"),
        }
    }

    #[test]
    fn create_flags_like_docker() {
        let VolumeCommand::Create(c) = parse(&["create", "--label", "a=b", "--label", "c", "-o", "type=tmpfs", "v1"])
        else {
            panic!("create")
        };
        assert_eq!((c.volume.as_deref(), c.name.as_str(), c.driver.as_str()), (Some("v1"), "", "local"));
        assert_eq!(
            (c.label.as_slice(), c.opt.as_slice()),
            (&["a=b".into(), "c".into()][..], &["type=tmpfs".into()][..])
        );
        let VolumeCommand::Create(c) = parse(&["create", "--name", "v2", "-d", "other"]) else { panic!("create") };
        assert_eq!((c.volume, c.name.as_str(), c.driver.as_str()), (None, "v2", "other"));
        assert!(Opts::try_parse_from(["berth", "volume", "create", "a", "b"]).is_err());
        assert!(Opts::try_parse_from(["berth", "volume", "create", "--label", "=x"]).is_err());
    }

    #[test]
    fn other_commands_and_aliases() {
        for alias in ["ls", "list"] {
            let VolumeCommand::Ls(l) = parse(&[alias, "-q", "-f", "dangling=true", "--format", "{{.Name}}"]) else {
                panic!("ls")
            };
            assert!(l.quiet && !l.cluster);
            assert_eq!(
                (l.filter.as_slice(), l.format.as_str()),
                (&[("dangling".into(), "true".into())][..], "{{.Name}}")
            );
        }
        for alias in ["rm", "remove"] {
            let VolumeCommand::Rm(r) = parse(&[alias, "-f", "a", "b"]) else { panic!("rm") };
            assert!(r.force);
            assert_eq!(r.names, ["a", "b"]);
        }
        let VolumeCommand::Prune(p) = parse(&["prune", "-a", "-f", "--filter", "label=x"]) else { panic!("prune") };
        assert!(p.all && p.force);
        assert_eq!(p.filter, [("label".into(), "x".into())]);
        let VolumeCommand::Inspect(i) = parse(&["inspect", "-f", "{{.Name}}", "a", "b"]) else { panic!("inspect") };
        assert_eq!((i.format.as_str(), i.names.as_slice()), ("{{.Name}}", &["a".into(), "b".into()][..]));
        assert!(Opts::try_parse_from(["berth", "volume", "ls", "x"]).is_err());
        assert!(Opts::try_parse_from(["berth", "volume", "inspect"]).is_err());
        assert!(Opts::try_parse_from(["berth", "volume", "rm"]).is_err());
        assert!(Opts::try_parse_from(["berth", "volume", "prune", "x"]).is_err());
    }
}
