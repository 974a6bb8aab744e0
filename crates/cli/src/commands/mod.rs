//! One module per command family; [`run`] dispatches a parsed command line.
//!
//! Each command builds docker's data for its output (a [`Value`](crate::format::Value)
//! with docker's field names, for `--format`) and prints it the way docker does.

pub mod container;
pub mod df;
pub mod events;
pub mod image;
pub mod info;
pub mod inspect;
pub mod network;
pub mod prune;
pub mod system_prune;
pub mod system;
pub mod version;
pub mod volume;

use crate::cli::{Command, Deferred};
use crate::cli::container::ContainerCommand as C;
use crate::context::Cli;
use crate::error::Result;

/// Runs one command.
pub async fn run(cli: &mut Cli<'_>, command: Command) -> Result<()> {
    match command {
        Command::Version(Deferred(args)) => version::run(cli, args).await,
        Command::Info(Deferred(args)) => info::run(cli, args).await,
        Command::Events(Deferred(args)) => events::run(cli, args).await,
        Command::System(Deferred(args)) => system::run(cli, args).await,
        Command::Image(Deferred(args)) => image::run(cli, args).await,
        Command::Images(Deferred(args)) => image::list::run(cli, args).await,
        Command::History(Deferred(args)) => image::history::run(cli, args).await,
        Command::Import(Deferred(args)) => image::transfer::import(cli, args).await,
        Command::Load(Deferred(args)) => image::transfer::load(cli, args).await,
        Command::Pull(Deferred(args)) => image::distribution::pull(cli, args).await,
        Command::Push(Deferred(args)) => image::distribution::push(cli, args).await,
        Command::Search(Deferred(args)) => image::search::run(cli, args).await,
        Command::Login(Deferred(args)) => image::distribution::login(cli, args).await,
        Command::Logout(Deferred(args)) => image::distribution::logout(cli, args).await,
        Command::Rmi(Deferred(args)) => image::remove::run(cli, args).await,
        Command::Save(Deferred(args)) => image::transfer::save(cli, args).await,
        Command::Tag(Deferred(args)) => image::tag::run(cli, args).await,
        Command::Container(Deferred(args)) => container::run(cli, args).await,
        Command::Network(Deferred(args)) => network::run(cli, args).await,
        Command::Volume(Deferred(args)) => volume::run(cli, args).await,
        Command::Run(Deferred(a)) => container::dispatch(cli, C::Run(a), "berth").await,
        Command::Create(Deferred(a)) => container::dispatch(cli, C::Create(a), "berth").await,
        Command::Start(Deferred(a)) => container::dispatch(cli, C::Start(a), "berth").await,
        Command::Stop(Deferred(a)) => container::dispatch(cli, C::Stop(a), "berth").await,
        Command::Kill(Deferred(a)) => container::dispatch(cli, C::Kill(a), "berth").await,
        Command::Restart(Deferred(a)) => container::dispatch(cli, C::Restart(a), "berth").await,
        Command::Pause(Deferred(a)) => container::dispatch(cli, C::Pause(a), "berth").await,
        Command::Unpause(Deferred(a)) => container::dispatch(cli, C::Unpause(a), "berth").await,
        Command::Rm(Deferred(a)) => container::dispatch(cli, C::Rm(a), "berth").await,
        Command::Rename(Deferred(a)) => container::dispatch(cli, C::Rename(a), "berth").await,
        Command::Top(Deferred(a)) => container::dispatch(cli, C::Top(a), "berth").await,
        Command::Diff(Deferred(a)) => container::dispatch(cli, C::Diff(a), "berth").await,
        Command::Wait(Deferred(a)) => container::dispatch(cli, C::Wait(a), "berth").await,
        Command::Attach(Deferred(a)) => container::dispatch(cli, C::Attach(a), "berth").await,
        Command::Exec(Deferred(a)) => container::dispatch(cli, C::Exec(a), "berth").await,
        Command::Logs(Deferred(a)) => container::dispatch(cli, C::Logs(a), "berth").await,
        Command::Ps(Deferred(a)) => container::dispatch(cli, C::Ls(a), "berth").await,
        Command::Export(Deferred(a)) => container::dispatch(cli, C::Export(a), "berth").await,
        Command::Cp(Deferred(a)) => container::dispatch(cli, C::Cp(a), "berth").await,
        Command::Commit(Deferred(a)) => container::dispatch(cli, C::Commit(a), "berth").await,
        Command::Stats(Deferred(a)) => container::dispatch(cli, C::Stats(a), "berth").await,
        Command::Update(Deferred(a)) => container::dispatch(cli, C::Update(a), "berth").await,
        Command::Port(Deferred(a)) => container::dispatch(cli, C::Port(a), "berth").await,
        Command::Inspect(Deferred(a)) => container::inspect::run_any(cli, a).await,
    }
}
