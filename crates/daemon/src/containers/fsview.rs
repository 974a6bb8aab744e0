//! A container's filesystem as its processes see it, entered by one thread of berthd
//! for the archive endpoints (`docker cp`). The thread's root becomes the container's
//! root, so every path it resolves (symlinks the container made included) stays in
//! the container: the host's files are not in its view at all.
//!
//! * A live container's mount namespace is joined (`setns`): its rootfs, volumes,
//!   binds and tmpfs, exactly as its processes have them.
//! * A stopped container's snapshot and binds are mounted in a private mount
//!   namespace of the thread's own, then `chroot`ed into; nothing of it is seen by
//!   the host, and the thread unmounts it before it ends.
//!
//! Work runs on that thread in the order it is handed over ([`View::run`],
//! [`View::spawn`]); the thread ends when the [`View`] and its last job are gone.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use api::binds::Bind;

use crate::error::{Error, Result};

/// How the thread enters the container's filesystem.
pub enum Entry {
    /// Join this mount namespace (`/proc/<pid>/ns/mnt` of the container's init).
    Live { mnt_ns: OwnedFd },
    /// Mount the snapshot and the binds over `over` (an existing directory of the
    /// host's, hidden only in the private namespace) and enter it.
    Stopped { rootfs: Vec<image::snapshot::Mount>, binds: Vec<ViewBind>, over: PathBuf },
}

/// A mount of a stopped container's, made in its view.
pub struct ViewBind {
    pub source: BindSource,
    pub destination: String,
    pub read_only: bool,
}

pub enum BindSource {
    /// A host path (a bind's source, a volume's data directory).
    Path(String),
    /// A volume's subpath, resolved beneath its data directory ([`volume::subpath`]).
    Beneath { root: PathBuf, subpath: String },
}

impl From<Bind> for ViewBind {
    fn from(b: Bind) -> ViewBind {
        ViewBind { source: BindSource::Path(b.source), destination: b.destination, read_only: b.read_only }
    }
}

/// The view's root, as the work sees it.
pub struct Root {
    /// `/` of the view.
    fd: OwnedFd,
    /// The host's procfs (the container's own may be absent or of another pid
    /// namespace): where an fd's path is read.
    proc: OwnedFd,
}

impl Root {
    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// The path of what `fd` is open on, as seen from the view's root.
    pub fn path_of(&self, fd: BorrowedFd<'_>) -> std::io::Result<PathBuf> {
        let link = format!("thread-self/fd/{}", fd.as_raw_fd());
        nix::fcntl::readlinkat(&self.proc, link.as_str()).map(PathBuf::from).map_err(std::io::Error::from)
    }
}

type Job = Box<dyn FnOnce(&Root) + Send>;

/// A thread inside a container's filesystem.
pub struct View {
    jobs: mpsc::Sender<Job>,
}

impl View {
    /// Starts the thread and waits until it has entered (or failed to). `keep` is
    /// dropped when the thread is done: a hold of the container, released only after
    /// the stopped view's mounts are gone.
    pub async fn open(entry: Entry, keep: impl Send + 'static) -> Result<View> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready_tx, ready) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("berth-fsview".into())
            .spawn(move || {
                let entered = enter(entry);
                let (root, leave) = match entered {
                    Ok(v) => v,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        drop(keep);
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                while let Ok(job) = queue.recv() {
                    job(&root);
                }
                drop(root);
                leave.run();
                drop(keep);
            })
            .map_err(|e| Error::internal(format!("start a thread for the container's filesystem: {e}")))?;
        ready.await.map_err(|_| Error::internal("the container's filesystem view ended"))??;
        Ok(View { jobs })
    }

    /// Runs `work` in the view and waits for its result.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce(&Root) -> T + Send + 'static) -> Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.spawn(move |root| {
            let _ = tx.send(work(root));
        });
        rx.await.map_err(|_| Error::internal("the container's filesystem view ended"))
    }

    /// Queues `work` without waiting for it.
    pub fn spawn(&self, work: impl FnOnce(&Root) + Send + 'static) {
        let _ = self.jobs.send(Box::new(work));
    }
}

/// What to undo before the thread ends.
enum Leave {
    Nothing,
    /// Back to the host's root (held open for this), then unmount the view.
    Unmount { host_root: OwnedFd, over: PathBuf },
}

impl Leave {
    fn run(self) {
        if let Leave::Unmount { host_root, over } = self {
            // Only this thread's namespace has these mounts: undoing them now (not when
            // the namespace dies with the thread) frees the snapshot for the next
            // mount before the container's hold is released.
            if nix::unistd::fchdir(&host_root).is_ok() && nix::unistd::chroot(".").is_ok() {
                let _ = nix::mount::umount2(&over, nix::mount::MntFlags::MNT_DETACH);
            }
        }
    }
}

fn sys(what: &str) -> impl FnOnce(nix::Error) -> Error + '_ {
    move |e| Error::internal(format!("{what}: {e}"))
}

fn open_dir(path: &Path) -> Result<OwnedFd> {
    runtime::rootfs::open_dir(path).map_err(|e| Error::internal(e.to_string()))
}

