//! The store facade: unpack (platform and foreign-layer checks), image sizes with
//! shared layers, container snapshots, GC of blobs and snapshots, the recorded
//! driver, and listing many tags.

use std::time::{Duration, Instant};

use super::{E, TestStore, busybox, digest, docker_archive, is_root, tar_of};
use crate::archive;
use crate::digest::Digest;
use crate::metadata::Filters;
use crate::reference::Reference;
use crate::snapshot::{Driver, Kind};
use crate::store::{self, Store};

/// A `docker save` archive of an image made of the busybox layer plus one layer
/// holding `app/<name>`, tagged `<name>:1`. `arch` overrides the config's.
fn two_layer_archive(name: &str, arch: Option<&str>) -> Vec<u8> {
    let bb = busybox();
    let mut tree = fixture::Tree::new();
    tree.insert(fixture::Entry::dir("app", 0o755)).unwrap();
    tree.insert(fixture::Entry::file(format!("app/{name}"), 0o644, vec![b'x'; 50_000])).unwrap();
    let top = fixture::tar(&tree).unwrap();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": arch.unwrap_or(fixture::host_architecture().unwrap()),
        "os": "linux",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [bb.diff_id(), Digest::sha256_of(&top).to_string()]},
    }))
    .unwrap();
    let cfg = format!("{}.json", Digest::sha256_of(&config).hex());
    let (base, mine) = ("base/layer.tar".to_string(), format!("{name}/layer.tar"));
    let m = serde_json::to_vec(&serde_json::json!([{"Config": cfg, "RepoTags": [format!("{name}:1")], "Layers": [base, mine]}]))
        .unwrap();
    tar_of(&[E::File(&base, bb.layer_tar()), E::File(&mine, &top), E::File(&cfg, &config), E::File("manifest.json", &m)])
}

fn load(t: &TestStore, bytes: &[u8]) -> crate::metadata::Image {
    let loaded = archive::load(&t.store, bytes).unwrap();
    t.store.images().get(&loaded[0].id).unwrap()
}

#[test]
fn shared_size_counts_the_shared_base_layer() {
    if !is_root() {
        return;
    }
    let t = TestStore::new();
    let a = load(&t, &two_layer_archive("a", None));
    let b = load(&t, &two_layer_archive("b", None));
    let bb = load(&t, &docker_archive("busybox:latest"));
    let base_blob = busybox().layer_tar().len() as u64;
    // Not unpacked yet: blob sizes stand in.
    let sizes = t.store.image_sizes().unwrap();
    assert!(!sizes[&a.id].unpacked);
    assert_eq!((sizes[&a.id].shared_size, sizes[&bb.id].size), (base_blob, base_blob));

    for img in [&a, &b, &bb] {
        t.store.unpack(img).unwrap();
    }
    let snap = |key: &Digest| t.store.snapshots().stat(&key.to_string()).unwrap().size.unwrap();
    let chain_a = t.store.chain_ids(&a).unwrap();
    let chain_b = t.store.chain_ids(&b).unwrap();
    assert_eq!(chain_a[0], chain_b[0]);
    let (base, top_a, top_b) = (snap(&chain_a[0]), snap(&chain_a[1]), snap(&chain_b[1]));
    assert!(top_a >= 50_000 && base > 500_000, "{base} {top_a}");
    let sizes = t.store.image_sizes().unwrap();
    assert_eq!(sizes.len(), 3);
    let (sa, sb, sbb) = (&sizes[&a.id], &sizes[&b.id], &sizes[&bb.id]);
    assert!(sa.unpacked && sb.unpacked && sbb.unpacked);
    assert_eq!((sa.size, sa.shared_size), (base + top_a, base));
    assert_eq!((sb.size, sb.shared_size), (base + top_b, base));
    assert_eq!((sbb.size, sbb.shared_size), (base, base));
    // Unpacking recorded the size for `docker images`.
    assert_eq!(t.store.images().get(&a.id).unwrap().size, base + top_a);

    // Once `a` and `b` are gone, busybox shares nothing.
    for n in ["a:1", "b:1"] {
        t.store.images().delete(n, false, &|_| None).unwrap();
    }
    let sizes = t.store.image_sizes().unwrap();
    assert_eq!((sizes[&bb.id].size, sizes[&bb.id].shared_size), (base, 0));
}

