//! Docker image references (`busybox`, `user/repo:tag`, `host:5000/org/name@sha256:…`):
//! parsing, validation and normalisation exactly as Docker's "normalized named" rules
//! (distribution/reference), plus the familiar form Docker prints in `RepoTags`.
//!
//! Owns nothing on disk. A reference never names an image ID: a bare 64-hex string is
//! refused here, and [`is_id_prefix`] tells callers when a string could be an ID.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

/// Docker Hub's canonical domain: what a name without a registry host belongs to.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// The tag a name without tag or digest gets.
pub const DEFAULT_TAG: &str = "latest";
/// Longest repository path (without the domain) Docker accepts.
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;
/// Longest tag Docker accepts.
pub const TAG_LENGTH_MAX: usize = 128;

/// The old Docker Hub name, canonicalised to [`DEFAULT_DOMAIN`] as Docker does.
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// Docker Hub's namespace for official images: `busybox` is `library/busybox`.
const OFFICIAL_PREFIX: &str = "library/";

/// Why a string is not a valid image reference. Every message starts the way Docker's
/// does ("invalid reference format…") and then says which part is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(
        "invalid reference format: the reference is empty; name an image such as \"busybox\" or \"busybox:latest\""
    )]
    Empty,
    #[error(
        "invalid repository name ({0}), cannot specify 64-byte hexadecimal strings; to use an image ID, pass it as an ID, not as a name"
    )]
    HexName(String),
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    Uppercase(String),
    #[error(
        "invalid reference format: {reference:?}: registry host {domain:?} is not a host name, IPv4 address or [IPv6] address with an optional :port"
    )]
    Domain { reference: String, domain: String },
    #[error(
        "invalid reference format: {reference:?}: repository path component {component:?} must be lowercase letters and digits, optionally joined by '.', '_', '__' or dashes"
    )]
    Path {
        reference: String,
        component: String,
    },
    #[error(
        "invalid reference format: {reference:?}: repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters (it has {len})"
    )]
    TooLong { reference: String, len: usize },
    #[error(
        "invalid reference format: {reference:?}: tag {tag:?} must be 1 to {TAG_LENGTH_MAX} letters, digits, '_', '.' or '-', not starting with '.' or '-'"
    )]
    Tag { reference: String, tag: String },
    #[error("invalid reference format: {reference:?}: digest {digest:?} {reason}")]
    Digest {
        reference: String,
        digest: String,
        reason: &'static str,
    },
    #[error("invalid reference format: {reference:?}: {reason}")]
    Format {
        reference: String,
        reason: &'static str,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A normalised reference: always has a domain and a path; a tag, a digest, both or
/// (only from [`Reference::parse_named`]) neither. `Display` is [`full`](Self::full).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalises like Docker's CLI: `busybox` → `docker.io/library/busybox:latest`.
    /// A reference with a digest and no tag keeps no tag; `name:tag@digest` keeps both.
    pub fn parse(s: &str) -> Result<Reference> {
        let mut r = Reference::parse_named(s)?;
        if r.tag.is_none() && r.digest.is_none() {
            r.tag = Some(DEFAULT_TAG.to_string());
        }
        Ok(r)
    }

    /// Like [`parse`](Self::parse) but without adding the default tag: `busybox` stays a
    /// bare repository name (what `docker images busybox` means).
    pub fn parse_named(s: &str) -> Result<Reference> {
        if s.is_empty() {
            return Err(Error::Empty);
        }
        if is_full_hex_id(s) {
            return Err(Error::HexName(s.to_string()));
        }
        let (domain, remainder) = split_docker_domain(s);

        // Docker checks the case of the repository part before the grammar, so that the
        // common mistake (`Busybox`) gets its own message.
        let remote = remainder.split([':', '@']).next().unwrap_or_default();
        if remote.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(Error::Uppercase(remote.to_string()));
        }

        let fmt_err = |reason| Error::Format {
            reference: s.to_string(),
            reason,
        };
        let (name_tag, digest) = match remainder.split_once('@') {
            None => (remainder.as_str(), None),
            Some((_, d)) if d.contains('@') => return Err(fmt_err("more than one '@'")),
            Some((n, d)) => (n, Some(parse_digest(s, d)?)),
        };
        // The path holds no ':' (its grammar has none), so the first ':' starts the tag.
        let (path, tag) = match name_tag.split_once(':') {
            None => (name_tag, None),
            Some((p, t)) => {
                if !valid_tag(t) {
                    return Err(Error::Tag {
                        reference: s.to_string(),
                        tag: t.to_string(),
                    });
                }
                (p, Some(t.to_string()))
            }
        };
        if path.is_empty() || s.starts_with([':', '@']) {
            return Err(fmt_err("the repository name is missing"));
        }
        if !valid_domain(&domain) {
            return Err(Error::Domain {
                reference: s.to_string(),
                domain,
            });
        }
        for component in path.split('/') {
            if !valid_path_component(component) {
                return Err(Error::Path {
                    reference: s.to_string(),
                    component: component.to_string(),
                });
            }
        }
        if path.len() > NAME_TOTAL_LENGTH_MAX {
            return Err(Error::TooLong {
                reference: s.to_string(),
                len: path.len(),
            });
        }
        Ok(Reference {
            domain,
            path: path.to_string(),
            tag,
            digest,
        })
    }

    /// The registry host (and port): `docker.io`, `localhost:5000`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path without the domain: `library/busybox`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The full repository name without tag or digest: `docker.io/library/busybox`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The repository as Docker prints it: `busybox`, `user/repo`, `host:5000/x`.
    pub fn familiar_repository(&self) -> String {
        if self.domain != DEFAULT_DOMAIN {
            return self.repository();
        }
        match self.path.strip_prefix(OFFICIAL_PREFIX) {
            // `library/a/b` keeps its prefix: only single-component official names shorten.
            Some(rest) if !rest.contains('/') => rest.to_string(),
            _ => self.path.clone(),
        }
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// `docker.io/library/busybox:latest`, with `@digest` when there is one.
    pub fn full(&self) -> String {
        self.with_name(self.repository())
    }

    /// The form Docker prints in `RepoTags`/`RepoDigests`: `busybox:latest`,
    /// `user/repo:tag`, `host:5000/x:y`, `busybox@sha256:…`.
    pub fn familiar(&self) -> String {
        self.with_name(self.familiar_repository())
    }

    /// The same repository with `tag` and no digest (what `docker tag` creates).
    pub fn with_tag(&self, tag: &str) -> Result<Reference> {
        if !valid_tag(tag) {
            return Err(Error::Tag {
                reference: self.full(),
                tag: tag.to_string(),
            });
        }
        Ok(Reference {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.repository_only()
        })
    }

    /// The same repository with `digest` and no tag (a `RepoDigests` entry).
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            digest: Some(digest),
            tag: None,
            ..self.repository_only()
        }
    }

    /// The bare repository, without tag or digest.
    pub fn repository_only(&self) -> Reference {
        Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: None,
            digest: None,
        }
    }

    fn with_name(&self, mut name: String) -> String {
        if let Some(t) = &self.tag {
            name.push(':');
            name.push_str(t);
        }
        if let Some(d) = &self.digest {
            name.push('@');
            name.push_str(&d.to_string());
        }
        name
    }
}

