//! Archive and store tests on real stores (root: overlay mounts, chown). Every store
//! lives in its own temp dir removed on drop; mounts are held by guards declared
//! after the dirs they use, so they are unmounted first, pass or fail.

mod import_export;
mod load_save;
mod store;

use std::io::Cursor;
use std::path::{Path, PathBuf};

use crate::digest::Digest;
use crate::store::Store;

/// A store in a fresh temp dir.
pub(crate) struct TestStore {
    pub store: Store,
    pub dir: tempfile::TempDir,
}

impl TestStore {
    pub fn new() -> TestStore {
        let dir = tempfile::Builder::new().prefix("berth-archive-test-").tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open store");
        TestStore { store, dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

pub(crate) fn busybox() -> &'static fixture::Image {
    fixture::Image::busybox().expect("busybox fixture")
}

pub(crate) fn digest(s: &str) -> Digest {
    s.parse().expect("digest")
}

/// The fixture's `docker save` archive, tagged `tag`.
pub(crate) fn docker_archive(tag: &str) -> Vec<u8> {
    busybox().docker_archive(&fixture::Reference::parse(tag).expect("ref")).expect("docker archive")
}

/// The fixture's OCI archive, tagged `tag`.
pub(crate) fn oci_archive(tag: &str) -> Vec<u8> {
    busybox().oci_archive(&fixture::Reference::parse(tag).expect("ref")).expect("oci archive")
}

/// One entry of a hand-made archive.
pub(crate) enum E<'a> {
    File(&'a str, &'a [u8]),
    Symlink(&'a str, &'a str),
    Dir(&'a str),
}

/// A tar of `entries`, in order, with raw names (no checks: hostile names allowed).
pub(crate) fn tar_of(entries: &[E<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        let (name, kind, data, link): (&str, tar::EntryType, &[u8], Option<&str>) = match e {
            E::File(n, d) => (n, tar::EntryType::Regular, d, None),
            E::Symlink(n, t) => (n, tar::EntryType::Symlink, b"", Some(t)),
            E::Dir(n) => (n, tar::EntryType::Directory, b"", None),
        };
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(l) = link {
            h.as_old_mut().linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
        h.set_entry_type(kind);
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, data).expect("append");
    }
    b.into_inner().expect("tar")
}

/// The entries of a tar: name → data (links as `-> target`).
pub(crate) fn entries_of(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    use std::io::Read;
    let mut out = std::collections::BTreeMap::new();
    for e in tar::Archive::new(Cursor::new(bytes)).entries().expect("tar") {
        let mut e = e.expect("entry");
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let mut data = Vec::new();
        if let Some(l) = e.link_name_bytes() {
            data = format!("-> {}", String::from_utf8_lossy(&l)).into_bytes();
        } else {
            e.read_to_end(&mut data).expect("read");
        }
        out.insert(name, data);
    }
    out
}

/// Unmounts on drop (lazily if busy).
pub(crate) struct Mounted(pub PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        if nix::mount::umount2(&self.0, nix::mount::MntFlags::empty()).is_err() {
            let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

pub(crate) fn is_root() -> bool {
    crate::layer::testutil::is_root()
}
