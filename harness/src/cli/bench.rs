//! `bfjit bench`: measure every backend on the benchmark workloads and write the HTML report.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bfjit_backends::{backend_by_name, backend_names, registry, Backend};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::common::error;
use super::flags;
use super::{EXIT_DIVERGENCE, EXIT_OK, EXIT_USAGE};
use bfjit_harness::bench::{self, changes, environment, Plan, Results, Step};
use bfjit_harness::engine_spec::engine_specs;
use bfjit_harness::external::{ExternalEngine, DEFAULT_TIMEOUT};
use bfjit_harness::report;

/// Arguments of `bfjit bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Workloads: `.bf` files (each with a `.out` beside it) or directories of them
    /// [default: corpus/bench/, or corpus/bench/quick/ with --quick].
    pub paths: Vec<PathBuf>,
    /// Comma-separated backends to measure [default: every registered backend].
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub backends: Vec<String>,
    /// Timed runs per workload and backend, after one warm-up [default: 10, or 3 with --quick].
    #[arg(long, value_name = "N", value_parser = flags::runs, allow_negative_numbers = true)]
    pub runs: Option<u32>,
    /// Directory for the reports: writes OUT/<timestamp>/ and copies it to OUT/latest/.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,
    /// The small workloads and few runs: a minute or two.
    #[arg(long)]
    pub quick: bool,
    /// Seconds the timed runs of one workload on one backend may take; slower cells do fewer runs
    /// (one, when a single run is over it) [default: 30, or 3 with --quick].
    #[arg(long, value_name = "SECS", value_parser = flags::seconds, allow_negative_numbers = true)]
    pub budget: Option<Duration>,
    /// Skip a cell when the scaling measurement predicts its compile to take longer than SECS
    /// [default: 600, or 20 with --quick].
    #[arg(long, value_name = "SECS", value_parser = flags::seconds, allow_negative_numbers = true)]
    pub compile_budget: Option<Duration>,
    /// Skip the compile-time scaling measurement (10k, 100k and 1M commands); compile times are then
    /// not predicted and every cell is measured.
    #[arg(long)]
    pub no_scaling: bool,
    /// Do not measure: render the report again from an existing results.json (written beside it).
    #[arg(long, value_name = "RESULTS_JSON", conflicts_with_all = ["paths", "backends", "runs", "quick", "budget", "compile_budget"])]
    pub render: Option<PathBuf>,
    /// An external engine, timed as whole processes with its outputs verified:
    /// NAME='CMD ARGS {file}' (also {tape_len}, {eof}); repeatable. Implies --process.
    #[arg(long = "engine", value_name = "NAME=CMD")]
    pub engines: Vec<String>,
    /// An external engine's dialect: NAME:KEY=VALUE[,KEY=VALUE...] (tape=N|N+, eof=..., output=...,
    /// input=..., comments=...); workloads outside it are skipped for that engine.
    #[arg(long = "dialect", value_name = "NAME:K=V")]
    pub dialects: Vec<String>,
    /// A TOML file of external engines (a table per engine: command, then dialect keys).
    #[arg(long = "engines", value_name = "FILE")]
    pub engine_files: Vec<PathBuf>,
    /// Also time every backend as a whole `bfjit run` process (start-up and compile included).
    #[arg(long)]
    pub process: bool,
    /// Count each verified cell's instructions once under `valgrind --tool=callgrind` (slow: for
    /// a few small workloads); implies --process.
    #[arg(long)]
    pub callgrind: bool,
    /// Compare with an older results.json: per cell, the change, marked only beyond the noise of
    /// both runs (the exit code does not change).
    #[arg(long, value_name = "OLD_RESULTS_JSON")]
    pub baseline: Option<PathBuf>,
    /// Do not measure: compare two results files (OLD NEW) and write the report of NEW with the
    /// changes into OUT/compare/.
    #[arg(long, num_args = 2, value_names = ["OLD", "NEW"], conflicts_with_all = ["paths", "backends", "runs", "quick", "budget", "compile_budget", "render", "baseline"])]
    pub compare: Vec<PathBuf>,
}

/// Runs `bfjit bench`; returns the exit code.
pub fn main(args: Args) -> u8 {
    match run(args) {
        Ok(code) | Err(code) => code,
    }
}

/// The default workload directory: `corpus/bench` (or its `quick/`) below the current directory,
/// else the repository's.
fn default_paths(quick: bool) -> Vec<PathBuf> {
    let relative = if quick {
        Path::new("corpus/bench/quick").to_path_buf()
    } else {
        Path::new("corpus/bench").to_path_buf()
    };
    if relative.is_dir() {
        return vec![relative];
    }
    let in_repo = bfjit_harness::corpus::default_dir()
        .join(relative.strip_prefix("corpus").unwrap_or(&relative));
    vec![if in_repo.is_dir() { in_repo } else { relative }]
}

