//! The image config (`application/vnd.oci.image.config.v1+json` and Docker's
//! `application/vnd.docker.container.image.v1+json`) with Docker's JSON field names,
//! including the Docker-only fields oci-spec lacks (Healthcheck, OnBuild, Shell,
//! ArgsEscaped, StopTimeout…). Fields we do not model are kept in `extra` maps, so
//! re-serialising a config never drops anything (the stored bytes stay the truth).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::digest::Digest;

/// The whole config document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default)]
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default)]
    pub os: String,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    #[serde(
        rename = "os.features",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_features: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
    #[serde(default)]
    pub rootfs: RootFs,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
    /// Docker's legacy top-level `comment` (shown as `Comment` by inspect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Docker's legacy `docker_version` (shown as `DockerVersion` by inspect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_version: Option<String>,
    /// Everything else (`container`, `container_config`, `parent`, vendor fields…).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl ImageConfig {
    /// `created` as a time, if present and RFC 3339.
    pub fn created_time(&self) -> Option<DateTime<Utc>> {
        parse_time(self.created.as_deref()?)
    }

    /// The image's labels (`config.Labels`), empty when it has none.
    pub fn labels(&self) -> BTreeMap<String, String> {
        self.config
            .as_ref()
            .and_then(|c| c.labels.clone())
            .unwrap_or_default()
    }
}

/// Parses an RFC 3339 timestamp as Docker writes them (`…Z` or with an offset).
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The `config` object: defaults for containers run from the image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stdin: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stdout: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stderr: Option<bool>,
    /// `{"80/tcp": {}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_stdin: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin_once: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "str_slice",
        skip_serializing_if = "Option::is_none"
    )]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_escaped: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// `{"/data": {}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(
        default,
        deserialize_with = "str_slice",
        skip_serializing_if = "Option::is_none"
    )]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    #[serde(
        default,
        deserialize_with = "str_slice",
        skip_serializing_if = "Option::is_none"
    )]
    pub shell: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl ContainerConfig {
    /// This config as `docker image inspect` prints it under `Config`: the fields Go
    /// always emits (empty strings, `false`, `null`) plus the optional ones that are set.
    pub fn to_docker_json(&self) -> Value {
        let s = |v: &Option<String>| Value::String(v.clone().unwrap_or_default());
        let b = |v: Option<bool>| Value::Bool(v.unwrap_or(false));
        fn j<T: Serialize>(v: &T) -> Value {
            // Plain data (strings, lists, maps with string keys) always serialises.
            serde_json::to_value(v).unwrap_or(Value::Null)
        }
        let mut m = serde_json::Map::new();
        m.insert("Hostname".into(), s(&self.hostname));
        m.insert("Domainname".into(), s(&self.domainname));
        m.insert("User".into(), s(&self.user));
        m.insert("AttachStdin".into(), b(self.attach_stdin));
        m.insert("AttachStdout".into(), b(self.attach_stdout));
        m.insert("AttachStderr".into(), b(self.attach_stderr));
        if let Some(p) = self.exposed_ports.as_ref().filter(|p| !p.is_empty()) {
            m.insert("ExposedPorts".into(), j(p));
        }
        m.insert("Tty".into(), b(self.tty));
        m.insert("OpenStdin".into(), b(self.open_stdin));
        m.insert("StdinOnce".into(), b(self.stdin_once));
        m.insert("Env".into(), j(&self.env));
        m.insert("Cmd".into(), j(&self.cmd));
        if let Some(h) = &self.healthcheck {
            m.insert("Healthcheck".into(), j(h));
        }
        if self.args_escaped == Some(true) {
            m.insert("ArgsEscaped".into(), Value::Bool(true));
        }
        m.insert("Image".into(), s(&self.image));
        m.insert("Volumes".into(), j(&self.volumes));
        m.insert("WorkingDir".into(), s(&self.working_dir));
        m.insert("Entrypoint".into(), j(&self.entrypoint));
        if self.network_disabled == Some(true) {
            m.insert("NetworkDisabled".into(), Value::Bool(true));
        }
        if let Some(mac) = self.mac_address.as_ref().filter(|m| !m.is_empty()) {
            m.insert("MacAddress".into(), Value::String(mac.clone()));
        }
        m.insert("OnBuild".into(), j(&self.on_build));
        m.insert("Labels".into(), j(&self.labels));
        if let Some(sig) = self.stop_signal.as_ref().filter(|s| !s.is_empty()) {
            m.insert("StopSignal".into(), Value::String(sig.clone()));
        }
        if let Some(t) = self.stop_timeout {
            m.insert("StopTimeout".into(), Value::from(t));
        }
        if let Some(sh) = self.shell.as_ref().filter(|s| !s.is_empty()) {
            m.insert("Shell".into(), j(sh));
        }
        Value::Object(m)
    }
}

