//! Lowering guarded IR to Cranelift IR for one function: one `translate_*` method per IR node.
//!
//! Roles of the values every function works with:
//! - `state`: the `*mut JitState` parameter; `state.ptr` is written before every callback and return;
//! - `tape`: the tape base address, loaded once at entry (the tape never moves during a run);
//! - `ptr`: the pointer *index* as an SSA variable (always within `[0, tape_len)` where code runs).
//!
//! Inside a guarded block, cells live in SSA values: each is loaded on first use (at the block's base
//! address plus a constant offset) and stored once when the block ends, and moves only shift a
//! compile-time position; the pointer variable is updated when the block ends. Only `,` sends its cell
//! through memory, since `jit_input` reads and writes it there.
//!
//! Control flow: each loop is a `body` and an `exit` block; `[` and `]` both test the cell and branch to
//! one of them, so the body has exactly two predecessors and is sealed at its `]`. A guard branches to
//! the block's code or to a cold fallback that runs the block's source exactly; both meet at an `after`
//! block, sealed when the guarded block ends. Error paths end in shared cold exit blocks, one per kind
//! (`stopped`, `out_of_fuel`, `bail` for a status passed on from an outlined callee), sealed last.
//!
//! Inside a guarded block no access is checked at run time; instead the translator checks, while
//! lowering, that every offset the block's nodes reach lies within the guard's `lo ..= hi`, and refuses
//! (with a compile error) any IR where that does not hold. Unchecked code therefore never touches memory
//! off the tape, whatever a pass does.

use std::collections::BTreeMap;
use std::ops::Range;

use cranelift_codegen::ir::{
    condcodes::IntCC, types, Block, BlockArg, FuncRef, Function, InstBuilder, MemFlagsData, Type,
    Value,
};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_frontend::{FunctionBuilder, Variable};

use crate::backend::CompileError;
use crate::ir::plan::{Decision, PlannedIr};
use crate::ir::{MulTarget, Node, Op, Span};
use crate::jit::{
    EXACT_STOPPED, OFFSET_FUEL, OFFSET_PTR, OFFSET_TAPE, STATUS_OK, STATUS_OUT_OF_FUEL,
    STATUS_STOPPED,
};

/// Where a guarded block's nodes may reach, relative to the pointer at the block's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Reach {
    /// Lowest offset the guard checked.
    pub lo: i64,
    /// Highest offset the guard checked.
    pub hi: i64,
    /// Where the pointer stands now, relative to the block's start.
    pub at: i64,
}

/// What every function of one program shares.
pub(super) struct Env<'a> {
    /// The guarded IR (the plan's nodes).
    pub nodes: &'a [Node],
    /// The guard plan: how each guard is emitted.
    pub plan: &'a PlannedIr,
    /// `loop_partners(nodes)`.
    pub partners: &'a [u32],
    /// The tape length, baked in: an executable is compiled for one configuration.
    pub tape_len: u64,
    /// Whether fuel is metered.
    pub fuel: bool,
    /// The host pointer type.
    pub ptr_ty: Type,
    /// The target's frontend configuration (pointer width and such).
    pub frontend: TargetFrontendConfig,
    /// Nodes one function may hold before the rest of the current level is moved to a new function.
    pub budget: usize,
    /// Loops one function may have open at once; a deeper loop moves, with the rest of its level, to a
    /// new function.
    pub depth: usize,
}

/// The imported host functions, as referenced from the function being built.
#[derive(Clone, Copy)]
pub(super) struct Callbacks {
    /// `jit_output(state, byte) -> u32`.
    pub output: FuncRef,
    /// `jit_input(state, cell) -> u32`.
    pub input: FuncRef,
    /// `jit_exact(state, start, end, ptr) -> usize`.
    pub exact: FuncRef,
}

/// Asks for a new function holding `nodes` (with `Reach` when they are a guarded block's tail) and
/// returns a reference to it from `func`.
pub(super) type Outline<'o> =
    dyn FnMut(Range<usize>, Option<Reach>, &mut Function) -> Result<FuncRef, CompileError> + 'o;

/// Nodes to move to a new function, with their `Reach` when they are a guarded block's tail.
type Rest = (Range<usize>, Option<Reach>);

