//! Planned IR handed to a code generator one node at a time, freed as the walk goes, so the code a
//! one-to-one JIT writes takes the IR's place in memory instead of adding to it. The nodes are
//! reversed in place and taken from the back; the vector is shrunk every so often (a large vector
//! shrinks in place, handing its freed pages back to the system).

use super::{Decision, DecisionKind};
use crate::ir::Node;

/// The fewest spare nodes worth a shrink: small next to a large IR, large enough that shrinking
/// costs nothing.
const CHUNK: usize = 1 << 16;

/// Verified, decided guarded IR, consumed in order: yields each node with its decision (`Always` for
/// nodes that are not guards). Made by [`super::PlannedIr::decide`].
pub struct DecidedNodes {
    /// The nodes not reached yet, the next one last.
    nodes: Vec<Node>,
    /// Their decision kinds, in the same order.
    decisions: Vec<DecisionKind>,
}

impl DecidedNodes {
    pub(super) fn new(mut nodes: Vec<Node>, mut decisions: Vec<DecisionKind>) -> DecidedNodes {
        debug_assert_eq!(nodes.len(), decisions.len());
        nodes.reverse();
        decisions.reverse();
        DecidedNodes { nodes, decisions }
    }
}

/// Gives back the spare room of `v` once it is at least [`CHUNK`] items and a sixteenth of it (so a
/// shrink that copies costs a constant factor overall).
fn release<T>(v: &mut Vec<T>) {
    let spare = v.capacity() - v.len();
    if spare >= CHUNK && spare >= v.capacity() / 16 {
        v.shrink_to_fit();
    }
}

impl DecidedNodes {
    /// Gives back the room of the nodes taken so far (out of the hot path of [`Iterator::next`]).
    #[cold]
    #[inline(never)]
    fn release(&mut self) {
        release(&mut self.nodes);
        release(&mut self.decisions);
    }
}

impl Iterator for DecidedNodes {
    type Item = (Node, Decision);

    #[inline]
    fn next(&mut self) -> Option<(Node, Decision)> {
        let node = self.nodes.pop()?;
        let kind = self.decisions.pop()?;
        if self.nodes.len().is_multiple_of(CHUNK) {
            self.release();
        }
        let decision = kind.of(&node);
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
