//! The runtime's use of the cgroups crate: open a container's cgroup on this host's
//! hierarchy, and describe how it appears at the container's `cgroup` mount.

use std::path::PathBuf;

use cgroups::{Cgroup, CgroupPath, CgroupVersion, Controller, Hierarchy};

use crate::error::Result;
use crate::rootfs::CgroupMount;

/// This host's cgroup mounts, read once per process (they do not change under it, and
/// a create needs them twice).
pub fn hierarchy() -> Result<Hierarchy> {
    static DETECTED: std::sync::OnceLock<Hierarchy> = std::sync::OnceLock::new();
    if let Some(h) = DETECTED.get() {
        return Ok(h.clone());
    }
    let h = cgroups::detect()?;
    Ok(DETECTED.get_or_init(|| h).clone())
}

pub fn open(path: &CgroupPath) -> Result<Cgroup> {
    Ok(hierarchy()?.cgroup(path)?)
}

/// v1: one bind per mounted hierarchy (comounted controllers once, by the mount's
/// directory name); v2: a cgroup2 mount or a bind of the container's directory.
pub fn mount_plan(cg: &Cgroup, cgroupns: bool) -> Result<CgroupMount> {
    match cg.version() {
        CgroupVersion::V2 => {
            let host_dir = cg.directories().first().map(|p| p.to_path_buf()).unwrap_or_default();
            Ok(CgroupMount::V2 { host_dir, cgroupns })
        }
        CgroupVersion::V1 => {
            let hierarchy = hierarchy()?;
            let mut binds: Vec<(String, PathBuf)> = Vec::new();
            for c in Controller::ALL {
                let (Some(mount), Some(dir)) = (hierarchy.mountpoint(c), cg.path(c)) else { continue };
                let Some(name) = mount.file_name().and_then(|n| n.to_str()) else { continue };
                if !binds.iter().any(|(n, _)| n == name) {
                    binds.push((name.to_string(), dir.to_path_buf()));
                }
            }
            Ok(CgroupMount::V1(binds))
        }
    }
}
