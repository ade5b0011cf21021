//! Timing the cells of one workload (each backend: warm-up, then compile and run timed apart, the runs
//! of all backends taken in rounds, every output verified) and one compile-time scaling series.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use bfjit_backends::{
    Availability, Backend, CompileError, Config, Executable, Outcome, Program, Status,
};

use super::results::{Cell, ScalingPoint, Stats, Verdict};
use super::rounds::in_rounds;
use super::{Plan, Step, Workload};
use crate::case::panic_message;
use crate::corpus::Mismatch;

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
    Cell::without_time(backend.name(), verdict, Some(detail))
}

pub(super) fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.1} s")
    } else {
        format!("{:.0} ms", s * 1e3)
    }
}

/// A cell ready for its timed runs: warmed up, compiled (the compiles timed), its runs planned.
pub struct Ready {
    /// Backend name.
    backend: String,
    /// The last executable compiled, which the timed runs use.
    executable: Box<dyn Executable>,
    /// Timed compiles.
    compiles: Vec<Duration>,
    /// Timed runs planned (fewer than the plan's when the budget is short).
    planned: usize,
    /// One compile and run of the warm-up.
    per_run: Duration,
}

/// Measures one backend on one workload.
pub fn measure(backend: &dyn Backend, workload: &Workload, plan: &Plan) -> Cell {
    match prepare(backend, workload, plan) {
        Ok(ready) => time_in_rounds(vec![ready], workload, plan).remove(0),
        Err(cell) => *cell,
    }
}

/// Warms one cell up and times its compiles. Returns the cell ready for its timed runs, or the
/// finished cell when nothing is left to time (a failure, or a warm-up over the cell budget).
pub fn prepare(
    backend: &dyn Backend,
    workload: &Workload,
    plan: &Plan,
) -> Result<Ready, Box<Cell>> {
    if let Availability::Unsupported(why) = backend.availability() {
        return Err(Box::new(failed_cell(backend, (Verdict::Unsupported, why))));
    }
    let config = &workload.case.config;
    // Warm-up (also the probe that sizes the timed runs).
    let mut probe_times = (Duration::ZERO, Duration::ZERO);
    for _ in 0..plan.warmup.max(1) {
        match probe(backend, workload) {
            Ok(times) => probe_times = times,
            Err(failure) => return Err(Box::new(failed_cell(backend, failure))),
        }
    }
    let probe = probe_times;
    let per_run = probe.0 + probe.1;
    if per_run > plan.cell_budget {
        return Err(Box::new(Cell {
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
            process: None,
            instructions: None,
        }));
    }
    let fitting = (plan.cell_budget.as_secs_f64() / per_run.as_secs_f64().max(1e-9)) as usize;
    let planned = plan.runs.max(1).min(fitting.max(1));
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
            Err(failure) => return Err(Box::new(failed_cell(backend, failure))),
        }
    }
    let Some(executable) = executable else {
        return Err(Box::new(failed_cell(
            backend,
            (Verdict::Failed, "no executable".to_string()),
        )));
    };
    Ok(Ready {
        backend: backend.name().to_string(),
        executable,
        compiles,
        planned,
        per_run,
    })
}

/// Times the runs of cells ready on one workload, in rounds (see [`super::rounds`]): each run is
/// verified, and a cell whose run fails keeps the failure as its verdict.
pub fn time_in_rounds(ready: Vec<Ready>, workload: &Workload, plan: &Plan) -> Vec<Cell> {
    let planned: Vec<usize> = ready.iter().map(|r| r.planned).collect();
    let results = in_rounds(&planned, |k| {
        timed_run(ready[k].executable.as_ref(), workload)
    });
    let runs = plan.runs.max(1);
    ready
        .into_iter()
        .zip(results)
        .map(|(ready, result)| {
            let run_times = match result {
                Ok(times) => times,
                Err((verdict, detail)) => {
                    return Cell::without_time(&ready.backend, verdict, Some(detail))
                }
            };
            let capped = ready.planned < runs;
            Cell {
                detail: capped.then(|| {
                    format!(
                        "{} of {runs} runs: one compile and run took {}, and the budget per cell is {}",
                        ready.planned,
                        secs(ready.per_run),
                        secs(plan.cell_budget)
                    )
                }),
                backend: ready.backend,
                verdict: Verdict::Ok,
                compile: Stats::of(&ready.compiles),
                run: Stats::of(&run_times),
                capped,
                process: None,
                instructions: None,
            }
        })
        .collect()
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
pub(super) fn predicted_compile(
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
