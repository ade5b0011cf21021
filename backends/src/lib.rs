//! bfjit's language core and every execution backend.
//!
//! The data flow, front to back, one module per stage:
//!
//! 1. [`syntax`]: source bytes are parsed into a [`Program`], the flat command tree with positions.
//! 2. [`config`]: a [`Config`] fixes the tape length, the EOF policy and the fuel budget of a run. It is
//!    valid by construction (private fields, checked constructors).
//! 3. [`ir`]: the program is lowered to IR, one node per command, each with its source span.
//! 4. [`optimizer`]: passes rewrite the IR (run-length folding, clears, multiply loops, scans, offset
//!    addressing, dead loops) and [`ir::blocks`] puts a guard before each straight-line block.
//! 5. [`ir::plan`]: the guard plan verifies every guard against its block and decides it once for the
//!    configuration's tape length (`Always`, `Never` or `Check`); every emitter below consumes it.
//! 6. [`backend`]: every engine implements [`Backend`]; `compile` turns a program into an
//!    [`Executable`], whose `run` gives a [`Halt`], or a [`CompileError`] ([`error`]) that says whose
//!    fault it is. [`registry`] lists the engines by name.
//! 7. [`jit`]: what generated code shares: the state and calling convention, the callbacks, executable
//!    memory, the one loaded-code executable and run function, and the one-to-one walk.
//! 8. [`runtime`]: what runs share: the buffered [`runtime::Io`] channel (one EOF implementation for
//!    all), the tape [`runtime::Machine`], early-stop reasons and the exact executor
//!    ([`runtime::exact`]) that failed guards fall back to.
//! 9. [`outcome`]: a run's observable [`Outcome`] and [`compare`], the one definition of "agree".
//!
//! Backends, one folder each: [`reference`] (the oracle), [`bytecode`] (the fast interpreter),
//! [`dynasm_simple`] and [`handjit`] (one-to-one x86-64 JITs), [`dynasm_opt`] (the optimizing x86-64
//! JIT), [`cranelift`] (the portable JIT), [`tiered`] (interpret first, compile hot loops) and
//! [`c_baseline`] (BF to C through the system compiler: `c-naive`, `c-guarded` and `c-opt`).
//!
//! ```
//! use bfjit_backends::{compile_and_run, backend_by_name, Config, Program, Status};
//!
//! let program = Program::parse("++++++++[>++++++++<-]>+.").unwrap();
//! let reference = backend_by_name("reference").unwrap();
//! let outcome = compile_and_run(reference, &program, &Config::default(), b"").unwrap();
//! assert_eq!(outcome.output, b"A");
//! assert_eq!(outcome.status, Status::Ok);
//! ```

#![deny(missing_docs)]

pub mod backend;
pub mod bytecode;
pub mod c_baseline;
pub mod config;
pub mod cranelift;
pub mod dynasm_opt;
pub mod dynasm_simple;
pub mod error;
pub mod handjit;
pub mod ir;
pub mod jit;
pub mod optimizer;
pub mod outcome;
pub mod reference;
pub mod registry;
pub mod runtime;
pub mod syntax;
pub mod tiered;

pub use backend::{
    compile_and_run, run_collect, Availability, Backend, CompileError, Executable, Fault,
};
pub use config::{Config, ConfigError, EofPolicy, DEFAULT_TAPE_LEN, MAX_TAPE_LEN};
pub use outcome::{compare, first_mismatch, Difference, Halt, IoFailure, Outcome, Side, Status};
pub use registry::{backend_by_name, backend_names, registry};
pub use syntax::{Cmd, CmdKind, ParseError, Position, Program};
