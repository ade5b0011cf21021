//! The loop-tree view of a program the reducer edits: commands by index, each loop's partner, the
//! items (single commands and whole loops) at every nesting depth, and edits expressed on command
//! indices that are applied to the source bytes (comments between commands are kept until the
//! canonical pass drops them). Everything is iterative: a million nested loops are fine.

use std::ops::Range;

use bfjit_backends::{CmdKind, Program};

/// One change to a program: replace command ranges (sorted, disjoint) by command text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// `(commands replaced, replacement)` pairs, in increasing order of command index.
    pub parts: Vec<(Range<usize>, Vec<u8>)>,
}

impl Edit {
    /// Deletes the given command ranges (sorted, disjoint).
    pub fn delete(ranges: impl IntoIterator<Item = Range<usize>>) -> Edit {
        Edit {
            parts: ranges.into_iter().map(|r| (r, Vec::new())).collect(),
        }
    }

    /// Replaces one command range.
    pub fn replace(range: Range<usize>, with: &[u8]) -> Edit {
        Edit {
            parts: vec![(range, with.to_vec())],
        }
    }

    /// The new source: each replaced range of commands covers the bytes from its first command to
    /// its last, so comments around it stay.
    pub fn apply(&self, program: &Program) -> Vec<u8> {
        let source = program.source();
        let cmds = program.cmds();
        let byte = |index: usize| cmds.get(index).map_or(source.len(), |c| c.offset as usize);
        let mut out = Vec::with_capacity(source.len());
        let mut at = 0;
        for (range, with) in &self.parts {
            let start = byte(range.start);
            let end = if range.is_empty() {
                start
            } else {
                cmds[range.end - 1].offset as usize + 1
            };
            out.extend_from_slice(&source[at..start]);
            out.extend_from_slice(with);
            at = end;
        }
        out.extend_from_slice(&source[at..]);
        out
    }
}

/// A program's loop structure by command index.
pub struct LoopTree<'a> {
    program: &'a Program,
    depth: Vec<u32>,
}

impl<'a> LoopTree<'a> {
    /// The tree of a parsed (so balanced) program. The depth of a `[` and its `]` is the depth of
    /// the loop itself (the number of loops around it).
    pub fn new(program: &'a Program) -> LoopTree<'a> {
        let mut depth = Vec::with_capacity(program.len());
        let mut d = 0u32;
        for cmd in program.cmds() {
            match cmd.kind {
                CmdKind::Open => {
                    depth.push(d);
                    d += 1;
                }
                CmdKind::Close => {
                    d -= 1;
                    depth.push(d);
                }
                _ => depth.push(d),
            }
        }
        LoopTree { program, depth }
    }

    /// The command at `index`.
    pub fn kind(&self, index: usize) -> CmdKind {
        self.program.cmds()[index].kind
    }

    /// The matching bracket of the bracket at `index`.
    pub fn partner(&self, index: usize) -> usize {
        self.program.cmds()[index].partner as usize
    }

    /// The deepest nesting (0 for a program without loops).
    pub fn max_depth(&self) -> u32 {
        self.depth.iter().copied().max().unwrap_or(0)
    }

    /// The items at `depth`, in order: single commands and whole loops (`[` to its `]`).
    pub fn items_at(&self, depth: u32) -> Vec<Range<usize>> {
        let mut items = Vec::new();
        for (i, &d) in self.depth.iter().enumerate() {
            if d != depth {
                continue;
            }
            match self.kind(i) {
                CmdKind::Open => items.push(i..self.partner(i) + 1),
                CmdKind::Close => {}
                _ => items.push(i..i + 1),
            }
        }
        items
    }

    /// Every loop as (index of `[`, index of `]`), outermost first, then in program order.
    pub fn loops(&self) -> Vec<(usize, usize)> {
        let mut loops: Vec<(usize, usize)> = (0..self.depth.len())
            .filter(|&i| self.kind(i) == CmdKind::Open)
            .map(|i| (i, self.partner(i)))
            .collect();
        loops.sort_by_key(|&(open, _)| (self.depth[open], open));
        loops
    }

    /// Maximal runs of one command kind among `+ - < >` (length ≥ 1): (kind, range).
    pub fn runs(&self) -> Vec<(CmdKind, Range<usize>)> {
        let mut runs: Vec<(CmdKind, Range<usize>)> = Vec::new();
        for i in 0..self.depth.len() {
            let kind = self.kind(i);
            if !matches!(
                kind,
                CmdKind::Inc | CmdKind::Dec | CmdKind::Left | CmdKind::Right
            ) {
                continue;
            }
            match runs.last_mut() {
                Some((k, r)) if *k == kind && r.end == i => r.end = i + 1,
                _ => runs.push((kind, i..i + 1)),
            }
        }
        runs
    }
}

/// A program's commands as source bytes, without comments.
pub fn commands_of(program: &Program) -> Vec<u8> {
    program
        .cmds()
        .iter()
        .map(|c| c.kind.as_char() as u8)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(s: &str) -> Program {
        Program::parse(s).unwrap()
    }

    #[test]
    fn items_are_commands_and_whole_loops_per_depth() {
        let p = program("+[->[-]<]>.");
        let t = LoopTree::new(&p);
        assert_eq!(t.items_at(0), vec![0..1, 1..9, 9..10, 10..11]);
        assert_eq!(t.items_at(1), vec![2..3, 3..4, 4..7, 7..8]);
        assert_eq!(t.items_at(2), vec![5..6]);
        assert_eq!(t.max_depth(), 2);
        assert_eq!(t.loops(), vec![(1, 8), (4, 6)]);
    }

    #[test]
    fn edits_work_on_command_indices_and_keep_comments() {
        let p = program("a+b[c-d]e.");
        assert_eq!(Edit::delete(std::iter::once(1..4)).apply(&p), b"a+be.");
        assert_eq!(Edit::replace(0..1, b"--").apply(&p), b"a--b[c-d]e.");
        assert_eq!(
            Edit {
                parts: vec![(1..2, vec![]), (3..4, vec![])]
            }
            .apply(&p),
            b"a+bc-de."
        );
    }

    #[test]
    fn runs_group_one_kind() {
        let p = program("+++-->><[+]");
        let t = LoopTree::new(&p);
        let runs: Vec<_> = t.runs().into_iter().map(|(_, r)| r).collect();
        assert_eq!(runs, vec![0..3, 3..5, 5..7, 7..8, 9..10]);
    }

    #[test]
    fn a_million_nested_loops_are_fine() {
        let n = 1_000_000;
        let source = "[".repeat(n) + &"]".repeat(n);
        let p = program(&source);
        let t = LoopTree::new(&p);
        assert_eq!(t.max_depth() as usize, n - 1);
        assert_eq!(t.items_at(0), vec![0..2 * n]);
    }
}
