//! Binary numbers on the tape: [`Bits`], two's complement, one bit per cell, and the builder's
//! arithmetic on them (copy, add, negate, signed fixed-point multiply, threshold tests).

use super::{Builder, Cell};

/// A two's-complement binary number stored one bit per cell, least significant bit first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bits {
    /// The bit cells, least significant first.
    pub cells: Vec<Cell>,
}

impl Bits {
    /// Number of bits.
    pub fn width(&self) -> usize {
        self.cells.len()
    }

    /// The sign bit (the most significant).
    pub fn top(&self) -> Cell {
        *self.cells.last().expect("a number has at least one bit")
    }
}

impl Builder {
    /// Allocates a binary number of `width` bits (all zero).
    pub fn bits(&mut self, width: usize) -> Bits {
        Bits {
            cells: (0..width).map(|_| self.alloc()).collect(),
        }
    }

    /// Frees every cell of `x` (clearing them).
    pub fn free_bits(&mut self, x: Bits) {
        for c in x.cells {
            self.free(c);
        }
    }

    /// Sets `x` to `value` modulo `2^width` (two's complement for negative values).
    pub fn bits_set(&mut self, x: &Bits, value: i64) {
        for (i, &c) in x.cells.iter().enumerate() {
            self.clear(c);
            if (value >> i) & 1 == 1 {
                self.add(c, 1);
            }
        }
    }

    /// Sets `dst` to `src` (same width).
    pub fn bits_copy(&mut self, src: &Bits, dst: &Bits) {
        assert_eq!(src.width(), dst.width());
        for (&s, &d) in src.cells.iter().zip(&dst.cells) {
            self.copy(s, d);
        }
    }

    /// `dst[k] = src[k - by]` for the bits that fit, zeros below: a left shift into another number.
    pub fn bits_shift_left_into(&mut self, src: &Bits, by: usize, dst: &Bits) {
        for (k, &d) in dst.cells.iter().enumerate() {
            self.clear(d);
            if k >= by && k - by < src.width() {
                self.copy_add(src.cells[k - by], &[(d, 1)]);
            }
        }
    }

    /// One full-adder step: `dst += src + carry` for single bits; the new carry goes to `carry`.
    fn full_add(&mut self, dst: Cell, src: Option<Cell>, carry: Cell) {
        let t = self.alloc();
        if let Some(src) = src {
            self.copy_add(src, &[(t, 1)]);
        }
        self.move_add(carry, &[(t, 1)]);
        self.move_add(dst, &[(t, 1)]);
        // t is 0..=3: bit 0 goes to dst, bit 1 to carry.
        self.unary_decode(
            t,
            &[
                &|b: &mut Builder| b.add(dst, 1),
                &|b: &mut Builder| {
                    b.add(dst, -1);
                    b.add(carry, 1);
                },
                &|b: &mut Builder| b.add(dst, 1),
            ],
        );
        self.release(t);
    }

    /// `dst[offset..] += src` modulo `2^dst.width()`; bits of `src` that do not fit are ignored.
    pub fn bits_add_at(&mut self, dst: &Bits, src: &Bits, offset: usize) {
        let carry = self.alloc();
        for k in offset..dst.width() {
            let s = src.cells.get(k - offset).copied();
            self.full_add(dst.cells[k], s, carry);
        }
        self.free(carry);
    }

    /// `dst += src` modulo `2^width`.
    pub fn bits_add(&mut self, dst: &Bits, src: &Bits) {
        self.bits_add_at(dst, src, 0);
    }

    /// `dst += value` modulo `2^width`.
    pub fn bits_add_const(&mut self, dst: &Bits, value: i64) {
        let t = self.bits(dst.width());
        self.bits_set(&t, value);
        self.bits_add(dst, &t);
        self.free_bits(t);
    }

    /// Flips every bit of `x`.
    pub fn bits_invert(&mut self, x: &Bits) {
        for &c in &x.cells {
            let t = self.alloc();
            self.add(t, 1);
            self.move_add(c, &[(t, -1)]);
            self.move_add(t, &[(c, 1)]);
            self.release(t);
        }
    }

    /// `x = -x` modulo `2^width` (invert, add one).
    pub fn bits_negate(&mut self, x: &Bits) {
        self.bits_invert(x);
        let carry = self.alloc();
        self.add(carry, 1);
        for &c in &x.cells {
            self.full_add(c, None, carry);
        }
        self.free(carry);
    }

