//! A block's operations, with register caching: cells used more than once live in registers (eight
//! of them, 8-bit arithmetic so the flags stay exact), loaded on first use and written back at the
//! block's end; cells used once are updated in memory directly. Every block operation (add, set,
//! multiply loop, output, input) goes through here.

// dynasm expands dynamic registers (`Rb(reg)`) to `reg.into()`, a no-op conversion for our `u8`s.
#![allow(clippy::useless_conversion)]

use dynasmrt::{dynasm, DynasmApi, DynasmLabelApi};

use super::{Gen, Stub, BRANCH_FREE_MUL_TARGETS};
use crate::ir::{MulTarget, Op};
use crate::jit::{jit_input, OFFSET_OUT_BUF, OFFSET_OUT_LEN, OUT_BUF_CAP};

/// A cell of the current block held in a register.
#[derive(Clone, Copy)]
pub(super) struct Slot {
    /// Offset of the cell from the pointer at the block start.
    cell: i64,
    /// The register (its low byte is the cell's value).
    reg: u8,
    /// Whether the register differs from the tape.
    dirty: bool,
}

/// Registers that hold cells within a block: rdx, rsi, rdi, r8–r11 (caller-saved: saved around the
/// cold output-flush call) and rbp (callee-saved). A block's cells are written back at its end, so
/// nothing is live in them across loop boundaries, scans or the entry and exits.
pub(super) const POOL: [u8; 8] = [2, 6, 7, 8, 9, 10, 11, 5];

