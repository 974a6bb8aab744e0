//! `berth image inspect`: the daemon's JSON for each image, as docker prints it:
//! an array indented by 4 spaces (the daemon's key order kept), `-f json` on
//! one line, or a template run on each image. A template that fails on the
//! typed image (`ImageInspect`) is run again on the raw JSON, as docker's
//! inspector does, so fields the type lacks still work. Images that cannot be
//! inspected are reported together at the end (exit 1), after the others.

use api::images::ImageInspect;

use super::path_escape;
use crate::cli::ImageInspectArgs;
use crate::context::Cli;
use crate::error::{CliError, Result};
use crate::format::json::{compact_json, indent_json};
use crate::format::{Template, TemplateError, Value, to_value};


/// How the images are printed.
enum Output {
    Indented,
    Json,
    Template(Template),
}

/// Runs `t` on one image: on the typed value first, else on the raw JSON
/// (where, as with Go's `missingkey=error`, a missing key is an error).
pub fn render_template(t: &Template, raw: &str) -> Result<String, String> {
    let wrap = |e: TemplateError| format!("template parsing error: {e}");
    let typed_err = match serde_json::from_str::<ImageInspect>(raw).ok().and_then(|i| to_value(&i).ok()) {
        Some(v) => match t.render(&v) {
            Ok(text) => return Ok(text),
            Err(e) => Some(e),
        },
        None => None,
    };
    let value: Value =
        serde_json::from_str::<serde_json::Value>(raw).map_err(|e| format!("unable to read inspect data: {e}"))?.into();
    let text = t.render(&value).map_err(wrap)?;
    if !text.contains("<no value>") {
        return Ok(text);
    }
    // Our maps read a missing key as `<no value>`; docker's fallback fails
    // instead, naming the key.
    match typed_err {
        Some(TemplateError::Exec { name, line, col, context, msg }) => {
            let key = msg.strip_prefix("can't evaluate field ").and_then(|m| m.split(' ').next()).unwrap_or("");
            let msg = if key.is_empty() { msg } else { format!("map has no entry for key \"{key}\"") };
            Err(wrap(TemplateError::Exec { name, line, col, context, msg }))
        }
        _ => Ok(text),
    }
}

pub async fn run(cli: &mut Cli<'_>, args: ImageInspectArgs) -> Result<()> {
    let output = match args.format.as_deref().unwrap_or("") {
        "" => Output::Indented,
        "json" => Output::Json,
        f => Output::Template(
            Template::parse(f).map_err(|e| CliError::status(64, format!("template parsing error: {e}")))?,
        ),
    };
    let client = cli.client().await?.clone();
    let mut errors = Vec::new();
    let mut raws = Vec::new();
    let mut text = String::new();
    for name in &args.images {
        let raw = match client.get(&format!("/images/{}/json", path_escape(name)), &[], None).await {
            Ok(resp) => resp.text(),
            Err(e) => {
                errors.push(CliError::from(e).to_string());
                continue;
            }
        };
        match &output {
            Output::Template(t) => match render_template(t, &raw) {
                Ok(s) => {
                    text.push_str(&s);
                    text.push('\n');
                }
                Err(e) => errors.push(e),
            },
            _ => raws.push(compact_json(raw.trim().as_bytes())),
        }
    }
    match output {
        Output::Template(_) if text.is_empty() => text.push('\n'),
        Output::Template(_) => {}
        _ if raws.is_empty() => text.push_str("[]\n"),
        Output::Indented => {
            text = indent_json(format!("[{}]", raws.join(",")).as_bytes(), "    ");
            text.push('\n');
        }
        Output::Json => text = format!("[{}]\n", raws.join(",")),
    }
    cli.out.write_all(text.as_bytes())?;
    if errors.is_empty() { Ok(()) } else { Err(CliError::Other(errors.join("\n"))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = r#"{"Architecture":"amd64","Config":{"Cmd":["sh"],"Entrypoint":null,"Labels":{"a":"b"},"Volumes":null},"GraphDriver":{"Data":{},"Name":"overlay2"},"Id":"sha256:16a5","RepoDigests":[],"RepoTags":["busybox:latest"],"Size":2132480,"Comment":"say \"hi\", {ok}: [x]"}"#;

    #[test]
    fn indents_like_go() {
        let out = indent_json(format!("[{RAW}]").as_bytes(), "    ");
        assert_eq!(
            out,
            r#"[
    {
        "Architecture": "amd64",
        "Config": {
            "Cmd": [
                "sh"
            ],
            "Entrypoint": null,
            "Labels": {
                "a": "b"
            },
            "Volumes": null
        },
        "GraphDriver": {
            "Data": {},
            "Name": "overlay2"
        },
        "Id": "sha256:16a5",
        "RepoDigests": [],
        "RepoTags": [
            "busybox:latest"
        ],
        "Size": 2132480,
        "Comment": "say \"hi\", {ok}: [x]"
    }
]"#
        );
        assert_eq!(indent_json(b"[]", "    "), "[]");
        assert_eq!(compact_json(b"{ \"a b\" : [ 1, 2 ] }"), "{\"a b\":[1,2]}");
    }

    #[test]
    fn templates_fall_back_to_the_raw_json() {
        let t = |s: &str| Template::parse(s).expect("parses");
        assert_eq!(
            render_template(&t("{{.Id}} {{.ID}} {{.Size}}"), RAW).as_deref(),
            Ok("sha256:16a5 sha256:16a5 2132480")
        );
        assert_eq!(
            render_template(&t("{{index .Config.Labels \"a\"}} {{json .RepoTags}}"), RAW).as_deref(),
            Ok("b [\"busybox:latest\"]")
        );
        // Not in the typed image, but in the daemon's JSON.
        let extra = RAW.replacen('{', "{\"Extra\":7,", 1);
        assert_eq!(render_template(&t("{{.Extra}}"), &extra).as_deref(), Ok("7"));
        assert_eq!(
            render_template(&t("{{.Nope}}"), RAW),
            Err("template parsing error: template: :1:2: executing \"\" at <.Nope>: map has no entry for key \"Nope\""
                .into())
        );
    }
}
