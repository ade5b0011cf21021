//! The differential oracle: runs one case on `reference` and on every other engine, and classifies
//! how each engine's run compares.
//!
//! The protocol, for one [`Case`]:
//! 1. Run `reference` with a fuel budget. If it finishes, every other engine gets exactly the fuel the
//!    reference used (`Config.fuel = Some(reference.fuel_used)`): a correct engine never needs more,
//!    because loops an optimizer folds charge nothing. An engine that runs out is itself a divergence.
//! 2. If the reference runs out of fuel, the case is normally discarded. Engines still run with the
//!    same budget, because two things are checkable: an engine that also runs out must have written at
//!    least the reference's output, and an engine that *finishes* is suspicious. A folded loop saves at
//!    most `B = max(256, tape_len)` iterations per level of the nest of balanced loops folded into
//!    it (the optimizer solves such nests from the inside out; a loop it runs at compile time takes at
//!    most 4096 steps, 16 times `B`), and between two fuel charges an engine executes at most one node
//!    per program command, so an engine that finished with `f` fuel lets the reference finish within
//!    `f + (f + 1) * (commands + 1) * 16 * B^depth` loop entries, `depth` the longest chain of nested
//!    balanced loops. The reference is re-run
//!    with that budget (when budget × commands stays under [`ESCALATION_WORK`]): if it finishes, the case is compared normally; if it
//!    still runs out, the engine finished a program that does not terminate, which is a divergence
//!    (this is how a `[--]` folded to a clear is caught: on an odd cell the loop never ends).
//! 3. Outcomes are compared with [`bfjit_backends::compare`], the one definition of "agree", and
//!    classified as [`Class`]: output, status, tape (pointer included), crashed, or failed to compile.
//!
//! Engines are registered backends ([`Engine::Backend`], run in-process or in an isolated child
//! process, see [`crate::isolate`]) or external programs ([`Engine::External`], see
//! [`crate::external`]), which are compared on output and success only.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use bfjit_backends::{
    compare, compile_and_run, registry, Availability, Backend, CmdKind, CompileError, Config,
    Difference, Outcome, Program, Status,
};

use crate::external::{ExitInfo, ExternalEngine};
use crate::isolate::{Worker, WorkerCommand};

/// The default fuel budget of the reference run for generated cases (loop-body entries).
pub const DEFAULT_BUDGET: u64 = 20_000;
/// The most work (budget × program commands, a bound on commands executed) the oracle spends on
/// re-running the reference to settle a suspected termination bug.
pub const ESCALATION_WORK: u64 = 40_000_000;

/// One test case: a program, its input and its configuration (the fuel is the oracle's business).
#[derive(Clone, Debug)]
pub struct Case {
    /// The program.
    pub program: Program,
    /// Bytes the program reads.
    pub input: Vec<u8>,
    /// Tape length and EOF policy (`fuel` is ignored: the oracle sets it).
    pub config: Config,
}

impl Case {
    /// A case from source text; `None` when it does not parse.
    pub fn from_source(source: impl Into<Vec<u8>>, input: Vec<u8>, config: Config) -> Option<Case> {
        let program = Program::parse(source).ok()?;
        Some(Case {
            program,
            input,
            config: config.with_fuel(None),
        })
    }
}

/// How an engine's run differs from the reference's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// The output bytes differ.
    Output,
    /// The status differs (error kind, error position, or success vs failure).
    Status,
    /// Both ended ok, with a different final pointer or tape.
    Tape,
    /// The engine crashed the process (signal), panicked, or hung.
    Crashed,
    /// The engine failed to compile a valid program.
    Failed,
}

impl Class {
    /// Every class, in report order.
    pub const ALL: [Class; 5] = [
        Class::Output,
        Class::Status,
        Class::Tape,
        Class::Crashed,
        Class::Failed,
    ];

