//! `--device` and `--device-cgroup-rule`, as Docker does them: each host device node is
//! made in the container (OCI `linux.devices`, with the type, numbers, mode and owner
//! of the host's node) and allowed in the container's device cgroup with the mapping's
//! permissions; a directory brings every device node under it; a cgroup rule
//! (`c 1:3 rwm`, `b *:* m`) allows a class of devices without making any node.

use std::path::{Path, PathBuf};

use api::containers::HostConfig;
use api::hostconfig::DeviceMapping;
use nix::sys::stat::{SFlag, lstat};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType};

/// What the spec gets from the device options.
#[derive(Debug, Default, PartialEq)]
pub struct Devices {
    /// `linux.devices` entries.
    pub nodes: Vec<LinuxDevice>,
    /// `linux.resources.devices` rules, after Docker's defaults.
    pub rules: Vec<LinuxDeviceCgroup>,
}

/// A device cgroup rule that allows `access` to devices of `kind` (a number left out
/// is a wildcard, as the OCI spec has it).
pub fn allow(kind: LinuxDeviceType, major: Option<i64>, minor: Option<i64>, access: &str) -> LinuxDeviceCgroup {
    let mut rule = LinuxDeviceCgroup::default();
    rule.set_allow(true);
    rule.set_typ(Some(kind));
    rule.set_major(major);
    rule.set_minor(minor);
    rule.set_access(Some(access.to_string()));
    rule
}

/// A host node as the spec describes it, under `path` in the container, and the rule
/// that allows it (`access` still to be set).
fn node(host: &Path, path: &str) -> Result<Option<(LinuxDevice, LinuxDeviceCgroup)>, nix::errno::Errno> {
    let st = lstat(host)?;
    let kind = match SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT {
        SFlag::S_IFCHR => LinuxDeviceType::C,
        SFlag::S_IFBLK => LinuxDeviceType::B,
        SFlag::S_IFIFO => LinuxDeviceType::P,
        _ => return Ok(None),
    };
    let (major, minor) = (libc::major(st.st_rdev) as i64, libc::minor(st.st_rdev) as i64);
    let mut spec = LinuxDevice::default();
    spec.set_path(PathBuf::from(path));
    spec.set_typ(kind);
    spec.set_major(major);
    spec.set_minor(minor);
    spec.set_file_mode(Some(st.st_mode & 0o7777));
    spec.set_uid(Some(st.st_uid));
    spec.set_gid(Some(st.st_gid));
    let mut rule = allow(kind, Some(major), Some(minor), "");
    rule.set_access(None);
    Ok(Some((spec, rule)))
}

/// Every entry under `dir` that may be a device node, symlinks not followed (Go's
/// WalkDir, as Docker).
fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            walk(&e.path(), found);
        } else {
            found.push(e.path());
        }
    }
}

/// Go's lower-case wording of an errno, which Docker's messages carry.
fn errno_text(e: nix::errno::Errno) -> String {
    let desc = e.desc();
    let mut chars = desc.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_lowercase().chain(chars).collect())
}

/// The nodes and rules of one `--device`, with `access` for the device cgroup.
fn mapping(m: &DeviceMapping, access: &str, out: &mut Devices) -> Result<(), String> {
    let in_container = if m.path_in_container.is_empty() {
        &m.path_on_host
    } else {
        &m.path_in_container
    };
    let host = Path::new(&m.path_on_host);
    let resolved = match std::fs::symlink_metadata(host) {
        Ok(md) if md.file_type().is_symlink() => {
            std::fs::canonicalize(host).unwrap_or_else(|_| host.to_path_buf())
        }
        _ => host.to_path_buf(),
    };
    let gathering = |why: String| {
        format!(
            "error gathering device information while adding custom device {:?}: {why}",
            m.path_on_host
        )
    };
    let mut add = |host: &Path, path: &str| -> Result<bool, nix::errno::Errno> {
        let Some((spec, mut rule)) = node(host, path)? else {
            return Ok(false);
        };
        rule.set_access(Some(access.to_string()));
        out.nodes.push(spec);
        out.rules.push(rule);
        Ok(true)
    };
    match add(&resolved, in_container) {
        Ok(true) => return Ok(()),
        Err(e) => return Err(gathering(errno_text(e))),
        Ok(false) => {}
    }
    if !resolved.is_dir() {
        return Err(gathering("not a device node".into()));
    }
    let mut found = Vec::new();
    walk(&resolved, &mut found);
    let mut any = false;
    for f in found {
        let rel = f.strip_prefix(&resolved).unwrap_or(&f);
        let path = Path::new(in_container).join(rel);
        any |= add(&f, &path.to_string_lossy()).unwrap_or(false);
    }
    if !any {
        return Err(gathering("not a device node".into()));
    }
    Ok(())
}

