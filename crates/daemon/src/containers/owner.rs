//! A container's owner: the one task that changes it. It reads the container's
//! mailbox, steps the [`Machine`] with each input and carries out the effects in
//! order: blocking ones (mount, launch, signal, record writes, release) on the
//! blocking pool, awaited, their outcomes fed straight back in before the next message;
//! waits (an exit, a timer, a probe) as tasks that post to the mailbox. Readers never
//! wait for it: they read what it last published.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::Utc;

use super::machine::{Effect, Input, Machine};
use super::{Container, Containers, Mailbox, Message, Reply, monitor, probe, run};
use crate::error::{Error, Result};

/// Starts the owner of `c`, reading `mailbox`.
pub fn spawn(d: &Arc<Containers>, c: Arc<Container>, mailbox: Mailbox) {
    let record = (*c.record()).clone();
    let owner = Owner { d: d.clone(), c, machine: Machine::new(record), health: None, releasing: None };
    tokio::spawn(owner.run(mailbox));
}

struct Owner {
    d: Arc<Containers>,
    c: Arc<Container>,
    machine: Machine<Reply>,
    /// The healthcheck's monitor while one runs.
    health: Option<probe::Monitor>,
    /// Counted from the moment clients no longer see the container until what it held
    /// is freed: an image removal waits for it.
    releasing: Option<super::Releasing>,
}

/// Runs blocking work off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("container task: {e}")))
}

impl Owner {
    /// Writes the record, then publishes it to readers.
    async fn persist(&self) -> Result<()> {
        let id = self.c.id.clone();
        let record = self.machine.record().clone();
        let dir = self.d.paths.dir(&id);
        let saved = blocking(move || record.save(&dir)).await;
        self.c.publish(self.machine.record(), None);
        saved.and_then(|s| s.map_err(|e| Error::internal(e.to_string()))).map_err(|e| {
            tracing::warn!(container = %id, "save the state of the container: {}", e.message);
            Error::internal(format!("save the state of container {id}: {}", e.message))
        })
    }

    async fn run(mut self, mut mailbox: Mailbox) {
        while let Some(message) = mailbox.recv().await {
            let mut inputs: VecDeque<Message> = VecDeque::from([message]);
            while let Some(input) = inputs.pop_front() {
                // A record that could not be written fails the answers of this step.
                let mut unsaved: Option<Error> = None;
                for effect in self.machine.step(input, Utc::now()) {
                    if let Some(next) = self.carry_out(effect, &mut unsaved).await {
                        inputs.push_back(next);
                    }
                }
            }
            if self.machine.gone() {
                break;
            }
        }
        if let Some(m) = self.health.take() {
            m.stop();
        }
    }

