//! Conversions from OCI `linux.resources` values to the strings cgroup files
//! take, shared by the v1 and v2 back ends, and the list of controllers a
//! resource request needs.
//!
//! Like runc, a value of 0 for the memory limit, reservation and swap, CPU
//! shares, quota, period and realtime knobs, and block-IO weights means
//! "not set": nothing is written for it. Everything here is pure so it can
//! be unit tested without a kernel.

use std::collections::BTreeMap;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use crate::Controller;

/// `Some(v)` unless `v` is 0 (runc's "unset").
pub(crate) fn set<T: Default + PartialEq>(v: Option<T>) -> Option<T> {
    v.filter(|v| *v != T::default())
}

/// Whether any memory knob this crate writes is requested. `kernel` and
/// `kernelTCP` are deprecated and ignored, `disableOOMKiller: false` writes
/// nothing.
pub(crate) fn memory_requested(m: &LinuxMemory) -> bool {
    set(m.limit()).is_some()
        || set(m.reservation()).is_some()
        || set(m.swap()).is_some()
        || m.swappiness().is_some()
        || m.disable_oom_killer() == Some(true)
}

/// Whether any knob of the `cpu` controller is requested.
pub(crate) fn cpu_requested(c: &LinuxCpu) -> bool {
    set(c.shares()).is_some()
        || set(c.quota()).is_some()
        || set(c.period()).is_some()
        || c.burst().is_some()
        || set(c.realtime_runtime()).is_some()
        || set(c.realtime_period()).is_some()
        || c.idle().is_some()
}

/// The `cpuset.cpus` / `cpuset.mems` values requested, if any.
pub(crate) fn cpuset_values(c: &LinuxCpu) -> (Option<&str>, Option<&str>) {
    fn nonempty(s: &Option<String>) -> Option<&str> {
        s.as_deref().filter(|s| !s.trim().is_empty())
    }
    (nonempty(c.cpus()), nonempty(c.mems()))
}

/// Whether any block IO knob is requested.
pub(crate) fn blkio_requested(b: &LinuxBlockIo) -> bool {
    set(b.weight()).is_some()
        || set(b.leaf_weight()).is_some()
        || nonempty(b.weight_device())
        || nonempty(b.throttle_read_bps_device())
        || nonempty(b.throttle_write_bps_device())
        || nonempty(b.throttle_read_iops_device())
        || nonempty(b.throttle_write_iops_device())
}

/// Whether an optional list has entries.
pub(crate) fn nonempty<T>(v: &Option<Vec<T>>) -> bool {
    v.as_ref().is_some_and(|v| !v.is_empty())
}

/// The controllers `resources` needs, each with a description of the first
/// thing that needs it (for error messages), in a stable order.
pub(crate) fn requested_controllers(r: &LinuxResources) -> Vec<(Controller, &'static str)> {
    let mut out = Vec::new();
    if let Some(cpu) = r.cpu() {
        let (cpus, mems) = cpuset_values(cpu);
        if cpus.is_some() || mems.is_some() {
            out.push((Controller::Cpuset, "cpuset"));
        }
    }
    if nonempty(r.devices()) {
        out.push((Controller::Devices, "device rules"));
    }
    if r.memory().as_ref().is_some_and(memory_requested) {
        out.push((Controller::Memory, "memory limit"));
    }
    if r.cpu().as_ref().is_some_and(cpu_requested) {
        out.push((Controller::Cpu, "cpu limit"));
    }
    if r.pids().is_some() {
        out.push((Controller::Pids, "pids limit"));
    }
    if r.block_io().as_ref().is_some_and(blkio_requested) {
        out.push((Controller::Blkio, "block IO limit"));
    }
    if nonempty(r.hugepage_limits()) {
        out.push((Controller::Hugetlb, "hugetlb limit"));
    }
    out
}

/// A limit for a v2 file: -1 is `max`, other negative values are invalid.
pub(crate) fn v2_limit(v: i64) -> Result<String, String> {
    match v {
        -1 => Ok("max".to_string()),
        v if v < 0 => Err(format!("{v} is negative (use -1 for unlimited)")),
        v => Ok(v.to_string()),
    }
}

/// `pids.max`: a limit of 0 or less means unlimited.
pub(crate) fn pids_max(limit: i64) -> String {
    if limit <= 0 {
        "max".to_string()
    } else {
        limit.to_string()
    }
}