/// A `--device-cgroup-rule`: `<a|b|c> <major|*>:<minor|*> <r|w|m…>`.
fn cgroup_rule(rule: &str) -> Result<LinuxDeviceCgroup, String> {
    let invalid = || format!("invalid device cgroup rule format: '{rule}'");
    let parts: Vec<&str> = rule.split(' ').collect();
    let [kind, numbers, access] = parts.as_slice() else {
        return Err(invalid());
    };
    if !matches!(*kind, "a" | "b" | "c") || !valid_access(access) {
        return Err(invalid());
    }
    let (major, minor) = numbers.split_once(':').ok_or_else(invalid)?;
    // A wildcard is the number left out, as the OCI spec has it.
    let number = |n: &str| -> Result<Option<i64>, String> {
        if n == "*" {
            return Ok(None);
        }
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        n.parse::<i64>().map(Some).map_err(|_| invalid())
    };
    let kind = match *kind {
        "a" => LinuxDeviceType::A,
        "b" => LinuxDeviceType::B,
        _ => LinuxDeviceType::C,
    };
    Ok(allow(kind, number(major)?, number(minor)?, access))
}

/// One to three of `r`, `w`, `m`.
fn valid_access(a: &str) -> bool {
    (1..=3).contains(&a.len()) && a.chars().all(|c| matches!(c, 'r' | 'w' | 'm'))
}

/// Every device node of the host's /dev, at the same path, for a privileged container
/// (as Docker): not the per-instance directories (pts, shm, mqueue, fd) nor the console,
/// which the container has its own of; nor a path a `--device` already made.
fn host_devices(out: &mut Devices) {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/dev") else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let skipped = [".lxc", ".lxd-mounts", ".udev", "pts", "shm", "mqueue", "fd", "console"];
        if skipped.iter().any(|s| name == *s) {
            continue;
        }
        match e.file_type() {
            Ok(t) if t.is_dir() => walk(&e.path(), &mut found),
            Ok(_) => found.push(e.path()),
            Err(_) => {}
        }
    }
    found.sort();
    for f in found {
        let path = f.to_string_lossy().into_owned();
        if out.nodes.iter().any(|n| n.path() == Path::new(&path)) {
            continue;
        }
        if let Ok(Some((spec, _))) = node(&f, &path) {
            out.nodes.push(spec);
        }
    }
}

