//! `HostConfig`: the host-dependent half of a container's configuration (binds,
//! ports, restart policy, namespaces modes, capabilities …) and its flattened
//! `Resources` block (cgroup limits, devices, ulimits), plus the small types they
//! use. Sent in create bodies and returned by inspect.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::de::{is_false, map_null_values, null_default};

/// The sysctls of a container's own IPC namespace, which `--sysctl` may set (with
/// `fs.mqueue.*` and, in its own network namespace, `net.*`), as Docker allows.
pub const IPC_SYSCTLS: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Published ports: `"80/tcp"` → host bindings (`null` when exposed only).
pub type PortMap = BTreeMap<String, Option<Vec<PortBinding>>>;

/// One host binding of a container port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct PortBinding {
    #[serde(deserialize_with = "null_default")]
    pub host_ip: String,
    #[serde(deserialize_with = "null_default")]
    pub host_port: String,
}

/// `{Type, Config}` of the container's log driver.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct LogConfig {
    #[serde(deserialize_with = "null_default")]
    pub r#type: String,
    #[serde(deserialize_with = "null_default")]
    pub config: BTreeMap<String, String>,
}

/// `{Name, MaximumRetryCount}`; `Name` is "", `no`, `always`,
/// `unless-stopped` or `on-failure`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct RestartPolicy {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub maximum_retry_count: i64,
}

/// A `Mounts` entry (the `--mount` form).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct Mount {
    #[serde(deserialize_with = "null_default")]
    pub target: String,
    #[serde(deserialize_with = "null_default")]
    pub source: String,
    /// `bind`, `volume`, `tmpfs`, `image`, `npipe` or `cluster`.
    #[serde(deserialize_with = "null_default")]
    pub r#type: String,
    #[serde(deserialize_with = "null_default")]
    pub read_only: bool,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub consistency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_options: Option<BindOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_options: Option<VolumeOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_options: Option<ImageMountOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs_options: Option<TmpfsOptions>,
}

/// `Mount.BindOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct BindOptions {
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub propagation: String,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_false")]
    pub non_recursive: bool,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_false")]
    pub create_mountpoint: bool,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_false")]
    pub read_only_non_recursive: bool,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_false")]
    pub read_only_force_recursive: bool,
}

/// `Mount.VolumeOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct VolumeOptions {
    #[serde(deserialize_with = "null_default")]
    pub no_copy: bool,
    #[serde(deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_config: Option<VolumeDriverConfig>,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub subpath: String,
}

/// `VolumeOptions.DriverConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct VolumeDriverConfig {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub options: BTreeMap<String, String>,
}

/// `Mount.ImageOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct ImageMountOptions {
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub subpath: String,
}

/// `Mount.TmpfsOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct TmpfsOptions {
    #[serde(deserialize_with = "null_default")]
    pub size_bytes: i64,
    #[serde(deserialize_with = "null_default")]
    pub mode: u32,
    /// Extra options as `[["noexec"], ["uid", "1000"]]`.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Vec<String>>,
}

/// A device made available in the container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct DeviceMapping {
    #[serde(deserialize_with = "null_default")]
    pub path_on_host: String,
    #[serde(deserialize_with = "null_default")]
    pub path_in_container: String,
    #[serde(deserialize_with = "null_default")]
    pub cgroup_permissions: String,
}

/// A request for devices from a driver (GPUs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct DeviceRequest {
    #[serde(deserialize_with = "null_default")]
    pub driver: String,
    #[serde(deserialize_with = "null_default")]
    pub count: i64,
    #[serde(rename = "DeviceIDs", deserialize_with = "null_default")]
    pub device_ids: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub capabilities: Vec<Vec<String>>,
    #[serde(deserialize_with = "null_default")]
    pub options: BTreeMap<String, String>,
}

/// `{Path, Rate}` for the blkio throttle lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct ThrottleDevice {
    #[serde(deserialize_with = "null_default")]
    pub path: String,
    #[serde(deserialize_with = "null_default")]
    pub rate: u64,
}

/// `{Path, Weight}` for `BlkioWeightDevice`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct WeightDevice {
    #[serde(deserialize_with = "null_default")]
    pub path: String,
    #[serde(deserialize_with = "null_default")]
    pub weight: u16,
}

