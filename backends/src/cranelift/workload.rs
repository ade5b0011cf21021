//! Generators of large BF programs for measuring compile time, in tests and benchmarks.
//!
//! [`synthetic`] strings together small pointer-neutral snippets (multiply loops, copies, clears, scans,
//! nested counted loops, straight-line arithmetic, output), sometimes wrapped in a loop that runs once,
//! so the result looks like real generated BF, terminates quickly, and has loops nested a few deep.

/// Snippets that start and end on the same cell and only touch cells at or right of it.
const SNIPPETS: [&str; 8] = [
    // Multiply 5 * 4 into the next cell, then move it back.
    "[-]+++++[>++++<-]>[<+>-]<",
    // Copy the cell two to the right through a temporary.
    ">>[-]>[-]<<<[->>+>+<<<]>>>[-<<<+>>>]<<<",
    // A scan over a one-cell run: set p+1, clear p+2, scan right from p+1, come back.
    ">[-]+>[-]<[>]<<",
    // Two nested counted loops.
    ">[-]+++[>[-]++[>+<-]<-]<",
    // Straight-line arithmetic at several offsets.
    "+>++>+++<-<--",
    // Output, then clear.
    ">.[-]<",
    // A loop that does not fold: a counter stepping by 2 (from an even start).
    ">[-]++++[-->+<]<",
    // Wrapping arithmetic.
    "-----------+++",
];

/// A deterministic program of at least `commands` BF commands (a little more: snippets are kept whole),
/// different for each `seed`. It runs to completion on the default tape in a few steps per command.
pub fn synthetic(commands: usize, seed: u64) -> String {
    let mut rng = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) as usize
    };
    let mut out = String::with_capacity(commands + 64);
    // Open "run once" loops; each moved the start cell one to the right.
    let mut depth = 0usize;
    while out.len() < commands || depth > 0 {
        let choice = next() % 16;
        if out.len() < commands && choice < 2 && depth < 6 {
            // A loop whose body runs exactly once, on the cells to the right of its counter.
            out.push_str("[-]+[->");
            depth += 1;
        } else if choice < 4 && depth > 0 {
            out.push_str("<]");
            depth -= 1;
        } else if out.len() < commands {
            out.push_str(SNIPPETS[next() % SNIPPETS.len()]);
        } else {
            out.push_str("<]");
            depth -= 1;
        }
    }
    out
}

/// A program of `depth` loops nested in one another around a `-`, after one `+`: every body runs once.
pub fn nested(depth: usize) -> String {
    format!("+{}-{}", "[".repeat(depth), "]".repeat(depth))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::Program;

    #[test]
    fn synthetic_is_balanced_and_at_least_as_long_as_asked() {
        for n in [0, 1, 100, 5_000] {
            let src = synthetic(n, 7);
            let program = Program::parse(src.as_str()).unwrap();
            assert!(program.len() >= n);
            assert!(program.len() <= n + 256, "{} for {n}", program.len());
        }
        assert_ne!(synthetic(500, 1), synthetic(500, 2));
    }
}
