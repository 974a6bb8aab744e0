//! The container's filesystem view, built inside its new mount namespace: the spec's
//! mounts, /dev with its default devices and links, then pivot_root, masked and
//! read-only paths. Every destination is resolved *inside* the rootfs (openat2 with
//! RESOLVE_IN_ROOT) and mounted through /proc/self/fd, so a symlink planted in an
//! image (`/etc -> /host/etc`, `dev -> /`) can never redirect a mount onto the host.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::{Mode, SFlag};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType, Mount, Spec};

use crate::error::{Error, Result};
use crate::mounts::Options;
use crate::spec::contained;

/// How the container's cgroups appear at a `cgroup` mount.
#[derive(Clone)]
pub enum CgroupMount {
    /// v1: one bind of the container's directory per hierarchy, keyed by the
    /// hierarchy's directory name (`memory`, `cpu,cpuacct`, `name=systemd` → `systemd`).
    V1(Vec<(String, PathBuf)>),
    /// v2: a fresh cgroup2 mount when the container has a cgroup namespace,
    /// otherwise a bind of its directory.
    V2 { host_dir: PathBuf, cgroupns: bool },
}

pub struct Rootfs<'a> {
    pub path: &'a Path,
    pub spec: &'a Spec,
    pub in_userns: bool,
    pub cgroup: &'a CgroupMount,
}

