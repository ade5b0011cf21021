//! The HTML benchmark report: one self-contained page (inline CSS and SVG, no network fetches) made
//! from a results file and, when present, the latest differential-check summary.
//!
//! The page is a `minijinja` template (`templates/report.html`) filled with a view model built here;
//! the charts are drawn by [`charts`] with `plotters`. docs/report.md describes the page, the results
//! file and the `check.json` shape.

pub mod charts;

use std::fmt;
use std::path::Path;

use minijinja::Environment;
use serde::{Deserialize, Serialize};

use crate::bench::results::{Results, Stats, Verdict};
use charts::{BarRow, ScalingLine};

const TEMPLATE: &str = include_str!("templates/report.html");

/// The backend that speed-ups are first measured against.
pub const REFERENCE: &str = "reference";
/// The C baseline that speed-ups are also measured against.
pub const C_BASELINE: &str = "c-baseline";

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

/// A duration in seconds written with three significant digits and a fitting unit.
pub fn format_secs(secs: f64) -> String {
    let (value, unit) = if secs <= 0.0 {
        return "0".to_string();
    } else if secs < 0.9995e-6 {
        (secs * 1e9, "ns")
    } else if secs < 0.9995e-3 {
        (secs * 1e6, "µs")
    } else if secs < 0.9995 {
        (secs * 1e3, "ms")
    } else {
        (secs, "s")
    };
    format!("{} {unit}", three_digits(value))
}

/// A number in 1..1000 written with three significant digits (`1.23`, `12.3`, `123`).
fn three_digits(value: f64) -> String {
    if value >= 99.95 {
        format!("{value:.0}")
    } else if value >= 9.995 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

fn format_ratio(r: f64) -> String {
    if r >= 0.995 {
        format!("{}×", three_digits(r))
    } else {
        // Slower than the base: three significant digits below one.
        let digits = (-r.log10().floor()) as usize + 2;
        format!("{r:.digits$}×")
    }
}

#[derive(Serialize)]
struct Row {
    backend: String,
    verdict: &'static str,
    ok: bool,
    compile: String,
    run: String,
    total: String,
    vs_reference: String,
    vs_reference_run: String,
    vs_c: String,
    vs_c_run: String,
    spread: String,
    range: Option<String>,
    samples: String,
    detail: Option<String>,
    mark: String,
    fastest: bool,
}

#[derive(Serialize)]
struct WorkloadView {
    name: String,
    anchor: String,
    path: String,
    commands: String,
    output_bytes: String,
    input_bytes: usize,
    config: String,
    chart: Chart,
    rows: Vec<Row>,
    notes: bool,
}

/// A chart in its wide and narrow renderings (empty strings: no chart).
#[derive(Serialize, Default)]
struct Chart {
    wide: String,
    narrow: String,
}

impl Chart {
    fn draw(
        f: impl Fn(charts::Canvas) -> Result<String, charts::ChartError>,
    ) -> Result<Chart, ReportError> {
        Ok(Chart {
            wide: f(charts::Canvas::WIDE)?,
            narrow: f(charts::Canvas::NARROW)?,
        })
    }
}

#[derive(Serialize)]
struct MatrixRow {
    backend: String,
    cells: Vec<MatrixCell>,
}

#[derive(Serialize)]
struct MatrixCell {
    text: String,
    ok: bool,
    fastest: bool,
}

#[derive(Serialize)]
struct ScalingRow {
    backend: String,
    cells: Vec<String>,
}

#[derive(Serialize)]
struct Page<'a> {
    results: &'a Results,
    title: String,
    mode: &'static str,
    verified: usize,
    failures: Vec<String>,
    skipped: Vec<String>,
    unsupported: Vec<String>,
    workload_names: Vec<String>,
    overview: Chart,
    matrix: Vec<MatrixRow>,
    workloads: Vec<WorkloadView>,
    scaling_chart: Chart,
    scaling_sizes: Vec<String>,
    scaling_rows: Vec<ScalingRow>,
    check: Option<&'a CheckSummary>,
    check_ok: bool,
    budget: String,
    compile_budget: String,
}

