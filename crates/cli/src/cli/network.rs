//! The grammar of `berth network connect|create|disconnect|inspect|ls|prune|rm`,
//! with docker's flags, value names (`map`, `strings`, `list`: pflag's types)
//! and usage lines.
//!
//! Docker's `strings` flags (`--subnet`, `--alias` …) take comma-separated
//! values as well as repeats; its `map` flags (`--opt`, `--aux-address` …)
//! are `key=value` pairs, a later key replacing an earlier one.

use clap::{Args, Subcommand};

use super::container::HELP_TEMPLATE;
use super::{parse_filter, values};

pub const CONNECT_USAGE: &str = "[OPTIONS] NETWORK CONTAINER";
pub const CREATE_USAGE: &str = "[OPTIONS] NETWORK";
pub const DISCONNECT_USAGE: &str = "[OPTIONS] NETWORK CONTAINER";
pub const INSPECT_USAGE: &str = "[OPTIONS] NETWORK [NETWORK...]";
pub const LS_USAGE: &str = "[OPTIONS]";
pub const PRUNE_USAGE: &str = "[OPTIONS]";
/// Docker's line has no `[OPTIONS]` although `rm` has `-f`.
pub const RM_USAGE: &str = "NETWORK [NETWORK...]";

/// `berth network …`.
#[derive(Debug, Args)]
#[command(subcommand_value_name = "COMMAND")]
pub struct NetworkArgs {
    #[command(subcommand)]
    pub command: Option<NetworkCommand>,
}

#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Connect a container to a network
    Connect(NetworkConnectArgs),
    /// Create a network
    Create(NetworkCreateArgs),
    /// Disconnect a container from a network
    Disconnect(NetworkDisconnectArgs),
    /// Display detailed information on one or more networks
    Inspect(NetworkInspectArgs),
    /// List networks
    #[command(alias = "list")]
    Ls(NetworkLsArgs),
    /// Remove all unused networks
    Prune(NetworkPruneArgs),
    /// Remove one or more networks
    #[command(alias = "remove")]
    Rm(NetworkRmArgs),
}

/// `berth network create`.
#[derive(Debug, Args)]
#[command(override_usage = CREATE_USAGE, help_template = HELP_TEMPLATE)]
pub struct NetworkCreateArgs {
    #[arg(value_name = "NETWORK")]
    pub name: String,
    /// Enable manual container attachment
    #[arg(long = "attachable")]
    pub attachable: bool,
    /// Auxiliary IPv4 or IPv6 addresses used by Network driver
    #[arg(long = "aux-address", value_name = "map")]
    pub aux_address: Vec<String>,
    /// The network from which to copy the configuration
    #[arg(long = "config-from", value_name = "string", default_value = "", hide_default_value = true)]
    pub config_from: String,
    /// Create a configuration only network
    #[arg(long = "config-only")]
    pub config_only: bool,
    /// Driver to manage the Network
    #[arg(short = 'd', long = "driver", value_name = "string", default_value = "bridge")]
    pub driver: String,
    /// IPv4 or IPv6 Gateway for the master subnet
    #[arg(long = "gateway", value_name = "strings", value_delimiter = ',')]
    pub gateway: Vec<String>,
    /// Create swarm routing-mesh network
    #[arg(long = "ingress")]
    pub ingress: bool,
    /// Restrict external access to the network
    #[arg(long = "internal")]
    pub internal: bool,
    /// Allocate container ip from a sub-range
    #[arg(long = "ip-range", value_name = "strings", value_delimiter = ',')]
    pub ip_range: Vec<String>,
    /// IP Address Management Driver
    #[arg(long = "ipam-driver", value_name = "string", default_value = "default")]
    pub ipam_driver: String,
    /// Set IPAM driver specific options
    #[arg(long = "ipam-opt", value_name = "map")]
    pub ipam_opt: Vec<String>,
    /// Enable or disable IPv4 address assignment (default true)
    #[arg(
        long = "ipv4",
        value_name = "bool",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = values::go_bool
    )]
    pub ipv4: Option<bool>,
    /// Enable or disable IPv6 address assignment
    #[arg(
        long = "ipv6",
        value_name = "bool",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = values::go_bool
    )]
    pub ipv6: Option<bool>,
    /// Set metadata on a network
    #[arg(long = "label", value_name = "list", value_parser = values::label)]
    pub label: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt", value_name = "map")]
    pub opt: Vec<String>,
    /// Control the network's scope
    #[arg(long = "scope", value_name = "string", default_value = "", hide_default_value = true)]
    pub scope: String,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long = "subnet", value_name = "strings", value_delimiter = ',')]
    pub subnet: Vec<String>,
}

