//! The output-heavy workload: FizzBuzz over a decimal counter, one line per number (over 1 MB at
//! the full size).

use super::builder::Builder;

/// How many lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// The last number (at most 999999).
    pub lines: u64,
}

/// The full size (over 1 MB of output).
pub const FULL: Params = Params { lines: 200_000 };

/// The quick size.
pub const QUICK: Params = Params { lines: 3000 };

/// Generates the BF program.
pub fn program(p: &Params) -> String {
    assert!(p.lines <= 999_999);
    let mut b = Builder::new();
    let number = b.decimal(6);
    let m3 = b.alloc();
    let m5 = b.alloc();
    b.set(m3, 3);
    b.set(m5, 5);
    b.repeat(p.lines, |b| {
        b.decimal_inc(&number);
        b.add(m3, -1);
        b.add(m5, -1);
        let plain = b.alloc();
        b.add(plain, 1);
        b.if_zero(m3, |b| {
            b.print(b"Fizz");
            b.set(m3, 3);
            b.clear(plain);
        });
        b.if_zero(m5, |b| {
            b.print(b"Buzz");
            b.set(m5, 5);
            b.clear(plain);
        });
        b.if_nonzero_consume(plain, |b| b.decimal_print(&number));
        b.release(plain);
        b.print(b"\n");
    });
    b.finish()
}

/// Computes the output with plain Rust, independently of any BF engine.
pub fn expected(p: &Params) -> Vec<u8> {
    let mut out = String::new();
    for i in 1..=p.lines {
        match (i % 3, i % 5) {
            (0, 0) => out.push_str("FizzBuzz\n"),
            (0, _) => out.push_str("Fizz\n"),
            (_, 0) => out.push_str("Buzz\n"),
            _ => out.push_str(&format!("{i}\n")),
        }
    }
    out.into_bytes()
}
