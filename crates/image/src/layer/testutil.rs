//! Test helpers shared by the layer and snapshot tests: an in-memory tar builder that
//! can write any header (including the malicious ones the `tar` crate's safe API
//! refuses), a structural snapshot of a directory tree for comparisons, and guards
//! that unmount and clean up even when a test fails.

use std::collections::BTreeMap;
use std::fs;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use tar::{EntryType, Header};

use super::sys::{self, XattrTarget};

/// Fixed mtime for synthetic entries (2023-11-14T22:13:20Z).
pub(crate) const MTIME: u64 = 1_700_000_000;

/// Whether the test can do what it needs (chown, mknod, trusted xattrs, mounts). The
/// project's tests run as root; elsewhere they skip with a note instead of failing.
pub(crate) fn is_root() -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        eprintln!("skipped: needs root");
    }
    root
}

pub(crate) fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("berth-layer-test-").tempdir().expect("tempdir")
}

/// Builds a tar in memory, one entry at a time, with raw control over names.
pub(crate) struct Tar {
    b: tar::Builder<Vec<u8>>,
}

impl Default for Tar {
    fn default() -> Self {
        Tar { b: tar::Builder::new(Vec::new()) }
    }
}

impl Tar {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Appends an entry whose name and link name bytes go into the header unchecked
    /// (PAX records when longer than the ustar fields).
    pub(crate) fn raw(mut self, name: &[u8], kind: EntryType, link: &[u8], data: &[u8], mode: u32, owner: (u64, u64)) -> Self {
        let mut h = Header::new_ustar();
        let mut pax: Vec<(&str, &[u8])> = Vec::new();
        if name.len() > 100 {
            pax.push(("path", name));
        }
        if link.len() > 100 {
            pax.push(("linkpath", link));
        }
        if !pax.is_empty() {
            self.b.append_pax_extensions(pax).expect("pax");
        }
        let old = h.as_old_mut();
        let n = name.len().min(100);
        old.name[..n].copy_from_slice(&name[..n]);
        let n = link.len().min(100);
        old.linkname[..n].copy_from_slice(&link[..n]);
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(owner.0);
        h.set_gid(owner.1);
        h.set_mtime(MTIME);
        h.set_size(data.len() as u64);
        h.set_cksum();
        self.b.append(&h, data).expect("append");
        self
    }

    pub(crate) fn pax(mut self, records: &[(&str, &[u8])]) -> Self {
        self.b.append_pax_extensions(records.iter().copied()).expect("pax");
        self
    }

    pub(crate) fn dir(self, name: &str, mode: u32) -> Self {
        self.raw(name.as_bytes(), EntryType::Directory, b"", b"", mode, (0, 0))
    }

    pub(crate) fn file(self, name: &str, mode: u32, data: &[u8]) -> Self {
        self.raw(name.as_bytes(), EntryType::Regular, b"", data, mode, (0, 0))
    }

    pub(crate) fn owned_file(self, name: &str, mode: u32, owner: (u64, u64), data: &[u8]) -> Self {
        self.raw(name.as_bytes(), EntryType::Regular, b"", data, mode, owner)
    }

    pub(crate) fn symlink(self, name: &str, target: &str) -> Self {
        self.raw(name.as_bytes(), EntryType::Symlink, target.as_bytes(), b"", 0o777, (0, 0))
    }

    pub(crate) fn hardlink(self, name: &str, target: &str) -> Self {
        self.raw(name.as_bytes(), EntryType::Link, target.as_bytes(), b"", 0o644, (0, 0))
    }

    pub(crate) fn node(mut self, name: &str, kind: EntryType, major: u32, minor: u32, mode: u32) -> Self {
        let mut h = Header::new_ustar();
        h.set_path(name).expect("path");
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(MTIME);
        h.set_size(0);
        h.set_device_major(major).expect("major");
        h.set_device_minor(minor).expect("minor");
        h.set_cksum();
        self.b.append(&h, &[][..]).expect("append");
        self
    }

    /// An OCI whiteout (or opaque marker): an empty file.
    pub(crate) fn whiteout(self, name: &str) -> Self {
        self.file(name, 0o600, b"")
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.b.into_inner().expect("finish tar")
    }
}

/// What a tree comparison looks at for one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    File(Vec<u8>),
    Symlink(Vec<u8>),
    Char(u64),
    Block(u64),
    Fifo,
    Socket,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub kind: Kind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Seconds; `None` for whiteout devices (their time is the apply's).
    pub mtime: Option<i64>,
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    /// For a multiply-linked inode: the first path (in walk order) sharing it.
    pub link: Option<String>,
}

