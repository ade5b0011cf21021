//! The `bfjit` command: run, inspect, cross-check and benchmark BF engines.

fn main() -> std::process::ExitCode {
    bfjit_harness::cli::main()
}
