//! A network namespace kept alive by a file: made on a thread of its own (so that no
//! other thread of the caller ever runs in it), its `lo` brought up there, then bound
//! onto the file; removed by unmounting and deleting that file. The kernel frees the
//! namespace once the last process in it and the last mount of it are gone.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;

/// What went wrong with a namespace, and on which file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("create the network namespace {path}: {step}: {source}")]
    Create { path: PathBuf, step: &'static str, source: nix::Error },
    #[error("remove the network namespace {path}: {source}")]
    Remove { path: PathBuf, source: nix::Error },
    #[error("the thread that makes network namespaces failed: {0}")]
    Thread(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A network namespace held by a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Netns {
    path: PathBuf,
}

impl Netns {
    /// Makes a namespace held at `path` (its directory must exist), with `lo` up.
    /// A failure leaves nothing behind.
    pub fn create(path: &Path) -> Result<Netns> {
        let target = path.to_path_buf();
        // unshare(CLONE_NEWNET) moves the calling thread for good: a thread that ends
        // right after takes the move with it.
        std::thread::Builder::new()
            .name("berth-netns".into())
            .spawn(move || make(&target))
            .map_err(|e| Error::Thread(e.to_string()))?
            .join()
            .map_err(|_| Error::Thread("it panicked".into()))??;
        Ok(Netns { path: path.to_path_buf() })
    }

    /// The namespace held at `path`, made earlier.
    pub fn at(path: &Path) -> Netns {
        Netns { path: path.to_path_buf() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Unmounts and deletes the file; a namespace already gone is no error.
    pub fn remove(&self) -> Result<()> {
        let detach = MntFlags::MNT_DETACH | MntFlags::UMOUNT_NOFOLLOW;
        match nix::mount::umount2(&self.path, detach) {
            Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => {}
            Err(source) => return Err(Error::Remove { path: self.path.clone(), source }),
        }
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::Remove { path: self.path.clone(), source: nix::Error::from_raw(e.raw_os_error().unwrap_or(0)) })
            }
            _ => Ok(()),
        }
    }
}

/// On a thread of its own: a new namespace, `lo` up in it, bound onto `path`.
fn make(path: &Path) -> Result<()> {
    let fail = |step: &'static str| {
        let path = path.to_path_buf();
        move |source: nix::Error| Error::Create { path, step, source }
    };
    nix::sched::unshare(CloneFlags::CLONE_NEWNET).map_err(fail("unshare"))?;
    loopback_up().map_err(fail("bring lo up"))?;
    // The mount point: an empty file, made without following a link someone left there.
    let file = nix::fcntl::open(
        path,
        nix::fcntl::OFlag::O_CREAT | nix::fcntl::OFlag::O_EXCL | nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NOFOLLOW,
        nix::sys::stat::Mode::from_bits_truncate(0o444),
    )
    .map_err(fail("create the file"))?;
    drop(file);
    let own = format!("/proc/self/task/{}/ns/net", nix::unistd::gettid());
    if let Err(e) = nix::mount::mount(Some(own.as_str()), path, None::<&str>, MsFlags::MS_BIND, None::<&str>) {
        let _ = std::fs::remove_file(path);
        return Err(fail("bind it")(e));
    }
    Ok(())
}

/// Sets IFF_UP on `lo` in the calling thread's namespace: the kernel then gives it
/// 127.0.0.1/8 and ::1 by itself.
fn loopback_up() -> nix::Result<()> {
    let sock: OwnedFd = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    let name = CString::new("lo").expect("no NUL");
    // SAFETY: an all-zero ifreq is a valid value of this plain C struct.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(name.as_bytes_with_nul()) {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the flags of the interface named in `req`, a valid,
    // writable ifreq, through a socket we own.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } < 0 {
        return Err(nix::Error::last());
    }
    // SAFETY: the union's flags member is the one SIOCGIFFLAGS filled in.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS writes the flags in `req`, a valid ifreq, through our socket.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } < 0 {
        return Err(nix::Error::last());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> bool {
        nix::unistd::geteuid().is_root()
    }

    /// The namespace is a real one of its own, its lo up with 127.0.0.1, and nothing
    /// is left once it is removed.
    #[test]
    fn a_namespace_is_made_with_lo_up_and_removed() {
        if !root() {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "needs root under CI");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ns");
        let ns = Netns::create(&path).unwrap();
        let ours = std::fs::metadata("/proc/self/ns/net").unwrap();
        let theirs = std::fs::metadata(ns.path()).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_ne!(ours.ino(), theirs.ino(), "a namespace of its own");
        // In it, on another thread: lo is up, so 127.0.0.1 can be bound (with lo down
        // the address is not there: EADDRNOTAVAIL).
        let p = path.clone();
        let bound = std::thread::spawn(move || {
            let f = std::fs::File::open(&p).unwrap();
            nix::sched::setns(&f, CloneFlags::CLONE_NEWNET).unwrap();
            std::net::TcpListener::bind("127.0.0.1:0").map(|_| ())
        })
        .join()
        .unwrap();
        assert!(bound.is_ok(), "{bound:?}");
        // Creating twice on one path fails and leaves the first alone.
        assert!(Netns::create(&path).is_err());
        ns.remove().unwrap();
        assert!(!path.exists());
        ns.remove().unwrap();
    }
}
