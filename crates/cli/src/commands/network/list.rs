//! `berth network ls`: docker's network table (`NETWORK ID  NAME  DRIVER
//! SCOPE`, ids cut to 12 characters unless `--no-trunc`), sorted by name in
//! docker's natural order (`net2` before `net10`), `-q`, `--filter` passed to
//! the daemon, and `--format` on docker's `networkContext` fields (`.ID`,
//! `.Name`, `.Driver`, `.Scope`, `.IPv4`, `.IPv6`, `.Internal`, `.Labels`,
//! `.Label "k"`, `.CreatedAt`).

use std::cmp::Ordering;

use api::Filters;
use api::networks::Network;

use crate::format::gofmt::go_time_of;
use crate::cli::network::NetworkLsArgs;
use crate::context::Cli;
use crate::error::Result;
use crate::format::humanize::short_id;
use crate::format::{FormatError, ListFormat, Struct, Value, header};

const TABLE: &str = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";

/// Docker's `newFormat` for networks: what a `--format` value (or none) stands for.
pub fn network_format(format: &str, quiet: bool) -> &str {
    match format {
        "" | "table" if quiet => "{{.ID}}",
        "" | "table" => TABLE,
        "raw" if quiet => "network_id: {{.ID}}",
        "raw" => "network_id: {{.ID}}\\nname: {{.Name}}\\ndriver: {{.Driver}}\\nscope: {{.Scope}}\\n",
        f => f,
    }
}

/// The column titles of network tables.
pub fn network_header() -> Value {
    header(&[
        ("ID", "NETWORK ID"),
        ("Name", "NAME"),
        ("Driver", "DRIVER"),
        ("Scope", "SCOPE"),
        ("IPv4", "IPV4"),
        ("IPv6", "IPV6"),
        ("Internal", "INTERNAL"),
        ("Labels", "LABELS"),
        ("CreatedAt", "CREATED AT"),
    ])
}

/// Docker's `networkContext` for one network, as templates see it.
pub fn row(n: &Network, trunc: bool) -> Value {
    // Go prints the labels in map order, which varies; sorted here.
    let mut labels: Vec<String> = n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    labels.sort();
    Struct::context("*network.networkContext")
        .field("ID", if trunc { short_id(&n.id).to_string() } else { n.id.clone() })
        .field("Name", &n.name)
        .field("Driver", &n.driver)
        .field("Scope", &n.scope)
        .field("IPv4", n.enable_ipv4.to_string())
        .field("IPv6", n.enable_ipv6.to_string())
        .field("Internal", n.internal.to_string())
        .field("Labels", labels.join(","))
        .method("Label", n.labels.clone())
        .field("CreatedAt", go_time_of(&n.created))
        .into()
}

/// `sortorder.NaturalLess`, the order of docker's network list: runs of
/// digits compare as numbers (fewer leading zeros first on a tie), digits
/// sort before other bytes, everything else bytewise.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (da, db) = (a[i].is_ascii_digit(), b[j].is_ascii_digit());
        if da != db {
            return if da { Ordering::Less } else { Ordering::Greater };
        }
        if !da {
            if a[i] != b[j] {
                return a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
            continue;
        }
        let skip_zeros = |s: &[u8], mut k: usize| {
            while k < s.len() && s[k] == b'0' {
                k += 1;
            }
            k
        };
        let skip_digits = |s: &[u8], mut k: usize| {
            while k < s.len() && s[k].is_ascii_digit() {
                k += 1;
            }
            k
        };
        let (na, nb) = (skip_zeros(a, i), skip_zeros(b, j));
        let (ea, eb) = (skip_digits(a, na), skip_digits(b, nb));
        let by_number = (ea - na).cmp(&(eb - nb)).then_with(|| a[na..ea].cmp(&b[nb..eb])).then(na.cmp(&nb));
        if by_number != Ordering::Equal {
            return by_number;
        }
        (i, j) = (ea, eb);
    }
    (a.len() - i).cmp(&(b.len() - j))
}

/// The `filters` query of `-f key=value` flags.
pub fn filters(pairs: &[(String, String)]) -> Filters {
    let mut filters = Filters::new();
    for (k, v) in pairs {
        filters.add(k.clone(), v.clone());
    }
    filters
}

/// Renders the daemon's list as `network ls` prints it.
pub fn render(networks: &mut [Network], format: &str, quiet: bool, trunc: bool) -> Result<String, FormatError> {
    let format = ListFormat::new(network_format(format, quiet), TABLE)?;
    networks.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    let rows: Vec<Value> = networks.iter().map(|n| row(n, trunc)).collect();
    format.render(&network_header(), &rows)
}

