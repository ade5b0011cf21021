//! Describes the machine a benchmark ran on: CPU, OS, compilers and crate versions, and the UTC clock.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use super::results::{CrateVersion, Environment};

/// The workspace lock file, read at build time for the versions of the crates that shape the numbers.
const CARGO_LOCK: &str = include_str!("../../../Cargo.lock");

/// The crates whose versions the report lists.
const CRATES_OF_INTEREST: &[&str] = &[
    "bfjit-backends",
    "bfjit-harness",
    "cranelift-codegen",
    "cranelift-jit",
    "dynasmrt",
    "libloading",
    "criterion",
    "plotters",
    "minijinja",
];

/// Captures the environment of this process.
pub fn capture() -> Environment {
    Environment {
        cpu: cpu_model().unwrap_or_else(|| std::env::consts::ARCH.to_string()),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        os: os_description(),
        rustc: first_line_of("rustc", &["-V"]).unwrap_or_else(|| "unknown".into()),
        cc: first_line_of("cc", &["--version"]).unwrap_or_else(|| "no C compiler found".into()),
        crates: crate_versions(CARGO_LOCK, CRATES_OF_INTEREST),
    }
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(key, _)| {
            let key = key.trim();
            key == "model name" || key == "Model" || key == "Hardware"
        })
        .map(|(_, value)| value.trim().to_string())
}

fn os_description() -> String {
    let pretty = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|s| s.trim().to_string());
    let base = pretty.unwrap_or_else(|| std::env::consts::OS.to_string());
    match kernel {
        Some(k) => format!("{base}, kernel {k}, {}", std::env::consts::ARCH),
        None => format!("{base}, {}", std::env::consts::ARCH),
    }
}

fn first_line_of(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .next()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
}

/// The versions of `names` found in a Cargo.lock text, in the order of `names`.
pub fn crate_versions(lock: &str, names: &[&str]) -> Vec<CrateVersion> {
    let mut found = Vec::new();
    for &wanted in names {
        let mut lines = lock.lines();
        while let Some(line) = lines.next() {
            if line.trim() == format!("name = \"{wanted}\"") {
                if let Some(version) = lines
                    .next()
                    .and_then(|v| v.trim().strip_prefix("version = "))
                {
                    found.push(CrateVersion {
                        name: wanted.to_string(),
                        version: version.trim_matches('"').to_string(),
                    });
                }
                break;
            }
        }
    }
    found
}

/// Seconds since the Unix epoch as a UTC civil date and time.
fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// The current time as ISO 8601 UTC, e.g. `2025-01-31T12:00:00Z`.
pub fn now_iso() -> String {
    iso(now_secs())
}

/// The ISO 8601 UTC form of a Unix time.
pub fn iso(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// A Unix time as a directory name with no colons, e.g. `2025-01-31T12-00-00Z`.
pub fn dir_stamp(secs: u64) -> String {
    iso(secs).replace(':', "-")
}

/// Seconds since the Unix epoch now.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso(1_738_324_799), "2025-01-31T11:59:59Z");
        assert_eq!(dir_stamp(0), "1970-01-01T00-00-00Z");
    }

    #[test]
    fn lock_versions_are_found() {
        let lock = "[[package]]\nname = \"plotters\"\nversion = \"0.3.7\"\n";
        let v = crate_versions(lock, &["plotters", "absent"]);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].version, "0.3.7");
        assert!(!crate_versions(CARGO_LOCK, &["bfjit-backends"]).is_empty());
    }
}
