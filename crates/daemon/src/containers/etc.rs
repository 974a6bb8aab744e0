//! The files a container's `/etc` gets from berth at each start, as Docker rebuilds
//! them: `hostname`, `hosts` (with `--add-host`) and `resolv.conf` (the host's, or
//! `--dns`, `--dns-search`, `--dns-option`), written into its run directory and bound
//! into place by the spec.

use std::path::Path;

use super::record::Record;
use crate::error::{Error, Result};

/// The host's resolv.conf for a container: kept as is on the host network; elsewhere
/// loopback nameservers (unreachable from another network namespace) are dropped.
pub fn resolv_conf(host_net: bool, dns: &[String], search: &[String], options: &[String]) -> String {
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    if dns.is_empty() && search.is_empty() && options.is_empty() {
        if host_net {
            return host;
        }
        return host
            .lines()
            .filter(|l| {
                let mut w = l.split_whitespace();
                !(w.next() == Some("nameserver")
                    && w.next()
                        .is_some_and(|a| a.starts_with("127.") || a == "::1"))
            })
            .map(|l| format!("{l}\n"))
            .collect();
    }
    let mut out = String::new();
    for d in dns {
        out.push_str(&format!("nameserver {d}\n"));
    }
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

/// The hosts file: the host's on the host network, else Docker's own; then each
/// `--add-host NAME:IP`, `host-gateway` standing for `host_gateway` (the default
/// bridge's gateway, the host as containers reach it).
pub fn hosts_file(host_net: bool, extra: &[String], host_gateway: std::net::Ipv4Addr) -> Result<String> {
    let mut out = if host_net {
        std::fs::read_to_string("/etc/hosts").unwrap_or_default()
    } else {
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n".to_string()
    };
    for e in extra {
        let (host, ip) = e.split_once(':').ok_or_else(|| {
            Error::invalid(format!("invalid extra host {e:?}: use host:ip"))
        })?;
        if ip.parse::<std::net::IpAddr>().is_err() && ip != "host-gateway" {
            return Err(Error::invalid(format!(
                "invalid IP address in add-host: {ip:?}"
            )));
        }
        if ip == "host-gateway" {
            out.push_str(&format!("{host_gateway}\t{host}\n"));
        } else {
            out.push_str(&format!("{ip}\t{host}\n"));
        }
    }
    Ok(out)
}

/// The resolv.conf of a container whose names berthd serves at `nameserver` (its
/// first user network's gateway): that server only (it forwards what it does not
/// know to the container's `--dns`, else to the daemon's resolvers); the search
/// domains and options asked, else the host's; `ndots:0` unless asked otherwise, as
/// Docker writes it.
pub fn resolv_conf_served(nameserver: std::net::Ipv4Addr, search: &[String], options: &[String]) -> String {
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let host_lines = |key: &str| -> Vec<String> {
        host.lines()
            .filter_map(|l| l.trim().strip_prefix(key))
            .flat_map(|rest| rest.split_whitespace().map(String::from).collect::<Vec<_>>())
            .collect()
    };
    let mut out = format!("nameserver {nameserver}\n");
    let search = if search.is_empty() { host_lines("search") } else { search.to_vec() };
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    let mut options = if options.is_empty() { host_lines("options") } else { options.to_vec() };
    if !options.iter().any(|o| o.starts_with("ndots:")) {
        options.push("ndots:0".into());
    }
    out.push_str(&format!("options {}\n", options.join(" ")));
    out
}

/// Where a container asks for names.
pub struct Names<'a> {
    /// berthd's server for its user networks, if it is on one.
    pub nameserver: Option<std::net::Ipv4Addr>,
    /// The daemon's `dns`, for a container that names no servers.
    pub default_dns: &'a [String],
    /// Lines of `/etc/hosts` for its links.
    pub links: &'a str,
    /// What `host-gateway` in `--add-host` stands for.
    pub host_gateway: std::net::Ipv4Addr,
}

/// Writes the container's hostname, hosts and resolv.conf into `dir` (its run
/// directory, made if missing), at each start as Docker rebuilds them: the hosts
/// file names the container's first address with its hostname, and the names of a
/// user network are asked of `nameserver`.
pub fn write_etc_files(dir: &Path, r: &Record, endpoints: &[super::record::Endpoint], names: &Names) -> Result<()> {
    let hc = &r.host_config;
    let dns = if hc.dns.is_empty() { names.default_dns } else { &hc.dns };
    let host_net = r.network.is_host();
    let io = |what: &str| {
        let what = what.to_string();
        move |e: std::io::Error| Error::internal(format!("write {what}: {e}"))
    };
    std::fs::create_dir_all(dir).map_err(io("the run directory"))?;
    let hostname = if host_net {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default()
    } else {
        r.config.hostname.clone()
    };
    std::fs::write(dir.join("hostname"), format!("{hostname}\n")).map_err(io("hostname"))?;
    let mut hosts = hosts_file(host_net, &hc.extra_hosts, names.host_gateway)?;
    if let Some(first) = endpoints.first() {
        let names = match r.config.domainname.as_str() {
            "" => hostname.clone(),
            domain => format!("{hostname}.{domain} {hostname}"),
        };
        hosts.push_str(&format!("{}\t{names}\n", first.ip));
        if let Some(v6) = first.ipv6 {
            hosts.push_str(&format!("{}\t{names}\n", v6.ip));
        }
    }
    hosts.push_str(names.links);
    std::fs::write(dir.join("hosts"), hosts).map_err(io("hosts"))?;
    let resolv = match names.nameserver {
        // berthd's server forwards to the daemon's servers itself.
        Some(ns) => resolv_conf_served(ns, &hc.dns_search, &hc.dns_options),
        None => resolv_conf(host_net, dns, &hc.dns_search, &hc.dns_options),
    };
    std::fs::write(dir.join("resolv.conf"), resolv).map_err(io("resolv.conf"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_drops_loopback_nameservers_off_the_host_network() {
        let custom = resolv_conf(false, &["10.0.0.1".into()], &["example.org".into()], &[]);
        assert_eq!(custom, "nameserver 10.0.0.1\nsearch example.org\n");
    }

    #[test]
    fn a_served_resolv_conf_asks_berthd_first() {
        let ns = std::net::Ipv4Addr::new(10, 1, 0, 1);
        let asked = resolv_conf_served(ns, &["corp".into()], &["timeout:2".into()]);
        assert_eq!(asked, "nameserver 10.1.0.1\nsearch corp\noptions timeout:2 ndots:0\n");
        let kept = resolv_conf_served(ns, &[], &["ndots:3".into()]);
        assert!(kept.starts_with("nameserver 10.1.0.1\n") && kept.ends_with("options ndots:3\n"), "{kept}");
    }
}
