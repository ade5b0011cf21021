//! Backend `tiered`: interpret first, compile the hot loops.
//!
//! A run interprets the [`Bytecode`] of the optimized program with a [`LoopHook`] that keeps one heat
//! countdown per loop, spent at every loop-body entry (at `[` and at each back edge of `]`). When a
//! loop's countdown is used up, the loop (with the loops nested in it) is compiled by `dynasm-opt`'s
//! code generator ([`crate::dynasm_opt::codegen::generate`], pointer taken from the state) into a
//! function over the shared [`crate::jit::JitState`], kept in a per-run table indexed by loop id, and
//! entered through the one run function of [`crate::jit`]. Both tiers follow the same guard plan
//! ([`crate::ir::plan`]). From then on the
//! interpreter hands that loop over to the compiled function whenever it would enter its body:
//!
//! - at `[` (cell non-zero) the function re-tests the cell, charges one fuel and runs the loop to its
//!   exit, and interpretation continues after the matching `]`;
//! - at a back edge of `]` (cell non-zero) the same call means exactly "charge one fuel and jump to the
//!   body", so a loop that gets hot while it runs moves to machine code at its next iteration (on-stack
//!   replacement at loop boundaries).
//!
//! State is handed over exactly: the pointer and the fuel left go in through the JIT state and come
//! back with the stop reason; the tape is shared; the interpreter's output already sits in the run's
//! [`Io`] and the compiled code's queued output is drained into it before control returns, so byte
//! order is kept; input and the EOF policy live in [`Io`] alone, so both tiers read the same stream
//! the same way. Bounds errors inside compiled code come from the same exact fallbacks as everywhere.
//!
//! Compile work per run is capped ([`compile_budget`]): an outer loop compiled after its inner loops
//! compiles them again, so without a cap deep nesting would cost quadratic time. Past the cap loops
//! stay interpreted. Compiled code lives for one run (each run starts cold).
//!
//! Off x86-64 every variant interprets only (the machine-code tier is skipped, the answers are the
//! same).

#[cfg(test)]
mod tests;

use std::io::{Read, Write};

use crate::backend::{Backend, CompileError, Executable};
use crate::bytecode::Bytecode;
use crate::config::Config;
use crate::ir::plan::PlannedIr;
use crate::outcome::Halt;
use crate::runtime::{Io, Machine};
use crate::syntax::Program;

/// The default heat threshold: loop-body entries before a loop is compiled. Compiling a loop and
/// interpreting it once both cost in proportion to its size, so the break-even point is a number of
/// entries; a sweep (30, 100, 300, 1000, 10 000) on the benchmark programs put it near 100.
pub const DEFAULT_THRESHOLD: u64 = 100;

/// A threshold that never compiles: the run is interpreted from start to end.
pub const NEVER: u64 = u64::MAX;

/// The tiered JIT, compiling a loop once its body has been entered more than `threshold` times.
pub struct Tiered {
    /// The registry name.
    pub name: &'static str,
    /// Loop-body entries a loop is interpreted for before it is compiled (0: compile at the first
    /// entry; [`NEVER`]: never compile).
    pub threshold: u64,
}

/// `tiered`: the default threshold.
pub static TIERED: Tiered = Tiered {
    name: "tiered",
    threshold: DEFAULT_THRESHOLD,
};
/// `tiered-0`: every loop compiled at its first entry.
pub static TIERED_0: Tiered = Tiered {
    name: "tiered-0",
    threshold: 0,
};
/// `tiered-1`: every loop compiled at its second entry (so usually at a back edge).
pub static TIERED_1: Tiered = Tiered {
    name: "tiered-1",
    threshold: 1,
};
/// `tiered-never`: the interpreter tier alone.
pub static TIERED_NEVER: Tiered = Tiered {
    name: "tiered-never",
    threshold: NEVER,
};

impl Backend for Tiered {
    fn name(&self) -> &'static str {
        self.name
    }

    fn summary(&self) -> &'static str {
        match self.threshold {
            0 => "tiered JIT compiling every loop at its first entry",
            1 => "tiered JIT compiling every loop at its second body entry",
            NEVER => "tiered JIT that never compiles (its interpreter tier alone)",
            _ => "tiered JIT: bytecode interpreter with heat counters, hot loops compiled by dynasm-opt",
        }
    }

    fn compile(
        &self,
        program: &Program,
        config: &Config,
    ) -> Result<Box<dyn Executable>, CompileError> {
        let nodes = crate::optimizer::optimize_default(program);
        let planned = PlannedIr::new(program, nodes, config.tape_len())?;
        let code = Bytecode::compile(program, &planned)?;
        Ok(Box::new(TieredRun {
            code,
            planned,
            config: *config,
            threshold: self.threshold,
        }))
    }
}

