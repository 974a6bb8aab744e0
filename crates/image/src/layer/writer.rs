//! File data written off the parsing thread. Applying a layer is mostly `write(2)`
//! into new files; the parser creates each file itself (every name in the target is
//! created, replaced and removed by the parser, in archive order), then hands the
//! open file, its data and its owner/mode/mtime to a small pool of writer threads.
//! A writer only ever touches the inode behind the fd it was given, so nothing it
//! does can race with the parser's namespace operations: a later entry replacing or
//! linking the same name acts on the name, exactly as if the write had happened
//! before. Errors are reported for the earliest entry that failed.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsFd;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{Scope, ScopedJoinHandle};

use nix::sys::stat::Mode;
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid};

use super::apply::entry_err;
use super::{Error, Result};

/// Files larger than this are written by the parser itself: a job holds its whole
/// data in memory.
pub(super) const MAX_JOB_BYTES: u64 = 1 << 20;
/// Jobs are handed over in batches (one wake-up per batch, not per file) of at most
/// this many files…
const BATCH_JOBS: usize = 64;
/// …or this many bytes.
const BATCH_BYTES: usize = 4 << 20;
/// Batches queued at most: with the one being filled and one per writer being
/// written, at most `(QUEUE + 1 + writers) × (BATCH_BYTES + MAX_JOB_BYTES)` bytes.
const QUEUE: usize = 4;

/// One file to finish: write `data`, then chown, chmod and set times, in the order
/// the inline path uses (chown clears setuid/setgid, so the mode comes after it).
pub(super) struct Job {
    /// Position in the archive, to report the earliest failure.
    pub seq: u64,
    pub file: File,
    pub data: Vec<u8>,
    /// Owner to set, unless the file was created with it.
    pub chown: Option<(u32, u32)>,
    /// Mode to set, unless the file was created with it.
    pub chmod: Option<u32>,
    pub mtime: TimeSpec,
    pub shown: String,
}

impl Job {
    fn run(mut self) -> Result<()> {
        self.file.write_all(&self.data).map_err(entry_err(&self.shown, "write file data"))?;
        let fd = self.file.as_fd();
        if let Some((uid, gid)) = self.chown {
            nix::unistd::fchown(fd, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
                .map_err(|e| entry_err(&self.shown, format!("chown {uid}:{gid}"))(e.into()))?;
        }
        if let Some(mode) = self.chmod {
            nix::sys::stat::fchmod(fd, Mode::from_bits_truncate(mode))
                .map_err(|e| entry_err(&self.shown, format!("chmod {mode:o}"))(e.into()))?;
        }
        nix::sys::stat::futimens(fd, &self.mtime, &self.mtime)
            .map_err(|e| entry_err(&self.shown, "set times")(e.into()))?;
        Ok(())
    }
}

type Failure = Option<(u64, Error)>;

/// The writer pool of one apply, living in the caller's thread scope.
pub(super) struct Writers<'scope> {
    tx: Option<SyncSender<Vec<Job>>>,
    handles: Vec<ScopedJoinHandle<'scope, Failure>>,
    batch: Vec<Job>,
    batch_bytes: usize,
}

impl<'scope> Writers<'scope> {
    pub(super) fn start<'env>(scope: &'scope Scope<'scope, 'env>, threads: usize) -> Writers<'scope> {
        let (tx, rx) = mpsc::sync_channel::<Vec<Job>>(QUEUE);
        let rx: Arc<Mutex<Receiver<Vec<Job>>>> = Arc::new(Mutex::new(rx));
        let handles = (0..threads.max(1))
            .map(|_| {
                let rx = rx.clone();
                scope.spawn(move || {
                    let mut first: Failure = None;
                    loop {
                        let batch = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        let Ok(batch) = batch else { return first };
                        for job in batch {
                            let seq = job.seq;
                            // After a failure the apply is lost: drain without writing.
                            if first.is_some() {
                                continue;
                            }
                            if let Err(e) = job.run() {
                                first = Some((seq, e));
                            }
                        }
                    }
                })
            })
            .collect();
        Writers { tx: Some(tx), handles, batch: Vec::new(), batch_bytes: 0 }
    }

    /// Queues a job (waits while the queue is full).
    pub(super) fn submit(&mut self, job: Job) -> Result<()> {
        self.batch_bytes += job.data.len();
        self.batch.push(job);
        if self.batch.len() >= BATCH_JOBS || self.batch_bytes >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        let gone = || Error::Io { op: "queue file data".into(), source: std::io::Error::other("the writer threads stopped") };
        self.tx.as_ref().ok_or_else(gone)?.send(batch).map_err(|_| gone())
    }

    /// Waits for every queued job; the earliest failure, if any.
    pub(super) fn finish(&mut self) -> Result<()> {
        let flushed = self.flush();
        self.tx = None;
        let mut first: Failure = None;
        for h in self.handles.drain(..) {
            let failure = match h.join() {
                Ok(f) => f,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            if let Some((seq, e)) = failure
                && first.as_ref().is_none_or(|(s, _)| seq < *s)
            {
                first = Some((seq, e));
            }
        }
        match first {
            Some((_, e)) => Err(e),
            None => flushed,
        }
    }
}
