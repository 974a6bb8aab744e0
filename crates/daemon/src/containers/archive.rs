//! The archive endpoints (`docker cp`): a path's stat, a tar of a path, and a tar
//! extracted into a directory, all inside the container's own filesystem view
//! ([`fsview`](super::fsview)), with Docker's path rules:
//!
//! * the path is absolute in the container; a trailing `/` or `/.` is kept;
//! * its directory part is resolved with every symlink followed (inside the
//!   container's root), its last element is taken as it is (a symlink is archived
//!   as a link) unless the path ends in `/` or `/.`;
//! * a tar's entries are named after the path's last element (`/etc/` → `etc/…`,
//!   `/etc/.` → `./…`);
//! * an extraction's directory is resolved fully, its last symlink included.

use std::io::{BufRead, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;

use api::containers::PathStat;
use nix::sys::stat::FileStat;

use super::fsview::{self, Entry, Root, View};
use super::record::Record;
use super::{Container, Containers};
use crate::error::{Error, Result};

/// Opens the view of `c`'s filesystem: its namespace while it runs, its snapshot
/// and mounts (held still meanwhile) while it does not.
pub async fn view(d: &Arc<Containers>, c: &Arc<Container>) -> Result<View> {
    // A container that starts or stops between the look and the hold is looked at
    // again; twice is plenty for anything but a restart loop.
    for _ in 0..3 {
        let r = c.record();
        if r.state.status.is_live() {
            let pid = r.state.pid;
            let live = || {
                let now = c.record();
                now.state.status.is_live() && now.state.pid == pid
            };
            if let Some(mnt_ns) = fsview::live_namespace(pid, live)? {
                return View::open(Entry::Live { mnt_ns }, ()).await;
            }
            continue;
        }
        let hold = super::export::hold(c).await?;
        let r = c.record();
        if r.state.status.is_live() {
            drop(hold);
            continue;
        }
        let rootfs = d.images.snapshots().mounts(&c.id).map_err(|e| Error::internal(e.to_string()))?;
        let mut binds = r.all_binds();
        binds.extend(super::volumes::binds(&d.volumes, &r.volumes));
        // The files a start writes for /etc, where a run left them (a reboot forgets them).
        for (file, dst) in [("hosts", "/etc/hosts"), ("hostname", "/etc/hostname"), ("resolv.conf", "/etc/resolv.conf")] {
            let src = d.paths.run_dir(&c.id).join(file);
            if src.is_file() && !binds.iter().any(|b| b.destination == dst) {
                binds.push(api::binds::Bind {
                    source: src.display().to_string(),
                    destination: dst.into(),
                    mode: String::new(),
                    read_only: false,
                    propagation: api::binds::Propagation::RPrivate,
                    nocopy: false,
                });
            }
        }
        let over = d.paths.fsview.clone();
        std::fs::create_dir_all(&over).map_err(|e| Error::internal(format!("create {}: {e}", over.display())))?;
        let mut binds: Vec<fsview::ViewBind> = binds.into_iter().map(Into::into).collect();
        binds.extend(r.volumes.iter().filter(|v| !v.subpath.is_empty()).map(|v| fsview::ViewBind {
            source: fsview::BindSource::Beneath { root: d.volumes.data(&v.name), subpath: v.subpath.clone() },
            destination: v.destination.clone(),
            read_only: v.read_only,
        }));
        return View::open(Entry::Stopped { rootfs, binds, over }, hold).await;
    }
    Err(Error::conflict(format!("container {} keeps changing state", c.name())))
}

/// Why an archive operation failed, in Docker's words.
fn not_found(path: &str, container: &str) -> Error {
    Error::not_found(format!("Could not find the file {path} in container {container}"))
}

fn io_error(what: &str, path: &str, container: &str) -> impl FnOnce(std::io::Error) -> Error {
    let (what, path, container) = (what.to_string(), path.to_string(), container.to_string());
    move |e| match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ENOTDIR) => not_found(&path, &container),
        _ => Error::internal(format!("{what} {path}: {e}")),
    }
}

