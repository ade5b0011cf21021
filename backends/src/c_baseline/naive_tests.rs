//! Tests of `c-naive` against the reference interpreter: full agreement (tape and fuel included) on
//! programs that stay on the tape, and an unlocated out-of-bounds status on the side the program
//! left by. Every test needs a C compiler; without one the backend must say so.

use proptest::prelude::*;

use super::C_NAIVE;
use crate::backend::{compile_and_run, Availability, Backend};
use crate::c_baseline::find_compiler;
use crate::config::{Config, EofPolicy};
use crate::outcome::{compare, Outcome, Side, Status};
use crate::reference::Reference;
use crate::syntax::Program;

fn have_cc() -> bool {
    let found = find_compiler().is_some();
    assert_eq!(C_NAIVE.availability() == Availability::Available, found);
    found
}

fn run(src: &str, config: Config, input: &[u8]) -> (Outcome, Outcome) {
    let program = Program::parse(src).unwrap();
    let want = compile_and_run(&Reference, &program, &config, input).unwrap();
    let got = compile_and_run(&C_NAIVE, &program, &config, input).unwrap();
    (want, got)
}

/// Requires full agreement, fuel included, on a program that stays on the tape.
fn agree(src: &str, config: Config, input: &[u8]) -> Outcome {
    let (want, got) = run(src, config, input);
    assert!(
        !matches!(want.status, Status::PointerOutOfBounds { .. }),
        "{src:?} leaves the tape"
    );
    assert_eq!(compare(&want, &got), None, "{src:?} under {config:?}");
    assert_eq!(want.fuel_used, got.fuel_used, "fuel on {src:?}");
    want
}

fn tape(len: usize) -> Config {
    Config::new(len, EofPolicy::Unchanged, None).unwrap()
}

#[test]
fn declares_that_it_cannot_locate_errors() {
    assert!(!C_NAIVE.keeps_contract());
    assert!(Reference.keeps_contract());
}

#[test]
fn programs_on_the_tape_agree_fully() {
    if !have_cc() {
        return;
    }
    let o = agree("++++++++[>++++++++<-]>+.-.+.", Config::default(), b"");
    assert_eq!(o.output, b"A@A");
    agree("-.+.>++[->+++<]>.[-]<<[>]+[>>>+<]", tape(64), b"");
    for eof in EofPolicy::ALL {
        let o = agree("+++++,.,.,.>,.", Config::new(10, eof, None).unwrap(), b"ab");
        assert_eq!(&o.output[..2], b"ab");
    }
    for fuel in [0, 2, 3, 5, 100] {
        agree(
            "+++[-]++[>++[-]<-]",
            Config::default().with_fuel(Some(fuel)),
            b"",
        );
    }
    let (want, got) = run("+.[]", Config::default().with_fuel(Some(50)), b"");
    assert_eq!((got.status, got.output), (Status::OutOfFuel, vec![1]));
    assert_eq!(want.fuel_used, got.fuel_used);
    // The last cell is usable, and large moves within the tape are fine.
    agree(&format!("{}+.", ">".repeat(29_999)), Config::default(), b"");
}

#[test]
fn leaving_the_tape_crashes_the_child_and_names_the_side() {
    if !have_cc() {
        return;
    }
    let unlocated = |side| Status::PointerOutOfBoundsUnlocated { side };
    // Right: the tape ends at the guard page, so the first cell past it faults.
    let (want, got) = run("+[.>+]", tape(5), b"");
    assert!(matches!(
        want.status,
        Status::PointerOutOfBounds {
            side: Side::Right,
            ..
        }
    ));
    assert_eq!(got.status, unlocated(Side::Right));
    assert_eq!(
        got.output, want.output,
        "output before the fault is flushed"
    );
    // A large jump lands in the guard too (guards are as wide as the largest move).
    let (_, got) = run(&format!("{}+", ">".repeat(70_000)), Config::default(), b"");
    assert_eq!(got.status, unlocated(Side::Right));
    // Left, far: past the slack into the guard page.
    let (_, got) = run(&format!("+{}+", "<".repeat(9_000)), Config::default(), b"");
    assert_eq!(got.status, unlocated(Side::Left));
    // Left, near: a write in the slack is found after the run.
    let (want, got) = run("<+>", Config::default(), b"");
    assert!(matches!(
        want.status,
        Status::PointerOutOfBounds {
            side: Side::Left,
            ..
        }
    ));
    assert_eq!(got.status, unlocated(Side::Left));
    // A pointer still off the tape at the end.
    let (_, got) = run(">>>", tape(2), b"");
    assert_eq!(got.status, unlocated(Side::Right));
}

