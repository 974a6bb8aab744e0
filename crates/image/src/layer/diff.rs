//! Producing an OCI layer tar from a directory: an overlayfs upper dir (whiteout
//! devices become `.wh.` files, opaque dirs get `.wh..wh..opq`), or a full tree
//! compared against its lower tree (the copying snapshotter). Output is deterministic
//! (each directory's names sorted bytewise, parents before children, fixed header
//! format), so the same tree always yields the same diff_id.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::stat::{FileStat, SFlag};
use tar::{EntryType, Header};

use super::stream::{Encoder, HashingWriter};
use super::sys::{self, XattrTarget};
use super::whiteout::{self, OPAQUE};
use super::{Compression, Error, Result};
use crate::digest::Digest;

/// What one diff produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffStats {
    /// sha256 of the uncompressed tar: the layer's diff_id.
    pub diff_id: Digest,
    /// Bytes of the uncompressed tar.
    pub tar_size: u64,
    /// sha256 of the bytes written to `out`: the layer blob's digest.
    pub digest: Digest,
    /// Bytes written to `out`.
    pub size: u64,
    /// Tar entries written (whiteouts and opaque markers included).
    pub entries: u64,
}

/// Writes the layer for `upper` to `out`.
///
/// * `lower == None`: `upper` is an overlayfs upper directory; everything in it is
///   part of the layer, 0/0 character devices are whiteouts and directories with
///   `trusted.overlay.opaque=y` are opaque.
/// * `lower == Some(l)`: `upper` is a complete tree (the copying snapshotter's) and
///   the layer holds what differs from `l`: added or changed entries (with their
///   parent directories), and a whiteout for each path of `l` missing from `upper`.
///
/// The root directory itself is not part of a layer.
pub fn diff<W: Write>(upper: &Path, lower: Option<&Path>, out: W, compression: Compression) -> Result<DiffStats> {
    diff_with(upper, lower, out, compression, &[])
}

/// [`diff`], leaving out the files at `stubs` (paths relative to the root, `etc/hosts`)
/// while they are empty: mount points made in the writable layer for files bound
/// over them, which are not the container's changes (`docker commit`).
pub fn diff_with<W: Write>(
    upper: &Path,
    lower: Option<&Path>,
    out: W,
    compression: Compression,
    stubs: &[&str],
) -> Result<DiffStats> {
    let open = |p: &Path| {
        sys::open_path(p, OFlag::O_RDONLY | OFlag::O_DIRECTORY).map_err(Error::io(format!("open {}", p.display())))
    };
    let upper_fd = open(upper)?;
    let lower_fd = lower.map(open).transpose()?;
    let encoder = Encoder::new(HashingWriter::new(out), compression).map_err(Error::Write)?;
    let mut differ = Differ {
        tar: tar::Builder::new(HashingWriter::new(encoder)),
        pending: Vec::new(),
        links: HashMap::new(),
        entries: 0,
        skip_pseudo: false,
        stubs: stubs.iter().map(|s| s.as_bytes().to_vec()).collect(),
    };
    match lower_fd {
        None => differ.walk_upper(upper_fd.as_fd(), b"")?,
        Some(l) => differ.walk_compare(upper_fd.as_fd(), Some(l.as_fd()), b"")?,
    }
    let entries = differ.entries;
    let (encoder, diff_id, tar_size) = differ.tar.into_inner().map_err(Error::Write)?.finish();
    let counted = encoder.finish().map_err(Error::Write)?;
    let (mut out, digest, size) = counted.finish();
    out.flush().map_err(Error::Write)?;
    Ok(DiffStats { diff_id, tar_size, digest, size, entries })
}

/// What [`pack`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PackStats {
    pub entries: u64,
}

