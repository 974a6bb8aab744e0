//! A container's filesystem as seen from its user namespace, through idmapped mounts
//! (mount_setattr MOUNT_ATTR_IDMAP): files owned by host uid 0 on disk appear owned by
//! the container's root, and what the container's root creates is stored on disk as
//! uid 0. Nothing is chowned or copied: the layers stay shared with every other
//! container, remapped or not, and a layer diff reads the same ids as without remapping.
//!
//! overlayfs refuses to be idmapped itself (EINVAL), but it stacks idmapped layers:
//! each lower dir, and the snapshot directory that holds the upper and work dirs
//! (overlayfs wants both on one mount), is cloned with open_tree, idmapped, and handed
//! to the overlay as a file descriptor (FSCONFIG_SET_FD). overlayfs works in its upper
//! layer with the credentials of whoever created the mount, and those must map through
//! the upper layer's idmap (host uid 0 does not: EOVERFLOW, and the overlay falls back
//! to read-only), so the overlay is created on a thread of its own whose fsuid/fsgid
//! are the container root's host ids, with its capabilities kept.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::mount::{c, fs_log, fsconfig, mount_err, owned};
use super::{Mount, Result};

/// The user namespace whose mappings the mounts take, and the host ids its root is.
#[derive(Debug, Clone, Copy)]
pub struct Idmap<'a> {
    pub userns: BorrowedFd<'a>,
    pub root_uid: u32,
    pub root_gid: u32,
}

/// [`super::mount_all`] through `idmap`: the same mounts on `target`, each layer idmapped.
pub fn mount_all_idmapped(mounts: &[Mount], target: &Path, idmap: &Idmap) -> Result<()> {
    for (done, m) in mounts.iter().enumerate() {
        let res = match m.fstype.as_str() {
            "bind" => bind(m, target, idmap),
            "overlay" => overlay(m, target, idmap),
            other => Err(mount_err(target, "mount", io::Error::other(format!("unsupported mount type {other:?}")))),
        };
        if let Err(e) = res {
            for _ in 0..done {
                let _ = super::unmount(target);
            }
            return Err(e);
        }
    }
    Ok(())
}

fn cpath(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))
}

/// A detached copy of the mount at `path` (that one mount, not those below it),
/// idmapped through `idmap`, with `attrs` (e.g. MOUNT_ATTR_RDONLY) set as well.
fn clone_idmapped(path: &Path, idmap: &Idmap, attrs: u64) -> io::Result<OwnedFd> {
    let p = cpath(path)?;
    // SAFETY: p is NUL-terminated; the result is checked and owned by `owned`.
    let tree = owned(unsafe {
        libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, p.as_ptr(), libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC)
    })?;
    let attr = libc::mount_attr {
        attr_set: libc::MOUNT_ATTR_IDMAP | attrs,
        attr_clr: 0,
        propagation: 0,
        userns_fd: idmap.userns.as_raw_fd() as u64,
    };
    let empty = c("")?;
    // SAFETY: tree is a detached mount fd, empty is NUL-terminated and attr is a valid
    // mount_attr of the size passed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    if rc != 0 {
        let e = io::Error::last_os_error();
        // EINVAL: the filesystem under `path` cannot be idmapped (or the kernel cannot).
        return Err(io::Error::new(e.kind(), format!("idmap {}: {e}", path.display())));
    }
    Ok(tree)
}

fn move_mount(mount: &OwnedFd, target: &Path) -> Result<()> {
    let err = |e: io::Error| mount_err(target, "move_mount", e);
    let empty = c("").map_err(err)?;
    let tgt = cpath(target).map_err(err)?;
    // SAFETY: mount is a detached mount fd; empty and tgt are NUL-terminated; with
    // MOVE_MOUNT_F_EMPTY_PATH the source is the fd itself.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            mount.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_FDCWD,
            tgt.as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if r < 0 {
        return Err(err(io::Error::last_os_error()));
    }
    Ok(())
}

/// The copying driver's snapshot (or a single layer): one idmapped bind.
fn bind(m: &Mount, target: &Path, idmap: &Idmap) -> Result<()> {
    let attrs = if m.readonly() { libc::MOUNT_ATTR_RDONLY } else { 0 };
    let tree = clone_idmapped(Path::new(&m.source), idmap, attrs).map_err(|e| mount_err(target, "bind", e))?;
    move_mount(&tree, target)
}

fn fsconfig_fd(fsfd: &OwnedFd, key: &str, fd: &OwnedFd) -> io::Result<()> {
    let key = c(key)?;
    // SAFETY: fsfd is a live fs-context fd, key is NUL-terminated, the value pointer
    // is null as FSCONFIG_SET_FD requires and aux is an open fd.
    let r = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fsfd.as_raw_fd(),
            libc::FSCONFIG_SET_FD,
            key.as_ptr(),
            std::ptr::null::<libc::c_char>(),
            fd.as_raw_fd(),
        )
    };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// An O_PATH fd of `name` inside the (detached) mount `tree`.
fn open_in(tree: &OwnedFd, name: &Path) -> io::Result<OwnedFd> {
    let n = cpath(name)?;
    // SAFETY: tree is a directory fd and n a NUL-terminated relative name.
    owned(unsafe { libc::openat(tree.as_raw_fd(), n.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) }
        as libc::c_long)
}

