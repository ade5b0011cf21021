//! The guard plan: one decision per guard, computed once per compilation for the configuration's tape
//! length, and consumed by every emitter (the JITs, the C translation, the bytecode compiler and the
//! IR evaluator). No emitter decides a bounds check by itself.
//!
//! [`PlannedIr::new`] takes guarded IR ([`super::blocks::guard`]) and
//! 1. **verifies** every guard once against the nodes it covers: the block holds only block nodes, its
//!    nodes' reach ([`node_reach`]) lies within the guard's `lo ..= hi`, and `lo <= 0 <= hi`; loops are
//!    balanced. IR that fails is refused with a [`PlanError`], so unchecked code can never be emitted
//!    for a block its guard does not cover, whatever a pass did;
//! 2. runs the **pointer-range analysis** ([`ranges`](PlannedIr::entry_range)): the range of pointer
//!    values each node can see, exact from the program's entry (pointer 0), kept across balanced loops
//!    and reset to the whole tape after scans and unbalanced loops;
//! 3. **decides** each guard ([`Decision`]): `Always` when every pointer in the range passes (the block
//!    runs unchecked), `Never` when none can (the block is wider than the tape, or the range lies
//!    wholly off one side: its span always runs exactly), else `Check { lo, hi }` at run time.
//!
//! The analysis follows the pointer through a block by the block's net move. That is what the fast
//! path does; the exact fallback moves by the net move of the block's *source*, which equals it only
//! when every loop in the source span ends where it started (then the reference semantics cannot move
//! otherwise) and the two nets agree. A guard whose fallback is not proven to move like its block
//! (a dead loop that moves, or a pass bug) resets the range after it to the whole tape, and makes the
//! loops around it unbalanced. So every decision holds for every run, whichever path each block took.

use std::sync::OnceLock;

mod consume;

pub use consume::DecidedNodes;

use super::blocks::{in_block, node_reach};
use super::{Node, Op, Span};
use crate::syntax::{CmdKind, Program};

/// How the bounds check of one guard is decided for one tape length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Every pointer that can reach the guard passes it: the block runs with no check.
    Always,
    /// No pointer can pass it: the block's span always runs exactly (its nodes never run).
    Never,
    /// Checked at run time: the block runs when `ptr + lo >= 0 && ptr + hi < tape_len`, else its
    /// span runs exactly. Always `lo <= 0 <= hi` and `hi - lo < tape_len`.
    Check {
        /// Lowest offset the block reaches.
        lo: i32,
        /// Highest offset the block reaches.
        hi: i32,
    },
}

impl Decision {
    /// Whether the block runs its nodes with the pointer at `ptr` on a tape of `tape_len` cells.
    #[inline]
    pub fn passes(self, ptr: usize, tape_len: usize) -> bool {
        match self {
            Decision::Always => true,
            Decision::Never => false,
            Decision::Check { lo, hi } => {
                let ptr = ptr as i64;
                ptr + lo as i64 >= 0 && ptr + (hi as i64) < tape_len as i64
            }
        }
    }

    /// The offsets a machine that tests every guard the same way (`ptr + lo >= 0 && ptr + hi <
    /// tape_len`) tests to carry out this decision: `Always` is `(0, 0)`, which every pointer on the
    /// tape passes, and `Never` is `(i32::MIN, 0)`, which no pointer of a tape of at most
    /// [`crate::MAX_TAPE_LEN`] cells passes.
    pub fn as_range_check(self) -> (i32, i32) {
        match self {
            Decision::Always => (0, 0),
            Decision::Never => (i32::MIN, 0),
            Decision::Check { lo, hi } => (lo, hi),
        }
    }
}

/// An inclusive range of pointer indices, within the tape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PtrRange {
    /// The lowest pointer index.
    pub lo: usize,
    /// The highest pointer index.
    pub hi: usize,
}

impl PtrRange {
    /// Whether `ptr` lies in the range.
    pub fn contains(self, ptr: usize) -> bool {
        self.lo <= ptr && ptr <= self.hi
    }
}

