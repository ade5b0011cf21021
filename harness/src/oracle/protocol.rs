//! The oracle protocol (see the module documentation of `oracle`): the reference first with a fuel
//! budget, every engine with the fuel the reference used, escalation when the reference runs out,
//! time-share sampling, and child-process isolation of the backends.

use std::time::{Duration, Instant};

use bfjit_backends::reference::termination::{prove_termination, Termination};
use bfjit_backends::{Backend, CmdKind, Config, Program, Status};

use super::classify::{classify, classify_endless, classify_unfinished, Judgement};
use super::engines::{reference_run_with, Engine};
use super::report::{CaseReport, EngineRun, Verdict};
use super::ESCALATION_WORK;
use crate::case::{Case, Observed, ReferenceRun};
use crate::in_process::run_in_process;
use crate::isolate::{Worker, WorkerCommand};
use crate::reference_cache::ReferenceCache;

/// Runs cases against `reference` and a set of engines.
pub struct Oracle {
    engines: Vec<Engine>,
    budget: u64,
    reference_time: Option<Duration>,
    run_limit: RunLimit,
    cache: Option<ReferenceCache>,
    isolation: Option<Isolation>,
    sampling: Option<Sampling>,
    stand_in: Option<&'static dyn Backend>,
}

/// How long an engine may run on a case: `floor`, or `factor` times the reference's own time on
/// it when that is longer, so a correct engine is never killed because a program is long.
#[derive(Clone, Copy, Debug)]
pub struct RunLimit {
    /// The least time any run gets (the `--timeout` flag).
    pub floor: Duration,
    /// How many times the reference's time a run gets.
    pub factor: f64,
}

impl RunLimit {
    /// The limit of every engine's run on a case the reference ran in `reference`.
    pub fn for_reference(&self, reference: Duration) -> Duration {
        // At most a day, whatever the factor.
        let scaled = (reference.as_secs_f64() * self.factor).clamp(0.0, 86_400.0);
        self.floor.max(Duration::from_secs_f64(scaled))
    }
}

/// The default [`RunLimit::factor`].
pub const DEFAULT_TIME_FACTOR: f64 = 20.0;

/// Fuel of the first, timed reference run in time-bounded mode: it measures how fast the
/// reference spends fuel on the case, to size the budget of the real run.
const PROBE_FUEL: u64 = 2_000_000;

/// Loop-body entries the reference is watched for a repeated state, in time-bounded mode, when the
/// probe did not finish: a few times the probe, so a program that settles into an endless loop
/// early is decided at once instead of after `--reference-time`.
const PROOF_ENTRIES: u64 = 4 * PROBE_FUEL;

/// Time-share sampling: an engine runs on a case only while the time it has used stays within its
/// share of the time spent checking, so a backend that takes a second per program (one that calls a
/// C compiler, say) is checked on fewer programs instead of slowing every check down.
struct Sampling {
    share: f64,
    started: Option<Instant>,
    spent: Vec<Duration>,
}

/// Time an engine may use before its share applies, so every engine runs on the first cases.
const SAMPLING_GRACE: Duration = Duration::from_millis(500);

struct Isolation {
    command: WorkerCommand,
    worker: Option<Worker>,
}

/// One engine's name, what it did, and the time it took.
type Ran = (String, Observed, Duration);

impl Oracle {
    /// An oracle over `engines` with the reference fuel budget `budget`, running backends in-process.
    pub fn new(engines: Vec<Engine>, budget: u64) -> Oracle {
        Oracle {
            engines,
            budget,
            reference_time: None,
            run_limit: RunLimit {
                floor: crate::isolate::DEFAULT_TIMEOUT,
                factor: DEFAULT_TIME_FACTOR,
            },
            cache: None,
            isolation: None,
            sampling: None,
            stand_in: None,
        }
    }

    /// Runs `stand_in` where the protocol runs `reference` (in both the fuel-bounded and the
    /// time-bounded mode): the reducer's faster judge, which must charge fuel exactly like the
    /// reference (S18, no folded loops). Its verdicts are provisional: the reducer confirms the
    /// final reproducer with an oracle that runs the reference itself. Its runs never enter the
    /// reference cache.
    pub fn with_stand_in(mut self, stand_in: &'static dyn Backend) -> Oracle {
        self.stand_in = Some(stand_in);
        self
    }

