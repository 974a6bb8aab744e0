//! Registries as endpoints: which host a reference names (`docker.io` is
//! `registry-1.docker.io`), whether it is spoken to over HTTPS or, for an insecure
//! registry, over HTTP, with which certificates (the system's roots, then
//! `<certs.d>/<host>/`), and requests that answer an auth challenge and retry once.
//! One agent per registry: its connections are kept and reused.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::auth::{self, Challenge, Credentials, Tokens};
use crate::error::{Error, RegistryError, Result};

/// Where Docker Hub's API is, for references in `docker.io`.
const DOCKER_HUB: &str = "registry-1.docker.io";

/// The client's settings, as dockerd's (`insecure-registries`, `certs.d`).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Hosts (`host:port`) and networks (CIDRs) spoken to over HTTP, or HTTPS
    /// without verification. Loopback is always insecure, as Docker has it.
    pub insecure: Vec<String>,
    /// Per-registry certificates: `<dir>/<host:port>/{*.crt, client.cert, client.key}`.
    pub certs_dir: Option<PathBuf>,
    /// `registry-mirrors`: URLs tried in order before Docker Hub for its images.
    pub mirrors: Vec<String>,
}

/// The registries spoken to so far, each with its agent, scheme and tokens.
#[derive(Debug)]
pub struct Client {
    settings: Settings,
    registries: Mutex<HashMap<String, Arc<Registry>>>,
}

impl Client {
    pub fn new(settings: Settings) -> Client {
        Client { settings, registries: Mutex::new(HashMap::new()) }
    }

    /// The registry serving references of `domain` (`docker.io`, `host:port`).
    pub fn registry(&self, domain: &str) -> Result<Arc<Registry>> {
        let host = if domain == image::reference::DEFAULT_DOMAIN { DOCKER_HUB } else { domain };
        let mut registries = self.registries.lock().unwrap_or_else(PoisonError::into_inner);
        // Kept while its certificates are as they were: a change in certs.d applies
        // to the next request, as Docker's does, without a restart.
        if let Some(r) = registries.get(host).filter(|r| r.certs == certs_state(&self.settings, host)) {
            return Ok(r.clone());
        }
        let r = Arc::new(Registry::new(host, &self.settings, None)?);
        registries.insert(host.to_string(), r.clone());
        Ok(r)
    }

    /// Where to pull references of `domain` from, in order: Docker Hub's mirrors
    /// (`registry-mirrors`), then the registry itself.
    pub fn endpoints(&self, domain: &str) -> Result<Vec<Arc<Registry>>> {
        let mut out = Vec::new();
        if domain == image::reference::DEFAULT_DOMAIN {
            for url in &self.settings.mirrors {
                let (scheme, host) = match url.split_once("://") {
                    Some(("http", rest)) => ("http", rest),
                    Some(("https", rest)) => ("https", rest),
                    _ => return Err(Error::InvalidReference(format!("invalid mirror {url:?}: want http:// or https://"))),
                };
                let host = host.trim_end_matches('/');
                let key = format!("{scheme}://{host}");
                let mut registries = self.registries.lock().unwrap_or_else(PoisonError::into_inner);
                let r = match registries.get(&key) {
                    Some(r) => r.clone(),
                    None => {
                        let r = Arc::new(Registry::new(host, &self.settings, Some(scheme))?);
                        registries.insert(key, r.clone());
                        r
                    }
                };
                out.push(r);
            }
        }
        out.push(self.registry(domain)?);
        Ok(out)
    }
}

/// One registry host.
#[derive(Debug)]
pub struct Registry {
    host: String,
    /// The scheme that worked: insecure registries are tried over HTTPS first.
    scheme: Mutex<Option<&'static str>>,
    agent: ureq::Agent,
    /// For HTTP, or HTTPS without verification (insecure registries).
    lax: Option<ureq::Agent>,
    tokens: Tokens,
    /// The last challenge it made: later requests answer it up front.
    challenge: Mutex<Option<Challenge>>,
    /// Its certs.d directory's files as they were when it was made.
    certs: Vec<(std::ffi::OsString, u64, Option<std::time::SystemTime>)>,
}

