//! Program generators: the shapes that break BF engines, as proptest strategies and from `arbitrary`
//! bytes (for cargo-fuzz), plus a mutator of existing programs.
//!
//! A generated case is a [`Shape`]: a list of [`Piece`]s (each a BF idiom engines optimize, or a
//! stress pattern), the input, the tape length and the EOF policy. Both generators build the same
//! `Shape` type with the same weights ([`LEAF_WEIGHTS`], [`NODE_WEIGHTS`]) and the same depth limit
//! ([`MAX_DEPTH`]), and [`Shape::source`] renders it. The weights over-weight what breaks engines:
//! multiply loops with several targets and negative offsets, clear loops whose step is 2 or more,
//! scans of every stride over prepared cells, deep nesting, long straight-line blocks, walks to both
//! tape ends (tapes are often a few cells long), `,` past the end of input, and `.` everywhere.
//!
//! Modules: [`render`](Shape::source) turns a shape into BF; `strategy` holds the proptest
//! strategies and [`ShapeStream`]; `from_bytes` builds shapes from fuzzer bytes ([`arb_piece`] and
//! `Shape: Arbitrary`); `mutate` edits existing programs ([`mutate`]).

use bfjit_backends::{Config, EofPolicy};

use crate::case::Case;

mod from_bytes;
mod mutate;
mod render;
mod strategy;

pub use from_bytes::arb_piece;
pub use mutate::mutate;
pub use strategy::{piece_strategy, shape_strategy, ShapeStream};

/// How many levels of loop pieces may nest inside each other (deep `Nest` pieces are separate).
pub const MAX_DEPTH: u32 = 3;

/// One building block of a generated program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// `+` repeated (positive) or `-` repeated (negative).
    Add(i8),
    /// `>` repeated (positive) or `<` repeated (negative).
    Move(i8),
    /// `.`
    Output,
    /// `,` repeated: reads at and after the end of input.
    Input(u8),
    /// A clear loop with this step: `[-]`, `[+]`, `[--]` (loops forever on odd cells), `[---]`.
    Clear(i8),
    /// A multiply loop: the loop cell changes by `step` (first or last), and each `(offset, factor)`
    /// target gains `factor` per iteration, e.g. `[->++<<-->]`.
    Mul {
        /// Change of the loop cell per iteration.
        step: i8,
        /// Target offsets (any sign, never 0) and factors, in visiting order.
        targets: Vec<(i8, i8)>,
        /// Whether the loop cell changes before the targets are visited.
        step_first: bool,
    },
    /// Prepares cells `stride` apart with the given values, comes back, then scans: `+>+>[>]`.
    Scan {
        /// The scan's stride, e.g. 2 for `[>>]`, -1 for `[<]`.
        stride: i8,
        /// The values written before the scan, one every `stride` cells from the current one.
        cells: Vec<u8>,
    },
    /// `+`×count `[` body (`<`/`>` back to the start when `balanced`) `-` `]`.
    Counted {
        /// Iterations when the body leaves the counter alone.
        count: u8,
        /// The loop body.
        body: Vec<Piece>,
        /// Whether moves are appended to bring the pointer back to the counter.
        balanced: bool,
    },
    /// `[` body `]`, no counter: runs when the current cell happens to be non-zero.
    Loop(Vec<Piece>),
    /// A long walk towards one end of the tape (`>>>>…` or with `looped`, `+[>+]`), maybe back.
    Walk {
        /// Direction.
        right: bool,
        /// Number of moves.
        len: u16,
        /// Walk back again afterwards.
        back: bool,
        /// Walk with a loop until the tape ends instead.
        looped: bool,
    },
    /// `+` then `depth` nested `[`, the body, a clear, and `depth` `]`.
    Nest {
        /// Nesting depth (sometimes hundreds).
        depth: u16,
        /// What runs innermost.
        body: Vec<Piece>,
    },
    /// A straight-line block of random `+-<>.` commands (each byte picks one).
    Block(Vec<u8>),
}

/// A generated case before rendering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    /// `>` commands before the pieces, so negative offsets have room.
    pub origin: u8,
    /// The program's pieces, in order.
    pub pieces: Vec<Piece>,
    /// The input bytes.
    pub input: Vec<u8>,
    /// The tape length.
    pub tape_len: usize,
    /// The EOF policy.
    pub eof: EofPolicy,
}

/// Leaf piece kinds with their weights, shared by both generators.
pub const LEAF_WEIGHTS: [(LeafKind, u32); 9] = [
    (LeafKind::Add, 3),
    (LeafKind::Move, 3),
    (LeafKind::Output, 3),
    (LeafKind::Input, 1),
    (LeafKind::Clear, 2),
    (LeafKind::Mul, 4),
    (LeafKind::Scan, 3),
    (LeafKind::Walk, 1),
    (LeafKind::Block, 2),
];

/// Loop piece kinds with their weights, shared by both generators.
pub const NODE_WEIGHTS: [(NodeKind, u32); 7] = [
    (NodeKind::Counted, 4),
    (NodeKind::Loop, 1),
    (NodeKind::Nest, 1),
    (NodeKind::CountingNest, 2),
    (NodeKind::Conditional, 2),
    (NodeKind::Decode, 2),
    (NodeKind::OffsetSets, 2),
];

