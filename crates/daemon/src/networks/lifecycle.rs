//! Networks made, removed, listed and inspected (`network create/rm/ls/inspect/prune`),
//! and a network's bridge, names and table brought up at its first use.

use std::path::Path;
use std::sync::Arc;

use super::{Live, Networks, State, definition, directory, taken_now, unique_local, view};
use crate::error::{Error, Result};

impl Networks {
    /// `network create`: returns the new network's id. Blocking (the bridge is made
    /// at once, as Docker makes it).
    pub fn create(&self, req: &api::networks::NetworkCreateRequest) -> Result<String> {
        let asked = definition::check(req)?;
        let mut def = asked.def;
        {
            let mut state = self.lock();
            if state.networks.values().any(|n| n.def.name == def.name) {
                return Err(Error::conflict(format!("network with name {} already exists", def.name)));
            }
            let bridge = def.bridge.as_mut().expect("a bridge network");
            if state.networks.values().any(|n| n.bridge().is_some_and(|b| b.device == bridge.device)) {
                return Err(Error::conflict(format!("bridge device {} is in use by another network", bridge.device)));
            }
            // A device of the host's by that name: used if it is a bridge (and left to
            // the host when the network goes), refused otherwise.
            let sys = Path::new("/sys/class/net").join(&bridge.device);
            if sys.exists() {
                if !sys.join("bridge").exists() {
                    return Err(Error::conflict(format!("device {} exists and is not a bridge", bridge.device)));
                }
                bridge.adopted = true;
            }
            let subnet = match asked.subnet {
                Some(s) => {
                    if state.networks.values().filter_map(Live::bridge).any(|b| b.subnet.overlaps(&s)) {
                        return Err(Error::forbidden("Pool overlaps with other one on this address space"));
                    }
                    s
                }
                None => net::ipam::choose(&self.pools, &taken_now(&state))
                    .ok_or_else(|| Error::unavailable("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network"))?,
            };
            let pool = net::ipam::Pool::new(subnet, asked.gateway, bridge.range, bridge.aux.values().copied().collect())
                .map_err(|e| Error::invalid(format!("invalid network config:\n{e}")))?;
            (bridge.subnet, bridge.gateway) = (pool.subnet, pool.gateway);
            if asked.ipv6 && bridge.ipv6.is_none() {
                bridge.ipv6 = Some(unique_local(&state));
            }
            if let Some(v6) = &bridge.ipv6
                && state.networks.values().filter_map(|n| n.bridge().and_then(|b| b.ipv6.as_ref())).any(|o| o.subnet.overlaps(&v6.subnet))
            {
                return Err(Error::forbidden("Pool overlaps with other one on this address space"));
            }
            self.store.save(&def)?;
            let id = def.id.clone();
            state.networks.insert(id.clone(), Live::new(def.clone()));
            if let Err(e) = self.make_ready(&mut state, &id) {
                state.networks.remove(&id);
                let _ = self.store.remove(&id);
                if let Some(b) = def.bridge.as_ref().filter(|b| !b.adopted) {
                    let _ = net::link::remove(&b.device);
                }
                return Err(e);
            }
        }
        self.publish_event("create", &def, None);
        Ok(def.id)
    }

    /// `network rm`: refused for the predefined networks and for one a running
    /// container is on. Blocking.
    pub fn remove(&self, key: &str) -> Result<()> {
        let dns;
        let def = {
            let mut state = self.lock();
            let live = state.find(key)?;
            let def = live.def.clone();
            if def.predefined {
                return Err(Error::forbidden(format!("{} is a pre-defined network and cannot be removed", def.name)));
            }
            if !live.residents.is_empty() {
                return Err(Error::forbidden(format!("error while removing network: network {} id {} has active endpoints", def.name, def.id)));
            }
            // The bridge first, then the record: a crash in between leaves a network
            // whose bridge is made again when it is used, never a bridge of no network.
            if let Some(b) = def.bridge.as_ref().filter(|b| !b.adopted) {
                net::link::remove(&b.device).map_err(|e| Error::internal(format!("network {}: {e}", def.name)))?;
            }
            self.store.remove(&def.id)?;
            let live = state.networks.remove(&def.id).expect("found");
            self.book.write().expect("names lock").erase(&def.id);
            dns = live.dns;
            if let Err(e) = self.table.replace_held(&state) {
                tracing::warn!(network = %def.name, "{}", e.message);
            }
            let v6_left = state.networks.values().any(|n| n.ready && n.bridge().is_some_and(|b| b.ipv6.is_some()));
            if def.bridge.as_ref().is_some_and(|b| b.ipv6.is_some())
                && !v6_left
                && let Err(e) = self.table.remove_ipv6_held(&state)
            {
                tracing::warn!(network = %def.name, "{e}");
            }
            def
        };
        // Its port free before the answer (a network made again at once binds it); the
        // lock is let go first: the server's tasks end on the runtime's workers.
        if let Some(dns) = dns {
            self.runtime.block_on(dns.stop());
        }
        self.publish_event("destroy", &def, None);
        Ok(())
    }

