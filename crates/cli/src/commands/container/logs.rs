//! `berth logs CONTAINER`: `GET /containers/{id}/logs`, demultiplexed to
//! stdout and stderr (copied raw when the container has a TTY, which is why
//! the container is inspected first, as docker does).

use api::StreamType;
use chrono::Local;

use super::{Invocation, path_segment};
use crate::cli::container::LogsArgs;
use crate::commands::events::get_timestamp;
use crate::context::Cli;
use crate::error::{CliError, Result};

pub async fn run(cli: &mut Cli<'_>, args: LogsArgs, inv: &Invocation) -> Result<()> {
    inv.require_exact(&args.containers, 1)?;
    let client = cli.client().await?.clone();
    let c: api::containers::ContainerInspect =
        client.get_json(&format!("/containers/{}/json", path_segment(&args.containers[0])), &[]).await?;

    let now = Local::now();
    let since = match args.since.as_str() {
        "" => None,
        s => Some(get_timestamp(s, now).map_err(CliError::Other)?),
    };
    let until = match args.until.as_str() {
        "" => None,
        u => Some(get_timestamp(u, now).map_err(CliError::Other)?),
    };
    let mut query = vec![("stdout", "1"), ("stderr", "1")];
    if let Some(s) = &since {
        query.push(("since", s));
    }
    if let Some(u) = &until {
        query.push(("until", u));
    }
    for (on, key) in [(args.timestamps, "timestamps"), (args.follow, "follow"), (args.details, "details")] {
        if on {
            query.push((key, "1"));
        }
    }
    query.push(("tail", &args.tail));

    let mut stream = client.get_stream(&format!("/containers/{}/logs", path_segment(&c.id)), &query).await?;
    if c.config.tty {
        while let Some(chunk) = stream.chunk().await {
            cli.out.write_all(&chunk?)?;
            cli.out.flush()?;
        }
        return Ok(());
    }
    while let Some(frame) = stream.next_frame().await? {
        match frame.stream {
            StreamType::Stdout => {
                cli.out.write_all(&frame.data)?;
                cli.out.flush()?;
            }
            StreamType::Stderr | StreamType::System => {
                cli.err.write_all(&frame.data)?;
                cli.err.flush()?;
            }
            StreamType::Stdin => {}
        }
    }
    Ok(())
}
