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
use crate::ir::plan::Decision;
use crate::ir::{Node, Op};

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

/// What each guard verifies and where each slot of a block stands, indexed by slot.
pub(super) struct Landings {
    /// The range a guard slot tests, when some pointer can pass it.
    tests: Vec<Option<(i64, i64)>>,
    /// Whether a guard slot always passes (the plan's `Always`).
    proven: Vec<bool>,
    /// The standing of each slot of a block whose guard can pass.
    spots: Vec<Option<Spot>>,
}

impl Landings {
    /// No guards yet, for `slots` slots.
    pub(super) fn new(slots: usize) -> Landings {
        Landings {
            tests: vec![None; slots],
            proven: vec![false; slots],
            spots: vec![None; slots],
        }
    }

    /// Records the guard at slot `index`, testing `check` as `decision` says, and its block `body`.
    pub(super) fn add_block(
        &mut self,
        index: usize,
        check: (i32, i32),
        decision: Decision,
        body: &[Node],
    ) {
        if decision == Decision::Never {
            return;
        }
        self.proven[index] = decision == Decision::Always;
        let (lo, hi) = (check.0 as i64, check.1 as i64);
        self.tests[index] = Some((lo, hi));
        let mut pos = 0i64;
        for (k, node) in body.iter().enumerate() {
            if let Op::Move { by } = node.op {
                pos += by as i64;
            }
            self.spots[index + 1 + k] = Some(Spot { lo, hi, pos });
        }
    }

    /// Whether the guard at slot `target` passes on a transfer from slot `from` (a slot of a checked
    /// block whose node was the last to move the pointer, or `None` for any other transfer).
    fn implied(&self, from: Option<usize>, target: usize) -> bool {
        if self.proven.get(target) == Some(&true) {
            return true;
        }
        let spot = from.and_then(|f| self.spots.get(f).copied().flatten());
        match (spot, self.tests.get(target).copied().flatten()) {
            (Some(s), Some((lo, hi))) => s.lo <= s.pos + lo && s.pos + hi <= s.hi,
            _ => false,
        }
    }

    /// Whether the guard at slot `target` passes when control falls into it from slot `from` (a
    /// slot of a checked block whose node was the last to move the pointer): what a fused test
    /// that runs the block after it in its own handler needs (`compile::fuse_exits`).
    pub(super) fn falls_through(&self, from: usize, target: usize) -> bool {
        self.implied(Some(from), target)
    }

    /// `target`, or the slot after it when it is a guard (`guards[target]`) that passes on a transfer
    /// from `from`.
    fn past(&self, guards: &[bool], from: Option<usize>, target: u32) -> u32 {
        let t = target as usize;
        if guards.get(t) == Some(&true) && self.implied(from, t) {
            target + 1
        } else {
            target
        }
    }

    /// Points every transfer that lands on a guard passing on it past the guard. Plain `LoopStart`
    /// and `LoopEnd` targets stay (they delimit a loop's slots, [`Bytecode::loop_slots`]), and so do
    /// walk loops' bodies (which name their guard).
    pub(super) fn skip_implied(&self, bc: &mut Bytecode) {
        let guards: Vec<bool> = bc
            .code
            .iter()
            .map(|insn| matches!(insn, Insn::Guard { .. }))
            .collect();
        for (i, insn) in bc.code.iter_mut().enumerate() {
            // The explicit target, and the slot whose node last moved the pointer before the jump.
            let (target, from) = match insn {
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
            *target = self.past(&guards, Some(from), *target);
        }
        for t in &mut bc.chains {
            *t = self.past(&guards, None, *t);
        }
    }
}
