//! `berth images` / `berth image ls`: docker's image table (one row per
//! repository:tag, `<none>` for dangling images, 12-character ids, "3 years
//! ago", sizes to 3 significant digits), `--digests`, `-q`, `--no-trunc` and
//! `--format` on docker's `imageContext` fields (`.Repository`, `.Tag`,
//! `.ID`, `.Digest`, `.CreatedSince`, `.CreatedAt`, `.Size`, `.VirtualSize`,
//! `.SharedSize`, `.UniqueSize`, `.Containers`).

use api::Filters;
use api::images::ImageSummary;
use chrono::{DateTime, Utc};

use crate::cli::ImagesArgs;
use crate::context::Cli;
use crate::error::Result;
use crate::format::humanize::{go_time_string, human_size, human_size_with_precision, short_id, time_ago};
use crate::format::{FormatError, ListFormat, Struct, Value, header};

const TABLE: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
const TABLE_WITH_DIGEST: &str = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
const RAW: &str = "repository: {{ .Repository }}\ntag: {{.Tag}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n";
const RAW_WITH_DIGEST: &str = "repository: {{ .Repository }}\ntag: {{.Tag}}\ndigest: {{.Digest}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n";

/// Docker's `NewImageFormat`: the format a `--format` value (or none) stands for.
pub fn image_format(format: &str, quiet: bool, digests: bool) -> String {
    match format {
        "" | "table" if quiet => "{{.ID}}".to_string(),
        "" | "table" if digests => TABLE_WITH_DIGEST.to_string(),
        "" | "table" => TABLE.to_string(),
        "raw" if quiet => "image_id: {{.ID}}".to_string(),
        "raw" if digests => RAW_WITH_DIGEST.to_string(),
        "raw" => RAW.to_string(),
        f if f.starts_with("table") && digests && !f.contains("{{.Digest}}") => format!("{f}\t{{{{.Digest}}}}"),
        f => f.to_string(),
    }
}

/// The column titles of image tables.
pub fn image_header() -> Value {
    header(&[
        ("ID", "IMAGE ID"),
        ("Repository", "REPOSITORY"),
        ("Tag", "TAG"),
        ("Digest", "DIGEST"),
        ("CreatedSince", "CREATED"),
        ("CreatedAt", "CREATED AT"),
        ("Size", "SIZE"),
        ("Containers", "CONTAINERS"),
        ("VirtualSize", "SIZE"),
        ("SharedSize", "SHARED SIZE"),
        ("UniqueSize", "UNIQUE SIZE"),
    ])
}

/// One row of an image table: an image under one repository, tag and digest.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRow<'a> {
    pub image: &'a ImageSummary,
    pub repo: String,
    pub tag: String,
    pub digest: String,
}

impl ImageRow<'_> {
    /// Docker's `imageContext`, as templates see it.
    pub fn to_value(&self, trunc: bool, now: DateTime<Utc>) -> Value {
        let i = self.image;
        let created = DateTime::from_timestamp(i.created, 0).unwrap_or_default();
        let na_or = |v: i64, f: &dyn Fn(i64) -> String| if v == -1 { "N/A".to_string() } else { f(v) };
        Struct::context("*formatter.imageContext")
            .field("ID", if trunc { short_id(&i.id).to_string() } else { i.id.clone() })
            .field("Repository", &self.repo)
            .field("Tag", &self.tag)
            .field("Digest", &self.digest)
            .field("CreatedSince", time_ago(created, now))
            .field("CreatedAt", go_time_string(created))
            .field("Size", human_size_with_precision(i.size as f64, 3))
            .field("Containers", na_or(i.containers, &|n| n.to_string()))
            .field("VirtualSize", human_size(i.size as f64))
            .field("SharedSize", na_or(i.shared_size, &|n| human_size(n as f64)))
            .field(
                "UniqueSize",
                if i.size == -1 || i.shared_size == -1 {
                    "N/A".to_string()
                } else {
                    human_size((i.size - i.shared_size) as f64)
                },
            )
            .into()
    }
}

/// Docker's `isDangling`: no names at all, or only `<none>` ones.
pub fn is_dangling(i: &ImageSummary) -> bool {
    (i.repo_tags.is_empty() && i.repo_digests.is_empty())
        || (i.repo_tags == ["<none>:<none>"] && i.repo_digests == ["<none>@<none>"])
}