fn enter(entry: Entry) -> Result<(Root, Leave)> {
    let proc = open_dir(Path::new("/proc"))?;
    // The thread's root and cwd become its own before it changes them; the mount
    // namespace can only be changed with an unshared fs.
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_FS).map_err(sys("unshare the thread's fs"))?;
    let leave = match entry {
        Entry::Live { mnt_ns } => {
            // Joining a mount namespace moves root and cwd to its root: the container's.
            nix::sched::setns(mnt_ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNS)
                .map_err(sys("join the container's mount namespace"))?;
            Leave::Nothing
        }
        Entry::Stopped { rootfs, binds, over } => {
            let host_root = open_dir(Path::new("/"))?;
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).map_err(sys("unshare the mount namespace"))?;
            let private = nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_PRIVATE;
            nix::mount::mount(None::<&str>, "/", None::<&str>, private, None::<&str>)
                .map_err(sys("make the mounts private"))?;
            image::snapshot::mount_all(&rootfs, &over)
                .map_err(|e| Error::internal(format!("mount the container's filesystem: {e}")))?;
            mount_binds(&over, &binds)?;
            nix::unistd::chroot(&over).map_err(sys("enter the container's filesystem"))?;
            Leave::Unmount { host_root, over }
        }
    };
    nix::unistd::chdir("/").map_err(sys("chdir /"))?;
    let fd = open_dir(Path::new("/"))?;
    Ok((Root { fd, proc }, leave))
}

/// The container's binds and volumes at their destinations in the mounted rootfs
/// (resolved inside it, created when missing, as a start does), outermost first.
fn mount_binds(rootfs: &Path, binds: &[ViewBind]) -> Result<()> {
    use nix::mount::MsFlags;
    let root = open_dir(rootfs)?;
    let mut binds: Vec<&ViewBind> = binds.iter().collect();
    binds.sort_by_key(|b| Path::new(&b.destination).components().count());
    for b in binds {
        let (source, shown) = match &b.source {
            BindSource::Path(p) => {
                let c = CString::new(p.as_str()).map_err(|_| Error::internal(format!("a NUL in {p:?}")))?;
                // SAFETY: c is NUL-terminated; the fd returned is owned below.
                let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
                if fd < 0 {
                    return Err(Error::internal(format!("open {p}: {}", std::io::Error::last_os_error())));
                }
                // SAFETY: fd was just returned by open and is owned by nobody else.
                (unsafe { OwnedFd::from_raw_fd(fd) }, p.clone())
            }
            BindSource::Beneath { root, subpath } => {
                let fd = volume::subpath::open(root, subpath).map_err(|e| Error::not_found(e.to_string()))?;
                (fd, root.join(subpath).display().to_string())
            }
        };
        let is_dir = nix::sys::stat::fstat(&source).map_or(true, |st| st.st_mode & libc::S_IFMT == libc::S_IFDIR);
        let target = runtime::rootfs::make_target(&root, Path::new(&b.destination), is_dir)
            .map_err(|e| Error::internal(format!("mount point {}: {e}", b.destination)))?;
        let target = runtime::rootfs::fd_path(&target);
        let flags = MsFlags::MS_BIND | MsFlags::MS_REC;
        nix::mount::mount(Some(&runtime::rootfs::fd_path(&source)), &target, None::<&str>, flags, None::<&str>)
            .map_err(|e| Error::internal(format!("mount {shown} on {}: {e}", b.destination)))?;
        if b.read_only {
            // The fd above holds the directory under the new mount: look again.
            let top = runtime::rootfs::open_in_root(&root, Path::new(&b.destination), libc::O_PATH, 0)
                .map_err(|e| Error::internal(format!("mount point {}: {e}", b.destination)))?;
            let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
            nix::mount::mount(None::<&str>, &runtime::rootfs::fd_path(&top), None::<&str>, ro, None::<&str>)
                .map_err(|e| Error::internal(format!("make {} read-only: {e}", b.destination)))?;
        }
    }
    Ok(())
}

/// The mount namespace of a live container's init, checked to still be that
/// process's: the pid is pinned by a pidfd first, so a pid reused after the
/// container ended is never joined.
pub fn live_namespace(pid: i32, still_live: impl FnOnce() -> bool) -> Result<Option<OwnedFd>> {
    if pid <= 0 {
        return Ok(None);
    }
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if raw < 0 {
        return Ok(None);
    }
    // SAFETY: raw was just returned by pidfd_open and is owned by nobody else.
    let pidfd = unsafe { OwnedFd::from_raw_fd(raw) };
    let path = CString::new(format!("/proc/{pid}/ns/mnt")).expect("no NUL in a number");
    // SAFETY: path is NUL-terminated; the fd returned is owned below.
    let ns = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if ns < 0 {
        return Ok(None);
    }
    // SAFETY: ns was just returned by open and is owned by nobody else.
    let ns = unsafe { OwnedFd::from_raw_fd(ns) };
    // A pidfd polls readable once its process has exited: then the namespace file
    // may belong to a newer process with the same pid.
    let mut fds = [nix::poll::PollFd::new(pidfd.as_fd(), nix::poll::PollFlags::POLLIN)];
    let exited = nix::poll::poll(&mut fds, nix::poll::PollTimeout::ZERO).map_err(sys("poll the container's pidfd"))? > 0;
    Ok((!exited && still_live()).then_some(ns))
}
