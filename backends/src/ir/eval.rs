//! The reference evaluator of IR: the meaning of every IR node, written as plainly as possible.
//!
//! The optimizer's soundness tests run a program before and after a pass through this evaluator and
//! require equal outcomes. It expects guarded IR ([`super::blocks::guard`]); inside a block it still
//! checks every access, and reports an access off the tape (which a correct guard makes impossible) as
//! an out-of-bounds error at the node's first command, so a pass bug shows as a divergence, never a panic.

use std::io::{Read, Write};

use super::{loop_partners, Node, Op};
use crate::config::Config;
use crate::outcome::{Halt, Side};
use crate::reference::execute_exact;
use crate::runtime::{Io, Machine, Stop};
use crate::syntax::Program;

/// Runs guarded IR `nodes` of `program` under `config`.
pub fn evaluate(
    program: &Program,
    nodes: &[Node],
    config: &Config,
    input: &mut dyn Read,
    output: &mut dyn Write,
) -> Halt {
    let mut io = Io::new(input, output, config.eof);
    let mut m = Machine::new(config);
    let result = eval_nodes(program, nodes, &mut m, &mut io);
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
    nodes: &[Node],
    m: &mut Machine,
    io: &mut Io<'_>,
) -> Result<(), Stop> {
    let partners = loop_partners(nodes);
    let mut pc = 0;
    while pc < nodes.len() {
        let node = &nodes[pc];
        match &node.op {
            Op::Guard { lo, hi, len } => {
                let low = m.ptr as i64 + *lo as i64;
                let high = m.ptr as i64 + *hi as i64;
                if low < 0 || high >= m.tape.len() as i64 {
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
        let halt = evaluate(program, nodes, &config, &mut &b""[..], &mut out);
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
                }],
            },
            Span { start: 0, end: 6 },
        );
        let nodes = guard(&p, vec![mul]);
        let o = eval(&p, &nodes, Config::default());
        assert_eq!(o.status, Status::Ok);
        assert!(o.tape.iter().all(|&c| c == 0));
    }
}
