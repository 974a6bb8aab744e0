//! A local file or directory as the tar stream docker's CLI sends (its archive
//! package's `TarResource`): entries in walk order (names sorted), directories
//! named with a trailing `/`, modification times in whole seconds, numeric
//! owners without names, hard links to an inode seen before as link entries,
//! `security.capability` carried as a PAX record, and Go's choice of header
//! (plain USTAR unless a field needs a PAX record), so the byte count docker
//! reports is the same. Files are streamed, never held in memory.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use super::copyinfo::{Rename, rename_all};
use super::error::{Error, reason};
use super::gopath::{as_path, join, split, split_path_dir_entry};

const BLOCK: usize = 512;
const NAME_SIZE: usize = 100;
const PREFIX_SIZE: usize = 155;
const XATTR_PREFIX: &str = "SCHILY.xattr.";
const CAPABILITY: &str = "security.capability";

/// One archive entry before it is encoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Entry {
    name: Vec<u8>,
    link: Vec<u8>,
    kind: u8,
    mode: u32,
    uid: u64,
    gid: u64,
    size: u64,
    mtime: i64,
    dev_major: u64,
    dev_minor: u64,
    /// PAX records beyond the basic fields (`SCHILY.xattr.…`).
    records: BTreeMap<String, Vec<u8>>,
}

/// Writes the archive of `source` (an absolute path whose last element is the
/// resource) to `out`: its entries named after that element, or `rebase_name`
/// in its place, then renamed by `renames`. Returns the files left out (they
/// could not be read), each with a message as docker logs it. A failed write
/// ends the archive where it is: the reader sees it cut short.
pub fn tar_resource(source: &[u8], rebase_name: Option<&[u8]>, renames: &[Rename], out: impl Write) -> Vec<String> {
    let (dir, include) = split_path_dir_entry(source);
    let mut packer = Packer { out, renames, source_dir: dir.clone(), seen: HashMap::new(), warnings: Vec::new() };
    let root_name = if include == b"/" { b".".to_vec() } else { include.clone() };
    let root = join(&dir, &include);
    let rename = rebase_name.map(|r| Rename::new(&include, if r == b"/" { b"" } else { r }));
    // `dir/.`: the directory's own entry is `./`, its children `./name`.
    let contents_only = include == b".";
    let _ = packer
        .walk(&root, &root_name, rename.as_ref(), contents_only)
        .and_then(|()| packer.out.write_all(&[0; 2 * BLOCK]))
        .and_then(|()| packer.out.flush());
    packer.warnings
}

struct Packer<'a, W: Write> {
    out: W,
    renames: &'a [Rename],
    /// The directory holding the source, which docker names when a walk fails.
    source_dir: Vec<u8>,
    /// Final names of inodes with several links, so later ones become link entries.
    seen: HashMap<(u64, u64), Vec<u8>>,
    warnings: Vec<String>,
}

