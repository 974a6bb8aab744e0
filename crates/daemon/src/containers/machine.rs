//! One container's owner, as a pure state machine: every command (start, stop, kill,
//! pause, restart, remove, rename, update …) and every event (the shim's exit report,
//! a probe's result, a timer, an effect's outcome) is an [`Input`]; [`Machine::step`]
//! turns the container's state and one input into its next state and the
//! [`Effect`]s to carry out, in order. Nothing here blocks or touches the system: the
//! owner task ([`super::owner`]) runs the effects and feeds their outcomes back in.
//!
//! One command runs at a time; commands that arrive meanwhile wait in the machine's
//! queue, while events keep flowing (a stop waits for the exit it caused). Timers and
//! health monitors carry a generation, so a stale one is recognised and ignored.
//!
//! `R` is how a command is answered: a channel in berthd, a plain tag in the tests.

use std::collections::VecDeque;
use std::time::Duration;

use api::containers::{Health, HealthcheckResult};
use api::hostconfig::{HostConfig, Resources, RestartPolicy as WirePolicy};
use chrono::{DateTime, Utc};
use nix::sys::signal::Signal;
use oci_spec::runtime::LinuxResources;

use super::health;
use super::lifecycle::{self, Admission, AfterExit, Exit, Subject};
use super::record::{Endpoint, NetworkAttachment, NetworkMode, Record, Status};
use crate::error::{Error, ErrorKind, Result};

/// How long a SIGKILLed container may take to be gone before a stop gives up.
pub const KILL_DEADLINE: Duration = Duration::from_secs(30);
/// How long `kill -s KILL` waits for the exit before it answers (Docker's kill
/// returns once a SIGKILLed container is gone).
pub const KILL_WAIT: Duration = Duration::from_secs(10);

/// What a user (or berthd) asks of a container.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// A user's start: the restart policy's count and back-off begin again.
    Start,
    /// The signal (else the container's StopSignal), then SIGKILL after the timeout
    /// (else the container's, else 10 s; negative: wait forever).
    Stop { signal: Option<String>, timeout: Option<i64> },
    Kill { signal: Signal },
    Pause,
    Unpause,
    Restart { signal: Option<String>, timeout: Option<i64> },
    Remove { force: bool },
    /// A new, valid name (its syntax checked by the caller).
    Rename { name: String },
    /// Docker's update: the resources it names and the restart policy, if given.
    Update { resources: Box<Resources>, restart_policy: Option<WirePolicy> },
    /// Connect to a network (`network connect`): a running container at once.
    Connect { attachment: Box<NetworkAttachment> },
    /// Disconnect from the network of this id (`network disconnect`).
    Disconnect { network_id: String, network: String },
    /// Drop the legacy link of this alias (`rm --link /container/alias`).
    Unlink { alias: String },
    /// No start, stop or removal until [`Input::Unhold`] of the same lease (an export
    /// reads the container's filesystem meanwhile).
    Hold { lease: u64 },
    /// berthd goes down without live restore: stopped as by `stop`, but its restart
    /// policy brings it back at the next daemon start.
    Shutdown,
    /// The restart policy's back-off is over (queued when it ends during a command).
    RestartDue,
    /// Nothing: answered once everything before it is done, a run's release included
    /// (berthd's shutdown waits so for the shims it stopped).
    Settle,
}

/// What the system says about the container at daemon start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Found {
    /// What its shim answers, if one does.
    pub shim: Option<ShimSays>,
    /// A shim still listens although the record says the run ended.
    pub lingering: bool,
}

/// A shim's word on its container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShimSays {
    pub pid: i32,
    /// The process has exited (the shim holds its exit status).
    pub exited: bool,
}

impl Found {
    /// The pid of a process that still runs.
    fn running(&self) -> Option<i32> {
        self.shim.filter(|s| !s.exited).map(|s| s.pid)
    }
}

/// A start that worked: the init's pid, where the run is on its networks, and the
/// ports it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub pid: i32,
    pub endpoints: Vec<super::record::Endpoint>,
    pub ports: Vec<super::record::PublishedPort>,
}

impl From<i32> for Started {
    fn from(pid: i32) -> Started {
        Started { pid, endpoints: Vec::new(), ports: Vec::new() }
    }
}

/// Why a start failed: the message and the exit code Docker records for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartFailure {
    pub message: String,
    pub exit_code: i64,
    pub kind: ErrorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    /// The stop's timeout: SIGKILL now.
    Grace,
    /// SIGKILL was sent this long ago.
    KillDeadline,
    /// The restart policy's back-off is over.
    RestartDue,
}

/// A timer, tagged with the generation it was armed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timer {
    pub kind: TimerKind,
    generation: u64,
}

/// Everything that reaches the owner.
#[derive(Debug)]
pub enum Input<R> {
    Command(Command, Option<R>),
    /// Live restore: what berthd finds of the container at its start.
    Restore(Found, Option<R>),
    /// The shim reported the exit.
    Exited(Exit),
    /// A health probe's result, from the monitor of generation `monitor`.
    Health { monitor: u64, result: Box<HealthcheckResult> },
    Timer(Timer),
    /// The export that held the container (or asked to) is done.
    Unhold { lease: u64 },
    /// The outcome of [`Effect::Save`].
    Saved(Result<()>),
    // Outcomes of effects.
    Launched(std::result::Result<Started, StartFailure>),
    Signalled(Result<()>),
    Frozen(Result<()>),
    Applied(Result<()>),
    NameReserved(Result<()>),
    Joined(Result<Endpoint>),
    /// Whether the run's ports went with the endpoint.
    Left(Result<bool>),
    RunEnded,
    Released(Result<()>),
}

/// A change waiters watch for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Starting,
    Started,
    FailedStart,
    Exited,
    Removed,
}

