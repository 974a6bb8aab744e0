//! berth's nftables table, as the networks' state says it should be: each ready
//! bridge's segment (masquerade, isolation, names) and the published ports.
//!
//! Changes reach the kernel in the order they were made to the state, yet never
//! under the state's lock: the order lock is taken while the state's is still held
//! and kept through the kernel call, so a start that only reads or leases waits for
//! no other container's netlink round trip. The order is always state, then table.

use std::sync::{Mutex, MutexGuard};

use super::State;
use crate::error::{Error, Result};

pub(super) struct Table {
    name: String,
    order: Mutex<()>,
}

impl Table {
    pub(super) fn new(name: String) -> Table {
        Table { name, order: Mutex::new(()) }
    }

    pub(super) fn name(&self) -> &str {
        &self.name
    }

    /// Runs `change` on the table once `state` is let go, before any change that is
    /// made to the state after this one reaches the kernel.
    pub(super) fn after<T>(&self, state: MutexGuard<'_, State>, change: impl FnOnce(&str) -> T) -> T {
        let _order = self.order.lock().expect("table order lock");
        drop(state);
        change(&self.name)
    }

    /// Replaces the table with what `state` says, the caller keeping the state's lock
    /// (a network brought up, whose users must wait for it anyway).
    pub(super) fn replace_held(&self, state: &State) -> Result<()> {
        let _order = self.order.lock().expect("table order lock");
        Plan::of(state).apply(&self.name)
    }

    /// Removes the table's `ip6` half (no network has IPv6 any more), the caller
    /// keeping the state's lock.
    pub(super) fn remove_ipv6_held(&self, _state: &State) -> Result<(), net::nat::Error> {
        let _order = self.order.lock().expect("table order lock");
        net::nat::remove_ipv6(&self.name)
    }

    /// Replaces the table with what `state` says, after letting it go.
    pub(super) fn replace(&self, state: MutexGuard<'_, State>) -> Result<()> {
        let plan = Plan::of(&state);
        self.after(state, |name| plan.apply(name))
    }
}

/// The whole table, as a state says it.
struct Plan {
    segments: Vec<net::nat::Segment>,
    forwards: Vec<net::nat::Forward>,
}

impl Plan {
    fn of(state: &State) -> Plan {
        let segments = state
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
        let forwards = state.forwards.values().flatten().cloned().collect();
        Plan { segments, forwards }
    }

    fn apply(&self, table: &str) -> Result<()> {
        net::nat::apply(&net::nat::Table { name: table, segments: &self.segments, forwards: &self.forwards }).map_err(|e| Error::internal(e.to_string()))
    }
}
