//! The two whiteout encodings and the translation between them: OCI layers mark a
//! deletion with an empty file `.wh.<name>` and an opaque directory with
//! `.wh..wh..opq`; overlayfs marks them with a 0/0 character device and the
//! `trusted.overlay.opaque=y` xattr.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{Mode, SFlag, makedev, mknodat};
use nix::unistd::{Gid, Uid, fchownat};

use super::apply::{Applier, WhiteoutMode, entry_err, lossy, refused};
use super::sys::{self, XattrTarget};
use super::Result;

/// Prefix of an OCI whiteout file name.
pub(crate) const PREFIX: &[u8] = b".wh.";
/// Prefix of OCI metadata names (`.wh..wh.*`); only `.wh..wh..opq` has a meaning.
const META_PREFIX: &[u8] = b".wh..wh.";
/// The OCI opaque-directory marker.
pub(crate) const OPAQUE: &[u8] = b".wh..wh..opq";
/// overlayfs' opaque-directory xattr (value `y`).
pub(crate) const OVERLAY_OPAQUE: &[u8] = b"trusted.overlay.opaque";
/// The same in the `user.` namespace, used by overlay mounts with `userxattr`.
const USER_OVERLAY_OPAQUE: &[u8] = b"user.overlay.opaque";

/// What a tar entry name means when it is a whiteout.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Whiteout<'a> {
    /// `.wh..wh..opq`: the parent directory hides everything below it in lower layers.
    Opaque,
    /// `.wh.<name>`: `<name>` is deleted (the inner name, not yet validated).
    Remove(&'a [u8]),
    /// Another `.wh..wh.` name: reserved by the spec, ignored.
    Ignore,
}

/// `None` for an ordinary name.
pub(crate) fn classify(name: &[u8]) -> Option<Whiteout<'_>> {
    if name == OPAQUE {
        Some(Whiteout::Opaque)
    } else if name.starts_with(META_PREFIX) {
        Some(Whiteout::Ignore)
    } else {
        name.strip_prefix(PREFIX).map(Whiteout::Remove)
    }
}

/// The OCI whiteout file name for `name`.
pub(crate) fn file_name(name: &[u8]) -> Vec<u8> {
    [PREFIX, name].concat()
}

/// xattrs in overlayfs' private namespaces: overlay's own bookkeeping (`opaque`,
/// `redirect`, `origin`, `metacopy`, ...). A layer may not set them (they would steer
/// overlay's lookups), and a diff never exports them.
pub(crate) fn is_overlay_private(key: &[u8]) -> bool {
    key.starts_with(b"trusted.overlay.") || key.starts_with(b"user.overlay.")
}

/// Whether an xattr list marks a directory opaque.
pub(crate) fn is_opaque(xattrs: &[(Vec<u8>, Vec<u8>)]) -> bool {
    xattrs
        .iter()
        .any(|(k, v)| (k == OVERLAY_OPAQUE || k == USER_OVERLAY_OPAQUE) && v.as_slice() == b"y")
}