/// A response: status, headers and body.
pub(crate) type Response = ureq::http::Response<ureq::Body>;

/// The methods the distribution API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Get => "Get",
            Method::Head => "Head",
            Method::Post => "Post",
            Method::Put => "Put",
            Method::Patch => "Patch",
        }
    }
}

/// A request's body.
pub(crate) enum Payload<'a> {
    None,
    Bytes(&'a [u8]),
    /// Streamed, `len` bytes.
    Stream { reader: &'a mut (dyn std::io::Read + Send), len: u64 },
}

impl Registry {
    /// The registry at `host`; `scheme` when its URL names one (a mirror's).
    fn new(host: &str, settings: &Settings, scheme: Option<&'static str>) -> Result<Registry> {
        let insecure = is_insecure(host, &settings.insecure);
        let certs = settings.certs_dir.as_ref().map(|d| d.join(host));
        let tls = tls_config(certs.as_deref(), false)?;
        let agent = make_agent(tls);
        let lax = insecure.then(|| tls_config(certs.as_deref(), true).map(make_agent)).transpose()?;
        let certs_now = certs_state(settings, host);
        Ok(Registry { host: host.to_string(), scheme: Mutex::new(scheme), agent, lax, tokens: Tokens::default(), challenge: Mutex::new(None), certs: certs_now })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// GETs `path` (under `/v2/`) for `scope`, answering an auth challenge once;
    /// `headers` are sent as given.
    pub(crate) fn get(&self, path: &str, scope: &str, creds: Option<&Credentials>, headers: &[(&str, String)]) -> Result<Response> {
        self.send(Method::Get, path, scope, creds, headers, Payload::None)
    }

    /// Sends a request to `target` (a path under `/v2/`, or a `Location` the registry
    /// gave) for `scope`. A challenge is answered and the request sent again, unless
    /// its body was a stream (consumed): then the challenge is the answer, and
    /// the next request carries the token.
    pub(crate) fn send(&self, method: Method, target: &str, scope: &str, creds: Option<&Credentials>, headers: &[(&str, String)], mut payload: Payload<'_>) -> Result<Response> {
        let (scheme, agent) = self.endpoint()?;
        let url = match target {
            t if t.starts_with("http://") || t.starts_with("https://") => t.to_string(),
            t if t.starts_with('/') => format!("{scheme}://{}{t}", self.host),
            t => format!("{scheme}://{}/v2/{t}", self.host),
        };
        let send = |authorization: Option<&str>, payload: &mut Payload<'_>| {
            let mut all: Vec<(&str, String)> = headers.to_vec();
            if let Some(a) = authorization {
                all.push(("Authorization", a.to_string()));
            }
            let sent = match method {
                Method::Get | Method::Head => {
                    let mut req = match method {
                        Method::Get => agent.get(&url),
                        _ => agent.head(&url),
                    };
                    for (k, v) in &all {
                        req = req.header(*k, v);
                    }
                    req.call()
                }
                Method::Post | Method::Put | Method::Patch => {
                    let mut req = match method {
                        Method::Post => agent.post(&url),
                        Method::Put => agent.put(&url),
                        _ => agent.patch(&url),
                    };
                    for (k, v) in &all {
                        req = req.header(*k, v);
                    }
                    match payload {
                        Payload::None => req.header("Content-Length", "0").send_empty(),
                        Payload::Bytes(b) => req.send(*b),
                        Payload::Stream { reader, len } => req.header("Content-Length", len.to_string()).send(ureq::SendBody::from_reader(*reader)),
                    }
                }
            };
            sent.map_err(|e| transport(method.name(), &url, e))
        };
        let cached = self.cached_authorization(scope, creds);
        let response = send(cached.as_deref(), &mut payload)?;
        if response.status() != 401 {
            return Ok(response);
        }
        let challenge = response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).and_then(Challenge::parse);
        let Some(challenge) = challenge else { return Ok(response) };
        *self.challenge.lock().unwrap_or_else(PoisonError::into_inner) = Some(challenge.clone());
        let Some(authorization) = self.answer(&challenge, scope, creds)? else { return Ok(response) };
        if matches!(payload, Payload::Stream { .. }) {
            return Ok(response);
        }
        send(Some(&authorization), &mut payload)
    }

    /// Whether `creds` are good here (`docker login`): `/v2/` asked with them, a
    /// token fetched afresh if the registry wants one.
    pub fn login(&self, creds: &Credentials) -> Result<()> {
        let mut response = self.send(Method::Get, "", "", Some(creds), &[], Payload::None)?;
        let status = response.status().as_u16();
        if status == 200 {
            return Ok(());
        }
        let body = response.body_mut().with_config().limit(1 << 16).read_to_vec().unwrap_or_default();
        let cause = RegistryError::from_body(status, &body);
        Err(match status {
            401 | 403 => Error::Unauthorized(cause),
            _ => Error::Registry { what: format!("login to {}", self.host), cause },
        })
    }

    /// Makes sure a token for `scope` is at hand (a request that streams its body
    /// cannot be sent twice): asks `/v2/` and answers its challenge.
    pub(crate) fn authorize(&self, scope: &str, creds: Option<&Credentials>) -> Result<()> {
        if self.cached_authorization(scope, creds).is_some() {
            return Ok(());
        }
        let response = self.get("", scope, creds, &[])?;
        match response.status().as_u16() {
            401 => {
                let mut response = response;
                let body = response.body_mut().with_config().limit(1 << 16).read_to_vec().unwrap_or_default();
                Err(Error::Unauthorized(RegistryError::from_body(401, &body)))
            }
            _ => Ok(()),
        }
    }

    /// The scheme and agent to use: HTTPS, or for an insecure registry whichever of
    /// HTTPS (unverified) and HTTP answers first.
    fn endpoint(&self) -> Result<(&'static str, &ureq::Agent)> {
        let mut scheme = self.scheme.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(lax) = &self.lax else { return Ok((scheme.unwrap_or("https"), &self.agent)) };
        if let Some(s) = *scheme {
            return Ok((s, lax));
        }
        let https = lax.get(&format!("https://{}/v2/", self.host)).call();
        let found = if https.is_ok() { "https" } else { "http" };
        *scheme = Some(found);
        Ok((found, lax))
    }

    fn cached_authorization(&self, scope: &str, creds: Option<&Credentials>) -> Option<String> {
        if let Some(c) = creds.filter(|c| !c.registry_token.is_empty()) {
            return Some(format!("Bearer {}", c.registry_token));
        }
        let challenge = self.challenge.lock().unwrap_or_else(PoisonError::into_inner).clone()?;
        if scope.is_empty() {
            // A login: nothing remembered answers for it.
            return None;
        }
        match challenge {
            Challenge::Basic => auth::basic(creds),
            Challenge::Bearer { realm, service, .. } => self.tokens.get(&realm, &service.unwrap_or_default(), scope, &auth::who(creds)).map(|t| format!("Bearer {t}")),
        }
    }

    /// The `Authorization` value that answers `challenge`, fetching a token if need be;
    /// `None` when nothing can answer it (no credentials for Basic).
    fn answer(&self, challenge: &Challenge, scope: &str, creds: Option<&Credentials>) -> Result<Option<String>> {
        match challenge {
            Challenge::Basic => Ok(auth::basic(creds)),
            Challenge::Bearer { realm, service, scope: asked } => {
                let service = service.clone().unwrap_or_default();
                // No scope is a login: a token is fetched afresh, to check the
                // credentials, and not kept.
                let login = scope.is_empty();
                let scope = if login { asked.clone().unwrap_or_default() } else { scope.to_string() };
                let who = auth::who(creds);
                if !login && let Some(token) = self.tokens.get(realm, &service, &scope, &who) {
                    return Ok(Some(format!("Bearer {token}")));
                }
                let mut url = realm.clone();
                let mut query = Vec::new();
                if !service.is_empty() {
                    query.push(format!("service={}", encode(&service)));
                }
                if !scope.is_empty() {
                    query.push(format!("scope={}", encode(&scope)));
                }
                if !query.is_empty() {
                    url.push(if url.contains('?') { '&' } else { '?' });
                    url.push_str(&query.join("&"));
                }
                // The token server is named by the registry: verified as any HTTPS
                // host, unless it is the insecure registry itself.
                let agent = match (&self.lax, url.starts_with("http://") || realm_is_registry(realm, &self.host)) {
                    (Some(lax), true) => lax,
                    _ => &self.agent,
                };
                let mut req = agent.get(&url);
                if let Some(basic) = auth::basic(creds) {
                    req = req.header("Authorization", basic);
                }
                let mut response = req.call().map_err(|e| transport("Get", &url, e))?;
                let status = response.status().as_u16();
                let body = response.body_mut().with_config().limit(1 << 20).read_to_vec().map_err(|e| transport("Get", &url, e))?;
                if status == 401 || status == 403 {
                    return Err(Error::Unauthorized(RegistryError::from_body(status, &body)));
                }
                if status != 200 {
                    return Err(Error::Registry { what: format!("get a token from {realm}"), cause: RegistryError::from_body(status, &body) });
                }
                let parsed: auth::TokenResponse = serde_json::from_slice(&body).map_err(|e| Error::Invalid(format!("the token server {realm} answered: {e}")))?;
                let Some((token, life)) = parsed.token() else { return Err(Error::Invalid(format!("the token server {realm} gave no token"))) };
                if !login {
                    self.tokens.put(realm, &service, &scope, &who, token.clone(), life);
                }
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }
}

fn realm_is_registry(realm: &str, host: &str) -> bool {
    realm.split("://").nth(1).and_then(|r| r.split('/').next()) == Some(host)
}

/// A query value, percent-encoded.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) fn transport(method: &str, url: &str, e: ureq::Error) -> Error {
    let reason = match e {
        ureq::Error::TooManyRedirects => "too many redirects (stopped after 10)".to_string(),
        e => e.to_string(),
    };
    Error::Transport { what: format!("{method} \"{url}\""), reason }
}

fn make_agent(tls: ureq::tls::TlsConfig) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(10)
        .max_redirects_will_error(true)
        .proxy(ureq::Proxy::try_from_env())
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .max_idle_connections_per_host(16)
        .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
        .tls_config(tls)
        .build()
        .new_agent()
}

