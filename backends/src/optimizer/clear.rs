//! The `clear` pass: loops that provably zero their cell become sets, and sets absorb nearby adds.

use super::fold_loops;
use crate::ir::blocks::in_block;
use crate::ir::{Node, Op};

/// Replaces a clear loop by a set of 0, then folds adds into neighbouring sets of the same cell.
///
/// ```text
/// before: [-]+++     loop { add [0] -1 }, add [0] +3
/// after:  [-]+++     set [0] = 3
/// before: [---]      loop { add [0] -3 }        (3 is odd: every value reaches 0)
/// after:  [---]      set [0] = 0
/// before: [--]       loop { add [0] -2 }        (left alone: odd values never reach 0)
/// ```
///
/// A loop is a clear when its body is one add of an odd amount to the loop cell (odd steps visit every
/// value mod 256, so the loop ends whatever the start value) or one set of the loop cell to 0
/// (`[[-]]`). Then `set; add` of one cell becomes one set, and `add; set` or `set; set` keep the last.
pub fn clear(nodes: Vec<Node>) -> Vec<Node> {
    let nodes = fold_loops(nodes, |body| match body {
        [Node {
            op: Op::Add { offset: 0, delta },
            ..
        }] if delta % 2 == 1 => Some(zero()),
        [Node {
            op: Op::Set {
                offset: 0,
                value: 0,
            },
            ..
        }] => Some(zero()),
        _ => None,
    });
    // Folded in place: the output is `nodes[..len]`, never longer than what was read.
    let mut nodes = nodes;
    let mut len = 0;
    for i in 0..nodes.len() {
        if let [.., last] = &nodes[..len] {
            let node = &nodes[i];
            if in_block(&last.op) && in_block(&node.op) {
                if let Some(op) = fold_pair(&last.op, &node.op) {
                    let span = last.span.merge(node.span);
                    let last = &mut nodes[len - 1];
                    (last.op, last.span) = (op, span);
                    continue;
                }
            }
        }
        nodes.swap(len, i);
        len += 1;
    }
    nodes.truncate(len);
    nodes
}

fn zero() -> Op {
    Op::Set {
        offset: 0,
        value: 0,
    }
}

/// The one op doing what `first` then `second` do, when they are a set and an add (or two sets) of
/// one cell.
fn fold_pair(first: &Op, second: &Op) -> Option<Op> {
    match (first, second) {
        (Op::Set { offset, value }, Op::Add { offset: o, delta }) if offset == o => Some(Op::Set {
            offset: *offset,
            value: value.wrapping_add(*delta),
        }),
        (Op::Add { offset, .. } | Op::Set { offset, .. }, Op::Set { offset: o, value })
            if offset == o =>
        {
            Some(Op::Set {
                offset: *offset,
                value: *value,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{lower, Span};
    use crate::optimizer::fold_runs;
    use crate::syntax::Program;

    fn run(src: &str) -> Vec<Node> {
        clear(fold_runs(lower(&Program::parse(src).unwrap())))
    }

    fn set(value: u8, start: u32, end: u32) -> Node {
        Node::new(Op::Set { offset: 0, value }, Span { start, end })
    }

    #[test]
    fn clear_loops_become_sets() {
        assert_eq!(run("[-]"), vec![set(0, 0, 3)]);
        assert_eq!(run("[+]"), vec![set(0, 0, 3)]);
        assert_eq!(run("[---]"), vec![set(0, 0, 5)]);
        assert_eq!(run("[[-]]"), vec![set(0, 0, 5)]);
    }

    #[test]
    fn double_step_loop_is_not_a_clear() {
        // Regression: `[--]` never ends on odd values, so it must stay a loop.
        let ir = run("[--]");
        assert_eq!(ir.len(), 3);
        assert_eq!(ir[0].op, Op::LoopStart);
        assert_eq!(run("[++++]").len(), 3);
    }

    #[test]
    fn adds_fold_into_sets() {
        assert_eq!(run("[-]+++"), vec![set(3, 0, 6)]);
        assert_eq!(run("++[-]"), vec![set(0, 0, 5)]);
        assert_eq!(run("[-]-[+]"), vec![set(0, 0, 7)]);
    }
}
