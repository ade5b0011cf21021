//! Tests of the `bytecode` backend against the reference interpreter.

use proptest::prelude::*;

use super::*;
use crate::backend::compile_and_run;
use crate::config::EofPolicy;
use crate::ir::plan::PlannedIr;
use crate::ir::Node;
use crate::optimizer::tests::{config, input, program};
use crate::outcome::{compare, Outcome, Status};
use crate::reference::Reference;

fn both(src: &str, config: &Config, input: &[u8]) -> (Outcome, Outcome) {
    let program = Program::parse(src).unwrap();
    let expected = compile_and_run(&Reference, &program, config, input).unwrap();
    let got = compile_and_run(&BytecodeBackend, &program, config, input).unwrap();
    (expected, got)
}

fn assert_agree(src: &str, config: &Config, input: &[u8]) -> Outcome {
    let (expected, got) = both(src, config, input);
    assert!(
        compare(&expected, &got).is_none(),
        "{src}: {:?}",
        compare(&expected, &got)
    );
    got
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, max_global_rejects: 100_000, ..ProptestConfig::default() })]

    #[test]
    fn bytecode_agrees_with_reference(src in program(), config in config(), input in input()) {
        let (expected, got) = both(&src, &config, &input);
        prop_assume!(expected.status != Status::OutOfFuel);
        prop_assert!(compare(&expected, &got).is_none(), "{:?}\nprogram: {src}", compare(&expected, &got));
        prop_assert!(got.fuel_used <= expected.fuel_used);
    }

    #[test]
    fn bytecode_without_fuel_agrees(src in program(), tape_len in 1..40usize, input in input()) {
        // Only programs the reference finishes within a budget, then both run without one.
        let budgeted = Config::new(tape_len, EofPolicy::Zero, Some(2_000)).unwrap();
        let program = Program::parse(src.as_str()).unwrap();
        let probe = compile_and_run(&Reference, &program, &budgeted, &input).unwrap();
        prop_assume!(probe.status != Status::OutOfFuel);
        let free = budgeted.with_fuel(None);
        let (expected, got) = both(&src, &free, &input);
        prop_assert!(compare(&expected, &got).is_none(), "{:?}\nprogram: {src}", compare(&expected, &got));
    }
}

#[test]
fn kept_loops_charge_fuel_exactly_like_the_reference() {
    // `[-->+<]` steps by 2, so it is not folded: 3 entries. (The 6 comes from input: on a known 6
    // the optimizer would run the loop at compile time.)
    let src = ",[-->+<]>.";
    let config = Config::default().with_fuel(Some(100));
    let got = assert_agree(src, &config, b"\x06");
    let (expected, _) = both(src, &config, b"\x06");
    assert_eq!(got.fuel_used, expected.fuel_used);
    assert_eq!(got.fuel_used, 3);
    // Exactly out of fuel at the same loop entry.
    let short = Config::default().with_fuel(Some(2));
    assert_eq!(assert_agree(src, &short, b"\x06").status, Status::OutOfFuel);
}

#[test]
fn folded_loops_charge_nothing() {
    // The reference needs 5 + 10 loop entries; the folded multiply and clear need none.
    let src = "+++++[->++<]>[-]";
    let enough = assert_agree(src, &Config::default().with_fuel(Some(15)), b"");
    assert_eq!(enough.fuel_used, 0);
    let program = Program::parse(src).unwrap();
    let none = Config::default().with_fuel(Some(0));
    let got = compile_and_run(&BytecodeBackend, &program, &none, b"").unwrap();
    assert!(compare(&enough, &got).is_none());
}

#[test]
fn failed_guard_reports_the_exact_command_and_output() {
    let config = Config::new(3, EofPolicy::Zero, None).unwrap();
    let got = assert_agree("+.>+.>+.>+.", &config, b"");
    assert_eq!(got.output, [1, 1, 1]);
    assert!(matches!(got.status, Status::PointerOutOfBounds { .. }));
    assert_agree("<", &config, b"");
    assert_agree(">>+<<<", &config, b"");
}

