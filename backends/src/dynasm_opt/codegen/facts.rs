//! The analyses `dynasm-opt` makes before emitting each part of the code: a block's layout (its
//! operations at offsets from the block start, reordered so a loop test can reuse flags) and its
//! cells' use counts (for register caching), the value of the current cell when it is known at compile
//! time (after `[-]`, a multiply loop, or a loop's exit), and whether a loop is innermost.
//!
//! They are computed as the code generator's walk reaches each node, in program order, so nothing
//! per node or per block outlives the part of the code it is for (a million blocks cost no memory
//! beyond the one being emitted).
//!
//! Bounds are not decided here: the guard plan ([`crate::ir::plan`]) did that for every emitter.

use crate::ir::{Node, Op};

/// The layout of one straight-line block.
pub(super) struct BlockLayout {
    /// `(offset of the pointer from the block start, node index)` per operation, moves left out.
    pub order: Vec<(i64, usize)>,
    /// The block's net move.
    pub total: i64,
    /// How many operations touch each cell, as `(offset from the block start, count)` sorted by offset.
    pub uses: Vec<(i64, u32)>,
}

/// What is known where the walk over the nodes being compiled stands (planned IR, so every block is
/// guarded and loops are balanced). The walk steps over each guard with its block, and over each loop
/// boundary and scan, in order; indices are into the compiled slice.
#[derive(Default)]
pub(super) struct Facts {
    /// The current cell's value at the node the walk stands on, when known at compile time.
    cell: Option<u8>,
}

impl Facts {
    /// The current cell's value at the node the walk stands on, when known at compile time.
    pub(super) fn cell_before(&self) -> Option<u8> {
        self.cell
    }

    /// Lays out the block of the guard at `g` and steps past it.
    pub(super) fn block(&mut self, nodes: &[Node], g: usize) -> BlockLayout {
        let len = match nodes[g].op {
            Op::Guard { len, .. } => len as usize,
            _ => 0,
        };
        let end = (g + 1 + len).min(nodes.len());
        let tests_cell = matches!(
            nodes.get(end).map(|n| &n.op),
            Some(Op::LoopStart | Op::LoopEnd)
        );
        let layout = layout(nodes, g, end, tests_cell);
        self.cell = cell_after_block(nodes, &layout.order, layout.total, self.cell);
        layout
    }

    /// Steps past a `LoopStart` (the body's first test may see any value).
    pub(super) fn loop_start(&mut self) {
        self.cell = None;
    }

    /// Steps past a `LoopEnd` or a scan (both leave the current cell zero).
    pub(super) fn zero_cell(&mut self) {
        self.cell = Some(0);
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
pub(super) fn innermost_loop(nodes: &[Node], start: usize) -> bool {
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
