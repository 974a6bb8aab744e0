//! Output formatting shared by every command: the Go template engine behind
//! `--format` ([`template`]), the values it runs on ([`value`], [`to_value`]),
//! docker's table alignment ([`table`]), human-readable sizes, durations and
//! ids ([`humanize`]), and [`ListFormat`], the `--format` handling of list
//! commands (`table …`, `json`, custom templates) as docker's formatter does it.

pub mod gofmt;
pub mod humanize;
pub mod json;
mod serialize;
pub mod table;
pub mod template;
pub mod value;

pub use serialize::{ToValueError, to_value};
pub use template::{Template, TemplateError};
pub use value::{Struct, Value};

/// A `--format` that could not be used; docker words both cases this way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template parsing error: {0}")]
pub struct FormatError(#[from] pub TemplateError);

/// The table header of a list command: field name → column title, e.g.
/// `[("ID", "CONTAINER ID"), ("Image", "IMAGE")]` for `ps`.
pub fn header(columns: &[(&str, &str)]) -> Value {
    Value::map(columns.iter().copied())
}

/// A list command's `--format` (docker's `formatter.Context`):
///
/// - `""` or `table`: the command's default table;
/// - `json`: each row as one line of JSON;
/// - `table TEMPLATE`: a header row (the template run on the header map with
///   docker's header functions) and one row per item, aligned by
///   [`table::TabWriter::docker_table`];
/// - anything else: the template once per row, each followed by a newline.
///
/// In the last two, leading and trailing spaces are trimmed and the two-char
/// sequences `\t` and `\n` become a tab and a newline, as docker does.
#[derive(Debug, Clone)]
pub struct ListFormat {
    template: Template,
    table: bool,
}

impl ListFormat {
    /// Parses `format`; `default_table` is the command's default, e.g.
    /// `"table {{.ID}}\t{{.Image}}"`.
    pub fn new(format: &str, default_table: &str) -> Result<Self, FormatError> {
        let format = match format {
            "" | "table" => default_table,
            f => f,
        };
        let table = format.starts_with("table");
        let text = if format == "json" {
            "{{json .}}".to_string()
        } else {
            let body = format.strip_prefix("table").unwrap_or(format);
            body.trim_matches(' ').replace("\\t", "\t").replace("\\n", "\n")
        };
        Ok(ListFormat { template: Template::parse(&text)?, table })
    }

    /// Whether the output is a table with a header row.
    pub fn is_table(&self) -> bool {
        self.table
    }

    /// Renders all rows. An error in any row fails the whole output (nothing
    /// is printed), as docker renders into a buffer first.
    pub fn render(&self, header: &Value, rows: &[Value]) -> Result<String, FormatError> {
        let mut body = String::new();
        for row in rows {
            self.template.execute(row, &mut body)?;
            body.push('\n');
        }
        if !self.table {
            return Ok(body);
        }
        let mut head = String::new();
        // Docker ignores header errors; the header keeps what was written.
        let _ = self.template.execute_header(header, &mut head);
        let mut tw = table::TabWriter::docker_table();
        tw.write_str(&head);
        tw.write_str("\n");
        tw.write_str(&body);
        Ok(tw.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: &str = "table {{.ID}}\\t{{.Image}}\\t{{.Status}}\\t{{.Names}}";

    fn headers() -> Value {
        header(&[("ID", "CONTAINER ID"), ("Image", "IMAGE"), ("Status", "STATUS"), ("Names", "NAMES")])
    }

    fn rows() -> Vec<Value> {
        let row = |id: &str, image: &str, status: &str, names: &str| -> Value {
            Struct::new("formatter.ContainerContext")
                .field("ID", id)
                .field("Image", image)
                .field("Status", status)
                .field("Names", names)
                .into()
        };
        vec![
            row("4f8c3e2a1b0d", "nginx:1.27-alpine", "Up 5 minutes", "web"),
            row("9a7b6c5d4e3f", "busybox", "Exited (0) 2 hours ago", "quirky_turing"),
        ]
    }

    #[test]
    fn default_table_matches_docker_byte_for_byte() {
        let f = ListFormat::new("", DEFAULT).expect("parses");
        assert!(f.is_table());
        let out = f.render(&headers(), &rows()).expect("renders");
        assert_eq!(
            out,
            "CONTAINER ID   IMAGE               STATUS                   NAMES\n\
             4f8c3e2a1b0d   nginx:1.27-alpine   Up 5 minutes             web\n\
             9a7b6c5d4e3f   busybox             Exited (0) 2 hours ago   quirky_turing\n"
        );
        // No rows: the header alone.
        let out = f.render(&headers(), &[]).expect("renders");
        assert_eq!(out, "CONTAINER ID   IMAGE     STATUS    NAMES\n");
    }

    #[test]
    fn custom_table_and_minimum_width() {
        let f = ListFormat::new("table {{.Names}}\\t{{upper .Status}}", DEFAULT).expect("parses");
        let out = f.render(&headers(), &rows()).expect("renders");
        assert_eq!(
            out,
            "NAMES           STATUS\nweb             UP 5 MINUTES\nquirky_turing   EXITED (0) 2 HOURS AGO\n"
        );
        let f = ListFormat::new("table {{.ID}}:{{.Names}}", DEFAULT).expect("parses");
        let out = f.render(&headers(), &rows()[..1]).expect("renders");
        assert_eq!(out, "CONTAINER ID:NAMES\n4f8c3e2a1b0d:web\n");
    }

    #[test]
    fn raw_and_json_formats() {
        let f = ListFormat::new("  {{.ID}}\\t{{.Names}} ", DEFAULT).expect("parses");
        assert!(!f.is_table());
        assert_eq!(f.render(&headers(), &rows()).expect("renders"), "4f8c3e2a1b0d\tweb\n9a7b6c5d4e3f\tquirky_turing\n");
        let f = ListFormat::new("json", DEFAULT).expect("parses");
        let out = f.render(&headers(), &rows()[..1]).expect("renders");
        assert_eq!(
            out,
            "{\"ID\":\"4f8c3e2a1b0d\",\"Image\":\"nginx:1.27-alpine\",\"Status\":\"Up 5 minutes\",\"Names\":\"web\"}\n"
        );
    }

    #[test]
    fn errors_say_template_parsing_error() {
        let err = ListFormat::new("{{.ID", DEFAULT).expect_err("unclosed");
        assert_eq!(err.to_string(), "template parsing error: template: :1: unclosed action");
        let f = ListFormat::new("{{.Nope}}", DEFAULT).expect("parses");
        let err = f.render(&headers(), &rows()).expect_err("no such field");
        assert_eq!(
            err.to_string(),
            "template parsing error: template: :1:2: executing \"\" at <.Nope>: can't evaluate field Nope in type formatter.ContainerContext"
        );
    }
}
