//! The `fold-runs` pass: run-length folding of `+-` and `<>`, with cancellation.

use super::fits;
use crate::ir::blocks::in_block;
use crate::ir::{Node, Op, Span};
use crate::syntax::Program;

/// Folds adjacent adds to the same cell and adjacent moves into one node each, merging their spans.
///
/// ```text
/// before: +++-->><    add [0] +3, add [0] -2, move +2, move -1   (one node per command)
/// after:  +>          add [0] +1, move +1
/// ```
///
/// A run that cancels (`+-`, `<>`) disappears, its span handed to a neighbour in the same block, so
/// the block's guard still covers what the source visits (`<>` at cell 0 must still fail). A block
/// left with nothing but cancelled runs keeps one `move +0` holding their span (a pass cannot tell
/// whether that span has moves in it, so it never lets such a span vanish). Moves stop folding at
/// [`super::MAX_OFFSET`].
///
/// The optimizer folds the lowering as it is produced (`fold_program`); over IR this pass folds
/// in place, its output written over the nodes it has read. A run of one repeated command (`+++`,
/// `>>>>`: equal unit nodes with adjacent one-command spans, as the lowering makes) is folded in one
/// step when that gives what folding it command by command gives, which is every run except one that
/// passes through zero on the way (see [`Folder::push_run`]).
pub fn fold_runs(nodes: Vec<Node>) -> Vec<Node> {
    // In the later rounds there is mostly nothing to fold: then the IR is handed back as it is
    // (every node would be pushed unchanged).
    let foldable = nodes.iter().any(|n| is_noop(&n.op))
        || nodes.windows(2).any(|pair| can_merge(&pair[0], &pair[1]));
    if !foldable {
        return nodes;
    }
    let mut folder = Folder {
        out: InPlace {
            nodes,
            len: 0,
            read: 0,
            spill: Vec::new(),
        },
        pending: None,
    };
    while let Some(node) = folder.out.next() {
        let Some(limit) = unit_run_limit(&node) else {
            folder.push(node);
            continue;
        };
        let mut run = Run {
            unit: node,
            count: 1,
            end: 0,
        };
        run.end = run.unit.span.end;
        while run.count < limit {
            match folder.out.nodes.get(folder.out.read) {
                Some(next)
                    if next.op == run.unit.op && next.span == Span::single(run.end as usize) =>
                {
                    run.end += 1;
                    run.count += 1;
                    // Spent without being moved: a copy of the unit, dropped when overwritten.
                    folder.out.read += 1;
                }
                _ => break,
            }
        }
        folder.push_run(run);
    }
    folder.finish().into_vec()
}

/// Where a [`Folder`] puts its nodes: a vector, or the front of the vector being folded.
trait Out {
    fn push(&mut self, node: Node);
    fn pop(&mut self) -> Option<Node>;
    fn last(&self) -> Option<&Node>;
    fn last_mut(&mut self) -> Option<&mut Node>;
}

impl Out for Vec<Node> {
    fn push(&mut self, node: Node) {
        Vec::push(self, node);
    }

    fn pop(&mut self) -> Option<Node> {
        Vec::pop(self)
    }

    fn last(&self) -> Option<&Node> {
        self.as_slice().last()
    }

    fn last_mut(&mut self) -> Option<&mut Node> {
        self.as_mut_slice().last_mut()
    }
}

/// The output written over the input: `nodes[..len]`, then `spill` (used only if the output ever
/// caught up with the read position, which folding, never lengthening, does not do).
struct InPlace {
    nodes: Vec<Node>,
    len: usize,
    /// The first node not read yet; the slots from `len` to here are spent.
    read: usize,
    spill: Vec<Node>,
}

impl InPlace {
    /// Moves the next input node out (a `]` stands in).
    fn next(&mut self) -> Option<Node> {
        if self.read == self.nodes.len() {
            return None;
        }
        self.read += 1;
        Some(super::take(&mut self.nodes, self.read - 1))
    }

    fn into_vec(mut self) -> Vec<Node> {
        self.nodes.truncate(self.len);
        self.nodes.append(&mut self.spill);
        self.nodes
    }
}

