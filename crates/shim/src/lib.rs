//! berth-shim's public side: what the daemon (berthd) needs to talk to a container's
//! shim, and the formats the shim writes. The shim itself is the `berth-shim` binary.
//!
//! # What a shim is
//!
//! One small process per container. `berth-shim start` daemonizes (double fork +
//! setsid), becomes the container's parent and a child subreaper, creates and starts
//! the container through the runtime library, and from then on owns the container's
//! stdio: it copies output into the json-file log, serves attach clients, answers
//! control requests and records the exit status. It survives the daemon being killed
//! or restarted; the daemon finds it again through the files in its state directory.
//!
//! # The state directory (`--state-dir S`)
//!
//! | file | written | content |
//! |---|---|---|
//! | [`PID_FILE`] `shim.pid` | atomically, before the container exists | the shim's pid |
//! | [`ATTACH_SOCKET`] `attach.sock` | at start (mode 0600) | see *Attach* |
//! | [`CONTROL_SOCKET`] `control.sock` | at start (mode 0600) | see *Control* |
//! | [`EXIT_FILE`] `exit.json` | atomically, once the container exited and its output was drained | an [`ExitStatus`] |
//! | [`SHIM_LOG`] `shim.log` | appended | the shim's own errors and notes (never the container's output) |
//!
//! On `shutdown` (or the linger timeout) the shim removes `shim.pid` and both sockets;
//! `exit.json` and `shim.log` stay for the daemon, which owns the directory.
//!
//! # Start
//!
//! `berth-shim start --id ID --bundle DIR --runtime-root R --state-dir S --log-path L
//! [--tty] [--stdin [--stdin-once]] [--log-max-size BYTES [--log-max-file N]]
//! [--console-width W --console-height H] [--wait-attach]`
//!
//! The foreground process exits 0 and prints the container's init pid once the
//! container runs, or exits 1 with the runtime's error on stderr (and the shim leaves
//! no container, cgroup or process behind). With `--wait-attach` the shim creates the
//! container, then waits (up to [`WAIT_ATTACH_TIMEOUT_SECS`]) for the first attach
//! client to send its request before starting it, so an attached `run` sees all output.
//!
//! # Attach (`attach.sock`)
//!
//! The client connects and sends one JSON line, an [`AttachRequest`]:
//! `{"stdin": true, "stdout": true, "stderr": true, "logs": false}\n`. There is no
//! reply; the shim then streams the container's output produced from then on:
//!
//! * without a tty, as Docker's multiplexed frames ([`frame`]): an 8-byte header
//!   `[stream (1 stdout, 2 stderr), 0, 0, 0, length as u32 big-endian]`, then the bytes;
//! * with a tty, the raw bytes of the terminal (one stream).
//!
//! If the client asked for stdin (and the container was started with `--stdin`), every
//! byte it sends after the request line goes to the container's stdin. When such a
//! client half-closes (shuts down its write side) or goes away, the container's stdin
//! is closed if the shim was started with `--stdin-once` (Docker's StdinOnce; with a tty
//! an EOF character, ^D, is sent instead); otherwise stdin stays open for later clients.
//! Any number of clients may attach. A client that does not keep up (more than
//! [`ATTACH_BUFFER_LIMIT`] bytes pending) or fails a write is dropped; the container
//! and the log never wait for a client. When the container has exited and its output
//! is drained, the shim closes every attach connection (end of stream).
//! `"logs": true` (replaying the log) is not served: the daemon reads the json-file log
//! itself ([`jsonlog::Record`]); such a request is answered by closing the connection.
//!
//! # Control (`control.sock`)
//!
//! JSON lines in, one JSON line out per request, in order ([`ControlRequest`]):
//!
//! * `{"op":"resize","width":W,"height":H}` → `{"ok":true}` (TIOCSWINSZ on the pty);
//! * `{"op":"state"}` → a [`StateReply`] `{"pid":…, "status":"running", "exit_code":null,
//!   "protocol":2}` (the shim's [`PROTOCOL`]: what it understands);
//! * `{"op":"wait"}` → an [`ExitStatus`] once the container has exited (at once if it
//!   already has); later requests on that connection wait behind it;
//! * `{"op":"shutdown"}` → `{"ok":true}`, then the shim cleans up and exits; refused
//!   while the container runs;
//! * `{"op":"delete"}` → `{"ok":true}` once the container has exited: its runtime
//!   state and cgroup are removed (the daemon asks before `shutdown`);
//! * `{"op":"kill","signal":N,"all":B}`, `{"op":"pause"}`, `{"op":"resume"}`,
//!   `{"op":"update","resources":{…}}` → `{"ok":true}`; `{"op":"pids"}` → a
//!   [`PidsReply`]; `{"op":"stats"}` → a [`StatsReply`], the usage of the container's
//!   cgroup (found through the runtime's state, or for a runtime binary through the
//!   init's `/proc/PID/cgroup`): the shim drives the container's runtime (berth's
//!   library, or a runc-compatible binary) for the daemon, which never does it behind
//!   the shim;
//! * `{"op":"exec","id":ID,"process":FILE,"tty":T,"stdin":S}` → an [`ExecReply`]
//!   `{"pid":N}` with the client's ends of the exec's stdio attached (SCM_RIGHTS: the
//!   terminal's master with a tty; else stdout, stderr, then stdin if asked), or
//!   `{"error":"…","code":"not-found"}`. The process (an OCI process in FILE) is the
//!   shim's child, so it outlives the daemon. The connection that asked owns it: once
//!   that closes, the shim reads and drops the exec's output itself, so the process
//!   never blocks on, or dies of, a reader that went away;
//! * `{"op":"exec_wait","id":ID}` → an [`ExitStatus`] once the exec has exited (also
//!   recorded in `exec-<id12>.exit.json`); `{"op":"exec_state","id":ID}` → an
//!   [`ExecState`]; `{"op":"exec_kill","id":ID,"signal":N}` → `{"ok":true}` while the
//!   exec runs (the shim has not reaped it, so the pid is still its own).
//!
//! A request that fails gets `{"error":"…"}` ([`ErrorReply`]).
//!
//! # Lifetime
//!
//! The shim never deletes the container (the daemon does, with `berth-runtime
//! delete`). After the container exits the shim stays until it is told `shutdown`, gets
//! SIGTERM, or [`DEFAULT_LINGER_SECS`] (10 minutes, `--linger`) pass, so a daemon that
//! restarts in between still gets the exit status over `wait` (and from `exit.json`
//! after that). While the container runs, SIGTERM/SIGINT/SIGHUP to the shim are ignored:
//! containers are stopped with the runtime's `kill`. If the shim is killed with -9 the
//! container keeps running (reparented to the next subreaper or init) but nothing
//! reads its output any more: logging and attach stop, and its next write to a closed
//! pipe fails (EPIPE/SIGPIPE), or, with a tty, its terminal hangs up.

pub mod client;
pub mod error;
pub mod frame;
pub mod jsonlog;
pub mod logfile;
pub mod protocol;

pub use error::{Error, Result};
pub use protocol::{
    ATTACH_BUFFER_LIMIT, ATTACH_SOCKET, AttachRequest, CONTROL_SOCKET, ControlRequest, DEFAULT_LINGER_SECS,
    EXIT_FILE, ErrorReply, ExecReply, ExecState, ExitStatus, FailureCode, OkReply, PID_FILE, PROTOCOL, PidsReply, SHIM_LOG, StartReport, StateReply, StatsReply, Status,
    WAIT_ATTACH_TIMEOUT_SECS,
};
