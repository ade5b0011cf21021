//! The results file of `bfjit bench` (`results.json`): what was measured, where, and how, as serde types.
//!
//! The shape is documented in docs/report.md. Times are in seconds. A cell whose output was wrong or
//! whose run failed carries a verdict and a detail, never a time.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The version of the results format written by this build.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything one `bfjit bench` run measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Format version ([`SCHEMA_VERSION`]).
    pub schema: u32,
    /// When the run started, ISO 8601 UTC (e.g. `2025-01-31T12:00:00Z`).
    pub created: String,
    /// The machine and toolchain the run used.
    pub environment: Environment,
    /// How the run measured.
    pub settings: Settings,
    /// Every backend considered, available or not.
    pub backends: Vec<BackendInfo>,
    /// One entry per workload, each with one cell per backend.
    pub workloads: Vec<WorkloadResults>,
    /// Compile time against program size, per backend.
    #[serde(default)]
    pub scaling: Vec<ScalingPoint>,
    /// Free-text remarks on what was done (budget caps, skipped sizes).
    #[serde(default)]
    pub notes: Vec<String>,
    /// The run compared with (`--baseline`, `--compare`): its path and creation time.
    #[serde(default)]
    pub baseline: Option<String>,
    /// Per cell, the change against the baseline run (see [`crate::bench::changes`]).
    #[serde(default)]
    pub changes: Vec<super::changes::Change>,
}

/// The machine and toolchain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// CPU model name.
    pub cpu: String,
    /// Logical CPUs.
    pub cores: usize,
    /// Operating system and kernel.
    pub os: String,
    /// `rustc -V`.
    pub rustc: String,
    /// The C compiler's first `--version` line.
    pub cc: String,
    /// Versions of the crates that matter for the numbers.
    pub crates: Vec<CrateVersion>,
}

/// One crate and its version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CrateVersion {
    /// Crate name.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// How the measurements were taken.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Timed runs asked for per cell (after the warm-up).
    pub runs: usize,
    /// Untimed warm-up compiles and runs per cell.
    pub warmup: usize,
    /// Seconds one cell may take before its runs are reduced (a single run over it is kept alone).
    pub cell_budget_secs: f64,
    /// Seconds a single compile may be predicted to take before its cell is skipped.
    #[serde(default)]
    pub compile_budget_secs: f64,
    /// Whether this was a `--quick` run.
    pub quick: bool,
    /// Program sizes (in commands) of the compile-time scaling measurement.
    #[serde(default)]
    pub scaling_sizes: Vec<usize>,
}

/// A backend and whether it could run here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// Registry name.
    pub name: String,
    /// One-line description.
    pub summary: String,
    /// Whether it runs on this machine.
    pub available: bool,
    /// Why not, when unavailable.
    pub note: Option<String>,
    /// Whether it is an external engine (`--engine`): timed as a whole process only.
    #[serde(default)]
    pub external: bool,
    /// An external engine's command (placeholders unsubstituted).
    #[serde(default)]
    pub command: Option<String>,
    /// Start-up cost: a whole process (`bfjit run` for a backend) on an empty program.
    #[serde(default)]
    pub startup: Option<Stats>,
}

/// One workload and its cells.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkloadResults {
    /// File stem, e.g. `mandelbrot`.
    pub name: String,
    /// Path of the `.bf` file as given.
    pub path: String,
    /// Number of BF commands.
    pub commands: usize,
    /// Bytes of input fed to the program.
    pub input_bytes: usize,
    /// Bytes of expected output.
    pub output_bytes: usize,
    /// The run configuration from the workload's `.cfg` (`tape_len = 30000, eof = unchanged` style).
    pub config: String,
    /// One cell per backend, in registry order.
    pub cells: Vec<Cell>,
}

/// What a cell's measurement came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every run produced exactly the expected output; times are valid.
    Ok,
    /// A run ended normally but its output differs from the expected output.
    Wrong,
    /// A run ended with an error status or panicked.
    Failed,
    /// The backend refused or failed to compile the program.
    CompileError,
    /// The backend does not run on this machine.
    Unsupported,
    /// Not measured: over a time budget (the detail says which).
    Skipped,
}

