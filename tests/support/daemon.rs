//! A berthd of the test's own: private data-root, exec-root, socket and pid file, so
//! tests run in parallel; stopped (SIGTERM, then SIGKILL) when the guard drops.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub child: Option<Child>,
}

impl Daemon {
    pub fn start() -> Daemon {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Daemon {
        let dir = tempfile::Builder::new().prefix("berthd-test").tempdir().expect("tempdir");
        let socket = dir.path().join("berth.sock");
        let mut d = Daemon { socket, child: None, dir };
        d.spawn(extra);
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
        ]
    }

    fn spawn(&mut self, extra: &[&str]) {
        let cfg = self.dir.path().join("daemon.json");
        if !cfg.exists() {
            std::fs::write(&cfg, "{}").unwrap();
        }
        let log = std::fs::File::create(self.dir.path().join("berthd.log")).unwrap();
        let child = Command::new(crate::bin("berthd"))
            .args(self.args())
            .args(extra)
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

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs an async block on a small runtime (tests stay synchronous).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}
