//! Replacing a file atomically: the bytes go to a temporary file beside it, which is
//! renamed over the old one, so a reader (or a process killed mid-write) sees the old
//! content or the new, never a mix. Every record berth keeps is written this way.
//!
//! [`Durability`] says whether the change must also survive a power loss: then the
//! temporary file is fsynced before the rename and the directory after it. State
//! under a tmpfs run directory (which a reboot empties anyway) skips both.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Whether a write must survive a power loss, or only a crash of the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync of the file before the rename and of its directory after it.
    Durable,
    /// No fsync: the new content outlives a process crash in the page cache.
    Volatile,
}

/// Replaces `path` with `bytes` (mode 0644 for a new file), atomically. An error names
/// the step that failed; the caller adds which file.
pub fn write(path: &Path, bytes: &[u8], durability: Durability) -> io::Result<()> {
    write_mode(path, bytes, 0o644, durability)
}

/// [`write`] with the permission bits the file gets (before the umask).
pub fn write_mode(path: &Path, bytes: &[u8], mode: u32, durability: Durability) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = temp_path(dir, path);
    let step = |what: &'static str| move |e: io::Error| io::Error::new(e.kind(), format!("{what}: {e}"));
    let result = (|| {
        let open = || OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp);
        let mut f = match open() {
            // Left by a writer that crashed under the same pid (a reused one).
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                fs::remove_file(&tmp).map_err(step("remove a stale temporary file"))?;
                open()
            }
            other => other,
        }
        .map_err(step("create a temporary file"))?;
        f.write_all(bytes).map_err(step("write"))?;
        if durability == Durability::Durable {
            f.sync_all().map_err(step("fsync"))?;
        }
        drop(f);
        fs::rename(&tmp, path).map_err(step("rename into place"))
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if durability == Durability::Durable {
        sync_dir(dir)?;
    }
    Ok(())
}

/// fsync of a directory: makes the creations, renames and removals in it durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io::Error::new(e.kind(), format!("fsync of the directory: {e}")))
}

/// A name beside `path`, unique among the writers of this process and of others (pid
/// and sequence), hidden (a leading dot) so that directory scans skip it.
fn temp_path(dir: &Path, path: &Path) -> PathBuf {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_write_replaces_the_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("record.json");
        for durability in [Durability::Durable, Durability::Volatile] {
            write(&path, b"a much longer first content", durability).unwrap();
            write(&path, b"short", durability).unwrap();
            assert_eq!(fs::read(&path).unwrap(), b"short");
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn the_mode_is_the_one_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_mode(&path, b"{}", 0o600, Durability::Volatile).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_failed_write_names_the_file_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a non-empty directory: the rename fails.
        let path = dir.path().join("busy");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("inside"), b"x").unwrap();
        let e = write(&path, b"new", Durability::Durable).unwrap_err();
        assert!(e.to_string().starts_with("rename into place: "), "{e}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn concurrent_writers_never_share_a_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared");
        std::thread::scope(|s| {
            for i in 0..8u8 {
                let path = &path;
                s.spawn(move || {
                    for _ in 0..50 {
                        write(path, &[i; 64], Durability::Volatile).unwrap();
                    }
                });
            }
        });
        let bytes = fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 64);
        assert!(bytes.iter().all(|b| *b == bytes[0]));
    }
}
