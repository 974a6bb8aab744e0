//! `berth volume …`: one module per command, each sending what docker's
//! client sends and printing what docker prints for the same daemon reply.
//!
//! - [`create`]: `create`; [`list`]: `ls` (and docker's `volumeContext`, the
//!   row `system df -v` shows too); [`inspect`]: `inspect` (and the value
//!   templates see for a volume); [`remove`]: `rm`; [`prune`]: `prune`.

pub mod create;
pub mod inspect;
pub mod list;
pub mod prune;
pub mod remove;

use clap::CommandFactory;

use crate::cli::Opts;
use crate::cli::volume::{VolumeArgs, VolumeCommand};
use crate::context::Cli;
use crate::error::Result;

pub async fn run(cli: &mut Cli<'_>, args: VolumeArgs) -> Result<()> {
    match args.command {
        Some(VolumeCommand::Create(a)) => create::run(cli, a).await,
        Some(VolumeCommand::Inspect(a)) => inspect::run(cli, a).await,
        Some(VolumeCommand::Ls(a)) => list::run(cli, a).await,
        Some(VolumeCommand::Prune(a)) => prune::run(cli, a).await,
        Some(VolumeCommand::Rm(a)) => remove::run(cli, a).await,
        None => {
            // Like docker, a bare `volume` prints its help.
            let mut root = Opts::command();
            root.build();
            if let Some(volume) = root.find_subcommand_mut("volume") {
                // The help template names the command as clap does, dashed.
                let help = volume.render_help().to_string();
                write!(cli.out, "{}", help.replacen("Usage:  berth-volume ", "Usage:  berth volume ", 1))?;
            }
            Ok(())
        }
    }
}