impl Out for InPlace {
    fn push(&mut self, node: Node) {
        if self.spill.is_empty() && self.len < self.read {
            self.nodes[self.len] = node;
            self.len += 1;
        } else {
            self.spill.push(node);
        }
    }

    fn pop(&mut self) -> Option<Node> {
        if let Some(node) = self.spill.pop() {
            return Some(node);
        }
        self.len = self.len.checked_sub(1)?;
        Some(super::take(&mut self.nodes, self.len))
    }

    fn last(&self) -> Option<&Node> {
        self.spill.last().or_else(|| self.nodes[..self.len].last())
    }

    fn last_mut(&mut self) -> Option<&mut Node> {
        match self.spill.last_mut() {
            Some(last) => Some(last),
            None => self.nodes[..self.len].last_mut(),
        }
    }
}

/// `fold_runs(lower_iter(program))`, finding runs on the commands (a byte compare each) instead of on
/// their lowered nodes: the copies in a run are skipped, not lowered.
pub(crate) fn fold_program(program: &Program) -> Vec<Node> {
    let cmds = program.cmds();
    let mut lowered = crate::ir::lower_iter(program);
    let mut folder = Folder::<Vec<Node>>::default();
    let mut at = 0;
    while let Some(node) = lowered.next() {
        let Some(limit) = unit_run_limit(&node) else {
            folder.push(node);
            at += 1;
            continue;
        };
        // Node `at` is command `at`, spanning it alone; equal commands lower to equal nodes.
        let kind = cmds[at].kind;
        let end = at
            + 1
            + cmds[at + 1..]
                .iter()
                .take(limit as usize - 1)
                .take_while(|c| c.kind == kind)
                .count();
        if end - at > 1 {
            lowered.nth(end - at - 2);
        }
        folder.push_run(Run {
            unit: node,
            count: (end - at) as u32,
            end: end as u32,
        });
        at = end;
    }
    let mut nodes = folder.finish();
    // The passes rewrite this vector in place from here on: no doubling slack is carried along.
    nodes.shrink_to_fit();
    nodes
}

/// For a node that one command lowers to and that runs fold (`+`, `-`, `<`, `>`), the longest run of
/// it folded in one step: 255 adds (256 would cancel), 2^20 moves (far below [`super::MAX_OFFSET`]).
fn unit_run_limit(node: &Node) -> Option<u32> {
    if node.span.end.wrapping_sub(node.span.start) != 1 {
        return None;
    }
    match node.op {
        Op::Add {
            offset: 0,
            delta: 1 | 255,
        } => Some(255),
        Op::Move { by: 1 | -1 } => Some(1 << 20),
        _ => None,
    }
}

/// `count` copies of a unit node, the copies' spans one command each, adjacent, ending at `end`.
struct Run {
    unit: Node,
    count: u32,
    end: u32,
}

/// The folding state: the nodes so far, and the span of removed no-ops that waits for the next node
/// of their block.
#[derive(Default)]
struct Folder<O> {
    out: O,
    pending: Option<Span>,
}

impl<O: Out> Folder<O> {
    #[inline(always)]
    fn push(&mut self, mut node: Node) {
        let (out, pending) = (&mut self.out, &mut self.pending);
        if let Some(last) = out.last_mut() {
            if merge_into(last, &node) {
                if is_noop(&last.op) {
                    let removed = out.pop().expect("just merged into it");
                    absorb(out, pending, removed);
                }
                return;
            }
        }
        if is_noop(&node.op) {
            absorb(out, pending, node);
            return;
        }
        if in_block(&node.op) {
            if let Some(span) = pending.take() {
                node.span = node.span.merge(span);
            }
        } else {
            flush(out, pending);
        }
        out.push(node);
    }

