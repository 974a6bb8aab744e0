//! A network as berthd keeps it: `<data-root>/networks/<id>.json`, written atomically.
//! The three networks every host has (`bridge`, `host`, `none`) are kept so too, made
//! at the first start, so that their ids stay the same across restarts.
//!
//! A create request is checked here, as Docker checks it, into a [`Definition`].

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use api::networks::NetworkCreateRequest;
use chrono::{DateTime, Utc};
use net::ipam::{Pool, Pool6, Subnet, Subnet6};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// `com.docker.network.bridge.*` and `com.docker.network.driver.mtu`, Docker's
/// option names.
pub mod option {
    pub const BRIDGE_NAME: &str = "com.docker.network.bridge.name";
    pub const MASQUERADE: &str = "com.docker.network.bridge.enable_ip_masquerade";
    pub const ICC: &str = "com.docker.network.bridge.enable_icc";
    pub const HOST_BINDING: &str = "com.docker.network.bridge.host_binding_ipv4";
    pub const DEFAULT_BRIDGE: &str = "com.docker.network.bridge.default_bridge";
    pub const MTU: &str = "com.docker.network.driver.mtu";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    Bridge,
    Host,
    Null,
}

impl Driver {
    pub fn as_str(self) -> &'static str {
        match self {
            Driver::Bridge => "bridge",
            Driver::Host => "host",
            Driver::Null => "null",
        }
    }
}

/// A bridge network's device and addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeConfig {
    /// The bridge device: `br-<12 digits of the id>`, or the one named.
    pub device: String,
    pub subnet: Subnet,
    pub gateway: Ipv4Addr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Subnet>,
    /// `--aux-address NAME=IP`: kept out of the pool.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub aux: BTreeMap<String, Ipv4Addr>,
    /// The user named the subnet: `--ip` is allowed on such networks only.
    #[serde(default)]
    pub configured: bool,
    pub masquerade: bool,
    pub icc: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// Its IPv6 network (`--ipv6`), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Ipv6Config>,
    /// The bridge was there before the network (named with `-o …bridge.name`): it is
    /// the host's, left in place when the network goes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adopted: bool,
}

/// A network's IPv6 subnet and gateway, and where in it addresses are handed out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ipv6Config {
    pub subnet: Subnet6,
    pub gateway: std::net::Ipv6Addr,
    /// Named by the user (not a unique local one berth chose).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub configured: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Subnet6>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub aux: BTreeMap<String, std::net::Ipv6Addr>,
}

impl Ipv6Config {
    /// Berth's choice for a network asked for IPv6 without a subnet.
    pub fn chosen(subnet: Subnet6) -> Ipv6Config {
        let gateway = subnet.nth(1).expect("a /64 has hosts");
        Ipv6Config { subnet, gateway, configured: false, range: None, aux: BTreeMap::new() }
    }

    pub fn pool(&self) -> Pool6 {
        Pool6 { subnet: self.subnet, gateway: self.gateway, range: self.range, reserved: self.aux.values().copied().collect() }
    }
}

impl BridgeConfig {
    pub fn pool(&self) -> Pool {
        Pool { subnet: self.subnet, gateway: self.gateway, range: self.range, reserved: self.aux.values().copied().collect() }
    }
}

/// One network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Definition {
    pub id: String,
    pub name: String,
    pub driver: Driver,
    pub created: DateTime<Utc>,
    /// A bridge network's; none for `host` and `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<BridgeConfig>,
    #[serde(default)]
    pub internal: bool,
    #[serde(default)]
    pub attachable: bool,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The driver's options as given (and, for the default bridge, as Docker lists
    /// its own).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// One of the three every host has: never removed.
    #[serde(default)]
    pub predefined: bool,
}

impl Definition {
    /// Whether containers on it reach each other by name (Docker's default bridge
    /// has no embedded DNS, nor aliases).
    pub fn has_names(&self) -> bool {
        self.bridge.is_some() && !self.predefined
    }
}

