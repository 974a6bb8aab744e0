//! Spare volumes: a removed volume's directory, its data emptied and its data
//! directory reset to what a new one is, kept to become the next volume made.
//!
//! Why: a volume is three inodes (its directory, `_data`, its record), and making an
//! inode is the dear part of a create. On ext4 without a journal it is dearer still
//! after deletions: the allocator passes over every inode freed in the last minutes,
//! reading its inode table block for each. A spare turns a create into a rewrite of
//! the record and a rename, and a removal into a rename, with no inode made or freed:
//! the create-and-remove churn of CI jobs and test suites stays at the speed of a
//! rename. At most [`MAX`] are kept (12 KiB of disk each); the rest are deleted.
//!
//! A spare is only ever handed out empty: its data directory holds nothing, is a
//! directory of the daemon's owner with a new one's mode, and has no extended
//! attributes (an ACL included); one that cannot be made so is deleted instead.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// The most spares kept.
pub(crate) const MAX: usize = 1024;

/// A spare's name in the store's root starts with this (hidden from listings).
pub(crate) const PREFIX: &str = ".spare-";

/// The spares ready to be handed out, and what a new data directory looks like.
#[derive(Debug)]
pub(crate) struct Spares {
    ready: Mutex<Vec<PathBuf>>,
    fresh: Fresh,
}

/// A new data directory's owner and mode (`0777` less the process's umask).
#[derive(Debug, Clone, Copy)]
struct Fresh {
    uid: u32,
    gid: u32,
    mode: u32,
}

impl Default for Spares {
    fn default() -> Spares {
        // The umask as /proc shows it: setting it to read it back would race with
        // the other threads making files.
        let umask = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Umask:").and_then(|m| u32::from_str_radix(m.trim(), 8).ok())))
            .unwrap_or(0o022);
        let fresh = Fresh { uid: nix::unistd::geteuid().as_raw(), gid: nix::unistd::getegid().as_raw(), mode: 0o777 & !umask };
        Spares { ready: Mutex::new(Vec::new()), fresh }
    }
}

impl Spares {
    /// A spare, empty and reset, now the caller's; none when there is none.
    pub(crate) fn take(&self) -> Option<PathBuf> {
        self.ready.lock().unwrap_or_else(PoisonError::into_inner).pop()
    }

    pub(crate) fn has_one(&self) -> bool {
        !self.ready.lock().unwrap_or_else(PoisonError::into_inner).is_empty()
    }

    /// Empties the volume directory `dir` (renamed out of the way already) and keeps
    /// it as a spare. Returns it when it is not kept (enough are, or it cannot be
    /// made as new): the caller deletes it.
    pub(crate) fn recycle(&self, dir: PathBuf) -> Option<PathBuf> {
        if self.ready.lock().unwrap_or_else(PoisonError::into_inner).len() >= MAX {
            return Some(dir);
        }
        if self.reset(&dir).is_err() {
            return Some(dir);
        }
        let mut ready = self.ready.lock().unwrap_or_else(PoisonError::into_inner);
        if ready.len() >= MAX {
            return Some(dir);
        }
        ready.push(dir);
        None
    }

    /// `dir`'s data emptied and made as a new one's; its record a plain file.
    fn reset(&self, dir: &Path) -> std::io::Result<()> {
        let not_plain = || std::io::Error::other("not a plain volume directory");
        if !std::fs::symlink_metadata(dir)?.is_dir() || !std::fs::symlink_metadata(dir.join(crate::layout::RECORD))?.is_file() {
            return Err(not_plain());
        }
        let data = dir.join(crate::layout::DATA);
        let meta = std::fs::symlink_metadata(&data)?;
        if !meta.is_dir() {
            return Err(not_plain());
        }
        for entry in std::fs::read_dir(&data)? {
            let entry = entry?;
            // Never followed: a link is removed, not what it leads to.
            match entry.file_type()?.is_dir() {
                true => std::fs::remove_dir_all(entry.path())?,
                false => std::fs::remove_file(entry.path())?,
            }
        }
        if has_xattrs(&data)? {
            return Err(not_plain());
        }
        let Fresh { uid, gid, mode } = self.fresh;
        if (meta.uid(), meta.gid()) != (uid, gid) {
            std::os::unix::fs::lchown(&data, Some(uid), Some(gid))?;
        }
        // After the owner: a chown clears the set-id bits.
        let meta = std::fs::symlink_metadata(&data)?;
        if meta.mode() & 0o7777 != mode {
            std::fs::set_permissions(&data, std::fs::Permissions::from_mode(mode))?;
        }
        Ok(())
    }
}

