//! Published ports and outbound traffic, through nftables: one table of berth's own
//! (never a rule in anyone else's), replaced whole in one transaction at each change,
//! so that a reader never sees half of it. No proxy process: a port is a DNAT rule.
//!
//! - `prerouting` and `output` send traffic for a local address to the `ports` chain,
//!   where published ports are two maps (`ports_at`: address, protocol and port;
//!   `ports_any`: protocol and port, on every local address) to their container's
//!   address and port: one hash lookup per packet however many ports there are, and
//!   a port published or withdrawn is one element added or deleted, the table left
//!   as it is (replacing a table waits for the kernel's RCU grace period);
//! - `postrouting` masquerades the bridge's traffic that leaves through another device,
//!   and traffic from the host's loopback to a container (the bridge must have
//!   `route_localnet` for that, which [`allow_localhost`] sets on it).

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Stdio};

pub use crate::forward::{Forward, Proto};

/// One bridge network of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub bridge: String,
    pub subnet: (Ipv4Addr, u8),
    /// Its IPv6 network, if it has one.
    pub subnet6: Option<(std::net::Ipv6Addr, u8)>,
    /// Its traffic out through other devices leaves with the host's address.
    pub masquerade: bool,
    /// Nothing is forwarded between it and any other device (`--internal`).
    pub internal: bool,
    /// berth answers names on this gateway's port 53: that traffic is never tracked,
    /// so no NAT rule of any table (a container publishing port 53 on every address,
    /// here or under another daemon) can take its network's names.
    pub dns: Option<Ipv4Addr>,
}

/// What the table says: the bridge networks and every forward.
#[derive(Debug, Clone)]
pub struct Table<'a> {
    /// The table's name (letters, digits and `_`).
    pub name: &'a str,
    pub segments: &'a [Segment],
    pub forwards: &'a [Forward],
}

#[derive(Debug, thiserror::Error)]
#[error("nftables table {table}: {reason}")]
pub struct Error {
    pub table: String,
    pub reason: String,
}

/// The address families berth's tables come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

impl Family {
    fn of(ip: IpAddr) -> Family {
        if ip.is_ipv4() { Family::V4 } else { Family::V6 }
    }

    /// nft's words: the table family, the address selector, the address type.
    fn words(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Family::V4 => ("ip", "ip", "ipv4_addr"),
            Family::V6 => ("ip6", "ip6", "ipv6_addr"),
        }
    }
}

/// Whether the kernel has an IPv6 stack (an `ip6` table needs it).
fn ipv6_available() -> bool {
    std::path::Path::new("/proc/net/if_inet6").exists()
}

/// The script that replaces the tables with `t`: the `ip` table, and the `ip6` one
/// when a network has IPv6 ([`remove_ipv6`] takes it away once none has); each made
/// if missing, then deleted and made again, in one transaction.
///
/// - a container reaching a published port through a host address (hairpin) is
///   masqueraded when the port leads back into its own network, so that the reply
///   comes back through the host and not straight from the other container;
/// - networks are isolated from each other (Docker's isolation chains), but for
///   published ports: a connection that was DNATed may cross;
/// - an internal network forwards nothing to or from other devices.
pub fn script(t: &Table) -> String {
    let mut out = table_script(t, Family::V4);
    if t.segments.iter().any(|s| s.subnet6.is_some()) {
        out.push_str(&table_script(t, Family::V6));
    }
    out
}

