//! The optimizer: small pure passes over the flat IR, selectable by name, run to a fixed point.
//!
//! Every pass is a function `Vec<Node> -> Vec<Node>` over *unguarded* IR with one rewrite each (see its
//! doc comment for the BF before and after). [`optimize`] lowers a program, runs the chosen passes in
//! order, round after round until nothing changes (at most [`MAX_ROUNDS`] rounds), then puts the guards
//! in ([`crate::ir::blocks::guard`]), so its result is always ready to run. `docs/optimizer.md` has the
//! whole story: the passes, the guard scheme and the fuel rule.
//!
//! Two invariants every pass keeps, because the guards are computed from them:
//! - **spans**: the nodes of a straight-line block together cover exactly the contiguous source commands
//!   the block replaces (a removed node hands its span to a block-mate; a loop folded into one node gets
//!   the span from its `[` to its `]`);
//! - **structure**: loops stay balanced, and nothing is moved across a loop boundary or a scan.

mod clear;
mod compact;
mod dead_code;
mod evaluate;
mod fold_runs;
pub mod known;
mod mul;
mod offsets;
mod propagate;
mod scan;
#[cfg(test)]
pub(crate) mod tests;

use std::fmt;

pub use clear::clear;
pub use dead_code::dead_code;
pub use evaluate::evaluate;
pub use fold_runs::fold_runs;
pub use mul::mul;
pub use offsets::offsets;
pub use propagate::propagate;
pub use scan::scan;

use crate::ir::blocks::guard;
use crate::ir::{lower, Node, Op};
use crate::syntax::Program;
use compact::{fold_loops, fold_loops_at, map_blocks};

/// The most rounds the driver runs before it stops looking for a fixed point.
pub const MAX_ROUNDS: usize = 16;

/// The largest pointer distance a pass puts into one offset or move (folding stops there), so that no
/// sum of two offsets overflows an `i32`.
pub const MAX_OFFSET: i64 = (1 << 30) - 1;

/// One optimization pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pass {
    /// `fold-runs`: `+++--` becomes one add, `>><` one move.
    FoldRuns,
    /// `clear`: `[-]`, `[+]`, `[---]` become a set; a set absorbs the adds after it.
    Clear,
    /// `mul`: `[->++>-<<]`, `[--->+<]` and nests of such loops become a multiply-add.
    Mul,
    /// `scan`: `[>]`, `[<<<]` become a scan.
    Scan,
    /// `offsets`: moves inside a straight-line block become offsets and one move at its end.
    Offsets,
    /// `known`: known cell values turn adds into sets, multiply-adds into adds, drop dead loops.
    Known,
    /// `evaluate`: loops whose cells are all known run at compile time.
    Evaluate,
    /// `dead-code`: loops that provably never run are removed.
    DeadCode,
}

impl Pass {
    /// Every pass, in the order `-O2` runs them.
    pub const ALL: [Pass; 8] = [
        Pass::FoldRuns,
        Pass::Clear,
        Pass::Mul,
        Pass::Scan,
        Pass::Offsets,
        Pass::Known,
        Pass::Evaluate,
        Pass::DeadCode,
    ];

    /// The pass's name as `--passes` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Pass::FoldRuns => "fold-runs",
            Pass::Clear => "clear",
            Pass::Mul => "mul",
            Pass::Scan => "scan",
            Pass::Offsets => "offsets",
            Pass::Known => "known",
            Pass::Evaluate => "evaluate",
            Pass::DeadCode => "dead-code",
        }
    }

    /// A one-line description for help texts.
    pub fn summary(self) -> &'static str {
        match self {
            Pass::FoldRuns => "fold runs of +- and <> into one add or move (with cancellation)",
            Pass::Clear => "[-], [+] and [-k] (k odd) become a set; following adds fold into it",
            Pass::Mul => "balanced loops that add constants, the loop cell stepping by an odd amount, become multiply-adds",
            Pass::Scan => "[>], [<<], ... become a scan",
            Pass::Offsets => "moves inside a straight-line block become offsets and one move at its end",
            Pass::Known => "known cell values: adds become sets, multiplies adds, dead and once-only loops go",
            Pass::Evaluate => "loops whose cells are all known run at compile time",
            Pass::DeadCode => "loops that can never be entered are removed",
        }
    }

    /// The pass with this name.
    pub fn by_name(name: &str) -> Option<Pass> {
        Pass::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Runs this pass once over unguarded IR.
    pub fn run(self, nodes: Vec<Node>) -> Vec<Node> {
        self.run_cached(nodes, &mut FactsCache::default())
    }

    /// [`Pass::run`], taking the known-value analysis of `nodes` from `cache` when it holds the
    /// analysis of this very IR (the result is the same either way).
    fn run_cached(self, nodes: Vec<Node>, cache: &mut FactsCache) -> Vec<Node> {
        match self {
            Pass::FoldRuns => fold_runs(nodes),
            Pass::Clear => clear(nodes),
            Pass::Mul => mul::mul_with(nodes, cache),
            Pass::Scan => scan(nodes),
            Pass::Offsets => offsets(nodes),
            Pass::Known => propagate::propagate_with(nodes, cache),
            Pass::Evaluate => evaluate::evaluate_with(nodes, cache),
            Pass::DeadCode => dead_code(nodes),
        }
    }
}