    /// Pushes a run as one node when that is what pushing its copies one by one gives: unless the
    /// node it folds into reaches zero before the run's last copy (it is removed there, and the rest
    /// of the run starts afresh), or a move leaves the offset range. A unit is never a no-op, and 255
    /// adds or 2^20 moves of one never cancel on their own.
    fn push_run(&mut self, run: Run) {
        let Run { unit, count, end } = run;
        let (whole, reaches_zero_at) = match (self.out.last().map(|n| &n.op), &unit.op) {
            (
                Some(&Op::Add {
                    offset: 0,
                    delta: last,
                }),
                &Op::Add { offset: 0, delta },
            ) => {
                let whole = Op::Add {
                    offset: 0,
                    delta: delta.wrapping_mul(count as u8),
                };
                // `last + j * delta = 0` for the `j` below 256 (delta is 1 or 255).
                let j = if delta == 1 {
                    last.wrapping_neg()
                } else {
                    last
                };
                (whole, Some(j as i64))
            }
            (_, &Op::Add { offset: 0, delta }) => (
                Op::Add {
                    offset: 0,
                    delta: delta.wrapping_mul(count as u8),
                },
                None,
            ),
            (Some(&Op::Move { by: last }), &Op::Move { by }) => {
                let whole = Op::Move {
                    by: by * count as i32,
                };
                if !fits(last as i64 + by as i64 * count as i64) {
                    return self.push_copies(unit, count, end);
                }
                (whole, Some(-(last as i64) * by as i64))
            }
            (_, &Op::Move { by }) => (
                Op::Move {
                    by: by * count as i32,
                },
                None,
            ),
            _ => unreachable!("a run is of unit adds or moves"),
        };
        if reaches_zero_at.is_some_and(|j| (1..count as i64).contains(&j)) {
            return self.push_copies(unit, count, end);
        }
        let span = Span {
            start: end - count,
            end,
        };
        self.push(Node::new(whole, span));
    }

    /// Pushes a run copy by copy.
    fn push_copies(&mut self, unit: Node, count: u32, end: u32) {
        for at in end - count..end {
            self.push(Node::new(unit.op.clone(), Span::single(at as usize)));
        }
    }

    fn finish(mut self) -> O {
        flush(&mut self.out, &mut self.pending);
        self.out
    }
}

/// Folds `node` into `last` when both are adds to one cell or both are moves.
fn merge_into(last: &mut Node, node: &Node) -> bool {
    match (&mut last.op, &node.op) {
        (
            Op::Add { offset, delta },
            Op::Add {
                offset: o,
                delta: d,
            },
        ) if offset == o => *delta = delta.wrapping_add(*d),
        (Op::Move { by }, Op::Move { by: b }) if fits(*by as i64 + *b as i64) => *by += b,
        _ => return false,
    }
    last.span = last.span.merge(node.span);
    true
}

/// Whether [`merge_into`] folds `node` into `last`.
fn can_merge(last: &Node, node: &Node) -> bool {
    match (&last.op, &node.op) {
        (Op::Add { offset, .. }, Op::Add { offset: o, .. }) => offset == o,
        (Op::Move { by }, Op::Move { by: b }) => fits(*by as i64 + *b as i64),
        _ => false,
    }
}

/// An add of zero or a move by zero.
fn is_noop(op: &Op) -> bool {
    matches!(op, Op::Add { delta: 0, .. } | Op::Move { by: 0 })
}

/// Drops a no-op node, giving its span to the previous node of the block or, when the block starts
/// here, to the next one.
fn absorb(out: &mut impl Out, pending: &mut Option<Span>, removed: Node) {
    match out.last_mut() {
        Some(last) if in_block(&last.op) => last.span = last.span.merge(removed.span),
        _ => *pending = Some(pending.map_or(removed.span, |span| span.merge(removed.span))),
    }
}

