//! The `offsets` pass: pointer moves inside a straight-line block become offsets on the operations.

use std::collections::HashMap;

use super::{fits, map_blocks, FastBuild};
use crate::ir::{Node, Op, Span};

/// Within each straight-line block, drops the moves, gives each operation the offset the pointer had
/// there, and puts one move at the end of the block.
///
/// ```text
/// before: >+>--<.     move +1, add [0] +1, move +1, add [0] -2, move -1, out [0]
/// after:  >+>--<.     add [1] +1, add [2] -2, out [1], move +1
/// ```
///
/// Then adds to one cell are combined into the earlier add (or set) of that cell when nothing in
/// between reads or writes it (an output, input or multiply-add of that cell), since the block runs
/// behind one guard and cannot stop half-way:
///
/// ```text
/// before: ->+<->+<    add [0] -1, add [1] +1, add [0] -1, add [1] +1
/// after:  ->+<->+<    add [0] -2, add [1] +2
/// ```
///
/// Never across a loop boundary or a scan: the pointer is exact there. The final move carries the
/// span of all the moves (so the block still covers its source); when the moves cancel, that span goes
/// to the block's last node instead. Offsets stop growing at [`super::MAX_OFFSET`]: a move is put out
/// early there.
pub fn offsets(nodes: Vec<Node>) -> Vec<Node> {
    // One scratch map for every block's `combine_adds` and one buffer for every block's shifted
    // nodes (no allocation per block).
    let (mut open, mut shifted) = (Open::default(), Vec::new());
    map_blocks(nodes, |block, out| {
        offsets_block(block, out, &mut shifted, &mut open)
    })
}

/// Cell offset -> index in the block's output of the add or set an add to that cell may fold into.
type Open = HashMap<i32, usize, FastBuild>;

/// Appends the offset form of `block` (emptied) to `result`; `shifted` is scratch.
fn offsets_block(
    block: &mut Vec<Node>,
    result: &mut Vec<Node>,
    shifted: &mut Vec<Node>,
    open: &mut Open,
) {
    // One node is already in offset form: a move stays the block's one move (with its span), any
    // other op keeps offset 0's shift, and nothing can combine.
    if block.len() < 2 {
        result.append(block);
        return;
    }
    let mut out = std::mem::take(shifted);
    out.clear();
    let mut pos = 0i64;
    let mut moves: Option<Span> = None;
    let put_move = |out: &mut Vec<Node>, pos: &mut i64, moves: &mut Option<Span>| {
        if let Some(span) = moves.take() {
            out.push(Node::new(Op::Move { by: *pos as i32 }, span));
        }
        *pos = 0;
    };
    for node in block.drain(..) {
        if let Op::Move { by } = node.op {
            if !fits(pos + by as i64) {
                put_move(&mut out, &mut pos, &mut moves);
            }
            pos += by as i64;
            moves = Some(moves.map_or(node.span, |s| s.merge(node.span)));
            continue;
        }
        if !fits_shifted(&node.op, pos) {
            put_move(&mut out, &mut pos, &mut moves);
        }
        let shift = pos as i32;
        let op = match node.op {
            Op::Add { offset, delta } => Op::Add {
                offset: offset + shift,
                delta,
            },
            Op::Set { offset, value } => Op::Set {
                offset: offset + shift,
                value,
            },
            Op::Output { offset } => Op::Output {
                offset: offset + shift,
            },
            Op::Input { offset } => Op::Input {
                offset: offset + shift,
            },
            Op::MulLoop { offset, targets } => Op::MulLoop {
                offset: offset + shift,
                targets,
            },
            other => other,
        };
        out.push(Node::new(op, node.span));
    }
    match (moves, out.last_mut()) {
        (Some(span), Some(last)) if pos == 0 => last.span = last.span.merge(span),
        _ => put_move(&mut out, &mut pos, &mut moves),
    }
    combine_adds(&mut out, result, open);
    *shifted = out;
}

/// Folds each add into the latest earlier add or set of the same cell, unless an op in between
/// reads or writes that cell. Runs on offset form (only the final node moves); takes the nodes of
/// `block` and appends the result to `out`.
fn combine_adds(block: &mut Vec<Node>, out: &mut Vec<Node>, open: &mut Open) {
    super::reset_scratch(open, open.capacity(), HashMap::clear);
    for node in block.drain(..) {
        match node.op {
            Op::Add { offset, delta } => {
                if let Some(&at) = open.get(&offset) {
                    let target = &mut out[at];
                    match &mut target.op {
                        Op::Add { delta: d, .. } => *d = d.wrapping_add(delta),
                        Op::Set { value, .. } => *value = value.wrapping_add(delta),
                        _ => unreachable!("only adds and sets are open"),
                    }
                    target.span = target.span.merge(node.span);
                    continue;
                }
                open.insert(offset, out.len());
            }
            Op::Set { offset, .. } => {
                open.insert(offset, out.len());
            }
            Op::Output { offset } | Op::Input { offset } => {
                open.remove(&offset);
            }
            Op::MulLoop {
                offset,
                ref targets,
            } => {
                open.remove(&offset);
                for t in targets {
                    open.remove(&(offset + t.offset));
                }
            }
            _ => open.clear(),
        }
        out.push(node);
    }
}

