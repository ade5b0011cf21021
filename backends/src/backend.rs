//! The one trait every execution engine implements, with its error type. The registry that lists the
//! engines by name is [`crate::registry`], apart from the trait, so that no backend depends on it.

use std::fmt;
use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::ir::plan::PlanError;
use crate::jit::memory::MemoryError;
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

/// Whose fault a compile error is, so a harness can tell an engine bug from a machine that cannot run it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Fault {
    /// The machine: wrong host, no C compiler, a C compiler or the OS that failed.
    Environment,
    /// The program is beyond a documented limit of the backend.
    Limit,
    /// bfjit itself: malformed IR or a code generator that failed. Always worth a bug report.
    Bug,
}

/// Why a backend could not compile a program. The same cause gives the same variant in every backend.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompileError {
    /// The backend does not run on this machine (e.g. "needs an x86-64 host").
    Unsupported(String),
    /// A tool or service of the machine failed (the C compiler, the file system), with its message.
    Environment(String),
    /// Executable memory could not be made.
    Memory(MemoryError),
    /// The program exceeds a limit of this backend.
    TooLarge(String),
    /// The optimized IR is malformed: a pass (or a hand-made IR in a test) is wrong.
    Plan(PlanError),
    /// A code generator failed on IR it should handle, with its message.
    Bug(String),
}

impl CompileError {
    /// Whose fault this error is.
    pub fn fault(&self) -> Fault {
        match self {
            CompileError::Unsupported(_) | CompileError::Environment(_) => Fault::Environment,
            CompileError::Memory(e) => e.fault(),
            CompileError::TooLarge(_) => Fault::Limit,
            CompileError::Plan(_) | CompileError::Bug(_) => Fault::Bug,
        }
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::Unsupported(why) => write!(f, "backend unsupported here: {why}"),
            CompileError::Environment(why) => write!(f, "the environment failed: {why}"),
            CompileError::Memory(e) => write!(f, "{e}"),
            CompileError::TooLarge(why) => write!(f, "program too large for this backend: {why}"),
            CompileError::Plan(e) => write!(f, "malformed IR: {e}"),
            CompileError::Bug(why) => write!(f, "code generation failed (a bug): {why}"),
        }
    }
}

impl std::error::Error for CompileError {}

impl From<PlanError> for CompileError {
    fn from(e: PlanError) -> Self {
        CompileError::Plan(e)
    }
}

impl From<MemoryError> for CompileError {
    fn from(e: MemoryError) -> Self {
        CompileError::Memory(e)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_says_whose_fault_it_is_and_round_trips() {
        let errors = [
            (CompileError::Unsupported("x".into()), Fault::Environment),
            (
                CompileError::Environment("cc failed".into()),
                Fault::Environment,
            ),
            (CompileError::Memory(MemoryError::Empty), Fault::Bug),
            (CompileError::TooLarge("deep".into()), Fault::Limit),
            (CompileError::Plan(PlanError::Unguarded(3)), Fault::Bug),
            (CompileError::Bug("oops".into()), Fault::Bug),
        ];
        for (error, fault) in errors {
            assert_eq!(error.fault(), fault, "{error}");
            let text = serde_json::to_string(&error).unwrap();
            assert_eq!(serde_json::from_str::<CompileError>(&text).unwrap(), error);
        }
    }
}
