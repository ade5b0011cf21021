//! The `cranelift` backend: optimized, guarded IR lowered to Cranelift IR and compiled to host machine
//! code (x86-64 or aarch64, whatever `cranelift-native` finds) with `opt_level=speed`.
//!
//! [`JitCompiler`] owns what one compilation reuses: the JIT module (code memory and symbols), the
//! Cranelift context and the function-builder context. [`translate::FunctionTranslator`] lowers IR
//! nodes, one `translate_*` method per node kind. Generated code follows the calling convention of
//! [`crate::jit`]: entry `extern "C" fn(*mut JitState) -> u32`, I/O and exact fallbacks through the
//! `jit_*` callbacks (registered as host symbols, imported by name), `STATUS_*` codes out.
//!
//! Large programs are split into several functions so that compile time stays linear: once a function
//! holds [`DEFAULT_BUDGET`] nodes, the rest of the loop level being lowered (or the rest of a guarded
//! block) moves to a new function, called with the pointer passed through `state.ptr`; likewise a loop
//! that would nest deeper than [`DEFAULT_DEPTH`] loops inside one function starts a new function with
//! the rest of its level. See `docs/cranelift.md` for the measurements behind both bounds.

mod translate;
pub mod workload;

#[cfg(test)]
mod tests;

use std::fmt::Write as _;
use std::ops::Range;
use std::sync::OnceLock;

use cranelift_codegen::ir::{types, AbiParam, Function, Signature, UserFuncName};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{ArenaMemoryProvider, JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, FuncId, Linkage, Module};

use crate::backend::{Backend, CompileError, Executable};
use crate::config::Config;
use crate::ir::loop_partners;
use crate::ir::plan::PlannedIr;
use crate::ir::Node;
use crate::jit::{entry_at, jit_exact, jit_flush, jit_input, LoadedCode};
use crate::syntax::Program;
use translate::{Callbacks, Env, FunctionTranslator, Reach};

/// Nodes one generated function holds before the rest of its current level moves to a new function.
pub const DEFAULT_BUDGET: usize = 2_000;

/// Loops one generated function nests before a deeper loop (with the rest of its level) moves to a new
/// function: Cranelift's optimizer is superlinear in loop depth.
pub const DEFAULT_DEPTH: usize = 32;

/// The `cranelift` backend.
pub struct Cranelift;

impl Backend for Cranelift {
    fn name(&self) -> &'static str {
        "cranelift"
    }

    fn summary(&self) -> &'static str {
        "optimized IR compiled by Cranelift (host ISA, opt_level=speed)"
    }

    fn compile(
        &self,
        program: &Program,
        config: &Config,
    ) -> Result<Box<dyn Executable>, CompileError> {
        let nodes = crate::optimizer::optimize_default(program);
        let options = Options {
            verify: cfg!(debug_assertions),
            ..Options::default()
        };
        let compiled = compile_nodes(program, nodes, config, &options)?;
        Ok(Box::new(compiled))
    }
}

/// The CLIF of every function the backend generates for `program` under `config`, before Cranelift's
/// own optimizations, entry function first; for `bfjit ir --clif`.
pub fn clif_text(program: &Program, config: &Config) -> Result<String, CompileError> {
    let nodes = crate::optimizer::optimize_default(program);
    let options = Options {
        verify: true,
        dump: true,
        ..Options::default()
    };
    let compiled = compile_nodes(program, nodes, config, &options)?;
    let info = compiled.keep();
    let text = info.clif.clone().unwrap_or_default();
    Ok(format!("; {} function(s)\n{text}", info.functions))
}

/// Compiles `program` like the backend does and lists the machine code of every generated function
/// (Cranelift's disassembly, each function headed by its address in the returned executable's code
/// memory, so that profiles of a run of that executable can be mapped back to instructions).
pub fn compile_listed(
    program: &Program,
    config: &Config,
) -> Result<(Box<dyn Executable>, String), CompileError> {
    let nodes = crate::optimizer::optimize_default(program);
    let options = Options {
        verify: true,
        listing: true,
        ..Options::default()
    };
    let compiled = compile_nodes(program, nodes, config, &options)?;
    let text = compiled.keep().listing.clone().unwrap_or_default();
    Ok((Box::new(compiled), text))
}