impl fmt::Display for Pass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A pass name that does not exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownPass {
    /// The name that was asked for.
    pub name: String,
}

impl fmt::Display for UnknownPass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let allowed: Vec<&str> = Pass::ALL.iter().map(|p| p.name()).collect();
        write!(
            f,
            "unknown pass '{}': the passes are {}",
            self.name,
            allowed.join(", ")
        )
    }
}

impl std::error::Error for UnknownPass {}

/// An ordered list of passes to run, each at most once per round.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PassList {
    passes: Vec<Pass>,
}

impl PassList {
    /// Parses a comma-separated list of pass names (`"fold-runs,offsets"`); blanks around names and
    /// empty items are ignored, a repeated name counts once.
    pub fn parse(list: &str) -> Result<PassList, UnknownPass> {
        let mut passes = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let pass = Pass::by_name(name).ok_or_else(|| UnknownPass {
                name: name.to_string(),
            })?;
            if !passes.contains(&pass) {
                passes.push(pass);
            }
        }
        Ok(PassList { passes })
    }

    /// The passes of an optimization level: 0 none, 1 `fold-runs` only, 2 (and above) every pass.
    pub fn preset(level: u8) -> PassList {
        let passes = match level {
            0 => Vec::new(),
            1 => vec![Pass::FoldRuns],
            _ => Pass::ALL.to_vec(),
        };
        PassList { passes }
    }

    /// The passes with these names; panics on an unknown name (for code and tests, not user input).
    pub fn only(names: &[&str]) -> PassList {
        match PassList::parse(&names.join(",")) {
            Ok(list) => list,
            Err(e) => panic!("{e}"),
        }
    }

    /// The passes, in the order they run.
    pub fn passes(&self) -> &[Pass] {
        &self.passes
    }

    /// Whether no pass is selected.
    pub fn is_empty(&self) -> bool {
        self.passes.is_empty()
    }
}

impl fmt::Display for PassList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.passes.iter().map(|p| p.name()).collect();
        f.write_str(&names.join(","))
    }
}

/// Runs `passes` over unguarded IR, round after round, until a round changes nothing or
/// [`MAX_ROUNDS`] rounds have run. Guards in the input are dropped.
pub fn run_passes(nodes: Vec<Node>, passes: &PassList) -> Vec<Node> {
    let mut nodes = crate::ir::blocks::strip_guards(nodes);
    // `mul`, `known` and `evaluate` each need the known-value analysis of their input; when the
    // passes between two of them changed nothing, the second reuses the first's analysis.
    let mut cache = FactsCache::default();
    // A fingerprint instead of a copy keeps the driver's memory at one IR (see `fingerprint`); a
    // round's end fingerprint is the next round's start one.
    let mut before = fingerprint(&nodes);
    for _ in 0..MAX_ROUNDS {
        for pass in &passes.passes {
            nodes = pass.run_cached(nodes, &mut cache);
        }
        let after = fingerprint(&nodes);
        // A round that changed nothing ends the rounds when its passes saw the full analysis.
        if after == before && cache.is_full(&nodes) {
            break;
        }
        before = after;
    }
    nodes
}

/// The length and a 64-bit hash of the IR: equal for equal IR, so a round that changed nothing
/// always ends the loop. Two different IRs with one fingerprint (odds of 2^-64) would end it a round
/// early, which leaves valid, merely less optimized IR: every pass is sound on its own.
fn fingerprint(nodes: &[Node]) -> (usize, u64) {
    use std::hash::{Hash, Hasher};
    let mut hasher = FastHasher::default();
    nodes.hash(&mut hasher);
    (nodes.len(), hasher.finish())
}

/// A fast, non-cryptographic hasher (the multiply-rotate scheme of rustc's `FxHasher`) for the
/// optimizer's maps and sets of small integer keys and for [`fingerprint`]. The std SipHash costs
/// several times more per word and dominated the optimizer's profile; nothing here hashes
/// attacker-chosen keys into a structure whose slowdown matters (the maps are bounded per loop or
/// per block, and a fingerprint collision only ends the rounds early).
#[derive(Clone, Copy, Default)]
pub(crate) struct FastHasher(u64);

