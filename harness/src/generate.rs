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

use arbitrary::{Arbitrary, Unstructured};
use bfjit_backends::{Config, EofPolicy, DEFAULT_TAPE_LEN};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};

use crate::oracle::Case;

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
pub const NODE_WEIGHTS: [(NodeKind, u32); 5] = [
    (NodeKind::Counted, 4),
    (NodeKind::Loop, 1),
    (NodeKind::Nest, 1),
    (NodeKind::CountingNest, 2),
    (NodeKind::Conditional, 2),
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
}

/// The body of a [`NodeKind::CountingNest`] level: on the next cell, `add`, then a counting loop
/// stepping by `step` that adds to `target`; back; then `inner` (often another level).
fn counting_level(add: i8, step: i8, target: (i8, i8), inner: Vec<Piece>) -> Vec<Piece> {
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

fn weight<K: Copy + PartialEq>(table: &[(K, u32)], kind: K) -> u32 {
    table
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(0, |(_, w)| *w)
}

// ---------------------------------------------------------------------------------------------
// Rendering

fn repeat(out: &mut String, positive: char, negative: char, n: i32) {
    let c = if n >= 0 { positive } else { negative };
    out.extend(std::iter::repeat_n(c, n.unsigned_abs() as usize));
}

/// The net pointer movement of a piece when it is known statically.
fn net_move(piece: &Piece) -> Option<i32> {
    Some(match piece {
        Piece::Add(_) | Piece::Output | Piece::Input(_) | Piece::Clear(_) | Piece::Mul { .. } => 0,
        Piece::Move(n) => *n as i32,
        Piece::Block(bytes) => bytes
            .iter()
            .map(|b| match b % 5 {
                2 => -1,
                3 => 1,
                _ => 0,
            })
            .sum(),
        Piece::Walk {
            right,
            len,
            back,
            looped: false,
        } => {
            if *back {
                0
            } else if *right {
                *len as i32
            } else {
                -(*len as i32)
            }
        }
        Piece::Counted { balanced: true, .. } => 0,
        _ => return None,
    })
}

fn render(piece: &Piece, out: &mut String) {
    match piece {
        Piece::Add(n) => repeat(out, '+', '-', *n as i32),
        Piece::Move(n) => repeat(out, '>', '<', *n as i32),
        Piece::Output => out.push('.'),
        Piece::Input(n) => out.extend(std::iter::repeat_n(',', *n as usize)),
        Piece::Clear(step) => {
            out.push('[');
            repeat(out, '+', '-', *step as i32);
            out.push(']');
        }
        Piece::Mul {
            step,
            targets,
            step_first,
        } => {
            out.push('[');
            if *step_first {
                repeat(out, '+', '-', *step as i32);
            }
            let mut at = 0i32;
            for &(offset, factor) in targets {
                repeat(out, '>', '<', offset as i32 - at);
                repeat(out, '+', '-', factor as i32);
                at = offset as i32;
            }
            repeat(out, '>', '<', -at);
            if !*step_first {
                repeat(out, '+', '-', *step as i32);
            }
            out.push(']');
        }
        Piece::Scan { stride, cells } => {
            for &value in cells {
                out.extend(std::iter::repeat_n('+', value as usize));
                repeat(out, '>', '<', *stride as i32);
            }
            repeat(out, '>', '<', -(*stride as i32) * cells.len() as i32);
            out.push('[');
            repeat(out, '>', '<', *stride as i32);
            out.push(']');
        }
        Piece::Counted {
            count,
            body,
            balanced,
        } => {
            out.extend(std::iter::repeat_n('+', *count as usize));
            out.push('[');
            let mut net = Some(0i32);
            for p in body {
                render(p, out);
                net = net.and_then(|n| net_move(p).map(|m| n + m));
            }
            if *balanced {
                repeat(out, '>', '<', -net.unwrap_or(0));
            }
            out.push_str("-]");
        }
        Piece::Loop(body) => {
            out.push('[');
            body.iter().for_each(|p| render(p, out));
            out.push(']');
        }
        Piece::Walk {
            right,
            len,
            back,
            looped,
        } => {
            let n = if *right { *len as i32 } else { -(*len as i32) };
            if *looped {
                out.push_str("+[");
                repeat(out, '>', '<', n.signum());
                out.push_str("+]");
            } else {
                repeat(out, '>', '<', n);
                if *back {
                    repeat(out, '>', '<', -n);
                }
            }
        }
        Piece::Nest { depth, body } => {
            out.push('+');
            out.extend(std::iter::repeat_n('[', *depth as usize));
            body.iter().for_each(|p| render(p, out));
            out.push_str("[-]");
            out.extend(std::iter::repeat_n(']', *depth as usize));
        }
        Piece::Block(bytes) => out.extend(bytes.iter().map(|b| b"+-<>."[*b as usize % 5] as char)),
    }
}

impl Shape {
    /// The BF source of this shape (pieces separated by spaces, which are comments).
    pub fn source(&self) -> String {
        let mut out = String::new();
        repeat(&mut out, '>', '<', self.origin as i32);
        for piece in &self.pieces {
            if !out.is_empty() {
                out.push(' ');
            }
            render(piece, &mut out);
        }
        out
    }

    /// The configuration (no fuel: the oracle sets it).
    pub fn config(&self) -> Config {
        Config {
            tape_len: self.tape_len,
            eof: self.eof,
            fuel: None,
        }
    }

    /// The case this shape stands for.
    pub fn to_case(&self) -> Case {
        Case::from_source(self.source(), self.input.clone(), self.config())
            .expect("generated programs are balanced")
    }

    /// This shape with the tape length and EOF policy forced where given (for external engines
    /// that cannot be configured).
    pub fn pinned(mut self, tape_len: Option<usize>, eof: Option<EofPolicy>) -> Shape {
        if let Some(t) = tape_len {
            self.tape_len = t;
        }
        if let Some(e) = eof {
            self.eof = e;
        }
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Proptest strategies

fn small_nonzero(max: i8) -> impl Strategy<Value = i8> {
    prop_oneof![1..=max, -max..=-1]
}

fn tape_len_strategy() -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => 1usize..=8,
        4 => 9usize..=64,
        1 => 65usize..=600,
        2 => Just(DEFAULT_TAPE_LEN),
    ]
}

fn eof_strategy() -> impl Strategy<Value = EofPolicy> {
    prop_oneof![
        Just(EofPolicy::Unchanged),
        Just(EofPolicy::Zero),
        Just(EofPolicy::Max)
    ]
}

fn input_strategy() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        2 => Just(0u8),
        2 => Just(1u8),
        2 => Just(255u8),
        1 => Just(b'A'),
        3 => any::<u8>(),
    ];
    prop::collection::vec(byte, 0..6)
}