/// The network directory's files.
pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn open(dir: &Path) -> std::io::Result<Store> {
        std::fs::create_dir_all(dir)?;
        Ok(Store { dir: dir.to_path_buf() })
    }

    /// Every network on disk; a file that does not parse is skipped with a warning
    /// (and kept, for a newer berthd or a human to read).
    pub fn load(&self) -> Vec<Definition> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            match std::fs::read(&path).map_err(|e| e.to_string()).and_then(|b| serde_json::from_slice::<Definition>(&b).map_err(|e| e.to_string())) {
                Ok(def) => out.push(def),
                Err(e) => tracing::warn!(file = %path.display(), "network record skipped: {e}"),
            }
        }
        out
    }

    pub fn save(&self, def: &Definition) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(def).map_err(|e| Error::internal(e.to_string()))?;
        atomic_file::write(&self.dir.join(format!("{}.json", def.id)), &bytes, atomic_file::Durability::Durable)
            .map_err(|e| Error::internal(format!("save network {}: {e}", def.name)))
    }

    pub fn remove(&self, id: &str) -> Result<()> {
        match std::fs::remove_file(self.dir.join(format!("{id}.json"))) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::internal(format!("remove network {id}: {e}"))),
            _ => Ok(()),
        }
    }
}

/// A new 64-digit id (a network's, an endpoint's).
pub fn new_id() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).expect("read /dev/urandom");
    hex::encode(bytes)
}

/// Docker's rule for network names: a letter or digit, then letters, digits, `_`,
/// `.` and `-`.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric()) && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn parse_bool(key: &str, v: &str) -> Result<bool> {
    match v {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(Error::invalid(format!("invalid value {v:?} for option {key}: true or false"))),
    }
}

/// What a create request asks, checked: the network it makes, its subnet still to be
/// chosen when `bridge.subnet` is none.
pub struct Asked {
    pub def: Definition,
    /// The subnet the user named, if any.
    pub subnet: Option<Subnet>,
    pub gateway: Option<Ipv4Addr>,
    /// IPv6 is on: a unique local subnet is chosen when none is named.
    pub ipv6: bool,
}

