//! diff(): round trips (apply(diff(x)) reproduces x, whiteouts included), the
//! reported digests, determinism, and compare mode checked against both an apply in
//! delete mode and a real overlay mount.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use nix::fcntl::OFlag;
use std::os::fd::AsFd;
use tar::EntryType;

use super::super::sys::{self, XattrTarget};
use super::super::testutil::{Tar, assert_same_tree, is_root, mount_overlay_ro, tempdir, tree};
use super::super::{ApplyOptions, Compression, apply, diff};
use super::{apply_tar, delete_mode};
use crate::digest::Digest;

/// A layer with every kind of entry, long names, big ids, xattrs, hard links,
/// whiteouts and an opaque directory.
fn layer() -> Vec<u8> {
    let long = format!("long/{}/{}", "n".repeat(110), "m".repeat(60));
    Tar::new()
        .dir("long/", 0o755)
        .dir(&format!("long/{}/", "n".repeat(110)), 0o700)
        .file(&long, 0o640, b"long")
        .dir("bin/", 0o755)
        .pax(&[("SCHILY.xattr.user.k", b"v\x00binary")])
        .owned_file("bin/tool", 0o4711, (3_000_000, 4_000_000), b"\x7fELF")
        .file("bin/x", 0o644, b"x")
        .hardlink("bin/x-link", "bin/x")
        .symlink("sh", &format!("/{}", "s".repeat(150)))
        .node("null", EntryType::Char, 1, 3, 0o666)
        .node("fifo", EntryType::Fifo, 0, 0, 0o600)
        .dir("gone/", 0o755)
        .whiteout("gone/.wh.file")
        .dir("opq/", 0o755)
        .whiteout("opq/.wh..wh..opq")
        .file("opq/only", 0o644, b"only")
        .finish()
}

#[test]
fn apply_of_diff_reproduces_the_tree() {
    if !is_root() {
        return;
    }
    let (a, b) = (tempdir(), tempdir());
    apply_tar(&layer(), a.path(), &ApplyOptions::default()).unwrap();
    for compression in [Compression::Gzip, Compression::Zstd, Compression::None] {
        let mut blob = Vec::new();
        let stats = diff(a.path(), None, &mut blob, compression).unwrap();
        assert_eq!(stats.digest, Digest::sha256_of(&blob));
        assert_eq!(stats.size, blob.len() as u64);

        let b_dir = b.path().join(format!("{compression:?}"));
        fs::create_dir(&b_dir).unwrap();
        let applied = apply(&blob[..], compression, &b_dir, &ApplyOptions::default()).unwrap();
        assert_eq!(applied.diff_id, stats.diff_id);
        assert_eq!(applied.tar_size, stats.tar_size);
        assert!(applied.warnings.is_empty(), "{:?}", applied.warnings);
        assert_same_tree(&tree(a.path()), &tree(&b_dir));
    }
}

#[test]
fn diff_is_deterministic_and_hides_overlay_bookkeeping() {
    if !is_root() {
        return;
    }
    let a = tempdir();
    apply_tar(&layer(), a.path(), &ApplyOptions::default()).unwrap();
    // overlayfs' own xattrs on an upper file must not leak into the layer.
    let dir = sys::open_path(&a.path().join("bin"), OFlag::O_PATH | OFlag::O_DIRECTORY).unwrap();
    sys::set_xattr(XattrTarget::At(dir.as_fd(), b"x"), b"trusted.overlay.origin", b"\x00\xfb").unwrap();
    let (mut one, mut two) = (Vec::new(), Vec::new());
    let s1 = diff(a.path(), None, &mut one, Compression::None).unwrap();
    let s2 = diff(a.path(), None, &mut two, Compression::None).unwrap();
    assert_eq!(one, two);
    assert_eq!(s1, s2);
    assert_eq!(s1.diff_id, Digest::sha256_of(&one));

    let mut names = Vec::new();
    let mut archive = tar::Archive::new(&one[..]);
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        names.push(String::from_utf8(e.path_bytes().into_owned()).unwrap());
        if let Some(pax) = e.pax_extensions().unwrap() {
            for ext in pax {
                assert!(!ext.unwrap().key().unwrap().contains("overlay"), "overlay xattr exported");
            }
        }
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "entries are in sorted order");
    assert!(names.contains(&"gone/.wh.file".to_string()));
    assert!(names.contains(&"opq/.wh..wh..opq".to_string()));
    assert!(names.contains(&"bin/".to_string()));
}