fn table_script(t: &Table, family: Family) -> String {
    let name = t.name;
    let (table, sel, addr_type) = family.words();
    let ours = |f: &&Forward| Family::of(f.container_ip) == family;
    let elements = |at: bool| -> String {
        let items: Vec<String> = t.forwards.iter().filter(ours).filter(|f| f.host_ip.is_some() == at).map(element).collect();
        if items.is_empty() { String::new() } else { format!("\t\telements = {{ {} }}\n", items.join(", ")) }
    };
    let (at, any) = (elements(true), elements(false));
    let mut postrouting = String::new();
    let mut forward = String::new();
    let gateways: Vec<String> = t.segments.iter().filter_map(|s| s.dns).map(|gw| gw.to_string()).collect();
    let untracked = if family == Family::V4 && !gateways.is_empty() {
        // Before conntrack (priority raw): untracked packets skip every NAT hook.
        let gateways = gateways.join(", ");
        format!(
            "\tchain names_in {{\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tip daddr {{ {gateways} }} th dport 53 notrack\n\t}}\n\
             \tchain names_out {{\n\t\ttype filter hook output priority raw; policy accept;\n\t\tip saddr {{ {gateways} }} th sport 53 notrack\n\t}}\n"
        )
    } else {
        String::new()
    };
    let bridges: Vec<String> = t.segments.iter().map(|s| format!("\"{}\"", s.bridge)).collect();
    for s in t.segments {
        let bridge = &s.bridge;
        let subnet = match family {
            Family::V4 => Some(format!("{}/{}", s.subnet.0, s.subnet.1)),
            Family::V6 => s.subnet6.map(|(a, p)| format!("{a}/{p}")),
        };
        if let Some(net) = subnet {
            if s.masquerade && !s.internal {
                postrouting.push_str(&format!("\t\t{sel} saddr {net} oifname != \"{bridge}\" masquerade\n"));
            }
            postrouting.push_str(&format!("\t\toifname \"{bridge}\" {sel} saddr {net} {sel} daddr {net} ct status dnat masquerade\n"));
        }
        if family == Family::V4 {
            postrouting.push_str(&format!("\t\tip saddr 127.0.0.0/8 oifname \"{bridge}\" masquerade\n"));
        }
        if s.internal {
            forward.push_str(&format!("\t\tiifname \"{bridge}\" oifname != \"{bridge}\" drop\n"));
            forward.push_str(&format!("\t\toifname \"{bridge}\" iifname != \"{bridge}\" drop\n"));
        } else if bridges.len() > 1 {
            let others: Vec<&String> = bridges.iter().filter(|b| **b != format!("\"{bridge}\"")).collect();
            let others = others.iter().map(|b| b.as_str()).collect::<Vec<_>>().join(", ");
            forward.push_str(&format!("\t\tiifname \"{bridge}\" oifname {{ {others} }} ct status & dnat == 0 drop\n"));
        }
    }
    format!(
        "table {table} {name}\n\
         delete table {table} {name}\n\
         table {table} {name} {{\n\
         \tmap ports_at {{\n\t\ttype {addr_type} . inet_proto . inet_service : {addr_type} . inet_service\n{at}\t}}\n\
         \tmap ports_any {{\n\t\ttype inet_proto . inet_service : {addr_type} . inet_service\n{any}\t}}\n\
         {untracked}\
         \tchain ports {{\n\t\tdnat {sel} to {sel} daddr . meta l4proto . th dport map @ports_at\n\t\tdnat {sel} to meta l4proto . th dport map @ports_any\n\t}}\n\
         \tchain prerouting {{\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tfib daddr type local jump ports\n\t}}\n\
         \tchain output {{\n\t\ttype nat hook output priority -100; policy accept;\n\t\tfib daddr type local jump ports\n\t}}\n\
         \tchain postrouting {{\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n{postrouting}\t}}\n\
         \tchain forward {{\n\t\ttype filter hook forward priority filter; policy accept;\n{forward}\t}}\n\
         }}\n"
    )
}

fn nft(table: &str, input: &str) -> Result<(), Error> {
    let fail = |reason: String| Error { table: table.to_string(), reason };
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("run nft: {e} (is the nftables package installed?)")))?;
    child.stdin.take().expect("piped").write_all(input.as_bytes()).map_err(|e| fail(e.to_string()))?;
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(fail(String::from_utf8_lossy(&out.stderr).trim().to_string()))
    }
}