/// An open loop: its blocks and the index of its `LoopEnd`.
struct LoopFrame {
    body: Block,
    exit: Block,
    end: usize,
}

/// A cell value a guarded block holds in an SSA value instead of memory.
#[derive(Clone, Copy)]
struct Cached {
    value: Value,
    /// Not yet stored to the tape.
    dirty: bool,
}

/// The guarded block being lowered. Its cells live in SSA values (loaded on first use, stored when the
/// block ends or a callback needs them), and its moves only change `reach.at`: the pointer variable is
/// brought up to date when the block ends.
struct OpenBlock {
    /// Where the fast path and the fallback meet; `None` in a function holding only a block's tail.
    after: Option<Block>,
    /// Nodes of the block still to lower.
    remaining: u32,
    reach: Reach,
    /// The position (relative to the block's start) where `origin_ptr` was taken.
    origin_at: i64,
    /// The pointer index at `origin_at`.
    origin_ptr: Value,
    /// The address of the cell at `origin_at`.
    origin_base: Value,
    /// Cells read or written so far, by position relative to the block's start.
    cells: BTreeMap<i64, Cached>,
}

/// Lowers IR nodes into one Cranelift function.
pub(super) struct FunctionTranslator<'a, 'b> {
    env: &'b Env<'a>,
    builder: FunctionBuilder<'b>,
    callbacks: Callbacks,
    state: Value,
    tape: Value,
    ptr: Variable,
    bail: Option<Block>,
    stopped: Option<Block>,
    out_of_fuel: Option<Block>,
    loops: Vec<LoopFrame>,
    block: Option<OpenBlock>,
    emitted: usize,
}

fn malformed(what: impl std::fmt::Display) -> CompileError {
    CompileError::Bug(format!("malformed IR: {what}"))
}

/// Flags of every memory access: the address is known valid (bounds are guarded) and aligned.
fn trusted() -> MemFlagsData {
    MemFlagsData::trusted()
}

impl<'a, 'b> FunctionTranslator<'a, 'b> {
    /// Starts a function: entry block, the state parameter, the tape base and the pointer variable.
    pub fn new(env: &'b Env<'a>, mut builder: FunctionBuilder<'b>, callbacks: Callbacks) -> Self {
        let entry = builder.create_block();
        builder.append_block_params_for_function_params(entry);
        builder.switch_to_block(entry);
        // The entry block has no predecessors: seal it at once.
        builder.seal_block(entry);
        let state = builder.block_params(entry)[0];
        let tape = builder
            .ins()
            .load(env.ptr_ty, trusted(), state, OFFSET_TAPE);
        let start = builder.ins().load(env.ptr_ty, trusted(), state, OFFSET_PTR);
        let ptr = builder.declare_var(env.ptr_ty);
        builder.def_var(ptr, start);
        FunctionTranslator {
            env,
            builder,
            callbacks,
            state,
            tape,
            ptr,
            bail: None,
            stopped: None,
            out_of_fuel: None,
            loops: Vec::new(),
            block: None,
            emitted: 0,
        }
    }

    /// Lowers `range` (a guarded block's tail when `tail` is given), moving the rest of a level to a new
    /// function through `outline` once the budget is spent or when a loop would nest deeper than the
    /// depth bound, then ends and finalizes the function.
    pub fn translate_unit(
        mut self,
        range: Range<usize>,
        tail: Option<Reach>,
        outline: &mut Outline<'_>,
    ) -> Result<(), CompileError> {
        if let Some(reach) = tail {
            self.open_block(None, (range.end - range.start) as u32, reach);
        }
        let mut i = range.start;
        while i < range.end {
            let too_deep = self.loops.len() >= self.env.depth
                && self.block.is_none()
                && self.env.nodes[i].op == Op::LoopStart;
            if too_deep || self.emitted >= self.env.budget {
                if let Some((rest, reach)) = self.outline_point(i, range.end)? {
                    let callee = outline(rest.clone(), reach, self.builder.func)?;
                    // A block's tail moves out: its cells go to memory and the pointer to the variable
                    // first, since the callee works on both; what the block held is stale afterwards.
                    self.sync_block();
                    let block = self.block.take();
                    self.translate_call(callee);
                    if let Some(block) = block {
                        self.leave_block(block);
                    }
                    i = rest.end;
                    continue;
                }
            }
            self.translate_node(i)?;
            self.emitted += 1;
            i += 1;
        }
        if self.block.as_ref().is_some_and(|b| b.remaining > 0) {
            return Err(malformed("a guard covers more nodes than follow it"));
        }
        if !self.loops.is_empty() {
            return Err(malformed("unclosed loop"));
        }
        let p = self.builder.use_var(self.ptr);
        self.store_ptr(p);
        let ok = self.builder.ins().iconst(types::I32, STATUS_OK as i64);
        self.builder.ins().return_(&[ok]);
        self.finish_shared_blocks();
        self.builder.finalize(self.env.frontend);
        Ok(())
    }

