//! How the report writes numbers: durations with units, ratios, grouped digits, verdict labels,
//! anchors, and the geometric mean.

use crate::bench::results::{Stats, Verdict};

/// A duration in seconds written with three significant digits and a fitting unit.
pub fn format_secs(secs: f64) -> String {
    let (value, unit) = if secs <= 0.0 {
        return "0".to_string();
    } else if secs < 0.9995e-6 {
        (secs * 1e9, "ns")
    } else if secs < 0.9995e-3 {
        (secs * 1e6, "µs")
    } else if secs < 0.9995 {
        (secs * 1e3, "ms")
    } else {
        (secs, "s")
    };
    format!("{} {unit}", three_digits(value))
}

/// A number in 1..1000 written with three significant digits (`1.23`, `12.3`, `123`).
pub(super) fn three_digits(value: f64) -> String {
    if value >= 99.95 {
        format!("{value:.0}")
    } else if value >= 9.995 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

pub(super) fn format_ratio(r: f64) -> String {
    if r >= 0.995 {
        format!("{}×", three_digits(r))
    } else {
        // Slower than the base: three significant digits below one.
        let digits = (-r.log10().floor()) as usize + 2;
        format!("{r:.digits$}×")
    }
}

pub(super) fn group_digits(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(super) fn total(compile: &Option<Stats>, run: &Option<Stats>) -> Option<f64> {
    Some(compile.as_ref()?.median + run.as_ref()?.median)
}

pub(super) fn verdict_label(v: Verdict) -> &'static str {
    match v {
        Verdict::Ok => "ok",
        Verdict::Wrong => "wrong output",
        Verdict::Failed => "failed",
        Verdict::CompileError => "compile error",
        Verdict::Unsupported => "unsupported",
        Verdict::Skipped => "skipped",
    }
}

pub(super) fn anchor(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("w-{slug}")
}

pub(super) fn geomean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some((values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_formatted_with_units() {
        assert_eq!(format_secs(0.0), "0");
        assert_eq!(format_secs(1.5e-9), "1.50 ns");
        assert_eq!(format_secs(0.000_123_4), "123 µs");
        assert_eq!(format_secs(0.0456), "45.6 ms");
        assert_eq!(format_secs(42.0), "42.0 s");
        assert_eq!(format_ratio(123.4), "123×");
        assert_eq!(format_ratio(0.5), "0.500×");
        assert_eq!(format_ratio(0.00123), "0.00123×");
        assert_eq!(format_secs(9.9999e-5), "100 µs");
        assert_eq!(format_secs(0.99999), "1.00 s");
        assert_eq!(group_digits(1_234_567), "1,234,567");
        assert_eq!(group_digits(12), "12");
    }
}
