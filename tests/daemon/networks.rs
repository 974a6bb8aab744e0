//! Networking through berthd, driven by the real docker CLI: a container's own
//! network namespace has its loopback up (127.0.0.1 and ::1, as Docker gives every
//! container), on the `none` network and by default; `host` shares the host's; and a
//! run leaves no namespace behind.

use std::process::Output;

use berth_tests::daemon::{Daemon, TestNetwork};

fn ok(o: Output) -> String {
    assert!(o.status.success(), "status {:?}, stderr: {}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn docker(d: &Daemon, args: &[&str]) -> Output {
    d.docker(args).expect("docker CLI")
}

/// The namespaces berthd holds for running containers.
fn held(d: &Daemon) -> Vec<String> {
    std::fs::read_dir(d.dir.path().join("exec/netns"))
        .map(|dir| dir.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

/// [`held`] once it is `want` (a run's end is released right after its exit is
/// reported, so a client may see the exit first), or as it is after 10 s.
fn held_settles(d: &Daemon, want: &[&str]) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let now = held(d);
        if now == want || std::time::Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_containers_loopback_is_up_and_its_namespace_goes_with_its_run() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    // What programs that bind localhost need: lo up, with its addresses.
    for network in [&["--network", "none"][..], &[]] {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(network);
        // A server on localhost, and a client that reaches it.
        let script = "ip -o addr show lo; ip -o link show lo; nc -l -p 7000 > /tmp/got & sleep 0.3; echo over-lo | nc -w 2 127.0.0.1 7000; sleep 0.2; cat /tmp/got";
        args.extend(["busybox", "sh", "-c", script]);
        let out = ok(docker(&d, &args));
        assert!(out.contains("inet 127.0.0.1/8"), "{network:?}: {out}");
        assert!(out.contains("LOWER_UP") || out.contains(",UP"), "{network:?}: {out}");
        assert!(out.ends_with("over-lo\n"), "{network:?}: {out}");
        // Nothing but lo.
        let links = ok(docker(&d, &["run", "--rm", "--network", "none", "busybox", "sh", "-c", "ls /sys/class/net"]));
        assert_eq!(links.split_whitespace().collect::<Vec<_>>(), ["lo"], "{links}");
    }
    // A running container holds its namespace: one of its own, not the host's.
    ok(docker(&d, &["run", "-d", "--name", "held", "busybox", "sleep", "600"]));
    let id = ok(docker(&d, &["inspect", "-f", "{{.Id}}", "held"])).trim().to_string();
    assert_eq!(held_settles(&d, &[&id]), std::slice::from_ref(&id));
    let pid = ok(docker(&d, &["inspect", "-f", "{{.State.Pid}}", "held"])).trim().to_string();
    let theirs = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    assert_ne!(theirs, std::fs::read_link("/proc/self/ns/net").unwrap());
    // `host` shares the host's and makes none.
    let host_links = ok(docker(&d, &["run", "--rm", "--network", "host", "busybox", "ls", "/sys/class/net"]));
    let seen: Vec<&str> = host_links.split_whitespace().collect();
    // The host's own devices (not the bridges and veths tests beside this one come and go with).
    let ours: Vec<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !["bt", "bb", "br-", "vb", "veth"].iter().any(|p| n.starts_with(p)))
        .collect();
    assert!(ours.len() > 1 && ours.iter().all(|n| seen.contains(&n.as_str())), "host: {ours:?}, container: {seen:?}");
    assert_eq!(held_settles(&d, &[&id]), std::slice::from_ref(&id));
    // Stopped or removed, nothing is left.
    ok(docker(&d, &["stop", "-t", "0", "held"]));
    assert_eq!(held_settles(&d, &[]), Vec::<String>::new());
    ok(docker(&d, &["start", "held"]));
    assert_eq!(held_settles(&d, &[&id]), std::slice::from_ref(&id));
    ok(docker(&d, &["rm", "-f", "held"]));
    assert_eq!(held_settles(&d, &[]), Vec::<String>::new());
}

/// berthd killed with -9 while a container runs: the restarted daemon keeps the
/// running container's namespace, and removes one whose run ended while it was away.
#[test]
fn namespaces_are_reconciled_after_a_crash() {
    berth_tests::require_root!();
    let Some(mut d) = Daemon::with_busybox_for_docker() else { return };
    ok(docker(&d, &["run", "-d", "--name", "stays", "busybox", "sleep", "600"]));
    ok(docker(&d, &["run", "-d", "--name", "ends", "busybox", "sleep", "600"]));
    let stays = ok(docker(&d, &["inspect", "-f", "{{.Id}}", "stays"])).trim().to_string();
    let ends_pid = ok(docker(&d, &["inspect", "-f", "{{.State.Pid}}", "ends"])).trim().parse::<i32>().unwrap();
    d.kill9();
    // Its run ends while berthd is away, and a namespace of no container at all is left.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(ends_pid), nix::sys::signal::Signal::SIGKILL).unwrap();
    std::fs::write(d.dir.path().join("exec/netns/0000"), "").unwrap();
    d.start_again(&[]);
    assert_eq!(held_settles(&d, &[&stays]), std::slice::from_ref(&stays));
    assert_eq!(ok(docker(&d, &["exec", "stays", "sh", "-c", "ip -o addr show lo | grep -c 127.0.0.1"])).trim(), "1");
}

/// `GET /` over plain TCP; the body, once the server answers.
fn http_get(addr: &str) -> Result<String, String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&addr.parse().map_err(|e| format!("{e}"))?, std::time::Duration::from_secs(5)).map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").map_err(|e| e.to_string())?;
    let mut reply = String::new();
    s.read_to_string(&mut reply).map_err(|e| e.to_string())?;
    Ok(reply.split("\r\n\r\n").nth(1).unwrap_or_default().to_string())
}

