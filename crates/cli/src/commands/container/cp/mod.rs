//! `berth cp` (`berth container cp`): files between a container and the local
//! filesystem through the archive endpoints, with docker's argument rules,
//! destination rules, messages and exit statuses.
//!
//! - container → local: `GET /containers/{id}/archive` (after a `HEAD` for
//!   `-L`), the tar extracted under the destination ([`unpack`]) or written
//!   to stdout for `-`;
//! - local → container: a `HEAD` of the destination (a symlink followed once),
//!   the source packed as a tar while it is sent ([`pack`]), `PUT` to the
//!   directory that gives the copy its name ([`copyinfo`]); stdin as it is for `-`.
//!
//! Unless quiet (the default when stdout is no terminal), a summary goes to
//! stderr: `Successfully copied 2.05kB to /abs/dest`, the tar bytes moved. No
//! live progress line is drawn: docker 28 means to on a terminal stderr but
//! never does (it tests its stderr wrapper, which is no file, for a terminal).

mod copyinfo;
mod error;
mod gopath;
mod pack;
mod unpack;

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use api::client::Body;
use api::containers::PathStat;
use bytes::Bytes;

use self::copyinfo::{CopyInfo, Rename, destination_info, prepare, source_info};
use self::gopath::{as_path, clean, dir, is_abs, join, rebase_name, resolve_local_path, split_path_dir_entry};
use super::{Invocation, path_segment, terminal};
use crate::cli::container::CpArgs;
use crate::context::Cli;
use crate::error::{CliError, Result};
use crate::format::humanize::human_size_with_precision;

pub use self::error::Error as CopyError;

/// What the flags asked for.
struct Options {
    follow_link: bool,
    copy_uid_gid: bool,
    quiet: bool,
}

pub async fn run(cli: &mut Cli<'_>, args: CpArgs, inv: &Invocation) -> Result<()> {
    inv.require_exact(&args.paths, 2)?;
    let (source, destination) = (&args.paths[0], &args.paths[1]);
    if source.is_empty() {
        return Err(CopyError::EmptySource.into());
    }
    if destination.is_empty() {
        return Err(CopyError::EmptyDestination.into());
    }
    let opts = Options {
        follow_link: args.follow_link.unwrap_or(false),
        copy_uid_gid: args.archive.unwrap_or(false),
        quiet: args.quiet.unwrap_or_else(|| !terminal::stdout_is_terminal()),
    };
    match (split_cp_arg(source), split_cp_arg(destination)) {
        ((Some(container), src), (None, dst)) => from_container(cli, container, src, dst, &opts).await,
        ((None, src), (Some(container), dst)) => to_container(cli, container, src, dst, &opts).await,
        ((Some(_), _), (Some(_), _)) => Err(CopyError::BetweenContainers.into()),
        ((None, _), (None, _)) => Err(CopyError::NoContainer.into()),
    }
}

/// Docker's `splitCpArg`: `CONTAINER:PATH`, unless the argument is an absolute
/// path, has no `:`, or starts with `.` before it (`./file:name`). An empty
/// container name (`:path`) leaves a local `path`.
fn split_cp_arg(arg: &str) -> (Option<&str>, &str) {
    if arg.starts_with('/') {
        return (None, arg);
    }
    match arg.split_once(':') {
        Some((container, path)) if !container.starts_with('.') => ((!container.is_empty()).then_some(container), path),
        _ => (None, arg),
    }
}

fn archive_path(container: &str) -> String {
    format!("/containers/{}/archive", path_segment(container))
}

fn text(path: &[u8]) -> String {
    String::from_utf8_lossy(path).into_owned()
}

/// `HEAD /containers/{id}/archive`: what is at `path` in the container.
async fn stat_path(client: &api::Client, container: &str, path: &str) -> Result<PathStat, api::ClientError> {
    let resp = client.head(&archive_path(container), &[("path", path)], None).await?;
    Ok(resp.header(PathStat::HEADER).and_then(PathStat::decode).unwrap_or_default())
}

/// A symlink's target as docker takes it: relative ones from the link's directory.
fn link_target(stat: &PathStat, link: &[u8]) -> Vec<u8> {
    let target = stat.link_target.as_bytes();
    if is_abs(target) { target.to_vec() } else { join(&split_path_dir_entry(link).0, target) }
}

/// Docker's `ValidateOutputPathFileMode`, on the Go file mode the daemon reports.
fn file_mode_problem(mode: u32) -> Option<&'static str> {
    const MODE_IRREGULAR: u32 = 1 << 19;
    if mode & PathStat::MODE_DEVICE != 0 {
        Some("got a device")
    } else if mode & MODE_IRREGULAR != 0 {
        Some("got an irregular file")
    } else {
        None
    }
}

