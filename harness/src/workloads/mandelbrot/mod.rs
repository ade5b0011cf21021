//! The mandelbrot workload: an ASCII Mandelbrot set in signed fixed-point arithmetic on multi-cell
//! binary numbers (one bit per cell), multiplication by shift-and-add.
//!
//! Per pixel: `z = 0`; up to `max_iter` times: `zr2 = zr*zr`, `zi2 = zi*zi`, `p = zr*zi`; stop
//! when `zr2 + zi2 >= 4`; else `zi = 2*p + ci`, `zr = zr2 - zi2 + cr`, count one. The pixel's
//! character comes from the count. [`expected`] computes the same picture with plain integer
//! arithmetic.
//!
//! Code size does not grow with the precision: the numbers are interleaved in *records* (record `k`
//! holds bit `k` of every number, see `field`), and every operation on whole numbers is a *walk*,
//! one BF loop that steps from record to record at run time (adders carry into the next record;
//! the multiplier shifts its chain down one record per pass) and then scans back to record 0. The
//! three products per iteration go through one multiplier in a three-pass loop. The record layout and
//! the walks are in `records`; this module holds the picture, the program and [`expected`].

use super::builder::Builder;
use records::*;

mod records;

/// One level of the count decoder: code run when the count is above that level.
type Level = Box<dyn Fn(&mut Builder)>;

/// The picture and the number format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// Characters per line (at most 255).
    pub width: u32,
    /// Lines (at most 255).
    pub height: u32,
    /// Iterations before a point counts as inside (at most 255).
    pub max_iter: u32,
    /// Bits per number (two's complement).
    pub bits: u32,
    /// Fraction bits of the fixed-point format.
    pub frac: u32,
}

/// The full size (tens of seconds on `reference`).
pub const FULL: Params = Params {
    width: 96,
    height: 40,
    max_iter: 48,
    bits: 16,
    frac: 9,
};

/// The quick size (well under a second on `reference`).
pub const QUICK: Params = Params {
    width: 24,
    height: 10,
    max_iter: 10,
    bits: 16,
    frac: 9,
};

/// Characters from "escaped at once" to "inside".
const PALETTE: &[u8] = b" .:-=+*%#@";

/// The region drawn: real part from -2.25 to 0.75, imaginary part from -1.25 to 1.25.
const RE_MIN: f64 = -2.25;
const RE_MAX: f64 = 0.75;
const IM_MIN: f64 = -1.25;
const IM_MAX: f64 = 1.25;

/// The fixed-point constants of the picture: start and step of each axis, as integers.
fn grid(p: &Params) -> (i64, i64, i64, i64) {
    let scale = (1i64 << p.frac) as f64;
    let re0 = (RE_MIN * scale).round() as i64;
    let dre = (((RE_MAX - RE_MIN) / p.width as f64) * scale).round() as i64;
    let im0 = (IM_MAX * scale).round() as i64;
    let dim = -(((IM_MAX - IM_MIN) / p.height as f64) * scale).round() as i64;
    (re0, dre, im0, dim)
}

/// The palette character for an escape count.
fn shade(count: u32, max_iter: u32) -> u8 {
    PALETTE[(count as usize * (PALETTE.len() - 1)) / max_iter as usize]
}