    /// What plays the reference's part: the reference, or the stand-in when one is set.
    pub fn judge(&self) -> &'static dyn Backend {
        self.stand_in
            .unwrap_or(&bfjit_backends::reference::Reference)
    }

    /// The worker command backends are isolated with, when they are.
    pub fn worker_command(&self) -> Option<&WorkerCommand> {
        self.isolation.as_ref().map(|i| &i.command)
    }

    /// Sets how long each engine's run may take (see [`RunLimit`]).
    pub fn run_limit(mut self, limit: RunLimit) -> Oracle {
        self.run_limit = limit;
        self
    }

    /// How long each engine's run may take.
    pub fn time_limits(&self) -> RunLimit {
        self.run_limit
    }

    /// Keeps finished reference runs in `cache` and takes them from it (time-bounded mode only).
    pub fn cache(mut self, cache: ReferenceCache) -> Oracle {
        self.cache = Some(cache);
        self
    }

    /// Runs the reference to completion within `limit` instead of a fuel budget (`None` goes back
    /// to the budget). A reference that does not finish in time decides nothing
    /// ([`Verdict::ReferenceTimedOut`]).
    pub fn set_reference_time(&mut self, limit: Option<Duration>) {
        self.reference_time = limit;
    }

    /// The time the reference may run on one case, in time-bounded mode (`None`: bounded by the
    /// fuel budget).
    pub fn reference_time(&self) -> Option<Duration> {
        self.reference_time
    }

    /// Runs backends in a child process started by `command` (see [`crate::isolate`]), so a crash
    /// is reported with its signal instead of ending the harness.
    pub fn isolated(mut self, command: WorkerCommand) -> Oracle {
        self.isolation = Some(Isolation {
            command,
            worker: None,
        });
        self
    }

    /// Lets each backend use at most `share` (0 to 1) of the time spent in [`Oracle::check`]
    /// (external engines always run); a backend over its share sits cases out
    /// ([`Observed::Skipped`]) until it is back within it. [`Oracle::check_engines`] (the
    /// reducer's call) always runs the engines it is given.
    pub fn time_share(mut self, share: f64) -> Oracle {
        self.sampling = (share < 1.0).then(|| Sampling {
            share: share.max(0.0),
            started: None,
            spent: vec![Duration::ZERO; self.engines.len()],
        });
        self
    }

    /// Whether backends run in a child process.
    pub fn is_isolated(&self) -> bool {
        self.isolation.is_some()
    }

    /// The engines, in check order.
    pub fn engines(&self) -> &[Engine] {
        &self.engines
    }

    /// The reference budget.
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// Changes the reference budget.
    pub fn set_budget(&mut self, budget: u64) {
        self.budget = budget;
    }

    /// Checks `case` on every engine (within its time share, when sampling).
    pub fn check(&mut self, case: &Case) -> CaseReport {
        let Some(sampling) = &mut self.sampling else {
            let all: Vec<usize> = (0..self.engines.len()).collect();
            return self.check_engines(case, &all);
        };
        let started = *sampling.started.get_or_insert_with(Instant::now);
        let allowed = started.elapsed().mul_f64(sampling.share) + SAMPLING_GRACE;
        // External engines are what the user came to check: they always run.
        let engines = &self.engines;
        let (run, sat_out): (Vec<usize>, Vec<usize>) = (0..engines.len()).partition(|&i| {
            matches!(engines[i], Engine::External(_)) || sampling.spent[i] <= allowed
        });
        let mut report = self.check_engines(case, &run);
        if let Some(sampling) = &mut self.sampling {
            for (&i, r) in run.iter().zip(&report.runs) {
                sampling.spent[i] += r.elapsed;
            }
        }
        // Put the sampled-out engines back in engine order.
        let mut runs: Vec<Option<EngineRun>> = (0..self.engines.len()).map(|_| None).collect();
        for (i, r) in run.into_iter().zip(report.runs.drain(..)) {
            runs[i] = Some(r);
        }
        for i in sat_out {
            let why = "sampled out: over its time share".to_string();
            runs[i] = Some(EngineRun {
                engine: self.engines[i].name().to_string(),
                observed: Observed::Skipped(why.clone()),
                judgement: Judgement::NotRun(why),
                elapsed: Duration::ZERO,
            });
        }
        report.runs = runs
            .into_iter()
            .map(|r| r.expect("every engine placed"))
            .collect();
        report
    }

    /// Checks `case` on the engines with the given indices only (the reducer's predicate).
    pub fn check_engines(&mut self, case: &Case, which: &[usize]) -> CaseReport {
        if let Some(limit) = self.reference_time {
            // The cache holds the reference's own runs only: a stand-in neither reads nor writes it.
            let cache = self.cache.as_ref().filter(|_| self.stand_in.is_none());
            let cached = cache.and_then(|c| c.get(case));
            let (reference, budget) = match cached {
                Some(run) => {
                    let fuel = run.outcome.fuel_used;
                    (run, fuel)
                }
                None => {
                    let probe = reference_run_with(self.judge(), case, PROBE_FUEL);
                    if probe.outcome.status == Status::OutOfFuel
                        && matches!(
                            prove_termination(
                                &case.program,
                                &case.config,
                                &case.input,
                                PROOF_ENTRIES
                            ),
                            Termination::NeverEnds { .. }
                        )
                    {
                        return self.compare_endless(case, which, probe);
                    }
                    let (run, budget) = timed_reference(self.judge(), case, limit, probe);
                    if let Some(cache) = cache {
                        cache.put(case, &run);
                    }
                    (run, budget)
                }
            };
            if reference.outcome.status == Status::OutOfFuel {
                let why = format!(
                    "the reference did not finish within {:.0} s (raise --reference-time)",
                    limit.as_secs_f64()
                );
                let runs = which
                    .iter()
                    .map(|&i| EngineRun {
                        engine: self.engines[i].name().to_string(),
                        observed: Observed::Skipped(why.clone()),
                        judgement: Judgement::NotRun(why.clone()),
                        elapsed: Duration::ZERO,
                    })
                    .collect();
                return CaseReport {
                    reference: reference.outcome,
                    budget,
                    verdict: Verdict::ReferenceTimedOut,
                    runs,
                };
            }
            return self.compare_finished(case, which, reference, budget);
        }
        let mut budget = self.budget;
        let mut escalated = false;
        loop {
            let reference = reference_run_with(self.judge(), case, budget);
            if reference.outcome.status != Status::OutOfFuel {
                return self.compare_finished(case, which, reference, budget);
            }
            let reference = reference.outcome;
            // The reference ran out: run the backends on the same budget (external engines have no
            // fuel and would only time out, so they sit this case out).
            let config = case.config.with_fuel(Some(budget));
            let limit = self.run_limit.floor;
            let observed = self.run_engines(case, &config, which, false, limit);
            let bound = |fuel: u64| {
                // A folded nest saves up to `max(256, tape_len)` iterations per level, a loop the
                // optimizer runs at compile time 16 times more (see the module comment).
                let per_fold = (case.config.tape_len().max(256) as u64)
                    .saturating_pow(foldable_depth(&case.program))
                    .saturating_mul(16);
                let per_charge = (case.program.len() as u64 + 1).saturating_mul(per_fold);
                fuel.saturating_add((fuel + 1).saturating_mul(per_charge))
            };
            let finished_fuel = observed
                .iter()
                .filter_map(|(_, o, _)| match o {
                    Observed::Outcome(o) if o.status != Status::OutOfFuel => Some(o.fuel_used),
                    _ => None,
                })
                .max();
            if let Some(fuel) = finished_fuel {
                let needed = bound(fuel);
                let work = needed.saturating_mul(case.program.len() as u64 + 1);
                if !escalated && needed > budget && work <= ESCALATION_WORK {
                    budget = needed;
                    escalated = true;
                    continue;
                }
            }
            // An engine finished where the reference did not: if the reference provably runs
            // forever, that engine is wrong whatever fuel it used.
            let never_ends = finished_fuel.is_some()
                && matches!(
                    prove_termination(&case.program, &case.config, &case.input, budget),
                    Termination::NeverEnds { .. }
                );
            let runs = judge(observed, |engine, observed| {
                classify_unfinished(&reference, engine, observed, budget, bound, never_ends)
            });
            return CaseReport {
                reference,
                budget,
                verdict: Verdict::Discarded,
                runs,
            };
        }
    }

    /// Compares the engines `which` with a finished reference run: engines whose dialect excludes
    /// the case are not run; the others get the fuel the reference used and a time limit scaled
    /// by its time.
    fn compare_finished(
        &mut self,
        case: &Case,
        which: &[usize],
        reference: ReferenceRun,
        budget: u64,
    ) -> CaseReport {
        let config = case.config.with_fuel(Some(reference.outcome.fuel_used));
        let limit = self.run_limit.for_reference(reference.elapsed);
        let runs = self.judge_inside_dialects(case, which, &reference, &config, limit, classify);
        CaseReport {
            reference: reference.outcome,
            budget,
            verdict: Verdict::Checked,
            runs,
        }
    }

    /// Runs the engines `which` on a case whose reference provably never ends (`probe` is its run
    /// up to [`PROBE_FUEL`]): backends get the same fuel and must run out of it, external engines
    /// get the `--timeout` floor and must still be running when it ends.
    fn compare_endless(&mut self, case: &Case, which: &[usize], probe: ReferenceRun) -> CaseReport {
        let config = case.config.with_fuel(Some(PROBE_FUEL));
        let limit = self.run_limit.floor;
        let runs =
            self.judge_inside_dialects(case, which, &probe, &config, limit, classify_endless);
        CaseReport {
            reference: probe.outcome,
            budget: PROBE_FUEL,
            verdict: Verdict::Endless,
            runs,
        }
    }

    /// Runs the engines `which` whose dialect admits the case (given `reference`'s run of it) under
    /// `config` and `limit`, judged by `judge_run` against the reference's outcome; the others are
    /// reported outside their dialect. In engine order.
    fn judge_inside_dialects(
        &mut self,
        case: &Case,
        which: &[usize],
        reference: &ReferenceRun,
        config: &Config,
        limit: Duration,
        judge_run: fn(&bfjit_backends::Outcome, &str, &Observed) -> Judgement,
    ) -> Vec<EngineRun> {
        let outside: Vec<Option<String>> = which
            .iter()
            .map(|&i| self.engines[i].dialect().excludes(case, reference))
            .collect();
        let inside: Vec<usize> = which
            .iter()
            .zip(&outside)
            .filter(|(_, why)| why.is_none())
            .map(|(&i, _)| i)
            .collect();
        let observed = self.run_engines(case, config, &inside, true, limit);
        let mut ran = judge(observed, |engine, observed| {
            judge_run(&reference.outcome, engine, observed)
        })
        .into_iter();
        which
            .iter()
            .zip(outside)
            .map(|(&i, why)| match why {
                Some(why) => EngineRun {
                    engine: self.engines[i].name().to_string(),
                    observed: Observed::Skipped(why.clone()),
                    judgement: Judgement::OutsideDialect(why),
                    elapsed: Duration::ZERO,
                },
                None => ran.next().expect("one run per engine inside its dialect"),
            })
            .collect()
    }

    /// Runs the selected engines (externals only when `externals`), returning name, result, time.
    fn run_engines(
        &mut self,
        case: &Case,
        config: &Config,
        which: &[usize],
        externals: bool,
        limit: Duration,
    ) -> Vec<Ran> {
        let mut results: Vec<Option<Ran>> = vec![None; which.len()];
        let mut backends: Vec<(usize, &'static dyn Backend)> = Vec::new();
        for (slot, &index) in which.iter().enumerate() {
            match &self.engines[index] {
                Engine::Backend(b) => backends.push((slot, *b)),
                Engine::External(e) if externals => {
                    let start = Instant::now();
                    let observed = e.run_for(&case.program, &case.input, &case.config, limit);
                    results[slot] = Some((e.name.clone(), observed, start.elapsed()));
                }
                Engine::External(e) => {
                    let observed = Observed::Skipped("reference ran out of fuel".into());
                    results[slot] = Some((e.name.clone(), observed, Duration::ZERO));
                }
            }
        }
        if !backends.is_empty() {
            let names: Vec<&'static str> = backends.iter().map(|(_, b)| b.name()).collect();
            let outputs = match &mut self.isolation {
                Some(isolation) => {
                    let worker = isolation
                        .worker
                        .get_or_insert_with(|| Worker::new(isolation.command.clone()));
                    worker.run_within(case, config, &names, limit)
                }
                None => backends
                    .iter()
                    .map(|(_, b)| {
                        let start = Instant::now();
                        let observed = run_in_process(*b, &case.program, config, &case.input);
                        (observed, start.elapsed())
                    })
                    .collect(),
            };
            for ((slot, backend), (observed, elapsed)) in backends.into_iter().zip(outputs) {
                results[slot] = Some((backend.name().to_string(), observed, elapsed));
            }
        }
        results
            .into_iter()
            .map(|r| r.expect("every slot filled"))
            .collect()
    }
}