/// A resource limit, `{Name: "nofile", Soft, Hard}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct Ulimit {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub soft: i64,
    #[serde(deserialize_with = "null_default")]
    pub hard: i64,
}

/// The cgroup/resource block, flattened into `HostConfig` (and the body of
/// `POST /containers/{id}/update`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct Resources {
    #[serde(deserialize_with = "null_default")]
    pub cpu_shares: i64,
    #[serde(deserialize_with = "null_default")]
    pub memory: i64,
    #[serde(deserialize_with = "null_default")]
    pub nano_cpus: i64,
    #[serde(deserialize_with = "null_default")]
    pub cgroup_parent: String,
    #[serde(deserialize_with = "null_default")]
    pub blkio_weight: u16,
    #[serde(deserialize_with = "null_default")]
    pub blkio_weight_device: Vec<WeightDevice>,
    #[serde(deserialize_with = "null_default")]
    pub blkio_device_read_bps: Vec<ThrottleDevice>,
    #[serde(deserialize_with = "null_default")]
    pub blkio_device_write_bps: Vec<ThrottleDevice>,
    #[serde(rename = "BlkioDeviceReadIOps", deserialize_with = "null_default")]
    pub blkio_device_read_iops: Vec<ThrottleDevice>,
    #[serde(rename = "BlkioDeviceWriteIOps", deserialize_with = "null_default")]
    pub blkio_device_write_iops: Vec<ThrottleDevice>,
    #[serde(deserialize_with = "null_default")]
    pub cpu_period: i64,
    #[serde(deserialize_with = "null_default")]
    pub cpu_quota: i64,
    #[serde(deserialize_with = "null_default")]
    pub cpu_realtime_period: i64,
    #[serde(deserialize_with = "null_default")]
    pub cpu_realtime_runtime: i64,
    #[serde(deserialize_with = "null_default")]
    pub cpuset_cpus: String,
    #[serde(deserialize_with = "null_default")]
    pub cpuset_mems: String,
    #[serde(deserialize_with = "null_default")]
    pub devices: Vec<DeviceMapping>,
    #[serde(deserialize_with = "null_default")]
    pub device_cgroup_rules: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub device_requests: Vec<DeviceRequest>,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "crate::de::is_zero")]
    pub kernel_memory: i64,
    #[serde(rename = "KernelMemoryTCP", deserialize_with = "null_default", skip_serializing_if = "crate::de::is_zero")]
    pub kernel_memory_tcp: i64,
    #[serde(deserialize_with = "null_default")]
    pub memory_reservation: i64,
    #[serde(deserialize_with = "null_default")]
    pub memory_swap: i64,
    pub memory_swappiness: Option<i64>,
    pub oom_kill_disable: Option<bool>,
    /// `None` or ≤ 0: unlimited.
    pub pids_limit: Option<i64>,
    #[serde(deserialize_with = "null_default")]
    pub ulimits: Vec<Ulimit>,
    #[serde(deserialize_with = "null_default")]
    pub cpu_count: i64,
    #[serde(deserialize_with = "null_default")]
    pub cpu_percent: i64,
    #[serde(rename = "IOMaximumIOps", deserialize_with = "null_default")]
    pub io_maximum_iops: u64,
    #[serde(rename = "IOMaximumBandwidth", deserialize_with = "null_default")]
    pub io_maximum_bandwidth: u64,
}

