//! load and save: the fixture's archives, round trips with identical digests and
//! bytes, umoci's validation of our OCI layout, and archives that must be refused
//! (corrupted layers, missing files, hostile names and links) without tagging.

use std::collections::BTreeMap;
use std::process::Command;

use super::{E, TestStore, busybox, digest, docker_archive, entries_of, oci_archive, tar_of};
use crate::archive::{self, Error, Format, Loaded};
use crate::digest::Digest;
use crate::manifest;
use crate::metadata::Filters;
use crate::reference::Reference;

fn r(s: &str) -> Reference {
    Reference::parse(s).unwrap()
}

/// (image id, manifest digest, layer digests) of the image `name` resolves to.
fn digests(t: &TestStore, name: &str) -> (Digest, Digest, Vec<Digest>) {
    let img = t.store.images().resolve(name).unwrap();
    let m = t.store.manifest(&img).unwrap();
    (img.id.clone(), img.manifest.clone(), m.layers().iter().map(|l| l.digest.clone()).collect())
}

fn no_images(t: &TestStore) {
    assert!(t.store.images().list(&Filters::default()).unwrap().is_empty(), "an image was added");
}

#[test]
fn the_fixture_docker_archive_loads() {
    let t = TestStore::new();
    let loaded = archive::load(&t.store, &docker_archive("busybox:latest")[..]).unwrap();
    let bb = busybox();
    assert_eq!(loaded, vec![Loaded { id: digest(bb.image_id()), tags: vec![r("busybox:latest")] }]);
    let (id, _, layers) = digests(&t, "busybox");
    assert_eq!(id, digest(bb.image_id()));
    // Stored uncompressed: the blob is the diff_id.
    assert_eq!(layers, vec![digest(bb.diff_id())]);
    let img = t.store.images().resolve("busybox").unwrap();
    assert_eq!(t.store.manifest(&img).unwrap().layers()[0].media_type, manifest::OCI_LAYER);
}

#[test]
fn the_fixture_oci_archive_loads() {
    let t = TestStore::new();
    let loaded = archive::load(&t.store, &oci_archive("busybox:1.36")[..]).unwrap();
    let bb = busybox();
    assert_eq!(loaded, vec![Loaded { id: digest(bb.image_id()), tags: vec![r("busybox:1.36")] }]);
    let (id, m, layers) = digests(&t, "busybox:1.36");
    assert_eq!((id, m, layers), (digest(bb.image_id()), digest(bb.manifest_digest()), vec![digest(bb.layer_digest())]));
}

#[test]
fn load_save_load_gives_identical_digests_and_saving_twice_identical_bytes() {
    for (format, input) in [(Format::Docker, docker_archive("busybox:latest")), (Format::Oci, oci_archive("busybox:latest"))] {
        let a = TestStore::new();
        archive::load(&a.store, &input[..]).unwrap();
        // A second tag and an ID: both resolve to the one image, saved once.
        a.store.images().tag(&r("example.com/team/bb:v1"), &digest(busybox().image_id())).unwrap();
        let id = busybox().image_id().to_string();
        let names = ["busybox:latest", "example.com/team/bb:v1", id.as_str()];
        let mut first = Vec::new();
        archive::save(&a.store, &names, format, &mut first).unwrap();
        let mut second = Vec::new();
        archive::save(&a.store, &names, format, &mut second).unwrap();
        assert!(first == second, "{format:?}: saving twice gave different bytes");

        let b = TestStore::new();
        let loaded = archive::load(&b.store, &first[..]).unwrap();
        assert_eq!(loaded.len(), 1, "{format:?}");
        let mut tags = loaded[0].tags.clone();
        tags.sort();
        assert_eq!(tags, vec![r("busybox:latest"), r("example.com/team/bb:v1")], "{format:?}");
        assert_eq!(digests(&a, "busybox"), digests(&b, "busybox"), "{format:?}");
        // And a save from the second store is byte-identical to the first.
        let mut third = Vec::new();
        archive::save(&b.store, &names, format, &mut third).unwrap();
        assert!(first == third, "{format:?}: the reloaded image saves differently");
    }
}

