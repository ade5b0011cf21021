//! One test per rule of `docs/semantics.md`, named after it, run on every registered backend that is
//! available here (so a new backend is held to the contract as soon as it is registered).
//!
//! Each test states the expected behaviour directly (it does not only compare with the reference),
//! and [`each`] also checks that every backend agrees with the reference under `outcome::compare`.

use std::cell::RefCell;
use std::io::{ErrorKind, Read, Write};
use std::rc::Rc;

use bfjit_backends::{
    backend_by_name, compare, compile_and_run, registry, run_collect, Availability, Backend,
    CompileError, Config, EofPolicy, Outcome, ParseError, Program, Side, Status, DEFAULT_TAPE_LEN,
    MAX_TAPE_LEN,
};

/// Every registered backend that can run here and keeps the whole contract (the reference first);
/// prints the ones skipped. `c-naive` declares that it does not (`Backend::keeps_contract`); its
/// own rules are tested in `backends/src/c_baseline/naive_tests.rs`.
fn backends() -> Vec<&'static dyn Backend> {
    registry()
        .into_iter()
        .filter(|b| match b.availability() {
            Availability::Available if !b.keeps_contract() => {
                println!(
                    "not holding {} to every rule: it declares it does not keep them",
                    b.name()
                );
                false
            }
            Availability::Available => true,
            Availability::Unsupported(why) => {
                println!("skipping backend {}: {why}", b.name());
                false
            }
        })
        .collect()
}

fn reference() -> &'static dyn Backend {
    backend_by_name("reference").expect("reference is registered")
}

fn run_on(backend: &dyn Backend, source: &[u8], config: &Config, input: &[u8]) -> Outcome {
    let program = Program::parse(source.to_vec()).expect("test program parses");
    compile_and_run(backend, &program, config, input)
        .unwrap_or_else(|e| panic!("{} failed to compile: {e}", backend.name()))
}

/// Runs `source` on every backend, asserts each agrees with the reference, and hands each outcome
/// (the reference's included) to `check` with the backend's name.
fn each(source: &[u8], config: Config, input: &[u8], check: impl Fn(&str, &Outcome)) {
    let oracle = run_on(reference(), source, &config, input);
    for backend in backends() {
        let outcome = run_on(backend, source, &config, input);
        if let Some(difference) = compare(&oracle, &outcome) {
            panic!(
                "{} disagrees with reference on {:?}: {difference}",
                backend.name(),
                String::from_utf8_lossy(source)
            );
        }
        check(backend.name(), &outcome);
    }
}

fn config(tape_len: usize, eof: EofPolicy, fuel: Option<u64>) -> Config {
    Config::new(tape_len, eof, fuel).expect("valid test config")
}

/// The `(line, column, side)` of an out-of-bounds status.
fn out_of_bounds(name: &str, outcome: &Outcome) -> (u32, u32, Side) {
    match &outcome.status {
        Status::PointerOutOfBounds { position, side } => (position.line, position.column, *side),
        other => panic!("{name}: expected pointer out of bounds, got {other}"),
    }
}

#[test]
fn every_rule_in_the_document_has_a_test() {
    let doc = include_str!("../../docs/semantics.md");
    let tests = include_str!("semantics.rs");
    let mut rules = 0;
    for part in doc.split("**S").skip(1) {
        let number: String = part.chars().take_while(|c| c.is_ascii_digit()).collect();
        assert!(!number.is_empty(), "a rule without a number: {part:.40}");
        let test = format!("fn s{number}_");
        assert!(
            tests.contains(&test),
            "rule S{number} has no test `{test}…`"
        );
        rules += 1;
    }
    assert!(rules >= 20, "only {rules} rules found in docs/semantics.md");
}

