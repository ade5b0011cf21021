//! A small library that emits BF from higher-level building blocks.
//!
//! A [`Builder`] tracks the pointer position statically, so code is written in terms of named cells
//! ([`Cell`]) rather than `<` and `>`: `b.copy(x, y)` emits the moves and the copy loop. Every loop the
//! builder emits ends where it started, which keeps the static pointer exact. Cells come from an
//! allocator; a freed cell is cleared first, so a fresh cell is always zero.
//!
//! Numbers wider than a cell:
//! - [`Bits`]: a two's-complement binary number, one bit (0 or 1) per cell, least significant first:
//!   copy, add, negate, signed fixed-point multiply (shift-add), threshold tests;
//! - [`Decimal`]: an unsigned decimal number, one digit per cell: increment and print;
//! - [`Builder::repeat`]: a counted loop whose counter spans as many cells as the count needs.
//!
//! Modules: this one holds the builder, cell allocation and single-cell control flow; `bits` the
//! binary numbers, `decimal` the decimal counters.
//!
//! A *fragment* builder ([`Builder::fragment`]) works relative to a moving base, for loops whose body
//! moves the pointer (array walks): its cells are offsets from the base and its allocator is confined
//! to a given range of offsets.

use std::collections::BTreeSet;
use std::ops::Range;

mod bits;
mod decimal;

pub use bits::Bits;
pub use decimal::Decimal;

/// One tape cell, by absolute index (or by offset from the base, in a fragment builder).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cell(pub usize);

/// Emits BF code while tracking the pointer and which cells are in use.
#[derive(Debug)]
pub struct Builder {
    code: String,
    ptr: usize,
    used: BTreeSet<usize>,
    pool: Range<usize>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// A builder for a whole program: pointer at cell 0, every cell free.
    pub fn new() -> Builder {
        Builder {
            code: String::new(),
            ptr: 0,
            used: BTreeSet::new(),
            pool: 0..usize::MAX,
        }
    }

    /// A builder for code that runs with the pointer at `origin` and may allocate temporaries only
    /// within `pool` (cells of a moving record, say).
    pub fn fragment(origin: usize, pool: Range<usize>) -> Builder {
        Builder {
            code: String::new(),
            ptr: origin,
            used: BTreeSet::new(),
            pool,
        }
    }

    /// The code emitted so far.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Ends building and returns the program text.
    pub fn finish(self) -> String {
        self.code
    }

    /// Where the builder believes the pointer stands.
    pub fn pointer(&self) -> Cell {
        Cell(self.ptr)
    }

    /// Tells the builder the pointer now stands at `cell` (after code that moved it dynamically and
    /// resynchronised, e.g. a scan back to a known sentinel).
    pub fn assume_pointer(&mut self, cell: Cell) {
        self.ptr = cell.0;
    }

    /// Marks `cell` as in use so the allocator never hands it out.
    pub fn claim(&mut self, cell: Cell) {
        assert!(self.used.insert(cell.0), "cell {} claimed twice", cell.0);
    }

    /// Marks `count` cells from `first` as in use.
    pub fn claim_range(&mut self, first: Cell, count: usize) {
        for i in 0..count {
            self.claim(Cell(first.0 + i));
        }
    }

    /// A free cell (zero), the lowest available in the pool.
    pub fn alloc(&mut self) -> Cell {
        self.alloc_block(1)
    }

