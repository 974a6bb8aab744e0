//! Extraction of a container's tar stream into a local directory, as docker's
//! `Untar` with `NoLchown` and `NoOverwriteDirNonDir`: files belong to the
//! invoking user, modes, times and xattrs are kept, an existing directory
//! is never replaced by a file nor a file by a directory, and a directory
//! entry merges into an existing one.
//!
//! The stream comes from a container and is treated as hostile: every path is
//! resolved under the destination with the destination as its root, one
//! element at a time from directory descriptors, never following a symlink
//! out of it, whoever made the link (the archive itself, earlier). An entry
//! naming `..` past the root, a symlink pointing out of it by `..`, or a hard
//! link to outside it is refused with docker's breakout errors.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::rc::Rc;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Timespec, Timestamps};
use rustix::io::Errno;

use super::copyinfo::{Rename, rename_all};
use super::error::{Error, quoted};
use super::gopath::{clean, dir, is_abs, join};

/// Symlinks followed while resolving one path before giving up (the kernel's
/// own limit is 40; Go's scoped resolution allows 255).
const MAX_LINKS: usize = 255;
const XATTR_PREFIX: &[u8] = b"SCHILY.xattr.";

/// Extracts `archive` into the directory `dest`, each entry's name rewritten
/// by `renames` first.
pub fn unpack(archive: impl Read, dest: &[u8], renames: &[Rename]) -> Result<(), Error> {
    let dest = clean(dest);
    let root = rustix::fs::open(&dest[..], OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| Error::at("open", &dest, e))?;
    let mut unpacker = Unpacker { root, dest, renames, parent: None, dirs: Vec::new() };
    let mut archive = tar::Archive::new(archive);
    for entry in archive.entries().map_err(Error::Archive)? {
        unpacker.entry(&mut entry.map_err(Error::Archive)?)?;
    }
    // Directories last: extracting into them changed their times.
    for (components, times) in std::mem::take(&mut unpacker.dirs) {
        let fd = unpacker.open_dir(&components, false)?;
        rustix::fs::futimens(&fd, &times.stamps())
            .map_err(|e| Error::at("chtimes", &unpacker.full_path(&components), e))?;
    }
    Ok(())
}

/// A time as the archive gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Time {
    secs: i64,
    nanos: u32,
}

impl Time {
    /// Go's `boundTime`: a time before 1970 or past what `utimensat` takes is the epoch.
    fn bounded(self) -> Time {
        const MAX_SECS: i64 = i64::MAX / 1_000_000_000;
        if self.secs < 0 || self.secs > MAX_SECS { Time { secs: 0, nanos: 0 } } else { self }
    }

    fn spec(self) -> Timespec {
        Timespec { tv_sec: self.secs, tv_nsec: self.nanos.into() }
    }

    /// A PAX time: `secs[.fraction]`.
    fn parse_pax(value: &[u8]) -> Option<Time> {
        let text = std::str::from_utf8(value).ok()?;
        let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
        let secs: i64 = secs.parse().ok()?;
        let digits: String = frac.chars().take(9).collect();
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let nanos: u32 = if digits.is_empty() { 0 } else { format!("{digits:0<9}").parse().ok()? };
        if text.starts_with('-') && nanos > 0 {
            return Some(Time { secs: secs - 1, nanos: 1_000_000_000 - nanos });
        }
        Some(Time { secs, nanos })
    }
}

/// An entry's access and modification times, bounded as docker bounds them.
#[derive(Debug, Clone, Copy)]
struct Times {
    access: Time,
    modified: Time,
}

impl Times {
    fn stamps(self) -> Timestamps {
        Timestamps { last_access: self.access.spec(), last_modification: self.modified.spec() }
    }
}

struct Unpacker<'a> {
    root: OwnedFd,
    /// The destination as given (cleaned), for messages.
    dest: Vec<u8>,
    renames: &'a [Rename],
    /// The last parent directory resolved: entries come grouped by directory.
    parent: Option<(Vec<Vec<u8>>, Rc<OwnedFd>)>,
    dirs: Vec<(Vec<Vec<u8>>, Times)>,
}

/// The elements of a cleaned name, without the root or `.`.
fn components(name: &[u8]) -> Vec<Vec<u8>> {
    name.split(|&b| b == b'/').filter(|c| !c.is_empty() && *c != b".").map(<[u8]>::to_vec).collect()
}

