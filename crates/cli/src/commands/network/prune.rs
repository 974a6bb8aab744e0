//! `berth network prune`: removes the networks no container uses, after
//! docker's confirmation prompt (skipped by `-f`; anything but `y` ends
//! quietly with status 0, docker's cancellation), then lists them under
//! `Deleted Networks:`, followed by a blank line as docker prints it.

use api::networks::NetworkPruneResponse;

use super::list::filters;
use crate::cli::network::NetworkPruneArgs;
use crate::commands::prune::{Pruned, confirm, request};
use crate::context::Cli;
use crate::error::Result;

const WARNING: &str = "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?";

/// What the daemon's report prints: the names of the networks gone (docker
/// counts no space for them).
pub fn pruned(r: &NetworkPruneResponse) -> Pruned {
    Pruned::listing("Deleted Networks:", r.networks_deleted.iter().cloned(), 0)
}

pub async fn run(cli: &mut Cli<'_>, args: NetworkPruneArgs) -> Result<()> {
    if !args.force && !confirm(cli.out, &mut std::io::stdin().lock(), WARNING)? {
        return Ok(());
    }
    let report: NetworkPruneResponse = request(cli.client().await?, "/networks/prune", &filters(&args.filter)).await?;
    // No total: docker prints none for networks.
    cli.out.write_all(pruned(&report).printed().as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_and_report() {
        let mut out = Vec::new();
        assert!(!confirm(&mut out, &mut &b"n\n"[..], WARNING).expect("asks"));
        assert_eq!(
            String::from_utf8_lossy(&out),
            "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] "
        );
        assert_eq!(pruned(&NetworkPruneResponse::default()).printed(), "");
        let r: NetworkPruneResponse = serde_json::from_str(r#"{"NetworksDeleted":["n1","n2"]}"#).expect("valid reply");
        assert_eq!(pruned(&r).printed(), "Deleted Networks:\nn1\nn2\n\n");
    }
}