#[test]
fn scans_stop_or_fail_exactly() {
    let config = Config::new(7, EofPolicy::Zero, None).unwrap();
    for src in [
        "+>+>+>+[>]",
        "+>+>+>+>+>+>+[>]",
        ">>>>>>+<+<+<+[<]",
        "+>>+>>+>>+[>>]",
        "+>>+>>+>>+>+[>>>]",
        ">>>>>>+<<<+[<<<]",
        "+[<]",
    ] {
        assert_agree(src, &config, b"");
    }
}

#[test]
fn input_at_eof_follows_every_policy() {
    for eof in EofPolicy::ALL {
        let config = Config::new(4, eof, None).unwrap();
        let got = assert_agree("+++,.,.,.", &config, b"x");
        assert_eq!(got.output.len(), 3);
    }
}

#[test]
fn million_nested_loops_run() {
    let n = 1_000_000;
    let src = format!("+{}>+<-{}", "[".repeat(n), "]".repeat(n));
    assert_agree(&src, &Config::default(), b"");
}

#[test]
fn loop_headers_are_addressable() {
    // `,` first: on a known 1 the outer loop runs once and the optimizer drops its brackets.
    let program = Program::parse(",[>,[.,]<-]").unwrap();
    let planned = PlannedIr::new(
        &program,
        crate::optimizer::optimize_default(&program),
        30_000,
    )
    .unwrap();
    let bc = Bytecode::compile(&program, &planned).unwrap();
    assert_eq!(bc.loop_headers().len(), 2);
    for (id, &at) in bc.loop_headers().iter().enumerate() {
        let Insn::LoopStart { exit, id: named } = bc.code()[at as usize] else {
            panic!("header {id} is not a loop start");
        };
        assert_eq!(named as usize, id);
        assert!(
            matches!(bc.code()[exit as usize - 1], Insn::LoopEnd { body, id: end_id } if body == at + 1 && end_id as usize == id)
        );
    }
    assert_eq!(bc.code().last(), Some(&Insn::Halt));
}

#[test]
fn hello_style_program_prints() {
    let got = assert_agree("++++++++[>++++++++<-]>+.+.", &Config::default(), b"");
    assert_eq!(got.output, b"AB");
}

#[test]
fn instructions_stay_sixteen_bytes() {
    assert_eq!(std::mem::size_of::<Insn>(), 16);
}

/// The bytecode of `src` with the default optimizer.
fn bytecode_of(src: &str) -> Bytecode {
    let program = Program::parse(src).unwrap();
    compile_nodes(&program, crate::optimizer::optimize_default(&program)).unwrap()
}

/// Whether an instruction is the one a test looks for.
pub(crate) type InsnTest = fn(&Insn) -> bool;

#[test]
fn superinstructions_are_selected_and_agree() {
    // Each program is built so that the named superinstruction appears (counts read from the input,
    // so the optimizer cannot fold them away); all must agree with the reference on roomy and
    // tight tapes, with and without fuel.
    let cases: [(&str, InsnTest); 8] = [
        (",[->+>+<<]>>[-<<+>>]<<.", |i| {
            matches!(i, Insn::MulMul1 { .. })
        }),
        (",>,>,>,<<<[[->>+<]>>]", |i| {
            matches!(i, Insn::WalkLoopEnd { .. })
        }),
        (",>,>,<<+>++>+++<<.>.>.", |i| matches!(i, Insn::Add2 { .. })),
        (",>,>,<<[-]>>[<]", |i| matches!(i, Insn::MoveScan { .. })),
        (",++++[-->+<]>.", |i| matches!(i, Insn::AddLoopStart { .. })),
        (",>,>,>,<<<[.->]", |i| {
            matches!(i, Insn::MoveLoopEnd { .. } | Insn::WalkLoopEnd { .. })
        }),
        (",++++[>[-]<--]>.", |i| matches!(i, Insn::AddLoopEnd { .. })),
        (",++++[>,<-->[-]<]>.", |i| {
            matches!(i, Insn::SetLoopEnd { .. })
        }),
    ];
    for (src, wanted) in cases {
        let bc = bytecode_of(src);
        assert!(bc.code().iter().any(wanted), "{src}: {:?}", bc.code());
        for config in [
            Config::default(),
            Config::new(3, EofPolicy::Zero, None).unwrap(),
            Config::default().with_fuel(Some(3)),
            Config::new(5, EofPolicy::Zero, Some(7)).unwrap(),
        ] {
            agree_where_decided(src, &config, b"\x04\x03\x02\x01\x05");
        }
    }
}

