//! `bfjit check`: cross-check given programs on every backend (and external engines) against
//! `reference`, with a summary table per backend. Exit 0 when all agree, 3 when any differ.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bfjit_backends::{backend_names, Backend, EofPolicy};

use super::common::{error, EofArg};
use super::flags;
use super::{EXIT_DIVERGENCE, EXIT_ENVIRONMENT, EXIT_OK, EXIT_USAGE};
use bfjit_harness::case::Case;
use bfjit_harness::corpus::{load_case, load_dir, CorpusCase};
use bfjit_harness::external::ExternalEngine;
use bfjit_harness::isolate::WorkerCommand;
use bfjit_harness::minimize::{reproducer_name, write_reproducer};
use bfjit_harness::oracle::{
    default_engines, select_backends, Engine, Oracle, Selection, Tally, Verdict,
};
use bfjit_harness::reduce::{reduce, Settings};

/// Which engines to check, shared by `check` and `fuzz`.
#[derive(clap::Args, Debug, Clone)]
pub struct EngineArgs {
    /// Backends to compare with reference (default: every registered backend available here).
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub backends: Option<Vec<String>>,
    /// An external engine: NAME='COMMAND ARGS {file}' (also {tape_len}, {eof}); repeatable.
    /// It gets the program's path, the input on stdin; its stdout and success are compared.
    #[arg(long = "engine", value_name = "NAME=CMD")]
    pub engines: Vec<String>,
    /// Seconds an external engine (or an isolated backend) may take per program.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = flags::seconds, allow_negative_numbers = true)]
    pub timeout: Duration,
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
        for spec in &self.engines {
            let engine = ExternalEngine::parse(spec, self.timeout()).map_err(|e| {
                error(e);
                EXIT_USAGE
            })?;
            engines.push(Engine::External(engine));
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

    /// The worker command for isolation, with this timeout.
    pub fn worker(&self) -> Result<WorkerCommand, u8> {
        let mut command = WorkerCommand::current_exe().map_err(|e| {
            error(format_args!(
                "cannot find the bfjit binary for --isolate: {e}"
            ));
            EXIT_USAGE
        })?;
        command.timeout = self.timeout();
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
    /// Fuel budget of the reference run (loop-body entries); the others get what it used.
    #[arg(long, value_name = "N", default_value = "1000000000", value_parser = flags::budget, allow_negative_numbers = true)]
    pub fuel: u64,
    /// Override the tape length of every program.
    #[arg(long, value_name = "N", value_parser = flags::tape_len, allow_negative_numbers = true)]
    pub tape_len: Option<usize>,
    /// Override the EOF policy of every program.
    #[arg(long, value_enum)]
    pub eof: Option<EofArg>,
    /// Minimize each divergence and write a reproducer into this directory.
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

fn run(args: Args, test_backends: &[&'static dyn Backend]) -> Result<u8, u8> {
    let (engines, unsupported) = args.engines.engines(test_backends)?;
    let cases = collect(&args.paths)?;
    let mut oracle = Oracle::new(engines, args.fuel);
    if args.isolate {
        oracle = oracle.isolated(args.engines.worker()?);
    }
    announce(oracle.engines(), &unsupported);
    let mut tally = Tally::default();
    let mut code = EXIT_OK;
    let mut diverged = false;
    for corpus_case in &cases {
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
            config = match config.with_tape_len(t) {
                Ok(config) => config,
                Err(e) => {
                    error(format_args!("{}: {e}", corpus_case.path.display()));
                    return Err(EXIT_USAGE);
                }
            };
        }
        if let Some(e) = args.eof {
            config = config.with_eof(EofPolicy::from(e));
        }
        // A corpus program that must run out of fuel is checked with its own budget.
        let budget = corpus_case.config.fuel().unwrap_or(args.fuel);
        let case = Case {
            program,
            input: corpus_case.input.clone(),
            config,
        };
        oracle.set_budget(budget);
        let report = oracle.check(&case);
        tally.record(&report);
        if report.verdict == Verdict::Discarded && report.agrees() {
            eprintln!(
                "inconclusive {}: reference ran out of fuel after {} loop entries (raise --fuel)",
                corpus_case.path.display(),
                report.budget
            );
        }
        for (engine, why) in report.environment_failures() {
            println!(
                "ENVIRONMENT {}: {engine} could not run: {why}",
                corpus_case.path.display()
            );
        }
        for divergence in report.divergences() {
            diverged = true;
            println!("DIVERGE {}: {divergence}", corpus_case.path.display());
            if let Some(dir) = &args.out {
                let index = oracle
                    .engines()
                    .iter()
                    .position(|e| e.name() == divergence.engine)
                    .expect("divergences name engines of the oracle");
                let m = reduce(
                    &mut oracle,
                    &case,
                    index,
                    divergence.class,
                    &Settings::default(),
                );
                let name = reproducer_name(&m.case, &m.divergence);
                match write_reproducer(dir, &name, &m.case, &m.report, &m.divergence) {
                    Ok(path) => println!(
                        "  reduced from {} to {} commands: {}",
                        m.start_size,
                        m.case.program.len(),
                        path.display()
                    ),
                    Err(e) => error(format_args!("cannot write to {}: {e}", dir.display())),
                }
            }
        }
    }
    print!("{}", tally.table(&unsupported));
    println!(
        "{} programs checked, {} inconclusive, {} divergences, {} environment failures",
        tally.checked,
        tally.discarded,
        tally.divergences(),
        tally.environment_failures()
    );
    if diverged {
        return Ok(EXIT_DIVERGENCE);
    }
    if tally.environment_failures() > 0 && code == EXIT_OK {
        return Ok(EXIT_ENVIRONMENT);
    }
    Ok(code)
}