/// [`http_get`] until the server inside has started (a few tries).
fn http_get_soon(addr: &str) -> Result<String, String> {
    let mut last = Err(String::new());
    for _ in 0..50 {
        last = http_get(addr);
        if last.as_deref() == Ok("served\n") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    last
}

/// `-p`: a container's port published on the host, on 127.0.0.1 (an ephemeral port)
/// and on every address (a fixed one), reached from the host; `docker port`, `ps` and
/// inspect show them as Docker does; a fixed port is one container's at a time; and the
/// rules go with the run. No proxy process: nftables rules in a table of berth's own.
#[test]
fn a_published_port_reaches_the_container() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    let fixed = std::net::TcpListener::bind("0.0.0.0:0").unwrap().local_addr().unwrap().port().to_string();
    let serve = "mkdir -p /www && echo served > /www/index.html && httpd -f -p 80 -h /www";
    ok(docker(&d, &["run", "-d", "--name", "web", "--network", "bridge", "-p", "127.0.0.1::80", "-p", &format!("{fixed}:80"), "busybox", "sh", "-c", serve]));
    let ports = ok(docker(&d, &["port", "web"]));
    let local = ports
        .lines()
        .find_map(|l| l.strip_prefix("80/tcp -> 127.0.0.1:"))
        .unwrap_or_else(|| panic!("no 127.0.0.1 binding: {ports}"))
        .to_string();
    assert!(ports.lines().any(|l| l == format!("80/tcp -> 0.0.0.0:{fixed}")), "{ports}");
    // From the host: on 127.0.0.1, and on the host's own address (the bridge's).
    assert_eq!(http_get_soon(&format!("127.0.0.1:{local}")).as_deref(), Ok("served\n"));
    assert_eq!(http_get_soon(&format!("{}.1:{fixed}", d.network.net)).as_deref(), Ok("served\n"));
    assert_eq!(http_get_soon(&format!("127.0.0.1:{fixed}")).as_deref(), Ok("served\n"));
    let ps = ok(docker(&d, &["ps", "--format", "{{.Ports}}", "--filter", "name=web"]));
    assert!(ps.contains(&format!("127.0.0.1:{local}->80/tcp")) && ps.contains(&format!("0.0.0.0:{fixed}->80/tcp")), "{ps}");
    // The fixed port is taken: a second container asking for it does not start.
    let o = docker(&d, &["run", "-d", "--name", "clash", "--network", "bridge", "-p", &format!("{fixed}:80"), "busybox", "sleep", "600"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("port is already allocated"), "{}", String::from_utf8_lossy(&o.stderr));
    ok(docker(&d, &["rm", "-f", "clash"]));
    // A port a program of the host holds is refused, not taken from it.
    let host_program = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let theirs = host_program.local_addr().unwrap().port();
    let o = docker(&d, &["run", "-d", "--name", "thief", "--network", "bridge", "-p", &format!("127.0.0.1:{theirs}:80"), "busybox", "sleep", "600"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("failed to bind port"), "{o:?}");
    ok(docker(&d, &["rm", "-f", "thief"]));
    // No process listens on the published ports: the kernel forwards them.
    let table = d.network.table();
    let rules = String::from_utf8_lossy(&std::process::Command::new("nft").args(["list", "table", "ip", &table]).output().unwrap().stdout).into_owned();
    assert!(rules.contains(&format!("tcp . {fixed} : ")), "{rules}");
    // -P: every exposed port on a free host port.
    ok(docker(&d, &["run", "-d", "--name", "all", "--network", "bridge", "--expose", "80", "-P", "busybox", "sh", "-c", serve]));
    let ports = ok(docker(&d, &["port", "all", "80/tcp"]));
    let any = ports.lines().find_map(|l| l.strip_prefix("0.0.0.0:")).unwrap_or_else(|| panic!("{ports}")).to_string();
    assert_eq!(http_get_soon(&format!("127.0.0.1:{any}")).as_deref(), Ok("served\n"));
    ok(docker(&d, &["rm", "-f", "all"]));
    // A range of host ports: each container the first free one of it.
    let lo = std::net::TcpListener::bind("0.0.0.0:0").unwrap().local_addr().unwrap().port().min(65000);
    let range = format!("127.0.0.1:{lo}-{}:80", lo + 1);
    for (name, want) in [("r1", lo), ("r2", lo + 1)] {
        ok(docker(&d, &["run", "-d", "--name", name, "--network", "bridge", "-p", &range, "busybox", "sh", "-c", serve]));
        assert_eq!(ok(docker(&d, &["port", name, "80/tcp"])).trim(), format!("127.0.0.1:{want}"));
    }
    assert_eq!(http_get_soon(&format!("127.0.0.1:{}", lo + 1)).as_deref(), Ok("served\n"));
    let o = docker(&d, &["run", "-d", "--name", "r3", "--network", "bridge", "-p", &range, "busybox", "sleep", "600"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("already allocated"), "{o:?}");
    ok(docker(&d, &["rm", "-f", "r1", "r2", "r3"]));
    // The host network has no ports to publish: Docker's warning.
    let o = docker(&d, &["create", "--network", "host", "-p", "80:80", "busybox"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("Published ports are discarded when using host network mode"), "{o:?}");
    // Gone with the run.
    ok(docker(&d, &["rm", "-f", "web"]));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut rules = String::new();
    while std::time::Instant::now() < deadline {
        rules = String::from_utf8_lossy(&std::process::Command::new("nft").args(["list", "table", "ip", &table]).output().unwrap().stdout).into_owned();
        if !rules.contains("elements") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!rules.contains("elements"), "{rules}");
    assert!(http_get(&format!("127.0.0.1:{fixed}")).is_err());
}

/// `--network bridge`: each container gets an address on the daemon's bridge and a
/// route through it; containers reach each other and the host reaches them; inspect
/// shows the address as Docker does; the veth and the lease go with the run.
#[test]
fn containers_on_the_bridge_reach_each_other_and_the_host_reaches_them() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    let net = &d.network.net;
    // A web server (busybox httpd) on the bridge.
    ok(docker(&d, &["run", "-d", "--name", "web", "--network", "bridge", "busybox", "sh", "-c", "mkdir -p /www && echo served > /www/index.html && httpd -f -p 80 -h /www"]));
    let ip = ok(docker(&d, &["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web"])).trim().to_string();
    assert_eq!(ip, format!("{net}.2"), "the first address after the gateway");
    let shown = ok(docker(&d, &["inspect", "-f", "{{.NetworkSettings.Gateway}} {{.NetworkSettings.IPPrefixLen}} {{.NetworkSettings.MacAddress}} {{(index .NetworkSettings.Networks \"bridge\").IPAddress}}", "web"]));
    assert_eq!(shown.trim(), format!("{net}.1 24 {} {ip}", d.network.mac(2)));
    // Inside: eth0 with the address, the default route through the gateway.
    let inside = ok(docker(&d, &["exec", "web", "sh", "-c", "ip -o -4 addr show eth0; ip route"]));
    assert!(inside.contains(&format!("inet {ip}/24")), "{inside}");
    assert!(inside.contains(&format!("default via {net}.1 dev eth0")), "{inside}");
    // Another container reaches it by its address (nc: busybox's static wget crashes
    // looking up names through glibc's NSS).
    let mut got = String::new();
    for _ in 0..50 {
        let get = format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc {ip} 80");
        let o = docker(&d, &["run", "--rm", "--network", "bridge", "busybox", "sh", "-c", &get]);
        got = String::from_utf8_lossy(&o.stdout).into_owned();
        if got.ends_with("\nserved\n") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(got.starts_with("HTTP/1.") && got.ends_with("\nserved\n"), "{got}");
    // The host reaches it through the bridge.
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&format!("{ip}:80").parse().unwrap(), std::time::Duration::from_secs(5)).unwrap();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(reply.ends_with("served\n"), "{reply}");
    // Its interface's counters, as stats reports them (the CLI's NET I/O).
    let io = ok(docker(&d, &["stats", "--no-stream", "--format", "{{.NetIO}}", "web"]));
    assert!(!io.trim().is_empty() && !io.starts_with("0B / 0B"), "{io}");
    // A second container gets the next address; a stopped one gives its address back.
    ok(docker(&d, &["run", "-d", "--name", "second", "--network", "bridge", "busybox", "sleep", "600"]));
    assert_eq!(ok(docker(&d, &["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "second"])).trim(), format!("{net}.3"));
    ok(docker(&d, &["stop", "-t", "0", "web"]));
    assert_eq!(ok(docker(&d, &["inspect", "-f", "[{{.NetworkSettings.IPAddress}}]", "web"])).trim(), "[]");
    let host_end = |name: &str| {
        let id = ok(docker(&d, &["inspect", "-f", "{{.Id}}", name])).trim().to_string();
        std::path::PathBuf::from(format!("/sys/class/net/vb{}0", &id[..12]))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while host_end("web").exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!host_end("web").exists(), "the veth goes with the run");
    ok(docker(&d, &["start", "web"]));
    assert_eq!(ok(docker(&d, &["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web"])).trim(), format!("{net}.2"), "its address again");
    let second_end = host_end("second");
    ok(docker(&d, &["rm", "-f", "web", "second"]));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while second_end.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!second_end.exists());
    assert_eq!(held_settles(&d, &[]), Vec::<String>::new());
}

/// `--network container:NAME`: a container shares another's network namespace, its
/// localhost and its address, as Docker's; it needs that container running, and it
/// takes no network options of its own.
#[test]
fn a_container_shares_another_containers_network() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    let serve = "mkdir -p /www && echo shared > /www/index.html && httpd -f -p 127.0.0.1:80 -h /www";
    ok(docker(&d, &["run", "-d", "--name", "owner", "busybox", "sh", "-c", serve]));
    let ip = ok(docker(&d, &["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "owner"])).trim().to_string();
    let owner_id = ok(docker(&d, &["inspect", "-f", "{{.Id}}", "owner"])).trim().to_string();
    // Its localhost: the server bound to 127.0.0.1 only answers there.
    let mut got = String::new();
    for _ in 0..50 {
        let o = docker(&d, &["run", "--rm", "--network", "container:owner", "busybox", "sh", "-c", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 80; ip -o -4 addr show eth0"]);
        got = String::from_utf8_lossy(&o.stdout).into_owned();
        if got.contains("\nshared\n") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(got.contains("\nshared\n"), "{got}");
    assert!(got.contains(&format!("inet {ip}/24")), "the same eth0: {got}");
    // Recorded by id, as Docker does.
    ok(docker(&d, &["create", "--name", "guest", "--network", "container:owner", "busybox", "true"]));
    assert_eq!(ok(docker(&d, &["inspect", "-f", "{{.HostConfig.NetworkMode}}", "guest"])).trim(), format!("container:{owner_id}"));
    // No ports or hostname of its own; a container that does not run has no network to share.
    for (args, words) in [
        (&["-p", "80:80"][..], "conflicting options: port publishing and the container type network mode"),
        (&["--hostname", "h"][..], "conflicting options: hostname and the network mode"),
    ] {
        let mut all = vec!["create", "--network", "container:owner"];
        all.extend_from_slice(args);
        all.push("busybox");
        let o = docker(&d, &all);
        assert!(String::from_utf8_lossy(&o.stderr).contains(words), "{args:?}: {o:?}");
    }
    ok(docker(&d, &["create", "--name", "orphan", "--network", "container:nobody", "busybox"]));
    let o = docker(&d, &["start", "orphan"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot join network of a non running container: nobody"), "{o:?}");
    ok(docker(&d, &["stop", "-t", "0", "owner"]));
    let o = docker(&d, &["start", "guest"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot join network of a non running container"), "{o:?}");
    ok(docker(&d, &["rm", "-f", "guest", "owner", "orphan"]));
}

/// `docker network create` on a subnet and bridge of the test's own (claimed, so that
/// parallel tests never share them; the bridge is removed when the claim drops).
fn create_network(d: &Daemon, n: &TestNetwork, name: &str, extra: &[&str]) -> String {
    let subnet = format!("--subnet={}.0/24", n.net);
    let bridge = format!("com.docker.network.bridge.name={}", n.bridge);
    let mut args = vec!["network", "create", &subnet, "-o", &bridge];
    args.extend_from_slice(extra);
    args.push(name);
    ok(docker(d, &args)).trim().to_string()
}

/// A container's output once it says `want` (a server started beside it may take a
/// moment), or as it was after 5 s.
fn run_until(d: &Daemon, args: &[&str], want: &str) -> String {
    let mut got = String::new();
    for _ in 0..50 {
        let o = docker(d, args);
        got = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        if got.contains(want) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    got
}

const SERVE: &str = "mkdir -p /www && echo served > /www/index.html && httpd -f -p 80 -h /www";

/// User-defined networks: made with a subnet, gateway and label of the user's, listed
/// and inspected as Docker shows them; their containers reach each other by name, by
/// alias and by the name qualified with the network's (berthd answers DNS on the
/// gateway), while containers of another network reach neither the names nor the
/// addresses; a network with a running container on it is not removed, and one
/// removed takes its bridge with it.
#[test]
fn user_networks_resolve_their_containers_and_keep_apart() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    let (front, back) = (TestNetwork::claim(), TestNetwork::claim());
    let gateway = format!("--gateway={}.1", front.net);
    let front_id = create_network(&d, &front, "front", &[&gateway, "--label", "tier=web"]);
    assert_eq!(front_id.len(), 64, "{front_id}");
    create_network(&d, &back, "back", &[]);
    let o = docker(&d, &["network", "create", "front"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("network with name front already exists"), "{o:?}");
    let listed = ok(docker(&d, &["network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}"]));
    for want in ["front bridge local", "back bridge local", "bridge bridge local", "host host local", "none null local"] {
        assert!(listed.lines().any(|l| l == want), "{want}: {listed}");
    }
    let shown = ok(docker(&d, &["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{.Labels.tier}} {{.Internal}}", "front"]));
    assert_eq!(shown.trim(), format!("{0}.0/24 {0}.1 web false", front.net));
    // A server on front, with an alias.
    ok(docker(&d, &["run", "-d", "--name", "web", "--network", "front", "--network-alias", "www", "busybox", "sh", "-c", SERVE]));
    let ip = ok(docker(&d, &["inspect", "-f", "{{.NetworkSettings.Networks.front.IPAddress}}", "web"])).trim().to_string();
    assert_eq!(ip, format!("{}.2", front.net));
    let endpoint = ok(docker(&d, &["inspect", "-f", "{{json .NetworkSettings.Networks.front}}", "web"]));
    let endpoint: serde_json::Value = serde_json::from_str(&endpoint).unwrap();
    assert_eq!(endpoint["NetworkID"], front_id.as_str());
    assert_eq!(endpoint["Gateway"], format!("{}.1", front.net));
    assert_eq!(endpoint["Aliases"], serde_json::json!(["www"]));
    let names = endpoint["DNSNames"].as_array().unwrap();
    assert!(names.contains(&"web".into()) && names.contains(&"www".into()), "{endpoint}");
    assert_eq!(endpoint["EndpointID"].as_str().map(str::len), Some(64), "{endpoint}");
    let members = ok(docker(&d, &["network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}", "front"]));
    assert_eq!(members.trim(), format!("web {ip}/24"));
    // By name, alias and qualified name, from a container on front; then served.
    let lookups = format!("for n in web www WEB web.front; do nslookup $n | grep -q 'Address.* {ip}$' || echo missing $n; done; printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 web-ip 80");
    let lookups = lookups.replace("web-ip", &ip);
    let got = run_until(&d, &["run", "--rm", "--network", "front", "busybox", "sh", "-c", &lookups], "\nserved\n");
    assert!(!got.contains("missing") && got.ends_with("\nserved\n"), "{got}");
    // The container's resolv.conf asks the gateway.
    let resolv = ok(docker(&d, &["run", "--rm", "--network", "front", "busybox", "cat", "/etc/resolv.conf"]));
    assert!(resolv.starts_with(&format!("nameserver {}.1\n", front.net)), "{resolv}");
    // From back: neither the name nor the address.
    let o = docker(&d, &["run", "--rm", "--network", "back", "busybox", "nslookup", "web"]);
    assert!(!String::from_utf8_lossy(&o.stdout).contains(&ip), "{o:?}");
    let o = docker(&d, &["run", "--rm", "--network", "back", "busybox", "sh", "-c", &format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {ip} 80")]);
    assert!(!String::from_utf8_lossy(&o.stdout).contains("served"), "networks are isolated: {o:?}");
    // Not removed while web runs on it; removed with its bridge once it does not.
    let o = docker(&d, &["network", "rm", "front"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("has active endpoints"), "{o:?}");
    let o = docker(&d, &["network", "rm", "bridge"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("bridge is a pre-defined network and cannot be removed"), "{o:?}");
    ok(docker(&d, &["rm", "-f", "web"]));
    ok(docker(&d, &["network", "rm", "front"]));
    assert!(!std::path::Path::new(&format!("/sys/class/net/{}", front.bridge)).exists(), "the bridge goes with its network");
    let o = docker(&d, &["network", "inspect", "front"]);
    assert!(!o.status.success());
    // Prune: back has no container.
    let pruned = ok(docker(&d, &["network", "prune", "-f"]));
    assert!(pruned.contains("back"), "{pruned}");
    assert!(!std::path::Path::new(&format!("/sys/class/net/{}", back.bridge)).exists());
}

/// `network connect` and `disconnect`: a running container gets one more interface
/// (eth1) on the network at once, with its alias resolved there, and loses it again;
/// a created one is connected when it starts; and networks survive a daemon restart
/// with their names still answered.
#[test]
fn containers_connect_and_disconnect_and_names_survive_a_restart() {
    berth_tests::require_root!();
    let Some(mut d) = Daemon::with_busybox_for_docker() else { return };
    let extra = TestNetwork::claim();
    create_network(&d, &extra, "extra", &[]);
    ok(docker(&d, &["run", "-d", "--name", "db", "busybox", "sleep", "600"]));
    ok(docker(&d, &["network", "connect", "--alias", "database", "extra", "db"]));
    let links = ok(docker(&d, &["exec", "db", "ls", "/sys/class/net"]));
    assert_eq!(links.split_whitespace().collect::<Vec<_>>(), ["eth0", "eth1", "lo"], "{links}");
    let ip = ok(docker(&d, &["inspect", "-f", "{{.NetworkSettings.Networks.extra.IPAddress}}", "db"])).trim().to_string();
    assert_eq!(ip, format!("{}.2", extra.net));
    let inside = ok(docker(&d, &["exec", "db", "ip", "-o", "-4", "addr", "show", "eth1"]));
    assert!(inside.contains(&format!("inet {ip}/24")), "{inside}");
    let o = docker(&d, &["network", "connect", "extra", "db"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists in network extra"), "{o:?}");
    let got = run_until(&d, &["run", "--rm", "--network", "extra", "busybox", "nslookup", "database"], &ip);
    assert!(got.contains(&ip), "{got}");
    // Its /etc files follow: the user network's server, its new address.
    let resolv = ok(docker(&d, &["exec", "db", "cat", "/etc/resolv.conf", "/etc/hosts"]));
    assert!(resolv.starts_with(&format!("nameserver {}.1\n", extra.net)), "{resolv}");
    let own = ok(docker(&d, &["exec", "db", "nslookup", "db"]));
    assert!(own.contains(&ip), "its own name, through its new network's server: {own}");
    // Across a kill -9 and a restart: the network, the lease and the names.
    d.kill9();
    d.start_again(&[]);
    let listed = ok(docker(&d, &["network", "ls", "-q", "--filter", "name=extra"]));
    assert_eq!(listed.lines().count(), 1, "{listed}");
    let got = run_until(&d, &["run", "--rm", "--network", "extra", "busybox", "nslookup", "db"], &ip);
    assert!(got.contains(&ip), "{got}");
    let next = ok(docker(&d, &["run", "--rm", "--network", "extra", "busybox", "ip", "-o", "-4", "addr", "show", "eth0"]));
    assert!(!next.contains(&format!("inet {ip}/")), "a held address is never handed out twice: {next}");
    ok(docker(&d, &["network", "disconnect", "extra", "db"]));
    let links = ok(docker(&d, &["exec", "db", "ls", "/sys/class/net"]));
    assert_eq!(links.split_whitespace().collect::<Vec<_>>(), ["eth0", "lo"], "{links}");
    let resolv = ok(docker(&d, &["exec", "db", "cat", "/etc/resolv.conf"]));
    assert!(!resolv.contains(&format!("{}.1", extra.net)), "{resolv}");
    let shown = ok(docker(&d, &["inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", "db"]));
    assert_eq!(shown.trim(), "bridge");
    let o = docker(&d, &["network", "disconnect", "extra", "db"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not connected to network extra"), "{o:?}");
    // Connected while created: on both networks from its start.
    ok(docker(&d, &["create", "--name", "later", "busybox", "sleep", "600"]));
    ok(docker(&d, &["network", "connect", "extra", "later"]));
    ok(docker(&d, &["start", "later"]));
    let links = ok(docker(&d, &["exec", "later", "ls", "/sys/class/net"]));
    assert_eq!(links.split_whitespace().collect::<Vec<_>>(), ["eth0", "eth1", "lo"], "{links}");
    ok(docker(&d, &["rm", "-f", "db", "later"]));
    ok(docker(&d, &["network", "rm", "extra"]));
}

/// `--internal`: no default route out, no masquerade; and `--ip` on a network with a
/// subnet of the user's gives that address.
#[test]
fn an_internal_network_has_no_way_out_and_ip_is_honoured() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    let n = TestNetwork::claim();
    create_network(&d, &n, "inside", &["--internal"]);
    assert_eq!(ok(docker(&d, &["network", "inspect", "-f", "{{.Internal}}", "inside"])).trim(), "true");
    let want = format!("{}.77", n.net);
    let routes = ok(docker(&d, &["run", "--rm", "--network", "inside", "--ip", &want, "busybox", "sh", "-c", "ip route; ip -o -4 addr show eth0"]));
    assert!(!routes.contains("default"), "{routes}");
    assert!(routes.contains(&format!("inet {want}/24")), "{routes}");
    // The default bridge takes no --ip nor aliases, as Docker's.
    let o = docker(&d, &["create", "--network", "bridge", "--ip", &format!("{}.9", d.network.net), "busybox"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("user specified IP address is supported only when connecting to networks with user configured subnets"), "{o:?}");
    // As Docker: a network that does not exist fails the start, not the create.
    ok(docker(&d, &["create", "--name", "lost", "--network", "nosuch", "busybox"]));
    let o = docker(&d, &["start", "lost"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("network nosuch not found"), "{o:?}");
    ok(docker(&d, &["network", "rm", "inside"]));
}

/// Hairpin: a container reaches another's published port through the host's address
/// (the gateway of its own network), on the same network and from another one.
#[test]
fn a_published_port_is_reached_from_other_containers_through_the_host() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    let other = TestNetwork::claim();
    create_network(&d, &other, "other", &[]);
    let port = std::net::TcpListener::bind("0.0.0.0:0").unwrap().local_addr().unwrap().port().to_string();
    ok(docker(&d, &["run", "-d", "--name", "web", "-p", &format!("{port}:80"), "busybox", "sh", "-c", SERVE]));
    for (network, host) in [("bridge", format!("{}.1", d.network.net)), ("other", format!("{}.1", other.net))] {
        let get = format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {host} {port}");
        let got = run_until(&d, &["run", "--rm", "--network", network, "busybox", "sh", "-c", &get], "\nserved\n");
        assert!(got.ends_with("\nserved\n"), "from {network} through {host}:{port}: {got}");
    }
    ok(docker(&d, &["rm", "-f", "web"]));
    ok(docker(&d, &["network", "rm", "other"]));
}

/// Someone else deletes berth's nftables table (as `nft flush ruleset` or a firewall
/// reload would): berthd notices at once and puts it back, published ports with it.
#[test]
fn a_deleted_table_is_restored_with_its_ports() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    ok(docker(&d, &["run", "-d", "--name", "web", "-p", "127.0.0.1::80", "busybox", "sh", "-c", SERVE]));
    let port = ok(docker(&d, &["port", "web", "80/tcp"])).trim().rsplit(':').next().unwrap().to_string();
    assert_eq!(http_get_soon(&format!("127.0.0.1:{port}")).as_deref(), Ok("served\n"));
    // Only berth's own table of this daemon: never the machine's ruleset.
    let table = d.network.table();
    assert!(std::process::Command::new("nft").args(["delete", "table", "ip", &table]).status().unwrap().success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let listed = || std::process::Command::new("nft").args(["list", "table", "ip", &table]).output().unwrap();
    while !listed().status.success() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let rules = String::from_utf8_lossy(&listed().stdout).into_owned();
    assert!(rules.contains(&format!("127.0.0.1 . tcp . {port} : ")), "restored: {rules}\n{}", d.log());
    assert_eq!(http_get_soon(&format!("127.0.0.1:{port}")).as_deref(), Ok("served\n"));
    assert!(d.log().contains("deleted by someone else: restored"), "{}", d.log());
    ok(docker(&d, &["rm", "-f", "web"]));
}

/// `enable_icc=false`: containers of the network do not reach each other, but reach
/// the host (its gateway answers their names) and are reached through published ports.
#[test]
fn containers_of_a_network_without_icc_do_not_reach_each_other() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    let n = TestNetwork::claim();
    create_network(&d, &n, "apart", &["-o", "com.docker.network.bridge.enable_icc=false"]);
    ok(docker(&d, &["run", "-d", "--name", "one", "--network", "apart", "busybox", "sh", "-c", SERVE]));
    let ip = ok(docker(&d, &["inspect", "-f", "{{.NetworkSettings.Networks.apart.IPAddress}}", "one"])).trim().to_string();
    // The host reaches it (an isolated port still talks to the bridge).
    assert_eq!(http_get_soon(&format!("{ip}:80")).as_deref(), Ok("served\n"));
    // A neighbour finds its name, but not its server.
    let o = docker(&d, &["run", "--rm", "--network", "apart", "busybox", "sh", "-c", &format!("nslookup one | grep -c '{ip}$'; printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {ip} 80")]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("1\n") && !out.contains("served"), "{o:?}");
    ok(docker(&d, &["rm", "-f", "one"]));
    ok(docker(&d, &["network", "rm", "apart"]));
}

/// `network` events, as Docker sends them: create, connect (at a start), disconnect
/// (at the run's end), destroy; each with the network's name and type, and the
/// container for (dis)connections.
#[test]
fn networks_send_their_events() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    let n = TestNetwork::claim();
    let start = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() - 1;
    let id = create_network(&d, &n, "evented", &[]);
    ok(docker(&d, &["run", "--rm", "--name", "visitor", "--network", "evented", "busybox", "true"]));
    // The run's end is released right after its exit is reported.
    std::thread::sleep(std::time::Duration::from_millis(300));
    ok(docker(&d, &["network", "rm", "evented"]));
    let until = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 1;
    let events = ok(docker(&d, &[
        "events", "--since", &start.to_string(), "--until", &until.to_string(), "--filter", "type=network",
        "--format", "{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}} {{if .Actor.Attributes.container}}c{{end}}",
    ]));
    let lines: Vec<&str> = events.lines().filter(|l| l.contains(" evented ")).collect();
    let want: Vec<String> = ["create", "connect", "disconnect", "destroy"]
        .iter()
        .map(|a| format!("{a} {id} evented bridge {}", if matches!(*a, "connect" | "disconnect") { "c" } else { "" }))
        .collect();
    assert_eq!(lines.iter().map(|l| l.trim_end()).collect::<Vec<_>>(), want.iter().map(|l| l.trim_end()).collect::<Vec<_>>(), "{events}");
}

/// Legacy `--link NAME:ALIAS` on the default bridge: the linked container's address
/// under the alias in `/etc/hosts`, Docker's variables in the environment, recorded as
/// `/target:/container/alias`; a link to a container that does not run fails the start.
#[test]
fn legacy_links_name_the_linked_container() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    ok(docker(&d, &["run", "-d", "--name", "db", "--expose", "5432", "-e", "SECRET=s3", "busybox", "sleep", "600"]));
    let ip = ok(docker(&d, &["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "db"])).trim().to_string();
    let out = ok(docker(&d, &["run", "--name", "app", "--link", "db:data", "busybox", "sh", "-c", "grep data /etc/hosts; env | grep ^DATA_ | sort"]));
    assert!(out.contains(&format!("{ip}\tdata ")) && out.contains(" db\n"), "{out}");
    for want in [
        "DATA_NAME=/app/data".to_string(),
        format!("DATA_PORT=tcp://{ip}:5432"),
        format!("DATA_PORT_5432_TCP=tcp://{ip}:5432"),
        format!("DATA_PORT_5432_TCP_ADDR={ip}"),
        "DATA_PORT_5432_TCP_PORT=5432".to_string(),
        "DATA_PORT_5432_TCP_PROTO=tcp".to_string(),
        "DATA_ENV_SECRET=s3".to_string(),
    ] {
        assert!(out.lines().any(|l| l == want), "{want}: {out}");
    }
    assert_eq!(ok(docker(&d, &["inspect", "-f", "{{json .HostConfig.Links}}", "app"])).trim(), r#"["/db:/app/data"]"#);
    let o = docker(&d, &["create", "--link", "nosuch:x", "busybox"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("could not get container for nosuch"), "{o:?}");
    ok(docker(&d, &["stop", "-t", "0", "db"]));
    let o = docker(&d, &["start", "app"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("Cannot link to a non running container: /db AS /app/data"), "{o:?}");
    // `rm --link`: the link goes, the container stays (and starts without it).
    assert_eq!(ok(docker(&d, &["rm", "--link", "/app/data"])).trim(), "/app/data");
    assert_eq!(ok(docker(&d, &["inspect", "-f", "{{len .HostConfig.Links}}", "app"])).trim(), "0");
    let o = docker(&d, &["rm", "--link", "/app/data"]);
    assert!(!o.status.success(), "{o:?}");
    ok(docker(&d, &["start", "app"]));
    ok(docker(&d, &["rm", "-f", "app", "db"]));
}

/// Several networks at create (as the docker CLI sends them since API 1.44): one
/// interface on each, the first network's the way out; `--mac-address`;
/// `--add-host NAME:host-gateway` names the host as the container reaches it.
#[test]
fn a_container_is_created_on_several_networks() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    let (a, b) = (TestNetwork::claim(), TestNetwork::claim());
    create_network(&d, &a, "first", &[]);
    create_network(&d, &b, "second", &[]);
    let out = ok(docker(&d, &["run", "--rm", "--network", "first", "--network", "second", "--add-host", "home:host-gateway", "busybox", "sh", "-c", "ls /sys/class/net; ip route | grep default; grep home /etc/hosts"]));
    assert!(out.starts_with("eth0\neth1\nlo\n"), "{out}");
    assert!(out.contains(&format!("default via {}.1 dev eth0", a.net)), "{out}");
    assert!(out.contains(&format!("{}.1\thome", a.net)), "{out}");
    let out = ok(docker(&d, &["run", "--rm", "--network", "second", "--mac-address", "02:42:de:ad:be:ef", "busybox", "cat", "/sys/class/net/eth0/address"]));
    assert_eq!(out.trim(), "02:42:de:ad:be:ef");
    let o = docker(&d, &["create", "--network", "second", "--mac-address", "nope", "busybox"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).to_lowercase().contains("mac"), "{o:?}");
    ok(docker(&d, &["network", "rm", "first", "second"]));
}

/// Nothing leaks: containers on the default bridge (with a port) and on a user
/// network, berthd killed with -9 while they run and one of them dying meanwhile,
/// berthd started again, everything removed; then none of their devices, namespaces,
/// nsfs mounts, forwards or the network's bridge is left.
#[test]
fn nothing_is_left_after_a_kill_and_removal() {
    berth_tests::require_root!();
    let Some(mut d) = Daemon::with_busybox_for_docker() else { return };
    let n = TestNetwork::claim();
    create_network(&d, &n, "kept", &[]);
    ok(docker(&d, &["run", "-d", "--name", "ka", "-p", "127.0.0.1::80", "busybox", "sleep", "600"]));
    ok(docker(&d, &["run", "-d", "--name", "kb", "--network", "kept", "busybox", "sleep", "600"]));
    ok(docker(&d, &["run", "-d", "--name", "kc", "busybox", "sleep", "600"]));
    ok(docker(&d, &["network", "connect", "kept", "kc"]));
    let ids: Vec<String> = ["ka", "kb", "kc"].iter().map(|n| ok(docker(&d, &["inspect", "-f", "{{.Id}}", n])).trim().to_string()).collect();
    let b_pid: i32 = ok(docker(&d, &["inspect", "-f", "{{.State.Pid}}", "kb"])).trim().parse().unwrap();
    d.kill9();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(b_pid), nix::sys::signal::Signal::SIGKILL).unwrap();
    d.start_again(&[]);
    ok(docker(&d, &["rm", "-f", "ka", "kb", "kc"]));
    ok(docker(&d, &["network", "rm", "kept"]));
    let exec = d.dir.path().join("exec");
    let ours = |name: &str| ids.iter().any(|id| name.starts_with(&format!("vb{}", &id[..12])));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let left = loop {
        let mut left: Vec<String> = std::fs::read_dir("/sys/class/net").unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| ours(n)).collect();
        left.extend(std::fs::read_dir(exec.join("netns")).into_iter().flatten().flatten().map(|e| format!("netns {}", e.file_name().to_string_lossy())));
        left.extend(
            std::fs::read_to_string("/proc/self/mountinfo").unwrap().lines().filter(|l| l.contains(exec.to_str().unwrap()) && l.contains("nsfs")).map(String::from),
        );
        if left.is_empty() || std::time::Instant::now() > deadline {
            break left;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(!std::path::Path::new(&format!("/sys/class/net/{}", n.bridge)).exists(), "the network's bridge");
    let rules = String::from_utf8_lossy(&std::process::Command::new("nft").args(["list", "table", "ip", &d.network.table()]).output().unwrap().stdout).into_owned();
    assert!(!rules.contains("elements") && !rules.contains(&n.bridge), "{rules}");
}

/// `--ipv6`: a network with an IPv6 subnet of the user's (or a unique local one
/// chosen for it), its containers given an address there too (inspect shows it as
/// Docker does), answered by name (AAAA) and reached over IPv6, from each other, from
/// the host, and through a published port on the gateway's IPv6 address.
#[test]
fn ipv6_networks_address_resolve_and_publish() {
    berth_tests::require_root!();
    if !std::path::Path::new("/proc/net/if_inet6").exists() {
        berth_tests::skip("the kernel has no IPv6");
        return;
    }
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    let n = TestNetwork::claim();
    let subnet6 = format!("--subnet={}/64", n.net6());
    create_network(&d, &n, "six", &["--ipv6", &subnet6]);
    let shown = ok(docker(&d, &["network", "inspect", "-f", "{{.EnableIPv6}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}} {{end}}", "six"]));
    assert_eq!(shown.trim(), format!("true {0}.0/24 {0}.1 {1}/64 {1}1", n.net, n.net6()));
    // Chosen for it: a unique local /64.
    let other = TestNetwork::claim();
    create_network(&d, &other, "ula", &["--ipv6"]);
    let ula = ok(docker(&d, &["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", "ula"]));
    assert!(ula.split_whitespace().nth(1).is_some_and(|s| s.starts_with("fd") && s.ends_with("::/64")), "{ula}");
    ok(docker(&d, &["network", "rm", "ula"]));
    let port = std::net::TcpListener::bind("[::]:0").unwrap().local_addr().unwrap().port().to_string();
    ok(docker(&d, &["run", "-d", "--name", "web6", "--network", "six", "-p", &format!("{port}:80"), "busybox", "sh", "-c", SERVE]));
    let v6 = ok(docker(&d, &["inspect", "-f", "{{.NetworkSettings.Networks.six.GlobalIPv6Address}} {{.NetworkSettings.Networks.six.GlobalIPv6PrefixLen}} {{.NetworkSettings.Networks.six.IPv6Gateway}}", "web6"]));
    let want_ip = format!("{}2", n.net6());
    assert_eq!(v6.trim(), format!("{want_ip} 64 {}1", n.net6()));
    // By name, both families; then over IPv6 from a neighbour.
    let script = format!("nslookup web6 | grep -c '{want_ip}$'; printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {want_ip} 80");
    let got = run_until(&d, &["run", "--rm", "--network", "six", "busybox", "sh", "-c", &script], "\nserved\n");
    assert!(got.starts_with("1\n") && got.ends_with("\nserved\n"), "{got}");
    // From the host: straight, and through the published port on the gateway's address.
    assert_eq!(http_get_soon(&format!("[{want_ip}]:80")).as_deref(), Ok("served\n"));
    assert_eq!(http_get_soon(&format!("[{}1]:{port}", n.net6())).as_deref(), Ok("served\n"));
    let rules = String::from_utf8_lossy(&std::process::Command::new("nft").args(["list", "table", "ip6", &d.network.table()]).output().unwrap().stdout).into_owned();
    assert!(rules.contains(&format!("tcp . {port} : {want_ip} . 80")), "{rules}");
    // On one IPv6 address of the host only.
    let only6 = std::net::TcpListener::bind("[::]:0").unwrap().local_addr().unwrap().port().to_string();
    let gw6 = format!("{}1", n.net6());
    ok(docker(&d, &["run", "-d", "--name", "web6b", "--network", "six", "-p", &format!("[{gw6}]:{only6}:80"), "busybox", "sh", "-c", SERVE]));
    assert_eq!(ok(docker(&d, &["port", "web6b", "80/tcp"])).trim(), format!("[{gw6}]:{only6}"));
    assert_eq!(http_get_soon(&format!("[{gw6}]:{only6}")).as_deref(), Ok("served\n"));
    assert!(http_get(&format!("127.0.0.1:{only6}")).is_err(), "not on IPv4");
    ok(docker(&d, &["rm", "-f", "web6", "web6b"]));
    ok(docker(&d, &["network", "rm", "six"]));
    assert!(!std::process::Command::new("nft").args(["list", "table", "ip6", &d.network.table()]).output().unwrap().status.success(), "the ip6 table goes with the last IPv6 network");
}

/// The way out is the first network that is not internal (its default route and its
/// ports), and it goes with that network; a container publishing port 53 does not
/// take its network's names.
#[test]
fn the_way_out_skips_internal_networks_and_port_53_stays_berths() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    let (inner, outer) = (TestNetwork::claim(), TestNetwork::claim());
    create_network(&d, &inner, "inner", &["--internal"]);
    create_network(&d, &outer, "outer", &[]);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    ok(docker(&d, &["run", "-d", "--name", "both", "--network", "inner", "--network", "outer", "-p", &format!("127.0.0.1:{port}:80"), "busybox", "sh", "-c", SERVE]));
    let routes = ok(docker(&d, &["exec", "both", "ip", "route"]));
    assert!(routes.contains(&format!("default via {}.1 dev eth1", outer.net)), "{routes}");
    assert_eq!(http_get_soon(&format!("127.0.0.1:{port}")).as_deref(), Ok("served\n"));
    // Its ports go with the network they led to.
    ok(docker(&d, &["network", "disconnect", "outer", "both"]));
    assert!(http_get(&format!("127.0.0.1:{port}")).is_err());
    assert_eq!(ok(docker(&d, &["port", "both"])).trim(), "");
    // With another way out, the ports and the default route move to it.
    let spare = TestNetwork::claim();
    create_network(&d, &spare, "spare", &[]);
    let port2 = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    ok(docker(&d, &["run", "-d", "--name", "moves", "--network", "outer", "--network", "spare", "-p", &format!("127.0.0.1:{port2}:80"), "busybox", "sh", "-c", SERVE]));
    assert_eq!(http_get_soon(&format!("127.0.0.1:{port2}")).as_deref(), Ok("served\n"));
    ok(docker(&d, &["network", "disconnect", "outer", "moves"]));
    let routes = ok(docker(&d, &["exec", "moves", "ip", "route"]));
    assert!(routes.contains(&format!("default via {}.1 dev eth1", spare.net)), "{routes}");
    assert_eq!(http_get_soon(&format!("127.0.0.1:{port2}")).as_deref(), Ok("served\n"));
    assert_eq!(ok(docker(&d, &["port", "moves", "80/tcp"])).trim(), format!("127.0.0.1:{port2}"));
    ok(docker(&d, &["rm", "-f", "moves"]));
    ok(docker(&d, &["network", "rm", "spare"]));
    // A DNS server published on every address leaves the gateway's port 53 to berth,
    // and so does a NAT rule of another table (another daemon's, say) that runs first.
    ok(docker(&d, &["run", "-d", "--name", "dns", "--network", "outer", "-p", "53:53/udp", "busybox", "sleep", "600"]));
    let _foreign = ForeignTable::add(&format!(
        "chain pre {{\n type nat hook prerouting priority dstnat - 10; policy accept;\n fib daddr type local udp dport 53 dnat to {}.250:53\n }}",
        outer.net
    ));
    let got = run_until(&d, &["run", "--rm", "--network", "outer", "busybox", "nslookup", "dns"], &format!("{}.", outer.net));
    assert!(got.contains(&format!("Address: {}.", outer.net)), "{got}");
    ok(docker(&d, &["rm", "-f", "both", "dns"]));
    ok(docker(&d, &["network", "rm", "inner", "outer"]));
}

/// An nftables table of the test's own, as another program on the host would have;
/// removed when dropped.
struct ForeignTable(String);

impl ForeignTable {
    fn add(body: &str) -> ForeignTable {
        let name = format!("berth_test_foreign{}", std::process::id());
        let script = format!("table ip {name} {{\n{body}\n}}\n");
        let o = std::process::Command::new("nft").args(["-f", "-"]).stdin(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().expect("piped").write_all(script.as_bytes())?;
            child.wait_with_output()
        });
        assert!(o.as_ref().is_ok_and(|o| o.status.success()), "nft {script}: {o:?}");
        ForeignTable(name)
    }
}

impl Drop for ForeignTable {
    fn drop(&mut self) {
        let _ = std::process::Command::new("nft").args(["delete", "table", "ip", &self.0]).status();
    }
}

/// A container's own `--dns` on a user network: its resolv.conf still asks berthd
/// (names of the network answered), and the other names are asked of its servers, as
/// Docker's resolver does; a container without `--dns` has them asked of the daemon's.
#[test]
fn a_containers_own_dns_servers_get_its_other_questions() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    // A resolver of the test's own on a loopback address: it answers every A question
    // with 10.9.9.9.
    let upstream = std::net::UdpSocket::bind("127.0.0.77:53").expect("bind 127.0.0.77:53");
    upstream.set_read_timeout(Some(std::time::Duration::from_millis(200))).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopping = stop.clone();
    let answering = std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while !stopping.load(std::sync::atomic::Ordering::Relaxed) {
            let Ok((n, from)) = upstream.recv_from(&mut buf) else { continue };
            if n < 12 {
                continue;
            }
            let mut reply = buf[..n].to_vec();
            reply[2] = 0x81;
            reply[3] = 0x80;
            reply[6..8].copy_from_slice(&1u16.to_be_bytes());
            reply[8..12].fill(0);
            reply.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 9, 9, 9]);
            let _ = upstream.send_to(&reply, from);
        }
    });
    let n = TestNetwork::claim();
    create_network(&d, &n, "asks", &[]);
    ok(docker(&d, &["run", "-d", "--name", "peer", "--network", "asks", "busybox", "sleep", "600"]));
    let out = run_until(&d, &["run", "--rm", "--network", "asks", "--dns", "127.0.0.77", "busybox", "sh", "-c", "cat /etc/resolv.conf; nslookup outside.example; nslookup peer"], "10.9.9.9");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    answering.join().unwrap();
    assert!(out.starts_with(&format!("nameserver {}.1\n", n.net)) && !out.contains("127.0.0.77\n"), "{out}");
    assert!(out.contains("Address: 10.9.9.9"), "asked of its own server: {out}");
    assert!(out.contains(&format!("Address: {}.2", n.net)), "the network's names still: {out}");
    // Without --dns: the daemon's servers (127.0.0.1 here, where none answers).
    let o = docker(&d, &["run", "--rm", "--network", "asks", "busybox", "nslookup", "outside.example"]);
    assert!(!String::from_utf8_lossy(&o.stdout).contains("10.9.9.9"), "{o:?}");
    ok(docker(&d, &["rm", "-f", "peer"]));
    ok(docker(&d, &["network", "rm", "asks"]));
}

/// A renamed container answers to its new name on its networks; a container that
/// shares another's namespace (`container:`) does not keep that one's interface on
/// the network once it stops.
#[test]
fn renames_are_answered_and_sharers_do_not_keep_interfaces() {
    berth_tests::require_root!();
    let Some(d) = Daemon::with_busybox_for_docker() else { return };
    let n = TestNetwork::claim();
    create_network(&d, &n, "named", &[]);
    ok(docker(&d, &["run", "-d", "--name", "before", "--network", "named", "busybox", "sleep", "600"]));
    let ip = ok(docker(&d, &["inspect", "-f", "{{.NetworkSettings.Networks.named.IPAddress}}", "before"])).trim().to_string();
    ok(docker(&d, &["rename", "before", "after"]));
    let got = run_until(&d, &["run", "--rm", "--network", "named", "busybox", "nslookup", "after"], &ip);
    assert!(got.contains(&format!("Address: {ip}")), "{got}");
    // A sidecar in its namespace; then it stops: its interface goes from the bridge.
    ok(docker(&d, &["run", "-d", "--name", "sidecar", "--network", "container:after", "busybox", "sleep", "600"]));
    let id = ok(docker(&d, &["inspect", "-f", "{{.Id}}", "after"])).trim().to_string();
    let host_end = format!("/sys/class/net/vb{}0", &id[..12]);
    assert!(std::path::Path::new(&host_end).exists());
    ok(docker(&d, &["stop", "-t", "0", "after"]));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::path::Path::new(&host_end).exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!std::path::Path::new(&host_end).exists(), "the shared namespace's veth stays on the bridge");
    ok(docker(&d, &["rm", "-f", "sidecar", "after"]));
    ok(docker(&d, &["network", "rm", "named"]));
}

/// IPv6 as Docker users configure it: `--ip-range` and `--aux-address` on a
/// network's IPv6 subnet, `--ip6` at run and at connect (shown under IPAMConfig,
/// refused twice and off the subnet), and IPv6 on the default bridge with berthd's
/// `--ipv6` (a unique local /64 kept across restarts) or `--fixed-cidr-v6`.
#[test]
fn ipv6_ranges_fixed_addresses_and_the_default_bridge() {
    berth_tests::require_root!();
    if !std::path::Path::new("/proc/net/if_inet6").exists() {
        berth_tests::skip("the kernel has no IPv6");
        return;
    }
    let Some(mut d) = Daemon::with_busybox_for_docker() else { return };
    let n = TestNetwork::claim();
    let (net6, net4) = (n.net6(), n.net.clone());
    let subnet6 = format!("--subnet={net6}/64");
    let range6 = format!("--ip-range={net6}100/120");
    let aux6 = format!("--aux-address=router={net6}100");
    create_network(&d, &n, "six", &["--ipv6", &subnet6, &range6, &aux6]);
    let shown = ok(docker(&d, &["network", "inspect", "-f", "{{json .IPAM.Config}}", "six"]));
    let config: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(
        config,
        serde_json::json!([
            {"Subnet": format!("{net4}.0/24"), "Gateway": format!("{net4}.1")},
            {"Subnet": format!("{net6}/64"), "Gateway": format!("{net6}1"), "IPRange": format!("{net6}100/120"), "AuxiliaryAddresses": {"router": format!("{net6}100")}},
        ])
    );
    // From the range, past the reserved address; and one asked for, off the range.
    ok(docker(&d, &["run", "-d", "--name", "first6", "--network", "six", "busybox", "sh", "-c", SERVE]));
    let first = ok(docker(&d, &["inspect", "-f", "{{.NetworkSettings.Networks.six.GlobalIPv6Address}}", "first6"]));
    assert_eq!(first.trim(), format!("{net6}101"));
    let fixed = format!("{net6}5");
    ok(docker(&d, &["run", "-d", "--name", "fixed6", "--network", "six", "--ip6", &fixed, "busybox", "sleep", "60"]));
    let f = ok(docker(&d, &["inspect", "-f", "{{.NetworkSettings.Networks.six.IPAMConfig.IPv6Address}} {{.NetworkSettings.Networks.six.GlobalIPv6Address}}", "fixed6"]));
    assert_eq!(f.trim(), format!("{fixed} {fixed}"));
    // The fixed one reaches the ranged one over IPv6.
    let script = format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {net6}101 80");
    let got = run_until(&d, &["exec", "fixed6", "sh", "-c", &script], "served");
    assert!(got.contains("served"), "{got}");
    // Taken, reserved, off the subnet, or on a network without IPv6: refused.
    for (ip, want) in [(fixed.clone(), "Address already in use"), (format!("{net6}100"), "reserved"), ("fd00:dead::5".to_string(), "not a host address")] {
        let o = docker(&d, &["run", "--rm", "--network", "six", "--ip6", &ip, "busybox", "true"]);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(!o.status.success() && err.contains(want), "{ip}: {err}");
    }
    let plain = TestNetwork::claim();
    create_network(&d, &plain, "four", &[]);
    let o = docker(&d, &["network", "connect", "--ip6", &format!("{net6}9"), "four", "fixed6"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("no IPv6"), "{o:?}");
    // At connect.
    ok(docker(&d, &["run", "-d", "--name", "late6", "busybox", "sleep", "60"]));
    ok(docker(&d, &["network", "connect", "--ip6", &format!("{net6}7"), "six", "late6"]));
    let late = ok(docker(&d, &["exec", "late6", "ip", "-6", "addr", "show", "eth1"]));
    assert!(late.contains(&format!("{net6}7/64")), "{late}");
    ok(docker(&d, &["rm", "-f", "first6", "fixed6", "late6"]));
    ok(docker(&d, &["network", "rm", "six", "four"]));

    // The default bridge: a unique local /64 of berthd's choice, the same after a
    // restart; then the one named.
    d.stop();
    d.start_again(&["--ipv6"]);
    let subnets = |d: &Daemon| ok(docker(d, &["network", "inspect", "-f", "{{.EnableIPv6}} {{range .IPAM.Config}}{{.Subnet}} {{end}}", "bridge"]));
    let ula = subnets(&d);
    assert!(ula.starts_with("true ") && ula.trim().ends_with("::/64") && ula.contains(" fd"), "{ula}");
    d.stop();
    d.start_again(&["--ipv6"]);
    assert_eq!(subnets(&d), ula, "kept across a restart");
    let bridge6 = d.network.net6();
    d.stop();
    d.start_again(&["--ipv6", "--fixed-cidr-v6", &format!("{bridge6}/64")]);
    let own = ok(docker(&d, &["run", "--rm", "busybox", "ip", "-6", "addr", "show", "eth0"]));
    assert!(own.contains(&format!("{bridge6}2/64")), "{own}");
    d.stop();
    d.start_again(&[]);
    assert!(subnets(&d).starts_with("false "), "off again");
}
