//! The network service: what a container's run joins.
//!
//! - `none`: a network namespace of its own, made by berthd with `lo` up (127.0.0.1
//!   and ::1, as Docker gives every container);
//! - `bridge` (the default, as Docker's): the same, and a veth pair to the default
//!   bridge (`berth0`, or the
//!   daemon's `bridge`), an address on the bridge's subnet and a route through it; its
//!   published ports are DNAT rules in an nftables table of berth's own
//!   (`berth_<bridge>`), which also masquerades the bridge's outbound traffic;
//! - `host`: the host's namespace.
//!
//! The runtime joins the namespace by its path, so that it is the same with berth's
//! runtime, runc and crun. A namespace lives on a file under `<exec-root>/netns/`, made
//! at the start of a run and removed at its end; what a crashed berthd left there is
//! removed at the next start. An address is leased to one run at a time; the leases
//! of running containers are taken again from their records at a daemon start.
//!
//! Containers in a user namespace of their own (`userns-remap`) still get theirs from
//! the runtime (`lo` down, no bridge): joining one made outside their user namespace
//! would keep sysfs from being mounted inside.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::containers::record::{Endpoint, PublishedPort};
use crate::error::{Error, Result};

/// How a run is networked, as the container service asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment {
    /// A namespace of its own with a loopback only.
    Isolated,
    /// A namespace of its own on the default bridge.
    Bridge,
    /// The host's namespace.
    Host,
    /// A namespace the runtime makes (a remapped container's).
    ByRuntime,
}

/// How a run is networked, with what it joins: a namespace of its own, or another
/// running container's (`container:`), at its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Join {
    Attach(Attachment),
    Namespace(PathBuf),
}

/// What a run joins: the namespace to enter by path, and its place on a network.
#[derive(Debug, Default)]
pub struct Joined {
    pub netns: Option<PathBuf>,
    pub endpoint: Option<Endpoint>,
}

/// The default bridge network.
struct Bridge {
    device: String,
    gateway: Ipv4Addr,
    prefix: u8,
    /// Made (or found) since this berthd started.
    ready: bool,
    /// Address → the container whose run holds it.
    leases: BTreeMap<Ipv4Addr, String>,
    /// Container → the ports published for its run.
    forwards: BTreeMap<String, Vec<net::nat::Forward>>,
}

impl Bridge {
    /// berth's nftables table for this bridge.
    fn table(&self) -> String {
        let safe: String = self.device.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        format!("berth_{safe}")
    }

    fn subnet(&self) -> (Ipv4Addr, u8) {
        let mask = u32::MAX << (32 - self.prefix);
        (Ipv4Addr::from(u32::from(self.gateway) & mask), self.prefix)
    }

    /// The bridge up with its address, and the table as the forwards say.
    fn make_ready(&mut self) -> Result<()> {
        if !self.ready {
            let gateway = net::link::Cidr { addr: self.gateway, prefix: self.prefix };
            net::link::ensure_bridge(&self.device, gateway).map_err(|e| Error::internal(format!("the default bridge: {e}")))?;
            net::nat::allow_localhost(&self.device).map_err(|e| Error::internal(format!("route_localnet on {}: {e}", self.device)))?;
            self.ready = true;
        }
        self.apply()
    }

    /// Replaces berth's table with what the forwards say now.
    fn apply(&self) -> Result<()> {
        let forwards: Vec<net::nat::Forward> = self.forwards.values().flatten().cloned().collect();
        let table = self.table();
        net::nat::apply(&net::nat::Table { name: &table, bridge: &self.device, subnet: self.subnet(), forwards: &forwards })
            .map_err(|e| Error::internal(e.to_string()))
    }

    /// Whether a host port is forwarded already (on `ip`, or on every address).
    fn taken(&self, proto: net::nat::Proto, ip: Option<Ipv4Addr>, port: u16) -> bool {
        self.forwards
            .values()
            .flatten()
            .any(|f| f.proto == proto && f.host_port == port && (f.host_ip.is_none() || ip.is_none() || f.host_ip == ip))
    }

    /// A free host port for `proto`: one the kernel would hand out now, and no
    /// forward's.
    fn free_port(&self, proto: net::nat::Proto, ip: Option<Ipv4Addr>) -> Option<u16> {
        use net::nat::Proto;
        for attempt in 0..100u16 {
            let port = match proto {
                Proto::Tcp => std::net::TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?.local_addr().ok()?.port(),
                Proto::Udp => std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?.local_addr().ok()?.port(),
                // Docker's ephemeral range, in order.
                Proto::Sctp => 32768 + attempt,
            };
            if !self.taken(proto, ip, port) {
                return Some(port);
            }
        }
        None
    }
}

pub struct Networks {
    /// `<exec-root>/netns`: one file per running container that has a namespace of berthd's.
    netns_dir: PathBuf,
    bridge: Mutex<Bridge>,
}

