//! cgroup v2 back end: a single directory in the unified hierarchy,
//! controllers enabled top-down through `cgroup.subtree_control`, limits in
//! the v2 interface files (with runc's conversions from the v1-flavoured
//! OCI values), device rules as an eBPF program (see [`crate::bpf`]),
//! `cgroup.freeze`, and v2 statistics.
//!
//! Interface files are written with `O_CREAT`, which cgroupfs ignores for
//! existing files; this lets the same code run against a fake tree in a
//! plain directory, which is how the v2 path is tested on v1 hosts. On such
//! a tree device rules are compiled but not loaded: there is no cgroup to
//! attach the program to.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxHugepageLimit, LinuxMemory, LinuxResources};

use crate::bpf::{self, DeviceFilter, Insn};
use crate::devices::DeviceRules;
use crate::fs::{self, FsKind, write_create};
use crate::path::CgroupPath;
use crate::resources::{
    blkio_requested, blkio_weight_to_io_weight, check_page_size, check_unified_key, cpu_max,
    cpu_requested, cpuset_values, device_number, io_max_lines, memory_requested, pids_max,
    requested_controllers, set, shares_to_weight, v2_limit, v2_swap_max,
};
use crate::stats::{self, CpuStats, MemoryStats, PidsStats, Stats, ThrottlingStats};
use crate::v1::write_bandwidth;
use crate::{Controller, Error, Result};

/// Controllers enabled for berth's cgroups, in the order they are written to
/// `cgroup.subtree_control` (each only if the parent offers it).
const WANTED_CONTROLLERS: [&str; 6] = ["memory", "cpu", "cpuset", "pids", "io", "hugetlb"];

/// How long [`V2Cgroup::freeze`] and [`V2Cgroup::thaw`] wait.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(10);

/// A cgroup in a v2 (unified) hierarchy.
#[derive(Debug, Clone)]
pub(crate) struct V2Cgroup {
    path: CgroupPath,
    root: PathBuf,
    dir: PathBuf,
}

fn invalid(dir: &Path, resource: &str, reason: String) -> Error {
    Error::InvalidResource {
        path: dir.to_path_buf(),
        resource: resource.to_string(),
        reason,
    }
}

/// The controller names in `cgroup.controllers` or `cgroup.subtree_control`
/// (a fake tree may hold the `+name` form that was written); empty if the
/// file does not exist.
fn read_controllers(path: &Path) -> Result<BTreeSet<String>> {
    Ok(fs::read_optional(path)?
        .unwrap_or_default()
        .split_whitespace()
        .map(|c| c.trim_start_matches('+').to_string())
        .collect())
}

