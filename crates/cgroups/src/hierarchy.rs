//! Where the cgroup hierarchies are: parsing `/proc/self/mountinfo` (and
//! `/proc/self/cgroup`, for relative cgroup paths) into a [`Hierarchy`], and
//! turning a [`CgroupPath`] into a [`Cgroup`] handle with one directory per
//! hierarchy.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use crate::fs::io_err;
use crate::path::CgroupPath;
use crate::v1::V1Cgroup;
use crate::v2::V2Cgroup;
use crate::{Cgroup, CgroupVersion, Controller, Error, Result};

const MOUNTINFO: &str = "/proc/self/mountinfo";
const SELF_CGROUP: &str = "/proc/self/cgroup";
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// One mounted hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mount {
    mountpoint: PathBuf,
    /// The calling process's cgroup, relative to `mountpoint` (empty: the
    /// hierarchy root). `None` when unknown or outside the mount (then
    /// relative cgroup paths cannot be resolved).
    own: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    V1(BTreeMap<Controller, Mount>),
    V2(Mount),
}

/// The cgroup hierarchies of this system (or of a test tree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    kind: Kind,
}

/// Finds the cgroup hierarchies from `/proc/self/mountinfo`: pure cgroup v2
/// when `/sys/fs/cgroup` itself is a cgroup2 mount, cgroup v1 otherwise
/// (a "hybrid" host with an extra cgroup2 at `/sys/fs/cgroup/unified`
/// counts as v1). `/proc/self/cgroup` supplies the calling process's own
/// cgroups, used for relative cgroup paths.
pub fn detect() -> Result<Hierarchy> {
    let mountinfo =
        std::fs::read_to_string(MOUNTINFO).map_err(|e| io_err("read", Path::new(MOUNTINFO), e))?;
    let self_cgroup = std::fs::read_to_string(SELF_CGROUP)
        .map_err(|e| io_err("read", Path::new(SELF_CGROUP), e))?;
    Hierarchy::from_mountinfo(&mountinfo, &self_cgroup)
}

impl Hierarchy {
    /// A cgroup v2 hierarchy rooted at `root` (a cgroup2 mount, or a fake
    /// tree in a test directory). Relative cgroup paths resolve from `root`.
    pub fn v2_at(root: PathBuf) -> Hierarchy {
        Hierarchy {
            kind: Kind::V2(Mount {
                mountpoint: root,
                own: Some(PathBuf::new()),
            }),
        }
    }

    /// A cgroup v1 hierarchy set: each controller's mount point. Comounted
    /// controllers (`cpu,cpuacct`) share a mount point. Relative cgroup
    /// paths resolve from each mount point.
    pub fn v1_at(mounts: impl IntoIterator<Item = (Controller, PathBuf)>) -> Hierarchy {
        Hierarchy {
            kind: Kind::V1(
                mounts
                    .into_iter()
                    .map(|(c, mountpoint)| {
                        let own = Some(PathBuf::new());
                        (c, Mount { mountpoint, own })
                    })
                    .collect(),
            ),
        }
    }

    /// Builds the hierarchy from the text of `/proc/self/mountinfo` and
    /// `/proc/self/cgroup` (what [`detect`] reads).
    pub fn from_mountinfo(mountinfo: &str, self_cgroup: &str) -> Result<Hierarchy> {
        let mounts = parse_mountinfo(mountinfo);
        let own = parse_self_cgroup(self_cgroup);
        // The last mount on a mount point is the visible one.
        let top = mounts
            .iter()
            .rev()
            .find(|m| m.mountpoint == Path::new(CGROUP_ROOT));
        if let Some(m) = top.filter(|m| m.fstype == "cgroup2") {
            let own = own.get("").and_then(|p| own_below(p, &m.root));
            return Ok(Hierarchy {
                kind: Kind::V2(Mount {
                    mountpoint: m.mountpoint.clone(),
                    own,
                }),
            });
        }
        // Prefer mounts under /sys/fs/cgroup when a controller is mounted
        // (or bind-mounted) more than once.
        let mut v1: Vec<&MountInfo> = mounts.iter().filter(|m| m.fstype == "cgroup").collect();
        v1.sort_by_key(|m| !m.mountpoint.starts_with(CGROUP_ROOT));
        let mut map = BTreeMap::new();
        for m in v1 {
            for opt in m.super_opts.split(',') {
                let Some(c) = Controller::from_name(opt) else {
                    continue;
                };
                map.entry(c).or_insert_with(|| Mount {
                    mountpoint: m.mountpoint.clone(),
                    own: own.get(c.name()).and_then(|p| own_below(p, &m.root)),
                });
            }
        }
        if map.is_empty() {
            return Err(Error::NoHierarchy {
                path: PathBuf::from(MOUNTINFO),
                reason: format!(
                    "{CGROUP_ROOT} is not a cgroup2 mount and no cgroup v1 controller is mounted"
                ),
            });
        }
        Ok(Hierarchy {
            kind: Kind::V1(map),
        })
    }

