//! cgroup v1 back end: one directory per mounted controller hierarchy
//! (comounted controllers such as `cpu,cpuacct` share one), limits written
//! to each controller's own files, the freezer's `freezer.state` protocol,
//! and v1 statistics.
//!
//! Interface files are only ever written, never created: on v1 the kernel
//! creates every file a controller supports together with the directory, so
//! a missing file means this kernel lacks the knob ([`Error::MissingKnob`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxDeviceCgroup, LinuxHugepageLimit, LinuxMemory, LinuxResources,
};

use crate::devices::DeviceRules;
use crate::fs::{self, is_write_errno, write_existing};
use crate::path::CgroupPath;
use crate::resources::{
    V1MemFile, blkio_requested, check_page_size, cpu_requested, cpuset_values, device_number,
    memory_requested, nonempty, pids_max, requested_controllers, set, v1_memory_writes,
};
use crate::stats::{
    self, BlkioCounter, CpuStats, IoStats, MemoryStats, PidsStats, Stats, ThrottlingStats,
};
use crate::{Controller, Error, Result};

/// How long [`V1Cgroup::freeze`] and [`V1Cgroup::thaw`] wait.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(10);

/// v1 reports "no limit" as the largest page-aligned `LONG_MAX`
/// (9223372036854771712 with 4 KiB pages); anything this large is unlimited.
const V1_UNLIMITED: u64 = 0x7FFF_FFFF_FFFF_0000;

/// A cgroup on a v1 host.
#[derive(Debug, Clone)]
pub(crate) struct V1Cgroup {
    path: CgroupPath,
    /// controller → (mount point, this cgroup's directory in it)
    dirs: BTreeMap<Controller, (PathBuf, PathBuf)>,
}

fn invalid(dir: &Path, resource: &str, reason: String) -> Error {
    Error::InvalidResource {
        path: dir.to_path_buf(),
        resource: resource.to_string(),
        reason,
    }
}

impl V1Cgroup {
    pub(crate) fn new(path: CgroupPath, dirs: BTreeMap<Controller, (PathBuf, PathBuf)>) -> Self {
        V1Cgroup { path, dirs }
    }

    pub(crate) fn cgroup_path(&self) -> &CgroupPath {
        &self.path
    }

    pub(crate) fn path(&self, controller: Controller) -> Option<&Path> {
        self.dirs.get(&controller).map(|(_, dir)| dir.as_path())
    }

    /// Each distinct directory once (comounted controllers share one).
    pub(crate) fn directories(&self) -> Vec<&Path> {
        let mut seen = BTreeSet::new();
        self.dirs
            .values()
            .map(|(_, dir)| dir.as_path())
            .filter(|dir| seen.insert(*dir))
            .collect()
    }

    /// The directory of `controller`, or the error saying that `resource`
    /// needs it.
    fn require(&self, controller: Controller, resource: &str) -> Result<&Path> {
        self.path(controller)
            .ok_or_else(|| Error::ControllerNotMounted {
                cgroup: self.path.to_string(),
                resource: resource.to_string(),
                controller: controller.name(),
            })
    }

    pub(crate) fn create(&self) -> Result<()> {
        for (controller, (mount, dir)) in &self.dirs {
            if *controller == Controller::Cpuset {
                create_cpuset(mount, dir)?;
            } else {
                fs::mkdir_all(dir)?;
            }
        }
        Ok(())
    }

    pub(crate) fn apply(&self, r: &LinuxResources) -> Result<()> {
        if r.unified().as_ref().is_some_and(|u| !u.is_empty()) {
            return Err(Error::Unsupported {
                path: self.path.as_path().to_path_buf(),
                reason: "linux.resources.unified applies to cgroup v2 only, and this host uses \
                         cgroup v1"
                    .to_string(),
            });
        }
        // Refuse before writing anything when a needed controller is absent.
        for (controller, resource) in requested_controllers(r) {
            self.require(controller, resource)?;
        }
        // Same order as runc.
        if let Some(cpu) = r.cpu() {
            self.apply_cpuset(cpu)?;
        }
        if let Some(devices) = r.devices().as_ref().filter(|d| !d.is_empty()) {
            self.apply_devices(devices)?;
        }
        if let Some(memory) = r.memory().as_ref().filter(|m| memory_requested(m)) {
            self.apply_memory(memory)?;
        }
        if let Some(cpu) = r.cpu().as_ref().filter(|c| cpu_requested(c)) {
            self.apply_cpu(cpu)?;
        }
        if let Some(pids) = r.pids() {
            let dir = self.require(Controller::Pids, "pids limit")?;
            write_existing(&dir.join("pids.max"), &pids_max(pids.limit()))?;
        }
        if let Some(blkio) = r.block_io().as_ref().filter(|b| blkio_requested(b)) {
            self.apply_blkio(blkio)?;
        }
        if nonempty(r.hugepage_limits()) {
            self.apply_hugetlb(r.hugepage_limits().as_deref().unwrap_or_default())?;
        }
        Ok(())
    }

