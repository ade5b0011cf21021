//! The HTML benchmark report: one self-contained page (inline CSS and SVG, no network fetches) made
//! from a results file and, when present, the latest differential-check summary.
//!
//! The page is a `minijinja` template (`templates/report.html`) filled with a view model built here;
//! the charts are drawn by [`charts`] with `plotters`. docs/report.md describes the page, the results
//! file and the `check.json` shape.
//!
//! Modules: this one loads the inputs ([`load_results`], [`load_check`]); [`page`] builds the view
//! model and renders it; [`peers`] ranks every engine against `c-naive` and lists the changes; [`format`] writes numbers, durations and ratios; [`charts`] draws.

pub mod charts;
pub mod format;
pub mod page;
pub mod peers;

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bench::results::Results;
pub use format::format_secs;
pub use page::render;

/// The backend that speed-ups are first measured against.
pub const REFERENCE: &str = "reference";
/// The C baseline that speed-ups are also measured against, and peers are ranked by: the plain
/// unchecked translation (`c-naive`).
pub const C_BASELINE: &str = "c-naive";

/// The summary of the latest differential check (`reports/latest/check.json`), written by
/// `bfjit check`; every field but the counts is optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckSummary {
    /// Format version (1).
    pub schema: u32,
    /// When the check ran, ISO 8601 UTC.
    pub created: String,
    /// The command line that ran it.
    pub command: String,
    /// Programs checked.
    pub programs: u64,
    /// Backends compared with the reference.
    pub backends: Vec<String>,
    /// (program, backend) pairs that agreed with the reference.
    pub agree: u64,
    /// Pairs that disagreed.
    pub diverged: u64,
    /// Pairs with no verdict (the reference ran out of its step budget).
    pub inconclusive: u64,
    /// Counts per backend.
    pub per_backend: Vec<CheckBackend>,
    /// The first divergences found (a few at most).
    pub divergences: Vec<CheckDivergence>,
}

/// One backend's differential-check counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckBackend {
    /// Backend name.
    pub backend: String,
    /// Programs that agreed.
    pub agree: u64,
    /// Programs that disagreed.
    pub diverged: u64,
    /// Programs with no verdict.
    pub inconclusive: u64,
}

/// One divergence found by the differential check.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckDivergence {
    /// The backend that disagreed.
    pub backend: String,
    /// Where the reproducer was saved (a corpus-format `.bf` path), or a name.
    pub program: String,
    /// The first difference, e.g. `output differs at byte 3: 65 ('A') vs 66 ('B')`.
    pub detail: String,
}

/// Why a report could not be made.
#[derive(Debug)]
pub enum ReportError {
    /// The template failed to render (a bug).
    Template(minijinja::Error),
    /// A chart failed to draw (a bug).
    Chart(charts::ChartError),
    /// A results or check file could not be read.
    Io {
        /// The file.
        path: String,
        /// The error.
        error: std::io::Error,
    },
    /// A results or check file is not valid JSON of the expected shape.
    Json {
        /// The file.
        path: String,
        /// The error.
        error: serde_json::Error,
    },
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::Template(e) => write!(f, "report template: {e:#}"),
            ReportError::Chart(e) => write!(f, "{e}"),
            ReportError::Io { path, error } => write!(f, "{path}: {error}"),
            ReportError::Json { path, error } => write!(f, "{path}: {error}"),
        }
    }
}

impl std::error::Error for ReportError {}

impl From<minijinja::Error> for ReportError {
    fn from(e: minijinja::Error) -> Self {
        ReportError::Template(e)
    }
}

impl From<charts::ChartError> for ReportError {
    fn from(e: charts::ChartError) -> Self {
        ReportError::Chart(e)
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|error| ReportError::Io {
        path: path.display().to_string(),
        error,
    })?;
    serde_json::from_str(&text).map_err(|error| ReportError::Json {
        path: path.display().to_string(),
        error,
    })
}

/// Reads a results file.
pub fn load_results(path: &Path) -> Result<Results, ReportError> {
    read_json(path)
}

/// Reads a differential-check summary.
pub fn load_check(path: &Path) -> Result<CheckSummary, ReportError> {
    read_json(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_summary_is_lenient() {
        let c: CheckSummary = serde_json::from_str(r#"{"programs": 5, "agree": 5}"#).unwrap();
        assert_eq!(c.programs, 5);
        assert_eq!(c.diverged, 0);
    }
}