fn group_digits(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn total(compile: &Option<Stats>, run: &Option<Stats>) -> Option<f64> {
    Some(compile.as_ref()?.median + run.as_ref()?.median)
}

fn verdict_label(v: Verdict) -> &'static str {
    match v {
        Verdict::Ok => "ok",
        Verdict::Wrong => "wrong output",
        Verdict::Failed => "failed",
        Verdict::CompileError => "compile error",
        Verdict::Unsupported => "unsupported",
        Verdict::Skipped => "skipped",
    }
}

fn anchor(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("w-{slug}")
}

fn geomean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some((values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64).exp())
}

/// Renders the report page.
pub fn render(results: &Results, check: Option<&CheckSummary>) -> Result<String, ReportError> {
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    let mut verified = 0;
    let mut workloads = Vec::new();
    for w in &results.workloads {
        let find = |name: &str| {
            w.cells
                .iter()
                .find(|c| c.backend == name && c.verdict == Verdict::Ok)
        };
        let reference = find(REFERENCE);
        let c_base = find(C_BASELINE);
        let fastest_run = w
            .cells
            .iter()
            .filter(|c| c.verdict == Verdict::Ok)
            .filter_map(|c| c.run.map(|r| r.median))
            .fold(f64::INFINITY, f64::min);
        let ratio = |base: Option<f64>, this: Option<f64>| match (base, this) {
            (Some(b), Some(t)) if t > 0.0 => format_ratio(b / t),
            _ => "—".to_string(),
        };
        let mut rows = Vec::new();
        let mut bars = Vec::new();
        for cell in &w.cells {
            let ok = cell.verdict == Verdict::Ok;
            if ok {
                verified += 1;
            }
            if cell.verdict == Verdict::Skipped {
                skipped.push(format!(
                    "{} on {}{}",
                    cell.backend,
                    w.name,
                    cell.detail
                        .as_ref()
                        .map_or(String::new(), |d| format!(": {d}"))
                ));
            }
            if cell.verdict.is_failure() {
                failures.push(format!(
                    "{} on {}: {}{}",
                    cell.backend,
                    w.name,
                    verdict_label(cell.verdict),
                    cell.detail
                        .as_ref()
                        .map_or(String::new(), |d| format!(" — {d}"))
                ));
            }
            let this_total = total(&cell.compile, &cell.run);
            let this_run = cell.run.map(|r| r.median);
            let (ref_total, ref_run) = reference.map_or((None, None), |r| {
                (total(&r.compile, &r.run), r.run.map(|s| s.median))
            });
            let (c_total, c_run) = c_base.map_or((None, None), |r| {
                (total(&r.compile, &r.run), r.run.map(|s| s.median))
            });
            let show = |s: &Option<Stats>| s.map_or("—".to_string(), |s| format_secs(s.median));
            rows.push(Row {
                backend: cell.backend.clone(),
                verdict: verdict_label(cell.verdict),
                ok,
                compile: show(&cell.compile),
                run: show(&cell.run),
                total: this_total.map_or("—".to_string(), format_secs),
                vs_reference: if ok {
                    ratio(ref_total, this_total)
                } else {
                    "—".into()
                },
                vs_reference_run: if ok {
                    ratio(ref_run, this_run)
                } else {
                    "—".into()
                },
                vs_c: if ok {
                    ratio(c_total, this_total)
                } else {
                    "—".into()
                },
                vs_c_run: if ok {
                    ratio(c_run, this_run)
                } else {
                    "—".into()
                },
                spread: cell
                    .run
                    .map_or("—".to_string(), |r| format!("±{:.0}%", r.spread() * 50.0)),
                range: cell
                    .run
                    .map(|r| format!("{} – {}", format_secs(r.min), format_secs(r.max))),
                samples: cell.run.map_or("—".to_string(), |r| {
                    if cell.capped {
                        format!("{} (capped)", r.samples)
                    } else {
                        r.samples.to_string()
                    }
                }),
                detail: cell.detail.clone(),
                mark: String::new(),
                fastest: ok && this_run == Some(fastest_run),
            });
            let note = (!ok).then(|| match &cell.detail {
                Some(d) if cell.verdict == Verdict::Unsupported => format!("unsupported: {d}"),
                _ => verdict_label(cell.verdict).to_string(),
            });
            bars.push(BarRow {
                label: cell.backend.clone(),
                values: vec![
                    cell.compile.filter(|_| ok).map(|s| s.median),
                    cell.run.filter(|_| ok).map(|s| s.median),
                ],
                note,
            });
        }
        let mut marks = 0;
        for row in rows.iter_mut().filter(|r| r.detail.is_some()) {
            marks += 1;
            row.mark = marks.to_string();
        }
        let title = format!("{}: compile and run time", w.name);
        let chart = if bars.iter().any(|b| b.values.iter().any(Option::is_some)) {
            Chart::draw(|canvas| charts::time_bars(canvas, &title, &bars))?
        } else {
            Chart::default()
        };
        workloads.push(WorkloadView {
            name: w.name.clone(),
            anchor: anchor(&w.name),
            path: w.path.clone(),
            commands: group_digits(w.commands),
            output_bytes: group_digits(w.output_bytes),
            input_bytes: w.input_bytes,
            config: w.config.clone(),
            chart,
            rows,
            notes: marks > 0,
        });
    }

    // Summary: run medians, backends × workloads, and the geometric-mean speed-up over the reference.
    let mut matrix = Vec::new();
    let mut overview_rows = Vec::new();
    for info in &results.backends {
        let mut cells = Vec::new();
        let mut speedups = Vec::new();
        for w in &results.workloads {
            let cell = w.cells.iter().find(|c| c.backend == info.name);
            let fastest = w
                .cells
                .iter()
                .filter(|c| c.verdict == Verdict::Ok)
                .filter_map(|c| c.run.map(|r| r.median))
                .fold(f64::INFINITY, f64::min);
            let reference = w
                .cells
                .iter()
                .find(|c| c.backend == REFERENCE && c.verdict == Verdict::Ok)
                .and_then(|c| c.run);
            match cell {
                Some(c) if c.verdict == Verdict::Ok && c.run.is_some() => {
                    let run = c.run.map_or(0.0, |r| r.median);
                    if let Some(r) = reference {
                        if run > 0.0 {
                            speedups.push(r.median / run);
                        }
                    }
                    cells.push(MatrixCell {
                        text: format_secs(run),
                        ok: true,
                        fastest: run == fastest,
                    });
                }
                Some(c) => cells.push(MatrixCell {
                    text: verdict_label(c.verdict).to_string(),
                    ok: c.verdict == Verdict::Unsupported || c.verdict == Verdict::Skipped,
                    fastest: false,
                }),
                None => cells.push(MatrixCell {
                    text: "—".into(),
                    ok: true,
                    fastest: false,
                }),
            }
        }
        matrix.push(MatrixRow {
            backend: info.name.clone(),
            cells,
        });
        if info.available {
            overview_rows.push(BarRow {
                label: info.name.clone(),
                values: vec![geomean(&speedups)],
                note: Some(if info.available {
                    "no verified run".to_string()
                } else {
                    "unsupported".to_string()
                }),
            });
        }
    }
    let overview = if overview_rows.iter().any(|r| r.values[0].is_some()) {
        Chart::draw(|canvas| {
            charts::bar_chart(
                canvas,
                "run-time speed-up over the reference interpreter (geometric mean over workloads)",
                &overview_rows,
                &[("speed-up", charts::palette(0))],
                charts::Unit::Ratio,
            )
        })?
    } else {
        Chart::default()
    };

    // Scaling.
    let mut sizes: Vec<usize> = results.scaling.iter().map(|p| p.commands).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut lines = Vec::new();
    let mut scaling_rows = Vec::new();
    for (index, info) in results.backends.iter().enumerate() {
        let points: Vec<_> = results
            .scaling
            .iter()
            .filter(|p| p.backend == info.name)
            .collect();
        if points.is_empty() {
            continue;
        }
        let cells = sizes
            .iter()
            .map(|&n| match points.iter().find(|p| p.commands == n) {
                Some(p) => match (&p.compile, p.verdict) {
                    (Some(s), Verdict::Ok) => format_secs(s.median),
                    (_, v) => verdict_label(v).to_string(),
                },
                None => "—".to_string(),
            })
            .collect();
        scaling_rows.push(ScalingRow {
            backend: info.name.clone(),
            cells,
        });
        let mut line: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.verdict == Verdict::Ok)
            .filter_map(|p| p.compile.map(|s| (p.commands as f64, s.median)))
            .filter(|p| p.1 > 0.0)
            .collect();
        line.sort_by(|a, b| a.0.total_cmp(&b.0));
        if !line.is_empty() {
            lines.push(ScalingLine {
                backend: info.name.clone(),
                color: index,
                points: line,
            });
        }
    }
    let scaling_chart = if lines.is_empty() {
        Chart::default()
    } else {
        Chart::draw(|canvas| charts::scaling_chart(canvas, &lines))?
    };

    let page = Page {
        results,
        title: format!("bfjit benchmark report — {}", results.created),
        mode: if results.settings.quick {
            "quick"
        } else {
            "full"
        },
        verified,
        failures,
        skipped,
        unsupported: results
            .backends
            .iter()
            .filter(|b| !b.available)
            .map(|b| {
                format!(
                    "{}: {}",
                    b.name,
                    b.note.clone().unwrap_or_else(|| "unsupported".into())
                )
            })
            .collect(),
        workload_names: results.workloads.iter().map(|w| w.name.clone()).collect(),
        overview,
        matrix,
        workloads,
        scaling_chart,
        scaling_sizes: sizes.iter().map(|&n| group_digits(n)).collect(),
        scaling_rows,
        check_ok: check.is_some_and(|c| c.diverged == 0),
        check,
        budget: format_secs(results.settings.cell_budget_secs),
        compile_budget: format_secs(results.settings.compile_budget_secs),
    };
    let mut env = Environment::new();
    env.add_template("report.html", TEMPLATE)?;
    let html = env.get_template("report.html")?.render(template_value(
        serde_json::to_value(&page).map_err(|e| {
            ReportError::Template(minijinja::Error::new(
                minijinja::ErrorKind::BadSerialization,
                e.to_string(),
            ))
        })?,
    ))?;
    Ok(html)
}

