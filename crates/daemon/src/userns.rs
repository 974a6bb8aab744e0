//! `userns-remap`: containers in a user namespace of their own, where root is an
//! unprivileged range of host ids, as dockerd does it. The setting names whose
//! subordinate ids (/etc/subuid, /etc/subgid) to use: `USER`, `USER:GROUP`, `UID`,
//! `UID:GID`, or `default` for the `dockremap` user, made (with a range) if missing.
//! Resolved once at start into a [`Remap`]: the mappings every remapped container gets,
//! and a user namespace with them that berthd keeps to idmap the containers' root
//! filesystems through (the idmapped mount takes only its mappings, so one serves all).
//! A container opts out with `--userns=host`.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use api::containers::HostConfig;

/// The user `--userns-remap=default` stands for.
pub const DEFAULT_USER: &str = "dockremap";
/// Where a range for `dockremap` starts looking, and its size (dockerd's values).
const RANGE_START: u64 = 100000;
const RANGE_LEN: u64 = 65536;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid userns-remap {0:?}: want USER, USER:GROUP, UID, UID:GID or default")]
    Spec(String),
    #[error("userns-remap: no user {0:?} in /etc/passwd: create it, or use --userns-remap=default")]
    UnknownUser(String),
    #[error("userns-remap: uid {0} has no entry in /etc/passwd")]
    UnknownUid(u32),
    #[error("userns-remap: no group {0:?} in /etc/group: name one with --userns-remap=USER:GROUP")]
    UnknownGroup(String),
    #[error("userns-remap: gid {0} has no entry in /etc/group")]
    UnknownGid(u32),
    #[error("userns-remap: no subordinate {kind} range for {name:?} in {}: add a line like `{name}:100000:65536`", file.display())]
    NoRange {
        kind: &'static str,
        name: String,
        file: PathBuf,
    },
    #[error("userns-remap: invalid line {line:?} in {}: want NAME:START:COUNT", file.display())]
    BadRange { file: PathBuf, line: String },
    #[error("userns-remap: read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("userns-remap: create the {DEFAULT_USER} user: {0}")]
    CreateUser(String),
    #[error("userns-remap: make a user namespace for idmapped mounts: {0}")]
    Namespace(std::io::Error),
    #[error(
        "a directory in the path of {} ({}) restricts access to the remapped root {uid}:{gid}; please fix by allowing 'o+x' on it",
        path.display(), dir.display()
    )]
    NotTraversable {
        path: PathBuf,
        dir: PathBuf,
        uid: u32,
        gid: u32,
    },
}

/// Container ids `container_id..+size` are host ids `host_id..+size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub container_id: u32,
    pub host_id: u32,
    pub size: u32,
}

/// The daemon's remapping, resolved.
#[derive(Debug)]
pub struct Remap {
    /// `user:group` whose ranges are used, for messages.
    pub name: String,
    pub uids: Vec<IdRange>,
    pub gids: Vec<IdRange>,
    /// A user namespace with these mappings, held open for the daemon's life.
    namespace: OwnedFd,
}

impl Remap {
    /// Reads the setting against /etc (making `dockremap` for `default`); `None` when
    /// it names root, which dockerd takes as remapping off.
    pub fn resolve(spec: &str) -> Result<Option<Remap>, Error> {
        let etc = Path::new("/etc");
        let (user, group) = match accounts(spec, etc) {
            Err(Error::UnknownUser(u)) if spec == "default" && u == DEFAULT_USER => {
                create_default_user(etc)?;
                accounts(spec, etc)?
            }
            r => r?,
        };
        if user.id == 0 {
            tracing::warn!("userns-remap: root cannot be remapped to itself; user namespaces are off");
            return Ok(None);
        }
        let uids = ranges(&etc.join("subuid"), "uid", &user)?;
        let gids = ranges(&etc.join("subgid"), "gid", &group)?;
        let namespace = user_namespace(&uids, &gids).map_err(Error::Namespace)?;
        Ok(Some(Remap {
            name: format!("{}:{}", user.name, group.name),
            uids,
            gids,
            namespace,
        }))
    }

    /// The host uid of the container's root.
    pub fn root_uid(&self) -> u32 {
        self.uids[0].host_id
    }

    pub fn root_gid(&self) -> u32 {
        self.gids[0].host_id
    }

