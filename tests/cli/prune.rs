//! `berth system prune` end to end, side by side with `docker system prune`
//! against the same berthd: the prompt for each flag combination, the
//! refusals, and what each removes and prints. A prune takes everything
//! unused on the daemon, so each command line prunes in turn what it made
//! itself, on a daemon of the combination's own; the objects a round keeps
//! are kept by the next round too.
//!
//! docker's CLI also prunes the build cache, and stops with berthd's 404
//! (`Error response from daemon: page not found`, status 1) before printing
//! the total; berth has no build cache to remove there and prints the total.

use berth_tests::daemon::Daemon;

use crate::support::{Ran, berth, berth_stdin, same_as_docker};

fn ok(r: Ran) -> String {
    assert_eq!((r.code, r.stderr.as_str()), (Some(0), ""), "{r:?}");
    r.stdout
}

/// docker's failure at the build-cache step against berthd.
const NO_BUILD_CACHE: &str = "Error response from daemon: page not found\n";

/// `system prune ARGS` with `answer` on stdin, by berth or docker.
fn prune(d: &Daemon, cli: &str, args: &[&str], answer: &[u8]) -> Ran {
    let args: Vec<&str> = ["system", "prune"].iter().chain(args).copied().collect();
    if cli == "berth" {
        return berth_stdin(d, &args, answer);
    }
    let mut r: Ran = d.docker_with_input(&args, answer).expect("docker CLI").into();
    r.stdout = r.stdout.replace("docker", "berth");
    r.stderr = r.stderr.replace("docker", "berth");
    r
}

#[test]
fn system_prune_asks_as_docker_does() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    ok(berth(&d, &["create", "--name", "stopped", "busybox", "true"]));
    ok(berth(&d, &["network", "create", "unused"]));
    for args in [
        &[][..],
        &["-a"],
        &["--volumes"],
        &["--all", "--volumes"],
        &["--volumes=false", "-a=true", "--force=0"],
        &["--filter", "label=a=b", "--filter", "until=10h"],
        &["-a", "--volumes", "--filter", "label!=keep", "--filter", " Label = b ", "--filter", "dangling=true"],
        &["--filter", "name=x"],
        &["--filter", ""],
    ] {
        for answer in [&b"n\n"[..], b"", b"yes\n"] {
            let r = prune(&d, "berth", args, answer);
            let want = prune(&d, "docker", args, answer);
            assert_eq!((r.code, &r.stdout, &r.stderr), (want.code, &want.stdout, &want.stderr), "{args:?} {answer:?}");
        }
    }
    let r = prune(&d, "berth", &["-a", "--volumes", "--filter", "label=x", "--filter", "label!=y"], b"n\n");
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (
            Some(0),
            "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all anonymous volumes not used by at least one container\n  - all images without at least one container associated to them\n  - all build cache\n\n  Items to be pruned will be filtered with:\n  - label!=y\n  - label=x\n\nAre you sure you want to continue? [y/N] ",
            ""
        )
    );
    let r = prune(&d, "berth", &[], b"n\n");
    assert_eq!(
        r.stdout,
        "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all dangling images\n  - unused build cache\n\nAre you sure you want to continue? [y/N] "
    );
    let r = berth(&d, &["system", "prune", "--volumes", "--filter", "until=1h"]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (Some(1), "", "ERROR: The \"until\" filter is not supported with \"--volumes\"\n")
    );
    same_as_docker(
        &d,
        &[
            &["system", "prune", "--volumes", "--filter", "until=1h"],
            &["system", "prune", "-f", "--volumes", "--filter", "until=1h"],
            &["system", "prune", "extra"],
            &["system", "prune", "--filter", "bad"],
            &["system", "prune", "--filter"],
            &["system", "prune", "--bogus"],
            &["system", "prune", "-x"],
        ],
    );
    // Declined, refused: nothing went.
    assert_eq!(ok(berth(&d, &["ps", "-a", "--format", "{{.Names}}"])), "stopped\n");
    assert_eq!(ok(berth(&d, &["network", "ls", "-q", "--filter", "name=unused"])).lines().count(), 1);
    let r = berth(&d, &["system", "--help"]);
    assert!(r.stdout.contains("\n  prune "), "{r:?}");
}

