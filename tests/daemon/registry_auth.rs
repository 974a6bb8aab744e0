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
    berth_with(d, args, input, &[])
}

/// [`berth`] with more environment.
fn berth_with(d: &Daemon, args: &[&str], input: &[u8], env: &[(&str, &std::ffi::OsStr)]) -> Output {
    use std::io::Write;
    let mut child = Command::new(berth_tests::bin("berth"))
        .env("DOCKER_HOST", d.host())
        .env("DOCKER_CONFIG", d.dir.path().join("docker-config"))
        .envs(env.iter().copied())
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
    let Some(d) = Daemon::for_docker() else { return };
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
    let Some(d) = Daemon::for_docker() else { return };
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

/// With `credsStore` in config.json, `berth login` hands the credentials to the
/// helper (`docker-credential-<name> store`), nothing in plain text; pulls get them
/// back from it (`get`), and `logout` erases them (`erase`).
#[test]
fn a_credential_helper_keeps_the_password() {
    berth_tests::require_root!();
    let Some(reg) = Registry::start_with_user(USER, PASSWORD) else { return };
    let d = Daemon::start();
    reg.push_busybox("bb:1");
    let h = &reg.host;
    // A helper of the test's own: a file beside it is its keychain.
    let helpers = tempfile::tempdir().unwrap();
    let keychain = helpers.path().join("keychain.json");
    let script = format!(
        "#!/bin/sh\ncase \"$1\" in\n  store) cat > {k} ;;\n  get) read server; [ -f {k} ] && cat {k} || {{ echo 'credentials not found in native keychain'; exit 1; }} ;;\n  erase) read server; rm -f {k} ;;\nesac\n",
        k = keychain.display()
    );
    let helper = helpers.path().join("docker-credential-berthtest");
    std::fs::write(&helper, script).unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let config_dir = d.dir.path().join("docker-config");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(config_dir.join("config.json"), r#"{"credsStore": "berthtest"}"#).unwrap();
    let path = format!("{}:{}", helpers.path().display(), std::env::var("PATH").unwrap_or_default());
    let run = |args: &[&str], input: &[u8]| berth_with(&d, args, input, &[("PATH", std::ffi::OsStr::new(&path))]);
    let o = run(&["login", "-u", USER, "--password-stdin", h], format!("{PASSWORD}\n").as_bytes());
    assert_eq!(String::from_utf8_lossy(&o.stdout), "Login Succeeded\n", "{o:?}");
    assert!(!String::from_utf8_lossy(&o.stderr).contains("unencrypted"), "{o:?}");
    let kept: serde_json::Value = serde_json::from_slice(&std::fs::read(&keychain).unwrap()).unwrap();
    assert_eq!((kept["ServerURL"].as_str(), kept["Username"].as_str(), kept["Secret"].as_str()), (Some(h.as_str()), Some(USER), Some(PASSWORD)));
    assert!(!std::fs::read_to_string(config_dir.join("config.json")).unwrap().contains(PASSWORD), "nothing in plain text");
    let o = run(&["pull", &format!("{h}/bb:1")], b"");
    assert!(o.status.success(), "{o:?}");
    assert_eq!(String::from_utf8_lossy(&run(&["logout", h], b"").stdout), format!("Removing login credentials for {h}\n"));
    assert!(!keychain.exists(), "erased");
}

/// A registry on HTTPS that lets in only clients with a certificate of its CA: a
/// daemon with that certificate in `certs.d/<host>/` beside its daemon.json pulls; one
/// without is refused, and one with a certificate it cannot use says so (and lives).
#[test]
fn client_certificates_come_from_certs_d() {
    berth_tests::require_root!();
    let Some(reg) = Registry::start_with_client_certificates() else { return };
    reg.push_busybox("bb:1");
    let certs = reg.tls.clone().unwrap();
    let image = format!("{}/bb:1", reg.host);

    let Some(with) = Daemon::for_docker() else { return };
    let dir = with.dir.path().join("certs.d").join(&reg.host);
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["ca.crt", "client.cert", "client.key"] {
        std::fs::copy(certs.join(f), dir.join(f)).unwrap();
    }
    let o = with.docker(&["pull", &image]).unwrap();
    assert!(o.status.success(), "{o:?}\n{}", with.log());
    assert_eq!(ok(with.docker(&["run", "--rm", &image, "echo", "over tls"]).unwrap()), "over tls\n");

    let without = Daemon::start();
    let o = without.docker(&["pull", &image]).unwrap();
    assert_eq!(o.status.code(), Some(1), "{o:?}");

    // A certificate the TLS client cannot use (X.509 v1): the pull says which file,
    // and the daemon goes on.
    let dir = without.dir.path().join("certs.d").join(&reg.host);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(certs.join("client.key"), dir.join("client.key")).unwrap();
    std::fs::copy(certs.parent().unwrap().join("old-client.pem"), dir.join("client.cert")).unwrap();
    let o = without.docker(&["pull", &image]).unwrap();
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("client.cert"), "{o:?}");
    assert!(without.docker(&["version"]).unwrap().status.success(), "berthd still answers");
}
