//! Namespaces as the spec lists them: which to create (clone/unshare flags) and which
//! to join (setns by path), in an order the kernel accepts.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};

use crate::error::{Error, Result};

pub struct Plan {
    /// Namespaces to create, without user and cgroup (created at their own moment).
    pub unshare: CloneFlags,
    pub new_user: bool,
    pub new_cgroup: bool,
    pub new_mount: bool,
    pub new_uts: bool,
    /// (type, fd) to join; user first, mount last.
    pub join: Vec<(LinuxNamespaceType, OwnedFd)>,
}

fn flag(t: LinuxNamespaceType) -> CloneFlags {
    CloneFlags::from_bits_retain(t as i32)
}

/// The order to setns in: the user namespace first (it grants the rights for the
/// others), the mount namespace last (it changes how later paths resolve).
fn rank(t: LinuxNamespaceType) -> u8 {
    match t {
        LinuxNamespaceType::User => 0,
        LinuxNamespaceType::Mount => 9,
        _ => 5,
    }
}

impl Plan {
    pub fn new(namespaces: &[LinuxNamespace]) -> Result<Plan> {
        let mut plan = Plan {
            unshare: CloneFlags::empty(),
            new_user: false,
            new_cgroup: false,
            new_mount: false,
            new_uts: false,
            join: Vec::new(),
        };
        for ns in namespaces {
            let t = ns.typ();
            match ns.path() {
                Some(path) => {
                    let fd = nix::fcntl::open(path, nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
                        .map_err(Error::sys(format!("open {t} namespace {}", path.display())))?;
                    plan.join.push((t, fd));
                }
                None => match t {
                    LinuxNamespaceType::User => plan.new_user = true,
                    LinuxNamespaceType::Cgroup => plan.new_cgroup = true,
                    _ => {
                        if t == LinuxNamespaceType::Mount {
                            plan.new_mount = true;
                        }
                        if t == LinuxNamespaceType::Uts {
                            plan.new_uts = true;
                        }
                        plan.unshare |= flag(t);
                    }
                },
            }
        }
        plan.join.sort_by_key(|(t, _)| rank(*t));
        Ok(plan)
    }

    /// The namespaces of a running process that differ from ours, to join for exec.
    pub fn of_process(pid: i32) -> Result<Plan> {
        let mut join = Vec::new();
        for (name, t) in [
            ("user", LinuxNamespaceType::User),
            ("ipc", LinuxNamespaceType::Ipc),
            ("uts", LinuxNamespaceType::Uts),
            ("net", LinuxNamespaceType::Network),
            ("pid", LinuxNamespaceType::Pid),
            ("cgroup", LinuxNamespaceType::Cgroup),
            ("time", LinuxNamespaceType::Time),
            ("mnt", LinuxNamespaceType::Mount),
        ] {
            let theirs = PathBuf::from(format!("/proc/{pid}/ns/{name}"));
            let ours = PathBuf::from(format!("/proc/self/ns/{name}"));
            let (Ok(a), Ok(b)) = (std::fs::metadata(&theirs), std::fs::metadata(&ours)) else { continue };
            if a.ino() == b.ino() && a.dev() == b.dev() {
                continue;
            }
            let fd = nix::fcntl::open(&theirs, nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
                .map_err(Error::sys(format!("open {}", theirs.display())))?;
            join.push((t, fd));
        }
        Ok(Plan {
            unshare: CloneFlags::empty(),
            new_user: false,
            new_cgroup: false,
            new_mount: false,
            new_uts: false,
            join,
        })
    }

    pub fn join_all(&self) -> Result<()> {
        for (t, fd) in &self.join {
            nix::sched::setns(fd.as_fd(), flag(*t)).map_err(Error::sys(format!("join {t} namespace")))?;
        }
        Ok(())
    }
}