/// Container configuration that depends on the host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct HostConfig {
    /// `src:dest[:opts]` bind and volume specs.
    #[serde(deserialize_with = "null_default")]
    pub binds: Vec<String>,
    #[serde(rename = "ContainerIDFile", deserialize_with = "null_default")]
    pub container_id_file: String,
    #[serde(deserialize_with = "null_default")]
    pub log_config: LogConfig,
    /// `bridge`, `host`, `none`, `container:<id>`, or a network name.
    #[serde(deserialize_with = "null_default")]
    pub network_mode: String,
    #[serde(deserialize_with = "null_default")]
    pub port_bindings: PortMap,
    #[serde(deserialize_with = "null_default")]
    pub restart_policy: RestartPolicy,
    #[serde(deserialize_with = "null_default")]
    pub auto_remove: bool,
    #[serde(deserialize_with = "null_default")]
    pub volume_driver: String,
    #[serde(deserialize_with = "null_default")]
    pub volumes_from: Vec<String>,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<Mount>,
    /// `[height, width]` of the initial TTY.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub console_size: Option<[u32; 2]>,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(deserialize_with = "null_default")]
    pub cap_add: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub cap_drop: Vec<String>,
    /// `private`, `host` or "" (daemon default).
    #[serde(deserialize_with = "null_default")]
    pub cgroupns_mode: String,
    #[serde(deserialize_with = "null_default")]
    pub dns: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub dns_options: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub dns_search: Vec<String>,
    /// `host:ip` entries for /etc/hosts.
    #[serde(deserialize_with = "null_default")]
    pub extra_hosts: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub group_add: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub ipc_mode: String,
    #[serde(deserialize_with = "null_default")]
    pub cgroup: String,
    #[serde(deserialize_with = "null_default")]
    pub links: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub oom_score_adj: i64,
    #[serde(deserialize_with = "null_default")]
    pub pid_mode: String,
    #[serde(deserialize_with = "null_default")]
    pub privileged: bool,
    #[serde(deserialize_with = "null_default")]
    pub publish_all_ports: bool,
    #[serde(deserialize_with = "null_default")]
    pub readonly_rootfs: bool,
    #[serde(deserialize_with = "null_default")]
    pub security_opt: Vec<String>,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "BTreeMap::is_empty")]
    pub storage_opt: BTreeMap<String, String>,
    /// Mount point → tmpfs options.
    #[serde(deserialize_with = "map_null_values", skip_serializing_if = "BTreeMap::is_empty")]
    pub tmpfs: BTreeMap<String, String>,
    #[serde(rename = "UTSMode", deserialize_with = "null_default")]
    pub uts_mode: String,
    #[serde(deserialize_with = "null_default")]
    pub userns_mode: String,
    #[serde(deserialize_with = "null_default")]
    pub shm_size: i64,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub runtime: String,
    #[serde(deserialize_with = "null_default")]
    pub isolation: String,
    /// Run an init (tini-like) as PID 1; `None` = daemon default.
    pub init: Option<bool>,
    #[serde(deserialize_with = "null_default")]
    pub masked_paths: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub readonly_paths: Vec<String>,
    #[serde(flatten)]
    pub resources: Resources,
}

/// `NetworkSettings.Networks` / `EndpointsConfig` entry: one network attachment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct EndpointSettings {
    #[serde(rename = "IPAMConfig")]
    pub ipam_config: Option<EndpointIpamConfig>,
    #[serde(deserialize_with = "null_default")]
    pub links: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub mac_address: String,
    #[serde(deserialize_with = "null_default")]
    pub aliases: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(deserialize_with = "null_default")]
    pub gw_priority: i64,
    #[serde(rename = "NetworkID", deserialize_with = "null_default")]
    pub network_id: String,
    #[serde(rename = "EndpointID", deserialize_with = "null_default")]
    pub endpoint_id: String,
    #[serde(deserialize_with = "null_default")]
    pub gateway: String,
    #[serde(rename = "IPAddress", deserialize_with = "null_default")]
    pub ip_address: String,
    #[serde(rename = "IPPrefixLen", deserialize_with = "null_default")]
    pub ip_prefix_len: i64,
    #[serde(rename = "IPv6Gateway", deserialize_with = "null_default")]
    pub ipv6_gateway: String,
    #[serde(rename = "GlobalIPv6Address", deserialize_with = "null_default")]
    pub global_ipv6_address: String,
    #[serde(rename = "GlobalIPv6PrefixLen", deserialize_with = "null_default")]
    pub global_ipv6_prefix_len: i64,
    #[serde(rename = "DNSNames", deserialize_with = "null_default")]
    pub dns_names: Vec<String>,
}

/// `EndpointSettings.IPAMConfig`: static addresses requested for an endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct EndpointIpamConfig {
    #[serde(rename = "IPv4Address", deserialize_with = "null_default")]
    pub ipv4_address: String,
    #[serde(rename = "IPv6Address", deserialize_with = "null_default")]
    pub ipv6_address: String,
    #[serde(rename = "LinkLocalIPs", deserialize_with = "null_default")]
    pub link_local_ips: Vec<String>,
}

/// `NetworkingConfig` of a create body: network name → endpoint settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct NetworkingConfig {
    #[serde(deserialize_with = "map_null_values")]
    pub endpoints_config: BTreeMap<String, EndpointSettings>,
}
