//! The `bytecode` backend: optimized IR flattened into a compact instruction array, run by a tight
//! `match` loop.
//!
//! [`Bytecode::compile`] takes planned IR (by default [`crate::optimizer::optimize_default`]) and maps
//! each node to one [`Insn`], one to one, with loop jumps resolved to instruction indices. The run loop
//! checks each block's guard once and then executes the block without further pointer checks of its
//! own (Rust's slice indexing still backs every access); a failed guard runs the block's source span
//! with [`crate::runtime::exact::execute_exact`], and a scan that would leave the tape re-runs its span the
//! same way, so errors, their positions and the output before them are the reference's.
//!
//! Fuel is charged exactly like the reference for every loop that is kept (one unit when the body is
//! entered at `[` and one per jump back at `]`); folded loops and exact fallbacks charge nothing.
//!
//! This is also the engine the tiered JIT runs cold code in: every loop header is addressable by its
//! loop id ([`Bytecode::loop_headers`], [`Insn::LoopStart`]'s `id`), and [`Bytecode::run_with`] asks
//! a [`LoopHook`] at every loop-body entry and back edge whether the loop should run elsewhere (plain
//! runs use [`Interpret`], which always says no and compiles away).

#[cfg(test)]
mod tests;

use std::io::{Read, Write};

use crate::backend::{Backend, CompileError, Executable};
use crate::config::Config;
use crate::ir::plan::PlannedIr;
use crate::ir::{MulTarget, Op, Span};
use crate::outcome::Halt;
use crate::runtime::exact::execute_exact;
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
            code: Bytecode::compile(program, &planned)?,
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

/// One bytecode instruction. Offsets are relative to the pointer; jump targets are instruction indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Insn {
    /// Checks `ptr + lo >= 0 && ptr + hi < tape_len` for the block that follows; on failure runs
    /// block `block`'s span exactly and continues at its `skip` index.
    Guard {
        /// Lowest offset the block reaches.
        lo: i32,
        /// Highest offset the block reaches.
        hi: i32,
        /// Index into the block table ([`Bytecode::block`]).
        block: u32,
    },
    /// `cell[offset] += delta`.
    Add {
        /// Cell offset.
        offset: i32,
        /// Wrapping amount.
        delta: u8,
    },
    /// `cell[offset] = value`.
    Set {
        /// Cell offset.
        offset: i32,
        /// The value stored.
        value: u8,
    },
    /// `ptr += by` (inside a checked block).
    Move {
        /// Signed distance.
        by: i32,
    },
    /// Multiply-add from `cell[offset]` into `targets[first .. first + count]`, then clear it; nothing
    /// when the cell is 0.
    Mul {
        /// Offset of the loop cell.
        offset: i32,
        /// First target in the target table ([`Bytecode::targets`]).
        first: u32,
        /// Number of targets.
        count: u32,
    },
    /// Writes `cell[offset]`.
    Output {
        /// Cell offset.
        offset: i32,
    },
    /// Reads into `cell[offset]`.
    Input {
        /// Cell offset.
        offset: i32,
    },
    /// Moves by `stride` until the cell is 0; off the tape, re-runs span `span` exactly.
    Scan {
        /// Signed step.
        stride: i32,
        /// Index into the span table ([`Bytecode::scan_span`]).
        span: u32,
    },
    /// A loop header: when the cell is 0 continue at `exit` (after the matching `LoopEnd`), else enter
    /// the body (one fuel).
    LoopStart {
        /// Index after the matching `LoopEnd`.
        exit: u32,
        /// The loop's id: its rank among loop headers in program order.
        id: u32,
    },
    /// When the cell is not 0 jump back to `body` (after the matching `LoopStart`, one fuel).
    LoopEnd {
        /// Index of the first body instruction.
        body: u32,
    },
    /// The end of the program.
    Halt,
}

/// What a failed guard needs: the block's source span and where execution continues after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    /// The source commands the block stands for.
    pub span: Span,
    /// The instruction index after the block.
    pub skip: u32,
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
    code: Vec<Insn>,
    blocks: Vec<BlockInfo>,
    targets: Vec<MulTarget>,
    scans: Vec<Span>,
    loop_headers: Vec<u32>,
}

/// The most instructions a bytecode program may have (indices are `u32`).
const MAX_INSNS: usize = u32::MAX as usize - 1;

