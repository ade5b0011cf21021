//! Tests of the guard plan: decisions on small programs, refusal of malformed IR, and the soundness
//! property of the pointer-range analysis against real runs.

use proptest::prelude::*;

use super::*;
use crate::backend::compile_and_run;
use crate::config::{Config, EofPolicy};
use crate::ir::blocks::guard;
use crate::ir::eval::evaluate_observed;
use crate::ir::{lower, Node, Op, Span};
use crate::optimizer::{fold_runs_only, optimize_default};
use crate::outcome::{compare, Outcome};
use crate::reference::Reference;

fn plan(src: &str, tape_len: usize) -> PlannedIr {
    let program = Program::parse(src).unwrap();
    PlannedIr::new(&program, fold_runs_only(&program), tape_len).unwrap()
}

/// The decisions of every guard, in order.
fn decisions(planned: &PlannedIr) -> Vec<Decision> {
    planned
        .nodes()
        .iter()
        .enumerate()
        .filter(|(_, n)| matches!(n.op, Op::Guard { .. }))
        .map(|(i, _)| planned.decision(i))
        .collect()
}

#[test]
fn blocks_are_decided_from_the_entry_range() {
    // From pointer 0: `>+<` stays on the tape, `<` leaves it for every pointer in {0}.
    assert_eq!(decisions(&plan(">+<", 30)), [Decision::Always]);
    assert_eq!(decisions(&plan("<+", 30)), [Decision::Never]);
    // A block wider than the tape can never pass.
    assert_eq!(decisions(&plan(">>>>", 3)), [Decision::Never]);
    // A balanced loop keeps the exact range: its body needs no check.
    assert_eq!(
        decisions(&plan(">+[>+<-]", 30)),
        [Decision::Always, Decision::Always]
    );
}

#[test]
fn scans_and_unbalanced_loops_reset_the_range() {
    // After the scan the pointer may be anywhere: `>` needs its check.
    let p = plan("+[>]>+", 30);
    assert_eq!(
        decisions(&p).last(),
        Some(&Decision::Check { lo: 0, hi: 1 })
    );
    // The body of an unbalanced loop starts anywhere on the tape.
    let p = plan("+[>+]", 30);
    assert!(decisions(&p).contains(&Decision::Check { lo: 0, hi: 1 }));
    let start = p
        .nodes()
        .iter()
        .position(|n| n.op == Op::LoopStart)
        .unwrap();
    assert_eq!(p.entry_range(start), PtrRange { lo: 0, hi: 29 });
    assert_eq!(p.entry_range(0), PtrRange { lo: 0, hi: 0 });
}

/// `>>+<+[>]` as IR whose first node's span starts at command 0 (so the block's span takes in what
/// comes before `>>`), then the scan.
fn block_then_scan(program: &Program, first: u32) -> PlannedIr {
    let span = |start, end| Span { start, end };
    let nodes = vec![
        Node::new(Op::Move { by: 2 }, span(0, first + 2)),
        Node::new(
            Op::Add {
                offset: 0,
                delta: 1,
            },
            span(first + 2, first + 3),
        ),
        Node::new(Op::Move { by: -1 }, span(first + 3, first + 4)),
        Node::new(
            Op::Add {
                offset: 0,
                delta: 1,
            },
            span(first + 4, first + 5),
        ),
        Node::new(Op::Scan { stride: 1 }, span(first + 5, first + 8)),
    ];
    PlannedIr::new(program, guard(program, nodes), 30).unwrap()
}

#[test]
fn a_fallback_that_may_move_otherwise_resets_the_range() {
    // The block's span holds the (dead) loop `[<<+]`, which moves: when the block's guard fails, the
    // exact run could move otherwise than the block, so nothing is assumed after it.
    let program = Program::parse("[<<+]>>+<+[>]").unwrap();
    assert!(!fallback_moves_like_block(
        &program,
        Span { start: 0, end: 10 },
        1
    ));
    let planned = block_then_scan(&program, 5);
    assert_eq!(planned.entry_range(5), PtrRange { lo: 0, hi: 29 });
    // With a loop that ends where it started the move is trusted and the range stays exact.
    let program = Program::parse("[-]>>+<+[>]").unwrap();
    assert!(fallback_moves_like_block(
        &program,
        Span { start: 0, end: 8 },
        1
    ));
    let planned = block_then_scan(&program, 3);
    assert_eq!(planned.entry_range(5), PtrRange { lo: 1, hi: 1 });
}

#[test]
fn malformed_ir_is_refused() {
    let program = Program::parse("+>").unwrap();
    let add = |offset| Node::new(Op::Add { offset, delta: 1 }, Span::single(0));
    let guard_of = |lo, hi, len| Node::new(Op::Guard { lo, hi, len }, Span { start: 0, end: 2 });
    let cases = [
        (vec![add(0)], PlanError::Unguarded(0)),
        (vec![guard_of(0, 0, 2), add(0)], PlanError::GuardTooLong(0)),
        (
            vec![guard_of(0, 0, 1), add(5)],
            PlanError::GuardTooNarrow(0),
        ),
        (
            vec![guard_of(1, 2, 1), add(1)],
            PlanError::GuardTooNarrow(0),
        ),
        (
            vec![Node::new(Op::LoopEnd, Span::single(0))],
            PlanError::Unbalanced(0),
        ),
        (
            vec![Node::new(Op::LoopStart, Span::single(0))],
            PlanError::Unbalanced(usize::MAX),
        ),
    ];
    for (nodes, want) in cases {
        assert_eq!(PlannedIr::new(&program, nodes, 10).unwrap_err(), want);
    }
    assert_eq!(
        PlannedIr::new(&program, vec![], 0).unwrap_err(),
        PlanError::TapeLen(0)
    );
}