/// Docker's `ValidateOutputPath`: the parent must exist, and an existing
/// destination must be a directory or a regular file.
fn validate_output_path(path: &[u8]) -> Result<(), CopyError> {
    use std::os::unix::fs::FileTypeExt;
    let parent = dir(&clean(path));
    if parent != b"." && std::fs::metadata(as_path(&parent)).is_err_and(|e| e.kind() == io::ErrorKind::NotFound) {
        return Err(CopyError::OutputParentMissing(parent));
    }
    match std::fs::metadata(as_path(path)) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CopyError::path("stat", path, e)),
        Ok(m) if m.file_type().is_block_device() || m.file_type().is_char_device() => {
            Err(CopyError::OutputDevice(path.to_vec()))
        }
        Ok(_) => Ok(()),
    }
}

async fn from_container(cli: &mut Cli<'_>, container: &str, src: &str, dst: &str, opts: &Options) -> Result<()> {
    let dst = if dst == "-" { b"-".to_vec() } else { resolve_local_path(dst.as_bytes())? };
    validate_output_path(&dst)?;
    let client = cli.client().await?.clone();
    let mut src = src.as_bytes().to_vec();
    let mut rebase = None;
    if opts.follow_link
        && let Ok(stat) = stat_path(&client, container, &text(&src)).await
        && stat.is_symlink()
    {
        let (target, name) = rebase_name(&src, &link_target(&stat, &src));
        src = target;
        rebase = name;
    }
    let mut stream = client.get_stream(&archive_path(container), &[("path", &text(&src))]).await?;
    if dst == b"-" {
        while let Some(chunk) = stream.chunk().await {
            cli.out.write_all(&chunk?)?;
        }
        cli.out.flush()?;
        return Ok(());
    }
    let stat = stream.headers.get(PathStat::HEADER).and_then(|v| v.to_str().ok()).and_then(PathStat::decode);
    let source =
        CopyInfo { path: src.clone(), exists: true, is_dir: stat.is_some_and(|s| s.is_dir()), rebase_name: rebase };
    // The entries of a followed link are named after the link again.
    let renames: Vec<Rename> =
        source.rebase_name.iter().map(|name| Rename::new(&split_path_dir_entry(&src).1, name)).collect();

    let copied = Arc::new(AtomicU64::new(0));
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let reader = ChunkReader { rx, chunk: Bytes::new(), copied: copied.clone() };
    let target = dst.clone();
    let mut extraction = tokio::task::spawn_blocking(move || extract(reader, &source, renames, &target));
    // Fed until the stream ends or the extraction does (an error, early).
    let mut done = None;
    loop {
        tokio::select! {
            r = &mut extraction => {
                done = Some(r);
                break;
            }
            chunk = stream.chunk() => {
                let item = match chunk {
                    Some(Ok(bytes)) => Ok(bytes),
                    Some(Err(e)) => Err(io::Error::other(e.to_string())),
                    None => break,
                };
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    break;
                }
            }
        }
    }
    drop(tx);
    let result = match done {
        Some(r) => r,
        None => extraction.await,
    };
    if !opts.quiet {
        let size = human_size_with_precision(copied.load(Ordering::Relaxed) as f64, 3);
        writeln!(cli.err, "Successfully copied {size} to {}", text(&dst))?;
    }
    result.map_err(|e| CliError::Other(e.to_string()))??;
    Ok(())
}

/// Docker's `CopyTo`: where the archive goes locally, then its extraction.
fn extract(mut reader: ChunkReader, source: &CopyInfo, mut renames: Vec<Rename>, dst: &[u8]) -> Result<(), CopyError> {
    let dst = destination_info(dst)?;
    let (dir, rename) = prepare(source, &dst)?;
    renames.extend(rename);
    unpack::unpack(&mut reader, &dir, &renames)?;
    // Whatever follows the end of the archive still counts as copied.
    let _ = io::copy(&mut reader, &mut io::sink());
    Ok(())
}

