//! The replay command a reproducer's `.txt` report ends with is a command line that works: pasted
//! into a shell (here `sh -c`, with the binaries on `PATH`), it checks the saved reproducer again
//! and sees the same divergence (exit code 3). For an external engine that means its command
//! quoted twice (for the shell and for the `--engine` parser), its dialect, the case's tape length
//! and EOF policy, and the input file next to the program.

use std::path::Path;
use std::process::{Command, Output};

const BFJIT: &str = env!("CARGO_BIN_EXE_bfjit");
const BFJIT_TESTING: &str = env!("CARGO_BIN_EXE_bfjit-testing");
/// Where the binaries under test cache reference outcomes (never the user's cache).
const TEST_CACHE: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/bfjit-cache");

fn run(binary: &str, args: &[&str]) -> Output {
    Command::new(binary)
        .args(args)
        .env("BFJIT_CACHE_DIR", TEST_CACHE)
        .output()
        .expect("the binary runs")
}

/// The `replay:` line of the one `.txt` report in `dir`.
fn replay_line(dir: &Path) -> String {
    let reports: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let txt = std::fs::read_to_string(&reports[0]).unwrap();
    txt.lines()
        .find_map(|l| l.strip_prefix("replay: "))
        .unwrap_or_else(|| panic!("no replay line in {txt}"))
        .to_string()
}

/// Runs `line` with `sh -c` from another folder, the binaries first on `PATH`.
fn replay(line: &str) -> Output {
    let bin = Path::new(BFJIT).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let elsewhere = tempfile::tempdir().unwrap();
    Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(elsewhere.path())
        .env("PATH", path)
        .env("BFJIT_CACHE_DIR", TEST_CACHE)
        .output()
        .expect("sh runs")
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn an_external_engines_replay_command_sees_the_divergence_again() {
    let work = tempfile::tempdir().unwrap();
    // The engine lives in a folder whose name needs quoting twice: a space and a quote.
    let engine_dir = work.path().join("it's my engine");
    std::fs::create_dir(&engine_dir).unwrap();
    let script = engine_dir.join("buggy_bf.py");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/engines/buggy_bf.py"),
        &script,
    )
    .unwrap();
    // Reads its one input byte, then end of input (255 under `max`), and prints it: the planted
    // bug prints two bytes for 255, and only with the input file and `--eof max` does it show.
    let programs = work.path().join("programs");
    std::fs::create_dir(&programs).unwrap();
    std::fs::write(programs.join("eof.bf"), ",,.").unwrap();
    std::fs::write(programs.join("eof.in"), [1u8]).unwrap();
    let quoted_script = format!("'{}'", script.display().to_string().replace('\'', "'\\''"));
    let spec = format!("buggy=python3 {quoted_script} --eof {{eof}} {{file}}");
    let out_dir = work.path().join("found here");
    let out = run(
        BFJIT,
        &[
            "check",
            programs.join("eof.bf").to_str().unwrap(),
            "--backends",
            "none",
            "--engine",
            &spec,
            "--dialect",
            "buggy:tape=30000+,output=bytes",
            "--eof",
            "max",
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let line = replay_line(&out_dir);
    assert!(line.starts_with("bfjit check "), "{line}");
    assert!(line.contains("--eof max"), "{line}");
    assert!(line.contains("--dialect buggy:tape=30000+"), "{line}");
    let again = replay(&line);
    let shown = text(&again);
    assert_eq!(again.status.code(), Some(3), "{line}\n{shown}");
    assert!(
        shown.contains("buggy disagrees with reference (output)"),
        "{line}\n{shown}"
    );

    // With the bug off, the same line (engine `--fixed`) agrees: the replay really ran the engine.
    let fixed = line.replace("--eof {eof}", "--fixed --eof {eof}");
    assert_ne!(fixed, line);
    let agreed = replay(&fixed);
    assert_eq!(agreed.status.code(), Some(0), "{fixed}\n{}", text(&agreed));
}

#[test]
fn a_test_backends_replay_command_names_the_testing_binary() {
    let work = tempfile::tempdir().unwrap();
    let program = work.path().join("wrap.bf");
    std::fs::write(&program, "-.").unwrap();
    let out_dir = work.path().join("out");
    let out = run(
        BFJIT_TESTING,
        &[
            "check",
            program.to_str().unwrap(),
            "--backends",
            "none",
            "--broken",
            "broken-wrap-127",
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let line = replay_line(&out_dir);
    assert!(
        line.starts_with("bfjit-testing check ") && line.contains("--broken broken-wrap-127"),
        "{line}"
    );
    let again = replay(&line);
    let shown = text(&again);
    assert_eq!(again.status.code(), Some(3), "{line}\n{shown}");
    assert!(
        shown.contains("broken-wrap-127 disagrees with reference"),
        "{shown}"
    );
}
