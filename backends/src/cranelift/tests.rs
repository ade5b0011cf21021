//! Tests of the `cranelift` backend: edge cases, agreement with the reference and with the IR evaluator
//! (fuel included), function splitting, the verifier and the CLIF dump.
//!
//! Every compilation here runs the CLIF verifier on every generated function.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::*;
use crate::backend::{compile_and_run, run_collect};
use crate::config::EofPolicy;
use crate::ir::eval::evaluate;
use crate::optimizer::optimize_default;
use crate::optimizer::tests as gen;
use crate::outcome::{compare, Outcome, Side, Status};
use crate::reference::Reference;

fn options(budget: usize) -> Options {
    split_options(budget, DEFAULT_DEPTH)
}

fn split_options(budget: usize, depth: usize) -> Options {
    Options {
        verify: true,
        dump: false,
        listing: false,
        budget,
        depth,
    }
}

fn compile_split(src: &str, config: &Config, options: &Options) -> Compiled {
    let program = Program::parse(src).expect("test programs parse");
    let nodes = optimize_default(&program);
    compile_nodes(&program, nodes.clone(), config, options).expect("compiles")
}

fn compile_with(src: &str, config: &Config, budget: usize) -> Compiled {
    compile_split(src, config, &options(budget))
}

fn run_with(src: &str, config: &Config, input: &[u8], budget: usize) -> Outcome {
    run_collect(&compile_with(src, config, budget), input)
}

fn run(src: &str, config: &Config, input: &[u8]) -> Outcome {
    run_with(src, config, input, DEFAULT_BUDGET)
}

fn reference(src: &str, config: &Config, input: &[u8]) -> Outcome {
    let program = Program::parse(src).expect("test programs parse");
    compile_and_run(&Reference, &program, config, input).expect("the reference compiles anything")
}

fn evaluator(src: &str, config: &Config, input: &[u8]) -> Outcome {
    let program = Program::parse(src).expect("test programs parse");
    let nodes = optimize_default(&program);
    let mut output = Vec::new();
    let halt = evaluate(&program, &nodes, config, &mut &input[..], &mut output).unwrap();
    Outcome::new(halt, output)
}

/// Requires agreement with the reference; returns the cranelift outcome for further checks.
fn assert_agrees(src: &str, config: &Config, input: &[u8]) -> Outcome {
    let expected = reference(src, config, input);
    let got = run(src, config, input);
    if let Some(difference) = compare(&expected, &got) {
        panic!("{difference}\nprogram: {src}\nconfig: {config:?}");
    }
    got
}

fn tape(len: usize) -> Config {
    Config::new(len, EofPolicy::Unchanged, None).unwrap()
}

#[test]
fn hello_prints_and_leaves_the_tape_like_the_reference() {
    let o = assert_agrees("++++++++[>++++++++<-]>+.+.", &Config::default(), b"");
    assert_eq!(o.output, b"AB");
    assert_eq!(o.status, Status::Ok);
}

#[test]
fn cells_wrap_both_ways_and_multiply_wraps() {
    assert_agrees(
        "-.+.+++++[->+++++++++++++++++++++++++++++++++++++++++++++++++++++++++<]>.",
        &Config::default(),
        b"",
    );
    // 255 * 255 wraps to 1; factor 255 stands for -1.
    assert_agrees("-[->-<]>.", &Config::default(), b"");
}

#[test]
fn leaving_the_tape_names_the_command_and_keeps_output() {
    for src in ["+.<", "+.>>><<<<<", "+.\n>>+[<<<<]", ">+[<<+]"] {
        let o = assert_agrees(src, &tape(3), b"");
        assert!(
            matches!(o.status, Status::PointerOutOfBounds { .. }),
            "{src}"
        );
    }
    let o = assert_agrees("+.>>>", &tape(3), b"");
    assert!(matches!(
        o.status,
        Status::PointerOutOfBounds {
            side: Side::Right,
            ..
        }
    ));
}

#[test]
fn a_block_wider_than_the_tape_runs_exactly() {
    // The guard can never pass on a 2-cell tape; the fallback must still finish the program.
    let o = assert_agrees(">+<+>>", &tape(2), b"");
    assert!(matches!(o.status, Status::PointerOutOfBounds { .. }));
    assert_agrees("+>+<", &tape(2), b"");
    assert_agrees("+", &tape(1), b"");
}

