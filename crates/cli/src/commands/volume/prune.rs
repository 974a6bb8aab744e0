//! `berth volume prune`: removes the volumes no container uses, anonymous
//! ones only unless `-a` (sent as the filter `all=true`, as docker sends it),
//! after docker's confirmation prompt (skipped by `-f`; anything but `y` ends
//! quietly with status 0, docker's cancellation), then lists them under
//! `Deleted Volumes:` and prints `Total reclaimed space: …`.

use api::Filters;
use api::volumes::VolumePruneResponse;

use crate::cli::volume::VolumePruneArgs;
use crate::commands::network::list::filters;
use crate::commands::prune::{Pruned, confirm, request};
use crate::context::Cli;
use crate::error::{CliError, Result};

const ANONYMOUS_WARNING: &str = "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?";
const ALL_WARNING: &str = "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?";

/// The prune filters and the warning for the command line; `--all` with an
/// `all` filter of the user's own is refused, in docker's words.
pub fn plan(args: &VolumePruneArgs) -> Result<(Filters, &'static str), String> {
    let mut filters = filters(&args.filter);
    if !args.all {
        return Ok((filters, ANONYMOUS_WARNING));
    }
    if !filters.get("all").is_empty() {
        return Err("conflicting options: cannot specify both --all and --filter all=1".to_string());
    }
    filters.add("all", "true");
    Ok((filters, ALL_WARNING))
}

/// What the daemon's report prints: the names of the volumes gone.
pub fn pruned(r: &VolumePruneResponse) -> Pruned {
    Pruned::listing("Deleted Volumes:", r.volumes_deleted.iter().cloned(), r.space_reclaimed)
}

pub async fn run(cli: &mut Cli<'_>, args: VolumePruneArgs) -> Result<()> {
    let (filters, warning) = plan(&args).map_err(CliError::Other)?;
    if !args.force && !confirm(cli.out, &mut std::io::stdin().lock(), warning)? {
        return Ok(());
    }
    let report: VolumePruneResponse = request(cli.client().await?, "/volumes/prune", &filters).await?;
    cli.out.write_all(pruned(&report).report().as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(all: bool, filter: &[(&str, &str)]) -> VolumePruneArgs {
        let filter = filter.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        VolumePruneArgs { all, filter, force: true }
    }

    #[test]
    fn filters_and_warnings() {
        let (f, warning) = plan(&args(false, &[])).expect("plans");
        assert!(f.is_empty());
        assert_eq!(warning, ANONYMOUS_WARNING);
        let (f, warning) = plan(&args(true, &[("label", "a=b")])).expect("plans");
        assert_eq!(f.to_json(), r#"{"all":{"true":true},"label":{"a=b":true}}"#);
        assert_eq!(warning, ALL_WARNING);
        // Without --all, the user's own `all` filter goes as it is.
        assert_eq!(plan(&args(false, &[("all", "1")])).expect("plans").0.to_json(), r#"{"all":{"1":true}}"#);
        assert_eq!(
            plan(&args(true, &[("all", "1")])).map(|p| p.1),
            Err("conflicting options: cannot specify both --all and --filter all=1".to_string())
        );
    }

    #[test]
    fn prompt_and_report() {
        let mut out = Vec::new();
        assert!(!confirm(&mut out, &mut &b"n\n"[..], ALL_WARNING).expect("asks"));
        assert_eq!(
            String::from_utf8_lossy(&out),
            "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] "
        );
        assert_eq!(pruned(&VolumePruneResponse::default()).report(), "Total reclaimed space: 0B\n");
        let r = VolumePruneResponse { volumes_deleted: vec!["a".into(), "b".into()], space_reclaimed: 3_072_000 };
        assert_eq!(pruned(&r).report(), "Deleted Volumes:\na\nb\n\nTotal reclaimed space: 3.072MB\n");
        let r = VolumePruneResponse { volumes_deleted: Vec::new(), space_reclaimed: 10 };
        assert_eq!(pruned(&r).report(), "Total reclaimed space: 0B\n");
    }
}
