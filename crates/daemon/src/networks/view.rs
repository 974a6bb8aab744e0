//! Networks as the Engine API shows them (`GET /networks`, `/networks/{id}`).

use api::networks::{ConfigReference, Ipam, IpamConfig, Network, NetworkContainer};

use super::Live;

/// A network as listed and inspected, with the running containers on it.
pub(super) fn network(live: &Live) -> Network {
    let def = &live.def;
    let mut config: Vec<IpamConfig> = def
        .bridge
        .iter()
        .map(|b| IpamConfig {
            subnet: b.subnet.to_string(),
            ip_range: b.range.map(|r| r.to_string()).unwrap_or_default(),
            gateway: b.gateway.to_string(),
            auxiliary_addresses: b.aux.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
        })
        .collect();
    let ipv6 = def.bridge.as_ref().and_then(|b| b.ipv6.as_ref());
    if let Some(v6) = ipv6 {
        config.push(IpamConfig {
            subnet: v6.subnet.to_string(),
            ip_range: v6.range.map(|r| r.to_string()).unwrap_or_default(),
            gateway: v6.gateway.to_string(),
            auxiliary_addresses: v6.aux.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
        });
    }
    let containers = live
        .residents
        .iter()
        .map(|(id, r)| {
            let ep = &r.endpoint;
            let shown = NetworkContainer {
                name: r.name.clone(),
                endpoint_id: ep.endpoint_id.clone(),
                mac_address: ep.mac.clone(),
                ipv4_address: format!("{}/{}", ep.ip, ep.prefix),
                ipv6_address: ep.ipv6.map(|v6| format!("{}/{}", v6.ip, v6.prefix)).unwrap_or_default(),
            };
            (id.clone(), shown)
        })
        .collect();
    Network {
        name: def.name.clone(),
        id: def.id.clone(),
        created: def.created.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        scope: "local".into(),
        driver: def.driver.as_str().into(),
        enable_ipv4: def.bridge.is_some(),
        enable_ipv6: ipv6.is_some(),
        ipam: Ipam { driver: "default".into(), config, options: Default::default() },
        internal: def.internal,
        attachable: def.attachable,
        ingress: false,
        config_from: ConfigReference::default(),
        config_only: false,
        containers,
        options: def.options.clone().into_iter().collect(),
        labels: def.labels.clone().into_iter().collect(),
    }
}