    fn apply_cpuset(&self, cpu: &LinuxCpu) -> Result<()> {
        let (cpus, mems) = cpuset_values(cpu);
        for (file, value) in [("cpuset.cpus", cpus), ("cpuset.mems", mems)] {
            if let Some(value) = value {
                let dir = self.require(Controller::Cpuset, "cpuset")?;
                write_existing(&dir.join(file), value)?;
            }
        }
        Ok(())
    }

    fn apply_devices(&self, devices: &[LinuxDeviceCgroup]) -> Result<()> {
        let dir = self.require(Controller::Devices, "device rules")?;
        let rules = DeviceRules::from_oci(devices)
            .map_err(|e| invalid(dir, "device rules", e.to_string()))?;
        // Start from "deny everything": this drops every exception inherited
        // from the parent, so the rules below are the complete list. The
        // kernel refuses it (EINVAL) once the cgroup has child cgroups, and
        // during a live update the container briefly loses device access.
        write_existing(&dir.join("devices.deny"), "a")?;
        for rule in rules.rules() {
            write_existing(&dir.join(rule.v1_file()), &rule.to_string())?;
        }
        Ok(())
    }

    fn apply_memory(&self, m: &LinuxMemory) -> Result<()> {
        let dir = self.require(Controller::Memory, "memory limit")?;
        let (limit, swap) = (set(m.limit()), set(m.swap()));
        if limit.is_some() || swap.is_some() {
            let memsw_supported = dir.join(V1MemFile::MemSw.name()).exists();
            let current = fs::read_u64(&dir.join(V1MemFile::Limit.name()))?;
            let writes = v1_memory_writes(limit, swap, memsw_supported, current)
                .map_err(|reason| invalid(dir, "memory limit", reason))?;
            for (file, value) in writes {
                write_existing(&dir.join(file.name()), &value)?;
            }
        }
        if let Some(reservation) = set(m.reservation()) {
            if reservation < -1 {
                let reason = format!("reservation {reservation} is negative");
                return Err(invalid(dir, "memory reservation", reason));
            }
            write_existing(
                &dir.join("memory.soft_limit_in_bytes"),
                &reservation.to_string(),
            )?;
        }
        if let Some(swappiness) = m.swappiness() {
            if swappiness > 100 {
                let reason = format!("{swappiness} is outside 0..=100");
                return Err(invalid(dir, "memory swappiness", reason));
            }
            write_existing(&dir.join("memory.swappiness"), &swappiness.to_string())?;
        }
        if m.disable_oom_killer() == Some(true) {
            write_existing(&dir.join("memory.oom_control"), "1")?;
        }
        Ok(())
    }

    fn apply_cpu(&self, c: &LinuxCpu) -> Result<()> {
        let dir = self.require(Controller::Cpu, "cpu limit")?;
        // The kernel refuses share changes (EINVAL) while a group is
        // SCHED_IDLE, so leave idle mode first and enter it last.
        if c.idle() == Some(0) {
            write_existing(&dir.join("cpu.idle"), "0")?;
        }
        if let Some(shares) = set(c.shares()) {
            let file = dir.join("cpu.shares");
            write_existing(&file, &shares.to_string())?;
            // The kernel silently clamps shares to 2..=262144.
            let actual = fs::read_u64(&file)?;
            if actual != shares {
                let reason =
                    format!("{shares} is outside the allowed range (the kernel set {actual})");
                return Err(invalid(dir, "cpu shares", reason));
            }
        }
        let mut before_quota = Vec::new();
        if let Some(period) = set(c.period()) {
            before_quota.push((dir.join("cpu.cfs_period_us"), period.to_string()));
        }
        if let Some(burst) = c.burst() {
            before_quota.push((dir.join("cpu.cfs_burst_us"), burst.to_string()));
        }
        let quota = set(c.quota()).map(|q| (dir.join("cpu.cfs_quota_us"), q.to_string()));
        write_bandwidth(write_existing, before_quota, quota)?;
        // The runtime can only be as long as the period, so the period goes
        // first.
        if let Some(period) = set(c.realtime_period()) {
            write_existing(&dir.join("cpu.rt_period_us"), &period.to_string())?;
        }
        if let Some(runtime) = set(c.realtime_runtime()) {
            write_existing(&dir.join("cpu.rt_runtime_us"), &runtime.to_string())?;
        }
        if let Some(idle) = c.idle().filter(|i| *i != 0) {
            write_existing(&dir.join("cpu.idle"), &idle.to_string())?;
        }
        Ok(())
    }

