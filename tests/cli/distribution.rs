//! `berth pull` and `berth push` end to end, side by side with the docker CLI against
//! the same berthd and a distribution registry on loopback: the same lines (without a
//! terminal), the same last line, the same refusals and exit statuses.

use berth_tests::daemon::Daemon;
use berth_tests::registry::Registry;

use crate::support::{Ran, berth, docker};

fn with(d: &Daemon, cli: &str, args: &[&str]) -> Ran {
    if cli == "berth" { berth(d, args) } else { docker(d, args).expect("docker CLI") }
}

#[test]
fn pull_and_push_print_what_docker_prints() {
    berth_tests::require_root!();
    let Some(reg) = Registry::start() else { return };
    let Some(d) = Daemon::for_docker() else { return };
    reg.push_busybox("bb:1");
    reg.push_busybox("bb:2");
    let h = reg.host.clone();
    for cli in ["docker", "berth"] {
        // A fresh pull each time: every image removed between the two.
        assert_eq!(berth(&d, &["image", "prune", "-a", "-f"]).code, Some(0));
        let r = with(&d, cli, &["pull", &format!("{h}/bb:1")]);
        assert_eq!(r.code, Some(0), "{cli}: {r:?}");
        let lines: Vec<&str> = r.stdout.lines().collect();
        assert_eq!(lines.first(), Some(&"1: Pulling from bb"), "{cli}: {r:?}");
        // The layer fetched, or still unpacked from the image removed before.
        assert!(lines.iter().any(|l| l.ends_with(": Pull complete") || l.ends_with(": Already exists")), "{cli}: {r:?}");
        assert!(lines.iter().any(|l| l.starts_with("Digest: sha256:")), "{cli}: {r:?}");
        assert_eq!(&lines[lines.len() - 2..], [format!("Status: Downloaded newer image for {h}/bb:1"), format!("{h}/bb:1")], "{cli}: {r:?}");

        let r = with(&d, cli, &["pull", "-q", &format!("{h}/bb:1")]);
        assert_eq!((r.code, r.stdout.as_str()), (Some(0), format!("{h}/bb:1\n").as_str()), "{cli}: {r:?}");

        // Every tag, then the repository's name.
        let r = with(&d, cli, &["pull", "-a", &format!("{h}/bb")]);
        assert_eq!(r.code, Some(0), "{cli}: {r:?}");
        assert!(r.stdout.ends_with(&format!("{h}/bb\n")), "{cli}: {r:?}");
        let mut tags: Vec<String> = berth(&d, &["images", "--format", "{{.Tag}}", &format!("{h}/bb")]).stdout.lines().map(String::from).collect();
        tags.sort();
        assert_eq!(tags, ["1", "2"], "{cli}");

        let r = with(&d, cli, &["pull", "-a", &format!("{h}/bb:1")]);
        assert_eq!(r.code, Some(1), "{cli}: {r:?}");
        assert!(r.stderr.contains("tag can't be used with --all-tags/-a"), "{cli}: {r:?}");
        let r = with(&d, cli, &["pull", &format!("{h}/bb:nope")]);
        assert_eq!(r.code, Some(1), "{cli}: {r:?}");
        assert!(r.stderr.contains(&format!("manifest for {h}/bb:nope not found: manifest unknown")), "{cli}: {r:?}");

        // Pushed under a name of the CLI's own (not "docker": the docker CLI's output
        // is read with that word made "berth").
        let own = &cli[..1];
        let target = format!("{h}/by-{own}:1");
        assert_eq!(berth(&d, &["tag", &format!("{h}/bb:1"), &target]).code, Some(0));
        let r = with(&d, cli, &["push", &target]);
        assert_eq!(r.code, Some(0), "{cli}: {r:?}");
        assert!(r.stdout.starts_with(&format!("The push refers to repository [{h}/by-{own}]\n")), "{cli}: {r:?}");
        assert!(r.stdout.lines().last().is_some_and(|l| l.starts_with("1: digest: sha256:") && l.contains(" size: ")), "{cli}: {r:?}");
        let r = with(&d, cli, &["push", &format!("{h}/missing-{own}:1")]);
        assert_eq!(r.code, Some(1), "{cli}: {r:?}");
    }
}
