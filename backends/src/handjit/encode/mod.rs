//! A small x86-64 encoder: exactly the instructions `handjit` emits, written out as bytes by hand.
//!
//! Each method appends one instruction. Memory operands are `[base + index + disp]` with scale 1; the
//! encoder picks the shortest displacement (none, 8-bit or 32-bit) and a SIB byte when the base is
//! `rsp`/`r12` or there is an index. Jumps are always `rel32` and return the position of their
//! displacement so it can be patched when the target is known.

use crate::jit::memory::CodeBuffer;

/// A 64-bit general-purpose register, numbered as the hardware numbers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(dead_code)]
pub enum Reg {
    /// rax / eax / al
    Rax = 0,
    /// rcx / ecx / cl
    Rcx = 1,
    /// rdx / edx
    Rdx = 2,
    /// rbx / ebx
    Rbx = 3,
    /// rsp
    Rsp = 4,
    /// rbp
    Rbp = 5,
    /// rsi / esi
    Rsi = 6,
    /// rdi / edi
    Rdi = 7,
    /// r8
    R8 = 8,
    /// r9
    R9 = 9,
    /// r10
    R10 = 10,
    /// r11
    R11 = 11,
    /// r12
    R12 = 12,
    /// r13
    R13 = 13,
    /// r14
    R14 = 14,
    /// r15
    R15 = 15,
}

impl Reg {
    fn low(self) -> u8 {
        self as u8 & 7
    }

    fn high(self) -> u8 {
        (self as u8 >> 3) & 1
    }
}

/// A memory operand `[base + index + disp]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mem {
    /// The base register.
    pub base: Reg,
    /// The index register (scale 1), if any; never `rsp`.
    pub index: Option<Reg>,
    /// The displacement.
    pub disp: i32,
}

impl Mem {
    /// `[base + disp]`.
    pub fn base(base: Reg, disp: i32) -> Mem {
        Mem {
            base,
            index: None,
            disp,
        }
    }

    /// `[base + index + disp]`.
    pub fn indexed(base: Reg, index: Reg, disp: i32) -> Mem {
        debug_assert!(index != Reg::Rsp, "rsp cannot be an index");
        Mem {
            base,
            index: Some(index),
            disp,
        }
    }
}

/// The register-or-memory operand of a ModRM byte.
#[derive(Clone, Copy)]
enum Rm {
    Reg(Reg),
    Mem(Mem),
}

/// A jump condition (the low nibble of `0F 8x`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    /// Unsigned below (carry).
    B = 0x2,
    /// Unsigned above or equal (no carry).
    Ae = 0x3,
    /// Equal / zero.
    E = 0x4,
    /// Not equal / not zero.
    Ne = 0x5,
    /// Sign set.
    S = 0x8,
    /// Signed less.
    L = 0xc,
}

/// Where [`Code`] writes its bytes: a vector, or a [`CodeBuffer`] that becomes executable in place.
pub trait Sink: std::ops::DerefMut<Target = [u8]> {
    /// Appends one byte.
    fn push(&mut self, byte: u8);
    /// Appends `bytes`.
    fn extend_from_slice(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    #[inline]
    fn push(&mut self, byte: u8) {
        Vec::push(self, byte);
    }

    #[inline]
    fn extend_from_slice(&mut self, bytes: &[u8]) {
        Vec::extend_from_slice(self, bytes);
    }
}

impl Sink for CodeBuffer {
    #[inline]
    fn push(&mut self, byte: u8) {
        CodeBuffer::push(self, byte);
    }

    #[inline]
    fn extend_from_slice(&mut self, bytes: &[u8]) {
        CodeBuffer::extend_from_slice(self, bytes);
    }
}

/// A growing buffer of machine code.
#[derive(Default)]
pub struct Code<S = Vec<u8>> {
    /// The bytes emitted so far.
    pub bytes: S,
}

fn fits_i8(v: i32) -> bool {
    i8::try_from(v).is_ok()
}

impl Code {
    /// An empty buffer.
    pub fn new() -> Code {
        Code::default()
    }
}

impl<S: Sink> Code<S> {
    /// Code written into `bytes` (after what it holds).
    pub fn on(bytes: S) -> Code<S> {
        Code { bytes }
    }

    /// The offset of the next byte.
    pub fn pos(&self) -> usize {
        self.bytes.len()
    }

    fn byte(&mut self, b: u8) {
        self.bytes.push(b);
    }

