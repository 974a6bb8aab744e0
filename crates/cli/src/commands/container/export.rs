//! `berth export CONTAINER`: the container's filesystem as a tar stream
//! (`GET /containers/{id}/export`), to stdout, never to a terminal, or to a
//! file with `-o` (written under a temporary name, then renamed into place,
//! mode 0600 as docker's atomic writer).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::{Invocation, path_segment, terminal};
use crate::cli::container::ExportArgs;
use crate::context::Cli;
use crate::error::{CliError, Result};

/// A file that appears at its path only once it is complete.
struct AtomicFile {
    tmp: PathBuf,
    dest: PathBuf,
    file: Option<std::fs::File>,
}

impl AtomicFile {
    fn create(dest: &Path) -> std::io::Result<AtomicFile> {
        let dir = dest.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        Ok(AtomicFile { tmp, dest: dest.to_path_buf(), file: Some(file) })
    }

    fn commit(mut self) -> std::io::Result<()> {
        if let Some(f) = self.file.take() {
            f.sync_all()?;
        }
        std::fs::rename(&self.tmp, &self.dest)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

pub async fn run(cli: &mut Cli<'_>, args: ExportArgs, inv: &Invocation) -> Result<()> {
    inv.require_exact(&args.containers, 1)?;
    let mut file = None;
    if args.output.is_empty() {
        if terminal::stdout_is_terminal() {
            return Err(CliError::Other(
                "cowardly refusing to save to a terminal. Use the -o flag or redirect".to_string(),
            ));
        }
    } else {
        let f = AtomicFile::create(Path::new(&args.output))
            .map_err(|e| CliError::Other(format!("failed to export container: {e}")))?;
        file = Some(f);
    }
    let client = cli.client().await?.clone();
    let mut stream =
        client.get_stream(&format!("/containers/{}/export", path_segment(&args.containers[0])), &[]).await?;
    while let Some(chunk) = stream.chunk().await {
        let chunk = chunk?;
        match file.as_mut().and_then(|f| f.file.as_mut()) {
            Some(f) => f.write_all(&chunk)?,
            None => cli.out.write_all(&chunk)?,
        }
    }
    match file {
        Some(f) => f.commit()?,
        None => cli.out.flush()?,
    }
    Ok(())
}
