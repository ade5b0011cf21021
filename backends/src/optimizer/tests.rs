//! Property tests of the optimizer: every pass against the IR evaluator, the pipeline against the
//! reference interpreter, and the shapes that break optimizers over-weighted in the generators.
//!
//! The generators are shared with the `bytecode` backend's tests.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::*;
use crate::backend::compile_and_run;
use crate::config::{Config, EofPolicy};
use crate::ir::eval::evaluate;
use crate::outcome::{compare, Outcome, Status};
use crate::reference::Reference;

/// A run's fuel budget in the property tests: enough for most generated programs to finish.
pub(crate) const FUEL: u64 = 400;

/// A BF fragment that is one of the shapes optimizers get wrong.
fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (prop::sample::select(vec!['+', '-', '<', '>']), 1..5usize)
            .prop_map(|(c, n)| c.to_string().repeat(n)),
        1 => Just(".".to_string()),
        1 => Just(",".to_string()),
        3 => mul_loop(),
        2 => prop::sample::select(vec!["[-]", "[+]", "[--]", "[---]", "[++]", "[-]+++", "[[-]]"])
            .prop_map(str::to_string),
        2 => (1..8usize, any::<bool>()).prop_map(|(k, right)| {
            format!("[{}]", if right { ">" } else { "<" }.repeat(k))
        }),
        1 => prop::sample::select(vec!["<>", "><", "+-", ">>><<<", "<<<>>>"]).prop_map(str::to_string),
        2 => counting_nest(),
        2 => conditional(),
        1 => copy_through_temporary(),
        2 => offset_sets(),
    ]
}

/// A counting loop whose body sets a cell at an offset (`>[-]+++<`, restored every iteration) and
/// runs a multiply loop at another offset, the shape a loop solver must take at its own cells
/// (after `offsets` the set and the inner loop sit at non-zero offsets):
/// `+++[->[-]++<>>[->+<]<<]`.
fn offset_sets() -> impl Strategy<Value = String> {
    (
        1..5usize,
        -3i32..=3,
        -4i32..=4,
        -3i32..=3,
        -3i32..=3,
        1..3usize,
    )
        .prop_map(|(count, set_at, value, mul_at, mul_to, step)| {
            // Neither offset may be the counter's cell.
            let set_at = if set_at == 0 { 1 } else { set_at };
            let mul_at = if mul_at == 0 { -1 } else { mul_at };
            let mul_to = if mul_to == 0 || mul_to == -mul_at {
                1
            } else {
                mul_to
            };
            format!(
                "{}[{}{}[-]{}{}{}[-{}+{}]{}]",
                "+".repeat(count * step),
                "-".repeat(step),
                walk(set_at),
                walk_add(value),
                walk(-set_at),
                walk(mul_at),
                walk(mul_to),
                walk(-mul_to),
                walk(-mul_at),
            )
        })
}

/// A nest of counting loops, outermost first: each level sets a fresh cell to a count, steps it by
/// ±1…±5 (even steps included: those loops never end on odd counts) and adds to the next level's
/// cell; the innermost level adds to a result cell. `++[>+++[>++<---]<-]`.
fn counting_nest() -> impl Strategy<Value = String> {
    prop::collection::vec((0u8..8, -5i32..=5, -3i32..=3, any::<bool>()), 1..4).prop_map(|levels| {
        let mut open = String::new();
        let mut close = String::new();
        for (count, step, add, step_first) in levels {
            let step = if step == 0 { -1 } else { step };
            let step_str = walk_add(step);
            open.push_str(&"+".repeat(count as usize));
            open.push('[');
            if step_first {
                open.push_str(&step_str);
            }
            open.push('>');
            close.insert_str(0, &format!("<{}]", if step_first { "" } else { &step_str }));
            // The next level (or the result) gains `add` per iteration of this one.
            open.push_str(&walk_add(add));
        }
        format!("{open}{close}")
    })
}

/// `+` or `-` repeated: the BF for adding `n`.
fn walk_add(n: i32) -> String {
    let c = if n >= 0 { "+" } else { "-" };
    c.repeat(n.unsigned_abs() as usize)
}

