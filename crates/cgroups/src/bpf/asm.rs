//! A tiny typed assembler for the eBPF instructions the device filter needs.
//!
//! An instruction is the kernel's `struct bpf_insn` (8 bytes):
//!
//! | offset | field                                   |
//! |--------|-----------------------------------------|
//! | 0      | `u8 code` (class, then size/mode or op) |
//! | 1      | `u8 dst_reg:4, src_reg:4`               |
//! | 2      | `s16 off` (jump offset or memory offset) |
//! | 4      | `s32 imm`                               |
//!
//! C allocates bitfields from the least significant bit on little-endian
//! targets and from the most significant one on big-endian targets, so
//! `dst_reg` is the low nibble of byte 1 on x86 and arm64 and the high
//! nibble on s390x.
//!
//! Only the handful of opcodes below are emitted; each has a named constant
//! so that the program reads like assembly and the test interpreter can
//! decode exactly this subset. Jumps go to [`Label`]s that are resolved in
//! [`Asm::finish`].

/// Opcode building blocks, as in `include/uapi/linux/bpf_common.h` and
/// `bpf.h`.
pub(crate) mod op {
    // Instruction classes (low 3 bits).
    /// Load into a register from memory.
    pub(crate) const CLASS_LDX: u8 = 0x01;
    /// 32-bit arithmetic (results are zero-extended to 64 bits).
    pub(crate) const CLASS_ALU: u8 = 0x04;
    /// 64-bit jumps, `exit`.
    pub(crate) const CLASS_JMP: u8 = 0x05;
    /// Jumps that compare the low 32 bits only (kernel 5.1+).
    pub(crate) const CLASS_JMP32: u8 = 0x06;
    /// 64-bit arithmetic.
    pub(crate) const CLASS_ALU64: u8 = 0x07;

    // Loads: size and mode.
    /// 32-bit word.
    pub(crate) const SIZE_W: u8 = 0x00;
    /// `dst = *(size *)(src + off)`.
    pub(crate) const MODE_MEM: u8 = 0x60;

    // ALU and jump operand source.
    /// The operand is `imm`.
    pub(crate) const SRC_K: u8 = 0x00;
    /// The operand is `src_reg`.
    pub(crate) const SRC_X: u8 = 0x08;

    // ALU operations.
    pub(crate) const ALU_AND: u8 = 0x50;
    pub(crate) const ALU_RSH: u8 = 0x70;
    pub(crate) const ALU_MOV: u8 = 0xb0;

    // Jump operations.
    pub(crate) const JMP_JEQ: u8 = 0x10;
    pub(crate) const JMP_JNE: u8 = 0x50;
    pub(crate) const JMP_EXIT: u8 = 0x90;

    // The complete opcodes that are emitted.
    /// `dst = *(u32 *)(src + off)`.
    pub(crate) const LDX_MEM_W: u8 = CLASS_LDX | MODE_MEM | SIZE_W;
    /// `wdst = wsrc`.
    pub(crate) const MOV32_REG: u8 = CLASS_ALU | ALU_MOV | SRC_X;
    /// `wdst &= imm`.
    pub(crate) const AND32_IMM: u8 = CLASS_ALU | ALU_AND | SRC_K;
    /// `wdst >>= imm` (logical).
    pub(crate) const RSH32_IMM: u8 = CLASS_ALU | ALU_RSH | SRC_K;
    /// `dst = imm` (sign-extended to 64 bits).
    pub(crate) const MOV64_IMM: u8 = CLASS_ALU64 | ALU_MOV | SRC_K;
    /// `if wdst == imm goto +off`.
    pub(crate) const JEQ32_IMM: u8 = CLASS_JMP32 | JMP_JEQ | SRC_K;
    /// `if wdst != imm goto +off`.
    pub(crate) const JNE32_IMM: u8 = CLASS_JMP32 | JMP_JNE | SRC_K;
    /// `return r0`.
    pub(crate) const EXIT: u8 = CLASS_JMP | JMP_EXIT;
}

/// An eBPF register. R0 holds the return value, R1 the context pointer on
/// entry; only R0..R5 are used (no helper calls are made, so none of them
/// is clobbered behind our back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Reg {
    R0 = 0,
    R1 = 1,
    R2 = 2,
    R3 = 3,
    R4 = 4,
    R5 = 5,
}

/// One `struct bpf_insn`, laid out exactly as the kernel expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct Insn {
    /// Opcode, one of [`op`]'s complete opcodes.
    pub(crate) code: u8,
    /// `dst_reg` and `src_reg`, 4 bits each (see the module docs).
    pub(crate) regs: u8,
    /// Jump or memory offset.
    pub(crate) off: i16,
    /// Immediate operand.
    pub(crate) imm: i32,
}

const _: () = assert!(std::mem::size_of::<Insn>() == 8);

impl Insn {
    fn new(code: u8, dst: Reg, src: Reg, off: i16, imm: i32) -> Insn {
        let (dst, src) = (dst as u8, src as u8);
        let regs = if cfg!(target_endian = "little") {
            dst | (src << 4)
        } else {
            (dst << 4) | src
        };
        Insn {
            code,
            regs,
            off,
            imm,
        }
    }

    /// The destination register number.
    #[cfg(test)]
    pub(crate) fn dst(self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs & 0x0f
        } else {
            self.regs >> 4
        }
    }

    /// The source register number.
    #[cfg(test)]
    pub(crate) fn src(self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs >> 4
        } else {
            self.regs & 0x0f
        }
    }
}

