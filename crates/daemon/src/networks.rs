//! The network service: what a container's run joins. A container on the `none`
//! network (berth's default until the bridge lands) gets a network namespace of its
//! own, made by berthd with `lo` up (127.0.0.1 and ::1, as Docker gives every
//! container) and joined by the runtime through its path, so that it is the same with
//! berth's runtime, runc and crun; `host` joins the host's. A namespace lives on a file
//! under `<exec-root>/netns/`, made at the start of a run and removed at its end;
//! what a crashed berthd left there is removed at the next start.
//!
//! Containers in a user namespace of their own (`userns-remap`) still get theirs from
//! the runtime (`lo` down): joining one made outside their user namespace would keep
//! sysfs from being mounted inside.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// How a run is networked, as the container service asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment {
    /// A namespace of its own with a loopback only.
    Isolated,
    /// The host's namespace.
    Host,
    /// A namespace the runtime makes (a remapped container's).
    ByRuntime,
}

pub struct Networks {
    /// `<exec-root>/netns`: one file per running container that has a namespace of berthd's.
    netns_dir: PathBuf,
}

impl Networks {
    pub fn open(config: &crate::config::Config) -> std::io::Result<Networks> {
        let netns_dir = config.exec_root.join("netns");
        std::fs::create_dir_all(&netns_dir)?;
        Ok(Networks { netns_dir })
    }

    fn netns(&self, id: &str) -> net::Netns {
        net::Netns::at(&self.netns_dir.join(id))
    }

    /// Sets up what container `id`'s run joins; returns the network namespace to join
    /// by path, when one was made. Blocking.
    pub fn attach(&self, id: &str, how: Attachment) -> Result<Option<PathBuf>> {
        match how {
            Attachment::Host | Attachment::ByRuntime => Ok(None),
            Attachment::Isolated => {
                // A namespace left by a run whose end berthd did not see goes first.
                let stale = self.netns(id);
                stale.remove().map_err(|e| Error::internal(e.to_string()))?;
                let ns = net::Netns::create(stale.path()).map_err(|e| Error::internal(e.to_string()))?;
                Ok(Some(ns.path().to_path_buf()))
            }
        }
    }

    /// Removes what [`Self::attach`] made for container `id`, if anything. Blocking;
    /// safe to repeat.
    pub fn detach(&self, id: &str) {
        if let Err(e) = self.netns(id).remove() {
            tracing::warn!(container = %id, "{e}");
        }
    }

    /// At daemon start: the namespaces of containers that do not run any more (berthd
    /// died before their run's end) are removed.
    pub fn reconcile(&self, runs: impl Fn(&str) -> bool) {
        for entry in std::fs::read_dir(&self.netns_dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !runs(&name) {
                self.detach(&name);
            }
        }
    }
}
