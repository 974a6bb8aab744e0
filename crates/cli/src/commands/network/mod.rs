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

use chrono::{DateTime, Timelike};
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

/// Go's `time.Time.String()` of a time the daemon sent as RFC 3339 (a
/// network's `Created`): `2024-05-01 10:00:00.5 +0000 UTC`. Go keeps the
/// offset it parsed, so a UTC time stays UTC whatever the local zone; a time
/// that does not parse is Go's zero time, as a missing one decodes.
pub fn go_time_of(rfc3339: &str) -> String {
    let Ok(t) = DateTime::parse_from_rfc3339(rfc3339) else {
        return "0001-01-01 00:00:00 +0000 UTC".to_string();
    };
    let numeric = t.format("%z").to_string();
    let zone = if t.offset().local_minus_utc() == 0 { "UTC".to_string() } else { numeric.clone() };
    format!("{}{} {numeric} {zone}", t.format("%Y-%m-%d %H:%M:%S"), fraction(t.nanosecond()))
}

/// Go's JSON of the same time (RFC 3339, `Z` for UTC), as `{{json .}}`
/// writes it.
pub fn go_time_json(rfc3339: &str) -> String {
    let Ok(t) = DateTime::parse_from_rfc3339(rfc3339) else {
        return "0001-01-01T00:00:00Z".to_string();
    };
    let zone = if t.offset().local_minus_utc() == 0 { "Z".to_string() } else { t.format("%:z").to_string() };
    format!("{}{}{zone}", t.format("%Y-%m-%dT%H:%M:%S"), fraction(t.nanosecond()))
}

/// Go's `.999999999`: the nanoseconds without trailing zeros, if any.
fn fraction(nanos: u32) -> String {
    match nanos {
        0 => String::new(),
        n => format!(".{n:09}").trim_end_matches('0').to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_times_like_docker_s_client() {
        assert_eq!(segment("network", " my-net "), Ok("my-net".to_string()));
        assert_eq!(segment("network", "a b"), Ok("a%20b".to_string()));
        assert_eq!(segment("container", "  "), Err("invalid container name or ID: value is empty".to_string()));
        assert_eq!(go_time_of("2024-05-01T10:00:00.500000000Z"), "2024-05-01 10:00:00.5 +0000 UTC");
        assert_eq!(go_time_of("2024-05-01T10:00:00Z"), "2024-05-01 10:00:00 +0000 UTC");
        assert_eq!(go_time_of("2024-05-01T10:00:00.000000001+02:00"), "2024-05-01 10:00:00.000000001 +0200 +0200");
        assert_eq!(go_time_of(""), "0001-01-01 00:00:00 +0000 UTC");
        assert_eq!(go_time_json("2024-05-01T10:00:00.500000000Z"), "2024-05-01T10:00:00.5Z");
        assert_eq!(go_time_json("2024-05-01T10:00:00+02:00"), "2024-05-01T10:00:00+02:00");
    }
}
