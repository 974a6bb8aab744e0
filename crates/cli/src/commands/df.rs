//! `berth system df`: the daemon's disk usage (`GET /system/df`) as docker
//! prints it: one row per kind (`Images`, `Containers`, `Local Volumes`,
//! `Build Cache`) with TOTAL, ACTIVE, SIZE and RECLAIMABLE (`4.26MB (100%)`),
//! or with `-v` a table per kind listing every image, container, volume and
//! cache record; `--format` runs on docker's disk-usage contexts.

use api::containers::ContainerSummary;
use api::images::ImageSummary;
use api::system::{BuildCache, SystemDf};
use chrono::{DateTime, Utc};

use super::image::list::{ImageRow, image_header, is_dangling};
use super::volume::list::row as volume_row;
use crate::cli::DfArgs;
use crate::context::Cli;
use crate::error::Result;
use crate::format::gofmt::quote;
use crate::format::humanize::{ellipsis, human_size, human_size_with_precision, short_id, time_ago};
use crate::format::{FormatError, ListFormat, Struct, Template, Value, header};

const TABLE: &str = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
const RAW: &str =
    "type: {{.Type}}\ntotal: {{.TotalCount}}\nactive: {{.Active}}\nsize: {{.Size}}\nreclaimable: {{.Reclaimable}}\n";
const IMAGES_TABLE: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}";
const CONTAINERS_TABLE: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}";
const VOLUMES_TABLE: &str = "table {{.Name}}\t{{.Links}}\t{{.Size}}";
const CACHE_TABLE: &str =
    "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}";

/// `4.26MB (100%)`, or the size alone when there is nothing at all.
fn reclaimable(reclaimable: i64, total: i64) -> String {
    if total > 0 {
        format!("{} ({}%)", human_size(reclaimable as f64), reclaimable * 100 / total)
    } else {
        human_size(reclaimable as f64)
    }
}

fn summary_row(kind: &str, total: usize, active: usize, size: String, reclaim: String) -> Value {
    Struct::context("*formatter.diskUsageContext")
        .field("Type", kind)
        .field("TotalCount", total.to_string())
        .field("Active", active.to_string())
        .field("Size", size)
        .field("Reclaimable", reclaim)
        .into()
}

fn container_active(c: &ContainerSummary) -> bool {
    ["running", "paused", "restarting"].iter().any(|s| c.state.contains(s))
}

/// The build cache's own size: every record not shared with another.
fn builder_size(cache: &[BuildCache]) -> i64 {
    cache.iter().filter(|b| !b.shared).map(|b| b.size).sum()
}

/// Docker's four summary rows (`diskUsage{Images,Containers,Volumes,Builder}Context`).
pub fn summary_rows(df: &SystemDf) -> Vec<Value> {
    let images = &df.images;
    let used: i64 = images
        .iter()
        .filter(|i| i.containers != 0 && i.size != -1 && i.shared_size != -1)
        .map(|i| i.size - i.shared_size)
        .sum();
    let image_row = summary_row(
        "Images",
        images.len(),
        images.iter().filter(|i| i.containers > 0).count(),
        human_size(df.layers_size as f64),
        reclaimable(df.layers_size - used, df.layers_size),
    );

    let cs = &df.containers;
    let size_rw = |c: &ContainerSummary| c.size_rw.unwrap_or(0);
    let total: i64 = cs.iter().map(size_rw).sum();
    let idle: i64 = cs.iter().filter(|c| !container_active(c)).map(size_rw).sum();
    let container_row = summary_row(
        "Containers",
        cs.len(),
        cs.iter().filter(|c| container_active(c)).count(),
        human_size(total as f64),
        reclaimable(idle, total),
    );

    let vs = &df.volumes;
    let sized: Vec<(i64, i64)> = vs
        .iter()
        .filter_map(|v| v.usage_data.as_ref())
        .filter(|u| u.size != -1)
        .map(|u| (u.size, u.ref_count))
        .collect();
    let total: i64 = sized.iter().map(|(s, _)| s).sum();
    let unused: i64 = sized.iter().filter(|(_, refs)| *refs == 0).map(|(s, _)| s).sum();
    let volume_row = summary_row(
        "Local Volumes",
        vs.len(),
        vs.iter().filter(|v| v.usage_data.as_ref().is_some_and(|u| u.ref_count > 0)).count(),
        human_size(total as f64),
        reclaimable(unused, total),
    );

    let bc = &df.build_cache;
    let in_use: i64 = bc.iter().filter(|b| b.in_use && !b.shared).map(|b| b.size).sum();
    let cache_row = summary_row(
        "Build Cache",
        bc.len(),
        bc.iter().filter(|b| b.in_use).count(),
        human_size(builder_size(bc) as f64),
        human_size((builder_size(bc) - in_use) as f64),
    );
    vec![image_row, container_row, volume_row, cache_row]
}

