//! The `bytecode` backend: optimized IR flattened into a compact instruction array, run by a tight
//! `match` loop.
//!
//! [`Bytecode::compile`] (`compile.rs`) takes planned IR (by default
//! [`crate::optimizer::optimize_default`]) and maps each node to one [`Insn`] slot, with loop jumps
//! resolved to slot indices, then fuses superinstructions (`fuse.rs`) chosen from measured
//! opcode-pair frequencies (a block's last move, add or set with the loop test after it; two adds;
//! two multiplies; a whole walk loop of one operation and a move; decrement chains; a loop exit
//! with the one-operation block and loop test it falls into), see `docs/bytecode.md`. It
//! verifies that every guard covers its block and that every jump lands in the code and outside
//! blocks, which is what lets the run loop (`run.rs`) access cells of a checked block and fetch
//! instructions without bounds checks. A guard is checked where control lands (loop instructions
//! check the guard of the block they jump to), so guards are hardly ever dispatched. A failed guard
//! runs the block's source span with [`crate::runtime::exact::execute_exact`], and a scan that would
//! leave the tape re-runs its span the same way, so errors, their positions and the output before
//! them are the reference's.
//!
//! Fuel is charged exactly like the reference for every loop that is kept (one unit when the body is
//! entered at `[` and one per jump back at `]`); folded loops and exact fallbacks charge nothing.
//!
//! This is also the engine the tiered JIT runs cold code in: every loop is addressable by its id
//! ([`Bytecode::loop_headers`], [`Bytecode::loop_slots`]; loop instructions carry their `id`), and
//! [`Bytecode::run_with`] asks a [`LoopHook`] at every loop-body entry and back edge whether the loop
//! should run elsewhere (plain runs use [`Interpret`], which always says no and compiles away; walk
//! loops then run whole in one handler).

mod compile;
mod fuse;
mod insn;
mod landing;
mod ops;
mod run;
mod scan;
#[cfg(test)]
pub(crate) mod tests;

pub use insn::{BlockInfo, Insn};

use std::io::{Read, Write};

use crate::backend::{Backend, CompileError, Executable};
use crate::config::Config;
use crate::ir::plan::PlannedIr;
use crate::ir::{MulTarget, Span};
use crate::outcome::Halt;
use crate::runtime::{Io, Machine, Stop};
use crate::syntax::Program;

/// The `bytecode` backend.
pub struct BytecodeBackend;

impl Backend for BytecodeBackend {
    fn name(&self) -> &'static str {
        "bytecode"
    }

    fn summary(&self) -> &'static str {
        "fully optimized IR flattened to a compact instruction array with a match-dispatch loop"
    }

    fn compile(
        &self,
        program: &Program,
        config: &Config,
    ) -> Result<Box<dyn Executable>, CompileError> {
        let nodes = crate::optimizer::optimize_default(program);
        let planned = PlannedIr::new(program, nodes, config.tape_len())?;
        Ok(Box::new(BytecodeRun {
            code: Bytecode::compile_owned(program, planned)?,
            config: *config,
        }))
    }
}

struct BytecodeRun {
    code: Bytecode,
    config: Config,
}

impl Executable for BytecodeRun {
    fn run(&self, input: &mut dyn Read, output: &mut dyn Write) -> Halt {
        let mut io = Io::new(input, output, self.config.eof());
        let mut machine = Machine::new(&self.config);
        let result = self.code.run(&mut machine, &mut io);
        machine.finish(result, &mut io, &self.code.program)
    }
}

/// Asked by the dispatch loop whenever a loop body is about to be entered (at `[` or at a back edge
/// of `]`, cell non-zero): the way a tiered JIT takes a hot loop over.
pub trait LoopHook {
    /// Whether this hook ever takes a loop over (`false` lets the dispatch loop skip its bookkeeping).
    const ACTIVE: bool = true;

    /// Whether loop `id` should now be run by [`LoopHook::run_loop`] instead of being interpreted.
    fn take_over(&mut self, id: u32) -> bool;

    /// Runs loop `id` from its header (cell test, one fuel per body entry) to its exit or a stop, on
    /// `machine` (whose `ptr` and `fuel_left` are current at the call and must be on return).
    fn run_loop(&mut self, id: u32, machine: &mut Machine, io: &mut Io<'_>) -> Result<(), Stop>;

    /// Called before every dispatch with the instruction about to run: a profiling hook (the
    /// per-opcode counts in `docs/bytecode.md` come from it). The default does nothing and compiles
    /// away.
    #[inline(always)]
    fn dispatch(&mut self, _insn: &Insn) {}
}

/// The hook of a plain interpreted run: never takes a loop over.
pub struct Interpret;

impl LoopHook for Interpret {
    const ACTIVE: bool = false;

