//! The `scan` pass: loops that only move the pointer become scans.

use super::fold_loops;
use crate::ir::{Node, Op};

/// Replaces a loop whose whole body is one move by a scan with that stride.
///
/// ```text
/// before: [>]    loop { move +1 }
/// after:  [>]    scan +1
/// before: [<<<]  loop { move -3 }
/// after:  [<<<]  scan -3
/// ```
///
/// The scan spans the loop from `[` to `]`: a scan that would leave the tape re-runs that span exactly.
/// The body's moves must all go one way (the move's span is exactly `|by|` commands long): in
/// `[<<<<>>]` the pointer passes 2 cells beyond where a `scan -2` would look, which can leave the
/// tape, so it stays a loop. `[<>]` (a zero move) is an endless loop or an error and stays too.
pub fn scan(nodes: Vec<Node>) -> Vec<Node> {
    fold_loops(nodes, |body| match body {
        [Node {
            op: Op::Move { by },
            span,
        }] if *by != 0 && (span.end - span.start) as u64 == by.unsigned_abs() as u64 => {
            Some(Op::Scan { stride: *by })
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{lower, Span};
    use crate::optimizer::fold_runs;
    use crate::syntax::Program;

    fn run(src: &str) -> Vec<Node> {
        scan(fold_runs(lower(&Program::parse(src).unwrap())))
    }

    #[test]
    fn scans_of_every_stride() {
        for stride in [1i32, 2, 3, 7, -1, -2, -5] {
            let step = if stride > 0 { ">" } else { "<" };
            let src = format!("[{}]", step.repeat(stride.unsigned_abs() as usize));
            let len = stride.unsigned_abs() + 2;
            assert_eq!(
                run(&src),
                vec![Node::new(Op::Scan { stride }, Span { start: 0, end: len })],
                "{src}"
            );
        }
    }

    #[test]
    fn zero_moves_and_busy_bodies_are_not_scans() {
        assert!(!run("[<>]").iter().any(|n| matches!(n.op, Op::Scan { .. })));
        assert!(!run("[>+]").iter().any(|n| matches!(n.op, Op::Scan { .. })));
        // Regression: the body overshoots the stride, so it may leave the tape where a scan would not.
        assert!(!run("[<<<<>>]")
            .iter()
            .any(|n| matches!(n.op, Op::Scan { .. })));
    }
}