/// `df -v`'s image rows: only an image's first tag is shown.
fn image_rows(images: &[ImageSummary]) -> Vec<ImageRow<'_>> {
    images
        .iter()
        .filter_map(|i| {
            let (mut repo, mut tag) = ("<none>".to_string(), "<none>".to_string());
            if let Some(first) = i.repo_tags.first().filter(|_| !is_dangling(i)) {
                let r = image::Reference::parse_named(first).ok()?;
                if let Some(t) = r.tag() {
                    (repo, tag) = (r.familiar_repository(), t.to_string());
                }
            }
            Some(ImageRow { image: i, repo, tag, digest: String::new() })
        })
        .collect()
}

/// Docker's `ContainerContext` with the fields `df -v` shows.
fn container_value(c: &ContainerSummary, trunc: bool, now: DateTime<Utc>) -> Value {
    let image = if c.image.is_empty() {
        "<no image>".to_string()
    } else if trunc && short_id(&c.image_id) == short_id(&c.image) {
        short_id(&c.image_id).to_string()
    } else if trunc {
        match image::Reference::parse_named(&c.image) {
            Ok(r) if r.tag().is_some() => format!("{}:{}", r.familiar_repository(), r.tag().unwrap_or_default()),
            Ok(r) => r.familiar_repository(),
            Err(_) => c.image.clone(),
        }
    } else {
        c.image.clone()
    };
    let names: Vec<&str> = c.names.iter().map(|n| n.strip_prefix('/').unwrap_or(n)).collect();
    let names = match names.iter().find(|n| !n.contains('/')) {
        Some(n) if trunc => n.to_string(),
        _ => names.join(","),
    };
    let command = if trunc { ellipsis(&c.command, 20) } else { c.command.clone() };
    let created = DateTime::from_timestamp(c.created, 0).unwrap_or_default();
    Struct::context("*formatter.ContainerContext")
        .field("ID", if trunc { short_id(&c.id).to_string() } else { c.id.clone() })
        .field("Image", image)
        .field("Command", quote(&command))
        .field("LocalVolumes", c.mounts.iter().filter(|m| m.driver == "local").count().to_string())
        .field("Size", human_size_with_precision(c.size_rw.unwrap_or(0) as f64, 3))
        .field("RunningFor", time_ago(created, now))
        .field("Status", &c.status)
        .field("Names", names)
        .field("State", &c.state)
        .into()
}

/// Docker's `buildCacheContext`.
fn cache_value(b: &BuildCache, trunc: bool, now: DateTime<Utc>) -> Value {
    let mut id = if trunc { short_id(&b.id).to_string() } else { b.id.clone() };
    if b.in_use {
        id.push('*');
    }
    let ago = |t: &str| api::time::parse_rfc3339(t).map_or(String::new(), |t| time_ago(t.with_timezone(&Utc), now));
    Struct::context("*formatter.buildCacheContext")
        .field("ID", id)
        .field("Parent", b.parents.join(", "))
        .field("CacheType", &b.r#type)
        .field("Description", &b.description)
        .field("Size", human_size_with_precision(b.size as f64, 3))
        .field("CreatedSince", ago(&b.created_at))
        .field("LastUsedSince", b.last_used_at.as_deref().map_or(String::new(), ago))
        .field("UsageCount", b.usage_count.to_string())
        .field("InUse", b.in_use.to_string())
        .field("Shared", b.shared.to_string())
        .into()
}

/// Docker's `buildCacheSort`: most recently used first, never-used ones first of all.
fn sorted_cache(cache: &[BuildCache]) -> Vec<&BuildCache> {
    let mut out: Vec<&BuildCache> = cache.iter().collect();
    let used = |b: &BuildCache| b.last_used_at.as_deref().and_then(api::time::parse_rfc3339);
    out.sort_by(|a, b| match (used(a), used(b)) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, Some(_)) => std::cmp::Ordering::Less,
        (Some(_), None) => std::cmp::Ordering::Greater,
        (Some(x), Some(y)) => y.cmp(&x),
    });
    out
}

/// One verbose section: a title line, then its table.
fn section(out: &mut String, title: &str, table: &str, head: &Value, rows: &[Value]) -> Result<(), FormatError> {
    out.push_str(title);
    out.push_str(&ListFormat::new(table, table)?.render(head, rows)?);
    Ok(())
}