impl<W: Write> Packer<'_, W> {
    /// Adds `path` as `rel`, and everything under it, depth first in name order.
    fn walk(&mut self, path: &[u8], rel: &[u8], rename: Option<&Rename>, contents_only: bool) -> io::Result<()> {
        let meta = match std::fs::symlink_metadata(as_path(path)) {
            Ok(m) => m,
            Err(e) => {
                let e = Error::path("lstat", path, e);
                self.warn(format!("Can't add file {} to tar: {e}", as_path(path).display()));
                return Ok(());
            }
        };
        let name = rename.map_or_else(|| rel.to_vec(), |r| r.apply(rel));
        self.add(path, &name, &meta)?;
        if !meta.is_dir() {
            return Ok(());
        }
        let mut children: Vec<Vec<u8>> = Vec::new();
        match std::fs::read_dir(as_path(path)) {
            Ok(entries) => {
                for entry in entries {
                    match entry {
                        Ok(e) => children.push(e.file_name().as_bytes().to_vec()),
                        Err(e) => {
                            let source_dir = as_path(&self.source_dir).display().to_string();
                            self.warn(format!("Tar: Can't stat file {source_dir} to tar: {}", reason(&e)));
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                let e = Error::path("open", path, e);
                let source_dir = as_path(&self.source_dir).display().to_string();
                self.warn(format!("Tar: Can't stat file {source_dir} to tar: {e}"));
            }
        }
        children.sort();
        for child in children {
            let child_rel = if rel == b"." && !contents_only { child.clone() } else { [rel, b"/", &child].concat() };
            self.walk(&[path, b"/", &child].concat(), &child_rel, rename, false)?;
        }
        Ok(())
    }

    fn warn(&mut self, message: String) {
        self.warnings.push(message);
    }

    /// One entry: its header, then a regular file's bytes.
    fn add(&mut self, path: &[u8], name: &[u8], meta: &Metadata) -> io::Result<()> {
        let kind = match entry_kind(meta) {
            Ok(k) => k,
            Err(why) => {
                self.warn(format!("Can't add file {} to tar: {why}", as_path(path).display()));
                return Ok(());
            }
        };
        let mut name = name.to_vec();
        if kind == tar::EntryType::Directory.as_byte() && !name.ends_with(b"/") {
            name.push(b'/');
        }
        let mut entry = Entry {
            name: rename_all(self.renames, &name),
            kind,
            mode: meta.mode() & 0o7777,
            uid: u64::from(meta.uid()),
            gid: u64::from(meta.gid()),
            mtime: meta.mtime(),
            dev_major: u64::from(rustix::fs::major(meta.rdev())),
            dev_minor: u64::from(rustix::fs::minor(meta.rdev())),
            ..Entry::default()
        };
        if kind == tar::EntryType::Symlink.as_byte() {
            match std::fs::read_link(as_path(path)) {
                Ok(target) => entry.link = target.as_os_str().as_bytes().to_vec(),
                Err(e) => {
                    let e = Error::path("readlink", path, e);
                    self.warn(format!("Can't add file {} to tar: {e}", as_path(path).display()));
                    return Ok(());
                }
            }
        }
        if let Some(cap) = capability(path) {
            entry.records.insert(format!("{XATTR_PREFIX}{CAPABILITY}"), cap);
        }
        if !meta.is_dir() && meta.nlink() > 1 {
            let inode = (meta.dev(), meta.ino());
            match self.seen.get(&inode) {
                Some(first) => {
                    entry.kind = tar::EntryType::Link.as_byte();
                    entry.link = first.clone();
                }
                None => {
                    self.seen.insert(inode, entry.name.clone());
                }
            }
        }
        let mut file = None;
        if entry.kind == tar::EntryType::Regular.as_byte() {
            entry.size = meta.size();
            if entry.size > 0 {
                // Opened before the header goes out: a file that cannot be read
                // is left out rather than leaving a header without its bytes.
                match File::open(as_path(path)) {
                    Ok(f) => file = Some(f),
                    Err(e) => {
                        let e = Error::path("open", path, e);
                        self.warn(format!("Can't add file {} to tar: {e}", as_path(path).display()));
                        self.seen.retain(|_, n| *n != entry.name);
                        return Ok(());
                    }
                }
            }
        }
        write_header(&mut self.out, &entry)?;
        if let Some(f) = file {
            let copied = self.copy_file(f.take(entry.size), path)?;
            // Exactly the size in the header, even if the file shrank meanwhile.
            write_zeros(&mut self.out, entry.size - copied)?;
            write_zeros(&mut self.out, padding(entry.size))?;
        }
        Ok(())
    }

    /// A file's bytes; a read failure ends them early (with a message), a
    /// write failure ends the archive.
    fn copy_file(&mut self, mut file: impl Read, path: &[u8]) -> io::Result<u64> {
        let mut buf = vec![0u8; 32 << 10];
        let mut copied = 0;
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => return Ok(copied),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let e = Error::path("read", path, e);
                    self.warn(format!("Can't add file {} to tar: {e}", as_path(path).display()));
                    return Ok(copied);
                }
            };
            self.out.write_all(&buf[..n])?;
            copied += n as u64;
        }
    }
}

/// The tar type of a file, or Go's reason for leaving it out.
fn entry_kind(meta: &Metadata) -> Result<u8, &'static str> {
    let t = meta.file_type();
    let kind = if t.is_file() {
        tar::EntryType::Regular
    } else if t.is_dir() {
        tar::EntryType::Directory
    } else if t.is_symlink() {
        tar::EntryType::Symlink
    } else if t.is_char_device() {
        tar::EntryType::Char
    } else if t.is_block_device() {
        tar::EntryType::Block
    } else if t.is_fifo() {
        tar::EntryType::Fifo
    } else if t.is_socket() {
        return Err("archive/tar: sockets not supported");
    } else {
        return Err("archive/tar: unknown file mode");
    };
    Ok(kind.as_byte())
}

/// A file's `security.capability`, in the revision 2 form (a revision 3
/// root id means nothing outside the namespace it was made in).
fn capability(path: &[u8]) -> Option<Vec<u8>> {
    const REVISION_OFFSET: usize = 3;
    const REVISION_2_SIZE: usize = 20;
    let mut buf = [0u8; 64];
    let n = rustix::fs::lgetxattr(path, CAPABILITY, &mut buf).ok()?;
    let mut cap = buf[..n].to_vec();
    if cap.len() > REVISION_OFFSET && cap[REVISION_OFFSET] == 3 {
        cap[REVISION_OFFSET] = 2;
        cap.truncate(REVISION_2_SIZE);
    }
    Some(cap)
}

