//! Loading and checking a bundle's config.json before anything is created, so a bad
//! config fails with one clear line and leaves nothing behind.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{Error, Result};

/// The runtime spec version berth implements and reports.
pub const OCI_VERSION: &str = "1.2.0";

/// A loaded bundle: its directory, its spec and the absolute rootfs path.
pub struct Bundle {
    pub dir: PathBuf,
    pub spec: Spec,
    pub rootfs: PathBuf,
}

impl Bundle {
    pub fn load(dir: &Path) -> Result<Bundle> {
        let dir = std::path::absolute(dir).map_err(Error::io(format!("bundle {}", dir.display())))?;
        let config = dir.join("config.json");
        let bytes = match std::fs::read(&config) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::MissingConfig(dir));
            }
            Err(e) => return Err(Error::io(format!("read {}", config.display()))(e)),
        };
        let spec: Spec = serde_json::from_slice(&bytes)
            .map_err(|e| Error::InvalidConfig { path: config.clone(), reason: e.to_string() })?;
        let root = spec
            .root()
            .as_ref()
            .ok_or_else(|| Error::InvalidSpec("root is missing".into()))?;
        let rootfs = dir.join(root.path());
        if !rootfs.is_dir() {
            return Err(Error::InvalidSpec(format!(
                "root.path {} is not a directory",
                rootfs.display()
            )));
        }
        validate(&spec)?;
        Ok(Bundle { dir, spec, rootfs })
    }
}

/// Checks what serde cannot: required parts, duplicates, and paths that would leave
/// the container's root.
pub fn validate(spec: &Spec) -> Result<()> {
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::InvalidSpec("process is missing".into()))?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(Error::InvalidSpec("process.args must not be empty".into()));
    }
    if !process.cwd().is_absolute() {
        return Err(Error::InvalidSpec(format!(
            "process.cwd {:?} must be an absolute path",
            process.cwd()
        )));
    }
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| Error::InvalidSpec("linux section is missing".into()))?;
    let mut seen = HashSet::new();
    let namespaces = linux.namespaces().clone().unwrap_or_default();
    for ns in &namespaces {
        if !seen.insert(ns.typ()) {
            return Err(Error::InvalidSpec(format!("namespace {} is listed twice", ns.typ())));
        }
        if let Some(path) = ns.path()
            && !path.exists()
        {
            return Err(Error::InvalidSpec(format!(
                "namespace {} path {} does not exist",
                ns.typ(),
                path.display()
            )));
        }
    }
    let new_userns = namespaces
        .iter()
        .any(|ns| ns.typ() == LinuxNamespaceType::User && ns.path().is_none());
    let has_maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        && linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if new_userns && !has_maps {
        return Err(Error::InvalidSpec(
            "a new user namespace needs linux.uidMappings and linux.gidMappings".into(),
        ));
    }
    if !new_userns && (linux.uid_mappings().is_some() || linux.gid_mappings().is_some()) {
        let maps = linux.uid_mappings().iter().chain(linux.gid_mappings().iter());
        if maps.flatten().next().is_some() {
            return Err(Error::InvalidSpec(
                "uid/gid mappings need a new user namespace in linux.namespaces".into(),
            ));
        }
    }
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty())
        && !namespaces.iter().any(|ns| ns.typ() == LinuxNamespaceType::Uts)
    {
        return Err(Error::InvalidSpec("hostname needs a uts namespace".into()));
    }
    for m in spec.mounts().iter().flatten() {
        contained("mount destination", m.destination())?;
    }
    for p in linux.masked_paths().iter().flatten().chain(linux.readonly_paths().iter().flatten()) {
        contained("masked/readonly path", Path::new(p))?;
    }
    for d in linux.devices().iter().flatten() {
        contained("device path", d.path())?;
    }
    if let Some(sysctl) = linux.sysctl() {
        for key in sysctl.keys() {
            // Keys become paths under /proc/sys ('.' and '/' both separate): no climbing out.
            if key.is_empty() || key.contains('\0') || key.contains("..") {
                return Err(Error::InvalidSpec(format!("invalid sysctl key {key:?}")));
            }
        }
    }
    Ok(())
}

/// Refuses a container path whose `..` components climb above its root. Symlinks
/// inside the rootfs are confined later, at resolution time (RESOLVE_IN_ROOT).
pub fn contained(what: &str, path: &Path) -> Result<PathBuf> {
    let mut depth = 0usize;
    let mut clean = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Prefix(_) => {}
            Component::ParentDir => {
                if depth == 0 {
                    return Err(Error::InvalidSpec(format!(
                        "{what} {} escapes the container's root filesystem",
                        path.display()
                    )));
                }
                depth -= 1;
                clean.pop();
            }
            Component::Normal(n) => {
                depth += 1;
                clean.push(n);
            }
        }
    }
    Ok(clean)
}

/// The spec `berth-runtime spec` writes: runc's default, with berth's hostname.
pub fn default_spec(rootless: bool) -> serde_json::Value {
    let caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    let mut spec = serde_json::json!({
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": true,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "berth",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
                "/sys/devices/virtual/powercap"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    });
    if rootless {
        let uid = nix::unistd::geteuid().as_raw();
        let gid = nix::unistd::getegid().as_raw();
        let linux = &mut spec["linux"];
        linux["uidMappings"] = serde_json::json!([{"containerID": 0, "hostID": uid, "size": 1}]);
        linux["gidMappings"] = serde_json::json!([{"containerID": 0, "hostID": gid, "size": 1}]);
        linux["namespaces"] = serde_json::json!([{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}, {"type": "user"}]);
        linux.as_object_mut().unwrap().remove("resources");
        let mounts = spec["mounts"].as_array_mut().unwrap();
        mounts.retain(|m| m["type"] != "cgroup" && m["type"] != "sysfs");
        mounts.push(serde_json::json!({"destination": "/sys", "type": "none", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]}));
        mounts[2]["options"] = serde_json::json!(["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]);
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_refused_and_inner_dots_are_cleaned() {
        assert_eq!(contained("m", Path::new("/a/./b/../c")).unwrap(), Path::new("/a/c"));
        assert!(contained("m", Path::new("/../etc")).is_err());
        assert!(contained("m", Path::new("/a/../../etc")).is_err());
        assert!(contained("m", Path::new("../x")).is_err());
    }

    #[test]
    fn sysctl_keys_cannot_climb_out_of_proc_sys() {
        for (key, ok) in [("net.ipv4.ip_forward", true), ("net/ipv4/ip_forward", true), ("a/../../etc", false), ("", false)] {
            let mut v = default_spec(false);
            v["linux"]["sysctl"] = serde_json::json!({ key: "1" });
            let spec: Spec = serde_json::from_value(v).unwrap();
            assert_eq!(validate(&spec).is_ok(), ok, "{key:?}");
        }
    }

    #[test]
    fn default_spec_is_a_valid_spec() {
        for rootless in [false, true] {
            let spec: Spec = serde_json::from_value(default_spec(rootless)).unwrap();
            validate(&spec).unwrap();
        }
    }
}
