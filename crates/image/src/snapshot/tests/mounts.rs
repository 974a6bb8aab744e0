//! Mounting snapshots for real: whiteouts and opaque dirs seen through the mounted
//! view, 200 lower layers (past mount(2)'s one-page option limit), and a container's
//! life on busybox with each driver: unpack, prepare, mount, write, diff, commit,
//! build on the commit.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use super::super::mount::page_size;
use super::super::{Driver, Layer, Snapshotter};
use super::{Blob, layers, mount_at, root};
use crate::digest::{Digest, chain_ids};
use crate::layer::testutil::{Tar, is_root, tempdir};
use crate::layer::{ApplyOptions, Compression, apply};

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    v.sort();
    v
}

fn whiteout_scenario(driver: Driver) {
    let (tmp, mnt) = (root(), root());
    let s = Snapshotter::new(tmp.path(), driver).unwrap();
    let lower = Blob::new(
        Tar::new()
            .dir("a/", 0o755)
            .file("a/x", 0o644, b"x")
            .file("a/y", 0o644, b"y")
            .dir("b/", 0o755)
            .file("b/z", 0o644, b"z")
            .finish(),
    );
    let upper = Blob::new(
        Tar::new()
            .dir("a/", 0o755)
            .whiteout("a/.wh.x")
            .dir("b/", 0o755)
            .whiteout("b/.wh..wh..opq")
            .file("b/new", 0o644, b"new")
            .finish(),
    );
    let u = s.unpack(layers(&[lower, upper])).unwrap();
    let (view, _g) = mount_at(&s.view("v", u.chain_id()).unwrap(), mnt.path(), "view");
    assert_eq!(names(&view.join("a")), ["y"], "{driver:?}");
    assert_eq!(names(&view.join("b")), ["new"], "{driver:?}");
    assert_eq!(fs::read(view.join("b/new")).unwrap(), b"new");
    // The view is read-only.
    assert!(fs::write(view.join("a/w"), b"w").is_err());
    // A container on top sees the same.
    let (ctr, _g2) = mount_at(&s.prepare("ctr", Some(u.chain_id())).unwrap(), mnt.path(), "ctr");
    assert_eq!(names(&ctr.join("a")), ["y"]);
    assert_eq!(names(&ctr.join("b")), ["new"]);
}

#[test]
fn whiteouts_and_opaque_dirs_in_a_mounted_overlay_view() {
    if is_root() {
        whiteout_scenario(Driver::Overlay);
    }
}

#[test]
fn whiteouts_and_opaque_dirs_in_a_mounted_copy_view() {
    if is_root() {
        whiteout_scenario(Driver::Copy);
    }
}

#[test]
fn two_hundred_lower_layers_mount() {
    if !is_root() {
        return;
    }
    let (tmp, mnt) = (root(), root());
    let s = Snapshotter::new(tmp.path(), Driver::Overlay).unwrap();
    let blobs: Vec<Blob> = (0..200)
        .map(|i| {
            let t = Tar::new().file(&format!("layer-{i:03}"), 0o644, b"").file("top", 0o644, i.to_string().as_bytes());
            Blob::new(t.finish())
        })
        .collect();
    let u = s.unpack(layers(&blobs)).unwrap();

    let mounts = s.prepare("deep", Some(u.chain_id())).unwrap();
    assert!(mounts[0].data().len() >= page_size(), "the test must exceed mount(2)'s limit");
    let (merged, guard) = mount_at(&mounts, mnt.path(), "deep");
    let listed = names(&merged);
    assert_eq!(listed.len(), 201);
    assert_eq!((listed[0].as_str(), listed[199].as_str()), ("layer-000", "layer-199"));
    assert_eq!(fs::read(merged.join("top")).unwrap(), b"199");
    fs::write(merged.join("written"), b"by the container").unwrap();
    drop(guard);
    assert_eq!(fs::read(s.layer_dir("deep").unwrap().join("written")).unwrap(), b"by the container");

    // The read-only view of all 200 layers mounts too.
    let (view, _g) = mount_at(&s.view("deep-view", u.chain_id()).unwrap(), mnt.path(), "view");
    assert_eq!(names(&view).len(), 201);

    let mut blob = Vec::new();
    let stats = s.diff("deep", &mut blob, Compression::None).unwrap();
    assert_eq!(stats.entries, 1);
}