/// A forward as an element of its map: `[ADDR . ]PROTO . PORT : TO . PORT`.
fn element(f: &Forward) -> String {
    let key = match f.host_ip {
        Some(ip) => format!("{ip} . {} . {}", f.proto.as_str(), f.host_port),
        None => format!("{} . {}", f.proto.as_str(), f.host_port),
    };
    format!("{key} : {} . {}", f.container_ip, f.container_port)
}

/// The table and map a forward is an element of.
fn map_of(f: &Forward) -> (&'static str, &'static str) {
    let table = Family::of(f.container_ip).words().0;
    (table, if f.host_ip.is_some() { "ports_at" } else { "ports_any" })
}

/// Replaces the table with `t`.
pub fn apply(t: &Table) -> Result<(), Error> {
    nft(t.name, &script(t))
}

/// Adds `forwards` to the table `name` (made by [`apply`]), in one transaction:
/// through netlink, else (an older kernel, say) through `nft`.
pub fn add(name: &str, forwards: &[Forward]) -> Result<(), Error> {
    if forwards.is_empty() || crate::elements::change(name, crate::elements::Change::Add, forwards).is_ok() {
        return Ok(());
    }
    let script: String = forwards
        .iter()
        .map(|f| {
            let (table, map) = map_of(f);
            format!("add element {table} {name} {map} {{ {} }}\n", element(f))
        })
        .collect();
    nft(name, &script)
}

/// Deletes `forwards` from the table `name`, in one transaction: through netlink,
/// else through `nft`.
pub fn delete(name: &str, forwards: &[Forward]) -> Result<(), Error> {
    if forwards.is_empty() || crate::elements::change(name, crate::elements::Change::Delete, forwards).is_ok() {
        return Ok(());
    }
    let script: String = forwards
        .iter()
        .map(|f| {
            let key = element(f);
            let key = key.split(" : ").next().unwrap_or_default();
            let (table, map) = map_of(f);
            format!("delete element {table} {name} {map} {{ {key} }}\n")
        })
        .collect();
    nft(name, &script)
}

/// Removes the `ip6` table `name`, if there is one (no network has IPv6 any more).
pub fn remove_ipv6(name: &str) -> Result<(), Error> {
    if !ipv6_available() {
        return Ok(());
    }
    nft(name, &format!("table ip6 {name}\ndelete table ip6 {name}\n"))
}

/// Removes the tables `name` (`ip`, and `ip6` where the kernel has IPv6); ones that
/// are not there are no error.
pub fn remove(name: &str) -> Result<(), Error> {
    let mut script = format!("table ip {name}\ndelete table ip {name}\n");
    if ipv6_available() {
        script.push_str(&format!("table ip6 {name}\ndelete table ip6 {name}\n"));
    }
    nft(name, &script)
}

/// Lets traffic from the host's loopback out through `bridge` (to a container behind
/// a published port): the kernel drops such packets otherwise. A setting of berth's
/// own device only.
pub fn allow_localhost(bridge: &str) -> std::io::Result<()> {
    std::fs::write(format!("/proc/sys/net/ipv4/conf/{bridge}/route_localnet"), "1")
}

/// Turns the host's IPv4 forwarding on, as dockerd does at its start: containers
/// reach past the host only through it (Debian ships with it off). Returns whether
/// it was off. IPv6 forwarding is left to the host's owner: turning
/// `net.ipv6.conf.all.forwarding` on makes every interface stop taking router
/// advertisements, which costs a host its own IPv6 address.
pub fn enable_ipv4_forwarding() -> std::io::Result<bool> {
    const PATH: &str = "/proc/sys/net/ipv4/ip_forward";
    if std::fs::read_to_string(PATH)?.trim() == "1" {
        return Ok(false);
    }
    std::fs::write(PATH, "1")?;
    Ok(true)
}

