//! The nested-loops workload: deeply nested counting loops around a decimal counter.
//!
//! Level `i` runs `counts[i]` times; the innermost body adds one to a decimal counter, and after each
//! pass of the outermost loop the counter is printed on its own line. The profile: loop entries and
//! exits at every depth, short bodies, a carry chain that rarely goes deep.

use super::builder::Builder;

/// Loop counts from the outermost level inward, and the counter's digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    /// Iterations of each level, outermost first (each 1..=255).
    pub counts: Vec<u8>,
    /// Decimal digits of the counter.
    pub digits: usize,
}

/// The full size.
pub fn full() -> Params {
    Params {
        counts: vec![4, 5, 5, 6, 7, 8, 9, 10],
        digits: 9,
    }
}

/// The quick size.
pub fn quick() -> Params {
    Params {
        counts: vec![3, 2, 3, 4, 5, 3, 2, 2],
        digits: 9,
    }
}

/// Generates the BF program.
pub fn program(p: &Params) -> String {
    let mut b = Builder::new();
    let counters: Vec<_> = p.counts.iter().map(|_| b.alloc()).collect();
    let total = b.decimal(p.digits);
    // Open every level, outermost first; the generator itself does not recurse.
    for (&c, &n) in counters.iter().zip(&p.counts) {
        b.set(c, n);
        b.loop_open(c);
    }
    b.decimal_inc(&total);
    for (i, &c) in counters.iter().enumerate().rev() {
        b.add(c, -1);
        if i == 0 {
            b.decimal_print(&total);
            b.print(b"\n");
        }
        b.loop_close(c);
    }
    b.finish()
}

/// Computes the output with plain nested loops, independently of any BF engine.
pub fn expected(p: &Params) -> Vec<u8> {
    let depth = p.counts.len();
    let modulus = 10u64.pow(p.digits as u32);
    let mut total = 0u64;
    let mut out = Vec::new();
    // An explicit odometer of loop indices stands for the nested loops.
    let mut index = vec![0u8; depth];
    loop {
        total = (total + 1) % modulus;
        let mut level = depth - 1;
        loop {
            if level == 0 {
                out.extend_from_slice(format!("{total}\n").as_bytes());
            }
            index[level] += 1;
            if index[level] < p.counts[level] {
                break;
            }
            index[level] = 0;
            if level == 0 {
                return out;
            }
            level -= 1;
        }
    }
}