#[test]
fn s1_cells_are_bytes_that_wrap() {
    each(b"-.+.", Config::default(), b"", |name, o| {
        assert_eq!(o.output, [255, 0], "{name}");
        assert_eq!(o.tape[0], 0, "{name}");
    });
    // 300 increments are 44; 300 decrements from 0 are 212; a loop counts down through the wrap.
    let source = format!("{}.>{}.>-[->+<]>.", "+".repeat(300), "-".repeat(300));
    each(source.as_bytes(), Config::default(), b"", |name, o| {
        assert_eq!(o.output, [44, 212, 255], "{name}");
        assert_eq!(o.status, Status::Ok, "{name}");
    });
}

#[test]
fn s2_tape_has_tape_len_zeroed_cells() {
    assert_eq!(Config::default().tape_len(), DEFAULT_TAPE_LEN);
    assert_eq!(DEFAULT_TAPE_LEN, 30_000);
    assert!(Config::new(0, EofPolicy::Unchanged, None).is_err());
    assert!(Config::new(MAX_TAPE_LEN + 1, EofPolicy::Unchanged, None).is_err());
    assert!(Config::new(MAX_TAPE_LEN, EofPolicy::Unchanged, None).is_ok());
    assert_eq!(MAX_TAPE_LEN, 1 << 30);
    for tape_len in [1, 2, 5, DEFAULT_TAPE_LEN] {
        each(
            b"",
            config(tape_len, EofPolicy::Unchanged, None),
            b"",
            |name, o| {
                assert_eq!(o.tape.len(), tape_len, "{name}");
                assert!(o.tape.iter().all(|&c| c == 0), "{name}: tape not zeroed");
            },
        );
    }
    // Every cell starts at zero: a scan over a 64-cell tape reads them all.
    each(
        b"[+]>[+]>[+]+[>[.[-]]+]",
        config(64, EofPolicy::Zero, None),
        b"",
        |name, o| {
            assert!(o.output.is_empty(), "{name}: a cell was not zero");
            assert_eq!(out_of_bounds(name, o).2, Side::Right, "{name}");
        },
    );
}

#[test]
fn s3_pointer_starts_at_cell_0() {
    each(b"+++", Config::default(), b"", |name, o| {
        assert_eq!((o.pointer, o.tape[0]), (0, 3), "{name}");
    });
    each(
        b">>+",
        config(3, EofPolicy::Unchanged, None),
        b"",
        |name, o| {
            assert_eq!(o.pointer, 2, "{name}");
            assert_eq!(o.tape, [0, 0, 1], "{name}");
        },
    );
}

#[test]
fn s4_pointer_leaving_left_is_error_at_that_command() {
    each(b"+.>+.<<+.", Config::default(), b"", |name, o| {
        assert_eq!(out_of_bounds(name, o), (1, 7, Side::Left), "{name}");
        assert_eq!(o.output, [1, 1], "{name}");
    });
    // Inside a multiply-shaped loop at cell 0: the loop's first `<` fails.
    each(b"++\n[-<+>]", Config::default(), b"", |name, o| {
        assert_eq!(out_of_bounds(name, o), (2, 3, Side::Left), "{name}");
    });
    // A scan to the left that never finds a zero.
    each(b"+>+>+[<]", Config::default(), b"", |name, o| {
        assert_eq!(out_of_bounds(name, o), (1, 7, Side::Left), "{name}");
    });
}

#[test]
fn s5_pointer_leaving_right_is_error_at_that_command() {
    each(
        b">>+.>",
        config(3, EofPolicy::Unchanged, None),
        b"",
        |name, o| {
            assert_eq!(out_of_bounds(name, o), (1, 5, Side::Right), "{name}");
            assert_eq!(o.output, [1], "{name}");
        },
    );
    // The right end of the default tape, found by a loop that runs 29999 times.
    each(b"+[>+]", Config::default(), b"", |name, o| {
        assert_eq!(out_of_bounds(name, o), (1, 3, Side::Right), "{name}");
    });
    // A tape of one cell: any `>` leaves it.
    each(
        b"+.>",
        config(1, EofPolicy::Unchanged, None),
        b"",
        |name, o| {
            assert_eq!(out_of_bounds(name, o), (1, 3, Side::Right), "{name}");
        },
    );
}

