//! The walk both one-to-one JITs share (`dynasm-simple` and `handjit`): planned IR in, one call per
//! node on an [`Emitter`] out. The emitters only differ in how they turn each call into x86-64 bytes.
//! Each guard is emitted as its plan decision says ([`crate::ir::plan`]): no check, a check, or a
//! jump straight to the fallback.
//!
//! Layout of the generated function: prologue, the program's code, the normal exit, then the cold
//! stubs (one per guard and scan, each running its span exactly through `jit_exact` and jumping back),
//! then the shared exits (stopped by a callback, out of fuel) and the epilogue.
//!
//! Loops get one label pair each from an explicit stack, so nesting depth costs no Rust stack. Every
//! label is released once bound and jumped to ([`crate::jit::labels`]), so only live ones take room.

use crate::backend::CompileError;
use crate::ir::plan::{DecidedNodes, Decision};
use crate::ir::{Node, Op, Span};
use crate::syntax::Program;

/// The instruction sequences a one-to-one JIT can emit. Offsets are relative to the current cell; every
/// cell access an emitter is asked for is covered by its block's plan decision (checked by a preceding
/// [`Emitter::guard`], or proven in bounds).
pub(crate) trait Emitter {
    /// A position in the code that jumps can target before it is bound.
    type Label: Copy;

    /// A new, unbound label.
    fn new_label(&mut self) -> Self::Label;
    /// Binds `label` to the current position.
    fn bind(&mut self, label: Self::Label);
    /// Gives `label` back for reuse: it is bound and no jump to it follows.
    fn release(&mut self, label: Self::Label);
    /// Saves registers and loads the tape registers from the state.
    fn prologue(&mut self);
    /// Jumps to `fail` unless `ptr + lo >= 0` and `ptr + hi < tape_len`.
    fn guard(&mut self, lo: i32, hi: i32, fail: Self::Label);
    /// `cell[offset] += delta` (wrapping).
    fn add(&mut self, offset: i32, delta: u8);
    /// `ptr += by` (already checked).
    fn move_by(&mut self, by: i32);
    /// `cell[offset] = value`.
    fn set(&mut self, offset: i32, value: u8);
    /// `cell[t] += cell[offset] * factor` for each `(t, factor)` (absolute offsets), then `cell[offset] = 0`.
    fn mul_loop(&mut self, offset: i32, targets: &[(i32, u8)]);
    /// Writes `cell[offset]` through `jit_output`; stops the run when it fails.
    fn output(&mut self, offset: i32);
    /// Reads `cell[offset]` through `jit_input`; stops the run when it fails.
    fn input(&mut self, offset: i32);
    /// Moves by `stride` while the current cell is non-zero; jumps to `fail` (pointer at the last
    /// in-bounds position) when the next step would leave the tape.
    fn scan(&mut self, stride: i32, fail: Self::Label);
    /// Jumps to `target` when the current cell is zero.
    fn jump_if_zero(&mut self, target: Self::Label);
    /// Jumps to `target` when the current cell is non-zero.
    fn jump_if_nonzero(&mut self, target: Self::Label);
    /// Spends one unit of fuel; returns out-of-fuel when none is left.
    fn charge_fuel(&mut self);
    /// Returns normally (status ok) with the pointer written back.
    fn exit_ok(&mut self);
    /// Runs source commands `span` exactly from the current pointer through `jit_exact`, taking the
    /// pointer it returns or stopping the run.
    fn exact(&mut self, span: Span);
    /// Jumps to `target`.
    fn jump(&mut self, target: Self::Label);
    /// Emits the shared exits and the epilogue.
    fn epilogue(&mut self);
}

/// The address space a one-to-one JIT reserves for its code ([`crate::jit::memory::CodeBuffer`]):
/// `rel32` jumps reach 2 GiB, so no program's code may be larger; pages cost memory once written.
pub(crate) const CODE_RESERVATION: usize = 1 << 31;

