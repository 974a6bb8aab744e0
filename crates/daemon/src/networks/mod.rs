//! The network service: the networks a host has, and what a container's run joins.
//!
//! - `none`: a network namespace of its own, made by berthd with `lo` up (127.0.0.1
//!   and ::1, as Docker gives every container);
//! - bridge networks: the default one (`bridge`, on the daemon's `bridge` device,
//!   `berth0`) and the user's (`network create`, each on a bridge device of its own):
//!   a veth pair from the container's namespace to the bridge for each network it is
//!   connected to (`eth0`, `eth1` …), an address from the network's pool and, through
//!   its first network, the default route. User networks have names: berthd answers
//!   DNS on each one's gateway with its containers' names and aliases, and forwards
//!   the rest to the host's resolvers. Published ports are DNAT rules in one
//!   nftables table of berth's own (`berth_<bridge>`), which also masquerades the
//!   networks' outbound traffic and isolates them from each other;
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

pub mod definition;
mod directory;
pub mod endpoint;
mod ports;
pub mod view;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use api::hostconfig::EndpointSettings;
use chrono::Utc;
use net::ipam::{AddressPool, Subnet};

use crate::error::{Error, Result};
use crate::events::Events;
use definition::{BridgeConfig, Definition, Driver, Store};
pub use endpoint::{Endpoint, NetworkAttachment, PublishedPort};

/// How a run is networked, as the container service asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attachment {
    /// A namespace of its own with a loopback only.
    Isolated,
    /// A namespace of its own on these bridge networks, the first one's gateway its
    /// way out.
    Networks(Vec<NetworkAttachment>),
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

/// The container a run belongs to, as its networks name it.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    pub id: &'a str,
    pub name: &'a str,
    /// Its own DNS servers (`--dns`): where its questions for other names go.
    pub dns: &'a [String],
}

/// What a run joins: the namespace to enter by path, its places on networks and the
/// ports it got.
#[derive(Debug, Default)]
pub struct Joined {
    pub netns: Option<PathBuf>,
    pub endpoints: Vec<Endpoint>,
    pub ports: Vec<PublishedPort>,
}

/// A container on a network, as the network's names and inspect know it.
#[derive(Debug, Clone)]
struct Resident {
    name: String,
    aliases: Vec<String>,
    endpoint: Endpoint,
    /// Its `--dns` servers, if it named any.
    dns: Vec<std::net::SocketAddr>,
}

/// `--dns` servers as the DNS server asks them (port 53).
fn dns_servers(dns: &[String]) -> Vec<std::net::SocketAddr> {
    dns.iter().filter_map(|d| d.parse::<std::net::IpAddr>().ok()).map(|ip| (ip, 53).into()).collect()
}

impl Resident {
    /// The names it answers to on the network: its name, its aliases, its short id.
    fn dns_names(&self, id: &str) -> Vec<String> {
        let mut names = vec![self.name.clone()];
        names.extend(self.aliases.iter().cloned());
        names.push(id[..id.len().min(12)].to_string());
        names
    }
}

/// One network as this berthd runs it.
struct Live {
    def: Definition,
    /// Its bridge is up (and its DNS served) since this berthd started.
    ready: bool,
    /// Address → the container whose run holds it.
    leases: BTreeMap<Ipv4Addr, String>,
    leases6: BTreeMap<std::net::Ipv6Addr, String>,
    /// Container id → its place here.
    residents: BTreeMap<String, Resident>,
    dns: Option<net::dns::Server>,
}

impl Live {
    fn new(def: Definition) -> Live {
        Live { def, ready: false, leases: BTreeMap::new(), leases6: BTreeMap::new(), residents: BTreeMap::new(), dns: None }
    }

    fn bridge(&self) -> Option<&BridgeConfig> {
        self.def.bridge.as_ref()
    }
}

