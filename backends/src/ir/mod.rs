//! The intermediate representation every optimizing backend consumes.
//!
//! An IR program is a flat `Vec<Node>`: loops are `LoopStart` … `LoopEnd` pairs, matched with an explicit
//! stack ([`loop_partners`]) so nothing ever recurses on nesting depth. Every node carries the [`Span`]
//! of source commands it stands for; fusing nodes merges their spans.
//!
//! Bounds are kept exact by **guards** ([`blocks::guard`]): a straight-line block (the nodes between two
//! loop boundaries or scans) is preceded by a `Guard` holding the lowest and highest pointer offset the
//! block can reach. A backend checks both ends once; when the check fails it runs the block's source
//! span with the reference semantics ([`crate::runtime::exact::execute_exact`]), which raises the exact
//! error, at the exact position, after exactly the output the reference would have written. Inside a
//! guarded block, operations need no checks of their own. Whether a guard is checked at run time at
//! all is decided once per compilation by the guard plan ([`plan::PlannedIr`]), which every emitter
//! consumes.
//!
//! See `docs/semantics.md` for the contract and `docs/optimizer.md` for the passes.

pub mod blocks;
pub mod eval;
pub mod plan;

use std::fmt;

use crate::syntax::{CmdKind, Program};

/// A half-open range `[start, end)` of command indices in the parsed [`Program`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Span {
    /// Index of the first command.
    pub start: u32,
    /// One past the index of the last command.
    pub end: u32,
}

impl Span {
    /// The span of one command.
    pub fn single(cmd: usize) -> Span {
        Span {
            start: cmd as u32,
            end: cmd as u32 + 1,
        }
    }

    /// The smallest span covering both.
    pub fn merge(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// The command indices as a range.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// One target of a multiply loop: `cell[offset] += loop_cell * factor` (offsets relative to the loop cell).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MulTarget {
    /// Offset of the target cell from the loop cell (never 0).
    pub offset: i32,
    /// The factor, wrapping: 255 stands for -1.
    pub factor: u8,
}

/// The targets of a multiply loop, in ascending offset order, behind one pointer: multiply loops are
/// rare, and an inline vector would widen every node of the IR (a [`Node`] is 24 bytes, not 40).
// The box is the point: one pointer in the node instead of a vector's three words.
#[allow(clippy::box_collection)]
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct MulTargets(Box<Vec<MulTarget>>);

impl std::ops::Deref for MulTargets {
    type Target = Vec<MulTarget>;

