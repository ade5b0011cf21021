//! The measurement engine behind `bfjit bench`: compiles and runs each workload on each backend, timing
//! compile and run apart, after a warm-up, over several runs, and verifies every output against the
//! workload's expected output. A wrong answer or a failure is recorded as such, never as a time.
//!
//! Time budget: each (workload, backend) cell first does an untimed warm-up compile and run. If that
//! alone took longer than the plan's cell budget (the reference interpreter on a large workload), the
//! warm-up timings are kept as the cell's only sample and the cell is marked `capped`; otherwise the
//! number of timed runs is reduced so that they fit the budget (at least one). The results say which
//! cells were capped, and the report prints it.
//!
//! The engine prints nothing: progress is reported through a callback.

pub mod environment;
pub mod results;

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bfjit_backends::{
    Availability, Backend, CompileError, Config, Executable, Outcome, ParseError, Program, Status,
};

use crate::case::panic_message;
use crate::corpus::{self, config_text, CorpusCase, CorpusError, Mismatch};
pub use results::{
    BackendInfo, Cell, Results, ScalingPoint, Settings, Stats, Verdict, WorkloadResults,
    SCHEMA_VERSION,
};

/// One benchmark program with its input, configuration and expected output.
#[derive(Clone, Debug)]
pub struct Workload {
    /// The corpus case it was loaded from (name, path, input, expected files, configuration).
    pub case: CorpusCase,
    /// The parsed program.
    pub program: Program,
}

impl Workload {
    /// A workload from a corpus case; the case must have an expected output.
    pub fn from_case(case: CorpusCase) -> Result<Workload, LoadError> {
        if case.expected_output.is_none() {
            return Err(LoadError::NoExpectedOutput {
                path: case.path.with_extension("out"),
            });
        }
        let program = case.program().map_err(|error| LoadError::Parse {
            path: case.path.clone(),
            error,
        })?;
        Ok(Workload { case, program })
    }

    /// A workload from in-memory parts (tests, generated programs).
    pub fn from_parts(
        name: &str,
        source: &[u8],
        input: &[u8],
        expected: &[u8],
    ) -> Result<Workload, LoadError> {
        let case = CorpusCase {
            name: name.to_string(),
            path: PathBuf::from(format!("{name}.bf")),
            source: source.to_vec(),
            input: input.to_vec(),
            expected_output: Some(expected.to_vec()),
            expected_error: None,
            config: Config::default(),
            slow: false,
        };
        Workload::from_case(case)
    }

    /// The workload's name (file stem).
    pub fn name(&self) -> &str {
        &self.case.name
    }
}

/// Why workloads could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// A corpus file could not be read or is malformed.
    Corpus(CorpusError),
    /// A path given does not exist.
    NotFound {
        /// The missing path.
        path: PathBuf,
    },
    /// A file given is not a `.bf` file.
    NotBf {
        /// The file.
        path: PathBuf,
    },
    /// A workload has no `NAME.out`: its output could not be verified.
    NoExpectedOutput {
        /// The missing `.out` path.
        path: PathBuf,
    },
    /// A workload does not parse.
    Parse {
        /// The `.bf` file.
        path: PathBuf,
        /// The parse error.
        error: ParseError,
    },
    /// No `.bf` files were found in the paths given.
    Empty {
        /// The paths searched.
        paths: Vec<PathBuf>,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Corpus(e) => write!(f, "{e}"),
            LoadError::NotFound { path } => {
                write!(f, "{}: no such file or directory", path.display())
            }
            LoadError::NotBf { path } => {
                write!(
                    f,
                    "{}: not a .bf file (give .bf files or directories)",
                    path.display()
                )
            }
            LoadError::NoExpectedOutput { path } => write!(
                f,
                "{} is missing: every benchmark output is verified, so each NAME.bf needs NAME.out",
                path.display()
            ),
            LoadError::Parse { path, error } => write!(f, "{}: {error}", path.display()),
            LoadError::Empty { paths } => {
                let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                write!(f, "no .bf workloads found in {}", list.join(", "))
            }
        }
    }
}

impl std::error::Error for LoadError {}

impl From<CorpusError> for LoadError {
    fn from(e: CorpusError) -> Self {
        LoadError::Corpus(e)
    }
}

