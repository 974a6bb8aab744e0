//! What berthd remembers of one container, on disk as `containers/<id>/container.json`
//! (written atomically: temp file, fsync, rename, fsync of the directory), and the
//! container's state machine as Docker has it.

use std::path::Path;

use api::containers::{ContainerConfig, HostConfig};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The file of a container's record inside its directory.
pub const RECORD_FILE: &str = "container.json";

/// The record's schema, written into every record. A record of an older schema is
/// migrated when read (one step per schema); one of a newer schema is refused, so an
/// older berthd never rewrites what it does not understand.
/// 1: berth before records were versioned (no `schema` field); 2: versioned.
pub const SCHEMA: u32 = 2;

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
            health: None,
        }
    }
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
    pub host_config: HostConfig,
    pub state: State,
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
        // Today's schema parses straight into the record: the common case, a thousand
        // times at a daemon start.
        if let Ok(r) = serde_json::from_slice::<Record>(bytes)
            && r.schema == SCHEMA
        {
            return Ok(r);
        }
        let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let schema = value.get("schema").map_or(Some(1), |s| s.as_u64()).ok_or("the record's schema is not a number")?;
        if schema > u64::from(SCHEMA) {
            return Err(format!("schema {schema} is newer than this berthd's ({SCHEMA}): written by a newer berthd"));
        }
        // One step per schema, oldest first.
        if schema < 2 {
            // 1 → 2: the record says its schema; nothing else changed.
            value["schema"] = serde_json::json!(2);
        }
        serde_json::from_value(value).map_err(|e| e.to_string())
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
            state: State {
                status: Status::Exited,
                exit_code: 3,
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
        assert_eq!(r.host_config.binds, ["/tmp:/data:ro"]);
        assert_eq!((r.host_config.restart_policy.name.as_str(), r.host_config.restart_policy.maximum_retry_count), ("on-failure", 3));
        assert_eq!(r.host_config.resources.memory, 64 << 20);
        assert_eq!(r.host_config.log_config.config.get("max-size").map(String::as_str), Some("10m"));
        assert_eq!(r.state.status, Status::Created);
        // Written back with its schema, and read again the same.
        let dir = tempfile::tempdir().unwrap();
        r.save(dir.path()).unwrap();
        let text = std::fs::read_to_string(dir.path().join(RECORD_FILE)).unwrap();
        assert!(text.contains("\"schema\":2"), "{text}");
        assert_eq!(Record::load(dir.path()).unwrap(), r);
    }

    #[test]
    fn a_record_of_a_newer_schema_is_refused() {
        let mut v: serde_json::Value = serde_json::from_slice(include_bytes!("testdata/record-v1.json")).unwrap();
        v["schema"] = serde_json::json!(SCHEMA + 1);
        let e = Record::parse(v.to_string().as_bytes()).unwrap_err();
        assert!(e.contains("newer berthd"), "{e}");
    }
}
