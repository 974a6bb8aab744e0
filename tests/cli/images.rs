//! The image commands end to end: `berth load`, `images`, `image inspect`,
//! `history`, `tag`, `rmi`, `save`, `import`, `image prune` and `system df`
//! against a private berthd, with their output compared with the docker CLI's
//! against the same daemon where docker is installed.

use std::process::Stdio;

use berth_tests::daemon::Daemon;

use crate::support::{Ran, berth, berth_cmd, berth_stdin, docker};

/// `berth ARGS` with stdout going to the file `out`.
fn berth_to_file(d: &Daemon, args: &[&str], out: &std::path::Path) -> Ran {
    let file = std::fs::File::create(out).expect("create output");
    let o = berth_cmd()
        .env("DOCKER_HOST", d.host())
        .args(args)
        .stdout(file)
        .stderr(Stdio::piped())
        .output()
        .expect("run berth");
    o.into()
}

/// The docker CLI's result as it is (image data mentions "Docker" in its own right,
/// e.g. `DockerVersion`, which [`docker`] would rename).
fn docker_verbatim(d: &Daemon, args: &[&str]) -> Option<Ran> {
    d.docker(args).map(Ran::from)
}

fn ok(r: Ran) -> String {
    assert_eq!(r.code, Some(0), "{r:?}");
    r.stdout
}

/// A daemon with busybox:latest loaded by `berth load -i`.
fn with_busybox() -> (Daemon, &'static fixture::Image) {
    let d = Daemon::start();
    let archive = d.dir.path().join("busybox.tar");
    fixture::write_docker_archive(&archive, "busybox:latest").expect("archive");
    assert_eq!(ok(berth(&d, &["load", "-i", archive.to_str().expect("utf-8")])), "Loaded image: busybox:latest\n");
    (d, fixture::Image::busybox().expect("busybox"))
}

fn short(id: &str) -> &str {
    &id.trim_start_matches("sha256:")[..12]
}

