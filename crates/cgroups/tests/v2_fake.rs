//! cgroup v2 against a fake cgroupfs tree in a temporary directory: the
//! files a v2 kernel would have are created by hand, and the tests assert
//! exactly what berth writes into them.

mod common;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use cgroups::{Cgroup, CgroupVersion, Controller, Error, Hierarchy, parse_cgroups_path};
use common::read;
use oci_spec::runtime::{
    LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxDeviceCgroupBuilder, LinuxDeviceType,
    LinuxHugepageLimitBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources,
    LinuxResourcesBuilder, LinuxThrottleDeviceBuilder, LinuxWeightDeviceBuilder,
};
use tempfile::TempDir;

const ALL_CONTROLLERS: &str = "cpuset cpu io memory hugetlb pids";

/// A fake v2 root offering `controllers`.
fn fake_root(controllers: &str) -> (TempDir, Hierarchy) {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("cgroup.controllers"),
        format!("{controllers}\n"),
    )
    .unwrap();
    fs::write(dir.path().join("cgroup.subtree_control"), "").unwrap();
    fs::write(dir.path().join("cgroup.procs"), "").unwrap();
    let h = Hierarchy::v2_at(dir.path().to_path_buf());
    (dir, h)
}

fn cgroup(h: &Hierarchy, path: &str) -> Cgroup {
    h.cgroup(&parse_cgroups_path(Some(path), "unused", false).unwrap())
        .unwrap()
}

fn dir_of(cg: &Cgroup) -> PathBuf {
    cg.path(Controller::Memory).unwrap().to_path_buf()
}

fn full_resources() -> LinuxResources {
    let mib = 1 << 20;
    let throttle = |rate: u64| {
        vec![
            LinuxThrottleDeviceBuilder::default()
                .major(8)
                .minor(0)
                .rate(rate)
                .build()
                .unwrap(),
        ]
    };
    LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .limit(64 * mib)
                .reservation(32 * mib)
                .swap(128 * mib)
                .swappiness(60u64)
                .disable_oom_killer(true)
                .kernel(16 * mib)
                .build()
                .unwrap(),
        )
        .cpu(
            LinuxCpuBuilder::default()
                .shares(1024u64)
                .quota(50_000)
                .period(100_000u64)
                .cpus("0-1")
                .mems("0")
                .build()
                .unwrap(),
        )
        .pids(LinuxPidsBuilder::default().limit(20).build().unwrap())
        .block_io(
            LinuxBlockIoBuilder::default()
                .weight(500u16)
                .leaf_weight(300u16)
                .throttle_read_bps_device(throttle(1 << 20))
                .throttle_write_iops_device(throttle(100))
                .build()
                .unwrap(),
        )
        .hugepage_limits(vec![
            LinuxHugepageLimitBuilder::default()
                .page_size("2MB")
                .limit(1i64 << 30)
                .build()
                .unwrap(),
        ])
        .unified(HashMap::from([(
            "memory.high".to_string(),
            "50331648".to_string(),
        )]))
        .build()
        .unwrap()
}

#[test]
fn create_enables_controllers_in_every_ancestor() {
    let (root, h) = fake_root(ALL_CONTROLLERS);
    assert_eq!(h.version(), CgroupVersion::V2);
    let cg = cgroup(&h, "/berth/pod/ctr");
    assert_eq!(cg.version(), CgroupVersion::V2);
    cg.create().unwrap();
    let expected = "+memory +cpu +cpuset +pids +io +hugetlb";
    for ancestor in ["", "berth", "berth/pod"] {
        let file = root.path().join(ancestor).join("cgroup.subtree_control");
        assert_eq!(read(&file), expected, "{}", file.display());
    }
    let leaf = root.path().join("berth/pod/ctr");
    assert!(leaf.is_dir());
    assert_eq!(dir_of(&cg), leaf);
    // The leaf holds processes: no controllers are enabled below it.
    assert!(!leaf.join("cgroup.subtree_control").exists());
    // Creating again changes nothing.
    cg.create().unwrap();
    assert_eq!(read(&root.path().join("cgroup.subtree_control")), expected);
}

#[test]
fn create_enables_only_what_the_root_offers() {
    let (root, h) = fake_root("memory pids rdma");
    let cg = cgroup(&h, "/a/b");
    cg.create().unwrap();
    assert_eq!(
        read(&root.path().join("cgroup.subtree_control")),
        "+memory +pids"
    );
    assert_eq!(
        read(&root.path().join("a/cgroup.subtree_control")),
        "+memory +pids"
    );
}

