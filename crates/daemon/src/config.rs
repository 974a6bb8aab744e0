//! berthd's configuration: dockerd's flag names and the same keys in a daemon.json,
//! merged and checked at start. As with dockerd, a setting given both as a flag and
//! in the file, or a key the daemon does not know, is an error rather than a guess.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub const DEFAULT_DATA_ROOT: &str = "/var/lib/berth";
pub const DEFAULT_EXEC_ROOT: &str = "/run/berth";
pub const DEFAULT_CONFIG_FILE: &str = "/etc/berth/daemon.json";
pub const DEFAULT_RUNTIME: &str = "berth";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("unable to read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration file {path}: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("the following directives don't match any configuration option: {0}")]
    UnknownKeys(String),
    #[error(
        "the following directives are specified both as a flag and in the configuration file: {0}"
    )]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Remap(#[from] crate::userns::Error),
}

/// What the command line says; `None` means "not given" so the file may set it.
#[derive(Debug, Default, clap::Parser)]
#[command(
    name = "berthd",
    version,
    about = "berth's daemon: the Docker Engine API on a unix socket"
)]
pub struct Flags {
    /// Root directory of persistent state (images, containers, volumes)
    #[arg(long)]
    pub data_root: Option<PathBuf>,
    /// Root directory of runtime state (sockets, shims)
    #[arg(long)]
    pub exec_root: Option<PathBuf>,
    /// Socket to listen on (unix:///path)
    #[arg(short = 'H', long = "host")]
    pub hosts: Vec<String>,
    /// Path of the daemon's pid file
    #[arg(short = 'p', long)]
    pub pidfile: Option<PathBuf>,
    /// Daemon configuration file
    #[arg(long)]
    pub config_file: Option<PathBuf>,
    /// debug, info, warn, error or fatal
    #[arg(short = 'l', long)]
    pub log_level: Option<String>,
    /// Runtime containers use unless they ask for another
    #[arg(long)]
    pub default_runtime: Option<String>,
    /// Register a runtime: NAME=PATH
    #[arg(long)]
    pub add_runtime: Vec<String>,
    /// Keep containers running while the daemon is down (the default; `--live-restore=false`
    /// stops them when berthd stops)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub live_restore: Option<bool>,
    /// Default ulimits for containers: NAME=SOFT[:HARD]
    #[arg(long)]
    pub default_ulimit: Vec<String>,
    /// Default log driver options: KEY=VALUE (json-file: max-size, max-file)
    #[arg(long)]
    pub log_opt: Vec<String>,
    /// Parent cgroup of the containers' cgroups (default /berth)
    #[arg(long)]
    pub cgroup_parent: Option<String>,
    /// Run containers in a user namespace whose root is the subordinate ids of
    /// USER[:GROUP] or UID[:GID] (/etc/subuid, /etc/subgid); `default` is the
    /// dockremap user, made if missing. `docker run --userns=host` opts out
    #[arg(long, value_name = "USER")]
    pub userns_remap: Option<String>,
    /// The default bridge network's device (made if missing; berth0 by default)
    #[arg(short = 'b', long)]
    pub bridge: Option<String>,
    /// The default bridge's address and subnet, as GATEWAY/PREFIX (by default the
    /// first of 172.17–31.0.0/16 that no route of the host uses)
    #[arg(long)]
    pub bip: Option<String>,
    /// IPv6 on the default bridge too (user networks ask for it with `--ipv6`)
    #[arg(long)]
    pub ipv6: bool,
    /// The default bridge's IPv6 subnet, with --ipv6 (by default a unique local
    /// /64, kept across restarts)
    #[arg(long = "fixed-cidr-v6", value_name = "CIDR")]
    pub fixed_cidr_v6: Option<String>,
    /// Where networks that name no subnet get theirs: base=CIDR,size=BITS (repeat
    /// for more; by default 172.17–31.0.0/16 in /16s, then 192.168.0.0/16 in /20s)
    #[arg(long = "default-address-pool", value_name = "base=CIDR,size=BITS")]
    pub default_address_pool: Vec<String>,
    /// DNS servers for containers that name none (repeat for more); also where the
    /// names berthd serves on user networks forward the rest (by default the host's
    /// resolv.conf)
    #[arg(long = "dns", value_name = "IP")]
    pub dns: Vec<String>,
    /// A registry spoken to over HTTP, or HTTPS without verification: host:port or a
    /// CIDR (repeat for more; loopback always is)
    #[arg(long = "insecure-registry", value_name = "HOST:PORT|CIDR")]
    pub insecure_registry: Vec<String>,
    /// A mirror tried before Docker Hub for its images: http[s]://HOST[:PORT] (repeat
    /// for more, tried in order)
    #[arg(long = "registry-mirror", value_name = "URL")]
    pub registry_mirror: Vec<String>,
}