#[test]
fn range_checks_carry_out_the_decisions() {
    for tape_len in [1, 2, 30, crate::MAX_TAPE_LEN] {
        for ptr in [0, tape_len / 2, tape_len - 1] {
            for d in [
                Decision::Always,
                Decision::Never,
                Decision::Check { lo: -1, hi: 0 },
                Decision::Check { lo: 0, hi: 1 },
            ] {
                let (lo, hi) = d.as_range_check();
                let by_range = Decision::Check { lo, hi }.passes(ptr, tape_len);
                assert_eq!(
                    by_range,
                    d.passes(ptr, tape_len),
                    "{d:?} at {ptr}/{tape_len}"
                );
            }
        }
    }
}

/// Plain random BF: any command, brackets balanced, loops nested a few deep, with the shapes passes
/// fold (clears, multiply loops, scans) and moves that unbalance loops.
fn raw_program() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(vec![
        "+", "-", "<", ">", ".", ",", ">>>", "<<<", "[-]", "[->+<]", "[-<<+>>]", "[>]", "[<<]",
        "[<]",
    ])
    .prop_map(str::to_string);
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            3 => prop::collection::vec(inner.clone(), 1..8).prop_map(|v| v.concat()),
            1 => prop::collection::vec(inner, 0..6).prop_map(|v| format!("[{}]", v.concat())),
        ]
    })
}

/// Runs planned IR with an observer that checks, at every guard, loop boundary and scan reached, that
/// the pointer lies in the plan's range for that node and that the guard's decision is what a run-time
/// check of its block would say. Returns the outcome and the number of violations.
fn audited_run(
    program: &Program,
    planned: &PlannedIr,
    config: &Config,
    input: &[u8],
) -> (Outcome, Vec<String>) {
    let mut violations = Vec::new();
    let mut output = Vec::new();
    let tape_len = config.tape_len();
    let halt = evaluate_observed(
        program,
        planned,
        config,
        &mut &input[..],
        &mut output,
        &mut |i, ptr| {
            if !planned.entry_range(i).contains(ptr) {
                violations.push(format!(
                    "node {i}: pointer {ptr} outside {:?}",
                    planned.entry_range(i)
                ));
            }
            if let Op::Guard { lo, hi, .. } = planned.nodes()[i].op {
                let really = Decision::Check { lo, hi }.passes(ptr, tape_len);
                let decision = planned.decision(i);
                let wrong = match decision {
                    Decision::Always => !really,
                    Decision::Never => really,
                    Decision::Check { .. } => false,
                };
                if wrong {
                    violations.push(format!(
                        "guard {i}: {decision:?} but the check says {really} at {ptr}"
                    ));
                }
            }
        },
    );
    (Outcome::new(halt, output), violations)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// Soundness of the range analysis: on every run, every pointer the plan assumed is the pointer the
    /// run had, every `Always` block would have passed its check and every `Never` block failed it; and
    /// following the decisions gives the reference's outcome.
    #[test]
    fn plan_decisions_hold_on_every_run(
        src in raw_program(),
        tape_len in 1..40usize,
        optimized in any::<bool>(),
        input in prop::collection::vec(any::<u8>(), 0..4),
    ) {
        let program = Program::parse(src.as_str()).unwrap();
        let config = Config::new(tape_len, EofPolicy::Zero, Some(2_000)).unwrap();
        let nodes = if optimized { optimize_default(&program) } else { guard(&program, lower(&program)) };
        let planned = PlannedIr::new(&program, nodes, tape_len).unwrap();
        let (got, violations) = audited_run(&program, &planned, &config, &input);
        prop_assert!(violations.is_empty(), "{src} on {tape_len} cells: {violations:?}");
        let want = compile_and_run(&Reference, &program, &config, &input).unwrap();
        prop_assume!(want.status != crate::outcome::Status::OutOfFuel);
        prop_assert_eq!(compare(&want, &got), None, "{} on {} cells", src, tape_len);
    }
}

#[test]
fn the_entry_table_is_made_on_first_use_and_agrees_with_the_first_entry() {
    // Node 0 a guard, node 0 an unbalanced loop (the whole tape), node 0 a balanced loop.
    for src in [">+<[-]", "[>]+", "[->+<]>"] {
        let planned = plan(src, 30);
        // The bytecode and whole-program code ask for node 0 at most: no table is made.
        let first = planned.entry_range(0);
        assert!(planned.entries.get().is_none(), "{src}");
        // Asking for another node walks the analysis again; node 0 agrees with the kept entry.
        let end = planned.entry_range(planned.nodes().len());
        assert!(planned.entries.get().is_some(), "{src}");
        assert_eq!(PtrRange::from(planned.walk_entries()[0]), first, "{src}");
        assert_eq!(
            PtrRange::from(*planned.entries.get().unwrap().last().unwrap()),
            end,
            "{src}"
        );
    }
    assert_eq!(plan("[>]+", 30).entry_range(0), PtrRange { lo: 0, hi: 29 });
    assert_eq!(plan(">+<", 30).entry_range(0), PtrRange { lo: 0, hi: 0 });
}
