//! `berth image prune`: removes dangling images (`-a`: every image no
//! container uses) after docker's confirmation prompt (skipped by `-f`), then
//! prints what went (`Deleted Images:` with `untagged:`/`deleted:` lines) and
//! `Total reclaimed space: …`. Answering anything but `y` ends quietly, as
//! docker does.

use std::io::BufRead;

use api::Filters;
use api::images::ImagePruneResponse;

use crate::cli::ImagePruneArgs;
use crate::context::Cli;
use crate::error::Result;
use crate::format::humanize::human_size;

const DANGLING_WARNING: &str = "WARNING! This will remove all dangling images.\nAre you sure you want to continue?";
const ALL_WARNING: &str = "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?";

/// Docker's `PromptForConfirmation`: prints `message [y/N] ` and reads one
/// line; only `y` or `Y` confirms (end of input declines).
pub fn confirm(out: &mut dyn std::io::Write, input: &mut dyn BufRead, message: &str) -> Result<bool> {
    write!(out, "{message} [y/N] ")?;
    out.flush()?;
    let mut answer = String::new();
    input.read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y"))
}

/// What prune prints for the daemon's report.
pub fn report(r: &ImagePruneResponse) -> String {
    let mut out = String::new();
    if !r.images_deleted.is_empty() {
        out.push_str("Deleted Images:\n");
        for item in &r.images_deleted {
            match (&item.untagged, &item.deleted) {
                (Some(u), _) if !u.is_empty() => out.push_str(&format!("untagged: {u}\n")),
                (_, d) => out.push_str(&format!("deleted: {}\n", d.as_deref().unwrap_or(""))),
            }
        }
        out.push('\n');
    }
    out.push_str(&format!("Total reclaimed space: {}\n", human_size(r.space_reclaimed as f64)));
    out
}

pub async fn run(cli: &mut Cli<'_>, args: ImagePruneArgs) -> Result<()> {
    let mut filters = Filters::new();
    for (k, v) in &args.filter {
        filters.add(k.clone(), v.clone());
    }
    filters.add("dangling", (!args.all).to_string());
    if !args.force {
        let warning = if args.all { ALL_WARNING } else { DANGLING_WARNING };
        if !confirm(cli.out, &mut std::io::stdin().lock(), warning)? {
            return Ok(());
        }
    }
    let filters = filters.to_json();
    let resp: ImagePruneResponse =
        cli.client().await?.post("/images/prune", &[("filters", &filters)], None).await?.json()?;
    cli.out.write_all(report(&resp).as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_and_report() {
        let mut out = Vec::new();
        assert!(confirm(&mut out, &mut &b"y\n"[..], DANGLING_WARNING).expect("asks"));
        assert_eq!(
            String::from_utf8_lossy(&out),
            "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] "
        );
        for no in [&b"n\n"[..], b"", b"yes\n"] {
            assert!(!confirm(&mut Vec::new(), &mut &no[..], ALL_WARNING).expect("asks"));
        }
        assert_eq!(report(&ImagePruneResponse::default()), "Total reclaimed space: 0B\n");
        let r: ImagePruneResponse = serde_json::from_str(
            r#"{"ImagesDeleted":[{"Untagged":"busybox:latest"},{"Deleted":"sha256:16a5"}],"SpaceReclaimed":2132480}"#,
        )
        .expect("valid reply");
        assert_eq!(
            report(&r),
            "Deleted Images:\nuntagged: busybox:latest\ndeleted: sha256:16a5\n\nTotal reclaimed space: 2.132MB\n"
        );
    }
}