/// runc's default devices; each node gets mode 0666 and is owned by root of the
/// container.
const DEFAULT_DEVICES: [(&str, u64, u64); 6] = [
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

impl Rootfs<'_> {
    /// Everything up to (not including) pivot_root: propagation, the rootfs bind,
    /// mounts, devices.
    pub fn mount_all(&self) -> Result<()> {
        let linux = self.spec.linux().as_ref();
        let root_prop = match linux.and_then(|l| l.rootfs_propagation().as_deref()) {
            Some("shared") | Some("rshared") => MsFlags::MS_SHARED,
            Some("slave") | Some("rslave") => MsFlags::MS_SLAVE,
            Some("unbindable") | Some("runbindable") => MsFlags::MS_UNBINDABLE,
            Some("private") | Some("rprivate") | None | Some("") => MsFlags::MS_PRIVATE,
            Some(other) => {
                return Err(Error::InvalidSpec(format!("unknown rootfsPropagation {other:?}")));
            }
        };
        // Without this, every mount below would propagate back to the host's
        // (usually shared) root.
        mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | root_prop, None::<&str>)
            .map_err(Error::sys("make / private"))?;
        // pivot_root needs the new root to be a mount point.
        mount(Some(self.path), self.path, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
            .map_err(Error::sys(format!("bind rootfs {}", self.path.display())))?;
        let root = open_dir(self.path)?;

        let mut dev_is_bound = false;
        for m in self.spec.mounts().iter().flatten() {
            let dest = contained("mount destination", m.destination())?;
            let opts = Options::parse(m.options().as_deref().unwrap_or_default());
            if dest == Path::new("/dev") && opts.is_bind() {
                dev_is_bound = true;
            }
            self.mount_one(&root, m, &dest, &opts)
                .map_err(|e| Error::Init(format!("mount {}: {e}", dest.display())))?;
        }
        if !dev_is_bound {
            self.create_devices(&root)?;
        }
        Ok(())
    }

    fn mount_one(&self, root: &OwnedFd, m: &Mount, dest: &Path, opts: &Options) -> Result<()> {
        let typ = m.typ().as_deref().unwrap_or("none");
        let source = m.source().clone().unwrap_or_else(|| PathBuf::from(typ));
        if typ == "cgroup" {
            return self.mount_cgroup(root, dest, opts);
        }
        if opts.is_bind() {
            bind(root, dest, &source, opts)?;
        } else {
            let target = make_target(root, dest, true)?;
            let target_path = fd_path(&target);
            let data = (!opts.data.is_empty()).then_some(opts.data.as_str());
            let res = mount(Some(&source), &target_path, Some(typ), opts.flags, data);
            match (res, typ) {
                (Ok(()), _) => {}
                // In a user namespace that does not own the network namespace (sysfs)
                // or the ipc namespace (mqueue), the kernel refuses a fresh instance:
                // fall back to the host's, as runc does.
                (Err(nix::Error::EPERM), "sysfs" | "mqueue") => {
                    let host = if typ == "sysfs" { "/sys" } else { "/dev/mqueue" };
                    let mut o = Options::parse(&["rbind".to_string()]);
                    o.flags |= opts.flags;
                    bind(root, dest, Path::new(host), &o)?;
                }
                (Err(e), _) => return Err(Error::sys(format!("mount {typ}"))(e)),
            }
        }
        apply_propagation_and_attrs(&fd_path(&open_in_root(root, dest, libc::O_PATH, 0)?), opts)
    }

    fn mount_cgroup(&self, root: &OwnedFd, dest: &Path, opts: &Options) -> Result<()> {
        let target = make_target(root, dest, true)?;
        let target_path = fd_path(&target);
        let ro = opts.flags.contains(MsFlags::MS_RDONLY);
        let base = opts.flags & (MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC);
        match self.cgroup {
            CgroupMount::V2 { cgroupns: true, .. } => {
                mount(Some("cgroup"), &target_path, Some("cgroup2"), opts.flags, None::<&str>)
                    .map_err(Error::sys("mount cgroup2"))?;
            }
            CgroupMount::V2 { host_dir, cgroupns: false } => {
                bind(root, dest, host_dir, opts)?;
            }
            CgroupMount::V1(hierarchies) => {
                mount(Some("tmpfs"), &target_path, Some("tmpfs"), base, Some("mode=755"))
                    .map_err(Error::sys("mount cgroup tmpfs"))?;
                let dir = open_in_root(root, dest, libc::O_PATH | libc::O_DIRECTORY, 0)?;
                for (name, host_dir) in hierarchies {
                    let mut o = Options::parse(&["rbind".to_string()]);
                    o.flags |= base | (opts.flags & MsFlags::MS_RDONLY);
                    bind(root, &dest.join(name), host_dir, &o)?;
                    // Comounted hierarchies ("cpu,cpuacct") are also reachable by each
                    // controller's own name, as on the host.
                    if name.contains(',') {
                        for part in name.split(',') {
                            symlink_at(&dir, name, part)?;
                        }
                    }
                }
                if ro {
                    // The fd opened before the tmpfs mount is the directory under it.
                    let mounted = open_in_root(root, dest, libc::O_PATH | libc::O_DIRECTORY, 0)?;
                    remount(&fd_path(&mounted), base | MsFlags::MS_RDONLY)?;
                }
            }
        }
        Ok(())
    }

    fn create_devices(&self, root: &OwnedFd) -> Result<()> {
        let old = nix::sys::stat::umask(Mode::empty());
        let res = (|| {
            for (path, major, minor) in DEFAULT_DEVICES {
                self.create_device(root, Path::new(path), SFlag::S_IFCHR, major, minor, 0o666, 0, 0)?;
            }
            if let Some(devices) = self.spec.linux().as_ref().and_then(|l| l.devices().as_ref()) {
                for d in devices {
                    self.spec_device(root, d)?;
                }
            }
            let dev = open_in_root(root, Path::new("/dev"), libc::O_PATH | libc::O_DIRECTORY, 0)?;
            for (name, target) in [
                ("fd", "/proc/self/fd"),
                ("stdin", "/proc/self/fd/0"),
                ("stdout", "/proc/self/fd/1"),
                ("stderr", "/proc/self/fd/2"),
                ("core", "/proc/kcore"),
                ("ptmx", "pts/ptmx"),
            ] {
                symlink_at(&dev, target, name)?;
            }
            Ok(())
        })();
        nix::sys::stat::umask(old);
        res
    }

    fn spec_device(&self, root: &OwnedFd, d: &LinuxDevice) -> Result<()> {
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            LinuxDeviceType::A => {
                return Err(Error::InvalidSpec(format!(
                    "device {}: type 'a' is only valid in cgroup rules",
                    d.path().display()
                )));
            }
        };
        let path = contained("device path", d.path())?;
        self.create_device(
            root,
            &path,
            kind,
            d.major() as u64,
            d.minor() as u64,
            d.file_mode().unwrap_or(0o666),
            d.uid().unwrap_or(0),
            d.gid().unwrap_or(0),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn create_device(
        &self,
        root: &OwnedFd,
        path: &Path,
        kind: SFlag,
        major: u64,
        minor: u64,
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> Result<()> {
        let parent = path.parent().unwrap_or(Path::new("/"));
        let name = path.file_name().ok_or_else(|| Error::InvalidSpec(format!("device path {}", path.display())))?;
        mkdir_all_in_root(root, parent)?;
        let dir = open_in_root(root, parent, libc::O_PATH | libc::O_DIRECTORY, 0)?;
        let cname = CString::new(name.as_bytes()).map_err(|_| Error::InvalidSpec("NUL in device path".into()))?;
        if self.in_userns {
            // mknod is refused in a user namespace: bind the host's node instead.
            let o = Options::parse(&["bind".to_string()]);
            return bind(root, path, path, &o);
        }
        // SAFETY: dir is a valid directory fd and cname a NUL-terminated name.
        let rc = unsafe {
            libc::mknodat(
                dir.as_raw_fd(),
                cname.as_ptr(),
                kind.bits() | (mode & 0o7777),
                libc::makedev(major as u32, minor as u32),
            )
        };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EEXIST) {
                return Err(Error::io(format!("mknod {}", path.display()))(e));
            }
            // An existing node (from the image) is replaced by the one the spec asks for.
            // SAFETY: as above.
            unsafe { libc::unlinkat(dir.as_raw_fd(), cname.as_ptr(), 0) };
            // SAFETY: as above.
            let rc = unsafe {
                libc::mknodat(dir.as_raw_fd(), cname.as_ptr(), kind.bits() | (mode & 0o7777), libc::makedev(major as u32, minor as u32))
            };
            if rc != 0 {
                return Err(Error::io(format!("mknod {}", path.display()))(std::io::Error::last_os_error()));
            }
        }
        // SAFETY: as above; AT_SYMLINK_NOFOLLOW keeps the chown on the node itself.
        let rc = unsafe { libc::fchownat(dir.as_raw_fd(), cname.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW) };
        if rc != 0 {
            return Err(Error::io(format!("chown {}", path.display()))(std::io::Error::last_os_error()));
        }
        Ok(())
    }
}

