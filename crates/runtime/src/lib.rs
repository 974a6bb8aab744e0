//! berth's OCI runtime: turns an OCI bundle (rootfs + config.json) into a running,
//! isolated process with namespaces, pivot_root, mounts, cgroups v1/v2, capabilities,
//! seccomp and hooks, and manages it through the runc-compatible lifecycle.
//!
//! The library knows nothing of images or the daemon; `berth-runtime` (the binary) and
//! `berth-shim` drive it.

pub mod capabilities;
pub mod cgroup;
pub mod console;
pub mod container;
pub mod error;
pub mod exec;
pub mod hooks;
mod init;
pub mod mounts;
mod namespaces;
pub mod process;
pub mod reaper;
pub mod rootfs;
pub mod sealed;
pub mod seccomp;
pub mod signal;
pub mod spec;
pub mod state;
mod sync;

pub use container::{CreateOptions, Runtime};
pub use error::{Error, Result};
pub use exec::ExecOptions;

/// Looks up now what every create needs from the host and keeps it for this process
/// (the cgroup mounts, the capabilities the kernel knows): for a process started ahead
/// of its container, such as the shim's spare.
pub fn warm_up() {
    let _ = cgroup::hierarchy();
    let _ = capabilities::supported();
}