#[test]
fn add_move_fusions_agree_at_every_edge() {
    // A block ending in an add and a move, then a loop (`AddMoveLoopStart`) or a scan
    // (`AddMoveScan`): wrapping adds, negative offsets, moves off 1- and 2-cell tapes, the fused
    // instruction run many times inside a loop, and every fuel budget. The flag says whether fuel
    // is compared exactly (no loop folded: scans charge nothing).
    let loop_start: InsnTest = |i| matches!(i, Insn::AddMoveLoopStart { .. });
    let scan: InsnTest = |i| matches!(i, Insn::AddMoveScan { .. });
    let cases: [(&str, InsnTest, bool); 7] = [
        (",>,<+++>[.-]<.", loop_start, true),
        (",>,<-->[.-]<.", loop_start, true),
        (",[>>,+[.-]<<-]>.", loop_start, true),
        (",>,>,>,<<[>>-<<<[.-]>>-]", loop_start, true),
        (",>,>,<<+>>[<]>.", scan, false),
        (",[->>[<<]>.,]", scan, false),
        (",>>>,[-<[<]>>.,]", scan, false),
    ];
    for (src, wanted, exact_fuel) in cases {
        let bc = bytecode_of(src);
        assert!(bc.code().iter().any(wanted), "{src}: {:?}", bc.code());
        for input in [[0u8, 0, 0, 0], [1, 2, 3, 0], [3, 0, 1, 2], [255, 254, 1, 0]] {
            for config in [
                Config::default(),
                Config::new(1, EofPolicy::Zero, None).unwrap(),
                Config::new(2, EofPolicy::Zero, None).unwrap(),
                Config::new(4, EofPolicy::Zero, None).unwrap(),
            ] {
                assert_agree(src, &config, &input);
            }
            let (full, _) = both(src, &Config::default().with_fuel(Some(10_000)), &input);
            for fuel in 0..=full.fuel_used.min(600) + 1 {
                for tape_len in [1, 30_000] {
                    let config = Config::new(tape_len, EofPolicy::Zero, Some(fuel)).unwrap();
                    agree_where_decided(src, &config, &input);
                    if exact_fuel {
                        let (expected, got) = both(src, &config, &input);
                        assert!(compare(&expected, &got).is_none(), "{src} {fuel}");
                        assert_eq!(got.fuel_used, expected.fuel_used, "{src} {fuel}");
                    }
                }
            }
        }
    }
}