fn nest_depth_strategy() -> impl Strategy<Value = u16> {
    prop_oneof![8 => 1u16..=8, 1 => 100u16..=1500]
}

fn leaf_strategy() -> BoxedStrategy<Piece> {
    use LeafKind::*;
    let w = |k| weight(&LEAF_WEIGHTS, k);
    let target = (small_nonzero(5), small_nonzero(4));
    prop_oneof![
        w(Add) => small_nonzero(12).prop_map(Piece::Add),
        w(Move) => small_nonzero(5).prop_map(Piece::Move),
        w(Output) => Just(Piece::Output),
        w(Input) => (1u8..=4).prop_map(Piece::Input),
        w(Clear) => small_nonzero(3).prop_map(Piece::Clear),
        w(Mul) => (
            prop_oneof![4 => prop_oneof![Just(-1i8), Just(1i8)], 3 => small_nonzero(5)],
            prop::collection::vec(target, 1..4),
            any::<bool>(),
        )
            .prop_map(|(step, targets, step_first)| Piece::Mul { step, targets, step_first }),
        w(Scan) => (
            small_nonzero(4),
            prop::collection::vec(prop_oneof![4 => 1u8..=3, 1 => Just(0u8)], 0..6),
        )
            .prop_map(|(stride, cells)| Piece::Scan { stride, cells }),
        w(Walk) => (any::<bool>(), 1u16..=40, any::<bool>(), any::<bool>())
            .prop_map(|(right, len, back, looped)| Piece::Walk { right, len, back, looped }),
        w(Block) => prop::collection::vec(any::<u8>(), 8..64).prop_map(Piece::Block),
    ]
    .boxed()
}

/// A strategy for one piece, loops nested at most [`MAX_DEPTH`] deep.
pub fn piece_strategy() -> BoxedStrategy<Piece> {
    piece_at_depth(MAX_DEPTH)
}