/// `berth network ls`.
#[derive(Debug, Args)]
#[command(override_usage = LS_USAGE, help_template = HELP_TEMPLATE)]
pub struct NetworkLsArgs {
    /// Provide filter values (e.g. "driver=bridge")
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
    /// Do not truncate the output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only display network IDs
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
}

/// `berth network inspect`.
#[derive(Debug, Args)]
#[command(override_usage = INSPECT_USAGE, help_template = HELP_TEMPLATE)]
pub struct NetworkInspectArgs {
    #[arg(value_name = "NETWORK", required = true)]
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
    /// Verbose output for diagnostics
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
}

/// `berth network rm`.
#[derive(Debug, Args)]
#[command(override_usage = RM_USAGE, help_template = HELP_TEMPLATE)]
pub struct NetworkRmArgs {
    #[arg(value_name = "NETWORK", required = true)]
    pub names: Vec<String>,
    /// Do not error if the network does not exist
    #[arg(short = 'f', long = "force")]
    pub force: bool,
}

/// `berth network prune`.
#[derive(Debug, Args)]
#[command(override_usage = PRUNE_USAGE, help_template = HELP_TEMPLATE)]
pub struct NetworkPruneArgs {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "filter", value_parser = parse_filter)]
    pub filter: Vec<(String, String)>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long = "force")]
    pub force: bool,
}

/// `berth network connect`.
#[derive(Debug, Args)]
#[command(override_usage = CONNECT_USAGE, help_template = HELP_TEMPLATE)]
pub struct NetworkConnectArgs {
    #[arg(value_name = "NETWORK")]
    pub network: String,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// Add network-scoped alias for the container
    #[arg(long = "alias", value_name = "strings", value_delimiter = ',')]
    pub alias: Vec<String>,
    /// driver options for the network
    #[arg(long = "driver-opt", value_name = "strings", value_delimiter = ',')]
    pub driver_opt: Vec<String>,
    /// Highest gw-priority provides the default gateway. Accepts positive and negative values.
    #[arg(
        long = "gw-priority",
        value_name = "int",
        default_value = "0",
        hide_default_value = true,
        allow_hyphen_values = true,
        value_parser = values::int
    )]
    pub gw_priority: i64,
    /// IPv4 address (e.g., "172.30.100.104")
    #[arg(long = "ip", value_name = "string", default_value = "", hide_default_value = true)]
    pub ip: String,
    /// IPv6 address (e.g., "2001:db8::33")
    #[arg(long = "ip6", value_name = "string", default_value = "", hide_default_value = true)]
    pub ip6: String,
    /// Add link to another container
    #[arg(long = "link", value_name = "list", value_parser = values::link)]
    pub link: Vec<String>,
    /// Add a link-local address for the container
    #[arg(long = "link-local-ip", value_name = "strings", value_delimiter = ',')]
    pub link_local_ip: Vec<String>,
}