#[derive(Default)]
struct State {
    /// By id.
    networks: BTreeMap<String, Live>,
    /// Container → the ports published for its run.
    forwards: BTreeMap<String, Vec<net::nat::Forward>>,
    /// Container → the host ports held for them.
    held: BTreeMap<String, Vec<ports::Reservation>>,
}

impl State {
    /// The network `key` names: its id, its name, or a unique prefix of its id, as
    /// Docker looks networks up.
    fn find(&self, key: &str) -> Result<&Live> {
        if let Some(n) = self.networks.get(key) {
            return Ok(n);
        }
        if let Some(n) = self.networks.values().find(|n| n.def.name == key) {
            return Ok(n);
        }
        let by_prefix: Vec<&Live> = if key.is_empty() { Vec::new() } else { self.networks.values().filter(|n| n.def.id.starts_with(key)).collect() };
        match by_prefix.as_slice() {
            [one] => Ok(one),
            [] => Err(Error::not_found(format!("network {key} not found"))),
            many => Err(Error::invalid(format!("network {key} is ambiguous ({} matches found based on ID prefix)", many.len()))),
        }
    }

    /// The network an attachment names: by its id, else (records from before ids,
    /// a network made again under its name) by its name.
    fn of_attachment(&self, a: &NetworkAttachment) -> Result<&Live> {
        self.recorded(&a.network_id, &a.network).ok_or_else(|| Error::not_found(format!("network {} not found", a.network)))
    }

    /// The network a record names: by its id, else (records from before networks had
    /// ids, a network made again under its name) by its name.
    fn recorded(&self, id: &str, name: &str) -> Option<&Live> {
        self.networks.get(id).or_else(|| self.networks.values().find(|n| n.def.name == name))
    }

    fn default_bridge(&self) -> &Live {
        self.networks.values().find(|n| n.def.predefined && n.def.driver == Driver::Bridge).expect("the default bridge is made at open")
    }

    /// Whether a host port is forwarded already (on `ip`, or on every address).
    fn taken(&self, proto: net::nat::Proto, ip: Option<std::net::IpAddr>, port: u16) -> bool {
        self.forwards
            .values()
            .flatten()
            .any(|f| f.proto == proto && f.host_port == port && (f.host_ip.is_none() || ip.is_none() || f.host_ip == ip))
    }

}

pub struct Networks {
    /// `<exec-root>/netns`: one file per running container that has a namespace of berthd's.
    netns_dir: PathBuf,
    store: Store,
    /// berth's nftables table: `berth_<default bridge device>`.
    table: String,
    pools: Vec<AddressPool>,
    state: Arc<Mutex<State>>,
    /// What the DNS servers answer, copied from `state` at each change of residents.
    book: Arc<std::sync::RwLock<directory::Book>>,
    /// The runtime the DNS servers run on (the service's calls are blocking ones).
    runtime: tokio::runtime::Handle,
    upstreams: Arc<net::dns::Upstreams>,
    events: Arc<Events>,
    /// Puts berth's table back when someone else deletes it.
    _watch: Option<net::watch::TableWatch>,
}

/// The subnets a new network must not overlap: the host's routes (but the ones
/// through `ours`, berth's own bridges, which are the networks' own) and every
/// network's.
fn taken_subnets(state: &State, routes: &[net::ipam::Route], ours: &[&str]) -> Vec<Subnet> {
    let mut taken: Vec<Subnet> = routes.iter().filter(|r| !ours.contains(&r.device.as_str())).map(|r| r.subnet).collect();
    taken.extend(state.networks.values().filter_map(|n| n.bridge().map(|b| b.subnet)));
    taken
}

/// [`taken_subnets`] now, berth's bridges being those of the networks it has.
fn taken_now(state: &State) -> Vec<Subnet> {
    let devices: Vec<&str> = state.networks.values().filter_map(|n| n.bridge().map(|b| b.device.as_str())).collect();
    taken_subnets(state, &net::ipam::host_routes(), &devices)
}

