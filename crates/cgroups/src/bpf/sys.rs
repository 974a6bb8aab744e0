//! The bpf(2) calls behind the device filter, with `union bpf_attr`
//! spelled out as one `#[repr(C)]` struct per command.
//!
//! Each struct is the prefix of `union bpf_attr` that its command reads
//! (offsets as in `include/uapi/linux/bpf.h`, checked at compile time
//! below). The kernel copies `size` bytes, treats the rest of the union as
//! zero, and rejects non-zero bytes it does not know, so a prefix is both
//! forward and backward compatible. Pointers are passed as `u64`
//! (`__aligned_u64`).

use std::io;
use std::mem::{offset_of, size_of};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::asm::Insn;

/// `enum bpf_cmd` values.
#[derive(Debug, Clone, Copy)]
#[repr(u32)]
pub(crate) enum Cmd {
    ProgLoad = 5,
    ProgAttach = 8,
    ProgDetach = 9,
    ProgGetFdById = 13,
    ObjGetInfoByFd = 15,
    ProgQuery = 16,
}

impl Cmd {
    /// The command's name in the kernel headers, for error messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Cmd::ProgLoad => "BPF_PROG_LOAD",
            Cmd::ProgAttach => "BPF_PROG_ATTACH",
            Cmd::ProgDetach => "BPF_PROG_DETACH",
            Cmd::ProgGetFdById => "BPF_PROG_GET_FD_BY_ID",
            Cmd::ObjGetInfoByFd => "BPF_OBJ_GET_INFO_BY_FD",
            Cmd::ProgQuery => "BPF_PROG_QUERY",
        }
    }
}

/// `BPF_PROG_TYPE_CGROUP_DEVICE` (`enum bpf_prog_type`).
const PROG_TYPE_CGROUP_DEVICE: u32 = 15;
/// `BPF_CGROUP_DEVICE` (`enum bpf_attach_type`).
const ATTACH_CGROUP_DEVICE: u32 = 6;
/// `BPF_F_ALLOW_MULTI`: several programs may be attached to the cgroup
/// (and its descendants may add their own); all of them must allow an
/// access. This is what lets a new program be attached before the old one
/// is detached.
const F_ALLOW_MULTI: u32 = 2;
/// `BPF_OBJ_NAME_LEN`.
pub(crate) const OBJ_NAME_LEN: usize = 16;

/// The `BPF_PROG_LOAD` part of `union bpf_attr` (up to
/// `expected_attach_type`, kernel 4.17+).
#[repr(C, align(8))]
#[derive(Default)]
#[allow(dead_code, reason = "the fields are read by the kernel")]
struct ProgLoadAttr {
    /// offset 0
    prog_type: u32,
    /// offset 4
    insn_cnt: u32,
    /// offset 8: `const struct bpf_insn *`
    insns: u64,
    /// offset 16: `const char *`, NUL-terminated
    license: u64,
    /// offset 24: 0 = no log; 1 = verifier log
    log_level: u32,
    /// offset 28
    log_size: u32,
    /// offset 32: `char *`
    log_buf: u64,
    /// offset 40: only checked for kprobes
    kern_version: u32,
    /// offset 44
    prog_flags: u32,
    /// offset 48: NUL-padded; letters, digits, `_` and `.`
    prog_name: [u8; OBJ_NAME_LEN],
    /// offset 64
    prog_ifindex: u32,
    /// offset 68
    expected_attach_type: u32,
}

/// The `BPF_PROG_ATTACH`/`BPF_PROG_DETACH` part (up to `replace_bpf_fd`).
#[repr(C)]
#[derive(Default)]
#[allow(dead_code, reason = "the fields are read by the kernel")]
struct AttachAttr {
    /// offset 0: the cgroup directory
    target_fd: u32,
    /// offset 4: the program
    attach_bpf_fd: u32,
    /// offset 8
    attach_type: u32,
    /// offset 12
    attach_flags: u32,
    /// offset 16: only with `BPF_F_REPLACE`
    replace_bpf_fd: u32,
}

/// The `BPF_PROG_QUERY` part (up to `prog_cnt`).
#[repr(C, align(8))]
#[derive(Default)]
#[allow(dead_code, reason = "the fields are read by the kernel")]
struct QueryAttr {
    /// offset 0: the cgroup directory
    target_fd: u32,
    /// offset 4
    attach_type: u32,
    /// offset 8: 0 = programs attached to this cgroup only (not inherited)
    query_flags: u32,
    /// offset 12: out, the flags the programs were attached with
    attach_flags: u32,
    /// offset 16: `__u32 *`, out
    prog_ids: u64,
    /// offset 24: in: room in `prog_ids`; out: number of programs
    prog_cnt: u32,
    /// offset 28: padding before `prog_attach_flags`, must be 0
    _pad: u32,
}

/// The `BPF_PROG_GET_FD_BY_ID` part.
#[repr(C)]
#[derive(Default)]
#[allow(dead_code, reason = "the fields are read by the kernel")]
struct GetFdByIdAttr {
    /// offset 0
    prog_id: u32,
    /// offset 4: unused here
    next_id: u32,
    /// offset 8: `BPF_F_RDONLY`/`BPF_F_WRONLY` (maps only)
    open_flags: u32,
}

