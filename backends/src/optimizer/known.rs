//! Known-value analysis: which cells hold a known constant before each IR node.
//!
//! One forward walk over the flat IR (an explicit stack for loops, no recursion). The tape starts all
//! zero; `Set`, `Add` on a known cell and a `MulLoop` from a known cell keep values known; `Input`
//! makes its cell unknown; after any loop or scan ends, its cell is 0.
//!
//! Loops are summarized first ([`LoopSummary`]): a loop is **balanced** when its body (inner loops
//! included) ends where it started, has no scan, and touches at most [`MAX_LOOP_CELLS`] cells.
//! Leaving a balanced loop keeps a cell it writes known when the value after the body equals the value
//! before the loop (so a temporary cleared again in the body stays known across the loop). Entering
//! one, the walk first *assumes* the same of every written cell (except the loop cell) and checks the
//! assumption at the `]` — or, when the loop cell is known non-zero, assumes the loop runs exactly
//! once (walks the body from the state before it) and checks that the cell is 0 at the `]`; a walk where an assumption fails is repeated without it, a few times, and
//! finally with none (entering then forgets every written cell). Any other loop forgets everything,
//! pointer included.
//!
//! The facts are recorded per node, for the cells the node reads or writes (and, for a balanced
//! loop's `LoopStart`, every cell its body touches): [`KnownValues::before`].

use std::collections::HashSet;

use crate::ir::{Node, Op};

mod node_set;
mod tape;
use node_set::NodeSet;
use tape::Tape;

/// The most distinct cells a loop body may touch for the loop to be summarized.
pub const MAX_LOOP_CELLS: usize = 48;

/// Optimistic walks tried before the pessimistic one (each retracts the assumptions that failed).
const OPTIMISTIC_ROUNDS: usize = 3;

/// The retracted-assumption key for "this loop runs exactly once".
const ONCE: i64 = i64::MIN;

/// What a balanced loop's body does to the tape, offsets relative to the loop cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoopSummary<'a> {
    /// The cells the body may write (an add, set, input, or a multiply-add target or source).
    pub written: &'a [i64],
    /// The cells the body reads or writes, the loop cell and inner loop cells included.
    pub touched: &'a [i64],
    /// Whether the body (inner loops included) has an input or output.
    pub io: bool,
}

/// The summaries of a program's balanced loops, every cell list in one flat vector (no allocation
/// per loop).
#[derive(Clone, Debug, Default)]
pub struct LoopSummaries {
    /// The `written` then `touched` cells of each summarized loop, one loop after the other.
    cells: Vec<i64>,
    /// Per summarized loop, innermost first (in the order of their `]`): where its `written`
    /// starts, where its `touched` starts and ends in `cells`, and its `io`.
    loops: Vec<SummarizedLoop>,
    /// The `[` of every summarized loop (no table entry a node: most nodes are not a summarized
    /// `[`).
    starts: NodeSet,
    /// By a `[`'s position in `starts`: its loop's index in `loops`.
    order: Vec<u32>,
}

/// Where one summarized loop's facts lie in [`LoopSummaries`].
#[derive(Clone, Copy, Debug)]
struct SummarizedLoop {
    /// The index of its `[`.
    start: u32,
    written: u32,
    touched: u32,
    end: u32,
    io: bool,
}

impl LoopSummaries {
    /// The summary of the loop whose `[` is node `index`, when it is balanced.
    #[inline]
    pub fn get(&self, index: usize) -> Option<LoopSummary<'_>> {
        let at = self.order[self.starts.position(index)?];
        Some(self.summary(at as usize))
    }

    /// The summary of summarized loop number `at`.
    #[inline]
    fn summary(&self, at: usize) -> LoopSummary<'_> {
        let l = self.loops[at];
        LoopSummary {
            written: &self.cells[l.written as usize..l.touched as usize],
            touched: &self.cells[l.touched as usize..l.end as usize],
            io: l.io,
        }
    }
}