pub async fn run(cli: &mut Cli<'_>, args: NetworkLsArgs) -> Result<()> {
    // A bad template fails before the daemon is asked.
    ListFormat::new(network_format(&args.format, args.quiet), TABLE)?;
    let filters = filters(&args.filter);
    let filters_json = filters.to_json();
    let mut query: Vec<(&str, &str)> = Vec::new();
    if !filters.is_empty() {
        query.push(("filters", &filters_json));
    }
    let mut networks: Vec<Network> = cli.client().await?.get_json("/networks", &query).await?;
    let out = render(&mut networks, &args.format, args.quiet, !args.no_trunc)?;
    cli.out.write_all(out.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BRIDGE: &str = "9b2f3a6c1d0e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a";

    /// What berthd answers `GET /networks` with.
    fn reply() -> Vec<Network> {
        serde_json::from_str(&format!(
            r#"[{{"Name":"net10","Id":"1111111111111111111111111111111111111111111111111111111111111111","Created":"2024-05-01T10:00:00.25Z","Scope":"local","Driver":"bridge","EnableIPv4":true,"EnableIPv6":false,"IPAM":{{"Driver":"default","Options":{{}},"Config":[{{"Subnet":"10.1.0.0/24","Gateway":"10.1.0.1"}}]}},"Internal":true,"Attachable":false,"Ingress":false,"ConfigFrom":{{"Network":""}},"ConfigOnly":false,"Containers":{{}},"Options":{{}},"Labels":{{"tier":"web","a":"b"}}}},
                {{"Name":"bridge","Id":"{BRIDGE}","Created":"2024-05-01T09:00:00Z","Scope":"local","Driver":"bridge","EnableIPv4":true,"EnableIPv6":false,"IPAM":{{"Driver":"default","Options":null,"Config":[{{"Subnet":"172.17.0.0/16"}}]}},"Internal":false,"Attachable":false,"Ingress":false,"ConfigFrom":{{"Network":""}},"ConfigOnly":false,"Containers":{{}},"Options":{{}},"Labels":{{}}}},
                {{"Name":"net2","Id":"2222222222222222222222222222222222222222222222222222222222222222","Created":"2024-05-01T10:00:00Z","Scope":"local","Driver":"bridge","Labels":null}},
                {{"Name":"host","Id":"3333333333333333333333333333333333333333333333333333333333333333","Scope":"local","Driver":"host"}},
                {{"Name":"none","Id":"4444444444444444444444444444444444444444444444444444444444444444","Scope":"local","Driver":"null"}}]"#
        ))
        .expect("valid reply")
    }

    #[test]
    fn table_like_docker() {
        let out = render(&mut reply(), "", false, true).expect("renders");
        assert_eq!(
            out,
            "NETWORK ID     NAME      DRIVER    SCOPE\n\
             9b2f3a6c1d0e   bridge    bridge    local\n\
             333333333333   host      host      local\n\
             222222222222   net2      bridge    local\n\
             111111111111   net10     bridge    local\n\
             444444444444   none      null      local\n"
        );
        let out = render(&mut reply(), "table", false, false).expect("renders");
        assert_eq!(out.lines().nth(1), Some(format!("{BRIDGE}   bridge    bridge    local").as_str()));
        assert_eq!(render(&mut [], "", false, true).expect("renders"), "NETWORK ID   NAME      DRIVER    SCOPE\n");
    }

    #[test]
    fn quiet_custom_and_json() {
        let q = render(&mut reply(), "", true, true).expect("renders");
        assert_eq!(q, "9b2f3a6c1d0e\n333333333333\n222222222222\n111111111111\n444444444444\n");
        assert!(render(&mut reply(), "", true, false).expect("renders").starts_with(&format!("{BRIDGE}\n")));
        // A format of its own wins over -q, as in docker.
        let names = render(&mut reply(), "{{.Name}}", true, true).expect("renders");
        assert_eq!(names, "bridge\nhost\nnet2\nnet10\nnone\n");
        let mut one = reply()[..1].to_vec();
        let custom = render(
            &mut one,
            "table {{.Name}}\t{{.IPv4}}\t{{.IPv6}}\t{{.Internal}}\t{{.Labels}}\t{{.Label \"tier\"}}",
            false,
            true,
        )
        .expect("renders");
        assert_eq!(
            custom,
            "NAME      IPV4      IPV6      INTERNAL   LABELS         tier\nnet10     true      false     true       a=b,tier=web   web\n"
        );
        let json = render(&mut one, "json", false, true).expect("renders");
        assert_eq!(
            json,
            "{\"CreatedAt\":\"2024-05-01 10:00:00.25 +0000 UTC\",\"Driver\":\"bridge\",\"ID\":\"111111111111\",\"IPv4\":\"true\",\"IPv6\":\"false\",\"Internal\":\"true\",\"Labels\":\"a=b,tier=web\",\"Name\":\"net10\",\"Scope\":\"local\"}\n"
        );
        let raw = render(&mut one, "raw", false, true).expect("renders");
        assert_eq!(raw, "network_id: 111111111111\nname: net10\ndriver: bridge\nscope: local\n\n");
        let err = render(&mut one, "{{.Nope}}", false, true).expect_err("no such field");
        assert!(err.to_string().ends_with("can't evaluate field Nope in type *network.networkContext"), "{err}");
    }

    #[test]
    fn natural_order() {
        let mut names = ["net10", "net2", "Net3", "net02", "net", "1net", "a0", "a00", "a", "b"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, ["1net", "Net3", "a", "a0", "a00", "b", "net", "net2", "net02", "net10"]);
        assert_eq!(natural_cmp("x", "x"), Ordering::Equal);
    }

    #[test]
    fn filters_as_the_daemon_reads_them() {
        let pairs =
            [("name".to_string(), "web".to_string()), ("driver".into(), "bridge".into()), ("name".into(), "db".into())];
        let f = filters(&pairs);
        assert_eq!(f.get("name"), ["web", "db"]);
        assert_eq!(f.to_json(), r#"{"driver":{"bridge":true},"name":{"db":true,"web":true}}"#);
        assert!(filters(&[]).is_empty());
        let bad = crate::cli::parse_filter("name");
        assert_eq!(bad, Err("bad format of filter (expected name=value)".to_string()));
        assert_eq!(crate::cli::parse_filter(" Label =a=b"), Ok(("label".to_string(), "a=b".to_string())));
    }
}
