//! Landing tests a jump can skip: a control transfer that lands on a block's guard tests it
//! (`enter!` in `run.rs`), unless compile proved here that the guard passes on that transfer.
//!
//! A guard passes on every transfer when the plan decided so (`Decision::Always`). It also passes on
//! a transfer made by a fused loop test of a checked block (`MoveLoopEnd`, `SetLoopStart`, ...) when
//! the range the target guard tests, seen from the pointer at the test, lies inside the range the
//! source block's own guard verified: the source block ran only after its guard passed at its start
//! `s`, the pointer at the test is `s + pos` (only the block's moves changed it), so every cell of
//! `s + pos + lo2 ..= s + pos + hi2` is on the tape when `lo1 <= pos + lo2` and `pos + hi2 <= hi1`.
//! (BF before/after: in `>>[<<+>>-]<<]`, the exit of the inner loop lands on the `<<]` block, whose
//! reach `-2 ..= 0` lies inside the inner block's `-2 ..= 0` after its move of 0: no test there.)
//!
//! Explicit targets of fused tests (a back edge's `body`, a skip's `exit`) and the chain table are
//! pointed past such a guard, and the exit fusions (`MoveLoopEndThenStart`, ...) that run the
//! one-move block after a loop test in their own handler skip its guard. The slot after a pair,
//! where a fused test continues implicitly through the dispatch loop, keeps its test: a per-instruction step there (tried) put a load on the path to the next fetch and ran
//! slower (selfinterp 0.175 s -> 0.20 s user time, with fewer instructions). A loop handed over to a
//! hook returns with the pointer anywhere, so after a hand-over a skip continues at the loop's own
//! exit (`run.rs`).

use super::insn::Insn;
use super::Bytecode;
use crate::ir::blocks::in_block;
use crate::ir::plan::{Decision, PlannedIr};
use crate::ir::Op;

/// Where a slot of a checked block leaves the pointer, and what its block's guard verified.
#[derive(Clone, Copy, Debug)]
struct Spot {
    /// Lowest offset from the block's start the guard verified.
    lo: i64,
    /// Highest offset from the block's start the guard verified.
    hi: i64,
    /// The pointer after this slot's node, relative to the block's start.
    pos: i64,
}

/// What each guard verifies and where each slot of a block stands, read from the planned IR (slot
/// `i` is IR node `i`) when asked: no per-slot table is held (a deep nest has a guard every few
/// slots, and three tables of them weighed 57 bytes a slot).
pub(super) struct Landings<'a> {
    planned: &'a PlannedIr,
}

impl<'a> Landings<'a> {
    /// The landing facts of `planned`'s guards.
    pub(super) fn new(planned: &'a PlannedIr) -> Landings<'a> {
        Landings { planned }
    }

    /// The range the guard at slot `slot` tests and whether it always passes (the plan's
    /// `Always`), when it is a guard some pointer can pass.
    fn test(&self, slot: usize) -> Option<((i64, i64), bool)> {
        let Op::Guard { lo, hi, .. } = self.planned.nodes().get(slot)?.op else {
            return None;
        };
        match self.planned.decision(slot) {
            Decision::Never => None,
            Decision::Always => Some(((lo as i64, hi as i64), true)),
            Decision::Check { lo, hi } => Some(((lo as i64, hi as i64), false)),
        }
    }

    /// The standing of slot `slot` in its block, when it is a block slot (not the guard) of a block
    /// whose guard can pass. Walks back to the block's guard: every slot asked about ends a block
    /// (it is the last to move the pointer before a fused loop test), so each block is walked a
    /// fixed number of times.
    fn spot(&self, slot: usize) -> Option<Spot> {
        let nodes = self.planned.nodes();
        let mut pos = 0i64;
        let mut at = slot;
        loop {
            let op = &nodes.get(at)?.op;
            if !in_block(op) {
                break;
            }
            if let Op::Move { by } = *op {
                pos += by as i64;
            }
            at = at.checked_sub(1)?;
        }
        let Op::Guard { len, .. } = nodes[at].op else {
            return None;
        };
        if at == slot || slot > at + len as usize {
            return None;
        }
        let ((lo, hi), _) = self.test(at)?;
        Some(Spot { lo, hi, pos })
    }

    /// Whether the guard at slot `target` passes on a transfer from slot `from` (a slot of a checked
    /// block whose node was the last to move the pointer, or `None` for any other transfer).
    fn implied(&self, from: Option<usize>, target: usize) -> bool {
        let Some(((lo, hi), proven)) = self.test(target) else {
            return false;
        };
        if proven {
            return true;
        }
        match from.and_then(|f| self.spot(f)) {
            Some(s) => s.lo <= s.pos + lo && s.pos + hi <= s.hi,
            None => false,
        }
    }

    /// Whether the guard at slot `target` passes when control falls into it from slot `from` (a
    /// slot of a checked block whose node was the last to move the pointer): what a fused test
    /// that runs the block after it in its own handler needs (`compile::fuse_exits`).
    pub(super) fn falls_through(&self, from: usize, target: usize) -> bool {
        self.implied(Some(from), target)
    }

    /// `target`, or the slot after it when it is a guard slot of `code` that passes on a transfer
    /// from `from`.
    fn past(&self, code: &[Insn], from: Option<usize>, target: u32) -> u32 {
        let t = target as usize;
        if matches!(code.get(t), Some(Insn::Guard { .. })) && self.implied(from, t) {
            target + 1
        } else {
            target
        }
    }

    /// Points every transfer that lands on a guard passing on it past the guard. Plain `LoopStart`
    /// and `LoopEnd` targets stay (they delimit a loop's slots, [`Bytecode::loop_slots`]), and so do
    /// walk loops' bodies (which name their guard).
    pub(super) fn skip_implied(&self, bc: &mut Bytecode) {
        for i in 0..bc.code.len() {
            let mut insn = bc.code[i];
            // The explicit target, and the slot whose node last moved the pointer before the jump.
            let (target, from) = match &mut insn {
                Insn::MoveLoopEnd { body: t, .. }
                | Insn::SetLoopEnd { body: t, .. }
                | Insn::AddLoopEnd { body: t, .. }
                | Insn::MoveLoopStart { exit: t, .. }
                | Insn::AddLoopStart { exit: t, .. }
                | Insn::SetLoopStart { exit: t, .. } => (t, i),
                Insn::AddMoveLoopStart { exit: t, .. }
                | Insn::AddMoveLoopStartChain { exit: t, .. } => (t, i + 1),
                _ => continue,
            };
            *target = self.past(&bc.code, Some(from), *target);
            bc.code[i] = insn;
        }
        for k in 0..bc.chains.len() {
            bc.chains[k] = self.past(&bc.code, None, bc.chains[k]);
        }
    }
}
