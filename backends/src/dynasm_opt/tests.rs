//! Tests of `dynasm-opt`: agreement with the reference interpreter on programs, and with the IR
//! evaluator (fuel included) on the optimized IR, with both SIMD flavours of the scans.

use std::io::Write;

use proptest::prelude::*;

use super::codegen::{generate, Options, Simd};
use super::compile_ir;
use super::DynasmOpt;
use crate::backend::{compile_and_run, run_collect, Backend, CompileError};
use crate::config::{Config, EofPolicy};
use crate::ir::plan::PlannedIr;
use crate::ir::{blocks::guard, eval::evaluate, MulTarget, Node, Op, Span};
use crate::optimizer::optimize_default;
use crate::outcome::{compare, Outcome, Side, Status};
use crate::reference::Reference;
use crate::syntax::Program;

/// Every SIMD flavour this CPU can run.
fn simds() -> Vec<Simd> {
    let mut all = vec![Simd::Sse2];
    if Simd::detect() == Simd::Avx2 {
        all.push(Simd::Avx2);
    }
    all
}

fn reference(program: &Program, config: Config, input: &[u8]) -> Outcome {
    compile_and_run(&Reference, program, &config, input).unwrap()
}

/// The IR evaluator's outcome on `nodes`: the exact meaning of the IR, fuel included.
fn eval_ir(program: &Program, nodes: &[Node], config: Config, input: &[u8]) -> Outcome {
    let mut out = Vec::new();
    let halt = evaluate(program, nodes, &config, &mut &input[..], &mut out).unwrap();
    Outcome::new(halt, out)
}

/// Compiles `nodes` with every SIMD flavour and requires the IR evaluator's outcome and fuel.
fn agree_ir(program: &Program, nodes: &[Node], config: Config, input: &[u8]) -> Outcome {
    let want = eval_ir(program, nodes, config, input);
    for simd in simds() {
        let exe = compile_ir(program, nodes, &config, simd).unwrap();
        let got = run_collect(exe.as_ref(), input);
        assert_eq!(
            compare(&want, &got),
            None,
            "{simd:?} on {:?} under {config:?}",
            String::from_utf8_lossy(program.source())
        );
        assert_eq!(want.fuel_used, got.fuel_used, "{simd:?} fuel");
    }
    want
}

/// Runs `src` on `dynasm-opt` and the reference and requires agreement; also checks the IR evaluator
/// on the optimized IR with every SIMD flavour. Returns the reference outcome.
fn agree(src: &str, config: Config, input: &[u8]) -> Outcome {
    let program = Program::parse(src).unwrap();
    let want = reference(&program, config, input);
    let got = compile_and_run(&DynasmOpt, &program, &config, input).unwrap();
    assert_eq!(compare(&want, &got), None, "{src:?} under {config:?}");
    assert!(
        got.fuel_used <= want.fuel_used,
        "never more fuel than the reference"
    );
    agree_ir(&program, &optimize_default(&program), config, input);
    want
}

fn tape(len: usize) -> Config {
    Config::new(len, EofPolicy::Unchanged, None).unwrap()
}

fn out_of_bounds_at(o: &Outcome) -> Option<(usize, Side)> {
    match &o.status {
        Status::PointerOutOfBounds { position, side } => Some((position.offset, *side)),
        _ => None,
    }
}

#[test]
fn hello_and_wrapping() {
    let o = agree("++++++++[>++++++++<-]>+.-.+.", Config::default(), b"");
    assert_eq!(o.output, b"A@A");
    let o = agree("-.+.", Config::default(), b"");
    assert_eq!(o.output, [255, 0]);
    // 127 + 1 is 128 (no signed-overflow trap), 255 + 1 is 0.
    let o = agree(&format!("{}.+.", "+".repeat(127)), Config::default(), b"");
    assert_eq!(o.output, [127, 128]);
    let o = agree(&"+".repeat(300), Config::default(), b"");
    assert_eq!(o.tape[0], 44);
}

