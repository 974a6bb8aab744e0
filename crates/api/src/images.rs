//! Image endpoints' bodies: list summaries, inspect, history, delete/prune
//! reports, and the JSON-lines progress messages of pull, push, load and build.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::containers::{ContainerConfig, GraphDriverData};
use crate::de::null_default;

/// One `GET /images/json` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ImageSummary {
    /// `sha256:…`.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub parent_id: String,
    #[serde(deserialize_with = "null_default")]
    pub repo_tags: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub repo_digests: Vec<String>,
    /// Unix seconds.
    #[serde(deserialize_with = "null_default")]
    pub created: i64,
    #[serde(deserialize_with = "null_default")]
    pub size: i64,
    /// -1 unless `shared-size` was asked for.
    #[serde(deserialize_with = "null_default")]
    pub shared_size: i64,
    /// Removed in API 1.44; kept for older clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_size: Option<i64>,
    #[serde(deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
    /// -1 unless computed (system df).
    #[serde(deserialize_with = "null_default")]
    pub containers: i64,
}

/// `RootFS` of an image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct RootFs {
    /// Always `layers`.
    #[serde(deserialize_with = "null_default")]
    pub r#type: String,
    /// Layer diff IDs, bottom first.
    #[serde(deserialize_with = "null_default")]
    pub layers: Vec<String>,
}

/// `Metadata` of an image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ImageMetadata {
    /// RFC 3339, or empty if never tagged locally.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub last_tag_time: String,
}

/// `GET /images/{name}/json` reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ImageInspect {
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub repo_tags: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub repo_digests: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub parent: String,
    #[serde(deserialize_with = "null_default")]
    pub comment: String,
    /// RFC 3339.
    #[serde(deserialize_with = "null_default")]
    pub created: String,
    #[serde(deserialize_with = "null_default")]
    pub docker_version: String,
    #[serde(deserialize_with = "null_default")]
    pub author: String,
    #[serde(deserialize_with = "null_default")]
    pub config: ContainerConfig,
    #[serde(deserialize_with = "null_default")]
    pub architecture: String,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub variant: String,
    #[serde(deserialize_with = "null_default")]
    pub os: String,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub os_version: String,
    #[serde(deserialize_with = "null_default")]
    pub size: i64,
    /// Removed in API 1.44; kept for older clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_size: Option<i64>,
    #[serde(deserialize_with = "null_default")]
    pub graph_driver: GraphDriverData,
    #[serde(rename = "RootFS", deserialize_with = "null_default")]
    pub root_fs: RootFs,
    #[serde(deserialize_with = "null_default")]
    pub metadata: ImageMetadata,
}

/// One `GET /images/{name}/history` entry, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct HistoryItem {
    /// Image ID, or `<missing>` for intermediate layers.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// Unix seconds.
    #[serde(deserialize_with = "null_default")]
    pub created: i64,
    #[serde(deserialize_with = "null_default")]
    pub created_by: String,
    #[serde(deserialize_with = "null_default")]
    pub tags: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub size: i64,
    #[serde(deserialize_with = "null_default")]
    pub comment: String,
}

/// One entry of an image delete/prune report: exactly one field is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ImageDeleteItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub untagged: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
}

impl ImageDeleteItem {
    /// `{"Untagged": reference}`.
    pub fn untagged(reference: impl Into<String>) -> Self {
        ImageDeleteItem { untagged: Some(reference.into()), deleted: None }
    }

    /// `{"Deleted": id}`.
    pub fn deleted(id: impl Into<String>) -> Self {
        ImageDeleteItem { untagged: None, deleted: Some(id.into()) }
    }
}

/// `POST /images/prune` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ImagePruneResponse {
    #[serde(deserialize_with = "null_default")]
    pub images_deleted: Vec<ImageDeleteItem>,
    #[serde(deserialize_with = "null_default")]
    pub space_reclaimed: u64,
}

/// `progressDetail` of a progress message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProgressDetail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

/// `errorDetail` of a progress message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorDetail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    #[serde(deserialize_with = "null_default")]
    pub message: String,
}

/// One line of a pull/push/load/build stream (Docker's "JSON message"). An
/// `error` ends the operation with failure even though the HTTP status was 200.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ProgressMessage {
    /// Layer or image the line is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress_detail: Option<ProgressDetail>,
    /// Pre-rendered progress bar.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    /// Build output text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_detail: Option<ErrorDetail>,
    /// Out-of-band data, e.g. `{"ID": "sha256:…"}` after a build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aux: Option<serde_json::Value>,
}

impl ProgressMessage {
    /// A `{"status": …}` line, optionally about `id`.
    pub fn status(status: impl Into<String>, id: Option<&str>) -> Self {
        ProgressMessage { status: Some(status.into()), id: id.map(str::to_string), ..Default::default() }
    }

    /// An error line, with `error` and `errorDetail.message` both set.
    pub fn error(message: impl Into<String>) -> Self {
        let message = message.into();
        ProgressMessage {
            error: Some(message.clone()),
            error_detail: Some(ErrorDetail { code: None, message }),
            ..Default::default()
        }
    }
}

/// One `GET /images/search` result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageSearchResult {
    #[serde(deserialize_with = "null_default")]
    pub description: String,
    #[serde(deserialize_with = "null_default")]
    pub is_official: bool,
    #[serde(deserialize_with = "null_default")]
    pub is_automated: bool,
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub star_count: i64,
}
