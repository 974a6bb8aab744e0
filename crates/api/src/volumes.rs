//! Volume endpoints' bodies: `Volume` (list/inspect/create reply), create, list
//! and prune.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::de::null_default;

/// Disk use of a volume (`system df`); -1 when not computed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct VolumeUsageData {
    #[serde(deserialize_with = "null_default")]
    pub size: i64,
    #[serde(deserialize_with = "null_default")]
    pub ref_count: i64,
}

/// A volume.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct Volume {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// `local`.
    #[serde(deserialize_with = "null_default")]
    pub driver: String,
    /// Host path of the volume's data.
    #[serde(deserialize_with = "null_default")]
    pub mountpoint: String,
    /// RFC 3339.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
    /// `local`.
    #[serde(deserialize_with = "null_default")]
    pub scope: String,
    #[serde(deserialize_with = "null_default")]
    pub options: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_data: Option<VolumeUsageData>,
}

/// `POST /volumes/create` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct VolumeCreateBody {
    /// Empty: the daemon picks a random name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub driver: String,
    #[serde(deserialize_with = "null_default")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
}

/// `GET /volumes` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct VolumeListResponse {
    #[serde(deserialize_with = "null_default")]
    pub volumes: Vec<Volume>,
    #[serde(deserialize_with = "null_default")]
    pub warnings: Vec<String>,
}

/// `POST /volumes/prune` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct VolumePruneResponse {
    #[serde(deserialize_with = "null_default")]
    pub volumes_deleted: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub space_reclaimed: u64,
}
