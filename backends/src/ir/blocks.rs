//! Straight-line blocks and their guards: the hoisted bounds check of every optimized backend.
//!
//! [`guard`] splits IR into blocks (maximal runs of nodes other than loop boundaries and scans) and puts
//! a `Guard { lo, hi, len }` before each. `lo ..= hi` is the union of two ranges, so that neither a wrong
//! pass nor a wrong walk can make unchecked code touch memory off the tape:
//! - every pointer position the block's *source* visits (one iteration of each folded loop included);
//! - every cell the block's *nodes* access, and every position their moves reach.

use super::{Node, Op, Span};
use crate::syntax::{CmdKind, Program};

/// Whether a node belongs inside a straight-line block.
pub fn in_block(op: &Op) -> bool {
    !matches!(
        op,
        Op::LoopStart | Op::LoopEnd | Op::Scan { .. } | Op::Guard { .. }
    )
}

/// The pointer range `(lo, hi)` that source commands `span` visit, relative to the start: one pass
/// over each loop body, and the pointer back where it was at the loop's `[` after its `]`. That is exact
/// for the loops a block may hold (folded loops end where they start) and an over-estimate, which is
/// safe, for loops proven dead.
pub fn source_reach(program: &Program, span: Span) -> (i64, i64) {
    let (mut pos, mut lo, mut hi) = (0i64, 0i64, 0i64);
    let mut loop_starts = Vec::new();
    for cmd in &program.cmds()[span.range()] {
        match cmd.kind {
            CmdKind::Left => pos -= 1,
            CmdKind::Right => pos += 1,
            CmdKind::Open => loop_starts.push(pos),
            CmdKind::Close => pos = loop_starts.pop().unwrap_or(pos),
            _ => continue,
        }
        lo = lo.min(pos);
        hi = hi.max(pos);
    }
    (lo, hi)
}

/// The range of cells `nodes` access and positions they move to, relative to the block start.
pub fn node_reach(nodes: &[Node]) -> (i64, i64) {
    let (mut pos, mut lo, mut hi) = (0i64, 0i64, 0i64);
    let touch = |at: i64, lo: &mut i64, hi: &mut i64| {
        *lo = (*lo).min(at);
        *hi = (*hi).max(at);
    };
    for node in nodes {
        match &node.op {
            Op::Add { offset, .. }
            | Op::Set { offset, .. }
            | Op::Output { offset }
            | Op::Input { offset } => touch(pos + *offset as i64, &mut lo, &mut hi),
            Op::MulLoop { offset, targets } => {
                touch(pos + *offset as i64, &mut lo, &mut hi);
                for t in targets {
                    touch(pos + *offset as i64 + t.offset as i64, &mut lo, &mut hi);
                }
            }
            Op::Move { by } => {
                pos += *by as i64;
                touch(pos, &mut lo, &mut hi);
            }
            Op::Scan { .. } | Op::LoopStart | Op::LoopEnd | Op::Guard { .. } => {}
        }
    }
    (lo, hi)
}

/// Removes every guard (passes work on unguarded IR).
pub fn strip_guards(nodes: Vec<Node>) -> Vec<Node> {
    nodes
        .into_iter()
        .filter(|n| !matches!(n.op, Op::Guard { .. }))
        .collect()
}

/// Puts a guard before every straight-line block (existing guards are recomputed).
///
/// Works in place: the blocks are counted, the vector grows by exactly one node per block (a large
/// vector grows by remapping, without a copy), every node is moved to its final index from the back,
/// and each guard is filled in from its block. So the IR is never held twice, and the result holds no
/// spare capacity.
pub fn guard(program: &Program, nodes: Vec<Node>) -> Vec<Node> {
    let mut nodes = strip_guards(nodes);
    let len = nodes.len();
    let blocks = block_starts(&nodes).count();
    let placeholder = Node::new(
        Op::Guard {
            lo: 0,
            hi: 0,
            len: 0,
        },
        Span { start: 0, end: 0 },
    );
    nodes.reserve_exact(blocks);
    nodes.resize(len + blocks, placeholder);
    // Nodes `i + 1 + shift ..` are in their final places and `i + 1 ..= i + shift` hold placeholders;
    // moving node `i` up by `shift` leaves a placeholder at `i`, which becomes its block's guard (and
    // stays put) when node `i` starts a block.
    let mut shift = blocks;
    let mut i = len;
    while shift > 0 {
        i -= 1;
        nodes.swap(i, i + shift);
        if in_block(&nodes[i + shift].op) && (i == 0 || !in_block(&nodes[i - 1].op)) {
            shift -= 1;
        }
    }
    let mut at = 0;
    while at < nodes.len() {
        if matches!(nodes[at].op, Op::Guard { .. }) {
            let end = at
                + 1
                + nodes[at + 1..]
                    .iter()
                    .take_while(|n| in_block(&n.op))
                    .count();
            fill_guard(program, &mut nodes[..end], at);
            at = end;
        } else {
            at += 1;
        }
    }
    nodes.shrink_to_fit();
    nodes
}

/// The indices of the nodes that start a straight-line block (in unguarded IR).
fn block_starts(nodes: &[Node]) -> impl Iterator<Item = usize> + '_ {
    (0..nodes.len()).filter(|&i| in_block(&nodes[i].op) && (i == 0 || !in_block(&nodes[i - 1].op)))
}

/// Computes the guard at `out[at]` for the block after it, which runs to the end of `out`.
fn fill_guard(program: &Program, out: &mut [Node], at: usize) {
    let block = &out[at + 1..];
    let span = block
        .iter()
        .fold(block[0].span, |acc, node| acc.merge(node.span));
    let (src_lo, src_hi) = source_reach(program, span);
    let (ir_lo, ir_hi) = node_reach(block);
    let clamp = |v: i64| v.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    out[at] = Node::new(
        Op::Guard {
            lo: clamp(src_lo.min(ir_lo)),
            hi: clamp(src_hi.max(ir_hi)),
            len: block.len() as u32,
        },
        span,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::lower;

    #[test]
    fn each_block_gets_one_guard_with_its_reach() {
        let p = Program::parse(">>+<<<[-]>").unwrap();
        let g = guard(&p, lower(&p));
        assert_eq!(
            g[0].op,
            Op::Guard {
                lo: -1,
                hi: 2,
                len: 6
            }
        );
        assert_eq!(g[0].span, Span { start: 0, end: 6 });
        // `[`, then a block `-`, then `]`, then a block `>`.
        assert!(matches!(g[7].op, Op::LoopStart));
        assert!(matches!(
            g[8].op,
            Op::Guard {
                lo: 0,
                hi: 0,
                len: 1
            }
        ));
        assert!(matches!(
            g[11].op,
            Op::Guard {
                lo: 0,
                hi: 1,
                len: 1
            }
        ));
    }

    #[test]
    fn source_reach_restores_the_pointer_after_a_loop() {
        // A dead loop that moves: `[>>]` visits +2 once, and the `<` after it starts from 0 again.
        let p = Program::parse("[>>]<").unwrap();
        assert_eq!(source_reach(&p, Span { start: 0, end: 5 }), (-1, 2));
    }

    #[test]
    fn node_reach_covers_what_passes_claim() {
        let nodes = vec![Node::new(
            Op::Add {
                offset: -7,
                delta: 1,
            },
            Span::single(0),
        )];
        assert_eq!(node_reach(&nodes), (-7, 0));
    }
}