    fn apply_blkio(&self, b: &LinuxBlockIo) -> Result<()> {
        let dir = self.require(Controller::Blkio, "block IO limit")?;
        // CFQ provides blkio.weight*; CFQ is gone since Linux 5.0 and BFQ
        // offers the same knobs as blkio.bfq.weight*.
        let (weight_file, weight_device_file) = if dir.join("blkio.weight").exists() {
            ("blkio.weight", "blkio.weight_device")
        } else {
            ("blkio.bfq.weight", "blkio.bfq.weight_device")
        };
        if let Some(weight) = set(b.weight()) {
            write_existing(&dir.join(weight_file), &weight.to_string())?;
        }
        if let Some(weight) = set(b.leaf_weight()) {
            write_existing(&dir.join("blkio.leaf_weight"), &weight.to_string())?;
        }
        let dev = |major: i64, minor: i64| -> Result<String> {
            let n =
                |v, what| device_number(v, what).map_err(|r| invalid(dir, "block IO device", r));
            Ok(format!("{}:{}", n(major, "major")?, n(minor, "minor")?))
        };
        for wd in b.weight_device().iter().flatten() {
            let device = dev(wd.major(), wd.minor())?;
            if let Some(weight) = set(wd.weight()) {
                write_existing(&dir.join(weight_device_file), &format!("{device} {weight}"))?;
            }
            if let Some(weight) = set(wd.leaf_weight()) {
                write_existing(
                    &dir.join("blkio.leaf_weight_device"),
                    &format!("{device} {weight}"),
                )?;
            }
        }
        let throttles = [
            (
                "blkio.throttle.read_bps_device",
                b.throttle_read_bps_device(),
            ),
            (
                "blkio.throttle.write_bps_device",
                b.throttle_write_bps_device(),
            ),
            (
                "blkio.throttle.read_iops_device",
                b.throttle_read_iops_device(),
            ),
            (
                "blkio.throttle.write_iops_device",
                b.throttle_write_iops_device(),
            ),
        ];
        for (file, list) in throttles {
            for t in list.iter().flatten() {
                let line = format!("{} {}", dev(t.major(), t.minor())?, t.rate());
                write_existing(&dir.join(file), &line)?;
            }
        }
        Ok(())
    }

    fn apply_hugetlb(&self, limits: &[LinuxHugepageLimit]) -> Result<()> {
        let dir = self.require(Controller::Hugetlb, "hugetlb limit")?;
        for h in limits {
            check_page_size(h.page_size()).map_err(|r| invalid(dir, "hugetlb limit", r))?;
            let base = format!("hugetlb.{}", h.page_size());
            let value = h.limit().to_string();
            write_existing(&dir.join(format!("{base}.limit_in_bytes")), &value)?;
            // Reservation limits (Linux 5.7+) also cover pages reserved by
            // mmap but not yet faulted in; the spec prefers them.
            let rsvd = dir.join(format!("{base}.rsvd.limit_in_bytes"));
            if rsvd.exists() {
                write_existing(&rsvd, &value)?;
            }
        }
        Ok(())
    }

    pub(crate) fn add_process(&self, pid: i32) -> Result<()> {
        let pid = pid.to_string();
        for dir in self.directories() {
            write_existing(&dir.join("cgroup.procs"), &pid)?;
        }
        Ok(())
    }

    /// The calling thread joins the cgroup in every hierarchy by writing `0` to
    /// `tasks`. For a single-threaded caller that moves the whole process, and the
    /// kernel skips the global threadgroup lock that a write to `cgroup.procs` takes
    /// (whose RCU grace period costs ~10-20 ms per container start).
    pub(crate) fn join_self(&self) -> Result<()> {
        for dir in self.directories() {
            write_existing(&dir.join("tasks"), "0")?;
        }
        Ok(())
    }

    pub(crate) fn pids(&self) -> Result<Vec<i32>> {
        let mut pids = BTreeSet::new();
        for dir in self.directories() {
            fs::collect_procs(dir, &mut pids)?;
        }
        Ok(pids.into_iter().collect())
    }

