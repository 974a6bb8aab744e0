//! cgroup v1 on the real kernel. Needs root and a v1 (or hybrid) host;
//! otherwise each test prints a note and passes. Every test works on its
//! own `berth-cgtest-<pid>-<n>` cgroup at the hierarchy roots and removes it
//! (and kills its child process) through a drop guard, even on failure.

mod common;

use std::path::Path;

use cgroups::{CgroupVersion, Controller, Error, Hierarchy, parse_cgroups_path};
use common::{Guard, read, unique_name};
use oci_spec::runtime::{
    LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxDeviceCgroupBuilder, LinuxDeviceType,
    LinuxHugepageLimitBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResourcesBuilder,
    LinuxThrottleDeviceBuilder,
};

const MIB: i64 = 1 << 20;

/// The host's v1 hierarchy, or `None` (with a note) when these tests cannot
/// run here.
fn v1_host(needs: &[Controller]) -> Option<Hierarchy> {
    if !common::is_root() {
        eprintln!("note: skipping cgroup v1 test: not running as root");
        return None;
    }
    let h = match cgroups::detect() {
        Ok(h) if h.version() == CgroupVersion::V1 => h,
        Ok(_) => {
            eprintln!("note: skipping cgroup v1 test: this host uses cgroup v2");
            return None;
        }
        Err(e) => {
            eprintln!("note: skipping cgroup v1 test: {e}");
            return None;
        }
    };
    if let Some(c) = needs.iter().find(|c| h.mountpoint(**c).is_none()) {
        eprintln!("note: skipping cgroup v1 test: {} is not mounted", c.name());
        return None;
    }
    Some(h)
}

/// A new cgroup `/<unique name><suffix>` wrapped in a guard (nothing is
/// created yet).
fn new_guard(h: &Hierarchy) -> Guard {
    let name = unique_name();
    let path = parse_cgroups_path(None, &name, false).unwrap();
    Guard::new(h.cgroup(&path).unwrap())
}

#[test]
fn limits_processes_freezer_and_cleanup() {
    use Controller::*;
    let Some(h) = v1_host(&[Cpu, Cpuacct, Cpuset, Memory, Freezer, Pids]) else {
        return;
    };
    let mut g = new_guard(&h);
    g.cgroup.create().unwrap();
    let dirs: Vec<_> = g
        .cgroup
        .directories()
        .iter()
        .map(|d| d.to_path_buf())
        .collect();
    for dir in &dirs {
        assert!(dir.is_dir(), "{} not created", dir.display());
    }

    let r = LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .limit(64 * MIB)
                .build()
                .unwrap(),
        )
        .pids(LinuxPidsBuilder::default().limit(20).build().unwrap())
        .cpu(
            LinuxCpuBuilder::default()
                .shares(512u64)
                .quota(50_000)
                .period(100_000u64)
                .cpus("0")
                .mems("0")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    g.cgroup.apply(&r).unwrap();
    let cgroup = g.cgroup.clone();
    let file = |c: Controller, f: &str| read(&cgroup.path(c).unwrap().join(f));
    assert_eq!(
        file(Memory, "memory.limit_in_bytes"),
        (64 * MIB).to_string()
    );
    assert_eq!(file(Pids, "pids.max"), "20");
    assert_eq!(file(Cpu, "cpu.shares"), "512");
    assert_eq!(file(Cpu, "cpu.cfs_period_us"), "100000");
    assert_eq!(file(Cpu, "cpu.cfs_quota_us"), "50000");
    assert_eq!(file(Cpuset, "cpuset.cpus"), "0");
    assert_eq!(file(Cpuset, "cpuset.mems"), "0");

    let pid = g.spawn_sleep();
    g.cgroup.add_process(pid).unwrap();
    assert!(g.cgroup.pids().unwrap().contains(&pid));
    for dir in &dirs {
        let procs = read(&dir.join("cgroup.procs"));
        assert!(
            procs.lines().any(|l| l == pid.to_string()),
            "{}",
            dir.display()
        );
    }

    let stats = g.cgroup.stats().unwrap();
    let pids = stats.pids.unwrap();
    assert_eq!((pids.current, pids.limit), (1, Some(20)));
    let memory = stats.memory.unwrap();
    assert_eq!(memory.limit, Some(64 << 20));
    assert_eq!(memory.oom_kill, Some(0));
    assert!(stats.cpu.unwrap().throttling.is_some());
    assert!(stats.io.is_some());

    g.cgroup.freeze().unwrap();
    assert_eq!(file(Freezer, "freezer.state"), "FROZEN");
    assert!(g.cgroup.is_frozen().unwrap());
    g.cgroup.thaw().unwrap();
    assert_eq!(file(Freezer, "freezer.state"), "THAWED");
    assert!(!g.cgroup.is_frozen().unwrap());

    // Live update of a running container.
    let r = LinuxResourcesBuilder::default()
        .pids(LinuxPidsBuilder::default().limit(0).build().unwrap())
        .memory(LinuxMemoryBuilder::default().limit(-1).build().unwrap())
        .build()
        .unwrap();
    g.cgroup.apply(&r).unwrap();
    assert_eq!(file(Pids, "pids.max"), "max");
    assert_eq!(g.cgroup.stats().unwrap().memory.unwrap().limit, None);

    g.kill_child();
    g.cgroup.destroy().unwrap();
    for dir in &dirs {
        assert!(!dir.exists(), "{} still exists", dir.display());
    }
}