/// What the owner carries out, in order. Those marked with an outcome feed an input back.
#[derive(Debug, PartialEq)]
pub enum Effect<R> {
    /// Write the record (atomically, durably) and publish it to readers.
    Persist,
    /// [`Effect::Persist`] for a command that must not go on unless its record is
    /// written → [`Input::Saved`].
    Save,
    /// An event, with the record's attributes and these.
    Publish { action: String, extra: Vec<(&'static str, String)> },
    Notify(Change),
    Reply(R, Result<()>),
    /// Mount, write the bundle, hand the start to a shim → [`Input::Launched`].
    Launch,
    /// → [`Input::Signalled`].
    Signal { signal: Signal, all: bool },
    /// Pause (`true`) or resume → [`Input::Frozen`].
    Freeze(bool),
    /// Write changed resources to the running container's cgroup → [`Input::Applied`].
    ApplyResources(Box<LinuxResources>),
    /// Connect the running container to a network → [`Input::Joined`].
    Join { attachment: Box<NetworkAttachment>, slot: u8, default_route: bool },
    /// Take the running container's endpoint off its network → [`Input::Left`].
    Leave(Box<Endpoint>),
    /// Write the running container's /etc files for its endpoints now.
    RewriteEtc,
    /// → [`Input::NameReserved`].
    ReserveName(String),
    ReleaseName(String),
    /// Wait for the exit of the run whose init is `pid` → [`Input::Exited`].
    Watch { pid: i32 },
    /// Run the healthcheck's probes (→ [`Input::Health`]), replacing any monitor.
    StartHealth { monitor: u64 },
    StopHealth,
    /// Find the execs started before berthd went away.
    RestoreExecs,
    /// Release what the run held: shim, runtime state, rootfs mount → [`Input::RunEnded`].
    EndRun,
    /// At daemon start, what an unseen end of a run left: its lingering shim (`shim`)
    /// and the rootfs mounts.
    Tidy { shim: bool },
    /// Free everything the container holds → [`Input::Released`].
    Release,
    /// Gone for clients: out of the index, its name free.
    Forget,
    /// → [`Input::Timer`] after `after`.
    Arm { after: Duration, timer: Timer },
    /// Make the next start's shim ready.
    FillSpare,
    /// A test hook: berthd may be made to die here.
    CrashPoint(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StartKind {
    User,
    /// A user's restart: `restart` is published after `start`.
    Restart,
    /// The restart policy's: a failure leaves it exited.
    Policy,
}

/// What follows the exit a stop waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterStop {
    Reply,
    /// A user's restart: started again once the run is released.
    Restart,
    /// berthd's shutdown: not a stop by hand.
    Shutdown,
}

/// The command under way, waiting for an input.
#[derive(Debug)]
enum Busy<R> {
    Starting { reply: Option<R>, kind: StartKind },
    Stopping { reply: Option<R>, grace: Option<Duration>, killed: bool, then: AfterStop },
    /// A restart's stop is done; the start follows the run's release.
    Restarting { reply: Option<R> },
    Killing { reply: Option<R>, wait: bool },
    Freezing { reply: Option<R>, pause: bool },
    /// Waiting for the record (`Saved`), then for the cgroup (`Applied`) when `live` is set.
    Updating { reply: Option<R>, before: Box<HostConfig>, live: Option<Box<LinuxResources>> },
    /// Waiting for the name (`NameReserved`), then for the record (`Saved`).
    Renaming { reply: Option<R>, name: String, old: Option<String> },
    Removing { reply: Option<R> },
    Held { lease: u64 },
    /// Waiting for the endpoint (`Joined`, a running container's) or for the record
    /// (`Saved`).
    Connecting { reply: Option<R>, attachment: Box<NetworkAttachment> },
    /// Waiting for the endpoint to go (`Left`) or for the record (`Saved`).
    Disconnecting { reply: Option<R>, attachment: Box<NetworkAttachment>, endpoint: Option<Box<Endpoint>> },
    /// Waiting for the record without the link (`Saved`).
    Unlinking { reply: Option<R>, link: String },
}

pub struct Machine<R> {
    record: Record,
    busy: Option<Busy<R>>,
    /// Between an exit and the release of its run: commands wait.
    ending: bool,
    queue: VecDeque<(Command, Option<R>)>,
    /// The restart policy's current back-off.
    backoff: Duration,
    /// A user's restart is stopping it: its exit keeps an `--rm` container.
    restart_by_hand: bool,
    /// berthd is going down (no live restore): exits restart nothing.
    shutting_down: bool,
    /// The current timer's generation; an older timer is ignored.
    timers: u64,
    /// The current health monitor's generation; results of older ones are ignored.
    monitor: u64,
    /// Out of the index: nothing more to do.
    forgotten: bool,
    gone: bool,
}

fn reply<R>(fx: &mut Vec<Effect<R>>, to: Option<R>, result: Result<()>) {
    if let Some(r) = to {
        fx.push(Effect::Reply(r, result));
    }
}

fn publish<R>(fx: &mut Vec<Effect<R>>, action: &str) {
    fx.push(Effect::Publish { action: action.into(), extra: vec![] });
}

impl<R> Machine<R> {
    pub fn new(record: Record) -> Machine<R> {
        Machine {
            record,
            busy: None,
            ending: false,
            queue: VecDeque::new(),
            backoff: Duration::ZERO,
            restart_by_hand: false,
            shutting_down: false,
            timers: 0,
            monitor: 0,
            forgotten: false,
            gone: false,
        }
    }

    pub fn record(&self) -> &Record {
        &self.record
    }

    /// Removed: the owner's work is over.
    pub fn gone(&self) -> bool {
        self.gone
    }

    /// The next state and what to do, for one input at `now`.
    pub fn step(&mut self, input: Input<R>, now: DateTime<Utc>) -> Vec<Effect<R>> {
        let mut fx = Vec::new();
        match input {
            Input::Command(command, to) => {
                if self.busy.is_some() || self.ending {
                    self.queue.push_back((command, to));
                } else {
                    self.command(command, to, &mut fx);
                }
            }
            Input::Restore(found, to) => self.restore(found, to, now, &mut fx),
            Input::Exited(exit) => self.exited(exit, &mut fx),
            Input::Health { monitor, result } => self.health(monitor, *result, &mut fx),
            Input::Timer(t) => self.timer(t, &mut fx),
            Input::Unhold { lease } => match self.busy {
                Some(Busy::Held { lease: held }) if held == lease => self.busy = None,
                // Given up before its turn came: it never holds.
                _ => self.queue.retain(|(c, _)| *c != Command::Hold { lease }),
            },
            Input::Saved(outcome) => self.saved(outcome, &mut fx),
            Input::Launched(outcome) => self.launched(outcome, now, &mut fx),
            Input::Signalled(outcome) => self.signalled(outcome, &mut fx),
            Input::Frozen(outcome) => self.frozen(outcome, &mut fx),
            Input::Applied(outcome) => self.applied(outcome, &mut fx),
            Input::NameReserved(outcome) => self.name_reserved(outcome, &mut fx),
            Input::Joined(outcome) => self.joined(outcome, &mut fx),
            Input::Left(outcome) => self.left(outcome, &mut fx),
            Input::RunEnded => self.run_ended(&mut fx),
            Input::Released(outcome) => self.released(outcome, &mut fx),
        }
        while self.busy.is_none() && !self.ending && !self.gone {
            let Some((command, to)) = self.queue.pop_front() else { break };
            self.command(command, to, &mut fx);
        }
        if self.gone {
            for (_, to) in self.queue.drain(..) {
                reply(&mut fx, to, Err(Error::not_found(format!("No such container: {}", self.record.id))));
            }
        }
        fx
    }

    fn subject(&self) -> Subject<'_> {
        Subject::of(&self.record)
    }

    fn status(&self) -> Status {
        self.record.state.status
    }

    fn arm(&mut self, after: Duration, kind: TimerKind) -> Effect<R> {
        self.timers += 1;
        Effect::Arm { after, timer: Timer { kind, generation: self.timers } }
    }

    /// Timers armed so far are stale.
    fn disarm(&mut self) {
        self.timers += 1;
    }

    fn start_health(&mut self) -> Effect<R> {
        self.monitor += 1;
        Effect::StartHealth { monitor: self.monitor }
    }

    fn stop_health(&mut self) -> Effect<R> {
        self.monitor += 1;
        Effect::StopHealth
    }

    fn command(&mut self, command: Command, to: Option<R>, fx: &mut Vec<Effect<R>>) {
        match command {
            Command::Start => match lifecycle::admit(lifecycle::Command::Start, self.subject()) {
                Err(e) => reply(fx, to, Err(e)),
                Ok(_) => {
                    self.reset_restarts();
                    self.start(to, StartKind::User, fx);
                }
            },
            Command::Stop { signal, timeout } => self.stop(signal, timeout, to, AfterStop::Reply, fx),
            Command::Kill { signal } => self.kill(signal, to, fx),
            Command::Pause | Command::Unpause => {
                let pause = command == Command::Pause;
                let verb = if pause { lifecycle::Command::Pause } else { lifecycle::Command::Unpause };
                match lifecycle::admit(verb, self.subject()) {
                    Err(e) => reply(fx, to, Err(e)),
                    Ok(_) => {
                        fx.push(Effect::Freeze(pause));
                        self.busy = Some(Busy::Freezing { reply: to, pause });
                    }
                }
            }
            Command::Restart { signal, timeout } => {
                let status = self.status();
                if status.is_live() || status == Status::Restarting {
                    self.restart_by_hand = true;
                    self.stop(signal, timeout, to, AfterStop::Restart, fx);
                } else {
                    self.start_again(to, fx);
                }
            }
            Command::Remove { force } => self.remove(force, to, fx),
            Command::Rename { name } => {
                if name == self.record.name {
                    reply(fx, to, Err(Error::invalid("Renaming a container with the same name as its current name")));
                } else {
                    fx.push(Effect::ReserveName(name.clone()));
                    self.busy = Some(Busy::Renaming { reply: to, name, old: None });
                }
            }
            Command::Update { resources, restart_policy } => self.update(&resources, restart_policy.as_ref(), to, fx),
            Command::Connect { attachment } => self.connect(attachment, to, fx),
            Command::Disconnect { network_id, network } => self.disconnect(&network_id, &network, to, fx),
            Command::Unlink { alias } => {
                let at = self.record.host_config.links.iter().position(|l| super::links::Link::parse(l).is_ok_and(|l| l.alias == alias));
                match at {
                    None => reply(fx, to, Err(Error::not_found(format!("Could not find link /{}/{alias}", self.record.name)))),
                    Some(at) => {
                        let link = self.record.host_config.links.remove(at);
                        fx.push(Effect::Save);
                        self.busy = Some(Busy::Unlinking { reply: to, link });
                    }
                }
            }
            Command::Hold { lease } => {
                self.busy = Some(Busy::Held { lease });
                reply(fx, to, Ok(()));
            }
            Command::Shutdown => {
                self.shutting_down = true;
                if matches!(self.status(), Status::Running | Status::Paused | Status::Restarting) {
                    self.stop(None, None, to, AfterStop::Shutdown, fx);
                } else {
                    reply(fx, to, Ok(()));
                }
            }
            Command::Settle => reply(fx, to, Ok(())),
            Command::RestartDue => {
                if self.status() == Status::Restarting && !self.shutting_down {
                    self.record.state.restart_count += 1;
                    self.start(to, StartKind::Policy, fx);
                } else {
                    reply(fx, to, Ok(()));
                }
            }
        }
    }

    /// A user's start (or restart): the policy's count and back-off begin again.
    fn reset_restarts(&mut self) {
        self.backoff = Duration::ZERO;
        if !self.status().is_live() {
            self.record.state.restart_count = 0;
        }
    }

    fn start(&mut self, to: Option<R>, kind: StartKind, fx: &mut Vec<Effect<R>>) {
        // A pending policy restart is this start now.
        self.disarm();
        fx.push(Effect::Notify(Change::Starting));
        fx.push(Effect::Launch);
        self.busy = Some(Busy::Starting { reply: to, kind });
    }

    /// The start half of a user's restart.
    fn start_again(&mut self, to: Option<R>, fx: &mut Vec<Effect<R>>) {
        self.restart_by_hand = false;
        fx.push(Effect::CrashPoint("restart:stopped"));
        match lifecycle::admit(lifecycle::Command::Start, self.subject()) {
            Err(e) if e.kind() != ErrorKind::NotModified => reply(fx, to, Err(e)),
            _ => {
                self.reset_restarts();
                self.start(to, StartKind::Restart, fx);
            }
        }
    }

    fn launched(&mut self, outcome: std::result::Result<Started, StartFailure>, now: DateTime<Utc>, fx: &mut Vec<Effect<R>>) {
        let Some(Busy::Starting { reply: to, kind }) = self.busy.take() else { return };
        // The next start's shim, made while this one's answer goes out.
        fx.push(Effect::FillSpare);
        match outcome {
            Ok(Started { pid, endpoints, ports }) => {
                fx.push(Effect::CrashPoint("start:launched"));
                lifecycle::on_started(&mut self.record.state, pid, now);
                (self.record.state.endpoints, self.record.state.ports) = (endpoints, ports);
                health::reset_for_start(&mut self.record);
                fx.push(Effect::Persist);
                publish(fx, "start");
                fx.push(Effect::Notify(Change::Started));
                // Health first: an exit reported at once then stops its monitor.
                fx.push(self.start_health());
                fx.push(Effect::Watch { pid });
                if kind == StartKind::Restart {
                    publish(fx, "restart");
                }
                reply(fx, to, Ok(()));
            }
            Err(failure) => {
                lifecycle::on_start_failed(&mut self.record.state, &failure.message, failure.exit_code);
                // A start that failed during the back-off ends it: nothing restarts it now.
                if kind == StartKind::Policy || self.status() == Status::Restarting {
                    self.record.state.status = Status::Exited;
                }
                fx.push(Effect::Persist);
                fx.push(Effect::Notify(Change::FailedStart));
                reply(fx, to, Err(Error::new(failure.kind, failure.message)));
                // Docker removes an AutoRemove container whose start failed (`run --rm`
                // clients wait for that removal).
                if self.record.host_config.auto_remove {
                    self.queue.push_front((Command::Remove { force: true }, None));
                }
            }
        }
    }

    fn stop(&mut self, signal: Option<String>, timeout: Option<i64>, to: Option<R>, then: AfterStop, fx: &mut Vec<Effect<R>>) {
        match lifecycle::admit(lifecycle::Command::Stop, self.subject()) {
            Err(e) => {
                self.restart_by_hand = false;
                reply(fx, to, Err(e));
            }
            Ok(Admission::CancelRestart) => {
                self.disarm();
                lifecycle::on_restart_cancelled(&mut self.record.state);
                fx.push(Effect::Persist);
                // Its exit was recorded before the back-off; waiters that came during
                // the back-off are answered now.
                fx.push(Effect::Notify(Change::Exited));
                self.stopped(then, to, fx);
                if then == AfterStop::Restart {
                    let to = self.busy_reply();
                    self.start_again(to, fx);
                }
            }
            Ok(_) => {
                let signal = match signal.as_deref().filter(|s| !s.is_empty()) {
                    Some(s) => match lifecycle::parse_signal(s) {
                        Ok(sig) => sig,
                        Err(e) => {
                            self.restart_by_hand = false;
                            return reply(fx, to, Err(e));
                        }
                    },
                    None => lifecycle::stop_signal(&self.record),
                };
                let timeout = timeout.or(self.record.config.stop_timeout).unwrap_or(10);
                // As Docker: no probes while the container stops.
                fx.push(self.stop_health());
                lifecycle::on_stopped_by_hand(&mut self.record.state);
                health::mark_unmonitored(&mut self.record);
                fx.push(Effect::Persist);
                fx.push(Effect::Publish { action: "kill".into(), extra: vec![("signal", (signal as i32).to_string())] });
                fx.push(Effect::Signal { signal, all: false });
                fx.push(Effect::CrashPoint("stop:signalled"));
                let grace = u64::try_from(timeout).ok().map(Duration::from_secs);
                self.busy = Some(Busy::Stopping { reply: to, grace, killed: false, then });
            }
        }
    }

    /// The reply a restart carries from its stop to its start.
    fn busy_reply(&mut self) -> Option<R> {
        match self.busy.take() {
            Some(Busy::Restarting { reply }) => reply,
            other => {
                self.busy = other;
                None
            }
        }
    }

    /// The stop's exit is recorded (or its pending restart cancelled).
    fn stopped(&mut self, then: AfterStop, to: Option<R>, fx: &mut Vec<Effect<R>>) {
        publish(fx, "stop");
        match then {
            AfterStop::Reply => reply(fx, to, Ok(())),
            AfterStop::Shutdown => {
                // Not a stop by hand: the policy brings it back at the next start.
                self.record.state.manually_stopped = false;
                fx.push(Effect::Persist);
                reply(fx, to, Ok(()));
            }
            AfterStop::Restart => self.busy = Some(Busy::Restarting { reply: to }),
        }
    }

    fn kill(&mut self, signal: Signal, to: Option<R>, fx: &mut Vec<Effect<R>>) {
        if let Err(e) = lifecycle::admit(lifecycle::Command::Kill, self.subject()) {
            return reply(fx, to, Err(e));
        }
        // A paused container is thawed after the signal (the engine does it).
        lifecycle::on_stopped_by_hand(&mut self.record.state);
        fx.push(Effect::Persist);
        fx.push(Effect::Publish { action: "kill".into(), extra: vec![("signal", (signal as i32).to_string())] });
        fx.push(Effect::Signal { signal, all: false });
        self.busy = Some(Busy::Killing { reply: to, wait: signal == Signal::SIGKILL });
    }

    fn signalled(&mut self, outcome: Result<()>, fx: &mut Vec<Effect<R>>) {
        match self.busy.take() {
            Some(Busy::Stopping { reply, grace, killed: false, then }) => {
                if outcome.is_err() {
                    fx.push(Effect::Signal { signal: Signal::SIGKILL, all: true });
                    self.busy = Some(Busy::Stopping { reply, grace, killed: true, then });
                    return;
                }
                if let Some(g) = grace {
                    fx.push(self.arm(g, TimerKind::Grace));
                }
                self.busy = Some(Busy::Stopping { reply, grace, killed: false, then });
            }
            Some(busy @ Busy::Stopping { killed: true, .. }) => {
                fx.push(self.arm(KILL_DEADLINE, TimerKind::KillDeadline));
                self.busy = Some(busy);
            }
            Some(Busy::Killing { reply: to, wait }) => match outcome {
                Err(e) => reply(fx, to, Err(e)),
                Ok(()) if wait => {
                    fx.push(self.arm(KILL_WAIT, TimerKind::KillDeadline));
                    self.busy = Some(Busy::Killing { reply: to, wait });
                }
                Ok(()) => reply(fx, to, Ok(())),
            },
            Some(busy @ Busy::Removing { .. }) => {
                fx.push(self.arm(KILL_DEADLINE, TimerKind::KillDeadline));
                self.busy = Some(busy);
            }
            other => self.busy = other,
        }
    }

    fn timer(&mut self, t: Timer, fx: &mut Vec<Effect<R>>) {
        if t.generation != self.timers {
            return;
        }
        match (t.kind, self.busy.take()) {
            (TimerKind::Grace, Some(Busy::Stopping { reply, grace, killed: false, then })) => {
                fx.push(Effect::Signal { signal: Signal::SIGKILL, all: true });
                self.busy = Some(Busy::Stopping { reply, grace, killed: true, then });
            }
            (TimerKind::KillDeadline, Some(Busy::Stopping { reply: to, .. })) => {
                self.restart_by_hand = false;
                let id = &self.record.id;
                reply(fx, to, Err(Error::internal(format!("container {id} did not exit after SIGKILL"))));
            }
            // Docker's kill answers even when the container outlives it.
            (TimerKind::KillDeadline, Some(Busy::Killing { reply: to, .. })) => reply(fx, to, Ok(())),
            // The container did not go; what it holds is freed all the same.
            (TimerKind::KillDeadline, Some(busy @ Busy::Removing { .. })) => {
                fx.push(Effect::Release);
                self.busy = Some(busy);
            }
            (TimerKind::RestartDue, busy) => {
                self.busy = busy;
                if self.status() == Status::Restarting {
                    self.queue.push_back((Command::RestartDue, None));
                }
            }
            (_, busy) => self.busy = busy,
        }
    }

    fn frozen(&mut self, outcome: Result<()>, fx: &mut Vec<Effect<R>>) {
        let Some(Busy::Freezing { reply: to, pause }) = self.busy.take() else { return };
        if let Err(e) = outcome {
            return reply(fx, to, Err(e));
        }
        if pause {
            fx.push(self.stop_health());
            self.record.state.status = Status::Paused;
            health::mark_unmonitored(&mut self.record);
            fx.push(Effect::Persist);
            publish(fx, "pause");
        } else {
            self.record.state.status = Status::Running;
            fx.push(Effect::Persist);
            fx.push(self.start_health());
            publish(fx, "unpause");
        }
        reply(fx, to, Ok(()));
    }

    fn update(&mut self, resources: &Resources, restart: Option<&WirePolicy>, to: Option<R>, fx: &mut Vec<Effect<R>>) {
        let id = self.record.id.clone();
        let cannot = |e: String| format!("Cannot update container {id}: {e}");
        if let Err(e) = lifecycle::admit(lifecycle::Command::Update, self.subject()) {
            return reply(fx, to, Err(e));
        }
        let before = self.record.host_config_wire();
        let mut host_config = before.clone();
        if let Err(e) = super::update::merge(&mut host_config, resources, restart) {
            return reply(fx, to, Err(Error::conflict(cannot(e))));
        }
        // Only what the update names is written, as Docker passes it to its runtime.
        let live = if matches!(self.status(), Status::Running | Status::Paused) {
            match super::resources::linux(resources, true) {
                Err(e) => return reply(fx, to, Err(Error::invalid(cannot(e)))),
                Ok(live) => live,
            }
        } else {
            LinuxResources::default()
        };
        // Recorded first, then applied: a cgroup that refuses the change puts the record
        // back, while a record that cannot be saved never leaves the cgroup disagreeing.
        if let Err(e) = self.record.set_host_config(host_config) {
            return reply(fx, to, Err(Error::invalid(cannot(e))));
        }
        fx.push(Effect::Save);
        let live = (live != LinuxResources::default()).then(|| Box::new(live));
        self.busy = Some(Busy::Updating { reply: to, before: Box::new(before), live });
    }

    /// The record of an update or a rename is written, or not.
    fn saved(&mut self, outcome: Result<()>, fx: &mut Vec<Effect<R>>) {
        match (self.busy.take(), outcome) {
            (Some(Busy::Updating { reply: to, before, .. }), Err(e)) => {
                // Nothing was applied: the record in memory goes back to what is on disk.
                let _ = self.record.set_host_config(*before);
                reply(fx, to, Err(e));
            }
            (Some(Busy::Updating { reply: to, live: None, .. }), Ok(())) => {
                publish(fx, "update");
                reply(fx, to, Ok(()));
            }
            (Some(Busy::Updating { reply, before, live: Some(live) }), Ok(())) => {
                fx.push(Effect::ApplyResources(live));
                self.busy = Some(Busy::Updating { reply, before, live: None });
            }
            (Some(Busy::Renaming { reply: to, old: Some(old), .. }), Ok(())) => {
                fx.push(Effect::ReleaseName(old.clone()));
                fx.push(Effect::Publish { action: "rename".into(), extra: vec![("oldName", format!("/{old}"))] });
                reply(fx, to, Ok(()));
            }
            (Some(Busy::Renaming { reply: to, name, old: Some(old) }), Err(e)) => {
                self.record.name = old;
                fx.push(Effect::ReleaseName(name));
                reply(fx, to, Err(e));
            }
            (Some(Busy::Connecting { reply: to, attachment }), outcome) => {
                if outcome.is_err() {
                    self.record.networks.retain(|a| a.network_id != attachment.network_id);
                }
                reply(fx, to, outcome);
            }
            (Some(Busy::Unlinking { reply: to, link }), outcome) => {
                if outcome.is_err() {
                    self.record.host_config.links.push(link);
                }
                reply(fx, to, outcome);
            }
            (Some(Busy::Disconnecting { reply: to, attachment, .. }), outcome) => {
                if outcome.is_err() {
                    self.record.networks.push(*attachment);
                }
                reply(fx, to, outcome);
            }
            (busy, _) => self.busy = busy,
        }
    }

    /// Docker's rules for `network connect`; a running container is connected at
    /// once, any other when it next starts.
    fn connect(&mut self, attachment: Box<NetworkAttachment>, to: Option<R>, fx: &mut Vec<Effect<R>>) {
        let refused = match (&self.record.network, self.status()) {
            // Docker's validation errors: 400.
            (NetworkMode::Host, _) => Some(Error::invalid("container cannot be disconnected from host network or connected to host network")),
            (NetworkMode::None, _) => Some(Error::invalid("container cannot be connected to multiple networks with one of the networks in private (none) mode")),
            (NetworkMode::Container(_), _) => {
                Some(Error::invalid("container sharing network namespace with another container or host cannot be connected to any other network"))
            }
            (_, Status::Removing | Status::Dead) => Some(Error::conflict(format!("container {} is marked for removal and cannot be connected", self.record.name))),
            (_, Status::Restarting) => Some(Error::conflict(format!("container {} is restarting, wait until it runs to connect it", self.record.name))),
            _ if self.record.networks.iter().any(|a| a.network_id == attachment.network_id) => {
                Some(Error::forbidden(format!("endpoint with name {} already exists in network {}", self.record.name, attachment.network)))
            }
            _ => None,
        };
        if let Some(e) = refused {
            return reply(fx, to, Err(e));
        }
        if self.status().is_live() {
            let slot = (0u8..16).find(|s| !self.record.state.endpoints.iter().any(|e| e.slot == *s));
            let Some(slot) = slot else { return reply(fx, to, Err(Error::invalid("a container is on 16 networks at most"))) };
            let default_route = self.record.state.endpoints.is_empty();
            fx.push(Effect::Join { attachment: attachment.clone(), slot, default_route });
        } else {
            self.record.networks.push((*attachment).clone());
            fx.push(Effect::Save);
        }
        self.busy = Some(Busy::Connecting { reply: to, attachment });
    }

    fn joined(&mut self, outcome: Result<Endpoint>, fx: &mut Vec<Effect<R>>) {
        let Some(Busy::Connecting { reply: to, attachment }) = self.busy.take() else { return };
        match outcome {
            Ok(endpoint) => {
                self.record.networks.push(*attachment);
                self.record.state.endpoints.push(endpoint);
                fx.push(Effect::Persist);
                fx.push(Effect::RewriteEtc);
                reply(fx, to, Ok(()));
            }
            Err(e) => reply(fx, to, Err(e)),
        }
    }

    fn disconnect(&mut self, network_id: &str, network: &str, to: Option<R>, fx: &mut Vec<Effect<R>>) {
        // Networks are never renamed: the name finds it too (a network that is gone,
        // or an attachment recorded before its network had an id).
        let Some(at) = self.record.networks.iter().position(|a| a.network == network || (!network_id.is_empty() && a.network_id == network_id)) else {
            return reply(fx, to, Err(Error::forbidden(format!("container {} is not connected to network {network}", self.record.id))));
        };
        if matches!(self.status(), Status::Removing | Status::Dead | Status::Restarting) {
            return reply(fx, to, Err(Error::conflict(format!("container {} is {}: try again once it settles", self.record.name, self.status().as_str()))));
        }
        let attachment = Box::new(self.record.networks[at].clone());
        let endpoint = self
            .record
            .state
            .endpoints
            .iter()
            .find(|e| e.network == attachment.network || (!attachment.network_id.is_empty() && e.network_id == attachment.network_id))
            .filter(|_| self.status().is_live())
            .map(|e| Box::new(e.clone()));
        match &endpoint {
            Some(endpoint) => fx.push(Effect::Leave(endpoint.clone())),
            None => {
                self.record.networks.remove(at);
                fx.push(Effect::Save);
            }
        }
        self.busy = Some(Busy::Disconnecting { reply: to, attachment, endpoint });
    }

    fn left(&mut self, outcome: Result<bool>, fx: &mut Vec<Effect<R>>) {
        let Some(Busy::Disconnecting { reply: to, attachment, endpoint }) = self.busy.take() else { return };
        if outcome.is_ok() {
            if let Some(at) = self.record.networks.iter().position(|a| *a == *attachment) {
                self.record.networks.remove(at);
            }
            if let Some(gone) = endpoint {
                self.record.state.endpoints.retain(|e| *e != *gone);
            }
            if outcome == Ok(true) {
                self.record.state.ports.clear();
            }
            fx.push(Effect::Persist);
            fx.push(Effect::RewriteEtc);
        }
        reply(fx, to, outcome.map(|_| ()));
    }

    fn applied(&mut self, outcome: Result<()>, fx: &mut Vec<Effect<R>>) {
        let Some(Busy::Updating { reply: to, before, .. }) = self.busy.take() else { return };
        match outcome {
            Ok(()) => {
                publish(fx, "update");
                reply(fx, to, Ok(()));
            }
            Err(e) => {
                // It was the record's a moment ago: it reads back.
                let _ = self.record.set_host_config(*before);
                fx.push(Effect::Persist);
                reply(fx, to, Err(e));
            }
        }
    }

    fn name_reserved(&mut self, outcome: Result<()>, fx: &mut Vec<Effect<R>>) {
        let Some(Busy::Renaming { reply: to, name, .. }) = self.busy.take() else { return };
        if let Err(e) = outcome {
            return reply(fx, to, Err(e));
        }
        let old = std::mem::replace(&mut self.record.name, name.clone());
        fx.push(Effect::Save);
        self.busy = Some(Busy::Renaming { reply: to, name, old: Some(old) });
    }

    fn remove(&mut self, force: bool, to: Option<R>, fx: &mut Vec<Effect<R>>) {
        if let Err(e) = lifecycle::admit(lifecycle::Command::Remove { force }, self.subject()) {
            return reply(fx, to, Err(e));
        }
        let live = self.status().is_live();
        self.disarm();
        self.record.state.status = Status::Removing;
        fx.push(Effect::Persist);
        fx.push(Effect::CrashPoint("remove:marked"));
        if live {
            fx.push(self.stop_health());
            fx.push(Effect::Signal { signal: Signal::SIGKILL, all: true });
        } else {
            fx.push(Effect::Release);
        }
        self.busy = Some(Busy::Removing { reply: to });
    }

    fn released(&mut self, outcome: Result<()>, fx: &mut Vec<Effect<R>>) {
        let Some(Busy::Removing { reply: to }) = self.busy.take() else { return };
        match outcome {
            // An --rm container was gone for clients already; a failed release leaves
            // its `removing` record, which the next daemon start finishes.
            _ if self.forgotten => self.gone = true,
            Ok(()) => {
                self.forget(fx);
                reply(fx, to, Ok(()));
                self.gone = true;
            }
            Err(e) => {
                // As Docker: a removal that failed leaves the container dead, and
                // `rm -f` may retry.
                self.record.state.status = Status::Dead;
                fx.push(Effect::Persist);
                reply(fx, to, Err(e));
            }
        }
    }

    /// Gone for clients: forgotten (its name free), `destroy` published, waiters for
    /// its removal answered.
    fn forget(&mut self, fx: &mut Vec<Effect<R>>) {
        self.forgotten = true;
        fx.push(Effect::Forget);
        publish(fx, "destroy");
        fx.push(Effect::Notify(Change::Removed));
    }

    /// Records the exit (waiters answer at once), then releases what the run held;
    /// then `--rm` or the restart policy.
    fn exited(&mut self, exit: Exit, fx: &mut Vec<Effect<R>>) {
        if !matches!(self.status(), Status::Running | Status::Paused | Status::Removing) {
            // Not a run of this machine's (a late report after a failed removal).
            return;
        }
        fx.push(self.stop_health());
        health::mark_unmonitored(&mut self.record);
        let auto_remove = self.record.host_config.auto_remove;
        let after = lifecycle::on_exit(&mut self.record.state, auto_remove, self.restart_by_hand, exit);
        // The policy decides at once, as Docker's: waiters answered now must find the
        // container `restarting` (a removal without force right after is refused).
        if after == AfterExit::Exited && !self.shutting_down {
            lifecycle::restart_due(&mut self.record.state, auto_remove, self.record.restart);
        }
        fx.push(Effect::Persist);
        if exit.oom_killed {
            publish(fx, "oom");
        }
        fx.push(Effect::Publish { action: "die".into(), extra: vec![("exitCode", exit.exit_code.to_string())] });
        fx.push(Effect::Notify(Change::Exited));
        // The command that waited for this exit.
        match self.busy.take() {
            Some(Busy::Stopping { reply, then, .. }) => {
                self.disarm();
                self.stopped(then, reply, fx);
            }
            Some(Busy::Killing { reply: to, .. }) => {
                self.disarm();
                reply(fx, to, Ok(()));
            }
            other => self.busy = other,
        }
        match after {
            AfterExit::AlreadyRemoving => {
                self.disarm();
                fx.push(Effect::Release);
            }
            AfterExit::Remove => {
                // Gone for clients at once (the name is free, `run --rm` returns); what
                // the container held is freed right after.
                self.forget(fx);
                fx.push(Effect::Release);
                self.busy = Some(Busy::Removing { reply: None });
            }
            AfterExit::Exited => {
                self.ending = true;
                fx.push(Effect::EndRun);
            }
        }
    }

    /// The run is released: a restart's start, or the policy's restart after its back-off.
    fn run_ended(&mut self, fx: &mut Vec<Effect<R>>) {
        self.ending = false;
        if matches!(self.busy, Some(Busy::Restarting { .. })) {
            let to = self.busy_reply();
            return self.start_again(to, fx);
        }
        // The restart the policy decided at the exit waits out its back-off.
        if self.status() == Status::Restarting && !self.shutting_down {
            let ran = lifecycle::ran_for(&self.record.state);
            self.backoff = lifecycle::next_backoff(self.backoff, ran);
            fx.push(self.arm(self.backoff, TimerKind::RestartDue));
        }
    }

    fn health(&mut self, monitor: u64, result: HealthcheckResult, fx: &mut Vec<Effect<R>>) {
        // A result that lost the race with a stop, a pause or an exit is dropped.
        if monitor != self.monitor || self.status() != Status::Running {
            return;
        }
        let Some(probe) = health::Probe::of(&self.record.config) else { return };
        let begun = api::time::parse_rfc3339(&result.start).unwrap_or_else(Utc::now);
        let started = self.record.state.started_at.unwrap_or(begun);
        let in_start_period = (begun - started).to_std().unwrap_or_default() < probe.start_period;
        let h = self.record.state.health.get_or_insert_with(Health::default);
        let changed = health::apply(h, result, probe.retries, in_start_period);
        fx.push(Effect::Persist);
        if let Some(status) = changed {
            publish(fx, &format!("health_status: {status}"));
        }
    }

    /// Live restore: the record's word against what berthd found.
    fn restore(&mut self, found: Found, to: Option<R>, now: DateTime<Utc>, fx: &mut Vec<Effect<R>>) {
        let policy = self.record.restart;
        match (self.status(), found.running()) {
            // A removal that berthd did not see through.
            (Status::Removing, _) => {
                fx.push(Effect::Release);
                self.busy = Some(Busy::Removing { reply: to });
            }
            (Status::Running | Status::Paused, _) => {
                // Health monitoring resumes where it was (a paused container has none),
                // before the watcher: an exit it finds at once then stops the monitor.
                if self.status() == Status::Running {
                    fx.push(self.start_health());
                }
                fx.push(Effect::RestoreExecs);
                // Connected or not, the watcher finds the exit (shim, exit record, or the
                // init's disappearance).
                fx.push(Effect::Watch { pid: self.record.state.pid });
                reply(fx, to, Ok(()));
            }
            // The policy's restart had happened already: running, under its new pid.
            (Status::Restarting, Some(pid)) => {
                self.record.state.status = Status::Running;
                self.record.state.pid = pid;
                fx.push(Effect::Persist);
                fx.push(self.start_health());
                fx.push(Effect::Watch { pid });
                reply(fx, to, Ok(()));
            }
            // The restart was pending when berthd went away: the policy decides now.
            (Status::Restarting, None) => {
                self.record.state.status = Status::Exited;
                fx.push(Effect::Persist);
                if policy.restarts(&self.record.state) {
                    self.reset_restarts();
                    self.start(to, StartKind::User, fx);
                } else {
                    reply(fx, to, Ok(()));
                }
            }
            // A start handed to its shim just before berthd went away: the shim's word
            // is the truth (and an exit it holds is the watcher's to report).
            (Status::Created, _) if found.shim.is_some() => {
                let pid = found.shim.map_or(0, |s| s.pid);
                lifecycle::on_started(&mut self.record.state, pid, now);
                health::reset_for_start(&mut self.record);
                fx.push(Effect::Persist);
                fx.push(self.start_health());
                fx.push(Effect::Watch { pid });
                reply(fx, to, Ok(()));
            }
            (status, _) => {
                fx.push(Effect::Tidy { shim: found.lingering });
                if status == Status::Exited && self.record.host_config.auto_remove {
                    // Exited while berthd was away (or berthd died removing it).
                    self.remove(true, to, fx);
                } else if status == Status::Exited && policy.restarts_at_daemon_start(&self.record.state) {
                    self.reset_restarts();
                    self.start(to, StartKind::User, fx);
                } else {
                    reply(fx, to, Ok(()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::super::record::RestartPolicy;
    use api::containers::ContainerConfig;

    type Fx = Vec<Effect<u8>>;

    fn record(status: Status) -> Record {
        Record {
            schema: super::super::record::SCHEMA,
            id: "c0ffee".into(),
            name: "web".into(),
            created: Utc::now(),
            image_id: "sha256:00".into(),
            image_name: "busybox".into(),
            path: "sleep".into(),
            args: vec!["9".into()],
            config: ContainerConfig::default(),
            host_config: HostConfig::default(),
            restart: RestartPolicy::No,
            network: Default::default(),
            networks: vec![],
            binds: vec![],
            volumes: vec![],
            image_mounts: vec![],
            inherited_binds: vec![],
            log: Default::default(),
            state: super::super::record::State { status, pid: if status.is_live() { 42 } else { 0 }, ..Default::default() },
        }
    }

    fn machine(status: Status) -> Machine<u8> {
        Machine::new(record(status))
    }

    fn with(status: Status, f: impl FnOnce(&mut Record)) -> Machine<u8> {
        let mut r = record(status);
        f(&mut r);
        Machine::new(r)
    }

    fn cmd(m: &mut Machine<u8>, command: Command, tag: u8) -> Fx {
        m.step(Input::Command(command, Some(tag)), Utc::now())
    }

    fn step(m: &mut Machine<u8>, input: Input<u8>) -> Fx {
        m.step(input, Utc::now())
    }

    fn exit(code: i64) -> Input<u8> {
        Input::Exited(Exit { exit_code: code, oom_killed: false, finished_at: Utc::now() })
    }

    /// The answer to `tag` among the effects, as the class of the result.
    fn answer(fx: &Fx, tag: u8) -> Option<std::result::Result<(), ErrorKind>> {
        fx.iter().find_map(|e| match e {
            Effect::Reply(t, r) if *t == tag => Some(r.clone().map_err(|e| e.kind())),
            _ => None,
        })
    }

    fn events(fx: &Fx) -> Vec<&str> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Publish { action, .. } => Some(action.as_str()),
                _ => None,
            })
            .collect()
    }

    fn has(fx: &Fx, want: &Effect<u8>) -> bool {
        fx.iter().any(|e| e == want)
    }

    fn timer(fx: &Fx) -> Timer {
        fx.iter()
            .find_map(|e| match e {
                Effect::Arm { timer, .. } => Some(*timer),
                _ => None,
            })
            .expect("a timer is armed")
    }

    fn armed_for(fx: &Fx) -> Duration {
        fx.iter()
            .find_map(|e| match e {
                Effect::Arm { after, .. } => Some(*after),
                _ => None,
            })
            .expect("a timer is armed")
    }

    /// A running container, as a start leaves it.
    fn running() -> Machine<u8> {
        running_with(|_| {})
    }

    /// A container created with `f` applied to its record, then started (pid 1).
    fn running_with(f: impl FnOnce(&mut Record)) -> Machine<u8> {
        let mut m = with(Status::Created, f);
        cmd(&mut m, Command::Start, 0);
        step(&mut m, Input::Launched(Ok(1.into())));
        m
    }

    #[test]
    fn commands_refused_in_a_state_answer_with_dockers_class_and_change_nothing() {
        use ErrorKind::*;
        let cases: &[(Status, Command, ErrorKind)] = &[
            (Status::Running, Command::Start, NotModified),
            (Status::Paused, Command::Start, Conflict),
            (Status::Exited, Command::Stop { signal: None, timeout: None }, NotModified),
            (Status::Created, Command::Kill { signal: Signal::SIGKILL }, Conflict),
            (Status::Exited, Command::Pause, Conflict),
            (Status::Running, Command::Unpause, Conflict),
            (Status::Running, Command::Remove { force: false }, Conflict),
            (Status::Removing, Command::Remove { force: true }, Conflict),
            (Status::Dead, Command::Update { resources: Box::default(), restart_policy: None }, Internal),
            (Status::Running, Command::Stop { signal: Some("NOPE".into()), timeout: None }, Invalid),
        ];
        for (status, command, kind) in cases {
            let mut m = machine(*status);
            let before = m.record().clone();
            let fx = cmd(&mut m, command.clone(), 1);
            assert_eq!(answer(&fx, 1), Some(Err(*kind)), "{command:?} in {status:?}");
            assert_eq!(fx.len(), 1, "{command:?} in {status:?}: only the answer: {fx:?}");
            assert_eq!(m.record(), &before);
        }
    }

    #[test]
    fn a_start_launches_then_records_the_run_and_watches_it() {
        let mut m = with(Status::Exited, |r| {
            r.state.restart_count = 3;
            r.state.exit_code = 1;
        });
        let fx = cmd(&mut m, Command::Start, 1);
        assert_eq!(fx, vec![Effect::Notify(Change::Starting), Effect::Launch]);
        let fx = step(&mut m, Input::Launched(Ok(7.into())));
        assert!(has(&fx, &Effect::Persist) && has(&fx, &Effect::Watch { pid: 7 }) && has(&fx, &Effect::Notify(Change::Started)));
        assert_eq!(events(&fx), ["start"]);
        assert_eq!(answer(&fx, 1), Some(Ok(())));
        let s = &m.record().state;
        assert_eq!((s.status, s.pid, s.exit_code, s.restart_count), (Status::Running, 7, 0, 0));
    }

    #[test]
    fn a_failed_start_keeps_the_container_with_dockers_exit_code_and_rm_removes_it() {
        let failure = StartFailure { message: "exec: \"nope\": not found".into(), exit_code: 127, kind: ErrorKind::Invalid };
        let mut m = machine(Status::Created);
        cmd(&mut m, Command::Start, 1);
        let fx = step(&mut m, Input::Launched(Err(failure.clone())));
        assert_eq!(answer(&fx, 1), Some(Err(ErrorKind::Invalid)));
        assert!(has(&fx, &Effect::Notify(Change::FailedStart)));
        assert_eq!((m.record().state.status, m.record().state.exit_code), (Status::Created, 127));

        let mut m = with(Status::Created, |r| r.host_config.auto_remove = true);
        cmd(&mut m, Command::Start, 1);
        let fx = step(&mut m, Input::Launched(Err(failure)));
        assert!(has(&fx, &Effect::Release), "{fx:?}");
        assert_eq!(m.record().state.status, Status::Removing);
        let fx = step(&mut m, Input::Released(Ok(())));
        assert!(has(&fx, &Effect::Forget) && has(&fx, &Effect::Notify(Change::Removed)));
        assert!(m.gone());
    }

    #[test]
    fn a_stop_signals_waits_for_the_exit_and_answers_once_it_is_recorded() {
        let mut m = running();
        let fx = cmd(&mut m, Command::Stop { signal: None, timeout: Some(3) }, 1);
        assert!(has(&fx, &Effect::Signal { signal: Signal::SIGTERM, all: false }));
        assert_eq!(events(&fx), ["kill"]);
        assert!(m.record().state.manually_stopped);
        assert_eq!(answer(&fx, 1), None);
        let fx = step(&mut m, Input::Signalled(Ok(())));
        assert_eq!(armed_for(&fx), Duration::from_secs(3));
        // A start meanwhile waits its turn: after the stop and the run's release.
        assert!(cmd(&mut m, Command::Start, 2).is_empty());
        let fx = step(&mut m, exit(143));
        assert_eq!(events(&fx), ["die", "stop"]);
        assert_eq!(answer(&fx, 1), Some(Ok(())));
        assert_eq!(fx.last(), Some(&Effect::EndRun));
        assert!(!has(&fx, &Effect::Launch), "no start before the run is released");
        assert_eq!((m.record().state.status, m.record().state.exit_code), (Status::Exited, 143));
        let fx = step(&mut m, Input::RunEnded);
        assert!(has(&fx, &Effect::Launch), "the waiting start goes now: {fx:?}");
    }

    #[test]
    fn a_stop_that_times_out_kills_and_gives_up_after_the_deadline() {
        let mut m = running();
        cmd(&mut m, Command::Stop { signal: Some("HUP".into()), timeout: Some(1) }, 1);
        let grace = timer(&step(&mut m, Input::Signalled(Ok(()))));
        let fx = step(&mut m, Input::Timer(grace));
        assert_eq!(fx, vec![Effect::Signal { signal: Signal::SIGKILL, all: true }]);
        let deadline = timer(&step(&mut m, Input::Signalled(Ok(()))));
        // The grace timer, fired late, is stale now.
        assert!(step(&mut m, Input::Timer(grace)).is_empty());
        let fx = step(&mut m, Input::Timer(deadline));
        assert_eq!(answer(&fx, 1), Some(Err(ErrorKind::Internal)));
    }

    #[test]
    fn a_signal_that_fails_escalates_to_sigkill_at_once() {
        let mut m = running();
        cmd(&mut m, Command::Stop { signal: None, timeout: None }, 1);
        let fx = step(&mut m, Input::Signalled(Err(Error::internal("no such process"))));
        assert_eq!(fx, vec![Effect::Signal { signal: Signal::SIGKILL, all: true }]);
    }

    #[test]
    fn a_negative_timeout_waits_forever() {
        let mut m = running();
        cmd(&mut m, Command::Stop { signal: None, timeout: Some(-1) }, 1);
        assert!(step(&mut m, Input::Signalled(Ok(()))).is_empty());
    }

    #[test]
    fn kill_answers_at_once_but_waits_for_a_sigkilled_container() {
        let mut m = running();
        cmd(&mut m, Command::Kill { signal: Signal::SIGUSR1 }, 1);
        let fx = step(&mut m, Input::Signalled(Ok(())));
        assert_eq!(answer(&fx, 1), Some(Ok(())));

        let mut m = running();
        cmd(&mut m, Command::Kill { signal: Signal::SIGKILL }, 1);
        let fx = step(&mut m, Input::Signalled(Ok(())));
        assert_eq!(answer(&fx, 1), None);
        assert_eq!(armed_for(&fx), KILL_WAIT);
        let fx = step(&mut m, exit(137));
        assert_eq!(answer(&fx, 1), Some(Ok(())));
        assert_eq!(events(&fx), ["die"]);
    }

    #[test]
    fn the_restart_policy_restarts_with_a_doubling_back_off() {
        let mut m = running_with(|r| r.restart = RestartPolicy::Always);
        let mut waits = vec![];
        for pid in 2..5 {
            step(&mut m, exit(0));
            let fx = step(&mut m, Input::RunEnded);
            assert_eq!(m.record().state.status, Status::Restarting);
            waits.push(armed_for(&fx));
            let fx = step(&mut m, Input::Timer(timer(&fx)));
            assert_eq!(fx, vec![Effect::Notify(Change::Starting), Effect::Launch]);
            step(&mut m, Input::Launched(Ok(pid.into())));
        }
        assert_eq!(waits, [100, 200, 400].map(Duration::from_millis));
        assert_eq!(m.record().state.restart_count, 3);
    }

    #[test]
    fn a_container_the_policy_restarts_is_restarting_when_waiters_hear_of_its_exit() {
        let mut m = running_with(|r| r.restart = RestartPolicy::Always);
        let fx = step(&mut m, exit(0));
        assert!(has(&fx, &Effect::Notify(Change::Exited)));
        assert_eq!(m.record().state.status, Status::Restarting);
        // A removal without force right after the wait: Docker's 409.
        assert!(cmd(&mut m, Command::Remove { force: false }, 1).is_empty());
        let fx = step(&mut m, Input::RunEnded);
        assert_eq!(answer(&fx, 1), Some(Err(ErrorKind::Conflict)));
        assert!(fx.iter().any(|e| matches!(e, Effect::Arm { .. })));
    }

    #[test]
    fn on_failure_stops_after_its_retries_and_a_clean_exit() {
        let mut m = running_with(|r| {
            r.restart = RestartPolicy::OnFailure { max_retries: 1 };
        });
        step(&mut m, exit(1));
        let t = timer(&step(&mut m, Input::RunEnded));
        step(&mut m, Input::Timer(t));
        step(&mut m, Input::Launched(Ok(2.into())));
        step(&mut m, exit(1));
        let fx = step(&mut m, Input::RunEnded);
        assert!(fx.is_empty(), "no retry left: {fx:?}");
        assert_eq!(m.record().state.status, Status::Exited);
    }

    #[test]
    fn a_stop_during_the_back_off_cancels_the_restart() {
        let mut m = running_with(|r| r.restart = RestartPolicy::Always);
        step(&mut m, exit(0));
        let due = timer(&step(&mut m, Input::RunEnded));
        let fx = cmd(&mut m, Command::Stop { signal: None, timeout: None }, 1);
        assert_eq!(answer(&fx, 1), Some(Ok(())));
        assert!(has(&fx, &Effect::Notify(Change::Exited)));
        assert_eq!(events(&fx), ["stop"]);
        assert_eq!((m.record().state.status, m.record().state.manually_stopped), (Status::Exited, true));
        assert!(step(&mut m, Input::Timer(due)).is_empty(), "the cancelled restart does not happen");
    }

    #[test]
    fn an_rm_container_is_gone_for_clients_before_it_is_released() {
        let mut m = running_with(|r| r.host_config.auto_remove = true);
        let fx = step(&mut m, exit(0));
        let forget = fx.iter().position(|e| *e == Effect::Forget).expect("forgotten");
        let release = fx.iter().position(|e| *e == Effect::Release).expect("released");
        assert!(forget < release);
        assert_eq!(events(&fx), ["die", "destroy"]);
        assert_eq!(m.record().state.status, Status::Removing);
        // A command that arrives meanwhile finds it gone.
        assert!(cmd(&mut m, Command::Start, 9).is_empty());
        let fx = step(&mut m, Input::Released(Err(Error::internal("busy"))));
        assert!(m.gone());
        assert_eq!(answer(&fx, 9), Some(Err(ErrorKind::NotFound)));
    }

    #[test]
    fn a_users_restart_keeps_an_rm_container_and_publishes_restart() {
        let mut m = running_with(|r| r.host_config.auto_remove = true);
        cmd(&mut m, Command::Restart { signal: None, timeout: Some(5) }, 1);
        step(&mut m, Input::Signalled(Ok(())));
        let fx = step(&mut m, exit(143));
        assert!(!has(&fx, &Effect::Forget));
        assert_eq!(answer(&fx, 1), None);
        assert_eq!(m.record().state.status, Status::Exited);
        let fx = step(&mut m, Input::RunEnded);
        assert!(has(&fx, &Effect::Launch));
        let fx = step(&mut m, Input::Launched(Ok(2.into())));
        assert_eq!(events(&fx), ["start", "restart"]);
        assert_eq!(answer(&fx, 1), Some(Ok(())));
        // The new run's own exit removes it again.
        let fx = step(&mut m, exit(0));
        assert!(has(&fx, &Effect::Forget));
    }

    #[test]
    fn a_forced_removal_kills_waits_and_frees_everything() {
        let mut m = running();
        let fx = cmd(&mut m, Command::Remove { force: true }, 1);
        assert_eq!(m.record().state.status, Status::Removing);
        assert!(has(&fx, &Effect::Signal { signal: Signal::SIGKILL, all: true }));
        let waiting = cmd(&mut m, Command::Start, 2);
        assert!(waiting.is_empty());
        step(&mut m, Input::Signalled(Ok(())));
        let fx = step(&mut m, exit(137));
        assert_eq!(events(&fx), ["die"]);
        assert_eq!(fx.last(), Some(&Effect::Release));
        let fx = step(&mut m, Input::Released(Ok(())));
        assert_eq!(events(&fx), ["destroy"]);
        assert_eq!(answer(&fx, 1), Some(Ok(())));
        assert_eq!(answer(&fx, 2), Some(Err(ErrorKind::NotFound)));
        assert!(m.gone());
    }

    fn attachment(network: &str) -> Box<NetworkAttachment> {
        Box::new(NetworkAttachment::to(network, format!("{network}-id")))
    }

    fn endpoint(network: &str, slot: u8) -> Endpoint {
        Endpoint {
            network: network.into(),
            network_id: format!("{network}-id"),
            endpoint_id: "e".into(),
            slot,
            ip: std::net::Ipv4Addr::new(10, 0, slot, 2),
            prefix: 24,
            gateway: std::net::Ipv4Addr::new(10, 0, slot, 1),
            mac: String::new(),
            ipv6: None,
        }
    }

    #[test]
    fn a_stopped_container_is_connected_in_its_record_and_a_running_one_at_once() {
        let bridge = |r: &mut Record| {
            r.network = NetworkMode::Bridge;
            r.networks = vec![*attachment("bridge")];
        };
        // Created: recorded, answered once saved; a failed save takes it back.
        let mut m = with(Status::Created, bridge);
        assert_eq!(cmd(&mut m, Command::Connect { attachment: attachment("back") }, 1), vec![Effect::Save]);
        assert_eq!(answer(&step(&mut m, Input::Saved(Ok(()))), 1), Some(Ok(())));
        assert_eq!(m.record().networks.len(), 2);
        cmd(&mut m, Command::Connect { attachment: attachment("other") }, 2);
        assert_eq!(answer(&step(&mut m, Input::Saved(Err(Error::internal("disk full")))), 2), Some(Err(ErrorKind::Internal)));
        assert_eq!(m.record().networks.len(), 2);
        // Twice on one network: refused.
        let fx = cmd(&mut m, Command::Connect { attachment: attachment("back") }, 3);
        assert_eq!(answer(&fx, 3), Some(Err(ErrorKind::Forbidden)));
        // Running: joined in the next free slot, with no second default route.
        let mut m = with(Status::Running, |r| {
            bridge(r);
            r.state.endpoints = vec![endpoint("bridge", 0)];
        });
        let fx = cmd(&mut m, Command::Connect { attachment: attachment("back") }, 4);
        assert_eq!(fx, vec![Effect::Join { attachment: attachment("back"), slot: 1, default_route: false }]);
        let fx = step(&mut m, Input::Joined(Ok(endpoint("back", 1))));
        assert!(has(&fx, &Effect::Persist));
        assert_eq!(answer(&fx, 4), Some(Ok(())));
        assert_eq!((m.record().networks.len(), m.record().state.endpoints.len()), (2, 2));
        // A join that fails changes nothing.
        cmd(&mut m, Command::Connect { attachment: attachment("third") }, 5);
        let fx = step(&mut m, Input::Joined(Err(Error::unavailable("no address left"))));
        assert_eq!(answer(&fx, 5), Some(Err(ErrorKind::Unavailable)));
        assert_eq!(m.record().networks.len(), 2);
        // Disconnected: the endpoint leaves, then the record.
        let fx = cmd(&mut m, Command::Disconnect { network_id: "back-id".into(), network: "back".into() }, 6);
        assert_eq!(fx, vec![Effect::Leave(Box::new(endpoint("back", 1)))]);
        let fx = step(&mut m, Input::Left(Ok(false)));
        assert_eq!(answer(&fx, 6), Some(Ok(())));
        assert_eq!((m.record().networks.len(), m.record().state.endpoints.len()), (1, 1));
        let fx = cmd(&mut m, Command::Disconnect { network_id: "back-id".into(), network: "back".into() }, 7);
        assert_eq!(answer(&fx, 7), Some(Err(ErrorKind::Forbidden)));
    }

    #[test]
    fn a_link_is_dropped_from_the_record_and_put_back_if_it_cannot_be_saved() {
        let mut m = with(Status::Running, |r| r.host_config.links = vec!["/db:/web/data".into(), "/cache:/web/cache".into()]);
        assert_eq!(cmd(&mut m, Command::Unlink { alias: "data".into() }, 1), vec![Effect::Save]);
        assert_eq!(answer(&step(&mut m, Input::Saved(Ok(()))), 1), Some(Ok(())));
        assert_eq!(m.record().host_config.links, ["/cache:/web/cache"]);
        cmd(&mut m, Command::Unlink { alias: "cache".into() }, 2);
        step(&mut m, Input::Saved(Err(Error::internal("disk full"))));
        assert_eq!(m.record().host_config.links, ["/cache:/web/cache"]);
        let fx = cmd(&mut m, Command::Unlink { alias: "nope".into() }, 3);
        assert_eq!(answer(&fx, 3), Some(Err(ErrorKind::NotFound)));
    }

    #[test]
    fn containers_on_the_host_or_anothers_network_are_not_connected() {
        for mode in [NetworkMode::Host, NetworkMode::None, NetworkMode::Container("db".into())] {
            let mut m = with(Status::Running, |r| r.network = mode.clone());
            let fx = cmd(&mut m, Command::Connect { attachment: attachment("back") }, 1);
            assert_eq!(answer(&fx, 1), Some(Err(ErrorKind::Invalid)), "{mode:?}");
            assert!(m.record().networks.is_empty());
        }
    }

    #[test]
    fn a_removal_that_fails_leaves_the_container_dead() {
        let mut m = machine(Status::Exited);
        let fx = cmd(&mut m, Command::Remove { force: false }, 1);
        assert_eq!(fx.last(), Some(&Effect::Release));
        let fx = step(&mut m, Input::Released(Err(Error::internal("device busy"))));
        assert_eq!(answer(&fx, 1), Some(Err(ErrorKind::Internal)));
        assert_eq!(m.record().state.status, Status::Dead);
        assert!(!m.gone());
    }

    #[test]
    fn commands_wait_for_the_one_under_way_and_a_hold() {
        let mut m = machine(Status::Exited);
        assert_eq!(answer(&cmd(&mut m, Command::Hold { lease: 7 }, 1), 1), Some(Ok(())));
        assert!(cmd(&mut m, Command::Start, 2).is_empty());
        assert!(cmd(&mut m, Command::Remove { force: true }, 3).is_empty());
        // Another lease's end is not this hold's.
        assert!(step(&mut m, Input::Unhold { lease: 8 }).is_empty());
        let fx = step(&mut m, Input::Unhold { lease: 7 });
        assert_eq!(fx, vec![Effect::Notify(Change::Starting), Effect::Launch]);
        let fx = step(&mut m, Input::Launched(Ok(5.into())));
        // The removal follows the start, in order.
        assert_eq!(answer(&fx, 2), Some(Ok(())));
        assert!(has(&fx, &Effect::Signal { signal: Signal::SIGKILL, all: true }));
    }

    #[test]
    fn pause_and_unpause_stop_and_resume_health_monitoring() {
        let mut m = with(Status::Running, |r| {
            r.config.healthcheck = Some(api::containers::HealthConfig { test: vec!["CMD".into(), "true".into()], ..Default::default() });
            r.state.health = Some(Health { status: health::HEALTHY.into(), ..Default::default() });
        });
        cmd(&mut m, Command::Pause, 1);
        let fx = step(&mut m, Input::Frozen(Ok(())));
        assert!(has(&fx, &Effect::StopHealth));
        assert_eq!(events(&fx), ["pause"]);
        assert_eq!(m.record().state.status, Status::Paused);
        assert_eq!(m.record().state.health.as_ref().unwrap().status, health::UNHEALTHY);
        cmd(&mut m, Command::Unpause, 2);
        let fx = step(&mut m, Input::Frozen(Ok(())));
        assert!(fx.iter().any(|e| matches!(e, Effect::StartHealth { .. })));
        assert_eq!(m.record().state.status, Status::Running);

        let mut m = running();
        cmd(&mut m, Command::Pause, 1);
        let fx = step(&mut m, Input::Frozen(Err(Error::internal("freezer"))));
        assert_eq!(answer(&fx, 1), Some(Err(ErrorKind::Internal)));
        assert_eq!(m.record().state.status, Status::Running);
    }

    #[test]
    fn only_the_current_monitors_results_count() {
        let mut m = with(Status::Created, |r| {
            r.config.healthcheck = Some(api::containers::HealthConfig { test: vec!["CMD".into(), "true".into()], ..Default::default() });
        });
        cmd(&mut m, Command::Start, 0);
        let fx = step(&mut m, Input::Launched(Ok(1.into())));
        let monitor = fx
            .iter()
            .find_map(|e| match e {
                Effect::StartHealth { monitor } => Some(*monitor),
                _ => None,
            })
            .unwrap();
        let ok = || Box::new(HealthcheckResult { start: api::time::format_rfc3339_nano(Utc::now()), ..Default::default() });
        assert!(step(&mut m, Input::Health { monitor: monitor - 1, result: ok() }).is_empty());
        let fx = step(&mut m, Input::Health { monitor, result: ok() });
        assert_eq!(events(&fx), ["health_status: healthy"]);
        // After a stop began, a late result is dropped.
        cmd(&mut m, Command::Stop { signal: None, timeout: None }, 1);
        assert!(step(&mut m, Input::Health { monitor, result: ok() }).is_empty());
    }

    #[test]
    fn rename_reserves_the_new_name_and_frees_the_old() {
        let mut m = machine(Status::Exited);
        assert_eq!(answer(&cmd(&mut m, Command::Rename { name: "web".into() }, 1), 1), Some(Err(ErrorKind::Invalid)));
        let fx = cmd(&mut m, Command::Rename { name: "api".into() }, 2);
        assert_eq!(fx, vec![Effect::ReserveName("api".into())]);
        assert_eq!(step(&mut m, Input::NameReserved(Ok(()))), vec![Effect::Save]);
        let fx = step(&mut m, Input::Saved(Ok(())));
        assert!(has(&fx, &Effect::ReleaseName("web".into())));
        assert!(has(&fx, &Effect::Publish { action: "rename".into(), extra: vec![("oldName", "/web".into())] }));
        assert_eq!(m.record().name, "api");
        cmd(&mut m, Command::Rename { name: "db".into() }, 3);
        let fx = step(&mut m, Input::NameReserved(Err(Error::conflict("taken"))));
        assert_eq!(answer(&fx, 3), Some(Err(ErrorKind::Conflict)));
        assert_eq!(m.record().name, "api");
    }

    #[test]
    fn an_update_the_cgroup_refuses_puts_the_record_back() {
        let mut m = running();
        let resources = Box::new(Resources { cpu_shares: 512, ..Default::default() });
        let fx = cmd(&mut m, Command::Update { resources: resources.clone(), restart_policy: None }, 1);
        assert_eq!(fx, vec![Effect::Save]);
        assert_eq!(m.record().host_config.resources.cpu_shares, 512);
        let fx = step(&mut m, Input::Saved(Ok(())));
        assert!(fx.iter().any(|e| matches!(e, Effect::ApplyResources(_))), "{fx:?}");
        let fx = step(&mut m, Input::Applied(Err(Error::internal("EBUSY"))));
        assert_eq!(answer(&fx, 1), Some(Err(ErrorKind::Internal)));
        assert_eq!(m.record().host_config.resources.cpu_shares, 0);
        // A stopped container only has its record changed.
        let mut m = machine(Status::Exited);
        assert_eq!(cmd(&mut m, Command::Update { resources: resources.clone(), restart_policy: None }, 2), vec![Effect::Save]);
        let fx = step(&mut m, Input::Saved(Ok(())));
        assert_eq!(events(&fx), ["update"]);
        assert_eq!(answer(&fx, 2), Some(Ok(())));
    }

    #[test]
    fn a_record_that_cannot_be_written_fails_an_update_or_a_rename_and_changes_nothing() {
        let mut m = running();
        let resources = Box::new(Resources { cpu_shares: 512, ..Default::default() });
        cmd(&mut m, Command::Update { resources, restart_policy: None }, 1);
        let fx = step(&mut m, Input::Saved(Err(Error::internal("disk full"))));
        assert_eq!(answer(&fx, 1), Some(Err(ErrorKind::Internal)));
        assert!(!fx.iter().any(|e| matches!(e, Effect::ApplyResources(_))), "nothing applied: {fx:?}");
        assert_eq!(m.record().host_config.resources.cpu_shares, 0);

        cmd(&mut m, Command::Rename { name: "api".into() }, 2);
        step(&mut m, Input::NameReserved(Ok(())));
        let fx = step(&mut m, Input::Saved(Err(Error::internal("disk full"))));
        assert_eq!(answer(&fx, 2), Some(Err(ErrorKind::Internal)));
        assert!(has(&fx, &Effect::ReleaseName("api".into())));
        assert!(events(&fx).is_empty());
        assert_eq!(m.record().name, "web");
    }

    #[test]
    fn a_hold_given_up_before_its_turn_never_holds() {
        let mut m = running();
        cmd(&mut m, Command::Stop { signal: None, timeout: None }, 1);
        assert!(cmd(&mut m, Command::Hold { lease: 3 }, 2).is_empty());
        assert!(step(&mut m, Input::Unhold { lease: 3 }).is_empty());
        step(&mut m, Input::Signalled(Ok(())));
        step(&mut m, exit(0));
        step(&mut m, Input::RunEnded);
        // Nothing holds it: a start goes at once.
        assert!(has(&cmd(&mut m, Command::Start, 4), &Effect::Launch));
    }

    #[test]
    fn an_exit_during_an_export_keeps_the_hold() {
        let mut m = running_with(|r| r.restart = RestartPolicy::Always);
        cmd(&mut m, Command::Hold { lease: 1 }, 1);
        step(&mut m, exit(0));
        let due = timer(&step(&mut m, Input::RunEnded));
        // The policy's restart waits for the export.
        assert!(step(&mut m, Input::Timer(due)).is_empty());
        assert!(has(&step(&mut m, Input::Unhold { lease: 1 }), &Effect::Launch));
    }

    #[test]
    fn a_users_start_that_fails_during_the_back_off_leaves_it_exited() {
        let mut m = running_with(|r| r.restart = RestartPolicy::Always);
        step(&mut m, exit(1));
        step(&mut m, Input::RunEnded);
        assert_eq!(m.record().state.status, Status::Restarting);
        cmd(&mut m, Command::Start, 1);
        let failure = StartFailure { message: "no".into(), exit_code: 128, kind: ErrorKind::Internal };
        step(&mut m, Input::Launched(Err(failure)));
        assert_eq!(m.record().state.status, Status::Exited);
    }

    #[test]
    fn a_shutdown_stops_without_counting_as_a_stop_by_hand() {
        let mut m = running_with(|r| r.restart = RestartPolicy::UnlessStopped);
        cmd(&mut m, Command::Shutdown, 1);
        step(&mut m, Input::Signalled(Ok(())));
        let fx = step(&mut m, exit(0));
        assert_eq!(answer(&fx, 1), Some(Ok(())));
        assert!(!m.record().state.manually_stopped);
        assert!(step(&mut m, Input::RunEnded).is_empty(), "nothing restarts while berthd goes down");
    }

    #[test]
    fn settling_waits_for_the_runs_release() {
        let mut m = running();
        cmd(&mut m, Command::Shutdown, 1);
        step(&mut m, Input::Signalled(Ok(())));
        let fx = step(&mut m, exit(0));
        assert_eq!(answer(&fx, 1), Some(Ok(())));
        assert!(cmd(&mut m, Command::Settle, 2).is_empty(), "the run's release is under way");
        assert_eq!(answer(&step(&mut m, Input::RunEnded), 2), Some(Ok(())));
    }

    #[test]
    fn restore_acts_on_what_berthd_finds() {
        let found = |running: Option<i32>, lingering: bool| Found { shim: running.map(|pid| ShimSays { pid, exited: false }), lingering };
        // Running: watched again, its execs found, its probes resumed.
        let mut m = machine(Status::Running);
        let fx = step(&mut m, Input::Restore(found(Some(42), true), Some(1)));
        assert!(has(&fx, &Effect::RestoreExecs) && has(&fx, &Effect::Watch { pid: 42 }));
        assert_eq!(answer(&fx, 1), Some(Ok(())));
        // Created, but its shim runs it: adopted.
        let mut m = machine(Status::Created);
        let fx = step(&mut m, Input::Restore(found(Some(9), true), Some(1)));
        assert!(has(&fx, &Effect::Watch { pid: 9 }));
        assert_eq!((m.record().state.status, m.record().state.pid), (Status::Running, 9));
        // Created, and its shim ran it to its end while berthd was away: adopted too,
        // and the watcher reports the exit the shim holds.
        let mut m = machine(Status::Created);
        let fx = step(&mut m, Input::Restore(Found { shim: Some(ShimSays { pid: 9, exited: true }), lingering: true }, Some(1)));
        assert!(has(&fx, &Effect::Watch { pid: 9 }));
        let fx = step(&mut m, exit(3));
        assert_eq!(events(&fx), ["die"]);
        // Restarting, started again already: running under the new pid.
        let mut m = machine(Status::Restarting);
        step(&mut m, Input::Restore(found(Some(11), true), Some(1)));
        assert_eq!((m.record().state.status, m.record().state.pid), (Status::Running, 11));
        // Restarting, not started: the policy decides now.
        let mut m = with(Status::Restarting, |r| r.restart = RestartPolicy::Always);
        let fx = step(&mut m, Input::Restore(found(None, false), Some(1)));
        assert!(has(&fx, &Effect::Launch));
        // Removing: finished.
        let mut m = machine(Status::Removing);
        let fx = step(&mut m, Input::Restore(found(None, false), Some(1)));
        assert_eq!(fx.last(), Some(&Effect::Release));
        // Exited: a lingering shim goes; --rm is removed; `always` comes back even
        // after a stop by hand, `unless-stopped` does not.
        let mut m = machine(Status::Exited);
        let fx = step(&mut m, Input::Restore(found(None, true), Some(1)));
        assert_eq!(fx[0], Effect::Tidy { shim: true });
        assert_eq!(answer(&fx, 1), Some(Ok(())));
        let mut m = with(Status::Exited, |r| r.host_config.auto_remove = true);
        let fx = step(&mut m, Input::Restore(found(None, false), Some(1)));
        assert!(has(&fx, &Effect::Release));
        for (policy, starts) in [("always", true), ("unless-stopped", false)] {
            let mut m = with(Status::Exited, |r| {
                r.restart = RestartPolicy::of(&WirePolicy { name: policy.into(), maximum_retry_count: 0 });
                r.state.manually_stopped = true;
            });
            let fx = step(&mut m, Input::Restore(found(None, false), Some(1)));
            assert_eq!(has(&fx, &Effect::Launch), starts, "{policy}");
        }
    }

    #[test]
    fn a_late_exit_report_after_a_failed_removal_changes_nothing() {
        let mut m = running();
        cmd(&mut m, Command::Remove { force: true }, 1);
        let deadline = timer(&step(&mut m, Input::Signalled(Ok(()))));
        // It did not go: what it holds is freed all the same, and that fails.
        assert_eq!(step(&mut m, Input::Timer(deadline)), vec![Effect::Release]);
        step(&mut m, Input::Released(Err(Error::internal("busy"))));
        assert_eq!(m.record().state.status, Status::Dead);
        assert!(step(&mut m, exit(137)).is_empty());
    }
}