/// For each `LoopStart`, the summary of its loop when it is balanced (other entries `None`).
///
/// The cells of the open loops are kept on two shared stacks (an inner loop's cells above its
/// parent's, since only the innermost open loop grows), and a finished summary copies its cells out
/// into one flat vector.
pub fn summarize_loops(nodes: &[Node]) -> LoopSummaries {
    /// An open loop: its `[`, the pointer relative to it, whether it is still a candidate (no scan,
    /// not too big), whether it has input or output, and where its cells start on the stacks.
    struct Open {
        start: usize,
        pos: i64,
        ok: bool,
        io: bool,
        written: Cells,
        touched: Cells,
    }
    /// Where an open loop's cells start on one of the stacks, and a 64-bit filter of them (bit
    /// `cell mod 64`): a cell whose bit is clear is not there, without a search.
    #[derive(Clone, Copy)]
    struct Cells {
        base: usize,
        bits: u64,
    }
    impl Cells {
        fn at(base: usize) -> Cells {
            Cells { base, bits: 0 }
        }
    }
    /// Adds `at` to the open loop's region of `stack`, unless it is there.
    #[inline]
    fn note(stack: &mut Vec<i64>, cells: &mut Cells, at: i64) {
        let bit = 1u64 << (at as u64 % 64);
        if cells.bits & bit == 0 || !stack[cells.base..].contains(&at) {
            cells.bits |= bit;
            stack.push(at);
        }
    }
    let mut summaries = LoopSummaries::default();
    let mut open: Vec<Open> = Vec::new();
    let (mut written, mut touched): (Vec<i64>, Vec<i64>) = (Vec::new(), Vec::new());
    for (i, node) in nodes.iter().enumerate() {
        if matches!(node.op, Op::LoopStart) {
            if let Some(top) = open.last_mut() {
                if top.ok {
                    note(&mut touched, &mut top.touched, top.pos);
                }
            }
            open.push(Open {
                start: i,
                pos: 0,
                ok: true,
                io: false,
                written: Cells::at(written.len()),
                touched: Cells::at(touched.len()),
            });
            continue;
        }
        if matches!(node.op, Op::LoopEnd) {
            let inner = open.pop().expect("IR loops are balanced");
            let balanced =
                inner.ok && inner.pos == 0 && touched.len() - inner.touched.base <= MAX_LOOP_CELLS;
            let summarized = balanced.then(|| {
                let cells = &mut summaries.cells;
                let w = cells.len() as u32;
                cells.extend_from_slice(&written[inner.written.base..]);
                let t = cells.len() as u32;
                cells.extend_from_slice(&touched[inner.touched.base..]);
                summaries.loops.push(SummarizedLoop {
                    start: inner.start as u32,
                    written: w,
                    touched: t,
                    end: cells.len() as u32,
                    io: inner.io,
                });
                summaries.loops.len() - 1
            });
            written.truncate(inner.written.base);
            touched.truncate(inner.touched.base);
            if let Some(parent) = open.last_mut() {
                match summarized.map(|at| summaries.summary(at)) {
                    Some(s) if parent.ok => {
                        for &w in s.written {
                            note(&mut touched, &mut parent.touched, parent.pos + w);
                            note(&mut written, &mut parent.written, parent.pos + w);
                        }
                        for &t in s.touched {
                            note(&mut touched, &mut parent.touched, parent.pos + t);
                        }
                        parent.io |= s.io;
                        // Cells only accumulate, so a loop too big now stays too big.
                        if touched.len() - parent.touched.base > MAX_LOOP_CELLS {
                            parent.ok = false;
                        }
                    }
                    _ => parent.ok = false,
                }
            }
            continue;
        }
        let Some(top) = open.last_mut() else {
            continue;
        };
        if !top.ok {
            continue;
        }
        let at = |offset: i32| top.pos + offset as i64;
        let (top_touched, top_written) = (&mut top.touched, &mut top.written);
        let mut write = |at: i64| {
            note(&mut touched, top_touched, at);
            note(&mut written, top_written, at);
        };
        match &node.op {
            Op::Add { offset, .. } | Op::Set { offset, .. } => write(at(*offset)),
            Op::Input { offset } => {
                write(at(*offset));
                top.io = true;
            }
            Op::Output { offset } => {
                note(&mut touched, top_touched, at(*offset));
                top.io = true;
            }
            Op::MulLoop { offset, targets } => {
                let from = at(*offset);
                write(from);
                for t in targets {
                    write(from + t.offset as i64);
                }
            }
            Op::Move { by } => top.pos += *by as i64,
            Op::Scan { .. } => top.ok = false,
            Op::Guard { .. } | Op::LoopStart | Op::LoopEnd => {}
        }
        if touched.len() - top.touched.base > MAX_LOOP_CELLS {
            top.ok = false;
        }
    }
    summaries.starts = NodeSet::new(nodes.len());
    for l in &summaries.loops {
        summaries.starts.insert(l.start as usize);
    }
    summaries.starts.finish();
    summaries.order = vec![0; summaries.loops.len()];
    for (at, l) in summaries.loops.iter().enumerate() {
        let position = summaries.starts.position(l.start as usize);
        summaries.order[position.expect("just inserted")] = at as u32;
    }
    summaries
}

/// The assumptions found not to hold: `(index of the loop's [, cell)`, or [`ONCE`] for the cell.
type Retracted = HashSet<(usize, i64), super::FastBuild>;

