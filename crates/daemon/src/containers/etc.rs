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

pub fn hosts_file(host_net: bool, extra: &[String]) -> Result<String> {
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
        out.push_str(&format!("{ip}\t{host}\n"));
    }
    Ok(out)
}

/// Writes the container's hostname, hosts and resolv.conf into `dir` (its run
/// directory, made if missing), at each start as Docker rebuilds them.
pub fn write_etc_files(dir: &Path, r: &Record) -> Result<()> {
    let hc = &r.host_config;
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
    std::fs::write(
        dir.join("hosts"),
        hosts_file(host_net, &hc.extra_hosts)?,
    )
    .map_err(io("hosts"))?;
    std::fs::write(
        dir.join("resolv.conf"),
        resolv_conf(host_net, &hc.dns, &hc.dns_search, &hc.dns_options),
    )
    .map_err(io("resolv.conf"))?;
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
}
