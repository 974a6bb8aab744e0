//! berth's cgroup management: finding the cgroup hierarchies, placing a
//! container in its cgroup, applying the OCI spec's `linux.resources`
//! (at creation and for live updates), freezing and thawing, listing the
//! processes and reading usage statistics. Both cgroup v1 and cgroup v2 are
//! supported.
//!
//! ```no_run
//! # fn main() -> cgroups::Result<()> {
//! # let resources = oci_spec::runtime::LinuxResourcesBuilder::default().build().unwrap();
//! let hierarchy = cgroups::detect()?;
//! let path = cgroups::parse_cgroups_path(Some("/berth/abc"), "abc", false)?;
//! let cgroup = hierarchy.cgroup(&path)?;
//! cgroup.create()?;
//! cgroup.apply(&resources)?;
//! cgroup.add_process(1234)?;
//! let stats = cgroup.stats()?;
//! # let _ = stats;
//! cgroup.destroy()?;
//! # Ok(())
//! # }
//! ```
//!
//! # Versions
//!
//! [`detect`] reads `/proc/self/mountinfo`. When `/sys/fs/cgroup` is a
//! cgroup2 mount the host is pure v2; otherwise each v1 controller's mount
//! point is looked up (separate or comounted hierarchies such as
//! `cpu,cpuacct` both work), and a "hybrid" host with a cgroup2 mount at
//! `/sys/fs/cgroup/unified` is treated as v1. The managed v1 hierarchies
//! are cpu, cpuacct, cpuset, memory, devices, freezer, blkio, pids and
//! hugetlb; named hierarchies such as `name=systemd` are left alone.
//!
//! # Semantics
//!
//! Values follow the OCI runtime spec and runc's interpretation:
//!
//! * 0 means "not set" for the memory limit, reservation and swap, CPU
//!   shares, quota, period and realtime values, and block IO weights;
//!   -1 means unlimited; a pids limit of 0 or less is unlimited.
//! * `memory.swap` is the memory+swap limit. On v1 it goes to
//!   `memory.memsw.limit_in_bytes`, written before or after the memory
//!   limit so the kernel never sees memory > memory+swap; on v2
//!   `memory.swap.max` gets `swap - limit`.
//! * On v2, CPU shares become `cpu.weight` and the block IO weight becomes
//!   `io.weight` with runc's formulas; `unified` entries are written
//!   verbatim, last. On v1 a non-empty `unified` map is an error.
//! * Ignored without error: `memory.kernel`, `memory.kernelTCP`,
//!   `memory.useHierarchy`, `memory.checkBeforeUpdate`, `network`, `rdma`;
//!   on v2 also `memory.swappiness`, `memory.disableOOMKiller` and block IO
//!   leaf weights, which have no v2 interface.
//! * A limit for a controller that is not mounted (v1) or not enabled (v2)
//!   is an error; controllers that are not needed may be missing.
//! * An absent or empty `devices` list leaves device access untouched.
//!   Otherwise the list is applied to a starting state of "deny
//!   everything", with the v1 kernel's semantics (see [`DeviceRules`]). On
//!   v1 the rules are written to `devices.deny`/`devices.allow` after
//!   denying everything.
//! * **Devices on cgroup v2** are enforced by an eBPF program
//!   (`BPF_PROG_TYPE_CGROUP_DEVICE`) that berth generates from the rules,
//!   with exactly the decisions [`DeviceRules::allows`] describes, loads
//!   with bpf(2) and attaches to the cgroup directory (this needs
//!   `CAP_SYS_ADMIN`). A live update attaches the new program before
//!   detaching the old one, so the cgroup is never unrestricted in
//!   between; rules that allow everything detach it.
//!   [`Cgroup::device_filters`] lists what is attached. On a fake v2 tree
//!   (not a cgroup2 mount, as in tests) the rules are only validated.
//!
//! # Paths
//!
//! [`parse_cgroups_path`] reads `linux.cgroupsPath` like runc, including the
//! systemd form `slice:prefix:name`. berth does not talk to systemd: such a
//! path is mapped onto the cgroup file system as systemd would lay it out
//! (`a-b.slice` → `a.slice/a-b.slice/<prefix>-<name>.scope`) and created
//! directly.

