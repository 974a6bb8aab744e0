//! Docker's lifecycle rules for one container, as pure functions of its state: which
//! command is allowed in which state (and Docker's status and words when it is not),
//! what an exit leads to (`--rm`, the restart policy with its back-off), and what a
//! start, a stop or an exit changes in the record. Nothing here blocks, locks or
//! touches the system: the container's state machine ([`super::machine`]) is made of
//! these rules, and the tables below test every pair.

use std::time::Duration;

use chrono::{DateTime, Utc};
use nix::sys::signal::Signal;

use super::record::RestartPolicy;
use super::record::{Record, State, Status};
use crate::error::{Error, Result};

/// `KILL`, `SIGKILL`, `sigkill`, `9` → the signal (the runtime's table); Docker's
/// message otherwise.
pub fn parse_signal(s: &str) -> Result<Signal> {
    runtime::signal::parse(s).map_err(|_| Error::invalid(format!("Invalid signal: {s}")))
}

/// The signal `stop` sends first: the container's StopSignal or SIGTERM.
pub fn stop_signal(r: &Record) -> Signal {
    parse_signal(&r.config.stop_signal).unwrap_or(Signal::SIGTERM)
}

/// A user's (or the daemon's) request to a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Start,
    Stop,
    Kill,
    Pause,
    Unpause,
    Remove { force: bool },
    Exec,
    Update,
}

impl Command {
    pub const ALL: [Command; 9] = [
        Command::Start,
        Command::Stop,
        Command::Kill,
        Command::Pause,
        Command::Unpause,
        Command::Remove { force: false },
        Command::Remove { force: true },
        Command::Exec,
        Command::Update,
    ];
}

/// How a command may go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Go ahead on a container with no process.
    Idle,
    /// Go ahead on a live container (running or paused): signal it, freeze it …
    Live,
    /// A stop of a container waiting out its restart back-off: the restart is cancelled
    /// and the container is recorded exited, with no process to signal.
    CancelRestart,
}

/// The container as the rules see it.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub status: Status,
}

