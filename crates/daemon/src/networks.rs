//! The network service: what a container's run joins.
//!
//! - `none` (berth's default until the bridge is): a network namespace of its own,
//!   made by berthd with `lo` up (127.0.0.1 and ::1, as Docker gives every container);
//! - `bridge`: the same, and a veth pair to the default bridge (`berth0`, or the
//!   daemon's `bridge`), an address on the bridge's subnet and a route through it;
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

use crate::containers::record::Endpoint;
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
        let bridge = Bridge { device: config.bridge.clone(), gateway, prefix, ready: false, leases: BTreeMap::new() };
        Ok(Networks { netns_dir, bridge: Mutex::new(bridge) })
    }

    fn netns(&self, id: &str) -> net::Netns {
        net::Netns::at(&self.netns_dir.join(id))
    }

    /// The host end of container `id`'s veth (a device name has 15 bytes at most).
    fn host_end(id: &str) -> String {
        format!("vb{}", &id[..id.len().min(12)])
    }

    /// A running container's address, taken again at a daemon start.
    pub fn claim(&self, id: &str, endpoint: &Endpoint) {
        self.bridge.lock().expect("bridge lock").leases.insert(endpoint.ip, id.to_string());
    }

    /// Sets up what container `id`'s run joins. Blocking.
    pub fn attach(&self, id: &str, how: Attachment) -> Result<Joined> {
        match how {
            Attachment::Host | Attachment::ByRuntime => Ok(Joined::default()),
            Attachment::Isolated => Ok(Joined { netns: Some(self.namespace(id)?), endpoint: None }),
            Attachment::Bridge => {
                let (device, gateway, address) = self.lease(id)?;
                let joined = self.namespace(id).and_then(|ns| {
                    let [a, b, c, d] = address.addr.octets();
                    let made = net::link::connect(&device, &Self::host_end(id), &ns, address, gateway, [0x02, 0x42, a, b, c, d])
                        .map_err(|e| Error::internal(e.to_string()));
                    match made {
                        Ok(ep) => Ok(Joined {
                            netns: Some(ns),
                            endpoint: Some(Endpoint { network: "bridge".into(), ip: address.addr, prefix: address.prefix, gateway, mac: ep.mac }),
                        }),
                        Err(e) => {
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

    /// An address on the bridge for container `id` (the bridge made at the first).
    fn lease(&self, id: &str) -> Result<(String, Ipv4Addr, net::link::Cidr)> {
        let mut bridge = self.bridge.lock().expect("bridge lock");
        if !bridge.ready {
            let gateway = net::link::Cidr { addr: bridge.gateway, prefix: bridge.prefix };
            net::link::ensure_bridge(&bridge.device, gateway).map_err(|e| Error::internal(format!("the default bridge: {e}")))?;
            bridge.ready = true;
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
    /// its address back. Blocking; safe to repeat.
    pub fn detach(&self, id: &str) {
        let host_end = Self::host_end(id);
        // A stat first: most runs have no veth, and asking netlink costs a thread.
        if std::path::Path::new("/sys/class/net").join(&host_end).exists()
            && let Err(e) = net::link::remove(&host_end)
        {
            tracing::warn!(container = %id, "{e}");
        }
        if let Err(e) = self.netns(id).remove() {
            tracing::warn!(container = %id, "{e}");
        }
        self.bridge.lock().expect("bridge lock").leases.retain(|_, holder| holder != id);
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
