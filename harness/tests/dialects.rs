//! External engines in their own dialect: a real engine from Debian's packages (`beef`, installed by
//! `.ci/run`; these tests fail, not skip, without it) and the planted-bug engine
//! (`tests/engines/buggy_bf.py`); honest verdicts of `bfjit check` (timeouts and undecided programs
//! exit 4, never 0).

use std::path::Path;
use std::process::{Command, Output};

const BFJIT: &str = env!("CARGO_BIN_EXE_bfjit");
/// Where the binary under test caches reference outcomes (never the user's cache).
const TEST_CACHE: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/bfjit-cache");

fn bfjit(args: &[&str]) -> Output {
    Command::new(BFJIT)
        .args(args)
        .env("BFJIT_CACHE_DIR", TEST_CACHE)
        .output()
        .expect("bfjit runs")
}

/// The `.txt` report of the one reproducer written into `dir`.
fn reproducer_report(dir: impl AsRef<Path>) -> String {
    let txt = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "txt"))
        .expect("a reproducer");
    std::fs::read_to_string(txt).unwrap()
}

fn beef() -> &'static str {
    let found = Command::new("beef").arg("--help").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "these tests need `beef` (apt-get install -y beef; .ci/run installs it)"
    );
    "beef=beef -s same {file}"
}

fn buggy(extra: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/engines/buggy_bf.py");
    format!("buggy=python3 {} {extra} {{file}}", script.display())
}

