//! API versions: parsing `1.44`, ordering, the range berth serves, and splitting a
//! `/v1.xx` prefix off a request path with Docker's error messages.

use std::fmt;
use std::str::FromStr;

/// An Engine API version, `major.minor` (`1.44`); ordered numerically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    pub major: u32,
    pub minor: u32,
}

/// The oldest API version berth accepts.
pub const MIN_API_VERSION: ApiVersion = ApiVersion::new(1, 24);
/// The newest API version berth claims (and uses for unversioned paths).
pub const API_VERSION: ApiVersion = ApiVersion::new(1, 47);

/// A bad or unsupported API version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("invalid API version {0:?}: want major.minor, e.g. 1.44")]
    Malformed(String),
    #[error("client version {version} is too new. Maximum supported API version is {max}")]
    TooNew { version: ApiVersion, max: ApiVersion },
    #[error(
        "client version {version} is too old. Minimum supported API version is {min}, please upgrade your client to a newer version"
    )]
    TooOld { version: ApiVersion, min: ApiVersion },
}

impl ApiVersion {
    /// `major.minor`.
    pub const fn new(major: u32, minor: u32) -> Self {
        ApiVersion { major, minor }
    }

    /// Ok if `self` lies within [`MIN_API_VERSION`, `API_VERSION`].
    pub fn check_supported(self) -> Result<Self, VersionError> {
        if self > API_VERSION {
            Err(VersionError::TooNew { version: self, max: API_VERSION })
        } else if self < MIN_API_VERSION {
            Err(VersionError::TooOld { version: self, min: MIN_API_VERSION })
        } else {
            Ok(self)
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

fn parse_component(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl FromStr for ApiVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let malformed = || VersionError::Malformed(s.to_string());
        let (major, minor) = s.split_once('.').ok_or_else(malformed)?;
        let major = parse_component(major).ok_or_else(malformed)?;
        let minor = parse_component(minor).ok_or_else(malformed)?;
        Ok(ApiVersion { major, minor })
    }
}

impl serde::Serialize for ApiVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ApiVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Splits a `/v1.xx` prefix off `path`: `/v1.44/info` → `(Some(1.44), "/info")`,
/// `/info` → `(None, "/info")`. A prefix that is malformed, too new or too old
/// is an error. Paths like `/volumes` (no digit after `/v`) carry no version.
pub fn split_version_prefix(path: &str) -> Result<(Option<ApiVersion>, &str), VersionError> {
    let Some(after) = path.strip_prefix("/v") else {
        return Ok((None, path));
    };
    if !after.starts_with(|c: char| c.is_ascii_digit()) {
        return Ok((None, path));
    }
    let (segment, rest) = match after.find('/') {
        Some(i) => (&after[..i], &after[i..]),
        None => (after, "/"),
    };
    let version: ApiVersion = segment.parse()?;
    Ok((Some(version.check_supported()?), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        let v: ApiVersion = "1.44".parse().expect("valid");
        assert_eq!(v, ApiVersion::new(1, 44));
        assert_eq!(v.to_string(), "1.44");
        assert!(ApiVersion::new(1, 9) < ApiVersion::new(1, 24));
        assert!(ApiVersion::new(2, 0) > API_VERSION);
        for bad in ["", "1", "1.", ".4", "1.4.1", "a.b", "1.-2", "+1.2", "1.4x"] {
            assert!(bad.parse::<ApiVersion>().is_err(), "{bad:?} should not parse");
        }
        assert_eq!(API_VERSION.to_string(), "1.47");
        assert_eq!(MIN_API_VERSION.to_string(), "1.24");
    }

    #[test]
    fn splits_prefix() {
        assert_eq!(
            split_version_prefix("/v1.44/containers/json"),
            Ok((Some(ApiVersion::new(1, 44)), "/containers/json"))
        );
        assert_eq!(split_version_prefix("/_ping"), Ok((None, "/_ping")));
        assert_eq!(split_version_prefix("/volumes/x"), Ok((None, "/volumes/x")));
        assert_eq!(split_version_prefix("/v1.47"), Ok((Some(API_VERSION), "/")));
        assert_eq!(split_version_prefix("/v1.24/info"), Ok((Some(MIN_API_VERSION), "/info")));
    }

    #[test]
    fn rejects_bad_prefixes_with_docker_messages() {
        let err = split_version_prefix("/v1.99/info").expect_err("too new");
        assert_eq!(
            err.to_string(),
            "client version 1.99 is too new. Maximum supported API version is 1.47"
        );
        let err = split_version_prefix("/v1.12/info").expect_err("too old");
        assert!(err.to_string().starts_with("client version 1.12 is too old. Minimum supported API version is 1.24"));
        assert!(matches!(split_version_prefix("/v1.x/info"), Err(VersionError::Malformed(_))));
        assert!(matches!(split_version_prefix("/v1/info"), Err(VersionError::Malformed(_))));
    }

    #[test]
    fn serde_as_string() {
        let v: ApiVersion = serde_json::from_str(r#""1.45""#).expect("valid");
        assert_eq!(serde_json::to_string(&v).expect("serialises"), r#""1.45""#);
        assert!(serde_json::from_str::<ApiVersion>("1.45").is_err());
    }
}