impl Bytecode {
    /// Flattens planned IR of `program` (one instruction per node, plus a final `Halt`); each guard
    /// checks what its plan decision says.
    pub fn compile(program: &Program, planned: &PlannedIr) -> Result<Bytecode, CompileError> {
        let nodes = planned.nodes();
        if nodes.len() > MAX_INSNS {
            return Err(CompileError::TooLarge(format!(
                "{} IR nodes; bytecode holds at most {MAX_INSNS}",
                nodes.len()
            )));
        }
        let mut bc = Bytecode {
            program: program.clone(),
            code: Vec::with_capacity(nodes.len() + 1),
            blocks: Vec::new(),
            targets: Vec::new(),
            scans: Vec::new(),
            loop_headers: Vec::new(),
        };
        let mut open: Vec<usize> = Vec::new();
        for (index, node) in nodes.iter().enumerate() {
            let insn = match &node.op {
                Op::Guard { len, .. } => {
                    bc.blocks.push(BlockInfo {
                        span: node.span,
                        skip: (index + 1 + *len as usize) as u32,
                    });
                    let (lo, hi) = planned.decision(index).as_range_check();
                    Insn::Guard {
                        lo,
                        hi,
                        block: (bc.blocks.len() - 1) as u32,
                    }
                }
                Op::Add { offset, delta } => Insn::Add {
                    offset: *offset,
                    delta: *delta,
                },
                Op::Set { offset, value } => Insn::Set {
                    offset: *offset,
                    value: *value,
                },
                Op::Move { by } => Insn::Move { by: *by },
                Op::MulLoop { offset, targets } => {
                    let first = bc.targets.len() as u32;
                    bc.targets.extend_from_slice(targets);
                    Insn::Mul {
                        offset: *offset,
                        first,
                        count: targets.len() as u32,
                    }
                }
                Op::Output { offset } => Insn::Output { offset: *offset },
                Op::Input { offset } => Insn::Input { offset: *offset },
                Op::Scan { stride } => {
                    bc.scans.push(node.span);
                    Insn::Scan {
                        stride: *stride,
                        span: (bc.scans.len() - 1) as u32,
                    }
                }
                Op::LoopStart => {
                    open.push(index);
                    bc.loop_headers.push(index as u32);
                    Insn::LoopStart {
                        exit: 0,
                        id: (bc.loop_headers.len() - 1) as u32,
                    }
                }
                Op::LoopEnd => {
                    let start = open.pop().ok_or_else(unbalanced)?;
                    if let Insn::LoopStart { exit, .. } = &mut bc.code[start] {
                        *exit = index as u32 + 1;
                    }
                    Insn::LoopEnd {
                        body: start as u32 + 1,
                    }
                }
            };
            bc.code.push(insn);
        }
        if !open.is_empty() {
            return Err(unbalanced());
        }
        bc.code.push(Insn::Halt);
        Ok(bc)
    }

    /// The instructions, ending with `Halt`.
    pub fn code(&self) -> &[Insn] {
        &self.code
    }

    /// The instruction index of every loop header, indexed by loop id.
    pub fn loop_headers(&self) -> &[u32] {
        &self.loop_headers
    }

    /// The block table entry a `Guard` names.
    pub fn block(&self, block: u32) -> BlockInfo {
        self.blocks[block as usize]
    }