    async fn carry_out(&mut self, effect: Effect<Reply>, unsaved: &mut Option<Error>) -> Option<Message> {
        let d = &self.d;
        let id = self.c.id.clone();
        match effect {
            Effect::Persist => {
                if let Err(e) = self.persist().await {
                    *unsaved = Some(e);
                }
                None
            }
            Effect::Save => Some(Input::Saved(self.persist().await)),
            Effect::Publish { action, extra } => {
                // A renamed container answers to its new name on its networks.
                if action == "rename" {
                    d.networks.rename(&id, &self.machine.record().name);
                }
                let mut attrs = super::view::event_attributes(self.machine.record());
                attrs.extend(extra.into_iter().map(|(k, v)| (k.to_string(), v)));
                d.events.publish("container", &action, &id, attrs);
                None
            }
            Effect::Notify(change) => {
                self.c.publish(self.machine.record(), Some(change));
                None
            }
            Effect::Reply(to, result) => {
                let result = match (result, unsaved.as_ref()) {
                    (Ok(()), Some(e)) => Err(e.clone()),
                    (result, _) => result,
                };
                let _ = to.send(result);
                None
            }
            Effect::Launch => {
                let wait_attach = self.c.attach_waiting();
                let (d, record) = (d.clone(), self.machine.record().clone());
                let launched = blocking(move || run::launch(&d, &record, wait_attach)).await;
                let launched = launched.unwrap_or_else(|e| Err(super::machine::StartFailure {
                    message: e.message,
                    exit_code: 128,
                    kind: crate::error::ErrorKind::Internal,
                }));
                match &launched {
                    Ok(started) => tracing::debug!(container = %id, pid = started.pid, "start: running"),
                    Err(e) => tracing::debug!(container = %id, "start: failed: {}", e.message),
                }
                Some(Input::Launched(launched))
            }
            Effect::Signal { signal, all } => {
                let task = d.paths.task(self.machine.record(), &d.config);
                let sent = blocking(move || task.kill(signal, all)).await;
                let sent = sent.and_then(|s| s.map_err(|e| Error::internal(format!("kill container {id}: {e}"))));
                Some(Input::Signalled(sent))
            }
            Effect::Freeze(pause) => {
                let task = d.paths.task(self.machine.record(), &d.config);
                let done = blocking(move || if pause { task.pause() } else { task.resume() }).await;
                let verb = if pause { "pause" } else { "unpause" };
                Some(Input::Frozen(done.and_then(|r| r.map_err(|e| Error::internal(format!("{verb}: {e}"))))))
            }
            Effect::ApplyResources(live) => {
                let task = d.paths.task(self.machine.record(), &d.config);
                let done = blocking(move || task.update(&live)).await;
                let cannot = |e: String| Error::internal(format!("Cannot update container {id}: {e}"));
                Some(Input::Applied(done.and_then(|r| r.map_err(cannot))))
            }
            Effect::Join { attachment, slot, default_route } => {
                let (d, record) = (d.clone(), self.machine.record().clone());
                let joined = blocking(move || {
                    let member = crate::networks::Member { id: &record.id, name: &record.name, dns: &record.host_config.dns };
                    d.networks.connect(member, &attachment, slot, default_route)
                })
                .await;
                Some(Input::Joined(joined.and_then(|r| r)))
            }
            Effect::Leave(endpoint) => {
                let (d, id) = (d.clone(), id.clone());
                let left = blocking(move || d.networks.disconnect(&id, &endpoint)).await;
                Some(Input::Left(left.and_then(|r| r)))
            }
            Effect::RewriteEtc => {
                let (d, record) = (d.clone(), self.machine.record().clone());
                if let Ok(Err(e)) = blocking(move || run::rewrite_etc(&d, &record)).await {
                    tracing::warn!(container = %id, "its /etc files: {}", e.message);
                }
                None
            }
            // A rename's conflict in dockerd's words.
            Effect::ReserveName(name) => Some(Input::NameReserved(
                d.reserve_name(&name, &id).map_err(|e| crate::error::Error::conflict(format!("Error when allocating new name: {}", e.message))),
            )),
            Effect::ReleaseName(name) => {
                d.release_name(&name, &id);
                None
            }
            Effect::Watch { pid } => {
                monitor::watch(self.c.clone(), d.paths.shim(&id), pid);
                None
            }
            Effect::StartHealth { monitor } => {
                if let Some(old) = self.health.take() {
                    old.stop();
                }
                self.health = probe::watch(d, &self.c, monitor);
                None
            }
            Effect::StopHealth => {
                if let Some(m) = self.health.take() {
                    m.stop();
                }
                None
            }
            Effect::RestoreExecs => {
                let (d, c) = (d.clone(), self.c.clone());
                let _ = blocking(move || super::exec::restore(&d, &c)).await;
                None
            }
            Effect::EndRun => {
                let (d, r) = (d.clone(), self.machine.record().clone());
                let _ = blocking(move || run::end_run(&d, &id, &r.host_config.runtime, Some(&r))).await;
                Some(Input::RunEnded)
            }
            Effect::Tidy { shim } => {
                let (d, r) = (d.clone(), self.machine.record().clone());
                let _ = blocking(move || {
                    if shim {
                        run::end_run(&d, &id, &r.host_config.runtime, Some(&r));
                    }
                    run::unmount_all(&d.paths.rootfs(&id));
                    run::unmount_all(&d.paths.legacy_rootfs(&id));
                })
                .await;
                None
            }
            Effect::Release => {
                let (d, r) = (d.clone(), self.machine.record().clone());
                self.releasing.get_or_insert_with(|| d.begin_release());
                let released = blocking(move || run::release_run(&d, &id, &r.host_config.runtime, Some(&r))).await.and_then(|r| r);
                self.releasing = None;
                if let Err(e) = &released {
                    tracing::warn!(container = %self.c.id, "remove the container: {}", e.message);
                }
                Some(Input::Released(released))
            }
            Effect::Forget => {
                self.releasing.get_or_insert_with(|| d.begin_release());
                d.forget(&id);
                // `--rm` takes the container's anonymous volumes with it, as Docker's does.
                let r = self.machine.record();
                if r.host_config.auto_remove && !r.volumes.is_empty() {
                    let (d, volumes) = (d.clone(), r.volumes.clone());
                    let _ = blocking(move || super::volumes::drop_anonymous(&d, &volumes)).await;
                }
                None
            }
            Effect::Arm { after, timer } => {
                let c = self.c.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    c.send(Input::Timer(timer));
                });
                None
            }
            Effect::FillSpare => {
                let d = d.clone();
                tokio::task::spawn_blocking(move || d.fill_spare());
                None
            }
            Effect::CrashPoint(point) => {
                crate::crash::point(point);
                None
            }
        }
    }
}
