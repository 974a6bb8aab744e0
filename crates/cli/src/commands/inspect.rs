//! docker's inspector, shared by `inspect` of any object, `container inspect`,
//! `network inspect` and `volume inspect`: the daemon's JSON re-indented with four
//! spaces in one array, compact with `-f json`, or a template run once per object,
//! on the typed object (a container's, an image's, a network's, a volume's fields
//! in docker's order) and, where that fails, on the raw JSON (maps), as docker
//! falls back to it for the objects it fetched with their JSON.

use api::containers::ContainerInspect;
use api::images::ImageInspect;
use api::networks::{IpamConfig, Network, NetworkContainer};
use api::volumes::Volume;

use crate::context::Cli;
use crate::error::{CliError, Result};
use crate::format::gofmt::{go_time_json, go_time_of};
use crate::format::json::{compact_json, indent_json};
use crate::format::{Struct, Template, Value, to_value};

/// One inspected object: the JSON printed without a template and the value
/// templates see.
pub struct Element {
    pub raw: Vec<u8>,
    pub typed: Value,
    /// Whether a template that fails on `typed` is retried on `raw`: docker
    /// retries where it kept the daemon's JSON, not where it holds only the
    /// Go value (`volume inspect`).
    pub fallback: bool,
}

impl Element {
    /// An object as the daemon sent it, templates seeing [`typed_value`].
    pub fn from_raw(kind: &str, raw: Vec<u8>) -> Self {
        let typed = typed_value(kind, &raw);
        Element { raw, typed, fallback: true }
    }

    /// An object docker holds only as a Go value: its JSON is that value's,
    /// marshalled, and a failing template is not retried.
    pub fn typed_only(typed: Value) -> Self {
        Element { raw: typed.to_json_marshal().into_bytes(), typed, fallback: false }
    }
}

/// The value templates see for `raw`: the API type for containers, images,
/// networks and volumes, else the JSON itself.
pub fn typed_value(kind: &str, raw: &[u8]) -> Value {
    let as_json = || serde_json::from_slice::<serde_json::Value>(raw).map(Value::from).unwrap_or(Value::Null);
    let typed = match kind {
        "container" => serde_json::from_slice::<ContainerInspect>(raw).ok().and_then(|c| to_value(&c).ok()),
        "image" => serde_json::from_slice::<ImageInspect>(raw).ok().and_then(|i| to_value(&i).ok()),
        "network" => network_value(raw),
        "volume" => serde_json::from_slice::<Volume>(raw).ok().map(|v| volume_value(&v)),
        _ => None,
    };
    typed.unwrap_or_else(as_json)
}

fn ipam_config(c: &IpamConfig) -> Value {
    Struct::new("network.IPAMConfig")
        .field_omitempty("Subnet", &c.subnet)
        .field_omitempty("IPRange", &c.ip_range)
        .field_omitempty("Gateway", &c.gateway)
        .field_omitempty("AuxiliaryAddresses", c.auxiliary_addresses.clone())
        .into()
}

fn endpoint(e: &NetworkContainer) -> Value {
    Struct::new("network.EndpointResource")
        .field("Name", &e.name)
        .field("EndpointID", &e.endpoint_id)
        .field("MacAddress", &e.mac_address)
        .field("IPv4Address", &e.ipv4_address)
        .field("IPv6Address", &e.ipv6_address)
        .into()
}