/// Loads workloads from `.bf` files and directories (a directory's own `*.bf` files, not its
/// subdirectories'), sorted by name within each directory.
pub fn load_workloads(paths: &[PathBuf]) -> Result<Vec<Workload>, LoadError> {
    let mut workloads = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|error| CorpusError::Io {
                path: path.clone(),
                error,
            })?;
            let mut files = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|error| CorpusError::Io {
                    path: path.clone(),
                    error,
                })?;
                let file = entry.path();
                if file.is_file() && file.extension().is_some_and(|e| e == "bf") {
                    files.push(file);
                }
            }
            files.sort();
            for file in files {
                let case = corpus::load_case(path, &file)?;
                workloads.push(Workload::from_case(case)?);
            }
        } else if path.is_file() {
            if path.extension().is_none_or(|e| e != "bf") {
                return Err(LoadError::NotBf { path: path.clone() });
            }
            let root = path.parent().unwrap_or(Path::new("."));
            workloads.push(Workload::from_case(corpus::load_case(root, path)?)?);
        } else {
            return Err(LoadError::NotFound { path: path.clone() });
        }
    }
    if workloads.is_empty() {
        return Err(LoadError::Empty {
            paths: paths.to_vec(),
        });
    }
    Ok(workloads)
}

/// How to measure: runs, warm-up, time budgets and the scaling sizes.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Timed runs per cell (the budget may lower it, never below one).
    pub runs: usize,
    /// Untimed warm-up compile+run pairs per cell (at least one is always done: it is the probe).
    pub warmup: usize,
    /// Time the timed runs of one cell may take; see the module comment.
    pub cell_budget: Duration,
    /// Program sizes, in commands, for the compile-time scaling measurement (empty: none).
    pub scaling_sizes: Vec<usize>,
    /// Timed compiles per scaling point.
    pub scaling_runs: usize,
    /// Time one scaling compile may be predicted to take before larger sizes are skipped.
    pub scaling_budget: Duration,
    /// A cell whose compile is predicted (from the scaling measurement) to take longer than this is
    /// skipped, since a running compile cannot be interrupted.
    pub compile_budget: Duration,
    /// Whether this is the quick plan (recorded in the results).
    pub quick: bool,
}

/// The program sizes of the compile-time scaling measurement.
pub const SCALING_SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];

impl Plan {
    /// The full plan: 10 runs, 30 s per cell, 3 compiles per scaling point, 10 min per compile.
    pub fn full() -> Plan {
        Plan {
            runs: 10,
            warmup: 1,
            cell_budget: Duration::from_secs(30),
            scaling_sizes: SCALING_SIZES.to_vec(),
            scaling_runs: 3,
            scaling_budget: Duration::from_secs(20),
            compile_budget: Duration::from_secs(600),
            quick: false,
        }
    }

    /// The quick plan: 3 runs, 3 s per cell, one compile per scaling point, 20 s per compile.
    pub fn quick() -> Plan {
        Plan {
            runs: 3,
            warmup: 1,
            cell_budget: Duration::from_secs(3),
            scaling_sizes: SCALING_SIZES.to_vec(),
            scaling_runs: 1,
            scaling_budget: Duration::from_secs(4),
            compile_budget: Duration::from_secs(20),
            quick: true,
        }
    }
}

/// A progress report from [`run`]: a step starts or ends.
#[derive(Clone, Copy, Debug)]
pub enum Step<'a> {
    /// Measuring a backend on a workload starts.
    Cell {
        /// Workload name.
        workload: &'a str,
        /// Backend name.
        backend: &'a str,
    },
    /// Measuring a backend's compile time at one program size starts.
    Scaling {
        /// Backend name.
        backend: &'a str,
        /// Program size in commands.
        commands: usize,
    },
    /// The step last started has ended.
    Done,
}

/// The number of [`Step::Done`] reports [`run`] will make.
pub fn step_count(backends: &[&dyn Backend], workloads: &[Workload], plan: &Plan) -> u64 {
    let available = backends
        .iter()
        .filter(|b| b.availability() == Availability::Available)
        .count();
    (backends.len() * workloads.len() + available * plan.scaling_sizes.len()) as u64
}

/// Why a step produced no time.
type Failure = (Verdict, String);

