//! `berth network create`: the create body docker's CLI sends, and the new
//! network's id printed.
//!
//! The address flags are independent lists, grouped into one IPAM config per
//! subnet as docker groups them ([`ipam_configs`]): a range, gateway or
//! auxiliary address belongs to the subnet that contains it, and anything
//! that fits no subnet, or a second range or gateway for one, is refused
//! before the daemon is asked, with docker's words.

use std::collections::BTreeMap;
use std::net::IpAddr;

use api::networks::{ConfigReference, Ipam, IpamConfig, NetworkCreateRequest, NetworkCreateResponse};

use crate::cli::network::NetworkCreateArgs;
use crate::context::Cli;
use crate::error::{CliError, Result};

/// Go's `net.ParseCIDR`: the address as written and the prefix length.
fn parse_cidr(s: &str) -> Option<(IpAddr, u32)> {
    let (addr, len) = s.split_once('/')?;
    let ip: IpAddr = addr.parse().ok()?;
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let len: u32 = len.parse().ok()?;
    let bits = if ip.is_ipv4() { 32 } else { 128 };
    (len <= bits).then_some((ip, len))
}

/// Go's `IPNet.Contains`: IPv4-mapped IPv6 addresses count as IPv4.
fn contains((net, len): (IpAddr, u32), ip: IpAddr) -> bool {
    let to4 = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    let net4 = to4(net);
    let len = if net.is_ipv6() && net4.is_ipv4() { len.saturating_sub(96) } else { len };
    match (net4, to4(ip)) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

/// Docker's `subnetMatches`: whether `subnet` holds `data`, an address or a
/// CIDR (its address counts). An address that does not parse matches nothing.
fn subnet_matches(subnet: &str, data: &str) -> Result<bool, String> {
    let net = parse_cidr(subnet).ok_or_else(|| format!("invalid subnet: invalid CIDR address: {subnet}"))?;
    let ip = if data.contains('/') {
        parse_cidr(data).ok_or_else(|| format!("invalid CIDR address: {data}"))?.0
    } else {
        match data.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => return Ok(false),
        }
    };
    Ok(contains(net, ip))
}

/// Docker's `createIPAMConfig`: one config per `--subnet`, in the order
/// given (docker's order is its map's, which varies), with the ranges,
/// gateways and auxiliary addresses each subnet contains.
pub fn ipam_configs(
    subnets: &[String],
    ranges: &[String],
    gateways: &[String],
    aux: &BTreeMap<String, String>,
) -> Result<Vec<IpamConfig>, String> {
    if subnets.len() < ranges.len() || subnets.len() < gateways.len() {
        return Err("every ip-range or gateway must have a corresponding subnet".to_string());
    }
    let mut configs: Vec<IpamConfig> = Vec::new();
    for s in subnets {
        for c in &configs {
            if subnet_matches(s, &c.subnet)? || subnet_matches(&c.subnet, s)? {
                return Err("multiple overlapping subnet configuration is not supported".to_string());
            }
        }
        configs.push(IpamConfig { subnet: s.clone(), ..IpamConfig::default() });
    }
    for r in ranges {
        let mut matched = false;
        for c in &mut configs {
            if parse_cidr(r).is_none() {
                return Err(format!("invalid CIDR address: {r}"));
            }
            if !subnet_matches(&c.subnet, r)? {
                continue;
            }
            if !c.ip_range.is_empty() {
                return Err(format!(
                    "cannot configure multiple ranges ({r}, {}) on the same subnet ({})",
                    c.ip_range, c.subnet
                ));
            }
            c.ip_range = r.clone();
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for range {r}"));
        }
    }
    for g in gateways {
        let mut matched = false;
        for c in &mut configs {
            if !subnet_matches(&c.subnet, g)? {
                continue;
            }
            if !c.gateway.is_empty() {
                return Err(format!(
                    "cannot configure multiple gateways ({g}, {}) for the same subnet ({})",
                    c.gateway, c.subnet
                ));
            }
            c.gateway = g.clone();
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for gateway {g}"));
        }
    }
    for (key, address) in aux {
        let mut matched = false;
        for c in &mut configs {
            if subnet_matches(&c.subnet, address)? {
                c.auxiliary_addresses.insert(key.clone(), address.clone());
                matched = true;
            }
        }
        if !matched {
            return Err(format!("no matching subnet for aux-address {address}"));
        }
    }
    Ok(configs)
}