/// The IR the one-to-one JITs translate: run-length folded, guarded.
pub(crate) fn one_to_one_ir(program: &Program) -> Vec<Node> {
    crate::optimizer::fold_runs_only(program)
}

fn codegen(what: &str) -> CompileError {
    CompileError::Bug(format!("one-to-one JIT translation: {what}"))
}

/// Translates decided IR through `e`, charging fuel at loop-body entries when `metered`. Guards are
/// emitted as the plan decided them; the plan verified each against its block. The IR is consumed
/// (and freed) as the code is written.
pub(crate) fn translate<E: Emitter>(
    mut nodes: DecidedNodes,
    metered: bool,
    e: &mut E,
) -> Result<(), CompileError> {
    let mut loops: Vec<(E::Label, E::Label)> = Vec::new();
    // The cold stubs to emit after the code (16 bytes each with 4-byte labels).
    let mut stubs: Vec<(E::Label, E::Label, Span)> = Vec::new();
    // The guarded block being emitted: nodes left in it and the label after it (none when the guard
    // needs no check).
    let mut block: Option<(u32, Option<E::Label>)> = None;
    e.prologue();
    while let Some((node, decision)) = nodes.next() {
        match &node.op {
            Op::Guard { len, .. } => {
                if *len == 0 {
                    continue;
                }
                match decision {
                    Decision::Always => block = Some((*len, None)),
                    Decision::Never => {
                        // The block's nodes never run: only the jump to its exact fallback is emitted.
                        let (fail, resume) = (e.new_label(), e.new_label());
                        e.jump(fail);
                        e.bind(resume);
                        stubs.push((fail, resume, node.span));
                        for _ in 0..*len {
                            nodes
                                .next()
                                .ok_or_else(|| codegen("a block past the end"))?;
                        }
                    }
                    Decision::Check { lo, hi } => {
                        let (fail, resume) = (e.new_label(), e.new_label());
                        e.guard(lo, hi, fail);
                        stubs.push((fail, resume, node.span));
                        block = Some((*len, Some(resume)));
                    }
                }
                continue;
            }
            Op::Add { offset, delta } => e.add(*offset, *delta),
            Op::Move { by } => e.move_by(*by),
            Op::Set { offset, value } => e.set(*offset, *value),
            Op::MulLoop { offset, targets } => {
                let mut absolute = Vec::with_capacity(targets.len());
                for t in targets {
                    let at = i32::try_from(*offset as i64 + t.offset as i64).map_err(|_| {
                        CompileError::TooLarge("a multiply-loop offset exceeds 32 bits".into())
                    })?;
                    absolute.push((at, t.factor));
                }
                e.mul_loop(*offset, &absolute);
            }
            Op::Output { offset } => e.output(*offset),
            Op::Input { offset } => e.input(*offset),
            Op::Scan { stride } => {
                let (fail, done) = (e.new_label(), e.new_label());
                e.scan(*stride, fail);
                e.bind(done);
                stubs.push((fail, done, node.span));
            }
            Op::LoopStart => {
                let (body, end) = (e.new_label(), e.new_label());
                e.jump_if_zero(end);
                e.bind(body);
                if metered {
                    e.charge_fuel();
                }
                loops.push((body, end));
            }
            Op::LoopEnd => {
                let (body, end) = loops.pop().ok_or_else(|| codegen("unbalanced loop end"))?;
                e.jump_if_nonzero(body);
                e.bind(end);
                e.release(body);
                e.release(end);
            }
        }
        if let Some((left, resume)) = &mut block {
            *left -= 1;
            if *left == 0 {
                if let Some(resume) = resume {
                    e.bind(*resume);
                }
                block = None;
            }
        }
    }
    if !loops.is_empty() {
        return Err(codegen("unbalanced loop start"));
    }
    e.exit_ok();
    for (fail, resume, span) in stubs {
        e.bind(fail);
        e.exact(span);
        e.jump(resume);
        e.release(fail);
        e.release(resume);
    }
    e.epilogue();
    Ok(())
}
