//! `berth version`, `berth info`, `berth events`: output, `--format`, and what
//! happens when the daemon cannot be reached.

use std::time::Duration;

use berth_tests::daemon::Daemon;

use crate::support::{berth, berth_cmd, berth_within, docker, server_section};

#[test]
fn version_prints_docker_s_two_sections() {
    let d = Daemon::start();
    let r = berth(&d, &["version"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.starts_with("Client:\n Version:           0.1.0\n API version:       1.47\n"), "{}", r.stdout);
    assert!(r.stdout.contains("\n Context:           default\n\nServer: berth 0.1.0\n Engine:\n"), "{}", r.stdout);
    assert!(r.stdout.contains("\n  API version:      1.47 (minimum version 1.24)\n"), "{}", r.stdout);
    assert!(r.stdout.ends_with("\n  Experimental:     \n"), "{}", r.stdout);
    if let Some(want) = docker(&d, &["version"]) {
        assert_eq!(server_section(&r.stdout), server_section(&want.stdout));
    }
}

#[test]
fn version_format_matches_docker() {
    let d = Daemon::start();
    let r = berth(&d, &["version", "--format", "{{.Server.APIVersion}}"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(0), "1.47\n"), "{r:?}");
    for format in [
        "{{.Server.APIVersion}}",
        "{{.Server.Os}}/{{.Server.Arch}} {{.Server.MinAPIVersion}}",
        "{{json .Server}}",
        "{{.Server}}",
        "{{range .Server.Components}}{{.Name}} {{index .Details \"ApiVersion\"}}{{end}}",
        "{{.Client.APIVersion}} {{.Client.Context}}",
    ] {
        let r = berth(&d, &["version", "--format", format]);
        assert_eq!(r.code, Some(0), "{format}: {r:?}");
        if let Some(want) = docker(&d, &["version", "--format", format]) {
            assert_eq!(r.stdout, want.stdout, "{format}");
        }
    }
    // Errors word for word, with docker's exit statuses.
    for (format, code) in [("{{.Server.Nope}}", 1), ("{{.Server.Nope", 64), ("{{nofunc .}}", 64)] {
        let r = berth(&d, &["version", "--format", format]);
        assert_eq!(r.code, Some(code), "{format}: {r:?}");
        if let Some(want) = docker(&d, &["version", "--format", format]) {
            assert_eq!((r.code, &r.stdout, &r.stderr), (want.code, &want.stdout, &want.stderr), "{format}");
        }
    }
    let r = berth(&d, &["version", "--format", "{{.Server.Nope"]);
    assert_eq!(r.stderr, "template parsing error: template: version:1: unclosed action\n");
}

#[test]
fn info_matches_docker() {
    let d = Daemon::start();
    let r = berth(&d, &["info", "--format", "{{json .Swarm}}"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(
        r.stdout,
        "{\"NodeID\":\"\",\"NodeAddr\":\"\",\"LocalNodeState\":\"inactive\",\"ControlAvailable\":false,\"Error\":\"\",\"RemoteManagers\":null}\n"
    );
    for format in [
        "{{json .Swarm}}",
        "{{.Driver}} {{.CgroupVersion}} {{.NCPU}} {{.DockerRootDir}}",
        "{{.ID}}",
        "{{json .Plugins}}",
    ] {
        let r = berth(&d, &["info", "--format", format]);
        assert_eq!(r.code, Some(0), "{format}: {r:?}");
        if let Some(want) = docker(&d, &["info", "--format", format]) {
            assert_eq!(r.stdout, want.stdout, "{format}");
        }
    }
    let r = berth(&d, &["info"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.starts_with(
        "Client:\n Version:    0.1.0\n Context:    default\n Debug Mode: false\n\nServer:\n Containers: 0\n"
    ));
    assert!(
        r.stdout.contains(&format!("\n Docker Root Dir: {}\n", d.dir.path().join("data").display())),
        "{}",
        r.stdout
    );
    let same = berth(&d, &["system", "info"]);
    assert_eq!(server_section(&same.stdout), server_section(&r.stdout));
    if let Some(want) = docker(&d, &["info"]) {
        // Docker lists runtimes in map order; berth sorts them.
        let norm = |s: &str| -> String {
            s.lines()
                .map(|l| match l.strip_prefix(" Runtimes: ") {
                    Some(names) => {
                        let mut n: Vec<&str> = names.split(' ').collect();
                        n.sort_unstable();
                        format!(" Runtimes: {}", n.join(" "))
                    }
                    None => l.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(norm(server_section(&r.stdout)), norm(server_section(&want.stdout)));
    }
    // A template that reads only client fields needs no daemon.
    let r = berth_cmd()
        .args(["-H", "unix:///nonexistent", "info", "--format", "{{.ClientInfo.Context}}"])
        .output()
        .expect("run");
    assert_eq!(String::from_utf8_lossy(&r.stdout), "default\n");
    assert_eq!(r.status.code(), Some(0));
}

#[test]
fn an_unreachable_daemon_is_reported_like_docker() {
    let want = "Cannot connect to the berth daemon at unix:///nonexistent. Is the berth daemon running?\n";
    let r: crate::support::Ran =
        berth_cmd().args(["-H", "unix:///nonexistent", "version"]).output().expect("run").into();
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.stderr, want);
    assert!(r.stdout.starts_with("Client:\n Version:           0.1.0\n"), "{r:?}");
    assert!(!r.stdout.contains("Server:"));
    // BERTH_HOST wins over DOCKER_HOST; -H wins over both.
    let d = Daemon::start();
    let r: crate::support::Ran = berth_cmd()
        .env("BERTH_HOST", "unix:///nonexistent")
        .env("DOCKER_HOST", d.host())
        .args(["info"])
        .output()
        .expect("run")
        .into();
    assert_eq!((r.code, r.stderr.as_str()), (Some(1), want), "{r:?}");
    assert!(r.stdout.ends_with("\nServer:\n"), "{r:?}");
    let r: crate::support::Ran = berth_cmd()
        .env("BERTH_HOST", "unix:///nonexistent")
        .args(["-H", &d.host(), "version", "--format", "{{.Server.Os}}"])
        .output()
        .expect("run")
        .into();
    assert_eq!((r.code, r.stdout.as_str()), (Some(0), "linux\n"), "{r:?}");
}

#[test]
fn events_end_when_until_passes() {
    let d = Daemon::start();
    let (r, _) = berth_within(&d, &["events", "--since", "0", "--until", "1s"], Duration::from_secs(10));
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (Some(0), "", ""));
    // An until in the future (docker reads "-2s" as two seconds from now) is waited for.
    let (r, took) = berth_within(&d, &["events", "--until", "-2s", "--format", "json"], Duration::from_secs(15));
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(took >= Duration::from_millis(900), "ended after {took:?}");
    if let Some(want) = docker(&d, &["events", "--since", "0", "--until", "1s", "--format", "{{json .}}"]) {
        let (r, _) = berth_within(
            &d,
            &["events", "--since", "0", "--until", "1s", "--format", "{{json .}}"],
            Duration::from_secs(10),
        );
        assert_eq!((r.code, r.stdout), (want.code, want.stdout));
    }
    // Bad input is refused before anything is streamed, in docker's words.
    for (args, code) in [
        (&["events", "--since", "yesterday"][..], 1),
        (&["events", "--format", "{{.Nope}}"][..], 64),
        (&["events", "--filter", "bogus=1", "--until", "1s"][..], 1),
    ] {
        let (r, _) = berth_within(&d, args, Duration::from_secs(10));
        assert_eq!(r.code, Some(code), "{args:?}: {r:?}");
        if let Some(want) = docker(&d, args) {
            assert_eq!((r.code, &r.stderr), (want.code, &want.stderr), "{args:?}");
        }
    }
}
