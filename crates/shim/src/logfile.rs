//! The json-file log on disk and its size-based rotation, as Docker's json-file
//! driver does it: before a record is written, a file that has reached `max_size` is
//! rotated (`L.(n-2)` → `L.(n-1)`, …, `L` → `L.1`, keeping `max_files` files in all, or
//! truncated when `max_files` is 1), so a file exceeds the limit by one record at most.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Size limit of a rotating log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    pub max_size: u64,
    /// Files kept, the current one included; at least 1.
    pub max_files: u32,
}

pub struct LogFile {
    path: PathBuf,
    file: File,
    size: u64,
    rotation: Option<Rotation>,
}

impl LogFile {
    /// Opens (appending to) or creates the log, mode 0640.
    pub fn open(path: &Path, rotation: Option<Rotation>) -> Result<LogFile> {
        let file = open_append(path)?;
        let size = file.metadata().map_err(Error::io(format!("stat {}", path.display())))?.len();
        Ok(LogFile { path: path.to_path_buf(), file, size, rotation })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one encoded record (a whole line), rotating first if the file is full.
    pub fn write_record(&mut self, record: &[u8]) -> Result<()> {
        if let Some(r) = self.rotation
            && self.size >= r.max_size
        {
            self.rotate(r.max_files)?;
        }
        self.file
            .write_all(record)
            .map_err(Error::io(format!("write {}", self.path.display())))?;
        self.size += record.len() as u64;
        Ok(())
    }

    fn rotate(&mut self, max_files: u32) -> Result<()> {
        if max_files <= 1 {
            self.file.set_len(0).map_err(Error::io(format!("truncate {}", self.path.display())))?;
            self.size = 0;
            return Ok(());
        }
        for i in (2..max_files).rev() {
            let from = rotated(&self.path, i - 1);
            match std::fs::rename(&from, rotated(&self.path, i)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io(format!("rotate {}", from.display()))(e));
                }
                _ => {}
            }
        }
        std::fs::rename(&self.path, rotated(&self.path, 1))
            .map_err(Error::io(format!("rotate {}", self.path.display())))?;
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

/// `L.n`, the n-th older file of the log at `L`.
pub fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

fn open_append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .map_err(Error::io(format!("open log {}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_by_size_keeping_max_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        let mut log = LogFile::open(&path, Some(Rotation { max_size: 5, max_files: 3 })).unwrap();
        for i in 0..5 {
            log.write_record(format!("record-{i}\n").as_bytes()).unwrap();
        }
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap();
        assert_eq!(read(path.clone()), "record-4\n");
        assert_eq!(read(rotated(&path, 1)), "record-3\n");
        assert_eq!(read(rotated(&path, 2)), "record-2\n");
        assert!(!rotated(&path, 3).exists());
    }

    #[test]
    fn one_file_is_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        let mut log = LogFile::open(&path, Some(Rotation { max_size: 4, max_files: 1 })).unwrap();
        log.write_record(b"aaaa\n").unwrap();
        log.write_record(b"bb\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "bb\n");
        assert!(!rotated(&path, 1).exists());
    }

    #[test]
    fn appends_to_an_existing_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        std::fs::write(&path, "old\n").unwrap();
        let mut log = LogFile::open(&path, None).unwrap();
        log.write_record(b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\nnew\n");
    }
}