fn select_backends(names: &[String]) -> Result<Vec<&'static dyn Backend>, u8> {
    if names.is_empty() {
        return Ok(registry());
    }
    let mut chosen = Vec::new();
    for name in names {
        match backend_by_name(name) {
            Some(b) => chosen.push(b),
            None => {
                error(format_args!(
                    "unknown backend '{name}'; allowed: {}",
                    backend_names().join(", ")
                ));
                return Err(EXIT_USAGE);
            }
        }
    }
    Ok(chosen)
}

fn load(path: &Path) -> Result<Results, u8> {
    report::load_results(path).map_err(|e| {
        error(&e);
        EXIT_USAGE
    })
}

/// `--compare OLD NEW`: NEW's report with the changes, in OUT/compare/.
fn compare(old_path: &Path, new_path: &Path, out: &Path) -> Result<u8, u8> {
    let old = load(old_path)?;
    let mut new = load(new_path)?;
    changes::apply(&mut new, &old, &old_path.display().to_string());
    print_changes(&new);
    let dir = out.join("compare");
    std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
    let json = serde_json::to_string_pretty(&new).map_err(|e| {
        error(format_args!("cannot encode the results: {e}"));
        EXIT_USAGE
    })?;
    let json_path = dir.join("results.json");
    std::fs::write(&json_path, json).map_err(|e| io_error(&json_path, e))?;
    write_html(&new, None, &dir)?;
    println!("report: {}", dir.join("index.html").display());
    Ok(EXIT_OK)
}

/// Prints the changes against the baseline, marked ones first.
fn print_changes(results: &Results) {
    let Some(baseline) = &results.baseline else {
        return;
    };
    let marked: Vec<_> = results
        .changes
        .iter()
        .filter(|c| {
            c.direction != changes::Direction::Unchanged
                || c.instructions_direction
                    .is_some_and(|d| d != changes::Direction::Unchanged)
        })
        .collect();
    println!(
        "against {baseline}: {} of {} cells changed beyond the noise",
        marked.len(),
        results.changes.len()
    );
    for c in marked {
        println!(
            "  {:<12} {:<14} {:>9} -> {:>9}  ×{:.2}  {:?}{}",
            c.workload,
            c.backend,
            report::format_secs(c.old.median),
            report::format_secs(c.new.median),
            c.ratio,
            c.direction,
            c.instructions
                .map_or(String::new(), |(o, n)| format!("  instructions {o} -> {n}"))
        );
    }
}

fn run(args: Args) -> Result<u8, u8> {
    if let [old, new] = &args.compare[..] {
        return compare(old, new, &args.out);
    }
    if let Some(results_path) = &args.render {
        let results = report::load_results(results_path).map_err(|e| {
            error(&e);
            EXIT_USAGE
        })?;
        let dir = results_path
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let check = load_check(&args.out.join("latest").join("check.json"));
        write_html(&results, check.as_ref(), &dir)?;
        println!("report: {}", dir.join("index.html").display());
        return Ok(EXIT_OK);
    }
    let mut plan = if args.quick {
        Plan::quick()
    } else {
        Plan::full()
    };
    if let Some(runs) = args.runs {
        plan.runs = runs as usize;
    }
    if let Some(budget) = args.budget {
        plan.cell_budget = budget;
    }
    if let Some(budget) = args.compile_budget {
        plan.compile_budget = budget;
    }
    if args.no_scaling {
        plan.scaling_sizes.clear();
    }
    let specs = engine_specs(&args.engines, &args.dialects, &args.engine_files).map_err(|e| {
        error(e);
        EXIT_USAGE
    })?;
    plan.externals = specs
        .into_iter()
        .map(|spec| ExternalEngine::new(spec, DEFAULT_TIMEOUT))
        .collect();
    if args.process || args.callgrind || !plan.externals.is_empty() {
        plan.bfjit = Some(std::env::current_exe().map_err(|e| {
            error(format_args!(
                "cannot find the bfjit executable for --process: {e}"
            ));
            EXIT_USAGE
        })?);
    }
    plan.callgrind = args.callgrind;
    let baseline = match &args.baseline {
        Some(path) => Some((load(path)?, path.display().to_string())),
        None => None,
    };
    let backends = select_backends(&args.backends)?;
    let paths = if args.paths.is_empty() {
        default_paths(args.quick)
    } else {
        args.paths.clone()
    };
    let workloads = bench::load_workloads(&paths).map_err(|e| {
        error(&e);
        if args.paths.is_empty() {
            eprintln!("note: the benchmark workloads are generated into corpus/bench/; give PATHs to measure other programs");
        }
        EXIT_USAGE
    })?;

    let bar = ProgressBar::with_draw_target(
        Some(bench::step_count(&backends, &workloads, &plan)),
        ProgressDrawTarget::stderr(),
    );
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut progress = |step: Step<'_>| match step {
        Step::Cell { workload, backend } => bar.set_message(format!("{workload} · {backend}")),
        Step::Scaling { backend, commands } => {
            bar.set_message(format!("compile scaling · {backend} · {commands} commands"))
        }
        Step::Done => bar.inc(1),
    };
    let mut results = bench::run(&backends, &workloads, &plan, &mut progress);
    bar.finish_and_clear();
    if let Some((old, path)) = &baseline {
        changes::apply(&mut results, old, path);
    }

    let dir = write_reports(&results, &args.out)?;
    print_summary(&results);
    print_changes(&results);
    println!("report: {}", dir.join("index.html").display());
    println!(
        "latest: {}",
        args.out.join("latest").join("index.html").display()
    );
    let failed = results
        .workloads
        .iter()
        .flat_map(|w| &w.cells)
        .any(|c| c.verdict.is_failure());
    Ok(if failed { EXIT_DIVERGENCE } else { EXIT_OK })
}