/// Groups `(repository, value)` pairs by repository, in order of first appearance.
fn group(pairs: impl Iterator<Item = (String, String)>) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (repo, v) in pairs {
        match out.iter_mut().find(|(r, _)| *r == repo) {
            Some((_, vs)) => vs.push(v),
            None => out.push((repo, vec![v])),
        }
    }
    out
}

/// The rows of one image (docker's `imageFormatTaggedAndDigest`): one per
/// repository:tag (times each digest of that repository with `--digests`),
/// then one per repository known only by digest.
pub fn image_rows(i: &ImageSummary, digests: bool) -> Vec<ImageRow<'_>> {
    let row = |repo: &str, tag: &str, digest: &str| ImageRow {
        image: i,
        repo: repo.to_string(),
        tag: tag.to_string(),
        digest: digest.to_string(),
    };
    if is_dangling(i) {
        return vec![row("<none>", "<none>", "<none>")];
    }
    let tags = group(i.repo_tags.iter().filter_map(|t| {
        let r = image::Reference::parse_named(t).ok()?;
        Some((r.familiar_repository(), r.tag()?.to_string()))
    }));
    let mut by_digest = group(i.repo_digests.iter().filter_map(|d| {
        let r = image::Reference::parse_named(d).ok()?;
        Some((r.familiar_repository(), r.digest()?.to_string()))
    }));
    let mut rows = Vec::new();
    for (repo, tags) in &tags {
        let ds = match by_digest.iter().position(|(r, _)| r == repo) {
            Some(p) => by_digest.remove(p).1,
            None => Vec::new(),
        };
        for tag in tags {
            if !digests || ds.is_empty() {
                rows.push(row(repo, tag, "<none>"));
            } else {
                rows.extend(ds.iter().map(|d| row(repo, tag, d)));
            }
        }
    }
    for (repo, ds) in &by_digest {
        if digests {
            rows.extend(ds.iter().map(|d| row(repo, "<none>", d)));
        } else {
            rows.push(row(repo, "<none>", ""));
        }
    }
    rows
}

/// Renders the list as `images` prints it.
pub fn render(
    images: &[ImageSummary],
    format: &str,
    quiet: bool,
    digests: bool,
    trunc: bool,
    now: DateTime<Utc>,
) -> Result<String, FormatError> {
    let format = ListFormat::new(&image_format(format, quiet, digests), TABLE)?;
    let rows: Vec<Value> = images.iter().flat_map(|i| image_rows(i, digests)).map(|r| r.to_value(trunc, now)).collect();
    format.render(&image_header(), &rows)
}

