//! Backend `handjit`: the same one-to-one translation as `dynasm-simple`, with no assembler library.
//! The machine code is encoded byte by byte ([`encode`]), jumps are `rel32` displacements patched when
//! their label is bound (a loop's forward jump when the loop closes), and the code is copied into pages
//! mapped read-write and then switched to read-execute ([`crate::jit::memory`]).
//!
//! Register roles and code layout are those of `dynasm-simple` (see its module comment): the state in
//! `rbx`, the tape base in `r12`, the pointer index in `r13`, the tape length in `r14`.
//!
//! Code is encoded on any host; running it needs x86-64 ([`crate::jit::require_x86_64`]) and Unix.

pub mod encode;

#[cfg(all(test, target_arch = "x86_64"))]
mod tests;

use crate::backend::{Availability, Backend, CompileError, Executable};
use crate::config::Config;
use crate::syntax::Program;

/// The `handjit` backend.
pub struct HandJit;

impl Backend for HandJit {
    fn name(&self) -> &'static str {
        "handjit"
    }

    fn summary(&self) -> &'static str {
        "one-to-one x86-64 JIT encoded by hand into mmap'd memory (run-length folding only)"
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

pub(crate) mod x64 {
    use super::encode::{Code, Cond, Mem, RangeError, Reg};
    use crate::backend::{CompileError, Executable};
    use crate::config::Config;
    use crate::ir::plan::{DecidedNodes, PlannedIr};
    use crate::ir::{Node, Span};
    use crate::jit::labels::{Label, Labels};
    use crate::jit::memory::CodeBuffer;
    use crate::jit::one_to_one::{one_to_one_ir, translate, Emitter, CODE_RESERVATION};
    use crate::jit::{
        entry_at, jit_exact, jit_input, jit_output, LoadedCode, OFFSET_FUEL, OFFSET_PTR,
        OFFSET_TAPE, OFFSET_TAPE_LEN, STATUS_OK, STATUS_OUT_OF_FUEL, STATUS_STOPPED,
    };
    use crate::syntax::Program;

    /// The `JitState` pointer.
    const STATE: Reg = Reg::Rbx;
    /// The tape base address.
    const TAPE: Reg = Reg::R12;
    /// The pointer index.
    const PTR: Reg = Reg::R13;
    /// The tape length.
    const LEN: Reg = Reg::R14;
    /// Scratch.
    const TMP: Reg = Reg::Rax;

    /// The cell at `offset` from the pointer.
    fn cell(offset: i32) -> Mem {
        Mem::indexed(TAPE, PTR, offset)
    }

    /// A field of the state.
    fn field(offset: i32) -> Mem {
        Mem::base(STATE, offset)
    }

    /// Encodes one program through the shared walk.
    struct HandEmitter {
        code: Code<CodeBuffer>,
        labels: Labels,
        stopped: Label,
        out_of_fuel: Label,
        ret: Label,
        /// Shared tails of the `jit_output`, `jit_input` and `jit_exact` calls (see `thunk`).
        output_thunk: Label,
        input_thunk: Label,
        exact_thunk: Label,
        /// The first thing that went wrong while encoding.
        error: Option<CompileError>,
    }

    impl HandEmitter {
        fn new(code: CodeBuffer) -> HandEmitter {
            let mut e = HandEmitter {
                code: Code::on(code),
                labels: Labels::default(),
                stopped: 0,
                out_of_fuel: 0,
                ret: 0,
                output_thunk: 0,
                input_thunk: 0,
                exact_thunk: 0,
                error: None,
            };
            e.stopped = e.new_label();
            e.out_of_fuel = e.new_label();
            e.ret = e.new_label();
            e.output_thunk = e.new_label();
            e.input_thunk = e.new_label();
            e.exact_thunk = e.new_label();
            e
        }

        /// Points the jump whose `rel32` is at `at` to `label`, now or when the label is bound.
        fn link(&mut self, at: usize, label: Label) {
            if self.code.bytes.overflowed() {
                // The code is refused; its jump fields may not have been written.
                return;
            }
            if let Err(e) = self.labels.link(&mut self.code.bytes, at, label) {
                self.fail(e);
            }
        }

        fn fail(&mut self, error: CompileError) {
            self.error.get_or_insert(error);
        }

