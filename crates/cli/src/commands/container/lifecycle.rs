//! Commands that act on containers by name: `stop`, `kill`, `restart`,
//! `pause`, `unpause`, `rm`, `wait`, `rename`, and `container prune`.
//!
//! As docker: each container given is handled in turn and printed as given
//! when it succeeds; a failure prints the daemon's error, the others still
//! run, and the command exits 1 at the end.

use api::Client;
use api::containers::{ContainerPruneResponse, ContainerWaitResponse};

use super::{Invocation, joined, path_segment};
use crate::cli::container::{DiffArgs, TopArgs, 
    KillArgs, PauseArgs, PruneArgs, RenameArgs, RestartArgs, RmArgs, StopArgs, UnpauseArgs, WaitArgs,
};
use crate::commands::network::list::filters;
use crate::commands::prune::{Pruned, confirm, request};
use crate::context::Cli;
use crate::error::{CliError, Result};

/// Runs `op` on each container, printing the name on success; failures are
/// collected and reported together (docker's `errors.Join`).
async fn each<F, Fut>(cli: &mut Cli<'_>, names: &[String], op: F) -> Result<()>
where
    F: Fn(Client, String) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<(), CliError>>,
{
    let client = cli.client().await?.clone();
    let mut errors = Vec::new();
    for name in names {
        match op(client.clone(), name.clone()).await {
            Ok(()) => writeln!(cli.out, "{name}")?,
            Err(e) => errors.push(e.to_string()),
        }
    }
    joined(errors)
}

/// The `t` and `signal` query of stop and restart.
fn stop_query(signal: &str, timeout: Option<i64>) -> Vec<(&'static str, String)> {
    let mut q = Vec::new();
    if let Some(t) = timeout {
        q.push(("t", t.to_string()));
    }
    if !signal.is_empty() {
        q.push(("signal", signal.to_string()));
    }
    q
}

async fn post(client: &Client, path: String, query: Vec<(&'static str, String)>) -> std::result::Result<(), CliError> {
    let q: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    client.post(&path, &q, None).await?;
    Ok(())
}

/// `berth stop [-s SIGNAL] [-t SECONDS] CONTAINER...`.
pub async fn stop(cli: &mut Cli<'_>, args: StopArgs, inv: &Invocation) -> Result<()> {
    inv.require_min(&args.containers, 1)?;
    let query = stop_query(&args.signal, args.timeout);
    each(cli, &args.containers, |c, name| {
        let query = query.clone();
        async move { post(&c, format!("/containers/{}/stop", path_segment(&name)), query).await }
    })
    .await
}

/// `berth restart [-s SIGNAL] [-t SECONDS] CONTAINER...`.
pub async fn restart(cli: &mut Cli<'_>, args: RestartArgs, inv: &Invocation) -> Result<()> {
    inv.require_min(&args.containers, 1)?;
    let query = stop_query(&args.signal, args.timeout);
    each(cli, &args.containers, |c, name| {
        let query = query.clone();
        async move { post(&c, format!("/containers/{}/restart", path_segment(&name)), query).await }
    })
    .await
}

/// `berth kill [-s SIGNAL] CONTAINER...`.
pub async fn kill(cli: &mut Cli<'_>, args: KillArgs, inv: &Invocation) -> Result<()> {
    inv.require_min(&args.containers, 1)?;
    let query = if args.signal.is_empty() { Vec::new() } else { vec![("signal", args.signal.clone())] };
    each(cli, &args.containers, |c, name| {
        let query = query.clone();
        async move { post(&c, format!("/containers/{}/kill", path_segment(&name)), query).await }
    })
    .await
}

/// `berth pause CONTAINER...`.
pub async fn pause(cli: &mut Cli<'_>, args: PauseArgs, inv: &Invocation) -> Result<()> {
    inv.require_min(&args.containers, 1)?;
    each(cli, &args.containers, |c, name| async move {
        post(&c, format!("/containers/{}/pause", path_segment(&name)), Vec::new()).await
    })
    .await
}

/// `berth unpause CONTAINER...`.
pub async fn unpause(cli: &mut Cli<'_>, args: UnpauseArgs, inv: &Invocation) -> Result<()> {
    inv.require_min(&args.containers, 1)?;
    each(cli, &args.containers, |c, name| async move {
        post(&c, format!("/containers/{}/unpause", path_segment(&name)), Vec::new()).await
    })
    .await
}

/// `berth rm [-f] [-v] [-l] CONTAINER...`. With `-f`, a container that does
/// not exist is reported but is not a failure (docker 25+).
pub async fn rm(cli: &mut Cli<'_>, args: RmArgs, inv: &Invocation) -> Result<()> {
    inv.require_min(&args.containers, 1)?;
    let client = cli.client().await?.clone();
    let mut query = Vec::new();
    for (on, key) in [(args.volumes, "v"), (args.link, "link"), (args.force, "force")] {
        if on {
            query.push((key, "1"));
        }
    }
    let mut errors = Vec::new();
    for name in &args.containers {
        let id = name.trim_matches('/');
        if id.is_empty() {
            errors.push("container name cannot be empty".to_string());
            continue;
        }
        match client.delete(&format!("/containers/{}", path_segment(id)), &query, None).await {
            Ok(_) => writeln!(cli.out, "{name}")?,
            Err(e) if args.force && e.is_not_found() => writeln!(cli.err, "{}", CliError::from(e))?,
            Err(e) => errors.push(CliError::from(e).to_string()),
        }
    }
    joined(errors)
}

/// `berth wait CONTAINER...`: each exit code on its own line.
pub async fn wait(cli: &mut Cli<'_>, args: WaitArgs, inv: &Invocation) -> Result<()> {
    inv.require_min(&args.containers, 1)?;
    let client = cli.client().await?.clone();
    let mut errors = Vec::new();
    for name in &args.containers {
        let reply = async {
            let path = format!("/containers/{}/wait", path_segment(name));
            let mut stream = client.post_stream(&path, &[], None).await?;
            let mut body = Vec::new();
            while let Some(chunk) = stream.chunk().await {
                body.extend_from_slice(&chunk?);
            }
            serde_json::from_slice::<ContainerWaitResponse>(&body)
                .map_err(|source| api::ClientError::Decode { context: "wait reply".into(), source })
        };
        match reply.await {
            Ok(r) => writeln!(cli.out, "{}", r.status_code)?,
            Err(e) => errors.push(CliError::from(e).to_string()),
        }
    }
    joined(errors)
}

/// `berth rename CONTAINER NEW_NAME`.
pub async fn rename(cli: &mut Cli<'_>, args: RenameArgs, inv: &Invocation) -> Result<()> {
    inv.require_exact(&args.names, 2)?;
    let (old, new) = (args.names[0].trim(), args.names[1].trim());
    if old.is_empty() || new.is_empty() {
        return Err(CliError::Other("Error: Neither old nor new names may be empty".to_string()));
    }
    let client = cli.client().await?.clone();
    if let Err(e) = client.post(&format!("/containers/{}/rename", path_segment(old)), &[("name", new)], None).await {
        writeln!(cli.err, "{}", CliError::from(e))?;
        return Err(CliError::Other(format!("Error: failed to rename container named {old}")));
    }
    Ok(())
}

/// `berth top CONTAINER [ps OPTIONS]`: the daemon's `ps` rows in docker's table
/// (tabwriter with a minimum width of 20, padding 3).
pub async fn top(cli: &mut Cli<'_>, args: TopArgs, inv: &Invocation) -> Result<()> {
    inv.require_min(&args.args, 1)?;
    let name = &args.args[0];
    let ps_args = args.args[1..].join(" ");
    let client = cli.client().await?.clone();
    let mut query = Vec::new();
    if !ps_args.is_empty() {
        query.push(("ps_args", ps_args.as_str()));
    }
    let top: api::containers::ContainerTopResponse =
        client.get_json(&format!("/containers/{}/top", path_segment(name)), &query).await?;
    let mut rows = vec![top.titles];
    rows.extend(top.processes);
    let widths: Vec<usize> = (0..rows.iter().map(Vec::len).max().unwrap_or(0))
        .map(|i| rows.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                let width = (widths[i] + 3).max(20);
                line.push_str(&" ".repeat(width - cell.chars().count()));
            }
        }
        writeln!(cli.out, "{line}")?;
    }
    Ok(())
}

