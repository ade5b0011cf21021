//! `bfjit fuzz`: generate programs until the time is up, check each on every backend (in a child
//! process by default), reduce and save every divergence, and print a summary table per backend.
//! Exit 0 when no divergence was found, 3 otherwise.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bfjit_backends::Backend;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use proptest::prelude::Rng;

use super::check::{announce, EngineArgs};
use super::common::{self, error};
use super::flags;
use super::{EXIT_DIVERGENCE, EXIT_USAGE};
use bfjit_backends::Status;
use bfjit_harness::case::Case;
use bfjit_harness::dialect::Dialect;
use bfjit_harness::generate::{mutate, ShapeStream};
use bfjit_harness::minimize::{reproducer_name, write_reproducer_for};
use bfjit_harness::oracle::{reference_run, Class, Engine, Oracle, Tally, DEFAULT_BUDGET};
use bfjit_harness::reduce::{reduce, Settings};

/// Arguments of `bfjit fuzz`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// How long to generate programs, in seconds.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = flags::seconds, allow_negative_numbers = true)]
    pub seconds: Duration,
    /// Stop after this many programs (default: only the time limit).
    #[arg(long, value_name = "N", value_parser = flags::cases, allow_negative_numbers = true)]
    pub cases: Option<u64>,
    /// Seed of the program generator (default: from the clock; printed for replay).
    #[arg(long, value_name = "S", value_parser = flags::seed, allow_negative_numbers = true)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub engines: EngineArgs,
    /// Directory for reduced reproducers.
    #[arg(long, value_name = "DIR", default_value = "fuzz-findings")]
    pub out: PathBuf,
    /// Run backends in this process (faster, but a crashing backend ends the run).
    #[arg(long)]
    pub no_isolate: bool,
    /// Fuel budget of each reference run; programs that need more are discarded.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BUDGET, value_parser = flags::budget, allow_negative_numbers = true)]
    pub fuel: u64,
    /// Also mutate the programs in this directory (default: the repository's corpus, if found).
    #[arg(long, value_name = "DIR")]
    pub corpus: Option<PathBuf>,
    /// The most of the time one backend may take (0 to 1); a slower backend (e.g. one that calls a
    /// C compiler) then sits some programs out. 1 runs every backend on every program.
    #[arg(long, value_name = "F", default_value_t = 0.2, value_parser = flags::share, allow_negative_numbers = true)]
    pub time_share: f64,
    /// Fuzz jobs running at once, sharing the findings folder (job J uses seed + J).
    #[arg(long, short = 'j', value_name = "N", value_parser = flags::jobs, allow_negative_numbers = true)]
    pub jobs: Option<usize>,
    /// Reduce and save at most this many divergences per backend and class (reproducers already
    /// in --out count, so fuzz processes sharing a folder save no duplicates).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = flags::count, allow_negative_numbers = true)]
    pub max_saved: usize,
}

/// Runs `bfjit fuzz`; returns the exit code.
pub fn main(args: Args, test_backends: &[&'static dyn Backend]) -> u8 {
    match run(args, test_backends) {
        Ok(code) | Err(code) => code,
    }
}

/// The corpus programs to mutate. A `--corpus` that cannot be loaded stops the run (exit 2); the
/// default corpus is optional.
fn corpus_sources(args: &Args) -> Result<Vec<Vec<u8>>, u8> {
    let dir = args
        .corpus
        .clone()
        .unwrap_or_else(bfjit_harness::corpus::default_dir);
    match bfjit_harness::corpus::load_dir(&dir) {
        Ok(cases) => Ok(cases
            .into_iter()
            .filter(|c| !c.slow && c.source.len() <= 4096 && c.program().is_ok())
            .map(|c| c.source)
            .collect()),
        Err(e) if args.corpus.is_some() => {
            error(format_args!("cannot load the corpus to mutate: {e}"));
            Err(EXIT_USAGE)
        }
        Err(_) => Ok(Vec::new()),
    }
}

/// What the fuzz jobs share: the reproducers saved per engine and class (also those already in the
/// findings folder, which other `bfjit fuzz` processes may share), counters and the progress bar.
struct Shared {
    saved: Mutex<HashMap<(String, String), usize>>,
    environment_shown: Mutex<HashSet<String>>,
    programs: AtomicU64,
    divergences: AtomicU64,
    start: Instant,
    bar: ProgressBar,
}

impl Shared {
    /// Prints a line above the progress bar (directly when the bar is hidden).
    fn say(&self, line: String) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    /// Whether one more reproducer of `engine` and `class` may be saved (counting it if so).
    fn claim(&self, engine: &str, class: Class, max_saved: usize) -> bool {
        let mut saved = self.saved.lock().expect("no job panics holding it");
        let count = saved
            .entry((engine.to_string(), class.name().to_string()))
            .or_insert(0);
        *count += 1;
        *count <= max_saved
    }
}

/// The reproducers already in `dir`, by engine and class (from their `ENGINE-CLASS-HASH.bf` names).
fn already_saved(dir: &Path) -> HashMap<(String, String), usize> {
    let mut saved = HashMap::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".bf") else {
            continue;
        };
        let Some((engine_class, _hash)) = stem.rsplit_once('-') else {
            continue;
        };
        if let Some(class) = Class::ALL
            .iter()
            .find(|c| engine_class.ends_with(&format!("-{}", c.name())))
        {
            let engine = &engine_class[..engine_class.len() - class.name().len() - 1];
            *saved
                .entry((engine.to_string(), class.name().to_string()))
                .or_insert(0) += 1;
        }
    }
    saved
}

