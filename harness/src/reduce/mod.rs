//! The reducer: turns a diverging case into a small reproducer (`bfjit reduce`, and every divergence
//! `check` and `fuzz` save).
//!
//! Passes ([`passes`]) run to a fixed point ([`driver`]), cheapest and most destructive first:
//! hierarchical ddmin deletion over the loop tree ([`tree`]), unwrapping loops, replacing loops by
//! `[-]`, shrinking runs of one command, cancelling opposites, then shrinking the input, the tape
//! and the EOF policy; the result is in canonical form (commands only). The only judge is the interestingness test ([`tester`]): the same engine still
//! diverges with the same class (for crashes, the same kind), candidates checked in parallel
//! (`jobs` oracles, each with its own isolation worker).
//!
//! **Dialects.** A reduced case stays inside the engine's [`Dialect`] (as the generators' cases do,
//! see [`crate::dialect`]): the tape length and EOF policy change only where the dialect lets the
//! harness choose them ([`Dialect::may_use`]), so an engine pinned to `tape=30000` or `eof=zero`
//! keeps them; a case whose reference run the dialect excludes (leaving a `tape=N+` tape, reading
//! past the input under `eof=none`, printing a byte an `output=ascii` engine does not print, reading
//! byte 255 under `input=no-255`) is judged outside the dialect by the oracle, not diverging, so it
//! is never adopted. A starting case
//! whose configuration the dialect does not allow is first made to fit it ([`Dialect::fit`]) when
//! that still diverges, else its configuration is kept as it is.
//!
//! Every run is bounded: external engines and isolated backends by a time limit derived from the
//! original case's run (five times the engine's time, at least one second, at most the oracle's
//! `--timeout` floor or twice the original time when that is longer, and the oracle's time factor
//! times the judge's time when that is longer), every reference run by fuel (twice what the
//! reference used on the original case, in both the oracle's fuel-bounded and time-bounded modes,
//! lowered to twice what it used on the best case so far each time a candidate is adopted, so a
//! small candidate that loops forever stops at once instead of running as long as the original).
//!
//! **Stand-in.** While reducing, `dynasm-simple` (the one-to-one JIT) plays the reference's part when
//! it is available and is not the engine being reduced: it charges fuel exactly like the reference
//! (it folds no loops, S18), so engines get the same fuel, and it shares no optimizer pass with the
//! optimizing engines whose bugs are being reduced. It must first show the divergence on the
//! original case. A wrong stand-in cannot slip through: the final reproducer is always confirmed
//! by the caller's oracle, which runs the reference itself; when that fails, the reduction is done
//! again with the reference as judge, and [`Reduced::notes`] says so.

pub mod driver;
pub mod passes;
pub mod progress;
pub mod tester;
pub mod tree;

use std::time::{Duration, Instant};

use bfjit_backends::{Availability, Backend};

use crate::case::Case;
use crate::dialect::{Dialect, Eof, Tape};
use crate::isolate::WorkerCommand;
use crate::oracle::{CaseReport, Class, Divergence, Engine, Oracle, RunLimit, Verdict};

use driver::Driver;
use progress::Progress;
use tester::{Target, Tester};

/// How the reducer works.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Candidates checked at once.
    pub jobs: usize,
    /// Wall-clock limit of the reduction (the confirmation comes after).
    pub max_time: Duration,
    /// Whether a stand-in may judge while reducing (the result is always confirmed by the reference).
    pub stand_in: bool,
    /// Whether to draw a progress bar on stderr.
    pub progress: bool,
    /// The dialect the reduced case must stay inside; `None` takes the engine's
    /// ([`Engine::dialect`]).
    pub dialect: Option<Dialect>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_time: Duration::from_secs(30),
            stand_in: true,
            progress: false,
            dialect: None,
        }
    }
}

/// A reduced case with the reference's report that confirms it.
#[derive(Clone, Debug)]
pub struct Reduced {
    /// The smallest diverging case found.
    pub case: Case,
    /// The caller's oracle's report on it (the reference and the engine's run only).
    pub report: CaseReport,
    /// The divergence it shows.
    pub divergence: Divergence,
    /// Commands at the start.
    pub start_size: usize,
    /// Candidates checked.
    pub checks: usize,
    /// The stand-in that judged while reducing, if one did.
    pub stand_in: Option<&'static str>,
    /// Whether the caller's oracle (the reference) confirmed the result.
    pub confirmed: bool,
    /// What happened that the user should know (stand-in refused or contradicted, flaky engine).
    pub notes: Vec<String>,
    /// Time taken, confirmation included.
    pub elapsed: Duration,
}

/// The stand-in for the reference while reducing `engine`, when one is available.
pub fn stand_in_for(engine: &Engine) -> Option<&'static dyn Backend> {
    let stand_in: &'static dyn Backend = &bfjit_backends::dynasm_simple::DynasmSimple;
    (stand_in.availability() == Availability::Available && engine.name() != stand_in.name())
        .then_some(stand_in)
}