    /// The short name used in reports and reproducer file names.
    pub fn name(self) -> &'static str {
        match self {
            Class::Output => "output",
            Class::Status => "status",
            Class::Tape => "tape",
            Class::Crashed => "crashed",
            Class::Failed => "failed",
        }
    }

    /// The class of a difference reported by [`compare`].
    pub fn of(difference: &Difference) -> Class {
        match difference {
            Difference::Output { .. } => Class::Output,
            Difference::Status { .. } => Class::Status,
            Difference::Pointer { .. } | Difference::Tape { .. } => Class::Tape,
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one engine did with a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observed {
    /// A backend ran to an outcome.
    Outcome(Outcome),
    /// An external engine ran: its standard output and how it exited.
    External {
        /// Everything it wrote to standard output.
        stdout: Vec<u8>,
        /// How it exited.
        exit: ExitInfo,
    },
    /// The engine took the process down, panicked or hung; the text says how (signal, message).
    Crashed(String),
    /// The engine refused to compile the program.
    CompileError(CompileError),
    /// The engine did not run (unsupported here, or the program exceeds its limits).
    Skipped(String),
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Observed::Outcome(o) => write!(f, "{}", describe_outcome(o)),
            Observed::External { stdout, exit } => write!(
                f,
                "{exit}; {} bytes of output: {}",
                stdout.len(),
                show_bytes(stdout)
            ),
            Observed::Crashed(how) => write!(f, "crashed: {how}"),
            Observed::CompileError(e) => write!(f, "compile error: {e}"),
            Observed::Skipped(why) => write!(f, "skipped: {why}"),
        }
    }
}

/// A divergence: which engine, what class, and a message naming the first differing byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// The engine that disagrees with `reference`.
    pub engine: String,
    /// How it disagrees.
    pub class: Class,
    /// Human-readable detail (reference first, then the engine).
    pub message: String,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} disagrees with reference ({}): {}",
            self.engine, self.class, self.message
        )
    }
}

/// One engine's part in a checked case.
#[derive(Clone, Debug)]
pub struct EngineRun {
    /// The engine's name.
    pub engine: String,
    /// What it did.
    pub observed: Observed,
    /// How it disagrees, if it does.
    pub divergence: Option<Divergence>,
    /// Wall time spent compiling and running it (isolation overhead included).
    pub elapsed: Duration,
}

/// Whether the case counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The reference finished; every engine was compared.
    Checked,
    /// The reference ran out of fuel; only the checks that hold for unfinished runs were made.
    Discarded,
}

/// The result of checking one case.
#[derive(Clone, Debug)]
pub struct CaseReport {
    /// The reference's outcome (at the final budget).
    pub reference: Outcome,
    /// The fuel budget the reference ran with last.
    pub budget: u64,
    /// Whether the case counted.
    pub verdict: Verdict,
    /// Every engine's run, in engine order.
    pub runs: Vec<EngineRun>,
}

impl CaseReport {
    /// The divergences found, in engine order.
    pub fn divergences(&self) -> impl Iterator<Item = &Divergence> {
        self.runs.iter().filter_map(|r| r.divergence.as_ref())
    }

    /// The first divergence, in engine order.
    pub fn first_divergence(&self) -> Option<&Divergence> {
        self.runs.iter().find_map(|r| r.divergence.as_ref())
    }

    /// Whether every engine agreed (a discarded case with no finding counts as agreeing).
    pub fn agrees(&self) -> bool {
        self.divergences().next().is_none()
    }
}

/// An engine the oracle compares against `reference`.
#[derive(Clone)]
pub enum Engine {
    /// A backend from the registry (or a test backend): full outcome compared, tape included.
    Backend(&'static dyn Backend),
    /// An external program: output and success compared.
    External(ExternalEngine),
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Engine::Backend(b) => write!(f, "Backend({})", b.name()),
            Engine::External(e) => write!(f, "External({e:?})"),
        }
    }
}

impl Engine {
    /// The engine's name.
    pub fn name(&self) -> &str {
        match self {
            Engine::Backend(b) => b.name(),
            Engine::External(e) => &e.name,
        }
    }
}

/// Engines to run, and the backends that cannot run here with the reason.
pub type Selection = (Vec<Engine>, Vec<(String, String)>);

/// The engines to check by default: every registered backend except `reference`, and the
/// backends that are unsupported here with the reason (reported, not run).
pub fn default_engines() -> Selection {
    select_backends(
        registry()
            .into_iter()
            .filter(|b| b.name() != "reference")
            .collect(),
    )
}

/// Splits backends into the available ones and the unsupported ones with their reason.
pub fn select_backends(backends: Vec<&'static dyn Backend>) -> Selection {
    let mut engines = Vec::new();
    let mut skipped = Vec::new();
    for backend in backends {
        match backend.availability() {
            Availability::Available => engines.push(Engine::Backend(backend)),
            Availability::Unsupported(why) => skipped.push((backend.name().to_string(), why)),
        }
    }
    (engines, skipped)
}

/// Runs cases against `reference` and a set of engines.
pub struct Oracle {
    engines: Vec<Engine>,
    budget: u64,
    isolation: Option<Isolation>,
    sampling: Option<Sampling>,
}

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

