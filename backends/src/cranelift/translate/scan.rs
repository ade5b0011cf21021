//! Lowering `Scan { stride }`: vector compares of 16 bytes at a time for strides up to
//! [`VECTOR_STRIDE`] cells, unrolled single-byte steps for longer strides (one bounds check per
//! several cells in both), a checked single-step loop near the tape's ends, and the exact fallback for
//! a step off the tape.

use cranelift_codegen::ir::{condcodes::IntCC, types, Block, InstBuilder, MemFlagsData, Value};

use super::{malformed, trusted, FunctionTranslator};
use crate::backend::CompileError;
use crate::ir::Span;

/// Strides up to this many cells (either way) are scanned with 16-byte vector compares: one window
/// holds at least two of their cells.
const VECTOR_STRIDE: i64 = 8;

/// Bytes compared by one vector compare.
const LANES: i64 = 16;

/// Steps of a longer stride tested per bounds check, unrolled.
const UNROLL: i64 = 4;

/// How one stretch of a vector scan reads the tape: `windows` 16-byte windows, each holding
/// `per_window` cells of the scan at the same byte positions (the bits in `mask`), the windows
/// `per_window` steps apart, nearest first. So the windows are folded into one with a lane-wise
/// unsigned minimum (a zero survives it) and tested with one compare, one mask and one branch; only a
/// stretch that holds a zero looks at the windows one by one.
///
/// Going right, window `w` starts `stride * (1 + w * per_window)` cells from the pointer and its cells
/// are its bytes `0, stride, …`; going left it ends that far before the pointer and its cells are its
/// bytes `15, 15 - |stride|, …`. The stretch's cells are thus the `windows * per_window` steps from
/// the pointer, in order.
#[derive(Clone, Copy, Debug)]
struct VectorPlan {
    stride: i64,
    step: i64,
    windows: i64,
    per_window: i64,
    mask: u32,
}

impl VectorPlan {
    /// The plan for `stride`, when it is one (`1 <= |stride| <= VECTOR_STRIDE`): two windows (32 cells)
    /// for stride ±1, four for the others (8 to 32 cells).
    fn new(stride: i64) -> Option<VectorPlan> {
        let step = stride.abs();
        if !(1..=VECTOR_STRIDE).contains(&step) {
            return None;
        }
        let per_window = (LANES - 1) / step + 1;
        let windows = if step == 1 { 2 } else { 4 };
        let mask = (0..per_window).fold(0u32, |mask, j| {
            let bit = if stride > 0 {
                j * step
            } else {
                LANES - 1 - j * step
            };
            mask | 1 << bit
        });
        Some(VectorPlan {
            stride,
            step,
            windows,
            per_window,
            mask,
        })
    }

    /// The same scan with a stretch of one window, when this plan has more.
    fn narrowed(&self) -> Option<VectorPlan> {
        (self.windows > 1).then_some(VectorPlan {
            windows: 1,
            ..*self
        })
    }

    /// The offset from the pointer of window `w`'s first byte.
    fn window_start(&self, w: i64) -> i64 {
        let nearest = self.step * (1 + w * self.per_window);
        if self.stride > 0 {
            nearest
        } else {
            -nearest - (LANES - 1)
        }
    }

    /// Cells tested per stretch.
    fn cells(&self) -> i64 {
        self.windows * self.per_window
    }

    /// The farthest byte a stretch reads, in cells from the pointer (either way).
    fn reach(&self) -> i64 {
        self.step * (1 + (self.windows - 1) * self.per_window) + LANES - 1
    }
}

