//! Backend `dynasm-simple`: the classic one-to-one JIT. Each run-length-folded command becomes a short
//! x86-64 sequence assembled with dynasm-rs; loops become one dynamic-label pair each.
//!
//! The generated function follows the calling convention of [`crate::jit`]. Register roles (named once,
//! in [`asm!`]): `a_state` holds the `JitState` pointer, `a_tape` the tape base, `a_ptr` the pointer
//! *index* and `a_len` the tape length, all in callee-saved registers. Cells are addressed as
//! `[a_tape + a_ptr + offset]`; each straight-line block is preceded by its guard's bounds check, whose
//! failure runs the block exactly through `jit_exact` (from a cold stub after the main code).
//!
//! The walk from planned IR to emitter calls is [`crate::jit::one_to_one`], shared with `handjit`.
//! Code is assembled on any host; running it needs x86-64 ([`crate::jit::require_x86_64`]).

#[cfg(all(test, target_arch = "x86_64"))]
mod tests;

use crate::backend::{Availability, Backend, CompileError, Executable};
use crate::config::Config;
use crate::syntax::Program;

/// The `dynasm-simple` backend.
pub struct DynasmSimple;

impl Backend for DynasmSimple {
    fn name(&self) -> &'static str {
        "dynasm-simple"
    }

    fn summary(&self) -> &'static str {
        "one-to-one x86-64 JIT assembled with dynasm-rs (run-length folding only)"
    }

    fn availability(&self) -> Availability {
        crate::jit::x86_64_availability()
    }

    fn compile(
        &self,
        program: &Program,
        config: &Config,
    ) -> Result<Box<dyn Executable>, CompileError> {
        crate::jit::require_x86_64()?;
        x64::compile(program, config)
    }
}

