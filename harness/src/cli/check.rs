//! `bfjit check`: cross-check given programs on every backend (and external engines) against
//! `reference`, with a summary table per backend, `--jobs` programs at a time. The reference runs to
//! completion (bounded by time, cached on disk) unless `--fuel` bounds it. Exit 0 when every program
//! was compared and all agree, 3 when any engine gave a wrong answer or crashed, 4 when nothing
//! diverged but something was not decided.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use bfjit_backends::{backend_names, Backend, EofPolicy};

use super::common::{self, error, EofArg};
use super::flags;
use super::{EXIT_DIVERGENCE, EXIT_OK, EXIT_USAGE};
use bfjit_harness::case::Case;
use bfjit_harness::corpus::{load_case, load_dir, CorpusCase};
use bfjit_harness::engine_spec::engine_specs;
use bfjit_harness::external::ExternalEngine;
use bfjit_harness::isolate::WorkerCommand;
use bfjit_harness::minimize::{reproducer_name, write_reproducer_for};
use bfjit_harness::oracle::{
    default_engines, select_backends, Engine, Judgement, Oracle, RunLimit, Selection, Tally,
    Verdict, DEFAULT_TIME_FACTOR,
};
use bfjit_harness::reduce::{reduce, Settings};
use bfjit_harness::reference_cache::ReferenceCache;

/// Which engines to check, shared by `check` and `fuzz`.
#[derive(clap::Args, Debug, Clone)]
pub struct EngineArgs {
    /// Backends to compare with reference (default: every registered backend available here;
    /// `none` for none, to check external engines only).
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub backends: Option<Vec<String>>,
    /// An external engine: NAME='COMMAND ARGS {file}' (also {tape_len}, {eof}); repeatable.
    /// It gets the program's path, the input on stdin; its stdout and success are compared.
    #[arg(long = "engine", value_name = "NAME=CMD")]
    pub engines: Vec<String>,
    /// An external engine's dialect: NAME:KEY=VALUE[,KEY=VALUE...] with tape=N (exactly N cells,
    /// leaving them is an error) or tape=N+ (at least N; beyond is the engine's business),
    /// eof=unchanged|zero|max|none, output=bytes|ascii (only bytes 1-127 printed faithfully),
    /// input=bytes|no-255 (byte 255 reads as end of input), comments=any|no-bang-hash (`!` and `#`
    /// in the program mean something to the engine); repeatable. Cases outside it are counted apart, never as divergences.
    #[arg(long = "dialect", value_name = "NAME:K=V")]
    pub dialects: Vec<String>,
    /// A TOML file of external engines: a table per engine, `command` then dialect keys.
    #[arg(long = "engines", value_name = "FILE")]
    pub engine_files: Vec<PathBuf>,
    /// Seconds an external engine (or an isolated backend) may take per program at least; a run
    /// gets --time-factor times the reference's own time when that is longer. Compiling does not
    /// count. A run over its limit is killed and counted as a timeout (undecided, exit code 4).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = flags::seconds, allow_negative_numbers = true)]
    pub timeout: Duration,
    /// Seconds an isolated backend may take to compile one program (a C compiler over it is killed
    /// with its whole process tree, and the run counts as a timeout).
    #[arg(long, value_name = "SECS", default_value = "120", value_parser = flags::seconds, allow_negative_numbers = true)]
    pub compile_timeout: Duration,
    /// How many times the reference's time on a program an engine's run may take (at least
    /// --timeout).
    #[arg(long, value_name = "K", default_value_t = DEFAULT_TIME_FACTOR, value_parser = flags::factor, allow_negative_numbers = true)]
    pub time_factor: f64,
    /// Test backends to add by name (only `bfjit-testing` has any: the deliberately broken backends
    /// of harness/src/broken.rs).
    #[arg(long, hide = true, value_name = "NAME")]
    pub broken: Vec<String>,
}

