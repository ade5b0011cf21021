//! The proptest strategies for pieces and shapes, with the weights of [`LEAF_WEIGHTS`] and
//! [`NODE_WEIGHTS`], and [`ShapeStream`], a deterministic seeded stream of shapes.

use bfjit_backends::{EofPolicy, DEFAULT_TAPE_LEN};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};

use super::{
    counting_level, decode_chain, offset_sets_level, weight, LeafKind, NodeKind, Piece, Shape,
    LEAF_WEIGHTS, MAX_DEPTH, NODE_WEIGHTS,
};

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
        w(Decode) => (2u8..=9, prop::collection::vec(inner.clone(), 0..2))
            .prop_map(|(levels, inner)| decode_chain(levels, inner)),
        w(OffsetSets) => (1u8..=6, small_nonzero(3), small_nonzero(9), small_nonzero(3), (small_nonzero(3), small_nonzero(4)), prop::collection::vec(inner.clone(), 0..2))
            .prop_map(|(count, set_at, value, mul_at, target, inner)| Piece::Counted {
                count,
                body: offset_sets_level(set_at, value, mul_at, target, inner),
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
}