/// daemon.json, with dockerd's key names.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
struct File {
    data_root: Option<PathBuf>,
    exec_root: Option<PathBuf>,
    hosts: Option<Vec<String>>,
    pidfile: Option<PathBuf>,
    log_level: Option<String>,
    default_runtime: Option<String>,
    runtimes: Option<BTreeMap<String, Runtime>>,
    live_restore: Option<bool>,
    default_ulimits: Option<BTreeMap<String, Ulimit>>,
    log_opts: Option<BTreeMap<String, String>>,
    log_driver: Option<String>,
    cgroup_parent: Option<String>,
    userns_remap: Option<String>,
    bridge: Option<String>,
    bip: Option<String>,
    ipv6: Option<bool>,
    fixed_cidr_v6: Option<String>,
    default_address_pools: Option<Vec<AddressPoolEntry>>,
    dns: Option<Vec<String>>,
    insecure_registries: Option<Vec<String>>,
    registry_mirrors: Option<Vec<String>>,
}

/// IPv6 on the default bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultIpv6 {
    /// `fixed-cidr-v6`; a unique local /64 of berth's choice when none.
    pub subnet: Option<net::ipam::Subnet6>,
}

/// One of daemon.json's `default-address-pools`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddressPoolEntry {
    base: String,
    size: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Runtime {
    pub path: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runtime_args: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// The merged, checked configuration the daemon runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
    /// Paths of the unix sockets to listen on.
    pub sockets: Vec<PathBuf>,
    pub pidfile: PathBuf,
    pub log_level: String,
    pub default_runtime: String,
    pub runtimes: BTreeMap<String, Runtime>,
    pub live_restore: bool,
    pub default_ulimits: BTreeMap<String, Ulimit>,
    pub log_opts: BTreeMap<String, String>,
    /// Where container cgroups are made, as a cgroupsPath prefix (`/berth`).
    pub cgroup_parent: String,
    /// `userns-remap` as given (`None`: off).
    pub userns_remap: Option<String>,
    /// The remapping it resolves to, made by [`Config::load`].
    pub remap: Option<Arc<crate::userns::Remap>>,
    /// The default bridge's device name.
    pub bridge: String,
    /// The default bridge's gateway and prefix, when given (`bip`).
    pub bip: Option<(std::net::Ipv4Addr, u8)>,
    /// IPv6 on the default bridge (`ipv6`), on this subnet when given
    /// (`fixed-cidr-v6`).
    pub ipv6: Option<DefaultIpv6>,
    /// Where networks that name no subnet get theirs, in order.
    pub address_pools: Vec<net::ipam::AddressPool>,
    /// DNS servers for containers that name none; empty: the host's.
    pub dns: Vec<String>,
    /// `insecure-registries`: hosts and networks spoken to over HTTP.
    pub insecure_registries: Vec<String>,
    /// `registry-mirrors`: tried in order before Docker Hub.
    pub registry_mirrors: Vec<String>,
    /// Per-registry certificates, `<dir>/<host:port>/`: `certs.d` beside daemon.json.
    pub certs_dir: PathBuf,
}

impl Config {
    /// What berthd logs: `--log-level` as dockerd reads it (`fatal` logs errors only).
    pub fn log_filter(&self) -> tracing::Level {
        match self.log_level.as_str() {
            "debug" => tracing::Level::DEBUG,
            "warn" => tracing::Level::WARN,
            "error" | "fatal" => tracing::Level::ERROR,
            _ => tracing::Level::INFO,
        }
    }

    /// The configuration from flags and daemon.json, its `userns-remap` resolved.
    pub fn load(flags: Flags) -> Result<Config, ConfigError> {
        let mut config = Config::read(flags)?;
        config.resolve_remap()?;
        Ok(config)
    }

