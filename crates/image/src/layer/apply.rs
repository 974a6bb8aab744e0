//! Applying one layer tarball to a directory (a snapshot's upper dir, or the full
//! tree of the copying snapshotter). The tarball is untrusted: paths are cleaned
//! lexically (`..` refused, leading `/` dropped), then every parent directory is
//! resolved by the kernel *inside* the target (`openat2(RESOLVE_IN_ROOT)`), and the
//! final component is created with `*at()` syscalls on that parent fd, never
//! following a symlink there. Decompression, hashing (the diff_id) and extraction
//! happen in one streaming pass, split over threads: one decompresses and hashes,
//! one parses the tar and makes every namespace change (create, replace, remove), and
//! a small pool writes the data and metadata of the files it created (`writer.rs`).
//!
//! Fewer syscalls for the common case: a resolved parent directory is cached (by its
//! cleaned path) and reused by the entries that follow; the cache is dropped whenever
//! an entry removes or replaces anything, the only way an already resolved path could
//! come to mean another directory (apply never renames). New names are created first
//! with `O_EXCL`-style calls, and only when something is in the way is it inspected
//! and cleared.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::rc::Rc;

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{Mode, SFlag, UtimensatFlags, makedev};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid};

use super::stream::{Decoder, pipelined};
use super::writer::{self, Job, Writers};
use super::sys::{self, XattrTarget};
use super::entries::{current_umask, id, is_refused_xattr, numeric, parse_pax_time};
use super::whiteout::{self, Whiteout};
use super::{Compression, Error, Result};
use crate::digest::Digest;

/// How OCI whiteouts are materialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhiteoutMode {
    /// The target is an overlayfs layer dir: `.wh.name` becomes a 0/0 char device,
    /// `.wh..wh..opq` the `trusted.overlay.opaque=y` xattr.
    #[default]
    Overlay,
    /// The target already holds the lower layers' files (copying snapshotter):
    /// `.wh.name` deletes `name`, `.wh..wh..opq` empties the directory of everything
    /// this layer did not itself write.
    Delete,
    /// The tar is not a layer but files to copy in (`docker cp`): a `.wh.` name is
    /// an ordinary file.
    Keep,
}

/// Added to every uid/gid of the layer, for a user namespace whose root is mapped to
/// `uid_offset`/`gid_offset` on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IdRemap {
    pub uid_offset: u32,
    pub gid_offset: u32,
}

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub whiteouts: WhiteoutMode,
    /// Char and block device entries are created; when false (rootless, or a caller
    /// that does not trust the image with devices) they abort the apply.
    pub allow_devices: bool,
    /// Extended attributes the filesystem refuses are errors instead of warnings.
    pub strict: bool,
    pub remap: Option<IdRemap>,
    /// Every entry gets this owner instead of the tar's (`docker cp -a` into a
    /// container with a user); applied after `remap`.
    pub owner: Option<(u32, u32)>,
    /// A directory is never replaced by a non-directory, nor a non-directory by a
    /// directory: such an entry is an error (`noOverwriteDirNonDir`).
    pub no_overwrite_dir_non_dir: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            whiteouts: WhiteoutMode::Overlay,
            allow_devices: true,
            strict: false,
            remap: None,
            owner: None,
            no_overwrite_dir_non_dir: false,
        }
    }
}

/// What one apply did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyStats {
    /// sha256 of the uncompressed tar stream, padding included: compare with the
    /// image config's `rootfs.diff_ids`.
    pub diff_id: Digest,
    /// Bytes of the uncompressed tar stream.
    pub tar_size: u64,
    /// Bytes read from the (compressed) input.
    pub compressed_size: u64,
    /// Tar entries seen (after the tar crate folds long-name and PAX headers in).
    pub entries: u64,
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub hardlinks: u64,
    /// Device nodes and fifos.
    pub nodes: u64,
    /// Whiteouts and opaque markers.
    pub whiteouts: u64,
    /// Bytes of regular file data written.
    pub file_bytes: u64,
    /// Entries applied with something dropped (an xattr the filesystem refused, an
    /// unknown entry type skipped), each naming the entry.
    pub warnings: Vec<String>,
}

