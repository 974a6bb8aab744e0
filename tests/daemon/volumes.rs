//! Volumes through berthd, driven by the real docker CLI: named volumes made, listed,
//! inspected, shared and removed; anonymous ones for `-v /path` and an image's
//! `VOLUME`, gone with `rm -v` and `--rm`; the image's content copied into a new
//! volume; data kept across container removal and daemon restarts.

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

fn names(d: &Daemon, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["volume", "ls", "-q"];
    args.extend_from_slice(extra);
    let mut v: Vec<String> = ok(docker(d, &args)).lines().map(String::from).collect();
    v.sort();
    v
}

/// A named volume: made with labels, listed and inspected as Docker shows it, its
/// data kept across containers (two at once, one read-only) and a daemon restart,
/// refused removal while in use, then removed.
#[test]
fn named_volumes_keep_data_across_containers_and_restarts() {
    berth_tests::require_root!();
    let Some(mut d) = Daemon::with_busybox_for_docker() else { return };
    assert_eq!(ok(docker(&d, &["volume", "create", "--label", "app=web", "data"])).trim(), "data");
    assert_eq!(names(&d, &[]), ["data"]);
    assert_eq!(names(&d, &["--filter", "label=app=web"]), ["data"]);
    assert!(names(&d, &["--filter", "label=app=db"]).is_empty());
    let v: Value = serde_json::from_str(&ok(docker(&d, &["volume", "inspect", "data"]))).unwrap();
    let data_root = d.dir.path().join("data");
    assert_eq!(v[0]["Mountpoint"], data_root.join("volumes/data/_data").display().to_string());
    assert_eq!((v[0]["Driver"].as_str(), v[0]["Scope"].as_str()), (Some("local"), Some("local")));
    assert_eq!(v[0]["Labels"]["app"], "web");
    ok(docker(&d, &["run", "--rm", "-v", "data:/d", "busybox", "sh", "-c", "echo kept > /d/f"]));
    assert_eq!(ok(docker(&d, &["run", "--rm", "-v", "data:/d", "busybox", "cat", "/d/f"])), "kept\n");
    // Its usage, as `system df -v` shows it: no container on it, 5 bytes.
    let df = ok(docker(&d, &["system", "df", "-v", "--format", "{{range .Volumes}}{{.Name}} {{.Links}} {{.Size}}{{end}}"]));
    assert_eq!(df.trim(), "data 0 5B");
    // Two containers at once: one writes, the other (read-only) sees it and cannot write.
    ok(docker(&d, &["run", "-d", "--name", "writer", "-v", "data:/d", "busybox", "sh", "-c", "echo live > /d/g; sleep 60"]));
    let read = ok(docker(&d, &["run", "--rm", "-v", "data:/d:ro", "busybox", "sh", "-c", "for i in $(seq 50); do [ -s /d/g ] && break; sleep 0.1; done; cat /d/g; touch /d/h 2>/dev/null || echo refused"]));
    assert_eq!(read, "live\nrefused\n");
    let mounts: Value = serde_json::from_str(&ok(docker(&d, &["inspect", "-f", "{{json .Mounts}}", "writer"]))).unwrap();
    assert_eq!(
        mounts,
        serde_json::json!([{"Type": "volume", "Name": "data", "Source": data_root.join("volumes/data/_data").display().to_string(),
            "Destination": "/d", "Driver": "local", "Mode": "", "RW": true, "Propagation": ""}])
    );
    assert_eq!(names(&d, &["--filter", "dangling=false"]), ["data"]);
    // In use: refused, with Docker's words.
    let id = ok(docker(&d, &["inspect", "-f", "{{.Id}}", "writer"])).trim().to_string();
    let o = docker(&d, &["volume", "rm", "data"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains(&format!("remove data: volume is in use - [{id}]")), "{err}");
    ok(docker(&d, &["rm", "-f", "writer"]));
    // Kept across a restart of the daemon.
    d.restart();
    assert_eq!(ok(docker(&d, &["run", "--rm", "-v", "data:/d", "busybox", "cat", "/d/f", "/d/g"])), "kept\nlive\n");
    assert_eq!(names(&d, &["--filter", "dangling=true"]), ["data"]);
    ok(docker(&d, &["volume", "rm", "data"]));
    assert!(names(&d, &[]).is_empty());
    assert!(!data_root.join("volumes/data").exists());
    // Bad names and missing volumes, in Docker's words.
    let o = docker(&d, &["volume", "create", "bad/name"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("invalid characters"), "{o:?}");
    let o = docker(&d, &["volume", "inspect", "nosuch"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("no such volume"), "{o:?}");
}

/// A new volume mounted over the image's content is filled with it (not with
/// `nocopy`); a volume that holds data is left as it is.
#[test]
fn a_new_volume_is_filled_with_the_images_content() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    let passwd = ok(docker(&d, &["run", "--rm", "busybox", "cat", "/etc/passwd"]));
    assert_eq!(ok(docker(&d, &["run", "--rm", "-v", "etc:/etc", "busybox", "cat", "/etc/passwd"])), passwd);
    // Changed in the volume: kept, not filled again.
    ok(docker(&d, &["run", "--rm", "-v", "etc:/etc", "busybox", "sh", "-c", "echo mine > /etc/passwd"]));
    assert_eq!(ok(docker(&d, &["run", "--rm", "-v", "etc:/etc", "busybox", "cat", "/etc/passwd"])), "mine\n");
    assert_eq!(ok(docker(&d, &["run", "--rm", "-v", "bare:/etc:nocopy", "busybox", "ls", "-A", "/etc"])), "");
    let mount = "type=volume,source=bare2,target=/etc,volume-nocopy";
    assert_eq!(ok(docker(&d, &["run", "--rm", "--mount", mount, "busybox", "ls", "-A", "/etc"])), "");
    assert_eq!(ok(docker(&d, &["run", "--rm", "--mount", "type=volume,source=full,target=/etc", "busybox", "cat", "/etc/passwd"])), passwd);
}

/// Anonymous volumes: for `-v /path` and for the image's `VOLUME`s; kept by a plain
/// `rm`, removed by `rm -v` and with `--rm`; `volume prune` takes the unused
/// anonymous ones and leaves named ones alone.
#[test]
fn anonymous_volumes_go_with_rm_v_and_prune() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    let anon_of = |name: &str| -> String {
        let mounts: Value = serde_json::from_str(&ok(docker(&d, &["inspect", "-f", "{{json .Mounts}}", name]))).unwrap();
        let m = &mounts[0];
        assert_eq!((m["Type"].as_str(), m["Driver"].as_str()), (Some("volume"), Some("local")), "{mounts}");
        let n = m["Name"].as_str().unwrap().to_string();
        assert!(n.len() == 64 && n.chars().all(|c| c.is_ascii_hexdigit()), "{n}");
        n
    };
    ok(docker(&d, &["run", "-d", "--name", "a1", "-v", "/scratch", "busybox", "sleep", "60"]));
    let a1 = anon_of("a1");
    ok(docker(&d, &["run", "-d", "--name", "a2", "-v", "/scratch", "busybox", "sleep", "60"]));
    let a2 = anon_of("a2");
    ok(docker(&d, &["volume", "create", "named"]));
    ok(docker(&d, &["rm", "-fv", "a1"]));
    ok(docker(&d, &["rm", "-f", "a2"]));
    let left = names(&d, &[]);
    assert!(!left.contains(&a1) && left.contains(&a2) && left.contains(&"named".to_string()), "{left:?}");
    ok(docker(&d, &["volume", "prune", "-f"]));
    assert_eq!(names(&d, &[]), ["named"]);
    // With --rm, its anonymous volume goes with it.
    ok(docker(&d, &["run", "--rm", "-v", "/scratch", "busybox", "true"]));
    assert_eq!(names(&d, &[]), ["named"]);
    // An image's VOLUME: an anonymous volume, filled from the image.
    let exported = d.dir.path().join("rootfs.tar");
    ok(docker(&d, &["create", "--name", "src", "busybox"]));
    ok(docker(&d, &["export", "-o", exported.to_str().unwrap(), "src"]));
    ok(docker(&d, &["import", "-c", "VOLUME /etc", "-c", "CMD [\"sh\"]", exported.to_str().unwrap(), "withvol:1"]));
    ok(docker(&d, &["run", "-d", "--name", "v1", "withvol:1", "sleep", "60"]));
    let v1 = anon_of("v1");
    assert!(ok(docker(&d, &["exec", "v1", "cat", "/etc/passwd"])).contains("root"));
    // A bind over the image's VOLUME path takes its place: no volume is made.
    let host = tempfile::tempdir().unwrap();
    ok(docker(&d, &["run", "--rm", "-v", &format!("{}:/etc", host.path().display()), "withvol:1", "true"]));
    ok(docker(&d, &["rm", "-fv", "v1", "src"]));
    assert!(!names(&d, &[]).contains(&v1));
    assert_eq!(names(&d, &[]), ["named"]);
    ok(docker(&d, &["volume", "prune", "-af"]));
    assert!(names(&d, &[]).is_empty());
}

/// `--volumes-from`: another container's volumes, named and anonymous, mounted where
/// it mounts them, read-only when asked; its anonymous volume stays while a
/// container still mounts it.
#[test]
fn volumes_from_mounts_another_containers_volumes() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    ok(docker(&d, &["run", "-d", "--name", "src1", "-v", "shared:/data", "-v", "/anon", "busybox", "sh", "-c", "echo hi > /data/f; echo a > /anon/g; sleep 60"]));
    let script = "for i in $(seq 50); do [ -s /anon/g ] && break; sleep 0.1; done; cat /data/f /anon/g";
    assert_eq!(ok(docker(&d, &["run", "--rm", "--volumes-from", "src1", "busybox", "sh", "-c", script])), "hi\na\n");
    let refused = ok(docker(&d, &["run", "--rm", "--volumes-from", "src1:ro", "busybox", "sh", "-c", "touch /data/x 2>/dev/null || echo refused"]));
    assert_eq!(refused, "refused\n");
    ok(docker(&d, &["create", "--name", "heir", "--volumes-from", "src1", "busybox", "true"]));
    let mounts: Value = serde_json::from_str(&ok(docker(&d, &["inspect", "-f", "{{json .Mounts}}", "heir"]))).unwrap();
    let mut kinds: Vec<(String, String)> =
        mounts.as_array().unwrap().iter().map(|m| (m["Destination"].as_str().unwrap().to_string(), m["Type"].as_str().unwrap().to_string())).collect();
    kinds.sort();
    assert_eq!(kinds, [("/anon".to_string(), "volume".to_string()), ("/data".to_string(), "volume".to_string())]);
    for (from, want) in [("src1:rx", "invalid mode: rx"), ("nosuch", "No such container: nosuch")] {
        let o = docker(&d, &["create", "--volumes-from", from, "busybox", "true"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(want), "{from}: {err}");
    }
    // The anonymous volume is the heir's too: kept when its first owner goes with -v.
    let anon = ok(docker(&d, &["inspect", "-f", "{{range .Mounts}}{{if eq .Destination \"/anon\"}}{{.Name}}{{end}}{{end}}", "src1"])).trim().to_string();
    ok(docker(&d, &["rm", "-fv", "src1"]));
    assert!(names(&d, &[]).contains(&anon));
    ok(docker(&d, &["rm", "-v", "heir"]));
    assert_eq!(names(&d, &[]), ["shared"]);
}

/// Whether `path` is a mount point on the host.
fn host_mounted(path: &std::path::Path) -> bool {
    let want = path.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo").unwrap().lines().any(|l| l.split(' ').nth(4) == Some(want.as_str()))
}

/// The local driver's mount options: a tmpfs volume mounted while containers use it
/// (two at once share it; the last to stop unmounts it; a daemon restart in between
/// keeps it), a bind of a host directory, and Docker's refusals.
#[test]
fn volumes_with_mount_options_are_mounted_while_used() {
    berth_tests::require_root!();
    let Some(mut d) = Daemon::with_busybox_for_docker() else { return };
    let data = d.dir.path().join("data/volumes/scratch/_data");
    ok(docker(&d, &["volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", "o=size=1m,uid=7", "scratch"]));
    let v: Value = serde_json::from_str(&ok(docker(&d, &["volume", "inspect", "scratch"]))).unwrap();
    assert_eq!(v[0]["Options"], serde_json::json!({"type": "tmpfs", "device": "tmpfs", "o": "size=1m,uid=7"}));
    assert!(!host_mounted(&data), "mounted before any container uses it");
    ok(docker(&d, &["run", "-d", "--name", "one", "-v", "scratch:/s", "busybox", "sleep", "300"]));
    ok(docker(&d, &["run", "-d", "--name", "two", "-v", "scratch:/s", "busybox", "sleep", "300"]));
    ok(docker(&d, &["exec", "one", "sh", "-c", "echo shared > /s/f"]));
    assert_eq!(ok(docker(&d, &["exec", "two", "cat", "/s/f"])), "shared\n");
    let fs = ok(docker(&d, &["exec", "two", "stat", "-f", "-c", "%T", "/s"]));
    assert_eq!(fs.trim(), "tmpfs");
    assert_eq!(ok(docker(&d, &["exec", "two", "stat", "-c", "%u", "/s"])).trim(), "7");
    assert!(host_mounted(&data));
    // The daemon restarts under them: still mounted, still held.
    d.restart();
    assert!(host_mounted(&data));
    ok(docker(&d, &["rm", "-f", "one"]));
    assert!(host_mounted(&data), "unmounted while another container uses it");
    assert_eq!(ok(docker(&d, &["exec", "two", "cat", "/s/f"])), "shared\n");
    ok(docker(&d, &["rm", "-f", "two"]));
    assert!(!host_mounted(&data), "still mounted after its last container");
    // A fresh tmpfs at the next use: what the last one wrote is gone with it.
    assert_eq!(ok(docker(&d, &["run", "--rm", "-v", "scratch:/s", "busybox", "ls", "/s"])), "");

    // A bind of a host directory through the options.
    let host = tempfile::tempdir().unwrap();
    let device = format!("device={}", host.path().display());
    ok(docker(&d, &["volume", "create", "--opt", "type=none", "--opt", "o=bind", "--opt", &device, "hostdir"]));
    ok(docker(&d, &["run", "--rm", "-v", "hostdir:/h", "busybox", "sh", "-c", "echo through > /h/g"]));
    assert_eq!(std::fs::read_to_string(host.path().join("g")).unwrap(), "through\n");

    // Refusals, in the local driver's words.
    let err = |args: &[&str]| {
        let o = docker(&d, args);
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    assert!(err(&["volume", "create", "--opt", "type=tmpfs", "half"]).contains("missing required option: \"device\""));
    assert!(err(&["volume", "create", "--opt", "size=1m", "sized"]).contains("invalid option key: \"size\""));
    ok(docker(&d, &["volume", "create", "--opt", "type=ext4", "--opt", "device=/dev/berth-no-such-device", "broken"]));
    let e = err(&["run", "--rm", "-v", "broken:/b", "busybox", "true"]);
    assert!(e.contains("error while mounting volume") && e.contains("failed to mount local volume"), "{e}");
    assert!(!host_mounted(&d.dir.path().join("data/volumes/broken/_data")));
}

/// `volume-subpath`: a directory inside a volume mounted instead of its root; one
/// that would lead out of the volume (through a symlink a container planted, or by
/// its own `..`) refused, as a missing one and one on an anonymous volume are.
#[test]
fn volume_subpath_mounts_a_part_of_the_volume_and_never_leaves_it() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    ok(docker(&d, &["run", "--rm", "-v", "data:/v", "busybox", "sh", "-c", "mkdir -p /v/sub/dir && echo part > /v/sub/dir/f && ln -s /etc /v/esc && ln -s ../.. /v/sub/up"]));
    let sub = "type=volume,src=data,dst=/x,volume-subpath=sub/dir";
    assert_eq!(ok(docker(&d, &["run", "--rm", "--mount", sub, "busybox", "ls", "/x"])), "f\n");
    // Writes land in that part of the volume; cp reaches it in a stopped container.
    ok(docker(&d, &["create", "--name", "parted", "--mount", sub, "busybox", "true"]));
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("g"), "copied\n").unwrap();
    ok(docker(&d, &["cp", &host.path().join("g").display().to_string(), "parted:/x/"]));
    assert_eq!(ok(docker(&d, &["run", "--rm", "-v", "data:/v", "busybox", "cat", "/v/sub/dir/g"])), "copied\n");
    ok(docker(&d, &["rm", "parted"]));
    let fails = |args: &[&str]| {
        let o = docker(&d, args);
        assert!(!o.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    for escaping in ["esc", "sub/up", "sub/up/etc"] {
        let m = format!("type=volume,src=data,dst=/x,volume-subpath={escaping}");
        let e = fails(&["run", "--rm", "--mount", &m, "busybox", "ls", "/x"]);
        assert!(e.contains("escapes the base directory"), "{escaping}: {e}");
    }
    for bad in ["/abs", "../out", "a/../../b"] {
        let m = format!("type=volume,src=data,dst=/x,volume-subpath={bad}");
        let e = fails(&["create", "--mount", &m, "busybox", "true"]);
        assert!(e.contains("invalid mount config for type \"volume\": subpath must be a relative path within the volume"), "{bad}: {e}");
    }
    let e = fails(&["create", "--mount", "type=volume,dst=/x,volume-subpath=a", "busybox", "true"]);
    assert!(e.contains("must not set Subpath when using anonymous volumes"), "{e}");
    let e = fails(&["run", "--rm", "--mount", "type=volume,src=data,dst=/x,volume-subpath=missing", "busybox", "true"]);
    assert!(e.contains("cannot access path"), "{e}");
}

/// `--mount type=image` (Docker 28): an image's filesystem, read-only, whole or a
/// subpath of it; shown in inspect as Docker shows it; a missing image refused.
#[test]
fn image_mounts_show_an_images_files_read_only() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    // An image of its own to mount: busybox with a marker committed on top.
    ok(docker(&d, &["run", "--name", "maker", "busybox", "sh", "-c", "mkdir -p /data && echo from-image > /data/marker"]));
    ok(docker(&d, &["commit", "maker", "content:v1"]));
    ok(docker(&d, &["rm", "maker"]));
    let seen = ok(docker(&d, &["run", "--rm", "--mount", "type=image,source=content:v1,target=/img", "busybox", "sh", "-c", "cat /img/data/marker; touch /img/x 2>/dev/null || echo read-only"]));
    assert_eq!(seen, "from-image\nread-only\n");
    let seen = ok(docker(&d, &["run", "--rm", "--mount", "type=image,source=content:v1,target=/img,image-subpath=data", "busybox", "ls", "/img"]));
    assert_eq!(seen, "marker\n");
    ok(docker(&d, &["create", "--name", "shown", "--mount", "type=image,source=content:v1,target=/img", "busybox", "true"]));
    let mounts: Value = serde_json::from_str(&ok(docker(&d, &["inspect", "-f", "{{json .Mounts}}", "shown"]))).unwrap();
    assert_eq!(mounts, serde_json::json!([{"Type": "image", "Source": "content:v1", "Destination": "/img", "Mode": "", "RW": false, "Propagation": "rprivate"}]));
    // Started and stopped again: nothing of its mounts stays behind.
    ok(docker(&d, &["start", "-a", "shown"]));
    ok(docker(&d, &["rm", "shown"]));
    let root = d.dir.path().display().to_string();
    let left: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo").unwrap().lines().filter(|l| l.contains(&root) && l.contains("/image-")).map(String::from).collect();
    assert!(left.is_empty(), "{left:?}");
    let o = docker(&d, &["create", "--mount", "type=image,source=no-such-image,target=/img", "busybox", "true"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("No such image: no-such-image"));
    let o = docker(&d, &["create", "--mount", "type=image,source=content:v1,target=/img,image-subpath=../up", "busybox", "true"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("subpath must be a relative path"), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `--volumes-from` brings the other container's host binds too, where it binds them
/// and read-only when asked; what the new container mounts there itself wins.
#[test]
fn volumes_from_brings_host_binds() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("f"), "bound\n").unwrap();
    let bind = format!("{}:/h", host.path().display());
    ok(docker(&d, &["create", "--name", "src", "-v", &bind, "busybox", "true"]));
    let seen = ok(docker(&d, &["run", "--rm", "--volumes-from", "src:ro", "busybox", "sh", "-c", "cat /h/f; touch /h/g 2>/dev/null || echo refused"]));
    assert_eq!(seen, "bound\nrefused\n");
    ok(docker(&d, &["run", "--rm", "--volumes-from", "src", "busybox", "touch", "/h/g"]));
    assert!(host.path().join("g").exists());
    ok(docker(&d, &["create", "--name", "heir", "--volumes-from", "src:ro", "busybox", "true"]));
    let mounts: Value = serde_json::from_str(&ok(docker(&d, &["inspect", "-f", "{{json .Mounts}}", "heir"]))).unwrap();
    assert_eq!(mounts[0]["Type"], "bind");
    assert_eq!(mounts[0]["Source"], host.path().display().to_string());
    assert_eq!((mounts[0]["Destination"].as_str(), mounts[0]["RW"].as_bool()), (Some("/h"), Some(false)));
    // The container's own tmpfs at the same path wins.
    let fs = ok(docker(&d, &["run", "--rm", "--volumes-from", "src", "--tmpfs", "/h", "busybox", "ls", "/h"]));
    assert_eq!(fs, "");
    ok(docker(&d, &["rm", "src", "heir"]));
}

/// A kill -9 of berthd while a container writes into a volume: the container keeps
/// running and writing through it, and every line it wrote is there afterwards, in
/// order, before and after the daemon came back.
#[test]
fn a_volume_keeps_every_write_across_a_kill_9_of_berthd() {
    berth_tests::require_root!();
    let Some(mut d) = Daemon::with_busybox_for_docker() else { return };
    let writer = "i=0; while true; do echo $i >> /d/log; i=$((i + 1)); sleep 0.01; done";
    ok(docker(&d, &["run", "-d", "--name", "writer", "-v", "kept:/d", "busybox", "sh", "-c", writer]));
    let lines = |d: &Daemon| ok(docker(d, &["exec", "writer", "wc", "-l", "/d/log"])).split_whitespace().next().unwrap_or("0").parse::<u64>().unwrap();
    for _ in 0..100 {
        if docker(&d, &["exec", "writer", "test", "-s", "/d/log"]).status.success() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let before = lines(&d);
    d.kill9_and_restart();
    assert_eq!(ok(docker(&d, &["inspect", "-f", "{{.State.Running}}", "writer"])).trim(), "true");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let after = lines(&d);
    assert!(after > before, "the container stopped writing: {before} lines, then {after}");
    ok(docker(&d, &["rm", "-f", "writer"]));
    let log = ok(docker(&d, &["run", "--rm", "-v", "kept:/d", "busybox", "cat", "/d/log"]));
    let numbers: Vec<u64> = log.lines().map(|l| l.parse().unwrap()).collect();
    assert!(numbers.len() as u64 >= after);
    assert!(numbers.iter().enumerate().all(|(i, n)| *n == i as u64), "a write was lost or reordered");
}
