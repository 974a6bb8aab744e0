//! A registry that asks for a password (HTTP Basic, htpasswd): pulls and pushes are
//! refused without credentials; `docker login` through berthd (`POST /auth`) refuses
//! a wrong password in the registry's words and keeps a right one, which later pulls
//! and pushes send (`X-Registry-Auth`); `berth login`/`logout` keep them in the same
//! file, so that either CLI uses what the other stored.

use std::process::{Command, Output, Stdio};

use berth_tests::daemon::Daemon;
use berth_tests::registry::Registry;

const USER: &str = "tester";
const PASSWORD: &str = "s3cret:pw";

fn ok(o: Output) -> String {
    assert!(o.status.success(), "status {:?}, stderr: {}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// berth's CLI with the docker CLI's config directory: their credentials are one.
fn berth(d: &Daemon, args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(berth_tests::bin("berth"))
        .env("DOCKER_HOST", d.host())
        .env("DOCKER_CONFIG", d.dir.path().join("docker-config"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_registry_with_a_password_lets_in_those_who_logged_in() {
    berth_tests::require_root!();
    let Some(reg) = Registry::start_with_user(USER, PASSWORD) else { return };
    let d = Daemon::start();
    if d.docker(&["version"]).is_none() {
        berth_tests::skip("no docker CLI");
        return;
    }
    reg.push_busybox("bb:1");
    let h = &reg.host;
    let image = format!("{h}/bb:1");
    let config = d.dir.path().join("docker-config/config.json");

    // No credentials: refused.
    let o = d.docker(&["pull", &image]).unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("denied") || err.contains("unauthorized"), "{err}");

    // A wrong password: refused by the registry, nothing kept.
    let o = d.docker_with_input(&["login", "-u", USER, "--password-stdin", h], b"wrong\n").unwrap();
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("unauthorized"), "{o:?}");
    assert!(!std::fs::read_to_string(&config).unwrap_or_default().contains(h.as_str()));

    // The docker CLI logs in through berthd; pulls and pushes go through.
    let out = ok(d.docker_with_input(&["login", "-u", USER, "--password-stdin", h], format!("{PASSWORD}\n").as_bytes()).unwrap());
    assert!(out.contains("Login Succeeded"), "{out}");
    ok(d.docker(&["pull", &image]).unwrap());
    ok(d.docker(&["tag", &image, &format!("{h}/mine:1")]).unwrap());
    let out = ok(d.docker(&["push", &format!("{h}/mine:1")]).unwrap());
    assert!(out.contains("1: digest: sha256:"), "{out}");

    // berth's CLI uses what docker's stored, and forgets it on logout.
    ok(d.docker(&["rmi", &image]).unwrap());
    ok(berth(&d, &["pull", &image], b""));
    let out = ok(berth(&d, &["logout", h], b""));
    assert_eq!(out, format!("Removing login credentials for {h}\n"));
    ok(d.docker(&["rmi", &image]).unwrap());
    let o = berth(&d, &["pull", &image], b"");
    assert_eq!(o.status.code(), Some(1), "{o:?}");

    // berth login: refused with a wrong password, kept with the right one, in
    // docker's format.
    let o = berth(&d, &["login", "-u", USER, "--password-stdin", h], b"wrong\n");
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("unauthorized"), "{o:?}");
    let o = berth(&d, &["login", "--password-stdin", h], b"x\n");
    assert!(String::from_utf8_lossy(&o.stderr).contains("Must provide --username with --password-stdin"), "{o:?}");
    let out = ok(berth(&d, &["login", "-u", USER, "--password-stdin", h], format!("{PASSWORD}\n").as_bytes()));
    assert_eq!(out, "Login Succeeded\n");
    let kept: serde_json::Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    assert!(kept["auths"][h.as_str()]["auth"].is_string(), "{kept}");
    ok(d.docker(&["pull", &image]).unwrap());
    assert_eq!(ok(berth(&d, &["logout", h], b"")), format!("Removing login credentials for {h}\n"));
    assert_eq!(ok(berth(&d, &["logout", h], b"")), format!("Not logged in to {h}\n"));
}

/// A registry that takes bearer tokens from a token server (Docker Hub's scheme):
/// without a login the server's token grants nothing and the pull is denied; a
/// wrong password is refused by the token server at login; after a login, pulls and
/// pushes get tokens for their scopes, each fetched once and reused for every
/// request of that scope.
#[test]
fn a_token_server_gives_tokens_to_those_who_logged_in() {
    berth_tests::require_root!();
    let Some(reg) = Registry::start_with_tokens(USER, PASSWORD) else { return };
    let d = Daemon::start();
    if d.docker(&["version"]).is_none() {
        berth_tests::skip("no docker CLI");
        return;
    }
    reg.push_busybox("bb:1");
    let h = &reg.host;
    let image = format!("{h}/bb:1");
    let issued = || reg.tokens.as_ref().unwrap().issued.load(std::sync::atomic::Ordering::Relaxed);
    let o = d.docker(&["pull", &image]).unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("pull access denied for") || err.contains("unauthorized"), "{err}");

    let o = d.docker_with_input(&["login", "-u", USER, "--password-stdin", h], b"wrong\n").unwrap();
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("unauthorized"), "{o:?}");
    let out = ok(d.docker_with_input(&["login", "-u", USER, "--password-stdin", h], format!("{PASSWORD}\n").as_bytes()).unwrap());
    assert!(out.contains("Login Succeeded"), "{out}");

    // A pull: manifest, config and layer under one token.
    let before = issued();
    ok(d.docker(&["pull", &image]).unwrap());
    assert_eq!(issued() - before, 1, "one token for the pull's scope");
    assert_eq!(ok(d.docker(&["run", "--rm", &image, "echo", "in"]).unwrap()), "in\n");
    ok(d.docker(&["tag", &image, &format!("{h}/mine:1")]).unwrap());
    let out = ok(d.docker(&["push", &format!("{h}/mine:1")]).unwrap());
    assert!(out.contains("1: digest: sha256:"), "{out}");
}
