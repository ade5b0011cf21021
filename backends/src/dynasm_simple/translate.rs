//! The walk both simple JITs share (`dynasm-simple` and `handjit`): guarded IR in, one call per node on
//! an [`Emitter`] out. The emitters only differ in how they turn each call into x86-64 bytes.
//!
//! Layout of the generated function: prologue, the program's code, the normal exit, then the cold
//! stubs (one per guard and scan, each running its span exactly through `jit_exact` and jumping back),
//! then the shared exits (stopped by a callback, out of fuel) and the epilogue.
//!
//! Loops get one label pair each from an explicit stack, so nesting depth costs no Rust stack.

use crate::backend::CompileError;
use crate::ir::blocks::{in_block, node_reach};
use crate::ir::{Node, Op, Span};
use crate::syntax::Program;

/// The instruction sequences a simple JIT can emit. Offsets are relative to the current cell; every
/// cell access an emitter is asked for has been bounds-checked by a preceding [`Emitter::guard`].
pub(crate) trait Emitter {
    /// A position in the code that jumps can target before it is bound.
    type Label: Copy;

    /// A new, unbound label.
    fn new_label(&mut self) -> Self::Label;
    /// Binds `label` to the current position.
    fn bind(&mut self, label: Self::Label);
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

/// The IR the simple JITs translate: run-length folded, guarded.
pub(crate) fn simple_ir(program: &Program) -> Vec<Node> {
    crate::optimizer::fold_runs_only(program)
}

fn codegen(what: &str) -> CompileError {
    CompileError::Codegen(format!("simple JIT translation: {what}"))
}

/// Checks that the guard at `nodes[0]` covers every cell its block's nodes access and every position
/// they move to, so the unchecked code of the block stays on the tape whenever the guard passes.
fn check_guard(nodes: &[Node], lo: i32, hi: i32, len: u32) -> Result<(), CompileError> {
    let block = nodes
        .get(1..1 + len as usize)
        .ok_or_else(|| codegen("a guard is longer than the code after it"))?;
    if !block.iter().all(|n| in_block(&n.op)) {
        return Err(codegen("a guard covers a loop boundary or scan"));
    }
    let (reach_lo, reach_hi) = node_reach(block);
    if lo > 0 || hi < 0 || reach_lo < lo as i64 || reach_hi > hi as i64 {
        return Err(codegen("a guard does not cover its block"));
    }
    Ok(())
}

/// Translates guarded IR `nodes` through `e`, charging fuel at loop-body entries when `metered`.
/// Every guard is checked against its block ([`check_guard`]): the memory safety of the generated
/// code does not depend on the pass that made the IR.
pub(crate) fn translate<E: Emitter>(
    nodes: &[Node],
    metered: bool,
    e: &mut E,
) -> Result<(), CompileError> {
    let mut loops: Vec<(E::Label, E::Label)> = Vec::new();
    let mut stubs: Vec<(E::Label, E::Label, Span)> = Vec::new();
    // The guarded block being emitted: nodes left in it and the label after it (none when the guard
    // needs no check).
    let mut block: Option<(u32, Option<E::Label>)> = None;
    e.prologue();
    for (i, node) in nodes.iter().enumerate() {
        if in_block(&node.op) && block.is_none() {
            return Err(codegen("a block node without a guard"));
        }
        if !in_block(&node.op) && block.is_some() {
            return Err(codegen("a guard covers a loop boundary or scan"));
        }
        match &node.op {
            Op::Guard { lo, hi, len } => {
                check_guard(&nodes[i..], *lo, *hi, *len)?;
                if *len == 0 {
                    continue;
                }
                if (*lo, *hi) == (0, 0) {
                    // The pointer is always on the tape: the block stays at it.
                    block = Some((*len, None));
                    continue;
                }
                let (fail, resume) = (e.new_label(), e.new_label());
                e.guard(*lo, *hi, fail);
                stubs.push((fail, resume, node.span));
                block = Some((*len, Some(resume)));
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
    if block.is_some() {
        return Err(codegen("a guard is longer than the code after it"));
    }
    e.exit_ok();
    for (fail, resume, span) in stubs {
        e.bind(fail);
        e.exact(span);
        e.jump(resume);
    }
    e.epilogue();
    Ok(())
}
