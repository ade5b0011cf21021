//! The C backends: the program translated to C and compiled by the system C compiler at `-O3`.
//!
//! `c-guarded` and `c-opt` compile into a shared object in a temporary folder, loaded with
//! `libloading` and run through the JIT calling convention of [`crate::jit`] (same state, callbacks,
//! status codes and loaded-code executable), with the guard plan's bounds checks in the C code. A C
//! compiler that fails is an environment error, not an engine bug. [`naive`] is `c-naive`, the
//! unchecked classic baseline run as a child process.
//!
//! `c-guarded` translates the run-length-folded IR with bounds checks (it was called `c-baseline`,
//! a name [`crate::registry::backend_by_name`] still accepts); `c-opt` the fully optimized IR. Comparing the two with the JITs shows how much speed comes from the IR and how much
//! from the code generator. The compiler is `$CC` when set (its first word; further words are extra
//! arguments), else `cc` from `PATH`; without one, both backends report themselves unavailable.
//! `compile` includes the C compiler's run, so compile times measure it. Loops nested deeper than
//! [`translate::MAX_NESTING`] are refused (`TooLarge`): the C compiler cannot handle them in useful time;
//! so are programs over the size limits of [`limits`], and a compile over its time budget is killed.

pub mod limits;
pub mod naive;
pub mod translate;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use crate::backend::{Availability, Backend, CompileError, Executable};
use crate::config::Config;
use crate::ir::plan::PlannedIr;
use crate::ir::Node;
use crate::jit::{jit_exact, jit_input, jit_output, EntryFn, JitState, LoadedCode};
use crate::optimizer::{fold_runs_only, optimize_default};
use crate::syntax::Program;

/// A C backend: IR from one optimizer preset, translated to C and compiled by the system compiler.
pub struct CBackend {
    name: &'static str,
    summary: &'static str,
    lower: fn(&Program) -> Vec<Node>,
}

/// The `c-guarded` backend: run-length-folded IR translated to C with bounds checks.
pub static C_GUARDED: CBackend = CBackend {
    name: "c-guarded",
    summary: "BF translated to C (run-length folding only) with guard-plan bounds checks, \
              compiled by the system C compiler at -O3 into a shared object",
    lower: fold_runs_only,
};

/// The `c-opt` backend: fully optimized IR translated to C.
pub static C_OPT: CBackend = CBackend {
    name: "c-opt",
    summary: "optimized IR translated to C, compiled by the system C compiler at -O3",
    lower: optimize_default,
};

impl Backend for CBackend {
    fn name(&self) -> &'static str {
        self.name
    }

    fn summary(&self) -> &'static str {
        self.summary
    }

    fn availability(&self) -> Availability {
        availability()
    }

    fn compile(
        &self,
        program: &Program,
        config: &Config,
    ) -> Result<Box<dyn Executable>, CompileError> {
        compile_ir(program, (self.lower)(program), config)
    }
}

/// The C compiler command: program and extra arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CCompiler {
    /// The compiler executable.
    pub program: PathBuf,
    /// Extra arguments from `$CC` (e.g. `-m64`).
    pub args: Vec<String>,
}

/// Finds the C compiler: `$CC` when set and non-empty, else `cc` on `PATH`.
pub fn find_compiler() -> Option<CCompiler> {
    let cc = std::env::var("CC").ok().filter(|v| !v.trim().is_empty());
    let spec = cc.unwrap_or_else(|| "cc".to_string());
    let mut words = spec.split_whitespace();
    let name = words.next()?;
    let args = words.map(str::to_string).collect();
    let program = resolve(Path::new(name))?;
    Some(CCompiler { program, args })
}

/// `name` itself when it has a directory part, else the first match on `PATH`; only regular files.
fn resolve(name: &Path) -> Option<PathBuf> {
    if name.components().count() > 1 {
        return name.is_file().then(|| name.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

pub(crate) fn availability() -> Availability {
    match find_compiler() {
        Some(_) => Availability::Available,
        None => Availability::Unsupported("no C compiler found (set CC or put cc on PATH)".into()),
    }
}

/// The signature of the generated `bf_init`.
type InitFn = unsafe extern "C" fn(
    unsafe extern "C" fn(*mut JitState, u32) -> u32,
    unsafe extern "C" fn(*mut JitState, *mut u8) -> u32,
    unsafe extern "C" fn(*mut JitState, u32, u32, usize) -> usize,
);

/// What keeps a compiled program loaded. Field order matters: the library is unloaded before the
/// folder holding it is removed.
struct CLibrary {
    _library: libloading::Library,
    _dir: tempfile::TempDir,
}

/// An environment failure (the C compiler or the file system), with what was being done.
fn environment(e: impl std::fmt::Display) -> CompileError {
    CompileError::Environment(e.to_string())
}

/// Translates IR `nodes` of `program` to C, compiles and loads it for runs under `config`.
pub fn compile_ir(
    program: &Program,
    nodes: Vec<Node>,
    config: &Config,
) -> Result<Box<dyn Executable>, CompileError> {
    let compiler = find_compiler().ok_or_else(|| {
        CompileError::Unsupported("no C compiler found (set CC or put cc on PATH)".into())
    })?;
    limits::check_nodes(nodes.len())?;
    let planned = PlannedIr::new(program, nodes, config.tape_len())?;
    let source = translate::translate(&planned, config.metered())?;
    limits::check_source(source.len())?;
    let dir = tempfile::Builder::new()
        .prefix("bfjit-c-")
        .tempdir()
        .map_err(|e| environment(format!("cannot create a temporary folder: {e}")))?;
    let c_path = dir.path().join("program.c");
    let so_path = dir.path().join("program.so");
    std::fs::write(&c_path, source)
        .map_err(|e| environment(format!("cannot write {}: {e}", c_path.display())))?;
    limits::run_compiler(
        &compiler,
        &c_path,
        limits::Artifact::SharedObject,
        &so_path,
        &dir.path().join("cc.err"),
        limits::COMPILE_BUDGET,
    )?;
    // SAFETY: loading runs the shared object's initializers; the object is our own translation unit,
    // which has none (no constructors, only two functions and three static pointers).
    let library = unsafe { libloading::Library::new(&so_path) }
        .map_err(|e| environment(format!("cannot load the compiled program: {e}")))?;
    // SAFETY: `bf_init` and `bf_entry` are defined by the generated C with exactly the signatures of
    // `InitFn` and `EntryFn`; the copied function pointers are only used while `library` is loaded
    // (both live in the same `CExecutable`).
    let (init, entry) = unsafe {
        let init = *library
            .get::<InitFn>(b"bf_init\0")
            .map_err(|e| environment(format!("bf_init missing: {e}")))?;
        let entry = *library
            .get::<EntryFn>(b"bf_entry\0")
            .map_err(|e| environment(format!("bf_entry missing: {e}")))?;
        (init, entry)
    };
    // SAFETY: `bf_init` only stores the three callback pointers in the object's own statics.
    unsafe { init(jit_output, jit_input, jit_exact) };
    let keep = CLibrary {
        _library: library,
        _dir: dir,
    };
    // SAFETY: `entry` is `bf_entry` of a shared object generated by `translate`, which follows the
    // calling convention of `crate::jit` (it reads the state's first four fields, whose layout the C
    // struct mirrors, and returns a status code) and touches tape cells only where its plan decisions
    // cover them or a per-step scan check proved them within `[0, tape_len)`. The library stays loaded
    // while the executable lives.
    Ok(Box::new(unsafe {
        LoadedCode::new(keep, entry, program, config)
    }))
}
