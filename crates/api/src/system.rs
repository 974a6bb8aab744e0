//! System endpoints' bodies: `GET /version`, `GET /info` (every field `docker
//! info`, docker-py and compose read), `GET /system/df`, and `POST /auth`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::containers::ContainerSummary;
use crate::de::{is_false, null_default};
use crate::images::ImageSummary;
use crate::volumes::Volume;

/// `Platform` of a version reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PlatformInfo {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
}

/// One `Components` entry of a version reply (`Engine`, `runc` …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ComponentVersion {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<BTreeMap<String, String>>,
}

/// `GET /version` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct SystemVersion {
    #[serde(deserialize_with = "null_default")]
    pub platform: PlatformInfo,
    #[serde(deserialize_with = "null_default")]
    pub components: Vec<ComponentVersion>,
    #[serde(deserialize_with = "null_default")]
    pub version: String,
    #[serde(deserialize_with = "null_default")]
    pub api_version: String,
    #[serde(rename = "MinAPIVersion", deserialize_with = "null_default")]
    pub min_api_version: String,
    #[serde(deserialize_with = "null_default")]
    pub git_commit: String,
    #[serde(deserialize_with = "null_default")]
    pub go_version: String,
    #[serde(deserialize_with = "null_default")]
    pub os: String,
    #[serde(deserialize_with = "null_default")]
    pub arch: String,
    #[serde(deserialize_with = "null_default")]
    pub kernel_version: String,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_false")]
    pub experimental: bool,
    #[serde(deserialize_with = "null_default")]
    pub build_time: String,
}

/// `Plugins` of an info reply: plugin names by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PluginsInfo {
    #[serde(deserialize_with = "null_default")]
    pub volume: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub network: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub authorization: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub log: Vec<String>,
}

/// A registry in `RegistryConfig.IndexConfigs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct IndexInfo {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub mirrors: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub secure: bool,
    #[serde(deserialize_with = "null_default")]
    pub official: bool,
}

/// `RegistryConfig` of an info reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct RegistryServiceConfig {
    #[serde(rename = "InsecureRegistryCIDRs", deserialize_with = "null_default")]
    pub insecure_registry_cidrs: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub index_configs: BTreeMap<String, IndexInfo>,
    #[serde(deserialize_with = "null_default")]
    pub mirrors: Vec<String>,
}

/// A `Runtimes` entry (lower-case keys, as Docker writes them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RuntimeInfo {
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub path: String,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "Vec::is_empty")]
    pub runtime_args: Vec<String>,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "BTreeMap::is_empty")]
    pub status: BTreeMap<String, String>,
}

/// A swarm manager address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct PeerNode {
    #[serde(rename = "NodeID", deserialize_with = "null_default")]
    pub node_id: String,
    #[serde(deserialize_with = "null_default")]
    pub addr: String,
}

/// `Swarm` of an info reply; berth is never in a swarm (`inactive`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct SwarmInfo {
    #[serde(rename = "NodeID", deserialize_with = "null_default")]
    pub node_id: String,
    #[serde(deserialize_with = "null_default")]
    pub node_addr: String,
    /// `inactive`, `pending`, `active`, `error` or `locked`.
    #[serde(deserialize_with = "null_default")]
    pub local_node_state: String,
    #[serde(deserialize_with = "null_default")]
    pub control_available: bool,
    #[serde(deserialize_with = "null_default")]
    pub error: String,
    pub remote_managers: Option<Vec<PeerNode>>,
}

impl Default for SwarmInfo {
    fn default() -> Self {
        SwarmInfo {
            node_id: String::new(),
            node_addr: String::new(),
            local_node_state: "inactive".to_string(),
            control_available: false,
            error: String::new(),
            remote_managers: None,
        }
    }
}

