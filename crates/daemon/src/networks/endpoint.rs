//! A container's place on networks: the networks it asks to be connected to
//! ([`NetworkAttachment`], kept in its record), what a run gets on each
//! ([`Endpoint`]), and the ports it publishes on the host ([`PublishedPort`]).

use serde::{Deserialize, Serialize};

/// A run's place on a network, as inspect shows it under `NetworkSettings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The network's name (`bridge`).
    pub network: String,
    #[serde(default)]
    pub network_id: String,
    /// `EndpointID`: 64 hex digits, new for each run.
    #[serde(default)]
    pub endpoint_id: String,
    /// Which of the container's interfaces it is: `eth<slot>`.
    #[serde(default)]
    pub slot: u8,
    pub ip: std::net::Ipv4Addr,
    pub prefix: u8,
    pub gateway: std::net::Ipv4Addr,
    pub mac: String,
}

/// A network the container is connected to, as asked at create or by `network
/// connect` (`EndpointsConfig`): kept across runs, each run given an [`Endpoint`]
/// on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAttachment {
    /// The network's name when connected (Docker's networks are never renamed).
    pub network: String,
    /// Its id; empty in records from before networks had ids.
    #[serde(default)]
    pub network_id: String,
    /// `--network-alias`: more names of the container on this network.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// `--ip`: the address asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<std::net::Ipv4Addr>,
}

/// A container port published on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPort {
    /// `tcp`, `udp` or `sctp`.
    pub proto: String,
    pub container_port: u16,
    /// Only this host address; every one when none.
    pub host_ip: Option<std::net::Ipv4Addr>,
    /// Asked for (0: any free one), or given once published.
    pub host_port: u16,
}

/// A `PORT[/PROTO]` key of `ExposedPorts` or `PortBindings`: the port, and the
/// protocol (`tcp` when left out).
pub fn port_key(key: &str) -> Option<(u16, &str)> {
    let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
    Some((port.parse::<u16>().ok().filter(|p| *p > 0)?, proto))
}

impl PublishedPort {
    /// The host address as inspect and `ps` show it (every one: `0.0.0.0`).
    pub fn shown_host_ip(&self) -> String {
        self.host_ip.map_or_else(|| "0.0.0.0".to_string(), |ip| ip.to_string())
    }

    /// `HostConfig.PortBindings` as Docker reads it: `PORT/PROTO` keys (the protocol
    /// `tcp` when left out), each with host bindings whose port is a number or empty
    /// (any free one) and whose address is IPv4 or empty (all of them).
    pub fn from_bindings(map: &api::hostconfig::PortMap) -> Result<Vec<PublishedPort>, String> {
        let mut out = Vec::new();
        let mut keys: Vec<_> = map.iter().collect();
        keys.sort_by(|a, b| a.0.cmp(b.0));
        for (key, bindings) in keys {
            let (container_port, proto) = port_key(key).ok_or_else(|| format!("invalid port specification: {key:?}"))?;
            if !matches!(proto, "tcp" | "udp" | "sctp") {
                return Err(format!("invalid proto: {proto}"));
            }
            for b in bindings.iter().flatten() {
                let host_ip = match b.host_ip.as_str() {
                    "" | "0.0.0.0" => None,
                    ip => Some(ip.parse::<std::net::Ipv4Addr>().map_err(|_| format!("invalid host IP {ip:?}: berth publishes on IPv4 addresses"))?),
                };
                let host_port = match b.host_port.as_str() {
                    "" => 0,
                    p => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| format!("invalid host port {p:?}: a number from 1 to 65535 (ranges are not supported yet)"))?,
                };
                out.push(PublishedPort { proto: proto.to_string(), container_port, host_ip, host_port });
            }
        }
        Ok(out)
    }
}