    fn imm32(&mut self, v: i32) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    /// Prefix (REX when needed), opcode, ModRM (+ SIB + displacement). `reg` is the ModRM reg field
    /// (a register number or an opcode extension).
    fn op(&mut self, wide: bool, opcode: &[u8], reg: u8, rm: Rm) {
        let (x, b) = match rm {
            Rm::Reg(r) => (0, r.high()),
            Rm::Mem(m) => (m.index.map_or(0, Reg::high), m.base.high()),
        };
        let rex = 0x40 | (wide as u8) << 3 | ((reg >> 3) & 1) << 2 | x << 1 | b;
        if rex != 0x40 {
            self.byte(rex);
        }
        self.bytes.extend_from_slice(opcode);
        let reg = (reg & 7) << 3;
        match rm {
            Rm::Reg(r) => self.byte(0xc0 | reg | r.low()),
            Rm::Mem(m) => {
                // rbp/r13 as a base have no "no displacement" form.
                let (mode, disp_len) = if m.disp == 0 && m.base.low() != 5 {
                    (0x00, 0)
                } else if fits_i8(m.disp) {
                    (0x40, 1)
                } else {
                    (0x80, 4)
                };
                match m.index {
                    None if m.base.low() != 4 => self.byte(mode | reg | m.base.low()),
                    index => {
                        // SIB: scale 1; index 100 means "none".
                        self.byte(mode | reg | 4);
                        let index = index.map_or(4, Reg::low);
                        self.byte(index << 3 | m.base.low());
                    }
                }
                match disp_len {
                    1 => self.byte(m.disp as i8 as u8),
                    4 => self.imm32(m.disp),
                    _ => {}
                }
            }
        }
    }

    /// `push r64`
    pub fn push(&mut self, r: Reg) {
        if r.high() != 0 {
            self.byte(0x41);
        }
        self.byte(0x50 + r.low());
    }

    /// `pop r64`
    pub fn pop(&mut self, r: Reg) {
        if r.high() != 0 {
            self.byte(0x41);
        }
        self.byte(0x58 + r.low());
    }

    /// `mov dst, src` (64-bit registers)
    pub fn mov_rr(&mut self, dst: Reg, src: Reg) {
        self.op(true, &[0x89], src as u8, Rm::Reg(dst));
    }

    /// `mov dst, qword [mem]`
    pub fn mov_load(&mut self, dst: Reg, mem: Mem) {
        self.op(true, &[0x8b], dst as u8, Rm::Mem(mem));
    }

    /// `mov qword [mem], src`
    pub fn mov_store(&mut self, mem: Mem, src: Reg) {
        self.op(true, &[0x89], src as u8, Rm::Mem(mem));
    }

    /// `mov qword [mem], imm32` (sign-extended)
    pub fn mov_store_imm(&mut self, mem: Mem, imm: i32) {
        self.op(true, &[0xc7], 0, Rm::Mem(mem));
        self.imm32(imm);
    }

    /// `mov byte [mem], imm8`
    pub fn mov_store8_imm(&mut self, mem: Mem, imm: u8) {
        self.op(false, &[0xc6], 0, Rm::Mem(mem));
        self.byte(imm);
    }

    /// `mov r32, imm32` (zero-extends into the 64-bit register)
    pub fn mov_r32_imm(&mut self, r: Reg, imm: u32) {
        if r.high() != 0 {
            self.byte(0x41);
        }
        self.byte(0xb8 + r.low());
        self.imm32(imm as i32);
    }

    /// `mov r64, imm64`
    pub fn mov_r64_imm64(&mut self, r: Reg, imm: u64) {
        self.byte(0x48 | r.high());
        self.byte(0xb8 + r.low());
        self.bytes.extend_from_slice(&imm.to_le_bytes());
    }

    /// `add byte [mem], imm8`
    pub fn add8_imm(&mut self, mem: Mem, imm: u8) {
        self.op(false, &[0x80], 0, Rm::Mem(mem));
        self.byte(imm);
    }

    /// `add byte [mem], r8` (low byte of `src`; only `al`, `cl`, `dl`, `bl` are allowed)
    pub fn add8_reg(&mut self, mem: Mem, src: Reg) {
        debug_assert!((src as u8) < 4, "byte registers beyond bl need REX rules");
        self.op(false, &[0x00], src as u8, Rm::Mem(mem));
    }