/// A `map` flag's `key=value` pairs (a bare key has an empty value; a later
/// key replaces an earlier one), sorted by key.
pub fn map_opt(pairs: &[String]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (p.clone(), String::new()),
        })
        .collect()
}

/// The create body for the command line, as docker's CLI builds it.
pub fn request(args: &NetworkCreateArgs) -> Result<NetworkCreateRequest, String> {
    let config = ipam_configs(&args.subnet, &args.ip_range, &args.gateway, &map_opt(&args.aux_address))?;
    let to_hash = |m: BTreeMap<String, String>| m.into_iter().collect::<BTreeMap<_, _>>();
    Ok(NetworkCreateRequest {
        name: args.name.clone(),
        driver: args.driver.clone(),
        scope: args.scope.clone(),
        internal: args.internal,
        attachable: args.attachable,
        ingress: args.ingress,
        config_only: args.config_only,
        config_from: (!args.config_from.is_empty()).then(|| ConfigReference { network: args.config_from.clone() }),
        ipam: Some(Ipam { driver: args.ipam_driver.clone(), config, options: to_hash(map_opt(&args.ipam_opt)) }),
        enable_ipv4: args.ipv4,
        enable_ipv6: args.ipv6,
        options: to_hash(map_opt(&args.opt)),
        labels: to_hash(map_opt(&args.label)),
        check_duplicate: false,
    })
}

