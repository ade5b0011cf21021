//! The `bfjit asm` listing: generated code disassembled with iced-x86 (Intel syntax), each part headed
//! by the IR node it came from and that node's source position.

use std::fmt::Write as _;

use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter};

use super::codegen::{Generated, Part};
use crate::ir::Node;
use crate::syntax::Program;

fn position(program: &Program, node: &Node) -> String {
    let start = node.span.start as usize;
    if start < program.len() {
        program.position_of_cmd(start).to_string()
    } else {
        "-".to_string()
    }
}

fn heading(program: &Program, nodes: &[Node], part: Part) -> String {
    let node = |i: usize| {
        nodes
            .get(i)
            .map(|n| format!("{} @ {}", n.op, position(program, n)))
            .unwrap_or_else(|| format!("node {i}"))
    };
    match part {
        Part::Prologue => "prologue".to_string(),
        Part::Node(i) => format!("#{i} {}", node(i)),
        Part::GuardCheck(i) => format!("#{i} {}", node(i)),
        Part::PointerUpdate(i) => format!("#{i} pointer update of the block"),
        Part::GuardFallback(i) => format!("#{i} cold: guard failed, run exactly: {}", node(i)),
        Part::OutputFlush(i) => format!("#{i} cold: output buffer full: {}", node(i)),
        Part::ScanFallback(i) => format!("#{i} cold: scan leaves the tape: {}", node(i)),
        Part::Exits => "exits".to_string(),
    }
}

/// The listing of `generated` (compiled from `nodes` of `program`): one instruction per line with its
/// offset and bytes, each part preceded by a `;` comment naming its IR node and source position.
pub fn listing(program: &Program, nodes: &[Node], generated: &Generated) -> String {
    let mut out = String::new();
    let code = &generated.code;
    let mut decoder = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    formatter.options_mut().set_first_operand_char_index(8);
    let mut annotations = generated.annotations.iter().peekable();
    let mut instruction = Instruction::default();
    let mut text = String::new();
    while decoder.can_decode() {
        decoder.decode_out(&mut instruction);
        let start = instruction.ip() as usize;
        let end = start + instruction.len();
        while let Some(a) = annotations.next_if(|a| a.offset < end) {
            let _ = writeln!(out, "; {}", heading(program, nodes, a.part));
        }
        text.clear();
        formatter.format(&instruction, &mut text);
        let bytes: String = code[start..end]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let _ = writeln!(out, "{start:08x}  {bytes:<24} {text}");
    }
    let _ = writeln!(
        out,
        "; {} bytes of code for {} IR nodes",
        code.len(),
        nodes.len()
    );
    out
}
