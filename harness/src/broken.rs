//! Deliberately broken backends: the proof that the generators and the oracle are strong enough.
//!
//! Each is the same small folding interpreter (runs of `+-` and `<>` fused, innermost loops folded to
//! a clear, a multiply loop or a scan, exact fallback through [`execute_exact`] when a fused move or
//! a folded loop would leave the tape) with one planted bug of the kind real optimizing engines have.
//! [`Bug::None`] is the same interpreter without a bug (`folded-control`), which must agree with the
//! reference on everything. They are written in safe Rust: "dropping a bounds check" wraps the pointer
//! around the tape instead of touching memory outside it, and the crashing variant calls
//! `std::process::abort` (to exercise [`crate::isolate`]).
//!
//! They are not in the backend registry; the harness tests use them directly, and `check`/`fuzz`
//! accept them with the hidden `--broken NAME` flag.

use std::io::{Read, Write};

use bfjit_backends::runtime::exact::execute_exact;
use bfjit_backends::runtime::{Io, Machine, Stop};
use bfjit_backends::{
    Backend, CmdKind, CompileError, Config, EofPolicy, Executable, Halt, Program, Side,
};

/// The planted bug of a broken backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bug {
    /// No bug: the control that must agree with the reference.
    None,
    /// A multiply loop adds to the cell one to the right of each target.
    MulOffsetOffByOne,
    /// A scan moves against its stride (`[>]` walks left).
    ScanWrongDirection,
    /// `,` at end of input stores 0 whatever the EOF policy says.
    EofAsZero,
    /// A fused move that leaves the tape wraps around instead of stopping the run.
    NoBoundsCheck,
    /// A multiply loop checks its targets' bounds before testing the loop cell for zero, so a
    /// skipped loop whose targets lie off the tape faults.
    MulSkipsZeroGuard,
    /// `[--]` (any even step) is folded to a clear, although odd cells make it loop forever.
    FoldEvenClear,
    /// Cells wrap at 127 (arithmetic modulo 128) instead of 255.
    WrapAt127,
    /// Aborts the process when a multiply loop with a target 3 or more cells to the left runs:
    /// stands for a JIT that emits a bad displacement and segfaults.
    AbortOnFarLeftMul,
}

/// A folding interpreter with one planted bug.
#[derive(Debug)]
pub struct Broken {
    /// The planted bug.
    pub bug: Bug,
    name: &'static str,
    summary: &'static str,
}

/// Every broken backend (and the bug-free control first).
pub static ALL: [Broken; 9] = [
    Broken::new(
        Bug::None,
        "folded-control",
        "the folding interpreter without a bug",
    ),
    Broken::new(
        Bug::MulOffsetOffByOne,
        "broken-mul-offset",
        "multiply-loop target offset off by one",
    ),
    Broken::new(
        Bug::ScanWrongDirection,
        "broken-scan-direction",
        "scans in the wrong direction",
    ),
    Broken::new(Bug::EofAsZero, "broken-eof-zero", "EOF always stores zero"),
    Broken::new(
        Bug::NoBoundsCheck,
        "broken-no-bounds",
        "fused moves are not bounds-checked (the pointer wraps)",
    ),
    Broken::new(
        Bug::MulSkipsZeroGuard,
        "broken-mul-zero-guard",
        "multiply loop touches its targets without the zero guard",
    ),
    Broken::new(
        Bug::FoldEvenClear,
        "broken-even-clear",
        "folds [--] to a clear",
    ),
    Broken::new(Bug::WrapAt127, "broken-wrap-127", "cells wrap at 127"),
    Broken::new(
        Bug::AbortOnFarLeftMul,
        "broken-abort",
        "aborts the process on a multiply loop reaching 3+ cells left",
    ),
];

/// The broken backend called `name`.
pub fn by_name(name: &str) -> Option<&'static dyn Backend> {
    ALL.iter()
        .find(|b| b.name == name)
        .map(|b| b as &'static dyn Backend)
}

impl Broken {
    const fn new(bug: Bug, name: &'static str, summary: &'static str) -> Broken {
        Broken { bug, name, summary }
    }
}

