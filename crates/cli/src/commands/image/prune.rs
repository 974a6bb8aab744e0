//! `berth image prune`: removes dangling images (`-a`: every image no
//! container uses) after docker's confirmation prompt (skipped by `-f`), then
//! prints what went (`Deleted Images:` with `untagged:`/`deleted:` lines) and
//! `Total reclaimed space: …`. Answering anything but `y` ends quietly, as
//! docker does.

use api::Filters;
use api::images::ImagePruneResponse;

use crate::cli::ImagePruneArgs;
use crate::commands::network::list::filters;
use crate::commands::prune::{Pruned, confirm, request};
use crate::context::Cli;
use crate::error::Result;

const DANGLING_WARNING: &str = "WARNING! This will remove all dangling images.\nAre you sure you want to continue?";
const ALL_WARNING: &str = "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?";

/// The user's filters and `dangling`, which docker always sends: `false`
/// for every unused image (`-a`), `true` for dangling ones only.
pub fn with_dangling(filters: &Filters, all: bool) -> Filters {
    filters.clone().with("dangling", (!all).to_string())
}

/// What the daemon's report prints: `untagged:` and `deleted:` lines.
pub fn pruned(r: &ImagePruneResponse) -> Pruned {
    let lines = r.images_deleted.iter().map(|item| match (&item.untagged, &item.deleted) {
        (Some(u), _) if !u.is_empty() => format!("untagged: {u}"),
        (_, d) => format!("deleted: {}", d.as_deref().unwrap_or("")),
    });
    Pruned::listing("Deleted Images:", lines, r.space_reclaimed)
}

pub async fn run(cli: &mut Cli<'_>, args: ImagePruneArgs) -> Result<()> {
    let filters = with_dangling(&filters(&args.filter), args.all);
    if !args.force {
        let warning = if args.all { ALL_WARNING } else { DANGLING_WARNING };
        if !confirm(cli.out, &mut std::io::stdin().lock(), warning)? {
            return Ok(());
        }
    }
    let report: ImagePruneResponse = request(cli.client().await?, "/images/prune", &filters).await?;
    cli.out.write_all(pruned(&report).report().as_bytes())?;
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
        assert_eq!(pruned(&ImagePruneResponse::default()).report(), "Total reclaimed space: 0B\n");
        let r: ImagePruneResponse = serde_json::from_str(
            r#"{"ImagesDeleted":[{"Untagged":"busybox:latest"},{"Deleted":"sha256:16a5"}],"SpaceReclaimed":2132480}"#,
        )
        .expect("valid reply");
        assert_eq!(
            pruned(&r).report(),
            "Deleted Images:\nuntagged: busybox:latest\ndeleted: sha256:16a5\n\nTotal reclaimed space: 2.132MB\n"
        );
    }
}
