//! `bfjit-testing`: the `bfjit` command line plus the deliberately broken backends of
//! `bfjit_harness::broken`, for the harness's own tests (`--broken NAME` on `check` and `fuzz`, and an
//! isolation worker that can run them). Built only with the `test-support` feature, which the
//! harness's tests enable; never installed as `bfjit`.

#[path = "../cli/mod.rs"]
mod cli;

use bfjit_backends::Backend;

fn main() -> std::process::ExitCode {
    let broken: Vec<&'static dyn Backend> = bfjit_harness::broken::ALL
        .iter()
        .map(|b| b as &'static dyn Backend)
        .collect();
    cli::main(&broken)
}
