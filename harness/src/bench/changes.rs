//! Against yesterday: per cell, the change of the run time against an older results file, marked
//! only when it is beyond the noise of both runs.
//!
//! The rule: each run's min–max range of run times is widened by [`NOISE_MARGIN`] of its median on
//! both sides; a change is marked (slower or faster) only when the two widened ranges do not
//! overlap. So every sample of one run must lie beyond every sample of the other, by more than the
//! margin: with a handful of samples that is what "beyond the noise" can mean without assuming a
//! distribution (a rank test on 3 samples per side cannot reach significance). The margin absorbs the
//! drift between two separate processes on a shared machine (frequency, cache, neighbours).
//!
//! Instruction counts (`--callgrind`) are deterministic up to address-space layout, so they are
//! marked when they differ by more than [`INSTRUCTION_MARGIN`].
//!
//! Cells are matched by workload and engine name; old names of renamed backends match their new
//! names ([`bfjit_backends::registry::ALIASES`]).

use serde::{Deserialize, Serialize};

use super::results::{Results, Stats, Verdict};

/// How far beyond its median each run's min–max range is widened before the ranges are compared.
pub const NOISE_MARGIN: f64 = 0.10;
/// The relative difference of instruction counts that is marked.
pub const INSTRUCTION_MARGIN: f64 = 0.01;

/// Which way a marked change went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Beyond the noise, slower (or more instructions) than the baseline.
    Slower,
    /// Beyond the noise, faster (or fewer instructions).
    Faster,
    /// Within the noise of both runs.
    Unchanged,
}

/// One cell's change against the baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Workload name.
    pub workload: String,
    /// Engine name (as in the new run).
    pub backend: String,
    /// The baseline's run time.
    pub old: Stats,
    /// This run's run time.
    pub new: Stats,
    /// New median over old median.
    pub ratio: f64,
    /// Whether, and which way, the change is beyond the noise.
    pub direction: Direction,
    /// Instruction counts, old and new, when both runs counted them.
    #[serde(default)]
    pub instructions: Option<(u64, u64)>,
    /// Which way the instruction count changed, when both were counted.
    #[serde(default)]
    pub instructions_direction: Option<Direction>,
}

/// The direction of a change of run time from `old` to `new` under the module's rule.
pub fn judge(old: &Stats, new: &Stats) -> Direction {
    let widen = |s: &Stats| {
        (
            s.min - s.median * NOISE_MARGIN,
            s.max + s.median * NOISE_MARGIN,
        )
    };
    let (old_lo, old_hi) = widen(old);
    let (new_lo, new_hi) = widen(new);
    if new_lo > old_hi {
        Direction::Slower
    } else if new_hi < old_lo {
        Direction::Faster
    } else {
        Direction::Unchanged
    }
}

/// The direction of a change of instruction count.
pub fn judge_instructions(old: u64, new: u64) -> Direction {
    let ratio = new as f64 / (old.max(1)) as f64;
    if ratio > 1.0 + INSTRUCTION_MARGIN {
        Direction::Slower
    } else if ratio < 1.0 - INSTRUCTION_MARGIN {
        Direction::Faster
    } else {
        Direction::Unchanged
    }
}

/// The current name of a backend that may have been renamed.
fn current_name(name: &str) -> &str {
    bfjit_backends::registry::ALIASES
        .iter()
        .find(|(old, _)| *old == name)
        .map_or(name, |(_, new)| new)
}

/// Every cell verified in both runs, with its change.
pub fn compare(old: &Results, new: &Results) -> Vec<Change> {
    let mut changes = Vec::new();
    for workload in &new.workloads {
        let Some(old_workload) = old.workloads.iter().find(|w| w.name == workload.name) else {
            continue;
        };
        for cell in workload.cells.iter().filter(|c| c.verdict == Verdict::Ok) {
            let Some(old_cell) = old_workload.cells.iter().find(|c| {
                c.verdict == Verdict::Ok && current_name(&c.backend) == current_name(&cell.backend)
            }) else {
                continue;
            };
            let (Some(old_run), Some(new_run)) = (old_cell.run, cell.run) else {
                continue;
            };
            let instructions = old_cell.instructions.zip(cell.instructions);
            changes.push(Change {
                workload: workload.name.clone(),
                backend: cell.backend.clone(),
                old: old_run,
                new: new_run,
                ratio: if old_run.median > 0.0 {
                    new_run.median / old_run.median
                } else {
                    f64::NAN
                },
                direction: judge(&old_run, &new_run),
                instructions,
                instructions_direction: instructions.map(|(o, n)| judge_instructions(o, n)),
            });
        }
    }
    changes
}

/// Records `old` (read from `path`) as the baseline of `new`, with every change.
pub fn apply(new: &mut Results, old: &Results, path: &str) {
    new.changes = compare(old, new);
    new.baseline = Some(format!("{path} ({})", old.created));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(median: f64, min: f64, max: f64) -> Stats {
        Stats {
            median,
            min,
            max,
            samples: 3,
        }
    }

    #[test]
    fn only_changes_beyond_both_widened_ranges_are_marked() {
        let old = stats(1.0, 0.95, 1.05);
        assert_eq!(judge(&old, &stats(2.0, 1.9, 2.1)), Direction::Slower);
        assert_eq!(judge(&old, &stats(0.5, 0.45, 0.55)), Direction::Faster);
        // Ranges that do not overlap, but by less than the margin: noise.
        assert_eq!(judge(&old, &stats(1.1, 1.07, 1.12)), Direction::Unchanged);
        // A wide range on either side hides a larger change.
        assert_eq!(
            judge(&stats(1.0, 0.5, 1.8), &stats(2.0, 1.95, 2.05)),
            Direction::Unchanged
        );
        assert_eq!(judge_instructions(1000, 1005), Direction::Unchanged);
        assert_eq!(judge_instructions(1000, 2000), Direction::Slower);
        assert_eq!(judge_instructions(1000, 900), Direction::Faster);
    }
}