/// Whether the host forwards IPv6 (containers on an IPv6 network reach past it).
pub fn ipv6_forwarding() -> bool {
    std::fs::read_to_string("/proc/sys/net/ipv6/conf/all/forwarding").is_ok_and(|v| v.trim() == "1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_replaces_the_table_whole() {
        let forwards = [
            Forward { proto: Proto::Tcp, host_ip: None, host_port: 8080, container_ip: Ipv4Addr::new(10, 1, 2, 2).into(), container_port: 80 },
            Forward {
                proto: Proto::Udp,
                host_ip: Some(Ipv4Addr::LOCALHOST.into()),
                host_port: 5353,
                container_ip: Ipv4Addr::new(10, 1, 2, 3).into(),
                container_port: 53,
            },
            Forward { proto: Proto::Tcp, host_ip: None, host_port: 8081, container_ip: "fd00:1:3::2".parse().unwrap(), container_port: 80 },
        ];
        let segments = [
            Segment { bridge: "b0".into(), subnet: (Ipv4Addr::new(10, 1, 2, 0), 24), subnet6: None, masquerade: true, internal: false, dns: None },
            Segment {
                bridge: "b1".into(),
                subnet: (Ipv4Addr::new(10, 1, 3, 0), 24),
                subnet6: Some(("fd00:1:3::".parse().unwrap(), 64)),
                masquerade: true,
                internal: false,
                dns: None,
            },
            Segment { bridge: "b2".into(), subnet: (Ipv4Addr::new(10, 1, 4, 0), 24), subnet6: None, masquerade: true, internal: true, dns: Some(Ipv4Addr::new(10, 1, 4, 1)) },
        ];
        let s = script(&Table { name: "berth_b0", segments: &segments, forwards: &forwards });
        assert!(s.starts_with("table ip berth_b0\ndelete table ip berth_b0\ntable ip berth_b0 {\n"), "{s}");
        assert!(s.contains("elements = { tcp . 8080 : 10.1.2.2 . 80 }"), "{s}");
        assert!(s.contains("elements = { 127.0.0.1 . udp . 5353 : 10.1.2.3 . 53 }"), "{s}");
        // IPv6: a table of its own, with the v6 network's masquerade and the v6 forward.
        assert!(s.contains("table ip6 berth_b0 {\n"), "{s}");
        assert!(s.contains("ip6 saddr fd00:1:3::/64 oifname != \"b1\" masquerade"), "{s}");
        assert!(s.contains("elements = { tcp . 8081 : fd00:1:3::2 . 80 }"), "{s}");
        assert!(s.contains("dnat ip6 to meta l4proto . th dport map @ports_any"), "{s}");
        assert!(s.contains("ip saddr 10.1.2.0/24 oifname != \"b0\" masquerade"), "{s}");
        // Hairpin: back into its own network through a published port.
        assert!(s.contains("oifname \"b1\" ip saddr 10.1.3.0/24 ip daddr 10.1.3.0/24 ct status dnat masquerade"), "{s}");
        // Isolated from the other networks but through published ports.
        assert!(s.contains("iifname \"b0\" oifname { \"b1\", \"b2\" } ct status & dnat == 0 drop"), "{s}");
        // Internal: no way out, no masquerade.
        assert!(s.contains("iifname \"b2\" oifname != \"b2\" drop"), "{s}");
        assert!(!s.contains("ip saddr 10.1.4.0/24 oifname != \"b2\" masquerade"), "{s}");
        // Names served on a gateway are never tracked, so never NATed by anyone.
        assert!(s.contains("type filter hook prerouting priority raw; policy accept;\n\t\tip daddr { 10.1.4.1 } th dport 53 notrack\n"), "{s}");
        assert!(s.contains("type filter hook output priority raw; policy accept;\n\t\tip saddr { 10.1.4.1 } th sport 53 notrack\n"), "{s}");
    }

    /// nft itself accepts the script and the table comes and goes (root, nft).
    #[test]
    fn nft_takes_the_table_and_removes_it() {
        if !nix::unistd::geteuid().is_root() || Command::new("nft").arg("--version").output().is_err() {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "needs root and nft under CI");
            return;
        }
        let name = format!("berth_test{}", std::process::id());
        // The tables go even when an assertion fails.
        struct Gone(String);
        impl Drop for Gone {
            fn drop(&mut self) {
                let _ = remove(&self.0);
            }
        }
        let _gone = Gone(name.clone());
        let forwards = [Forward { proto: Proto::Tcp, host_ip: None, host_port: 18080, container_ip: Ipv4Addr::new(10, 9, 9, 2).into(), container_port: 80 }];
        let segments = [
            Segment {
                bridge: "nonexistent0".into(),
                subnet: (Ipv4Addr::new(10, 9, 9, 0), 24),
                subnet6: Some(("fd00:9:9::".parse().unwrap(), 64)),
                masquerade: true,
                internal: false,
                dns: None,
            },
            Segment { bridge: "nonexistent1".into(), subnet: (Ipv4Addr::new(10, 9, 8, 0), 24), subnet6: None, masquerade: false, internal: true, dns: Some(Ipv4Addr::new(10, 9, 8, 1)) },
        ];
        let t = Table { name: &name, segments: &segments, forwards: &forwards };
        let applied = apply(&t);
        let listed = Command::new("nft").args(["list", "table", "ip", &name]).output().unwrap();
        remove(&name).unwrap();
        applied.unwrap();
        let text = String::from_utf8_lossy(&listed.stdout);
        assert!(text.contains("tcp . 18080 : 10.9.9.2 . 80"), "{text}");
        assert!(text.contains("ip daddr 10.9.8.1 th dport 53 notrack"), "{text}");
        // Applied twice: still one table, replaced.
        apply(&t).unwrap();
        apply(&Table { forwards: &[], ..t.clone() }).unwrap();
        let listed = Command::new("nft").args(["list", "table", "ip", &name]).output().unwrap();
        assert!(!String::from_utf8_lossy(&listed.stdout).contains("18080"));
        // Forwards added and deleted one by one, the table kept.
        let more = [
            Forward { proto: Proto::Udp, host_ip: Some(Ipv4Addr::LOCALHOST.into()), host_port: 15353, container_ip: Ipv4Addr::new(10, 9, 9, 3).into(), container_port: 53 },
            forwards[0].clone(),
        ];
        crate::elements::change(&name, crate::elements::Change::Add, &more).expect("through netlink");
        let v6 = [Forward { proto: Proto::Tcp, host_ip: None, host_port: 18081, container_ip: "fd00:9:9::2".parse().unwrap(), container_port: 80 }];
        crate::elements::change(&name, crate::elements::Change::Add, &v6).expect("through netlink");
        let listed6 = String::from_utf8_lossy(&Command::new("nft").args(["list", "table", "ip6", &name]).output().unwrap().stdout).into_owned();
        assert!(listed6.contains("tcp . 18081 : fd00:9:9::2 . 80"), "{listed6}");
        delete(&name, &v6).unwrap();
        let listed = String::from_utf8_lossy(&Command::new("nft").args(["list", "table", "ip", &name]).output().unwrap().stdout).into_owned();
        assert!(listed.contains("127.0.0.1 . udp . 15353 : 10.9.9.3 . 53") && listed.contains("tcp . 18080 : 10.9.9.2 . 80"), "{listed}");
        crate::elements::change(&name, crate::elements::Change::Delete, &more[..1]).expect("through netlink");
        assert!(crate::elements::change(&name, crate::elements::Change::Delete, &more[..1]).is_err(), "not there any more");
        let listed = String::from_utf8_lossy(&Command::new("nft").args(["list", "table", "ip", &name]).output().unwrap().stdout).into_owned();
        remove(&name).unwrap();
        assert!(!listed.contains("15353") && listed.contains("tcp . 18080"), "{listed}");
        assert!(!Command::new("nft").args(["list", "table", "ip6", &name]).output().unwrap().status.success(), "ip6 removed too");
        assert!(!Command::new("nft").args(["list", "table", "ip", &name]).output().unwrap().status.success());
        remove(&name).unwrap();
    }
}
