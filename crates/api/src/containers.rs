//! Container endpoints' bodies: the create body (`Config` + `HostConfig` +
//! `NetworkingConfig`), list summaries (`ps`), inspect, wait, top, diff, update
//! and prune replies. `HostConfig` lives in [`crate::hostconfig`], stats in
//! [`crate::stats`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::EmptyObject;
use crate::de::{is_false, map_null_values, null_default, str_slice};
pub use crate::hostconfig::{
    EndpointSettings, HostConfig, NetworkingConfig, PortBinding, PortMap, Resources, RestartPolicy,
};

/// A container's (and an image's) portable configuration: `Config` in Docker.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(deserialize_with = "null_default")]
    pub hostname: String,
    #[serde(deserialize_with = "null_default")]
    pub domainname: String,
    #[serde(deserialize_with = "null_default")]
    pub user: String,
    #[serde(deserialize_with = "null_default")]
    pub attach_stdin: bool,
    #[serde(deserialize_with = "null_default")]
    pub attach_stdout: bool,
    #[serde(deserialize_with = "null_default")]
    pub attach_stderr: bool,
    /// `"80/tcp"` → `{}`.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "BTreeMap::is_empty")]
    pub exposed_ports: BTreeMap<String, EmptyObject>,
    #[serde(deserialize_with = "null_default")]
    pub tty: bool,
    #[serde(deserialize_with = "null_default")]
    pub open_stdin: bool,
    #[serde(deserialize_with = "null_default")]
    pub stdin_once: bool,
    /// `KEY=value` entries.
    #[serde(deserialize_with = "null_default")]
    pub env: Vec<String>,
    /// `None` = the image's default; a bare string is read as one element.
    #[serde(deserialize_with = "str_slice")]
    pub cmd: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_false")]
    pub args_escaped: bool,
    #[serde(deserialize_with = "null_default")]
    pub image: String,
    /// Anonymous volume mount points → `{}`.
    #[serde(deserialize_with = "null_default")]
    pub volumes: BTreeMap<String, EmptyObject>,
    #[serde(deserialize_with = "null_default")]
    pub working_dir: String,
    /// `None` = the image's default; `[""]` resets it.
    #[serde(deserialize_with = "str_slice")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_false")]
    pub network_disabled: bool,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub mac_address: String,
    #[serde(deserialize_with = "null_default")]
    pub on_build: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub stop_signal: String,
    /// Seconds to wait after the stop signal before SIGKILL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    #[serde(deserialize_with = "str_slice", skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
}

/// A container's healthcheck; durations in nanoseconds, 0 = inherit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct HealthConfig {
    /// `[]` inherit, `["NONE"]`, `["CMD", args…]` or `["CMD-SHELL", cmd]`.
    #[serde(deserialize_with = "null_default")]
    pub test: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub interval: i64,
    #[serde(deserialize_with = "null_default")]
    pub timeout: i64,
    #[serde(deserialize_with = "null_default")]
    pub retries: i64,
    #[serde(deserialize_with = "null_default")]
    pub start_period: i64,
    #[serde(deserialize_with = "null_default")]
    pub start_interval: i64,
}

/// `POST /containers/create` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerCreateBody {
    #[serde(flatten)]
    pub config: ContainerConfig,
    #[serde(deserialize_with = "null_default")]
    pub host_config: HostConfig,
    #[serde(deserialize_with = "null_default")]
    pub networking_config: NetworkingConfig,
}

/// `POST /containers/create` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerCreateResponse {
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub warnings: Vec<String>,
}

/// A port in a `ps` summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct Port {
    #[serde(rename = "IP", skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub private_port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_port: Option<u16>,
    /// `tcp`, `udp` or `sctp`.
    #[serde(deserialize_with = "null_default")]
    pub r#type: String,
}