/// Knobs of one compilation (tests lower the budget and the depth to exercise splitting).
#[derive(Clone, Debug)]
struct Options {
    /// Run the CLIF verifier on every function before compiling it.
    verify: bool,
    /// Keep the CLIF text of every function.
    dump: bool,
    /// Keep the disassembly of every function's machine code.
    listing: bool,
    /// Nodes per function before the rest of a level is outlined.
    budget: usize,
    /// Loops open at once in one function before a deeper loop is outlined.
    depth: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            verify: false,
            dump: false,
            listing: false,
            budget: DEFAULT_BUDGET,
            depth: DEFAULT_DEPTH,
        }
    }
}

/// A compiled program: loaded code kept alive by its module, with what the compilation reports.
type Compiled = LoadedCode<CompiledModule>;

/// What keeps a compiled program's code alive, and what the compilation reports.
struct CompiledModule {
    /// Owns the machine code; frees it on drop.
    _module: ModuleOwner,
    /// Number of functions generated.
    functions: usize,
    /// The CLIF of every function, when asked for.
    clif: Option<String>,
    /// The machine code of every function with its address, when asked for.
    listing: Option<String>,
}

/// Frees a module's code memory when dropped (on success the module moves into [`Compiled`]).
struct ModuleOwner(Option<JITModule>);

impl Drop for ModuleOwner {
    fn drop(&mut self) {
        if let Some(module) = self.0.take() {
            // SAFETY: the owner is dropped only when no function pointer taken from the module can be
            // called any more (its `Compiled` is gone, or compilation failed before any was taken).
            unsafe { module.free_memory() };
        }
    }
}

/// The host ISA with our flags, made once per process.
fn host_isa() -> Result<OwnedTargetIsa, CompileError> {
    static ISA: OnceLock<Result<OwnedTargetIsa, String>> = OnceLock::new();
    ISA.get_or_init(|| {
        let mut flags = settings::builder();
        for (name, value) in [
            ("opt_level", "speed"),
            // cranelift-jit needs absolute addressing for host symbols.
            ("is_pic", "false"),
            ("use_colocated_libcalls", "false"),
            // We run the verifier ourselves when asked (tests, debug builds, the CLIF dump).
            ("enable_verifier", "false"),
        ] {
            flags.set(name, value).map_err(|e| e.to_string())?;
        }
        let isa = cranelift_native::builder().map_err(|e| format!("host ISA: {e}"))?;
        isa.finish(settings::Flags::new(flags))
            .map_err(|e| e.to_string())
    })
    .clone()
    .map_err(CompileError::Unsupported)
}

/// Reserved code memory for `nodes` IR nodes on the ISA named `isa` (Cranelift's name): generous (it is only address space until code
/// is written), and within the reach of a direct call so that calls between the functions of one
/// program always resolve: ±2 GiB on x86-64 (we reserve at most 1 GiB), ±128 MiB on aarch64 and
/// anything else (at most 120 MiB). A program whose code outgrows the reservation fails to compile
/// with [`CompileError::TooLarge`].
fn code_reservation(nodes: usize, isa: &str) -> usize {
    let cap = match isa {
        "x64" => 1 << 30,
        _ => 120 << 20,
    };
    (1usize << 20)
        .saturating_add(nodes.saturating_mul(256))
        .min(cap)
}

fn codegen(what: impl std::fmt::Display) -> CompileError {
    CompileError::Bug(what.to_string())
}

/// One function waiting to be generated.
struct Unit {
    id: FuncId,
    nodes: Range<usize>,
    tail: Option<Reach>,
}

