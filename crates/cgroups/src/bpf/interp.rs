//! Test-only interpreter for the instructions [`super::compile`] emits, and
//! property tests checking that compiled programs decide exactly like
//! [`DeviceRules::allows`].
//!
//! The interpreter is deliberately strict, in the spirit of the kernel
//! verifier: reading an unwritten register, loading from anything but the
//! untouched context pointer, jumping backwards or out of the program,
//! returning something other than 0 or 1, or meeting an unknown opcode all
//! fail the test.

use super::asm::{Insn, op};
use super::compile::{
    ACC_MKNOD, ACC_READ, ACC_WRITE, CTX_ACCESS_TYPE, CTX_MAJOR, CTX_MINOR, DEV_BLOCK, DEV_CHAR,
    compile,
};
use crate::devices::{Access, DeviceRule, DeviceRules, DeviceType};

/// A register: unset, the context pointer, or a number.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Val {
    Unset,
    Ctx,
    Num(u64),
}

/// Runs `prog` on `struct bpf_cgroup_dev_ctx { access_type, major, minor }`
/// and returns R0.
fn run(prog: &[Insn], ctx: [u32; 3]) -> u64 {
    let mut regs = [Val::Unset; 11];
    regs[1] = Val::Ctx;
    let num = |regs: &[Val; 11], r: u8| match regs[usize::from(r)] {
        Val::Num(n) => n,
        other => panic!("r{r} read as a number while {other:?}"),
    };
    let mut pc = 0usize;
    loop {
        let insn = *prog.get(pc).expect("fell off the end of the program");
        let (dst, src) = (insn.dst(), insn.src());
        let imm32 = insn.imm as u32;
        let mut next = pc + 1;
        match insn.code {
            op::LDX_MEM_W => {
                assert_eq!(regs[usize::from(src)], Val::Ctx, "load from a non-context");
                let field = match insn.off {
                    CTX_ACCESS_TYPE => 0,
                    CTX_MAJOR => 1,
                    CTX_MINOR => 2,
                    off => panic!("context offset {off}"),
                };
                regs[usize::from(dst)] = Val::Num(u64::from(ctx[field]));
            }
            // ALU32 results are zero-extended into the 64-bit register.
            op::MOV32_REG => {
                regs[usize::from(dst)] = Val::Num(u64::from(num(&regs, src) as u32));
            }
            op::AND32_IMM => {
                let v = num(&regs, dst) as u32 & imm32;
                regs[usize::from(dst)] = Val::Num(u64::from(v));
            }
            op::RSH32_IMM => {
                assert!(imm32 < 32, "shift amount");
                let v = (num(&regs, dst) as u32) >> imm32;
                regs[usize::from(dst)] = Val::Num(u64::from(v));
            }
            op::MOV64_IMM => regs[usize::from(dst)] = Val::Num(i64::from(insn.imm) as u64),
            op::JEQ32_IMM | op::JNE32_IMM => {
                assert!(insn.off >= 0, "backward jump at {pc}");
                let equal = num(&regs, dst) as u32 == imm32;
                if equal == (insn.code == op::JEQ32_IMM) {
                    next = pc + 1 + insn.off as usize;
                }
                assert!(next < prog.len(), "jump out of the program at {pc}");
            }
            op::EXIT => {
                let r0 = num(&regs, 0);
                assert!(r0 <= 1, "cgroup device programs must return 0 or 1");
                return r0;
            }
            other => panic!("unknown opcode {other:#x} at {pc}"),
        }
        pc = next;
    }
}

/// The verdict of the compiled program (no program: everything allowed).
fn program_allows(
    prog: Option<&[Insn]>,
    typ: DeviceType,
    major: u32,
    minor: u32,
    access: Access,
) -> bool {
    let Some(prog) = prog else {
        return true;
    };
    let dev_type = match typ {
        DeviceType::Char => DEV_CHAR,
        DeviceType::Block => DEV_BLOCK,
        DeviceType::All => unreachable!("the kernel only asks about b and c"),
    };
    let mut bits = 0;
    for (a, bit) in [
        (Access::READ, ACC_READ),
        (Access::WRITE, ACC_WRITE),
        (Access::MKNOD, ACC_MKNOD),
    ] {
        if access.contains(a) {
            bits |= bit;
        }
    }
    run(prog, [(bits << 16) | dev_type, major, minor]) == 1
}

const ACCESSES: [&str; 8] = ["", "r", "w", "m", "rw", "rm", "wm", "rwm"];