    pub(crate) fn freeze(&self) -> Result<()> {
        let dir = self.require(Controller::Freezer, "freeze")?;
        let state = dir.join("freezer.state");
        let deadline = Instant::now() + FREEZE_TIMEOUT;
        // Freezing can stall in FREEZING while tasks keep forking or joining
        // the cgroup; the kernel's freezer documentation asks userspace to
        // retry (or thaw) then. As runc does: keep rewriting FROZEN, and
        // now and then thaw briefly so that stragglers settle.
        for round in 0u32.. {
            if round % 50 == 49 {
                write_existing(&state, "THAWED")?;
                sleep(Duration::from_millis(10));
            }
            write_existing(&state, "FROZEN")?;
            match fs::read(&state)?.trim() {
                "FROZEN" => return Ok(()),
                "FREEZING" => {}
                other => {
                    return Err(Error::Parse {
                        path: state,
                        what: "FROZEN or FREEZING after writing FROZEN",
                        content: other.to_string(),
                    });
                }
            }
            if Instant::now() >= deadline {
                // Do not leave the container half frozen.
                let _ = write_existing(&state, "THAWED");
                break;
            }
            sleep(Duration::from_millis(1));
        }
        Err(Error::Timeout {
            path: state,
            state: "FROZEN",
            timeout: FREEZE_TIMEOUT,
        })
    }

    pub(crate) fn thaw(&self) -> Result<()> {
        let dir = self.require(Controller::Freezer, "thaw")?;
        let state = dir.join("freezer.state");
        write_existing(&state, "THAWED")?;
        fs::wait_until(&state, "THAWED", FREEZE_TIMEOUT, || {
            Ok(fs::read(&state)?.trim() == "THAWED")
        })
    }

    pub(crate) fn is_frozen(&self) -> Result<bool> {
        match self.path(Controller::Freezer) {
            None => Ok(false),
            Some(dir) => Ok(fs::read(&dir.join("freezer.state"))?.trim() == "FROZEN"),
        }
    }

