//! Docker's copy-up: a new, empty volume mounted over content of the image is first
//! filled with that content, so that `VOLUME /var/lib/app` keeps the image's files.
//!
//! The walk goes by file descriptors: each directory is opened relative to its
//! parent with `O_NOFOLLOW`, each entry looked at without following it, so a link
//! in the source (the container's, which it may have planted) is copied as a link
//! and never read through. Files keep their owner, mode and times; hard links stay
//! links; fifos and device nodes are made again.

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FchmodatFlags, Mode, SFlag, UtimensatFlags};

/// Deeper than any image's tree; a deeper one (hostile) is refused, not walked.
const MAX_DEPTH: usize = 256;

/// Copies what the directory `src` holds into the empty directory `dst`, and gives
/// `dst` the owner and mode of `src`. Returns how many entries were copied.
pub fn copy_up(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> std::io::Result<u64> {
    let root = nix::sys::stat::fstat(src)?;
    nix::unistd::fchown(dst, Some(root.st_uid.into()), Some(root.st_gid.into()))?;
    nix::sys::stat::fchmod(dst, Mode::from_bits_truncate(root.st_mode & 0o7777))?;
    let mut walk = Walk { top: dst, links: HashMap::new(), copied: 0, path: Vec::new() };
    walk.dir(src, dst, 0)?;
    Ok(walk.copied)
}

struct Walk<'a> {
    /// The destination's top, where hard links are named from.
    top: BorrowedFd<'a>,
    /// A multiply linked inode of the source → its first copy's path from the top.
    links: HashMap<(u64, u64), Vec<u8>>,
    copied: u64,
    /// The entry being copied, from the top.
    path: Vec<u8>,
}

fn open_dir(dir: BorrowedFd<'_>, name: &CStr) -> std::io::Result<OwnedFd> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    Ok(nix::fcntl::openat(dir, name, flags, Mode::empty())?)
}

