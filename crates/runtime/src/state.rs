//! The runtime's record of its containers: one directory per container under the
//! runtime root (`--root`, default /run/berth-runtime), holding `state.json` (written
//! atomically) and the two FIFOs that hand a created container over to `start`.
//!
//! The status is never stored: it is derived from the init process (alive? same start
//! time, so a recycled pid is not mistaken for it?), the `started` flag and the freezer.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const DEFAULT_ROOT: &str = "/run/berth-runtime";
const STATE_FILE: &str = "state.json";
/// `start` writes one byte here; the waiting init reads it and goes on to exec.
pub const EXEC_FIFO: &str = "exec.fifo";
/// Init holds this open (close-on-exec) as a writer: `start` reads EOF when the
/// exec succeeded, or the error message when it did not.
pub const STATUS_FIFO: &str = "status.fifo";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// What the runtime remembers of a container between invocations.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerState {
    pub id: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// Host pid of the container's init; 0 while creating.
    pub pid: i32,
    /// Start time of `pid` in clock ticks since boot (field 22 of /proc/pid/stat).
    pub pid_start_time: u64,
    /// Set once `start` has released init to exec the user's process.
    pub started: bool,
    pub created: chrono::DateTime<chrono::Utc>,
    pub owner: String,
    pub cgroup_path: String,
    pub systemd_cgroup: bool,
    #[serde(default)]
    pub annotations: std::collections::HashMap<String, String>,
    /// Whether the spec has poststart hooks, noted at create so that `start` reads
    /// the bundle again only for them; `None` (state of an older runtime): unknown.
    #[serde(default)]
    pub poststart_hooks: Option<bool>,
}

impl ContainerState {
    pub fn status(&self, cgroup: Option<&cgroups::Cgroup>) -> Status {
        if self.pid == 0 {
            return Status::Creating;
        }
        if !process_is(self.pid, self.pid_start_time) {
            return Status::Stopped;
        }
        if !self.started {
            return Status::Created;
        }
        if cgroup.is_some_and(|c| c.is_frozen().unwrap_or(false)) {
            return Status::Paused;
        }
        Status::Running
    }

    /// The OCI state document (runtime spec, "State"), as `state` prints and hooks read.
    pub fn oci_state(&self, status: Status) -> serde_json::Value {
        let pid = if matches!(status, Status::Stopped | Status::Creating) { 0 } else { self.pid };
        serde_json::json!({
            "ociVersion": crate::spec::OCI_VERSION,
            "id": self.id,
            "status": status,
            "pid": pid,
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            "owner": self.owner,
            "annotations": self.annotations,
        })
    }
}

/// True when `pid` is alive, not a zombie, and is the very process that was recorded.
pub fn process_is(pid: i32, start_time: u64) -> bool {
    match read_stat(pid) {
        Some((state, start)) => state != 'Z' && state != 'X' && start == start_time,
        None => false,
    }
}

/// Start time of a process in clock ticks since boot.
pub fn start_time(pid: i32) -> Option<u64> {
    read_stat(pid).map(|(_, start)| start)
}

fn read_stat(pid: i32) -> Option<(char, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may contain spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    // After state, starttime is the 19th field (field 22 overall).
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// The runtime root: where container directories live.
pub struct Store {
    root: PathBuf,
}

impl Store {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Store { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// Claims `id` by creating its directory; fails if another container has it.
    pub fn create_dir(&self, id: &str) -> Result<PathBuf> {
        validate_id(id)?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o711)
            .create(&self.root)
            .map_err(Error::io(format!("create runtime root {}", self.root.display())))?;
        let dir = self.dir(id);
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(Error::AlreadyExists(id.to_string()))
            }
            Err(e) => Err(Error::io(format!("create {}", dir.display()))(e)),
        }
    }

    pub fn load(&self, id: &str) -> Result<ContainerState> {
        validate_id(id)?;
        let path = self.dir(id).join(STATE_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(id.to_string()));
            }
            Err(e) => return Err(Error::io(format!("read {}", path.display()))(e)),
        };
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::CorruptState { id: id.to_string(), reason: e.to_string() })
    }

    /// Writes state.json atomically: temp file, fsync, rename, fsync of the directory,
    /// so a crash leaves either the old or the new state, never a torn one.
    pub fn save(&self, state: &ContainerState) -> Result<()> {
        let dir = self.dir(&state.id);
        let bytes = serde_json::to_vec(state).expect("state serialises");
        write_atomic(&dir.join(STATE_FILE), &bytes)
    }

    pub fn remove(&self, id: &str) -> Result<()> {
        let dir = self.dir(id);
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io(format!("remove {}", dir.display()))(e))
            }
            _ => Ok(()),
        }
    }

    /// Ids of every container directory under the root, sorted.
    pub fn list(&self) -> Result<Vec<String>> {
        let entries = match fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(format!("read {}", self.root.display()))(e)),
        };
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join(STATE_FILE).exists())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        ids.sort();
        Ok(ids)
    }
}

/// Replaces `path` atomically (temp file + rename): a reader, or a process killed
/// mid-write, sees the old content or the new, never a mix. There is no fsync: this is
/// runtime state under the state root (`/run`, a tmpfs that a reboot empties), which
/// outlives process crashes in the page cache but is meant to die with the machine.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    atomic_file::write_mode(path, bytes, 0o600, atomic_file::Durability::Volatile)
        .map_err(Error::io(format!("write {}", path.display())))
}

/// runc's rule: `^[\w+-\.]+$`, and never a path component that walks the root.
pub fn validate_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id.chars().all(|c| c.is_ascii_alphanumeric() || "_+-.".contains(c));
    if ok { Ok(()) } else { Err(Error::InvalidId(id.to_string())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for good in ["a", "abc-1.2_3+x", &"x".repeat(1024)] {
            assert!(validate_id(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "../x", "a b", "é", &"x".repeat(1025)] {
            assert!(validate_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn own_process_is_alive_and_recycled_pid_is_not() {
        let me = std::process::id() as i32;
        let start = start_time(me).unwrap();
        assert!(process_is(me, start));
        assert!(!process_is(me, start + 1));
        assert!(!process_is(i32::MAX, 0));
    }

    #[test]
    fn duplicate_id_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        store.create_dir("c1").unwrap();
        assert!(matches!(store.create_dir("c1"), Err(Error::AlreadyExists(_))));
        assert!(matches!(store.load("c1"), Err(Error::NotFound(_))));
    }
}