/// A component commit (`ContainerdCommit`, `RuncCommit`, `InitCommit`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct Commit {
    #[serde(rename = "ID", deserialize_with = "null_default")]
    pub id: String,
    /// Pre-1.49 field: the commit the daemon was built against.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub expected: String,
}

/// A `DefaultAddressPools` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct NetworkAddressPool {
    #[serde(deserialize_with = "null_default")]
    pub base: String,
    #[serde(deserialize_with = "null_default")]
    pub size: i64,
}

/// `GET /info` reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct SystemInfo {
    #[serde(rename = "ID", deserialize_with = "null_default")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub containers: i64,
    #[serde(deserialize_with = "null_default")]
    pub containers_running: i64,
    #[serde(deserialize_with = "null_default")]
    pub containers_paused: i64,
    #[serde(deserialize_with = "null_default")]
    pub containers_stopped: i64,
    #[serde(deserialize_with = "null_default")]
    pub images: i64,
    /// Storage driver, e.g. `overlay2`.
    #[serde(deserialize_with = "null_default")]
    pub driver: String,
    /// `[name, value]` pairs.
    #[serde(deserialize_with = "null_default")]
    pub driver_status: Vec<[String; 2]>,
    #[serde(deserialize_with = "null_default")]
    pub docker_root_dir: String,
    #[serde(deserialize_with = "null_default")]
    pub plugins: PluginsInfo,
    #[serde(deserialize_with = "null_default")]
    pub memory_limit: bool,
    #[serde(deserialize_with = "null_default")]
    pub swap_limit: bool,
    #[serde(deserialize_with = "null_default")]
    pub cpu_cfs_period: bool,
    #[serde(deserialize_with = "null_default")]
    pub cpu_cfs_quota: bool,
    #[serde(rename = "CPUShares", deserialize_with = "null_default")]
    pub cpu_shares: bool,
    #[serde(rename = "CPUSet", deserialize_with = "null_default")]
    pub cpu_set: bool,
    #[serde(deserialize_with = "null_default")]
    pub pids_limit: bool,
    #[serde(deserialize_with = "null_default")]
    pub oom_kill_disable: bool,
    #[serde(rename = "IPv4Forwarding", deserialize_with = "null_default")]
    pub ipv4_forwarding: bool,
    /// Whether bridged traffic passes the host's iptables (`br_netfilter`'s
    /// `bridge-nf-call-iptables`); berth's rules do not need it.
    #[serde(deserialize_with = "null_default")]
    pub bridge_nf_iptables: bool,
    #[serde(rename = "BridgeNfIp6tables", deserialize_with = "null_default")]
    pub bridge_nf_ip6tables: bool,
    #[serde(deserialize_with = "null_default")]
    pub debug: bool,
    /// Open file descriptors of the daemon.
    #[serde(rename = "NFd", deserialize_with = "null_default")]
    pub n_fd: i64,
    /// Docker reports goroutines; berth reports its task count here.
    #[serde(rename = "NGoroutines", deserialize_with = "null_default")]
    pub n_goroutines: i64,
    /// RFC 3339 with nanoseconds.
    #[serde(deserialize_with = "null_default")]
    pub system_time: String,
    #[serde(deserialize_with = "null_default")]
    pub logging_driver: String,
    /// `cgroupfs` or `systemd`.
    #[serde(deserialize_with = "null_default")]
    pub cgroup_driver: String,
    /// `1` or `2`.
    #[serde(deserialize_with = "null_default")]
    pub cgroup_version: String,
    #[serde(rename = "NEventsListener", deserialize_with = "null_default")]
    pub n_events_listener: i64,
    #[serde(deserialize_with = "null_default")]
    pub kernel_version: String,
    #[serde(deserialize_with = "null_default")]
    pub operating_system: String,
    #[serde(rename = "OSVersion", deserialize_with = "null_default")]
    pub os_version: String,
    /// `linux`.
    #[serde(rename = "OSType", deserialize_with = "null_default")]
    pub os_type: String,
    /// `x86_64`, `aarch64` (uname form).
    #[serde(deserialize_with = "null_default")]
    pub architecture: String,
    #[serde(rename = "NCPU", deserialize_with = "null_default")]
    pub ncpu: i64,
    /// Bytes.
    #[serde(deserialize_with = "null_default")]
    pub mem_total: i64,
    #[serde(deserialize_with = "null_default")]
    pub index_server_address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_config: Option<RegistryServiceConfig>,
    pub generic_resources: Option<Vec<serde_json::Value>>,
    #[serde(deserialize_with = "null_default")]
    pub http_proxy: String,
    #[serde(deserialize_with = "null_default")]
    pub https_proxy: String,
    #[serde(deserialize_with = "null_default")]
    pub no_proxy: String,
    /// Host name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub labels: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub experimental_build: bool,
    #[serde(deserialize_with = "null_default")]
    pub server_version: String,
    #[serde(deserialize_with = "null_default")]
    pub runtimes: BTreeMap<String, RuntimeInfo>,
    #[serde(deserialize_with = "null_default")]
    pub default_runtime: String,
    #[serde(deserialize_with = "null_default")]
    pub swarm: SwarmInfo,
    #[serde(deserialize_with = "null_default")]
    pub live_restore_enabled: bool,
    /// `default` on Linux.
    #[serde(deserialize_with = "null_default")]
    pub isolation: String,
    #[serde(deserialize_with = "null_default")]
    pub init_binary: String,
    #[serde(deserialize_with = "null_default")]
    pub containerd_commit: Commit,
    #[serde(deserialize_with = "null_default")]
    pub runc_commit: Commit,
    #[serde(deserialize_with = "null_default")]
    pub init_commit: Commit,
    /// `name=seccomp,profile=default`, `name=cgroupns` …
    #[serde(deserialize_with = "null_default")]
    pub security_options: Vec<String>,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub product_license: String,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "Vec::is_empty")]
    pub default_address_pools: Vec<NetworkAddressPool>,
    #[serde(rename = "CDISpecDirs", deserialize_with = "null_default")]
    pub cdi_spec_dirs: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub warnings: Vec<String>,
}