/// Why guarded IR cannot be planned: it is malformed (a pass or a hand-made test case is wrong).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PlanError {
    /// The block node at this index is not covered by a guard.
    Unguarded(usize),
    /// The guard at this index claims more nodes than follow it, or a loop boundary or scan.
    GuardTooLong(usize),
    /// The guard at this index does not cover what its block reaches, or excludes offset 0.
    GuardTooNarrow(usize),
    /// The `LoopEnd` at this index closes no loop, or (with `usize::MAX`) a loop is never closed.
    Unbalanced(usize),
    /// The tape length is outside `1 ..= MAX_TAPE_LEN`.
    TapeLen(usize),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::Unguarded(i) => write!(f, "IR node {i} is not inside a guarded block"),
            PlanError::GuardTooLong(i) => {
                write!(
                    f,
                    "the guard at IR node {i} covers more than a straight-line block"
                )
            }
            PlanError::GuardTooNarrow(i) => {
                write!(
                    f,
                    "the guard at IR node {i} does not cover what its block reaches"
                )
            }
            PlanError::Unbalanced(usize::MAX) => f.write_str("IR has an unclosed loop"),
            PlanError::Unbalanced(i) => {
                write!(f, "IR node {i} closes a loop that was never opened")
            }
            PlanError::TapeLen(n) => write!(f, "tape length {n} cannot be planned for"),
        }
    }
}

impl std::error::Error for PlanError {}

/// Guarded IR with one verified [`Decision`] per guard and the pointer range at every node, for one
/// tape length. The only way to make one is [`PlannedIr::new`], so every emitter's input is verified.
#[derive(Clone, Debug)]
pub struct PlannedIr {
    nodes: Vec<Node>,
    /// Per node, one byte: which decision (a `Check` takes its offsets from the guard) and whether
    /// the guard's fallback moves like its block; meaningful at guards (other entries are `Always`,
    /// untrusted).
    guards: Vec<GuardPlan>,
    /// The pointer's range when control enters node 0 (what a whole-program emitter asks).
    first_entry: CompactRange,
    /// Per node, and one past the last: the pointer's range when control enters the node (for a
    /// `LoopStart`: at the loop's test, from the `[` and from every back edge alike), in 32 bits
    /// (a tape has at most [`crate::MAX_TAPE_LEN`] cells). Made by the first [`PlannedIr::entry_range`]
    /// of another node (the analysis walked again): emitters that never ask (the bytecode, a whole
    /// program's code) never hold these 8 bytes a node.
    entries: OnceLock<Vec<CompactRange>>,
    tape_len: usize,
}

/// What the plan keeps of one guard, in one byte: its [`DecisionKind`] in the low two bits, and
/// [`GuardPlan::TRUSTED`] when its fallback is proven to move like its block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct GuardPlan(u8);

impl GuardPlan {
    const TRUSTED: u8 = 1 << 2;

    fn new(decision: DecisionKind, trusted: bool) -> GuardPlan {
        GuardPlan(decision as u8 | if trusted { GuardPlan::TRUSTED } else { 0 })
    }

    fn decision(self) -> DecisionKind {
        match self.0 & 3 {
            0 => DecisionKind::Always,
            1 => DecisionKind::Never,
            _ => DecisionKind::Check,
        }
    }

    fn trusted(self) -> bool {
        self.0 & GuardPlan::TRUSTED != 0
    }
}

/// A [`Decision`] without the offsets, which a `Check` always takes from its guard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum DecisionKind {
    Always = 0,
    Never = 1,
    Check = 2,
}

impl DecisionKind {
    /// The decision of `guard` (a `Check` takes its offsets from it).
    #[inline]
    fn of(self, guard: &Node) -> Decision {
        match self {
            DecisionKind::Always => Decision::Always,
            DecisionKind::Never => Decision::Never,
            DecisionKind::Check => match guard.op {
                Op::Guard { lo, hi, .. } => Decision::Check { lo, hi },
                _ => unreachable!("only guards are checked"),
            },
        }
    }
}

