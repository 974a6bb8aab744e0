//! Compiles [`DeviceRules`] into a `BPF_PROG_TYPE_CGROUP_DEVICE` program.
//!
//! The kernel runs the program for every device access check of a task in
//! the cgroup (`open` of a device node, `mknod`) with a pointer to
//!
//! ```c
//! struct bpf_cgroup_dev_ctx {
//!     __u32 access_type; /* (access << 16) | dev_type */
//!     __u32 major;
//!     __u32 minor;
//! };
//! ```
//!
//! in R1, and allows the access when the program returns 1 (0 denies; the
//! verifier rejects any other return value).
//!
//! # What is compiled
//!
//! The program has to decide exactly like the v1 devices controller, which
//! [`DeviceRules::allows`] models. That is *not* "the last matching rule
//! wins": a deny rule only takes bits away from an exception with the very
//! same type and numbers (`c *:* rwm` then `deny c 1:3 rwm` still allows
//! `c 1:3`), an `a` rule wipes everything before it, and in "allow" mode a
//! request is denied when an exception covers *any* of its bits. So the
//! program is generated from the state the rule list leaves behind — the
//! default verdict and its exceptions, which all carry the opposite verdict
//! — rather than from the raw list. Because every exception has the same
//! verdict, their order cannot change the outcome; they are still emitted
//! last-added first, so the first match in the program is the latest
//! matching exception, and the default comes last:
//!
//! ```text
//!     r2 = *(u32 *)(r1 + 0)        ; access_type
//!     w3 = w2; w3 &= 0xffff        ; device type
//!     w2 >>= 16                    ; requested access
//!     r4 = *(u32 *)(r1 + 4)        ; major
//!     r5 = *(u32 *)(r1 + 8)        ; minor
//!   for each exception, newest first:
//!     if w3 != TYPE goto next
//!     if w4 != MAJOR goto next     ; omitted for a wildcard
//!     if w5 != MINOR goto next     ; omitted for a wildcard
//!     w1 = w2                      ; (the context pointer is no longer needed)
//!     allow: w1 &= ~ACCESS; if w1 != 0 goto next ; request ⊆ rule's access
//!     deny:  w1 &=  ACCESS; if w1 == 0 goto next ; request ∩ rule's access ≠ ∅
//!     r0 = VERDICT; exit
//!   next:
//!     r0 = DEFAULT; exit
//! ```
//!
//! The two access tests are the kernel's `match_exception` (used for the
//! exceptions of a "deny" default, which allow) and
//! `match_exception_partial` (used for those of an "allow" default, which
//! deny).

use super::asm::{Asm, Insn, Reg};
use crate::devices::{Access, DeviceRules, DeviceType, Exception};

/// `BPF_DEVCG_DEV_BLOCK`: the device type of a block device.
pub(crate) const DEV_BLOCK: u32 = 1;
/// `BPF_DEVCG_DEV_CHAR`: the device type of a character device.
pub(crate) const DEV_CHAR: u32 = 2;
/// `BPF_DEVCG_ACC_MKNOD`.
pub(crate) const ACC_MKNOD: u32 = 1;
/// `BPF_DEVCG_ACC_READ`.
pub(crate) const ACC_READ: u32 = 2;
/// `BPF_DEVCG_ACC_WRITE`.
pub(crate) const ACC_WRITE: u32 = 4;

/// Offsets in `struct bpf_cgroup_dev_ctx`.
pub(crate) const CTX_ACCESS_TYPE: i16 = 0;
pub(crate) const CTX_MAJOR: i16 = 4;
pub(crate) const CTX_MINOR: i16 = 8;

/// The number of instructions before the first rule.
#[cfg(test)]
pub(crate) const PROLOGUE_LEN: usize = 6;

/// Encodes `access` with the BPF bit values, which differ from
/// [`Access`]'s.
pub(crate) fn bpf_access(access: Access) -> u32 {
    [
        (Access::READ, ACC_READ),
        (Access::WRITE, ACC_WRITE),
        (Access::MKNOD, ACC_MKNOD),
    ]
    .into_iter()
    .filter(|&(a, _)| access.contains(a))
    .fold(0, |bits, (_, bit)| bits | bit)
}

