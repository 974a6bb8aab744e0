//! What berthd remembers of one container, on disk as `containers/<id>/container.json`
//! (written atomically: temp file, fsync, rename, fsync of the directory), and the
//! container's state machine as Docker has it.

use std::path::Path;

use api::binds::Bind;

pub use crate::networks::endpoint::{Endpoint, NetworkAttachment, PublishedPort, port_key};
use api::containers::{ContainerConfig, HostConfig};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The file of a container's record inside its directory.
pub const RECORD_FILE: &str = "container.json";

/// The record's schema, written into every record. A record of an older schema is
/// migrated when read (one step per schema); one of a newer schema is refused, so an
/// older berthd never rewrites what it does not understand.
/// 1: berth before records were versioned (no `schema` field); 2: versioned; 3: the
/// restart policy, network mode, binds and log configuration typed, out of the wire's
/// host configuration; 4: the networks a container is connected to, and a run's
/// endpoints on several networks with its published ports beside them.
pub const SCHEMA: u32 = 4;

/// Docker's container states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }

    /// A process of the container exists (it may be frozen).
    pub fn is_live(self) -> bool {
        matches!(self, Status::Running | Status::Paused)
    }
}

/// The mutable half of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub status: Status,
    /// The init's host pid while live, else 0.
    pub pid: i32,
    pub exit_code: i64,
    /// Why the last start failed, if it did.
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub oom_killed: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Stopped by a user: `unless-stopped` does not bring it back.
    #[serde(default)]
    pub manually_stopped: bool,
    #[serde(default)]
    pub restart_count: i64,
    /// The running container's places on its networks (bridges'), the first
    /// network's first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<Endpoint>,
    /// The ports published for this run, with the host ports they got (forwarded to
    /// its first endpoint).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PublishedPort>,
    /// Schema 3's one endpoint, with its ports: read to be migrated, never written.
    #[serde(default, rename = "endpoint", skip_serializing)]
    pub(crate) legacy_endpoint: Option<LegacyEndpoint>,
    /// The healthcheck's state (`State.Health`); none without a healthcheck. Kept
    /// across runs as Docker keeps it: a start resets the status, not the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<api::containers::Health>,
}

impl Default for State {
    fn default() -> Self {
        State {
            status: Status::Created,
            pid: 0,
            exit_code: 0,
            error: String::new(),
            oom_killed: false,
            started_at: None,
            finished_at: None,
            manually_stopped: false,
            restart_count: 0,
            endpoints: Vec::new(),
            ports: Vec::new(),
            legacy_endpoint: None,
            health: None,
        }
    }
}

/// Schema 3's endpoint: the default bridge's, with the run's ports.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct LegacyEndpoint {
    #[serde(flatten)]
    endpoint: Endpoint,
    #[serde(default)]
    ports: Vec<PublishedPort>,
}

/// An image mounted in a container (`--mount type=image`, see
/// [`image_mounts`](super::image_mounts)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageMount {
    /// The image as the mount named it (inspect's `Source`).
    pub source: String,
    pub image_id: String,
    pub destination: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subpath: String,
}

/// One container: its configuration as created and its state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// [`SCHEMA`] when written by this berthd.
    #[serde(default = "schema_one")]
    pub schema: u32,
    pub id: String,
    /// Without the leading `/`.
    pub name: String,
    pub created: DateTime<Utc>,
    /// The image's id (`sha256:…`).
    pub image_id: String,
    /// The image as the user named it (`Config.Image`).
    pub image_name: String,
    /// The process: `Path` and `Args` of inspect.
    pub path: String,
    pub args: Vec<String>,
    /// The merged configuration (image defaults under the user's values).
    pub config: ContainerConfig,
    /// The host configuration as created, but for what is typed below (its fields
    /// are empty here): [`Record::host_config_wire`] puts them back together.
    pub host_config: HostConfig,
    #[serde(default)]
    pub restart: RestartPolicy,
    #[serde(default)]
    pub network: NetworkMode,
    /// The networks it is connected to, its network mode's first (none in the
    /// `none`, `host` and `container:` modes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<NetworkAttachment>,
    /// `-v` binds.
    #[serde(default)]
    pub binds: Vec<Bind>,
    /// Its volumes, resolved at create.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<super::volumes::VolumeMount>,
    /// Its image mounts (`--mount type=image`), resolved at create.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_mounts: Vec<ImageMount>,
    /// The host binds of the containers of `--volumes-from`, resolved at create.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inherited_binds: Vec<Bind>,
    #[serde(default)]
    pub log: LogConfig,
    pub state: State,
}
/// A restart policy, read once from the wire's name and count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum RestartPolicy {
    #[default]
    No,
    Always,
    UnlessStopped,
    /// At most `max_retries` restarts (0: no limit).
    OnFailure { max_retries: i64 },
}