#[test]
fn corpus_style_programs() {
    let programs: &[(&str, &[u8])] = &[
        // Greeting built from multiply loops with several targets.
        (
            "++++++++++[>+++++++>++++++++++>+++>+<<<<-]>++.>+.+++++++..+++.>++.<<+++++++++++++++.>.+++.------.--------.>+.>.",
            b"",
        ),
        // cat until EOF (EOF leaves the cell unchanged, so it is zeroed first).
        ("[-],[.[-],]", b"echo me"),
        // Reverse the input: read to a zero-terminated row, then scan back printing.
        (">,[>,]<[.<]", b"abcdef"),
        // Counters nested three deep with moves inside loops (unbalanced blocks).
        ("+++[>+++[>+++[>+<-]<-]<-]>>>.", b""),
        // Multiply by 2, 3, 5, 9, 16, 100, -1, -3, -128 from one loop cell.
        (
            "+++++++[->++>+++>+++++>+++++++++>++++++++++++++++>-<<<<<<]>.>.>.>.>.>.",
            b"",
        ),
        ("++[->>-<<]>>.++[-<<--->>]<<.+[->+<]>.", b""),
        // Scans of several strides over a row of markers.
        ("+>+>+>+>+>>+<<<<<<[>]>.<<[<]>.>>>>>>>[<<]", b""),
        ("+>>+>>+>>+>>+>>>>>[-]<<<<<<<<<<<<<[>>]<.", b""),
        // A loop whose cell changes by 2 and one entered with an odd cell that a clear by 2 skips.
        ("++++++[--.]>+++[-.]", b""),
    ];
    for (src, input) in programs {
        agree(src, Config::default(), input);
    }
}

#[test]
fn nested_loops_with_moves_and_sets() {
    // Sets inside loops, loops ending on another cell than they started.
    agree(
        "+++++[>[-]+++[>++<-]>[<<+>>-]<<-]>>.<<.",
        Config::default(),
        b"",
    );
    agree("+[>+[>+<-]>[<+>-]<<-]>.", Config::default(), b"");
    agree("++[>++[>++[-]<-]<-]+[[-]>[-]<]", Config::default(), b"");
}

#[test]
fn tape_of_one_cell() {
    let one = tape(1);
    for src in [
        "<", ">", "+.", "+[>]", "+[<]", "[->+<]", "+[->+<]", "+[-<+>]", ",.", "+>", "+<", "[>]",
        "+[>>]", "+[<<<]", "+.[-]-.<",
    ] {
        for eof in EofPolicy::ALL {
            let config = one.with_eof(eof);
            agree(src, config, b"");
            agree(src, config, b"z");
        }
    }
    let o = agree("+.>", one, b"");
    assert_eq!(o.output, [1]);
    assert_eq!(out_of_bounds_at(&o), Some((2, Side::Right)));
}

/// `len` cells of 1, a zero written at `hole` (if any), the pointer at `start`, then a scan of `stride`.
fn scan_program(len: usize, hole: Option<usize>, start: usize, stride: i32) -> String {
    let mut src = "+>".repeat(len - 1) + "+";
    src += &"<".repeat(len - 1);
    if let Some(h) = hole {
        src += &">".repeat(h);
        src += "[-]";
        src += &"<".repeat(h);
    }
    src += &">".repeat(start);
    let step = if stride > 0 { ">" } else { "<" };
    src += &format!("[{}].", step.repeat(stride.unsigned_abs() as usize));
    src
}

#[test]
fn scans_hit_both_ends() {
    for len in [1, 2, 3, 15, 16, 17, 31, 32, 33, 34, 63, 64, 65, 100] {
        for stride in [1, -1, 2, -2, 3, -3, 4, -4, 7, -7, 33, -33] {
            let starts = [0, len / 2, len - 1];
            for start in starts {
                let holes = [None, Some(0), Some(len - 1), Some(len / 3), Some(start)];
                for hole in holes {
                    let src = scan_program(len, hole, start, stride);
                    let o = agree(&src, tape(len), b"");
                    if hole.is_none() {
                        // Every cell is non-zero: the scan must leave the tape.
                        assert!(out_of_bounds_at(&o).is_some(), "{src}");
                    }
                }
            }
        }
    }
}