#[test]
fn s6_leaving_the_tape_is_an_error_even_without_access() {
    each(b"<>", Config::default(), b"", |name, o| {
        assert_eq!(out_of_bounds(name, o), (1, 1, Side::Left), "{name}");
    });
    each(
        b">>>><",
        config(4, EofPolicy::Unchanged, None),
        b"",
        |name, o| {
            assert_eq!(out_of_bounds(name, o), (1, 4, Side::Right), "{name}");
        },
    );
    // Net movement zero inside a loop body still leaves the tape on the way.
    each(
        b"+.[<<>>-]",
        config(4, EofPolicy::Unchanged, None),
        b"",
        |name, o| {
            assert_eq!(out_of_bounds(name, o), (1, 4, Side::Left), "{name}");
            assert_eq!(o.output, [1], "{name}");
        },
    );
}

#[test]
fn s7_output_before_an_error_is_kept() {
    // 20000 bytes of output (more than one buffer) then an error; nothing after the error is run.
    let source = format!(
        "{}[>{}[>{}[>.<-]<-]<-]<.",
        "+".repeat(40),
        "+".repeat(25),
        "+".repeat(20)
    );
    let printed = 40 * 25 * 20;
    each(source.as_bytes(), Config::default(), b"", |name, o| {
        assert_eq!(o.output.len(), printed, "{name}");
        assert!(o.output.iter().all(|&b| b == 0), "{name}");
        assert_eq!(out_of_bounds(name, o).2, Side::Left, "{name}");
    });
    each(b"+.+.<+.", Config::default(), b"", |name, o| {
        assert_eq!(o.output, [1, 2], "{name}");
    });
}

#[test]
fn s8_positions_are_lines_and_byte_columns() {
    // `é` is two bytes, the tab one, the `\r` one: the `<` is at byte column 5.
    each(b"\xc3\xa9\t\r<", Config::default(), b"", |name, o| {
        assert_eq!(out_of_bounds(name, o), (1, 5, Side::Left), "{name}");
    });
    // Lines split on `\n` only; `日` is three bytes.
    let source = "+\n\n  日>".as_bytes();
    each(
        source,
        config(1, EofPolicy::Unchanged, None),
        b"",
        |name, o| {
            assert_eq!(out_of_bounds(name, o), (3, 6, Side::Right), "{name}");
        },
    );
    each(b">\r\n\r<<", Config::default(), b"", |name, o| {
        assert_eq!(out_of_bounds(name, o), (2, 3, Side::Left), "{name}");
    });
    let status = Status::PointerOutOfBounds {
        position: Program::parse("\n <").unwrap().position_of_cmd(0),
        side: Side::Left,
    };
    assert!(status.to_string().contains("2:2"), "{status}");
}

#[test]
fn s9_every_other_byte_is_a_comment() {
    let comments: Vec<u8> = (0..=255u8).filter(|b| !b"+-<>.,[]".contains(b)).collect();
    assert_eq!(comments.len(), 248);
    let plain = b"++[>+++<-]>.,.<++[->+<]>.";
    let mut commented = comments.clone();
    for &command in plain {
        commented.push(command);
        commented.extend_from_slice(&comments);
    }
    let parsed = Program::parse(commented.clone()).unwrap();
    assert_eq!(parsed.len(), plain.len());
    for backend in backends() {
        let expected = run_on(backend, plain, &Config::default(), b"q");
        let actual = run_on(backend, &commented, &Config::default(), b"q");
        assert_eq!(expected.output, [6, b'q', b'q' + 2], "{}", backend.name());
        assert_eq!(compare(&expected, &actual), None, "{}", backend.name());
    }
    each(b"#!+#!.!", Config::default(), b"", |name, o| {
        assert_eq!(o.output, [1], "{name}: # and ! are comments");
    });
}

