//! Timing whole processes, start-up included: external engines (`--engine`) and our own backends run
//! as `bfjit run`, so that an engine that can only be run as a process is compared like for like.
//! Every run's standard output is verified against the workload's expected output, and its success
//! (exit code 0) against whether the workload expects an error.
//!
//! The clock runs from just before the spawn to the moment the process is reaped; the standard
//! output is read to its end first, so the wait returns as soon as the process exits.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bfjit_backends::outcome::first_mismatch;
use bfjit_backends::Config;

use super::measure::secs;
use super::results::{Cell, Stats, Verdict};
use super::rounds::in_rounds;
use super::{Plan, Workload};
use crate::case::ExitInfo;
use crate::dialect::Dialect;
use crate::external::ExternalEngine;
use crate::process_group::{self, ProcessRun};

/// How long one timed process may take before it is killed.
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(120);

/// A command to time, with placeholders substituted per workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Timed {
    /// An external engine.
    External(ExternalEngine),
    /// One of our backends run as `EXE run --backend NAME` (EXE: the `bfjit` binary).
    Bfjit {
        /// The `bfjit` executable.
        exe: PathBuf,
        /// The backend's registry name.
        backend: String,
    },
}

impl Timed {
    /// The command line that runs `file` under `config`.
    pub fn command_line(&self, file: &Path, config: &Config) -> Vec<String> {
        match self {
            Timed::External(engine) => engine.command_line(file, config),
            Timed::Bfjit { exe, backend } => vec![
                exe.display().to_string(),
                "run".into(),
                "--backend".into(),
                backend.clone(),
                "--tape-len".into(),
                config.tape_len().to_string(),
                "--eof".into(),
                config.eof().name().to_string(),
                file.display().to_string(),
            ],
        }
    }

    /// The dialect: an external engine's own, the contract's for a backend.
    fn dialect(&self) -> Dialect {
        match self {
            Timed::External(engine) => engine.dialect,
            Timed::Bfjit { .. } => Dialect::ANY,
        }
    }
}

/// Verifies one process run against the workload's expected output and status.
fn verify(run: &ProcessRun, workload: &Workload) -> Result<(), (Verdict, String)> {
    let expected = workload.case.expected_output.as_deref().unwrap_or(&[]);
    let wants_error = workload.case.expected_error.is_some();
    match &run.exit {
        ExitInfo::SpawnFailed(why) => {
            return Err((Verdict::Failed, format!("could not be started: {why}")))
        }
        // Too slow to measure is not a wrong answer: not measured, and said so.
        ExitInfo::TimedOut(t) => {
            return Err((
                Verdict::Skipped,
                format!("not measured: killed after {} without finishing", secs(*t)),
            ))
        }
        ExitInfo::Signal(_) => return Err((Verdict::Failed, run.exit.to_string())),
        ExitInfo::Code(code) if (*code == 0) == wants_error => {
            return Err((
                Verdict::Failed,
                format!(
                    "{}; expected {}",
                    run.exit,
                    if wants_error {
                        "an error exit"
                    } else {
                        "exit code 0"
                    }
                ),
            ))
        }
        ExitInfo::Code(_) => {}
    }
    if let Some(index) = first_mismatch(expected, &run.stdout) {
        let show = |b: Option<&u8>| b.map_or("end of output".to_string(), |b| format!("0x{b:02x}"));
        return Err((
            Verdict::Wrong,
            format!(
                "output differs at byte {index}: expected {}, got {}",
                show(expected.get(index)),
                show(run.stdout.get(index))
            ),
        ));
    }
    Ok(())
}

/// Why the workload is outside the engine's dialect, when it is (the cell is then skipped).
fn outside_dialect(timed: &Timed, workload: &Workload) -> Option<String> {
    let case = &workload.case;
    let expected = case.expected_output.as_deref().unwrap_or(&[]);
    let why = timed.dialect().excludes_expected(
        workload.program.source(),
        &case.config,
        &case.input,
        expected,
    )?;
    Some(format!("not measured: {why}"))
}

/// A whole-process measurement: the statistics and whether the budget cut the runs short, or why
/// there are none.
pub type ProcessTimes = Result<(Stats, bool), (Verdict, String)>;

