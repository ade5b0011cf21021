//! The bytecode instruction set: one slot per IR node, some slots holding a superinstruction that
//! also does the work of the slot after it (which then stays in place, unreached by that path).

use crate::ir::Span;

/// One bytecode instruction. Offsets are relative to the pointer; jump targets are instruction indices.
///
/// Instruction `i` stands for IR node `i` (plus a final `Halt`). A *fused* instruction
/// ([`Insn::Add2`], [`Insn::MoveLoopEnd`], [`Insn::MoveLoopStart`], [`Insn::MoveScan`]) also does
/// the work of the next slot and continues after it. The next slot keeps its own plain instruction:
/// a failed guard's `skip` may land on it (a block's last move is followed by the loop test).
///
/// Control transfers into a straight-line block check the block's [`Insn::Guard`] where they land
/// and continue after it; the guard is only dispatched on its own when a block is reached by falling
/// through (at the start of the program).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Insn {
    /// Checks `ptr + lo >= 0 && ptr + hi < tape_len` for the block that follows; on failure runs
    /// block `block`'s span exactly and continues at its `skip` index.
    Guard {
        /// Lowest offset the block reaches.
        lo: i32,
        /// Highest offset the block reaches.
        hi: i32,
        /// Index into the block table ([`super::Bytecode::block`]).
        block: u32,
    },
    /// `cell[offset] += delta`.
    Add {
        /// Cell offset.
        offset: i32,
        /// Wrapping amount.
        delta: u8,
    },
    /// `cell[offset] += delta` and `cell[offset2] += delta2`: two adds of one block in a row.
    Add2 {
        /// First cell offset.
        offset: i32,
        /// Second cell offset.
        offset2: i32,
        /// First wrapping amount.
        delta: u8,
        /// Second wrapping amount.
        delta2: u8,
    },
    /// `cell[offset] = value`.
    Set {
        /// Cell offset.
        offset: i32,
        /// The value stored.
        value: u8,
    },
    /// `ptr += by` (inside a checked block).
    Move {
        /// Signed distance.
        by: i32,
    },
    /// Multiply-add from `cell[offset]` into `targets[first .. first + count]`, then clear it; nothing
    /// when the cell is 0.
    Mul {
        /// Offset of the loop cell.
        offset: i32,
        /// First target in the target table ([`super::Bytecode::targets`]).
        first: u32,
        /// Number of targets.
        count: u32,
    },
    /// Writes `cell[offset]`.
    Output {
        /// Cell offset.
        offset: i32,
    },
    /// Reads into `cell[offset]`.
    Input {
        /// Cell offset.
        offset: i32,
    },
    /// Moves by `stride` until the cell is 0; off the tape, re-runs span `span` exactly.
    Scan {
        /// Signed step.
        stride: i32,
        /// Index into the span table ([`super::Bytecode::scan_span`]).
        span: u32,
    },
    /// `ptr += by`, then the `Scan` in the next slot.
    MoveScan {
        /// Signed distance of the move.
        by: i32,
        /// The scan's step.
        stride: i32,
        /// The scan's span index.
        span: u32,
    },
    /// A loop header: when the cell is 0 continue at `exit` (after the matching `LoopEnd`), else enter
    /// the body (one fuel).
    LoopStart {
        /// Index after the matching `LoopEnd`.
        exit: u32,
        /// The loop's id: its rank among loop headers in program order.
        id: u32,
    },
    /// `ptr += by`, then the `LoopStart` in the next slot.
    MoveLoopStart {
        /// Signed distance.
        by: i32,
        /// Index after the matching `LoopEnd`.
        exit: u32,
        /// The loop's id.
        id: u32,
    },
    /// When the cell is not 0 jump back to `body` (after the matching `LoopStart`, one fuel).
    LoopEnd {
        /// Index of the first body instruction.
        body: u32,
        /// The loop's id.
        id: u32,
    },
    /// `ptr += by`, then the `LoopEnd` in the next slot.
    MoveLoopEnd {
        /// Signed distance.
        by: i32,
        /// Index of the first body instruction.
        body: u32,
        /// The loop's id.
        id: u32,
    },
    /// The end of the program.
    Halt,
}

/// What a failed guard needs: the block's source span and where execution continues after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    /// The source commands the block stands for.
    pub span: Span,
    /// The instruction index after the block.
    pub skip: u32,
}
