//! The bytecode instruction set: one slot per IR node, some slots holding a superinstruction that
//! also does the work of the slot after it (which then stays in place, unreached by that path).

use crate::ir::Span;

/// One bytecode instruction. Offsets are relative to the pointer; jump targets are instruction indices.
///
/// Instruction `i` stands for IR node `i` (plus a final `Halt`). A *fused* instruction (`Add2`, and
/// a block's last move, add or set followed by the loop test or scan after it: `MoveLoopEnd`,
/// `AddLoopStart`, ...) also does the work of the next slot and continues after it. The next slot keeps its own plain instruction:
/// a failed guard's `skip` may land on it (a block's last move is followed by the loop test).
///
/// Control transfers into a straight-line block check the block's [`Insn::Guard`] where they land
/// and continue after it; the guard is only dispatched on its own when a block is reached by falling
/// through (at the start of the program).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Insn {
    /// Checks `ptr + lo >= 0 && ptr + hi < tape_len` for the block that follows, as the one unsigned
    /// test `ptr + lo < limit` (`limit = tape_len - (hi - lo)`, 0 when the block is wider than the
    /// tape); on failure runs block `block`'s span exactly and continues at its `skip` index.
    Guard {
        /// Lowest offset the block reaches.
        lo: i32,
        /// One past the highest passing `ptr + lo`: `tape_len - (hi - lo)`, at least 0.
        limit: u32,
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
    /// Multiply-add from `cell[offset]` into `targets[first .. first + count]`, then clear it (which
    /// does nothing when the cell is 0).
    Mul {
        /// Offset of the loop cell.
        offset: i32,
        /// First target in the target table ([`super::Bytecode::targets`]).
        first: u32,
        /// Number of targets.
        count: u32,
    },
    /// A multiply-add with one target: `cell[offset + to] += cell[offset] * factor`, then
    /// `cell[offset] = 0`.
    Mul1 {
        /// Offset of the loop cell.
        offset: i32,
        /// Offset of the target from the loop cell.
        to: i32,
        /// Wrapping factor.
        factor: u8,
    },
    /// A multiply-add with two targets (`to`/`factor` and `to2`/`factor2`), then clears the loop cell.
    Mul2 {
        /// Offset of the loop cell.
        offset: i32,
        /// Offset of the first target from the loop cell.
        to: i32,
        /// Offset of the second target from the loop cell.
        to2: i32,
        /// First wrapping factor.
        factor: u8,
        /// Second wrapping factor.
        factor2: u8,
    },
    /// Two multiply-adds in a row (the copy through a temporary, `[->+>+<<]>>[-<<+>>]`, is one):
    /// a `Mul2` (a one-target multiply has `to2 = to` and `factor2 = 0`) then a `Mul1`, with 16-bit
    /// offsets.
    MulMul1 {
        /// Offset of the first loop cell.
        offset: i16,
        /// Offset of its first target.
        to: i16,
        /// Offset of its second target.
        to2: i16,
        /// Offset of the second loop cell.
        offset_b: i16,
        /// Offset of its target.
        to_b: i16,
        /// First factor.
        factor: u8,
        /// Second factor.
        factor2: u8,
        /// The second multiply's factor.
        factor_b: u8,
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
    /// `cell[offset] += delta`, then the `LoopStart` in the next slot.
    AddLoopStart {
        /// Cell offset.
        offset: i32,
        /// Wrapping amount.
        delta: u8,
        /// Index after the matching `LoopEnd`.
        exit: u32,
        /// The loop's id.
        id: u32,
    },
    /// `cell[offset] += delta`, then the `LoopEnd` in the next slot.
    AddLoopEnd {
        /// Cell offset.
        offset: i32,
        /// Wrapping amount.
        delta: u8,
        /// Index of the first body instruction.
        body: u32,
        /// The loop's id.
        id: u32,
    },
    /// `cell[offset] = value`, then the `LoopStart` in the next slot.
    SetLoopStart {
        /// Cell offset.
        offset: i32,
        /// The value stored.
        value: u8,
        /// Index after the matching `LoopEnd`.
        exit: u32,
        /// The loop's id.
        id: u32,
    },
    /// `cell[offset] = value`, then the `LoopEnd` in the next slot.
    SetLoopEnd {
        /// Cell offset.
        offset: i32,
        /// The value stored.
        value: u8,
        /// Index of the first body instruction.
        body: u32,
        /// The loop's id.
        id: u32,
    },
    /// `cell[offset] += delta`, `ptr += by`, then the `LoopStart` two slots on: a block ending in an
    /// add and a move, followed by a loop (the next two slots keep their plain instructions).
    AddMoveLoopStart {
        /// Cell offset.
        offset: i16,
        /// Wrapping amount.
        delta: u8,
        /// Signed distance of the move.
        by: i32,
        /// Index after the matching `LoopEnd`.
        exit: u32,
        /// The loop's id.
        id: u32,
    },
    /// `cell[offset] += delta`, `ptr += by`, then the `Scan` two slots on (the next two slots keep
    /// their plain instructions).
    AddMoveScan {
        /// Cell offset.
        offset: i16,
        /// Wrapping amount.
        delta: u8,
        /// Signed distance of the move.
        by: i32,
        /// The scan's step.
        stride: i32,
        /// The scan's span index.
        span: u32,
    },
    /// A `MoveLoopEnd` whose loop body is one checked block of one data operation and this move (a
    /// walk like `[->>+<]>>` repeated): runs the whole loop (test, fuel, guard, operation, move) in
    /// one handler.
    WalkLoopEnd {
        /// Signed distance.
        by: i32,
        /// Index of the body's guard.
        body: u32,
        /// The loop's id.
        id: u32,
    },
    /// A `MoveLoopEnd` whose exit falls into a block of one move followed by a loop header (`<]>[`,
    /// the flag tests after a decode): on exit tests that block's guard (when `check`: the source
    /// block does not imply it), moves by `by2` and runs the `LoopStart` in slot `+4`, in one
    /// handler. The next four slots keep their plain instructions (a hand-over or a failed guard
    /// continues there).
    MoveLoopEndThenStart {
        /// Signed distance of the first move.
        by: i32,
        /// Index of the first body instruction of the loop ending here.
        body: u32,
        /// Index after the matching `LoopEnd` of the loop starting in slot `+4`.
        exit: u32,
        /// Signed distance of the second move.
        by2: i16,
        /// Whether the guard in slot `+2` is tested.
        check: bool,
    },
    /// A `MoveLoopEnd` whose exit falls into a block of one move followed by a loop end (`<]<]`): as
    /// [`Insn::MoveLoopEndThenStart`], with the `LoopEnd` in slot `+4` (back to `body2`).
    MoveLoopEndThenEnd {
        /// Signed distance of the first move.
        by: i32,
        /// Index of the first body instruction of the loop ending here.
        body: u32,
        /// Index of the first body instruction of the loop ending in slot `+4`.
        body2: u32,
        /// Signed distance of the second move.
        by2: i16,
        /// Whether the guard in slot `+2` is tested.
        check: bool,
    },
    /// A `SetLoopEnd` whose exit falls into a block of one set followed by a loop end
    /// (`[-]<]>[-]<]` after offsets): as [`Insn::MoveLoopEndThenEnd`], with sets.
    SetLoopEndThenSetEnd {
        /// Offset of the first set.
        offset: i16,
        /// The value the first set stores.
        value: u8,
        /// Index of the first body instruction of the loop ending here.
        body: u32,
        /// Offset of the second set.
        offset2: i16,
        /// The value the second set stores.
        value2: u8,
        /// Index of the first body instruction of the loop ending in slot `+4`.
        body2: u32,
        /// Whether the guard in slot `+2` is tested.
        check: bool,
    },
    /// A `SetLoopEnd` whose exit falls into a block of one move followed by a loop end: as
    /// [`Insn::MoveLoopEndThenEnd`], with a set first.
    SetLoopEndThenMoveEnd {
        /// Offset of the set.
        offset: i16,
        /// The value the set stores.
        value: u8,
        /// Index of the first body instruction of the loop ending here.
        body: u32,
        /// Signed distance of the move.
        by2: i16,
        /// Index of the first body instruction of the loop ending in slot `+4`.
        body2: u32,
        /// Whether the guard in slot `+2` is tested.
        check: bool,
    },
    /// A `MoveLoopStart` whose loop, when skipped, lands on a block of one move followed by a loop
    /// end (`>[...]<]`): on a skip tests that block's guard (slot `guard`, when `check`), moves by
    /// `by2` and runs the `LoopEnd` in slot `guard + 2`, in one handler.
    MoveLoopSkipThenEnd {
        /// Signed distance of the first move.
        by: i32,
        /// Index of the guard of the block after the loop (its matching `LoopEnd` is the slot before).
        guard: u32,
        /// Index of the first body instruction of the loop ending in slot `guard + 2`.
        body2: u32,
        /// Signed distance of the second move.
        by2: i16,
        /// Whether the guard is tested.
        check: bool,
    },
    /// An `AddMoveLoopStart` whose body is a decrement chain (`+<[-[-[ ...`, the decode after a
    /// command is fetched): on entering the body runs the [`Insn::DecChain`] in slot `+4` (after
    /// the body's guard of offset 0 only, which passes where the cell was read) in one handler.
    AddMoveLoopStartChain {
        /// Cell offset.
        offset: i16,
        /// Wrapping amount.
        delta: u8,
        /// Signed distance of the move.
        by: i32,
        /// Index after the matching `LoopEnd`.
        exit: u32,
        /// The loop's id.
        id: u32,
    },
    /// A decrement-and-test chain `-[-[-[ ...` (a switch on the cell's value): this slot's
    /// `AddLoopStart` (offset 0, delta -1) and the `count - 1` levels nested directly in it, each
    /// level's body starting with a guard of offset 0 only and the next level's `AddLoopStart`.
    /// With `c` the cell's value, the cell reaches 0 at level `c` (none when `c` is 0 or above
    /// `count`): then it is set to 0, `c - 1` fuel is spent and execution continues at
    /// `chains[first + c - 1]`, that level's exit; otherwise the cell is lowered by `count`,
    /// `count` fuel is spent and execution continues at `chains[first + count]`, the innermost
    /// level's body. With less fuel than `count` left, or a hook that may take loops over, it runs
    /// as the plain decrement followed by the `LoopStart` in the next slot.
    DecChain {
        /// Index of this level's exit in the chain table ([`super::Bytecode::chain_targets`]).
        first: u32,
        /// Levels from this one inward (1 to 255).
        count: u32,
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