impl RestartPolicy {
    /// `""` and `"no"` are no policy; an unknown name (create refuses those) too.
    pub fn of(wire: &api::containers::RestartPolicy) -> RestartPolicy {
        match wire.name.as_str() {
            "always" => RestartPolicy::Always,
            "unless-stopped" => RestartPolicy::UnlessStopped,
            "on-failure" => RestartPolicy::OnFailure { max_retries: wire.maximum_retry_count },
            _ => RestartPolicy::No,
        }
    }

    /// The policy as the Engine API spells it.
    pub fn wire(self) -> api::containers::RestartPolicy {
        let (name, maximum_retry_count) = match self {
            RestartPolicy::No => ("no", 0),
            RestartPolicy::Always => ("always", 0),
            RestartPolicy::UnlessStopped => ("unless-stopped", 0),
            RestartPolicy::OnFailure { max_retries } => ("on-failure", max_retries),
        };
        api::containers::RestartPolicy { name: name.into(), maximum_retry_count }
    }

    /// Docker's rule after an exit: `always` and `unless-stopped` unless stopped by
    /// hand; `on-failure` after a non-zero exit while retries remain.
    pub fn restarts(self, state: &State) -> bool {
        match self {
            RestartPolicy::No => false,
            RestartPolicy::Always | RestartPolicy::UnlessStopped => !state.manually_stopped,
            RestartPolicy::OnFailure { max_retries } => {
                state.exit_code != 0
                    && !state.manually_stopped
                    && (max_retries == 0 || state.restart_count < max_retries)
            }
        }
    }

    /// Docker's rule at daemon start: `always` comes back even after a manual stop.
    pub fn restarts_at_daemon_start(self, state: &State) -> bool {
        self == RestartPolicy::Always || self.restarts(state)
    }
}


/// How the container is networked (`HostConfig.NetworkMode`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum NetworkMode {
    /// Its own network namespace with a loopback only.
    #[default]
    None,
    /// The host's network namespace.
    Host,
    Bridge,
    /// Another container's network namespace (`container:<name or id>`).
    Container(String),
    /// A user-defined network, by name.
    Named(String),
}

impl NetworkMode {
    pub fn is_host(&self) -> bool {
        *self == NetworkMode::Host
    }
}

impl From<String> for NetworkMode {
    fn from(s: String) -> NetworkMode {
        match s.as_str() {
            // Empty: none was named (records from before modes were typed).
            "none" | "" => NetworkMode::None,
            "host" => NetworkMode::Host,
            "bridge" => NetworkMode::Bridge,
            _ => match s.strip_prefix("container:") {
                Some(other) => NetworkMode::Container(other.to_string()),
                None => NetworkMode::Named(s),
            },
        }
    }
}

impl From<NetworkMode> for String {
    fn from(m: NetworkMode) -> String {
        match m {
            NetworkMode::None => "none".into(),
            NetworkMode::Host => "host".into(),
            NetworkMode::Bridge => "bridge".into(),
            NetworkMode::Container(other) => format!("container:{other}"),
            NetworkMode::Named(name) => name,
        }
    }
}

/// Where a container's output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogDriver {
    /// Docker's default: JSON lines in `<id>-json.log`.
    #[default]
    JsonFile,
    /// Nowhere (`logs` has nothing to show).
    None,
}