/// Whether the cleaned absolute `path` is `root` or below it.
fn within(path: &[u8], root: &[u8]) -> bool {
    root == b"/" || path == root || (path.starts_with(root) && path.get(root.len()) == Some(&b'/'))
}

/// What an entry's PAX records say beyond its header.
#[derive(Default)]
struct Extensions {
    modified: Option<Time>,
    access: Option<Time>,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

fn extensions<R: Read>(entry: &mut tar::Entry<'_, R>) -> Result<Extensions, Error> {
    let mut ext = Extensions::default();
    if let Some(records) = entry.pax_extensions().map_err(Error::Archive)? {
        for record in records {
            let record = record.map_err(Error::Archive)?;
            match record.key_bytes() {
                b"mtime" => ext.modified = Time::parse_pax(record.value_bytes()),
                b"atime" => ext.access = Time::parse_pax(record.value_bytes()),
                key => {
                    if let Some(name) = key.strip_prefix(XATTR_PREFIX) {
                        ext.xattrs.push((name.to_vec(), record.value_bytes().to_vec()));
                    }
                }
            }
        }
    }
    Ok(ext)
}

impl Unpacker<'_> {
    fn full_path(&self, components: &[Vec<u8>]) -> Vec<u8> {
        join(&self.dest, &components.join(&b'/'))
    }

    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), Error> {
        let header = entry.header().clone();
        let raw_name = entry.path_bytes().into_owned();
        // Old archives mark a directory with a plain-file type and a trailing `/`.
        let kind = match header.as_old().linkflag[0] {
            0 if raw_name.ends_with(b"/") => b'5',
            0 => b'0',
            k => k,
        };
        if kind == b'g' {
            return Ok(());
        }
        let name = clean(&rename_all(self.renames, &raw_name));
        let parts = components(&name);
        if parts.first().is_some_and(|c| c == b"..") {
            return Err(Error::Breakout(format!("{} is outside of {}", quoted(&name), quoted(&self.dest))));
        }
        let path = join(&self.dest, &name);
        let mode = header.mode().map_err(Error::Archive)? & 0o7777;
        let ext = extensions(entry)?;
        let modified = match ext.modified {
            Some(t) => t,
            None => Time { secs: header.mtime().map_err(Error::Archive)? as i64, nanos: 0 },
        };
        let gnu_access = header.as_gnu().filter(|g| g.atime[0] != 0).and_then(|g| g.atime().ok());
        let access = ext.access.or(gnu_access.map(|secs| Time { secs: secs as i64, nanos: 0 }));
        let times =
            Times { access: access.map_or(modified, |a| a.max(modified)).bounded(), modified: modified.bounded() };

        let Some((base, parent_parts)) = parts.split_last() else {
            return self.root_entry(kind, &name, &path, mode, &ext, times);
        };
        let parent = self.parent_dir(parent_parts)?;
        let existing = match rustix::fs::statat(&*parent, &base[..], AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Some(FileType::from_raw_mode(st.st_mode)),
            Err(_) => None,
        };
        if let Some(t) = existing {
            let is_dir = t == FileType::Directory;
            if is_dir && kind != b'5' {
                return Err(Error::OverwriteDir { path, dest: self.dest.clone() });
            }
            if !is_dir && kind == b'5' {
                return Err(Error::OverwriteNonDir { path, dest: self.dest.clone() });
            }
            if !is_dir {
                rustix::fs::unlinkat(&*parent, &base[..], AtFlags::empty())
                    .map_err(|e| Error::at("unlinkat", &path, e))?;
                self.parent = None;
            }
        }

        let created: Option<OwnedFd> = match kind {
            b'5' => {
                if existing.is_none() {
                    rustix::fs::mkdirat(&*parent, &base[..], Mode::from_raw_mode(mode))
                        .map_err(|e| Error::at("mkdir", &path, e))?;
                }
                let flags = OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::RDONLY | OFlags::CLOEXEC;
                Some(
                    rustix::fs::openat(&*parent, &base[..], flags, Mode::empty())
                        .map_err(|e| Error::at("open", &path, e))?,
                )
            }
            b'0' => {
                let flags = OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                let fd = rustix::fs::openat(&*parent, &base[..], flags, Mode::from_raw_mode(mode))
                    .map_err(|e| Error::at("open", &path, e))?;
                let size = entry.size();
                let mut file = std::fs::File::from(fd);
                if copy_data(entry, &mut file, &path)? != size {
                    return Err(Error::Archive(io::Error::new(io::ErrorKind::UnexpectedEof, "unexpected EOF")));
                }
                Some(file.into())
            }
            b'3' | b'4' | b'6' => {
                let file_type = match kind {
                    b'3' => FileType::CharacterDevice,
                    b'4' => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                let major = header.device_major().map_err(Error::Archive)?.unwrap_or(0);
                let minor = header.device_minor().map_err(Error::Archive)?.unwrap_or(0);
                rustix::fs::mknodat(
                    &*parent,
                    &base[..],
                    file_type,
                    Mode::from_raw_mode(mode),
                    rustix::fs::makedev(major, minor),
                )
                .map_err(|e| Error::Errno(e.into()))?;
                None
            }
            b'1' => {
                let link = rename_all(self.renames, &entry.link_name_bytes().unwrap_or_default());
                self.hard_link(&link, &parent, base, &path)?;
                return Ok(());
            }
            b'2' => {
                let link = entry.link_name_bytes().unwrap_or_default().into_owned();
                if !within(&join(&dir(&path), &link), &self.dest) {
                    let why = format!("invalid symlink {} -> {}", quoted(&path), quoted(&link));
                    return Err(Error::Breakout(why));
                }
                rustix::fs::symlinkat(&link[..], &*parent, &base[..]).map_err(|e| Error::Link {
                    op: "symlink",
                    old: link.clone(),
                    new: path.clone(),
                    source: e.into(),
                })?;
                self.parent = None;
                None
            }
            other => return Err(Error::UnhandledType(other)),
        };

        for (attr, value) in &ext.xattrs {
            let result = match &created {
                Some(fd) => rustix::fs::fsetxattr(fd, &attr[..], value, rustix::fs::XattrFlags::empty()),
                // A symlink or special file: by name, not following it.
                None => {
                    let by_fd = [format!("/proc/self/fd/{}/", raw_fd(parent.as_fd())).as_bytes(), base].concat();
                    rustix::fs::lsetxattr(&by_fd[..], &attr[..], value, rustix::fs::XattrFlags::empty())
                }
            };
            match result {
                // Not allowed here (not root): left out, as docker does.
                Ok(()) | Err(Errno::PERM) => {}
                Err(e) => {
                    let attr = String::from_utf8_lossy(attr).into_owned();
                    return Err(Error::Xattr { op: "lsetxattr", attr, path, source: e.into() });
                }
            }
        }

        match (&created, kind) {
            (_, b'2') => {}
            (Some(fd), _) => {
                rustix::fs::fchmod(fd, Mode::from_raw_mode(mode)).map_err(|e| Error::at("chmod", &path, e))?
            }
            (None, _) => rustix::fs::chmodat(&*parent, &base[..], Mode::from_raw_mode(mode), AtFlags::empty())
                .map_err(|e| Error::at("chmod", &path, e))?,
        }
        rustix::fs::utimensat(&*parent, &base[..], &times.stamps(), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| Error::at("chtimes", &path, e))?;
        if kind == b'5' {
            self.dirs.push((parts, times));
        }
        Ok(())
    }

    /// An entry naming the destination itself (`/`, `.`): only a directory,
    /// whose metadata it carries (`.` is skipped, as docker skips it).
    fn root_entry(
        &mut self,
        kind: u8,
        name: &[u8],
        path: &[u8],
        mode: u32,
        ext: &Extensions,
        times: Times,
    ) -> Result<(), Error> {
        if kind != b'5' {
            return Err(Error::OverwriteDir { path: path.to_vec(), dest: self.dest.clone() });
        }
        if name == b"." {
            return Ok(());
        }
        for (attr, value) in &ext.xattrs {
            match rustix::fs::fsetxattr(&self.root, &attr[..], value, rustix::fs::XattrFlags::empty()) {
                Ok(()) | Err(Errno::PERM) => {}
                Err(e) => {
                    let attr = String::from_utf8_lossy(attr).into_owned();
                    return Err(Error::Xattr { op: "lsetxattr", attr, path: path.to_vec(), source: e.into() });
                }
            }
        }
        rustix::fs::fchmod(&self.root, Mode::from_raw_mode(mode)).map_err(|e| Error::at("chmod", path, e))?;
        rustix::fs::futimens(&self.root, &times.stamps()).map_err(|e| Error::at("chtimes", path, e))?;
        self.dirs.push((Vec::new(), times));
        Ok(())
    }

    /// A hard link to an entry extracted before, found under the root.
    fn hard_link(&mut self, link: &[u8], parent: &OwnedFd, base: &[u8], path: &[u8]) -> Result<(), Error> {
        let target = join(&self.dest, link);
        let target_parts = components(&clean(link));
        let refused = || Error::Breakout(format!("invalid hardlink {} -> {}", quoted(&target), quoted(link)));
        if !within(&target, &self.dest) || target_parts.first().is_some_and(|c| c == b"..") {
            return Err(refused());
        }
        let Some((target_base, target_dir)) = target_parts.split_last() else {
            return Err(refused());
        };
        let link_error =
            |e: Errno| Error::Link { op: "link", old: target.clone(), new: path.to_vec(), source: e.into() };
        let target_parent = self.open_dir(target_dir, false).map_err(|_| link_error(Errno::NOENT))?;
        rustix::fs::linkat(&target_parent, &target_base[..], parent, base, AtFlags::empty()).map_err(link_error)
    }

    /// The directory holding an entry, created if missing (reused while
    /// entries stay in the same directory).
    fn parent_dir(&mut self, parts: &[Vec<u8>]) -> Result<Rc<OwnedFd>, Error> {
        if let Some((cached, fd)) = &self.parent
            && cached == parts
        {
            return Ok(fd.clone());
        }
        let fd = Rc::new(self.open_dir(parts, true)?);
        self.parent = Some((parts.to_vec(), fd.clone()));
        Ok(fd)
    }

    /// Opens the directory `parts` names under the root, resolving symlinks as
    /// if the root were `/` (an absolute target starts again from the root, `..`
    /// stops at it); with `create`, missing directories are made (mode 0755).
    fn open_dir(&self, parts: &[Vec<u8>], create: bool) -> Result<OwnedFd, Error> {
        let mut stack: Vec<(OwnedFd, Vec<u8>)> = Vec::new();
        let mut pending: VecDeque<Vec<u8>> = parts.iter().cloned().collect();
        let mut links = 0;
        while let Some(part) = pending.pop_front() {
            if part.is_empty() || part == b"." {
                continue;
            }
            if part == b".." {
                stack.pop();
                continue;
            }
            let mut names: Vec<Vec<u8>> = stack.iter().map(|(_, n)| n.clone()).collect();
            names.push(part.clone());
            let shown = self.full_path(&names);
            let here: BorrowedFd<'_> = stack.last().map_or(self.root.as_fd(), |(fd, _)| fd.as_fd());
            let kind = match rustix::fs::statat(here, &part[..], AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => Some(FileType::from_raw_mode(st.st_mode)),
                Err(Errno::NOENT) if create => None,
                Err(e) => return Err(Error::at("lstat", &shown, e)),
            };
            match kind {
                None => match rustix::fs::mkdirat(here, &part[..], Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(Error::at("mkdir", &shown, e)),
                },
                Some(FileType::Directory) => {}
                Some(FileType::Symlink) => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(Error::Errno(io::Error::from_raw_os_error(libc::ELOOP)));
                    }
                    let target = rustix::fs::readlinkat(here, &part[..], Vec::new())
                        .map_err(|e| Error::at("readlink", &shown, e))?
                        .into_bytes();
                    if is_abs(&target) {
                        stack.clear();
                    }
                    for element in target.split(|&b| b == b'/').rev() {
                        pending.push_front(element.to_vec());
                    }
                    continue;
                }
                Some(_) => return Err(Error::at("open", &shown, Errno::NOTDIR)),
            }
            let flags = OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::RDONLY | OFlags::CLOEXEC;
            let fd =
                rustix::fs::openat(here, &part[..], flags, Mode::empty()).map_err(|e| Error::at("open", &shown, e))?;
            stack.push((fd, part));
        }
        match stack.pop() {
            Some((fd, _)) => Ok(fd),
            None => {
                rustix::fs::openat(&self.root, ".", OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
                    .map_err(|e| Error::at("open", &self.dest, e))
            }
        }
    }
}

