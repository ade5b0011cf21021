//! The reference evaluator of IR: the meaning of every IR node, written as plainly as possible.
//!
//! The optimizer's soundness tests run a program before and after a pass through this evaluator and
//! require equal outcomes. It expects guarded IR ([`super::blocks::guard`]), plans it
//! ([`super::plan::PlannedIr`]) and follows each guard's decision like every other emitter; inside a
//! block it still checks every access, and reports an access off the tape (which a correct plan makes
//! impossible) as an out-of-bounds error at the node's first command, so a bug shows as a divergence,
//! never a panic.

use std::io::{Read, Write};

use super::plan::{PlanError, PlannedIr};
use super::{loop_partners, Node, Op};
use crate::config::Config;
use crate::outcome::{Halt, Side};
use crate::runtime::exact::execute_exact;
use crate::runtime::{Io, Machine, Stop};
use crate::syntax::Program;

/// Plans guarded IR `nodes` of `program` for `config` and runs it (malformed IR is an error).
pub fn evaluate(
    program: &Program,
    nodes: &[Node],
    config: &Config,
    input: &mut dyn Read,
    output: &mut dyn Write,
) -> Result<Halt, PlanError> {
    let planned = PlannedIr::new(program, nodes.to_vec(), config.tape_len())?;
    Ok(evaluate_planned(program, &planned, config, input, output))
}

/// Runs planned IR of `program` under `config` (whose tape length the plan was made for).
pub fn evaluate_planned(
    program: &Program,
    planned: &PlannedIr,
    config: &Config,
    input: &mut dyn Read,
    output: &mut dyn Write,
) -> Halt {
    evaluate_observed(program, planned, config, input, output, &mut |_, _| {})
}

/// [`evaluate_planned`], calling `observe(node, ptr)` whenever control reaches a guard, loop boundary
/// or scan, and at the `LoopStart` of every back edge (the plan's soundness test checks its ranges and
/// decisions against real runs this way).
pub(crate) fn evaluate_observed(
    program: &Program,
    planned: &PlannedIr,
    config: &Config,
    input: &mut dyn Read,
    output: &mut dyn Write,
    observe: &mut dyn FnMut(usize, usize),
) -> Halt {
    let mut io = Io::new(input, output, config.eof());
    let mut m = Machine::new(config);
    let result = eval_nodes(program, planned, &mut m, &mut io, observe);
    m.finish(result, &mut io, program)
}

fn cell_at(m: &Machine, offset: i32, node: &Node) -> Result<usize, Stop> {
    let at = m.ptr as i64 + offset as i64;
    if at < 0 || at >= m.tape.len() as i64 {
        return Err(Stop::OutOfBounds {
            cmd: node.span.start,
            side: if at < 0 { Side::Left } else { Side::Right },
        });
    }
    Ok(at as usize)
}

fn eval_nodes(
    program: &Program,
    planned: &PlannedIr,
    m: &mut Machine,
    io: &mut Io<'_>,
    observe: &mut dyn FnMut(usize, usize),
) -> Result<(), Stop> {
    let nodes = planned.nodes();
    let partners = loop_partners(nodes);
    let mut pc = 0;
    while pc < nodes.len() {
        let node = &nodes[pc];
        if !super::blocks::in_block(&node.op) {
            observe(pc, m.ptr);
        }
        match &node.op {
            Op::Guard { len, .. } => {
                if !planned.decision(pc).passes(m.ptr, m.tape.len()) {
                    execute_exact(
                        program,
                        node.span.range(),
                        &mut m.tape,
                        &mut m.ptr,
                        io,
                        None,
                    )?;
                    pc += *len as usize;
                }
            }
            Op::Add { offset, delta } => {
                let at = cell_at(m, *offset, node)?;
                m.tape[at] = m.tape[at].wrapping_add(*delta);
            }
            Op::Move { by } => m.ptr = cell_at(m, *by, node)?,
            Op::Set { offset, value } => {
                let at = cell_at(m, *offset, node)?;
                m.tape[at] = *value;
            }
            Op::MulLoop { offset, targets } => {
                let at = cell_at(m, *offset, node)?;
                let value = m.tape[at];
                if value != 0 {
                    for t in targets {
                        let target = cell_at(m, offset + t.offset, node)?;
                        m.tape[target] = m.tape[target].wrapping_add(value.wrapping_mul(t.factor));
                    }
                    m.tape[at] = 0;
                }
            }
            Op::Output { offset } => io.write_byte(m.tape[cell_at(m, *offset, node)?])?,
            Op::Input { offset } => {
                let at = cell_at(m, *offset, node)?;
                m.tape[at] = io.read_byte(m.tape[at])?;
            }
            Op::Scan { stride } => {
                while m.tape[m.ptr] != 0 {
                    let next = m.ptr as i64 + *stride as i64;
                    if next < 0 || next >= m.tape.len() as i64 {
                        // Re-run the loop exactly from this iteration boundary to raise the exact error.
                        execute_exact(
                            program,
                            node.span.range(),
                            &mut m.tape,
                            &mut m.ptr,
                            io,
                            None,
                        )?;
                        break;
                    }
                    m.ptr = next as usize;
                }
            }
            Op::LoopStart => {
                if m.tape[m.ptr] == 0 {
                    pc = partners[pc] as usize;
                } else {
                    m.spend_fuel()?;
                }
            }
            Op::LoopEnd => {
                if m.tape[m.ptr] != 0 {
                    m.spend_fuel()?;
                    pc = partners[pc] as usize;
                    // A back edge enters the loop's test again (where a tiered JIT takes over).
                    observe(pc, m.ptr);
                }
            }
        }
        pc += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{blocks::guard, lower, MulTarget, Span};
    use crate::outcome::{Outcome, Status};

    fn eval(program: &Program, nodes: &[Node], config: Config) -> Outcome {
        let mut out = Vec::new();
        let halt = evaluate(program, nodes, &config, &mut &b""[..], &mut out).unwrap();
        Outcome::new(halt, out)
    }

    #[test]
    fn failed_guard_runs_the_block_exactly() {
        let p = Program::parse("+.>>>.").unwrap();
        let config = Config::new(2, crate::EofPolicy::Zero, None).unwrap();
        let o = eval(&p, &guard(&p, lower(&p)), config);
        assert_eq!(o.output, [1]);
        let Status::PointerOutOfBounds { position, .. } = o.status else {
            panic!()
        };
        assert_eq!(position.column, 4);
    }

    #[test]
    fn mul_loop_does_nothing_on_zero() {
        let p = Program::parse("[->+<]").unwrap();
        let mul = Node::new(
            Op::MulLoop {
                offset: 0,
                targets: vec![MulTarget {
                    offset: 1,
                    factor: 1,
                }]
                .into(),
            },
            Span { start: 0, end: 6 },
        );
        let nodes = guard(&p, vec![mul]);
        let o = eval(&p, &nodes, Config::default());
        assert_eq!(o.status, Status::Ok);
        assert!(o.tape.iter().all(|&c| c == 0));
    }
}