/// The system's roots and the registry's own CAs (`*.crt`), and its client
/// certificate (`client.cert` and `client.key`) if it has one.
fn tls_config(certs: Option<&std::path::Path>, lax: bool) -> Result<ureq::tls::TlsConfig> {
    use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};
    let mut roots: Vec<Certificate<'static>> = rustls_native_certs::load_native_certs().certs.iter().map(|c| Certificate::from_der(c.as_ref()).to_owned()).collect();
    let mut client = None;
    if let Some(dir) = certs.filter(|d| d.is_dir()) {
        let bad = |p: &std::path::Path, e: &dyn std::fmt::Display| Error::Invalid(format!("{}: {e}", p.display()));
        for entry in std::fs::read_dir(dir).map_err(|e| bad(dir, &e))?.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "crt") {
                let pem = std::fs::read(&path).map_err(|e| bad(&path, &e))?;
                roots.push(Certificate::from_pem(&pem).map_err(|e| bad(&path, &e))?);
            }
        }
        let (cert, key) = (dir.join("client.cert"), dir.join("client.key"));
        if cert.exists() || key.exists() {
            let chain_pem = std::fs::read(&cert).map_err(|e| bad(&cert, &e))?;
            let chain: Vec<Certificate<'static>> = ureq::tls::parse_pem(&chain_pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            let key_pem = std::fs::read(&key).map_err(|e| bad(&key, &e))?;
            let parsed = PrivateKey::from_pem(&key_pem).map_err(|e| bad(&key, &e))?;
            check_client_cert(&chain, &key_pem).map_err(|e| bad(&cert, &e))?;
            client = Some(ClientCert::new_with_certs(&chain, parsed));
        }
    }
    Ok(TlsConfig::builder().root_certs(RootCerts::new_with_certs(&roots)).client_cert(client).disable_verification(lax).build())
}