/// The `BPF_OBJ_GET_INFO_BY_FD` part.
#[repr(C, align(8))]
#[derive(Default)]
#[allow(dead_code, reason = "the fields are read by the kernel")]
struct InfoAttr {
    /// offset 0
    bpf_fd: u32,
    /// offset 4: in: size of `info`; out: bytes written
    info_len: u32,
    /// offset 8: `struct bpf_prog_info *`
    info: u64,
}

/// The start of `struct bpf_prog_info`, up to `name` (kernel 4.15+); the
/// kernel fills at most `info_len` bytes.
#[repr(C, align(8))]
#[derive(Default)]
#[allow(dead_code, reason = "the fields are read by the kernel")]
struct ProgInfo {
    /// offset 0
    prog_type: u32,
    /// offset 4
    id: u32,
    /// offset 8
    tag: [u8; 8],
    /// offset 16
    jited_prog_len: u32,
    /// offset 20
    xlated_prog_len: u32,
    /// offset 24
    jited_prog_insns: u64,
    /// offset 32
    xlated_prog_insns: u64,
    /// offset 40
    load_time: u64,
    /// offset 48
    created_by_uid: u32,
    /// offset 52
    nr_map_ids: u32,
    /// offset 56
    map_ids: u64,
    /// offset 64
    name: [u8; OBJ_NAME_LEN],
}

const _: () = {
    assert!(offset_of!(ProgLoadAttr, insns) == 8);
    assert!(offset_of!(ProgLoadAttr, license) == 16);
    assert!(offset_of!(ProgLoadAttr, log_buf) == 32);
    assert!(offset_of!(ProgLoadAttr, prog_name) == 48);
    assert!(offset_of!(ProgLoadAttr, expected_attach_type) == 68);
    assert!(size_of::<ProgLoadAttr>() == 72);
    assert!(offset_of!(AttachAttr, replace_bpf_fd) == 16);
    assert!(size_of::<AttachAttr>() == 20);
    assert!(offset_of!(QueryAttr, prog_ids) == 16);
    assert!(offset_of!(QueryAttr, prog_cnt) == 24);
    assert!(size_of::<QueryAttr>() == 32);
    assert!(size_of::<GetFdByIdAttr>() == 12);
    assert!(offset_of!(InfoAttr, info) == 8);
    assert!(size_of::<InfoAttr>() == 16);
    assert!(offset_of!(ProgInfo, load_time) == 40);
    assert!(offset_of!(ProgInfo, map_ids) == 56);
    assert!(offset_of!(ProgInfo, name) == 64);
    assert!(size_of::<ProgInfo>() == 80);
};

/// Marks the structs above as valid arguments for bpf(2).
///
/// # Safety
///
/// Implementors must be `#[repr(C)]` prefixes of `union bpf_attr` whose
/// pointer fields, if any, are valid for the kernel to read or write as the
/// command specifies.
unsafe trait Attr {}

// SAFETY: each is a #[repr(C)] prefix of union bpf_attr (offsets asserted
// above); the functions below fill the pointer fields from live buffers.
unsafe impl Attr for ProgLoadAttr {}
// SAFETY: as above.
unsafe impl Attr for AttachAttr {}
// SAFETY: as above.
unsafe impl Attr for QueryAttr {}
// SAFETY: as above.
unsafe impl Attr for GetFdByIdAttr {}
// SAFETY: as above.
unsafe impl Attr for InfoAttr {}

