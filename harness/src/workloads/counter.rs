//! The counter workload: a binary counter kept one bit per record, driven by pointer walks.
//!
//! Records of [`STRIDE`] cells (rail, bit, clears, tally, scratch) lie between two sentinel records
//! whose rail is 0; every other rail is 1. One step of the counter:
//! - increment: from bit 0, walk right over the 1 bits clearing each and counting the clear in its
//!   record (`[->+>>>>]`), set the first 0 bit, scan back to the left sentinel (`[<<<<<]`);
//! - tally: walk every record adding its bit to its tally (two move loops and a move per record),
//!   then scan back.
//!
//! Every `per_line` steps the bits are printed as a line of `0`/`1` (least significant first), by one
//! more walk. At the end the clear counts and the tallies are printed as raw bytes (each modulo 256),
//! one line each. The profile is walks whose bodies are a few adds at offsets and one move, and
//! strided scans: the pointer moves on nearly every command.

use super::builder::{Builder, Cell};

/// How long the counter counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// Bits of the counter.
    pub width: usize,
    /// Printed lines (the counter counts `lines * per_line` steps).
    pub lines: u64,
    /// Steps between two printed lines (1..=255).
    pub per_line: u8,
}

/// The full size.
pub const FULL: Params = Params {
    width: 24,
    lines: 6_000,
    per_line: 250,
};

/// The quick size.
pub const QUICK: Params = Params {
    width: 12,
    lines: 40,
    per_line: 50,
};

/// Cells per record.
pub const STRIDE: usize = 5;
const RAIL: usize = 0;
const BIT: usize = 1;
const CLEARS: usize = 2;
const TALLY: usize = 3;
const SCRATCH: usize = 4;
/// The left sentinel record (cells below are the driver's).
const SENTINEL: usize = 16;
/// The static origin of walk fragments.
const ORIGIN: usize = STRIDE;

fn record(r: usize) -> usize {
    SENTINEL + STRIDE * (r + 1)
}

/// From record 0's `field`: scans back to the left sentinel and returns to record 0's bit.
fn back_to_start(b: &mut Builder, from_rail: Cell) {
    b.goto(from_rail);
    let left = "<".repeat(STRIDE);
    b.raw(&format!("[{left}]"));
    b.assume_pointer(Cell(SENTINEL + RAIL));
    b.goto(Cell(record(0) + BIT));
}

/// Walks every record (from record 0 to the right sentinel) running `body`, written for the record
/// at `ORIGIN`, then scans back to record 0's bit.
fn walk_all(b: &mut Builder, body: impl FnOnce(&mut Builder)) {
    let mut f = Builder::fragment(ORIGIN, ORIGIN + SCRATCH..ORIGIN + STRIDE);
    f.while_nonzero(Cell(ORIGIN + RAIL), |f| {
        body(f);
        f.goto(Cell(ORIGIN + RAIL));
        f.shift_base(STRIDE as isize);
    });
    f.goto(Cell(ORIGIN + RAIL));
    f.shift_base(-(STRIDE as isize));
    b.goto(Cell(record(0) + RAIL));
    b.raw(f.code());
    // The pointer is on the last record's rail (non-zero): scan back to the sentinel.
    back_to_start(b, Cell(record(0) + RAIL));
}

/// Generates the BF program.
pub fn program(p: &Params) -> String {
    assert!(p.per_line > 0 && p.width < 64 && p.lines * (p.per_line as u64) < 1 << p.width);
    assert!(record(p.width + 1) <= bfjit_backends::DEFAULT_TAPE_LEN);
    let mut b = Builder::new();
    b.claim_range(Cell(SENTINEL), bfjit_backends::DEFAULT_TAPE_LEN - SENTINEL);
    for r in 0..p.width {
        b.add(Cell(record(r) + RAIL), 1);
    }
    let newline = b.alloc();
    b.add(newline, b'\n' as i32);
    b.repeat(p.lines, |b| {
        let steps = b.alloc();
        b.add(steps, p.per_line as i32);
        b.while_nonzero(steps, |b| {
            b.add(steps, -1);
            // Increment: clear the trailing 1 bits (counting each clear), set the next bit.
            b.goto(Cell(record(0) + BIT));
            let right = ">".repeat(STRIDE - 1);
            b.raw(&format!("[->+{right}]+"));
            back_to_start(b, Cell(record(0) + RAIL));
            // Tally: add every bit to its record's tally.
            walk_all(b, |f| {
                let bit = Cell(ORIGIN + BIT);
                f.copy_add(bit, &[(Cell(ORIGIN + TALLY), 1)]);
            });
        });
        b.release(steps);
        walk_all(b, |f| {
            let bit = Cell(ORIGIN + BIT);
            f.add(bit, b'0' as i32);
            f.output(bit);
            f.add(bit, -(b'0' as i32));
        });
        b.output(newline);
    });
    for column in [CLEARS, TALLY] {
        walk_all(&mut b, |f| f.output(Cell(ORIGIN + column)));
        b.output(newline);
    }
    b.finish()
}

/// Computes the output with a plain counter, independently of any BF engine.
pub fn expected(p: &Params) -> Vec<u8> {
    let mut bits = vec![0u8; p.width];
    let mut clears = vec![0u8; p.width];
    let mut tally = vec![0u8; p.width];
    let mut out = Vec::new();
    for _ in 0..p.lines {
        for _ in 0..p.per_line {
            let mut j = 0;
            while bits[j] == 1 {
                bits[j] = 0;
                clears[j] = clears[j].wrapping_add(1);
                j += 1;
            }
            bits[j] = 1;
            for (t, &b) in tally.iter_mut().zip(&bits) {
                *t = t.wrapping_add(b);
            }
        }
        out.extend(bits.iter().map(|&b| b'0' + b));
        out.push(b'\n');
    }
    for column in [&clears, &tally] {
        out.extend_from_slice(column);
        out.push(b'\n');
    }
    out
}
