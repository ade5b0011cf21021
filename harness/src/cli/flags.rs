//! The numeric flags of every subcommand: one typed value parser per kind of number, each with its
//! range, so every flag is checked in one place and every refusal says what is allowed.
//!
//! Clap calls these while parsing; a refused value ends the run with clap's usage error (exit 2).
//! Flags taking them are declared with `allow_negative_numbers`, so `--fuel -5` reaches the parser
//! and gets its message instead of "unexpected argument".

use std::time::Duration;

use bfjit_backends::MAX_TAPE_LEN;

/// The longest time any `SECS` flag accepts (a bit over eleven days).
pub const MAX_SECONDS: f64 = 1_000_000.0;

/// A number of seconds: finite, greater than 0 and at most [`MAX_SECONDS`] (`--timeout`,
/// `fuzz --seconds`, `bench --budget`, `bench --compile-budget`).
pub fn seconds(s: &str) -> Result<Duration, String> {
    let allowed = format!("allowed: a number of seconds greater than 0 and at most {MAX_SECONDS}");
    let value: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number; {allowed}"))?;
    if !(value.is_finite() && value > 0.0 && value <= MAX_SECONDS) {
        return Err(format!("{s} is not allowed; {allowed}"));
    }
    let duration = Duration::from_secs_f64(value);
    if duration.is_zero() {
        return Err(format!("{s} rounds to no time at all; {allowed}"));
    }
    Ok(duration)
}

/// A share of the time: finite, greater than 0 and at most 1 (`fuzz --time-share`).
pub fn share(s: &str) -> Result<f64, String> {
    const ALLOWED: &str = "allowed: a fraction greater than 0 and at most 1 (e.g. 0.2)";
    let value: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number; {ALLOWED}"))?;
    if !(value.is_finite() && value > 0.0 && value <= 1.0) {
        return Err(format!("{s} is not allowed; {ALLOWED}"));
    }
    Ok(value)
}

fn whole(s: &str, min: u64, max: u64) -> Result<u64, String> {
    let allowed = format!("allowed: a whole number from {min} to {max}");
    let value: u64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not allowed; {allowed}"))?;
    if !(min..=max).contains(&value) {
        return Err(format!("{value} is not allowed; {allowed}"));
    }
    Ok(value)
}

/// A tape length: 1 to [`MAX_TAPE_LEN`] cells (`--tape-len`).
pub fn tape_len(s: &str) -> Result<usize, String> {
    whole(s, 1, MAX_TAPE_LEN as u64).map(|n| n as usize)
}

/// A fuel limit for one run: 0 (stop at the first loop-body entry) or more (`run --fuel`).
pub fn fuel(s: &str) -> Result<u64, String> {
    whole(s, 0, u64::MAX)
}

/// A reference fuel budget: at least 1, since a budget of 0 decides nothing (`check --fuel`,
/// `fuzz --fuel`).
pub fn budget(s: &str) -> Result<u64, String> {
    whole(s, 1, u64::MAX)
}

/// A number of programs: at least 1 (`fuzz --cases`).
pub fn cases(s: &str) -> Result<u64, String> {
    whole(s, 1, u64::MAX)
}

/// A count that may be 0 (`fuzz --max-saved`).
pub fn count(s: &str) -> Result<usize, String> {
    whole(s, 0, usize::MAX as u64).map(|n| n as usize)
}

/// A number of parallel jobs: 1 to 1024 (`check --jobs`, `fuzz --jobs`).
pub fn jobs(s: &str) -> Result<usize, String> {
    whole(s, 1, 1024).map(|n| n as usize)
}

/// A time factor: finite, at least 1 and at most 100000 (`--time-factor`).
pub fn factor(s: &str) -> Result<f64, String> {
    const ALLOWED: &str = "allowed: a number from 1 to 100000 (e.g. 20)";
    let value: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number; {ALLOWED}"))?;
    if !(value.is_finite() && (1.0..=100_000.0).contains(&value)) {
        return Err(format!("{s} is not allowed; {ALLOWED}"));
    }
    Ok(value)
}

/// The default number of jobs: the cores this process may use.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A generator seed: any 64-bit unsigned number (`fuzz --seed`).
pub fn seed(s: &str) -> Result<u64, String> {
    whole(s, 0, u64::MAX)
}

/// Timed runs per benchmark cell: 1 to 1000 (`bench --runs`).
pub fn runs(s: &str) -> Result<u32, String> {
    whole(s, 1, 1000).map(|n| n as u32)
}

/// An optimization level: 0, 1 or 2 (`ir -O`).
pub fn opt_level(s: &str) -> Result<u8, String> {
    whole(s, 0, 2).map(|n| n as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_must_be_finite_and_positive() {
        for bad in [
            "inf", "-inf", "1e20", "nan", "NaN", "0", "-1", "0.0", "1e-30", "", "x",
        ] {
            let err = seconds(bad).unwrap_err();
            assert!(err.contains("greater than 0 and at most"), "{bad}: {err}");
        }
        assert_eq!(seconds("0.05"), Ok(Duration::from_millis(50)));
        assert_eq!(seconds("10"), Ok(Duration::from_secs(10)));
        assert_eq!(
            seconds("1000000"),
            Ok(Duration::from_secs(MAX_SECONDS as u64))
        );
    }

    #[test]
    fn share_is_a_fraction_up_to_one() {
        for bad in ["2", "nan", "0", "-0.5", "inf", "1.0001"] {
            let err = share(bad).unwrap_err();
            assert!(err.contains("greater than 0 and at most 1"), "{bad}: {err}");
        }
        assert_eq!(share("1"), Ok(1.0));
        assert_eq!(share("0.2"), Ok(0.2));
    }

    #[test]
    fn whole_numbers_say_their_range() {
        assert!(tape_len("-1").unwrap_err().contains("from 1 to 1073741824"));
        assert!(tape_len("0").unwrap_err().contains("from 1 to 1073741824"));
        assert!(tape_len("1073741825").unwrap_err().contains("from 1 to"));
        assert_eq!(tape_len("16"), Ok(16));
        assert!(fuel("-5").unwrap_err().contains("from 0 to"));
        assert_eq!(fuel("0"), Ok(0));
        assert!(budget("0").unwrap_err().contains("from 1 to"));
        assert!(cases("0").unwrap_err().contains("from 1 to"));
        assert_eq!(count("0"), Ok(0));
        assert!(seed("1.5").unwrap_err().contains("from 0 to"));
        assert!(runs("1001").unwrap_err().contains("from 1 to 1000"));
        assert!(opt_level("3").unwrap_err().contains("from 0 to 2"));
        assert!(jobs("0").unwrap_err().contains("from 1 to 1024"));
        assert_eq!(jobs("4"), Ok(4));
        for bad in ["0.5", "nan", "inf", "-3", "1e9"] {
            assert!(
                factor(bad).unwrap_err().contains("from 1 to 100000"),
                "{bad}"
            );
        }
        assert_eq!(factor("20"), Ok(20.0));
    }
}