#[test]
fn s10_parse_errors_name_the_offending_bracket() {
    let at = |e: ParseError| {
        let p = e.position().expect("positioned");
        (p.line, p.column)
    };
    let err = Program::parse("+[-]\n  -]").unwrap_err();
    assert!(matches!(err, ParseError::UnmatchedClose { .. }), "{err}");
    assert!(err.to_string().contains("2:4"), "{err}");
    assert_eq!(at(err), (2, 4));
    // The outermost unclosed `[` is named, not the innermost.
    let err = Program::parse("[[]\n[").unwrap_err();
    assert!(matches!(err, ParseError::UnclosedOpen { .. }), "{err}");
    assert_eq!(at(err), (1, 1));
    let err = Program::parse("x\n][").unwrap_err();
    assert!(matches!(err, ParseError::UnmatchedClose { .. }), "{err}");
    assert_eq!(at(err), (2, 1));
    assert!(Program::parse("[[]]").is_ok());
}

#[test]
fn s11_dot_writes_and_comma_reads_in_order() {
    each(b",.,.,.", Config::default(), b"abc", |name, o| {
        assert_eq!(o.output, b"abc", "{name}");
    });
    each(b",>,>,", Config::default(), b"xyz and more", |name, o| {
        assert_eq!(&o.tape[..3], b"xyz", "{name}");
    });
    each(b"+++.", Config::default(), b"", |name, o| {
        assert_eq!(o.output, [3], "{name}");
    });
}

fn eof_program(policy: EofPolicy, input: &[u8], expected: [u8; 3]) {
    // Cell 0 is preset to 5 and cell 1 to 7; two reads into cell 0, then one into cell 1.
    each(
        b"+++++,.,.>+++++++,.",
        config(DEFAULT_TAPE_LEN, policy, None),
        input,
        |name, o| {
            assert_eq!(o.output, expected, "{name} with eof = {policy}");
        },
    );
}

#[test]
fn s12_eof_unchanged_leaves_the_cell() {
    assert_eq!(Config::default().eof(), EofPolicy::Unchanged);
    eof_program(EofPolicy::Unchanged, b"a", [b'a', b'a', 7]);
    eof_program(EofPolicy::Unchanged, b"", [5, 5, 7]);
}

#[test]
fn s13_eof_zero_stores_zero() {
    eof_program(EofPolicy::Zero, b"a", [b'a', 0, 0]);
    eof_program(EofPolicy::Zero, b"", [0, 0, 0]);
}

#[test]
fn s14_eof_max_stores_255() {
    eof_program(EofPolicy::Max, b"a", [b'a', 255, 255]);
    eof_program(EofPolicy::Max, b"", [255, 255, 255]);
}

/// A sink that separates bytes written from bytes flushed, and a source that records, at every
/// read, what had been flushed by then. Each read hands out at most one byte.
#[derive(Default)]
struct Channel {
    written: Vec<u8>,
    flushed: Vec<u8>,
    flushed_at_reads: Vec<Vec<u8>>,
}

struct Sink(Rc<RefCell<Channel>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let mut channel = self.0.borrow_mut();
        let written = std::mem::take(&mut channel.written);
        channel.flushed.extend(written);
        Ok(())
    }
}

struct Source(Rc<RefCell<Channel>>, Vec<u8>);

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut channel = self.0.borrow_mut();
        let seen = channel.flushed.clone();
        channel.flushed_at_reads.push(seen);
        if self.1.is_empty() || buf.is_empty() {
            return Ok(0);
        }
        buf[0] = self.1.remove(0);
        Ok(1)
    }
}