/// Which memory file a v1 write goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum V1MemFile {
    /// `memory.limit_in_bytes`
    Limit,
    /// `memory.memsw.limit_in_bytes`
    MemSw,
}

impl V1MemFile {
    pub(crate) fn name(self) -> &'static str {
        match self {
            V1MemFile::Limit => "memory.limit_in_bytes",
            V1MemFile::MemSw => "memory.memsw.limit_in_bytes",
        }
    }
}

/// Plans the cgroup v1 writes for the memory limit and the memory+swap
/// limit (OCI's `swap` is memory+swap, exactly what `memsw` is), in the
/// order the kernel will accept.
///
/// The kernel keeps `memory.limit_in_bytes <= memory.memsw.limit_in_bytes`
/// at every moment and rejects (EINVAL) any single write that would break
/// it. So when the new memsw limit is above the current memory limit (we
/// are raising), memsw must be written first to make room; otherwise
/// (lowering) the memory limit must shrink first. This is runc's rule.
///
/// `memsw_supported` says whether `memory.memsw.*` exists (swap accounting
/// on); `current_limit` is the present `memory.limit_in_bytes`. A memory
/// limit of -1 with no swap value also lifts the swap limit, as runc does.
pub(crate) fn v1_memory_writes(
    limit: Option<i64>,
    swap: Option<i64>,
    memsw_supported: bool,
    current_limit: u64,
) -> Result<Vec<(V1MemFile, String)>, String> {
    for (what, v) in [("memory limit", limit), ("memory+swap limit", swap)] {
        if let Some(v) = v.filter(|v| *v < -1) {
            return Err(format!("{what} {v} is negative (use -1 for unlimited)"));
        }
    }
    let swap = match (limit, swap) {
        (Some(-1), None) if memsw_supported => Some(-1),
        _ => swap,
    };
    if swap.is_some() && !memsw_supported {
        return Err(
            "a memory+swap limit is requested but memory.memsw.limit_in_bytes does not exist \
             (swap accounting is off; boot with swapaccount=1)"
                .to_string(),
        );
    }
    match (limit, swap) {
        (Some(l), Some(s)) => {
            if l == -1 && s != -1 {
                return Err(format!(
                    "memory+swap limit {s} is set but the memory limit is unlimited"
                ));
            }
            if l != -1 && s != -1 && s < l {
                return Err(format!(
                    "memory+swap limit {s} must be at least the memory limit {l}"
                ));
            }
            let raising = s == -1 || u64::try_from(s).is_ok_and(|s| current_limit < s);
            let (l, s) = (
                (V1MemFile::Limit, l.to_string()),
                (V1MemFile::MemSw, s.to_string()),
            );
            Ok(if raising { vec![s, l] } else { vec![l, s] })
        }
        (Some(l), None) => Ok(vec![(V1MemFile::Limit, l.to_string())]),
        (None, Some(s)) => Ok(vec![(V1MemFile::MemSw, s.to_string())]),
        (None, None) => Ok(Vec::new()),
    }
}

/// `memory.swap.max` from OCI's memory+swap `swap` and the memory `limit`
/// (both already filtered through [`set`]), as runc converts it: v2 limits
/// swap alone, so the value is `swap - limit`; -1 is `max`; an unlimited
/// memory limit with no swap value also lifts the swap limit.
pub(crate) fn v2_swap_max(limit: Option<i64>, swap: Option<i64>) -> Result<Option<String>, String> {
    match (limit, swap) {
        (Some(-1), None) => Ok(Some("max".to_string())),
        (_, None) => Ok(None),
        (_, Some(-1)) => Ok(Some("max".to_string())),
        (_, Some(s)) if s < 0 => Err(format!("memory+swap limit {s} is negative")),
        (None | Some(-1), Some(_)) => {
            Err("a memory+swap limit needs a memory limit on cgroup v2".to_string())
        }
        (Some(l), Some(_)) if l < 0 => Err(format!("memory limit {l} is negative")),
        (Some(l), Some(s)) if s < l => Err(format!(
            "memory+swap limit {s} must be at least the memory limit {l}"
        )),
        (Some(l), Some(s)) => Ok(Some((s - l).to_string())),
    }
}

/// CPU shares (v1, 2..=262144) to `cpu.weight` (v2, 1..=10000), runc's
/// linear mapping: `1 + ((shares - 2) * 9999) / 262142`. Out-of-range shares
/// are clamped first, as the kernel would clamp them on v1.
pub(crate) fn shares_to_weight(shares: u64) -> u64 {
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}