    /// The multiply targets table `Mul` instructions index into.
    pub fn targets(&self) -> &[MulTarget] {
        &self.targets
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
    pub fn run(&self, machine: &mut Machine, io: &mut Io<'_>) -> Result<(), Stop> {
        self.run_with(machine, io, &mut Interpret)
    }

    /// Like [`Bytecode::run`], asking `hook` at every loop-body entry whether it takes the loop over.
    pub fn run_with<H: LoopHook>(
        &self,
        machine: &mut Machine,
        io: &mut Io<'_>,
        hook: &mut H,
    ) -> Result<(), Stop> {
        match machine.fuel_left {
            Some(mut fuel) => {
                let result = self.execute::<true, H>(machine, io, &mut fuel, hook);
                machine.fuel_left = Some(fuel);
                result
            }
            None => self.execute::<false, H>(machine, io, &mut 0, hook),
        }
    }

    /// The loop id of the loop whose body starts at instruction `body`.
    fn loop_id(&self, body: u32) -> u32 {
        match self.code[body as usize - 1] {
            Insn::LoopStart { id, .. } => id,
            _ => unreachable!("a loop body follows its LoopStart"),
        }
    }

    /// The dispatch loop; `METERED` selects the variant that counts fuel.
    fn execute<const METERED: bool, H: LoopHook>(
        &self,
        machine: &mut Machine,
        io: &mut Io<'_>,
        fuel: &mut u64,
        hook: &mut H,
    ) -> Result<(), Stop> {
        let code = &self.code[..];
        let mut tape = &mut machine.tape[..];
        let len = tape.len();
        let mut ptr = machine.ptr;
        let mut pc = 0usize;
        let at = |ptr: usize, offset: i32| ptr.wrapping_add_signed(offset as isize);
        let result = loop {
            match code[pc] {
                Insn::Guard { lo, hi, block } => {
                    let low = ptr as isize + lo as isize;
                    let high = ptr as isize + hi as isize;
                    if low < 0 || high >= len as isize {
                        let info = self.blocks[block as usize];
                        // A copy of the pointer goes out, so `ptr` itself can live in a register.
                        let mut exact_ptr = ptr;
                        let result = execute_exact(
                            &self.program,
                            info.span.range(),
                            tape,
                            &mut exact_ptr,
                            io,
                            None,
                        );
                        ptr = exact_ptr;
                        if let Err(stop) = result {
                            break Err(stop);
                        }
                        pc = info.skip as usize;
                        continue;
                    }
                }
                Insn::Add { offset, delta } => {
                    let cell = &mut tape[at(ptr, offset)];
                    *cell = cell.wrapping_add(delta);
                }
                Insn::Set { offset, value } => tape[at(ptr, offset)] = value,
                Insn::Move { by } => ptr = at(ptr, by),
                Insn::Mul {
                    offset,
                    first,
                    count,
                } => {
                    let from = at(ptr, offset);
                    let value = tape[from];
                    if value != 0 {
                        let targets = &self.targets[first as usize..(first + count) as usize];
                        for t in targets {
                            let cell = &mut tape[at(from, t.offset)];
                            *cell = cell.wrapping_add(value.wrapping_mul(t.factor));
                        }
                        tape[from] = 0;
                    }
                }
                Insn::Output { offset } => {
                    if let Err(e) = io.write_byte(tape[at(ptr, offset)]) {
                        break Err(e.into());
                    }
                }
                Insn::Input { offset } => {
                    let cell = at(ptr, offset);
                    match io.read_byte(tape[cell]) {
                        Ok(byte) => tape[cell] = byte,
                        Err(e) => break Err(e.into()),
                    }
                }
                Insn::Scan { stride, span } => {
                    let mut scan_ptr = ptr;
                    let result = self.scan(tape, &mut scan_ptr, stride, span, io);
                    ptr = scan_ptr;
                    if let Err(stop) = result {
                        break Err(stop);
                    }
                }
                Insn::LoopStart { exit, id } => {
                    if tape[ptr] == 0 {
                        pc = exit as usize;
                        continue;
                    }
                    if hook.take_over(id) {
                        machine.ptr = ptr;
                        let result = hand_over::<METERED, H>(hook, id, machine, io, fuel);
                        tape = &mut machine.tape[..];
                        ptr = machine.ptr;
                        if let Err(stop) = result {
                            break Err(stop);
                        }
                        pc = exit as usize;
                        continue;
                    }
                    if METERED {
                        if *fuel == 0 {
                            break Err(Stop::OutOfFuel);
                        }
                        *fuel -= 1;
                    }
                }
                Insn::LoopEnd { body } => {
                    if tape[ptr] != 0 {
                        let id = if H::ACTIVE { self.loop_id(body) } else { 0 };
                        if hook.take_over(id) {
                            // The taken-over loop tests the cell (non-zero), charges one fuel and
                            // enters the body: exactly what jumping back would do.
                            machine.ptr = ptr;
                            let result = hand_over::<METERED, H>(hook, id, machine, io, fuel);
                            tape = &mut machine.tape[..];
                            ptr = machine.ptr;
                            if let Err(stop) = result {
                                break Err(stop);
                            }
                            pc += 1;
                            continue;
                        }
                        if METERED {
                            if *fuel == 0 {
                                break Err(Stop::OutOfFuel);
                            }
                            *fuel -= 1;
                        }
                        pc = body as usize;
                        continue;
                    }
                }
                Insn::Halt => break Ok(()),
            }
            pc += 1;
        };
        machine.ptr = ptr;
        result
    }

    /// Runs a scan: steps by `stride` while the cell is not 0; a step off the tape re-runs the loop's
    /// source from here so the error is the reference's.
    #[inline(never)]
    fn scan(
        &self,
        tape: &mut [u8],
        ptr: &mut usize,
        stride: i32,
        span: u32,
        io: &mut Io<'_>,
    ) -> Result<(), Stop> {
        let found = match stride {
            1 => tape[*ptr..].iter().position(|&c| c == 0).map(|n| *ptr + n),
            -1 => tape[..=*ptr].iter().rposition(|&c| c == 0),
            _ => {
                let mut p = *ptr;
                loop {
                    if tape[p] == 0 {
                        break Some(p);
                    }
                    let next = p as isize + stride as isize;
                    if next < 0 || next >= tape.len() as isize {
                        *ptr = p;
                        break None;
                    }
                    p = next as usize;
                }
            }
        };
        match found {
            Some(p) => {
                *ptr = p;
                Ok(())
            }
            None => {
                if stride == 1 {
                    *ptr = tape.len() - 1;
                } else if stride == -1 {
                    *ptr = 0;
                }
                let span = self.scans[span as usize];
                execute_exact(&self.program, span.range(), tape, ptr, io, None)
            }
        }
    }
}

/// Runs loop `id` through `hook` from `machine.ptr`, handing the fuel over both ways.
#[inline(never)]
fn hand_over<const METERED: bool, H: LoopHook>(
    hook: &mut H,
    id: u32,
    machine: &mut Machine,
    io: &mut Io<'_>,
    fuel: &mut u64,
) -> Result<(), Stop> {
    if METERED {
        machine.fuel_left = Some(*fuel);
    }
    let result = hook.run_loop(id, machine, io);
    if METERED {
        *fuel = machine.fuel_left.unwrap_or(0);
    }
    result
}

fn unbalanced() -> CompileError {
    CompileError::Bug("IR loops are not balanced".to_string())
}
