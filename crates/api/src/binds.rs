//! `HostConfig.Binds` entries (`-v SOURCE:DEST[:MODE]`), read once into a typed
//! [`Bind`] for the CLI (which sorts binds from anonymous volumes) and the daemon
//! (which mounts them and shows them in inspect), with dockerd's rules and words:
//! a mode is a comma list of at most one each of `ro`/`rw`, a propagation, an SELinux
//! relabel (`z`/`Z`), `nocopy`, and the ignored consistency options.

use std::fmt;

/// A mount's propagation, as the Engine API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Propagation {
    Private,
    #[default]
    RPrivate,
    Shared,
    RShared,
    Slave,
    RSlave,
}

impl Propagation {
    pub fn parse(s: &str) -> Option<Propagation> {
        Some(match s {
            "private" => Propagation::Private,
            "rprivate" => Propagation::RPrivate,
            "shared" => Propagation::Shared,
            "rshared" => Propagation::RShared,
            "slave" => Propagation::Slave,
            "rslave" => Propagation::RSlave,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Propagation::Private => "private",
            Propagation::RPrivate => "rprivate",
            Propagation::Shared => "shared",
            Propagation::RShared => "rshared",
            Propagation::Slave => "slave",
            Propagation::RSlave => "rslave",
        }
    }
}

impl fmt::Display for Propagation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `Binds` entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Bind {
    /// A host path (absolute), a volume's name, or empty for an anonymous volume
    /// (`-v /data`).
    pub source: String,
    pub destination: String,
    /// The mode as given (inspect shows it as is).
    pub mode: String,
    pub read_only: bool,
    pub propagation: Propagation,
    /// `nocopy`: a new volume is not filled with the image's content.
    pub nocopy: bool,
}

impl Bind {
    /// Parses one entry: `DEST`, `SOURCE:DEST` or `SOURCE:DEST:MODE`.
    pub fn parse(spec: &str) -> Result<Bind, BindError> {
        let invalid = || BindError::Spec(spec.to_string());
        let parts: Vec<&str> = spec.split(':').collect();
        let (source, destination, mode) = match parts.as_slice() {
            [d] => ("", *d, ""),
            // `/foo:rw` is a destination with a mode and no source: a volume cannot
            // have a mode.
            [_, m] if valid_mode(m) => return Err(invalid()),
            [s, d] => (*s, *d, ""),
            [s, d, m] => (*s, *d, *m),
            _ => return Err(invalid()),
        };
        if destination.is_empty() || (parts.len() > 1 && source.is_empty()) {
            return Err(invalid());
        }
        if !valid_mode(mode) {
            return Err(BindError::Mode(mode.to_string()));
        }
        if !destination.starts_with('/') {
            return Err(BindError::RelativeDestination(destination.to_string()));
        }
        if destination == "/" {
            return Err(BindError::RootDestination);
        }
        let options: Vec<&str> = mode.split(',').filter(|o| !o.is_empty()).collect();
        Ok(Bind {
            source: source.to_string(),
            destination: destination.to_string(),
            mode: mode.to_string(),
            read_only: options.contains(&"ro"),
            propagation: options.iter().find_map(|o| Propagation::parse(o)).unwrap_or_default(),
            nocopy: options.contains(&"nocopy"),
        })
    }

    /// A `HostConfig.Mounts` entry of type `bind`, checked as dockerd checks it
    /// (whether its source exists is the daemon's to check). Its mode is empty, as
    /// inspect shows such a mount's.
    pub fn from_mount(m: &crate::hostconfig::Mount) -> Result<Bind, BindError> {
        let field = |f: &'static str| BindError::MountField { kind: "bind", field: f };
        if m.target.is_empty() {
            return Err(field("Target"));
        }
        if m.source.is_empty() {
            return Err(field("Source"));
        }
        for path in [&m.source, &m.target] {
            if !path.starts_with('/') {
                return Err(BindError::RelativeDestination(path.clone()));
            }
        }
        if m.target == "/" {
            return Err(BindError::RootDestination);
        }
        let options = m.bind_options.clone().unwrap_or_default();
        let propagation = match options.propagation.as_str() {
            "" => Propagation::default(),
            p => Propagation::parse(p).ok_or_else(|| BindError::Propagation(p.to_string()))?,
        };
        Ok(Bind { source: m.source.clone(), destination: m.target.clone(), mode: String::new(), read_only: m.read_only, propagation, nocopy: false })
    }