    /// `cmp byte [mem], imm8`
    pub fn cmp8_imm(&mut self, mem: Mem, imm: u8) {
        self.op(false, &[0x80], 7, Rm::Mem(mem));
        self.byte(imm);
    }

    /// `movzx dst32, byte [mem]`
    pub fn movzx8(&mut self, dst: Reg, mem: Mem) {
        self.op(false, &[0x0f, 0xb6], dst as u8, Rm::Mem(mem));
    }

    /// `lea dst, [mem]`
    pub fn lea(&mut self, dst: Reg, mem: Mem) {
        self.op(true, &[0x8d], dst as u8, Rm::Mem(mem));
    }

    /// The ALU group `81 /ext id` or `83 /ext ib` on a 64-bit register or memory.
    fn alu_imm(&mut self, ext: u8, rm: Rm, imm: i32) {
        if fits_i8(imm) {
            self.op(true, &[0x83], ext, rm);
            self.byte(imm as i8 as u8);
        } else {
            self.op(true, &[0x81], ext, rm);
            self.imm32(imm);
        }
    }

    /// `add r64, imm32`
    pub fn add_imm(&mut self, r: Reg, imm: i32) {
        self.alu_imm(0, Rm::Reg(r), imm);
    }

    /// `sub qword [mem], imm32`
    pub fn sub_mem_imm(&mut self, mem: Mem, imm: i32) {
        self.alu_imm(5, Rm::Mem(mem), imm);
    }

    /// `cmp r64, imm32`
    pub fn cmp_imm(&mut self, r: Reg, imm: i32) {
        self.alu_imm(7, Rm::Reg(r), imm);
    }

    /// `cmp a, b` (64-bit registers)
    pub fn cmp_rr(&mut self, a: Reg, b: Reg) {
        self.op(true, &[0x39], b as u8, Rm::Reg(a));
    }

    /// `test a, b` (64-bit registers)
    pub fn test_rr(&mut self, a: Reg, b: Reg) {
        self.op(true, &[0x85], b as u8, Rm::Reg(a));
    }

    /// `test a32, b32`
    pub fn test_rr32(&mut self, a: Reg, b: Reg) {
        self.op(false, &[0x85], b as u8, Rm::Reg(a));
    }

    /// `imul dst32, src32, imm32`
    pub fn imul_imm(&mut self, dst: Reg, src: Reg, imm: i32) {
        if fits_i8(imm) {
            self.op(false, &[0x6b], dst as u8, Rm::Reg(src));
            self.byte(imm as i8 as u8);
        } else {
            self.op(false, &[0x69], dst as u8, Rm::Reg(src));
            self.imm32(imm);
        }
    }

    /// `call r64`
    pub fn call_r(&mut self, r: Reg) {
        self.op(false, &[0xff], 2, Rm::Reg(r));
    }

    /// `jmp r64`
    pub fn jmp_r(&mut self, r: Reg) {
        self.op(false, &[0xff], 4, Rm::Reg(r));
    }

    /// `call rel32`; returns the offset of the displacement (to patch).
    pub fn call_rel(&mut self) -> usize {
        self.byte(0xe8);
        self.imm32(0);
        self.pos() - 4
    }

    /// `ret`
    pub fn ret(&mut self) {
        self.byte(0xc3);
    }

    /// `jmp rel32`; returns the offset of the displacement (to patch).
    pub fn jmp(&mut self) -> usize {
        self.byte(0xe9);
        self.imm32(0);
        self.pos() - 4
    }

    /// `jcc rel32`; returns the offset of the displacement (to patch).
    pub fn jcc(&mut self, cond: Cond) -> usize {
        self.byte(0x0f);
        self.byte(0x80 | cond as u8);
        self.imm32(0);
        self.pos() - 4
    }

    /// Points the `rel32` at `at` (as returned by [`Code::jmp`]/[`Code::jcc`]) to `target`.
    pub fn patch(&mut self, at: usize, target: usize) -> Result<(), RangeError> {
        let rel = target as i64 - (at as i64 + 4);
        let rel = i32::try_from(rel).map_err(|_| RangeError)?;
        self.bytes[at..at + 4].copy_from_slice(&rel.to_le_bytes());
        Ok(())
    }
}

/// A jump target farther than ±2 GiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeError;

impl std::fmt::Display for RangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a jump target is out of rel32 range")
    }
}

#[cfg(test)]
mod tests;
