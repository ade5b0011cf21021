//! The `mul` pass: affine loops (balanced, the loop cell stepping by an odd constant, every other cell
//! gaining a constant per iteration) become multiply-adds, solved modulo 256.

use std::collections::BTreeMap;

use super::{fits, fold_loops_at, FactsCache};
use crate::ir::{MulTarget, Node, Op};

/// Replaces an affine loop by one multiply-add op.
///
/// ```text
/// before: [->+++>-<<]     loop { add [0] -1, move +1, add [0] +3, move +1, add [0] -1, move -2 }
/// after:  [->+++>-<<]     mul [0] -> [1]*3 [2]*-1
/// before: [+<<->>]        (the cell counts up: 256 - c iterations, factors negated)
/// after:  [+<<->>]        mul [0] -> [-2]*1
/// before: [--->+<]        (step -3: c * 171 iterations mod 256, since 3 * 171 = 1 mod 256)
/// after:  [--->+<]        mul [0] -> [1]*171
/// before: [>+++++[>+++<-]<-]   (inner loop first: mul [1] -> [2]*3; cell 1 is 0 at every entry)
/// after:  [>+++++[>+++<-]<-]   mul [0] -> [2]*15
/// left:   [-->+<]  [--]  [>+<]  (even or zero step: odd values never reach 0, the loop never ends)
/// ```
///
/// The body must be straight-line (inner loops already folded), end where it started, and change the
/// loop cell by an odd `d` per iteration. For a loop cell `c` the loop then runs
/// `n = c * (-d)^-1 mod 256` times (the one solution of `c + n*d = 0 mod 256`), so a cell gaining `a`
/// per iteration gains `c * a * (-d)^-1`: a multiply-add, which does nothing when `c` is 0.
///
/// Other cells must gain a constant per iteration, or be **restored**: end each iteration at a
/// constant `v` that the known-value analysis shows they also hold before the loop (a temporary that
/// an inner multiply clears, like cell 1 above). A restored cell holds `v` at the start of every
/// iteration, so the body may read it (an inner multiply from it), and it holds `v` after the loop.
/// Targets come out sorted by offset, zero factors dropped; with no targets left the loop is a clear.
pub fn mul(nodes: Vec<Node>) -> Vec<Node> {
    mul_with(nodes, &mut FactsCache::default())
}

/// [`mul`], with the analysis of `nodes` from `cache`.
pub(crate) fn mul_with(nodes: Vec<Node>, cache: &mut FactsCache) -> Vec<Node> {
    // The analysis is needed only when some loop body may hold a set or a multiply-add (either
    // directly, or once an inner loop folded into one).
    let known = if may_need_facts(&nodes) {
        Some(cache.get(&nodes))
    } else {
        None
    };
    fold_loops_at(nodes, |start, body| {
        let plain = body
            .iter()
            .all(|n| matches!(n.op, Op::Add { .. } | Op::Move { .. }));
        if plain {
            return affine_loop(body, |_| None);
        }
        // Without the analysis no body here holds a set or a multiply-add, and `one_iteration`
        // rejects the rest (input, output) whatever the facts.
        let Some(known) = known else {
            return affine_loop(body, |_| None);
        };
        affine_loop(body, |offset| {
            i32::try_from(offset)
                .ok()
                .and_then(|o| known.before(start, o))
        })
    })
}

/// Whether some loop body holds a set, a multiply-add or an inner loop (which may fold into one).
fn may_need_facts(nodes: &[Node]) -> bool {
    let mut depth = 0usize;
    nodes.iter().any(|n| match n.op {
        Op::LoopStart => {
            depth += 1;
            depth > 1
        }
        Op::LoopEnd => {
            depth -= 1;
            false
        }
        Op::Set { .. } | Op::MulLoop { .. } => depth > 0,
        _ => false,
    })
}

/// A cell's value at the end of one iteration, in terms of its value at the start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Value {
    /// The start value plus a constant.
    Gains(u8),
    /// A constant, whatever the start value.
    Is(u8),
    /// Depends on other cells.
    Unknown,
}

