//! The spec's seccomp profile compiled by libseccomp: default action and errno,
//! per-rule actions and errnos, argument comparisons, architectures and filter flags.
//! Syscall names this libseccomp or architecture does not know are skipped, as runc
//! does, so one profile serves several kernels.
//!
//! Compiling Docker's default profile (some 350 rules) costs milliseconds, on the path
//! of every container start, for the same few profiles each time. So the BPF program
//! libseccomp generates is kept in a cache under the state root, keyed by the whole
//! profile and the libseccomp version; the init loads the program itself with
//! seccomp(2).

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterAttr, ScmpFilterContext,
    ScmpSyscall,
};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};

use std::io::{Read, Seek};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;

use crate::error::{Error, Result};

fn err(context: &str) -> impl FnOnce(libseccomp::error::SeccompError) -> Error + '_ {
    move |e| Error::Seccomp(format!("{context}: {e}"))
}

fn action(a: LinuxSeccompAction, errno: Option<u32>) -> Result<ScmpAction> {
    Ok(match a {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => ScmpAction::KillThread,
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        // EPERM is the spec's default errno for SCMP_ACT_ERRNO.
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(errno.unwrap_or(libc::EPERM as u32) as i32),
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(errno.unwrap_or(libc::EPERM as u32) as u16),
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActNotify => {
            return Err(Error::Seccomp("SCMP_ACT_NOTIFY needs a listener, which berth does not support".into()));
        }
    })
}

fn arch(a: Arch) -> ScmpArch {
    match a {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    }
}

fn op(o: LinuxSeccompOperator, value: u64, value_two: Option<u64>) -> ScmpCompareOp {
    match o {
        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
        // MASKED_EQ compares (arg & value) == valueTwo.
        LinuxSeccompOperator::ScmpCmpMaskedEq => {
            let _ = value_two;
            ScmpCompareOp::MaskedEqual(value)
        }
    }
}

/// Builds the filter without loading it, so errors surface before any state changes.
/// A compiled filter: the BPF program and the flags seccomp(2) loads it with.
#[derive(Debug, Clone)]
pub struct Filter {
    program: Vec<libc::sock_filter>,
    flags: libc::c_ulong,
}

const CACHE_MAGIC: &[u8] = b"berth-seccomp-bpf-2\n";

/// The profile's filter, from `cache` (a directory) when it was compiled before.
pub fn compile(profile: &LinuxSeccomp, cache: Option<&Path>) -> Result<Filter> {
    let flags = filter_flags(profile);
    let key = cache_key(profile)?;
    let entry = cache.map(|dir| dir.join(format!("{:016x}", fnv1a(&key))));
    if let Some(program) = entry.as_deref().and_then(|p| read_cached(p, &key)) {
        return Ok(Filter { program, flags });
    }
    let bytes = export(&build(profile)?)?;
    let program = to_program(&bytes).ok_or_else(|| Error::Seccomp("libseccomp exported a truncated program".into()))?;
    if let (Some(dir), Some(path)) = (cache, entry.as_deref()) {
        // Best effort: a failed write only means compiling again next time.
        let _ = write_cached(dir, path, &key, &bytes);
    }
    Ok(Filter { program, flags })
}

/// Everything the program depends on: the profile and the library that compiles it.
fn cache_key(profile: &LinuxSeccomp) -> Result<Vec<u8>> {
    let v = libseccomp::ScmpVersion::current().map_err(err("libseccomp version"))?;
    let mut key = format!("libseccomp {}.{}.{} api {}\n", v.major, v.minor, v.micro, libseccomp::get_api()).into_bytes();
    serde_json::to_writer(&mut key, profile).map_err(|e| Error::Seccomp(format!("encode profile: {e}")))?;
    Ok(key)
}

