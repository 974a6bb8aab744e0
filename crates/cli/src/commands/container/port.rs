//! `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`: the container's published ports, read
//! from `NetworkSettings.Ports` of its inspect, as docker prints them (`80/tcp ->
//! 0.0.0.0:8080`, or the host addresses of one port), in natural order.

use std::cmp::Ordering;

use api::containers::ContainerInspect;

use super::{Invocation, path_segment};
use crate::cli::container::PortArgs;
use crate::context::Cli;
use crate::error::{CliError, Result};

/// `host:port`, with an IPv6 host in brackets (Go's `net.JoinHostPort`).
fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// Natural order: runs of digits compare by value (`8:80` before `10:80`), as docker's
/// `sortorder.NaturalLess`.
fn natural(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let digits = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (digits(a), digits(b));
                let trim = |s: &[u8]| s.iter().skip_while(|c| **c == b'0').count();
                let (ta, tb) = (&a[na - trim(&a[..na])..na], &b[nb - trim(&b[..nb])..nb]);
                let by_value = ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb)).then_with(|| na.cmp(&nb));
                if by_value != Ordering::Equal {
                    return by_value;
                }
                (a, b) = (&a[na..], &b[nb..]);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                (a, b) = (&a[1..], &b[1..]);
            }
        }
    }
}

/// The lines `docker port` prints for inspect `c` of the container named `name`, or its
/// error for a `port` that is not published.
pub fn lines(c: &ContainerInspect, name: &str, port: Option<&str>) -> std::result::Result<Vec<String>, String> {
    let ports = &c.network_settings.ports;
    let mut out = Vec::new();
    match port {
        Some(requested) => {
            let (number, proto) = requested.split_once('/').unwrap_or((requested, ""));
            let proto = if proto.is_empty() { "tcp" } else { proto };
            if let Err(e) = number.parse::<u16>() {
                let reason = match e.kind() {
                    std::num::IntErrorKind::PosOverflow => "value out of range",
                    _ => "invalid syntax",
                };
                return Err(format!(
                    "Error: invalid port ({number}): strconv.ParseUint: parsing \"{number}\": {reason}"
                ));
            }
            let frontends = ports.get(&format!("{number}/{proto}")).and_then(|f| f.as_ref()).filter(|f| !f.is_empty());
            let Some(frontends) = frontends else {
                return Err(format!("Error: No public port '{requested}' published for {name}"));
            };
            out.extend(frontends.iter().map(|f| join_host_port(&f.host_ip, &f.host_port)));
        }
        None => {
            for (from, frontends) in ports {
                for f in frontends.iter().flatten() {
                    out.push(format!("{from} -> {}", join_host_port(&f.host_ip, &f.host_port)));
                }
            }
        }
    }
    out.sort_by(|a, b| natural(a, b));
    Ok(out)
}

pub async fn run(cli: &mut Cli<'_>, args: PortArgs, inv: &Invocation) -> Result<()> {
    inv.require_range(&args.args, 1, 2)?;
    let name = &args.args[0];
    let client = cli.client().await?.clone();
    let c: ContainerInspect = client.get_json(&format!("/containers/{}/json", path_segment(name)), &[]).await?;
    let out = lines(&c, name, args.args.get(1).map(String::as_str)).map_err(CliError::Other)?;
    if !out.is_empty() {
        writeln!(cli.out, "{}", out.join("\n"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inspect(ports: serde_json::Value) -> ContainerInspect {
        serde_json::from_value(serde_json::json!({"Id": "abc", "NetworkSettings": {"Ports": ports}})).unwrap()
    }

    #[test]
    fn every_published_port_in_natural_order() {
        let c = inspect(serde_json::json!({
            "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}],
            "9/udp": [{"HostIp": "127.0.0.1", "HostPort": "10009"}],
            "443/tcp": null,
            "10000/tcp": [{"HostIp": "0.0.0.0", "HostPort": "32768"}],
        }));
        assert_eq!(
            lines(&c, "web", None).unwrap(),
            ["9/udp -> 127.0.0.1:10009", "80/tcp -> 0.0.0.0:8080", "80/tcp -> [::]:8080", "10000/tcp -> 0.0.0.0:32768"]
        );
        assert_eq!(lines(&c, "web", Some("80")).unwrap(), ["0.0.0.0:8080", "[::]:8080"]);
        assert_eq!(lines(&c, "web", Some("9/udp")).unwrap(), ["127.0.0.1:10009"]);
    }

    #[test]
    fn unpublished_and_bad_ports_get_docker_s_errors() {
        let c = inspect(serde_json::json!({"443/tcp": null}));
        assert!(lines(&c, "c", None).unwrap().is_empty());
        assert_eq!(lines(&c, "c", Some("80/tcp")).unwrap_err(), "Error: No public port '80/tcp' published for c");
        assert_eq!(lines(&c, "c", Some("443")).unwrap_err(), "Error: No public port '443' published for c");
        assert_eq!(
            lines(&c, "c", Some("http")).unwrap_err(),
            "Error: invalid port (http): strconv.ParseUint: parsing \"http\": invalid syntax"
        );
        assert!(lines(&inspect(serde_json::json!({})), "c", None).unwrap().is_empty());
    }

    #[test]
    fn natural_order_compares_numbers_by_value() {
        assert_eq!(natural("9/udp", "80/tcp"), Ordering::Less);
        assert_eq!(natural("a10", "a9"), Ordering::Greater);
        assert_eq!(natural("a09", "a9"), Ordering::Greater);
        assert_eq!(natural("x", "x"), Ordering::Equal);
    }
}
