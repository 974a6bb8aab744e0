//! `berth network inspect`: the daemon's JSON for each network, printed by
//! docker's inspector ([`container::inspect::print`]): one indented array,
//! `-f json` compact, or a template per network. Networks that cannot be
//! inspected are reported together after the others (exit 1).
//!
//! Templates first see the network as docker's typed `network.Inspect`
//! ([`typed`]): every field present even when the daemon's JSON leaves it out
//! (`{{.Gateway}}` of a config without one is empty, not `<no value>`),
//! `.ID` as well as `.Id`, `Created` printed as Go prints a time.

use api::networks::{IpamConfig, Network, NetworkContainer};

use super::{go_time_json, go_time_of, segment};
use crate::cli::network::NetworkInspectArgs;
use crate::commands::container::inspect::{Element, print, typed_value};
use crate::context::Cli;
use crate::error::{CliError, Result};
use crate::format::{Struct, Value};

fn ipam_config(c: &IpamConfig) -> Value {
    Struct::new("network.IPAMConfig")
        .field_omitempty("Subnet", &c.subnet)
        .field_omitempty("IPRange", &c.ip_range)
        .field_omitempty("Gateway", &c.gateway)
        .field_omitempty("AuxiliaryAddresses", c.auxiliary_addresses.clone())
        .into()
}

fn endpoint(e: &NetworkContainer) -> Value {
    Struct::new("network.EndpointResource")
        .field("Name", &e.name)
        .field("EndpointID", &e.endpoint_id)
        .field("MacAddress", &e.mac_address)
        .field("IPv4Address", &e.ipv4_address)
        .field("IPv6Address", &e.ipv6_address)
        .into()
}

/// The value templates see for a network's JSON: docker's `network.Inspect`
/// (fields in its order, under their JSON names), or `None` when the JSON is
/// not a network.
pub fn typed(raw: &[u8]) -> Option<Value> {
    let n: Network = serde_json::from_slice(raw).ok()?;
    let ipam = Struct::new("network.IPAM")
        .field("Driver", &n.ipam.driver)
        .field("Options", n.ipam.options.clone())
        .field("Config", n.ipam.config.iter().map(ipam_config).collect::<Vec<_>>());
    let containers: Vec<(String, Value)> = n.containers.iter().map(|(id, e)| (id.clone(), endpoint(e))).collect();
    Some(
        Struct::new("network.Inspect")
            .field("Name", &n.name)
            .field("Id", &n.id)
            .field_json("Created", go_time_of(&n.created), go_time_json(&n.created))
            .field("Scope", &n.scope)
            .field("Driver", &n.driver)
            .field("EnableIPv4", n.enable_ipv4)
            .field("EnableIPv6", n.enable_ipv6)
            .field("IPAM", ipam)
            .field("Internal", n.internal)
            .field("Attachable", n.attachable)
            .field("Ingress", n.ingress)
            .field("ConfigFrom", Struct::new("network.ConfigReference").field("Network", &n.config_from.network))
            .field("ConfigOnly", n.config_only)
            .field("Containers", Value::map(containers))
            .field("Options", n.options.clone())
            .field("Labels", n.labels.clone())
            .field_omitempty("Peers", Value::List(Vec::new()))
            .field_omitempty("Services", Value::Map(Default::default()))
            .into(),
    )
}

pub async fn run(cli: &mut Cli<'_>, args: NetworkInspectArgs) -> Result<()> {
    let client = cli.client().await?.clone();
    let query: Vec<(&str, &str)> = if args.verbose { vec![("verbose", "true")] } else { Vec::new() };
    let mut found = Vec::new();
    for name in &args.names {
        let seg = match segment("network", name) {
            Ok(s) => s,
            Err(e) => {
                found.push(Err(e));
                continue;
            }
        };
        found.push(match client.get(&format!("/networks/{seg}"), &query, None).await {
            Ok(resp) => {
                let raw = resp.body.to_vec();
                let typed = typed_value("network", &raw);
                Ok(Element { raw, typed })
            }
            Err(e) => Err(CliError::from(e).to_string()),
        });
    }
    print(cli, &args.format, found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Template;

    const RAW: &str = r#"{"Name":"web","Id":"f1e2d3c4b5a6","Created":"2024-05-01T10:00:00.123Z","Scope":"local","Driver":"bridge","EnableIPv4":true,"EnableIPv6":false,"IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"10.1.0.0/24","Gateway":"10.1.0.1"},{"Subnet":"10.2.0.0/24","IPRange":"10.2.0.128/25","AuxiliaryAddresses":{"r":"10.2.0.5"}}]},"Internal":false,"Attachable":true,"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,"Containers":{"abc":{"Name":"c1","EndpointID":"e1","MacAddress":"02:42:0a:01:00:02","IPv4Address":"10.1.0.2/24","IPv6Address":""}},"Options":{"com.docker.network.bridge.name":"br-web"},"Labels":{"tier":"web"},"Extra":"x"}"#;

    fn render(template: &str) -> String {
        let v = typed_value("network", RAW.as_bytes());
        Template::parse(template).expect("parses").render(&v).expect("renders")
    }

    #[test]
    fn templates_see_docker_s_typed_network() {
        assert_eq!(
            render("{{.ID}} {{.Id}} {{.Name}} {{.Driver}} {{.Attachable}}"),
            "f1e2d3c4b5a6 f1e2d3c4b5a6 web bridge true"
        );
        assert_eq!(
            render("{{range .IPAM.Config}}{{.Subnet}}|{{.Gateway}}|{{.IPRange}};{{end}}"),
            "10.1.0.0/24|10.1.0.1|;10.2.0.0/24||10.2.0.128/25;"
        );
        assert_eq!(render("{{.Created}}"), "2024-05-01 10:00:00.123 +0000 UTC");
        assert!(render("{{json .}}").contains(r#","Created":"2024-05-01T10:00:00.123Z","#));
        assert_eq!(render("{{index .Options \"com.docker.network.bridge.name\"}} {{.Labels}}"), "br-web map[tier:web]");
        assert_eq!(
            render("{{range $id, $e := .Containers}}{{$id}}={{$e.Name}} {{$e.IPv4Address}}{{end}}"),
            "abc=c1 10.1.0.2/24"
        );
        assert_eq!(
            render("{{json .IPAM}}"),
            r#"{"Driver":"default","Options":{},"Config":[{"Subnet":"10.1.0.0/24","Gateway":"10.1.0.1"},{"Subnet":"10.2.0.0/24","IPRange":"10.2.0.128/25","AuxiliaryAddresses":{"r":"10.2.0.5"}}]}"#
        );
        assert_eq!(render("{{.ConfigFrom}}"), "{}");
        // Not in docker's type: templates fall back to the raw JSON for it.
        let v = typed_value("network", RAW.as_bytes());
        assert!(Template::parse("{{.Extra}}").expect("parses").render(&v).is_err());
        assert!(typed(b"[1]").is_none());
    }
}
