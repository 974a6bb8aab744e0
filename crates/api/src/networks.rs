//! Network endpoints' bodies: list/inspect (`Network`), create, connect,
//! disconnect and prune.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::de::{is_false, null_default};
use crate::hostconfig::EndpointSettings;

/// One `IPAM.Config` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct IpamConfig {
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub subnet: String,
    #[serde(rename = "IPRange", deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub ip_range: String,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub gateway: String,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "BTreeMap::is_empty")]
    pub auxiliary_addresses: BTreeMap<String, String>,
}

/// A network's `IPAM` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct Ipam {
    /// `default`.
    #[serde(deserialize_with = "null_default")]
    pub driver: String,
    #[serde(deserialize_with = "null_default")]
    pub config: Vec<IpamConfig>,
    #[serde(deserialize_with = "null_default")]
    pub options: BTreeMap<String, String>,
}

/// A container attached to a network, as shown by network inspect.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct NetworkContainer {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(rename = "EndpointID", deserialize_with = "null_default")]
    pub endpoint_id: String,
    #[serde(deserialize_with = "null_default")]
    pub mac_address: String,
    /// CIDR form, `172.17.0.2/16`.
    #[serde(rename = "IPv4Address", deserialize_with = "null_default")]
    pub ipv4_address: String,
    #[serde(rename = "IPv6Address", deserialize_with = "null_default")]
    pub ipv6_address: String,
}

/// `ConfigFrom` of a network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct ConfigReference {
    #[serde(deserialize_with = "null_default")]
    pub network: String,
}

/// A network, as listed and inspected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct Network {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// RFC 3339.
    #[serde(deserialize_with = "null_default")]
    pub created: String,
    /// `local`.
    #[serde(deserialize_with = "null_default")]
    pub scope: String,
    /// `bridge`, `host`, `null` …
    #[serde(deserialize_with = "null_default")]
    pub driver: String,
    #[serde(rename = "EnableIPv4", deserialize_with = "null_default")]
    pub enable_ipv4: bool,
    #[serde(rename = "EnableIPv6", deserialize_with = "null_default")]
    pub enable_ipv6: bool,
    #[serde(rename = "IPAM", deserialize_with = "null_default")]
    pub ipam: Ipam,
    #[serde(deserialize_with = "null_default")]
    pub internal: bool,
    #[serde(deserialize_with = "null_default")]
    pub attachable: bool,
    #[serde(deserialize_with = "null_default")]
    pub ingress: bool,
    #[serde(deserialize_with = "null_default")]
    pub config_from: ConfigReference,
    #[serde(deserialize_with = "null_default")]
    pub config_only: bool,
    /// Container ID → attachment (filled by inspect, empty in lists).
    #[serde(deserialize_with = "null_default")]
    pub containers: BTreeMap<String, NetworkContainer>,
    #[serde(deserialize_with = "null_default")]
    pub options: BTreeMap<String, String>,
    #[serde(deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
}

/// `POST /networks/create` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct NetworkCreateRequest {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Deprecated; Docker always checks for duplicates now.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_false")]
    pub check_duplicate: bool,
    #[serde(deserialize_with = "null_default")]
    pub driver: String,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub scope: String,
    #[serde(deserialize_with = "null_default")]
    pub internal: bool,
    #[serde(deserialize_with = "null_default")]
    pub attachable: bool,
    #[serde(deserialize_with = "null_default")]
    pub ingress: bool,
    #[serde(deserialize_with = "null_default")]
    pub config_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_from: Option<ConfigReference>,
    #[serde(rename = "IPAM", skip_serializing_if = "Option::is_none")]
    pub ipam: Option<Ipam>,
    #[serde(rename = "EnableIPv4", skip_serializing_if = "Option::is_none")]
    pub enable_ipv4: Option<bool>,
    #[serde(rename = "EnableIPv6", skip_serializing_if = "Option::is_none")]
    pub enable_ipv6: Option<bool>,
    #[serde(deserialize_with = "null_default")]
    pub options: BTreeMap<String, String>,
    #[serde(deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
}

/// `POST /networks/create` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct NetworkCreateResponse {
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub warning: String,
}

/// `POST /networks/{id}/connect` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct NetworkConnectRequest {
    #[serde(deserialize_with = "null_default")]
    pub container: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_config: Option<EndpointSettings>,
}

/// `POST /networks/{id}/disconnect` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct NetworkDisconnectRequest {
    #[serde(deserialize_with = "null_default")]
    pub container: String,
    #[serde(deserialize_with = "null_default")]
    pub force: bool,
}

/// `POST /networks/prune` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct NetworkPruneResponse {
    #[serde(deserialize_with = "null_default")]
    pub networks_deleted: Vec<String>,
}