    /// What an idmapped mount of a container's filesystem takes.
    pub fn idmap(&self) -> image::snapshot::Idmap<'_> {
        image::snapshot::Idmap {
            userns: self.namespace.as_fd(),
            root_uid: self.root_uid(),
            root_gid: self.root_gid(),
        }
    }

    /// The spec's `uidMappings` and `gidMappings`.
    pub fn oci_mappings(&self) -> (Vec<oci_spec::runtime::LinuxIdMapping>, Vec<oci_spec::runtime::LinuxIdMapping>) {
        let oci = |ranges: &[IdRange]| {
            ranges
                .iter()
                .map(|r| {
                    oci_spec::runtime::LinuxIdMappingBuilder::default()
                        .container_id(r.container_id)
                        .host_id(r.host_id)
                        .size(r.size)
                        .build()
                        .expect("every field is set")
                })
                .collect()
        };
        (oci(&self.uids), oci(&self.gids))
    }

    /// The remapped root must reach the container's files by path (the runtime binds
    /// them from inside the namespace): every directory down to `path` needs o+x, or
    /// x for the owner or group the remapped root is (dockerd's check).
    pub fn check_traversable(&self, path: &Path) -> Result<(), Error> {
        let (uid, gid) = (self.root_uid(), self.root_gid());
        for dir in path.ancestors() {
            let Ok(m) = std::fs::metadata(dir) else {
                continue;
            };
            let mode = m.mode();
            let ok = mode & 0o001 != 0
                || (m.uid() == uid && mode & 0o100 != 0)
                || (m.gid() == gid && mode & 0o010 != 0);
            if !ok {
                return Err(Error::NotTraversable {
                    path: path.to_path_buf(),
                    dir: dir.to_path_buf(),
                    uid,
                    gid,
                });
            }
        }
        Ok(())
    }
}

/// The remapping a container runs under: the daemon's, unless it asked for the host's
/// user namespace.
pub fn for_container<'a>(remap: Option<&'a Remap>, hc: &HostConfig) -> Option<&'a Remap> {
    remap.filter(|_| hc.userns_mode != "host")
}

/// `UsernsMode` and what cannot go with a user namespace, with dockerd's messages.
pub fn check(hc: &HostConfig, host_network: bool, remapped: bool) -> Result<(), String> {
    if !matches!(hc.userns_mode.as_str(), "" | "host") {
        return Err(format!(
            "invalid userns mode {:?}: the only mode is \"host\"",
            hc.userns_mode
        ));
    }
    if !remapped || hc.userns_mode == "host" {
        return Ok(());
    }
    if hc.privileged {
        return Err("privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode".into());
    }
    if host_network {
        return Err(
            "cannot share the host's network namespace when user namespaces are enabled".into(),
        );
    }
    if hc.pid_mode == "host" {
        return Err("cannot share the host PID namespace when user namespaces are enabled".into());
    }
    Ok(())
}

/// A user or group: its name and id.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Account {
    name: String,
    id: u32,
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// `name:x:id:...` lines of passwd or group.
fn entries(text: &str) -> Vec<Account> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?.to_string();
            let id = f.nth(1)?.parse().ok()?;
            Some(Account { name, id })
        })
        .collect()
}

/// The user and group a setting names (dockerd's rules: a lone name takes the group
/// of the same name, a lone uid the gid of the same number).
fn accounts(spec: &str, etc: &Path) -> Result<(Account, Account), Error> {
    let parts: Vec<&str> = spec.split(':').collect();
    if parts.len() > 2 || parts.iter().any(|p| p.is_empty()) {
        return Err(Error::Spec(spec.to_string()));
    }
    let users = entries(&read(&etc.join("passwd"))?);
    let groups = entries(&read(&etc.join("group"))?);
    let by_name = |list: &[Account], n: &str| list.iter().find(|a| a.name == n).cloned();
    let by_id = |list: &[Account], id: u32| list.iter().find(|a| a.id == id).cloned();
    let (user, implied_group) = match parts[0].parse::<u32>() {
        Ok(uid) => {
            let user = by_id(&users, uid).ok_or(Error::UnknownUid(uid))?;
            (user, by_id(&groups, uid).ok_or(Error::UnknownGid(uid)))
        }
        Err(_) => {
            let name = if parts[0] == "default" {
                DEFAULT_USER
            } else {
                parts[0]
            };
            let user = by_name(&users, name).ok_or_else(|| Error::UnknownUser(name.to_string()))?;
            (
                user,
                by_name(&groups, name).ok_or_else(|| Error::UnknownGroup(name.to_string())),
            )
        }
    };
    let group = match parts.get(1) {
        None => implied_group?,
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => by_id(&groups, gid).ok_or(Error::UnknownGid(gid))?,
            Err(_) => by_name(&groups, g).ok_or_else(|| Error::UnknownGroup(g.to_string()))?,
        },
    };
    Ok((user, group))
}

