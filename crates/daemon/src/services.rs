//! The handles berthd's routes work with: one per service, built by the composition
//! root ([`crate::server::run`]). Nothing here knows HTTP or the routes.

use std::sync::Arc;

use crate::config::Config;
use crate::events::Events;
use crate::system::Counts;

/// berthd's services, built once by [`crate::server::run`] (the composition root) and shared by the
/// routes: each service gets the handles it needs, and none knows the routes.
pub struct Daemon {
    pub config: Arc<Config>,
    pub events: Arc<Events>,
    pub images: Arc<image::store::Store>,
    pub networks: Arc<crate::networks::Networks>,
    pub volumes: Arc<volume::Store>,
    pub containers: Arc<crate::containers::Containers>,
    /// The registries pulled from, each with its connections and tokens.
    pub registries: Arc<dist::Client>,
}

impl Daemon {
    pub fn counts(&self) -> Counts {
        let mut counts = Counts {
            images: self.images.images().all().len() as i64,
            ..Counts::default()
        };
        for c in self.containers.all() {
            match c.status() {
                crate::containers::record::Status::Running
                | crate::containers::record::Status::Restarting => counts.running += 1,
                crate::containers::record::Status::Paused => counts.paused += 1,
                _ => counts.stopped += 1,
            }
        }
        counts
    }
}