#[test]
fn busybox_round_trips() {
    if !is_root() {
        return;
    }
    let image = fixture::Image::busybox().expect("busybox fixture");
    let (a, b) = (tempdir(), tempdir());
    apply(image.layer(), Compression::Gzip, a.path(), &ApplyOptions::default()).unwrap();
    let mut blob = Vec::new();
    let stats = diff(a.path(), None, &mut blob, Compression::Gzip).unwrap();
    let applied = apply(&blob[..], Compression::Gzip, b.path(), &ApplyOptions::default()).unwrap();
    assert_eq!(applied.diff_id, stats.diff_id);
    assert_same_tree(&tree(a.path()), &tree(b.path()));
}

#[test]
fn compare_mode_diff_replays_onto_the_lower_tree() {
    if !is_root() {
        return;
    }
    let base = Tar::new()
        .dir("etc/", 0o755)
        .file("etc/keep", 0o644, b"keep")
        .file("etc/chmod", 0o644, b"c")
        .file("etc/delete", 0o644, b"d")
        .dir("var/", 0o755)
        .dir("var/lib/", 0o755)
        .file("var/lib/db", 0o600, b"db")
        .dir("dir2file/", 0o755)
        .file("dir2file/x", 0o644, b"x")
        .dir("untouched/", 0o755)
        .file("untouched/f", 0o644, b"u")
        .finish();
    let tmp = tempdir();
    let (lower, upper, replay, ovl_upper, merged) = (
        tmp.path().join("lower"),
        tmp.path().join("upper"),
        tmp.path().join("replay"),
        tmp.path().join("ovl-upper"),
        tmp.path().join("merged"),
    );
    for d in [&lower, &upper, &replay, &ovl_upper, &merged] {
        fs::create_dir(d).unwrap();
    }
    for d in [&lower, &upper, &replay] {
        apply_tar(&base, d, &delete_mode()).unwrap();
    }
    // A container's changes to its full copy of the tree.
    fs::set_permissions(upper.join("etc/chmod"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::remove_file(upper.join("etc/delete")).unwrap();
    fs::write(upper.join("var/lib/new"), b"new").unwrap();
    fs::remove_dir_all(upper.join("dir2file")).unwrap();
    fs::write(upper.join("dir2file"), b"now a file").unwrap();
    fs::create_dir_all(upper.join("added/deep")).unwrap();
    fs::write(upper.join("added/deep/f"), b"f").unwrap();

    let mut blob = Vec::new();
    diff(&upper, Some(&lower), &mut blob, Compression::None).unwrap();
    let names: Vec<String> = tar::Archive::new(&blob[..])
        .entries()
        .unwrap()
        .map(|e| String::from_utf8(e.unwrap().path_bytes().into_owned()).unwrap())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with("untouched") || n == "etc/keep"), "{names:?}");
    assert!(names.contains(&"etc/.wh.delete".to_string()), "{names:?}");
    assert!(names.contains(&"var/".to_string()) && names.contains(&"var/lib/".to_string()), "{names:?}");

    // Replayed on a copy of the lower tree (copying snapshotter)...
    apply_tar(&blob, &replay, &delete_mode()).unwrap();
    assert_same_tree(&tree(&upper), &tree(&replay));
    // ...and as an overlay layer on top of the lower tree.
    apply_tar(&blob, &ovl_upper, &ApplyOptions::default()).unwrap();
    let _m = mount_overlay_ro(&[&ovl_upper, &lower], &merged);
    assert_same_tree(&tree(&upper), &tree(&merged));
}