/// A conditional as compilers emit it: a flag cell, `[` body `[-]` `]` (runs at most once), sometimes
/// with the flag known, sometimes read from input, sometimes without the clear (a real loop).
fn conditional() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["", "+", "++", ",", "[-]"]),
        prop::sample::select(vec![">+<", ">.<", ">>-<<.", ">[-]<", ">,<"]),
        prop::sample::select(vec!["[-]", "[-]", "-", "[+]"]),
    )
        .prop_map(|(flag, body, clear)| format!("{flag}[{body}{clear}]"))
}

/// A copy through a temporary: `[->+>+<<]>>[-<<+>>]<<`, sometimes with the temporary not clear.
fn copy_through_temporary() -> impl Strategy<Value = String> {
    (1..4usize, 1..4usize, any::<bool>()).prop_map(|(dst, tmp, dirty)| {
        let tmp = dst + tmp;
        let to = |n: usize| ">".repeat(n);
        let back = |n: usize| "<".repeat(n);
        format!(
            "{}[-{}+{}+{}]{}[-{}+{}]{}",
            if dirty {
                format!("{}+{}", to(tmp), back(tmp))
            } else {
                String::new()
            },
            to(dst),
            to(tmp - dst),
            back(tmp),
            to(tmp),
            back(tmp),
            to(tmp),
            back(tmp)
        )
    })
}

/// `[` loop-cell step, then adds at several offsets (negative ones included), back to the start, `]`;
/// sometimes the step is 2 (not a multiply loop) or the body does not come back (not balanced).
fn mul_loop() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["-", "+", "--", "++", "---"]),
        prop::collection::vec((-4i32..=4, -3i32..=3), 1..5),
        any::<bool>(),
        prop::sample::select(vec![0i32, 0, 0, 0, 1, -1]),
    )
        .prop_map(|(step, targets, step_last, imbalance)| {
            let mut s = String::from("[");
            if !step_last {
                s.push_str(step);
            }
            let mut pos = 0i32;
            for (offset, amount) in targets {
                s.push_str(&walk(offset - pos));
                pos = offset;
                let c = if amount >= 0 { "+" } else { "-" };
                s.push_str(&c.repeat(amount.unsigned_abs() as usize));
            }
            s.push_str(&walk(imbalance - pos));
            if step_last {
                s.push_str(step);
            }
            s.push(']');
            s
        })
}

fn walk(by: i32) -> String {
    let c = if by >= 0 { ">" } else { "<" };
    c.repeat(by.unsigned_abs() as usize)
}

/// A program: fragments, nested in loops up to a few levels deep.
pub(crate) fn program() -> impl Strategy<Value = String> {
    let fragments = leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            2 => prop::collection::vec(inner.clone(), 1..6).prop_map(|v| v.concat()),
            1 => prop::collection::vec(inner, 0..5).prop_map(|v| format!("+[{}]", v.concat())),
        ]
    });
    // Some programs first walk towards the right end of a small tape.
    (prop::collection::vec(fragments, 1..6), 0..10usize)
        .prop_map(|(v, lead)| format!("{}{}", ">".repeat(lead), v.concat()))
}

/// A configuration: mostly tiny tapes (so both ends are near), every EOF policy, a fuel budget.
pub(crate) fn config() -> impl Strategy<Value = Config> {
    (
        prop_oneof![3 => 1..16usize, 2 => 16..40usize, 1 => 40..300usize],
        prop::sample::select(EofPolicy::ALL.to_vec()),
    )
        .prop_map(|(tape_len, eof)| Config::new(tape_len, eof, Some(FUEL)).unwrap())
}

/// Input for a run: often empty or short, so `,` meets EOF.
pub(crate) fn input() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..3)
}

fn eval(program: &Program, nodes: &[Node], config: &Config, input: &[u8]) -> Outcome {
    let mut output = Vec::new();
    let halt = evaluate(program, nodes, config, &mut &input[..], &mut output)
        .expect("passes leave guarded IR the plan accepts");
    Outcome::new(halt, output)
}