/// Block IO weight (v1, 10..=1000) to `io.weight` (v2, 1..=10000), runc's
/// mapping `1 + (weight - 10) * 9999 / 990`, after clamping.
pub(crate) fn blkio_weight_to_io_weight(weight: u16) -> u64 {
    let weight = u64::from(weight).clamp(10, 1000);
    1 + (weight - 10) * 9999 / 990
}

/// `cpu.max`: `"<quota> <period>"`, `"max"` for a quota of 0 or less; the
/// period is left out (the kernel keeps the current one) when not given.
/// `None` when neither is set.
pub(crate) fn cpu_max(quota: Option<i64>, period: Option<u64>) -> Option<String> {
    if quota.is_none() && period.is_none() {
        return None;
    }
    let quota = quota
        .filter(|q| *q > 0)
        .map_or_else(|| "max".to_string(), |q| q.to_string());
    Some(match period {
        Some(p) => format!("{quota} {p}"),
        None => quota,
    })
}

/// A device number from the spec, which must not be negative.
pub(crate) fn device_number(n: i64, what: &str) -> Result<u64, String> {
    u64::try_from(n).map_err(|_| format!("{what} device number {n} is negative"))
}

/// One `io.max` line per device, combining every throttle of that device:
/// `"8:0 rbps=1048576 wbps=max riops=100"`. A rate of 0 (which removes the
/// limit on v1) becomes `max`, as v2 rejects 0.
pub(crate) fn io_max_lines(b: &LinuxBlockIo) -> Result<Vec<String>, String> {
    let mut per_device: BTreeMap<(u64, u64), [Option<u64>; 4]> = BTreeMap::new();
    let lists = [
        b.throttle_read_bps_device(),
        b.throttle_write_bps_device(),
        b.throttle_read_iops_device(),
        b.throttle_write_iops_device(),
    ];
    for (slot, list) in lists.into_iter().enumerate() {
        for dev in list.iter().flatten() {
            let key = (
                device_number(dev.major(), "major")?,
                device_number(dev.minor(), "minor")?,
            );
            per_device.entry(key).or_default()[slot] = Some(dev.rate());
        }
    }
    Ok(per_device
        .into_iter()
        .map(|((major, minor), rates)| {
            let mut line = format!("{major}:{minor}");
            for (name, rate) in ["rbps", "wbps", "riops", "wiops"].into_iter().zip(rates) {
                match rate {
                    Some(0) => line.push_str(&format!(" {name}=max")),
                    Some(r) => line.push_str(&format!(" {name}={r}")),
                    None => {}
                }
            }
            line
        })
        .collect())
}

/// A hugepage size as used in file names (`2MB`, `1GB`, `64KB`): letters and
/// digits only, so it cannot smuggle a path.
pub(crate) fn check_page_size(size: &str) -> Result<(), String> {
    if !size.is_empty() && size.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(format!(
            "hugepage size {size:?} is not of the form 2MB, 1GB, ..."
        ))
    }
}

