//! One module per command family; [`run`] dispatches a parsed command line.
//!
//! Each command builds docker's data for its output (a [`Value`](crate::format::Value)
//! with docker's field names, for `--format`) and prints it the way docker does.

pub mod container;
pub mod df;
pub mod events;
pub mod image;
pub mod info;
pub mod system;
pub mod version;

use crate::cli::Command;
use crate::cli::container::ContainerCommand as C;
use crate::context::Cli;
use crate::error::Result;

/// Runs one command.
pub async fn run(cli: &mut Cli<'_>, command: Command) -> Result<()> {
    match command {
        Command::Version(args) => version::run(cli, args).await,
        Command::Info(args) => info::run(cli, args).await,
        Command::Events(args) => events::run(cli, args).await,
        Command::System(args) => system::run(cli, args).await,
        Command::Image(args) => image::run(cli, args).await,
        Command::Images(args) => image::list::run(cli, args).await,
        Command::History(args) => image::history::run(cli, args).await,
        Command::Import(args) => image::transfer::import(cli, args).await,
        Command::Load(args) => image::transfer::load(cli, args).await,
        Command::Rmi(args) => image::remove::run(cli, args).await,
        Command::Save(args) => image::transfer::save(cli, args).await,
        Command::Tag(args) => image::tag::run(cli, args).await,
        Command::Container(args) => container::run(cli, args).await,
        Command::Run(a) => container::dispatch(cli, C::Run(a), "berth").await,
        Command::Create(a) => container::dispatch(cli, C::Create(a), "berth").await,
        Command::Start(a) => container::dispatch(cli, C::Start(a), "berth").await,
        Command::Stop(a) => container::dispatch(cli, C::Stop(a), "berth").await,
        Command::Kill(a) => container::dispatch(cli, C::Kill(a), "berth").await,
        Command::Restart(a) => container::dispatch(cli, C::Restart(a), "berth").await,
        Command::Pause(a) => container::dispatch(cli, C::Pause(a), "berth").await,
        Command::Unpause(a) => container::dispatch(cli, C::Unpause(a), "berth").await,
        Command::Rm(a) => container::dispatch(cli, C::Rm(a), "berth").await,
        Command::Rename(a) => container::dispatch(cli, C::Rename(a), "berth").await,
        Command::Top(a) => container::dispatch(cli, C::Top(a), "berth").await,
        Command::Diff(a) => container::dispatch(cli, C::Diff(a), "berth").await,
        Command::Wait(a) => container::dispatch(cli, C::Wait(a), "berth").await,
        Command::Attach(a) => container::dispatch(cli, C::Attach(a), "berth").await,
        Command::Exec(a) => container::dispatch(cli, C::Exec(a), "berth").await,
        Command::Logs(a) => container::dispatch(cli, C::Logs(a), "berth").await,
        Command::Ps(a) => container::dispatch(cli, C::Ls(a), "berth").await,
        Command::Export(a) => container::dispatch(cli, C::Export(a), "berth").await,
        Command::Stats(a) => container::dispatch(cli, C::Stats(a), "berth").await,
        Command::Update(a) => container::dispatch(cli, C::Update(a), "berth").await,
        Command::Port(a) => container::dispatch(cli, C::Port(a), "berth").await,
        Command::Inspect(a) => container::inspect::run_any(cli, a).await,
    }
}
