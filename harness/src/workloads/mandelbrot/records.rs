//! The record layout of the mandelbrot workload (record `k` holds bit `k` of every number) and the
//! walks that do arithmetic on whole numbers: add, negate, clear, move, copy, constants, and the
//! shift-and-add multiplier.

use crate::workloads::builder::{Builder, Cell};

/// Fields of a bit record (offsets inside it). Record `k` holds bit `k` of every number; the
/// fields the multiplier walks touch most sit next to each other.
pub(super) mod field {
    /// 1 in the records of the number bits (`0..n`), 0 elsewhere: the condition of a number walk.
    pub const M: usize = 0;
    /// 1 in the records of the product chain (`0..=2n`), 0 elsewhere: the condition of a chain
    /// walk, and the field the scan home stops on (record -1 holds 0).
    pub const M3: usize = 1;
    /// The product chain: `|a|` in records `0..n`, the high half in `n..=2n`.
    pub const CH: usize = 2;
    /// The carry of an adder walk; also the escape count.
    pub const C: usize = 3;
    /// First temporary of a walk body.
    pub const X1: usize = 4;
    /// Second temporary of a walk body.
    pub const X2: usize = 5;
    /// `|b|` while multiplying.
    pub const MB: usize = 6;
    /// The product before it moves to its destination; also `zr2 + zi2` and constants to add.
    pub const O: usize = 7;
    /// `zr * zi`.
    pub const P: usize = 8;
    /// The real part of `z`.
    pub const ZR: usize = 9;
    /// The imaginary part of `z`.
    pub const ZI: usize = 10;
    /// `zr * zr`.
    pub const ZR2: usize = 11;
    /// `zi * zi`.
    pub const ZI2: usize = 12;
    /// The real part of `c`.
    pub const CR: usize = 13;
    /// The imaginary part of `c`.
    pub const CI: usize = 14;
    /// Cells per record.
    pub const R: usize = 15;
}

/// Where the records start on the tape; the cells below hold the single-cell variables.
pub(super) const BASE: usize = 32;
/// The record index a walk body sees as "this record" (fragment coordinates).
pub(super) const HERE: usize = 1 << 20;

/// The tape cell of field `f` in record `k`.
pub(super) fn rec(k: usize, f: usize) -> Cell {
    Cell(BASE + k * field::R + f)
}

/// Field `f` of the record `by` records after the current one, inside a walk body.
pub(super) fn rel(by: isize, f: usize) -> Cell {
    Cell((HERE as isize + by * field::R as isize) as usize + f)
}

/// Emits a walk: a BF loop that runs `body` once per record from record `start` while field `cond`
/// of the record is non-zero, stepping one record per pass; then runs `after` at the record where
/// it stopped (`end`), and scans back to record 0. Code size does not depend on the walk's length.
pub(super) fn walk(
    b: &mut Builder,
    n: usize,
    start: usize,
    cond: usize,
    body: impl FnOnce(&mut Builder),
    after: impl FnOnce(&mut Builder, usize),
) {
    let end = if cond == field::M { n } else { 2 * n + 1 };
    assert!(start < end);
    let mut f = Builder::fragment(HERE + cond, HERE + field::X1..HERE + field::X2 + 1);
    body(&mut f);
    f.goto(Cell(HERE + cond));
    let step = ">".repeat(field::R);
    let back = "<".repeat(field::R);
    b.goto(rec(start, cond));
    b.raw("[");
    b.raw(f.code());
    b.raw(&step);
    b.raw("]");
    b.assume_pointer(rec(end, cond));
    after(b, end);
    b.goto(rec(end, field::M3));
    if end == 2 * n + 1 {
        b.raw(&back);
    }
    // Scan back to record -1 (its M3 is zero), then step into record 0.
    b.raw(&format!("[{back}]{step}"));
    b.assume_pointer(rec(0, field::M3));
}

/// A walk over the number records with no code after it.
pub(super) fn walk_num(b: &mut Builder, n: usize, body: impl FnOnce(&mut Builder)) {
    walk(b, n, 0, field::M, body, |_, _| {});
}

/// One full-adder step in a walk body: `dst += src + carry` on bits, the `src` bit taken from the
/// record `by` records away; the carry goes to the next record. `consume` empties `src` instead of
/// copying it.
pub(super) fn full_add(f: &mut Builder, dst: usize, src: Option<(usize, isize)>, consume: bool) {
    let (dst, carry) = (rel(0, dst), rel(0, field::C));
    let t = f.alloc();
    match src {
        Some((s, by)) if consume => f.move_add(rel(by, s), &[(t, 1)]),
        Some((s, by)) => f.copy_add(rel(by, s), &[(t, 1)]),
        None => {}
    }
    f.move_add(carry, &[(t, 1)]);
    f.move_add(dst, &[(t, 1)]);
    // t is 0..=3: bit 0 goes to dst, bit 1 to the next record's carry.
    let next = rel(1, field::C);
    f.unary_decode(
        t,
        &[
            &|b: &mut Builder| b.add(dst, 1),
            &|b: &mut Builder| {
                b.add(dst, -1);
                b.add(next, 1);
            },
            &|b: &mut Builder| b.add(dst, 1),
        ],
    );
    f.release(t);
}