/// The next generated (or, one time in eight, mutated) case, fitted to the external engines'
/// dialects (the first engine's pins win where two differ).
fn next_case(stream: &mut ShapeStream, corpus: &[Vec<u8>], dialects: &[Dialect]) -> Case {
    let mut case = stream.next_shape().to_case();
    if !corpus.is_empty() && stream.rng().next_u32().is_multiple_of(8) {
        let pick = stream.rng().next_u32() as usize % corpus.len();
        let mutant = mutate(&corpus[pick], stream.rng());
        if let Some(c) = Case::from_source(mutant, case.input.clone(), case.config) {
            case = c;
        }
    }
    for dialect in dialects {
        case = dialect.fit(case);
    }
    case
}

/// One fuzz job: generates and checks programs until the time or the case count is up; returns its
/// tally and the time it spent checking.
fn fuzz_job(
    args: &Args,
    mut oracle: Oracle,
    mut stream: ShapeStream,
    corpus: &[Vec<u8>],
    dialects: &[Dialect],
    shared: &Shared,
) -> (Tally, Duration) {
    let mut tally = Tally::default();
    let mut fuzz_time = Duration::ZERO;
    let limit = args.seconds;
    loop {
        if shared.start.elapsed() >= limit {
            break;
        }
        let programs = shared.programs.fetch_add(1, Ordering::SeqCst) + 1;
        if args.cases.is_some_and(|n| programs > n) {
            shared.programs.fetch_sub(1, Ordering::SeqCst);
            break;
        }
        let checked = Instant::now();
        let mut case = next_case(&mut stream, corpus, dialects);
        // Cases the external engines' dialects exclude are drawn again (a few times), so the
        // engines see cases inside their dialects; the backends check every case drawn last.
        for _ in 0..3 {
            if dialects.is_empty() {
                break;
            }
            let reference = reference_run(&case, args.fuel);
            if reference.outcome.status == Status::OutOfFuel
                || dialects
                    .iter()
                    .all(|d| d.excludes(&case, &reference).is_none())
            {
                break;
            }
            case = next_case(&mut stream, corpus, dialects);
        }
        let report = oracle.check(&case);
        fuzz_time += checked.elapsed();
        tally.record(&report);
        for (engine, why) in report.environment_failures() {
            // The first failure of each engine is shown; the table counts them all.
            let first = shared
                .environment_shown
                .lock()
                .expect("no job panics holding it")
                .insert(engine.to_string());
            if first {
                shared.say(format!("environment: {engine} could not run: {why}"));
            }
        }
        for divergence in report.divergences() {
            shared.divergences.fetch_add(1, Ordering::SeqCst);
            if !shared.claim(&divergence.engine, divergence.class, args.max_saved) {
                continue;
            }
            shared.say(format!("found: {divergence}"));
            let index = oracle
                .engines()
                .iter()
                .position(|e| e.name() == divergence.engine)
                .expect("divergences name engines of the oracle");
            // The cores are shared among the fuzz jobs.
            let settings = Settings {
                max_time: Duration::from_secs(20),
                jobs: (flags::default_jobs() / args.jobs.unwrap_or(1)).max(1),
                ..Settings::default()
            };
            let m = reduce(&mut oracle, &case, index, divergence.class, &settings);
            let name = reproducer_name(&m.case, &m.divergence);
            let engine = &oracle.engines()[index];
            match write_reproducer_for(&args.out, &name, &m.case, &m.report, &m.divergence, engine)
            {
                Ok(path) => shared.say(format!(
                    "  reduced from {} to {} commands ({} checks): {}\n  {}",
                    case.program.len(),
                    m.case.program.len(),
                    m.checks,
                    path.display(),
                    String::from_utf8_lossy(m.case.program.source())
                )),
                Err(e) => error(format_args!("cannot write to {}: {e}", args.out.display())),
            }
        }
        if programs.is_multiple_of(16) {
            let elapsed = shared.start.elapsed();
            let secs = elapsed.as_secs_f64().max(1e-9);
            shared
                .bar
                .set_position(elapsed.as_secs().min(limit.as_secs()));
            shared.bar.set_message(format!(
                "{programs} programs, {:.0}/s, {} divergences",
                programs as f64 / secs,
                shared.divergences.load(Ordering::SeqCst)
            ));
        }
    }
    (tally, fuzz_time)
}

