//! The `dead-code` pass: loops that can never be entered are removed.

use crate::ir::{loop_partners, Node, Op};

/// Removes every loop whose cell is provably 0 when the loop is reached.
///
/// ```text
/// before: +[-][>+<][<]   add, set [0] = 0, loop { ... }, scan -1   (after a clear the cell is 0)
/// after:  +[-]           add, set [0] = 0
/// before: [>+<.]+.       loop { ... }, add, out                   (at the start every cell is 0)
/// after:  +.             add, out
/// ```
///
/// The cell is known to be 0 right after a loop or a scan ends, after a set of it to 0 or a
/// multiply-add from it, and at the start of the program as long as nothing wrote to it. A loop right
/// after a dead loop is dead too, so a run of adjacent dead loops goes at once. The walk back from each
/// loop only crosses the straight-line block before it, following moves, so the pass is linear in the
/// program size. A dead loop never runs in the original either, so neither output nor fuel changes.
///
/// Removing a loop may join the blocks on either side into one. That block's span then includes the
/// dead loop's source; its guard is still right because `ir::blocks::source_reach` puts the pointer
/// back where it was at `[` after each `]`, and the exact fallback re-runs the dead loop, which does
/// not run there either.
pub fn dead_code(mut nodes: Vec<Node>) -> Vec<Node> {
    let partners = loop_partners(&nodes);
    // Rewritten in place: the kept nodes are compacted into `nodes[..len]`.
    let mut len = 0;
    let mut i = 0;
    while i < nodes.len() {
        if matches!(nodes[i].op, Op::LoopStart) && cell_is_zero(&nodes[..len]) {
            let mut end = i;
            while nodes
                .get(end)
                .is_some_and(|n| matches!(n.op, Op::LoopStart))
            {
                end = partners[end] as usize + 1;
            }
            i = end;
            continue;
        }
        nodes.swap(len, i);
        len += 1;
        i += 1;
    }
    nodes.truncate(len);
    nodes
}

/// Whether the current cell is provably 0 after running `before` (which ends where a loop starts).
fn cell_is_zero(before: &[Node]) -> bool {
    // The offset of the cell in question relative to the pointer before the node being looked at.
    let mut cell = 0i64;
    for node in before.iter().rev() {
        match &node.op {
            Op::Move { by } => cell += *by as i64,
            Op::Add { offset, delta } if *offset as i64 == cell && *delta != 0 => return false,
            Op::Set { offset, value } if *offset as i64 == cell => return *value == 0,
            Op::Input { offset } if *offset as i64 == cell => return false,
            Op::MulLoop { offset, targets } => {
                let from = *offset as i64;
                if from == cell {
                    return true;
                }
                if targets.iter().any(|t| from + t.offset as i64 == cell) {
                    return false;
                }
            }
            Op::LoopEnd | Op::Scan { .. } => return cell == 0,
            Op::LoopStart => return false,
            _ => {}
        }
    }
    // Reached the program start without a write to the cell: it still holds its initial 0.
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{lower, Span};
    use crate::optimizer::{clear, fold_runs, mul, offsets};
    use crate::syntax::Program;

    fn run(src: &str) -> Vec<Node> {
        let ir = offsets(mul(clear(fold_runs(lower(&Program::parse(src).unwrap())))));
        dead_code(ir)
    }

    fn loops(ir: &[Node]) -> usize {
        ir.iter().filter(|n| n.op == Op::LoopStart).count()
    }

    #[test]
    fn loops_at_the_start_go() {
        assert_eq!(loops(&run("[>+<.]")), 0);
        assert_eq!(loops(&run("[.][,]+")), 0);
    }

    #[test]
    fn loops_known_to_start_at_zero_are_removed() {
        // Writes to other cells between the clear and the loop do not matter.
        for src in [
            ">>[.]",
            "+[-][.]",
            "+>[-]<[->>+<<]>[.,]",
            "+[-]>+<[.]",
            "+[-]>,<[.]",
            "+[-]>+[->+<]<[.]",
        ] {
            assert_eq!(loops(&run(src)), 0, "{src}");
        }
        // A run of dead loops after a loop goes at once; the live loop before it stays.
        let ir = run("+[>.<-][.][,][>]+");
        assert_eq!(loops(&ir), 1);
        assert_eq!(ir.last().unwrap().span, Span::single(16));
    }

    #[test]
    fn loops_that_may_run_stay() {
        for src in [
            "+[.-]",
            ",[.,]",
            "+>[-]<[.-]",
            "+[->+<]>[.-]",
            "+[.-]+>[.-]",
        ] {
            let ir = run(src);
            let last_loop = ir.iter().rposition(|n| n.op == Op::LoopStart).unwrap();
            assert_ne!(ir[last_loop + 1].op, Op::LoopEnd, "{src}: {ir:?}");
        }
    }
}
