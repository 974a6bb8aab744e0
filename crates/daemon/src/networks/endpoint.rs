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
    /// On a network with IPv6: the address, its prefix and the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Ipv6Endpoint>,
}

/// A run's IPv6 place on a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ipv6Endpoint {
    pub ip: std::net::Ipv6Addr,
    pub prefix: u8,
    pub gateway: std::net::Ipv6Addr,
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
    /// `--ip6`: the IPv6 address asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<std::net::Ipv6Addr>,
    /// `--mac-address`: the interface's hardware address asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<Mac>,
}

impl NetworkAttachment {
    /// On network `network` (id `network_id`), with nothing more asked.
    pub fn to(network: impl Into<String>, network_id: impl Into<String>) -> NetworkAttachment {
        NetworkAttachment { network: network.into(), network_id: network_id.into(), aliases: Vec::new(), ipv4: None, ipv6: None, mac: None }
    }
}

/// An Ethernet address, `02:42:ac:11:00:02`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Mac(pub [u8; 6]);

impl std::str::FromStr for Mac {
    type Err = String;

    fn from_str(s: &str) -> Result<Mac, String> {
        let bad = || format!("invalid MAC address: {s}");
        let parts: Vec<&str> = s.split([':', '-']).collect();
        if parts.len() != 6 {
            return Err(bad());
        }
        let mut out = [0u8; 6];
        for (o, p) in out.iter_mut().zip(parts) {
            *o = u8::from_str_radix(p, 16).ok().filter(|_| p.len() == 2).ok_or_else(bad)?;
        }
        Ok(Mac(out))
    }
}

impl std::fmt::Display for Mac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl From<Mac> for String {
    fn from(m: Mac) -> String {
        m.to_string()
    }
}

impl TryFrom<String> for Mac {
    type Error = String;

    fn try_from(s: String) -> Result<Mac, String> {
        s.parse()
    }
}

/// A container port published on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPort {
    /// `tcp`, `udp` or `sctp`.
    pub proto: String,
    pub container_port: u16,
    /// Only this host address (IPv4 or IPv6); every one, of both families, when none.
    pub host_ip: Option<std::net::IpAddr>,
    /// Asked for (0: any free one), or given once published.
    pub host_port: u16,
    /// Asked for a range of host ports (`8000-8010`), its last one: the first free
    /// one of the range is given.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub host_port_last: u16,
}

fn is_zero(n: &u16) -> bool {
    *n == 0
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
                let host_ip = match b.host_ip.trim_start_matches('[').trim_end_matches(']') {
                    "" | "0.0.0.0" => None,
                    ip => Some(ip.parse::<std::net::IpAddr>().map_err(|_| format!("invalid host IP {ip:?}"))?),
                };
                let port = |p: &str| p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| format!("invalid host port {p:?}: a number from 1 to 65535"));
                let (host_port, host_port_last) = match b.host_port.split_once('-') {
                    _ if b.host_port.is_empty() => (0, 0),
                    None => (port(&b.host_port)?, 0),
                    Some((first, last)) => {
                        let (first, last) = (port(first)?, port(last)?);
                        if last < first {
                            return Err(format!("invalid port range: {}", b.host_port));
                        }
                        (first, last)
                    }
                };
                out.push(PublishedPort { proto: proto.to_string(), container_port, host_ip, host_port, host_port_last });
            }
        }
        Ok(out)
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use api::hostconfig::{PortBinding, PortMap};

    fn bindings(key: &str, host_port: &str) -> PortMap {
        [(key.to_string(), Some(vec![PortBinding { host_ip: String::new(), host_port: host_port.into() }]))].into()
    }

    #[test]
    fn host_ports_read_as_docker_sends_them() {
        let one = PublishedPort::from_bindings(&bindings("80/tcp", "8080")).unwrap();
        assert_eq!((one[0].host_port, one[0].host_port_last), (8080, 0));
        let mut v6 = bindings("80/tcp", "8080");
        v6.get_mut("80/tcp").unwrap().as_mut().unwrap()[0].host_ip = "::1".into();
        assert_eq!(PublishedPort::from_bindings(&v6).unwrap()[0].host_ip, Some("::1".parse().unwrap()));
        let any = PublishedPort::from_bindings(&bindings("53/udp", "")).unwrap();
        assert_eq!((any[0].proto.as_str(), any[0].host_port), ("udp", 0));
        // `-p 8000-8010:80`: the first free one of the range.
        let range = PublishedPort::from_bindings(&bindings("80", "8000-8010")).unwrap();
        assert_eq!((range[0].proto.as_str(), range[0].host_port, range[0].host_port_last), ("tcp", 8000, 8010));
        for bad in ["8010-8000", "0", "x", "70000", "80-"] {
            assert!(PublishedPort::from_bindings(&bindings("80/tcp", bad)).is_err(), "{bad}");
        }
        assert!(PublishedPort::from_bindings(&bindings("80/icmp", "80")).is_err());
    }
}
