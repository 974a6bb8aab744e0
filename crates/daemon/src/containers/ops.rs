//! The commands clients give a container, as the container service's API: each is
//! checked as far as it can be without the container, then handed to the container's
//! owner, which carries it out with Docker's state rules and messages and answers when
//! it is done. A client that goes away does not cut a command short.

use std::sync::Arc;

use super::machine::Command;
use super::{Container, Containers, update};
use crate::error::{Error, Result};

/// A user's start: the restart policy's count and back-off begin again (Docker's rule).
pub async fn start(c: &Container) -> Result<()> {
    c.ask(Command::Start).await
}

/// The signal (else the container's StopSignal), SIGKILL after the timeout.
pub async fn stop(c: &Container, signal: Option<&str>, timeout: Option<i64>) -> Result<()> {
    c.ask(Command::Stop { signal: signal.map(String::from), timeout }).await
}

/// The signal, SIGKILL when none is named.
pub async fn kill(c: &Container, signal: Option<&str>) -> Result<()> {
    let signal = match signal.filter(|s| !s.is_empty()) {
        Some(s) => super::lifecycle::parse_signal(s)?,
        None => nix::sys::signal::Signal::SIGKILL,
    };
    c.ask(Command::Kill { signal }).await
}

pub async fn pause(c: &Container) -> Result<()> {
    c.ask(Command::Pause).await
}

pub async fn unpause(c: &Container) -> Result<()> {
    c.ask(Command::Unpause).await
}

pub async fn restart(c: &Container, signal: Option<&str>, timeout: Option<i64>) -> Result<()> {
    c.ask(Command::Restart { signal: signal.map(String::from), timeout }).await
}

pub async fn rename(c: &Container, new_name: &str) -> Result<()> {
    let name = super::names::validate(new_name).map_err(Error::invalid)?;
    c.ask(Command::Rename { name }).await
}

/// `network connect`: the network looked up and the endpoint's settings checked as
/// at create, then the owner connects it.
pub async fn connect(d: &Arc<Containers>, c: &Container, network: &str, settings: api::hostconfig::EndpointSettings) -> Result<()> {
    let n = d.networks.inspect(network)?;
    if n.driver != "bridge" {
        return Err(Error::invalid(format!("container cannot be disconnected from {0} network or connected to {0} network", n.name)));
    }
    let key = n.id;
    let mut attachments = d.networks.attachments(&key, &[(key.clone(), settings)].into())?;
    let attachment = attachments.pop().ok_or_else(|| Error::internal("no attachment"))?;
    c.ask(Command::Connect { attachment: Box::new(attachment) }).await
}

/// `network disconnect`.
/// With `force`, a network that is gone is disconnected by its name (Docker's way
/// out for a container whose network was removed: it would not start otherwise).
pub async fn disconnect(d: &Arc<Containers>, c: &Container, network: &str, force: bool) -> Result<()> {
    match d.networks.inspect(network) {
        Ok(n) => c.ask(Command::Disconnect { network_id: n.id, network: n.name }).await,
        Err(e) if force && e.kind == crate::error::ErrorKind::NotFound => {
            c.ask(Command::Disconnect { network_id: String::new(), network: network.to_string() }).await
        }
        Err(e) => Err(e),
    }
}

/// `rm --link /container/alias`: the container keeps running, without that link.
pub async fn unlink(d: &Arc<Containers>, name: &str) -> Result<()> {
    let name = name.trim_start_matches('/');
    let Some((parent, alias)) = name.rsplit_once('/') else {
        return Err(Error::conflict("Conflict, cannot remove the default link name."));
    };
    let c = d.get(parent).map_err(|_| Error::not_found(format!("Cannot get parent /{parent} for link name /{name}")))?;
    c.ask(Command::Unlink { alias: alias.to_string() }).await
}

pub async fn remove(c: &Container, force: bool) -> Result<()> {
    c.ask(Command::Remove { force }).await
}

/// Docker's update: checked as at create, then merged and applied by the owner;
/// returns Docker's warnings.
pub async fn update(c: &Container, body: api::containers::ContainerUpdateBody) -> Result<Vec<String>> {
    let checked = update::check(body)?;
    c.ask(Command::Update { resources: Box::new(checked.resources), restart_policy: checked.restart_policy })
        .await?;
    Ok(checked.warnings)
}

/// `container prune`: removes the stopped containers `filter` matches; returns their
/// ids and the space their writable layers held.
pub async fn prune(d: &Arc<Containers>, filter: &super::view::ListFilter) -> (Vec<String>, u64) {
    use super::record::Status;
    let mut deleted = Vec::new();
    let mut reclaimed: u64 = 0;
    for c in d.all() {
        let r = c.record();
        if !matches!(r.state.status, Status::Exited | Status::Dead | Status::Created) || !filter.matches(&r) {
            continue;
        }
        let (d2, id) = (d.clone(), c.id.clone());
        let size = tokio::task::spawn_blocking(move || d2.images.snapshots().usage(&id).map(|u| u.size).unwrap_or(0))
            .await
            .unwrap_or(0);
        if remove(&c, false).await.is_ok() {
            deleted.push(c.id.clone());
            reclaimed += size;
        }
    }
    (deleted, reclaimed)
}