fn run_on_channel(backend: &dyn Backend, source: &str, input: &[u8]) -> (Status, Channel) {
    let program = Program::parse(source).unwrap();
    let executable = backend.compile(&program, &Config::default()).unwrap();
    let channel = Rc::new(RefCell::new(Channel::default()));
    let mut sink = Sink(channel.clone());
    let mut input = Source(channel.clone(), input.to_vec());
    let halt = executable.run(&mut input, &mut sink);
    drop((sink, input));
    let channel = Rc::try_unwrap(channel)
        .ok()
        .expect("no other owner")
        .into_inner();
    (halt.status, channel)
}

#[test]
fn s15_output_is_flushed_before_reads_and_at_exit() {
    for backend in backends() {
        let name = backend.name();
        let (status, channel) = run_on_channel(backend, "+.,.+.,.", b"ab");
        assert_eq!(status, Status::Ok, "{name}");
        assert_eq!(
            channel.flushed_at_reads[0],
            [1],
            "{name}: prompt not flushed"
        );
        assert_eq!(channel.flushed_at_reads[1], [1, b'a', b'b'], "{name}");
        assert_eq!(
            channel.flushed,
            [1, b'a', b'b', b'b'],
            "{name}: not flushed at exit"
        );
        assert!(channel.written.is_empty(), "{name}: bytes left unflushed");
        // Flushed at exit after an error too.
        let (status, channel) = run_on_channel(backend, "+.++.<", b"");
        assert!(
            matches!(status, Status::PointerOutOfBounds { .. }),
            "{name}"
        );
        assert_eq!(
            channel.flushed,
            [1, 3],
            "{name}: not flushed after an error"
        );
    }
}

struct FailingReader;

impl Read for FailingReader {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Err(std::io::Error::other("input device failed"))
    }
}

struct FailingWriter;

impl Write for FailingWriter {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(ErrorKind::BrokenPipe.into())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Err(ErrorKind::BrokenPipe.into())
    }
}

#[test]
fn s16_io_errors_end_the_run() {
    for backend in backends() {
        let name = backend.name();
        let program = Program::parse("+.,.").unwrap();
        let executable = backend.compile(&program, &Config::default()).unwrap();
        let mut output = Vec::new();
        let halt = executable.run(&mut FailingReader, &mut output);
        assert!(
            matches!(&halt.status, Status::Io(e) if e.kind == ErrorKind::Other),
            "{name}: {}",
            halt.status
        );
        assert_eq!(output, [1], "{name}: output before the read is kept");

        // An endless printing loop stops at the first failed write (the fuel is only a safety net).
        let program = Program::parse("+[.]").unwrap();
        let fuel = Config::default().with_fuel(Some(1_000_000));
        let executable = backend.compile(&program, &fuel).unwrap();
        let halt = executable.run(&mut &b""[..], &mut FailingWriter);
        assert!(
            matches!(&halt.status, Status::Io(e) if e.kind == ErrorKind::BrokenPipe),
            "{name}: {}",
            halt.status
        );
    }
}

#[test]
fn s17_loops_skip_and_repeat() {
    // A loop on a zero cell is skipped entirely.
    each(b"[.]+.", Config::default(), b"", |name, o| {
        assert_eq!(o.output, [1], "{name}");
    });
    // `]` jumps back while the cell is non-zero.
    each(b"+++[.-]", Config::default(), b"", |name, o| {
        assert_eq!(o.output, [3, 2, 1], "{name}");
    });
    // Nested loops: the inner one runs to zero in every round of the outer one.
    each(b"++[>++[.-]<-]", Config::default(), b"", |name, o| {
        assert_eq!(o.output, [2, 1, 2, 1], "{name}");
    });
    // The cell tested at `]` is the current one, wherever the body left the pointer.
    each(b"+>+>+[<]>.", Config::default(), b"", |name, o| {
        assert_eq!(out_of_bounds(name, o).2, Side::Left, "{name}");
    });
    each(b">+>+>+[<]>.", Config::default(), b"", |name, o| {
        assert_eq!((o.output.as_slice(), o.pointer), (&[1u8][..], 1), "{name}");
    });
}