/// A mount as reported by inspect and `ps`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct MountPoint {
    #[serde(deserialize_with = "null_default")]
    pub r#type: String,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub source: String,
    #[serde(deserialize_with = "null_default")]
    pub destination: String,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub driver: String,
    #[serde(deserialize_with = "null_default")]
    pub mode: String,
    #[serde(rename = "RW", deserialize_with = "null_default")]
    pub rw: bool,
    #[serde(deserialize_with = "null_default")]
    pub propagation: String,
}

/// `HostConfig` as shown in a `ps` summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct SummaryHostConfig {
    #[serde(deserialize_with = "null_default")]
    pub network_mode: String,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// `NetworkSettings` as shown in a `ps` summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct SummaryNetworkSettings {
    #[serde(deserialize_with = "map_null_values")]
    pub networks: BTreeMap<String, EndpointSettings>,
}

/// One `GET /containers/json` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerSummary {
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// Names with a leading `/`.
    #[serde(deserialize_with = "null_default")]
    pub names: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub image: String,
    #[serde(rename = "ImageID", deserialize_with = "null_default")]
    pub image_id: String,
    #[serde(deserialize_with = "null_default")]
    pub command: String,
    /// Unix seconds.
    #[serde(deserialize_with = "null_default")]
    pub created: i64,
    #[serde(deserialize_with = "null_default")]
    pub ports: Vec<Port>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_rw: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_root_fs: Option<i64>,
    #[serde(deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited`, `dead`.
    #[serde(deserialize_with = "null_default")]
    pub state: String,
    /// Human text: `Up 2 minutes`, `Exited (0) 3 seconds ago`.
    #[serde(deserialize_with = "null_default")]
    pub status: String,
    #[serde(deserialize_with = "null_default")]
    pub host_config: SummaryHostConfig,
    #[serde(deserialize_with = "null_default")]
    pub network_settings: SummaryNetworkSettings,
    #[serde(deserialize_with = "null_default")]
    pub mounts: Vec<MountPoint>,
}

/// One healthcheck probe result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct HealthcheckResult {
    #[serde(deserialize_with = "null_default")]
    pub start: String,
    #[serde(deserialize_with = "null_default")]
    pub end: String,
    #[serde(deserialize_with = "null_default")]
    pub exit_code: i64,
    #[serde(deserialize_with = "null_default")]
    pub output: String,
}

/// `State.Health`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct Health {
    /// `none`, `starting`, `healthy` or `unhealthy`.
    #[serde(deserialize_with = "null_default")]
    pub status: String,
    #[serde(deserialize_with = "null_default")]
    pub failing_streak: i64,
    #[serde(deserialize_with = "null_default")]
    pub log: Vec<HealthcheckResult>,
}

/// `State` of an inspected container; times are RFC 3339 strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerState {
    #[serde(deserialize_with = "null_default")]
    pub status: String,
    #[serde(deserialize_with = "null_default")]
    pub running: bool,
    #[serde(deserialize_with = "null_default")]
    pub paused: bool,
    #[serde(deserialize_with = "null_default")]
    pub restarting: bool,
    #[serde(rename = "OOMKilled", deserialize_with = "null_default")]
    pub oom_killed: bool,
    #[serde(deserialize_with = "null_default")]
    pub dead: bool,
    #[serde(deserialize_with = "null_default")]
    pub pid: i64,
    #[serde(deserialize_with = "null_default")]
    pub exit_code: i64,
    #[serde(deserialize_with = "null_default")]
    pub error: String,
    #[serde(deserialize_with = "null_default")]
    pub started_at: String,
    #[serde(deserialize_with = "null_default")]
    pub finished_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
}

/// Storage driver data of a container or image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct GraphDriverData {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub data: BTreeMap<String, String>,
}

/// An extra address in the legacy top-level network fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct Address {
    #[serde(deserialize_with = "null_default")]
    pub addr: String,
    #[serde(deserialize_with = "null_default")]
    pub prefix_len: i64,
}

