//! `berth history` / `berth image history`: the layers of an image, newest
//! first, as docker's table (`IMAGE  CREATED  CREATED BY  SIZE  COMMENT`;
//! `<missing>` for layers without an image of their own; CREATED BY cut to 45
//! columns with `…` unless `--no-trunc`), `-H=false` for RFC 3339 dates and
//! sizes in bytes, `-q` for ids, or `--format` on docker's `historyContext`.

use api::images::HistoryItem;
use chrono::{DateTime, Local, SecondsFormat, Utc};

use super::path_escape;
use crate::cli::HistoryArgs;
use crate::context::Cli;
use crate::error::Result;
use crate::format::humanize::{ellipsis, human_size_with_precision, short_id, time_ago};
use crate::format::{FormatError, ListFormat, Struct, Value, header};

const TABLE: &str = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
const TABLE_NOT_HUMAN: &str = "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";

/// Docker's `NewHistoryFormat`.
fn history_format(format: &str, quiet: bool, human: bool) -> &str {
    match format {
        "" | "table" if quiet => "{{.ID}}",
        "" | "table" if !human => TABLE_NOT_HUMAN,
        "" | "table" => TABLE,
        f => f,
    }
}

/// Docker's `historyContext`, as templates see it.
fn row(h: &HistoryItem, human: bool, trunc: bool, now: DateTime<Utc>) -> Value {
    let created = DateTime::from_timestamp(h.created, 0).unwrap_or_default();
    let created_at = created.with_timezone(&Local).to_rfc3339_opts(SecondsFormat::Secs, true);
    let created_by = h.created_by.replace('\t', " ");
    Struct::context("*image.historyContext")
        .field("ID", if trunc { short_id(&h.id).to_string() } else { h.id.clone() })
        .field("CreatedSince", if human { time_ago(created, now) } else { created_at.clone() })
        .field("CreatedAt", created_at)
        .field("CreatedBy", if trunc { ellipsis(&created_by, 45) } else { created_by })
        .field("Size", if human { human_size_with_precision(h.size as f64, 3) } else { h.size.to_string() })
        .field("Comment", &h.comment)
        .into()
}

/// Renders the history as `history` prints it.
pub fn render(
    items: &[HistoryItem],
    format: &str,
    quiet: bool,
    human: bool,
    trunc: bool,
    now: DateTime<Utc>,
) -> Result<String, FormatError> {
    let format = ListFormat::new(history_format(format, quiet, human), TABLE)?;
    let head = header(&[
        ("ID", "IMAGE"),
        ("CreatedSince", "CREATED"),
        ("CreatedAt", "CREATED AT"),
        ("CreatedBy", "CREATED BY"),
        ("Size", "SIZE"),
        ("Comment", "COMMENT"),
    ]);
    let rows: Vec<Value> = items.iter().map(|h| row(h, human, trunc, now)).collect();
    format.render(&head, &rows)
}

pub async fn run(cli: &mut Cli<'_>, args: HistoryArgs) -> Result<()> {
    let format = args.format.clone().unwrap_or_default();
    ListFormat::new(history_format(&format, args.quiet, args.human), TABLE)?;
    let path = format!("/images/{}/history", path_escape(&args.image));
    let items: Vec<HistoryItem> = cli.client().await?.get_json(&path, &[]).await?;
    let out = render(&items, &format, args.quiet, args.human, !args.no_trunc, Utc::now())?;
    cli.out.write_all(out.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + 14 * 86400, 0).expect("valid")
    }

    /// A two-layer image as the daemon answers `GET /images/{name}/history`.
    fn reply() -> Vec<HistoryItem> {
        serde_json::from_str(
            r#"[{"Id":"sha256:16a597f27c2abe13536cc851d191b978048e326f39c645afb93976d9b53ce6bd","Created":1700000000,"CreatedBy":"/bin/sh -c #(nop)  CMD [\"sh\"]","Tags":["busybox:latest"],"Size":0,"Comment":""},
                {"Id":"<missing>","Created":1699990000,"CreatedBy":"/bin/sh -c #(nop) ADD file:7e9002edaafd4e4579b65c8f0aaabde1aeb7fd3f8d95579f7e2e2a9ab0b3b6b4 in / ","Tags":null,"Size":4261550,"Comment":"imported"}]"#,
        )
        .expect("valid reply")
    }

    #[test]
    fn table_truncates_created_by() {
        let out = render(&reply(), "", false, true, true, now()).expect("renders");
        assert_eq!(
            out,
            "IMAGE          CREATED       CREATED BY                                      SIZE      COMMENT\n\
             16a597f27c2a   2 weeks ago   /bin/sh -c #(nop)  CMD [\"sh\"]                   0B        \n\
             <missing>      2 weeks ago   /bin/sh -c #(nop) ADD file:7e9002edaafd4e457…   4.26MB    imported\n"
        );
    }

    #[test]
    fn raw_values_no_trunc_and_quiet() {
        let out = render(&reply(), "", false, false, false, now()).expect("renders");
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("IMAGE    "), "{out}");
        assert!(lines[0].contains("   CREATED AT   "), "{out}");
        assert!(lines[2].contains(" in /    4261550   imported"), "{out}");
        assert!(
            lines[1].starts_with("sha256:16a597f27c2abe13536cc851d191b978048e326f39c645afb93976d9b53ce6bd   "),
            "{out}"
        );
        let q = render(&reply(), "", true, true, true, now()).expect("renders");
        assert_eq!(q, "16a597f27c2a\n<missing>\n");
        let f = render(&reply()[..1], "{{.ID}}|{{.Size}}|{{.CreatedBy}}", false, false, true, now()).expect("renders");
        assert_eq!(f, "16a597f27c2a|0|/bin/sh -c #(nop)  CMD [\"sh\"]\n");
        let json = render(&reply()[1..], "json", false, true, true, now()).expect("renders");
        assert!(json.starts_with(r#"{"Comment":"imported","CreatedAt":""#), "{json}");
        assert!(json.contains(r#""CreatedSince":"2 weeks ago","ID":"\u003cmissing\u003e","Size":"4.26MB"}"#), "{json}");
    }
}
