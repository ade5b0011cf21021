//! `bfjit reduce`: reduce one diverging program to a small reproducer (like `creduce`), print it and
//! save it in corpus format with its `.txt` report. Exit 3 with a reproducer, 0 when the engine
//! agrees or the program lies outside its dialect (nothing to reduce), 4 when it could not be
//! compared (the environment kept it from running, or it timed out). The reduced case stays inside
//! the engine's dialect (`--dialect`, see `bfjit check`).

use std::path::PathBuf;
use std::time::Duration;

use bfjit_backends::{Backend, EofPolicy};

use super::common::{error, read_source, EofArg};
use super::flags;
use super::{EXIT_DIVERGENCE, EXIT_ENVIRONMENT, EXIT_OK, EXIT_USAGE};
use bfjit_harness::case::Case;
use bfjit_harness::engine_spec::engine_specs;
use bfjit_harness::external::ExternalEngine;
use bfjit_harness::isolate::WorkerCommand;
use bfjit_harness::minimize::{reproducer_name, write_reproducer_for};
use bfjit_harness::oracle::{Engine, Judgement, Oracle, RunLimit, DEFAULT_TIME_FACTOR};
use bfjit_harness::reduce::{reduce, Settings};

/// Arguments of `bfjit reduce`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The diverging program.
    pub file: PathBuf,
    /// The program's input (default: none).
    #[arg(long, value_name = "F")]
    pub input: Option<PathBuf>,
    /// The backend that diverges from reference.
    #[arg(long, value_name = "NAME", required_unless_present_any = ["engine", "engine_file", "broken"], conflicts_with_all = ["engine", "engine_file"])]
    pub backend: Option<String>,
    /// The external engine that diverges: NAME='COMMAND ARGS {file}' (also {tape_len}, {eof}), or
    /// the NAME of an engine of the `--engines` file.
    #[arg(long, value_name = "NAME=CMD|NAME")]
    pub engine: Option<String>,
    /// A TOML file of external engines, as for `check` (a table per engine, `command` then dialect
    /// keys); with more than one engine in it, `--engine NAME` picks the one that diverges.
    #[arg(long = "engines", value_name = "FILE")]
    pub engine_file: Option<PathBuf>,
    /// The external engine's dialect: NAME:KEY=VALUE[,KEY=VALUE...] (tape=N or tape=N+,
    /// eof=unchanged|zero|max|none, output=bytes|ascii, input=bytes|no-255,
    /// comments=any|no-bang-hash, as for `check`); repeatable. The reduced case stays inside it: a
    /// pinned tape length or EOF policy is kept.
    #[arg(long = "dialect", value_name = "NAME:K=V")]
    pub dialects: Vec<String>,
    /// Number of tape cells of the diverging run (default: the one the engine's dialect pins).
    #[arg(long, value_name = "N", value_parser = flags::tape_len, allow_negative_numbers = true)]
    pub tape_len: Option<usize>,
    /// What `,` stores at end of input in the diverging run (default: the one the engine's dialect
    /// pins).
    #[arg(long, value_enum)]
    pub eof: Option<EofArg>,
    /// Fuel budget of the reference run.
    #[arg(long, value_name = "N", default_value_t = 1_000_000_000, value_parser = flags::budget, allow_negative_numbers = true)]
    pub fuel: u64,
    /// How long to reduce, in seconds (the reference's confirmation comes after).
    #[arg(long, value_name = "SECS", default_value = "300", value_parser = flags::seconds, allow_negative_numbers = true)]
    pub seconds: Duration,
    /// Seconds the engine may take on the original program at least (or the time factor times the
    /// reference's; candidates get a limit derived from its actual time).
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = flags::seconds, allow_negative_numbers = true)]
    pub timeout: Duration,
    /// Candidates checked at once (default: the number of cores).
    #[arg(long, value_name = "N", value_parser = flags::jobs, allow_negative_numbers = true)]
    pub jobs: Option<usize>,
    /// Directory for the reproducer files.
    #[arg(long, value_name = "DIR", default_value = "reduced")]
    pub out: PathBuf,
    /// Judge with the reference only (no faster stand-in while reducing).
    #[arg(long)]
    pub no_stand_in: bool,
    /// Run the backend in this process (faster, but a crash ends the run and hangs are not bounded).
    #[arg(long)]
    pub no_isolate: bool,
    /// A test backend by name (only `bfjit-testing` has any).
    #[arg(long, hide = true, value_name = "NAME", conflicts_with_all = ["engine", "backend"])]
    pub broken: Option<String>,
}