/// `NAME:START:COUNT` lines of a subordinate id file, as (name, start, count).
fn sub_ids(file: &Path) -> Result<Vec<(String, u64, u64)>, Error> {
    let text = match std::fs::read_to_string(file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        r => r.map_err(|source| Error::Read {
            path: file.to_path_buf(),
            source,
        })?,
    };
    let mut out = Vec::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let bad = || Error::BadRange {
            file: file.to_path_buf(),
            line: line.to_string(),
        };
        let f: Vec<&str> = line.split(':').collect();
        let [name, start, count] = f[..] else {
            return Err(bad());
        };
        let start: u64 = start.parse().map_err(|_| bad())?;
        let count: u64 = count.parse().map_err(|_| bad())?;
        if count == 0 || start + count > u64::from(u32::MAX) {
            return Err(bad());
        }
        out.push((name.to_string(), start, count));
    }
    Ok(out)
}

/// The account's ranges (lines keyed by its name or its number), laid end to end from
/// container id 0.
fn ranges(file: &Path, kind: &'static str, who: &Account) -> Result<Vec<IdRange>, Error> {
    let id = who.id.to_string();
    let mut next = 0u64;
    let mut out = Vec::new();
    for (_, start, count) in sub_ids(file)?
        .into_iter()
        .filter(|(n, ..)| *n == who.name || *n == id)
    {
        if next + count > u64::from(u32::MAX) {
            break;
        }
        out.push(IdRange {
            container_id: next as u32,
            host_id: start as u32,
            size: count as u32,
        });
        next += count;
    }
    if out.is_empty() {
        return Err(Error::NoRange {
            kind,
            name: who.name.clone(),
            file: file.to_path_buf(),
        });
    }
    Ok(out)
}

/// The first start at or after 100000 whose 65536 ids overlap no listed range.
fn free_range_start(taken: &[(String, u64, u64)]) -> u64 {
    let mut sorted: Vec<(u64, u64)> = taken.iter().map(|(_, s, c)| (*s, *c)).collect();
    sorted.sort();
    let mut start = RANGE_START;
    for (s, c) in sorted {
        if start < s + c && s < start + RANGE_LEN {
            start = s + c;
        }
    }
    start
}