/// Reduces `case` while `oracle`'s engine number `engine` keeps diverging with `class`.
pub fn reduce(
    oracle: &mut Oracle,
    case: &Case,
    engine: usize,
    class: Class,
    settings: &Settings,
) -> Reduced {
    let start = Instant::now();
    let mut notes = Vec::new();
    let original = oracle.check_engines(case, &[engine]);
    let Some(divergence) = original.runs[0]
        .divergence()
        .filter(|d| d.class == class)
        .cloned()
    else {
        notes.push(format!(
            "the {class} divergence did not reproduce before reducing (flaky engine?)"
        ));
        return unreduced(case, original, class, notes, start);
    };
    let dialect = settings
        .dialect
        .unwrap_or_else(|| oracle.engines()[engine].dialect());
    let mut target = Target::of(&divergence, dialect);
    // The case the reduction starts from: inside the dialect's pinned configuration, when the
    // original is not and its fitted version still diverges; else the original, whose
    // configuration is then kept as it is.
    let (base, base_report) = if dialect.may_use(&case.config) {
        (case.clone(), original.clone())
    } else {
        let fitted = dialect.fit(case.clone());
        let report = oracle.check_engines(&fitted, &[engine]);
        if dialect.may_use(&fitted.config) && target.shown_by(&report) {
            (fitted, report)
        } else {
            notes.push(format!(
                "the case's configuration (tape_len {}, eof {}) is not the one {} pins: kept as it is",
                case.config.tape_len(),
                case.config.eof(),
                dialect
            ));
            target.dialect = Dialect {
                tape: Tape::Exactly(case.config.tape_len()),
                eof: Eof::Policy(case.config.eof()),
                ..dialect
            };
            (case.clone(), original.clone())
        }
    };
    // Candidates run within twice the original's fuel (the reference finished it) and about five
    // times its time.
    let enough = base_report
        .reference
        .fuel_used
        .saturating_mul(2)
        .saturating_add(10_000);
    let budget = match (base_report.verdict, oracle.reference_time()) {
        (Verdict::Checked, Some(_)) => enough,
        (Verdict::Checked, None) => oracle.budget().min(enough),
        _ => oracle.budget(),
    };
    let limits = oracle.time_limits();
    let elapsed = base_report.runs[0].elapsed;
    let limits = RunLimit {
        floor: (elapsed * 5)
            .max(Duration::from_secs(1))
            .min(limits.floor.max(elapsed * 2)),
        factor: limits.factor,
    };
    let progress = Progress::new(base.program.len(), settings.progress);
    let engine_spec = oracle.engines()[engine].clone();
    let worker = oracle.worker_command().cloned();
    let oracles = |stand_in: Option<&'static dyn Backend>| -> Vec<Oracle> {
        (0..settings.jobs.max(1))
            .map(|_| replica(&engine_spec, worker.as_ref(), budget, limits, stand_in))
            .collect()
    };
    let mut checks = 0;
    let mut stand_in = None;
    let mut result = None;
    if let Some(s) = settings
        .stand_in
        .then(|| stand_in_for(&oracle.engines()[engine]))
        .flatten()
    {
        let tester = Tester::new(oracles(Some(s)), target.clone());
        match tester.check(&base) {
            Some(report) => {
                let mut driver = Driver::new(
                    &tester,
                    base.clone(),
                    report,
                    start + settings.max_time,
                    &progress,
                );
                driver.run();
                stand_in = Some(s.name());
                result = Some(driver.best);
            }
            None => notes.push(format!(
                "{} (stand-in) did not show the divergence on the original case: reduced with \
                 reference",
                s.name()
            )),
        }
        checks += tester.checks();
    }
    if let Some(best) = result.take() {
        let report = oracle.check_engines(&best, &[engine]);
        if target.shown_by(&report) {
            progress.finish();
            return finish(best, report, case, checks, stand_in, notes, start);
        }
        notes.push(format!(
            "the reference did not confirm the reproducer found with {} as stand-in: reduced \
             again with reference",
            stand_in.unwrap_or("?")
        ));
        stand_in = None;
    }
    let tester = Tester::new(oracles(None), target.clone());
    let mut driver = Driver::new(
        &tester,
        base,
        base_report,
        Instant::now() + settings.max_time,
        &progress,
    );
    driver.run();
    let best = driver.best;
    checks += tester.checks();
    progress.finish();
    let report = oracle.check_engines(&best, &[engine]);
    if target.shown_by(&report) {
        return finish(best, report, case, checks, stand_in, notes, start);
    }
    notes.push("the reference did not confirm the reduced case (flaky engine?)".into());
    let mut reduced = unreduced(case, original, class, notes, start);
    reduced.checks = checks;
    reduced
}

