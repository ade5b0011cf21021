//! Lowering guarded IR to Cranelift IR for one function: one `translate_*` method per IR node.
//!
//! Roles of the values every function works with:
//! - `state`: the `*mut JitState` parameter; `state.ptr` is written before every callback and return;
//! - `tape`: the tape base address, loaded once at entry (the tape never moves during a run);
//! - `ptr`: the *address* of the cell under the pointer (`tape + index`) as an SSA variable, so that
//!   cells are addressed as `[ptr + offset]`; the index (`ptr - tape`, always within `[0, tape_len)`
//!   where code runs) is computed only for bounds checks and for `state.ptr` and the callbacks.
//!
//! Guarded blocks are lowered in [`block`], scans in [`scan`]; this module holds the function's frame:
//! loops, calls to outlined functions, callbacks and the shared exit blocks.
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

mod block;
mod scan;

use std::ops::Range;

use cranelift_codegen::ir::{
    condcodes::IntCC, types, Block, BlockArg, FuncRef, Function, InstBuilder, InstructionData,
    MemFlagsData, Opcode, Type, Value,
};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_frontend::{FunctionBuilder, Variable};

use crate::backend::CompileError;
use crate::ir::plan::PlannedIr;
use crate::ir::{Node, Op, Span};
use crate::jit::{
    EXACT_STOPPED, OFFSET_FUEL, OFFSET_PTR, OFFSET_TAPE, STATUS_OK, STATUS_OUT_OF_FUEL,
    STATUS_STOPPED,
};
use block::OpenBlock;

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
    /// `jit_flush(state) -> u32`.
    pub flush: FuncRef,
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

/// A guarded block's join left open for the `]` right after the block: the builder is at the end of
/// the block's fast path, which knows the cell under the pointer when `cell` is given; `after` is
/// reached only from the fallback.
struct SplitJoin {
    after: Block,
    cell: Option<Value>,
}

