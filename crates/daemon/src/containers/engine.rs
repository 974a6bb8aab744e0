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


    /// What a container's shim would do, done by the runtime itself (the shim is gone,
    /// or too old to know the request): berth's runtime through `lib`, a runtime
    /// binary with `args`.
    fn without_shim(&self, args: &[&str], lib: impl FnOnce(&runtime::Runtime) -> runtime::Result<()>) -> Result<(), String> {
        match self {
            Engine::Berth(rt) => lib(rt).map_err(|e| e.to_string()),
            Engine::Binary { .. } => self.run(args),
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

    fn ask<T: serde::de::DeserializeOwned>(&self, req: &shim::ControlRequest) -> Result<T, Refusal> {
        // A shim that accepts but never answers must not hold an operation forever.
        let mut conn = shim::client::Control::connect_with_timeout(&self.shim_dir, Duration::from_secs(30))
            .map_err(|e| Refusal::NoShim(format!("the shim of container {}: {e}", self.id)))?;
        conn.request(req).map_err(|e| match e {
            // A shim of an older berth does not know the request.
            shim::Error::Refused(m) if m.starts_with("invalid request") => Refusal::NoShim(m),
            shim::Error::Refused(m) => Refusal::Refused(m),
            e => Refusal::Refused(format!("the shim of container {}: {e}", self.id)),
        })
    }

    /// Asks the shim for `req`, which it answers `{"ok":true}`; when there is no shim
    /// to ask (it died, or it is an older berth's that does not know the request), the
    /// runtime does it with `fallback`.
    fn done_or(&self, req: &shim::ControlRequest, fallback: impl FnOnce(&Engine) -> Result<(), String>) -> Result<(), String> {
        match self.ask::<shim::OkReply>(req) {
            Ok(_) => Ok(()),
            Err(Refusal::Refused(m)) => Err(m),
            Err(Refusal::NoShim(why)) => fallback(&self.engine).map_err(|e| format!("{e} ({why})")),
        }
    }

    /// Sends `sig` to the init (`all`: to every process), a paused container thawed
    /// after it.
    pub fn kill(&self, sig: Signal, all: bool) -> Result<(), String> {
        let (id, n) = (self.id.as_str(), (sig as i32).to_string());
        let args: &[&str] = if all { &["kill", "--all", id, &n] } else { &["kill", id, &n] };
        self.done_or(&shim::ControlRequest::Kill { signal: sig as i32, all }, |e| {
            e.without_shim(args, |rt| rt.kill(id, sig, all))
        })
    }

    pub fn pause(&self) -> Result<(), String> {
        let id = self.id.as_str();
        self.done_or(&shim::ControlRequest::Pause, |e| e.without_shim(&["pause", id], |rt| rt.pause(id)))
    }

    pub fn resume(&self) -> Result<(), String> {
        let id = self.id.as_str();
        self.done_or(&shim::ControlRequest::Resume, |e| e.without_shim(&["resume", id], |rt| rt.resume(id)))
    }

    /// Writes `resources` (a `linux.resources` object naming only what changes) to the
    /// running container's cgroup.
    pub fn update(&self, resources: &oci_spec::runtime::LinuxResources) -> Result<(), String> {
        self.ask::<shim::OkReply>(&shim::ControlRequest::Update { resources: Box::new(resources.clone()) }).map(|_| ()).map_err(|e| match e {
            Refusal::Refused(m) => m,
            Refusal::NoShim(why) => format!("restart the container to update it live ({why})"),
        })
    }

    /// The usage of the container's cgroup, as its shim reads it; berth's runtime
    /// reads it when the shim is gone or older than protocol 2.
    pub fn stats(&self) -> Result<cgroups::Stats, String> {
        match self.ask::<shim::StatsReply>(&shim::ControlRequest::Stats) {
            Ok(r) => Ok(r.cgroup),
            Err(Refusal::Refused(m)) => Err(m),
            Err(Refusal::NoShim(why)) => match &self.engine {
                Engine::Berth(rt) => {
                    let (st, _) = rt.load(&self.id).map_err(|e| e.to_string())?;
                    rt.cgroup_of(&st).and_then(|cg| Ok(cg.stats()?)).map_err(|e| format!("{e} ({why})"))
                }
                Engine::Binary { .. } => Err(why),
            },
        }
    }

    /// Host pids of every process of the container.
    pub fn pids(&self) -> Result<Vec<i32>, String> {
        match self.ask::<shim::PidsReply>(&shim::ControlRequest::Pids) {
            Ok(r) => Ok(r.pids),
            Err(Refusal::Refused(m)) => Err(m),
            Err(Refusal::NoShim(why)) => match &self.engine {
                Engine::Berth(rt) => rt.pids(&self.id).map_err(|e| format!("{e} ({why})")),
                Engine::Binary { .. } => Err(why),
            },
        }
    }
}

/// Why the shim did not do what it was asked.
enum Refusal {
    /// It said no, and why.
    Refused(String),
    /// There is no shim that could (gone, or too old to know the request).
    NoShim(String),
}