mod bpf;
mod devices;
mod error;
mod fs;
mod hierarchy;
mod path;
mod resources;
mod stats;
mod v1;
mod v2;

use std::path::Path;

use oci_spec::runtime::LinuxResources;

pub use bpf::DeviceFilter;
pub use devices::{Access, DeviceRule, DeviceRules, DeviceType};
pub use error::{Error, Result};
pub use hierarchy::{Hierarchy, detect};
pub use path::{
    CgroupPath, DEFAULT_SYSTEMD_PREFIX, DEFAULT_SYSTEMD_SLICE, expand_slice, parse_cgroups_path,
};
pub use stats::{CpuStats, DeviceIoStats, IoStats, MemoryStats, PidsStats, Stats, ThrottlingStats};

/// The cgroup version of a hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CgroupVersion {
    /// One hierarchy per controller (or group of comounted controllers).
    V1,
    /// A single unified hierarchy.
    V2,
}

/// The controllers this crate manages, by their cgroup v1 names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Controller {
    /// CPU scheduling (shares/weight, CFS bandwidth, realtime, idle).
    Cpu,
    /// CPU accounting (v1 only; part of `cpu` on v2).
    Cpuacct,
    /// CPU and memory node placement.
    Cpuset,
    /// Memory limits.
    Memory,
    /// Device access (v1 only; an eBPF program attached to the cgroup on
    /// v2).
    Devices,
    /// Freezing (v1 only; `cgroup.freeze` on v2).
    Freezer,
    /// Block IO (`io` on v2).
    Blkio,
    /// Process count limit.
    Pids,
    /// Huge page limits.
    Hugetlb,
}

impl Controller {
    /// Every managed controller.
    pub const ALL: [Controller; 9] = [
        Controller::Cpu,
        Controller::Cpuacct,
        Controller::Cpuset,
        Controller::Memory,
        Controller::Devices,
        Controller::Freezer,
        Controller::Blkio,
        Controller::Pids,
        Controller::Hugetlb,
    ];

