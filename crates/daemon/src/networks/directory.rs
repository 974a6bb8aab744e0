//! What a user network's DNS server answers: the names of the containers on the
//! networks the asking container is on with them (its name, its aliases, its short
//! id, each also qualified by the network's name, `web.backend`).
//!
//! The servers read a [`Book`] of their own, copied from the network service's state
//! whenever a network's residents change, never the state itself: a query must not
//! wait behind the service's netlink and nftables work (nor may a server that is
//! being stopped wait for a query stuck behind it).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{RwLock, Weak};

use super::Live;

/// The names of every named network, by network id.
#[derive(Default)]
pub struct Book {
    pages: BTreeMap<String, Page>,
}

/// One network's names.
#[derive(Default)]
struct Page {
    name: String,
    /// Container id → its entry.
    residents: BTreeMap<String, Entry>,
    /// Address → the container that holds it.
    holders: BTreeMap<IpAddr, String>,
}

struct Entry {
    name: String,
    names: Vec<String>,
    v4: Ipv4Addr,
    v6: Option<Ipv6Addr>,
    dns: Vec<std::net::SocketAddr>,
}

impl Book {
    /// Copies network `live`'s residents (a network without names has no page).
    pub(super) fn write(&mut self, live: &Live) {
        if !live.def.has_names() {
            return;
        }
        let mut page = Page { name: live.def.name.clone(), ..Page::default() };
        for (id, r) in &live.residents {
            let entry = Entry { name: r.name.clone(), names: r.dns_names(id), v4: r.endpoint.ip, v6: r.endpoint.ipv6.map(|v6| v6.ip), dns: r.dns.clone() };
            page.holders.insert(IpAddr::V4(entry.v4), id.clone());
            if let Some(v6) = entry.v6 {
                page.holders.insert(IpAddr::V6(v6), id.clone());
            }
            page.residents.insert(id.clone(), entry);
        }
        self.pages.insert(live.def.id.clone(), page);
    }

    pub(super) fn erase(&mut self, network: &str) {
        self.pages.remove(network);
    }
}

pub struct Directory {
    book: Weak<RwLock<Book>>,
    /// The network whose gateway the server listens on.
    network: String,
}

impl Directory {
    pub fn new(book: Weak<RwLock<Book>>, network: String) -> Directory {
        Directory { book, network }
    }

    /// Runs `f` over the pages of the networks the container asking from `client` is
    /// on; nothing for an asker that is not one of this network's containers (another
    /// network's container learns nothing of this one's).
    fn with_pages<T>(&self, client: IpAddr, f: impl FnOnce(&[&Page]) -> T) -> Option<T> {
        let book = self.book.upgrade()?;
        let book = book.read().ok()?;
        let asker = book.pages.get(&self.network)?.holders.get(&client.to_canonical())?;
        let pages: Vec<&Page> = book.pages.values().filter(|p| p.residents.contains_key(asker)).collect();
        Some(f(&pages))
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
        let found = self.with_pages(client, |pages| {
            let mut out: Vec<IpAddr> = Vec::new();
            for page in pages {
                for entry in page.residents.values().filter(|e| answers(&e.names, &page.name, asked)) {
                    for ip in std::iter::once(IpAddr::V4(entry.v4)).chain(entry.v6.map(IpAddr::V6)) {
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

    /// A container that named its own servers (`--dns`) has its other questions
    /// asked of them, as Docker's resolver does.
    fn upstreams(&self, client: IpAddr) -> Option<Vec<std::net::SocketAddr>> {
        let book = self.book.upgrade()?;
        let book = book.read().ok()?;
        let page = book.pages.get(&self.network)?;
        let entry = page.holders.get(&client.to_canonical()).and_then(|id| page.residents.get(id))?;
        (!entry.dns.is_empty()).then(|| entry.dns.clone())
    }

    fn name_of(&self, client: IpAddr, addr: IpAddr) -> Option<String> {
        let addr = addr.to_canonical();
        self.with_pages(client, |pages| {
            pages.iter().find_map(|p| p.holders.get(&addr).and_then(|id| p.residents.get(id)).map(|e| format!("{}.{}", e.name, p.name)))
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