/// A [`PtrRange`] in 32 bits a side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CompactRange {
    lo: u32,
    hi: u32,
}

impl From<PtrRange> for CompactRange {
    fn from(range: PtrRange) -> CompactRange {
        // Ranges lie within a tape of at most `MAX_TAPE_LEN` (2^30) cells.
        CompactRange {
            lo: range.lo as u32,
            hi: range.hi as u32,
        }
    }
}

impl From<CompactRange> for PtrRange {
    fn from(range: CompactRange) -> PtrRange {
        PtrRange {
            lo: range.lo as usize,
            hi: range.hi as usize,
        }
    }
}

impl PlannedIr {
    /// Verifies guarded IR `nodes` of `program` and decides every guard for a tape of `tape_len`
    /// cells, the pointer starting at 0 before node 0.
    pub fn new(
        program: &Program,
        nodes: Vec<Node>,
        tape_len: usize,
    ) -> Result<PlannedIr, PlanError> {
        let mut first_entry = CompactRange::from(PtrRange { lo: 0, hi: 0 });
        let (decisions, facts) = plan(program, &nodes, tape_len, |node, range| {
            if node == 0 {
                first_entry = range.into();
            }
        })?;
        // At a guard its fact is whether the fallback is trusted (at a loop start, its balance,
        // which `walk_entries` works out again).
        let guards = decisions
            .into_iter()
            .zip(facts)
            .map(|(decision, fact)| GuardPlan::new(decision, fact))
            .collect();
        Ok(PlannedIr {
            nodes,
            guards,
            first_entry,
            entries: OnceLock::new(),
            tape_len,
        })
    }

    /// Verifies and decides guarded IR `nodes` of `program` as [`PlannedIr::new`] does, for a code
    /// generator that walks it once in order and needs only the decisions: the pointer ranges are
    /// not kept, and the nodes are handed over one by one and freed as the walk goes.
    pub fn decide(
        program: &Program,
        nodes: Vec<Node>,
        tape_len: usize,
    ) -> Result<DecidedNodes, PlanError> {
        let (decisions, _) = plan(program, &nodes, tape_len, |_, _| {})?;
        Ok(DecidedNodes::new(nodes, decisions))
    }

    /// The guarded IR.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The decision of the guard at node `guard` (`Always` for any other node).
    #[inline]
    pub fn decision(&self, guard: usize) -> Decision {
        self.guards[guard].decision().of(&self.nodes[guard])
    }

    /// The range the pointer lies in whenever control enters node `node` (or reaches the end, for
    /// `node == nodes().len()`): generated code that starts at that node (a whole program at node 0, a
    /// tiered loop at its `LoopStart`) may assume it.
    pub fn entry_range(&self, node: usize) -> PtrRange {
        if node == 0 {
            return self.first_entry.into();
        }
        self.entries.get_or_init(|| self.walk_entries())[node].into()
    }

    /// The entry range of every node, and one past the last: the analysis of [`PlannedIr::new`]
    /// walked again (it succeeded then, on these very nodes).
    fn walk_entries(&self) -> Vec<CompactRange> {
        let mut facts: Vec<bool> = self.guards.iter().map(|g| g.trusted()).collect();
        balanced_loops(&self.nodes, &mut facts);
        let full = PtrRange {
            lo: 0,
            hi: self.tape_len - 1,
        };
        let mut entries = vec![CompactRange::from(full); self.nodes.len() + 1];
        analyse(&self.nodes, &facts, self.tape_len, |node, range| {
            entries[node] = range.into()
        })
        .expect("the analysis succeeded when the IR was planned");
        entries
    }

    /// The tape length the decisions are for.
    pub fn tape_len(&self) -> usize {
        self.tape_len
    }
}