#[test]
fn docker_save_has_the_classic_layout_and_uncompressed_layers() {
    let t = TestStore::new();
    // From the OCI archive: the layer blob is gzip, layer.tar must not be.
    archive::load(&t.store, &oci_archive("busybox:latest")[..]).unwrap();
    let mut out = Vec::new();
    archive::save(&t.store, &["busybox"], Format::Docker, &mut out).unwrap();
    let files = entries_of(&out);
    let bb = busybox();
    let m: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let config = format!("{}.json", digest(bb.image_id()).hex());
    assert_eq!(m[0]["Config"], config.as_str());
    assert_eq!(m[0]["RepoTags"], serde_json::json!(["busybox:latest"]));
    let layer = m[0]["Layers"][0].as_str().unwrap();
    assert_eq!(files[layer], bb.layer_tar());
    let id = layer.trim_end_matches("/layer.tar");
    assert_eq!(files[&format!("{id}/VERSION")], b"1.0");
    let repos: serde_json::Value = serde_json::from_slice(&files["repositories"]).unwrap();
    assert_eq!(repos["busybox"]["latest"], id);
    assert_eq!(files[&config], bb.config());
    // Saved by ID only: no RepoTags and no repositories file.
    let mut by_id = Vec::new();
    archive::save(&t.store, &[&bb.image_id()[7..19]], Format::Docker, &mut by_id).unwrap();
    let files = entries_of(&by_id);
    let m: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert!(m[0]["RepoTags"].is_null());
    assert!(!files.contains_key("repositories"));
    // An unknown name fails as Docker words it.
    let e = archive::save(&t.store, &["nope:1"], Format::Docker, &mut Vec::new()).unwrap_err();
    assert!(e.to_string().contains("No such image"), "{e}");
}

#[test]
fn the_oci_layout_we_save_passes_umoci() {
    if Command::new("umoci").arg("--version").output().is_err() {
        eprintln!("skipped: umoci is not installed (apt-get install umoci)");
        return;
    }
    let t = TestStore::new();
    archive::load(&t.store, &docker_archive("busybox:latest")[..]).unwrap();
    let mut out = Vec::new();
    archive::save(&t.store, &["busybox:latest"], Format::Oci, &mut out).unwrap();
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    std::fs::create_dir(&layout).unwrap();
    tar::Archive::new(&out[..]).unpack(&layout).unwrap();
    let ls = Command::new("umoci").arg("ls").arg("--layout").arg(&layout).output().unwrap();
    assert!(ls.status.success(), "umoci ls: {}", String::from_utf8_lossy(&ls.stderr));
    assert_eq!(String::from_utf8_lossy(&ls.stdout).trim(), "latest");
    let bundle = work.path().join("bundle");
    let unpack = Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:latest", layout.display()))
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(unpack.status.success(), "umoci unpack: {}", String::from_utf8_lossy(&unpack.stderr));
    assert!(bundle.join("rootfs/bin/busybox").is_file());
    assert!(bundle.join("config.json").is_file());
}

/// The fixture's docker archive with one byte of its layer data flipped.
fn corrupted_docker_archive() -> Vec<u8> {
    let mut bytes = docker_archive("busybox:latest");
    let layer = busybox().layer_tar();
    // Some bytes well inside the layer (past its first header) locate it.
    let needle = &layer[1024..1088];
    let at = bytes.windows(needle.len()).position(|w| w == needle).expect("layer inside archive");
    bytes[at + 10] ^= 0xff;
    bytes
}