impl FunctionTranslator<'_, '_> {
    /// `Scan { stride }`: step by `stride` while the cell is non-zero. While a stretch of steps stays on
    /// the tape (one compare of the pointer with a constant), its cells are tested at once (vector
    /// compares) or unrolled, stopping at the first zero; nearer an end (or when no stretch ever fits)
    /// it goes cell by cell, and a step that would leave the tape (one unsigned compare catches both
    /// ends) runs the scan's span exactly from the current pointer, which raises the error at the
    /// right command.
    pub(super) fn translate_scan(&mut self, span: Span, stride: i32) -> Result<(), CompileError> {
        if self.block.is_some() {
            return Err(malformed("a scan inside a guarded block"));
        }
        let stride = stride as i64;
        let tape_len = self.env.tape_len as i64;
        // The stretches tried in turn while they stay on the tape: for vector strides the full one,
        // then one of a single window (so that a scan near a tape end still tests 2 to 16 cells at
        // once: the full stretch reaches up to 115 cells away); else the unrolled steps.
        let tiers: Vec<(Option<VectorPlan>, i64)> = match VectorPlan::new(stride) {
            Some(plan) => {
                let narrow = plan.narrowed();
                [Some(plan), narrow]
                    .into_iter()
                    .flatten()
                    .map(|plan| {
                        let reach = plan.reach();
                        (Some(plan), reach)
                    })
                    .collect()
            }
            None => vec![(None, UNROLL * stride.abs())],
        };
        let tiers: Vec<_> = tiers
            .into_iter()
            .filter(|&(_, reach)| reach < tape_len)
            .collect();
        if stride == 0 || tiers.is_empty() {
            self.scan_checked(span, stride);
            return Ok(());
        }
        let fast_check = self.builder.create_block();
        let slow_step = self.builder.create_block();
        let exit = self.builder.create_block();
        let cell = self.load_current();
        self.builder.ins().brif(cell, fast_check, &[], exit, &[]);

        // The current cell is non-zero. A stretch stays on the tape when its farthest byte does;
        // the bytes between lie on the tape too.
        self.builder.switch_to_block(fast_check);
        for (k, (plan, reach)) in tiers.iter().enumerate() {
            let p = self.builder.use_var(self.ptr);
            // Compared as an index: a bound `tape + reach` per tier (as a guard's) was hoisted out of
            // the loops around the scan and, with the tape base, spilled in selfinterp's scan loops
            // (its JIT instructions 732 M -> 783 M, data reads 129 M -> 189 M).
            let index = self.index_of(p);
            let fits = if stride > 0 {
                self.builder
                    .ins()
                    .icmp_imm_s(IntCC::UnsignedLessThan, index, tape_len - reach)
            } else {
                self.builder
                    .ins()
                    .icmp_imm_s(IntCC::UnsignedGreaterThanOrEqual, index, *reach)
            };
            let fast = self.builder.create_block();
            let otherwise = if k + 1 < tiers.len() {
                self.builder.create_block()
            } else {
                slow_step
            };
            self.builder.ins().brif(fits, fast, &[], otherwise, &[]);
            // `fast` is reached only from this tier's check.
            self.builder.switch_to_block(fast);
            self.builder.seal_block(fast);
            match plan {
                Some(plan) => self.scan_stretch_vector(plan, p, fast_check, exit),
                None => self.scan_stretch_unrolled(stride, p, fast_check, exit),
            }
            if k + 1 < tiers.len() {
                // The next tier's check, reached only when this tier's stretch does not fit.
                self.builder.switch_to_block(otherwise);
                self.builder.seal_block(otherwise);
            }
        }
        // `fast_check` is reached from the entry and from the end of every stretch without a zero.
        self.builder.seal_block(fast_check);

        self.scan_slow(span, stride, slow_step, exit);
        self.builder.switch_to_block(exit);
        // Every predecessor of `exit` is emitted now.
        self.builder.seal_block(exit);
        self.scan_ended();
        Ok(())
    }

