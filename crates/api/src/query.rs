//! URL query strings: percent encoding/decoding, Docker's loose booleans
//! (`1`, `true`, `True` …), and typed options for the list/logs/events endpoints,
//! readable by the daemon and writable by the client.

use crate::filters::{Filters, FiltersError};

/// A malformed query string or parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("invalid URL escape in query: {0:?}")]
    Escape(String),
    #[error("invalid value for {key}: {value:?}")]
    Value { key: String, value: String },
    #[error(transparent)]
    Filters(#[from] FiltersError),
}

/// Decoded `key=value` pairs of a query string, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// An empty query.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `a=1&b=x%20y` (`+` is a space); a leading `?` is allowed.
    pub fn parse(raw: &str) -> Result<Self, QueryError> {
        let raw = raw.strip_prefix('?').unwrap_or(raw);
        let mut pairs = Vec::new();
        for part in raw.split(['&', ';']).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((percent_decode(k)?, percent_decode(v)?));
        }
        Ok(Query { pairs })
    }

    /// Appends a pair.
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.pairs.push((key.into(), value.into()));
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Docker's boolean: false when absent or `""`, `0`, `no`, `false`, `none`.
    pub fn get_bool(&self, key: &str) -> bool {
        self.get(key).is_some_and(is_truthy)
    }

    /// Like [`Query::get_bool`] but `default` when the key is absent.
    pub fn get_bool_or(&self, key: &str, default: bool) -> bool {
        self.get(key).map_or(default, is_truthy)
    }

    /// An integer parameter; absent or empty is `None`.
    pub fn get_i64(&self, key: &str) -> Result<Option<i64>, QueryError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| QueryError::Value { key: key.to_string(), value: v.to_string() }),
        }
    }

    /// The `filters` parameter (empty when absent).
    pub fn filters(&self) -> Result<Filters, FiltersError> {
        Filters::parse(self.get("filters").unwrap_or(""))
    }

    /// Borrowed pairs, as the client's request methods take them.
    pub fn as_pairs(&self) -> Vec<(&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    /// The encoded query string, without `?`.
    pub fn encode(&self) -> String {
        encode_pairs(&self.as_pairs())
    }
}

fn is_truthy(v: &str) -> bool {
    !matches!(v.trim().to_ascii_lowercase().as_str(), "" | "0" | "no" | "false" | "none")
}

/// Encodes pairs as `k=v&k2=v2`, percent-encoding everything but unreserved bytes.
pub fn encode_pairs(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&percent_encode(k));
        out.push('=');
        out.push_str(&percent_encode(v));
    }
    out
}

/// Percent-encodes all bytes except `A-Z a-z 0-9 - . _ ~`.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes and `+` (space); invalid escapes are an error and
/// invalid UTF-8 is replaced.
pub fn percent_decode(s: &str) -> Result<String, QueryError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(|| QueryError::Escape(s.to_string()))?;
                let hex = std::str::from_utf8(hex).map_err(|_| QueryError::Escape(s.to_string()))?;
                let b = u8::from_str_radix(hex, 16).map_err(|_| QueryError::Escape(s.to_string()))?;
                out.push(b);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn push_bool(q: &mut Query, key: &str, value: bool) {
    if value {
        q.push(key, "1");
    }
}

fn push_filters(q: &mut Query, filters: &Filters) {
    if !filters.is_empty() {
        q.push("filters", filters.to_json());
    }
}

/// `GET /containers/json` options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerListOptions {
    pub all: bool,
    pub limit: Option<i64>,
    pub size: bool,
    pub filters: Filters,
}

impl ContainerListOptions {
    /// Reads the options from a request's query.
    pub fn from_query(q: &Query) -> Result<Self, QueryError> {
        Ok(ContainerListOptions {
            all: q.get_bool("all"),
            limit: q.get_i64("limit")?.filter(|n| *n > 0),
            size: q.get_bool("size"),
            filters: q.filters()?,
        })
    }

    /// The query a client sends.
    pub fn to_query(&self) -> Query {
        let mut q = Query::new();
        push_bool(&mut q, "all", self.all);
        if let Some(n) = self.limit {
            q.push("limit", n.to_string());
        }
        push_bool(&mut q, "size", self.size);
        push_filters(&mut q, &self.filters);
        q
    }
}

/// `GET /images/json` options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageListOptions {
    pub all: bool,
    pub shared_size: bool,
    pub digests: bool,
    pub filters: Filters,
}

impl ImageListOptions {
    /// Reads the options from a request's query.
    pub fn from_query(q: &Query) -> Result<Self, QueryError> {
        Ok(ImageListOptions {
            all: q.get_bool("all"),
            shared_size: q.get_bool("shared-size"),
            digests: q.get_bool("digests"),
            filters: q.filters()?,
        })
    }

    /// The query a client sends.
    pub fn to_query(&self) -> Query {
        let mut q = Query::new();
        push_bool(&mut q, "all", self.all);
        push_bool(&mut q, "shared-size", self.shared_size);
        push_bool(&mut q, "digests", self.digests);
        push_filters(&mut q, &self.filters);
        q
    }
}