/// True when `s` could be (a prefix of) an image ID: 1–64 lowercase hex characters,
/// optionally after `sha256:`. Such a string may *also* be a valid name (`abc`);
/// like Docker, look it up as a reference first and as an ID prefix second.
pub fn is_id_prefix(s: &str) -> bool {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    (1..=64).contains(&hex.len()) && hex.bytes().all(is_lower_hex)
}

fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

fn is_full_hex_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(is_lower_hex)
}

/// Docker's rule for whether the first path component is a registry host: it is when
/// there is a '/' after it and it is `localhost`, contains '.' or ':', or has an
/// uppercase letter (repository paths are lowercase, so it cannot be one). Names on
/// Docker Hub without a namespace get `library/`.
fn split_docker_domain(name: &str) -> (String, String) {
    let (domain, remainder) = match name.split_once('/') {
        None => (DEFAULT_DOMAIN, name),
        Some((first, rest))
            if first == "localhost"
                || first.contains(['.', ':'])
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (first, rest)
        }
        Some(_) => (DEFAULT_DOMAIN, name),
    };
    let domain = if domain == LEGACY_DEFAULT_DOMAIN {
        DEFAULT_DOMAIN
    } else {
        domain
    };
    let remainder = if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        format!("{OFFICIAL_PREFIX}{remainder}")
    } else {
        remainder.to_string()
    };
    (domain.to_string(), remainder)
}