/// What one round made: each object's ID or name, with a name for it that
/// is the same in every round.
struct Made(Vec<(String, &'static str)>);

impl Made {
    /// `text` with each object named alike whichever round made it.
    fn neutral(&self, text: &str) -> String {
        self.0.iter().fold(text.to_string(), |text, (own, neutral)| text.replace(own.as_str(), neutral))
    }

    /// Which of the objects are left, by kind: `gone` or `kept` each.
    fn left(&self, d: &Daemon) -> String {
        let kinds = [("container", "RUNNING"), ("container", "STOPPED"), ("network", "used"), ("network", "unused")];
        let more = [("volume", "kept"), ("volume", "named"), ("volume", "ANON"), ("image", "UNTAGGED"), ("image", "TAGGED")];
        kinds
            .iter()
            .chain(&more)
            .map(|(kind, neutral)| {
                let own = &self.0.iter().find(|(_, n)| n == neutral).expect("made").0;
                let there = berth(d, &[kind, "inspect", "-f", "x", own]).code == Some(0);
                format!("{neutral}={}\n", if there { "kept" } else { "gone" })
            })
            .collect()
    }
}

/// A daemon's worth of things to prune, named after `round`: a running
/// container keeping its network and volume; a stopped one; an unused
/// network; an unused named volume and an anonymous one left by a removed
/// container; an untagged image and a tagged one no container uses. Those
/// labelled `prune=yes` are what a label filter picks.
fn populate(d: &Daemon, round: &str) -> Made {
    let name = |what: &str| format!("{round}-{what}");
    let out = |args: &[&str]| ok(berth(d, args)).trim_end().to_string();
    out(&["network", "create", &name("used")]);
    out(&["network", "create", "--label", "prune=yes", &name("unused")]);
    out(&["volume", "create", &name("kept")]);
    out(&["volume", "create", "--label", "prune=yes", &name("named")]);
    let kept = format!("{}:/kept", name("kept"));
    let running =
        out(&["run", "-d", "--name", &name("running"), "--network", &name("used"), "-v", &kept, "busybox", "sleep", "1000"]);
    let stopped = out(&["create", "--name", &name("stopped"), "--label", "prune=yes", "busybox", "true"]);
    let anonymous = out(&["create", "-v", "/anon", "busybox", "true"]);
    let volume = out(&["inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", &anonymous]);
    out(&["rm", &anonymous]);
    let untagged = out(&["commit", &stopped]);
    let tagged = out(&["commit", "-c", "LABEL prune=yes", &stopped, &format!("{}:1", name("image"))]);
    Made(vec![
        (running, "RUNNING"),
        (stopped, "STOPPED"),
        (volume, "ANON"),
        (untagged, "UNTAGGED"),
        (tagged, "TAGGED"),
        (name("used"), "used"),
        (name("unused"), "unused"),
        (name("kept"), "kept"),
        (name("named"), "named"),
        (name("image"), "image"),
    ])
}

/// `text` with the lines under `Deleted Images:` sorted: the daemon lists
/// the images it removed in an order of its own (by ID), which differs
/// between rounds.
fn sections_sorted(text: &str) -> String {
    text.split_inclusive("\n\n")
        .map(|section| {
            let body = section.trim_end_matches('\n');
            let mut lines: Vec<&str> = body.split('\n').collect();
            if lines[0].ends_with("Deleted Images:") {
                lines[1..].sort_unstable();
            }
            lines.join("\n") + &section[body.len()..]
        })
        .collect()
}

/// Prunes with `args` as berth, then as docker, each what it made; both must
/// print the same and leave the same. Returns berth's output and what it left.
fn prune_like_docker(args: &[&str], answer: &[u8]) -> Option<(String, String)> {
    let d = Daemon::with_busybox_for_docker()?;
    let mut rounds = Vec::new();
    for cli in ["berth", "docker"] {
        let made = populate(&d, &format!("{}made", &cli[..1]));
        let r = prune(&d, cli, args, answer);
        // berthd's `-a` takes busybox even while a container uses it; the
        // next round needs it.
        if berth(&d, &["image", "inspect", "busybox"]).code != Some(0) {
            d.load_busybox();
        }
        rounds.push((r.code, sections_sorted(&made.neutral(&r.stdout)), r.stderr, made.left(&d)));
    }
    let [(code, stdout, stderr, left), (docker_code, docker_stdout, docker_stderr, docker_left)] = &rounds[..] else {
        unreachable!()
    };
    assert_eq!((code, stderr.as_str()), (&Some(0), ""), "{args:?}: {stdout}");
    assert_eq!(left, docker_left, "{args:?}");
    // docker stops at the build cache, before the total: all else is the same.
    let (sections, total) = stdout.rsplit_once("Total reclaimed space: ").expect("a total");
    assert!(total.ends_with('\n') && total.lines().count() == 1, "{stdout}");
    if (docker_code, docker_stderr.as_str()) == (&Some(1), NO_BUILD_CACHE) {
        assert_eq!(sections, docker_stdout, "{args:?}");
    } else {
        assert_eq!((code, stdout), (docker_code, docker_stdout), "{args:?}: {docker_stderr}");
    }
    Some((stdout.clone(), left.clone()))
}

#[test]
fn system_prune_removes_what_docker_removes() {
    berth_tests::require_root!();
    let Some((out, left)) = prune_like_docker(&["-f"], b"") else { return };
    assert!(
        out.starts_with(
            "Deleted Containers:\nSTOPPED\n\nDeleted Networks:\nunused\n\nDeleted Images:\ndeleted: UNTAGGED\n\nTotal reclaimed space: "
        ),
        "{out}"
    );
    assert_eq!(
        left,
        "RUNNING=kept\nSTOPPED=gone\nused=kept\nunused=gone\nkept=kept\nnamed=kept\nANON=kept\nUNTAGGED=gone\nTAGGED=kept\n"
    );
}

#[test]
fn system_prune_all_and_volumes_like_docker() {
    berth_tests::require_root!();
    let Some((out, left)) = prune_like_docker(&["-a", "--volumes", "--force"], b"") else { return };
    assert!(
        out.starts_with(
            "Deleted Containers:\nSTOPPED\n\nDeleted Networks:\nunused\n\nDeleted Volumes:\nANON\n\nDeleted Images:\ndeleted: TAGGED\ndeleted: UNTAGGED\n"
        ),
        "{out}"
    );
    assert!(out.contains("\nuntagged: image:1\n"), "{out}");
    // Named volumes stay: system prune takes anonymous ones only, -a or not.
    assert_eq!(
        left,
        "RUNNING=kept\nSTOPPED=gone\nused=kept\nunused=gone\nkept=kept\nnamed=kept\nANON=gone\nUNTAGGED=gone\nTAGGED=gone\n"
    );
}

#[test]
fn system_prune_filters_like_docker() {
    berth_tests::require_root!();
    let Some((out, left)) = prune_like_docker(&["--volumes", "--filter", "label=prune=yes"], b"y\n") else { return };
    assert!(out.starts_with("WARNING! This will remove:\n"), "{out}");
    assert!(
        out.contains("  - label=prune=yes\n\nAre you sure you want to continue? [y/N] Deleted Containers:\nSTOPPED\n\nDeleted Networks:\nunused\n\n"),
        "{out}"
    );
    // The anonymous volume has no label, so it stays.
    assert_eq!(
        left,
        "RUNNING=kept\nSTOPPED=gone\nused=kept\nunused=gone\nkept=kept\nnamed=kept\nANON=kept\nUNTAGGED=gone\nTAGGED=kept\n"
    );
}