impl Networks {
    /// Opens the networks under `<data-root>/networks`, making the three every host
    /// has at the first start. The default bridge keeps the subnet it was first
    /// given, unless `bip` says otherwise.
    pub fn open(config: &crate::config::Config, events: Arc<Events>) -> std::io::Result<Networks> {
        let netns_dir = config.exec_root.join("netns");
        std::fs::create_dir_all(&netns_dir)?;
        let store = Store::open(&config.data_root.join("networks"))?;
        let mut state = State::default();
        for def in store.load() {
            state.networks.insert(def.id.clone(), Live::new(def));
        }
        let predefined = |driver: Driver| state.networks.values().find(|n| n.def.predefined && n.def.driver == driver).map(|n| n.def.clone());
        let made = |name: &str, driver: Driver| Definition {
            id: definition::new_id(),
            name: name.into(),
            driver,
            created: Utc::now(),
            bridge: None,
            internal: false,
            attachable: false,
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
            predefined: true,
        };
        let mut wanted = Vec::new();
        for (name, driver) in [("host", Driver::Host), ("none", Driver::Null)] {
            if predefined(driver).is_none() {
                wanted.push(made(name, driver));
            }
        }
        let mut bridge = predefined(Driver::Bridge).unwrap_or_else(|| made("bridge", Driver::Bridge));
        let kept = bridge.bridge.as_ref().map(|b| (b.gateway, b.subnet.prefix()));
        let (gateway, prefix) = match (config.bip, kept) {
            (Some(bip), _) => bip,
            (None, Some(kept)) => kept,
            (None, None) => {
                // The default bridge of an older berthd (no record of it) routes its
                // own subnet: that route is no clash, the subnet is kept.
                let routes = net::ipam::host_routes();
                let own = routes.iter().find(|r| r.device == config.bridge).map(|r| r.subnet);
                let taken = taken_subnets(&state, &routes, &[config.bridge.as_str()]);
                let subnet = own.or_else(|| net::ipam::choose(&config.address_pools, &taken)).unwrap_or(Subnet::containing(Ipv4Addr::new(192, 168, 215, 0), 24));
                (Ipv4Addr::from(u32::from(subnet.addr()) + 1), subnet.prefix())
            }
        };
        let options = [
            (definition::option::DEFAULT_BRIDGE, "true"),
            (definition::option::ICC, "true"),
            (definition::option::MASQUERADE, "true"),
            (definition::option::HOST_BINDING, "0.0.0.0"),
            (definition::option::BRIDGE_NAME, config.bridge.as_str()),
            (definition::option::MTU, "1500"),
        ];
        // IPv6 on the default bridge: the subnet named, else the unique local one it
        // had, else a new one.
        let kept6 = bridge.bridge.as_ref().and_then(|b| b.ipv6.clone()).filter(|v6| !v6.configured);
        let ipv6 = config.ipv6.map(|on| match on.subnet {
            Some(subnet) => definition::Ipv6Config { configured: true, ..definition::Ipv6Config::chosen(subnet) },
            None => kept6.unwrap_or_else(|| unique_local(&state)),
        });
        let new_bridge = Definition {
            bridge: Some(BridgeConfig {
                device: config.bridge.clone(),
                subnet: Subnet::containing(gateway, prefix),
                gateway,
                range: None,
                aux: BTreeMap::new(),
                configured: config.bip.is_some(),
                masquerade: true,
                icc: true,
                mtu: None,
                ipv6,
                adopted: false,
            }),
            options: options.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..bridge.clone()
        };
        if new_bridge != bridge {
            bridge = new_bridge;
            wanted.push(bridge.clone());
        }
        for def in wanted {
            store.save(&def).map_err(|e| std::io::Error::other(e.message))?;
            state.networks.insert(def.id.clone(), Live::new(def));
        }
        let table = format!("berth_{}", config.bridge.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect::<String>());
        // The daemon's DNS servers, else the host's.
        let upstreams = match config.dns.is_empty() {
            true => net::dns::Upstreams::from_resolv_conf(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default()),
            false => net::dns::Upstreams::from_resolv_conf(&config.dns.iter().map(|d| format!("nameserver {d}\n")).collect::<String>()),
        };
        let state = Arc::new(Mutex::new(state));
        let watch = {
            let (state, name) = (Arc::downgrade(&state), table.clone());
            net::watch::TableWatch::start(&table, move || {
                let Some(state) = state.upgrade() else { return };
                let state = state.lock().expect("networks lock");
                if state.networks.values().any(|n| n.ready) {
                    match apply(&name, &state) {
                        Ok(()) => tracing::warn!(table = %name, "berth's nftables table was deleted by someone else: restored"),
                        Err(e) => tracing::error!(table = %name, "berth's nftables table was deleted and could not be restored: {}", e.message),
                    }
                }
            })
        };
        let watch = watch.inspect_err(|e| tracing::warn!("nftables changes are not watched (a flush of the ruleset is not repaired): {e}")).ok();
        Ok(Networks {
            netns_dir,
            store,
            table,
            pools: config.address_pools.clone(),
            state,
            book: Arc::default(),
            runtime: tokio::runtime::Handle::current(),
            upstreams: Arc::new(upstreams),
            events,
            _watch: watch,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("networks lock")
    }

    /// The DNS servers' copy of network `live`'s names, made anew.
    fn note_names(&self, live: &Live) {
        self.book.write().expect("names lock").write(live);
    }

    fn netns(&self, id: &str) -> net::Netns {
        net::Netns::at(&self.netns_dir.join(id))
    }

    /// The host end of container `id`'s veth in `slot` (a device name has 15 bytes
    /// at most).
    fn host_end(id: &str, slot: u8) -> String {
        format!("vb{}{slot:x}", &id[..id.len().min(12)])
    }

    fn publish_event(&self, action: &str, def: &Definition, container: Option<&str>) {
        let mut attributes = BTreeMap::from([("name".to_string(), def.name.clone()), ("type".to_string(), def.driver.as_str().to_string())]);
        if let Some(c) = container {
            attributes.insert("container".into(), c.to_string());
        }
        self.events.publish("network", action, &def.id, attributes);
    }

    // ---- networks ----

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
            if let Err(e) = self.apply(&state) {
                tracing::warn!(network = %def.name, "{}", e.message);
            }
            let v6_left = state.networks.values().any(|n| n.ready && n.bridge().is_some_and(|b| b.ipv6.is_some()));
            if def.bridge.as_ref().is_some_and(|b| b.ipv6.is_some())
                && !v6_left
                && let Err(e) = net::nat::remove_ipv6(&self.table)
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

    // ---- runs ----

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
            self.apply(&state)?;
        }
        match failed.is_empty() {
            true => Ok(()),
            false => Err(Error::internal(failed.join("; "))),
        }
    }

