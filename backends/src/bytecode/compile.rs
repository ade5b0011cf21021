//! Flattening guarded IR into bytecode: one slot per IR node with loop jumps resolved, every guard
//! checked to cover its block, then superinstructions fused over pairs of slots.
//!
//! The superinstructions are chosen in `fuse.rs`; this module verifies every target they produce.

use super::fuse::{
    chain_body, data_op_width, exit_block, fuse, fuse_chain_entries, fuse_chains, fuse_exits,
    fuse_walks, MAX_CHAIN,
};
use super::insn::{BlockInfo, Insn};
use super::landing::Landings;
use super::Bytecode;
use crate::backend::CompileError;
use crate::ir::plan::{Decision, PlannedIr};
use crate::ir::{Node, Op};
use crate::syntax::Program;

/// The most instructions a bytecode program may have (indices are `u32`).
const MAX_INSNS: usize = u32::MAX as usize - 1;

/// A straight-line block's guard as the bytecode consumes it: the one place that reads `Op::Guard`
/// and its plan decision.
struct BlockGuard {
    /// Lowest offset the block reaches (what its unchecked accesses are verified against).
    lo: i32,
    /// Highest offset the block reaches.
    hi: i32,
    /// The range the run-time test checks, as the plan decided: the block's reach for `Always`
    /// (the plan proved it passes) and `Check`, a range no pointer passes for `Never`.
    check: (i32, i32),
    /// Nodes in the block.
    len: usize,
}

fn block_guard(planned: &PlannedIr, index: usize) -> Option<BlockGuard> {
    match planned.nodes()[index].op {
        Op::Guard { lo, hi, len } => Some(BlockGuard {
            lo,
            hi,
            check: match planned.decision(index) {
                Decision::Always => (lo, hi),
                decision => decision.as_range_check(),
            },
            len: len as usize,
        }),
        _ => None,
    }
}

/// Flattens planned IR of `program` (one instruction per node, plus a final `Halt`), unpadded
/// ([`pad`] finishes it); `padded` reserves room for the padding at once (no reallocation later,
/// for a caller that keeps the IR), else the code is sized exactly.
pub(super) fn compile(
    program: &Program,
    planned: &PlannedIr,
    padded: bool,
) -> Result<Bytecode, CompileError> {
    let nodes = planned.nodes();
    if nodes.len() > MAX_INSNS {
        return Err(CompileError::TooLarge(format!(
            "{} IR nodes; bytecode holds at most {MAX_INSNS}",
            nodes.len()
        )));
    }
    // The side tables sized exactly up front (a deep nest has a block and a loop every few nodes:
    // grown by doubling they would hold up to twice that).
    let (mut guards, mut scans, mut loops) = (0, 0, 0);
    for node in nodes {
        match node.op {
            Op::Guard { .. } => guards += 1,
            Op::Scan { .. } => scans += 1,
            Op::LoopStart => loops += 1,
            _ => {}
        }
    }
    let mut bc = Bytecode {
        program: program.clone(),
        code: Vec::with_capacity(if padded {
            (nodes.len() + 1).next_power_of_two()
        } else {
            nodes.len() + 1
        }),
        len: 0,
        blocks: Vec::with_capacity(guards),
        targets: Vec::new(),
        scans: Vec::with_capacity(scans),
        loop_headers: Vec::with_capacity(loops),
        chains: Vec::new(),
        tape_len: planned.tape_len(),
    };
    // Whether each slot is inside a block after its first node: no jump may land there.
    let mut inside = vec![false; nodes.len() + 1];
    let mut open: Vec<usize> = Vec::new();
    for (index, node) in nodes.iter().enumerate() {
        let insn = match &node.op {
            Op::Guard { .. } => {
                let guard = block_guard(planned, index).ok_or_else(|| bad("unreadable guard"))?;
                let body = nodes
                    .get(index + 1..index + 1 + guard.len)
                    .ok_or_else(|| bad("a guard's block runs past the end"))?;
                check_reach(&guard, body)?;
                if guard.len > 1 {
                    inside[index + 2..index + 1 + guard.len].fill(true);
                }
                bc.blocks.push(BlockInfo {
                    span: node.span,
                    skip: (index + 1 + guard.len) as u32,
                });
                let (lo, hi) = guard.check;
                let width = hi as i64 - lo as i64;
                Insn::Guard {
                    lo,
                    limit: u32::try_from((planned.tape_len() as i64 - width).max(0))
                        .map_err(|_| bad("a tape longer than u32 indices"))?,
                    block: (bc.blocks.len() - 1) as u32,
                }
            }
            Op::Add { offset, delta } => Insn::Add {
                offset: *offset,
                delta: *delta,
            },
            Op::Set { offset, value } => Insn::Set {
                offset: *offset,
                value: *value,
            },
            Op::Move { by } => Insn::Move { by: *by },
            Op::MulLoop { offset, targets } => match targets[..] {
                [t] => Insn::Mul1 {
                    offset: *offset,
                    to: t.offset,
                    factor: t.factor,
                },
                [t, t2] => Insn::Mul2 {
                    offset: *offset,
                    to: t.offset,
                    to2: t2.offset,
                    factor: t.factor,
                    factor2: t2.factor,
                },
                _ => {
                    let first = bc.targets.len() as u32;
                    bc.targets.extend_from_slice(targets);
                    Insn::Mul {
                        offset: *offset,
                        first,
                        count: targets.len() as u32,
                    }
                }
            },
            Op::Output { offset } => Insn::Output { offset: *offset },
            Op::Input { offset } => Insn::Input { offset: *offset },
            Op::Scan { stride } => {
                bc.scans.push(node.span);
                Insn::Scan {
                    stride: *stride,
                    span: (bc.scans.len() - 1) as u32,
                }
            }
            Op::LoopStart => {
                open.push(index);
                bc.loop_headers.push(index as u32);
                Insn::LoopStart {
                    exit: 0,
                    id: (bc.loop_headers.len() - 1) as u32,
                }
            }
            Op::LoopEnd => {
                let start = open.pop().ok_or_else(|| bad("IR loops are not balanced"))?;
                let Insn::LoopStart { exit, id } = &mut bc.code[start] else {
                    unreachable!("open loops are LoopStart slots");
                };
                *exit = index as u32 + 1;
                Insn::LoopEnd {
                    body: start as u32 + 1,
                    id: *id,
                }
            }
        };
        if in_block(&insn) && !inside[index] && !matches!(bc.code.last(), Some(Insn::Guard { .. }))
        {
            return Err(bad("a block without a guard"));
        }
        bc.code.push(insn);
    }
    if !open.is_empty() {
        return Err(bad("IR loops are not balanced"));
    }
    bc.code.push(Insn::Halt);
    fuse(&mut bc.code);
    fuse_walks(&mut bc.code);
    fuse_chains(&mut bc);
    fuse_chain_entries(&mut bc.code, bc.tape_len);
    // What each guard verifies, for the landing tests jumps can skip.
    let landings = Landings::new(planned);
    landings.skip_implied(&mut bc);
    fuse_exits(&mut bc, &landings);
    check_targets(&bc, &inside)?;
    Ok(bc)
}

