//! The volume commands end to end: `berth volume create`, `ls`, `inspect`,
//! `rm` and `prune` against a private berthd, with their output compared with
//! the docker CLI's against the same daemon where docker is installed.

use berth_tests::daemon::Daemon;

use crate::support::{Ran, berth, berth_stdin, same_as_docker};

fn ok(r: Ran) -> String {
    assert_eq!(r.code, Some(0), "{r:?}");
    r.stdout
}

/// The names `volume ls` lists, in its order.
fn listed(d: &Daemon) -> String {
    ok(berth(d, &["volume", "ls", "--format", "{{.Name}}"]))
}

/// A 64-hex-digit name, the daemon's pick for an anonymous volume.
fn is_generated(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

#[test]
fn create_list_inspect_and_remove_volumes() {
    berth_tests::require_root!();
    let d = Daemon::start();
    assert_eq!(ok(berth(&d, &["volume", "ls"])), "DRIVER    VOLUME NAME\n");
    // One label a volume: docker prints several in Go's map order, which varies.
    assert_eq!(ok(berth(&d, &["volume", "create", "--label", "tier=web", "-o", "type=tmpfs", "-o", "device=tmpfs", "web-vol"])), "web-vol\n");
    assert_eq!(ok(berth(&d, &["volume", "create", "--label", "plain", "plain-vol"])), "plain-vol\n");
    assert_eq!(ok(berth(&d, &["volume", "create", "--name", "data2", "-d", "local"])), "data2\n");
    assert_eq!(ok(berth(&d, &["volume", "create", "data10"])), "data10\n");
    // Creating one that exists is no error: the same volume.
    assert_eq!(ok(berth(&d, &["volume", "create", "data10"])), "data10\n");
    let picked = ok(berth(&d, &["volume", "create"]));
    let picked = picked.trim_end();
    assert!(is_generated(picked), "{picked}");

    // Sorted by name in docker's natural order: data2 before data10 (the picked
    // name's place depends on its random first character).
    let table = ok(berth(&d, &["volume", "ls"]));
    assert_eq!(table.lines().filter(|l| l.ends_with(picked)).count(), 1, "{table}");
    assert_eq!(
        table.lines().filter(|l| !l.ends_with(picked)).map(|l| format!("{l}\n")).collect::<String>(),
        format!(
            "DRIVER    VOLUME NAME\nlocal     data2\nlocal     data10\nlocal     plain-vol\nlocal     web-vol\n"
        )
    );
    let quiet = ok(berth(&d, &["volume", "list", "-q"]));
    assert_eq!(quiet.lines().filter(|l| *l != picked).collect::<Vec<_>>(), ["data2", "data10", "plain-vol", "web-vol"], "{quiet}");
    assert_eq!(ok(berth(&d, &["volume", "ls", "-q", "-f", "name=data"])), "data2\ndata10\n");
    assert_eq!(
        ok(berth(&d, &["volume", "ls", "-f", "label=tier", "--format", "{{.Name}} {{.Labels}} {{.Label \"tier\"}}"])),
        "web-vol tier=web web\n"
    );
    assert_eq!(
        ok(berth(&d, &["volume", "ls", "-f", "label=plain", "--format", "{{.Name}} {{.Labels}}"])),
        "plain-vol plain=\n"
    );
    assert_eq!(ok(berth(&d, &["volume", "ls", "-q", "-f", "dangling=false"])), "");

    let inspect = ok(berth(&d, &["volume", "inspect", "web-vol"]));
    assert!(inspect.starts_with("[\n    {\n        \"CreatedAt\": \""), "{inspect}");
    let parsed: serde_json::Value = serde_json::from_str(&inspect).expect("JSON");
    assert_eq!(parsed[0]["Labels"], serde_json::json!({"tier": "web"}), "{inspect}");
    assert_eq!(parsed[0]["Options"], serde_json::json!({"type": "tmpfs", "device": "tmpfs"}), "{inspect}");
    assert_eq!(
        ok(berth(&d, &["volume", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Scope}} {{.Status}}", "web-vol", "data2"])),
        "web-vol local local map[]\ndata2 local local map[]\n"
    );
    let mountpoint = ok(berth(&d, &["volume", "inspect", "-f", "{{.Mountpoint}}", "web-vol"]));
    assert!(std::path::Path::new(mountpoint.trim_end()).is_dir(), "{mountpoint}");
    // `berth inspect` finds volumes too.
    assert_eq!(ok(berth(&d, &["inspect", "-f", "{{.Name}}", "data2"])), "data2\n");

    // A missing volume is reported after the ones found, exit 1.
    let r = berth(&d, &["volume", "inspect", "-f", "{{.Name}}", "data2", "nosuch"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(1), "data2\n"), "{r:?}");
    assert_eq!(r.stderr, "Error response from daemon: get nosuch: no such volume\n");

    same_as_docker(
        &d,
        &[
            &["volume", "ls"],
            &["volume", "ls", "-q"],
            &["volume", "ls", "--format", "json"],
            &["volume", "ls", "--format", "raw"],
            &["volume", "ls", "-q", "--format", "table"],
            &["volume", "ls", "-q", "--format", "table {{.Name}}"],
            &[
                "volume",
                "ls",
                "--format",
                "table {{.Name}}\t{{.Labels}}\t{{.Label \"tier\"}}\t{{.Links}}\t{{.Size}}\t{{.Scope}}\t{{.Mountpoint}}",
            ],
            &["volume", "ls", "--format", "{{.Availability}} {{.Group}} {{.Status}}"],
            &["volume", "ls", "-f", "dangling=true", "-f", "label=tier=web"],
            &["volume", "ls", "--cluster"],
            &["volume", "ls", "--filter", "bogus=1"],
            &["volume", "ls", "--format", "{{.Nope}}"],
            &["volume", "inspect", "web-vol", "plain-vol", "data2"],
            &["volume", "inspect", "-f", "json", "web-vol"],
            &["volume", "inspect", "-f", "{{json .}}", "web-vol"],
            &["volume", "inspect", "-f", "{{.Labels}} {{.Options}} {{.UsageData}} {{.ClusterVolume}}", "web-vol"],
            &["volume", "inspect", "-f", "{{.Nope}}", "web-vol"],
            &["volume", "inspect", "nosuch"],
            &["volume", "inspect", " data2 "],
            &["volume", "inspect", ""],
            &["volume", "create", "web-vol"],
            &["volume", "create", "-d", "nosuch", "x"],
            &["volume", "create", "bad/name"],
            &["volume", "rm", "nosuch"],
            &["volume", "rm", "-f", "nosuch"],
            &["volume", "rm", ""],
        ],
    );

    // Removal prints each name as given; the failures come together at the end.
    let r = berth(&d, &["volume", "rm", "nosuch", "data2", "", "data10"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(1), "data2\ndata10\n"), "{r:?}");
    assert_eq!(
        r.stderr,
        "Error response from daemon: get nosuch: no such volume\ninvalid volume name or ID: value is empty\n"
    );
    assert_eq!(ok(berth(&d, &["volume", "remove", picked])), format!("{picked}\n"));
    // -f forgives a missing volume, whose name is printed all the same.
    let r = berth(&d, &["volume", "rm", "-f", "web-vol", "plain-vol", "data2"]);
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (Some(0), "web-vol\nplain-vol\ndata2\n", ""), "{r:?}");
    assert_eq!(listed(&d), "");
}

#[test]
fn volumes_in_use_are_kept_and_prune_asks_first() {
    berth_tests::require_root!();
    let d = Daemon::start();
    d.load_busybox();
    ok(berth(&d, &["volume", "create", "--label", "keep=yes", "named"]));
    ok(berth(&d, &["volume", "create", "used"]));
    // Anonymous volumes: made for a container's `-v /path`, left when it goes.
    let id = ok(berth(&d, &["create", "-v", "/anon", "busybox", "true"]));
    ok(berth(&d, &["rm", id.trim_end()]));
    ok(berth(&d, &["create", "--name", "user", "-v", "used:/data", "-v", "/anon", "busybox", "true"]));
    let anonymous: Vec<String> = listed(&d).lines().filter(|n| is_generated(n)).map(String::from).collect();
    assert_eq!(anonymous.len(), 2, "{}", listed(&d));
    assert_eq!(ok(berth(&d, &["volume", "ls", "-q", "-f", "dangling=false"])).lines().count(), 2);

    // A volume a container uses is refused, in the daemon's words.
    let container = ok(berth(&d, &["inspect", "-f", "{{.Id}}", "user"]));
    let r = berth(&d, &["volume", "rm", "used"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(1), ""), "{r:?}");
    assert_eq!(
        r.stderr,
        format!("Error response from daemon: remove used: volume is in use - [{}]\n", container.trim_end())
    );

    // Without -f it asks; no answer (stdin is empty) keeps everything, status 0.
    let before = listed(&d);
    let r = berth(&d, &["volume", "prune"]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (
            Some(0),
            "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ",
            ""
        )
    );
    let r = berth_stdin(&d, &["volume", "prune", "-a"], b"n\n");
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (
            Some(0),
            "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] "
        )
    );
    assert_eq!(listed(&d), before);

    // Confirmed: only the anonymous volume no container uses goes.
    let template = "{{range .Mounts}}{{if eq .Destination \"/anon\"}}{{.Name}}{{end}}{{end}}";
    let kept = ok(berth(&d, &["inspect", "-f", template, "user"]));
    let unused = anonymous.iter().find(|n| **n != kept.trim_end()).expect("an anonymous volume no container uses");
    let r = berth_stdin(&d, &["volume", "prune"], b"y\n");
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (
            Some(0),
            format!(
                "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] Deleted Volumes:\n{unused}\n\nTotal reclaimed space: 0B\n"
            )
            .as_str(),
            ""
        )
    );
    assert_eq!(listed(&d), before.replace(&format!("{unused}\n"), ""));
    // Nothing anonymous and unused is left.
    assert_eq!(ok(berth(&d, &["volume", "prune", "-f"])), "Total reclaimed space: 0B\n");

    // --all takes named ones too, narrowed by label; what a container uses stays.
    assert_eq!(
        ok(berth(&d, &["volume", "prune", "-a", "-f", "--filter", "label!=keep"])),
        "Total reclaimed space: 0B\n"
    );
    let r = berth(&d, &["volume", "prune", "-a", "--filter", "all=1"]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (Some(1), "", "conflicting options: cannot specify both --all and --filter all=1\n")
    );
    same_as_docker(
        &d,
        &[
            &["volume", "rm", "used"],
            &["volume", "prune"],
            &["volume", "prune", "-a"],
            &["volume", "prune", "-f"],
            &["volume", "prune", "-a", "--filter", "all=1"],
            &["volume", "prune", "-f", "--filter", "bogus=1"],
        ],
    );
    let out = ok(berth(&d, &["volume", "prune", "--all", "--force"]));
    assert_eq!(out, "Deleted Volumes:\nnamed\n\nTotal reclaimed space: 0B\n");
    ok(berth(&d, &["rm", "-v", "user"]));
    let out = ok(berth(&d, &["volume", "prune", "-a", "-f"]));
    assert_eq!(out, "Deleted Volumes:\nused\n\nTotal reclaimed space: 0B\n");
    assert_eq!(listed(&d), "");
}

