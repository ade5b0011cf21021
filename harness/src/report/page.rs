//! The page's view model, built from the results and the check summary, and its rendering through the
//! `minijinja` template `templates/report.html`.

use minijinja::Environment;
use serde::Serialize;

use super::charts::{self, BarRow, ScalingLine};
use super::format::{
    anchor, format_ratio, format_secs, geomean, group_digits, total, verdict_label,
};
use super::peers::{self, is_external, ChangeRow, PeerTable, StartupRow};
use super::{CheckSummary, ReportError, C_BASELINE, REFERENCE};
use crate::bench::results::{Results, Stats, Verdict};

const TEMPLATE: &str = include_str!("templates/report.html");

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
    external: bool,
    process: String,
    instructions: String,
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
    external: bool,
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
    baseline_name: &'static str,
    peers: Vec<PeerTable>,
    startup: Vec<StartupRow>,
    changes: Vec<ChangeRow>,
    marked_changes: usize,
    has_process: bool,
    has_instructions: bool,
    has_external: bool,
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
                external: is_external(results, &cell.backend),
                process: cell
                    .process
                    .filter(|_| ok)
                    .map_or("—".to_string(), |s| format_secs(s.median)),
                instructions: cell
                    .instructions
                    .map_or("—".to_string(), |n| group_digits(n as usize)),
            });
            let note = (!ok).then(|| match &cell.detail {
                Some(d) if cell.verdict == Verdict::Unsupported => format!("unsupported: {d}"),
                _ => verdict_label(cell.verdict).to_string(),
            });
            let external = is_external(results, &cell.backend);
            bars.push(BarRow {
                label: if external {
                    format!("{} (external)", cell.backend)
                } else {
                    cell.backend.clone()
                },
                // An external engine has one time, its whole process: drawn as such, not as a run.
                values: vec![
                    cell.compile.filter(|_| ok).map(|s| s.median),
                    cell.run.filter(|_| ok && !external).map(|s| s.median),
                    cell.process.filter(|_| ok).map(|s| s.median),
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
            external: info.external,
            cells,
        });
        if info.available {
            overview_rows.push(BarRow {
                label: if info.external {
                    format!("{} (external)", info.name)
                } else {
                    info.name.clone()
                },
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

    let change_rows = peers::change_rows(results);
    let all_cells = || results.workloads.iter().flat_map(|w| &w.cells);
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
        baseline_name: C_BASELINE,
        peers: peers::peer_tables(results),
        startup: peers::startup_rows(results),
        marked_changes: change_rows.iter().filter(|r| r.marked).count(),
        changes: change_rows,
        has_process: all_cells().any(|c| c.process.is_some()),
        has_instructions: all_cells().any(|c| c.instructions.is_some()),
        has_external: results.backends.iter().any(|b| b.external),
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
