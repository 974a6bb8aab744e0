//! Which OCI runtime a container runs on (`HostConfig.Runtime`, from the daemon's
//! `runtimes`): berth's own, driven as a library with no exec at all, or a
//! runc-compatible binary (runc, crun) driven through its command line with a state
//! root of berth's (`<exec-root>/runtimes/<name>`). The shim creates and starts the
//! container; the daemon signals, pauses, resumes and deletes it through this.

use std::path::PathBuf;
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

    /// Sends `sig` to the init (`all`: to every process of the container), then thaws a
    /// paused container so that the signal is delivered.
    pub fn kill(&self, id: &str, sig: Signal, all: bool) -> Result<(), String> {
        match self {
            Engine::Berth(rt) => {
                rt.kill(id, sig, all).map_err(|e| e.to_string())?;
                if let Ok((st, runtime::state::Status::Paused)) = rt.load(id)
                    && let Ok(cg) = rt.cgroup_of(&st)
                {
                    let _ = cg.thaw();
                }
                Ok(())
            }
            Engine::Binary { .. } => {
                let n = (sig as i32).to_string();
                let r = if all { self.run(&["kill", "--all", id, &n]) } else { self.run(&["kill", id, &n]) };
                let _ = self.run(&["resume", id]);
                r
            }
        }
    }

    pub fn pause(&self, id: &str) -> Result<(), String> {
        match self {
            Engine::Berth(rt) => rt.pause(id).map_err(|e| e.to_string()),
            Engine::Binary { .. } => self.run(&["pause", id]),
        }
    }

    pub fn resume(&self, id: &str) -> Result<(), String> {
        match self {
            Engine::Berth(rt) => rt.resume(id).map_err(|e| e.to_string()),
            Engine::Binary { .. } => self.run(&["resume", id]),
        }
    }

    /// Writes `resources` (a `linux.resources` object naming only what changes) to the
    /// running container's cgroup: through the cgroups library for berth's runtime, with
    /// `update --resources -` for a runtime binary.
    pub fn update(&self, id: &str, resources: &serde_json::Value) -> Result<(), String> {
        match self {
            Engine::Berth(rt) => {
                let parsed: oci_spec::runtime::LinuxResources = serde_json::from_value(resources.clone())
                    .map_err(|e| format!("invalid resources: {e}"))?;
                let (st, _) = rt.load(id).map_err(|e| e.to_string())?;
                let cg = rt.cgroup_of(&st).map_err(|e| e.to_string())?;
                cg.apply(&parsed).map_err(|e| memory_limit_refused(&cg, &parsed, e))
            }
            Engine::Binary { path, args, root } => {
                let mut child = Command::new(path)
                    .args(args)
                    .arg("--root")
                    .arg(root)
                    .args(["update", "--resources", "-", id])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| format!("run {path}: {e}"))?;
                if let Some(mut stdin) = child.stdin.take() {
                    use std::io::Write;
                    stdin.write_all(resources.to_string().as_bytes()).map_err(|e| format!("{path} update: {e}"))?;
                }
                let out = child.wait_with_output().map_err(|e| format!("{path} update: {e}"))?;
                if out.status.success() {
                    Ok(())
                } else {
                    Err(format!("{path} update: {}", String::from_utf8_lossy(&out.stderr).trim()))
                }
            }
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

    /// Host pids of every process of the container.
    pub fn pids(&self, id: &str) -> Result<Vec<i32>, String> {
        match self {
            Engine::Berth(rt) => rt.pids(id).map_err(|e| e.to_string()),
            Engine::Binary { path, args, root } => {
                let out = Command::new(path)
                    .args(args)
                    .arg("--root")
                    .arg(root)
                    .args(["ps", "--format", "json", id])
                    .stdin(Stdio::null())
                    .output()
                    .map_err(|e| format!("run {path}: {e}"))?;
                if !out.status.success() {
                    return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
                }
                serde_json::from_slice(&out.stdout).map_err(|e| format!("{path} ps: {e}"))
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

/// runc's message when the kernel refuses a memory limit (EBUSY on cgroup v1: the usage
/// cannot be reclaimed below it), with the usage that explains why; other errors as
/// they are.
fn memory_limit_refused(cg: &cgroups::Cgroup, r: &oci_spec::runtime::LinuxResources, e: cgroups::Error) -> String {
    let busy = matches!(&e, cgroups::Error::Write { path, source, .. }
        if path.ends_with("memory.limit_in_bytes") && source.raw_os_error() == Some(libc::EBUSY));
    let limit = r.memory().as_ref().and_then(|m| m.limit());
    match (busy, limit, cg.stats().ok().and_then(|s| s.memory)) {
        (true, Some(limit), Some(m)) => format!(
            "unable to set memory limit to {limit} (current usage: {}, peak usage: {})",
            m.usage,
            m.max_usage.unwrap_or(m.usage)
        ),
        _ => e.to_string(),
    }
}