impl Backend for Broken {
    fn name(&self) -> &'static str {
        self.name
    }

    fn summary(&self) -> &'static str {
        self.summary
    }

    fn compile(
        &self,
        program: &Program,
        config: &Config,
    ) -> Result<Box<dyn Executable>, CompileError> {
        Ok(Box::new(Folded {
            program: program.clone(),
            ops: fold(program, self.bug),
            config: *config,
            bug: self.bug,
        }))
    }
}

#[derive(Clone, Debug)]
enum Op {
    Add(u8),
    Move(i32),
    Output,
    Input,
    Open,
    Close,
    Clear,
    Mul {
        step_down: bool,
        targets: Vec<(i32, u8)>,
        reach: (i32, i32),
    },
    Scan(i32),
}

#[derive(Clone, Debug)]
struct Node {
    op: Op,
    start: usize,
    end: usize,
}

/// Lowers and folds `program`; the only place besides execution where a bug may act.
fn fold(program: &Program, bug: Bug) -> Vec<Node> {
    let cmds = program.cmds();
    let mut nodes: Vec<Node> = Vec::new();
    let mut i = 0;
    while i < cmds.len() {
        let kind = cmds[i].kind;
        let node = |op, end| Node { op, start: i, end };
        match kind {
            CmdKind::Inc | CmdKind::Dec => {
                let mut delta = 0u8;
                let mut j = i;
                while j < cmds.len() && matches!(cmds[j].kind, CmdKind::Inc | CmdKind::Dec) {
                    delta = delta.wrapping_add(if cmds[j].kind == CmdKind::Inc { 1 } else { 255 });
                    j += 1;
                }
                nodes.push(node(Op::Add(delta), j));
                i = j;
            }
            CmdKind::Left | CmdKind::Right => {
                let mut j = i;
                while j < cmds.len() && cmds[j].kind == kind {
                    j += 1;
                }
                let n = (j - i) as i32;
                let by = if kind == CmdKind::Right { n } else { -n };
                nodes.push(node(Op::Move(by), j));
                i = j;
            }
            CmdKind::Output => {
                nodes.push(node(Op::Output, i + 1));
                i += 1;
            }
            CmdKind::Input => {
                nodes.push(node(Op::Input, i + 1));
                i += 1;
            }
            CmdKind::Open => {
                let close = cmds[i].partner as usize;
                match fold_loop(program, i, close, bug) {
                    Some(op) => {
                        nodes.push(node(op, close + 1));
                        i = close + 1;
                    }
                    None => {
                        nodes.push(node(Op::Open, i + 1));
                        i += 1;
                    }
                }
            }
            CmdKind::Close => {
                nodes.push(node(Op::Close, i + 1));
                i += 1;
            }
        }
    }
    nodes
}

/// Folds the loop `open..=close` when it is innermost and of a known shape.
fn fold_loop(program: &Program, open: usize, close: usize, bug: Bug) -> Option<Op> {
    let body = &program.cmds()[open + 1..close];
    if body.iter().any(|c| {
        !matches!(
            c.kind,
            CmdKind::Inc | CmdKind::Dec | CmdKind::Left | CmdKind::Right
        )
    }) {
        return None;
    }
    let moves_only = body
        .iter()
        .all(|c| matches!(c.kind, CmdKind::Left | CmdKind::Right));
    let mut pos = 0i32;
    let mut reach = (0i32, 0i32);
    let mut deltas: Vec<(i32, u8)> = Vec::new();
    for c in body {
        match c.kind {
            CmdKind::Left | CmdKind::Right => {
                pos += if c.kind == CmdKind::Right { 1 } else { -1 };
                reach = (reach.0.min(pos), reach.1.max(pos));
            }
            CmdKind::Inc | CmdKind::Dec => {
                let d = if c.kind == CmdKind::Inc { 1 } else { 255 };
                match deltas.iter_mut().find(|(o, _)| *o == pos) {
                    Some((_, delta)) => *delta = delta.wrapping_add(d),
                    None => deltas.push((pos, d)),
                }
            }
            _ => unreachable!("body holds only + - < >"),
        }
    }
    if pos != 0 {
        let one_way = body.windows(2).all(|w| w[0].kind == w[1].kind);
        return (moves_only && one_way).then_some(Op::Scan(pos));
    }
    let step = deltas.iter().find(|(o, _)| *o == 0).map_or(0, |&(_, d)| d);
    let mut targets: Vec<(i32, u8)> = deltas
        .into_iter()
        .filter(|&(o, d)| o != 0 && d != 0)
        .collect();
    targets.sort();
    if targets.is_empty() {
        // A body that moves (`[>>><<<-]`) may walk off the tape: that is not a clear.
        let moves = !moves_only
            && body
                .iter()
                .any(|c| matches!(c.kind, CmdKind::Left | CmdKind::Right));
        let foldable = !moves && (step % 2 == 1 || (bug == Bug::FoldEvenClear && step != 0));
        return foldable.then_some(Op::Clear);
    }
    match step {
        255 => Some(Op::Mul {
            step_down: true,
            targets,
            reach,
        }),
        1 => Some(Op::Mul {
            step_down: false,
            targets,
            reach,
        }),
        _ => None,
    }
}