/// `[\w][\w.-]{0,127}` with ASCII `\w`.
fn valid_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= TAG_LENGTH_MAX
        && word(b[0])
        && b[1..].iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

/// `[a-z0-9]+` runs joined by one separator each: `.`, `_`, `__` or one or more `-`.
fn valid_path_component(c: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let b = c.as_bytes();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// host[:port], host being a DNS-like name (components of letters, digits and inner
/// dashes, joined by dots; uppercase allowed), an IPv4 address, or `[ipv6]`.
fn valid_domain(d: &str) -> bool {
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        let Some((inner, after)) = rest.split_once(']') else {
            return false;
        };
        if inner.is_empty() || !inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match after {
            "" => return true,
            _ => (None, after.strip_prefix(':')),
        }
    } else {
        match d.split_once(':') {
            None => (Some(d), None),
            Some((h, p)) => (Some(h), Some(p)),
        }
    };
    if d.starts_with('[') && port.is_none() {
        return false;
    }
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    match host {
        None => true,
        Some(h) => h.split('.').all(|c| {
            let b = c.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|&x| x.is_ascii_alphanumeric() || x == b'-')
        }),
    }
}

/// Docker accepts `algorithm:hex` with ≥ 32 hex digits, then asks the digest library;
/// we support what the content store can verify (sha256, sha512), lowercase, exact length.
fn parse_digest(reference: &str, d: &str) -> Result<Digest> {
    let err = |reason| Error::Digest {
        reference: reference.to_string(),
        digest: d.to_string(),
        reason,
    };
    let Some((alg, hex)) = d.split_once(':') else {
        return Err(err("must be algorithm:hex, e.g. sha256:<64 hex digits>"));
    };
    let alg_ok = alg.split(['-', '_', '+', '.']).all(|c| {
        let b = c.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(|x| x.is_ascii_alphanumeric())
    });
    if !alg_ok || hex.len() < 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(err("must be algorithm:hex, e.g. sha256:<64 hex digits>"));
    }
    if alg != "sha256" && alg != "sha512" {
        return Err(err(
            "uses an unsupported algorithm (sha256 and sha512 are supported)",
        ));
    }
    d.parse()
        .map_err(|_| err("has the wrong length or uppercase hex for its algorithm"))
}

impl FromStr for Reference {
    type Err = Error;

    fn from_str(s: &str) -> Result<Reference> {
        Reference::parse(s)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full())
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reference({})", self.full())
    }
}

