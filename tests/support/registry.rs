//! A private registry for a test: Debian's `docker-registry` (the CNCF distribution
//! registry) on a loopback port of its own, storing under a temp directory, stopped
//! by its pid when dropped; and images put into it with `skopeo` from the busybox
//! fixture, so that what berth pulls was pushed by another client.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    /// `127.0.0.1:<port>`.
    pub host: String,
    /// The one user's name and password, when it asks for them (htpasswd).
    creds: Option<(String, String)>,
}

impl Registry {
    /// Starts one; `None` (a skip, a failure under CI) when `docker-registry` or
    /// `skopeo` is missing.
    pub fn start() -> Option<Registry> {
        Registry::start_inner(None)
    }

    /// One that lets in only `user` with `password` (HTTP Basic, htpasswd).
    pub fn start_with_user(user: &str, password: &str) -> Option<Registry> {
        Registry::start_inner(Some((user.to_string(), password.to_string())))
    }

    fn start_inner(creds: Option<(String, String)>) -> Option<Registry> {
        for tool in ["docker-registry", "skopeo"] {
            if Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
                crate::skip(&format!("no {tool}"));
                return None;
            }
        }
        let dir = tempfile::Builder::new().prefix("berth-registry").tempdir().expect("tempdir");
        // A port free now; another test taking it in between makes the start fail, and
        // then another is tried.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let host = format!("127.0.0.1:{port}");
            let config = dir.path().join("config.yml");
            let storage = dir.path().join("data");
            let mut yaml = format!("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n", storage.display());
            if let Some((user, password)) = &creds {
                let htpasswd = dir.path().join("htpasswd");
                std::fs::write(&htpasswd, format!("{user}:{}\n", bcrypt::hash(password, 5).unwrap())).unwrap();
                yaml.push_str(&format!("auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n", htpasswd.display()));
            }
            std::fs::write(&config, yaml).unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let mut child = Command::new("docker-registry").arg("serve").arg(&config).stdout(log.try_clone().unwrap()).stderr(log).spawn().expect("start docker-registry");
            if ready(&mut child, &host) {
                return Some(Registry { child, dir, host, creds });
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("docker-registry did not start");
    }

    /// Where the registry keeps the blob `hex` (to corrupt it).
    pub fn blob_data(&self, hex: &str) -> PathBuf {
        self.dir.path().join("data/docker/registry/v2/blobs/sha256").join(&hex[..2]).join(hex).join("data")
    }

    /// Copies the OCI layout `layout` (its `reference`, every platform of an index)
    /// to `repo_tag` here, with skopeo.
    pub fn push_layout(&self, layout: &Path, reference: &str, repo_tag: &str) {
        let mut skopeo = Command::new("skopeo");
        skopeo.args(["copy", "--all", "--dest-tls-verify=false", "--quiet"]);
        if let Some((user, password)) = &self.creds {
            skopeo.arg(format!("--dest-creds={user}:{password}"));
        }
        let out = skopeo
            .arg(format!("oci:{}:{reference}", layout.display()))
            .arg(format!("docker://{}/{repo_tag}", self.host))
            .output()
            .expect("run skopeo");
        assert!(out.status.success(), "skopeo copy: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// The busybox fixture as `repo_tag` here.
    pub fn push_busybox(&self, repo_tag: &str) -> PathBuf {
        let layout = self.dir.path().join(format!("layout-{}", crate::unique("bb")));
        fixture::write_oci_layout(&layout, "latest").expect("write the fixture layout");
        self.push_layout(&layout, "latest", repo_tag);
        layout
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Whether the registry answers `/v2/` within a few seconds (false if it exited).
fn ready(child: &mut Child, host: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if let Ok(mut s) = std::net::TcpStream::connect(host) {
            use std::io::{Read, Write};
            let _ = s.write_all(b"GET /v2/ HTTP/1.0\r\n\r\n");
            let mut answer = String::new();
            let _ = s.read_to_string(&mut answer);
            // 401 from one that asks for a password: up all the same.
            if ["200", "401"].iter().any(|code| answer.starts_with(&format!("HTTP/1.0 {code}")) || answer.starts_with(&format!("HTTP/1.1 {code}"))) {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