#[test]
fn memory_and_swap_are_written_in_a_kernel_acceptable_order() {
    let Some(h) = v1_host(&[Controller::Memory]) else {
        return;
    };
    let g = new_guard(&h);
    g.cgroup.create().unwrap();
    let dir = g.cgroup.path(Controller::Memory).unwrap().to_path_buf();
    if !dir.join("memory.memsw.limit_in_bytes").exists() {
        eprintln!("note: skipping swap ordering test: swap accounting is off");
        return;
    }
    let set = |limit: i64, swap: i64| {
        let r = LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(limit)
                    .swap(swap)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        g.cgroup.apply(&r).unwrap();
        assert_eq!(read(&dir.join("memory.limit_in_bytes")), limit.to_string());
        assert_eq!(
            read(&dir.join("memory.memsw.limit_in_bytes")),
            swap.to_string()
        );
    };
    set(64 * MIB, 128 * MIB);
    // Raising both: memory first would exceed the old memsw limit.
    set(256 * MIB, 512 * MIB);
    // Lowering both: memsw first would drop below the old memory limit.
    set(32 * MIB, 48 * MIB);
    // memory+swap below memory is refused before touching the kernel.
    let r = LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .limit(64 * MIB)
                .swap(32 * MIB)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    assert!(matches!(
        g.cgroup.apply(&r).unwrap_err(),
        Error::InvalidResource { .. }
    ));
    assert_eq!(
        read(&dir.join("memory.limit_in_bytes")),
        (32 * MIB).to_string()
    );

    let r = LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .reservation(16 * MIB)
                .swappiness(10u64)
                .disable_oom_killer(true)
                .kernel(8 * MIB)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    g.cgroup.apply(&r).unwrap();
    assert_eq!(
        read(&dir.join("memory.soft_limit_in_bytes")),
        (16 * MIB).to_string()
    );
    assert_eq!(read(&dir.join("memory.swappiness")), "10");
    assert!(read(&dir.join("memory.oom_control")).contains("oom_kill_disable 1"));
}

#[test]
fn device_rules() {
    let Some(h) = v1_host(&[Controller::Devices]) else {
        return;
    };
    let g = new_guard(&h);
    g.cgroup.create().unwrap();
    let rule = |allow: bool,
                typ: Option<LinuxDeviceType>,
                major: Option<i64>,
                minor: Option<i64>,
                access: &str| {
        let mut b = LinuxDeviceCgroupBuilder::default()
            .allow(allow)
            .access(access);
        if let Some(t) = typ {
            b = b.typ(t);
        }
        if let Some(m) = major {
            b = b.major(m);
        }
        if let Some(m) = minor {
            b = b.minor(m);
        }
        b.build().unwrap()
    };
    let r = LinuxResourcesBuilder::default()
        .devices(vec![
            rule(false, None, None, None, "rwm"),
            rule(true, Some(LinuxDeviceType::C), Some(1), Some(3), "rwm"),
            rule(true, Some(LinuxDeviceType::C), Some(136), None, "rw"),
            rule(true, Some(LinuxDeviceType::C), Some(1), Some(5), "rwm"),
            rule(false, Some(LinuxDeviceType::C), Some(1), Some(5), "w"),
        ])
        .build()
        .unwrap();
    g.cgroup.apply(&r).unwrap();
    let list = read(
        &g.cgroup
            .path(Controller::Devices)
            .unwrap()
            .join("devices.list"),
    );
    let mut lines: Vec<&str> = list.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["c 136:* rw", "c 1:3 rwm", "c 1:5 rm"]);
}