    /// The entry as `Binds` spells it: `DEST`, `SOURCE:DEST` or `SOURCE:DEST:MODE`.
    pub fn spec(&self) -> String {
        let mut out = if self.source.is_empty() { self.destination.clone() } else { format!("{}:{}", self.source, self.destination) };
        if !self.mode.is_empty() {
            out.push(':');
            out.push_str(&self.mode);
        }
        out
    }

    /// A host directory or file, not a named volume.
    pub fn is_host_path(&self) -> bool {
        self.source.starts_with('/')
    }
}

/// Why a `Binds` entry was refused, in dockerd's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindError {
    #[error("invalid volume specification: '{0}'")]
    Spec(String),
    #[error("invalid mode: {0}")]
    Mode(String),
    #[error("invalid mount config for type \"bind\": invalid mount path: '{0}' mount path must be absolute")]
    RelativeDestination(String),
    #[error("invalid specification: destination can't be '/'")]
    RootDestination,
    #[error("invalid mount config for type \"{kind}\": field {field} must not be empty")]
    MountField { kind: &'static str, field: &'static str },
    #[error("invalid mount config for type \"bind\": invalid propagation mode: {0}")]
    Propagation(String),
}

/// dockerd's rule for a mode: each option known, and at most one of each kind.
fn valid_mode(mode: &str) -> bool {
    let (mut rw, mut label, mut propagation, mut copy) = (0, 0, 0, 0);
    for o in mode.split(',').filter(|o| !o.is_empty()) {
        let count = match o {
            "ro" | "rw" => &mut rw,
            "z" | "Z" => &mut label,
            "nocopy" => &mut copy,
            "consistent" | "cached" | "delegated" => continue,
            o if Propagation::parse(o).is_some() => &mut propagation,
            _ => return false,
        };
        *count += 1;
        if *count > 1 {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_read_as_dockerd_reads_them() {
        let b = Bind::parse("/host:/ctr:ro,rshared").unwrap();
        assert_eq!(
            b,
            Bind {
                source: "/host".into(),
                destination: "/ctr".into(),
                mode: "ro,rshared".into(),
                read_only: true,
                propagation: Propagation::RShared,
                nocopy: false,
            }
        );
        assert!(b.is_host_path());
        let b = Bind::parse("/host:/ctr").unwrap();
        assert_eq!((b.read_only, b.propagation, b.mode.as_str()), (false, Propagation::RPrivate, ""));
        let v = Bind::parse("data:/var/lib/data:nocopy").unwrap();
        assert!(!v.is_host_path() && v.nocopy);
        let anonymous = Bind::parse("/data").unwrap();
        assert_eq!((anonymous.source.as_str(), anonymous.destination.as_str()), ("", "/data"));
        assert_eq!(Bind::parse("/a:/b:rw,z,cached").unwrap().propagation, Propagation::RPrivate);
        // Spelled back as given.
        for spec in ["/host:/ctr:ro,rshared", "/host:/ctr", "data:/var/lib/data:nocopy", "/data"] {
            assert_eq!(Bind::parse(spec).unwrap().spec(), spec);
        }
    }

    #[test]
    fn bad_binds_get_dockerds_messages() {
        let err = |s| Bind::parse(s).unwrap_err().to_string();
        assert_eq!(err("/foo:rw"), "invalid volume specification: '/foo:rw'");
        assert_eq!(err("a:b:c:d"), "invalid volume specification: 'a:b:c:d'");
        assert_eq!(err(":/x"), "invalid volume specification: ':/x'");
        assert_eq!(err("/a:/b:rx"), "invalid mode: rx");
        assert_eq!(err("/a:/b:ro,rw"), "invalid mode: ro,rw");
        assert_eq!(err("/a:/b:shared,slave"), "invalid mode: shared,slave");
        assert_eq!(
            err("/tmp:data"),
            "invalid mount config for type \"bind\": invalid mount path: 'data' mount path must be absolute"
        );
        assert_eq!(err("/tmp:/"), "invalid specification: destination can't be '/'");
    }
}