impl Serialize for Reference {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Deserialises with [`Reference::parse_named`], so a stored bare repository stays bare.
impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Reference, D::Error> {
        let s = String::deserialize(d)?;
        Reference::parse_named(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa";

    /// Checks one valid reference: its full and familiar forms, and that the full
    /// form parses back to the same reference.
    fn check(input: &str, full: &str, familiar: &str) -> Reference {
        let r = Reference::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(r.full(), full, "{input}");
        assert_eq!(r.to_string(), full, "{input}");
        assert_eq!(r.familiar(), familiar, "{input}");
        assert_eq!(Reference::parse(full).unwrap(), r, "{input}");
        r
    }

    #[test]
    fn valid_references_normalise_like_docker() {
        for (input, full, familiar) in [
            (
                "busybox",
                "docker.io/library/busybox:latest",
                "busybox:latest",
            ),
            (
                "busybox:1.36",
                "docker.io/library/busybox:1.36",
                "busybox:1.36",
            ),
            (
                "user/repo",
                "docker.io/user/repo:latest",
                "user/repo:latest",
            ),
            (
                "docker.io/busybox",
                "docker.io/library/busybox:latest",
                "busybox:latest",
            ),
            (
                "index.docker.io/user/repo:t",
                "docker.io/user/repo:t",
                "user/repo:t",
            ),
            (
                "docker.io/library/a/b",
                "docker.io/library/a/b:latest",
                "library/a/b:latest",
            ),
            (
                "host:5000/org/name:tag",
                "host:5000/org/name:tag",
                "host:5000/org/name:tag",
            ),
            ("localhost/x", "localhost/x:latest", "localhost/x:latest"),
            (
                "localhost:5000/x:y",
                "localhost:5000/x:y",
                "localhost:5000/x:y",
            ),
            (
                "example.com/a/b/c",
                "example.com/a/b/c:latest",
                "example.com/a/b/c:latest",
            ),
            (
                "127.0.0.1:5000/x",
                "127.0.0.1:5000/x:latest",
                "127.0.0.1:5000/x:latest",
            ),
            ("[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest"),
            ("[fe80::1]/x", "[fe80::1]/x:latest", "[fe80::1]/x:latest"),
            (
                "Registry.Example/x",
                "Registry.Example/x:latest",
                "Registry.Example/x:latest",
            ),
            // An uppercase first component is a registry host, not a namespace.
            ("Upper/x", "Upper/x:latest", "Upper/x:latest"),
            // Without a '/', "localhost:5000" is the name "localhost" with tag "5000".
            (
                "localhost:5000",
                "docker.io/library/localhost:5000",
                "localhost:5000",
            ),
            (
                "x/a.b-c__d---e/f_g",
                "docker.io/x/a.b-c__d---e/f_g:latest",
                "x/a.b-c__d---e/f_g:latest",
            ),
            (
                "x:Tag_1.0-rc",
                "docker.io/library/x:Tag_1.0-rc",
                "x:Tag_1.0-rc",
            ),
        ] {
            let r = check(input, full, familiar);
            assert!(r.tag().is_some() && r.digest().is_none(), "{input}");
            assert_eq!(
                r.repository(),
                full.rsplit_once(':')
                    .map_or(full, |(n, t)| if t.contains('/') { full } else { n })
            );
        }

        let r = check(
            "busybox",
            "docker.io/library/busybox:latest",
            "busybox:latest",
        );
        assert_eq!(
            (r.domain(), r.path(), r.tag()),
            ("docker.io", "library/busybox", Some("latest"))
        );
        assert_eq!(r.repository(), "docker.io/library/busybox");
        assert_eq!(r.familiar_repository(), "busybox");

        let d = format!("sha256:{HEX}");
        let r = check(
            &format!("busybox@{d}"),
            &format!("docker.io/library/busybox@{d}"),
            &format!("busybox@{d}"),
        );
        assert_eq!(
            (r.tag(), r.digest().map(|d| d.to_string())),
            (None, Some(d.clone()))
        );
        let r = check(
            &format!("busybox:1.36@{d}"),
            &format!("docker.io/library/busybox:1.36@{d}"),
            &format!("busybox:1.36@{d}"),
        );
        assert_eq!((r.tag(), r.digest().is_some()), (Some("1.36"), true));
        let d512 = format!("sha512:{}", "a".repeat(128));
        check(
            &format!("h.io/x@{d512}"),
            &format!("h.io/x@{d512}"),
            &format!("h.io/x@{d512}"),
        );
        let t128 = "t".repeat(128);
        let r = check(
            &format!("x:{t128}"),
            &format!("docker.io/library/x:{t128}"),
            &format!("x:{t128}"),
        );
        assert_eq!(r.tag(), Some(t128.as_str()));
    }

    #[test]
    fn invalid_references_say_why() {
        let long_path = format!("{}/x", "a".repeat(255));
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "empty"),
            (HEX.into(), "64-byte hexadecimal"),
            (
                "Busybox".into(),
                "repository name (library/Busybox) must be lowercase",
            ),
            (
                "user/Repo:tag".into(),
                "repository name (user/Repo) must be lowercase",
            ),
            ("localhost/Foo".into(), "must be lowercase"),
            (":tag".into(), "repository name is missing"),
            ("busybox:".into(), "tag \"\""),
            ("busybox:-x".into(), "tag \"-x\""),
            ("busybox:.x".into(), "tag \".x\""),
            (format!("busybox:{}", "t".repeat(129)), "tag"),
            ("busybox:a:b".into(), "tag \"a:b\""),
            ("busybox@sha256:abc".into(), "must be algorithm:hex"),
            (
                format!("busybox@sha256:{}", HEX.to_uppercase()),
                "uppercase hex",
            ),
            (format!("busybox@sha256:{}", &HEX[..40]), "wrong length"),
            (format!("busybox@md5:{HEX}"), "unsupported algorithm"),
            (format!("busybox@sha256:{HEX}@x"), "more than one '@'"),
            (format!("@sha256:{HEX}"), "repository name is missing"),
            ("a//b".into(), "path component \"\""),
            ("a/b/".into(), "path component \"\""),
            ("-a/b".into(), "path component \"-a\""),
            ("a_/b".into(), "path component \"a_\""),
            ("a..b/c/d".into(), "registry host \"a..b\""),
            ("a___b".into(), "path component \"a___b\""),
            ("a.-b".into(), "path component \"a.-b\""),
            ("host:port/x".into(), "registry host \"host:port\""),
            ("-h.io/x".into(), "registry host \"-h.io\""),
            ("[::1/x".into(), "registry host"),
            ("a_b.c/d".into(), "registry host \"a_b.c\""),
            ("ex ample/x".into(), "path component \"ex ample\""),
            (long_path.clone(), "more than 255 characters"),
        ];
        for (input, want) in cases {
            let err = Reference::parse(&input).expect_err(&input).to_string();
            assert!(err.contains(want), "{input:?}: {err:?} lacks {want:?}");
            assert!(err.starts_with("invalid"), "{err}");
        }
        // 255 characters of path is fine (library/ counts).
        let ok = "a".repeat(255 - OFFICIAL_PREFIX.len());
        assert!(Reference::parse(&ok).is_ok());
        assert!(Reference::parse(&format!("{ok}a")).is_err());
    }