pub async fn run(cli: &mut Cli<'_>, args: NetworkCreateArgs) -> Result<()> {
    let body = request(&args).map_err(CliError::Other)?;
    let resp: NetworkCreateResponse = cli.client().await?.post_json("/networks/create", &[], &body).await?;
    writeln!(cli.out, "{}", resp.id)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::network::{NetworkArgs, NetworkCommand};
    use crate::cli::{Command, Deferred, Opts};

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn pair(subnets: &[&str], ranges: &[&str], gateways: &[&str], aux: &[&str]) -> Result<Vec<IpamConfig>, String> {
        ipam_configs(&strings(subnets), &strings(ranges), &strings(gateways), &map_opt(&strings(aux)))
    }

    #[test]
    fn pairs_addresses_with_their_subnets() {
        let c = pair(
            &["10.1.0.0/24", "fd00:1::/64", "10.2.0.0/16"],
            &["10.2.128.0/17"],
            &["10.2.0.254", "fd00:1::1", "10.1.0.1"],
            &["router=10.1.0.5", "dns=10.2.0.6", "v6=fd00:1::5"],
        )
        .expect("pairs");
        // Each config as `subnet|range|gateway|aux`.
        let got: Vec<String> = c
            .iter()
            .map(|c| {
                let mut aux: Vec<String> = c.auxiliary_addresses.iter().map(|(k, v)| format!("{k}={v}")).collect();
                aux.sort();
                format!("{}|{}|{}|{}", c.subnet, c.ip_range, c.gateway, aux.join(","))
            })
            .collect();
        assert_eq!(
            got,
            [
                "10.1.0.0/24||10.1.0.1|router=10.1.0.5",
                "fd00:1::/64||fd00:1::1|v6=fd00:1::5",
                "10.2.0.0/16|10.2.128.0/17|10.2.0.254|dns=10.2.0.6",
            ]
        );
        assert_eq!(pair(&[], &[], &[], &[]), Ok(Vec::new()));
        // A lone subnet is left for the daemon to judge, as docker leaves it.
        assert_eq!(pair(&["nonsense"], &[], &[], &[]).map(|c| c.len()), Ok(1));
    }

    #[test]
    fn refuses_what_docker_refuses() {
        let err = |s: &[&str], r: &[&str], g: &[&str], a: &[&str]| pair(s, r, g, a).expect_err("refused");
        assert_eq!(err(&[], &[], &["10.1.0.1"], &[]), "every ip-range or gateway must have a corresponding subnet");
        assert_eq!(
            err(&["10.1.0.0/24"], &["10.1.0.0/25", "10.1.0.128/25"], &[], &[]),
            "every ip-range or gateway must have a corresponding subnet"
        );
        assert_eq!(
            err(&["10.1.0.0/16", "10.1.2.0/24"], &[], &[], &[]),
            "multiple overlapping subnet configuration is not supported"
        );
        assert_eq!(
            err(&["10.1.0.0/24", "10.1.0.0/24"], &[], &[], &[]),
            "multiple overlapping subnet configuration is not supported"
        );
        assert_eq!(err(&["10.1.0.0/24"], &[], &["10.9.0.1"], &[]), "no matching subnet for gateway 10.9.0.1");
        assert_eq!(err(&["10.1.0.0/24"], &[], &["bogus"], &[]), "no matching subnet for gateway bogus");
        assert_eq!(err(&["10.1.0.0/24"], &["10.9.0.0/25"], &[], &[]), "no matching subnet for range 10.9.0.0/25");
        assert_eq!(err(&["10.1.0.0/24"], &["10.1.0.300/25"], &[], &[]), "invalid CIDR address: 10.1.0.300/25");
        assert_eq!(err(&["10.1.0.0/24"], &[], &[], &["r=10.9.0.5"]), "no matching subnet for aux-address 10.9.0.5");
        assert_eq!(
            err(&["10.1.0.0/24", "10.2.0.0/24"], &["10.1.0.0/25", "10.1.0.128/25"], &[], &[]),
            "cannot configure multiple ranges (10.1.0.128/25, 10.1.0.0/25) on the same subnet (10.1.0.0/24)"
        );
        assert_eq!(
            err(&["10.1.0.0/24", "10.2.0.0/24"], &[], &["10.1.0.1", "10.1.0.2"], &[]),
            "cannot configure multiple gateways (10.1.0.2, 10.1.0.1) for the same subnet (10.1.0.0/24)"
        );
        assert_eq!(err(&["10.1.0/24"], &[], &["10.1.0.1"], &[]), "invalid subnet: invalid CIDR address: 10.1.0/24");
        assert_eq!(err(&["10.1.0.0/33"], &[], &["10.1.0.1"], &[]), "invalid subnet: invalid CIDR address: 10.1.0.0/33");
    }

    #[test]
    fn cidrs_like_go() {
        assert!(subnet_matches("10.1.0.0/24", "10.1.0.255").expect("valid"));
        assert!(!subnet_matches("10.1.0.0/24", "10.1.1.0").expect("valid"));
        assert!(subnet_matches("10.1.0.7/24", "10.1.0.0/28").expect("valid"));
        assert!(subnet_matches("0.0.0.0/0", "192.0.2.1").expect("valid"));
        assert!(subnet_matches("10.1.0.0/24", "::ffff:10.1.0.9").expect("valid"));
        assert!(!subnet_matches("fd00::/64", "10.1.0.9").expect("valid"));
        assert!(subnet_matches("fd00::/64", "fd00::ffff").expect("valid"));
        assert!(!subnet_matches("fd00::/64", "fd00:0:0:1::1").expect("valid"));
        assert!(
            parse_cidr("10.1.0.0").is_none()
                && parse_cidr("10.1.0.0/").is_none()
                && parse_cidr("10.1.0.0/+8").is_none()
        );
        assert!(parse_cidr("fe80::1%eth0/64").is_none());
    }

    #[test]
    fn the_body_docker_sends() {
        let args = match Opts::try_parse_from([
            "berth",
            "network",
            "create",
            "--subnet",
            "10.1.0.0/24",
            "--gateway",
            "10.1.0.1",
            "--label",
            "a=b",
            "--label",
            "flag",
            "-o",
            "com.docker.network.bridge.name=br1",
            "--ipam-opt",
            "x=y",
            "--ipv6=false",
            "--internal",
            "n1",
        ])
        .expect("parses")
        .command
        {
            Some(Command::Network(Deferred(NetworkArgs { command: Some(NetworkCommand::Create(a)) }))) => a,
            other => panic!("not create: {other:?}"),
        };
        let body = serde_json::to_value(request(&args).expect("valid")).expect("serializes");
        assert_eq!(
            body,
            serde_json::json!({
                "Name": "n1", "Driver": "bridge", "Internal": true, "Attachable": false, "Ingress": false, "ConfigOnly": false,
                "IPAM": {"Driver": "default", "Config": [{"Subnet": "10.1.0.0/24", "Gateway": "10.1.0.1"}], "Options": {"x": "y"}},
                "EnableIPv6": false,
                "Options": {"com.docker.network.bridge.name": "br1"},
                "Labels": {"a": "b", "flag": ""},
            })
        );
    }
}
