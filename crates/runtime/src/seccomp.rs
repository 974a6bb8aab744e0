//! The spec's seccomp profile compiled by libseccomp: default action and errno,
//! per-rule actions and errnos, argument comparisons, architectures and filter flags.
//! Syscall names this libseccomp or architecture does not know are skipped, as runc
//! does, so one profile serves several kernels.

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterAttr, ScmpFilterContext,
    ScmpSyscall,
};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};

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
pub fn compile(profile: &LinuxSeccomp) -> Result<ScmpFilterContext> {
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

pub fn load(filter: &ScmpFilterContext) -> Result<()> {
    filter.load().map_err(err("load filter"))
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
        compile(&profile).unwrap();
    }

    #[test]
    fn notify_is_refused_clearly() {
        let profile: LinuxSeccomp = serde_json::from_value(serde_json::json!({
            "defaultAction": "SCMP_ACT_NOTIFY"
        }))
        .unwrap();
        let e = compile(&profile).err().unwrap().to_string();
        assert!(e.contains("NOTIFY"), "{e}");
    }
}
