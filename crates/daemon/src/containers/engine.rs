//! Which OCI runtime a container runs on (`HostConfig.Runtime`, from the daemon's
//! `runtimes`): berth's own, driven as a library with no exec at all, or a
//! runc-compatible binary (runc, crun) driven through its command line with a state
//! root of berth's (`<exec-root>/runtimes/<name>`). The container's shim drives the
//! runtime ([`Task`]: create, start, kill, pause, resume, update, pids, exec); berthd
//! reads the cgroup for stats, and removes what a run left once its shim is gone.

use std::path::PathBuf;
use std::time::Duration;
use std::process::{Command, Stdio};

use nix::sys::signal::Signal;

use super::Paths;
use crate::config::Config;

/// The name of berth's own runtime.
pub const BERTH: &str = "berth";

pub enum Engine {
    Berth(runtime::Runtime),
    Binary { path: String, args: Vec<String>, root: PathBuf },
}

impl Engine {
    /// The engine of runtime `name` ("" = the daemon's default). Unknown names fall
    /// back to berth's runtime: names are checked at create.
    pub fn named(name: &str, config: &Config, paths: &Paths) -> Engine {
        let name = if name.is_empty() { config.default_runtime.as_str() } else { name };
        match config.runtimes.get(name) {
            Some(rt) if name != BERTH => Engine::Binary {
                path: rt.path.clone(),
                args: rt.runtime_args.clone(),
                root: paths.runtimes.join(name),
            },
            _ => Engine::Berth(paths.runtime()),
        }
    }

    /// The shim's arguments that select this engine.
    pub fn shim_args(&self) -> Vec<String> {
        match self {
            Engine::Berth(_) => Vec::new(),
            Engine::Binary { path, args, .. } => {
                let mut out = vec!["--runtime-binary".to_string(), path.clone()];
                for a in args {
                    out.push(format!("--runtime-arg={a}"));
                }
                out
            }
        }
    }

    /// The runtime's state root, as the shim is told.
    pub fn root(&self) -> PathBuf {
        match self {
            Engine::Berth(rt) => rt.store.root().to_path_buf(),
            Engine::Binary { root, .. } => root.clone(),
        }
    }

    fn run(&self, args: &[&str]) -> Result<(), String> {
        let Engine::Binary { path, args: extra, root } = self else { unreachable!("binary engine only") };
        let out = Command::new(path)
            .args(extra)
            .arg("--root")
            .arg(root)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("run {path}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("{path} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
        }
    }

    /// The container's cgroup (berth's runtime only: a runtime binary keeps its own state).
    pub fn cgroup(&self, id: &str) -> Result<cgroups::Cgroup, String> {
        match self {
            Engine::Berth(rt) => {
                let (st, _) = rt.load(id).map_err(|e| e.to_string())?;
                rt.cgroup_of(&st).map_err(|e| e.to_string())
            }
            Engine::Binary { path, .. } => Err(format!("stats of containers on {path} are not supported yet")),
        }
    }

    /// A kill of a container whose shim is gone (it died): nobody else can.
    fn kill_without_shim(&self, id: &str, sig: Signal, all: bool) -> Result<(), String> {
        match self {
            Engine::Berth(rt) => rt.kill(id, sig, all).map_err(|e| e.to_string()),
            Engine::Binary { .. } => {
                let n = (sig as i32).to_string();
                if all { self.run(&["kill", "--all", id, &n]) } else { self.run(&["kill", id, &n]) }
            }
        }
    }

    /// Removes the runtime's state of the container (and its cgroup), if any is left.
    pub fn delete(&self, id: &str) {
        match self {
            Engine::Berth(rt) => {
                if rt.store.dir(id).exists() {
                    let _ = rt.delete(id, true);
                }
            }
            Engine::Binary { root, .. } => {
                if root.join(id).exists() {
                    let _ = self.run(&["delete", "--force", id]);
                }
            }
        }
    }
}

/// A running container as berthd drives it: through its shim, which owns it.
pub struct Task {
    id: String,
    shim_dir: PathBuf,
    /// For a kill when the shim is gone (it died): the runtime is then the only way.
    engine: Engine,
}

impl Task {
    pub fn new(id: &str, shim_dir: PathBuf, engine: Engine) -> Task {
        Task { id: id.to_string(), shim_dir, engine }
    }

    fn ask<T: serde::de::DeserializeOwned>(&self, req: &shim::ControlRequest) -> Result<T, String> {
        // A shim that accepts but never answers must not hold an operation forever.
        shim::client::Control::connect_with_timeout(&self.shim_dir, Duration::from_secs(30))
            .and_then(|mut c| c.request(req))
            .map_err(|e| match e {
                shim::Error::Refused(m) => m,
                e => format!("the shim of container {}: {e}", self.id),
            })
    }

    fn done(&self, req: &shim::ControlRequest) -> Result<(), String> {
        self.ask::<shim::OkReply>(req).map(|_| ())
    }

    /// Sends `sig` to the init (`all`: to every process), a paused container thawed
    /// after it. Without a shim to ask, the runtime does it.
    pub fn kill(&self, sig: Signal, all: bool) -> Result<(), String> {
        match self.done(&shim::ControlRequest::Kill { signal: sig as i32, all }) {
            Err(e) if !self.shim_dir.join(shim::CONTROL_SOCKET).exists() => self.engine.kill_without_shim(&self.id, sig, all).map_err(|_| e),
            r => r,
        }
    }

    pub fn pause(&self) -> Result<(), String> {
        self.done(&shim::ControlRequest::Pause)
    }

    pub fn resume(&self) -> Result<(), String> {
        self.done(&shim::ControlRequest::Resume)
    }

    /// Writes `resources` (a `linux.resources` object naming only what changes) to the
    /// running container's cgroup.
    pub fn update(&self, resources: &serde_json::Value) -> Result<(), String> {
        self.done(&shim::ControlRequest::Update { resources: resources.clone() })
    }

    /// Host pids of every process of the container.
    pub fn pids(&self) -> Result<Vec<i32>, String> {
        self.ask::<shim::PidsReply>(&shim::ControlRequest::Pids).map(|r| r.pids)
    }
}