/// What [`PlannedIr::new`] and [`PlannedIr::decide`] share: checks the tape length, verifies `nodes`
/// and decides every guard, telling `entry` the ranges as [`analyse`] does. Returns the decisions and
/// each node's fact as [`balanced_loops`] leaves it (at a guard, whether its fallback is trusted).
fn plan(
    program: &Program,
    nodes: &[Node],
    tape_len: usize,
    entry: impl FnMut(usize, PtrRange),
) -> Result<(Vec<DecisionKind>, Vec<bool>), PlanError> {
    if tape_len == 0 || tape_len > crate::MAX_TAPE_LEN {
        return Err(PlanError::TapeLen(tape_len));
    }
    let mut facts = verify(program, nodes)?;
    balanced_loops(nodes, &mut facts);
    let decisions = analyse(nodes, &facts, tape_len, entry)?;
    Ok((decisions, facts))
}

/// Checks every guard against its block and the loops' balance; returns, per node, whether the guard
/// there has a fallback proven to move like its block (`false` for other nodes).
fn verify(program: &Program, nodes: &[Node]) -> Result<Vec<bool>, PlanError> {
    let mut trusted = vec![false; nodes.len()];
    let mut depth = 0usize;
    let mut i = 0;
    while i < nodes.len() {
        match nodes[i].op {
            Op::Guard { lo, hi, len } => {
                let end = i + 1 + len as usize;
                let block = nodes.get(i + 1..end).ok_or(PlanError::GuardTooLong(i))?;
                if !block.iter().all(|n| in_block(&n.op)) {
                    return Err(PlanError::GuardTooLong(i));
                }
                let (reach_lo, reach_hi) = node_reach(block);
                // A side saturated at the i32 limit stands for "further than 32 bits": such a block
                // is wider than any tape and is never run (see `decide`).
                let covers_lo = reach_lo >= lo as i64 || lo == i32::MIN;
                let covers_hi = reach_hi <= hi as i64 || hi == i32::MAX;
                if lo > 0 || hi < 0 || !covers_lo || !covers_hi {
                    return Err(PlanError::GuardTooNarrow(i));
                }
                trusted[i] = fallback_moves_like_block(program, nodes[i].span, net_move(block));
                i = end;
            }
            Op::LoopStart => {
                depth += 1;
                i += 1;
            }
            Op::LoopEnd => {
                depth = depth.checked_sub(1).ok_or(PlanError::Unbalanced(i))?;
                i += 1;
            }
            Op::Scan { .. } => i += 1,
            _ => return Err(PlanError::Unguarded(i)),
        }
    }
    if depth != 0 {
        return Err(PlanError::Unbalanced(usize::MAX));
    }
    Ok(trusted)
}

/// The net pointer move of a block's nodes.
fn net_move(block: &[Node]) -> i64 {
    block
        .iter()
        .map(|n| match n.op {
            Op::Move { by } => by as i64,
            _ => 0,
        })
        .sum()
}

/// Whether running source commands `span` exactly (when it completes) moves the pointer by exactly
/// `net`: true when every loop in the span ends where it started, so the reference semantics moves by
/// the straight walk's net, and that net is `net`.
fn fallback_moves_like_block(program: &Program, span: Span, net: i64) -> bool {
    let Some(cmds) = program.cmds().get(span.range()) else {
        return false;
    };
    let mut pos = 0i64;
    let mut opens: Vec<i64> = Vec::new();
    for cmd in cmds {
        match cmd.kind {
            CmdKind::Left => pos -= 1,
            CmdKind::Right => pos += 1,
            CmdKind::Open => opens.push(pos),
            CmdKind::Close => match opens.pop() {
                Some(at) if at == pos => {}
                _ => return false,
            },
            _ => {}
        }
    }
    opens.is_empty() && pos == net
}