pub async fn run(cli: &mut Cli<'_>, args: ImagesArgs) -> Result<()> {
    let format = args.format.clone().unwrap_or_default();
    // A bad template fails before the daemon is asked.
    ListFormat::new(&image_format(&format, args.quiet, args.digests), TABLE)?;
    let mut filters = Filters::new();
    for (k, v) in &args.filter {
        filters.add(k.clone(), v.clone());
    }
    if let Some(r) = &args.reference {
        filters.add("reference", r.clone());
    }
    let filters_json = filters.to_json();
    let mut query: Vec<(&str, &str)> = Vec::new();
    if !filters.is_empty() {
        query.push(("filters", &filters_json));
    }
    if args.all {
        query.push(("all", "1"));
    }
    let images: Vec<ImageSummary> = cli.client().await?.get_json("/images/json", &query).await?;
    let out = render(&images, &format, args.quiet, args.digests, !args.no_trunc, Utc::now())?;
    cli.out.write_all(out.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "sha256:16a597f27c2abe13536cc851d191b978048e326f39c645afb93976d9b53ce6bd";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + 3 * 365 * 86400, 0).expect("valid")
    }

    /// What berthd answers `GET /images/json` with.
    fn reply() -> Vec<ImageSummary> {
        serde_json::from_str(&format!(
            r#"[{{"Containers":-1,"Created":1700000000,"Id":"{ID}","Labels":{{}},"ParentId":"","RepoDigests":["busybox@sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"],"RepoTags":["busybox:latest","mine/bb:1","busybox:1.36"],"SharedSize":-1,"Size":2132480}},
                {{"Containers":-1,"Created":1699990000,"Id":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","Labels":null,"ParentId":"","RepoDigests":[],"RepoTags":[],"SharedSize":-1,"Size":4261550}}]"#
        ))
        .expect("valid reply")
    }

    #[test]
    fn table_like_docker() {
        let out = render(&reply(), "", false, false, true, now()).expect("renders");
        assert_eq!(
            out,
            "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\n\
             busybox      latest    16a597f27c2a   3 years ago   2.13MB\n\
             busybox      1.36      16a597f27c2a   3 years ago   2.13MB\n\
             mine/bb      1         16a597f27c2a   3 years ago   2.13MB\n\
             <none>       <none>    0123456789ab   3 years ago   4.26MB\n"
        );
        let empty = render(&[], "", false, false, true, now()).expect("renders");
        assert_eq!(empty, "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n");
    }

    #[test]
    fn digests_column_and_quiet() {
        let out = render(&reply(), "", false, true, true, now()).expect("renders");
        let digest = "sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
        assert_eq!(
            out,
            format!(
                "REPOSITORY   TAG       DIGEST                                                                    IMAGE ID       CREATED       SIZE\n\
                 busybox      latest    {digest}   16a597f27c2a   3 years ago   2.13MB\n\
                 busybox      1.36      {digest}   16a597f27c2a   3 years ago   2.13MB\n\
                 mine/bb      1         <none>                                                                    16a597f27c2a   3 years ago   2.13MB\n\
                 <none>       <none>    <none>                                                                    0123456789ab   3 years ago   4.26MB\n"
            )
        );
        // Docker prints an id once per row, so an image with two tags twice.
        let q = render(&reply(), "", true, false, true, now()).expect("renders");
        assert_eq!(q, "16a597f27c2a\n16a597f27c2a\n16a597f27c2a\n0123456789ab\n");
        let custom = render(&reply()[..1], "table {{.Repository}}", false, true, false, now()).expect("renders");
        assert_eq!(custom.lines().next(), Some("REPOSITORY   DIGEST"));
    }

    #[test]
    fn formats_and_json() {
        let images = reply();
        let out = render(
            &images[1..],
            "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}} {{.VirtualSize}} {{.Containers}} {{.SharedSize}}",
            false,
            false,
            false,
            now(),
        )
        .expect("renders");
        assert_eq!(
            out,
            "<none>:<none> sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 4.26MB 4.262MB N/A N/A\n"
        );
        let json = render(&images[..1], "json", false, false, true, now()).expect("renders");
        let first = json.lines().next().expect("a line");
        let created = go_time_string(DateTime::from_timestamp(1_700_000_000, 0).expect("valid"));
        assert_eq!(
            first,
            format!(
                r#"{{"Containers":"N/A","CreatedAt":"{created}","CreatedSince":"3 years ago","Digest":"\u003cnone\u003e","ID":"16a597f27c2a","Repository":"busybox","SharedSize":"N/A","Size":"2.13MB","Tag":"latest","UniqueSize":"N/A","VirtualSize":"2.132MB"}}"#
            )
        );
        let raw = render(&images[..1], "raw", false, false, true, now()).expect("renders");
        assert!(raw.starts_with("repository: busybox\ntag: latest\nimage_id: 16a597f27c2a\ncreated_at: "), "{raw}");
        let err = render(&images, "{{.Nope}}", false, false, true, now()).expect_err("no such field");
        assert!(err.to_string().ends_with("can't evaluate field Nope in type *formatter.imageContext"), "{err}");
    }

    #[test]
    fn digest_only_and_dangling_names() {
        let mut i = reply().remove(0);
        i.repo_tags.clear();
        let rows = image_rows(&i, false);
        assert_eq!(
            (rows.len(), rows[0].repo.as_str(), rows[0].tag.as_str(), rows[0].digest.as_str()),
            (1, "busybox", "<none>", "")
        );
        let rows = image_rows(&i, true);
        assert!(rows[0].digest.starts_with("sha256:abcdef"));
        i.repo_tags = vec!["<none>:<none>".into()];
        i.repo_digests = vec!["<none>@<none>".into()];
        assert!(is_dangling(&i));
    }
}