/// A container's whole life on busybox with `driver`.
fn container_on_busybox(driver: Driver) {
    let image = fixture::Image::busybox().expect("busybox fixture");
    let (tmp, mnt) = (root(), root());
    let s = Snapshotter::new(tmp.path(), driver).unwrap();
    let diff_id: Digest = image.diff_id().parse().unwrap();
    let u = s.unpack(vec![Layer::new(diff_id.clone(), Compression::Gzip, || Ok(image.layer()))]).unwrap();
    assert_eq!(u.chain_id(), &diff_id);

    let (root_fs, guard) = mount_at(&s.prepare("ctr", Some(u.chain_id())).unwrap(), mnt.path(), "ctr");
    assert!(fs::metadata(root_fs.join("bin/busybox")).unwrap().is_file());
    assert!(fs::symlink_metadata(root_fs.join("bin/ls")).is_ok());
    fs::write(root_fs.join("etc/hello"), b"hello").unwrap();
    fs::remove_file(root_fs.join("bin/ls")).unwrap();
    // A directory deleted and made again: overlay marks it opaque in the upper dir.
    assert!(root_fs.join("home/berth").is_dir());
    fs::remove_dir_all(root_fs.join("home")).unwrap();
    fs::create_dir_all(root_fs.join("home/fresh")).unwrap();
    drop(guard);

    let mut blob = Vec::new();
    let stats = s.diff("ctr", &mut blob, Compression::Gzip).unwrap();
    let check = tempdir();
    let applied = apply(&blob[..], Compression::Gzip, check.path(), &ApplyOptions::default()).unwrap();
    assert_eq!(applied.diff_id, stats.diff_id);
    assert_eq!(fs::read(check.path().join("etc/hello")).unwrap(), b"hello");
    let wh = fs::symlink_metadata(check.path().join("bin/ls")).unwrap();
    assert!(wh.file_type().is_char_device() && wh.rdev() == 0, "{driver:?}: bin/ls is not whited out");
    assert!(!check.path().join("bin/busybox").exists(), "{driver:?}: unchanged files leaked into the diff");

    let names_in_blob: Vec<String> = tar::Archive::new(flate2::read::GzDecoder::new(&blob[..]))
        .entries()
        .unwrap()
        .map(|e| String::from_utf8(e.unwrap().path_bytes().into_owned()).unwrap())
        .collect();
    let home_marker = match driver {
        Driver::Overlay => "home/.wh..wh..opq", // overlay made /home opaque
        Driver::Copy => "home/.wh.berth",       // compared with the parent tree
    };
    assert!(names_in_blob.iter().any(|n| n == home_marker), "{driver:?}: {names_in_blob:?}");

    let committed = chain_ids(&[diff_id.clone(), stats.diff_id.clone()]).pop().unwrap();
    s.commit("ctr", &committed).unwrap();
    let (next, _g) = mount_at(&s.prepare("next", Some(&committed)).unwrap(), mnt.path(), "next");
    assert_eq!(fs::read(next.join("etc/hello")).unwrap(), b"hello");
    assert!(fs::symlink_metadata(next.join("bin/ls")).is_err());
    assert!(fs::metadata(next.join("bin/busybox")).unwrap().is_file());
    assert_eq!(names(&next.join("home")), ["fresh"], "{driver:?}: the old /home shows through");
    assert_eq!(names(&next.join("etc")), ["group", "hello", "hosts", "passwd"]);
}

#[test]
fn container_on_busybox_with_overlay() {
    if is_root() {
        container_on_busybox(Driver::Overlay);
    }
}

#[test]
fn container_on_busybox_with_the_copy_driver() {
    if is_root() {
        container_on_busybox(Driver::Copy);
    }
}