    /// One stretch of vector compares from pointer `p` (its stretch on the tape): to `exit` with the
    /// pointer on the first zero cell of the scan, else on to `next` with the pointer on the stretch's
    /// last cell (non-zero).
    fn scan_stretch_vector(&mut self, plan: &VectorPlan, p: Value, next: Block, exit: Block) {
        let base = p;
        // The windows need not be aligned.
        let unaligned = MemFlagsData::new().with_notrap();
        let mut folded: Option<Value> = None;
        for w in 0..plan.windows {
            let offset = plan.window_start(w) as i32;
            let bytes = self
                .builder
                .ins()
                .load(types::I8X16, unaligned, base, offset);
            folded = Some(match folded {
                Some(so_far) => self.builder.ins().umin(so_far, bytes),
                None => bytes,
            });
        }
        let folded = folded.expect("at least one window");
        // The zero vector to compare with, made here from the data (`x -sat x`, one instruction): a
        // constant would be hoisted out of every loop and, live across calls, spilled and reloaded
        // (and stored again) on every stretch. Cranelift has no rule folding a saturating
        // difference of a value with itself, so this stays in the loop.
        let zeros = self.builder.ins().usub_sat(folded, folded);
        let is_zero = self.builder.ins().icmp(IntCC::Equal, folded, zeros);
        let bits = self.builder.ins().vhigh_bits(types::I32, is_zero);
        let found = match plan.mask {
            0xffff => bits,
            mask => self.builder.ins().band_imm_u(bits, mask as i64),
        };
        let hit = self.builder.create_block();
        let more = self.builder.create_block();
        self.builder.ins().brif(found, hit, &[], more, &[]);

        // A zero in one of the windows (once per scan): the windows are tested again one by one,
        // nearest first, and the first with a zero cell has the nearest one: its lowest set bit going
        // right, its highest going left. Each window is loaded again from an address of its own, so
        // that the loads above stay single-use (folded into the minimum's operands).
        self.builder.switch_to_block(hit);
        self.builder.seal_block(hit);
        for w in 0..plan.windows {
            let start = plan.window_start(w);
            let bits = if w + 1 == plan.windows {
                // The zero is in the last window, since it is in none before.
                None
            } else {
                let window = self.builder.ins().iadd_imm_s(base, start);
                let bytes = self.builder.ins().load(types::I8X16, unaligned, window, 0);
                let is_zero = self.builder.ins().icmp(IntCC::Equal, bytes, zeros);
                let bits = self.builder.ins().vhigh_bits(types::I32, is_zero);
                Some(match plan.mask {
                    0xffff => bits,
                    mask => self.builder.ins().band_imm_u(bits, mask as i64),
                })
            };
            let (bits, next_window) = match bits {
                Some(bits) => {
                    let here = self.builder.create_block();
                    let next_window = self.builder.create_block();
                    self.builder.ins().brif(bits, here, &[], next_window, &[]);
                    self.builder.switch_to_block(here);
                    self.builder.seal_block(here);
                    (bits, Some(next_window))
                }
                None => {
                    let bytes =
                        self.builder
                            .ins()
                            .load(types::I8X16, unaligned, base, start as i32);
                    let is_zero = self.builder.ins().icmp(IntCC::Equal, bytes, zeros);
                    let bits = self.builder.ins().vhigh_bits(types::I32, is_zero);
                    let bits = match plan.mask {
                        0xffff => bits,
                        mask => self.builder.ins().band_imm_u(bits, mask as i64),
                    };
                    (bits, None)
                }
            };
            let byte = if plan.stride > 0 {
                self.builder.ins().ctz(bits)
            } else {
                let leading = self.builder.ins().clz(bits);
                let highest = self.builder.ins().iconst(types::I32, 31);
                self.builder.ins().isub(highest, leading)
            };
            let byte = self.builder.ins().uextend(self.env.ptr_ty, byte);
            let at = self.builder.ins().iadd(p, byte);
            let at = self.builder.ins().iadd_imm_s(at, start);
            self.builder.def_var(self.ptr, at);
            self.builder.ins().jump(exit, &[]);
            if let Some(next_window) = next_window {
                self.builder.switch_to_block(next_window);
                self.builder.seal_block(next_window);
            }
        }

        self.builder.switch_to_block(more);
        self.builder.seal_block(more);
        let last = self.builder.ins().iadd_imm_s(p, plan.cells() * plan.stride);
        self.builder.def_var(self.ptr, last);
        self.builder.ins().jump(next, &[]);
    }