/// Applying whiteout entries (`impl` of the applier, kept beside the encodings).
impl Applier<'_, '_> {
    /// `parent/.wh.<name>`.
    pub(super) fn whiteout(&mut self, parent: &[&[u8]], name: &[u8], shown: &str) -> Result<()> {
        if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
            return Err(refused(shown, format!("whiteout names {:?}, which is not a file in its directory", lossy(name))));
        }
        self.stats.whiteouts += 1;
        let key = [parent, &[name]].concat().join(&b'/');
        match self.opts.whiteouts {
            WhiteoutMode::Overlay => {
                let dir = self.parent(parent, true, shown)?.ok_or_else(|| refused(shown, "parent vanished"))?;
                let dir = dir.as_fd();
                match sys::lstat_at(dir, name).map_err(entry_err(shown, "lstat"))? {
                    None => {
                        // overlayfs' whiteout: a character device 0/0 in the upper layer.
                        let dev = makedev(0, 0);
                        mknodat(dir, name, SFlag::S_IFCHR, Mode::empty(), dev)
                            .map_err(|e| entry_err(shown, "mknod whiteout")(e.into()))?;
                        let remap = self.opts.remap.unwrap_or_default();
                        let (uid, gid) = (Uid::from_raw(remap.uid_offset), Gid::from_raw(remap.gid_offset));
                        fchownat(dir, name, Some(uid), Some(gid), AtFlags::AT_SYMLINK_NOFOLLOW)
                            .map_err(|e| entry_err(shown, "chown whiteout")(e.into()))?;
                    }
                    // A directory this layer wrote there replaces the lower one: opaque.
                    Some(st) if sys::is_dir(&st) => {
                        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW;
                        let fd = sys::open_at(dir, name, flags, 0).map_err(entry_err(shown, "open directory"))?;
                        sys::set_xattr(XattrTarget::Fd(fd.as_fd()), OVERLAY_OPAQUE, b"y")
                            .map_err(entry_err(shown, "set trusted.overlay.opaque"))?;
                    }
                    // Anything else there was written by this layer and already hides
                    // the lower entry; a whiteout only applies to lower layers.
                    Some(_) => {}
                }
                self.whited_out.insert(key);
            }
            WhiteoutMode::Delete => {
                // Nothing to delete under a parent that does not exist.
                let Some(dir) = self.parent(parent, false, shown)? else { return Ok(()) };
                if !self.written.contains(&key) {
                    self.forget_parents();
                    sys::remove_all_at(dir.as_fd(), name).map_err(entry_err(shown, "delete whited-out path"))?;
                } else if let Some(sub) = self.open_subdir(dir.as_fd(), name, shown)? {
                    self.empty_lower(sub.as_fd(), &key, shown)?;
                }
            }
            // Never reached: in this mode a `.wh.` name is an ordinary file.
            WhiteoutMode::Keep => {}
        }
        Ok(())
    }

    /// `dir/.wh..wh..opq`: `dir` hides everything the lower layers have below it.
    pub(super) fn opaque(&mut self, dir_comps: &[&[u8]], shown: &str) -> Result<()> {
        self.stats.whiteouts += 1;
        let key = dir_comps.join(&b'/');
        match self.opts.whiteouts {
            WhiteoutMode::Overlay => {
                let dir = self.parent(dir_comps, true, shown)?.ok_or_else(|| refused(shown, "directory vanished"))?;
                // The resolved O_PATH fd cannot carry xattrs; reopen it for reading.
                let fd = sys::open_at(dir.as_fd(), b".", OFlag::O_RDONLY | OFlag::O_DIRECTORY, 0)
                    .map_err(entry_err(shown, "open directory"))?;
                sys::set_xattr(XattrTarget::Fd(fd.as_fd()), OVERLAY_OPAQUE, b"y")
                    .map_err(entry_err(shown, "set trusted.overlay.opaque"))?;
            }
            WhiteoutMode::Delete => {
                let Some(dir) = self.parent(dir_comps, false, shown)? else { return Ok(()) };
                let fd = sys::open_at(dir.as_fd(), b".", OFlag::O_RDONLY | OFlag::O_DIRECTORY, 0)
                    .map_err(entry_err(shown, "open directory"))?;
                self.empty_lower(fd.as_fd(), &key, shown)?;
            }
            WhiteoutMode::Keep => {}
        }
        Ok(())
    }

    fn open_subdir(&self, dir: BorrowedFd<'_>, name: &[u8], shown: &str) -> Result<Option<OwnedFd>> {
        match sys::lstat_at(dir, name).map_err(entry_err(shown, "lstat"))? {
            Some(st) if sys::is_dir(&st) => {
                let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW;
                Ok(Some(sys::open_at(dir, name, flags, 0).map_err(entry_err(shown, "open directory"))?))
            }
            _ => Ok(None),
        }
    }

    /// Removes from `dir` (the directory at `key`) everything this layer did not write,
    /// descending into the directories it did write: what is left is exactly this
    /// layer's content, as an opaque overlay directory would show it.
    fn empty_lower(&mut self, dir: BorrowedFd<'_>, key: &[u8], shown: &str) -> Result<()> {
        for child in sys::read_names(dir).map_err(entry_err(shown, "list directory"))? {
            let ckey = if key.is_empty() { child.clone() } else { [key, b"/", &child].concat() };
            if !self.written.contains(&ckey) {
                self.forget_parents();
                sys::remove_all_at(dir, &child).map_err(entry_err(shown, "remove lower entry"))?;
            } else if let Some(sub) = self.open_subdir(dir, &child, shown)? {
                self.empty_lower(sub.as_fd(), &ckey, shown)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_classified() {
        assert_eq!(classify(b"foo"), None);
        assert_eq!(classify(b".wh.foo"), Some(Whiteout::Remove(b"foo")));
        assert_eq!(classify(b".wh..wh..opq"), Some(Whiteout::Opaque));
        assert_eq!(classify(b".wh..wh.plnk"), Some(Whiteout::Ignore));
        assert_eq!(classify(b".wh..."), Some(Whiteout::Remove(b"..")));
        assert_eq!(file_name(b"x"), b".wh.x");
    }
}