#[test]
fn a_corrupted_layer_is_refused_and_nothing_is_tagged() {
    let t = TestStore::new();
    let e = archive::load(&t.store, &corrupted_docker_archive()[..]).unwrap_err();
    assert!(matches!(&e, Error::LayerMismatch(m) if m.path.ends_with("/layer.tar")), "{e}");
    assert!(e.to_string().contains("nothing was tagged"), "{e}");
    no_images(&t);
    // What it stored is garbage for the next collection.
    assert!(!t.store.content().list().unwrap().is_empty());
    t.store.gc_with_grace(std::time::Duration::ZERO).unwrap();
    assert!(t.store.content().list().unwrap().is_empty());

    // In an OCI archive the blob's name is its digest: a flip fails the commit.
    let mut oci = oci_archive("busybox:latest");
    let gz = busybox().layer();
    let at = oci.windows(64).position(|w| w == &gz[512..576]).unwrap();
    oci[at + 3] ^= 0x01;
    let e = archive::load(&t.store, &oci[..]).unwrap_err();
    assert!(e.to_string().contains("digest mismatch"), "{e}");
    no_images(&t);
}

#[test]
fn an_interrupted_load_leaves_only_garbage() {
    let t = TestStore::new();
    let bytes = docker_archive("busybox:latest");
    // The archive stops short near its end, after some blobs were stored.
    let cut = bytes.len() - 3000;
    assert!(archive::load(&t.store, &bytes[..cut]).is_err());
    no_images(&t);
    let report = t.store.gc_with_grace(std::time::Duration::ZERO).unwrap();
    assert!(t.store.content().list().unwrap().is_empty(), "{report:?}");
}

fn manifest_json(config: &str, tags: &[&str], layers: &[&str]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!([{ "Config": config, "RepoTags": tags, "Layers": layers }])).unwrap()
}

#[test]
fn a_manifest_naming_a_missing_file_is_refused_clearly() {
    let t = TestStore::new();
    let bb = busybox();
    let cfg = format!("{}.json", digest(bb.image_id()).hex());
    let m = manifest_json(&cfg, &["busybox:latest"], &["0123/layer.tar"]);
    let bytes = tar_of(&[E::File(&cfg, bb.config()), E::File("manifest.json", &m)]);
    let e = archive::load(&t.store, &bytes[..]).unwrap_err();
    assert_eq!(e.to_string(), "manifest.json references \"0123/layer.tar\", which is not in the archive");
    no_images(&t);
    let m = manifest_json("nope.json", &[], &[]);
    let e = archive::load(&t.store, &tar_of(&[E::File("manifest.json", &m)])[..]).unwrap_err();
    assert!(matches!(e, Error::MissingFile { ref path, .. } if path == "nope.json"), "{e}");
    let e = archive::load(&t.store, &tar_of(&[E::File("hello", b"x")])[..]).unwrap_err();
    assert!(matches!(e, Error::NotAnArchive), "{e}");
}

#[test]
fn legacy_symlinked_layers_are_followed_inside_the_archive() {
    let t = TestStore::new();
    let bb = busybox();
    let cfg = format!("{}.json", digest(bb.image_id()).hex());
    let m = manifest_json(&cfg, &["busybox:legacy"], &["top/layer.tar"]);
    let bytes = tar_of(&[
        E::Dir("base/"),
        E::File("base/layer.tar", bb.layer_tar()),
        E::Dir("top/"),
        E::Symlink("top/layer.tar", "../base/layer.tar"),
        E::File(&cfg, bb.config()),
        E::File("manifest.json", &m),
    ]);
    let loaded = archive::load(&t.store, &bytes[..]).unwrap();
    assert_eq!(loaded[0].id, digest(bb.image_id()));

    // A link out of the archive is refused, not followed.
    let m = manifest_json(&cfg, &["busybox:evil"], &["top/layer.tar"]);
    let bytes = tar_of(&[
        E::Symlink("top/layer.tar", "../../../etc/passwd"),
        E::File(&cfg, bb.config()),
        E::File("manifest.json", &m),
    ]);
    let e = archive::load(&t.store, &bytes[..]).unwrap_err();
    assert!(matches!(e, Error::BadLink { .. }), "{e}");
    assert!(t.store.images().resolve("busybox:evil").is_err());
}