    /// One stretch of [`UNROLL`] single-byte steps from pointer `p`, as
    /// [`FunctionTranslator::scan_stretch_vector`].
    fn scan_stretch_unrolled(&mut self, stride: i64, p: Value, next: Block, exit: Block) {
        let base = p;
        for k in 1..UNROLL {
            let offset = k * stride;
            let cell = self
                .builder
                .ins()
                .load(types::I8, trusted(), base, offset as i32);
            let found = self.builder.create_block();
            let more = self.builder.create_block();
            // Out of line, so that the unrolled steps fall through from one to the next (each scan
            // takes one of these exits once).
            self.builder.set_cold_block(found);
            self.builder.ins().brif(cell, more, &[], found, &[]);
            self.builder.switch_to_block(found);
            self.builder.seal_block(found);
            let at = self.builder.ins().iadd_imm_s(p, offset);
            self.builder.def_var(self.ptr, at);
            self.builder.ins().jump(exit, &[]);
            self.builder.switch_to_block(more);
            self.builder.seal_block(more);
        }
        let offset = UNROLL * stride;
        let cell = self
            .builder
            .ins()
            .load(types::I8, trusted(), base, offset as i32);
        let at = self.builder.ins().iadd_imm_s(p, offset);
        self.builder.def_var(self.ptr, at);
        self.builder.ins().brif(cell, next, &[], exit, &[]);
    }

    /// The cell-by-cell part of a scan, out of line, from `slow_step` (entered on a non-zero cell):
    /// step if the step stays on the tape, else run the scan's span exactly; on to `exit` at a zero.
    fn scan_slow(&mut self, span: Span, stride: i64, slow_step: Block, exit: Block) {
        let slow_head = self.builder.create_block();
        let slow_found = self.builder.create_block();
        let off_tape = self.builder.create_block();
        // Out of line: the checked single steps (only near the tape's ends) and the step off it. The
        // way out to `exit` is a cold block of its own: a branch straight to `exit` would be a critical
        // edge, whose split block Cranelift places (hot, like `exit`) in the middle of the fast path.
        for block in [slow_step, slow_head, slow_found, off_tape] {
            self.builder.set_cold_block(block);
        }
        self.builder.switch_to_block(slow_step);
        let p = self.builder.use_var(self.ptr);
        let next = self.builder.ins().iadd_imm_s(p, stride);
        let next_index = self.index_of(next);
        let on_tape = self.builder.ins().icmp_imm_s(
            IntCC::UnsignedLessThan,
            next_index,
            self.env.tape_len as i64,
        );
        self.builder.def_var(self.ptr, next);
        self.builder
            .ins()
            .brif(on_tape, slow_head, &[], off_tape, &[]);
        self.builder.switch_to_block(slow_head);
        // `slow_head` is reached only from `slow_step`.
        self.builder.seal_block(slow_head);
        let cell = self.load_current();
        self.builder
            .ins()
            .brif(cell, slow_step, &[], slow_found, &[]);
        // `slow_step` is reached from `fast_check` and from `slow_head`.
        self.builder.seal_block(slow_step);
        self.builder.switch_to_block(slow_found);
        self.builder.seal_block(slow_found);
        self.builder.ins().jump(exit, &[]);

        self.builder.switch_to_block(off_tape);
        self.builder.seal_block(off_tape);
        // `p` is the pointer before the failing step (defined in `slow_step`, which dominates here).
        self.call_exact(span, p, exit);
    }

    /// The scan as a plain checked loop, for strides where no fast stretch ever stays on the tape (or
    /// stride 0, which spins as the reference does).
    fn scan_checked(&mut self, span: Span, stride: i64) {
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
        let next = self.builder.ins().iadd_imm_s(p, stride);
        let next_index = self.index_of(next);
        let on_tape = self.builder.ins().icmp_imm_s(
            IntCC::UnsignedLessThan,
            next_index,
            self.env.tape_len as i64,
        );
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
        self.scan_ended();
    }

    /// A scan stops only on a zero cell (an exact run of its span too, when it returns).
    fn scan_ended(&mut self) {
        let zero = self.builder.ins().iconst(types::I8, 0);
        self.set_current(zero);
    }
}