#[test]
fn blkio_throttle_and_missing_controllers() {
    let Some(h) = v1_host(&[Controller::Blkio]) else {
        return;
    };
    let g = new_guard(&h);
    g.cgroup.create().unwrap();
    // Throttling needs a real block device: take the first non-loop disk.
    let device = std::fs::read_dir("/sys/block")
        .unwrap()
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with("loop"))
        .find_map(|e| std::fs::read_to_string(e.path().join("dev")).ok());
    if let Some(device) = device {
        let (major, minor) = device.trim().split_once(':').unwrap();
        let (major, minor): (i64, i64) = (major.parse().unwrap(), minor.parse().unwrap());
        let t = LinuxThrottleDeviceBuilder::default()
            .major(major)
            .minor(minor)
            .rate(1u64 << 20)
            .build()
            .unwrap();
        let r = LinuxResourcesBuilder::default()
            .block_io(
                LinuxBlockIoBuilder::default()
                    .throttle_read_bps_device(vec![t])
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        g.cgroup.apply(&r).unwrap();
        let dir = g.cgroup.path(Controller::Blkio).unwrap();
        assert_eq!(
            read(&dir.join("blkio.throttle.read_bps_device")),
            format!("{major}:{minor} 1048576")
        );
    }

    // hugetlb is not mounted on the test host; the request must say so.
    if h.mountpoint(Controller::Hugetlb).is_none() {
        let r = LinuxResourcesBuilder::default()
            .hugepage_limits(vec![
                LinuxHugepageLimitBuilder::default()
                    .page_size("2MB")
                    .limit(MIB)
                    .build()
                    .unwrap(),
            ])
            .build()
            .unwrap();
        let err = g.cgroup.apply(&r).unwrap_err();
        assert!(
            matches!(
                err,
                Error::ControllerNotMounted {
                    controller: "hugetlb",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("hugetlb limit requested"), "{err}");
    }
    let r = LinuxResourcesBuilder::default()
        .unified(std::collections::HashMap::from([(
            "memory.high".to_string(),
            "1".to_string(),
        )]))
        .build()
        .unwrap();
    assert!(matches!(
        g.cgroup.apply(&r).unwrap_err(),
        Error::Unsupported { .. }
    ));
}

#[test]
fn nested_cpuset_levels_get_cpus_and_mems() {
    let Some(h) = v1_host(&[Controller::Cpuset]) else {
        return;
    };
    // The guard owns the top level: destroying it removes the child too.
    let top = unique_name();
    let g = Guard::new(
        h.cgroup(&parse_cgroups_path(Some(&format!("/{top}")), "x", false).unwrap())
            .unwrap(),
    );
    let inner = h
        .cgroup(&parse_cgroups_path(Some(&format!("/{top}/a/b")), "x", false).unwrap())
        .unwrap();
    inner.create().unwrap();
    let root = h.mountpoint(Controller::Cpuset).unwrap();
    for level in [top.clone(), format!("{top}/a"), format!("{top}/a/b")] {
        let dir = root.join(&level);
        assert_eq!(
            read(&dir.join("cpuset.cpus")),
            read(&root.join("cpuset.cpus")),
            "{level}"
        );
        assert_eq!(
            read(&dir.join("cpuset.mems")),
            read(&root.join("cpuset.mems")),
            "{level}"
        );
    }
    // A process can join the innermost level (it could not with empty
    // cpus/mems: ENOSPC).
    let mut g = g;
    let pid = g.spawn_sleep();
    inner.add_process(pid).unwrap();
    assert_eq!(g.cgroup.pids().unwrap(), [pid]);
    g.kill_child();
    g.cgroup.destroy().unwrap();
    assert!(!Path::new(&root.join(&top)).exists());
}