/// Whether every offset of `op` stays within [`super::MAX_OFFSET`] when shifted by `pos`.
fn fits_shifted(op: &Op, pos: i64) -> bool {
    match op {
        Op::Add { offset, .. }
        | Op::Set { offset, .. }
        | Op::Output { offset }
        | Op::Input { offset } => fits(*offset as i64 + pos),
        Op::MulLoop { offset, targets } => {
            let base = *offset as i64 + pos;
            fits(base) && targets.iter().all(|t| fits(base + t.offset as i64))
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{lower, MulTarget};
    use crate::optimizer::fold_runs;
    use crate::optimizer::MAX_OFFSET;
    use crate::syntax::Program;

    fn run(src: &str) -> Vec<Node> {
        offsets(fold_runs(lower(&Program::parse(src).unwrap())))
    }

    fn node(op: Op, start: u32, end: u32) -> Node {
        Node::new(op, Span { start, end })
    }

    /// The cells `nodes` touch, absolute from where the block starts (multiply targets included),
    /// each checked to be within [`MAX_OFFSET`] of the pointer as the node sees it.
    fn cells_touched_within_the_offset_range(nodes: &[Node]) -> Vec<i64> {
        let fits = |v: i64| (-MAX_OFFSET..=MAX_OFFSET).contains(&v);
        let (mut pos, mut cells) = (0i64, Vec::new());
        for n in nodes {
            let mut touch = |offset: i64| {
                assert!(fits(offset), "offset {offset} in {nodes:?}");
                cells.push(pos + offset);
            };
            match &n.op {
                Op::Move { by } => {
                    assert!(fits(*by as i64), "move {by} in {nodes:?}");
                    pos += *by as i64;
                }
                Op::Add { offset, .. }
                | Op::Set { offset, .. }
                | Op::Output { offset }
                | Op::Input { offset } => touch(*offset as i64),
                Op::MulLoop { offset, targets } => {
                    touch(*offset as i64);
                    for t in targets.iter() {
                        touch(*offset as i64 + t.offset as i64);
                    }
                }
                _ => {}
            }
        }
        cells
    }

    #[test]
    fn offsets_stop_growing_at_the_largest_offset() {
        let largest = MAX_OFFSET as i32;
        let mul = |offset| Op::MulLoop {
            offset,
            targets: vec![MulTarget {
                offset: 1,
                factor: 1,
            }]
            .into(),
        };
        let add = |offset| Op::Add { offset, delta: 1 };
        let blocks = [
            vec![Op::Move { by: largest }, Op::Move { by: 1 }, add(0)],
            vec![Op::Move { by: largest }, add(1)],
            vec![Op::Move { by: largest }, Op::Output { offset: 1 }],
            vec![Op::Move { by: largest }, mul(0)],
            vec![Op::Move { by: largest - 1 }, mul(0), add(0)],
            vec![Op::Move { by: -largest }, add(-1), mul(-1)],
        ];
        for ops in blocks {
            let nodes: Vec<Node> = (0u32..)
                .zip(ops)
                .map(|(at, op)| node(op, at, at + 1))
                .collect();
            let expected = cells_touched_within_the_offset_range(&nodes);
            let got = offsets(nodes.clone());
            assert_eq!(
                cells_touched_within_the_offset_range(&got),
                expected,
                "{nodes:?}"
            );
        }
    }

    #[test]
    fn moves_become_offsets_and_one_move() {
        assert_eq!(
            run(">+>--<."),
            vec![
                node(
                    Op::Add {
                        offset: 1,
                        delta: 1
                    },
                    1,
                    2
                ),
                node(
                    Op::Add {
                        offset: 2,
                        delta: 254
                    },
                    3,
                    5
                ),
                node(Op::Output { offset: 1 }, 6, 7),
                node(Op::Move { by: 1 }, 0, 6),
            ]
        );
    }

    #[test]
    fn cancelled_moves_give_their_span_to_the_last_node() {
        assert_eq!(
            run("<+>"),
            vec![node(
                Op::Add {
                    offset: -1,
                    delta: 1
                },
                0,
                3
            )]
        );
    }

    #[test]
    fn adds_to_one_cell_combine_unless_the_cell_is_used_between() {
        let ops = |src: &str| run(src).into_iter().map(|n| n.op).collect::<Vec<_>>();
        let add = |offset, delta| Op::Add { offset, delta };
        assert_eq!(ops("->+<->+<"), vec![add(0, 254), add(1, 2)]);
        assert_eq!(
            ops("+.+"),
            vec![add(0, 1), Op::Output { offset: 0 }, add(0, 1)]
        );
        assert_eq!(ops("+>.<+"), vec![add(0, 2), Op::Output { offset: 1 }]);
        assert_eq!(
            ops("+,+"),
            vec![add(0, 1), Op::Input { offset: 0 }, add(0, 1)]
        );
    }

    #[test]
    fn never_across_loop_boundaries() {
        let ir = run(">[>+<]>");
        assert_eq!(ir[0].op, Op::Move { by: 1 });
        assert_eq!(ir[1].op, Op::LoopStart);
        assert_eq!(
            ir[2].op,
            Op::Add {
                offset: 1,
                delta: 1
            }
        );
        assert_eq!(ir[3].op, Op::LoopEnd);
        assert_eq!(ir[4].op, Op::Move { by: 1 });
    }
}