    #[inline(always)]
    fn take_over(&mut self, _id: u32) -> bool {
        false
    }

    fn run_loop(&mut self, _id: u32, _machine: &mut Machine, _io: &mut Io<'_>) -> Result<(), Stop> {
        Ok(())
    }
}

/// A compiled bytecode program.
#[derive(Clone, Debug)]
pub struct Bytecode {
    program: Program,
    /// The instructions, then `Halt`s up to a power-of-two length (see [`Bytecode::code`] for the
    /// program's own).
    code: Vec<Insn>,
    /// The program's instructions in `code` (through its own final `Halt`).
    len: usize,
    blocks: Vec<BlockInfo>,
    targets: Vec<MulTarget>,
    scans: Vec<Span>,
    loop_headers: Vec<u32>,
    /// Where decrement chains continue ([`Insn::DecChain`]): each chain's level exits in order, then
    /// the innermost level's body.
    chains: Vec<u32>,
    /// The tape length the guards' limits are for (the plan's).
    tape_len: usize,
}

impl Bytecode {
    /// Flattens planned IR of `program` (one instruction per node, plus a final `Halt`); each guard
    /// checks what its plan decision says.
    pub fn compile(program: &Program, planned: &PlannedIr) -> Result<Bytecode, CompileError> {
        let mut bc = compile::compile(program, planned, true)?;
        compile::pad(&mut bc);
        Ok(bc)
    }

    /// [`Bytecode::compile`], freeing the planned IR before the code is padded: for a caller that
    /// needs the IR no more (the padded code and the IR are never held at once).
    pub fn compile_owned(program: &Program, planned: PlannedIr) -> Result<Bytecode, CompileError> {
        let mut bc = compile::compile(program, &planned, false)?;
        drop(planned);
        compile::pad(&mut bc);
        Ok(bc)
    }

    /// The instructions, ending with `Halt`.
    pub fn code(&self) -> &[Insn] {
        &self.code[..self.len]
    }

    /// The instruction index of every loop header, indexed by loop id.
    pub fn loop_headers(&self) -> &[u32] {
        &self.loop_headers
    }

    /// The instructions (and IR nodes: one slot per node) of loop `id`, from its header through its
    /// `LoopEnd`.
    pub fn loop_slots(&self, id: u32) -> std::ops::Range<usize> {
        let header = self.loop_headers[id as usize] as usize;
        match self.code[header] {
            Insn::LoopStart { exit, .. } => header..exit as usize,
            _ => unreachable!("loop headers are LoopStart slots"),
        }
    }

    /// The block table entry a `Guard` names.
    pub fn block(&self, block: u32) -> BlockInfo {
        self.blocks[block as usize]
    }

    /// The multiply targets table `Mul` instructions index into.
    pub fn targets(&self) -> &[MulTarget] {
        &self.targets
    }

    /// The chain table [`Insn::DecChain`] instructions index into.
    pub fn chain_targets(&self) -> &[u32] {
        &self.chains
    }

    /// The source span of scan number `span` (as a `Scan` names it).
    pub fn scan_span(&self, span: u32) -> Span {
        self.scans[span as usize]
    }

    /// The program this bytecode was compiled from.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Runs from the first instruction on `machine` (its tape, pointer and fuel) until `Halt` or a stop.
    ///
    /// # Panics
    /// When the machine's tape is not as long as the one the bytecode was planned for.
    pub fn run(&self, machine: &mut Machine, io: &mut Io<'_>) -> Result<(), Stop> {
        self.run_with(machine, io, &mut Interpret)
    }

    /// Like [`Bytecode::run`], asking `hook` at every loop-body entry whether it takes the loop over.
    ///
    /// # Panics
    /// When the machine's tape is not as long as the one the bytecode was planned for.
    pub fn run_with<H: LoopHook>(
        &self,
        machine: &mut Machine,
        io: &mut Io<'_>,
        hook: &mut H,
    ) -> Result<(), Stop> {
        assert_eq!(
            machine.tape.len(),
            self.tape_len,
            "bytecode planned for another tape length"
        );
        match machine.fuel_left {
            Some(mut fuel) => {
                let result = self.execute::<true, H>(machine, io, &mut fuel, hook);
                machine.fuel_left = Some(fuel);
                result
            }
            None => self.execute::<false, H>(machine, io, &mut 0, hook),
        }
    }
}