impl<'a> Subject<'a> {
    pub fn of(record: &'a super::record::Record) -> Subject<'a> {
        Subject { id: &record.id, name: &record.name, status: record.state.status }
    }
}

/// Whether `command` is allowed on `subject` now: Docker's 304 for a start of a
/// running or a stop of a stopped container, its 409s with its messages otherwise.
pub fn admit(command: Command, subject: Subject<'_>) -> Result<Admission> {
    use Status::*;
    let Subject { id, name, status } = subject;
    let live = if status.is_live() { Admission::Live } else { Admission::Idle };
    match (command, status) {
        (Command::Start, Running) => Err(Error::not_modified()),
        (Command::Start, Paused) => Err(Error::conflict("cannot start a paused container, try unpause instead")),
        (Command::Start, Removing | Dead) => Err(Error::conflict(format!(
            "container {id} is marked for removal and cannot be started"
        ))),
        (Command::Start, Created | Exited | Restarting) => Ok(Admission::Idle),

        (Command::Stop, Restarting) => Ok(Admission::CancelRestart),
        (Command::Stop, Running | Paused) => Ok(Admission::Live),
        (Command::Stop, _) => Err(Error::not_modified()),

        (Command::Kill, Running | Paused) => Ok(Admission::Live),
        (Command::Kill, _) => Err(Error::conflict(format!(
            "Cannot kill container: {name}: container {id} is not running"
        ))),

        (Command::Pause, Running) => Ok(Admission::Live),
        (Command::Pause, Paused) => Err(Error::conflict(format!("Container {id} is already paused"))),
        (Command::Pause, _) => Err(Error::conflict(format!("Container {id} is not running"))),

        (Command::Unpause, Paused) => Ok(Admission::Live),
        (Command::Unpause, _) => Err(Error::conflict(format!("Container {id} is not paused"))),

        (Command::Remove { .. }, Removing) => Err(Error::conflict(format!(
            "removal of container {id} is already in progress"
        ))),
        (Command::Remove { force: false }, Running) => Err(Error::conflict(format!(
            "cannot remove container \"/{name}\": container is running: stop the container before removing or force remove"
        ))),
        (Command::Remove { force: false }, Paused) => Err(Error::conflict(format!(
            "cannot remove container \"/{name}\": container is paused and must be unpaused first"
        ))),
        (Command::Remove { force: false }, Restarting) => Err(Error::conflict(format!(
            "cannot remove container \"/{name}\": container is restarting: stop the container before removing or force remove"
        ))),
        (Command::Remove { .. }, _) => Ok(live),

        (Command::Exec, Running) => Ok(Admission::Live),
        (Command::Exec, Paused) => Err(Error::conflict(format!(
            "Container {id} is paused, unpause the container before exec"
        ))),
        (Command::Exec, _) => Err(Error::conflict(format!("Container {id} is not running"))),

        // dockerd answers this one with a 500.
        (Command::Update, Removing | Dead) => Err(Error::internal(format!(
            "Cannot update container {id}: container is marked for removal and cannot be \"update\""
        ))),
        (Command::Update, _) => Ok(live),
    }
}

/// Docker's checks of a restart policy, at create and update.
pub fn check_restart_policy(hc: &api::hostconfig::HostConfig) -> Result<()> {
    let p = &hc.restart_policy;
    match p.name.as_str() {
        "" | "no" | "always" | "unless-stopped" if p.maximum_retry_count != 0 => {
            Err(Error::invalid(
                "invalid restart policy: maximum retry count can only be used with 'on-failure'",
            ))
        }
        "" | "no" | "always" | "unless-stopped" => Ok(()),
        "on-failure" if p.maximum_retry_count < 0 => Err(Error::invalid(
            "invalid restart policy: maximum retry count must be a positive integer",
        )),
        "on-failure" => Ok(()),
        other => Err(Error::invalid(format!(
            "invalid restart policy: unknown policy '{other}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
        ))),
    }?;
    if hc.auto_remove && !matches!(p.name.as_str(), "" | "no") {
        return Err(Error::invalid(
            "can't create 'AutoRemove' container with restart policy",
        ));
    }
    Ok(())
}

/// Docker's restart back-off: 100 ms, doubled after each quick exit, at most a minute,
/// back to the start once a run lasted 10 s.
pub const BACKOFF_START: Duration = Duration::from_millis(100);
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);
pub const BACKOFF_RESET_AFTER: Duration = Duration::from_secs(10);

/// The wait before the next restart, given the last one and how long the run lasted.
pub fn next_backoff(previous: Duration, ran: Duration) -> Duration {
    if ran >= BACKOFF_RESET_AFTER || previous.is_zero() {
        BACKOFF_START
    } else {
        (previous * 2).min(BACKOFF_MAX)
    }
}

/// How long the last run lasted, by the record.
pub fn ran_for(state: &State) -> Duration {
    match (state.started_at, state.finished_at) {
        (Some(s), Some(f)) => (f - s).to_std().unwrap_or_default(),
        _ => Duration::ZERO,
    }
}

/// An exit as the shim reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    pub exit_code: i64,
    pub oom_killed: bool,
    pub finished_at: DateTime<Utc>,
}

/// What follows an exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterExit {
    /// An `--rm` container: recorded `removing`, gone for clients at once.
    Remove,
    /// Recorded exited; the restart policy decides next ([`restart_due`]).
    Exited,
    /// A removal was under way already: it finishes the job.
    AlreadyRemoving,
}

/// Records an exit in `state`. `restart_by_hand`: a user's `restart` stopped it, so an
/// `--rm` container stays (its new run follows).
pub fn on_exit(state: &mut State, auto_remove: bool, restart_by_hand: bool, exit: Exit) -> AfterExit {
    let after = if state.status == Status::Removing {
        AfterExit::AlreadyRemoving
    } else if auto_remove && !restart_by_hand {
        state.status = Status::Removing;
        AfterExit::Remove
    } else {
        state.status = Status::Exited;
        AfterExit::Exited
    };
    state.pid = 0;
    state.endpoints.clear();
    state.ports.clear();
    state.exit_code = exit.exit_code;
    state.oom_killed = exit.oom_killed;
    state.finished_at = Some(exit.finished_at);
    after
}