    /// The v1 name, as in `/proc/self/cgroup` and mount options.
    pub fn name(self) -> &'static str {
        match self {
            Controller::Cpu => "cpu",
            Controller::Cpuacct => "cpuacct",
            Controller::Cpuset => "cpuset",
            Controller::Memory => "memory",
            Controller::Devices => "devices",
            Controller::Freezer => "freezer",
            Controller::Blkio => "blkio",
            Controller::Pids => "pids",
            Controller::Hugetlb => "hugetlb",
        }
    }

    /// The controller with v1 name `name`.
    pub fn from_name(name: &str) -> Option<Controller> {
        Controller::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// One container's cgroup, in every hierarchy. Obtained from
/// [`Hierarchy::cgroup`]; nothing exists on disk until [`Cgroup::create`].
#[derive(Debug, Clone)]
pub struct Cgroup {
    inner: Inner,
}

#[derive(Debug, Clone)]
enum Inner {
    V1(v1::V1Cgroup),
    V2(v2::V2Cgroup),
}

macro_rules! dispatch {
    ($self:ident, $cg:ident => $e:expr) => {
        match &$self.inner {
            Inner::V1($cg) => $e,
            Inner::V2($cg) => $e,
        }
    };
}

impl Cgroup {
    fn v1(cg: v1::V1Cgroup) -> Cgroup {
        Cgroup {
            inner: Inner::V1(cg),
        }
    }

    fn v2(cg: v2::V2Cgroup) -> Cgroup {
        Cgroup {
            inner: Inner::V2(cg),
        }
    }

    /// The cgroup version.
    pub fn version(&self) -> CgroupVersion {
        match self.inner {
            Inner::V1(_) => CgroupVersion::V1,
            Inner::V2(_) => CgroupVersion::V2,
        }
    }

    /// The cgroup path this handle was made from.
    pub fn cgroup_path(&self) -> &CgroupPath {
        match &self.inner {
            Inner::V1(cg) => cg.cgroup_path(),
            Inner::V2(cg) => cg.cgroup_path(),
        }
    }

    /// The directory holding `controller`'s files: on v1 that controller's
    /// directory (`None` when it is not mounted), on v2 the one cgroup
    /// directory whatever the controller.
    pub fn path(&self, controller: Controller) -> Option<&Path> {
        match &self.inner {
            Inner::V1(cg) => cg.path(controller),
            Inner::V2(cg) => Some(cg.dir()),
        }
    }

    /// Every distinct directory of this cgroup (one on v2; one per mounted
    /// hierarchy on v1, comounted controllers sharing one).
    pub fn directories(&self) -> Vec<&Path> {
        match &self.inner {
            Inner::V1(cg) => cg.directories(),
            Inner::V2(cg) => vec![cg.dir()],
        }
    }

    /// Creates the cgroup (with missing parents) in every hierarchy.
    ///
    /// v1: in every managed hierarchy; in the cpuset hierarchy each level
    /// gets `cpuset.cpus`/`cpuset.mems` copied from its parent when empty,
    /// because tasks cannot join a cpuset without CPUs and memory nodes.
    /// v2: memory, cpu, cpuset, pids, io and hugetlb (those the root
    /// offers) are enabled in `cgroup.subtree_control` of every ancestor,
    /// from the root down. Existing directories are fine.
    pub fn create(&self) -> Result<()> {
        dispatch!(self, cg => cg.create())
    }

    /// Writes the limits in `resources`; used at creation and for live
    /// updates. Fields that are absent (or 0, see the crate docs) are left
    /// as they are.
    pub fn apply(&self, resources: &LinuxResources) -> Result<()> {
        dispatch!(self, cg => cg.apply(resources))
    }

    /// Moves process `pid` (with all its threads) into the cgroup: on v1
    /// into every managed hierarchy, freezer included.
    pub fn add_process(&self, pid: i32) -> Result<()> {
        dispatch!(self, cg => cg.add_process(pid))
    }

    /// The calling process joins the cgroup. It must be single-threaded: on v1 this
    /// moves the calling thread only (see `v1::join_self` for why that is faster).
    pub fn join_self(&self) -> Result<()> {
        dispatch!(self, cg => cg.join_self())
    }

    /// Every process in the cgroup or in a cgroup below it, sorted.
    pub fn pids(&self) -> Result<Vec<i32>> {
        dispatch!(self, cg => cg.pids())
    }

    /// Freezes every process and waits (at most 10 s) until the kernel
    /// reports the cgroup frozen; on timeout the cgroup is thawed again.
    /// v1 needs the freezer hierarchy.
    pub fn freeze(&self) -> Result<()> {
        dispatch!(self, cg => cg.freeze())
    }

    /// Thaws the cgroup and waits until the kernel reports it thawed.
    pub fn thaw(&self) -> Result<()> {
        dispatch!(self, cg => cg.thaw())
    }

    /// Whether the cgroup is completely frozen (a freeze still in progress
    /// is `false`; so is a v1 host without the freezer hierarchy).
    pub fn is_frozen(&self) -> Result<bool> {
        dispatch!(self, cg => cg.is_frozen())
    }

    /// Removes the cgroup directory, and any child cgroups, in every
    /// hierarchy; parents created by [`Cgroup::create`] are kept. A cgroup
    /// that does not exist is not an error. It must hold no processes:
    /// `EBUSY` is retried for about half a second, for tasks that are still
    /// exiting.
    pub fn destroy(&self) -> Result<()> {
        dispatch!(self, cg => cg.destroy())
    }

    /// Current usage statistics.
    pub fn stats(&self) -> Result<Stats> {
        dispatch!(self, cg => cg.stats())
    }

    /// The eBPF device programs attached directly to the cgroup (oldest
    /// first; those of ancestors, which apply as well, are not listed).
    /// After [`Cgroup::apply`] with restricting device rules there is one
    /// for which [`DeviceFilter::is_berth`] holds. Always empty on v1 and on
    /// a fake v2 tree.
    pub fn device_filters(&self) -> Result<Vec<DeviceFilter>> {
        match &self.inner {
            Inner::V1(_) => Ok(Vec::new()),
            Inner::V2(cg) => cg.device_filters(),
        }
    }
}