    /// `count` contiguous free cells (zero); returns the first.
    pub fn alloc_block(&mut self, count: usize) -> Cell {
        let mut start = self.pool.start;
        'search: loop {
            assert!(
                start + count <= self.pool.end,
                "builder pool {:?} exhausted",
                self.pool
            );
            if let Some(taken) = (start..start + count).find(|i| self.used.contains(i)) {
                start = taken + 1;
                continue 'search;
            }
            break;
        }
        self.claim_range(Cell(start), count);
        Cell(start)
    }

    /// Clears `cell` and returns it to the allocator.
    pub fn free(&mut self, cell: Cell) {
        self.clear(cell);
        self.release(cell);
    }

    /// Returns `cell`, which the caller knows is zero, to the allocator without emitting code.
    pub fn release(&mut self, cell: Cell) {
        assert!(self.used.remove(&cell.0), "cell {} freed twice", cell.0);
    }

    /// Emits raw, pointer-neutral BF at the current cell.
    pub fn raw(&mut self, code: &str) {
        self.code.push_str(code);
    }

    /// Moves the pointer to `cell`.
    pub fn goto(&mut self, cell: Cell) {
        let (ch, n) = if cell.0 >= self.ptr {
            ('>', cell.0 - self.ptr)
        } else {
            ('<', self.ptr - cell.0)
        };
        self.code.extend(std::iter::repeat_n(ch, n));
        self.ptr = cell.0;
    }

    /// Moves the pointer by `by` cells and keeps the static position unchanged: the step of a walk
    /// whose body is written relative to a moving base.
    pub fn shift_base(&mut self, by: isize) {
        let ch = if by >= 0 { '>' } else { '<' };
        self.code.extend(std::iter::repeat_n(ch, by.unsigned_abs()));
    }

    /// Adds `delta` (wrapping) to `cell`, with `+` or `-` whichever is shorter.
    pub fn add(&mut self, cell: Cell, delta: i32) {
        let delta = delta.rem_euclid(256) as usize;
        if delta == 0 {
            return;
        }
        self.goto(cell);
        if delta <= 128 {
            self.code.extend(std::iter::repeat_n('+', delta));
        } else {
            self.code.extend(std::iter::repeat_n('-', 256 - delta));
        }
    }

    /// Sets `cell` to zero (`[-]`).
    pub fn clear(&mut self, cell: Cell) {
        self.goto(cell);
        self.code.push_str("[-]");
    }

    /// Sets `cell` to `value`.
    pub fn set(&mut self, cell: Cell, value: u8) {
        self.clear(cell);
        self.add(cell, value as i32);
    }

    /// Writes `cell` to the output.
    pub fn output(&mut self, cell: Cell) {
        self.goto(cell);
        self.code.push('.');
    }

    /// Reads one input byte into `cell`.
    pub fn input(&mut self, cell: Cell) {
        self.goto(cell);
        self.code.push(',');
    }

    /// Writes the bytes of `text` using one temporary cell.
    pub fn print(&mut self, text: &[u8]) {
        let t = self.alloc();
        let mut current = 0u8;
        for &byte in text {
            self.add(t, byte.wrapping_sub(current) as i32);
            self.output(t);
            current = byte;
        }
        self.free(t);
    }

    /// A loop on `cell`: `body` runs while `cell` is non-zero (checked before each pass).
    pub fn while_nonzero(&mut self, cell: Cell, body: impl FnOnce(&mut Builder)) {
        self.goto(cell);
        self.code.push('[');
        body(self);
        self.goto(cell);
        self.code.push(']');
    }

    /// Opens a loop on `cell` (`[` at `cell`); close it with [`Builder::loop_close`] on the same cell.
    pub fn loop_open(&mut self, cell: Cell) {
        self.goto(cell);
        self.code.push('[');
    }

    /// Closes a loop opened on `cell` (`]` at `cell`).
    pub fn loop_close(&mut self, cell: Cell) {
        self.goto(cell);
        self.code.push(']');
    }

    /// Empties `src` into each target: `target += src * factor` (wrapping); `src` becomes 0.
    pub fn move_add(&mut self, src: Cell, targets: &[(Cell, i32)]) {
        self.while_nonzero(src, |b| {
            b.add(src, -1);
            for &(t, f) in targets {
                b.add(t, f);
            }
        });
    }

    /// Adds `src * factor` to each target, leaving `src` unchanged (through one temporary).
    pub fn copy_add(&mut self, src: Cell, targets: &[(Cell, i32)]) {
        let tmp = self.alloc();
        let mut all = targets.to_vec();
        all.push((tmp, 1));
        self.move_add(src, &all);
        self.move_add(tmp, &[(src, 1)]);
        self.release(tmp);
    }

    /// Sets `dst` to the value of `src`.
    pub fn copy(&mut self, src: Cell, dst: Cell) {
        self.clear(dst);
        self.copy_add(src, &[(dst, 1)]);
    }

    /// Runs `body` once when `cond` is non-zero, consuming `cond` (it is zero afterwards).
    pub fn if_nonzero_consume(&mut self, cond: Cell, body: impl FnOnce(&mut Builder)) {
        self.while_nonzero(cond, |b| {
            body(b);
            b.clear(cond);
        });
    }

    /// Runs `body` once when `cond` is non-zero; `cond` is unchanged (`body` must not change it).
    pub fn if_nonzero(&mut self, cond: Cell, body: impl FnOnce(&mut Builder)) {
        let t = self.alloc();
        self.copy_add(cond, &[(t, 1)]);
        self.if_nonzero_consume(t, body);
        self.release(t);
    }

    /// Runs `then` when `cond` is non-zero, `otherwise` when it is zero; `cond` is read once, before
    /// either branch runs (so a branch may change it).
    pub fn if_else(
        &mut self,
        cond: Cell,
        then: impl FnOnce(&mut Builder),
        otherwise: impl FnOnce(&mut Builder),
    ) {
        let t = self.alloc();
        let e = self.alloc();
        self.add(e, 1);
        self.copy_add(cond, &[(t, 1)]);
        self.if_nonzero_consume(t, |b| {
            b.add(e, -1);
            then(b);
        });
        self.if_nonzero_consume(e, otherwise);
        self.release(t);
        self.release(e);
    }

    /// Runs `body` once when `cond` is zero (`cond` is read before `body` runs).
    pub fn if_zero(&mut self, cond: Cell, body: impl FnOnce(&mut Builder)) {
        self.if_else(cond, |_| {}, body);
    }

    /// Runs `body` once when `cell == value`; `cell` is unchanged.
    pub fn if_equals(&mut self, cell: Cell, value: u8, body: impl FnOnce(&mut Builder)) {
        let t = self.alloc();
        self.copy_add(cell, &[(t, 1)]);
        self.add(t, -(value as i32));
        self.if_zero(t, body);
        self.free(t);
    }

    /// A new cell holding 1 when `a < b` (unsigned cell values) and 0 otherwise.
    pub fn less_than(&mut self, a: Cell, b: Cell) -> Cell {
        let r = self.alloc();
        let ta = self.alloc();
        let tb = self.alloc();
        self.copy_add(a, &[(ta, 1)]);
        self.copy_add(b, &[(tb, 1)]);
        // Count both down; `a < b` when `ta` runs out while `tb` still has some left.
        self.while_nonzero(tb, |bl| {
            bl.add(tb, -1);
            bl.if_else(
                ta,
                |bl| bl.add(ta, -1),
                |bl| {
                    bl.add(r, 1);
                    bl.clear(tb);
                },
            );
        });
        self.free(ta);
        self.release(tb);
        r
    }

    /// Decodes a small count: `levels[k]` runs once when `counter > k`; `counter` ends at zero.
    /// Emitted as a chain of nested at-most-once loops (`t[- A t[- B t[- C]]]`).
    pub fn unary_decode(&mut self, counter: Cell, levels: &[&dyn Fn(&mut Builder)]) {
        if levels.is_empty() {
            self.clear(counter);
            return;
        }
        // Open every level, then close them all: nesting depth is the number of levels, and the
        // generator itself does not recurse.
        let last = levels.len() - 1;
        for (k, level) in levels.iter().enumerate() {
            self.goto(counter);
            self.code.push('[');
            self.add(counter, -1);
            level(self);
            if k == last {
                // The deepest level drains whatever is left, so the chain always ends at zero.
                self.clear(counter);
            }
            self.goto(counter);
        }
        for _ in levels {
            self.goto(counter);
            self.code.push(']');
        }
    }

    /// Runs `body` `count` times (a counted loop; the counter uses as many cells as `count` needs).
    pub fn repeat(&mut self, count: u64, body: impl FnOnce(&mut Builder)) {
        if count == 0 {
            return;
        }
        let width = ((64 - count.leading_zeros()) as usize).div_ceil(8).max(1);
        let digits: Vec<Cell> = (0..width).map(|_| self.alloc()).collect();
        for (i, &d) in digits.iter().enumerate() {
            self.add(d, ((count >> (8 * i)) & 0xff) as i32);
        }
        let go = self.alloc();
        self.any_nonzero(&digits, go);
        self.while_nonzero(go, |b| {
            body(b);
            b.decrement_wide(&digits);
            b.clear(go);
            b.any_nonzero(&digits, go);
        });
        self.release(go);
        for d in digits {
            self.release(d);
        }
    }

    /// Decrements a base-256 number (least significant cell first), borrowing across cells.
    pub fn decrement_wide(&mut self, digits: &[Cell]) {
        // Borrow from the next cell when this one is zero, then decrement (0 wraps to 255).
        let mut i = 0;
        let mut opened = Vec::new();
        while i + 1 < digits.len() {
            let flag = self.alloc();
            let t = self.alloc();
            self.add(flag, 1);
            self.copy_add(digits[i], &[(t, 1)]);
            self.if_nonzero_consume(t, |b| b.add(flag, -1));
            self.release(t);
            // Open "if flag": the inner digits are decremented inside it.
            self.goto(flag);
            self.code.push('[');
            self.add(flag, -1);
            opened.push(flag);
            i += 1;
        }
        self.add(digits[i], -1);
        while let Some(flag) = opened.pop() {
            self.goto(flag);
            self.code.push(']');
            self.release(flag);
            i -= 1;
            self.add(digits[i], -1);
        }
    }

    /// Sets `flag` (which must be zero) to a non-zero value when any of `cells` is non-zero.
    pub fn any_nonzero(&mut self, cells: &[Cell], flag: Cell) {
        for &c in cells {
            self.if_nonzero(c, |b| b.set(flag, 1));
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use bfjit_backends::{backend_by_name, compile_and_run, Config, Program, Status};

    /// Runs `code` on the reference with the default configuration; its output.
    pub(in crate::workloads::builder) fn run(code: &str) -> Vec<u8> {
        let program = Program::parse(code).unwrap();
        let reference = backend_by_name("reference").unwrap();
        let outcome = compile_and_run(reference, &program, &Config::default(), b"").unwrap();
        assert_eq!(outcome.status, Status::Ok);
        outcome.output
    }

    #[test]
    fn single_cell_ops_compute_what_they_say() {
        for (x, y) in [(3u8, 5u8), (5, 3), (4, 4), (0, 7), (7, 0), (200, 199)] {
            let mut b = Builder::new();
            let a = b.alloc();
            let c = b.alloc();
            b.set(a, x);
            b.set(c, y);
            let lt = b.less_than(a, c);
            b.output(lt);
            b.if_else(a, |b| b.print(b"T"), |b| b.print(b"F"));
            b.if_equals(a, 4, |b| b.print(b"4"));
            let t = b.alloc();
            b.copy(a, t);
            b.copy_add(c, &[(t, 3)]);
            b.output(t);
            let out = run(&b.finish());
            let mut expect = vec![(x < y) as u8, if x != 0 { b'T' } else { b'F' }];
            if x == 4 {
                expect.push(b'4');
            }
            expect.push(x.wrapping_add(y.wrapping_mul(3)));
            assert_eq!(out, expect, "x={x} y={y}");
        }
    }

    #[test]
    fn repeat_counts_past_one_cell() {
        for n in [1u64, 255, 256, 600] {
            let mut b = Builder::new();
            let d = b.decimal(4);
            b.repeat(n, |b| b.decimal_inc(&d));
            b.decimal_print(&d);
            assert_eq!(run(&b.finish()), n.to_string().as_bytes());
        }
    }

    #[test]
    fn unary_decode_runs_levels_below_the_count() {
        for n in 0..5u8 {
            let mut b = Builder::new();
            let c = b.alloc();
            let o = b.alloc();
            b.set(c, n);
            b.unary_decode(
                c,
                &[
                    &|b: &mut Builder| b.add(o, 1),
                    &|b: &mut Builder| b.add(o, 10),
                    &|b: &mut Builder| b.add(o, 100),
                ],
            );
            b.output(o);
            b.output(c);
            let expect = [0u8, 1, 11, 111, 111][n as usize];
            assert_eq!(run(&b.finish()), [expect, 0]);
        }
    }
}
