//! A container's resource limits (`HostConfig.Resources`): checked as Docker checks
//! them at create and update, with its warnings and messages and against what this
//! host offers, and turned into the memory, cpu, pids and blockIO sections of the OCI
//! spec's `linux.resources` (at start, and for `update` on a running container).

use std::sync::OnceLock;

use api::hostconfig::{Resources, ThrottleDevice};
use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPids, LinuxResources, LinuxThrottleDevice, LinuxThrottleDeviceBuilder,
    LinuxWeightDeviceBuilder,
};

/// Docker's floor for memory limits and reservations: room for a container to start.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;

/// Docker's bound on the CPU and memory-node numbers a cpuset may name (CVE-2018-20699:
/// a huge range must not make the daemon allocate a huge set).
const MAX_CPUSET_ID: u64 = 8192;

/// What the host's kernel and cgroups offer (Docker's `SysInfo`), probed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub cgroup_v2: bool,
    /// Swap accounting: a memory+swap limit can be set.
    pub swap_limit: bool,
    /// `memory.swappiness` and `memory.oom_control` exist (cgroup v1 only).
    pub swappiness_and_oom_control: bool,
    /// A block IO weight file exists (CFQ's `blkio.weight` or BFQ's on v1; v2's io.weight).
    pub blkio_weight: bool,
    /// CPUs the daemon may run on (Go's `runtime.NumCPU`).
    pub ncpu: u64,
    /// Online CPUs and memory nodes, as lists (`0-3`).
    pub cpus: String,
    pub mems: String,
}

impl Host {
    /// The probed host (the first call probes).
    pub fn get() -> &'static Host {
        static HOST: OnceLock<Host> = OnceLock::new();
        HOST.get_or_init(Host::probe)
    }

    fn probe() -> Host {
        let hierarchy = cgroups::detect().ok();
        let cgroup_v2 = hierarchy
            .as_ref()
            .is_some_and(|h| h.version() == cgroups::CgroupVersion::V2);
        let v1_file = |c: cgroups::Controller, file: &str| {
            hierarchy
                .as_ref()
                .and_then(|h| h.mountpoint(c))
                .is_some_and(|m| m.join(file).exists())
        };
        let swap_limit = if cgroup_v2 {
            // The root cgroup has no memory.swap.max: look at the daemon's own.
            own_v2_cgroup().is_some_and(|dir| dir.join("memory.swap.max").exists())
        } else {
            v1_file(cgroups::Controller::Memory, "memory.memsw.limit_in_bytes")
        };
        let read = |path: &str| std::fs::read_to_string(path).map(|s| s.trim().to_string());
        Host {
            cgroup_v2,
            swap_limit,
            swappiness_and_oom_control: !cgroup_v2
                && v1_file(cgroups::Controller::Memory, "memory.swappiness"),
            blkio_weight: cgroup_v2
                || v1_file(cgroups::Controller::Blkio, "blkio.weight")
                || v1_file(cgroups::Controller::Blkio, "blkio.bfq.weight"),
            ncpu: affinity_cpus(),
            cpus: read("/sys/devices/system/cpu/online").unwrap_or_else(|_| "0".into()),
            // Without NUMA support there is one node, 0.
            mems: read("/sys/devices/system/node/online").unwrap_or_else(|_| "0".into()),
        }
    }
}

/// The daemon's own cgroup directory on a v2 host (`0::/path` in /proc/self/cgroup).
fn own_v2_cgroup() -> Option<std::path::PathBuf> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    Some(std::path::Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/')))
}

/// How many CPUs this process may run on (its affinity mask, as Go counts them).
fn affinity_cpus() -> u64 {
    let Ok(set) = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)) else {
        return 1;
    };
    let n = (0..nix::sched::CpuSet::count())
        .filter(|i| set.is_set(*i).unwrap_or(false))
        .count();
    (n as u64).max(1)
}

/// A cpuset list (`0-2,4`), as Docker parses it; `Err` with Docker's reason.
fn parse_cpuset(list: &str, max: u64) -> Result<Vec<u64>, String> {
    let mut out = Vec::new();
    if list.is_empty() {
        return Ok(out);
    }
    let invalid = || format!("invalid format: {list}");
    for part in list.split(',') {
        let (lo, hi) = match part.split_once('-') {
            Some((lo, hi)) => (lo, hi),
            None => (part, part),
        };
        let lo: u64 = lo.parse().map_err(|_| invalid())?;
        let hi: u64 = hi.parse().map_err(|_| invalid())?;
        if hi < lo {
            return Err(invalid());
        }
        if hi > max {
            return Err(format!("value of out range, maximum is {max}"));
        }
        out.extend(lo..=hi);
    }
    Ok(out)
}