/// A file name for a key; the file holds the whole key, so a collision is a miss.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// The cached program when the file is whole (its checksum agrees: a damaged
/// program could let a denied call through) and made for exactly `key`.
fn read_cached(path: &Path, key: &[u8]) -> Option<Vec<libc::sock_filter>> {
    let data = std::fs::read(path).ok()?;
    let (body, sum) = data.split_last_chunk::<8>()?;
    if u64::from_le_bytes(*sum) != fnv1a(body) {
        return None;
    }
    let rest = body.strip_prefix(CACHE_MAGIC)?;
    let (len, rest) = rest.split_first_chunk::<8>()?;
    let key_len = usize::try_from(u64::from_le_bytes(*len)).ok()?;
    let (stored_key, rest) = rest.split_at_checked(key_len)?;
    let (prog_len, program) = rest.split_first_chunk::<8>()?;
    if stored_key != key || usize::try_from(u64::from_le_bytes(*prog_len)).ok()? != program.len() {
        return None;
    }
    to_program(program)
}

/// Written under a name of its own, then renamed: concurrent starts never see half a file.
fn write_cached(dir: &Path, path: &Path, key: &[u8], program: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let mut data = Vec::with_capacity(CACHE_MAGIC.len() + 16 + key.len() + program.len());
    data.extend_from_slice(CACHE_MAGIC);
    data.extend_from_slice(&(key.len() as u64).to_le_bytes());
    data.extend_from_slice(key);
    data.extend_from_slice(&(program.len() as u64).to_le_bytes());
    data.extend_from_slice(program);
    let sum = fnv1a(&data);
    data.extend_from_slice(&sum.to_le_bytes());
    atomic_file::write(path, &data, atomic_file::Durability::Volatile)
}

/// The program bytes as BPF instructions (8 bytes each, native endian).
fn to_program(bytes: &[u8]) -> Option<Vec<libc::sock_filter>> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(8) || bytes.len() / 8 > usize::from(u16::MAX) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(8)
            .map(|c| libc::sock_filter {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect(),
    )
}

/// libseccomp's program, exported through a memfd (the export API writes to an fd).
fn export(filter: &ScmpFilterContext) -> Result<Vec<u8>> {
    // SAFETY: a constant NUL-terminated name and valid flags.
    let fd = unsafe { libc::memfd_create(c"berth-seccomp".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(Error::Seccomp(format!("memfd: {}", std::io::Error::last_os_error())));
    }
    // SAFETY: `fd` was just created and is owned by nothing else.
    let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    filter.export_bpf(&file).map_err(err("export filter"))?;
    let mut bytes = Vec::new();
    file.rewind()
        .and_then(|_| file.read_to_end(&mut bytes))
        .map_err(|e| Error::Seccomp(format!("read exported filter: {e}")))?;
    Ok(bytes)
}

/// The profile's flags as seccomp(2) takes them.
fn filter_flags(profile: &LinuxSeccomp) -> libc::c_ulong {
    profile.flags().iter().flatten().fold(0, |acc, flag| {
        acc | match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
        }
    })
}