#[test]
fn s18_fuel_counts_loop_body_entries() {
    // Loops with output are never folded, so every backend spends what the reference spends:
    // the outer body is entered 2 times, the inner one 3 times in each round: 8 units.
    let source = b"++[>+++[.-]<-]";
    for (fuel, status) in [(Some(8), Status::Ok), (None, Status::Ok)] {
        each(source, Config::default().with_fuel(fuel), b"", |name, o| {
            assert_eq!(o.status, status, "{name}");
            assert_eq!(o.output, [3, 2, 1, 3, 2, 1], "{name}");
            if fuel.is_some() {
                assert_eq!(o.fuel_used, 8, "{name}");
            }
        });
    }
    each(
        source,
        Config::default().with_fuel(Some(7)),
        b"",
        |name, o| {
            assert_eq!(o.status, Status::OutOfFuel, "{name}");
            assert_eq!(o.output, [3, 2, 1, 3, 2], "{name}");
        },
    );
    // Skipped loops cost nothing.
    each(
        b"[-][>]+.-[.]",
        Config::default().with_fuel(Some(0)),
        b"",
        |name, o| {
            assert_eq!((o.status.clone(), o.fuel_used), (Status::Ok, 0), "{name}");
        },
    );
    // Without a budget there is no limit: 255 rounds of a loop with output, 255 rounds each.
    each(b"+[>+[.+]<+]", Config::default(), b"", |name, o| {
        assert_eq!(o.output.len(), 255 * 255, "{name}");
    });
}

#[test]
fn s19_folded_loops_never_use_more_fuel_than_reference() {
    // Clear, multiply and scan loops: foldable by an optimizer.
    let source = b"++++++[->++++++<]>[-]>+++[>]+++[->>+<<]>>.";
    let unmetered = run_on(reference(), source, &Config::default(), b"");
    assert_eq!(unmetered.output, [3]);
    let metered = Config::default().with_fuel(Some(1_000));
    let needed = run_on(reference(), source, &metered, b"").fuel_used;
    assert_eq!(needed, 6 + 36 + 1 + 3);
    for backend in backends() {
        let name = backend.name();
        let exact = Config::default().with_fuel(Some(needed));
        let outcome = run_on(backend, source, &exact, b"");
        assert_eq!(compare(&unmetered, &outcome), None, "{name}");
        assert!(outcome.fuel_used <= needed, "{name} used more fuel");
        // With too little fuel for the reference, a backend may finish or run out, but nothing else.
        let short = Config::default().with_fuel(Some(needed - 1));
        let outcome = run_on(backend, source, &short, b"");
        assert!(
            matches!(outcome.status, Status::Ok | Status::OutOfFuel),
            "{name}: {}",
            outcome.status
        );
    }
}

#[test]
fn s20_out_of_fuel_is_a_status_and_keeps_output() {
    each(
        b"+[.+]",
        Config::default().with_fuel(Some(10)),
        b"",
        |name, o| {
            assert_eq!(o.status, Status::OutOfFuel, "{name}");
            assert_eq!(o.output, (1..=10).collect::<Vec<u8>>(), "{name}");
        },
    );
    each(
        b"+++[--]",
        Config::default().with_fuel(Some(100)),
        b"",
        |name, o| {
            assert_eq!(
                o.status,
                Status::OutOfFuel,
                "{name}: [--] on an odd cell never ends"
            );
        },
    );
}

