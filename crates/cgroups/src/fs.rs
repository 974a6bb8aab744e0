//! File-system primitives for cgroup trees: reading and writing interface
//! files, creating and removing cgroup directories, walking a subtree for
//! its processes and polling a state file. Every error carries its path.

use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::statfs::{CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, statfs};

use crate::{Error, Result};

pub(crate) fn io_err(op: &'static str, path: &Path, source: io::Error) -> Error {
    Error::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Reads a whole file.
pub(crate) fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| io_err("read", path, e))
}

/// Reads a whole file; `None` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("read", path, e)),
    }
}

/// Parses a decimal `u64`, naming `path` on failure.
pub(crate) fn parse_u64(path: &Path, text: &str, what: &'static str) -> Result<u64> {
    text.trim().parse().map_err(|_| Error::Parse {
        path: path.to_path_buf(),
        what,
        content: text.to_string(),
    })
}

/// Reads a file holding a single unsigned integer.
pub(crate) fn read_u64(path: &Path) -> Result<u64> {
    let text = read(path)?;
    parse_u64(path, &text, "an unsigned integer")
}

/// Reads a file holding a single unsigned integer or `max`; `max` is `None`.
pub(crate) fn read_u64_or_max(path: &Path) -> Result<Option<u64>> {
    let text = read(path)?;
    if text.trim() == "max" {
        return Ok(None);
    }
    parse_u64(path, &text, "an unsigned integer or \"max\"").map(Some)
}

/// Writes `value` to a cgroup file that must already exist.
///
/// Used for cgroup v1, where the kernel creates every interface file a
/// controller supports when the directory is made: a missing file means the
/// kernel lacks that knob, and must not be papered over by creating a
/// regular file (cgroupfs refuses that anyway). `O_TRUNC` is ignored by
/// cgroupfs (runc opens with it too); on a fake tree in a plain directory it
/// makes each write replace the value, as the kernel's files behave.
pub(crate) fn write_existing(path: &Path, value: &str) -> Result<()> {
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(|e| write_err(path, value, e))
}

/// Writes `value` with `O_CREAT | O_TRUNC`.
///
/// Used for cgroup v2. On cgroupfs the kernel ignores both flags for
/// existing files (and fails with `EACCES` for missing ones, as kernfs has
/// no create operation), while on a fake tree in a plain directory the file
/// is created, so the same code runs against both.
pub(crate) fn write_create(path: &Path, value: &str) -> Result<()> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(|e| write_err(path, value, e))
}

fn write_err(path: &Path, value: &str, source: io::Error) -> Error {
    let parent_exists = path.parent().is_some_and(Path::exists);
    if matches!(
        source.kind(),
        ErrorKind::NotFound | ErrorKind::PermissionDenied
    ) && parent_exists
        && !path.exists()
    {
        return Error::MissingKnob {
            path: path.to_path_buf(),
        };
    }
    Error::Write {
        path: path.to_path_buf(),
        value: value.to_string(),
        source,
    }
}

/// True when `err` is a rejected write that failed with `errno`.
pub(crate) fn is_write_errno(err: &Error, errno: i32) -> bool {
    matches!(err, Error::Write { source, .. } if source.raw_os_error() == Some(errno))
}

/// Creates one directory; an existing directory is fine.
pub(crate) fn mkdir(path: &Path) -> Result<()> {
    match fs::create_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        Err(e) => Err(io_err("create cgroup directory", path, e)),
    }
}

/// Creates a directory and its missing parents.
pub(crate) fn mkdir_all(path: &Path) -> Result<()> {
    fs::create_dir_all(path).map_err(|e| io_err("create cgroup directory", path, e))
}

/// What kind of file system a path lies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FsKind {
    /// A cgroup v1 hierarchy (`CGROUP_SUPER_MAGIC`).
    Cgroup1,
    /// The cgroup v2 hierarchy (`CGROUP2_SUPER_MAGIC`).
    Cgroup2,
    /// Anything else: a fake tree in a plain directory.
    Other,
}

