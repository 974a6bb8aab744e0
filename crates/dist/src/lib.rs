//! berth's registry client (the distribution spec's client side):
//!
//! - [`registry`]: registries as endpoints (Docker Hub's host, insecure registries
//!   over HTTP, per-registry certificates), one pooled agent each, requests that
//!   answer an auth challenge;
//! - [`auth`]: credentials and the Basic and Bearer (token server) schemes;
//! - [`pull`]: a pull that downloads, verifies and unpacks layers in one streaming
//!   pass, several at once, resuming broken downloads;
//! - [`push`]: a push that sends only the blobs a registry lacks (mounting those
//!   another of its repositories has), several at once, the manifest last;
//! - [`progress`]: the steps a pull reports, in Docker's terms.

pub mod auth;
mod error;
pub mod progress;
pub mod pull;
pub mod push;
pub mod registry;

pub use auth::Credentials;
pub use error::{Error, RegistryError, Result};
pub use progress::Progress;
pub use registry::{Client, Settings};
