//! A second guard against CVE-2019-5736 for containers granted CAP_SYS_PTRACE, which
//! lets their processes pass the kernel's check on non-dumpable processes: before
//! creating such a container (or exec'ing into it), the runtime re-executes itself from
//! a sealed memfd copy of its binary. /proc/<pid>/exe of every runtime process that
//! enters the container then names that copy, which nothing can write to, never the
//! host's berth-runtime.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::error::{Error, Result};

const MARKER: &str = "_BERTH_RUNTIME_SEALED";

/// Re-executes the current process from a sealed copy of its binary, with the same
/// arguments and environment. Returns at once in the re-executed process.
pub fn reexec() -> Result<()> {
    if std::env::var_os(MARKER).is_some() {
        // SAFETY: single-threaded at this point of main.
        unsafe { std::env::remove_var(MARKER) };
        return Ok(());
    }
    let mut exe = File::open("/proc/self/exe").map_err(Error::io("open /proc/self/exe"))?;
    let name = CString::new("berth-runtime").expect("static name");
    // SAFETY: memfd_create with a NUL-terminated name and flags; the fd is owned below.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return Err(Error::io("memfd_create")(std::io::Error::last_os_error()));
    }
    // SAFETY: fd was just created and is owned by nobody else.
    let memfd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut copy = File::from(memfd);
    std::io::copy(&mut exe, &mut copy).map_err(Error::io("copy the runtime binary"))?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl on a valid memfd.
    if unsafe { libc::fcntl(copy.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
        return Err(Error::io("seal the runtime copy")(std::io::Error::last_os_error()));
    }
    // SAFETY: single-threaded at this point of main.
    unsafe { std::env::set_var(MARKER, "1") };
    let args: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(std::os::unix::ffi::OsStrExt::as_bytes(a.as_os_str())).expect("argv has no NUL"))
        .collect();
    let env: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.into_encoded_bytes();
            kv.push(b'=');
            kv.extend(v.into_encoded_bytes());
            CString::new(kv).ok()
        })
        .collect();
    let e = nix::unistd::fexecve(&copy, &args, &env).unwrap_err();
    Err(Error::sys("re-exec from the sealed copy")(e))
}