/// Runs the body once symbolically; `restored` cells start at their known value, the others at
/// `Gains(0)`. `None` when the body is not straight-line adds, sets, moves and multiply-adds, or does
/// not end where it started.
fn one_iteration(body: &[Node], restored: &BTreeMap<i64, u8>) -> Option<BTreeMap<i64, Value>> {
    let mut cells: BTreeMap<i64, Value> = BTreeMap::new();
    let start = |at: i64| restored.get(&at).map_or(Value::Gains(0), |&v| Value::Is(v));
    let mut pos = 0i64;
    for node in body {
        match &node.op {
            Op::Add { offset, delta } => {
                let at = pos + *offset as i64;
                let cell = cells.entry(at).or_insert_with(|| start(at));
                *cell = plus(*cell, *delta);
            }
            Op::Set { offset, value } => {
                cells.insert(pos + *offset as i64, Value::Is(*value));
            }
            Op::MulLoop { offset, targets } => {
                let from = pos + *offset as i64;
                let source = *cells.entry(from).or_insert_with(|| start(from));
                for t in targets {
                    let at = from + t.offset as i64;
                    let cell = cells.entry(at).or_insert_with(|| start(at));
                    *cell = match source {
                        Value::Is(k) => plus(*cell, k.wrapping_mul(t.factor)),
                        _ => Value::Unknown,
                    };
                }
                cells.insert(from, Value::Is(0));
            }
            Op::Move { by } => pos += *by as i64,
            _ => return None,
        }
        if !fits(pos) {
            return None;
        }
    }
    (pos == 0).then_some(cells)
}

fn plus(value: Value, delta: u8) -> Value {
    match value {
        Value::Gains(a) => Value::Gains(a.wrapping_add(delta)),
        Value::Is(v) => Value::Is(v.wrapping_add(delta)),
        Value::Unknown => Value::Unknown,
    }
}

/// The multiplicative inverse of an odd byte modulo 256.
pub(crate) fn inverse(d: u8) -> u8 {
    debug_assert!(d % 2 == 1);
    // Newton's iteration doubles the correct low bits each step: 1 (any odd d), 2, 4, 8.
    let mut x = d;
    for _ in 0..3 {
        x = x.wrapping_mul(2u8.wrapping_sub(d.wrapping_mul(x)));
    }
    x
}