    fn deref(&self) -> &Vec<MulTarget> {
        &self.0
    }
}

impl std::ops::DerefMut for MulTargets {
    fn deref_mut(&mut self) -> &mut Vec<MulTarget> {
        &mut self.0
    }
}

impl From<Vec<MulTarget>> for MulTargets {
    fn from(targets: Vec<MulTarget>) -> MulTargets {
        MulTargets(Box::new(targets))
    }
}

impl FromIterator<MulTarget> for MulTargets {
    fn from_iter<I: IntoIterator<Item = MulTarget>>(iter: I) -> MulTargets {
        MulTargets::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl<'a> IntoIterator for &'a MulTargets {
    type Item = &'a MulTarget;
    type IntoIter = std::slice::Iter<'a, MulTarget>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl PartialEq<Vec<MulTarget>> for MulTargets {
    fn eq(&self, other: &Vec<MulTarget>) -> bool {
        *self.0 == *other
    }
}

/// One IR operation. Offsets are relative to the current pointer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `+++` is `Add { offset: 0, delta: 3 }`; `>--<` folds to `Add { offset: 1, delta: 254 }`.
    Add {
        /// Cell offset.
        offset: i32,
        /// Wrapping amount added.
        delta: u8,
    },
    /// `>>>` is `Move { by: 3 }`, `<<` is `Move { by: -2 }`.
    Move {
        /// Signed distance.
        by: i32,
    },
    /// `[-]` is `Set { offset: 0, value: 0 }`; `[-]+++` is `Set { offset: 0, value: 3 }`.
    Set {
        /// Cell offset.
        offset: i32,
        /// The value stored.
        value: u8,
    },
    /// `[->+++>-<<]` is `MulLoop { offset: 0, targets: [(1, 3), (2, 255)] }`: when the loop cell `c` is
    /// non-zero, each target gains `c * factor` (wrapping) and the loop cell becomes 0; when it is zero,
    /// nothing happens. A `+1` loop (`[+>+<]`, 256 - c iterations) has its factors negated.
    MulLoop {
        /// Offset of the loop cell.
        offset: i32,
        /// The cells the loop adds to, in ascending offset order.
        targets: MulTargets,
    },
    /// `.` writes cell `offset`.
    Output {
        /// Cell offset.
        offset: i32,
    },
    /// `,` reads into cell `offset` (EOF per policy).
    Input {
        /// Cell offset.
        offset: i32,
    },
    /// `[>]` is `Scan { stride: 1 }`, `[<<<]` is `Scan { stride: -3 }`: move by `stride` until the
    /// current cell is zero. Not part of any block; a scan that would leave the tape re-runs its span
    /// exactly (from the scan's current pointer, which is a loop-iteration boundary) to raise the error.
    Scan {
        /// Signed step.
        stride: i32,
    },
    /// `[`: skip to after the matching `LoopEnd` when the current cell is zero; else enter (one fuel).
    LoopStart,
    /// `]`: go back to after the matching `LoopStart` when the current cell is non-zero (one fuel).
    LoopEnd,
    /// Precedes a straight-line block of `len` nodes whose pointer stays within `lo ..= hi` (relative to
    /// the block start; `lo <= 0 <= hi`). When `ptr + lo < 0` or `ptr + hi >= tape_len`, the block's
    /// span (this node's span) is executed exactly instead of its nodes.
    Guard {
        /// Lowest offset reached.
        lo: i32,
        /// Highest offset reached.
        hi: i32,
        /// Number of nodes in the block.
        len: u32,
    },
}

/// An IR operation with the source commands it stands for: 24 bytes on 64-bit hosts (the IR of a large
/// program is held while passes run, so its size is the compiler's memory).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Node {
    /// The operation.
    pub op: Op,
    /// The source commands it came from.
    pub span: Span,
}

impl Node {
    /// A node from an op and its span.
    pub fn new(op: Op, span: Span) -> Node {
        Node { op, span }
    }
}

/// Lowers a parsed program to IR, one node per command, without guards.
pub fn lower(program: &Program) -> Vec<Node> {
    lower_iter(program).collect()
}

/// The nodes of [`lower`] one at a time, so a consumer that folds them (the `fold-runs` pass) never
/// holds one node per command in memory.
pub fn lower_iter(program: &Program) -> impl ExactSizeIterator<Item = Node> + '_ {
    program.cmds().iter().enumerate().map(|(i, cmd)| {
        let op = match cmd.kind {
            CmdKind::Inc => Op::Add {
                offset: 0,
                delta: 1,
            },
            CmdKind::Dec => Op::Add {
                offset: 0,
                delta: 255,
            },
            CmdKind::Left => Op::Move { by: -1 },
            CmdKind::Right => Op::Move { by: 1 },
            CmdKind::Output => Op::Output { offset: 0 },
            CmdKind::Input => Op::Input { offset: 0 },
            CmdKind::Open => Op::LoopStart,
            CmdKind::Close => Op::LoopEnd,
        };
        Node::new(op, Span::single(i))
    })
}