/// A build cache record in `system df`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct BuildCache {
    #[serde(rename = "ID", deserialize_with = "null_default")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub parents: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub r#type: String,
    #[serde(deserialize_with = "null_default")]
    pub description: String,
    #[serde(deserialize_with = "null_default")]
    pub in_use: bool,
    #[serde(deserialize_with = "null_default")]
    pub shared: bool,
    #[serde(deserialize_with = "null_default")]
    pub size: i64,
    #[serde(deserialize_with = "null_default")]
    pub created_at: String,
    pub last_used_at: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub usage_count: i64,
}

/// `GET /system/df` reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct SystemDf {
    #[serde(deserialize_with = "null_default")]
    pub layers_size: i64,
    #[serde(deserialize_with = "null_default")]
    pub images: Vec<ImageSummary>,
    #[serde(deserialize_with = "null_default")]
    pub containers: Vec<ContainerSummary>,
    #[serde(deserialize_with = "null_default")]
    pub volumes: Vec<Volume>,
    #[serde(deserialize_with = "null_default")]
    pub build_cache: Vec<BuildCache>,
}

/// `POST /build/prune` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct BuildCachePruneResponse {
    #[serde(deserialize_with = "null_default")]
    pub caches_deleted: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub space_reclaimed: u64,
}

/// Registry credentials: the `POST /auth` body and, base64url-encoded, the
/// `X-Registry-Auth` header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct AuthConfig {
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// base64 of `username:password`.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub auth: String,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub email: String,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub serveraddress: String,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub identitytoken: String,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub registrytoken: String,
}

/// `POST /auth` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct AuthResponse {
    #[serde(deserialize_with = "null_default")]
    pub status: String,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub identity_token: String,
}