fn raw_fd(fd: BorrowedFd<'_>) -> i32 {
    use std::os::fd::AsRawFd;
    fd.as_raw_fd()
}

/// A regular file's bytes from the archive; returns how many there were.
fn copy_data(from: &mut impl Read, to: &mut std::fs::File, path: &[u8]) -> Result<u64, Error> {
    let mut buf = vec![0u8; 32 << 10];
    let mut copied = 0;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Archive(e)),
        };
        to.write_all(&buf[..n]).map_err(|e| Error::path("write", path, e))?;
        copied += n as u64;
    }
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::Path;

    use super::*;

    /// An archive built entry by entry, names written as given (`..` included).
    #[derive(Default)]
    struct Archive(Vec<u8>);

    impl Archive {
        fn add(mut self, name: &str, kind: tar::EntryType, link: &str, data: &[u8], mode: u32) -> Self {
            let mut h = tar::Header::new_ustar();
            let old = h.as_old_mut();
            old.name[..name.len()].copy_from_slice(name.as_bytes());
            old.linkname[..link.len()].copy_from_slice(link.as_bytes());
            h.set_entry_type(kind);
            h.set_mode(mode);
            h.set_size(data.len() as u64);
            h.set_mtime(1_000_000_000);
            h.set_cksum();
            self.0.extend_from_slice(h.as_bytes());
            self.0.extend_from_slice(data);
            self.0.resize(self.0.len().div_ceil(512) * 512, 0);
            self
        }
        fn dir(self, name: &str) -> Self {
            self.add(name, tar::EntryType::Directory, "", b"", 0o750)
        }
        fn file(self, name: &str, data: &str) -> Self {
            self.add(name, tar::EntryType::Regular, "", data.as_bytes(), 0o640)
        }
        fn symlink(self, name: &str, target: &str) -> Self {
            self.add(name, tar::EntryType::Symlink, target, b"", 0o777)
        }
        fn hard_link(self, name: &str, target: &str) -> Self {
            self.add(name, tar::EntryType::Link, target, b"", 0o640)
        }
        fn bytes(mut self) -> Vec<u8> {
            self.0.extend_from_slice(&[0; 1024]);
            self.0
        }
    }

    /// A destination `dest` inside a scratch directory that also holds `outside`.
    fn scratch() -> (tempfile::TempDir, Vec<u8>) {
        let t = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(t.path().join("dest")).expect("dest");
        std::fs::create_dir(t.path().join("outside")).expect("outside");
        let dest = t.path().join("dest").as_os_str().as_bytes().to_vec();
        (t, dest)
    }

    fn run(archive: Archive, dest: &[u8], renames: &[Rename]) -> Result<(), String> {
        unpack(&archive.bytes()[..], dest, renames).map_err(|e| e.to_string())
    }

    fn shown(p: &Path) -> String {
        p.display().to_string()
    }

    #[test]
    fn extracts_modes_times_links_and_renames() {
        let (t, dest) = scratch();
        let archive = Archive::default()
            .dir("data/")
            .file("data/a.txt", "hello\n")
            .symlink("data/link", "a.txt")
            .hard_link("data/hard", "data/a.txt")
            .dir("data/sub/")
            .file("data/sub/b", "b\n")
            .file("data/implied/c", "c\n");
        run(archive, &dest, &[Rename::new(b"data", b"copy")]).expect("unpack");
        let d = t.path().join("dest/copy");
        assert_eq!(std::fs::read_to_string(d.join("a.txt")).expect("a"), "hello\n");
        assert_eq!(std::fs::read_link(d.join("link")).expect("link"), Path::new("a.txt"));
        let (a, hard) =
            (std::fs::metadata(d.join("a.txt")).expect("a"), std::fs::metadata(d.join("hard")).expect("hard"));
        assert_eq!((a.ino(), a.nlink()), (hard.ino(), 2));
        assert_eq!(a.permissions().mode() & 0o7777, 0o640);
        assert_eq!(a.mtime(), 1_000_000_000);
        let dir = std::fs::metadata(&d).expect("dir");
        assert_eq!((dir.permissions().mode() & 0o7777, dir.mtime()), (0o750, 1_000_000_000));
        assert_eq!(std::fs::read_to_string(d.join("implied/c")).expect("c"), "c\n");
        // An implied directory is made new, not given an entry's time.
        assert!(std::fs::metadata(d.join("implied")).expect("implied").mtime() > 1_000_000_000);
    }

    #[test]
    fn keeps_directories_and_files_apart() {
        let (t, dest) = scratch();
        std::fs::create_dir(t.path().join("dest/d")).expect("d");
        std::fs::write(t.path().join("dest/f"), "old").expect("f");
        let d = shown(&t.path().join("dest"));
        assert_eq!(
            run(Archive::default().file("d", "x"), &dest, &[]),
            Err(format!("cannot overwrite directory \"{d}/d\" with non-directory \"{d}\""))
        );
        assert_eq!(
            run(Archive::default().dir("f/"), &dest, &[]),
            Err(format!("cannot overwrite non-directory \"{d}/f\" with directory \"{d}\""))
        );
        // A file over a file replaces it; a directory over a directory merges.
        run(Archive::default().file("f", "new").dir("d/").file("d/in", "in"), &dest, &[]).expect("unpack");
        assert_eq!(std::fs::read_to_string(t.path().join("dest/f")).expect("f"), "new");
        assert!(t.path().join("dest/d/in").exists());
    }

    #[test]
    fn refuses_entries_that_leave_the_destination() {
        let (t, dest) = scratch();
        let d = shown(&t.path().join("dest"));
        assert_eq!(
            run(Archive::default().file("../outside/x", "x"), &dest, &[]),
            Err(format!("\"../outside/x\" is outside of \"{d}\""))
        );
        assert_eq!(
            run(Archive::default().symlink("up", "../outside"), &dest, &[]),
            Err(format!("invalid symlink \"{d}/up\" -> \"../outside\""))
        );
        assert_eq!(
            run(Archive::default().hard_link("h", "../outside/x"), &dest, &[]),
            Err(format!("invalid hardlink \"{}\" -> \"../outside/x\"", shown(&t.path().join("outside/x"))))
        );
        assert!(std::fs::read_dir(t.path().join("outside")).expect("outside").next().is_none());
    }

    #[test]
    fn symlinks_from_the_archive_never_lead_out() {
        let (t, dest) = scratch();
        let outside = shown(&t.path().join("outside"));
        std::fs::write(t.path().join("outside/secret"), "keep").expect("secret");
        // Absolute links are allowed (docker allows them) but resolve under the
        // destination when later entries go through them.
        let archive = Archive::default()
            .symlink("abs", &outside)
            .file("abs/planted", "x")
            .file("abs/secret", "overwritten?")
            .symlink("rel", "abs/..")
            .file("rel/beside", "y")
            .hard_link("h", "abs/secret");
        run(archive, &dest, &[]).expect("unpack");
        assert_eq!(std::fs::read_to_string(t.path().join("outside/secret")).expect("secret"), "keep");
        assert!(!t.path().join("outside/planted").exists());
        let inside = t.path().join("dest").join(outside.trim_start_matches('/'));
        assert_eq!(std::fs::read_to_string(inside.join("planted")).expect("planted"), "x");
        // `abs/..` is the outside directory's parent, under the destination.
        assert!(!t.path().join("beside").exists());
        assert_eq!(std::fs::read_to_string(inside.parent().expect("parent").join("beside")).expect("beside"), "y");
        // The hard link is to the copy inside, not to the file outside.
        let h = std::fs::metadata(t.path().join("dest/h")).expect("h");
        assert_eq!(h.ino(), std::fs::metadata(inside.join("secret")).expect("inside").ino());
        assert_eq!(std::fs::read_link(t.path().join("dest/abs")).expect("abs"), Path::new(&outside));
    }

    #[test]
    fn a_cut_stream_is_an_error() {
        let (_t, dest) = scratch();
        let mut bytes = Archive::default().file("big", &"x".repeat(2000)).bytes();
        bytes.truncate(1024);
        let err = unpack(&bytes[..], &dest, &[]).map_err(|e| e.to_string());
        assert_eq!(err, Err("unexpected EOF".into()));
    }

    #[test]
    fn parses_pax_times() {
        assert_eq!(Time::parse_pax(b"1700000000.5"), Some(Time { secs: 1_700_000_000, nanos: 500_000_000 }));
        assert_eq!(Time::parse_pax(b"12"), Some(Time { secs: 12, nanos: 0 }));
        assert_eq!(Time::parse_pax(b"-1.25"), Some(Time { secs: -2, nanos: 750_000_000 }));
        assert_eq!(Time { secs: -5, nanos: 0 }.bounded(), Time { secs: 0, nanos: 0 });
    }
}
