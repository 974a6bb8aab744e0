//! Snapshotter tests on the real kernel (root: mounts, chown, mknod). Each test has
//! its own temp root, removed on drop; every mount is held by a guard that unmounts
//! it on drop, declared after the temp dir so it is dropped first.

mod idmap;
mod mounts;
mod unpack;

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use nix::fcntl::{Flock, FlockArg};

use super::{Driver, Error, Kind, Layer, Mount, Snapshotter, mount_all};
use crate::digest::Digest;
use crate::layer::testutil::{MountGuard, Tar, is_root};
use crate::layer::Compression;

pub(crate) fn root() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("berth-snap-").tempdir().expect("tempdir")
}

/// A gzip layer blob and its diff_id.
#[derive(Clone)]
pub(crate) struct Blob {
    pub diff_id: Digest,
    pub gz: Arc<Vec<u8>>,
    pub opened: Arc<AtomicUsize>,
}

impl Blob {
    pub fn new(tar: Vec<u8>) -> Blob {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, &tar).expect("gzip");
        Blob { diff_id: Digest::sha256_of(&tar), gz: Arc::new(e.finish().expect("gzip")), opened: Arc::default() }
    }

    /// The layer for `unpack`, counting how often it is opened.
    pub fn layer(&self) -> Layer<'static> {
        let (gz, opened) = (self.gz.clone(), self.opened.clone());
        Layer::new(self.diff_id.clone(), Compression::Gzip, move || {
            opened.fetch_add(1, Ordering::SeqCst);
            Ok(Cursor::new(Shared(gz)))
        })
    }

    pub fn opened(&self) -> usize {
        self.opened.load(Ordering::SeqCst)
    }
}

/// Shared blob bytes as a `Cursor` source.
struct Shared(Arc<Vec<u8>>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

pub(crate) fn layers(blobs: &[Blob]) -> Vec<Layer<'static>> {
    blobs.iter().map(Blob::layer).collect()
}