fn timed_compile(
    backend: &dyn Backend,
    program: &Program,
    config: &Config,
) -> Result<(Box<dyn Executable>, Duration), Failure> {
    let start = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| backend.compile(program, config)));
    let elapsed = start.elapsed();
    match result {
        Ok(Ok(executable)) => Ok((executable, elapsed)),
        Ok(Err(CompileError::Unsupported(why))) => Err((Verdict::Unsupported, why)),
        Ok(Err(e)) => Err((Verdict::CompileError, e.to_string())),
        Err(payload) => Err((
            Verdict::Failed,
            format!("compile panicked: {}", panic_message(payload.as_ref())),
        )),
    }
}

/// Runs once, timed, and verifies the result against the workload's expected files.
fn timed_run(executable: &dyn Executable, workload: &Workload) -> Result<Duration, Failure> {
    let expected_len = workload.case.expected_output.as_ref().map_or(0, Vec::len);
    let mut input: &[u8] = &workload.case.input;
    let mut output = Vec::with_capacity(expected_len + 64);
    let start = Instant::now();
    let halt = catch_unwind(AssertUnwindSafe(|| executable.run(&mut input, &mut output)));
    let elapsed = start.elapsed();
    let halt = halt.map_err(|payload| {
        (
            Verdict::Failed,
            format!("run panicked: {}", panic_message(payload.as_ref())),
        )
    })?;
    let outcome = Outcome::new(halt, output);
    match workload.case.check(&outcome) {
        Ok(()) => Ok(elapsed),
        Err(mismatch @ Mismatch::Output { .. }) => {
            // An early error status explains a short output better than the byte does.
            if outcome.status != Status::Ok && workload.case.expected_error.is_none() {
                Err((Verdict::Failed, format!("{}; {mismatch}", outcome.status)))
            } else {
                Err((Verdict::Wrong, mismatch.to_string()))
            }
        }
        Err(mismatch @ Mismatch::Status { .. }) => Err((Verdict::Failed, mismatch.to_string())),
    }
}

/// Compiles and runs once, verifying the result: the untimed warm-up of a cell, also used by the
/// criterion benches to check a pair before timing it. Returns the compile and run times.
pub fn probe(
    backend: &dyn Backend,
    workload: &Workload,
) -> Result<(Duration, Duration), (Verdict, String)> {
    if let Availability::Unsupported(why) = backend.availability() {
        return Err((Verdict::Unsupported, why));
    }
    let (executable, compile) = timed_compile(backend, &workload.program, &workload.case.config)?;
    let run = timed_run(executable.as_ref(), workload)?;
    Ok((compile, run))
}

/// Runs an executable once and verifies the result against the workload's expected files.
pub fn verify(executable: &dyn Executable, workload: &Workload) -> Result<(), (Verdict, String)> {
    timed_run(executable, workload).map(|_| ())
}

fn failed_cell(backend: &dyn Backend, (verdict, detail): Failure) -> Cell {
    Cell {
        backend: backend.name().to_string(),
        verdict,
        detail: Some(detail),
        compile: None,
        run: None,
        capped: false,
    }
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.1} s")
    } else {
        format!("{:.0} ms", s * 1e3)
    }
}

/// Measures one backend on one workload.
pub fn measure(backend: &dyn Backend, workload: &Workload, plan: &Plan) -> Cell {
    if let Availability::Unsupported(why) = backend.availability() {
        return failed_cell(backend, (Verdict::Unsupported, why));
    }
    let config = &workload.case.config;
    // Warm-up (also the probe that sizes the timed runs).
    let mut probe_times = (Duration::ZERO, Duration::ZERO);
    for _ in 0..plan.warmup.max(1) {
        match probe(backend, workload) {
            Ok(times) => probe_times = times,
            Err(failure) => return failed_cell(backend, failure),
        }
    }
    let probe = probe_times;
    let per_run = probe.0 + probe.1;
    let runs = plan.runs.max(1);
    if per_run > plan.cell_budget {
        return Cell {
            backend: backend.name().to_string(),
            verdict: Verdict::Ok,
            detail: Some(format!(
                "one run only: a compile and run took {}, over the {} budget per cell (the warm-up run is the sample)",
                secs(per_run),
                secs(plan.cell_budget)
            )),
            compile: Stats::of(&[probe.0]),
            run: Stats::of(&[probe.1]),
            capped: true,
        };
    }
    let fitting = (plan.cell_budget.as_secs_f64() / per_run.as_secs_f64().max(1e-9)) as usize;
    let planned = runs.min(fitting.max(1));
    let mut compiles = Vec::with_capacity(planned);
    let mut executable = None;
    for _ in 0..planned {
        // The previous executable is dropped before the next compile, outside the timing.
        drop(executable.take());
        match timed_compile(backend, &workload.program, config) {
            Ok((exe, time)) => {
                compiles.push(time);
                executable = Some(exe);
            }
            Err(failure) => return failed_cell(backend, failure),
        }
    }
    let Some(executable) = executable else {
        return failed_cell(backend, (Verdict::Failed, "no executable".to_string()));
    };
    let mut run_times = Vec::with_capacity(planned);
    for _ in 0..planned {
        match timed_run(executable.as_ref(), workload) {
            Ok(time) => run_times.push(time),
            Err(failure) => return failed_cell(backend, failure),
        }
    }
    let capped = planned < runs;
    Cell {
        backend: backend.name().to_string(),
        verdict: Verdict::Ok,
        detail: capped.then(|| {
            format!(
                "{planned} of {runs} runs: one compile and run took {}, and the budget per cell is {}",
                secs(per_run),
                secs(plan.cell_budget)
            )
        }),
        compile: Stats::of(&compiles),
        run: Stats::of(&run_times),
        capped,
    }
}

