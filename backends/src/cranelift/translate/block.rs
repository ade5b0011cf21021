//! Lowering guarded blocks: the guard's one bounds check (and its exact fallback), then the block's
//! straight-line nodes (`Add`, `Set`, `Move`, `MulLoop`, `Output`, `Input`).
//!
//! Inside a guarded block, cells live in SSA values: each is loaded on first use (at the block's base
//! address plus a constant offset) and stored once when the block ends, and moves only shift a
//! compile-time position; the pointer variable is updated when the block ends. Only `,` sends its cell
//! through memory, since `jit_input` reads and writes it there.

use std::collections::{BTreeMap, HashMap};

use cranelift_codegen::ir::{condcodes::IntCC, types, Block, InstBuilder, Value};

use super::{malformed, trusted, FunctionTranslator, Reach, SplitJoin};
use crate::backend::CompileError;
use crate::ir::plan::Decision;
use crate::ir::{MulTarget, Node, Op, Span};
use crate::jit::{OFFSET_OUT_BUF, OFFSET_OUT_LEN, OUT_BUF_CAP};

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
pub(super) struct OpenBlock {
    /// Where the fast path and the fallback meet; `None` in a function holding only a block's tail.
    after: Option<Block>,
    /// Nodes of the block still to lower.
    pub(super) remaining: u32,
    pub(super) reach: Reach,
    /// The position (relative to the block's start) where `origin_base` was taken.
    origin_at: i64,
    /// The address of the cell at `origin_at` (the pointer variable there).
    origin_base: Value,
    /// Cells read or written so far, by position relative to the block's start.
    cells: BTreeMap<i64, Cached>,
    /// The index of the node being lowered.
    node: usize,
    /// For each position the block writes, the index of the node that writes it last: that write
    /// goes to memory at once, so a block's cells do not all stay live (and spill) until its end.
    last_writes: HashMap<i64, usize>,
}

/// For each position (relative to a block's start) that the block nodes `nodes`, numbered from
/// `first` and starting at position `at`, write, the number of the last node writing it.
fn last_writes(nodes: &[Node], first: usize, mut at: i64) -> HashMap<i64, usize> {
    let mut last = HashMap::new();
    for (i, node) in nodes.iter().enumerate() {
        let mut write = |offset: i64| {
            last.insert(at + offset, first + i);
        };
        match &node.op {
            Op::Add { offset, .. } | Op::Set { offset, .. } | Op::Input { offset } => {
                write(*offset as i64)
            }
            Op::MulLoop { offset, targets } => {
                write(*offset as i64);
                for t in targets {
                    write(*offset as i64 + t.offset as i64);
                }
            }
            Op::Move { by } => at += *by as i64,
            _ => {}
        }
    }
    last
}

impl FunctionTranslator<'_, '_> {
    /// Runs `lower` for the next node of a guarded block and counts it off the block.
    pub(super) fn in_block(
        &mut self,
        lower: impl FnOnce(&mut Self) -> Result<(), CompileError>,
    ) -> Result<(), CompileError> {
        if self.block.as_ref().is_none_or(|b| b.remaining == 0) {
            return Err(malformed("a block node without a guard before it"));
        }
        lower(self)?;
        let block = self.block.as_mut().expect("checked above");
        block.remaining -= 1;
        block.node += 1;
        if block.remaining == 0 {
            self.close_block();
        }
        Ok(())
    }