/// Names in the snapshots dir: (numeric snapshot dirs, temp dirs).
pub(crate) fn dirs(s: &Snapshotter) -> (usize, usize) {
    let names: Vec<String> =
        fs::read_dir(s.dir()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    let numeric = names.iter().filter(|n| n.parse::<u64>().is_ok()).count();
    let temps = names.iter().filter(|n| n.starts_with(".tmp-")).count();
    (numeric, temps)
}

/// Mounts `mounts` on a fresh `dir/<name>`, unmounted when the guard drops.
pub(crate) fn mount_at(mounts: &[Mount], dir: &Path, name: &str) -> (PathBuf, MountGuard) {
    let target = dir.join(name);
    fs::create_dir_all(&target).unwrap();
    mount_all(mounts, &target).expect("mount_all");
    (target.clone(), MountGuard(target))
}

fn base_blobs() -> (Blob, Blob) {
    let base = Blob::new(Tar::new().dir("etc/", 0o755).file("etc/os", 0o644, b"base").finish());
    let top = Blob::new(Tar::new().dir("etc/", 0o755).file("etc/app", 0o644, b"app").finish());
    (base, top)
}

#[test]
fn lifecycle_prepare_view_commit_remove() {
    if !is_root() {
        return;
    }
    let tmp = root();
    let s = Snapshotter::new(tmp.path(), Driver::Overlay).unwrap();
    let (base, top) = base_blobs();
    let u = s.unpack(layers(&[base.clone(), top.clone()])).unwrap();
    let (base_id, top_id) = (u.chain_ids[0].clone(), u.chain_id().clone());
    assert_eq!(base_id, base.diff_id);

    // A view of one layer is a read-only bind; of two, a read-only overlay.
    let v1 = s.view("v1", &base_id).unwrap();
    assert_eq!((v1[0].fstype.as_str(), v1[0].options.contains(&"ro".to_string())), ("bind", true));
    let v2 = s.view("v2", &top_id).unwrap();
    assert_eq!(v2[0].fstype, "overlay");
    assert!(v2[0].options.contains(&"ro".to_string()));

    let m = s.prepare("c1", Some(&top_id)).unwrap();
    let data = m[0].data();
    let lower = data.split(',').find_map(|o| o.strip_prefix("lowerdir=")).unwrap();
    let lowers: Vec<&str> = lower.split(':').collect();
    assert_eq!(lowers.len(), 2);
    // Top first: the top layer's dir was created after the base's.
    assert!(fs::read(Path::new(lowers[0]).join("etc/app")).is_ok());
    assert!(fs::read(Path::new(lowers[1]).join("etc/os")).is_ok());
    assert!(data.contains("upperdir=") && data.contains("workdir="));
    let empty = s.prepare("scratch", None).unwrap();
    assert_eq!((empty[0].fstype.as_str(), empty[0].options[1].as_str()), ("bind", "rw"));

    assert!(matches!(s.prepare("c1", Some(&top_id)), Err(Error::AlreadyExists(_))));
    let nowhere = Digest::sha256_of(b"nowhere");
    assert!(matches!(s.prepare("c2", Some(&nowhere)), Err(Error::NotFound(_))));
    match s.remove(&top_id.to_string()) {
        Err(Error::HasChildren { children, .. }) => assert_eq!(children, ["c1", "v2"]),
        other => panic!("expected HasChildren, got {other:?}"),
    }

    // Commit an active snapshot after writing into it.
    let c1 = s.stat("c1").unwrap();
    assert_eq!(c1.kind, Kind::Active);
    let upper = m[0].data().split(',').find_map(|o| o.strip_prefix("upperdir=")).unwrap().to_string();
    fs::write(Path::new(&upper).join("new"), vec![7u8; 10_000]).unwrap();
    let committed_id = Digest::sha256_of(b"c1 committed");
    let info = s.commit("c1", &committed_id).unwrap();
    assert_eq!(info.kind, Kind::Committed);
    assert_eq!(info.parent, Some(top_id.to_string()));
    assert!(info.size.unwrap() >= 10_000);
    assert!(!Path::new(&upper).parent().unwrap().join("work").exists());
    assert!(matches!(s.stat("c1"), Err(Error::NotFound(_))));
    assert!(matches!(s.commit("scratch", &committed_id), Err(Error::AlreadyExists(_))));
    assert!(matches!(s.commit(&top_id.to_string(), &nowhere), Err(Error::WrongKind { .. })));
    assert!(s.usage(&committed_id.to_string()).unwrap().size >= 10_000);

    // The index survives reopening.
    let listed = s.list().unwrap();
    let reopened = Snapshotter::new(tmp.path(), Driver::Overlay).unwrap();
    assert_eq!(reopened.list().unwrap(), listed);
    assert_eq!(listed.len(), 6);

    for key in ["v1", "v2", "scratch", &committed_id.to_string(), &top_id.to_string(), &base_id.to_string()] {
        s.remove(key).unwrap();
    }
    assert!(s.list().unwrap().is_empty());
    assert_eq!(dirs(&s), (0, 0));
}

#[test]
fn crash_leftovers_are_removed_on_open_and_never_listed() {
    if !is_root() {
        return;
    }
    let tmp = root();
    let s = Snapshotter::new(tmp.path(), Driver::Overlay).unwrap();
    let (base, _) = base_blobs();
    s.unpack(layers(&[base])).unwrap();
    // What a killed unpack leaves: a half-written temp dir no one holds, and a
    // snapshot dir renamed into place but never indexed.
    let crashed = s.dir().join(".tmp-999999-1-0");
    fs::create_dir_all(crashed.join("fs/half")).unwrap();
    fs::write(crashed.join("fs/half/file"), b"partial").unwrap();
    let orphan = s.dir().join("4242");
    fs::create_dir_all(orphan.join("fs")).unwrap();
    // An unpack in progress elsewhere: its temp dir is locked and must survive.
    let live = s.dir().join(".tmp-live");
    fs::create_dir_all(live.join("fs")).unwrap();
    let lock = Flock::lock(fs::File::open(&live).unwrap(), FlockArg::LockExclusiveNonblock).unwrap();
    assert_eq!(s.list().unwrap().len(), 1, "leftovers are never listed");

    let s = Snapshotter::new(tmp.path(), Driver::Overlay).unwrap();
    assert!(!crashed.exists() && !orphan.exists());
    assert!(live.exists(), "a temp dir held by a live unpack was removed");
    assert_eq!(s.list().unwrap().len(), 1);
    drop(lock);
    let s = Snapshotter::new(tmp.path(), Driver::Overlay).unwrap();
    assert!(!live.exists());
    assert_eq!(dirs(&s), (1, 0));
}

#[test]
fn a_failing_layer_leaves_nothing_behind() {
    if !is_root() {
        return;
    }
    let tmp = root();
    let s = Snapshotter::new(tmp.path(), Driver::Overlay).unwrap();
    let (base, top) = base_blobs();
    // Wrong diff_id for the top layer.
    let mut wrong = top.clone();
    wrong.diff_id = Digest::sha256_of(b"not this layer");
    match s.unpack(layers(&[base.clone(), wrong])) {
        Err(Error::DiffIdMismatch { index, actual, .. }) => assert_eq!((index, actual), (1, top.diff_id.clone())),
        other => panic!("expected a diff_id mismatch, got {other:?}"),
    }
    // The base layer was fine and stays (committed, shared); the bad one left nothing.
    assert_eq!(s.list().unwrap().len(), 1);
    assert_eq!(dirs(&s), (1, 0));

    // A stream that breaks midway (truncated blob).
    let truncated = Blob { gz: Arc::new(top.gz[..top.gz.len() / 2].to_vec()), ..top.clone() };
    let tmp2 = root();
    let s2 = Snapshotter::new(tmp2.path(), Driver::Overlay).unwrap();
    assert!(matches!(s2.unpack(layers(&[truncated])), Err(Error::Layer { index: 0, .. })));
    assert!(s2.list().unwrap().is_empty());
    assert_eq!(dirs(&s2), (0, 0));

    // A layer whose blob cannot be opened.
    let missing = Layer::new(top.diff_id.clone(), Compression::Gzip, || {
        Err::<Cursor<Vec<u8>>, _>(std::io::Error::other("blob missing"))
    });
    assert!(matches!(s2.unpack(vec![missing]), Err(Error::OpenLayer { .. })));
    assert_eq!(dirs(&s2), (0, 0));
    assert!(matches!(s2.unpack(Vec::new()), Err(Error::NoLayers)));
}

#[test]
fn detect_finds_overlay_and_leaves_no_probe() {
    if !is_root() {
        return;
    }
    let tmp = root();
    assert_eq!(Driver::detect(tmp.path()), Driver::Overlay);
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn overlay_roots_that_mount_options_cannot_carry_are_refused() {
    let tmp = root();
    let bad = tmp.path().join("a,b");
    assert!(matches!(Snapshotter::new(&bad, Driver::Overlay), Err(Error::UnusableRoot(_))));
    assert!(Snapshotter::new(&bad, Driver::Copy).is_ok());
}

#[test]
fn apply_options_reach_unpack() {
    if !is_root() {
        return;
    }
    let tmp = root();
    let opts = crate::layer::ApplyOptions { allow_devices: false, ..Default::default() };
    let s = Snapshotter::new(tmp.path(), Driver::Overlay).unwrap().with_apply_options(opts);
    let dev = Blob::new(Tar::new().node("dev/sda", tar::EntryType::Block, 8, 0, 0o660).finish());
    match s.unpack(layers(&[dev])) {
        Err(Error::Layer { index: 0, source: crate::layer::Error::Refused { entry, .. }, .. }) => assert_eq!(entry, "dev/sda"),
        other => panic!("expected the device refused, got {other:?}"),
    }
    assert_eq!(dirs(&s), (0, 0));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(fs::metadata(s.dir()).unwrap().permissions().mode() & 0o777, 0o700);
}

#[test]
fn a_change_by_another_snapshotter_on_the_same_root_is_seen_through_the_cache() {
    if !is_root() {
        return;
    }
    let tmp = root();
    let a = Snapshotter::new(tmp.path(), Driver::Overlay).unwrap();
    let b = Snapshotter::new(tmp.path(), Driver::Overlay).unwrap();
    let (base, _) = base_blobs();
    let top = a.unpack(layers(&[base])).unwrap().chain_id().clone();
    // b has cached the index before a's later changes; each is seen at once.
    assert_eq!(b.stat(&top.to_string()).unwrap().kind, Kind::Committed);
    a.prepare("c1", Some(&top)).unwrap();
    assert_eq!(b.stat("c1").unwrap().kind, Kind::Active);
    b.remove("c1").unwrap();
    assert!(matches!(a.stat("c1"), Err(Error::NotFound(_))));
    a.prepare("c2", Some(&top)).unwrap();
    a.prepare("c3", Some(&top)).unwrap();
    let mut keys: Vec<String> = b.list().unwrap().into_iter().map(|i| i.key).collect();
    keys.sort();
    assert_eq!(keys, vec!["c2".to_string(), "c3".to_string(), top.to_string()]);
}