    /// Where the rest of the current level starts and ends, if it can be moved out here: the rest of an
    /// open guarded block, or every item up to the end of the innermost open loop (or of the function).
    fn outline_point(&self, i: usize, end: usize) -> Result<Option<Rest>, CompileError> {
        if let Some(block) = &self.block {
            let rest_end = i + block.remaining as usize;
            if block.remaining == 0 || rest_end > end {
                return Err(malformed("a guard covers more nodes than follow it"));
            }
            return Ok(Some((i..rest_end, Some(block.reach))));
        }
        if self.env.nodes[i].op == Op::LoopEnd {
            return Ok(None);
        }
        let level_end = self.loops.last().map_or(end, |frame| frame.end);
        Ok((level_end > i).then_some((i..level_end, None)))
    }

    /// Lowers node `i`.
    fn translate_node(&mut self, i: usize) -> Result<(), CompileError> {
        let node = &self.env.nodes[i];
        match &node.op {
            Op::Guard { lo, hi, len } => {
                let decision = self.env.plan.decision(i);
                self.translate_guard(node.span, *lo, *hi, *len, decision)
            }
            Op::LoopStart => self.translate_loop_start(i),
            Op::LoopEnd => self.translate_loop_end(i),
            Op::Scan { stride } => self.translate_scan(node.span, *stride),
            Op::Add { offset, delta } => self.in_block(|t| t.translate_add(*offset, *delta)),
            Op::Set { offset, value } => self.in_block(|t| t.translate_set(*offset, *value)),
            Op::Move { by } => self.in_block(|t| t.translate_move(*by)),
            Op::MulLoop { offset, targets } => {
                self.in_block(|t| t.translate_mul_loop(*offset, targets))
            }
            Op::Output { offset } => self.in_block(|t| t.translate_output(*offset)),
            Op::Input { offset } => self.in_block(|t| t.translate_input(*offset)),
        }
    }

    /// Runs `lower` for a node of a guarded block and counts it off the block.
    fn in_block(
        &mut self,
        lower: impl FnOnce(&mut Self) -> Result<(), CompileError>,
    ) -> Result<(), CompileError> {
        if self.block.as_ref().is_none_or(|b| b.remaining == 0) {
            return Err(malformed("a block node without a guard before it"));
        }
        lower(self)?;
        let block = self.block.as_mut().expect("checked above");
        block.remaining -= 1;
        if block.remaining == 0 {
            self.close_block();
        }
        Ok(())
    }

    /// Opens a guarded block at the current pointer, `reach.at` cells from the block's start.
    fn open_block(&mut self, after: Option<Block>, remaining: u32, reach: Reach) {
        let origin_ptr = self.builder.use_var(self.ptr);
        let origin_base = self.builder.ins().iadd(self.tape, origin_ptr);
        self.block = Some(OpenBlock {
            after,
            remaining,
            reach,
            origin_at: reach.at,
            origin_ptr,
            origin_base,
            cells: BTreeMap::new(),
        });
        if remaining == 0 {
            self.close_block();
        }
    }

    /// Stores the open block's changed cells and brings the pointer variable up to date.
    fn sync_block(&mut self) {
        let Some(block) = &mut self.block else {
            return;
        };
        for (&at, cached) in block.cells.iter_mut() {
            if cached.dirty {
                let offset = (at - block.origin_at) as i32;
                self.builder
                    .ins()
                    .store(trusted(), cached.value, block.origin_base, offset);
                cached.dirty = false;
            }
        }
        let p = self.block_ptr();
        self.builder.def_var(self.ptr, p);
    }