#[test]
fn implied_landing_tests_are_skipped_exactly() {
    // `,[>,<-]>.`: the back edge lands on the body's own guard from the block it verified (reach
    // 0 ..= 1, pointer back at 0): the jump goes past the guard. `,[>>,<]>.` walks right: its back
    // edge lands on a guard reaching 2 past the new position, not implied (tested). `,[>,>,<]<<.`
    // likewise. Tapes of 1 to 6 cells put every guard on the edge; every fuel budget.
    let skips = |bc: &Bytecode| {
        let code = bc.code();
        code.iter().any(|insn| match *insn {
            Insn::MoveLoopEnd { body, .. }
            | Insn::SetLoopEnd { body, .. }
            | Insn::AddLoopEnd { body, .. } => {
                matches!(code[body as usize - 1], Insn::Guard { .. })
            }
            _ => false,
        })
    };
    for (src, skipped) in [
        (",[>>,<]>.", false),
        (",[>,<-]>.", true),
        (",[>,>,<]<<.", false),
    ] {
        let bc = bytecode_of(src);
        assert_eq!(skips(&bc), skipped, "{src}: {:?}", bc.code());
        for input in [
            &[0u8][..],
            &[1],
            &[2, 1, 0],
            &[3, 3, 3, 3, 3, 3, 3, 0],
            &[9; 12],
        ] {
            for tape_len in 1..=6 {
                let config = Config::new(tape_len, EofPolicy::Zero, None).unwrap();
                assert_agree(src, &config, input);
                for fuel in 0..=12 {
                    let config = config.with_fuel(Some(fuel));
                    let (expected, got) = both(src, &config, input);
                    assert!(
                        compare(&expected, &got).is_none(),
                        "{src} {tape_len} {fuel}"
                    );
                    assert_eq!(got.fuel_used, expected.fuel_used, "{src} {tape_len} {fuel}");
                }
            }
            assert_agree(src, &Config::default(), input);
        }
    }
}

/// Agreement with the reference, unless the reference ran out of fuel (folded loops cost nothing,
/// so then the bytecode may get further).
fn agree_where_decided(src: &str, config: &Config, input: &[u8]) {
    let (expected, got) = both(src, config, input);
    if expected.status != Status::OutOfFuel {
        assert!(
            compare(&expected, &got).is_none(),
            "{src} {config:?}: {:?}",
            compare(&expected, &got)
        );
    }
    assert!(got.fuel_used <= expected.fuel_used, "{src} {config:?}");
}

#[test]
fn walks_leave_the_tape_and_run_out_of_fuel_exactly() {
    // Walks whose body is one operation and a move: off either end of the tape, or out of fuel
    // midway. With no folded loop in them, fuel must match the reference exactly.
    for src in [
        "+>+>+>+>+>+<<<<<[->]",
        ">>>>>+<+<+<+<+[-<]",
        "+>+>+>+>+>+<<<<<[->>+<]",
        "+>+>+>+>+>+>+>+<<<<<<<[>+<+>>]",
    ] {
        assert!(
            bytecode_of(src)
                .code()
                .iter()
                .any(|i| matches!(i, Insn::WalkLoopEnd { .. })),
            "{src}"
        );
        for tape_len in [4, 6, 9, 30] {
            for fuel in [None, Some(0), Some(2), Some(5), Some(100)] {
                let config = Config::new(tape_len, EofPolicy::Zero, fuel).unwrap();
                let got = assert_agree(src, &config, b"");
                let (expected, _) = both(src, &config, b"");
                assert_eq!(got.fuel_used, expected.fuel_used, "{src} {config:?}");
            }
        }
    }
    // With folded loops inside, wherever the reference decides.
    for src in ["+>+>+>+>+>+<<<<<[[->+<]>]", "+>+>+>+<<<[->>+<]"] {
        for tape_len in [4, 6, 9, 30] {
            for fuel in [None, Some(2), Some(5), Some(100)] {
                agree_where_decided(
                    src,
                    &Config::new(tape_len, EofPolicy::Zero, fuel).unwrap(),
                    b"",
                );
            }
        }
    }
}

#[test]
fn a_guard_that_does_not_cover_its_block_is_a_compile_error() {
    use crate::ir::{Node, Op, Span};
    let program = Program::parse("+>+").unwrap();
    let span = Span { start: 0, end: 3 };
    let nodes = vec![
        Node::new(
            Op::Guard {
                lo: 0,
                hi: 0,
                len: 2,
            },
            span,
        ),
        Node::new(
            Op::Add {
                offset: 0,
                delta: 1,
            },
            span,
        ),
        Node::new(
            Op::Add {
                offset: 1,
                delta: 1,
            },
            span,
        ),
    ];
    assert!(compile_nodes(&program, nodes).is_err());
    let unguarded = vec![Node::new(
        Op::Add {
            offset: 0,
            delta: 1,
        },
        span,
    )];
    assert!(compile_nodes(&program, unguarded).is_err());
}

