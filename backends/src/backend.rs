//! The one trait every execution engine implements. Its error type lives in [`crate::error`]; the
//! registry that lists the engines by name is [`crate::registry`], apart from the trait, so that no
//! backend depends on it.

use std::io::{Read, Write};

pub use crate::error::{CompileError, Fault};

use crate::config::Config;
use crate::outcome::{Halt, Outcome};
use crate::syntax::Program;

/// Whether a backend can run on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Availability {
    /// It can compile and run here.
    Available,
    /// It cannot, and this says why (e.g. "needs x86-64", "no C compiler found").
    Unsupported(String),
}

/// An execution engine: turns a program into something runnable.
pub trait Backend: Send + Sync {
    /// The name the registry and the command line use, e.g. `reference`.
    fn name(&self) -> &'static str;

    /// A one-line description for `bfjit backends`.
    fn summary(&self) -> &'static str;

    /// Whether this backend can run on this machine.
    fn availability(&self) -> Availability {
        Availability::Available
    }

    /// Whether the backend keeps the whole contract of docs/semantics.md. One that does not
    /// (`c-naive`, the unchecked C baseline) reports an out-of-bounds error without its command
    /// ([`crate::Status::PointerOutOfBoundsUnlocated`]), may miss an excursion that touches no cell
    /// off the tape (or only reads next to cell 0), and is not interactive (it reads its input in
    /// full before running and writes its output as it ends). Harnesses never count such a backend
    /// as agreeing where the reference left the tape.
    fn keeps_contract(&self) -> bool {
        true
    }

    /// Compiles `program` for runs under `config` (a backend may specialize on it, e.g. emit fuel
    /// checks only when a budget is set).
    fn compile(
        &self,
        program: &Program,
        config: &Config,
    ) -> Result<Box<dyn Executable>, CompileError>;
}

/// A compiled program, runnable any number of times, each run on a fresh zeroed tape.
pub trait Executable {
    /// Runs once, reading `input` and writing the program's output to `output`.
    fn run(&self, input: &mut dyn Read, output: &mut dyn Write) -> Halt;
}

/// Runs a compiled program on in-memory input and collects everything observable.
pub fn run_collect(executable: &dyn Executable, input: &[u8]) -> Outcome {
    let mut input = input;
    let mut output = Vec::new();
    let halt = executable.run(&mut input, &mut output);
    Outcome::new(halt, output)
}

/// Compiles and runs in one step, collecting the outcome (compile errors are returned as such).
pub fn compile_and_run(
    backend: &dyn Backend,
    program: &Program,
    config: &Config,
    input: &[u8],
) -> Result<Outcome, CompileError> {
    let executable = backend.compile(program, config)?;
    Ok(run_collect(executable.as_ref(), input))
}
