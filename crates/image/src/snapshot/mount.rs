//! Mounting what the snapshotter describes: bind mounts and overlayfs. overlayfs takes
//! its options as one string that the legacy mount(2) limits to a page (4096 bytes),
//! which a deep image (many lowerdirs, long paths) exceeds; those are mounted through
//! the new mount API instead (`fsopen`/`fsconfig`/`fsmount`/`move_mount`), where
//! each lower layer is its own `lowerdir+` parameter (Linux 6.8+) with no total limit.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::mount::{MntFlags, MsFlags};
use serde::{Deserialize, Serialize};

use super::{Error, Result};

/// One mount, as containerd describes them: applied in order on the same target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    /// `overlay` or `bind`.
    pub fstype: String,
    pub source: String,
    /// For `bind`: `rbind`/`bind`, `ro`/`rw`. For `overlay`: its mount options
    /// (`lowerdir=` top first, separated by `:`), plus `ro` for a read-only view.
    pub options: Vec<String>,
}

impl Mount {
    pub(super) fn bind(source: &Path, readonly: bool) -> Mount {
        Mount {
            fstype: "bind".into(),
            source: source.display().to_string(),
            options: vec!["rbind".into(), if readonly { "ro" } else { "rw" }.into()],
        }
    }

    pub(super) fn overlay(options: Vec<String>) -> Mount {
        Mount { fstype: "overlay".into(), source: "overlay".into(), options }
    }

    pub(super) fn readonly(&self) -> bool {
        self.options.iter().any(|o| o == "ro")
    }

    /// The option string handed to mount(2), without the flag-like `ro`/`rw`.
    pub fn data(&self) -> String {
        self.options.iter().filter(|o| *o != "ro" && *o != "rw").cloned().collect::<Vec<_>>().join(",")
    }
}

/// Mounts every mount of `mounts`, in order, on `target` (an existing directory). On
/// failure, what was already mounted is unmounted again.
pub fn mount_all(mounts: &[Mount], target: &Path) -> Result<()> {
    for (done, m) in mounts.iter().enumerate() {
        if let Err(e) = mount_one(m, target) {
            for _ in 0..done {
                let _ = unmount(target);
            }
            return Err(e);
        }
    }
    Ok(())
}

/// A read-only look at the same files, mountable while `mounts` are mounted elsewhere
/// (overlayfs refuses an upper dir in use twice): the upper dir becomes the top lower
/// layer, and a bind becomes read-only.
pub fn read_only_view(mounts: &[Mount]) -> Vec<Mount> {
    mounts
        .iter()
        .map(|m| match m.fstype.as_str() {
            "overlay" => {
                let upper = m.options.iter().find_map(|o| o.strip_prefix("upperdir="));
                let mut options: Vec<String> = m
                    .options
                    .iter()
                    .filter(|o| !["upperdir=", "workdir="].iter().any(|k| o.starts_with(k)) && *o != "rw")
                    .map(|o| match (o.strip_prefix("lowerdir="), upper) {
                        (Some(lowers), Some(upper)) => format!("lowerdir={upper}:{lowers}"),
                        _ => o.clone(),
                    })
                    .collect();
                if !options.iter().any(|o| o == "ro") {
                    options.push("ro".into());
                }
                Mount::overlay(options)
            }
            _ => Mount { fstype: m.fstype.clone(), source: m.source.clone(), options: vec!["rbind".into(), "ro".into()] },
        })
        .collect()
}

/// Unmounts the topmost mount on `target` (never following a symlink there).
pub fn unmount(target: &Path) -> Result<()> {
    nix::mount::umount2(target, MntFlags::UMOUNT_NOFOLLOW).map_err(|e| mount_err(target, "umount", e.into()))
}

pub(super) fn mount_err(target: &Path, op: &str, source: io::Error) -> Error {
    Error::Mount { target: target.to_path_buf(), op: op.to_string(), source }
}

fn mount_one(m: &Mount, target: &Path) -> Result<()> {
    match m.fstype.as_str() {
        "bind" => {
            let mut flags = MsFlags::MS_BIND;
            if m.options.iter().any(|o| o == "rbind") {
                flags |= MsFlags::MS_REC;
            }
            nix::mount::mount(Some(m.source.as_str()), target, None::<&str>, flags, None::<&str>)
                .map_err(|e| mount_err(target, &format!("bind {}", m.source), e.into()))?;
            if m.readonly() {
                // MS_RDONLY is ignored when a bind mount is created; it only takes
                // effect through a remount of the new mount.
                let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
                if let Err(e) = nix::mount::mount(None::<&str>, target, None::<&str>, flags, None::<&str>) {
                    let _ = unmount(target);
                    return Err(mount_err(target, "remount read-only", e.into()));
                }
            }
            Ok(())
        }
        "overlay" => {
            let data = m.data();
            if data.len() < page_size() {
                let flags = if m.readonly() { MsFlags::MS_RDONLY } else { MsFlags::empty() };
                nix::mount::mount(Some("overlay"), target, Some("overlay"), flags, Some(data.as_str()))
                    .map_err(|e| mount_err(target, "mount overlay", e.into()))
            } else {
                mount_overlay_fsconfig(m, target)
            }
        }
        other => Err(mount_err(target, "mount", io::Error::other(format!("unsupported mount type {other:?}")))),
    }
}

