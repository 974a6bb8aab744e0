//! `berth inspect` (any object: a container, else an image, a network …)
//! and `berth container inspect`, printed as docker's inspector does: the
//! daemon's JSON re-indented with four spaces in one array, compact with
//! `-f json`, or a template run once per object.
//!
//! Templates see the typed object (a container's `State`, `Config` … in
//! docker's field order); one that fails there is retried on the raw JSON
//! (maps), as docker falls back to it.

use api::Client;

use super::{Invocation, path_segment};
use crate::cli::container::{ContainerInspectArgs, InspectArgs};
use crate::context::Cli;
use crate::error::{CliError, Result};
pub use crate::commands::inspect::{Element, print, typed_value};

/// The object types of `--type`, in the order `inspect` tries them.
const TYPES: [&str; 10] =
    ["container", "image", "network", "volume", "service", "task", "node", "plugin", "secret", "config"];

/// Swarm objects, which berth (no swarm) never finds by itself.
fn is_swarm(kind: &str) -> bool {
    matches!(kind, "service" | "task" | "node" | "secret" | "config")
}

async fn fetch(client: &Client, kind: &str, name: &str, size: bool) -> std::result::Result<Element, api::ClientError> {
    let seg = path_segment(name);
    let (path, query): (String, Vec<(&str, &str)>) = match kind {
        "container" => (format!("/containers/{seg}/json"), if size { vec![("size", "1")] } else { Vec::new() }),
        // Image references keep their `/` and `:` in the path, as docker sends them.
        "image" => (format!("/images/{name}/json"), Vec::new()),
        "network" => (format!("/networks/{seg}"), Vec::new()),
        "volume" => (format!("/volumes/{seg}"), Vec::new()),
        "plugin" => (format!("/plugins/{seg}/json"), Vec::new()),
        "service" => (format!("/services/{seg}"), vec![("insertDefaults", "true")]),
        "task" => (format!("/tasks/{seg}"), Vec::new()),
        "node" => (format!("/nodes/{seg}"), Vec::new()),
        "secret" => (format!("/secrets/{seg}"), Vec::new()),
        _ => (format!("/configs/{seg}"), Vec::new()),
    };
    let resp = client.get(&path, &query, None).await?;
    Ok(Element::from_raw(kind, resp.body.to_vec()))
}

/// Whether `inspect` without `--type` moves on to the next kind.
fn skippable(e: &api::ClientError) -> bool {
    let msg = e.to_string();
    e.is_not_found() || msg.contains("not supported") || msg.contains("invalid reference format")
}

/// `berth inspect [--type T] NAME...`.
pub async fn run_any(cli: &mut Cli<'_>, args: InspectArgs) -> Result<()> {
    let inv = Invocation { path: "berth inspect".into(), usage: crate::cli::container::INSPECT_USAGE };
    inv.require_min(&args.names, 1)?;
    if !args.r#type.is_empty() && !TYPES.contains(&args.r#type.as_str()) {
        let mut all = TYPES.to_vec();
        all.sort_unstable();
        return Err(CliError::Other(format!(
            "unknown type: {:?}: must be one of \"{}\"",
            args.r#type,
            all.join("\", \"")
        )));
    }
    let client = cli.client().await?.clone();
    let mut found = Vec::new();
    for name in &args.names {
        let mut result = Err(format!("Error: No such object: {name}"));
        for kind in TYPES {
            if !args.r#type.is_empty() && kind != args.r#type {
                continue;
            }
            if args.r#type.is_empty() && is_swarm(kind) {
                continue;
            }
            match fetch(&client, kind, name, args.size).await {
                Ok(e) => {
                    if args.size && kind != "container" {
                        writeln!(cli.err, "WARNING: --size ignored for {kind}")?;
                    }
                    result = Ok(e);
                    break;
                }
                Err(e) if args.r#type.is_empty() && skippable(&e) => continue,
                Err(e) => {
                    result = Err(CliError::from(e).to_string());
                    break;
                }
            }
        }
        found.push(result);
    }
    print(cli, &args.format, found)
}

/// `berth container inspect CONTAINER...`.
pub async fn run_containers(cli: &mut Cli<'_>, args: ContainerInspectArgs, inv: &Invocation) -> Result<()> {
    inv.require_min(&args.names, 1)?;
    let client = cli.client().await?.clone();
    let mut found = Vec::new();
    for name in &args.names {
        found.push(fetch(&client, "container", name, args.size).await.map_err(|e| CliError::from(e).to_string()));
    }
    print(cli, &args.format, found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Template;
    use crate::format::json::{compact_json, indent_json};

    const RAW: &str = r#"{"Id":"abc","State":{"Status":"running","Running":true,"Pid":42},"Name":"/web","Config":{"Labels":{"k":"v"},"Env":[],"Cmd":["sh", "-c"],"Tty":false,"Image":"busybox"},"Args":[],"HostConfig":{},"Note":"a, b: {c}"}"#;

    #[test]
    fn indents_like_go() {
        let out = indent_json(format!("[{RAW}]").as_bytes(), "    ");
        assert!(
            out.starts_with(
                "[\n    {\n        \"Id\": \"abc\",\n        \"State\": {\n            \"Status\": \"running\",\n"
            ),
            "{out}"
        );
        assert!(out.contains("\"Env\": [],\n"), "{out}");
        assert!(out.contains("\"Cmd\": [\n                \"sh\",\n                \"-c\"\n            ],"), "{out}");
        assert!(out.contains("\"HostConfig\": {},\n"), "{out}");
        assert!(out.contains("\"Note\": \"a, b: {c}\"\n    }\n]"), "{out}");
        assert_eq!(compact_json(b"[ {\"a\" : \"x y\"} ]"), "[{\"a\":\"x y\"}]");
    }

    #[test]
    fn templates_on_typed_and_raw_values() {
        let typed = typed_value("container", RAW.as_bytes());
        let t = Template::parse("{{.State.Status}} {{.Name}} {{index .Config.Labels \"k\"}} {{json .Config.Cmd}}")
            .expect("parses");
        assert_eq!(t.render(&typed).expect("renders"), "running /web v [\"sh\",\"-c\"]");
        let t = Template::parse("{{.State.Pid}} {{.Config.Tty}}").expect("parses");
        assert_eq!(t.render(&typed).expect("renders"), "42 false");
        // A field only the raw JSON has is found through the fallback.
        let raw = typed_value("plugin", RAW.as_bytes());
        assert_eq!(Template::parse("{{.Note}}").expect("parses").render(&raw).expect("renders"), "a, b: {c}");
    }
}
