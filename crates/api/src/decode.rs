//! Request bodies read as dockerd reads them. Go's JSON decoder matches an object's
//! keys to a struct's fields case-insensitively when no field matches exactly, and
//! clients rely on it: docker-py sends `detachKeys` where the Engine API documents
//! `DetachKeys`. Map keys (labels, environment names, network names) stay as sent.
//!
//! The body is read into a JSON value, its keys are renamed to the fields of the
//! target type where they differ only in case, then it is read into the type. Which
//! objects are structs, and what their fields are, comes from the type's JSON schema,
//! derived from the same serde attributes that name the fields, so it cannot drift
//! from them; flattened fields are among their parent's.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A request body's type: read by serde, its fields known from its schema.
pub trait Body: DeserializeOwned + schemars::JsonSchema + 'static {}

impl<T: DeserializeOwned + schemars::JsonSchema + 'static> Body for T {}

/// Reads `bytes` into a `T` as Go's decoder would: exact keys first, then keys that
/// match a field of `T` (or of the structs inside it) but for their case.
pub fn from_slice<T: Body>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    let mut value: Value = serde_json::from_slice(bytes)?;
    let schema = schema_of::<T>();
    let defs = schema.get("$defs").and_then(Value::as_object).cloned().unwrap_or_default();
    match_fields(&mut value, &schema, &defs, 0);
    serde_json::from_value(value)
}

/// `T`'s schema, made once per type.
fn schema_of<T: schemars::JsonSchema + 'static>() -> Arc<Value> {
    static SCHEMAS: OnceLock<Mutex<HashMap<TypeId, Arc<Value>>>> = OnceLock::new();
    let mut schemas = SCHEMAS.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner());
    schemas.entry(TypeId::of::<T>()).or_insert_with(|| Arc::new(schemars::schema_for!(T).to_value())).clone()
}

/// How deep schemas are followed: deeper than any Engine API body nests, and a bound
/// for a body nested without end.
const MAX_DEPTH: usize = 64;

/// Renames the keys of `value`'s structs to their fields' names where they differ
/// only in case, following `schema` down.
fn match_fields(value: &mut Value, schema: &Value, defs: &Map<String, Value>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let schema = resolve(schema, defs);
    // Option<T> is `anyOf: [T, null]`; enums are `oneOf`; merged types `allOf`.
    for alternatives in ["anyOf", "oneOf", "allOf"] {
        for alt in schema.get(alternatives).and_then(Value::as_array).into_iter().flatten() {
            match_fields(value, alt, defs, depth + 1);
        }
    }
    match value {
        Value::Object(object) => {
            let fields = schema.get("properties").and_then(Value::as_object);
            if let Some(fields) = fields {
                let keys: Vec<String> = object.keys().filter(|k| !fields.contains_key(*k)).cloned().collect();
                for key in keys {
                    let field = fields.keys().find(|f| f.eq_ignore_ascii_case(&key));
                    // A key sent exactly as well wins, as the later of the two does in Go
                    // when both are sent: rare enough that the exact one is kept.
                    if let Some(field) = field.filter(|f| !object.contains_key(*f)) {
                        let v = object.remove(&key).expect("listed");
                        object.insert(field.clone(), v);
                    }
                }
                for (key, v) in object.iter_mut() {
                    if let Some(s) = fields.get(key) {
                        match_fields(v, s, defs, depth + 1);
                    }
                }
            }
            // A map's values (its keys are data, never renamed).
            if let Some(values) = schema.get("additionalProperties").filter(|s| s.is_object()) {
                for (key, v) in object.iter_mut() {
                    if !fields.is_some_and(|f| f.contains_key(key)) {
                        match_fields(v, values, defs, depth + 1);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items").filter(|s| s.is_object()) {
                for v in items {
                    match_fields(v, item, defs, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// The schema a `$ref` names, or `schema` itself.
fn resolve<'a>(schema: &'a Value, defs: &'a Map<String, Value>) -> &'a Value {
    let mut schema = schema;
    // A chain of references is short; a loop of them is cut.
    for _ in 0..8 {
        let Some(name) = schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/")) else { break };
        match defs.get(name) {
            Some(s) => schema = s,
            None => break,
        }
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::containers::ContainerCreateBody;
    use crate::exec::ExecCreateBody;
    use crate::networks::NetworkCreateRequest;

    #[test]
    fn keys_match_fields_whatever_their_case() {
        let body: ExecCreateBody = from_slice(br#"{"cmd": ["true"], "detachKeys": "ctrl-x", "ATTACHSTDOUT": true, "tty": true}"#).unwrap();
        assert_eq!(body.cmd.as_deref(), Some(&["true".to_string()][..]));
        assert_eq!(body.detach_keys, "ctrl-x");
        assert!(body.attach_stdout && body.tty);
    }

    #[test]
    fn nested_and_flattened_structs_match_but_map_keys_stay() {
        let json = br#"{
            "image": "busybox",
            "labels": {"Key": "v", "other": "w"},
            "hostconfig": {"memory": 1048576, "binds": ["/a:/b"], "restartpolicy": {"name": "always"},
                           "logconfig": {"type": "json-file", "config": {"Max-Size": "1m"}}},
            "networkingconfig": {"endpointsconfig": {"MyNet": {"aliases": ["db"], "ipamconfig": {"ipv4address": "10.1.0.9"}}}}
        }"#;
        let body: ContainerCreateBody = from_slice(json).unwrap();
        assert_eq!(body.config.image, "busybox");
        assert_eq!(body.config.labels.keys().collect::<Vec<_>>(), ["Key", "other"], "map keys as sent");
        assert_eq!(body.host_config.resources.memory, 1 << 20, "a flattened field");
        assert_eq!(body.host_config.binds, ["/a:/b"]);
        assert_eq!(body.host_config.restart_policy.name, "always");
        assert_eq!(body.host_config.log_config.config.keys().collect::<Vec<_>>(), ["Max-Size"]);
        let net = &body.networking_config.endpoints_config["MyNet"];
        assert_eq!(net.aliases, ["db"]);
        assert_eq!(net.ipam_config.as_ref().unwrap().ipv4_address, "10.1.0.9");
    }

    #[test]
    fn exact_keys_win_and_bad_bodies_are_errors() {
        let body: NetworkCreateRequest = from_slice(br#"{"Name": "exact", "name": "folded", "internal": true}"#).unwrap();
        assert_eq!(body.name, "exact");
        assert!(body.internal);
        assert!(from_slice::<NetworkCreateRequest>(b"{not json").is_err());
        assert!(from_slice::<NetworkCreateRequest>(br#"{"internal": "yes"}"#).is_err());
        // Nested without end: bounded, an error from serde's own depth limit at worst.
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(from_slice::<NetworkCreateRequest>(deep.as_bytes()).is_err());
    }
}
