//! Proof of strength: the generators and the oracle catch every deliberately broken backend
//! (harness/src/broken.rs) within a bounded number of generated programs, and the bug-free control
//! agrees on all of them. Run with `--nocapture` to see how many programs each bug needed.

use bfjit_harness::broken::{Bug, ALL};
use bfjit_harness::generate::ShapeStream;
use bfjit_harness::isolate::WorkerCommand;
use bfjit_harness::oracle::{Class, Engine, Oracle, DEFAULT_BUDGET};

/// Every planted bug must be caught within this many programs.
const BOUND: usize = 2000;
/// Independent generator seeds per bug (the count reported is the worst).
const SEEDS: [u64; 3] = [1, 2, 3];

/// How many programs from the stream seeded `seed` it takes until `oracle` reports a divergence.
fn programs_until_caught(oracle: &mut Oracle, seed: u64) -> Option<(usize, Class)> {
    let mut stream = ShapeStream::new(seed);
    (1..=BOUND).find_map(|n| {
        let report = oracle.check(&stream.next_shape().to_case());
        report.first_divergence().map(|d| (n, d.class))
    })
}

#[test]
fn every_planted_bug_is_caught_within_the_bound() {
    let mut table = Vec::new();
    for broken in ALL
        .iter()
        .filter(|b| !matches!(b.bug, Bug::None | Bug::AbortOnFarLeftMul))
    {
        let mut oracle = Oracle::new(vec![Engine::Backend(broken)], DEFAULT_BUDGET);
        let mut counts = Vec::new();
        for seed in SEEDS {
            let (n, class) = programs_until_caught(&mut oracle, seed)
                .unwrap_or_else(|| panic!("{:?} not caught within {BOUND} programs", broken.bug));
            counts.push(format!("{n} ({class})"));
        }
        table.push(format!(
            "{:<24} {}",
            format!("{:?}", broken.bug),
            counts.join(", ")
        ));
    }
    eprintln!(
        "programs needed per planted bug, seeds {SEEDS:?}:\n{}",
        table.join("\n")
    );
}

#[test]
fn a_crashing_backend_is_caught_under_isolation() {
    let abort = bfjit_harness::broken::by_name("broken-abort").unwrap();
    let mut oracle = Oracle::new(vec![Engine::Backend(abort)], DEFAULT_BUDGET)
        .isolated(WorkerCommand::bfjit(env!("CARGO_BIN_EXE_bfjit-testing")));
    let (n, class) = programs_until_caught(&mut oracle, 1).expect("the abort is caught");
    assert_eq!(class, Class::Crashed);
    eprintln!("AbortOnFarLeftMul caught after {n} programs (isolated)");
}

#[test]
fn the_bug_free_control_agrees_on_everything() {
    let control = bfjit_harness::broken::by_name("folded-control").unwrap();
    let mut oracle = Oracle::new(vec![Engine::Backend(control)], DEFAULT_BUDGET);
    let mut stream = ShapeStream::new(99);
    for _ in 0..3000 {
        let case = stream.next_shape().to_case();
        let report = oracle.check(&case);
        if let Some(d) = report.first_divergence() {
            panic!(
                "{d}\nprogram: {}\ninput: {:?}\ntape_len: {}\neof: {}",
                String::from_utf8_lossy(case.program.source()),
                case.input,
                case.config.tape_len(),
                case.config.eof()
            );
        }
    }
}

#[test]
fn an_endless_loop_is_decided_in_a_large_program() {
    // 12 500 commands of loops ahead of `[--]` on an odd cell: the fuel bound of what folding could
    // save is far beyond any budget here, but the reference's repeated state proves it never ends.
    let case = bfjit_harness::case::Case::from_source(
        format!("{}+++[--]", "+[-]>".repeat(2500)),
        Vec::new(),
        bfjit_backends::Config::default(),
    )
    .unwrap();
    assert!(case.program.len() >= 10_000);
    let broken = bfjit_harness::broken::by_name("broken-even-clear").unwrap();
    let report = Oracle::new(vec![Engine::Backend(broken)], DEFAULT_BUDGET).check(&case);
    let divergence = report
        .first_divergence()
        .expect("the folded clear is caught");
    assert_eq!(divergence.class, Class::Status);
    assert!(
        divergence.to_string().contains("never ends"),
        "{divergence}"
    );
    let control = bfjit_harness::broken::by_name("folded-control").unwrap();
    let report = Oracle::new(vec![Engine::Backend(control)], DEFAULT_BUDGET).check(&case);
    assert!(report.agrees(), "{:?}", report.runs);
    for backend in bfjit_backends::registry()
        .iter()
        .filter(|b| !b.name().starts_with("c-"))
    {
        let report = Oracle::new(vec![Engine::Backend(*backend)], DEFAULT_BUDGET).check(&case);
        assert!(report.agrees(), "{}: {:?}", backend.name(), report.runs);
    }
}