/// The kinds of leaf pieces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeafKind {
    /// [`Piece::Add`]
    Add,
    /// [`Piece::Move`]
    Move,
    /// [`Piece::Output`]
    Output,
    /// [`Piece::Input`]
    Input,
    /// [`Piece::Clear`]
    Clear,
    /// [`Piece::Mul`]
    Mul,
    /// [`Piece::Scan`]
    Scan,
    /// [`Piece::Walk`]
    Walk,
    /// [`Piece::Block`]
    Block,
}

/// The kinds of pieces that contain other pieces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// [`Piece::Counted`]
    Counted,
    /// [`Piece::Loop`]
    Loop,
    /// [`Piece::Nest`]
    Nest,
    /// A [`Piece::Counted`] whose body steps a fresh cell's counting loop (steps ±1…±5) around the
    /// inner pieces: nests of counting loops for loop solvers.
    CountingNest,
    /// A [`Piece::Loop`] ending in a clear, `[ body [-] ]`: a conditional that runs at most once.
    Conditional,
    /// Directly nested decrement-and-test levels, `[-[-[- inner ]>+.<]>+.<]` (or, with an odd
    /// number of levels, `[-[-[- inner ]>[.[-]]<]>[.[-]]<]`): the opcode decode of a BF
    /// interpreter (a switch on the cell's value), see [`decode_chain`].
    Decode,
    /// A [`Piece::Counted`] whose body sets a cell at an offset (`>[-]+++<`) and runs a multiply
    /// loop at another offset: the shapes a loop solver must take at their own cells, see
    /// [`offset_sets_level`].
    OffsetSets,
}

/// `levels` (at least 1) directly nested loops, each starting with `-`: innermost `[- inner ]`, and
/// around it `[- level >+.<]`, which marks on the next cell (and prints) that control came back
/// through this level. With an odd number of levels each level instead leaves through a flag test
/// on the next cell, `[- level >[.[-]]< ]`, as a BF self-interpreter's decode does: its exits run a
/// loop end, a move and a loop test in a row (`<]>[`, a skipped `>[...]<]`, `[-]]<]`), the shapes
/// the bytecode interpreter's exit superinstructions fuse. (The style follows from `levels`, not a
/// draw of its own, so existing seeds keep generating the same stream.)
pub(crate) fn decode_chain(levels: u8, inner: Vec<Piece>) -> Piece {
    let mut body = vec![Piece::Add(-1)];
    body.extend(inner);
    let mut level = Piece::Loop(body);
    let flags = levels % 2 == 1;
    for _ in 1..levels.max(1) {
        let mark = if flags {
            Piece::Loop(vec![Piece::Output, Piece::Clear(-1)])
        } else {
            Piece::Add(1)
        };
        let mut next = vec![Piece::Add(-1), level, Piece::Move(1), mark];
        if !flags {
            next.push(Piece::Output);
        }
        next.push(Piece::Move(-1));
        level = Piece::Loop(next);
    }
    level
}

/// The body of a [`NodeKind::CountingNest`] level: on the next cell, `add`, then a counting loop
/// stepping by `step` that adds to `target`; back; then `inner` (often another level).
pub(crate) fn counting_level(add: i8, step: i8, target: (i8, i8), inner: Vec<Piece>) -> Vec<Piece> {
    let mut body = vec![
        Piece::Move(1),
        Piece::Add(add),
        Piece::Mul {
            step,
            targets: vec![target],
            step_first: true,
        },
        Piece::Move(-1),
    ];
    body.extend(inner);
    body
}

/// The body of a [`NodeKind::OffsetSets`] level: at `set_at`, clear and add `value` (a set that
/// every iteration restores); at `mul_at`, a multiply loop moving that cell to `target`; back; then
/// `inner`. For example `>[-]+++<` `>>[->+<]<<`.
pub(crate) fn offset_sets_level(
    set_at: i8,
    value: i8,
    mul_at: i8,
    target: (i8, i8),
    inner: Vec<Piece>,
) -> Vec<Piece> {
    let mut body = vec![
        Piece::Move(set_at),
        Piece::Clear(-1),
        Piece::Add(value),
        Piece::Move(-set_at),
        Piece::Move(mul_at),
        Piece::Mul {
            step: -1,
            targets: vec![target],
            step_first: true,
        },
        Piece::Move(-mul_at),
    ];
    body.extend(inner);
    body
}

pub(crate) fn weight<K: Copy + PartialEq>(table: &[(K, u32)], kind: K) -> u32 {
    table
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(0, |(_, w)| *w)
}

impl Shape {
    /// The configuration (no fuel: the oracle sets it).
    pub fn config(&self) -> Config {
        Config::new(self.tape_len, self.eof, None)
            .expect("generated tape lengths are between 1 and the maximum")
    }

    /// The case this shape stands for.
    pub fn to_case(&self) -> Case {
        Case::from_source(self.source(), self.input.clone(), self.config())
            .expect("generated programs are balanced")
    }
}