    /// Opens a guarded block at the current pointer, `reach.at` cells from the block's start, whose
    /// `remaining` nodes start at node `first`. When the value of the cell under the pointer is known
    /// here, the block starts with it cached.
    pub(super) fn open_block(
        &mut self,
        after: Option<Block>,
        first: usize,
        remaining: u32,
        reach: Reach,
    ) {
        // Only the nodes this function can still lower before the rest of the block moves out (a
        // write is stored early when it is the last one *here*, which is always correct): scanning the
        // whole rest of a long block in every function it is split into was quadratic.
        let here = self.env.budget.saturating_sub(self.emitted).max(1);
        let end = (first + (remaining as usize).min(here)).min(self.env.nodes.len());
        let last_writes = last_writes(&self.env.nodes[first.min(end)..end], first, reach.at);
        let origin_base = self.builder.use_var(self.ptr);
        let mut cells = BTreeMap::new();
        // From here on the block's cache is the one record of cell values (the block moves the
        // pointer without leaving the builder's block).
        let known = self.known_current();
        self.current = None;
        if let Some(value) = known {
            let dirty = false;
            cells.insert(reach.at, Cached { value, dirty });
        }
        self.block = Some(OpenBlock {
            after,
            remaining,
            reach,
            origin_at: reach.at,
            origin_base,
            cells,
            node: first,
            last_writes,
        });
        if remaining == 0 {
            self.close_block();
        }
    }

