//! Legacy links (`--link NAME[:ALIAS]`): at each start, a linked container that runs
//! is named in `/etc/hosts` (its alias, short id and name) and described in the
//! environment (`ALIAS_NAME`, `ALIAS_PORT_<port>_<PROTO>…`, `ALIAS_ENV_<var>`), as
//! Docker does for containers on the default bridge.

use super::Containers;
use super::record::{Record, Status};

/// One link as `HostConfig.Links` holds it: `/target:/container/alias`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub target: String,
    pub alias: String,
}

impl Link {
    /// `NAME`, `NAME:ALIAS`, or the stored `/NAME:/CONTAINER/ALIAS`.
    pub fn parse(spec: &str) -> Result<Link, String> {
        let (target, alias) = spec.split_once(':').unwrap_or((spec, spec));
        let target = target.trim_start_matches('/');
        let alias = alias.rsplit('/').next().unwrap_or(alias);
        if target.is_empty() || alias.is_empty() {
            return Err(format!("invalid link {spec:?}: use NAME[:ALIAS]"));
        }
        Ok(Link { target: target.to_string(), alias: alias.to_string() })
    }

    /// The link as inspect shows it, for container `name`.
    pub fn stored(&self, target_name: &str, name: &str) -> String {
        format!("/{target_name}:/{name}/{}", self.alias)
    }
}

/// What a start gets from its links: lines of `/etc/hosts` and variables.
#[derive(Debug, Default)]
pub struct Linked {
    pub hosts: String,
    pub env: Vec<String>,
}

/// The links of `r` resolved against the running containers. A link to a container
/// that does not run fails the start, as Docker's.
pub fn resolve(d: &Containers, r: &Record) -> Result<Linked, String> {
    let mut out = Linked::default();
    for spec in &r.host_config.links {
        let link = Link::parse(spec)?;
        let target = d.get(&link.target).map(|c| c.record()).map_err(|_| format!("could not get container for {}", link.target))?;
        if !matches!(target.state.status, Status::Running | Status::Paused) {
            return Err(format!("Cannot link to a non running container: /{} AS /{}/{}", target.name, r.name, link.alias));
        }
        // Its address on the network this container joins first.
        let first = r.networks.first().map(|a| a.network.as_str()).unwrap_or("bridge");
        let Some(ep) = target.state.endpoints.iter().find(|e| e.network == first) else {
            return Err(format!("Cannot link to /{}, as it does not belong to the default network", target.name));
        };
        out.hosts.push_str(&format!("{}\t{} {} {}\n", ep.ip, link.alias, &target.id[..12], target.name));
        out.env.extend(environment(&link.alias, &format!("/{}/{}", r.name, link.alias), &target, ep.ip));
    }
    Ok(out)
}

/// Docker's link variables for `alias` naming `target` at `ip`.
fn environment(alias: &str, name: &str, target: &Record, ip: std::net::Ipv4Addr) -> Vec<String> {
    let prefix: String = alias.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    let mut env = vec![format!("{prefix}_NAME={name}")];
    let mut ports: Vec<(u16, String)> =
        target.config.exposed_ports.keys().filter_map(|k| super::record::port_key(k)).map(|(p, proto)| (p, proto.to_string())).collect();
    ports.sort();
    if let Some((port, proto)) = ports.first() {
        env.push(format!("{prefix}_PORT={proto}://{ip}:{port}"));
    }
    for (port, proto) in &ports {
        let key = format!("{prefix}_PORT_{port}_{}", proto.to_uppercase());
        env.push(format!("{key}={proto}://{ip}:{port}"));
        env.push(format!("{key}_ADDR={ip}"));
        env.push(format!("{key}_PORT={port}"));
        env.push(format!("{key}_PROTO={proto}"));
    }
    for var in &target.config.env {
        if let Some((k, v)) = var.split_once('=')
            && !matches!(k, "HOME" | "PATH")
        {
            env.push(format!("{prefix}_ENV_{k}={v}"));
        }
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_read_in_every_form() {
        assert_eq!(Link::parse("db").unwrap(), Link { target: "db".into(), alias: "db".into() });
        assert_eq!(Link::parse("db:data").unwrap(), Link { target: "db".into(), alias: "data".into() });
        assert_eq!(Link::parse("/db:/web/data").unwrap(), Link { target: "db".into(), alias: "data".into() });
        assert_eq!(Link::parse("db:data").unwrap().stored("db", "web"), "/db:/web/data");
        assert!(Link::parse(":x").is_err() && Link::parse("db:").is_err());
    }
}