/// At each level a leaf or (while depth remains) a loop piece, weighted like [`arb_piece`].
fn piece_at_depth(depth: u32) -> BoxedStrategy<Piece> {
    use NodeKind::*;
    if depth == 0 {
        return leaf_strategy();
    }
    let leaf_total: u32 = LEAF_WEIGHTS.iter().map(|(_, w)| w).sum();
    let w = |k| weight(&NODE_WEIGHTS, k);
    let inner = piece_at_depth(depth - 1);
    prop_oneof![
        leaf_total => leaf_strategy(),
        w(Counted) => (1u8..=6, prop::collection::vec(inner.clone(), 1..5), prop::bool::weighted(0.75))
            .prop_map(|(count, body, balanced)| Piece::Counted { count, body, balanced }),
        w(Loop) => prop::collection::vec(inner.clone(), 1..4).prop_map(Piece::Loop),
        w(Nest) => (nest_depth_strategy(), prop::collection::vec(inner.clone(), 0..2))
            .prop_map(|(depth, body)| Piece::Nest { depth, body }),
        w(CountingNest) => (1u8..=9, small_nonzero(9), small_nonzero(5), (small_nonzero(3), small_nonzero(4)), prop::collection::vec(inner.clone(), 0..2))
            .prop_map(|(count, add, step, target, inner)| Piece::Counted {
                count,
                body: counting_level(add, step, target, inner),
                balanced: true,
            }),
        w(Conditional) => prop::collection::vec(inner, 0..3).prop_map(|mut body| {
            body.push(Piece::Clear(-1));
            Piece::Loop(body)
        }),
    ]
    .boxed()
}

/// The proptest strategy for whole cases.
pub fn shape_strategy() -> BoxedStrategy<Shape> {
    (
        prop_oneof![1 => Just(0u8), 3 => 1u8..=8],
        prop::collection::vec(piece_strategy(), 1..10),
        input_strategy(),
        tape_len_strategy(),
        eof_strategy(),
    )
        .prop_map(|(origin, pieces, input, tape_len, eof)| Shape {
            origin,
            pieces,
            input,
            tape_len,
            eof,
        })
        .boxed()
}

/// Draws shapes from [`shape_strategy`] deterministically from a seed (for `bfjit fuzz` and tests
/// that count programs).
pub struct ShapeStream {
    runner: TestRunner,
    strategy: BoxedStrategy<Shape>,
}

impl ShapeStream {
    /// A stream seeded with `seed`.
    pub fn new(seed: u64) -> ShapeStream {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &key);
        ShapeStream {
            runner: TestRunner::new_with_rng(proptest::test_runner::Config::default(), rng),
            strategy: shape_strategy(),
        }
    }

    /// The next shape.
    pub fn next_shape(&mut self) -> Shape {
        self.strategy
            .new_tree(&mut self.runner)
            .expect("shape strategies never reject")
            .current()
    }

    /// The stream's random number generator (for mutations).
    pub fn rng(&mut self) -> &mut TestRng {
        self.runner.rng()
    }
}

// ---------------------------------------------------------------------------------------------
// The same shapes from `arbitrary` bytes

fn pick<K: Copy>(u: &mut Unstructured<'_>, table: &[(K, u32)]) -> arbitrary::Result<K> {
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let mut k = u.int_in_range(0..=total - 1)?;
    for &(kind, w) in table {
        if k < w {
            return Ok(kind);
        }
        k -= w;
    }
    unreachable!("k < total")
}

fn arb_nonzero(u: &mut Unstructured<'_>, max: i8) -> arbitrary::Result<i8> {
    let n = u.int_in_range(1..=max)?;
    Ok(if u.arbitrary::<bool>()? { n } else { -n })
}

