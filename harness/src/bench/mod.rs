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
//!
//! Peers: external engines (`--engine`) are timed as whole processes, start-up included, and, when
//! the plan names the `bfjit` executable, every backend is timed as a whole `bfjit run` process too
//! (the cell's `process` time), so the two compare like for like; each engine's start-up cost (a
//! process on an empty program) is measured apart. With `callgrind`, each cell's whole process is
//! also run once under `valgrind --tool=callgrind` and its instructions counted.
//!
//! Side by side: on each workload, the timed runs of all backends are taken in rounds (each backend
//! once per round, the order rotating), and so are the whole processes, so a machine whose speed
//! drifts during the measurement slows every engine alike.
//!
//! Modules: [`workload`] loads the benchmark programs, [`measure`] times cells or one scaling series
//! in process, [`process`] times whole processes, [`rounds`] orders timed runs in rounds, [`callgrind`] counts instructions,
//! [`changes`] compares with an older run, [`results`] is the `results.json` schema,
//! [`environment`] describes the machine; this module holds the plan and the run over every cell.

pub mod callgrind;
pub mod changes;
pub mod environment;
pub mod measure;
pub mod process;
pub mod results;
pub mod rounds;
pub mod workload;

use std::path::PathBuf;
use std::time::Duration;

use crate::external::ExternalEngine;
use process::Timed;

use bfjit_backends::{Availability, Backend};

use crate::corpus::config_text;
pub use measure::{measure, measure_scaling, probe, scaling_programs, verify};
use measure::{predicted_compile, secs};
pub use results::{
    BackendInfo, Cell, Results, ScalingPoint, Settings, Stats, Verdict, WorkloadResults,
    SCHEMA_VERSION,
};
pub use workload::{load_workloads, LoadError, Workload};

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
    /// External engines, timed as whole processes after the backends.
    pub externals: Vec<ExternalEngine>,
    /// The `bfjit` executable: when set, every backend is also timed as a `bfjit run` process.
    pub bfjit: Option<PathBuf>,
    /// Whether to count each cell's instructions with callgrind (needs `bfjit` for backends).
    pub callgrind: bool,
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
            externals: Vec::new(),
            bfjit: None,
            callgrind: false,
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
            externals: Vec::new(),
            bfjit: None,
            callgrind: false,
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
    ((backends.len() + plan.externals.len()) * workloads.len()
        + available * plan.scaling_sizes.len()) as u64
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
                external: false,
                command: None,
                startup: match (&plan.bfjit, available) {
                    (Some(exe), true) => process::startup(
                        &Timed::Bfjit {
                            exe: exe.clone(),
                            backend: b.name().to_string(),
                        },
                        plan,
                    ),
                    _ => None,
                },
            }
        })
        .chain(plan.externals.iter().map(|e| BackendInfo {
            name: e.name.clone(),
            summary: "external engine, timed as a whole process".to_string(),
            available: true,
            note: None,
            external: true,
            command: Some(e.argv.join(" ")),
            startup: process::startup(&Timed::External(e.clone()), plan),
        }))
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
        let cells = measure_workload(backends, workload, plan, &scaling, &mut notes, progress);
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
        baseline: None,
        changes: Vec::new(),
    }
}