    /// The cgroup version.
    pub fn version(&self) -> CgroupVersion {
        match self.kind {
            Kind::V1(_) => CgroupVersion::V1,
            Kind::V2(_) => CgroupVersion::V2,
        }
    }

    /// Where `controller`'s hierarchy is mounted (on v2: the single root for
    /// every controller). `None` when a v1 controller is not mounted.
    pub fn mountpoint(&self, controller: Controller) -> Option<&Path> {
        match &self.kind {
            Kind::V1(map) => map.get(&controller).map(|m| m.mountpoint.as_path()),
            Kind::V2(m) => Some(&m.mountpoint),
        }
    }

    /// The cgroup at `path` in every hierarchy. Nothing is created.
    pub fn cgroup(&self, path: &CgroupPath) -> Result<Cgroup> {
        let locate = |m: &Mount, controller: &str| -> Result<PathBuf> {
            let own = match (&m.own, path.is_relative()) {
                (_, false) => PathBuf::new(),
                (Some(own), true) => own.clone(),
                (None, true) => {
                    return Err(Error::InvalidPath {
                        path: path.to_string(),
                        reason: format!(
                            "relative cgroups path, but the calling process's {controller} \
                             cgroup is unknown or outside {}",
                            m.mountpoint.display()
                        ),
                    });
                }
            };
            Ok(m.mountpoint.join(path.resolve(&own)))
        };
        Ok(match &self.kind {
            Kind::V1(map) => {
                let dirs = map
                    .iter()
                    .map(|(c, m)| Ok((*c, (m.mountpoint.clone(), locate(m, c.name())?))))
                    .collect::<Result<_>>()?;
                Cgroup::v1(V1Cgroup::new(path.clone(), dirs))
            }
            Kind::V2(m) => Cgroup::v2(V2Cgroup::new(
                path.clone(),
                m.mountpoint.clone(),
                locate(m, "unified")?,
            )),
        })
    }
}

#[derive(Debug)]
struct MountInfo {
    root: PathBuf,
    mountpoint: PathBuf,
    fstype: String,
    super_opts: String,
}

