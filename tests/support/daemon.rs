//! A berthd of the test's own: private data-root, exec-root, socket and pid file, so
//! tests run in parallel; stopped (SIGTERM, then SIGKILL) when the guard drops.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A proxy address nothing listens on (the discard port of loopback).
pub const NO_INTERNET: &str = "http://127.0.0.1:9";

pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub child: Option<Child>,
    /// Its own bridge and subnet.
    pub network: TestNetwork,
    /// The /24 its networks that name no subnet are cut from (`--default-address-pool`,
    /// in /26s).
    pub pool: TestNetwork,
}

/// A bridge name and a /24 (`10.X.Y.0/24`) of one daemon's own, claimed machine-wide
/// (a file under /run, with the claimer's pid) so that daemons of tests running side
/// by side, in this process or another, never share them; the bridge and berth's
/// nftables table for it are removed when the daemon's guard drops.
pub struct TestNetwork {
    pub bridge: String,
    /// `10.X.Y`.
    pub net: String,
    claim: PathBuf,
}

impl TestNetwork {
    /// One more bridge name and /24 of the test's own (for a network it creates with
    /// `--subnet` and `-o com.docker.network.bridge.name=`), removed when it drops.
    pub fn claim() -> TestNetwork {
        let dir = std::path::Path::new("/run/berth-test-networks");
        let _ = std::fs::create_dir_all(dir);
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let me = std::process::id();
        let start = (me as usize * 7919 + NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) * 131) % 25_000;
        for i in 0..25_000 {
            let n = (start + i) % 25_000;
            let (x, y) = (100 + n / 250, n % 250);
            let claim = dir.join(format!("{x}.{y}"));
            // The claim is made whole, then linked into place: a reader never sees it
            // half-written, and only one link succeeds.
            let token = format!("{me} {n} {:?}", Instant::now());
            let tmp = dir.join(format!(".{me}-{n}-{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
            if std::fs::write(&tmp, &token).is_err() {
                continue;
            }
            let mut ours = std::fs::hard_link(&tmp, &claim).is_ok();
            if !ours {
                // A claim whose process is gone is free again: replaced, then checked.
                let holder = std::fs::read_to_string(&claim).unwrap_or_default();
                let pid = holder.split(' ').next().and_then(|p| p.parse::<u32>().ok());
                if pid.is_some_and(|pid| pid != me && !std::path::Path::new(&format!("/proc/{pid}")).exists())
                    && std::fs::rename(&tmp, &claim).is_ok()
                {
                    ours = std::fs::read_to_string(&claim).is_ok_and(|t| t == token);
                }
            }
            let _ = std::fs::remove_file(&tmp);
            if ours {
                return TestNetwork { bridge: format!("bt{x}x{y}"), net: format!("10.{x}.{y}"), claim };
            }
        }
        panic!("no test network left to claim in {}", dir.display());
    }

    /// The MAC address berth gives `.N` on this subnet (02:42 and the address).
    pub fn mac(&self, last: u8) -> String {
        let o: Vec<u8> = self.net.split('.').map(|p| p.parse().unwrap()).collect();
        format!("02:42:{:02x}:{:02x}:{:02x}:{last:02x}", o[0], o[1], o[2])
    }

    /// An IPv6 /64 of the claim's own: `fd00:be:X:Y::/64`.
    pub fn net6(&self) -> String {
        let o: Vec<&str> = self.net.split('.').collect();
        format!("fd00:be:{}:{}::", o[1], o[2])
    }

    /// berth's nftables table for this bridge.
    pub fn table(&self) -> String {
        format!("berth_{}", self.bridge)
    }
}

impl Drop for TestNetwork {
    fn drop(&mut self) {
        let quiet = |args: &[&str], program: &str| {
            let _ = Command::new(program).args(args).stdout(Stdio::null()).stderr(Stdio::null()).status();
        };
        quiet(&["link", "del", &self.bridge], "ip");
        quiet(&["delete", "table", "ip", &self.table()], "nft");
        quiet(&["delete", "table", "ip6", &self.table()], "nft");
        let _ = std::fs::remove_file(&self.claim);
        // The directory goes with the last claim.
        if let Some(dir) = self.claim.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

impl Daemon {
    pub fn start() -> Daemon {
        Self::start_with(&[])
    }

    /// A daemon with busybox loaded, for tests that drive it with the docker CLI;
    /// `None` (the test is skipped, and says so) where that CLI is not installed.
    pub fn with_busybox_for_docker() -> Option<Daemon> {
        Self::with_busybox_for_docker_and(&[])
    }

    /// [`Daemon::with_busybox_for_docker`] with more flags for berthd.
    pub fn with_busybox_for_docker_and(extra: &[&str]) -> Option<Daemon> {
        let d = Daemon::for_docker_with(extra)?;
        d.load_busybox();
        Some(d)
    }

    /// A daemon with no image, to drive with the docker CLI; `None` (a skip, a
    /// failure under CI) when there is no docker CLI.
    pub fn for_docker() -> Option<Daemon> {
        Self::for_docker_with(&[])
    }

    /// [`Daemon::for_docker`] with more flags for berthd.
    pub fn for_docker_with(extra: &[&str]) -> Option<Daemon> {
        let d = Daemon::start_with(extra);
        if d.docker(&["version", "--format", "{{.Client.Version}}"]).is_none() {
            crate::skip("no docker CLI");
            return None;
        }
        Some(d)
    }

    pub fn start_with(extra: &[&str]) -> Daemon {
        Self::start_with_env(extra, &[])
    }

    /// A daemon whose first run has more environment (`BERTH_CRASH_AT` …); a restart
    /// runs without it.
    pub fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Daemon {
        let dir = tempfile::Builder::new().prefix("berthd-test").tempdir().expect("tempdir");
        let socket = dir.path().join("berth.sock");
        let mut d = Daemon { socket, child: None, dir, network: TestNetwork::claim(), pool: TestNetwork::claim() };
        d.spawn_env(extra, env);
        d
    }

    pub fn args(&self) -> Vec<String> {
        let p = |s: &str| self.dir.path().join(s).display().to_string();
        vec![
            "--data-root".into(),
            p("data"),
            "--exec-root".into(),
            p("exec"),
            "--pidfile".into(),
            p("berthd.pid"),
            "-H".into(),
            format!("unix://{}", self.socket.display()),
            "--config-file".into(),
            p("daemon.json"),
            "--cgroup-parent".into(),
            self.cgroup_parent(),
            "--bridge".into(),
            self.network.bridge.clone(),
            "--bip".into(),
            format!("{}.1/24", self.network.net),
            "--default-address-pool".into(),
            format!("base={}.0/24,size=26", self.pool.net),
            // Names berthd does not know are asked of loopback only, never of the
            // host's resolvers.
            "--dns".into(),
            "127.0.0.1".into(),
        ]
    }

    fn spawn(&mut self, extra: &[&str]) {
        self.spawn_env(extra, &[]);
    }

    fn spawn_env(&mut self, extra: &[&str], env: &[(&str, &str)]) {
        let cfg = self.dir.path().join("daemon.json");
        if !cfg.exists() {
            std::fs::write(&cfg, "{}").unwrap();
        }
        let log = std::fs::File::create(self.dir.path().join("berthd.log")).unwrap();
        let child = Command::new(crate::bin("berthd"))
            .args(self.args())
            .args(extra)
            // Tests talk to registries on loopback only: any other (a pull of an image
            // no test registry has, say docker.io's) goes to a proxy that is not there
            // and fails at once, never reaching the internet.
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .env("HTTPS_PROXY", NO_INTERNET)
            .env("HTTP_PROXY", NO_INTERNET)
            .env("NO_PROXY", "127.0.0.1,localhost,::1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn berthd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(&self.socket).is_err() {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("berthd exited {status}: {}", self.log());
            }
            assert!(Instant::now() < deadline, "berthd did not listen: {}", self.log());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// This daemon's own parent cgroup, removed when the guard drops.
    pub fn cgroup_parent(&self) -> String {
        let name = self.dir.path().file_name().unwrap().to_string_lossy().into_owned();
        format!("/{name}")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("berthd.log")).unwrap_or_default()
    }

    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The real docker CLI pointed at this daemon, when it is installed.
    pub fn docker(&self, args: &[&str]) -> Option<Output> {
        let docker = ["/usr/local/bin/docker", "/usr/bin/docker"].into_iter().find(|p| std::path::Path::new(p).exists())?;
        let home = self.dir.path().join("docker-config");
        Some(
            Command::new(docker)
                .env("DOCKER_HOST", self.host())
                .env("DOCKER_CONFIG", home)
                .args(args)
                .stdin(Stdio::null())
                .output()
                .expect("run docker"),
        )
    }

    /// [`Daemon::docker`] with `input` on its stdin.
    pub fn docker_with_input(&self, args: &[&str], input: &[u8]) -> Option<Output> {
        use std::io::Write;
        let docker = ["/usr/local/bin/docker", "/usr/bin/docker"].into_iter().find(|p| std::path::Path::new(p).exists())?;
        let mut child = Command::new(docker)
            .env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", self.dir.path().join("docker-config"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run docker");
        let mut stdin = child.stdin.take().expect("stdin");
        let input = input.to_vec();
        let feeder = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().expect("wait for docker");
        let _ = feeder.join();
        Some(out)
    }

    /// Stops the daemon with SIGTERM and waits; returns its exit status.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                return Some(s);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return child.wait().ok();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Daemon {
    /// `kill -9` of berthd (containers and shims live on), then a new berthd on the
    /// same roots and socket.
    pub fn kill9_and_restart(&mut self) {
        self.kill9();
        self.spawn(&[]);
    }

    /// `kill -9` of berthd (containers and shims live on); [`Daemon::start_again`]
    /// starts a new one.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits for berthd to die by itself (a crash point), then starts a new one on the
    /// same roots.
    pub fn wait_crash_and_restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().unwrap().is_none() {
                assert!(Instant::now() < deadline, "berthd did not reach its crash point: {}", self.log());
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        self.spawn(&[]);
    }

    /// Stops berthd gracefully and starts it again on the same roots.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn(&[]);
    }

