//! What a user network's DNS server answers: the names of the containers on the
//! networks the asking container shares with them (its name, its aliases, its short
//! id, each also qualified by the network's name, `web.backend`), read from the
//! network service's state at each query.

use std::net::IpAddr;
use std::sync::{Mutex, Weak};

use super::{Live, State};

pub struct Directory {
    state: Weak<Mutex<State>>,
    /// The network whose gateway the server listens on.
    network: String,
}

impl Directory {
    pub fn new(state: Weak<Mutex<State>>, network: String) -> Directory {
        Directory { state, network }
    }

    /// Runs `f` over the networks a query from `client` may see: every named network
    /// the asking container is on, or only this one when the asker is not one of
    /// its containers.
    fn with_networks<T>(&self, client: IpAddr, f: impl FnOnce(&[&Live]) -> T) -> Option<T> {
        let state = self.state.upgrade()?;
        let state = state.lock().ok()?;
        let here = state.networks.get(&self.network)?;
        let asker = match client {
            IpAddr::V4(ip) => here.leases.get(&ip).cloned(),
            IpAddr::V6(ip) => here.leases6.get(&ip).cloned(),
        };
        let networks: Vec<&Live> = match &asker {
            Some(c) => state.networks.values().filter(|n| n.def.has_names() && n.residents.contains_key(c)).collect(),
            None => vec![here],
        };
        Some(f(&networks))
    }
}

/// Whether `asked` is one of `names`, alone or qualified by `network`.
fn answers(names: &[String], network: &str, asked: &str) -> bool {
    names.iter().any(|n| {
        n.eq_ignore_ascii_case(asked)
            || (asked.len() == n.len() + 1 + network.len()
                && asked.get(..n.len()).is_some_and(|head| head.eq_ignore_ascii_case(n))
                && asked.as_bytes()[n.len()] == b'.'
                && asked.get(n.len() + 1..).is_some_and(|tail| tail.eq_ignore_ascii_case(network)))
    })
}

impl net::dns::Names for Directory {
    fn lookup(&self, client: IpAddr, name: &str) -> Option<Vec<IpAddr>> {
        let asked = name.trim_end_matches('.');
        let found = self.with_networks(client, |networks| {
            let mut out: Vec<IpAddr> = Vec::new();
            for n in networks {
                for (id, r) in &n.residents {
                    if !answers(&r.dns_names(id), &n.def.name, asked) {
                        continue;
                    }
                    let ips = std::iter::once(IpAddr::V4(r.endpoint.ip)).chain(r.endpoint.ipv6.map(|v6| IpAddr::V6(v6.ip)));
                    for ip in ips {
                        if !out.contains(&ip) {
                            out.push(ip);
                        }
                    }
                }
            }
            out
        })?;
        (!found.is_empty()).then_some(found)
    }

    fn name_of(&self, client: IpAddr, addr: IpAddr) -> Option<String> {
        let holds = |e: &super::Endpoint| match addr {
            IpAddr::V4(a) => e.ip == a,
            IpAddr::V6(a) => e.ipv6.is_some_and(|v6| v6.ip == a),
        };
        self.with_networks(client, |networks| {
            networks.iter().find_map(|n| n.residents.values().find(|r| holds(&r.endpoint)).map(|r| format!("{}.{}", r.name, n.def.name)))
        })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_answer_alone_or_with_their_network() {
        let names = vec!["web".to_string(), "Front".to_string()];
        assert!(answers(&names, "backend", "web"));
        assert!(answers(&names, "backend", "WEB"));
        assert!(answers(&names, "backend", "front.Backend"));
        assert!(!answers(&names, "backend", "web.other"));
        assert!(!answers(&names, "backend", "webx"));
        assert!(!answers(&names, "backend", "web."));
        assert!(!answers(&names, "backend", "wéb.backend"));
    }
}