impl Walk<'_> {
fn dir(&mut self, src: BorrowedFd<'_>, dst: BorrowedFd<'_>, depth: usize) -> std::io::Result<()> {
    if depth > MAX_DEPTH {
        return Err(std::io::Error::other(format!("the tree is deeper than {MAX_DEPTH} directories")));
    }
    // The listing comes from a descriptor of its own: reading it moves its offset.
    let listing = nix::dir::Dir::from_fd(open_dir(src, c".")?)?;
    let names: Vec<CString> = listing
        .into_iter()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_owned())
        .filter(|n| n.as_bytes() != b"." && n.as_bytes() != b"..")
        .collect();
    for name in names {
        let st = nix::sys::stat::fstatat(src, name.as_c_str(), AtFlags::AT_SYMLINK_NOFOLLOW)?;
        let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
        let mode = Mode::from_bits_truncate(st.st_mode & 0o7777);
        let mark = self.path.len();
        if !self.path.is_empty() {
            self.path.push(b'/');
        }
        self.path.extend_from_slice(name.as_bytes());
        let key = (st.st_dev, st.st_ino);
        if kind != SFlag::S_IFDIR && st.st_nlink > 1 {
            if let Some(first) = self.links.get(&key) {
                let first = CString::new(first.clone()).map_err(std::io::Error::other)?;
                nix::unistd::linkat(self.top, first.as_c_str(), dst, name.as_c_str(), AtFlags::empty())?;
                self.path.truncate(mark);
                self.copied += 1;
                continue;
            }
            self.links.insert(key, self.path.clone());
        }
        match kind {
            SFlag::S_IFDIR => {
                nix::sys::stat::mkdirat(dst, name.as_c_str(), Mode::from_bits_truncate(0o700))?;
                let (s, d) = (open_dir(src, &name)?, open_dir(dst, &name)?);
                self.dir(s.as_fd(), d.as_fd(), depth + 1)?;
            }
            SFlag::S_IFREG => {
                let from = nix::fcntl::openat(src, name.as_c_str(), OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())?;
                let to = nix::fcntl::openat(
                    dst,
                    name.as_c_str(),
                    OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o600),
                )?;
                std::io::copy(&mut std::fs::File::from(from), &mut std::fs::File::from(to))?;
            }
            SFlag::S_IFLNK => {
                let target = nix::fcntl::readlinkat(src, name.as_c_str())?;
                nix::unistd::symlinkat(OsStr::new(&target).as_bytes(), dst, name.as_c_str())?;
            }
            SFlag::S_IFIFO | SFlag::S_IFCHR | SFlag::S_IFBLK => {
                nix::sys::stat::mknodat(dst, name.as_c_str(), kind, mode, st.st_rdev)?;
            }
            // Sockets are not content.
            _ => {
                self.path.truncate(mark);
                continue;
            }
        }
        // Owner first (it clears set-id bits), then mode, then times; a link has no mode.
        nix::unistd::fchownat(dst, name.as_c_str(), Some(st.st_uid.into()), Some(st.st_gid.into()), AtFlags::AT_SYMLINK_NOFOLLOW)?;
        if kind != SFlag::S_IFLNK {
            nix::sys::stat::fchmodat(dst, name.as_c_str(), mode, FchmodatFlags::FollowSymlink)?;
        }
        let atime = nix::sys::time::TimeSpec::new(st.st_atime, st.st_atime_nsec);
        let mtime = nix::sys::time::TimeSpec::new(st.st_mtime, st.st_mtime_nsec);
        nix::sys::stat::utimensat(dst, name.as_c_str(), &atime, &mtime, UtimensatFlags::NoFollowSymlink)?;
        self.path.truncate(mark);
        self.copied += 1;
    }
    Ok(())
}
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

    fn dir_fd(path: &std::path::Path) -> OwnedFd {
        std::fs::File::open(path).unwrap().into()
    }

    /// Files, directories, links (copied as links, never followed out), hard links,
    /// a fifo; owners, modes and times kept; the top takes the source's owner and mode.
    #[test]
    fn the_tree_is_copied_as_it_is_and_links_stay_links() {
        let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let s = src.path();
        std::fs::create_dir_all(s.join("conf/deep")).unwrap();
        std::fs::write(s.join("conf/app.ini"), "x=1\n").unwrap();
        std::fs::set_permissions(s.join("conf/app.ini"), std::fs::Permissions::from_mode(0o640)).unwrap();
        std::fs::write(s.join("conf/deep/data"), vec![7u8; 100_000]).unwrap();
        std::fs::hard_link(s.join("conf/deep/data"), s.join("again")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", s.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../../outside", s.join("conf/rel")).unwrap();
        nix::unistd::mkfifo(&s.join("pipe"), Mode::from_bits_truncate(0o600)).unwrap();
        std::fs::set_permissions(s, std::fs::Permissions::from_mode(0o750)).unwrap();
        let root = nix::unistd::geteuid().is_root();
        if root {
            std::os::unix::fs::lchown(s.join("conf"), Some(1000), Some(1001)).unwrap();
            std::os::unix::fs::lchown(s, Some(999), Some(999)).unwrap();
        }
        let copied = copy_up(dir_fd(s).as_fd(), dir_fd(dst.path()).as_fd()).unwrap();
        assert_eq!(copied, 8, "conf, app.ini, deep, data, again, abs, rel, pipe");
        let d = dst.path();
        assert_eq!(std::fs::read_to_string(d.join("conf/app.ini")).unwrap(), "x=1\n");
        assert_eq!(std::fs::metadata(d.join("conf/app.ini")).unwrap().mode() & 0o7777, 0o640);
        assert_eq!(std::fs::read_link(d.join("abs")).unwrap(), std::path::Path::new("/etc/passwd"));
        assert_eq!(std::fs::read_link(d.join("conf/rel")).unwrap(), std::path::Path::new("../../../../outside"));
        let (a, b) = (std::fs::metadata(d.join("again")).unwrap(), std::fs::metadata(d.join("conf/deep/data")).unwrap());
        assert_eq!(a.ino(), b.ino(), "a hard link stays one");
        assert_eq!(b.len(), 100_000);
        assert!(std::fs::symlink_metadata(d.join("pipe")).unwrap().file_type().is_fifo());
        assert_eq!(std::fs::metadata(d.join("conf/deep/data")).unwrap().mtime(), std::fs::metadata(s.join("conf/deep/data")).unwrap().mtime());
        assert_eq!(std::fs::metadata(d).unwrap().mode() & 0o7777, 0o750);
        if root {
            let conf = std::fs::metadata(d.join("conf")).unwrap();
            assert_eq!((conf.uid(), conf.gid()), (1000, 1001));
            assert_eq!(std::fs::metadata(d).unwrap().uid(), 999);
        }
    }
}
