//! bfjit's language core and every execution backend.
//!
//! The data flow, front to back:
//!
//! 1. [`syntax`]: source bytes are parsed into a [`Program`], the flat command tree with positions.
//! 2. [`config`]: a [`Config`] fixes the tape length, the EOF policy and the fuel budget of a run.
//! 3. [`backend`]: every engine implements [`Backend`]; `compile` turns a program into an
//!    [`Executable`], whose `run` gives a [`Halt`]. The registry lists engines by name.
//! 4. [`runtime`]: what runs share — the buffered [`runtime::Io`] channel (one EOF implementation for
//!    all), the tape [`runtime::Machine`], and early-stop reasons.
//! 5. [`outcome`]: a run's observable [`Outcome`] and [`compare`], the one definition of "agree".
//!
//! Backends, one folder each: [`reference`] (the oracle).
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

pub mod backend;
pub mod bytecode;
pub mod c_baseline;
pub mod config;
pub mod cranelift;
pub mod dynasm_opt;
pub mod dynasm_simple;
pub mod handjit;
pub mod ir;
pub mod jit;
pub mod optimizer;
pub mod outcome;
pub mod reference;
pub mod runtime;
pub mod syntax;
pub mod tiered;

pub use backend::{
    backend_by_name, backend_names, compile_and_run, registry, run_collect, Availability, Backend,
    CompileError, Executable,
};
pub use config::{Config, ConfigError, EofPolicy, DEFAULT_TAPE_LEN, MAX_TAPE_LEN};
pub use outcome::{compare, Difference, Halt, IoFailure, Outcome, Side, Status};
pub use syntax::{Cmd, CmdKind, ParseError, Position, Program};
