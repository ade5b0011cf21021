//! The `bfjit` command line: argument parsing, and dispatch to one module per subcommand.
//!
//! Exit codes (also in `--help` and README.md):
//! 0 success; 1 the BF program failed at run time (pointer off the tape, out of fuel, I/O error);
//! 2 usage error, unreadable file or parse error; 3 backends disagree (`check`, `fuzz`).

pub mod backends;
pub mod common;
pub mod run;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: the BF program failed at run time.
pub const EXIT_RUNTIME_ERROR: u8 = 1;
/// Exit code: usage error, unreadable input or parse error.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: backends disagree.
pub const EXIT_DIVERGENCE: u8 = 3;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the BF program failed at run time (pointer left the tape, out of fuel, I/O error)
  2  usage error, unreadable file, or parse error (e.g. unmatched bracket)
  3  backends disagree (check, fuzz)";

/// bfjit: a workbench for Brainf*ck execution engines.
#[derive(Parser, Debug)]
#[command(name = "bfjit", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a BF program on one backend.
    Run(run::Args),
    /// List the backends and whether each is available here.
    Backends(backends::Args),
}

/// Parses the command line and runs the subcommand; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(args) => run::main(args),
        Command::Backends(args) => backends::main(args),
    };
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