        fn jcc(&mut self, cond: Cond, label: Label) {
            let at = self.code.jcc(cond);
            self.link(at, label);
        }

        /// Calls the shared tail at `label`.
        fn call(&mut self, label: Label) {
            let at = self.code.call_rel();
            self.link(at, label);
        }

        /// A shared call tail at `label`, reached by `call`: writes the pointer back, passes the
        /// state as the first argument (the others are already in place) and tail-jumps to `target`,
        /// which returns straight to the call site (the stack is aligned as at a direct call).
        fn thunk(&mut self, label: Label, target: usize, ptr_in_rcx: bool) {
            self.bind(label);
            self.store_ptr();
            self.code.mov_rr(Reg::Rdi, STATE);
            if ptr_in_rcx {
                self.code.mov_rr(Reg::Rcx, PTR);
            }
            self.code.mov_r64_imm64(TMP, target as u64);
            self.code.jmp_r(TMP);
        }

        fn store_ptr(&mut self) {
            self.code.mov_store(field(OFFSET_PTR), PTR);
        }

        fn check_flag(&mut self) {
            self.code.test_rr32(Reg::Rax, Reg::Rax);
            self.jcc(Cond::Ne, self.stopped);
        }
    }

    impl Emitter for HandEmitter {
        type Label = Label;

        fn new_label(&mut self) -> Label {
            self.labels.new_label()
        }

        fn bind(&mut self, label: Label) {
            if self.code.bytes.overflowed() {
                return;
            }
            let here = self.code.pos();
            if let Err(e) = self.labels.bind(&mut self.code.bytes, label, here) {
                self.fail(e);
            }
        }

        fn release(&mut self, label: Label) {
            if let Err(e) = self.labels.release(label) {
                self.fail(e);
            }
        }

        fn prologue(&mut self) {
            let c = &mut self.code;
            c.push(Reg::Rbp);
            c.mov_rr(Reg::Rbp, Reg::Rsp);
            for r in [STATE, TAPE, PTR, LEN] {
                c.push(r);
            }
            c.mov_rr(STATE, Reg::Rdi);
            c.mov_load(TAPE, field(OFFSET_TAPE));
            c.mov_load(LEN, field(OFFSET_TAPE_LEN));
            c.mov_load(PTR, field(OFFSET_PTR));
        }

        fn guard(&mut self, lo: i32, hi: i32, fail: Label) {
            if lo < 0 {
                self.code.cmp_imm(PTR, -lo);
                self.jcc(Cond::L, fail);
            }
            if hi > 0 {
                self.code.lea(TMP, Mem::base(PTR, hi));
                self.code.cmp_rr(TMP, LEN);
                self.jcc(Cond::Ae, fail);
            }
        }

        fn add(&mut self, offset: i32, delta: u8) {
            self.code.add8_imm(cell(offset), delta);
        }

        fn move_by(&mut self, by: i32) {
            self.code.add_imm(PTR, by);
        }

        fn set(&mut self, offset: i32, value: u8) {
            self.code.mov_store8_imm(cell(offset), value);
        }

        fn mul_loop(&mut self, offset: i32, targets: &[(i32, u8)]) {
            self.code.movzx8(Reg::Rax, cell(offset));
            for &(at, factor) in targets {
                self.code.imul_imm(Reg::Rcx, Reg::Rax, factor as i32);
                self.code.add8_reg(cell(at), Reg::Rcx);
            }
            self.code.mov_store8_imm(cell(offset), 0);
        }

        fn output(&mut self, offset: i32) {
            self.code.movzx8(Reg::Rsi, cell(offset));
            self.call(self.output_thunk);
            self.check_flag();
        }

        fn input(&mut self, offset: i32) {
            self.code.lea(Reg::Rsi, cell(offset));
            self.call(self.input_thunk);
            self.check_flag();
        }

        fn scan(&mut self, stride: i32, fail: Label) {
            let (top, done) = (self.new_label(), self.new_label());
            self.bind(top);
            self.code.cmp8_imm(cell(0), 0);
            self.jcc(Cond::E, done);
            self.code.lea(TMP, Mem::base(PTR, stride));
            if stride < 0 {
                self.code.test_rr(TMP, TMP);
                self.jcc(Cond::S, fail);
            } else {
                self.code.cmp_rr(TMP, LEN);
                self.jcc(Cond::Ae, fail);
            }
            self.code.mov_rr(PTR, TMP);
            self.jump(top);
            self.bind(done);
            self.release(top);
            self.release(done);
        }

