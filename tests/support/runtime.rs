//! Driving `berth-runtime` as a user would: a private --root per test, bundles made
//! from the busybox fixture, and a guard that force-deletes every container on drop.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

pub struct Runtime {
    pub root: tempfile::TempDir,
    pub work: tempfile::TempDir,
    ids: std::cell::RefCell<Vec<String>>,
}

pub struct Bundle {
    pub dir: PathBuf,
    pub id: String,
}

/// What a run printed and how it ended.
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Ran {
    fn from(o: Output) -> Ran {
        Ran {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Ran {
    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, Some(0), "failed: stdout={:?} stderr={:?}", self.stdout, self.stderr);
        self
    }
}

impl Default for Runtime {
    fn default() -> Self {
        Self::new()
    }
}

impl Runtime {
    pub fn new() -> Runtime {
        Runtime {
            root: tempfile::Builder::new().prefix("berth-rt-root").tempdir().expect("tempdir"),
            work: tempfile::Builder::new().prefix("berth-rt-work").tempdir().expect("tempdir"),
            ids: Default::default(),
        }
    }

    /// A bundle running `args`, its config edited by `edit` (a serde_json Value of
    /// config.json); the container id is unique and cleaned up by this guard.
    pub fn bundle(&self, args: &[&str], edit: impl FnOnce(&mut Value)) -> Bundle {
        let id = crate::unique("bt");
        let dir = self.work.path().join(&id);
        fixture::write_bundle_with(&dir, args, edit).expect("write bundle");
        self.ids.borrow_mut().push(id.clone());
        Bundle { dir, id }
    }

    /// Remember an id to force-delete at the end (for ids the test made up).
    pub fn track(&self, id: &str) {
        self.ids.borrow_mut().push(id.to_string());
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(crate::bin("berth-runtime"));
        c.arg("--root").arg(self.root.path());
        c.stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Ran {
        self.cmd().args(args).output().expect("spawn berth-runtime").into()
    }

    /// `run --detach`: the container keeps running with its stdio on files (a pipe
    /// would keep the caller waiting for the container's end).
    pub fn run_detached(&self, b: &Bundle) {
        self.with_output_file(b, &["run", "--detach"]);
    }

    /// `create`, the container's stdio on a file as with `run_detached`.
    pub fn create(&self, b: &Bundle) {
        self.with_output_file(b, &["create"]);
    }

    fn with_output_file(&self, b: &Bundle, args: &[&str]) {
        let out = std::fs::File::create(self.path(&format!("{}.out", b.id))).expect("log file");
        let status = self
            .cmd()
            .args(args)
            .args(["--bundle", b.dir.to_str().unwrap(), &b.id])
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .status()
            .expect("spawn berth-runtime");
        assert!(status.success(), "{args:?} failed: {}", self.output_of(b));
    }

    /// What a detached container has printed so far.
    pub fn output_of(&self, b: &Bundle) -> String {
        std::fs::read_to_string(self.path(&format!("{}.out", b.id))).unwrap_or_default()
    }

    /// `run` in the foreground: the container's output and exit status.
    pub fn run_bundle(&self, b: &Bundle) -> Ran {
        self.run(&["run", "--bundle", b.dir.to_str().unwrap(), &b.id])
    }

    pub fn state(&self, id: &str) -> Value {
        let r = self.run(&["state", id]);
        r.ok();
        serde_json::from_str(&r.stdout).expect("state is JSON")
    }

    pub fn pid(&self, id: &str) -> i32 {
        self.state(id)["pid"].as_i64().expect("pid") as i32
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.work.path().join(p)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for id in self.ids.borrow().iter() {
            let _ = self.cmd().args(["delete", "--force", id]).stderr(Stdio::null()).output();
        }
    }
}

/// The cgroup v1 directories a container with default cgroupsPath would have.
pub fn v1_cgroup_dirs(id: &str) -> Vec<PathBuf> {
    ["memory", "pids", "cpu", "freezer", "devices"]
        .iter()
        .map(|c| Path::new("/sys/fs/cgroup").join(c).join(id))
        .collect()
}

pub fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path.as_ref()).unwrap_or_else(|e| panic!("read {}: {e}", path.as_ref().display()))
}