/// At a block's end: removed no-ops with nobody to take their span come back as one `move +0`.
fn flush(out: &mut impl Out, pending: &mut Option<Span>) {
    if let Some(span) = pending.take() {
        out.push(Node::new(Op::Move { by: 0 }, span));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::lower;
    use crate::syntax::Program;

    fn run(src: &str) -> Vec<Node> {
        fold_runs(lower(&Program::parse(src).unwrap()))
    }

    fn span(start: u32, end: u32) -> Span {
        Span { start, end }
    }

    #[test]
    fn runs_fold_with_their_spans() {
        assert_eq!(
            run("+++-->><"),
            vec![
                Node::new(
                    Op::Add {
                        offset: 0,
                        delta: 1
                    },
                    span(0, 5)
                ),
                Node::new(Op::Move { by: 1 }, span(5, 8)),
            ]
        );
    }

    #[test]
    fn moves_fold_up_to_the_largest_offset_and_no_further() {
        let moves = |a: i32, b: i32| {
            fold_runs(vec![
                Node::new(Op::Move { by: a }, span(0, 1)),
                Node::new(Op::Move { by: b }, span(1, 2)),
            ])
        };
        let largest = (1 << 30) - 1;
        assert_eq!(crate::optimizer::MAX_OFFSET, largest as i64);
        assert_eq!(
            moves(largest - 1, 1),
            vec![Node::new(Op::Move { by: largest }, span(0, 2))]
        );
        assert_eq!(
            moves(-largest + 1, -1),
            vec![Node::new(Op::Move { by: -largest }, span(0, 2))]
        );
        // One more and the sum of two offsets could overflow an i32: the moves stay apart.
        assert_eq!(moves(largest, 1).len(), 2);
        assert_eq!(moves(-largest, -1).len(), 2);
    }

    #[test]
    fn cancelled_runs_hand_their_span_on() {
        // `<>` cancels; its span goes to the `+` so the guard still sees the step to -1.
        assert_eq!(
            run("<>+"),
            vec![Node::new(
                Op::Add {
                    offset: 0,
                    delta: 1
                },
                span(0, 3)
            )]
        );
        // A block of nothing but cancelled runs keeps its span in a zero move.
        assert_eq!(
            run("[<>]"),
            vec![
                lower_one("[", 0),
                Node::new(Op::Move { by: 0 }, span(1, 3)),
                lower_one("]", 3)
            ]
        );
    }

    #[test]
    fn cancellation_lets_outer_runs_meet() {
        // `><` cancels, then the two `+` are adjacent and fold.
        assert_eq!(
            run("+><+"),
            vec![Node::new(
                Op::Add {
                    offset: 0,
                    delta: 2
                },
                span(0, 4)
            )]
        );
    }

    /// Folding every node on its own, runs never taken whole.
    fn one_by_one(nodes: Vec<Node>) -> Vec<Node> {
        let mut folder = Folder::default();
        for node in nodes {
            folder.push(node);
        }
        folder.finish()
    }

    #[test]
    fn whole_runs_fold_as_one_command_at_a_time_does() {
        // Runs that pass through zero on the way (`+` then 300 `-`, 3 `>` then 5 `<`), that end at
        // zero, that are longer than one step folds, and that meet after a cancelled run.
        let long = |c: char, n: usize| c.to_string().repeat(n);
        let sources = [
            format!("+{}.", long('-', 300)),
            format!(">>>{}+", long('<', 5)),
            format!(">>>{}+", long('<', 3)),
            format!("[{}]{}", long('+', 256), long('-', 511)),
            format!("+{}+{}.", long('>', 4), long('<', 4)),
            format!("{}{}", long('>', 3 << 20), long('<', 5)),
            format!("-{}", long('+', 1000)),
        ];
        for src in sources {
            let program = Program::parse(src.as_str()).unwrap();
            let lowered = lower(&program);
            assert_eq!(
                fold_program(&program),
                one_by_one(lowered.clone()),
                "{src:.40}"
            );
            assert_eq!(fold_runs(lowered.clone()), one_by_one(lowered), "{src:.40}");
        }
    }

    proptest::proptest! {
        #[test]
        fn whole_runs_fold_as_one_command_at_a_time_does_on_any_program(
            src in crate::optimizer::tests::program(),
            runs in proptest::collection::vec((0usize..8, 1usize..600), 0..6),
        ) {
            // Long runs spliced in at random places, so runs cross zero and meet other runs.
            let mut src = src;
            for (at, len) in runs {
                let at = at.min(src.len());
                let c = ['+', '-', '<', '>'][len % 4];
                src.insert_str(at, &c.to_string().repeat(len));
            }
            let program = Program::parse(src.as_str()).unwrap();
            let lowered = lower(&program);
            proptest::prop_assert_eq!(fold_program(&program), one_by_one(lowered.clone()));
            proptest::prop_assert_eq!(fold_runs(lowered.clone()), one_by_one(lowered));
        }
    }

    fn lower_one(src: &str, at: u32) -> Node {
        let op = match src {
            "[" => Op::LoopStart,
            _ => Op::LoopEnd,
        };
        Node::new(op, Span::single(at as usize))
    }
}
