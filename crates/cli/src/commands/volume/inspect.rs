//! `berth volume inspect`: each volume printed by docker's inspector
//! ([`crate::commands::inspect::print`]) as docker's CLI holds it, a Go
//! `volume.Volume` ([`crate::commands::inspect::volume_value`]), not the
//! daemon's JSON: fields in that type's order and Go's HTML escaping, and a
//! template that fails on it is an error, never retried on the JSON. Volumes
//! that cannot be inspected are reported together after the others (exit 1).

use api::volumes::Volume;

use crate::cli::volume::VolumeInspectArgs;
use crate::commands::inspect::{Element, print, volume_value};
use crate::commands::network::segment;
use crate::context::Cli;
use crate::error::{CliError, Result};

pub async fn run(cli: &mut Cli<'_>, args: VolumeInspectArgs) -> Result<()> {
    let client = cli.client().await?.clone();
    let mut found = Vec::new();
    for name in &args.names {
        let seg = match segment("volume", name) {
            Ok(s) => s,
            Err(e) => {
                found.push(Err(e));
                continue;
            }
        };
        found.push(match client.get_json::<Volume>(&format!("/volumes/{seg}"), &[]).await {
            Ok(v) => Ok(Element::typed_only(volume_value(&v))),
            Err(e) => Err(CliError::from(e).to_string()),
        });
    }
    print(cli, &args.format, found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Template;
    use crate::format::json::indent_json;

    /// What berthd answers `GET /volumes/web` with: its own field order.
    const RAW: &str = r#"{"Name":"web","Driver":"local","Mountpoint":"/var/lib/berth/volumes/web/_data","CreatedAt":"2024-05-01T10:00:00Z","Labels":{"tier":"a<b&c"},"Scope":"local","Options":{"type":"tmpfs"},"Extra":"x"}"#;

    fn element() -> Element {
        Element::typed_only(volume_value(&serde_json::from_str(RAW).expect("valid reply")))
    }

    #[test]
    fn json_as_docker_marshals_the_go_value() {
        let e = element();
        assert!(!e.fallback);
        assert_eq!(
            String::from_utf8_lossy(&e.raw),
            r#"{"CreatedAt":"2024-05-01T10:00:00Z","Driver":"local","Labels":{"tier":"a\u003cb\u0026c"},"Mountpoint":"/var/lib/berth/volumes/web/_data","Name":"web","Options":{"type":"tmpfs"},"Scope":"local"}"#
        );
        assert_eq!(
            indent_json(&[b"[", &e.raw[..], b"]"].concat(), "    "),
            "[\n    {\n        \"CreatedAt\": \"2024-05-01T10:00:00Z\",\n        \"Driver\": \"local\",\n        \"Labels\": {\n            \"tier\": \"a\\u003cb\\u0026c\"\n        },\n        \"Mountpoint\": \"/var/lib/berth/volumes/web/_data\",\n        \"Name\": \"web\",\n        \"Options\": {\n            \"type\": \"tmpfs\"\n        },\n        \"Scope\": \"local\"\n    }\n]"
        );
    }

    #[test]
    fn templates_see_docker_s_typed_volume() {
        let e = element();
        let render = |t: &str| Template::parse(t).expect("parses").render(&e.typed);
        assert_eq!(
            render("{{.Name}} {{.Labels}} {{.Status}} {{.UsageData}} {{.ClusterVolume}} {{.Options}} {{.CreatedAt}}")
                .expect("renders"),
            "web map[tier:a<b&c] map[] <nil> <nil> map[type:tmpfs] 2024-05-01T10:00:00Z"
        );
        // `json` in a template does not escape HTML.
        assert!(render("{{json .Labels}}").expect("renders") == r#"{"tier":"a<b&c"}"#);
        let err = render("{{.Extra}}").expect_err("not in docker's type");
        assert!(err.to_string().ends_with("can't evaluate field Extra in type volume.Volume"), "{err}");
    }
}
