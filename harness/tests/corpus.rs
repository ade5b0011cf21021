//! Runs every corpus program (`corpus/`, subfolders included) on every registered backend and checks
//! its output and status against the expected files and its whole outcome against the reference.
//!
//! Programs under a `bench/` folder or marked `slow = true` are heavy (the C backends alone spend
//! minutes compiling a large benchmark program), so the default run leaves them out and says so;
//! `BFJIT_CORPUS_ALL=1` includes them, checked against their expected files on every backend but the
//! reference (which would take too long to run them).
//!
//! `BFJIT_BLESS=1 cargo test --release -p bfjit-harness --test corpus every_` (re)writes the `.out` and
//! `.err` files from the reference before checking: use it after adding a program, then read the new
//! files and check them by hand (the reference is the oracle, but it is checked too).

use std::fmt::Write as _;

use bfjit_backends::{
    compare, compile_and_run, registry, Availability, Backend, Outcome, Side, Status,
};
use bfjit_harness::corpus::{self, CorpusCase, ExpectedError};

fn load() -> Vec<CorpusCase> {
    corpus::load_dir(corpus::default_dir()).unwrap_or_else(|e| panic!("corpus: {e}"))
}

fn case(cases: &[CorpusCase], name: &str) -> CorpusCase {
    cases
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("corpus program {name} is missing"))
        .clone()
}

/// Whether the case is heavy: under a `bench/` folder or marked `slow`. The reference never runs
/// heavy cases; the other backends run them only with `BFJIT_CORPUS_ALL=1`.
fn reference_skips(case: &CorpusCase) -> bool {
    case.slow || case.name.split('/').any(|part| part == "bench")
}

fn run_heavy_cases() -> bool {
    std::env::var_os("BFJIT_CORPUS_ALL").is_some()
}

fn reference() -> &'static dyn Backend {
    bfjit_backends::backend_by_name("reference").expect("reference is registered")
}

fn run_reference(case: &CorpusCase) -> Outcome {
    let program = case.program().expect("parses");
    compile_and_run(reference(), &program, &case.config, &case.input).expect("reference compiles")
}

/// Rewrites a case's `.out` and `.err` from the reference outcome.
fn bless(case: &CorpusCase) {
    let err_path = case.path.with_extension("err");
    if let Err(error) = case.program() {
        let expected = ExpectedError::from_parse_error(&error).expect("positioned parse error");
        std::fs::write(&err_path, format!("{expected}\n")).unwrap();
        return;
    }
    let outcome = run_reference(case);
    std::fs::write(case.path.with_extension("out"), &outcome.output).unwrap();
    if let Status::Io(e) = &outcome.status {
        panic!("{}: the reference failed with an I/O error: {e}", case.name);
    }
    match ExpectedError::from_status(&outcome.status) {
        Some(expected) => std::fs::write(&err_path, format!("{expected}\n")).unwrap(),
        None if err_path.exists() => std::fs::remove_file(&err_path).unwrap(),
        None => {}
    }
}

/// What a backend that cannot locate out-of-bounds errors (`c-naive`) may do on a case that leaves
/// the tape by `side`: report an unlocated error by that side, or miss the excursion (it touched no
/// cell off the tape) and end ok; either way its output starts with the expected output (it may
/// have run past the command that left the tape).
fn unlocated_fits(case: &CorpusCase, side: Side, outcome: &Outcome) -> Result<(), String> {
    let expected = case.expected_output.as_deref().unwrap_or(&[]);
    match &outcome.status {
        Status::PointerOutOfBoundsUnlocated { side: got }
            if *got == side && outcome.output.starts_with(expected) =>
        {
            Ok(())
        }
        Status::Ok if outcome.output.starts_with(expected) => Ok(()),
        other => Err(format!(
            "expected an unlocated {side:?} error or a missed excursion, got {other} with output {:?}",
            outcome.output
        )),
    }
}