mod x64 {
    use dynasmrt::x64::Assembler;
    use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi};

    use crate::backend::{CompileError, Executable};
    use crate::config::Config;
    use crate::ir::plan::PlannedIr;
    use crate::ir::{Node, Span};
    use crate::jit::one_to_one::{one_to_one_ir, translate, Emitter};
    use crate::jit::{
        entry_at, jit_exact, jit_input, jit_output, LoadedCode, OFFSET_FUEL, OFFSET_PTR,
        OFFSET_TAPE, OFFSET_TAPE_LEN, STATUS_OK, STATUS_OUT_OF_FUEL, STATUS_STOPPED,
    };
    use crate::syntax::Program;

    /// dynasm with the register roles named once.
    macro_rules! asm {
        ($ops:expr; $($t:tt)*) => {
            dynasm!($ops
                ; .arch x64
                ; .alias a_state, rbx
                ; .alias a_tape, r12
                ; .alias a_ptr, r13
                ; .alias a_len, r14
                ; $($t)*
            )
        };
    }

    /// Assembles one program through the shared walk.
    struct DynasmEmitter {
        ops: Assembler,
        stopped: DynamicLabel,
        out_of_fuel: DynamicLabel,
        ret: DynamicLabel,
        /// Shared tails of the `jit_output`, `jit_input` and `jit_exact` calls (see `thunk`).
        output_thunk: DynamicLabel,
        input_thunk: DynamicLabel,
        exact_thunk: DynamicLabel,
    }

    impl DynasmEmitter {
        fn new(ops: Assembler) -> DynasmEmitter {
            let mut ops = ops;
            let mut label = || ops.new_dynamic_label();
            let (stopped, out_of_fuel, ret) = (label(), label(), label());
            let (output_thunk, input_thunk, exact_thunk) = (label(), label(), label());
            DynasmEmitter {
                ops,
                stopped,
                out_of_fuel,
                ret,
                output_thunk,
                input_thunk,
                exact_thunk,
            }
        }

        /// Writes the pointer index back to the state (before a callback or a return).
        fn store_ptr(&mut self) {
            asm!(self.ops; mov [a_state + OFFSET_PTR], a_ptr);
        }

        /// A shared call tail at `label`, reached by `call`: writes the pointer back, passes the
        /// state as the first argument (the others are already in place) and tail-jumps to `target`,
        /// which returns straight to the call site (the stack is aligned as at a direct call).
        fn thunk(&mut self, label: DynamicLabel, target: usize, ptr_in_rcx: bool) {
            asm!(self.ops
                ; =>label
                ; mov [a_state + OFFSET_PTR], a_ptr
                ; mov rdi, a_state
            );
            if ptr_in_rcx {
                asm!(self.ops; mov rcx, a_ptr);
            }
            asm!(self.ops
                ; mov rax, QWORD target as i64
                ; jmp rax
            );
        }
    }

    impl Emitter for DynasmEmitter {
        type Label = DynamicLabel;

        fn new_label(&mut self) -> DynamicLabel {
            self.ops.new_dynamic_label()
        }

        fn bind(&mut self, label: DynamicLabel) {
            asm!(self.ops; =>label);
        }

        fn prologue(&mut self) {
            asm!(self.ops
                ; push rbp
                ; mov rbp, rsp
                ; push a_state
                ; push a_tape
                ; push a_ptr
                ; push a_len
                ; mov a_state, rdi
                ; mov a_tape, [a_state + OFFSET_TAPE]
                ; mov a_len, [a_state + OFFSET_TAPE_LEN]
                ; mov a_ptr, [a_state + OFFSET_PTR]
            );
        }

        fn guard(&mut self, lo: i32, hi: i32, fail: DynamicLabel) {
            if lo < 0 {
                asm!(self.ops
                    ; cmp a_ptr, -lo
                    ; jl =>fail
                );
            }
            if hi > 0 {
                asm!(self.ops
                    ; lea rax, [a_ptr + hi]
                    ; cmp rax, a_len
                    ; jae =>fail
                );
            }
        }

        fn add(&mut self, offset: i32, delta: u8) {
            asm!(self.ops; add BYTE [a_tape + a_ptr + offset], delta as i8);
        }

        fn move_by(&mut self, by: i32) {
            asm!(self.ops; add a_ptr, by);
        }

        fn set(&mut self, offset: i32, value: u8) {
            asm!(self.ops; mov BYTE [a_tape + a_ptr + offset], value as i8);
        }

        fn mul_loop(&mut self, offset: i32, targets: &[(i32, u8)]) {
            asm!(self.ops; movzx eax, BYTE [a_tape + a_ptr + offset]);
            for &(at, factor) in targets {
                asm!(self.ops
                    ; imul ecx, eax, factor as i32
                    ; add BYTE [a_tape + a_ptr + at], cl
                );
            }
            asm!(self.ops; mov BYTE [a_tape + a_ptr + offset], 0);
        }

        fn output(&mut self, offset: i32) {
            let (thunk, stopped) = (self.output_thunk, self.stopped);
            asm!(self.ops
                ; movzx esi, BYTE [a_tape + a_ptr + offset]
                ; call =>thunk
                ; test eax, eax
                ; jnz =>stopped
            );
        }

        fn input(&mut self, offset: i32) {
            let (thunk, stopped) = (self.input_thunk, self.stopped);
            asm!(self.ops
                ; lea rsi, [a_tape + a_ptr + offset]
                ; call =>thunk
                ; test eax, eax
                ; jnz =>stopped
            );
        }

        fn scan(&mut self, stride: i32, fail: DynamicLabel) {
            let (top, done) = (self.new_label(), self.new_label());
            asm!(self.ops
                ; =>top
                ; cmp BYTE [a_tape + a_ptr], 0
                ; je =>done
                ; lea rax, [a_ptr + stride]
            );
            if stride < 0 {
                asm!(self.ops
                    ; test rax, rax
                    ; js =>fail
                );
            } else {
                asm!(self.ops
                    ; cmp rax, a_len
                    ; jae =>fail
                );
            }
            asm!(self.ops
                ; mov a_ptr, rax
                ; jmp =>top
                ; =>done
            );
        }

        fn jump_if_zero(&mut self, target: DynamicLabel) {
            asm!(self.ops
                ; cmp BYTE [a_tape + a_ptr], 0
                ; je =>target
            );
        }

        fn jump_if_nonzero(&mut self, target: DynamicLabel) {
            asm!(self.ops
                ; cmp BYTE [a_tape + a_ptr], 0
                ; jne =>target
            );
        }

        fn charge_fuel(&mut self) {
            let out_of_fuel = self.out_of_fuel;
            asm!(self.ops
                ; sub QWORD [a_state + OFFSET_FUEL], 1
                ; jb =>out_of_fuel
            );
        }

        fn exit_ok(&mut self) {
            self.store_ptr();
            let ret = self.ret;
            asm!(self.ops
                ; mov eax, STATUS_OK as i32
                ; jmp =>ret
            );
        }

        fn exact(&mut self, span: Span) {
            let (thunk, stopped) = (self.exact_thunk, self.stopped);
            asm!(self.ops
                ; mov esi, span.start as i32
                ; mov edx, span.end as i32
                ; call =>thunk
                ; cmp rax, -1
                ; je =>stopped
                ; mov a_ptr, rax
            );
        }

        fn jump(&mut self, target: DynamicLabel) {
            asm!(self.ops; jmp =>target);
        }

        fn epilogue(&mut self) {
            self.thunk(self.output_thunk, jit_output as *const () as usize, false);
            self.thunk(self.input_thunk, jit_input as *const () as usize, false);
            self.thunk(self.exact_thunk, jit_exact as *const () as usize, true);
            let (stopped, out_of_fuel, ret) = (self.stopped, self.out_of_fuel, self.ret);
            asm!(self.ops
                // The pointer is already in the state (written before the callback that stopped).
                ; =>stopped
                ; mov eax, STATUS_STOPPED as i32
                ; jmp =>ret
                // The fuel was 0 and the `sub` wrapped it: put the 0 back.
                ; =>out_of_fuel
                ; mov QWORD [a_state + OFFSET_FUEL], 0
                ; mov [a_state + OFFSET_PTR], a_ptr
                ; mov eax, STATUS_OUT_OF_FUEL as i32
                ; =>ret
                ; pop a_len
                ; pop a_ptr
                ; pop a_tape
                ; pop a_state
                ; pop rbp
                ; ret
            );
        }
    }

    fn bug(e: impl std::fmt::Display) -> CompileError {
        CompileError::Bug(format!("dynasm: {e}"))
    }

    /// Compiles `program` for runs under `config`.
    pub(super) fn compile(
        program: &Program,
        config: &Config,
    ) -> Result<Box<dyn Executable>, CompileError> {
        compile_ir(program, one_to_one_ir(program), config)
    }

    /// Compiles guarded IR `nodes` of `program` (any ops) for runs under `config`.
    pub(super) fn compile_ir(
        program: &Program,
        nodes: Vec<Node>,
        config: &Config,
    ) -> Result<Box<dyn Executable>, CompileError> {
        let planned = PlannedIr::new(program, nodes, config.tape_len())?;
        let ops = Assembler::new_with_capacity(planned.nodes().len() * 12 + 256).map_err(bug)?;
        let entry = ops.offset();
        let mut emitter = DynasmEmitter::new(ops);
        translate(&planned, config.metered(), &mut emitter)?;
        let mut ops = emitter.ops;
        ops.commit().map_err(bug)?;
        let code = ops
            .finalize()
            .map_err(|_| bug("the code buffer is still in use"))?;
        // SAFETY: the buffer starts, at `entry`, a function assembled above that follows the `jit`
        // calling convention; it is read-execute and lives in the executable, as long as the entry
        // can be called. The code only touches cells its plan decisions cover (checked guards, blocks
        // proven in bounds for this tape length) and scans check every step.
        let loaded = unsafe {
            let entry = entry_at(code.ptr(entry));
            LoadedCode::new(code, entry, program, config)
        };
        Ok(Box::new(loaded))
    }
}