/// One bpf(2) call; returns the (non-negative) result.
fn bpf<A: Attr>(cmd: Cmd, attr: &mut A) -> io::Result<libc::c_long> {
    loop {
        // SAFETY: `attr` is a live, exclusively borrowed bpf_attr prefix of
        // exactly `size_of::<A>()` bytes (the `Attr` contract), whose
        // pointers the callers keep valid for the duration of the call.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                cmd as libc::c_int,
                attr as *mut A,
                size_of::<A>() as libc::c_uint,
            )
        };
        if ret >= 0 {
            return Ok(ret);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// A call that returns a new file descriptor.
fn bpf_fd<A: Attr>(cmd: Cmd, attr: &mut A) -> io::Result<OwnedFd> {
    let fd = bpf(cmd, attr)?;
    let fd = libc::c_int::try_from(fd).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
    // SAFETY: the command returned a new file descriptor that nothing else
    // owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn fd_u32(fd: BorrowedFd<'_>) -> u32 {
    // File descriptors are never negative.
    fd.as_raw_fd() as u32
}

/// Why a program load failed, with the verifier's log if there is one.
pub(crate) struct LoadError {
    pub(crate) source: io::Error,
    pub(crate) log: Option<String>,
}

/// Loads a device program named `name` under `license`.
///
/// The first attempt runs without a log, which is faster and cannot fail
/// for lack of log space (kernels since 6.4 return `ENOSPC` when the log
/// does not fit, even for a valid program). If it fails, the load is
/// repeated with the verifier log enabled (growing the buffer while it is
/// too small) so the error can say why. `EAGAIN` is retried a few times:
/// the verifier returns it when it was interrupted by a signal.
pub(crate) fn prog_load(insns: &[Insn], license: &str, name: &str) -> Result<OwnedFd, LoadError> {
    let license = std::ffi::CString::new(license).expect("license has no NUL");
    let mut prog_name = [0u8; OBJ_NAME_LEN];
    let n = name.len().min(OBJ_NAME_LEN - 1);
    prog_name[..n].copy_from_slice(&name.as_bytes()[..n]);
    let attr = |log: Option<&mut Vec<u8>>| {
        let mut a = ProgLoadAttr {
            prog_type: PROG_TYPE_CGROUP_DEVICE,
            insn_cnt: u32::try_from(insns.len()).unwrap_or(u32::MAX),
            insns: insns.as_ptr() as u64,
            license: license.as_ptr() as u64,
            prog_name,
            expected_attach_type: ATTACH_CGROUP_DEVICE,
            ..ProgLoadAttr::default()
        };
        if let Some(buf) = log {
            a.log_level = 1;
            a.log_size = u32::try_from(buf.len()).unwrap_or(u32::MAX);
            a.log_buf = buf.as_mut_ptr() as u64;
        }
        a
    };
    let load = |mut a: ProgLoadAttr| {
        let mut tries = 0;
        loop {
            match bpf_fd(Cmd::ProgLoad, &mut a) {
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) && tries < 5 => tries += 1,
                other => return other,
            }
        }
    };
    let source = match load(attr(None)) {
        Ok(fd) => return Ok(fd),
        Err(e) => e,
    };
    let mut log = vec![0u8; 64 * 1024];
    loop {
        match load(attr(Some(&mut log))) {
            // Loaded this time after all (say a transient ENOMEM).
            Ok(fd) => return Ok(fd),
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) && log.len() < 16 << 20 => {
                log = vec![0u8; log.len() * 4];
            }
            Err(_) => break,
        }
    }
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    let text = String::from_utf8_lossy(&log[..end]).trim_end().to_string();
    Err(LoadError {
        source,
        log: (!text.is_empty()).then_some(text),
    })
}

/// Attaches a device program to a cgroup, next to the ones already there.
pub(crate) fn prog_attach(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> io::Result<()> {
    let mut a = AttachAttr {
        target_fd: fd_u32(cgroup),
        attach_bpf_fd: fd_u32(prog),
        attach_type: ATTACH_CGROUP_DEVICE,
        attach_flags: F_ALLOW_MULTI,
        ..AttachAttr::default()
    };
    bpf(Cmd::ProgAttach, &mut a).map(drop)
}

/// Detaches one device program from a cgroup.
pub(crate) fn prog_detach(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> io::Result<()> {
    let mut a = AttachAttr {
        target_fd: fd_u32(cgroup),
        attach_bpf_fd: fd_u32(prog),
        attach_type: ATTACH_CGROUP_DEVICE,
        ..AttachAttr::default()
    };
    bpf(Cmd::ProgDetach, &mut a).map(drop)
}

/// The ids of the device programs attached directly to a cgroup (not
/// those inherited from ancestors), in attach order.
pub(crate) fn prog_query(cgroup: BorrowedFd<'_>) -> io::Result<Vec<u32>> {
    let mut ids = vec![0u32; 16];
    loop {
        let mut a = QueryAttr {
            target_fd: fd_u32(cgroup),
            attach_type: ATTACH_CGROUP_DEVICE,
            prog_ids: ids.as_mut_ptr() as u64,
            prog_cnt: u32::try_from(ids.len()).unwrap_or(u32::MAX),
            ..QueryAttr::default()
        };
        match bpf(Cmd::ProgQuery, &mut a) {
            Ok(_) => {
                ids.truncate(a.prog_cnt as usize);
                return Ok(ids);
            }
            // Too many to fit: prog_cnt holds the number; try again with
            // room for them (more may be attached meanwhile).
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => {
                ids = vec![0; (a.prog_cnt as usize).max(ids.len()) * 2];
            }
            Err(e) => return Err(e),
        }
    }
}

/// A file descriptor for the program with id `id`; `None` if it no longer
/// exists (it was detached and freed meanwhile).
pub(crate) fn prog_get_fd_by_id(id: u32) -> io::Result<Option<OwnedFd>> {
    let mut a = GetFdByIdAttr {
        prog_id: id,
        ..GetFdByIdAttr::default()
    };
    match bpf_fd(Cmd::ProgGetFdById, &mut a) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The id and name a program was loaded with.
pub(crate) fn prog_id_and_name(prog: BorrowedFd<'_>) -> io::Result<(u32, String)> {
    let mut info = ProgInfo::default();
    let mut a = InfoAttr {
        bpf_fd: fd_u32(prog),
        info_len: size_of::<ProgInfo>() as u32,
        info: &mut info as *mut ProgInfo as u64,
    };
    bpf(Cmd::ObjGetInfoByFd, &mut a)?;
    let end = info
        .name
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(OBJ_NAME_LEN);
    Ok((
        info.id,
        String::from_utf8_lossy(&info.name[..end]).into_owned(),
    ))
}