/// `berth network disconnect`.
#[derive(Debug, Args)]
#[command(override_usage = DISCONNECT_USAGE, help_template = HELP_TEMPLATE)]
pub struct NetworkDisconnectArgs {
    #[arg(value_name = "NETWORK")]
    pub network: String,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// Force the container to disconnect from a network
    #[arg(short = 'f', long = "force")]
    pub force: bool,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Command, Deferred, Opts};

    fn parse(args: &[&str]) -> NetworkCommand {
        let mut argv = vec!["berth", "network"];
        argv.extend_from_slice(args);
        match Opts::try_parse_from(argv).expect("parses").command {
            Some(Command::Network(Deferred(NetworkArgs { command: Some(c) }))) => c,
            other => panic!("not a network command: {other:?}"),
        }
    }

    #[test]
    fn create_flags_like_docker() {
        let NetworkCommand::Create(c) = parse(&[
            "create",
            "--subnet",
            "10.1.0.0/24,10.2.0.0/24",
            "--subnet=fd00::/64",
            "--gateway",
            "10.1.0.1",
            "--aux-address",
            "router=10.1.0.5",
            "-o",
            "com.docker.network.bridge.name=br1",
            "--label",
            "a=b",
            "--ipv6",
            "--ipv4=false",
            "n1",
        ]) else {
            panic!("create")
        };
        assert_eq!(c.name, "n1");
        assert_eq!(c.subnet, ["10.1.0.0/24", "10.2.0.0/24", "fd00::/64"]);
        assert_eq!((c.driver.as_str(), c.ipam_driver.as_str()), ("bridge", "default"));
        assert_eq!((c.ipv4, c.ipv6), (Some(false), Some(true)));
        assert_eq!(c.aux_address, ["router=10.1.0.5"]);
        assert_eq!(c.opt, ["com.docker.network.bridge.name=br1"]);
        let NetworkCommand::Create(c) = parse(&["create", "-d", "macvlan", "n2"]) else { panic!("create") };
        assert_eq!((c.driver.as_str(), c.ipv4, c.ipv6), ("macvlan", None, None));
        // A bool flag takes no separate value: `false` would be the name.
        assert!(Opts::try_parse_from(["berth", "network", "create", "--ipv6", "false", "n"]).is_err());
        assert!(Opts::try_parse_from(["berth", "network", "create", "--ipv6=maybe", "n"]).is_err());
        assert!(Opts::try_parse_from(["berth", "network", "create", "--label", "=x", "n"]).is_err());
    }

    #[test]
    fn other_commands_and_aliases() {
        for alias in ["ls", "list"] {
            assert!(matches!(
                parse(&[alias, "-q", "-f", "name=a"]),
                NetworkCommand::Ls(NetworkLsArgs { quiet: true, .. })
            ));
        }
        for alias in ["rm", "remove"] {
            let NetworkCommand::Rm(r) = parse(&[alias, "-f", "a", "b"]) else { panic!("rm") };
            assert!(r.force);
            assert_eq!(r.names, ["a", "b"]);
        }
        let NetworkCommand::Connect(c) = parse(&[
            "connect",
            "--alias",
            "a,b",
            "--ip",
            "10.1.0.9",
            "--gw-priority",
            "-1",
            "--link",
            "c:d",
            "n",
            "ctr",
        ]) else {
            panic!("connect")
        };
        assert_eq!((c.network.as_str(), c.container.as_str()), ("n", "ctr"));
        assert_eq!(
            (c.alias.as_slice(), c.gw_priority, c.link.as_slice()),
            (&["a".into(), "b".into()][..], -1, &["c:d".into()][..])
        );
        let NetworkCommand::Prune(p) = parse(&["prune", "-f", "--filter", "until=1h"]) else { panic!("prune") };
        assert!(p.force);
        assert_eq!(p.filter, [("until".into(), "1h".into())]);
        let NetworkCommand::Inspect(i) = parse(&["inspect", "-v", "-f", "{{.Name}}", "a"]) else { panic!("inspect") };
        assert!(i.verbose);
        assert!(Opts::try_parse_from(["berth", "network", "connect", "n"]).is_err());
        assert!(Opts::try_parse_from(["berth", "network", "ls", "x"]).is_err());
        assert!(Opts::try_parse_from(["berth", "network", "inspect"]).is_err());
    }
}
