//! Shared helpers for the criterion benchmarks: the measurement settings (full or quick), which
//! workloads and which backends to measure, and the probe that verifies a pair before it is timed.
//!
//! Environment variables (documented in docs/report.md):
//! - `BFJIT_BENCH_QUICK=1`: the quick workloads (`corpus/bench/quick/`), 10 samples, short warm-up
//!   and measurement times, fewer bootstrap resamples;
//! - `BFJIT_BENCH_DIR=PATH`: measure the `.bf` files (with `.out`) of another directory;
//! - `BFJIT_BENCH_BACKENDS=a,b`: only these backends.

use std::path::PathBuf;
use std::time::Duration;

use bfjit_backends::{registry, Availability, Backend};
use bfjit_harness::bench::{load_workloads, Workload};
use criterion::Criterion;

/// Whether `BFJIT_BENCH_QUICK` asks for the quick mode.
pub fn quick() -> bool {
    std::env::var("BFJIT_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The criterion configuration for the current mode.
pub fn criterion() -> Criterion {
    let base = Criterion::default().sample_size(10);
    if quick() {
        base.warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_secs(1))
            .nresamples(1_000)
            .without_plots()
    } else {
        base.warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5))
            .nresamples(10_000)
    }
}

/// A run slower than this (one probe run) is not benchmarked by criterion, which needs at least ten
/// samples; `bfjit bench` measures such pairs with a capped number of runs instead.
pub fn run_limit() -> Duration {
    if quick() {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(5)
    }
}

/// A compile slower than this stops the scaling benchmark for that backend at that size.
pub fn compile_limit() -> Duration {
    if quick() {
        Duration::from_secs(2)
    } else {
        Duration::from_secs(10)
    }
}

/// The workload directory: `BFJIT_BENCH_DIR`, else `corpus/bench/` (quick: `corpus/bench/quick/`).
pub fn workload_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BFJIT_BENCH_DIR") {
        return PathBuf::from(dir);
    }
    let corpus = bfjit_harness::corpus::default_dir().join("bench");
    if quick() {
        corpus.join("quick")
    } else {
        corpus
    }
}

/// The workloads to measure; none (with a note on stderr) when the directory has none.
pub fn workloads() -> Vec<Workload> {
    let dir = workload_dir();
    match load_workloads(std::slice::from_ref(&dir)) {
        Ok(workloads) => workloads,
        Err(e) => {
            eprintln!("note: no workloads benchmarked: {e}");
            Vec::new()
        }
    }
}

/// Every registered backend that runs here (or those named in `BFJIT_BENCH_BACKENDS`); the others
/// are listed on stderr and skipped.
pub fn backends() -> Vec<&'static dyn Backend> {
    let wanted: Option<Vec<String>> = std::env::var("BFJIT_BENCH_BACKENDS")
        .ok()
        .filter(|v| !v.is_empty())
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    registry()
        .into_iter()
        .filter(|b| {
            wanted
                .as_ref()
                .is_none_or(|w| w.iter().any(|n| n == b.name()))
        })
        .filter(|b| match b.availability() {
            Availability::Available => true,
            Availability::Unsupported(why) => {
                eprintln!("note: skipping backend {}: {why}", b.name());
                false
            }
        })
        .collect()
}