/// The container's logging, checked once at create.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LogConfig {
    pub driver: LogDriver,
    /// The options as given (inspect shows them).
    pub options: std::collections::BTreeMap<String, String>,
    /// `max-size`, in bytes.
    pub max_size: Option<u64>,
    /// `max-file`: the files kept once `max-size` rotates them.
    pub max_file: Option<u32>,
}

impl LogConfig {
    /// Docker's checks of `HostConfig.LogConfig`, with its words; an empty type is the
    /// default driver's.
    pub fn from_wire(wire: &api::hostconfig::LogConfig) -> Result<LogConfig, String> {
        let driver = match wire.r#type.as_str() {
            "" | "json-file" => LogDriver::JsonFile,
            "none" => LogDriver::None,
            // Docker's other drivers, named as a Docker user would: berth has not got them.
            other @ ("local" | "syslog" | "journald" | "gelf" | "fluentd" | "awslogs" | "splunk" | "etwlogs" | "gcplogs" | "logentries") => {
                return Err(format!("logging driver {other:?} is not supported; use json-file or none"));
            }
            // A name no engine knows: dockerd's words, which clients match.
            other => return Err(format!("logger: no log driver named '{other}' is registered")),
        };
        let mut log = LogConfig { driver, options: wire.config.clone().into_iter().collect(), ..LogConfig::default() };
        for (k, v) in &log.options {
            match k.as_str() {
                "max-size" => log.max_size = Some(super::logs::log_max_size(v)?),
                "max-file" => {
                    log.max_file = Some(
                        v.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| format!("invalid max-file {v:?}: must be a positive number"))?,
                    )
                }
                "labels" | "env" | "env-regex" | "tag" | "compress" | "mode" | "max-buffer-size" => {}
                other => return Err(format!("unknown log opt '{other}' for json-file log driver")),
            }
        }
        Ok(log)
    }

    /// As the Engine API spells it.
    pub fn wire(&self) -> api::hostconfig::LogConfig {
        let r#type = match self.driver {
            LogDriver::JsonFile => "json-file",
            LogDriver::None => "none",
        };
        api::hostconfig::LogConfig { r#type: r#type.into(), config: self.options.clone().into_iter().collect() }
    }
}

/// `HostConfig.Mounts`, checked as dockerd checks it at create: a bind's source
/// exists, a tmpfs has none, each destination is mounted once (with `-v` and
/// `--tmpfs` too).
fn check_mounts(hc: &HostConfig) -> Result<(), String> {
    let mut destinations: Vec<String> = Vec::new();
    for b in &hc.binds {
        destinations.extend(Bind::parse(b).ok().map(|b| b.destination));
    }
    destinations.extend(hc.tmpfs.keys().cloned());
    for m in &hc.mounts {
        match m.r#type.as_str() {
            "bind" => {
                let b = Bind::from_mount(m).map_err(|e| e.to_string())?;
                if !std::path::Path::new(&b.source).exists() {
                    return Err(format!("invalid mount config for type \"bind\": bind source path does not exist: {}", b.source));
                }
            }
            "tmpfs" => {
                if m.target.is_empty() {
                    return Err("invalid mount config for type \"tmpfs\": field Target must not be empty".into());
                }
                if !m.source.is_empty() {
                    return Err("invalid mount config for type \"tmpfs\": field Source must be empty".into());
                }
                if !m.target.starts_with('/') {
                    return Err(format!("invalid mount config for type \"tmpfs\": invalid mount path: '{}' mount path must be absolute", m.target));
                }
            }
            "volume" => {
                if m.target.is_empty() {
                    return Err("invalid mount config for type \"volume\": field Target must not be empty".into());
                }
            }
            "image" => {
                let bad = |why: &str| format!("invalid mount config for type \"image\": {why}");
                if m.source.is_empty() {
                    return Err(bad("field Source must not be empty"));
                }
                if !m.target.starts_with('/') {
                    return Err(bad(&format!("invalid mount path: '{}' mount path must be absolute", m.target)));
                }
                let sub = m.image_options.clone().unwrap_or_default().subpath;
                if !sub.is_empty() && !volume::subpath::is_local(&sub) {
                    return Err(bad("subpath must be a relative path within the volume"));
                }
            }
            "" => return Err("invalid mount config: mount type must not be empty".into()),
            other => return Err(format!("invalid mount config for type \"{other}\": mount type unknown")),
        }
        destinations.push(m.target.clone());
    }
    destinations.sort();
    if let Some(w) = destinations.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("Duplicate mount point: {}", w[0]));
    }
    Ok(())
}