/// Whether an instruction belongs to a straight-line block (runs unchecked after its guard).
fn in_block(insn: &Insn) -> bool {
    matches!(
        insn,
        Insn::Add { .. }
            | Insn::Add2 { .. }
            | Insn::Set { .. }
            | Insn::Move { .. }
            | Insn::Mul { .. }
            | Insn::Mul1 { .. }
            | Insn::Mul2 { .. }
            | Insn::MulMul1 { .. }
            | Insn::Output { .. }
            | Insn::Input { .. }
    )
}

/// Requires every cell `body` touches, and every position its moves reach, to lie within the guard's
/// `lo ..= hi` (and `lo <= 0 <= hi`): what makes unchecked access inside a checked block sound,
/// whatever the passes did.
fn check_reach(guard: &BlockGuard, body: &[Node]) -> Result<(), CompileError> {
    let (lo, hi) = (guard.lo as i64, guard.hi as i64);
    let covered = |at: i64| lo <= at && at <= hi;
    if !covered(0) {
        return Err(bad("a guard does not cover its block's start"));
    }
    let mut pos = 0i64;
    for node in body {
        let ok = match &node.op {
            Op::Add { offset, .. }
            | Op::Set { offset, .. }
            | Op::Output { offset }
            | Op::Input { offset } => covered(pos + *offset as i64),
            Op::MulLoop { offset, targets } => {
                let from = pos + *offset as i64;
                covered(from) && targets.iter().all(|t| covered(from + t.offset as i64))
            }
            Op::Move { by } => {
                pos += *by as i64;
                covered(pos)
            }
            Op::Scan { .. } | Op::LoopStart | Op::LoopEnd | Op::Guard { .. } => false,
        };
        if !ok {
            return Err(bad("a guard does not cover its block"));
        }
    }
    Ok(())
}