async fn to_container(cli: &mut Cli<'_>, container: &str, src: &str, dst: &str, opts: &Options) -> Result<()> {
    let src = if src == "-" { b"-".to_vec() } else { resolve_local_path(src.as_bytes())? };
    let client = cli.client().await?.clone();
    // A destination that is a symlink is its target; one that cannot be stat'ed
    // is taken to be missing (its parent must exist).
    let mut destination = CopyInfo { path: dst.as_bytes().to_vec(), ..CopyInfo::default() };
    let mut stat = stat_path(&client, container, dst).await;
    if let Ok(s) = &stat
        && s.is_symlink()
    {
        destination.path = link_target(s, dst.as_bytes());
        stat = stat_path(&client, container, &text(&destination.path)).await;
    }
    if let Some(problem) = file_mode_problem(stat.as_ref().map_or(0, |s| s.mode)) {
        return Err(CopyError::DestinationKind { container: container.into(), path: dst.into(), problem }.into());
    }
    if let Ok(s) = &stat {
        destination.exists = true;
        destination.is_dir = s.is_dir();
    }

    let copied = Arc::new(AtomicU64::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    let (body, extract_to, packing) = if src == b"-" {
        if !destination.is_dir {
            return Err(CopyError::DestinationNotDirectory { container: container.into(), path: dst.into() }.into());
        }
        // Sent as it is (it may be compressed); not counted, as docker does not.
        (Body::reader("application/x-tar", io::stdin()), destination.path.clone(), None)
    } else {
        let source = source_info(&src, opts.follow_link)?;
        let (extract_to, rename) = prepare(&source, &destination)?;
        let (reader, writer) = io::pipe()?;
        let writer = UntilFinished { inner: writer, finished: finished.clone() };
        let packing = tokio::task::spawn_blocking(move || {
            let renames: Vec<Rename> = rename.into_iter().collect();
            let out = io::BufWriter::with_capacity(256 << 10, writer);
            pack::tar_resource(&source.path, source.rebase_name.as_deref(), &renames, out)
        });
        let reader = Counted { inner: reader, copied: copied.clone() };
        (Body::reader("application/x-tar", reader), extract_to, Some(packing))
    };

    let mut query = vec![("path", text(&extract_to)), ("noOverwriteDirNonDir", "true".to_string())];
    if opts.copy_uid_gid {
        query.push(("copyUIDGID", "true".to_string()));
    }
    let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let result = client.put(&archive_path(container), &query, Some(body)).await;
    // The daemon has answered: what it did not read is not packed.
    finished.store(true, Ordering::Relaxed);
    if let Some(packing) = packing
        && let Ok(problems) = packing.await
    {
        for problem in problems {
            log_error(cli.err, &problem);
        }
    }
    if !opts.quiet {
        let size = human_size_with_precision(copied.load(Ordering::Relaxed) as f64, 3);
        writeln!(cli.err, "Successfully copied {size} to {container}:{}", text(&destination.path))?;
    }
    result?;
    Ok(())
}

/// A file left out of the archive, reported the way docker logs it.
fn log_error(err: &mut dyn Write, message: &str) {
    let time = chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let _ = writeln!(err, "time=\"{time}\" level=error msg={}", crate::format::gofmt::quote(message));
}

/// The response body handed to the extraction thread, counted as it is read.
struct ChunkReader {
    rx: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    chunk: Bytes,
    copied: Arc<AtomicU64>,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(bytes)) => {
                    self.copied.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    self.chunk = bytes;
                }
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

/// The packer's output, refused once the daemon has answered (it stopped
/// reading early, or has it all), so that packing stops.
struct UntilFinished<W> {
    inner: W,
    finished: Arc<AtomicBool>,
}

impl<W: Write> Write for UntilFinished<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.finished.load(Ordering::Relaxed) {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The archive being sent, counted as the request reads it.
struct Counted<R> {
    inner: R,
    copied: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.copied.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_arguments_like_docker() {
        assert_eq!(split_cp_arg("c1:/etc/hosts"), (Some("c1"), "/etc/hosts"));
        assert_eq!(split_cp_arg("c1:"), (Some("c1"), ""));
        assert_eq!(split_cp_arg("/abs/with:colon"), (None, "/abs/with:colon"));
        assert_eq!(split_cp_arg("./file:name"), (None, "./file:name"));
        assert_eq!(split_cp_arg("plain"), (None, "plain"));
        assert_eq!(split_cp_arg("-"), (None, "-"));
        assert_eq!(split_cp_arg(":path"), (None, "path"));
        assert_eq!(split_cp_arg("a:b:c"), (Some("a"), "b:c"));
    }

    #[test]
    fn checks_file_modes_like_docker() {
        assert_eq!(file_mode_problem(0o644), None);
        assert_eq!(file_mode_problem(PathStat::MODE_DIR | 0o755), None);
        assert_eq!(file_mode_problem(PathStat::MODE_DEVICE | PathStat::MODE_CHAR_DEVICE | 0o666), Some("got a device"));
        assert_eq!(file_mode_problem(1 << 19), Some("got an irregular file"));
    }

    #[test]
    fn output_paths_like_docker() {
        let err = |p: &str| validate_output_path(p.as_bytes()).map_err(|e| e.to_string());
        assert_eq!(
            err("/nonexistent-dir/x"),
            Err("invalid output path: directory \"/nonexistent-dir\" does not exist".into())
        );
        assert_eq!(
            err("/dev/null"),
            Err("invalid output path: \"/dev/null\" must be a directory or a regular file: got a device".into())
        );
        assert_eq!(err("/tmp"), Ok(()));
        assert_eq!(err("-"), Ok(()));
    }
}