/// Marks in `facts`, at each `LoopStart` index, whether its loop is balanced (`facts` holds, at each
/// guard, whether its fallback is trusted, as [`verify`] left it; the two kinds of node never share an
/// index, so one byte a node serves both): its body's moves add up to zero and it
/// holds no scan, no unbalanced loop and no guard whose fallback may move otherwise than its block, so
/// the pointer is the same at every test of the loop. (Other indices hold `false`.)
fn balanced_loops(nodes: &[Node], facts: &mut [bool]) {
    // An open loop: its `LoopStart` index (whose fact says whether it is still balanced, so a
    // frame is 16 bytes: a million nested loops are a million frames) and its body's net move.
    struct Frame {
        start: usize,
        net: i64,
    }
    let mut stack: Vec<Frame> = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let spoil = match node.op {
            Op::LoopStart => {
                facts[i] = true;
                stack.push(Frame { start: i, net: 0 });
                false
            }
            Op::LoopEnd => {
                let Some(frame) = stack.pop() else { continue };
                let ok = facts[frame.start] && frame.net == 0;
                facts[frame.start] = ok;
                !ok
            }
            Op::Move { by } => {
                if let Some(top) = stack.last_mut() {
                    top.net += by as i64;
                }
                false
            }
            Op::Scan { .. } => true,
            Op::Guard { .. } => !facts[i],
            _ => false,
        };
        if spoil {
            if let Some(top) = stack.last() {
                facts[top.start] = false;
            }
        }
    }
}

/// Decides a guard reaching `lo ..= hi` with the pointer in `range` on a tape of `tape_len` cells.
fn decide(lo: i32, hi: i32, range: PtrRange, tape_len: usize) -> Decision {
    let (lo64, hi64) = (lo as i64, hi as i64);
    let last = tape_len as i64 - 1;
    let (rlo, rhi) = (range.lo as i64, range.hi as i64);
    if hi64 - lo64 > last || rhi + lo64 < 0 || rlo + hi64 > last {
        // Wider than the tape, or off one side for every pointer in the range.
        return Decision::Never;
    }
    if rlo + lo64 >= 0 && rhi + hi64 <= last {
        return Decision::Always;
    }
    Decision::Check { lo, hi }
}

/// The pointer-range analysis and the decisions: one forward walk, loops matched with a stack;
/// `facts` as [`balanced_loops`] left them. Tells `entry` the range at each node control can enter, and one past the last (a node told twice
/// takes the second; block nodes, never entered, are not told: their range is the whole tape).
fn analyse(
    nodes: &[Node],
    facts: &[bool],
    tape_len: usize,
    mut entry: impl FnMut(usize, PtrRange),
) -> Result<Vec<DecisionKind>, PlanError> {
    let last = tape_len - 1;
    let full = PtrRange { lo: 0, hi: last };
    let mut decisions = vec![DecisionKind::Always; nodes.len()];
    let mut range = PtrRange { lo: 0, hi: 0 };
    // The range at each open loop's test and whether it holds after the loop: 12 bytes a loop.
    let mut heads: Vec<(CompactRange, bool)> = Vec::new();
    let mut i = 0;
    while i < nodes.len() {
        entry(i, range);
        match nodes[i].op {
            Op::Guard { lo, hi, len } => {
                let end = i + 1 + len as usize;
                let decision = decide(lo, hi, range, tape_len);
                decisions[i] = match decision {
                    Decision::Always => DecisionKind::Always,
                    Decision::Never => DecisionKind::Never,
                    Decision::Check { .. } => DecisionKind::Check,
                };
                // Block nodes: the pointer is somewhere on the tape (they are never entry points).
                let net = net_move(&nodes[i + 1..end]);
                range = if facts[i] || decision == Decision::Always {
                    let shift = |p: usize| (p as i64 + net).clamp(0, last as i64) as usize;
                    PtrRange {
                        lo: shift(range.lo),
                        hi: shift(range.hi),
                    }
                } else {
                    full
                };
                i = end;
                continue;
            }
            Op::LoopStart => {
                let head = if facts[i] { range } else { full };
                entry(i, head);
                heads.push((head.into(), facts[i]));
                range = head;
            }
            Op::LoopEnd => {
                let (head, kept) = heads.pop().ok_or(PlanError::Unbalanced(i))?;
                let head = PtrRange::from(head);
                range = if kept { head } else { full };
            }
            Op::Scan { .. } => range = full,
            _ => return Err(PlanError::Unguarded(i)),
        }
        i += 1;
    }
    entry(nodes.len(), range);
    Ok(decisions)
}

#[cfg(test)]
mod tests;