/// The multiply-add equivalent to a loop with this body, when there is one. `entry` gives the value a
/// cell (offset from the loop cell) is known to hold before the loop.
fn affine_loop(body: &[Node], entry: impl Fn(i64) -> Option<u8>) -> Option<Op> {
    // `one_iteration` rejects a body with any other op, or whose moves do not add up to 0 (it ends
    // elsewhere, or strays out of range on the way): say so before building any map.
    // Say also, without a map, when the loop cell is not affine: only adds change it (by an even
    // amount in all), or a set or a multiply from it makes it a constant that no multiply into it
    // changes.
    let mut moved = 0i64;
    let (mut adds, mut set, mut multiplied_into) = (0u8, false, false);
    for node in body {
        match &node.op {
            Op::Move { by } => moved += *by as i64,
            Op::Add { offset, delta } if moved + *offset as i64 == 0 => {
                adds = adds.wrapping_add(*delta)
            }
            Op::Set { offset, .. } if moved + *offset as i64 == 0 => set = true,
            Op::MulLoop { offset, targets } => {
                let from = moved + *offset as i64;
                set |= from == 0;
                multiplied_into |= targets.iter().any(|t| from + t.offset as i64 == 0);
            }
            Op::Add { .. } | Op::Set { .. } => {}
            _ => return None,
        }
    }
    if moved != 0 || (!multiplied_into && (set || adds % 2 == 0)) {
        return None;
    }
    // Find the restored cells: those ending at a constant they also hold before the loop. Assuming
    // some are restored can reveal more (an inner multiply from a restored cell has a known result).
    let mut restored: BTreeMap<i64, u8> = BTreeMap::new();
    let mut cells = one_iteration(body, &restored)?;
    // Restored cells never include the loop cell, and they only turn reads of other cells from
    // unknown into constants: a loop cell that is set, untouched, or changed by an even amount now
    // stays so. Such a loop is not affine whatever the facts, so none are asked for.
    if !matches!(cells.get(&0), Some(Value::Gains(d)) if d % 2 == 1)
        && !matches!(cells.get(&0), Some(Value::Unknown))
    {
        return None;
    }
    for _ in 0..4 {
        let next: BTreeMap<i64, u8> = cells
            .iter()
            .filter_map(|(&at, &v)| match v {
                Value::Is(v) if at != 0 && entry(at) == Some(v) => Some((at, v)),
                _ => None,
            })
            .collect();
        if next == restored {
            break;
        }
        restored = next;
        cells = one_iteration(body, &restored)?;
    }
    // Every restored cell must end where it started, every other cell gain a constant.
    let step = match cells.get(&0) {
        Some(Value::Gains(d)) if d % 2 == 1 => *d,
        _ => return None,
    };
    let per_unit = inverse(step.wrapping_neg());
    let mut targets = Vec::new();
    for (&offset, &value) in &cells {
        if offset == 0 {
            continue;
        }
        match value {
            Value::Gains(0) => {}
            Value::Gains(a) => {
                if !fits(offset) {
                    return None;
                }
                targets.push(MulTarget {
                    offset: offset as i32,
                    factor: a.wrapping_mul(per_unit),
                });
            }
            Value::Is(v) if restored.get(&offset) == Some(&v) => {}
            _ => return None,
        }
    }
    if targets.is_empty() {
        return Some(Op::Set {
            offset: 0,
            value: 0,
        });
    }
    Some(Op::MulLoop {
        offset: 0,
        targets: targets.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{lower, Span};
    use crate::optimizer::fold_runs;
    use crate::syntax::Program;

    fn run(src: &str) -> Vec<Node> {
        mul(fold_runs(lower(&Program::parse(src).unwrap())))
    }

    fn t(offset: i32, factor: u8) -> MulTarget {
        MulTarget { offset, factor }
    }

    #[test]
    fn multiply_loop_with_several_targets() {
        let src = "[->+++>-<<<<++>>]";
        assert_eq!(
            run(src),
            vec![Node::new(
                Op::MulLoop {
                    offset: 0,
                    targets: vec![t(-2, 2), t(1, 3), t(2, 255)].into()
                },
                Span { start: 0, end: 17 }
            )]
        );
    }

    #[test]
    fn counting_up_negates_factors() {
        assert_eq!(
            run("[+<<->>]")[0].op,
            Op::MulLoop {
                offset: 0,
                targets: vec![t(-2, 1)].into()
            }
        );
    }

    #[test]
    fn odd_steps_divide_by_the_step_modulo_256() {
        for d in (1u8..=255).step_by(2) {
            assert_eq!(d.wrapping_mul(inverse(d)), 1, "{d}");
        }
        // 3 * 171 = 513 = 1 (mod 256): `[--->+<]` runs c * 171 times.
        assert_eq!(
            run("[--->+<]")[0].op,
            Op::MulLoop {
                offset: 0,
                targets: vec![t(1, 171)].into()
            }
        );
        // Counting up by 5 with 2 per iteration: 2 * (-5)^-1.
        let factor = 2u8.wrapping_mul(inverse(5u8.wrapping_neg()));
        assert_eq!(
            run("[+++++<++>]")[0].op,
            Op::MulLoop {
                offset: 0,
                targets: vec![t(-1, factor)].into()
            }
        );
    }

    #[test]
    fn loops_that_are_not_affine_stay() {
        // Unbalanced, loop cell steps by 2, loop cell untouched, output inside, nested unfoldable loop,
        // a set of a cell not known to hold that value before the loop.
        for src in [
            "[->+]",
            "[-->+<]",
            "[--]",
            "[>+<]",
            "[->.<]",
            "[->[.-]<]",
            ",>,<[->[-]<]",
            ">+<,[->[-]<]",
            "[-->>+<<]",
        ] {
            let ir = run(src);
            assert!(
                !ir.iter().any(|n| matches!(n.op, Op::MulLoop { .. })),
                "{src}: {ir:?}"
            );
            assert!(ir.iter().any(|n| n.op == Op::LoopStart), "{src}: {ir:?}");
        }
    }

    #[test]
    fn cancelled_targets_are_dropped() {
        assert_eq!(
            run("[->+<>-<]")[0].op,
            Op::Set {
                offset: 0,
                value: 0
            }
        );
    }

    /// `prefix` (parsed and folded), then a loop whose body is `body`: the shape loop bodies have in
    /// the pipeline's later rounds, once `offsets` put sets and multiply-adds at offsets from the
    /// pointer.
    fn with_loop(prefix: &str, body: Vec<Op>) -> Vec<Node> {
        let span = Span { start: 0, end: 1 };
        let mut nodes = fold_runs(lower(&Program::parse(prefix).unwrap()));
        nodes.push(Node::new(Op::LoopStart, span));
        nodes.extend(body.into_iter().map(|op| Node::new(op, span)));
        nodes.push(Node::new(Op::LoopEnd, span));
        nodes
    }

    #[test]
    fn sets_and_inner_multiplies_at_offsets_fold_at_their_own_cells() {
        let dec = Op::Add {
            offset: 0,
            delta: 255,
        };
        // BF before: `>+<,[->[-]+<]`, the body as `offsets` leaves it (`add [0] -1`, `set [1] = 1`).
        // Cell 1 holds 1 before the loop and the set restores it: the loop only clears its cell.
        // After: `>+<,[-]`.
        let set_1 = Op::Set {
            offset: 1,
            value: 1,
        };
        let ir = mul(with_loop(">+<,", vec![dec.clone(), set_1.clone()]));
        assert!(!ir.iter().any(|n| n.op == Op::LoopStart), "{ir:?}");
        assert_eq!(
            ir.last().unwrap().op,
            Op::Set {
                offset: 0,
                value: 0
            }
        );
        // The same body on cell 2, where the cell before it holds 1 but the set's cell (3) holds 0:
        // not restored, the loop stays.
        let ir = mul(with_loop(">+>,", vec![dec.clone(), set_1]));
        assert!(ir.iter().any(|n| n.op == Op::LoopStart), "{ir:?}");
        // BF before: `>,<,[->>[-<+>]<<]`, the inner multiply at offset 2 (cell 2 into cell 1). Cell 2 is
        // 0 on a fresh tape and 0 again after each iteration, so it adds nothing: the outer loop only
        // clears its cell, whatever cell 1 holds.
        let inner = Op::MulLoop {
            offset: 2,
            targets: vec![t(-1, 1)].into(),
        };
        let ir = mul(with_loop(">,<,", vec![dec.clone(), inner.clone()]));
        assert!(!ir.iter().any(|n| n.op == Op::LoopStart), "{ir:?}");
        // The same with cell 2 read from input (and cell -2 zero): the inner multiply adds an unknown
        // amount each time, so the outer loop stays.
        let ir = mul(with_loop(">>>>,<<,", vec![dec, inner]));
        assert!(ir.iter().any(|n| n.op == Op::LoopStart), "{ir:?}");
    }

    #[test]
    fn nests_fold_from_the_inside_out() {
        // Cell 1 starts at 0 (fresh tape) and the inner loop leaves it 0: restored.
        let ir = run(",[>+++++[>+++<-]<-]");
        assert_eq!(
            ir.last().unwrap().op,
            Op::MulLoop {
                offset: 0,
                targets: vec![t(2, 15)].into()
            }
        );
        // Three levels, with a step of 3 in the middle.
        let ir = run(",[>++[--->++<]<-]");
        let inner = 2u8.wrapping_mul(inverse(3));
        assert_eq!(
            ir.last().unwrap().op,
            Op::MulLoop {
                offset: 0,
                targets: vec![t(2, inner.wrapping_mul(2))].into()
            }
        );
        // Cell 1 unknown before the loop (input): not restored, the outer loop stays.
        let ir = run(",>,<[>+++++[>+++<-]<-]");
        assert!(ir.iter().any(|n| n.op == Op::LoopStart), "{ir:?}");
    }
}