impl EngineArgs {
    /// The engines to run and the requested backends that are unsupported here (with the reason);
    /// errors are printed and mapped to exit code 2.
    /// `test_backends` are the backends `--broken` may name (none in `bfjit`).
    pub fn engines(&self, test_backends: &[&'static dyn Backend]) -> Result<Selection, u8> {
        let (mut engines, skipped) = match &self.backends {
            None => default_engines(),
            Some(names) if names.iter().all(|n| n == "none") => (Vec::new(), Vec::new()),
            Some(names) => {
                let mut backends: Vec<&'static dyn Backend> = Vec::new();
                for name in names {
                    let backend = bfjit_backends::backend_by_name(name).ok_or_else(|| {
                        error(format_args!(
                            "unknown backend '{name}'; allowed: {}",
                            backend_names().join(", ")
                        ));
                        EXIT_USAGE
                    })?;
                    backends.push(backend);
                }
                select_backends(backends)
            }
        };
        for name in &self.broken {
            let backend = test_backends
                .iter()
                .copied()
                .find(|b| b.name() == name)
                .ok_or_else(|| {
                    if test_backends.is_empty() {
                        error(format_args!(
                            "unknown test backend '{name}': this binary has none (the deliberately \
                             broken backends are in `bfjit-testing`, built with `--features test-support`)"
                        ));
                    } else {
                        let names: Vec<&str> = test_backends.iter().map(|b| b.name()).collect();
                        error(format_args!(
                            "unknown broken backend '{name}'; allowed: {}",
                            names.join(", ")
                        ));
                    }
                    EXIT_USAGE
                })?;
            engines.push(Engine::Backend(backend));
        }
        let specs =
            engine_specs(&self.engines, &self.dialects, &self.engine_files).map_err(|e| {
                error(e);
                EXIT_USAGE
            })?;
        for spec in specs {
            engines.push(Engine::External(ExternalEngine::new(spec, self.timeout())));
        }
        if engines.is_empty() {
            error("no engine to compare with reference (all unsupported here?)");
            return Err(EXIT_USAGE);
        }
        Ok((engines, skipped))
    }

    /// The per-run time limit.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How long each engine's run may take.
    pub fn run_limit(&self) -> RunLimit {
        RunLimit {
            floor: self.timeout,
            factor: self.time_factor,
        }
    }

    /// The worker command for isolation, with this timeout.
    pub fn worker(&self) -> Result<WorkerCommand, u8> {
        let mut command = WorkerCommand::current_exe().map_err(|e| {
            error(format_args!(
                "cannot find the bfjit binary for --isolate: {e}"
            ));
            EXIT_USAGE
        })?;
        command.timeout = self.timeout();
        command.compile_limit = self.compile_timeout;
        Ok(command)
    }
}

/// Prints the engines that will run and those that cannot.
pub fn announce(engines: &[Engine], unsupported: &[(String, String)]) {
    let names: Vec<&str> = engines.iter().map(|e| e.name()).collect();
    eprintln!("comparing with reference: {}", names.join(", "));
    for (name, why) in unsupported {
        eprintln!("skipping {name}: unsupported here ({why})");
    }
}

/// Arguments of `bfjit check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Programs (.bf files) or directories searched for them; NAME.in, NAME.cfg are used when present.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub engines: EngineArgs,
    /// Run each backend in a child process, so a crash is reported with its signal.
    #[arg(long)]
    pub isolate: bool,
    /// Bound the reference run by this fuel budget (loop-body entries) instead of by time; the
    /// others get what it used.
    #[arg(long, value_name = "N", value_parser = flags::budget, allow_negative_numbers = true)]
    pub fuel: Option<u64>,
    /// Seconds the reference may run on one program (without --fuel): it runs to completion, and
    /// a program it does not finish in time is undecided (exit code 4).
    #[arg(long, value_name = "SECS", default_value = "300", value_parser = flags::seconds, allow_negative_numbers = true)]
    pub reference_time: Duration,
    /// Folder of cached reference outcomes (default: $BFJIT_CACHE_DIR, $XDG_CACHE_HOME/bfjit,
    /// ~/.cache/bfjit, or target/bfjit-cache).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write cached reference outcomes.
    #[arg(long)]
    pub no_cache: bool,
    /// Programs checked in parallel (default: the number of cores).
    #[arg(long, short = 'j', value_name = "N", value_parser = flags::jobs, allow_negative_numbers = true)]
    pub jobs: Option<usize>,
    /// Override the tape length of every program.
    #[arg(long, value_name = "N", value_parser = flags::tape_len, allow_negative_numbers = true)]
    pub tape_len: Option<usize>,
    /// Override the EOF policy of every program.
    #[arg(long, value_enum)]
    pub eof: Option<EofArg>,
    /// Reduce each divergence (see `bfjit reduce`) and write a reproducer into this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

fn collect(paths: &[PathBuf]) -> Result<Vec<CorpusCase>, u8> {
    let mut cases = Vec::new();
    for path in paths {
        let loaded = if path.is_dir() {
            load_dir(path)
        } else {
            let root = path.parent().unwrap_or(Path::new("."));
            load_case(root, path).map(|c| vec![c])
        };
        cases.extend(loaded.map_err(|e| {
            error(e);
            EXIT_USAGE
        })?);
    }
    Ok(cases)
}

/// Runs `bfjit check`; returns the exit code.
pub fn main(args: Args, test_backends: &[&'static dyn Backend]) -> u8 {
    match run(args, test_backends) {
        Ok(code) | Err(code) => code,
    }
}

/// One program to check, ready to run, and its fuel budget when it has one of its own.
struct Prepared {
    path: PathBuf,
    case: Case,
    fuel: Option<u64>,
}

fn prepare(args: &Args, cases: &[CorpusCase]) -> Result<(Vec<Prepared>, u8), u8> {
    let mut code = EXIT_OK;
    let mut prepared = Vec::new();
    for corpus_case in cases {
        let program = match corpus_case.program() {
            Ok(p) => p,
            // Programs that must fail to parse have nothing to run.
            Err(_)
                if corpus_case
                    .expected_error
                    .as_ref()
                    .is_some_and(|x| x.is_parse_error()) =>
            {
                continue;
            }
            Err(e) => {
                error(format_args!("{}: {e}", corpus_case.path.display()));
                code = EXIT_USAGE;
                continue;
            }
        };
        let mut config = corpus_case.config.with_fuel(None);
        if let Some(t) = args.tape_len {
            config = config.with_tape_len(t).map_err(|e| {
                error(format_args!("{}: {e}", corpus_case.path.display()));
                EXIT_USAGE
            })?;
        }
        if let Some(e) = args.eof {
            config = config.with_eof(EofPolicy::from(e));
        }
        prepared.push(Prepared {
            path: corpus_case.path.clone(),
            case: Case {
                program,
                input: corpus_case.input.clone(),
                config,
            },
            // A corpus program that must run out of fuel is checked with its own budget.
            fuel: corpus_case.config.fuel().or(args.fuel),
        });
    }
    Ok((prepared, code))
}

/// What one job found, for the summary.
#[derive(Default)]
struct Found {
    tally: Tally,
    diverged: bool,
}

fn run(args: Args, test_backends: &[&'static dyn Backend]) -> Result<u8, u8> {
    let (engines, unsupported) = args.engines.engines(test_backends)?;
    let cases = collect(&args.paths)?;
    let (prepared, code) = prepare(&args, &cases)?;
    let worker = if args.isolate {
        Some(args.engines.worker()?)
    } else {
        None
    };
    let cache = (!args.no_cache).then(|| {
        ReferenceCache::at(
            args.cache_dir
                .clone()
                .unwrap_or_else(ReferenceCache::default_dir),
        )
    });
    announce(&engines, &unsupported);
    let jobs = args
        .jobs
        .unwrap_or_else(flags::default_jobs)
        .min(prepared.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let output = Mutex::new(());
    let found: Vec<Found> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs)
            .map(|_| {
                let mut oracle = Oracle::new(engines.clone(), args.fuel.unwrap_or(1))
                    .run_limit(args.engines.run_limit());
                if let Some(cache) = &cache {
                    oracle = oracle.cache(cache.clone());
                }
                if let Some(worker) = &worker {
                    oracle = oracle.isolated(worker.clone());
                }
                let (args, prepared, next, output) = (&args, &prepared, &next, &output);
                scope.spawn(move || {
                    let mut found = Found::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(p) = prepared.get(i) else { break };
                        check_one(args, &mut oracle, p, &mut found, output);
                    }
                    found
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("check jobs do not panic"))
            .collect()
    });
    let mut tally = Tally::default();
    let mut diverged = false;
    for f in found {
        tally.merge(&f.tally);
        diverged |= f.diverged;
    }
    print!("{}", tally.table(&unsupported));
    println!("{} programs: {}", prepared.len(), tally.summary());
    if diverged {
        return Ok(EXIT_DIVERGENCE);
    }
    if code != EXIT_OK {
        return Ok(code);
    }
    let mut undecided = Vec::new();
    if tally.checked == 0 {
        undecided.push("no program was compared".to_string());
    }
    if tally.undecided_cases() > 0 {
        undecided.push(format!(
            "{} programs could not be decided",
            tally.undecided_cases()
        ));
    }
    Ok(common::exit_when_no_divergence(&tally, undecided))
}

/// Checks one program, prints what it found (under the output lock) and reduces divergences.
fn check_one(
    args: &Args,
    oracle: &mut Oracle,
    p: &Prepared,
    found: &mut Found,
    output: &Mutex<()>,
) {
    match p.fuel {
        Some(fuel) => {
            oracle.set_budget(fuel);
            oracle.set_reference_time(None);
        }
        None => oracle.set_reference_time(Some(args.reference_time)),
    }
    let report = oracle.check(&p.case);
    found.tally.record(&report);
    let mut lines = Vec::new();
    let path = p.path.display();
    match report.verdict {
        Verdict::Discarded if report.agrees() => lines.push(format!(
            "UNDECIDED {path}: the reference ran out of fuel after {} loop entries (raise --fuel, \
             or leave it out to bound the reference by time)",
            report.budget
        )),
        Verdict::Endless => lines.push(format!(
            "ENDLESS {path}: the reference never ends (it comes back to a state it was in); \
             backends ran out of fuel and external engines were stopped at --timeout, as they must"
        )),
        Verdict::ReferenceTimedOut => lines.push(format!(
            "UNDECIDED {path}: the reference did not finish within {:.0} s (raise --reference-time)",
            args.reference_time.as_secs_f64()
        )),
        Verdict::Checked if !report.compared() => {
            let why: Vec<String> = report
                .runs
                .iter()
                .map(|r| format!("{}: {}", r.engine, r.observed))
                .collect();
            lines.push(format!(
                "UNDECIDED {path}: no engine was compared ({})",
                why.join("; ")
            ));
        }
        _ => {}
    }
    for run in &report.runs {
        match &run.judgement {
            Judgement::Environment(why) => lines.push(format!(
                "ENVIRONMENT {path}: {} could not run: {why}",
                run.engine
            )),
            Judgement::TimedOut(why) => {
                lines.push(format!("TIMEOUT {path}: {}: {why}", run.engine))
            }
            _ => {}
        }
    }
    for divergence in report.divergences() {
        found.diverged = true;
        lines.push(format!("DIVERGE {path}: {divergence}"));
        if let Some(dir) = &args.out {
            let index = oracle
                .engines()
                .iter()
                .position(|e| e.name() == divergence.engine)
                .expect("divergences name engines of the oracle");
            let settings = Settings {
                jobs: reduce_jobs(args),
                ..Settings::default()
            };
            let m = reduce(oracle, &p.case, index, divergence.class, &settings);
            let name = reproducer_name(&m.case, &m.divergence);
            let engine = &oracle.engines()[index];
            match write_reproducer_for(dir, &name, &m.case, &m.report, &m.divergence, engine) {
                Ok(written) => lines.push(format!(
                    "  reduced from {} to {} commands: {}",
                    m.start_size,
                    m.case.program.len(),
                    written.display()
                )),
                Err(e) => lines.push(format!("error: cannot write to {}: {e}", dir.display())),
            }
        }
    }
    let _lock = output.lock();
    for line in lines {
        println!("{line}");
    }
}

/// Candidates a reduction checks at once: the cores shared among the check jobs.
fn reduce_jobs(args: &Args) -> usize {
    let cores = flags::default_jobs();
    (cores / args.jobs.unwrap_or(cores).max(1)).max(1)
}