/// `NetworkSettings` of an inspected container (the top-level address fields
/// mirror the default bridge endpoint, as Docker still emits them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct NetworkSettings {
    #[serde(deserialize_with = "null_default")]
    pub bridge: String,
    #[serde(rename = "SandboxID", deserialize_with = "null_default")]
    pub sandbox_id: String,
    #[serde(deserialize_with = "null_default")]
    pub sandbox_key: String,
    #[serde(deserialize_with = "null_default")]
    pub ports: PortMap,
    #[serde(deserialize_with = "null_default")]
    pub hairpin_mode: bool,
    #[serde(rename = "LinkLocalIPv6Address", deserialize_with = "null_default")]
    pub link_local_ipv6_address: String,
    #[serde(rename = "LinkLocalIPv6PrefixLen", deserialize_with = "null_default")]
    pub link_local_ipv6_prefix_len: i64,
    #[serde(rename = "SecondaryIPAddresses")]
    pub secondary_ip_addresses: Option<Vec<Address>>,
    #[serde(rename = "SecondaryIPv6Addresses")]
    pub secondary_ipv6_addresses: Option<Vec<Address>>,
    #[serde(rename = "EndpointID", deserialize_with = "null_default")]
    pub endpoint_id: String,
    #[serde(deserialize_with = "null_default")]
    pub gateway: String,
    #[serde(rename = "GlobalIPv6Address", deserialize_with = "null_default")]
    pub global_ipv6_address: String,
    #[serde(rename = "GlobalIPv6PrefixLen", deserialize_with = "null_default")]
    pub global_ipv6_prefix_len: i64,
    #[serde(rename = "IPAddress", deserialize_with = "null_default")]
    pub ip_address: String,
    #[serde(rename = "IPPrefixLen", deserialize_with = "null_default")]
    pub ip_prefix_len: i64,
    #[serde(rename = "IPv6Gateway", deserialize_with = "null_default")]
    pub ipv6_gateway: String,
    #[serde(deserialize_with = "null_default")]
    pub mac_address: String,
    #[serde(deserialize_with = "map_null_values")]
    pub networks: BTreeMap<String, EndpointSettings>,
}

/// `GET /containers/{id}/json` reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerInspect {
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// RFC 3339.
    #[serde(deserialize_with = "null_default")]
    pub created: String,
    #[serde(deserialize_with = "null_default")]
    pub path: String,
    #[serde(deserialize_with = "null_default")]
    pub args: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub state: ContainerState,
    /// The image ID (`sha256:…`).
    #[serde(deserialize_with = "null_default")]
    pub image: String,
    #[serde(deserialize_with = "null_default")]
    pub resolv_conf_path: String,
    #[serde(deserialize_with = "null_default")]
    pub hostname_path: String,
    #[serde(deserialize_with = "null_default")]
    pub hosts_path: String,
    #[serde(deserialize_with = "null_default")]
    pub log_path: String,
    /// With a leading `/`.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub restart_count: i64,
    #[serde(deserialize_with = "null_default")]
    pub driver: String,
    #[serde(deserialize_with = "null_default")]
    pub platform: String,
    #[serde(deserialize_with = "null_default")]
    pub mount_label: String,
    #[serde(deserialize_with = "null_default")]
    pub process_label: String,
    #[serde(deserialize_with = "null_default")]
    pub app_armor_profile: String,
    #[serde(rename = "ExecIDs")]
    pub exec_ids: Option<Vec<String>>,
    #[serde(deserialize_with = "null_default")]
    pub host_config: HostConfig,
    #[serde(deserialize_with = "null_default")]
    pub graph_driver: GraphDriverData,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_rw: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_root_fs: Option<i64>,
    #[serde(deserialize_with = "null_default")]
    pub mounts: Vec<MountPoint>,
    #[serde(deserialize_with = "null_default")]
    pub config: ContainerConfig,
    #[serde(deserialize_with = "null_default")]
    pub network_settings: NetworkSettings,
}

/// `Error` of a wait reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct WaitExitError {
    #[serde(deserialize_with = "null_default")]
    pub message: String,
}

/// `POST /containers/{id}/wait` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerWaitResponse {
    #[serde(deserialize_with = "null_default")]
    pub status_code: i64,
    /// `null` when the run ended without an error, as dockerd writes it.
    pub error: Option<WaitExitError>,
}