    /// The bridge of network `id` up with its gateway, its names served, and the
    /// table with it. Under the lock.
    fn make_ready(&self, state: &mut State, id: &str) -> Result<()> {
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
            let serving = self.runtime.block_on(net::dns::Server::serve((b.gateway, 53).into(), names, self.upstreams.clone()));
            match serving {
                Ok(server) => live.dns = Some(server),
                // Containers still get addresses and routes; only names fail.
                Err(e) => tracing::warn!(network = %live.def.name, "no DNS on {}:53: {e}", b.gateway),
            }
        }
        live.ready = true;
        let applied = self.apply(state);
        if applied.is_err() {
            // Tried again at the next use.
            state.networks.get_mut(id).expect("a known network").ready = false;
        }
        applied
    }

    /// Replaces berth's table with what the networks and forwards say now.
    fn apply(&self, state: &State) -> Result<()> {
        apply(&self.table, state)
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
                let redone = net::nat::delete(&self.table, &old).and_then(|()| net::nat::add(&self.table, &moved));
                state.forwards.insert(id.to_string(), moved);
                if let Err(e) = redone {
                    tracing::warn!(container = %id, "move its ports: {e}; the table is made again");
                    let _ = self.apply(&state);
                }
            }
            if leads_here {
                state.held.remove(id);
            }
            if leads_here
                && let Some(forwards) = state.forwards.remove(id)
                && let Err(e) = net::nat::delete(&self.table, &forwards)
            {
                tracing::warn!(container = %id, "withdraw its ports: {e}");
                let _ = self.apply(&state);
            }
            let Some(network_id) = state.recorded(&endpoint.network_id, &endpoint.network).map(|n| n.def.id.clone()) else { return Ok(leads_here) };
            let live = state.networks.get_mut(&network_id).expect("found");
            live.leases.retain(|_, holder| holder != id);
            live.leases6.retain(|_, holder| holder != id);
            live.residents.remove(id);
            self.note_names(live);
            live.def.clone()
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

    /// Forwards `ports` of container `id` (at its first endpoint) from the host;
    /// returns them with the host ports they got. An internal network publishes
    /// nothing, as Docker's.
    fn publish(&self, id: &str, first: &Endpoint, ports: &[PublishedPort]) -> Result<Vec<PublishedPort>> {
        if ports.is_empty() {
            return Ok(Vec::new());
        }
        let mut state = self.lock();
        if state.networks.get(&first.network_id).is_some_and(|n| n.def.internal) {
            return Ok(Vec::new());
        }
        let mut given = Vec::new();
        let mut forwards: Vec<net::nat::Forward> = Vec::new();
        let mut held = Vec::new();
        for p in ports {
            let proto = net::nat::Proto::parse(&p.proto).ok_or_else(|| Error::invalid(format!("invalid proto: {}", p.proto)))?;
            let on = p.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED.into());
            // An IPv6 host address leads only to an IPv6 endpoint.
            if p.host_ip.is_some_and(|ip| ip.is_ipv6()) && first.ipv6.is_none() {
                return Err(Error::invalid(format!("cannot publish on {on}: the container has no IPv6 address (its network has no --ipv6)")));
            }
            let clashes = |port: u16| state.taken(proto, p.host_ip, port) || forwards.iter().any(|f| f.proto == proto && f.host_port == port);
            let in_use = |port: u16, e: std::io::Error| {
                Error::internal(format!(
                    "driver failed programming external connectivity on endpoint {id}: failed to bind port {on}:{port}/{}: {e}",
                    proto.as_str()
                ))
            };
            // The port, and the socket that holds it on the host.
            let (host_port, reservation) = match p.host_port {
                first if p.host_port_last > first => (first..=p.host_port_last)
                    .filter(|port| !clashes(*port))
                    .find_map(|port| ports::reserve(proto, p.host_ip, port).ok().map(|r| (port, r)))
                    .ok_or_else(|| {
                        Error::internal(format!(
                            "driver failed programming external connectivity on endpoint {id}: Bind for {on}:{first}-{} failed: every port of the range is already allocated",
                            p.host_port_last
                        ))
                    })?,
                0 => (0..100)
                    .find_map(|attempt| {
                        let r = ports::reserve(proto, p.host_ip, 0).ok()?;
                        // SCTP: Docker's ephemeral range, in order.
                        let port = r.port().unwrap_or(32768 + attempt);
                        (!clashes(port)).then_some((port, r))
                    })
                    .ok_or_else(|| Error::unavailable("no free host port left to publish on"))?,
                port if clashes(port) => {
                    return Err(Error::internal(format!(
                        "driver failed programming external connectivity on endpoint {id}: Bind for {on}:{port} failed: port is already allocated"
                    )));
                }
                port => (port, ports::reserve(proto, p.host_ip, port).map_err(|e| in_use(port, e))?),
            };
            held.push(reservation);
            let published = PublishedPort { host_port, host_port_last: 0, ..p.clone() };
            forwards.extend(forwards_of(first, &published));
            given.push(published);
        }
        // One element each in berth's table (made when the network got ready); the
        // whole table again only if that fails (deleted under us, say).
        if let Err(e) = net::nat::add(&self.table, &forwards) {
            tracing::warn!(container = %id, "publish: {e}; the table is made again");
            state.forwards.insert(id.to_string(), forwards);
            if let Err(e) = self.apply(&state) {
                state.forwards.remove(id);
                return Err(e);
            }
            state.held.insert(id.to_string(), held);
            return Ok(given);
        }
        state.forwards.insert(id.to_string(), forwards);
        state.held.insert(id.to_string(), held);
        Ok(given)
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
        if let Some(forwards) = state.forwards.remove(id)
            && let Err(e) = net::nat::delete(&self.table, &forwards)
        {
            tracing::warn!(container = %id, "withdraw its ports: {e}; the table is made again");
            if let Err(e) = self.apply(&state) {
                tracing::warn!(container = %id, "{}", e.message);
            }
        }
        drop(state);
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

