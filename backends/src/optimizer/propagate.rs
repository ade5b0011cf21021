//! The `known` pass: rewrites that use the known-value analysis ([`super::known`]).

use std::collections::HashSet;

use super::compact::Compactor;
use super::{FactsCache, FastBuild};

use super::map_blocks;
use crate::ir::blocks::in_block;
use crate::ir::{loop_partners, Node, Op, Span};

/// Uses the values cells are known to hold: dead loops go, adds on known cells become sets, sets
/// that store the value a cell already holds go, multiply-adds from a known cell become adds, and a
/// loop that provably runs exactly once loses its brackets.
///
/// ```text
/// before: >+<[->+<]          add [1] +1, mul [0] -> [1]*1     (cell 0 is 0: the multiply goes)
/// after:  >+<[->+<]          set [1] = 1
/// before: ++++[->+++<]       set [0] = 4, mul [0] -> [1]*3    (cell 0 is 4: 12 is added)
/// after:  ++++[->+++<]       set [1] = 12, set [0] = 0
/// before: [-]>[-]<           set [0] = 0, set [1] = 0         (cell 1 is 0 already)
/// after:  [-]>[-]<           set [0] = 0
/// before: +[>.<[-]]          add [0] +1, loop { out [1], set [0] = 0 }   (runs once: cell 0 is 1
/// after:  +[>.<[-]]          set [0] = 1, out [1], set [0] = 0           on entry, 0 at the end)
/// before: [-][>+<]           set [0] = 0, loop { ... }        (cell 0 is 0: the loop goes)
/// after:  [-][>+<]           set [0] = 0
/// before: ,[-]+++[-]--       in [0], set [0] = 3, set [0] = 254   (the first set is never read)
/// after:  ,[-]+++[-]--       in [0], set [0] = 254
/// ```
///
/// A loop loses its brackets only when its body ends where it started (so the source walk of the
/// guard stays exact) and the analysis shows its cell non-zero on entry and zero before the `]`.
/// A removed node hands its span to a block-mate; the brackets of a once-only loop do the same, or
/// become a `move +0` when no block-mate is next to them. Dropped loops and multiply-adds charge no
/// fuel; a once-only loop charged one unit on entry and now charges none.
pub fn propagate(nodes: Vec<Node>) -> Vec<Node> {
    propagate_with(nodes, &mut FactsCache::default())
}

/// [`propagate`], with the analysis of `nodes` from `cache`.
pub(crate) fn propagate_with(mut nodes: Vec<Node>, cache: &mut FactsCache) -> Vec<Node> {
    let known = cache.get(&nodes);
    let partners = loop_partners(&nodes);
    // Written over the input as it is read (see `Compactor`).
    let mut out = Output::default();
    // `]` of loops whose brackets were dropped.
    let mut dropped_ends = vec![false; nodes.len()];
    let mut i = 0;
    while i < nodes.len() {
        // Each node is moved out once (a `]` stands in), so kept nodes are not copied.
        let node = super::take(&mut nodes, i);
        let cell = |offset: i32| known.before(i, offset);
        // Slots up to `i` are spent.
        let mut out = out.at(&mut nodes, i + 1);
        match &node.op {
            Op::LoopStart => {
                let end = partners[i] as usize;
                if cell(0) == Some(0) {
                    // Dead: never entered, so neither output nor fuel changes.
                    i = end + 1;
                    continue;
                }
                let runs_once = matches!(cell(0), Some(v) if v != 0)
                    && known.summary(i).is_some()
                    && known.before(end, 0) == Some(0);
                if runs_once {
                    dropped_ends[end] = true;
                    out.hand_over(node.span);
                } else {
                    out.push(node);
                }
            }
            Op::LoopEnd if dropped_ends[i] => out.hand_over(node.span),
            Op::Add { offset, delta } => match cell(*offset) {
                Some(v) => out.push(Node::new(
                    Op::Set {
                        offset: *offset,
                        value: v.wrapping_add(*delta),
                    },
                    node.span,
                )),
                None => out.push(node),
            },
            Op::Set { offset, value } if cell(*offset) == Some(*value) => {
                out.drop_node(node);
            }
            Op::MulLoop { offset, targets } => match cell(*offset) {
                Some(0) => out.drop_node(node),
                Some(k) => {
                    for t in targets {
                        let at = offset + t.offset;
                        let add = k.wrapping_mul(t.factor);
                        let op = match cell(at) {
                            Some(v) => Op::Set {
                                offset: at,
                                value: v.wrapping_add(add),
                            },
                            None => Op::Add {
                                offset: at,
                                delta: add,
                            },
                        };
                        out.push(Node::new(op, node.span));
                    }
                    out.push(Node::new(
                        Op::Set {
                            offset: *offset,
                            value: 0,
                        },
                        node.span,
                    ));
                }
                None => out.push(node),
            },
            _ => out.push(node),
        }
        i += 1;
    }
    // The loop tables are spent: freed before the dead-store walk.
    drop((partners, dropped_ends));
    // One scratch set for every block (no allocation per block).
    let mut overwritten = Overwritten::default();
    map_blocks(out.finish(nodes), |block, out| {
        drop_dead_stores(block, out, &mut overwritten)
    })
}