/// Once an exit is handled: whether the policy brings the container back, and records
/// it `restarting` if so. Decided on the state as it is now: a stop or a removal that
/// came in between wins.
pub fn restart_due(state: &mut State, auto_remove: bool, policy: RestartPolicy) -> bool {
    if state.status != Status::Exited || auto_remove || !policy.restarts(state) {
        return false;
    }
    state.status = Status::Restarting;
    true
}

/// A start that worked: the record of a running container.
pub fn on_started(state: &mut State, pid: i32, at: DateTime<Utc>) {
    state.status = Status::Running;
    state.pid = pid;
    state.exit_code = 0;
    state.error.clear();
    state.oom_killed = false;
    state.started_at = Some(at);
    state.manually_stopped = false;
}

/// A start that failed: why, and the exit code Docker records for it (126, 127, 128).
pub fn on_start_failed(state: &mut State, message: &str, exit_code: i64) {
    state.error = message.to_string();
    state.exit_code = exit_code;
}

/// A user's stop or kill: the restart policy leaves the container down (Docker counts
/// any kill as a stop by hand).
pub fn on_stopped_by_hand(state: &mut State) {
    state.manually_stopped = true;
}

/// A stop during the restart back-off: the pending restart is off.
pub fn on_restart_cancelled(state: &mut State) {
    state.status = Status::Exited;
    state.manually_stopped = true;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    const STATUSES: [Status; 7] = [
        Status::Created,
        Status::Running,
        Status::Paused,
        Status::Restarting,
        Status::Removing,
        Status::Exited,
        Status::Dead,
    ];

    fn admit_in(command: Command, status: Status) -> std::result::Result<Admission, (ErrorKind, String)> {
        admit(command, Subject { id: "c0ffee", name: "web", status }).map_err(|e| (e.kind(), e.message))
    }

    /// Every command in every state, as dockerd answers: Ok(admission) or the class of
    /// the refusal (the status code the routes send).
    #[test]
    fn every_command_in_every_state() {
        use Admission::*;
        use ErrorKind::*;
        let ok = |a: Admission| Ok::<_, ErrorKind>(a);
        let table: &[(Command, [std::result::Result<Admission, ErrorKind>; 7])] = &[
            //                          created       running       paused        restarting            removing        exited        dead
            (Command::Start, [ok(Idle), Err(NotModified), Err(Conflict), ok(Idle), Err(Conflict), ok(Idle), Err(Conflict)]),
            (Command::Stop, [Err(NotModified), ok(Live), ok(Live), ok(CancelRestart), Err(NotModified), Err(NotModified), Err(NotModified)]),
            (Command::Kill, [Err(Conflict), ok(Live), ok(Live), Err(Conflict), Err(Conflict), Err(Conflict), Err(Conflict)]),
            (Command::Pause, [Err(Conflict), ok(Live), Err(Conflict), Err(Conflict), Err(Conflict), Err(Conflict), Err(Conflict)]),
            (Command::Unpause, [Err(Conflict), Err(Conflict), ok(Live), Err(Conflict), Err(Conflict), Err(Conflict), Err(Conflict)]),
            (Command::Remove { force: false }, [ok(Idle), Err(Conflict), Err(Conflict), Err(Conflict), Err(Conflict), ok(Idle), ok(Idle)]),
            (Command::Remove { force: true }, [ok(Idle), ok(Live), ok(Live), ok(Idle), Err(Conflict), ok(Idle), ok(Idle)]),
            (Command::Exec, [Err(Conflict), ok(Live), Err(Conflict), Err(Conflict), Err(Conflict), Err(Conflict), Err(Conflict)]),
            (Command::Update, [ok(Idle), ok(Live), ok(Live), ok(Idle), Err(Internal), ok(Idle), Err(Internal)]),
        ];
        assert_eq!(table.len(), Command::ALL.len());
        for (command, row) in table {
            for (status, want) in STATUSES.iter().zip(row) {
                let got = admit_in(*command, *status).map_err(|(k, _)| k);
                assert_eq!(&got, want, "{command:?} in {status:?}");
            }
        }
    }

    #[test]
    fn refusals_carry_dockers_words() {
        let msg = |c, s| admit_in(c, s).unwrap_err().1;
        assert_eq!(msg(Command::Start, Status::Paused), "cannot start a paused container, try unpause instead");
        assert_eq!(msg(Command::Start, Status::Dead), "container c0ffee is marked for removal and cannot be started");
        assert_eq!(msg(Command::Kill, Status::Exited), "Cannot kill container: web: container c0ffee is not running");
        assert_eq!(msg(Command::Pause, Status::Paused), "Container c0ffee is already paused");
        assert_eq!(msg(Command::Pause, Status::Created), "Container c0ffee is not running");
        assert_eq!(msg(Command::Unpause, Status::Running), "Container c0ffee is not paused");
        assert_eq!(
            msg(Command::Remove { force: false }, Status::Running),
            "cannot remove container \"/web\": container is running: stop the container before removing or force remove"
        );
        assert_eq!(
            msg(Command::Remove { force: false }, Status::Paused),
            "cannot remove container \"/web\": container is paused and must be unpaused first"
        );
        assert_eq!(
            msg(Command::Remove { force: false }, Status::Restarting),
            "cannot remove container \"/web\": container is restarting: stop the container before removing or force remove"
        );
        assert_eq!(msg(Command::Remove { force: true }, Status::Removing), "removal of container c0ffee is already in progress");
        assert_eq!(msg(Command::Exec, Status::Paused), "Container c0ffee is paused, unpause the container before exec");
        assert_eq!(msg(Command::Exec, Status::Exited), "Container c0ffee is not running");
        assert!(msg(Command::Stop, Status::Exited).is_empty(), "a 304 has no body");
    }

    fn state(exit_code: i64, manually_stopped: bool, restart_count: i64) -> State {
        State { status: Status::Exited, exit_code, manually_stopped, restart_count, ..State::default() }
    }

    fn policy(name: &str, max: i64) -> RestartPolicy {
        RestartPolicy::of(&api::containers::RestartPolicy { name: name.into(), maximum_retry_count: max })
    }

    #[test]
    fn restart_policies_decide_as_docker() {
        assert!(!policy("no", 0).restarts(&state(1, false, 0)));
        assert!(!policy("", 0).restarts(&state(1, false, 0)));
        assert!(policy("always", 0).restarts(&state(0, false, 5)));
        assert!(!policy("always", 0).restarts(&state(0, true, 0)));
        assert!(!policy("unless-stopped", 0).restarts(&state(1, true, 0)));
        assert!(policy("unless-stopped", 0).restarts(&state(0, false, 0)));
        assert!(policy("on-failure", 0).restarts(&state(1, false, 9)));
        assert!(!policy("on-failure", 0).restarts(&state(0, false, 0)));
        assert!(policy("on-failure", 2).restarts(&state(1, false, 1)));
        assert!(!policy("on-failure", 2).restarts(&state(1, false, 2)));
        // At daemon start `always` returns even after a manual stop; the others do not.
        assert!(policy("always", 0).restarts_at_daemon_start(&state(0, true, 0)));
        assert!(!policy("unless-stopped", 0).restarts_at_daemon_start(&state(0, true, 0)));
    }

    #[test]
    fn the_back_off_doubles_to_a_minute_and_resets_after_a_long_run() {
        let quick = Duration::from_secs(1);
        let mut b = Duration::ZERO;
        let mut seen = vec![];
        for _ in 0..12 {
            b = next_backoff(b, quick);
            seen.push(b);
        }
        assert_eq!(seen[0], Duration::from_millis(100));
        assert_eq!(seen[1], Duration::from_millis(200));
        assert_eq!(seen[2], Duration::from_millis(400));
        assert_eq!(*seen.last().unwrap(), BACKOFF_MAX);
        assert_eq!(next_backoff(BACKOFF_MAX, Duration::from_secs(10)), BACKOFF_START);
    }

    fn exit(code: i64) -> Exit {
        Exit { exit_code: code, oom_killed: code == 137, finished_at: Utc::now() }
    }

    #[test]
    fn an_exit_is_recorded_and_sends_rm_containers_to_their_removal() {
        let running = State { status: Status::Running, pid: 42, started_at: Some(Utc::now()), ..State::default() };

        let mut s = running.clone();
        assert_eq!(on_exit(&mut s, false, false, exit(3)), AfterExit::Exited);
        assert_eq!((s.status, s.pid, s.exit_code, s.oom_killed), (Status::Exited, 0, 3, false));
        assert!(s.finished_at.is_some());

        let mut s = running.clone();
        assert_eq!(on_exit(&mut s, true, false, exit(137)), AfterExit::Remove);
        assert_eq!((s.status, s.exit_code, s.oom_killed), (Status::Removing, 137, true));

        // A user's restart of an --rm container keeps it.
        let mut s = running.clone();
        assert_eq!(on_exit(&mut s, true, true, exit(0)), AfterExit::Exited);
        assert_eq!(s.status, Status::Exited);

        // rm -f got there first: it finishes the removal.
        let mut s = State { status: Status::Removing, ..running };
        assert_eq!(on_exit(&mut s, false, false, exit(137)), AfterExit::AlreadyRemoving);
        assert_eq!(s.status, Status::Removing);
    }

    #[test]
    fn a_restart_is_due_only_for_an_exited_container_whose_policy_says_so() {
        let always = policy("always", 0);
        let mut s = state(0, false, 0);
        assert!(restart_due(&mut s, false, always));
        assert_eq!(s.status, Status::Restarting);
        // --rm containers never restart; a removal or stop in between wins.
        assert!(!restart_due(&mut state(0, false, 0), true, always));
        let mut removing = State { status: Status::Removing, ..state(0, false, 0) };
        assert!(!restart_due(&mut removing, false, always));
        assert_eq!(removing.status, Status::Removing);
        let mut stopped = state(0, true, 0);
        assert!(!restart_due(&mut stopped, false, always));
        assert_eq!(stopped.status, Status::Exited);
    }

    #[test]
    fn a_start_clears_the_last_runs_outcome() {
        let mut s = State { error: "boom".into(), exit_code: 127, oom_killed: true, manually_stopped: true, ..State::default() };
        let at = Utc::now();
        on_started(&mut s, 7, at);
        assert_eq!((s.status, s.pid, s.exit_code, s.oom_killed, s.manually_stopped), (Status::Running, 7, 0, false, false));
        assert!(s.error.is_empty());
        assert_eq!(s.started_at, Some(at));

        let mut s = State::default();
        on_start_failed(&mut s, "no such file", 127);
        assert_eq!((s.status, s.exit_code, s.error.as_str()), (Status::Created, 127, "no such file"));

        let mut s = State { status: Status::Restarting, ..State::default() };
        on_restart_cancelled(&mut s);
        assert_eq!((s.status, s.manually_stopped), (Status::Exited, true));
    }

    #[test]
    fn signals_parse_in_every_docker_spelling() {
        for s in ["KILL", "SIGKILL", "sigkill", "9"] {
            assert_eq!(parse_signal(s).unwrap(), Signal::SIGKILL, "{s}");
        }
        assert_eq!(parse_signal("hup").unwrap(), Signal::SIGHUP);
        assert_eq!(
            parse_signal("NOPE").unwrap_err().message,
            "Invalid signal: NOPE"
        );
        assert!(parse_signal("99").is_err());
    }

}