fn padding(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

fn write_zeros(out: &mut impl Write, mut n: u64) -> io::Result<()> {
    let zeros = [0u8; BLOCK];
    while n > 0 {
        let chunk = n.min(BLOCK as u64) as usize;
        out.write_all(&zeros[..chunk])?;
        n -= chunk as u64;
    }
    Ok(())
}

/// Whether Go's octal field of `width` bytes (one kept for the NUL) holds `n`.
fn fits_octal(width: usize, n: i128) -> bool {
    n >= 0 && n < 1i128 << (3 * (width - 1))
}

fn is_ascii(s: &[u8]) -> bool {
    s.iter().all(|&b| b != 0 && b < 0x80)
}

/// Go's `toASCII`: what a PAX header's plain fields keep of a name.
fn to_ascii(s: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(s).chars().filter(|&c| c != '\0' && c.is_ascii()).map(|c| c as u8).collect()
}

/// A name longer than the name field as USTAR's prefix and name, when it splits.
fn split_ustar(name: &[u8]) -> Option<(&[u8], &[u8])> {
    if name.len() <= NAME_SIZE || !is_ascii(name) {
        return None;
    }
    let mut len = name.len();
    if len > PREFIX_SIZE + 1 {
        len = PREFIX_SIZE + 1;
    } else if name[len - 1] == b'/' {
        len -= 1;
    }
    let i = name[..len].iter().rposition(|&b| b == b'/')?;
    let suffix = name.len() - i - 1;
    (i > 0 && suffix <= NAME_SIZE && suffix > 0 && i <= PREFIX_SIZE).then(|| (&name[..i], &name[i + 1..]))
}

/// Go's `formatPAXRecord`: `"<length> <key>=<value>\n"`, the length counting itself.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3;
    let mut size = body + body.to_string().len();
    if (body + size.to_string().len()) != size {
        size = body + size.to_string().len();
    }
    let mut rec = format!("{size} {key}=").into_bytes();
    rec.extend_from_slice(value);
    rec.push(b'\n');
    rec
}