/// The program enforcing `rules`, or `None` when they allow everything:
/// then no program is needed (and any previous one has to go).
pub(crate) fn compile(rules: &DeviceRules) -> Option<Vec<Insn>> {
    if rules.allows_all() {
        return None;
    }
    let default_allow = rules.default_allow();
    let mut asm = Asm::new();

    asm.load_u32(Reg::R2, Reg::R1, CTX_ACCESS_TYPE);
    asm.mov32_reg(Reg::R3, Reg::R2);
    asm.and32(Reg::R3, 0xffff);
    asm.rsh32(Reg::R2, 16);
    asm.load_u32(Reg::R4, Reg::R1, CTX_MAJOR);
    asm.load_u32(Reg::R5, Reg::R1, CTX_MINOR);

    for ex in rules.exceptions().iter().rev() {
        // Exceptions contradict the default.
        exception(&mut asm, ex, !default_allow);
    }

    asm.mov64_imm(Reg::R0, i32::from(default_allow));
    asm.exit();
    Some(asm.finish())
}

fn exception(asm: &mut Asm, ex: &Exception, allow: bool) {
    let next = asm.label();
    match ex.typ {
        DeviceType::Char => asm.jne32(Reg::R3, DEV_CHAR, next),
        DeviceType::Block => asm.jne32(Reg::R3, DEV_BLOCK, next),
        // Never kept as an exception (an `a` rule resets the default), but
        // it would match both types.
        DeviceType::All => {}
    }
    if let Some(major) = ex.major {
        asm.jne32(Reg::R4, major, next);
    }
    if let Some(minor) = ex.minor {
        asm.jne32(Reg::R5, minor, next);
    }
    let bits = bpf_access(ex.access);
    asm.mov32_reg(Reg::R1, Reg::R2);
    if allow {
        // Allowed only if this exception grants every requested bit (bits
        // the kernel might add later are never granted).
        asm.and32(Reg::R1, !bits);
        asm.jne32(Reg::R1, 0, next);
    } else {
        // Denied as soon as this exception takes away any requested bit.
        asm.and32(Reg::R1, bits);
        asm.jeq32(Reg::R1, 0, next);
    }
    asm.mov64_imm(Reg::R0, i32::from(allow));
    asm.exit();
    asm.bind(next);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::asm::op;
    use crate::devices::DeviceRule;

    pub(crate) fn r(
        allow: bool,
        typ: DeviceType,
        major: Option<u32>,
        minor: Option<u32>,
        access: &str,
    ) -> DeviceRule {
        DeviceRule {
            allow,
            typ,
            major,
            minor,
            access: Access::parse(access).unwrap(),
        }
    }

    fn exits(p: &[Insn]) -> Vec<usize> {
        (0..p.len()).filter(|&i| p[i].code == op::EXIT).collect()
    }

    /// Every program ends with `r0 = default; exit`, every jump is forward
    /// and lands inside the program, and only known opcodes appear.
    fn check_shape(p: &[Insn], default_allow: bool) {
        let n = p.len();
        assert_eq!(p[n - 1].code, op::EXIT);
        assert_eq!(p[n - 2].code, op::MOV64_IMM);
        assert_eq!(p[n - 2].dst(), 0);
        assert_eq!(p[n - 2].imm, i32::from(default_allow));
        for (i, insn) in p.iter().enumerate() {
            match insn.code {
                op::JEQ32_IMM | op::JNE32_IMM => {
                    assert!(insn.off > 0, "forward only");
                    assert!(i + 1 + (insn.off as usize) < n, "inside the program");
                }
                op::LDX_MEM_W => {
                    assert_eq!(insn.src(), 1);
                    assert!([0, 4, 8].contains(&insn.off));
                }
                op::MOV32_REG | op::AND32_IMM | op::RSH32_IMM | op::MOV64_IMM | op::EXIT => {}
                other => panic!("unexpected opcode {other:#x} at {i}"),
            }
        }
    }

    #[test]
    fn allow_all_needs_no_program() {
        let rules = DeviceRules::new(vec![r(true, DeviceType::All, None, None, "rwm")]);
        assert_eq!(compile(&rules), None);
    }

    #[test]
    fn deny_all_is_the_prologue_and_the_default() {
        let rules = DeviceRules::new(vec![r(false, DeviceType::All, None, None, "rwm")]);
        let p = compile(&rules).unwrap();
        assert_eq!(p.len(), PROLOGUE_LEN + 2);
        check_shape(&p, false);
        assert_eq!(exits(&p), [PROLOGUE_LEN + 1]);
        // An empty list means "deny everything", too.
        assert_eq!(compile(&DeviceRules::new(Vec::new())), Some(p));
    }

    #[test]
    fn docker_like_whitelist() {
        use DeviceType::*;
        let rules = DeviceRules::new(vec![
            r(false, All, None, None, "rwm"),
            r(true, Char, Some(1), Some(3), "rwm"),
            r(true, Char, Some(1), Some(5), "rwm"),
            r(true, Char, None, None, "m"),
        ]);
        let p = compile(&rules).unwrap();
        // Prologue, two exceptions with both numbers (8 each), one wildcard
        // (6), default (2).
        assert_eq!(p.len(), PROLOGUE_LEN + 8 + 8 + 6 + 2);
        check_shape(&p, false);
        let exits = exits(&p);
        assert_eq!(exits.len(), 4);
        // Each exception allows.
        for &e in &exits[..3] {
            assert_eq!((p[e - 1].code, p[e - 1].imm), (op::MOV64_IMM, 1));
        }
        // Newest first: the wildcard `c *:* m` comes right after the
        // prologue, and its access test is "request ⊆ m".
        let first = &p[PROLOGUE_LEN..PROLOGUE_LEN + 6];
        assert_eq!(
            (first[0].code, first[0].imm),
            (op::JNE32_IMM, DEV_CHAR as i32)
        );
        assert_eq!(first[1].code, op::MOV32_REG);
        assert_eq!(
            (first[2].code, first[2].imm),
            (op::AND32_IMM, !ACC_MKNOD as i32)
        );
        assert_eq!((first[3].code, first[3].imm), (op::JNE32_IMM, 0));
        // Every jump of a block lands on the next block.
        for insn in first.iter().filter(|i| i.code == op::JNE32_IMM) {
            let at = PROLOGUE_LEN + first.iter().position(|i| i == insn).unwrap();
            assert_eq!(at + 1 + insn.off as usize, PROLOGUE_LEN + 6);
        }
        // Then c 1:5 (major, minor compared), then c 1:3.
        let second = &p[PROLOGUE_LEN + 6..PROLOGUE_LEN + 14];
        assert_eq!((second[1].imm, second[2].imm), (1, 5));
        let third = &p[PROLOGUE_LEN + 14..PROLOGUE_LEN + 22];
        assert_eq!((third[1].imm, third[2].imm), (1, 3));
    }

    #[test]
    fn blacklist_uses_the_overlap_test() {
        use DeviceType::*;
        let rules = DeviceRules::new(vec![
            r(true, All, None, None, "rwm"),
            r(false, Block, Some(8), None, "w"),
        ]);
        let p = compile(&rules).unwrap();
        assert_eq!(p.len(), PROLOGUE_LEN + 7 + 2);
        check_shape(&p, true);
        let block = &p[PROLOGUE_LEN..PROLOGUE_LEN + 7];
        assert_eq!(block[0].imm, DEV_BLOCK as i32);
        assert_eq!((block[1].dst(), block[1].imm), (4, 8));
        assert_eq!(block[2].code, op::MOV32_REG);
        assert_eq!(
            (block[3].code, block[3].imm),
            (op::AND32_IMM, ACC_WRITE as i32)
        );
        assert_eq!((block[4].code, block[4].imm), (op::JEQ32_IMM, 0));
        assert_eq!((block[5].code, block[5].imm), (op::MOV64_IMM, 0));
        assert_eq!(block[6].code, op::EXIT);
    }

    #[test]
    fn overridden_rules_leave_no_trace() {
        use DeviceType::*;
        // Everything before the last `a` rule is forgotten; re-denying an
        // exception's bits removes it.
        let rules = DeviceRules::new(vec![
            r(true, Char, Some(1), Some(3), "rwm"),
            r(false, All, None, None, ""),
            r(true, Block, Some(7), Some(0), "rw"),
            r(false, Block, Some(7), Some(0), "rw"),
            r(true, Char, Some(1), Some(9), "r"),
        ]);
        let p = compile(&rules).unwrap();
        assert_eq!(p.len(), PROLOGUE_LEN + 8 + 2);
        assert_eq!((p[PROLOGUE_LEN + 1].imm, p[PROLOGUE_LEN + 2].imm), (1, 9));
    }

    #[test]
    fn access_bits_are_translated() {
        assert_eq!(bpf_access(Access::READ), ACC_READ);
        assert_eq!(bpf_access(Access::WRITE), ACC_WRITE);
        assert_eq!(bpf_access(Access::MKNOD), ACC_MKNOD);
        assert_eq!(bpf_access(Access::ALL), 7);
        assert_eq!(bpf_access(Access::default()), 0);
    }
}