/// Runs `judge` (the reference or its stand-in) to completion within about `limit`: a short timed
/// run measures how fast it spends fuel on this case, and the real run gets the fuel that rate
/// allows in `limit` (plus a quarter). Returns the run and its budget; a run still out of fuel did
/// not finish in time.
fn timed_reference(
    judge: &dyn Backend,
    case: &Case,
    limit: Duration,
    probe: ReferenceRun,
) -> (ReferenceRun, u64) {
    if probe.outcome.status != Status::OutOfFuel {
        return (probe, PROBE_FUEL);
    }
    let per_second = PROBE_FUEL as f64 / probe.elapsed.as_secs_f64().max(1e-6);
    let budget = (per_second * limit.as_secs_f64() * 1.25).min(u64::MAX as f64) as u64;
    let budget = budget.max(2 * PROBE_FUEL);
    (reference_run_with(judge, case, budget), budget)
}

/// Pairs every engine's run with its judgement.
fn judge(observed: Vec<Ran>, judge: impl Fn(&str, &Observed) -> Judgement) -> Vec<EngineRun> {
    observed
        .into_iter()
        .map(|(engine, observed, elapsed)| EngineRun {
            judgement: judge(&engine, &observed),
            engine,
            observed,
            elapsed,
        })
        .collect()
}