#[test]
fn a_block_that_never_fits_is_run_exactly_and_not_compiled() {
    // On a 4-cell tape this block reaches 8 cells right: the plan decides `Never`, so only the exact
    // fallback is emitted (no inline output code), and the run still matches the reference: the two
    // outputs before the error, the error at the fifth `>`, in a loop and at the top level.
    let src = "+.+.>>>>>>>>.";
    let o = assert_agrees(src, &tape(4), b"");
    assert_eq!(o.output, [1, 2]);
    assert!(matches!(o.status, Status::PointerOutOfBounds { .. }));
    let text = clif_text(&Program::parse(src).unwrap(), &tape(4)).unwrap();
    assert!(
        !text.contains("4096"),
        "the block's output was lowered:\n{text}"
    );
    assert_agrees("+[.>>>>>>>>.<<<<<<<<-]", &tape(4), b"");
    assert_agrees("+[.>>>>>>>>.<<<<<<<<-]", &tape(8), b"");
    assert_agrees("+[.>>>>>>>>.<<<<<<<<-]", &tape(9), b"");
    // Junk that leaves the tape at once: one long block, never compiled.
    let junk = format!("<{}", "+.,-".repeat(5_000));
    let o = assert_agrees(&junk, &Config::default(), b"xyz");
    assert!(matches!(o.status, Status::PointerOutOfBounds { .. }));
}

#[test]
fn loops_whose_block_ends_with_a_zero_cell_run_once_on_both_paths() {
    // `[...[-]]`-shaped loops: the fast path of the last block knows the cell is 0 and leaves the
    // loop without a test; the fallback (near the tape's ends) tests the cell it left in memory.
    for src in [
        "+++[>+<[-]]>.",
        ">>+[<+>>+<[-]]<.",
        "+[>>+<<[-]]",
        "+[<+>[-]]",
        "++>+[[-]>+<]>.",
        "+[->+>+<<[-]+[-]]>>.",
    ] {
        for len in [1, 2, 3, 4, 30_000] {
            assert_agrees(src, &tape(len), b"");
            // Fuel is charged like the IR evaluator charges it, with every split point used.
            let fueled = tape(len).with_fuel(Some(3));
            let o = run_with(src, &fueled, b"", 1);
            let expected = evaluator(src, &fueled, b"");
            assert!(compare(&expected, &o).is_none(), "{src} on {len} cells");
        }
    }
}

#[test]
fn code_memory_is_reserved_within_direct_call_reach() {
    assert_eq!(code_reservation(0, "x64"), 1 << 20);
    assert_eq!(code_reservation(1_000, "aarch64"), (1 << 20) + 256_000);
    assert_eq!(code_reservation(usize::MAX, "x64"), 1 << 30);
    assert_eq!(code_reservation(10_000_000, "aarch64"), 120 << 20);
}

#[test]
fn scans_stop_at_both_ends() {
    // Right: every cell non-zero, the scan walks off the end.
    let o = assert_agrees("+>+>+>+<<<[>]", &tape(4), b"");
    assert!(matches!(
        o.status,
        Status::PointerOutOfBounds {
            side: Side::Right,
            ..
        }
    ));
    let o = assert_agrees(">>>+<+<+<+>>>[<]", &tape(4), b"");
    assert!(matches!(
        o.status,
        Status::PointerOutOfBounds {
            side: Side::Left,
            ..
        }
    ));
    // Strides that overshoot, and a scan that finds its zero.
    assert_agrees("+>+>+>+<<<[>>>]", &tape(5), b"");
    assert_agrees("+>+>+>+<<<[>>]", &tape(30), b"");
    assert_agrees(">>>>+<<[<<]", &tape(5), b"");
}