/// The known-value facts of a program: for each node, known values of the cells it uses, before it runs.
#[derive(Clone, Debug, Default)]
pub struct KnownValues {
    /// `facts[starts[i]..starts[i + 1]]` are node `i`'s facts.
    starts: Vec<u32>,
    /// `(offset from the pointer, value)`.
    facts: Vec<(i32, u8)>,
    summaries: LoopSummaries,
}

impl KnownValues {
    /// Analyzes unguarded (or guarded) IR.
    pub fn analyze(nodes: &[Node]) -> KnownValues {
        KnownValues::analyze_with(nodes, true).0
    }

    /// [`KnownValues::analyze`]; `optimistic: false` skips the optimistic walks and takes the
    /// pessimistic one at once. Also returns whether an optimistic walk was the answer.
    pub(crate) fn analyze_with(nodes: &[Node], optimistic: bool) -> (KnownValues, bool) {
        let summaries = summarize_loops(nodes);
        // One abstract tape for every walk (its window is allocated once).
        let mut tape = Tape::new();
        let summaries = if optimistic {
            match KnownValues::optimistic_walks(nodes, summaries, &mut tape) {
                Ok(known) => return (known, true),
                Err(summaries) => summaries,
            }
        } else {
            summaries
        };
        let mut known = KnownValues {
            summaries,
            ..KnownValues::default()
        };
        known.walk(nodes, &mut tape, None, false);
        (known, false)
    }

    /// Whether [`KnownValues::analyze`] of `nodes` is an optimistic walk (when not, it is the
    /// pessimistic walk, which `analyze_with(nodes, false)` takes at once).
    pub(crate) fn optimistic_holds(nodes: &[Node]) -> bool {
        KnownValues::optimistic_walks(nodes, summarize_loops(nodes), &mut Tape::new()).is_ok()
    }

    /// The optimistic walks: a balanced loop is assumed to leave each cell it writes at the value it
    /// had before the loop, unless a walk showed otherwise. A walk whose assumptions all hold is the
    /// answer (by induction over the iterations, each assumed cell holds its value at every
    /// iteration start); after [`OPTIMISTIC_ROUNDS`] failed walks, the summaries are handed back for
    /// the pessimistic walk.
    fn optimistic_walks(
        nodes: &[Node],
        mut summaries: LoopSummaries,
        tape: &mut Tape,
    ) -> Result<KnownValues, LoopSummaries> {
        let mut retracted = Retracted::default();
        for round in 1..=OPTIMISTIC_ROUNDS {
            let mut known = KnownValues {
                summaries,
                ..KnownValues::default()
            };
            // The last optimistic round stops at its first failed assumption: the pessimistic walk
            // is the answer then, and no later round needs the rest of what failed.
            let last = round == OPTIMISTIC_ROUNDS;
            if known.walk(nodes, tape, Some(&mut retracted), last) {
                return Ok(known);
            }
            summaries = known.summaries;
        }
        Err(summaries)
    }

