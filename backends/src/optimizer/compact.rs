//! Writing a pass's output over its input: the output is compacted into the front of the input
//! vector as the input is read, so a pass holds one IR-sized vector, not two.

use std::collections::VecDeque;

use crate::ir::Node;

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