/// Docker's `HEALTHCHECK`. Durations are nanoseconds, as Docker stores them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `rootfs`: the layers' uncompressed digests, base first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub diff_ids: Vec<Digest>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Default for RootFs {
    fn default() -> Self {
        RootFs {
            kind: "layers".into(),
            diff_ids: Vec::new(),
            extra: BTreeMap::new(),
        }
    }
}

/// One `history` entry; `empty_layer` entries have no layer in `rootfs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Docker's `strslice`: `Cmd`, `Entrypoint` and `Shell` may be a JSON string as well as
/// an array of strings (a string means a one-element list); `null` means unset.
fn str_slice<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => None,
        Some(OneOrMany::One(s)) => Some(vec![s]),
        Some(OneOrMany::Many(v)) => Some(v),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"{
      "architecture": "arm", "variant": "v7", "os": "linux",
      "created": "2024-01-02T03:04:05.123456789Z", "author": "me",
      "docker_version": "24.0.7", "comment": "imported",
      "container": "abc", "moby.vendor": {"x": 1},
      "config": {
        "Hostname": "", "User": "app", "AttachStdin": false,
        "ExposedPorts": {"80/tcp": {}}, "Env": ["A=b"], "Cmd": "run.sh",
        "Healthcheck": {"Test": ["CMD", "true"], "Interval": 30000000000, "Timeout": 5000000000,
                        "StartPeriod": 1000000000, "StartInterval": 2000000000, "Retries": 3},
        "ArgsEscaped": true, "Image": "sha256:1", "Volumes": {"/data": {}}, "WorkingDir": "/app",
        "Entrypoint": null, "OnBuild": ["RUN x"], "Labels": {"l": "v"},
        "StopSignal": "SIGQUIT", "StopTimeout": 7, "Shell": ["/bin/bash", "-c"],
        "FutureField": [1, 2]
      },
      "rootfs": {"type": "layers", "diff_ids": ["sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]},
      "history": [
        {"created": "2024-01-02T03:04:05Z", "created_by": "ADD x /", "comment": "c"},
        {"created_by": "CMD [\"run.sh\"]", "empty_layer": true, "future": "y"}
      ]
    }"#;

    #[test]
    fn docker_fields_parse() {
        let c: ImageConfig = serde_json::from_str(FULL).unwrap();
        assert_eq!(c.architecture, "arm");
        assert_eq!(c.variant.as_deref(), Some("v7"));
        assert_eq!(c.docker_version.as_deref(), Some("24.0.7"));
        assert_eq!(c.created_time().unwrap().timestamp(), 1704164645);
        let cc = c.config.as_ref().unwrap();
        assert_eq!(cc.cmd, Some(vec!["run.sh".to_string()]));
        assert_eq!(cc.entrypoint, None);
        let h = cc.healthcheck.as_ref().unwrap();
        assert_eq!(h.start_interval, Some(2_000_000_000));
        assert_eq!(h.retries, Some(3));
        assert_eq!(cc.stop_timeout, Some(7));
        assert_eq!(cc.shell.as_ref().unwrap()[0], "/bin/bash");
        assert_eq!(c.labels()["l"], "v");
        assert_eq!(c.rootfs.diff_ids.len(), 1);
        assert!(c.history[1].empty_layer);
        assert!(!c.history[0].empty_layer);
    }

    #[test]
    fn reserialising_keeps_unknown_fields() {
        let c: ImageConfig = serde_json::from_str(FULL).unwrap();
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["container"], "abc");
        assert_eq!(v["moby.vendor"]["x"], 1);
        assert_eq!(v["config"]["FutureField"], serde_json::json!([1, 2]));
        assert_eq!(v["history"][1]["future"], "y");
        assert_eq!(v["config"]["Healthcheck"]["StartPeriod"], 1_000_000_000i64);
        // And parsing the re-serialised form gives the same config.
        let again: ImageConfig = serde_json::from_value(v).unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn inspect_shape_has_docker_defaults() {
        let c: ImageConfig = serde_json::from_str(FULL).unwrap();
        let j = c.config.unwrap().to_docker_json();
        assert_eq!(j["Hostname"], "");
        assert_eq!(j["Domainname"], "");
        assert_eq!(j["Tty"], false);
        assert_eq!(j["Entrypoint"], Value::Null);
        assert_eq!(j["Cmd"], serde_json::json!(["run.sh"]));
        assert_eq!(j["StopTimeout"], 7);
        assert_eq!(j["ArgsEscaped"], true);
        assert_eq!(j["ExposedPorts"], serde_json::json!({"80/tcp": {}}));
        let empty = ContainerConfig::default().to_docker_json();
        assert_eq!(empty["Labels"], Value::Null);
        assert!(empty.get("Healthcheck").is_none());
        assert!(empty.get("StopSignal").is_none());
    }

    #[test]
    fn minimal_config_parses() {
        let c: ImageConfig = serde_json::from_str(
            r#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
        )
        .unwrap();
        assert!(c.config.is_none());
        assert!(c.labels().is_empty());
        assert!(c.created_time().is_none());
    }
}
