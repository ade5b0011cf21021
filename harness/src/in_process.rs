//! Running one backend in this process and observing it: the one place a backend's compile-and-run
//! becomes an [`Observed`], used by the oracle directly and by the isolation worker in its child.

use std::panic::{catch_unwind, AssertUnwindSafe};

use bfjit_backends::{run_collect, Backend, Config, Program};

use crate::case::{panic_message, Observed};

/// Compiles and runs one backend in this process; a panic becomes [`Observed::Crashed`], a compile
/// error is kept as it is (the oracle judges whose fault it is).
pub fn run_in_process(
    backend: &dyn Backend,
    program: &Program,
    config: &Config,
    input: &[u8],
) -> Observed {
    run_in_process_reporting(backend, program, config, input, &mut || {})
}

/// [`run_in_process`], calling `compiled` between a successful compile and the run (the isolation
/// worker tells its parent, which does not count compile time against the run's time limit).
pub fn run_in_process_reporting(
    backend: &dyn Backend,
    program: &Program,
    config: &Config,
    input: &[u8],
    compiled: &mut dyn FnMut(),
) -> Observed {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let executable = backend.compile(program, config)?;
        compiled();
        Ok(run_collect(executable.as_ref(), input))
    }));
    match result {
        Ok(Ok(outcome)) => Observed::Outcome(outcome),
        Ok(Err(e)) => Observed::CompileError(e),
        Err(panic) => Observed::Crashed(format!("panicked: {}", panic_message(panic.as_ref()))),
    }
}
