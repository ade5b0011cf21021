//! Flattening guarded IR into bytecode: one slot per IR node with loop jumps resolved, every guard
//! checked to cover its block, then superinstructions fused over pairs of slots.
//!
//! The pairs fused were chosen from measured opcode-pair frequencies on the benchmark workloads
//! (`docs/bytecode.md`): a block's last move, add or set followed by the loop test (or, for a move,
//! the scan) after it, and two adds in a row.

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

/// Flattens planned IR of `program` (one instruction per node, plus a final `Halt`).
pub(super) fn compile(program: &Program, planned: &PlannedIr) -> Result<Bytecode, CompileError> {
    let nodes = planned.nodes();
    if nodes.len() > MAX_INSNS {
        return Err(CompileError::TooLarge(format!(
            "{} IR nodes; bytecode holds at most {MAX_INSNS}",
            nodes.len()
        )));
    }
    let mut bc = Bytecode {
        program: program.clone(),
        code: Vec::with_capacity((nodes.len() + 1).next_power_of_two()),
        len: 0,
        blocks: Vec::new(),
        targets: Vec::new(),
        scans: Vec::new(),
        loop_headers: Vec::new(),
        chains: Vec::new(),
        tape_len: planned.tape_len(),
    };
    // Whether each slot is inside a block after its first node: no jump may land there.
    let mut inside = vec![false; nodes.len() + 1];
    // What each guard verifies, for the landing tests jumps can skip.
    let mut landings = Landings::new(nodes.len() + 1);
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
                landings.add_block(index, guard.check, planned.decision(index), body);
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
    landings.skip_implied(&mut bc);
    fuse_exits(&mut bc, &landings);
    check_targets(&bc, &inside)?;
    pad(&mut bc);
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

/// Fuses pairs of slots into superinstructions (the second slot keeps its plain instruction).
fn fuse(code: &mut [Insn]) {
    let mut i = 0;
    while i + 1 < code.len() {
        if let Some(insn) = add_move_then(code, i) {
            code[i] = insn;
            i += 3;
            continue;
        }
        let fused = match (code[i], code[i + 1]) {
            (
                first @ (Insn::Mul1 { .. } | Insn::Mul2 { .. }),
                Insn::Mul1 { offset, to, factor },
            ) => mul_mul1(first, offset, to, factor),
            (Insn::Move { by }, Insn::LoopEnd { body, id }) => {
                Some(Insn::MoveLoopEnd { by, body, id })
            }
            (Insn::Move { by }, Insn::LoopStart { exit, id }) => {
                Some(Insn::MoveLoopStart { by, exit, id })
            }
            (Insn::Move { by }, Insn::Scan { stride, span }) => {
                Some(Insn::MoveScan { by, stride, span })
            }
            (Insn::Add { offset, delta }, Insn::LoopStart { exit, id }) => {
                Some(Insn::AddLoopStart {
                    offset,
                    delta,
                    exit,
                    id,
                })
            }
            (Insn::Add { offset, delta }, Insn::LoopEnd { body, id }) => Some(Insn::AddLoopEnd {
                offset,
                delta,
                body,
                id,
            }),
            (Insn::Set { offset, value }, Insn::LoopStart { exit, id }) => {
                Some(Insn::SetLoopStart {
                    offset,
                    value,
                    exit,
                    id,
                })
            }
            (Insn::Set { offset, value }, Insn::LoopEnd { body, id }) => Some(Insn::SetLoopEnd {
                offset,
                value,
                body,
                id,
            }),
            (
                Insn::Add { offset, delta },
                Insn::Add {
                    offset: offset2,
                    delta: delta2,
                },
            ) => Some(Insn::Add2 {
                offset,
                offset2,
                delta,
                delta2,
            }),
            _ => None,
        };
        match fused {
            Some(insn) => {
                code[i] = insn;
                i += 2;
            }
            None => i += 1,
        }
    }
}

/// An `Add` (offset within 16 bits) and a `Move` at `i`, followed by a `LoopStart` or a `Scan`, as
/// one `AddMoveLoopStart` or `AddMoveScan`.
fn add_move_then(code: &[Insn], i: usize) -> Option<Insn> {
    let (Insn::Add { offset, delta }, Some(&Insn::Move { by }), Some(&third)) =
        (code[i], code.get(i + 1), code.get(i + 2))
    else {
        return None;
    };
    let offset = i16::try_from(offset).ok()?;
    match third {
        Insn::LoopStart { exit, id } => Some(Insn::AddMoveLoopStart {
            offset,
            delta,
            by,
            exit,
            id,
        }),
        Insn::Scan { stride, span } => Some(Insn::AddMoveScan {
            offset,
            delta,
            by,
            stride,
            span,
        }),
        _ => None,
    }
}

/// The slots a data operation of a block covers (`None` for other instructions).
fn data_op_width(insn: &Insn) -> Option<usize> {
    match insn {
        Insn::Add { .. }
        | Insn::Set { .. }
        | Insn::Mul { .. }
        | Insn::Mul1 { .. }
        | Insn::Mul2 { .. } => Some(1),
        Insn::Add2 { .. } | Insn::MulMul1 { .. } => Some(2),
        _ => None,
    }
}

/// Turns each `MoveLoopEnd` whose loop body is its guard, one data operation and the move into a
/// `WalkLoopEnd`.
fn fuse_walks(code: &mut [Insn]) {
    for m in 0..code.len() {
        let Insn::MoveLoopEnd { by, body, id, .. } = code[m] else {
            continue;
        };
        let b = body as usize;
        if !matches!(code[b], Insn::Guard { .. }) {
            continue;
        }
        if data_op_width(&code[b + 1]).is_some_and(|w| b + 1 + w == m) {
            code[m] = Insn::WalkLoopEnd { by, body, id };
        }
    }
}

/// The plain `Move` and loop test of a one-move block whose guard is at slot `g`: `(by, test)`
/// when the block is just that move (its skip is the test, `g + 2`) and the move fits 16 bits.
fn one_move_block(bc: &Bytecode, g: usize) -> Option<(i16, Insn)> {
    let Some(&Insn::Guard { block, .. }) = bc.code.get(g) else {
        return None;
    };
    if bc.blocks.get(block as usize)?.skip as usize != g + 2 {
        return None;
    }
    let by = match bc.code.get(g + 1)? {
        Insn::MoveLoopStart { by, .. } | Insn::MoveLoopEnd { by, .. } => i16::try_from(*by).ok()?,
        _ => return None,
    };
    Some((by, *bc.code.get(g + 2)?))
}

/// Fuses the loop tests that lead into a block of one move and a loop test (the flag tests after a
/// decode, `<]>[`, `<]<]`, and a skipped `>[...]<]`) with that block: the first test's exit (or
/// skip) runs the block's guard (unless implied, `landing.rs`), move and test in the same handler
/// (BF before/after: `[-<]>[->]` runs as `MoveLoopEndThenStart` then the plain second loop).
/// Runs after the landing skips, so the targets it copies are final.
fn fuse_exits(bc: &mut Bytecode, landings: &Landings) {
    for m in 0..bc.code.len() {
        let fused = match bc.code[m] {
            Insn::MoveLoopEnd { by, body, .. } => match one_move_block(bc, m + 2) {
                Some((by2, Insn::LoopStart { exit, .. })) => Insn::MoveLoopEndThenStart {
                    by,
                    body,
                    exit,
                    by2,
                    check: !landings.falls_through(m, m + 2),
                },
                Some((by2, Insn::LoopEnd { body: body2, .. })) => Insn::MoveLoopEndThenEnd {
                    by,
                    body,
                    body2,
                    by2,
                    check: !landings.falls_through(m, m + 2),
                },
                _ => continue,
            },
            Insn::MoveLoopStart { by, exit, .. } => {
                // The skip lands on the guard after the loop, or past it when implied.
                let exit = exit as usize;
                let (guard, check) = match bc.code.get(exit) {
                    Some(Insn::Guard { .. }) => (exit, true),
                    _ => (exit - 1, false),
                };
                match one_move_block(bc, guard) {
                    Some((by2, Insn::LoopEnd { body: body2, .. })) => Insn::MoveLoopSkipThenEnd {
                        by,
                        guard: guard as u32,
                        body2,
                        by2,
                        check,
                    },
                    _ => continue,
                }
            }
            _ => continue,
        };
        bc.code[m] = fused;
    }
}

/// The most levels one [`Insn::DecChain`] covers (a cell reaches 0 within 255 decrements unless it
/// starts at 0).
const MAX_CHAIN: usize = 255;

/// Whether slot `s` is a chain level: `-[` on the cell itself (the `AddLoopStart` of a one-node
/// block, its `LoopStart` in the next slot).
fn is_level(code: &[Insn], s: usize) -> bool {
    matches!(
        code.get(s),
        Some(Insn::AddLoopStart {
            offset: 0,
            delta: 255,
            ..
        })
    )
}

/// Whether the level at slot `s` has another level nested directly in it: its body is a guard that
/// passes wherever the cell can be tested (offset 0 only: `lo = 0`, `limit = tape_len`) followed by
/// a level.
fn has_inner_level(code: &[Insn], s: usize, tape_len: usize) -> bool {
    matches!(code.get(s + 2), Some(&Insn::Guard { lo: 0, limit, .. }) if limit as usize == tape_len)
        && is_level(code, s + 3)
}

/// Turns every chain of two or more directly nested `-[` levels into [`Insn::DecChain`]s (one per
/// level, each covering the levels inside it, at most [`MAX_CHAIN`]), filling the chain table.
fn fuse_chains(bc: &mut Bytecode) {
    let code = &mut bc.code;
    let heads: Vec<usize> = (0..code.len())
        .filter(|&s| {
            is_level(code, s)
                && !(s >= 3 && is_level(code, s - 3) && has_inner_level(code, s - 3, bc.tape_len))
        })
        .collect();
    for head in heads {
        // The levels from `head` inward, in segments of at most MAX_CHAIN levels.
        let mut levels = vec![head];
        while has_inner_level(code, *levels.last().unwrap(), bc.tape_len) {
            levels.push(levels.last().unwrap() + 3);
        }
        for segment in levels.chunks(MAX_CHAIN) {
            if segment.len() < 2 {
                continue;
            }
            let first = bc.chains.len();
            for &s in segment {
                let Insn::AddLoopStart { exit, .. } = code[s] else {
                    unreachable!("chain levels are AddLoopStart slots");
                };
                bc.chains.push(exit);
            }
            bc.chains.push((segment[segment.len() - 1] + 2) as u32);
            for (m, &s) in segment.iter().enumerate() {
                code[s] = Insn::DecChain {
                    first: (first + m) as u32,
                    count: (segment.len() - m) as u32,
                };
            }
        }
    }
}

/// A `Mul1`/`Mul2` followed by a `Mul1` (`offset_b`, `to_b`, `factor_b`) as one `MulMul1`, when every
/// offset fits 16 bits.
fn mul_mul1(first: Insn, offset_b: i32, to_b: i32, factor_b: u8) -> Option<Insn> {
    let (offset, to, to2, factor, factor2) = match first {
        Insn::Mul1 { offset, to, factor } => (offset, to, to, factor, 0),
        Insn::Mul2 {
            offset,
            to,
            to2,
            factor,
            factor2,
        } => (offset, to, to2, factor, factor2),
        _ => return None,
    };
    let short = |v: i32| i16::try_from(v).ok();
    Some(Insn::MulMul1 {
        offset: short(offset)?,
        to: short(to)?,
        to2: short(to2)?,
        offset_b: short(offset_b)?,
        to_b: short(to_b)?,
        factor,
        factor2,
        factor_b,
    })
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
            Insn::MoveLoopEndThenStart { body, exit, .. } => {
                landing(body)
                    && landing(exit)
                    && landing(next + 1)
                    && landing(next + 4)
                    && exit_block(bc, i + 2, true)
                    && matches!(bc.code[i + 1], Insn::LoopEnd { .. })
            }
            Insn::MoveLoopEndThenEnd { body, body2, .. } => {
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
fn pad(bc: &mut Bytecode) {
    bc.len = bc.code.len();
    bc.code.resize(bc.len.next_power_of_two(), Insn::Halt);
}

/// Whether slot `g` starts a block an exit fusion runs: a guard, the block's move and a plain
/// `LoopStart` (`start`) or `LoopEnd`.
fn exit_block(bc: &Bytecode, g: usize, start: bool) -> bool {
    matches!(bc.code.get(g), Some(Insn::Guard { .. }))
        && matches!(
            (bc.code.get(g + 2), start),
            (Some(Insn::LoopStart { .. }), true) | (Some(Insn::LoopEnd { .. }), false)
        )
}

fn bad(what: &str) -> CompileError {
    CompileError::Bug(format!("bytecode: {what}"))
}