#[test]
fn apply_writes_every_v2_file() {
    let (_root, h) = fake_root(ALL_CONTROLLERS);
    let cg = cgroup(&h, "/berth/full");
    cg.create().unwrap();
    cg.apply(&full_resources()).unwrap();
    let dir = dir_of(&cg);
    let expect = [
        ("memory.max", "67108864"),
        ("memory.low", "33554432"),
        // OCI swap is memory+swap: 128M - 64M of swap.
        ("memory.swap.max", "67108864"),
        // 1 + (1024 - 2) * 9999 / 262142
        ("cpu.weight", "39"),
        ("cpu.max", "50000 100000"),
        ("cpuset.cpus", "0-1"),
        ("cpuset.mems", "0"),
        ("pids.max", "20"),
        // 1 + (500 - 10) * 9999 / 990
        ("io.weight", "4950"),
        ("io.max", "8:0 rbps=1048576 wiops=100"),
        ("hugetlb.2MB.max", "1073741824"),
        ("memory.high", "50331648"),
    ];
    for (file, value) in expect {
        assert_eq!(read(&dir.join(file)), value, "{file}");
    }
    // No v2 interface: nothing written for these.
    for absent in [
        "memory.swappiness",
        "memory.oom_control",
        "memory.kmem.limit_in_bytes",
        "hugetlb.2MB.rsvd.max",
        "io.bfq.weight",
        "cpu.idle",
        "cpu.max.burst",
    ] {
        assert!(!dir.join(absent).exists(), "{absent} was created");
    }
}

#[test]
fn live_update_and_special_values() {
    let (_root, h) = fake_root(ALL_CONTROLLERS);
    let cg = cgroup(&h, "/berth/update");
    cg.create().unwrap();
    let dir = dir_of(&cg);
    fs::write(dir.join("hugetlb.1GB.rsvd.max"), "max\n").unwrap();
    fs::write(dir.join("io.bfq.weight"), "default 100\n").unwrap();
    let r = LinuxResourcesBuilder::default()
        .memory(LinuxMemoryBuilder::default().limit(-1).build().unwrap())
        .cpu(
            LinuxCpuBuilder::default()
                .quota(-1)
                .period(50_000u64)
                .burst(1000u64)
                .idle(1)
                .shares(2u64)
                .build()
                .unwrap(),
        )
        .pids(LinuxPidsBuilder::default().limit(0).build().unwrap())
        .block_io(
            LinuxBlockIoBuilder::default()
                .weight(200u16)
                .weight_device(vec![
                    LinuxWeightDeviceBuilder::default()
                        .major(8)
                        .minor(16)
                        .weight(700u16)
                        .build()
                        .unwrap(),
                ])
                .build()
                .unwrap(),
        )
        .hugepage_limits(vec![
            LinuxHugepageLimitBuilder::default()
                .page_size("1GB")
                .limit(-1)
                .build()
                .unwrap(),
        ])
        .build()
        .unwrap();
    cg.apply(&r).unwrap();
    let expect = [
        ("memory.max", "max"),
        ("memory.swap.max", "max"),
        ("cpu.max", "max 50000"),
        ("cpu.max.burst", "1000"),
        ("cpu.idle", "1"),
        ("cpu.weight", "1"),
        ("pids.max", "max"),
        // BFQ takes the v1 weight unconverted; the last write wins in a fake
        // file (the kernel keeps both the default and the per-device value).
        ("io.bfq.weight", "8:16 700"),
        ("hugetlb.1GB.max", "max"),
        ("hugetlb.1GB.rsvd.max", "max"),
    ];
    for (file, value) in expect {
        assert_eq!(read(&dir.join(file)), value, "{file}");
    }
    assert!(!dir.join("io.weight").exists());

    // A later update only touches what it names.
    let r = LinuxResourcesBuilder::default()
        .pids(LinuxPidsBuilder::default().limit(7).build().unwrap())
        .build()
        .unwrap();
    cg.apply(&r).unwrap();
    assert_eq!(read(&dir.join("pids.max")), "7");
    assert_eq!(read(&dir.join("memory.max")), "max");
}

#[test]
fn limits_for_controllers_that_are_not_enabled_fail_clearly() {
    let (_root, h) = fake_root("memory pids");
    let cg = cgroup(&h, "/berth/partial");
    cg.create().unwrap();
    let r = LinuxResourcesBuilder::default()
        .pids(LinuxPidsBuilder::default().limit(5).build().unwrap())
        .cpu(LinuxCpuBuilder::default().shares(100u64).build().unwrap())
        .build()
        .unwrap();
    let err = cg.apply(&r).unwrap_err();
    match &err {
        Error::ControllerNotEnabled {
            controller, path, ..
        } => {
            assert_eq!(controller, "cpu");
            assert!(
                path.ends_with("berth/cgroup.subtree_control"),
                "{}",
                path.display()
            );
        }
        other => panic!("unexpected error {other}"),
    }
    assert!(err.to_string().contains("cpu limit requested"), "{err}");
    // Nothing was written before the check failed.
    assert!(!dir_of(&cg).join("pids.max").exists());
}

