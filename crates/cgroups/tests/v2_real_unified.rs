//! cgroup v2 on the real kernel, where possible: a hybrid host mounts an
//! (empty, controller-less) cgroup2 hierarchy at `/sys/fs/cgroup/unified`,
//! which still has the core v2 features: `cgroup.procs`, `cgroup.freeze`,
//! `cgroup.events`. Needs root; otherwise the test prints a note and passes.
//! The cgroup is removed by a drop guard even on failure.

mod common;

use cgroups::{CgroupVersion, Error, Hierarchy, parse_cgroups_path};
use common::{Guard, read, unique_name};
use oci_spec::runtime::{
    LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxPidsBuilder, LinuxResourcesBuilder,
};

#[test]
fn core_v2_features_on_a_real_cgroup2_mount() {
    let Some(mount) = common::unified_cgroup2_mount("real cgroup2 test") else {
        return;
    };
    let h = Hierarchy::v2_at(mount.clone());
    assert_eq!(h.version(), CgroupVersion::V2);
    let name = unique_name();
    let mut g = Guard::new(
        h.cgroup(&parse_cgroups_path(None, &name, false).unwrap())
            .unwrap(),
    );
    g.cgroup.create().unwrap();
    let dir = mount.join(&name);
    assert!(dir.is_dir());

    let pid = g.spawn_sleep();
    g.cgroup.add_process(pid).unwrap();
    assert_eq!(g.cgroup.pids().unwrap(), [pid]);

    g.cgroup.freeze().unwrap();
    assert!(g.cgroup.is_frozen().unwrap());
    assert_eq!(read(&dir.join("cgroup.freeze")), "1");
    g.cgroup.thaw().unwrap();
    assert!(!g.cgroup.is_frozen().unwrap());

    // No controller is enabled on this mount: limits fail clearly.
    let r = LinuxResourcesBuilder::default()
        .pids(LinuxPidsBuilder::default().limit(5).build().unwrap())
        .build()
        .unwrap();
    let err = g.cgroup.apply(&r).unwrap_err();
    assert!(matches!(err, Error::ControllerNotEnabled { .. }), "{err}");

    // Restrictive device rules attach an eBPF filter (tests/
    // v2_device_filter_real.rs checks what it does); rules that allow
    // everything remove it again.
    let deny_all = LinuxDeviceCgroupBuilder::default()
        .allow(false)
        .access("rwm")
        .build()
        .unwrap();
    let r = LinuxResourcesBuilder::default()
        .devices(vec![deny_all])
        .build()
        .unwrap();
    g.cgroup.apply(&r).unwrap();
    let filters = g.cgroup.device_filters().unwrap();
    assert_eq!(filters.len(), 1, "{filters:?}");
    assert!(filters[0].is_berth(), "{filters:?}");
    let allow_all = LinuxDeviceCgroupBuilder::default()
        .allow(true)
        .typ(LinuxDeviceType::A)
        .access("rwm")
        .build()
        .unwrap();
    let r = LinuxResourcesBuilder::default()
        .devices(vec![allow_all])
        .build()
        .unwrap();
    g.cgroup.apply(&r).unwrap();
    assert_eq!(g.cgroup.device_filters().unwrap(), []);

    let stats = g.cgroup.stats().unwrap();
    assert!(stats.cpu.is_some(), "cpu.stat is a core file");
    assert!(stats.memory.is_none());

    g.kill_child();
    g.cgroup.destroy().unwrap();
    assert!(!dir.exists());
}