/// A jump target; create with [`Asm::label`], place with [`Asm::bind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Label(usize);

/// Collects instructions and resolves forward jumps.
#[derive(Debug, Default)]
pub(crate) struct Asm {
    insns: Vec<Insn>,
    /// Instruction index each label was bound to.
    labels: Vec<Option<usize>>,
    /// (index of a jump instruction, its target).
    fixups: Vec<(usize, Label)>,
}

impl Asm {
    pub(crate) fn new() -> Asm {
        Asm::default()
    }

    fn emit(&mut self, insn: Insn) {
        self.insns.push(insn);
    }

    /// A new, not yet placed, jump target.
    pub(crate) fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Places `label` before the next instruction emitted.
    pub(crate) fn bind(&mut self, label: Label) {
        let slot = &mut self.labels[label.0];
        assert!(slot.is_none(), "label bound twice");
        *slot = Some(self.insns.len());
    }

    /// `dst = *(u32 *)(src + off)`.
    pub(crate) fn load_u32(&mut self, dst: Reg, src: Reg, off: i16) {
        self.emit(Insn::new(op::LDX_MEM_W, dst, src, off, 0));
    }

    /// `wdst = wsrc` (upper half cleared).
    pub(crate) fn mov32_reg(&mut self, dst: Reg, src: Reg) {
        self.emit(Insn::new(op::MOV32_REG, dst, src, 0, 0));
    }

    /// `wdst &= imm` (upper half cleared).
    pub(crate) fn and32(&mut self, dst: Reg, imm: u32) {
        self.emit(Insn::new(op::AND32_IMM, dst, Reg::R0, 0, imm as i32));
    }

    /// `wdst >>= imm`, logical shift (upper half cleared).
    pub(crate) fn rsh32(&mut self, dst: Reg, imm: u32) {
        self.emit(Insn::new(op::RSH32_IMM, dst, Reg::R0, 0, imm as i32));
    }

    /// `dst = imm`, sign-extended; used for the return value.
    pub(crate) fn mov64_imm(&mut self, dst: Reg, imm: i32) {
        self.emit(Insn::new(op::MOV64_IMM, dst, Reg::R0, 0, imm));
    }

    /// `if wdst == imm goto target`; compares the low 32 bits only, so the
    /// full `u32` range of `imm` is usable.
    pub(crate) fn jeq32(&mut self, dst: Reg, imm: u32, target: Label) {
        self.fixups.push((self.insns.len(), target));
        self.emit(Insn::new(op::JEQ32_IMM, dst, Reg::R0, 0, imm as i32));
    }

    /// `if wdst != imm goto target` (low 32 bits).
    pub(crate) fn jne32(&mut self, dst: Reg, imm: u32, target: Label) {
        self.fixups.push((self.insns.len(), target));
        self.emit(Insn::new(op::JNE32_IMM, dst, Reg::R0, 0, imm as i32));
    }

    /// `return r0`.
    pub(crate) fn exit(&mut self) {
        self.emit(Insn::new(op::EXIT, Reg::R0, Reg::R0, 0, 0));
    }

    /// Resolves jump offsets (relative to the instruction after the jump)
    /// and returns the program.
    ///
    /// # Panics
    ///
    /// On an unbound label or an offset beyond `i16`: both are bugs in the
    /// code generator, not conditions of the input (every jump it emits
    /// skips a single rule's block of a few instructions).
    pub(crate) fn finish(mut self) -> Vec<Insn> {
        for &(at, label) in &self.fixups {
            let target = self.labels[label.0].expect("jump to an unbound label");
            let off = target as i64 - (at as i64 + 1);
            self.insns[at].off = i16::try_from(off).expect("jump offset fits in 16 bits");
        }
        self.insns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcodes_match_the_kernel_headers() {
        // Values of the BPF_* macro combinations in linux/bpf.h.
        assert_eq!(op::LDX_MEM_W, 0x61);
        assert_eq!(op::MOV32_REG, 0xbc);
        assert_eq!(op::AND32_IMM, 0x54);
        assert_eq!(op::RSH32_IMM, 0x74);
        assert_eq!(op::MOV64_IMM, 0xb7);
        assert_eq!(op::JEQ32_IMM, 0x16);
        assert_eq!(op::JNE32_IMM, 0x56);
        assert_eq!(op::EXIT, 0x95);
    }

    #[test]
    fn encoding_and_label_resolution() {
        let mut a = Asm::new();
        let skip = a.label();
        a.load_u32(Reg::R2, Reg::R1, 4);
        a.jne32(Reg::R2, 0xffff_ffff, skip);
        a.mov64_imm(Reg::R0, 1);
        a.exit();
        a.bind(skip);
        a.mov64_imm(Reg::R0, 0);
        a.exit();
        let p = a.finish();
        assert_eq!(p.len(), 6);
        assert_eq!((p[0].code, p[0].off, p[0].imm), (0x61, 4, 0));
        #[cfg(target_endian = "little")]
        assert_eq!(p[0].regs, 0x12);
        assert_eq!((p[0].dst(), p[0].src()), (2, 1));
        // Skips the two instructions after it.
        assert_eq!(p[1].off, 2);
        assert_eq!(p[1].imm, -1);
        assert_eq!(p[5].code, op::EXIT);
    }

    #[test]
    #[should_panic(expected = "unbound label")]
    fn unbound_label_is_a_bug() {
        let mut a = Asm::new();
        let l = a.label();
        a.jeq32(Reg::R0, 0, l);
        a.finish();
    }
}
