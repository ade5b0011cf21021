//! Why a backend could not compile a program, and whose fault that is: the one set of error kinds
//! every backend reports (the same cause gives the same variant everywhere), serializable so that a
//! harness can send it across a process boundary unchanged.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ir::plan::PlanError;
use crate::outcome::IoFailure;

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

/// Why executable memory could not be made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemoryError {
    /// The code is empty (nothing to map): a code generator bug.
    Empty,
    /// `mmap` failed, with the OS error.
    Map(IoFailure),
    /// `mprotect` to read-execute failed, with the OS error.
    Protect(IoFailure),
    /// Hand-mapped executable memory is not implemented on this platform.
    Unsupported,
}

impl MemoryError {
    /// Whose fault this is: empty code is a bug, the rest is the machine's.
    pub fn fault(&self) -> Fault {
        match self {
            MemoryError::Empty => Fault::Bug,
            MemoryError::Map(_) | MemoryError::Protect(_) | MemoryError::Unsupported => {
                Fault::Environment
            }
        }
    }
}

impl fmt::Display for MemoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemoryError::Empty => f.write_str("no machine code to map"),
            MemoryError::Map(e) => write!(f, "mapping memory for machine code failed: {e}"),
            MemoryError::Protect(e) => write!(f, "making machine code executable failed: {e}"),
            MemoryError::Unsupported => {
                f.write_str("executable memory is not supported on this platform")
            }
        }
    }
}

impl std::error::Error for MemoryError {}

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
