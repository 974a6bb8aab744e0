//! `berth cp` end to end, side by side with `docker cp` against the same
//! berthd: each case runs with both command lines on identical starting
//! states (a local directory of each's own, or a container of each's own), and
//! their exit statuses, outputs and the files they leave must be the same.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use berth_tests::daemon::Daemon;

use crate::support::{Ran, berth, berth_cmd};

fn ok(r: Ran) -> String {
    assert_eq!(r.code, Some(0), "{r:?}");
    r.stdout
}

/// Which command line a run is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cli {
    Berth,
    Docker,
}

/// The docker CLI this daemon is compared with (present: the daemon was made
/// with [`Daemon::with_busybox_for_docker`]).
fn docker_binary() -> &'static str {
    ["/usr/local/bin/docker", "/usr/bin/docker"].into_iter().find(|p| Path::new(p).exists()).expect("docker CLI")
}

/// One command line run in `cwd`, with `input` on stdin.
fn run(d: &Daemon, cli: Cli, cwd: &Path, args: &[&str], input: Option<&[u8]>) -> Output {
    let mut cmd = match cli {
        Cli::Berth => berth_cmd(),
        Cli::Docker => {
            let mut c = Command::new(docker_binary());
            c.env("DOCKER_CONFIG", d.dir.path().join("docker-config"));
            c
        }
    };
    cmd.env("DOCKER_HOST", d.host())
        .env_remove("PWD")
        .current_dir(cwd)
        .args(args)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    if let Some(input) = input {
        let mut stdin = child.stdin.take().expect("stdin");
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    child.wait_with_output().expect("wait")
}

/// A run's status and outputs, stderr made comparable: its own local
/// directory and container named alike, docker's name berth's, and no log
/// lines (docker logs the end of the archive it abandons on an early error,
/// when its writer happens to notice).
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

fn outcome(out: Output, replace: &[(&str, &str)]) -> Outcome {
    let mut stderr: String = String::from_utf8_lossy(&out.stderr)
        .split_inclusive('\n')
        .filter(|line| !(line.starts_with("time=\"") && line.contains(" level=")))
        .collect();
    for (from, to) in replace {
        stderr = stderr.replace(from, to);
    }
    Outcome { code: out.status.code(), stdout: out.stdout, stderr: stderr.replace("docker", "berth") }
}

/// What a file is, as the comparisons see it: type, mode, owner, size,
/// content or link target, and (but for directories, which the copies touch)
/// the modification time.
type Listing = BTreeMap<String, String>;

fn list_local(root: &Path) -> Listing {
    fn walk(root: &Path, dir: &Path, out: &mut Listing) {
        let mut names: Vec<PathBuf> =
            std::fs::read_dir(dir).expect("read_dir").map(|e| e.expect("entry").path()).collect();
        names.sort();
        for path in names {
            let m = std::fs::symlink_metadata(&path).expect("lstat");
            let rel = path.strip_prefix(root).expect("under root").display().to_string();
            let what = if m.is_dir() {
                format!("dir {:o}", m.permissions().mode() & 0o7777)
            } else if m.file_type().is_symlink() {
                format!("link -> {} mtime {}", std::fs::read_link(&path).expect("readlink").display(), m.mtime())
            } else {
                let content = std::fs::read_to_string(&path).unwrap_or_default();
                format!(
                    "file {:o} {}:{} {content:?} mtime {} links {}",
                    m.permissions().mode() & 0o7777,
                    m.uid(),
                    m.gid(),
                    m.mtime(),
                    m.nlink()
                )
            };
            out.insert(rel, what);
            if m.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Listing::new();
    walk(root, root, &mut out);
    out
}

/// A container directory's files, read through the docker CLI's `cp … -`.
fn list_container(d: &Daemon, container: &str, dir: &str) -> Listing {
    let out = d.docker(&["cp", &format!("{container}:{dir}"), "-"]).expect("docker");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut archive = tar::Archive::new(&out.stdout[..]);
    let mut listing = Listing::new();
    for entry in archive.entries().expect("entries") {
        let mut e = entry.expect("entry");
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let h = e.header().clone();
        let kind = h.entry_type();
        let owner = format!("{}:{}", h.uid().expect("uid"), h.gid().expect("gid"));
        let mode = h.mode().expect("mode") & 0o7777;
        let what = if kind.is_dir() {
            format!("dir {mode:o} {owner}")
        } else if kind.is_symlink() || kind.is_hard_link() {
            let link = e.link_name_bytes().map(|l| String::from_utf8_lossy(&l).into_owned()).unwrap_or_default();
            format!("{kind:?} -> {link} {owner} mtime {}", h.mtime().expect("mtime"))
        } else {
            let mut content = String::new();
            std::io::Read::read_to_string(&mut e, &mut content).expect("content");
            format!("{kind:?} {mode:o} {owner} {content:?} mtime {}", h.mtime().expect("mtime"))
        };
        listing.insert(name, what);
    }
    listing
}

/// The local starting state of a from-container case.
fn local_workdir(parent: &Path, name: &str) -> PathBuf {
    let w = parent.join(name);
    std::fs::create_dir_all(w.join("existdir")).expect("existdir");
    std::fs::create_dir_all(w.join("clash")).expect("clash");
    std::fs::write(w.join("clash/sub"), "a file where a directory comes\n").expect("clash/sub");
    std::fs::write(w.join("existing.txt"), "old\n").expect("existing");
    std::os::unix::fs::symlink("existdir", w.join("linkdir")).expect("linkdir");
    std::os::unix::fs::symlink("nowhere", w.join("broken")).expect("broken");
    // Fixed times, so that two such directories list alike.
    let time = nix::sys::time::TimeVal::new(1_000_000_000, 0);
    for name in ["clash/sub", "existing.txt", "linkdir", "broken"] {
        nix::sys::stat::lutimes(&w.join(name), &time, &time).expect("lutimes");
    }
    w.canonicalize().expect("canonical")
}

#[test]
fn copies_from_a_container_like_docker() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    ok(berth(
        &d,
        &[
            "run",
            "--name",
            "cpsrc",
            "busybox",
            "sh",
            "-c",
            "mkdir -p /data/sub /data/empty && echo hello > /data/a.txt && echo sub > /data/sub/b \
             && chmod 600 /data/sub/b && chmod 750 /data/sub && ln /data/a.txt /data/hard \
             && ln -s a.txt /data/link && ln -s /data/sub /data/dlink && ln -s /nowhere /data/broken",
        ],
    ));
    let scratch = tempfile::tempdir().expect("tempdir");
    let cases: &[&[&str]] = &[
        &["cp", "cpsrc:/data/a.txt", "."],
        &["cp", "cpsrc:/data/a.txt", "new.txt"],
        &["cp", "cpsrc:/data/a.txt", "existing.txt"],
        &["cp", "cpsrc:/data/a.txt", "linkdir"],
        &["cp", "cpsrc:/data/a.txt", "broken"],
        &["cp", "cpsrc:/data/a.txt", "./file:colon"],
        &["cp", "cpsrc:data/a.txt", "relative.txt"],
        &["cp", "cpsrc:/data", "dir-copy"],
        &["cp", "cpsrc:/data", "existdir"],
        &["cp", "cpsrc:/data/", "slash-copy/"],
        &["cp", "cpsrc:/data/.", "contents"],
        &["cp", "cpsrc:/data/.", "existdir/."],
        &["cp", "cpsrc:/data/link", "link-copy"],
        &["cp", "cpsrc:/data/broken", "broken-copy"],
        &["cp", "-L", "cpsrc:/data/link", "followed"],
        &["cp", "--follow-link", "cpsrc:/data/dlink", "dir-followed"],
        &["cp", "cpsrc:/data/dlink/", "dir-slash"],
        &["cp", "-L", "cpsrc:/data/dlink/.", "dir-dot"],
        &["container", "cp", "cpsrc:/data/sub/b", "via-container-cp"],
        &["cp", "-q=false", "cpsrc:/data/a.txt", "summary.txt"],
        &["cp", "-q=false", "cpsrc:/data", "summary-dir"],
        &["cp", "-q=false", "cpsrc:/data/.", "existdir/."],
        &["cp", "-q=false", "cpsrc:/nope", "x"],
        // Failures, with docker's words and status.
        &["cp", "cpsrc:/data/a.txt", "nodir/"],
        &["cp", "cpsrc:/data/a.txt", "missing/x"],
        &["cp", "cpsrc:/data/a.txt", "existing.txt/x"],
        &["cp", "cpsrc:/data", "existing.txt"],
        &["cp", "cpsrc:/data/sub", "clash"],
        &["cp", "cpsrc:/data/a.txt", "existdir/data/"],
        &["cp", "cpsrc:/data/a.txt", "/dev/null"],
        &["cp", "cpsrc:/nope", "x"],
        &["cp", "cpsrc:/data/a.txt/", "x"],
        &["cp", "cpsrc:", "x"],
        &["cp", "nosuch:/x", "x"],
        // The raw archive on stdout, not renamed even when following a link.
        &["cp", "cpsrc:/data", "-"],
        &["cp", "-L", "cpsrc:/data/link", "-"],
        &["cp", "-q=false", "cpsrc:/data/sub/.", "-"],
    ];
    for (i, args) in cases.iter().enumerate() {
        let mut results = Vec::new();
        for cli in [Cli::Berth, Cli::Docker] {
            let work = local_workdir(scratch.path(), &format!("{i}-{cli:?}"));
            let out = run(&d, cli, &work, args, None);
            let shown = work.display().to_string();
            results.push((outcome(out, &[(&shown, "WORK")]), list_local(&work)));
        }
        assert_eq!(results[0], results[1], "{args:?} (left: berth, right: docker)");
    }
    // Spot checks of what the comparisons agreed on.
    let work = local_workdir(scratch.path(), "spot");
    let out = run(&d, Cli::Berth, &work, &["cp", "-q=false", "cpsrc:/data", "copy"], None);
    assert_eq!(
        outcome(out, &[(&work.display().to_string(), "WORK")]).stderr,
        "Successfully copied 6.66kB to WORK/copy\n"
    );
    let listing = list_local(&work);
    assert!(listing["copy/sub/b"].starts_with("file 600 0:0 \"sub\\n\""), "{listing:?}");
    assert_eq!(listing["copy/sub"], "dir 750");
    assert!(listing["copy/link"].starts_with("link -> a.txt "), "{listing:?}");
    assert!(listing["copy/hard"].ends_with("links 2"), "{listing:?}");
    let out = run(&d, Cli::Berth, &work, &["cp", "cpsrc:/nope", "x"], None);
    assert_eq!(
        (out.status.code(), String::from_utf8_lossy(&out.stderr).as_ref()),
        (Some(1), "Error response from daemon: Could not find the file /nope in container cpsrc\n")
    );
}

/// A container of the given name whose `/dst` holds a directory, a file and
/// links to each.
fn destination_container(d: &Daemon, name: &str) {
    ok(berth(
        d,
        &[
            "run",
            "--name",
            name,
            "busybox",
            "sh",
            "-c",
            // Fixed times, so that two such containers list alike.
            "mkdir -p /dst/existdir && echo x > /dst/existfile && ln -s /dst/existdir /dst/dirlink \
             && ln -s existfile /dst/filelink \
             && touch -h -d '2001-02-03 04:05:06' /dst/existfile /dst/dirlink /dst/filelink",
        ],
    ));
}

/// The local sources of the into-container cases.
fn local_sources(parent: &Path) -> PathBuf {
    let s = parent.join("src");
    std::fs::create_dir_all(s.join("dir/sub")).expect("dirs");
    std::fs::write(s.join("f1"), "one\n").expect("f1");
    std::fs::write(s.join("dir/f2"), "two\n").expect("f2");
    std::fs::write(s.join("dir/sub/f3"), "three\n").expect("f3");
    std::fs::write(s.join("dir/run.sh"), "#!/bin/sh\n").expect("run.sh");
    std::fs::set_permissions(s.join("dir/run.sh"), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(s.join("dir/sub"), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    std::fs::hard_link(s.join("dir/f2"), s.join("dir/hard")).expect("hard link");
    std::os::unix::fs::symlink("f1", s.join("lf")).expect("lf");
    std::os::unix::fs::symlink("dir", s.join("ld")).expect("ld");
    std::fs::write(s.join("long-name-".repeat(12)), "a name longer than a tar header holds\n").expect("long");
    s.canonicalize().expect("canonical")
}

/// A tar of one file, for stdin.
fn small_archive() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(6);
    h.set_mode(0o640);
    h.set_mtime(1_600_000_000);
    h.set_cksum();
    b.append_data(&mut h, "from-stdin.txt", &b"stdin\n"[..]).expect("append");
    b.into_inner().expect("archive")
}

#[test]
fn copies_into_a_container_like_docker() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    let scratch = tempfile::tempdir().expect("tempdir");
    let src = local_sources(scratch.path());
    let archive = small_archive();
    let cases: &[(&[&str], bool)] = &[
        (&["cp", "f1", "C:/dst/"], false),
        (&["cp", "f1", "C:/dst/newf"], false),
        (&["cp", "f1", "C:/dst/existfile"], false),
        (&["cp", "f1", "C:/dst/filelink"], false),
        (&["cp", "dir", "C:/dst/newdir"], false),
        (&["cp", "dir/", "C:/dst/slashdir"], false),
        (&["cp", "dir/.", "C:/dst/dotdir"], false),
        (&["cp", "dir", "C:/dst/existdir"], false),
        (&["cp", "dir/.", "C:/dst/existdir"], false),
        (&["cp", "lf", "C:/dst/lf"], false),
        (&["cp", "-L", "lf", "C:/dst/lf-followed"], false),
        (&["cp", "ld/", "C:/dst/ld-slash"], false),
        (&["cp", "--follow-link", "ld", "C:/dst/ld-followed"], false),
        (&["cp", &"long-name-".repeat(12), "C:/dst/"], false),
        (&["container", "cp", "f1", "C:/dst/via-container-cp"], false),
        (&["cp", "-q=false", "f1", "C:/dst/dirlink"], false),
        (&["cp", "-q=false", "dir", "C:/dst/summary-dir"], false),
        (&["cp", "-q=false", "-", "C:/dst/existdir"], true),
        (&["cp", "-", "C:/dst/"], true),
        // Failures, with docker's words and status.
        (&["cp", "dir", "C:/dst/existfile"], false),
        (&["cp", "f1", "C:/dst/nodir/"], false),
        (&["cp", "f1", "C:/nope/x"], false),
        (&["cp", "nosuch", "C:/dst/"], false),
        (&["cp", "f1/", "C:/dst/"], false),
        (&["cp", "f1", "C:/dev/null"], false),
        (&["cp", "-", "C:/dst/existfile"], true),
        (&["cp", "-", "C:/dst/nonexistent"], true),
        (&["cp", "-q=false", "dir", "C:/dst/existfile"], false),
    ];
    for (i, (args, stdin)) in cases.iter().enumerate() {
        let mut results = Vec::new();
        for cli in [Cli::Berth, Cli::Docker] {
            let container = format!("cpdst{i}{}", if cli == Cli::Berth { "b" } else { "d" });
            destination_container(&d, &container);
            let args: Vec<String> = args.iter().map(|a| a.replace("C:", &format!("{container}:"))).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = run(&d, cli, &src, &args, stdin.then_some(&archive[..]));
            results.push((outcome(out, &[(&container, "C")]), list_container(&d, &container, "/dst")));
        }
        assert_eq!(results[0], results[1], "{args:?} (left: berth, right: docker)");
    }
    // `-a`: the files take the container's user.
    let mut results = Vec::new();
    for container in ["owned-b", "owned-d"] {
        ok(berth(&d, &["run", "--name", container, "-u", "4321:8765", "busybox", "true"]));
        let cli = if container == "owned-b" { Cli::Berth } else { Cli::Docker };
        let out = run(&d, cli, &src, &["cp", "-a", "dir", &format!("{container}:/tmp/archived")], None);
        results.push((outcome(out, &[]), list_container(&d, container, "/tmp/archived")));
    }
    assert_eq!(results[0], results[1], "cp -a (left: berth, right: docker)");
    assert!(results[0].1["archived/f2"].starts_with("Regular 644 4321:8765 \"two\\n\""), "{:?}", results[0].1);

    // Spot checks of what the comparisons agreed on.
    destination_container(&d, "spot");
    let out = run(&d, Cli::Berth, &src, &["cp", "-q=false", "dir", "spot:/dst/copy"], None);
    assert_eq!(
        (out.status.code(), String::from_utf8_lossy(&out.stderr).as_ref()),
        (Some(0), "Successfully copied 5.63kB to spot:/dst/copy\n")
    );
    let listing = list_container(&d, "spot", "/dst");
    assert!(listing["dst/copy/run.sh"].starts_with("Regular 755 0:0 \"#!/bin/sh\\n\""), "{listing:?}");
    assert_eq!(listing["dst/copy/sub/"], "dir 700 0:0");
    assert!(listing["dst/copy/hard"].starts_with("Link -> dst/copy/f2"), "{listing:?}");
    // The daemon's answer, not a broken pipe, when the container is missing.
    let out = run(&d, Cli::Berth, &src, &["cp", "f1", "nosuch:/x"], None);
    assert_eq!(
        (out.status.code(), String::from_utf8_lossy(&out.stderr).as_ref()),
        (Some(1), "Error response from daemon: No such container: nosuch\n")
    );
}

#[test]
fn cp_usage_errors_match_docker() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    let scratch = tempfile::tempdir().expect("tempdir");
    for args in [
        &["cp"][..],
        &["cp", "a"],
        &["cp", "a", "b", "c"],
        &["container", "cp", "a"],
        &["cp", "", "x"],
        &["cp", "x", ""],
        &["cp", "a", "b"],
        &["cp", "./a:b", "c"],
        &["cp", ":a", "b"],
        &["cp", "c1:/a", "c2:/b"],
        &["cp", "--bogus", "a", "b"],
        &["cp", "-q=maybe", "a", "b"],
        &["cp", "-x", "a", "b"],
    ] {
        let berth = outcome(run(&d, Cli::Berth, scratch.path(), args, None), &[]);
        let docker = outcome(run(&d, Cli::Docker, scratch.path(), args, None), &[]);
        assert_eq!(berth, docker, "{args:?} (left: berth, right: docker)");
        assert!(matches!(berth.code, Some(1) | Some(125)), "{args:?}: {berth:?}");
    }
}
