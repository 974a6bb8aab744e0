//! What a container's run joins: its namespace, its places on networks (a veth, an
//! address leased, its names) and its ports; taken back at the run's end, and claimed
//! again for the runs a daemon start finds.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use api::hostconfig::EndpointSettings;

use super::ports::{self, forwards_of};
use super::{Attachment, Endpoint, Join, Joined, Live, Member, NetworkAttachment, Networks, PublishedPort, Resident, definition, dns_servers, endpoint};
use crate::error::{Error, Result};

impl Networks {
    /// The networks a container of network mode `mode` is connected to at create:
    /// the mode's, then the other `EndpointsConfig` entries (API 1.44: several at
    /// create), each checked as Docker checks them.
    pub fn attachments(&self, mode: &str, endpoints: &BTreeMap<String, EndpointSettings>) -> Result<Vec<NetworkAttachment>> {
        let state = self.lock();
        let own_namespace = matches!(mode, "none" | "host") || mode.starts_with("container:");
        if own_namespace {
            if let Some(other) = endpoints.keys().find(|k| k.as_str() != mode) {
                return Err(Error::invalid(format!("container cannot be connected to network endpoints: {mode}, {other}")));
            }
            return Ok(Vec::new());
        }
        // As Docker, a network that does not exist (yet) is recorded by name and
        // fails the start, not the create.
        let mut keys: Vec<&str> = vec![mode];
        let mut rest: Vec<&str> = endpoints.keys().map(String::as_str).filter(|k| *k != mode).collect();
        rest.sort();
        keys.extend(rest);
        let mut out: Vec<NetworkAttachment> = Vec::new();
        for key in keys {
            let settings = endpoints.get(key);
            let a = match state.find(key) {
                Ok(live) => {
                    if live.def.bridge.is_none() {
                        return Err(Error::invalid(format!("container cannot be connected to network endpoints: {mode}, {key}")));
                    }
                    attachment(live, settings.or_else(|| endpoints.get(&live.def.name)).or_else(|| endpoints.get(&live.def.id)))?
                }
                Err(e) if e.kind == crate::error::ErrorKind::NotFound => {
                    let aliases = settings.map(|s| s.aliases.clone()).unwrap_or_default();
                    let ipam = settings.and_then(|s| s.ipam_config.as_ref());
                    let ipv4 = ipam.and_then(|c| c.ipv4_address.parse().ok());
                    let ipv6 = ipam.and_then(|c| c.ipv6_address.parse().ok());
                    let mac = settings.map(|s| s.mac_address.as_str()).filter(|m| !m.is_empty()).map(str::parse).transpose().map_err(Error::invalid)?;
                    NetworkAttachment { network: key.to_string(), network_id: String::new(), aliases, ipv4, ipv6, mac }
                }
                Err(e) => return Err(e),
            };
            if !out.iter().any(|o| o.network_id == a.network_id && o.network == a.network) {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// A running container's places and ports, taken again at a daemon start.
    pub fn claim(&self, member: Member, endpoints: &[Endpoint], attached: &[NetworkAttachment], ports: &[PublishedPort]) {
        let mut state = self.lock();
        for ep in endpoints {
            let id = state.recorded(&ep.network_id, &ep.network).map(|n| n.def.id.clone());
            let Some(live) = id.and_then(|id| state.networks.get_mut(&id)) else {
                tracing::warn!(container = %member.id, network = %ep.network, "a running container's network is gone");
                continue;
            };
            live.leases.insert(ep.ip, member.id.to_string());
            if let Some(v6) = ep.ipv6 {
                live.leases6.insert(v6.ip, member.id.to_string());
            }
            let aliases = attached.iter().find(|a| a.network == ep.network).map(|a| a.aliases.clone()).unwrap_or_default();
            live.residents.insert(member.id.to_string(), Resident { name: member.name.to_string(), aliases, endpoint: ep.clone(), dns: dns_servers(member.dns) });
            self.note_names(live);
        }
        // The ports lead to its way out: the first endpoint on a network that is not
        // internal.
        let way_out = endpoints.iter().find(|ep| state.recorded(&ep.network_id, &ep.network).is_some_and(|n| !n.def.internal));
        if let Some(first) = way_out {
            let forwards: Vec<_> = ports.iter().flat_map(|p| forwards_of(first, p)).collect();
            if !forwards.is_empty() {
                state.forwards.insert(member.id.to_string(), forwards);
                // Held again, as far as the host lets them be.
                let held: Vec<ports::Reservation> = ports
                    .iter()
                    .filter_map(|p| {
                        let proto = net::nat::Proto::parse(&p.proto)?;
                        ports::reserve(proto, p.host_ip, p.host_port)
                            .inspect_err(|e| tracing::warn!(container = %member.id, port = p.host_port, "the published port is not held again: {e}"))
                            .ok()
                    })
                    .collect();
                state.held.insert(member.id.to_string(), held);
            }
        }
    }

    /// Once the running containers are claimed at a daemon start: the bridges and
    /// the table as they say, and the names served (a container that exited while
    /// berthd was away loses its ports at its run's end, as any other).
    pub fn resume(&self) -> Result<()> {
        let mut state = self.lock();
        let busy: Vec<String> = state.networks.values().filter(|n| !n.leases.is_empty() || (n.def.has_names())).map(|n| n.def.id.clone()).collect();
        let mut failed = Vec::new();
        for id in busy {
            // One network that cannot come up keeps none of the others down.
            if let Err(e) = self.make_ready(&mut state, &id) {
                failed.push(e.message);
            }
        }
        // Once more, so that the forwards of runs that ended while berthd was away
        // are gone from the kernel even when no network came up now.
        if state.networks.values().any(|n| n.ready) || !state.forwards.is_empty() {
            self.table.replace_held(&state)?;
        }
        match failed.is_empty() {
            true => Ok(()),
            false => Err(Error::internal(failed.join("; "))),
        }
    }

    /// Sets up what container `member`'s run joins, with `ports` published (on its
    /// first network only). Blocking.
    pub fn attach(&self, member: Member, join: Join, ports: &[PublishedPort]) -> Result<Joined> {
        let how = match join {
            Join::Namespace(path) => return Ok(Joined { netns: Some(path), ..Joined::default() }),
            Join::Attach(how) => how,
        };
        match how {
            Attachment::Host | Attachment::ByRuntime => Ok(Joined::default()),
            Attachment::Isolated => Ok(Joined { netns: Some(self.namespace(member.id)?), ..Joined::default() }),
            Attachment::Networks(wanted) => {
                let ns = self.namespace(member.id)?;
                let mut joined = Joined { netns: Some(ns.clone()), ..Joined::default() };
                // The way out (the default route, and the ports) is through the first
                // network that is not internal, as Docker chooses its gateway.
                let way_out = {
                    let state = self.lock();
                    wanted.iter().position(|a| state.of_attachment(a).is_ok_and(|n| !n.def.internal))
                };
                let made = (|| -> Result<()> {
                    for (slot, a) in wanted.iter().enumerate() {
                        let out = way_out == Some(slot);
                        let slot = u8::try_from(slot).ok().filter(|s| *s < 16).ok_or_else(|| Error::invalid("a container is on 16 networks at most"))?;
                        joined.endpoints.push(self.join(member, a, &ns, slot, out)?);
                    }
                    if let Some(gateway) = way_out.and_then(|i| joined.endpoints.get(i)).cloned() {
                        joined.ports = self.publish(member.id, &gateway, ports)?;
                    }
                    Ok(())
                })();
                if let Err(e) = made {
                    self.detach(member.id);
                    return Err(e);
                }
                Ok(joined)
            }
        }
    }

    /// Connects the namespace at `ns` to network `a` as interface `eth<slot>`: an
    /// address leased, the veth made, the container among the network's residents.
    fn join(&self, member: Member, a: &NetworkAttachment, ns: &Path, slot: u8, first: bool) -> Result<Endpoint> {
        let (b, network, network_id, internal, address, address6) = {
            let mut state = self.lock();
            let id = state.of_attachment(a)?.def.id.clone();
            self.make_ready(&mut state, &id)?;
            let live = state.networks.get_mut(&id).expect("found");
            let b = live.def.bridge.clone().ok_or_else(|| Error::invalid(format!("network {} has no bridge to connect to", live.def.name)))?;
            let pool = b.pool();
            let address = match a.ipv4 {
                Some(ip) => {
                    pool.assignable(ip).map_err(|e| Error::invalid(e.0))?;
                    if live.leases.get(&ip).is_some_and(|holder| holder != member.id) {
                        return Err(Error::conflict(format!("Address already in use: {ip} on network {}", live.def.name)));
                    }
                    ip
                }
                None => pool
                    .next_free(|ip| live.leases.contains_key(&ip))
                    .ok_or_else(|| Error::unavailable(format!("no available IPv4 addresses on network {} ({})", live.def.name, b.subnet)))?,
            };
            live.leases.insert(address, member.id.to_string());
            let address6 = match (&b.ipv6, a.ipv6) {
                (Some(v6), Some(ip)) => {
                    let taken = live.leases6.get(&ip).is_some_and(|holder| holder != member.id);
                    let refused = match v6.pool().assignable(ip) {
                        Err(e) => Some(Error::invalid(e.0)),
                        Ok(()) if taken => Some(Error::conflict(format!("Address already in use: {ip} on network {}", live.def.name))),
                        Ok(()) => None,
                    };
                    if let Some(e) = refused {
                        live.leases.remove(&address);
                        return Err(e);
                    }
                    Some(ip)
                }
                (Some(v6), None) => match v6.pool().next_free(|ip| live.leases6.contains_key(&ip)) {
                    Some(ip) => Some(ip),
                    None => {
                        live.leases.remove(&address);
                        return Err(Error::unavailable(format!("no available IPv6 addresses on network {} ({})", live.def.name, v6.subnet)));
                    }
                },
                (None, Some(ip)) => {
                    live.leases.remove(&address);
                    return Err(Error::invalid(format!("cannot give {ip} on network {}: it has no IPv6 (--ipv6)", live.def.name)));
                }
                (None, None) => None,
            };
            if let Some(ip) = address6 {
                live.leases6.insert(ip, member.id.to_string());
            }
            (b, live.def.name.clone(), live.def.id.clone(), live.def.internal, address, address6)
        };
        let [o1, o2, o3, o4] = address.octets();
        let mac = a.mac.map_or([0x02, 0x42, o1, o2, o3, o4], |m| m.0);
        let host_end = Self::host_end(member.id, slot);
        let ifname = format!("eth{slot}");
        let veth = net::link::Veth {
            bridge: &b.device,
            host_end: &host_end,
            netns: ns,
            ifname: &ifname,
            address: net::link::Cidr { addr: address, prefix: b.subnet.prefix() },
            gateway: b.gateway,
            ipv6: b.ipv6.as_ref().zip(address6).map(|(v6, ip)| (net::link::Cidr6 { addr: ip, prefix: v6.subnet.prefix() }, v6.gateway)),
            default_route: first && !internal,
            mac,
            mtu: b.mtu,
            isolated: !b.icc,
        };
        let made = net::link::connect(&veth);
        let mut state = self.lock();
        let Some(live) = state.networks.get_mut(&network_id) else {
            let _ = net::link::remove(&host_end);
            return Err(Error::not_found(format!("network {network} not found")));
        };
        match made {
            Ok(link) => {
                let endpoint = Endpoint {
                    network,
                    network_id,
                    endpoint_id: definition::new_id(),
                    slot,
                    ip: address,
                    prefix: b.subnet.prefix(),
                    gateway: b.gateway,
                    mac: link.mac,
                    ipv6: b.ipv6.as_ref().zip(address6).map(|(v6, ip)| endpoint::Ipv6Endpoint { ip, prefix: v6.subnet.prefix(), gateway: v6.gateway }),
                };
                let resident = Resident { name: member.name.to_string(), aliases: a.aliases.clone(), endpoint: endpoint.clone(), dns: dns_servers(member.dns) };
                live.residents.insert(member.id.to_string(), resident);
                self.note_names(live);
                let def = live.def.clone();
                drop(state);
                self.publish_event("connect", &def, Some(member.id));
                Ok(endpoint)
            }
            Err(e) => {
                live.leases.remove(&address);
                if let Some(ip) = address6 {
                    live.leases6.remove(&ip);
                }
                Err(Error::internal(e.to_string()))
            }
        }
    }

    /// Connects running container `member` to network `a` as `eth<slot>` (`network
    /// connect`). Blocking.
    pub fn connect(&self, member: Member, a: &NetworkAttachment, slot: u8, default_route: bool) -> Result<Endpoint> {
        let ns = self.netns(member.id);
        if !ns.path().exists() {
            return Err(Error::invalid(format!("container {} has no network namespace of berthd's to connect (its runtime made it)", member.name)));
        }
        self.join(member, a, ns.path(), slot, default_route)
    }

    /// Takes running container `id`'s `endpoint` off its network (`network
    /// disconnect`): its veth goes, its address is free again, and its ports if they
    /// led to it (returns whether they did). Blocking.
    pub fn disconnect(&self, id: &str, endpoint: &Endpoint) -> Result<bool> {
        net::link::remove(&Self::host_end(id, endpoint.slot)).map_err(|e| Error::internal(e.to_string()))?;
        let leads_here;
        let def = {
            let mut state = self.lock();
            // Its ports, if they led to it, move to its next way out (the first of its
            // other networks that is not internal, which gets the default route too),
            // or go with it when it has none: its address is free for another.
            let was_way_out = state.forwards.get(id).is_some_and(|f| f.iter().any(|f| f.container_ip == std::net::IpAddr::V4(endpoint.ip)));
            let next = state
                .networks
                .values()
                .filter(|n| !n.def.internal && n.def.name != endpoint.network)
                .filter_map(|n| n.residents.get(id).map(|r| r.endpoint.clone()))
                .min_by_key(|e| e.slot);
            leads_here = was_way_out && next.is_none();
            // The table's changes, made in the state now, reach the kernel after.
            let mut changes: Vec<(Vec<net::nat::Forward>, Vec<net::nat::Forward>)> = Vec::new();
            if let (true, Some(next)) = (was_way_out, &next) {
                if let Err(e) = net::link::set_default_route(self.netns(id).path(), &format!("eth{}", next.slot), next.gateway) {
                    tracing::warn!(container = %id, "{e}");
                }
                let old = state.forwards.remove(id).unwrap_or_default();
                let moved: Vec<net::nat::Forward> = old
                    .iter()
                    .filter_map(|f| {
                        let to = match f.container_ip {
                            std::net::IpAddr::V4(_) => std::net::IpAddr::V4(next.ip),
                            std::net::IpAddr::V6(_) => std::net::IpAddr::V6(next.ipv6?.ip),
                        };
                        Some(net::nat::Forward { container_ip: to, ..f.clone() })
                    })
                    .collect();
                state.forwards.insert(id.to_string(), moved.clone());
                changes.push((old, moved));
            }
            if leads_here {
                state.held.remove(id);
                if let Some(forwards) = state.forwards.remove(id) {
                    changes.push((forwards, Vec::new()));
                }
            }
            let def = state.recorded(&endpoint.network_id, &endpoint.network).map(|n| n.def.id.clone()).map(|network_id| {
                let live = state.networks.get_mut(&network_id).expect("found");
                live.leases.retain(|_, holder| holder != id);
                live.leases6.retain(|_, holder| holder != id);
                live.residents.remove(id);
                self.note_names(live);
                live.def.clone()
            });
            let redone = self.table.after(state, |table| {
                changes.iter().try_for_each(|(old, new)| net::nat::delete(table, old).and_then(|()| net::nat::add(table, new)))
            });
            if let Err(e) = redone {
                tracing::warn!(container = %id, "move or withdraw its ports: {e}; the table is made again");
                if let Err(e) = self.table.replace(self.lock()) {
                    tracing::warn!(container = %id, "{}", e.message);
                }
            }
            let Some(def) = def else { return Ok(leads_here) };
            def
        };
        self.publish_event("disconnect", &def, Some(id));
        Ok(leads_here)
    }

    /// A namespace of its own for container `id`, `lo` up.
    fn namespace(&self, id: &str) -> Result<PathBuf> {
        // One left by a run whose end berthd did not see goes first.
        let stale = self.netns(id);
        stale.remove().map_err(|e| Error::internal(e.to_string()))?;
        let ns = net::Netns::create(stale.path()).map_err(|e| Error::internal(e.to_string()))?;
        Ok(ns.path().to_path_buf())
    }

    /// Removes what [`Self::attach`] made for container `id`, if anything, and gives
    /// its addresses back. Blocking; safe to repeat. The veths are not deleted one
    /// device at a time (each waits for an RCU grace period, tens of milliseconds):
    /// the run's processes are gone, so once its namespace is unmounted the kernel
    /// tears the namespace down, and the pairs with it, in the background.
    pub fn detach(&self, id: &str) {
        if let Err(e) = self.netns(id).remove() {
            tracing::warn!(container = %id, "{e}");
        }
        let mut left = Vec::new();
        let mut state = self.lock();
        for live in state.networks.values_mut() {
            live.leases.retain(|_, holder| holder != id);
            live.leases6.retain(|_, holder| holder != id);
            if live.residents.remove(id).is_some() {
                left.push(live.def.clone());
                self.book.write().expect("names lock").write(live);
            }
        }
        state.held.remove(id);
        let forwards = state.forwards.remove(id).unwrap_or_default();
        let withdrawn = match forwards.is_empty() {
            true => Ok(()),
            false => self.table.after(state, |table| net::nat::delete(table, &forwards)),
        };
        if let Err(e) = withdrawn {
            tracing::warn!(container = %id, "withdraw its ports: {e}; the table is made again");
            if let Err(e) = self.table.replace(self.lock()) {
                tracing::warn!(container = %id, "{}", e.message);
            }
        }
        for def in left {
            self.publish_event("disconnect", &def, Some(id));
        }
    }

    /// Deletes container `id`'s veths now, rather than with its namespace (which
    /// outlives the run while another container shares it). Blocking.
    pub fn unplug(&self, id: &str) {
        let slots: Vec<u8> = {
            let state = self.lock();
            state.networks.values().filter_map(|n| n.residents.get(id)).map(|r| r.endpoint.slot).collect()
        };
        for slot in slots {
            if let Err(e) = net::link::remove(&Self::host_end(id, slot)) {
                tracing::warn!(container = %id, "{e}");
            }
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

    /// Container `id` is called `name` now: its networks answer to it.
    pub fn rename(&self, id: &str, name: &str) {
        let mut state = self.lock();
        for live in state.networks.values_mut() {
            if let Some(r) = live.residents.get_mut(id) {
                r.name = name.to_string();
                self.book.write().expect("names lock").write(live);
            }
        }
    }

    /// The address a run on `endpoints` asks for names: the gateway of its first
    /// network whose names berthd serves.
    pub fn names_served(&self, endpoints: &[Endpoint]) -> Option<Ipv4Addr> {
        let state = self.lock();
        endpoints.iter().find_map(|ep| state.networks.get(&ep.network_id).filter(|n| n.dns.is_some()).map(|_| ep.gateway))
    }

    /// The host as containers reach it (`host-gateway`): the default bridge's gateway.
    pub fn host_gateway(&self) -> Ipv4Addr {
        let state = self.lock();
        state.default_bridge().bridge().map_or(Ipv4Addr::UNSPECIFIED, |b| b.gateway)
    }
}

/// A connection to `live` as `EndpointsConfig` asks it, checked as Docker checks it.
fn attachment(live: &Live, settings: Option<&EndpointSettings>) -> Result<NetworkAttachment> {
    let mut a = NetworkAttachment::to(live.def.name.clone(), live.def.id.clone());
    let Some(s) = settings else { return Ok(a) };
    if live.def.bridge.is_none() {
        return Ok(a);
    }
    if !s.mac_address.is_empty() {
        a.mac = Some(s.mac_address.parse().map_err(Error::invalid)?);
    }
    if !s.aliases.is_empty() {
        if !live.def.has_names() {
            return Err(Error::invalid("network-scoped alias is supported only for containers in user defined networks"));
        }
        a.aliases = s.aliases.clone();
    }
    let wanted_ip = s.ipam_config.as_ref().map(|c| c.ipv4_address.as_str()).filter(|ip| !ip.is_empty());
    if let Some(ip) = wanted_ip {
        let b = live.bridge().expect("checked above");
        if live.def.predefined || !b.configured {
            return Err(Error::invalid("user specified IP address is supported only when connecting to networks with user configured subnets"));
        }
        let ip: Ipv4Addr = ip.parse().map_err(|_| Error::invalid(format!("invalid IPv4 address: {ip}")))?;
        b.pool().assignable(ip).map_err(|e| Error::invalid(e.0))?;
        a.ipv4 = Some(ip);
    }
    let wanted_ip6 = s.ipam_config.as_ref().map(|c| c.ipv6_address.as_str()).filter(|ip| !ip.is_empty());
    if let Some(ip) = wanted_ip6 {
        let b = live.bridge().expect("checked above");
        let ip: std::net::Ipv6Addr = ip.parse().map_err(|_| Error::invalid(format!("invalid IPv6 address: {ip}")))?;
        let Some(v6) = b.ipv6.as_ref() else {
            return Err(Error::invalid(format!("cannot give {ip} on network {}: it has no IPv6 (--ipv6)", live.def.name)));
        };
        if live.def.predefined || !v6.configured {
            return Err(Error::invalid("user specified IP address is supported only when connecting to networks with user configured subnets"));
        }
        v6.pool().assignable(ip).map_err(|e| Error::invalid(e.0))?;
        a.ipv6 = Some(ip);
    }
    Ok(a)
}