#[test]
fn long_scans_stop_at_the_first_zero() {
    // Scans across more than one vector window, zero at every position of a window.
    for len in [200usize, 257] {
        for hole in [40usize, 63, 64, 65, 95, 96, 97, 120, 199] {
            for start in [0usize, 3, 33] {
                if hole < len {
                    agree(&scan_program(len, Some(hole), start, 1), tape(len), b"");
                }
            }
            for start in [len - 1, len - 4, len - 34] {
                if hole < len && hole < start {
                    agree(&scan_program(len, Some(hole), start, -1), tape(len), b"");
                }
            }
        }
    }
}

#[test]
fn mul_loops_at_the_edges() {
    let t = tape(5);
    // At the last cell with a zero loop cell: the loop does not run, so no error.
    agree(">>>>[->+<]", t, b"");
    agree("[-<+>]", t, b"");
    agree("[-<<<++>>>]", t, b"");
    agree(">>>>[->>+++<<]>>>>.", t, b"");
    // With a non-zero loop cell it leaves the tape, at the exact command.
    let o = agree(">>>>+[->+<]", t, b"");
    assert_eq!(out_of_bounds_at(&o), Some((7, Side::Right)));
    let o = agree("+.[-<+>]", t, b"");
    assert_eq!(o.output, [1]);
    assert_eq!(out_of_bounds_at(&o), Some((4, Side::Left)));
    // Negative offsets within the tape.
    agree(">>>+++[-<<<++>>+>+<]<<<.>.>.>.", t, b"");
    agree(">>>>++[-<<<<+++++>>>>]<<<<.", t, b"");
}

#[test]
fn eof_policies() {
    for eof in EofPolicy::ALL {
        // `,[.,]` never ends at EOF unless EOF stores 0: the budget stops it in the same place.
        let config = Config::default().with_eof(eof).with_fuel(Some(50));
        for input in [&b""[..], b"a", b"ab", b"\x00\xff"] {
            agree("+++,.,.,.", config, input);
            agree(",[.,]", config, input);
            agree(">+++<,>[-<.>]", config, input);
        }
    }
}

#[test]
fn output_longer_than_the_buffer() {
    let src = "++++++++++[>++++++++++[>++++++++++[>++++++++++[>.+<-]<-]<-]<-]";
    let o = agree(src, Config::default(), b"");
    assert_eq!(o.output.len(), 10_000);
}

/// A sink that fails every write after the first `ok` bytes.
struct FailingSink {
    ok: usize,
    written: Vec<u8>,
}

impl Write for FailingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written.len() + buf.len() > self.ok {
            return Err(std::io::Error::other("sink full"));
        }
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn write_failures_are_reported_like_the_reference() {
    let long_then_off = "++++++++[>++++++++[>++++++++[>++++++++[>.<-]<-]<-]<-]<<<<<";
    for src in ["+.<", "+.", long_then_off, "+[.]"] {
        let program = Program::parse(src).unwrap();
        let config = Config::default().with_fuel(Some(100_000));
        let run = |backend: &dyn Backend| {
            let exe = backend.compile(&program, &config).unwrap();
            let mut sink = FailingSink {
                ok: 0,
                written: Vec::new(),
            };
            let halt = exe.run(&mut &b""[..], &mut sink);
            halt.status
        };
        assert_eq!(run(&Reference), run(&DynasmOpt), "{src}");
    }
}

#[test]
fn fuel_matches_the_ir_evaluator() {
    let programs = [
        "+++[>++[>+<-]<-]",
        "++[.-]",
        "+[->+<]>[>]",
        "+++++[-.]",
        "++[>+++[>.<-]<-]",
        "+[]",
        "+[[-]+]",
    ];
    for src in programs {
        let program = Program::parse(src).unwrap();
        let nodes = optimize_default(&program);
        for budget in 0..12 {
            let config = Config::default().with_fuel(Some(budget));
            agree_ir(&program, &nodes, config, b"");
        }
    }
}

