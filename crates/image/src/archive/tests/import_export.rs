//! import (a rootfs tarball with `--change`s becomes a one-layer image) and export
//! (a mounted container snapshot becomes a tar of its merged view).

use std::fs;

use super::{Mounted, TestStore, busybox, digest, docker_archive, entries_of, is_root};
use crate::archive::{self, Error};
use crate::layer::Compression;
use crate::manifest::{self, Platform};
use crate::reference::Reference;
use crate::snapshot::mount_all;

#[test]
fn import_with_changes_gives_the_right_config() {
    let t = TestStore::new();
    let bb = busybox();
    let changes: Vec<String> = [
        r#"CMD ["/bin/echo", "hi"]"#,
        "ENV GREETING=hello PATH=/bin",
        "EXPOSE 8080 53/udp",
        "WORKDIR /srv",
        "LABEL team=berth",
    ]
    .map(String::from)
    .to_vec();
    let reference = Reference::parse("imported/bb:1").unwrap();
    // The gzip blob in, as `docker import` of a .tar.gz.
    let img = archive::import(&t.store, bb.layer(), Compression::Gzip, &changes, "from the fixture", Some(&reference)).unwrap();
    assert_eq!(img.repo_tags, vec![reference]);
    assert_eq!(t.store.images().resolve("imported/bb:1").unwrap().id, img.id);

    let config = t.store.config(&img).unwrap();
    let c = config.parsed();
    let host = Platform::host();
    assert_eq!((c.os.as_str(), c.architecture.as_str()), (host.os.as_str(), host.architecture.as_str()));
    assert_eq!(c.rootfs.diff_ids, vec![digest(bb.diff_id())]);
    let cc = c.config.as_ref().unwrap();
    assert_eq!(cc.cmd.as_deref().unwrap(), ["/bin/echo", "hi"]);
    assert_eq!(cc.env.as_deref().unwrap(), ["GREETING=hello", "PATH=/bin"]);
    assert_eq!(cc.exposed_ports.as_ref().unwrap().keys().collect::<Vec<_>>(), ["53/udp", "8080/tcp"]);
    assert_eq!(cc.working_dir.as_deref(), Some("/srv"));
    assert_eq!(cc.labels.as_ref().unwrap()["team"], "berth");
    assert_eq!(c.history.len(), 1);
    assert_eq!(c.history[0].comment.as_deref(), Some("from the fixture"));
    assert_eq!(c.history[0].created_by.as_deref(), Some(""));
    // The raw JSON spells them as Docker does.
    let raw: serde_json::Value = serde_json::from_slice(config.raw()).unwrap();
    assert_eq!(raw["config"]["ExposedPorts"]["8080/tcp"], serde_json::json!({}));
    assert_eq!(raw["history"][0]["created_by"], "");

    // One gzip layer in the content store; the listing's history shows the comment.
    let m = t.store.manifest(&img).unwrap();
    assert_eq!(m.layers().len(), 1);
    assert_eq!(m.layers()[0].media_type, manifest::OCI_LAYER_GZIP);
    let history = t.store.images().history("imported/bb:1").unwrap();
    assert_eq!(history[0].comment, "from the fixture");

    // The same tar, uncompressed, has the same diff_id.
    let plain = archive::import(&t.store, bb.layer_tar(), Compression::None, &[], "", None).unwrap();
    assert_eq!(t.store.config(&plain).unwrap().parsed().rootfs.diff_ids, vec![digest(bb.diff_id())]);
    assert!(plain.repo_tags.is_empty());
}

#[test]
fn import_refuses_bad_changes_and_non_tars_storing_nothing_tagged() {
    let t = TestStore::new();
    let bb = busybox();
    let e = archive::import(&t.store, bb.layer_tar(), Compression::None, &["RUN rm -rf /".into()], "", None).unwrap_err();
    assert_eq!(e.to_string(), "RUN is not a valid change command");
    assert!(t.store.content().list().unwrap().is_empty(), "a refused change stored something");
    let e = archive::import(&t.store, &b"this is not a tar archive, not at all"[..], Compression::None, &[], "", None)
        .unwrap_err();
    assert!(matches!(e, Error::Invalid { .. } | Error::Read(_)), "{e}");
    let evil = super::tar_of(&[super::E::File("../../etc/shadow", b"x")]);
    let e = archive::import(&t.store, &evil[..], Compression::None, &[], "", None).unwrap_err();
    assert!(matches!(e, Error::BadPath { .. }), "{e}");
    assert!(t.store.images().all().is_empty());
}

#[test]
fn export_of_a_mounted_container_snapshot_has_the_busybox_files() {
    if !is_root() {
        return;
    }
    let t = TestStore::new();
    let loaded = archive::load(&t.store, &docker_archive("busybox:latest")[..]).unwrap();
    let img = t.store.images().get(&loaded[0].id).unwrap();
    let mounts = t.store.container_snapshot("ctr-export", &img).unwrap();
    let target = t.path().join("mnt");
    fs::create_dir(&target).unwrap();
    mount_all(&mounts, &target).unwrap();
    let _guard = Mounted(target.clone());
    fs::write(target.join("etc/added-by-container"), b"new").unwrap();
    fs::remove_file(target.join("bin/ls")).unwrap();

    let mut out = Vec::new();
    let stats = archive::export(&target, &mut out).unwrap();
    let files = entries_of(&out);
    assert_eq!(stats.entries as usize, files.len());
    assert!(files["bin/busybox"].len() > 100_000, "busybox binary missing or empty");
    assert_eq!(files["etc/added-by-container"], b"new");
    assert!(!files.contains_key("bin/ls"), "a deleted file was exported");
    assert!(files.contains_key("bin/sh"));
    assert!(files.keys().all(|k| !k.contains(".wh.")), "whiteouts in an export");
    // Deterministic: the same view exports the same bytes.
    let mut again = Vec::new();
    archive::export(&target, &mut again).unwrap();
    assert!(out == again);
}

#[test]
fn import_from_a_url_on_loopback() {
    use std::io::{Read, Write};
    let t = TestStore::new();
    let bb = busybox();
    let layer = bb.layer().to_vec();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut req = Vec::new();
        let mut buf = [0u8; 1024];
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => req.extend_from_slice(&buf[..n]),
            }
        }
        conn.write_all(b"HTTP/1.0 200 OK\r\nContent-Type: application/gzip\r\n\r\n").unwrap();
        conn.write_all(&layer).unwrap();
    });
    let body = archive::fetch(&format!("http://{addr}/rootfs.tar.gz")).unwrap();
    let img = archive::import(&t.store, body, Compression::Gzip, &[], "from a URL", None).unwrap();
    server.join().unwrap();
    assert_eq!(t.store.config(&img).unwrap().parsed().rootfs.diff_ids, vec![digest(bb.diff_id())]);
}
