//! Health checks through berthd with the real docker CLI: `--health-*` probes that
//! turn a container healthy and unhealthy, inspect's `State.Health`, `ps` statuses and
//! the `health` filter, `health_status` and probe exec events, timeouts, an image's
//! HEALTHCHECK and `--no-healthcheck`, pause, a daemon `kill -9`, and bad values.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use berth_tests::daemon::{Daemon, block_on};
use serde_json::{Value, json};

fn ok(o: Output) -> String {
    assert!(o.status.success(), "status {:?}, stderr: {}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn daemon() -> Option<Daemon> {
    Daemon::with_busybox_for_docker()
}

fn docker(d: &Daemon, args: &[&str]) -> Output {
    d.docker(args).expect("docker CLI")
}

fn inspect(d: &Daemon, name: &str, format: &str) -> String {
    ok(docker(d, &["inspect", "-f", format, name])).trim().to_string()
}

fn health(d: &Daemon, name: &str) -> Value {
    serde_json::from_str(&inspect(d, name, "{{json .State.Health}}")).expect("State.Health as JSON")
}

fn status(d: &Daemon, name: &str) -> String {
    inspect(d, name, "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}")
}

fn ps_status(d: &Daemon, name: &str) -> String {
    ok(docker(d, &["ps", "-a", "--filter", &format!("name=^{name}$"), "--format", "{{.Status}}"])).trim().to_string()
}

/// The names `ps --filter health=…` lists.
fn with_health(d: &Daemon, value: &str) -> Vec<String> {
    let out = ok(docker(d, &["ps", "--filter", &format!("health={value}"), "--format", "{{.Names}}"]));
    let mut names: Vec<String> = out.lines().map(String::from).collect();
    names.sort();
    names
}

fn wait_for_status(d: &Daemon, name: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = status(d, name);
        if now == want {
            return;
        }
        assert!(Instant::now() < deadline, "{name} stayed {now}, never {want}: {}", health(d, name));
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[test]
fn probes_turn_a_container_healthy_then_unhealthy() {
    berth_tests::require_root!();
    let Some(d) = daemon() else { return };
    let since = now_secs().to_string();
    // Failures in the start period do not count while the container is starting.
    ok(docker(&d, &[
        "run", "-d", "--name", "web", "--health-cmd", "test -e /tmp/ok", "--health-interval", "200ms",
        "--health-retries", "2", "--health-start-period", "1m", "--health-start-interval", "100ms",
        "busybox", "sleep", "1000",
    ]));
    assert_eq!(status(&d, "web"), "starting");
    assert!(ps_status(&d, "web").ends_with(" (health: starting)"), "{}", ps_status(&d, "web"));
    assert_eq!(with_health(&d, "starting"), ["web"]);
    std::thread::sleep(Duration::from_millis(600));
    let h = health(&d, "web");
    assert_eq!((h["Status"].as_str(), h["FailingStreak"].as_i64()), (Some("starting"), Some(0)), "{h}");
    assert!(h["Log"].as_array().is_some_and(|l| !l.is_empty() && l.iter().all(|r| r["ExitCode"] == 1)), "{h}");

    ok(docker(&d, &["exec", "web", "touch", "/tmp/ok"]));
    wait_for_status(&d, "web", "healthy");
    assert!(ps_status(&d, "web").starts_with("Up ") && ps_status(&d, "web").ends_with(" (healthy)"), "{}", ps_status(&d, "web"));
    assert_eq!(with_health(&d, "healthy"), ["web"]);
    assert!(with_health(&d, "starting").is_empty());

    // The success ended the start period's leniency: two failures make it unhealthy.
    ok(docker(&d, &["exec", "web", "rm", "/tmp/ok"]));
    wait_for_status(&d, "web", "unhealthy");
    assert!(ps_status(&d, "web").ends_with(" (unhealthy)"), "{}", ps_status(&d, "web"));
    assert_eq!(with_health(&d, "unhealthy"), ["web"]);
    let h = health(&d, "web");
    assert!(h["FailingStreak"].as_i64() >= Some(2), "{h}");
    let log = h["Log"].as_array().unwrap();
    assert!(log.len() <= 5, "{h}");
    let last = log.last().unwrap();
    assert_eq!(last["ExitCode"], 1, "{h}");
    for t in ["Start", "End"] {
        assert!(last[t].as_str().is_some_and(|s| s.starts_with("20")), "{h}");
    }
    assert!(log.iter().any(|r| r["ExitCode"] == 0), "{h}");

    // Stopped, it reads unhealthy as in Docker; started again, it starts over (the log stays).
    ok(docker(&d, &["stop", "-t", "0", "web"]));
    assert_eq!(status(&d, "web"), "unhealthy");
    assert!(ps_status(&d, "web").starts_with("Exited (137)"), "{}", ps_status(&d, "web"));
    ok(docker(&d, &["start", "web"]));
    assert_eq!(status(&d, "web"), "starting");
    assert!(!health(&d, "web")["Log"].as_array().unwrap().is_empty());
    assert_eq!(health(&d, "web")["FailingStreak"], 0);
    ok(docker(&d, &["rm", "-f", "web"]));

    let until = (now_secs() + 1).to_string();
    let events = ok(docker(&d, &["events", "--since", &since, "--until", &until, "--filter", "container=web", "--format", "{{.Action}}|{{.Actor.Attributes.execID}}"]));
    let actions: Vec<(&str, &str)> = events.lines().filter_map(|l| l.split_once('|')).collect();
    for want in ["health_status: healthy", "health_status: unhealthy"] {
        assert!(actions.iter().any(|(a, _)| *a == want), "{want} missing from {actions:?}");
    }
    // Each probe is an exec, announced as Docker announces them.
    for want in ["exec_create: /bin/sh -c test -e /tmp/ok", "exec_start: /bin/sh -c test -e /tmp/ok", "exec_die"] {
        assert!(actions.iter().any(|(a, exec)| *a == want && exec.len() == 64), "{want} missing from {actions:?}");
    }
    assert!(!actions.iter().any(|(a, _)| a.starts_with("health_status: starting")), "{actions:?}");
}

#[test]
fn a_probe_past_its_timeout_is_killed_and_recorded() {
    berth_tests::require_root!();
    let Some(d) = daemon() else { return };
    ok(docker(&d, &[
        "run", "-d", "--name", "slow", "--health-cmd", "echo begun; sleep 30", "--health-timeout", "300ms",
        "--health-interval", "100ms", "--health-retries", "2", "busybox", "sleep", "1000",
    ]));
    wait_for_status(&d, "slow", "unhealthy");
    let h = health(&d, "slow");
    let first = &h["Log"][0];
    assert_eq!(first["ExitCode"], -1, "{h}");
    assert_eq!(first["Output"], "Health check exceeded timeout (300ms): begun\n", "{h}");
    // The probes were killed, not left to pile up.
    let ps = ok(docker(&d, &["exec", "slow", "ps", "-o", "args"]));
    assert!(ps.lines().filter(|l| l.contains("sleep 30")).count() <= 1, "{ps}");
}

/// Builds `hc:latest`: busybox with `healthcheck` as the image's HEALTHCHECK.
fn load_image_with_healthcheck(d: &Daemon, healthcheck: Value) {
    let dir = d.dir.path().join("hc-image");
    std::fs::create_dir_all(&dir).unwrap();
    let archive = d.dir.path().join("busybox-for-hc.tar");
    fixture::write_docker_archive(&archive, "busybox:latest").unwrap();
    assert!(Command::new("tar").arg("-xf").arg(&archive).arg("-C").arg(&dir).status().unwrap().success());
    let manifest_path = dir.join("manifest.json");
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let old = manifest[0]["Config"].as_str().unwrap().to_string();
    let mut config: Value = serde_json::from_slice(&std::fs::read(dir.join(&old)).unwrap()).unwrap();
    config["config"]["Healthcheck"] = healthcheck;
    let bytes = serde_json::to_vec(&config).unwrap();
    std::fs::remove_file(dir.join(&old)).unwrap();
    let tmp = dir.join("config.tmp");
    std::fs::write(&tmp, &bytes).unwrap();
    let sum = String::from_utf8(Command::new("sha256sum").arg(&tmp).output().unwrap().stdout).unwrap();
    let name = format!("{}.json", sum.split_whitespace().next().unwrap());
    std::fs::rename(&tmp, dir.join(&name)).unwrap();
    manifest[0]["Config"] = json!(name);
    manifest[0]["RepoTags"] = json!(["hc:latest"]);
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let _ = std::fs::remove_file(dir.join("repositories"));
    let entries: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    let out = d.dir.path().join("hc.tar");
    assert!(Command::new("tar").arg("-cf").arg(&out).arg("-C").arg(&dir).args(&entries).status().unwrap().success());
    ok(docker(d, &["load", "-i", out.to_str().unwrap()]));
}

#[test]
fn an_images_healthcheck_runs_unless_disabled() {
    berth_tests::require_root!();
    let Some(d) = daemon() else { return };
    // Exec form, as `HEALTHCHECK --interval=100ms CMD ["true"]` writes it.
    load_image_with_healthcheck(&d, json!({"Test": ["CMD", "true"], "Interval": 100_000_000, "Retries": 1}));
    ok(docker(&d, &["run", "-d", "--name", "inherits", "hc", "sleep", "1000"]));
    ok(docker(&d, &["run", "-d", "--name", "disabled", "--no-healthcheck", "hc", "sleep", "1000"]));
    // A user's field overrides the image's; the test is still the image's.
    ok(docker(&d, &["run", "-d", "--name", "tuned", "--health-retries", "4", "hc", "sleep", "1000"]));
    ok(docker(&d, &["run", "-d", "--name", "plain", "busybox", "sleep", "1000"]));
    wait_for_status(&d, "inherits", "healthy");
    wait_for_status(&d, "tuned", "healthy");
    assert_eq!(inspect(&d, "tuned", "{{json .Config.Healthcheck.Test}} {{.Config.Healthcheck.Retries}}"), r#"["CMD","true"] 4"#);
    assert_eq!(inspect(&d, "disabled", "{{json .Config.Healthcheck.Test}}"), r#"["NONE"]"#);
    assert_eq!(inspect(&d, "disabled", "{{json .State.Health}}"), "null");
    assert!(!ps_status(&d, "disabled").contains('('), "{}", ps_status(&d, "disabled"));
    assert_eq!(with_health(&d, "none"), ["disabled", "plain"]);
    assert_eq!(with_health(&d, "healthy"), ["inherits", "tuned"]);

    // Paused, probes stop and it reads unhealthy (Docker's rule); unpaused, they resume.
    ok(docker(&d, &["pause", "inherits"]));
    assert_eq!(status(&d, "inherits"), "unhealthy");
    ok(docker(&d, &["unpause", "inherits"]));
    wait_for_status(&d, "inherits", "healthy");
}

#[test]
fn health_survives_a_daemon_kill() {
    berth_tests::require_root!();
    let Some(mut d) = daemon() else { return };
    ok(docker(&d, &[
        "run", "-d", "--name", "kept", "--health-cmd", "test -e /tmp/ok", "--health-interval", "200ms",
        "--health-retries", "1", "busybox", "sh", "-c", "touch /tmp/ok; exec sleep 1000",
    ]));
    wait_for_status(&d, "kept", "healthy");
    let log_before = health(&d, "kept")["Log"].as_array().unwrap().len();
    d.kill9_and_restart();
    // The state was on disk; monitoring resumes where it was.
    assert_eq!(status(&d, "kept"), "healthy");
    assert!(health(&d, "kept")["Log"].as_array().unwrap().len() >= log_before.min(5));
    ok(docker(&d, &["exec", "kept", "rm", "/tmp/ok"]));
    wait_for_status(&d, "kept", "unhealthy");
}

#[test]
fn bad_values_are_refused_as_docker_refuses_them() {
    berth_tests::require_root!();
    let Some(d) = daemon() else { return };
    let refused = |args: &[&str], message: &str| {
        let mut all = vec!["run", "-d"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["busybox", "sleep", "1"]);
        let o = docker(&d, &all);
        assert_eq!(o.status.code(), Some(125), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stderr).contains(message), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    // The CLI's own checks.
    refused(&["--health-interval=-1s", "--health-cmd", "true"], "--health-interval cannot be negative");
    refused(&["--health-retries=-1", "--health-cmd", "true"], "--health-retries cannot be negative");
    refused(&["--no-healthcheck", "--health-cmd", "true"], "--no-healthcheck conflicts with --health-* options");
    // The daemon's.
    refused(&["--health-interval", "500us", "--health-cmd", "true"], "Interval in Healthcheck cannot be less than 1ms");
    refused(&["--health-timeout", "10ns", "--health-cmd", "true"], "Timeout in Healthcheck cannot be less than 1ms");
    refused(&["--health-start-period", "1us", "--health-cmd", "true"], "StartPeriod in Healthcheck cannot be less than 1ms");
    refused(&["--health-start-interval", "1us", "--health-cmd", "true"], "StartInterval in Healthcheck cannot be less than 1ms");
    // Through the API, a negative retry count.
    let client = api::Client::new(&d.host()).unwrap();
    let body = json!({"Image": "busybox", "Cmd": ["true"], "Healthcheck": {"Test": ["CMD", "true"], "Retries": -1}});
    let err = block_on(client.post("/containers/create", &[], Some(api::client::Body::raw("application/json", body.to_string().into_bytes()))))
        .err()
        .map(|e| (e.status(), e.to_string()));
    assert!(
        err.as_ref().is_some_and(|(code, e)| *code == Some(400) && e.contains("Retries in Healthcheck cannot be negative")),
        "{err:?}"
    );
    let o = docker(&d, &["ps", "--filter", "health=poorly"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("Unrecognised filter value for health: poorly"), "{}", String::from_utf8_lossy(&o.stderr));
    // Nothing was created.
    assert_eq!(ok(docker(&d, &["ps", "-aq"])), "");
}