/// Owns the reusable state of one compilation: the module, the codegen and builder contexts, the
/// imported callbacks and the queue of functions still to generate.
struct JitCompiler {
    module: ModuleOwner,
    ctx: Context,
    builder_ctx: FunctionBuilderContext,
    /// `fn(state) -> status`: the entry point and every outlined function.
    unit_sig: Signature,
    flush: FuncId,
    input: FuncId,
    exact: FuncId,
    pending: Vec<Unit>,
    functions: usize,
    clif: Option<String>,
    /// Each generated function with its disassembly, when a listing is asked for.
    listing: Option<Vec<(FuncId, usize, String)>>,
    verify: bool,
}

impl JitCompiler {
    fn new(nodes: usize, options: &Options) -> Result<JitCompiler, CompileError> {
        let isa = host_isa()?;
        let reservation = code_reservation(nodes, isa.name());
        let mut builder = JITBuilder::with_isa(isa, default_libcall_names());
        builder.symbol("bfjit_flush", jit_flush as *const u8);
        builder.symbol("bfjit_input", jit_input as *const u8);
        builder.symbol("bfjit_exact", jit_exact as *const u8);
        let arena = ArenaMemoryProvider::new_with_size(reservation)
            .map_err(|e| CompileError::TooLarge(format!("reserving code memory: {e}")))?;
        builder.memory_provider(Box::new(arena));
        let mut module = JITModule::new(builder);
        let ptr_ty = module.target_config().pointer_type();

        let mut unit_sig = module.make_signature();
        unit_sig.params.push(AbiParam::new(ptr_ty));
        unit_sig.returns.push(AbiParam::new(types::I32));
        let import = |module: &mut JITModule, name: &str, params: &[types::Type], ret| {
            let mut sig = module.make_signature();
            sig.params.extend(params.iter().map(|&t| AbiParam::new(t)));
            sig.returns.push(AbiParam::new(ret));
            module
                .declare_function(name, Linkage::Import, &sig)
                .map_err(codegen)
        };
        let flush = import(&mut module, "bfjit_flush", &[ptr_ty], types::I32)?;
        let input = import(&mut module, "bfjit_input", &[ptr_ty, ptr_ty], types::I32)?;
        let exact = import(
            &mut module,
            "bfjit_exact",
            &[ptr_ty, types::I32, types::I32, ptr_ty],
            ptr_ty,
        )?;
        Ok(JitCompiler {
            ctx: module.make_context(),
            module: ModuleOwner(Some(module)),
            builder_ctx: FunctionBuilderContext::new(),
            unit_sig,
            flush,
            input,
            exact,
            pending: Vec::new(),
            functions: 0,
            clif: options.dump.then(String::new),
            listing: options.listing.then(Vec::new),
            verify: options.verify,
        })
    }

    fn module(&mut self) -> &mut JITModule {
        self.module
            .0
            .as_mut()
            .expect("the module lives until the compiler is done")
    }

    /// Declares a new function for `nodes` and queues it.
    fn queue(&mut self, nodes: Range<usize>, tail: Option<Reach>) -> Result<FuncId, CompileError> {
        let sig = self.unit_sig.clone();
        let id = self
            .module()
            .declare_anonymous_function(&sig)
            .map_err(codegen)?;
        self.pending.push(Unit { id, nodes, tail });
        Ok(id)
    }

    /// Generates every queued function (queueing more as large ones split) and finalizes the code.
    fn run(&mut self, env: &Env<'_>) -> Result<(), CompileError> {
        while let Some(unit) = self.pending.pop() {
            self.define(env, unit)?;
        }
        self.module().finalize_definitions().map_err(codegen)
    }