/// The unrolled scan (four cells per bounds check) against the reference: every start, every place of
/// the single zero cell (or none), on tapes around multiples of the stride, so the zero falls on each
/// unrolled step, before and after the unrolled path ends, and scans walk off either end.
#[test]
fn unrolled_scans_agree_at_every_start_and_zero_position() {
    for len in [1usize, 4, 8, 9, 13, 17] {
        for stride in [1usize, 2, 3, 4] {
            for right in [true, false] {
                let step = if right { ">" } else { "<" }.repeat(stride);
                for start in 0..len {
                    for zero in (0..len).map(Some).chain([None]) {
                        let mut src = String::new();
                        for i in 0..len {
                            if Some(i) != zero {
                                src.push('+');
                            }
                            if i + 1 < len {
                                src.push('>');
                            }
                        }
                        src.push_str(&"<".repeat(len - 1 - start));
                        src.push_str(&format!("[{step}]+."));
                        assert_agrees(&src, &tape(len), b"");
                    }
                }
            }
        }
    }
}

#[test]
fn multiply_loops_at_the_tape_ends() {
    // Cell zero: nothing happens, even though a target is off the tape.
    assert_agrees("[->+<]", &tape(1), b"");
    assert_agrees(">[-<+>]", &tape(2), b"");
    // Cell non-zero: the target is off the tape, which is an error at the right command.
    let o = assert_agrees("+[->+<]", &tape(1), b"");
    assert!(matches!(o.status, Status::PointerOutOfBounds { .. }));
    assert_agrees("+++[->++>+++<<]>.>.", &tape(3), b"");
}

#[test]
fn every_eof_policy_matches() {
    for eof in EofPolicy::ALL {
        let config = Config::new(8, eof, None).unwrap();
        for input in [&b""[..], b"a", b"xyz"] {
            let o = assert_agrees("+++++,.,.>,.", &config, input);
            assert_eq!(o.status, Status::Ok);
        }
    }
}

#[test]
fn fuel_is_charged_like_the_evaluator_and_never_more_than_the_reference() {
    let src = "+++[>++[>+<-]<-]>>.+[-]-[>+<-]";
    let unlimited = reference(src, &Config::default().with_fuel(Some(1 << 20)), b"");
    for budget in 0..=unlimited.fuel_used + 1 {
        let config = Config::default().with_fuel(Some(budget));
        let expected = evaluator(src, &config, b"");
        let got = run(src, &config, b"");
        assert_eq!(compare(&expected, &got), None, "budget {budget}");
        assert_eq!(got.fuel_used, expected.fuel_used, "budget {budget}");
        assert!(got.fuel_used <= unlimited.fuel_used);
    }
    let o = run("+[]", &Config::default().with_fuel(Some(1000)), b"");
    assert_eq!(o.status, Status::OutOfFuel);
    assert_eq!(o.fuel_used, 1000);
}

#[test]
fn output_failures_stop_the_run_with_an_io_status() {
    struct Broken;
    impl std::io::Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("sink is broken"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::Error::other("sink is broken"))
        }
    }
    let compiled = compile_with("+[.]", &Config::default(), DEFAULT_BUDGET);
    let halt = compiled.run(&mut &b""[..], &mut Broken);
    assert!(matches!(halt.status, Status::Io(_)), "{:?}", halt.status);
}

#[test]
fn hundred_thousand_nested_loops_compile_and_run() {
    let src = workload::nested(100_000);
    let o = assert_agrees(&src, &Config::default(), b"");
    assert_eq!(o.tape[0], 0);
}

#[test]
fn a_million_nested_loops_compile_and_run() {
    let src = workload::nested(1_000_000);
    let program = Program::parse(src.as_str()).unwrap();
    let o = compile_and_run(&Cranelift, &program, &Config::default(), b"").unwrap();
    assert_eq!(o.status, Status::Ok);
    assert_eq!(o.tape[0], 0);
}

#[test]
fn large_programs_split_into_functions_and_agree() {
    // The optimizer knows most values of the synthetic program (its loops run once on known
    // counters) and folds it to a few hundred nodes, so the split is forced with a smaller budget.
    let src = workload::synthetic(10_000, 3);
    let compiled = compile_with(&src, &Config::default(), DEFAULT_BUDGET / 10);
    assert!(
        compiled.keep().functions > 1,
        "{} functions",
        compiled.keep().functions
    );
    let expected = reference(&src, &Config::default(), b"");
    assert_eq!(expected.status, Status::Ok);
    assert_eq!(compare(&expected, &run_collect(&compiled, b"")), None);
}

