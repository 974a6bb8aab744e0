//! `berth rmi` / `berth image rm`: removes each image in turn and prints the
//! daemon's report (`Untagged: busybox:latest`, `Deleted: sha256:…`). Failures
//! are collected and printed together at the end with exit 1, except that
//! `-f` forgives images that do not exist (docker's rule).

use api::images::ImageDeleteItem;

use super::path_escape;
use crate::cli::RmiArgs;
use crate::context::Cli;
use crate::error::{CliError, Result};

/// The report lines of one removal.
pub fn report(items: &[ImageDeleteItem]) -> String {
    let mut out = String::new();
    for item in items {
        match (&item.deleted, &item.untagged) {
            (Some(d), _) if !d.is_empty() => out.push_str(&format!("Deleted: {d}\n")),
            (_, u) => out.push_str(&format!("Untagged: {}\n", u.as_deref().unwrap_or(""))),
        }
    }
    out
}

pub async fn run(cli: &mut Cli<'_>, args: RmiArgs) -> Result<()> {
    let client = cli.client().await?.clone();
    let mut query = Vec::new();
    if args.force {
        query.push(("force", "1"));
    }
    if args.no_prune {
        query.push(("noprune", "1"));
    }
    let mut errors = Vec::new();
    let mut fatal = false;
    for name in &args.images {
        match client.delete(&format!("/images/{}", path_escape(name)), &query, None).await {
            Ok(resp) => {
                let items: Vec<ImageDeleteItem> = resp.json()?;
                cli.out.write_all(report(&items).as_bytes())?;
            }
            Err(e) => {
                fatal |= !e.is_not_found();
                errors.push(CliError::from(e).to_string());
            }
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    let message = errors.join("\n");
    if !args.force || fatal {
        return Err(CliError::Other(message));
    }
    writeln!(cli.err, "{message}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_the_daemon_s_report() {
        let items: Vec<ImageDeleteItem> = serde_json::from_str(
            r#"[{"Untagged":"busybox:latest"},{"Untagged":"busybox@sha256:abcd"},{"Deleted":"sha256:16a597f27c2a"}]"#,
        )
        .expect("valid reply");
        assert_eq!(
            report(&items),
            "Untagged: busybox:latest\nUntagged: busybox@sha256:abcd\nDeleted: sha256:16a597f27c2a\n"
        );
        assert_eq!(report(&[]), "");
    }
}
