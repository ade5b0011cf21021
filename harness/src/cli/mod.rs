//! The `bfjit` command line: argument parsing, and dispatch to one module per subcommand. A module
//! tree of the binary targets (`bfjit`, and the test-only `bfjit-testing`), not of the library.
//!
//! Exit codes (also in `--help` and README.md):
//! 0 success; 1 the BF program failed at run time (pointer off the tape, out of fuel, I/O error);
//! 2 usage error, unreadable file or parse error; 3 an engine gave a wrong answer or crashed
//! (`check`, `fuzz`) or a `bench` answer is wrong; 4 nothing disagreed but something was not decided
//! (timeouts, programs the reference did not finish or outside every dialect, environment failures).

pub mod asm;
pub mod backends;
pub mod bench;
pub mod check;
pub mod common;
pub mod flags;
pub mod fuzz;
pub mod gen_workloads;
pub mod ir;
pub mod run;

use std::process::ExitCode;

use bfjit_backends::Backend;
use clap::{Parser, Subcommand};

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: the BF program failed at run time.
pub const EXIT_RUNTIME_ERROR: u8 = 1;
/// Exit code: usage error, unreadable input or parse error.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: backends disagree.
pub const EXIT_DIVERGENCE: u8 = 3;
/// Exit code: no disagreement, but something was not decided (see [`EXIT_CODES`]).
pub const EXIT_ENVIRONMENT: u8 = 4;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the BF program failed at run time (pointer left the tape, out of fuel, I/O error)
  2  usage error, unreadable file, or parse error (e.g. unmatched bracket)
  3  an engine gave a wrong answer or crashed (check, fuzz), or a bench cell gave a wrong answer
  4  no disagreement, but something was not decided (check, fuzz): no program compared, a run
     over its time limit, a program the reference did not finish (time or fuel) or outside
     every engine's dialect, or the environment kept an engine from running (the C compiler
     failed, an external engine could not be started)";

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
    /// Print a JIT backend's generated code, disassembled and annotated with its IR.
    Asm(asm::Args),
    /// Benchmark every backend on the workloads and write the HTML report.
    Bench(bench::Args),
    /// Cross-check programs on every backend against reference (exit 3 when any differ).
    Check(check::Args),
    /// Print a program's IR after parsing and after each optimizer pass, with source positions.
    Ir(ir::Args),
    /// Generate programs and cross-check them until the time is up; minimize divergences.
    Fuzz(fuzz::Args),
    /// Regenerate the benchmark workloads in corpus/bench/ (`--check` only reports stale files).
    GenWorkloads(gen_workloads::Args),
    /// Internal: the child process of `--isolate` (reads cases on stdin).
    #[command(name = "__isolate-worker", hide = true)]
    IsolateWorker,
}

/// Parses the command line and runs the subcommand; returns the process exit code.
/// `test_backends` are the backends `--broken` may name and the isolation worker may run besides the
/// registry: none in `bfjit`, the deliberately broken backends in `bfjit-testing`.
pub fn main(test_backends: &[&'static dyn Backend]) -> ExitCode {
    let cli = Cli::parse();
    // Temporary files of this run (and of the processes it starts) go to a private folder that is
    // removed at the end, or on SIGINT/SIGTERM/SIGHUP. A worker uses the folder its parent gave it.
    let _scratch = match cli.command {
        Command::IsolateWorker => None,
        _ => bfjit_harness::scratch::install(),
    };
    let code = match cli.command {
        Command::Run(args) => run::main(args),
        Command::Backends(args) => backends::main(args),
        Command::Asm(args) => asm::main(args),
        Command::Bench(args) => bench::main(args),
        Command::Check(args) => check::main(args, test_backends),
        Command::Fuzz(args) => fuzz::main(args, test_backends),
        Command::GenWorkloads(args) => gen_workloads::main(args),
        Command::Ir(args) => ir::main(args),
        Command::IsolateWorker => bfjit_harness::isolate::worker_main(test_backends),
    };
    // An interrupted run ends with the signal's code, from the signal thread, once it cleaned up.
    while bfjit_harness::scratch::interrupted() {
        std::thread::park();
    }
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