/// The limit on mount(2)'s data (the kernel copies one page, NUL included).
pub(super) fn page_size() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok().flatten().map_or(4096, |v| v as usize)
}

pub(super) fn c(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in mount option"))
}

pub(super) fn owned(fd: libc::c_long) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the syscall returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The overlay filesystem context's error log: fsconfig failures are explained there
/// (e.g. "overlayfs: failed to resolve '...'") rather than in errno.
pub(super) fn fs_log(fsfd: &OwnedFd) -> String {
    let mut out = String::new();
    let mut buf = [0u8; 1024];
    for _ in 0..16 {
        // SAFETY: buf is writable for its length; fsfd is a live fs-context fd.
        let n = unsafe { libc::read(fsfd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        out.push_str(String::from_utf8_lossy(&buf[..n as usize]).trim_end());
        out.push_str("; ");
    }
    out
}

pub(super) fn fsconfig(fsfd: &OwnedFd, cmd: libc::c_uint, key: Option<&str>, value: Option<&str>) -> io::Result<()> {
    let key = key.map(c).transpose()?;
    let value = value.map(c).transpose()?;
    let kp = key.as_ref().map_or(std::ptr::null(), |k| k.as_ptr());
    let vp = value.as_ref().map_or(std::ptr::null(), |v| v.as_ptr());
    // SAFETY: fsfd is a live fs-context fd; key/value are NUL-terminated or null as
    // the command requires; aux is unused (0) for these commands.
    let r = unsafe { libc::syscall(libc::SYS_fsconfig, fsfd.as_raw_fd(), cmd, kp, vp, 0 as libc::c_int) };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

fn mount_overlay_fsconfig(m: &Mount, target: &Path) -> Result<()> {
    let err = |op: &str, e: io::Error| mount_err(target, op, e);
    let name = c("overlay").map_err(|e| err("fsopen", e))?;
    // SAFETY: name is NUL-terminated; the result is checked and owned by `owned`.
    let fsfd = owned(unsafe { libc::syscall(libc::SYS_fsopen, name.as_ptr(), libc::FSOPEN_CLOEXEC) })
        .map_err(|e| err("fsopen overlay", e))?;
    let with_log = |op: String, e: io::Error| {
        let log = fs_log(&fsfd);
        mount_err(target, &op, if log.is_empty() { e } else { io::Error::new(e.kind(), format!("{e} ({log})")) })
    };
    for opt in &m.options {
        if opt == "ro" || opt == "rw" {
            continue;
        }
        match opt.split_once('=') {
            Some(("lowerdir", dirs)) => {
                // Appending lower layers one by one, top first, is what lifts the
                // one-page limit: no single string holds them all.
                for d in dirs.split(':') {
                    fsconfig(&fsfd, libc::FSCONFIG_SET_STRING, Some("lowerdir+"), Some(d))
                        .map_err(|e| with_log(format!("fsconfig lowerdir+ {d}"), e))?;
                }
            }
            Some((k, v)) => fsconfig(&fsfd, libc::FSCONFIG_SET_STRING, Some(k), Some(v))
                .map_err(|e| with_log(format!("fsconfig {k}"), e))?,
            None => fsconfig(&fsfd, libc::FSCONFIG_SET_FLAG, Some(opt), None)
                .map_err(|e| with_log(format!("fsconfig {opt}"), e))?,
        }
    }
    fsconfig(&fsfd, libc::FSCONFIG_CMD_CREATE, None, None).map_err(|e| with_log("create overlay".into(), e))?;
    let attrs = if m.readonly() { libc::MOUNT_ATTR_RDONLY } else { 0 };
    // SAFETY: fsfd is a created fs context; flags and attrs are valid constants.
    let mfd = owned(unsafe { libc::syscall(libc::SYS_fsmount, fsfd.as_raw_fd(), libc::FSMOUNT_CLOEXEC, attrs) })
        .map_err(|e| err("fsmount", e))?;
    let empty = c("").map_err(|e| err("move_mount", e))?;
    let tgt = CString::new(target.as_os_str().as_encoded_bytes())
        .map_err(|_| err("move_mount", io::Error::new(io::ErrorKind::InvalidInput, "NUL in target")))?;
    // SAFETY: mfd is a detached mount fd; empty and tgt are NUL-terminated; with
    // MOVE_MOUNT_F_EMPTY_PATH the source is mfd itself.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            mfd.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_FDCWD,
            tgt.as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if r < 0 {
        return Err(err("move_mount", io::Error::last_os_error()));
    }
    Ok(())
}

/// Base overlay options: `index=off` where the kernel knows the parameter (the same
/// committed layers are lowers of many overlays with different uppers, which the
/// inodes index forbids), and metacopy/redirect_dir off when the kernel enables them
/// by default: a layer diff reads plain files and directories from the upper dir,
/// which those features would replace with xattr references into the lowers.
pub(super) fn overlay_base_options() -> Vec<String> {
    let param = |name: &str| std::fs::read_to_string(format!("/sys/module/overlay/parameters/{name}")).ok();
    let mut opts = Vec::new();
    if param("index").is_some() {
        opts.push("index=off".to_string());
    }
    if param("metacopy").is_some_and(|v| v.trim() == "Y") {
        opts.push("metacopy=off".to_string());
    }
    if param("redirect_dir").is_some_and(|v| v.trim() == "Y") {
        opts.push("redirect_dir=off".to_string());
    }
    opts
}
