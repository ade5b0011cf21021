//! The `bfjit` command: run, inspect, cross-check and benchmark BF engines. Its isolation worker
//! (`bfjit __isolate-worker`) runs registered backends only.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main(&[])
}
