//! One module per command family; [`run`] dispatches a parsed command line.
//!
//! Each command builds docker's data for its output (a [`Value`](crate::format::Value)
//! with docker's field names, for `--format`) and prints it the way docker does.

pub mod events;
pub mod info;
pub mod system;
pub mod version;

use crate::cli::Command;
use crate::context::Cli;
use crate::error::Result;

/// Runs one command.
pub async fn run(cli: &mut Cli<'_>, command: Command) -> Result<()> {
    match command {
        Command::Version(args) => version::run(cli, args).await,
        Command::Info(args) => info::run(cli, args).await,
        Command::Events(args) => events::run(cli, args).await,
        Command::System(args) => system::run(cli, args).await,
    }
}