#[test]
fn beef_in_its_dialect_shows_no_dialect_difference() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = bfjit(&[
        "fuzz",
        "--seconds",
        "60",
        "--cases",
        "300",
        "--seed",
        "3",
        "--backends",
        "dynasm-opt",
        "--engine",
        beef(),
        "--dialect",
        "beef:tape=30000+,eof=unchanged,output=ascii,input=no-255,comments=no-bang-hash",
        "--out",
        out_dir.path().to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let beef_row = stdout
        .lines()
        .find(|l| l.starts_with("beef "))
        .expect("a row for beef");
    let numbers: Vec<u64> = beef_row
        .split_whitespace()
        .skip(1)
        .filter_map(|w| w.parse().ok())
        .collect();
    // runs, agree, output, status, tape, crashed, failed, timeout, outside, ...
    assert!(numbers[0] >= 20, "beef was compared on {beef_row}");
    assert_eq!(numbers[0], numbers[1], "{beef_row}");
    assert!(
        numbers[8] > 0,
        "some cases lie outside beef's dialect: {beef_row}"
    );
}

#[test]
fn beef_without_its_dialect_reports_the_differences() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = bfjit(&[
        "fuzz",
        "--seconds",
        "60",
        "--cases",
        "200",
        "--seed",
        "3",
        "--backends",
        "dynasm-opt",
        "--engine",
        beef(),
        "--max-saved",
        "1",
        "--out",
        out_dir.path().to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Bytes of 128 or more come out as text, and `<` at cell 0 succeeds.
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("beef "), "{stdout}");
}

#[test]
fn beef_reads_byte_255_as_end_of_input_and_bang_as_input_and_the_dialect_says_so() {
    // `,++.` on input 0xff: the reference prints 1; beef takes the byte for end of input, leaves
    // the cell at 0 and prints 2. Without `input=no-255` that is a wrong answer; with it, the case
    // is outside beef's dialect and nothing was compared (exit 4, never 0).
    let dir = tempfile::tempdir().unwrap();
    let prog = dir.path().join("ff.bf");
    std::fs::write(&prog, ",++.").unwrap();
    std::fs::write(dir.path().join("ff.in"), [0xff]).unwrap();
    let check = |dialect: &str| {
        bfjit(&[
            "check",
            prog.to_str().unwrap(),
            "--backends",
            "none",
            "--engine",
            beef(),
            "--dialect",
            dialect,
        ])
    };
    let out = check("beef:tape=30000+,output=ascii");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("1 ('\\u{1}') vs 2"), "{stdout}");
    let out = check("beef:tape=30000+,output=ascii,input=no-255");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(stdout.contains("reads byte 255 (input byte 0)"), "{stdout}");
    // Byte 254 beef reads like any other: inside the dialect, and it agrees.
    std::fs::write(dir.path().join("ff.in"), [0xfe, 0x41]).unwrap();
    std::fs::write(&prog, ",+++.").unwrap();
    let out = check("beef:tape=30000+,output=ascii,input=no-255");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    // beef reads what follows a `!` in the program as input: `,+.!A` prints B where the reference
    // (input 0xfe 0x41) prints 0xff. `comments=no-bang-hash` puts such a program outside.
    std::fs::write(&prog, ",+.!A").unwrap();
    let out = check("beef:tape=30000+,input=no-255");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    let out = check("beef:tape=30000+,input=no-255,comments=no-bang-hash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(stdout.contains("comments=no-bang-hash"), "{stdout}");
}

#[test]
fn the_planted_bug_is_outside_an_ascii_dialect_and_inside_a_bytes_one() {
    let spec = buggy("--tape-len {tape_len} --eof {eof}");
    let run = |dialect: &str| {
        let out_dir = tempfile::tempdir().unwrap();
        bfjit(&[
            "fuzz",
            "--seconds",
            "60",
            "--cases",
            "150",
            "--seed",
            "5",
            "--backends",
            "reference",
            "--max-saved",
            "1",
            "--engine",
            &spec,
            "--dialect",
            dialect,
            "--out",
            out_dir.path().to_str().unwrap(),
        ])
    };
    let inside = run("buggy:output=bytes");
    let stdout = String::from_utf8_lossy(&inside.stdout);
    assert_eq!(inside.status.code(), Some(3), "{stdout}");
    let outside = run("buggy:output=ascii");
    let stdout = String::from_utf8_lossy(&outside.stdout);
    assert_eq!(outside.status.code(), Some(0), "{stdout}");
}

#[test]
fn a_pinned_engine_keeps_its_tape_in_the_reproducer() {
    // No {tape_len}: exactly 30 000 cells. The minimizer must not give it a shorter tape.
    let out_dir = tempfile::tempdir().unwrap();
    let spec = buggy("--eof {eof}");
    let out = bfjit(&[
        "fuzz",
        "--seconds",
        "60",
        "--cases",
        "150",
        "--seed",
        "5",
        "--backends",
        "reference",
        "--max-saved",
        "1",
        "--engine",
        &spec,
        "--out",
        out_dir.path().to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    let txt = reproducer_report(out_dir.path());
    assert!(txt.contains("tape_len: 30000"), "{txt}");
}

#[test]
fn an_engines_file_gives_engines_and_dialects() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("engines.toml");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/engines/buggy_bf.py");
    std::fs::write(
        &file,
        format!(
            "[buggy]\ncommand = \"python3 {} {{file}}\"\ntape = \"30000+\"\noutput = \"ascii\"\n",
            script.display()
        ),
    )
    .unwrap();
    let prog = dir.path().join("hi.bf");
    std::fs::write(&prog, "++++++++[>+++++++++<-]>.-.").unwrap();
    let out = bfjit(&[
        "check",
        "--backends",
        "reference",
        "--engines",
        file.to_str().unwrap(),
        prog.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("buggy "), "{stdout}");
    // `-.` at 255 prints a byte over 127: outside the ascii dialect, so only the reference compares.
    std::fs::write(&prog, "-.").unwrap();
    let out = bfjit(&[
        "check",
        "--backends",
        "reference",
        "--engines",
        file.to_str().unwrap(),
        prog.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let bad = bfjit(&[
        "check",
        "--engines",
        file.to_str().unwrap(),
        "--dialect",
        "nobody:eof=zero",
        prog.to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn check_exits_4_and_says_why_when_nothing_was_decided() {
    let dir = tempfile::tempdir().unwrap();
    // A four-cell countdown: billions of loop entries and never the same state twice, so neither
    // finished within the time nor provably endless.
    std::fs::write(
        dir.path().join("long.bf"),
        "-[>-[>-[>-[>-<-]<-]<-]<-] read: , (so it cannot be solved at compile time)",
    )
    .unwrap();
    let out = bfjit(&[
        "check",
        "--backends",
        "bytecode",
        "--reference-time",
        "0.5",
        dir.path().to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(
        stdout.contains("UNDECIDED") && stdout.contains("did not finish within"),
        "{stdout}"
    );
    assert!(stdout.contains("no program was compared"), "{stdout}");
    // A folder with no runnable program decides nothing either.
    let empty = tempfile::tempdir().unwrap();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    for ext in ["bf", "err"] {
        let name = format!("unclosed_open.{ext}");
        std::fs::copy(corpus.join(&name), empty.path().join(&name)).unwrap();
    }
    let out = bfjit(&["check", empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn a_slow_engine_times_out_and_is_not_a_divergence() {
    let dir = tempfile::tempdir().unwrap();
    let prog = dir.path().join("p.bf");
    std::fs::write(&prog, "+.").unwrap();
    let out = bfjit(&[
        "check",
        "--backends",
        "reference",
        "--timeout",
        "0.3",
        "--engine",
        "slow=sh -c 'sleep 20' {file}",
        prog.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(stdout.contains("TIMEOUT"), "{stdout}");
    assert!(!stdout.contains("DIVERGE"), "{stdout}");
}

#[test]
fn reduce_keeps_the_reproducer_inside_a_pinned_dialect() {
    // The engine takes any tape and EOF policy, but its dialect pins them: the reproducer keeps
    // 30 000 cells and `eof=zero` although a shorter tape and `eof=unchanged` would show the bug too.
    let dir = tempfile::tempdir().unwrap();
    let prog = dir.path().join("p.bf");
    std::fs::write(&prog, "++>+++[<+>-]<. ,>,>,[-]<< >>--.<<[-]").unwrap();
    let out_dir = dir.path().join("reduced");
    let spec = buggy("--tape-len {tape_len} --eof {eof}");
    let out = bfjit(&[
        "reduce",
        prog.to_str().unwrap(),
        "--engine",
        &spec,
        "--dialect",
        "buggy:tape=30000,eof=zero",
        "--seconds",
        "60",
        "--jobs",
        "2",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stderr.contains("confirmed"), "{stderr}");
    let txt = reproducer_report(&out_dir);
    assert!(txt.contains("tape_len: 30000"), "{txt}");
    assert!(txt.contains("eof: zero"), "{txt}");
    // A configuration the dialect does not allow is refused up front.
    let out = bfjit(&[
        "reduce",
        prog.to_str().unwrap(),
        "--engine",
        &spec,
        "--dialect",
        "buggy:tape=30000,eof=zero",
        "--tape-len",
        "10",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("outside buggy's dialect"), "{stderr}");
}

#[test]
fn reduce_takes_its_engine_from_an_engines_file() {
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/engines/buggy_bf.py");
    let table = |name: &str| {
        format!(
            "[{name}]\ncommand = \"python3 {} --tape-len {{tape_len}} --eof {{eof}} {{file}}\"\n\
             tape = \"30000\"\neof = \"zero\"\n",
            script.display()
        )
    };
    let one = dir.path().join("one.toml");
    std::fs::write(&one, table("buggy")).unwrap();
    let two = dir.path().join("two.toml");
    std::fs::write(&two, table("buggy") + &table("other")).unwrap();
    let prog = dir.path().join("p.bf");
    std::fs::write(&prog, "++>+++[<+>-]<. >>--.<<[-]").unwrap();
    let reduce = |extra: &[&str], out: &str| {
        let out_dir = dir.path().join(out);
        let mut args = vec!["reduce", prog.to_str().unwrap(), "--seconds", "60"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out", out_dir.to_str().unwrap()]);
        (bfjit(&args), out_dir)
    };
    for (extra, out) in [
        (vec!["--engines", one.to_str().unwrap()], "a"),
        (
            vec!["--engines", two.to_str().unwrap(), "--engine", "other"],
            "b",
        ),
    ] {
        let (run, out_dir) = reduce(&extra, out);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(3), "{extra:?}: {stderr}");
        let txt = reproducer_report(&out_dir);
        assert!(
            txt.contains("tape_len: 30000"),
            "{extra:?}: the file's dialect is kept: {txt}"
        );
        assert!(txt.contains("eof: zero"), "{extra:?}: {txt}");
    }
    // Several engines and none picked, or a name the file does not have: a usage error saying which.
    let (run, _) = reduce(&["--engines", two.to_str().unwrap()], "c");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("buggy, other"), "{stderr}");
    let (run, _) = reduce(
        &["--engines", two.to_str().unwrap(), "--engine", "nobody"],
        "d",
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no engine 'nobody'"), "{stderr}");
    // A dialect flag with a backend has nothing to apply to.
    let (run, _) = reduce(&["--backend", "bytecode", "--dialect", "x:eof=zero"], "e");
    assert_eq!(run.status.code(), Some(2));
}

#[test]
fn check_decides_a_program_that_provably_never_ends() {
    // `+[--]`: the cell runs 1, 255, 253, …, 1 forever. The reference comes back to a state it was
    // in, so the program is decided at once (not after --reference-time): engines that keep running
    // agree, an engine that finishes is wrong.
    let dir = tempfile::tempdir().unwrap();
    let prog = dir.path().join("endless.bf");
    std::fs::write(&prog, "+.[--]").unwrap();
    let start = std::time::Instant::now();
    let out = bfjit(&[
        "check",
        "--backends",
        "bytecode,dynasm-opt",
        "--engine",
        &buggy(""),
        "--timeout",
        "1",
        prog.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("UNDECIDED"), "{stdout}");
    assert!(
        start.elapsed().as_secs() < 60,
        "decided without the 300 s reference time"
    );
    // An engine that stops is a status divergence.
    let out = bfjit(&[
        "check",
        "--backends",
        "none",
        "--engine",
        "quits=sh -c 'printf \\001' {file}",
        prog.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("never ends"), "{stdout}");
}
