//! Decimal counters on the tape: [`Decimal`], one digit per cell, incremented and printed.

use super::{Builder, Cell};

/// An unsigned decimal number stored one digit (0..=9) per cell, least significant digit first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decimal {
    /// The digit cells, least significant first.
    pub digits: Vec<Cell>,
}

impl Builder {
    /// Allocates a decimal number of `digits` digits (all zero).
    pub fn decimal(&mut self, digits: usize) -> Decimal {
        Decimal {
            digits: (0..digits).map(|_| self.alloc()).collect(),
        }
    }

    /// Adds one to `x` (wrapping to zero past the largest value).
    pub fn decimal_inc(&mut self, x: &Decimal) {
        // digit 0 += 1; if it reached 10, zero it and carry into digit 1, and so on: the carry
        // branches nest, so the common case costs one test.
        let mut opened = Vec::new();
        for (i, &d) in x.digits.iter().enumerate() {
            self.add(d, 1);
            if i + 1 == x.digits.len() {
                // The top digit wraps from 10 to 0.
                self.if_equals(d, 10, |b| b.clear(d));
                break;
            }
            let t = self.alloc();
            let flag = self.alloc();
            self.copy_add(d, &[(t, 1)]);
            self.add(t, -10);
            self.add(flag, 1);
            self.if_nonzero_consume(t, |b| b.add(flag, -1));
            self.release(t);
            self.goto(flag);
            self.code.push('[');
            self.add(flag, -1);
            self.clear(d);
            opened.push(flag);
        }
        while let Some(flag) = opened.pop() {
            self.goto(flag);
            self.code.push(']');
            self.release(flag);
        }
    }

    /// Prints `x` in decimal, without leading zeros (zero prints as `0`).
    pub fn decimal_print(&mut self, x: &Decimal) {
        let started = self.alloc();
        let n = x.digits.len();
        for i in (0..n).rev() {
            let d = x.digits[i];
            let print = |b: &mut Builder| {
                b.add(d, b'0' as i32);
                b.output(d);
                b.add(d, -(b'0' as i32));
            };
            if i == 0 {
                print(self);
            } else {
                self.if_nonzero(d, |b| b.set(started, 1));
                self.if_nonzero(started, print);
            }
        }
        self.free(started);
    }

    /// Prints `x` in decimal with all its digits (leading zeros kept).
    pub fn decimal_print_padded(&mut self, x: &Decimal) {
        for &d in x.digits.iter().rev() {
            self.add(d, b'0' as i32);
            self.output(d);
            self.add(d, -(b'0' as i32));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads::builder::tests::run;

    #[test]
    fn decimal_counter_wraps_and_prints() {
        let mut b = Builder::new();
        let d = b.decimal(2);
        b.repeat(105, |b| b.decimal_inc(&d));
        b.decimal_print_padded(&d);
        b.decimal_print(&d);
        assert_eq!(run(&b.finish()), b"055");
    }
}