/// Runs `bfjit reduce`; returns the exit code.
pub fn main(args: Args, test_backends: &[&'static dyn Backend]) -> u8 {
    match run(args, test_backends) {
        Ok(code) | Err(code) => code,
    }
}

fn engine(args: &Args, test_backends: &[&'static dyn Backend]) -> Result<Engine, u8> {
    if args.engine.is_some() || args.engine_file.is_some() {
        // `--engine NAME=CMD` defines the engine; a bare `--engine NAME` picks one from the file.
        let (flags, pick) = match &args.engine {
            Some(e) if e.contains('=') => (std::slice::from_ref(e), None),
            Some(name) => (&[][..], Some(name.as_str())),
            None => (&[][..], None),
        };
        let files: Vec<PathBuf> = args.engine_file.iter().cloned().collect();
        let mut specs = engine_specs(flags, &args.dialects, &files).map_err(|e| {
            error(e);
            EXIT_USAGE
        })?;
        let names = || {
            specs
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let chosen = match pick {
            Some(name) => specs.iter().position(|s| s.name == name).ok_or_else(|| {
                error(format_args!(
                    "no engine '{name}' in {} (it has: {})",
                    args.engine_file
                        .as_deref()
                        .map_or("the command line".into(), |f| f.display().to_string()),
                    names()
                ));
                EXIT_USAGE
            })?,
            // The `--engine NAME=CMD` flag, which comes after the file's engines.
            None if !flags.is_empty() => specs.len() - 1,
            None if specs.len() == 1 => 0,
            None => {
                error(format_args!(
                    "the engines file defines {} engines ({}): pick the one that diverges with \
                     --engine NAME",
                    specs.len(),
                    names()
                ));
                return Err(EXIT_USAGE);
            }
        };
        let spec = specs.swap_remove(chosen);
        return Ok(Engine::External(ExternalEngine::new(spec, args.timeout)));
    }
    if !args.dialects.is_empty() {
        error("--dialect applies to external engines (--engine or --engines), not to backends");
        return Err(EXIT_USAGE);
    }
    if let Some(name) = &args.broken {
        return test_backends
            .iter()
            .copied()
            .find(|b| b.name() == name)
            .map(Engine::Backend)
            .ok_or_else(|| {
                error(format_args!("unknown test backend '{name}'"));
                EXIT_USAGE
            });
    }
    let name = args.backend.as_deref().unwrap_or("auto");
    super::common::pick_backend(name).map(Engine::Backend)
}

fn run(args: Args, test_backends: &[&'static dyn Backend]) -> Result<u8, u8> {
    let engine = engine(&args, test_backends)?;
    let program = super::common::load_program(&args.file)?;
    let input = match &args.input {
        Some(path) => read_source(path)?,
        None => Vec::new(),
    };
    let mut config = bfjit_backends::Config::default();
    let dialect = engine.dialect();
    if let Some(t) = args.tape_len.or(dialect.pinned_tape_len()) {
        config = config.with_tape_len(t).map_err(|e| {
            error(e);
            EXIT_USAGE
        })?;
    }
    if let Some(e) = args.eof.map(EofPolicy::from).or(dialect.pinned_eof()) {
        config = config.with_eof(e);
    }
    if !dialect.may_use(&config) {
        error(format_args!(
            "tape_len {} and eof {} are outside {}'s dialect ({dialect}): leave --tape-len and \
             --eof out, or change the dialect",
            config.tape_len(),
            config.eof(),
            engine.name()
        ));
        return Err(EXIT_USAGE);
    }
    let case = Case {
        program,
        input,
        config,
    };
    let isolated = matches!(engine, Engine::Backend(_)) && !args.no_isolate;
    let mut oracle = Oracle::new(vec![engine], args.fuel).run_limit(RunLimit {
        floor: args.timeout,
        factor: DEFAULT_TIME_FACTOR,
    });
    if isolated {
        let mut command = WorkerCommand::current_exe().map_err(|e| {
            error(format_args!(
                "cannot find the bfjit binary for isolation: {e}"
            ));
            EXIT_USAGE
        })?;
        command.timeout = args.timeout;
        oracle = oracle.isolated(command);
    }
    let report = oracle.check(&case);
    if let Some((engine, why)) = report.environment_failures().next() {
        error(format_args!("{engine} could not run: {why}"));
        return Ok(EXIT_ENVIRONMENT);
    }
    let Some(divergence) = report.first_divergence().cloned() else {
        let name = oracle.engines()[0].name();
        let file = args.file.display();
        return match &report.runs[0].judgement {
            Judgement::Agrees => {
                println!("{name} agrees with reference on {file}: nothing to reduce");
                Ok(EXIT_OK)
            }
            Judgement::OutsideDialect(why) => {
                println!("{file} lies outside {name}'s dialect: {why}; nothing to reduce");
                Ok(EXIT_OK)
            }
            _ => {
                error(format_args!(
                    "{name} was not compared with reference on {file}: {}",
                    report.runs[0].observed
                ));
                Ok(EXIT_ENVIRONMENT)
            }
        };
    };
    eprintln!("{divergence}");
    let settings = Settings {
        jobs: args.jobs.unwrap_or(Settings::default().jobs),
        max_time: args.seconds,
        stand_in: !args.no_stand_in,
        progress: true,
        dialect: None,
    };
    let m = reduce(&mut oracle, &case, 0, divergence.class, &settings);
    for note in &m.notes {
        eprintln!("note: {note}");
    }
    let name = reproducer_name(&m.case, &m.divergence);
    let path = write_reproducer_for(
        &args.out,
        &name,
        &m.case,
        &m.report,
        &m.divergence,
        &oracle.engines()[0],
    )
    .map_err(|e| {
        error(format_args!("cannot write to {}: {e}", args.out.display()));
        EXIT_USAGE
    })?;
    eprintln!(
        "reduced from {} to {} commands in {:.1} s ({} candidates checked{}; {} by reference): {}",
        m.start_size,
        m.case.program.len(),
        m.elapsed.as_secs_f64(),
        m.checks,
        m.stand_in
            .map(|s| format!(", judged by {s} as stand-in"))
            .unwrap_or_default(),
        if m.confirmed {
            "confirmed"
        } else {
            "NOT confirmed"
        },
        path.display()
    );
    eprintln!("{}", m.divergence);
    if !m.case.input.is_empty() {
        eprintln!("input: {:?}", m.case.input);
    }
    eprintln!(
        "tape_len {}, eof {}",
        m.case.config.tape_len(),
        m.case.config.eof()
    );
    println!("{}", String::from_utf8_lossy(m.case.program.source()));
    Ok(EXIT_DIVERGENCE)
}