/// Measures every backend and external engine on one workload. Each backend is warmed up and compiled
/// in turn; then the in-process runs of all of them are timed in rounds, and then the whole processes
/// (backends as `bfjit run` when the plan names the executable, and the external engines), also in
/// rounds, so that every ratio between two cells compares runs made side by side.
fn measure_workload(
    backends: &[&dyn Backend],
    workload: &Workload,
    plan: &Plan,
    scaling: &[ScalingPoint],
    notes: &mut Vec<String>,
    progress: &mut dyn FnMut(Step<'_>),
) -> Vec<Cell> {
    let mut cells: Vec<Option<Cell>> = vec![None; backends.len()];
    let mut ready = Vec::new();
    let mut ready_at = Vec::new();
    for (k, &backend) in backends.iter().enumerate() {
        progress(Step::Cell {
            workload: workload.name(),
            backend: backend.name(),
        });
        match predicted_compile(scaling, backend.name(), workload.program.len()) {
            Some((predicted, why)) if predicted > plan.compile_budget.as_secs_f64() => {
                cells[k] = Some(Cell::without_time(
                    backend.name(),
                    Verdict::Skipped,
                    Some(format!(
                        "not measured: compiling its {} commands would take about {} ({why}), over the {} compile budget",
                        workload.program.len(),
                        secs(Duration::from_secs_f64(predicted)),
                        secs(plan.compile_budget)
                    )),
                ))
            }
            _ => match measure::prepare(backend, workload, plan) {
                Ok(r) => {
                    ready.push(r);
                    ready_at.push(k);
                }
                Err(cell) => cells[k] = Some(*cell),
            },
        }
        progress(Step::Done);
    }
    for (k, cell) in ready_at
        .into_iter()
        .zip(measure::time_in_rounds(ready, workload, plan))
    {
        cells[k] = Some(cell);
    }
    let mut cells: Vec<Cell> = cells.into_iter().flatten().collect();

    // Whole processes: every verified backend (when the plan names `bfjit`), then the external engines.
    let mut timed: Vec<(Option<usize>, Timed)> = Vec::new();
    if let Some(exe) = &plan.bfjit {
        for (k, cell) in cells.iter().enumerate() {
            if cell.verdict == Verdict::Ok {
                let backend = cell.backend.clone();
                timed.push((
                    Some(k),
                    Timed::Bfjit {
                        exe: exe.clone(),
                        backend,
                    },
                ));
            }
        }
    }
    timed.extend(
        plan.externals
            .iter()
            .map(|e| (None, Timed::External(e.clone()))),
    );
    let mut prepared = Vec::new();
    let mut measured: Vec<Option<process::ProcessTimes>> = Vec::new();
    let mut prepared_at = Vec::new();
    for (k, (_, t)) in timed.iter().enumerate() {
        if let Timed::External(engine) = t {
            progress(Step::Cell {
                workload: workload.name(),
                backend: &engine.name,
            });
        }
        match process::prepare_process(t, workload, plan) {
            Ok(r) => {
                prepared.push(r);
                prepared_at.push(k);
                measured.push(None);
            }
            Err(failure) => measured.push(Some(Err(failure))),
        }
        if matches!(t, Timed::External(_)) {
            progress(Step::Done);
        }
    }
    for (k, result) in prepared_at
        .into_iter()
        .zip(process::time_processes_in_rounds(&prepared, workload, plan))
    {
        measured[k] = Some(result);
    }
    for ((at, t), result) in timed.iter().zip(measured) {
        let result = result.expect("every process cell was measured or failed");
        let cell = match (at, t) {
            (Some(k), _) => {
                let cell = &mut cells[*k];
                match result {
                    Ok((stats, _)) => cell.process = Some(stats),
                    Err((verdict, detail)) => {
                        *cell = Cell::without_time(
                            &cell.backend,
                            verdict,
                            Some(format!("as a bfjit run process: {detail}")),
                        )
                    }
                }
                cell
            }
            (None, Timed::External(engine)) => {
                cells.push(process::external_cell(engine, result, plan));
                cells.last_mut().expect("just pushed")
            }
            (None, Timed::Bfjit { .. }) => unreachable!("backends are numbered"),
        };
        if plan.callgrind && cell.verdict == Verdict::Ok {
            count(cell, t, workload, notes);
        }
    }
    for cell in &cells {
        if cell.verdict == Verdict::Skipped || cell.capped {
            if let Some(detail) = &cell.detail {
                notes.push(format!("{} on {}: {detail}", cell.backend, workload.name()));
            }
        }
    }
    cells
}

/// Counts a verified cell's instructions with callgrind; a failure becomes a note.
fn count(cell: &mut Cell, timed: &Timed, workload: &Workload, notes: &mut Vec<String>) {
    match callgrind::count_instructions(timed, workload) {
        Ok(n) => cell.instructions = Some(n),
        Err(why) => notes.push(format!(
            "{} on {}: no instruction count: {why}",
            cell.backend,
            workload.name()
        )),
    }
}
