//! `berth network connect` and `disconnect`: the endpoint settings docker's
//! CLI sends for a container joining a network (static addresses, aliases,
//! links, driver options, gateway priority), and the forced disconnect.
//! Both print nothing on success.

use std::collections::BTreeMap;

use api::hostconfig::{EndpointIpamConfig, EndpointSettings};
use api::networks::{NetworkConnectRequest, NetworkDisconnectRequest};

use super::segment_or_fail;
use crate::cli::network::{NetworkConnectArgs, NetworkDisconnectArgs};
use crate::context::Cli;
use crate::error::{CliError, Result};

/// Docker's `convertDriverOpt`: `key=value` pairs, trimmed; a pair without
/// `=` or with an empty key is refused.
pub fn driver_opts(pairs: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for p in pairs {
        match p.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                out.insert(k.trim().to_string(), v.trim().to_string());
            }
            _ => return Err("invalid key/value pair format in driver options".to_string()),
        }
    }
    Ok(out)
}

/// The connect body for the command line.
pub fn request(args: &NetworkConnectArgs) -> Result<NetworkConnectRequest, String> {
    Ok(NetworkConnectRequest {
        container: args.container.trim().to_string(),
        endpoint_config: Some(EndpointSettings {
            ipam_config: Some(EndpointIpamConfig {
                ipv4_address: args.ip.clone(),
                ipv6_address: args.ip6.clone(),
                link_local_ips: args.link_local_ip.clone(),
            }),
            links: args.link.clone(),
            aliases: args.alias.clone(),
            driver_opts: driver_opts(&args.driver_opt)?,
            gw_priority: args.gw_priority,
            ..EndpointSettings::default()
        }),
    })
}

pub async fn connect(cli: &mut Cli<'_>, args: NetworkConnectArgs) -> Result<()> {
    let body = request(&args).map_err(CliError::Other)?;
    let network = segment_or_fail("network", &args.network)?;
    segment_or_fail("container", &args.container)?;
    let body = api::client::Body::json(&body)?;
    cli.client().await?.post(&format!("/networks/{network}/connect"), &[], Some(body)).await?;
    Ok(())
}

pub async fn disconnect(cli: &mut Cli<'_>, args: NetworkDisconnectArgs) -> Result<()> {
    let network = segment_or_fail("network", &args.network)?;
    segment_or_fail("container", &args.container)?;
    let body = NetworkDisconnectRequest { container: args.container.trim().to_string(), force: args.force };
    let body = api::client::Body::json(&body)?;
    cli.client().await?.post(&format!("/networks/{network}/disconnect"), &[], Some(body)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::network::{NetworkArgs, NetworkCommand};
    use crate::cli::{Command, Deferred, Opts};

    #[test]
    fn driver_options_like_docker() {
        let opts = driver_opts(&[" a = 1 ".to_string(), "b=".to_string()]).expect("valid");
        assert_eq!((opts["a"].as_str(), opts["b"].as_str()), ("1", ""));
        for bad in ["novalue", "=x", " =x"] {
            assert_eq!(
                driver_opts(&[bad.to_string()]),
                Err("invalid key/value pair format in driver options".to_string())
            );
        }
    }

    #[test]
    fn the_body_docker_sends() {
        let argv =
            ["berth", "network", "connect", "--ip", "10.1.0.9", "--alias", "web,www", "--gw-priority", "5", "n1", "c1"];
        let args = match Opts::try_parse_from(argv).expect("parses").command {
            Some(Command::Network(Deferred(NetworkArgs { command: Some(NetworkCommand::Connect(a)) }))) => a,
            other => panic!("not connect: {other:?}"),
        };
        let body = serde_json::to_value(request(&args).expect("valid")).expect("serializes");
        assert_eq!(body["Container"], "c1");
        let e = &body["EndpointConfig"];
        assert_eq!(
            e["IPAMConfig"],
            serde_json::json!({"IPv4Address": "10.1.0.9", "IPv6Address": "", "LinkLocalIPs": []})
        );
        assert_eq!((&e["Aliases"], &e["GwPriority"]), (&serde_json::json!(["web", "www"]), &serde_json::json!(5)));
        assert_eq!(e["DriverOpts"], serde_json::json!({}));
    }
}