/// Docker's default bridge subnets, tried in order: the first that no route of the
/// host covers or falls in.
fn default_subnet() -> (Ipv4Addr, u8) {
    let routes = host_routes();
    let clashes = |net: u32, prefix: u8| {
        let mask = |p: u8| if p == 0 { 0 } else { u32::MAX << (32 - p) };
        routes.iter().any(|&(dest, p)| {
            let m = mask(p.min(prefix));
            // Either network contains the other.
            dest & m == net & m && p > 0
        })
    };
    for b in 17..=31u8 {
        let net = u32::from(Ipv4Addr::new(172, b, 0, 0));
        if !clashes(net, 16) {
            return (Ipv4Addr::new(172, b, 0, 1), 16);
        }
    }
    (Ipv4Addr::new(192, 168, 215, 1), 24)
}

/// The host's IPv4 routes (destination, prefix), from /proc/net/route.
fn host_routes() -> Vec<(u32, u8)> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dest = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            // The kernel prints the network-order word as a native (little-endian) one.
            Some((u32::from_be_bytes(dest.to_le_bytes()), mask.count_ones() as u8))
        })
        .collect()
}

impl Networks {
    pub fn open(config: &crate::config::Config) -> std::io::Result<Networks> {
        let netns_dir = config.exec_root.join("netns");
        std::fs::create_dir_all(&netns_dir)?;
        let (gateway, prefix) = config.bip.unwrap_or_else(default_subnet);
        let bridge = Bridge {
            device: config.bridge.clone(),
            gateway,
            prefix,
            ready: false,
            leases: BTreeMap::new(),
            forwards: BTreeMap::new(),
        };
        Ok(Networks { netns_dir, bridge: Mutex::new(bridge) })
    }

    fn netns(&self, id: &str) -> net::Netns {
        net::Netns::at(&self.netns_dir.join(id))
    }

    /// The host end of container `id`'s veth (a device name has 15 bytes at most).
    fn host_end(id: &str) -> String {
        format!("vb{}", &id[..id.len().min(12)])
    }

    /// A running container's address and ports, taken again at a daemon start.
    pub fn claim(&self, id: &str, endpoint: &Endpoint) {
        let mut bridge = self.bridge.lock().expect("bridge lock");
        bridge.leases.insert(endpoint.ip, id.to_string());
        let forwards: Vec<_> = endpoint.ports.iter().filter_map(|p| forward(endpoint.ip, p)).collect();
        if !forwards.is_empty() {
            bridge.forwards.insert(id.to_string(), forwards);
        }
    }

    /// Once the running containers are claimed at a daemon start: the bridge and the
    /// table as they say (a container that exited while berthd was away loses its
    /// ports at its run's end, as any other).
    pub fn resume(&self) -> Result<()> {
        let mut bridge = self.bridge.lock().expect("bridge lock");
        if bridge.leases.is_empty() {
            return Ok(());
        }
        bridge.make_ready()
    }

    /// Sets up what container `id`'s run joins, with `ports` published (on the
    /// bridge only). Blocking.
    pub fn attach(&self, id: &str, join: Join, ports: &[PublishedPort]) -> Result<Joined> {
        let how = match join {
            Join::Namespace(path) => return Ok(Joined { netns: Some(path), endpoint: None }),
            Join::Attach(how) => how,
        };
        match how {
            Attachment::Host | Attachment::ByRuntime => Ok(Joined::default()),
            Attachment::Isolated => Ok(Joined { netns: Some(self.namespace(id)?), endpoint: None }),
            Attachment::Bridge => {
                let (device, gateway, address) = self.lease(id)?;
                let joined = self.namespace(id).and_then(|ns| {
                    let [a, b, c, d] = address.addr.octets();
                    let made = net::link::connect(&device, &Self::host_end(id), &ns, address, gateway, [0x02, 0x42, a, b, c, d])
                        .map_err(|e| Error::internal(e.to_string()));
                    let published = made.and_then(|ep| Ok((ep, self.publish(id, address.addr, ports)?)));
                    match published {
                        Ok((ep, ports)) => Ok(Joined {
                            netns: Some(ns),
                            endpoint: Some(Endpoint { network: "bridge".into(), ip: address.addr, prefix: address.prefix, gateway, mac: ep.mac, ports }),
                        }),
                        Err(e) => {
                            let _ = net::link::remove(&Self::host_end(id));
                            let _ = net::Netns::at(&ns).remove();
                            Err(e)
                        }
                    }
                });
                if joined.is_err() {
                    self.bridge.lock().expect("bridge lock").leases.remove(&address.addr);
                }
                joined
            }
        }
    }

    /// A namespace of its own for container `id`, `lo` up.
    fn namespace(&self, id: &str) -> Result<PathBuf> {
        // One left by a run whose end berthd did not see goes first.
        let stale = self.netns(id);
        stale.remove().map_err(|e| Error::internal(e.to_string()))?;
        let ns = net::Netns::create(stale.path()).map_err(|e| Error::internal(e.to_string()))?;
        Ok(ns.path().to_path_buf())
    }