/// Measures a backend's compile time on each scaling program (`(size, program)` pairs, ascending).
/// Once a compile is predicted (linearly) to exceed the scaling budget, larger sizes are skipped.
pub fn measure_scaling(
    backend: &dyn Backend,
    programs: &[(usize, Program)],
    plan: &Plan,
    progress: &mut dyn FnMut(Step<'_>),
) -> Vec<ScalingPoint> {
    let config = Config::default();
    let mut points = Vec::new();
    let mut stop: Option<(Verdict, String)> = None;
    for (i, (size, program)) in programs.iter().enumerate() {
        progress(Step::Scaling {
            backend: backend.name(),
            commands: *size,
        });
        let mut point = ScalingPoint {
            backend: backend.name().to_string(),
            commands: *size,
            verdict: Verdict::Ok,
            detail: None,
            compile: None,
        };
        if let Some((verdict, detail)) = &stop {
            point.verdict = *verdict;
            point.detail = Some(detail.clone());
        } else {
            let mut times = Vec::new();
            let wanted = plan.scaling_runs.max(1);
            while times.len() < wanted {
                match timed_compile(backend, program, &config) {
                    Ok((executable, time)) => {
                        drop(executable);
                        times.push(time);
                        // A slow compile is not repeated beyond the budget.
                        let spent: Duration = times.iter().sum();
                        if spent + time > plan.scaling_budget {
                            break;
                        }
                    }
                    Err((verdict, detail)) => {
                        point.verdict = verdict;
                        point.detail = Some(detail.clone());
                        stop = Some((
                            Verdict::Skipped,
                            format!("skipped: compiling {size} commands failed"),
                        ));
                        break;
                    }
                }
            }
            point.compile = Stats::of(&times);
            if point.verdict != Verdict::Ok {
                point.compile = None;
            }
            if let (Some(stats), Some((next, _))) = (point.compile, programs.get(i + 1)) {
                let predicted = stats.median * (*next as f64 / *size as f64);
                if predicted > plan.scaling_budget.as_secs_f64() {
                    stop = Some((
                        Verdict::Skipped,
                        format!(
                            "skipped: {size} commands took {}, so {next} would take about {}, over the {} budget",
                            secs(Duration::from_secs_f64(stats.median)),
                            secs(Duration::from_secs_f64(predicted)),
                            secs(plan.scaling_budget)
                        ),
                    ));
                }
            }
        }
        points.push(point);
        progress(Step::Done);
    }
    points
}

/// The scaling programs for the plan's sizes.
pub fn scaling_programs(plan: &Plan) -> Vec<(usize, Program)> {
    let mut sizes = plan.scaling_sizes.clone();
    sizes.sort_unstable();
    sizes
        .into_iter()
        .filter_map(|n| {
            Program::parse(crate::workloads::scaling_program(n))
                .ok()
                .map(|p| (n, p))
        })
        .collect()
}

/// The compile time of `commands` commands on `backend` predicted linearly from the largest measured
/// scaling point, with a note on where the prediction comes from.
fn predicted_compile(
    scaling: &[ScalingPoint],
    backend: &str,
    commands: usize,
) -> Option<(f64, String)> {
    let point = scaling
        .iter()
        .filter(|p| p.backend == backend && p.verdict == Verdict::Ok)
        .max_by_key(|p| p.commands)?;
    let median = point.compile?.median;
    let predicted = median * commands as f64 / point.commands.max(1) as f64;
    let why = format!(
        "{} commands took {}",
        point.commands,
        secs(Duration::from_secs_f64(median))
    );
    Some((predicted, why))
}

/// Measures compile-time scaling, then every backend on every workload (skipping cells whose
/// compile the scaling predicts to exceed the compile budget), and collects the results.
pub fn run(
    backends: &[&dyn Backend],
    workloads: &[Workload],
    plan: &Plan,
    progress: &mut dyn FnMut(Step<'_>),
) -> Results {
    let created = environment::now_iso();
    let environment = environment::capture();
    let infos: Vec<BackendInfo> = backends
        .iter()
        .map(|b| {
            let (available, note) = match b.availability() {
                Availability::Available => (true, None),
                Availability::Unsupported(why) => (false, Some(why)),
            };
            BackendInfo {
                name: b.name().to_string(),
                summary: b.summary().to_string(),
                available,
                note,
            }
        })
        .collect();
    // Scaling first: its compile rates predict which cells would compile for too long.
    let mut notes = Vec::new();
    let mut scaling = Vec::new();
    if !plan.scaling_sizes.is_empty() {
        let programs = scaling_programs(plan);
        for &backend in backends {
            if backend.availability() != Availability::Available {
                continue;
            }
            let points = measure_scaling(backend, &programs, plan, progress);
            for point in &points {
                if point.verdict == Verdict::Skipped {
                    if let Some(detail) = &point.detail {
                        notes.push(format!("scaling, {}: {detail}", point.backend));
                    }
                    break;
                }
            }
            scaling.extend(points);
        }
    }
    let mut workload_results = Vec::new();
    for workload in workloads {
        let mut cells = Vec::new();
        for &backend in backends {
            progress(Step::Cell {
                workload: workload.name(),
                backend: backend.name(),
            });
            let cell = match predicted_compile(&scaling, backend.name(), workload.program.len()) {
                Some((predicted, why)) if predicted > plan.compile_budget.as_secs_f64() => Cell {
                    backend: backend.name().to_string(),
                    verdict: Verdict::Skipped,
                    detail: Some(format!(
                        "not measured: compiling its {} commands would take about {} ({why}), over the {} compile budget",
                        workload.program.len(),
                        secs(Duration::from_secs_f64(predicted)),
                        secs(plan.compile_budget)
                    )),
                    compile: None,
                    run: None,
                    capped: false,
                },
                _ => measure(backend, workload, plan),
            };
            if cell.verdict == Verdict::Skipped {
                if let Some(detail) = &cell.detail {
                    notes.push(format!("{} on {}: {detail}", cell.backend, workload.name()));
                }
            }
            if cell.capped {
                if let Some(detail) = &cell.detail {
                    notes.push(format!("{} on {}: {detail}", cell.backend, workload.name()));
                }
            }
            cells.push(cell);
            progress(Step::Done);
        }
        let config = config_text(&workload.case.config, false);
        workload_results.push(WorkloadResults {
            name: workload.name().to_string(),
            path: workload.case.path.display().to_string(),
            commands: workload.program.len(),
            input_bytes: workload.case.input.len(),
            output_bytes: workload.case.expected_output.as_ref().map_or(0, Vec::len),
            config: if config.is_empty() {
                "default (30000 cells, eof unchanged)".to_string()
            } else {
                config.trim_end().replace('\n', ", ")
            },
            cells,
        });
    }
    Results {
        schema: SCHEMA_VERSION,
        created,
        environment,
        settings: Settings {
            runs: plan.runs,
            warmup: plan.warmup.max(1),
            cell_budget_secs: plan.cell_budget.as_secs_f64(),
            compile_budget_secs: plan.compile_budget.as_secs_f64(),
            quick: plan.quick,
            scaling_sizes: plan.scaling_sizes.clone(),
        },
        backends: infos,
        workloads: workload_results,
        scaling,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_programs_have_the_planned_sizes() {
        let mut plan = Plan::quick();
        plan.scaling_sizes = vec![1000, 10];
        let programs = scaling_programs(&plan);
        let sizes: Vec<(usize, usize)> = programs.iter().map(|(n, p)| (*n, p.len())).collect();
        assert_eq!(sizes, vec![(10, 10), (1000, 1000)]);
    }
}
