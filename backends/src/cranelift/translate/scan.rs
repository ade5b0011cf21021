//! Lowering `Scan { stride }`: unrolled steps with one bounds check per four cells, a checked
//! single-step loop near the tape's ends, and the exact fallback for a step off the tape.

use cranelift_codegen::ir::{condcodes::IntCC, types, InstBuilder};

use super::{malformed, trusted, FunctionTranslator};
use crate::backend::CompileError;
use crate::ir::Span;

impl FunctionTranslator<'_, '_> {
    /// `Scan { stride }`: step by `stride` while the cell is non-zero. While four more steps stay on
    /// the tape (one compare of the pointer with a constant), the next four cells are tested unrolled,
    /// stopping at the first zero; nearer an end (or when four steps never fit) it goes cell by cell,
    /// and a step that would leave the tape (one unsigned compare catches both ends) runs the scan's
    /// span exactly from the current pointer, which raises the error at the right command.
    pub(super) fn translate_scan(&mut self, span: Span, stride: i32) -> Result<(), CompileError> {
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
        // Out of line: the checked single steps (only near the tape's ends) and the step off it.
        for block in [slow_step, slow_head, off_tape] {
            self.builder.set_cold_block(block);
        }
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
        self.call_exact(span, p, exit, false);
        self.builder.switch_to_block(exit);
        // Every predecessor of `exit` is emitted now.
        self.builder.seal_block(exit);
        self.scan_ended();
        Ok(())
    }

    /// The scan as a plain checked loop, for strides where four steps never stay on the tape (or
    /// stride 0, which spins as the reference does).
    pub(super) fn scan_checked(&mut self, span: Span, stride: i32) {
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
        self.call_exact(span, p, exit, false);
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