/// `dst += src` modulo `2^n` (records `0..n`); `consume` empties `src`.
pub(super) fn num_add(b: &mut Builder, n: usize, dst: usize, src: usize, consume: bool) {
    walk(
        b,
        n,
        0,
        field::M,
        |f| full_add(f, dst, Some((src, 0)), consume),
        |b, end| b.clear(rec(end, field::C)),
    );
}

/// `x = -x` modulo `2^n` (invert, add one).
pub(super) fn num_negate(b: &mut Builder, n: usize, x: usize) {
    b.add(rec(0, field::C), 1);
    walk(
        b,
        n,
        0,
        field::M,
        |f| {
            let c = rel(0, x);
            let t = f.alloc();
            f.add(t, 1);
            f.move_add(c, &[(t, -1)]);
            f.move_add(t, &[(c, 1)]);
            f.release(t);
            full_add(f, x, None, false);
        },
        |b, end| b.clear(rec(end, field::C)),
    );
}

/// Clears the numbers in `fields`.
pub(super) fn num_clear(b: &mut Builder, n: usize, fields: &[usize]) {
    walk_num(b, n, |f| {
        for &x in fields {
            f.clear(rel(0, x));
        }
    });
}

/// Adds `src` to `dst` bit by bit (no carries: `dst` is zero) and empties `src`.
pub(super) fn num_move(b: &mut Builder, n: usize, src: usize, dst: usize) {
    walk_num(b, n, |f| f.move_add(rel(0, src), &[(rel(0, dst), 1)]));
}

/// Adds `src` to each number in `dst` (each zero before), keeping `src`.
pub(super) fn num_copy(b: &mut Builder, n: usize, src: usize, dst: &[usize]) {
    walk_num(b, n, |f| {
        let targets: Vec<(Cell, i32)> = dst.iter().map(|&d| (rel(0, d), 1)).collect();
        f.copy_add(rel(0, src), &targets);
    });
}

/// Writes `value` modulo `2^n` into the number `x`, which is zero (unrolled: one `+` per set bit).
pub(super) fn num_put(b: &mut Builder, n: usize, x: usize, value: i64) {
    for k in 0..n {
        if (value >> k) & 1 == 1 {
            b.add(rec(k, x), 1);
        }
    }
}

/// `x += value` modulo `2^n`, through the constant field.
pub(super) fn num_add_const(b: &mut Builder, n: usize, x: usize, value: i64) {
    num_put(b, n, field::O, value);
    num_add(b, n, x, field::O, true);
}

/// Runs `body` as code written for absolute cells whose temporaries live in the unused number
/// fields of record `n` (next to the sign bits), so it needs no trip to the single-cell variables.
pub(super) fn local(b: &mut Builder, n: usize, body: impl FnOnce(&mut Builder)) {
    let mut f = Builder::fragment(b.pointer().0, rec(n, field::P).0..rec(n, field::CI).0 + 1);
    body(&mut f);
    let end = f.pointer();
    b.raw(f.code());
    b.assume_pointer(end);
}