/// The soundness helper: `transform` (on unguarded IR) must not change what the lowered program does.
/// Both are run guarded on the IR evaluator; an original that runs out of fuel discards the case; the
/// transformed one gets the same budget and must use no more of it.
pub(crate) fn check_sound(
    src: &str,
    transform: impl Fn(Vec<Node>) -> Vec<Node>,
    config: &Config,
    input: &[u8],
) -> Result<(), TestCaseError> {
    let program = Program::parse(src).expect("generated programs parse");
    let original = guard(&program, lower(&program));
    let transformed = guard(&program, transform(lower(&program)));
    let before = eval(&program, &original, config, input);
    prop_assume!(before.status != Status::OutOfFuel);
    let after = eval(&program, &transformed, config, input);
    if let Some(difference) = compare(&before, &after) {
        return Err(TestCaseError::fail(format!(
            "{difference}\nprogram: {src}\nconfig: {config:?}\ninput: {input:?}\nIR:\n{}",
            crate::ir::dump(&program, &transformed)
        )));
    }
    prop_assert!(
        after.fuel_used <= before.fuel_used,
        "transformed used more fuel: {} > {}",
        after.fuel_used,
        before.fuel_used
    );
    Ok(())
}

fn folded_then(pass: Pass) -> impl Fn(Vec<Node>) -> Vec<Node> {
    move |nodes| pass.run(fold_runs(nodes))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, max_global_rejects: 100_000, ..ProptestConfig::default() })]

    #[test]
    fn fold_runs_is_sound(src in program(), config in config(), input in input()) {
        check_sound(&src, fold_runs, &config, &input)?;
    }

    #[test]
    fn clear_is_sound(src in program(), config in config(), input in input()) {
        check_sound(&src, folded_then(Pass::Clear), &config, &input)?;
    }

    #[test]
    fn mul_is_sound(src in program(), config in config(), input in input()) {
        check_sound(&src, folded_then(Pass::Mul), &config, &input)?;
    }

    #[test]
    fn scan_is_sound(src in program(), config in config(), input in input()) {
        check_sound(&src, folded_then(Pass::Scan), &config, &input)?;
    }

    #[test]
    fn offsets_is_sound(src in program(), config in config(), input in input()) {
        check_sound(&src, folded_then(Pass::Offsets), &config, &input)?;
    }

    #[test]
    fn known_is_sound(src in program(), config in config(), input in input()) {
        check_sound(&src, propagate, &config, &input)?;
        check_sound(&src, |n| propagate(offsets(mul(clear(fold_runs(n))))), &config, &input)?;
    }

    #[test]
    fn evaluate_is_sound(src in program(), config in config(), input in input()) {
        check_sound(&src, folded_then(Pass::Evaluate), &config, &input)?;
        check_sound(&src, |n| Pass::Evaluate.run(propagate(offsets(mul(clear(fold_runs(n)))))), &config, &input)?;
    }

    #[test]
    fn dead_code_is_sound(src in program(), config in config(), input in input()) {
        check_sound(&src, dead_code, &config, &input)?;
        check_sound(&src, |n| dead_code(mul(clear(fold_runs(n)))), &config, &input)?;
    }

    #[test]
    fn any_pass_order_is_sound(
        src in program(),
        order in prop::collection::vec(prop::sample::select(Pass::ALL.to_vec()), 1..10),
        config in config(),
        input in input(),
    ) {
        check_sound(&src, |mut n| { for p in &order { n = p.run(n); } n }, &config, &input)?;
    }

    #[test]
    fn pipeline_agrees_with_reference(src in program(), config in config(), input in input()) {
        let program = Program::parse(src.as_str()).unwrap();
        let expected = compile_and_run(&Reference, &program, &config, &input).unwrap();
        prop_assume!(expected.status != Status::OutOfFuel);
        let nodes = optimize_default(&program);
        let got = eval(&program, &nodes, &config, &input);
        prop_assert!(compare(&expected, &got).is_none(),
            "{:?}\nprogram: {src}\nIR:\n{}", compare(&expected, &got), crate::ir::dump(&program, &nodes));
        prop_assert!(got.fuel_used <= expected.fuel_used);
    }

    #[test]
    fn pipeline_is_idempotent(src in program()) {
        let program = Program::parse(src.as_str()).unwrap();
        let all = PassList::preset(2);
        let once = run_passes(lower(&program), &all);
        let twice = run_passes(once.clone(), &all);
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn passes_never_make_ir_longer(src in program()) {
        let program = Program::parse(src.as_str()).unwrap();
        let lowered = lower(&program);
        for pass in Pass::ALL {
            let once = pass.run(lowered.clone());
            prop_assert!(once.len() <= lowered.len(), "{pass} made {src} longer");
            let folded = fold_runs(lowered.clone());
            prop_assert!(pass.run(folded.clone()).len() <= folded.len(), "{pass} made {src} longer");
        }
        prop_assert!(run_passes(lowered.clone(), &PassList::preset(2)).len() <= lowered.len());
    }
}