    /// Every network, as listed and inspected, and whether it is one of the three
    /// every host has.
    pub fn list(&self) -> Vec<(api::networks::Network, bool)> {
        let state = self.lock();
        state.networks.values().map(|n| (view::network(n), n.def.predefined)).collect()
    }

    pub fn inspect(&self, key: &str) -> Result<api::networks::Network> {
        let state = self.lock();
        Ok(view::network(state.find(key)?))
    }

    /// The user's networks no running container is on (`network prune`), removed
    /// when `keep` does not hold; returns their names.
    pub fn prune(&self, keep: impl Fn(&api::networks::Network) -> bool) -> Vec<String> {
        let candidates: Vec<api::networks::Network> = {
            let state = self.lock();
            state.networks.values().filter(|n| !n.def.predefined && n.residents.is_empty()).map(view::network).collect()
        };
        let mut removed = Vec::new();
        for n in candidates.into_iter().filter(|n| !keep(n)) {
            match self.remove(&n.id) {
                Ok(()) => removed.push(n.name),
                Err(e) => tracing::warn!(network = %n.name, "prune: {}", e.message),
            }
        }
        removed
    }

    /// The bridge of network `id` up with its gateway, its names served, and the
    /// table with it. Under the lock.
    pub(super) fn make_ready(&self, state: &mut State, id: &str) -> Result<()> {
        let live = state.networks.get_mut(id).expect("a known network");
        let Some(b) = live.def.bridge.clone() else { return Ok(()) };
        if live.ready {
            return Ok(());
        }
        let gateway = net::link::Cidr { addr: b.gateway, prefix: b.subnet.prefix() };
        let gateway6 = b.ipv6.as_ref().map(|v6| net::link::Cidr6 { addr: v6.gateway, prefix: v6.subnet.prefix() });
        net::link::ensure_bridge(&b.device, gateway, gateway6, b.mtu).map_err(|e| Error::internal(format!("network {}: {e}", live.def.name)))?;
        net::nat::allow_localhost(&b.device).map_err(|e| Error::internal(format!("route_localnet on {}: {e}", b.device)))?;
        if !live.def.internal {
            match net::nat::enable_ipv4_forwarding() {
                Ok(true) => tracing::info!("IPv4 forwarding turned on, for containers to reach past the host"),
                Ok(false) => {}
                Err(e) => tracing::warn!("IPv4 forwarding is off and could not be turned on ({e}): containers reach only the host"),
            }
            if b.ipv6.is_some() && !net::nat::ipv6_forwarding() {
                tracing::warn!(network = %live.def.name, "the host does not forward IPv6 (net.ipv6.conf.all.forwarding=0): its containers reach the host and each other over IPv6, not past the host");
            }
        }
        if live.def.has_names() {
            let names = Arc::new(directory::Directory::new(Arc::downgrade(&self.book), id.to_string()));
            // A few tries: the gateway's address is the bridge's only just now, and a
            // bind that fails here leaves the network without names for its life.
            let mut serving = self.runtime.block_on(net::dns::Server::serve((b.gateway, 53).into(), names.clone(), self.upstreams.clone()));
            for _ in 0..10 {
                let Err(e) = &serving else { break };
                tracing::debug!(network = %live.def.name, "DNS on {}:53 not yet: {e}", b.gateway);
                std::thread::sleep(std::time::Duration::from_millis(20));
                serving = self.runtime.block_on(net::dns::Server::serve((b.gateway, 53).into(), names.clone(), self.upstreams.clone()));
            }
            match serving {
                Ok(server) => live.dns = Some(server),
                // Containers still get addresses and routes; only names fail.
                Err(e) => tracing::warn!(network = %live.def.name, "no DNS on {}:53: {e}", b.gateway),
            }
        }
        live.ready = true;
        let applied = self.table.replace_held(state);
        if applied.is_err() {
            // Tried again at the next use.
            state.networks.get_mut(id).expect("a known network").ready = false;
        }
        applied
    }
}