/// Writes the entry `name` of `dir` to `out` as an uncompressed tar named `as_name`
/// and, if it is a directory, everything below it as `as_name/…`: the archive of one
/// path (`docker cp`). A symlink is archived as a link, never followed; mount points
/// below are crossed. Nothing is hashed: the stream is not a layer.
pub fn pack<W: Write>(dir: BorrowedFd<'_>, name: &[u8], as_name: &[u8], out: W) -> Result<PackStats> {
    let fail = |op: &str| Error::io(format!("{op} {}", String::from_utf8_lossy(as_name)));
    let st = sys::lstat_at(dir, name).map_err(fail("lstat"))?.ok_or_else(|| fail("lstat")(io::ErrorKind::NotFound.into()))?;
    let mut packer = Differ {
        tar: tar::Builder::new(io::BufWriter::with_capacity(PACK_BUF, out)),
        pending: Vec::new(),
        links: HashMap::new(),
        entries: 0,
        skip_pseudo: true,
        stubs: Vec::new(),
    };
    if sys::is_dir(&st) {
        let sub = open_subdir(dir, name).map_err(fail("open"))?;
        let xattrs = exported_xattrs(XattrTarget::Fd(sub.as_fd())).map_err(fail("list xattrs of"))?;
        packer.dir(PendingDir { path: as_name.to_vec(), st, xattrs })?;
        // `/`'s entries are `/bin`, `/etc`, as Docker names them.
        let base = if as_name == b"/" { as_name } else { as_name.strip_suffix(b"/").unwrap_or(as_name) };
        packer.walk_compare(sub.as_fd(), None, base)?;
    } else {
        packer.non_dir(dir, name, as_name, &st)?;
    }
    let entries = packer.entries;
    let mut out = packer.tar.into_inner().map_err(Error::Write)?;
    out.flush().map_err(Error::Write)?;
    Ok(PackStats { entries })
}

/// Whether `dir` is on a filesystem of the kernel's own making (process and device
/// tables, control files): nothing in it is a file to copy, and some are endless.
fn is_pseudo_fs(dir: BorrowedFd<'_>) -> bool {
    const PSEUDO: [u32; 12] = [
        0x9fa0,     // proc
        0x6265_6572, // sysfs
        0x0027_e0eb, // cgroup
        0x6367_7270, // cgroup2
        0x1cd1,     // devpts
        0x1980_0202, // mqueue
        0x7363_6673, // securityfs
        0x6462_6720, // debugfs
        0x7472_6163, // tracefs
        0xcafe_4a11, // bpf
        0x6573_5546, // fusectl
        0x6265_6570, // configfs
    ];
    use nix::sys::statfs::{FsType, fstatfs};
    fstatfs(dir).is_ok_and(|s| PSEUDO.iter().any(|&m| s.filesystem_type() == FsType(m as _)))
}

/// Bytes gathered before each write of [`pack`]'s output: few, large writes.
const PACK_BUF: usize = 1 << 20;