    /// Negates `x` when `flag` is non-zero (`flag` unchanged).
    pub fn bits_negate_if(&mut self, x: &Bits, flag: Cell) {
        self.if_nonzero(flag, |b| b.bits_negate(x));
    }

    /// Signed fixed-point product: `out = (|a| * |b|) >> frac`, negated when the signs differ, modulo
    /// `2^width` (rounds toward zero); needs `frac <= width`. `a` and `b` may be the same number;
    /// `out` must be another.
    pub fn bits_mul_fixed(&mut self, a: &Bits, b: &Bits, out: &Bits, frac: usize) {
        let n = a.width();
        assert!(frac <= n);
        assert_eq!(b.width(), n);
        assert_eq!(out.width(), n);
        let sign = self.alloc();
        self.copy_add(a.top(), &[(sign, 1)]);
        self.copy_add(b.top(), &[(sign, 1)]);
        // sign is 0, 1 or 2; keep its low bit (the xor of the two signs).
        let neg = self.alloc();
        self.unary_decode(
            sign,
            &[&|bl: &mut Builder| bl.add(neg, 1), &|bl: &mut Builder| {
                bl.add(neg, -1)
            }],
        );
        self.release(sign);
        let ma = self.bits(n);
        self.bits_copy(a, &ma);
        self.bits_negate_if(&ma, a.top());
        let mb = self.bits(n);
        self.bits_copy(b, &mb);
        self.bits_negate_if(&mb, b.top());
        // Shift-add, one bit per pass of a BF loop (so the code holds one adder, not n): when the low
        // bit of |a| is set, add |b| into the high half; then shift (high, |a|) right by one. After
        // n passes `ma` holds the product's low n bits and `high` the next n.
        let high = self.bits(n + 1);
        let passes = self.alloc();
        self.add(passes, n as i32);
        self.while_nonzero(passes, |bl| {
            bl.if_nonzero_consume(ma.cells[0], |bl| bl.bits_add_at(&high, &mb, 0));
            let chain: Vec<Cell> = ma.cells.iter().chain(&high.cells).copied().collect();
            for w in chain.windows(2) {
                bl.move_add(w[1], &[(w[0], 1)]);
            }
            bl.add(passes, -1);
        });
        self.release(passes);
        for (k, &o) in out.cells.iter().enumerate() {
            self.clear(o);
            let bit = frac + k;
            let src = if bit < n {
                ma.cells[bit]
            } else {
                high.cells[bit - n]
            };
            self.move_add(src, &[(o, 1)]);
        }
        self.bits_negate_if(out, neg);
        self.free(neg);
        self.free_bits(high);
        self.free_bits(ma);
        self.free_bits(mb);
    }

    /// Sets `flag` (zero before) non-zero when any bit of `x` from `from` upward is set: for a
    /// non-negative number, `x >= 2^from`.
    pub fn bits_at_least_pow2(&mut self, x: &Bits, from: usize, flag: Cell) {
        for &c in &x.cells[from..] {
            self.copy_add(c, &[(flag, 1)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads::builder::tests::run;

    fn bits_value(out: &[u8], width: usize) -> i64 {
        let raw: i64 = out.iter().enumerate().map(|(i, &v)| (v as i64) << i).sum();
        let sign = 1i64 << (width - 1);
        (raw ^ sign) - sign
    }

    #[test]
    fn bits_add_negate_and_multiply_match_integer_arithmetic() {
        let width = 12;
        let frac = 4;
        for (x, y) in [
            (37i64, 21i64),
            (-37, 21),
            (37, -21),
            (-50, -33),
            (0, 99),
            (127, 1),
        ] {
            let mut b = Builder::new();
            let a = b.bits(width);
            let c = b.bits(width);
            let out = b.bits(width);
            b.bits_set(&a, x);
            b.bits_set(&c, y);
            b.bits_mul_fixed(&a, &c, &out, frac);
            b.bits_add(&a, &c);
            b.bits_negate(&c);
            for bits in [&out, &a, &c] {
                for &cell in &bits.cells {
                    b.output(cell);
                }
            }
            let o = run(&b.finish());
            let mag = (x.abs() * y.abs()) >> frac;
            let product = if (x < 0) != (y < 0) { -mag } else { mag };
            assert_eq!(bits_value(&o[..width], width), product, "{x}*{y}");
            assert_eq!(bits_value(&o[width..2 * width], width), x + y);
            assert_eq!(bits_value(&o[2 * width..], width), -y);
        }
    }
}
