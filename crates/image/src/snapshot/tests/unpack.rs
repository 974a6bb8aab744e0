//! unpack(): layers shared between images and unpacked once, concurrent unpacks of
//! the same chain, and parallel extraction giving the same trees as sequential
//! extraction (and as the copying driver).

use std::sync::Arc;

use super::super::{Driver, Kind, Snapshotter};
use super::{Blob, dirs, layers, mount_at, root};
use crate::layer::testutil::{Tar, assert_same_tree, is_root, tree, without_dir_mtimes};

#[test]
fn a_shared_base_layer_is_unpacked_once() {
    if !is_root() {
        return;
    }
    let tmp = root();
    let s = Snapshotter::new(tmp.path(), Driver::Overlay).unwrap();
    let base = Blob::new(Tar::new().dir("usr/", 0o755).file("usr/base", 0o644, b"base").finish());
    let a = Blob::new(Tar::new().file("a", 0o644, b"image a").finish());
    let b = Blob::new(Tar::new().file("b", 0o644, b"image b").finish());
    let ua = s.unpack(layers(&[base.clone(), a.clone()])).unwrap();
    let ub = s.unpack(layers(&[base.clone(), b.clone()])).unwrap();
    assert_eq!(ua.chain_ids[0], ub.chain_ids[0]);
    assert_ne!(ua.chain_id(), ub.chain_id());
    assert_eq!(base.opened(), 1, "the shared base layer was unpacked twice");
    assert!(ub.layers[0].is_none() && ub.layers[1].is_some());
    assert_eq!(dirs(&s), (3, 0));
    // Both images' tops have the base as parent.
    for u in [&ua, &ub] {
        let info = s.stat(&u.chain_id().to_string()).unwrap();
        assert_eq!((info.kind, info.parent), (Kind::Committed, Some(base.diff_id.to_string())));
    }
    // Unpacking an image that is already there opens nothing.
    s.unpack(layers(&[base.clone(), a.clone()])).unwrap();
    assert_eq!((base.opened(), a.opened()), (1, 1));
}

#[test]
fn concurrent_unpacks_of_one_chain_install_each_layer_once() {
    if !is_root() {
        return;
    }
    let tmp = root();
    let blobs: Vec<Blob> = (0..4)
        .map(|i| {
            let mut t = Tar::new().dir("d/", 0o755);
            for j in 0..50 {
                t = t.file(&format!("d/f{i}-{j}"), 0o644, format!("{i}/{j}").as_bytes());
            }
            Blob::new(t.finish())
        })
        .collect();
    let shared = Arc::new(Snapshotter::new(tmp.path(), Driver::Overlay).unwrap());
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let blobs = blobs.clone();
                let shared = shared.clone();
                let root = tmp.path().to_path_buf();
                scope.spawn(move || {
                    // Two threads share an instance; two open their own, as another
                    // process would (the flock is per open file description).
                    let own;
                    let s = if t % 2 == 0 {
                        &*shared
                    } else {
                        own = Snapshotter::new(&root, Driver::Overlay).unwrap();
                        &own
                    };
                    s.unpack(layers(&blobs)).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in &results {
        assert_eq!(r.chain_ids, results[0].chain_ids);
    }
    for i in 0..blobs.len() {
        let installs = results.iter().filter(|r| r.layers[i].is_some()).count();
        assert_eq!(installs, 1, "layer {i} installed {installs} times");
    }
    assert_eq!(dirs(&shared), (blobs.len(), 0));
    assert_eq!(shared.list().unwrap().len(), blobs.len());
}

/// Five layers that build on each other: modifications, whiteouts, an opaque dir,
/// a directory replaced by a file and back.
fn stacked() -> Vec<Blob> {
    vec![
        Tar::new()
            .dir("etc/", 0o755)
            .file("etc/a", 0o644, b"a0")
            .file("etc/b", 0o644, b"b0")
            .dir("var/", 0o755)
            .dir("var/cache/", 0o755)
            .file("var/cache/x", 0o644, b"x")
            .file("var/cache/y", 0o644, b"y")
            .dir("swap/", 0o755)
            .file("swap/in", 0o644, b"in")
            .finish(),
        Tar::new().dir("etc/", 0o755).file("etc/a", 0o600, b"a1").whiteout("etc/.wh.b").finish(),
        Tar::new()
            .dir("var/", 0o755)
            .dir("var/cache/", 0o700)
            .whiteout("var/cache/.wh..wh..opq")
            .file("var/cache/z", 0o644, b"z")
            .whiteout(".wh.swap")
            .file("swap", 0o644, b"now a file")
            .finish(),
        Tar::new().dir("etc/", 0o755).file("etc/b", 0o644, b"b back").whiteout(".wh.swap").dir("swap/", 0o711).finish(),
        Tar::new().dir("var/", 0o755).dir("var/cache/", 0o700).symlink("var/cache/link", "z").finish(),
    ]
    .into_iter()
    .map(Blob::new)
    .collect()
}

#[test]
fn parallel_unpack_matches_sequential_and_the_copy_driver() {
    if !is_root() {
        return;
    }
    let blobs = stacked();
    let (t1, t2, t3, mnt) = (root(), root(), root(), root());

    let parallel = Snapshotter::new(t1.path(), Driver::Overlay).unwrap();
    let top = parallel.unpack(layers(&blobs)).unwrap();
    assert!(top.layers.iter().all(Option::is_some));

    let sequential = Snapshotter::new(t2.path(), Driver::Overlay).unwrap();
    for n in 1..=blobs.len() {
        let u = sequential.unpack(layers(&blobs[..n])).unwrap();
        assert!(u.layers[..n - 1].iter().all(Option::is_none) && u.layers[n - 1].is_some());
    }
    // Layer by layer, the unpacked directories are identical.
    for c in &top.chain_ids {
        let key = c.to_string();
        let (d1, d2) = (parallel.layer_dir(&key).unwrap(), sequential.layer_dir(&key).unwrap());
        assert_same_tree(&tree(&d1), &tree(&d2));
    }
    let copy = Snapshotter::new(t3.path(), Driver::Copy).unwrap();
    copy.unpack(layers(&blobs)).unwrap();

    let key = top.chain_id().to_string();
    let (p, _g1) = mount_at(&parallel.view("p", top.chain_id()).unwrap(), mnt.path(), "p");
    let (s, _g2) = mount_at(&sequential.view("s", top.chain_id()).unwrap(), mnt.path(), "s");
    let (c, _g3) = mount_at(&copy.mounts(&key).unwrap(), mnt.path(), "c");
    let tp = tree(&p);
    assert_same_tree(&tp, &tree(&s));
    assert_same_tree(&without_dir_mtimes(tp.clone()), &without_dir_mtimes(tree(&c)));
    let paths: Vec<&str> = tp.keys().map(String::as_str).collect();
    assert_eq!(paths, ["etc", "etc/a", "etc/b", "swap", "var", "var/cache", "var/cache/link", "var/cache/z"]);
}
