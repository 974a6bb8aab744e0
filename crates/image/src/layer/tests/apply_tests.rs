//! What apply creates: every entry type with its metadata, the streamed diff_id,
//! compression, and whiteouts in both modes — overlay's checked through a real
//! overlay mount.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

use nix::fcntl::OFlag;
use std::os::fd::AsFd;
use tar::EntryType;

use super::super::testutil::{MTIME, Tar, is_root, mount_overlay_ro, tempdir, tree};
use super::super::{ApplyOptions, Compression, Error, IdRemap, apply};
use super::super::sys::{self, XattrTarget};
use super::{apply_tar, delete_mode, gzip, zstd};
use crate::digest::Digest;

fn xattr(path: &std::path::Path, key: &[u8]) -> Option<Vec<u8>> {
    let dir = sys::open_path(path.parent().unwrap(), OFlag::O_PATH | OFlag::O_DIRECTORY).unwrap();
    let name = std::os::unix::ffi::OsStrExt::as_bytes(path.file_name().unwrap()).to_vec();
    sys::get_xattr(XattrTarget::At(dir.as_fd(), &name), key).unwrap()
}

fn rich_tar() -> Vec<u8> {
    Tar::new()
        .dir("./", 0o755)
        .dir("etc/", 0o750)
        .owned_file("etc/passwd", 0o644, (0, 0), b"root:x:0:0\n")
        .dir("usr/", 0o755)
        .dir("usr/bin/", 0o755)
        .pax(&[("SCHILY.xattr.user.note", b"hello"), ("SCHILY.xattr.security.capability", &CAP_NET_RAW)])
        .owned_file("usr/bin/su", 0o4755, (1000, 1001), b"#!/bin/true\n")
        .file("usr/bin/ping", 0o755, b"ping")
        .dir("tmp/", 0o1777)
        .symlink("bin", "usr/bin")
        .hardlink("usr/bin/su2", "usr/bin/su")
        .node("dev-null", EntryType::Char, 1, 3, 0o666)
        .node("loop9", EntryType::Block, 7, 9, 0o660)
        .node("pipe", EntryType::Fifo, 0, 0, 0o644)
        .pax(&[("mtime", b"1600000000.25")])
        .file("etc/old", 0o600, b"old")
        .finish()
}

