//! `cp -a` for the copying snapshotter, and disk usage: a tree copied inode by inode
//! (files, directories, symlinks, devices, fifos, sockets) with owners, modes, times
//! and xattrs, hard links kept as hard links. Every step is relative to directory
//! fds and never follows a symlink, so a tree written by a container cannot send the
//! copy (or the usage walk) elsewhere.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FileStat, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid};

use crate::layer::sys::{self, XattrTarget};

fn dir_flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW
}

/// Copies the contents and metadata of directory `src` into the existing, empty
/// directory `dst`.
pub(crate) fn copy_tree(src: &Path, dst: &Path) -> io::Result<()> {
    let s = sys::open_path(src, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
    let d = sys::open_path(dst, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
    let mut c = Copier { dst_root: d.try_clone()?, links: HashMap::new() };
    c.contents(s.as_fd(), d.as_fd(), b"")?;
    let st = sys::fstat(s.as_fd())?;
    copy_meta(Some(s.as_fd()), None, Node::Fd(d.as_fd()), &st)
}

struct Copier {
    dst_root: OwnedFd,
    /// (dev, ino) of multiply-linked source inodes → their first copy's path.
    links: HashMap<(u64, u64), Vec<u8>>,
}

/// Where to apply metadata in the copy.
#[derive(Clone, Copy)]
enum Node<'a> {
    Fd(BorrowedFd<'a>),
    At(BorrowedFd<'a>, &'a [u8], bool),
}

impl Copier {
    fn contents(&mut self, src: BorrowedFd<'_>, dst: BorrowedFd<'_>, rel: &[u8]) -> io::Result<()> {
        for name in sys::read_names(src)? {
            let Some(st) = sys::lstat_at(src, &name)? else { continue };
            let crel = if rel.is_empty() { name.clone() } else { [rel, b"/", &name].concat() };
            self.entry(src, dst, &name, &crel, &st)?;
        }
        Ok(())
    }

    fn entry(&mut self, src: BorrowedFd<'_>, dst: BorrowedFd<'_>, name: &[u8], rel: &[u8], st: &FileStat) -> io::Result<()> {
        let kind = sys::file_type(st);
        if kind != SFlag::S_IFDIR && st.st_nlink > 1 {
            let key = (st.st_dev, st.st_ino);
            if let Some(first) = self.links.get(&key) {
                return Ok(nix::unistd::linkat(self.dst_root.as_fd(), first.as_slice(), dst, name, AtFlags::empty())?);
            }
            self.links.insert(key, rel.to_vec());
        }
        match kind {
            SFlag::S_IFDIR => {
                nix::sys::stat::mkdirat(dst, name, Mode::from_bits_truncate(0o700))?;
                let s = sys::open_at(src, name, dir_flags(), 0)?;
                let d = sys::open_at(dst, name, dir_flags(), 0)?;
                self.contents(s.as_fd(), d.as_fd(), rel)?;
                copy_meta(Some(s.as_fd()), None, Node::Fd(d.as_fd()), st)
            }
            SFlag::S_IFREG => {
                let s = sys::open_at(src, name, OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK, 0)?;
                let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW;
                let d = sys::open_at(dst, name, flags, 0o600)?;
                let (mut sf, mut df) = (File::from(s), File::from(d));
                // std's File→File copy uses copy_file_range: in-kernel, and a reflink
                // on filesystems that share extents.
                io::copy(&mut sf, &mut df)?;
                copy_meta(Some(sf.as_fd()), None, Node::Fd(df.as_fd()), st)
            }
            SFlag::S_IFLNK => {
                let target = nix::fcntl::readlinkat(src, name)?;
                nix::unistd::symlinkat(target.as_os_str(), dst, name)?;
                copy_meta(None, Some((src, name)), Node::At(dst, name, true), st)
            }
            _ => {
                nix::sys::stat::mknodat(dst, name, kind, Mode::from_bits_truncate(0o600), st.st_rdev)?;
                copy_meta(None, Some((src, name)), Node::At(dst, name, false), st)
            }
        }
    }
}

/// Owner, xattrs, mode, times — in that order, since chown clears setuid bits and
/// file capabilities.
fn copy_meta(src_fd: Option<BorrowedFd<'_>>, src_at: Option<(BorrowedFd<'_>, &[u8])>, dst: Node<'_>, st: &FileStat) -> io::Result<()> {
    let (uid, gid) = (Some(Uid::from_raw(st.st_uid)), Some(Gid::from_raw(st.st_gid)));
    match dst {
        Node::Fd(fd) => nix::unistd::fchown(fd, uid, gid)?,
        Node::At(dir, name, _) => nix::unistd::fchownat(dir, name, uid, gid, AtFlags::AT_SYMLINK_NOFOLLOW)?,
    }
    let xattrs = match (src_fd, src_at) {
        (Some(fd), _) => sys::list_xattrs(XattrTarget::Fd(fd))?,
        (None, Some((dir, name))) => sys::list_xattrs(XattrTarget::At(dir, name))?,
        (None, None) => Vec::new(),
    };
    let target = match dst {
        Node::Fd(fd) => XattrTarget::Fd(fd),
        Node::At(dir, name, _) => XattrTarget::At(dir, name),
    };
    for (k, v) in &xattrs {
        match sys::set_xattr(target, k, v) {
            Ok(()) => {}
            // The destination filesystem has no xattrs at all: nothing to preserve.
            Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => {}
            Err(e) => return Err(e),
        }
    }
    let mode = st.st_mode & 0o7777;
    match dst {
        Node::Fd(fd) => nix::sys::stat::fchmod(fd, Mode::from_bits_truncate(mode))?,
        Node::At(_, _, true) => {}
        Node::At(dir, name, false) => sys::chmod_at(dir, name, mode)?,
    }
    let atime = TimeSpec::new(st.st_atime, st.st_atime_nsec);
    let mtime = TimeSpec::new(st.st_mtime, st.st_mtime_nsec);
    match dst {
        Node::Fd(fd) => nix::sys::stat::futimens(fd, &atime, &mtime)?,
        Node::At(dir, name, _) => {
            nix::sys::stat::utimensat(dir, name, &atime, &mtime, UtimensatFlags::NoFollowSymlink)?
        }
    }
    Ok(())
}

/// Disk usage of a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Bytes of allocated blocks, each hard-linked inode counted once.
    pub size: u64,
    /// Inodes, the directory itself included.
    pub inodes: u64,
}

pub(crate) fn usage(path: &Path) -> io::Result<Usage> {
    let fd = match sys::open_path(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY) {
        Ok(fd) => fd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Usage::default()),
        Err(e) => return Err(e),
    };
    let st = sys::fstat(fd.as_fd())?;
    let mut u = Usage { size: st.st_blocks as u64 * 512, inodes: 1 };
    let mut seen = HashSet::new();
    usage_dir(fd.as_fd(), &mut u, &mut seen)?;
    Ok(u)
}

fn usage_dir(dir: BorrowedFd<'_>, u: &mut Usage, seen: &mut HashSet<(u64, u64)>) -> io::Result<()> {
    for name in sys::read_names(dir)? {
        let Some(st) = sys::lstat_at(dir, &name)? else { continue };
        if !seen.insert((st.st_dev, st.st_ino)) {
            continue;
        }
        u.inodes += 1;
        u.size += st.st_blocks as u64 * 512;
        if sys::is_dir(&st) {
            let sub = sys::open_at(dir, &name, dir_flags(), 0)?;
            usage_dir(sub.as_fd(), u, seen)?;
        }
    }
    Ok(())
}