#[test]
fn hostile_names_stay_keys_or_are_refused() {
    let t = TestStore::new();
    let cwd_probe = std::env::current_dir().unwrap().join("..").join("escaped-by-berth-test");
    let e = archive::load(&t.store, &tar_of(&[E::File("../escaped-by-berth-test", b"x")])[..]).unwrap_err();
    assert!(matches!(e, Error::BadPath { .. }), "{e}");
    assert!(e.to_string().contains("climbs above the archive root"), "{e}");
    assert!(!cwd_probe.exists());
    // `a/../manifest.json` is just the key `manifest.json`.
    let bb = busybox();
    let cfg = format!("{}.json", digest(bb.image_id()).hex());
    let m = manifest_json(&cfg, &["busybox:keys"], &["l/layer.tar"]);
    let bytes = tar_of(&[
        E::File("/l/layer.tar", bb.layer_tar()),
        E::File(&format!("./x/../{cfg}"), bb.config()),
        E::File("a/../manifest.json", &m),
    ]);
    archive::load(&t.store, &bytes[..]).unwrap();
    assert!(t.store.images().resolve("busybox:keys").is_ok());
}

#[test]
fn docker_25_archives_load_with_and_without_their_index() {
    let bb = busybox();
    let layout = entries_of(&oci_archive("busybox:latest"));
    let cfg = format!("blobs/sha256/{}", digest(bb.image_id()).hex());
    let layer = format!("blobs/sha256/{}", digest(bb.layer_digest()).hex());
    let m = manifest_json(&cfg, &["extra/name:v2"], &[&layer]);
    let mut files: BTreeMap<String, Vec<u8>> = layout.into_iter().filter(|(k, _)| !k.ends_with('/')).collect();
    files.insert("manifest.json".into(), m);
    let as_tar = |files: &BTreeMap<String, Vec<u8>>| {
        tar_of(&files.iter().map(|(k, v)| E::File(k, v)).collect::<Vec<_>>())
    };

    // With index.json: the OCI path, keeping the manifest digest, plus the RepoTags.
    let t = TestStore::new();
    let loaded = archive::load(&t.store, &as_tar(&files)[..]).unwrap();
    assert_eq!(loaded[0].tags, vec![r("busybox:latest"), r("extra/name:v2")]);
    assert_eq!(digests(&t, "extra/name:v2").1, digest(bb.manifest_digest()));

    // Without: manifest.json's blob paths, the gzip layer recognised and verified.
    files.remove("index.json");
    files.remove("oci-layout");
    let t = TestStore::new();
    let loaded = archive::load(&t.store, &as_tar(&files)[..]).unwrap();
    assert_eq!(loaded[0].tags, vec![r("extra/name:v2")]);
    let img = t.store.images().resolve("extra/name:v2").unwrap();
    let m = t.store.manifest(&img).unwrap();
    assert_eq!(m.layers()[0].media_type, manifest::OCI_LAYER_GZIP);
    assert_eq!(m.layers()[0].digest, digest(bb.layer_digest()));
}

#[test]
fn loading_moves_tags_from_older_images() {
    let t = TestStore::new();
    let bb = busybox();
    // An older image tagged busybox:latest (imported, so another id).
    let old = archive::import(&t.store, bb.layer_tar(), crate::layer::Compression::None, &[], "old", Some(&r("busybox:latest")))
        .unwrap();
    archive::load(&t.store, &docker_archive("busybox:latest")[..]).unwrap();
    assert_eq!(t.store.images().resolve("busybox:latest").unwrap().id, digest(bb.image_id()));
    assert!(t.store.images().get(&old.id).unwrap().repo_tags.is_empty());
}