    pub(crate) fn destroy(&self) -> Result<()> {
        let mut first_error = None;
        for dir in self.directories() {
            if let Err(e) = fs::remove_cgroup_dir(dir) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    pub(crate) fn stats(&self) -> Result<Stats> {
        let mut stats = Stats::default();
        if let Some(dir) = self.path(Controller::Memory) {
            let optional = |file: &str| -> Result<Option<u64>> {
                let path = dir.join(file);
                fs::read_optional(&path)?
                    .map(|s| fs::parse_u64(&path, &s, "a memory counter"))
                    .transpose()
            };
            let oom_control = dir.join("memory.oom_control");
            let oom_kill = match fs::read_optional(&oom_control)? {
                Some(s) => fs::parse_flat_keyed(&oom_control, &s)?
                    .get("oom_kill")
                    .copied(),
                None => None,
            };
            let limit = fs::read_u64(&dir.join("memory.limit_in_bytes"))?;
            stats.memory = Some(MemoryStats {
                usage: fs::read_u64(&dir.join("memory.usage_in_bytes"))?,
                limit: (limit < V1_UNLIMITED).then_some(limit),
                max_usage: optional("memory.max_usage_in_bytes")?,
                failcnt: optional("memory.failcnt")?,
                oom_kill,
                stat: flat_keyed_optional(&dir.join("memory.stat"))?,
            });
        }
        if let Some(dir) = self.path(Controller::Cpuacct) {
            let optional = |file: &str| -> Result<Option<u64>> {
                let path = dir.join(file);
                fs::read_optional(&path)?
                    .map(|s| fs::parse_u64(&path, &s, "a CPU time"))
                    .transpose()
            };
            let throttling = match self.path(Controller::Cpu) {
                Some(cpu_dir) => {
                    let path = cpu_dir.join("cpu.stat");
                    let map = fs::parse_flat_keyed(&path, &fs::read(&path)?)?;
                    let get = |k: &str| map.get(k).copied().unwrap_or(0);
                    Some(ThrottlingStats {
                        periods: get("nr_periods"),
                        throttled_periods: get("nr_throttled"),
                        throttled_time_ns: get("throttled_time"),
                    })
                }
                None => None,
            };
            stats.cpu = Some(CpuStats {
                usage_total_ns: fs::read_u64(&dir.join("cpuacct.usage"))?,
                usage_user_ns: optional("cpuacct.usage_user")?,
                usage_system_ns: optional("cpuacct.usage_sys")?,
                per_cpu_ns: per_cpu(&dir.join("cpuacct.usage_percpu"))?,
                throttling,
            });
        }
        if let Some(dir) = self.path(Controller::Pids) {
            stats.pids = Some(PidsStats {
                current: fs::read_u64(&dir.join("pids.current"))?,
                limit: fs::read_u64_or_max(&dir.join("pids.max"))?,
            });
        }
        if let Some(dir) = self.path(Controller::Blkio) {
            stats.io = Some(blkio_stats(dir)?);
        }
        Ok(stats)
    }
}

/// Block IO counters from the first family of files that has any: CFQ's
/// `blkio.io_service*`, then BFQ's `blkio.bfq.io_service*`, then the
/// throttling layer's `blkio.throttle.io_service*` (always present).
/// A flat keyed file (`memory.stat`), empty when the kernel has not got it.
fn flat_keyed_optional(path: &Path) -> Result<std::collections::BTreeMap<String, u64>> {
    match fs::read_optional(path)? {
        Some(s) => fs::parse_flat_keyed(path, &s),
        None => Ok(Default::default()),
    }
}

/// `cpuacct.usage_percpu`: one time per CPU, space-separated.
fn per_cpu(path: &Path) -> Result<Option<Vec<u64>>> {
    fs::read_optional(path)?
        .map(|s| s.split_whitespace().map(|v| fs::parse_u64(path, v, "a CPU time")).collect::<Result<Vec<u64>>>())
        .transpose()
}

fn blkio_stats(dir: &Path) -> Result<IoStats> {
    for prefix in ["blkio.", "blkio.bfq.", "blkio.throttle."] {
        let mut map = BTreeMap::new();
        for (file, counter) in [
            ("io_service_bytes_recursive", BlkioCounter::Bytes),
            ("io_serviced_recursive", BlkioCounter::Ios),
        ] {
            let path = dir.join(format!("{prefix}{file}"));
            if let Some(content) = fs::read_optional(&path)? {
                stats::add_blkio_v1(&mut map, &path, &content, counter)?;
            }
        }
        if !map.is_empty() {
            return Ok(IoStats {
                devices: map.into_values().collect(),
            });
        }
    }
    Ok(IoStats::default())
}

/// Writes a CFS bandwidth quota and the knobs that go with it (period,
/// burst), shared by v1 (`cpu.cfs_*_us`) and v2 (`cpu.max`,
/// `cpu.max.burst`). `before_quota` is written first, then `quota`.
///
/// The kernel checks every single write against the current values: a
/// shorter period can be refused (EINVAL) while the old quota is in place,
/// because old quota / new period may exceed the parent's bandwidth, and a
/// burst above the current quota is refused too. When a quota is being set,
/// such writes are retried once it is in place, as runc does.
pub(crate) fn write_bandwidth(
    write: fn(&Path, &str) -> Result<()>,
    before_quota: Vec<(PathBuf, String)>,
    quota: Option<(PathBuf, String)>,
) -> Result<()> {
    let mut retry = Vec::new();
    for (path, value) in before_quota {
        match write(&path, &value) {
            Ok(()) => {}
            Err(e) if quota.is_some() && is_write_errno(&e, libc::EINVAL) => {
                retry.push((path, value));
            }
            Err(e) => return Err(e),
        }
    }
    if let Some((path, value)) = quota {
        write(&path, &value)?;
    }
    for (path, value) in retry {
        write(&path, &value)?;
    }
    Ok(())
}

/// Creates the cpuset directory level by level, filling in `cpuset.cpus`
/// and `cpuset.mems` from the parent where they are empty.
///
/// A new v1 cpuset starts with both files empty (unless the parent has
/// `cgroup.clone_children` set), and the kernel refuses to attach a task to
/// a cpuset without CPUs or memory nodes (ENOSPC). Each level must also be a
/// subset of its parent, so the values are copied down one level at a time.
fn create_cpuset(mount: &Path, dir: &Path) -> Result<()> {
    let rel = dir.strip_prefix(mount).unwrap_or(Path::new(""));
    let mut parent = mount.to_path_buf();
    for component in rel.components() {
        let current = parent.join(component);
        fs::mkdir(&current)?;
        for file in ["cpuset.cpus", "cpuset.mems"] {
            let own = current.join(file);
            if fs::read(&own)?.trim().is_empty() {
                let inherited = fs::read(&parent.join(file))?;
                let inherited = inherited.trim();
                if !inherited.is_empty() {
                    write_existing(&own, inherited)?;
                }
            }
        }
        parent = current;
    }
    Ok(())
}