impl Verdict {
    /// The verdict as results.json spells it.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Wrong => "wrong",
            Verdict::Failed => "failed",
            Verdict::CompileError => "compile_error",
            Verdict::Unsupported => "unsupported",
            Verdict::Skipped => "skipped",
        }
    }

    /// Whether this verdict means a backend misbehaved (as opposed to ok, unsupported or skipped).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Verdict::Wrong | Verdict::Failed | Verdict::CompileError
        )
    }
}

/// One backend on one workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Backend name.
    pub backend: String,
    /// Outcome of the measurement.
    pub verdict: Verdict,
    /// What went wrong, or what was done instead of the full plan.
    pub detail: Option<String>,
    /// Compile time, when the verdict is `ok`.
    pub compile: Option<Stats>,
    /// Run time, when the verdict is `ok`. For an external engine, the whole process (start-up,
    /// its own compile and the run): the only time it has.
    pub run: Option<Stats>,
    /// Whether fewer timed runs than asked were taken because of the cell budget.
    #[serde(default)]
    pub capped: bool,
    /// Whole-process time (start-up included; for a backend, `bfjit run`), when measured.
    #[serde(default)]
    pub process: Option<Stats>,
    /// Instructions counted by callgrind for one whole process, when measured (`--callgrind`).
    #[serde(default)]
    pub instructions: Option<u64>,
}

impl Cell {
    /// A cell with a verdict, a detail and no time.
    pub fn without_time(backend: &str, verdict: Verdict, detail: Option<String>) -> Cell {
        Cell {
            backend: backend.to_string(),
            verdict,
            detail,
            compile: None,
            run: None,
            capped: false,
            process: None,
            instructions: None,
        }
    }
}

/// Order statistics of a set of timings, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Median.
    pub median: f64,
    /// Fastest.
    pub min: f64,
    /// Slowest.
    pub max: f64,
    /// Number of timings.
    pub samples: usize,
}

impl Stats {
    /// Statistics of the given timings; `None` when there are none.
    pub fn of(times: &[Duration]) -> Option<Stats> {
        if times.is_empty() {
            return None;
        }
        let mut secs: Vec<f64> = times.iter().map(Duration::as_secs_f64).collect();
        secs.sort_by(f64::total_cmp);
        let n = secs.len();
        let median = if n % 2 == 1 {
            secs[n / 2]
        } else {
            (secs[n / 2 - 1] + secs[n / 2]) / 2.0
        };
        Some(Stats {
            median,
            min: secs[0],
            max: secs[n - 1],
            samples: n,
        })
    }

    /// The spread (max - min) relative to the median, as a fraction.
    pub fn spread(&self) -> f64 {
        if self.median > 0.0 {
            (self.max - self.min) / self.median
        } else {
            0.0
        }
    }
}

/// Compile time of one backend on a generated program of a given size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScalingPoint {
    /// Backend name.
    pub backend: String,
    /// Number of BF commands in the program.
    pub commands: usize,
    /// Outcome (`ok`, `compile_error`, `skipped`, ...).
    pub verdict: Verdict,
    /// Why it was not measured, when it was not.
    pub detail: Option<String>,
    /// Compile time, when the verdict is `ok`.
    pub compile: Option<Stats>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_odd_and_even_counts() {
        let ms = |v: &[u64]| {
            v.iter()
                .map(|&m| Duration::from_millis(m))
                .collect::<Vec<_>>()
        };
        let s = Stats::of(&ms(&[30, 10, 20])).unwrap();
        assert_eq!((s.median, s.min, s.max, s.samples), (0.02, 0.01, 0.03, 3));
        let s = Stats::of(&ms(&[40, 10, 20, 30])).unwrap();
        assert!((s.median - 0.025).abs() < 1e-12);
        assert!((s.spread() - 1.2).abs() < 1e-9);
        assert_eq!(Stats::of(&[]), None);
    }

    #[test]
    fn verdict_names_match_serde() {
        for v in [
            Verdict::Ok,
            Verdict::Wrong,
            Verdict::Failed,
            Verdict::CompileError,
            Verdict::Unsupported,
            Verdict::Skipped,
        ] {
            assert_eq!(
                serde_json::to_string(&v).unwrap(),
                format!("\"{}\"", v.name())
            );
        }
    }
}