/// `df -v` with the default format: one table per kind.
fn verbose_tables(df: &SystemDf, now: DateTime<Utc>) -> Result<String, FormatError> {
    let mut out = String::new();
    let images: Vec<Value> = image_rows(&df.images).iter().map(|r| r.to_value(true, now)).collect();
    section(&mut out, "Images space usage:\n\n", IMAGES_TABLE, &image_header(), &images)?;
    let containers: Vec<Value> = df.containers.iter().map(|c| container_value(c, true, now)).collect();
    let head = header(&[
        ("ID", "CONTAINER ID"),
        ("Image", "IMAGE"),
        ("Command", "COMMAND"),
        ("LocalVolumes", "LOCAL VOLUMES"),
        ("Size", "SIZE"),
        ("RunningFor", "CREATED"),
        ("Status", "STATUS"),
        ("Names", "NAMES"),
        ("State", "STATE"),
    ]);
    section(&mut out, "\nContainers space usage:\n\n", CONTAINERS_TABLE, &head, &containers)?;
    let volumes: Vec<Value> = df.volumes.iter().map(volume_row).collect();
    let head = header(&[
        ("Name", "VOLUME NAME"),
        ("Driver", "DRIVER"),
        ("Scope", "SCOPE"),
        ("Mountpoint", "MOUNTPOINT"),
        ("Labels", "LABELS"),
        ("Links", "LINKS"),
        ("Size", "SIZE"),
    ]);
    section(&mut out, "\nLocal Volumes space usage:\n\n", VOLUMES_TABLE, &head, &volumes)?;
    let cache: Vec<Value> = sorted_cache(&df.build_cache).into_iter().map(|b| cache_value(b, true, now)).collect();
    let head = header(&[
        ("ID", "CACHE ID"),
        ("Parent", "PARENT"),
        ("CacheType", "CACHE TYPE"),
        ("Description", "DESCRIPTION"),
        ("Size", "SIZE"),
        ("CreatedSince", "CREATED"),
        ("LastUsedSince", "LAST USED"),
        ("UsageCount", "USAGE"),
        ("InUse", "IN USE"),
        ("Shared", "SHARED"),
    ]);
    let title = format!("\nBuild cache usage: {}\n\n", human_size(builder_size(&df.build_cache) as f64));
    section(&mut out, &title, CACHE_TABLE, &head, &cache)?;
    Ok(out)
}

/// `df -v --format …`: the template once, on all four lists.
fn verbose_template(df: &SystemDf, format: &str, now: DateTime<Utc>) -> Result<String, FormatError> {
    let text = if format == "json" {
        "{{json .}}".to_string()
    } else {
        format.strip_prefix("table").unwrap_or(format).trim_matches(' ').replace("\\t", "\t").replace("\\n", "\n")
    };
    let trunc = format.starts_with("table");
    let data: Value = Struct::new("formatter.diskUsageContext")
        .field("Images", image_rows(&df.images).iter().map(|r| r.to_value(trunc, now)).collect::<Vec<_>>())
        .field("Containers", df.containers.iter().map(|c| container_value(c, trunc, now)).collect::<Vec<_>>())
        .field("Volumes", df.volumes.iter().map(volume_row).collect::<Vec<_>>())
        .field(
            "BuildCache",
            sorted_cache(&df.build_cache).into_iter().map(|b| cache_value(b, trunc, now)).collect::<Vec<_>>(),
        )
        .into();
    Ok(Template::parse(&text)?.render(&data)?)
}

/// Renders the reply as `system df` prints it.
pub fn render(df: &SystemDf, format: &str, verbose: bool, now: DateTime<Utc>) -> Result<String, FormatError> {
    match (verbose, format) {
        (true, "" | "table") => verbose_tables(df, now),
        (true, f) => verbose_template(df, f, now),
        (false, "raw") => ListFormat::new(RAW, TABLE)?.render(&Value::Null, &summary_rows(df)),
        (false, f) => {
            let head = header(&[
                ("Type", "TYPE"),
                ("TotalCount", "TOTAL"),
                ("Active", "ACTIVE"),
                ("Size", "SIZE"),
                ("Reclaimable", "RECLAIMABLE"),
            ]);
            ListFormat::new(f, TABLE)?.render(&head, &summary_rows(df))
        }
    }
}

