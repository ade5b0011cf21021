//! Writing a pass's output over its input: the output is compacted into the front of the input
//! vector as the input is read, so a pass holds one IR-sized vector, not two. Also the two shared
//! walks built on it: over loops ([`fold_loops`]) and over straight-line blocks ([`map_blocks`]).

use std::collections::VecDeque;

use crate::ir::blocks::in_block;
use crate::ir::{Node, Op};

/// The output of a pass written into the front of its input vector, `nodes[..len]`, behind the
/// read position; nodes a rewrite puts out faster than it reads (a node growing into several) wait
/// in a queue for the next spent slots, so the order is kept and the walk stays linear.
#[derive(Default)]
pub(super) struct Compactor {
    len: usize,
    waiting: VecDeque<Node>,
}

impl Compactor {
    /// Appends `node` to the output; every slot of `nodes` before `read` is spent (moved out or
    /// skipped), the slots from `read` on are still to be read.
    #[inline]
    pub(super) fn put(&mut self, nodes: &mut [Node], read: usize, node: Node) {
        if self.waiting.is_empty() && self.len < read {
            nodes[self.len] = node;
            self.len += 1;
            return;
        }
        self.waiting.push_back(node);
        while self.len < read {
            let Some(next) = self.waiting.pop_front() else {
                break;
            };
            nodes[self.len] = next;
            self.len += 1;
        }
    }

    /// Appends node `index` as it is (the slots before it are spent, and it is read now).
    #[inline]
    pub(super) fn keep(&mut self, nodes: &mut [Node], index: usize) {
        if self.waiting.is_empty() {
            nodes.swap(self.len, index);
            self.len += 1;
        } else {
            let node = super::take(nodes, index);
            self.put(nodes, index + 1, node);
        }
    }

    /// The last node of the output so far.
    pub(super) fn last<'a>(&'a self, nodes: &'a [Node]) -> Option<&'a Node> {
        self.waiting.back().or_else(|| nodes[..self.len].last())
    }

    /// The last node of the output so far, to change.
    pub(super) fn last_mut<'a>(&'a mut self, nodes: &'a mut [Node]) -> Option<&'a mut Node> {
        match self.waiting.back_mut() {
            Some(last) => Some(last),
            None => nodes[..self.len].last_mut(),
        }
    }

    /// The output, once the whole input is spent.
    pub(super) fn finish(self, mut nodes: Vec<Node>) -> Vec<Node> {
        nodes.truncate(self.len);
        nodes.extend(self.waiting);
        nodes
    }
}

/// The shared loop walk: calls `fold` on the body of every loop whose body is straight-line code (no
/// loop, scan or guard inside), innermost first, and replaces the whole loop `[ ... ]` by the op it
/// returns, spanning the `[` to the `]`. A replaced loop can make its parent straight-line, so nested
/// idioms like `[[-]]` fold in one walk. Uses an explicit stack: no recursion on nesting depth.
pub(super) fn fold_loops(nodes: Vec<Node>, fold: impl Fn(&[Node]) -> Option<Op>) -> Vec<Node> {
    fold_loops_at(nodes, |_, body| fold(body))
}

/// [`fold_loops`], also telling `fold` the index in `nodes` of the loop's `LoopStart` (for passes that
/// look up facts computed on their input).
///
/// Rewrites in place: a loop folds into one node, so the output never overtakes the input and is
/// compacted into the front of the same vector (no second IR-sized vector).
pub(super) fn fold_loops_at(
    mut nodes: Vec<Node>,
    mut fold: impl FnMut(usize, &[Node]) -> Option<Op>,
) -> Vec<Node> {
    // The output is `nodes[..len]`; nodes from `len` to the read index are spent.
    let mut len = 0;
    // For each open loop: its index in the output, its index in the input, and whether its body is
    // straight-line so far.
    let mut opens: Vec<(usize, usize, bool)> = Vec::new();
    let not_straight = |opens: &mut Vec<(usize, usize, bool)>| {
        if let Some(top) = opens.last_mut() {
            top.2 = false;
        }
    };
    for index in 0..nodes.len() {
        match nodes[index].op {
            Op::LoopStart => opens.push((len, index, true)),
            Op::LoopEnd => {
                let (start, source, straight) = opens.pop().expect("IR loops are balanced");
                if straight {
                    if let Some(op) = fold(source, &nodes[start + 1..len]) {
                        let span = nodes[start].span.merge(nodes[index].span);
                        if !in_block(&op) {
                            not_straight(&mut opens);
                        }
                        nodes[start] = Node::new(op, span);
                        len = start + 1;
                        continue;
                    }
                }
                not_straight(&mut opens);
            }
            ref op => {
                if !in_block(op) {
                    not_straight(&mut opens);
                }
            }
        }
        nodes.swap(len, index);
        len += 1;
    }
    nodes.truncate(len);
    nodes
}

/// Applies `rewrite` to every straight-line block (maximal run of [`in_block`] nodes), keeping the
/// nodes between blocks as they are.
///
/// `rewrite` gets the block (to take its nodes from) and an empty buffer to append the block's
/// rewrite to: no vector is allocated per block, and both buffers are reused. The output is written
/// back over `nodes` as they are read ([`Compactor`]).
pub(super) fn map_blocks(
    mut nodes: Vec<Node>,
    mut rewrite: impl FnMut(&mut Vec<Node>, &mut Vec<Node>),
) -> Vec<Node> {
    let (mut block, mut rewritten) = (Vec::new(), Vec::new());
    let mut out = Compactor::default();
    let mut read = 0;
    while read < nodes.len() {
        if !in_block(&nodes[read].op) {
            out.keep(&mut nodes, read);
            read += 1;
            continue;
        }
        let start = read;
        while read < nodes.len() && in_block(&nodes[read].op) {
            read += 1;
        }
        block.extend((start..read).map(|i| super::take(&mut nodes, i)));
        rewrite(&mut block, &mut rewritten);
        block.clear();
        for node in rewritten.drain(..) {
            out.put(&mut nodes, read, node);
        }
    }
    out.finish(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Op, Span};

    fn node(i: usize) -> Node {
        Node::new(Op::Move { by: i as i32 }, Span::single(i))
    }

    #[test]
    fn output_that_outgrows_the_read_position_keeps_its_order() {
        // Per input node, how many copies of it the "rewrite" puts out: none, several, one.
        let copies = [0, 3, 1, 0, 4, 1, 1, 0];
        let mut nodes: Vec<Node> = (0..copies.len()).map(node).collect();
        let mut out = Compactor::default();
        let mut expected = Vec::new();
        for (read, &n) in copies.iter().enumerate() {
            let taken = super::super::take(&mut nodes, read);
            for _ in 0..n {
                out.put(&mut nodes, read + 1, taken.clone());
                expected.push(taken.clone());
            }
            assert_eq!(out.last(&nodes), expected.last());
        }
        assert_eq!(out.finish(nodes), expected);
    }

    #[test]
    fn kept_nodes_stay_in_place_when_nothing_waits() {
        let mut nodes: Vec<Node> = (0..4).map(node).collect();
        let mut out = Compactor::default();
        // Node 0 goes, 1 and 2 are kept, 3 becomes two nodes (the second waits, then is put last).
        let _ = super::super::take(&mut nodes, 0);
        out.keep(&mut nodes, 1);
        out.keep(&mut nodes, 2);
        let last = super::super::take(&mut nodes, 3);
        out.put(&mut nodes, 4, last.clone());
        out.put(&mut nodes, 4, node(9));
        assert_eq!(out.finish(nodes), [node(1), node(2), last, node(9)]);
    }
}
