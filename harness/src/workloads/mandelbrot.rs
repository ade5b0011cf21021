//! The mandelbrot workload: an ASCII Mandelbrot set in signed fixed-point arithmetic on multi-cell
//! binary numbers (one bit per cell), multiplication by shift-and-add.
//!
//! Per pixel: `z = 0`; up to `max_iter` times: `zr2 = zr*zr`, `zi2 = zi*zi`; stop when
//! `zr2 + zi2 >= 4`; else `zi = 2*zr*zi + ci`, `zr = zr2 - zi2 + cr`, count one. The pixel's character
//! comes from the count. [`expected`] computes the same picture with plain integer arithmetic.

use super::builder::Builder;

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
    assert!(p.width <= 255 && p.height <= 255 && (1..=255).contains(&p.max_iter));
    let n = p.bits as usize;
    let frac = p.frac as usize;
    let (re0, dre, im0, dim) = grid(p);
    let mut b = Builder::new();
    let rows = b.alloc();
    let cols = b.alloc();
    let running = b.alloc();
    let left = b.alloc();
    let count = b.alloc();
    let ci = b.bits(n);
    let cr = b.bits(n);
    let zr = b.bits(n);
    let zi = b.bits(n);
    let zr2 = b.bits(n);
    let zi2 = b.bits(n);
    let t = b.bits(n);

    b.bits_set(&ci, im0);
    b.set(rows, p.height as u8);
    b.while_nonzero(rows, |b| {
        b.bits_set(&cr, re0);
        b.set(cols, p.width as u8);
        b.while_nonzero(cols, |b| {
            b.bits_set(&zr, 0);
            b.bits_set(&zi, 0);
            b.set(count, 0);
            b.set(left, p.max_iter as u8);
            b.set(running, 1);
            b.while_nonzero(running, |b| {
                b.bits_mul_fixed(&zr, &zr, &zr2, frac);
                b.bits_mul_fixed(&zi, &zi, &zi2, frac);
                b.bits_copy(&zr2, &t);
                b.bits_add(&t, &zi2);
                // Escape when zr2 + zi2 >= 4 (both are non-negative; the sum is read unsigned).
                let escaped = b.alloc();
                b.bits_at_least_pow2(&t, frac + 2, escaped);
                b.if_else(
                    escaped,
                    |b| b.clear(running),
                    |b| {
                        b.bits_mul_fixed(&zr, &zi, &t, frac);
                        b.bits_shift_left_into(&t, 1, &zi);
                        b.bits_add(&zi, &ci);
                        b.bits_copy(&zr2, &zr);
                        b.bits_negate(&zi2);
                        b.bits_add(&zr, &zi2);
                        b.bits_add(&zr, &cr);
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
            let levels: Vec<Box<dyn Fn(&mut Builder)>> = steps
                .iter()
                .map(|&d| {
                    Box::new(move |b: &mut Builder| b.add(ch, d)) as Box<dyn Fn(&mut Builder)>
                })
                .collect();
            let refs: Vec<&dyn Fn(&mut Builder)> = levels.iter().map(|l| l.as_ref()).collect();
            b.unary_decode(count, &refs);
            b.output(ch);
            b.free(ch);
            b.bits_add_const(&cr, dre);
            b.add(cols, -1);
        });
        b.print(b"\n");
        b.bits_add_const(&ci, dim);
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
