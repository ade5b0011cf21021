//! The `evaluate` pass: loops whose every cell is known on entry run at compile time.

use std::collections::BTreeMap;

use super::compact::Compactor;
use super::known::KnownValues;
use super::{fits, FactsCache};
use crate::ir::{loop_partners, Node, Op};

/// The most IR nodes one loop may execute at compile time before the pass gives up on it.
pub const LOOP_BUDGET: u64 = 4096;

/// The most IR nodes one run of the pass executes at compile time over all loops (so compile time
/// stays linear in the program size).
pub const PASS_BUDGET: u64 = 1 << 18;

/// Replaces a loop by the sets it amounts to, when the known-value analysis knows every cell the loop
/// touches and the loop ends within [`LOOP_BUDGET`] steps.
///
/// ```text
/// before: ++++[-->+<]       set [0] = 4, loop { add [0] -2, add [1] +1 }   (even step: not a multiply)
/// after:  ++++[-->+<]       set [0] = 0, set [1] = 2
/// before: +++[>++[->+<]>[->+<]<<-]     (nested loops, every cell known on entry)
/// after:  +++[>++[->+<]>[->+<]<<-]     set [0] = 0, set [3] = 6
/// ```
///
/// Only balanced loops ([`super::known::LoopSummary`]) without input or output qualify: their pointer
/// comes back to the loop cell after every iteration, so every cell they visit is one the source walk
/// of the block's guard visits too, and the exact fallback of a failed guard re-runs the loop itself.
/// A loop that does not end within the budget (perhaps never) stays as it is. The sets span the
/// whole loop; the loop charged fuel, the sets charge none.
pub fn evaluate(nodes: Vec<Node>) -> Vec<Node> {
    evaluate_with(nodes, &mut FactsCache::default())
}

/// [`evaluate`], with the analysis of `nodes` from `cache`.
pub(crate) fn evaluate_with(mut nodes: Vec<Node>, cache: &mut FactsCache) -> Vec<Node> {
    if !nodes.iter().any(|n| matches!(n.op, Op::LoopStart)) {
        return nodes; // no loop to run
    }
    let known = cache.get(&nodes);
    let partners = loop_partners(&nodes);
    let mut budget = PASS_BUDGET;
    // Written over the input as it is read (see `Compactor`): a loop is read whole before its sets
    // are put out, and only slots before the read position are written.
    let mut out = Compactor::default();
    let mut i = 0;
    while i < nodes.len() {
        if matches!(nodes[i].op, Op::LoopStart) && budget > 0 {
            let end = partners[i] as usize;
            if let Some(sets) = run_loop(&nodes, &partners, i, known, &mut budget) {
                let span = nodes[i].span.merge(nodes[end].span);
                for op in sets {
                    out.put(&mut nodes, end + 1, Node::new(op, span));
                }
                i = end + 1;
                continue;
            }
        }
        out.keep(&mut nodes, i);
        i += 1;
    }
    drop(partners);
    out.finish(nodes)
}

