//! Helpers shared by the integration tests: unique cgroup names, a guard
//! that cleans up real cgroups and child processes even when a test fails,
//! and small builders for OCI resources.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use cgroups::Cgroup;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// `berth-cgtest-<pid>-<n>`: unique per test process and call.
pub fn unique_name() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "berth-cgtest-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A real cgroup2 mount we may create cgroups in, other than a pure v2
/// host's /sys/fs/cgroup: the (empty, controller-less) hierarchy a hybrid
/// host mounts at `/sys/fs/cgroup/unified`. `None`, with a note on stderr,
/// when there is none or we are not root.
pub fn unified_cgroup2_mount(what: &str) -> Option<std::path::PathBuf> {
    if !is_root() {
        eprintln!("note: skipping {what}: not running as root");
        return None;
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let found = mountinfo.lines().find_map(|line| {
        let (pre, post) = line.split_once(" - ")?;
        let mountpoint = pre.split(' ').nth(4)?;
        (post.starts_with("cgroup2 ") && mountpoint == "/sys/fs/cgroup/unified")
            .then(|| std::path::PathBuf::from(mountpoint))
    });
    if found.is_none() {
        eprintln!("note: skipping {what}: no cgroup2 mount at /sys/fs/cgroup/unified");
    }
    found
}

/// Owns a cgroup this test created (and optionally a child process in it).
/// On drop: thaw (a frozen task cannot die), kill and reap the child, then
/// remove the cgroup in every hierarchy.
pub struct Guard {
    pub cgroup: Cgroup,
    pub child: Option<Child>,
}

impl Guard {
    pub fn new(cgroup: Cgroup) -> Guard {
        Guard {
            cgroup,
            child: None,
        }
    }

    /// Starts `sleep 30` and returns its pid.
    pub fn spawn_sleep(&mut self) -> i32 {
        let child = Command::new("sleep")
            .arg("30")
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn sleep");
        let pid = i32::try_from(child.id()).expect("pid fits i32");
        self.child = Some(child);
        pid
    }

    /// Kills the child by its pid and reaps it.
    pub fn kill_child(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid fits i32"));
            let _ = kill(pid, Signal::SIGKILL);
            let _ = child.wait();
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.cgroup.thaw();
        self.kill_child();
        if let Err(e) = self.cgroup.destroy() {
            eprintln!("cleanup: {e}");
        }
        for dir in self.cgroup.directories() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

pub fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_string()
}