/// A `tmpfs` mount's size and mode as mount options (`size=65536,mode=1770`).
fn tmpfs_options(m: &api::hostconfig::Mount) -> String {
    let o = m.tmpfs_options.clone().unwrap_or_default();
    let mut out = Vec::new();
    if o.size_bytes > 0 {
        out.push(format!("size={}", o.size_bytes));
    }
    if o.mode > 0 {
        out.push(format!("mode={:o}", o.mode));
    }
    out.join(",")
}

/// What the wire's host configuration holds that berth keeps typed.
pub struct Typed {
    pub restart: RestartPolicy,
    pub network: NetworkMode,
    pub binds: Vec<Bind>,
    pub log: LogConfig,
}

impl Typed {
    /// Reads the typed settings out of `hc`, checked, and leaves their wire fields
    /// empty. `HostConfig.Mounts` stays as given (inspect shows it so), checked.
    pub fn take(hc: &mut HostConfig) -> Result<Typed, String> {
        check_mounts(hc)?;
        let typed = Typed {
            restart: RestartPolicy::of(&hc.restart_policy),
            network: NetworkMode::from(std::mem::take(&mut hc.network_mode)),
            binds: hc.binds.iter().map(|b| Bind::parse(b).map_err(|e| e.to_string())).collect::<Result<_, _>>()?,
            log: LogConfig::from_wire(&hc.log_config)?,
        };
        hc.binds.clear();
        hc.restart_policy = Default::default();
        hc.log_config = Default::default();
        Ok(typed)
    }
}


fn schema_one() -> u32 {
    1
}