#[test]
fn s21_agreement_is_output_status_and_final_state() {
    let programs: [&[u8]; 6] = [
        b"+>++>+++<",
        b"++[>+<-]>>",
        b">>>+[<]",
        b"++++[>++++<-]>[>+>++<<-]>[-]<<",
        b",[.[-],]",
        b"+[>+++[>++<-]<-]>>[[-]]<<",
    ];
    for source in programs {
        each(source, Config::default(), b"input", |name, o| {
            assert_eq!(o.status, Status::Ok, "{name}");
            assert_eq!(o.tape.len(), DEFAULT_TAPE_LEN, "{name}");
        });
    }
    // The definition itself: fuel never matters, tape and pointer matter only on `Ok`.
    let ok = run_on(reference(), b"+>++", &Config::default(), b"");
    let mut other = ok.clone();
    other.fuel_used += 5;
    assert_eq!(compare(&ok, &other), None);
    other.tape[7] = 1;
    assert_eq!(compare(&ok, &other).unwrap().class(), "tape");
    other = ok.clone();
    other.pointer = 0;
    assert_eq!(compare(&ok, &other).unwrap().class(), "pointer");
    let failed = run_on(reference(), b"+>++<<", &Config::default(), b"");
    let mut other = failed.clone();
    other.tape[7] = 1;
    other.pointer = 9;
    assert_eq!(compare(&failed, &other), None);
    let shifted = run_on(reference(), b"+>++ <<", &Config::default(), b"");
    assert_eq!(compare(&failed, &shifted).unwrap().class(), "status");
}

#[test]
fn s22_every_run_starts_fresh() {
    // Each run reads into cell 0 (EOF leaves it unchanged), adds 3 via cell 1 and prints it: a
    // leftover tape, pointer or fuel budget from an earlier run would change the result.
    let source = ",>+++[<+>-]<.>>+";
    let program = Program::parse(source).unwrap();
    let config = Config::default().with_fuel(Some(3));
    for backend in backends() {
        let name = backend.name();
        let executable = backend.compile(&program, &config).unwrap();
        for input in [&b"a"[..], b"", b"b", b""] {
            let outcome = run_collect(executable.as_ref(), input);
            let fresh = compile_and_run(backend, &program, &config, input).unwrap();
            let expected = input.first().copied().unwrap_or(0) + 3;
            assert_eq!(outcome.output, [expected], "{name}");
            assert_eq!(outcome.status, Status::Ok, "{name}");
            assert_eq!(compare(&fresh, &outcome), None, "{name}");
        }
    }
}

#[test]
fn s23_deep_nesting_does_not_crash() {
    // Run on a thread with a small stack, so that a backend that recurses on nesting overflows it
    // at a depth that stays quick to compile. A backend may refuse a program beyond one of its
    // limits with `CompileError::TooLarge`, a typed error; it must not crash.
    let depth = 1_000;
    let small_stack = 256 * 1024;
    std::thread::Builder::new()
        .stack_size(small_stack)
        .spawn(move || {
            let ok = format!("+{}-.{}+.", "[".repeat(depth), "]".repeat(depth));
            let fails = format!("+{}<{}", "[".repeat(depth), "]".repeat(depth));
            let config = Config::default();
            let oracle_ok = run_on(reference(), ok.as_bytes(), &config, b"");
            let oracle_fails = run_on(reference(), fails.as_bytes(), &config, b"");
            assert_eq!(oracle_ok.output, [0, 1]);
            let expected = (1, depth as u32 + 2, Side::Left);
            assert_eq!(out_of_bounds("reference", &oracle_fails), expected);
            for backend in backends() {
                let name = backend.name();
                for (source, oracle) in [(&ok, &oracle_ok), (&fails, &oracle_fails)] {
                    let program = Program::parse(source.as_str()).unwrap();
                    match compile_and_run(backend, &program, &config, b"") {
                        Ok(outcome) => assert_eq!(compare(oracle, &outcome), None, "{name}"),
                        Err(CompileError::TooLarge(why)) => {
                            println!("{name} refuses nesting depth {depth}: {why}")
                        }
                        Err(e) => panic!("{name} failed to compile: {e}"),
                    }
                }
            }
        })
        .expect("spawn")
        .join()
        .expect("deep nesting on every backend");
}