    /// [`Config::load`] without resolving `userns-remap` ([`Config::resolve_remap`]).
    pub fn read(flags: Flags) -> Result<Config, ConfigError> {
        let (file, explicit) = match &flags.config_file {
            Some(p) => (p.clone(), true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        let certs_dir = file.parent().map(PathBuf::from).unwrap_or_default();
        let file = match std::fs::read(&file) {
            Ok(bytes) => parse_file(&file, &bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => File::default(),
            Err(source) => return Err(ConfigError::Read { path: file, source }),
        };
        merge(flags, file).map(|c| Config { certs_dir: certs_dir.join("certs.d"), ..c })
    }

    /// Resolves `userns-remap` to its ids (creating Docker's `dockremap` user for
    /// `default`), which it logs.
    pub fn resolve_remap(&mut self) -> Result<(), ConfigError> {
        if let Some(spec) = &self.userns_remap {
            self.remap = crate::userns::Remap::resolve(spec)?.map(Arc::new);
        }
        Ok(())
    }
}

/// `GATEWAY/PREFIX`, an IPv4 address with a prefix of 8 to 30 bits (a network with
/// room for a gateway and containers), not the network's own address.
fn parse_bip(s: &str) -> Option<(std::net::Ipv4Addr, u8)> {
    let (addr, prefix) = s.split_once('/')?;
    let addr: std::net::Ipv4Addr = addr.parse().ok()?;
    let prefix: u8 = prefix.parse().ok().filter(|p| (8..=30).contains(p))?;
    let host_bits = u32::from(addr) & (u32::MAX >> prefix);
    (host_bits != 0 && host_bits != u32::MAX >> prefix).then_some((addr, prefix))
}

fn parse_file(path: &Path, bytes: &[u8]) -> Result<File, ConfigError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let msg = e.to_string();
        match msg
            .strip_prefix("unknown field `")
            .and_then(|r| r.split_once('`'))
        {
            Some((key, _)) => ConfigError::UnknownKeys(key.to_string()),
            None => ConfigError::Parse {
                path: path.to_path_buf(),
                reason: msg,
            },
        }
    })
}