/// A key of the v2 `unified` map must be a plain interface file name of the
/// form `controller.knob` in the cgroup's own directory.
pub(crate) fn check_unified_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.contains('/') || key.contains('\0') || key == "." || key == ".." {
        return Err(format!("unified key {key:?} is not a plain file name"));
    }
    match key.split_once('.') {
        Some((c, k)) if !c.is_empty() && !k.is_empty() => Ok(()),
        _ => Err(format!(
            "unified key {key:?} must have the form CONTROLLER.KNOB"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxBlockIoBuilder, LinuxThrottleDevice, LinuxThrottleDeviceBuilder};

    fn throttle(major: i64, minor: i64, rate: u64) -> LinuxThrottleDevice {
        LinuxThrottleDeviceBuilder::default()
            .major(major)
            .minor(minor)
            .rate(rate)
            .build()
            .unwrap()
    }

    #[test]
    fn v1_memory_write_order() {
        use V1MemFile::*;
        let mib = 1 << 20;
        // Raising both from 64M: memsw first, or memory > memsw for a moment.
        assert_eq!(
            v1_memory_writes(Some(256 * mib), Some(512 * mib), true, 64 * mib as u64).unwrap(),
            vec![
                (MemSw, (512 * mib).to_string()),
                (Limit, (256 * mib).to_string())
            ]
        );
        // Lowering from 256M: memory first.
        assert_eq!(
            v1_memory_writes(Some(32 * mib), Some(48 * mib), true, 256 * mib as u64).unwrap(),
            vec![
                (Limit, (32 * mib).to_string()),
                (MemSw, (48 * mib).to_string())
            ]
        );
        // Unlimited swap is always "raising".
        assert_eq!(
            v1_memory_writes(Some(mib), Some(-1), true, u64::MAX).unwrap(),
            vec![(MemSw, "-1".into()), (Limit, mib.to_string())]
        );
        // memory -1 without swap lifts swap too (when accounting is on).
        assert_eq!(
            v1_memory_writes(Some(-1), None, true, 0).unwrap(),
            vec![(MemSw, "-1".into()), (Limit, "-1".into())]
        );
        assert_eq!(
            v1_memory_writes(Some(-1), None, false, 0).unwrap(),
            vec![(Limit, "-1".into())]
        );
        assert_eq!(
            v1_memory_writes(Some(mib), None, false, 0).unwrap(),
            vec![(Limit, mib.to_string())]
        );
        assert!(v1_memory_writes(Some(2 * mib), Some(mib), true, 0).is_err());
        assert!(v1_memory_writes(None, Some(mib), false, 0).is_err());
        assert!(v1_memory_writes(Some(-1), Some(mib), true, 0).is_err());
        assert!(v1_memory_writes(Some(-7), None, true, 0).is_err());
    }

    #[test]
    fn v2_swap_conversion() {
        assert_eq!(
            v2_swap_max(Some(100), Some(300)).unwrap().as_deref(),
            Some("200")
        );
        assert_eq!(
            v2_swap_max(Some(100), Some(100)).unwrap().as_deref(),
            Some("0")
        );
        assert_eq!(
            v2_swap_max(Some(100), Some(-1)).unwrap().as_deref(),
            Some("max")
        );
        assert_eq!(v2_swap_max(Some(-1), None).unwrap().as_deref(), Some("max"));
        assert_eq!(v2_swap_max(Some(100), None).unwrap(), None);
        assert!(v2_swap_max(None, Some(100)).is_err());
        assert!(v2_swap_max(Some(-1), Some(100)).is_err());
        assert!(v2_swap_max(Some(200), Some(100)).is_err());
    }

    #[test]
    fn weight_conversions_match_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(512), 20);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(1), 1);
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(500), 4950);
        assert_eq!(blkio_weight_to_io_weight(1000), 10_000);
    }

    #[test]
    fn cpu_max_strings() {
        assert_eq!(
            cpu_max(Some(50_000), Some(100_000)).as_deref(),
            Some("50000 100000")
        );
        assert_eq!(
            cpu_max(Some(-1), Some(100_000)).as_deref(),
            Some("max 100000")
        );
        assert_eq!(cpu_max(Some(20_000), None).as_deref(), Some("20000"));
        assert_eq!(cpu_max(None, Some(10_000)).as_deref(), Some("max 10000"));
        assert_eq!(cpu_max(None, None), None);
    }

    #[test]
    fn io_max_combines_per_device() {
        let b = LinuxBlockIoBuilder::default()
            .throttle_read_bps_device(vec![throttle(8, 0, 1000), throttle(8, 16, 5)])
            .throttle_write_bps_device(vec![throttle(8, 0, 0)])
            .throttle_write_iops_device(vec![throttle(8, 0, 30)])
            .build()
            .unwrap();
        assert_eq!(
            io_max_lines(&b).unwrap(),
            ["8:0 rbps=1000 wbps=max wiops=30", "8:16 rbps=5"]
        );
        let b = LinuxBlockIoBuilder::default()
            .throttle_read_iops_device(vec![throttle(-1, 0, 1)])
            .build()
            .unwrap();
        assert!(io_max_lines(&b).is_err());
    }

    #[test]
    fn small_conversions() {
        assert_eq!(pids_max(0), "max");
        assert_eq!(pids_max(-1), "max");
        assert_eq!(pids_max(20), "20");
        assert_eq!(v2_limit(-1).unwrap(), "max");
        assert!(v2_limit(-2).is_err());
        assert!(check_page_size("2MB").is_ok());
        assert!(check_page_size("../x").is_err());
        assert!(check_page_size("").is_err());
        assert!(check_unified_key("memory.high").is_ok());
        for bad in ["", "memory", "../memory.max", "a/b.c", ".max", "memory."] {
            assert!(check_unified_key(bad).is_err(), "{bad}");
        }
    }
}
