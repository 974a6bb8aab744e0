//! berthd: serves the Docker Engine API on a unix socket. This crate owns the HTTP
//! surface (routing, API versions, Docker's error shape), the daemon's configuration,
//! and the managers behind the routes.

pub mod body;
pub mod config;
pub mod containers;
pub mod crash;
pub mod error;
pub mod events;
pub mod networks;
pub mod routes;
pub mod server;
pub mod services;
pub mod system;
pub mod userns;

pub use config::Config;
pub use services::Daemon;
