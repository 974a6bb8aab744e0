//! Cgroup paths: parsing the OCI spec's `linux.cgroupsPath` the way runc
//! reads it (cgroupfs paths, relative paths, and systemd's
//! `slice:prefix:name` form) into a normalized [`CgroupPath`].

use std::fmt;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Unit-name prefix used for systemd-style paths when the spec gives no
/// cgroups path (runc uses `runc`).
pub const DEFAULT_SYSTEMD_PREFIX: &str = "berth";

/// Parent slice used for systemd-style paths with an empty slice.
pub const DEFAULT_SYSTEMD_SLICE: &str = "system.slice";

/// A normalized cgroup path, the same in every hierarchy.
///
/// Either absolute (`/a/b`: below each hierarchy's root) or relative (`a/b`:
/// below the cgroup the calling process is in, per controller). It never
/// names a hierarchy root itself and has no `.` or `..` components.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CgroupPath {
    path: PathBuf,
}

impl CgroupPath {
    /// Whether the path is relative to the calling process's own cgroup.
    pub fn is_relative(&self) -> bool {
        !self.path.has_root()
    }

    /// The normalized path: `/a/b` or `a/b`.
    pub fn as_path(&self) -> &Path {
        &self.path
    }

    /// The cgroup's location relative to a hierarchy root (no leading `/`,
    /// ready to be joined onto a mount point). `own_cgroup` is the calling
    /// process's cgroup in that hierarchy, used only for relative paths.
    pub fn resolve(&self, own_cgroup: &Path) -> PathBuf {
        match self.path.strip_prefix("/") {
            Ok(below_root) => below_root.to_path_buf(),
            Err(_) => {
                let own = own_cgroup.strip_prefix("/").unwrap_or(own_cgroup);
                own.join(&self.path)
            }
        }
    }
}

impl fmt::Display for CgroupPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.path.display().fmt(f)
    }
}

/// Parses `linux.cgroupsPath` as runc does.
///
/// * cgroupfs mode (`systemd == false`):
///   * `"/a/b"` is below the root of every hierarchy;
///   * `"a/b"` is below the calling process's own cgroup (from
///     `/proc/self/cgroup`), per controller;
///   * `None` or `""` means `"/<default_name>"` (the runtime passes the
///     container id).
/// * systemd mode (`systemd == true`): `"slice:prefix:name"` becomes
///   `<expanded slice>/<prefix>-<name>.scope`, the path systemd would give
///   that scope; the slice is expanded like systemd does (`a-b.slice` is
///   `a.slice/a-b.slice`), an empty slice is [`DEFAULT_SYSTEMD_SLICE`], an
///   empty prefix gives `<name>.scope`, and a name ending in `.slice` is used
///   as is. `None`/`""` means `system.slice:berth:<default_name>`. berth does
///   not talk to systemd: the resulting path is created directly on the
///   cgroup file system, in every hierarchy.
///
/// `.` components are dropped and `..` components are folded. A `..` that
/// would climb above the start of the path (the hierarchy root, or for a
/// relative path the calling process's cgroup) is rejected, as are NUL bytes
/// and paths that name the hierarchy root itself.
pub fn parse_cgroups_path(
    spec_path: Option<&str>,
    default_name: &str,
    systemd: bool,
) -> Result<CgroupPath> {
    let spec_path = spec_path.filter(|p| !p.is_empty());
    let shown = spec_path.unwrap_or(default_name);
    let invalid = |reason: &str| Error::InvalidPath {
        path: shown.to_string(),
        reason: reason.to_string(),
    };
    if shown.contains('\0') {
        return Err(invalid("contains a NUL byte"));
    }
    if spec_path.is_none() {
        validate_name(default_name).map_err(|r| invalid(&format!("default name: {r}")))?;
    }
    if systemd {
        let (slice, prefix, name) = match spec_path {
            None => ("", DEFAULT_SYSTEMD_PREFIX, default_name),
            Some(p) => {
                let parts: Vec<&str> = p.split(':').collect();
                let [slice, prefix, name] = parts[..] else {
                    return Err(invalid(
                        "systemd cgroups paths must have the form \"slice:prefix:name\"",
                    ));
                };
                (slice, prefix, name)
            }
        };
        validate_name(name).map_err(|r| invalid(&format!("unit name: {r}")))?;
        if prefix.contains('/') {
            return Err(invalid("unit prefix contains '/'"));
        }
        let slice = if slice.is_empty() {
            DEFAULT_SYSTEMD_SLICE
        } else {
            slice
        };
        let slice_path = expand_slice(slice).map_err(|r| invalid(&r))?;
        let unit = if name.ends_with(".slice") {
            name.to_string()
        } else if prefix.is_empty() {
            format!("{name}.scope")
        } else {
            format!("{prefix}-{name}.scope")
        };
        let full = format!("{}/{unit}", slice_path.trim_end_matches('/'));
        return normalize(&full).map_err(|r| invalid(&r));
    }
    match spec_path {
        None => normalize(&format!("/{default_name}")),
        Some(p) => normalize(p),
    }
    .map_err(|r| invalid(&r))
}