    /// Starts berthd again (after [`Daemon::stop`]) on the same roots, with more flags.
    pub fn start_again(&mut self, extra: &[&str]) {
        self.spawn(extra);
    }

    /// Loads the busybox fixture as `busybox:latest` through the API.
    pub fn load_busybox(&self) {
        let archive = self.dir.path().join("busybox-fixture.tar");
        fixture::write_docker_archive(&archive, "busybox:latest").expect("write the busybox archive");
        let bytes = std::fs::read(&archive).unwrap();
        let client = api::Client::new(&self.host()).unwrap();
        block_on(async {
            let r = client.post("/images/load", &[("quiet", "1")], Some(api::client::Body::raw("application/x-tar", bytes))).await.unwrap();
            assert!(r.status.is_success(), "load: {}", r.text());
        });
    }

    /// Removes every container (force) through the API, then whatever a crashed run
    /// could have left: shims, runtime state (and so cgroups), mounts under our roots.
    fn clean_up(&mut self) {
        if self.child.is_some()
            && let Ok(client) = api::Client::new(&self.host())
        {
            block_on(async {
                if let Ok(list) = client.get_json::<Vec<serde_json::Value>>("/containers/json", &[("all", "1")]).await {
                    for c in list {
                        if let Some(id) = c["Id"].as_str() {
                            let _ = client.delete(&format!("/containers/{id}"), &[("force", "1")], None).await;
                        }
                    }
                }
            });
        }
        self.stop();
        let exec = self.dir.path().join("exec");
        for entry in std::fs::read_dir(exec.join("s")).into_iter().flatten().flatten() {
            let pid_file = entry.path().join("shim.pid");
            if let Ok(pid) = std::fs::read_to_string(&pid_file).unwrap_or_default().trim().parse::<i32>()
                && std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.starts_with(crate::bin("berth-shim").to_string_lossy().as_bytes()))
            {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
        }
        for entry in std::fs::read_dir(exec.join("runtime")).into_iter().flatten().flatten() {
            let _ = Command::new(crate::bin("berth-runtime"))
                .arg("--root")
                .arg(exec.join("runtime"))
                .args(["delete", "--force"])
                .arg(entry.file_name())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let root = self.dir.path().to_string_lossy().into_owned();
        let mut mounts: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').nth(4).map(String::from))
            .filter(|m| m.starts_with(&root))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = nix::mount::umount2(m.as_str(), nix::mount::MntFlags::MNT_DETACH);
        }
        // The parent cgroup, in every hierarchy (empty once its containers are gone).
        let parent = self.cgroup_parent();
        for entry in std::fs::read_dir("/sys/fs/cgroup").into_iter().flatten().flatten() {
            let dir = entry.path().join(parent.trim_start_matches('/'));
            if dir.is_dir() {
                let _ = std::fs::remove_dir(&dir);
            }
        }
        let _ = std::fs::remove_dir(std::path::Path::new("/sys/fs/cgroup").join(parent.trim_start_matches('/')));
        // The bridges of the networks it made.
        for entry in std::fs::read_dir(self.dir.path().join("data/networks")).into_iter().flatten().flatten() {
            let def: serde_json::Value = std::fs::read(entry.path()).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
            if let Some(device) = def["bridge"]["device"].as_str().filter(|d| *d != self.network.bridge) {
                let _ = Command::new("ip").args(["link", "del", device]).stdout(Stdio::null()).stderr(Stdio::null()).status();
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.clean_up();
    }
}

/// Runs an async block on a small runtime (tests stay synchronous).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}
