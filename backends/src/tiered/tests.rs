//! Tests of the `tiered` backend: agreement with the reference and with its own interpreter tier at
//! every switch point, on the shapes where handing state over can go wrong.

use proptest::prelude::*;

use super::*;
use crate::backend::compile_and_run;
use crate::bytecode::BytecodeBackend;
use crate::config::EofPolicy;
use crate::optimizer::tests::{config, input, program};
use crate::outcome::{compare, Outcome, Status};
use crate::reference::Reference;

/// Thresholds that put the switch at the first entry, at back edges, and a little later.
const THRESHOLDS: [u64; 7] = [0, 1, 2, 3, 7, 50, NEVER];

fn tiered(threshold: u64) -> Tiered {
    Tiered {
        name: "tiered-test",
        threshold,
    }
}

fn run(backend: &dyn Backend, src: &str, config: &Config, input: &[u8]) -> Outcome {
    let program = Program::parse(src).unwrap();
    compile_and_run(backend, &program, config, input).unwrap()
}

/// Checks every threshold against the interpreter tier alone (`bytecode`, same optimized IR, so the
/// fuel spent must match exactly too) and, unless the reference runs out of fuel, against the reference.
fn assert_all_agree(src: &str, config: &Config, input: &[u8]) -> Outcome {
    let expected = run(&Reference, src, config, input);
    let interpreted = run(&BytecodeBackend, src, config, input);
    for threshold in THRESHOLDS {
        let got = run(&tiered(threshold), src, config, input);
        assert!(
            compare(&interpreted, &got).is_none(),
            "{src} at threshold {threshold} vs bytecode: {:?}",
            compare(&interpreted, &got)
        );
        assert_eq!(
            interpreted.fuel_used, got.fuel_used,
            "{src} at threshold {threshold}: fuel"
        );
        if expected.status != Status::OutOfFuel {
            assert!(
                compare(&expected, &got).is_none(),
                "{src} at threshold {threshold} vs reference: {:?}",
                compare(&expected, &got)
            );
        }
    }
    expected
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, max_global_rejects: 100_000, ..ProptestConfig::default() })]

    #[test]
    fn every_threshold_agrees(src in program(), config in config(), input in input()) {
        let expected = run(&Reference, &src, &config, &input);
        let interpreted = run(&BytecodeBackend, &src, &config, &input);
        for threshold in THRESHOLDS {
            let got = run(&tiered(threshold), &src, &config, &input);
            prop_assert!(compare(&interpreted, &got).is_none(),
                "threshold {}: {:?}\nprogram: {}", threshold, compare(&interpreted, &got), src);
            prop_assert_eq!(interpreted.fuel_used, got.fuel_used, "threshold {}: {}", threshold, src);
            if expected.status != Status::OutOfFuel {
                prop_assert!(compare(&expected, &got).is_none(),
                    "threshold {}: {:?}\nprogram: {}", threshold, compare(&expected, &got), src);
            }
        }
    }

    #[test]
    fn random_thresholds_agree(src in program(), config in config(), input in input(), threshold in 0..40u64) {
        let interpreted = run(&BytecodeBackend, &src, &config, &input);
        let got = run(&tiered(threshold), &src, &config, &input);
        prop_assert!(compare(&interpreted, &got).is_none(),
            "threshold {}: {:?}\nprogram: {}", threshold, compare(&interpreted, &got), src);
        prop_assert_eq!(interpreted.fuel_used, got.fuel_used);
    }
}

#[test]
fn registered_variants_have_their_thresholds() {
    for (backend, threshold) in [
        (&TIERED, DEFAULT_THRESHOLD),
        (&TIERED_0, 0),
        (&TIERED_1, 1),
        (&TIERED_NEVER, NEVER),
    ] {
        assert_eq!(backend.threshold, threshold);
        let registered = crate::registry::backend_by_name(backend.name).expect("registered");
        assert_eq!(registered.name(), backend.name);
        let got = run(registered, "++[>+++<-]>[.-]", &Config::default(), b"");
        let expected = run(&Reference, "++[>+++<-]>[.-]", &Config::default(), b"");
        assert!(compare(&expected, &got).is_none(), "{}", backend.name);
    }
}

#[test]
fn loops_that_get_hot_then_leave_the_tape_report_the_reference_position() {
    // Each walks right (or left) inside a kept loop until it falls off a small tape, after many
    // iterations: the error is raised inside compiled code at thresholds below the walk's length.
    for src in [
        "+[>+]",
        "+[>+>+]",
        ">>>>>>>>>>+[<+]",
        "+[->+<>>+<]",
        "+[[-]>+]",
        "+[>++[>+<-]>]",
        "+[.>+]",
    ] {
        for tape_len in [1, 2, 3, 7, 16, 33] {
            let config = Config::new(tape_len, EofPolicy::Zero, Some(10_000)).unwrap();
            let outcome = assert_all_agree(src, &config, b"");
            assert!(
                matches!(outcome.status, Status::PointerOutOfBounds { .. }),
                "{src}"
            );
        }
    }
}