/// Moves the process into `rootfs`: pivot_root, then detach the old root so nothing
/// of the host stays reachable. `no_pivot` uses MS_MOVE + chroot (for ramfs roots).
pub fn pivot(rootfs: &Path, no_pivot: bool) -> Result<()> {
    nix::unistd::chdir(rootfs).map_err(Error::sys(format!("chdir {}", rootfs.display())))?;
    if no_pivot {
        mount(Some("."), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>).map_err(Error::sys("move rootfs to /"))?;
        nix::unistd::chroot(".").map_err(Error::sys("chroot"))?;
    } else {
        // pivot_root(".", ".") stacks the old root on top of the new one at "/";
        // it is then unmounted lazily, leaving only the new root.
        nix::unistd::pivot_root(".", ".").map_err(Error::sys("pivot_root"))?;
        // Make the old root a slave first, so the unmount does not propagate to the host.
        mount(None::<&str>, ".", None::<&str>, MsFlags::MS_SLAVE | MsFlags::MS_REC, None::<&str>)
            .map_err(Error::sys("make old root rslave"))?;
        umount2(".", MntFlags::MNT_DETACH).map_err(Error::sys("detach old root"))?;
    }
    nix::unistd::chdir("/").map_err(Error::sys("chdir /"))
}

/// After pivot: hide `masked` paths (/dev/null over files, an empty read-only tmpfs
/// over directories) and make `readonly` paths read-only; missing paths are skipped.
pub fn mask_and_protect(spec: &Spec) -> Result<()> {
    let Some(linux) = spec.linux() else { return Ok(()) };
    for p in linux.readonly_paths().iter().flatten() {
        match mount(Some(p.as_str()), p.as_str(), None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>) {
            Err(nix::Error::ENOENT) => continue,
            r => r.map_err(Error::sys(format!("bind readonly path {p}")))?,
        }
        remount(Path::new(p), MsFlags::MS_RDONLY | MsFlags::MS_REC)?;
    }
    for p in linux.masked_paths().iter().flatten() {
        let meta = match std::fs::metadata(p) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(format!("masked path {p}"))(e)),
        };
        let res = if meta.is_dir() {
            mount(Some("tmpfs"), p.as_str(), Some("tmpfs"), MsFlags::MS_RDONLY, None::<&str>)
        } else {
            mount(Some("/dev/null"), p.as_str(), None::<&str>, MsFlags::MS_BIND, None::<&str>)
        };
        res.map_err(Error::sys(format!("mask {p}")))?;
    }
    Ok(())
}

/// Remounts / read-only (root.readonly), keeping the flags the kernel has locked.
pub fn readonly_root() -> Result<()> {
    remount(Path::new("/"), MsFlags::MS_RDONLY)
}

