//! cgroup v1 against a fake tree of controller directories in a temporary
//! directory: the interface files a v1 kernel creates with each cgroup are
//! made by hand, and the tests assert exactly what berth writes into them
//! for each of Docker's resource flags (memory, reservation, swap,
//! swappiness, OOM killer, CPU shares and bandwidth, cpuset, pids, block IO
//! weight and throttles).

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use cgroups::{Cgroup, Controller, Error, Hierarchy, parse_cgroups_path};
use common::read;
use oci_spec::runtime::{
    LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder,
    LinuxResourcesBuilder, LinuxThrottleDevice, LinuxThrottleDeviceBuilder,
    LinuxWeightDeviceBuilder,
};
use tempfile::TempDir;

const MIB: i64 = 1 << 20;
/// What a fresh v1 memory cgroup reports as "no limit" with 4 KiB pages.
const UNLIMITED: &str = "9223372036854771712";

/// The files a v1 kernel makes in a new cgroup of each controller, with
/// their initial values. `bfq` selects the block IO weight files of BFQ
/// (Linux 5.0+) instead of CFQ's.
fn kernel_files(controller: Controller, bfq: bool) -> Vec<(&'static str, &'static str)> {
    match controller {
        Controller::Memory => vec![
            ("memory.limit_in_bytes", UNLIMITED),
            ("memory.memsw.limit_in_bytes", UNLIMITED),
            ("memory.soft_limit_in_bytes", UNLIMITED),
            ("memory.swappiness", "60"),
            (
                "memory.oom_control",
                "oom_kill_disable 0\nunder_oom 0\noom_kill 0",
            ),
        ],
        Controller::Cpu => vec![
            ("cpu.shares", "1024"),
            ("cpu.cfs_period_us", "100000"),
            ("cpu.cfs_quota_us", "-1"),
        ],
        Controller::Cpuset => vec![("cpuset.cpus", "0-3"), ("cpuset.mems", "0")],
        Controller::Pids => vec![("pids.max", "max")],
        Controller::Blkio if bfq => vec![
            ("blkio.bfq.weight", "100"),
            ("blkio.bfq.weight_device", ""),
            ("blkio.throttle.read_bps_device", ""),
            ("blkio.throttle.write_bps_device", ""),
            ("blkio.throttle.read_iops_device", ""),
            ("blkio.throttle.write_iops_device", ""),
        ],
        Controller::Blkio => vec![
            ("blkio.weight", "500"),
            ("blkio.weight_device", ""),
            ("blkio.throttle.read_bps_device", ""),
            ("blkio.throttle.write_bps_device", ""),
            ("blkio.throttle.read_iops_device", ""),
            ("blkio.throttle.write_iops_device", ""),
        ],
        _ => Vec::new(),
    }
}

/// A fake v1 host with one hierarchy per controller under a temporary
/// directory, and the cgroup `/berth/<name>` already made with the kernel's
/// files in each.
fn fake_v1(name: &str, bfq: bool) -> (TempDir, Cgroup) {
    let root = tempfile::tempdir().unwrap();
    let controllers = [
        Controller::Memory,
        Controller::Cpu,
        Controller::Cpuset,
        Controller::Pids,
        Controller::Blkio,
    ];
    for c in controllers {
        let dir = root.path().join(c.name()).join("berth").join(name);
        fs::create_dir_all(&dir).unwrap();
        for (file, value) in kernel_files(c, bfq) {
            fs::write(dir.join(file), value).unwrap();
        }
        // The cpuset levels above need CPUs and memory nodes to copy down.
        if c == Controller::Cpuset {
            for level in [root.path().join("cpuset"), root.path().join("cpuset/berth")] {
                fs::write(level.join("cpuset.cpus"), "0-3").unwrap();
                fs::write(level.join("cpuset.mems"), "0").unwrap();
            }
        }
    }
    let h = Hierarchy::v1_at(controllers.map(|c| (c, root.path().join(c.name()))));
    let path = parse_cgroups_path(Some(&format!("/berth/{name}")), "unused", false).unwrap();
    let cg = h.cgroup(&path).unwrap();
    cg.create().unwrap();
    (root, cg)
}

fn dir(cg: &Cgroup, c: Controller) -> PathBuf {
    cg.path(c).unwrap().to_path_buf()
}

fn throttle(major: i64, minor: i64, rate: u64) -> Vec<LinuxThrottleDevice> {
    vec![
        LinuxThrottleDeviceBuilder::default()
            .major(major)
            .minor(minor)
            .rate(rate)
            .build()
            .unwrap(),
    ]
}

fn assert_files(dir: &Path, expect: &[(&str, &str)]) {
    for (file, value) in expect {
        assert_eq!(read(&dir.join(file)), *value, "{file}");
    }
}