impl Record {
    /// Reads `dir/container.json`, migrated to this berthd's schema.
    pub fn load(dir: &Path) -> std::io::Result<Record> {
        let bytes = std::fs::read(dir.join(RECORD_FILE))?;
        Record::parse(&bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    /// A record's bytes, of any schema up to [`SCHEMA`], as this berthd's record.
    pub fn parse(bytes: &[u8]) -> Result<Record, String> {
        // Every schema so far parses straight into the record (what later schemas added
        // has a default), then is migrated in place: one pass over the bytes, a
        // thousand times at a daemon start.
        let mut r = match serde_json::from_slice::<Record>(bytes) {
            Ok(r) => r,
            Err(e) => {
                // A newer berthd's record may not parse at all: say so rather than why.
                let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
                let schema = value.get("schema").and_then(|s| s.as_u64()).unwrap_or(1);
                return Err(match schema > u64::from(SCHEMA) {
                    true => newer(schema),
                    false => e.to_string(),
                });
            }
        };
        if r.schema > SCHEMA {
            return Err(newer(u64::from(r.schema)));
        }
        // One step per schema, oldest first. 1 → 2: the record says its schema.
        if r.schema < 3 {
            // 2 → 3: the typed settings out of the wire's host configuration.
            let hc = std::mem::take(&mut r.host_config);
            r.set_host_config(hc)?;
        }
        if r.schema < 4 {
            // 3 → 4: the default bridge as a network connected to, its endpoint's
            // ports as the run's.
            if r.network == NetworkMode::Bridge && r.networks.is_empty() {
                r.networks.push(NetworkAttachment::to("bridge", ""));
            }
            if let Some(legacy) = r.state.legacy_endpoint.take() {
                r.state.endpoints = vec![legacy.endpoint];
                r.state.ports = legacy.ports;
            }
        }
        r.schema = SCHEMA;
        Ok(r)
    }

    /// A new host configuration, as the Engine API spells it: its typed settings
    /// checked and kept typed, the rest as given. Nothing changes on an error.
    pub fn set_host_config(&mut self, mut hc: HostConfig) -> Result<(), String> {
        let Typed { restart, network, binds, log } = Typed::take(&mut hc)?;
        (self.restart, self.network, self.binds, self.log, self.host_config) = (restart, network, binds, log, hc);
        Ok(())
    }

    /// What a run publishes: its `-p` bindings and, with `-P`, every exposed
    /// port that has none, on a free host port.
    pub fn wanted_ports(&self) -> Result<Vec<PublishedPort>, String> {
        let r = self;
        let mut ports = PublishedPort::from_bindings(&r.host_config.port_bindings)?;
        if r.host_config.publish_all_ports {
            let mut exposed: Vec<&String> = r.config.exposed_ports.keys().collect();
            exposed.sort();
            for (container_port, proto) in exposed.into_iter().filter_map(|k| port_key(k)) {
                if !ports.iter().any(|p| p.container_port == container_port && p.proto == proto) {
                    ports.push(PublishedPort { proto: proto.to_string(), container_port, host_ip: None, host_port: 0, host_port_last: 0 });
                }
            }
        }
        Ok(ports)
    }

    /// Every bind of a host path: the `-v` binds of one, then `HostConfig.Mounts` of
    /// type `bind` (volumes are in [`Record::volumes`]).
    pub fn all_binds(&self) -> Vec<Bind> {
        let mounts = self.host_config.mounts.iter().filter(|m| m.r#type == "bind").filter_map(|m| Bind::from_mount(m).ok());
        self.binds.iter().filter(|b| b.is_host_path()).cloned().chain(mounts).chain(self.inherited_binds.iter().cloned()).collect()
    }

    /// Every tmpfs mount, destination → options: `--tmpfs`, then `HostConfig.Mounts`
    /// of type `tmpfs` (their size and mode as mount options).
    pub fn all_tmpfs(&self) -> std::collections::BTreeMap<String, String> {
        let mut out = self.host_config.tmpfs.clone();
        for m in self.host_config.mounts.iter().filter(|m| m.r#type == "tmpfs") {
            out.insert(m.target.clone(), tmpfs_options(m));
        }
        out
    }

    /// The host configuration as the Engine API shows it: the typed settings put back.
    pub fn host_config_wire(&self) -> HostConfig {
        let mut hc = self.host_config.clone();
        hc.restart_policy = self.restart.wire();
        hc.network_mode = self.network.clone().into();
        hc.binds = self.binds.iter().map(Bind::spec).collect();
        hc.log_config = self.log.wire();
        hc
    }

    /// Writes `dir/container.json` atomically, and durably (fsync) unless the
    /// container is removed when it exits: after a crash such a container is removed
    /// anyway, so losing its last state change costs nothing.
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        let durability = if self.host_config.auto_remove {
            atomic_file::Durability::Volatile
        } else {
            atomic_file::Durability::Durable
        };
        atomic_file::write(&dir.join(RECORD_FILE), &bytes, durability)
    }

    /// The command line as `ps` shows it: arguments with a space in single quotes,
    /// as Docker prints them.
    pub fn command(&self) -> String {
        let mut out = self.path.clone();
        for a in &self.args {
            out.push(' ');
            if a.contains(' ') {
                out.push_str(&format!("'{a}'"));
            } else {
                out.push_str(a);
            }
        }
        out
    }
}

fn newer(schema: u64) -> String {
    format!("schema {schema} is newer than this berthd's ({SCHEMA}): written by a newer berthd")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let r = Record {
            schema: SCHEMA,
            id: "a".repeat(64),
            name: "web".into(),
            created: Utc::now(),
            image_id: "sha256:00".into(),
            image_name: "busybox".into(),
            path: "sh".into(),
            args: vec!["-c".into(), "true".into()],
            config: ContainerConfig::default(),
            host_config: HostConfig::default(),
            restart: RestartPolicy::OnFailure { max_retries: 2 },
            network: NetworkMode::Named("backend".into()),
            networks: vec![NetworkAttachment {
                network: "backend".into(),
                network_id: "b".repeat(64),
                aliases: vec!["db".into()],
                ipv4: Some(std::net::Ipv4Addr::new(10, 1, 0, 9)),
                ipv6: Some("fd00:1::9".parse().unwrap()),
                mac: Some("02:42:0a:01:00:09".parse().unwrap()),
            }],
            binds: vec![Bind::parse("/srv:/srv:ro").unwrap()],
            volumes: vec![],
            image_mounts: vec![],
            inherited_binds: vec![],
            log: LogConfig { driver: LogDriver::JsonFile, max_size: Some(1000), ..LogConfig::default() },
            state: State {
                status: Status::Running,
                exit_code: 3,
                endpoints: vec![Endpoint {
                    network: "backend".into(),
                    network_id: "b".repeat(64),
                    endpoint_id: "e".repeat(64),
                    slot: 0,
                    ip: std::net::Ipv4Addr::new(10, 1, 0, 9),
                    prefix: 24,
                    gateway: std::net::Ipv4Addr::new(10, 1, 0, 1),
                    mac: "02:42:0a:01:00:09".into(),
                    ipv6: Some(crate::networks::endpoint::Ipv6Endpoint {
                        ip: "fd00:1::9".parse().unwrap(),
                        prefix: 64,
                        gateway: "fd00:1::1".parse().unwrap(),
                    }),
                }],
                ports: vec![PublishedPort { proto: "tcp".into(), container_port: 80, host_ip: None, host_port: 8080, host_port_last: 0 }],
                ..State::default()
            },
        };
        r.save(dir.path()).unwrap();
        assert_eq!(Record::load(dir.path()).unwrap(), r);
        assert_eq!(r.command(), "sh -c true");
        let spaced = Record { args: vec!["-c".into(), "echo x; y".into()], ..r.clone() };
        assert_eq!(spaced.command(), "sh -c 'echo x; y'");
        // Only the record is left: the temp file was renamed.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// A record written by berthd before records were versioned (a container created
    /// with -e, -l, -v, --restart, --health-cmd, -m and a log option) reads as today's.
    #[test]
    fn a_record_of_schema_one_is_migrated() {
        let r = Record::parse(include_bytes!("testdata/record-v1.json")).unwrap();
        assert_eq!(r.schema, SCHEMA);
        assert_eq!((r.name.as_str(), r.path.as_str(), r.args.as_slice()), ("web", "sh", &["-c".to_string(), "echo hi".to_string()][..]));
        assert!(r.config.env.contains(&"A=1".to_string()));
        assert_eq!(r.config.labels.get("tier").map(String::as_str), Some("front"));
        assert_eq!(r.binds, [Bind::parse("/tmp:/data:ro").unwrap()]);
        assert_eq!(r.restart, RestartPolicy::OnFailure { max_retries: 3 });
        assert_eq!(r.network, NetworkMode::None);
        assert_eq!((r.log.driver, r.log.max_size), (LogDriver::JsonFile, Some(10_000_000)));
        assert_eq!(r.host_config.resources.memory, 64 << 20);
        assert_eq!(r.state.status, Status::Created);
        // Inspect's wire form is what the user gave.
        let wire = r.host_config_wire();
        assert_eq!(wire.binds, ["/tmp:/data:ro"]);
        assert_eq!((wire.restart_policy.name.as_str(), wire.restart_policy.maximum_retry_count), ("on-failure", 3));
        assert_eq!(wire.log_config.config.get("max-size").map(String::as_str), Some("10m"));
        assert_eq!(wire.network_mode, "none");
        // Written back with its schema, and read again the same.
        let dir = tempfile::tempdir().unwrap();
        r.save(dir.path()).unwrap();
        let text = std::fs::read_to_string(dir.path().join(RECORD_FILE)).unwrap();
        assert!(text.contains(&format!("\"schema\":{SCHEMA}")), "{text}");
        assert_eq!(Record::load(dir.path()).unwrap(), r);
    }

    /// A record of schema 2 (the wire's host configuration held every setting) gets
    /// its settings typed.
    #[test]
    fn a_record_of_schema_two_is_migrated() {
        let r = Record::parse(include_bytes!("testdata/record-v2.json")).unwrap();
        assert_eq!((r.schema, r.name.as_str()), (SCHEMA, "api"));
        assert_eq!(r.network, NetworkMode::Host);
        assert_eq!(r.restart, RestartPolicy::UnlessStopped);
        assert_eq!(r.log.driver, LogDriver::None);
        let binds: Vec<_> = r.binds.iter().map(|b| (b.source.as_str(), b.destination.as_str(), b.read_only, b.propagation)).collect();
        assert_eq!(binds, [("/srv", "/srv", false, api::binds::Propagation::RSlave), ("", "/cache", false, api::binds::Propagation::RPrivate)]);
        // Their wire fields are empty in the record, and whole again for inspect.
        assert!(r.host_config.binds.is_empty() && r.host_config.network_mode.is_empty());
        let wire = r.host_config_wire();
        assert_eq!(wire.binds, ["/srv:/srv:rw,rslave", "/cache"]);
        assert_eq!((wire.network_mode.as_str(), wire.log_config.r#type.as_str(), wire.restart_policy.name.as_str()), ("host", "none", "unless-stopped"));
    }

    /// A record of schema 3 (one endpoint, the default bridge's, with the run's ports)
    /// is connected to the default bridge, its endpoint and ports kept apart.
    #[test]
    fn a_record_of_schema_three_is_migrated() {
        let r = Record::parse(include_bytes!("testdata/record-v3.json")).unwrap();
        assert_eq!((r.schema, r.state.status, r.restart), (SCHEMA, Status::Running, RestartPolicy::Always));
        assert_eq!(r.networks, [NetworkAttachment::to("bridge", "")]);
        let ep = &r.state.endpoints[..];
        assert_eq!(ep.len(), 1);
        assert_eq!((ep[0].network.as_str(), ep[0].ip, ep[0].prefix), ("bridge", std::net::Ipv4Addr::new(172, 17, 0, 2), 16));
        assert_eq!(r.state.ports, [PublishedPort { proto: "tcp".into(), container_port: 80, host_ip: None, host_port: 8080, host_port_last: 0 }]);
        // Written back without the old field.
        let text = String::from_utf8(serde_json::to_vec(&r).unwrap()).unwrap();
        assert!(!text.contains("\"endpoint\"") && text.contains("\"endpoints\""), "{text}");
        assert_eq!(Record::parse(text.as_bytes()).unwrap(), r);
    }

    #[test]
    fn network_modes_read_and_spell_as_the_engine_api() {
        for (wire, mode) in [
            ("none", NetworkMode::None),
            ("host", NetworkMode::Host),
            ("bridge", NetworkMode::Bridge),
            ("container:db", NetworkMode::Container("db".into())),
            ("backend", NetworkMode::Named("backend".into())),
        ] {
            assert_eq!(NetworkMode::from(wire.to_string()), mode);
            assert_eq!(String::from(mode), wire);
        }
    }

    #[test]
    fn log_configs_are_checked_with_dockers_words() {
        let wire = |t: &str, opts: &[(&str, &str)]| api::hostconfig::LogConfig {
            r#type: t.into(),
            config: opts.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        };
        let l = LogConfig::from_wire(&wire("", &[("max-size", "1k"), ("max-file", "3")])).unwrap();
        assert_eq!((l.driver, l.max_size, l.max_file), (LogDriver::JsonFile, Some(1000), Some(3)));
        assert_eq!(l.wire().r#type, "json-file");
        assert!(LogConfig::from_wire(&wire("syslog", &[])).unwrap_err().contains("not supported"));
        assert!(LogConfig::from_wire(&wire("json-file", &[("max-file", "0")])).unwrap_err().contains("positive"));
        assert_eq!(LogConfig::from_wire(&wire("json-file", &[("color", "red")])).unwrap_err(), "unknown log opt 'color' for json-file log driver");
        assert_eq!(LogConfig::from_wire(&wire("asdf", &[])).unwrap_err(), "logger: no log driver named 'asdf' is registered");
        assert!(LogConfig::from_wire(&wire("syslog", &[])).unwrap_err().contains("not supported"));
    }

    #[test]
    fn a_record_of_a_newer_schema_is_refused() {
        let mut v: serde_json::Value = serde_json::from_slice(include_bytes!("testdata/record-v1.json")).unwrap();
        v["schema"] = serde_json::json!(SCHEMA + 1);
        let e = Record::parse(v.to_string().as_bytes()).unwrap_err();
        assert!(e.contains("newer berthd"), "{e}");
    }
}
