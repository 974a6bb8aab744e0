//! The messages of the shim's sockets and files (see the crate documentation for the
//! conversation): attach requests, control requests and their replies, the exit record,
//! and the names of the files in the state directory.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The shim's pid, written atomically before the container is created.
pub const PID_FILE: &str = "shim.pid";
/// Attach connections (unix stream socket, mode 0600).
pub const ATTACH_SOCKET: &str = "attach.sock";
/// Control connections (unix stream socket, mode 0600).
pub const CONTROL_SOCKET: &str = "control.sock";
/// The exit record ([`ExitStatus`]), written atomically after the container exited.
pub const EXIT_FILE: &str = "exit.json";
/// The shim's own diagnostics.
pub const SHIM_LOG: &str = "shim.log";
/// Output queued for one attach client beyond which the client is dropped.
pub const ATTACH_BUFFER_LIMIT: usize = 1024 * 1024;
/// How long a shim stays after the container exited without being told `shutdown`.
pub const DEFAULT_LINGER_SECS: u64 = 600;
/// How long `--wait-attach` waits for the first attach client before starting anyway.
pub const WAIT_ATTACH_TIMEOUT_SECS: u64 = 60;
/// The version of the control protocol this shim speaks, in its [`StateReply`]: 1 is
/// a shim from before versions were told (no `protocol` field), 2 adds `stats`.
pub const PROTOCOL: u32 = 2;
/// Longest request line the shim accepts on either socket.
pub const MAX_REQUEST_LINE: usize = 64 * 1024;

/// The first (and only) line an attach client sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachRequest {
    #[serde(default)]
    pub stdin: bool,
    #[serde(default)]
    pub stdout: bool,
    #[serde(default)]
    pub stderr: bool,
    /// Replaying the log is the daemon's job: must be false.
    #[serde(default)]
    pub logs: bool,
}

impl AttachRequest {
    /// The request as sent on the wire, newline included.
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).expect("plain struct serializes");
        s.push('\n');
        s
    }
}

/// A request on the control socket, tagged by `op`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum ControlRequest {
    /// Set the terminal's size (columns × rows); only for a container with a tty.
    Resize { width: u16, height: u16 },
    /// The container's pid and status.
    State,
    /// Reply when the container has exited.
    Wait,
    /// Clean up and exit; only once the container has exited.
    Shutdown,
    /// Remove the exited container's runtime state (and cgroup), before `shutdown`.
    Delete,
    /// Send `signal` to the init (`all`: to every process of the container); a paused
    /// container is thawed after it, so that the signal is delivered.
    Kill { signal: i32, all: bool },
    /// Freeze every process of the container.
    Pause,
    /// Thaw them.
    Resume,
    /// Write `resources` (a `linux.resources` object naming only what changes) to the
    /// running container's cgroup.
    Update { resources: Box<oci_spec::runtime::LinuxResources> },
    /// The host pids of the container's processes ([`PidsReply`]).
    Pids,
    /// The usage of the container's cgroup ([`StatsReply`]); protocol 2.
    Stats,
    /// Start a process in the container (an exec) as the shim's child. The reply, an
    /// [`ExecReply`], carries the client's ends of its stdio (SCM_RIGHTS): the
    /// terminal's master with `tty`; else stdout and stderr, then stdin with `stdin`.
    /// The connection that asked owns the exec: once it closes, the shim drains the
    /// exec's output itself, so the process runs on whatever becomes of its client.
    Exec { id: String, process: std::path::PathBuf, tty: bool, stdin: bool },
    /// Reply (an [`ExitStatus`]) when the exec has exited.
    #[serde(rename = "exec_wait")]
    ExecWait { id: String },
    /// The exec's pid and whether it has exited ([`ExecState`]).
    #[serde(rename = "exec_state")]
    ExecState { id: String },
    /// Send `signal` to the exec's process, unless it has exited (the shim has not
    /// reaped it yet, so its pid is still its own).
    #[serde(rename = "exec_kill")]
    ExecKill { id: String, signal: i32 },
}

impl ControlRequest {
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).expect("plain enum serializes");
        s.push('\n');
        s
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Created, waiting for the first attach client (`--wait-attach`).
    Created,
    Running,
    /// Exited, output drained, `exit.json` written.
    Exited,
}

/// Reply to `state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateReply {
    pub pid: i32,
    pub status: Status,
    /// Set once `status` is `exited`.
    pub exit_code: Option<i32>,
    /// The shim's [`PROTOCOL`]; 1 from a shim that does not tell.
    #[serde(default = "protocol_one")]
    pub protocol: u32,
}

fn protocol_one() -> u32 {
    1
}

/// Reply to `stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsReply {
    pub cgroup: cgroups::Stats,
}

/// How the container's init ended: the reply to `wait` and the content of `exit.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitStatus {
    /// The exit status, or 128 + the signal that killed it.
    pub exit_code: i32,
    /// The signal that killed it, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// The kernel's OOM killer killed a process of the container's cgroup.
    pub oom_killed: bool,
    /// When the shim reaped it: RFC 3339, UTC, nanoseconds (as Docker's FinishedAt).
    pub finished_at: String,
}

/// Reply to `exec`: the process runs (its stdio follows as file descriptors), or did
/// not start, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ExecReply {
    Started { pid: i32 },
    Failed { error: String, code: FailureCode },
}

/// Reply to `pids`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PidsReply {
    pub pids: Vec<i32>,
}

/// Reply to `exec_state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecState {
    pub pid: i32,
    /// Set once it has exited.
    pub exit: Option<ExitStatus>,
}

