//! The reduction passes, cheapest and most destructive first. Each proposes [`Change`]s of the best
//! case and adopts the interesting ones through the [`Driver`]; all work on command indices.
//!
//! 1. [`delete_hierarchically`]: hierarchical delta debugging over the loop tree: at each depth,
//!    ddmin over the whole loops at that depth, then over all its items (loops and commands).
//! 2. [`unwrap_loops`]: `[body]` becomes `body`.
//! 3. [`clear_loops`]: `[body]` becomes `[-]` (a loop by nothing is a deletion, step 1).
//! 4. [`shrink_runs`]: a run of `+`, `-`, `<` or `>` is cut toward the shortest run that keeps the
//!    divergence (halving steps, as in a binary search), or for `+`/`-` replaced by the opposite run
//!    when that is shorter (`+` × 200 is `-` × 56).
//! 5. [`shrink_distances`]: every run of `<` or `>` (in the whole program, or in one loop) is cut
//!    by the same amount at once, so a loop that moves out and back stays balanced while its
//!    distance shrinks (`[->>>>+<<<<]>>>>.` becomes `[->+<]>.`), which [`shrink_runs`], one run at a
//!    time, cannot do.
//! 6. [`cancel_opposites`]: adjacent `+-`, `-+`, `<>`, `><` go.
//! 7. [`shrink_input`]; and first of all, because a short tape makes every later run cheap and
//!    cuts walks short, [`shrink_tape`] and [`reset_eof`], only where the engine's dialect lets the
//!    harness choose the tape length and EOF policy ([`crate::dialect::Dialect::may_use`]).

use std::ops::Range;

use bfjit_backends::{CmdKind, EofPolicy};

use crate::case::Case;

use super::driver::{Change, Driver};
use super::tree::{Edit, LoopTree};

/// A pass: whether it changed the best case.
pub type Pass = fn(&mut Driver) -> bool;

/// Every pass with its name, in the order a round runs them.
pub const PASSES: [(&str, Pass); 9] = [
    ("shrink_tape", shrink_tape),
    ("reset_eof", reset_eof),
    ("delete_hierarchically", delete_hierarchically),
    ("unwrap_loops", unwrap_loops),
    ("clear_loops", clear_loops),
    ("shrink_runs", shrink_runs),
    ("shrink_distances", shrink_distances),
    ("cancel_opposites", cancel_opposites),
    ("shrink_input", shrink_input),
];

/// Hierarchical deletion: for each depth from the top, ddmin over the loops at that depth, then
/// over every item there.
pub fn delete_hierarchically(d: &mut Driver) -> bool {
    let mut progress = false;
    let mut depth = 0;
    while depth <= LoopTree::new(&d.best.program).max_depth() && !d.out_of_time() {
        progress |= ddmin(d, depth, true);
        progress |= ddmin(d, depth, false);
        depth += 1;
    }
    progress
}

fn items(case: &Case, depth: u32, loops_only: bool) -> Vec<std::ops::Range<usize>> {
    let tree = LoopTree::new(&case.program);
    let mut items = tree.items_at(depth);
    if loops_only {
        items.retain(|r| r.len() > 1);
    }
    items
}

/// ddmin deletion over the items at `depth`: chunks of half the items, then quarters, down to one
/// item; after a deletion the same chunk size is tried again from where it succeeded.
fn ddmin(d: &mut Driver, depth: u32, loops_only: bool) -> bool {
    let mut progress = false;
    let mut list = items(&d.best, depth, loops_only);
    let mut chunk = list.len().div_ceil(2).max(1);
    let mut from = 0;
    while !list.is_empty() && !d.out_of_time() {
        let n = list.len().div_ceil(chunk);
        from = from.min(n - 1);
        // Deleting everything at depth 0 leaves an empty program: worth a try too (n == 1).
        let changes: Vec<Change> = (0..n)
            .map(|k| {
                let k = (from + k) % n;
                let end = ((k + 1) * chunk).min(list.len());
                Change::Program(Edit::delete(list[k * chunk..end].iter().cloned()))
            })
            .collect();
        match d.adopt_first(&changes) {
            Some(i) => {
                progress = true;
                from = (from + i) % n;
                list = items(&d.best, depth, loops_only);
                chunk = chunk.min(list.len()).max(1);
            }
            None if chunk == 1 => break,
            None => {
                chunk = chunk.div_ceil(2);
                from = 0;
            }
        }
    }
    progress
}

/// `[body]` becomes `body`, outermost loops first.
pub fn unwrap_loops(d: &mut Driver) -> bool {
    d.sweep(|case| {
        LoopTree::new(&case.program)
            .loops()
            .into_iter()
            .map(|(open, close)| Change::Program(Edit::delete([open..open + 1, close..close + 1])))
            .collect()
    })
}

/// `[body]` becomes `[-]` when the body is longer.
pub fn clear_loops(d: &mut Driver) -> bool {
    d.sweep(|case| {
        LoopTree::new(&case.program)
            .loops()
            .into_iter()
            .filter(|&(open, close)| close - open > 2)
            .map(|(open, close)| Change::Program(Edit::replace(open..close + 1, b"[-]")))
            .collect()
    })
}

