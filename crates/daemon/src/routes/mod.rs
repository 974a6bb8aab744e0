//! The Engine API's routes, one module per resource.

pub mod containers;
pub mod exec;
pub mod images;
pub mod system;

use std::sync::Arc;

use axum::Router;

use crate::server::Daemon;

pub fn router(daemon: Arc<Daemon>) -> Router {
    Router::new()
        .merge(system::routes())
        .merge(containers::routes()).merge(exec::routes())
        .merge(images::routes())
        .with_state(daemon)
}