fn outcome_of(src: &str, nodes: &[Node], config: &Config, input: &[u8]) -> (Outcome, Outcome) {
    let program = Program::parse(src).unwrap();
    let expected = compile_and_run(&Reference, &program, config, input).unwrap();
    (expected, eval(&program, nodes, config, input))
}

fn optimized(src: &str) -> Vec<Node> {
    optimize_default(&Program::parse(src).unwrap())
}

#[test]
fn a_loop_counted_down_by_an_inner_multiply_from_a_restored_cell_folds() {
    // Each pass sets cell 1 to 1 and moves it into cell 0 negated: cell 0 steps by -1, an odd
    // step, so the loop is affine although no add steps its cell.
    let nodes = optimized(",[>[-]+[-<->]<]>.");
    assert!(!nodes.iter().any(|n| n.op == Op::LoopStart), "{nodes:?}");
}

#[test]
fn double_step_loop_is_not_a_clear_end_to_end() {
    // Regression: `[--]` on an odd cell loops forever (here: runs out of fuel), never clears.
    let src = "+[--]";
    let config = Config::default().with_fuel(Some(1000));
    let (expected, got) = outcome_of(src, &optimized(src), &config, b"");
    assert_eq!(expected.status, Status::OutOfFuel);
    assert_eq!(got.status, Status::OutOfFuel);
}

#[test]
fn multiply_loop_with_zero_cell_at_the_right_edge_does_not_fault() {
    // Regression: on a 2-cell tape the pointer stands on the last cell, holding 0; `[->+<]` would
    // reach cell 2, but the loop is skipped, so the reference ends fine. (`,` reads EOF as 0; it keeps
    // the known-value analysis from removing the multiply.)
    let src = ">,[->+<]";
    let config = Config::new(2, EofPolicy::Zero, None).unwrap();
    let ir = optimized(src);
    assert!(
        ir.iter().any(|n| matches!(n.op, Op::MulLoop { .. })),
        "{ir:?}"
    );
    let (expected, got) = outcome_of(src, &ir, &config, b"");
    assert_eq!(expected.status, Status::Ok);
    assert!(compare(&expected, &got).is_none(), "{got:?}");
}

#[test]
fn multiply_loop_with_nonzero_cell_at_the_left_edge_faults_exactly() {
    let src = "+[-<+>]";
    let config = Config::new(4, EofPolicy::Zero, None).unwrap();
    let (expected, got) = outcome_of(src, &optimized(src), &config, b"");
    assert!(matches!(expected.status, Status::PointerOutOfBounds { .. }));
    assert!(compare(&expected, &got).is_none(), "{got:?}");
}

#[test]
fn input_at_eof_follows_every_policy() {
    let src = ",[-]+,.>,.";
    for eof in EofPolicy::ALL {
        let config = Config::new(8, eof, None).unwrap();
        let (expected, got) = outcome_of(src, &optimized(src), &config, b"");
        assert!(compare(&expected, &got).is_none(), "{eof}: {got:?}");
        assert_eq!(got.output.len(), 2);
    }
}

#[test]
fn scan_off_the_tape_names_the_move() {
    let src = "+>+>+[>]";
    let config = Config::new(3, EofPolicy::Zero, None).unwrap();
    let ir = optimized(src);
    assert!(ir.iter().any(|n| matches!(n.op, Op::Scan { stride: 1 })));
    let (expected, got) = outcome_of(src, &ir, &config, b"");
    assert!(matches!(expected.status, Status::PointerOutOfBounds { .. }));
    assert!(compare(&expected, &got).is_none(), "{got:?}");
}

