//! `bfjit asm`: print the machine code a JIT backend generates for a program, disassembled, with the IR
//! node and source position each part came from.

use std::io::Write;
use std::path::PathBuf;

use bfjit_backends::{cranelift, dynasm_opt};

use super::common::{error, load_program, ConfigArgs};
use super::{EXIT_OK, EXIT_USAGE};

/// The backends whose code `bfjit asm` can list.
const LISTABLE: &[&str] = &["dynasm-opt", "cranelift"];

/// Arguments of `bfjit asm`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The program to compile (`-` reads it from standard input).
    pub file: PathBuf,
    /// The JIT backend whose code to list.
    #[arg(long, short, default_value = "dynasm-opt")]
    pub backend: String,
    /// The run configuration the code is specialized on (tape length, fuel metering).
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Runs `bfjit asm`; returns the exit code.
pub fn main(args: Args) -> u8 {
    match run(args) {
        Ok(code) | Err(code) => code,
    }
}

fn run(args: Args) -> Result<u8, u8> {
    if !LISTABLE.contains(&args.backend.as_str()) {
        error(format_args!(
            "no assembly listing for backend '{}'; listable: {}",
            args.backend,
            LISTABLE.join(", ")
        ));
        return Err(EXIT_USAGE);
    }
    let program = load_program(&args.file)?;
    let config = args.config.config();
    let failed = |e: bfjit_backends::CompileError| {
        error(format_args!("{}: {e}", args.backend));
        EXIT_USAGE
    };
    let text = if args.backend == "cranelift" {
        cranelift::compile_listed(&program, &config)
            .map_err(failed)?
            .1
    } else {
        let (nodes, generated) = dynasm_opt::compile_code(&program, &config).map_err(failed)?;
        dynasm_opt::disasm::listing(&program, nodes.nodes(), &generated)
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // A closed stdout (e.g. `| head`) is not an error worth reporting.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    Ok(EXIT_OK)
}