/// Signed fixed-point product of the numbers in `CH` and `MB` into `O` (zero before):
/// `(|a| * |b|) >> frac`, negated when the signs differ, modulo `2^n`. Empties `CH` and `MB`.
pub(super) fn num_mul(b: &mut Builder, n: usize, frac: usize) {
    use field::*;
    let mut flags = (Cell(0), Cell(0), Cell(0));
    // Signs and their xor, kept in record n; make both factors non-negative.
    local(b, n, |f| {
        let sa = f.alloc();
        let sb = f.alloc();
        let neg = f.alloc();
        f.copy_add(rec(n - 1, CH), &[(sa, 1)]);
        f.copy_add(rec(n - 1, MB), &[(sb, 1)]);
        let sum = f.alloc();
        f.copy_add(sa, &[(sum, 1)]);
        f.copy_add(sb, &[(sum, 1)]);
        f.unary_decode(
            sum,
            &[&|g: &mut Builder| g.add(neg, 1), &|g: &mut Builder| {
                g.add(neg, -1)
            }],
        );
        f.release(sum);
        f.if_nonzero_consume(sa, |g| num_negate(g, n, CH));
        f.if_nonzero_consume(sb, |g| num_negate(g, n, MB));
        flags = (sa, sb, neg);
    });
    let (sa, sb, neg) = flags;
    // Lift |b| into records n..2n, next to the high half it is added to.
    walk_num(b, n, |f| {
        f.move_add(rel(0, MB), &[(rel(n as isize, MB), 1)])
    });
    // Shift-add, one bit of |a| per pass: when the low bit of the chain is set, add |b| into the
    // high half (records n..=2n); then shift the whole chain down one record.
    let passes = b.alloc();
    b.add(passes, n as i32);
    b.while_nonzero(passes, |b| {
        b.if_nonzero_consume(rec(0, CH), |b| {
            walk(
                b,
                n,
                n,
                M3,
                |f| full_add(f, CH, Some((MB, 0)), false),
                |b, end| b.clear(rec(end, C)),
            );
        });
        walk(
            b,
            n,
            0,
            M3,
            |f| f.move_add(rel(1, CH), &[(rel(0, CH), 1)]),
            |_, _| {},
        );
        b.add(passes, -1);
    });
    b.release(passes);
    // The product's bits frac..frac+n are the result.
    walk_num(b, n, |f| {
        f.move_add(rel(frac as isize, CH), &[(rel(0, O), 1)])
    });
    walk(
        b,
        n,
        0,
        M3,
        |f| {
            f.clear(rel(0, CH));
            f.clear(rel(0, MB));
        },
        |_, _| {},
    );
    local(b, n, |f| {
        f.claim(sa);
        f.claim(sb);
        f.claim(neg);
        f.release(sa);
        f.release(sb);
        f.if_nonzero_consume(neg, |g| num_negate(g, n, O));
        f.release(neg);
    });
}

/// Reserves the records (and the cell of record -1 the scans home stop on) for numbers of `n` bits
/// and sets their markers.
pub(super) fn setup_records(b: &mut Builder, n: usize) {
    use field::*;
    b.claim(Cell(BASE - R + M3));
    b.claim_range(Cell(BASE), R * (2 * n + 4));
    for k in 0..=2 * n {
        if k < n {
            b.add(rec(k, M), 1);
        }
        b.add(rec(k, M3), 1);
    }
}

#[cfg(test)]
mod tests {
    use super::field::*;
    use super::*;
    use bfjit_backends::{backend_by_name, compile_and_run, Config, Program, Status};

    /// Runs `code` on `reference` and reads its output as numbers of `n` bits, one byte per bit.
    fn run_numbers(code: &str, n: usize) -> Vec<i64> {
        let program = Program::parse(code).unwrap();
        let reference = backend_by_name("reference").unwrap();
        let outcome = compile_and_run(reference, &program, &Config::default(), b"").unwrap();
        assert_eq!(outcome.status, Status::Ok);
        outcome
            .output
            .chunks(n)
            .map(|bits| {
                let raw: i64 = bits.iter().enumerate().map(|(i, &v)| (v as i64) << i).sum();
                let sign = 1i64 << (n - 1);
                (raw ^ sign) - sign
            })
            .collect()
    }

    fn output_number(b: &mut Builder, n: usize, x: usize) {
        for k in 0..n {
            b.output(rec(k, x));
        }
    }

    #[test]
    fn walks_add_negate_and_multiply_like_integer_arithmetic() {
        let (n, frac) = (12usize, 4u32);
        let wrap = |v: i64| ((v + 2048).rem_euclid(4096)) - 2048;
        for (x, y) in [
            (37i64, 21i64),
            (-37, 21),
            (37, -21),
            (-50, -33),
            (0, 99),
            (2047, 2047),
            (-2048, -2048),
            (-2048, 3),
        ] {
            let mut b = Builder::new();
            setup_records(&mut b, n);
            num_put(&mut b, n, CH, x);
            num_put(&mut b, n, MB, y);
            num_mul(&mut b, n, frac as usize);
            output_number(&mut b, n, O);
            num_put(&mut b, n, ZR, x);
            num_put(&mut b, n, ZI, y);
            num_add(&mut b, n, ZR, ZI, false);
            num_negate(&mut b, n, ZI);
            output_number(&mut b, n, ZR);
            output_number(&mut b, n, ZI);
            num_clear(&mut b, n, &[O]);
            num_add_const(&mut b, n, ZI, x);
            output_number(&mut b, n, ZI);
            let got = run_numbers(&b.finish(), n);
            let magnitude = ((x.abs() * y.abs()) >> frac) & 4095;
            let product = wrap(if (x < 0) != (y < 0) {
                -magnitude
            } else {
                magnitude
            });
            assert_eq!(
                got,
                [product, wrap(x + y), wrap(-y), wrap(x - y)],
                "{x} {y}"
            );
        }
    }
}
