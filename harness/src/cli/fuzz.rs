//! `bfjit fuzz`: generate programs until the time is up, check each on every backend (in a child
//! process by default), minimize and save every divergence, and print a summary table per backend.
//! Exit 0 when no divergence was found, 3 otherwise.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bfjit_backends::Backend;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use proptest::prelude::Rng;

use super::check::{announce, EngineArgs};
use super::common::error;
use super::flags;
use super::{EXIT_DIVERGENCE, EXIT_ENVIRONMENT, EXIT_OK, EXIT_USAGE};
use bfjit_harness::case::Case;
use bfjit_harness::external::ExternalEngine;
use bfjit_harness::generate::{mutate, ShapeStream};
use bfjit_harness::minimize::{reproducer_name, write_reproducer};
use bfjit_harness::oracle::{Class, Engine, Oracle, Tally, DEFAULT_BUDGET};
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
    /// Directory for minimized reproducers.
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
    /// Minimize and save at most this many divergences per backend and class.
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

fn run(args: Args, test_backends: &[&'static dyn Backend]) -> Result<u8, u8> {
    let corpus = corpus_sources(&args)?;
    let (engines, unsupported) = args.engines.engines(test_backends)?;
    // External engines that cannot be told the tape length / EOF policy pin them for every case.
    let mut pinned_tape = None;
    let mut pinned_eof = None;
    for engine in &engines {
        if let Engine::External(e) = engine {
            let (tape, eof) = ExternalEngine::pinned(e);
            pinned_tape = pinned_tape.or(tape);
            pinned_eof = pinned_eof.or(eof);
        }
    }
    let mut oracle = Oracle::new(engines, args.fuel).time_share(args.time_share);
    if !args.no_isolate {
        oracle = oracle.isolated(args.engines.worker()?);
    }
    announce(oracle.engines(), &unsupported);
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    eprintln!(
        "seed {seed} (replay with --seed {seed}); reproducers go to {}",
        args.out.display()
    );
    let mut stream = ShapeStream::new(seed);
    let mut tally = Tally::default();
    let mut saved: HashMap<(String, Class), usize> = HashMap::new();
    let mut environment_shown: HashSet<String> = HashSet::new();
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
    // A hidden bar (stderr not a terminal) drops its `println`s: then print directly.
    let say = |line: String| {
        if bar.is_hidden() {
            eprintln!("{line}");
        } else {
            bar.println(line);
        }
    };
    let start = Instant::now();
    let mut programs = 0u64;
    let mut fuzz_time = Duration::ZERO;
    while start.elapsed() < limit && args.cases.is_none_or(|n| programs < n) {
        let shape = stream.next_shape().pinned(pinned_tape, pinned_eof);
        let mut case = shape.to_case();
        if !corpus.is_empty() && stream.rng().next_u32().is_multiple_of(8) {
            let pick = stream.rng().next_u32() as usize % corpus.len();
            let mutant = mutate(&corpus[pick], stream.rng());
            if let Some(c) = Case::from_source(mutant, case.input.clone(), case.config) {
                case = c;
            }
        }
        let checked = Instant::now();
        let report = oracle.check(&case);
        fuzz_time += checked.elapsed();
        programs += 1;
        tally.record(&report);
        for (engine, why) in report.environment_failures() {
            // The first failure of each engine is shown; the table counts them all.
            if environment_shown.insert(engine.to_string()) {
                say(format!("environment: {engine} could not run: {why}"));
            }
        }
        for divergence in report.divergences() {
            let key = (divergence.engine.clone(), divergence.class);
            let count = saved.entry(key).or_insert(0);
            *count += 1;
            if *count > args.max_saved {
                continue;
            }
            say(format!("found: {divergence}"));
            let index = oracle
                .engines()
                .iter()
                .position(|e| e.name() == divergence.engine)
                .expect("divergences name engines of the oracle");
            let settings = Settings {
                max_time: Duration::from_secs(20),
                ..Settings::default()
            };
            let m = reduce(&mut oracle, &case, index, divergence.class, &settings);
            let name = reproducer_name(&m.case, &m.divergence);
            match write_reproducer(&args.out, &name, &m.case, &m.report, &m.divergence) {
                Ok(path) => say(format!(
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
            let secs = start.elapsed().as_secs_f64().max(1e-9);
            bar.set_position(start.elapsed().as_secs().min(limit.as_secs()));
            bar.set_message(format!(
                "{programs} programs, {:.0}/s, {} divergences",
                programs as f64 / secs,
                tally.divergences()
            ));
        }
    }
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
    Ok(if tally.divergences() > 0 {
        EXIT_DIVERGENCE
    } else if tally.environment_failures() > 0 {
        EXIT_ENVIRONMENT
    } else {
        EXIT_OK
    })
}