    /// The pointer index where the open block's pointer stands now.
    fn block_ptr(&mut self) -> Value {
        let block = self.block.as_ref().expect("inside a block");
        match block.reach.at - block.origin_at {
            0 => block.origin_ptr,
            by => self.builder.ins().iadd_imm_s(block.origin_ptr, by),
        }
    }

    /// Ends the open guarded block: cells to memory, pointer to the variable, then on to `after`.
    fn close_block(&mut self) {
        self.sync_block();
        if let Some(block) = self.block.take() {
            self.leave_block(block);
        }
    }

    /// The fast path falls through to `after`, whose two predecessors (fast path and fallback) are now
    /// both known, so it is sealed.
    fn leave_block(&mut self, block: OpenBlock) {
        if let Some(after) = block.after {
            self.builder.ins().jump(after, &[]);
            self.builder.switch_to_block(after);
            self.builder.seal_block(after);
        }
    }

    /// The position (relative to the block's start) of the cell at `offset` from the pointer, checked
    /// against the open block's guard, and its offset from the block's origin address.
    fn locate(&self, offset: i32) -> Result<(i64, i32), CompileError> {
        let block = self.block.as_ref().expect("inside a block");
        let reach = block.reach;
        let at = reach.at + offset as i64;
        if at < reach.lo || at > reach.hi {
            return Err(malformed(format!(
                "offset {at} outside its guard [{}, {}]",
                reach.lo, reach.hi
            )));
        }
        let from_origin = i32::try_from(at - block.origin_at)
            .map_err(|_| CompileError::TooLarge(format!("block offset {at} exceeds 32 bits")))?;
        Ok((at, from_origin))
    }

    /// The value of the cell at `offset` (within the open block), loaded on first use.
    fn read_cell(&mut self, offset: i32) -> Result<Value, CompileError> {
        let (at, from_origin) = self.locate(offset)?;
        let block = self.block.as_mut().expect("inside a block");
        if let Some(cached) = block.cells.get(&at) {
            return Ok(cached.value);
        }
        let value = self
            .builder
            .ins()
            .load(types::I8, trusted(), block.origin_base, from_origin);
        block.cells.insert(
            at,
            Cached {
                value,
                dirty: false,
            },
        );
        Ok(value)
    }

    /// Sets the cell at `offset` (within the open block); it is stored when the block ends.
    fn write_cell(&mut self, offset: i32, value: Value) -> Result<(), CompileError> {
        let (at, _) = self.locate(offset)?;
        let block = self.block.as_mut().expect("inside a block");
        block.cells.insert(at, Cached { value, dirty: true });
        Ok(())
    }

    /// The address of the current cell (`tape + ptr`), outside blocks.
    fn cell_base(&mut self) -> Value {
        let p = self.builder.use_var(self.ptr);
        self.builder.ins().iadd(self.tape, p)
    }

    /// Loads the current cell, outside blocks.
    fn load_current(&mut self) -> Value {
        let base = self.cell_base();
        self.builder.ins().load(types::I8, trusted(), base, 0)
    }

    fn store_ptr(&mut self, p: Value) {
        self.builder
            .ins()
            .store(trusted(), p, self.state, OFFSET_PTR);
    }

    /// A shared exit block, made cold on first use.
    fn shared_block(slot: &mut Option<Block>, builder: &mut FunctionBuilder<'_>) -> Block {
        *slot.get_or_insert_with(|| {
            let block = builder.create_block();
            builder.set_cold_block(block);
            block
        })
    }

    /// Continues in a new block when `failed` is zero, else goes to `target` with `args`.
    fn branch_out_if(&mut self, failed: Value, target: Block, args: &[BlockArg]) {
        let next = self.builder.create_block();
        self.builder.ins().brif(failed, target, args, next, &[]);
        // `next`'s only predecessor is the branch just emitted.
        self.builder.switch_to_block(next);
        self.builder.seal_block(next);
    }

    /// Stops with `STATUS_STOPPED` when a callback's error flag `rc` is set (the callback has recorded
    /// why; `state.ptr` was written before the call).
    fn check_callback(&mut self, rc: Value) {
        let stopped = Self::shared_block(&mut self.stopped, &mut self.builder);
        self.branch_out_if(rc, stopped, &[]);
    }