#[test]
fn exact_ir_for_a_typical_program() {
    // Set cell 0 to 8, multiply into cell 1, print it: every value is known, one set is left.
    let ir = run_passes(
        lower(&Program::parse("++++++++[>++++++++<-]>+.").unwrap()),
        &PassList::preset(2),
    );
    let ops: Vec<Op> = ir.into_iter().map(|n| n.op).collect();
    assert_eq!(
        ops,
        vec![
            Op::Set {
                offset: 1,
                value: 65
            },
            Op::Output { offset: 1 },
            Op::Move { by: 1 },
        ]
    );
    // With cell 0 read from input, the multiply stays.
    let ir = run_passes(
        lower(&Program::parse(",[>++++++++<-]>+.").unwrap()),
        &PassList::preset(2),
    );
    let ops: Vec<Op> = ir.into_iter().map(|n| n.op).collect();
    assert_eq!(
        ops,
        vec![
            Op::Input { offset: 0 },
            Op::MulLoop {
                offset: 0,
                targets: vec![crate::ir::MulTarget {
                    offset: 1,
                    factor: 8
                }]
                .into()
            },
            Op::Add {
                offset: 1,
                delta: 1
            },
            Op::Output { offset: 1 },
            Op::Move { by: 1 },
        ]
    );
}

#[test]
fn pass_lists_parse_and_name_the_allowed_passes() {
    assert_eq!(
        PassList::parse("fold-runs, offsets").unwrap().passes(),
        &[Pass::FoldRuns, Pass::Offsets]
    );
    let err = PassList::parse("fold-runs,bogus").unwrap_err();
    assert_eq!(err.name, "bogus");
    assert!(err
        .to_string()
        .contains("fold-runs, clear, mul, scan, offsets, known, evaluate, dead-code"));
    assert!(PassList::preset(0).is_empty());
    assert!(!PassList::preset(1).is_empty());
    assert_eq!(PassList::preset(1).passes(), &[Pass::FoldRuns]);
    assert_eq!(PassList::preset(2).passes(), &Pass::ALL);
    assert_eq!(PassList::only(&["scan"]).passes(), &[Pass::Scan]);
}

#[test]
fn million_nested_loops_optimize_without_recursion() {
    let n = 1_000_000;
    let src = format!("+{}-{}", "[".repeat(n), "]".repeat(n));
    let program = Program::parse(src).unwrap();
    let ir = optimize_default(&program);
    // The innermost `[-]` is a clear, which makes its parent `[[-]]` a clear, and so on outwards.
    assert_eq!(
        ir.iter()
            .filter(|n| !matches!(n.op, Op::Guard { .. }))
            .count(),
        1
    );
}

#[test]
fn trace_records_each_change() {
    let program = Program::parse("+++[-]>>").unwrap();
    let stages = trace(&program, &PassList::preset(2));
    assert_eq!(stages[0].label, "parsed");
    assert!(stages.iter().any(|s| s.label == "round 1: fold-runs"));
    assert!(stages.iter().any(|s| s.label == "round 1: clear"));
    assert_eq!(
        stages.last().unwrap().nodes,
        run_passes(lower(&program), &PassList::preset(2))
    );
}

#[test]
fn removing_a_dead_loop_that_moves_keeps_guards_exact() {
    // Regression: `[>]` is dead (cell 0 is 0), then `<` leaves the tape at cell 0. Removing the loop
    // joins the blocks `.` and `<>`; a guard that walked `[>]` with brackets as no-ops would think the
    // `<` starts from cell 1 (source_reach now restores the pointer at each `]`).
    for src in [".[>]<>", ">[>][-><]<<>", "+[-]>[>]<<"] {
        let config = Config::new(4, EofPolicy::Zero, None).unwrap();
        let ir = run_passes(
            lower(&Program::parse(src).unwrap()),
            &PassList::only(&["dead-code"]),
        );
        let program = Program::parse(src).unwrap();
        let (expected, got) = outcome_of(src, &guard(&program, ir), &config, b"");
        assert!(
            matches!(expected.status, Status::PointerOutOfBounds { .. }),
            "{src}"
        );
        assert!(compare(&expected, &got).is_none(), "{src}: {got:?}");
        let (expected, got) = outcome_of(src, &optimized(src), &config, b"");
        assert!(compare(&expected, &got).is_none(), "{src}: {got:?}");
    }
}

/// The facts of every node of `nodes`, to compare two analyses.
fn all_facts(known: &known::KnownValues, nodes: &[Node]) -> Vec<Vec<(i32, u8)>> {
    (0..nodes.len())
        .map(|i| known.facts_of(i).to_vec())
        .collect()
}

