//! Idmapped container filesystems, on the real kernel: busybox's files (host uid 0 on
//! disk) belong to root of a user namespace mapping 0 → 300000, what that root writes
//! is stored as uid 0, and the read-only view of a mounted container shows the disk.

use std::ffi::CString;
use std::fs;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::super::{Driver, Idmap, Layer, Mount, Snapshotter, mount_all_idmapped, read_only_view};
use super::{mount_at, root};
use crate::digest::Digest;
use crate::layer::Compression;
use crate::layer::testutil::{MountGuard, is_root};

const BASE: u32 = 300000;

/// A user namespace mapping 0..65536 to BASE..: a child made in it, its maps written,
/// its namespace opened, the child let go.
fn userns() -> OwnedFd {
    let mut p = [0; 2];
    // SAFETY: p has room for the two fds pipe2 writes.
    assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: without CLONE_VM a null stack makes clone behave as fork; the child only
    // calls read and _exit.
    let pid = unsafe { libc::syscall(libc::SYS_clone, libc::CLONE_NEWUSER | libc::SIGCHLD, 0usize, 0usize, 0usize, 0usize) };
    if pid == 0 {
        let mut b = 0u8;
        // SAFETY: plain syscalls on fds this process owns.
        unsafe {
            libc::close(p[1]);
            libc::read(p[0], (&mut b as *mut u8).cast(), 1);
            libc::_exit(0);
        }
    }
    assert!(pid > 0, "clone: {}", std::io::Error::last_os_error());
    for file in ["uid_map", "gid_map"] {
        fs::write(format!("/proc/{pid}/{file}"), format!("0 {BASE} 65536\n")).unwrap();
    }
    let ns = fs::File::open(format!("/proc/{pid}/ns/user")).unwrap();
    // SAFETY: both fds are ours; closing the write end lets the child exit.
    unsafe {
        libc::close(p[1]);
        libc::close(p[0]);
        libc::waitpid(pid as i32, std::ptr::null_mut(), 0);
    }
    ns.into()
}

/// Creates `path` as root of `ns` (a forked child that joins it); the exit status.
fn create_as_container_root(ns: &OwnedFd, path: &Path) -> i32 {
    let c = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: the child makes only raw syscalls before _exit.
    unsafe {
        let pid = libc::fork();
        if pid == 0 {
            let ok = libc::setns(ns.as_raw_fd(), libc::CLONE_NEWUSER) == 0
                && libc::setresgid(0, 0, 0) == 0
                && libc::setresuid(0, 0, 0) == 0
                && libc::open(c.as_ptr(), libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC, 0o644) >= 0;
            libc::_exit(if ok { 0 } else { *libc::__errno_location() });
        }
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
        libc::WEXITSTATUS(status)
    }
}

fn container_through_idmap(driver: Driver) {
    let image = fixture::Image::busybox().expect("busybox fixture");
    let (tmp, mnt) = (root(), root());
    let s = Snapshotter::new(tmp.path(), driver).unwrap();
    let diff_id: Digest = image.diff_id().parse().unwrap();
    let u = s.unpack(vec![Layer::new(diff_id, Compression::Gzip, || Ok(image.layer()))]).unwrap();
    let mounts = s.prepare("ctr", Some(u.chain_id())).unwrap();
    let ns = userns();
    let idmap = Idmap { userns: ns.as_fd(), root_uid: BASE, root_gid: BASE };
    let target = mnt.path().join("ctr");
    fs::create_dir_all(&target).unwrap();
    mount_all_idmapped(&mounts, &target, &idmap).expect("idmapped mount");
    let guard = MountGuard(target.clone());

    let busybox = fs::metadata(target.join("bin/busybox")).unwrap();
    assert_eq!((busybox.uid(), busybox.gid()), (BASE, BASE), "{driver:?}: host view of an image file");
    assert_eq!(create_as_container_root(&ns, &target.join("etc/new")), 0, "{driver:?}: root of the namespace writes");
    assert_eq!(fs::metadata(target.join("etc/new")).unwrap().uid(), BASE);

    // On disk (the upper dir, or the copy's tree): host uid 0, as without remapping.
    let (upper, ro) = match &mounts[0] {
        m if m.fstype == "overlay" => {
            let up = m.options.iter().find_map(|o| o.strip_prefix("upperdir=")).unwrap();
            (Path::new(up).to_path_buf(), read_only_view(&mounts))
        }
        m => (Path::new(&m.source).to_path_buf(), read_only_view(&mounts)),
    };
    assert_eq!(fs::metadata(upper.join("etc/new")).unwrap().uid(), 0, "{driver:?}: stored as uid 0");
    let (view, _g) = mount_at(&ro, mnt.path(), "view");
    assert_eq!(fs::metadata(view.join("etc/new")).unwrap().uid(), 0);
    assert_eq!(fs::metadata(view.join("bin/busybox")).unwrap().uid(), 0);
    assert!(fs::write(view.join("etc/other"), b"").is_err(), "{driver:?}: the view is read-only");
    drop(guard);
}

#[test]
fn container_through_an_idmap_with_overlay() {
    if is_root() {
        container_through_idmap(Driver::Overlay);
    }
}

#[test]
fn container_through_an_idmap_with_the_copy_driver() {
    if is_root() {
        container_through_idmap(Driver::Copy);
    }
}

#[test]
fn read_only_view_stacks_the_upper_dir_as_a_lower_layer() {
    let live = vec![Mount::overlay(vec![
        "index=off".into(),
        "lowerdir=/s/1/fs:/s/0/fs".into(),
        "upperdir=/s/2/fs".into(),
        "workdir=/s/2/work".into(),
    ])];
    let view = read_only_view(&live);
    assert_eq!(view[0].options, ["index=off", "lowerdir=/s/2/fs:/s/1/fs:/s/0/fs", "ro"]);
    let bind = vec![Mount { fstype: "bind".into(), source: "/s/3/fs".into(), options: vec!["rbind".into(), "rw".into()] }];
    assert_eq!(read_only_view(&bind)[0].options, ["rbind", "ro"]);
}