        fn jump_if_zero(&mut self, target: Label) {
            self.code.cmp8_imm(cell(0), 0);
            self.jcc(Cond::E, target);
        }

        fn jump_if_nonzero(&mut self, target: Label) {
            self.code.cmp8_imm(cell(0), 0);
            self.jcc(Cond::Ne, target);
        }

        fn charge_fuel(&mut self) {
            self.code.sub_mem_imm(field(OFFSET_FUEL), 1);
            self.jcc(Cond::B, self.out_of_fuel);
        }

        fn exit_ok(&mut self) {
            self.store_ptr();
            self.code.mov_r32_imm(Reg::Rax, STATUS_OK);
            self.jump(self.ret);
        }

        fn exact(&mut self, span: Span) {
            self.code.mov_r32_imm(Reg::Rsi, span.start);
            self.code.mov_r32_imm(Reg::Rdx, span.end);
            self.call(self.exact_thunk);
            self.code.cmp_imm(Reg::Rax, -1);
            self.jcc(Cond::E, self.stopped);
            self.code.mov_rr(PTR, Reg::Rax);
        }

        fn jump(&mut self, target: Label) {
            let at = self.code.jmp();
            self.link(at, target);
        }

        fn epilogue(&mut self) {
            self.thunk(self.output_thunk, jit_output as *const () as usize, false);
            self.thunk(self.input_thunk, jit_input as *const () as usize, false);
            self.thunk(self.exact_thunk, jit_exact as *const () as usize, true);
            // The pointer is already in the state (written before the callback that stopped).
            self.bind(self.stopped);
            self.code.mov_r32_imm(Reg::Rax, STATUS_STOPPED);
            self.jump(self.ret);
            // The fuel was 0 and the `sub` wrapped it: put the 0 back.
            self.bind(self.out_of_fuel);
            self.code.mov_store_imm(field(OFFSET_FUEL), 0);
            self.store_ptr();
            self.code.mov_r32_imm(Reg::Rax, STATUS_OUT_OF_FUEL);
            self.bind(self.ret);
            let c = &mut self.code;
            for r in [LEN, PTR, TAPE, STATE, Reg::Rbp] {
                c.pop(r);
            }
            c.ret();
        }
    }

    /// The machine code for decided IR under `config`, still writable.
    pub(crate) fn encode(nodes: DecidedNodes, config: &Config) -> Result<CodeBuffer, CompileError> {
        let mut emitter = HandEmitter::new(CodeBuffer::new(CODE_RESERVATION)?);
        translate(nodes, config.metered(), &mut emitter)?;
        if emitter.code.bytes.overflowed() {
            emitter.fail(CompileError::TooLarge(RangeError.to_string()));
        }
        if let Some(e) = emitter.error {
            return Err(e);
        }
        if !emitter.labels.all_bound() {
            return Err(CompileError::Bug("a jump to an unbound label".into()));
        }
        Ok(emitter.code.bytes)
    }

    /// Compiles `program` for runs under `config`.
    pub(super) fn compile(
        program: &Program,
        config: &Config,
    ) -> Result<Box<dyn Executable>, CompileError> {
        compile_ir(program, one_to_one_ir(program), config)
    }

    /// Compiles guarded IR `nodes` of `program` (any ops) for runs under `config`.
    pub(crate) fn compile_ir(
        program: &Program,
        nodes: Vec<Node>,
        config: &Config,
    ) -> Result<Box<dyn Executable>, CompileError> {
        // The IR is freed as the code is written, and the code becomes executable where it was written.
        let code = encode(
            PlannedIr::decide(program, nodes, config.tape_len())?,
            config,
        )?
        .finish()?;
        // SAFETY: the memory starts with a complete function encoded above that follows the `jit`
        // calling convention; it is read-execute and lives in the executable, as long as the entry can
        // be called. The code only touches cells its plan decisions cover and scans check every step.
        let loaded = unsafe {
            let entry = entry_at(code.as_ptr());
            LoadedCode::new(code, entry, program, config)
        };
        Ok(Box::new(loaded))
    }
}
