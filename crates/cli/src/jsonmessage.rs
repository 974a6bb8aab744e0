//! Docker's JSON-message streams (the replies of load, import, pull, push and
//! build: one [`ProgressMessage`] per line) printed the way docker's
//! `jsonmessage.DisplayJSONMessagesStream` prints them when its output is not
//! a terminal: `stream` text as it is, `status` lines prefixed by their `id`,
//! progress-bar updates skipped, and the first `error` ending the command
//! (exit 1, its message on stderr) even though the HTTP status was 200.

use std::io::Write;

use api::ResponseStream;
use api::images::ProgressMessage;

use crate::error::{CliError, Result};

/// Whether a message is a progress-bar update (docker's `JSONProgress.String()`
/// is not empty), which docker leaves out when not on a terminal.
fn is_progress_update(m: &ProgressMessage) -> bool {
    m.progress_detail.as_ref().is_some_and(|p| p.current.unwrap_or(0) > 0 || p.total.unwrap_or(0) > 0)
}

/// Prints one message; an error message becomes the command's error.
pub fn display(m: &ProgressMessage, out: &mut dyn Write) -> Result<()> {
    if m.error.is_some() || m.error_detail.is_some() {
        let message = match &m.error_detail {
            Some(d) if !d.message.is_empty() => d.message.clone(),
            _ => m.error.clone().unwrap_or_default(),
        };
        return Err(CliError::Other(message));
    }
    if is_progress_update(m) {
        return Ok(());
    }
    if let Some(id) = m.id.as_deref().filter(|id| !id.is_empty()) {
        write!(out, "{id}: ")?;
    }
    let status = m.status.as_deref().unwrap_or("");
    match (m.progress.as_deref().filter(|p| !p.is_empty()), m.stream.as_deref().filter(|s| !s.is_empty())) {
        (Some(progress), _) => write!(out, "{status} {progress}")?,
        (None, Some(stream)) => write!(out, "{stream}")?,
        (None, None) => writeln!(out, "{status}")?,
    }
    Ok(())
}

/// Prints a whole reply: JSON messages one by one as they arrive (skipping
/// `aux` lines, which carry data rather than text), or, when the daemon did
/// not answer JSON, its body as it is.
pub async fn display_stream(stream: &mut ResponseStream, out: &mut dyn Write) -> Result<()> {
    let is_json = stream
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().unwrap_or("").trim() == "application/json");
    if !is_json {
        while let Some(chunk) = stream.chunk().await {
            out.write_all(&chunk?)?;
        }
        return Ok(());
    }
    while let Some(m) = stream.next_json::<ProgressMessage>().await? {
        if m.aux.is_some() && m.error.is_none() {
            continue;
        }
        display(&m, out)?;
        out.flush()?;
    }
    Ok(())
}

/// [`display_stream`] for a terminal, as docker draws it there: one line per id,
/// rewritten in place (the cursor moved up to it, the line cleared), progress bars
/// included; lines without an id go below.
pub async fn display_stream_terminal(stream: &mut ResponseStream, out: &mut dyn Write) -> Result<()> {
    let mut lines = InPlace::default();
    while let Some(m) = stream.next_json::<ProgressMessage>().await? {
        if m.aux.is_some() && m.error.is_none() {
            continue;
        }
        lines.show(&m, out)?;
        out.flush()?;
    }
    Ok(())
}

/// The ids shown so far, in the order of their lines.
#[derive(Default)]
struct InPlace {
    ids: Vec<String>,
}