/// The longest chain of nested *balanced* loops in `program` (a body that, inner loops included,
/// moves the pointer back to where it started): only such loops fold, so only they multiply what
/// one folded node may save. At least 1.
fn foldable_depth(program: &Program) -> u32 {
    // Open loops: pointer relative to the `[`, still balanced, longest balanced chain inside.
    let mut open: Vec<(i64, bool, u32)> = Vec::new();
    let mut deepest = 1u32;
    for cmd in program.cmds() {
        match cmd.kind {
            CmdKind::Open => open.push((0, true, 0)),
            CmdKind::Close => {
                let Some((pos, balanced, inner)) = open.pop() else {
                    continue;
                };
                let chain = if balanced && pos == 0 { inner + 1 } else { 0 };
                deepest = deepest.max(chain).max(inner);
                if let Some(parent) = open.last_mut() {
                    parent.1 &= balanced && pos == 0;
                    parent.2 = parent.2.max(chain).max(inner);
                }
            }
            CmdKind::Left | CmdKind::Right => {
                if let Some(top) = open.last_mut() {
                    top.0 += if cmd.kind == CmdKind::Right { 1 } else { -1 };
                }
            }
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;
    use bfjit_backends::EofPolicy;

    fn case(src: &str, tape_len: usize) -> Case {
        Case::from_source(
            src,
            vec![],
            Config::new(tape_len, EofPolicy::Zero, None).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn reference_against_itself_agrees() {
        let mut oracle = Oracle::new(
            vec![Engine::Backend(&bfjit_backends::reference::Reference)],
            1000,
        );
        let report = oracle.check(&case("++[>+++<-]>.", 8));
        assert_eq!(report.verdict, Verdict::Checked);
        assert!(report.agrees(), "{:?}", report.runs);
        assert_eq!(report.reference.output, [6]);
    }

    #[test]
    fn out_of_fuel_reference_is_discarded() {
        let mut oracle = Oracle::new(
            vec![Engine::Backend(&bfjit_backends::reference::Reference)],
            100,
        );
        let report = oracle.check(&case("+[]", 8));
        assert_eq!(report.verdict, Verdict::Discarded);
        assert!(report.agrees());
    }
}