#[test]
fn every_corpus_program_agrees_on_every_backend() {
    if std::env::var_os("BFJIT_BLESS").is_some() {
        for case in load().iter().filter(|c| !reference_skips(c)) {
            bless(case);
        }
    }
    let cases = load();
    let mut failures = String::new();
    let mut runs = 0;
    let backends = registry();
    for backend in &backends {
        if let Availability::Unsupported(why) = backend.availability() {
            println!(
                "skipping backend {}: unsupported here ({why})",
                backend.name()
            );
        }
    }
    let heavy = cases.iter().filter(|c| reference_skips(c)).count();
    if heavy > 0 && !run_heavy_cases() {
        println!("leaving out {heavy} bench/slow programs: set BFJIT_CORPUS_ALL=1 to run them");
    }
    for case in &cases {
        if reference_skips(case) && !run_heavy_cases() {
            continue;
        }
        let program = match case.program() {
            Ok(program) => program,
            Err(error) => {
                // A program that must not parse never reaches a backend.
                let actual = ExpectedError::from_parse_error(&error);
                let expected = case.expected_error.as_ref().filter(|e| e.is_parse_error());
                if actual.as_ref() != expected {
                    let _ = writeln!(failures, "{}: parse error {error}", case.name);
                }
                continue;
            }
        };
        if let Some(expected) = case.expected_error.as_ref().filter(|e| e.is_parse_error()) {
            let _ = writeln!(failures, "{}: parses, but {expected} expected", case.name);
            continue;
        }
        if case.expected_output.is_none() && !reference_skips(case) {
            let _ = writeln!(failures, "{}: no .out file", case.name);
            continue;
        }
        let oracle = (!reference_skips(case)).then(|| run_reference(case));
        for backend in &backends {
            if matches!(backend.availability(), Availability::Unsupported(_)) {
                continue;
            }
            if backend.name() == "reference" && oracle.is_none() {
                println!("{}: slow, not run on the reference", case.name);
                continue;
            }
            let outcome = match compile_and_run(*backend, &program, &case.config, &case.input) {
                Ok(outcome) => outcome,
                Err(e) => {
                    let _ = writeln!(failures, "{} on {}: {e}", case.name, backend.name());
                    continue;
                }
            };
            runs += 1;
            if let Some(ExpectedError::PointerOutOfBounds { side, .. }) = &case.expected_error {
                if !backend.keeps_contract() {
                    // Classified apart: it cannot name the command, and may miss an excursion that
                    // touches no cell off the tape; it must not contradict the reference either way.
                    if let Err(why) = unlocated_fits(case, *side, &outcome) {
                        let _ = writeln!(failures, "{} on {}: {why}", case.name, backend.name());
                    }
                    continue;
                }
            }
            if let Err(mismatch) = case.check(&outcome) {
                let _ = writeln!(failures, "{} on {}: {mismatch}", case.name, backend.name());
            }
            if let Some(difference) = oracle.as_ref().and_then(|o| compare(o, &outcome)) {
                let _ = writeln!(
                    failures,
                    "{} on {}: disagrees with reference: {difference}",
                    case.name,
                    backend.name()
                );
            }
        }
    }
    println!("{runs} corpus runs on {} backends", backends.len());
    assert!(failures.is_empty(), "corpus failures:\n{failures}");
}

#[test]
fn corpus_covers_the_required_programs() {
    let cases = load();
    assert!(cases.len() >= 14, "only {} corpus programs", cases.len());
    let mut seen = std::collections::HashSet::new();
    for c in &cases {
        assert!(seen.insert(&c.name), "duplicate name {}", c.name);
    }
    // Every command appears somewhere, and the required situations are all present.
    let all: Vec<u8> = cases.iter().flat_map(|c| c.source.clone()).collect();
    for command in b"+-<>.,[]" {
        assert!(
            all.contains(command),
            "no program uses {}",
            *command as char
        );
    }
    for eof in bfjit_backends::EofPolicy::ALL {
        let name = format!("eof_{eof}");
        let c = case(&cases, &name);
        assert_eq!(c.config.eof(), eof, "{name} must run with eof = {eof}");
        assert!(!c.input.is_empty(), "{name} must have input that ends");
    }
    let big = cases
        .iter()
        .filter(|c| {
            c.expected_output
                .as_ref()
                .is_some_and(|o| o.len() >= 10_000)
        })
        .count();
    assert!(big >= 2, "{big} programs print 10 KB or more");
    let sides: Vec<_> = cases
        .iter()
        .filter_map(|c| match &c.expected_error {
            Some(ExpectedError::PointerOutOfBounds { side, .. }) => Some(*side),
            _ => None,
        })
        .collect();
    assert!(sides.contains(&bfjit_backends::Side::Left));
    assert!(sides.contains(&bfjit_backends::Side::Right));
    assert!(cases
        .iter()
        .any(|c| c.expected_error == Some(ExpectedError::OutOfFuel)));
    let right = case(&cases, "right_edge");
    assert!(
        right.config.tape_len() < 100,
        "right_edge uses a small tape"
    );
}

