//! The state every command runs with: where the daemon is, the global flags,
//! the output streams, and the API client (created and version-negotiated on
//! first use, as docker's CLI does lazily).

use std::io::Write;

use api::ApiVersion;

use crate::error::Result;

/// The berth version of this CLI.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The compiler this CLI was built with (Docker shows its Go version).
pub const RUST_VERSION: &str = env!("BERTH_RUSTC_VERSION");
/// The source commit, when the build recorded one.
pub const GIT_COMMIT: &str = match option_env!("BERTH_GIT_COMMIT") {
    Some(c) => c,
    None => "unknown",
};
/// The build time (RFC 3339), when the build recorded one.
pub const BUILD_TIME: &str = match option_env!("BERTH_BUILD_TIME") {
    Some(t) => t,
    None => "",
};

/// The host to use: `-H`, else `$BERTH_HOST`, else `$DOCKER_HOST`, else the default socket.
pub fn resolve_host(flag: Option<&str>, berth_env: Option<&str>, docker_env: Option<&str>) -> String {
    [flag, berth_env, docker_env]
        .into_iter()
        .flatten()
        .find(|h| !h.is_empty())
        .unwrap_or(api::client::DEFAULT_HOST)
        .to_string()
}

/// A command's context.
pub struct Cli<'a> {
    pub host: String,
    /// `-D`: client debug mode.
    pub debug: bool,
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    client: Option<api::Client>,
}

impl<'a> Cli<'a> {
    pub fn new(host: String, debug: bool, out: &'a mut dyn Write, err: &'a mut dyn Write) -> Self {
        Cli { host, debug, out, err, client: None }
    }

    /// The API client. Paths go unversioned (the daemon answers at its newest
    /// version), which spares every command a `/_ping` round trip; `version` and
    /// `info`, which show the negotiated version, use [`Cli::negotiated_client`].
    pub async fn client(&mut self) -> Result<&api::Client> {
        if self.client.is_none() {
            self.client = Some(api::Client::new(&self.host)?);
        }
        match &self.client {
            Some(c) => Ok(c),
            None => unreachable!("set above"),
        }
    }

    /// The API client with the API version negotiated with the daemon (docker's way).
    pub async fn negotiated_client(&mut self) -> Result<&api::Client> {
        if self.client.as_ref().and_then(api::Client::version).is_none() {
            let mut client = api::Client::new(&self.host)?;
            client.negotiate_version().await?;
            self.client = Some(client);
        }
        self.client().await
    }

    /// The API version in use: negotiated with the daemon, else the newest
    /// this client speaks.
    pub fn api_version(&self) -> ApiVersion {
        self.client.as_ref().and_then(api::Client::version).unwrap_or(api::API_VERSION)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_precedence() {
        assert_eq!(resolve_host(Some("unix:///a"), Some("unix:///b"), Some("unix:///c")), "unix:///a");
        assert_eq!(resolve_host(None, Some(""), Some("unix:///c")), "unix:///c");
        assert_eq!(resolve_host(None, None, None), "unix:///run/berth/berth.sock");
    }
}
