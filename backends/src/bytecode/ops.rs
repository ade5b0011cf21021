//! The run loop's small pieces: cell access and data operations of checked blocks (the argument
//! for their indices is in `run.rs`), guard tests, and the loop id of a plain loop slot.

use super::insn::Insn;
use crate::ir::MulTarget;

/// The cell at `ptr + offset` (the slice check never fails in a checked block).
///
/// # Contract
/// `ptr + offset` must be an index of `tape` (any access of a checked block: the argument in `run.rs`).
#[inline(always)]
pub(super) fn cell(tape: &mut [u8], ptr: usize, offset: i32) -> &mut u8 {
    let i = ptr.wrapping_add_signed(offset as isize);
    // In bounds: the caller guarantees `i < tape.len()`.
    &mut tape[i]
}

/// Runs a data operation of a checked block (`Add`, `Add2`, `Set` and the multiplies) at `ptr`.
///
/// # Contract
/// `insn` must be an instruction of a checked block at `ptr` (the argument in `run.rs`), with `targets` the
/// multiply targets table it indexes.
#[inline(always)]
pub(super) fn data_op(insn: Insn, tape: &mut [u8], ptr: usize, targets: &[MulTarget]) {
    // In bounds (every access below): the caller guarantees each access is one of a checked block.
    {
        match insn {
            Insn::Add { offset, delta } => {
                let c = cell(tape, ptr, offset);
                *c = c.wrapping_add(delta);
            }
            Insn::Add2 {
                offset,
                offset2,
                delta,
                delta2,
            } => {
                let c = cell(tape, ptr, offset);
                *c = c.wrapping_add(delta);
                let c = cell(tape, ptr, offset2);
                *c = c.wrapping_add(delta2);
            }
            Insn::Set { offset, value } => *cell(tape, ptr, offset) = value,
            // The multiplies are branch-free: with a zero loop cell every target gains 0 and the
            // cell stays 0.
            Insn::Mul {
                offset,
                first,
                count,
            } => {
                let from = ptr.wrapping_add_signed(offset as isize);
                let value = std::mem::take(cell(tape, from, 0));
                for t in &targets[first as usize..(first + count) as usize] {
                    let c = cell(tape, from, t.offset);
                    *c = c.wrapping_add(value.wrapping_mul(t.factor));
                }
            }
            Insn::Mul1 { offset, to, factor } => {
                let from = ptr.wrapping_add_signed(offset as isize);
                let value = std::mem::take(cell(tape, from, 0));
                let c = cell(tape, from, to);
                *c = c.wrapping_add(value.wrapping_mul(factor));
            }
            Insn::Mul2 {
                offset,
                to,
                to2,
                factor,
                factor2,
            } => {
                let from = ptr.wrapping_add_signed(offset as isize);
                let value = std::mem::take(cell(tape, from, 0));
                let c = cell(tape, from, to);
                *c = c.wrapping_add(value.wrapping_mul(factor));
                let c = cell(tape, from, to2);
                *c = c.wrapping_add(value.wrapping_mul(factor2));
            }
            Insn::MulMul1 {
                offset,
                to,
                to2,
                offset_b,
                to_b,
                factor,
                factor2,
                factor_b,
            } => {
                let from = ptr.wrapping_add_signed(offset as isize);
                let value = std::mem::take(cell(tape, from, 0));
                let c = cell(tape, from, to as i32);
                *c = c.wrapping_add(value.wrapping_mul(factor));
                let c = cell(tape, from, to2 as i32);
                *c = c.wrapping_add(value.wrapping_mul(factor2));
                let from = ptr.wrapping_add_signed(offset_b as isize);
                let value = std::mem::take(cell(tape, from, 0));
                let c = cell(tape, from, to_b as i32);
                *c = c.wrapping_add(value.wrapping_mul(factor_b));
            }
            _ => debug_assert!(false, "not a data operation: {insn:?}"),
        }
    }
}

/// Whether a guard's `ptr + lo ..= ptr + hi` lies on the tape: `ptr + lo` is not negative (which
/// wraps to a huge number) and below `limit = tape_len - (hi - lo)`.
#[inline(always)]
pub(super) fn fits(ptr: usize, lo: i32, limit: u32) -> bool {
    ptr.wrapping_add_signed(lo as isize) < limit as usize
}

/// Whether `guard` (a `Guard` slot, as compile verified) passes at `ptr`.
#[inline(always)]
pub(super) fn passes(guard: Insn, ptr: usize) -> bool {
    matches!(guard, Insn::Guard { lo, limit, .. } if fits(ptr, lo, limit))
}

/// The loop id of a plain `LoopStart` or `LoopEnd` slot (compile verified the slots fused
/// instructions name), read only when a hook may take loops over.
#[inline(always)]
pub(super) fn loop_id(insn: Insn) -> u32 {
    match insn {
        Insn::LoopStart { id, .. } | Insn::LoopEnd { id, .. } => id,
        _ => unreachable!("fused loop tests name LoopStart and LoopEnd slots"),
    }
}