    /// One forward walk recording facts. With `assume`, balanced loops keep the cells they write at
    /// their values before the loop (except the assumptions in the set); returns whether every
    /// assumption held, adding those that did not to the set. With `give_up`, returns `false` at the
    /// first assumption that fails (the facts are then incomplete).
    fn walk(
        &mut self,
        nodes: &[Node],
        tape: &mut Tape,
        mut assume: Option<&mut Retracted>,
        give_up: bool,
    ) -> bool {
        self.starts = Vec::with_capacity(nodes.len() + 1);
        self.facts = Vec::with_capacity(nodes.len());
        let mut held = true;
        tape.reset();
        // The values before the loop of the cells each open balanced loop writes, each with whether
        // it is assumed to be kept: one stack for all open loops (no allocation per loop).
        let mut before: Vec<(i64, Option<u8>, bool)> = Vec::new();
        enum Open {
            /// A balanced loop: its `[` index and where its cells start in `before`.
            Balanced(usize, usize),
            /// A balanced loop assumed to run exactly once (its cell is known non-zero on entry).
            Once(usize),
            /// Any other loop.
            Other,
        }
        let mut open: Vec<Open> = Vec::new();
        for (i, node) in nodes.iter().enumerate() {
            // A walk whose assumption failed is thrown away (only its retractions count): it
            // records nothing from then on.
            if held {
                self.starts.push(self.facts.len() as u32);
                self.record(tape, &node.op, i);
            }
            match &node.op {
                Op::LoopStart => match self.summaries.get(i) {
                    Some(_)
                        if matches!(tape.get(0), Some(k) if k != 0)
                            && assume.as_ref().is_some_and(|r| !r.contains(&(i, ONCE))) =>
                    {
                        // Entered for sure; if the body leaves the cell 0 it runs exactly once, and
                        // walking it from the state before the loop is exact.
                        open.push(Open::Once(i));
                    }
                    Some(summary) => {
                        let base = before.len();
                        for &w in summary.written {
                            let value = tape.get(w);
                            let kept = value.is_some()
                                && w != 0
                                && assume.as_ref().is_some_and(|r| !r.contains(&(i, w)));
                            if !kept {
                                tape.put(w, None);
                            }
                            before.push((w, value, kept));
                        }
                        open.push(Open::Balanced(i, base));
                    }
                    None => {
                        tape.forget_all();
                        open.push(Open::Other);
                    }
                },
                Op::LoopEnd => {
                    match open.pop().expect("IR loops are balanced") {
                        Open::Once(start) => {
                            if tape.get(0) != Some(0) {
                                if give_up {
                                    return false;
                                }
                                held = false;
                                tape.forget_all();
                                if let Some(r) = assume.as_mut() {
                                    r.insert((start, ONCE));
                                }
                            }
                        }
                        Open::Balanced(start, base) => {
                            // Not entered: the values before; entered: the values after the body.
                            for &(w, value, kept) in &before[base..] {
                                if tape.get(w) != value {
                                    tape.put(w, None);
                                    if kept {
                                        if give_up {
                                            return false;
                                        }
                                        held = false;
                                        if let Some(r) = assume.as_mut() {
                                            r.insert((start, w));
                                        }
                                    }
                                }
                            }
                            before.truncate(base);
                        }
                        Open::Other => tape.forget_all(),
                    }
                    tape.put(0, Some(0));
                }
                Op::Scan { .. } => {
                    tape.forget_all();
                    tape.put(0, Some(0));
                }
                op => tape.apply(op),
            }
        }
        self.starts.push(self.facts.len() as u32);
        held
    }

    fn record(&mut self, tape: &Tape, op: &Op, index: usize) {
        let first = self.facts.len();
        #[inline(always)]
        fn note_in(tape: &Tape, facts: &mut Vec<(i32, u8)>, offset: i64) {
            if let (Some(v), Ok(o)) = (tape.get(offset), i32::try_from(offset)) {
                facts.push((o, v));
            }
        }
        let note = |facts: &mut Vec<(i32, u8)>, offset: i64| note_in(tape, facts, offset);
        match op {
            Op::Add { offset, .. }
            | Op::Set { offset, .. }
            | Op::Output { offset }
            | Op::Input { offset } => note(&mut self.facts, *offset as i64),
            Op::MulLoop { offset, targets } => {
                note(&mut self.facts, *offset as i64);
                for t in targets {
                    // Targets are distinct and never the loop cell in IR the passes make; a
                    // hand-made op may repeat one, and each cell is recorded once.
                    let at = *offset as i64 + t.offset as i64;
                    let seen = i32::try_from(at)
                        .is_ok_and(|o| self.facts[first..].iter().any(|&(x, _)| x == o));
                    if !seen {
                        note(&mut self.facts, at);
                    }
                }
            }
            Op::LoopStart => {
                note(&mut self.facts, 0);
                if let Some(summary) = self.summaries.get(index) {
                    // `touched` has no repeats; the loop cell was recorded above.
                    for &t in summary.touched.iter().filter(|&&t| t != 0) {
                        note(&mut self.facts, t);
                    }
                }
            }
            Op::LoopEnd | Op::Scan { .. } => note(&mut self.facts, 0),
            Op::Move { .. } | Op::Guard { .. } => {}
        }
    }

    /// The value of the cell at `offset` from the pointer just before node `index` runs, when known.
    /// Only the cells the node uses are recorded (all cells its body touches for a balanced loop).
    pub fn before(&self, index: usize, offset: i32) -> Option<u8> {
        self.facts_of(index)
            .iter()
            .find(|&&(o, _)| o == offset)
            .map(|&(_, v)| v)
    }

    /// Every recorded fact for node `index`: `(offset from the pointer, value)`.
    pub fn facts_of(&self, index: usize) -> &[(i32, u8)] {
        match (self.starts.get(index), self.starts.get(index + 1)) {
            (Some(&a), Some(&b)) => &self.facts[a as usize..b as usize],
            _ => &[],
        }
    }

    /// The summary of the loop starting at node `index` when it is balanced.
    pub fn summary(&self, index: usize) -> Option<LoopSummary<'_>> {
        self.summaries.get(index)
    }
}

#[cfg(test)]
mod tests;