struct Folded {
    program: Program,
    ops: Vec<Node>,
    config: Config,
    bug: Bug,
}

impl Executable for Folded {
    fn run(&self, input: &mut dyn Read, output: &mut dyn Write) -> Halt {
        let eof = if self.bug == Bug::EofAsZero {
            EofPolicy::Zero
        } else {
            self.config.eof()
        };
        let mut io = Io::new(input, output, eof);
        let mut m = Machine::new(&self.config);
        let result = self.exec(&mut m, &mut io);
        m.finish(result, &mut io, &self.program)
    }
}

impl Folded {
    fn add(&self, cell: u8, delta: u8) -> u8 {
        if self.bug == Bug::WrapAt127 {
            ((cell as u32 + delta as u32) % 128) as u8
        } else {
            cell.wrapping_add(delta)
        }
    }

    fn exact(&self, node: &Node, m: &mut Machine, io: &mut Io<'_>) -> Result<(), Stop> {
        execute_exact(
            &self.program,
            node.start..node.end,
            &mut m.tape,
            &mut m.ptr,
            io,
            None,
        )
    }

    fn exec(&self, m: &mut Machine, io: &mut Io<'_>) -> Result<(), Stop> {
        let mut partners = vec![0usize; self.ops.len()];
        let mut stack = Vec::new();
        for (i, node) in self.ops.iter().enumerate() {
            match node.op {
                Op::Open => stack.push(i),
                Op::Close => {
                    let open = stack.pop().expect("balanced");
                    partners[open] = i;
                    partners[i] = open;
                }
                _ => {}
            }
        }
        let len = m.tape.len() as i64;
        let mut pc = 0;
        while pc < self.ops.len() {
            let node = &self.ops[pc];
            match &node.op {
                Op::Add(delta) => m.tape[m.ptr] = self.add(m.tape[m.ptr], *delta),
                Op::Move(by) => {
                    let to = m.ptr as i64 + *by as i64;
                    if (0..len).contains(&to) {
                        m.ptr = to as usize;
                    } else if self.bug == Bug::NoBoundsCheck {
                        m.ptr = to.rem_euclid(len) as usize;
                    } else {
                        self.exact(node, m, io)?;
                    }
                }
                Op::Output => io.write_byte(m.tape[m.ptr])?,
                Op::Input => m.tape[m.ptr] = io.read_byte(m.tape[m.ptr])?,
                Op::Open => {
                    if m.tape[m.ptr] == 0 {
                        pc = partners[pc];
                    } else {
                        m.spend_fuel()?;
                    }
                }
                Op::Close => {
                    if m.tape[m.ptr] != 0 {
                        m.spend_fuel()?;
                        pc = partners[pc];
                    }
                }
                Op::Clear => m.tape[m.ptr] = 0,
                Op::Mul {
                    step_down,
                    targets,
                    reach,
                } => {
                    let shift = i32::from(self.bug == Bug::MulOffsetOffByOne);
                    let cells: Vec<i64> = targets
                        .iter()
                        .map(|(o, _)| m.ptr as i64 + (*o + shift) as i64)
                        .collect();
                    let at = m.ptr as i64;
                    let in_range = cells.iter().all(|c| (0..len).contains(c))
                        && at + reach.0 as i64 >= 0
                        && at + (reach.1 as i64) < len;
                    if self.bug == Bug::MulSkipsZeroGuard && !in_range {
                        let first_move = self.program.cmds()[node.start..node.end]
                            .iter()
                            .position(|c| matches!(c.kind, CmdKind::Left | CmdKind::Right))
                            .expect("a multiply loop moves");
                        let left = at + (reach.0 as i64) < 0;
                        return Err(Stop::OutOfBounds {
                            cmd: (node.start + first_move) as u32,
                            side: if left { Side::Left } else { Side::Right },
                        });
                    }
                    let c = m.tape[m.ptr];
                    if c != 0 {
                        if self.bug == Bug::AbortOnFarLeftMul
                            && targets.iter().any(|(o, _)| *o <= -3)
                        {
                            std::process::abort();
                        }
                        if !in_range {
                            self.exact(node, m, io)?;
                        } else {
                            let count = if *step_down { c } else { c.wrapping_neg() };
                            for (&cell, (_, factor)) in cells.iter().zip(targets) {
                                let cell = cell as usize;
                                m.tape[cell] = self.add(m.tape[cell], count.wrapping_mul(*factor));
                            }
                            m.tape[m.ptr] = 0;
                        }
                    }
                }
                Op::Scan(stride) => {
                    let stride = if self.bug == Bug::ScanWrongDirection {
                        -stride
                    } else {
                        *stride
                    };
                    // Without bounds checks a scan wraps around; once round the whole tape, it
                    // gives up (a real engine would read past the tape until it found a zero).
                    let mut steps = 0;
                    while m.tape[m.ptr] != 0 && steps <= len {
                        steps += 1;
                        let to = m.ptr as i64 + stride as i64;
                        if (0..len).contains(&to) {
                            m.ptr = to as usize;
                        } else if self.bug == Bug::NoBoundsCheck {
                            m.ptr = to.rem_euclid(len) as usize;
                        } else {
                            self.exact(node, m, io)?;
                            break;
                        }
                    }
                }
            }
            pc += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bfjit_backends::{compare, compile_and_run, reference::Reference, Outcome};

    fn run(backend: &dyn Backend, src: &str, tape_len: usize, input: &[u8]) -> Outcome {
        let program = Program::parse(src).unwrap();
        let config = Config::new(tape_len, EofPolicy::Unchanged, Some(10_000)).unwrap();
        compile_and_run(backend, &program, &config, input).unwrap()
    }

    #[test]
    fn each_bug_shows_on_its_own_witness() {
        let witnesses: [(Bug, &str, usize, &[u8]); 8] = [
            (Bug::MulOffsetOffByOne, "+++[->++<]", 8, b""),
            (Bug::ScanWrongDirection, ">+>+>+<<[<]", 8, b""),
            (Bug::EofAsZero, "+,", 8, b""),
            (Bug::NoBoundsCheck, ">>>>>", 3, b""),
            (Bug::MulSkipsZeroGuard, ">[-<<+>>]", 8, b""),
            (Bug::FoldEvenClear, "+[--]", 8, b""),
            (Bug::WrapAt127, "-", 8, b""),
            (Bug::None, "+[->+<]", 8, b""),
        ];
        for (bug, src, tape_len, input) in witnesses {
            let backend = ALL.iter().find(|b| b.bug == bug).unwrap();
            let reference = run(&Reference, src, tape_len, input);
            let broken = run(backend, src, tape_len, input);
            let differs = compare(&reference, &broken).is_some();
            // `[--]` on an odd cell never ends: the reference runs out of fuel, the broken one does not.
            assert_eq!(differs, bug != Bug::None, "{bug:?} on {src}");
        }
    }

    #[test]
    fn control_matches_reference_on_edge_cases() {
        let control = by_name("folded-control").unwrap();
        for src in [
            "+[>+]",
            ">>+<<[->>[-<<<+>>>]<<]",
            "+>+>+<<[>]<<<",
            "++[>>>-<<<-]",
            "-[+>+<]>.",
            "+++[--->+<]",
            "+[>>>><<<<-]",
        ] {
            for tape_len in [1, 2, 3, 5, 30] {
                let a = run(&Reference, src, tape_len, b"");
                let b = run(control, src, tape_len, b"");
                assert_eq!(compare(&a, &b), None, "{src} on {tape_len} cells");
            }
        }
    }
}