/// Every path below `root` (not `root` itself) with its type, content, owner, mode,
/// mtime, xattrs and hard-link grouping.
pub(crate) fn tree(root: &Path) -> BTreeMap<String, Node> {
    let mut out = BTreeMap::new();
    let mut inodes: BTreeMap<(u64, u64), String> = BTreeMap::new();
    walk(root, "", &mut out, &mut inodes);
    out
}

fn walk(dir: &Path, rel: &str, out: &mut BTreeMap<String, Node>, inodes: &mut BTreeMap<(u64, u64), String>) {
    let dirfd = sys::open_path(dir, OFlag::O_PATH | OFlag::O_DIRECTORY).expect("open dir");
    let mut names: Vec<_> = fs::read_dir(dir).expect("read_dir").map(|e| e.expect("entry").file_name()).collect();
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let rel = if rel.is_empty() { name.to_string_lossy().into_owned() } else { format!("{rel}/{}", name.to_string_lossy()) };
        let md = fs::symlink_metadata(&path).expect("lstat");
        let ft = md.file_type();
        let kind = if ft.is_dir() {
            Kind::Dir
        } else if ft.is_file() {
            Kind::File(fs::read(&path).expect("read"))
        } else if ft.is_symlink() {
            Kind::Symlink(std::os::unix::ffi::OsStrExt::as_bytes(fs::read_link(&path).expect("readlink").as_os_str()).to_vec())
        } else if ft.is_char_device() {
            Kind::Char(md.rdev())
        } else if ft.is_block_device() {
            Kind::Block(md.rdev())
        } else if ft.is_fifo() {
            Kind::Fifo
        } else {
            Kind::Socket
        };
        let nb = std::os::unix::ffi::OsStrExt::as_bytes(name.as_os_str()).to_vec();
        let xattrs = sys::list_xattrs(XattrTarget::At(dirfd.as_fd(), &nb)).expect("xattrs");
        let whiteout = kind == Kind::Char(0);
        let link = if !ft.is_dir() && md.nlink() > 1 {
            Some(inodes.entry((md.dev(), md.ino())).or_insert_with(|| rel.clone()).clone())
        } else {
            None
        };
        out.insert(
            rel.clone(),
            Node {
                kind,
                mode: md.mode() & 0o7777,
                uid: md.uid(),
                gid: md.gid(),
                mtime: (!whiteout).then_some(md.mtime()),
                xattrs,
                link,
            },
        );
        if ft.is_dir() {
            walk(&path, &rel, out, inodes);
        }
    }
}

/// Drops directory mtimes (a merged overlay view and a copied tree may disagree on
/// them legitimately) from a tree.
pub(crate) fn without_dir_mtimes(mut t: BTreeMap<String, Node>) -> BTreeMap<String, Node> {
    for n in t.values_mut() {
        if n.kind == Kind::Dir {
            n.mtime = None;
        }
    }
    t
}

/// Asserts two trees are equal, reporting the first differing path.
pub(crate) fn assert_same_tree(a: &BTreeMap<String, Node>, b: &BTreeMap<String, Node>) {
    for (k, v) in a {
        match b.get(k) {
            None => panic!("{k} only in the first tree: {v:?}"),
            Some(w) if w != v => panic!("{k} differs:\n  {v:?}\n  {w:?}"),
            _ => {}
        }
    }
    for k in b.keys() {
        assert!(a.contains_key(k), "{k} only in the second tree: {:?}", b[k]);
    }
}

/// A mount made by a test, unmounted (lazily if busy) when dropped, pass or fail.
pub(crate) struct MountGuard(pub PathBuf);

impl Drop for MountGuard {
    fn drop(&mut self) {
        if nix::mount::umount2(&self.0, nix::mount::MntFlags::empty()).is_err() {
            let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

/// Mounts a read-only overlay of `lowers` (top first) at `target`.
pub(crate) fn mount_overlay_ro(lowers: &[&Path], target: &Path) -> MountGuard {
    let lower: Vec<String> = lowers.iter().map(|p| p.display().to_string()).collect();
    let data = format!("lowerdir={}", lower.join(":"));
    nix::mount::mount(Some("overlay"), target, Some("overlay"), nix::mount::MsFlags::MS_RDONLY, Some(data.as_str()))
        .expect("mount overlay");
    MountGuard(target.to_path_buf())
}