/// The exec's files in the state directory: its process (written by the daemon) and
/// its exit record (written by the shim), by the exec id's first 12 digits.
pub fn exec_file(id: &str, what: &str) -> String {
    format!("exec-{}.{what}", &id[..id.len().min(12)])
}

/// Why a start failed, as the daemon tells Docker's exit codes apart (127, 126, 128).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureCode {
    /// The container's program does not exist.
    NotFound,
    /// The container's program may not be run.
    PermissionDenied,
    /// Anything else.
    #[serde(other)]
    Other,
}

/// A spare shim's one-line report of the start it was sent: `{"pid": N}` or
/// `{"error": "…", "code": "not-found"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StartReport {
    Started { pid: i32 },
    Failed { error: String, code: FailureCode },
}

impl StartReport {
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).expect("plain enum serializes");
        s.push('\n');
        s
    }

    pub fn parse(line: &str) -> Result<StartReport> {
        serde_json::from_str(line.trim_end()).map_err(|e| Error::Protocol(format!("start report {line:?}: {e}")))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OkReply {
    pub ok: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    pub error: String,
}

/// Parses a reply line: `{"error": …}` becomes [`Error::Refused`], anything else `T`.
pub fn parse_reply<T: DeserializeOwned>(line: &str) -> Result<T> {
    let v: serde_json::Value =
        serde_json::from_str(line).map_err(|e| Error::Protocol(format!("reply {line:?}: {e}")))?;
    if let Some(msg) = v.get("error").and_then(|e| e.as_str()) {
        return Err(Error::Refused(msg.to_string()));
    }
    serde_json::from_value(v).map_err(|e| Error::Protocol(format!("reply {line:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_requests_on_the_wire() {
        let r = ControlRequest::Exec { id: "e1".into(), process: "/s/exec-e1.json".into(), tty: false, stdin: true };
        assert_eq!(r.to_line(), "{\"op\":\"exec\",\"id\":\"e1\",\"process\":\"/s/exec-e1.json\",\"tty\":false,\"stdin\":true}\n");
        assert_eq!(ControlRequest::ExecWait { id: "e1".into() }.to_line(), "{\"op\":\"exec_wait\",\"id\":\"e1\"}\n");
        let started: ExecReply = serde_json::from_str(r#"{"pid":9}"#).unwrap();
        assert_eq!(started, ExecReply::Started { pid: 9 });
        let failed: ExecReply = serde_json::from_str(r#"{"error":"no","code":"permission-denied"}"#).unwrap();
        assert_eq!(failed, ExecReply::Failed { error: "no".into(), code: FailureCode::PermissionDenied });
        assert_eq!(exec_file("0123456789abcdef", "exit.json"), "exec-0123456789ab.exit.json");
    }

    #[test]
    fn control_requests_on_the_wire() {
        assert_eq!(ControlRequest::State.to_line(), "{\"op\":\"state\"}\n");
        let r: ControlRequest = serde_json::from_str(r#"{"op":"resize","width":100,"height":30}"#).unwrap();
        assert_eq!(r, ControlRequest::Resize { width: 100, height: 30 });
        assert!(serde_json::from_str::<ControlRequest>(r#"{"op":"explode"}"#).is_err());
    }

    #[test]
    fn attach_request_defaults_to_false() {
        let r: AttachRequest = serde_json::from_str(r#"{"stdout":true}"#).unwrap();
        assert_eq!(r, AttachRequest { stdout: true, ..Default::default() });
    }

    #[test]
    fn exit_status_omits_a_missing_signal() {
        let e = ExitStatus { exit_code: 3, signal: None, oom_killed: false, finished_at: "t".into() };
        assert_eq!(serde_json::to_string(&e).unwrap(), r#"{"exit_code":3,"oom_killed":false,"finished_at":"t"}"#);
    }

    #[test]
    fn start_reports_on_the_wire() {
        let ok = StartReport::Started { pid: 42 };
        assert_eq!(ok.to_line(), "{\"pid\":42}\n");
        assert_eq!(StartReport::parse(&ok.to_line()).unwrap(), ok);
        let failed = StartReport::Failed { error: "exec: \"x\": not found".into(), code: FailureCode::NotFound };
        assert_eq!(failed.to_line(), "{\"error\":\"exec: \\\"x\\\": not found\",\"code\":\"not-found\"}\n");
        assert_eq!(StartReport::parse(&failed.to_line()).unwrap(), failed);
        // A code this side does not know yet is an "other" failure, not a broken report.
        assert_eq!(
            StartReport::parse(r#"{"error":"e","code":"quota"}"#).unwrap(),
            StartReport::Failed { error: "e".into(), code: FailureCode::Other }
        );
        assert!(StartReport::parse("{}").is_err());
    }

    #[test]
    fn replies() {
        let s: StateReply = parse_reply(r#"{"pid":7,"status":"running","exit_code":null,"protocol":2}"#).unwrap();
        assert_eq!((s.status, s.protocol), (Status::Running, PROTOCOL));
        // A shim from before versions were told speaks protocol 1.
        let old: StateReply = parse_reply(r#"{"pid":7,"status":"running","exit_code":null}"#).unwrap();
        assert_eq!(old.protocol, 1);
        assert_eq!(ControlRequest::Stats.to_line(), "{\"op\":\"stats\"}\n");
        let stats: StatsReply = parse_reply(r#"{"cgroup":{"memory":null,"cpu":null,"pids":{"current":2,"limit":null},"io":null}}"#).unwrap();
        assert_eq!(stats.cgroup.pids.map(|p| p.current), Some(2));
        match parse_reply::<OkReply>(r#"{"error":"nope"}"#) {
            Err(Error::Refused(m)) => assert_eq!(m, "nope"),
            other => panic!("{other:?}"),
        }
    }
}