    /// Forwards `ports` of container `id` (at `ip`) from the host; returns them with
    /// the host ports they got.
    fn publish(&self, id: &str, ip: Ipv4Addr, ports: &[PublishedPort]) -> Result<Vec<PublishedPort>> {
        if ports.is_empty() {
            return Ok(Vec::new());
        }
        let mut bridge = self.bridge.lock().expect("bridge lock");
        let mut given = Vec::new();
        let mut forwards: Vec<net::nat::Forward> = Vec::new();
        for p in ports {
            let proto = net::nat::Proto::parse(&p.proto).ok_or_else(|| Error::invalid(format!("invalid proto: {}", p.proto)))?;
            let clashes = |port: u16| bridge.taken(proto, p.host_ip, port) || forwards.iter().any(|f| f.proto == proto && f.host_port == port);
            let host_port = match p.host_port {
                0 => bridge
                    .free_port(proto, p.host_ip)
                    .filter(|port| !clashes(*port))
                    .ok_or_else(|| Error::unavailable("no free host port left to publish on"))?,
                port if clashes(port) => {
                    let on = p.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
                    return Err(Error::internal(format!(
                        "driver failed programming external connectivity on endpoint {id}: Bind for {on}:{port} failed: port is already allocated"
                    )));
                }
                port => port,
            };
            let published = PublishedPort { host_port, ..p.clone() };
            forwards.extend(forward(ip, &published));
            given.push(published);
        }
        bridge.forwards.insert(id.to_string(), forwards);
        if let Err(e) = bridge.apply() {
            bridge.forwards.remove(id);
            return Err(e);
        }
        Ok(given)
    }

    /// An address on the bridge for container `id` (the bridge made at the first).
    fn lease(&self, id: &str) -> Result<(String, Ipv4Addr, net::link::Cidr)> {
        let mut bridge = self.bridge.lock().expect("bridge lock");
        if !bridge.ready {
            bridge.make_ready()?;
        }
        let (gateway, prefix) = (bridge.gateway, bridge.prefix);
        let mask = u32::MAX << (32 - prefix);
        let network = u32::from(gateway) & mask;
        let broadcast = network | !mask;
        // The lowest free address after the gateway, as Docker hands them out.
        let free = (network + 1..broadcast)
            .map(Ipv4Addr::from)
            .find(|a| *a != gateway && !bridge.leases.contains_key(a))
            .ok_or_else(|| Error::unavailable(format!("no address left on the default bridge's {}/{prefix}", Ipv4Addr::from(network))))?;
        bridge.leases.insert(free, id.to_string());
        Ok((bridge.device.clone(), gateway, net::link::Cidr { addr: free, prefix }))
    }

    /// Removes what [`Self::attach`] made for container `id`, if anything, and gives
    /// its address back. Blocking; safe to repeat. The veth is not deleted one device
    /// at a time (each waits for an RCU grace period, tens of milliseconds): the run's
    /// processes are gone, so once its namespace is unmounted the kernel tears the
    /// namespace down, and the pair with it, in the background.
    pub fn detach(&self, id: &str) {
        if let Err(e) = self.netns(id).remove() {
            tracing::warn!(container = %id, "{e}");
        }
        let mut bridge = self.bridge.lock().expect("bridge lock");
        bridge.leases.retain(|_, holder| holder != id);
        if bridge.forwards.remove(id).is_some()
            && let Err(e) = bridge.apply()
        {
            tracing::warn!(container = %id, "{}", e.message);
        }
    }

    /// At daemon start: the namespaces of containers that do not run any more (berthd
    /// died before their run's end) are removed.
    pub fn reconcile(&self, runs: impl Fn(&str) -> bool) {
        for entry in std::fs::read_dir(&self.netns_dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !runs(&name) {
                self.detach(&name);
            }
        }
    }
}

/// The forward of a published port to a container at `ip`.
fn forward(ip: Ipv4Addr, p: &PublishedPort) -> Option<net::nat::Forward> {
    Some(net::nat::Forward {
        proto: net::nat::Proto::parse(&p.proto)?,
        host_ip: p.host_ip,
        host_port: p.host_port,
        container_ip: ip,
        container_port: p.container_port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_subnet_avoids_the_hosts_routes() {
        let (gateway, prefix) = default_subnet();
        assert_eq!(prefix, if gateway.octets()[0] == 172 { 16 } else { 24 });
        let net = u32::from(gateway) & (u32::MAX << (32 - prefix));
        for (dest, p) in host_routes().into_iter().filter(|(_, p)| *p > 0) {
            let m = u32::MAX << (32 - p.min(prefix));
            assert_ne!(dest & m, net & m, "{gateway}/{prefix} clashes with a route");
        }
    }

    #[test]
    fn routes_read_as_networks() {
        // Every network the host routes to has its own address inside it.
        let routes = host_routes();
        assert!(routes.iter().all(|(_, p)| *p <= 32));
        let own: Vec<String> = std::fs::read_to_string("/proc/net/fib_trie").unwrap_or_default().lines().map(|l| l.trim().to_string()).collect();
        for (dest, p) in routes.into_iter().filter(|(_, p)| *p > 0) {
            let net = Ipv4Addr::from(dest);
            assert!(own.iter().any(|l| l.contains(&net.to_string())), "{net}/{p} is not among the host's networks");
        }
    }
}