#[test]
fn docker_resource_flags_reach_their_v1_files() {
    let (_root, cg) = fake_v1("flags", false);
    let r = LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .limit(64 * MIB)
                .reservation(32 * MIB)
                .swap(128 * MIB)
                .swappiness(10u64)
                .disable_oom_killer(true)
                .build()
                .unwrap(),
        )
        .cpu(
            LinuxCpuBuilder::default()
                .shares(512u64)
                .quota(50_000)
                .period(100_000u64)
                .cpus("1")
                .mems("0")
                .build()
                .unwrap(),
        )
        .pids(LinuxPidsBuilder::default().limit(42).build().unwrap())
        .block_io(
            LinuxBlockIoBuilder::default()
                .weight(300u16)
                .weight_device(vec![
                    LinuxWeightDeviceBuilder::default()
                        .major(8)
                        .minor(0)
                        .weight(700u16)
                        .build()
                        .unwrap(),
                ])
                .throttle_read_bps_device(throttle(8, 0, 1 << 20))
                .throttle_write_bps_device(throttle(8, 0, 2 << 20))
                .throttle_read_iops_device(throttle(8, 16, 100))
                .throttle_write_iops_device(throttle(8, 16, 200))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    cg.apply(&r).unwrap();
    assert_files(
        &dir(&cg, Controller::Memory),
        &[
            ("memory.limit_in_bytes", "67108864"),
            // OCI swap is memory+swap, exactly what memsw is.
            ("memory.memsw.limit_in_bytes", "134217728"),
            ("memory.soft_limit_in_bytes", "33554432"),
            ("memory.swappiness", "10"),
            ("memory.oom_control", "1"),
        ],
    );
    assert_files(
        &dir(&cg, Controller::Cpu),
        &[
            ("cpu.shares", "512"),
            ("cpu.cfs_period_us", "100000"),
            ("cpu.cfs_quota_us", "50000"),
        ],
    );
    assert_files(
        &dir(&cg, Controller::Cpuset),
        &[("cpuset.cpus", "1"), ("cpuset.mems", "0")],
    );
    assert_files(&dir(&cg, Controller::Pids), &[("pids.max", "42")]);
    assert_files(
        &dir(&cg, Controller::Blkio),
        &[
            ("blkio.weight", "300"),
            ("blkio.weight_device", "8:0 700"),
            ("blkio.throttle.read_bps_device", "8:0 1048576"),
            ("blkio.throttle.write_bps_device", "8:0 2097152"),
            ("blkio.throttle.read_iops_device", "8:16 100"),
            ("blkio.throttle.write_iops_device", "8:16 200"),
        ],
    );
}

#[test]
fn bfq_weights_and_a_live_update() {
    let (_root, cg) = fake_v1("update", true);
    let r = LinuxResourcesBuilder::default()
        .block_io(
            LinuxBlockIoBuilder::default()
                .weight(250u16)
                .build()
                .unwrap(),
        )
        .memory(
            LinuxMemoryBuilder::default()
                .limit(64 * MIB)
                .swap(128 * MIB)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    cg.apply(&r).unwrap();
    let blkio = dir(&cg, Controller::Blkio);
    // Without CFQ's blkio.weight, BFQ's file takes the same range.
    assert_eq!(read(&blkio.join("blkio.bfq.weight")), "250");
    assert!(!blkio.join("blkio.weight").exists());

    // `update`: a lower memory limit and pids limit, unlimited pids again
    // later; what is not named stays as it is.
    let r = LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .limit(32 * MIB)
                .swap(64 * MIB)
                .build()
                .unwrap(),
        )
        .pids(LinuxPidsBuilder::default().limit(10).build().unwrap())
        .cpu(
            LinuxCpuBuilder::default()
                .quota(20_000)
                .period(50_000u64)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    cg.apply(&r).unwrap();
    let memory = dir(&cg, Controller::Memory);
    assert_files(
        &memory,
        &[
            ("memory.limit_in_bytes", "33554432"),
            ("memory.memsw.limit_in_bytes", "67108864"),
        ],
    );
    assert_files(
        &dir(&cg, Controller::Cpu),
        &[
            ("cpu.cfs_quota_us", "20000"),
            ("cpu.cfs_period_us", "50000"),
            ("cpu.shares", "1024"),
        ],
    );
    assert_eq!(read(&dir(&cg, Controller::Pids).join("pids.max")), "10");
    let r = LinuxResourcesBuilder::default()
        .pids(LinuxPidsBuilder::default().limit(-1).build().unwrap())
        .build()
        .unwrap();
    cg.apply(&r).unwrap();
    assert_eq!(read(&dir(&cg, Controller::Pids).join("pids.max")), "max");
    assert_eq!(read(&memory.join("memory.limit_in_bytes")), "33554432");
}

#[test]
fn swap_below_memory_is_refused_before_any_write() {
    let (_root, cg) = fake_v1("refused", false);
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
    let err = cg.apply(&r).unwrap_err();
    assert!(matches!(err, Error::InvalidResource { .. }), "{err}");
    assert_eq!(
        read(&dir(&cg, Controller::Memory).join("memory.limit_in_bytes")),
        UNLIMITED
    );
}