    /// Emits the shared exit blocks (only those used) and seals them: every branch to them is emitted.
    fn finish_shared_blocks(&mut self) {
        if let Some(block) = self.out_of_fuel {
            self.builder.switch_to_block(block);
            self.builder.seal_block(block);
            let p = self.builder.use_var(self.ptr);
            self.store_ptr(p);
            let status = self
                .builder
                .ins()
                .iconst(types::I32, STATUS_OUT_OF_FUEL as i64);
            self.builder.ins().return_(&[status]);
        }
        if let Some(block) = self.stopped {
            self.builder.switch_to_block(block);
            self.builder.seal_block(block);
            let status = self.builder.ins().iconst(types::I32, STATUS_STOPPED as i64);
            self.builder.ins().return_(&[status]);
        }
        if let Some(block) = self.bail {
            self.builder.switch_to_block(block);
            self.builder.seal_block(block);
            let status = self.builder.block_params(block)[0];
            self.builder.ins().return_(&[status]);
        }
    }

    /// Charges one unit of fuel at a loop-body entry, when fuel is metered: at zero the run stops with
    /// `STATUS_OUT_OF_FUEL` (pointer written back) and nothing is charged.
    fn charge_fuel(&mut self) {
        if !self.env.fuel {
            return;
        }
        let out_of_fuel = Self::shared_block(&mut self.out_of_fuel, &mut self.builder);
        let left = self
            .builder
            .ins()
            .load(types::I64, trusted(), self.state, OFFSET_FUEL);
        let charge = self.builder.create_block();
        self.builder.ins().brif(left, charge, &[], out_of_fuel, &[]);
        self.builder.switch_to_block(charge);
        // Only the fuel test reaches `charge`.
        self.builder.seal_block(charge);
        let spent = self.builder.ins().iadd_imm_s(left, -1);
        self.builder
            .ins()
            .store(trusted(), spent, self.state, OFFSET_FUEL);
    }

    /// Runs source commands `span` exactly from pointer `p` through `jit_exact`, then goes on to `then`
    /// with the pointer it returns; on a stop returns `STATUS_STOPPED` instead (the callback has written
    /// `state.ptr`).
    fn call_exact(&mut self, span: Span, p: Value, then: Block) {
        self.store_ptr(p);
        let start = self.builder.ins().iconst(types::I32, span.start as i64);
        let end = self.builder.ins().iconst(types::I32, span.end as i64);
        let call = self
            .builder
            .ins()
            .call(self.callbacks.exact, &[self.state, start, end, p]);
        let result = self.builder.inst_results(call)[0];
        let stopped = self
            .builder
            .ins()
            .icmp_imm_s(IntCC::Equal, result, EXACT_STOPPED as i64);
        // The stop path does not read the pointer, so defining it before the branch is right for both.
        self.builder.def_var(self.ptr, result);
        let stop = Self::shared_block(&mut self.stopped, &mut self.builder);
        self.builder.ins().brif(stopped, stop, &[], then, &[]);
    }

    /// `Guard { lo, hi, len }`, as its plan decision says: `Always` opens the block with no check;
    /// `Check` is one test that `ptr + lo >= 0 && ptr + hi < tape_len`, written as a single unsigned
    /// compare `(ptr + lo) < tape_len - (hi - lo)`; `Never` always takes the fallback. On failure the
    /// block's span runs exactly and its nodes are skipped.
    fn translate_guard(
        &mut self,
        span: Span,
        lo: i32,
        hi: i32,
        len: u32,
        decision: Decision,
    ) -> Result<(), CompileError> {
        if self.block.is_some() {
            return Err(malformed("a guard inside a guarded block"));
        }
        let reach = Reach {
            lo: lo as i64,
            hi: hi as i64,
            at: 0,
        };
        let p = self.builder.use_var(self.ptr);
        let fits = match decision {
            Decision::Always => {
                self.open_block(None, len, reach);
                return Ok(());
            }
            Decision::Never => self.builder.ins().iconst(types::I8, 0),
            Decision::Check { lo, hi } => {
                let limit = self.env.tape_len as i64 - (hi as i64 - lo as i64);
                let low = match lo {
                    0 => p,
                    lo => self.builder.ins().iadd_imm_s(p, lo as i64),
                };
                self.builder
                    .ins()
                    .icmp_imm_s(IntCC::UnsignedLessThan, low, limit)
            }
        };
        let fast = self.builder.create_block();
        let fallback = self.builder.create_block();
        let after = self.builder.create_block();
        self.builder.set_cold_block(fallback);
        self.builder.ins().brif(fits, fast, &[], fallback, &[]);
        // `fast` and `fallback` each have the guard's branch as their only predecessor.
        self.builder.seal_block(fast);
        self.builder.seal_block(fallback);
        self.builder.switch_to_block(fallback);
        self.call_exact(span, p, after);
        self.builder.switch_to_block(fast);
        self.open_block(Some(after), len, reach);
        Ok(())
    }

