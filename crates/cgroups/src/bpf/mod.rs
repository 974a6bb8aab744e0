//! The cgroup v2 device controller: an eBPF program.
//!
//! cgroup v2 has no `devices.allow`/`devices.deny` files. Instead, the
//! kernel runs every `BPF_PROG_TYPE_CGROUP_DEVICE` program attached (with
//! `BPF_CGROUP_DEVICE`) to a task's cgroup or its ancestors whenever the
//! task opens a device node or calls `mknod`, and allows the access only if
//! all of them return 1. These programs are attached in the default
//! (cgroup2) hierarchy, so they also work on a hybrid host's empty
//! `/sys/fs/cgroup/unified`, next to the v1 devices controller.
//!
//! * [`compile`] turns [`DeviceRules`](crate::DeviceRules) into such a
//!   program, with the same decisions as the v1 controller;
//! * [`install`] loads it (bpf(2) `BPF_PROG_LOAD`), attaches it to the
//!   cgroup directory and removes the programs berth attached before;
//! * [`attached`] lists what is attached.
//!
//! Programs are recognised as berth's by their name, [`PROGRAM_NAME`]
//! (`berth_devices`).
//! Loading and attaching need `CAP_SYS_ADMIN` (or `CAP_BPF` plus
//! `CAP_NET_ADMIN`, depending on the kernel). An attached program lives as
//! long as it stays attached: removing the cgroup detaches and frees it.

mod asm;
mod compile;
#[cfg(test)]
mod interp;
mod sys;

use std::fs::{File, OpenOptions};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

pub(crate) use asm::Insn;
pub(crate) use compile::compile;
use sys::Cmd;

use crate::fs::io_err;
use crate::{Error, Result};

/// The name berth's device programs are loaded with (at most 15 bytes:
/// `BPF_OBJ_NAME_LEN` includes the NUL).
pub(crate) const PROGRAM_NAME: &str = "berth_devices";

/// The program's license. The kernel only insists on a GPL-compatible
/// license for programs calling GPL-only helpers; this one calls none.
const LICENSE: &str = "Apache-2.0";

const _: () = assert!(PROGRAM_NAME.len() < sys::OBJ_NAME_LEN);

/// An eBPF device program attached to a cgroup v2 directory, as listed by
/// [`Cgroup::device_filters`](crate::Cgroup::device_filters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFilter {
    /// The kernel's program id (as shown by `bpftool prog`).
    pub id: u32,
    /// The name the program was loaded with (may be empty).
    pub name: String,
}

impl DeviceFilter {
    /// Whether berth attached this program (by its name, `berth_devices`).
    pub fn is_berth(&self) -> bool {
        self.name == PROGRAM_NAME
    }
}

fn bpf_err(command: Cmd, dir: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Bpf {
        command: command.name(),
        path: dir.to_path_buf(),
        source,
        verifier_log: None,
    }
}

/// The cgroup directory, opened as bpf(2) wants it for `target_fd`.
fn open_cgroup(dir: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
        .map_err(|e| io_err("open cgroup directory", dir, e))
}

/// Every device program attached directly to `cgroup`, with an fd (which
/// keeps it from being freed while we look at it). Programs that vanish
/// between the query and the lookup are skipped.
fn programs(cgroup: BorrowedFd<'_>, dir: &Path) -> Result<Vec<(DeviceFilter, OwnedFd)>> {
    let ids = sys::prog_query(cgroup).map_err(bpf_err(Cmd::ProgQuery, dir))?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(fd) = sys::prog_get_fd_by_id(id).map_err(bpf_err(Cmd::ProgGetFdById, dir))? else {
            continue;
        };
        let (id, name) =
            sys::prog_id_and_name(fd.as_fd()).map_err(bpf_err(Cmd::ObjGetInfoByFd, dir))?;
        out.push((DeviceFilter { id, name }, fd));
    }
    Ok(out)
}

/// The device programs attached directly to the cgroup at `dir` (not
/// those inherited from its ancestors), oldest first.
pub(crate) fn attached(dir: &Path) -> Result<Vec<DeviceFilter>> {
    let cgroup = open_cgroup(dir)?;
    Ok(programs(cgroup.as_fd(), dir)?
        .into_iter()
        .map(|(filter, _)| filter)
        .collect())
}

/// Makes `program` the cgroup's berth device filter; `None` (rules that
/// allow everything) just removes berth's filters.
///
/// For a live update the new program is attached *before* the old ones are
/// detached. With `BPF_F_ALLOW_MULTI` both run meanwhile and an access must
/// pass both, so there is never a moment in which the cgroup is
/// unrestricted, only one in which it is restricted by both rule sets. If
/// loading or attaching fails nothing has changed.
///
/// Programs that berth did not attach are left alone: they can only
/// restrict further. One attached without `BPF_F_ALLOW_MULTI` makes the
/// attach fail with `EPERM`.
pub(crate) fn install(dir: &Path, program: Option<&[Insn]>) -> Result<()> {
    let cgroup = open_cgroup(dir)?;
    // Collected before attaching, as the new program has the same name.
    let old: Vec<OwnedFd> = programs(cgroup.as_fd(), dir)?
        .into_iter()
        .filter(|(filter, _)| filter.is_berth())
        .map(|(_, fd)| fd)
        .collect();
    if let Some(insns) = program {
        let prog = sys::prog_load(insns, LICENSE, PROGRAM_NAME).map_err(|e| Error::Bpf {
            command: Cmd::ProgLoad.name(),
            path: dir.to_path_buf(),
            source: e.source,
            verifier_log: e.log,
        })?;
        sys::prog_attach(cgroup.as_fd(), prog.as_fd()).map_err(bpf_err(Cmd::ProgAttach, dir))?;
        // The attachment holds its own reference; our fd may close now.
    }
    for fd in old {
        match sys::prog_detach(cgroup.as_fd(), fd.as_fd()) {
            // ENOENT: someone else detached it meanwhile.
            Err(e) if e.raw_os_error() != Some(libc::ENOENT) => {
                return Err(bpf_err(Cmd::ProgDetach, dir)(e));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::asm::{Asm, Reg};
    use super::*;

    fn is_root() -> bool {
        nix::unistd::geteuid().is_root()
    }

    /// The kernel's verifier rejects a program returning 2 (device
    /// programs must return 0 or 1); the error carries its log. Loading
    /// attaches nothing, and the program is freed with its fd.
    #[test]
    fn verifier_rejections_carry_the_log() {
        if !is_root() {
            eprintln!("note: skipping the BPF_PROG_LOAD test: not running as root");
            return;
        }
        let mut a = Asm::new();
        a.mov64_imm(Reg::R0, 2);
        a.exit();
        let err = sys::prog_load(&a.finish(), LICENSE, PROGRAM_NAME)
            .expect_err("the verifier rejects return value 2");
        let log = err.log.expect("a verifier log");
        assert!(log.contains("R0"), "{log}");

        // And the compiled programs pass it.
        let rules = crate::DeviceRules::new(Vec::new());
        let fd = sys::prog_load(&compile(&rules).unwrap(), LICENSE, PROGRAM_NAME)
            .map_err(|e| e.log)
            .expect("deny-all program loads");
        let (id, name) = sys::prog_id_and_name(fd.as_fd()).unwrap();
        assert!(id > 0);
        assert_eq!(name, PROGRAM_NAME);
    }

    #[test]
    fn a_missing_cgroup_is_an_io_error() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("gone");
        let err = install(&dir, None).unwrap_err();
        assert!(
            matches!(&err, Error::Io { op: "open cgroup directory", path, .. } if *path == dir),
            "{err}"
        );
    }
}