#[test]
fn load_then_list_inspect_and_history() {
    let (d, image) = with_busybox();
    let id = image.config_digest();
    let table = ok(berth(&d, &["images"]));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(lines[0].starts_with("REPOSITORY   TAG       IMAGE ID       CREATED"), "{table}");
    assert!(lines[1].starts_with(&format!("busybox      latest    {}   ", short(id))), "{table}");
    assert_eq!(ok(berth(&d, &["image", "ls", "-q"])), format!("{}\n", short(id)));
    assert_eq!(ok(berth(&d, &["image", "list", "--no-trunc", "-q"])), format!("{id}\n"));
    assert_eq!(
        ok(berth(&d, &["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])),
        format!("busybox:latest {}\n", short(id))
    );
    assert_eq!(ok(berth(&d, &["images", "-q", "nosuch"])), "");
    assert_eq!(ok(berth(&d, &["image", "inspect", "-f", "{{.Id}}", "busybox"])), format!("{id}\n"));
    let inspect = ok(berth(&d, &["image", "inspect", "busybox"]));
    assert!(inspect.starts_with("[\n    {\n        \""), "{inspect}");
    let parsed: serde_json::Value = serde_json::from_str(&inspect).expect("JSON");
    assert_eq!(parsed[0]["Id"], id);
    let history = ok(berth(&d, &["history", "busybox"]));
    assert!(history.starts_with("IMAGE          CREATED"), "{history}");
    assert!(history.lines().nth(1).expect("a layer").starts_with(short(id)), "{history}");
    assert_eq!(ok(berth(&d, &["image", "history", "-q", "busybox"])), format!("{}\n", short(id)));

    let missing = berth(&d, &["image", "inspect", "nosuch"]);
    assert_eq!((missing.code, missing.stdout.as_str()), (Some(1), "[]\n"), "{missing:?}");
    assert_eq!(missing.stderr, "Error response from daemon: No such image: nosuch\n");

    // The same commands through the docker CLI print the same.
    for args in [
        &["images"][..],
        &["images", "--digests"],
        &["images", "-a", "--no-trunc"],
        &["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"],
        &["images", "--format", "json"],
        &["images", "--format", "table {{.ID}}\t{{.Size}}\t{{.VirtualSize}}"],
        &["images", "-f", "dangling=false", "-q"],
        &["images", "busybox"],
        &["image", "inspect", "busybox"],
        &["image", "inspect", "-f", "json", "busybox"],
        &["image", "inspect", "-f", "{{.Id}} {{.Os}} {{index .Config.Cmd 0}}", "busybox"],
        &["image", "inspect", "-f", "{{.Nope}}", "busybox"],
        &["image", "inspect", "-f", "{{.Id}}", "busybox", "nosuch"],
        &["image", "inspect", "nosuch"],
        &["history", "busybox"],
        &["history", "--no-trunc", "busybox"],
        &["history", "-H=false", "busybox"],
        &["history", "--format", "json", "busybox"],
        &["history", "nosuch"],
    ] {
        let r = berth(&d, args);
        if let Some(want) = docker_verbatim(&d, args) {
            assert_eq!((r.code, &r.stdout, &r.stderr), (want.code, &want.stdout, &want.stderr), "{args:?}");
        }
    }
}

#[test]
fn tag_and_remove() {
    let (d, image) = with_busybox();
    assert_eq!(ok(berth(&d, &["tag", "busybox", "mine/bb:1"])), "");
    assert_eq!(ok(berth(&d, &["image", "tag", "busybox:latest", "localhost:5000/bb"])), "");
    let listed = ok(berth(&d, &["images", "--format", "{{.Repository}}:{{.Tag}}"]));
    let mut tags: Vec<&str> = listed.lines().collect();
    tags.sort();
    assert_eq!(tags, ["busybox:latest", "localhost:5000/bb:latest", "mine/bb:1"]);
    if let Some(want) = docker(&d, &["images", "-q"]) {
        assert_eq!(ok(berth(&d, &["images", "-q"])), want.stdout);
    }

    let bad = berth(&d, &["tag", "busybox", "Bad:x"]);
    assert_eq!(bad.code, Some(1));
    assert_eq!(
        bad.stderr,
        "Error parsing reference: \"Bad:x\" is not a valid repository/tag: invalid reference format: repository name (library/Bad) must be lowercase\n"
    );
    let missing = berth(&d, &["tag", "nosuch", "x"]);
    assert_eq!(
        (missing.code, missing.stderr.as_str()),
        (Some(1), "Error response from daemon: No such image: nosuch\n")
    );

    assert_eq!(ok(berth(&d, &["rmi", "mine/bb:1"])), "Untagged: mine/bb:1\n");
    // Errors come after what could be done, all together, exit 1.
    let r = berth(&d, &["image", "rm", "nosuch", "localhost:5000/bb", "other"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.stdout, "Untagged: localhost:5000/bb:latest\n");
    assert_eq!(
        r.stderr,
        "Error response from daemon: No such image: nosuch\nError response from daemon: No such image: other\n"
    );
    // -f forgives images that do not exist.
    let r = berth(&d, &["rmi", "-f", "nosuch"]);
    assert_eq!((r.code, r.stderr.as_str()), (Some(0), "Error response from daemon: No such image: nosuch\n"));
    for args in
        [&["rmi", "nosuch"][..], &["rmi", "-f", "nosuch"], &["tag", "busybox", "Bad:x"], &["tag", "nosuch", "x"]]
    {
        let r = berth(&d, args);
        if let Some(want) = docker(&d, args) {
            assert_eq!((r.code, &r.stdout, &r.stderr), (want.code, &want.stdout, &want.stderr), "{args:?}");
        }
    }

    let r = ok(berth(&d, &["rmi", "busybox"]));
    assert_eq!(r, format!("Untagged: busybox:latest\nDeleted: {}\n", image.config_digest()));
    assert_eq!(ok(berth(&d, &["images", "-q"])), "");
}

#[test]
fn save_and_load_round_trip() {
    let (d, image) = with_busybox();
    let saved = d.dir.path().join("saved.tar");
    assert_eq!(ok(berth(&d, &["save", "-o", saved.to_str().expect("utf-8"), "busybox"])), "");
    let piped = d.dir.path().join("piped.tar");
    let r = berth_to_file(&d, &["image", "save", "busybox:latest"], &piped);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(std::fs::metadata(&piped).expect("saved").len() > 1 << 20);
    // No temporary file is left beside the archive.
    let names: Vec<String> = std::fs::read_dir(d.dir.path())
        .expect("lists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with(".berth_temp")), "{names:?}");

    assert!(ok(berth(&d, &["rmi", "busybox"])).contains("Deleted: sha256:"));
    assert_eq!(ok(berth(&d, &["load", "-i", saved.to_str().expect("utf-8")])), "Loaded image: busybox:latest\n");
    assert_eq!(
        ok(berth(&d, &["image", "inspect", "-f", "{{.Id}}", "busybox"])),
        format!("{}\n", image.config_digest())
    );
    ok(berth(&d, &["rmi", "busybox"]));
    // The archive from stdout loads from stdin.
    let r = berth_stdin(&d, &["image", "load", "-q"], &std::fs::read(&piped).expect("read"));
    assert_eq!((r.code, r.stdout.as_str()), (Some(0), "Loaded image: busybox:latest\n"), "{r:?}");
    assert_eq!(ok(berth(&d, &["images", "-q"])), format!("{}\n", short(image.config_digest())));

    let r = berth(&d, &["save", "-o", "/nonexistent/dir/x.tar", "busybox"]);
    assert_eq!(r.code, Some(1));
    assert_eq!(r.stderr, "failed to save image: invalid output path: directory \"/nonexistent/dir\" does not exist\n");
    let r = berth_to_file(&d, &["save", "nosuch"], &d.dir.path().join("none.tar"));
    assert_eq!((r.code, r.stderr.as_str()), (Some(1), "Error response from daemon: No such image: nosuch\n"));
}

#[test]
fn load_errors() {
    let d = Daemon::start();
    let junk = d.dir.path().join("junk.tar");
    std::fs::write(&junk, vec![7u8; 3 << 20]).expect("write junk");
    // The daemon answers 200 with the error in its message stream (as dockerd does);
    // the CLI prints that error and fails, as docker's does. Control bytes of the
    // archive never reach the terminal.
    let r = berth(&d, &["load", "-i", junk.to_str().expect("utf-8")]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.starts_with("reading the archive: ") && !r.stderr.contains('\u{7}'), "{r:?}");
    let r = berth_stdin(&d, &["load"], b"not a tar at all");
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("archive"), "{r:?}");
    let r = berth(&d, &["load", "-i", "/nonexistent.tar"]);
    assert_eq!((r.code, r.stderr.as_str()), (Some(1), "open /nonexistent.tar: no such file or directory\n"));
    if let Some(want) = docker(&d, &["load", "-i", "/nonexistent.tar"]) {
        assert_eq!(r.stderr, want.stderr);
    }
    assert_eq!(ok(berth(&d, &["images", "-q"])), "");
}

#[test]
fn import_a_root_filesystem() {
    let d = Daemon::start();
    let rootfs = d.dir.path().join("rootfs.tar");
    let layer = fixture::Image::busybox().expect("busybox").layer_tar().to_vec();
    std::fs::write(&rootfs, &layer).expect("write rootfs");
    let out = ok(berth(
        &d,
        &["import", "-c", "CMD [\"/bin/sh\"]", "-m", "hello", rootfs.to_str().expect("utf-8"), "imported:1"],
    ));
    let id = out.trim();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{out}");
    let cfg = ok(berth(&d, &["image", "inspect", "-f", "{{.Id}} {{json .Config.Cmd}}", "imported:1"]));
    assert_eq!(cfg, format!("{id} [\"/bin/sh\"]\n"));
    assert_eq!(ok(berth(&d, &["history", "--format", "{{.Comment}}", "imported:1"])), "hello\n");

    // From stdin, untagged: a dangling image.
    let r = berth_stdin(&d, &["image", "import", "-"], &layer);
    assert_eq!(r.code, Some(0), "{r:?}");
    let dangling = r.stdout.trim().to_string();
    let listed = ok(berth(&d, &["images", "--format", "{{.Repository}}:{{.Tag}}"]));
    let mut names: Vec<&str> = listed.lines().collect();
    names.sort();
    assert_eq!(names, ["<none>:<none>", "imported:1"]);

    let r = berth(&d, &["import", "-c", "BOGUS x", rootfs.to_str().expect("utf-8")]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.stderr, "Error response from daemon: BOGUS is not a valid change command\n");
    let r = berth(&d, &["import", "/nonexistent.tar"]);
    assert_eq!((r.code, r.stderr.as_str()), (Some(1), "open /nonexistent.tar: no such file or directory\n"));
    let r = berth(&d, &["import", rootfs.to_str().expect("utf-8"), "Bad:x"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (Some(1), "invalid reference format: repository name (library/Bad) must be lowercase\n")
    );

    // Prune: the dangling image goes, the tagged one stays; then `-a` takes it too.
    let r = berth_stdin(&d, &["image", "prune"], b"n\n");
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] ")
    );
    let pruned = ok(berth(&d, &["image", "prune", "-f"]));
    assert!(pruned.starts_with(&format!("Deleted Images:\ndeleted: {dangling}\n")), "{pruned}");
    assert!(pruned.contains("\n\nTotal reclaimed space: "), "{pruned}");
    assert_eq!(ok(berth(&d, &["image", "prune", "-f"])), "Total reclaimed space: 0B\n");
    if let Some(want) = docker(&d, &["image", "prune", "-f"]) {
        assert_eq!(want.stdout, "Total reclaimed space: 0B\n");
    }
    let r = berth_stdin(&d, &["image", "prune", "-a"], b"y\n");
    assert!(
        r.stdout.starts_with("WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue? [y/N] Deleted Images:\nuntagged: imported:1\n"),
        "{r:?}"
    );
    assert_eq!(ok(berth(&d, &["images", "-q"])), "");
}

#[test]
fn usage_errors_like_docker() {
    let d = Daemon::start();
    let r = berth(&d, &["tag", "a"]);
    assert_eq!(r.code, Some(1));
    assert_eq!(
        r.stderr,
        "berth: 'berth tag' requires 2 arguments\n\nUsage:  berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n\nRun 'berth tag --help' for more information\n"
    );
    let r = berth(&d, &["image", "inspect"]);
    assert_eq!(
        r.stderr,
        "berth: 'berth image inspect' requires at least 1 argument\n\nUsage:  berth image inspect [OPTIONS] IMAGE [IMAGE...]\n\nSee 'berth image inspect --help' for more information\n"
    );
    let r = berth(&d, &["images", "--bogus"]);
    assert_eq!(r.code, Some(125));
    assert!(
        r.stderr.starts_with("unknown flag: --bogus\n\nUsage:  berth images [OPTIONS] [REPOSITORY[:TAG]]\n"),
        "{r:?}"
    );
    for args in [
        &["images", "--bogus"][..],
        &["image", "ls", "--bogus"],
        &["image", "inspect"],
        &["history"],
        &["history", "a", "b"],
        &["rmi"],
        &["image", "rm"],
        &["image", "prune", "x"],
        &["tag", "a"],
        &["tag", "a", "b", "c"],
        &["save"],
        &["load", "x"],
        &["import"],
        &["system", "df", "x"],
        &["image", "bogus"],
        &["images", "-f", "bad"],
        &["image", "prune", "--filter", "bad"],
    ] {
        let r = berth(&d, args);
        assert!(matches!(r.code, Some(1) | Some(125)), "{args:?}: {r:?}");
        if let Some(want) = docker(&d, args) {
            assert_eq!((r.code, &r.stderr), (want.code, &want.stderr), "{args:?}");
        }
    }
}

#[test]
fn system_df_counts_images() {
    let (d, _) = with_busybox();
    let out = ok(berth(&d, &["system", "df"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert!(lines[0].starts_with("TYPE            TOTAL     ACTIVE    SIZE"), "{out}");
    assert!(lines[1].starts_with("Images          1         0         "), "{out}");
    assert!(lines[1].ends_with("(100%)"), "{out}");
    assert!(lines[2].starts_with("Containers      0         0         0B"), "{out}");
    assert!(lines[3].starts_with("Local Volumes   "), "{out}");
    assert!(lines[4].starts_with("Build Cache     "), "{out}");
    let verbose = ok(berth(&d, &["system", "df", "-v"]));
    assert!(verbose.starts_with("Images space usage:\n\nREPOSITORY   TAG       IMAGE ID       CREATED"), "{verbose}");
    assert!(verbose.contains("\nbusybox      latest    "), "{verbose}");
    for args in [
        &["system", "df"][..],
        &["system", "df", "--format", "json"],
        &["system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Size}}"],
        &["system", "df", "-v"],
    ] {
        let r = berth(&d, args);
        if let Some(want) = docker(&d, args) {
            assert_eq!((r.code, &r.stdout, &r.stderr), (want.code, &want.stdout, &want.stderr), "{args:?}");
        }
    }
}
