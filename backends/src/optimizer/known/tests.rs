//! Soundness of the known-value analysis: every fact holds whenever its node runs.

use proptest::prelude::*;

use super::*;
use crate::ir::{loop_partners, lower};
use crate::optimizer::tests::{config, input, program};
use crate::optimizer::{fold_runs, run_passes, PassList};
use crate::syntax::Program;

/// Steps unguarded IR on a tape of `tape_len` cells and checks every recorded fact before each node;
/// stops at the first step off the tape, after `steps` nodes, or at the end. `Err` names the first
/// fact that did not hold.
fn check_facts(nodes: &[Node], tape_len: usize, input: &[u8], steps: u64) -> Result<(), String> {
    let known = KnownValues::analyze(nodes);
    let partners = loop_partners(nodes);
    let mut tape = vec![0u8; tape_len];
    let mut input = input.iter().copied();
    let (mut ptr, mut pc, mut left) = (0i64, 0usize, steps);
    let at = |ptr: i64, offset: i32| {
        let at = ptr + offset as i64;
        (0..tape_len as i64).contains(&at).then_some(at as usize)
    };
    while pc < nodes.len() && left > 0 {
        left -= 1;
        for &(offset, value) in known.facts_of(pc) {
            if let Some(cell) = at(ptr, offset) {
                if tape[cell] != value {
                    return Err(format!(
                        "node {pc} ({}): cell {offset:+} is {}, the analysis says {value}",
                        nodes[pc].op, tape[cell]
                    ));
                }
            }
        }
        let node = &nodes[pc];
        macro_rules! cell {
            ($offset:expr) => {
                match at(ptr, $offset) {
                    Some(cell) => cell,
                    None => return Ok(()),
                }
            };
        }
        match &node.op {
            Op::Add { offset, delta } => {
                let c = cell!(*offset);
                tape[c] = tape[c].wrapping_add(*delta);
            }
            Op::Set { offset, value } => tape[cell!(*offset)] = *value,
            Op::Move { by } => ptr = cell!(*by) as i64,
            Op::Output { offset } => {
                cell!(*offset);
            }
            Op::Input { offset } => tape[cell!(*offset)] = input.next().unwrap_or(0),
            Op::MulLoop { offset, targets } => {
                let from = cell!(*offset);
                let k = tape[from];
                if k != 0 {
                    for t in targets {
                        let c = cell!(offset + t.offset);
                        tape[c] = tape[c].wrapping_add(k.wrapping_mul(t.factor));
                    }
                    tape[from] = 0;
                }
            }
            Op::Scan { stride } => {
                while tape[ptr as usize] != 0 {
                    ptr = cell!(*stride) as i64;
                }
            }
            Op::LoopStart if tape[ptr as usize] == 0 => pc = partners[pc] as usize,
            Op::LoopEnd if tape[ptr as usize] != 0 => pc = partners[pc] as usize,
            Op::LoopStart | Op::LoopEnd | Op::Guard { .. } => {}
        }
        pc += 1;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 768, ..ProptestConfig::default() })]

    #[test]
    fn known_values_hold_when_their_node_runs(src in program(), config in config(), input in input()) {
        let program = Program::parse(src.as_str()).unwrap();
        let lowered = lower(&program);
        for (what, nodes) in [
            ("lowered", lowered.clone()),
            ("folded", fold_runs(lowered.clone())),
            ("-O2", run_passes(lowered, &PassList::preset(2))),
        ] {
            let checked = check_facts(&nodes, config.tape_len(), &input, 20_000);
            prop_assert!(checked.is_ok(), "{what}: {}\nprogram: {src}\nIR:\n{}",
                checked.unwrap_err(), crate::ir::dump(&program, &nodes));
        }
    }
}

fn facts(src: &str) -> (Vec<Node>, KnownValues) {
    let nodes = fold_runs(lower(&Program::parse(src).unwrap()));
    let known = KnownValues::analyze(&nodes);
    (nodes, known)
}

#[test]
fn the_tape_starts_zero_and_sets_and_adds_are_tracked() {
    let (_, known) = facts(">+++<.>.");
    // Node 3 is `out [0]` on cell 0 (never written), node 5 `out [0]` on cell 1 (3).
    assert_eq!(known.before(3, 0), Some(0));
    assert_eq!(known.before(5, 0), Some(3));
}

#[test]
fn a_loop_exit_leaves_its_cell_zero_and_input_is_unknown() {
    let (nodes, known) = facts(",[-.]..");
    let last = nodes.len() - 1;
    assert_eq!(known.before(last, 0), Some(0));
    assert_eq!(known.before(0, 0), Some(0), "before the input");
    let (_, known) = facts(",.");
    assert_eq!(known.before(1, 0), None);
}

#[test]
fn a_balanced_loop_forgets_only_what_it_writes() {
    // Cell 2 holds 7 throughout; cell 1 is written in the loop.
    let (nodes, known) = facts(">>+++++++<<,[->+<]>>.<.");
    let out2 = nodes.len() - 3;
    assert_eq!(nodes[out2].op, Op::Output { offset: 0 });
    assert_eq!(known.before(out2, 0), Some(7));
    assert_eq!(known.before(nodes.len() - 1, 0), None);
}

#[test]
fn a_cell_restored_by_the_body_stays_known() {
    // Cell 1 is 0 before the loop and 0 after each pass of the body.
    let (nodes, known) = facts(",[>+++[-]<-]>.");
    assert_eq!(known.before(nodes.len() - 1, 0), Some(0));
}

