//! `berth system prune`: asks once (the prompt lists what will go and the
//! label and until filters), then prunes stopped containers, unused networks,
//! anonymous volumes (with `--volumes`), images and the build cache, in
//! docker's order, printing each kind's section as it comes and the total
//! space reclaimed last; a failure stops it there, as docker's.

use api::system::BuildCachePruneResponse;
use api::{Client, Filters};

use super::prune::{Pruned, confirm, request, total};
use crate::cli::SystemPruneArgs;
use crate::commands::network::list::natural_cmp;
use crate::commands::{container, image, network, volume};
use crate::context::Cli;
use crate::error::{CliError, Result};

const UNTIL_WITH_VOLUMES: &str = r#"ERROR: The "until" filter is not supported with "--volumes""#;

/// The prompt of `system prune`: what will go, in docker's order, and the
/// label and until filters that narrow it, naturally sorted.
pub fn warning(all: bool, volumes: bool, filters: &Filters) -> String {
    let mut text = String::from("WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n");
    if volumes {
        text.push_str("  - all anonymous volumes not used by at least one container\n");
    }
    text.push_str(if all {
        "  - all images without at least one container associated to them\n  - all build cache\n"
    } else {
        "  - all dangling images\n  - unused build cache\n"
    });
    let mut shown: Vec<String> = ["label", "label!", "until"]
        .iter()
        .flat_map(|name| filters.get(name).iter().map(move |v| format!("{name}={v}")))
        .collect();
    shown.sort_by(|a, b| natural_cmp(a, b));
    if !shown.is_empty() {
        text.push_str("\n  Items to be pruned will be filtered with:\n");
        for f in &shown {
            text.push_str(&format!("  - {f}\n"));
        }
    }
    text.push_str("\nAre you sure you want to continue?");
    text
}

/// `POST /build/prune`, as docker's client sends it (`filters` always, `all`
/// with `-a`). A daemon that builds nothing answers 404, where docker's CLI
/// fails the whole prune: here there is simply no build cache to remove.
async fn prune_build_cache(client: &Client, all: bool, filters: &Filters) -> Result<Pruned> {
    let json = if filters.is_empty() { String::new() } else { filters.to_json() };
    let mut query = vec![("filters", json.as_str())];
    if all {
        query.push(("all", "1"));
    }
    let report: BuildCachePruneResponse = match client.post("/build/prune", &query, None).await {
        Err(e) if e.is_not_found() => return Ok(Pruned::default()),
        reply => reply?.json()?,
    };
    let mut pruned = Pruned::listing("Deleted build cache objects:", report.caches_deleted, 0);
    // Unlike the other kinds, docker counts the cache's space whatever went.
    pruned.reclaimed = report.space_reclaimed;
    Ok(pruned)
}

/// Prints one kind's section and adds its space to the total.
fn show(out: &mut dyn std::io::Write, total: &mut u64, pruned: Pruned) -> Result<()> {
    *total += pruned.reclaimed;
    out.write_all(pruned.printed().as_bytes())?;
    Ok(())
}

/// `berth system prune [-a] [--volumes] [--filter k=v] [-f]`.
pub async fn run(cli: &mut Cli<'_>, args: SystemPruneArgs) -> Result<()> {
    let mut filters = Filters::new();
    for (name, value) in args.filter.iter().flatten() {
        filters.add(name.clone(), value.clone());
    }
    if args.volumes && filters.has("until") {
        return Err(CliError::Other(UNTIL_WITH_VOLUMES.into()));
    }
    let warning = warning(args.all, args.volumes, &filters);
    if !args.force && !confirm(cli.out, &mut std::io::stdin().lock(), &warning)? {
        return Ok(());
    }
    let client = cli.client().await?.clone();
    let mut reclaimed = 0;
    let containers = request(&client, "/containers/prune", &filters).await?;
    show(cli.out, &mut reclaimed, container::lifecycle::pruned(&containers))?;
    let networks = request(&client, "/networks/prune", &filters).await?;
    show(cli.out, &mut reclaimed, network::prune::pruned(&networks))?;
    if args.volumes {
        // Anonymous volumes only: docker sends no `all` filter from here, -a or not.
        let volumes = request(&client, "/volumes/prune", &filters).await?;
        show(cli.out, &mut reclaimed, volume::prune::pruned(&volumes))?;
    }
    let images = request(&client, "/images/prune", &image::prune::with_dangling(&filters, args.all)).await?;
    show(cli.out, &mut reclaimed, image::prune::pruned(&images))?;
    show(cli.out, &mut reclaimed, prune_build_cache(&client, args.all, &filters).await?)?;
    cli.out.write_all(total(reclaimed).as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_for_each_combination() {
        let none = Filters::new();
        assert_eq!(
            warning(false, false, &none),
            "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all dangling images\n  - unused build cache\n\nAre you sure you want to continue?"
        );
        assert_eq!(
            warning(true, true, &none),
            "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all anonymous volumes not used by at least one container\n  - all images without at least one container associated to them\n  - all build cache\n\nAre you sure you want to continue?"
        );
        // Only label, label! and until are shown; the others still filter.
        let filters = Filters::new().with("label", "b").with("label!", "x").with("until", "10h").with("dangling", "1");
        assert!(
            warning(false, false, &filters).ends_with(
                "  - unused build cache\n\n  Items to be pruned will be filtered with:\n  - label!=x\n  - label=b\n  - until=10h\n\nAre you sure you want to continue?"
            ),
            "{}",
            warning(false, false, &filters)
        );
        assert!(!warning(false, false, &Filters::new().with("dangling", "1")).contains("filtered"));
        let mut out = Vec::new();
        assert!(!confirm(&mut out, &mut &b"n\n"[..], "Sure?").expect("asks"));
        assert_eq!(out, b"Sure? [y/N] ");
        for yes in [&b"y\n"[..], b" Y \n"] {
            assert!(confirm(&mut Vec::new(), &mut &yes[..], "Sure?").expect("asks"));
        }
        for no in [&b""[..], b"yes\n"] {
            assert!(!confirm(&mut Vec::new(), &mut &no[..], "Sure?").expect("asks"));
        }
    }

    #[test]
    fn sections_and_totals() {
        let none = Pruned::listing("Deleted Volumes:", Vec::new(), 10);
        assert_eq!((none.printed(), none.reclaimed), (String::new(), 0));
        assert_eq!(none.report(), "Total reclaimed space: 0B\n");
        let some = Pruned::listing("Deleted Volumes:", vec!["a".into(), "b".into()], 3_072_000);
        assert_eq!(some.printed(), "Deleted Volumes:\na\nb\n\n");
        assert_eq!(some.report(), "Deleted Volumes:\na\nb\n\nTotal reclaimed space: 3.072MB\n");
    }
}
