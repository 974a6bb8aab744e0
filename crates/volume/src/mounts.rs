//! Volumes of the local driver made with mount options (`--opt type=tmpfs
//! --opt device=tmpfs --opt o=size=64m`, `type=none,o=bind,device=/srv`, an NFS
//! export…): the filesystem is mounted on the volume's data directory while at least
//! one container uses it, and unmounted when the last one stops, as Docker's local
//! driver does. Who holds each volume is kept in memory; after a daemon restart the
//! running containers hold theirs again ([`crate::Store::restore_mounts`]) and a mount no
//! one holds is undone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use nix::mount::MsFlags;

use crate::error::{Error, Result};

/// Holders (container ids) of each mounted volume.
#[derive(Debug, Default)]
pub struct Holders(Mutex<BTreeMap<String, BTreeSet<String>>>);

/// A volume's mount, from its options.
struct MountSpec<'a> {
    fstype: &'a str,
    device: &'a str,
    flags: MsFlags,
    data: String,
}

/// Docker's reading of `o`: the options mount(8) turns into flags are flags, the
/// rest is the filesystem's data, in order.
fn parse_o(o: &str) -> (MsFlags, String) {
    let mut flags = MsFlags::empty();
    let mut data = Vec::new();
    for opt in o.split(',').filter(|s| !s.is_empty()) {
        let (set, clear) = match opt {
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
            "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
            "bind" => (MsFlags::MS_BIND, MsFlags::empty()),
            "rbind" => (MsFlags::MS_BIND | MsFlags::MS_REC, MsFlags::empty()),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
            "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
            "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
            "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
            "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
            "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
            "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME),
            "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
            "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME),
            "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
            "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME),
            "defaults" => (MsFlags::empty(), MsFlags::empty()),
            other => {
                data.push(other);
                continue;
            }
        };
        flags = (flags | set) & !clear;
    }
    (flags, data.join(","))
}

/// Docker's local driver's rules for the options, checked at create: only `type`,
/// `device` and `o`, `type` and `device` together, `o` only with both.
pub(crate) fn check_options(options: &BTreeMap<String, String>) -> Result<()> {
    const OPTIONS: [&str; 3] = ["type", "device", "o"];
    if let Some(bad) = options.keys().find(|k| !OPTIONS.contains(&k.as_str())) {
        return Err(Error::InvalidOption(bad.clone()));
    }
    let required: [(&str, &[&str]); 3] = [("device", &["type"]), ("type", &["device"]), ("o", &["device", "type"])];
    for (opt, needs) in required {
        if options.contains_key(opt)
            && let Some(missing) = needs.iter().find(|n| !options.contains_key(**n))
        {
            return Err(Error::MissingOption(missing.to_string()));
        }
    }
    Ok(())
}

/// Whether `path` is a mount point of this process's mount namespace.
pub(crate) fn is_mounted(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else { return false };
    let want = path.to_string_lossy();
    info.lines().filter_map(|l| l.split(' ').nth(4)).any(|m| unescape(m) == want)
}

/// mountinfo's octal escapes (`\040` for a space) undone.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Holders {
    /// `holder` uses volume `name` (its data directory `data`, its `options`): a
    /// volume with mount options is mounted for its first holder.
    pub(crate) fn attach(&self, name: &str, data: &Path, options: &BTreeMap<String, String>, holder: &str) -> Result<()> {
        if options.is_empty() {
            return Ok(());
        }
        let mut holders = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let held = holders.entry(name.to_string()).or_default();
        if held.is_empty() && !is_mounted(data) {
            let (flags, fs_data) = parse_o(options.get("o").map(String::as_str).unwrap_or(""));
            let spec = MountSpec {
                fstype: options.get("type").map(String::as_str).unwrap_or(""),
                device: options.get("device").map(String::as_str).unwrap_or(""),
                flags,
                data: fs_data,
            };
            mount(data, &spec)?;
        }
        held.insert(holder.to_string());
        Ok(())
    }

    /// `holder` no longer uses volume `name`: unmounted when it was the last.
    pub(crate) fn detach(&self, name: &str, data: &Path, holder: &str) {
        let mut holders = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(held) = holders.get_mut(name) else { return };
        if held.remove(holder) && held.is_empty() {
            holders.remove(name);
            let _ = nix::mount::umount2(data, nix::mount::MntFlags::MNT_DETACH);
        }
    }

    /// The holders after a daemon restart (`live`), and the volumes with options
    /// (`with_options`: name and data directory) whose mount no one holds undone.
    pub(crate) fn restore(&self, live: impl IntoIterator<Item = (String, String)>, with_options: &[(String, std::path::PathBuf)]) {
        let mut holders = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for (name, holder) in live {
            holders.entry(name).or_default().insert(holder);
        }
        for (name, data) in with_options {
            if !holders.contains_key(name) && is_mounted(data) {
                let _ = nix::mount::umount2(data, nix::mount::MntFlags::MNT_DETACH);
            }
        }
    }
}

fn mount(target: &Path, spec: &MountSpec<'_>) -> Result<()> {
    let fstype = (!spec.fstype.is_empty() && spec.fstype != "none").then_some(spec.fstype);
    let data = (!spec.data.is_empty()).then_some(spec.data.as_str());
    nix::mount::mount(Some(spec.device), target, fstype, spec.flags, data).map_err(|e| {
        // As Docker: a password in the options is not repeated in the error.
        let shown: String = spec.data.split(',').map(|o| if o.starts_with("password=") { "password=********" } else { o }).collect::<Vec<_>>().join(",");
        Error::Mount {
            path: target.display().to_string(),
            reason: format!("failed to mount local volume: mount {}:{}, flags: {:#x}, data: {shown}: {}", spec.device, target.display(), spec.flags.bits(), e.desc()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn o_is_split_into_flags_and_data() {
        let (flags, data) = parse_o("size=64m,ro,uid=1000,noexec,rw");
        assert_eq!(flags, MsFlags::MS_NOEXEC);
        assert_eq!(data, "size=64m,uid=1000");
        let (flags, data) = parse_o("bind");
        assert_eq!((flags, data.as_str()), (MsFlags::MS_BIND, ""));
    }

    #[test]
    fn options_follow_the_local_drivers_rules() {
        let opts = |kv: &[(&str, &str)]| kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>();
        assert!(check_options(&opts(&[])).is_ok());
        assert!(check_options(&opts(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=1m")])).is_ok());
        assert_eq!(check_options(&opts(&[("type", "tmpfs")])).unwrap_err().to_string(), "missing required option: \"device\"");
        assert_eq!(check_options(&opts(&[("o", "size=1m"), ("device", "x")])).unwrap_err().to_string(), "missing required option: \"type\"");
        assert_eq!(check_options(&opts(&[("size", "1")])).unwrap_err().to_string(), "invalid option key: \"size\"");
    }

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
    }
}