fn overlay(m: &Mount, target: &Path, idmap: &Idmap) -> Result<()> {
    let err = |op: &str, e: io::Error| mount_err(target, op, e);
    let opt = |key: &str| m.options.iter().find_map(|o| o.strip_prefix(key)).map(PathBuf::from);
    // Each layer's idmapped clone lives until the overlay is made; overlayfs keeps
    // private references of its own.
    let mut layers = Vec::new();
    if let Some(lowers) = m.options.iter().find_map(|o| o.strip_prefix("lowerdir=")) {
        for dir in lowers.split(':') {
            layers.push(clone_idmapped(Path::new(dir), idmap, 0).map_err(|e| err("lowerdir", e))?);
        }
    }
    let upper = match (opt("upperdir="), opt("workdir=")) {
        (Some(upper), Some(work)) => {
            let snapshot = upper.parent().filter(|p| work.parent() == Some(*p)).ok_or_else(|| {
                err("overlay", io::Error::other("upperdir and workdir must be in one snapshot directory to be idmapped"))
            })?;
            let tree = clone_idmapped(snapshot, idmap, 0).map_err(|e| err("upperdir", e))?;
            let name = |p: &Path| PathBuf::from(p.file_name().unwrap_or_default());
            let up = open_in(&tree, &name(&upper)).map_err(|e| err("upperdir", e))?;
            let work = open_in(&tree, &name(&work)).map_err(|e| err("workdir", e))?;
            // The tree too: closing the last fd of a detached mount unmounts it, and
            // overlayfs refuses layers that are no longer mounted.
            Some((tree, up, work))
        }
        _ => None,
    };

    let name = c("overlay").map_err(|e| err("fsopen", e))?;
    // SAFETY: name is NUL-terminated; the result is checked and owned by `owned`.
    let fsfd = owned(unsafe { libc::syscall(libc::SYS_fsopen, name.as_ptr(), libc::FSOPEN_CLOEXEC) })
        .map_err(|e| err("fsopen overlay", e))?;
    let with_log = |op: &str, e: io::Error| {
        let log = fs_log(&fsfd);
        mount_err(target, op, if log.is_empty() { e } else { io::Error::new(e.kind(), format!("{e} ({log})")) })
    };
    // Top first, as `lowerdir=` lists them.
    for layer in &layers {
        fsconfig_fd(&fsfd, "lowerdir+", layer).map_err(|e| with_log("fsconfig lowerdir+", e))?;
    }
    if let Some((_, up, work)) = &upper {
        fsconfig_fd(&fsfd, "upperdir", up).map_err(|e| with_log("fsconfig upperdir", e))?;
        fsconfig_fd(&fsfd, "workdir", work).map_err(|e| with_log("fsconfig workdir", e))?;
    }
    for o in &m.options {
        if o == "ro" || o == "rw" || ["lowerdir=", "upperdir=", "workdir="].iter().any(|k| o.starts_with(k)) {
            continue;
        }
        match o.split_once('=') {
            Some((k, v)) => fsconfig(&fsfd, libc::FSCONFIG_SET_STRING, Some(k), Some(v)),
            None => fsconfig(&fsfd, libc::FSCONFIG_SET_FLAG, Some(o), None),
        }
        .map_err(|e| with_log(&format!("fsconfig {o}"), e))?;
    }
    create_as_root_of(&fsfd, idmap).map_err(|e| with_log("create overlay", e))?;
    let attrs = if m.readonly() { libc::MOUNT_ATTR_RDONLY } else { 0 };
    // SAFETY: fsfd is a created fs context; flags and attrs are valid constants.
    let mfd = owned(unsafe { libc::syscall(libc::SYS_fsmount, fsfd.as_raw_fd(), libc::FSMOUNT_CLOEXEC, attrs) })
        .map_err(|e| err("fsmount", e))?;
    move_mount(&mfd, target)
}

/// FSCONFIG_CMD_CREATE with the filesystem access ids of the container's root: the
/// overlay records its creator's credentials then and does all its upper-layer work
/// with them. Credentials are per thread in Linux, so a short-lived thread changes
/// its own and nothing else of the daemon's.
fn create_as_root_of(fsfd: &OwnedFd, idmap: &Idmap) -> io::Result<()> {
    let (uid, gid) = (idmap.root_uid, idmap.root_gid);
    std::thread::scope(|s| {
        s.spawn(|| {
            // Keep the capabilities a change of fsuid away from 0 would clear (the
            // overlay needs CAP_CHOWN, CAP_FOWNER, CAP_MKNOD... for copy-up and whiteouts).
            // SAFETY: prctl with constant arguments, on this thread's credentials only.
            if unsafe { libc::prctl(libc::PR_SET_SECUREBITS, libc::SECBIT_NO_SETUID_FIXUP as libc::c_ulong, 0, 0, 0) }
                != 0
            {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: setfsgid/setfsuid change this thread's filesystem ids only; they
            // report the previous id, so a second call tells whether the first took.
            let changed = unsafe {
                libc::setfsgid(gid);
                libc::setfsuid(uid);
                libc::setfsgid(gid) as u32 == gid && libc::setfsuid(uid) as u32 == uid
            };
            if !changed {
                return Err(io::Error::other(format!("setfsuid {uid}/setfsgid {gid} refused")));
            }
            fsconfig(fsfd, libc::FSCONFIG_CMD_CREATE, None, None)
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the overlay creating thread panicked")))
    })
}
