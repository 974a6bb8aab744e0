//! `Config.User` (`name`, `uid`, `name:group`, `uid:gid`) resolved against the image's
//! own /etc/passwd and /etc/group, as Docker does: a name must exist there, a number
//! need not; the user's supplementary groups come from /etc/group. The files are
//! opened inside the container's root (openat2 RESOLVE_IN_ROOT), so a symlinked
//! /etc/passwd in a hostile image cannot make berthd read a host file.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::Path;

/// Who the container's process runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    /// The home directory from passwd (for `HOME`), if the user is listed.
    pub home: Option<String>,
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

/// Reads a file of the container's root, `None` when absent or unreadable.
fn read_in_root(root: &Path, path: &str) -> Option<String> {
    let dir: OwnedFd = std::fs::File::open(root).ok()?.into();
    let fd =
        runtime::rootfs::open_in_root(&dir, Path::new(path), libc::O_RDONLY | libc::O_CLOEXEC, 0)
            .ok()?;
    let mut s = String::new();
    // Bounded: a passwd file of gigabytes is an attack, not a user list.
    std::fs::File::from(fd)
        .take(16 << 20)
        .read_to_string(&mut s)
        .ok()?;
    Some(s)
}

fn passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 7 || l.starts_with('#') {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].into(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].into(),
            })
        })
        .collect()
}

fn groups(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 4 || l.starts_with('#') {
                return None;
            }
            let members = f[3]
                .split(',')
                .filter(|m| !m.is_empty())
                .map(String::from)
                .collect();
            Some(GroupEntry {
                name: f[0].into(),
                gid: f[2].parse().ok()?,
                members,
            })
        })
        .collect()
}

/// Resolves `spec` (empty = root) and `group_add` in the image rooted at `root`.
pub fn resolve(root: &Path, spec: &str, group_add: &[String]) -> Result<User, String> {
    let users = read_in_root(root, "/etc/passwd")
        .map(|t| passwd(&t))
        .unwrap_or_default();
    let all_groups = read_in_root(root, "/etc/group")
        .map(|t| groups(&t))
        .unwrap_or_default();
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user_part = if user_part.is_empty() { "0" } else { user_part };
    let entry = match user_part.parse::<u32>() {
        Ok(uid) => users.iter().find(|e| e.uid == uid),
        Err(_) => Some(users.iter().find(|e| e.name == user_part).ok_or_else(|| {
            format!("unable to find user {user_part}: no matching entries in passwd file")
        })?),
    };
    let uid = match entry {
        Some(e) => e.uid,
        None => user_part
            .parse::<u32>()
            .map_err(|_| format!("invalid user {user_part:?}"))?,
    };
    let find_group = |g: &str| -> Result<u32, String> {
        match g.parse::<u32>() {
            Ok(gid) => Ok(gid),
            Err(_) => all_groups
                .iter()
                .find(|e| e.name == g)
                .map(|e| e.gid)
                .ok_or_else(|| {
                    format!("unable to find group {g}: no matching entries in group file")
                }),
        }
    };
    let gid = match group_part {
        Some(g) if !g.is_empty() => find_group(g)?,
        _ => entry.map_or(0, |e| e.gid),
    };
    let mut additional: Vec<u32> = Vec::new();
    // Supplementary groups of a listed user, only when no group was named explicitly.
    if group_part.is_none()
        && let Some(e) = entry
    {
        for g in all_groups
            .iter()
            .filter(|g| g.members.contains(&e.name))
        {
            if g.gid != gid && !additional.contains(&g.gid) {
                additional.push(g.gid);
            }
        }
    }
    for g in group_add {
        let gid = find_group(g)?;
        if !additional.contains(&gid) {
            additional.push(gid);
        }
    }
    Ok(User {
        uid,
        gid,
        additional_gids: additional,
        home: entry.map(|e| e.home.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        std::fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\n# note\nbad line\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("etc/group"),
            "root:x:0:\nwww:x:33:\naudio:x:29:www\nstaff:x:50:\n",
        )
        .unwrap();
        d
    }

    #[test]
    fn names_and_numbers_resolve_as_docker_does() {
        let r = root();
        assert_eq!(
            resolve(r.path(), "", &[]).unwrap(),
            User {
                uid: 0,
                gid: 0,
                additional_gids: vec![],
                home: Some("/root".into())
            }
        );
        let www = resolve(r.path(), "www", &[]).unwrap();
        assert_eq!(
            (www.uid, www.gid, www.additional_gids.clone()),
            (33, 33, vec![29])
        );
        assert_eq!(resolve(r.path(), "www:staff", &[]).unwrap().gid, 50);
        let n = resolve(r.path(), "1000:1000", &[]).unwrap();
        assert_eq!((n.uid, n.gid, n.home), (1000, 1000, None));
        assert_eq!(
            resolve(r.path(), "33", &["staff".into(), "7".into()])
                .unwrap()
                .additional_gids,
            vec![29, 50, 7]
        );
    }

    #[test]
    fn unknown_names_are_refused_with_dockers_message() {
        let r = root();
        assert_eq!(
            resolve(r.path(), "nobody", &[]).unwrap_err(),
            "unable to find user nobody: no matching entries in passwd file"
        );
        assert!(
            resolve(r.path(), "www:nogroup", &[])
                .unwrap_err()
                .contains("unable to find group nogroup")
        );
    }

    #[test]
    fn a_symlinked_passwd_stays_inside_the_root() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("passwd"), "evil:x:0:0::/:/bin/sh\n").unwrap();
        std::os::unix::fs::symlink(outside.path().join("passwd"), d.path().join("etc/passwd"))
            .unwrap();
        assert!(resolve(d.path(), "evil", &[]).is_err());
    }
}
