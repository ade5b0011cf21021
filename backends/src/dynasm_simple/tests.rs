//! Tests of both simple JITs (`dynasm-simple` and `handjit`) against the reference interpreter, and of
//! every IR op through their emitters against the IR evaluator.

use proptest::prelude::*;

use super::DynasmSimple;
use crate::backend::{compile_and_run, run_collect, Backend, CompileError, Executable};
use crate::config::{Config, EofPolicy};
use crate::handjit::HandJit;
use crate::ir::{eval::evaluate, lower, MulTarget, Node, Op, Span};
use crate::outcome::{compare, Outcome, Side, Status};
use crate::reference::Reference;
use crate::syntax::Program;

type CompileIr = fn(&Program, Vec<Node>, &Config) -> Result<Box<dyn Executable>, CompileError>;

/// Both simple JITs, as backends and as IR compilers.
fn jits() -> [(&'static dyn Backend, CompileIr); 2] {
    [
        (&DynasmSimple, super::x64::compile_ir),
        (&HandJit, crate::handjit::x64::compile_ir),
    ]
}

fn reference(program: &Program, config: Config, input: &[u8]) -> Outcome {
    compile_and_run(&Reference, program, &config, input).unwrap()
}

/// Runs `src` on both JITs and the reference; requires agreement and returns the reference outcome.
fn agree(src: &str, config: Config, input: &[u8]) -> Outcome {
    let program = Program::parse(src).unwrap();
    let want = reference(&program, config, input);
    for (jit, _) in jits() {
        let got = compile_and_run(jit, &program, &config, input).unwrap();
        assert_eq!(
            compare(&want, &got),
            None,
            "{} on {src:?} under {config:?}",
            jit.name()
        );
        assert_eq!(
            want.fuel_used,
            got.fuel_used,
            "{} fuel on {src:?}",
            jit.name()
        );
    }
    want
}

fn tape(len: usize) -> Config {
    Config::new(len, EofPolicy::Unchanged, None).unwrap()
}

#[test]
fn hello_and_wrapping() {
    let o = agree("++++++++[>++++++++<-]>+.-.+.", Config::default(), b"");
    assert_eq!(o.output, b"A@A");
    // 255 + 1 wraps to 0 and 0 - 1 to 255; 127 + 1 is just 128.
    let o = agree("-.+.", Config::default(), b"");
    assert_eq!(o.output, [255, 0]);
    let o = agree(&format!("{}.+.", "+".repeat(127)), Config::default(), b"");
    assert_eq!(o.output, [127, 128]);
    let o = agree(&"+".repeat(300), Config::default(), b"");
    assert_eq!(o.tape[0], 44);
}

#[test]
fn leaving_the_tape_names_the_exact_command() {
    // `>><` at the right edge: the second `>` leaves, even though the net move stays on the tape.
    let o = agree("+.>><", tape(2), b"");
    assert_eq!(o.output, [1]);
    assert!(matches!(
        o.status,
        Status::PointerOutOfBounds {
            side: Side::Right,
            ..
        }
    ));
    let o = agree("+.\n>><<<", Config::default(), b"");
    assert!(matches!(
        o.status,
        Status::PointerOutOfBounds {
            side: Side::Left,
            ..
        }
    ));
    // Inside a loop, after output, on a one-cell tape.
    agree("+[.>]", tape(1), b"");
    agree("+[.<]", tape(1), b"");
    // The last cell is usable; one past it is not.
    agree(">>>>+.", tape(5), b"");
    agree(">>>>>+.", tape(5), b"");
}

#[test]
fn input_and_eof_policies() {
    for eof in EofPolicy::ALL {
        let config = Config::new(10, eof, None).unwrap();
        let o = agree("+++++,.,.,.>,.", config, b"ab");
        assert_eq!(&o.output[..2], b"ab");
        // Unless EOF reads 0, the echo loop never ends: bound it by fuel.
        agree(",[.,]", config.with_fuel(Some(100)), b"hello");
    }
}

#[test]
fn fuel_is_charged_at_every_loop_body_entry() {
    for fuel in 0..6 {
        agree("+++[-]", Config::default().with_fuel(Some(fuel)), b"");
        agree("++[>++[-]<-]", Config::default().with_fuel(Some(fuel)), b"");
    }
    let o = agree("+++[-]", Config::default().with_fuel(Some(3)), b"");
    assert_eq!((o.status, o.fuel_used), (Status::Ok, 3));
    let o = agree("+.[]", Config::default().with_fuel(Some(100)), b"");
    assert_eq!((o.status, o.output), (Status::OutOfFuel, vec![1]));
}

#[test]
fn deep_nesting_compiles_and_runs() {
    let n = 100_000;
    let src = format!("+{}-{}", "[".repeat(n), "]".repeat(n));
    let o = agree(&src, Config::default(), b"");
    assert_eq!(o.status, Status::Ok);
    let src = format!("{}+.{}", "[".repeat(n), "]".repeat(n));
    agree(&src, Config::default(), b"");
}

#[test]
fn a_million_commands_compile() {
    let chunk = "+>+<[->+<]>.<,";
    let src = chunk.repeat(1_000_000 / chunk.len() + 1);
    let program = Program::parse(src).unwrap();
    assert!(program.len() >= 1_000_000);
    for (jit, _) in jits() {
        let exe = jit.compile(&program, &Config::default()).unwrap();
        let o = run_collect(exe.as_ref(), b"");
        assert_eq!(o.status, Status::Ok, "{}", jit.name());
    }
}

/// Runs hand-made IR `nodes` for `src` on both JITs and requires agreement with the IR evaluator and
/// the reference.
fn agree_ir(src: &str, nodes: Vec<Node>, config: Config, input: &[u8]) -> Outcome {
    let program = Program::parse(src).unwrap();
    let guarded = crate::ir::blocks::guard(&program, nodes.clone());
    let mut out = Vec::new();
    let halt = evaluate(&program, &guarded, &config, &mut &input[..], &mut out).unwrap();
    let want = Outcome::new(halt, out);
    assert_eq!(
        compare(&reference(&program, config, input), &want),
        None,
        "the hand-made IR for {src:?} is wrong"
    );
    for (jit, compile_ir) in jits() {
        let exe = compile_ir(&program, guarded.clone(), &config).unwrap();
        let got = run_collect(exe.as_ref(), input);
        assert_eq!(compare(&want, &got), None, "{} on {src:?}", jit.name());
    }
    want
}

fn node(op: Op, start: u32, end: u32) -> Node {
    Node::new(op, Span { start, end })
}

#[test]
fn set_mul_loop_and_scan_nodes() {
    // `+++++[->++>---<<]>.>.` with the loop as a MulLoop.
    let src = "+++++[->++>---<<]>.>.";
    let mul = node(
        Op::MulLoop {
            offset: 0,
            targets: vec![
                MulTarget {
                    offset: 1,
                    factor: 2,
                },
                MulTarget {
                    offset: 2,
                    factor: 253,
                },
            ]
            .into(),
        },
        5,
        17,
    );
    let program = Program::parse(src).unwrap();
    let mut nodes = lower(&program);
    nodes.splice(5..17, [mul]);
    let o = agree_ir(src, nodes, Config::default(), b"");
    assert_eq!(o.output, [10, 241]);

    // `++[-]+.` with the loop as a Set.
    let src = "++[-]+.";
    let program = Program::parse(src).unwrap();
    let mut nodes = lower(&program);
    nodes.splice(
        2..5,
        [node(
            Op::Set {
                offset: 0,
                value: 0,
            },
            2,
            5,
        )],
    );
    agree_ir(src, nodes, Config::default(), b"");

    // Scans that stop in range and scans that run off either end.
    for (src, len) in [
        ("+>+>+>>+<<<<[>]>.", 30),
        ("+>+>+[>]", 3),
        (">>>+<+<+[<]", 10),
        ("+>+>+>+>+>+>+>+[<<]", 9),
    ] {
        let program = Program::parse(src).unwrap();
        let mut nodes = lower(&program);
        let open = src.find('[').unwrap();
        let close = src.find(']').unwrap();
        let stride = if src[open..].starts_with("[>") {
            1
        } else {
            -((close - open - 1) as i32)
        };
        nodes.splice(
            open..=close,
            [node(Op::Scan { stride }, open as u32, close as u32 + 1)],
        );
        agree_ir(src, nodes, tape(len), b"");
    }
}

#[test]
fn offset_ops_and_a_multiply_on_zero() {
    // `>+<` folded to an Add at offset 1; `.` and `,` at offsets.
    let src = ">+<>.<>,<";
    let nodes = vec![
        node(
            Op::Add {
                offset: 1,
                delta: 1,
            },
            0,
            3,
        ),
        node(Op::Output { offset: 1 }, 3, 6),
        node(Op::Input { offset: 1 }, 6, 9),
    ];
    agree_ir(src, nodes.clone(), Config::default(), b"x");
    // On a one-cell tape the guard fails and the block runs exactly.
    agree_ir(src, nodes, tape(1), b"x");
    // A multiply loop whose cell is zero changes nothing.
    let src = "[->+<]";
    let nodes = vec![node(
        Op::MulLoop {
            offset: 0,
            targets: vec![MulTarget {
                offset: 1,
                factor: 1,
            }]
            .into(),
        },
        0,
        6,
    )];
    agree_ir(src, nodes, Config::default(), b"");
}

/// A random bracket-balanced program of up to `len` commands.
fn program_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(0u8..10, 0..80).prop_map(|picks| {
        let mut src = String::new();
        let mut open = 0;
        for pick in picks {
            let c = match pick {
                0 | 1 => '+',
                2 => '-',
                3 => '>',
                4 => '<',
                5 => '.',
                6 => ',',
                7 => '[',
                8 if open > 0 => ']',
                _ => '>',
            };
            match c {
                '[' => open += 1,
                ']' => open -= 1,
                _ => {}
            }
            src.push(c);
        }
        src.push_str(&"]".repeat(open));
        src
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_programs_agree_with_the_reference(
        src in program_strategy(),
        small_tape in proptest::bool::ANY,
        tape_len in 1usize..64,
        eof in prop::sample::select(EofPolicy::ALL.to_vec()),
        input in prop::collection::vec(any::<u8>(), 0..8),
        fuel in 0u64..3000,
    ) {
        let tape_len = if small_tape { tape_len } else { 30_000 };
        let config = Config::new(tape_len, eof, Some(fuel)).unwrap();
        let program = Program::parse(src.as_str()).unwrap();
        let want = reference(&program, config, &input);
        for (jit, _) in jits() {
            // With the same budget, even a run that runs out of fuel agrees.
            let got = compile_and_run(jit, &program, &config, &input).unwrap();
            prop_assert_eq!(compare(&want, &got), None, "{} on {:?}", jit.name(), src);
            prop_assert_eq!(want.fuel_used, got.fuel_used);
            // Unmetered, when the reference finished within the budget.
            if want.status != Status::OutOfFuel {
                let free = config.with_fuel(None);
                let got = compile_and_run(jit, &program, &free, &input).unwrap();
                prop_assert_eq!(compare(&want, &got), None, "{} unmetered on {:?}", jit.name(), src);
            }
        }
    }
}