    /// `Add { offset, delta }`: the cell gains `delta`, wrapping.
    fn translate_add(&mut self, offset: i32, delta: u8) -> Result<(), CompileError> {
        let cell = self.read_cell(offset)?;
        let delta = self.builder.ins().iconst(types::I8, delta as i64);
        let sum = self.builder.ins().iadd(cell, delta);
        self.write_cell(offset, sum)
    }

    /// `Set { offset, value }`: the cell becomes `value`.
    fn translate_set(&mut self, offset: i32, value: u8) -> Result<(), CompileError> {
        let value = self.builder.ins().iconst(types::I8, value as i64);
        self.write_cell(offset, value)
    }

    /// `Move { by }`: the pointer moves (within the guard, so no check; the variable is updated when
    /// the block ends).
    fn translate_move(&mut self, by: i32) -> Result<(), CompileError> {
        self.locate(by)?;
        self.block.as_mut().expect("inside a block").reach.at += by as i64;
        Ok(())
    }

    /// `MulLoop { offset, targets }`: each target gains `cell * factor` and the cell becomes 0. Lowered
    /// without a branch: when the cell is 0 every target gains 0 and the cell stays 0, which is the
    /// same result, and the guard covers every target either way.
    fn translate_mul_loop(
        &mut self,
        offset: i32,
        targets: &[MulTarget],
    ) -> Result<(), CompileError> {
        let cell = self.read_cell(offset)?;
        for t in targets {
            let at = offset
                .checked_add(t.offset)
                .ok_or_else(|| malformed("multiply target offset overflows"))?;
            let old = self.read_cell(at)?;
            let gain = match t.factor {
                1 => cell,
                factor => {
                    let factor = self.builder.ins().iconst(types::I8, factor as i64);
                    self.builder.ins().imul(cell, factor)
                }
            };
            let new = self.builder.ins().iadd(old, gain);
            self.write_cell(at, new)?;
        }
        let zero = self.builder.ins().iconst(types::I8, 0);
        self.write_cell(offset, zero)
    }

    /// `Output { offset }`: the cell goes to `jit_output` (which touches no cell, so the block's
    /// cells stay where they are).
    fn translate_output(&mut self, offset: i32) -> Result<(), CompileError> {
        let cell = self.read_cell(offset)?;
        let byte = self.builder.ins().uextend(types::I32, cell);
        let p = self.block_ptr();
        self.store_ptr(p);
        let call = self
            .builder
            .ins()
            .call(self.callbacks.output, &[self.state, byte]);
        let rc = self.builder.inst_results(call)[0];
        self.check_callback(rc);
        Ok(())
    }

    /// `Input { offset }`: `jit_input` reads the cell (for the EOF policy) and stores into it, so the
    /// cell goes to memory first and is forgotten after.
    fn translate_input(&mut self, offset: i32) -> Result<(), CompileError> {
        let (at, from_origin) = self.locate(offset)?;
        let block = self.block.as_mut().expect("inside a block");
        let origin_base = block.origin_base;
        if let Some(cached) = block.cells.remove(&at) {
            if cached.dirty {
                self.builder
                    .ins()
                    .store(trusted(), cached.value, origin_base, from_origin);
            }
        }
        let p = self.block_ptr();
        self.store_ptr(p);
        let cell = self
            .builder
            .ins()
            .iadd_imm_s(origin_base, from_origin as i64);
        let call = self
            .builder
            .ins()
            .call(self.callbacks.input, &[self.state, cell]);
        let rc = self.builder.inst_results(call)[0];
        self.check_callback(rc);
        Ok(())
    }