#[test]
fn tiny_budgets_split_everywhere_and_change_nothing() {
    let srcs = [
        "++++++++[>++++++++<-]>+.+.",
        "+.>+.>+.>+.>+.>+.<<<<<[.>]",
        "+[>+[>+[>+.<-]<-]<-]>>>.",
        "++>+++[-<+>]<.,.>>>>>>>>>>>",
        &workload::synthetic(400, 9),
    ];
    for src in srcs {
        for config in [tape(12), Config::default().with_fuel(Some(50))] {
            let expected = run(src, &config, b"q");
            for budget in 1..6 {
                let got = run_with(src, &config, b"q", budget);
                assert_eq!(compare(&expected, &got), None, "{src} budget {budget}");
                assert_eq!(got.fuel_used, expected.fuel_used);
            }
        }
    }
}

/// `'+' + '[>+' * depth + '.' + '<-]' * depth`: nested loops with a guarded block on both sides of
/// each inner loop; every body runs once.
fn deep_nest(depth: usize) -> String {
    format!("+{}.{}", "[>+".repeat(depth), "<-]".repeat(depth))
}

#[test]
fn twenty_thousand_nested_loops_with_blocks_split_by_depth_and_agree() {
    let src = deep_nest(20_000);
    let config = Config::default();
    let compiled = compile_split(&src, &config, &options(DEFAULT_BUDGET));
    // Every function nests at most `DEFAULT_DEPTH` loops, so there are at least this many functions.
    assert!(
        compiled.keep().functions >= 20_000 / DEFAULT_DEPTH,
        "{} functions",
        compiled.keep().functions
    );
    let expected = reference(&src, &config, b"");
    assert_eq!(expected.status, Status::Ok);
    assert_eq!(compare(&expected, &run_collect(&compiled, b"")), None);
}

#[test]
fn small_depth_bounds_split_at_loops_and_change_nothing() {
    let srcs = [
        deep_nest(9),
        "+[>+[>+[>+.<-]<-]<-]>>>.".to_string(),
        "++[>++[>+[-]>[>]<<[->+<]<-]+[>+<-]<-]>.,[.,]".to_string(),
        workload::synthetic(400, 5),
    ];
    for src in &srcs {
        for config in [tape(12), Config::default().with_fuel(Some(40))] {
            let expected = reference(src, &config, b"qr");
            for depth in 1..5 {
                for budget in [3, DEFAULT_BUDGET] {
                    let got = run_collect(
                        &compile_split(src, &config, &split_options(budget, depth)),
                        b"qr",
                    );
                    if expected.status != Status::OutOfFuel {
                        assert_eq!(compare(&expected, &got), None, "{src} depth {depth}");
                    }
                    assert!(got.fuel_used <= expected.fuel_used, "{src} depth {depth}");
                    let unsplit = run(src, &config, b"qr");
                    assert_eq!(compare(&unsplit, &got), None, "{src} depth {depth}");
                    assert_eq!(got.fuel_used, unsplit.fuel_used, "{src} depth {depth}");
                }
            }
        }
    }
    // A depth bound of 1 puts every nested loop in a function of its own. (Each level reads its
    // counter: in `deep_nest` every loop runs once on known values and the optimizer inlines it.)
    let nine_loops = format!(",{}.{}", "[>,".repeat(9), "<[-]]".repeat(9));
    let nine = compile_split(
        &nine_loops,
        &Config::default(),
        &split_options(DEFAULT_BUDGET, 1),
    );
    assert!(
        nine.keep().functions >= 9,
        "{} functions",
        nine.keep().functions
    );
}

#[test]
fn clif_dump_shows_every_function_and_verifies() {
    let program = Program::parse("+[>,.<-]>[>]").unwrap();
    let text = clif_text(&program, &Config::default().with_fuel(Some(9))).unwrap();
    assert!(text.contains("function u0:"), "{text}");
    assert!(text.contains("call fn"), "{text}");
    assert!(text.contains("return"), "{text}");
}

