//! The scan workload: zero-terminated arrays that grow by one element per round, walked to their
//! end and back with `[>]`/`[<]` (stride 1) and `[>>>>]`/`[<<<<]` (stride 4).
//!
//! Each round appends to both arrays: walk to the end, copy the last element into the free slot and
//! add 2 (elements start odd, so they never wrap to zero), output it, and scan back to the sentinel.

use super::builder::{Builder, Cell};

/// How many rounds (each round appends one element to each array).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// Number of rounds.
    pub rounds: usize,
}

/// The full size.
pub const FULL: Params = Params { rounds: 5000 };

/// The quick size.
pub const QUICK: Params = Params { rounds: 300 };

/// The stride-4 array's sentinel record (cells below are the driver's).
const WIDE: usize = 16;
const WIDE_FIRST: u8 = 3;
const NARROW_FIRST: u8 = 1;

fn narrow_sentinel(p: &Params) -> usize {
    WIDE + 4 * (p.rounds + 3) + 8
}

/// One round on an array with stride `s` whose sentinel is at `sentinel`.
fn round(b: &mut Builder, sentinel: usize, s: usize) {
    let right = ">".repeat(s);
    let left = "<".repeat(s);
    b.goto(Cell(sentinel));
    // To the end, back onto the last element, copy it to the free slot and the cell after it.
    b.raw(&format!("{right}[{right}]{left}"));
    b.raw(&format!(
        "[-{right}+>+<{left}]{right}>[-<{left}+{right}>]<++."
    ));
    // Back to the sentinel.
    b.raw(&format!("[{left}]"));
    b.assume_pointer(Cell(sentinel));
}

/// Generates the BF program.
pub fn program(p: &Params) -> String {
    let narrow = narrow_sentinel(p);
    assert!(narrow + p.rounds + 4 <= bfjit_backends::DEFAULT_TAPE_LEN);
    let mut b = Builder::new();
    b.claim_range(Cell(WIDE), bfjit_backends::DEFAULT_TAPE_LEN - WIDE);
    b.add(Cell(WIDE + 4), WIDE_FIRST as i32);
    b.add(Cell(narrow + 1), NARROW_FIRST as i32);
    b.repeat(p.rounds as u64, |b| {
        round(b, narrow, 1);
        round(b, WIDE, 4);
    });
    b.finish()
}

/// Computes the output with plain vectors, independently of any BF engine.
pub fn expected(p: &Params) -> Vec<u8> {
    let mut narrow = vec![NARROW_FIRST];
    let mut wide = vec![WIDE_FIRST];
    let mut out = Vec::new();
    for _ in 0..p.rounds {
        for array in [&mut narrow, &mut wide] {
            let next = array.last().copied().unwrap_or(0).wrapping_add(2);
            array.push(next);
            out.push(next);
        }
    }
    out
}
