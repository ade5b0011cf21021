//! The same shapes from `arbitrary` bytes (for cargo-fuzz), with the same weights and depth limit as
//! the proptest strategies.

use arbitrary::{Arbitrary, Unstructured};
use bfjit_backends::{EofPolicy, DEFAULT_TAPE_LEN};

use super::{
    counting_level, decode_chain, offset_sets_level, LeafKind, NodeKind, Piece, Shape,
    LEAF_WEIGHTS, MAX_DEPTH, NODE_WEIGHTS,
};

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
        NodeKind::OffsetSets => Piece::Counted {
            count: u.int_in_range(1..=6)?,
            body: offset_sets_level(
                arb_nonzero(u, 3)?,
                arb_nonzero(u, 9)?,
                arb_nonzero(u, 3)?,
                (arb_nonzero(u, 3)?, arb_nonzero(u, 4)?),
                arb_vec(u, 0..2, inner)?,
            ),
            balanced: true,
        },
        NodeKind::Decode => decode_chain(u.int_in_range(2..=9)?, arb_vec(u, 0..2, inner)?),
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

#[cfg(test)]
mod tests {
    use super::*;
    use bfjit_backends::Program;
    use proptest::prelude::*;
    use proptest::test_runner::{RngAlgorithm, TestRng};

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
}