/// Parses mountinfo lines:
/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`.
/// Malformed lines are skipped.
fn parse_mountinfo(content: &str) -> Vec<MountInfo> {
    content
        .lines()
        .filter_map(|line| {
            let (pre, post) = line.split_once(" - ")?;
            let pre: Vec<&str> = pre.split(' ').collect();
            let post: Vec<&str> = post.split(' ').collect();
            Some(MountInfo {
                root: PathBuf::from(unescape(pre.get(3)?)),
                mountpoint: PathBuf::from(unescape(pre.get(4)?)),
                fstype: post.first()?.to_string(),
                super_opts: post.get(2).unwrap_or(&"").to_string(),
            })
        })
        .collect()
}

/// Undoes mountinfo's octal escapes (`\040` for a space, ...).
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && let Some(d) = bytes.get(i + 1..i + 4)
            && d.iter().all(|b| (b'0'..=b'7').contains(b))
            && let Ok(v) = u8::try_from(d.iter().fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0')))
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `/proc/self/cgroup` (`4:memory:/a/b`, `1:cpu,cpuacct:/`,
/// `0::/x`) into controller name → cgroup path; the v2 entry has key "".
/// Named hierarchies (`name=systemd`) are kept under their `name=` key.
fn parse_self_cgroup(content: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for line in content.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if controllers.is_empty() {
            map.insert(String::new(), path.to_string());
        } else {
            for c in controllers.split(',') {
                map.insert(c.to_string(), path.to_string());
            }
        }
    }
    map
}

/// The calling process's cgroup `own` relative to a mount whose root is
/// `root`. With a cgroup namespace `own` is already relative to the
/// namespace root; without one it includes the mount root, which is
/// stripped. `None` when the path leaves the visible tree (`/../x`, shown
/// for cgroups outside our cgroup namespace).
fn own_below(own: &str, root: &Path) -> Option<PathBuf> {
    let own = Path::new(own);
    let rel = own
        .strip_prefix(root)
        .or_else(|_| own.strip_prefix("/"))
        .unwrap_or(own);
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(rel.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_cgroups_path;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const HYBRID_SELF: &str = "\
9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/abc
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
";

    #[test]
    fn hybrid_host_is_v1_with_separate_cpu_and_cpuacct() {
        let h = Hierarchy::from_mountinfo(HYBRID, HYBRID_SELF).unwrap();
        assert_eq!(h.version(), CgroupVersion::V1);
        assert_eq!(
            h.mountpoint(Controller::Cpu),
            Some(Path::new("/sys/fs/cgroup/cpu"))
        );
        assert_eq!(
            h.mountpoint(Controller::Cpuacct),
            Some(Path::new("/sys/fs/cgroup/cpuacct"))
        );
        assert_eq!(h.mountpoint(Controller::Hugetlb), None);

        let rel = parse_cgroups_path(Some("berth/c1"), "x", false).unwrap();
        let cg = h.cgroup(&rel).unwrap();
        assert_eq!(
            cg.path(Controller::Memory),
            Some(Path::new("/sys/fs/cgroup/memory/process_api/abc/berth/c1"))
        );
        assert_eq!(
            cg.path(Controller::Pids),
            Some(Path::new("/sys/fs/cgroup/pids/berth/c1"))
        );
        // name=systemd is not a managed hierarchy.
        assert_eq!(cg.directories().len(), 8);
    }

    #[test]
    fn comounted_controllers_share_a_directory() {
        let mountinfo = "\
25 24 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw
26 25 0:23 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
27 25 0:24 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
28 25 0:25 /docker/abc /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
";
        let self_cgroup = "3:cpu,cpuacct:/a\n2:memory:/\n1:pids:/docker/abc/inner\n";
        let h = Hierarchy::from_mountinfo(mountinfo, self_cgroup).unwrap();
        assert_eq!(
            h.mountpoint(Controller::Cpu),
            h.mountpoint(Controller::Cpuacct)
        );
        let cg = h
            .cgroup(&parse_cgroups_path(Some("c"), "x", false).unwrap())
            .unwrap();
        assert_eq!(
            cg.path(Controller::Cpu),
            Some(Path::new("/sys/fs/cgroup/cpu,cpuacct/a/c"))
        );
        assert_eq!(cg.path(Controller::Cpu), cg.path(Controller::Cpuacct));
        // The pids mount's root is /docker/abc: our cgroup is "inner" below it.
        assert_eq!(
            cg.path(Controller::Pids),
            Some(Path::new("/sys/fs/cgroup/pids/inner/c"))
        );
        assert_eq!(cg.directories().len(), 3);
        let abs = h
            .cgroup(&parse_cgroups_path(Some("/c"), "x", false).unwrap())
            .unwrap();
        assert_eq!(
            abs.path(Controller::Cpu),
            Some(Path::new("/sys/fs/cgroup/cpu,cpuacct/c"))
        );
    }

    #[test]
    fn pure_v2_host() {
        let mountinfo = "\
30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
";
        let h = Hierarchy::from_mountinfo(mountinfo, "0::/user.slice/u.scope\n").unwrap();
        assert_eq!(h.version(), CgroupVersion::V2);
        let cg = h
            .cgroup(&parse_cgroups_path(Some("ctr"), "x", false).unwrap())
            .unwrap();
        assert_eq!(
            cg.path(Controller::Memory),
            Some(Path::new("/sys/fs/cgroup/user.slice/u.scope/ctr"))
        );
        // Outside our cgroup namespace: relative paths cannot be resolved.
        let h = Hierarchy::from_mountinfo(mountinfo, "0::/../../x\n").unwrap();
        let err = h
            .cgroup(&parse_cgroups_path(Some("ctr"), "x", false).unwrap())
            .unwrap_err();
        assert!(matches!(err, Error::InvalidPath { .. }), "{err}");
        assert!(
            h.cgroup(&parse_cgroups_path(Some("/ctr"), "x", false).unwrap())
                .is_ok()
        );
    }

    #[test]
    fn nothing_mounted_is_an_error() {
        let err = Hierarchy::from_mountinfo("1 0 8:1 / / rw - ext4 /dev/vda rw\n", "").unwrap_err();
        assert!(matches!(err, Error::NoHierarchy { .. }), "{err}");
    }

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape(r"/a\040b"), "/a b");
        assert_eq!(unescape(r"/a\\b"), r"/a\\b");
        assert_eq!(unescape(r"/a\04"), r"/a\04");
    }

    #[test]
    fn detect_works_on_this_host() {
        // Whatever the host, detection must not fail on a Linux machine with
        // cgroups mounted.
        if Path::new("/sys/fs/cgroup").exists() {
            let h = detect().unwrap();
            let _ = h.version();
        }
    }
}