fn run(args: Args, test_backends: &[&'static dyn Backend]) -> Result<u8, u8> {
    let corpus = corpus_sources(&args)?;
    let (engines, unsupported) = args.engines.engines(test_backends)?;
    // Generated and mutated cases are made to fit the external engines' dialects (the first
    // engine's pins win where two differ).
    let dialects: Vec<Dialect> = engines
        .iter()
        .rev()
        .filter_map(|e| match e {
            Engine::External(e) => Some(e.dialect),
            Engine::Backend(_) => None,
        })
        .collect();
    let worker = if args.no_isolate {
        None
    } else {
        Some(args.engines.worker()?)
    };
    announce(&engines, &unsupported);
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let jobs = args.jobs.unwrap_or(1);
    eprintln!(
        "seed {seed} (replay with --seed {seed}{}); reproducers go to {}",
        if jobs > 1 {
            " --jobs 1: job J uses seed + J"
        } else {
            ""
        },
        args.out.display()
    );
    let limit = args.seconds;
    let bar = ProgressBar::new(limit.as_secs().max(1));
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {msg}")
            .map_err(|e| {
                error(e);
                EXIT_USAGE
            })?
            .progress_chars("=> "),
    );
    let shared = Shared {
        saved: Mutex::new(already_saved(&args.out)),
        environment_shown: Mutex::new(HashSet::new()),
        programs: AtomicU64::new(0),
        divergences: AtomicU64::new(0),
        start: Instant::now(),
        bar,
    };
    let results: Vec<(Tally, Duration)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs)
            .map(|job| {
                let mut oracle = Oracle::new(engines.clone(), args.fuel)
                    .time_share(args.time_share)
                    .run_limit(args.engines.run_limit());
                if let Some(worker) = &worker {
                    oracle = oracle.isolated(worker.clone());
                }
                let (args, corpus, dialects, shared) = (&args, &corpus, &dialects, &shared);
                scope.spawn(move || {
                    let stream = ShapeStream::new(seed.wrapping_add(job as u64));
                    fuzz_job(args, oracle, stream, corpus, dialects, shared)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("fuzz jobs do not panic"))
            .collect()
    });
    let mut tally = Tally::default();
    let mut fuzz_time = Duration::ZERO;
    for (t, time) in &results {
        tally.merge(t);
        fuzz_time = fuzz_time.max(*time);
    }
    let programs = shared.programs.load(Ordering::SeqCst);
    let start = shared.start;
    let bar = shared.bar;
    bar.finish_and_clear();
    let secs = fuzz_time.as_secs_f64().max(1e-9);
    print!("{}", tally.table(&unsupported));
    println!(
        "{programs} programs in {:.1} s ({} discarded: reference out of fuel): {:.0} programs/s, \
         {:.0} backend runs/s, {} divergences, {} environment failures",
        start.elapsed().as_secs_f64(),
        tally.discarded,
        programs as f64 / secs,
        tally.runs() as f64 / secs,
        tally.divergences(),
        tally.environment_failures()
    );
    println!("{}", tally.summary());
    if tally.divergences() > 0 {
        return Ok(EXIT_DIVERGENCE);
    }
    // Generated programs the reference does not finish, or that lie outside an engine's dialect,
    // are expected; an engine never compared, timeouts and environment failures are not.
    let mut undecided = Vec::new();
    let never = tally.never_compared();
    if tally.checked == 0 || !never.is_empty() {
        undecided.push(format!(
            "never compared: {}",
            if tally.checked == 0 {
                "any engine".to_string()
            } else {
                never.join(", ")
            }
        ));
    }
    Ok(common::exit_when_no_divergence(&tally, undecided))
}
