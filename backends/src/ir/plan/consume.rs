//! Planned IR handed to a code generator one node at a time: the nodes are cut into chunks up front
//! (from the back, so the IR is never held twice) and each chunk is freed once walked, so the code a
//! one-to-one JIT writes takes the IR's place in memory instead of adding to it.

use super::{Decision, DecisionKind};
use crate::ir::Node;

/// Nodes per chunk: small next to a large IR, large enough that the cutting costs nothing.
const CHUNK: usize = 1 << 16;

/// Verified, decided guarded IR, consumed in order: yields each node with its decision (`Always` for
/// nodes that are not guards). Made by [`super::PlannedIr::decide`].
pub struct DecidedNodes {
    /// The chunks not reached yet, the next one last.
    chunks: Vec<Vec<Node>>,
    /// The chunk being walked.
    current: std::vec::IntoIter<Node>,
    /// Per node, its decision kind.
    decisions: std::vec::IntoIter<DecisionKind>,
}

impl DecidedNodes {
    pub(super) fn new(mut nodes: Vec<Node>, decisions: Vec<DecisionKind>) -> DecidedNodes {
        debug_assert_eq!(nodes.len(), decisions.len());
        let mut chunks = Vec::with_capacity(nodes.len() / CHUNK + 1);
        while nodes.len() > CHUNK {
            let at = (nodes.len() - 1) / CHUNK * CHUNK;
            chunks.push(nodes.split_off(at));
            // A large vector shrinks in place (its freed pages go back to the system).
            nodes.shrink_to_fit();
        }
        DecidedNodes {
            chunks,
            current: nodes.into_iter(),
            decisions: decisions.into_iter(),
        }
    }
}

impl Iterator for DecidedNodes {
    type Item = (Node, Decision);

    #[inline]
    fn next(&mut self) -> Option<(Node, Decision)> {
        let node = match self.current.next() {
            Some(node) => node,
            None => {
                self.current = self.chunks.pop()?.into_iter();
                self.current.next()?
            }
        };
        let decision = self.decisions.next()?.of(&node);
        Some((node, decision))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::plan::PlannedIr;
    use crate::syntax::Program;

    #[test]
    fn every_node_comes_back_in_order_with_its_decision_across_chunks() {
        // Enough nodes for several chunks, with checked, never-passing and always-passing guards.
        let source = "<+>+[->>+<<]".repeat(CHUNK / 3) + "+[>]<<-";
        let program = Program::parse(source.as_bytes()).unwrap();
        let nodes = crate::optimizer::fold_runs_only(&program);
        assert!(nodes.len() > 2 * CHUNK);
        let planned = PlannedIr::new(&program, nodes.clone(), 30).unwrap();
        let decided: Vec<(Node, Decision)> = PlannedIr::decide(&program, nodes.clone(), 30)
            .unwrap()
            .collect();
        assert_eq!(decided.len(), nodes.len());
        let mut kinds = std::collections::HashSet::new();
        for (i, (node, decision)) in decided.into_iter().enumerate() {
            assert_eq!(node, nodes[i], "node {i}");
            assert_eq!(decision, planned.decision(i), "node {i}");
            if matches!(node.op, crate::ir::Op::Guard { .. }) {
                kinds.insert(std::mem::discriminant(&decision));
            }
        }
        assert_eq!(kinds.len(), 3, "Always, Never and Check all occur");
        assert!(PlannedIr::decide(&program, nodes, 0).is_err());
    }
}