#[test]
fn a_read_in_the_left_slack_is_a_documented_miss() {
    if !have_cc() {
        return;
    }
    // `<.>` reads a slack cell (zero) and comes back: not detected, which is why the backend
    // declares that it cannot locate errors and the oracle never counts such a case as agreement.
    let (want, got) = run("<.>", Config::default(), b"");
    assert!(matches!(want.status, Status::PointerOutOfBounds { .. }));
    assert_eq!((got.status, got.output), (Status::Ok, vec![0]));
}

fn in_bounds_program() -> impl Strategy<Value = String> {
    // Balanced moves inside loops keep the pointer on a 16-cell tape started in the middle.
    let piece = prop_oneof![
        4 => prop::sample::select(vec!["+", "-", ".", ","]).prop_map(str::to_string),
        2 => prop::sample::select(vec![">+<", "<-->", "[-]", "[->+<]", "[>+<-]"]).prop_map(str::to_string),
    ];
    prop::collection::vec(
        prop_oneof![3 => piece.clone(), 1 => prop::collection::vec(piece, 0..5)
            .prop_map(|body| format!("+[{}-]", body.concat()))],
        0..20,
    )
    .prop_map(|pieces| format!(">>>>>>>>{}", pieces.concat()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn agrees_with_reference_on_the_tape(src in in_bounds_program(), fuel in 0u64..300) {
        if have_cc() {
            let config = Config::new(16, EofPolicy::Zero, Some(fuel)).unwrap();
            agree(&src, config, b"xyz");
        }
    }
}

#[test]
fn the_state_file_holds_only_the_nonzero_pieces_of_the_tape() {
    let dir = tempfile::tempdir().unwrap();
    let exe = super::NaiveExecutable {
        exe: dir.path().join("unused"),
        tape_len: super::STATE_CHUNK * 2 + 10,
        fuel: Some(100),
        _dir: tempfile::tempdir().unwrap(),
    };
    let state = dir.path().join("state");
    let header = |ptr: u64, fuel: u64| [ptr.to_ne_bytes(), fuel.to_ne_bytes()].concat();
    // Piece 2 is the short last one (10 cells); piece 0 and 1 are absent, so zero.
    let mut bytes = header(3, 40);
    bytes.extend_from_slice(&2u64.to_ne_bytes());
    bytes.extend_from_slice(&[7; 10]);
    std::fs::write(&state, &bytes).unwrap();
    let halt = exe.read_state(&state, Status::Ok);
    assert_eq!(halt.status, Status::Ok);
    assert_eq!((halt.pointer, halt.fuel_used), (3, 60));
    assert_eq!(halt.tape.len(), exe.tape_len);
    assert!(halt.tape[..super::STATE_CHUNK * 2].iter().all(|&c| c == 0));
    assert_eq!(&halt.tape[super::STATE_CHUNK * 2..], &[7; 10]);
    // A piece past the tape, a cut piece, or a cut header is a failed child, never a panic.
    for bad in [
        [header(0, 0), 3u64.to_ne_bytes().to_vec()].concat(),
        [header(0, 0), 0u64.to_ne_bytes().to_vec(), vec![1; 5]].concat(),
        header(0, 0)[..12].to_vec(),
    ] {
        std::fs::write(&state, &bad).unwrap();
        let halt = exe.read_state(&state, Status::Ok);
        assert!(matches!(halt.status, Status::Io(_)), "{:?}", halt.status);
    }
}
