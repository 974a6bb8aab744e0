//! `docker cp` through berthd, driven by the real docker CLI: files, directories and
//! symlinks copied out of and into running and stopped containers, with Docker's
//! rules for a trailing `/` and `/.`, `-L`, `-a` and `-` (a tar on stdin or stdout);
//! writes into volumes; read-only refusals in Docker's words; and symlinks the
//! container made, aimed at the host, that never lead out of the container.

use std::path::Path;
use std::process::Output;

use berth_tests::daemon::Daemon;

fn ok(o: Output) -> String {
    assert!(o.status.success(), "status {:?}, stderr: {}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn docker(d: &Daemon, args: &[&str]) -> Output {
    d.docker(args).expect("docker CLI")
}

fn fails(o: Output) -> String {
    assert!(!o.status.success(), "succeeded: {}", String::from_utf8_lossy(&o.stdout));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// The entry names of a tar stream, in order.
fn entries(tar: &[u8]) -> Vec<String> {
    let mut a = tar::Archive::new(tar);
    a.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect()
}

/// A running container and a stopped one, each with a tree of files, a symlink and
/// a volume: copied out with each form of source path, and into each.
#[test]
fn cp_copies_files_directories_and_symlinks_both_ways() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    let tree = "mkdir -p /d/sub && echo one > /d/sub/f && echo two > /d/g && ln -s sub /d/link && chown 7:8 /d/g && chmod 640 /d/g && echo in-vol > /vol/v";
    for (name, running) in [("live", true), ("stopped", false)] {
        let check = "cat /d/host-file /d/renamed /vol/host-dir/inner/h /d/streamed; stat -c '%u:%g %a' /d/streamed";
        // The stopped one shows what was copied in when it starts again.
        let script = match running {
            true => format!("{tree}; sleep 300"),
            false => format!("if [ -e /d/host-file ]; then {check}; else {tree}; fi"),
        };
        ok(docker(&d, &["run", "-d", "--name", name, "-v", "/vol", "busybox", "sh", "-c", &script]));
        if running {
            // The tree is there once the volume's file is.
            for _ in 0..100 {
                if docker(&d, &["exec", name, "cat", "/vol/v"]).status.success() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        } else {
            ok(docker(&d, &["wait", name]));
        }
        let out = tempfile::tempdir().unwrap();
        let o = |p: &str| out.path().join(p);
        let dest = |p: &str| o(p).display().to_string();
        // A file to a new name, a directory into an existing directory, a directory's
        // contents (`/.`) into a new one.
        ok(docker(&d, &["cp", &format!("{name}:/d/sub/f"), &dest("copied")]));
        assert_eq!(read(&o("copied")), "one\n");
        std::fs::create_dir(o("into")).unwrap();
        ok(docker(&d, &["cp", &format!("{name}:/d"), &dest("into")]));
        assert_eq!(read(&o("into/d/sub/f")), "one\n");
        assert_eq!(read(&o("into/d/g")), "two\n");
        ok(docker(&d, &["cp", &format!("{name}:/d/."), &dest("contents")]));
        assert_eq!(read(&o("contents/sub/f")), "one\n");
        // A symlink is copied as a link; with -L, what it leads to.
        assert_eq!(std::fs::read_link(o("into/d/link")).unwrap(), Path::new("sub"));
        ok(docker(&d, &["cp", &format!("{name}:/d/link"), &dest("link")]));
        assert_eq!(std::fs::read_link(o("link")).unwrap(), Path::new("sub"));
        ok(docker(&d, &["cp", "-L", &format!("{name}:/d/link"), &dest("followed")]));
        assert_eq!(read(&o("followed/f")), "one\n");
        // Out of the volume.
        ok(docker(&d, &["cp", &format!("{name}:/vol/v"), &dest("v")]));
        assert_eq!(read(&o("v")), "in-vol\n");
        // `-` is the tar itself, named after the path's last element.
        let tar = docker(&d, &["cp", &format!("{name}:/d/"), "-"]);
        assert!(tar.status.success(), "{}", String::from_utf8_lossy(&tar.stderr));
        let mut names = entries(&tar.stdout);
        names.sort();
        assert_eq!(names, ["d/", "d/g", "d/link", "d/sub/", "d/sub/f"]);
        let mut a = tar::Archive::new(&tar.stdout[..]);
        let g = a.entries().unwrap().map(|e| e.unwrap()).find(|e| e.path().unwrap() == Path::new("d/g")).unwrap();
        assert_eq!((g.header().uid().unwrap(), g.header().gid().unwrap(), g.header().mode().unwrap()), (7, 8, 0o640));
        // `/` names its entries from the root, as Docker's does.
        if running {
            let root = docker(&d, &["cp", &format!("{name}:/"), "-"]);
            let names = entries(&root.stdout);
            assert!(names.iter().any(|n| n == "/d/sub/f"), "{:?}", &names[..names.len().min(5)]);
        }
        // Missing: Docker's words.
        let err = fails(docker(&d, &["cp", &format!("{name}:/nope"), &dest("x")]));
        assert!(err.contains(&format!("Could not find the file /nope in container {name}")), "{err}");

        // Into the container: a file into a directory, a file to a new name, a
        // directory into the volume, a tar on stdin.
        std::fs::write(o("host-file"), "from host\n").unwrap();
        std::fs::create_dir_all(o("host-dir/inner")).unwrap();
        std::fs::write(o("host-dir/inner/h"), "deep\n").unwrap();
        ok(docker(&d, &["cp", &dest("host-file"), &format!("{name}:/d/")]));
        ok(docker(&d, &["cp", &dest("host-file"), &format!("{name}:/d/renamed")]));
        ok(docker(&d, &["cp", &dest("host-dir"), &format!("{name}:/vol/")]));
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(6);
        h.set_mode(0o600);
        h.set_uid(1234);
        h.set_gid(99);
        b.append_data(&mut h, "streamed", &b"stdin\n"[..]).unwrap();
        let stream = b.into_inner().unwrap();
        ok(d.docker_with_input(&["cp", "-", &format!("{name}:/d")], &stream).unwrap());
        let seen = match running {
            true => ok(docker(&d, &["exec", name, "sh", "-c", check])),
            false => ok(docker(&d, &["start", "-a", name])),
        };
        assert_eq!(seen, "from host\nfrom host\ndeep\nstdin\n1234:99 600\n");
        // Refused before the upload is read: the client still reads the answer.
        let big = vec![b'x'; 4 << 20];
        std::fs::write(o("big"), &big).unwrap();
        let err = fails(docker(&d, &["cp", &dest("big"), "nosuch:/tmp/big"]));
        assert!(err.contains("No such container: nosuch"), "{err}");
        // Not a directory to extract into; a missing one.
        let err = fails(d.docker_with_input(&["cp", "-", &format!("{name}:/d/g")], &stream).unwrap());
        assert!(err.contains("must be a directory") || err.contains("extraction point is not a directory"), "{err}");
        ok(docker(&d, &["rm", "-f", "-v", name]));
    }
}

/// Docker's refusals: a write outside any volume of a read-only rootfs, a write into
/// a read-only volume; and `-a` gives the files to the container's user.
#[test]
fn cp_refuses_read_only_targets_and_archive_mode_takes_the_user() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    let out = tempfile::tempdir().unwrap();
    let f = out.path().join("f");
    std::fs::write(&f, "x\n").unwrap();
    let f = f.display().to_string();
    ok(docker(&d, &["create", "--name", "ro", "--read-only", "-v", "rw-vol:/rw", "-v", "ro-vol:/ro:ro", "busybox", "true"]));
    let err = fails(docker(&d, &["cp", &f, "ro:/tmp/"]));
    assert!(err.contains("container rootfs is marked read-only"), "{err}");
    let err = fails(docker(&d, &["cp", &f, "ro:/ro/"]));
    assert!(err.contains("mounted volume is marked read-only"), "{err}");
    ok(docker(&d, &["cp", &f, "ro:/rw/"]));
    ok(docker(&d, &["run", "--rm", "-v", "rw-vol:/rw", "busybox", "cat", "/rw/f"]));

    // The container's user, from its own /etc/passwd (`nobody` is 65534 in busybox's).
    ok(docker(&d, &["create", "--name", "owned", "--user", "nobody", "busybox", "sleep", "300"]));
    ok(docker(&d, &["cp", "-a", &f, "owned:/tmp/"]));
    ok(docker(&d, &["start", "owned"]));
    let owner = ok(docker(&d, &["exec", "owned", "stat", "-c", "%u:%g", "/tmp/f"]));
    let passwd = ok(docker(&d, &["exec", "owned", "grep", "^nobody:", "/etc/passwd"]));
    let ids: Vec<&str> = passwd.trim().split(':').collect();
    assert_eq!(owner.trim(), format!("{}:{}", ids[2], ids[3]));
    ok(docker(&d, &["rm", "-f", "ro", "owned"]));
}

/// Symlinks a container made, aimed at the host's `/`, `/etc`, `..` and at a host
/// directory: reads through them find the container's files or nothing, writes
/// through them land in the container; the host's files are never read or changed,
/// also while the container swaps a directory for such a link over and over.
#[test]
fn hostile_symlinks_never_reach_the_host() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    let host = tempfile::Builder::new().prefix("berth-hostile").tempdir().unwrap();
    std::fs::write(host.path().join("secret"), "host secret\n").unwrap();
    let hostdir = host.path().display().to_string();
    let links = format!(
        "echo container > /etc/marker; ln -s / /root-link; ln -s /etc /etc-link; ln -s ../../../../.. /up; ln -s {hostdir} /to-host; \
         while true; do rm -rf /flip; ln -s {hostdir} /flip; rm -f /flip; mkdir -p /flip; done"
    );
    ok(docker(&d, &["run", "-d", "--name", "evil", "busybox", "sh", "-c", &links]));
    for _ in 0..100 {
        if docker(&d, &["exec", "evil", "test", "-L", "/to-host"]).status.success() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = tempfile::tempdir().unwrap();
    let dest = |p: &str| out.path().join(p).display().to_string();
    // Reads: the container's own /etc, whichever link leads there.
    for src in ["/root-link/etc/marker", "/etc-link/marker", "/up/etc/marker", "/up/../etc/marker"] {
        let to = dest("marker");
        ok(docker(&d, &["cp", &format!("evil:{src}"), &to]));
        assert_eq!(read(Path::new(&to)), "container\n", "{src}");
        std::fs::remove_file(&to).unwrap();
    }
    // The host directory's name leads nowhere inside the container.
    let err = fails(docker(&d, &["cp", "evil:/to-host/secret", &dest("secret")]));
    assert!(err.contains("Could not find the file"), "{err}");
    assert!(!Path::new(&dest("secret")).exists());
    // Writes through the links land in the container.
    let f = out.path().join("planted");
    std::fs::write(&f, "planted\n").unwrap();
    let f = f.display().to_string();
    ok(docker(&d, &["cp", &f, "evil:/root-link/tmp/"]));
    ok(docker(&d, &["cp", &f, "evil:/up/"]));
    let _ = docker(&d, &["cp", &f, "evil:/to-host/"]);
    assert_eq!(ok(docker(&d, &["exec", "evil", "cat", "/tmp/planted", "/planted"])), "planted\nplanted\n");
    // Racing the container's swaps: in and out through /flip, many times.
    for _ in 0..30 {
        let _ = docker(&d, &["cp", &f, "evil:/flip/"]);
        let _ = docker(&d, &["cp", "evil:/flip/secret", &dest("raced")]);
        let _ = docker(&d, &["cp", "evil:/flip/.", &dest("raced-dir")]);
    }
    assert!(!Path::new(&dest("raced")).exists(), "the host's secret was read through a swapped link");
    assert!(!Path::new(&dest("raced-dir")).join("secret").exists(), "the host's secret was read through a swapped link");
    let mut left: Vec<String> = std::fs::read_dir(host.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    left.sort();
    assert_eq!(left, ["secret"], "the host directory was written through a container's symlink");
    assert_eq!(read(&host.path().join("secret")), "host secret\n");
    ok(docker(&d, &["rm", "-f", "evil"]));
}
