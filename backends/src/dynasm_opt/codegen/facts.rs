//! The analyses `dynasm-opt` makes before emitting any code, as per-node facts: each block's layout
//! (its operations at offsets from the block start, reordered so a loop test can reuse flags) and its
//! cells' use counts (for register caching), the value of the current cell when it is known at compile
//! time (after `[-]`, a multiply loop, or a loop's exit), and which loops are innermost.
//!
//! Bounds are not decided here: the guard plan ([`crate::ir::plan`]) did that for every emitter.

use crate::ir::{Node, Op};

/// The layout of one straight-line block.
#[derive(Default)]
pub(super) struct BlockLayout {
    /// The index of the block's guard.
    pub guard: usize,
    /// `(offset of the pointer from the block start, node index)` per operation, moves left out.
    pub order: Vec<(i64, usize)>,
    /// The block's net move.
    pub total: i64,
    /// How many operations touch each cell, as `(offset from the block start, count)` sorted by offset.
    pub uses: Vec<(i64, u32)>,
}

/// Everything known about the nodes being compiled before code is emitted. Indices are into the
/// compiled slice.
pub(super) struct Facts {
    /// Per node: the current cell's value when control reaches it, when known at compile time.
    pub cell_before: Vec<Option<u8>>,
    /// Every block's layout, in program order (each taken when its block is emitted).
    pub blocks: Vec<BlockLayout>,
    /// Per node: for a `LoopStart`, whether its loop holds no other loop or scan.
    pub innermost: Vec<bool>,
}

impl Facts {
    /// The facts of `nodes` (planned IR, so every block is guarded and loops are balanced).
    pub(super) fn of(nodes: &[Node]) -> Facts {
        let mut facts = Facts {
            cell_before: vec![None; nodes.len()],
            // One layout per guard, sized up front (a doubling vector would hold up to twice that).
            blocks: Vec::with_capacity(
                nodes
                    .iter()
                    .filter(|n| matches!(n.op, Op::Guard { .. }))
                    .count(),
            ),
            innermost: vec![false; nodes.len()],
        };
        let mut cell = None;
        let mut i = 0;
        while i < nodes.len() {
            facts.cell_before[i] = cell;
            match nodes[i].op {
                Op::Guard { len, .. } => {
                    let end = (i + 1 + len as usize).min(nodes.len());
                    let tests_cell = matches!(
                        nodes.get(end).map(|n| &n.op),
                        Some(Op::LoopStart | Op::LoopEnd)
                    );
                    let layout = layout(nodes, i, end, tests_cell);
                    cell = cell_after_block(nodes, &layout.order, layout.total, cell);
                    facts.blocks.push(layout);
                    i = end;
                    continue;
                }
                Op::LoopStart => {
                    facts.innermost[i] = innermost_loop(nodes, i);
                    cell = None;
                }
                Op::LoopEnd | Op::Scan { .. } => cell = Some(0),
                _ => {}
            }
            i += 1;
        }
        facts
    }
}

/// Lays out the block of the guard at `g` (nodes `g + 1 .. end`).
fn layout(nodes: &[Node], g: usize, end: usize, tests_cell: bool) -> BlockLayout {
    let mut pos = 0i64;
    let mut order: Vec<(i64, usize)> = Vec::with_capacity(end - g);
    for (k, node) in nodes[g + 1..end].iter().enumerate() {
        match node.op {
            Op::Move { by } => pos += by as i64,
            _ => order.push((pos, g + 1 + k)),
        }
    }
    if tests_cell {
        move_test_cell_add_last(nodes, &mut order, pos);
    }
    let uses = count_uses(nodes, &order);
    BlockLayout {
        guard: g,
        order,
        total: pos,
        uses,
    }
}

/// Counts how many operations of the block touch each cell: cells used more than once are kept in
/// registers, the others are updated in memory directly (shorter code).
fn count_uses(nodes: &[Node], order: &[(i64, usize)]) -> Vec<(i64, u32)> {
    let mut touched: Vec<i64> = Vec::with_capacity(order.len() + 4);
    for &(at, i) in order {
        match &nodes[i].op {
            Op::Add { offset, .. }
            | Op::Set { offset, .. }
            | Op::Output { offset }
            | Op::Input { offset } => touched.push(at + *offset as i64),
            Op::MulLoop { offset, targets } => {
                let c = at + *offset as i64;
                touched.push(c);
                touched.extend(targets.iter().map(|t| c + t.offset as i64));
            }
            _ => {}
        }
    }
    touched.sort_unstable();
    let mut uses: Vec<(i64, u32)> = Vec::with_capacity(touched.len());
    for cell in touched {
        match uses.last_mut() {
            Some((last, n)) if *last == cell => *n += 1,
            _ => uses.push((cell, 1)),
        }
    }
    uses
}

/// Whether the loop opened at `start` contains no other loop or scan (its body is one block at most).
fn innermost_loop(nodes: &[Node], start: usize) -> bool {
    for node in &nodes[start + 1..] {
        match node.op {
            Op::LoopEnd => return true,
            Op::LoopStart | Op::Scan { .. } => return false,
            _ => {}
        }
    }
    true
}

/// Moves the last `Add` on the cell the next loop test reads (offset `total`) to the end of the block,
/// when no later operation of the block touches that cell, so the test can reuse its flags.
fn move_test_cell_add_last(nodes: &[Node], order: &mut Vec<(i64, usize)>, total: i64) {
    let touches = |at: i64, node: &Node| -> bool {
        match &node.op {
            Op::Add { offset, .. }
            | Op::Set { offset, .. }
            | Op::Output { offset }
            | Op::Input { offset } => at + *offset as i64 == total,
            Op::MulLoop { offset, targets } => {
                let c = at + *offset as i64;
                c == total || targets.iter().any(|t| c + t.offset as i64 == total)
            }
            _ => false,
        }
    };
    let Some(k) = order.iter().rposition(|&(at, i)| {
        matches!(nodes[i].op, Op::Add { offset, delta } if delta != 0 && at + offset as i64 == total)
    }) else {
        return;
    };
    if order[k + 1..].iter().any(|&(at, i)| touches(at, &nodes[i])) {
        return;
    }
    let entry = order.remove(k);
    order.push(entry);
}

/// The value of the cell at offset `total` (the current cell after the block) when the block's last
/// write to it makes it known: a `Set`, or a multiply loop on it. `before` is the current cell's value
/// before the block, kept when the block does not write the cell and ends where it started.
fn cell_after_block(
    nodes: &[Node],
    order: &[(i64, usize)],
    total: i64,
    before: Option<u8>,
) -> Option<u8> {
    for &(at, i) in order.iter().rev() {
        match &nodes[i].op {
            Op::Set { offset, value } if at + *offset as i64 == total => return Some(*value),
            Op::Add { offset, .. } | Op::Input { offset } if at + *offset as i64 == total => {
                return None
            }
            Op::MulLoop { offset, targets } => {
                let c = at + *offset as i64;
                if c == total {
                    return Some(0);
                }
                if targets.iter().any(|t| c + t.offset as i64 == total) {
                    return None;
                }
            }
            _ => {}
        }
    }
    if total == 0 {
        before
    } else {
        None
    }
}
