//! `--mount type=volume,volume-subpath=sub/dir`: a directory (or file) inside a
//! volume mounted instead of its root. The subpath is resolved beneath the volume's
//! data directory with `openat2(RESOLVE_BENEATH)`: a symlink a container planted on
//! the way that would lead out of the volume (absolute, or `..` past its root) makes
//! the resolution fail instead of being followed, and what is mounted is the inode the
//! returned fd holds, so a later swap of a component changes nothing.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

/// Why a subpath cannot be mounted.
#[derive(Debug, thiserror::Error)]
pub enum SubpathError {
    /// Docker's words, with the path as the volume has it.
    #[error("cannot access path {path}: {source}")]
    NotAccessible {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("path concatenation escapes the base directory, base: {base}, subpath: {subpath}")]
    Escapes { base: String, subpath: String },
}

/// Go's `filepath.IsLocal`: relative, not empty, and never above its start.
pub fn is_local(subpath: &str) -> bool {
    if subpath.is_empty() || subpath.contains('\0') {
        return false;
    }
    let mut depth: i64 = 0;
    for c in Path::new(subpath).components() {
        match c {
            Component::RootDir | Component::Prefix(_) => return false,
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
        }
    }
    true
}

/// Opens `subpath` beneath `root` as an `O_PATH` fd (what a bind mount takes through
/// `/proc/self/fd`).
pub fn open(root: &Path, subpath: &str) -> Result<OwnedFd, SubpathError> {
    let shown = || root.join(subpath).display().to_string();
    let dir = std::fs::File::open(root).map_err(|source| SubpathError::NotAccessible { path: root.display().to_string(), source })?;
    let c = std::ffi::CString::new(Path::new(subpath).as_os_str().as_bytes())
        .map_err(|_| SubpathError::Escapes { base: root.display().to_string(), subpath: subpath.to_string() })?;
    // SAFETY: open_how is plain data; all-zero is its documented empty value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_PATH | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
    loop {
        // SAFETY: c is NUL-terminated, how is a valid open_how of the size passed.
        let fd = unsafe {
            libc::syscall(libc::SYS_openat2, dir.as_raw_fd(), c.as_ptr(), &how as *const libc::open_how, size_of::<libc::open_how>())
        } as i32;
        if fd >= 0 {
            // SAFETY: fd was just returned by openat2 and is owned by nobody else.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            // A concurrent rename raced the lookup: the kernel asks for a retry.
            Some(libc::EAGAIN) => continue,
            Some(libc::EXDEV) => return Err(SubpathError::Escapes { base: root.display().to_string(), subpath: subpath.to_string() }),
            _ => return Err(SubpathError::NotAccessible { path: shown(), source: e }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths() {
        for ok in ["a", "a/b", "a/../b", ".", "a/.."] {
            assert!(is_local(ok), "{ok}");
        }
        for bad in ["", "/a", "..", "../a", "a/../..", "a/../../b"] {
            assert!(!is_local(bad), "{bad}");
        }
    }

    #[test]
    fn a_symlink_out_of_the_volume_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sub/deeper")).unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("out")).unwrap();
        std::os::unix::fs::symlink("../..", dir.path().join("sub/up")).unwrap();
        std::os::unix::fs::symlink("deeper", dir.path().join("sub/in")).unwrap();
        assert!(open(dir.path(), "sub/in").is_ok());
        assert!(matches!(open(dir.path(), "out"), Err(SubpathError::Escapes { .. })));
        assert!(matches!(open(dir.path(), "sub/up"), Err(SubpathError::Escapes { .. })));
        let e = open(dir.path(), "missing").unwrap_err().to_string();
        assert!(e.starts_with("cannot access path ") && e.ends_with("No such file or directory (os error 2)"), "{e}");
    }
}