/// Shorter versions of every run of one command (last run first, so earlier runs keep their
/// indices): lengths 0, 1, ¼, ½, ¾ and all but one, and the opposite run of `256 - n` for long
/// `+`/`-` runs; the shortest interesting one is adopted, and the pass repeats until no run shrinks.
pub fn shrink_runs(d: &mut Driver) -> bool {
    d.sweep(|case| {
        let tree = LoopTree::new(&case.program);
        let mut changes = Vec::new();
        for (kind, run) in tree.runs().into_iter().rev() {
            let n = run.len();
            let c = kind.as_char() as u8;
            let mut lengths: Vec<(u8, usize)> = [0, 1, n / 4, n / 2, n * 3 / 4, n - 1]
                .into_iter()
                .filter(|&l| l < n)
                .map(|l| (c, l))
                .collect();
            if matches!(kind, CmdKind::Inc | CmdKind::Dec) && n > 128 {
                let opposite = if kind == CmdKind::Inc { b'-' } else { b'+' };
                lengths.push((opposite, (256 - n % 256) % 256));
            }
            lengths.sort_by_key(|&(_, l)| l);
            lengths.dedup();
            for (c, l) in lengths {
                changes.push(Change::Program(Edit::replace(run.clone(), &vec![c; l])));
            }
        }
        changes
    })
}

/// Every run of `<` or `>` longer than one command, in the whole program and then within each
/// loop, cut by the same amount `j` at once (to at least one command), for `j` from the longest
/// cut down to 1: distances shrink while moves out and back stay matched.
///
/// ```text
/// before: -[->>>>>>+<<<<<<]>>>>>>.
/// after:  -[->+<]>.
/// ```
pub fn shrink_distances(d: &mut Driver) -> bool {
    d.sweep(|case| {
        let tree = LoopTree::new(&case.program);
        let moves: Vec<Range<usize>> = tree
            .runs()
            .into_iter()
            .filter(|(kind, run)| matches!(kind, CmdKind::Left | CmdKind::Right) && run.len() > 1)
            .map(|(_, run)| run)
            .collect();
        let whole = std::iter::once(0..case.program.len());
        let scopes = whole.chain(
            tree.loops()
                .into_iter()
                .map(|(open, close)| open..close + 1),
        );
        let mut changes = Vec::new();
        for scope in scopes {
            // Runs are disjoint and in program order, and no run crosses a bracket: the runs in a
            // scope are one stretch of `moves`, found by binary search (no pass over every run
            // per loop).
            let first = moves.partition_point(|r| r.start < scope.start);
            let end = moves.partition_point(|r| r.start < scope.end);
            let inside = &moves[first..end];
            let Some(longest) = inside.iter().map(|r| r.len()).max() else {
                continue;
            };
            let mut cuts = vec![
                longest - 1,
                (longest - 1) * 3 / 4,
                (longest - 1) / 2,
                (longest - 1) / 4,
                1,
            ];
            cuts.retain(|&j| j > 0);
            cuts.dedup();
            for j in cuts {
                let parts = inside
                    .iter()
                    .map(|r| {
                        let c = tree.kind(r.start).as_char() as u8;
                        (r.clone(), vec![c; r.len().saturating_sub(j).max(1)])
                    })
                    .collect();
                changes.push(Change::Program(Edit { parts }));
            }
        }
        changes
    })
}

/// Adjacent opposite commands cancel.
pub fn cancel_opposites(d: &mut Driver) -> bool {
    d.sweep(|case| {
        let cmds = case.program.cmds();
        (1..cmds.len())
            .filter(|&i| {
                use CmdKind::*;
                matches!(
                    (cmds[i - 1].kind, cmds[i].kind),
                    (Inc, Dec) | (Dec, Inc) | (Left, Right) | (Right, Left)
                )
            })
            .map(|i| Change::Program(Edit::replace(i - 1..i + 1, b"")))
            .collect()
    })
}

/// The input: empty, then shorter prefixes, then one byte fewer at each place.
pub fn shrink_input(d: &mut Driver) -> bool {
    d.sweep(|case| {
        let input = &case.input;
        let n = input.len();
        let mut changes: Vec<Change> = [0, n / 4, n / 2, n * 3 / 4]
            .into_iter()
            .filter(|&l| l < n)
            .map(|l| Change::Input(input[..l].to_vec()))
            .collect();
        changes.extend((0..n).map(|i| {
            let mut shorter = input.clone();
            shorter.remove(i);
            Change::Input(shorter)
        }));
        changes
    })
}

/// A shorter tape (1 to 8 cells, then steps of ×1.5), unless the dialect pins the tape length.
pub fn shrink_tape(d: &mut Driver) -> bool {
    let dialect = d.tester.target().dialect;
    if dialect.pinned_tape_len().is_some() {
        return false;
    }
    d.sweep(|case| {
        let current = case.config.tape_len();
        let mut lengths: Vec<usize> = (1..=8).collect();
        let mut n = 12;
        while n < current {
            lengths.push(n);
            n = n * 3 / 2;
        }
        lengths
            .into_iter()
            .filter(|&t| t < current)
            .filter_map(|t| case.config.with_tape_len(t).ok())
            .filter(|config| dialect.may_use(config))
            .map(Change::Config)
            .collect()
    })
}

/// The EOF policy back to `unchanged`, unless the dialect pins another.
pub fn reset_eof(d: &mut Driver) -> bool {
    let config = d.best.config.with_eof(EofPolicy::Unchanged);
    if d.best.config.eof() == EofPolicy::Unchanged || !d.tester.target().dialect.may_use(&config) {
        return false;
    }
    d.adopt_first(&[Change::Config(config)]).is_some()
}
