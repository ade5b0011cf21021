//! The one trait every execution engine implements, and the registry that lists them by name.

use std::fmt;
use std::io::{Read, Write};

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

/// Why a backend could not compile a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompileError {
    /// The backend does not run on this machine.
    Unsupported(String),
    /// The code generator failed (a bug or a resource limit), with its message.
    Codegen(String),
    /// The program exceeds a limit of this backend.
    TooLarge(String),
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::Unsupported(why) => write!(f, "backend unsupported here: {why}"),
            CompileError::Codegen(why) => write!(f, "code generation failed: {why}"),
            CompileError::TooLarge(why) => write!(f, "program too large for this backend: {why}"),
        }
    }
}

impl std::error::Error for CompileError {}

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

/// Every registered backend, the reference first.
pub fn registry() -> Vec<&'static dyn Backend> {
    vec![
        &crate::reference::Reference,
        &crate::bytecode::BytecodeBackend,
        &crate::dynasm_simple::DynasmSimple,
        &crate::handjit::HandJit,
        &crate::dynasm_opt::DynasmOpt,
        &crate::cranelift::Cranelift,
        &crate::c_baseline::C_BASELINE,
        &crate::c_baseline::C_OPT,
        &crate::tiered::TIERED,
        &crate::tiered::TIERED_0,
        &crate::tiered::TIERED_1,
        &crate::tiered::TIERED_NEVER,
    ]
}

/// The registered backend called `name`.
pub fn backend_by_name(name: &str) -> Option<&'static dyn Backend> {
    registry().into_iter().find(|b| b.name() == name)
}

/// The names of every registered backend, for error messages.
pub fn backend_names() -> Vec<&'static str> {
    registry().iter().map(|b| b.name()).collect()
}
