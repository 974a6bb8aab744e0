//! The network commands end to end: `berth network create`, `ls`, `inspect`,
//! `connect`, `disconnect`, `rm` and `prune` against a private berthd, with
//! their output compared with the docker CLI's against the same daemon where
//! docker is installed.
//!
//! Every subnet a test names is a /24 it claimed for itself
//! ([`TestNetwork::claim`]), bridged under the claim's own name, so tests
//! running side by side never share an address or a link; networks created
//! without a subnet come from the daemon's own claimed pool.

use berth_tests::daemon::{Daemon, TestNetwork};

use crate::support::{Ran, berth, same_as_docker};

fn ok(r: Ran) -> String {
    assert_eq!(r.code, Some(0), "{r:?}");
    r.stdout
}

/// `berth network create` with the claimed /24, its gateway, a label and the
/// claim's bridge name; returns the new id.
fn create_on(d: &Daemon, net: &TestNetwork, name: &str) -> String {
    let id = ok(berth(
        d,
        &[
            "network",
            "create",
            "--subnet",
            &format!("{}.0/24", net.net),
            "--gateway",
            &format!("{}.1", net.net),
            "--label",
            "tier=web",
            "-o",
            &format!("com.docker.network.bridge.name={}", net.bridge),
            name,
        ],
    ));
    let id = id.trim_end().to_string();
    assert_eq!(id.len(), 64, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    id
}

#[test]
fn create_list_inspect_and_remove_networks() {
    berth_tests::require_root!();
    // Claimed before the daemon starts, released after it stops.
    let net = TestNetwork::claim();
    let d = Daemon::start();
    let id = create_on(&d, &net, "web-net");
    let short = &id[..12];

    let table = ok(berth(&d, &["network", "ls"]));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "NETWORK ID     NAME      DRIVER    SCOPE", "{table}");
    assert!(lines.contains(&format!("{short}   web-net   bridge    local").as_str()), "{table}");
    // Sorted by name: the builtin bridge, host and none around ours.
    let names: Vec<&str> = lines[1..].iter().map(|l| l.split_whitespace().nth(1).unwrap_or("")).collect();
    assert_eq!(names, ["bridge", "host", "none", "web-net"], "{table}");
    assert!(ok(berth(&d, &["network", "ls", "-q"])).lines().any(|l| l == short));
    assert_eq!(ok(berth(&d, &["network", "list", "-q", "--no-trunc", "--filter", "name=web-net"])), format!("{id}\n"));
    assert_eq!(ok(berth(&d, &["network", "ls", "-f", "name=web", "--format", "{{.Name}}"])), "web-net\n");
    assert_eq!(
        ok(berth(&d, &["network", "ls", "-f", "label=tier=web", "--format", "{{.Name}} {{.Label \"tier\"}}"])),
        "web-net web\n"
    );
    assert_eq!(ok(berth(&d, &["network", "ls", "-f", "name=nosuch", "-q"])), "");

    let subnet = format!("{}.0/24", net.net);
    assert_eq!(
        ok(berth(&d, &["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", "web-net"])),
        format!("{subnet}\n")
    );
    assert_eq!(
        ok(berth(
            &d,
            &[
                "network",
                "inspect",
                "-f",
                "{{.Id}} {{.Driver}} {{index .Labels \"tier\"}} {{index .Options \"com.docker.network.bridge.name\"}}",
                short
            ]
        )),
        format!("{id} bridge web {}\n", net.bridge)
    );
    let inspect = ok(berth(&d, &["network", "inspect", "web-net"]));
    assert!(inspect.starts_with("[\n    {\n        \"Name\": \"web-net\",\n"), "{inspect}");
    let parsed: serde_json::Value = serde_json::from_str(&inspect).expect("JSON");
    assert_eq!(parsed[0]["IPAM"]["Config"][0]["Gateway"], format!("{}.1", net.net));
    // `berth inspect` finds networks too.
    assert_eq!(ok(berth(&d, &["inspect", "-f", "{{.Name}}", "web-net"])), "web-net\n");

    // A missing network is reported after the ones found, exit 1.
    let r = berth(&d, &["network", "inspect", "-f", "{{.Name}}", "web-net", "nosuch"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(1), "web-net\n"), "{r:?}");
    assert_eq!(r.stderr, "Error response from daemon: network nosuch not found\n");

    same_as_docker(
        &d,
        &[
            &["network", "ls"],
            &["network", "ls", "--no-trunc"],
            &["network", "ls", "-q", "--filter", "driver=bridge"],
            &["network", "ls", "--format", "json"],
            &[
                "network",
                "ls",
                "--format",
                "table {{.Name}}\t{{.IPv4}}\t{{.Internal}}\t{{.Labels}}\t{{.Label \"tier\"}}",
            ],
            &["network", "ls", "--filter", "bogus=1"],
            &["network", "inspect", "web-net"],
            &["network", "inspect", "-f", "json", "web-net"],
            &["network", "inspect", "-f", "{{json .}}", "web-net"],
            &["network", "inspect", "-f", "{{.ID}} {{.Created}} {{.IPAM}} {{.ConfigFrom}} {{.Containers}}", "web-net"],
            &["network", "inspect", "-f", "{{.Nope}}", "web-net"],
            &["network", "inspect", "--verbose", "web-net"],
            &["network", "inspect", "nosuch"],
            &["network", "create", "web-net"],
            &["network", "rm", "nosuch"],
            &["network", "rm", "-f", "nosuch"],
        ],
    );

    // Removal prints each name as given; failures say why, then docker's status line.
    let r = berth(&d, &["network", "rm", "web-net", "nosuch"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(1), "web-net\n"), "{r:?}");
    assert_eq!(r.stderr, "Error response from daemon: network nosuch not found\nexit status 1\n");
    assert_eq!(ok(berth(&d, &["network", "ls", "-q", "-f", "name=web-net"])), "");
    let r = berth(&d, &["network", "rm", "-f", "web-net"]);
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (Some(0), "", ""), "{r:?}");

    // The daemon's JSON is printed as it comes, so its maps must come with
    // their keys sorted, as docker's daemon (Go's encoder) sends them, or the
    // same network prints differently from one inspect to the next.
    let inspect = ok(berth(&d, &["network", "inspect", "bridge"]));
    let parsed: serde_json::Value = serde_json::from_str(&inspect).expect("JSON");
    let options: Vec<&str> = parsed[0]["Options"].as_object().expect("options").keys().map(String::as_str).collect();
    assert!(options.len() > 1, "{inspect}");
    let printed: Vec<&str> = inspect
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix('"')?.split('"').next())
        .filter(|k| options.contains(k))
        .collect();
    let mut sorted = printed.clone();
    sorted.sort_unstable();
    assert_eq!(printed, sorted, "the default bridge's options, as berthd sent them:\n{inspect}");
}

