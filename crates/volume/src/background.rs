//! What the store leaves to a thread of its own, so that a create or a removal
//! answers at the speed of a rename: the fsyncs that carry a new volume's record
//! through a power loss (batched: one directory sync for all the volumes made
//! meanwhile), and the deletion of a removed volume's files (it is gone for users
//! the moment it is renamed out of the way), or its emptying to be a spare
//! ([`crate::spares`]). A kill -9 loses nothing of either: the page cache holds the
//! record, `.gone-*` directories are deleted and `.spare-*` ones emptied at the next
//! open. After a power loss, a volume made in the last moments may be found without
//! its record; the next open repairs it ([`crate::Store::open`]).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use crate::spares::Spares;

pub(crate) enum Job {
    /// A new volume's record: it, its directory's entries and its name in the root.
    Sync(PathBuf),
    /// A volume made from a spare: its record (rewritten in place) and its name in
    /// the root; the spare's own entries were on the disk already.
    SyncRecord(PathBuf),
    /// A removed volume's directory, renamed out of the way.
    Delete(PathBuf),
    /// A removed volume's directory, renamed out of the way, to be a spare: deleted
    /// when it cannot be one.
    Recycle(PathBuf),
}

/// The queue and whether a thread is draining it.
pub(crate) struct Background {
    queue: Mutex<(Vec<Job>, bool)>,
    spares: Arc<Spares>,
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Background")
    }
}

impl Background {
    pub(crate) fn new(spares: Arc<Spares>) -> Background {
        Background { queue: Mutex::new((Vec::new(), false)), spares }
    }

    /// Queues `job` for the store rooted at `root`; starts a thread when none drains.
    pub(crate) fn push(self: &Arc<Self>, root: &std::path::Path, job: Job) {
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        q.0.push(job);
        if !q.1 {
            q.1 = true;
            let (me, owned) = (self.clone(), root.to_path_buf());
            let started = std::thread::Builder::new().name("berth-volumes".into()).spawn(move || me.drain(&owned));
            if started.is_err() {
                // No thread: done here, at the caller's pace.
                q.1 = false;
                let jobs = std::mem::take(&mut q.0);
                drop(q);
                run(root, &self.spares, jobs);
            }
        }
    }

    /// Waits until everything queued so far is done (tests, shutdown).
    pub(crate) fn settle(&self) {
        loop {
            if !self.queue.lock().unwrap_or_else(PoisonError::into_inner).1 {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    fn drain(&self, root: &std::path::Path) {
        loop {
            // Gathers what comes meanwhile: one root sync for a burst of creates.
            std::thread::sleep(GATHER);
            let jobs = {
                let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
                if q.0.is_empty() {
                    q.1 = false;
                    return;
                }
                std::mem::take(&mut q.0)
            };
            run(root, &self.spares, jobs);
        }
    }
}

/// How long a batch waits for more jobs before it syncs.
const GATHER: std::time::Duration = std::time::Duration::from_millis(20);

fn run(root: &std::path::Path, spares: &Spares, jobs: Vec<Job>) {
    // The volume's own files only (a syncfs would also write back whatever else the
    // filesystem holds dirty, a container's gigabytes included); one sync of the root
    // for the whole batch's names.
    for job in jobs {
        match job {
            Job::Sync(record) => {
                // Gone again already: nothing to keep.
                let _ = std::fs::File::open(&record).and_then(|f| f.sync_all());
                if let Some(dir) = record.parent() {
                    let _ = atomic_file::sync_dir(dir);
                }
            }
            Job::SyncRecord(record) => {
                let _ = std::fs::File::open(&record).and_then(|f| f.sync_all());
            }
            Job::Delete(dir) => {
                let _ = std::fs::remove_dir_all(&dir);
            }
            Job::Recycle(dir) => {
                if let Some(dir) = spares.recycle(dir) {
                    let _ = std::fs::remove_dir_all(&dir);
                }
            }
        }
    }
    let _ = atomic_file::sync_dir(root);
}