fn load_check(path: &Path) -> Option<report::CheckSummary> {
    if !path.exists() {
        return None;
    }
    match report::load_check(path) {
        Ok(check) => Some(check),
        Err(e) => {
            eprintln!("warning: ignoring the differential-check summary: {e}");
            None
        }
    }
}

fn io_error(path: &Path, e: std::io::Error) -> u8 {
    error(format_args!("cannot write {}: {e}", path.display()));
    EXIT_USAGE
}

fn write_html(
    results: &Results,
    check: Option<&report::CheckSummary>,
    dir: &Path,
) -> Result<(), u8> {
    let html = report::render(results, check).map_err(|e| {
        error(&e);
        EXIT_USAGE
    })?;
    let path = dir.join("index.html");
    std::fs::write(&path, html).map_err(|e| io_error(&path, e))
}

/// Writes OUT/<timestamp>/{results.json,index.html} and copies both to OUT/latest/.
fn write_reports(results: &Results, out: &Path) -> Result<PathBuf, u8> {
    let stamp = results.created.replace(':', "-");
    let mut dir = out.join(&stamp);
    let mut n = 2;
    while dir.exists() {
        dir = out.join(format!("{stamp}-{n}"));
        n += 1;
    }
    std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
    let latest = out.join("latest");
    std::fs::create_dir_all(&latest).map_err(|e| io_error(&latest, e))?;
    let json = serde_json::to_string_pretty(results).map_err(|e| {
        error(format_args!("cannot encode the results: {e}"));
        EXIT_USAGE
    })?;
    let json_path = dir.join("results.json");
    std::fs::write(&json_path, json).map_err(|e| io_error(&json_path, e))?;
    let check = load_check(&latest.join("check.json"));
    write_html(results, check.as_ref(), &dir)?;
    for file in ["results.json", "index.html"] {
        let to = latest.join(file);
        std::fs::copy(dir.join(file), &to).map_err(|e| io_error(&to, e))?;
    }
    Ok(dir)
}

/// Prints the run medians, one line per backend, one column per workload.
fn print_summary(results: &Results) {
    let names: Vec<&str> = results.workloads.iter().map(|w| w.name.as_str()).collect();
    let width = results
        .backends
        .iter()
        .map(|b| b.name.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let col = names.iter().map(|n| n.len()).max().unwrap_or(8).max(10);
    let mut header = format!("{:width$}", "run median");
    for n in &names {
        header.push_str(&format!("  {n:>col$}"));
    }
    println!("{header}");
    for b in &results.backends {
        let mut line = format!("{:width$}", b.name);
        for w in &results.workloads {
            let text = match w.cells.iter().find(|c| c.backend == b.name) {
                Some(c) => match c.run {
                    Some(r) if c.verdict == bench::Verdict::Ok => {
                        let mut t = report::format_secs(r.median);
                        if c.capped {
                            t.push('*');
                        }
                        t
                    }
                    _ => c.verdict.name().to_string(),
                },
                None => "-".to_string(),
            };
            line.push_str(&format!("  {text:>col$}"));
        }
        println!("{line}");
    }
    if results
        .workloads
        .iter()
        .flat_map(|w| &w.cells)
        .any(|c| c.capped)
    {
        println!("* fewer runs than asked: over the time budget (see the report)");
    }
    let _ = environment::now_secs;
}