#[test]
fn malformed_ir_is_a_compile_error_not_unchecked_code() {
    use crate::ir::{Node, Op, Span};
    let program = Program::parse("+>").unwrap();
    let config = Config::default();
    // A block node with no guard before it.
    let unguarded = vec![Node::new(
        Op::Add {
            offset: 0,
            delta: 1,
        },
        Span::single(0),
    )];
    // A guard that does not cover the offsets its block reaches.
    let too_narrow = vec![
        Node::new(
            Op::Guard {
                lo: 0,
                hi: 0,
                len: 1,
            },
            Span { start: 0, end: 2 },
        ),
        Node::new(
            Op::Add {
                offset: 5,
                delta: 1,
            },
            Span::single(0),
        ),
    ];
    for nodes in [unguarded, too_narrow] {
        let result = compile_nodes(&program, nodes.clone(), &config, &options(DEFAULT_BUDGET));
        assert!(matches!(result, Err(CompileError::Plan(_))), "{nodes:?}");
    }
}

/// Checks agreement with the reference (cases where the reference runs out of fuel are discarded: an
/// optimized backend may legitimately finish them) and that no more fuel is used.
fn check_against_reference(
    src: &str,
    config: &Config,
    input: &[u8],
    options: Options,
) -> Result<(), TestCaseError> {
    let expected = reference(src, config, input);
    prop_assume!(expected.status != Status::OutOfFuel);
    let got = run_collect(&compile_split(src, config, &options), input);
    if let Some(difference) = compare(&expected, &got) {
        return Err(TestCaseError::fail(format!(
            "{difference}\nprogram: {src}\nconfig: {config:?}\ninput: {input:?}\noptions: {options:?}"
        )));
    }
    prop_assert!(got.fuel_used <= expected.fuel_used);
    Ok(())
}

/// Plain random BF: any command, brackets balanced, loops nested a few deep.
fn raw_program() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(vec!["+", "-", "<", ">", ".", ",", ">>>", "<<<", "[-]"])
        .prop_map(str::to_string);
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            3 => prop::collection::vec(inner.clone(), 1..8).prop_map(|v| v.concat()),
            1 => prop::collection::vec(inner, 0..6).prop_map(|v| format!("[{}]", v.concat())),
        ]
    })
}

/// A tape of 1..32 cells, any EOF policy, and the shared fuel budget.
fn small_config() -> impl Strategy<Value = Config> {
    (1..32usize, prop::sample::select(EofPolicy::ALL.to_vec()))
        .prop_map(|(len, eof)| Config::new(len, eof, Some(gen::FUEL)).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, max_global_rejects: 100_000, ..ProptestConfig::default() })]

    #[test]
    fn agrees_with_reference_on_optimizer_shapes(
        src in gen::program(), config in gen::config(), input in gen::input()
    ) {
        check_against_reference(&src, &config, &input, options(DEFAULT_BUDGET))?;
    }

    #[test]
    fn agrees_with_reference_on_raw_programs(
        src in raw_program(), config in small_config(), input in gen::input()
    ) {
        check_against_reference(&src, &config, &input, options(DEFAULT_BUDGET))?;
    }

    #[test]
    fn splitting_into_small_functions_agrees_with_reference(
        src in gen::program(), config in small_config(), input in gen::input(), budget in 1..12usize
    ) {
        check_against_reference(&src, &config, &input, options(budget))?;
    }

    #[test]
    fn splitting_by_loop_depth_agrees_with_reference(
        src in raw_program(), config in small_config(), input in gen::input(), depth in 1..4usize,
        budget in prop::sample::select(vec![2, 5, DEFAULT_BUDGET])
    ) {
        check_against_reference(&src, &config, &input, split_options(budget, depth))?;
    }

    #[test]
    fn fuel_agrees_exactly_with_the_ir_evaluator(
        src in gen::program(), config in gen::config(), input in gen::input(), share in 0.0..=1.0f64
    ) {
        // The budget is a share of what a full run of the optimized IR needs.
        let full = evaluator(&src, &config, &input);
        let used = full.fuel_used as f64;
        let config = config.with_fuel(Some((used * share).round() as u64));
        let expected = evaluator(&src, &config, &input);
        let got = run(&src, &config, &input);
        if let Some(difference) = compare(&expected, &got) {
            return Err(TestCaseError::fail(format!("{difference}\nprogram: {src}\nconfig: {config:?}")));
        }
        prop_assert_eq!(got.fuel_used, expected.fuel_used);
    }
}