#[test]
fn an_unbalanced_loop_or_scan_forgets_everything_but_its_cell() {
    let (nodes, known) = facts(">>+++<<+[>]>.<.");
    let n = nodes.len();
    assert_eq!(known.before(n - 3, 0), None, "cell after the scan");
    assert_eq!(known.before(n - 1, 0), Some(0), "the scan's own cell");
}

#[test]
fn a_loop_known_to_run_once_is_walked_from_the_state_before_it() {
    // Cell 0 is 1 on entry and 0 at the `]`: one pass, so cell 1 is 3 after it, and the inner
    // loop's cell (2, which the first walk would forget) is still 5 inside.
    let (nodes, known) = facts(">>+++++<<+[>+++>[-.]<<[-]]>.");
    assert_eq!(known.before(nodes.len() - 1, 0), Some(3));
    let starts: Vec<usize> = (0..nodes.len())
        .filter(|&i| nodes[i].op == Op::LoopStart)
        .collect();
    assert_eq!(known.before(starts[1], 0), Some(5), "{nodes:?}");
    // A hundred thousand nested loops that each run once are analyzed in one go.
    let n = 100_000;
    let src = format!("+{}>+<-{}>.", "[".repeat(n), "]".repeat(n));
    let (nodes, known) = facts(&src);
    assert_eq!(known.before(nodes.len() - 1, 0), Some(1));
}

#[test]
fn a_loop_touching_more_than_the_cell_limit_is_not_summarized() {
    // `,[->+>+…<<…]` touches the loop cell and `n` cells to its right.
    let summarized = |n: usize| {
        let src = format!(",[-{}{}]", ">+".repeat(n), "<".repeat(n));
        let (nodes, known) = facts(&src);
        assert_eq!(nodes[1].op, Op::LoopStart);
        known.summary(1).map(|s| s.touched.len())
    };
    assert_eq!(summarized(MAX_LOOP_CELLS - 1), Some(MAX_LOOP_CELLS));
    assert_eq!(summarized(MAX_LOOP_CELLS), None);
    assert_eq!(summarized(MAX_LOOP_CELLS + 5), None);
}

#[test]
fn the_pessimistic_walk_keeps_what_a_loop_leaves_alone() {
    // Cell 2 holds 7; the loop on cell 0 writes cells 0 and 1 only, as its summary says.
    let nodes = fold_runs(lower(&Program::parse(">>+++++++<<,[->+<]>>.").unwrap()));
    let (known, optimistic) = KnownValues::analyze_with(&nodes, false);
    assert!(!optimistic);
    let out = nodes.len() - 1;
    assert_eq!(nodes[out].op, Op::Output { offset: 0 });
    assert_eq!(known.before(out, 0), Some(7));
}

#[test]
fn a_multiply_loop_records_its_cell_and_every_target() {
    // `[->>++<<]` from an unknown cell 0 into cell 2, which holds 3.
    let nodes = crate::optimizer::mul(fold_runs(lower(
        &Program::parse(",>>+++<<[->>++<<]").unwrap(),
    )));
    let at = nodes
        .iter()
        .position(|n| matches!(n.op, Op::MulLoop { .. }))
        .expect("the loop is a multiply-add");
    let known = KnownValues::analyze(&nodes);
    assert_eq!(known.before(at, 2), Some(3), "{:?}", known.facts_of(at));
    assert_eq!(known.before(at, 0), None);
    // From a known cell 0: its fact is recorded first, and the target's must still follow.
    let nodes = crate::optimizer::mul(fold_runs(lower(
        &Program::parse("++>>+++<<[->>++<<]").unwrap(),
    )));
    let at = nodes
        .iter()
        .position(|n| matches!(n.op, Op::MulLoop { .. }))
        .expect("the loop is a multiply-add");
    let known = KnownValues::analyze(&nodes);
    assert_eq!(known.before(at, 0), Some(2), "{:?}", known.facts_of(at));
    assert_eq!(known.before(at, 2), Some(3), "{:?}", known.facts_of(at));
}

#[test]
fn a_loop_whose_inner_loop_reaches_the_cell_limit_is_summarized_up_to_it() {
    // `,[[-…]]`: the inner loop touches its cell and `n` cells to the right; so does the outer one.
    let summarized = |n: usize| {
        let src = format!(",[[-{}{}]]", ">+".repeat(n), "<".repeat(n));
        let (nodes, known) = facts(&src);
        assert_eq!(nodes[1].op, Op::LoopStart);
        known.summary(1).map(|s| s.touched.len())
    };
    assert_eq!(summarized(MAX_LOOP_CELLS - 2), Some(MAX_LOOP_CELLS - 1));
    assert_eq!(summarized(MAX_LOOP_CELLS - 1), Some(MAX_LOOP_CELLS));
    assert_eq!(summarized(MAX_LOOP_CELLS), None);
}

#[test]
fn a_loop_writing_cells_64_apart_forgets_both() {
    // Cells 0 and 64 share a bit of the summary's 64-bit filter: the second must still be recorded
    // as written, in either order, or the fact "cell 64 is 5" would survive the loop.
    let far = |c: char| c.to_string().repeat(64);
    for body in [
        format!(",{}-{}", far('>'), far('<')),
        format!("{}-{},", far('>'), far('<')),
    ] {
        let src = format!("{}+++++{},[{body}]{}.", far('>'), far('<'), far('>'));
        let program = Program::parse(src.as_str()).unwrap();
        let lowered = lower(&program);
        for nodes in [
            fold_runs(lowered.clone()),
            run_passes(lowered, &PassList::preset(2)),
        ] {
            for input in [&[1u8, 0][..], &[2, 1, 0], &[0]] {
                let checked = check_facts(&nodes, 200, input, 10_000);
                assert!(checked.is_ok(), "{src}: {}", checked.unwrap_err());
            }
        }
    }
}