/// Whether `path` (not followed) has any extended attribute, an ACL included.
fn has_xattrs(path: &Path) -> std::io::Result<bool> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    // SAFETY: `c` is a NUL-terminated path that outlives the call; a null buffer of
    // size 0 asks only for the length of the name list.
    let len = unsafe { libc::llistxattr(c.as_ptr(), std::ptr::null_mut(), 0) };
    match len {
        0 => Ok(false),
        n if n > 0 => Ok(true),
        _ => Err(std::io::Error::last_os_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skeleton(root: &Path, name: &str) -> PathBuf {
        let dir = root.join(name);
        std::fs::create_dir_all(dir.join("_data")).unwrap();
        std::fs::write(dir.join("volume.json"), b"{}").unwrap();
        dir
    }

    #[test]
    fn a_used_volume_comes_back_empty_and_as_new() {
        let root = tempfile::tempdir().unwrap();
        let spares = Spares::default();
        let dir = skeleton(root.path(), ".spare-1");
        let data = dir.join("_data");
        std::fs::create_dir_all(data.join("a/b")).unwrap();
        std::fs::write(data.join("a/b/f"), b"secret").unwrap();
        let outside = skeleton(root.path(), "outside");
        std::os::unix::fs::symlink(&outside, data.join("out")).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o1700)).unwrap();
        if nix::unistd::geteuid().is_root() {
            std::os::unix::fs::lchown(&data, Some(1000), Some(1000)).unwrap();
        }
        assert_eq!(spares.recycle(dir.clone()), None, "kept");
        let got = spares.take().unwrap();
        assert_eq!(got, dir);
        assert_eq!(std::fs::read_dir(&data).unwrap().count(), 0);
        let meta = std::fs::symlink_metadata(&data).unwrap();
        assert_eq!(meta.mode() & 0o7777, spares.fresh.mode);
        assert_eq!((meta.uid(), meta.gid()), (spares.fresh.uid, spares.fresh.gid));
        assert!(outside.join("volume.json").exists(), "the link was not followed");
        assert_eq!(spares.take(), None);
    }

    #[test]
    fn what_cannot_be_made_new_is_given_back_to_be_deleted() {
        let root = tempfile::tempdir().unwrap();
        let spares = Spares::default();
        // Its data directory a link; its record missing; an extended attribute on it.
        let linked = skeleton(root.path(), ".spare-1");
        std::fs::remove_dir(linked.join("_data")).unwrap();
        std::os::unix::fs::symlink("/tmp", linked.join("_data")).unwrap();
        assert_eq!(spares.recycle(linked.clone()), Some(linked));
        let bare = root.path().join(".spare-2");
        std::fs::create_dir_all(bare.join("_data")).unwrap();
        assert_eq!(spares.recycle(bare.clone()), Some(bare));
        let marked = skeleton(root.path(), ".spare-3");
        let c = std::ffi::CString::new(marked.join("_data").to_str().unwrap()).unwrap();
        // SAFETY: NUL-terminated name, path and a value of the given length.
        let set = unsafe { libc::lsetxattr(c.as_ptr(), c"user.mark".as_ptr(), b"x".as_ptr().cast(), 1, 0) };
        if set == 0 {
            assert_eq!(spares.recycle(marked.clone()), Some(marked));
        }
        assert_eq!(spares.take(), None);
    }
}