#[test]
fn invalid_requests_change_nothing() {
    let (_root, h) = fake_root(ALL_CONTROLLERS);
    let cg = cgroup(&h, "/berth/invalid");
    cg.create().unwrap();
    let dir = dir_of(&cg);
    for (key, why) in [("../escape.max", "path"), ("memory", "form")] {
        let r = LinuxResourcesBuilder::default()
            .pids(LinuxPidsBuilder::default().limit(5).build().unwrap())
            .unified(HashMap::from([(key.to_string(), "1".to_string())]))
            .build()
            .unwrap();
        let err = cg.apply(&r).unwrap_err();
        assert!(matches!(err, Error::InvalidResource { .. }), "{why}: {err}");
    }
    let rt = LinuxResourcesBuilder::default()
        .cpu(
            LinuxCpuBuilder::default()
                .realtime_runtime(1000)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    assert!(matches!(
        cg.apply(&rt).unwrap_err(),
        Error::Unsupported { .. }
    ));
    let swap_without_limit = LinuxResourcesBuilder::default()
        .memory(LinuxMemoryBuilder::default().swap(1 << 20).build().unwrap())
        .build()
        .unwrap();
    let err = cg.apply(&swap_without_limit).unwrap_err();
    assert!(err.to_string().contains("memory swap"), "{err}");
    let bad_device = LinuxResourcesBuilder::default()
        .devices(vec![
            LinuxDeviceCgroupBuilder::default()
                .allow(true)
                .typ(LinuxDeviceType::P)
                .build()
                .unwrap(),
        ])
        .build()
        .unwrap();
    assert!(matches!(
        cg.apply(&bad_device).unwrap_err(),
        Error::InvalidResource { .. }
    ));
    assert!(!dir.join("pids.max").exists());
    assert!(!dir.join("escape.max").exists());
    assert!(!dir.parent().unwrap().join("escape.max").exists());
}

#[test]
fn device_rules_are_validated_on_a_fake_tree() {
    let (_root, h) = fake_root(ALL_CONTROLLERS);
    let cg = cgroup(&h, "/berth/devices");
    cg.create().unwrap();
    let r = LinuxResourcesBuilder::default()
        .devices(vec![
            LinuxDeviceCgroupBuilder::default()
                .allow(false)
                .access("rwm")
                .build()
                .unwrap(),
            LinuxDeviceCgroupBuilder::default()
                .allow(true)
                .typ(LinuxDeviceType::C)
                .major(1)
                .minor(3)
                .access("rwm")
                .build()
                .unwrap(),
        ])
        .build()
        .unwrap();
    // Not a real cgroup2 mount: nothing to attach, no error.
    cg.apply(&r).unwrap();
    assert_eq!(cg.device_filters().unwrap(), []);
}

#[test]
fn processes_freeze_and_destroy() {
    let (root, h) = fake_root(ALL_CONTROLLERS);
    let cg = cgroup(&h, "/berth/procs");
    cg.create().unwrap();
    let dir = dir_of(&cg);
    cg.add_process(4242).unwrap();
    assert_eq!(read(&dir.join("cgroup.procs")), "4242");
    // A nested cgroup created inside the container is included.
    fs::create_dir(dir.join("inner")).unwrap();
    fs::write(dir.join("inner/cgroup.procs"), "7\n8\n").unwrap();
    assert_eq!(cg.pids().unwrap(), [7, 8, 4242]);

    // The kernel would flip cgroup.events; the fake says "frozen" already.
    fs::write(dir.join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
    cg.freeze().unwrap();
    assert_eq!(read(&dir.join("cgroup.freeze")), "1");
    assert!(cg.is_frozen().unwrap());
    fs::write(dir.join("cgroup.events"), "populated 1\nfrozen 0\n").unwrap();
    cg.thaw().unwrap();
    assert_eq!(read(&dir.join("cgroup.freeze")), "0");
    assert!(!cg.is_frozen().unwrap());

    cg.destroy().unwrap();
    assert!(!dir.exists());
    assert!(root.path().join("berth").is_dir(), "parents are kept");
    cg.destroy().unwrap();
}

#[test]
fn stats_from_v2_files() {
    let (_root, h) = fake_root(ALL_CONTROLLERS);
    let cg = cgroup(&h, "/berth/stats");
    cg.create().unwrap();
    let dir = dir_of(&cg);
    let files = [
        ("memory.current", "1048576\n"),
        ("memory.max", "max\n"),
        ("memory.peak", "2097152\n"),
        (
            "memory.events",
            "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n",
        ),
        (
            "cpu.stat",
            "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 2\nthrottled_usec 300\n",
        ),
        ("pids.current", "3\n"),
        ("pids.max", "20\n"),
        (
            "io.stat",
            "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n",
        ),
    ];
    for (file, content) in files {
        fs::write(dir.join(file), content).unwrap();
    }
    let s = cg.stats().unwrap();
    let m = s.memory.unwrap();
    assert_eq!(
        (m.usage, m.limit, m.max_usage),
        (1 << 20, None, Some(2 << 20))
    );
    assert_eq!((m.failcnt, m.oom_kill), (Some(3), Some(1)));
    let c = s.cpu.unwrap();
    assert_eq!(c.usage_total_ns, 1_500_000);
    assert_eq!(
        (c.usage_user_ns, c.usage_system_ns),
        (Some(1_000_000), Some(500_000))
    );
    let t = c.throttling.unwrap();
    assert_eq!(
        (t.periods, t.throttled_periods, t.throttled_time_ns),
        (10, 2, 300_000)
    );
    let p = s.pids.unwrap();
    assert_eq!((p.current, p.limit), (3, Some(20)));
    let io = s.io.unwrap();
    assert_eq!(io.devices.len(), 1);
    assert_eq!(
        (io.devices[0].read_bytes, io.devices[0].write_bytes),
        (4096, 8192)
    );

    // A controller without files has no section.
    fs::remove_file(dir.join("pids.current")).unwrap();
    assert!(cg.stats().unwrap().pids.is_none());
}

#[test]
fn relative_and_systemd_paths_on_a_constructed_hierarchy() {
    let (root, h) = fake_root(ALL_CONTROLLERS);
    let rel = h
        .cgroup(&parse_cgroups_path(Some("berth/rel"), "x", false).unwrap())
        .unwrap();
    assert_eq!(dir_of(&rel), root.path().join("berth/rel"));
    let sd = h
        .cgroup(&parse_cgroups_path(Some("machine-berth.slice:berth:c1"), "c1", true).unwrap())
        .unwrap();
    sd.create().unwrap();
    assert!(
        Path::new(
            &root
                .path()
                .join("machine.slice/machine-berth.slice/berth-c1.scope")
        )
        .is_dir()
    );
    assert_eq!(
        read(
            &root
                .path()
                .join("machine.slice/machine-berth.slice/cgroup.subtree_control")
        ),
        "+memory +cpu +cpuset +pids +io +hugetlb"
    );
}

#[test]
fn docker_block_io_flags_and_reservation_on_v2() {
    let (_root, h) = fake_root(ALL_CONTROLLERS);
    let cg = cgroup(&h, "/berth/blkio");
    cg.create().unwrap();
    let device = |major: i64, minor: i64, rate: u64| {
        vec![
            LinuxThrottleDeviceBuilder::default()
                .major(major)
                .minor(minor)
                .rate(rate)
                .build()
                .unwrap(),
        ]
    };
    let r = LinuxResourcesBuilder::default()
        .block_io(
            LinuxBlockIoBuilder::default()
                .weight_device(vec![
                    LinuxWeightDeviceBuilder::default()
                        .major(7)
                        .minor(0)
                        .weight(1000u16)
                        .build()
                        .unwrap(),
                ])
                .throttle_read_bps_device(device(7, 0, 1 << 20))
                .throttle_write_bps_device(device(7, 0, 2 << 20))
                .throttle_read_iops_device(device(7, 0, 100))
                .throttle_write_iops_device(device(7, 0, 200))
                .build()
                .unwrap(),
        )
        .memory(
            LinuxMemoryBuilder::default()
                .reservation(16i64 << 20)
                .swappiness(0u64)
                .disable_oom_killer(true)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    cg.apply(&r).unwrap();
    let dir = dir_of(&cg);
    // Per-device weights take io.weight's range, converted as runc does.
    assert_eq!(read(&dir.join("io.weight")), "7:0 10000");
    assert_eq!(
        read(&dir.join("io.max")),
        "7:0 rbps=1048576 wbps=2097152 riops=100 wiops=200"
    );
    // --memory-reservation is memory.low; swappiness and the OOM killer
    // switch have no v2 file.
    assert_eq!(read(&dir.join("memory.low")), "16777216");
    assert!(!dir.join("memory.swappiness").exists());
    assert!(!dir.join("memory.oom_control").exists());
}