pub async fn run(cli: &mut Cli<'_>, args: DfArgs) -> Result<()> {
    let format = args.format.clone().unwrap_or_default();
    if !args.verbose {
        ListFormat::new(&format, TABLE)?;
    }
    let df: SystemDf = cli.client().await?.get_json("/system/df", &[]).await?;
    let out = render(&df, &format, args.verbose, Utc::now())?;
    cli.out.write_all(out.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + 3 * 3600, 0).expect("valid")
    }

    /// A daemon with busybox loaded and nothing else, as docker's /system/df shapes it.
    fn reply() -> SystemDf {
        serde_json::from_str(
            r#"{"LayersSize":4261550,"Images":[{"Containers":0,"Created":1700000000,"Id":"sha256:16a597f27c2abe13536cc851d191b978048e326f39c645afb93976d9b53ce6bd","Labels":{},"ParentId":"","RepoDigests":[],"RepoTags":["busybox:latest","busybox:1.36"],"SharedSize":0,"Size":4261550}],
                "Containers":[],"Volumes":[],"BuildCache":[]}"#,
        )
        .expect("valid reply")
    }

    #[test]
    fn summary_table_like_docker() {
        let out = render(&reply(), "", false, now()).expect("renders");
        assert_eq!(
            out,
            "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n\
             Images          1         0         4.262MB   4.262MB (100%)\n\
             Containers      0         0         0B        0B\n\
             Local Volumes   0         0         0B        0B\n\
             Build Cache     0         0         0B        0B\n"
        );
        let json = render(&reply(), "json", false, now()).expect("renders");
        assert_eq!(
            json.lines().next(),
            Some(r#"{"Active":"0","Reclaimable":"4.262MB (100%)","Size":"4.262MB","TotalCount":"1","Type":"Images"}"#)
        );
        let f = render(&reply(), "{{.Type}}={{.Size}}", false, now()).expect("renders");
        assert_eq!(f, "Images=4.262MB\nContainers=0B\nLocal Volumes=0B\nBuild Cache=0B\n");
    }

    #[test]
    fn active_things_are_not_reclaimable() {
        let mut df = reply();
        df.images[0].containers = 1;
        df.containers = serde_json::from_str(
            r#"[{"Id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","Names":["/web"],"Image":"busybox","ImageID":"sha256:16a5","Command":"sh -c 'sleep 1000000000'","Created":1700000000,"State":"running","Status":"Up 3 hours","SizeRw":1000,"Mounts":[{"Type":"volume","Name":"data","Driver":"local"}]},
                {"Id":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","Names":["/old"],"Image":"busybox","ImageID":"sha256:16a5","Command":"true","Created":1700000000,"State":"exited","Status":"Exited (0) 2 hours ago","SizeRw":3000}]"#,
        )
        .expect("valid");
        df.volumes = serde_json::from_str(
            r#"[{"Name":"data","Driver":"local","Mountpoint":"/v/data","Scope":"local","UsageData":{"Size":2000,"RefCount":1}},
                {"Name":"old","Driver":"local","Mountpoint":"/v/old","Scope":"local","UsageData":{"Size":500,"RefCount":0}}]"#,
        )
        .expect("valid");
        let out = render(&df, "", false, now()).expect("renders");
        assert_eq!(
            out,
            "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n\
             Images          1         1         4.262MB   0B (0%)\n\
             Containers      2         1         4kB       3kB (75%)\n\
             Local Volumes   2         1         2.5kB     500B (20%)\n\
             Build Cache     0         0         0B        0B\n"
        );
        let verbose = render(&df, "", true, now()).expect("renders");
        assert!(verbose.starts_with(
            "Images space usage:\n\nREPOSITORY   TAG       IMAGE ID       CREATED       SIZE      SHARED SIZE   UNIQUE SIZE   CONTAINERS\n\
             busybox      latest    16a597f27c2a   3 hours ago   4.26MB    0B            4.262MB       1\n\n\
             Containers space usage:\n\n\
             CONTAINER ID   IMAGE     COMMAND                  LOCAL VOLUMES   SIZE      CREATED       STATUS                   NAMES\n\
             aaaaaaaaaaaa   busybox   \"sh -c 'sleep 100000…\"   1               1kB       3 hours ago   Up 3 hours               web\n"
        ), "{verbose}");
        assert!(verbose.contains("\nLocal Volumes space usage:\n\nVOLUME NAME   LINKS     SIZE\ndata          1         2kB\nold           0         500B\n"), "{verbose}");
        assert!(
            verbose.ends_with(
                "\nBuild cache usage: 0B\n\nCACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n"
            ),
            "{verbose}"
        );
        let names = render(&df, "{{range .Volumes}}{{.Name}} {{end}}", true, now()).expect("renders");
        assert_eq!(names, "data old ");
    }
}