/// Plans `nodes` for the default tape and flattens them: malformed IR is refused by the plan or by
/// the bytecode's own checks.
fn compile_nodes(program: &Program, nodes: Vec<Node>) -> Result<Bytecode, CompileError> {
    let planned = PlannedIr::new(program, nodes, 30_000)?;
    Bytecode::compile(program, &planned)
}

/// Counts dispatches per opcode and per pair of consecutive opcodes (the per-opcode profile of
/// `docs/bytecode.md`).
#[derive(Default)]
struct Profile {
    names: std::collections::HashMap<std::mem::Discriminant<Insn>, &'static str>,
    counts: std::collections::HashMap<&'static str, u64>,
    pairs: std::collections::HashMap<(&'static str, &'static str), u64>,
    last: &'static str,
    total: u64,
}

impl LoopHook for Profile {
    const ACTIVE: bool = false;

    fn take_over(&mut self, _id: u32) -> bool {
        false
    }

    fn run_loop(&mut self, _id: u32, _machine: &mut Machine, _io: &mut Io<'_>) -> Result<(), Stop> {
        Ok(())
    }

    fn dispatch(&mut self, insn: &Insn) {
        let name = *self
            .names
            .entry(std::mem::discriminant(insn))
            .or_insert_with(|| {
                let debug = format!("{insn:?}");
                let end = debug.find([' ', '{']).unwrap_or(debug.len());
                debug[..end].to_string().leak()
            });
        *self.counts.entry(name).or_default() += 1;
        *self.pairs.entry((self.last, name)).or_default() += 1;
        self.last = name;
        self.total += 1;
    }
}

/// Prints the per-opcode profile of the workloads named by `BFJIT_PROFILE` (paths of `.bf` files,
/// separated by `:`, each with its `.in` file beside it if any; default: the quick selfinterp and
/// mandelbrot). Run with `cargo test --release -p bfjit-backends opcode_profile -- --ignored
/// --nocapture`.
#[test]
#[ignore = "a measurement, not a test"]
fn opcode_profile() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../corpus/bench/quick/");
    let default = format!("{root}selfinterp.bf:{root}mandelbrot.bf");
    let files = std::env::var("BFJIT_PROFILE").unwrap_or(default);
    for file in files.split(':') {
        let program = Program::parse(std::fs::read(file).unwrap()).unwrap();
        let input = std::fs::read(file.replace(".bf", ".in")).unwrap_or_default();
        let config = Config::default();
        let nodes = crate::optimizer::optimize_default(&program);
        let planned = PlannedIr::new(&program, nodes, config.tape_len()).unwrap();
        let code = Bytecode::compile(&program, &planned).unwrap();
        let mut decisions = std::collections::BTreeMap::<&str, usize>::new();
        for (i, node) in planned.nodes().iter().enumerate() {
            if let crate::ir::Op::Guard { .. } = node.op {
                let kind = match planned.decision(i) {
                    crate::ir::plan::Decision::Always => "always",
                    crate::ir::plan::Decision::Never => "never",
                    crate::ir::plan::Decision::Check { .. } => "check",
                };
                *decisions.entry(kind).or_default() += 1;
            }
        }
        println!("{file}: guards {decisions:?}");
        let mut machine = Machine::new(&config);
        let mut output = Vec::new();
        let mut reader = &input[..];
        let mut io = Io::new(&mut reader, &mut output, config.eof());
        let mut profile = Profile::default();
        code.run_with(&mut machine, &mut io, &mut profile).unwrap();
        let total = profile.total as f64;
        println!("{file}: {} dispatches", profile.total);
        let mut counts: Vec<_> = profile.counts.into_iter().collect();
        counts.sort_by_key(|c| std::cmp::Reverse(c.1));
        for (name, n) in counts {
            println!("  {name:<16} {n:>12} {:>6.1} %", 100.0 * n as f64 / total);
        }
        let mut pairs: Vec<_> = profile.pairs.into_iter().collect();
        pairs.sort_by_key(|p| std::cmp::Reverse(p.1));
        for ((a, b), n) in pairs.into_iter().take(24) {
            println!(
                "  {a:>14} → {b:<16} {n:>12} {:>6.1} %",
                100.0 * n as f64 / total
            );
        }
    }
}

