//! Exec endpoints' bodies: `POST /containers/{id}/exec` (create, reply is
//! [`crate::IdResponse`]), `POST /exec/{id}/start` and `GET /exec/{id}/json`.

use serde::{Deserialize, Serialize};

use crate::de::{null_default, str_slice};

/// `POST /containers/{id}/exec` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct ExecCreateBody {
    #[serde(deserialize_with = "null_default")]
    pub attach_stdin: bool,
    #[serde(deserialize_with = "null_default")]
    pub attach_stdout: bool,
    #[serde(deserialize_with = "null_default")]
    pub attach_stderr: bool,
    /// `[height, width]` of the initial TTY.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub console_size: Option<[u32; 2]>,
    #[serde(deserialize_with = "null_default")]
    pub detach_keys: String,
    #[serde(deserialize_with = "null_default")]
    pub tty: bool,
    /// `KEY=value` entries added to the container's environment.
    #[serde(deserialize_with = "null_default")]
    pub env: Vec<String>,
    /// The command; a bare string is read as one element.
    #[serde(deserialize_with = "str_slice")]
    pub cmd: Option<Vec<String>>,
    #[serde(deserialize_with = "null_default")]
    pub privileged: bool,
    #[serde(deserialize_with = "null_default")]
    pub user: String,
    #[serde(deserialize_with = "null_default")]
    pub working_dir: String,
}

/// `POST /exec/{id}/start` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct ExecStartBody {
    #[serde(deserialize_with = "null_default")]
    pub detach: bool,
    #[serde(deserialize_with = "null_default")]
    pub tty: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub console_size: Option<[u32; 2]>,
}

/// `ProcessConfig` of an exec inspect (lower-case keys, as Docker writes them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExecProcessConfig {
    #[serde(deserialize_with = "null_default")]
    pub privileged: bool,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(deserialize_with = "null_default")]
    pub tty: bool,
    #[serde(deserialize_with = "null_default")]
    pub entrypoint: String,
    #[serde(deserialize_with = "null_default")]
    pub arguments: Vec<String>,
}

/// `GET /exec/{id}/json` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, rename_all = "PascalCase")]
pub struct ExecInspect {
    #[serde(deserialize_with = "null_default")]
    pub can_remove: bool,
    #[serde(deserialize_with = "null_default")]
    pub detach_keys: String,
    #[serde(rename = "ID", deserialize_with = "null_default")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub running: bool,
    /// `None` while running.
    pub exit_code: Option<i64>,
    #[serde(deserialize_with = "null_default")]
    pub process_config: ExecProcessConfig,
    #[serde(deserialize_with = "null_default")]
    pub open_stdin: bool,
    #[serde(deserialize_with = "null_default")]
    pub open_stderr: bool,
    #[serde(deserialize_with = "null_default")]
    pub open_stdout: bool,
    #[serde(rename = "ContainerID", deserialize_with = "null_default")]
    pub container_id: String,
    #[serde(deserialize_with = "null_default")]
    pub pid: i64,
}