fn arb_vec<T>(
    u: &mut Unstructured<'_>,
    len: std::ops::Range<usize>,
    mut item: impl FnMut(&mut Unstructured<'_>) -> arbitrary::Result<T>,
) -> arbitrary::Result<Vec<T>> {
    let n = u.int_in_range(len.start..=len.end - 1)?;
    (0..n).map(|_| item(u)).collect()
}

fn arb_leaf(u: &mut Unstructured<'_>) -> arbitrary::Result<Piece> {
    Ok(match pick(u, &LEAF_WEIGHTS)? {
        LeafKind::Add => Piece::Add(arb_nonzero(u, 12)?),
        LeafKind::Move => Piece::Move(arb_nonzero(u, 5)?),
        LeafKind::Output => Piece::Output,
        LeafKind::Input => Piece::Input(u.int_in_range(1..=4)?),
        LeafKind::Clear => Piece::Clear(arb_nonzero(u, 3)?),
        LeafKind::Mul => Piece::Mul {
            step: if u.ratio(4, 7)? {
                arb_nonzero(u, 1)?
            } else {
                arb_nonzero(u, 5)?
            },
            targets: arb_vec(u, 1..4, |u| Ok((arb_nonzero(u, 5)?, arb_nonzero(u, 4)?)))?,
            step_first: u.arbitrary()?,
        },
        LeafKind::Scan => Piece::Scan {
            stride: arb_nonzero(u, 4)?,
            cells: arb_vec(u, 0..6, |u| {
                Ok(if u.ratio(4, 5)? {
                    u.int_in_range(1..=3)?
                } else {
                    0
                })
            })?,
        },
        LeafKind::Walk => Piece::Walk {
            right: u.arbitrary()?,
            len: u.int_in_range(1..=40)?,
            back: u.arbitrary()?,
            looped: u.arbitrary()?,
        },
        LeafKind::Block => Piece::Block(arb_vec(u, 8..64, |u| u.arbitrary())?),
    })
}

/// One piece from `arbitrary` bytes, loops nested at most `depth` more levels.
pub fn arb_piece(u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<Piece> {
    // Like `prop_recursive`: at each level, a leaf or (while depth remains) a loop piece.
    let leaf_total: u32 = LEAF_WEIGHTS.iter().map(|(_, w)| w).sum();
    let node_total: u32 = NODE_WEIGHTS.iter().map(|(_, w)| w).sum();
    if depth == 0 || u.int_in_range(0..=leaf_total + node_total - 1)? < leaf_total {
        return arb_leaf(u);
    }
    let inner = |u: &mut Unstructured<'_>| arb_piece(u, depth - 1);
    Ok(match pick(u, &NODE_WEIGHTS)? {
        NodeKind::Counted => Piece::Counted {
            count: u.int_in_range(1..=6)?,
            body: arb_vec(u, 1..5, inner)?,
            balanced: u.ratio(3, 4)?,
        },
        NodeKind::Loop => Piece::Loop(arb_vec(u, 1..4, inner)?),
        NodeKind::Nest => Piece::Nest {
            depth: if u.ratio(8, 9)? {
                u.int_in_range(1..=8)?
            } else {
                u.int_in_range(100..=1500)?
            },
            body: arb_vec(u, 0..2, inner)?,
        },
        NodeKind::CountingNest => Piece::Counted {
            count: u.int_in_range(1..=9)?,
            body: counting_level(
                arb_nonzero(u, 9)?,
                arb_nonzero(u, 5)?,
                (arb_nonzero(u, 3)?, arb_nonzero(u, 4)?),
                arb_vec(u, 0..2, inner)?,
            ),
            balanced: true,
        },
        NodeKind::Conditional => {
            let mut body = arb_vec(u, 0..3, inner)?;
            body.push(Piece::Clear(-1));
            Piece::Loop(body)
        }
    })
}

impl<'a> Arbitrary<'a> for Shape {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Shape> {
        let origin = if u.ratio(1, 4)? {
            0
        } else {
            u.int_in_range(1..=8)?
        };
        let pieces = arb_vec(u, 1..10, |u| arb_piece(u, MAX_DEPTH))?;
        let input = arb_vec(u, 0..6, |u| {
            Ok(match u.int_in_range(0..=9)? {
                0 | 1 => 0,
                2 | 3 => 1,
                4 | 5 => 255,
                6 => b'A',
                _ => u.arbitrary()?,
            })
        })?;
        let tape_len = match u.int_in_range(0..=9)? {
            0..=2 => u.int_in_range(1..=8)?,
            3..=6 => u.int_in_range(9..=64)?,
            7 => u.int_in_range(65..=600)?,
            _ => DEFAULT_TAPE_LEN,
        };
        let eof = EofPolicy::ALL[u.choose_index(3)?];
        Ok(Shape {
            origin,
            pieces,
            input,
            tape_len,
            eof,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Mutating existing programs

/// Mutates the commands of `source` (comments are dropped) one to three times: insert, delete or
/// swap commands, wrap a balanced range in a loop, unwrap or delete a loop, duplicate a loop.
/// The result is bracket-balanced whenever `source` is.
pub fn mutate(source: &[u8], rng: &mut impl Rng) -> Vec<u8> {
    let mut cmds: Vec<u8> = source
        .iter()
        .copied()
        .filter(|b| b"+-<>.,[]".contains(b))
        .collect();
    let rounds = 1 + rng.next_u32() % 3;
    for _ in 0..rounds {
        mutate_once(&mut cmds, rng);
    }
    cmds
}

fn below(rng: &mut impl Rng, n: usize) -> usize {
    if n == 0 {
        0
    } else {
        rng.next_u32() as usize % n
    }
}

/// Index of the bracket matching the one at `i` (the program must be balanced).
fn partner(cmds: &[u8], i: usize) -> usize {
    let mut depth = 0i64;
    if cmds[i] == b'[' {
        for (j, &c) in cmds.iter().enumerate().skip(i) {
            depth += i64::from(c == b'[') - i64::from(c == b']');
            if depth == 0 {
                return j;
            }
        }
    } else {
        for j in (0..=i).rev() {
            depth += i64::from(cmds[j] == b']') - i64::from(cmds[j] == b'[');
            if depth == 0 {
                return j;
            }
        }
    }
    i
}

fn mutate_once(cmds: &mut Vec<u8>, rng: &mut impl Rng) {
    let plain: Vec<usize> = (0..cmds.len())
        .filter(|&i| !b"[]".contains(&cmds[i]))
        .collect();
    let opens: Vec<usize> = (0..cmds.len()).filter(|&i| cmds[i] == b'[').collect();
    match rng.next_u32() % 7 {
        0 => {
            let at = below(rng, cmds.len() + 1);
            cmds.insert(at, b"+-<>.,"[below(rng, 6)]);
        }
        1 if !plain.is_empty() => {
            cmds.remove(plain[below(rng, plain.len())]);
        }
        2 if cmds.len() >= 2 => {
            let i = below(rng, cmds.len() - 1);
            if !b"[]".contains(&cmds[i]) && !b"[]".contains(&cmds[i + 1]) {
                cmds.swap(i, i + 1);
            }
        }
        3 => {
            // Wrap a balanced range [start, end) in a new loop.
            let start = below(rng, cmds.len() + 1);
            let mut ends = vec![start];
            let mut depth = 0i64;
            for (j, &c) in cmds.iter().enumerate().skip(start) {
                depth += i64::from(c == b'[') - i64::from(c == b']');
                if depth < 0 {
                    break;
                }
                if depth == 0 {
                    ends.push(j + 1);
                }
            }
            let end = ends[below(rng, ends.len())];
            cmds.insert(end, b']');
            cmds.insert(start, b'[');
        }
        4 if !opens.is_empty() => {
            let open = opens[below(rng, opens.len())];
            let close = partner(cmds, open);
            cmds.remove(close);
            cmds.remove(open);
        }
        5 if !opens.is_empty() => {
            let open = opens[below(rng, opens.len())];
            let close = partner(cmds, open);
            cmds.drain(open..=close);
        }
        6 if !opens.is_empty() => {
            let open = opens[below(rng, opens.len())];
            let close = partner(cmds, open);
            let copy: Vec<u8> = cmds[open..=close].to_vec();
            cmds.splice(close + 1..close + 1, copy);
        }
        _ => {
            let at = below(rng, cmds.len() + 1);
            cmds.insert(at, b".,"[below(rng, 2)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bfjit_backends::Program;

    #[test]
    fn every_piece_kind_renders_and_parses() {
        let mut stream = ShapeStream::new(1);
        let mut kinds = std::collections::HashSet::new();
        for _ in 0..300 {
            let shape = stream.next_shape();
            for p in &shape.pieces {
                kinds.insert(std::mem::discriminant(p));
            }
            assert!(Program::parse(shape.source()).is_ok(), "{}", shape.source());
        }
        assert_eq!(kinds.len(), 12, "all 12 piece kinds appear");
    }

    #[test]
    fn arbitrary_bytes_give_the_same_kinds_of_shapes() {
        let mut rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
        let mut kinds = std::collections::HashSet::new();
        for _ in 0..300 {
            let mut bytes = vec![0u8; 512];
            rng.fill_bytes(&mut bytes);
            let shape = Shape::arbitrary(&mut Unstructured::new(&bytes)).unwrap();
            for p in &shape.pieces {
                kinds.insert(std::mem::discriminant(p));
            }
            assert!(Program::parse(shape.source()).is_ok(), "{}", shape.source());
        }
        assert_eq!(kinds.len(), 12, "all 12 piece kinds appear");
    }

    #[test]
    fn pieces_render_as_documented() {
        let mul = Piece::Mul {
            step: -1,
            targets: vec![(1, 2), (-2, -1)],
            step_first: true,
        };
        let shape = Shape {
            origin: 2,
            pieces: vec![
                mul,
                Piece::Clear(-2),
                Piece::Scan {
                    stride: 2,
                    cells: vec![1, 3],
                },
            ],
            input: vec![],
            tape_len: 8,
            eof: EofPolicy::Zero,
        };
        assert_eq!(shape.source(), ">> [->++<<<->>] [--] +>>+++>><<<<[>>]");
    }

    proptest! {
        #[test]
        fn mutants_stay_balanced(shape in shape_strategy(), seed in any::<u64>()) {
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&seed.to_le_bytes());
            let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &key);
            let mutant = mutate(shape.source().as_bytes(), &mut rng);
            prop_assert!(Program::parse(mutant.clone()).is_ok(), "{}", String::from_utf8_lossy(&mutant));
        }
    }
}
