//! berthd end to end: its own daemon per test, driven by the Engine API client and by
//! the real docker CLI.

mod commit;
mod compose;
mod config;
mod bollard_client;
mod archive;
mod containers;
mod crash;
mod docker_py;
mod exec;
mod health;
mod resources;
mod security;
mod images;
mod networks;
mod oracle;
mod pull;
mod pull_hostile;
mod push;
mod registry_auth;
mod system;
mod userns;
mod volumes;
