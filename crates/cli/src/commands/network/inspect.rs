//! `berth network inspect`: the daemon's JSON for each network, printed by
//! docker's inspector ([`crate::commands::inspect::print`]): one indented array,
//! `-f json` compact, or a template per network. Networks that cannot be
//! inspected are reported together after the others (exit 1).
//!
//! Templates first see the network as docker's typed `network.Inspect`
//! ([`crate::commands::inspect::network_value`]): every field present even when the daemon's JSON leaves it out
//! (`{{.Gateway}}` of a config without one is empty, not `<no value>`),
//! `.ID` as well as `.Id`, `Created` printed as Go prints a time.

use super::segment;
use crate::cli::network::NetworkInspectArgs;
use crate::commands::inspect::{Element, print};
use crate::context::Cli;
use crate::error::{CliError, Result};

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
            Ok(resp) => Ok(Element::from_raw("network", resp.body.to_vec())),
            Err(e) => Err(CliError::from(e).to_string()),
        });
    }
    print(cli, &args.format, found)
}

#[cfg(test)]
mod tests {
    use crate::commands::inspect::network_value as typed;
    use crate::commands::inspect::typed_value;
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