/// Removes adds, sets and multiply-adds whose every write a later set in the same block overwrites
/// before anything reads it; each hands its span to the next node kept. Takes the nodes of `block`
/// and appends the kept ones to `out`.
fn drop_dead_stores(block: &mut Vec<Node>, out: &mut Vec<Node>, overwritten: &mut Overwritten) {
    // Only a set makes a store dead: without one, every node stays.
    if !block.iter().any(|node| matches!(node.op, Op::Set { .. })) {
        out.append(block);
        return;
    }
    // The kept nodes go to `out` last first, then are put in order.
    let first = out.len();
    super::reset_scratch(overwritten, overwritten.capacity(), HashSet::clear);
    let mut pos = 0i64;
    for node in block.drain(..).rev() {
        let at = |offset: i32| pos + offset as i64;
        let dead = match &node.op {
            Op::Set { offset, .. } => !overwritten.insert(at(*offset)),
            Op::Add { offset, .. } => overwritten.contains(&at(*offset)),
            Op::MulLoop { offset, targets } => {
                let from = at(*offset);
                let dead = overwritten.contains(&from)
                    && targets
                        .iter()
                        .all(|t| overwritten.contains(&(from + t.offset as i64)));
                // A live multiply reads its loop cell; it also reads each target, but only to add to
                // it, so a target a later set overwrites stays overwritten.
                if !dead {
                    overwritten.remove(&from);
                }
                dead
            }
            Op::Output { offset } | Op::Input { offset } => {
                overwritten.remove(&at(*offset));
                false
            }
            Op::Move { by } => {
                pos -= *by as i64;
                false
            }
            _ => false,
        };
        match out[first..].last_mut() {
            Some(later) if dead => later.span = later.span.merge(node.span),
            _ => out.push(node),
        }
    }
    out[first..].reverse();
}

/// Cells (relative to the pointer at the block end) a later set overwrites, unread since.
type Overwritten = HashSet<i64, FastBuild>;

/// The pass's output, with spans waiting for the next block node.
#[derive(Default)]
struct Output {
    nodes: Compactor,
    pending: Option<Span>,
}

impl Output {
    /// The output, written over `nodes`, whose slots before `read` are spent.
    fn at<'a>(&'a mut self, nodes: &'a mut [Node], read: usize) -> OutputAt<'a> {
        OutputAt {
            out: self,
            nodes,
            read,
        }
    }

    fn finish(mut self, mut nodes: Vec<Node>) -> Vec<Node> {
        if let Some(span) = self.pending.take() {
            let read = nodes.len();
            self.nodes
                .put(&mut nodes, read, Node::new(Op::Move { by: 0 }, span));
        }
        self.nodes.finish(nodes)
    }
}

/// [`Output`] while one input node is rewritten.
struct OutputAt<'a> {
    out: &'a mut Output,
    nodes: &'a mut [Node],
    read: usize,
}