    /// Stores the open block's changed cells and brings the pointer variable up to date.
    pub(super) fn sync_block(&mut self) {
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

    /// The cell address where the open block's pointer stands now.
    pub(super) fn block_ptr(&mut self) -> Value {
        let block = self.block.as_ref().expect("inside a block");
        match block.reach.at - block.origin_at {
            0 => block.origin_base,
            by => self.builder.ins().iadd_imm_s(block.origin_base, by),
        }
    }

    /// Ends the open guarded block: cells to memory, pointer to the variable, then on to `after`.
    pub(super) fn close_block(&mut self) {
        self.sync_block();
        if let Some(block) = self.block.take() {
            self.leave_block(block, true);
        }
    }

    /// The fast path falls through to `after`, whose two predecessors (fast path and fallback) are now
    /// both known, so it is sealed. The cell under the pointer is not passed to `after` (as a block
    /// parameter for the test that may follow): measured, the extra parameter on the join made the
    /// register allocator copy the pointer around every access of hot loops. Without a join (a
    /// function holding a block's tail) the cached cell, when `cache_valid`, is the known current one.
    ///
    /// When the node after the block is the `]` of a loop open in this function, the join is left
    /// open instead ([`FunctionTranslator::split_join`]): that `]` tests the cell on each side, the
    /// block's value of it on the fast path (no reload, and no test at all when it is a constant: a
    /// loop ending in `[-]` becomes an `if`), and the loaded cell after the fallback.
    pub(super) fn leave_block(&mut self, block: OpenBlock, cache_valid: bool) {
        let next = block.node;
        let test_follows = cache_valid
            && self
                .env
                .nodes
                .get(next)
                .is_some_and(|n| n.op == Op::LoopEnd)
            && self.loops.last().is_some_and(|frame| frame.end == next);
        // Only a cell known to be zero: the fast path then leaves the loop with a plain jump. A
        // variable cell would give the loop body a third predecessor, which measured worse (regalloc2
        // copied the pointer before every access of sieve's hot loop: 26.4 M → 27.3 M instructions).
        let zero = block
            .cells
            .get(&block.reach.at)
            .map(|c| c.value)
            .filter(|&v| self.constant(v) == Some(0));
        match block.after {
            Some(after) if test_follows && zero.is_some() => {
                let cell = zero;
                self.split_join = Some(SplitJoin { after, cell });
            }
            Some(after) => {
                self.builder.ins().jump(after, &[]);
                self.builder.switch_to_block(after);
                self.builder.seal_block(after);
            }
            None => {
                let cached = block.cells.get(&block.reach.at).filter(|_| cache_valid);
                if let Some(cached) = cached {
                    self.set_current(cached.value);
                }
            }
        }
    }

    /// The position (relative to the block's start) of the cell at `offset` from the pointer, checked
    /// against the open block's guard, and its offset from the block's origin address.
    pub(super) fn locate(&self, offset: i32) -> Result<(i64, i32), CompileError> {
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
    pub(super) fn read_cell(&mut self, offset: i32) -> Result<Value, CompileError> {
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
    /// At the cell's last write in the block it goes to memory at once.
    pub(super) fn write_cell(&mut self, offset: i32, value: Value) -> Result<(), CompileError> {
        let (at, from_origin) = self.locate(offset)?;
        let block = self.block.as_mut().expect("inside a block");
        let last = block.last_writes.get(&at) == Some(&block.node);
        if last {
            self.builder
                .ins()
                .store(trusted(), value, block.origin_base, from_origin);
        }
        let dirty = !last;
        block.cells.insert(at, Cached { value, dirty });
        Ok(())
    }

    /// `Guard { lo, hi, len }`: one compare ([`FunctionTranslator::guard_fits`]) that cells `lo ..= hi`
    /// from the pointer lie on the tape; on failure the block's span runs exactly and its nodes are
    /// skipped. Returns the index of the next node to lower: the block's first node,
    /// or, when the plan decided the guard never passes, the node after the block (its nodes would be
    /// dead code, and lowering them cost as much as any other: a 100 MB program of junk that steps
    /// left of cell 0 at once was one such block of a million nodes).
    pub(super) fn translate_guard(
        &mut self,
        i: usize,
        span: Span,
        lo: i32,
        hi: i32,
        len: u32,
        decision: Decision,
    ) -> Result<usize, CompileError> {
        let first = i + 1;
        if self.block.is_some() {
            return Err(malformed("a guard inside a guarded block"));
        }
        let reach = Reach {
            lo: lo as i64,
            hi: hi as i64,
            at: 0,
        };
        let (check_lo, check_hi) = match decision {
            Decision::Always => {
                // The plan proved the block on the tape: no check, no fallback, no join.
                self.open_block(None, first, len, reach);
                return Ok(first);
            }
            Decision::Check { lo, hi } => (lo, hi),
            Decision::Never => {
                let after_block = first
                    .checked_add(len as usize)
                    .filter(|&end| end <= self.env.nodes.len())
                    .ok_or_else(|| malformed("a guard covers more nodes than follow it"))?;
                if let Some(bad) = self.env.nodes[first..after_block].iter().find(|n| {
                    matches!(
                        n.op,
                        Op::Guard { .. } | Op::LoopStart | Op::LoopEnd | Op::Scan { .. }
                    )
                }) {
                    return Err(malformed(format!("{:?} inside a guarded block", bad.op)));
                }
                let p = self.builder.use_var(self.ptr);
                let after = self.builder.create_block();
                self.call_exact(span, p, after);
                self.builder.switch_to_block(after);
                // `after`'s only predecessor is the resume block of the exact call.
                self.builder.seal_block(after);
                return Ok(after_block);
            }
        };
        let known = self.known_current();
        let p = self.builder.use_var(self.ptr);
        let fits = self.guard_fits(p, check_lo as i64, check_hi as i64);
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
        if let Some(cell) = known {
            // The guard's block dominates `fast`.
            self.set_current(cell);
        }
        self.open_block(Some(after), first, len, reach);
        Ok(first)
    }

    /// Whether cells `lo ..= hi` from the pointer at cell address `p` all lie on the tape: one unsigned
    /// compare `(index + lo) < tape_len - (hi - lo)`, which is `index + lo >= 0 && index + hi <
    /// tape_len`. The pointer itself is always on the tape where code runs, so when the range lies on
    /// one side of it only that side's end is compared, and with the address itself: `p < tape +
    /// (tape_len - hi)` for `0 <= lo`, `p >= tape + (-lo)` for `hi <= 0` (the bound lies within the
    /// tape, so it does not wrap; Cranelift rematerializes it as one `lea` before the compare). That
    /// saves computing the index (`p - tape`) at the guard.
    pub(super) fn guard_fits(&mut self, p: Value, lo: i64, hi: i64) -> Value {
        let tape_len = self.env.tape_len as i64;
        if 0 <= lo && hi < tape_len {
            let bound = self.builder.ins().iadd_imm_s(self.tape, tape_len - hi);
            return self.builder.ins().icmp(IntCC::UnsignedLessThan, p, bound);
        }
        if hi <= 0 && -lo < tape_len {
            let bound = self.builder.ins().iadd_imm_s(self.tape, -lo);
            return self
                .builder
                .ins()
                .icmp(IntCC::UnsignedGreaterThanOrEqual, p, bound);
        }
        let index = self.index_of(p);
        let limit = tape_len - (hi - lo);
        let low = match lo {
            0 => index,
            lo => self.builder.ins().iadd_imm_s(index, lo),
        };
        self.builder
            .ins()
            .icmp_imm_s(IntCC::UnsignedLessThan, low, limit)
    }

    /// `Add { offset, delta }`: the cell gains `delta`, wrapping.
    pub(super) fn translate_add(&mut self, offset: i32, delta: u8) -> Result<(), CompileError> {
        let cell = self.read_cell(offset)?;
        let delta = self.builder.ins().iconst(types::I8, delta as i64);
        let sum = self.builder.ins().iadd(cell, delta);
        self.write_cell(offset, sum)
    }

    /// `Set { offset, value }`: the cell becomes `value`.
    pub(super) fn translate_set(&mut self, offset: i32, value: u8) -> Result<(), CompileError> {
        let value = self.builder.ins().iconst(types::I8, value as i64);
        self.write_cell(offset, value)
    }

    /// `Move { by }`: the pointer moves (within the guard, so no check; the variable is updated when
    /// the block ends).
    pub(super) fn translate_move(&mut self, by: i32) -> Result<(), CompileError> {
        self.locate(by)?;
        self.block.as_mut().expect("inside a block").reach.at += by as i64;
        Ok(())
    }

    /// `MulLoop { offset, targets }`: each target gains `cell * factor` and the cell becomes 0. Lowered
    /// without a branch: when the cell is 0 every target gains 0 and the cell stays 0, which is the
    /// same result, and the guard covers every target either way.
    pub(super) fn translate_mul_loop(
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

    /// `Output { offset }`: the cell is appended to `state.out_buf` inline; when that fills up, a cold
    /// path calls `jit_flush` (which touches no cell, so the block's cells stay where they are).
    pub(super) fn translate_output(&mut self, offset: i32) -> Result<(), CompileError> {
        let cell = self.read_cell(offset)?;
        let len = self
            .builder
            .ins()
            .load(self.env.ptr_ty, trusted(), self.state, OFFSET_OUT_LEN);
        let slot = self.builder.ins().iadd(self.state, len);
        self.builder
            .ins()
            .store(trusted(), cell, slot, OFFSET_OUT_BUF);
        let len = self.builder.ins().iadd_imm_s(len, 1);
        self.builder
            .ins()
            .store(trusted(), len, self.state, OFFSET_OUT_LEN);
        let full = self.builder.ins().icmp_imm_s(
            IntCC::UnsignedGreaterThanOrEqual,
            len,
            OUT_BUF_CAP as i64,
        );
        let flush = self.builder.create_block();
        let next = self.builder.create_block();
        self.builder.set_cold_block(flush);
        self.builder.ins().brif(full, flush, &[], next, &[]);
        // `flush` is reached only from the test above.
        self.builder.switch_to_block(flush);
        self.builder.seal_block(flush);
        let p = self.block_ptr();
        self.store_ptr(p);
        let call = self.builder.ins().call(self.callbacks.flush, &[self.state]);
        let rc = self.builder.inst_results(call)[0];
        self.check_callback(rc);
        // Back through a block of its own (cold, like `flush`): see `call_exact`.
        self.builder.ins().jump(next, &[]);
        self.builder.switch_to_block(next);
        // `next` is reached from the test and from the flush.
        self.builder.seal_block(next);
        Ok(())
    }

    /// `Input { offset }`: `jit_input` reads the cell (for the EOF policy) and stores into it, so the
    /// cell goes to memory first and is forgotten after.
    pub(super) fn translate_input(&mut self, offset: i32) -> Result<(), CompileError> {
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
}
