//! Thin, fd-relative filesystem primitives shared by layer apply/diff and the
//! snapshotter: in-root path resolution (`openat2`), recursive removal that never
//! follows symlinks, `fchmodat2`, extended attributes on any inode type, directory
//! listing. Everything works on directory fds so a path component swapped for a
//! symlink between check and use cannot redirect an operation.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FileStat, Mode, SFlag, fstatat};
use nix::unistd::UnlinkatFlags;

/// `fchmodat2(2)` (Linux 6.6): the same number on every architecture, since it was
/// added after the syscall tables were unified.
const SYS_FCHMODAT2: libc::c_long = 452;

fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// Opens `path` (a trusted path of our own) with `flags | O_CLOEXEC`.
pub(crate) fn open_path(path: &Path, flags: OFlag) -> io::Result<OwnedFd> {
    Ok(nix::fcntl::open(path, flags | OFlag::O_CLOEXEC, Mode::empty())?)
}

/// `openat2(root, path, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`: the kernel resolves
/// `path` as if `root` were `/`, so `..` stops at `root` and absolute symlinks restart
/// at it; `/proc/*/fd`-style magic links are refused outright. An empty path is the
/// root itself.
pub(crate) fn open_in_root(root: BorrowedFd<'_>, path: &[u8], flags: OFlag) -> io::Result<OwnedFd> {
    let c = cstring(if path.is_empty() { b"." } else { path })?;
    // SAFETY: open_how is a plain-data struct (non-exhaustive in libc, hence no
    // literal); all-zero is its valid "no flags" value, fields are set below.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | OFlag::O_CLOEXEC).bits() as u64;
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    // EAGAIN means a concurrent rename raced the lookup (the kernel cannot prove the
    // result is still inside the root); retrying is the documented answer.
    for _ in 0..64 {
        // SAFETY: c is NUL-terminated and outlives the call; how is a valid open_how and
        // its exact size is passed; root is a live fd borrowed for the call.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root.as_raw_fd(),
                c.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if fd >= 0 {
            // SAFETY: openat2 returned a new fd that nothing else owns.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) });
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EAGAIN) {
            return Err(e);
        }
    }
    Err(io::Error::from_raw_os_error(libc::EAGAIN))
}

