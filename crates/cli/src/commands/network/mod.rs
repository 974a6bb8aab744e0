//! `berth network …`: one module per command, each sending what docker's
//! client sends and printing what docker prints for the same daemon reply.
//!
//! - [`create`]: `create`, with docker's pairing of `--subnet`, `--gateway`,
//!   `--ip-range` and `--aux-address` into IPAM configs;
//! - [`list`]: `ls`; [`inspect`]: `inspect` (and the value `berth inspect`
//!   templates see for a network);
//! - [`remove`]: `rm`; [`prune`]: `prune`; [`connect`]: `connect`, `disconnect`.

pub mod connect;
pub mod create;
pub mod inspect;
pub mod list;
pub mod prune;
pub mod remove;

use clap::CommandFactory;

use crate::cli::Opts;
use crate::cli::network::{NetworkArgs, NetworkCommand};
use crate::context::Cli;
use crate::error::{CliError, Result};

pub async fn run(cli: &mut Cli<'_>, args: NetworkArgs) -> Result<()> {
    match args.command {
        Some(NetworkCommand::Connect(a)) => connect::connect(cli, a).await,
        Some(NetworkCommand::Create(a)) => create::run(cli, a).await,
        Some(NetworkCommand::Disconnect(a)) => connect::disconnect(cli, a).await,
        Some(NetworkCommand::Inspect(a)) => inspect::run(cli, a).await,
        Some(NetworkCommand::Ls(a)) => list::run(cli, a).await,
        Some(NetworkCommand::Prune(a)) => prune::run(cli, a).await,
        Some(NetworkCommand::Rm(a)) => remove::run(cli, a).await,
        None => {
            // Like docker, a bare `network` prints its help.
            let mut root = Opts::command();
            root.build();
            if let Some(network) = root.find_subcommand_mut("network") {
                write!(cli.out, "{}", network.render_help())?;
            }
            Ok(())
        }
    }
}

/// Docker's client `trimID`: a network or container reference as a URL path
/// segment, without surrounding spaces; an empty one is refused before any
/// request is made (`invalid network name or ID: value is empty`).
pub fn segment(kind: &str, name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("invalid {kind} name or ID: value is empty"));
    }
    Ok(api::query::percent_encode(name))
}

/// [`segment`] for commands that stop at the first error.
fn segment_or_fail(kind: &str, name: &str) -> Result<String> {
    segment(kind, name).map_err(CliError::Other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_times_like_docker_s_client() {
        assert_eq!(segment("network", " my-net "), Ok("my-net".to_string()));
        assert_eq!(segment("network", "a b"), Ok("a%20b".to_string()));
        assert_eq!(segment("container", "  "), Err("invalid container name or ID: value is empty".to_string()));
    }
}
