//! The `mul` pass: balanced add-only loops whose cell steps by one become multiply-adds.

use std::collections::BTreeMap;

use super::{fits, fold_loops};
use crate::ir::{MulTarget, Node, Op};

/// Replaces a multiply (or move) loop by one multiply-add op.
///
/// ```text
/// before: [->+++>-<<]   loop { add [0] -1, move +1, add [0] +3, move +1, add [0] -1, move -2 }
/// after:  [->+++>-<<]   mul [0] -> [1]*3 [2]*-1
/// before: [+<<->>]      loop { ... }    (the cell counts up: 256 - c iterations, factors negated)
/// after:  [+<<->>]      mul [0] -> [-2]*1
/// ```
///
/// The body must contain only adds and moves, return to where it started, and change the loop cell by
/// exactly -1 or +1; then the loop runs `c` (or `256 - c`) times for a loop cell `c`, which the op
/// computes in one step, doing nothing when `c` is 0. Targets come out sorted by offset, zero factors
/// dropped; with no targets left the loop is a clear (`set [0] = 0`).
pub fn mul(nodes: Vec<Node>) -> Vec<Node> {
    fold_loops(nodes, mul_loop)
}

fn mul_loop(body: &[Node]) -> Option<Op> {
    let mut pos = 0i64;
    let mut deltas: BTreeMap<i64, u8> = BTreeMap::new();
    for node in body {
        match node.op {
            Op::Add { offset, delta } => {
                let at = pos + offset as i64;
                let cell = deltas.entry(at).or_insert(0);
                *cell = cell.wrapping_add(delta);
            }
            Op::Move { by } => pos += by as i64,
            _ => return None,
        }
        if !fits(pos) {
            return None;
        }
    }
    if pos != 0 {
        return None;
    }
    let negate = match deltas.get(&0) {
        Some(255) => false,
        Some(1) => true,
        _ => return None,
    };
    let mut targets = Vec::new();
    for (&offset, &delta) in &deltas {
        if offset == 0 || delta == 0 {
            continue;
        }
        if !fits(offset) {
            return None;
        }
        let factor = if negate { delta.wrapping_neg() } else { delta };
        targets.push(MulTarget {
            offset: offset as i32,
            factor,
        });
    }
    if targets.is_empty() {
        return Some(Op::Set {
            offset: 0,
            value: 0,
        });
    }
    Some(Op::MulLoop { offset: 0, targets })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{lower, Span};
    use crate::optimizer::fold_runs;
    use crate::syntax::Program;

    fn run(src: &str) -> Vec<Node> {
        mul(fold_runs(lower(&Program::parse(src).unwrap())))
    }

    fn t(offset: i32, factor: u8) -> MulTarget {
        MulTarget { offset, factor }
    }

    #[test]
    fn multiply_loop_with_several_targets() {
        let src = "[->+++>-<<<<++>>]";
        assert_eq!(
            run(src),
            vec![Node::new(
                Op::MulLoop {
                    offset: 0,
                    targets: vec![t(-2, 2), t(1, 3), t(2, 255)]
                },
                Span { start: 0, end: 17 }
            )]
        );
    }

    #[test]
    fn counting_up_negates_factors() {
        assert_eq!(
            run("[+<<->>]")[0].op,
            Op::MulLoop {
                offset: 0,
                targets: vec![t(-2, 1)]
            }
        );
    }

    #[test]
    fn loops_that_are_not_multiplies_stay() {
        // Unbalanced, loop cell steps by 2, loop cell untouched, output inside, nested loop.
        for src in ["[->+]", "[-->+<]", "[>+<]", "[->.<]", "[->[-]<]"] {
            let ir = run(src);
            assert!(
                !ir.iter().any(|n| matches!(n.op, Op::MulLoop { .. })),
                "{src}: {ir:?}"
            );
        }
    }

    #[test]
    fn cancelled_targets_are_dropped() {
        assert_eq!(
            run("[->+<>-<]")[0].op,
            Op::Set {
                offset: 0,
                value: 0
            }
        );
    }
}
