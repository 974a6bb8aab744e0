//! Bad input gets one clear line, a non-zero exit, and leaves nothing behind: no state
//! directory, no cgroup, no process.

use std::path::Path;

use berth_tests::require_root;
use berth_tests::runtime::{Runtime, v1_cgroup_dirs};
use serde_json::json;

#[track_caller]
fn refused(rt: &Runtime, args: &[&str], id: &str, want: &str) {
    let r = rt.run(args);
    assert_eq!(r.code, Some(1), "{args:?} was accepted: {}", r.stdout);
    assert_eq!(r.stderr.lines().count(), 1, "not one line: {}", r.stderr);
    assert!(r.stderr.starts_with("berth-runtime: "), "{}", r.stderr);
    assert!(r.stderr.contains(want), "{:?} lacks {want:?}", r.stderr);
    assert!(!rt.root.path().join(id).exists() || id.is_empty(), "state left for {id}");
    if !id.is_empty() {
        for d in v1_cgroup_dirs(id) {
            assert!(!d.exists(), "cgroup {} left behind", d.display());
        }
    }
}

fn create<'a>(bundle: &'a str, id: &'a str) -> Vec<&'a str> {
    vec!["create", "--bundle", bundle, id]
}

#[test]
fn config_problems() {
    require_root!();
    let rt = Runtime::new();
    let b = rt.bundle(&["true"], |_| {});
    let dir = b.dir.to_str().unwrap();

    std::fs::remove_file(b.dir.join("config.json")).unwrap();
    refused(&rt, &create(dir, &b.id), &b.id, "config.json not found");

    std::fs::write(b.dir.join("config.json"), "{ not json").unwrap();
    refused(&rt, &create(dir, &b.id), &b.id, "invalid config");

    let write = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut spec = fixture::default_spec(&["true"]);
        edit(&mut spec);
        fixture::write_config(&b.dir, &spec).unwrap();
    };
    write(&|s| s["root"]["path"] = "no-such-rootfs".into());
    refused(&rt, &create(dir, &b.id), &b.id, "is not a directory");

    write(&|s| s["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "bogus"})));
    refused(&rt, &create(dir, &b.id), &b.id, "bogus");

    write(&|s| s["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "pid"})));
    refused(&rt, &create(dir, &b.id), &b.id, "listed twice");

    write(&|s| s["mounts"].as_array_mut().unwrap().push(json!({"destination": "/../../etc", "type": "tmpfs", "source": "tmpfs"})));
    refused(&rt, &create(dir, &b.id), &b.id, "escapes the container's root filesystem");

    write(&|s| s["process"]["args"] = json!(["/no/such/binary"]));
    refused(&rt, &create(dir, &b.id), &b.id, "no such file or directory");

    write(&|s| s["process"]["args"] = json!(["not-on-path"]));
    refused(&rt, &create(dir, &b.id), &b.id, "executable file not found in $PATH");

    write(&|s| s["linux"]["resources"] = json!({"memory": {"limit": 12345678}, "cpu": {"cpus": "999"}}));
    refused(&rt, &create(dir, &b.id), &b.id, "cpuset");

    assert!(rt.run(&["list", "-q"]).stdout.is_empty());
}

#[test]
fn ids_and_states() {
    require_root!();
    let rt = Runtime::new();
    let b = rt.bundle(&["sleep", "100"], |_| {});
    let dir = b.dir.to_str().unwrap();
    refused(&rt, &create(dir, "../escape"), "", "invalid container id");
    refused(&rt, &create(dir, "has space"), "", "invalid container id");
    assert!(!rt.root.path().parent().unwrap().join("escape").exists());

    rt.create(&b);
    let r = rt.run(&create(dir, &b.id));
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("already exists"), "{}", r.stderr);
    // The refused duplicate did not disturb the first.
    assert_eq!(rt.state(&b.id)["status"], "created");

    refused(&rt, &["state", "nope"], "nope", "does not exist");
    refused(&rt, &["kill", "nope"], "nope", "does not exist");
    refused(&rt, &["kill", &b.id, "NOSUCHSIG"], "", "unknown signal");
    rt.run(&["delete", &b.id]).ok();
    assert!(!Path::new(&rt.root.path().join(&b.id)).exists());
}