/// The files of `host`'s certs.d directory: names, sizes and times.
fn certs_state(settings: &Settings, host: &str) -> Vec<(std::ffi::OsString, u64, Option<std::time::SystemTime>)> {
    let Some(dir) = settings.certs_dir.as_ref().map(|d| d.join(host)) else { return Vec::new() };
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let meta = e.metadata().ok();
            (e.file_name(), meta.as_ref().map_or(0, |m| m.len()), meta.and_then(|m| m.modified().ok()))
        })
        .collect();
    out.sort();
    out
}

/// Whether rustls takes `chain` and `key` as a client certificate (one it refuses
/// would make the TLS client panic at its first connection).
fn check_client_cert(chain: &[ureq::tls::Certificate<'static>], key_pem: &[u8]) -> std::result::Result<(), String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    if chain.is_empty() {
        return Err("no certificate in it".into());
    }
    let certs: Vec<CertificateDer<'static>> = chain.iter().map(|c| CertificateDer::from(c.der().to_vec())).collect();
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| format!("its key: {e}"))?;
    // Key exchange does not matter to this check: ring's provider as ureq builds it.
    #[allow(deprecated)]
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_client_auth_cert(certs, key)
        .map(|_| ())
        .map_err(|e| format!("not a client certificate this client can use: {e}"))
}