/// A compiled tiered program: its bytecode, and the planned IR hot loops are compiled from (both tiers
/// follow the same guard plan).
struct TieredRun {
    code: Bytecode,
    planned: PlannedIr,
    config: Config,
    threshold: u64,
}

impl Executable for TieredRun {
    fn run(&self, input: &mut dyn Read, output: &mut dyn Write) -> Halt {
        let mut io = Io::new(input, output, self.config.eof());
        let mut machine = Machine::new(&self.config);
        #[cfg(target_arch = "x86_64")]
        let result = if self.threshold == NEVER {
            self.code.run(&mut machine, &mut io)
        } else {
            let mut hook =
                x64::LoopJit::new(&self.code, &self.planned, &self.config, self.threshold);
            self.code.run_with(&mut machine, &mut io, &mut hook)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let result = {
            let _ = (&self.planned, self.threshold);
            self.code.run(&mut machine, &mut io)
        };
        machine.finish(result, &mut io, self.code.program())
    }
}

/// The most IR nodes one run compiles in total for a program of `nodes` nodes (linear in its size).
pub fn compile_budget(nodes: usize) -> usize {
    8 * nodes + 65_536
}

#[cfg(target_arch = "x86_64")]
mod x64 {
    use super::*;

    use crate::bytecode::LoopHook;
    use crate::dynasm_opt::codegen::{generate, Options};
    use crate::jit::memory::ExecutableMemory;
    use crate::jit::{enter, entry_at};
    use crate::runtime::Stop;

    /// One loop's state in a run.
    enum Slot {
        /// Not compiled yet.
        Cold,
        /// Compiled: the mapped function.
        Compiled(ExecutableMemory),
        /// Compiling failed or the budget is spent: interpreted for the rest of the run.
        Interpreted,
    }

    /// The per-run hook: heat countdowns, the compiled-loop table, and what compiling needs.
    pub(super) struct LoopJit<'a> {
        code: &'a Bytecode,
        planned: &'a PlannedIr,
        options: Options,
        /// Body entries left before each loop (by id) is looked at again; 0 means "hot".
        countdown: Vec<u64>,
        /// Compiled code by loop id (filled lazily).
        slots: Vec<Slot>,
        /// IR nodes this run may still compile.
        budget: usize,
    }

    impl<'a> LoopJit<'a> {
        pub(super) fn new(
            code: &'a Bytecode,
            planned: &'a PlannedIr,
            config: &Config,
            threshold: u64,
        ) -> Self {
            let loops = code.loop_headers().len();
            LoopJit {
                code,
                planned,
                options: Options::for_config(config),
                countdown: vec![threshold; loops],
                slots: Vec::new(),
                budget: compile_budget(planned.nodes().len()),
            }
        }

        /// The loop is hot: compile it unless that was tried; whether compiled code exists now.
        #[cold]
        #[inline(never)]
        fn hot(&mut self, id: u32) -> bool {
            let id = id as usize;
            if self.slots.is_empty() {
                self.slots = (0..self.countdown.len()).map(|_| Slot::Cold).collect();
            }
            if let Slot::Cold = self.slots[id] {
                self.slots[id] = self.compile(id);
            }
            match self.slots[id] {
                Slot::Compiled(_) => true,
                _ => {
                    // Never look at this loop again.
                    self.countdown[id] = u64::MAX;
                    false
                }
            }
        }

        /// Compiles loop `id` (its header through its `LoopEnd`) if the budget allows.
        fn compile(&mut self, id: usize) -> Slot {
            let slots = self.code.loop_slots(id as u32);
            let size = slots.len();
            if size > self.budget {
                return Slot::Interpreted;
            }
            self.budget -= size;
            let Ok(generated) = generate(self.planned, slots, &self.options) else {
                return Slot::Interpreted;
            };
            match ExecutableMemory::new(&generated.code) {
                Ok(memory) => Slot::Compiled(memory),
                Err(_) => Slot::Interpreted,
            }
        }
    }

    impl LoopHook for LoopJit<'_> {
        #[inline(always)]
        fn take_over(&mut self, id: u32) -> bool {
            let left = &mut self.countdown[id as usize];
            if *left != 0 {
                *left -= 1;
                return false;
            }
            self.hot(id)
        }

        fn run_loop(
            &mut self,
            id: u32,
            machine: &mut Machine,
            io: &mut Io<'_>,
        ) -> Result<(), Stop> {
            let Slot::Compiled(memory) = &self.slots[id as usize] else {
                unreachable!("run_loop is only called after take_over said yes");
            };
            let program = self.code.program();
            // SAFETY: the memory holds a complete function generated by `codegen::generate` from the
            // loop's nodes, entry at offset 0, following the `jit` calling convention; it lives in
            // `self.slots` for the whole run. It refuses a state with another tape length or a pointer
            // outside the plan's range at the loop, and touches only cells its plan decisions cover.
            unsafe { enter(entry_at(memory.as_ptr()), machine, io, program) }
        }
    }
}