    #[test]
    fn parse_named_keeps_a_bare_repository() {
        let r = Reference::parse_named("busybox").unwrap();
        assert_eq!(r.tag(), None);
        assert_eq!(r.full(), "docker.io/library/busybox");
        assert_eq!(r.familiar(), "busybox");
        let t = r.with_tag("1.0").unwrap();
        assert_eq!(t.familiar(), "busybox:1.0");
        assert!(r.with_tag("bad tag").is_err());
        let d = r.with_digest(format!("sha256:{HEX}").parse().unwrap());
        assert_eq!(d.familiar(), format!("busybox@sha256:{HEX}"));
        assert_eq!(d.tag(), None);
    }

    #[test]
    fn serde_round_trips_as_the_full_string() {
        let r = Reference::parse("busybox").unwrap();
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, "\"docker.io/library/busybox:latest\"");
        assert_eq!(serde_json::from_str::<Reference>(&json).unwrap(), r);
    }

    #[test]
    fn id_prefixes() {
        for yes in ["a", "abc123", HEX, &format!("sha256:{HEX}"), "sha256:ab"] {
            assert!(is_id_prefix(yes), "{yes}");
        }
        for no in [
            "",
            "sha256:",
            "xyz",
            "ABC",
            &format!("{HEX}0"),
            "busybox",
            "sha512:ab",
        ] {
            assert!(!is_id_prefix(no), "{no}");
        }
    }
}