impl OutputAt<'_> {
    /// Whether the input node after the one being rewritten is in a block.
    fn next_in_block(&self) -> bool {
        self.nodes.get(self.read).is_some_and(|n| in_block(&n.op))
    }

    fn put(&mut self, node: Node) {
        self.out.nodes.put(self.nodes, self.read, node);
    }

    fn push(&mut self, mut node: Node) {
        if let Some(span) = self.out.pending.take() {
            if in_block(&node.op) {
                node.span = node.span.merge(span);
            } else {
                self.put(Node::new(Op::Move { by: 0 }, span));
            }
        }
        self.put(node);
    }

    /// Gives `span` (of a node that goes away) to the block node before it or the one after it;
    /// when neither is in a block, keeps it in a `move +0`.
    fn hand_over(&mut self, span: Span) {
        if let Some(pending) = self.out.pending.take() {
            self.put(Node::new(Op::Move { by: 0 }, pending));
        }
        if let Some(last) = self.out.nodes.last_mut(self.nodes) {
            if in_block(&last.op) {
                last.span = last.span.merge(span);
                return;
            }
        }
        if self.next_in_block() {
            self.out.pending = Some(span);
        } else {
            self.put(Node::new(Op::Move { by: 0 }, span));
        }
    }

    /// Removes `node`, which does nothing, unless it is the only node of its block.
    fn drop_node(&mut self, node: Node) {
        let mate_before = self.out.pending.is_some()
            || self
                .out
                .nodes
                .last(self.nodes)
                .is_some_and(|last| in_block(&last.op));
        if mate_before || self.next_in_block() {
            self.hand_over(node.span);
        } else {
            self.put(node);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimizer::{run_passes, PassList};
    use crate::syntax::Program;

    fn ops(src: &str, passes: &[&str]) -> Vec<Op> {
        let program = Program::parse(src).unwrap();
        run_passes(crate::ir::lower(&program), &PassList::only(passes))
            .into_iter()
            .map(|n| n.op)
            .collect()
    }

    const BASE: [&str; 5] = ["fold-runs", "clear", "mul", "offsets", "known"];

    #[test]
    fn multiply_from_a_known_cell_becomes_sets() {
        assert_eq!(
            ops(",[-]++++[->+++<]", &BASE),
            vec![
                Op::Input { offset: 0 },
                Op::Set {
                    offset: 1,
                    value: 12
                },
                Op::Set {
                    offset: 0,
                    value: 0
                }
            ]
        );
        // On a fresh tape cell 0 ends 0 as it started: only the target is left.
        assert_eq!(
            ops("++++[->+++<]", &BASE),
            vec![Op::Set {
                offset: 1,
                value: 12
            }]
        );
        // A multiply from a cell known to be 0 goes.
        assert_eq!(
            ops(">+<[->+<]", &BASE),
            vec![Op::Set {
                offset: 1,
                value: 1
            }]
        );
    }

    #[test]
    fn nest_of_counting_loops_folds_to_known_values() {
        let ir = ops("++++[>+++++[>+++<-]<-]>>.", &BASE);
        assert!(
            ir.contains(&Op::Set {
                offset: 2,
                value: 60
            }),
            "{ir:?}"
        );
        assert!(!ir.contains(&Op::LoopStart), "{ir:?}");
    }

    #[test]
    fn loop_that_runs_once_loses_its_brackets() {
        let ir = ops("+[>.<[-]]", &BASE);
        assert!(!ir.contains(&Op::LoopStart), "{ir:?}");
        assert!(ir.contains(&Op::Output { offset: 1 }), "{ir:?}");
        // Unknown condition: stays a loop.
        let ir = ops(",[>.<[-]]", &BASE);
        assert!(ir.contains(&Op::LoopStart), "{ir:?}");
    }

    #[test]
    fn sets_of_the_value_a_cell_holds_go() {
        let ir = ops("[-]>[-]<.", &["fold-runs", "clear", "known"]);
        assert!(!ir.iter().any(|op| matches!(op, Op::Set { .. })), "{ir:?}");
    }

    fn dead_stores(block: Vec<Op>) -> Vec<Op> {
        let mut nodes = (0..)
            .zip(block)
            .map(|(at, op)| Node::new(op, Span::single(at)))
            .collect();
        let mut kept = Vec::new();
        drop_dead_stores(&mut nodes, &mut kept, &mut Overwritten::default());
        kept.into_iter().map(|n| n.op).collect()
    }

    #[test]
    fn dead_stores_see_every_read_and_the_moves_between() {
        let add = |offset, delta| Op::Add { offset, delta };
        let set = |offset, value| Op::Set { offset, value };
        let mul = |offset, to, factor| Op::MulLoop {
            offset,
            targets: vec![crate::ir::MulTarget { offset: to, factor }].into(),
        };
        // An add or a set that a later set overwrites goes.
        assert_eq!(dead_stores(vec![add(2, 1), set(2, 5)]), [set(2, 5)]);
        assert_eq!(dead_stores(vec![set(2, 1), set(2, 5)]), [set(2, 5)]);
        // Output reads the cell, input may keep it (EOF policy `unchanged`): both keep the store.
        for between in [Op::Output { offset: 2 }, Op::Input { offset: 2 }] {
            let block = vec![set(2, 1), between, set(2, 5)];
            assert_eq!(dead_stores(block.clone()), block);
        }
        // The same cell through a move: `out [1]` one cell to the right reads cell 2.
        let block = vec![
            set(2, 1),
            Op::Move { by: 1 },
            Op::Output { offset: 1 },
            Op::Move { by: -1 },
            set(2, 5),
        ];
        assert_eq!(dead_stores(block.clone()), block);
        // A multiply reads its loop cell: the add to it stays.
        let block = vec![add(1, 1), mul(1, 2, 3), set(1, 5)];
        assert_eq!(dead_stores(block.clone()), block);
        // A multiply whose loop cell and targets are all overwritten goes; so does a store to a
        // target that is overwritten after the multiply added to it.
        assert_eq!(
            dead_stores(vec![mul(1, 2, 3), set(1, 0), set(3, 9)]),
            [set(1, 0), set(3, 9)]
        );
        assert_eq!(
            dead_stores(vec![mul(1, 2, 3), set(3, 9)]),
            [mul(1, 2, 3), set(3, 9)]
        );
        assert_eq!(
            dead_stores(vec![set(3, 4), mul(1, 2, 3), set(3, 9)]),
            [mul(1, 2, 3), set(3, 9)]
        );
    }

    #[test]
    fn stores_overwritten_before_a_read_go() {
        let ir = ops(
            ",>,<[-]+++>++<[-]-->+.",
            &["fold-runs", "clear", "offsets", "known"],
        );
        assert_eq!(
            ir[2..],
            [
                Op::Add {
                    offset: 1,
                    delta: 3
                },
                Op::Set {
                    offset: 0,
                    value: 254
                },
                Op::Output { offset: 1 },
                Op::Move { by: 1 }
            ],
            "{ir:?}"
        );
    }
}
