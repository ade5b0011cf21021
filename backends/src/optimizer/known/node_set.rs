//! A set of node indices with each member's rank, in 2 bits a node: how the known-value analysis
//! finds the few nodes that are the `[` of a summarized loop without a 4-byte table entry for
//! every node.

/// Node indices below a bound, each with its position among the members once
/// [`NodeSet::finish`]ed.
#[derive(Clone, Debug, Default)]
pub(super) struct NodeSet {
    /// Per 64 nodes: which are members (bit `i % 64` for node `i`), and how many members come
    /// before them (filled by [`NodeSet::finish`]).
    words: Vec<Word>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Word {
    bits: u64,
    rank: u32,
}

impl NodeSet {
    /// An empty set of nodes below `nodes`.
    pub(super) fn new(nodes: usize) -> NodeSet {
        NodeSet {
            words: vec![Word::default(); nodes.div_ceil(64)],
        }
    }

    /// Adds node `index` (below the bound), in any order.
    pub(super) fn insert(&mut self, index: usize) {
        self.words[index / 64].bits |= 1 << (index % 64);
    }

    /// Counts the members below each word: [`NodeSet::position`] is right from now on.
    pub(super) fn finish(&mut self) {
        let mut below = 0u32;
        for word in &mut self.words {
            word.rank = below;
            below += word.bits.count_ones();
        }
    }

    /// The number of members below node `index`, when it is a member.
    #[inline]
    pub(super) fn position(&self, index: usize) -> Option<usize> {
        let word = *self.words.get(index / 64)?;
        let bit = 1u64 << (index % 64);
        if word.bits & bit == 0 {
            return None;
        }
        Some(word.rank as usize + (word.bits & (bit - 1)).count_ones() as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::NodeSet;

    #[test]
    fn positions_count_the_members_below() {
        let members = [0, 3, 63, 64, 65, 200, 1000];
        let mut set = NodeSet::new(1001);
        for &m in members.iter().rev() {
            set.insert(m);
        }
        set.finish();
        for i in 0..1100 {
            assert_eq!(set.position(i), members.iter().position(|&m| m == i), "{i}");
        }
        assert_eq!(NodeSet::default().position(0), None);
    }
}