impl InPlace {
    fn show(&mut self, m: &ProgressMessage, out: &mut dyn Write) -> Result<()> {
        if m.error.is_some() || m.error_detail.is_some() {
            return display(m, out);
        }
        let status = m.status.as_deref().unwrap_or("");
        let Some(id) = m.id.as_deref().filter(|id| !id.is_empty()) else {
            if let Some(stream) = m.stream.as_deref().filter(|s| !s.is_empty()) {
                write!(out, "{stream}")?;
            } else {
                writeln!(out, "{status}")?;
            }
            // Lines below are no one's to rewrite.
            self.ids.clear();
            return Ok(());
        };
        let text = match m.progress.as_deref().filter(|p| !p.is_empty()) {
            Some(progress) => format!("{id}: {status} {progress}"),
            None => format!("{id}: {status}"),
        };
        match self.ids.iter().position(|known| known == id) {
            Some(i) => {
                let up = self.ids.len() - i;
                // Up to its line, cleared, written, and back down.
                write!(out, "\x1b[{up}A\x1b[2K\r{text}\x1b[{up}B\r")?;
            }
            None => {
                self.ids.push(id.to_string());
                writeln!(out, "{text}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::images::ProgressDetail;

    fn shown(lines: &[&str]) -> (String, Option<String>) {
        let mut out = Vec::new();
        let mut err = None;
        for l in lines {
            let m: ProgressMessage = serde_json::from_str(l).expect("valid message");
            if let Err(e) = display(&m, &mut out) {
                err = Some(e.to_string());
                break;
            }
        }
        (String::from_utf8(out).expect("utf-8"), err)
    }

    #[test]
    fn on_a_terminal_each_id_keeps_its_line() {
        let mut lines = InPlace::default();
        let mut out = Vec::new();
        for raw in [
            r#"{"status":"Pulling from bb","id":"latest"}"#,
            r#"{"status":"Pulling fs layer","id":"aaa","progressDetail":{}}"#,
            r#"{"status":"Pulling fs layer","id":"bbb","progressDetail":{}}"#,
            r#"{"status":"Downloading","id":"aaa","progressDetail":{"current":1,"total":2},"progress":"[=>]"}"#,
            r#"{"status":"Digest: sha256:x"}"#,
        ] {
            lines.show(&serde_json::from_str(raw).unwrap(), &mut out).unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "latest: Pulling from bb\naaa: Pulling fs layer\nbbb: Pulling fs layer\n\x1b[2A\x1b[2K\raaa: Downloading [=>]\x1b[2B\rDigest: sha256:x\n"
        );
    }

    #[test]
    fn prints_like_docker_without_a_terminal() {
        let (out, err) = shown(&[
            r#"{"stream":"Loaded image: busybox:latest\n"}"#,
            r#"{"status":"sha256:16a597f27c2a"}"#,
            r#"{"status":"Loading layer","id":"670fd9899552","progressDetail":{"current":512,"total":2048},"progress":"[==>  ]"}"#,
            r#"{"status":"Pull complete","id":"670fd9899552","progressDetail":{}}"#,
            r#"{"status":"Extracting","progress":"1 MB"}"#,
        ]);
        assert_eq!(
            out,
            "Loaded image: busybox:latest\nsha256:16a597f27c2a\n670fd9899552: Pull complete\nExtracting 1 MB"
        );
        assert_eq!(err, None);
    }

    #[test]
    fn an_error_message_ends_the_stream() {
        let (out, err) = shown(&[
            r#"{"stream":"one\n"}"#,
            r#"{"errorDetail":{"message":"unexpected EOF"},"error":"unexpected EOF"}"#,
            r#"{"stream":"never\n"}"#,
        ]);
        assert_eq!((out.as_str(), err.as_deref()), ("one\n", Some("unexpected EOF")));
        let m = ProgressMessage::error("bad archive");
        assert_eq!(display(&m, &mut Vec::new()).expect_err("fails").to_string(), "bad archive");
        let quiet = ProgressMessage {
            progress_detail: Some(ProgressDetail { current: Some(0), total: Some(0) }),
            ..ProgressMessage::status("Waiting", Some("abc"))
        };
        let mut out = Vec::new();
        display(&quiet, &mut out).expect("prints");
        assert_eq!(out, b"abc: Waiting\n");
    }
}