    /// Builds, verifies (when asked) and compiles one function.
    fn define(&mut self, env: &Env<'_>, unit: Unit) -> Result<(), CompileError> {
        let JitCompiler {
            module,
            ctx,
            builder_ctx,
            unit_sig,
            flush,
            input,
            exact,
            pending,
            functions,
            clif,
            listing,
            verify,
        } = self;
        let module = module
            .0
            .as_mut()
            .expect("the module lives until the compiler is done");
        ctx.func = Function::with_name_signature(
            UserFuncName::user(0, unit.id.as_u32()),
            unit_sig.clone(),
        );
        let callbacks = Callbacks {
            flush: module.declare_func_in_func(*flush, &mut ctx.func),
            input: module.declare_func_in_func(*input, &mut ctx.func),
            exact: module.declare_func_in_func(*exact, &mut ctx.func),
        };
        let builder = FunctionBuilder::new(&mut ctx.func, builder_ctx);
        let translator = FunctionTranslator::new(env, builder, callbacks);
        let mut outline = |nodes: Range<usize>, tail: Option<Reach>, func: &mut Function| {
            let id = module
                .declare_anonymous_function(unit_sig)
                .map_err(codegen)?;
            pending.push(Unit { id, nodes, tail });
            Ok(module.declare_func_in_func(id, func))
        };
        translator.translate_unit(unit.nodes.clone(), unit.tail, &mut outline)?;
        if let Some(text) = clif {
            let _ = writeln!(
                text,
                "; nodes {}..{}{}\n{}",
                unit.nodes.start,
                unit.nodes.end,
                if unit.tail.is_some() {
                    " (block tail)"
                } else {
                    ""
                },
                ctx.func.display()
            );
        }
        if *verify {
            cranelift_codegen::verify_function(&ctx.func, module.isa()).map_err(|errors| {
                codegen(cranelift_codegen::print_errors::pretty_verifier_error(
                    &ctx.func, None, errors,
                ))
            })?;
        }
        ctx.set_disasm(listing.is_some());
        module.define_function(unit.id, ctx).map_err(|e| match e {
            cranelift_module::ModuleError::Compilation(inner) => codegen(format!("{inner:?}")),
            // The code memory reserved for the program is full.
            cranelift_module::ModuleError::Allocation { err } => {
                CompileError::TooLarge(format!("generated code outgrew its memory: {err}"))
            }
            other => codegen(other),
        })?;
        if let Some(listing) = listing {
            let code = ctx.compiled_code();
            let size = code.map_or(0, |code| code.code_buffer().len());
            let text = code.and_then(|code| code.vcode.clone()).unwrap_or_default();
            listing.push((unit.id, size, text));
        }
        module.clear_context(ctx);
        *functions += 1;
        Ok(())
    }
}

/// Plans guarded IR `nodes` of `program` and compiles it for runs under `config`.
fn compile_nodes(
    program: &Program,
    nodes: Vec<Node>,
    config: &Config,
    options: &Options,
) -> Result<Compiled, CompileError> {
    let plan = PlannedIr::new(program, nodes, config.tape_len())?;
    let nodes = plan.nodes();
    let partners = loop_partners(nodes);
    let mut compiler = JitCompiler::new(nodes.len(), options)?;
    let env = Env {
        nodes,
        plan: &plan,
        partners: &partners,
        tape_len: config.tape_len() as u64,
        fuel: config.metered(),
        ptr_ty: compiler.module().target_config().pointer_type(),
        frontend: compiler.module().target_config(),
        budget: options.budget.max(1),
        depth: options.depth.max(1),
    };
    let entry = compiler.queue(0..nodes.len(), None)?;
    compiler.run(&env)?;
    let module = compiler
        .module
        .0
        .take()
        .expect("the module lives until the compiler is done");
    let listing = compiler.listing.take().map(|functions| {
        let mut text = String::new();
        for (id, size, code) in functions {
            let address = module.get_finalized_function(id);
            let _ = writeln!(text, "; function at {address:p}, {size} bytes\n{code}");
        }
        text
    });
    let code = module.get_finalized_function(entry);
    let keep = CompiledModule {
        _module: ModuleOwner(Some(module)),
        functions: compiler.functions,
        clif: compiler.clif.take(),
        listing,
    };
    // SAFETY: `entry` was declared with `unit_sig`, i.e. `extern "C" fn(*mut JitState) -> u32` in the
    // host's default calling convention, and has just been compiled and finalized (made executable);
    // the module that owns it lives in the executable. It follows the `crate::jit` calling convention
    // and only touches tape cells its plan decisions cover (checked guards, blocks proven in bounds;
    // block nodes were checked against their guard at compile time) and scans check every step.
    Ok(unsafe { LoadedCode::new(keep, entry_at(code), program, config) })
}