#[test]
fn facts_cache_skips_optimistic_walks_once_they_failed_and_checks_the_final_ir() {
    // `nested.bf`'s optimistic walks fail (the pessimistic walk is its analysis), `counting.bf`'s hold.
    let failing = fold_runs(lower(
        &Program::parse(include_str!("../../../corpus/bench/nested.bf")).unwrap(),
    ));
    let holding = fold_runs(lower(
        &Program::parse(include_str!("../../../corpus/bench/counting.bf")).unwrap(),
    ));
    assert!(!known::KnownValues::optimistic_holds(&failing));
    assert!(known::KnownValues::optimistic_holds(&holding));

    let mut cache = FactsCache::default();
    let full = all_facts(&known::KnownValues::analyze(&holding), &holding);
    assert_eq!(all_facts(cache.get(&holding), &holding), full);
    assert!(cache.optimistic && cache.is_full(&holding));

    let full = all_facts(&known::KnownValues::analyze(&failing), &failing);
    assert_eq!(all_facts(cache.get(&failing), &failing), full);
    assert!(
        !cache.optimistic,
        "a failed analysis turns the optimistic walks off"
    );

    // Later analyses take the pessimistic walk at once: on IR whose optimistic walks would hold,
    // that is less than the full analysis, and `is_full` says so and turns them back on.
    let pessimistic = all_facts(
        &known::KnownValues::analyze_with(&holding, false).0,
        &holding,
    );
    assert_eq!(all_facts(cache.get(&holding), &holding), pessimistic);
    assert_ne!(
        pessimistic,
        all_facts(&known::KnownValues::analyze(&holding), &holding)
    );
    assert!(!cache.is_full(&holding));
    assert!(cache.optimistic);
    let full = all_facts(&known::KnownValues::analyze(&holding), &holding);
    assert_eq!(all_facts(cache.get(&holding), &holding), full);

    // On IR whose optimistic walks fail, the pessimistic walk is the full analysis.
    let mut cache = FactsCache::default();
    cache.get(&failing);
    let other = clear(failing.clone());
    cache.get(&other);
    assert!(cache.is_full(&other));
    assert!(!cache.optimistic);
}

/// The analysis key is exact: IRs of one or two nodes, with offsets on both sides of the one-word
/// range, all encode differently, and each matches only its own encoding.
#[test]
fn the_analysis_key_tells_every_ir_apart() {
    use crate::ir::{MulTarget, Span};
    let offsets = [
        0,
        1,
        -1,
        (1 << 19) - 1,
        1 << 19,
        -(1 << 19),
        -(1 << 19) - 1,
        i32::MAX,
        i32::MIN,
    ];
    let mut ops = vec![Op::LoopStart, Op::LoopEnd];
    for &o in &offsets {
        ops.extend([
            Op::Add {
                offset: o,
                delta: 1,
            },
            Op::Add {
                offset: o,
                delta: 255,
            },
            Op::Move { by: o },
            Op::Set {
                offset: o,
                value: 0,
            },
            Op::Output { offset: o },
            Op::Input { offset: o },
            Op::Scan { stride: o },
            Op::Guard {
                lo: o,
                hi: 7,
                len: 2,
            },
            Op::Guard {
                lo: -3,
                hi: o,
                len: 1,
            },
            Op::MulLoop {
                offset: o,
                targets: vec![MulTarget {
                    offset: 1,
                    factor: 3,
                }]
                .into(),
            },
            Op::MulLoop {
                offset: 0,
                targets: vec![MulTarget {
                    offset: o,
                    factor: 255,
                }]
                .into(),
            },
        ]);
    }
    let node = |op: &Op| Node::new(op.clone(), Span::single(0));
    let mut irs: Vec<Vec<Node>> = ops.iter().map(|op| vec![node(op)]).collect();
    for (i, a) in ops.iter().enumerate().step_by(3) {
        for b in ops.iter().skip(i % 5).step_by(4) {
            irs.push(vec![node(a), node(b)]);
        }
    }
    let keys: Vec<Vec<u32>> = irs
        .iter()
        .map(|ir| {
            let mut key = Vec::new();
            encode(ir, &mut key);
            key
        })
        .collect();
    for (i, (ir, key)) in irs.iter().zip(&keys).enumerate() {
        assert!(encodes_to(ir, key));
        for (other, other_key) in irs.iter().zip(&keys).skip(i + 1) {
            let same = ir.iter().map(|n| &n.op).eq(other.iter().map(|n| &n.op));
            assert_eq!(key == other_key, same, "{ir:?} / {other:?}");
            assert_eq!(encodes_to(other, key), same, "{ir:?} / {other:?}");
        }
    }
}
