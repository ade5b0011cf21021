//! The `fold-runs` pass: run-length folding of `+-` and `<>`, with cancellation.

use super::fits;
use crate::ir::blocks::in_block;
use crate::ir::{Node, Op, Span};

/// Folds adjacent adds to the same cell and adjacent moves into one node each, merging their spans.
///
/// ```text
/// before: +++-->><    add [0] +3, add [0] -2, move +2, move -1   (one node per command)
/// after:  +>          add [0] +1, move +1
/// ```
///
/// A run that cancels (`+-`, `<>`) disappears, its span handed to a neighbour in the same block, so
/// the block's guard still covers what the source visits (`<>` at cell 0 must still fail). A block
/// left with nothing but cancelled runs keeps one `move +0` holding their span (a pass cannot tell
/// whether that span has moves in it, so it never lets such a span vanish). Moves stop folding at
/// [`super::MAX_OFFSET`].
///
/// It takes any stream of nodes, so the optimizer can fold the lowering as it is produced.
pub fn fold_runs(nodes: impl IntoIterator<Item = Node>) -> Vec<Node> {
    // Grown as needed: folded IR is usually far shorter than its input.
    let mut out: Vec<Node> = Vec::new();
    // The span of removed no-op nodes that waits for the next node of their block.
    let mut pending: Option<Span> = None;
    for mut node in nodes {
        if let Some(last) = out.last_mut() {
            if merge_into(last, &node) {
                if is_noop(&last.op) {
                    let removed = out.pop().expect("just merged into it");
                    absorb(&mut out, &mut pending, removed);
                }
                continue;
            }
        }
        if is_noop(&node.op) {
            absorb(&mut out, &mut pending, node);
            continue;
        }
        if in_block(&node.op) {
            if let Some(span) = pending.take() {
                node.span = node.span.merge(span);
            }
        } else {
            flush(&mut out, &mut pending);
        }
        out.push(node);
    }
    flush(&mut out, &mut pending);
    out
}

/// Folds `node` into `last` when both are adds to one cell or both are moves.
fn merge_into(last: &mut Node, node: &Node) -> bool {
    match (&mut last.op, &node.op) {
        (
            Op::Add { offset, delta },
            Op::Add {
                offset: o,
                delta: d,
            },
        ) if offset == o => *delta = delta.wrapping_add(*d),
        (Op::Move { by }, Op::Move { by: b }) if fits(*by as i64 + *b as i64) => *by += b,
        _ => return false,
    }
    last.span = last.span.merge(node.span);
    true
}

/// An add of zero or a move by zero.
fn is_noop(op: &Op) -> bool {
    matches!(op, Op::Add { delta: 0, .. } | Op::Move { by: 0 })
}

/// Drops a no-op node, giving its span to the previous node of the block or, when the block starts
/// here, to the next one.
fn absorb(out: &mut [Node], pending: &mut Option<Span>, removed: Node) {
    match out.last_mut() {
        Some(last) if in_block(&last.op) => last.span = last.span.merge(removed.span),
        _ => *pending = Some(pending.map_or(removed.span, |span| span.merge(removed.span))),
    }
}

/// At a block's end: removed no-ops with nobody to take their span come back as one `move +0`.
fn flush(out: &mut Vec<Node>, pending: &mut Option<Span>) {
    if let Some(span) = pending.take() {
        out.push(Node::new(Op::Move { by: 0 }, span));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::lower;
    use crate::syntax::Program;

    fn run(src: &str) -> Vec<Node> {
        fold_runs(lower(&Program::parse(src).unwrap()))
    }

    fn span(start: u32, end: u32) -> Span {
        Span { start, end }
    }

    #[test]
    fn runs_fold_with_their_spans() {
        assert_eq!(
            run("+++-->><"),
            vec![
                Node::new(
                    Op::Add {
                        offset: 0,
                        delta: 1
                    },
                    span(0, 5)
                ),
                Node::new(Op::Move { by: 1 }, span(5, 8)),
            ]
        );
    }

    #[test]
    fn cancelled_runs_hand_their_span_on() {
        // `<>` cancels; its span goes to the `+` so the guard still sees the step to -1.
        assert_eq!(
            run("<>+"),
            vec![Node::new(
                Op::Add {
                    offset: 0,
                    delta: 1
                },
                span(0, 3)
            )]
        );
        // A block of nothing but cancelled runs keeps its span in a zero move.
        assert_eq!(
            run("[<>]"),
            vec![
                lower_one("[", 0),
                Node::new(Op::Move { by: 0 }, span(1, 3)),
                lower_one("]", 3)
            ]
        );
    }

    #[test]
    fn cancellation_lets_outer_runs_meet() {
        // `><` cancels, then the two `+` are adjacent and fold.
        assert_eq!(
            run("+><+"),
            vec![Node::new(
                Op::Add {
                    offset: 0,
                    delta: 2
                },
                span(0, 4)
            )]
        );
    }

    fn lower_one(src: &str, at: u32) -> Node {
        let op = match src {
            "[" => Op::LoopStart,
            _ => Op::LoopEnd,
        };
        Node::new(op, Span::single(at as usize))
    }
}
