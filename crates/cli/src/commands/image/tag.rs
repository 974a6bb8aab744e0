//! `berth tag SOURCE TARGET`: checks both references here, as docker's client
//! does (`Error parsing reference: "A:b" is not a valid repository/tag: …`),
//! then asks the daemon to tag SOURCE as the normalised TARGET (`latest` when
//! it names no tag).

use image::Reference;

use super::path_escape;
use crate::cli::TagArgs;
use crate::context::Cli;
use crate::error::{CliError, Result};
use crate::format::gofmt::quote;

/// The `repo` and `tag` query of a tag request for `target`.
pub fn tag_query(source: &str, target: &str) -> Result<(String, String)> {
    let invalid = |r: &str, e: image::reference::Error| {
        CliError::Other(format!("Error parsing reference: {} is not a valid repository/tag: {e}", quote(r)))
    };
    // A full image id is a valid source, not a name.
    let is_id = source.strip_prefix("sha256:").unwrap_or(source).len() == 64
        && source.strip_prefix("sha256:").unwrap_or(source).bytes().all(|b| b.is_ascii_hexdigit());
    if !is_id {
        Reference::parse_named(source).map_err(|e| invalid(source, e))?;
    }
    let target_ref = Reference::parse_named(target).map_err(|e| invalid(target, e))?;
    if target_ref.digest().is_some() {
        return Err(CliError::Other("refusing to create a tag with a digest reference".into()));
    }
    Ok((target_ref.repository(), target_ref.tag().unwrap_or(image::reference::DEFAULT_TAG).to_string()))
}

pub async fn run(cli: &mut Cli<'_>, args: TagArgs) -> Result<()> {
    let (repo, tag) = tag_query(&args.source, &args.target)?;
    let path = format!("/images/{}/tag", path_escape(&args.source));
    cli.client().await?.post(&path, &[("repo", &repo), ("tag", &tag)], None).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_checked_and_normalised() {
        assert_eq!(
            tag_query("busybox", "mine/bb").expect("valid"),
            ("docker.io/mine/bb".to_string(), "latest".to_string())
        );
        assert_eq!(
            tag_query("16a597f27c2a", "localhost:5000/x:1").expect("valid"),
            ("localhost:5000/x".to_string(), "1".to_string())
        );
        let id = "16a597f27c2abe13536cc851d191b978048e326f39c645afb93976d9b53ce6bd";
        assert!(tag_query(id, "x").is_ok());
        assert_eq!(
            tag_query("busybox", "A:b").expect_err("uppercase").to_string(),
            "Error parsing reference: \"A:b\" is not a valid repository/tag: invalid reference format: repository name (library/A) must be lowercase"
        );
        let digest = format!("busybox@sha256:{id}");
        assert_eq!(
            tag_query("busybox", &digest).expect_err("digest").to_string(),
            "refusing to create a tag with a digest reference"
        );
    }
}