/// A whole-process cell ready for its timed runs: warmed up, its runs planned.
pub struct ProcessReady {
    argv: Vec<String>,
    planned: usize,
}

/// The untimed, verified warm-up of a whole-process cell, which sizes its timed runs (up to
/// `plan.runs`) to the cell budget; `Skipped` when the workload is outside the engine's dialect.
pub fn prepare_process(
    timed: &Timed,
    workload: &Workload,
    plan: &Plan,
) -> Result<ProcessReady, (Verdict, String)> {
    if let Some(why) = outside_dialect(timed, workload) {
        return Err((Verdict::Skipped, why));
    }
    let argv = timed.command_line(&workload.case.path, &workload.case.config);
    let warmup = process_group::run(&argv, &workload.case.input, PROCESS_TIMEOUT);
    verify(&warmup, workload)?;
    let fitting =
        (plan.cell_budget.as_secs_f64() / warmup.elapsed.as_secs_f64().max(1e-9)) as usize;
    let planned = plan.runs.max(1).min(fitting.max(1));
    Ok(ProcessReady { argv, planned })
}

/// Times the whole processes of cells ready on one workload, in rounds (see [`super::rounds`]),
/// verifying each. Per cell: the statistics and whether the budget cut its runs short, or its
/// first failure.
pub fn time_processes_in_rounds(
    ready: &[ProcessReady],
    workload: &Workload,
    plan: &Plan,
) -> Vec<ProcessTimes> {
    let planned: Vec<usize> = ready.iter().map(|r| r.planned).collect();
    let results = in_rounds(&planned, |k| {
        let run = process_group::run(&ready[k].argv, &workload.case.input, PROCESS_TIMEOUT);
        verify(&run, workload)?;
        Ok(run.elapsed)
    });
    results
        .into_iter()
        .zip(ready)
        .map(|(times, ready)| {
            let stats = Stats::of(&times?).ok_or((Verdict::Failed, "no timed run".to_string()))?;
            Ok((stats, ready.planned < plan.runs.max(1)))
        })
        .collect()
}

/// A cell for an external engine from its whole-process measurement: its whole-process time is its
/// run time (there is no compile).
pub fn external_cell(engine: &ExternalEngine, measured: ProcessTimes, plan: &Plan) -> Cell {
    match measured {
        Ok((stats, capped)) => Cell {
            backend: engine.name.clone(),
            verdict: Verdict::Ok,
            detail: capped.then(|| {
                format!(
                    "{} of {} runs: over the {} budget per cell",
                    stats.samples,
                    plan.runs,
                    secs(plan.cell_budget)
                )
            }),
            compile: None,
            run: Some(stats),
            capped,
            process: Some(stats),
            instructions: None,
        },
        Err((verdict, detail)) => Cell::without_time(&engine.name, verdict, Some(detail)),
    }
}

/// Start-up cost of `timed`: whole processes on an empty program (3 runs, or `plan.runs` if fewer).
pub fn startup(timed: &Timed, plan: &Plan) -> Option<Stats> {
    let dir = tempfile::Builder::new()
        .prefix("bfjit-startup-")
        .tempdir()
        .ok()?;
    let file = dir.path().join("empty.bf");
    std::fs::write(&file, b"").ok()?;
    let workload = Workload::from_parts("empty", b"", b"", b"").ok()?;
    let mut config = workload.case.config;
    if let Some(n) = timed.dialect().pinned_tape_len() {
        config = config.with_tape_len(n).ok()?;
    }
    if let Some(eof) = timed.dialect().pinned_eof() {
        config = config.with_eof(eof);
    }
    let argv = timed.command_line(&file, &config);
    let mut times = Vec::new();
    for _ in 0..plan.runs.clamp(1, 3) + 1 {
        let run = process_group::run(&argv, b"", PROCESS_TIMEOUT);
        if !matches!(run.exit, ExitInfo::Code(0)) || !run.stdout.is_empty() {
            return None;
        }
        times.push(run.elapsed);
    }
    // The first run warms the file cache and is not counted.
    Stats::of(&times[1..])
}
