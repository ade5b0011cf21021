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
