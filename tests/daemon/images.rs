//! Images through the API with the real docker CLI: load, images, inspect, history,
//! tag, rmi, save.

use berth_tests::daemon::Daemon;

fn ok(out: std::process::Output) -> String {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn load_list_inspect_tag_remove_and_save_with_the_docker_cli() {
    let d = Daemon::start();
    let archive = d.dir.path().join("busybox.tar");
    fixture::write_docker_archive(&archive, "busybox:latest").unwrap();
    let image = fixture::Image::busybox().unwrap();
    let Some(out) = d.docker(&["load", "-i", archive.to_str().unwrap()]) else {
        berth_tests::skip("no docker CLI");
        return;
    };
    assert_eq!(ok(out).trim(), "Loaded image: busybox:latest");

    let listed = ok(d.docker(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]).unwrap());
    let short = &image.config_digest().trim_start_matches("sha256:")[..12];
    assert_eq!(listed.trim(), format!("busybox:latest {short}"));
    let id = ok(d.docker(&["image", "inspect", "busybox", "--format", "{{.Id}} {{.Os}} {{index .Config.Cmd 0}}"]).unwrap());
    assert_eq!(id.trim(), format!("{} linux sh", image.config_digest()));
    let history = ok(d.docker(&["history", "--format", "{{.ID}}", "busybox"]).unwrap());
    assert!(history.lines().next().unwrap().starts_with(short), "{history}");

    ok(d.docker(&["tag", "busybox", "mine/bb:1"]).unwrap());
    let listed = ok(d.docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"]).unwrap());
    let mut tags: Vec<&str> = listed.lines().collect();
    tags.sort();
    assert_eq!(tags, ["busybox:latest", "mine/bb:1"]);
    // Removing one of two tags only untags.
    assert_eq!(ok(d.docker(&["rmi", "mine/bb:1"]).unwrap()).trim(), "Untagged: mine/bb:1");
    let junk = d.dir.path().join("junk.tar");
    std::fs::write(&junk, vec![7u8; 3 << 20]).unwrap();
    // The error comes in the answer's message stream, as dockerd sends it.
    let out = d.docker(&["load", "-i", junk.to_str().unwrap()]).unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("reading the archive"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = d.docker(&["rmi", "nosuch:image"]).unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("No such image"), "{}", String::from_utf8_lossy(&out.stderr));

    // save | load round trip keeps the id.
    let saved = d.dir.path().join("saved.tar");
    ok(d.docker(&["save", "-o", saved.to_str().unwrap(), "busybox"]).unwrap());
    let rmi = ok(d.docker(&["rmi", "busybox"]).unwrap());
    assert!(rmi.contains("Untagged: busybox:latest") && rmi.contains("Deleted: sha256:"), "{rmi}");
    assert!(ok(d.docker(&["images", "-q"]).unwrap()).trim().is_empty());
    assert_eq!(ok(d.docker(&["load", "-i", saved.to_str().unwrap()]).unwrap()).trim(), "Loaded image: busybox:latest");
    let again = ok(d.docker(&["image", "inspect", "busybox", "--format", "{{.Id}}"]).unwrap());
    assert_eq!(again.trim(), image.config_digest());
    // A plain prune keeps tagged images; `prune -a` removes every unused one.
    ok(d.docker(&["image", "prune", "-f"]).unwrap());
    assert!(!ok(d.docker(&["images", "-q"]).unwrap()).trim().is_empty());
    ok(d.docker(&["image", "prune", "-a", "-f"]).unwrap());
    assert!(ok(d.docker(&["images", "-q"]).unwrap()).trim().is_empty());
}

#[test]
fn import_a_rootfs_with_changes_and_a_message() {
    let d = Daemon::start();
    let rootfs = d.dir.path().join("rootfs.tar");
    std::fs::write(&rootfs, fixture::Image::busybox().unwrap().layer_tar()).unwrap();
    let Some(out) = d.docker(&["import", "--change", "CMD [\"sh\"]", "--change", "ENV A=b", "-m", "hello", rootfs.to_str().unwrap(), "imported:1"]) else {
        berth_tests::skip("no docker CLI");
        return;
    };
    let id = ok(out);
    assert!(id.trim().starts_with("sha256:"), "{id}");
    let cfg = ok(d.docker(&["image", "inspect", "imported:1", "--format", "{{.Id}} {{json .Config.Cmd}} {{json .Config.Env}}"]).unwrap());
    assert_eq!(cfg.trim(), format!("{} [\"sh\"] [\"A=b\"]", id.trim()));
    let comment = ok(d.docker(&["history", "--format", "{{.Comment}}", "imported:1"]).unwrap());
    assert_eq!(comment.trim(), "hello");
    let out = d.docker(&["import", "--change", "BOGUS x", rootfs.to_str().unwrap()]).unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a valid change command"), "{}", String::from_utf8_lossy(&out.stderr));
}
