//! `berth search`: a registry's search (through the daemon) in docker's table
//! (`NAME  DESCRIPTION  STARS  OFFICIAL`, descriptions cut at 45 columns unless
//! `--no-trunc`), or a `--format` on docker's `searchContext` fields (`.Name`,
//! `.Description`, `.StarCount`, `.IsOfficial`, `.IsAutomated`).

use api::images::ImageSearchResult;

use crate::cli::SearchArgs;
use crate::commands::network::list::filters;
use crate::context::Cli;
use crate::error::Result;
use crate::format::humanize::ellipsis;
use crate::format::{FormatError, ListFormat, Struct, Value, header};

const TABLE: &str = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}";

fn row(f: &ImageSearchResult, trunc: bool) -> Value {
    let description = f.description.replace('\n', " ");
    let description = if trunc { ellipsis(&description, 45) } else { description };
    let ok = |b: bool| if b { "[OK]" } else { "" };
    Struct::context("*formatter.searchContext")
        .field("Name", &f.name)
        .field("Description", description)
        .field("StarCount", f.star_count.to_string())
        .field("IsOfficial", ok(f.is_official))
        .field("IsAutomated", ok(f.is_automated))
        .into()
}

/// The answers as `search` prints them.
pub fn render(found: &[ImageSearchResult], format: &str, trunc: bool) -> Result<String, FormatError> {
    let format = match format {
        "" | "table" => TABLE,
        f => f,
    };
    let head = header(&[("Name", "NAME"), ("Description", "DESCRIPTION"), ("StarCount", "STARS"), ("IsOfficial", "OFFICIAL"), ("IsAutomated", "AUTOMATED")]);
    let rows: Vec<Value> = found.iter().map(|f| row(f, trunc)).collect();
    ListFormat::new(format, TABLE)?.render(&head, &rows)
}

pub async fn run(cli: &mut Cli<'_>, args: SearchArgs) -> Result<()> {
    let filters = filters(&args.filter).to_json();
    let limit = args.limit.to_string();
    let mut query = vec![("term", args.term.as_str())];
    if args.limit > 0 {
        query.push(("limit", limit.as_str()));
    }
    if !args.filter.is_empty() {
        query.push(("filters", filters.as_str()));
    }
    let host = args.term.split_once('/').map(|(h, _)| h).filter(|h| h.contains('.') || h.contains(':') || *h == "localhost").unwrap_or("docker.io");
    let auth = crate::credentials::header_for(host);
    let headers = [("X-Registry-Auth", auth.as_str())];
    let response = cli.client().await?.request(hyper::Method::GET, "/images/search", &query, &headers, None).await?;
    let found: Vec<ImageSearchResult> = serde_json::from_slice(&response.body).map_err(|e| crate::error::CliError::Other(e.to_string()))?;
    let out = render(&found, &args.format, !args.no_trunc)?;
    cli.out.write_all(out.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_like_docker() {
        let found = [
            ImageSearchResult { name: "busybox".into(), description: "Busybox base image, with a description longer than the table shows".into(), star_count: 3200, is_official: true, is_automated: false },
            ImageSearchResult { name: "me/tool".into(), ..ImageSearchResult::default() },
        ];
        assert_eq!(
            render(&found, "", true).unwrap(),
            "NAME      DESCRIPTION                                     STARS     OFFICIAL\n\
             busybox   Busybox base image, with a description longe…   3200      [OK]\n\
             me/tool                                                   0         \n"
        );
        assert_eq!(render(&found, "{{.Name}} {{.StarCount}}", true).unwrap(), "busybox 3200\nme/tool 0\n");
    }
}
