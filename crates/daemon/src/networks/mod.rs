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
mod lifecycle;
mod ports;
mod runs;
mod table;
pub mod view;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

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
    table: Arc<table::Table>,
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
        let table = Arc::new(table::Table::new(format!(
            "berth_{}",
            config.bridge.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect::<String>()
        )));
        // The daemon's DNS servers, else the host's.
        let upstreams = match config.dns.is_empty() {
            true => net::dns::Upstreams::from_resolv_conf(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default()),
            false => net::dns::Upstreams::from_resolv_conf(&config.dns.iter().map(|d| format!("nameserver {d}\n")).collect::<String>()),
        };
        let state = Arc::new(Mutex::new(state));
        let watch = {
            let (state, table) = (Arc::downgrade(&state), table.clone());
            let name = table.name().to_string();
            net::watch::TableWatch::start(&name.clone(), move || {
                let Some(state) = state.upgrade() else { return };
                let state = state.lock().expect("networks lock");
                if state.networks.values().any(|n| n.ready) {
                    match table.replace(state) {
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
