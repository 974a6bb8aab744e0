//! `docker commit` through berthd, driven by the real docker CLI: the container's
//! additions, deletions (whiteouts) and replaced directories (opaque) in a new top
//! layer, the mount points and volume contents left out, the author, message and
//! `--change`s in the config and history; a running container paused meanwhile; the
//! new image runs and saves.

use std::process::Output;

use berth_tests::daemon::Daemon;
use serde_json::Value;

fn ok(o: Output) -> String {
    assert!(o.status.success(), "status {:?}, stderr: {}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn docker(d: &Daemon, args: &[&str]) -> Output {
    d.docker(args).expect("docker CLI")
}

/// The entries of the last layer of `image`, from `docker save`.
fn top_layer_entries(d: &Daemon, image: &str) -> Vec<String> {
    let saved = docker(d, &["save", image]);
    assert!(saved.status.success(), "{}", String::from_utf8_lossy(&saved.stderr));
    let mut files: std::collections::BTreeMap<String, Vec<u8>> = Default::default();
    let mut a = tar::Archive::new(&saved.stdout[..]);
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().display().to_string();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        files.insert(path, data);
    }
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let layers = manifest[0]["Layers"].as_array().unwrap();
    let top = layers.last().unwrap().as_str().unwrap();
    let mut names: Vec<String> = tar::Archive::new(&files[top][..]).entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect();
    names.sort();
    names
}

#[test]
fn commit_makes_a_layer_of_the_changes_with_the_config_and_history() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    let changes = "echo new > /added && rm /bin/cat && rm -rf /home && mkdir -p /home/fresh && echo x > /home/fresh/f && echo in-vol > /vol/v && ln /added /linked";
    ok(docker(&d, &["run", "--name", "changed", "-v", "/vol", "busybox", "sh", "-c", changes]));
    let id = ok(docker(&d, &["commit", "-a", "Ann <ann@example.com>", "-m", "the message", "-c", "ENV MODE=committed", "-c", "CMD [\"sh\", \"-c\", \"cat /added; echo $MODE\"]", "changed", "committed:v1"]));
    assert!(id.trim().starts_with("sha256:"), "{id}");
    // The new image runs with its changes and its new command.
    assert_eq!(ok(docker(&d, &["run", "--rm", "committed:v1"])), "new\ncommitted\n");
    let seen = ok(docker(&d, &["run", "--rm", "committed:v1", "sh", "-c", "test -e /bin/cat || echo cat-gone; ls /home; ls /vol | wc -l; stat -c %h /added"]));
    assert_eq!(seen, "cat-gone\nfresh\n0\n2\n");
    // The layer: the deletion as a whiteout, the replaced directory opaque, the
    // hard link as a link; no volume contents, no mount-point stubs.
    let entries = top_layer_entries(&d, "committed:v1");
    for want in ["added", "bin/.wh.cat", "home/.wh..wh..opq", "home/fresh/f", "linked"] {
        assert!(entries.iter().any(|e| e == want), "{want} missing from {entries:?}");
    }
    for unwanted in ["vol/v", "etc/hosts", "etc/hostname", "etc/resolv.conf"] {
        assert!(!entries.iter().any(|e| e == unwanted), "{unwanted} in {entries:?}");
    }
    let img: Value = serde_json::from_str(&ok(docker(&d, &["image", "inspect", "committed:v1"]))).unwrap();
    assert_eq!(img[0]["Author"], "Ann <ann@example.com>");
    assert_eq!(img[0]["Comment"], "the message");
    assert!(img[0]["Config"]["Env"].as_array().unwrap().iter().any(|e| e == "MODE=committed"));
    assert_eq!(img[0]["RootFS"]["Layers"].as_array().unwrap().len(), 2);
    let history = ok(docker(&d, &["history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Comment}}", "committed:v1"]));
    assert_eq!(history.lines().next().unwrap(), format!("sh -c {changes}|the message"));
    // A commit of nothing adds no layer, only a history entry.
    ok(docker(&d, &["create", "--name", "unchanged", "busybox", "true"]));
    ok(docker(&d, &["commit", "unchanged", "same:v1"]));
    let same: Value = serde_json::from_str(&ok(docker(&d, &["image", "inspect", "same:v1"]))).unwrap();
    assert_eq!(same[0]["RootFS"]["Layers"].as_array().unwrap().len(), 1);
    ok(docker(&d, &["rm", "-v", "changed", "unchanged"]));
}

#[test]
fn commit_pauses_a_running_container_unless_told_not_to() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    ok(docker(&d, &["run", "-d", "--name", "busy", "busybox", "sh", "-c", "echo running > /state; sleep 300"]));
    let start = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string();
    for _ in 0..100 {
        if docker(&d, &["exec", "busy", "test", "-e", "/state"]).status.success() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    ok(docker(&d, &["commit", "busy", "paused:v1"]));
    ok(docker(&d, &["commit", "--pause=false", "busy", "unpaused:v1"]));
    let until = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 1).to_string();
    let events = ok(docker(&d, &["events", "--since", &start, "--until", &until, "--filter", "container=busy", "--format", "{{.Action}}"]));
    let actions: Vec<&str> = events.lines().filter(|a| ["pause", "unpause", "commit"].contains(a)).collect();
    // As from dockerd: the commit is announced before the container is resumed.
    assert_eq!(actions, ["pause", "commit", "unpause", "commit"]);
    assert_eq!(ok(docker(&d, &["inspect", "-f", "{{.State.Status}}", "busy"])).trim(), "running");
    assert_eq!(ok(docker(&d, &["run", "--rm", "paused:v1", "cat", "/state"])), "running\n");
    ok(docker(&d, &["rm", "-f", "busy"]));
}

/// `image prune -a` keeps what containers use (their images, and images they mount)
/// and takes only what its filters name.
#[test]
fn image_prune_keeps_images_in_use_and_follows_its_filters() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    ok(docker(&d, &["create", "--name", "base", "busybox", "true"]));
    for (tag, label) in [("keep:v1", "LABEL tier=kept"), ("drop:v1", "LABEL tier=dropped"), ("mounted:v1", "LABEL tier=mounted")] {
        ok(docker(&d, &["commit", "-c", label, "base", tag]));
    }
    ok(docker(&d, &["create", "--name", "user", "keep:v1", "true"]));
    ok(docker(&d, &["create", "--name", "mounter", "--mount", "type=image,source=mounted:v1,target=/m", "busybox", "true"]));
    let images = |d: &Daemon| {
        let mut v: Vec<String> = ok(docker(d, &["images", "--format", "{{.Repository}}:{{.Tag}}"])).lines().map(String::from).collect();
        v.sort();
        v
    };
    ok(docker(&d, &["image", "prune", "-a", "-f", "--filter", "label=tier=dropped"]));
    assert_eq!(images(&d), ["busybox:latest", "keep:v1", "mounted:v1"]);
    ok(docker(&d, &["commit", "-c", "LABEL tier=dropped", "base", "drop:v2"]));
    ok(docker(&d, &["image", "prune", "-a", "-f", "--filter", "until=2000-01-01T00:00:00Z"]));
    assert!(images(&d).contains(&"drop:v2".to_string()), "until names images made before it");
    ok(docker(&d, &["image", "prune", "-a", "-f"]));
    assert_eq!(images(&d), ["busybox:latest", "keep:v1", "mounted:v1"]);
    ok(docker(&d, &["rm", "base", "user", "mounter"]));
}
