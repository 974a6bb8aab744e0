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
use crate::format::{Template, TemplateError, Value, to_value};

/// Go's `json.Indent(dst, src, "", indent)`: one value per line, `": "`
/// after keys, and empty objects and arrays kept as `{}` and `[]`.
pub fn indent_json(src: &str, indent: &str) -> String {
    let mut out = String::with_capacity(src.len() * 2);
    let mut depth = 0usize;
    let mut need_indent = false;
    let (mut in_string, mut escaped) = (false, false);
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(indent);
        }
    };
    for c in src.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if c.is_ascii_whitespace() {
            continue;
        }
        if need_indent && c != '}' && c != ']' {
            need_indent = false;
            depth += 1;
            newline(&mut out, depth);
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                // Delayed, so that an empty one stays `{}` / `[]`.
                need_indent = true;
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            '}' | ']' => {
                if need_indent {
                    need_indent = false;
                } else {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// JSON without the whitespace between tokens.
fn compact_json(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in src.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if c.is_ascii_whitespace() {
            continue;
        }
        out.push(c);
    }
    out
}

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
            _ => raws.push(compact_json(raw.trim())),
        }
    }
    match output {
        Output::Template(_) if text.is_empty() => text.push('\n'),
        Output::Template(_) => {}
        _ if raws.is_empty() => text.push_str("[]\n"),
        Output::Indented => {
            text = indent_json(&format!("[{}]", raws.join(",")), "    ");
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
        let out = indent_json(&format!("[{RAW}]"), "    ");
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
        assert_eq!(indent_json("[]", "    "), "[]");
        assert_eq!(compact_json("{ \"a b\" : [ 1, 2 ] }"), "{\"a b\":[1,2]}");
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
