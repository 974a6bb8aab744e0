//! `GET /events` messages, streamed as one JSON object per line. Docker mixes
//! `Type`/`Action`/`Actor` with lower-case `scope`, `time`, `timeNano` and the
//! legacy `status`/`id`/`from` (still read by older clients and docker-py).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::de::null_default;

/// The object an event is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventActor {
    #[serde(rename = "ID", deserialize_with = "null_default")]
    pub id: String,
    /// e.g. `name`, `image`, `exitCode`, and the object's labels.
    #[serde(rename = "Attributes", deserialize_with = "null_default")]
    pub attributes: BTreeMap<String, String>,
}

/// One event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventMessage {
    /// [`EventMessage::CONTAINER`], `image`, `volume`, `network`, `daemon` …
    #[serde(rename = "Type", deserialize_with = "null_default")]
    pub r#type: String,
    /// `create`, `start`, `die`, `destroy`, `pull`, `exec_start: sh` …
    #[serde(rename = "Action", deserialize_with = "null_default")]
    pub action: String,
    #[serde(rename = "Actor", deserialize_with = "null_default")]
    pub actor: EventActor,
    /// `local` (or `swarm`).
    #[serde(deserialize_with = "null_default")]
    pub scope: String,
    /// Unix seconds.
    #[serde(deserialize_with = "null_default")]
    pub time: i64,
    /// Unix nanoseconds.
    #[serde(rename = "timeNano", deserialize_with = "null_default")]
    pub time_nano: i64,
    /// Legacy: the action (container and image events only).
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// Legacy: the actor ID.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Legacy: the container's image.
    #[serde(deserialize_with = "null_default", skip_serializing_if = "String::is_empty")]
    pub from: String,
}

impl EventMessage {
    pub const CONTAINER: &'static str = "container";
    pub const IMAGE: &'static str = "image";
    pub const VOLUME: &'static str = "volume";
    pub const NETWORK: &'static str = "network";
    pub const DAEMON: &'static str = "daemon";

    /// A `local`-scope event at `time_nano` (unix ns), with the legacy fields
    /// filled in for container and image events as Docker does.
    pub fn new(
        r#type: &str,
        action: &str,
        actor_id: &str,
        attributes: BTreeMap<String, String>,
        time_nano: i64,
    ) -> Self {
        let legacy = r#type == Self::CONTAINER || r#type == Self::IMAGE;
        let from = if r#type == Self::CONTAINER {
            attributes.get("image").cloned().unwrap_or_default()
        } else {
            String::new()
        };
        EventMessage {
            r#type: r#type.to_string(),
            action: action.to_string(),
            actor: EventActor { id: actor_id.to_string(), attributes },
            scope: "local".to_string(),
            time: time_nano.div_euclid(1_000_000_000),
            time_nano,
            status: if legacy { action.to_string() } else { String::new() },
            id: if legacy { actor_id.to_string() } else { String::new() },
            from,
        }
    }
}