/// Expands a systemd slice name into its cgroup path, as systemd and runc do:
/// `a-b-c.slice` lives at `/a.slice/a-b.slice/a-b-c.slice`, and `-.slice` is
/// the root.
pub fn expand_slice(slice: &str) -> std::result::Result<String, String> {
    const SUFFIX: &str = ".slice";
    let bad = || format!("invalid slice name {slice:?}");
    let stem = slice.strip_suffix(SUFFIX).ok_or_else(bad)?;
    if slice.contains('/') {
        return Err(bad());
    }
    if stem == "-" {
        return Ok("/".to_string());
    }
    let mut path = String::new();
    let mut prefix = String::new();
    for component in stem.split('-') {
        // Empty components: "", "-a", "a-", "a--b" are all invalid.
        if component.is_empty() {
            return Err(bad());
        }
        path.push('/');
        path.push_str(&prefix);
        path.push_str(component);
        path.push_str(SUFFIX);
        prefix.push_str(component);
        prefix.push('-');
    }
    Ok(path)
}

fn validate_name(name: &str) -> std::result::Result<(), &'static str> {
    if name.is_empty() {
        Err("is empty")
    } else if name.contains('/') {
        Err("contains '/'")
    } else if name == "." || name == ".." {
        Err("is \".\" or \"..\"")
    } else if name.contains('\0') {
        Err("contains a NUL byte")
    } else {
        Ok(())
    }
}

