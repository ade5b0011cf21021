//! `bfjit run`: run one program on one backend, streaming its output.

use std::io::{ErrorKind, Read, Write};
use std::path::PathBuf;

use bfjit_backends::{Side, Status, MAX_TAPE_LEN};

use super::common::{error, load_program, pick_backend, ConfigArgs};
use super::{EXIT_OK, EXIT_RUNTIME_ERROR, EXIT_USAGE};

/// Arguments of `bfjit run`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The program to run (`-` reads it from standard input).
    pub file: PathBuf,
    /// Backend to run on (see `bfjit backends`); `auto` picks the fastest available.
    #[arg(long, short, default_value = "auto")]
    pub backend: String,
    /// Read the program's input from this file instead of standard input.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Runs `bfjit run`; returns the exit code.
pub fn main(args: Args) -> u8 {
    match run(args) {
        Ok(code) | Err(code) => code,
    }
}

fn run(args: Args) -> Result<u8, u8> {
    let program = load_program(&args.file)?;
    let backend = pick_backend(&args.backend)?;
    let config = args.config.config();
    let executable = backend.compile(&program, &config).map_err(|e| {
        error(format_args!("{}: {e}", backend.name()));
        EXIT_USAGE
    })?;
    let mut input: Box<dyn Read> = match &args.input {
        Some(path) => Box::new(std::fs::File::open(path).map_err(|e| {
            error(format_args!("cannot read {}: {e}", path.display()));
            EXIT_USAGE
        })?),
        None => Box::new(std::io::stdin().lock()),
    };
    let stdout = std::io::stdout();
    let mut output = stdout.lock();
    let halt = executable.run(&mut input, &mut output);
    let _ = output.flush();
    match halt.status {
        Status::Ok => Ok(EXIT_OK),
        // A closed stdout (e.g. `| head -c1`) ends the run quietly.
        Status::Io(e) if e.kind == ErrorKind::BrokenPipe => Ok(EXIT_OK),
        Status::PointerOutOfBounds { position, side } => {
            error(&halt.status);
            eprintln!(
                "  --> {}:{position}\n{}",
                args.file.display(),
                program.snippet(position)
            );
            if side == Side::Right {
                eprintln!(
                    "note: the tape has {} cells (--tape-len {}); a longer tape may help: --tape-len N, up to {MAX_TAPE_LEN}",
                    config.tape_len(), config.tape_len()
                );
            }
            Err(EXIT_RUNTIME_ERROR)
        }
        Status::OutOfFuel => {
            error(format_args!(
                "out of fuel: the budget of {} loop-body entries (--fuel) was spent",
                config.fuel().unwrap_or(0)
            ));
            Err(EXIT_RUNTIME_ERROR)
        }
        Status::Io(_) | Status::PointerOutOfBoundsUnlocated { .. } => {
            error(&halt.status);
            Err(EXIT_RUNTIME_ERROR)
        }
    }
}
