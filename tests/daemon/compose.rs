//! docker-compose (1.29, Debian's, unchanged) against berthd: a project's default
//! network made from the daemon's address pool, its services finding each other by
//! service name, a published port, and `down` taking containers and network away.

use berth_tests::daemon::Daemon;

fn compose(d: &Daemon, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("docker-compose")
        .args(["--ansi", "never", "-p", "berthcompose"])
        .args(args)
        .current_dir(dir)
        .env("DOCKER_HOST", d.host())
        .env("HOME", dir)
        .output()
        .expect("docker-compose")
}

fn ok(o: std::process::Output) -> String {
    assert!(o.status.success(), "status {:?}\nstdout: {}\nstderr: {}", o.status, String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const PROJECT: &str = r#"version: "3.7"
services:
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo composed > /www/index.html && httpd -f -p 80 -h /www"]
    ports: ["127.0.0.1::80"]
  client:
    image: busybox
    command: ["sleep", "600"]
    depends_on: [web]
"#;

#[test]
fn a_compose_project_gets_a_network_its_services_share_by_name() {
    berth_tests::require_root!();
    if std::process::Command::new("docker-compose").arg("version").output().is_err() {
        berth_tests::skip("no docker-compose (scripts/install-deps.sh with BERTH_PEERS=1 installs it)");
        return;
    }
    let d = Daemon::start();
    d.load_busybox();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("docker-compose.yml"), PROJECT).unwrap();
    let up = compose(&d, dir.path(), &["up", "-d"]);
    let log = || d.log();
    assert!(up.status.success(), "{up:?}\n{}", log());
    // The project's network, cut from the daemon's pool.
    let docker = |args: &[&str]| d.docker(args).expect("docker CLI");
    let subnet = ok(docker(&["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", "berthcompose_default"]));
    assert!(subnet.trim().starts_with(&format!("{}.", d.pool.net)), "{subnet}");
    let web_ip = ok(docker(&["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", "berthcompose_web_1"])).trim().to_string();
    // The client finds web by its service name, and is served by it.
    let script = format!("nslookup web | grep -q 'Address.* {web_ip}$' && printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {web_ip} 80");
    let mut got = String::new();
    for _ in 0..50 {
        let o = compose(&d, dir.path(), &["exec", "-T", "client", "sh", "-c", &script]);
        got = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        if got.ends_with("\ncomposed\n") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(got.ends_with("\ncomposed\n"), "{got}");
    // Its published port, as compose reports it.
    let port = ok(compose(&d, dir.path(), &["port", "web", "80"]));
    assert!(port.trim().starts_with("127.0.0.1:"), "{port}");
    let ps = ok(compose(&d, dir.path(), &["ps"]));
    assert!(ps.contains("berthcompose_web_1") && ps.contains("Up"), "{ps}");
    ok(compose(&d, dir.path(), &["down", "-t", "1"]));
    let left = ok(docker(&["network", "ls", "-q", "--filter", "name=berthcompose"]));
    assert!(left.trim().is_empty(), "{left}");
    assert!(ok(docker(&["ps", "-aq"])).trim().is_empty());
}