/// The PAX records an entry needs, and whether plain USTAR can hold it (Go's
/// `Header.allowedFormats` for a header that asks for PAX).
fn pax_records(e: &Entry) -> (BTreeMap<String, Vec<u8>>, bool) {
    let mut records = BTreeMap::new();
    let mut ustar = true;
    let mut text_field = |value: &[u8], key: &str, splittable: bool| {
        if !is_ascii(value) || value.len() > NAME_SIZE {
            if !(splittable && split_ustar(value).is_some()) {
                ustar = false;
            }
            records.insert(key.to_string(), value.to_vec());
        }
    };
    text_field(&e.name, "path", true);
    text_field(&e.link, "linkpath", false);
    for (value, key, width) in [(e.uid, "uid", 8), (e.gid, "gid", 8), (e.size, "size", 12)] {
        if !fits_octal(width, i128::from(value)) {
            ustar = false;
            records.insert(key.to_string(), value.to_string().into_bytes());
        }
    }
    if !fits_octal(12, i128::from(e.mtime)) {
        ustar = false;
        records.insert("mtime".to_string(), e.mtime.to_string().into_bytes());
    }
    if !e.records.is_empty() {
        ustar = false;
        records.extend(e.records.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    (records, ustar)
}

/// Go's octal field: zero-padded, NUL-terminated; zero when it does not fit.
fn octal(field: &mut [u8], n: i128) {
    let n = if fits_octal(field.len(), n) { n } else { 0 };
    let digits = format!("{n:0width$o}", width = field.len() - 1);
    field[..digits.len()].copy_from_slice(digits.as_bytes());
    field[digits.len()] = 0;
}

fn text(field: &mut [u8], s: &[u8]) {
    let n = s.len().min(field.len());
    field[..n].copy_from_slice(&s[..n]);
}

fn header_block(name: &[u8], prefix: &[u8], e: &Entry) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    if let Some(h) = header.as_ustar_mut() {
        text(&mut h.name, name);
        text(&mut h.prefix, prefix);
        text(&mut h.linkname, &e.link);
        octal(&mut h.mode, i128::from(e.mode));
        octal(&mut h.uid, i128::from(e.uid));
        octal(&mut h.gid, i128::from(e.gid));
        octal(&mut h.size, i128::from(e.size));
        octal(&mut h.mtime, i128::from(e.mtime));
        octal(&mut h.dev_major, i128::from(e.dev_major));
        octal(&mut h.dev_minor, i128::from(e.dev_minor));
        h.typeflag = [e.kind];
    }
    header.set_cksum();
    header
}

/// An entry's header blocks: a PAX extended header first when it needs one.
fn write_header(out: &mut impl Write, e: &Entry) -> io::Result<()> {
    let (records, ustar) = pax_records(e);
    if ustar {
        let (prefix, name) = split_ustar(&e.name).unwrap_or((b"", &e.name));
        return out.write_all(header_block(name, prefix, e).as_bytes());
    }
    if !records.is_empty() {
        let data: Vec<u8> = records.iter().flat_map(|(k, v)| pax_record(k, v)).collect();
        let (dir, file) = split(&e.name);
        let ext_name = join(&join(dir, b"PaxHeaders.0"), file);
        let mut ext_name = to_ascii(&ext_name);
        ext_name.truncate(NAME_SIZE);
        while ext_name.last() == Some(&b'/') {
            ext_name.pop();
        }
        let ext = Entry { kind: tar::EntryType::XHeader.as_byte(), size: data.len() as u64, ..Entry::default() };
        out.write_all(header_block(&ext_name, b"", &ext).as_bytes())?;
        out.write_all(&data)?;
        write_zeros(out, padding(data.len() as u64))?;
    }
    let plain = Entry { link: to_ascii(&e.link), ..e.clone() };
    out.write_all(header_block(&to_ascii(&e.name), b"", &plain).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(archive: &[u8]) -> Vec<(String, char, String)> {
        let mut a = tar::Archive::new(archive);
        a.entries()
            .expect("entries")
            .map(|e| {
                let e = e.expect("entry");
                let link = e.link_name_bytes().map(|l| String::from_utf8_lossy(&l).into_owned()).unwrap_or_default();
                (String::from_utf8_lossy(&e.path_bytes()).into_owned(), e.header().entry_type().as_byte() as char, link)
            })
            .collect()
    }

    fn tree() -> tempfile::TempDir {
        let t = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(t.path().join("dir/sub")).expect("dirs");
        std::fs::write(t.path().join("dir/f2"), "two\n").expect("file");
        std::fs::write(t.path().join("dir/sub/f3"), "three\n").expect("file");
        std::fs::hard_link(t.path().join("dir/f2"), t.path().join("dir/hard")).expect("hard link");
        std::os::unix::fs::symlink("f2", t.path().join("dir/link")).expect("link");
        t
    }

    fn pack(source: &std::path::Path, rebase: Option<&[u8]>, renames: &[Rename]) -> Vec<u8> {
        let mut out = Vec::new();
        let problems = tar_resource(source.as_os_str().as_bytes(), rebase, renames, &mut out);
        assert!(problems.is_empty(), "{problems:?}");
        out
    }

    #[test]
    fn entries_are_named_like_docker_s() {
        let t = tree();
        let out = pack(&t.path().join("dir"), None, &[]);
        assert_eq!(
            names(&out),
            [
                ("dir/".into(), '5', String::new()),
                ("dir/f2".into(), '0', String::new()),
                ("dir/hard".into(), '1', "dir/f2".into()),
                ("dir/link".into(), '2', "f2".into()),
                ("dir/sub/".into(), '5', String::new()),
                ("dir/sub/f3".into(), '0', String::new()),
            ]
        );
        // Go's stream: headers, data padded to blocks, two zero blocks; no record padding.
        assert_eq!(out.len(), 512 * 8 + 1024);
        let dot = pack(&t.path().join("dir/."), None, &[Rename::new(b".", b"new")]);
        let dot: Vec<String> = names(&dot).into_iter().map(|n| n.0).collect();
        assert_eq!(dot, ["new/", "new/f2", "new/hard", "new/link", "new/sub/", "new/sub/f3"]);
        let file = pack(&t.path().join("dir/f2"), Some(b"link"), &[Rename::new(b"link", b"copy")]);
        assert_eq!(names(&file), [("copy".into(), '0', String::new())]);
        assert_eq!(file.len(), 2048);
    }

    #[test]
    fn long_names_split_or_go_to_pax() {
        let long_dir = "d".repeat(120);
        let e = Entry { name: format!("{long_dir}/file").into_bytes(), kind: b'0', ..Entry::default() };
        let mut out = Vec::new();
        write_header(&mut out, &e).expect("header");
        assert_eq!(out.len(), 512, "split into prefix and name");
        let e = Entry { name: "n".repeat(150).into_bytes(), kind: b'0', ..Entry::default() };
        let mut out = Vec::new();
        write_header(&mut out, &e).expect("header");
        assert_eq!(out.len(), 512 * 3, "a PAX header, its records, the entry");
        out.extend_from_slice(&[0; 1024]);
        assert_eq!(names(&out)[0].0, "n".repeat(150));
        assert_eq!(String::from_utf8(pax_record("path", b"abc")).expect("utf-8"), "12 path=abc\n");
        assert_eq!(pax_record("k", &[b'v'; 93]).len(), 99);
        assert_eq!(pax_record("k", &[b'v'; 95]).len(), 102);
    }
}
