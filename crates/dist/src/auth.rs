//! Who the client is to a registry: the credentials a user gave, and what a registry's
//! `WWW-Authenticate` challenge asks for (Basic, or a Bearer token from a token
//! server for a scope, cached until it expires).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;

/// A user's credentials for one registry, as the docker CLI sends them
/// (`X-Registry-Auth`) and `config.json` keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Credentials {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    /// An OAuth refresh token from an earlier login, used in place of the password.
    #[serde(default, rename = "identitytoken")]
    pub identity_token: String,
    /// A bearer token to send as it is.
    #[serde(default, rename = "registrytoken")]
    pub registry_token: String,
}

impl Credentials {
    /// The `X-Registry-Auth` header: base64url (padded or not) of a JSON object. An
    /// empty or `{}` header is no credentials.
    pub fn from_header(value: &str) -> Result<Option<Credentials>, String> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        let engines = [&base64::engine::general_purpose::URL_SAFE, &base64::engine::general_purpose::URL_SAFE_NO_PAD, &base64::engine::general_purpose::STANDARD];
        let bytes = engines.iter().find_map(|e| e.decode(value).ok()).ok_or("X-Registry-Auth is not base64")?;
        let creds: Credentials = serde_json::from_slice(&bytes).map_err(|e| format!("X-Registry-Auth: {e}"))?;
        Ok((!creds.is_empty()).then_some(creds))
    }

    pub fn is_empty(&self) -> bool {
        self.username.is_empty() && self.password.is_empty() && self.identity_token.is_empty() && self.registry_token.is_empty()
    }

    fn basic(&self) -> Option<String> {
        let secret = if self.identity_token.is_empty() { &self.password } else { &self.identity_token };
        (!self.username.is_empty() || !secret.is_empty())
            .then(|| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:{secret}", self.username))))
    }
}

/// What a registry's 401 asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    Basic,
    Bearer { realm: String, service: Option<String>, scope: Option<String> },
}

impl Challenge {
    /// The first challenge of a `WWW-Authenticate` value this client can answer.
    pub(crate) fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        let params = params(rest);
        let get = |k: &str| params.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)).map(|(_, v)| v.clone());
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => Some(Challenge::Basic),
            "bearer" => Some(Challenge::Bearer { realm: get("realm")?, service: get("service"), scope: get("scope") }),
            _ => None,
        }
    }
}

/// `key="value", key=value` pairs; a quoted value may hold commas and `\"`.
fn params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ',' || c.is_whitespace()).is_some() {}
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if key.is_empty() {
            return out;
        }
        if chars.next_if_eq(&'=').is_none() {
            continue;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect::<String>().trim().to_string();
        }
        out.push((key.trim().to_string(), value));
    }
}

/// A token's realm, service, scope and whose credentials asked for it (a token got
/// anonymously grants less than one got with a password).
type TokenKey = (String, String, String, String);

/// Bearer tokens by realm, service and scope, until they expire.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    cached: Mutex<HashMap<TokenKey, (String, Instant)>>,
}

/// How long a token without `expires_in` lives: the token spec's default.
const DEFAULT_TOKEN_LIFE: Duration = Duration::from_secs(60);

impl Tokens {
    pub(crate) fn get(&self, realm: &str, service: &str, scope: &str, who: &str) -> Option<String> {
        let cached = self.cached.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (token, until) = cached.get(&(realm.to_string(), service.to_string(), scope.to_string(), who.to_string()))?;
        (Instant::now() < *until).then(|| token.clone())
    }

    pub(crate) fn put(&self, realm: &str, service: &str, scope: &str, who: &str, token: String, life: Duration) {
        // A little early: a token must not expire on its way.
        let until = Instant::now() + life.saturating_sub(Duration::from_secs(5));
        let mut cached = self.cached.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cached.insert((realm.to_string(), service.to_string(), scope.to_string(), who.to_string()), (token, until));
    }
}

/// A token server's answer.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct TokenResponse {
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

impl TokenResponse {
    pub(crate) fn token(self) -> Option<(String, Duration)> {
        let life = Duration::from_secs(self.expires_in.filter(|s| *s > 0).unwrap_or(DEFAULT_TOKEN_LIFE.as_secs()));
        let token = if self.token.is_empty() { self.access_token } else { self.token };
        (!token.is_empty()).then_some((token, life))
    }
}

/// Whose token it is: a digest of the credentials (never kept as they are).
pub(crate) fn who(creds: Option<&Credentials>) -> String {
    match creds.and_then(Credentials::basic) {
        Some(basic) => image::Digest::sha256_of(basic.as_bytes()).to_string(),
        None => String::new(),
    }
}

/// The `Authorization` value for a Basic challenge, if there are credentials.
pub(crate) fn basic(creds: Option<&Credentials>) -> Option<String> {
    creds.and_then(Credentials::basic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_read_with_quoted_commas() {
        let c = Challenge::parse(r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#);
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
                scope: Some("repository:a/b:pull,push".into())
            })
        );
        assert_eq!(Challenge::parse(r#"Basic realm="Registry Realm""#), Some(Challenge::Basic));
        assert_eq!(Challenge::parse("Bearer service=x"), None, "no realm");
        assert_eq!(Challenge::parse("Negotiate abc"), None);
    }

    #[test]
    fn the_auth_header_is_base64url_json() {
        let v = base64::engine::general_purpose::URL_SAFE.encode(r#"{"username":"u","password":"p?>","serveraddress":"r"}"#);
        let c = Credentials::from_header(&v).unwrap().unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("u", "p?>"));
        assert_eq!(Credentials::from_header("e30=").unwrap(), None, "{{}} is none");
        assert_eq!(Credentials::from_header("").unwrap(), None);
        assert!(Credentials::from_header("!!!").is_err());
        assert_eq!(c.basic().unwrap(), format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("u:p?>")));
    }

    #[test]
    fn tokens_are_kept_per_scope_until_they_expire() {
        let t = Tokens::default();
        t.put("r", "s", "repository:a:pull", "", "anonymous".into(), Duration::from_secs(300));
        t.put("r", "s", "repository:a:pull", "u", "tok".into(), Duration::from_secs(300));
        assert_eq!(t.get("r", "s", "repository:a:pull", "u").as_deref(), Some("tok"));
        assert_eq!(t.get("r", "s", "repository:a:pull", "").as_deref(), Some("anonymous"), "each their own");
        assert_eq!(t.get("r", "s", "repository:b:pull", "u"), None);
        t.put("r", "s", "x", "u", "old".into(), Duration::from_secs(1));
        assert_eq!(t.get("r", "s", "x", "u"), None, "expires early rather than on the way");
    }
}