fn normalize(raw: &str) -> std::result::Result<CgroupPath, String> {
    if raw.contains('\0') {
        return Err("contains a NUL byte".to_string());
    }
    let absolute = raw.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for component in raw.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(if absolute {
                        "'..' would escape the cgroup hierarchy root".to_string()
                    } else {
                        "'..' would climb above the calling process's cgroup".to_string()
                    });
                }
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return Err(if absolute {
            "names the root of the cgroup hierarchy; a container needs a cgroup of its own"
                .to_string()
        } else {
            "names the calling process's own cgroup; a container needs a cgroup of its own"
                .to_string()
        });
    }
    let joined = parts.join("/");
    let path = if absolute {
        PathBuf::from(format!("/{joined}"))
    } else {
        PathBuf::from(joined)
    };
    Ok(CgroupPath { path })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(p: Option<&str>, systemd: bool) -> Result<CgroupPath> {
        parse_cgroups_path(p, "ctr1", systemd)
    }

    #[test]
    fn absolute_paths_are_normalized() {
        let p = parse(Some("/a//b/./c/../d/"), false).unwrap();
        assert_eq!(p.as_path(), Path::new("/a/b/d"));
        assert!(!p.is_relative());
        assert_eq!(p.resolve(Path::new("/ignored")), Path::new("a/b/d"));
        assert_eq!(p.to_string(), "/a/b/d");
    }

    #[test]
    fn relative_paths_resolve_below_the_own_cgroup() {
        let p = parse(Some("berth/ctr1"), false).unwrap();
        assert!(p.is_relative());
        assert_eq!(p.as_path(), Path::new("berth/ctr1"));
        assert_eq!(
            p.resolve(Path::new("/user.slice/session-1.scope")),
            Path::new("user.slice/session-1.scope/berth/ctr1")
        );
        assert_eq!(p.resolve(Path::new("/")), Path::new("berth/ctr1"));
        assert_eq!(p.resolve(Path::new("")), Path::new("berth/ctr1"));
    }

    #[test]
    fn missing_or_empty_path_uses_the_default_name() {
        assert_eq!(parse(None, false).unwrap().as_path(), Path::new("/ctr1"));
        assert_eq!(
            parse(Some(""), false).unwrap().as_path(),
            Path::new("/ctr1")
        );
        let err = parse_cgroups_path(None, "a/b", false).unwrap_err();
        assert!(err.to_string().contains("default name"), "{err}");
        assert!(parse_cgroups_path(None, "", false).is_err());
        assert!(parse_cgroups_path(None, "..", false).is_err());
    }

    #[test]
    fn escapes_and_nul_bytes_are_rejected() {
        for bad in [
            "/..",
            "/a/../..",
            "/../etc",
            "..",
            "a/../../b",
            "/",
            ".",
            "a/..",
        ] {
            let err = parse(Some(bad), false).unwrap_err();
            assert!(matches!(err, Error::InvalidPath { .. }), "{bad}: {err}");
        }
        let err = parse(Some("/a/../../x"), false).unwrap_err();
        assert!(err.to_string().contains("escape"), "{err}");
        let err = parse(Some("/a\0b"), false).unwrap_err();
        assert!(err.to_string().contains("NUL"), "{err}");
        assert!(parse_cgroups_path(None, "a\0", false).is_err());
        assert!(parse(Some("sys.slice:p:a\0"), true).is_err());
        // Folding that stays inside is fine.
        assert_eq!(
            parse(Some("/a/../b"), false).unwrap().as_path(),
            Path::new("/b")
        );
    }

    #[test]
    fn systemd_paths_expand_the_slice() {
        let p = parse(Some("machine-berth.slice:berth:abc"), true).unwrap();
        assert_eq!(
            p.as_path(),
            Path::new("/machine.slice/machine-berth.slice/berth-abc.scope")
        );
        let p = parse(Some("system.slice:docker:1234"), true).unwrap();
        assert_eq!(p.as_path(), Path::new("/system.slice/docker-1234.scope"));
        let p = parse(Some("a-b-c.slice::x"), true).unwrap();
        assert_eq!(
            p.as_path(),
            Path::new("/a.slice/a-b.slice/a-b-c.slice/x.scope")
        );
        let p = parse(Some(":p:x"), true).unwrap();
        assert_eq!(p.as_path(), Path::new("/system.slice/p-x.scope"));
        let p = parse(Some("-.slice:p:x"), true).unwrap();
        assert_eq!(p.as_path(), Path::new("/p-x.scope"));
        let p = parse(Some("user.slice:p:sub.slice"), true).unwrap();
        assert_eq!(p.as_path(), Path::new("/user.slice/sub.slice"));
        let p = parse(None, true).unwrap();
        assert_eq!(p.as_path(), Path::new("/system.slice/berth-ctr1.scope"));
    }

    #[test]
    fn bad_systemd_paths_are_rejected() {
        for bad in [
            "/a/b",
            "a:b",
            "a:b:c:d",
            "system:p:x",
            "a--b.slice:p:x",
            "-a.slice:p:x",
            "a-.slice:p:x",
            ".slice:p:x",
            "a/b.slice:p:x",
            "system.slice:p:",
            "system.slice:p:a/b",
            "system.slice:p/q:x",
            "system.slice:p:..",
        ] {
            let err = parse(Some(bad), true).unwrap_err();
            assert!(matches!(err, Error::InvalidPath { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn expand_slice_matches_systemd() {
        assert_eq!(expand_slice("-.slice").unwrap(), "/");
        assert_eq!(expand_slice("a.slice").unwrap(), "/a.slice");
        assert_eq!(expand_slice("a-b.slice").unwrap(), "/a.slice/a-b.slice");
        assert!(expand_slice("a").is_err());
        assert!(expand_slice("a--b.slice").is_err());
    }
}