/// `path` as an absolute, clean path in the container, with the trailing `/` or
/// `/.` it was given.
pub fn absolute(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let mut out = format!("/{}", parts.join("/"));
    if path == "." || path.ends_with("/.") {
        if !out.ends_with('/') {
            out.push('/');
        }
        out.push('.');
    } else if path.ends_with('/') && !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// The last element of an absolute path, as Go's `filepath.Base` gives it.
pub fn base_name(abs: &str) -> &str {
    let trimmed = abs.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// A path split into its resolved directory and its last element as given (`None`
/// when the path names the directory itself: a trailing `/` or `/.`).
struct Located {
    dir: OwnedFd,
    base: Option<String>,
    abs: String,
}

fn locate(root: &Root, path: &str, container: &str) -> Result<Located> {
    let abs = absolute(path);
    let (dir, file) = abs.split_at(abs.rfind('/').map_or(0, |i| i + 1));
    let dir = runtime::rootfs::open_in_root(root.fd(), Path::new(dir), libc::O_PATH | libc::O_DIRECTORY, 0)
        .map_err(|e| runtime_io(e, path, container))?;
    let base = match file {
        "" | "." => None,
        f => Some(f.to_string()),
    };
    Ok(Located { dir, base, abs })
}

/// A runtime path error as the archive endpoints report it.
fn runtime_io(e: runtime::Error, path: &str, container: &str) -> Error {
    match e {
        runtime::Error::Io { source, .. } => io_error("resolve", path, container)(source),
        other => Error::internal(other.to_string()),
    }
}

fn lstat(l: &Located) -> nix::Result<FileStat> {
    match &l.base {
        None => nix::sys::stat::fstat(&l.dir),
        Some(b) => nix::sys::stat::fstatat(&l.dir, b.as_str(), nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW),
    }
}

/// `HEAD /containers/{id}/archive`: what `path` is.
pub fn stat(root: &Root, path: &str, container: &str) -> Result<PathStat> {
    let l = locate(root, path, container)?;
    let st = lstat(&l).map_err(|e| io_error("stat", path, container)(e.into()))?;
    Ok(path_stat(root, &l, &st))
}

fn path_stat(root: &Root, l: &Located, st: &FileStat) -> PathStat {
    let mtime = chrono::DateTime::from_timestamp(st.st_mtime, st.st_mtime_nsec as u32).unwrap_or_default();
    let is_link = st.st_mode & libc::S_IFMT == libc::S_IFLNK;
    PathStat {
        name: base_name(&l.abs).to_string(),
        size: st.st_size,
        mode: PathStat::go_mode(st.st_mode),
        mtime: api::time::format_rfc3339_nano(mtime),
        link_target: if is_link { link_target(root, l) } else { String::new() },
    }
}

/// Where a symlink leads, every link on the way followed inside the container's
/// root; for a dangling one, the path it names.
fn link_target(root: &Root, l: &Located) -> String {
    if let Ok(fd) = runtime::rootfs::open_in_root(root.fd(), Path::new(&l.abs), libc::O_PATH, 0)
        && let Ok(p) = root.path_of(fd.as_fd())
    {
        return p.display().to_string();
    }
    let Some(base) = &l.base else { return String::new() };
    let Ok(target) = nix::fcntl::readlinkat(&l.dir, base.as_str()) else { return String::new() };
    let target = target.to_string_lossy().into_owned();
    if target.starts_with('/') {
        return absolute(&target).trim_end_matches("/.").to_string();
    }
    let dir = root.path_of(l.dir.as_fd()).map(|p| p.display().to_string()).unwrap_or_else(|_| "/".into());
    absolute(&format!("{dir}/{target}"))
}

/// `GET /containers/{id}/archive`: the path's stat, and the job that writes its tar.
pub fn archive(root: &Root, path: &str, container: &str) -> Result<(PathStat, Packer)> {
    let l = locate(root, path, container)?;
    let st = lstat(&l).map_err(|e| io_error("stat", path, container)(e.into()))?;
    let stat = path_stat(root, &l, &st);
    let as_name = base_name(&l.abs).as_bytes().to_vec();
    let (dir, name) = match (stat.is_dir(), &l.base) {
        (true, Some(b)) => {
            let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW;
            let sub = runtime::rootfs::open_in_root(&l.dir, Path::new(b), flags, 0).map_err(|e| runtime_io(e, path, container))?;
            (sub, b".".to_vec())
        }
        (true, None) => (l.dir, b".".to_vec()),
        (false, Some(b)) => (l.dir, b.as_bytes().to_vec()),
        (false, None) => return Err(Error::internal(format!("{path} is not a directory"))),
    };
    Ok((stat, Packer { dir, name, as_name }))
}

/// The tar of one path, written where the caller wants it.
pub struct Packer {
    dir: OwnedFd,
    name: Vec<u8>,
    as_name: Vec<u8>,
}

impl Packer {
    pub fn write_to(self, out: impl std::io::Write) -> std::result::Result<(), image::layer::Error> {
        image::layer::pack(self.dir.as_fd(), &self.name, &self.as_name, out).map(|_| ())
    }
}

/// What an extraction may do.
pub struct Extract {
    pub no_overwrite_dir_non_dir: bool,
    /// `copyUIDGID`: the files are owned by the container's user (its `Config.User`),
    /// not by the ids in the tar.
    pub copy_uid_gid: bool,
}

/// `PUT /containers/{id}/archive`: the tar `body` extracted into the directory `path`.
pub fn extract(root: &Root, r: &Record, path: &str, how: Extract, body: &mut impl Read) -> Result<()> {
    let container = r.name.trim_start_matches('/');
    let abs = absolute(path);
    let dir = runtime::rootfs::open_in_root(root.fd(), Path::new(&abs), libc::O_PATH, 0)
        .map_err(|e| runtime_io(e, path, container))?;
    let st = nix::sys::stat::fstat(&dir).map_err(|e| io_error("stat", path, container)(e.into()))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return Err(Error::invalid("extraction point is not a directory"));
    }
    let resolved = root.path_of(dir.as_fd()).map_err(io_error("resolve", path, container))?;
    check_writable(r, &resolved)?;
    let owner = match how.copy_uid_gid && !r.config.user.is_empty() {
        true => {
            let user = super::user::resolve(Path::new("/"), &r.config.user, &[]).map_err(Error::invalid)?;
            Some((user.uid, user.gid))
        }
        false => None,
    };
    let opts = image::layer::ApplyOptions {
        whiteouts: image::layer::WhiteoutMode::Keep,
        no_overwrite_dir_non_dir: how.no_overwrite_dir_non_dir,
        owner,
        ..Default::default()
    };
    let mut body = std::io::BufReader::with_capacity(1 << 20, body);
    let head = body.fill_buf().map_err(|e| Error::invalid(format!("read the archive: {e}")))?;
    let compression = match head {
        [b'B', b'Z', b'h', ..] => return Err(Error::invalid("bzip2-compressed archives are not supported: send a plain, gzip or zstd tar")),
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => return Err(Error::invalid("xz-compressed archives are not supported: send a plain, gzip or zstd tar")),
        head => image::archive::detect_compression(head),
    };
    image::layer::apply_in(body, compression, dir, &opts).map_err(|e| match e {
        image::layer::Error::Refused { entry, reason } => Error::invalid(format!("{entry}: {reason}")),
        image::layer::Error::Stream(e) => Error::invalid(format!("read the archive: {e}")),
        other => Error::internal(other.to_string()),
    })?;
    Ok(())
}

/// Docker's rules for writes: into a volume or bind only when it is writable, and
/// elsewhere only when the rootfs is.
fn check_writable(r: &Record, resolved: &Path) -> Result<()> {
    let mounts = r
        .all_binds()
        .into_iter()
        .map(|b| (b.destination, b.read_only))
        .chain(r.volumes.iter().map(|v| (v.destination.clone(), v.read_only)));
    let inside = mounts.filter(|(dst, _)| resolved.starts_with(dst)).max_by_key(|(dst, _)| Path::new(dst).components().count());
    match inside {
        Some((_, true)) => Err(Error::invalid("mounted volume is marked read-only")),
        Some((_, false)) => Ok(()),
        None if r.host_config.readonly_rootfs => Err(Error::invalid("container rootfs is marked read-only")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_keep_their_trailing_slash_or_dot() {
        assert_eq!(absolute("etc/hosts"), "/etc/hosts");
        assert_eq!(absolute("/etc//./x/../hosts"), "/etc/hosts");
        assert_eq!(absolute("/etc/"), "/etc/");
        assert_eq!(absolute("/etc/."), "/etc/.");
        assert_eq!(absolute("/"), "/");
        assert_eq!(absolute("/."), "/.");
        assert_eq!(absolute("."), "/.");
        assert_eq!(absolute("../../.."), "/");
        assert_eq!(base_name("/etc/"), "etc");
        assert_eq!(base_name("/etc/."), ".");
        assert_eq!(base_name("/"), "/");
        assert_eq!(base_name("/a/b"), "b");
    }

    #[test]
    fn go_file_modes() {
        assert_eq!(PathStat::go_mode(0o040755), (1 << 31) | 0o755);
        assert_eq!(PathStat::go_mode(0o120777), (1 << 27) | 0o777);
        assert_eq!(PathStat::go_mode(0o100644), 0o644);
        assert_eq!(PathStat::go_mode(0o104755), (1 << 23) | 0o755);
        assert_eq!(PathStat::go_mode(0o020666), (1 << 26) | (1 << 21) | 0o666);
        assert_eq!(PathStat::go_mode(0o041777), (1 << 31) | (1 << 20) | 0o777);
    }
}