/// `GET /containers/{id}/top` reply: `ps` columns and rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerTopResponse {
    #[serde(deserialize_with = "null_default")]
    pub titles: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub processes: Vec<Vec<String>>,
}

/// A path in a container as the archive endpoints describe it, in the
/// `X-Docker-Container-Path-Stat` header (base64 of this JSON). `mode` is Go's
/// `os.FileMode`: the permission bits with type bits of its own ([`PathStat::go_mode`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PathStat {
    pub name: String,
    pub size: i64,
    pub mode: u32,
    /// RFC 3339 with nanoseconds.
    pub mtime: String,
    /// A symlink's target, fully resolved inside the container; empty otherwise.
    pub link_target: String,
}

impl PathStat {
    pub const HEADER: &str = "X-Docker-Container-Path-Stat";
    pub const MODE_DIR: u32 = 1 << 31;
    pub const MODE_SYMLINK: u32 = 1 << 27;
    pub const MODE_DEVICE: u32 = 1 << 26;
    pub const MODE_NAMED_PIPE: u32 = 1 << 25;
    pub const MODE_SOCKET: u32 = 1 << 24;
    pub const MODE_SETUID: u32 = 1 << 23;
    pub const MODE_SETGID: u32 = 1 << 22;
    pub const MODE_CHAR_DEVICE: u32 = 1 << 21;
    pub const MODE_STICKY: u32 = 1 << 20;

    /// Go's `os.FileMode` of a unix `st_mode`.
    pub fn go_mode(st_mode: u32) -> u32 {
        let kind = match st_mode & 0o170000 {
            0o040000 => Self::MODE_DIR,
            0o120000 => Self::MODE_SYMLINK,
            0o060000 => Self::MODE_DEVICE,
            0o020000 => Self::MODE_DEVICE | Self::MODE_CHAR_DEVICE,
            0o010000 => Self::MODE_NAMED_PIPE,
            0o140000 => Self::MODE_SOCKET,
            _ => 0,
        };
        let special = [(0o4000, Self::MODE_SETUID), (0o2000, Self::MODE_SETGID), (0o1000, Self::MODE_STICKY)]
            .iter()
            .filter(|(bit, _)| st_mode & bit != 0)
            .fold(0, |m, (_, go)| m | go);
        kind | special | (st_mode & 0o777)
    }

    pub fn is_dir(&self) -> bool {
        self.mode & Self::MODE_DIR != 0
    }

    pub fn is_symlink(&self) -> bool {
        self.mode & Self::MODE_SYMLINK != 0
    }

    /// The header's value.
    pub fn encode(&self) -> String {
        use base64::Engine;
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::STANDARD.encode(json)
    }

    /// Reads the header's value.
    pub fn decode(value: &str) -> Option<PathStat> {
        use base64::Engine;
        let json = base64::engine::general_purpose::STANDARD.decode(value.trim()).ok()?;
        serde_json::from_slice(&json).ok()
    }
}

/// One `GET /containers/{id}/changes` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerChange {
    #[serde(deserialize_with = "null_default")]
    pub path: String,
    /// [`ContainerChange::MODIFIED`], [`ADDED`](ContainerChange::ADDED) or
    /// [`DELETED`](ContainerChange::DELETED).
    #[serde(deserialize_with = "null_default")]
    pub kind: u8,
}

impl ContainerChange {
    pub const MODIFIED: u8 = 0;
    pub const ADDED: u8 = 1;
    pub const DELETED: u8 = 2;
}

/// `POST /containers/{id}/update` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerUpdateBody {
    #[serde(flatten)]
    pub resources: Resources,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
}

/// `POST /containers/{id}/update` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerUpdateResponse {
    #[serde(deserialize_with = "null_default")]
    pub warnings: Vec<String>,
}

/// `POST /containers/prune` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct ContainerPruneResponse {
    #[serde(deserialize_with = "null_default")]
    pub containers_deleted: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub space_reclaimed: u64,
}