#[test]
fn connect_and_disconnect_a_created_container() {
    berth_tests::require_root!();
    let net = TestNetwork::claim();
    let d = Daemon::start();
    d.load_busybox();
    create_on(&d, &net, "app-net");
    ok(berth(&d, &["create", "--name", "app", "busybox", "true"]));
    let networks = |d: &Daemon| -> serde_json::Value {
        let out = ok(berth(d, &["inspect", "-f", "{{json .NetworkSettings.Networks}}", "app"]));
        serde_json::from_str(&out).expect("JSON")
    };
    assert!(networks(&d).get("app-net").is_none());

    let ip = format!("{}.10", net.net);
    assert_eq!(ok(berth(&d, &["network", "connect", "--ip", &ip, "--alias", "web,www", "app-net", "app"])), "");
    let attached = networks(&d);
    let endpoint = &attached["app-net"];
    assert_eq!(endpoint["IPAMConfig"]["IPv4Address"], ip.as_str(), "{attached}");
    assert_eq!(endpoint["Aliases"], serde_json::json!(["web", "www"]), "{attached}");
    let net_id = ok(berth(&d, &["network", "inspect", "-f", "{{.Id}}", "app-net"]));
    assert_eq!(endpoint["NetworkID"], net_id.trim_end(), "{attached}");
    // The default bridge it was created on stays.
    assert!(attached.get("bridge").is_some(), "{attached}");

    same_as_docker(
        &d,
        &[
            &["network", "connect", "app-net", "app"],
            &["network", "connect", "nosuch", "app"],
            &["network", "connect", "app-net", "nosuch"],
            &["network", "connect", "--driver-opt", "novalue", "app-net", "app"],
            &["network", "disconnect", "nosuch", "app"],
        ],
    );

    assert_eq!(ok(berth(&d, &["network", "disconnect", "app-net", "app"])), "");
    let detached = networks(&d);
    assert!(detached.get("app-net").is_none(), "{detached}");
    assert!(detached.get("bridge").is_some(), "{detached}");
    let r = berth(&d, &["network", "disconnect", "app-net", "app"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.starts_with("Error response from daemon: "), "{r:?}");

    // Connected again, then forced off.
    ok(berth(&d, &["network", "connect", "app-net", "app"]));
    assert!(networks(&d).get("app-net").is_some());
    assert_eq!(ok(berth(&d, &["network", "disconnect", "-f", "app-net", "app"])), "");
    assert!(networks(&d).get("app-net").is_none());
    ok(berth(&d, &["rm", "app"]));
}

#[test]
fn prune_removes_unused_networks_after_confirmation() {
    berth_tests::require_root!();
    let d = Daemon::start();
    // No subnet named: each comes from the daemon's own pool.
    for name in ["unused-1", "unused-2"] {
        ok(berth(&d, &["network", "create", name]));
    }
    let listed = || ok(berth(&d, &["network", "ls", "--format", "{{.Name}}"]));
    assert_eq!(listed(), "bridge\nhost\nnone\nunused-1\nunused-2\n");

    // Without -f it asks; no answer (stdin is empty) keeps everything, status 0.
    let r = berth(&d, &["network", "prune"]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (
            Some(0),
            "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ",
            ""
        )
    );
    assert_eq!(listed(), "bridge\nhost\nnone\nunused-1\nunused-2\n");

    let out = ok(berth(&d, &["network", "prune", "-f"]));
    let mut lines: Vec<&str> = out.lines().collect();
    assert_eq!((lines.first(), lines.last()), (Some(&"Deleted Networks:"), Some(&"")), "{out}");
    lines.sort();
    assert_eq!(lines, ["", "Deleted Networks:", "unused-1", "unused-2"], "{out}");
    assert_eq!(listed(), "bridge\nhost\nnone\n");
    // Nothing left to remove: nothing printed.
    assert_eq!(ok(berth(&d, &["network", "prune", "-f"])), "");
    same_as_docker(
        &d,
        &[&["network", "prune", "-f"], &["network", "prune"], &["network", "prune", "--filter", "bogus=1", "-f"]],
    );
}

#[test]
fn network_usage_errors_match_docker() {
    berth_tests::require_root!();
    // Refused before the daemon is asked, but named from a range of the test's
    // own all the same.
    let net = TestNetwork::claim();
    let d = Daemon::start();
    let r = berth(&d, &["network"]);
    assert_eq!(r.code, Some(0));
    assert!(r.stdout.starts_with("Manage networks\n"), "{r:?}");
    for sub in ["connect", "create", "disconnect", "inspect", "ls", "prune", "rm"] {
        assert!(r.stdout.contains(&format!("\n  {sub} ")), "{sub}: {r:?}");
    }
    let r = berth(&d, &["network", "connect", "only-one"]);
    assert_eq!(r.code, Some(1));
    assert_eq!(
        r.stderr,
        "berth: 'berth network connect' requires 2 arguments\n\nUsage:  berth network connect [OPTIONS] NETWORK CONTAINER\n\nRun 'berth network connect --help' for more information\n"
    );
    let n = &net.net;
    let (whole, half) = (format!("{n}.0/24"), format!("{n}.0/25"));
    let (low, high, outside) = (format!("{n}.0/26"), format!("{n}.64/26"), format!("{n}.200"));
    let r = berth(&d, &["network", "create", "--subnet", &half, "--gateway", &outside, "x"]);
    assert_eq!((r.code, r.stderr.as_str()), (Some(1), format!("no matching subnet for gateway {outside}\n").as_str()));
    let aux = format!("r={outside}");
    same_as_docker(
        &d,
        &[
            &["network", "bogus"],
            &["network", "ls", "extra"],
            &["network", "ls", "--bogus"],
            &["network", "ls", "-f", "nofilter"],
            &["network", "ls", "--format", "{{.Nope}}"],
            &["network", "inspect"],
            &["network", "inspect", "-f", "{{.Name", "x"],
            &["network", "rm"],
            &["network", "create"],
            &["network", "create", "a", "b"],
            &["network", "create", "--ipv6=maybe", "x"],
            &["network", "create", "--label", "=v", "x"],
            &["network", "create", "--gateway", &outside, "x"],
            &["network", "create", "--subnet", &whole, "--subnet", &low, "x"],
            &["network", "create", "--subnet", &half, "--ip-range", &low, "--ip-range", &high, "x"],
            &[
                "network",
                "create",
                "--subnet",
                &half,
                "--subnet",
                &format!("{n}.128/25"),
                "--ip-range",
                &low,
                "--ip-range",
                &high,
                "x",
            ],
            &["network", "create", "--subnet", &half, "--aux-address", &aux, "x"],
            &["network", "connect", "x"],
            &["network", "connect", "--driver-opt", "=v", "x", "y"],
            &["network", "disconnect", "x", "y", "z"],
            &["network", "prune", "extra"],
        ],
    );
    // None of them made a network.
    assert_eq!(ok(berth(&d, &["network", "ls", "--format", "{{.Name}}"])), "bridge\nhost\nnone\n");
}