/// Generates the BF program.
pub fn program(p: &Params) -> String {
    use field::*;
    assert!(p.width <= 255 && p.height <= 255 && (1..=255).contains(&p.max_iter));
    assert!(p.frac + 2 < p.bits && p.bits >= 2);
    let n = p.bits as usize;
    let frac = p.frac as usize;
    let (re0, dre, im0, dim) = grid(p);
    let mut b = Builder::new();
    setup_records(&mut b, n);
    let rows = b.alloc();
    let cols = b.alloc();
    let running = b.alloc();
    let left = b.alloc();
    let count = b.alloc();
    num_put(&mut b, n, CI, im0);
    b.set(rows, p.height as u8);
    b.while_nonzero(rows, |b| {
        num_clear(b, n, &[CR]);
        num_put(b, n, CR, re0);
        b.set(cols, p.width as u8);
        b.while_nonzero(cols, |b| {
            num_clear(b, n, &[ZR, ZI, ZR2, ZI2, P]);
            b.set(count, 0);
            b.set(left, p.max_iter as u8);
            b.set(running, 1);
            b.while_nonzero(running, |b| {
                // Three products through one multiplier: zr*zr, zi*zi, zr*zi.
                let sel = b.alloc();
                b.add(sel, 3);
                b.while_nonzero(sel, |b| {
                    b.if_equals(sel, 3, |b| num_copy(b, n, ZR, &[CH, MB]));
                    b.if_equals(sel, 2, |b| num_copy(b, n, ZI, &[CH, MB]));
                    b.if_equals(sel, 1, |b| {
                        walk_num(b, n, |f| {
                            f.copy_add(rel(0, ZR), &[(rel(0, CH), 1)]);
                            f.copy_add(rel(0, ZI), &[(rel(0, MB), 1)]);
                        })
                    });
                    num_mul(b, n, frac);
                    b.if_equals(sel, 3, |b| num_move(b, n, O, ZR2));
                    b.if_equals(sel, 2, |b| num_move(b, n, O, ZI2));
                    b.if_equals(sel, 1, |b| num_move(b, n, O, P));
                    b.add(sel, -1);
                });
                b.release(sel);
                // Escape when zr2 + zi2 >= 4: count the set bits from frac + 2 up (the sum is read
                // unsigned); the count ends in record n.
                num_copy(b, n, ZR2, &[O]);
                num_add(b, n, O, ZI2, false);
                walk(
                    b,
                    n,
                    frac + 2,
                    M,
                    |f| {
                        f.move_add(rel(0, O), &[(rel(0, C), 1)]);
                        f.move_add(rel(0, C), &[(rel(1, C), 1)]);
                    },
                    |_, _| {},
                );
                num_clear(b, n, &[O]);
                let escaped = b.alloc();
                b.move_add(rec(n, C), &[(escaped, 1)]);
                b.if_else(
                    escaped,
                    |b| b.clear(running),
                    |b| {
                        // zi = 2*zr*zi + ci; zr = zr2 - zi2 + cr.
                        num_clear(b, n, &[ZR, ZI]);
                        num_copy(b, n, P, &[ZI]);
                        num_add(b, n, ZI, P, true);
                        num_add(b, n, ZI, CI, false);
                        num_move(b, n, ZR2, ZR);
                        num_add(b, n, ZR, CR, false);
                        num_negate(b, n, ZI2);
                        num_add(b, n, ZR, ZI2, true);
                        b.add(count, 1);
                        b.add(left, -1);
                        b.if_zero(left, |b| b.clear(running));
                    },
                );
                b.free(escaped);
            });
            // Character from the count: start at the count-0 character and step through the palette.
            let ch = b.alloc();
            b.add(ch, shade(0, p.max_iter) as i32);
            let steps: Vec<i32> = (1..=p.max_iter)
                .map(|c| shade(c, p.max_iter) as i32 - shade(c - 1, p.max_iter) as i32)
                .collect();
            let levels: Vec<Level> = steps
                .iter()
                .map(|&d| Box::new(move |b: &mut Builder| b.add(ch, d)) as Level)
                .collect();
            let refs: Vec<&dyn Fn(&mut Builder)> = levels.iter().map(|l| l.as_ref()).collect();
            b.unary_decode(count, &refs);
            b.output(ch);
            b.free(ch);
            num_add_const(b, n, CR, dre);
            b.add(cols, -1);
        });
        b.print(b"\n");
        num_add_const(b, n, CI, dim);
        b.add(rows, -1);
    });
    b.finish()
}

/// Computes the picture with plain integer arithmetic, independently of any BF engine.
pub fn expected(p: &Params) -> Vec<u8> {
    let n = p.bits;
    let mask = (1i64 << n) - 1;
    // Two's-complement `n`-bit wrapping, read back as a signed value.
    let wrap = |v: i64| {
        let v = v & mask;
        if v >> (n - 1) == 1 {
            v - (1 << n)
        } else {
            v
        }
    };
    let mul = |a: i64, b: i64| {
        let product = ((a.abs() * b.abs()) >> p.frac) & mask;
        wrap(if (a < 0) != (b < 0) {
            -product
        } else {
            product
        })
    };
    let (re0, dre, im0, dim) = grid(p);
    let mut out = Vec::new();
    let mut ci = wrap(im0);
    for _ in 0..p.height {
        let mut cr = wrap(re0);
        for _ in 0..p.width {
            let (mut zr, mut zi) = (0i64, 0i64);
            let mut count = 0;
            while count < p.max_iter {
                let zr2 = mul(zr, zr);
                let zi2 = mul(zi, zi);
                if (zr2 + zi2) & mask >= 4 << p.frac {
                    break;
                }
                zi = wrap(2 * mul(zr, zi) + ci);
                zr = wrap(zr2 - zi2 + cr);
                count += 1;
            }
            out.push(shade(count, p.max_iter));
            cr = wrap(cr + dre);
        }
        out.push(b'\n');
        ci = wrap(ci + dim);
    }
    out
}