    /// `Scan { stride }`: step by `stride` while the cell is non-zero. While four more steps stay on
    /// the tape (one compare of the pointer with a constant), the next four cells are tested unrolled,
    /// stopping at the first zero; nearer an end (or when four steps never fit) it goes cell by cell,
    /// and a step that would leave the tape (one unsigned compare catches both ends) runs the scan's
    /// span exactly from the current pointer, which raises the error at the right command.
    fn translate_scan(&mut self, span: Span, stride: i32) -> Result<(), CompileError> {
        if self.block.is_some() {
            return Err(malformed("a scan inside a guarded block"));
        }
        let four = 4 * (stride as i64).abs();
        if stride == 0 || four >= self.env.tape_len as i64 {
            self.scan_checked(span, stride);
            return Ok(());
        }
        let fast_check = self.builder.create_block();
        let fast = self.builder.create_block();
        let slow_step = self.builder.create_block();
        let slow_head = self.builder.create_block();
        let off_tape = self.builder.create_block();
        let exit = self.builder.create_block();
        self.builder.set_cold_block(off_tape);
        let cell = self.load_current();
        self.builder.ins().brif(cell, fast_check, &[], exit, &[]);

        // The current cell is non-zero. Four steps stay on the tape when `p + 4 * stride` does; the
        // cells between lie on the tape too.
        self.builder.switch_to_block(fast_check);
        let p = self.builder.use_var(self.ptr);
        let fits = if stride > 0 {
            self.builder.ins().icmp_imm_s(
                IntCC::UnsignedLessThan,
                p,
                self.env.tape_len as i64 - four,
            )
        } else {
            self.builder
                .ins()
                .icmp_imm_s(IntCC::UnsignedGreaterThanOrEqual, p, four)
        };
        self.builder.ins().brif(fits, fast, &[], slow_step, &[]);

        // `fast` is reached only from `fast_check`.
        self.builder.switch_to_block(fast);
        self.builder.seal_block(fast);
        let base = self.builder.ins().iadd(self.tape, p);
        for k in 1..=3i64 {
            let offset = k * stride as i64;
            let cell = self
                .builder
                .ins()
                .load(types::I8, trusted(), base, offset as i32);
            let found = self.builder.create_block();
            let more = self.builder.create_block();
            self.builder.ins().brif(cell, more, &[], found, &[]);
            self.builder.switch_to_block(found);
            self.builder.seal_block(found);
            let at = self.builder.ins().iadd_imm_s(p, offset);
            self.builder.def_var(self.ptr, at);
            self.builder.ins().jump(exit, &[]);
            self.builder.switch_to_block(more);
            self.builder.seal_block(more);
        }
        let offset = 4 * stride as i64;
        let cell = self
            .builder
            .ins()
            .load(types::I8, trusted(), base, offset as i32);
        let at = self.builder.ins().iadd_imm_s(p, offset);
        self.builder.def_var(self.ptr, at);
        self.builder.ins().brif(cell, fast_check, &[], exit, &[]);
        // `fast_check` is reached from the entry and from the fourth cell of the fast path.
        self.builder.seal_block(fast_check);

        // Cell by cell: the current cell is non-zero; step if the step stays on the tape.
        self.builder.switch_to_block(slow_step);
        let p = self.builder.use_var(self.ptr);
        let next = self.builder.ins().iadd_imm_s(p, stride as i64);
        let on_tape =
            self.builder
                .ins()
                .icmp_imm_s(IntCC::UnsignedLessThan, next, self.env.tape_len as i64);
        self.builder.def_var(self.ptr, next);
        self.builder
            .ins()
            .brif(on_tape, slow_head, &[], off_tape, &[]);
        self.builder.switch_to_block(slow_head);
        // `slow_head` is reached only from `slow_step`.
        self.builder.seal_block(slow_head);
        let cell = self.load_current();
        self.builder.ins().brif(cell, slow_step, &[], exit, &[]);
        // `slow_step` is reached from `fast_check` and from `slow_head`.
        self.builder.seal_block(slow_step);

        self.builder.switch_to_block(off_tape);
        self.builder.seal_block(off_tape);
        // `p` is the pointer before the failing step (defined in `slow_step`, which dominates here).
        self.call_exact(span, p, exit);
        self.builder.switch_to_block(exit);
        // Every predecessor of `exit` is emitted now.
        self.builder.seal_block(exit);
        Ok(())
    }