/// Applies one layer to `target_dir` (which must exist). Streams: nothing but one
/// copy buffer is held in memory. On error the directory is left partially written
/// and the caller discards it.
pub fn apply<R: Read>(
    reader: R,
    compression: Compression,
    target_dir: &Path,
    opts: &ApplyOptions,
) -> Result<ApplyStats> {
    let root = sys::open_path(target_dir, OFlag::O_PATH | OFlag::O_DIRECTORY)
        .map_err(Error::io(format!("open {}", target_dir.display())))?;
    apply_in(reader, compression, root, opts)
}

/// [`apply`] into the directory `root` is open on.
pub fn apply_in<R: Read>(reader: R, compression: Compression, root: OwnedFd, opts: &ApplyOptions) -> Result<ApplyStats> {
    let (decoder, compressed) = Decoder::new(reader, compression).map_err(Error::Stream)?;
    let (applied, hashed) = pipelined(decoder, |input| -> Result<ApplyStats> {
        std::thread::scope(|scope| {
            let mut applier = Applier::new(root, opts, Some(Writers::start(scope, writer_threads())));
            {
                let mut archive = tar::Archive::new(&mut *input);
                for entry in archive.entries().map_err(Error::Stream)? {
                    applier.entry(entry.map_err(Error::Stream)?)?;
                }
            }
            // The archive ends with two zero blocks, usually followed by padding up to
            // the 10 KiB record size: all of it is part of the stream the diff_id covers.
            io::copy(input, &mut io::sink()).map_err(Error::Stream)?;
            applier.finish()?;
            Ok(applier.stats)
        })
    });
    let mut stats = applied?;
    let (diff_id, tar_size) = hashed.map_err(Error::Stream)?;
    stats.diff_id = diff_id;
    stats.tar_size = tar_size;
    stats.compressed_size = compressed.get();
    Ok(stats)
}