/// The file system `path` lies on, by its `statfs` magic. `None` when the
/// path does not exist.
pub(crate) fn fs_kind(path: &Path) -> Result<Option<FsKind>> {
    match statfs(path) {
        Ok(st) => {
            let t = st.filesystem_type();
            Ok(Some(if t == CGROUP_SUPER_MAGIC {
                FsKind::Cgroup1
            } else if t == CGROUP2_SUPER_MAGIC {
                FsKind::Cgroup2
            } else {
                FsKind::Other
            }))
        }
        Err(nix::errno::Errno::ENOENT) => Ok(None),
        Err(e) => Err(io_err("statfs", path, e.into())),
    }
}

/// Whether `path` lies on a real cgroup (v1 or v2) file system. `None` when
/// the path does not exist.
pub(crate) fn on_cgroupfs(path: &Path) -> Result<Option<bool>> {
    Ok(fs_kind(path)?.map(|kind| kind != FsKind::Other))
}

/// Removes a cgroup directory and every child cgroup below it, deepest
/// first. A directory that is already gone is not an error.
///
/// On cgroupfs only `rmdir` works (the interface files cannot be unlinked
/// and vanish with the directory). `rmdir` fails with `EBUSY` while the
/// kernel still accounts a dying task to the cgroup, which happens for a
/// short while after the last process exited, so it is retried briefly.
/// On a fake tree (a plain directory used by tests) the files are regular
/// files, and the directory is removed recursively instead.
pub(crate) fn remove_cgroup_dir(dir: &Path) -> Result<()> {
    match on_cgroupfs(dir)? {
        None => Ok(()),
        Some(true) => remove_cgroup_tree(dir),
        Some(false) => match fs::remove_dir_all(dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("remove directory", dir, e)),
        },
    }
}

fn remove_cgroup_tree(dir: &Path) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("list", dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| io_err("list", dir, e))?;
        let is_dir = entry
            .file_type()
            .map_err(|e| io_err("stat", &entry.path(), e))?
            .is_dir();
        if is_dir {
            remove_cgroup_tree(&entry.path())?;
        }
    }
    // 10 + 20 + ... + 320 ms: about 0.6 s in all.
    let mut delay = Duration::from_millis(10);
    let mut retries = 6;
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && retries > 0 => {
                retries -= 1;
                sleep(delay);
                delay *= 2;
            }
            Err(e) => return Err(io_err("remove cgroup directory", dir, e)),
        }
    }
}

/// Adds the pids listed in `cgroup.procs` of `dir` and of every cgroup below
/// it to `out`. Directories that vanish during the walk are skipped.
pub(crate) fn collect_procs(dir: &Path, out: &mut BTreeSet<i32>) -> Result<()> {
    let procs = dir.join("cgroup.procs");
    if let Some(content) = read_optional(&procs)? {
        for line in content.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let pid = line.parse().map_err(|_| Error::Parse {
                path: procs.clone(),
                what: "a process id",
                content: line.to_string(),
            })?;
            out.insert(pid);
        }
    }
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("list", dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| io_err("list", dir, e))?;
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            collect_procs(&entry.path(), out)?;
        }
    }
    Ok(())
}

/// Calls `reached` until it returns true or `timeout` passes, sleeping a
/// little longer each round (1 ms doubling up to 50 ms).
pub(crate) fn wait_until(
    path: &Path,
    state: &'static str,
    timeout: Duration,
    mut reached: impl FnMut() -> Result<bool>,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut delay = Duration::from_millis(1);
    loop {
        if reached()? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                path: path.to_path_buf(),
                state,
                timeout,
            });
        }
        sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(50));
    }
}

/// Parses a "flat keyed" file (`key value` per line, as in `cpu.stat`,
/// `memory.events`, `cgroup.events`, `memory.oom_control`).
pub(crate) fn parse_flat_keyed(
    path: &Path,
    content: &str,
) -> Result<std::collections::BTreeMap<String, u64>> {
    let mut map = std::collections::BTreeMap::new();
    for line in content.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((key, value)) = line.split_once(char::is_whitespace) else {
            return Err(Error::Parse {
                path: path.to_path_buf(),
                what: "a \"key value\" line",
                content: line.to_string(),
            });
        };
        map.insert(key.to_string(), parse_u64(path, value, "a counter value")?);
    }
    Ok(map)
}