impl Oracle {
    /// An oracle over `engines` with the reference fuel budget `budget`, running backends in-process.
    pub fn new(engines: Vec<Engine>, budget: u64) -> Oracle {
        Oracle {
            engines,
            budget,
            isolation: None,
            sampling: None,
        }
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
    /// (external engines always run); a backend over its share sits cases out ([`Observed::Skipped`]) until it is back within it.
    /// [`Oracle::check_engines`] (the minimizer's call) always runs the engines it is given.
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
            runs[i] = Some(EngineRun {
                engine: self.engines[i].name().to_string(),
                observed: Observed::Skipped("sampled out: over its time share".into()),
                divergence: None,
                elapsed: Duration::ZERO,
            });
        }
        report.runs = runs
            .into_iter()
            .map(|r| r.expect("every engine placed"))
            .collect();
        report
    }

    /// Checks `case` on the engines with the given indices only (the minimizer's predicate).
    pub fn check_engines(&mut self, case: &Case, which: &[usize]) -> CaseReport {
        let mut budget = self.budget;
        let mut escalated = false;
        loop {
            let reference = run_reference(case, budget);
            if reference.status != Status::OutOfFuel {
                let config = case.config.with_fuel(Some(reference.fuel_used));
                let observed = self.run_engines(case, &config, which, true);
                let runs = observed
                    .into_iter()
                    .map(|(engine, observed, elapsed)| {
                        let divergence = classify(&reference, &engine, &observed);
                        EngineRun {
                            engine,
                            observed,
                            divergence,
                            elapsed,
                        }
                    })
                    .collect();
                return CaseReport {
                    reference,
                    budget,
                    verdict: Verdict::Checked,
                    runs,
                };
            }
            // The reference ran out: run the backends on the same budget (external engines have no
            // fuel and would only time out, so they sit this case out).
            let config = case.config.with_fuel(Some(budget));
            let observed = self.run_engines(case, &config, which, false);
            let bound = |fuel: u64| {
                // A folded nest saves up to `max(256, tape_len)` iterations per level, a loop the
                // optimizer runs at compile time 16 times more (see the module comment).
                let per_fold = (case.config.tape_len.max(256) as u64)
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
            let runs = observed
                .into_iter()
                .map(|(engine, observed, elapsed)| {
                    let divergence =
                        classify_unfinished(&reference, &engine, &observed, budget, bound);
                    EngineRun {
                        engine,
                        observed,
                        divergence,
                        elapsed,
                    }
                })
                .collect();
            return CaseReport {
                reference,
                budget,
                verdict: Verdict::Discarded,
                runs,
            };
        }
    }

    /// Runs the selected engines (externals only when `externals`), returning name, result, time.
    fn run_engines(
        &mut self,
        case: &Case,
        config: &Config,
        which: &[usize],
        externals: bool,
    ) -> Vec<(String, Observed, Duration)> {
        let mut results: Vec<Option<(String, Observed, Duration)>> = vec![None; which.len()];
        let mut backends: Vec<(usize, &'static dyn Backend)> = Vec::new();
        for (slot, &index) in which.iter().enumerate() {
            match &self.engines[index] {
                Engine::Backend(b) => backends.push((slot, *b)),
                Engine::External(e) => {
                    let observed = if externals {
                        let start = Instant::now();
                        let observed = e.run(&case.program, &case.input, &case.config);
                        results[slot] = Some((e.name.clone(), observed, start.elapsed()));
                        continue;
                    } else {
                        Observed::Skipped("reference ran out of fuel".into())
                    };
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
                    worker.run(case, config, &names)
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

/// Runs the reference on `case` with a fuel budget.
pub fn run_reference(case: &Case, budget: u64) -> Outcome {
    let config = case.config.with_fuel(Some(budget));
    compile_and_run(
        &bfjit_backends::reference::Reference,
        &case.program,
        &config,
        &case.input,
    )
    .expect("the reference compiles every program")
}

/// Compiles and runs one backend in this process; a panic becomes [`Observed::Crashed`].
pub fn run_in_process(
    backend: &dyn Backend,
    program: &Program,
    config: &Config,
    input: &[u8],
) -> Observed {
    let result = catch_unwind(AssertUnwindSafe(|| {
        compile_and_run(backend, program, config, input)
    }));
    match result {
        Ok(Ok(outcome)) => Observed::Outcome(outcome),
        Ok(Err(e @ CompileError::Codegen(_))) => Observed::CompileError(e),
        Ok(Err(e)) => Observed::Skipped(e.to_string()),
        Err(panic) => Observed::Crashed(format!("panicked: {}", panic_message(&panic))),
    }
}

/// The text of a panic payload.
pub fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

/// Classifies what an engine did against a finished reference run.
pub fn classify(reference: &Outcome, engine: &str, observed: &Observed) -> Option<Divergence> {
    let diverge = |class, message: String| {
        Some(Divergence {
            engine: engine.to_string(),
            class,
            message,
        })
    };
    match observed {
        Observed::Outcome(outcome) => compare(reference, outcome).map(|d| Divergence {
            engine: engine.to_string(),
            class: Class::of(&d),
            message: format!("{d} (reference vs {engine})"),
        }),
        Observed::External { stdout, exit } => {
            if let Some(index) = first_mismatch(&reference.output, stdout) {
                let d = Difference::Output {
                    index,
                    left: reference.output.get(index).copied(),
                    right: stdout.get(index).copied(),
                };
                return diverge(Class::Output, format!("{d} (reference vs {engine})"));
            }
            let reference_ok = reference.status == Status::Ok;
            match exit {
                ExitInfo::Signal(_) => diverge(Class::Crashed, exit.to_string()),
                ExitInfo::TimedOut(_) | ExitInfo::SpawnFailed(_) => {
                    diverge(Class::Status, exit.to_string())
                }
                ExitInfo::Code(code) if (*code == 0) != reference_ok => diverge(
                    Class::Status,
                    format!(
                        "status differs: reference {} vs {engine} {exit}",
                        reference.status
                    ),
                ),
                ExitInfo::Code(_) => None,
            }
        }
        Observed::Crashed(how) => diverge(Class::Crashed, how.clone()),
        Observed::CompileError(e) => diverge(Class::Failed, e.to_string()),
        Observed::Skipped(_) => None,
    }
}

/// Classifies what an engine did when the reference ran out of `budget` fuel.
fn classify_unfinished(
    reference: &Outcome,
    engine: &str,
    observed: &Observed,
    budget: u64,
    bound: impl Fn(u64) -> u64,
) -> Option<Divergence> {
    let diverge = |class, message: String| {
        Some(Divergence {
            engine: engine.to_string(),
            class,
            message,
        })
    };
    match observed {
        Observed::Outcome(outcome) => {
            // The engine spent no more fuel than the reference at any point, so it got at least as
            // far: the reference's output must be a prefix of its output.
            if let Some(index) = first_mismatch(&reference.output, &outcome.output) {
                if index < reference.output.len() {
                    let d = Difference::Output {
                        index,
                        left: reference.output.get(index).copied(),
                        right: outcome.output.get(index).copied(),
                    };
                    return diverge(
                        Class::Output,
                        format!("{d} (reference, out of fuel after {budget}, vs {engine})"),
                    );
                }
            }
            if outcome.status != Status::OutOfFuel && bound(outcome.fuel_used) <= budget {
                return diverge(
                    Class::Status,
                    format!(
                        "status differs: {engine} ended '{}' using {} fuel, but the reference is \
                         still running after {budget} loop entries (more than any correct engine \
                         could save by folding loops)",
                        outcome.status, outcome.fuel_used
                    ),
                );
            }
            None
        }
        Observed::Crashed(how) => diverge(Class::Crashed, how.clone()),
        Observed::CompileError(e) => diverge(Class::Failed, e.to_string()),
        Observed::External { .. } | Observed::Skipped(_) => None,
    }
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

fn first_mismatch(a: &[u8], b: &[u8]) -> Option<usize> {
    let common = a.iter().zip(b).position(|(x, y)| x != y);
    common.or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))
}

/// Shows bytes as text when printable, else as numbers, shortened when long.
pub fn show_bytes(bytes: &[u8]) -> String {
    const LIMIT: usize = 64;
    let shown = &bytes[..bytes.len().min(LIMIT)];
    let printable = shown
        .iter()
        .all(|&b| b.is_ascii_graphic() || b == b' ' || b == b'\n');
    let mut text = if printable {
        format!("{:?}", String::from_utf8_lossy(shown))
    } else {
        format!("{shown:?}")
    };
    if bytes.len() > LIMIT {
        text.push_str(&format!(" ... ({} more)", bytes.len() - LIMIT));
    }
    text
}

/// A one-line description of an outcome: status, output, and on ok the pointer and the used tape.
pub fn describe_outcome(o: &Outcome) -> String {
    let mut text = format!(
        "{}; {} bytes of output: {}",
        o.status,
        o.output.len(),
        show_bytes(&o.output)
    );
    if o.status == Status::Ok {
        let used = o.tape.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
        text.push_str(&format!(
            "; pointer {}; tape[..{used}] = {:?}",
            o.pointer,
            &o.tape[..used.min(64)]
        ));
    }
    text
}

/// Per-engine counts over many cases, for the summary table of `check` and `fuzz`.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    rows: Vec<TallyRow>,
    /// Cases checked (the reference finished).
    pub checked: u64,
    /// Cases discarded (the reference ran out of fuel).
    pub discarded: u64,
}

/// One engine's counts.
#[derive(Clone, Debug, Default)]
pub struct TallyRow {
    /// The engine.
    pub engine: String,
    /// Runs compared.
    pub runs: u64,
    /// Runs that agreed.
    pub agreed: u64,
    /// Divergences by class, in [`Class::ALL`] order.
    pub by_class: [u64; 5],
    /// Cases the engine did not run (program beyond its limits, or sampled out).
    pub skipped: u64,
    /// Total time in the engine.
    pub time: Duration,
}

impl Tally {
    /// Adds one case's report.
    pub fn record(&mut self, report: &CaseReport) {
        match report.verdict {
            Verdict::Checked => self.checked += 1,
            Verdict::Discarded => self.discarded += 1,
        }
        for run in &report.runs {
            let row = match self.rows.iter().position(|r| r.engine == run.engine) {
                Some(i) => &mut self.rows[i],
                None => {
                    self.rows.push(TallyRow {
                        engine: run.engine.clone(),
                        ..TallyRow::default()
                    });
                    self.rows.last_mut().expect("just pushed")
                }
            };
            row.time += run.elapsed;
            if let Some(d) = &run.divergence {
                row.runs += 1;
                let i = Class::ALL
                    .iter()
                    .position(|c| *c == d.class)
                    .expect("known");
                row.by_class[i] += 1;
            } else if matches!(run.observed, Observed::Skipped(_)) {
                row.skipped += 1;
            } else {
                row.runs += 1;
                row.agreed += 1;
            }
        }
    }

    /// The rows, one per engine seen.
    pub fn rows(&self) -> &[TallyRow] {
        &self.rows
    }

    /// Divergences of every engine together.
    pub fn divergences(&self) -> u64 {
        self.rows
            .iter()
            .map(|r| r.by_class.iter().sum::<u64>())
            .sum()
    }

    /// Runs of every engine together.
    pub fn runs(&self) -> u64 {
        self.rows.iter().map(|r| r.runs).sum()
    }

    /// The summary table, one row per engine, plus the unsupported engines with their reason.
    pub fn table(&self, unsupported: &[(String, String)]) -> String {
        let width = self
            .rows
            .iter()
            .map(|r| r.engine.len())
            .chain(unsupported.iter().map(|(n, _)| n.len()))
            .chain(["backend".len()])
            .max()
            .unwrap_or(7);
        let mut out = format!(
            "{:width$}  {:>8}  {:>8}  {:>6}  {:>6}  {:>6}  {:>7}  {:>6}  {:>7}  {:>9}\n",
            "backend",
            "runs",
            "agree",
            "output",
            "status",
            "tape",
            "crashed",
            "failed",
            "not run",
            "time"
        );
        for r in &self.rows {
            let c = r.by_class;
            out.push_str(&format!(
                "{:width$}  {:>8}  {:>8}  {:>6}  {:>6}  {:>6}  {:>7}  {:>6}  {:>7}  {:>8.2}s\n",
                r.engine,
                r.runs,
                r.agreed,
                c[0],
                c[1],
                c[2],
                c[3],
                c[4],
                r.skipped,
                r.time.as_secs_f64()
            ));
        }
        for (name, why) in unsupported {
            out.push_str(&format!(
                "{name:width$}  not run: unsupported here ({why})\n"
            ));
        }
        out
    }
}

/// Entry points of the cargo-fuzz targets in `fuzz/` (each target is one call to one of these).
pub mod fuzz_targets {
    use std::sync::{Mutex, OnceLock};

    use bfjit_backends::ir::{blocks::guard, eval::evaluate, lower};
    use bfjit_backends::optimizer::{optimize, Pass, PassList};
    use bfjit_backends::{compare, Outcome, Program, Status};

    use super::{default_engines, describe_outcome, Oracle, DEFAULT_BUDGET};
    use crate::generate::Shape;

    /// `differential`: the generated case must agree on every available registered backend (each
    /// backend within a 20% time share); panics with the divergence and the case.
    pub fn differential(shape: &Shape) {
        static ORACLE: OnceLock<Mutex<Oracle>> = OnceLock::new();
        let oracle = ORACLE.get_or_init(|| {
            Mutex::new(Oracle::new(default_engines().0, DEFAULT_BUDGET).time_share(0.2))
        });
        let case = shape.to_case();
        let mut oracle = oracle.lock().unwrap_or_else(|e| e.into_inner());
        let report = oracle.check(&case);
        if let Some(d) = report.first_divergence() {
            panic!(
                "{d}\nprogram: {}\ninput: {:?}\ntape_len: {}\neof: {}\nreference: {}",
                String::from_utf8_lossy(case.program.source()),
                case.input,
                case.config.tape_len,
                case.config.eof,
                describe_outcome(&report.reference)
            );
        }
    }

    /// `parse`: any bytes either parse or give a parse error with a position inside the source;
    /// a parsed program's brackets are matched both ways. Never panics otherwise.
    pub fn parse(bytes: &[u8]) {
        match Program::parse(bytes.to_vec()) {
            Ok(program) => {
                for (i, cmd) in program.cmds().iter().enumerate() {
                    let p = cmd.partner as usize;
                    if cmd.kind == bfjit_backends::CmdKind::Open {
                        assert!(p > i && program.cmds()[p].partner as usize == i);
                    }
                }
            }
            Err(e) => {
                if let Some(position) = e.position() {
                    assert!(position.offset < bytes.len(), "{e}");
                    let _ = bfjit_backends::syntax::snippet(bytes, position);
                }
            }
        }
    }

    /// `optimize`: IR optimized with the passes picked by `mask` (bit i selects `Pass::ALL[i]`)
    /// agrees with the unoptimized IR, both run by `ir::eval::evaluate` on guarded IR.
    pub fn optimize_agrees(shape: &Shape, mask: u8) {
        let case = shape.to_case();
        let passes: Vec<&str> = Pass::ALL
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, p)| p.name())
            .collect();
        let passes = PassList::only(&passes);
        let run = |nodes: &[bfjit_backends::ir::Node], fuel: u64| {
            let mut out = Vec::new();
            let config = case.config.with_fuel(Some(fuel));
            let halt = evaluate(
                &case.program,
                nodes,
                &config,
                &mut &case.input[..],
                &mut out,
            );
            Outcome::new(halt, out)
        };
        let plain = guard(&case.program, lower(&case.program));
        let before = run(&plain, DEFAULT_BUDGET);
        if before.status == Status::OutOfFuel {
            return;
        }
        let optimized = optimize(&case.program, &passes);
        let after = run(&optimized, before.fuel_used);
        if let Some(d) = compare(&before, &after) {
            panic!(
                "passes '{passes}' change the outcome: {d} (unoptimized vs optimized)\nprogram: {}\n\
                 input: {:?}\ntape_len: {}\neof: {}",
                String::from_utf8_lossy(case.program.source()),
                case.input,
                case.config.tape_len,
                case.config.eof
            );
        }
    }
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

    #[test]
    fn classification_names_the_first_differing_byte() {
        let reference = run_reference(&case("+.+.", 4), 10);
        let mut other = reference.clone();
        other.output[1] = 9;
        let d = classify(&reference, "x", &Observed::Outcome(other)).unwrap();
        assert_eq!(d.class, Class::Output);
        assert!(d.message.contains("byte 1"), "{}", d.message);
        let mut other = reference.clone();
        other.tape[3] = 1;
        let d = classify(&reference, "x", &Observed::Outcome(other)).unwrap();
        assert_eq!(d.class, Class::Tape);
        assert!(d.to_string().starts_with("x disagrees"), "{d}");
        let d = classify(&reference, "x", &Observed::Crashed("signal 11".into())).unwrap();
        assert_eq!(d.class, Class::Crashed);
    }

    #[test]
    fn external_exit_code_is_compared_with_success() {
        let reference = run_reference(&case("<", 4), 10);
        let ok_exit = Observed::External {
            stdout: vec![],
            exit: ExitInfo::Code(0),
        };
        assert_eq!(
            classify(&reference, "e", &ok_exit).unwrap().class,
            Class::Status
        );
        let failed = Observed::External {
            stdout: vec![],
            exit: ExitInfo::Code(1),
        };
        assert_eq!(classify(&reference, "e", &failed), None);
    }
}