#[test]
fn volume_usage_errors_match_docker() {
    berth_tests::require_root!();
    let d = Daemon::start();
    let r = berth(&d, &["volume"]);
    assert_eq!(r.code, Some(0));
    assert!(r.stdout.starts_with("Manage volumes\n\nUsage:  berth volume COMMAND\n"), "{r:?}");
    for sub in ["create", "inspect", "ls", "prune", "rm"] {
        assert!(r.stdout.contains(&format!("\n  {sub} ")), "{sub}: {r:?}");
    }
    let r = berth(&d, &["volume", "create", "a", "b"]);
    assert_eq!(r.code, Some(1));
    // "SRun" is docker's own typo, kept.
    assert_eq!(
        r.stderr,
        "berth: 'berth volume create' requires at most 1 argument\n\nUsage:  berth volume create [OPTIONS] [VOLUME]\n\nSRun 'berth volume create --help' for more information\n"
    );
    same_as_docker(
        &d,
        &[
            &["volume", "bogus"],
            &["volume", "--bogus"],
            &["volume", "create", "a", "b"],
            &["volume", "create", "--name", "a", "b"],
            &["volume", "create", "--label", "=v", "x"],
            &["volume", "create", "--label"],
            &["volume", "ls", "extra"],
            &["volume", "ls", "--bogus"],
            &["volume", "ls", "-f", "nofilter"],
            &["volume", "ls", "--format", "{{.Name"],
            &["volume", "inspect"],
            &["volume", "inspect", "-f"],
            &["volume", "inspect", "-f", "{{.Name", "x"],
            &["volume", "rm"],
            &["volume", "rm", "-x", "a"],
            &["volume", "prune", "extra"],
            &["volume", "prune", "--filter", "nofilter"],
        ],
    );
    // None of them made a volume.
    assert_eq!(listed(&d), "");
}