/// The reference wrote the `.out` files; these checks compute some of them independently.
#[test]
fn corpus_outputs_match_independent_expectations() {
    let cases = load();
    let out = |name: &str| case(&cases, name).expected_output.expect(".out exists");

    assert_eq!(out("hello"), b"Hello, World!\n");
    assert_eq!(out("commands"), b"IBM\nHAL\n");
    assert_eq!(out("comments"), b"hi\n");
    assert_eq!(out("wrap"), [255, 0, b'A', b'Z', 0, b'\n']);
    assert_eq!(out("eof_unchanged"), b"hi**\n");
    assert_eq!(out("eof_zero"), b"hi\0\0\n");
    assert_eq!(out("eof_max"), b"hi\xff\xff\n");
    assert_eq!(out("reverse"), b"desserts\nstressed\n");
    assert_eq!(out("cat"), case(&cases, "cat").input);
    assert_eq!(out("fuel"), b"tick\n".repeat(7));
    assert_eq!(out("mul"), [b'A', b'[', b'3', 165, b'h', b'\n']);
    assert_eq!(out("scans"), b"ABCDE\n");
    assert_eq!(out("left_edge"), b"left\n");
    assert_eq!(out("left_mul_loop"), b"ok\n");
    assert_eq!(out("right_edge"), b"ABCDEFGHIJKLMNO\n");
    assert_eq!(out("edge_no_access"), b"!");
    assert_eq!(out("odd_step"), b"odd\n");

    let mut dots = Vec::new();
    for _ in 0..100 {
        dots.extend_from_slice(&[b'.'; 100]);
        dots.push(b'\n');
    }
    assert_eq!(out("dots"), dots);

    let err = |name: &str| {
        let expected = case(&cases, name).expected_error;
        expected.map_or("ok".to_string(), |e| e.to_string())
    };
    // Columns count bytes: `é` before the failing `<` is two of them.
    assert_eq!(err("left_edge"), "pointer-out-of-bounds 10:69 left");
    assert_eq!(err("left_mul_loop"), "pointer-out-of-bounds 8:14 left");
    assert_eq!(err("right_edge"), "pointer-out-of-bounds 10:3 right");
    assert_eq!(err("edge_no_access"), "pointer-out-of-bounds 5:1 right");
    assert_eq!(err("fuel"), "out-of-fuel");
    assert_eq!(err("odd_step"), "out-of-fuel");
    assert_eq!(err("unmatched_close"), "unmatched-close 3:6");
    assert_eq!(err("unclosed_open"), "unclosed-open 3:2");
    assert_eq!(err("hello"), "ok");

    let numbers: String = (0..3000).map(|n| format!("{n:04}\n")).collect();
    assert_eq!(out("numbers"), numbers.as_bytes());

    let depth = 24u8;
    let mut nesting: Vec<u8> = (0..depth).map(|k| b'A' + k).collect();
    nesting.push(b'*');
    nesting.extend((0..depth).rev().map(|k| b'a' + k));
    nesting.push(b'\n');
    assert_eq!(out("nesting"), nesting);
}

/// The nesting program really nests 20 deep or more.
#[test]
fn nesting_program_is_deep() {
    let nesting = case(&load(), "nesting");
    let (mut depth, mut deepest) = (0i32, 0i32);
    for &b in &nesting.source {
        match b {
            b'[' => depth += 1,
            b']' => depth -= 1,
            _ => {}
        }
        deepest = deepest.max(depth);
    }
    assert!(deepest >= 20, "deepest nesting is {deepest}");
}
