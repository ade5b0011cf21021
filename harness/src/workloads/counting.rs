//! The counting-nest workload: a nest of counting loops with constant trip counts, some stepping by
//! 3 or 5 (up or down), each level adding to its own accumulator; the accumulators are printed once
//! at the end.
//!
//! The profile: almost all of the run time is loop control over values the compiler can know. An
//! engine that solves counting loops (trip counts modulo 256, nests folded from the inside out) runs
//! it in constant time whatever the trip counts.

use super::builder::Builder;

/// One level of the nest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Level {
    /// Iterations of this level per iteration of the level around it (1..=255).
    pub count: u8,
    /// The counter's change per iteration: odd, -5..=5 (negative counts down).
    pub step: i8,
    /// Added to this level's accumulator per iteration.
    pub add: u8,
}

/// The nest, outermost level first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    /// The levels.
    pub levels: Vec<Level>,
}

const fn level(count: u8, step: i8, add: u8) -> Level {
    Level { count, step, add }
}

/// The full size: about six million iterations of the innermost loop.
pub fn full() -> Params {
    Params {
        levels: vec![
            level(9, -1, 1),
            level(11, 3, 7),
            level(13, -5, 3),
            level(15, -1, 11),
            level(17, 5, 1),
            level(19, -3, 13),
        ],
    }
}

/// The quick size.
pub fn quick() -> Params {
    Params {
        levels: vec![
            level(3, -1, 1),
            level(3, 3, 7),
            level(5, -5, 3),
            level(5, -1, 11),
            level(7, 5, 1),
            level(7, -3, 13),
        ],
    }
}

/// A nest of `depth` levels whose innermost level runs `inner` times (the others 5 to 9 times), for
/// benchmarks that vary one trip count.
pub fn with_inner_count(depth: usize, inner: u8) -> Params {
    let steps = [-1i8, 3, -5, -1, 5, -3];
    let mut levels: Vec<Level> = (0..depth)
        .map(|i| level(5 + (i % 5) as u8, steps[i % steps.len()], 1 + 2 * i as u8))
        .collect();
    if let Some(last) = levels.last_mut() {
        last.count = inner;
    }
    Params { levels }
}

/// Generates the BF program.
pub fn program(p: &Params) -> String {
    let mut b = Builder::new();
    let counters: Vec<_> = p.levels.iter().map(|_| b.alloc()).collect();
    let sums: Vec<_> = p.levels.iter().map(|_| b.alloc()).collect();
    // Open every level, outermost first; the generator itself does not recurse.
    for (i, l) in p.levels.iter().enumerate() {
        assert!(l.step % 2 != 0 && (-5..=5).contains(&l.step) && l.count > 0);
        // Counting by `step` from `-count * step` reaches 0 after exactly `count` iterations.
        let start = (l.count as i32 * -(l.step as i32)).rem_euclid(256);
        b.set(counters[i], start as u8);
        b.loop_open(counters[i]);
        b.add(counters[i], l.step as i32);
        b.add(sums[i], l.add as i32);
    }
    for &c in counters.iter().rev() {
        b.loop_close(c);
    }
    for &s in &sums {
        b.output(s);
    }
    b.print(b"\n");
    b.finish()
}

/// The accumulators' final values, computed by counting iterations, independently of any BF engine.
pub fn expected(p: &Params) -> Vec<u8> {
    let mut runs = 1u64;
    let mut out: Vec<u8> = p
        .levels
        .iter()
        .map(|l| {
            runs *= l.count as u64;
            ((runs % 256) * l.add as u64 % 256) as u8
        })
        .collect();
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_counts_give_the_trip_counts() {
        // One level: 5 iterations counting up by 3 from 241 (= -15), adding 2 each.
        let p = Params {
            levels: vec![level(5, 3, 2)],
        };
        assert_eq!(expected(&p), vec![10, b'\n']);
        assert!(program(&p).contains("[+++"));
    }
}