/// [`FastHasher`] as a `BuildHasher` for `HashMap` and `HashSet`.
pub(crate) type FastBuild = std::hash::BuildHasherDefault<FastHasher>;

impl FastHasher {
    const K: u64 = 0xf135_7aea_2e62_a9c5;

    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0 ^ word).wrapping_mul(Self::K).rotate_left(26);
    }
}

impl std::hash::Hasher for FastHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        for &b in chunks.remainder() {
            self.add(b as u64);
        }
    }

    #[inline]
    fn write_u8(&mut self, v: u8) {
        self.add(v as u64);
    }

    #[inline]
    fn write_u16(&mut self, v: u16) {
        self.add(v as u64);
    }

    #[inline]
    fn write_u32(&mut self, v: u32) {
        self.add(v as u64);
    }

    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.add(v);
    }

    #[inline]
    fn write_usize(&mut self, v: usize) {
        self.add(v as u64);
    }
}

/// Empties a scratch map or set that is reused block after block: cleared while small, replaced when
/// one large block grew it (clearing costs its capacity, which must not be paid per block).
pub(crate) fn reset_scratch<T: Default>(
    scratch: &mut T,
    capacity: usize,
    clear: impl FnOnce(&mut T),
) {
    if capacity > 64 {
        *scratch = T::default();
    } else {
        clear(scratch);
    }
}

/// The known-value analysis of one IR, kept for the next pass that needs it.
///
/// The analysis depends on the ops alone (not on spans), and the ops it belongs to are remembered
/// exactly, in a compact encoding (one word a node for most ops, a sixth of a node): a lookup
/// encodes the IR it is given and compares, so an analysis is only ever reused for the very ops it
/// was computed on. Encoding and comparing cost a few instructions a node, the analysis hundreds.
///
/// It also bounds the optimistic walks of the analysis (see `optimizer::known`): once an analysis
/// found none of its optimistic walks to hold, the later analyses of the run (of the same program,
/// only simplified since) take the pessimistic walk at once. On the programs where they fail
/// (`compiled.bf`, `nested.bf`, `fizzbuzz.bf`) they fail in every analysis, a few times the cost of
/// the walk that is the answer; where they hold, they hold every time. A round that changes nothing
/// ends the rounds only when its passes saw the full analysis ([`FactsCache::is_full`]), so the
/// result is a fixed point of every pass with the full analysis, as without the bound: optimizing
/// it again changes nothing.
pub(crate) struct FactsCache {
    /// The encoded ops of `known` ([`encode`]).
    key: Vec<u32>,
    known: Option<known::KnownValues>,
    /// Whether the next analysis tries the optimistic walks.
    optimistic: bool,
    /// Whether `known` is the full analysis (it tried the optimistic walks, or they fail).
    full: bool,
}

impl Default for FactsCache {
    fn default() -> FactsCache {
        FactsCache {
            key: Vec::new(),
            known: None,
            optimistic: true,
            full: false,
        }
    }
}

impl FactsCache {
    /// The known-value analysis of `nodes`: the cached one when it was computed on the same ops.
    pub(crate) fn get(&mut self, nodes: &[Node]) -> &known::KnownValues {
        if self.known.is_none() || !encodes_to(nodes, &self.key) || (self.optimistic && !self.full)
        {
            // The stale analysis goes before the new one is made (two are never held at once).
            self.known = None;
            encode(nodes, &mut self.key);
            let (known, held) = known::KnownValues::analyze_with(nodes, self.optimistic);
            self.full = self.optimistic;
            self.optimistic &= held;
            self.known = Some(known);
        }
        self.known.as_ref().expect("just filled")
    }

    /// Whether the passes that used the cache on `nodes` saw its full analysis: true unless the
    /// cached analysis of these very ops skipped the optimistic walks and they would hold. In that
    /// case the optimistic walks are tried again from the next analysis on.
    pub(crate) fn is_full(&mut self, nodes: &[Node]) -> bool {
        if self.full || self.known.is_none() {
            return true;
        }
        if !encodes_to(nodes, &self.key) {
            return true; // no pass analyzed these ops
        }
        // The optimistic walks failing makes the pessimistic walk the full analysis.
        self.full = !known::KnownValues::optimistic_holds(nodes);
        self.optimistic = !self.full;
        self.full
    }
}

/// Writes an exact, compact encoding of the ops of `nodes` into `out` (equal encodings, equal ops):
/// one word for most nodes (the key is held beside the IR while a pass runs, so its size is the
/// optimizer's memory), decodable word by word, so no two different IRs share an encoding.
fn encode(nodes: &[Node], out: &mut Vec<u32>) {
    out.clear();
    out.reserve(nodes.len());
    for node in nodes {
        encode_node(node, |word| out.push(word));
    }
}