/// The strided scan as the reference steps it: the zero found, or `None` with `ptr` on the last
/// cell before the step that would leave the tape.
fn naive_scan(tape: &[u8], ptr: &mut usize, stride: i32) -> Option<usize> {
    let mut p = *ptr as isize;
    loop {
        if tape[p as usize] == 0 {
            return Some(p as usize);
        }
        let next = p + stride as isize;
        if next < 0 || next >= tape.len() as isize {
            *ptr = p as usize;
            return None;
        }
        p = next;
    }
}

/// `scan_strided` from `p` ends where stepping one stride at a time does (or both leave the tape).
fn scans_like_stepping(tape: &[u8], p: usize, stride: i32) -> Result<(), TestCaseError> {
    let mut want_ptr = p;
    let want = naive_scan(tape, &mut want_ptr, stride);
    match scan::scan_strided(tape, p, stride) {
        Ok(found) => prop_assert_eq!(Some(found), want),
        Err(last) => {
            prop_assert_eq!(want, None);
            prop_assert_eq!(last, want_ptr);
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn strided_scans_stop_where_stepping_does(
        tape in proptest::collection::vec(prop_oneof![9 => 1..=255u8, 1 => Just(0u8)], 1..400),
        start in any::<proptest::sample::Index>(),
        stride in prop_oneof![-9..=-1i32, 1..=9i32],
    ) {
        let p = start.index(tape.len());
        scans_like_stepping(&tape, p, stride)?;
    }

    #[test]
    fn strided_scans_over_long_runs_of_non_zero_cells(
        len in 1..700usize,
        zero in proptest::option::of(any::<proptest::sample::Index>()),
        start in any::<proptest::sample::Index>(),
        stride in prop_oneof![-9..=-1i32, 1..=9i32],
    ) {
        let mut tape = vec![7u8; len];
        if let Some(z) = zero {
            tape[z.index(len)] = 0;
        }
        let p = start.index(len);
        scans_like_stepping(&tape, p, stride)?;
    }
}

#[test]
fn decrement_chains_switch_on_the_cell_exactly() {
    // The decode of a BF interpreter (`-[-[-[ ...` with a flag per level), a chain whose levels do
    // work on the way out, and a chain of 300 levels (two segments; a 0 cell goes through all).
    let deep = format!(",{}.{}", "[-".repeat(300), "]".repeat(300));
    // Fuel is compared exactly where no loop is folded (folded loops charge nothing).
    let cases = [
        (
            ",>+<[-[-[-[->[-]<]>[->+++<]<]>[->++<]<]>[->+<]<]>.".to_string(),
            false,
        ),
        (",[-[-[-[>+<-]>+<]>++<]>+++<]>.<.".to_string(), false),
        (",[>,<-[-[.>.<-]]]>.".to_string(), true),
        (deep, true),
    ];
    for (src, exact_fuel) in &cases {
        let bc = bytecode_of(src);
        assert!(
            bc.code()
                .iter()
                .any(|i| matches!(i, Insn::DecChain { count, .. } if *count >= 2)),
            "{src}: {:?}",
            bc.code()
        );
        for value in [0u8, 1, 2, 3, 4, 5, 6, 7, 200, 254, 255] {
            let input = [value, 3, 2, 1];
            for config in [
                Config::default(),
                Config::new(1, EofPolicy::Zero, None).unwrap(),
                Config::new(2, EofPolicy::Zero, None).unwrap(),
            ] {
                assert_agree(src, &config, &input);
            }
            // Every fuel budget up to what the run needs: out of fuel at the same level.
            let (full, _) = both(src, &Config::default().with_fuel(Some(10_000)), &input);
            for fuel in 0..=full.fuel_used.min(400) + 1 {
                let config = Config::default().with_fuel(Some(fuel));
                agree_where_decided(src, &config, &input);
                if *exact_fuel {
                    let (expected, got) = both(src, &config, &input);
                    assert!(compare(&expected, &got).is_none(), "{src} {value} {fuel}");
                    assert_eq!(got.fuel_used, expected.fuel_used, "{src} {value} {fuel}");
                }
            }
        }
    }
}

/// Programs with the loop-exit superinstructions (`MoveLoopEndThenStart`, ...) and the chain
/// entry, each with the instruction it must compile to and whether fuel compares exactly (no loop
/// folded). Shared with the tiered tests (hand-overs at every threshold).
pub(crate) const EXIT_FUSIONS: [(&str, InsnTest, bool); 7] = [
    (
        ",>,>,[.-<]>[.->]<<.",
        |i| matches!(i, Insn::MoveLoopEndThenStart { .. }),
        true,
    ),
    (
        ",>,>,[[.-<]<]>>.",
        |i| matches!(i, Insn::MoveLoopEndThenEnd { .. }),
        true,
    ),
    (
        ",>,>,>,[<[.-]<]",
        |i| matches!(i, Insn::MoveLoopSkipThenEnd { .. }),
        true,
    ),
    (
        ",[,[.[-]][-]]",
        |i| matches!(i, Insn::SetLoopEndThenSetEnd { .. }),
        false,
    ),
    (
        ",[[-]>,[.[-]]<]",
        |i| matches!(i, Insn::SetLoopEndThenMoveEnd { .. }),
        false,
    ),
    (
        ",>,<+>[-[-[-[.[-]]>+.<]>+.<]>+.<]",
        |i| matches!(i, Insn::AddMoveLoopStartChain { .. }),
        false,
    ),
    // The self-interpreter's decode: flag tests (cell 2, read) on the way out of every level.
    (
        ",>,>,<[-[-[->[.[-]]<]>[.[-]]<]>[.[-]]<]>.",
        |i| {
            matches!(
                i,
                Insn::MoveLoopEndThenStart { .. } | Insn::MoveLoopSkipThenEnd { .. }
            )
        },
        false,
    ),
];

#[test]
fn exit_fusions_agree_at_every_edge() {
    // Each fused exit against the reference: the cells it tests at 0, 1 and 255, tapes of 1 to 6
    // cells (the second block's guard fails, a move leaves the tape), and every fuel budget (fuel
    // runs out at either test).
    for (src, wanted, exact_fuel) in EXIT_FUSIONS {
        let bc = bytecode_of(src);
        assert!(bc.code().iter().any(wanted), "{src}: {:?}", bc.code());
        for input in [
            [0u8, 0, 0, 0, 0],
            [1, 2, 3, 0, 1],
            [3, 0, 1, 2, 0],
            [255, 1, 0, 2, 1],
            [2, 2, 2, 2, 2],
            [1, 255, 255, 1, 0],
        ] {
            for tape_len in 1..=6 {
                assert_agree(
                    src,
                    &Config::new(tape_len, EofPolicy::Zero, None).unwrap(),
                    &input,
                );
            }
            assert_agree(src, &Config::default(), &input);
            let (full, _) = both(src, &Config::default().with_fuel(Some(10_000)), &input);
            for fuel in 0..=full.fuel_used.min(600) + 1 {
                for tape_len in [1, 3, 30_000] {
                    let config = Config::new(tape_len, EofPolicy::Zero, Some(fuel)).unwrap();
                    agree_where_decided(src, &config, &input);
                    if exact_fuel {
                        let (expected, got) = both(src, &config, &input);
                        assert!(compare(&expected, &got).is_none(), "{src} {fuel}");
                        assert_eq!(got.fuel_used, expected.fuel_used, "{src} {fuel}");
                    }
                }
            }
        }
    }
}