/// A tar path cleaned for use inside the root: `.` and empty components dropped
/// (so a leading `/` is dropped too), `..` and NUL refused. Empty means the root.
pub(crate) fn clean(raw: &[u8]) -> std::result::Result<Vec<&[u8]>, String> {
    if raw.contains(&0) {
        return Err("the path contains a NUL byte".into());
    }
    let mut out = Vec::new();
    for c in raw.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return Err("the path has a `..` component (it would leave the layer root)".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn join(comps: &[&[u8]]) -> Vec<u8> {
    comps.join(&b'/')
}

/// The metadata of one tar entry, already remapped.
pub(super) struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: TimeSpec,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A created inode, as its metadata can be applied: through an open fd (files and
/// directories), or by name in its parent (symlinks, devices, fifos).
#[derive(Clone, Copy)]
enum Inode<'a> {
    Fd(BorrowedFd<'a>),
    At { dir: BorrowedFd<'a>, name: &'a [u8], symlink: bool },
}

impl<'a> Inode<'a> {
    fn xattr_target(self) -> XattrTarget<'a> {
        match self {
            Inode::Fd(fd) => XattrTarget::Fd(fd),
            Inode::At { dir, name, .. } => XattrTarget::At(dir, name),
        }
    }
}

pub(super) struct Applier<'o, 'w> {
    /// O_PATH fd of the target directory: the root every path resolves in.
    pub(super) root: OwnedFd,
    pub(super) opts: &'o ApplyOptions,
    /// Paths this layer wrote, with all their ancestors (the copying snapshotter's
    /// whiteouts and opaque dirs must spare them: a whiteout only hides lower layers).
    pub(super) written: HashSet<Vec<u8>>,
    /// Paths this layer whited out: a directory created there later replaces the
    /// lower one, so in overlay mode it is made opaque.
    pub(super) whited_out: HashSet<Vec<u8>>,
    /// Directory mtimes, applied at the end: creating children changes them.
    dir_times: Vec<(Vec<u8>, TimeSpec)>,
    /// Resolved parent directories by cleaned path (see the module docs), with
    /// whether each is setgid (new files there take its group).
    parents: HashMap<Vec<u8>, (Rc<OwnedFd>, bool)>,
    /// Whether the directory [`parent`](Self::parent) returned last is setgid.
    parent_sgid: bool,
    /// The process umask, if known: files whose mode it leaves alone are created
    /// with their final mode (no chmod).
    umask: Option<u32>,
    /// Our effective uid and gid: a new file's owner unless its directory is setgid.
    ids: (u32, u32),
    /// The file data copy buffer, reused by every entry.
    buf: Vec<u8>,
    /// Where small files' data and metadata are written (inline without).
    writers: Option<Writers<'w>>,
    pub(super) stats: ApplyStats,
}

/// Writer threads per apply: one on a two-core machine (where the decompressing
/// thread and the parser keep the other core busy), two on bigger ones.
fn writer_threads() -> usize {
    if std::thread::available_parallelism().map_or(1, |n| n.get()) > 2 { 2 } else { 1 }
}

/// Parent directories kept open at once by one apply.
const MAX_CACHED_PARENTS: usize = 32;
/// File data is copied through a buffer this large.
const FILE_BUF: usize = 256 * 1024;

impl<'o, 'w> Applier<'o, 'w> {
    fn new(root: OwnedFd, opts: &'o ApplyOptions, writers: Option<Writers<'w>>) -> Self {
        let empty = Digest::sha256_of(b"");
        Applier {
            root,
            opts,
            written: HashSet::new(),
            whited_out: HashSet::new(),
            dir_times: Vec::new(),
            parents: HashMap::new(),
            parent_sgid: true,
            umask: current_umask(),
            ids: (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw()),
            buf: vec![0u8; FILE_BUF],
            writers,
            stats: ApplyStats {
                diff_id: empty,
                tar_size: 0,
                compressed_size: 0,
                entries: 0,
                files: 0,
                dirs: 0,
                symlinks: 0,
                hardlinks: 0,
                nodes: 0,
                whiteouts: 0,
                file_bytes: 0,
                warnings: Vec::new(),
            },
        }
    }

    fn entry<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> Result<()> {
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let kind = entry.header().entry_type();
        if matches!(kind, tar::EntryType::XGlobalHeader) {
            return Ok(());
        }
        self.stats.entries += 1;
        let comps = clean(&raw).map_err(|reason| refused(&shown, reason))?;
        let Some((name, parent)) = comps.split_last() else {
            return self.root_entry(&mut entry, kind, &shown);
        };
        if let Some(w) = whiteout::classify(name).filter(|_| self.opts.whiteouts != WhiteoutMode::Keep) {
            return match w {
                Whiteout::Ignore => Ok(()),
                Whiteout::Opaque => self.opaque(parent, &shown),
                Whiteout::Remove(inner) => self.whiteout(parent, inner, &shown),
            };
        }
        let key = join(&comps);
        let meta = self.meta(&mut entry, &shown)?;
        let dir = self.parent(parent, true, &shown)?.ok_or_else(|| refused(&shown, "parent vanished"))?;
        let dir = dir.as_fd();
        // Only the copying snapshotter's whiteouts read what this layer wrote.
        if self.opts.whiteouts == WhiteoutMode::Delete {
            for i in 1..=comps.len() {
                self.written.insert(join(&comps[..i]));
            }
        }
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                self.file(dir, name, &mut entry, &meta, &shown)
            }
            tar::EntryType::Directory => self.directory(dir, name, &key, &meta, &shown),
            tar::EntryType::Symlink => {
                let target = entry.link_name_bytes().map(|l| l.into_owned()).unwrap_or_default();
                self.symlink(dir, name, &target, &meta, &shown)
            }
            tar::EntryType::Link => {
                let target = entry.link_name_bytes().map(|l| l.into_owned()).unwrap_or_default();
                self.hardlink(dir, name, &key, &target, &shown)
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                self.node(dir, name, kind, &entry, &meta, &shown)
            }
            other => {
                self.stats.warnings.push(format!("{shown}: entry type {:?} skipped", other.as_byte() as char));
                Ok(())
            }
        }
    }

    /// An entry naming the target itself (`.`, `./`, `/`): only a directory may, and
    /// it sets the root's metadata. Anything else would replace the target.
    fn root_entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>, kind: tar::EntryType, shown: &str) -> Result<()> {
        if kind != tar::EntryType::Directory {
            return Err(refused(shown, "it would replace the target directory itself (only a directory entry may name the root)"));
        }
        let meta = self.meta(entry, shown)?;
        if meta.mode & libc::S_ISGID != 0 {
            self.forget_parents();
        }
        let fd = sys::open_in_root(self.root.as_fd(), b"", OFlag::O_RDONLY | OFlag::O_DIRECTORY)
            .map_err(entry_err(shown, "open the root"))?;
        self.set_meta(Inode::Fd(fd.as_fd()), &meta, shown, false)?;
        self.dir_times.push((Vec::new(), meta.mtime));
        self.stats.dirs += 1;
        Ok(())
    }

    fn meta<R: Read>(&self, entry: &mut tar::Entry<'_, R>, shown: &str) -> Result<Meta> {
        let h = entry.header();
        let bad = |what: &'static str| move |e: io::Error| refused(shown, format!("bad {what} field: {e}"));
        let old = h.as_old();
        let mode = numeric(h.mode().map(u64::from), &old.mode).map_err(bad("mode"))? as u32 & 0o7777;
        let uid = numeric(h.uid(), &old.uid).map_err(bad("uid"))?;
        let gid = numeric(h.gid(), &old.gid).map_err(bad("gid"))?;
        let mtime = numeric(h.mtime(), &old.mtime).map_err(bad("mtime"))?;
        let mut mtime = TimeSpec::new(mtime.min(i64::MAX as u64) as i64, 0);
        let remap = self.opts.remap.unwrap_or_default();
        let uid = id(uid, remap.uid_offset).ok_or_else(|| refused(shown, format!("uid {uid} is out of range")))?;
        let gid = id(gid, remap.gid_offset).ok_or_else(|| refused(shown, format!("gid {gid} is out of range")))?;
        let (uid, gid) = self.opts.owner.unwrap_or((uid, gid));
        let mut xattrs = Vec::new();
        if let Some(pax) = entry.pax_extensions().map_err(Error::Stream)? {
            for ext in pax {
                let ext = ext.map_err(Error::Stream)?;
                let key = ext.key_bytes();
                if key == b"mtime" {
                    mtime = parse_pax_time(ext.value_bytes()).ok_or_else(|| refused(shown, "bad PAX mtime"))?;
                } else if let Some(name) = key.strip_prefix(b"SCHILY.xattr.") {
                    xattrs.push((name.to_vec(), ext.value_bytes().to_vec()));
                }
            }
        }
        Ok(Meta { mode, uid, gid, mtime, xattrs })
    }

    /// Forgets every cached parent: something was removed or replaced, so a cached
    /// path might no longer lead to the directory its fd holds.
    pub(super) fn forget_parents(&mut self) {
        self.parents.clear();
    }

    /// Resolves (and with `create`, makes) the directory `comps` inside the root.
    /// `None`: it does not exist and `create` is false.
    pub(super) fn parent(&mut self, comps: &[&[u8]], create: bool, shown: &str) -> Result<Option<Rc<OwnedFd>>> {
        let key = join(comps);
        if let Some((fd, sgid)) = self.parents.get(&key) {
            self.parent_sgid = *sgid;
            return Ok(Some(fd.clone()));
        }
        let found = self.resolve_parent(comps, create, shown)?.map(Rc::new);
        if let Some(fd) = &found {
            if self.parents.len() >= MAX_CACHED_PARENTS {
                self.parents.clear();
            }
            // Unknown counts as setgid: it only costs a chown that was not needed.
            let sgid = sys::fstat(fd.as_fd()).map_or(true, |st| st.st_mode & libc::S_ISGID != 0);
            self.parent_sgid = sgid;
            self.parents.insert(key, (fd.clone(), sgid));
        }
        Ok(found)
    }

    fn resolve_parent(&mut self, comps: &[&[u8]], create: bool, shown: &str) -> Result<Option<OwnedFd>> {
        let flags = OFlag::O_PATH | OFlag::O_DIRECTORY;
        match sys::open_in_root(self.root.as_fd(), &join(comps), flags) {
            Ok(fd) => return Ok(Some(fd)),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && create => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
            Err(e) => return Err(entry_err(shown, format!("resolve parent directory {:?}", lossy(&join(comps))))(e)),
        }
        // Walk down, creating what is missing with default metadata (root-owned 0755,
        // as tar does for directories the archive does not list).
        let mut cur = sys::open_in_root(self.root.as_fd(), b"", flags).map_err(entry_err(shown, "open the root"))?;
        for i in 0..comps.len() {
            let prefix = join(&comps[..=i]);
            match sys::open_in_root(self.root.as_fd(), &prefix, flags) {
                Ok(fd) => {
                    cur = fd;
                    continue;
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                Err(e) => return Err(entry_err(shown, format!("resolve {:?}", lossy(&prefix)))(e)),
            }
            match nix::sys::stat::mkdirat(cur.as_fd(), comps[i], Mode::from_bits_truncate(0o700)) {
                Ok(()) => {}
                // The name exists but did not resolve: a dangling symlink, whose target
                // we will not create.
                Err(Errno::EEXIST) => {
                    return Err(refused(
                        shown,
                        format!("parent {:?} exists but is not a directory inside the layer", lossy(&prefix)),
                    ));
                }
                Err(e) => return Err(entry_err(shown, format!("mkdir {:?}", lossy(&prefix)))(e.into())),
            }
            let meta = self.default_dir_meta();
            self.created_dir(cur.as_fd(), comps[i], &prefix, &meta, shown)?;
            if self.opts.whiteouts == WhiteoutMode::Delete {
                self.written.insert(prefix.clone());
            }
            cur = sys::open_in_root(self.root.as_fd(), &prefix, flags)
                .map_err(entry_err(shown, format!("resolve {:?}", lossy(&prefix))))?;
        }
        Ok(Some(cur))
    }

    fn default_dir_meta(&self) -> Meta {
        let remap = self.opts.remap.unwrap_or_default();
        Meta { mode: 0o755, uid: remap.uid_offset, gid: remap.gid_offset, mtime: TimeSpec::new(0, 0), xattrs: Vec::new() }
    }

    /// Makes room for a new entry `name` in `dir`: a directory entry keeps an existing
    /// directory (tar merges them); anything else replaces what is there. Returns
    /// whether a directory was kept. Never follows a symlink at `name`.
    pub(super) fn make_room(&mut self, dir: BorrowedFd<'_>, name: &[u8], for_dir: bool, shown: &str) -> Result<bool> {
        let st = sys::lstat_at(dir, name).map_err(entry_err(shown, "lstat"))?;
        if self.opts.no_overwrite_dir_non_dir
            && let Some(st) = &st
            && sys::is_dir(st) != for_dir
        {
            let reason = match for_dir {
                true => "cannot overwrite non-directory with directory",
                false => "cannot overwrite directory with non-directory",
            };
            return Err(refused(shown, reason));
        }
        match st {
            None => Ok(false),
            Some(st) if sys::is_dir(&st) && for_dir => Ok(true),
            Some(st) if sys::is_dir(&st) => {
                self.forget_parents();
                sys::remove_all_at(dir, name).map_err(entry_err(shown, "remove the directory it replaces"))?;
                Ok(false)
            }
            Some(_) => {
                self.forget_parents();
                nix::unistd::unlinkat(dir, name, nix::unistd::UnlinkatFlags::NoRemoveDir)
                    .map_err(|e| entry_err(shown, "remove the entry it replaces")(e.into()))?;
                Ok(false)
            }
        }
    }

    /// Runs `create` for a new entry at `name`; if something is already there
    /// (EEXIST), clears it with [`make_room`](Self::make_room) and tries once more.
    /// Returns true when `create` was skipped because a directory is kept (`for_dir`).
    fn create_fresh<T>(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        for_dir: bool,
        shown: &str,
        mut create: impl FnMut() -> std::result::Result<T, Errno>,
    ) -> Result<(Option<T>, std::result::Result<(), Errno>)> {
        match create() {
            Ok(v) => return Ok((Some(v), Ok(()))),
            Err(Errno::EEXIST) => {}
            Err(e) => return Ok((None, Err(e))),
        }
        if self.make_room(dir, name, for_dir, shown)? {
            return Ok((None, Ok(())));
        }
        match create() {
            Ok(v) => Ok((Some(v), Ok(()))),
            Err(e) => Ok((None, Err(e))),
        }
    }

    fn file<R: Read>(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        entry: &mut tar::Entry<'_, R>,
        meta: &Meta,
        shown: &str,
    ) -> Result<()> {
        // O_EXCL|O_NOFOLLOW: never write through anything (a symlink above all) at
        // the name; what is there is cleared first and the create retried.
        let size = entry.size();
        let plain = entry.header().entry_type() != tar::EntryType::GNUSparse;
        // Small plain files go to the writer threads. Those also skip what is a no-op:
        // the chmod when the file can be created with its mode (no special bits, none
        // the umask would drop), the chown when it is created with its owner.
        let queued = self.writers.is_some() && plain && size <= writer::MAX_JOB_BYTES && meta.xattrs.is_empty();
        let direct_mode = queued && meta.mode & 0o7000 == 0 && self.umask.is_some_and(|u| meta.mode & u == 0);
        let create_mode = if direct_mode { meta.mode } else { 0o600 };
        let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW;
        let (fd, r) = self.create_fresh(dir, name, false, shown, || {
            nix::fcntl::openat(dir, name, flags | OFlag::O_CLOEXEC, Mode::from_bits_truncate(create_mode))
        })?;
        let fd = fd.ok_or_else(|| entry_err(shown, "create file")(r.err().unwrap_or(Errno::EEXIST).into()))?;
        let mut file = File::from(fd);
        if let Some(w) = self.writers.as_mut().filter(|_| queued) {
            let mut data = Vec::with_capacity(size as usize);
            entry.read_to_end(&mut data).map_err(Error::Stream)?;
            self.stats.file_bytes += data.len() as u64;
            self.stats.files += 1;
            let owned = (meta.uid, meta.gid) == self.ids && !self.parent_sgid;
            return w.submit(Job {
                seq: self.stats.entries,
                file,
                data,
                chown: (!owned).then_some((meta.uid, meta.gid)),
                chmod: (!direct_mode).then_some(meta.mode),
                mtime: meta.mtime,
                shown: shown.to_string(),
            });
        }
        let mut buf = std::mem::take(&mut self.buf);
        let copied = (|| {
            loop {
                let n = match entry.read(&mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(Error::Stream(e)),
                };
                file.write_all(&buf[..n]).map_err(entry_err(shown, "write file data"))?;
                self.stats.file_bytes += n as u64;
            }
        })();
        self.buf = buf;
        copied?;
        self.set_meta(Inode::Fd(file.as_fd()), meta, shown, true)?;
        self.stats.files += 1;
        Ok(())
    }

    fn directory(&mut self, dir: BorrowedFd<'_>, name: &[u8], key: &[u8], meta: &Meta, shown: &str) -> Result<()> {
        let (_, r) =
            self.create_fresh(dir, name, true, shown, || nix::sys::stat::mkdirat(dir, name, Mode::from_bits_truncate(0o700)))?;
        r.map_err(|e| entry_err(shown, "mkdir")(e.into()))?;
        self.created_dir(dir, name, key, meta, shown)?;
        self.dir_times.push((key.to_vec(), meta.mtime));
        self.stats.dirs += 1;
        Ok(())
    }

    /// Metadata of a directory just created or kept at `name`; in overlay mode a
    /// directory at a path this layer whited out is made opaque (it replaces the
    /// lower one instead of merging with it).
    fn created_dir(&mut self, dir: BorrowedFd<'_>, name: &[u8], key: &[u8], meta: &Meta, shown: &str) -> Result<()> {
        if meta.mode & libc::S_ISGID != 0 {
            // Cached parents remember their setgid bit.
            self.forget_parents();
        }
        let opaque = self.opts.whiteouts == WhiteoutMode::Overlay && self.whited_out.contains(key);
        if !opaque && meta.xattrs.is_empty() {
            // The common case: owner and mode by name, no open (and never through a
            // symlink: the calls do not follow one at `name`).
            return self.set_meta(Inode::At { dir, name, symlink: false }, meta, shown, false);
        }
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW;
        let fd = sys::open_at(dir, name, flags, 0).map_err(entry_err(shown, "open directory"))?;
        if opaque {
            sys::set_xattr(XattrTarget::Fd(fd.as_fd()), whiteout::OVERLAY_OPAQUE, b"y")
                .map_err(entry_err(shown, "set trusted.overlay.opaque"))?;
        }
        self.set_meta(Inode::Fd(fd.as_fd()), meta, shown, false)
    }

    fn symlink(&mut self, dir: BorrowedFd<'_>, name: &[u8], target: &[u8], meta: &Meta, shown: &str) -> Result<()> {
        if target.is_empty() {
            return Err(refused(shown, "symlink with an empty target"));
        }
        if target.contains(&0) {
            return Err(refused(shown, "symlink target contains a NUL byte"));
        }
        // The target is stored as text; it is only ever resolved later, inside the
        // container's root, so it needs no check here.
        let (_, r) = self.create_fresh(dir, name, false, shown, || nix::unistd::symlinkat(target, dir, name))?;
        r.map_err(|e| entry_err(shown, "symlink")(e.into()))?;
        self.set_meta(Inode::At { dir, name, symlink: true }, meta, shown, true)?;
        self.stats.symlinks += 1;
        Ok(())
    }

    fn hardlink(&mut self, dir: BorrowedFd<'_>, name: &[u8], key: &[u8], target: &[u8], shown: &str) -> Result<()> {
        let tcomps = clean(target).map_err(|r| refused(shown, format!("hard link target {:?}: {r}", lossy(target))))?;
        let Some((tname, tparent)) = tcomps.split_last() else {
            return Err(refused(shown, "hard link to the layer root"));
        };
        if join(&tcomps) == key {
            return Err(refused(shown, "hard link to itself"));
        }
        // The target's parent is resolved inside the root like any path: an absolute
        // or symlinked target names a file of this layer, never one of the host.
        let missing = || refused(shown, format!("hard link target {:?} does not exist in the layer", lossy(target)));
        let tdir = self.parent(tparent, false, shown)?.ok_or_else(missing)?;
        let tst = sys::lstat_at(tdir.as_fd(), tname).map_err(entry_err(shown, "lstat link target"))?;
        match tst {
            None => return Err(missing()),
            Some(st) if sys::is_dir(&st) => return Err(refused(shown, "hard link to a directory")),
            Some(_) => {}
        }
        // No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself.
        let (_, r) = self.create_fresh(dir, name, false, shown, || {
            nix::unistd::linkat(tdir.as_fd(), *tname, dir, name, AtFlags::empty())
        })?;
        r.map_err(|e| entry_err(shown, format!("link to {:?}", lossy(target)))(e.into()))?;
        // The inode's owner and mode belong to the target's own entry: a link entry
        // never changes them.
        self.stats.hardlinks += 1;
        Ok(())
    }

    fn node<R: Read>(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        kind: tar::EntryType,
        entry: &tar::Entry<'_, R>,
        meta: &Meta,
        shown: &str,
    ) -> Result<()> {
        let h = entry.header();
        let bad = |e: io::Error| refused(shown, format!("bad device number: {e}"));
        let (major, minor) = match h.as_ustar() {
            Some(u) if kind != tar::EntryType::Fifo => (
                numeric(u.device_major().map(u64::from), &u.dev_major).map_err(bad)?,
                numeric(u.device_minor().map(u64::from), &u.dev_minor).map_err(bad)?,
            ),
            _ => (0, 0),
        };
        let sflag = match kind {
            tar::EntryType::Char => SFlag::S_IFCHR,
            tar::EntryType::Block => SFlag::S_IFBLK,
            _ => SFlag::S_IFIFO,
        };
        if sflag != SFlag::S_IFIFO && !self.opts.allow_devices {
            return Err(refused(shown, "device nodes are not allowed here (ApplyOptions::allow_devices is false)"));
        }
        let dev = makedev(major, minor);
        let (_, r) = self.create_fresh(dir, name, false, shown, || {
            nix::sys::stat::mknodat(dir, name, sflag, Mode::from_bits_truncate(0o600), dev)
        })?;
        r.map_err(|e| entry_err(shown, "mknod")(e.into()))?;
        self.set_meta(Inode::At { dir, name, symlink: false }, meta, shown, true)?;
        self.stats.nodes += 1;
        Ok(())
    }

    /// Owner, then xattrs, then mode, then (unless deferred) times. The order is the
    /// kernel's: chown clears setuid/setgid and `security.capability`, so the mode
    /// and capabilities are set after it.
    fn set_meta(&mut self, inode: Inode<'_>, meta: &Meta, shown: &str, times: bool) -> Result<()> {
        let (uid, gid) = (Some(Uid::from_raw(meta.uid)), Some(Gid::from_raw(meta.gid)));
        match inode {
            Inode::Fd(fd) => nix::unistd::fchown(fd, uid, gid),
            Inode::At { dir, name, .. } => {
                nix::unistd::fchownat(dir, name, uid, gid, AtFlags::AT_SYMLINK_NOFOLLOW)
            }
        }
        .map_err(|e| entry_err(shown, format!("chown {}:{}", meta.uid, meta.gid))(e.into()))?;
        for (key, value) in &meta.xattrs {
            let what = lossy(key);
            if whiteout::is_overlay_private(key) {
                // overlayfs would act on these (opaque, redirect, metacopy): a layer
                // expresses opaqueness only through `.wh..wh..opq`.
                self.refuse_xattr(shown, &what, "overlayfs-private attribute")?;
                continue;
            }
            if let Err(e) = sys::set_xattr(inode.xattr_target(), key, value) {
                if is_refused_xattr(&e) {
                    self.refuse_xattr(shown, &what, &e.to_string())?;
                } else {
                    return Err(entry_err(shown, format!("set xattr {what}"))(e));
                }
            }
        }
        let mode = meta.mode;
        match inode {
            Inode::Fd(fd) => nix::sys::stat::fchmod(fd, Mode::from_bits_truncate(mode)).map_err(io::Error::from),
            // Symlink permission bits are meaningless on Linux and cannot be changed.
            Inode::At { symlink: true, .. } => Ok(()),
            Inode::At { dir, name, .. } => sys::chmod_at(dir, name, mode),
        }
        .map_err(entry_err(shown, format!("chmod {mode:o}")))?;
        if times {
            match inode {
                Inode::Fd(fd) => nix::sys::stat::futimens(fd, &meta.mtime, &meta.mtime),
                Inode::At { dir, name, .. } => nix::sys::stat::utimensat(
                    dir,
                    name,
                    &meta.mtime,
                    &meta.mtime,
                    UtimensatFlags::NoFollowSymlink,
                ),
            }
            .map_err(|e| entry_err(shown, "set times")(e.into()))?;
        }
        Ok(())
    }

    fn refuse_xattr(&mut self, shown: &str, key: &str, why: &str) -> Result<()> {
        if self.opts.strict {
            return Err(refused(shown, format!("extended attribute {key}: {why}")));
        }
        self.stats.warnings.push(format!("{shown}: extended attribute {key} skipped: {why}"));
        Ok(())
    }

    /// Directory times, now that nothing more is created in them. A directory
    /// replaced or removed by a later entry is skipped (O_NOFOLLOW: never through a
    /// symlink that took its place).
    fn finish(&mut self) -> Result<()> {
        if let Some(w) = self.writers.as_mut() {
            w.finish()?;
        }
        for (key, t) in std::mem::take(&mut self.dir_times) {
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW;
            let Ok(fd) = sys::open_in_root(self.root.as_fd(), &key, flags) else { continue };
            nix::sys::stat::futimens(fd.as_fd(), &t, &t)
                .map_err(|e| entry_err(&lossy(&key), "set directory times")(e.into()))?;
        }
        Ok(())
    }
}

pub(super) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub(super) fn refused(entry: &str, reason: impl Into<String>) -> Error {
    Error::Refused { entry: entry.to_string(), reason: reason.into() }
}

pub(super) fn entry_err(entry: &str, op: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let (entry, op) = (entry.to_string(), op.into());
    move |source| Error::Entry { entry, op, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_paths() {
        assert_eq!(clean(b"./a//b/").unwrap(), vec![&b"a"[..], b"b"]);
        assert_eq!(clean(b"/etc/x").unwrap(), vec![&b"etc"[..], b"x"]);
        assert!(clean(b"./").unwrap().is_empty());
        assert!(clean(b"a/../b").is_err());
        assert!(clean(b"..").is_err());
    }
}