fn merge(flags: Flags, file: File) -> Result<Config, ConfigError> {
    let mut conflicts = Vec::new();
    let mut pick = |name: &str, flag: bool, in_file: bool| {
        if flag && in_file {
            conflicts.push(name.to_string());
        }
    };
    pick(
        "data-root",
        flags.data_root.is_some(),
        file.data_root.is_some(),
    );
    pick(
        "exec-root",
        flags.exec_root.is_some(),
        file.exec_root.is_some(),
    );
    pick("hosts", !flags.hosts.is_empty(), file.hosts.is_some());
    pick("pidfile", flags.pidfile.is_some(), file.pidfile.is_some());
    pick(
        "log-level",
        flags.log_level.is_some(),
        file.log_level.is_some(),
    );
    pick(
        "default-runtime",
        flags.default_runtime.is_some(),
        file.default_runtime.is_some(),
    );
    pick(
        "live-restore",
        flags.live_restore.is_some(),
        file.live_restore.is_some(),
    );
    pick(
        "default-ulimits",
        !flags.default_ulimit.is_empty(),
        file.default_ulimits.is_some(),
    );
    pick(
        "log-opts",
        !flags.log_opt.is_empty(),
        file.log_opts.is_some(),
    );
    pick(
        "cgroup-parent",
        flags.cgroup_parent.is_some(),
        file.cgroup_parent.is_some(),
    );
    pick(
        "userns-remap",
        flags.userns_remap.is_some(),
        file.userns_remap.is_some(),
    );
    pick("bridge", flags.bridge.is_some(), file.bridge.is_some());
    pick("bip", flags.bip.is_some(), file.bip.is_some());
    pick("ipv6", flags.ipv6, file.ipv6.is_some());
    pick("fixed-cidr-v6", flags.fixed_cidr_v6.is_some(), file.fixed_cidr_v6.is_some());
    pick("default-address-pools", !flags.default_address_pool.is_empty(), file.default_address_pools.is_some());
    pick("dns", !flags.dns.is_empty(), file.dns.is_some());
    pick("insecure-registries", !flags.insecure_registry.is_empty(), file.insecure_registries.is_some());
    pick("registry-mirrors", !flags.registry_mirror.is_empty(), file.registry_mirrors.is_some());
    if !conflicts.is_empty() {
        return Err(ConfigError::Conflict(conflicts.join(", ")));
    }
    if let Some(d) = &file.log_driver
        && d != "json-file"
    {
        return Err(ConfigError::Invalid(format!(
            "log driver {d:?} is not supported: berth writes json-file logs"
        )));
    }

    let data_root = absolute(
        "data-root",
        flags
            .data_root
            .or(file.data_root)
            .unwrap_or(DEFAULT_DATA_ROOT.into()),
    )?;
    let exec_root = absolute(
        "exec-root",
        flags
            .exec_root
            .or(file.exec_root)
            .unwrap_or(DEFAULT_EXEC_ROOT.into()),
    )?;
    let hosts = if flags.hosts.is_empty() {
        file.hosts.unwrap_or_default()
    } else {
        flags.hosts
    };
    let sockets = if hosts.is_empty() {
        vec![exec_root.join("berth.sock")]
    } else {
        hosts
            .iter()
            .map(|h| socket_path(h))
            .collect::<Result<_, _>>()?
    };
    let pidfile = flags
        .pidfile
        .or(file.pidfile)
        .unwrap_or_else(|| exec_root.join("berthd.pid"));
    let log_level = flags
        .log_level
        .or(file.log_level)
        .unwrap_or_else(|| "info".into());
    if !["debug", "info", "warn", "error", "fatal"].contains(&log_level.as_str()) {
        return Err(ConfigError::Invalid(format!(
            "unable to parse logging level: {log_level}"
        )));
    }

    let mut runtimes = builtin_runtimes();
    for (name, rt) in file.runtimes.unwrap_or_default() {
        runtimes.insert(name, rt);
    }
    for spec in &flags.add_runtime {
        let (name, path) = spec
            .split_once('=')
            .filter(|(n, p)| !n.is_empty() && !p.is_empty())
            .ok_or_else(|| {
                ConfigError::Invalid(format!("invalid --add-runtime {spec:?}: want NAME=PATH"))
            })?;
        runtimes.insert(
            name.to_string(),
            Runtime {
                path: path.to_string(),
                runtime_args: Vec::new(),
            },
        );
    }
    let default_runtime = flags
        .default_runtime
        .or(file.default_runtime)
        .unwrap_or_else(|| DEFAULT_RUNTIME.into());
    if !runtimes.contains_key(&default_runtime) {
        return Err(ConfigError::Invalid(format!(
            "default runtime {default_runtime:?} is not a configured runtime"
        )));
    }

    let mut default_ulimits = file.default_ulimits.unwrap_or_default();
    for spec in &flags.default_ulimit {
        let u = parse_ulimit(spec)?;
        default_ulimits.insert(u.name.clone(), u);
    }
    let mut log_opts = file.log_opts.unwrap_or_default();
    for spec in &flags.log_opt {
        let (k, v) = spec.split_once('=').ok_or_else(|| {
            ConfigError::Invalid(format!("invalid --log-opt {spec:?}: want KEY=VALUE"))
        })?;
        log_opts.insert(k.to_string(), v.to_string());
    }
    for key in log_opts.keys() {
        if !["max-size", "max-file", "compress", "labels", "env", "tag"].contains(&key.as_str()) {
            return Err(ConfigError::Invalid(format!(
                "unknown log opt '{key}' for json-file log driver"
            )));
        }
    }
    let cgroup_parent = flags
        .cgroup_parent
        .or(file.cgroup_parent)
        .unwrap_or_else(|| "/berth".into());
    if !cgroup_parent.starts_with('/') || cgroup_parent.split('/').any(|c| c == "..") {
        return Err(ConfigError::Invalid(format!(
            "invalid cgroup-parent {cgroup_parent:?}: want an absolute cgroup path like /berth"
        )));
    }
    // dockerd's "" is remapping off.
    let userns_remap = flags
        .userns_remap
        .or(file.userns_remap)
        .filter(|s| !s.is_empty());
    let bridge = flags.bridge.or(file.bridge).unwrap_or_else(|| "berth0".into());
    if bridge.is_empty() || bridge.len() > 15 || bridge.contains(['/', ' ', ':']) {
        return Err(ConfigError::Invalid(format!("invalid bridge name {bridge:?}: at most 15 characters, no '/', ':' or space")));
    }
    let bip = match flags.bip.or(file.bip) {
        None => None,
        Some(b) => Some(parse_bip(&b).ok_or_else(|| ConfigError::Invalid(format!("invalid bip {b:?}: want an address and prefix like 172.17.0.1/16")))?),
    };
    let fixed_cidr_v6 = match flags.fixed_cidr_v6.or(file.fixed_cidr_v6).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => {
            let subnet = s.parse::<net::ipam::Subnet6>().map_err(|e| ConfigError::Invalid(format!("fixed-cidr-v6: {}", e.0)))?;
            net::ipam::Pool6::new(subnet, None, None, Default::default()).map_err(|e| ConfigError::Invalid(format!("fixed-cidr-v6: {}", e.0)))?;
            Some(subnet)
        }
    };
    let ipv6 = match (flags.ipv6 || file.ipv6 == Some(true), fixed_cidr_v6) {
        (true, subnet) => Some(DefaultIpv6 { subnet }),
        (false, None) => None,
        (false, Some(_)) => return Err(ConfigError::Invalid("fixed-cidr-v6 needs ipv6 on (--ipv6, or \"ipv6\": true)".into())),
    };
    let pools: Vec<String> = match file.default_address_pools {
        Some(entries) => entries.iter().map(|e| format!("base={},size={}", e.base, e.size)).collect(),
        None => flags.default_address_pool,
    };
    let address_pools = pools
        .iter()
        .map(|p| net::ipam::AddressPool::parse(p).map_err(|e| ConfigError::Invalid(format!("default-address-pools: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let dns = file.dns.unwrap_or(flags.dns);
    if let Some(bad) = dns.iter().find(|d| d.parse::<std::net::IpAddr>().is_err()) {
        return Err(ConfigError::Invalid(format!("invalid dns {bad:?}: want an IP address")));
    }
    let insecure_registries = file.insecure_registries.unwrap_or(flags.insecure_registry);
    let registry_mirrors = file.registry_mirrors.unwrap_or(flags.registry_mirror);
    if let Some(bad) = registry_mirrors.iter().find(|m| !(m.starts_with("http://") || m.starts_with("https://"))) {
        return Err(ConfigError::Invalid(format!("invalid mirror: unsupported scheme {bad:?} in {bad:?}: want http:// or https://")));
    }
    Ok(Config {
        registry_mirrors,
        dns,
        insecure_registries,
        certs_dir: PathBuf::new(),
        bridge,
        bip,
        ipv6,
        address_pools: if address_pools.is_empty() { net::ipam::AddressPool::defaults() } else { address_pools },
        userns_remap,
        remap: None,
        cgroup_parent,
        data_root,
        exec_root,
        sockets,
        pidfile,
        log_level,
        default_runtime,
        runtimes,
        live_restore: flags.live_restore.or(file.live_restore).unwrap_or(true),
        default_ulimits,
        log_opts,
    })
}

fn absolute(what: &str, p: PathBuf) -> Result<PathBuf, ConfigError> {
    if p.is_absolute() {
        Ok(p)
    } else {
        Err(ConfigError::Invalid(format!(
            "{what} must be an absolute path, got {}",
            p.display()
        )))
    }
}

fn socket_path(host: &str) -> Result<PathBuf, ConfigError> {
    match host.strip_prefix("unix://") {
        Some(p) if p.starts_with('/') => Ok(PathBuf::from(p)),
        _ => Err(ConfigError::Invalid(format!(
            "invalid host {host:?}: berthd listens on unix sockets only (unix:///path)"
        ))),
    }
}

/// `nofile=1024:2048`, `nproc=512` (hard = soft).
pub fn parse_ulimit(spec: &str) -> Result<Ulimit, ConfigError> {
    let bad = || ConfigError::Invalid(format!("invalid ulimit {spec:?}: want NAME=SOFT[:HARD]"));
    let (name, values) = spec.split_once('=').ok_or_else(bad)?;
    let (soft, hard) = values.split_once(':').unwrap_or((values, values));
    let soft: i64 = soft.parse().map_err(|_| bad())?;
    let hard: i64 = hard.parse().map_err(|_| bad())?;
    if soft > hard {
        return Err(ConfigError::Invalid(format!(
            "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
        )));
    }
    Ok(Ulimit {
        name: name.to_string(),
        soft,
        hard,
    })
}

/// berth's own runtime (next to berthd, else on PATH), and runc/crun when installed.
fn builtin_runtimes() -> BTreeMap<String, Runtime> {
    let mut out = BTreeMap::new();
    let beside = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("berth-runtime")));
    let berth = match beside {
        Some(p) if p.exists() => p.display().to_string(),
        _ => "berth-runtime".to_string(),
    };
    out.insert(
        "berth".to_string(),
        Runtime {
            path: berth,
            runtime_args: Vec::new(),
        },
    );
    for name in ["runc", "crun"] {
        if let Some(p) = which(name) {
            out.insert(
                name.to_string(),
                Runtime {
                    path: p.display().to_string(),
                    runtime_args: Vec::new(),
                },
            );
        }
    }
    out
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(args: &[&str]) -> Flags {
        use clap::Parser;
        Flags::parse_from(std::iter::once("berthd").chain(args.iter().copied()))
    }

    fn file(json: &str) -> Result<File, ConfigError> {
        parse_file(Path::new("daemon.json"), json.as_bytes())
    }

    #[test]
    fn defaults_and_flags() {
        let c = merge(
            flags(&["--data-root", "/d", "--exec-root", "/e"]),
            File::default(),
        )
        .unwrap();
        assert_eq!(c.sockets, vec![PathBuf::from("/e/berth.sock")]);
        assert_eq!(c.pidfile, PathBuf::from("/e/berthd.pid"));
        assert_eq!(c.default_runtime, "berth");
        let c = merge(
            flags(&[
                "-H",
                "unix:///tmp/x.sock",
                "--log-opt",
                "max-size=10m",
                "--default-ulimit",
                "nofile=100:200",
            ]),
            File::default(),
        )
        .unwrap();
        assert_eq!(c.sockets, vec![PathBuf::from("/tmp/x.sock")]);
        assert_eq!(c.log_opts["max-size"], "10m");
        assert_eq!(
            c.default_ulimits["nofile"],
            Ulimit {
                name: "nofile".into(),
                soft: 100,
                hard: 200
            }
        );
    }

    #[test]
    fn file_keys_conflicts_and_unknowns() {
        let f = file(r#"{"data-root": "/d", "live-restore": true, "runtimes": {"mine": {"path": "/bin/mine"}}, "default-runtime": "mine"}"#).unwrap();
        let c = merge(flags(&[]), f).unwrap();
        assert!(c.live_restore);
        assert_eq!(c.userns_remap, None);
        let f = file(r#"{"userns-remap": "default"}"#).unwrap();
        assert_eq!(
            merge(flags(&[]), f).unwrap().userns_remap.as_deref(),
            Some("default")
        );
        let f = file(r#"{"userns-remap": "a"}"#).unwrap();
        let e = merge(flags(&["--userns-remap", "b"]), f)
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("userns-remap"), "{e}");
        assert_eq!(c.default_runtime, "mine");
        let f = file(r#"{"data-root": "/d"}"#).unwrap();
        let e = merge(flags(&["--data-root", "/x"]), f)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("both as a flag and in the configuration file: data-root"),
            "{e}"
        );
        let e = file(r#"{"no-such-key": 1}"#).unwrap_err().to_string();
        assert!(
            e.contains("don't match any configuration option: no-such-key"),
            "{e}"
        );
        assert!(file(r#"{"live-restore": "yes"}"#).is_err());
    }

    #[test]
    fn ipv6_on_the_default_bridge() {
        assert_eq!(merge(flags(&[]), File::default()).unwrap().ipv6, None);
        assert_eq!(merge(flags(&["--ipv6"]), File::default()).unwrap().ipv6, Some(DefaultIpv6 { subnet: None }));
        let f = file(r#"{"ipv6": true, "fixed-cidr-v6": "fd00:1::/64"}"#).unwrap();
        assert_eq!(merge(flags(&[]), f).unwrap().ipv6, Some(DefaultIpv6 { subnet: Some("fd00:1::/64".parse().unwrap()) }));
        let f = file(r#"{"ipv6": false}"#).unwrap();
        assert!(merge(flags(&["--ipv6"]), f).unwrap_err().to_string().ends_with("ipv6"));
    }

    #[test]
    fn bad_values_are_refused_clearly() {
        for args in [
            vec!["-H", "tcp://0.0.0.0:2375"],
            vec!["--log-level", "chatty"],
            vec!["--default-runtime", "nope"],
            vec!["--data-root", "relative"],
            vec!["--default-ulimit", "nofile=10:5"],
            vec!["--add-runtime", "noequals"],
            vec!["--log-opt", "colour=red"],
            vec!["--fixed-cidr-v6", "fd00::/64"],
            vec!["--ipv6", "--fixed-cidr-v6", "fd00::5/64"],
            vec!["--ipv6", "--fixed-cidr-v6", "fd00::/126"],
        ] {
            assert!(merge(flags(&args), File::default()).is_err(), "{args:?}");
        }
    }
}
