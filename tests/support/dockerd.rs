//! A real dockerd (Debian's docker.io, 20.10) of the test's own, for comparing berthd
//! with it: its own containerd, roots, sockets and pid files under one temp dir, a
//! bridge of the test's own (a claimed name and /24), and no iptables rules, no IP
//! forwarding change: nothing outside that dir and bridge is touched. Stopped by pid
//! when the guard drops; what it left mounted under its dir is unmounted, the dir and
//! the bridge removed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::daemon::TestNetwork;

pub struct Dockerd {
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    /// Its containers' cgroup parent, of its own (`/dockerd-test…`).
    cgroup_parent: String,
    /// Whether /run/docker was there before (dockerd makes /run/docker/plugins
    /// whatever its exec-root).
    run_docker_was: bool,
    containerd: Option<Child>,
    dockerd: Option<Child>,
    bridge: TestNetwork,
    /// Where its networks that name no subnet get theirs (in /26s).
    pool: TestNetwork,
}

fn found(program: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/sbin", "/bin"].iter().map(|d| Path::new(d).join(program)).find(|p| p.exists())
}

impl Dockerd {
    /// A running dockerd; `None` (the test is skipped, and says so) where docker.io is
    /// not installed.
    pub fn start() -> Option<Dockerd> {
        let (Some(dockerd), Some(containerd)) = (found("dockerd"), found("containerd")) else {
            crate::skip("no dockerd/containerd (Debian's docker.io)");
            return None;
        };
        let dir = tempfile::Builder::new().prefix("dockerd-test").tempdir().expect("tempdir");
        let p = |s: &str| dir.path().join(s);
        let bridge = TestNetwork::claim();
        let ip = |args: &[&str]| {
            let ok = Command::new("ip").args(args).status().is_ok_and(|s| s.success());
            assert!(ok, "ip {args:?}");
        };
        ip(&["link", "add", &bridge.bridge, "type", "bridge"]);
        ip(&["addr", "add", &format!("{}.1/24", bridge.net), "dev", &bridge.bridge]);
        ip(&["link", "set", &bridge.bridge, "up"]);
        std::fs::create_dir_all(p("ctd/root")).unwrap();
        std::fs::create_dir_all(p("ctd/state")).unwrap();
        let ctd_socket = p("ctd/containerd.sock");
        std::fs::write(
            p("containerd.toml"),
            format!(
                "version = 2\nroot = \"{}\"\nstate = \"{}\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = \"{}\"\n[plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{}\"\n",
                p("ctd/root").display(),
                p("ctd/state").display(),
                ctd_socket.display(),
                p("ctd/opt").display()
            ),
        )
        .unwrap();
        let log = |name: &str| std::fs::File::create(p(name)).unwrap();
        let containerd = Command::new(containerd)
            .arg("--config")
            .arg(p("containerd.toml"))
            .stdin(Stdio::null())
            .stdout(log("containerd.log"))
            .stderr(log("containerd.err"))
            .spawn()
            .expect("spawn containerd");
        let socket = p("docker.sock");
        let cgroup_parent = format!("/{}", dir.path().file_name().unwrap().to_string_lossy());
        let run_docker_was = Path::new("/run/docker").exists();
        std::fs::write(p("daemon.json"), "{}").unwrap();
        let mut d = Dockerd {
            socket: socket.clone(),
            cgroup_parent,
            run_docker_was,
            containerd: Some(containerd),
            dockerd: None,
            bridge,
            pool: TestNetwork::claim(),
            dir,
        };
        d.wait_for(&ctd_socket, "containerd");
        let p = |s: &str| d.dir.path().join(s);
        let dockerd = Command::new(dockerd)
            .arg(format!("--containerd={}", ctd_socket.display()))
            .arg("--data-root")
            .arg(p("data"))
            .arg("--exec-root")
            .arg(p("exec"))
            .arg("--pidfile")
            .arg(p("docker.pid"))
            .arg("-H")
            .arg(format!("unix://{}", socket.display()))
            .arg(format!("--bridge={}", d.bridge.bridge))
            .args(["--iptables=false", "--ip-forward=false", "--ip-masq=false"])
            .arg("--cgroup-parent")
            .arg(&d.cgroup_parent)
            .arg("--default-address-pool")
            .arg(format!("base={}.0/24,size=26", d.pool.net))
            .arg("--config-file")
            .arg(p("daemon.json"))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(p("dockerd.log")).unwrap())
            .stderr(std::fs::File::create(p("dockerd.err")).unwrap())
            .spawn()
            .expect("spawn dockerd");
        d.dockerd = Some(dockerd);
        d.wait_for(&socket, "dockerd");
        // The socket comes before the API answers.
        let client = api::Client::new(&d.host()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while crate::daemon::block_on(client.get("/_ping", &[], None)).is_err() {
            assert!(Instant::now() < deadline, "dockerd did not answer: {}", d.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(d)
    }

    fn wait_for(&mut self, socket: &Path, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::os::unix::net::UnixStream::connect(socket).is_err() {
            assert!(Instant::now() < deadline, "{what} did not listen: {}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    pub fn log(&self) -> String {
        ["containerd.err", "dockerd.err"].iter().map(|f| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default()).collect()
    }

    /// Loads the busybox fixture as `busybox:latest`, as berthd's tests load it.
    pub fn load_busybox(&self) {
        let archive = self.dir.path().join("busybox-fixture.tar");
        fixture::write_docker_archive(&archive, "busybox:latest").expect("write the busybox archive");
        let bytes = std::fs::read(&archive).unwrap();
        let client = api::Client::new(&self.host()).unwrap();
        crate::daemon::block_on(async {
            let r = client.post("/images/load", &[("quiet", "1")], Some(api::client::Body::raw("application/x-tar", bytes))).await.unwrap();
            assert!(r.status.is_success(), "load: {}", r.text());
        });
    }
}

fn stop(child: &mut Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // Its containers first, through its API, so that their shims and mounts go.
        let client = api::Client::new(&self.host()).ok();
        if let Some(c) = client {
            crate::daemon::block_on(async {
                if let Ok(list) = c.get_json::<serde_json::Value>("/containers/json", &[("all", "1")]).await {
                    for id in list.as_array().into_iter().flatten().filter_map(|x| x["Id"].as_str()) {
                        let _ = c.delete(&format!("/containers/{id}"), &[("force", "1")], None).await;
                    }
                }
                // Its networks' bridges go with them.
                if let Ok(list) = c.get_json::<serde_json::Value>("/networks", &[]).await {
                    let names = list.as_array().into_iter().flatten().filter_map(|n| n["Name"].as_str());
                    for name in names.filter(|n| !matches!(*n, "bridge" | "host" | "none")) {
                        let _ = c.delete(&format!("/networks/{name}"), &[], None).await;
                    }
                }
            });
        }
        if let Some(mut d) = self.dockerd.take() {
            stop(&mut d);
        }
        if let Some(mut c) = self.containerd.take() {
            stop(&mut c);
        }
        for controller in std::fs::read_dir("/sys/fs/cgroup").into_iter().flatten().flatten() {
            let _ = std::fs::remove_dir(controller.path().join(self.cgroup_parent.trim_start_matches('/')));
        }
        if !self.run_docker_was {
            let _ = std::fs::remove_dir("/run/docker/plugins");
            let _ = std::fs::remove_dir("/run/docker");
        }
        let root = self.dir.path().display().to_string();
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut ours: Vec<&str> = mounts.lines().filter_map(|l| l.split(' ').nth(4)).filter(|m| m.starts_with(&root)).collect();
        ours.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in ours {
            let _ = nix::mount::umount2(m, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}