#[test]
fn hand_overs_continue_where_landing_tests_run() {
    // The interpreter skips a landing test where the block before the jump implies it (`,[>,<-]`:
    // the back edge skips the body's guard); a loop handed over returns with the pointer anywhere,
    // so after a hand-over the landing tests run: at the tape's end `>` must fail at the
    // reference's position at every threshold.
    for src in [
        ",[>>,<]>.",
        ",[>,<-]>.",
        ",[>>,<]>.<<<<<<.",
        ">,[>>,<]>.[<]",
    ] {
        for tape_len in [1, 2, 3, 5, 8, 13] {
            for input in [&[0u8][..], &[4, 4, 4], &[7; 20]] {
                let config = Config::new(tape_len, EofPolicy::Zero, Some(10_000)).unwrap();
                assert_all_agree(src, &config, input);
            }
        }
    }
}

#[test]
fn fused_exits_hand_over_at_every_threshold() {
    // The interpreter's loop-exit superinstructions run two loop tests (and the chain entry a loop
    // test and a decode) in one handler: the hook must still be asked at each body entry, with the
    // state and fuel of the plain instructions.
    for (src, _, _) in crate::bytecode::tests::EXIT_FUSIONS {
        for tape_len in [1, 2, 3, 5, 8] {
            for input in [
                &[0u8][..],
                &[1, 2, 3, 0, 1],
                &[3, 0, 1, 2],
                &[2; 6],
                &[255, 1, 0, 2],
            ] {
                let config = Config::new(tape_len, EofPolicy::Zero, Some(10_000)).unwrap();
                assert_all_agree(src, &config, input);
            }
        }
        assert_all_agree(
            src,
            &Config::default().with_fuel(Some(10_000)),
            &[4, 3, 2, 1],
        );
    }
}

#[test]
fn eof_inside_compiled_loops_follows_the_policy() {
    // `,` keeps reading after the input ends; a non-zero EOF value keeps the loop going until fuel
    // runs out, which the comparison with the interpreter tier checks too.
    let input: Vec<u8> = (1..=40).collect();
    for src in ["+[,.]", ",[.,]", "+[,>,<.>.<]", "+[>,[<+>-]<.]"] {
        for eof in EofPolicy::ALL {
            for len in [0, 1, 5, 40] {
                let config = Config::new(64, eof, Some(500)).unwrap();
                assert_all_agree(src, &config, &input[..len]);
            }
        }
    }
}

#[test]
fn output_before_during_and_after_the_switch_keeps_its_order() {
    let src = "++++[.>++++[.>+++[.-]<-]<-].+++.";
    assert_all_agree(src, &Config::default(), b"");
    // Long output from compiled code crosses the JIT's queue capacity (4096 bytes).
    let long = "++++++++++++++++++++[>++++++++++[>++++++++++[>++++++++++[.-]<-]<-]<-]+.";
    let outcome = assert_all_agree(long, &Config::default(), b"");
    assert!(outcome.output.len() > 2 * crate::jit::OUT_BUF_CAP);
}

#[test]
fn fuel_running_out_inside_compiled_code_stops_at_the_same_entry() {
    for src in ["+[]", "+[>+<]", "++[>+[-->+<]<]", "+[>+[>+<-]<]", "+[.]"] {
        for fuel in [0, 1, 2, 3, 10, 99, 1000] {
            let config = Config::default().with_fuel(Some(fuel));
            assert_all_agree(src, &config, b"");
        }
    }
}

#[test]
fn a_loop_hot_enough_for_the_default_threshold_runs_compiled_and_agrees() {
    // About 65k inner iterations (well past the default threshold) with output in between.
    let src = "++++[>++++++++[>--[>+<-]>[<+>-]<<-]>.<<-]>>.";
    let config = Config::default();
    let expected = run(&Reference, src, &config, b"");
    let got = run(&TIERED, src, &config, b"");
    assert!(
        compare(&expected, &got).is_none(),
        "{:?}",
        compare(&expected, &got)
    );
    assert_all_agree(src, &config.with_fuel(Some(50_000)), b"");
}

#[test]
fn deep_nesting_compiles_within_the_budget() {
    // Every loop runs twice (its inner loop only the first time), so at threshold 1 each gets hot at
    // a back edge from the inside out: without the compile budget each compile would include all
    // the loops inside, quadratically many nodes in all.
    let depth = 20_000;
    let src = format!(
        "{}{}{}{}",
        "++>".repeat(depth),
        "<".repeat(depth),
        "[>".repeat(depth),
        "<-]".repeat(depth)
    );
    for backend in [tiered(0), tiered(1)] {
        let got = run(&backend, &src, &Config::default(), b"");
        let expected = run(&Reference, &src, &Config::default(), b"");
        assert!(
            compare(&expected, &got).is_none(),
            "{:?}",
            compare(&expected, &got)
        );
    }
}

#[test]
fn bad_config_is_a_clear_error() {
    // A zero-length tape cannot be configured at all; the plan refuses one too (defence in depth).
    assert!(Config::default().with_tape_len(0).is_err());
    let program = Program::parse("+").unwrap();
    let nodes = crate::optimizer::optimize_default(&program);
    assert!(crate::ir::plan::PlannedIr::new(&program, nodes, 0).is_err());
}