/// A directory whose header is written only if something below it is (compare mode).
struct PendingDir {
    path: Vec<u8>,
    st: FileStat,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

struct Differ<W: Write> {
    tar: tar::Builder<W>,
    pending: Vec<PendingDir>,
    /// (dev, ino) of multiply-linked inodes already written → their path.
    links: HashMap<(u64, u64), Vec<u8>>,
    entries: u64,
    /// A kernel's pseudo-filesystem (proc, sysfs…) mounted below is archived as an
    /// empty directory, not walked: [`pack`] of a live container's `/`.
    skip_pseudo: bool,
    /// Paths whose empty regular file is left out ([`diff_with`]).
    stubs: Vec<Vec<u8>>,
}

fn child(parent: &[u8], name: &[u8]) -> Vec<u8> {
    match parent {
        b"" => name.to_vec(),
        // The archive of `/` names its entries `/bin`, `/etc`, as Docker's does.
        b"/" => [parent, name].concat(),
        _ => [parent, b"/", name].concat(),
    }
}

fn is_whiteout_device(st: &FileStat) -> bool {
    sys::file_type(st) == SFlag::S_IFCHR && st.st_rdev == 0
}

fn open_subdir(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<OwnedFd> {
    sys::open_at(dir, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW, 0)
}

/// The xattrs a layer carries: all but overlayfs' private ones.
fn exported_xattrs(target: XattrTarget<'_>) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut x = sys::list_xattrs(target)?;
    x.retain(|(k, _)| !whiteout::is_overlay_private(k));
    Ok(x)
}

impl<W: Write> Differ<W> {
    /// Overlay upper mode: every entry is part of the layer.
    fn walk_upper(&mut self, dir: BorrowedFd<'_>, path: &[u8]) -> Result<()> {
        let io = |op: &str, p: &[u8]| Error::io(format!("{op} {}", String::from_utf8_lossy(p)));
        for name in sys::read_names(dir).map_err(io("list", path))? {
            let cpath = child(path, &name);
            let Some(st) = sys::lstat_at(dir, &name).map_err(io("lstat", &cpath))? else { continue };
            if is_whiteout_device(&st) {
                self.whiteout(path, &name, &st)?;
            } else if sys::is_dir(&st) {
                let sub = open_subdir(dir, &name).map_err(io("open", &cpath))?;
                let all = sys::list_xattrs(XattrTarget::Fd(sub.as_fd())).map_err(io("list xattrs of", &cpath))?;
                let opaque = whiteout::is_opaque(&all);
                let xattrs = all.into_iter().filter(|(k, _)| !whiteout::is_overlay_private(k)).collect();
                self.dir(PendingDir { path: cpath.clone(), st, xattrs })?;
                if opaque {
                    self.marker(&child(&cpath, OPAQUE), &st)?;
                }
                self.walk_upper(sub.as_fd(), &cpath)?;
            } else {
                self.non_dir(dir, &name, &cpath, &st)?;
            }
        }
        Ok(())
    }

    /// Compare mode: what differs between `upper` and `lower` at `path`.
    fn walk_compare(&mut self, upper: BorrowedFd<'_>, lower: Option<BorrowedFd<'_>>, path: &[u8]) -> Result<()> {
        let io = |op: &str, p: &[u8]| Error::io(format!("{op} {}", String::from_utf8_lossy(p)));
        let unames = sys::read_names(upper).map_err(io("list", path))?;
        let lnames = match lower {
            Some(l) => sys::read_names(l).map_err(io("list lower", path))?,
            None => Vec::new(),
        };
        let mut names: Vec<&Vec<u8>> = unames.iter().chain(lnames.iter()).collect();
        names.sort();
        names.dedup();
        for name in names {
            let cpath = child(path, name);
            let ust = sys::lstat_at(upper, name).map_err(io("lstat", &cpath))?;
            let lst = match lower {
                Some(l) => sys::lstat_at(l, name).map_err(io("lstat lower", &cpath))?,
                None => None,
            };
            let Some(ust) = ust else {
                if let Some(lst) = lst {
                    self.whiteout(path, name, &lst)?;
                }
                continue;
            };
            if sys::is_dir(&ust) {
                let sub = open_subdir(upper, name).map_err(io("open", &cpath))?;
                let xattrs = exported_xattrs(XattrTarget::Fd(sub.as_fd())).map_err(io("list xattrs of", &cpath))?;
                let lsub = match (lower, &lst) {
                    (Some(l), Some(st)) if sys::is_dir(st) => Some(open_subdir(l, name).map_err(io("open lower", &cpath))?),
                    _ => None,
                };
                let changed = match (&lst, &lsub) {
                    (Some(lst), Some(lsub)) => {
                        let lx = exported_xattrs(XattrTarget::Fd(lsub.as_fd())).map_err(io("list lower xattrs of", &cpath))?;
                        !same_meta(&ust, lst) || lx != xattrs
                    }
                    _ => true,
                };
                let depth = self.pending.len();
                let dir = PendingDir { path: cpath.clone(), st: ust, xattrs };
                if changed {
                    self.dir(dir)?;
                } else {
                    self.pending.push(dir);
                }
                if self.skip_pseudo && is_pseudo_fs(sub.as_fd()) {
                    self.pending.truncate(depth);
                    continue;
                }
                self.walk_compare(sub.as_fd(), lsub.as_ref().map(|f| f.as_fd()), &cpath)?;
                self.pending.truncate(depth);
            } else {
                let changed = match (lower, &lst) {
                    (Some(l), Some(lst)) => {
                        let xattrs = |dir, what| exported_xattrs(XattrTarget::At(dir, name)).map_err(io(what, &cpath));
                        !same_meta(&ust, lst)
                            || (sys::file_type(&ust) == SFlag::S_IFLNK
                                && read_link(upper, name, &cpath)? != read_link(l, name, &cpath)?)
                            || xattrs(upper, "list xattrs of")? != xattrs(l, "list lower xattrs of")?
                    }
                    _ => true,
                };
                if changed {
                    self.non_dir(upper, name, &cpath, &ust)?;
                }
            }
        }
        Ok(())
    }

    /// Writes the headers of directories deferred in compare mode: an entry is about
    /// to be written below them, and a layer lists every parent of its entries (an
    /// overlay apply would otherwise create them with default metadata, shadowing
    /// the lower directory's mode and owner).
    fn flush_pending(&mut self) -> Result<()> {
        for d in std::mem::take(&mut self.pending) {
            self.write_dir(&d)?;
        }
        Ok(())
    }

    fn dir(&mut self, d: PendingDir) -> Result<()> {
        self.flush_pending()?;
        self.write_dir(&d)
    }

    fn write_dir(&mut self, d: &PendingDir) -> Result<()> {
        let mut name = d.path.clone();
        if !name.ends_with(b"/") {
            name.push(b'/');
        }
        let h = header(&d.st, EntryType::Directory, 0);
        self.append(&name, h, None, &d.xattrs, io::empty())
    }

    /// `.wh.<name>` in `parent`, for a whiteout device or a path gone from the tree.
    fn whiteout(&mut self, parent: &[u8], name: &[u8], st: &FileStat) -> Result<()> {
        self.marker(&child(parent, &whiteout::file_name(name)), st)
    }

    /// An empty marker file (whiteout or opaque): root-owned, mode 0, `st`'s mtime.
    fn marker(&mut self, path: &[u8], st: &FileStat) -> Result<()> {
        self.flush_pending()?;
        let mut h = Header::new_ustar();
        h.set_entry_type(EntryType::Regular);
        h.set_mode(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(st.st_mtime.max(0) as u64);
        h.set_size(0);
        self.append(path, h, None, &[], io::empty())
    }

    fn non_dir(&mut self, dir: BorrowedFd<'_>, name: &[u8], path: &[u8], st: &FileStat) -> Result<()> {
        let io = |op: &str| Error::io(format!("{op} {}", String::from_utf8_lossy(path)));
        let kind = sys::file_type(st);
        if kind == SFlag::S_IFSOCK {
            return Ok(()); // a tar cannot hold a socket; it is recreated by its server anyway
        }
        if kind == SFlag::S_IFREG && st.st_size == 0 && self.stubs.iter().any(|s| s == path) {
            return Ok(());
        }
        self.flush_pending()?;
        if st.st_nlink > 1 {
            let key = (st.st_dev, st.st_ino);
            if let Some(first) = self.links.get(&key).cloned() {
                let h = header(st, EntryType::Link, 0);
                return self.append(path, h, Some(&first), &[], io::empty());
            }
            self.links.insert(key, path.to_vec());
        }
        match kind {
            SFlag::S_IFREG => {
                // O_NOFOLLOW|O_NONBLOCK: the name may have been swapped for a symlink or
                // a fifo since the lstat; fstat the opened inode and check again.
                let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK;
                let fd = sys::open_at(dir, name, flags, 0).map_err(io("open"))?;
                let fst = sys::fstat(fd.as_fd()).map_err(io("fstat"))?;
                if sys::file_type(&fst) != SFlag::S_IFREG {
                    return Err(io("read")(io::Error::other("changed type during diff")));
                }
                let xattrs = exported_xattrs(XattrTarget::Fd(fd.as_fd())).map_err(io("list xattrs of"))?;
                let size = fst.st_size as u64;
                let h = header(&fst, EntryType::Regular, size);
                let data = Exact { inner: File::from(fd).take(size), left: size };
                self.append(path, h, None, &xattrs, data)
            }
            SFlag::S_IFLNK => {
                let target = read_link(dir, name, path)?;
                let xattrs = exported_xattrs(XattrTarget::At(dir, name)).map_err(io("list xattrs of"))?;
                let h = header(st, EntryType::Symlink, 0);
                self.append(path, h, Some(&target), &xattrs, io::empty())
            }
            SFlag::S_IFCHR | SFlag::S_IFBLK | SFlag::S_IFIFO => {
                let kind = match kind {
                    SFlag::S_IFCHR => EntryType::Char,
                    SFlag::S_IFBLK => EntryType::Block,
                    _ => EntryType::Fifo,
                };
                let xattrs = exported_xattrs(XattrTarget::At(dir, name)).map_err(io("list xattrs of"))?;
                let mut h = header(st, kind, 0);
                let (major, minor) = (libc::major(st.st_rdev), libc::minor(st.st_rdev));
                h.set_device_major(major).map_err(io("device number"))?;
                h.set_device_minor(minor).map_err(io("device number"))?;
                self.append(path, h, None, &xattrs, io::empty())
            }
            _ => Ok(()),
        }
    }

    /// One entry: the path in the ustar name/prefix fields when it fits, else in a PAX
    /// `path` record (likewise `linkpath`, large ids and sizes), and xattrs as PAX
    /// `SCHILY.xattr.*` records, the form Docker and containerd read.
    fn append(
        &mut self,
        path: &[u8],
        mut h: Header,
        link: Option<&[u8]>,
        xattrs: &[(Vec<u8>, Vec<u8>)],
        data: impl Read,
    ) -> Result<()> {
        let mut pax: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        if !set_ustar_path(&mut h, path) {
            pax.insert("path".into(), path.to_vec());
            set_ustar_path(&mut h, &path[..path.len().min(99)]);
        }
        if let Some(link) = link {
            let field = &mut h.as_old_mut().linkname;
            if link.len() > field.len() {
                pax.insert("linkpath".into(), link.to_vec());
            }
            let n = link.len().min(field.len());
            field[..n].copy_from_slice(&link[..n]);
        }
        const MAX_ID: u64 = 0o7777777;
        for (key, v) in [("uid", h.uid()), ("gid", h.gid())] {
            if let Ok(v) = v
                && v > MAX_ID
            {
                pax.insert(key.into(), v.to_string().into_bytes());
            }
        }
        if let Ok(size) = h.size()
            && size > 0o77777777777
        {
            pax.insert("size".into(), size.to_string().into_bytes());
        }
        for (k, v) in xattrs {
            // PAX keys are text; an xattr name that is not UTF-8 cannot be carried.
            if let Ok(k) = std::str::from_utf8(k) {
                pax.insert(format!("SCHILY.xattr.{k}"), v.clone());
            }
        }
        if !pax.is_empty() {
            self.tar
                .append_pax_extensions(pax.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
                .map_err(Error::Write)?;
        }
        h.set_cksum();
        self.tar.append(&h, data).map_err(Error::Write)?;
        self.entries += 1;
        Ok(())
    }
}

/// The ustar header for `st` (owner, permission bits, mtime) with `kind` and `size`.
fn header(st: &FileStat, kind: EntryType, size: u64) -> Header {
    let mut h = Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(st.st_uid as u64);
    h.set_gid(st.st_gid as u64);
    h.set_mtime(st.st_mtime.max(0) as u64);
    h.set_size(size);
    h
}

/// Stores `path` in the ustar `name` (100 bytes) or `prefix` (155) + `/` + `name`
/// fields; false if it does not fit.
fn set_ustar_path(h: &mut Header, path: &[u8]) -> bool {
    let Some(u) = h.as_ustar_mut() else { return false };
    u.name = [0; 100];
    u.prefix = [0; 155];
    if path.len() <= u.name.len() {
        u.name[..path.len()].copy_from_slice(path);
        return true;
    }
    // Split at a '/' so that both halves fit; the '/' itself is implied.
    let split = (0..path.len())
        .filter(|&i| path[i] == b'/')
        .find(|&i| i <= u.prefix.len() && path.len() - i - 1 <= u.name.len() && i + 1 < path.len());
    match split {
        Some(i) => {
            u.prefix[..i].copy_from_slice(&path[..i]);
            u.name[..path.len() - i - 1].copy_from_slice(&path[i + 1..]);
            true
        }
        None => false,
    }
}

/// Ownership, permissions, type, size, device and mtime: what makes two inodes of
/// the same path "the same" for a diff (data is not read: an unchanged file keeps
/// its size and nanosecond mtime, which the copying snapshotter preserves).
fn same_meta(a: &FileStat, b: &FileStat) -> bool {
    let file = sys::file_type(a) == SFlag::S_IFREG;
    a.st_mode == b.st_mode
        && a.st_uid == b.st_uid
        && a.st_gid == b.st_gid
        && a.st_mtime == b.st_mtime
        && a.st_mtime_nsec == b.st_mtime_nsec
        && a.st_rdev == b.st_rdev
        && (!file || a.st_size == b.st_size)
}

fn read_link(dir: BorrowedFd<'_>, name: &[u8], path: &[u8]) -> Result<Vec<u8>> {
    use std::os::unix::ffi::OsStringExt;
    nix::fcntl::readlinkat(dir, name)
        .map(|t| t.into_vec())
        .map_err(|e| Error::io(format!("readlink {}", String::from_utf8_lossy(path)))(e.into()))
}

/// Exactly `left` bytes, or an error: a file that shrinks while being archived would
/// otherwise leave a header whose size disagrees with its data.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank while being archived"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}