/// Whether every id of `requested` is among `available`; Docker's error when
/// `requested` does not parse.
fn cpuset_available(requested: &str, available: &str, what: &str) -> Result<bool, String> {
    let have = parse_cpuset(available, u64::MAX).unwrap_or_default();
    let max = have.iter().copied().max().unwrap_or(0).max(MAX_CPUSET_ID);
    let want = parse_cpuset(requested, max)
        .map_err(|e| format!("Invalid value {requested} for cpuset {what}: {e}"))?;
    Ok(want.iter().all(|id| have.contains(id)))
}

/// Docker's `verifyPlatformContainerResources`: refuses values it can judge (its
/// messages), drops what this host cannot do (with its warnings), and returns the
/// warnings. `update` is a `POST /containers/{id}/update`, whose values are changes.
pub fn check(r: &mut Resources, host: &Host, update: bool) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    // -1 is "the default" for swappiness.
    if r.memory_swappiness == Some(-1) {
        r.memory_swappiness = None;
    }
    if r.memory != 0 && r.memory < MIN_MEMORY {
        return Err("Minimum memory limit allowed is 6MB".into());
    }
    if r.memory > 0 && r.memory_swap != -1 && !host.swap_limit {
        warnings.push("Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.".into());
        r.memory_swap = -1;
    }
    if r.memory > 0 && r.memory_swap > 0 && r.memory_swap < r.memory {
        return Err(
            "Minimum memoryswap limit should be larger than memory limit, see usage".into(),
        );
    }
    if r.memory == 0 && r.memory_swap > 0 && !update {
        return Err(
            "You should always set the Memory limit when using Memoryswap limit, see usage".into(),
        );
    }
    if r.memory_swappiness.is_some() && !host.swappiness_and_oom_control {
        warnings.push("Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.".into());
        r.memory_swappiness = None;
    }
    if let Some(s) = r.memory_swappiness
        && !(0..=100).contains(&s)
    {
        return Err(format!(
            "Invalid value: {s}, valid memory swappiness range is 0-100"
        ));
    }
    if r.memory_reservation > 0 && r.memory_reservation < MIN_MEMORY {
        return Err("Minimum memory reservation allowed is 6MB".into());
    }
    if r.memory > 0 && r.memory_reservation > 0 && r.memory < r.memory_reservation {
        return Err(
            "Minimum memory limit can not be less than memory reservation limit, see usage".into(),
        );
    }
    // Kernel memory limits are refused by the kernel since 5.16 and were never part of
    // cgroup v2: Docker's answer for a kernel without them.
    if r.kernel_memory > 0 {
        warnings.push("Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.".into());
        r.kernel_memory = 0;
    }
    if r.oom_kill_disable.is_some() && !host.swappiness_and_oom_control {
        if r.oom_kill_disable == Some(true) {
            warnings.push(
                "Your kernel does not support OomKillDisable. OomKillDisable discarded.".into(),
            );
        }
        r.oom_kill_disable = None;
    }
    if r.oom_kill_disable == Some(true) && r.memory == 0 {
        warnings.push("OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.".into());
    }

    if r.nano_cpus > 0 && r.cpu_period > 0 {
        return Err("Conflicting options: Nano CPUs and CPU Period cannot both be set".into());
    }
    if r.nano_cpus > 0 && r.cpu_quota > 0 {
        return Err("Conflicting options: Nano CPUs and CPU Quota cannot both be set".into());
    }
    let n = host.ncpu;
    if r.nano_cpus < 0 || r.nano_cpus as u64 > n * 1_000_000_000 {
        return Err(format!(
            "Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available"
        ));
    }
    if r.cpu_period != 0 && !(1000..=1_000_000).contains(&r.cpu_period) {
        return Err(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
                .into(),
        );
    }
    if r.cpu_quota > 0 && r.cpu_quota < 1000 {
        return Err("CPU cfs quota can not be less than 1ms (i.e. 1000)".into());
    }
    if r.cpu_percent > 0 {
        warnings.push("linux does not support CPU percent. Percent discarded.".into());
        r.cpu_percent = 0;
    }
    if !cpuset_available(&r.cpuset_cpus, &host.cpus, "cpus")? {
        return Err(format!(
            "Requested CPUs are not available - requested {}, available: {}",
            r.cpuset_cpus, host.cpus
        ));
    }
    if !cpuset_available(&r.cpuset_mems, &host.mems, "mems")? {
        return Err(format!(
            "Requested memory nodes are not available - requested {}, available: {}",
            r.cpuset_mems, host.mems
        ));
    }

    if r.blkio_weight > 0 && !host.blkio_weight {
        warnings.push("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.".into());
        r.blkio_weight = 0;
    }
    if r.blkio_weight > 0 && !(10..=1000).contains(&r.blkio_weight) {
        return Err("Range of blkio weight is from 10 to 1000".into());
    }
    if !r.blkio_weight_device.is_empty() && !host.blkio_weight {
        warnings.push("Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.".into());
        r.blkio_weight_device.clear();
    }
    if r.io_maximum_bandwidth != 0 || r.io_maximum_iops != 0 {
        return Err(
            "Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps"
                .into(),
        );
    }
    for d in &r.blkio_weight_device {
        block_device(&d.path)?;
    }
    for list in [
        &r.blkio_device_read_bps,
        &r.blkio_device_write_bps,
        &r.blkio_device_read_iops,
        &r.blkio_device_write_iops,
    ] {
        for d in list {
            block_device(&d.path)?;
        }
    }
    Ok(warnings)
}

