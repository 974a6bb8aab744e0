//! `berth commit` end to end, side by side with `docker commit` against the
//! same berthd: each command line commits a container of its own, and the
//! images they make, what they print, their refusals and exit statuses must
//! be the same.

use berth_tests::daemon::Daemon;

use crate::support::{Ran, berth, docker, same_as_docker};

fn ok(r: Ran) -> String {
    assert_eq!((r.code, r.stderr.as_str()), (Some(0), ""), "{r:?}");
    r.stdout
}

/// `berth ARGS` or, for `"docker"`, the docker CLI's run of them.
fn with(d: &Daemon, cli: &str, args: &[&str]) -> Ran {
    if cli == "berth" { berth(d, args) } else { docker(d, args).expect("docker CLI") }
}

/// The full image ID commit prints: `sha256:` and 64 hex digits, one line.
fn image_id(out: &str) -> &str {
    let id = out.strip_suffix('\n').unwrap_or_else(|| panic!("one line: {out:?}"));
    let hex = id.strip_prefix("sha256:").unwrap_or_else(|| panic!("sha256: {out:?}"));
    assert!(hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()), "{out:?}");
    id
}

/// What a committed image holds that the flags chose, with the CLI's name
/// made neutral.
fn committed(d: &Daemon, image: &str, cli: &str) -> String {
    let format = "{{.Author}}|{{.Comment}}|{{json .Config.Env}}|{{json .Config.Cmd}}|{{json .Config.Labels}}|{{.RepoTags}}";
    ok(berth(d, &["image", "inspect", "-f", format, image])).replace(cli, "CLI")
}

#[test]
fn commit_makes_the_same_images_as_docker() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    for cli in ["berth", "docker"] {
        let source = format!("{cli}-source");
        ok(berth(&d, &["run", "-d", "--name", &source, "--label", "from=run", "busybox", "sh", "-c", "echo made | tee /made; exec sleep 1000"]));
        // The file is there before the commit takes it.
        for _ in 0..100 {
            if berth(&d, &["exec", &source, "cat", "/made"]).code == Some(0) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }

        // A running container, paused for the commit, with every flag.
        let reference = format!("{cli}-image:v1");
        let out = ok(with(
            &d,
            cli,
            &["commit", "-a", "Jo <jo@example.com>", "-m", "first", "-c", "ENV A=b", "-c", r#"CMD ["cat", "/made"]"#, &source, &reference],
        ));
        let id = image_id(&out);
        assert_eq!(ok(berth(&d, &["image", "inspect", "-f", "{{.Id}}", &reference])), format!("{id}\n"));
        assert_eq!(
            committed(&d, &reference, cli),
            r#"Jo <jo@example.com>|first|["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","A=b"]|["cat","/made"]|{"from":"run"}|[CLI-image:v1]"#.to_string() + "\n"
        );
        assert_eq!(ok(berth(&d, &["run", "--rm", &reference])), "made\n");
        // Paused only while it was committed.
        assert_eq!(ok(berth(&d, &["inspect", "-f", "{{.State.Status}}", &source])), "running\n");

        // No reference: an untagged image; `latest` when the reference names no tag.
        let out = ok(with(&d, cli, &["container", "commit", "--pause=false", &source]));
        let untagged = image_id(&out);
        assert_eq!(ok(berth(&d, &["image", "inspect", "-f", "{{.RepoTags}}", untagged])), "[]\n");
        let out = ok(with(&d, cli, &["commit", "-p=false", &source, &format!("{cli}-plain")]));
        assert_eq!(committed(&d, image_id(&out), cli), r#"||["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]|["sh","-c","echo made | tee /made; exec sleep 1000"]|{"from":"run"}|[CLI-plain:latest]"#.to_string() + "\n");
        // A stopped container, by a name with spaces around it.
        ok(berth(&d, &["stop", "-t", "0", &source]));
        let out = ok(with(&d, cli, &["commit", "-p", &format!(" {source} "), &format!("localhost:5000/{cli}/stopped:x")]));
        assert_eq!(committed(&d, image_id(&out), cli).rsplit('|').next(), Some("[localhost:5000/CLI/stopped:x]\n"));
    }
}

#[test]
fn commit_refusals_match_docker() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    ok(berth(&d, &["create", "--name", "source", "busybox", "true"]));
    let r = berth(&d, &["commit", "nosuch"]);
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (Some(1), "", "Error response from daemon: No such container: nosuch\n"));
    let r = berth(&d, &["commit"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (Some(1), "berth: 'berth commit' requires at least 1 and at most 2 arguments\n\nUsage:  berth commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]\n\nRun 'berth commit --help' for more information\n")
    );
    let r = berth(&d, &["container", "commit", "--help"]);
    assert_eq!(r.code, Some(0));
    assert!(r.stdout.contains("\nUsage:  berth container commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]\n"), "{r:?}");
    for flag in ["-a, --author", "-c, --change", "-m, --message", "-p, --pause"] {
        assert!(r.stdout.contains(flag), "{flag}: {r:?}");
    }

    let hex = "16a597f27c2abe13536cc851d191b978048e326f39c645afb93976d9b53ce6bd";
    let long = "a".repeat(300);
    let digest = format!("mine@sha256:{hex}");
    let short_digest = format!("mine@sha256:{}", &hex[..32]);
    let unknown_digest = format!("mine@md5:{}", &hex[..32]);
    same_as_docker(
        &d,
        &[
            &["commit"],
            &["container", "commit"],
            &["commit", "a", "b", "c"],
            // Flags end at the container: these are arguments.
            &["commit", "source", "x", "-m", "late"],
            &["commit", "nosuch"],
            &["commit", "nosuch", "fine"],
            &["commit", ""],
            &["commit", "  ", "Bad"],
            &["commit", "-x", "source"],
            &["commit", "--pause=maybe", "source"],
            &["commit", "-m"],
            &["commit", "source", "Bad"],
            &["commit", "source", "foo/Bar:x"],
            &["commit", "source", "Foo@sha256:abc"],
            &["commit", "source", "bad//x"],
            &["commit", "source", "x:-t"],
            &["commit", "source", hex],
            &["commit", "source", &long],
            &["commit", "source", &digest],
            &["commit", "source", &short_digest],
            &["commit", "source", &unknown_digest],
            &["commit", "-c", "BOGUS x", "source"],
        ],
    );
    // None of them made an image.
    assert_eq!(ok(berth(&d, &["images", "-a", "--format", "{{.Repository}}"])), "busybox\n");
}
