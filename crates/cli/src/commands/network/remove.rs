//! `berth network rm`: removes each network in turn, printing its name as
//! given. Each failure is printed on stderr as it happens and the command
//! ends with docker's `exit status 1`; `-f` forgives networks that do not
//! exist. A swarm routing-mesh (ingress) network is removed only after
//! docker's warning is confirmed.

use api::networks::Network;

use super::segment;
use crate::cli::network::NetworkRmArgs;
use crate::commands::prune::confirm;
use crate::context::Cli;
use crate::error::{CliError, Result};

const INGRESS_WARNING: &str = "WARNING! Before removing the routing-mesh network, make sure all the nodes in your swarm run the same docker engine version. Otherwise, removal may not be effective and functionality of newly create ingress networks will be impaired.\nAre you sure you want to continue?";

pub async fn run(cli: &mut Cli<'_>, args: NetworkRmArgs) -> Result<()> {
    let client = cli.client().await?.clone();
    let mut failed = false;
    for name in &args.names {
        let seg = match segment("network", name) {
            Ok(s) => s,
            Err(e) => {
                writeln!(cli.err, "{e}")?;
                failed = true;
                continue;
            }
        };
        let path = format!("/networks/{seg}");
        // Docker looks first, only to warn about the ingress network.
        let ingress = client.get_json::<Network>(&path, &[]).await.is_ok_and(|n| n.ingress);
        if ingress && !confirm(cli.out, &mut std::io::stdin().lock(), INGRESS_WARNING)? {
            continue;
        }
        match client.delete(&path, &[], None).await {
            Ok(_) => writeln!(cli.out, "{name}")?,
            Err(e) if args.force && e.is_not_found() => {}
            Err(e) => {
                writeln!(cli.err, "{}", CliError::from(e))?;
                failed = true;
            }
        }
    }
    if failed { Err(CliError::status(1, "exit status 1")) } else { Ok(()) }
}