/// The vector scan (16-byte windows folded by a lane-wise minimum: two of them for stride ±1, four
/// for strides 2 to 8; one window near the tape's ends) against the reference: strides up to one past
/// the longest vector stride, both ways, on tapes just long enough for a one-window or a full stretch
/// and longer, from starts near both ends and the
/// middle, with the zero on every cell of the scan's path (or none), so in every window of a
/// stretch, and the cells off that path all zero (which the scan must skip) or all non-zero.
#[test]
fn vector_scans_agree_at_every_zero_position() {
    for stride in 1..=9usize {
        // How far one stretch reads: the last window starts `stride * (1 + 3 * per_window)` cells
        // away (`1 + per_window` for stride 1) and is 16 bytes long.
        let per_window = 15 / stride + 1;
        let windows = if stride == 1 { 2 } else { 4 };
        let reach = stride * (1 + (windows - 1) * per_window) + 15;
        // A stretch of one window, for pointers too near an end for the full one.
        let narrow = stride + 15;
        for len in [
            narrow,
            narrow + 1,
            reach,
            reach + 1,
            reach + stride + 2,
            2 * reach + 3,
        ] {
            let mut starts: Vec<usize> =
                (0..len.min(4)).chain(len.saturating_sub(4)..len).collect();
            starts.extend([len / 2, reach.min(len - 1)]);
            starts.sort_unstable();
            starts.dedup();
            for right in [true, false] {
                for &start in &starts {
                    let path: Vec<usize> = (0..)
                        .map(|k| start as i64 + if right { k } else { -k } * stride as i64)
                        .take_while(|&i| (0..len as i64).contains(&i))
                        .map(|i| i as usize)
                        .collect();
                    for zero in path.iter().skip(1).copied().map(Some).chain([None]) {
                        for off_path_zero in [true, false] {
                            let mut src = String::new();
                            for i in 0..len {
                                let on_path = path.contains(&i);
                                if (on_path && Some(i) != zero) || (!on_path && !off_path_zero) {
                                    src.push('+');
                                }
                                if i + 1 < len {
                                    src.push('>');
                                }
                            }
                            src.push_str(&"<".repeat(len - 1 - start));
                            let step = if right { ">" } else { "<" }.repeat(stride);
                            src.push_str(&format!("[{step}]+."));
                            assert_agrees(&src, &tape(len), b"");
                        }
                    }
                }
            }
        }
    }
}

/// Output past the inline buffer's capacity, interleaved with input (which hands the queued output
/// on first) and with exact fallbacks near the tape's end, keeps its order.
#[test]
fn output_beyond_the_inline_buffer_keeps_its_order() {
    // 10 * 8 * 8 * 8 = 5120 bytes, then an input echoed, then more output.
    let src = "++++++++++[>++++++++[>++++++++[>++++++++[>.+<-]<-]<-]<-],.>>>>>.";
    let o = assert_agrees(src, &Config::default(), b"!");
    assert_eq!(o.output.len(), 5122);
    // Then blocks near the tape's end: the last one's guard fails, and its exact run writes a byte
    // before leaving the tape.
    let src = "++++++++++[>++++++++[>++++++++[>++++++++[>.+<-]<-]<-]<-]>>>>>+[.>+]";
    let o = assert_agrees(src, &tape(7), b"");
    assert_eq!(o.output.len(), 5122);
    assert!(matches!(o.status, Status::PointerOutOfBounds { .. }));
}

/// A block whose guard fails but whose exact run succeeds (a multiply loop on a zero cell next to the
/// tape's end) resumes where the fast path would, with the right cell for the loop or scan test after
/// it (tests after blocks may use the value a block or loop left known).
#[test]
fn a_failed_guard_hands_the_right_cell_to_the_next_test() {
    for len in 2..6 {
        let right = ">".repeat(len - 1);
        for src in [
            format!("{right}[->+<]+[<]"),
            format!("+{right}[->+<]+[-<]"),
            format!("+[{right}[->+<]<-]"),
            format!("{right}+[-[->+<]]+."),
            "+[>]<[->+<]+.[-]<[<]".to_string(),
        ] {
            assert_agrees(&src, &tape(len), b"");
        }
    }
}