#[test]
fn fuel_from_a_reference_run_is_enough() {
    for src in [
        "+++[>++[>+<-]<-]>>.",
        "++++[>++++[>.<-]<-]",
        ">++[>+++[-<<+>>]<-]<.",
    ] {
        let program = Program::parse(src).unwrap();
        let used = reference(&program, Config::default().with_fuel(Some(1 << 20)), b"").fuel_used;
        let config = Config::default().with_fuel(Some(used));
        let o = agree(src, config, b"");
        assert_eq!(o.status, Status::Ok);
    }
}

#[test]
fn deep_nesting_compiles_without_recursion() {
    let depth = 100_000;
    let src = "[".repeat(depth) + &"]".repeat(depth);
    let o = agree(&src, Config::default(), b"");
    assert_eq!(o.status, Status::Ok);
    let src = "+".to_string() + &"[".repeat(depth) + "-" + &"]".repeat(depth) + ".";
    agree(&src, Config::default(), b"");
}

#[test]
fn ir_only_shapes_run_like_the_evaluator() {
    // Shapes the optimizer may not produce from source, built by hand over a program whose spans
    // cover them: branchy multiply loops (many targets), zero factors, huge strides, stride 0 scans
    // on zero cells.
    let program = Program::parse("[->+>+>+>+>+>+<<<<<<]").unwrap();
    let all = Span {
        start: 0,
        end: program.len() as u32,
    };
    let targets: Vec<MulTarget> = (1..=6)
        .map(|offset| MulTarget {
            offset,
            factor: (offset * 37) as u8,
        })
        .collect();
    let mul = Node::new(
        Op::MulLoop {
            offset: 0,
            targets: targets.clone().into(),
        },
        all,
    );
    let nodes = guard(&program, vec![mul]);
    for len in [1, 6, 7, 30_000] {
        agree_ir(&program, &nodes, tape(len), b"");
    }
    let set_then_mul = vec![
        Node::new(
            Op::Set {
                offset: 0,
                value: 3,
            },
            Span { start: 0, end: 0 },
        ),
        Node::new(
            Op::MulLoop {
                offset: 0,
                targets: targets.into(),
            },
            all,
        ),
    ];
    agree_ir(&program, &guard(&program, set_then_mul), tape(30), b"");

    let program = Program::parse("[>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>]").unwrap();
    let span = Span {
        start: 0,
        end: program.len() as u32,
    };
    for stride in [40, -40] {
        let scan = vec![Node::new(Op::Scan { stride }, span)];
        for len in [1, 39, 40, 41, 200] {
            agree_ir(&program, &scan, tape(len), b"");
        }
    }
}

#[test]
fn bad_ir_is_an_error_not_a_crash() {
    let program = Program::parse("+[>+<-]").unwrap();
    let add = Node::new(
        Op::Add {
            offset: 0,
            delta: 1,
        },
        Span::single(0),
    );
    // Malformed IR never reaches the generator: the plan refuses it.
    let bad_guard = Node::new(
        Op::Guard {
            lo: 0,
            hi: 0,
            len: 3,
        },
        Span::single(0),
    );
    for nodes in [vec![add.clone()], vec![bad_guard, add]] {
        let result = compile_ir(&program, &nodes, &tape(100), Simd::Sse2);
        assert!(matches!(result, Err(CompileError::Plan(_))));
    }
    // A node range that is not a balanced run of whole blocks is refused by the generator.
    let planned =
        PlannedIr::new(&program, crate::optimizer::fold_runs_only(&program), 100).unwrap();
    let options = Options::new(&tape(100), Simd::Sse2);
    let len = planned.nodes().len();
    for range in [1..2, 2..3, len - 1..len, 0..len + 1] {
        let result = generate(&planned, range.clone(), &options);
        assert!(matches!(result, Err(CompileError::Bug(_))), "{range:?}");
    }
}

