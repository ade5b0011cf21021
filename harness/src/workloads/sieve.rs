//! The sieve workload: a sieve of Eratosthenes over an array of records, marking with walkers that
//! carry their counters along.
//!
//! For each `p` in `2..=max_p`, a walker starts at record 0 with a countdown of `2p` and the reload
//! value `p`, and steps through every record: when the countdown is zero the record is marked
//! composite and the countdown reloads to `p`. Both values are *moved* to the next record at every
//! step (`[->>>>>>>>+<<<<<<<<]`), so the profile is dominated by move and copy loops. At the end each
//! record prints `*` (prime) or `.`.

use super::builder::{Builder, Cell};

/// Array length and the largest `p` whose multiples are marked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// Number of records (the numbers `0..len`).
    pub len: usize,
    /// Largest marking step (at most 127, so `2p` fits a cell).
    pub max_p: u8,
}

/// The full size.
pub const FULL: Params = Params {
    len: 3500,
    max_p: 127,
};

/// The quick size.
pub const QUICK: Params = Params {
    len: 300,
    max_p: 17,
};

const LIVE: usize = 0;
const COMP: usize = 1;
const CNT: usize = 2;
const PV: usize = 3;
/// Record size: four fields and four temporaries.
const STRIDE: usize = 8;
/// Where the array's zero sentinel record starts; cells below are the driver's.
const ARRAY: usize = 32;
/// The static origin of walker fragments (lets them address the previous record).
const ORIGIN: usize = 16;

fn record(r: usize) -> usize {
    ARRAY + STRIDE * (r + 1)
}

/// Runs `body` (written relative to the record at `ORIGIN`) at every live record from record 0,
/// leaving the pointer on the first dead record; then runs `after` there.
fn walk(b: &mut Builder, body: impl FnOnce(&mut Builder), after: impl FnOnce(&mut Builder)) {
    let base = Cell(ORIGIN);
    let mut f = Builder::fragment(ORIGIN, ORIGIN + 4..ORIGIN + STRIDE);
    for field in [LIVE, COMP, CNT, PV] {
        f.claim(Cell(ORIGIN + field));
    }
    f.loop_open(base);
    body(&mut f);
    f.goto(base);
    f.shift_base(STRIDE as isize);
    f.loop_close(base);
    after(&mut f);
    f.goto(base);
    b.goto(Cell(record(0)));
    b.raw(f.code());
}

/// Generates the BF program.
pub fn program(p: &Params) -> String {
    assert!(p.max_p <= 127 && record(p.len) + STRIDE <= bfjit_backends::DEFAULT_TAPE_LEN);
    let mut b = Builder::new();
    b.claim_range(Cell(ORIGIN), bfjit_backends::DEFAULT_TAPE_LEN - ORIGIN);
    for r in 0..p.len {
        b.add(Cell(record(r) + LIVE), 1);
    }
    b.add(Cell(record(0) + COMP), 1);
    b.add(Cell(record(1) + COMP), 1);
    let pc = b.alloc();
    let left = b.alloc();
    b.set(pc, 2);
    b.set(left, p.max_p - 1);
    b.while_nonzero(left, |b| {
        b.copy_add(pc, &[(Cell(record(0) + CNT), 2), (Cell(record(0) + PV), 1)]);
        let rel = |field: usize| Cell(ORIGIN + field);
        walk(
            b,
            |f| {
                f.if_zero(rel(CNT), |f| {
                    f.set(rel(COMP), 1);
                    f.copy_add(rel(PV), &[(rel(CNT), 1)]);
                });
                f.add(rel(CNT), -1);
                f.move_add(rel(CNT), &[(rel(STRIDE + CNT), 1)]);
                f.move_add(rel(PV), &[(rel(STRIDE + PV), 1)]);
            },
            |f| {
                // The walker stands on the first dead record: drop its values, step back onto the
                // last live record, and scan back to the sentinel.
                f.clear(rel(CNT));
                f.clear(rel(PV));
                f.goto(rel(LIVE));
                f.shift_base(-(STRIDE as isize));
                f.raw(&format!("[{}]", "<".repeat(STRIDE)));
            },
        );
        b.assume_pointer(Cell(ARRAY));
        b.add(pc, 1);
        b.add(left, -1);
    });
    b.free(pc);
    b.free(left);
    walk(
        &mut b,
        |f| {
            let rel = |field: usize| Cell(ORIGIN + field);
            f.if_else(rel(COMP), |f| f.print(b"."), |f| f.print(b"*"));
        },
        |f| f.print(b"\n"),
    );
    b.finish()
}

/// Computes the output with a plain sieve, independently of any BF engine.
pub fn expected(p: &Params) -> Vec<u8> {
    let mut composite = vec![false; p.len];
    for c in composite.iter_mut().take(2) {
        *c = true;
    }
    for step in 2..=p.max_p as usize {
        for c in composite.iter_mut().skip(2 * step).step_by(step) {
            *c = true;
        }
    }
    let mut out: Vec<u8> = composite
        .iter()
        .map(|&c| if c { b'.' } else { b'*' })
        .collect();
    out.push(b'\n');
    out
}
