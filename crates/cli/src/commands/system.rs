//! `berth system …`: the management group; `system info` and `system events`
//! are the same commands as `info` and `events`; `system df` is in
//! [`super::df`], `system prune` in [`super::prune`].

use clap::CommandFactory;

use crate::cli::{Opts, SystemArgs, SystemCommand};
use crate::context::Cli;
use crate::error::Result;

pub async fn run(cli: &mut Cli<'_>, args: SystemArgs) -> Result<()> {
    match args.command {
        Some(SystemCommand::Info(a)) => super::info::run(cli, a).await,
        Some(SystemCommand::Events(a)) => super::events::run(cli, a).await,
        Some(SystemCommand::Df(a)) => super::df::run(cli, a).await,
        Some(SystemCommand::Prune(a)) => super::system_prune::run(cli, a).await,
        None => {
            // Like docker, a bare `system` prints its help.
            let mut root = Opts::command();
            root.build();
            if let Some(sys) = root.find_subcommand_mut("system") {
                write!(cli.out, "{}", sys.render_help())?;
            }
            Ok(())
        }
    }
}