/// Docker's rule: loopback hosts, the configured hosts, and hosts whose address is in
/// a configured network, are insecure.
fn is_insecure(host: &str, insecure: &[String]) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !name.ends_with(':') => name,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    let ip: Option<IpAddr> = name.parse().ok();
    if name == "localhost" || ip.is_some_and(|ip| ip.is_loopback()) {
        return true;
    }
    insecure.iter().any(|entry| {
        if entry == host || entry == name {
            return true;
        }
        let Some((net, prefix)) = entry.split_once('/') else { return false };
        let (Ok(net), Ok(prefix), Some(ip)) = (net.parse::<IpAddr>(), prefix.parse::<u32>(), ip) else { return false };
        in_network(ip, net, prefix)
    })
}

fn in_network(ip: IpAddr, net: IpAddr, prefix: u32) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) if prefix <= 32 => {
            let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if prefix <= 128 => {
            let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - prefix) };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_listed_registries_are_insecure() {
        assert!(is_insecure("127.0.0.1:5000", &[]));
        assert!(is_insecure("localhost:5000", &[]));
        assert!(is_insecure("[::1]:5000", &[]));
        assert!(!is_insecure("registry.example:5000", &[]));
        assert!(is_insecure("registry.example:5000", &["registry.example:5000".into()]));
        assert!(is_insecure("10.1.2.3:5000", &["10.0.0.0/8".into()]));
        assert!(!is_insecure("11.1.2.3:5000", &["10.0.0.0/8".into()]));
    }

    #[test]
    fn docker_io_is_docker_hubs_api_host() {
        let c = Client::new(Settings::default());
        assert_eq!(c.registry("docker.io").unwrap().host(), "registry-1.docker.io");
        assert_eq!(c.registry("127.0.0.1:5000").unwrap().host(), "127.0.0.1:5000");
        assert!(Arc::ptr_eq(&c.registry("127.0.0.1:5000").unwrap(), &c.registry("127.0.0.1:5000").unwrap()), "one agent per registry");
        assert_eq!(encode("repository:a/b:pull"), "repository%3Aa%2Fb%3Apull");
    }
}