/// Re-applies rootfsPropagation to the new "/" once it is in place.
pub fn root_propagation(spec: &Spec) -> Result<()> {
    let flag = match spec.linux().as_ref().and_then(|l| l.rootfs_propagation().as_deref()) {
        Some("shared") => MsFlags::MS_SHARED,
        Some("rshared") => MsFlags::MS_SHARED | MsFlags::MS_REC,
        Some("slave") => MsFlags::MS_SLAVE,
        Some("rslave") => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        Some("private") => MsFlags::MS_PRIVATE,
        Some("rprivate") => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        Some("unbindable") => MsFlags::MS_UNBINDABLE,
        Some("runbindable") => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return Ok(()),
    };
    mount(None::<&str>, "/", None::<&str>, flag, None::<&str>).map_err(Error::sys("set rootfs propagation"))
}

/// Binds host `source` at `dest` inside `root` (a directory or a file, as the source
/// is), then applies the flags a bind only takes by remounting.
fn bind(root: &OwnedFd, dest: &Path, source: &Path, opts: &Options) -> Result<()> {
    let src_is_dir = std::fs::metadata(source)
        .map_err(Error::io(format!("bind source {}", source.display())))?
        .is_dir();
    let target = make_target(root, dest, src_is_dir)?;
    let flags = MsFlags::MS_BIND | (opts.flags & MsFlags::MS_REC);
    mount(Some(source), &fd_path(&target), None::<&str>, flags, None::<&str>)
        .map_err(Error::sys(format!("bind {}", source.display())))?;
    let extra = opts.bind_remount_flags();
    if !extra.is_empty() {
        // Reopen: the fd taken before the bind is the inode underneath it.
        let mounted = open_in_root(root, dest, libc::O_PATH, 0)?;
        remount(&fd_path(&mounted), extra)?;
    }
    Ok(())
}

/// A bind remount with `flags`; when the kernel refuses (EPERM: flags locked by a user
/// namespace), retry keeping the flags the mount already has, as runc does.
fn remount(target: &Path, flags: MsFlags) -> Result<()> {
    let base = MsFlags::MS_BIND | MsFlags::MS_REMOUNT;
    match mount(None::<&str>, target, None::<&str>, base | flags, None::<&str>) {
        Err(nix::Error::EPERM) => {
            let locked = locked_flags(target)?;
            mount(None::<&str>, target, None::<&str>, base | flags | locked, None::<&str>)
                .map_err(Error::sys(format!("remount {}", target.display())))
        }
        r => r.map_err(Error::sys(format!("remount {}", target.display()))),
    }
}

fn locked_flags(target: &Path) -> Result<MsFlags> {
    use nix::sys::statvfs::FsFlags;
    let st = nix::sys::statvfs::statvfs(target).map_err(Error::sys(format!("statvfs {}", target.display())))?;
    let f = st.flags();
    let mut flags = MsFlags::empty();
    for (s, m) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(s) {
            flags |= m;
        }
    }
    Ok(flags)
}

