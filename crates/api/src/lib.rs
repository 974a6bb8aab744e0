//! The Docker Engine API as berth speaks it: serde types with Docker's exact JSON
//! field names, query helpers (`filters`, booleans, list options), the multiplexed
//! stdout/stderr stream framing, API version handling, and an async client over a
//! unix socket.
//!
//! Shared by the berth CLI, the daemon `berthd` and tests. Types accept the bodies
//! the real docker CLI, docker-py and compose send: missing fields default, unknown
//! fields are ignored, `null` is read as "unset", and wrong types are rejected.

pub mod binds;
pub mod client;
pub mod containers;
pub mod detach;
pub mod decode;
mod de;
pub mod errors;
pub mod events;
pub mod exec;
pub mod filters;
pub mod hostconfig;
pub mod images;
pub mod networks;
pub mod query;
pub mod stats;
pub mod stream;
pub mod system;
pub mod time;
pub mod units;
pub mod version;
pub mod volumes;

pub use client::{Body, Client, ClientError, Response, ResponseStream, UpgradedStream};
pub use errors::ErrorResponse;
pub use filters::{Filters, FiltersError};
pub use stream::{Frame, FrameDecoder, FrameError, StreamType};
pub use version::{API_VERSION, ApiVersion, MIN_API_VERSION, VersionError};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Docker's `{}` placeholder value (`ExposedPorts`, `Volumes`): reads anything,
/// writes `{}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmptyObject;

impl Serialize for EmptyObject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        s.serialize_map(Some(0))?.end()
    }
}

impl<'de> Deserialize<'de> for EmptyObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(EmptyObject)
    }
}

impl schemars::JsonSchema for EmptyObject {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EmptyObject".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "object" })
    }
}

/// `{"Id": …}`, the reply of several create endpoints (exec create, commit).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct IdResponse {
    #[serde(deserialize_with = "de::null_default")]
    pub id: String,
}