fn run(program: &str, args: &[&str]) -> Result<(), Error> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| Error::CreateUser(format!("run {program}: {e}")))?;
    if !out.status.success() {
        return Err(Error::CreateUser(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// dockerd's way: a system user with no login, and a free range of 65536 ids in
/// /etc/subuid and /etc/subgid each (system users get none from the distribution).
fn create_default_user(etc: &Path) -> Result<(), Error> {
    tracing::info!("userns-remap: creating the {DEFAULT_USER} user");
    run("useradd", &["-r", "-s", "/bin/false", DEFAULT_USER]).or_else(|e| {
        run(
            "adduser",
            &[
                "--system",
                "--shell",
                "/bin/false",
                "--no-create-home",
                "--disabled-login",
                "--disabled-password",
                "--group",
                DEFAULT_USER,
            ],
        )
        .map_err(|_| e)
    })?;
    for (file, flag) in [("subuid", "-v"), ("subgid", "-w")] {
        // usermod adds ranges only to a file that exists; a host without users of its
        // own may have none yet.
        let path = etc.join(file);
        if !path.exists() {
            std::fs::write(&path, b"").map_err(|e| Error::CreateUser(format!("create {}: {e}", path.display())))?;
        }
        let taken = sub_ids(&path)?;
        if taken.iter().any(|(n, ..)| n == DEFAULT_USER) {
            continue;
        }
        let start = free_range_start(&taken);
        run(
            "usermod",
            &[
                flag,
                &format!("{start}-{}", start + RANGE_LEN - 1),
                DEFAULT_USER,
            ],
        )?;
    }
    Ok(())
}

fn id_map(ranges: &[IdRange]) -> String {
    ranges
        .iter()
        .map(|r| format!("{} {} {}\n", r.container_id, r.host_id, r.size))
        .collect()
}

/// A user namespace with these mappings: a child is cloned into a new one and waits
/// while its maps are written and its namespace is opened, then exits. The child
/// makes only raw syscalls, as a child of a threaded process must.
fn user_namespace(uids: &[IdRange], gids: &[IdRange]) -> std::io::Result<OwnedFd> {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two fds pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: pipe2 returned two fds that nothing else owns.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: without CLONE_VM a null stack makes clone behave as fork; the child runs
    // only close, read and _exit.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            libc::CLONE_NEWUSER | libc::SIGCHLD,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if pid == 0 {
        let mut byte = 0u8;
        // SAFETY: raw syscalls on this process's own fds; EOF comes when the parent is
        // done (or gone) and closes its write end.
        unsafe {
            libc::close(wr.as_raw_fd());
            libc::read(rd.as_raw_fd(), (&mut byte as *mut u8).cast(), 1);
            libc::_exit(0);
        }
    }
    let pid = pid as i32;
    let opened = (|| {
        for (file, ranges) in [("uid_map", uids), ("gid_map", gids)] {
            std::fs::write(format!("/proc/{pid}/{file}"), id_map(ranges))?;
        }
        std::fs::File::open(format!("/proc/{pid}/ns/user")).map(OwnedFd::from)
    })();
    drop(wr);
    // SAFETY: pid is our child; waiting reaps it.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
    opened
}

#[cfg(test)]
mod tests {
    use super::*;

    fn etc(passwd: &str, group: &str, subuid: &str, subgid: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("passwd", passwd),
            ("group", group),
            ("subuid", subuid),
            ("subgid", subgid),
        ] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\nremap:x:990:991::/:/bin/false\n";
    const GROUP: &str = "root:x:0:\nremap:x:991:\nother:x:992:\n";

    fn account(name: &str, id: u32) -> Account {
        Account {
            name: name.into(),
            id,
        }
    }

    #[test]
    fn settings_name_users_and_groups_as_dockerd_reads_them() {
        let d = etc(PASSWD, GROUP, "", "");
        let p = d.path();
        assert_eq!(
            accounts("remap", p).unwrap(),
            (account("remap", 990), account("remap", 991))
        );
        assert_eq!(accounts("remap:other", p).unwrap().1, account("other", 992));
        assert_eq!(accounts("remap:992", p).unwrap().1, account("other", 992));
        assert_eq!(
            accounts("0", p).unwrap(),
            (account("root", 0), account("root", 0))
        );
        assert!(matches!(accounts("990", p), Err(Error::UnknownGid(990))));
        assert!(
            matches!(accounts("nobody-here", p), Err(Error::UnknownUser(u)) if u == "nobody-here")
        );
        assert!(matches!(accounts("default", p), Err(Error::UnknownUser(u)) if u == DEFAULT_USER));
        assert!(matches!(
            accounts("remap:nogroup", p),
            Err(Error::UnknownGroup(_))
        ));
        for bad in ["a:b:c", "", "remap:"] {
            assert!(matches!(accounts(bad, p), Err(Error::Spec(_))), "{bad}");
        }
    }

    #[test]
    fn ranges_are_found_by_name_or_number_and_laid_end_to_end() {
        let d = etc(
            PASSWD,
            GROUP,
            "remap:100000:65536\nother:500000:10\n990:200000:1000\n",
            "",
        );
        let f = d.path().join("subuid");
        let r = ranges(&f, "uid", &account("remap", 990)).unwrap();
        assert_eq!(
            r,
            [
                IdRange {
                    container_id: 0,
                    host_id: 100000,
                    size: 65536
                },
                IdRange {
                    container_id: 65536,
                    host_id: 200000,
                    size: 1000
                }
            ]
        );
        let e = ranges(&d.path().join("subgid"), "gid", &account("remap", 991))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no subordinate gid range for \"remap\""), "{e}");
        std::fs::write(&f, "remap:x:1\n").unwrap();
        assert!(matches!(
            ranges(&f, "uid", &account("remap", 990)),
            Err(Error::BadRange { .. })
        ));
    }

    #[test]
    fn a_new_range_starts_past_every_overlapping_one() {
        assert_eq!(free_range_start(&[]), 100000);
        let taken = vec![
            ("a".to_string(), 100000, 65536),
            ("b".to_string(), 165536, 65536),
            ("c".to_string(), 900000, 10),
        ];
        assert_eq!(free_range_start(&taken), 231072);
        assert_eq!(free_range_start(&[("a".to_string(), 1000, 10)]), 100000);
    }

    #[test]
    fn remapped_containers_refuse_what_needs_the_host_namespace() {
        let mut hc = HostConfig {
            privileged: true,
            ..Default::default()
        };
        assert!(
            check(&hc, false, true)
                .unwrap_err()
                .starts_with("privileged mode is incompatible with user namespaces.")
        );
        assert!(check(&hc, false, false).is_ok());
        hc.userns_mode = "host".into();
        assert!(check(&hc, false, true).is_ok());
        hc = HostConfig::default();
        assert!(
            check(&hc, true, true)
                .unwrap_err()
                .contains("host's network namespace")
        );
        hc = HostConfig {
            pid_mode: "host".into(),
            ..Default::default()
        };
        assert!(check(&hc, false, true).unwrap_err().contains("host PID namespace"));
        hc = HostConfig {
            userns_mode: "private".into(),
            ..Default::default()
        };
        assert!(check(&hc, false, false).is_err());
    }

    #[test]
    fn a_user_namespace_carries_the_mappings() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let uids = [IdRange {
            container_id: 0,
            host_id: 400000,
            size: 65536,
        }];
        let gids = [IdRange {
            container_id: 0,
            host_id: 410000,
            size: 1000,
        }];
        let ns = user_namespace(&uids, &gids).unwrap();
        // The namespace outlives its only process: the fd holds it.
        let link = std::fs::read_link(format!("/proc/self/fd/{}", ns.as_raw_fd())).unwrap();
        assert!(link.to_string_lossy().starts_with("user:["), "{link:?}");
    }
}