/// `security.capability` v2 granting cap_net_raw (bit 13), effective.
const CAP_NET_RAW: [u8; 20] = [0, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

#[test]
fn every_entry_type_with_metadata() {
    if !is_root() {
        return;
    }
    let tmp = tempdir();
    let tar = rich_tar();
    let stats = apply_tar(&tar, tmp.path(), &ApplyOptions::default()).unwrap();
    let r = tmp.path();

    assert_eq!(stats.diff_id, Digest::sha256_of(&tar));
    assert_eq!(stats.tar_size, tar.len() as u64);
    assert_eq!(stats.compressed_size, tar.len() as u64);
    assert_eq!((stats.files, stats.dirs, stats.symlinks, stats.hardlinks, stats.nodes), (4, 5, 1, 1, 3));
    assert!(stats.warnings.is_empty(), "{:?}", stats.warnings);

    let su = fs::metadata(r.join("usr/bin/su")).unwrap();
    // setuid survives because the mode is set after the chown that clears it.
    assert_eq!(su.mode() & 0o7777, 0o4755);
    assert_eq!((su.uid(), su.gid()), (1000, 1001));
    assert_eq!(su.mtime(), MTIME as i64);
    assert_eq!(fs::read(r.join("usr/bin/su")).unwrap(), b"#!/bin/true\n");
    assert_eq!(xattr(&r.join("usr/bin/su"), b"user.note").as_deref(), Some(&b"hello"[..]));
    // The capability survives the chown too (set after it).
    assert_eq!(xattr(&r.join("usr/bin/su"), b"security.capability").as_deref(), Some(&CAP_NET_RAW[..]));
    assert_eq!(fs::metadata(r.join("usr/bin/su2")).unwrap().ino(), su.ino());
    assert_eq!(su.nlink(), 2);

    assert_eq!(fs::metadata(r.join("tmp")).unwrap().mode() & 0o7777, 0o1777);
    assert_eq!(fs::metadata(r.join("etc")).unwrap().mode() & 0o7777, 0o750);
    // Directory mtimes are set after their contents were written.
    for d in ["etc", "usr", "usr/bin", "tmp"] {
        assert_eq!(fs::metadata(r.join(d)).unwrap().mtime(), MTIME as i64, "{d}");
    }
    assert_eq!(fs::metadata(r).unwrap().mtime(), MTIME as i64);
    assert_eq!(fs::read_link(r.join("bin")).unwrap().to_str(), Some("usr/bin"));

    let null = fs::symlink_metadata(r.join("dev-null")).unwrap();
    assert!(null.file_type().is_char_device());
    assert_eq!((libc::major(null.rdev()), libc::minor(null.rdev())), (1, 3));
    assert_eq!(null.mode() & 0o7777, 0o666);
    let lp = fs::symlink_metadata(r.join("loop9")).unwrap();
    assert!(lp.file_type().is_block_device());
    assert_eq!((libc::major(lp.rdev()), libc::minor(lp.rdev())), (7, 9));
    let pipe = fs::symlink_metadata(r.join("pipe")).unwrap();
    assert!(pipe.file_type().is_fifo());
    assert_eq!(pipe.mode() & 0o7777, 0o644);

    // PAX mtime with a fraction.
    let old = fs::metadata(r.join("etc/old")).unwrap();
    assert_eq!((old.mtime(), old.mtime_nsec()), (1_600_000_000, 250_000_000));
}

#[test]
fn compressed_layers_stream_to_the_same_tree_and_diff_id() {
    if !is_root() {
        return;
    }
    let tar = rich_tar();
    let plain = tempdir();
    let base = apply_tar(&tar, plain.path(), &ApplyOptions::default()).unwrap();
    for (compression, blob) in [(Compression::Gzip, gzip(&tar)), (Compression::Zstd, zstd(&tar))] {
        let dir = tempdir();
        let stats = apply(&blob[..], compression, dir.path(), &ApplyOptions::default()).unwrap();
        assert_eq!(stats.diff_id, base.diff_id, "{compression:?}");
        assert_eq!(stats.tar_size, tar.len() as u64);
        assert_eq!(stats.compressed_size, blob.len() as u64);
        assert_eq!(tree(dir.path()), tree(plain.path()), "{compression:?}");
    }
}

#[test]
fn diff_id_covers_trailing_padding() {
    if !is_root() {
        return;
    }
    let mut tar = Tar::new().file("a", 0o644, b"a").finish();
    tar.extend_from_slice(&[0u8; 8192]);
    let dir = tempdir();
    let stats = apply_tar(&tar, dir.path(), &ApplyOptions::default()).unwrap();
    assert_eq!(stats.diff_id, Digest::sha256_of(&tar));
    assert_eq!(stats.tar_size, tar.len() as u64);
}

#[test]
fn busybox_layer_applies_with_its_diff_id() {
    if !is_root() {
        return;
    }
    let image = fixture::Image::busybox().expect("busybox fixture");
    let dir = tempdir();
    let stats = apply(image.layer(), Compression::Gzip, dir.path(), &ApplyOptions::default()).unwrap();
    assert_eq!(stats.diff_id.to_string(), image.diff_id());
    assert_eq!(stats.compressed_size, image.layer_size());
    let bb = fs::metadata(dir.path().join("bin/busybox")).unwrap();
    assert!(bb.is_file() && bb.permissions().mode() & 0o111 != 0);
    assert!(fs::symlink_metadata(dir.path().join("bin/sh")).is_ok());
}

#[test]
fn overlay_whiteouts_become_devices_and_opaque_xattrs() {
    if !is_root() {
        return;
    }
    let dir = tempdir();
    let tar = Tar::new()
        .dir("a/", 0o755)
        .whiteout("a/.wh.x")
        .dir("b/", 0o755)
        .whiteout("b/.wh..wh..opq")
        .file("b/new", 0o644, b"new")
        .whiteout("c/.wh..wh.plnk") // reserved name: ignored
        .whiteout(".wh.d") // whiteout, then a directory of the same name
        .dir("d/", 0o755)
        .file("d/keep", 0o644, b"k")
        .file("e", 0o644, b"e") // a file, then a whiteout of it: the file stays
        .whiteout(".wh.e")
        .finish();
    let stats = apply_tar(&tar, dir.path(), &ApplyOptions::default()).unwrap();
    assert_eq!(stats.whiteouts, 4);
    let r = dir.path();
    let x = fs::symlink_metadata(r.join("a/x")).unwrap();
    assert!(x.file_type().is_char_device() && x.rdev() == 0);
    assert_eq!(xattr(&r.join("b"), b"trusted.overlay.opaque").as_deref(), Some(&b"y"[..]));
    assert!(!r.join("c/.wh..wh.plnk").exists());
    assert!(fs::symlink_metadata(r.join("d")).unwrap().is_dir());
    assert_eq!(xattr(&r.join("d"), b"trusted.overlay.opaque").as_deref(), Some(&b"y"[..]));
    assert_eq!(fs::read(r.join("e")).unwrap(), b"e");
    assert!(!r.join("a/.wh.x").exists());
}

#[test]
fn whiteouts_and_opaque_dirs_through_a_real_overlay_mount() {
    if !is_root() {
        return;
    }
    let tmp = tempdir();
    let (lower, upper, merged) = (tmp.path().join("lower"), tmp.path().join("upper"), tmp.path().join("merged"));
    for d in [&lower, &upper, &merged] {
        fs::create_dir(d).unwrap();
    }
    let l = Tar::new()
        .dir("a/", 0o755)
        .file("a/x", 0o644, b"x")
        .file("a/y", 0o644, b"y")
        .dir("b/", 0o755)
        .file("b/z", 0o644, b"z")
        .finish();
    let u = Tar::new()
        .dir("a/", 0o755)
        .whiteout("a/.wh.x")
        .dir("b/", 0o755)
        .whiteout("b/.wh..wh..opq")
        .file("b/new", 0o644, b"new")
        .finish();
    apply_tar(&l, &lower, &ApplyOptions::default()).unwrap();
    apply_tar(&u, &upper, &ApplyOptions::default()).unwrap();
    let _m = mount_overlay_ro(&[&upper, &lower], &merged);
    let names = |d: &str| {
        let mut v: Vec<String> =
            fs::read_dir(merged.join(d)).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    };
    assert_eq!(names("a"), ["y"]);
    assert_eq!(names("b"), ["new"]);
    assert_eq!(fs::read(merged.join("b/new")).unwrap(), b"new");
}

#[test]
fn delete_mode_removes_lower_content_but_spares_this_layers() {
    if !is_root() {
        return;
    }
    let dir = tempdir();
    let r = dir.path();
    let l = Tar::new()
        .dir("a/", 0o755)
        .file("a/x", 0o644, b"x")
        .file("a/y", 0o644, b"y")
        .dir("b/", 0o755)
        .file("b/z", 0o644, b"z")
        .dir("b/sub/", 0o755)
        .file("b/sub/old", 0o644, b"old")
        .dir("c/", 0o755)
        .file("c/gone", 0o644, b"g")
        .finish();
    apply_tar(&l, r, &delete_mode()).unwrap();
    let u = Tar::new()
        .whiteout("a/.wh.x")
        .file("b/sub/mine", 0o644, b"mine") // written before the opaque marker: kept
        .whiteout("b/.wh..wh..opq")
        .file("b/new", 0o644, b"new")
        .whiteout(".wh.c")
        .dir("c/", 0o700) // c replaced by a fresh, empty directory
        .whiteout("nowhere/.wh.q") // nothing to delete: fine
        .finish();
    apply_tar(&u, r, &delete_mode()).unwrap();
    let t = tree(r);
    let paths: Vec<&str> = t.keys().map(|k| k.as_str()).collect();
    assert_eq!(paths, ["a", "a/y", "b", "b/new", "b/sub", "b/sub/mine", "c"]);
    assert_eq!(fs::metadata(r.join("c")).unwrap().mode() & 0o7777, 0o700);
}

#[test]
fn entries_replace_each_other() {
    if !is_root() {
        return;
    }
    let dir = tempdir();
    let r = dir.path();
    let tar = Tar::new()
        .file("f", 0o644, b"file")
        .dir("f/", 0o711) // a file, then a directory of the same name
        .file("f/inner", 0o644, b"i")
        .dir("d/", 0o755)
        .file("d/x", 0o644, b"x")
        .file("d", 0o600, b"now a file") // a directory, then a file of the same name
        .symlink("s", "f")
        .file("s", 0o644, b"not through the link")
        .finish();
    apply_tar(&tar, r, &ApplyOptions::default()).unwrap();
    assert_eq!(fs::metadata(r.join("f")).unwrap().mode() & 0o7777, 0o711);
    assert_eq!(fs::read(r.join("f/inner")).unwrap(), b"i");
    assert_eq!(fs::read(r.join("d")).unwrap(), b"now a file");
    assert!(fs::symlink_metadata(r.join("s")).unwrap().is_file());
    assert_eq!(fs::read(r.join("s")).unwrap(), b"not through the link");
}

#[test]
fn refused_xattrs_warn_or_fail_when_strict() {
    if !is_root() {
        return;
    }
    let tar = Tar::new()
        .pax(&[("SCHILY.xattr.trusted.overlay.redirect", b"/etc")])
        .file("a", 0o644, b"a")
        .pax(&[("SCHILY.xattr.nosuchns.x", b"v")])
        .file("b", 0o644, b"b")
        .finish();
    let dir = tempdir();
    let stats = apply_tar(&tar, dir.path(), &ApplyOptions::default()).unwrap();
    assert_eq!(stats.warnings.len(), 2, "{:?}", stats.warnings);
    assert!(stats.warnings[0].starts_with("a: extended attribute trusted.overlay.redirect"));
    assert_eq!(xattr(&dir.path().join("a"), b"trusted.overlay.redirect"), None);

    let dir = tempdir();
    let strict = ApplyOptions { strict: true, ..ApplyOptions::default() };
    match apply_tar(&tar, dir.path(), &strict) {
        Err(Error::Refused { entry, reason }) => {
            assert_eq!(entry, "a");
            assert!(reason.contains("trusted.overlay.redirect"), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn ids_are_remapped() {
    if !is_root() {
        return;
    }
    let dir = tempdir();
    let tar = Tar::new().dir("d/", 0o755).owned_file("d/f", 0o644, (5, 6), b"f").file("g/h", 0o644, b"h").finish();
    let opts = ApplyOptions { remap: Some(IdRemap { uid_offset: 100_000, gid_offset: 200_000 }), ..ApplyOptions::default() };
    apply_tar(&tar, dir.path(), &opts).unwrap();
    let f = fs::metadata(dir.path().join("d/f")).unwrap();
    assert_eq!((f.uid(), f.gid()), (100_005, 200_006));
    // Directories the archive does not list belong to the (remapped) root.
    let g = fs::metadata(dir.path().join("g")).unwrap();
    assert_eq!((g.uid(), g.gid(), g.mode() & 0o7777), (100_000, 200_000, 0o755));
}