#[test]
fn listing_names_nodes_and_positions() {
    // Cell 0 comes from input: on a known value the multiply would fold to a set.
    let program = Program::parse(",+[->++<]>.").unwrap();
    let (nodes, generated) = super::compile_code(&program, &Config::default()).unwrap();
    let text = super::disasm::listing(&program, nodes.nodes(), &generated);
    assert!(text.contains("prologue"), "{text}");
    assert!(text.contains("mul [0] -> [1]*2 @ 1:3"), "{text}");
    assert!(
        text.contains("out [0]") || text.contains("out [1]"),
        "{text}"
    );
    assert!(text.contains("ret"), "{text}");
}

/// One piece of a random program; loops nest up to the strategy's depth.
fn piece() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        3 => (1usize..5, any::<bool>()).prop_map(|(n, up)| if up { "+" } else { "-" }.repeat(n)),
        3 => (1usize..4, any::<bool>()).prop_map(|(n, right)| if right { ">" } else { "<" }.repeat(n)),
        1 => Just(".".to_string()),
        1 => Just(",".to_string()),
        // Multiply loops, over-weighting negative offsets; the loop cell moves by -1 or +1.
        4 => (prop::collection::vec((-4i32..4, 1usize..5, any::<bool>()), 1..4), any::<bool>())
            .prop_map(|(targets, dec)| {
                let mut s = String::from(if dec { "[-" } else { "[+" });
                let mut pos = 0i32;
                for (offset, n, add) in targets {
                    let offset = if offset == 0 { -1 } else { offset };
                    let step = if offset > pos { ">" } else { "<" };
                    s += &step.repeat((offset - pos).unsigned_abs() as usize);
                    s += &if add { "+" } else { "-" }.repeat(n);
                    pos = offset;
                }
                s += &if pos > 0 { "<" } else { ">" }.repeat(pos.unsigned_abs() as usize);
                s + "]"
            }),
        // Scans of every stride in both directions.
        3 => (1usize..6, any::<bool>())
            .prop_map(|(n, right)| format!("[{}]", if right { ">" } else { "<" }.repeat(n))),
        // Clears, by 1 or by 2 (a loop changing its cell by 2 never ends on odd values).
        2 => prop_oneof![Just("[-]"), Just("[+]"), Just("[--]"), Just("[++]")].prop_map(String::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop::collection::vec(inner, 1..6).prop_map(|body| format!("[{}]", body.concat()))
    })
}

fn program_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 1..12).prop_map(|pieces| pieces.concat())
}

fn config_strategy() -> impl Strategy<Value = Config> {
    (
        prop_oneof![3 => 1usize..12, 1 => 12usize..70, 1 => Just(30_000usize)],
        prop::sample::select(EofPolicy::ALL.to_vec()),
    )
        .prop_map(|(tape_len, eof)| Config::new(tape_len, eof, None).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Random programs agree with the reference (without fuel, and with the fuel the reference used),
    /// and with the IR evaluator under a budget that may run out.
    #[test]
    fn random_programs_agree(
        src in program_strategy(),
        config in config_strategy(),
        input in prop::collection::vec(any::<u8>(), 0..4),
        budget in 0u64..3000,
    ) {
        let program = Program::parse(src.as_str()).unwrap();
        let metered = config.with_fuel(Some(20_000));
        let want = reference(&program, metered, &input);
        if want.status != Status::OutOfFuel {
            agree(&src, config, &input);
            let exact_fuel = config.with_fuel(Some(want.fuel_used));
            let got = compile_and_run(&DynasmOpt, &program, &exact_fuel, &input).unwrap();
            prop_assert_eq!(compare(&want, &got), None, "{} with the reference's fuel", src);
        }
        agree_ir(&program, &optimize_default(&program), config.with_fuel(Some(budget)), &input);
    }
}
