//! The reducer: turns a diverging case into a small reproducer (`bfjit reduce`, and every divergence
//! `check` and `fuzz` save).
//!
//! Passes ([`passes`]) run to a fixed point ([`driver`]), cheapest and most destructive first:
//! hierarchical ddmin deletion over the loop tree ([`tree`]), unwrapping loops, replacing loops by
//! `[-]`, shrinking runs of one command, cancelling opposites, then shrinking the input, the tape
//! and the EOF policy within the engine's dialect ([`Constraints`]); the result is in canonical form
//! (commands only). The only judge is the interestingness test ([`tester`]): the same engine still
//! diverges with the same class (for crashes, the same kind), candidates checked in parallel
//! (`jobs` oracles, each with its own isolation worker).
//!
//! Every run is bounded: external engines and isolated backends by a time limit derived from the
//! original case's run (five times the engine's time, at least one second, at most the oracle's
//! own timeout), in-process runs by fuel (twice what the reference used on the original case).
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

use bfjit_backends::{Availability, Backend, EofPolicy};

use crate::case::Case;
use crate::isolate::WorkerCommand;
use crate::oracle::{CaseReport, Class, Divergence, Engine, Oracle, Verdict};

use driver::Driver;
use progress::Progress;
use tester::{Target, Tester};

/// What a reduced case must stay within: the engine's dialect.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Constraints {
    /// The shortest tape a candidate may have.
    pub min_tape_len: usize,
    /// The tape length, when the engine is fixed to one.
    pub tape_len: Option<usize>,
    /// The EOF policy, when the engine is fixed to one.
    pub eof: Option<EofPolicy>,
}

impl Constraints {
    /// The constraints of an engine: an external engine without a `{tape_len}` or `{eof}`
    /// placeholder is fixed to its tape length or EOF policy.
    pub fn of_engine(engine: &Engine) -> Constraints {
        match engine {
            Engine::Backend(_) => Constraints::default(),
            Engine::External(e) => {
                let (tape_len, eof) = e.pinned();
                Constraints {
                    min_tape_len: 1,
                    tape_len,
                    eof,
                }
            }
        }
    }

    /// Whether `case` is within these constraints.
    pub fn allows(&self, case: &Case) -> bool {
        let tape = case.config.tape_len();
        tape >= self.min_tape_len
            && self.tape_len.is_none_or(|t| t == tape)
            && self.eof.is_none_or(|e| e == case.config.eof())
    }
}

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
    /// The dialect; `None` derives it from the engine ([`Constraints::of_engine`]).
    pub constraints: Option<Constraints>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_time: Duration::from_secs(30),
            stand_in: true,
            progress: false,
            constraints: None,
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
    let constraints = settings
        .constraints
        .unwrap_or_else(|| Constraints::of_engine(&oracle.engines()[engine]));
    let target = Target::of(&divergence, constraints);
    // Candidates run within twice the original's fuel and five times its time.
    let budget = match original.verdict {
        Verdict::Checked => oracle
            .budget()
            .min(original.reference.fuel_used.saturating_mul(2) + 10_000),
        Verdict::Discarded => oracle.budget(),
    };
    let ceiling = match &oracle.engines()[engine] {
        Engine::External(e) => e.timeout,
        Engine::Backend(_) => oracle
            .worker_command()
            .map_or(crate::isolate::DEFAULT_TIMEOUT, |c| c.timeout),
    };
    let limit = (original.runs[0].elapsed * 5)
        .max(Duration::from_secs(1))
        .min(ceiling);
    let progress = Progress::new(case.program.len(), settings.progress);
    let engine_spec = oracle.engines()[engine].clone();
    let worker = oracle.worker_command().cloned();
    let oracles = |stand_in: Option<&'static dyn Backend>| -> Vec<Oracle> {
        (0..settings.jobs.max(1))
            .map(|_| replica(&engine_spec, worker.as_ref(), budget, limit, stand_in))
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
        match tester.check(case) {
            Some(report) => {
                let mut driver = Driver::new(
                    &tester,
                    case.clone(),
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
        case.clone(),
        original.clone(),
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

/// An oracle for `engine` only (isolated with `worker` when given), with the reduction's budget and
/// time limit.
fn replica(
    engine: &Engine,
    worker: Option<&WorkerCommand>,
    budget: u64,
    limit: Duration,
    stand_in: Option<&'static dyn Backend>,
) -> Oracle {
    let mut engine = engine.clone();
    if let Engine::External(e) = &mut engine {
        e.timeout = limit;
    }
    let mut oracle = Oracle::new(vec![engine], budget);
    if let Some(command) = worker {
        let mut command = command.clone();
        command.timeout = limit;
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