/// Whether [`encode`] of `nodes` is `key`, compared word by word (no second key is made).
fn encodes_to(nodes: &[Node], key: &[u32]) -> bool {
    let mut rest = key.iter();
    let mut equal = true;
    for node in nodes {
        encode_node(node, |word| equal &= rest.next() == Some(&word));
        if !equal {
            return false;
        }
    }
    rest.next().is_none()
}

/// The words of one node in [`encode`], passed to `emit` in order.
#[inline(always)]
fn encode_node(node: &Node, mut emit: impl FnMut(u32)) {
    /// The tag of a node written in two words: the real tag beside the byte, then the offset.
    const WIDE: u32 = 15;
    /// Offsets that fit in the upper bits of a one-word node.
    const NARROW: std::ops::Range<i32> = -(1 << 19)..(1 << 19);
    // The tag in the low 4 bits, a byte operand above it, then the offset in the upper 20 bits (or,
    // for a wide offset, the `WIDE` tag, the byte, the real tag, then the offset word).
    let (tag, byte, word) = match &node.op {
        Op::Add { offset, delta } => (0, *delta, *offset),
        Op::Move { by } => (1, 0, *by),
        Op::Set { offset, value } => (2, *value, *offset),
        Op::MulLoop { offset, .. } => (3, 0, *offset),
        Op::Output { offset } => (4, 0, *offset),
        Op::Input { offset } => (5, 0, *offset),
        Op::Scan { stride } => (6, 0, *stride),
        Op::LoopStart => (7, 0, 0),
        Op::LoopEnd => (8, 0, 0),
        Op::Guard { lo, .. } => (9, 0, *lo),
    };
    if NARROW.contains(&word) {
        emit(tag | (byte as u32) << 4 | (word as u32) << 12);
    } else {
        emit(WIDE | (byte as u32) << 4 | tag << 12);
        emit(word as u32);
    }
    match &node.op {
        Op::MulLoop { targets, .. } => {
            emit(targets.len() as u32);
            for t in targets {
                emit(t.offset as u32);
                emit(t.factor as u32);
            }
        }
        Op::Guard { hi, len, .. } => {
            emit(*hi as u32);
            emit(*len);
        }
        _ => {}
    }
}

/// Lowers `program`, runs `passes` to a fixed point and returns guarded IR, ready to run.
///
/// When `fold-runs` is the first pass, its first application is fused with the lowering (the
/// result is the same), so the one-node-per-command IR never exists: memory stays proportional to
/// the folded IR, not to the source.
pub fn optimize(program: &Program, passes: &PassList) -> Vec<Node> {
    let lowered = if passes.passes.first() == Some(&Pass::FoldRuns) {
        fold_runs::fold_program(program)
    } else {
        lower(program)
    };
    guard(program, run_passes(lowered, passes))
}

/// Every pass (`-O2`): what the optimizing backends consume.
pub fn optimize_default(program: &Program) -> Vec<Node> {
    optimize(program, &PassList::preset(2))
}

/// Run-length folding only (`-O1`): what the simple JITs consume.
pub fn fold_runs_only(program: &Program) -> Vec<Node> {
    optimize(program, &PassList::preset(1))
}

/// One step of [`trace`]: a label and the unguarded IR after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    /// `parsed`, or `round N: PASS` for a pass that changed something.
    pub label: String,
    /// The IR after this step.
    pub nodes: Vec<Node>,
}

/// The IR after parsing and after every pass application that changed it, for `bfjit ir`.
pub fn trace(program: &Program, passes: &PassList) -> Vec<Stage> {
    let mut nodes = lower(program);
    let mut stages = vec![Stage {
        label: "parsed".to_string(),
        nodes: nodes.clone(),
    }];
    for round in 1..=MAX_ROUNDS {
        let mut changed = false;
        for pass in &passes.passes {
            let next = pass.run(nodes.clone());
            if next != nodes {
                changed = true;
                stages.push(Stage {
                    label: format!("round {round}: {pass}"),
                    nodes: next.clone(),
                });
            }
            nodes = next;
        }
        if !changed {
            break;
        }
    }
    stages
}

/// Moves node `i` out of `nodes`, leaving a `]` with its span (for passes that walk by index and keep
/// most nodes: no copy of a multiply-add's targets).
fn take(nodes: &mut [Node], i: usize) -> Node {
    let span = nodes[i].span;
    std::mem::replace(&mut nodes[i], Node::new(Op::LoopEnd, span))
}

/// Whether `v` may be used as one offset or move distance (see [`MAX_OFFSET`]).
fn fits(v: i64) -> bool {
    (-MAX_OFFSET..=MAX_OFFSET).contains(&v)
}
