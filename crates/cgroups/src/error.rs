//! The crate's single error type. Every variant names the path (a file or
//! directory on a cgroup file system, or the cgroups path from the OCI spec)
//! that the failed operation was about.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while managing cgroups.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading, listing, creating or removing a file or directory failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What was attempted ("read", "create cgroup directory", ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The kernel rejected a value written to a cgroup interface file.
    #[error("cannot write {value:?} to {}: {source}", path.display())]
    Write {
        /// The interface file.
        path: PathBuf,
        /// The value that was written.
        value: String,
        /// The underlying error (often `EINVAL`, `EBUSY` or `ENOSPC`).
        #[source]
        source: io::Error,
    },

    /// A cgroup interface file that the request needs does not exist: the
    /// kernel was built without the feature, or the controller is not enabled.
    #[error("cgroup file {} does not exist: this kernel or cgroup does not support it", path.display())]
    MissingKnob {
        /// The missing interface file.
        path: PathBuf,
    },

    /// A cgroup file held something this crate could not parse.
    #[error("cannot parse {what} in {}: {content:?}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was expected.
        what: &'static str,
        /// The offending text.
        content: String,
    },

    /// The OCI `linux.cgroupsPath` (or the default name) is unusable.
    #[error("invalid cgroups path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// Why it was rejected.
        reason: String,
    },

    /// A value in `linux.resources` is out of range or inconsistent.
    #[error("invalid {resource} for cgroup {}: {reason}", path.display())]
    InvalidResource {
        /// The cgroup directory the resource was meant for.
        path: PathBuf,
        /// Which resource ("memory", "cpu shares", "device rule", ...).
        resource: String,
        /// Why it was rejected.
        reason: String,
    },

    /// An entry of `linux.resources.devices` cannot be expressed as a device
    /// cgroup rule. (When applying, this is reported as
    /// [`Error::InvalidResource`] naming the cgroup.)
    #[error("invalid device rule #{index} ({rule}): {reason}")]
    InvalidDeviceRule {
        /// Position in the OCI list.
        index: usize,
        /// The rule, rendered like a `devices.allow` line.
        rule: String,
        /// Why it was rejected.
        reason: String,
    },

    /// A limit was requested for a cgroup v1 controller that is not mounted.
    #[error(
        "{resource} requested for cgroup {cgroup} but the {controller} cgroup controller is not mounted"
    )]
    ControllerNotMounted {
        /// The cgroups path.
        cgroup: String,
        /// What was requested ("memory limit", "freeze", ...).
        resource: String,
        /// The controller's name.
        controller: &'static str,
    },

    /// A limit was requested for a cgroup v2 controller that is not enabled
    /// in the parent's `cgroup.subtree_control`.
    #[error(
        "{resource} requested but the {controller} cgroup controller is not enabled in {}",
        path.display()
    )]
    ControllerNotEnabled {
        /// The parent's `cgroup.subtree_control` file.
        path: PathBuf,
        /// What was requested.
        resource: String,
        /// The controller's name.
        controller: String,
    },

    /// The request is valid but this crate or this kernel cannot honour it.
    #[error("unsupported for {}: {reason}", path.display())]
    Unsupported {
        /// The cgroup directory or file concerned.
        path: PathBuf,
        /// What is unsupported, and why.
        reason: String,
    },

    /// A bpf(2) call for the eBPF device filter of a cgroup v2 failed:
    /// loading the program (the verifier's log says why it was rejected),
    /// attaching or detaching it, or listing the attached programs.
    #[error(
        "{command} failed for the device filter of cgroup {}: {source}{}",
        path.display(),
        log_tail(verifier_log.as_deref())
    )]
    Bpf {
        /// The bpf(2) command (`BPF_PROG_LOAD`, `BPF_PROG_ATTACH`, ...).
        command: &'static str,
        /// The cgroup directory.
        path: PathBuf,
        /// The underlying error (`EPERM` without `CAP_SYS_ADMIN`, `EINVAL`
        /// or `EACCES` from the verifier, ...).
        #[source]
        source: io::Error,
        /// The whole verifier log of a failed `BPF_PROG_LOAD`, if the
        /// kernel produced one.
        verifier_log: Option<String>,
    },

    /// A state change (freeze, thaw) did not complete in time.
    #[error("timed out after {timeout:?} waiting for {} to become {state}", path.display())]
    Timeout {
        /// The state file that was polled.
        path: PathBuf,
        /// The state that was awaited.
        state: &'static str,
        /// How long we waited.
        timeout: Duration,
    },

    /// No usable cgroup hierarchy was found in the mount table.
    #[error("no usable cgroup hierarchy in {}: {reason}", path.display())]
    NoHierarchy {
        /// The mount table that was read.
        path: PathBuf,
        /// What was missing.
        reason: String,
    },
}

/// The end of a verifier log for the error message (the reason for a
/// rejection is at the end; the full log stays in the error's field).
fn log_tail(log: Option<&str>) -> String {
    const LINES: usize = 20;
    let Some(log) = log else {
        return String::new();
    };
    let lines: Vec<&str> = log.lines().collect();
    let skipped = lines.len().saturating_sub(LINES);
    let mut out = String::from("; verifier log");
    if skipped > 0 {
        out.push_str(&format!(" (last {LINES} of {} lines)", lines.len()));
    }
    out.push(':');
    for line in &lines[skipped..] {
        out.push_str("\n  ");
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bpf_errors_show_the_end_of_the_verifier_log() {
        let log: Vec<String> = (1..=25).map(|i| format!("line {i}")).collect();
        let err = Error::Bpf {
            command: "BPF_PROG_LOAD",
            path: PathBuf::from("/sys/fs/cgroup/c"),
            source: io::Error::from_raw_os_error(libc::EACCES),
            verifier_log: Some(log.join("\n")),
        };
        let text = err.to_string();
        assert!(
            text.starts_with(
                "BPF_PROG_LOAD failed for the device filter of cgroup /sys/fs/cgroup/c: "
            ),
            "{text}"
        );
        assert!(
            text.contains("verifier log (last 20 of 25 lines):\n  line 6\n"),
            "{text}"
        );
        assert!(text.ends_with("line 25"), "{text}");
        assert!(!text.contains("line 5\n"), "{text}");
        let err = Error::Bpf {
            command: "BPF_PROG_ATTACH",
            path: PathBuf::from("/c"),
            source: io::Error::from_raw_os_error(libc::EPERM),
            verifier_log: None,
        };
        assert!(!err.to_string().contains("verifier"), "{err}");
    }
}
