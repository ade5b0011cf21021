//! Tests of `c-guarded` and `c-opt` against the reference interpreter (each compile runs the C
//! compiler, so the property test keeps to a few cases). Every test needs a C compiler; without one
//! the backends must say so, which `unavailable_without_a_compiler_is_reported` checks instead.

use proptest::prelude::*;

use super::{find_compiler, C_GUARDED, C_OPT};
use crate::backend::{compile_and_run, Availability, Backend, CompileError};
use crate::config::{Config, EofPolicy};
use crate::ir::eval::evaluate;
use crate::jit::{OFFSET_FUEL, OFFSET_PTR, OFFSET_TAPE, OFFSET_TAPE_LEN};
use crate::optimizer::optimize_default;
use crate::outcome::{compare, Outcome, Side, Status};
use crate::reference::Reference;
use crate::syntax::Program;

fn backends() -> [&'static dyn Backend; 2] {
    [&C_GUARDED, &C_OPT]
}

/// Whether a C compiler is here; when not, both backends must report themselves unavailable.
fn have_cc() -> bool {
    let found = find_compiler().is_some();
    for b in backends() {
        assert_eq!(
            b.availability() == Availability::Available,
            found,
            "{}",
            b.name()
        );
    }
    found
}

/// Runs `src` on both C backends and the reference; requires agreement (fuel included) and returns
/// the reference outcome.
fn agree(src: &str, config: Config, input: &[u8]) -> Outcome {
    let program = Program::parse(src).unwrap();
    let want = compile_and_run(&Reference, &program, &config, input).unwrap();
    for backend in backends() {
        let got = compile_and_run(backend, &program, &config, input).unwrap();
        // `c-opt` charges nothing for folded loops, so where the reference runs out of fuel it may get
        // further: then the meaning of its IR (the IR evaluator, same budget) is what it must match.
        let expected = if backend.name() == "c-opt" && want.status == Status::OutOfFuel {
            let nodes = optimize_default(&program);
            let mut output = Vec::new();
            let halt = evaluate(&program, &nodes, &config, &mut &input[..], &mut output).unwrap();
            Outcome::new(halt, output)
        } else {
            want.clone()
        };
        assert_eq!(
            compare(&expected, &got),
            None,
            "{} on {src:?} under {config:?}",
            backend.name()
        );
        if backend.name() == "c-guarded" {
            assert_eq!(want.fuel_used, got.fuel_used, "c-guarded fuel on {src:?}");
        } else if config.metered() && want.status == Status::Ok {
            assert!(got.fuel_used <= want.fuel_used, "c-opt fuel on {src:?}");
        }
    }
    want
}

fn tape(len: usize) -> Config {
    Config::new(len, EofPolicy::Unchanged, None).unwrap()
}

#[test]
fn the_c_struct_mirrors_the_jit_state_layout() {
    assert_eq!(
        [OFFSET_TAPE, OFFSET_TAPE_LEN, OFFSET_PTR, OFFSET_FUEL],
        [0, 8, 16, 24]
    );
}

#[test]
fn unavailable_without_a_compiler_is_reported() {
    // Either way, availability and compile agree.
    let program = Program::parse("+.").unwrap();
    for b in backends() {
        let compiled = b.compile(&program, &Config::default());
        assert_eq!(compiled.is_ok(), have_cc(), "{}", b.name());
    }
}

#[test]
fn programs_with_loops_output_and_wrapping_agree() {
    if !have_cc() {
        return;
    }
    let o = agree("++++++++[>++++++++<-]>+.-.+.", Config::default(), b"");
    assert_eq!(o.output, b"A@A");
    let o = agree("-.+.>++[->+++<]>.[-]<<[>]+[>>>+<]", Config::default(), b"");
    assert_eq!(o.output, [255, 0, 6]);
    agree(&"+".repeat(300), Config::default(), b"");
}

#[test]
fn leaving_the_tape_names_the_exact_command() {
    if !have_cc() {
        return;
    }
    let o = agree("+.>><", tape(2), b"");
    assert!(matches!(
        o.status,
        Status::PointerOutOfBounds {
            side: Side::Right,
            ..
        }
    ));
    agree("+.\n>><<<", Config::default(), b"");
    agree("+[.>]", tape(1), b"");
    agree("+[.<]", tape(3), b"");
    agree("+>+>+>+<<<[>>]", tape(4), b"");
    agree(">>>>+[<]", tape(5), b"");
}

#[test]
fn input_eof_and_fuel() {
    if !have_cc() {
        return;
    }
    for eof in EofPolicy::ALL {
        let config = Config::new(10, eof, None).unwrap();
        let o = agree("+++++,.,.,.>,.", config, b"ab");
        assert_eq!(&o.output[..2], b"ab");
    }
    for fuel in [0, 2, 3, 5] {
        agree(
            "+++[-]++[>++[-]<-]",
            Config::default().with_fuel(Some(fuel)),
            b"",
        );
    }
    let o = agree("+.[]", Config::default().with_fuel(Some(100)), b"");
    assert_eq!((o.status, o.output), (Status::OutOfFuel, vec![1]));
}

#[test]
fn nesting_up_to_the_cap_runs_and_deeper_is_refused_quickly() {
    if !have_cc() {
        return;
    }
    let nest = |n: usize| format!("+{}-{}", "[".repeat(n), "]".repeat(n));
    let o = agree(&nest(super::translate::MAX_NESTING), Config::default(), b"");
    assert_eq!(o.status, Status::Ok);
    // Output inside the loops keeps the optimizer from folding any of them, and an unknown start
    // value (`,`) from seeing that each runs exactly once.
    let n = 1_000_000;
    let deep = Program::parse(format!(",{}-.{}", "[".repeat(n), "]".repeat(n))).unwrap();
    for backend in backends() {
        let err = backend.compile(&deep, &Config::default()).err().unwrap();
        assert!(matches!(err, CompileError::TooLarge(_)), "{err}");
    }
}

fn program_text() -> impl Strategy<Value = String> {
    // Weighted towards the shapes optimizers fold: clears, multiply loops, scans, offsets.
    let piece = prop_oneof![
        4 => prop::sample::select(vec!["+", "-", ">", "<", ".", ","]).prop_map(str::to_string),
        1 => prop::sample::select(vec!["[-]", "[->+<]", "[->>+++<<]", "[>]", "[<<]", "[+<-->]"])
            .prop_map(str::to_string),
    ];
    prop::collection::vec(
        prop_oneof![3 => piece.clone(), 1 => prop::collection::vec(piece, 0..6)
        .prop_map(|body| format!("+[{}-]", body.concat()))],
        0..30,
    )
    .prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20, ..ProptestConfig::default() })]

    #[test]
    fn agrees_with_reference(src in program_text(), tape_len in 1usize..12, fuel in 0u64..400) {
        if have_cc() {
            let config = Config::new(tape_len, EofPolicy::Zero, Some(fuel)).unwrap();
            agree(&src, config, b"xyz");
        }
    }
}
