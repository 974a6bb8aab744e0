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
