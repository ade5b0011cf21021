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
//! Code is assembled (by dynasm, straight into a [`crate::jit::memory::CodeBuffer`]) on any Unix host;
//! running it needs x86-64 ([`crate::jit::require_x86_64`]).

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
        crate::jit::x86_64_unix_availability()
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
    use dynasmrt::{dynasm, AssemblyOffset, DynasmApi};

    use crate::backend::{CompileError, Executable};
    use crate::config::Config;
    use crate::ir::plan::PlannedIr;
    use crate::ir::{Node, Span};
    use crate::jit::labels::{Label, Labels};
    use crate::jit::memory::CodeBuffer;
    use crate::jit::one_to_one::{one_to_one_ir, translate, Emitter, CODE_RESERVATION};
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

    /// dynasm assembles straight into the buffer that becomes executable (no second copy).
    impl DynasmApi for CodeBuffer {
        fn offset(&self) -> AssemblyOffset {
            AssemblyOffset(self.len())
        }

        fn push(&mut self, byte: u8) {
            CodeBuffer::push(self, byte);
        }

        fn align(&mut self, alignment: usize, with: u8) {
            while !self.len().is_multiple_of(alignment) && !self.overflowed() {
                CodeBuffer::push(self, with);
            }
        }
    }

    impl Extend<u8> for CodeBuffer {
        fn extend<T: IntoIterator<Item = u8>>(&mut self, bytes: T) {
            for byte in bytes {
                CodeBuffer::push(self, byte);
            }
        }
    }

    impl<'a> Extend<&'a u8> for CodeBuffer {
        fn extend<T: IntoIterator<Item = &'a u8>>(&mut self, bytes: T) {
            for byte in bytes {
                CodeBuffer::push(self, *byte);
            }
        }
    }

    /// The `rel32` jumps and calls, by opcode bytes.
    const JMP: &[u8] = &[0xe9];
    const CALL: &[u8] = &[0xe8];
    const JB: &[u8] = &[0x0f, 0x82];
    const JAE: &[u8] = &[0x0f, 0x83];
    const JE: &[u8] = &[0x0f, 0x84];
    const JNE: &[u8] = &[0x0f, 0x85];
    const JS: &[u8] = &[0x0f, 0x88];
    const JL: &[u8] = &[0x0f, 0x8c];

    /// Assembles one program through the shared walk.
    ///
    /// Jumps to labels are `rel32` forms encoded here (the bytes dynasm emits for a jump to a dynamic
    /// label), linked through the shared label table ([`crate::jit::labels`]: 4 bytes a live label,
    /// no fixup records), where dynasm's labels and relocations would keep 16 and 32 bytes each (a
    /// dense program has more than one jump per command).
    struct DynasmEmitter {
        ops: CodeBuffer,
        labels: Labels,
        /// The first thing that went wrong while linking.
        error: Option<CompileError>,
        stopped: Label,
        out_of_fuel: Label,
        ret: Label,
        /// Shared tails of the `jit_output`, `jit_input` and `jit_exact` calls (see `thunk`).
        output_thunk: Label,
        input_thunk: Label,
        exact_thunk: Label,
    }

    impl DynasmEmitter {
        fn new(ops: CodeBuffer) -> DynasmEmitter {
            let mut e = DynasmEmitter {
                ops,
                labels: Labels::default(),
                error: None,
                stopped: 0,
                out_of_fuel: 0,
                ret: 0,
                output_thunk: 0,
                input_thunk: 0,
                exact_thunk: 0,
            };
            e.stopped = e.new_label();
            e.out_of_fuel = e.new_label();
            e.ret = e.new_label();
            e.output_thunk = e.new_label();
            e.input_thunk = e.new_label();
            e.exact_thunk = e.new_label();
            e
        }

        /// A `rel32` jump or call (`opcode`) to `label`.
        fn jump_to(&mut self, opcode: &[u8], label: Label) {
            self.ops.extend(opcode.iter().copied());
            let at = self.ops.len();
            self.ops.push_i32(0);
            if self.ops.overflowed() {
                // The code is refused; its jump fields may not have been written.
                return;
            }
            if let Err(e) = self.labels.link(&mut self.ops, at, label) {
                self.error.get_or_insert(e);
            }
        }

        /// Writes the pointer index back to the state (before a callback or a return).
        fn store_ptr(&mut self) {
            asm!(self.ops; mov [a_state + OFFSET_PTR], a_ptr);
        }

        /// A shared call tail at `label`, reached by `call`: writes the pointer back, passes the
        /// state as the first argument (the others are already in place) and tail-jumps to `target`,
        /// which returns straight to the call site (the stack is aligned as at a direct call).
        fn thunk(&mut self, label: Label, target: usize, ptr_in_rcx: bool) {
            self.bind(label);
            asm!(self.ops
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
        type Label = Label;

        fn new_label(&mut self) -> Label {
            self.labels.new_label()
        }

        fn bind(&mut self, label: Label) {
            if self.ops.overflowed() {
                return;
            }
            let here = self.ops.len();
            if let Err(e) = self.labels.bind(&mut self.ops, label, here) {
                self.error.get_or_insert(e);
            }
        }

        fn release(&mut self, label: Label) {
            if let Err(e) = self.labels.release(label) {
                self.error.get_or_insert(e);
            }
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

        fn guard(&mut self, lo: i32, hi: i32, fail: Label) {
            if lo < 0 {
                asm!(self.ops; cmp a_ptr, -lo);
                self.jump_to(JL, fail);
            }
            if hi > 0 {
                asm!(self.ops
                    ; lea rax, [a_ptr + hi]
                    ; cmp rax, a_len
                );
                self.jump_to(JAE, fail);
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
            asm!(self.ops; movzx esi, BYTE [a_tape + a_ptr + offset]);
            self.jump_to(CALL, thunk);
            asm!(self.ops; test eax, eax);
            self.jump_to(JNE, stopped);
        }

        fn input(&mut self, offset: i32) {
            let (thunk, stopped) = (self.input_thunk, self.stopped);
            asm!(self.ops; lea rsi, [a_tape + a_ptr + offset]);
            self.jump_to(CALL, thunk);
            asm!(self.ops; test eax, eax);
            self.jump_to(JNE, stopped);
        }

        fn scan(&mut self, stride: i32, fail: Label) {
            let (top, done) = (self.new_label(), self.new_label());
            self.bind(top);
            asm!(self.ops; cmp BYTE [a_tape + a_ptr], 0);
            self.jump_to(JE, done);
            asm!(self.ops; lea rax, [a_ptr + stride]);
            if stride < 0 {
                asm!(self.ops; test rax, rax);
                self.jump_to(JS, fail);
            } else {
                asm!(self.ops; cmp rax, a_len);
                self.jump_to(JAE, fail);
            }
            asm!(self.ops; mov a_ptr, rax);
            self.jump_to(JMP, top);
            self.bind(done);
            self.release(top);
            self.release(done);
        }

        fn jump_if_zero(&mut self, target: Label) {
            asm!(self.ops; cmp BYTE [a_tape + a_ptr], 0);
            self.jump_to(JE, target);
        }

        fn jump_if_nonzero(&mut self, target: Label) {
            asm!(self.ops; cmp BYTE [a_tape + a_ptr], 0);
            self.jump_to(JNE, target);
        }

        fn charge_fuel(&mut self) {
            let out_of_fuel = self.out_of_fuel;
            asm!(self.ops; sub QWORD [a_state + OFFSET_FUEL], 1);
            self.jump_to(JB, out_of_fuel);
        }

        fn exit_ok(&mut self) {
            self.store_ptr();
            let ret = self.ret;
            asm!(self.ops; mov eax, STATUS_OK as i32);
            self.jump_to(JMP, ret);
        }

        fn exact(&mut self, span: Span) {
            let (thunk, stopped) = (self.exact_thunk, self.stopped);
            asm!(self.ops
                ; mov esi, span.start as i32
                ; mov edx, span.end as i32
            );
            self.jump_to(CALL, thunk);
            asm!(self.ops; cmp rax, -1);
            self.jump_to(JE, stopped);
            asm!(self.ops; mov a_ptr, rax);
        }

        fn jump(&mut self, target: Label) {
            self.jump_to(JMP, target);
        }

        fn epilogue(&mut self) {
            self.thunk(self.output_thunk, jit_output as *const () as usize, false);
            self.thunk(self.input_thunk, jit_input as *const () as usize, false);
            self.thunk(self.exact_thunk, jit_exact as *const () as usize, true);
            let (stopped, out_of_fuel, ret) = (self.stopped, self.out_of_fuel, self.ret);
            // The pointer is already in the state (written before the callback that stopped).
            self.bind(stopped);
            asm!(self.ops; mov eax, STATUS_STOPPED as i32);
            self.jump_to(JMP, ret);
            // The fuel was 0 and the `sub` wrapped it: put the 0 back.
            self.bind(out_of_fuel);
            asm!(self.ops
                ; mov QWORD [a_state + OFFSET_FUEL], 0
                ; mov [a_state + OFFSET_PTR], a_ptr
                ; mov eax, STATUS_OUT_OF_FUEL as i32
            );
            self.bind(ret);
            asm!(self.ops
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
        let decided = PlannedIr::decide(program, nodes, config.tape_len())?;
        let mut emitter = DynasmEmitter::new(CodeBuffer::new(CODE_RESERVATION)?);
        // The IR is freed as the code is written.
        translate(decided, config.metered(), &mut emitter)?;
        if emitter.ops.overflowed() {
            return Err(CompileError::TooLarge(
                "generated code of more than 2 GiB".into(),
            ));
        }
        if let Some(e) = emitter.error {
            return Err(e);
        }
        if !emitter.labels.all_bound() {
            return Err(bug("a jump to a label never bound"));
        }
        // The label table goes; the code becomes executable where it was written.
        let DynasmEmitter { ops, labels, .. } = emitter;
        drop(labels);
        let code = ops.finish()?;
        // SAFETY: the memory starts with a function assembled above that follows the `jit` calling
        // convention; it is read-execute and lives in the executable, as long as the entry can be
        // called. The code only touches cells its plan decisions cover (checked guards, blocks
        // proven in bounds for this tape length) and scans check every step.
        let loaded = unsafe {
            let entry = entry_at(code.as_ptr());
            LoadedCode::new(code, entry, program, config)
        };
        Ok(Box::new(loaded))
    }
}