fn apply_propagation_and_attrs(target: &Path, opts: &Options) -> Result<()> {
    for p in &opts.propagation {
        mount(None::<&str>, target, None::<&str>, *p, None::<&str>)
            .map_err(Error::sys(format!("set propagation on {}", target.display())))?;
    }
    if opts.recursive_attr != 0 {
        let path = CString::new(target.as_os_str().as_bytes()).expect("fd path has no NUL");
        let attr = libc::mount_attr { attr_set: opts.recursive_attr, attr_clr: 0, propagation: 0, userns_fd: 0 };
        // SAFETY: path is NUL-terminated and attr is a valid mount_attr of the size passed.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_mount_setattr,
                libc::AT_FDCWD,
                path.as_ptr(),
                libc::AT_RECURSIVE as libc::c_uint,
                &attr as *const libc::mount_attr,
                std::mem::size_of::<libc::mount_attr>(),
            )
        };
        if rc != 0 {
            return Err(Error::io(format!("mount_setattr {}", target.display()))(std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// The /proc path through which a mount reaches exactly the inode `fd` resolved to.
pub fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

pub fn open_dir(path: &Path) -> Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| Error::InvalidSpec("NUL in path".into()))?;
    // SAFETY: c is NUL-terminated; the returned fd is owned below.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Error::io(format!("open {}", path.display()))(std::io::Error::last_os_error()));
    }
    // SAFETY: fd was just returned by open and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// openat2(root, path, RESOLVE_IN_ROOT): `..` and absolute symlinks stop at `root`.
pub fn open_in_root(root: &OwnedFd, path: &Path, flags: i32, mode: u32) -> Result<OwnedFd> {
    let rel = path.strip_prefix("/").unwrap_or(path);
    let rel = if rel.as_os_str().is_empty() { Path::new(".") } else { rel };
    let c = CString::new(rel.as_os_str().as_bytes()).map_err(|_| Error::InvalidSpec("NUL in path".into()))?;
    // SAFETY: open_how is plain data; all-zero is its documented empty value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.mode = if flags & libc::O_CREAT != 0 { mode as u64 } else { 0 };
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    loop {
        // SAFETY: c is NUL-terminated, how is a valid open_how of the size passed.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root.as_raw_fd(),
                c.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        } as RawFd;
        if fd >= 0 {
            // SAFETY: fd was just returned by openat2 and is owned by nobody else.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        let e = std::io::Error::last_os_error();
        // EAGAIN: a concurrent rename raced the lookup; the kernel asks us to retry.
        if e.raw_os_error() != Some(libc::EAGAIN) {
            return Err(Error::io(format!("open {} in rootfs", path.display()))(e));
        }
    }
}

/// mkdir -p of `path` inside `root`. Symlinks met on the way are followed as the
/// container would see them (absolute targets restart at the rootfs, `..` stops at
/// it), so the directories are created where the container will look, never outside.
pub fn mkdir_all_in_root(root: &OwnedFd, path: &Path) -> Result<()> {
    use std::collections::VecDeque;
    use std::path::Component;
    let mut todo: VecDeque<PathBuf> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(PathBuf::from(n)),
            Component::ParentDir => Some(PathBuf::from("..")),
            _ => None,
        })
        .collect();
    let mut cur = PathBuf::from("/");
    let mut links = 0;
    while let Some(comp) = todo.pop_front() {
        if comp == Path::new("..") {
            cur.pop();
            continue;
        }
        let parent = open_in_root(root, &cur, libc::O_PATH | libc::O_DIRECTORY, 0)?;
        let name = CString::new(comp.as_os_str().as_bytes()).map_err(|_| Error::InvalidSpec("NUL in path".into()))?;
        let ctx = |what: &str| format!("{what} {} in rootfs", cur.join(&comp).display());
        match nix::sys::stat::fstatat(&parent, name.as_c_str(), nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFLNK => {
                links += 1;
                if links > 40 {
                    return Err(Error::InvalidSpec(ctx("too many symlinks resolving")));
                }
                let target = nix::fcntl::readlinkat(&parent, name.as_c_str()).map_err(Error::sys(ctx("readlink")))?;
                let target = PathBuf::from(target);
                if target.is_absolute() {
                    cur = PathBuf::from("/");
                }
                for c in target.components().rev() {
                    match c {
                        Component::Normal(n) => todo.push_front(PathBuf::from(n)),
                        Component::ParentDir => todo.push_front(PathBuf::from("..")),
                        _ => {}
                    }
                }
            }
            Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => cur.push(&comp),
            Ok(_) => return Err(Error::InvalidSpec(ctx("not a directory:"))),
            Err(nix::Error::ENOENT) => {
                // SAFETY: parent is a directory fd, name is one NUL-terminated component.
                if unsafe { libc::mkdirat(parent.as_raw_fd(), name.as_ptr(), 0o755) } != 0 {
                    let e = std::io::Error::last_os_error();
                    if e.raw_os_error() != Some(libc::EEXIST) {
                        return Err(Error::io(ctx("mkdir"))(e));
                    }
                }
                cur.push(&comp);
            }
            Err(e) => return Err(Error::sys(ctx("stat"))(e)),
        }
    }
    Ok(())
}

/// Creates `dest` (a directory, or an empty file for binds of files) inside `root`
/// if missing, and returns an O_PATH fd of it to mount on.
pub fn make_target(root: &OwnedFd, dest: &Path, dir: bool) -> Result<OwnedFd> {
    if dir {
        mkdir_all_in_root(root, dest)?;
        return open_in_root(root, dest, libc::O_PATH | libc::O_DIRECTORY, 0);
    }
    if let Some(parent) = dest.parent() {
        mkdir_all_in_root(root, parent)?;
    }
    match open_in_root(root, dest, libc::O_PATH, 0) {
        Ok(fd) => Ok(fd),
        Err(_) => {
            drop(open_in_root(root, dest, libc::O_CREAT | libc::O_RDONLY, 0o644)?);
            open_in_root(root, dest, libc::O_PATH, 0)
        }
    }
}

fn symlink_at(dir: &OwnedFd, target: &str, name: &str) -> Result<()> {
    let t = CString::new(target).expect("static target");
    let n = CString::new(name).map_err(|_| Error::InvalidSpec("NUL in name".into()))?;
    // SAFETY: both strings are NUL-terminated; dir is a directory fd.
    let rc = unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), n.as_ptr()) };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(Error::io(format!("symlink /dev/{name}"))(e));
        }
    }
    Ok(())
}