    /// The scan as a plain checked loop, for strides where four steps never stay on the tape (or
    /// stride 0, which spins as the reference does).
    fn scan_checked(&mut self, span: Span, stride: i32) {
        let head = self.builder.create_block();
        let step = self.builder.create_block();
        let off_tape = self.builder.create_block();
        let exit = self.builder.create_block();
        self.builder.set_cold_block(off_tape);
        self.builder.ins().jump(head, &[]);
        self.builder.switch_to_block(head);
        let p = self.builder.use_var(self.ptr);
        let cell = self.load_current();
        self.builder.ins().brif(cell, step, &[], exit, &[]);
        self.builder.switch_to_block(step);
        // `step` is reached only from `head`.
        self.builder.seal_block(step);
        let next = self.builder.ins().iadd_imm_s(p, stride as i64);
        let on_tape =
            self.builder
                .ins()
                .icmp_imm_s(IntCC::UnsignedLessThan, next, self.env.tape_len as i64);
        self.builder.def_var(self.ptr, next);
        self.builder.ins().brif(on_tape, head, &[], off_tape, &[]);
        // Both predecessors of `head` (the jump in, the back edge) are emitted now.
        self.builder.seal_block(head);
        self.builder.switch_to_block(off_tape);
        self.builder.seal_block(off_tape);
        self.call_exact(span, p, exit);
        self.builder.switch_to_block(exit);
        // `exit` is reached from `head` (cell zero) and from the exact fallback.
        self.builder.seal_block(exit);
    }

    /// `LoopStart`: enter the body when the cell is non-zero (charging fuel), else go to the exit. The
    /// body and exit stay unsealed until the matching `LoopEnd` adds the back edge.
    fn translate_loop_start(&mut self, i: usize) -> Result<(), CompileError> {
        if self.block.is_some() {
            return Err(malformed("a loop inside a guarded block"));
        }
        let end = self.env.partners[i] as usize;
        let body = self.builder.create_block();
        let exit = self.builder.create_block();
        let cell = self.load_current();
        self.builder.ins().brif(cell, body, &[], exit, &[]);
        self.builder.switch_to_block(body);
        self.charge_fuel();
        self.loops.push(LoopFrame { body, exit, end });
        Ok(())
    }

    /// `LoopEnd`: back to the body when the cell is non-zero, else out. Now both blocks of the loop have
    /// all their predecessors and are sealed.
    fn translate_loop_end(&mut self, i: usize) -> Result<(), CompileError> {
        if self.block.is_some() {
            return Err(malformed("a loop end inside a guarded block"));
        }
        let frame = match self.loops.pop() {
            Some(frame) if frame.end == i => frame,
            _ => return Err(malformed(format!("unmatched loop end at node {i}"))),
        };
        let cell = self.load_current();
        self.builder
            .ins()
            .brif(cell, frame.body, &[], frame.exit, &[]);
        self.builder.seal_block(frame.body);
        self.builder.switch_to_block(frame.exit);
        self.builder.seal_block(frame.exit);
        Ok(())
    }

    /// A call to an outlined function: the pointer goes through `state.ptr` both ways; a non-zero status
    /// is passed on as it is (the callee has already written `state.ptr`).
    fn translate_call(&mut self, callee: FuncRef) {
        let p = self.builder.use_var(self.ptr);
        self.store_ptr(p);
        let call = self.builder.ins().call(callee, &[self.state]);
        let status = self.builder.inst_results(call)[0];
        let bail = match self.bail {
            Some(block) => block,
            None => {
                let block = Self::shared_block(&mut self.bail, &mut self.builder);
                self.builder.append_block_param(block, types::I32);
                block
            }
        };
        self.branch_out_if(status, bail, &[BlockArg::Value(status)]);
        let p = self
            .builder
            .ins()
            .load(self.env.ptr_ty, trusted(), self.state, OFFSET_PTR);
        self.builder.def_var(self.ptr, p);
    }
}
