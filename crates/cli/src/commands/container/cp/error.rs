//! What a copy can fail with before or besides the daemon, worded as docker
//! words it: its argument checks, Go's `*fs.PathError` (`lstat /x: no such
//! file or directory`) and bare errno texts, and the archive-copy errors of its
//! archive package.

use std::io;

use crate::format::gofmt::quote;

/// A path's bytes as a path, for messages.
fn as_path(p: &[u8]) -> &std::path::Path {
    use std::os::unix::ffi::OsStrExt;
    std::path::Path::new(std::ffi::OsStr::from_bytes(p))
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("source can not be empty")]
    EmptySource,
    #[error("destination can not be empty")]
    EmptyDestination,
    #[error("copying between containers is not supported")]
    BetweenContainers,
    #[error("must specify at least one container source")]
    NoContainer,
    #[error("invalid output path: directory {} does not exist", quoted(.0))]
    OutputParentMissing(Vec<u8>),
    #[error("invalid output path: {} must be a directory or a regular file: got a device", quoted(.0))]
    OutputDevice(Vec<u8>),
    /// A container destination that is no directory nor regular file.
    #[error("destination \"{container}:{path}\" must be a directory or a regular file: {problem}")]
    DestinationKind { container: String, path: String, problem: &'static str },
    /// Stdin's archive needs a directory to go into.
    #[error("destination \"{container}:{path}\" must be a directory")]
    DestinationNotDirectory { container: String, path: String },
    /// A failed call on a path: `open /x: permission denied`.
    #[error("{op} {}: {}", as_path(.path).display(), reason(.source))]
    Path { op: &'static str, path: Vec<u8>, source: io::Error },
    /// A failed call on two paths (Go's `*os.LinkError`): `symlink a /x/b: file exists`.
    #[error("{op} {} {}: {}", as_path(.old).display(), as_path(.new).display(), reason(.source))]
    Link { op: &'static str, old: Vec<u8>, new: Vec<u8>, source: io::Error },
    /// An error number alone: `not a directory`.
    #[error("{}", reason(.0))]
    Errno(io::Error),
    /// A failed extended attribute: `lsetxattr security.capability /x: operation not supported`.
    #[error("{op} {attr} {}: {}", as_path(.path).display(), reason(.source))]
    Xattr { op: &'static str, attr: String, path: Vec<u8>, source: io::Error },
    #[error("not a directory")]
    NotDirectory,
    #[error("no such directory")]
    DirNotExists,
    #[error("cannot copy directory")]
    CannotCopyDir,
    #[error("too many symlinks in {}", as_path(.0).display())]
    TooManySymlinks(Vec<u8>),
    #[error("EvalSymlinks: too many links")]
    TooManyLinks,
    /// An archive entry that would land outside the destination.
    #[error("{0}")]
    Breakout(String),
    #[error("cannot overwrite directory {} with non-directory {}", quoted(.path), quoted(.dest))]
    OverwriteDir { path: Vec<u8>, dest: Vec<u8> },
    #[error("cannot overwrite non-directory {} with directory {}", quoted(.path), quoted(.dest))]
    OverwriteNonDir { path: Vec<u8>, dest: Vec<u8> },
    #[error("unhandled tar header type {0}")]
    UnhandledType(u8),
    /// Reading the archive failed (a cut stream, a malformed header).
    #[error("{}", reason(.0))]
    Archive(io::Error),
}

impl Error {
    pub fn path(op: &'static str, path: &[u8], source: io::Error) -> Error {
        Error::Path { op, path: path.to_vec(), source }
    }

    /// The same failure from a system call made through rustix.
    pub fn at(op: &'static str, path: &[u8], errno: rustix::io::Errno) -> Error {
        Error::path(op, path, errno.into())
    }
}

/// Go's text for an error number: glibc's words with a lower-case first letter
/// (`no such file or directory`); other errors as they are.
pub fn reason(e: &io::Error) -> String {
    if e.raw_os_error().is_none() {
        return e.to_string();
    }
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A path in Go's `%q`.
pub fn quoted(path: &[u8]) -> String {
    quote(&String::from_utf8_lossy(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worded_as_go() {
        let e = Error::path("lstat", b"/x/y", io::Error::from_raw_os_error(libc::ENOENT));
        assert_eq!(e.to_string(), "lstat /x/y: no such file or directory");
        assert_eq!(Error::Errno(io::Error::from_raw_os_error(libc::ENOTDIR)).to_string(), "not a directory");
        let e = Error::OverwriteDir { path: b"/d/a.txt".to_vec(), dest: b"/d".to_vec() };
        assert_eq!(e.to_string(), r#"cannot overwrite directory "/d/a.txt" with non-directory "/d""#);
        assert_eq!(Error::UnhandledType(b'S').to_string(), "unhandled tar header type 83");
    }
}
