//! The reducer against the planted bugs (harness/src/broken.rs): for each deliberately broken
//! backend, a generated program of at least 10 000 commands on which it diverges is reduced to at
//! most 30 commands, confirmed by the reference. The sizes and times are printed
//! (`--nocapture`); the timing belongs to `scripts/reduce_planted.sh`, not to this test's bounds.

use std::time::{Duration, Instant};

use bfjit_backends::{Backend, Status};
use bfjit_harness::broken::{Bug, ALL};
use bfjit_harness::case::Case;
use bfjit_harness::generate::ShapeStream;
use bfjit_harness::isolate::WorkerCommand;
use bfjit_harness::oracle::{run_reference, Engine, Oracle};
use bfjit_harness::reduce::{reduce, Settings};

/// The reproducer bound of the acceptance criteria.
const MAX_REPRODUCER: usize = 30;
/// The smallest program a reduction starts from.
const MIN_START: usize = 10_000;
/// The reference budget of these checks.
const BUDGET: u64 = 10_000_000;
/// The most fuel one filler shape of a big program may take on the reference.
const FILLER_FUEL: u64 = 20_000;
/// How many shapes of one seed's stream are tried for a first divergence.
const SHAPES_PER_SEED: usize = 400;

/// A generated program of at least [`MIN_START`] commands on which the oracle's engine diverges:
/// the first diverging shape of the stream seeded `seed`, followed by the sources of the next shapes
/// (on the first shape's tape, EOF policy and input), when the whole still diverges.
fn big_generated(oracle: &mut Oracle, seed: u64, min_start: usize) -> Option<Case> {
    let mut stream = ShapeStream::new(seed);
    let first = (0..SHAPES_PER_SEED)
        .map(|_| stream.next_shape().to_case())
        .find(|case| oracle.check(case).first_divergence().is_some())?;
    let mut source = first.program.source().to_vec();
    while Case::from_source(source.clone(), Vec::new(), first.config)?
        .program
        .len()
        < min_start
    {
        // Filler the reference finishes cheaply, so the whole stays well within the budget (a
        // nest of counting loops can take millions of steps on its own).
        let filler = stream.next_shape();
        if run_reference(&filler.to_case(), FILLER_FUEL).status != Status::Ok {
            continue;
        }
        source.push(b' ');
        source.extend_from_slice(filler.source().as_bytes());
    }
    let case = Case::from_source(source, first.input.clone(), first.config)?;
    oracle
        .check(&case)
        .first_divergence()
        .is_some()
        .then_some(case)
}

/// The first generated program of at least `min_start` commands on which the oracle's engine
/// diverges.
fn diverging_program(oracle: &mut Oracle, min_start: usize) -> (Case, String) {
    (1..=20)
        .find_map(|seed| {
            big_generated(oracle, seed, min_start).map(|c| (c, format!("generated, seed {seed}")))
        })
        .expect("a big program on which it diverges")
}

fn reduce_planted(backend: &'static dyn Backend, oracle: Oracle) -> String {
    let mut oracle = oracle;
    let found = Instant::now();
    let (case, origin) = diverging_program(&mut oracle, MIN_START);
    eprintln!(
        "{}: start program found in {:.1} s",
        backend.name(),
        found.elapsed().as_secs_f64()
    );
    let class = oracle.check(&case).first_divergence().unwrap().class;
    let start = Instant::now();
    let settings = Settings {
        jobs: 2,
        max_time: Duration::from_secs(60),
        ..Settings::default()
    };
    let m = reduce(&mut oracle, &case, 0, class, &settings);
    let seconds = start.elapsed().as_secs_f64();
    let source = String::from_utf8_lossy(m.case.program.source()).to_string();
    assert!(m.confirmed, "{}: {:?}", backend.name(), m.notes);
    assert_eq!(m.divergence.class, class, "{}", backend.name());
    assert_eq!(m.report.runs[0].divergence(), Some(&m.divergence));
    assert!(
        m.case.program.len() <= MAX_REPRODUCER,
        "{}: reduced from {} to {} commands: {source}",
        backend.name(),
        m.start_size,
        m.case.program.len()
    );
    assert!(m.start_size >= MIN_START);
    format!(
        "| {} | {origin} | {} | {} | {seconds:.1} | `{source}` input {:?} tape {} eof {} | {} |",
        backend.name(),
        m.start_size,
        m.case.program.len(),
        m.case.input,
        m.case.config.tape_len(),
        m.case.config.eof(),
        m.stand_in.unwrap_or("reference"),
    )
}

#[test]
fn every_planted_bug_reduces_to_a_small_confirmed_reproducer() {
    let mut table = vec![
        "| backend | start program | start | end | seconds | reproducer | judge while reducing |"
            .to_string(),
    ];
    for broken in ALL
        .iter()
        .filter(|b| !matches!(b.bug, Bug::None | Bug::AbortOnFarLeftMul))
    {
        let oracle = Oracle::new(vec![Engine::Backend(broken)], BUDGET);
        table.push(reduce_planted(broken, oracle));
    }
    let abort = bfjit_harness::broken::by_name("broken-abort").unwrap();
    let oracle = Oracle::new(vec![Engine::Backend(abort)], BUDGET)
        .isolated(WorkerCommand::bfjit(env!("CARGO_BIN_EXE_bfjit-testing")));
    table.push(reduce_planted(abort, oracle));
    eprintln!("{}", table.join("\n"));
}

#[test]
fn distances_out_and_back_shrink_together() {
    // One `>` run alone cannot shrink without unbalancing the loop (which then no longer folds,
    // so the bug disappears): the reducer cuts every move run at once.
    let broken = bfjit_harness::broken::by_name("broken-mul-offset").unwrap();
    let mut oracle = Oracle::new(vec![Engine::Backend(broken)], BUDGET);
    let config =
        bfjit_backends::Config::new(20, bfjit_backends::EofPolicy::Unchanged, None).unwrap();
    let case =
        Case::from_source("-[->>>>>>>>>>+<<<<<<<<<<]>>>>>>>>>>.", Vec::new(), config).unwrap();
    let class = oracle
        .check(&case)
        .first_divergence()
        .expect("diverges")
        .class;
    let settings = Settings {
        jobs: 1,
        max_time: Duration::from_secs(60),
        ..Settings::default()
    };
    let m = reduce(&mut oracle, &case, 0, class, &settings);
    assert!(m.confirmed, "{:?}", m.notes);
    let source = String::from_utf8_lossy(m.case.program.source()).to_string();
    assert!(m.case.program.len() <= 9, "{source}");
}