/// Requires every place execution can continue at to be in the code and not inside a block (so no
/// path enters a block past its guard), and the code to end with `Halt`.
fn check_targets(bc: &Bytecode, inside: &[bool]) -> Result<(), CompileError> {
    let n = bc.code.len();
    let landing = |t: u32| (t as usize) < n && !inside[t as usize];
    if bc.code.last() != Some(&Insn::Halt) {
        return Err(bad("bytecode does not end with Halt"));
    }
    for (i, insn) in bc.code.iter().enumerate() {
        let next = i as u32 + 1;
        let ok = match *insn {
            Insn::LoopStart { exit, .. } => landing(exit) && landing(next),
            Insn::LoopEnd { body, .. } => landing(body) && landing(next),
            Insn::MoveLoopStart { exit, .. } => landing(exit) && landing(next + 1),
            Insn::AddLoopStart { exit, .. } | Insn::SetLoopStart { exit, .. } => {
                landing(exit) && landing(next + 1)
            }
            Insn::WalkLoopEnd { body, .. } => {
                let b = body as usize;
                landing(body)
                    && landing(next + 1)
                    && matches!(bc.code[b], Insn::Guard { .. })
                    && data_op_width(&bc.code[b + 1]).is_some_and(|w| b + 1 + w == i)
            }
            Insn::MoveLoopEnd { body, .. } | Insn::SetLoopEnd { body, .. } => {
                landing(body) && landing(next + 1)
            }
            Insn::AddLoopEnd { body, .. } => landing(body) && landing(next + 1),
            Insn::DecChain { first, count } => {
                let (first, count) = (first as usize, count as usize);
                (1..=MAX_CHAIN).contains(&count)
                    && landing(next)
                    && matches!(bc.code.get(i + 1), Some(Insn::LoopStart { .. }))
                    && bc
                        .chains
                        .get(first..=first + count)
                        .is_some_and(|to| to.iter().all(|&t| landing(t)))
            }
            Insn::AddMoveLoopStart { exit, .. } => landing(exit) && landing(next + 2),
            Insn::AddMoveLoopStartChain { exit, .. } => {
                landing(exit) && landing(next + 2) && chain_body(&bc.code, i + 3, bc.tape_len)
            }
            Insn::MoveLoopEndThenStart { body, exit, .. } => {
                landing(body)
                    && landing(exit)
                    && landing(next + 1)
                    && landing(next + 4)
                    && exit_block(bc, i + 2, true)
                    && matches!(bc.code[i + 1], Insn::LoopEnd { .. })
            }
            Insn::MoveLoopEndThenEnd { body, body2, .. }
            | Insn::SetLoopEndThenSetEnd { body, body2, .. }
            | Insn::SetLoopEndThenMoveEnd { body, body2, .. } => {
                landing(body)
                    && landing(body2)
                    && landing(next + 1)
                    && landing(next + 4)
                    && exit_block(bc, i + 2, false)
                    && matches!(bc.code[i + 1], Insn::LoopEnd { .. })
            }
            Insn::MoveLoopSkipThenEnd { guard, body2, .. } => {
                landing(next + 1)
                    && landing(body2)
                    && landing(guard)
                    && landing(guard + 3)
                    && exit_block(bc, guard as usize, false)
                    && matches!(bc.code[i + 1], Insn::LoopStart { .. })
            }
            Insn::AddMoveScan { .. } => landing(next + 2),
            Insn::Scan { .. } => landing(next),
            Insn::MoveScan { .. } => landing(next + 1),
            Insn::Guard { block, .. } => bc
                .blocks
                .get(block as usize)
                .is_some_and(|b| landing(b.skip) && (next as usize) < n),
            Insn::Halt => true,
            Insn::Add2 { .. } | Insn::MulMul1 { .. } => (next as usize) + 1 < n,
            _ => (next as usize) < n,
        };
        if !ok {
            return Err(bad("a jump lands outside the code or inside a block"));
        }
    }
    Ok(())
}

/// Pads the code with `Halt` to a power-of-two length, so the run loop fetches `code[pc & mask]`
/// with `mask = len - 1`: an index the compiler sees is in bounds (no bounds check per fetch),
/// and, since `check_targets` verified that every place execution continues at is an index of
/// the program's code, always `pc` itself.
pub(super) fn pad(bc: &mut Bytecode) {
    bc.len = bc.code.len();
    let padded = bc.len.next_power_of_two();
    // Exactly: an amortized growth could reserve twice the program's code.
    bc.code.reserve_exact(padded - bc.len);
    bc.code.resize(padded, Insn::Halt);
}

fn bad(what: &str) -> CompileError {
    CompileError::Bug(format!("bytecode: {what}"))
}
