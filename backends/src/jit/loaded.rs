//! Loaded machine code and how it runs: one executable type for every code generator, and the one
//! function that enters generated code.

use std::io::{Read, Write};

use super::{EntryFn, JitState};
use crate::backend::Executable;
use crate::config::Config;
use crate::outcome::Halt;
use crate::runtime::{Io, Machine, Stop};
use crate::syntax::Program;

/// Enters generated code at `entry` on `machine`'s tape, pointer and fuel, with `io`, and brings the
/// pointer and fuel back: the one place generated code is called (whole programs and tiered loops).
/// Output the code queued is drained into `io` before returning; a failure to write it wins over the
/// stop, because that output came first.
///
/// # Safety
/// `entry` must follow the calling convention of [`crate::jit`] and, entered with `machine`'s tape
/// and pointer, only access tape cells within `[0, tape_len)`. Code generated from a guard plan may
/// assume the plan's entry range for its first node: either it checks the pointer at entry
/// (`dynasm-opt`, whose loops tiered enters anywhere in a run) or it is only entered on a fresh machine
/// (pointer 0, the plan's entry range at node 0) through [`run_entry`].
pub(crate) unsafe fn enter(
    entry: EntryFn,
    machine: &mut Machine,
    io: &mut Io<'_>,
    program: &Program,
) -> Result<(), Stop> {
    let metered = machine.fuel_left.is_some();
    let (result, ptr, fuel_left) = {
        let mut state = JitState::new(machine, io, program);
        // SAFETY: the caller guarantees `entry` follows the calling convention; `state` is a live,
        // exclusively borrowed JitState whose tape pointer covers `tape_len` cells for the whole call.
        let status = unsafe { entry(&mut state) };
        let result = match state.drain_output() {
            Ok(()) => state.result(status),
            Err(e) => Err(Stop::Io(e)),
        };
        (result, state.ptr, state.fuel_left)
    };
    machine.ptr = ptr;
    if metered {
        machine.fuel_left = Some(fuel_left);
    }
    result
}

/// Runs generated code from its entry point on a fresh machine (zeroed tape, pointer 0) and packages
/// the result.
///
/// # Safety
/// As for [`enter`], on a fresh machine.
pub(crate) unsafe fn run_entry(
    entry: EntryFn,
    program: &Program,
    config: &Config,
    input: &mut dyn Read,
    output: &mut dyn Write,
) -> Halt {
    let mut io = Io::new(input, output, config.eof());
    let mut machine = Machine::new(config);
    // SAFETY: forwarded from the caller.
    let result = unsafe { enter(entry, &mut machine, &mut io, program) };
    machine.finish(result, &mut io, program)
}

/// A compiled program as loaded machine code: whatever keeps the code mapped (`keep`: executable
/// memory, a JIT module, a loaded library), its entry point, and what a run needs besides. Every
/// JIT backend's executable is one of these; they differ in how they make code, not in how they run it.
pub(crate) struct LoadedCode<K> {
    entry: EntryFn,
    program: Program,
    config: Config,
    /// Dropped last, after nothing can call into the code any more.
    keep: K,
}

impl<K> LoadedCode<K> {
    /// Wraps loaded code.
    ///
    /// # Safety
    /// `entry` must stay callable for as long as `keep` lives and satisfy the contract of [`enter`]
    /// on a fresh machine under `config` (it was generated for that tape length).
    pub(crate) unsafe fn new(keep: K, entry: EntryFn, program: &Program, config: &Config) -> Self {
        LoadedCode {
            entry,
            program: program.clone(),
            config: *config,
            keep,
        }
    }

    /// What keeps the code loaded.
    pub(crate) fn keep(&self) -> &K {
        &self.keep
    }
}

impl<K> Executable for LoadedCode<K> {
    fn run(&self, input: &mut dyn Read, output: &mut dyn Write) -> Halt {
        // SAFETY: `new`'s contract: `entry` is callable while `self.keep` lives (it does, for this
        // call) and follows the calling convention for this configuration.
        unsafe { run_entry(self.entry, &self.program, &self.config, input, output) }
    }
}

/// The entry point whose first instruction is at `code`.
///
/// # Safety
/// `code` must be the first byte of a function with the [`EntryFn`] signature.
pub(crate) unsafe fn entry_at(code: *const u8) -> EntryFn {
    // SAFETY: the caller guarantees a function of this signature starts at `code`.
    unsafe { std::mem::transmute::<*const u8, EntryFn>(code) }
}