/// The value templates see for a network's JSON: docker's `network.Inspect`
/// (fields in its order, under their JSON names), or `None` when the JSON is
/// not a network.
pub fn network_value(raw: &[u8]) -> Option<Value> {
    let n: Network = serde_json::from_slice(raw).ok()?;
    let ipam = Struct::new("network.IPAM")
        .field("Driver", &n.ipam.driver)
        .field("Options", n.ipam.options.clone())
        .field("Config", n.ipam.config.iter().map(ipam_config).collect::<Vec<_>>());
    let containers: Vec<(String, Value)> = n.containers.iter().map(|(id, e)| (id.clone(), endpoint(e))).collect();
    Some(
        Struct::new("network.Inspect")
            .field("Name", &n.name)
            .field("Id", &n.id)
            .field_json("Created", go_time_of(&n.created), go_time_json(&n.created))
            .field("Scope", &n.scope)
            .field("Driver", &n.driver)
            .field("EnableIPv4", n.enable_ipv4)
            .field("EnableIPv6", n.enable_ipv6)
            .field("IPAM", ipam)
            .field("Internal", n.internal)
            .field("Attachable", n.attachable)
            .field("Ingress", n.ingress)
            .field("ConfigFrom", Struct::new("network.ConfigReference").field("Network", &n.config_from.network))
            .field("ConfigOnly", n.config_only)
            .field("Containers", Value::map(containers))
            .field("Options", n.options.clone())
            .field("Labels", n.labels.clone())
            .field_omitempty("Peers", Value::List(Vec::new()))
            .field_omitempty("Services", Value::Map(Default::default()))
            .into(),
    )
}

/// Docker's `volume.Volume` (fields in its order, swarm's `ClusterVolume`
/// always nil): a nil `Status` prints `map[]`, a nil `UsageData` `<nil>`, and
/// both are left out of JSON.
pub fn volume_value(v: &Volume) -> Value {
    let status: Vec<(String, Value)> =
        v.status.iter().flatten().map(|(k, v)| (k.clone(), Value::from(v.clone()))).collect();
    let usage = v
        .usage_data
        .as_ref()
        .map(|u| Value::from(Struct::new("volume.UsageData").field("RefCount", u.ref_count).field("Size", u.size)));
    Struct::new("volume.Volume")
        .field_omitempty("ClusterVolume", Value::Null)
        .field_omitempty("CreatedAt", &v.created_at)
        .field("Driver", &v.driver)
        .field("Labels", v.labels.clone())
        .field("Mountpoint", &v.mountpoint)
        .field("Name", &v.name)
        .field("Options", v.options.clone())
        .field("Scope", &v.scope)
        .field_omitempty("Status", Value::map(status))
        .field_omitempty("UsageData", usage.unwrap_or(Value::Null))
        .into()
}

/// Prints the elements found and then the errors, docker's `inspect.Inspect`.
pub fn print(cli: &mut Cli<'_>, format: &str, found: Vec<std::result::Result<Element, String>>) -> Result<()> {
    let template = match format {
        "" | "json" => None,
        f => Some(Template::parse(f).map_err(|e| CliError::status(64, format!("template parsing error: {e}")))?),
    };
    let mut errors = Vec::new();
    let mut elements = Vec::new();
    for f in found {
        match f {
            Ok(e) => elements.push(e),
            Err(e) => errors.push(e),
        }
    }
    match template {
        None => {
            if elements.is_empty() {
                writeln!(cli.out, "[]")?;
            } else {
                let mut joined = b"[".to_vec();
                for (i, e) in elements.iter().enumerate() {
                    if i > 0 {
                        joined.push(b',');
                    }
                    joined.extend_from_slice(&e.raw);
                }
                joined.push(b']');
                let text = if format == "json" { compact_json(&joined) } else { indent_json(&joined, "    ") };
                writeln!(cli.out, "{text}")?;
            }
        }
        Some(t) => {
            let mut buffer = String::new();
            for e in &elements {
                let rendered = t.render(&e.typed).or_else(|err| {
                    if !e.fallback {
                        return Err(err);
                    }
                    let raw = serde_json::from_slice::<serde_json::Value>(&e.raw).map(Value::from);
                    t.render_missingkey_error(&raw.unwrap_or(Value::Null))
                });
                match rendered {
                    Ok(s) => {
                        buffer.push_str(&s);
                        buffer.push('\n');
                    }
                    Err(err) => errors.push(format!("template parsing error: {err}")),
                }
            }
            if buffer.is_empty() {
                buffer.push('\n');
            }
            cli.out.write_all(buffer.as_bytes())?;
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(CliError::status(1, errors.join("\n"))) }
}
