//! Live restore, at daemon start: each container's owner starts and is told what berthd
//! finds of it (its shim's word); it reconnects to a running container, records the
//! exits that happened while berthd was away, finishes interrupted removals and
//! creates, and restarts containers whose policy says so. And the other end: without
//! live restore, berthd's clean shutdown stops its containers.

use std::sync::Arc;

use super::machine::{Command, Found, ShimSays};
use super::record::Status;
use super::{Container, Containers, Mailbox, owner, run};

/// What [`Containers::open`] found on disk.
pub struct Loaded {
    /// Container directories without a record: a create crashed before writing it.
    pub broken: Vec<String>,
    /// The containers and their owners' mailboxes.
    pub owners: Vec<(Arc<Container>, Mailbox)>,
}

/// What the container's shim says of it, if a shim answers in `shim_dir`.
async fn shim_state(shim_dir: std::path::PathBuf) -> Option<shim::StateReply> {
    tokio::task::spawn_blocking(move || {
        shim::client::Control::connect(&shim_dir)
            .and_then(|mut s| s.request::<shim::StateReply>(&shim::ControlRequest::State))
            .ok()
    })
    .await
    .ok()
    .flatten()
}

/// Runs once at daemon start, before the API answers.
pub async fn restore(d: &Arc<Containers>, loaded: Loaded) {
    // Leftovers of a create that crashed before its record was written.
    for id in loaded.broken {
        let d2 = d.clone();
        let _ = tokio::task::spawn_blocking(move || run::release(&d2, &id)).await;
    }
    // Writable layers of containers that no longer exist (a removal whose index update
    // a power loss undid): keyed by a container id that no record has.
    let d2 = d.clone();
    let _ = tokio::task::spawn_blocking(move || {
        let snapshots = d2.images.snapshots();
        for info in snapshots.list().unwrap_or_default() {
            let container_key = info.key.len() == 64 && info.key.bytes().all(|b| b.is_ascii_hexdigit());
            if info.kind == image::snapshot::Kind::Active && container_key && d2.get(&info.key).is_err() {
                let _ = snapshots.remove(&info.key);
            }
        }
    })
    .await;
    // A few containers at a time: a daemon start with thousands must not wait for
    // them one by one, nor start them all at once.
    let asking = Arc::new(tokio::sync::Semaphore::new(16));
    let mut restores = tokio::task::JoinSet::new();
    // The addresses running containers hold, before any start may want one.
    for (c, _) in loaded.owners.iter().filter(|(c, _)| c.status().is_live()) {
        let r = c.record();
        let member = crate::networks::Member { id: &r.id, name: &r.name, dns: &r.host_config.dns };
        d.networks.claim(member, &r.state.endpoints, &r.networks, &r.state.ports);
    }
    // Likewise the volumes they have mounted (those made with mount options).
    let held: Vec<(String, String)> = loaded
        .owners
        .iter()
        .filter(|(c, _)| c.status().is_live())
        .flat_map(|(c, _)| c.record().volumes.iter().map(|v| (v.name.clone(), c.id.clone())).collect::<Vec<_>>())
        .collect();
    let volumes = d.volumes.clone();
    let _ = tokio::task::spawn_blocking(move || volumes.restore_mounts(held)).await;
    let d2 = d.clone();
    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || d2.networks.resume()).await {
        tracing::warn!("networks: {}", e.message);
    }
    for (c, mailbox) in loaded.owners {
        owner::spawn(d, c.clone(), mailbox);
        let (d, asking) = (d.clone(), asking.clone());
        restores.spawn(async move {
            // Held through the restore: a start the policy asks for counts too.
            let _turn = asking.acquire().await;
            let found = find(&d, &c).await;
            if let Err(e) = c.restore(found).await {
                tracing::warn!(container = %c.id, "restore: {}", e.message);
            }
        });
    }
    while restores.join_next().await.is_some() {}
    // Network namespaces of runs whose end berthd did not see.
    let d2 = d.clone();
    let _ = tokio::task::spawn_blocking(move || {
        d2.networks.reconcile(|id| d2.get(id).is_ok_and(|c| c.status().is_live()));
    })
    .await;
}

/// What the system says of a container. A shim is asked only where one may run: a
/// daemon start with thousands of stopped containers must not pay a request each
/// (a stat tells).
async fn find(d: &Containers, c: &Container) -> Found {
    let shim_dir = d.paths.shim(&c.id);
    let status = c.status();
    let listening = shim_dir.join(shim::CONTROL_SOCKET).exists();
    let asks = matches!(status, Status::Running | Status::Paused | Status::Restarting)
        || (status == Status::Created && listening);
    let state = if asks { shim_state(shim_dir).await } else { None };
    Found {
        shim: state.map(|s| ShimSays { pid: s.pid, exited: s.status == shim::Status::Exited }),
        lingering: listening,
    }
}

/// Without live restore, berthd's clean shutdown stops its containers, as dockerd's
/// does: each with its stop signal and timeout, all at once. A container stopped so
/// is not stopped by hand: its restart policy brings it back at the next start.
pub async fn shutdown(d: &Arc<Containers>) {
    let mut stops = tokio::task::JoinSet::new();
    for c in d.all() {
        stops.spawn(async move {
            if let Err(e) = c.ask(Command::Shutdown).await {
                tracing::warn!(container = %c.id, "stop at shutdown: {}", e.message);
            }
            // The stop is answered at the exit; its shim goes with the run's release,
            // which must be done before berthd is.
            let _ = c.ask(Command::Settle).await;
        });
    }
    while stops.join_next().await.is_some() {}
}