/// An oracle for `engine` only (isolated with `worker` when given), with the reduction's fuel
/// budget and time limits, judged by `stand_in` when given.
fn replica(
    engine: &Engine,
    worker: Option<&WorkerCommand>,
    budget: u64,
    limits: RunLimit,
    stand_in: Option<&'static dyn Backend>,
) -> Oracle {
    let mut oracle = Oracle::new(vec![engine.clone()], budget).run_limit(limits);
    if let Some(command) = worker {
        let mut command = command.clone();
        command.timeout = limits.floor;
        oracle = oracle.isolated(command);
    }
    match stand_in {
        Some(s) => oracle.with_stand_in(s),
        None => oracle,
    }
}

fn finish(
    best: Case,
    report: CaseReport,
    original: &Case,
    checks: usize,
    stand_in: Option<&'static str>,
    notes: Vec<String>,
    start: Instant,
) -> Reduced {
    let divergence = report.runs[0]
        .divergence()
        .cloned()
        .expect("a confirmed report diverges");
    Reduced {
        case: best,
        report,
        divergence,
        start_size: original.program.len(),
        checks,
        stand_in,
        confirmed: true,
        notes,
        elapsed: start.elapsed(),
    }
}

fn unreduced(
    case: &Case,
    report: CaseReport,
    class: Class,
    notes: Vec<String>,
    start: Instant,
) -> Reduced {
    let divergence = report.runs[0]
        .divergence()
        .cloned()
        .unwrap_or_else(|| Divergence {
            engine: report.runs[0].engine.clone(),
            class,
            message: "the divergence did not reproduce while reducing (flaky engine?)".into(),
        });
    Reduced {
        case: case.clone(),
        report,
        divergence,
        start_size: case.program.len(),
        checks: 1,
        stand_in: None,
        confirmed: false,
        notes,
        elapsed: start.elapsed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::external::{EngineSpec, ExternalEngine};
    use bfjit_backends::{Config, EofPolicy};

    /// The planted-bug engine (`.` of a cell of 128 or more prints two bytes), taking any tape
    /// length and EOF policy from its command line, in `dialect` (`KEY=VALUE,…`; empty for none).
    fn buggy(dialect: &str) -> Engine {
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/engines/buggy_bf.py");
        let mut spec = EngineSpec::parse(&format!(
            "buggy=python3 {} --tape-len {{tape_len}} --eof {{eof}} {{file}}",
            script.display()
        ))
        .unwrap();
        spec.dialect.set_all(dialect).unwrap();
        Engine::External(ExternalEngine::new(spec, Duration::from_secs(20)))
    }

    fn reduced(dialect: &str, case: &Case) -> Reduced {
        let mut oracle = Oracle::new(vec![buggy(dialect)], 100_000);
        let report = oracle.check(case);
        let class = report.first_divergence().expect("the case diverges").class;
        let settings = Settings {
            jobs: 2,
            max_time: Duration::from_secs(60),
            ..Settings::default()
        };
        reduce(&mut oracle, case, 0, class, &settings)
    }

    #[test]
    fn a_reduction_stays_inside_a_pinned_dialect() {
        // Reads past its input (so the EOF policy matters) and prints a byte over 127.
        let config = Config::new(30_000, EofPolicy::Zero, None).unwrap();
        let case = Case::from_source(
            "++>+++[<+>-]<. read: ,>,>,[-]<< >>--.<<[-] ++++++++[>++++++++<-]>.",
            b"ab".to_vec(),
            config,
        )
        .unwrap();
        // Free to choose: the tape shrinks and the EOF policy goes back to `unchanged`.
        let free = reduced("", &case);
        assert!(free.confirmed, "{:?}", free.notes);
        assert!(free.case.config.tape_len() < 30_000);
        assert_eq!(free.case.config.eof(), EofPolicy::Unchanged);
        let short = Case {
            config: config.with_tape_len(100).unwrap(),
            ..case.clone()
        };
        for (dialect, eof, start) in [
            ("tape=30000,eof=unchanged", EofPolicy::Unchanged, None),
            ("tape=30000,eof=zero", EofPolicy::Zero, None),
            // A start the pins do not allow (but the dialect does not exclude) is fitted first.
            ("tape=30000+,eof=zero", EofPolicy::Zero, Some(&short)),
        ] {
            let mut pinned = Dialect::ANY;
            pinned.set_all(dialect).unwrap();
            let start = start.cloned().unwrap_or_else(|| pinned.fit(case.clone()));
            let m = reduced(dialect, &start);
            assert!(m.confirmed, "{dialect}: {:?}", m.notes);
            assert!(
                m.case.program.len() <= 4,
                "{dialect}: {:?}",
                String::from_utf8_lossy(m.case.program.source())
            );
            assert_eq!(m.case.config.tape_len(), 30_000, "{dialect}");
            assert_eq!(m.case.config.eof(), eof, "{dialect}");
            assert!(pinned.may_use(&m.case.config), "{dialect}");
            assert!(
                matches!(
                    m.report.runs[0].judgement,
                    crate::oracle::Judgement::Diverges(_)
                ),
                "{dialect}: inside the dialect, so compared"
            );
        }
    }
}