/// Runs the loop starting at `nodes[start]` on its known entry values; the sets it amounts to.
fn run_loop(
    nodes: &[Node],
    partners: &[u32],
    start: usize,
    known: &KnownValues,
    budget: &mut u64,
) -> Option<Vec<Op>> {
    let summary = known.summary(start)?;
    if summary.io {
        return None;
    }
    let mut entry: BTreeMap<i64, u8> = BTreeMap::new();
    for &at in summary.touched {
        entry.insert(at, known.before(start, i32::try_from(at).ok()?)?);
    }
    if entry.get(&0).copied().unwrap_or(0) == 0 {
        return None; // a dead loop: the `known` and `dead-code` passes remove it
    }
    let end = partners[start] as usize;
    let mut tape = entry.clone();
    let mut pos = 0i64;
    let mut pc = start;
    let mut steps = 0u64;
    let limit = LOOP_BUDGET.min(*budget);
    while pc <= end {
        steps += 1;
        if steps > limit {
            *budget -= limit;
            return None;
        }
        match &nodes[pc].op {
            Op::LoopStart => {
                if *tape.get(&pos)? == 0 {
                    pc = partners[pc] as usize;
                }
            }
            Op::LoopEnd => {
                if *tape.get(&pos)? != 0 {
                    pc = partners[pc] as usize;
                }
            }
            Op::Add { offset, delta } => {
                let cell = tape.get_mut(&(pos + *offset as i64))?;
                *cell = cell.wrapping_add(*delta);
            }
            Op::Set { offset, value } => *tape.get_mut(&(pos + *offset as i64))? = *value,
            Op::MulLoop { offset, targets } => {
                let from = pos + *offset as i64;
                let k = *tape.get(&from)?;
                if k != 0 {
                    for t in targets {
                        let cell = tape.get_mut(&(from + t.offset as i64))?;
                        *cell = cell.wrapping_add(k.wrapping_mul(t.factor));
                    }
                    tape.insert(from, 0);
                }
            }
            Op::Move { by } => pos += *by as i64,
            Op::Guard { .. } => {}
            Op::Output { .. } | Op::Input { .. } | Op::Scan { .. } => return None,
        }
        pc += 1;
    }
    *budget -= steps;
    let mut sets = Vec::new();
    for (&at, &value) in &tape {
        if entry.get(&at) != Some(&value) {
            if !fits(at) {
                return None;
            }
            sets.push(Op::Set {
                offset: at as i32,
                value,
            });
        }
    }
    Some(sets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::lower;
    use crate::optimizer::fold_runs;
    use crate::syntax::Program;

    fn run(src: &str) -> Vec<Op> {
        evaluate(fold_runs(lower(&Program::parse(src).unwrap())))
            .into_iter()
            .map(|n| n.op)
            .collect()
    }

    fn set(offset: i32, value: u8) -> Op {
        Op::Set { offset, value }
    }

    #[test]
    fn even_step_loop_on_a_known_value_runs_at_compile_time() {
        let ir = run("++++[-->+<]");
        assert_eq!(ir[1..], [set(0, 0), set(1, 2)]);
    }

    #[test]
    fn nested_loops_run_at_compile_time() {
        // Three times: cell 1 = 2, moved to cell 2, moved on to cell 3.
        let ir = run("+++[>++[->+<]>[->+<]<<-]");
        assert_eq!(ir[1..], [set(0, 0), set(3, 6)]);
    }

    #[test]
    fn loops_with_offsets_and_multiplies_inside_run_at_compile_time() {
        // After `clear`, `mul` and `offsets` the body holds a set and adds at offsets, and the
        // inner loop is a multiply-add (the outer loops are not affine: cell 1 ends at 3, not at
        // its value 0 before the loop; the second steps by 2).
        let ops = |src: &str| -> Vec<Op> {
            let nodes = fold_runs(lower(&Program::parse(src).unwrap()));
            evaluate(crate::optimizer::offsets(crate::optimizer::mul(
                crate::optimizer::clear(nodes),
            )))
            .into_iter()
            .map(|n| n.op)
            .collect()
        };
        assert_eq!(ops("++[>[-]+++<-]")[1..], [set(0, 0), set(1, 3)]);
        assert_eq!(ops("++[>+++[->++<]<--]")[1..], [set(0, 0), set(2, 6)]);
    }

    #[test]
    fn a_loop_runs_when_it_fits_the_budget_exactly_and_charges_what_it_ran() {
        // `++++[-->+<]`: the `[` (1 step), then 2 iterations of 4 body nodes and the `]` (5 each).
        let nodes = fold_runs(lower(&Program::parse("++++[-->+<]").unwrap()));
        let (known, partners) = (KnownValues::analyze(&nodes), loop_partners(&nodes));
        let steps = 11;
        let mut budget = 1000;
        let sets = run_loop(&nodes, &partners, 1, &known, &mut budget);
        assert_eq!(sets, Some(vec![set(0, 0), set(1, 2)]));
        assert_eq!(budget, 1000 - steps, "a loop that ends charges its steps");
        let mut budget = steps;
        assert!(run_loop(&nodes, &partners, 1, &known, &mut budget).is_some());
        assert_eq!(budget, 0);
        // One step short: the loop stays, and the steps it tried are charged.
        let mut budget = steps - 1;
        assert_eq!(run_loop(&nodes, &partners, 1, &known, &mut budget), None);
        assert_eq!(
            budget, 0,
            "a loop over the budget charges the budget it used"
        );
    }

    #[test]
    fn loops_that_do_not_end_or_are_not_known_stay() {
        // `[--]` on 3 never ends; input makes cell 0 unknown; output inside; an unbalanced body.
        for src in ["+++[--]", ",[->+<]", "+[.-]", "+[>+]", "+[>+<]"] {
            assert!(run(src).contains(&Op::LoopStart), "{src}");
        }
    }
}