/// Replaces the table `table` with what the networks and forwards of `state` say.
fn apply(table: &str, state: &State) -> Result<()> {
    let segments: Vec<net::nat::Segment> = state
        .networks
        .values()
        .filter(|n| n.ready)
        .filter_map(|n| {
            n.bridge().map(|b| net::nat::Segment {
                bridge: b.device.clone(),
                subnet: (b.subnet.addr(), b.subnet.prefix()),
                subnet6: b.ipv6.as_ref().map(|v6| (v6.subnet.addr(), v6.subnet.prefix())),
                masquerade: b.masquerade,
                internal: n.def.internal,
                dns: n.dns.as_ref().map(|_| b.gateway),
            })
        })
        .collect();
    let forwards: Vec<net::nat::Forward> = state.forwards.values().flatten().cloned().collect();
    net::nat::apply(&net::nat::Table { name: table, segments: &segments, forwards: &forwards }).map_err(|e| Error::internal(e.to_string()))
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

/// The forwards of a published port to a container at `endpoint`: its IPv4
/// address, and its IPv6 one when it has one and the port is published on every
/// address (as Docker publishes `-p 8080:80` on `0.0.0.0` and `[::]`).
fn forwards_of(endpoint: &Endpoint, p: &PublishedPort) -> Vec<net::nat::Forward> {
    let Some(proto) = net::nat::Proto::parse(&p.proto) else { return Vec::new() };
    let to = |container_ip: std::net::IpAddr, host_ip: Option<std::net::IpAddr>| net::nat::Forward {
        proto,
        host_ip,
        host_port: p.host_port,
        container_ip,
        container_port: p.container_port,
    };
    match (p.host_ip, endpoint.ipv6) {
        (Some(std::net::IpAddr::V6(_)), Some(v6)) => vec![to(v6.ip.into(), p.host_ip)],
        (Some(std::net::IpAddr::V6(_)), None) => Vec::new(),
        (Some(v4), _) => vec![to(endpoint.ip.into(), Some(v4))],
        (None, Some(v6)) => vec![to(endpoint.ip.into(), None), to(v6.ip.into(), None)],
        (None, None) => vec![to(endpoint.ip.into(), None)],
    }
}

/// A unique local /64 that no network has.
fn unique_local(state: &State) -> definition::Ipv6Config {
    loop {
        let id = definition::new_id();
        let bytes = hex::decode(&id[..14]).expect("hex");
        let subnet = net::ipam::Subnet6::unique_local(bytes.try_into().expect("7 bytes"));
        let taken = state.networks.values().filter_map(|n| n.bridge().and_then(|b| b.ipv6.as_ref())).any(|o| o.subnet.overlaps(&subnet));
        if !taken {
            return definition::Ipv6Config::chosen(subnet);
        }
    }
}