/// `berth diff CONTAINER`: `C /etc`, `A /etc/new`, `D /gone`, one per line.
pub async fn diff(cli: &mut Cli<'_>, args: DiffArgs, inv: &Invocation) -> Result<()> {
    inv.require_exact(&args.containers, 1)?;
    let client = cli.client().await?.clone();
    let changes: Option<Vec<api::containers::ContainerChange>> =
        client.get_json(&format!("/containers/{}/changes", path_segment(&args.containers[0])), &[]).await?;
    for c in changes.unwrap_or_default() {
        let kind = match c.kind {
            api::containers::ContainerChange::ADDED => 'A',
            api::containers::ContainerChange::DELETED => 'D',
            _ => 'C',
        };
        writeln!(cli.out, "{kind} {}", c.path)?;
    }
    Ok(())
}

const PRUNE_WARNING: &str = "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?";

/// What the daemon's report prints: the IDs of the containers gone.
pub fn pruned(r: &ContainerPruneResponse) -> Pruned {
    Pruned::listing("Deleted Containers:", r.containers_deleted.iter().cloned(), r.space_reclaimed)
}

/// `berth container prune [-f] [--filter k=v]`.
pub async fn prune(cli: &mut Cli<'_>, args: PruneArgs) -> Result<()> {
    if !args.force && !confirm(cli.out, &mut std::io::stdin().lock(), PRUNE_WARNING)? {
        return Ok(());
    }
    let report: ContainerPruneResponse = request(cli.client().await?, "/containers/prune", &filters(&args.filter)).await?;
    cli.out.write_all(pruned(&report).report().as_bytes())?;
    Ok(())
}