impl V2Cgroup {
    pub(crate) fn new(path: CgroupPath, root: PathBuf, dir: PathBuf) -> Self {
        V2Cgroup { path, root, dir }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn cgroup_path(&self) -> &CgroupPath {
        &self.path
    }

    /// The parent's `cgroup.subtree_control`, which decides which
    /// controllers this cgroup has (its `cgroup.controllers` is a copy).
    fn parent_subtree_control(&self) -> PathBuf {
        self.dir
            .parent()
            .unwrap_or(&self.root)
            .join("cgroup.subtree_control")
    }

    pub(crate) fn create(&self) -> Result<()> {
        let rel = self.dir.strip_prefix(&self.root).unwrap_or(Path::new(""));
        let mut current = self.root.clone();
        let mut available = read_controllers(&self.root.join("cgroup.controllers"))?;
        for component in rel.components() {
            // A controller can only be used in a cgroup if every ancestor
            // enabled it for its children, so enable top-down.
            let subtree = current.join("cgroup.subtree_control");
            let enabled = read_controllers(&subtree)?;
            let missing: Vec<&str> = WANTED_CONTROLLERS
                .into_iter()
                .filter(|c| available.contains(*c) && !enabled.contains(*c))
                .collect();
            if !missing.is_empty() {
                enable_controllers(&subtree, &missing)?;
            }
            // The child's cgroup.controllers is exactly this subtree_control.
            available = read_controllers(&subtree)?;
            current.push(component);
            fs::mkdir(&current)?;
        }
        Ok(())
    }

    pub(crate) fn apply(&self, r: &LinuxResources) -> Result<()> {
        let dir = &self.dir;
        // Checks that need no file system, so that a bad request changes
        // nothing.
        let mut unified: Vec<(&String, &String)> = r.unified().iter().flatten().collect();
        unified.sort();
        for (key, _) in &unified {
            check_unified_key(key).map_err(|reason| invalid(dir, "unified resource", reason))?;
        }
        if let Some(cpu) = r.cpu()
            && (set(cpu.realtime_runtime()).is_some() || set(cpu.realtime_period()).is_some())
        {
            return Err(Error::Unsupported {
                path: dir.clone(),
                reason: "realtime CPU limits (realtimeRuntime, realtimePeriod) have no cgroup v2 \
                         interface"
                    .to_string(),
            });
        }
        let memory = match r.memory().as_ref().filter(|m| memory_requested(m)) {
            Some(m) => Some(memory_values(dir, m)?),
            None => None,
        };
        let io_max = match r.block_io() {
            Some(b) => io_max_lines(b).map_err(|r| invalid(dir, "block IO throttle", r))?,
            None => Vec::new(),
        };
        let hugetlb = hugetlb_values(dir, r.hugepage_limits().as_deref().unwrap_or_default())?;
        // Some(None): rules that allow everything, no program needed.
        let device_program: Option<Option<Vec<Insn>>> =
            match r.devices().as_deref().filter(|d| !d.is_empty()) {
                Some(devices) => Some(bpf::compile(
                    &DeviceRules::from_oci(devices)
                        .map_err(|e| invalid(dir, "device rules", e.to_string()))?,
                )),
                None => None,
            };
        let subtree = self.parent_subtree_control();
        let enabled = read_controllers(&subtree)?;
        for (controller, resource) in requested_controllers(r) {
            let Some(name) = controller.v2_name() else {
                continue;
            };
            if !enabled.contains(name) {
                return Err(Error::ControllerNotEnabled {
                    path: subtree,
                    resource: resource.to_string(),
                    controller: name.to_string(),
                });
            }
        }
        if let Some(program) = device_program {
            self.apply_devices(program.as_deref())?;
        }

        // Same order as runc.
        if let Some(pids) = r.pids() {
            write_create(&dir.join("pids.max"), &pids_max(pids.limit()))?;
        }
        if let Some(memory) = memory {
            self.apply_memory(memory)?;
        }
        if let Some(blkio) = r.block_io().as_ref().filter(|b| blkio_requested(b)) {
            self.apply_io(blkio, io_max)?;
        }
        if let Some(cpu) = r.cpu() {
            if cpu_requested(cpu) {
                self.apply_cpu(cpu)?;
            }
            let (cpus, mems) = cpuset_values(cpu);
            for (file, value) in [("cpuset.cpus", cpus), ("cpuset.mems", mems)] {
                if let Some(value) = value {
                    write_create(&dir.join(file), value)?;
                }
            }
        }
        for (file, value) in hugetlb {
            write_create(&file, &value)?;
        }
        // Last, so that explicit unified values override converted ones.
        for (key, value) in unified {
            let file = dir.join(key);
            match write_create(&file, value) {
                Err(Error::MissingKnob { path }) => {
                    let controller = key.split_once('.').map_or("", |(c, _)| c);
                    if controller != "cgroup" && !enabled.contains(controller) {
                        return Err(Error::ControllerNotEnabled {
                            path: subtree,
                            resource: format!("unified resource {key:?}"),
                            controller: controller.to_string(),
                        });
                    }
                    return Err(Error::MissingKnob { path });
                }
                other => other?,
            }
        }
        Ok(())
    }

    /// On v2 the devices controller is an eBPF program
    /// (`BPF_PROG_TYPE_CGROUP_DEVICE`) attached to the cgroup directory:
    /// `program` replaces the one berth attached before, and `None` (rules
    /// that allow everything) removes it. On a fake tree the rules have been
    /// validated and compiled, and that is all.
    fn apply_devices(&self, program: Option<&[Insn]>) -> Result<()> {
        match self.fs_kind()? {
            FsKind::Cgroup2 => bpf::install(&self.dir, program),
            FsKind::Other => Ok(()),
            FsKind::Cgroup1 => Err(Error::Unsupported {
                path: self.dir.clone(),
                reason: "eBPF device filters need a cgroup v2 directory, but this one is on a \
                         cgroup v1 file system"
                    .to_string(),
            }),
        }
    }

    /// The file system of the cgroup directory; of the hierarchy's root
    /// while the directory does not exist yet (so that a missing cgroup on
    /// a real mount fails clearly instead of looking like a fake tree).
    fn fs_kind(&self) -> Result<FsKind> {
        match fs::fs_kind(&self.dir)? {
            Some(kind) => Ok(kind),
            None => Ok(fs::fs_kind(&self.root)?.unwrap_or(FsKind::Other)),
        }
    }

    /// The device programs attached directly to this cgroup; none on a fake
    /// tree or when the cgroup does not exist.
    pub(crate) fn device_filters(&self) -> Result<Vec<DeviceFilter>> {
        match fs::fs_kind(&self.dir)? {
            Some(FsKind::Cgroup2) => bpf::attached(&self.dir),
            _ => Ok(Vec::new()),
        }
    }

    fn apply_memory(&self, values: MemoryValues) -> Result<()> {
        let dir = &self.dir;
        if let Some(value) = values.swap_max {
            match write_create(&dir.join("memory.swap.max"), &value) {
                // Without swap support there is nothing to lift or disable.
                Err(Error::MissingKnob { .. }) if value == "max" || value == "0" => {}
                other => other?,
            }
        }
        if let Some(max) = values.max {
            write_create(&dir.join("memory.max"), &max)?;
        }
        if let Some(low) = values.low {
            write_create(&dir.join("memory.low"), &low)?;
        }
        Ok(())
    }

    fn apply_cpu(&self, c: &LinuxCpu) -> Result<()> {
        let dir = &self.dir;
        // A SCHED_IDLE group refuses weight changes (EINVAL): leave idle
        // mode first, enter it last.
        if c.idle() == Some(0) {
            write_create(&dir.join("cpu.idle"), "0")?;
        }
        if let Some(shares) = set(c.shares()) {
            write_create(
                &dir.join("cpu.weight"),
                &shares_to_weight(shares).to_string(),
            )?;
        }
        let before_quota = c
            .burst()
            .map(|b| vec![(dir.join("cpu.max.burst"), b.to_string())])
            .unwrap_or_default();
        let quota = cpu_max(set(c.quota()), set(c.period())).map(|v| (dir.join("cpu.max"), v));
        write_bandwidth(write_create, before_quota, quota)?;
        if let Some(idle) = c.idle().filter(|i| *i != 0) {
            write_create(&dir.join("cpu.idle"), &idle.to_string())?;
        }
        Ok(())
    }

    fn apply_io(&self, b: &LinuxBlockIo, io_max: Vec<String>) -> Result<()> {
        let dir = &self.dir;
        // BFQ's io.bfq.weight takes the v1 range (1..=1000) as is; otherwise
        // io.weight (1..=10000) gets the converted value.
        let bfq = dir.join("io.bfq.weight");
        let use_bfq = bfq.exists();
        let (weight_file, convert): (PathBuf, fn(u16) -> u64) = if use_bfq {
            (bfq, u64::from)
        } else {
            (dir.join("io.weight"), blkio_weight_to_io_weight)
        };
        if let Some(weight) = set(b.weight()) {
            write_create(&weight_file, &convert(weight).to_string())?;
        }
        for wd in b.weight_device().iter().flatten() {
            let Some(weight) = set(wd.weight()) else {
                continue;
            };
            let n =
                |v, what| device_number(v, what).map_err(|r| invalid(dir, "block IO device", r));
            let line = format!(
                "{}:{} {}",
                n(wd.major(), "major")?,
                n(wd.minor(), "minor")?,
                convert(weight)
            );
            write_create(&weight_file, &line)?;
        }
        // Leaf weights were a CFQ feature and have no v2 equivalent.
        for line in io_max {
            write_create(&dir.join("io.max"), &line)?;
        }
        Ok(())
    }

    pub(crate) fn add_process(&self, pid: i32) -> Result<()> {
        write_create(&self.dir.join("cgroup.procs"), &pid.to_string())
    }

    /// The calling process joins the cgroup (v2 has no lock-free form of this).
    pub(crate) fn join_self(&self) -> Result<()> {
        write_create(&self.dir.join("cgroup.procs"), "0")
    }

    pub(crate) fn pids(&self) -> Result<Vec<i32>> {
        let mut pids = BTreeSet::new();
        fs::collect_procs(&self.dir, &mut pids)?;
        Ok(pids.into_iter().collect())
    }

    pub(crate) fn freeze(&self) -> Result<()> {
        write_create(&self.dir.join("cgroup.freeze"), "1")?;
        let events = self.dir.join("cgroup.events");
        let result = fs::wait_until(&events, "frozen 1", FREEZE_TIMEOUT, || self.is_frozen());
        if result.is_err() {
            // Do not leave the container half frozen.
            let _ = write_create(&self.dir.join("cgroup.freeze"), "0");
        }
        result
    }

    pub(crate) fn thaw(&self) -> Result<()> {
        write_create(&self.dir.join("cgroup.freeze"), "0")?;
        let events = self.dir.join("cgroup.events");
        fs::wait_until(&events, "frozen 0", FREEZE_TIMEOUT, || {
            self.is_frozen().map(|frozen| !frozen)
        })
    }

    /// `frozen 1` in `cgroup.events`: the kernel has frozen every task.
    pub(crate) fn is_frozen(&self) -> Result<bool> {
        let events = self.dir.join("cgroup.events");
        let map = fs::parse_flat_keyed(&events, &fs::read(&events)?)?;
        Ok(map.get("frozen") == Some(&1))
    }

    pub(crate) fn destroy(&self) -> Result<()> {
        fs::remove_cgroup_dir(&self.dir)
    }

    pub(crate) fn stats(&self) -> Result<Stats> {
        let dir = &self.dir;
        let mut stats = Stats::default();
        let flat = |file: &str| -> Result<Option<std::collections::BTreeMap<String, u64>>> {
            let path = dir.join(file);
            fs::read_optional(&path)?
                .map(|s| fs::parse_flat_keyed(&path, &s))
                .transpose()
        };
        let optional_u64 = |file: &str| -> Result<Option<u64>> {
            let path = dir.join(file);
            fs::read_optional(&path)?
                .map(|s| fs::parse_u64(&path, &s, "a counter"))
                .transpose()
        };
        if let Some(usage) = optional_u64("memory.current")? {
            let limit_file = dir.join("memory.max");
            let limit = if limit_file.exists() {
                fs::read_u64_or_max(&limit_file)?
            } else {
                None
            };
            let events = flat("memory.events")?.unwrap_or_default();
            stats.memory = Some(MemoryStats {
                usage,
                limit,
                max_usage: optional_u64("memory.peak")?,
                failcnt: events.get("max").copied(),
                oom_kill: events.get("oom_kill").copied(),
                stat: flat("memory.stat")?.unwrap_or_default(),
            });
        }
        if let Some(cpu) = flat("cpu.stat")? {
            let get = |k: &str| cpu.get(k).copied();
            let throttling = get("nr_periods").map(|periods| ThrottlingStats {
                periods,
                throttled_periods: get("nr_throttled").unwrap_or(0),
                throttled_time_ns: get("throttled_usec").unwrap_or(0).saturating_mul(1000),
            });
            stats.cpu = Some(CpuStats {
                usage_total_ns: get("usage_usec").unwrap_or(0).saturating_mul(1000),
                usage_user_ns: get("user_usec").map(|v| v.saturating_mul(1000)),
                usage_system_ns: get("system_usec").map(|v| v.saturating_mul(1000)),
                per_cpu_ns: None,
                throttling,
            });
        }
        if let Some(current) = optional_u64("pids.current")? {
            let limit_file = dir.join("pids.max");
            let limit = if limit_file.exists() {
                fs::read_u64_or_max(&limit_file)?
            } else {
                None
            };
            stats.pids = Some(PidsStats { current, limit });
        }
        let io_stat = dir.join("io.stat");
        if let Some(content) = fs::read_optional(&io_stat)? {
            stats.io = Some(stats::parse_io_stat(&io_stat, &content)?);
        }
        Ok(stats)
    }
}

/// The v2 memory values, checked before anything is written.
struct MemoryValues {
    swap_max: Option<String>,
    max: Option<String>,
    low: Option<String>,
}

/// Converts the OCI memory values. swappiness and disableOOMKiller have no
/// v2 interface and, like kernel/kernelTCP, are ignored (as runc does).
fn memory_values(dir: &Path, m: &LinuxMemory) -> Result<MemoryValues> {
    let (limit, swap) = (set(m.limit()), set(m.swap()));
    Ok(MemoryValues {
        swap_max: v2_swap_max(limit, swap).map_err(|r| invalid(dir, "memory swap", r))?,
        max: limit
            .map(v2_limit)
            .transpose()
            .map_err(|r| invalid(dir, "memory limit", r))?,
        low: set(m.reservation())
            .map(v2_limit)
            .transpose()
            .map_err(|r| invalid(dir, "memory reservation", r))?,
    })
}

/// The hugetlb files and values to write: `hugetlb.<size>.max`, plus
/// `hugetlb.<size>.rsvd.max` where the kernel has it (reservation limits
/// also cover pages reserved but not yet faulted in; the spec prefers them).
fn hugetlb_values(dir: &Path, limits: &[LinuxHugepageLimit]) -> Result<Vec<(PathBuf, String)>> {
    let mut out = Vec::new();
    for h in limits {
        check_page_size(h.page_size()).map_err(|r| invalid(dir, "hugetlb limit", r))?;
        let value = v2_limit(h.limit()).map_err(|r| invalid(dir, "hugetlb limit", r))?;
        let base = format!("hugetlb.{}", h.page_size());
        let rsvd = dir.join(format!("{base}.rsvd.max"));
        out.push((dir.join(format!("{base}.max")), value.clone()));
        if rsvd.exists() {
            out.push((rsvd, value));
        }
    }
    Ok(out)
}

/// Writes `+a +b ...` to a `cgroup.subtree_control`.
///
/// One controller that cannot be enabled fails the whole write (for
/// example `cpu` while a realtime task sits in a non-root cgroup), so on
/// failure each controller is tried alone: limits for the ones that stay
/// off then fail clearly with [`Error::ControllerNotEnabled`].
fn enable_controllers(subtree: &Path, controllers: &[&str]) -> Result<()> {
    let all: Vec<String> = controllers.iter().map(|c| format!("+{c}")).collect();
    let Err(error) = write_create(subtree, &all.join(" ")) else {
        return Ok(());
    };
    let mut any = false;
    for c in &all {
        any |= write_create(subtree, c).is_ok();
    }
    if any { Ok(()) } else { Err(error) }
}

impl Controller {
    /// The controller's name in cgroup v2 (`blkio` is `io`); `None` for
    /// those that are not v2 controllers (devices, freezer: both are core
    /// features there).
    pub(crate) fn v2_name(self) -> Option<&'static str> {
        match self {
            Controller::Cpu | Controller::Cpuacct => Some("cpu"),
            Controller::Cpuset => Some("cpuset"),
            Controller::Memory => Some("memory"),
            Controller::Pids => Some("pids"),
            Controller::Blkio => Some("io"),
            Controller::Hugetlb => Some("hugetlb"),
            Controller::Devices | Controller::Freezer => None,
        }
    }
}
