//! `berth pull` and `berth push`: the daemon's progress drawn as docker draws it (bars
//! updated in place on a terminal, plain lines otherwise), then the reference.

use std::io::IsTerminal;

use image::Reference;

use crate::cli::{PullArgs, PushArgs};
use crate::context::Cli;
use crate::error::{CliError, Result};
use crate::jsonmessage;

pub async fn pull(cli: &mut Cli<'_>, args: PullArgs) -> Result<()> {
    let reference = Reference::parse_named(&args.reference).map_err(|e| CliError::Other(e.to_string()))?;
    let explicit = reference.tag().is_some() || reference.digest().is_some();
    if args.all_tags && explicit {
        return Err(CliError::Other("tag can't be used with --all-tags/-a".into()));
    }
    let tag = match (reference.digest(), reference.tag()) {
        (Some(d), _) => d.to_string(),
        (None, Some(t)) => t.to_string(),
        (None, None) if args.all_tags => String::new(),
        (None, None) => {
            if !args.quiet {
                writeln!(cli.out, "Using default tag: {}", image::reference::DEFAULT_TAG)?;
            }
            image::reference::DEFAULT_TAG.to_string()
        }
    };
    let repository = reference.repository();
    let mut query = vec![("fromImage", repository.as_str()), ("tag", tag.as_str())];
    if let Some(p) = args.platform.as_deref().filter(|p| !p.is_empty()) {
        query.push(("platform", p));
    }
    let mut stream = cli.client().await?.post_stream("/images/create", &query, None).await?;
    show(cli, &mut stream, args.quiet).await?;
    let shown = match (args.all_tags, tag.as_str()) {
        (true, _) => repository,
        (false, t) if t.contains(':') => format!("{repository}@{t}"),
        (false, t) => format!("{repository}:{t}"),
    };
    writeln!(cli.out, "{shown}")?;
    Ok(())
}

pub async fn push(cli: &mut Cli<'_>, args: PushArgs) -> Result<()> {
    let reference = Reference::parse_named(&args.reference).map_err(|e| CliError::Other(e.to_string()))?;
    if args.all_tags && reference.tag().is_some() {
        return Err(CliError::Other("tag can't be used with --all-tags/-a".into()));
    }
    if reference.digest().is_some() {
        return Err(CliError::Other("cannot push a digest reference".into()));
    }
    let tag = match (args.all_tags, reference.tag()) {
        (true, _) => String::new(),
        (false, Some(t)) => t.to_string(),
        (false, None) => {
            if !args.quiet {
                writeln!(cli.out, "Using default tag: {}", image::reference::DEFAULT_TAG)?;
            }
            image::reference::DEFAULT_TAG.to_string()
        }
    };
    let repository = reference.repository();
    let path = format!("/images/{}/push", super::path_escape(&repository));
    let mut stream = cli.client().await?.post_stream(&path, &[("tag", tag.as_str())], None).await?;
    show(cli, &mut stream, args.quiet).await?;
    if args.quiet {
        writeln!(cli.out, "{}", if tag.is_empty() { repository } else { format!("{repository}:{tag}") })?;
    }
    Ok(())
}

/// The reply drawn: bars in place on a terminal, lines otherwise, nothing but errors
/// when quiet.
async fn show(cli: &mut Cli<'_>, stream: &mut api::ResponseStream, quiet: bool) -> Result<()> {
    if quiet {
        return jsonmessage::display_stream(stream, &mut std::io::sink()).await;
    }
    if std::io::stdout().is_terminal() {
        jsonmessage::display_stream_terminal(stream, cli.out).await
    } else {
        jsonmessage::display_stream(stream, cli.out).await
    }
}