/// For each `LoopStart` the index of its `LoopEnd` and vice versa (other entries are `u32::MAX`).
/// The IR must be bracket-balanced, as every lowering and pass leaves it.
pub fn loop_partners(nodes: &[Node]) -> Vec<u32> {
    let mut partners = vec![u32::MAX; nodes.len()];
    let mut stack = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        match node.op {
            Op::LoopStart => stack.push(i),
            Op::LoopEnd => {
                let open = stack.pop().expect("IR loops are balanced");
                partners[open] = i as u32;
                partners[i] = open as u32;
            }
            _ => {}
        }
    }
    assert!(stack.is_empty(), "IR loops are balanced");
    partners
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Add { offset, delta } => write!(f, "add [{offset}] {:+}", *delta as i8),
            Op::Move { by } => write!(f, "move {by:+}"),
            Op::Set { offset, value } => write!(f, "set [{offset}] = {value}"),
            Op::MulLoop { offset, targets } => {
                write!(f, "mul [{offset}] ->")?;
                for t in targets {
                    write!(f, " [{}]*{}", offset + t.offset, t.factor as i8)?;
                }
                Ok(())
            }
            Op::Output { offset } => write!(f, "out [{offset}]"),
            Op::Input { offset } => write!(f, "in [{offset}]"),
            Op::Scan { stride } => write!(f, "scan {stride:+}"),
            Op::LoopStart => f.write_str("loop {"),
            Op::LoopEnd => f.write_str("}"),
            Op::Guard { lo, hi, len } => write!(f, "guard [{lo}, {hi}] for {len}"),
        }
    }
}

/// The deepest loop level [`dump`] indents; deeper nodes carry their depth as a number instead, so
/// the listing of a million nested loops stays linear in their count.
pub const DUMP_MAX_INDENT: usize = 32;

/// Renders IR one node per line, indented by loop depth, each with the source position it came from.
pub fn dump(program: &Program, nodes: &[Node]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mut depth = 0usize;
    for node in nodes {
        if node.op == Op::LoopEnd {
            depth = depth.saturating_sub(1);
        }
        let at = if (node.span.start as usize) < program.len() {
            program
                .position_of_cmd(node.span.start as usize)
                .to_string()
        } else {
            "-".to_string()
        };
        let indent = "  ".repeat(depth.min(DUMP_MAX_INDENT));
        let _ = if depth > DUMP_MAX_INDENT {
            writeln!(out, "{at:>9}  {indent}(depth {depth}) {}", node.op)
        } else {
            writeln!(out, "{at:>9}  {indent}{}", node.op)
        };
        if node.op == Op::LoopStart {
            depth += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_node_is_24_bytes() {
        assert_eq!(std::mem::size_of::<Op>(), 16);
        assert_eq!(std::mem::size_of::<Node>(), 24);
    }

    #[test]
    fn a_deep_nest_dumps_in_linear_size() {
        let depth = 20_000;
        let source = format!("+{}{}", "[>".repeat(depth), "<-]".repeat(depth));
        let program = Program::parse(source.as_str()).unwrap();
        let nodes = lower(&program);
        let text = dump(&program, &nodes);
        let longest = text.lines().map(str::len).max().unwrap();
        assert!(longest < 2 * DUMP_MAX_INDENT + 60, "{longest}");
        assert!(
            text.contains(&format!("(depth {depth}) ")),
            "the depth is shown"
        );
    }

    #[test]
    fn lowering_is_one_node_per_command() {
        let p = Program::parse("+-<>.,[]x").unwrap();
        let ir = lower(&p);
        assert_eq!(ir.len(), 8);
        assert_eq!(
            ir[1].op,
            Op::Add {
                offset: 0,
                delta: 255
            }
        );
        assert_eq!(ir[6].span, Span { start: 6, end: 7 });
        assert_eq!(loop_partners(&ir)[6], 7);
    }

    #[test]
    fn dump_shows_positions_and_nesting() {
        let p = Program::parse("+[\n>]").unwrap();
        let text = dump(&p, &lower(&p));
        assert!(text.contains("      2:1    move +1"), "{text}");
    }
}