/// An open loop: its blocks and the index of its `LoopEnd`.
struct LoopFrame {
    body: Block,
    exit: Block,
    end: usize,
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
    /// The cell under the pointer where it is known: the builder's block then, and its value (see
    /// [`FunctionTranslator::known_current`]).
    current: Option<(Block, Value)>,
    /// A join left open for the next node, a `]` (see [`SplitJoin`]).
    split_join: Option<SplitJoin>,
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
        let start = builder.ins().iadd(tape, start);
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
            current: None,
            split_join: None,
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
            self.open_block(None, range.start, (range.end - range.start) as u32, reach);
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
                        self.leave_block(block, false);
                    }
                    i = rest.end;
                    continue;
                }
            }
            i = self.translate_node(i)?;
            self.emitted += 1;
        }
        if self.block.as_ref().is_some_and(|b| b.remaining > 0) {
            return Err(malformed("a guard covers more nodes than follow it"));
        }
        if !self.loops.is_empty() || self.split_join.is_some() {
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

    /// Lowers node `i` and returns the index of the next node to lower (past the block of a guard
    /// that never passes: its nodes are not lowered at all).
    fn translate_node(&mut self, i: usize) -> Result<usize, CompileError> {
        let node = &self.env.nodes[i];
        let lowered = match &node.op {
            Op::Guard { lo, hi, len } => {
                let decision = self.env.plan.decision(i);
                return self.translate_guard(i, node.span, *lo, *hi, *len, decision);
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
        };
        lowered.map(|()| i + 1)
    }

    /// The value of the cell under the pointer, when known at the current position: set where a block
    /// starts (a loop body, a loop exit, a scan exit, a function holding a block's tail) and valid only
    /// until the builder moves to another block, which every node that changes the pointer or the
    /// tape outside a guarded block does before the next node runs.
    fn known_current(&self) -> Option<Value> {
        match self.current {
            Some((block, value)) if self.builder.current_block() == Some(block) => Some(value),
            _ => None,
        }
    }

    /// Records `value` as the cell under the pointer at the current position.
    fn set_current(&mut self, value: Value) {
        self.current = self.builder.current_block().map(|block| (block, value));
    }

    /// The address of the current cell, outside blocks.
    fn cell_base(&mut self) -> Value {
        self.builder.use_var(self.ptr)
    }

    /// The pointer index of cell address `at`.
    pub(super) fn index_of(&mut self, at: Value) -> Value {
        self.builder.ins().isub(at, self.tape)
    }

    /// The cell address of pointer index `index`.
    fn address_of(&mut self, index: Value) -> Value {
        self.builder.ins().iadd(self.tape, index)
    }

    /// The current cell, outside blocks: its known value, else loaded.
    fn load_current(&mut self) -> Value {
        if let Some(value) = self.known_current() {
            return value;
        }
        let base = self.cell_base();
        self.builder.ins().load(types::I8, trusted(), base, 0)
    }

    /// Writes the pointer at cell address `at` to `state.ptr` (as an index) and returns the index.
    fn store_ptr(&mut self, at: Value) -> Value {
        let index = self.index_of(at);
        self.builder
            .ins()
            .store(trusted(), index, self.state, OFFSET_PTR);
        index
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
    /// `next` is cold when the current block is: out-of-line code stays out of line.
    fn branch_out_if(&mut self, failed: Value, target: Block, args: &[BlockArg]) {
        let next = self.builder.create_block();
        let here = self.builder.current_block();
        if here.is_some_and(|block| self.builder.func.layout.is_cold(block)) {
            self.builder.set_cold_block(next);
        }
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

    /// Runs source commands `span` exactly from the pointer at cell address `at` through `jit_exact`,
    /// then goes on to `then` with the pointer it returns; on a stop returns `STATUS_STOPPED` instead
    /// (the callback has written `state.ptr`).
    fn call_exact(&mut self, span: Span, at: Value, then: Block) {
        let p = self.store_ptr(at);
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
        let resumed = self.address_of(result);
        self.builder.def_var(self.ptr, resumed);
        let stop = Self::shared_block(&mut self.stopped, &mut self.builder);
        // Resuming goes through a cold block of its own: a direct branch to `then` (which has other
        // predecessors) would be a critical edge, and Cranelift places the block it splits such an
        // edge into (with the pointer's move) inline, in the middle of the hot path.
        let resume = self.builder.create_block();
        self.builder.set_cold_block(resume);
        self.builder.ins().brif(stopped, stop, &[], resume, &[]);
        self.builder.switch_to_block(resume);
        // `resume`'s only predecessor is the branch just emitted.
        self.builder.seal_block(resume);
        self.builder.ins().jump(then, &[]);
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
        // The body starts knowing its cell: both branches into it pass the value they tested.
        let entry_cell = self.builder.append_block_param(body, types::I8);
        let cell = self.load_current();
        self.loop_test(cell, body, exit);
        self.builder.switch_to_block(body);
        self.charge_fuel();
        self.set_current(entry_cell);
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
        if let Some(join) = self.split_join.take() {
            // The fast path of the block just lowered: its own value of the cell.
            let cell = match join.cell {
                Some(cell) => cell,
                None => self.load_current(),
            };
            self.loop_test(cell, frame.body, frame.exit);
            // The fallback's side: the cell is in memory. `after` is reached only from the fallback,
            // so it is cold, and so are the two blocks it leaves through: branching from it straight
            // to `body` or `exit` (blocks with other predecessors) would make critical edges, whose
            // split blocks Cranelift places inline, and with `after` they sat in the middle of the
            // fast path (a taken branch over them on every pass through the guard).
            self.builder.set_cold_block(join.after);
            self.builder.switch_to_block(join.after);
            // `after`'s only predecessor is the fallback's resume block.
            self.builder.seal_block(join.after);
            let cell = self.load_current();
            let to_body = self.builder.create_block();
            let to_exit = self.builder.create_block();
            self.builder.set_cold_block(to_body);
            self.builder.set_cold_block(to_exit);
            self.builder.ins().brif(cell, to_body, &[], to_exit, &[]);
            for (block, target, args) in [
                (to_body, frame.body, vec![BlockArg::Value(cell)]),
                (to_exit, frame.exit, vec![]),
            ] {
                self.builder.switch_to_block(block);
                // Reached only from `after`'s test.
                self.builder.seal_block(block);
                self.builder.ins().jump(target, &args);
            }
        } else {
            let cell = self.load_current();
            self.loop_test(cell, frame.body, frame.exit);
        }
        self.builder.seal_block(frame.body);
        self.builder.switch_to_block(frame.exit);
        self.builder.seal_block(frame.exit);
        // A loop is left only on a zero cell.
        let zero = self.builder.ins().iconst(types::I8, 0);
        self.set_current(zero);
        Ok(())
    }

    /// Ends the current block with a loop test of `cell`: to `body` (with the cell) when non-zero, else
    /// to `exit`; a plain jump when the cell is a constant.
    fn loop_test(&mut self, cell: Value, body: Block, exit: Block) {
        match self.constant(cell) {
            Some(0) => {
                self.builder.ins().jump(exit, &[]);
            }
            Some(_) => {
                self.builder.ins().jump(body, &[BlockArg::Value(cell)]);
            }
            None => {
                self.builder
                    .ins()
                    .brif(cell, body, &[BlockArg::Value(cell)], exit, &[]);
            }
        }
    }

    /// The value of `value` when it is an integer constant.
    pub(super) fn constant(&self, value: Value) -> Option<i64> {
        let dfg = &self.builder.func.dfg;
        let inst = dfg.value_def(value).inst()?;
        match dfg.insts[inst] {
            InstructionData::UnaryImm {
                opcode: Opcode::Iconst,
                imm,
            } => Some(imm.bits()),
            _ => None,
        }
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
        let at = self.address_of(p);
        self.builder.def_var(self.ptr, at);
    }
}