/// The devices of `hc`. A privileged container may use every device already, so its
/// mappings only make nodes (not over the same path) and add no rules.
pub fn from_host_config(hc: &HostConfig) -> Result<Devices, String> {
    let mut out = Devices::default();
    for m in &hc.resources.devices {
        let access = if m.cgroup_permissions.is_empty() {
            "rwm"
        } else {
            m.cgroup_permissions.as_str()
        };
        if !valid_access(access) {
            return Err(format!("invalid device mode: {access}"));
        }
        if hc.privileged
            && (m.path_in_container.is_empty() || m.path_in_container == m.path_on_host)
        {
            continue;
        }
        mapping(m, access, &mut out)?;
    }
    if hc.privileged {
        out.rules.clear();
        host_devices(&mut out);
        return Ok(out);
    }
    for r in &hc.resources.device_cgroup_rules {
        out.rules.push(cgroup_rule(r)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hc(devices: &[(&str, &str, &str)], rules: &[&str]) -> HostConfig {
        let mut hc = HostConfig::default();
        hc.resources.devices = devices
            .iter()
            .map(|(h, c, p)| DeviceMapping {
                path_on_host: h.to_string(),
                path_in_container: c.to_string(),
                cgroup_permissions: p.to_string(),
            })
            .collect();
        hc.resources.device_cgroup_rules = rules.iter().map(|r| r.to_string()).collect();
        hc
    }

    #[test]
    fn a_host_node_is_read_with_its_numbers() {
        let d = from_host_config(&hc(&[("/dev/null", "/dev/mynull", "rw")], &[])).unwrap();
        assert_eq!(d.nodes.len(), 1);
        let n = serde_json::to_value(&d.nodes[0]).unwrap();
        assert_eq!(
            (&n["path"], &n["type"], &n["major"], &n["minor"]),
            (&json!("/dev/mynull"), &json!("c"), &json!(1), &json!(3))
        );
        assert_eq!(n["fileMode"], 0o666);
        assert_eq!(
            serde_json::to_value(&d.rules).unwrap(),
            json!([{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}])
        );
    }

    #[test]
    fn a_directory_brings_its_nodes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::os::unix::fs::symlink("/dev/null", dir.path().join("sub/null")).unwrap();
        std::fs::write(dir.path().join("file"), "").unwrap();
        // Only regular files and symlinks: nothing to add.
        let e = from_host_config(&hc(&[(dir.path().to_str().unwrap(), "/dev/x", "")], &[]))
            .unwrap_err();
        assert!(e.ends_with("not a device node"), "{e}");
        nix::unistd::mkfifo(
            &dir.path().join("sub/fifo"),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        let d =
            from_host_config(&hc(&[(dir.path().to_str().unwrap(), "/dev/x", "")], &[])).unwrap();
        assert_eq!(d.nodes.len(), 1);
        assert_eq!((d.nodes[0].path().to_str(), d.nodes[0].typ()), (Some("/dev/x/sub/fifo"), LinuxDeviceType::P));
    }

    #[test]
    fn a_missing_device_gets_dockers_message() {
        let e = from_host_config(&hc(&[("/dev/no-such-device", "", "")], &[])).unwrap_err();
        assert_eq!(
            e,
            "error gathering device information while adding custom device \"/dev/no-such-device\": no such file or directory"
        );
    }

    #[test]
    fn cgroup_rules_parse_like_dockers() {
        let d = from_host_config(&hc(&[], &["c 1:3 rwm", "b *:* m", "a *:* rwm"])).unwrap();
        assert_eq!(
            serde_json::to_value(&d.rules).unwrap(),
            json!([
                {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
                {"allow": true, "type": "b", "access": "m"},
                {"allow": true, "type": "a", "access": "rwm"},
            ])
        );
        for bad in [
            "c 1:3",
            "x 1:3 rwm",
            "c 1-3 rwm",
            "c 1:3 rwx",
            "c  1:3 rwm",
            "c -1:3 rw",
        ] {
            assert_eq!(
                from_host_config(&hc(&[], &[bad])).unwrap_err(),
                format!("invalid device cgroup rule format: '{bad}'")
            );
        }
    }

    #[test]
    fn privileged_mappings_make_nodes_only() {
        let mut h = hc(
            &[
                ("/dev/null", "/dev/mynull", "r"),
                ("/dev/zero", "/dev/zero", "rwm"),
            ],
            &["c 1:3 rwm"],
        );
        h.privileged = true;
        let d = from_host_config(&h).unwrap();
        assert!(d.rules.is_empty());
        // The renamed mapping, then the host's own nodes, each once.
        assert_eq!(d.nodes[0].path(), Path::new("/dev/mynull"));
        let count = |p: &str| d.nodes.iter().filter(|n| n.path() == Path::new(p)).count();
        assert_eq!((count("/dev/null"), count("/dev/zero")), (1, 1));
        assert_eq!(count("/dev/console"), 0);
    }
}