/// `openat(dir, name, flags | O_CLOEXEC)` for a single path component.
pub(crate) fn open_at(dir: BorrowedFd<'_>, name: &[u8], flags: OFlag, mode: u32) -> io::Result<OwnedFd> {
    Ok(nix::fcntl::openat(dir, name, flags | OFlag::O_CLOEXEC, Mode::from_bits_truncate(mode))?)
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`; `None` when nothing is there.
pub(crate) fn lstat_at(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<Option<FileStat>> {
    match fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(st)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn fstat(fd: BorrowedFd<'_>) -> io::Result<FileStat> {
    Ok(nix::sys::stat::fstat(fd)?)
}

pub(crate) fn file_type(st: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT)
}

pub(crate) fn is_dir(st: &FileStat) -> bool {
    file_type(st) == SFlag::S_IFDIR
}

/// The names in directory `dir` (without `.` and `..`), sorted bytewise.
pub(crate) fn read_names(dir: BorrowedFd<'_>) -> io::Result<Vec<Vec<u8>>> {
    // A fresh open file description, so listing never disturbs `dir`'s offset.
    let fd = open_at(dir, b".", OFlag::O_RDONLY | OFlag::O_DIRECTORY, 0)?;
    let mut d = Dir::from_fd(fd)?;
    let mut names = Vec::new();
    for entry in d.iter() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(name.to_vec());
        }
    }
    names.sort();
    Ok(names)
}

/// Removes `name` in `dir` and, for a directory, everything below it. Symlinks are
/// removed, never followed; every step is relative to an fd opened with O_NOFOLLOW.
/// A missing `name` is not an error.
pub(crate) fn remove_all_at(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    let Some(st) = lstat_at(dir, name)? else { return Ok(()) };
    if is_dir(&st) {
        let sub = open_at(dir, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW, 0)?;
        for child in read_names(sub.as_fd())? {
            remove_all_at(sub.as_fd(), &child)?;
        }
        drop(sub);
        match nix::unistd::unlinkat(dir, name, UnlinkatFlags::RemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(e.into()),
        }
    } else {
        match nix::unistd::unlinkat(dir, name, UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// chmod of `name` in `dir` without following a symlink there. Plain fchmodat ignores
/// AT_SYMLINK_NOFOLLOW (the old syscall has no flags argument); fchmodat2 honours it.
/// On kernels before 6.6 we fall back to fchmodat, which is only called for inodes we
/// have just created ourselves (devices, fifos), never for a symlink.
pub(crate) fn chmod_at(dir: BorrowedFd<'_>, name: &[u8], mode: u32) -> io::Result<()> {
    let c = cstring(name)?;
    // SAFETY: c is NUL-terminated and outlives the call; dir is a live fd.
    let r = unsafe {
        libc::syscall(SYS_FCHMODAT2, dir.as_raw_fd(), c.as_ptr(), mode as libc::c_uint, libc::AT_SYMLINK_NOFOLLOW)
    };
    if r == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() != Some(libc::ENOSYS) {
        return Err(e);
    }
    Ok(nix::sys::stat::fchmodat(
        dir,
        name,
        Mode::from_bits_truncate(mode),
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )?)
}

/// `/proc/self/fd/<dir>/<name>`: lets the path-only `l*xattr` calls reach an inode we
/// cannot open (symlink, device, fifo) relative to a dir fd. The magic link resolves
/// to `dir` itself and the `l` variants do not follow `name`.
fn proc_path(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<CString> {
    let mut p = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
    p.extend_from_slice(name);
    cstring(&p)
}

/// Where an extended attribute lives: an open fd, or a name in a directory fd.
#[derive(Clone, Copy)]
pub(crate) enum XattrTarget<'a> {
    Fd(BorrowedFd<'a>),
    At(BorrowedFd<'a>, &'a [u8]),
}

pub(crate) fn set_xattr(target: XattrTarget<'_>, key: &[u8], value: &[u8]) -> io::Result<()> {
    let key = cstring(key)?;
    let r = match target {
        // SAFETY: key is NUL-terminated, value is a valid slice of the given length.
        XattrTarget::Fd(fd) => unsafe {
            libc::fsetxattr(fd.as_raw_fd(), key.as_ptr(), value.as_ptr().cast(), value.len(), 0)
        },
        XattrTarget::At(dir, name) => {
            let cname = cstring(name)?;
            let args = XattrArgs { value: value.as_ptr() as u64, size: value.len() as u32, flags: 0 };
            // SAFETY: cname and key are NUL-terminated; args points at `value`, live
            // for the call, and its size is passed.
            let r = unsafe {
                libc::syscall(SYS_SETXATTRAT, dir.as_raw_fd(), cname.as_ptr(), libc::AT_SYMLINK_NOFOLLOW, key.as_ptr(), &args as *const XattrArgs, size_of::<XattrArgs>())
            };
            if r == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ENOSYS) {
                r as i32
            } else {
                let p = proc_path(dir, name)?;
                // SAFETY: p and key are NUL-terminated, value is a valid slice.
                unsafe { libc::lsetxattr(p.as_ptr(), key.as_ptr(), value.as_ptr().cast(), value.len(), 0) }
            }
        }
    };
    if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// Calls `f(buf)` (a *listxattr/*getxattr returning a length) with a growing buffer.
fn sized_call(mut f: impl FnMut(&mut [u8]) -> isize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    loop {
        let n = f(&mut buf);
        if n >= 0 {
            buf.truncate(n as usize);
            return Ok(buf);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ERANGE) || buf.len() >= 1 << 20 {
            return Err(e);
        }
        let len = buf.len() * 4;
        buf.resize(len, 0);
    }
}

/// `*xattrat(2)` (Linux 6.13): xattrs of a name in a directory fd, not followed
/// when a symlink. Without them, the `/proc/self/fd` path of the name is used, which
/// needs this process's procfs at `/proc` (a container's filesystem view has none).
const SYS_SETXATTRAT: libc::c_long = 463;
const SYS_GETXATTRAT: libc::c_long = 464;
const SYS_LISTXATTRAT: libc::c_long = 465;

/// `struct xattr_args` of the `*xattrat` calls.
#[repr(C)]
struct XattrArgs {
    value: u64,
    size: u32,
    flags: u32,
}

/// The inode an xattr call reaches: an fd, a name in a directory fd, or a
/// `/proc/self/fd/<dir>/<name>` path.
enum Source<'a> {
    Fd(BorrowedFd<'a>),
    At(BorrowedFd<'a>, CString),
    Path(CString),
}

impl Source<'_> {
    fn list(&self, buf: &mut [u8]) -> isize {
        match self {
            // SAFETY: name is NUL-terminated; buf is a writable slice of the given length.
            Source::At(dir, name) => unsafe {
                libc::syscall(SYS_LISTXATTRAT, dir.as_raw_fd(), name.as_ptr(), libc::AT_SYMLINK_NOFOLLOW, buf.as_mut_ptr(), buf.len())
                    as isize
            },
            // SAFETY: p is NUL-terminated; buf is a writable slice of the given length.
            Source::Path(p) => unsafe { libc::llistxattr(p.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) },
            // SAFETY: fd is live; buf is a writable slice of the given length.
            Source::Fd(fd) => unsafe { libc::flistxattr(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) },
        }
    }

    fn get(&self, key: &CString, buf: &mut [u8]) -> isize {
        match self {
            Source::At(dir, name) => {
                let args = XattrArgs { value: buf.as_mut_ptr() as u64, size: buf.len() as u32, flags: 0 };
                // SAFETY: name and key are NUL-terminated; args points at `buf`, live
                // and writable for its length, and its size is passed.
                unsafe {
                    libc::syscall(SYS_GETXATTRAT, dir.as_raw_fd(), name.as_ptr(), libc::AT_SYMLINK_NOFOLLOW, key.as_ptr(), &args as *const XattrArgs, size_of::<XattrArgs>())
                        as isize
                }
            }
            // SAFETY: p and key are NUL-terminated; buf is writable for its length.
            Source::Path(p) => unsafe {
                libc::lgetxattr(p.as_ptr(), key.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
            },
            // SAFETY: fd is live; key is NUL-terminated; buf is writable for its length.
            Source::Fd(fd) => unsafe {
                libc::fgetxattr(fd.as_raw_fd(), key.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
            },
        }
    }
}

/// All extended attributes of `target` as (name, value), sorted by name. A filesystem
/// without xattr support yields none.
pub(crate) fn list_xattrs(target: XattrTarget<'_>) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut src = match target {
        XattrTarget::Fd(fd) => Source::Fd(fd),
        XattrTarget::At(dir, name) => Source::At(dir, cstring(name)?),
    };
    let mut names = sized_call(|buf| src.list(buf));
    if let (Source::At(..), Err(e), XattrTarget::At(dir, name)) = (&src, &names, target)
        && e.raw_os_error() == Some(libc::ENOSYS)
    {
        src = Source::Path(proc_path(dir, name)?);
        names = sized_call(|buf| src.list(buf));
    }
    let names = match names {
        Ok(n) => n,
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for key in names.split(|&b| b == 0).filter(|k| !k.is_empty()) {
        let ckey = cstring(key)?;
        match sized_call(|buf| src.get(&ckey, buf)) {
            Ok(v) => out.push((key.to_vec(), v)),
            // Removed between list and get: it is simply not there.
            Err(e) if e.raw_os_error() == Some(libc::ENODATA) => {}
            Err(e) => return Err(e),
        }
    }
    out.sort();
    Ok(out)
}

/// One xattr value, `None` when absent or unsupported.
#[cfg(test)]
pub(crate) fn get_xattr(target: XattrTarget<'_>, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
    Ok(list_xattrs(target)?.into_iter().find(|(k, _)| k == key).map(|(_, v)| v))
}
