//! `berth volume rm`: removes each volume in turn, printing its name as
//! given; the failures are printed together at the end (exit 1), as docker
//! collects them. `-f` sends `force=1`, for which the daemon counts a missing
//! volume as removed (its name is printed too, as docker prints it).

use crate::cli::volume::VolumeRmArgs;
use crate::commands::network::segment;
use crate::context::Cli;
use crate::error::{CliError, Result};

pub async fn run(cli: &mut Cli<'_>, args: VolumeRmArgs) -> Result<()> {
    let client = cli.client().await?.clone();
    let query: Vec<(&str, &str)> = if args.force { vec![("force", "1")] } else { Vec::new() };
    let mut errors = Vec::new();
    for name in &args.names {
        let seg = match segment("volume", name) {
            Ok(s) => s,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        match client.delete(&format!("/volumes/{seg}"), &query, None).await {
            Ok(_) => writeln!(cli.out, "{name}")?,
            Err(e) => errors.push(CliError::from(e).to_string()),
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(CliError::status(1, errors.join("\n"))) }
}
