//! Instruction counts for CI: one whole process of a cell run under `valgrind --tool=callgrind`, its
//! total of executed instructions (`Ir`) read from the output file. Unlike times, counts barely move
//! between runs, so a CI machine shared with other jobs can still flag a regression.
//!
//! Limits, which the report repeats:
//! - the count is the whole process: start-up, parsing, compiling (for the C backends, the C
//!   compiler runs in child processes that are *not* counted: callgrind follows no children unless
//!   asked), and the run; for small workloads start-up and compile dominate;
//! - `c-naive` runs its program in a child process, which is not counted either: its count is the
//!   compile driver and the harness side only;
//! - JIT code is counted (`--smc-check=all-non-file` makes valgrind notice code written at run
//!   time), but valgrind runs it 20–100× slower, so only small cells are practical;
//! - instructions are not time: a change in cache misses, branch mispredictions or memory
//!   bandwidth does not show, and an instruction of generated code counts the same as a libc one.

use std::path::Path;
use std::process::{Command, Stdio};

use super::process::Timed;
use super::Workload;

/// Runs the cell's process once under callgrind and returns its instruction count.
pub fn count_instructions(timed: &Timed, workload: &Workload) -> Result<u64, String> {
    let dir = tempfile::Builder::new()
        .prefix("bfjit-callgrind-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary folder: {e}"))?;
    let out = dir.path().join("callgrind.out");
    let argv = timed.command_line(&workload.case.path, &workload.case.config);
    let input = std::fs::File::open(input_file(dir.path(), &workload.case.input)?)
        .map_err(|e| format!("cannot open the input: {e}"))?;
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg("--smc-check=all-non-file")
        .arg("--quiet")
        .args(&argv)
        .stdin(input)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run valgrind (is it installed?): {e}"))?;
    if !status.success() {
        return Err(format!("valgrind: {status}"));
    }
    let text =
        std::fs::read_to_string(&out).map_err(|e| format!("cannot read {}: {e}", out.display()))?;
    parse_total(&text).ok_or_else(|| "no instruction total in callgrind's output".to_string())
}

/// Writes the input to a file in `dir` (so valgrind reads it as its standard input).
fn input_file(dir: &Path, input: &[u8]) -> Result<std::path::PathBuf, String> {
    let path = dir.join("input");
    std::fs::write(&path, input).map_err(|e| format!("cannot write the input: {e}"))?;
    Ok(path)
}

/// The total instruction count of a callgrind output file (`summary:` or `totals:` line).
pub fn parse_total(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_is_read_from_summary_or_totals() {
        assert_eq!(
            parse_total("events: Ir\nfl=x\nsummary: 12345\n"),
            Some(12345)
        );
        assert_eq!(parse_total("events: Ir\ntotals: 77 3\n"), Some(77));
        assert_eq!(parse_total("events: Ir\n"), None);
    }
}