/// Compares program and model for every query on a grid of device numbers
/// (those the rules mention, neighbours and extremes) and every access.
fn check_equivalence(rules: &DeviceRules) {
    let prog = compile(rules);
    let mut numbers: Vec<u32> = vec![0, 1, 2, 3, 5, 7, 8, 136, 254, u32::MAX];
    for rule in rules.rules() {
        numbers.extend(rule.major.iter().chain(&rule.minor).copied());
    }
    numbers.sort_unstable();
    numbers.dedup();
    for typ in [DeviceType::Char, DeviceType::Block] {
        for &major in &numbers {
            for &minor in &numbers {
                for access in ACCESSES {
                    let want = rules.allows(typ, major, minor, access);
                    let got = program_allows(
                        prog.as_deref(),
                        typ,
                        major,
                        minor,
                        Access::parse(access).unwrap(),
                    );
                    assert_eq!(
                        got,
                        want,
                        "{typ:?} {major}:{minor} {access:?} with rules {:?}",
                        rules.rules().iter().map(rule_text).collect::<Vec<_>>()
                    );
                }
            }
        }
    }
}

fn rule_text(r: &DeviceRule) -> String {
    format!("{} {r}", if r.allow { "allow" } else { "deny" })
}

fn r(allow: bool, typ: DeviceType, major: Option<u32>, minor: Option<u32>, a: &str) -> DeviceRule {
    DeviceRule {
        allow,
        typ,
        major,
        minor,
        access: Access::parse(a).unwrap(),
    }
}

#[test]
fn hand_picked_lists_match_the_model() {
    use DeviceType::*;
    let lists = vec![
        vec![],
        vec![r(false, All, None, None, "rwm")],
        vec![r(true, All, None, None, "rwm")],
        // Docker's defaults.
        vec![
            r(false, All, None, None, "rwm"),
            r(true, Char, Some(1), Some(3), "rwm"),
            r(true, Char, Some(1), Some(5), "rwm"),
            r(true, Char, Some(1), Some(7), "rwm"),
            r(true, Char, Some(136), None, "rwm"),
            r(true, Char, None, None, "m"),
            r(true, Block, None, None, "m"),
            r(true, Char, Some(10), Some(200), "rw"),
        ],
        // A later deny takes bits from the same exception only.
        vec![
            r(true, Char, Some(1), Some(3), "rwm"),
            r(false, Char, Some(1), Some(3), "w"),
            r(true, Char, None, None, "rwm"),
            r(false, Char, Some(1), Some(5), "rwm"),
        ],
        // Blacklist with overlapping denies.
        vec![
            r(true, All, None, None, ""),
            r(false, Block, Some(8), None, "w"),
            r(false, Block, None, Some(0), "m"),
            r(false, Char, Some(u32::MAX), Some(u32::MAX), "r"),
            r(true, Block, Some(8), None, "w"),
            r(false, Block, Some(8), None, "r"),
        ],
        // Resets in the middle.
        vec![
            r(false, Char, Some(1), Some(3), "rwm"),
            r(true, All, None, None, "rwm"),
            r(false, Char, Some(1), Some(3), "r"),
            r(false, All, None, None, "rwm"),
            r(true, Block, Some(7), None, "rw"),
        ],
    ];
    for rules in lists {
        check_equivalence(&DeviceRules::new(rules));
    }
}

/// xorshift64*: deterministic pseudo-random rule lists without extra
/// dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
}

#[test]
fn random_lists_match_the_model() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // A small domain makes matches, overlaps and overrides frequent.
    let numbers = [None, None, Some(1), Some(3), Some(5), Some(u32::MAX)];
    for _ in 0..400 {
        let len = rng.below(8);
        let rules = (0..len)
            .map(|_| {
                // Mostly b/c rules; an occasional `a` resets everything.
                let typ = match rng.below(10) {
                    0 => DeviceType::All,
                    1..=5 => DeviceType::Char,
                    _ => DeviceType::Block,
                };
                r(
                    rng.below(2) == 0,
                    typ,
                    numbers[rng.below(numbers.len() as u64)],
                    numbers[rng.below(numbers.len() as u64)],
                    ACCESSES[rng.below(ACCESSES.len() as u64)],
                )
            })
            .collect();
        check_equivalence(&DeviceRules::new(rules));
    }
}

#[test]
fn interpreter_rejects_bad_returns() {
    use super::asm::{Asm, Reg};
    let mut a = Asm::new();
    a.mov64_imm(Reg::R0, 2);
    a.exit();
    let prog = a.finish();
    let result = std::panic::catch_unwind(|| run(&prog, [0, 0, 0]));
    assert!(result.is_err());
}
