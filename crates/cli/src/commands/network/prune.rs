//! `berth network prune`: removes the networks no container uses, after
//! docker's confirmation prompt (skipped by `-f`; anything but `y` ends
//! quietly with status 0, docker's cancellation), then lists them under
//! `Deleted Networks:`, followed by a blank line as docker prints it.

use api::networks::NetworkPruneResponse;

use super::list::filters;
use crate::cli::network::NetworkPruneArgs;
use crate::commands::image::prune::confirm;
use crate::context::Cli;
use crate::error::Result;

const WARNING: &str = "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?";

/// What prune prints for the daemon's report (nothing when nothing went).
pub fn report(r: &NetworkPruneResponse) -> String {
    if r.networks_deleted.is_empty() {
        return String::new();
    }
    let mut out = "Deleted Networks:\n".to_string();
    for name in &r.networks_deleted {
        out.push_str(name);
        out.push('\n');
    }
    out.push('\n');
    out
}

pub async fn run(cli: &mut Cli<'_>, args: NetworkPruneArgs) -> Result<()> {
    if !args.force && !confirm(cli.out, &mut std::io::stdin().lock(), WARNING)? {
        return Ok(());
    }
    let filters = filters(&args.filter);
    let json = filters.to_json();
    let query: Vec<(&str, &str)> = if filters.is_empty() { Vec::new() } else { vec![("filters", json.as_str())] };
    let resp: NetworkPruneResponse = cli.client().await?.post("/networks/prune", &query, None).await?.json()?;
    cli.out.write_all(report(&resp).as_bytes())?;
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
        assert_eq!(report(&NetworkPruneResponse::default()), "");
        let r: NetworkPruneResponse = serde_json::from_str(r#"{"NetworksDeleted":["n1","n2"]}"#).expect("valid reply");
        assert_eq!(report(&r), "Deleted Networks:\nn1\nn2\n\n");
    }
}