/// Checks a create request as Docker does. The subnet is chosen by the caller (it
/// knows the other networks).
pub fn check(req: &NetworkCreateRequest) -> Result<Asked> {
    let name = req.name.trim();
    if name.is_empty() {
        return Err(Error::invalid("network name must not be empty"));
    }
    if !valid_name(name) {
        return Err(Error::invalid(format!("invalid network name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")));
    }
    match req.driver.as_str() {
        "" | "bridge" => {}
        "host" | "null" => return Err(Error::forbidden(format!("only one instance of \"{}\" network is allowed", req.driver))),
        other => return Err(Error::not_found(format!("plugin \"{other}\" not found"))),
    }
    if req.ingress || req.config_only || req.config_from.as_ref().is_some_and(|c| !c.network.is_empty()) {
        return Err(Error::not_implemented("swarm networks (ingress, config-only, config-from) are not supported"));
    }
    if !matches!(req.scope.as_str(), "" | "local") {
        return Err(Error::not_implemented(format!("scope {:?} is not supported: berth's networks are local", req.scope)));
    }
    if req.enable_ipv4 == Some(false) {
        return Err(Error::not_implemented("networks without IPv4 are not supported yet"));
    }
    let ipam = req.ipam.clone().unwrap_or_default();
    if !matches!(ipam.driver.as_str(), "" | "default") {
        return Err(Error::not_found(format!("plugin \"{}\" not found", ipam.driver)));
    }
    let (mut subnet, mut gateway, mut range, mut aux) = (None, None, None, BTreeMap::new());
    let mut ipv6: Option<Ipv6Config> = None;
    let ipv6_on = req.enable_ipv6 == Some(true);
    for c in &ipam.config {
        if c.subnet.contains(':') || c.gateway.contains(':') {
            if !ipv6_on {
                return Err(Error::invalid(format!("an IPv6 subnet ({}) needs IPv6 enabled on the network (--ipv6)", c.subnet)));
            }
            if ipv6.is_some() {
                return Err(Error::not_implemented("more than one IPv6 subnet on a network is not supported"));
            }
            let bad = |e: net::ipam::Error| Error::invalid(format!("invalid network config:\n{e}"));
            let s6: Subnet6 = c.subnet.parse().map_err(bad)?;
            let g6 = match c.gateway.as_str() {
                "" => None,
                g => Some(g.parse::<std::net::Ipv6Addr>().map_err(|_| Error::invalid(format!("invalid gateway address {g:?}")))?),
            };
            let range = match c.ip_range.as_str() {
                "" => None,
                r => Some(r.parse::<Subnet6>().map_err(bad)?),
            };
            let mut aux = BTreeMap::new();
            for (k, v) in &c.auxiliary_addresses {
                let ip = v.parse::<std::net::Ipv6Addr>().map_err(|_| Error::invalid(format!("invalid auxiliary address {k}={v}")))?;
                aux.insert(k.clone(), ip);
            }
            let pool = Pool6::new(s6, g6, range, aux.values().copied().collect()).map_err(bad)?;
            ipv6 = Some(Ipv6Config { subnet: s6, gateway: pool.gateway, configured: true, range, aux });
            continue;
        }
        if subnet.is_some() {
            return Err(Error::not_implemented("more than one IPv4 subnet on a network is not supported"));
        }
        if c.subnet.is_empty() {
            if !c.gateway.is_empty() || !c.ip_range.is_empty() || !c.auxiliary_addresses.is_empty() {
                return Err(Error::invalid("gateway, ip-range and aux-address need a subnet"));
            }
            continue;
        }
        let bad = |e: net::ipam::Error| Error::invalid(format!("invalid network config:\n{e}"));
        subnet = Some(c.subnet.parse::<Subnet>().map_err(bad)?);
        if !c.gateway.is_empty() {
            gateway = Some(c.gateway.parse::<Ipv4Addr>().map_err(|_| Error::invalid(format!("invalid gateway address {:?}", c.gateway)))?);
        }
        if !c.ip_range.is_empty() {
            range = Some(c.ip_range.parse::<Subnet>().map_err(bad)?);
        }
        for (k, v) in &c.auxiliary_addresses {
            let ip = v.parse::<Ipv4Addr>().map_err(|_| Error::invalid(format!("invalid auxiliary address {k}={v}")))?;
            aux.insert(k.clone(), ip);
        }
    }
    let options: BTreeMap<String, String> = req.options.clone().into_iter().collect();
    let mut masquerade = true;
    let mut icc = true;
    let mut mtu = None;
    let mut device = None;
    for (k, v) in &options {
        match k.as_str() {
            option::BRIDGE_NAME => {
                if v.is_empty() || v.len() > 15 || v.contains(['/', ' ', ':']) {
                    return Err(Error::invalid(format!("invalid bridge name {v:?}: at most 15 characters, no '/', ':' or space")));
                }
                device = Some(v.clone());
            }
            option::MASQUERADE => masquerade = parse_bool(k, v)?,
            option::ICC => icc = parse_bool(k, v)?,
            option::MTU => {
                let m = v.parse::<u32>().ok().filter(|m| (68..=65535).contains(m));
                mtu = Some(m.ok_or_else(|| Error::invalid(format!("invalid MTU {v:?}: a number from 68 to 65535")))?);
            }
            option::HOST_BINDING if v.parse::<Ipv4Addr>().is_err() => {
                return Err(Error::invalid(format!("invalid host binding address {v:?}")));
            }
            _ => {}
        }
    }
    // The pool is checked now, on a stand-in gateway when none is named, so that a
    // range or an aux address outside the subnet is refused before anything is made.
    if let Some(s) = subnet {
        Pool::new(s, gateway, range, aux.values().copied().collect()).map_err(|e| Error::invalid(format!("invalid network config:\n{e}")))?;
    }
    let id = new_id();
    let bridge = BridgeConfig {
        device: device.unwrap_or_else(|| format!("br-{}", &id[..12])),
        // Placeholders until the subnet is chosen.
        subnet: subnet.unwrap_or(Subnet::containing(Ipv4Addr::UNSPECIFIED, 32)),
        gateway: gateway.unwrap_or(Ipv4Addr::UNSPECIFIED),
        range,
        aux,
        configured: subnet.is_some(),
        masquerade,
        icc,
        mtu,
        ipv6,
        adopted: false,
    };
    let def = Definition {
        id,
        name: name.to_string(),
        driver: Driver::Bridge,
        created: Utc::now(),
        bridge: Some(bridge),
        internal: req.internal,
        attachable: req.attachable,
        labels: req.labels.clone().into_iter().collect(),
        options,
        predefined: false,
    };
    Ok(Asked { def, subnet, gateway, ipv6: ipv6_on })
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::networks::{Ipam, IpamConfig};

    fn req(name: &str) -> NetworkCreateRequest {
        NetworkCreateRequest { name: name.into(), ..Default::default() }
    }

    #[test]
    fn a_plain_request_makes_a_bridge_network() {
        let a = check(&req("backend")).unwrap();
        assert_eq!(a.def.driver, Driver::Bridge);
        let b = a.def.bridge.unwrap();
        assert_eq!(b.device, format!("br-{}", &a.def.id[..12]));
        assert!(b.masquerade && b.icc && !b.configured);
        assert!(a.subnet.is_none());
    }

    #[test]
    fn requests_are_checked_as_docker_checks_them() {
        for (r, kind) in [
            (req(""), crate::error::ErrorKind::Invalid),
            (req("-bad"), crate::error::ErrorKind::Invalid),
            (NetworkCreateRequest { driver: "overlay".into(), ..req("n") }, crate::error::ErrorKind::NotFound),
            (NetworkCreateRequest { driver: "host".into(), ..req("n") }, crate::error::ErrorKind::Forbidden),
            (
                NetworkCreateRequest { ipam: Some(Ipam { driver: "dhcp".into(), ..Default::default() }), ..req("n") },
                crate::error::ErrorKind::NotFound,
            ),
        ] {
            assert_eq!(check(&r).err().map(|e| e.kind), Some(kind), "{r:?}");
        }
        let with = |c: IpamConfig| NetworkCreateRequest { ipam: Some(Ipam { config: vec![c], ..Default::default() }), ..req("n") };
        let host_bits = check(&with(IpamConfig { subnet: "10.1.0.5/16".into(), ..Default::default() })).err().unwrap();
        assert!(host_bits.message.contains("it should be 10.1.0.0/16"), "{}", host_bits.message);
        let gw_out = IpamConfig { subnet: "10.1.0.0/16".into(), gateway: "10.2.0.1".into(), ..Default::default() };
        assert!(check(&with(gw_out)).is_err());
        let range_out = IpamConfig { subnet: "10.1.0.0/16".into(), ip_range: "10.2.0.0/24".into(), ..Default::default() };
        assert!(check(&with(range_out)).is_err());
        let ok = IpamConfig {
            subnet: "10.1.0.0/16".into(),
            gateway: "10.1.255.254".into(),
            ip_range: "10.1.5.0/24".into(),
            auxiliary_addresses: [("router".to_string(), "10.1.5.1".to_string())].into(),
        };
        let a = check(&with(ok)).unwrap();
        let b = a.def.bridge.unwrap();
        assert!(b.configured);
        assert_eq!(a.gateway, Some(Ipv4Addr::new(10, 1, 255, 254)));
        assert_eq!(b.aux["router"], Ipv4Addr::new(10, 1, 5, 1));
    }

    #[test]
    fn ipv6_subnets_take_ranges_and_reserved_addresses() {
        let with = |c: IpamConfig| NetworkCreateRequest {
            enable_ipv6: Some(true),
            ipam: Some(Ipam { config: vec![c], ..Default::default() }),
            ..req("n")
        };
        let v6 = |range: &str, aux: &str| IpamConfig {
            subnet: "fd00:1::/64".into(),
            ip_range: range.into(),
            auxiliary_addresses: [("r".to_string(), aux.to_string())].into(),
            ..Default::default()
        };
        let b = check(&with(v6("fd00:1::100/120", "fd00:1::100"))).unwrap().def.bridge.unwrap();
        let six = b.ipv6.unwrap();
        assert!(six.configured);
        assert_eq!(six.gateway.to_string(), "fd00:1::1");
        assert_eq!(six.pool().next_free(|_| false).unwrap().to_string(), "fd00:1::101");
        for (range, aux, want) in [("fd00:2::/120", "fd00:1::5", "not inside"), ("fd00:1::/120", "fd00:2::5", "auxiliary"), ("fd00:1::/120", "10.0.0.1", "invalid auxiliary")] {
            let e = check(&with(v6(range, aux))).err().unwrap();
            assert!(e.message.contains(want), "{range} {aux}: {}", e.message);
        }
        let without = NetworkCreateRequest { enable_ipv6: None, ..with(v6("", "fd00:1::5")) };
        assert!(check(&without).err().unwrap().message.contains("needs IPv6 enabled"));
    }

    #[test]
    fn bridge_options_are_read() {
        let opts = |k: &str, v: &str| NetworkCreateRequest { options: [(k.to_string(), v.to_string())].into(), ..req("n") };
        assert_eq!(check(&opts(option::BRIDGE_NAME, "br-mine")).unwrap().def.bridge.unwrap().device, "br-mine");
        assert!(check(&opts(option::BRIDGE_NAME, "a-name-that-is-too-long")).is_err());
        assert!(!check(&opts(option::MASQUERADE, "false")).unwrap().def.bridge.unwrap().masquerade);
        assert!(check(&opts(option::MASQUERADE, "maybe")).is_err());
        assert_eq!(check(&opts(option::MTU, "1400")).unwrap().def.bridge.unwrap().mtu, Some(1400));
        assert!(check(&opts(option::MTU, "10")).is_err());
    }
}
