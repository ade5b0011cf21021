//! The report's "peers" and "changes" sections: every engine, ours and external, ranked per workload
//! by run time as a ratio to the `c-naive` baseline, each engine's start-up cost apart, and the
//! changes against a baseline run.

use serde::Serialize;

use super::format::{format_ratio, format_secs};
use super::C_BASELINE;
use crate::bench::changes::Direction;
use crate::bench::results::{Results, Verdict};

/// One engine's place on one workload.
#[derive(Serialize)]
pub(super) struct PeerRow {
    rank: usize,
    engine: String,
    external: bool,
    run: String,
    ratio: String,
    process: String,
    baseline: bool,
}

/// One workload's ranking.
#[derive(Serialize)]
pub(super) struct PeerTable {
    workload: String,
    rows: Vec<PeerRow>,
    has_baseline: bool,
}

/// One engine's start-up cost.
#[derive(Serialize)]
pub(super) struct StartupRow {
    engine: String,
    external: bool,
    startup: String,
}

/// One cell's change against the baseline run.
#[derive(Serialize)]
pub(super) struct ChangeRow {
    workload: String,
    engine: String,
    old: String,
    new: String,
    ratio: String,
    direction: &'static str,
    pub(super) marked: bool,
    instructions: String,
}

/// Whether `engine` is an external engine of these results.
pub(super) fn is_external(results: &Results, engine: &str) -> bool {
    results
        .backends
        .iter()
        .any(|b| b.name == engine && b.external)
}

/// Per workload, every verified engine ranked by run time (external engines: whole process), with
/// the ratio of its run time to `c-naive`'s.
pub(super) fn peer_tables(results: &Results) -> Vec<PeerTable> {
    results
        .workloads
        .iter()
        .map(|w| {
            let baseline = w
                .cells
                .iter()
                .find(|c| c.backend == C_BASELINE && c.verdict == Verdict::Ok)
                .and_then(|c| c.run)
                .map(|s| s.median);
            let mut timed: Vec<_> = w
                .cells
                .iter()
                .filter(|c| c.verdict == Verdict::Ok)
                .filter_map(|c| c.run.map(|r| (c, r.median)))
                .collect();
            timed.sort_by(|a, b| a.1.total_cmp(&b.1));
            let rows = timed
                .into_iter()
                .enumerate()
                .map(|(i, (cell, run))| PeerRow {
                    rank: i + 1,
                    engine: cell.backend.clone(),
                    external: is_external(results, &cell.backend),
                    run: format_secs(run),
                    ratio: baseline
                        .filter(|b| *b > 0.0)
                        .map_or("—".to_string(), |b| format_ratio(run / b)),
                    process: cell
                        .process
                        .map_or("—".to_string(), |s| format_secs(s.median)),
                    baseline: cell.backend == C_BASELINE,
                })
                .collect();
            PeerTable {
                workload: w.name.clone(),
                rows,
                has_baseline: baseline.is_some(),
            }
        })
        .collect()
}

/// Every engine whose start-up was measured.
pub(super) fn startup_rows(results: &Results) -> Vec<StartupRow> {
    results
        .backends
        .iter()
        .filter_map(|b| {
            b.startup.map(|s| StartupRow {
                engine: b.name.clone(),
                external: b.external,
                startup: format!(
                    "{} ({} – {})",
                    format_secs(s.median),
                    format_secs(s.min),
                    format_secs(s.max)
                ),
            })
        })
        .collect()
}

fn direction_label(d: Direction) -> &'static str {
    match d {
        Direction::Slower => "slower",
        Direction::Faster => "faster",
        Direction::Unchanged => "within noise",
    }
}

/// The changes against the baseline, marked ones first.
pub(super) fn change_rows(results: &Results) -> Vec<ChangeRow> {
    let mut rows: Vec<ChangeRow> = results
        .changes
        .iter()
        .map(|c| {
            let marked = c.direction != Direction::Unchanged
                || c.instructions_direction
                    .is_some_and(|d| d != Direction::Unchanged);
            ChangeRow {
                workload: c.workload.clone(),
                engine: c.backend.clone(),
                old: format!(
                    "{} ({} – {})",
                    format_secs(c.old.median),
                    format_secs(c.old.min),
                    format_secs(c.old.max)
                ),
                new: format!(
                    "{} ({} – {})",
                    format_secs(c.new.median),
                    format_secs(c.new.min),
                    format_secs(c.new.max)
                ),
                ratio: if c.ratio.is_finite() {
                    format_ratio(c.ratio)
                } else {
                    "—".into()
                },
                direction: direction_label(c.direction),
                marked,
                instructions: match (c.instructions, c.instructions_direction) {
                    (Some((old, new)), Some(d)) => {
                        format!("{old} → {new} ({})", direction_label(d))
                    }
                    _ => "—".into(),
                },
            }
        })
        .collect();
    rows.sort_by_key(|r| !r.marked);
    rows
}