/// `GET /containers/{id}/logs` options; `since`/`until` are kept raw (see
/// [`crate::time::parse_query_timestamp`]), `tail` is `None` for all lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogsOptions {
    pub follow: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub timestamps: bool,
    pub since: Option<String>,
    pub until: Option<String>,
    pub tail: Option<u64>,
}

impl LogsOptions {
    /// Reads the options from a request's query (`tail=all` or absent → `None`).
    pub fn from_query(q: &Query) -> Result<Self, QueryError> {
        let tail = match q.get("tail") {
            None | Some("") | Some("all") => None,
            Some(v) => Some(v.parse().map_err(|_| QueryError::Value { key: "tail".into(), value: v.into() })?),
        };
        let non_empty = |k: &str| q.get(k).filter(|v| !v.is_empty() && *v != "0").map(str::to_string);
        Ok(LogsOptions {
            follow: q.get_bool("follow"),
            stdout: q.get_bool("stdout"),
            stderr: q.get_bool("stderr"),
            timestamps: q.get_bool("timestamps"),
            since: non_empty("since"),
            until: non_empty("until"),
            tail,
        })
    }

    /// The query a client sends.
    pub fn to_query(&self) -> Query {
        let mut q = Query::new();
        push_bool(&mut q, "follow", self.follow);
        push_bool(&mut q, "stdout", self.stdout);
        push_bool(&mut q, "stderr", self.stderr);
        push_bool(&mut q, "timestamps", self.timestamps);
        if let Some(s) = &self.since {
            q.push("since", s.clone());
        }
        if let Some(s) = &self.until {
            q.push("until", s.clone());
        }
        q.push("tail", self.tail.map_or_else(|| "all".to_string(), |n| n.to_string()));
        q
    }
}

/// `GET /events` options (`since`/`until` raw, as for logs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventsOptions {
    pub since: Option<String>,
    pub until: Option<String>,
    pub filters: Filters,
}

impl EventsOptions {
    /// Reads the options from a request's query.
    pub fn from_query(q: &Query) -> Result<Self, QueryError> {
        let non_empty = |k: &str| q.get(k).filter(|v| !v.is_empty()).map(str::to_string);
        Ok(EventsOptions { since: non_empty("since"), until: non_empty("until"), filters: q.filters()? })
    }

    /// The query a client sends.
    pub fn to_query(&self) -> Query {
        let mut q = Query::new();
        if let Some(s) = &self.since {
            q.push("since", s.clone());
        }
        if let Some(s) = &self.until {
            q.push("until", s.clone());
        }
        push_filters(&mut q, &self.filters);
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_decode() {
        let q = Query::parse("?all=1&filters=%7B%22status%22%3A%5B%22exited%22%5D%7D&name=a+b&x").expect("valid");
        assert!(q.get_bool("all"));
        assert_eq!(q.get("name"), Some("a b"));
        assert_eq!(q.get("x"), Some(""));
        assert!(!q.get_bool("x"));
        assert!(q.filters().expect("filters").contains("status", "exited"));
        assert!(Query::parse("a=%zz").is_err());
        assert!(Query::parse("a=%2").is_err());
    }

    #[test]
    fn docker_booleans() {
        let q = Query::parse("a=1&b=True&c=false&d=0&e=no&f=none&g=yes").expect("valid");
        for k in ["a", "b", "g"] {
            assert!(q.get_bool(k), "{k}");
        }
        for k in ["c", "d", "e", "f", "missing"] {
            assert!(!q.get_bool(k), "{k}");
        }
        assert!(q.get_bool_or("missing", true));
        assert!(!q.get_bool_or("c", true));
    }

    #[test]
    fn encode_round_trip() {
        let mut q = Query::new();
        q.push("filters", r#"{"label":{"a=b c":true}}"#);
        q.push("t", "img:1/2");
        let enc = q.encode();
        assert!(!enc.contains(' ') && !enc.contains('{'));
        assert_eq!(Query::parse(&enc).expect("valid"), q);
    }

    #[test]
    fn list_options_round_trip() {
        let opts = ContainerListOptions {
            all: true,
            limit: Some(3),
            size: false,
            filters: Filters::new().with("label", "x=y"),
        };
        let back = ContainerListOptions::from_query(&Query::parse(&opts.to_query().encode()).expect("valid"))
            .expect("valid");
        assert_eq!(back, opts);
        let q = Query::parse("limit=abc").expect("valid");
        assert!(ContainerListOptions::from_query(&q).is_err());
        let logs = LogsOptions::from_query(&Query::parse("stdout=1&tail=10&since=0").expect("valid")).expect("ok");
        assert_eq!((logs.stdout, logs.stderr, logs.tail, logs.since), (true, false, Some(10), None));
        let all = LogsOptions::from_query(&Query::parse("tail=all").expect("valid")).expect("ok");
        assert_eq!(all.tail, None);
    }
}