/// libseccomp's filter for the profile.
fn build(profile: &LinuxSeccomp) -> Result<ScmpFilterContext> {
    let default = action(profile.default_action(), profile.default_errno_ret())?;
    let mut filter = ScmpFilterContext::new(default).map_err(err("create filter"))?;
    for a in profile.architectures().iter().flatten() {
        let a = arch(*a);
        if a != ScmpArch::Native {
            filter.add_arch(a).map_err(err("add architecture"))?;
        }
    }
    for flag in profile.flags().iter().flatten() {
        let attr = match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => ScmpFilterAttr::CtlLog,
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => ScmpFilterAttr::CtlTsync,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => ScmpFilterAttr::CtlSsb,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => ScmpFilterAttr::CtlWaitkill,
        };
        filter.set_filter_attr(attr, 1).map_err(err("set filter flag"))?;
    }
    // Our own no_new_privs handling decides; libseccomp must not force it.
    filter.set_ctl_nnp(false).map_err(err("clear nnp attribute"))?;
    for rule in profile.syscalls().iter().flatten() {
        let act = action(rule.action(), rule.errno_ret())?;
        if act == default {
            continue; // the kernel would refuse a rule equal to the default action
        }
        let conds: Vec<ScmpArgCompare> = rule
            .args()
            .iter()
            .flatten()
            .map(|a| {
                let cmp = op(a.op(), a.value(), a.value_two());
                let datum = if a.op() == LinuxSeccompOperator::ScmpCmpMaskedEq {
                    a.value_two().unwrap_or(0)
                } else {
                    a.value()
                };
                ScmpArgCompare::new(a.index() as u32, cmp, datum)
            })
            .collect();
        for name in rule.names() {
            let Ok(sc) = ScmpSyscall::from_name(name) else { continue };
            let res = if conds.is_empty() {
                filter.add_rule(act, sc)
            } else {
                filter.add_rule_conditional(act, sc, &conds)
            };
            res.map_err(|e| Error::Seccomp(format!("rule for {name}: {e}")))?;
        }
    }
    Ok(filter)
}

/// Installs the filter on the calling thread (no_new_privs or CAP_SYS_ADMIN needed).
pub fn load(filter: &Filter) -> Result<()> {
    let prog = libc::sock_fprog { len: filter.program.len() as u16, filter: filter.program.as_ptr().cast_mut() };
    // SAFETY: `prog` points to `filter.program`, alive and unchanged for the call; the
    // kernel copies the program.
    let rc = unsafe {
        libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, filter.flags, &prog as *const libc::sock_fprog)
    };
    if rc != 0 {
        return Err(Error::Seccomp(format!("load filter: {}", std::io::Error::last_os_error())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_with_args_and_errno_compiles() {
        let profile: LinuxSeccomp = serde_json::from_value(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "flags": ["SECCOMP_FILTER_FLAG_LOG"],
            "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_NE"}]},
                {"names": ["clone"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
                {"names": ["no_such_syscall_anywhere"], "action": "SCMP_ACT_ERRNO"}
            ]
        }))
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let first = compile(&profile, Some(dir.path())).unwrap();
        let cached = compile(&profile, Some(dir.path())).unwrap();
        assert_eq!(first.program.len(), cached.program.len());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "one cache entry");
        assert_eq!(first.flags, libc::SECCOMP_FILTER_FLAG_LOG);
    }

    #[test]
    fn a_damaged_or_foreign_cache_entry_is_compiled_again() {
        let profile: LinuxSeccomp = serde_json::from_value(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]
        }))
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let good = compile(&profile, Some(dir.path())).unwrap();
        let entry = std::fs::read_dir(dir.path()).unwrap().next().unwrap().unwrap().path();
        let key = cache_key(&profile).unwrap();
        // Truncated, or a byte of the program changed: not used.
        let whole = std::fs::read(&entry).unwrap();
        std::fs::write(&entry, &whole[..whole.len() - 3]).unwrap();
        assert!(read_cached(&entry, &key).is_none());
        let mut flipped = whole.clone();
        let at = flipped.len() - 12;
        flipped[at] ^= 1;
        std::fs::write(&entry, &flipped).unwrap();
        assert!(read_cached(&entry, &key).is_none());
        std::fs::write(&entry, &whole).unwrap();
        assert!(read_cached(&entry, &key).is_some());
        assert_eq!(compile(&profile, Some(dir.path())).unwrap().program.len(), good.program.len());
        // Made for another profile (a name collision): not used.
        assert!(read_cached(&entry, b"another key").is_none());
    }

    #[test]
    fn notify_is_refused_clearly() {
        let profile: LinuxSeccomp = serde_json::from_value(serde_json::json!({
            "defaultAction": "SCMP_ACT_NOTIFY"
        }))
        .unwrap();
        let e = compile(&profile, None).err().unwrap().to_string();
        assert!(e.contains("NOTIFY"), "{e}");
    }
}