#[test]
fn gc_removes_unreferenced_blobs_and_snapshots_and_keeps_leased_and_used_ones() {
    if !is_root() {
        return;
    }
    let t = TestStore::new();
    let img = load(&t, &docker_archive("busybox:latest"));
    let junk = t.store.content().put_bytes(b"nobody needs me").unwrap();
    let lease = t.store.leases().create("test pull", Duration::from_secs(600)).unwrap();
    let leased = Digest::sha256_of(b"being pulled");
    lease.add(&leased).unwrap();
    t.store.content().put_bytes(b"being pulled").unwrap();

    let report = t.store.gc_with_grace(Duration::ZERO).unwrap();
    assert_eq!(report.content.removed, vec![junk.clone()]);
    assert_eq!(report.content.kept_leased, 1);
    assert!(t.store.content().exists(&leased) && t.store.content().exists(&img.id));
    assert!(!t.store.content().exists(&junk));

    // A container on the image keeps its layers after the image is deleted…
    let chain = t.store.unpack(&img).unwrap();
    t.store.container_snapshot("ctr", &img).unwrap();
    assert_eq!(t.store.snapshots().stat("ctr").unwrap().parent, Some(chain.to_string()));
    t.store.images().delete("busybox", true, &|_| None).unwrap();
    let report = t.store.gc_with_grace(Duration::ZERO).unwrap();
    assert!(report.removed_snapshots.is_empty());
    assert_eq!(t.store.snapshots().stat(&chain.to_string()).unwrap().kind, Kind::Committed);
    // …and once the container is gone, they go too, with the image's blobs.
    t.store.snapshots().remove("ctr").unwrap();
    let report = t.store.gc_with_grace(Duration::ZERO).unwrap();
    assert_eq!(report.removed_snapshots, vec![chain.to_string()]);
    assert!(report.snapshot_bytes_freed > 0);
    assert!(t.store.snapshots().list().unwrap().is_empty());
    assert_eq!(t.store.content().list().unwrap(), vec![leased.clone()]);
    // Young snapshots are spared by a grace period (an unpack racing an add).
    let img = load(&t, &docker_archive("busybox:latest"));
    t.store.unpack(&img).unwrap();
    t.store.images().delete("busybox", true, &|_| None).unwrap();
    assert!(t.store.gc_with_grace(Duration::from_secs(3600)).unwrap().removed_snapshots.is_empty());
    drop(lease);
}

#[test]
fn unpack_refuses_other_platforms_and_absent_foreign_layers() {
    let t = TestStore::new();
    let other = if fixture::host_architecture().unwrap() == "s390x" { "riscv64" } else { "s390x" };
    let img = load(&t, &two_layer_archive("alien", Some(other)));
    let e = t.store.unpack(&img).unwrap_err();
    assert!(matches!(e, store::Error::Platform { .. }), "{e}");
    assert!(e.to_string().contains(&format!("linux/{other}")), "{e}");

    // A foreign layer: listed in LayerSources, absent from the archive.
    let bb = busybox();
    let foreign = Digest::sha256_of(b"a windows base layer");
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": fixture::host_architecture().unwrap(), "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [foreign.to_string(), bb.diff_id()]},
    }))
    .unwrap();
    let cfg = format!("{}.json", Digest::sha256_of(&config).hex());
    let m = serde_json::to_vec(&serde_json::json!([{
        "Config": cfg, "RepoTags": ["foreign:1"], "Layers": ["f/layer.tar", "b/layer.tar"],
        "LayerSources": {foreign.to_string(): {
            "mediaType": crate::manifest::DOCKER_LAYER_FOREIGN, "size": 1234,
            "digest": foreign.to_string(), "urls": ["https://example.invalid/base.tar"]}},
    }]))
    .unwrap();
    let bytes = tar_of(&[E::File("b/layer.tar", bb.layer_tar()), E::File(&cfg, &config), E::File("manifest.json", &m)]);
    let img = load(&t, &bytes);
    let e = t.store.unpack(&img).unwrap_err();
    assert!(matches!(e, store::Error::ForeignLayer { index: 0, .. }), "{e}");
    assert!(e.to_string().contains("https://example.invalid/base.tar"), "{e}");
    // Saving it cannot produce the layer either.
    let e = archive::save(&t.store, &["foreign:1"], archive::Format::Docker, &mut Vec::new()).unwrap_err();
    assert!(e.to_string().contains("foreign"), "{e}");
}

#[test]
fn a_root_keeps_the_driver_it_was_created_with() {
    let t = TestStore::new();
    let driver = t.store.snapshots().driver();
    let other = if driver == Driver::Overlay { Driver::Copy } else { Driver::Overlay };
    let again = Store::open(t.path()).unwrap();
    assert_eq!(again.snapshots().driver(), driver);
    assert!(matches!(Store::open_with_driver(t.path(), other), Err(store::Error::Root { .. })));
    let copy = tempfile::tempdir().unwrap();
    assert_eq!(Store::open_with_driver(copy.path(), Driver::Copy).unwrap().snapshots().driver(), Driver::Copy);
    assert_eq!(Store::open(copy.path()).unwrap().snapshots().driver(), Driver::Copy);
}

#[test]
fn listing_a_thousand_tags_with_sizes_is_quick() {
    let t = TestStore::new();
    let img = load(&t, &docker_archive("busybox:latest"));
    for n in 0..1000 {
        t.store.images().tag(&Reference::parse(&format!("bench/img:{n}")).unwrap(), &img.id).unwrap();
    }
    let reopened = Store::open(t.path()).unwrap();
    let start = Instant::now();
    let list = reopened.images().list(&Filters::default()).unwrap();
    let sizes = reopened.image_sizes().unwrap();
    let rows = list.iter().map(|i| i.repo_tags.len().max(1)).sum::<usize>();
    let elapsed = start.elapsed();
    assert_eq!((rows, sizes.len()), (1001, 1));
    eprintln!("listed {rows} tags with sizes in {elapsed:?} (debug build)");
    // Release builds answer in a few ms (bench/image-list.sh); this catches blow-ups.
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    let _ = digest(busybox().image_id());
}