/// Go's wording of an OS error (`no such file or directory`), as Docker's messages
/// quote it.
fn os_reason(e: &std::io::Error) -> String {
    let Some(code) = e.raw_os_error() else {
        return e.to_string();
    };
    let desc = nix::errno::Errno::from_raw(code).desc();
    let mut chars = desc.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => desc.to_string(),
    }
}

/// The `major:minor` of the block device at `path` (symbolic links followed), for the
/// block IO limits, which the kernel keys by device number.
pub fn block_device(path: &str) -> Result<(u64, u64), String> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let meta = std::fs::metadata(path).map_err(|e| format!("stat {path}: {}", os_reason(&e)))?;
    if !meta.file_type().is_block_device() {
        return Err(format!(
            "{path} is not a block device: block IO limits apply to disks such as /dev/sda"
        ));
    }
    let dev = meta.rdev();
    Ok((nix::sys::stat::major(dev), nix::sys::stat::minor(dev)))
}

fn throttles(list: &[ThrottleDevice]) -> Result<Option<Vec<LinuxThrottleDevice>>, String> {
    if list.is_empty() {
        return Ok(None);
    }
    list.iter()
        .map(|d| {
            let (major, minor) = block_device(&d.path)?;
            LinuxThrottleDeviceBuilder::default()
                .major(major as i64)
                .minor(minor as i64)
                .rate(d.rate)
                .build()
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, String>>()
        .map(Some)
}

/// The memory, cpu, pids and blockIO sections of `linux.resources` for `r`, as Docker
/// passes them to its runtime; values that are unset stay out, so that a `live`
/// update changes only what it names. `live` also spells an unlimited pids limit out
/// (a new cgroup has none, a running one may).
pub fn linux(r: &Resources, live: bool) -> Result<LinuxResources, String> {
    let mut out = LinuxResources::default();
    let positive = |v: i64| (v > 0).then_some(v);
    let mut memory = LinuxMemory::default();
    memory.set_limit(positive(r.memory));
    memory.set_reservation(positive(r.memory_reservation));
    memory.set_swap((r.memory_swap != 0).then_some(r.memory_swap));
    memory.set_swappiness(r.memory_swappiness.and_then(|s| u64::try_from(s).ok()));
    memory.set_disable_oom_killer((r.oom_kill_disable == Some(true)).then_some(true));
    if memory != LinuxMemory::default() {
        out.set_memory(Some(memory));
    }
    let mut cpu = LinuxCpu::default();
    cpu.set_shares(positive(r.cpu_shares).map(|v| v as u64));
    if r.nano_cpus > 0 {
        // Docker's fixed 100 ms period; the quota is that share of it.
        let period: i64 = 100_000;
        cpu.set_period(Some(period as u64));
        cpu.set_quota(Some(r.nano_cpus * period / 1_000_000_000));
    } else {
        cpu.set_period(positive(r.cpu_period).map(|v| v as u64));
        cpu.set_quota((r.cpu_quota != 0).then_some(r.cpu_quota));
    }
    cpu.set_cpus((!r.cpuset_cpus.is_empty()).then(|| r.cpuset_cpus.clone()));
    cpu.set_mems((!r.cpuset_mems.is_empty()).then(|| r.cpuset_mems.clone()));
    if cpu != LinuxCpu::default() {
        out.set_cpu(Some(cpu));
    }
    let pids = |limit: i64| {
        let mut p = LinuxPids::default();
        p.set_limit(limit);
        p
    };
    match r.pids_limit {
        Some(limit) if limit > 0 => out.set_pids(Some(pids(limit))),
        Some(_) if live => out.set_pids(Some(pids(-1))),
        _ => &mut out,
    };
    let mut block_io = LinuxBlockIo::default();
    block_io.set_weight((r.blkio_weight > 0).then_some(r.blkio_weight));
    if !r.blkio_weight_device.is_empty() {
        let devices = r
            .blkio_weight_device
            .iter()
            .map(|d| {
                let (major, minor) = block_device(&d.path)?;
                LinuxWeightDeviceBuilder::default()
                    .major(major as i64)
                    .minor(minor as i64)
                    .weight(d.weight)
                    .build()
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, String>>()?;
        block_io.set_weight_device(Some(devices));
    }
    block_io.set_throttle_read_bps_device(throttles(&r.blkio_device_read_bps)?);
    block_io.set_throttle_write_bps_device(throttles(&r.blkio_device_write_bps)?);
    block_io.set_throttle_read_iops_device(throttles(&r.blkio_device_read_iops)?);
    block_io.set_throttle_write_iops_device(throttles(&r.blkio_device_write_iops)?);
    if block_io != LinuxBlockIo::default() {
        out.set_block_io(Some(block_io));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Host {
        Host {
            cgroup_v2: false,
            swap_limit: true,
            swappiness_and_oom_control: true,
            blkio_weight: true,
            ncpu: 2,
            cpus: "0-1".into(),
            mems: "0".into(),
        }
    }

    fn refused(r: Resources) -> String {
        let mut r = r;
        check(&mut r, &host(), false).unwrap_err()
    }

    #[test]
    fn docker_s_messages_for_bad_values() {
        let mib = 1 << 20;
        let cases: Vec<(Resources, &str)> = vec![
            (
                Resources {
                    memory: mib,
                    ..Default::default()
                },
                "Minimum memory limit allowed is 6MB",
            ),
            (
                Resources {
                    memory: 64 * mib,
                    memory_swap: 32 * mib,
                    ..Default::default()
                },
                "Minimum memoryswap limit should be larger than memory limit, see usage",
            ),
            (
                Resources {
                    memory_swap: 32 * mib,
                    ..Default::default()
                },
                "You should always set the Memory limit when using Memoryswap limit, see usage",
            ),
            (
                Resources {
                    memory_reservation: mib,
                    ..Default::default()
                },
                "Minimum memory reservation allowed is 6MB",
            ),
            (
                Resources {
                    memory: 16 * mib,
                    memory_reservation: 32 * mib,
                    ..Default::default()
                },
                "Minimum memory limit can not be less than memory reservation limit, see usage",
            ),
            (
                Resources {
                    memory_swappiness: Some(101),
                    ..Default::default()
                },
                "Invalid value: 101, valid memory swappiness range is 0-100",
            ),
            (
                Resources {
                    nano_cpus: 500_000_000,
                    cpu_period: 50_000,
                    ..Default::default()
                },
                "Conflicting options: Nano CPUs and CPU Period cannot both be set",
            ),
            (
                Resources {
                    nano_cpus: 500_000_000,
                    cpu_quota: 50_000,
                    ..Default::default()
                },
                "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
            ),
            (
                Resources {
                    nano_cpus: 3_000_000_000,
                    ..Default::default()
                },
                "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available",
            ),
            (
                Resources {
                    cpu_period: 999,
                    ..Default::default()
                },
                "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
            ),
            (
                Resources {
                    cpu_quota: 999,
                    ..Default::default()
                },
                "CPU cfs quota can not be less than 1ms (i.e. 1000)",
            ),
            (
                Resources {
                    cpuset_cpus: "0-7".into(),
                    ..Default::default()
                },
                "Requested CPUs are not available - requested 0-7, available: 0-1",
            ),
            (
                Resources {
                    cpuset_cpus: "a".into(),
                    ..Default::default()
                },
                "Invalid value a for cpuset cpus: invalid format: a",
            ),
            (
                Resources {
                    cpuset_mems: "1".into(),
                    ..Default::default()
                },
                "Requested memory nodes are not available - requested 1, available: 0",
            ),
            (
                Resources {
                    blkio_weight: 5,
                    ..Default::default()
                },
                "Range of blkio weight is from 10 to 1000",
            ),
            (
                Resources {
                    blkio_device_write_bps: vec![ThrottleDevice {
                        path: "/nonexistent/disk".into(),
                        rate: 1,
                    }],
                    ..Default::default()
                },
                "stat /nonexistent/disk: no such file or directory",
            ),
        ];
        for (r, message) in cases {
            assert_eq!(refused(r), message);
        }
        let not_block = Resources {
            blkio_device_read_iops: vec![ThrottleDevice {
                path: "/dev/null".into(),
                rate: 1,
            }],
            ..Default::default()
        };
        assert!(refused(not_block).starts_with("/dev/null is not a block device"));
        assert!(
            refused(Resources {
                cpuset_cpus: "0-9000".into(),
                ..Default::default()
            })
            .ends_with("value of out range, maximum is 8192")
        );
    }

    #[test]
    fn warnings_and_discarded_values() {
        let mut r = Resources {
            kernel_memory: 64 << 20,
            oom_kill_disable: Some(true),
            ..Default::default()
        };
        let w = check(&mut r, &host(), false).unwrap();
        assert_eq!(
            w,
            [
                "Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.",
                "OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources."
            ]
        );
        assert_eq!(r.kernel_memory, 0);
        // Without swap accounting the memory limit stands alone; v2 has no swappiness.
        let bare = Host {
            swap_limit: false,
            swappiness_and_oom_control: false,
            blkio_weight: false,
            ..host()
        };
        let mut r = Resources {
            memory: 64 << 20,
            memory_swappiness: Some(10),
            blkio_weight: 5,
            ..Default::default()
        };
        let w = check(&mut r, &bare, false).unwrap();
        assert_eq!(w.len(), 3, "{w:?}");
        assert_eq!(
            (r.memory_swap, r.memory_swappiness, r.blkio_weight),
            (-1, None, 0)
        );
        // An update may change the swap limit alone; -1 swappiness is "the default".
        let mut r = Resources {
            memory_swap: 64 << 20,
            memory_swappiness: Some(-1),
            ..Default::default()
        };
        assert!(check(&mut r, &host(), true).unwrap().is_empty());
        assert_eq!(r.memory_swappiness, None);
    }

    #[test]
    fn oci_sections_follow_docker() {
        let r = Resources {
            memory: 64 << 20,
            memory_swap: 128 << 20,
            memory_reservation: 32 << 20,
            nano_cpus: 1_500_000_000,
            cpu_shares: 512,
            cpuset_cpus: "0".into(),
            pids_limit: Some(-1),
            blkio_weight: 300,
            ..Default::default()
        };
        let out = serde_json::to_value(linux(&r, false).unwrap()).unwrap();
        assert_eq!(
            out,
            serde_json::json!({
                "memory": {"limit": 64 << 20, "reservation": 32 << 20, "swap": 128 << 20},
                "cpu": {"shares": 512, "period": 100_000, "quota": 150_000, "cpus": "0"},
                "blockIO": {"weight": 300},
            })
        );
        let live = linux(
            &Resources {
                pids_limit: Some(0),
                ..Default::default()
            },
            true,
        )
        .unwrap();
        assert_eq!(serde_json::to_value(live).unwrap(), serde_json::json!({"pids": {"limit": -1}}));
        assert_eq!(linux(&Resources::default(), true).unwrap(), LinuxResources::default());
    }

    #[test]
    fn throttled_devices_are_keyed_by_their_numbers() {
        // Any block device of the host will do; loop devices are block devices 7:N.
        if !std::path::Path::new("/dev/loop0").exists() {
            return;
        }
        let r = Resources {
            blkio_device_write_bps: vec![ThrottleDevice { path: "/dev/loop0".into(), rate: 1 << 20 }],
            ..Default::default()
        };
        let out = serde_json::to_value(linux(&r, false).unwrap()).unwrap();
        assert_eq!(
            out["blockIO"]["throttleWriteBpsDevice"],
            serde_json::json!([{"major": 7, "minor": 0, "rate": 1 << 20}])
        );
    }

    #[test]
    fn cpuset_lists_parse_like_docker() {
        assert_eq!(parse_cpuset("0-2,4", 8192).unwrap(), [0, 1, 2, 4]);
        assert_eq!(parse_cpuset("", 8192).unwrap(), Vec::<u64>::new());
        assert!(parse_cpuset("3-1", 8192).is_err());
        assert!(parse_cpuset("1,", 8192).is_err());
        assert!(cpuset_available("0,1", "0-1", "cpus").unwrap());
        assert!(!cpuset_available("2", "0-1", "cpus").unwrap());
    }
}
