//! Superinstruction selection: fusing slots of flattened bytecode into the instructions that do the
//! work of several (`compile.rs` runs these passes, then verifies every target they produce).
//!
//! The shapes fused were chosen from measured opcode-pair frequencies on the benchmark workloads
//! (`docs/bytecode.md`): a block's last move, add or set followed by the loop test (or, for a move,
//! the scan) after it, two adds or two multiplies in a row, whole walk loops, decrement chains and
//! their entries, and loop exits into a one-operation block with a loop test.

use super::insn::Insn;
use super::landing::Landings;
use super::Bytecode;

/// Fuses pairs of slots into superinstructions (the second slot keeps its plain instruction).
pub(super) fn fuse(code: &mut [Insn]) {
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
pub(super) fn data_op_width(insn: &Insn) -> Option<usize> {
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
pub(super) fn fuse_walks(code: &mut [Insn]) {
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

/// The one data operation of a block an exit fusion runs.
#[derive(Clone, Copy)]
enum ExitOp {
    /// `ptr += by`.
    Move(i16),
    /// `cell[offset] = value`.
    Set(i16, u8),
}

/// The operation and plain loop test of a block of one move or set whose guard is at slot `g`
/// (its skip is the test, `g + 2`), when the operation's operand fits 16 bits.
fn one_op_block(bc: &Bytecode, g: usize) -> Option<(ExitOp, Insn)> {
    let Some(&Insn::Guard { block, .. }) = bc.code.get(g) else {
        return None;
    };
    if bc.blocks.get(block as usize)?.skip as usize != g + 2 {
        return None;
    }
    let op = match *bc.code.get(g + 1)? {
        Insn::MoveLoopStart { by, .. } | Insn::MoveLoopEnd { by, .. } => {
            ExitOp::Move(i16::try_from(by).ok()?)
        }
        Insn::SetLoopEnd { offset, value, .. } => ExitOp::Set(i16::try_from(offset).ok()?, value),
        _ => return None,
    };
    Some((op, *bc.code.get(g + 2)?))
}

/// Fuses the loop tests that lead into a block of one move and a loop test (the flag tests after a
/// decode, `<]>[`, `<]<]`, and a skipped `>[...]<]`) with that block: the first test's exit (or
/// skip) runs the block's guard (unless implied, `landing.rs`), move and test in the same handler
/// (BF before/after: the `<]>[` of `[[-]<]>[-]` runs as one `MoveLoopEndThenStart`, not a
/// `MoveLoopEnd` then a `MoveLoopStart`; `>[-]<]>[-]<]` ends in a `SetLoopEndThenSetEnd`).
/// Runs after the landing skips, so the targets it copies are final.
pub(super) fn fuse_exits(bc: &mut Bytecode, landings: &Landings<'_>) {
    for m in 0..bc.code.len() {
        let fused = match bc.code[m] {
            Insn::MoveLoopEnd { by, body, .. } => match one_op_block(bc, m + 2) {
                Some((ExitOp::Move(by2), Insn::LoopStart { exit, .. })) => {
                    Insn::MoveLoopEndThenStart {
                        by,
                        body,
                        exit,
                        by2,
                        check: !landings.falls_through(m, m + 2),
                    }
                }
                Some((ExitOp::Move(by2), Insn::LoopEnd { body: body2, .. })) => {
                    Insn::MoveLoopEndThenEnd {
                        by,
                        body,
                        body2,
                        by2,
                        check: !landings.falls_through(m, m + 2),
                    }
                }
                _ => continue,
            },
            Insn::SetLoopEnd {
                offset,
                value,
                body,
                ..
            } => {
                let Ok(offset) = i16::try_from(offset) else {
                    continue;
                };
                let check = !landings.falls_through(m, m + 2);
                match one_op_block(bc, m + 2) {
                    Some((ExitOp::Set(offset2, value2), Insn::LoopEnd { body: body2, .. })) => {
                        Insn::SetLoopEndThenSetEnd {
                            offset,
                            value,
                            body,
                            offset2,
                            value2,
                            body2,
                            check,
                        }
                    }
                    Some((ExitOp::Move(by2), Insn::LoopEnd { body: body2, .. })) => {
                        Insn::SetLoopEndThenMoveEnd {
                            offset,
                            value,
                            body,
                            by2,
                            body2,
                            check,
                        }
                    }
                    _ => continue,
                }
            }
            Insn::MoveLoopStart { by, exit, .. } => {
                // The skip lands on the guard after the loop, or past it when implied.
                let exit = exit as usize;
                let (guard, check) = match bc.code.get(exit) {
                    Some(Insn::Guard { .. }) => (exit, true),
                    _ => (exit - 1, false),
                };
                match one_op_block(bc, guard) {
                    Some((ExitOp::Move(by2), Insn::LoopEnd { body: body2, .. })) => {
                        Insn::MoveLoopSkipThenEnd {
                            by,
                            guard: guard as u32,
                            body2,
                            by2,
                            check,
                        }
                    }
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
pub(super) const MAX_CHAIN: usize = 255;

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
pub(super) fn fuse_chains(bc: &mut Bytecode) {
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

/// Turns each `AddMoveLoopStart` whose body is a chain level (its guard of offset 0 only, then a
/// `DecChain`) into an `AddMoveLoopStartChain`.
pub(super) fn fuse_chain_entries(code: &mut [Insn], tape_len: usize) {
    for i in 0..code.len() {
        if let Insn::AddMoveLoopStart {
            offset,
            delta,
            by,
            exit,
            id,
        } = code[i]
        {
            if chain_body(code, i + 3, tape_len) {
                code[i] = Insn::AddMoveLoopStartChain {
                    offset,
                    delta,
                    by,
                    exit,
                    id,
                };
            }
        }
    }
}

/// Whether slot `b` is a guard of offset 0 only (`lo = 0`, `limit = tape_len`) followed by a
/// `DecChain`.
pub(super) fn chain_body(code: &[Insn], b: usize, tape_len: usize) -> bool {
    matches!(code.get(b), Some(&Insn::Guard { lo: 0, limit, .. }) if limit as usize == tape_len)
        && matches!(code.get(b + 1), Some(Insn::DecChain { .. }))
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

/// Whether slot `g` starts a block an exit fusion runs: a guard, the block's move and a plain
/// `LoopStart` (`start`) or `LoopEnd`.
pub(super) fn exit_block(bc: &Bytecode, g: usize, start: bool) -> bool {
    matches!(bc.code.get(g), Some(Insn::Guard { .. }))
        && matches!(
            (bc.code.get(g + 2), start),
            (Some(Insn::LoopStart { .. }), true) | (Some(Insn::LoopEnd { .. }), false)
        )
}