impl Gen<'_> {
    /// Records that the cell at `at` was written without touching the flags.
    pub(super) fn clobber(&mut self, at: i64) {
        if self.flags == Some(at) {
            self.flags = None;
        }
    }

    /// Whether cell `d` of the block belongs in a register.
    pub(super) fn cacheable(&self, d: i64) -> bool {
        !self.bypass
            && self
                .uses
                .binary_search_by_key(&d, |&(cell, _)| cell)
                .is_ok_and(|k| self.uses[k].1 > 1)
    }

    /// The cache slot of cell `d`, if it is in a register.
    pub(super) fn slot(&self, d: i64) -> Option<usize> {
        self.cache.iter().position(|s| s.cell == d)
    }

    /// A register for cell `d`, loading the cell unless `load` is false (the caller overwrites it).
    pub(super) fn reg_for(&mut self, d: i64, load: bool) -> u8 {
        if let Some(k) = self.slot(d) {
            return self.cache[k].reg;
        }
        let reg = if self.cache.len() < POOL.len() {
            POOL[self.cache.len()]
        } else {
            // Evict the oldest cell (writing it back, which leaves the flags alone).
            let old = self.cache.remove(0);
            if old.dirty {
                let r = old.reg;
                cell_op!(self, old.cell as i32, [mov BYTE] [, Rb(r)]);
            }
            old.reg
        };
        if load {
            cell_op!(self, d as i32, [movzx Rd(reg), BYTE] []);
        }
        self.cache.push(Slot {
            cell: d,
            reg,
            dirty: false,
        });
        reg
    }

    pub(super) fn set_dirty(&mut self, d: i64) {
        if let Some(k) = self.slot(d) {
            self.cache[k].dirty = true;
        }
    }

    /// Writes every dirty cached cell back to the tape (no flags touched); the cache stays valid.
    pub(super) fn write_back(&mut self) {
        for k in 0..self.cache.len() {
            let Slot { cell, reg, dirty } = self.cache[k];
            if dirty {
                cell_op!(self, cell as i32, [mov BYTE] [, Rb(reg)]);
                self.cache[k].dirty = false;
            }
        }
    }

    /// Adds `delta` to cell `d` (in its register or in memory); the flags then reflect the cell.
    pub(super) fn add(&mut self, d: i64, delta: u8) {
        if delta == 0 {
            return;
        }
        let (sub, imm) = if delta > 128 {
            (true, delta.wrapping_neg() as i8)
        } else {
            (false, delta as i8)
        };
        if self.cacheable(d) {
            let r = self.reg_for(d, true);
            if sub {
                asm!(self.ops; sub Rb(r), imm);
            } else {
                asm!(self.ops; add Rb(r), imm);
            }
            self.set_dirty(d);
        } else if sub {
            cell_op!(self, d as i32, [sub BYTE] [, imm]);
        } else {
            cell_op!(self, d as i32, [add BYTE] [, imm]);
        }
        self.flags = Some(d);
    }

    /// Stores `value` into cell `d` (flags untouched).
    pub(super) fn set(&mut self, d: i64, value: u8) {
        if self.cacheable(d) {
            let r = self.reg_for(d, false);
            asm!(self.ops; mov Rd(r), value as i32);
            self.set_dirty(d);
        } else {
            cell_op!(self, d as i32, [mov BYTE] [, value as i8]);
        }
        self.clobber(d);
    }

    /// Loads cell `d` into eax (its low byte).
    pub(super) fn load_eax(&mut self, d: i64) {
        if self.cacheable(d) {
            let r = self.reg_for(d, true);
            asm!(self.ops; mov eax, Rd(r));
        } else {
            cell_op!(self, d as i32, [movzx eax, BYTE] []);
        }
    }

    pub(super) fn mul(&mut self, cell: i64, targets: &[MulTarget]) {
        let branchy = targets.len() > BRANCH_FREE_MUL_TARGETS;
        if branchy {
            // Both ways past the branch must leave the same registers: work in memory.
            self.write_back();
            self.cache.clear();
            self.bypass = true;
        }
        self.load_eax(cell);
        let skip = self.ops.new_dynamic_label();
        if branchy {
            asm!(self.ops
                ; test eax, eax
                ; jz =>skip
            );
        }
        for t in targets {
            let d = cell + t.offset as i64;
            let (negate, magnitude) = if t.factor > 128 {
                (true, t.factor.wrapping_neg())
            } else {
                (false, t.factor)
            };
            // The product's low byte in al (factor 1) or cl.
            let in_al = magnitude == 1;
            match magnitude {
                0 | 1 => {}
                2 => asm!(self.ops; lea ecx, [rax + rax]),
                3 => asm!(self.ops; lea ecx, [rax + rax * 2]),
                5 => asm!(self.ops; lea ecx, [rax + rax * 4]),
                9 => asm!(self.ops; lea ecx, [rax + rax * 8]),
                m if m.is_power_of_two() => {
                    let shift = m.trailing_zeros() as i8;
                    asm!(self.ops
                        ; mov ecx, eax
                        ; shl ecx, shift
                    );
                }
                m => asm!(self.ops; imul ecx, eax, m as i32),
            }
            if magnitude == 0 {
                continue;
            }
            if self.cacheable(d) {
                let r = self.reg_for(d, true);
                match (negate, in_al) {
                    (false, true) => asm!(self.ops; add Rb(r), al),
                    (true, true) => asm!(self.ops; sub Rb(r), al),
                    (false, false) => asm!(self.ops; add Rb(r), cl),
                    (true, false) => asm!(self.ops; sub Rb(r), cl),
                }
                self.set_dirty(d);
            } else {
                let d = d as i32;
                match (negate, in_al) {
                    (false, true) => cell_op!(self, d, [add BYTE] [, al]),
                    (true, true) => cell_op!(self, d, [sub BYTE] [, al]),
                    (false, false) => cell_op!(self, d, [add BYTE] [, cl]),
                    (true, false) => cell_op!(self, d, [sub BYTE] [, cl]),
                }
            }
            self.flags = Some(d);
        }
        self.set(cell, 0);
        if branchy {
            asm!(self.ops; =>skip);
            self.flags = None;
            self.bypass = false;
        }
    }

    /// One block operation at absolute offset `at` (relative to the pointer at the block start).
    pub(super) fn op(&mut self, index: usize, at: i64) {
        let node = &self.nodes[index];
        match &node.op {
            Op::Add { offset, delta } => self.add(at + *offset as i64, *delta),
            Op::Set { offset, value } => self.set(at + *offset as i64, *value),
            Op::MulLoop { offset, targets } => self.mul(at + *offset as i64, targets),
            Op::Output { offset } => self.output(index, at + *offset as i64),
            Op::Input { offset } => {
                // The callback writes the tape: hand it every cell, and forget the registers.
                self.write_back();
                self.cache.clear();
                let d = at + *offset as i64;
                let stopped = self.stopped_exit;
                self.store_ptr();
                asm!(self.ops
                    ; mov rdi, r_state
                    ; lea rsi, [r_cell + d as i32]
                );
                self.call(jit_input as *const () as usize);
                asm!(self.ops
                    ; test eax, eax
                    ; jnz =>stopped
                );
                self.flags = None;
            }
            Op::Move { .. } | Op::Scan { .. } | Op::LoopStart | Op::LoopEnd | Op::Guard { .. } => {
                unreachable!("only block operations are laid out")
            }
        }
    }

    fn output(&mut self, index: usize, cell: i64) {
        let full = self.ops.new_dynamic_label();
        self.load_eax(cell);
        asm!(self.ops
            ; mov rcx, [r_state + OFFSET_OUT_LEN]
            ; mov [r_state + rcx + OFFSET_OUT_BUF], al
            ; add rcx, 1
            ; mov [r_state + OFFSET_OUT_LEN], rcx
            ; cmp rcx, OUT_BUF_CAP as i32
            ; jae =>full
        );
        let resume = self.ops.offset();
        self.stubs.push(Stub::Flush {
            node: index,
            label: full,
            resume,
        });
        self.flags = None;
    }
}