/// Converts the JSON form of the view model into a template value (minijinja is built without its
/// serde feature here). The view model is a few levels deep, so the recursion is bounded.
fn template_value(json: serde_json::Value) -> minijinja::Value {
    use serde_json::Value as J;
    match json {
        J::Null => minijinja::Value::from(()),
        J::Bool(b) => minijinja::Value::from(b),
        J::Number(n) => {
            if let Some(i) = n.as_i64() {
                minijinja::Value::from(i)
            } else if let Some(u) = n.as_u64() {
                minijinja::Value::from(u)
            } else {
                minijinja::Value::from(n.as_f64().unwrap_or(0.0))
            }
        }
        J::String(s) => minijinja::Value::from(s),
        J::Array(items) => items.into_iter().map(template_value).collect(),
        J::Object(map) => {
            minijinja::Value::from_pairs(map.into_iter().map(|(k, v)| (k, template_value(v))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_formatted_with_units() {
        assert_eq!(format_secs(0.0), "0");
        assert_eq!(format_secs(1.5e-9), "1.50 ns");
        assert_eq!(format_secs(0.000_123_4), "123 µs");
        assert_eq!(format_secs(0.0456), "45.6 ms");
        assert_eq!(format_secs(42.0), "42.0 s");
        assert_eq!(format_ratio(123.4), "123×");
        assert_eq!(format_ratio(0.5), "0.500×");
        assert_eq!(format_ratio(0.00123), "0.00123×");
        assert_eq!(format_secs(9.9999e-5), "100 µs");
        assert_eq!(format_secs(0.99999), "1.00 s");
        assert_eq!(group_digits(1_234_567), "1,234,567");
        assert_eq!(group_digits(12), "12");
    }

    #[test]
    fn check_summary_is_lenient() {
        let c: CheckSummary = serde_json::from_str(r#"{"programs": 5, "agree": 5}"#).unwrap();
        assert_eq!(c.programs, 5);
        assert_eq!(c.diverged, 0);
    }
}
